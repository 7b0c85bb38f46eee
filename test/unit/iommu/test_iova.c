/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IOVA reuse without SVA: the allocator on its own (exact-size reuse,
 * coalescing, congruence, double frees refused, never the same space twice)
 * and through the domain against the fake backend (strict reuse at once,
 * lazy reuse only after the flush, releases after the space went back, a
 * failed flush keeping the space until its retry succeeds,
 * unmaps with holes free only what was mapped, a bounded high-water mark
 * over a long random map/unmap loop, SVA untouched).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svio_iommu.h"
#include "iommu_private.h"
#include "fake_iommu.h"

#define K4	UINT64_C(0x1000)
#define M2	UINT64_C(0x200000)
#define VA(off) ((void *)(uintptr_t)(UINT64_C(0x600000000000) + (off)))

static struct fake_iommu f0;
static struct svio_device dev0;

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* A deterministic generator: the same sequence every run. */
static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static struct svio_domain *make_domain(enum svio_flush_policy policy, unsigned int batch,
				       uint64_t timeout_us)
{
	struct svio_iommu_config cfg;
	struct svio_domain *d;

	svio_iommu_config_default(&cfg);
	cfg.sva = false;
	cfg.policy = policy;
	cfg.flush_batch = batch;
	cfg.flush_timeout_us = timeout_us;
	assert_int_equal(svio_domain_create(&cfg, &d), 0);
	assert_int_equal(svio_domain_attach(d, &dev0), 0);
	return d;
}

static struct svio_iommu_stats stats(struct svio_domain *d)
{
	struct svio_iommu_stats st;

	assert_int_equal(svio_iommu_stats_get(d, &st), 0);
	return st;
}

