/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net driver: probe, ports, queue setup, start/stop, link and
 * receive modes. Rings are in virtio_ring.c, the control queue in
 * virtio_ctrl.c, statistics in virtio_stats.c, the data path in
 * virtio_rxtx.c, the transport in virtio_pci.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_pause.h>

#include "svio_dev.h"
#include "svio_iommu.h"
#include "virtio_port.h"

RTE_LOG_REGISTER_SUFFIX(virtio_net_logtype, virtio_net, INFO);

/* What the driver asks for; the device may offer less. */
#define WANTED_FEATURES                                                              \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM) |     \
	 VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |            \
	 VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |     \
	 VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | \
	 VIRTIO_BIT(VIRTIO_NET_F_MQ) | VIRTIO_BIT(VIRTIO_NET_F_MTU) |                \
	 VIRTIO_BIT(VIRTIO_NET_F_DEVICE_STATS))
/* Without these the driver cannot work: virtio 1.x, and DMA through the IOMMU. */
#define REQUIRED_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM))

static struct virtio_port ports[SVIO_NET_MAX_PORTS];

struct svio_net_fp svio_net_fp[SVIO_NET_MAX_PORTS] = {
	[0 ... SVIO_NET_MAX_PORTS - 1] = { .rx_burst = virtio_burst_stopped,
					   .tx_burst = virtio_burst_stopped },
};

struct virtio_port *virtio_port_get(uint16_t id)
{
	if (id >= SVIO_NET_MAX_PORTS || !ports[id].used)
		return NULL;
	return &ports[id];
}

uint16_t svio_net_count(void)
{
	uint16_t i, n = 0;

	for (i = 0; i < SVIO_NET_MAX_PORTS; i++)
		n += ports[i].used;
	return n;
}

int svio_net_port_by_name(const char *name, uint16_t *port)
{
	uint16_t i;

	for (i = 0; name != NULL && i < SVIO_NET_MAX_PORTS; i++) {
		if (ports[i].used && strcmp(ports[i].dev->name, name) == 0) {
			*port = i;
			return 0;
		}
	}
	return -ENODEV;
}

const char *svio_net_port_name(uint16_t port)
{
	struct virtio_port *p = virtio_port_get(port);

	return p != NULL ? p->dev->name : NULL;
}

int svio_net_info_get(uint16_t port, struct svio_net_info *info)
{
	struct virtio_port *p = virtio_port_get(port);

	if (p == NULL)
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", p->dev->name);
	info->max_rx_queues = p->max_pairs;
	info->max_tx_queues = p->max_pairs;
	info->max_desc = p->max_desc;
	info->min_desc = VIRTIO_MIN_DESC;
	info->max_rx_pktlen = (uint32_t)p->mtu + RTE_ETHER_HDR_LEN;
	info->features = p->features;
	info->numa_node = p->dev->numa_node;
	return 0;
}

static int queue_info(uint16_t port, uint16_t q, bool tx, struct svio_net_queue_info *qi)
{
	struct virtio_port *p = virtio_port_get(port);
	const struct virtio_ring *r = NULL;

	if (p == NULL)
		return -ENODEV;
	if (q >= p->max_pairs)
		return -EINVAL;
	if (tx && p->txq[q] != NULL)
		r = &p->txq[q]->r;
	else if (!tx && p->rxq[q] != NULL)
		r = &p->rxq[q]->r;
	qi->max_desc = tx ? p->tx_max_desc[q] : p->rx_max_desc[q];
	qi->min_desc = VIRTIO_MIN_DESC;
	qi->nb_desc = r != NULL ? r->size : 0;
	return 0;
}

int svio_net_rx_queue_info_get(uint16_t port, uint16_t q, struct svio_net_queue_info *qi)
{
	return queue_info(port, q, false, qi);
}

int svio_net_tx_queue_info_get(uint16_t port, uint16_t q, struct svio_net_queue_info *qi)
{
	return queue_info(port, q, true, qi);
}

