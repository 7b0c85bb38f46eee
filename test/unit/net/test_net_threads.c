/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Concurrency: a sending thread and a receiving thread on the two ends of a
 * cable, while the main thread reads statistics. Once with the model's own
 * thread moving frames (mode=thread), once inline (the sender's doorbell
 * moves frames into the receiver's ring, the receiver's refill doorbell pulls
 * what waited). Every frame must arrive intact and in order per queue.
 * Another thread reads statistics too, which asks the device for its
 * counters over the control queue, while the main thread sends control
 * commands (all-multicast on and off) on the same port.
 * Runs under ThreadSanitizer too (suite 'concurrency').
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "svio_eal.h"
#include "svio_iommu.h"
#include "svio_net.h"
#include "sim_vnet.h"
#include "net_test_util.h"
#include "svio_test_eal.h"

#define NQ     2
#define FRAMES 4000 /* per queue */

struct side {
	uint16_t port, peer;
	struct rte_mempool *pool;
	int failed; /* atomic: first bad frame's seq + 1 */
	uint64_t done;
};

static void *tx_main(void *arg)
{
	struct side *s = arg;
	uint32_t sent[NQ] = { 0 };
	struct rte_ether_addr dst;
	uint64_t total = 0;
	uint16_t q;

	svio_net_macaddr_get(s->peer, &dst);
	while (total < (uint64_t)NQ * FRAMES) {
		for (q = 0; q < NQ; q++) {
			struct rte_mbuf *pkts[32];
			uint16_t n = 0, i, done;

			while (n < 32 && sent[q] + n < FRAMES) {
				uint32_t seq = sent[q] + n;

				pkts[n] = test_frame(s->pool, &dst, q, seq, 60 + seq * 29 % 3000,
						     seq % 3 == 0 ? 500 : 0);
				if (pkts[n] == NULL)
					break;
				n++;
			}
			done = svio_net_tx_burst(s->port, q, pkts, n);
			for (i = done; i < n; i++)
				rte_pktmbuf_free(pkts[i]);
			sent[q] += done;
			total += done;
		}
	}
	s->done = total;
	return NULL;
}

static void *rx_main(void *arg)
{
	struct side *s = arg;
	uint32_t next[NQ] = { 0 };
	uint64_t total = 0;
	uint16_t q;

	while (total < (uint64_t)NQ * FRAMES && !__atomic_load_n(&s->failed, __ATOMIC_RELAXED)) {
		for (q = 0; q < NQ; q++) {
			struct rte_mbuf *pkts[32];
			uint16_t n = svio_net_rx_burst(s->port, q, pkts, 32), i;

			for (i = 0; i < n; i++) {
				struct test_payload pl;

				if (!test_frame_ok(pkts[i], &pl) || pl.queue != q ||
				    pl.seq != next[q])
					__atomic_store_n(&s->failed, (int)next[q] + 1,
							 __ATOMIC_RELAXED);
				next[q]++;
				total++;
				rte_pktmbuf_free(pkts[i]);
			}
		}
	}
	s->done = total;
	return NULL;
}

struct stats_reader {
	uint16_t port;
	int stop;   /* atomic */
	int failed; /* set before stop is seen */
};

static void *stats_main(void *arg)
{
	struct stats_reader *r = arg;
	struct svio_net_stats st;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		if (svio_net_stats_get(r->port, &st) < 0)
			r->failed = 1;
		sched_yield();
	}
	return NULL;
}

static void run_pair(const char *a, const char *b)
{
	struct stats_reader reader = { 0 };
	pthread_t tst;
	struct side tx = { 0 }, rx = { 0 };
	pthread_t ttx, trx;
	struct svio_net_stats st;
	char name[32];
	unsigned int polls = 0;

	assert_int_equal(svio_net_port_by_name(a, &tx.port), 0);
	assert_int_equal(svio_net_port_by_name(b, &rx.port), 0);
	tx.peer = rx.port;
	snprintf(name, sizeof(name), "tx_%s", a);
	tx.pool =
		rte_pktmbuf_pool_create(name, 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	snprintf(name, sizeof(name), "rx_%s", b);
	rx.pool =
		rte_pktmbuf_pool_create(name, 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	assert_non_null(tx.pool);
	assert_non_null(rx.pool);
	/* The sender's own receive queues and the receiver's need buffers too. */
	assert_int_equal(test_port_setup(tx.port, NQ, 256, tx.pool), 0);
	assert_int_equal(test_port_setup(rx.port, NQ, 256, rx.pool), 0);

	reader.port = rx.port;
	assert_int_equal(pthread_create(&trx, NULL, rx_main, &rx), 0);
	assert_int_equal(pthread_create(&ttx, NULL, tx_main, &tx), 0);
	assert_int_equal(pthread_create(&tst, NULL, stats_main, &reader), 0);
	/* Statistics may be read while the queues run, and beside the control path. */
	while (__atomic_load_n(&rx.failed, __ATOMIC_RELAXED) == 0 && polls++ < 100000) {
		assert_int_equal(svio_net_stats_get(rx.port, &st), 0);
		if (st.ipackets == (uint64_t)NQ * FRAMES)
			break;
		if (polls % 16 == 0)
			assert_int_equal(svio_net_allmulticast_set(rx.port, polls % 32 == 0), 0);
		sched_yield();
	}
	pthread_join(ttx, NULL);
	pthread_join(trx, NULL);
	__atomic_store_n(&reader.stop, 1, __ATOMIC_RELEASE);
	pthread_join(tst, NULL);
	assert_int_equal(reader.failed, 0);
	assert_int_equal(rx.failed, 0);
	assert_int_equal(rx.done, (uint64_t)NQ * FRAMES);
	assert_int_equal(svio_net_stats_get(rx.port, &st), 0);
	assert_int_equal(st.ipackets, (uint64_t)NQ * FRAMES);
	assert_int_equal(test_stale_uses(), 0);
	assert_int_equal(svio_net_stop(tx.port), 0);
	assert_int_equal(svio_net_stop(rx.port), 0);
}

static void test_thread_mode(void **state)
{
	(void)state;
	run_pair("sim_vnet0", "sim_vnet1");
}

static void test_inline_two_threads(void **state)
{
	(void)state;
	run_pair("sim_vnet2", "sim_vnet3");
}

static int setup(void **state)
{
	static const char *const opts[] = {
		"--vdev", "sim_vnet0,wire=pair:sim_vnet1,mode=thread,queues=2",
		"--vdev", "sim_vnet1,mode=thread,queues=2",
		"--vdev", "sim_vnet2,wire=pair:sim_vnet3,queues=2",
		"--vdev", "sim_vnet3,queues=2",
		NULL
	};

	(void)state;
	return svio_test_eal_init_mem(256, opts) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	svio_eal_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_mode),
		cmocka_unit_test(test_inline_two_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
