/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Moving frames: a transmit queue is drained into the receive queue of the
 * port at the other end of the wire. By default delivery is lossless while
 * the receiver runs: a frame with no receive buffer waits in the transmit
 * ring (the sender sees its ring fill up) and the receive queue asks for a
 * doorbell (used flags without NO_NOTIFY) so the driver's next refill moves
 * it. With rx_full=drop the receiver drops it instead, as a NIC would.
 * Frames sent with the link down or to a port that is not running are
 * dropped, as on a real cable.
 *
 * Host wires (tap, af_packet; vnet_wire_host.c): transmit drains write each
 * frame to the interface's fd, a full socket counting a wire drop, and note
 * the frame's flow and transmit queue (vnet_steer.c); the wire's reader
 * thread brings Linux's frames in through vnet_rx_inject(), the same
 * deliver() path with the same filter, into the receive queue of the
 * transmit queue that flow last left on, else the one its hash picks among
 * the active pairs (queue 0 for what is not IP).
 */
#include <errno.h>
#include <string.h>

#include "vnet_priv.h"

#define VNET_CTRL_MAX 512 /* largest control command (a full MAC table is 200 bytes) */
/* Largest result: statistics of every receive queue. */
#define VNET_CTRL_RESULT_MAX (VNET_MAX_PAIRS * sizeof(struct virtio_net_stats_rx_basic))

static bool vq_ready(const struct vnet_vq *vq)
{
	return __atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE) && !vq->broken;
}

static struct vnet_model *wire_dst(struct vnet_model *src)
{
	if (__atomic_load_n(&src->link, __ATOMIC_ACQUIRE) != VIRTIO_NET_S_LINK_UP)
		return NULL;
	if (src->wire == VNET_WIRE_LOOP)
		return src;
	if (src->wire == VNET_WIRE_PAIR)
		return __atomic_load_n(&src->peer, __ATOMIC_ACQUIRE);
	return NULL;
}

static bool mac_in(const uint8_t (*table)[6], unsigned int n, const uint8_t *mac)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (memcmp(table[i], mac, 6) == 0)
			return true;
	}
	return false;
}

static bool filter_pass(const struct vnet_model *dst, const uint8_t *frame)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (dst->promisc || memcmp(frame, dst->mac, 6) == 0)
		return true;
	if (frame[0] & 1) {
		return dst->allmulti || memcmp(frame, bcast, 6) == 0 ||
		       mac_in(dst->mc, dst->mc_n, frame);
	}
	return mac_in(dst->uc, dst->uc_n, frame);
}

/* The receive filter, under its lock (a device reset changes it under every queue lock). */
static bool dst_accepts(struct vnet_model *dst, const uint8_t *frame)
{
	bool ok;

	pthread_spin_lock(&dst->filter_lock);
	ok = filter_pass(dst, frame);
	pthread_spin_unlock(&dst->filter_lock);
	return ok;
}

/*
 * Write one frame (header included, @p total bytes) into receive buffers.
 * Nothing is committed unless the whole frame fits: -ENOBUFS asks the caller
 * to wait for buffers, -EMSGSIZE drops an oversize frame, -EIO a broken ring,
 * -EFAULT / -EACCES a refused DMA.
 */
static int deliver(struct vnet_model *dst, struct vnet_vq *rxq, uint8_t *pkt, uint32_t total,
		   uint16_t *seen)
{
	bool mrg = vnet_has(dst, VIRTIO_NET_F_MRG_RXBUF);
	struct virtio_net_hdr *hdr = (struct virtio_net_hdr *)pkt;
	uint16_t avail = vnet_vq_avail_idx(dst, rxq);
	uint16_t pos = rxq->last_avail, nbufs = 0;
	uint32_t done = 0, w;
	int first = -1, head, rc;

	*seen = avail;
	memset(hdr, 0, sizeof(*hdr));
	hdr->gso_type = VIRTIO_NET_HDR_GSO_NONE;
	hdr->num_buffers = 1;
	while (done < total) {
		if (pos == avail || rxq->broken)
			return rxq->broken ? -EIO : -ENOBUFS;
		head = vnet_vq_peek(dst, rxq, pos);
		if (head < 0)
			return head;
		rc = vnet_vq_scatter(dst, rxq, (uint16_t)head, pkt + done, total - done, &w);
		if (rc == -EMSGSIZE && !mrg)
			return -EMSGSIZE;
		if (rc < 0 && rc != -EMSGSIZE)
			return rc;
		if (w == 0)
			return -EMSGSIZE; /* zero-length buffers would never finish */
		rc = vnet_vq_push_used(dst, rxq, (uint16_t)(rxq->used_idx + nbufs), (uint32_t)head,
				       w);
		if (rc < 0)
			return rc;
		if (first < 0)
			first = head;
		nbufs++;
		done += w;
		pos++;
	}
	if (nbufs > 1) {
		/* num_buffers is only known now: rewrite the header in the first buffer. */
		hdr->num_buffers = nbufs;
		rc = vnet_vq_scatter(dst, rxq, (uint16_t)first, pkt, VNET_HDR_LEN, &w);
		if (rc < 0 && rc != -EMSGSIZE)
			return rc;
	}
	rxq->last_avail = pos;
	rxq->used_idx = (uint16_t)(rxq->used_idx + nbufs);
	return 0;
}