/* Negotiate features: everything we want that the device offers. */
static int negotiate(struct virtio_port *p)
{
	struct virtio_hw *hw = &p->hw;
	uint64_t offered;
	int rc;

	rc = hw->ops->reset(hw);
	if (rc < 0) {
		VIRTIO_LOG(ERR, "%s: device did not reset", p->dev->name);
		return -EIO;
	}
	hw->ops->set_status(hw, VIRTIO_STATUS_ACKNOWLEDGE);
	hw->ops->set_status(hw, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	offered = hw->ops->get_features(hw);
	if ((offered & REQUIRED_FEATURES) != REQUIRED_FEATURES) {
		VIRTIO_LOG(ERR,
			   "%s: device offers features %#" PRIx64 " without %s; svio needs virtio "
			   "1.x with DMA through the IOMMU",
			   p->dev->name, offered,
			   offered & VIRTIO_BIT(VIRTIO_F_VERSION_1) ? "ACCESS_PLATFORM"
								    : "VERSION_1");
		hw->ops->set_status(hw, VIRTIO_STATUS_FAILED);
		return -ENOTSUP;
	}
	p->features = offered & WANTED_FEATURES;
	/* Control-queue features are meaningless without the control queue. */
	if (!virtio_has(p, VIRTIO_NET_F_CTRL_VQ))
		p->features &= ~(
			VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
			VIRTIO_BIT(VIRTIO_NET_F_MQ) | VIRTIO_BIT(VIRTIO_NET_F_DEVICE_STATS));
	hw->ops->set_features(hw, p->features);
	hw->ops->set_status(hw, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					VIRTIO_STATUS_FEATURES_OK);
	if (!(hw->ops->get_status(hw) & VIRTIO_STATUS_FEATURES_OK)) {
		VIRTIO_LOG(ERR, "%s: device refused features %#" PRIx64, p->dev->name, p->features);
		hw->ops->set_status(hw, VIRTIO_STATUS_FAILED);
		return -EIO;
	}
	return 0;
}

static int read_config(struct virtio_port *p)
{
	struct virtio_hw *hw = &p->hw;
	uint16_t pairs = 1, mtu = RTE_ETHER_MTU, q;
	int rc = 0;

	if (virtio_has(p, VIRTIO_NET_F_MAC))
		rc = hw->ops->read_dev_cfg(hw, VIRTIO_NET_CFG_MAC, p->mac.addr_bytes, 6);
	else
		rte_eth_random_addr(p->mac.addr_bytes);
	if (rc == 0 && virtio_has(p, VIRTIO_NET_F_MQ))
		rc = hw->ops->read_dev_cfg(hw, VIRTIO_NET_CFG_MAX_PAIRS, &pairs, 2);
	if (rc == 0 && virtio_has(p, VIRTIO_NET_F_MTU))
		rc = hw->ops->read_dev_cfg(hw, VIRTIO_NET_CFG_MTU, &mtu, 2);
	if (rc < 0)
		return rc;
	if (pairs < 1 || hw->ops->num_queues(hw) < 2 * pairs) {
		VIRTIO_LOG(ERR, "%s: device reports %u queue pairs but %u queues", p->dev->name,
			   pairs, hw->ops->num_queues(hw));
		return -EIO;
	}
	p->dev_pairs = pairs;
	p->max_pairs = RTE_MIN(pairs, (uint16_t)SVIO_NET_MAX_QUEUES);
	p->mtu = mtu;
	p->max_desc = VIRTQ_MAX_SIZE;
	for (q = 0; q < 2 * p->max_pairs; q++) {
		uint16_t max = RTE_MIN(hw->ops->queue_max(hw, q), (uint16_t)VIRTQ_MAX_SIZE);

		if (max < VIRTIO_MIN_DESC) {
			VIRTIO_LOG(ERR, "%s: queue %u: %u descriptors are too few (at least %u)",
				   p->dev->name, q, max, VIRTIO_MIN_DESC);
			return -EIO;
		}
		if (q & 1)
			p->tx_max_desc[q / 2] = max;
		else
			p->rx_max_desc[q / 2] = max;
		p->max_desc = RTE_MIN(p->max_desc, max);
	}
	return 0;
}

static int virtio_net_probe(struct svio_driver *drv, struct svio_device *dev)
{
	struct svio_domain *dom = svio_domain_default();
	struct virtio_port *p = NULL;
	uint16_t i;
	int rc;

	(void)drv;
	for (i = 0; i < SVIO_NET_MAX_PORTS; i++) {
		if (!ports[i].used) {
			p = &ports[i];
			break;
		}
	}
	if (p == NULL) {
		VIRTIO_LOG(ERR, "%s: more than %d network ports", dev->name, SVIO_NET_MAX_PORTS);
		return -ENOSPC;
	}
	if (dom == NULL) {
		VIRTIO_LOG(ERR, "%s: no process IOMMU domain (call svio_eal_init)", dev->name);
		return -ENODEV;
	}
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->ctrl_lock, NULL);
	p->id = i;
	p->dev = dev;
	p->dom = dom;
	p->identity = svio_domain_sva(dom);
	p->premap = !p->identity || !dev->dma.pri;
	rc = virtio_pci_init(&p->hw, dev);
	if (rc < 0)
		return rc;
	rc = negotiate(p);
	if (rc == 0)
		rc = read_config(p);
	if (rc < 0)
		goto out_reset;
	rc = svio_domain_attach(dom, dev);
	if (rc < 0) {
		VIRTIO_LOG(ERR, "%s: cannot attach to the process domain: %s", dev->name,
			   strerror(-rc));
		goto out_reset;
	}
	if (virtio_has(p, VIRTIO_NET_F_CTRL_VQ)) {
		rc = virtio_ctrl_setup(p);
		if (rc < 0)
			goto out_detach;
	}
	(void)p->hw.ops->reset(&p->hw); /* start() negotiates again, with queues */
	p->promisc = true;
	p->used = true;
	dev->driver_priv = p;
	VIRTIO_LOG(DEBUG, "%s: port %u, features %#" PRIx64 ", %u queue pairs", dev->name, p->id,
		   p->features, p->max_pairs);
	return 0;

out_detach:
	svio_domain_detach(dom, dev);
out_reset:
	(void)p->hw.ops->reset(&p->hw);
	memset(p, 0, sizeof(*p));
	return rc;
}

