/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver's two ways of giving the device addresses:
 *   nosva  --sva off: rings and pool memory mapped through the domain at IOVAs
 *          that are not process addresses; everything must be translated;
 *   nopri  SVA on, but the device cannot send page requests: memory is mapped
 *          (IOVA = VA) up front instead of faulted in.
 * Frames must arrive intact, no stale translation may be used, and what the
 * driver mapped is unmapped when its queues go away -- but not while another
 * port's queues still post buffers of the same pool (sim_vnet2, a loop), also
 * while that port runs on another thread (suite 'concurrency').
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

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_iommu.h"
#include "svio_net.h"
#include "sim_vnet.h"
#include "net_test_util.h"
#include "svio_test_eal.h"

static bool sva_off;
static struct rte_mempool *pool, *pool2;
static uint16_t p0, p1, p2;

/* Send @p frames frames on @p nq queues from p0 to p1 and check them. */
static void exchange(uint16_t nq, uint32_t frames, uint32_t max_len, uint32_t seg)
{
	uint32_t sent[SVIO_NET_MAX_QUEUES] = { 0 }, next[SVIO_NET_MAX_QUEUES] = { 0 };
	uint64_t received = 0, spins = 0;
	struct rte_ether_addr dst;
	uint16_t q;

	assert_int_equal(svio_net_macaddr_get(p1, &dst), 0);
	while (received < (uint64_t)frames * nq) {
		assert_true(++spins < 1000000);
		for (q = 0; q < nq; q++) {
			struct rte_mbuf *pkts[32];
			uint16_t n = 0, i, done;

			while (n < 32 && sent[q] + n < frames) {
				pkts[n] = test_frame(pool, &dst, q, sent[q] + n,
						     60 + (sent[q] + n) * 13 % max_len, seg);
				assert_non_null(pkts[n]);
				n++;
			}
			done = svio_net_tx_burst(p0, q, pkts, n);
			for (i = done; i < n; i++)
				rte_pktmbuf_free(pkts[i]);
			sent[q] += done;
			n = svio_net_rx_burst(p1, q, pkts, 32);
			for (i = 0; i < n; i++) {
				struct test_payload pl;

				assert_true(test_frame_ok(pkts[i], &pl));
				assert_int_equal(pl.seq, next[q]);
				next[q]++;
				received++;
				rte_pktmbuf_free(pkts[i]);
			}
		}
	}
}

static void test_traffic(void **state)
{
	struct svio_iommu_stats st;

	(void)state;
	assert_int_equal(svio_domain_sva(svio_domain_default()), !sva_off);
	exchange(2, 3000, 1500, 0);
	exchange(2, 300, 9000, 700); /* chains both ways */
	assert_int_equal(svio_iommu_stats_get(svio_domain_default(), &st), 0);
	assert_true(st.maps > 0); /* mapped up front, not faulted */
	assert_int_equal(st.page_requests, 0);
	assert_int_equal(st.stale_uses, 0);
}

static void test_requeue_unmaps(void **state)
{
	struct svio_iommu_stats before, after;

	(void)state;
	/* A queue set up again with another pool: the old pool's mapping goes. */
	assert_int_equal(svio_iommu_stats_get(svio_domain_default(), &before), 0);
	assert_int_equal(svio_net_stop(p1), 0);
	assert_int_equal(svio_net_rx_queue_setup(p1, 0, 512, SOCKET_ID_ANY, pool2), 0);
	assert_int_equal(svio_net_start(p1), 0);
	assert_int_equal(svio_iommu_stats_get(svio_domain_default(), &after), 0);
	assert_true(after.unmaps > before.unmaps);
	assert_true(after.maps > before.maps);
	exchange(2, 1000, 1500, 0);
	assert_int_equal(svio_iommu_stats_get(svio_domain_default(), &after), 0);
	assert_int_equal(after.stale_uses, 0);
}

