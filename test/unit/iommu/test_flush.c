/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flush policies against the fake backend: exact descriptor counts for
 * strict, naive and lazy, one wait per instance posted before any is
 * polled, quarantine, queue errors, lazy batch size, timeout and sync.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "svio_iommu.h"
#include "iommu_private.h"
#include "fake_iommu.h"

#define K4 UINT64_C(0x1000)
/* Addresses are never dereferenced: the fake does no DMA. */
#define VA(off)	  ((void *)(uintptr_t)(UINT64_C(0x500000000000) + (off)))
#define IOVA(off) (UINT64_C(0x500000000000) + (off))

static struct fake_iommu f0, f1;
static struct svio_device devs[8];
static struct svio_domain *dom;

static int make_domain(enum svio_flush_policy policy, unsigned int batch, uint64_t timeout_us)
{
	struct svio_iommu_config cfg;

	svio_iommu_config_default(&cfg);
	cfg.policy = policy;
	cfg.flush_batch = batch;
	cfg.flush_timeout_us = timeout_us;
	return svio_domain_create(&cfg, &dom);
}

static int setup(void **state)
{
	struct svio_iommu_caps caps = fake_caps();

	(void)state;
	fake_log_reset();
	if (fake_iommu_init(&f0, 0, &caps) < 0 || fake_iommu_init(&f1, 1, &caps) < 0)
		return -1;
	for (unsigned int i = 0; i < 8; i++)
		fake_dev_init(&devs[i], i < 4 ? &f0 : &f1, "dev", 0x100 + i, true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	svio_domain_destroy(dom);
	dom = NULL;
	if (fake_iommu_fini(&f0) < 0 || fake_iommu_fini(&f1) < 0)
		return -1;
	return 0;
}

static void attach_n(unsigned int first, unsigned int n)
{
	for (unsigned int i = first; i < first + n; i++)
		assert_int_equal(svio_domain_attach(dom, &devs[i]), 0);
}

static void map(uint64_t off, uint64_t len)
{
	uint64_t iova;

	assert_int_equal(svio_dma_map(dom, VA(off), len, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(iova, IOVA(off));
}

static unsigned int n_inv(int kind)
{
	return fake_log_count(EV_INV, -1, kind);
}

static void test_strict_four_ats_devices(void **state)
{
	struct svio_iommu_stats st;
	struct fake_ev ev;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256, 1000), 0);
	attach_n(0, 4);
	map(0, K4);
	fake_log_reset();
	svio_iommu_stats_reset(dom);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);

	assert_int_equal(n_inv(SVIO_INV_IOTLB), 1);
	assert_int_equal(n_inv(SVIO_INV_DEVTLB), 4);
	assert_int_equal(fake_log_count(EV_WAIT_POST, -1, -1), 1);
	assert_int_equal(fake_log_count(EV_WAIT_DONE, -1, -1), 1);
	/* IOTLB first, page-selective, then the four device-TLBs, then the wait. */
	ev = fake_log_at(0);
	assert_int_equal(ev.kind, EV_INV);
	assert_int_equal(ev.inv.kind, SVIO_INV_IOTLB);
	assert_false(ev.inv.all);
	assert_int_equal(ev.inv.addr, IOVA(0));
	assert_int_equal(ev.inv.order, 0);
	assert_int_equal(ev.inv.pasid, svio_domain_pasid(dom));
	for (unsigned int i = 1; i <= 4; i++)
		assert_int_equal(fake_log_at(i).inv.kind, SVIO_INV_DEVTLB);
	assert_int_equal(fake_log_at(5).kind, EV_WAIT_POST);

	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.desc_iotlb, 1);
	assert_int_equal(st.desc_iotlb_domain, 0);
	assert_int_equal(st.desc_devtlb, 4);
	assert_int_equal(st.desc_wait, 1);
	assert_int_equal(st.batches, 1);
	assert_int_equal(st.unmaps, 1);
	assert_int_equal(st.unmapped_pages, 1);
}

