/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private state of the built-in virtio-net model, shared by its files:
 * vnet_model.c (device lifecycle, devargs, wires), vnet_regs.c (register
 * file and status handshake), vnet_vq.c (split virtqueue access through the
 * IOMMU), vnet_xfer.c (moving frames between ports, control queue) and
 * vnet_thread.c (thread mode), vnet_wire_host.c (tap and AF_PACKET wires
 * to the Linux network stack) and vnet_steer.c (which receive queue a host
 * wire's frame goes to).
 *
 * Locking: every receive queue has a lock that serialises deliveries into it;
 * a transmit queue is only ever drained under the lock of the receive queue
 * its frames go to, so one lock covers both rings of a transfer. Queue locks
 * of one device nest in index order only (a receive queue's index is below
 * that of any transmit queue feeding it). The receive filter has its own lock,
 * a leaf taken under a queue lock (a delivery, a control command) with
 * nothing taken under it, so a control command never takes a queue lock while
 * it holds the control queue's: the control queue's index moves with MQ. Register
 * writes (control path) come from one thread; doorbells from any thread.
 * The peer link is set and cleared on the control path while no traffic
 * flows (device creation and destruction). The steering table takes no lock:
 * its entries are single atomic words.
 */
#ifndef VNET_PRIV_H
#define VNET_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/queue.h>

#include <rte_common.h>
#include <rte_log.h>

#include "sim_bus.h"
#include "virtio_spec.h"
#include "sim_vnet.h"
#include "vnet_steer.h"

extern int sim_vnet_logtype;
#define VNET_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, sim_vnet_logtype, "sim_vnet: " fmt "\n", ##__VA_ARGS__)

#define VNET_PREFIX	   "sim_vnet"
#define VNET_MAX_PAIRS	   16
#define VNET_DEF_PAIRS	   4
#define VNET_MAX_QSIZE	   4096
#define VNET_DEF_QSIZE	   1024
#define VNET_MAX_FRAME	   16384 /* largest frame the wire carries (bytes after the header) */
#define VNET_MAC_TABLE_MAX 16
#define VNET_HDR_LEN	   ((uint32_t)sizeof(struct virtio_net_hdr))

enum vnet_wire {
	VNET_WIRE_NONE,	  /* link down: nothing plugged in */
	VNET_WIRE_PAIR,	  /* cabled to another sim_vnet port */
	VNET_WIRE_LOOP,	  /* what a port sends, it receives */
	VNET_WIRE_TAP,	  /* a tap interface: Linux is the peer */
	VNET_WIRE_PACKET, /* an AF_PACKET socket on an existing interface */
};

struct vnet_host; /* vnet_wire_host.c */

enum vnet_mode {
	VNET_MODE_INLINE, /* frames move when the driver rings a doorbell */
	VNET_MODE_THREAD, /* a model thread moves frames */
};

/*
 * Translations a queue holds for one burst, like a DMA engine working
 * through a batch: dropped at the start of every burst, so nothing is kept
 * across doorbells and the IOMMU sees every burst's first use of a page.
 */
#define VNET_TC_SIZE 8
struct vnet_tcache {
	unsigned int n, next;
	struct {
		uint64_t page;
		uint8_t *host;
		bool write;
	} e[VNET_TC_SIZE];
};

/* One split virtqueue as the device sees it. */
struct vnet_vq {
	/* Programmed by the driver through the common configuration. */
	uint16_t size;
	uint16_t msix;
	bool enabled;
	uint64_t desc, avail, used;

	/* Device side; only touched with the right lock held (see top). */
	uint16_t last_avail;
	uint16_t used_idx;
	bool ready;		 /* atomic: enabled and DRIVER_OK */
	bool broken;		 /* a malformed descriptor stopped it; set NEEDS_RESET */
	bool stalled;		 /* rx: a transfer waits for buffers; driver must kick */
	pthread_spinlock_t lock; /* pthread: ThreadSanitizer sees it */
	uint8_t *bounce;	 /* tx: the frame being moved (VNET_MAX_FRAME + header) */
	struct vnet_tcache tc;	 /* under the queue's lock */
	/*
	 * rx: device statistics (VIRTIO_NET_F_DEVICE_STATS); a reset clears them.
	 * Written under the lock (VNET_VQ_STAT_ADD), read without it: the control
	 * queue's handler holds its own queue's lock, which comes after ours.
	 */
	uint64_t st_packets, st_bytes, st_drops, st_overruns;
	uint64_t st_notifications; /* atomic add: the doorbell does not take the lock */
};

/* One writer at a time (the queue's lock), readers at any time. */
#define VNET_VQ_STAT_ADD(field, n) __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)

struct vnet_model {
	struct svio_device *dev;
	LIST_ENTRY(vnet_model) next;
	int index;

	/* Negotiation and status. */
	uint64_t features;	  /* offered */
	uint64_t driver_features; /* accepted by the driver */
	uint32_t dfselect, gfselect;
	uint8_t status; /* atomic */
	uint8_t generation;
	uint8_t isr;
	uint16_t qselect;
	uint16_t msix_config;

	/* Network configuration. */
	uint8_t mac[6];
	uint8_t mac_orig[6]; /* devarg mac=, restored by a reset */
	uint16_t link;	     /* atomic: VIRTIO_NET_S_LINK_UP or 0 */
	bool link_admin_up;  /* devarg link=, sim_vnet_set_link() */
	uint16_t max_pairs;
	uint16_t active_pairs; /* atomic: MQ VQ_PAIRS_SET */
	uint16_t qsize_max;    /* the control queue's largest size */
	uint16_t rx_qsize_max; /* receive queues' (devarg rx_queue_size=, default qsize=) */
	uint16_t tx_qsize_max; /* transmit queues' (devarg tx_queue_size=, default qsize=) */
	pthread_spinlock_t filter_lock; /* the receive filter: promisc .. mc; a leaf */
	bool promisc, allmulti;
	uint8_t uc_n, mc_n;
	uint8_t uc[VNET_MAC_TABLE_MAX][6];
	uint8_t mc[VNET_MAC_TABLE_MAX][6];

	/* Wire. */
	enum vnet_wire wire;
	bool rx_full_drop; /* devarg rx_full=drop: no buffer, no frame */
	char peer_name[SVIO_DEV_NAME_MAX];
	struct vnet_model *peer; /* atomic */
	char host_if[16];	 /* tap / af_packet: interface name (IFNAMSIZ) */
	struct vnet_host *host;	 /* tap / af_packet: the fd and its reader */
	struct vnet_steer steer; /* host wires: flows' transmit queues (vnet_steer.c) */

	/* Thread mode. */
	enum vnet_mode mode;
	pthread_t thread;
	bool thread_on;
	bool thread_stop; /* atomic */

	uint16_t nvqs; /* 2 * max_pairs + 1 (control queue last) */
	struct vnet_vq *vqs;

	struct sim_vnet_stats stats; /* updated with relaxed atomics */
};

#define VNET_STAT_ADD(m, field, n) __atomic_fetch_add(&(m)->stats.field, (n), __ATOMIC_RELAXED)

static inline bool vnet_has(const struct vnet_model *m, unsigned int bit)
{
	return (m->driver_features & VIRTIO_BIT(bit)) != 0;
}

static inline bool vnet_wire_host(const struct vnet_model *m)
{
	return m->wire == VNET_WIRE_TAP || m->wire == VNET_WIRE_PACKET;
}

/* The control queue follows the data queues: 2N with MQ negotiated, else 2. */
static inline uint16_t vnet_ctrl_vq(const struct vnet_model *m)
{
	return (uint16_t)(vnet_has(m, VIRTIO_NET_F_MQ) ? 2 * m->max_pairs : 2);
}

/*
 * Largest size of queue @p q. Fixed by the queue's index, whatever the driver
 * negotiates: the control queue is where it sits when MQ is offered.
 */
static inline uint16_t vnet_vq_max_size(const struct vnet_model *m, uint16_t q)
{
	uint16_t ctrl =
		(uint16_t)(m->features & VIRTIO_BIT(VIRTIO_NET_F_MQ) ? 2 * m->max_pairs : 2);

	if (q == ctrl)
		return m->qsize_max;
	return q & 1 ? m->tx_qsize_max : m->rx_qsize_max;
}

/* Receive queues the driver may use: all with MQ, else the first. */
static inline uint16_t vnet_rx_pairs(const struct vnet_model *m)
{
	return vnet_has(m, VIRTIO_NET_F_MQ) ? m->max_pairs : 1;
}

/* vnet_vq.c: ring and buffer access through the IOMMU. */
/* Accesses on behalf of @p vq use (and fill) its burst cache; vq may be NULL. */
void *vnet_dma_ptr(struct vnet_model *m, struct vnet_vq *vq, uint64_t addr, uint32_t len,
		   bool write);
int vnet_dma_copy(struct vnet_model *m, struct vnet_vq *vq, uint64_t addr, void *buf, uint32_t len,
		  bool to_mem);
/** Start a burst: forget the translations of the last one. */
static inline void vnet_tc_reset(struct vnet_vq *vq)
{
	vq->tc.n = 0;
	vq->tc.next = 0;
}
void vnet_vq_reset(struct vnet_vq *vq);
/** Fail a queue on a driver error: NEEDS_RESET, as hardware would. */
void vnet_vq_break(struct vnet_model *m, struct vnet_vq *vq, const char *why);
/** Index of the next available head, or -ENOENT when the ring is empty (-EIO broken). */
int vnet_vq_peek(struct vnet_model *m, struct vnet_vq *vq, uint16_t avail_pos);
uint16_t vnet_vq_avail_idx(struct vnet_model *m, struct vnet_vq *vq);
int vnet_vq_push_used(struct vnet_model *m, struct vnet_vq *vq, uint16_t pos, uint32_t id,
		      uint32_t len);
void vnet_vq_publish_used(struct vnet_model *m, struct vnet_vq *vq);
void vnet_vq_set_no_notify(struct vnet_model *m, struct vnet_vq *vq, bool no_notify);
/** Descriptor @p i of the table (-EIO: unreachable, queue broken). */
int vnet_vq_desc(struct vnet_model *m, struct vnet_vq *vq, uint16_t i, struct virtq_desc *d);
/** Copy the readable part of a chain into @p buf (at most @p cap bytes). */
int vnet_vq_gather(struct vnet_model *m, struct vnet_vq *vq, uint16_t head, uint8_t *buf,
		   uint32_t cap, uint32_t *len);
/** Write into the writable part of a chain; -EMSGSIZE when it is too short. */
int vnet_vq_scatter(struct vnet_model *m, struct vnet_vq *vq, uint16_t head, const uint8_t *src,
		    uint32_t len, uint32_t *written);

/* vnet_xfer.c: frames between ports, control queue. */
void vnet_kick(struct vnet_model *m, uint16_t qidx);
/** Drain tx queue @p txq of @p src; returns frames moved (consumed). */
unsigned int vnet_tx_drain(struct vnet_model *src, uint16_t txq);
void vnet_ctrl_process(struct vnet_model *m);
/**
 * Deliver one frame from outside the model (a host wire) into the receive
 * queue vnet_rx_steer() picks: @p pkt has VNET_HDR_LEN bytes of room before
 * the frame's @p total - VNET_HDR_LEN bytes. Frames the port cannot take are
 * counted.
 * @return 0 delivered or dropped (counted); -ENOBUFS: no receive buffer and
 * rx_full=wait, the queue asked for a doorbell (vnet_host_wake() follows);
 * a retry may pick another queue (the steering table changed meanwhile).
 */
int vnet_rx_inject(struct vnet_model *m, uint8_t *pkt, uint32_t total);

/* vnet_steer.c: automatic receive steering of host wires. */
/** The driver transmitted @p frame (no virtio header) on transmit queue @p txq. */
void vnet_tx_learn(struct vnet_model *m, uint16_t txq, const uint8_t *frame, uint32_t len);
/**
 * Receive queue for a frame (no virtio header) from a host wire: its flow's
 * transmit queue, else its hash modulo the active pairs, else (not IP, one
 * pair, a queue not live or beyond the active pairs) 0. @p learned: the
 * steering table chose it.
 */
uint16_t vnet_rx_steer(struct vnet_model *m, const uint8_t *frame, uint32_t len, bool *learned);

/* vnet_wire_host.c: tap and AF_PACKET wires. */
/** Parse "tap:NAME" / "af_packet:IFNAME"; 1 when @p s is not a host wire. */
int vnet_host_parse(struct vnet_model *m, const char *s);
/** Open the interface and start its reader; the link follows link_admin_up. */
int vnet_host_open(struct vnet_model *m);
void vnet_host_close(struct vnet_model *m);
/** Send one frame (no virtio header). @return 0, -EAGAIN (socket full), -EMSGSIZE. */
int vnet_host_send(struct vnet_model *m, const uint8_t *frame, uint32_t len);
/** Receive buffers came back after a stall: the reader retries its frame. */
void vnet_host_wake(struct vnet_model *m);

/* vnet_thread.c */
int vnet_thread_start(struct vnet_model *m);
void vnet_thread_stop(struct vnet_model *m);

/* vnet_regs.c */
extern const struct svio_dev_reg_ops vnet_reg_ops;
void vnet_device_reset(struct vnet_model *m);
void vnet_update_link(struct vnet_model *m);

#endif /* VNET_PRIV_H */
