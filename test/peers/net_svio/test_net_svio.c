/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_svio through DPDK's ethdev API only: a DPDK program that loads
 * librte_net_svio.so with EAL's -d and adds ports with rte_vdev_init().
 *
 *   test_net_svio PLUGIN plugin   svio comes up from the first port's svio= devargs
 *   test_net_svio PLUGIN linked   the program starts svio (svio_eal_init), ports use it
 *   test_net_svio PLUGIN cmdline  as linked, the ports named to svio_eal_init as
 *                                 --vdev net_svioN,dev=... (created once svio is up)
 *
 * Numbered frames with a checksummed payload of varying length go out of
 * one port of a cabled pair and must each arrive exactly once and intact on
 * the other; the port stats and xstats must say the same. Bad devargs fail
 * with one error line and leave nothing behind.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <cmocka.h>

#include "svio_eal.h"

#define SVIO_PAIR  "svio=--vdev sim_vnet0,wire=pair:sim_vnet1 --vdev sim_vnet1 --iommu-flush lazy"
#define NB_FRAMES  20000
#define ETHER_TYPE 0x88b5 /* IEEE local experimental */
#define MAGIC	   0x5e10f00du

static const char *plugin;
static bool linked;  /* the program started svio itself */
static bool cmdline; /* ... with the ports on its command line */
static char *eal[] = { NULL,	      "--no-huge",
		       "-m",	      "256",
		       "--no-shconf", "--no-telemetry",
		       "--no-pci",    "--log-level=*:error",
		       "-d",	      NULL,
		       "--vdev",      "sim_vnet0,wire=pair:sim_vnet1",
		       "--vdev",      "sim_vnet1",
		       NULL,	      NULL,
		       NULL,	      NULL,
		       NULL };
#define EAL_SVIO_ARGC 14 /* eal[] up to the svio devices; cmdline adds its ports there */
static struct rte_mempool *pool;

struct payload_hdr {
	uint32_t magic;
	uint32_t seq;
	uint16_t len;	/* whole frame */
	uint16_t cksum; /* rte_raw_cksum of the data after this header */
} __rte_packed;

/* ---- logs: every rte_log line into a file between begin and end ---- */
static FILE *log_file;

static void log_begin(void)
{
	log_file = tmpfile();
	assert_non_null(log_file);
	rte_openlog_stream(log_file);
}

/* How many lines were logged; the first one containing @p s in *found. */
static int log_lines(const char *s, bool *found)
{
	char line[1024];
	int n = 0;

	fflush(log_file);
	rewind(log_file);
	*found = false;
	while (fgets(line, sizeof(line), log_file) != NULL) {
		n++;
		if (strstr(line, s) != NULL)
			*found = true;
		else
			fprintf(stderr, "  other line: %s", line);
	}
	return n;
}

static void log_end(void)
{
	rte_openlog_stream(NULL);
	fclose(log_file);
	log_file = NULL;
}

/* rte_vdev_init(@p name, @p args) fails with one error line containing @p why. */
static void assert_probe_fails(const char *name, const char *args, const char *why)
{
	bool found;
	int lines;

	log_begin();
	assert_true(rte_vdev_init(name, args) < 0);
	lines = log_lines(why, &found);
	log_end();
	if (!found || lines != 1)
		fail_msg("%s,%s: %d lines, '%s' %s", name, args, lines, why,
			 found ? "found" : "missing");
}

static uint16_t port_of(const char *name)
{
	uint16_t port;

	assert_int_equal(rte_eth_dev_get_port_by_name(name, &port), 0);
	return port;
}

static void port_up(uint16_t port)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_link link;

	assert_int_equal(rte_eth_dev_configure(port, 1, 1, &conf), 0);
	assert_int_equal(rte_eth_rx_queue_setup(port, 0, 512, SOCKET_ID_ANY, NULL, pool), 0);
	assert_int_equal(rte_eth_tx_queue_setup(port, 0, 512, SOCKET_ID_ANY, NULL), 0);
	assert_int_equal(rte_eth_dev_start(port), 0);
	assert_int_equal(rte_eth_link_get_nowait(port, &link), 0);
	assert_int_equal(link.link_status, RTE_ETH_LINK_UP);
}