static void test_naive_four_ats_devices(void **state)
{
	struct svio_iommu_stats st;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_NAIVE, 256, 1000), 0);
	attach_n(0, 4);
	map(0, K4);
	fake_log_reset();
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	assert_int_equal(n_inv(SVIO_INV_IOTLB), 4);
	assert_int_equal(n_inv(SVIO_INV_DEVTLB), 4);
	assert_int_equal(fake_log_count(EV_WAIT_POST, -1, -1), 4);
	/* Per device: IOTLB, DEVTLB, wait posted and completed before the next. */
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(fake_log_at(4 * i).inv.kind, SVIO_INV_IOTLB);
		assert_int_equal(fake_log_at(4 * i + 1).inv.kind, SVIO_INV_DEVTLB);
		assert_int_equal(fake_log_at(4 * i + 1).inv.sid, 0x100 + i);
		assert_int_equal(fake_log_at(4 * i + 2).kind, EV_WAIT_POST);
		assert_int_equal(fake_log_at(4 * i + 3).kind, EV_WAIT_DONE);
	}
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.desc_iotlb + st.desc_devtlb + st.desc_wait, 12);
}

static void test_lazy_256_random_unmaps(void **state)
{
	enum { PAGES = 4096, N = 256 };
	static uint8_t used[PAGES];
	struct svio_iommu_stats st;
	uint64_t total;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY, N, 60000000), 0);
	attach_n(0, 4);
	map(0, PAGES * K4);
	fake_log_reset();
	svio_iommu_stats_reset(dom);
	srand(7);
	for (unsigned int i = 0; i < N; i++) {
		unsigned int p;

		do {
			p = (unsigned int)rand() % PAGES;
		} while (used[p]);
		used[p] = 1;
		/* Nothing goes to the hardware before the batch is full. */
		assert_int_equal(fake_log_len(), 0);
		assert_int_equal(svio_dma_unmap(dom, IOVA(p * K4), K4), 0);
	}
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.batches, 1);
	assert_int_equal(st.unmaps, N);
	/* Past the page-selective limit: one domain-wide IOTLB, one whole-device each. */
	assert_int_equal(st.desc_iotlb, 1);
	assert_int_equal(st.desc_iotlb_domain, 1);
	assert_int_equal(st.desc_devtlb, 4);
	assert_int_equal(st.desc_wait, 1);
	total = st.desc_iotlb + st.desc_devtlb + st.desc_wait;
	assert_true(total * 100 <= 5 * N);
	assert_true(fake_log_at(0).inv.all);
}

static void test_two_instances_post_all_then_wait(void **state)
{
	int post0, post1, first_done;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256, 1000), 0);
	attach_n(0, 2); /* instance 0 */
	attach_n(4, 2); /* instance 1 */
	map(0, 4 * K4);
	f0.slow_polls = 3;
	f1.slow_polls = 3;
	fake_log_reset();
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), 4 * K4), 0);

	assert_int_equal(fake_log_count(EV_WAIT_POST, 0, -1), 1);
	assert_int_equal(fake_log_count(EV_WAIT_POST, 1, -1), 1);
	assert_int_equal(fake_log_count(EV_INV, 0, SVIO_INV_IOTLB), 1);
	assert_int_equal(fake_log_count(EV_INV, 0, SVIO_INV_DEVTLB), 2);
	assert_int_equal(fake_log_count(EV_INV, 1, SVIO_INV_IOTLB), 1);
	assert_int_equal(fake_log_count(EV_INV, 1, SVIO_INV_DEVTLB), 2);
	/* 4 pages, aligned: one order-2 chunk per tag. */
	assert_int_equal(fake_log_at(0).inv.order, 2);
	post0 = fake_log_find(EV_WAIT_POST, 0, 0);
	post1 = fake_log_find(EV_WAIT_POST, 1, 0);
	first_done = fake_log_find(EV_WAIT_DONE, -1, 0);
	assert_true(post0 >= 0 && post1 >= 0 && first_done >= 0);
	/* Instance 0's work and wait, then instance 1's, then the polling. */
	assert_int_equal(post0, 3);
	assert_int_equal(fake_log_find(EV_INV, 1, 0), 4);
	assert_int_equal(post1, 7);
	assert_true(first_done > post1);
	assert_int_equal(fake_log_count(EV_WAIT_DONE, -1, -1), 2);
	/* The other instance's descriptors never precede instance 0's wait. */
	assert_true(fake_log_find(EV_INV, 1, 0) > post0);
}

