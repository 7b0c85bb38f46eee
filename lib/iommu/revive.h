/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Revived maps (lazy policy, SVA, instances that own their table).
 *
 * The kernel flushes once per IOAS area inside IOMMU_IOAS_UNMAP (and, with a
 * caching-mode IOMMU, once more per IOMMU_IOAS_MAP), so merging unmap calls
 * cannot merge flushes of 4 KiB streaming buffers. What can: not unmapping
 * a buffer that comes back. A lazy unmap leaves the kernel's mapping in
 * place until its batch runs; a map of exactly the same range (IOVA = VA,
 * length, rights) while that unmap is still queued cancels it and reuses the
 * kernel's mapping: no map, no unmap, no flush.
 *
 * That is right only while the range still maps the pages the kernel pinned
 * (stable_mem.h says how we know), and it never touches quarantined memory
 * (unmaps with a release callback are not revivable).
 *
 * Each domain keeps an extent per small map made on such instances: LIVE
 * while mapped, ARMED once its unmap is queued (the queue entry carries the
 * extent's slot and the arm's generation), back to LIVE when revived. The
 * batch that reaches an entry claims the extent only when it is still ARMED
 * (or DISARMED) with the entry's generation: otherwise the map was revived
 * and the kernel's unmap is skipped. Every transition happens under
 * rv->lock, so a map either revives before the batch claims the extent, or
 * finds it gone and maps normally.
 *
 * Lock order: dom->flush_lock -> rv->lock; revive_domains_lock -> rv->lock.
 * rv->lock is a leaf: nothing is called while it is held.
 */
#ifndef SVIO_IOMMU_REVIVE_H
#define SVIO_IOMMU_REVIVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "stable_mem.h"

struct svio_domain;
struct fq_entry;

struct revive_extent {
	uint64_t iova;
	uint64_t len;
	uint64_t gen;  /**< generation of the last arm */
	uint32_t next; /**< hash chain or free list, slot + 1 (0: end) */
	uint8_t state; /**< enum revive_state */
	uint8_t prot;  /**< SVIO_DMA_READ/WRITE as the kernel mapped it */
	uint8_t kind;  /**< enum stable_mem_kind at map time */
	bool hashed;   /**< on a hash chain */
	uint64_t pfns[STABLE_MEM_MAX_PFNS];
};

struct revive_dom_state {
	pthread_mutex_t lock;
	struct revive_extent *ext; /**< NULL: this domain never revives */
	uint32_t *buckets;	   /**< slot + 1 (0: empty) */
	uint32_t n_ext;
	uint32_t mask; /**< buckets - 1 */
	uint32_t free; /**< free list head, slot + 1 */
	uint64_t gen;
	bool force; /**< atomic: memory went away, flush at the next poll */
};

/** Set up revival for @p dom when its policy can use it (lazy, SVA). @return 0 or -ENOMEM. */
int revive_init(struct svio_domain *dom);
void revive_fini(struct svio_domain *dom);

enum revive_result {
	REVIVE_NONE,	/**< nothing queued for exactly this range */
	REVIVE_REVIVED, /**< the kernel's mapping is reused: nothing to map */
	/**
	 * Queued for this range, but with other rights or pages: the unmap is
	 * taken from its batch and the caller makes it now, then maps
	 * (instead of flushing the whole queue to get the range free).
	 */
	REVIVE_STOLEN,
};

/**
 * Map path, before asking the kernel: an ARMED extent for exactly this
 * range whose rights match and whose memory still qualifies becomes LIVE.
 */
enum revive_result revive_try(struct svio_domain *dom, uint64_t iova, uint64_t len, int prot);

/** Map path, after the kernel mapped the range: note a LIVE extent. */
void revive_mapped(struct svio_domain *dom, uint64_t iova, uint64_t len, int prot);

/** Undo revive_mapped() or revive_try() (a later step of the map failed). */
void revive_forget(struct svio_domain *dom, uint64_t iova, uint64_t len);

/**
 * Unmap path, lazy: arm the extent of exactly [iova, iova + len) and note
 * it in @p e, unless @p quarantined; extents inside the range otherwise go.
 */
void revive_unmapping(struct svio_domain *dom, uint64_t iova, uint64_t len, bool quarantined,
		      struct fq_entry *e);

/**
 * Batch side (flush_lock held): settle every entry's extent. An entry whose
 * map was revived comes back kdone (its kernel unmap is skipped).
 */
void revive_claim(struct svio_domain *dom, struct fq_entry *e, unsigned int n);

/** Every kernel mapping of the domain went away (last device detached). */
void revive_drop_all(struct svio_domain *dom);

/** [va, va + len) may no longer map the same pages: nothing there is revived. */
void revive_mem_gone(uint64_t va, uint64_t len);

/** Consume the request for an immediate flush revive_mem_gone() left. */
bool revive_take_force(struct svio_domain *dom);

#endif /* SVIO_IOMMU_REVIVE_H */