static uint16_t frame_len(uint32_t seq)
{
	return (uint16_t)(60 + (seq * 37u) % (RTE_ETHER_MAX_LEN - RTE_ETHER_CRC_LEN - 60 + 1));
}

static struct rte_mbuf *make_frame(uint16_t from, uint16_t to, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint16_t len = frame_len(seq), i;
	struct rte_ether_hdr *eh;
	struct payload_hdr *ph;
	uint8_t *data;

	assert_non_null(m);
	eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	assert_non_null(eh);
	assert_int_equal(rte_eth_macaddr_get(to, &eh->dst_addr), 0);
	assert_int_equal(rte_eth_macaddr_get(from, &eh->src_addr), 0);
	eh->ether_type = rte_cpu_to_be_16(ETHER_TYPE);
	ph = (struct payload_hdr *)(eh + 1);
	data = (uint8_t *)(ph + 1);
	ph->magic = MAGIC;
	ph->seq = seq;
	ph->len = len;
	for (i = 0; i < len - sizeof(*eh) - sizeof(*ph); i++)
		data[i] = (uint8_t)(seq * 131u + i * 7u);
	ph->cksum = rte_raw_cksum(data, len - sizeof(*eh) - sizeof(*ph));
	return m;
}

struct rx_ledger {
	uint8_t *seen;
	uint32_t received, dup, bad;
	uint64_t bytes;
};

static void check_frame(struct rx_ledger *l, struct rte_mbuf *m, uint32_t nb)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct payload_hdr *ph = (const struct payload_hdr *)(eh + 1);
	const uint8_t *data = (const uint8_t *)(ph + 1);

	l->received++;
	l->bytes += m->pkt_len;
	if (m->nb_segs != 1 || m->pkt_len < sizeof(*eh) + sizeof(*ph) || ph->magic != MAGIC ||
	    ph->seq >= nb || ph->len != m->pkt_len || ph->len != frame_len(ph->seq) ||
	    rte_raw_cksum(data, ph->len - sizeof(*eh) - sizeof(*ph)) != ph->cksum) {
		l->bad++;
		return;
	}
	if (l->seen[ph->seq]++)
		l->dup++;
}

static void drain(uint16_t port, struct rx_ledger *l, uint32_t nb)
{
	struct rte_mbuf *pkts[32];
	uint16_t n, i;

	while ((n = rte_eth_rx_burst(port, 0, pkts, RTE_DIM(pkts))) > 0) {
		for (i = 0; i < n; i++) {
			check_frame(l, pkts[i], nb);
			rte_pktmbuf_free(pkts[i]);
		}
	}
}

static uint64_t xstat(uint16_t port, const char *name)
{
	uint64_t id, v;

	if (rte_eth_xstats_get_id_by_name(port, name, &id) != 0)
		fail_msg("port %u has no xstat %s", port, name);
	assert_int_equal(rte_eth_xstats_get_by_id(port, &id, &v, 1), 1);
	return v;
}

