/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the virtio-net driver: ports, queues, DMA address translation.
 *
 * Ownership: a queue belongs to one data-path thread between start and stop;
 * its counters have a single writer (relaxed atomic stores) and are summed by
 * the stats getters on any thread. Port fields are control path.
 */
#ifndef VIRTIO_NET_PRIV_H
#define VIRTIO_NET_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_log.h>
#include <rte_mbuf.h>

#include "svio_net.h"
#include "virtio_pci.h"
#include "virtio_spec.h"

extern int virtio_net_logtype;
#define VIRTIO_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, virtio_net_logtype, "virtio_net: " fmt "\n", ##__VA_ARGS__)

#define VIRTIO_HDR_LEN		((uint16_t)sizeof(struct virtio_net_hdr))
#define VIRTIO_DEF_DESC		1024
#define VIRTIO_MIN_DESC		64
#define VIRTIO_RX_FREE_THRESH	32 /* refill once this many buffers came back */
#define VIRTIO_IOMMU_POLL_EVERY 64 /* rx bursts between svio_iommu_poll() calls */

struct svio_domain;

/* DMA address translation (virtio_dma.c). */

/*
 * Bumped (seqcount: odd while changing) whenever a registration is added or
 * removed: a queue's cached translation is only used while it is unchanged.
 */
extern unsigned int virtio_dma_seq;

/**
 * How a queue turns process addresses into device addresses. The cache is
 * the queue's own copy (only its thread writes it), valid while
 * virtio_dma_seq still has the value it was copied under.
 */
struct virtio_xlate {
	bool identity; /* SVA: iova == va */
	unsigned int seq;
	uintptr_t va;
	size_t len;
	uint64_t iova;
};

/**
 * Map [va, va+len) (page-rounded) for the device as one contiguous region.
 * A registration of exactly the same range is shared and reference counted:
 * queues of several ports on one mempool get the same device addresses, and
 * the mapping lives until the last of them lets go.
 */
int virtio_dma_register(struct svio_domain *dom, const void *va, size_t len, bool identity,
			void **handle);
/** Drop one reference; the last one unmaps. The queues holding it must be stopped. */
void virtio_dma_unregister(struct svio_domain *dom, void *handle);
/** Slow path of virtio_iova(): a region holding the whole buffer. UINT64_MAX if none. */
uint64_t virtio_dma_lookup(struct virtio_xlate *x, uintptr_t va, size_t len);

/** Device address of the buffer [p, p + len). */
static inline uint64_t virtio_iova(struct virtio_xlate *x, const void *p, size_t len)
{
	uintptr_t va = (uintptr_t)p;

	if (x->identity)
		return va;
	if (likely(x->seq == __atomic_load_n(&virtio_dma_seq, __ATOMIC_RELAXED) &&
		   va - x->va < x->len && len <= x->len - (va - x->va)))
		return x->iova + (va - x->va);
	return virtio_dma_lookup(x, va, len);
}

/* One split ring, driver side. */
struct virtio_ring {
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t size, mask;
	uint16_t avail_idx; /* next avail slot to publish */
	uint16_t used_cons; /* used entries consumed */
	uint16_t qidx;	    /* virtqueue index on the device */
	uint64_t notify_off;
	struct virtio_hw *hw;
	void *mem; /* rings (and tx headers): one page-aligned allocation */
	size_t mem_len;
	void *dma_handle;
};

struct virtio_rxq {
	struct virtio_ring r;
	struct virtio_xlate x;
	struct rte_mbuf **sw; /* mbuf of descriptor i */
	uint16_t *free_ids;   /* descriptors without a buffer */
	uint16_t nfree;
	bool mrg;
	uint16_t port_id, qid;
	unsigned int poll_count;
	struct svio_domain *dom;
	struct rte_mempool *mp;
	void **pool_handles; /* DMA registrations of the pool's memory */
	unsigned int n_pool_handles;
	/* A frame whose buffers straddle two bursts. */
	struct rte_mbuf *pend_first, *pend_last;
	uint16_t pend_left;
	/* Counters: single writer (this queue's thread). */
	uint64_t packets, bytes, errors, nombuf;
	uint64_t chains, refills, kicks;
};

struct virtio_tx_slot {
	struct rte_mbuf *m;
	uint16_t ndesc;
};

struct virtio_txq {
	struct virtio_ring r;
	struct virtio_xlate x;
	struct virtio_tx_slot *sw;   /* by head descriptor */
	struct virtio_net_hdr *hdrs; /* per descriptor, for frames without headroom */
	uint64_t hdrs_iova;
	uint16_t free_head, nfree;
	uint16_t port_id, qid;
	uint64_t packets, bytes, errors;
	uint64_t full, kicks, hdr_descs;
};

/*
 * Control queue: one command in flight, synchronous. A command that timed
 * out stays pending (the device still owns the descriptors and the buffer)
 * until its completion arrives or a reset (stop/start) takes the ring back.
 */
struct virtio_ctrlq {
	struct virtio_ring r;
	uint8_t *buf; /* page: header + data, then the status byte */
	uint64_t buf_iova;
	bool pending;
	uint8_t pend_class, pend_cmd;
};

#define VIRTIO_COUNTER_ADD(field, n) __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)

uint16_t virtio_rx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t virtio_tx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t virtio_burst_stopped(void *queue, struct rte_mbuf **pkts, uint16_t n);
/** Give every free descriptor of a receive queue a buffer. @return buffers added. */
unsigned int virtio_rx_refill(struct virtio_rxq *q);
/** Take back what the device finished on a transmit queue. */
void virtio_tx_reclaim(struct virtio_txq *q);

#endif /* VIRTIO_NET_PRIV_H */