/*
 * A receive queue with no buffers asks for a doorbell. Store-load ordering
 * against the driver (it publishes avail->idx, then reads the flags; both
 * sides use sequentially consistent accesses): after clearing NO_NOTIFY,
 * look at avail->idx again so no refill is missed; true
 * when it moved since the delivery saw @p seen.
 */
static bool rx_wait_for_buffers(struct vnet_model *dst, struct vnet_vq *rxq, uint16_t seen)
{
	rxq->stalled = true;
	vnet_vq_set_no_notify(dst, rxq, false);
	return vnet_vq_avail_idx(dst, rxq) != seen;
}

/* A frame to a host wire; @return 0 when it went out (every failure counted). */
static int host_send(struct vnet_model *src, const uint8_t *frame, uint32_t len)
{
	int rc;

	if (__atomic_load_n(&src->link, __ATOMIC_ACQUIRE) != VIRTIO_NET_S_LINK_UP) {
		VNET_STAT_ADD(src, wire_drops, 1);
		return -ENOLINK;
	}
	rc = vnet_host_send(src, frame, len);
	if (rc == -EMSGSIZE)
		VNET_STAT_ADD(src, oversize, 1);
	else if (rc < 0)
		VNET_STAT_ADD(src, wire_drops, 1);
	return rc;
}

int vnet_rx_inject(struct vnet_model *m, uint8_t *pkt, uint32_t total)
{
	struct vnet_vq *rxq;
	uint16_t seen;
	bool learned;
	int rc;

	if (total < VNET_HDR_LEN + 14 || total > VNET_HDR_LEN + VNET_MAX_FRAME) {
		VNET_STAT_ADD(m, oversize, 1);
		return 0;
	}
	rxq = &m->vqs[2 * vnet_rx_steer(m, pkt + VNET_HDR_LEN, total - VNET_HDR_LEN, &learned)];
	pthread_spin_lock(&rxq->lock);
	vnet_tc_reset(rxq);
	if (__atomic_load_n(&m->link, __ATOMIC_ACQUIRE) != VIRTIO_NET_S_LINK_UP || !vq_ready(rxq) ||
	    !(__atomic_load_n(&m->status, __ATOMIC_ACQUIRE) & VIRTIO_STATUS_DRIVER_OK)) {
		/* Not running: a NIC misses the frame. */
		VNET_STAT_ADD(m, rx_no_buffer, 1);
		rc = 0;
		goto out_unlock;
	}
	if (!dst_accepts(m, pkt + VNET_HDR_LEN)) {
		VNET_STAT_ADD(m, rx_filtered, 1);
		rc = 0;
		goto out_unlock;
	}
	do {
		rc = deliver(m, rxq, pkt, total, &seen);
	} while (rc == -ENOBUFS && !m->rx_full_drop && rx_wait_for_buffers(m, rxq, seen));
	if (rc == 0) {
		vnet_vq_publish_used(m, rxq);
		VNET_STAT_ADD(m, rx_frames, 1);
		VNET_STAT_ADD(m, rx_bytes, total - VNET_HDR_LEN);
		VNET_VQ_STAT_ADD(rxq->st_packets, 1);
		VNET_VQ_STAT_ADD(rxq->st_bytes, total - VNET_HDR_LEN);
		if (learned)
			VNET_STAT_ADD(m, rx_steered, 1);
	} else if (rc == -ENOBUFS && m->rx_full_drop) {
		VNET_STAT_ADD(m, rx_no_buffer, 1);
		VNET_VQ_STAT_ADD(rxq->st_drops, 1);
		VNET_VQ_STAT_ADD(rxq->st_overruns, 1);
		rc = 0;
	} else if (rc == -EMSGSIZE) {
		VNET_STAT_ADD(m, oversize, 1);
		VNET_VQ_STAT_ADD(rxq->st_drops, 1);
		rc = 0;
	} else if (rc == -EIO) {
		VNET_STAT_ADD(m, wire_drops, 1); /* the ring broke (counted in ring_errors) */
		rc = 0;
	} else if (rc != -ENOBUFS) {
		VNET_STAT_ADD(m, dma_errors, 1);
		rc = 0;
	}
out_unlock:
	pthread_spin_unlock(&rxq->lock);
	return rc;
}