/* Every frame out of @p from arrives once and intact at @p to; stats and xstats agree. */
static void send_and_verify(uint16_t from, uint16_t to, uint32_t nb)
{
	struct rx_ledger l = { .seen = calloc(nb, 1) };
	struct rte_eth_stats tx_st, rx_st;
	uint64_t sent_bytes = 0, deadline;
	struct rte_mbuf *pkts[32];
	uint32_t seq = 0, i;

	assert_non_null(l.seen);
	assert_int_equal(rte_eth_stats_reset(from), 0);
	assert_int_equal(rte_eth_stats_reset(to), 0);
	while (seq < nb) {
		uint16_t n = (uint16_t)RTE_MIN(RTE_DIM(pkts), nb - seq), sent, k;

		for (k = 0; k < n; k++)
			pkts[k] = make_frame(from, to, seq + k);
		sent = rte_eth_tx_burst(from, 0, pkts, n);
		for (k = sent; k < n; k++)
			rte_pktmbuf_free(pkts[k]); /* ring full: sent again under the same number */
		for (k = 0; k < sent; k++)
			sent_bytes += frame_len(seq + k);
		seq += sent;
		drain(to, &l, nb);
	}
	deadline = rte_get_timer_cycles() + 5 * rte_get_timer_hz();
	while (l.received < nb && rte_get_timer_cycles() < deadline) {
		rte_eth_tx_burst(from, 0, pkts, 0); /* lets the transmit side make progress */
		drain(to, &l, nb);
	}
	for (i = 0; i < nb && l.seen[i] == 1; i++)
		;
	if (l.received != nb || l.dup || l.bad || i != nb)
		fail_msg("%u of %u frames received, %u duplicates, %u damaged, first missing %u",
			 l.received, nb, l.dup, l.bad, i);
	free(l.seen);

	assert_int_equal(rte_eth_stats_get(from, &tx_st), 0);
	assert_int_equal(rte_eth_stats_get(to, &rx_st), 0);
	assert_int_equal(tx_st.opackets, nb);
	assert_int_equal(tx_st.obytes, sent_bytes);
	assert_int_equal(rx_st.ipackets, nb);
	assert_int_equal(rx_st.ibytes, l.bytes);
	assert_int_equal(rx_st.imissed + rx_st.ierrors + rx_st.rx_nombuf, 0);
	assert_int_equal(rx_st.q_ipackets[0], nb);
	assert_int_equal(tx_st.oerrors, 0);
	assert_int_equal(xstat(from, "tx_good_packets"), tx_st.opackets);
	assert_int_equal(xstat(from, "tx_q0_packets"), tx_st.opackets);
	assert_int_equal(xstat(from, "tx_q0_bytes"), tx_st.obytes);
	assert_int_equal(xstat(to, "rx_good_packets"), rx_st.ipackets);
	assert_int_equal(xstat(to, "rx_q0_packets"), rx_st.ipackets);
	assert_int_equal(xstat(to, "rx_q0_bytes"), rx_st.ibytes);
	assert_int_equal(xstat(to, "rx_q0_errors"), 0);
	assert_int_equal(rte_eth_xstats_reset(to), 0);
	assert_int_equal(xstat(to, "rx_q0_packets"), 0);
}

static void test_bad_devargs(void **state)
{
	(void)state;
	assert_probe_fails("net_svio0", "", "no dev=");
	assert_probe_fails("net_svio0", "colour=red", "bad devargs 'colour=red'");
	assert_probe_fails("net_svio0", "svio=--vdev sim_vnet0,dev=sim_vnet0", "put it last");
	assert_probe_fails("net_svio0", "dev=sim_vnet0,dev=sim_vnet1", "dev= twice");
	if (!linked) {
		assert_probe_fails("net_svio0", "dev=sim_vnet0", "svio is not running");
		assert_probe_fails("net_svio0", "dev=sim_vnet0,svio=", "svio= is empty");
		assert_probe_fails("net_svio0", "dev=sim_vnet0,svio=--vdev sim_vnet0 --no-huge",
				   "--no-huge is not a svio option");
		assert_probe_fails("net_svio0", "dev=sim_vnet0,svio=--iommu-flush sometimes",
				   "--iommu-flush sometimes");
		assert_probe_fails("net_svio0", "dev=sim_vnet9,svio=--vdev sim_vnet0",
				   "dev=sim_vnet9: svio has no network port of that name (it has: "
				   "sim_vnet0)");
		assert_null(svio_eal_config());
	} else {
		assert_probe_fails("net_svio0", "dev=sim_vnet0,svio=--vdev sim_vnet0",
				   "svio was started by the application");
		assert_probe_fails("net_svio0", "dev=sim_vnet9", "dev=sim_vnet9");
		assert_non_null(svio_eal_config());
	}
	assert_int_equal(rte_eth_dev_count_avail(), 0);
}

static void test_two_ports(void **state)
{
	(void)state;
	assert_int_equal(
		rte_vdev_init("net_svio0", linked ? "dev=sim_vnet0" : "dev=sim_vnet0," SVIO_PAIR),
		0);
	/* Later ports may repeat the options, or leave them out. */
	assert_int_equal(
		rte_vdev_init("net_svio1", linked ? "dev=sim_vnet1" : "dev=sim_vnet1," SVIO_PAIR),
		0);
	assert_int_equal(rte_eth_dev_count_avail(), 2);
	assert_non_null(svio_eal_config());
	assert_probe_fails("net_svio2", "dev=sim_vnet0", "dev=sim_vnet0 is already the device");
	if (!linked)
		assert_probe_fails("net_svio2", "dev=sim_vnet1,svio=--vdev sim_vnet1",
				   "differs from the options svio runs with");
	port_up(port_of("net_svio0"));
	port_up(port_of("net_svio1"));
}

