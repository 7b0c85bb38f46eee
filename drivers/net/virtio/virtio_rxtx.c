/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data path: split-ring receive and transmit bursts. No locks; each queue
 * belongs to one thread. Descriptors are handled in batches: one acquire load
 * of used->idx per burst, one release store of avail->idx, at most one
 * doorbell, and only when the device asks for it (no VIRTQ_USED_F_NO_NOTIFY).
 */
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "svio_iommu.h"
#include "virtio_net_priv.h"

/*
 * Publish new avail entries, then decide on a doorbell. Sequentially
 * consistent store and load: our avail->idx store is ordered before the
 * flags load, and the device orders its flags store before re-reading
 * avail->idx the same way, so one side always sees the other (on x86 the
 * store is one locked instruction, the load a plain one).
 */
static inline bool ring_publish(struct virtio_ring *r)
{
	__atomic_store_n(&r->avail->idx, r->avail_idx, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->used->flags, __ATOMIC_SEQ_CST) & VIRTQ_USED_F_NO_NOTIFY)
		return false;
	virtio_notify(r->hw, r->notify_off, r->qidx);
	return true;
}

uint16_t virtio_burst_stopped(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	RTE_SET_USED(queue);
	RTE_SET_USED(pkts);
	RTE_SET_USED(n);
	return 0;
}

unsigned int virtio_rx_refill(struct virtio_rxq *q)
{
	struct virtio_ring *r = &q->r;
	struct rte_mbuf *bufs[64];
	unsigned int added = 0;

	while (q->nfree > 0) {
		unsigned int n = RTE_MIN(q->nfree, (uint16_t)RTE_DIM(bufs)), i;

		if (rte_pktmbuf_alloc_bulk(q->mp, bufs, n) != 0) {
			VIRTIO_COUNTER_ADD(q->nombuf, 1);
			break;
		}
		for (i = 0; i < n; i++) {
			struct rte_mbuf *m = bufs[i];
			uint16_t id = q->free_ids[--q->nfree];
			struct virtq_desc *d = &r->desc[id];
			/* The header lands in the headroom, the frame at data_off. */
			uint8_t *start = (uint8_t *)m->buf_addr + m->data_off - VIRTIO_HDR_LEN;
			uint32_t blen = (uint32_t)(m->buf_len - m->data_off + VIRTIO_HDR_LEN);
			uint64_t iova = virtio_iova(&q->x, start, blen);

			q->sw[id] = m;
			d->addr = iova;
			d->len = blen;
			d->flags = VIRTQ_DESC_F_WRITE;
			r->avail->ring[r->avail_idx++ & r->mask] = id;
		}
		added += n;
	}
	if (added > 0) {
		VIRTIO_COUNTER_ADD(q->refills, 1);
		if (ring_publish(r))
			VIRTIO_COUNTER_ADD(q->kicks, 1);
	}
	return added;
}