static void test_domain_wide_past_psi_limit(void **state)
{
	struct svio_iommu_stats st;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256, 1000), 0);
	attach_n(0, 1);
	map(0, 64 * K4);
	fake_log_reset();
	svio_iommu_stats_reset(dom);
	/* 7 pages at an odd start: 1 + 2 + 4 pages = 3 chunks, still page-selective. */
	assert_int_equal(svio_dma_unmap(dom, IOVA(K4), 7 * K4), 0);
	assert_int_equal(n_inv(SVIO_INV_IOTLB), 1 * 3);
	assert_int_equal(fake_log_at(0).inv.order, 0);
	assert_int_equal(fake_log_at(1).inv.order, 1);
	assert_int_equal(fake_log_at(2).inv.order, 2);
	/* 32 aligned pages: one order-5 chunk. */
	fake_log_reset();
	assert_int_equal(svio_dma_unmap(dom, IOVA(32 * K4), 32 * K4), 0);
	assert_int_equal(n_inv(SVIO_INV_IOTLB), 1);
	assert_int_equal(fake_log_at(0).inv.order, 5);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.desc_iotlb_domain, 0);
	svio_domain_destroy(dom);
	dom = NULL;

	/* An instance limited to order 0: 16 pages would be 16 descriptors. */
	{
		struct svio_iommu_caps caps = fake_caps();
		struct fake_iommu f2;
		struct svio_device d;

		caps.max_inv_order = 0;
		assert_int_equal(fake_iommu_init(&f2, 2, &caps), 0);
		fake_dev_init(&d, &f2, "small", 0x200, true);
		assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256, 1000), 0);
		assert_int_equal(svio_domain_attach(dom, &d), 0);
		map(0, 16 * K4);
		fake_log_reset();
		assert_int_equal(svio_dma_unmap(dom, IOVA(0), 16 * K4), 0);
		assert_int_equal(n_inv(SVIO_INV_IOTLB), 1);
		assert_int_equal(n_inv(SVIO_INV_DEVTLB), 1);
		assert_true(fake_log_at(0).inv.all);
		assert_true(fake_log_at(1).inv.all);
		svio_domain_destroy(dom);
		dom = NULL;
		assert_int_equal(fake_iommu_fini(&f2), 0);
	}
}

static int released;

static void note_release(void *arg)
{
	released++;
	fake_log_note((int)(uintptr_t)arg);
}

static void test_quarantine_release_after_wait(void **state)
{
	struct svio_iommu_stats st;
	int done, note;

	(void)state;
	released = 0;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256, 1000), 0);
	attach_n(0, 1);
	map(0, K4);
	f0.slow_polls = 5;
	fake_log_reset();
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(0), K4, note_release, (void *)42), 0);
	/* Strict: released before unmap returned, and only after the wait completed. */
	assert_int_equal(released, 1);
	done = fake_log_find(EV_WAIT_DONE, 0, 0);
	note = fake_log_find(EV_NOTE, -1, 0);
	assert_true(done >= 0 && note > done);
	assert_int_equal(fake_log_at((unsigned int)note).code, 42);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.quarantined, 1);
	assert_int_equal(st.released, 1);
}

static void test_lazy_quarantine_and_sync(void **state)
{
	struct svio_iommu_stats st;

	(void)state;
	released = 0;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY, 256, 60000000), 0);
	attach_n(0, 1);
	map(0, 16 * K4);
	fake_log_reset();
	/* Three adjacent unmaps and one overlapping nothing else: merged on sync. */
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(svio_dma_unmap_release(dom, IOVA(i * K4), K4, note_release,
							(void *)(uintptr_t)i),
				 0);
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(8 * K4), K4, note_release, NULL), 0);
	assert_int_equal(released, 0);
	assert_int_equal(fake_log_len(), 0);
	assert_int_equal(svio_iommu_poll(dom), 0); /* not old enough */
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(released, 5);
	assert_true(fake_log_find(EV_NOTE, -1, 0) > fake_log_find(EV_WAIT_DONE, -1, 0));
	/* [0, 4 pages) as one order-2 chunk and page 8: two ranges, two IOTLB + two DEVTLB. */
	assert_int_equal(n_inv(SVIO_INV_IOTLB), 2);
	assert_int_equal(fake_log_at(0).inv.order, 2);
	assert_int_equal(fake_log_at(1).inv.addr, IOVA(8 * K4));
	assert_int_equal(fake_log_count(EV_WAIT_POST, -1, -1), 1);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.batches, 1);
	assert_int_equal(st.batch_ranges, 2);
	/* Nothing left: sync is free. */
	fake_log_reset();
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(fake_log_len(), 0);
}