static void test_integrity(void **state)
{
	uint16_t p0 = port_of("net_svio0"), p1 = port_of("net_svio1");

	(void)state;
	send_and_verify(p0, p1, NB_FRAMES);
	send_and_verify(p1, p0, NB_FRAMES / 4);
}

/* The control path through ethdev: MAC, filters, link, stop/start, reconfigure. */
static void test_control(void **state)
{
	struct rte_ether_addr mac = { { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x42 } }, got;
	struct rte_eth_conf conf = { 0 };
	uint16_t p0 = port_of("net_svio0"), p1 = port_of("net_svio1");
	struct rte_eth_dev_info info;
	struct rte_eth_link link;

	(void)state;
	assert_int_equal(rte_eth_dev_info_get(p0, &info), 0);
	assert_string_equal(info.driver_name, "net_svio");
	assert_true(info.max_rx_queues >= 1);
	assert_int_equal(info.max_mac_addrs, 1);

	assert_int_equal(rte_eth_dev_default_mac_addr_set(p1, &mac), 0);
	assert_int_equal(rte_eth_macaddr_get(p1, &got), 0);
	assert_true(rte_is_same_ether_addr(&mac, &got));
	assert_int_equal(rte_eth_promiscuous_enable(p1), 0);
	assert_int_equal(rte_eth_promiscuous_get(p1), 1);
	assert_int_equal(rte_eth_promiscuous_disable(p1), 0);
	assert_int_equal(rte_eth_promiscuous_get(p1), 0);
	assert_int_equal(rte_eth_allmulticast_enable(p1), 0);
	assert_int_equal(rte_eth_allmulticast_get(p1), 1);
	/* Frames to the new address still arrive (filters replayed by the device). */
	send_and_verify(p0, p1, 500);

	assert_int_equal(rte_eth_dev_stop(p1), 0);
	assert_int_equal(rte_eth_link_get_nowait(p1, &link), 0);
	assert_int_equal(link.link_status, RTE_ETH_LINK_DOWN);
	/* Accepted while stopped; ethdev sends it again at start. */
	mac.addr_bytes[5] = 0x43;
	assert_int_equal(rte_eth_dev_default_mac_addr_set(p1, &mac), 0);
	/* Queues set up again: ethdev releases each one first. */
	assert_int_equal(rte_eth_dev_configure(p1, 1, 1, &conf), 0);
	assert_int_equal(rte_eth_rx_queue_setup(p1, 0, 256, SOCKET_ID_ANY, NULL, pool), 0);
	assert_int_equal(rte_eth_tx_queue_setup(p1, 0, 256, SOCKET_ID_ANY, NULL), 0);
	assert_int_equal(rte_eth_dev_start(p1), 0);
	assert_int_equal(rte_eth_macaddr_get(p1, &got), 0);
	assert_true(rte_is_same_ether_addr(&mac, &got));
	assert_int_equal(rte_eth_allmulticast_get(p1), 1);
	send_and_verify(p0, p1, 2000);
	send_and_verify(p1, p0, 2000);
}

/* The last port to close takes svio down when its devargs brought it up. */
static void test_close(void **state)
{
	uint16_t p0 = port_of("net_svio0"), p1 = port_of("net_svio1");

	(void)state;
	assert_int_equal(rte_eth_dev_stop(p0), 0);
	assert_int_equal(rte_eth_dev_close(p0), 0);
	assert_non_null(svio_eal_config());
	assert_int_equal(rte_vdev_uninit("net_svio1"), 0); /* stops and closes */
	assert_int_equal(rte_eth_dev_count_avail(), 0);
	if (linked)
		assert_non_null(svio_eal_config());
	else
		assert_null(svio_eal_config());
	assert_int_equal(rte_vdev_uninit("net_svio0"), 0);
	(void)p1;
}

