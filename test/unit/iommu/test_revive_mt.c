/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Revived maps under concurrency: threads map and lazily unmap their own
 * buffers (sometimes with other rights, sometimes quarantined) while batches
 * run from whichever thread fills them and another thread keeps declaring
 * the memory gone. A map that returned is reachable in the kernel until its
 * owner unmaps it (a batch never removes a revived mapping), every map and
 * unmap is either revived or reaches the kernel exactly once, and nothing
 * stays mapped at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "svio_iommu.h"
#include "iommu_private.h"
#include "fake_iommu.h"

#define K4	UINT64_C(0x1000)
#define THREADS 3
#define BUFS	4 /* per thread; THREADS * BUFS below FAKE_MAX_MAPS */
#define ROUNDS	3000
#define BASE	UINT64_C(0x530000000000)
/* Two pages apart: neighbours never merge into one kernel unmap. */
#define BUF_VA(t, b) (BASE + ((uint64_t)(t)*BUFS + (b)) * 2 * K4)
#define REGION	     ((uint64_t)THREADS * BUFS * 2 * K4)

static struct fake_iommu k;
static struct svio_device dev;
static struct svio_domain *dom;
static uint64_t releases;
static bool stop;

static void count_release(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&releases, 1, __ATOMIC_RELAXED);
}

struct worker {
	pthread_t tid;
	unsigned int id;
	unsigned int failures; /* calls that failed */
	unsigned int lost;     /* a mapping gone from the kernel while its owner held it */
	unsigned int quarantined;
};

static void *work(void *p)
{
	struct worker *w = p;

	for (unsigned int r = 0; r < ROUNDS; r++) {
		uint64_t va = BUF_VA(w->id, (r / 2) % BUFS), iova; /* each buffer twice in a row */
		int prot = r % 5 == 4 ? SVIO_DMA_READ : SVIO_DMA_RW;
		int rc;

		if (svio_dma_map(dom, (void *)(uintptr_t)va, K4, prot, &iova) != 0) {
			w->failures++;
			continue;
		}
		if (!fake_range_mapped(&k, iova, K4))
			w->lost++;
		if (r % 3 == 0)
			sched_yield(); /* let other threads' batches run meanwhile */
		if (!fake_range_mapped(&k, iova, K4))
			w->lost++;
		if (r % 7 == 6) {
			rc = svio_dma_unmap_release(dom, iova, K4, count_release, NULL);
			w->quarantined++;
		} else {
			rc = svio_dma_unmap(dom, iova, K4);
		}
		if (rc != 0)
			w->failures++;
		if (r % 64 == 0 && svio_iommu_poll(dom) < 0)
			w->failures++;
	}
	return NULL;
}

static void *gone(void *p)
{
	unsigned int *rounds = p;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		revive_mem_gone(BASE + (*rounds % (THREADS * BUFS)) * 2 * K4, 2 * K4);
		svio_iommu_poll(dom);
		(*rounds)++;
		sched_yield();
	}
	return NULL;
}

static void test_revive_threads(void **state)
{
	struct svio_iommu_caps caps = fake_caps_kmap();
	struct svio_iommu_config cfg;
	struct worker w[THREADS];
	struct svio_iommu_stats st;
	unsigned int quarantined = 0, gone_rounds = 0;
	pthread_t gone_tid;

	(void)state;
	assert_int_equal(fake_iommu_init(&k, 6, &caps), 0);
	fake_dev_init(&dev, &k, "k6", 0x600, false);
	assert_int_equal(svio_dma_mem_register((void *)(uintptr_t)BASE, REGION), 0);
	svio_iommu_config_default(&cfg);
	cfg.policy = SVIO_FLUSH_LAZY;
	cfg.flush_batch = 16;
	cfg.flush_timeout_us = 60000000;
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	assert_int_equal(svio_domain_attach(dom, &dev), 0);
	fake_log_reset();
	svio_iommu_stats_reset(dom);
	assert_int_equal(pthread_create(&gone_tid, NULL, gone, &gone_rounds), 0);
	for (unsigned int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .id = i };
		assert_int_equal(pthread_create(&w[i].tid, NULL, work, &w[i]), 0);
	}
	for (unsigned int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(w[i].tid, NULL), 0);
		assert_int_equal(w[i].failures, 0);
		assert_int_equal(w[i].lost, 0);
		quarantined += w[i].quarantined;
	}
	__atomic_store_n(&stop, true, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(gone_tid, NULL), 0);
	assert_int_equal(svio_iommu_sync(dom), 0);

	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.maps, THREADS * ROUNDS);
	assert_int_equal(st.unmaps, THREADS * ROUNDS);
	assert_int_equal(st.kernel_unmap_errors, 0);
	/* Each map was revived or mapped by the kernel once; each unmap likewise. */
	assert_int_equal(fake_log_count(EV_MAP, 6, -1), st.maps - st.revived_maps);
	assert_int_equal(fake_log_count(EV_UNMAP, 6, -1), st.unmaps - st.revived_maps);
	assert_true(st.revived_maps <= st.deferred_unmaps);
	/* Quarantined memory was never revived: each release ran after its kernel unmap. */
	assert_int_equal(releases, quarantined);
	assert_int_equal(st.released, quarantined);
	assert_int_equal(fake_mapped_bytes(&k), 0);
	print_message("revived %" PRIu64 " of %" PRIu64 " maps, %" PRIu64 " disarmed, %u gone\n",
		      st.revived_maps, st.maps, st.revive_disarmed, gone_rounds);

	svio_domain_destroy(dom);
	dom = NULL;
	assert_int_equal(svio_dma_mem_unregister((void *)(uintptr_t)BASE, REGION), 0);
	assert_int_equal(fake_iommu_fini(&k), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revive_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