uint16_t virtio_rx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct virtio_rxq *q = queue;
	struct virtio_ring *r = &q->r;
	uint16_t used = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
	uint16_t nb_rx = 0, nb_used = (uint16_t)(used - r->used_cons);
	uint64_t bytes = 0, errors = 0;

	if (unlikely(++q->poll_count >= VIRTIO_IOMMU_POLL_EVERY)) {
		q->poll_count = 0;
		(void)svio_iommu_poll(q->dom);
	}
	while (nb_used > 0 && nb_rx < n) {
		const struct virtq_used_elem *e = &r->used->ring[r->used_cons & r->mask];
		uint32_t id = e->id, len = e->len;
		struct rte_mbuf *m;

		r->used_cons++;
		nb_used--;
		if (unlikely(id >= r->size || q->sw[id] == NULL)) {
			errors++; /* a device bug: nothing to hand back */
			continue;
		}
		m = q->sw[id];
		q->sw[id] = NULL;
		q->free_ids[q->nfree++] = (uint16_t)id;
		if (q->pend_left == 0) {
			const struct virtio_net_hdr *h;
			uint16_t nbufs = 1;

			if (unlikely(len < VIRTIO_HDR_LEN ||
				     len > (uint32_t)(m->buf_len - m->data_off + VIRTIO_HDR_LEN))) {
				errors++;
				rte_pktmbuf_free(m);
				continue;
			}
			h = (const void *)((uint8_t *)m->buf_addr + m->data_off - VIRTIO_HDR_LEN);
			if (q->mrg)
				nbufs = h->num_buffers;
			if (unlikely(nbufs > r->size)) {
				/* More buffers than the ring has: a device bug; drop, go on. */
				errors++;
				rte_pktmbuf_free(m);
				continue;
			}
			m->data_len = (uint16_t)(len - VIRTIO_HDR_LEN);
			m->pkt_len = m->data_len;
			m->port = q->port_id;
			if (likely(nbufs <= 1)) {
				pkts[nb_rx++] = m;
				bytes += m->pkt_len;
				continue;
			}
			q->pend_first = q->pend_last = m;
			q->pend_left = (uint16_t)(nbufs - 1);
			continue;
		}
		/* A continuation buffer: no header, the data starts where the header would. */
		if (unlikely(len > (uint32_t)(m->buf_len - m->data_off + VIRTIO_HDR_LEN))) {
			errors++;
			len = 0;
		}
		m->data_off = (uint16_t)(m->data_off - VIRTIO_HDR_LEN);
		m->data_len = (uint16_t)len;
		q->pend_last->next = m;
		q->pend_last = m;
		q->pend_first->nb_segs++;
		q->pend_first->pkt_len += len;
		if (--q->pend_left == 0) {
			pkts[nb_rx++] = q->pend_first;
			bytes += q->pend_first->pkt_len;
			VIRTIO_COUNTER_ADD(q->chains, 1);
			q->pend_first = q->pend_last = NULL;
		}
	}
	/*
	 * Refill in batches, but never leave buffers out when nothing came:
	 * the device may be waiting for one more buffer to finish a frame.
	 */
	if (q->nfree >= VIRTIO_RX_FREE_THRESH || (nb_rx == 0 && q->nfree > 0))
		virtio_rx_refill(q);
	if (nb_rx > 0) {
		VIRTIO_COUNTER_ADD(q->packets, nb_rx);
		VIRTIO_COUNTER_ADD(q->bytes, bytes);
	}
	if (unlikely(errors > 0))
		VIRTIO_COUNTER_ADD(q->errors, errors);
	return nb_rx;
}

void virtio_tx_reclaim(struct virtio_txq *q)
{
	struct virtio_ring *r = &q->r;
	uint16_t used = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
	struct rte_mbuf *done[64];
	unsigned int nd = 0;

	while (r->used_cons != used) {
		uint32_t head = r->used->ring[r->used_cons & r->mask].id;
		struct virtio_tx_slot *s;
		uint16_t last, i;

		r->used_cons++;
		if (unlikely(head >= r->size || q->sw[head].m == NULL))
			continue; /* a device bug; the descriptors stay lost */
		s = &q->sw[head];
		/* Chain back into the free list: the chain's own next links are intact. */
		for (last = (uint16_t)head, i = 1; i < s->ndesc; i++)
			last = r->desc[last].next;
		r->desc[last].next = q->free_head;
		q->free_head = (uint16_t)head;
		q->nfree = (uint16_t)(q->nfree + s->ndesc);
		done[nd++] = s->m;
		s->m = NULL;
		if (nd == RTE_DIM(done)) {
			rte_pktmbuf_free_bulk(done, nd);
			nd = 0;
		}
	}
	if (nd > 0)
		rte_pktmbuf_free_bulk(done, nd);
}

/* The header goes into the headroom when the mbuf is ours to write. */
static inline bool hdr_in_headroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_headroom(m) >= VIRTIO_HDR_LEN && RTE_MBUF_DIRECT(m) &&
	       rte_mbuf_refcnt_read(m) == 1;
}