static void create_pool(void)
{
	pool = rte_pktmbuf_pool_create("net_svio_test", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	assert_non_null(pool);
}

/* svio_eal_init with "--vdev net_svio0,dev=@p dev0 --vdev net_svio1,dev=sim_vnet1". */
static int init_with_ports(const char *dev0)
{
	static char port0[64];

	snprintf(port0, sizeof(port0), "net_svio0,dev=%s", dev0);
	eal[EAL_SVIO_ARGC] = "--vdev";
	eal[EAL_SVIO_ARGC + 1] = port0;
	eal[EAL_SVIO_ARGC + 2] = "--vdev";
	eal[EAL_SVIO_ARGC + 3] = "net_svio1,dev=sim_vnet1";
	return svio_eal_init(EAL_SVIO_ARGC + 4, eal);
}

/* A port svio cannot back fails svio_eal_init, naming it, and leaves nothing up. */
static void test_cmdline_bad_port(void **state)
{
	bool found_port, found_eal;

	(void)state;
	log_begin();
	assert_true(init_with_ports("sim_vnet9") < 0);
	(void)log_lines("dev=sim_vnet9: svio has no network port of that name", &found_port);
	(void)log_lines("--vdev net_svio0,dev=sim_vnet9: DPDK could not create this device",
			&found_eal);
	log_end();
	assert_true(found_port);
	assert_true(found_eal);
	assert_null(svio_eal_config());
	assert_int_equal(rte_eth_dev_count_avail(), 0);
}

/* Probed by svio_eal_init once svio is up: DPDK's own probe would have found it down. */
static void test_cmdline_ports(void **state)
{
	(void)state;
	assert_true(init_with_ports("sim_vnet0") >= 0);
	assert_non_null(svio_eal_config());
	assert_int_equal(rte_eth_dev_count_avail(), 2);
	create_pool();
	port_up(port_of("net_svio0"));
	port_up(port_of("net_svio1"));
}

/* svio_eal_cleanup removes the ports it created before svio goes down. */
static void test_cmdline_cleanup(void **state)
{
	(void)state;
	assert_int_equal(rte_eth_dev_count_avail(), 2);
	assert_int_equal(svio_eal_cleanup(), 0);
	assert_null(svio_eal_config());
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_devargs), cmocka_unit_test(test_two_ports),
		cmocka_unit_test(test_integrity),   cmocka_unit_test(test_control),
		cmocka_unit_test(test_close),
	};
	const struct CMUnitTest cmdline_tests[] = {
		cmocka_unit_test(test_cmdline_bad_port), cmocka_unit_test(test_cmdline_ports),
		cmocka_unit_test(test_integrity),	 cmocka_unit_test(test_control),
		cmocka_unit_test(test_cmdline_cleanup),
	};
	int rc, eal_argc;

	if (argc != 3 || (strcmp(argv[2], "plugin") != 0 && strcmp(argv[2], "linked") != 0 &&
			  strcmp(argv[2], "cmdline") != 0)) {
		fprintf(stderr, "usage: %s PATH/librte_net_svio.so plugin|linked|cmdline\n",
			argv[0]);
		return 2;
	}
	plugin = argv[1];
	cmdline = strcmp(argv[2], "cmdline") == 0;
	linked = cmdline || strcmp(argv[2], "linked") == 0;
	eal[0] = argv[0];
	eal[9] = (char *)(uintptr_t)plugin;
	if (cmdline)
		return cmocka_run_group_tests_name("net_svio, ports named to svio_eal_init",
						   cmdline_tests, NULL, NULL);
	eal_argc = linked ? EAL_SVIO_ARGC : 10; /* plugin: no svio devices on the command line */
	rc = linked ? svio_eal_init(eal_argc, eal) : rte_eal_init(eal_argc, eal);
	if (rc < 0) {
		fprintf(stderr, "%s failed\n", linked ? "svio_eal_init" : "rte_eal_init");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("net_svio_test", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "no mbuf pool\n");
		return 1;
	}
	rc = cmocka_run_group_tests_name(linked ? "net_svio, svio started by the program"
						: "net_svio, svio started from devargs",
					 tests, NULL, NULL);
	if (linked)
		svio_eal_cleanup();
	else
		rte_eal_cleanup();
	return rc;
}
