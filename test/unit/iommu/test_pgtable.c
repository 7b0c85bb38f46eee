/* SPDX-License-Identifier: BSD-3-Clause */
/* The first-stage page table: map, unmap and lookup at the edges. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "svio_iommu.h"
#include "svio_x86_pte.h"
#include "pgtable.h"

#define K4 UINT64_C(0x1000)
#define M2 UINT64_C(0x200000)
#define G1 UINT64_C(0x40000000)

struct cleared {
	unsigned int n;
	uint64_t iova[64], len[64];
};

static void note_cleared(void *ctx, uint64_t iova, uint64_t len)
{
	struct cleared *c = ctx;

	if (c->n < 64) {
		c->iova[c->n] = iova;
		c->len[c->n] = len;
	}
	c->n++;
}

static int setup(void **state)
{
	struct svio_pgtable *pt = calloc(1, sizeof(*pt));

	if (pt == NULL || pgtable_init(pt) < 0)
		return -1;
	*state = pt;
	return 0;
}

static int teardown(void **state)
{
	pgtable_fini(*state);
	free(*state);
	return 0;
}

static void test_map_lookup_4k(void **state)
{
	struct svio_pgtable *pt = *state;
	uint64_t pa, flags, size;

	assert_int_equal(pgtable_map(pt, 0x10000, 0x7000, 2 * K4, SVIO_DMA_READ), 0);
	assert_int_equal(pgtable_lookup(pt, 0x10000, &pa, &flags, &size), 0);
	assert_int_equal(pa, 0x7000);
	assert_int_equal(size, K4);
	assert_true(flags & SVIO_PTE_P);
	assert_true(flags & SVIO_PTE_US);
	assert_false(flags & SVIO_PTE_RW);
	assert_int_equal(pgtable_lookup(pt, 0x11234, &pa, NULL, NULL), 0);
	assert_int_equal(pa, 0x8234);
	assert_int_equal(pgtable_lookup(pt, 0x12000, &pa, NULL, NULL), -ENOENT);
	assert_int_equal(pgtable_lookup(pt, 0xf000, &pa, NULL, NULL), -ENOENT);

	assert_int_equal(pgtable_map(pt, 0x20000, 0x9000, K4, SVIO_DMA_WRITE), 0);
	assert_int_equal(pgtable_lookup(pt, 0x20000, NULL, &flags, NULL), 0);
	assert_true(flags & SVIO_PTE_RW);
	/* Table pages are what the IOMMU walks: root, PDPT, PD, PT. */
	assert_int_equal(pt->tables, 4);
	assert_int_equal(pgtable_root(pt) & (K4 - 1), 0);
}