unsigned int vnet_tx_drain(struct vnet_model *src, uint16_t txq_idx)
{
	struct vnet_vq *txq = &src->vqs[2 * txq_idx + 1], *rxq = NULL;
	struct vnet_model *dst;
	bool host = vnet_wire_host(src);
	unsigned int moved = 0, budget, delivered = 0;
	uint64_t tx_frames = 0, tx_bytes = 0, rx_bytes = 0;
	uint16_t avail;

	if (!vq_ready(txq))
		return 0;
	dst = wire_dst(src);
	if (dst != NULL) {
		uint16_t pairs = __atomic_load_n(&dst->active_pairs, __ATOMIC_ACQUIRE);

		rxq = &dst->vqs[2 * (txq_idx % pairs)];
		pthread_spin_lock(&rxq->lock);
	}
	pthread_spin_lock(&txq->lock);
	vnet_tc_reset(txq);
	if (rxq != NULL)
		vnet_tc_reset(rxq);
	/* Checked again under its lock: a reset may have taken it down since. */
	if (!vq_ready(txq))
		goto out_unlock;
	avail = vnet_vq_avail_idx(src, txq);
	budget = txq->size;
	while (txq->last_avail != avail && moved < budget) {
		uint32_t len = 0;
		int head, rc;

		head = vnet_vq_peek(src, txq, txq->last_avail);
		if (head < 0)
			break;
		rc = vnet_vq_gather(src, txq, (uint16_t)head, txq->bounce,
				    VNET_HDR_LEN + VNET_MAX_FRAME, &len);
		if (rc == -EIO)
			break;
		if (rc == -EMSGSIZE || (rc == 0 && len < VNET_HDR_LEN + 14)) {
			VNET_STAT_ADD(src, oversize, 1);
		} else if (rc < 0) {
			VNET_STAT_ADD(src, dma_errors, 1);
		} else if (host) {
			/* The driver chose this queue for the flow: its replies come back here. */
			vnet_tx_learn(src, txq_idx, txq->bounce + VNET_HDR_LEN, len - VNET_HDR_LEN);
			rc = host_send(src, txq->bounce + VNET_HDR_LEN, len - VNET_HDR_LEN);
		} else if (rxq == NULL || !vq_ready(rxq) ||
			   !(__atomic_load_n(&dst->status, __ATOMIC_ACQUIRE) &
			     VIRTIO_STATUS_DRIVER_OK)) {
			VNET_STAT_ADD(src, wire_drops, 1);
		} else if (!dst_accepts(dst, txq->bounce + VNET_HDR_LEN)) {
			VNET_STAT_ADD(dst, rx_filtered, 1);
		} else {
			uint16_t seen;

			rc = deliver(dst, rxq, txq->bounce, len, &seen);
			if (rc == -ENOBUFS && dst->rx_full_drop) {
				VNET_STAT_ADD(dst, rx_no_buffer, 1);
				VNET_VQ_STAT_ADD(rxq->st_drops, 1);
				VNET_VQ_STAT_ADD(rxq->st_overruns, 1);
			} else if (rc == -ENOBUFS) {
				if (rx_wait_for_buffers(dst, rxq, seen))
					continue; /* a refill raced with us: try again */
				break;
			}
			if (rc == 0) {
				delivered++;
				rx_bytes += len - VNET_HDR_LEN;
			} else if (rc == -EMSGSIZE) {
				VNET_STAT_ADD(dst, oversize, 1);
				VNET_VQ_STAT_ADD(rxq->st_drops, 1);
			} else if (rc == -EIO) {
				VNET_STAT_ADD(src, wire_drops, 1);
			} else {
				VNET_STAT_ADD(dst, dma_errors, 1);
			}
		}
		if (rc == 0) {
			tx_frames++;
			tx_bytes += len - VNET_HDR_LEN;
		}
		if (vnet_vq_push_used(src, txq, txq->used_idx, (uint32_t)head, 0) < 0)
			break;
		txq->used_idx++;
		txq->last_avail++;
		moved++;
	}
	/* Counters once per burst: atomic adds per frame cost more than the copy. */
	if (delivered > 0) {
		vnet_vq_publish_used(dst, rxq);
		VNET_STAT_ADD(dst, rx_frames, delivered);
		VNET_STAT_ADD(dst, rx_bytes, rx_bytes);
		VNET_VQ_STAT_ADD(rxq->st_packets, delivered);
		VNET_VQ_STAT_ADD(rxq->st_bytes, rx_bytes);
	}
	if (moved > 0) {
		vnet_vq_publish_used(src, txq);
		VNET_STAT_ADD(src, tx_frames, tx_frames);
		VNET_STAT_ADD(src, tx_bytes, tx_bytes);
	}
out_unlock:
	pthread_spin_unlock(&txq->lock);
	if (rxq != NULL)
		pthread_spin_unlock(&rxq->lock);
	return moved;
}

