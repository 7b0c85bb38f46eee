/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eth_dev_ops over svio_net.h. ethdev checks port and queue ids, the port's
 * state (configure and queue setup only while stopped, close only after
 * stop) and replays the MAC, promiscuous and all-multicast settings after
 * every start; svio checks the rest and logs what it refuses.
 */
#include <errno.h>
#include <string.h>

#include "net_svio_priv.h"

/* virtio-net feature bit: the device may chain receive buffers (virtio 1.x, 5.1.3). */
#define VIRTIO_NET_F_MRG_RXBUF_BIT 15

static int net_svio_configure(struct rte_eth_dev *dev)
{
	const struct rte_eth_conf *conf = &dev->data->dev_conf;

	if (conf->rxmode.mq_mode != RTE_ETH_MQ_RX_NONE &&
	    conf->rxmode.mq_mode != RTE_ETH_MQ_RX_RSS) {
		NET_SVIO_LOG(ERR, "%s: rx multi-queue mode %d is not supported (none or RSS)",
			     dev->data->name, conf->rxmode.mq_mode);
		return -ENOTSUP;
	}
	return svio_net_configure(net_svio_port(dev)->svio_port, dev->data->nb_rx_queues,
				  dev->data->nb_tx_queues);
}

static int net_svio_infos_get(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct svio_net_info si;
	int rc;

	rc = svio_net_info_get(net_svio_port(dev)->svio_port, &si);
	if (rc < 0)
		return rc;
	info->max_rx_queues = si.max_rx_queues;
	info->max_tx_queues = si.max_tx_queues;
	info->max_mac_addrs = 1;
	info->max_rx_pktlen = si.max_rx_pktlen;
	info->min_rx_bufsize = 64; /* data room past the headroom: svio's minimum */
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = (uint16_t)(si.max_rx_pktlen - RTE_ETHER_HDR_LEN);
	/* Ring sizes must also be powers of two (svio says so when one is not). */
	info->rx_desc_lim = (struct rte_eth_desc_lim){ .nb_max = si.max_desc,
						       .nb_min = si.min_desc,
						       .nb_align = 1 };
	info->tx_desc_lim = info->rx_desc_lim;
	info->default_rxportconf.ring_size = RTE_MIN(si.max_desc, 1024);
	info->default_txportconf.ring_size = RTE_MIN(si.max_desc, 1024);
	info->default_rxportconf.burst_size = 32;
	info->default_txportconf.burst_size = 32;
	info->default_rxportconf.nb_queues = 1;
	info->default_txportconf.nb_queues = 1;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if (si.features & (1ULL << VIRTIO_NET_F_MRG_RXBUF_BIT))
		info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER;
	return 0;
}

static int net_svio_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
				   unsigned int socket, const struct rte_eth_rxconf *conf,
				   struct rte_mempool *mp)
{
	struct net_svio_port *np = net_svio_port(dev);
	int rc;

	(void)conf;
	rc = svio_net_rx_queue_setup(np->svio_port, qid, nb_desc, (int)socket, mp);
	if (rc == 0)
		dev->data->rx_queues[qid] = &np->rxq_set_up[qid];
	return rc;
}

static int net_svio_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc,
				   unsigned int socket, const struct rte_eth_txconf *conf)
{
	struct net_svio_port *np = net_svio_port(dev);
	int rc;

	(void)conf;
	rc = svio_net_tx_queue_setup(np->svio_port, qid, nb_desc, (int)socket);
	if (rc == 0)
		dev->data->tx_queues[qid] = &np->txq_set_up[qid];
	return rc;
}

/* ethdev forgets the queue whatever happens: say so when svio could not free it. */
static void net_svio_rx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	int rc = svio_net_rx_queue_release(net_svio_port(dev)->svio_port, qid);

	if (rc < 0)
		NET_SVIO_LOG(ERR, "%s: rx queue %u not freed: %s", dev->data->name, qid,
			     strerror(-rc));
}

static void net_svio_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	int rc = svio_net_tx_queue_release(net_svio_port(dev)->svio_port, qid);

	if (rc < 0)
		NET_SVIO_LOG(ERR, "%s: tx queue %u not freed: %s", dev->data->name, qid,
			     strerror(-rc));
}

