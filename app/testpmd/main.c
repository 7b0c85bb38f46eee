/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio-testpmd: forward frames between svio network ports the way DPDK's
 * testpmd does, and report port statistics in its layout (or JSON).
 *
 *   svio-testpmd --no-huge -m 512 --vdev sim_vnet0,wire=pair:sim_vnet1 \
 *       --vdev sim_vnet1 -l 0-1 -- --forward-mode=io --tx-first --run-time=5
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "svio_eal.h"
#include "testpmd.h"

struct tp_config tp_cfg;
volatile bool tp_stop;
/* A signal, whenever it came: setup does not forget one that arrived before forwarding. */
static volatile bool tp_signalled;

static struct tp_stream streams[TP_MAX_STREAMS];
static unsigned int n_streams;
static struct tp_lcore fwd_lcores[RTE_MAX_LCORE];
static unsigned int n_fwd_lcores;
static const struct tp_engine *engine;
static uint64_t deadline; /* timer cycles; 0: none */
static uint16_t nb_ports;

/* Forwarding state, main lcore only (the prompt runs there too). */
static bool fwd_running;
static uint64_t fwd_start;			     /* timer cycles */
static double fwd_start_wall;			     /* tp_elapsed() */
static struct tp_port_totals fwd_base[TP_MAX_PORTS]; /* counters at start: stop shows the run */

static void on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&tp_signalled, true, __ATOMIC_RELAXED);
	__atomic_store_n(&tp_stop, true, __ATOMIC_RELAXED);
}

/*
 * Without SA_RESTART: the prompt's blocking read returns, and the prompt leaves.
 * Installed first thing: a shell starts a background job with SIGINT ignored,
 * so one sent while EAL and the ports are set up would be lost, and the run
 * would go on to its --run-time.
 */
static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static bool should_stop(void)
{
	return __atomic_load_n(&tp_stop, __ATOMIC_RELAXED) ||
	       (deadline != 0 && rte_get_timer_cycles() >= deadline);
}

static void stream_tx(struct tp_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = svio_net_tx_burst(s->tx_port, s->tx_queue, pkts, n);

	if (unlikely(sent < n)) {
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
		__atomic_store_n(&s->fwd_dropped, s->fwd_dropped + (n - sent), __ATOMIC_RELAXED);
	}
	__atomic_store_n(&s->tx_packets, s->tx_packets + sent, __ATOMIC_RELAXED);
}

static void txonly_burst(struct tp_stream *s)
{
	struct rte_mbuf *pkts[TP_MAX_BURST];
	uint16_t n;

	for (n = 0; n < tp_cfg.burst; n++) {
		pkts[n] = tp_txonly_frame(s);
		if (pkts[n] == NULL)
			break;
	}
	if (n > 0)
		stream_tx(s, pkts, n);
}

static int fwd_loop(void *arg)
{
	struct tp_lcore *lc = arg;
	bool main_lcore = rte_lcore_id() == rte_get_main_lcore();
	unsigned int iter = 0, i;

	while (!__atomic_load_n(&tp_stop, __ATOMIC_RELAXED)) {
		__atomic_store_n(&lc->loops, lc->loops + 1, __ATOMIC_RELAXED);
		for (i = 0; i < lc->n_streams; i++) {
			struct tp_stream *s = lc->streams[i];
			struct rte_mbuf *pkts[TP_MAX_BURST];
			uint16_t n;

			if (!engine->rx) {
				txonly_burst(s);
				continue;
			}
			n = svio_net_rx_burst(s->rx_port, s->rx_queue, pkts, tp_cfg.burst);
			if (n == 0)
				continue;
			__atomic_store_n(&s->rx_packets, s->rx_packets + n, __ATOMIC_RELAXED);
			n = engine->fwd(s, pkts, n);
			if (engine->tx && n > 0)
				stream_tx(s, pkts, n);
		}
		/* Forwarding on the main lcore: it also keeps the clock. */
		if (main_lcore && (++iter & 1023) == 0 && should_stop())
			break;
	}
	__atomic_store_n(&lc->runs, lc->runs + 1, __ATOMIC_RELEASE);
	return 0;
}