static void rxq_free(struct virtio_port *p, struct virtio_rxq *q);
static void txq_free(struct virtio_port *p, struct virtio_txq *q);
static void rxq_drop_mbufs(struct virtio_rxq *q);
static void txq_drop_mbufs(struct virtio_txq *q);

/*
 * A stopped port whose reset timed out: reset again before its rings and
 * buffers are touched. @return 0, or -EIO when the device still does not.
 */
static int port_quiesce(struct virtio_port *p)
{
	uint16_t i;

	if (!p->unreset)
		return 0;
	if (p->hw.ops->reset(&p->hw) < 0) {
		VIRTIO_LOG(ERR, "%s: device still does not reset; its rings stay as they are",
			   p->dev->name);
		return -EIO;
	}
	p->unreset = false;
	for (i = 0; i < SVIO_NET_MAX_QUEUES; i++) {
		if (p->rxq[i] != NULL)
			rxq_drop_mbufs(p->rxq[i]);
		if (p->txq[i] != NULL)
			txq_drop_mbufs(p->txq[i]);
	}
	return 0;
}

static int virtio_net_remove(struct svio_device *dev)
{
	struct virtio_port *p = dev->driver_priv;
	bool detached = false;
	uint16_t i;

	if (p == NULL)
		return 0;
	(void)svio_net_stop(p->id);
	if (port_quiesce(p) < 0) {
		/* Cut the device off first: then its buffers may go. */
		VIRTIO_LOG(ERR, "%s: detaching the device from the domain before freeing its rings",
			   dev->name);
		svio_domain_detach(p->dom, dev);
		detached = true;
	}
	for (i = 0; i < SVIO_NET_MAX_QUEUES; i++) {
		rxq_free(p, p->rxq[i]);
		txq_free(p, p->txq[i]);
	}
	virtio_ctrl_free(p);
	if (!detached)
		svio_domain_detach(p->dom, dev);
	memset(p, 0, sizeof(*p));
	dev->driver_priv = NULL;
	return 0;
}

