/* SPDX-License-Identifier: BSD-3-Clause */
/* The forwarding loop: receive a burst, swap addresses, send it out of the other port. */
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "svio_net.h"
#include "l2fwd.h"

int l2fwd_setup(struct l2fwd *f, struct rte_mempool *mp)
{
	unsigned int i;
	int rc;

	for (i = 0; i < 2; i++) {
		rc = svio_net_configure(f->port[i], 1, 1);
		if (rc == 0)
			rc = svio_net_rx_queue_setup(f->port[i], 0, 0, SOCKET_ID_ANY, mp);
		if (rc == 0)
			rc = svio_net_tx_queue_setup(f->port[i], 0, 0, SOCKET_ID_ANY);
		if (rc == 0)
			rc = svio_net_start(f->port[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void swap_macs(struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
		struct rte_ether_addr t = eh->src_addr;

		eh->src_addr = eh->dst_addr;
		eh->dst_addr = t;
	}
}

void l2fwd_run(struct l2fwd *f)
{
	struct rte_mbuf *pkts[64];
	uint16_t burst = f->burst == 0 || f->burst > 64 ? 32 : f->burst;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		unsigned int i;

		for (i = 0; i < 2; i++) {
			uint16_t n = svio_net_rx_burst(f->port[i], 0, pkts, burst), sent;

			if (n == 0)
				continue;
			swap_macs(pkts, n);
			sent = svio_net_tx_burst(f->port[!i], 0, pkts, n);
			if (sent < n) {
				rte_pktmbuf_free_bulk(pkts + sent, n - sent);
				__atomic_store_n(&f->dropped[!i], f->dropped[!i] + (n - sent),
						 __ATOMIC_RELAXED);
			}
			__atomic_store_n(&f->forwarded[!i], f->forwarded[!i] + sent,
					 __ATOMIC_RELAXED);
		}
	}
}
