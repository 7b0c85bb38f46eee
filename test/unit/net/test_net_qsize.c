/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Queues of different sizes on one port (QEMU's rx_queue_size=1024 with
 * transmit queues left at 256): the driver takes each queue's own limit,
 * defaults to it, refuses a count past it naming it, and frames cross rings
 * of four different sizes intact, every one received or counted as dropped,
 * without a used-ring element straddling a page (what QEMU 7.2 mis-writes).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_log.h>
#include <rte_mbuf.h>

#include "svio_dev.h"
#include "svio_test_eal.h"
#include "svio_net.h"
#include "sim_vnet.h"
#include "net_test_util.h"

#define NQ 2

static struct rte_mempool *pool;
static uint16_t big_rx, small_rx; /* sim_vnet0: rx 1024 / tx 256; sim_vnet1: rx 256 / tx 128 */
static FILE *log_file;

static bool log_has(const char *s)
{
	char buf[8192];
	size_t n;

	fflush(log_file);
	rewind(log_file);
	n = fread(buf, 1, sizeof(buf) - 1, log_file);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

static struct sim_vnet_stats model_stats(uint16_t port)
{
	struct sim_vnet_stats st;

	assert_int_equal(sim_vnet_stats_get(svio_dev_find(svio_net_port_name(port)), &st), 0);
	return st;
}

static void expect_limits(uint16_t port, uint16_t rx_max, uint16_t tx_max)
{
	struct svio_net_queue_info qi;
	uint16_t q;

	for (q = 0; q < NQ; q++) {
		assert_int_equal(svio_net_rx_queue_info_get(port, q, &qi), 0);
		assert_int_equal(qi.max_desc, rx_max);
		assert_int_equal(svio_net_tx_queue_info_get(port, q, &qi), 0);
		assert_int_equal(qi.max_desc, tx_max);
	}
}

static void test_queue_limits(void **state)
{
	struct svio_net_queue_info qi;
	struct svio_net_info info;

	(void)state;
	expect_limits(big_rx, 1024, 256);
	expect_limits(small_rx, 256, 128);
	/* The port-wide figure is one every queue takes. */
	assert_int_equal(svio_net_info_get(big_rx, &info), 0);
	assert_int_equal(info.max_desc, 256);
	assert_int_equal(svio_net_rx_queue_info_get(big_rx, NQ, &qi), -EINVAL);
	assert_int_equal(svio_net_tx_queue_info_get(SVIO_NET_MAX_PORTS, 0, &qi), -ENODEV);

	/* A count past a queue's own limit is refused, and the log names that limit. */
	assert_int_equal(svio_net_configure(big_rx, NQ, NQ), 0);
	assert_int_equal(svio_net_tx_queue_setup(big_rx, 1, 512, SOCKET_ID_ANY), -EINVAL);
	assert_true(log_has("sim_vnet0: tx queue 1: 512 descriptors: the device's queue takes "
			    "at most 256"));
	assert_int_equal(svio_net_rx_queue_setup(big_rx, 0, 2048, SOCKET_ID_ANY, pool), -EINVAL);
	assert_true(log_has("rx queue 0: 2048 descriptors: the device's queue takes at most 1024"));
	/* Up to it is fine: the receive queue is not held to the transmit queue's 256. */
	assert_int_equal(svio_net_rx_queue_setup(big_rx, 0, 1024, SOCKET_ID_ANY, pool), 0);
	assert_int_equal(svio_net_rx_queue_info_get(big_rx, 0, &qi), 0);
	assert_int_equal(qi.nb_desc, 1024);
}

/* Default sizes (0): each queue gets its own limit (at most 1024), and the ports start. */
static void setup_default(uint16_t port, uint16_t rx_want, uint16_t tx_want)
{
	struct svio_net_queue_info qi;
	uint16_t q;

	assert_int_equal(svio_net_configure(port, NQ, NQ), 0);
	for (q = 0; q < NQ; q++) {
		assert_int_equal(svio_net_rx_queue_setup(port, q, 0, SOCKET_ID_ANY, pool), 0);
		assert_int_equal(svio_net_tx_queue_setup(port, q, 0, SOCKET_ID_ANY), 0);
		assert_int_equal(svio_net_rx_queue_info_get(port, q, &qi), 0);
		assert_int_equal(qi.nb_desc, rx_want);
		assert_int_equal(svio_net_tx_queue_info_get(port, q, &qi), 0);
		assert_int_equal(qi.nb_desc, tx_want);
	}
	assert_int_equal(svio_net_start(port), 0);
}

struct tally {
	uint64_t sent, received, bad;
	uint32_t next_seq[NQ]; /* lowest sequence number still to come on each queue */
};

/* Receive what queue @p q holds: every frame intact, on its own queue, in order. */
static void drain(uint16_t port, uint16_t q, struct tally *t)
{
	struct rte_mbuf *pkts[32];
	uint16_t n, i;

	while ((n = svio_net_rx_burst(port, q, pkts, RTE_DIM(pkts))) > 0) {
		for (i = 0; i < n; i++) {
			struct test_payload pl;

			if (!test_frame_ok(pkts[i], &pl) || pl.queue != q ||
			    pl.seq < t->next_seq[q])
				t->bad++;
			else
				t->next_seq[q] = pl.seq + 1;
			t->received++;
		}
		rte_pktmbuf_free_bulk(pkts, n);
	}
}

/*
 * Send @p frames per queue from @p tx to @p rx, receiving only every
 * @p rx_every rounds (1: keep up). Returns the tally after the last frame.
 */
static struct tally run(uint16_t tx, uint16_t rx, uint32_t frames, unsigned int rx_every)
{
	struct tally t = { 0 };
	uint32_t sent[NQ] = { 0 }, round = 0, spins = 0;
	struct rte_ether_addr dst;
	uint16_t q;

	assert_int_equal(svio_net_macaddr_get(rx, &dst), 0);
	while (sent[0] < frames || sent[1] < frames) {
		assert_true(++spins < 1000000); /* progress, not timing */
		for (q = 0; q < NQ; q++) {
			struct rte_mbuf *pkts[32];
			uint16_t n = 0, done;

			while (n < RTE_DIM(pkts) && sent[q] + n < frames) {
				uint32_t seq = sent[q] + n;

				pkts[n] = test_frame(pool, &dst, q, seq, 60 + (seq * 7919u) % 1455,
						     seq % 3 == 0 ? 256 : 0);
				assert_non_null(pkts[n]);
				n++;
			}
			done = svio_net_tx_burst(tx, q, pkts, n);
			rte_pktmbuf_free_bulk(pkts + done, n - done); /* rebuilt next round */
			sent[q] += done;
		}
		if (++round % rx_every == 0)
			for (q = 0; q < NQ; q++)
				drain(rx, q, &t);
	}
	t.sent = (uint64_t)sent[0] + sent[1];
	/* Inline mode: the doorbell moved every frame; what is left sits in rx rings. */
	for (q = 0; q < NQ; q++)
		drain(rx, q, &t);
	return t;
}

static void test_default_sizes_integrity(void **state)
{
	struct sim_vnet_stats tx0, rx0, tx1, rx1;
	struct svio_net_stats st0, st1;
	struct tally t;

	(void)state;
	setup_default(big_rx, 1024, 256);
	setup_default(small_rx, 256, 128);

	/* 128-entry transmit rings into 1024-entry receive rings, lossless (rx_full=wait). */
	t = run(small_rx, big_rx, 5000, 1);
	assert_int_equal(t.received, 2 * 5000);
	assert_int_equal(t.bad, 0);
	assert_int_equal(t.next_seq[0], 5000);
	assert_int_equal(t.next_seq[1], 5000);

	/*
	 * 256-entry transmit rings into 256-entry receive rings that drop when full,
	 * drained only every 16 rounds: sent = received + the device's drop count.
	 */
	assert_int_equal(svio_net_stats_get(big_rx, &st0), 0);
	tx0 = model_stats(big_rx);
	rx0 = model_stats(small_rx);
	t = run(big_rx, small_rx, 20000, 16);
	tx1 = model_stats(big_rx);
	rx1 = model_stats(small_rx);
	assert_int_equal(svio_net_stats_get(big_rx, &st1), 0);
	assert_int_equal(t.sent, 2 * 20000);
	assert_int_equal(st1.opackets - st0.opackets, t.sent); /* all left the sender's rings */
	assert_int_equal(t.bad, 0);
	assert_true(rx1.rx_no_buffer > rx0.rx_no_buffer); /* the drop path was taken */
	assert_int_equal(t.received + (rx1.rx_no_buffer - rx0.rx_no_buffer), t.sent);
	assert_int_equal(rx1.rx_frames - rx0.rx_frames, t.received);
	/* The model counts as transmitted what it delivered. */
	assert_int_equal(tx1.tx_frames - tx0.tx_frames, t.received);
	assert_int_equal(svio_net_stats_get(small_rx, &st1), 0);
	assert_int_equal(st1.ierrors, 0);
	assert_int_equal(test_stale_uses(), 0);
	/*
	 * No used-ring element crossed a page: QEMU 7.2 behind a vIOMMU loses the
	 * len of such an element, and the driver its frame (one in 512 on a
	 * 1024-entry ring whose used ring sat on a 64-byte boundary).
	 */
	assert_int_equal(tx1.used_straddles + rx1.used_straddles, 0);
}

static int setup(void **state)
{
	static const char *const extra[] = {
		"--vdev",
		"sim_vnet0,wire=pair:sim_vnet1,queues=2,rx_queue_size=1024,tx_queue_size=256",
		"--vdev",
		"sim_vnet1,queues=2,rx_queue_size=256,tx_queue_size=128,rx_full=drop",
		NULL,
	};

	(void)state;
	if (svio_test_eal_init_mem(256, extra) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("qsize", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	log_file = tmpfile();
	if (pool == NULL || log_file == NULL || svio_net_port_by_name("sim_vnet0", &big_rx) < 0 ||
	    svio_net_port_by_name("sim_vnet1", &small_rx) < 0)
		return -1;
	rte_openlog_stream(log_file);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rte_openlog_stream(NULL);
	svio_eal_cleanup();
	fclose(log_file);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_limits),
		cmocka_unit_test(test_default_sizes_integrity),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