static int net_svio_start(struct rte_eth_dev *dev)
{
	int rc = svio_net_start(net_svio_port(dev)->svio_port);

	if (rc < 0)
		return rc;
	net_svio_burst_attach(dev);
	return 0;
}

static int net_svio_link_update(struct rte_eth_dev *dev, int wait_to_complete)
{
	struct rte_eth_link link = { 0 };
	struct svio_net_link sl;
	int rc;

	(void)wait_to_complete; /* the state is read from the device at once */
	rc = svio_net_link_get(net_svio_port(dev)->svio_port, &sl);
	if (rc < 0)
		return rc;
	link.link_status = sl.up ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
	link.link_speed = sl.up ? sl.speed_mbps : RTE_ETH_SPEED_NUM_NONE;
	link.link_duplex = sl.full_duplex ? RTE_ETH_LINK_FULL_DUPLEX : RTE_ETH_LINK_HALF_DUPLEX;
	link.link_autoneg = RTE_ETH_LINK_FIXED;
	return rte_eth_linkstatus_set(dev, &link);
}

static int net_svio_stop(struct rte_eth_dev *dev)
{
	int rc = svio_net_stop(net_svio_port(dev)->svio_port);

	(void)net_svio_link_update(dev, 0); /* svio reports a stopped port's link down */
	return rc;
}

static int net_svio_close(struct rte_eth_dev *dev)
{
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	net_svio_port_release(dev);
	return 0;
}

/*
 * Control commands need a started port (svio: -EAGAIN). ethdev sends the
 * MAC and the receive modes again after each start, so a stopped port just
 * accepts them; what the device cannot do (-ENOTSUP) or refuses is said at once.
 */
static int stopped_ok(const struct rte_eth_dev *dev, int rc)
{
	return rc == -EAGAIN && !dev->data->dev_started ? 0 : rc;
}

static int net_svio_mac_addr_set(struct rte_eth_dev *dev, struct rte_ether_addr *mac)
{
	return stopped_ok(dev, svio_net_macaddr_set(net_svio_port(dev)->svio_port, mac));
}

static int net_svio_promiscuous_enable(struct rte_eth_dev *dev)
{
	return stopped_ok(dev, svio_net_promiscuous_set(net_svio_port(dev)->svio_port, true));
}

static int net_svio_promiscuous_disable(struct rte_eth_dev *dev)
{
	return stopped_ok(dev, svio_net_promiscuous_set(net_svio_port(dev)->svio_port, false));
}

static int net_svio_allmulticast_enable(struct rte_eth_dev *dev)
{
	return stopped_ok(dev, svio_net_allmulticast_set(net_svio_port(dev)->svio_port, true));
}

static int net_svio_allmulticast_disable(struct rte_eth_dev *dev)
{
	return stopped_ok(dev, svio_net_allmulticast_set(net_svio_port(dev)->svio_port, false));
}

const struct eth_dev_ops net_svio_ops = {
	.dev_configure = net_svio_configure,
	.dev_infos_get = net_svio_infos_get,
	.rx_queue_setup = net_svio_rx_queue_setup,
	.tx_queue_setup = net_svio_tx_queue_setup,
	.rx_queue_release = net_svio_rx_queue_release,
	.tx_queue_release = net_svio_tx_queue_release,
	.dev_start = net_svio_start,
	.dev_stop = net_svio_stop,
	.dev_close = net_svio_close,
	.link_update = net_svio_link_update,
	.mac_addr_set = net_svio_mac_addr_set,
	.promiscuous_enable = net_svio_promiscuous_enable,
	.promiscuous_disable = net_svio_promiscuous_disable,
	.allmulticast_enable = net_svio_allmulticast_enable,
	.allmulticast_disable = net_svio_allmulticast_disable,
	.stats_get = net_svio_stats_get,
	.stats_reset = net_svio_stats_reset,
	.xstats_get = net_svio_xstats_get,
	.xstats_get_names = net_svio_xstats_get_names,
};
