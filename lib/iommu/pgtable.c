/* SPDX-License-Identifier: BSD-3-Clause */
/* First-stage page table: map, unmap, lookup (see pgtable.h for the rules). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "svio_iommu.h"
#include "svio_x86_pte.h"
#include "pgtable.h"

#define PT_VA_LIMIT (UINT64_C(1) << SVIO_PT_VA_BITS)
/* Intermediate entries grant everything; the leaf decides. */
#define PT_TABLE_BITS (SVIO_PTE_P | SVIO_PTE_RW | SVIO_PTE_US)

/* The walker reads entries concurrently: every access is one atomic 8-byte access. */
static inline uint64_t pte_get(const uint64_t *e)
{
	return __atomic_load_n(e, __ATOMIC_ACQUIRE);
}

/* Release: whatever the entry points to is written before the entry is visible. */
static inline void pte_set(uint64_t *e, uint64_t v)
{
	__atomic_store_n(e, v, __ATOMIC_RELEASE);
}

static inline uint64_t *pte_table(uint64_t pte)
{
	return (uint64_t *)(uintptr_t)(pte & SVIO_PTE_ADDR_MASK);
}

static inline bool pte_is_leaf(uint64_t pte, unsigned int level)
{
	return level == 1 || (pte & SVIO_PTE_PS);
}

static inline uint64_t level_size(unsigned int level)
{
	return UINT64_C(1) << svio_pt_level_shift(level);
}

/* End of the region the entry covering @p va at @p level maps, clipped to @p end. */
static inline uint64_t entry_end(uint64_t va, unsigned int level, uint64_t end)
{
	uint64_t next = (va | (level_size(level) - 1)) + 1;

	return next < end ? next : end;
}

static void *heap_page_alloc(void)
{
	return aligned_alloc(SVIO_PT_PAGE_SIZE, SVIO_PT_PAGE_SIZE);
}

static const struct pgtable_page_ops heap_page_ops = {
	.alloc = heap_page_alloc,
	.free = free,
};

/*
 * pt->pages changes under pt->lock while nothing is mapped; a flush may
 * still free an earlier unmap's tables meanwhile, hence the atomics.
 */
static void table_free(const struct svio_pgtable *pt, void *t)
{
	__atomic_load_n(&pt->pages, __ATOMIC_ACQUIRE)->free(t);
}

static uint64_t *table_alloc(struct svio_pgtable *pt)
{
	uint64_t *t = __atomic_load_n(&pt->pages, __ATOMIC_ACQUIRE)->alloc();

	if (t == NULL)
		return NULL;
	memset(t, 0, SVIO_PT_PAGE_SIZE);
	pt->tables++;
	return t;
}

static bool table_empty(const uint64_t *t)
{
	for (unsigned int i = 0; i < SVIO_PT_ENTRIES; i++)
		if (pte_get(&t[i]) & SVIO_PTE_P)
			return false;
	return true;
}

int pgtable_init(struct svio_pgtable *pt)
{
	pt->tables = 0;
	pt->pages = &heap_page_ops;
	pt->root = table_alloc(pt);
	if (pt->root == NULL)
		return -ENOMEM;
	pthread_mutex_init(&pt->lock, NULL);
	return 0;
}

int pgtable_set_pages(struct svio_pgtable *pt, const struct pgtable_page_ops *ops)
{
	uint64_t *root;
	int rc = 0;

	if (ops == NULL)
		return -EINVAL;
	pthread_mutex_lock(&pt->lock);
	if (ops == pt->pages)
		goto out_unlock;
	if (pt->tables != 1 || !table_empty(pt->root)) {
		rc = -EBUSY;
		goto out_unlock;
	}
	root = ops->alloc();
	if (root == NULL) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	memset(root, 0, SVIO_PT_PAGE_SIZE);
	table_free(pt, pt->root);
	__atomic_store_n(&pt->pages, ops, __ATOMIC_RELEASE);
	pt->root = root;
out_unlock:
	pthread_mutex_unlock(&pt->lock);
	return rc;
}

static void table_free_tree(const struct svio_pgtable *pt, uint64_t *t, unsigned int level)
{
	if (level > 1) {
		for (unsigned int i = 0; i < SVIO_PT_ENTRIES; i++) {
			uint64_t pte = pte_get(&t[i]);

			if ((pte & SVIO_PTE_P) && !pte_is_leaf(pte, level))
				table_free_tree(pt, pte_table(pte), level - 1);
		}
	}
	table_free(pt, t);
}

void pgtable_fini(struct svio_pgtable *pt)
{
	if (pt->root == NULL)
		return;
	table_free_tree(pt, pt->root, SVIO_PT_LEVELS);
	pt->root = NULL;
	pthread_mutex_destroy(&pt->lock);
}