/* Send @p frames frames from p2 to itself, @p inflight of them left in flight at the end. */
static void loop_frames(uint32_t *seq, uint32_t *next, uint32_t frames, uint32_t inflight)
{
	struct rte_ether_addr dst;
	uint32_t end = *seq + frames, spins = 0;

	assert_int_equal(svio_net_macaddr_get(p2, &dst), 0);
	while (*next + inflight < end) {
		struct rte_mbuf *pkts[32];
		uint16_t n = 0, i, done;

		assert_true(++spins < 100000);
		while (n < 32 && *seq + n < end) {
			pkts[n] =
				test_frame(pool, &dst, 0, *seq + n, 60 + (*seq + n) * 29 % 1400, 0);
			assert_non_null(pkts[n]);
			n++;
		}
		done = svio_net_tx_burst(p2, 0, pkts, n);
		for (i = done; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
		*seq += done;
		n = svio_net_rx_burst(p2, 0, pkts, RTE_MIN(32u, end - inflight - *next));
		for (i = 0; i < n; i++) {
			struct test_payload pl;

			assert_true(test_frame_ok(pkts[i], &pl));
			assert_int_equal(pl.seq, *next);
			(*next)++;
			rte_pktmbuf_free(pkts[i]);
		}
	}
}

/*
 * p0, p1 and p2 post buffers of one pool. Moving p0's receive queues to
 * another pool, then stopping it, must not unmap what p2's ring holds: p2's
 * posted buffers and queued frames keep working, and the device sees no
 * refused access.
 */
static void test_shared_pool(void **state)
{
	struct svio_device *dev = svio_dev_find("sim_vnet2");
	struct sim_vnet_stats st;
	uint32_t seq = 0, next = 0;
	uint16_t q;

	(void)state;
	assert_non_null(dev);
	loop_frames(&seq, &next, 2000, 64);
	assert_int_equal(svio_net_stop(p0), 0);
	for (q = 0; q < 2; q++)
		assert_int_equal(svio_net_rx_queue_setup(p0, q, 512, SOCKET_ID_ANY, pool2), 0);
	loop_frames(&seq, &next, 2000, 64);
	assert_int_equal(svio_net_start(p0), 0);
	assert_int_equal(svio_net_stop(p0), 0);
	loop_frames(&seq, &next, 2000, 0);
	assert_int_equal(sim_vnet_stats_get(dev, &st), 0);
	assert_int_equal(st.dma_errors, 0);
	assert_int_equal(st.rx_frames, next);
	assert_int_equal(test_stale_uses(), 0);
	assert_int_equal(svio_net_start(p0), 0);
}

struct looper {
	uint32_t frames;
	int done;     /* atomic */
	uint32_t bad; /* frames lost, out of order or damaged */
};

/* p2 sends frames to itself; no cmocka asserts off the main thread. */
static void *loop_thread(void *arg)
{
	struct looper *l = arg;
	struct rte_ether_addr dst;
	uint32_t seq = 0, next = 0, spins = 0;

	svio_net_macaddr_get(p2, &dst);
	while (next < l->frames && ++spins < 2000000) {
		struct rte_mbuf *pkts[32];
		uint16_t n = 0, i, done;

		while (n < 32 && seq + n < l->frames) {
			pkts[n] = test_frame(pool, &dst, 0, seq + n, 60 + (seq + n) * 29 % 1400, 0);
			if (pkts[n] == NULL)
				break;
			n++;
		}
		done = svio_net_tx_burst(p2, 0, pkts, n);
		for (i = done; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
		seq += done;
		n = svio_net_rx_burst(p2, 0, pkts, 32);
		for (i = 0; i < n; i++) {
			struct test_payload pl;

			if (!test_frame_ok(pkts[i], &pl) || pl.seq != next)
				l->bad++;
			next++;
			rte_pktmbuf_free(pkts[i]);
		}
	}
	if (next < l->frames)
		l->bad += l->frames - next;
	__atomic_store_n(&l->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The same while p2 runs on its own thread: p0's queues take and drop
 * references to p2's pool, and map and unmap rings and another pool, over and
 * over while p2's lookups read the table. p0 fills its rings from a pool of
 * its own (mbufs recycled between threads through one pool look like races
 * to ThreadSanitizer).
 */
static void test_shared_pool_concurrent(void **state)
{
	struct svio_device *dev = svio_dev_find("sim_vnet2");
	struct looper l = { .frames = 20000 };
	struct sim_vnet_stats before, after;
	struct rte_mempool *own;
	unsigned int cycles = 0;
	pthread_t t;
	uint16_t q;

	(void)state;
	own = rte_pktmbuf_pool_create("dma_pool3", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				      SOCKET_ID_ANY);
	assert_non_null(own);
	assert_int_equal(sim_vnet_stats_get(dev, &before), 0);
	assert_int_equal(pthread_create(&t, NULL, loop_thread, &l), 0);
	while (!__atomic_load_n(&l.done, __ATOMIC_ACQUIRE) || cycles < 4) {
		assert_int_equal(svio_net_stop(p0), 0);
		for (q = 0; q < 2; q++) {
			assert_int_equal(svio_net_rx_queue_setup(p0, q, 512, SOCKET_ID_ANY, pool),
					 0);
			assert_int_equal(svio_net_rx_queue_setup(p0, q, 512, SOCKET_ID_ANY, own),
					 0);
		}
		assert_int_equal(svio_net_start(p0), 0);
		cycles++;
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(l.bad, 0);
	assert_int_equal(sim_vnet_stats_get(dev, &after), 0);
	assert_int_equal(after.dma_errors - before.dma_errors, 0);
	assert_int_equal(after.rx_frames - before.rx_frames, l.frames);
	assert_int_equal(test_stale_uses(), 0);
}

static int setup(void **state)
{
	static const char *const nosva[] = { "--sva",  "off",
					     "--vdev", "sim_vnet0,wire=pair:sim_vnet1,queues=2",
					     "--vdev", "sim_vnet1,queues=2",
					     "--vdev", "sim_vnet2,wire=loop,queues=1",
					     NULL };
	static const char *const nopri[] = {
		"--vdev", "sim_vnet0,wire=pair:sim_vnet1,queues=2,pri=off",
		"--vdev", "sim_vnet1,queues=2,pri=off",
		"--vdev", "sim_vnet2,wire=loop,queues=1,pri=off",
		NULL
	};

	(void)state;
	if (svio_test_eal_init_mem(256, sva_off ? nosva : nopri) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("dma_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	pool2 = rte_pktmbuf_pool_create("dma_pool2", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					SOCKET_ID_ANY);
	if (pool == NULL || pool2 == NULL || svio_net_port_by_name("sim_vnet0", &p0) < 0 ||
	    svio_net_port_by_name("sim_vnet1", &p1) < 0 || test_port_setup(p0, 2, 512, pool) < 0 ||
	    test_port_setup(p1, 2, 512, pool) < 0 || svio_net_port_by_name("sim_vnet2", &p2) < 0 ||
	    test_port_setup(p2, 1, 512, pool) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	svio_eal_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traffic),
		cmocka_unit_test(test_requeue_unmaps),
		cmocka_unit_test(test_shared_pool),
		cmocka_unit_test(test_shared_pool_concurrent),
	};

	if (argc != 2 || (strcmp(argv[1], "nosva") != 0 && strcmp(argv[1], "nopri") != 0)) {
		fprintf(stderr, "usage: %s nosva|nopri\n", argv[0]);
		return 2;
	}
	sva_off = strcmp(argv[1], "nosva") == 0;
	return cmocka_run_group_tests(tests, setup, teardown);
}
