/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Statistics: svio's port counters as ethdev's basic stats, svio's per-queue
 * counters as the driver's xstats (ethdev puts its basic ones first and does
 * not repeat per-queue ones: RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS stays off, so
 * the names svio gives, rx_q0_packets..., appear once).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net_svio_priv.h"

int net_svio_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct svio_net_stats s;
	unsigned int q;
	int rc;

	rc = svio_net_stats_get(net_svio_port(dev)->svio_port, &s);
	if (rc < 0)
		return rc;
	st->ipackets = s.ipackets;
	st->opackets = s.opackets;
	st->ibytes = s.ibytes;
	st->obytes = s.obytes;
	st->imissed = s.imissed;
	st->ierrors = s.ierrors;
	st->oerrors = s.oerrors;
	st->rx_nombuf = s.rx_nombuf;
	for (q = 0; q < (unsigned int)RTE_MIN(RTE_ETHDEV_QUEUE_STAT_CNTRS, SVIO_NET_MAX_QUEUES);
	     q++) {
		st->q_ipackets[q] = s.q_ipackets[q];
		st->q_opackets[q] = s.q_opackets[q];
		st->q_ibytes[q] = s.q_ibytes[q];
		st->q_obytes[q] = s.q_obytes[q];
	}
	return 0;
}

int net_svio_stats_reset(struct rte_eth_dev *dev)
{
	return svio_net_stats_reset(net_svio_port(dev)->svio_port);
}

/* ethdev's and svio's xstat records are two types: copied, never cast. */
int net_svio_xstats_get_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names,
			      unsigned int size)
{
	uint16_t port = net_svio_port(dev)->svio_port;
	struct svio_net_xstat_name *sn;
	int count, i;

	count = svio_net_xstats_get_names(port, NULL, 0);
	if (count < 0 || names == NULL || size < (unsigned int)count)
		return count;
	sn = calloc((size_t)count + 1, sizeof(*sn));
	if (sn == NULL)
		return -ENOMEM;
	count = svio_net_xstats_get_names(port, sn, (unsigned int)count);
	for (i = 0; i < count && (unsigned int)i < size; i++)
		snprintf(names[i].name, sizeof(names[i].name), "%s", sn[i].name);
	free(sn);
	return count;
}

int net_svio_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int n)
{
	uint16_t port = net_svio_port(dev)->svio_port;
	struct svio_net_xstat *sx;
	int count, i;

	count = svio_net_xstats_get(port, NULL, 0);
	if (count < 0 || xs == NULL || n < (unsigned int)count)
		return count;
	sx = calloc((size_t)count + 1, sizeof(*sx));
	if (sx == NULL)
		return -ENOMEM;
	count = svio_net_xstats_get(port, sx, (unsigned int)count);
	for (i = 0; i < count && (unsigned int)i < n; i++) {
		xs[i].id = sx[i].id;
		xs[i].value = sx[i].value;
	}
	free(sx);
	return count;
}
