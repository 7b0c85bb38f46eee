/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A virtio-net port as the driver's control-path files share it: the port
 * state (virtio_net.c owns the table), its rings (virtio_ring.c), the
 * control queue (virtio_ctrl.c) and the counters (virtio_stats.c).
 */
#ifndef VIRTIO_PORT_H
#define VIRTIO_PORT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

#include "virtio_net_priv.h"

struct virtio_port {
	bool used;
	bool configured, started;
	uint16_t id;
	struct svio_device *dev;
	struct virtio_hw hw;
	struct svio_domain *dom;
	bool identity; /* device addresses are process addresses (SVA) */
	bool premap;   /* map memory up front (no SVA, or no page requests) */
	uint64_t features;
	uint16_t max_pairs, dev_pairs, mtu;
	uint16_t max_desc; /* the smallest queue limit: a size every data queue takes */
	/* Each queue's own limit (the device's queue_size after reset): they may differ. */
	uint16_t rx_max_desc[SVIO_NET_MAX_QUEUES], tx_max_desc[SVIO_NET_MAX_QUEUES];
	uint16_t nb_rxq, nb_txq;
	struct virtio_rxq *rxq[SVIO_NET_MAX_QUEUES];
	struct virtio_txq *txq[SVIO_NET_MAX_QUEUES];
	struct virtio_ctrlq *ctrl;
	struct rte_ether_addr mac;
	bool mac_set; /* mac came from svio_net_macaddr_set(): start sends it again */
	bool promisc, allmulti;
	bool unreset; /* the last reset timed out: the device may still use rings and buffers */
	/*
	 * imissed from the device's own counters (VIRTIO_NET_F_DEVICE_STATS): a
	 * reset clears them, so stop adds them to missed_acc; a stats reset moves
	 * missed_off. Stats getters run on any thread and then use the control
	 * queue: ctrl_lock guards the queue and these fields. stats_rx_basic is
	 * set once the port runs and cleared before it stops, so a getter that
	 * sees it set may send commands.
	 */
	pthread_mutex_t ctrl_lock;
	bool stats_rx_basic; /* the device answers RX_BASIC requests (queried at start) */
	uint64_t missed_acc, missed_off;
};

/** The port with id @p id, or NULL when there is none. */
struct virtio_port *virtio_port_get(uint16_t id);

static inline bool virtio_has(const struct virtio_port *p, unsigned int bit)
{
	return (p->features & VIRTIO_BIT(bit)) != 0;
}

/* Rings (virtio_ring.c). */
int virtio_ring_alloc(struct virtio_port *p, struct virtio_ring *r, uint16_t qidx, uint16_t size,
		      size_t extra, int socket, size_t *extra_off);
void virtio_ring_free(struct virtio_port *p, struct virtio_ring *r);
int virtio_ring_program(struct virtio_port *p, struct virtio_ring *r);
void virtio_ring_rewind(struct virtio_ring *r);
int virtio_ring_size(const struct virtio_port *p, const char *dir, uint16_t qid, uint16_t max,
		     uint16_t nb_desc, uint16_t *size);

/* Control queue (virtio_ctrl.c). */
int virtio_ctrl_setup(struct virtio_port *p);
void virtio_ctrl_free(struct virtio_port *p);
/** One command with ctrl_lock held; see virtio_ctrl.c. */
int virtio_ctrl_cmd_locked(struct virtio_port *p, uint8_t class, uint8_t cmd, const void *data,
			   uint16_t len, void *result, uint16_t rlen);
int virtio_ctrl_cmd_result(struct virtio_port *p, uint8_t class, uint8_t cmd, const void *data,
			   uint16_t len, void *result, uint16_t rlen);
int virtio_ctrl_cmd(struct virtio_port *p, uint8_t class, uint8_t cmd, const void *data,
		    uint16_t len);

/* Statistics (virtio_stats.c). */
/** Device-counted receive drops since its last reset; ctrl_lock held. */
int virtio_device_missed(struct virtio_port *p, uint64_t *missed);

#endif /* VIRTIO_PORT_H */
