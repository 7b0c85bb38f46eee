/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Concurrency: worker threads map and unmap_release in strict, lazy and
 * naive mode while another thread attaches and detaches devices. Checked:
 * - every release runs exactly once;
 * - a release runs only after a wait posted after its unmap began has
 *   completed (a device stays attached, so every flush posts a wait);
 * - after svio_domain_detach() of a device returned, the backend receives
 *   no invalidation naming it until svio_domain_attach() of it is called
 *   again (the detach waited for every flush that could still see it);
 * - the backend attach always finds the device's tags already published;
 * - page requests for fresh heap pages, racing with all of the above, are
 *   answered with success, and the pages can be unmapped and freed through
 *   the quarantine.
 * Runs under ThreadSanitizer too (suite 'concurrency').
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svio_iommu.h"
#include "iommu_private.h"
#include "fake_iommu.h"

#define K4	UINT64_C(0x1000)
#define WORKERS 3
#define ITERS	800
#define TOGGLED 4
#define FAULTS	200

struct rel {
	uint64_t waits_before; /**< fake wait sequence before the unmap began */
	uint32_t runs;	       /**< atomic */
};

static struct fake_iommu f0, f1;
static struct svio_device perm, toggled[TOGGLED];
static struct svio_domain *dom;
static struct rel rels[WORKERS][ITERS];
static uint32_t workers_done, early_releases, errors, toggles;

static uint64_t fake_waits(void)
{
	struct fake_stats st;

	fake_stats_get(&st);
	return st.waits_posted;
}

static void on_release(void *arg)
{
	struct rel *r = arg;
	struct fake_stats st;

	__atomic_fetch_add(&r->runs, 1, __ATOMIC_RELAXED);
	fake_stats_get(&st);
	if (st.max_done <= r->waits_before)
		__atomic_fetch_add(&early_releases, 1, __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	uint64_t base = UINT64_C(0x700000000000) + ((uint64_t)id << 32);

	/* Start once the toggler is running, so the two really overlap. */
	while (__atomic_load_n(&toggles, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	for (unsigned int i = 0; i < ITERS; i++) {
		/* Pages cycle through a small window so tables are emptied and reused. */
		uint64_t va = base + (i % 16) * 2 * K4, iova;
		struct fake_stats st;

		if (svio_dma_map(dom, (void *)(uintptr_t)va, 2 * K4, SVIO_DMA_RW, &iova) < 0) {
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
			continue;
		}
		fake_stats_get(&st);
		rels[id][i].waits_before = st.waits_posted;
		if (svio_dma_unmap_release(dom, iova, 2 * K4, on_release, &rels[id][i]) < 0)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		if (svio_iommu_poll(dom) < 0)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&workers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void free_page(void *arg)
{
	free(arg);
}

/* A device touching heap pages nobody mapped: each is faulted in, then unmapped. */
static void *faulter(void *arg)
{
	(void)arg;
	for (unsigned int i = 0; i < FAULTS; i++) {
		void *buf = aligned_alloc(K4, K4);
		struct svio_page_req req = { .sid = perm.dma.sid,
					     .pasid = svio_domain_pasid(dom),
					     .addr = (uint64_t)(uintptr_t)buf,
					     .write = true,
					     .last = true };

		if (buf == NULL) {
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
			continue;
		}
		svio_iommu_page_request(&f0.iommu, &req);
		if (svio_dma_unmap_release(dom, req.addr, K4, free_page, buf) < 0)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *toggler(void *arg)
{
	unsigned int i = 0;

	(void)arg;
	while (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < WORKERS) {
		struct svio_device *d = &toggled[i++ % TOGGLED];

		fake_sid_attaching(d->dma.sid);
		if (svio_domain_attach(dom, d) < 0) {
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (svio_domain_detach(dom, d) < 0)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		fake_sid_detached(d->dma.sid);
		__atomic_fetch_add(&toggles, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void run(enum svio_flush_policy policy)
{
	struct svio_iommu_caps caps = fake_caps();
	struct svio_iommu_config cfg;
	pthread_t w[WORKERS], t, pf;
	struct fake_stats st;
	struct svio_iommu_stats ds;
	uint64_t resp_before;

	memset(rels, 0, sizeof(rels));
	workers_done = early_releases = errors = toggles = 0;
	fake_log_enable(false);
	assert_int_equal(fake_iommu_init(&f0, 0, &caps), 0);
	assert_int_equal(fake_iommu_init(&f1, 1, &caps), 0);
	fake_dev_init(&perm, &f0, "perm", 1, true);
	for (unsigned int i = 0; i < TOGGLED; i++)
		fake_dev_init(&toggled[i], i % 2 ? &f1 : &f0, "tog", 10 + i, true);
	svio_iommu_config_default(&cfg);
	cfg.policy = policy;
	cfg.flush_batch = 32;
	cfg.flush_timeout_us = 100;
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	fake_check_domain(dom);
	assert_int_equal(svio_domain_attach(dom, &perm), 0);
	fake_stats_get(&st);
	resp_before = st.resp_success;

	assert_int_equal(pthread_create(&t, NULL, toggler, NULL), 0);
	for (unsigned int i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)i), 0);
	assert_int_equal(pthread_create(&pf, NULL, faulter, NULL), 0);
	for (unsigned int i = 0; i < WORKERS; i++)
		pthread_join(w[i], NULL);
	pthread_join(pf, NULL);
	pthread_join(t, NULL);
	assert_int_equal(svio_iommu_sync(dom), 0);

	assert_int_equal(errors, 0);
	print_message("%s: %u attach/detach cycles, %" PRIu64 " waits\n",
		      svio_flush_policy_name(policy), toggles, fake_waits());
	for (unsigned int i = 0; i < WORKERS; i++)
		for (unsigned int j = 0; j < ITERS; j++)
			assert_int_equal(rels[i][j].runs, 1);
	assert_int_equal(early_releases, 0);
	fake_stats_get(&st);
	assert_int_equal(st.violations, 0);
	assert_int_equal(st.unpublished, 0);
	assert_int_equal(st.resp_success - resp_before, FAULTS);
	assert_int_equal(st.resp_other, 0);
	svio_iommu_stats_get(dom, &ds);
	assert_int_equal(ds.released, WORKERS * ITERS + FAULTS);
	assert_int_equal(ds.unmaps, WORKERS * ITERS + FAULTS);
	assert_int_equal(ds.page_requests, FAULTS);

	fake_check_domain(NULL);
	svio_domain_destroy(dom);
	dom = NULL;
	assert_int_equal(fake_iommu_fini(&f0), 0);
	assert_int_equal(fake_iommu_fini(&f1), 0);
	fake_log_enable(true);
}

static void test_strict(void **state)
{
	(void)state;
	run(SVIO_FLUSH_STRICT);
}

static void test_lazy(void **state)
{
	(void)state;
	run(SVIO_FLUSH_LAZY);
}

static void test_naive(void **state)
{
	(void)state;
	run(SVIO_FLUSH_NAIVE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_lazy),
		cmocka_unit_test(test_naive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
