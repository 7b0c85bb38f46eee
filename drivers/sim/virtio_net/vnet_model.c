/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The built-in virtio-net device: devargs, life cycle, the wire between
 * ports (host wires: vnet_wire_host.c), and the hooks tests use (counters,
 * cable).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>

#include "vnet_priv.h"

RTE_LOG_REGISTER_SUFFIX(sim_vnet_logtype, sim_vnet, INFO);

static const char *const vnet_devargs[] = {
	"wire", "mode", "queues",    "qsize",	 "rx_queue_size", "tx_queue_size", "mac", "link",
	"mq",	"ctrl", "mrg_rxbuf", "platform", "rx_full",	  "stats",	   NULL,
};

/* Every sim_vnet device, so that cables find both ends (control path only). */
static LIST_HEAD(, vnet_model) vnet_models = LIST_HEAD_INITIALIZER(vnet_models);

static struct vnet_model *vnet_of(struct svio_device *dev)
{
	if (dev == NULL || dev->reg_ops != &vnet_reg_ops)
		return NULL;
	return sim_dev_priv(dev);
}

static int parse_wire(struct vnet_model *m, const char *s)
{
	int rc = s != NULL ? vnet_host_parse(m, s) : 1;

	if (rc <= 0)
		return rc;
	if (s == NULL || strcmp(s, "none") == 0) {
		m->wire = VNET_WIRE_NONE;
	} else if (strcmp(s, "loop") == 0) {
		m->wire = VNET_WIRE_LOOP;
	} else if (strncmp(s, "pair:", 5) == 0 && strncmp(s + 5, VNET_PREFIX, 8) == 0 &&
		   strlen(s + 5) < sizeof(m->peer_name)) {
		m->wire = VNET_WIRE_PAIR;
		strcpy(m->peer_name, s + 5);
		if (strcmp(m->peer_name, m->dev->name) == 0) {
			VNET_LOG(ERR,
				 "%s: wire=%s: a port cannot be cabled to itself (use "
				 "wire=loop)",
				 m->dev->name, s);
			return -EINVAL;
		}
	} else {
		VNET_LOG(ERR,
			 "%s: wire=%s: expected pair:" VNET_PREFIX
			 "N, loop, tap:NAME, af_packet:IFNAME or none",
			 m->dev->name, s);
		return -EINVAL;
	}
	return 0;
}

static int parse_feature(struct vnet_model *m, const char *key, unsigned int bit)
{
	bool on = true;
	int rc = svio_dev_arg_bool(m->dev, key, &on);

	if (rc < 0)
		return rc;
	if (!on)
		m->features &= ~VIRTIO_BIT(bit);
	return 0;
}

/* A queue size devarg: a power of two in 64..VNET_MAX_QSIZE; @p v keeps its default when absent. */
static int parse_qsize(struct vnet_model *m, const char *key, uint64_t *v)
{
	int rc = svio_dev_arg_u64(m->dev, key, v);

	if (rc == 0 && (*v < 64 || *v > VNET_MAX_QSIZE || (*v & (*v - 1)) != 0)) {
		VNET_LOG(ERR, "%s: %s=%" PRIu64 ": expected a power of two in 64..%d", m->dev->name,
			 key, *v, VNET_MAX_QSIZE);
		rc = -EINVAL;
	}
	return rc;
}

