/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IOVA space of a domain without SVA.
 *
 * The rule: space comes back here only once the invalidation covering its
 * unmap has completed (flush.c frees it from the batch that completed it,
 * before the unmap's release callback). Reusing it earlier would let a
 * device's cached translation of the old mapping serve the new one.
 *
 * Three layers, cheapest first:
 * - per-size caches: LIFO stacks of free ranges of exactly n pages
 *   (1 .. IOVA_CACHE_PAGES), O(1) reuse for streaming maps of one size;
 * - the free set: ranges sorted by address, coalesced on insert, searched
 *   first fit (low addresses first keeps the space compact);
 * - the bump pointer. Before it moves up, the caches are drained into the
 *   set (when they hold enough to matter), and space freed just below it
 *   lowers it again.
 * Large maps keep va and iova congruent modulo 2 MiB or 1 GiB (large leaves
 * stay possible).
 *
 * A bitmap of the pages handed out (one bit a 4 KiB page, 32 KiB of bits
 * per GiB of space, made when the bump pointer first reaches it) makes every
 * free check that all its pages are handed out (a double free, or a free of
 * space never handed out, is refused and logged) and every allocation check
 * that none of its pages is.
 *
 * Locking: one mutex, a leaf. The map path takes it alone; the flush batch
 * that frees takes it under dom->flush_lock.
 */
#ifndef SVIO_IOMMU_IOVA_H
#define SVIO_IOMMU_IOVA_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/** Exact-size caches for 1 .. this many pages. */
#define IOVA_CACHE_PAGES 64
/** Ranges each exact-size cache holds; further frees of that size go to the set. */
#define IOVA_CACHE_DEPTH 256

struct iova_range {
	uint64_t start;
	uint64_t end;
};

/** What one unmap cleared, when that is more than one run (heap, freed by the batch). */
struct iova_runs {
	uint32_t n;
	struct iova_range r[];
};

struct iova_space {
	pthread_mutex_t lock;
	uint64_t base;	/**< first IOVA handed out */
	uint64_t limit; /**< end of the space */
	uint64_t next;	/**< bump pointer: nothing at or above it is handed out */
	uint64_t high;	/**< atomic: highest bump pointer so far */
	/* Exact-size caches: cache[(pages - 1) * IOVA_CACHE_DEPTH + i] is a start. */
	uint64_t *cache;
	uint32_t cache_n[IOVA_CACHE_PAGES];
	uint32_t cached;       /**< ranges in the caches */
	uint64_t cached_pages; /**< pages in the caches */
	/* The free set, sorted, disjoint, never adjacent, none touching next. */
	struct iova_range *set;
	uint32_t n_set;
	uint32_t cap_set;
	uint64_t **bits; /**< per GiB of space: the pages handed out, NULL: none yet */
	uint64_t n_chunks;
};

/** Space [base, limit), both 1 GiB aligned. @return 0 or -ENOMEM. */
int iova_init(struct iova_space *s, uint64_t base, uint64_t limit);
void iova_fini(struct iova_space *s);

/**
 * Hand out @p len bytes (4 KiB multiple) for a map of @p va.
 * @return 1 when the space was used before (reused), 0 when fresh, -ENOMEM when none is
 *         left (or the bitmap could not grow), -EIO when the allocator
 *         found its own state inconsistent (logged).
 */
int iova_alloc(struct iova_space *s, uint64_t va, uint64_t len, uint64_t *iova);

/**
 * Give back [iova, iova + len): every page of it must be handed out.
 * @return 0, -EINVAL (refused: not all handed out, e.g. a double free;
 *         logged and counted, nothing changes), -ENOMEM (the set could not
 *         grow: the space is lost, never handed out again).
 */
int iova_free(struct iova_space *s, uint64_t iova, uint64_t len);

/** Highest IOVA space in use at any time so far, bytes above base. */
uint64_t iova_high_water(const struct iova_space *s);

#endif /* SVIO_IOMMU_IOVA_H */