static int setup(void **state)
{
	struct svio_iommu_caps caps = fake_caps();

	(void)state;
	fake_log_reset();
	fake_log_enable(false);
	if (fake_iommu_init(&f0, 0, &caps) < 0)
		return -1;
	fake_dev_init(&dev0, &f0, "dev0", 1, true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_log_enable(true);
	return fake_iommu_fini(&f0);
}

/* The allocator alone. */

static void test_alloc_exact_size_reuse(void **state)
{
	struct iova_space s;
	uint64_t a, b, c;

	(void)state;
	assert_int_equal(iova_init(&s, SVIO_IOVA_BASE, SVIO_IOVA_LIMIT), 0);
	assert_int_equal(iova_alloc(&s, 0, 3 * K4, &a), 0); /* fresh */
	assert_int_equal(iova_alloc(&s, 0, 3 * K4, &b), 0);
	assert_int_equal(a, SVIO_IOVA_BASE);
	assert_int_equal(b, a + 3 * K4);
	assert_int_equal(iova_free(&s, a, 3 * K4), 0);
	assert_int_equal(iova_alloc(&s, 0, 3 * K4, &c), 1); /* reused */
	assert_int_equal(c, a);
	/* Freed just below the bump pointer: the pointer comes down instead. */
	assert_int_equal(iova_free(&s, b, 3 * K4), 0);
	assert_int_equal(iova_alloc(&s, 0, 5 * K4, &b), 1); /* partly below the high water */
	assert_int_equal(b, a + 3 * K4);
	assert_int_equal(iova_high_water(&s), 8 * K4);
	iova_fini(&s);
}

static void test_alloc_coalesce(void **state)
{
	uint64_t io[100], big;
	struct iova_space s;

	(void)state;
	assert_int_equal(iova_init(&s, SVIO_IOVA_BASE, SVIO_IOVA_LIMIT), 0);
	for (unsigned int i = 0; i < 100; i++)
		assert_true(iova_alloc(&s, 0, K4, &io[i]) >= 0);
	assert_int_equal(iova_alloc(&s, 0, K4, &big), 0); /* keeps the bump pointer above */
	for (unsigned int i = 0; i < 100; i++)
		assert_int_equal(iova_free(&s, io[i], K4), 0);
	/* 100 single pages in the caches make one 100-page range again. */
	assert_int_equal(iova_alloc(&s, 0, 100 * K4, &io[0]), 1);
	assert_int_equal(io[0], SVIO_IOVA_BASE);
	assert_int_equal(iova_high_water(&s), 101 * K4);
	iova_fini(&s);
}

static void test_alloc_congruent(void **state)
{
	uint64_t a, b, c, g, va = UINT64_C(0x7f0000000000) + 5 * K4;
	struct iova_space s;

	(void)state;
	assert_int_equal(iova_init(&s, SVIO_IOVA_BASE, SVIO_IOVA_LIMIT), 0);
	assert_int_equal(iova_alloc(&s, 0, K4, &a), 0);
	assert_int_equal(iova_alloc(&s, va, 2 * M2, &b), 0);
	assert_int_equal(b & (M2 - 1), va & (M2 - 1));
	/* The alignment gap below b is free space: small maps land there. */
	assert_int_equal(iova_alloc(&s, 0, K4, &c), 1);
	assert_int_equal(c, a + K4);
	assert_int_equal(iova_alloc(&s, 0, M2, &g), 0); /* fresh, 2 MiB aligned, above b */
	assert_int_equal(g & (M2 - 1), 0);
	assert_true(g >= b + 2 * M2);
	assert_int_equal(iova_free(&s, b, 2 * M2), 0);
	/* Reused from the free set, at another offset. */
	va += 7 * K4;
	assert_int_equal(iova_alloc(&s, va, 2 * M2 + K4, &b), 1);
	assert_int_equal(b & (M2 - 1), va & (M2 - 1));
	assert_true(!overlap(b, 2 * M2 + K4, a, 2 * K4) && !overlap(b, 2 * M2 + K4, g, M2));
	assert_int_equal(iova_alloc(&s, 0, 2 * K4, &c), 1);
	assert_true(c < b);
	iova_fini(&s);
}

static void test_alloc_double_free_refused(void **state)
{
	struct iova_space s;
	uint64_t a, b;

	(void)state;
	assert_int_equal(iova_init(&s, SVIO_IOVA_BASE, SVIO_IOVA_LIMIT), 0);
	assert_int_equal(iova_alloc(&s, 0, 4 * K4, &a), 0);
	assert_int_equal(iova_alloc(&s, 0, 4 * K4, &b), 0);
	assert_int_equal(iova_free(&s, a, 4 * K4), 0);
	assert_int_equal(iova_free(&s, a, 4 * K4), -EINVAL);	      /* twice */
	assert_int_equal(iova_free(&s, a + 2 * K4, 4 * K4), -EINVAL); /* half of it twice */
	assert_int_equal(iova_free(&s, b + 4 * K4, K4), -EINVAL);     /* never handed out */
	assert_int_equal(iova_free(&s, SVIO_IOVA_BASE - K4, K4), -EINVAL);
	/* The refused frees changed nothing: a is handed out once, b stays in use. */
	assert_int_equal(iova_alloc(&s, 0, 4 * K4, &a), 1);
	assert_int_equal(iova_alloc(&s, 0, 4 * K4, &a), 0);
	assert_false(overlap(a, 4 * K4, b, 4 * K4));
	assert_int_equal(iova_free(&s, b + K4, 2 * K4), 0); /* part of a range is fine */
	assert_int_equal(iova_free(&s, b, 4 * K4), -EINVAL);
	iova_fini(&s);
}

/* Random allocations and frees of random parts: no two live ranges ever overlap. */
static void test_alloc_never_twice(void **state)
{
	struct {
		uint64_t iova, len;
	} live[64] = { { 0, 0 } };
	struct iova_space s;

	(void)state;
	assert_int_equal(iova_init(&s, SVIO_IOVA_BASE, SVIO_IOVA_LIMIT), 0);
	for (unsigned int i = 0; i < 50000; i++) {
		unsigned int k = (unsigned int)(rnd() % 64);
		uint64_t len, io;

		if (live[k].len > 0) {
			/* Free a head part first sometimes: partial frees happen on unmap. */
			uint64_t head = (rnd() % (live[k].len / K4)) * K4;

			if (head > 0) {
				assert_int_equal(iova_free(&s, live[k].iova, head), 0);
				live[k].iova += head;
				live[k].len -= head;
			}
			assert_int_equal(iova_free(&s, live[k].iova, live[k].len), 0);
			live[k].len = 0;
		}
		len = (1 + rnd() % (i % 7 == 0 ? 700 : 64)) * K4;
		assert_true(iova_alloc(&s, rnd() & ~(K4 - 1) & ((UINT64_C(1) << 47) - 1), len,
				       &io) >= 0);
		for (unsigned int j = 0; j < 64; j++)
			assert_false(live[j].len > 0 &&
				     overlap(io, len, live[j].iova, live[j].len));
		live[k].iova = io;
		live[k].len = len;
	}
	/* 64 live ranges of at most ~3 MiB (with alignment): the space stays small. */
	print_message("allocator high water: %" PRIu64 " KiB\n", iova_high_water(&s) >> 10);
	assert_true(iova_high_water(&s) < UINT64_C(512) << 20);
	iova_fini(&s);
}

/* Through the domain. */

static void test_strict_reuse(void **state)
{
	struct svio_domain *d = make_domain(SVIO_FLUSH_STRICT, 256, 10000);
	uint64_t a, b;

	(void)state;
	assert_int_equal(svio_dma_map(d, VA(0), 4 * K4, SVIO_DMA_RW, &a), 0);
	assert_int_equal(svio_dma_unmap(d, a, 4 * K4), 0);
	/* The flush completed before unmap returned: the same IOVA comes back. */
	assert_int_equal(svio_dma_map(d, VA(0x100000), 4 * K4, SVIO_DMA_RW, &b), 0);
	assert_int_equal(b, a);
	assert_int_equal(stats(d).iova_freed_pages, 4);
	assert_int_equal(stats(d).iova_reused, 1);
	assert_int_equal(svio_dma_unmap(d, b, 4 * K4), 0);
	/* Unmapping again finds nothing and frees nothing. */
	assert_int_equal(svio_dma_unmap(d, b, 4 * K4), -ENOENT);
	assert_int_equal(stats(d).iova_freed_pages, 8);
	assert_int_equal(stats(d).iova_free_refused, 0);
	svio_domain_destroy(d);
}

struct rel_check {
	struct svio_domain *dom;
	uint64_t freed_at_release; /**< iova_freed_pages seen by the release */
	unsigned int runs;
};

static void on_release(void *arg)
{
	struct rel_check *r = arg;
	struct svio_iommu_stats st;

	svio_iommu_stats_get(r->dom, &st);
	r->freed_at_release = st.iova_freed_pages;
	r->runs++;
}

static void test_lazy_no_reuse_before_flush(void **state)
{
	/* A batch and a timeout that never trigger: only sync flushes. */
	struct svio_domain *d = make_domain(SVIO_FLUSH_LAZY, 4096, 1000000000);
	struct rel_check rc = { .dom = d };
	uint64_t a, io[300];

	(void)state;
	assert_int_equal(svio_dma_map(d, VA(0), 2 * K4, SVIO_DMA_RW, &a), 0);
	assert_int_equal(svio_dma_unmap_release(d, a, 2 * K4, on_release, &rc), 0);
	/* Queued, not flushed: no map, of any size, gets any of it. */
	for (unsigned int i = 0; i < 300; i++) {
		uint64_t len = (1 + i % 3) * K4;

		assert_int_equal(
			svio_dma_map(d, VA(0x100000 + i * 4 * K4), len, SVIO_DMA_RW, &io[i]), 0);
		assert_false(overlap(io[i], len, a, 2 * K4));
	}
	assert_int_equal(rc.runs, 0);
	assert_int_equal(stats(d).iova_freed_pages, 0);
	assert_int_equal(svio_iommu_sync(d), 0);
	/* Flushed: the space went back before the release ran, and is reused. */
	assert_int_equal(rc.runs, 1);
	assert_int_equal(rc.freed_at_release, 2);
	assert_int_equal(svio_dma_map(d, VA(0x800000), 2 * K4, SVIO_DMA_RW, &io[0]), 0);
	assert_int_equal(io[0], a);
	assert_int_equal(stats(d).iova_reused, 1);
	svio_domain_destroy(d);
}

static void test_failed_flush_keeps_space(void **state)
{
	struct svio_domain *d = make_domain(SVIO_FLUSH_STRICT, 256, 10000);
	uint64_t a, b, c;

	(void)state;
	assert_int_equal(svio_dma_map(d, VA(0), 2 * K4, SVIO_DMA_RW, &a), 0);
	fake_iommu_set_error(&f0, true);
	assert_int_equal(svio_dma_unmap(d, a, 2 * K4), -EIO);
	fake_iommu_set_error(&f0, false);
	/* The invalidation failed: the device may still cache a, so it stays out. */
	assert_int_equal(svio_dma_map(d, VA(0x10000), 2 * K4, SVIO_DMA_RW, &b), 0);
	assert_false(overlap(a, 2 * K4, b, 2 * K4));
	assert_int_equal(stats(d).iova_freed_pages, 0);
	/* The retry succeeds: now it comes back. */
	assert_int_equal(svio_iommu_sync(d), 0);
	assert_int_equal(stats(d).iova_freed_pages, 2);
	assert_int_equal(svio_dma_map(d, VA(0x20000), 2 * K4, SVIO_DMA_RW, &c), 0);
	assert_int_equal(c, a);
	svio_domain_destroy(d);
}

static void test_unmap_with_holes(void **state)
{
	struct svio_domain *d = make_domain(SVIO_FLUSH_STRICT, 256, 10000);
	uint64_t a, b, c, x;

	(void)state;
	assert_int_equal(svio_dma_map(d, VA(0), 4 * K4, SVIO_DMA_RW, &a), 0);
	assert_int_equal(svio_dma_map(d, VA(0x10000), 4 * K4, SVIO_DMA_RW, &b), 0);
	assert_int_equal(svio_dma_map(d, VA(0x20000), 4 * K4, SVIO_DMA_RW, &c), 0);
	assert_int_equal(b, a + 4 * K4);
	assert_int_equal(c, b + 4 * K4);
	assert_int_equal(svio_dma_unmap(d, b, 4 * K4), 0);
	/* One unmap over a, the hole b left and c: only a and c are freed. */
	assert_int_equal(svio_dma_unmap(d, a, 12 * K4), 0);
	assert_int_equal(stats(d).iova_freed_pages, 12);
	assert_int_equal(stats(d).iova_free_refused, 0);
	/* A hole inside one map: the middle goes first, then the rest around it. */
	assert_int_equal(svio_dma_map(d, VA(0x40000), 8 * K4, SVIO_DMA_RW, &x), 0);
	assert_int_equal(svio_dma_unmap(d, x + 2 * K4, 2 * K4), 0);
	assert_int_equal(svio_dma_map(d, VA(0x50000), 2 * K4, SVIO_DMA_RW, &b), 0);
	assert_int_equal(b, x + 2 * K4); /* the hole now belongs to someone else */
	assert_int_equal(svio_dma_unmap(d, x, 2 * K4), 0);
	assert_int_equal(svio_dma_unmap(d, x + 4 * K4, 4 * K4), 0);
	assert_int_equal(stats(d).iova_freed_pages, 20);
	/* The other map is untouched and still translates. */
	assert_int_equal(pgtable_lookup(&d->pgt, b, &x, NULL, NULL), 0);
	assert_int_equal(x, (uint64_t)(uintptr_t)VA(0x50000));
	assert_int_equal(stats(d).iova_free_refused, 0);
	svio_domain_destroy(d);
}

/* What a release says about an unmapped range: still quarantined, or flushed. */
struct pending {
	uint64_t iova, len;
	bool quarantined;
};

static void on_flushed(void *arg)
{
	((struct pending *)arg)->quarantined = false;
}

#define LOOP_ITERS 200000
#define LOOP_LIVE  8
#define LOOP_RING  256

static void test_lazy_high_water_bounded(void **state)
{
	struct svio_domain *d = make_domain(SVIO_FLUSH_LAZY, 16, 100);
	static struct pending ring[LOOP_RING];
	struct {
		uint64_t iova, len;
	} live[LOOP_LIVE] = { { 0, 0 } };
	struct svio_iommu_stats st;
	unsigned int head = 0;

	(void)state;
	memset(ring, 0, sizeof(ring));
	for (unsigned int i = 0; i < LOOP_ITERS; i++) {
		unsigned int k = (unsigned int)(rnd() % LOOP_LIVE);
		uint64_t len = (1 + rnd() % 64) * K4, io;

		if (live[k].len > 0) {
			struct pending *p = &ring[head++ % LOOP_RING];

			/* The ring is far bigger than the queue: this slot was flushed long ago. */
			assert_false(p->quarantined);
			*p = (struct pending){ live[k].iova, live[k].len, true };
			assert_int_equal(
				svio_dma_unmap_release(d, live[k].iova, live[k].len, on_flushed, p),
				0);
			live[k].len = 0;
		}
		assert_int_equal(svio_dma_map(d, VA(k * 64 * K4), len, SVIO_DMA_RW, &io), 0);
		/* Never space whose unmap is still waiting for its flush. */
		for (unsigned int j = 0; j < LOOP_RING; j++)
			if (ring[j].quarantined && overlap(io, len, ring[j].iova, ring[j].len))
				fail_msg("iteration %u: 0x%" PRIx64 " reused before its flush", i,
					 io);
		live[k].iova = io;
		live[k].len = len;
		if (i % 64 == 0)
			assert_true(svio_iommu_poll(d) >= 0);
	}
	st = stats(d);
	print_message("%u maps: high water %" PRIu64 " KiB, %" PRIu64 " reused, %" PRIu64
		      " batches\n",
		      LOOP_ITERS, st.iova_high_water >> 10, st.iova_reused, st.batches);
	/* Without reuse: about 200000 * 130 KiB = 25 GiB. */
	assert_true(st.iova_high_water < UINT64_C(64) << 20);
	assert_true(st.iova_reused > LOOP_ITERS / 2);
	assert_int_equal(st.iova_free_refused, 0);
	svio_domain_destroy(d);
}

static void test_sva_unchanged(void **state)
{
	struct svio_iommu_config cfg;
	struct svio_domain *d;
	uint64_t io;

	(void)state;
	svio_iommu_config_default(&cfg);
	assert_int_equal(svio_domain_create(&cfg, &d), 0);
	assert_null(d->iova);
	assert_int_equal(svio_dma_map(d, VA(0), 2 * K4, SVIO_DMA_RW, &io), 0);
	assert_int_equal(io, (uint64_t)(uintptr_t)VA(0));
	assert_int_equal(svio_dma_unmap(d, io, 2 * K4), 0);
	assert_int_equal(stats(d).iova_freed_pages, 0);
	assert_int_equal(stats(d).iova_high_water, 0);
	svio_domain_destroy(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_exact_size_reuse),
		cmocka_unit_test(test_alloc_coalesce),
		cmocka_unit_test(test_alloc_congruent),
		cmocka_unit_test(test_alloc_double_free_refused),
		cmocka_unit_test(test_alloc_never_twice),
		cmocka_unit_test(test_strict_reuse),
		cmocka_unit_test(test_lazy_no_reuse_before_flush),
		cmocka_unit_test(test_failed_flush_keeps_space),
		cmocka_unit_test(test_unmap_with_holes),
		cmocka_unit_test(test_lazy_high_water_bounded),
		cmocka_unit_test(test_sva_unchanged),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
