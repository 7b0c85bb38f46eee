/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_svio: a DPDK ethdev vdev driver over svio's virtio-net ports. One
 * ethdev port per svio port ("net_svio0,dev=sim_vnet0"); svio itself comes up
 * from the first port's svio= devargs (svio_eal_attach) unless the
 * application started it (svio_eal_init), and goes down with the last port
 * it came up for.
 *
 * Files: net_svio_probe.c (devargs, probe/remove, svio's lifetime),
 * net_svio_ops.c (the eth_dev_ops), net_svio_rxtx.c (the burst functions
 * handed to ethdev), net_svio_stats.c (stats and xstats).
 * Threading: as ethdev's (control path on one thread; bursts per queue).
 */
#ifndef NET_SVIO_PRIV_H
#define NET_SVIO_PRIV_H

#include <stdint.h>

#include <ethdev_driver.h>
#include <rte_log.h>

#include "svio_net.h"

extern int net_svio_logtype;
#define NET_SVIO_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, net_svio_logtype, "net_svio: " fmt "\n", ##__VA_ARGS__)

/* dev->data->dev_private */
struct net_svio_port {
	uint16_t svio_port;		   /**< svio_net port number behind this ethdev port */
	char svio_name[SVIO_NET_NAME_MAX]; /**< its svio device name (dev=) */
	/* Before start, ethdev's queue slots point here: set up, not yet svio's objects. */
	uint8_t rxq_set_up[SVIO_NET_MAX_QUEUES];
	uint8_t txq_set_up[SVIO_NET_MAX_QUEUES];
};

static inline struct net_svio_port *net_svio_port(const struct rte_eth_dev *dev)
{
	return dev->data->dev_private;
}

extern const struct eth_dev_ops net_svio_ops;

/** Hand ethdev svio's burst functions and queue objects (port started). */
void net_svio_burst_attach(struct rte_eth_dev *dev);

int net_svio_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st);
int net_svio_stats_reset(struct rte_eth_dev *dev);
int net_svio_xstats_get_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names,
			      unsigned int size);
int net_svio_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int n);

/** The port's close: gives back its claim on the svio port and on svio itself. */
void net_svio_port_release(struct rte_eth_dev *dev);

#endif /* NET_SVIO_PRIV_H */