int svio_net_configure(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq)
{
	struct virtio_port *p = virtio_port_get(port);

	if (p == NULL)
		return -ENODEV;
	if (p->started)
		return -EBUSY;
	if (nb_rxq < 1 || nb_txq < 1 || nb_rxq > p->max_pairs || nb_txq > p->max_pairs) {
		VIRTIO_LOG(ERR, "%s: %u rx / %u tx queues: the device has 1..%u pairs",
			   p->dev->name, nb_rxq, nb_txq, p->max_pairs);
		return -EINVAL;
	}
	if (nb_rxq < nb_txq) {
		/* The device would steer frames to receive queues nobody set up. */
		VIRTIO_LOG(ERR,
			   "%s: %u rx / %u tx queues: fewer receive than transmit queues is not "
			   "supported (queue pairs: use at least as many rx as tx queues)",
			   p->dev->name, nb_rxq, nb_txq);
		return -EINVAL;
	}
	if (RTE_MAX(nb_rxq, nb_txq) > 1 && !virtio_has(p, VIRTIO_NET_F_MQ)) {
		VIRTIO_LOG(ERR, "%s: several queues need the MQ feature", p->dev->name);
		return -EINVAL;
	}
	p->nb_rxq = nb_rxq;
	p->nb_txq = nb_txq;
	p->configured = true;
	return 0;
}

static void rxq_drop_mbufs(struct virtio_rxq *q)
{
	uint16_t i;

	for (i = 0; i < q->r.size; i++) {
		if (q->sw[i] != NULL) {
			rte_pktmbuf_free(q->sw[i]);
			q->sw[i] = NULL;
		}
	}
	if (q->pend_first != NULL)
		rte_pktmbuf_free(q->pend_first);
	q->pend_first = q->pend_last = NULL;
	q->pend_left = 0;
	q->nfree = q->r.size;
	for (i = 0; i < q->r.size; i++)
		q->free_ids[i] = (uint16_t)(q->r.size - 1 - i);
}

static void rxq_free(struct virtio_port *p, struct virtio_rxq *q)
{
	unsigned int i;

	if (q == NULL)
		return;
	rxq_drop_mbufs(q);
	for (i = 0; i < q->n_pool_handles; i++)
		virtio_dma_unregister(p->dom, q->pool_handles[i]);
	rte_free(q->pool_handles);
	virtio_ring_free(p, &q->r);
	rte_free(q->sw);
	rte_free(q->free_ids);
	p->rxq[q->qid] = NULL;
	rte_free(q);
}

struct pool_map_ctx {
	struct virtio_port *p;
	struct virtio_rxq *q;
	int rc;
};

static void pool_chunk_map(struct rte_mempool *mp, void *opaque, struct rte_mempool_memhdr *mh,
			   unsigned int idx)
{
	struct pool_map_ctx *ctx = opaque;
	struct virtio_rxq *q = ctx->q;

	(void)mp;
	(void)idx;
	if (ctx->rc < 0)
		return;
	ctx->rc = virtio_dma_register(ctx->p->dom, mh->addr, mh->len, ctx->p->identity,
				      &q->pool_handles[q->n_pool_handles]);
	if (ctx->rc == 0)
		q->n_pool_handles++;
}

int svio_net_rx_queue_setup(uint16_t port, uint16_t qid, uint16_t nb_desc, int socket,
			    struct rte_mempool *mp)
{
	struct virtio_port *p = virtio_port_get(port);
	struct virtio_rxq *q;
	uint16_t size;
	int rc;

