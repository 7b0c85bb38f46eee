/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * examples/l2fwd on cabled built-in ports: frames injected at sim_vnet2 reach
 * l2fwd's sim_vnet0, leave its sim_vnet1 with MAC addresses swapped and
 * arrive at sim_vnet3 intact and in order (and the other way round). l2fwd
 * runs on its own thread, as it would on its own core.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "svio_eal.h"
#include "svio_net.h"
#include "l2fwd.h"
#include "net_test_util.h"
#include "svio_test_eal.h"

#define FRAMES 3000
/*
 * Frames in flight at most: fewer than the receiving port's ring holds, so
 * l2fwd's transmit ring never fills and l2fwd never has to drop (it drops on
 * a full ring, as DPDK's l2fwd does), however the two threads are scheduled.
 */
#define WINDOW 256

static struct rte_mempool *fwd_pool, *test_pool;
static struct l2fwd fwd;
static pthread_t fwd_thread;

static uint16_t port_of(const char *name)
{
	uint16_t p = UINT16_MAX;

	assert_int_equal(svio_net_port_by_name(name, &p), 0);
	return p;
}

static void *fwd_main(void *arg)
{
	l2fwd_run(arg);
	return NULL;
}

static void through(const char *in, const char *out)
{
	uint16_t pin = port_of(in), pout = port_of(out);
	struct rte_ether_addr dst = { { 0x02, 0, 0, 0, 0x42, 0x01 } };
	uint32_t sent = 0, next = 0;
	/* A bound in time, not in spins: the forwarding thread may share this
	 * thread's core (EAL's lcore affinity), so spins say nothing of progress. */
	time_t deadline = time(NULL) + 60;

	while (next < FRAMES) {
		struct rte_mbuf *pkts[32];
		uint16_t n = 0, i, done;

		assert_true(time(NULL) < deadline);
		while (n < 32 && sent + n < FRAMES && sent + n - next < WINDOW) {
			pkts[n] =
				test_frame(test_pool, &dst, 0, sent + n, 60 + (sent + n) % 1400, 0);
			assert_non_null(pkts[n]);
			n++;
		}
		done = svio_net_tx_burst(pin, 0, pkts, n);
		for (i = done; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
		sent += done;
		n = svio_net_rx_burst(pout, 0, pkts, 32);
		for (i = 0; i < n; i++) {
			const struct rte_ether_hdr *eh =
				rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
			struct test_payload pl;

			assert_true(test_frame_ok(pkts[i], &pl));
			assert_int_equal(pl.seq, next);
			/* Swapped: the sender's address is now the destination. */
			assert_int_equal(eh->dst_addr.addr_bytes[5], 0xee);
			assert_memory_equal(&eh->src_addr, &dst, sizeof(dst));
			next++;
			rte_pktmbuf_free(pkts[i]);
		}
	}
}

static void test_forward_both_ways(void **state)
{
	(void)state;
	through("sim_vnet2", "sim_vnet3");
	through("sim_vnet3", "sim_vnet2");
	assert_int_equal(__atomic_load_n(&fwd.forwarded[1], __ATOMIC_RELAXED), FRAMES);
	assert_int_equal(__atomic_load_n(&fwd.forwarded[0], __ATOMIC_RELAXED), FRAMES);
	assert_int_equal(test_stale_uses(), 0);
}

static int setup(void **state)
{
	static const char *const opts[] = { "--vdev", "sim_vnet0,wire=pair:sim_vnet2,queues=1",
					    "--vdev", "sim_vnet1,wire=pair:sim_vnet3,queues=1",
					    "--vdev", "sim_vnet2,queues=1",
					    "--vdev", "sim_vnet3,queues=1",
					    NULL };
	uint16_t p;

	(void)state;
	if (svio_test_eal_init_mem(256, opts) < 0)
		return -1;
	fwd_pool = rte_pktmbuf_pool_create("l2fwd_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	test_pool = rte_pktmbuf_pool_create("test_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					    SOCKET_ID_ANY);
	if (fwd_pool == NULL || test_pool == NULL ||
	    svio_net_port_by_name("sim_vnet0", &fwd.port[0]) < 0 ||
	    svio_net_port_by_name("sim_vnet1", &fwd.port[1]) < 0 || l2fwd_setup(&fwd, fwd_pool) < 0)
		return -1;
	for (p = 2; p < 4; p++) {
		char name[16];
		uint16_t port;

		snprintf(name, sizeof(name), "sim_vnet%u", p);
		if (svio_net_port_by_name(name, &port) < 0 ||
		    test_port_setup(port, 1, 512, test_pool) < 0)
			return -1;
	}
	return pthread_create(&fwd_thread, NULL, fwd_main, &fwd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	__atomic_store_n(&fwd.stop, true, __ATOMIC_RELAXED);
	pthread_join(fwd_thread, NULL);
	svio_eal_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forward_both_ways),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