/* The driver refilled receive queue @p j: move what waits for it. */
static void rx_refilled(struct vnet_model *m, uint16_t j)
{
	struct vnet_vq *rxq = &m->vqs[2 * j];
	struct vnet_model *src = NULL;
	uint16_t pairs, k;
	bool stalled;

	pthread_spin_lock(&rxq->lock);
	vnet_tc_reset(rxq);
	stalled = rxq->stalled;
	if (stalled) {
		rxq->stalled = false;
		vnet_vq_set_no_notify(m, rxq, true);
	}
	pthread_spin_unlock(&rxq->lock);
	if (!stalled)
		return;
	if (vnet_wire_host(m)) {
		vnet_host_wake(m);
		return;
	}
	if (m->wire == VNET_WIRE_LOOP)
		src = m;
	else if (m->wire == VNET_WIRE_PAIR)
		src = __atomic_load_n(&m->peer, __ATOMIC_ACQUIRE);
	if (src == NULL)
		return;
	pairs = __atomic_load_n(&m->active_pairs, __ATOMIC_ACQUIRE);
	for (k = 0; k < src->max_pairs; k++) {
		if (k % pairs == j)
			vnet_tx_drain(src, k);
	}
}

void vnet_kick(struct vnet_model *m, uint16_t q)
{
	VNET_STAT_ADD(m, kicks, 1);
	if (q >= m->nvqs)
		return; /* a doorbell for no queue is ignored, as hardware would */
	if (!(q & 1) && q != vnet_ctrl_vq(m))
		__atomic_fetch_add(&m->vqs[q].st_notifications, 1, __ATOMIC_RELAXED);
	if (q == vnet_ctrl_vq(m)) {
		vnet_ctrl_process(m);
		return;
	}
	/* A host wire's reader waits for this doorbell in either mode. */
	if (!(q & 1) && vnet_wire_host(m)) {
		rx_refilled(m, q / 2);
		return;
	}
	if (m->mode == VNET_MODE_THREAD)
		return;
	if (q & 1)
		vnet_tx_drain(m, q / 2);
	else
		rx_refilled(m, q / 2);
}

static int mac_table(const uint8_t *p, uint32_t len, uint32_t *used, uint8_t (*table)[6],
		     uint8_t *n)
{
	uint32_t entries;

	if (len < 4)
		return -EINVAL;
	memcpy(&entries, p, 4);
	if (entries > VNET_MAC_TABLE_MAX || len - 4 < 6 * entries)
		return -EINVAL;
	memcpy(table, p + 4, 6 * entries);
	*n = (uint8_t)entries;
	*used = 4 + 6 * entries;
	return 0;
}

/*
 * Device statistics for the requests in @p data: one RX_BASIC reply per
 * receive queue asked for; a request for anything else is refused whole.
 * @return the reply's length in @p out, or -1.
 */