uint64_t pgtable_root(const struct svio_pgtable *pt)
{
	return (uint64_t)(uintptr_t)pt->root;
}

static bool range_ok(uint64_t iova, uint64_t len)
{
	if (len == 0 || (iova | len) & (SVIO_PT_PAGE_SIZE - 1))
		return false;
	return iova < PT_VA_LIMIT && len <= PT_VA_LIMIT - iova;
}

/* Is any page of [va, end) mapped under table @p t of @p level? */
static bool range_busy(const uint64_t *t, unsigned int level, uint64_t va, uint64_t end)
{
	while (va < end) {
		uint64_t next = entry_end(va, level, end);
		uint64_t pte = pte_get(&t[svio_pt_index(va, level)]);

		if (pte & SVIO_PTE_P) {
			if (pte_is_leaf(pte, level))
				return true;
			if (range_busy(pte_table(pte), level - 1, va, next))
				return true;
		}
		va = next;
	}
	return false;
}

static int map_level(struct svio_pgtable *pt, uint64_t *t, unsigned int level, uint64_t va,
		     uint64_t end, uint64_t pa, uint64_t leaf_bits, uint64_t *done)
{
	while (va < end) {
		uint64_t size = level_size(level);
		uint64_t next = entry_end(va, level, end);
		uint64_t *e = &t[svio_pt_index(va, level)];
		uint64_t pte = pte_get(e);
		bool whole = (va & (size - 1)) == 0 && (pa & (size - 1)) == 0 && next - va == size;

		if (level == 1) {
			pte_set(e, (pa & SVIO_PTE_ADDR_MASK) | leaf_bits);
		} else if (level <= 3 && whole && !(pte & SVIO_PTE_P)) {
			pte_set(e, (pa & SVIO_PTE_ADDR_MASK) | leaf_bits | SVIO_PTE_PS);
		} else {
			uint64_t *sub;
			int rc;

			if (!(pte & SVIO_PTE_P)) {
				sub = table_alloc(pt);
				if (sub == NULL)
					return -ENOMEM;
				pte_set(e, (uint64_t)(uintptr_t)sub | PT_TABLE_BITS);
			} else {
				sub = pte_table(pte);
			}
			rc = map_level(pt, sub, level - 1, va, next, pa, leaf_bits, done);
			if (rc < 0)
				return rc;
			pa += next - va;
			va = next;
			continue;
		}
		*done = next;
		pa += next - va;
		va = next;
	}
	return 0;
}

static void unmap_level(struct svio_pgtable *pt, uint64_t *t, unsigned int level, uint64_t va,
			uint64_t end, pgtable_cleared_fn cleared, void *ctx, void **freed,
			bool *any)
{
	while (va < end) {
		uint64_t next = entry_end(va, level, end);
		uint64_t *e = &t[svio_pt_index(va, level)];
		uint64_t pte = pte_get(e);

		if (!(pte & SVIO_PTE_P)) {
			va = next;
			continue;
		}
		if (pte_is_leaf(pte, level)) {
			/* Edges were split beforehand: this leaf lies inside the range. */
			pte_set(e, 0);
			*any = true;
			if (cleared != NULL)
				cleared(ctx, va, next - va);
		} else {
			uint64_t *sub = pte_table(pte);

			unmap_level(pt, sub, level - 1, va, next, cleared, ctx, freed, any);
			if (freed != NULL && table_empty(sub)) {
				pte_set(e, 0);
				/*
				 * Chain through entry 0: a page address has bit 0
				 * (Present) clear, so a walker still reading this
				 * table sees a non-present entry.
				 */
				pte_set(&sub[0], (uint64_t)(uintptr_t)*freed);
				*freed = sub;
				pt->tables--;
			}
		}
		va = next;
	}
}

/* Replace a large leaf by a table of smaller leaves with the same translation. */
static int split_leaf(struct svio_pgtable *pt, uint64_t *e, unsigned int level)
{
	uint64_t pte = pte_get(e);
	uint64_t base = pte & SVIO_PTE_ADDR_MASK;
	uint64_t bits = pte & (SVIO_PTE_RW | SVIO_PTE_US | SVIO_PTE_P);
	uint64_t sub_size = level_size(level - 1);
	uint64_t *sub = table_alloc(pt);

	if (sub == NULL)
		return -ENOMEM;
	if (level - 1 > 1)
		bits |= SVIO_PTE_PS;
	for (unsigned int i = 0; i < SVIO_PT_ENTRIES; i++)
		sub[i] = (base + i * sub_size) | bits;
	pte_set(e, (uint64_t)(uintptr_t)sub | PT_TABLE_BITS);
	return 0;
}