static void test_lazy_batch_threshold(void **state)
{
	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY, 4, 60000000), 0);
	attach_n(0, 1);
	map(0, 16 * K4);
	fake_log_reset();
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(svio_dma_unmap(dom, IOVA(2 * i * K4), K4), 0);
	assert_int_equal(fake_log_count(EV_WAIT_POST, -1, -1), 0);
	assert_int_equal(svio_dma_unmap(dom, IOVA(6 * K4), K4), 0);
	assert_int_equal(fake_log_count(EV_WAIT_POST, -1, -1), 1);
	assert_int_equal(n_inv(SVIO_INV_IOTLB), 4);
}

static void test_lazy_timeout_via_poll(void **state)
{
	int rc = 0;

	(void)state;
	released = 0;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY, 1000, 200), 0);
	attach_n(0, 1);
	map(0, K4);
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(0), K4, note_release, NULL), 0);
	/* Eventually the 200 us timeout expires and a poll completes it. */
	for (unsigned int i = 0; i < 100000 && rc == 0; i++) {
		rc = svio_iommu_poll(dom);
		if (rc == 0)
			usleep(100);
	}
	assert_int_equal(rc, 1);
	assert_int_equal(released, 1);
	assert_int_equal(svio_iommu_poll(dom), 0);
}

static void test_queue_error_strict(void **state)
{
	struct svio_iommu_stats st;

	(void)state;
	released = 0;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256, 1000), 0);
	attach_n(0, 1);
	map(0, 2 * K4);
	fake_iommu_set_error(&f0, true);
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(0), K4, note_release, NULL), -EIO);
	assert_int_equal(released, 0);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.queue_errors, 1);
	assert_int_equal(st.released, 0);
	assert_int_equal(svio_iommu_sync(dom), -EIO);
	assert_int_equal(released, 0);
	/* Recovered: the failed range is flushed again, then released. */
	fake_iommu_set_error(&f0, false);
	fake_log_reset();
	assert_int_equal(svio_dma_unmap(dom, IOVA(K4), K4), 0);
	assert_int_equal(released, 1);
	assert_int_equal(fake_log_at(0).inv.addr, IOVA(0));
	assert_int_equal(fake_log_at(0).inv.order, 1);
}

static void test_queue_error_lazy(void **state)
{
	(void)state;
	released = 0;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY, 256, 60000000), 0);
	attach_n(0, 1);
	map(0, K4);
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(0), K4, note_release, NULL), 0);
	fake_iommu_set_error(&f0, true);
	assert_int_equal(svio_iommu_sync(dom), -EIO);
	assert_int_equal(released, 0);
	fake_iommu_set_error(&f0, false);
	assert_int_equal(svio_iommu_poll(dom), 1); /* the failed batch is retried at once */
	assert_int_equal(released, 1);
}

static void test_no_device_no_invalidation(void **state)
{
	(void)state;
	released = 0;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256, 1000), 0);
	map(0, K4);
	fake_log_reset();
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(0), K4, note_release, NULL), 0);
	assert_int_equal(released, 1);
	assert_int_equal(fake_log_count(EV_INV, -1, -1), 0);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), -ENOENT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_strict_four_ats_devices),    T(test_naive_four_ats_devices),
		T(test_lazy_256_random_unmaps),	    T(test_two_instances_post_all_then_wait),
		T(test_domain_wide_past_psi_limit), T(test_quarantine_release_after_wait),
		T(test_lazy_quarantine_and_sync),   T(test_lazy_batch_threshold),
		T(test_lazy_timeout_via_poll),	    T(test_queue_error_strict),
		T(test_queue_error_lazy),	    T(test_no_device_no_invalidation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