static int stats_get(struct vnet_model *m, const uint8_t *data, uint32_t dlen, uint8_t *out,
		     uint32_t cap)
{
	struct virtio_net_stats_request rq;
	uint32_t off, used = 0;

	if (dlen == 0 || dlen % sizeof(rq) != 0)
		return -1;
	for (off = 0; off < dlen; off += sizeof(rq)) {
		struct virtio_net_stats_rx_basic r = { 0 };
		struct vnet_vq *vq;

		memcpy(&rq, data + off, sizeof(rq));
		if (rq.types != VIRTIO_NET_STATS_TYPE_RX_BASIC || rq.vq_index & 1 ||
		    rq.vq_index >= 2 * m->max_pairs || cap - used < sizeof(r))
			return -1;
		vq = &m->vqs[rq.vq_index];
		r.hdr.type = VIRTIO_NET_STATS_REPLY_RX_BASIC;
		r.hdr.vq_index = rq.vq_index;
		r.hdr.size = sizeof(r);
		r.rx_packets = __atomic_load_n(&vq->st_packets, __ATOMIC_RELAXED);
		r.rx_bytes = __atomic_load_n(&vq->st_bytes, __ATOMIC_RELAXED);
		r.rx_drops = __atomic_load_n(&vq->st_drops, __ATOMIC_RELAXED);
		r.rx_drop_overruns = __atomic_load_n(&vq->st_overruns, __ATOMIC_RELAXED);
		r.rx_notifications = __atomic_load_n(&vq->st_notifications, __ATOMIC_RELAXED);
		memcpy(out + used, &r, sizeof(r)); /* rx_interrupts: none, the model raises none */
		used += sizeof(r);
	}
	return (int)used;
}

static uint8_t ctrl_exec(struct vnet_model *m, const uint8_t *cmd, uint32_t len, uint8_t *out,
			 uint32_t cap, uint32_t *out_len)
{
	const struct virtio_net_ctrl_hdr *h = (const void *)cmd;
	const uint8_t *data = cmd + sizeof(*h);
	uint32_t dlen = len - (uint32_t)sizeof(*h), u1, u2;
	uint16_t pairs;
	uint8_t ok = VIRTIO_NET_ERR;

	if (h->class == VIRTIO_NET_CTRL_RX && vnet_has(m, VIRTIO_NET_F_CTRL_RX) && dlen == 1 &&
	    (h->cmd == VIRTIO_NET_CTRL_RX_PROMISC || h->cmd == VIRTIO_NET_CTRL_RX_ALLMULTI)) {
		pthread_spin_lock(&m->filter_lock);
		if (h->cmd == VIRTIO_NET_CTRL_RX_PROMISC)
			m->promisc = data[0] != 0;
		else
			m->allmulti = data[0] != 0;
		pthread_spin_unlock(&m->filter_lock);
		ok = VIRTIO_NET_OK;
	} else if (h->class == VIRTIO_NET_CTRL_MAC && h->cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET &&
		   vnet_has(m, VIRTIO_NET_F_CTRL_MAC_ADDR) && dlen == 6) {
		pthread_spin_lock(&m->filter_lock);
		memcpy(m->mac, data, 6);
		pthread_spin_unlock(&m->filter_lock);
		__atomic_fetch_add(&m->generation, 1, __ATOMIC_RELEASE); /* config space changed */
		ok = VIRTIO_NET_OK;
	} else if (h->class == VIRTIO_NET_CTRL_MAC && h->cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET &&
		   vnet_has(m, VIRTIO_NET_F_CTRL_RX)) {
		uint8_t uc[VNET_MAC_TABLE_MAX][6], mc[VNET_MAC_TABLE_MAX][6], ucn, mcn;

		if (mac_table(data, dlen, &u1, uc, &ucn) == 0 &&
		    mac_table(data + u1, dlen - u1, &u2, mc, &mcn) == 0 && u1 + u2 == dlen) {
			pthread_spin_lock(&m->filter_lock);
			memcpy(m->uc, uc, sizeof(uc));
			memcpy(m->mc, mc, sizeof(mc));
			m->uc_n = ucn;
			m->mc_n = mcn;
			pthread_spin_unlock(&m->filter_lock);
			ok = VIRTIO_NET_OK;
		}
	} else if (h->class == VIRTIO_NET_CTRL_STATS && vnet_has(m, VIRTIO_NET_F_DEVICE_STATS) &&
		   h->cmd == VIRTIO_NET_CTRL_STATS_QUERY && dlen == 0 && cap >= 8) {
		uint64_t types = VIRTIO_NET_STATS_TYPE_RX_BASIC;

		memcpy(out, &types, 8);
		*out_len = 8;
		ok = VIRTIO_NET_OK;
	} else if (h->class == VIRTIO_NET_CTRL_STATS && vnet_has(m, VIRTIO_NET_F_DEVICE_STATS) &&
		   h->cmd == VIRTIO_NET_CTRL_STATS_GET) {
		int n = stats_get(m, data, dlen, out, cap);

		if (n >= 0) {
			*out_len = (uint32_t)n;
			ok = VIRTIO_NET_OK;
		}
	} else if (h->class == VIRTIO_NET_CTRL_MQ && h->cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET &&
		   vnet_has(m, VIRTIO_NET_F_MQ) && dlen == 2) {
		memcpy(&pairs, data, 2);
		if (pairs >= 1 && pairs <= m->max_pairs) {
			__atomic_store_n(&m->active_pairs, pairs, __ATOMIC_RELEASE);
			ok = VIRTIO_NET_OK;
		}
	}
	if (ok != VIRTIO_NET_OK)
		VNET_LOG(DEBUG, "%s: control command class %u cmd %u (%u bytes) refused",
			 m->dev->name, h->class, h->cmd, dlen);
	return ok;
}

