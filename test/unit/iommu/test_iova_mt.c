/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IOVA reuse under concurrency, on the built-in hardware: without SVA,
 * threads map buffers of random sizes, have their device write a pattern
 * through the IOVA, check it landed in the buffer they mapped (not in an
 * older one the device still caches), and unmap, strict and lazy, while
 * batches complete on whichever thread runs them. Each map uses another
 * half of the thread's region than the one before, so a reused IOVA always
 * points at new memory: a translation served from a stale cache entry
 * writes the wrong buffer and the check fails. The IOMMU model's stale-use
 * checker must stay at zero. Runs under ThreadSanitizer (suite
 * 'concurrency').
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_iommu.h"
#include "svio_test_eal.h"
#include "svio_scratch.h"

#define PAGE	 4096u
#define ROUNDS	 800
#define MAX_PGS	 16
#define REGION	 (4 * MAX_PGS * PAGE)
#define N_WORKER 2

struct worker {
	pthread_t tid;
	struct svio_domain *dom;
	struct svio_device *dev;
	uint64_t seed;
	unsigned int errors;
	unsigned int bad_data;
};

static struct svio_device *devs[N_WORKER];

static uint64_t next_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	uint8_t *region = aligned_alloc(PAGE, REGION);

	if (region == NULL) {
		w->errors++;
		return NULL;
	}
	memset(region, 0, REGION);
	for (unsigned int i = 0; i < ROUNDS; i++) {
		size_t len = (1 + next_rnd(&w->seed) % MAX_PGS) * PAGE;
		/* Alternate halves: the IOVA reused next points somewhere else. */
		uint8_t *p = region + (i % 2) * (REGION / 2) +
			     (next_rnd(&w->seed) % (MAX_PGS + 1)) * PAGE;
		uint8_t pat = (uint8_t)(i * 7 + 1);
		uint64_t iova, sum = 0;

		memset(p, (uint8_t)~pat, len);
		if (svio_dma_map(w->dom, p, len, SVIO_DMA_RW, &iova) < 0) {
			w->errors++;
			continue;
		}
		if (svio_scratch_dma(w->dev, iova, len, true, pat, NULL) < 0 ||
		    svio_scratch_dma(w->dev, iova, len, false, 0, &sum) < 0)
			w->errors++;
		else if (p[0] != pat || p[len - 1] != pat || sum != (uint64_t)pat * len)
			w->bad_data++;
		if (svio_dma_unmap(w->dom, iova, len) < 0)
			w->errors++;
		if (i % 16 == 0 && svio_iommu_poll(w->dom) < 0)
			w->errors++;
	}
	if (svio_iommu_sync(w->dom) < 0)
		w->errors++;
	free(region);
	return NULL;
}

static void run_policy(enum svio_flush_policy policy)
{
	struct svio_domain *base = svio_domain_default(), *dom;
	struct svio_iommu_config cfg;
	struct svio_iommu_stats st;
	struct worker w[N_WORKER];
	unsigned int i;

	svio_iommu_config_default(&cfg);
	cfg.sva = false;
	cfg.policy = policy;
	cfg.flush_batch = 16;
	cfg.flush_timeout_us = 200;
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	for (i = 0; i < N_WORKER; i++) {
		assert_int_equal(svio_domain_detach(base, devs[i]), 0);
		assert_int_equal(svio_domain_attach(dom, devs[i]), 0);
	}
	memset(w, 0, sizeof(w));
	for (i = 0; i < N_WORKER; i++) {
		w[i].dom = dom;
		w[i].dev = devs[i];
		w[i].seed = 0x9e3779b97f4a7c15ull * (i + 1);
		assert_int_equal(pthread_create(&w[i].tid, NULL, worker, &w[i]), 0);
	}
	for (i = 0; i < N_WORKER; i++)
		pthread_join(w[i].tid, NULL);
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(svio_iommu_stats_get(dom, &st), 0);
	print_message("%s: %" PRIu64 " maps, %" PRIu64 " reused, high water %" PRIu64
		      " KiB, %" PRIu64 " batches\n",
		      svio_flush_policy_name(policy), st.maps, st.iova_reused,
		      st.iova_high_water >> 10, st.batches);
	for (i = 0; i < N_WORKER; i++) {
		assert_int_equal(w[i].errors, 0);
		assert_int_equal(w[i].bad_data, 0);
	}
	assert_int_equal(st.stale_uses, 0);
	assert_int_equal(st.queue_errors, 0);
	assert_int_equal(st.iova_free_refused, 0);
	assert_int_equal(st.maps, N_WORKER * ROUNDS);
	assert_true(st.iova_reused > st.maps / 2);
	/* Live at once: one buffer per thread plus what waits for its flush. */
	assert_true(st.iova_high_water < UINT64_C(16) << 20);
	for (i = 0; i < N_WORKER; i++) {
		assert_int_equal(svio_domain_detach(dom, devs[i]), 0);
		assert_int_equal(svio_domain_attach(base, devs[i]), 0);
	}
	svio_domain_destroy(dom);
}

static void test_strict(void **state)
{
	(void)state;
	run_policy(SVIO_FLUSH_STRICT);
}

static void test_lazy(void **state)
{
	(void)state;
	run_policy(SVIO_FLUSH_LAZY);
}

static int setup(void **state)
{
	static const char *const args[] = { "--vdev", "sim_scratch0", "--vdev",
					    "sim_scratch1,iommu=1", NULL };
	char name[32];

	(void)state;
	if (svio_test_eal_init(args) < 0)
		return -1;
	for (unsigned int i = 0; i < N_WORKER; i++) {
		snprintf(name, sizeof(name), "sim_scratch%u", i);
		devs[i] = svio_dev_find(name);
		if (devs[i] == NULL)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return svio_eal_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_lazy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