/* Make sure no large leaf straddles @p va. */
static int split_at(struct svio_pgtable *pt, uint64_t va)
{
	uint64_t *t = pt->root;

	if (va >= PT_VA_LIMIT)
		return 0;
	for (unsigned int level = SVIO_PT_LEVELS; level > 1; level--) {
		uint64_t *e = &t[svio_pt_index(va, level)];
		uint64_t pte = pte_get(e);

		if (!(pte & SVIO_PTE_P))
			return 0;
		if (pte_is_leaf(pte, level)) {
			int rc;

			if ((va & (level_size(level) - 1)) == 0)
				return 0;
			rc = split_leaf(pt, e, level);
			if (rc < 0)
				return rc;
			pte = pte_get(e);
		}
		t = pte_table(pte);
	}
	return 0;
}

int pgtable_map(struct svio_pgtable *pt, uint64_t iova, uint64_t pa, uint64_t len, int prot)
{
	uint64_t leaf_bits = SVIO_PTE_P | SVIO_PTE_US;
	uint64_t done;
	int rc;

	if (!range_ok(iova, len) || (pa & (SVIO_PT_PAGE_SIZE - 1)) || (pa & ~SVIO_PTE_ADDR_MASK) ||
	    (prot & ~SVIO_DMA_RW) || prot == 0)
		return -EINVAL;
	if (prot & SVIO_DMA_WRITE)
		leaf_bits |= SVIO_PTE_RW;

	pthread_mutex_lock(&pt->lock);
	if (range_busy(pt->root, SVIO_PT_LEVELS, iova, iova + len)) {
		rc = -EEXIST;
		goto out_unlock;
	}
	done = iova;
	rc = map_level(pt, pt->root, SVIO_PT_LEVELS, iova, iova + len, pa, leaf_bits, &done);
	if (rc < 0 && done > iova) {
		bool any = false;

		/*
		 * Undo the leaves written so far. The caller has no IOVA yet, so
		 * no device was told to use them; new tables stay linked.
		 */
		unmap_level(pt, pt->root, SVIO_PT_LEVELS, iova, done, NULL, NULL, NULL, &any);
	}
out_unlock:
	pthread_mutex_unlock(&pt->lock);
	return rc;
}

int pgtable_unmap(struct svio_pgtable *pt, uint64_t iova, uint64_t len, pgtable_cleared_fn cleared,
		  void *ctx, void **freed)
{
	bool any = false;
	int rc;

	if (!range_ok(iova, len))
		return -EINVAL;

	pthread_mutex_lock(&pt->lock);
	rc = split_at(pt, iova);
	if (rc == 0)
		rc = split_at(pt, iova + len);
	if (rc == 0) {
		unmap_level(pt, pt->root, SVIO_PT_LEVELS, iova, iova + len, cleared, ctx, freed,
			    &any);
		if (!any)
			rc = -ENOENT;
	}
	pthread_mutex_unlock(&pt->lock);
	return rc;
}

int pgtable_lookup(struct svio_pgtable *pt, uint64_t iova, uint64_t *pa, uint64_t *flags,
		   uint64_t *size)
{
	uint64_t *t;
	int rc = -ENOENT;

	if (iova >= PT_VA_LIMIT)
		return -ENOENT;
	pthread_mutex_lock(&pt->lock);
	t = pt->root;
	for (unsigned int level = SVIO_PT_LEVELS; level >= 1; level--) {
		uint64_t pte = pte_get(&t[svio_pt_index(iova, level)]);

		if (!(pte & SVIO_PTE_P))
			break;
		if (pte_is_leaf(pte, level)) {
			uint64_t sz = level_size(level);

			if (pa != NULL)
				*pa = (pte & SVIO_PTE_ADDR_MASK) + (iova & (sz - 1));
			if (flags != NULL)
				*flags = pte & ~SVIO_PTE_ADDR_MASK;
			if (size != NULL)
				*size = sz;
			rc = 0;
			break;
		}
		t = pte_table(pte);
	}
	pthread_mutex_unlock(&pt->lock);
	return rc;
}

void pgtable_free_tables(struct svio_pgtable *pt, void *freed)
{
	while (freed != NULL) {
		uint64_t *t = freed;

		freed = (void *)(uintptr_t)pte_get(&t[0]);
		table_free(pt, t);
	}
}

void pgtable_chain_tables(void **a, void *b)
{
	uint64_t *t;

	if (b == NULL)
		return;
	if (*a == NULL) {
		*a = b;
		return;
	}
	t = *a;
	while (pte_get(&t[0]) != 0)
		t = (uint64_t *)(uintptr_t)pte_get(&t[0]);
	pte_set(&t[0], (uint64_t)(uintptr_t)b);
}