void vnet_ctrl_process(struct vnet_model *m)
{
	struct vnet_vq *vq = &m->vqs[vnet_ctrl_vq(m)];
	uint8_t cmd[VNET_CTRL_MAX], result[VNET_CTRL_RESULT_MAX];
	uint16_t avail;

	if (!vq_ready(vq))
		return;
	pthread_spin_lock(&vq->lock);
	vnet_tc_reset(vq);
	avail = vnet_vq_avail_idx(m, vq);
	while (vq->last_avail != avail && !vq->broken) {
		uint64_t ack_addr = 0, res_addr = 0;
		uint32_t len = 0, n = 0, res_cap = 0, res_len = 0;
		struct virtq_desc d;
		int head = vnet_vq_peek(m, vq, vq->last_avail);
		uint16_t i;
		uint8_t ack = VIRTIO_NET_ERR;
		bool bad = false;

		if (head < 0)
			break;
		for (i = (uint16_t)head;; i = d.next) {
			if (++n > vq->size || vnet_vq_desc(m, vq, i, &d) < 0) {
				vnet_vq_break(m, vq, "control chain malformed");
				goto out_unlock;
			}
			if (d.flags & VIRTQ_DESC_F_WRITE) {
				/* The status byte, then room for a command's result. */
				if (ack_addr == 0 && d.len >= 1) {
					ack_addr = d.addr;
					if (d.len > 1) {
						res_addr = d.addr + 1;
						res_cap = d.len - 1;
					}
				} else if (ack_addr != 0 && res_addr == 0) {
					res_addr = d.addr;
					res_cap = d.len;
				}
			} else if (ack_addr != 0 || d.len > sizeof(cmd) - len) {
				bad = true; /* data after the status byte, or too long */
			} else if (vnet_dma_copy(m, vq, d.addr, cmd + len, d.len, false) < 0) {
				bad = true;
			} else {
				len += d.len;
			}
			if (!(d.flags & VIRTQ_DESC_F_NEXT))
				break;
			if (d.next >= vq->size) {
				vnet_vq_break(m, vq, "control chain leaves the table");
				goto out_unlock;
			}
		}
		if (!bad && len >= sizeof(struct virtio_net_ctrl_hdr))
			ack = ctrl_exec(m, cmd, len, result, RTE_MIN(res_cap, sizeof(result)),
					&res_len);
		VNET_STAT_ADD(m, ctrl_commands, 1);
		if (ack == VIRTIO_NET_OK && res_len > 0 &&
		    vnet_dma_copy(m, vq, res_addr, result, res_len, true) < 0) {
			VNET_STAT_ADD(m, dma_errors, 1);
			ack = VIRTIO_NET_ERR;
			res_len = 0;
		}
		if (ack_addr != 0 && vnet_dma_copy(m, vq, ack_addr, &ack, 1, true) < 0)
			VNET_STAT_ADD(m, dma_errors, 1);
		if (vnet_vq_push_used(m, vq, vq->used_idx, (uint32_t)head,
				      ack_addr ? 1 + res_len : 0) < 0)
			break;
		vq->used_idx++;
		vq->last_avail++;
		vnet_vq_publish_used(m, vq);
	}
out_unlock:
	pthread_spin_unlock(&vq->lock);
}
