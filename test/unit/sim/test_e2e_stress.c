/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stress on the built-in hardware, from several threads at once: unmaps
 * (strict and lazy) with device DMA, page faults on fresh heap memory, and a
 * device attached and detached over and over while it DMAs. The IOMMU model's
 * stale-use checker must stay at zero and no DMA to live memory may fail.
 */
#include <errno.h>
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

#define PAGE   4096u
#define ROUNDS 400
#define CHUNKS 32

struct worker {
	pthread_t tid;
	struct svio_domain *dom;
	struct svio_device *dev;
	unsigned int errors;
	unsigned int checked; /* DMAs after unmap that had to fail and did */
	int released;
};

static struct svio_device *devs[4];
static volatile int attach_running;

static void release_one(void *arg)
{
	__atomic_fetch_add((int *)arg, 1, __ATOMIC_RELAXED);
}

/* Map a chunk, fill it through the device, check it, unmap (with release). */
static void *unmap_worker(void *arg)
{
	struct worker *w = arg;
	uint8_t *region = aligned_alloc(PAGE, CHUNKS * PAGE);
	unsigned int i;

	if (region == NULL) {
		w->errors++;
		return NULL;
	}
	for (i = 0; i < ROUNDS; i++) {
		uint8_t *p = region + (i % CHUNKS) * PAGE;
		uint64_t iova;

		if (svio_dma_map(w->dom, p, PAGE, SVIO_DMA_RW, &iova) < 0 ||
		    svio_scratch_dma(w->dev, iova, PAGE, true, (uint8_t)i, NULL) < 0 ||
		    p[0] != (uint8_t)i || p[PAGE - 1] != (uint8_t)i ||
		    svio_dma_unmap_release(w->dom, iova, PAGE, release_one, &w->released) < 0) {
			w->errors++;
			continue;
		}
	}
	if (svio_iommu_sync(w->dom) < 0)
		w->errors++;
	free(region);
	return NULL;
}

/* Fresh heap pages reach a PRI device through page requests. */
static void *fault_worker(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	for (i = 0; i < ROUNDS / 4; i++) {
		uint8_t *p = aligned_alloc(PAGE, 2 * PAGE);
		uint64_t sum = 0;

		if (p == NULL) {
			w->errors++;
			continue;
		}
		memset(p, 1, 2 * PAGE);
		if (svio_scratch_dma(w->dev, (uintptr_t)p, 2 * PAGE, false, 0, &sum) < 0 ||
		    sum != 2 * PAGE)
			w->errors++;
		/*
		 * The device may still cache these pages until the flush (lazy):
		 * they go back to the heap only from the release callback.
		 */
		if (svio_dma_unmap_release(w->dom, (uintptr_t)p, 2 * PAGE, free, p) < 0)
			w->errors++;
	}
	return NULL;
}

/* Detach and re-attach a device while it DMAs to a mapping kept live. */
static void *attach_worker(void *arg)
{
	struct worker *w = arg;
	uint8_t *live = aligned_alloc(PAGE, PAGE);
	uint64_t iova;
	unsigned int i;

	if (live == NULL || svio_dma_map(w->dom, live, PAGE, SVIO_DMA_RW, &iova) < 0) {
		w->errors++;
		free(live);
		return NULL;
	}
	for (i = 0; __atomic_load_n(&attach_running, __ATOMIC_ACQUIRE) && i < 10 * ROUNDS; i++) {
		if (svio_scratch_dma(w->dev, iova, 64, true, (uint8_t)i, NULL) < 0 ||
		    live[63] != (uint8_t)i)
			w->errors++;
		if (svio_domain_detach(w->dom, w->dev) < 0) {
			w->errors++;
			break;
		}
		/* Detached: the device must not reach memory through old caches. */
		if (svio_scratch_dma(w->dev, iova, 64, true, 0xee, NULL) == 0)
			w->errors++;
		else
			w->checked++;
		if (svio_domain_attach(w->dom, w->dev) < 0) {
			w->errors++;
			break;
		}
	}
	if (svio_dma_unmap(w->dom, iova, PAGE) < 0)
		w->errors++;
	free(live);
	return NULL;
}

static void run_policy(enum svio_flush_policy policy)
{
	struct svio_domain *base = svio_domain_default(), *dom;
	struct svio_iommu_config cfg;
	struct svio_iommu_stats st;
	struct worker w[4];
	unsigned int i;

	svio_iommu_config_default(&cfg);
	cfg.policy = policy;
	cfg.flush_batch = 32;
	cfg.flush_timeout_us = 200;
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(svio_domain_detach(base, devs[i]), 0);
		assert_int_equal(svio_domain_attach(dom, devs[i]), 0);
	}
	memset(w, 0, sizeof(w));
	__atomic_store_n(&attach_running, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 4; i++) {
		w[i].dom = dom;
		w[i].dev = devs[i];
	}
	assert_int_equal(pthread_create(&w[0].tid, NULL, unmap_worker, &w[0]), 0);
	assert_int_equal(pthread_create(&w[1].tid, NULL, unmap_worker, &w[1]), 0);
	assert_int_equal(pthread_create(&w[2].tid, NULL, fault_worker, &w[2]), 0);
	assert_int_equal(pthread_create(&w[3].tid, NULL, attach_worker, &w[3]), 0);
	for (i = 0; i < 3; i++)
		pthread_join(w[i].tid, NULL);
	__atomic_store_n(&attach_running, 0, __ATOMIC_RELEASE);
	pthread_join(w[3].tid, NULL);

	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(svio_iommu_stats_get(dom, &st), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(w[i].errors, 0);
	assert_int_equal(w[0].released, ROUNDS);
	assert_int_equal(w[1].released, ROUNDS);
	assert_true(w[3].checked > 0);
	assert_int_equal(st.stale_uses, 0);
	assert_int_equal(st.queue_errors, 0);
	assert_true(st.page_requests > 0);
	for (i = 0; i < 4; i++) {
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

static void test_naive(void **state)
{
	(void)state;
	run_policy(SVIO_FLUSH_NAIVE);
}

static int setup(void **state)
{
	static const char *const args[] = { "--vdev", "sim_scratch0",
					    "--vdev", "sim_scratch1,ats=off,iommu=1",
					    "--vdev", "sim_scratch2",
					    "--vdev", "sim_scratch3,iommu=1",
					    NULL };
	char name[32];
	unsigned int i;

	(void)state;
	if (svio_test_eal_init(args) < 0)
		return -1;
	for (i = 0; i < 4; i++) {
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
		cmocka_unit_test(test_naive),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
