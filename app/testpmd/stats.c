/* SPDX-License-Identifier: BSD-3-Clause */
/* Port statistics in testpmd's layout, or as JSON. */
#include <inttypes.h>
#include <string.h>

#include "svio_eal.h"
#include "svio_iommu.h"
#include "testpmd.h"

void tp_stats_snapshot(uint16_t nb_ports, struct tp_stream *streams, unsigned int n_streams,
		       struct tp_port_totals *tot)
{
	unsigned int i;
	uint16_t p;

	memset(tot, 0, sizeof(*tot) * nb_ports);
	for (p = 0; p < nb_ports; p++) {
		struct svio_net_stats st;

		if (svio_net_stats_get(p, &st) < 0)
			continue;
		tot[p].rx_packets = st.ipackets;
		tot[p].tx_packets = st.opackets;
		tot[p].rx_bytes = st.ibytes;
		tot[p].tx_bytes = st.obytes;
		tot[p].rx_dropped = st.imissed + st.rx_nombuf;
		tot[p].rx_errors = st.ierrors;
		tot[p].tx_dropped = st.oerrors;
	}
	/* Frames the port would not take are dropped by the forwarding stream (testpmd's way). */
	for (i = 0; i < n_streams; i++)
		tot[streams[i].tx_port].tx_dropped +=
			__atomic_load_n(&streams[i].fwd_dropped, __ATOMIC_RELAXED);
}

static void block(FILE *f, const char *title, const struct tp_port_totals *t, char c)
{
	char line[80];

	memset(line, c, 76);
	line[76] = '\0';
	fprintf(f, "\n  %.*s %s %.*s\n", 15, line, title, (int)(58 - strlen(title)), line);
	fprintf(f,
		"  RX-packets: %-14" PRIu64 " RX-dropped: %-14" PRIu64 " RX-total: %" PRIu64 "\n",
		t->rx_packets, t->rx_dropped, t->rx_packets + t->rx_dropped);
	fprintf(f,
		"  TX-packets: %-14" PRIu64 " TX-dropped: %-14" PRIu64 " TX-total: %" PRIu64 "\n",
		t->tx_packets, t->tx_dropped, t->tx_packets + t->tx_dropped);
	fprintf(f, "  %s\n", line);
}

void tp_stats_print(FILE *f, uint16_t nb_ports, const struct tp_port_totals *tot)
{
	struct tp_port_totals all = { 0 };
	char title[64];
	uint16_t p;

	for (p = 0; p < nb_ports; p++) {
		snprintf(title, sizeof(title), "Forward statistics for port %u ", p);
		block(f, title, &tot[p], '-');
		all.rx_packets += tot[p].rx_packets;
		all.tx_packets += tot[p].tx_packets;
		all.rx_dropped += tot[p].rx_dropped;
		all.tx_dropped += tot[p].tx_dropped;
	}
	block(f, "Accumulated forward statistics for all ports", &all, '+');
	fflush(f);
}

/* "rx_desc": [N, ...]: the ring size of each of the port's queues. */
static void ring_sizes_json(FILE *f, uint16_t port, bool tx)
{
	uint16_t q, nq = tx ? tp_cfg.txq : tp_cfg.rxq;

	fprintf(f, ", \"%s_desc\": [", tx ? "tx" : "rx");
	for (q = 0; q < nq; q++) {
		struct svio_net_queue_info qi = { 0 };

		if (tx)
			svio_net_tx_queue_info_get(port, q, &qi);
		else
			svio_net_rx_queue_info_get(port, q, &qi);
		fprintf(f, "%s%u", q ? ", " : "", qi.nb_desc);
	}
	fprintf(f, "]");
}

void tp_stats_json(FILE *f, uint16_t nb_ports, const struct tp_port_totals *tot, double secs,
		   const char *mode)
{
	struct svio_iommu_stats ist;
	uint64_t fwd = 0;
	uint16_t p;

	fprintf(f, "{\"forward_mode\": \"%s\", \"run_time_s\": %.3f, \"ports\": [", mode, secs);
	for (p = 0; p < nb_ports; p++) {
		fprintf(f,
			"%s{\"port\": %u, \"name\": \"%s\", \"rx_packets\": %" PRIu64
			", \"tx_packets\": %" PRIu64 ", \"rx_dropped\": %" PRIu64
			", \"tx_dropped\": %" PRIu64 ", \"rx_bytes\": %" PRIu64
			", \"tx_bytes\": %" PRIu64 ", \"rx_errors\": %" PRIu64,
			p ? ", " : "", p, svio_net_port_name(p), tot[p].rx_packets,
			tot[p].tx_packets, tot[p].rx_dropped, tot[p].tx_dropped, tot[p].rx_bytes,
			tot[p].tx_bytes, tot[p].rx_errors);
		ring_sizes_json(f, p, false);
		ring_sizes_json(f, p, true);
		fprintf(f, "}");
		fwd += strcmp(mode, "rxonly") == 0 ? tot[p].rx_packets : tot[p].tx_packets;
	}
	fprintf(f, "], \"forwarded_packets\": %" PRIu64 ", \"mpps\": %.3f", fwd,
		secs > 0 ? (double)fwd / secs / 1e6 : 0.0);
	if (svio_iommu_stats_get(svio_domain_default(), &ist) == 0) {
		fprintf(f, ", \"iommu\": ");
		svio_iommu_stats_json(&ist, f);
	}
	fprintf(f, "}\n");
	fflush(f);
}