static int parse_devargs(struct vnet_model *m)
{
	struct svio_device *dev = m->dev;
	const char *mode = svio_dev_arg(dev, "mode"), *mac = svio_dev_arg(dev, "mac");
	const char *rx_full = svio_dev_arg(dev, "rx_full");
	uint64_t pairs = VNET_DEF_PAIRS, qsize = VNET_DEF_QSIZE, rx_qsize, tx_qsize;
	bool link = true;
	int rc;

	rc = parse_wire(m, svio_dev_arg(dev, "wire"));
	if (rc < 0)
		return rc;
	if (mode == NULL || strcmp(mode, "inline") == 0) {
		m->mode = VNET_MODE_INLINE;
	} else if (strcmp(mode, "thread") == 0) {
		m->mode = VNET_MODE_THREAD;
	} else {
		VNET_LOG(ERR, "%s: mode=%s: expected inline or thread", dev->name, mode);
		return -EINVAL;
	}
	if (rx_full != NULL && strcmp(rx_full, "drop") != 0 && strcmp(rx_full, "wait") != 0) {
		VNET_LOG(ERR, "%s: rx_full=%s: expected wait or drop", dev->name, rx_full);
		return -EINVAL;
	}
	m->rx_full_drop = rx_full != NULL && strcmp(rx_full, "drop") == 0;
	rc = svio_dev_arg_u64(dev, "queues", &pairs);
	if (rc == 0 && (pairs < 1 || pairs > VNET_MAX_PAIRS)) {
		VNET_LOG(ERR, "%s: queues=%" PRIu64 ": expected 1..%d queue pairs", dev->name,
			 pairs, VNET_MAX_PAIRS);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = parse_qsize(m, "qsize", &qsize);
	/* Receive and transmit queues may differ, as QEMU's rx_queue_size / tx_queue_size. */
	rx_qsize = tx_qsize = qsize;
	if (rc == 0)
		rc = parse_qsize(m, "rx_queue_size", &rx_qsize);
	if (rc == 0)
		rc = parse_qsize(m, "tx_queue_size", &tx_qsize);
	if (rc == 0)
		rc = svio_dev_arg_bool(dev, "link", &link);
	if (rc < 0)
		return rc;
	m->max_pairs = (uint16_t)pairs;
	m->qsize_max = (uint16_t)qsize;
	m->rx_qsize_max = (uint16_t)rx_qsize;
	m->tx_qsize_max = (uint16_t)tx_qsize;
	m->link_admin_up = link;

	m->features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM) |
		      VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		      VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
		      VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
		      VIRTIO_BIT(VIRTIO_NET_F_MQ) | VIRTIO_BIT(VIRTIO_NET_F_MTU) |
		      VIRTIO_BIT(VIRTIO_NET_F_DEVICE_STATS);
	if (pairs == 1)
		m->features &= ~VIRTIO_BIT(VIRTIO_NET_F_MQ);
	rc = parse_feature(m, "mq", VIRTIO_NET_F_MQ);
	if (rc == 0)
		rc = parse_feature(m, "ctrl", VIRTIO_NET_F_CTRL_VQ);
	if (rc == 0)
		rc = parse_feature(m, "mrg_rxbuf", VIRTIO_NET_F_MRG_RXBUF);
	if (rc == 0)
		rc = parse_feature(m, "platform", VIRTIO_F_ACCESS_PLATFORM);
	if (rc == 0)
		rc = parse_feature(m, "stats", VIRTIO_NET_F_DEVICE_STATS);
	if (rc < 0)
		return rc;
	/* Control-queue features only make sense with a control queue. */
	if (!(m->features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ)))
		m->features &= ~(
			VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
			VIRTIO_BIT(VIRTIO_NET_F_MQ) | VIRTIO_BIT(VIRTIO_NET_F_DEVICE_STATS));

	if (mac != NULL) {
		struct rte_ether_addr ea;

		if (rte_ether_unformat_addr(mac, &ea) < 0 || rte_is_multicast_ether_addr(&ea)) {
			VNET_LOG(ERR, "%s: mac=%s: expected a unicast xx:xx:xx:xx:xx:xx", dev->name,
				 mac);
			return -EINVAL;
		}
		memcpy(m->mac_orig, ea.addr_bytes, 6);
	} else {
		/* Locally administered, unique per index. */
		m->mac_orig[0] = 0x02;
		m->mac_orig[4] = (uint8_t)(m->index >> 8);
		m->mac_orig[5] = (uint8_t)m->index;
	}
	return 0;
}

static bool cable_between(const struct vnet_model *m, const struct vnet_model *o)
{
	return (o->wire == VNET_WIRE_PAIR && strcmp(o->peer_name, m->dev->name) == 0) ||
	       (m->wire == VNET_WIRE_PAIR && strcmp(m->peer_name, o->dev->name) == 0);
}

/*
 * Connect the two ends of a cable once both exist (either may come first).
 * Checked before anything is linked, so a refused port leaves no half cable.
 */
static int vnet_cable(struct vnet_model *m)
{
	struct vnet_model *o, *found = NULL;

	LIST_FOREACH (o, &vnet_models, next) {
		if (!cable_between(m, o))
			continue;
		if (vnet_wire_host(o)) {
			VNET_LOG(ERR, "%s: cable to %s: that port is wired to interface %s",
				 m->dev->name, o->dev->name, o->host_if);
			return -EINVAL;
		}
		if (found != NULL || o->peer != NULL ||
		    (o->wire == VNET_WIRE_PAIR && strcmp(o->peer_name, m->dev->name) != 0) ||
		    (m->wire == VNET_WIRE_PAIR && strcmp(m->peer_name, o->dev->name) != 0)) {
			VNET_LOG(ERR,
				 "%s: cable to %s: one of the two ports is already cabled "
				 "elsewhere",
				 m->dev->name, o->dev->name);
			return -EINVAL;
		}
		found = o;
	}
	if (found != NULL) {
		m->wire = found->wire = VNET_WIRE_PAIR;
		snprintf(m->peer_name, sizeof(m->peer_name), "%s", found->dev->name);
		snprintf(found->peer_name, sizeof(found->peer_name), "%s", m->dev->name);
		__atomic_store_n(&m->peer, found, __ATOMIC_RELEASE);
		__atomic_store_n(&found->peer, m, __ATOMIC_RELEASE);
		vnet_update_link(found);
	}
	vnet_update_link(m);
	return 0;
}

