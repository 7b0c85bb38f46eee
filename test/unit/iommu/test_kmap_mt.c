/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Threads map and unmap (strict and lazy) on an instance that owns its
 * table: every unmap reaches it, strict callers learn a refusal written by
 * whichever thread ran their batch, every release runs exactly once, and a
 * lazy unmap still queued does not make a new map of the same range fail.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "svio_iommu.h"
#include "fake_iommu.h"

#define K4	  UINT64_C(0x1000)
#define THREADS	  4
#define ROUNDS	  300
#define VA(off)	  ((void *)(uintptr_t)(UINT64_C(0x600000000000) + (off)))
#define IOVA(off) (UINT64_C(0x600000000000) + (off))

static struct fake_iommu k;
static struct svio_device dev;
static struct svio_domain *dom;
static uint64_t releases;

static void count_release(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&releases, 1, __ATOMIC_RELAXED);
}

struct worker {
	pthread_t tid;
	unsigned int id;
	unsigned int failures;
	unsigned int refused; /* partial unmaps answered with an error */
};

static void *work(void *p)
{
	struct worker *w = p;
	uint64_t base = (uint64_t)w->id * 64 * K4, iova;

	for (unsigned int r = 0; r < ROUNDS; r++) {
		/* Split rounds use pages of their own: their refused halves stay mapped. */
		uint64_t off =
			r % 50 == 49 ? base + 32 * K4 + (r / 50) * 4 * K4 : base + (r % 8) * 4 * K4;

		if (svio_dma_map(dom, VA(off), 2 * K4, SVIO_DMA_RW, &iova) != 0) {
			w->failures++;
			continue;
		}
		/* Every 50th round: half a map, which the instance refuses. */
		if (r % 50 == 49) {
			if (svio_dma_unmap(dom, iova, K4) < 0)
				w->refused++;
			/* The other half goes normally; the refused half stays mapped there. */
			if (svio_dma_unmap(dom, iova + K4, K4) < 0)
				w->refused++;
			continue;
		}
		if (svio_dma_unmap_release(dom, iova, 2 * K4, count_release, NULL) != 0)
			w->failures++;
	}
	return NULL;
}

static void run(enum svio_flush_policy policy)
{
	struct svio_iommu_caps caps = fake_caps_kmap();
	struct svio_iommu_config cfg;
	struct worker w[THREADS];
	struct svio_iommu_stats st;
	unsigned int refused = 0;

	fake_log_enable(false);
	assert_int_equal(fake_iommu_init(&k, 5, &caps), 0);
	fake_dev_init(&dev, &k, "k5", 0x500, false);
	svio_iommu_config_default(&cfg);
	cfg.policy = policy;
	cfg.flush_batch = 16;
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	assert_int_equal(svio_domain_attach(dom, &dev), 0);
	releases = 0;
	for (unsigned int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .id = i };
		assert_int_equal(pthread_create(&w[i].tid, NULL, work, &w[i]), 0);
	}
	for (unsigned int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(w[i].tid, NULL), 0);
		assert_int_equal(w[i].failures, 0);
		refused += w[i].refused;
	}
	assert_int_equal(svio_iommu_sync(dom), 0);
	svio_iommu_stats_get(dom, &st);
	/*
	 * Strict: both halves of each split map are refused. Lazy: halves that
	 * meet in one batch merge into the whole map and go through.
	 */
	if (policy == SVIO_FLUSH_STRICT) {
		assert_int_equal(st.kernel_unmap_errors, THREADS * (ROUNDS / 50) * 2);
		assert_int_equal(refused, st.kernel_unmap_errors);
	} else {
		assert_true(st.kernel_unmap_errors <= THREADS * (ROUNDS / 50) * 2);
		assert_int_equal(st.kernel_unmap_errors % 2, 0);
	}
	assert_int_equal(releases, THREADS * (ROUNDS - ROUNDS / 50));
	assert_int_equal(st.released, releases);
	/* What was refused is still mapped there (whole maps), and nothing else is. */
	assert_int_equal(fake_mapped_bytes(&k), st.kernel_unmap_errors * K4);
	svio_domain_destroy(dom);
	dom = NULL;
	assert_int_equal(fake_mapped_bytes(&k), 0);
	assert_int_equal(fake_iommu_fini(&k), 0);
}

static void test_strict_threads(void **state)
{
	(void)state;
	run(SVIO_FLUSH_STRICT);
}

static void test_lazy_threads(void **state)
{
	(void)state;
	run(SVIO_FLUSH_LAZY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strict_threads),
		cmocka_unit_test(test_lazy_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
