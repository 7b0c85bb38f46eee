/* SPDX-License-Identifier: BSD-3-Clause */
/* Port statistics: queue counters, device-counted drops, extended stats. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "virtio_port.h"

/*
 * Frames the device dropped for want of receive buffers since its last reset
 * (rx_drop_overruns of every receive queue), in @p missed; 0 when the device
 * has no such counters or the port is stopped (the reset cleared them).
 * Called with ctrl_lock held.
 */
int virtio_device_missed(struct virtio_port *p, uint64_t *missed)
{
	struct virtio_net_stats_request rq[SVIO_NET_MAX_QUEUES] = { 0 };
	struct virtio_net_stats_rx_basic rb[SVIO_NET_MAX_QUEUES];
	uint16_t i;
	int rc;

	*missed = 0;
	if (!p->stats_rx_basic || p->nb_rxq == 0)
		return 0;
	for (i = 0; i < p->nb_rxq; i++) {
		rq[i].vq_index = (uint16_t)(2 * i);
		rq[i].types = VIRTIO_NET_STATS_TYPE_RX_BASIC;
	}
	rc = virtio_ctrl_cmd_locked(p, VIRTIO_NET_CTRL_STATS, VIRTIO_NET_CTRL_STATS_GET, rq,
				    (uint16_t)(p->nb_rxq * sizeof(rq[0])), rb,
				    (uint16_t)(p->nb_rxq * sizeof(rb[0])));
	if (rc < 0)
		return rc;
	for (i = 0; i < p->nb_rxq; i++) {
		if (rb[i].hdr.type != VIRTIO_NET_STATS_REPLY_RX_BASIC ||
		    rb[i].hdr.size != sizeof(rb[i]) || rb[i].hdr.vq_index != 2 * i) {
			VIRTIO_LOG(ERR, "%s: device statistics reply %u is malformed", p->dev->name,
				   i);
			return -EIO;
		}
		*missed += rb[i].rx_drop_overruns;
	}
	return 0;
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

int svio_net_stats_get(uint16_t port, struct svio_net_stats *st)
{
	struct virtio_port *p = virtio_port_get(port);
	uint64_t missed;
	uint16_t i;
	int rc;

	if (p == NULL)
		return -ENODEV;
	pthread_mutex_lock(&p->ctrl_lock);
	rc = virtio_device_missed(p, &missed);
	if (rc == 0)
		missed += p->missed_acc - p->missed_off;
	pthread_mutex_unlock(&p->ctrl_lock);
	if (rc < 0)
		return rc;
	memset(st, 0, sizeof(*st));
	st->imissed = missed;
	for (i = 0; i < p->nb_rxq; i++) {
		struct virtio_rxq *q = p->rxq[i];

		if (q == NULL)
			continue;
		st->q_ipackets[i] = LOAD(q->packets);
		st->q_ibytes[i] = LOAD(q->bytes);
		st->ipackets += st->q_ipackets[i];
		st->ibytes += st->q_ibytes[i];
		st->ierrors += LOAD(q->errors);
		st->rx_nombuf += LOAD(q->nombuf);
	}
	for (i = 0; i < p->nb_txq; i++) {
		struct virtio_txq *q = p->txq[i];

		if (q == NULL)
			continue;
		st->q_opackets[i] = LOAD(q->packets);
		st->q_obytes[i] = LOAD(q->bytes);
		st->opackets += st->q_opackets[i];
		st->obytes += st->q_obytes[i];
		st->oerrors += LOAD(q->errors);
	}
	return 0;
}

/* Counters belong to the queue threads: reset only while they are quiet. */
int svio_net_stats_reset(uint16_t port)
{
	struct virtio_port *p = virtio_port_get(port);
	uint64_t missed;
	uint16_t i;
	int rc;

	if (p == NULL)
		return -ENODEV;
	pthread_mutex_lock(&p->ctrl_lock);
	rc = virtio_device_missed(p, &missed);
	if (rc == 0)
		p->missed_off = p->missed_acc + missed;
	pthread_mutex_unlock(&p->ctrl_lock);
	if (rc < 0)
		return rc;
	for (i = 0; i < SVIO_NET_MAX_QUEUES; i++) {
		struct virtio_rxq *rq = p->rxq[i];
		struct virtio_txq *tq = p->txq[i];

		if (rq != NULL) {
			__atomic_store_n(&rq->packets, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&rq->bytes, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&rq->errors, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&rq->nombuf, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&rq->chains, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&rq->refills, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&rq->kicks, 0, __ATOMIC_RELAXED);
		}
		if (tq != NULL) {
			__atomic_store_n(&tq->packets, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&tq->bytes, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&tq->errors, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&tq->full, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&tq->kicks, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&tq->hdr_descs, 0, __ATOMIC_RELAXED);
		}
	}
	return 0;
}

/* Extended stats: per queue, in this order. */
static const char *const rxq_xstat_names[] = {
	"packets", "bytes", "errors", "mbuf_alloc_failed", "chains", "refills", "kicks",
};
static const char *const txq_xstat_names[] = {
	"packets", "bytes", "errors", "ring_full", "kicks", "header_descs",
};

int svio_net_xstats_get_names(uint16_t port, struct svio_net_xstat_name *names, unsigned int n)
{
	struct virtio_port *p = virtio_port_get(port);
	unsigned int count, k = 0, i, j;

	if (p == NULL)
		return -ENODEV;
	count = p->nb_rxq * RTE_DIM(rxq_xstat_names) + p->nb_txq * RTE_DIM(txq_xstat_names);
	if (names == NULL || n < count)
		return (int)count;
	for (i = 0; i < p->nb_rxq; i++) {
		for (j = 0; j < RTE_DIM(rxq_xstat_names); j++)
			snprintf(names[k++].name, sizeof(names[0].name), "rx_q%u_%s", i,
				 rxq_xstat_names[j]);
	}
	for (i = 0; i < p->nb_txq; i++) {
		for (j = 0; j < RTE_DIM(txq_xstat_names); j++)
			snprintf(names[k++].name, sizeof(names[0].name), "tx_q%u_%s", i,
				 txq_xstat_names[j]);
	}
	return (int)count;
}

int svio_net_xstats_get(uint16_t port, struct svio_net_xstat *xs, unsigned int n)
{
	struct virtio_port *p = virtio_port_get(port);
	unsigned int count, k = 0, i;

	if (p == NULL)
		return -ENODEV;
	count = p->nb_rxq * RTE_DIM(rxq_xstat_names) + p->nb_txq * RTE_DIM(txq_xstat_names);
	if (xs == NULL || n < count)
		return (int)count;
	for (i = 0; i < p->nb_rxq; i++) {
		struct virtio_rxq *q = p->rxq[i];
		uint64_t v[] = { q ? LOAD(q->packets) : 0, q ? LOAD(q->bytes) : 0,
				 q ? LOAD(q->errors) : 0,  q ? LOAD(q->nombuf) : 0,
				 q ? LOAD(q->chains) : 0,  q ? LOAD(q->refills) : 0,
				 q ? LOAD(q->kicks) : 0 };

		for (unsigned int j = 0; j < RTE_DIM(v); j++, k++)
			xs[k] = (struct svio_net_xstat){ k, v[j] };
	}
	for (i = 0; i < p->nb_txq; i++) {
		struct virtio_txq *q = p->txq[i];
		uint64_t v[] = { q ? LOAD(q->packets) : 0, q ? LOAD(q->bytes) : 0,
				 q ? LOAD(q->errors) : 0,  q ? LOAD(q->full) : 0,
				 q ? LOAD(q->kicks) : 0,   q ? LOAD(q->hdr_descs) : 0 };

		for (unsigned int j = 0; j < RTE_DIM(v); j++, k++)
			xs[k] = (struct svio_net_xstat){ k, v[j] };
	}
	return (int)count;
}