static void vnet_free(struct vnet_model *m)
{
	uint16_t q;

	if (m->vqs != NULL) {
		for (q = 0; q < m->nvqs; q++) {
			pthread_spin_destroy(&m->vqs[q].lock);
			free(m->vqs[q].bounce);
		}
	}
	free(m->vqs);
	pthread_spin_destroy(&m->filter_lock);
	free(m);
}

static int vnet_create(struct svio_device *dev)
{
	struct vnet_model *m = calloc(1, sizeof(*m));
	uint16_t q;
	int rc;

	if (m == NULL)
		return -ENOMEM;
	pthread_spin_init(&m->filter_lock, PTHREAD_PROCESS_PRIVATE);
	m->dev = dev;
	m->index = sim_dev_index(dev);
	dev->bus_priv = m;
	rc = parse_devargs(m);
	if (rc < 0)
		goto out_free;
	m->nvqs = (uint16_t)(2 * m->max_pairs + 1);
	m->vqs = calloc(m->nvqs, sizeof(*m->vqs));
	if (m->vqs == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (q = 0; q < m->nvqs; q++) {
		pthread_spin_init(&m->vqs[q].lock, PTHREAD_PROCESS_PRIVATE);
		vnet_vq_reset(&m->vqs[q]);
		if (q & 1) {
			m->vqs[q].bounce = malloc(VNET_HDR_LEN + VNET_MAX_FRAME);
			if (m->vqs[q].bounce == NULL) {
				rc = -ENOMEM;
				goto out_free;
			}
		}
	}
	vnet_device_reset(m);
	if (vnet_wire_host(m))
		rc = vnet_host_open(m);
	else
		rc = vnet_cable(m);
	if (rc < 0)
		goto out_free;
	LIST_INSERT_HEAD(&vnet_models, m, next);
	return 0;

out_free:
	dev->bus_priv = NULL;
	vnet_free(m);
	return rc;
}

static void vnet_destroy(struct svio_device *dev)
{
	struct vnet_model *m = vnet_of(dev);
	struct vnet_model *peer;

	if (m == NULL)
		return;
	/* Reset first: it stops the model thread, the last sender on a host wire. */
	vnet_device_reset(m);
	vnet_host_close(m);
	LIST_REMOVE(m, next);
	peer = __atomic_load_n(&m->peer, __ATOMIC_ACQUIRE);
	if (peer != NULL) {
		/* The other end keeps its wire=pair and reconnects if a new port takes the name. */
		__atomic_store_n(&peer->peer, NULL, __ATOMIC_RELEASE);
		vnet_update_link(peer);
	}
	dev->bus_priv = NULL;
	vnet_free(m);
}

int sim_vnet_stats_get(struct svio_device *dev, struct sim_vnet_stats *st)
{
	struct vnet_model *m = vnet_of(dev);
	const uint64_t *src;
	uint64_t *dst = (uint64_t *)st;
	size_t i;

	if (m == NULL)
		return -ENODEV;
	src = (const uint64_t *)&m->stats;
	for (i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	return 0;
}

int sim_vnet_set_link(struct svio_device *dev, bool up)
{
	struct vnet_model *m = vnet_of(dev);

	if (m == NULL)
		return -ENODEV;
	m->link_admin_up = up;
	vnet_update_link(m);
	return 0;
}

int sim_vnet_filter_get(struct svio_device *dev, bool *promisc, bool *allmulti,
			uint16_t *active_pairs)
{
	struct vnet_model *m = vnet_of(dev);

	if (m == NULL)
		return -ENODEV;
	/* A reset writes the filter under the queue locks, commands under the filter's. */
	pthread_spin_lock(&m->vqs[0].lock);
	pthread_spin_lock(&m->filter_lock);
	*promisc = m->promisc;
	*allmulti = m->allmulti;
	pthread_spin_unlock(&m->filter_lock);
	pthread_spin_unlock(&m->vqs[0].lock);
	*active_pairs = __atomic_load_n(&m->active_pairs, __ATOMIC_ACQUIRE);
	return 0;
}

const struct sim_model sim_vnet_model = {
	.prefix = VNET_PREFIX,
	.kind = SVIO_DEV_KIND_NET,
	.devargs = vnet_devargs,
	.dma = true,
	.create = vnet_create,
	.destroy = vnet_destroy,
	.reg_ops = &vnet_reg_ops,
};