/* Every queue's ring size, checked before anything is set up; @return their sum, 0 if refused. */
static unsigned int ring_descs(uint16_t nb_ports)
{
	unsigned int sum = 0, n;
	uint16_t p, q;

	for (p = 0; p < nb_ports; p++) {
		struct svio_net_info info;

		if (svio_net_info_get(p, &info) == 0 &&
		    RTE_MAX(tp_cfg.rxq, tp_cfg.txq) > info.max_rx_queues) {
			fprintf(stderr, "--rxq=%u --txq=%u: port %u (%s) has %u queue pairs\n",
				tp_cfg.rxq, tp_cfg.txq, p, info.name, info.max_rx_queues);
			return 0;
		}
		for (q = 0; q < tp_cfg.rxq + tp_cfg.txq; q++) {
			bool tx = q >= tp_cfg.rxq;

			n = tp_queue_descs(p, (uint16_t)(tx ? q - tp_cfg.rxq : q), tx);
			if (n == 0)
				return 0;
			sum += n;
		}
	}
	return sum;
}

static int setup_ports(uint16_t nb_ports, struct rte_mempool *mp)
{
	uint16_t p, q;
	int rc;

	for (p = 0; p < nb_ports; p++) {
		rc = svio_net_configure(p, tp_cfg.rxq, tp_cfg.txq);
		for (q = 0; rc == 0 && q < tp_cfg.rxq; q++)
			rc = svio_net_rx_queue_setup(p, q, tp_queue_descs(p, q, false),
						     SOCKET_ID_ANY, mp);
		for (q = 0; rc == 0 && q < tp_cfg.txq; q++)
			rc = svio_net_tx_queue_setup(p, q, tp_queue_descs(p, q, true),
						     SOCKET_ID_ANY);
		if (rc == 0)
			rc = svio_net_start(p);
		if (rc < 0) {
			fprintf(stderr, "port %u (%s): setup failed: %s\n", p,
				svio_net_port_name(p), strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* testpmd's paired topology: 0<->1, 2<->3; an odd last port talks to itself. */
static void build_streams(uint16_t nb_ports, struct rte_mempool *mp)
{
	unsigned int lcore, k = 0, i;
	uint16_t p, q;

	for (p = 0; p < nb_ports; p++) {
		uint16_t peer = (p ^ 1) < nb_ports ? (uint16_t)(p ^ 1) : p;
		uint16_t nq = engine->rx ? tp_cfg.rxq : tp_cfg.txq;

		for (q = 0; q < nq; q++) {
			struct tp_stream *s = &streams[n_streams++];

			memset(s, 0, sizeof(*s));
			s->rx_port = p;
			s->rx_queue = q;
			s->tx_port = peer;
			s->tx_queue = (uint16_t)(q % tp_cfg.txq);
			s->pool = mp;
		}
	}
	/* Forwarding lcores: workers if there are any, else the main lcore. */
	RTE_LCORE_FOREACH_WORKER (lcore) {
		if (n_fwd_lcores == tp_cfg.nb_cores)
			break;
		fwd_lcores[n_fwd_lcores++].lcore_id = lcore;
	}
	if (n_fwd_lcores == 0)
		fwd_lcores[n_fwd_lcores++].lcore_id = rte_get_main_lcore();
	for (i = 0; i < n_streams; i++) {
		struct tp_lcore *lc = &fwd_lcores[k++ % n_fwd_lcores];

		lc->streams[lc->n_streams++] = &streams[i];
	}
}

void tp_show_port_stats(void)
{
	static uint64_t last_rx[TP_MAX_PORTS], last_tx[TP_MAX_PORTS], last;
	struct tp_port_totals tot[TP_MAX_PORTS];
	/* The first show measures from the start of forwarding. */
	uint64_t now = rte_get_timer_cycles(), since = last != 0 ? last : fwd_start;
	double secs =
		since != 0 && now > since ? (double)(now - since) / (double)rte_get_timer_hz() : 0;
	uint16_t p;

	tp_stats_snapshot(nb_ports, streams, n_streams, tot);
	for (p = 0; p < nb_ports; p++) {
		printf("\n  ######################## NIC statistics for port %-2u "
		       "########################\n"
		       "  RX-packets: %-10" PRIu64 " RX-missed: %-10" PRIu64 " RX-bytes: %" PRIu64
		       "\n  RX-errors: %" PRIu64 "\n  TX-packets: %-10" PRIu64
		       " TX-errors: %-10" PRIu64 " TX-bytes: %" PRIu64
		       "\n\n  Throughput (since last show)\n  Rx-pps: %12.0f\n  Tx-pps: %12.0f\n"
		       "  "
		       "###########################################################################"
		       "#\n",
		       p, tot[p].rx_packets, tot[p].rx_dropped, tot[p].rx_bytes, tot[p].rx_errors,
		       tot[p].tx_packets, tot[p].tx_dropped, tot[p].tx_bytes,
		       secs > 0 ? (double)(tot[p].rx_packets - last_rx[p]) / secs : 0.0,
		       secs > 0 ? (double)(tot[p].tx_packets - last_tx[p]) / secs : 0.0);
		last_rx[p] = tot[p].rx_packets;
		last_tx[p] = tot[p].tx_packets;
	}
	last = now;
	fflush(stdout);
}

int tp_fwd_start(bool tx_first)
{
	unsigned int i;

	if (fwd_running)
		return -EALREADY;
	__atomic_store_n(&tp_stop, __atomic_load_n(&tp_signalled, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	tp_stats_snapshot(nb_ports, streams, n_streams, fwd_base);
	if (!tp_cfg.json) {
		printf("%s packet forwarding - ports=%u - cores=%u - streams=%u\n", engine->name,
		       nb_ports, n_fwd_lcores, n_streams);
		fflush(stdout);
	}
	if (tx_first) {
		for (i = 0; i < n_streams; i++)
			txonly_burst(&streams[i]);
	}
	fwd_start_wall = tp_elapsed();
	/* Release: the watchdog thread reads the streams once it sees a start. */
	__atomic_store_n(&fwd_start, rte_get_timer_cycles(), __ATOMIC_RELEASE);
	deadline = tp_cfg.run_time > 0 && !tp_cfg.interactive
			   ? fwd_start + (uint64_t)(tp_cfg.run_time * (double)rte_get_timer_hz())
			   : 0;
	for (i = 0; i < n_fwd_lcores; i++) {
		if (fwd_lcores[i].lcore_id != rte_get_main_lcore())
			rte_eal_remote_launch(fwd_loop, &fwd_lcores[i], fwd_lcores[i].lcore_id);
	}
	fwd_running = true;
	return 0;
}

int tp_fwd_stop(void)
{
	struct tp_port_totals tot[TP_MAX_PORTS];
	uint64_t fwd = 0;
	double secs;
	uint16_t p;

	if (!fwd_running)
		return -EALREADY;
	tp_stage_set("stopping forwarding (waiting for the forwarding lcores)");
	__atomic_store_n(&tp_stop, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	/*
	 * EAL's wait is the real barrier; this acquire of what each lcore released
	 * on leaving says the same in code a thread sanitizer sees (EAL is not built
	 * with one), so the stop's frees are not reported against the loops' reads.
	 */
	for (unsigned int i = 0; i < n_fwd_lcores; i++)
		(void)__atomic_load_n(&fwd_lcores[i].runs, __ATOMIC_ACQUIRE);
	tp_stage_set("reading port statistics");
	fwd_running = false;
	secs = (double)(rte_get_timer_cycles() - fwd_start) / (double)rte_get_timer_hz();

	/* What this run did: the counters now less those at start. */
	tp_stats_snapshot(nb_ports, streams, n_streams, tot);
	for (p = 0; p < nb_ports; p++) {
		tot[p].rx_packets -= fwd_base[p].rx_packets;
		tot[p].tx_packets -= fwd_base[p].tx_packets;
		tot[p].rx_dropped -= fwd_base[p].rx_dropped;
		tot[p].tx_dropped -= fwd_base[p].tx_dropped;
		tot[p].rx_bytes -= fwd_base[p].rx_bytes;
		tot[p].tx_bytes -= fwd_base[p].tx_bytes;
		tot[p].rx_errors -= fwd_base[p].rx_errors;
	}
	if (tp_cfg.json) {
		tp_stats_json(stdout, nb_ports, tot, secs, engine->name);
		fflush(stdout); /* out before the ports stop, which may be what hangs */
		return 0;
	}
	printf("Telling cores to stop...\nWaiting for lcores to finish...\n");
	tp_stats_print(stdout, nb_ports, tot);
	for (p = 0; p < nb_ports; p++)
		fwd += tot[p].tx_packets;
	printf("\nDone. %.3f s, %.3f Mpps forwarded\n", secs,
	       secs > 0 ? (double)fwd / secs / 1e6 : 0.0);
	fflush(stdout);
	return 0;
}

void tp_report_stuck(FILE *f)
{
	uint64_t loops[RTE_MAX_LCORE], start = __atomic_load_n(&fwd_start, __ATOMIC_ACQUIRE);
	unsigned int i;

	if (start == 0) {
		fprintf(f, "svio-testpmd: forwarding had not started\n");
		return;
	}
	for (i = 0; i < n_streams; i++) {
		const struct tp_stream *s = &streams[i];

		fprintf(f,
			"svio-testpmd: stream %u (port %u rxq %u -> port %u txq %u): "
			"rx_packets %" PRIu64 " tx_packets %" PRIu64 " fwd_dropped %" PRIu64 "\n",
			i, s->rx_port, s->rx_queue, s->tx_port, s->tx_queue,
			__atomic_load_n(&s->rx_packets, __ATOMIC_RELAXED),
			__atomic_load_n(&s->tx_packets, __ATOMIC_RELAXED),
			__atomic_load_n(&s->fwd_dropped, __ATOMIC_RELAXED));
	}
	/* A loop that still turns missed its stop; one that does not is inside a call. */
	for (i = 0; i < n_fwd_lcores; i++)
		loops[i] = __atomic_load_n(&fwd_lcores[i].loops, __ATOMIC_RELAXED);
	rte_delay_us_sleep(100000);
	for (i = 0; i < n_fwd_lcores; i++) {
		uint64_t now = __atomic_load_n(&fwd_lcores[i].loops, __ATOMIC_RELAXED);

		fprintf(f, "svio-testpmd: lcore %u: %" PRIu64 " passes, %s\n",
			fwd_lcores[i].lcore_id, now,
			now != loops[i] ? "still turning in 0.1 s (its stop did not come)"
					: "none in 0.1 s (stuck in a call, or stopped)");
	}
	/* The deadline is kept in timer cycles: a wrong frequency shows here. */
	fprintf(f,
		"svio-testpmd: since forwarding started: %.1f s of wall clock, %.1f s by the "
		"timer (%" PRIu64 " Hz); --run-time %.1f s; signal %s\n",
		tp_elapsed() - fwd_start_wall,
		(double)(rte_get_timer_cycles() - start) / (double)rte_get_timer_hz(),
		rte_get_timer_hz(), tp_cfg.run_time,
		__atomic_load_n(&tp_signalled, __ATOMIC_RELAXED) ? "received" : "none");
}

/* Without -i: forward until --run-time or a signal, then report. */
static void run_batch(void)
{
	uint64_t hz = rte_get_timer_hz(), last_print;

	tp_fwd_start(tp_cfg.tx_first);
	tp_stage_set("forwarding (the --run-time deadline or a signal ends it)");
	last_print = rte_get_timer_cycles();
	if (fwd_lcores[0].lcore_id == rte_get_main_lcore()) {
		fwd_loop(&fwd_lcores[0]);
	} else {
		while (!should_stop()) {
			rte_delay_us_sleep(10000);
			if (tp_cfg.stats_period > 0 && !tp_cfg.json &&
			    rte_get_timer_cycles() - last_print >= tp_cfg.stats_period * hz) {
				tp_show_port_stats();
				last_print = rte_get_timer_cycles();
			}
		}
	}
	tp_fwd_stop();
}

int main(int argc, char **argv)
{
	struct rte_mempool *mp = NULL;
	unsigned int nb_mbufs, cache, descs;
	uint16_t p;
	int ret, rc = EXIT_FAILURE;

	tp_watchdog_init();
	catch_signals();
	tp_stage_set("initialising EAL");
	ret = svio_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "svio_eal_init failed: %s\n", strerror(-ret));
		return EXIT_FAILURE;
	}
	argc -= ret;
	argv += ret;
	ret = tp_parse_args(argc, argv, &tp_cfg);
	if (ret != 0) {
		rc = ret > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
		goto out_cleanup;
	}
	if (tp_cfg.time_limit == 0 && tp_cfg.run_time > 0 && !tp_cfg.interactive)
		tp_cfg.time_limit = tp_cfg.run_time + TP_STOP_GRACE_S;
	if (tp_watchdog_start(tp_cfg.time_limit) < 0)
		goto out_cleanup;
	tp_stage_set("setting up the ports");
	engine = tp_engine_find(tp_cfg.mode);
	nb_ports = svio_net_count();
	if (nb_ports == 0) {
		fprintf(stderr, "no network ports: add e.g. --vdev sim_vnet0,wire=pair:sim_vnet1 "
				"--vdev sim_vnet1\n");
		goto out_cleanup;
	}
	if (tp_cfg.interactive && rte_lcore_count() < 2) {
		fprintf(stderr, "-i: the prompt takes the main lcore; give forwarding a worker "
				"(e.g. -l 0-1)\n");
		goto out_cleanup;
	}
	descs = ring_descs(nb_ports);
	if (descs == 0)
		goto out_cleanup;
	nb_mbufs = tp_cfg.total_mbufs;
	if (nb_mbufs == 0)
		nb_mbufs = RTE_MAX(descs + nb_ports * (unsigned int)tp_cfg.burst * TP_MAX_SEGS * 4 +
					   rte_lcore_count() * 512u,
				   8192u);
	cache = RTE_MIN(256u, nb_mbufs / (rte_lcore_count() * 4));
	mp = rte_pktmbuf_pool_create("tp_mbuf_pool", nb_mbufs, cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	if (mp == NULL) {
		fprintf(stderr, "cannot create a pool of %u mbufs (raise -m)\n", nb_mbufs);
		goto out_cleanup;
	}
	if (setup_ports(nb_ports, mp) < 0)
		goto out_ports;
	build_streams(nb_ports, mp);

	if (!tp_cfg.interactive) {
		run_batch();
	} else {
		if (tp_cfg.auto_start)
			tp_fwd_start(tp_cfg.tx_first);
		tp_stage_set("at the prompt");
		tp_prompt();
	}
	rc = EXIT_SUCCESS;
out_ports:
	tp_stage_set("stopping the ports (transmit drains, device resets)");
	for (p = 0; p < nb_ports; p++)
		svio_net_stop(p);
out_cleanup:
	tp_stage_set("releasing EAL and the devices");
	svio_eal_cleanup();
	/* Pools live in EAL memory: released with it. */
	(void)mp;
	return rc;
}