uint16_t virtio_tx_burst(void *queue, struct rte_mbuf **pkts, uint16_t n)
{
	struct virtio_txq *q = queue;
	struct virtio_ring *r = &q->r;
	uint16_t nb_tx = 0;
	uint64_t bytes = 0, hdr_descs = 0, errors = 0;

	if (q->nfree < r->size / 2 || q->nfree < n)
		virtio_tx_reclaim(q);
	while (nb_tx < n) {
		struct rte_mbuf *m = pkts[nb_tx], *seg;
		bool inl = hdr_in_headroom(m);
		/* 32 bits: 65535 segments plus a header descriptor must not wrap to 0. */
		uint32_t need = (uint32_t)m->nb_segs + (inl ? 0 : 1);
		struct virtq_desc *d;
		bool unmapped = false;
		uint16_t head, idx;

		if (unlikely(need > r->size)) {
			/* Never fits, however much is reclaimed: too many segments, dropped. */
			rte_pktmbuf_free(m);
			errors++;
			nb_tx++;
			continue;
		}
		if (unlikely(need > q->nfree)) {
			virtio_tx_reclaim(q);
			if (need > q->nfree) {
				VIRTIO_COUNTER_ADD(q->full, 1);
				break;
			}
		}
		/* Only now: a reclaim pushes the descriptors it frees in front of the list. */
		head = q->free_head;
		idx = head;
		if (inl) {
			struct virtio_net_hdr *h = rte_pktmbuf_mtod_offset(
				m, struct virtio_net_hdr *, -VIRTIO_HDR_LEN);

			memset(h, 0, sizeof(*h));
			d = &r->desc[idx];
			d->addr = virtio_iova(&q->x, h, (size_t)m->data_len + VIRTIO_HDR_LEN);
			unmapped |= d->addr == UINT64_MAX;
			d->len = (uint32_t)m->data_len + VIRTIO_HDR_LEN;
			d->flags = VIRTQ_DESC_F_NEXT;
			seg = m->next;
		} else {
			memset(&q->hdrs[idx], 0, sizeof(q->hdrs[idx]));
			d = &r->desc[idx];
			d->addr = q->hdrs_iova + (uint64_t)idx * sizeof(q->hdrs[0]);
			d->len = VIRTIO_HDR_LEN;
			d->flags = VIRTQ_DESC_F_NEXT;
			seg = m;
			hdr_descs++;
		}
		for (; seg != NULL; seg = seg->next) {
			idx = d->next;
			d = &r->desc[idx];
			d->addr = virtio_iova(&q->x, rte_pktmbuf_mtod(seg, void *), seg->data_len);
			unmapped |= d->addr == UINT64_MAX;
			d->len = seg->data_len;
			d->flags = VIRTQ_DESC_F_NEXT;
		}
		if (unlikely(unmapped)) {
			/* Memory the device cannot reach: taken and dropped, like a bad frame. */
			rte_pktmbuf_free(m);
			errors++;
			nb_tx++;
			continue;
		}
		d->flags = 0; /* end of chain; d->next keeps the free list */
		q->free_head = d->next;
		q->nfree = (uint16_t)(q->nfree - need);
		q->sw[head].m = m;
		q->sw[head].ndesc = (uint16_t)need;
		r->avail->ring[r->avail_idx++ & r->mask] = head;
		bytes += m->pkt_len;
		nb_tx++;
	}
	if (likely(nb_tx > 0)) {
		if (ring_publish(r))
			VIRTIO_COUNTER_ADD(q->kicks, 1);
		VIRTIO_COUNTER_ADD(q->packets, nb_tx - errors);
		VIRTIO_COUNTER_ADD(q->bytes, bytes);
		if (hdr_descs > 0)
			VIRTIO_COUNTER_ADD(q->hdr_descs, hdr_descs);
		if (unlikely(errors > 0))
			VIRTIO_COUNTER_ADD(q->errors, errors);
	}
	return nb_tx;
}
