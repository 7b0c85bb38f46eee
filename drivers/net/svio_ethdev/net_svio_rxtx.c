/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data path: svio's own burst functions, handed to ethdev as they are.
 * ethdev's rte_eth_rx_burst() calls fp->rx_burst(rxq, ...) with the queue
 * slot it holds; with svio's queue object in that slot and svio's function
 * in rx_pkt_burst, a burst is one indirect call, as in svio_net_rx_burst().
 */
#include "net_svio_priv.h"

/* svio's burst type is ethdev's: no wrapper is needed, and none may creep in. */
_Static_assert(__builtin_types_compatible_p(svio_net_burst_t, eth_rx_burst_t),
	       "svio rx burst differs from ethdev's");
_Static_assert(__builtin_types_compatible_p(svio_net_burst_t, eth_tx_burst_t),
	       "svio tx burst differs from ethdev's");

void net_svio_burst_attach(struct rte_eth_dev *dev)
{
	const struct svio_net_fp *fp = &svio_net_fp[net_svio_port(dev)->svio_port];
	uint16_t q;

	/* svio_net_start() filled the table; ethdev copies these after dev_start returns. */
	for (q = 0; q < dev->data->nb_rx_queues; q++)
		dev->data->rx_queues[q] = fp->rxq[q];
	for (q = 0; q < dev->data->nb_tx_queues; q++)
		dev->data->tx_queues[q] = fp->txq[q];
	dev->rx_pkt_burst = fp->rx_burst;
	dev->tx_pkt_burst = fp->tx_burst;
}