	if (p == NULL)
		return -ENODEV;
	if (p->started)
		return -EBUSY;
	if (!p->configured || qid >= p->nb_rxq || mp == NULL) {
		VIRTIO_LOG(ERR, "%s: rx queue %u: %s", p->dev->name, qid,
			   !p->configured     ? "port not configured"
			   : qid >= p->nb_rxq ? "queue id past the configured count"
					      : "no mempool");
		return -EINVAL;
	}
	rc = virtio_ring_size(p, "rx", qid, p->rx_max_desc[qid], nb_desc, &size);
	if (rc < 0)
		return rc;
	if (rte_pktmbuf_data_room_size(mp) < RTE_PKTMBUF_HEADROOM + 64) {
		VIRTIO_LOG(ERR, "%s: rx queue %u: mbufs of pool %s are too small", p->dev->name,
			   qid, mp->name);
		return -EINVAL;
	}
	rc = port_quiesce(p);
	if (rc < 0)
		return rc;
	if (socket == SOCKET_ID_ANY)
		socket = p->dev->numa_node;
	rxq_free(p, p->rxq[qid]);
	q = rte_zmalloc_socket("svio_vnet_rxq", sizeof(*q), RTE_CACHE_LINE_SIZE, socket);
	if (q == NULL)
		return -ENOMEM;
	q->qid = qid;
	q->port_id = port;
	q->mp = mp;
	q->dom = p->dom;
	q->x.identity = p->identity;
	q->sw = rte_zmalloc_socket("svio_vnet_rxsw", size * sizeof(q->sw[0]), 0, socket);
	q->free_ids = rte_zmalloc_socket("svio_vnet_rxfree", size * sizeof(uint16_t), 0, socket);
	q->pool_handles = rte_zmalloc_socket("svio_vnet_rxdma", mp->nb_mem_chunks * sizeof(void *),
					     0, socket);
	if (q->sw == NULL || q->free_ids == NULL || q->pool_handles == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = virtio_ring_alloc(p, &q->r, (uint16_t)(2 * qid), size, 0, socket, NULL);
	if (rc < 0)
		goto out_free;
	if (p->premap) {
		struct pool_map_ctx ctx = { p, q, 0 };

		rte_mempool_mem_iter(mp, pool_chunk_map, &ctx);
		rc = ctx.rc;
		if (rc < 0)
			goto out_free;
	}
	rxq_drop_mbufs(q);
	p->rxq[qid] = q;
	return 0;

out_free:
	p->rxq[qid] = q;
	rxq_free(p, q);
	return rc;
}

static void txq_drop_mbufs(struct virtio_txq *q)
{
	uint16_t i;

	for (i = 0; i < q->r.size; i++) {
		if (q->sw[i].m != NULL) {
			rte_pktmbuf_free(q->sw[i].m);
			q->sw[i].m = NULL;
		}
	}
	q->free_head = 0;
	q->nfree = q->r.size;
}

static void txq_free(struct virtio_port *p, struct virtio_txq *q)
{
	if (q == NULL)
		return;
	txq_drop_mbufs(q);
	virtio_ring_free(p, &q->r);
	rte_free(q->sw);
	p->txq[q->qid] = NULL;
	rte_free(q);
}

int svio_net_tx_queue_setup(uint16_t port, uint16_t qid, uint16_t nb_desc, int socket)
{
	struct virtio_port *p = virtio_port_get(port);
	struct virtio_txq *q;
	uint16_t size;
	size_t off;
	int rc;

	if (p == NULL)
		return -ENODEV;
	if (p->started)
		return -EBUSY;
	if (!p->configured || qid >= p->nb_txq) {
		VIRTIO_LOG(ERR, "%s: tx queue %u: %s", p->dev->name, qid,
			   !p->configured ? "port not configured"
					  : "queue id past the configured count");
		return -EINVAL;
	}
	rc = virtio_ring_size(p, "tx", qid, p->tx_max_desc[qid], nb_desc, &size);
	if (rc < 0)
		return rc;
	rc = port_quiesce(p);
	if (rc < 0)
		return rc;
	if (socket == SOCKET_ID_ANY)
		socket = p->dev->numa_node;
	txq_free(p, p->txq[qid]);
	q = rte_zmalloc_socket("svio_vnet_txq", sizeof(*q), RTE_CACHE_LINE_SIZE, socket);
	if (q == NULL)
		return -ENOMEM;
	q->qid = qid;
	q->port_id = port;
	q->x.identity = p->identity;
	q->sw = rte_zmalloc_socket("svio_vnet_txsw", size * sizeof(q->sw[0]), 0, socket);
	if (q->sw == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = virtio_ring_alloc(p, &q->r, (uint16_t)(2 * qid + 1), size,
			       (size_t)size * sizeof(struct virtio_net_hdr), socket, &off);
	if (rc < 0)
		goto out_free;
	q->hdrs = (struct virtio_net_hdr *)((uint8_t *)q->r.mem + off);
	q->hdrs_iova = virtio_iova(&q->x, q->hdrs, (size_t)size * sizeof(q->hdrs[0]));
	txq_drop_mbufs(q);
	p->txq[qid] = q;
	return 0;

out_free:
	p->txq[qid] = q;
	txq_free(p, q);
	return rc;
}

/* Free one queue of a stopped port (ethdev's queue release): start wants it set up again. */
static int queue_release(uint16_t port, uint16_t qid, bool rx)
{
	struct virtio_port *p = virtio_port_get(port);
	int rc;

	if (p == NULL)
		return -ENODEV;
	if (p->started)
		return -EBUSY;
	if (qid >= SVIO_NET_MAX_QUEUES)
		return -EINVAL;
	rc = port_quiesce(p);
	if (rc < 0)
		return rc;
	if (rx)
		rxq_free(p, p->rxq[qid]);
	else
		txq_free(p, p->txq[qid]);
	return 0;
}

int svio_net_rx_queue_release(uint16_t port, uint16_t qid)
{
	return queue_release(port, qid, true);
}

int svio_net_tx_queue_release(uint16_t port, uint16_t qid)
{
	return queue_release(port, qid, false);
}

int svio_net_start(uint16_t port)
{
	struct virtio_port *p = virtio_port_get(port);
	struct virtio_hw *hw;
	uint16_t i, pairs;
	int rc;

	if (p == NULL)
		return -ENODEV;
	if (p->started)
		return 0;
	if (!p->configured)
		return -EINVAL;
	for (i = 0; i < p->nb_rxq; i++) {
		if (p->rxq[i] == NULL) {
			VIRTIO_LOG(ERR, "%s: rx queue %u not set up", p->dev->name, i);
			return -EINVAL;
		}
	}
	for (i = 0; i < p->nb_txq; i++) {
		if (p->txq[i] == NULL) {
			VIRTIO_LOG(ERR, "%s: tx queue %u not set up", p->dev->name, i);
			return -EINVAL;
		}
	}
	hw = &p->hw;
	rc = negotiate(p);
	if (rc < 0)
		return rc;
	p->unreset = false; /* negotiate() reset it: the rings' mbufs are dropped below */
	for (i = 0; i < p->nb_rxq && rc == 0; i++) {
		struct virtio_rxq *q = p->rxq[i];

		virtio_ring_rewind(&q->r);
		rxq_drop_mbufs(q);
		q->mrg = virtio_has(p, VIRTIO_NET_F_MRG_RXBUF);
		rc = virtio_ring_program(p, &q->r);
	}
	for (i = 0; i < p->nb_txq && rc == 0; i++) {
		virtio_ring_rewind(&p->txq[i]->r);
		txq_drop_mbufs(p->txq[i]);
		rc = virtio_ring_program(p, &p->txq[i]->r);
	}
	if (rc == 0 && p->ctrl != NULL) {
		virtio_ring_rewind(&p->ctrl->r);
		p->ctrl->pending = false; /* the reset in negotiate() took the ring back */
		rc = virtio_ring_program(p, &p->ctrl->r);
	}
	if (rc < 0)
		goto out_reset;
	hw->ops->set_status(hw, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	if (hw->ops->get_status(hw) & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED) ||
	    !(hw->ops->get_status(hw) & VIRTIO_STATUS_DRIVER_OK)) {
		VIRTIO_LOG(ERR, "%s: device did not go live", p->dev->name);
		rc = -EIO;
		goto out_reset;
	}
	p->started = true;
	pairs = RTE_MAX(p->nb_rxq, p->nb_txq);
	if (virtio_has(p, VIRTIO_NET_F_MQ)) {
		rc = virtio_ctrl_cmd(p, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs,
				     2);
		if (rc < 0)
			goto out_stopped;
	}
	if (virtio_has(p, VIRTIO_NET_F_CTRL_RX) && !p->promisc) {
		uint8_t off = 0;

		rc = virtio_ctrl_cmd(p, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1);
		if (rc < 0)
			goto out_stopped;
	}
	/* The reset forgot the address and filters the application chose. */
	if (virtio_has(p, VIRTIO_NET_F_CTRL_RX) && p->allmulti) {
		uint8_t on = 1;

		rc = virtio_ctrl_cmd(p, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1);
		if (rc < 0)
			goto out_stopped;
	}
	if (virtio_has(p, VIRTIO_NET_F_CTRL_MAC_ADDR) && p->mac_set) {
		rc = virtio_ctrl_cmd(p, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
				     p->mac.addr_bytes, 6);
		if (rc < 0)
			goto out_stopped;
	}
	if (virtio_has(p, VIRTIO_NET_F_DEVICE_STATS)) {
		uint64_t types = 0;

		rc = virtio_ctrl_cmd_result(p, VIRTIO_NET_CTRL_STATS, VIRTIO_NET_CTRL_STATS_QUERY,
					    NULL, 0, &types, sizeof(types));
		if (rc < 0)
			goto out_stopped;
		pthread_mutex_lock(&p->ctrl_lock);
		p->stats_rx_basic = (types & VIRTIO_NET_STATS_TYPE_RX_BASIC) != 0;
		pthread_mutex_unlock(&p->ctrl_lock);
	}
	for (i = 0; i < p->nb_rxq; i++) {
		if (virtio_rx_refill(p->rxq[i]) == 0) {
			VIRTIO_LOG(ERR, "%s: rx queue %u: pool %s is empty", p->dev->name, i,
				   p->rxq[i]->mp->name);
			rc = -ENOMEM;
			goto out_stopped;
		}
	}
	for (i = 0; i < p->nb_rxq; i++)
		svio_net_fp[port].rxq[i] = p->rxq[i];
	for (i = 0; i < p->nb_txq; i++)
		svio_net_fp[port].txq[i] = p->txq[i];
	/* One data path today (split ring, any MRG_RXBUF); chosen here once. */
	__atomic_store_n(&svio_net_fp[port].rx_burst, virtio_rx_burst, __ATOMIC_RELEASE);
	__atomic_store_n(&svio_net_fp[port].tx_burst, virtio_tx_burst, __ATOMIC_RELEASE);
	/* Buffers are posted: frames arriving now are the port's (test/vm waits for this line). */
	VIRTIO_LOG(INFO, "%s: port %u started, %u rx and %u tx queues", p->dev->name, port,
		   p->nb_rxq, p->nb_txq);
	return 0;

out_stopped:
	pthread_mutex_lock(&p->ctrl_lock);
	p->stats_rx_basic = false;
	pthread_mutex_unlock(&p->ctrl_lock);
	p->started = false;
out_reset:
	(void)hw->ops->reset(hw);
	return rc;
}

/*
 * Give the device the frames already counted as sent: without this the reset
 * in stop() would drop whatever it had not taken yet, and opackets would
 * overstate what left the port. Bounded: give up after TX_DRAIN_IDLE_MS
 * without progress (a peer that never takes frames), or TX_DRAIN_MAX_MS in
 * all (a device that keeps moving but never catches up), and say how many.
 */
#define TX_DRAIN_IDLE_MS 1000
#define TX_DRAIN_MAX_MS	 5000

static void txq_drain(struct virtio_port *p, struct virtio_txq *q)
{
	struct virtio_ring *r = &q->r;
	uint64_t idle = rte_get_timer_hz() * TX_DRAIN_IDLE_MS / 1000;
	uint64_t until = rte_get_timer_cycles() + idle;
	uint64_t give_up = rte_get_timer_cycles() + rte_get_timer_hz() * TX_DRAIN_MAX_MS / 1000;
	uint16_t seen = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE), used = seen;

	while (used != r->avail_idx) {
		uint64_t now = rte_get_timer_cycles();

		if (used != seen) {
			seen = used;
			until = now + idle;
		}
		if (now > until || now > give_up) {
			VIRTIO_LOG(WARNING,
				   "%s: tx queue %u: %u frames not taken by the device (%s); the "
				   "reset drops them",
				   p->dev->name, q->qid, (uint16_t)(r->avail_idx - used),
				   now > until ? "no progress for 1 s" : "still behind after 5 s");
			return;
		}
		/* A doorbell in case the device waits for one (an inline model does). */
		virtio_notify(r->hw, r->notify_off, r->qidx);
		rte_delay_us_sleep(20);
		used = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
	}
}

int svio_net_stop(uint16_t port)
{
	struct virtio_port *p = virtio_port_get(port);
	uint64_t missed;
	uint16_t i;

	if (p == NULL)
		return -ENODEV;
	if (!p->started)
		return p->unreset ? -EIO : 0;
	__atomic_store_n(&svio_net_fp[port].rx_burst, virtio_burst_stopped, __ATOMIC_RELEASE);
	__atomic_store_n(&svio_net_fp[port].tx_burst, virtio_burst_stopped, __ATOMIC_RELEASE);
	for (i = 0; i < p->nb_txq; i++)
		if (p->txq[i] != NULL)
			txq_drain(p, p->txq[i]);
	/* The reset clears the device's counters: keep what they say. */
	pthread_mutex_lock(&p->ctrl_lock);
	if (virtio_device_missed(p, &missed) == 0)
		p->missed_acc += missed;
	else
		VIRTIO_LOG(WARNING,
			   "%s: device statistics unread before the reset: imissed "
			   "loses what the device counted since start",
			   p->dev->name);
	p->stats_rx_basic = false;
	pthread_mutex_unlock(&p->ctrl_lock);
	p->started = false;
	if (p->hw.ops->reset(&p->hw) < 0) {
		/* It may still read and write them: nothing goes back to the pools or is unmapped.
		 */
		VIRTIO_LOG(ERR,
			   "%s: device did not reset; the rings keep their mbufs and DMA mappings "
			   "until a reset succeeds (start, queue setup or removal retries it)",
			   p->dev->name);
		p->unreset = true;
		return -EIO;
	}
	/* After the reset the device touches no ring or buffer: the mbufs are ours again. */
	for (i = 0; i < p->nb_rxq; i++)
		rxq_drop_mbufs(p->rxq[i]);
	for (i = 0; i < p->nb_txq; i++)
		txq_drop_mbufs(p->txq[i]);
	return 0;
}

int svio_net_link_get(uint16_t port, struct svio_net_link *link)
{
	struct virtio_port *p = virtio_port_get(port);
	uint16_t status = VIRTIO_NET_S_LINK_UP;
	int rc;

	if (p == NULL)
		return -ENODEV;
	if (virtio_has(p, VIRTIO_NET_F_STATUS)) {
		rc = p->hw.ops->read_dev_cfg(&p->hw, VIRTIO_NET_CFG_STATUS, &status, 2);
		if (rc < 0)
			return rc;
	}
	link->up = (status & VIRTIO_NET_S_LINK_UP) != 0 && p->started;
	link->full_duplex = link->up;
	link->speed_mbps = link->up ? 10000 : 0; /* virtio has no speed without SPEED_DUPLEX */
	return 0;
}

int svio_net_macaddr_get(uint16_t port, struct rte_ether_addr *mac)
{
	struct virtio_port *p = virtio_port_get(port);

	if (p == NULL)
		return -ENODEV;
	*mac = p->mac;
	return 0;
}

int svio_net_macaddr_set(uint16_t port, const struct rte_ether_addr *mac)
{
	struct virtio_port *p = virtio_port_get(port);
	int rc;

	if (p == NULL)
		return -ENODEV;
	if (!rte_is_valid_assigned_ether_addr(mac))
		return -EINVAL;
	if (!virtio_has(p, VIRTIO_NET_F_CTRL_MAC_ADDR))
		return -ENOTSUP;
	rc = virtio_ctrl_cmd(p, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac->addr_bytes,
			     6);
	if (rc == 0) {
		p->mac = *mac;
		p->mac_set = true;
	}
	return rc;
}

static int rx_mode(uint16_t port, uint8_t cmd, bool on)
{
	struct virtio_port *p = virtio_port_get(port);
	uint8_t v = on;
	int rc;

	if (p == NULL)
		return -ENODEV;
	if (!virtio_has(p, VIRTIO_NET_F_CTRL_RX))
		return -ENOTSUP;
	rc = virtio_ctrl_cmd(p, VIRTIO_NET_CTRL_RX, cmd, &v, 1);
	if (rc == 0 && cmd == VIRTIO_NET_CTRL_RX_PROMISC)
		p->promisc = on;
	else if (rc == 0)
		p->allmulti = on;
	return rc;
}

int svio_net_promiscuous_set(uint16_t port, bool on)
{
	return rx_mode(port, VIRTIO_NET_CTRL_RX_PROMISC, on);
}

int svio_net_allmulticast_set(uint16_t port, bool on)
{
	return rx_mode(port, VIRTIO_NET_CTRL_RX_ALLMULTI, on);
}

int svio_net_promiscuous_get(uint16_t port)
{
	struct virtio_port *p = virtio_port_get(port);

	return p == NULL ? -ENODEV : p->promisc;
}

static const char *const virtio_net_devargs[] = { NULL };

struct svio_driver virtio_net_driver = {
	.name = "virtio_net",
	.kind = SVIO_DEV_KIND_NET,
	.name_prefix = NULL,
	.devargs = virtio_net_devargs,
	.probe = virtio_net_probe,
	.remove = virtio_net_remove,
};