static void test_map_bad_input(void **state)
{
	struct svio_pgtable *pt = *state;
	uint64_t top = UINT64_C(1) << SVIO_PT_VA_BITS;

	assert_int_equal(pgtable_map(pt, 0x1001, 0x1000, K4, SVIO_DMA_RW), -EINVAL);
	assert_int_equal(pgtable_map(pt, 0x1000, 0x1001, K4, SVIO_DMA_RW), -EINVAL);
	assert_int_equal(pgtable_map(pt, 0x1000, 0x1000, 100, SVIO_DMA_RW), -EINVAL);
	assert_int_equal(pgtable_map(pt, 0x1000, 0x1000, 0, SVIO_DMA_RW), -EINVAL);
	assert_int_equal(pgtable_map(pt, 0x1000, 0x1000, K4, 0), -EINVAL);
	assert_int_equal(pgtable_map(pt, 0x1000, 0x1000, K4, 0x4), -EINVAL);
	/* Past 48 bits, and a length that wraps. */
	assert_int_equal(pgtable_map(pt, top, 0x1000, K4, SVIO_DMA_RW), -EINVAL);
	assert_int_equal(pgtable_map(pt, top - K4, 0x1000, 2 * K4, SVIO_DMA_RW), -EINVAL);
	assert_int_equal(pgtable_map(pt, 0x1000, 0x1000, UINT64_MAX - K4 + 1, SVIO_DMA_RW),
			 -EINVAL);
	/* Physical address beyond bit 51. */
	assert_int_equal(pgtable_map(pt, 0x1000, UINT64_C(1) << 52, K4, SVIO_DMA_RW), -EINVAL);
	/* The last page below 2^48 is fine. */
	assert_int_equal(pgtable_map(pt, top - K4, 0x1000, K4, SVIO_DMA_RW), 0);
	assert_int_equal(pgtable_unmap(pt, top - K4, K4, NULL, NULL, NULL), 0);
	assert_int_equal(pgtable_unmap(pt, 0x1001, K4, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(pgtable_unmap(pt, top, K4, NULL, NULL, NULL), -EINVAL);
}

static void test_overlap_is_all_or_nothing(void **state)
{
	struct svio_pgtable *pt = *state;

	assert_int_equal(pgtable_map(pt, 0x40000, 0x40000, K4, SVIO_DMA_RW), 0);
	/* Overlaps the page above at its last page: nothing of it may be mapped. */
	assert_int_equal(pgtable_map(pt, 0x3c000, 0x100000, 5 * K4, SVIO_DMA_RW), -EEXIST);
	assert_int_equal(pgtable_lookup(pt, 0x3c000, NULL, NULL, NULL), -ENOENT);
	assert_int_equal(pgtable_map(pt, 0x40000, 0x100000, K4, SVIO_DMA_RW), -EEXIST);
	assert_int_equal(pgtable_map(pt, 0x3c000, 0x100000, 4 * K4, SVIO_DMA_RW), 0);
}

static void test_unmap_reports_what_was_cleared(void **state)
{
	struct svio_pgtable *pt = *state;
	struct cleared c = { 0 };
	void *freed = NULL;

	assert_int_equal(pgtable_unmap(pt, 0x100000, K4, note_cleared, &c, &freed), -ENOENT);
	assert_int_equal(c.n, 0);
	assert_int_equal(pgtable_map(pt, 0x100000, 0x100000, K4, SVIO_DMA_RW), 0);
	assert_int_equal(pgtable_map(pt, 0x103000, 0x103000, K4, SVIO_DMA_RW), 0);
	/* A range with holes: only the two pages are reported. */
	assert_int_equal(pgtable_unmap(pt, 0x100000, 8 * K4, note_cleared, &c, &freed), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.iova[0], 0x100000);
	assert_int_equal(c.len[0], K4);
	assert_int_equal(c.iova[1], 0x103000);
	assert_int_equal(pgtable_lookup(pt, 0x100000, NULL, NULL, NULL), -ENOENT);
	/* The PT, PD and PDPT emptied: unlinked, but kept for after the flush. */
	assert_non_null(freed);
	assert_int_equal(pt->tables, 1);
	pgtable_free_tables(pt, freed);
	assert_int_equal(pgtable_unmap(pt, 0x100000, K4, NULL, NULL, NULL), -ENOENT);
}

static void test_large_leaves(void **state)
{
	struct svio_pgtable *pt = *state;
	uint64_t pa, size;
	struct cleared c = { 0 };

	/* 1 GiB + 2 MiB + 4 KiB, all aligned: one 1G leaf, one 2M leaf, one 4K leaf. */
	assert_int_equal(pgtable_map(pt, G1, 2 * G1, G1 + M2 + K4, SVIO_DMA_RW), 0);
	assert_int_equal(pgtable_lookup(pt, G1 + 0x12345000, &pa, NULL, &size), 0);
	assert_int_equal(size, G1);
	assert_int_equal(pa, 2 * G1 + 0x12345000);
	assert_int_equal(pgtable_lookup(pt, 2 * G1 + 0x1000, NULL, NULL, &size), 0);
	assert_int_equal(size, M2);
	assert_int_equal(pgtable_lookup(pt, 2 * G1 + M2, NULL, NULL, &size), 0);
	assert_int_equal(size, K4);

	/* Misaligned pa: no large leaf. */
	assert_int_equal(pgtable_map(pt, 8 * G1, 3 * G1 + K4, M2, SVIO_DMA_RW), 0);
	assert_int_equal(pgtable_lookup(pt, 8 * G1, NULL, NULL, &size), 0);
	assert_int_equal(size, K4);

	/* Unmap one 4K page inside the 1G leaf: split, the rest still translates. */
	assert_int_equal(pgtable_unmap(pt, G1 + M2 + K4, K4, note_cleared, &c, NULL), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.iova[0], G1 + M2 + K4);
	assert_int_equal(c.len[0], K4);
	assert_int_equal(pgtable_lookup(pt, G1 + M2 + K4, NULL, NULL, NULL), -ENOENT);
	assert_int_equal(pgtable_lookup(pt, G1 + M2, &pa, NULL, &size), 0);
	assert_int_equal(pa, 2 * G1 + M2);
	assert_int_equal(size, K4);
	assert_int_equal(pgtable_lookup(pt, G1 + 2 * M2, &pa, NULL, &size), 0);
	assert_int_equal(size, M2);
	assert_int_equal(pgtable_lookup(pt, G1 + 0x30000000, &pa, NULL, NULL), 0);
	assert_int_equal(pa, 2 * G1 + 0x30000000);

	/* Whole-leaf unmap reports the leaf. */
	c.n = 0;
	assert_int_equal(pgtable_unmap(pt, 2 * G1, M2, note_cleared, &c, NULL), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.len[0], M2);
}

static void test_map_after_unmap_reuses_space(void **state)
{
	struct svio_pgtable *pt = *state;
	void *freed = NULL;
	uint64_t pa;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(pgtable_map(pt, 0x7f0000000000, 0x5000, 4 * K4, SVIO_DMA_RW), 0);
		assert_int_equal(pgtable_lookup(pt, 0x7f0000003000, &pa, NULL, NULL), 0);
		assert_int_equal(pa, 0x8000);
		assert_int_equal(pgtable_unmap(pt, 0x7f0000000000, 4 * K4, NULL, NULL, &freed), 0);
	}
	pgtable_free_tables(pt, freed);
	assert_int_equal(pt->tables, 1);
}

/* A page source that counts what it hands out and takes back. */
static unsigned int counted_out;

static void *counted_alloc(void)
{
	void *p = aligned_alloc(K4, K4);

	counted_out += p != NULL;
	return p;
}

static void counted_free(void *p)
{
	counted_out--;
	free(p);
}

static const struct pgtable_page_ops counted_pages = {
	.alloc = counted_alloc,
	.free = counted_free,
};
static const struct pgtable_page_ops other_pages = {
	.alloc = counted_alloc,
	.free = counted_free,
};

/* A table's page source is its own: set while empty, then every table page comes from it. */
static void test_set_pages(void **state)
{
	struct svio_pgtable *pt = *state, other;
	uint64_t pa;

	assert_int_equal(pgtable_init(&other), 0);
	counted_out = 0;
	assert_int_equal(pgtable_set_pages(pt, &counted_pages), 0);
	assert_int_equal(counted_out, 1); /* the root moved */
	assert_true(pgtable_root(pt) != 0);
	assert_int_equal(pgtable_root(pt) & (K4 - 1), 0);
	assert_int_equal(pgtable_set_pages(pt, &counted_pages), 0); /* already there */
	assert_int_equal(pgtable_map(pt, 0x40000000, 0x5000, K4, SVIO_DMA_RW), 0);
	assert_int_equal(counted_out, 4); /* root, PDPT, PD, PT */
	assert_int_equal(pgtable_lookup(pt, 0x40000000, &pa, NULL, NULL), 0);
	assert_int_equal(pa, 0x5000);
	/* Not another table's: that one still takes heap pages. */
	assert_int_equal(pgtable_map(&other, 0x40000000, 0x5000, K4, SVIO_DMA_RW), 0);
	assert_int_equal(counted_out, 4);
	pgtable_fini(&other);
	/* Something is mapped: the source cannot change any more. */
	assert_int_equal(pgtable_set_pages(pt, &other_pages), -EBUSY);
	assert_int_equal(pgtable_set_pages(pt, NULL), -EINVAL);
	pgtable_fini(pt);
	assert_int_equal(counted_out, 0);
	assert_int_equal(pgtable_init(pt), 0); /* for teardown */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_map_lookup_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_is_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_reports_what_was_cleared, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_large_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_after_unmap_reuses_space, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
