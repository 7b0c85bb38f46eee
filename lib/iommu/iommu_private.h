/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private state of the IOMMU core, shared by its files only.
 *
 * Lock order (outer first):
 *   dom->attach_lock -> dom->flush_lock -> reg_lock -> dom->pgt.lock
 *   dom->flush_lock -> dom->revive.lock (a leaf, see revive.h)
 *   dom->flush_lock -> dom->iova->lock (a leaf, see iova.h)
 * (detach invalidates under the flush lock; a backend may report a queue
 * error from inside wait_poll, which takes reg_lock; page requests install
 * entries under reg_lock). Release callbacks run under the flush lock only:
 * they must not call back into the domain's flush paths (nor map: a map
 * that collides with a queued unmap flushes). A table-owning instance's
 * ops->unmap runs under the flush lock, its ops->map under no core lock;
 * both inside an array read section.
 *
 * Lifetimes: a domain is on the registry's list (found by PASID) from create
 * until destroy; page requests resolve under reg_lock, so destroy unlinks it
 * under reg_lock before tearing it down. IOMMU instances named by a
 * published invalidation array stay registered (unregister is -EBUSY while a
 * device is attached through them, and detach waits for readers).
 */
#ifndef SVIO_IOMMU_PRIVATE_H
#define SVIO_IOMMU_PRIVATE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/queue.h>

#include <rte_log.h>

#include "svio_iommu.h"
#include "svio_iommu_backend.h"
#include "flush_queue.h"
#include "inv_array.h"
#include "iova.h"
#include "pgtable.h"
#include "revive.h"

extern int svio_iommu_logtype;
#define IOMMU_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, svio_iommu_logtype, "svio_iommu: " fmt "\n", ##__VA_ARGS__)

/** Registry limit on IOMMU instances (bounds the per-batch wait list). */
#define SVIO_IOMMU_MAX_INSTANCES 64

/**
 * Past this many page-selective descriptors per tag in one batch, one
 * domain-wide IOTLB and one whole-device device-TLB invalidation per tag
 * are cheaper.
 */
#define SVIO_INV_PSI_MAX 8

/** PASIDs the core hands out: 1 .. 2^20 - 1 (0 is RID_PASID). */
#define SVIO_PASID_MAX ((UINT32_C(1) << 20) - 1)

/** Start of the IOVA space handed out without SVA (below: devices' own windows). */
#define SVIO_IOVA_BASE	(UINT64_C(1) << 32)
#define SVIO_IOVA_LIMIT (UINT64_C(1) << 47)

/** Counter helpers: relaxed atomics, no lock on the data path. */
#define STAT_ADD(dom, field, n) __atomic_fetch_add(&(dom)->stats.field, (n), __ATOMIC_RELAXED)

struct svio_domain {
	struct svio_iommu_config cfg;
	uint32_t pasid;
	TAILQ_ENTRY(svio_domain) next; /**< registry list, under reg_lock */

	struct svio_pgtable pgt;

	/* Control path. */
	pthread_mutex_t attach_lock; /**< serializes attach/detach and array updates */
	struct inv_array *inv;	     /**< published array (RCU), never NULL */

	/*
	 * Flush state. The queue is lock-free for producers; everything else
	 * here is owned by whoever holds flush_lock, which also serializes
	 * every post and wait this domain sends to the backends.
	 */
	struct flush_queue fq;
	pthread_mutex_t flush_lock;
	struct fq_entry *batch; /**< drained entries; [0, n_retry) failed last time */
	unsigned int batch_cap;
	unsigned int n_retry;
	struct flush_range *ranges;  /**< merged ranges of the batch */
	struct flush_range *kranges; /**< merged ranges still to unmap() on table owners */
	uint64_t done;		     /**< atomic: every ticket below completed */
	uint64_t failed;	     /**< atomic: a batch covering tickets below failed */
	uint64_t lazy_since;	     /**< atomic: oldest lazy unmap queued (ns), 0: none known */

	/*
	 * Without SVA: the IOVA allocator (NULL with SVA). Space comes back
	 * only from the batch that completed its unmap's invalidation.
	 */
	struct iova_space *iova;

	/*
	 * Bytes mapped now (atomic). The first device of an instance that owns
	 * its table may only attach while this is 0: maps are not replayed.
	 */
	uint64_t mapped;
	/*
	 * Table-owning instances the array names (atomic). Raised before the
	 * array that adds one is published, lowered after the array without it
	 * is: 0 lets the data path skip them without entering a read section.
	 */
	unsigned int n_owners;
	/* Set once an instance with caps.unpinned attached: maps check the process's mappings. */
	bool check_maps;
	/* Set once a nesting instance (iommu_nests()) attached: maps ask domain_s1_check(). */
	bool s1_checked;

	/* Lazy unmaps a later identical map may cancel (revive.h). */
	struct revive_dom_state revive;

	struct svio_iommu_stats stats; /**< atomics, see STAT_ADD */
	uint64_t stale_base;	       /**< instances' stale uses at the last reset */
	uint64_t modeled_base;	       /**< instances' modeled time at the last reset */
};

struct flush_range {
	uint64_t start;
	uint64_t end;
};

/* registry.c */
void reg_lock(void);
void reg_unlock(void);
/** Insert @p dom with a fresh PASID. @return 0 or -ENOSPC. */
int reg_domain_add(struct svio_domain *dom);
void reg_domain_del(struct svio_domain *dom);
/** Under reg_lock. */
struct svio_domain *reg_domain_by_pasid(uint32_t pasid);
/** A domain whose invalidation array still holds @p dev, or NULL. Takes reg_lock. */
struct svio_domain *reg_domain_holding(const struct svio_device *dev);
/**
 * The instance of @p dev (resolving dev->dma.iommu from its index), held:
 * unregister refuses it until reg_iommu_put(). NULL when not registered.
 */
struct svio_iommu *reg_iommu_hold(struct svio_device *dev);
/**
 * Where a new domain's table pages should come from: the first registered
 * instance's ops->table_pages that names a source, or NULL (the heap).
 */
const struct pgtable_page_ops *reg_table_pages(void);
/** A free domain id of @p iommu, or -ENOSPC. */
int reg_did_alloc(struct svio_iommu *iommu);
void reg_did_free(struct svio_iommu *iommu, uint16_t did);
/** Drop what reg_iommu_hold() took (an attached device keeps its hold until detach). */
void reg_iommu_put(struct svio_iommu *iommu);

/* A first-stage instance whose table outputs must lie in a stage 2 it checks (nesting). */
static inline bool iommu_nests(const struct svio_iommu *iommu)
{
	return iommu->caps.first_stage && iommu->ops->s1_check != NULL;
}

/*
 * kmap.c: maps on the instances that own their table (caps.first_stage false,
 * owner_*), and what the domain must map ahead of use (domain_*).
 */
/**
 * Map on every such instance of the domain; on failure nothing stays mapped,
 * unless undoing an instance's map failed too: then *stuck is set and the
 * range must never be handed out again.
 */
int owner_map(struct svio_domain *dom, uint64_t iova, void *va, uint64_t len, int prot,
	      bool *stuck);
/**
 * Must memory be mapped before devices use it (no page requests reach it)?
 * True with a table-owning instance or a nested first stage (ops->s1_check).
 */
bool domain_needs_premap(struct svio_domain *dom);
/**
 * Ask every first-stage instance with ops->s1_check whether the table may
 * point at [pa, pa + len) (a nested stage 1 needs its stage 2 to cover it).
 */
int domain_s1_check(struct svio_domain *dom, uint64_t pa, uint64_t len);
/**
 * Undo owner_map() at once (a later step of the map failed).
 * @return 0, or the first instance's refusal (the range stays mapped there).
 */
int owner_unmap_now(struct svio_domain *dom, uint64_t iova, uint64_t len);
/**
 * Flush side, flush_lock held: unmap() the entries not kdone yet on every
 * such instance, one call per merged range; an entry an instance refuses
 * (alone) gets kerr. Every entry is kdone afterwards.
 */
void owner_unmap_batch(struct svio_domain *dom, struct fq_entry *e, unsigned int n);
/** Last device of @p iommu left the domain: remove all of the domain's mappings from it. */
int owner_unmap_all(struct svio_domain *dom, struct svio_iommu *iommu);

/* flush.c */
/** Sort and merge overlapping or adjacent ranges; @return how many remain. */
unsigned int flush_merge_ranges(struct flush_range *r, unsigned int n);
int flush_init(struct svio_domain *dom);
void flush_fini(struct svio_domain *dom);
/**
 * Queue (strict, lazy) or invalidate now (naive) an unmapped range: @p e
 * gives iova, len, release, arg, tables (and their range) and the IOVA space
 * to free; the queue's own fields must be zero and are filled in here.
 */
int flush_unmap(struct svio_domain *dom, const struct fq_entry *e);
int flush_sync(struct svio_domain *dom);
int flush_poll(struct svio_domain *dom);
/** Detach: invalidate what @p d may cache; its IOTLB tag too when @p last_did. */
int flush_device(struct svio_domain *dom, const struct inv_dev *d, bool last_did);

/* stats.c */
/** Add up what the domain's instances report (each instance once). */
void stats_instances(struct svio_domain *dom, uint64_t *stale, uint64_t *modeled);

#endif /* SVIO_IOMMU_PRIVATE_H */
