/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The svio IOMMU core: one shared DMA domain per process.
 *
 * Every device of the process attaches to one svio_domain (one address space,
 * one first-stage page table, one process PASID). With SVA on, device addresses
 * are process virtual addresses: svio_dma_map() returns iova == va, and memory
 * never mapped is faulted in through page requests. Unmaps from every lcore go
 * through one flush queue that merges ranges and issues one invalidation per
 * cache tag and one wait per IOMMU instance and batch.
 *
 * Threading: create/destroy/attach/detach are control path (main lcore).
 * map/unmap/sync/poll may be called from any thread concurrently.
 * Return convention: 0 (or a count) on success, a negative errno value on error.
 */
#ifndef SVIO_IOMMU_H
#define SVIO_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct svio_device;
struct svio_domain;

/** How unmaps are invalidated. */
enum svio_flush_policy {
	SVIO_FLUSH_STRICT, /**< the batch completes before unmap returns */
	SVIO_FLUSH_LAZY,   /**< deferred: batch size, timeout or svio_iommu_sync() */
	SVIO_FLUSH_NAIVE,  /**< benchmark baseline: per device, per unmap, one wait each */
};

struct svio_iommu_config {
	bool sva; /**< iova == va, faults resolve process addresses */
	enum svio_flush_policy policy;
	unsigned int flush_batch;  /**< lazy: flush once this many unmaps are queued */
	uint64_t flush_timeout_us; /**< lazy: oldest queued unmap waits at most this */
};

#define SVIO_IOMMU_DEFAULT_BATCH      256
#define SVIO_IOMMU_DEFAULT_TIMEOUT_US 10000

/** Fill @p cfg with defaults: SVA on, strict, batch 256, 10 ms. */
void svio_iommu_config_default(struct svio_iommu_config *cfg);

/** "strict", "lazy", "naive". */
const char *svio_flush_policy_name(enum svio_flush_policy policy);

/** Parse a policy name. @return 0 or -EINVAL. */
int svio_flush_policy_parse(const char *s, enum svio_flush_policy *policy);

/** Access a device may make through a mapping. */
#define SVIO_DMA_READ  0x1 /**< device reads memory (host to device) */
#define SVIO_DMA_WRITE 0x2 /**< device writes memory (device to host) */
#define SVIO_DMA_RW    (SVIO_DMA_READ | SVIO_DMA_WRITE)

/**
 * Create a domain. svio_eal_init() creates the process domain; tests and
 * benchmarks may create more to compare policies.
 * @return 0, -EINVAL for a bad config, -ENOMEM.
 */
int svio_domain_create(const struct svio_iommu_config *cfg, struct svio_domain **out);

/** Flush everything pending, detach every device, free the domain. */
void svio_domain_destroy(struct svio_domain *dom);

/** The process domain made by svio_eal_init(), or NULL before it. */
struct svio_domain *svio_domain_default(void);
void svio_domain_set_default(struct svio_domain *dom);

/**
 * Attach a device at the domain's PASID (or its requester id where the
 * backend cannot do PASID). The device's invalidation tags are published
 * before this returns, so no translation it caches can be missed by a flush.
 * The first device of an instance that owns its table (iommufd) must attach
 * before the domain maps anything (mappings are not replayed), and the last
 * one to detach removes every mapping of the domain from that instance.
 * @return 0, -EEXIST if already attached, -ENODEV if the device has no IOMMU,
 *         -ENOSPC when the IOMMU has no free domain id, -EBUSY when such a
 *         first device comes after the domain mapped memory.
 */
int svio_domain_attach(struct svio_domain *dom, struct svio_device *dev);

/**
 * Detach a device: its tags leave the invalidation array, its caches are
 * invalidated, and readers of the old array are waited for.
 * @return 0 or -ENOENT when the device is not attached; -EIO when the
 *         final cache invalidation failed (the device is detached anyway;
 *         its domain id stays reserved); the backend's error when the IOMMU
 *         refused the detach (the device stays attached and keeps its tags).
 */
int svio_domain_detach(struct svio_domain *dom, struct svio_device *dev);

/**
 * For buses: @p dev can no longer DMA at all (its VFIO cdev was closed, say)
 * and is about to be freed. Drops it from every domain still holding it
 * after a detach the IOMMU refused, invalidating its caches as a detach
 * would, so nothing keeps a pointer to it.
 */
void svio_domain_forget_device(struct svio_device *dev);

uint32_t svio_domain_pasid(const struct svio_domain *dom);
bool svio_domain_sva(const struct svio_domain *dom);
enum svio_flush_policy svio_domain_policy(const struct svio_domain *dom);

/**
 * Map [va, va + len) for DMA. With SVA, *iova == va; otherwise an IOVA is
 * allocated, reusing space of earlier unmaps only once the invalidation
 * covering them completed (strict: when svio_dma_unmap() returned; lazy:
 * when their batch completed). va and len must be 4 KiB aligned. IOMMU instances that own
 * their table (iommufd) get the mapping through their map op, once per
 * instance the domain has devices on; when one fails, nothing stays mapped.
 * Such instances cannot fault memory in (no page requests): memory never
 * mapped is simply not reachable by their devices.
 * @return 0, -EINVAL (alignment, prot, overflow), -EEXIST (already mapped), -ENOMEM,
 *         -EFAULT (on the built-in IOMMU: the process does not map all of the range
 *         with the access @p prot needs, as its mappings were last read, re-read on a
 *         miss: memory unmapped since may still pass; a kernel backend refuses it when
 *         pinning).
 */
int svio_dma_map(struct svio_domain *dom, void *va, size_t len, int prot, uint64_t *iova);

/**
 * Remove a mapping made by svio_dma_map() (or by a page fault under SVA).
 * Strict: returns after the invalidation completed. Lazy: queued.
 * Without SVA, the IOVA space of what was actually mapped in the range
 * (holes are not touched) returns to the allocator after that
 * invalidation, before the release callback of svio_dma_unmap_release().
 * On an IOMMU that owns its table (iommufd) the range must cover whole
 * earlier maps (the kernel cannot split a map); an unmap it refuses is
 * logged and counted, and that memory is never released.
 * @return 0, -EINVAL (alignment), -ENOENT (nothing mapped there), -EIO when
 *         the invalidation failed (the range stays unmapped; its memory stays
 *         quarantined until a later flush succeeds, or for good under the naive
 *         policy or when the flush queue was full too: never released, which is
 *         safe, only lost).
 */
int svio_dma_unmap(struct svio_domain *dom, uint64_t iova, size_t len);

/** Called once the unmap's invalidation completed: memory may be reused. */
typedef void (*svio_dma_release_t)(void *arg);

/**
 * Unmap and hand the memory back through @p release only after the
 * invalidation that covers it completed (quarantine). In strict mode release
 * runs before this returns; in lazy mode from whichever thread completes the
 * batch.
 */
int svio_dma_unmap_release(struct svio_domain *dom, uint64_t iova, size_t len,
			   svio_dma_release_t release, void *arg);

/**
 * Declare that [va, va + len) keeps the same physical pages until
 * svio_dma_mem_unregister() (no free, munmap, madvise or remap of it).
 *
 * Lazy policy on an IOMMU that owns its table (iommufd) with SVA: a plain
 * svio_dma_unmap() leaves the kernel's mapping until its batch runs; an
 * svio_dma_map() of exactly the same range and rights before that cancels
 * the unmap and reuses the mapping (no kernel map, unmap or flush). This is
 * done only for memory known to keep its pages: registered ranges, DPDK
 * memory (its free events cancel what is queued there), and, when the
 * process may read page frame numbers (CAP_SYS_ADMIN), maps of up to 8
 * pages whose frames are unchanged. Counted in deferred_unmaps and
 * revived_maps.
 * @return 0, -EINVAL (alignment), -EEXIST (overlaps a registered range),
 *         -ENOSPC (64 ranges registered already).
 */
int svio_dma_mem_register(void *va, size_t len);

/**
 * End a registration: from now on nothing queued in the range is revived
 * (call it before freeing the memory). @return 0, -EINVAL, -ENOENT (not
 * registered with exactly this range).
 */
int svio_dma_mem_unregister(void *va, size_t len);

/**
 * Under SVA on IOMMU instances that own their table (iommufd), which cannot
 * fault memory in: map every DPDK memseg IOVA = VA and keep following DPDK's
 * memory events (pages added are mapped, pages given back unmapped before
 * DPDK releases them), so that any DPDK memory can go to a device as its
 * process address. Call after the devices attached (svio_eal_init() does).
 * Does nothing without such an instance or without SVA.
 * @return 0, -EBUSY (another domain follows DPDK memory), or a map error.
 */
int svio_domain_map_dpdk_memory(struct svio_domain *dom);

/** Stop following DPDK memory (the mappings go with the devices' detach). */
void svio_domain_unmap_dpdk_memory(struct svio_domain *dom);

/**
 * Under SVA, whether devices of @p dom reach only what the domain mapped:
 * true on IOMMU instances that cannot fault pages in (iommufd), where a
 * process address outside DPDK memory and svio_dma_map() is not translated
 * (QEMU's emulated devices then move nothing and still report success).
 * False without SVA (every pointer is mapped per command) and on the
 * built-in IOMMU (page requests map any process address or fail the DMA).
 */
bool svio_domain_sva_mapped_only(struct svio_domain *dom);

/**
 * Check that the domain maps every page of [iova, iova + len) with @p prot
 * (SVIO_DMA_READ/WRITE, the device's access). Reads the domain's own record
 * of its maps, which table-owning instances mirror.
 * @return 0, -EINVAL (dom NULL, len 0 or wrapping), -EFAULT (a page is not
 *         mapped, or lacks the access).
 */
int svio_dma_check(struct svio_domain *dom, uint64_t iova, size_t len, int prot);

/** Complete every queued invalidation now (and run their releases). */
int svio_iommu_sync(struct svio_domain *dom);

/**
 * Cheap periodic call from PMD poll loops: completes a lazy batch whose
 * timeout expired. Returns the number of unmaps completed, or a negative errno.
 */
int svio_iommu_poll(struct svio_domain *dom);

/** Counters of one domain. */
struct svio_iommu_stats {
	uint64_t maps;
	uint64_t unmaps;
	uint64_t unmapped_pages;
	uint64_t desc_iotlb;	      /**< IOTLB invalidation descriptors (all kinds) */
	uint64_t desc_iotlb_domain;   /**< ... of which domain-wide */
	uint64_t desc_devtlb;	      /**< device-TLB invalidation descriptors */
	uint64_t desc_wait;	      /**< wait descriptors */
	uint64_t batches;	      /**< flush batches completed */
	uint64_t batch_ranges;	      /**< ranges after merging, summed over batches */
	uint64_t page_requests;	      /**< page requests received */
	uint64_t page_faults_failed;  /**< answered with failure */
	uint64_t quarantined;	      /**< releases deferred behind a flush */
	uint64_t released;	      /**< releases run */
	uint64_t stale_uses;	      /**< reported by the IOMMU instances (models only) */
	uint64_t queue_errors;	      /**< invalidation queue errors */
	uint64_t modeled_ns;	      /**< hardware time the instances modeled (models only) */
	uint64_t kernel_maps;	      /**< map() calls on instances that own their table */
	uint64_t kernel_unmaps;	      /**< unmap() calls on them (each one also invalidates) */
	uint64_t kernel_unmap_errors; /**< unmaps they refused: that memory is never released */
	uint64_t deferred_unmaps;     /**< lazy unmaps left revivable (svio_dma_mem_register()) */
	uint64_t revived_maps;	      /**< maps that cancelled such an unmap: no map, no unmap */
	uint64_t revive_misses;	      /**< identical maps not revived: the pages had changed */
	uint64_t revive_disarmed;     /**< revivable unmaps cancelled: memory went away, detach */
	/*
	 * Without SVA (IOVAs allocated): space is reused only once the flush
	 * covering its unmap completed.
	 */
	uint64_t iova_reused;	    /**< maps whose IOVA was reused (freed space) */
	uint64_t iova_freed_pages;  /**< pages given back to the allocator after their flush */
	uint64_t iova_free_refused; /**< frees refused (pages not in use: freed twice?) */
	uint64_t iova_high_water;   /**< bytes of IOVA space in use at most (not reset) */
};

/** Snapshot the counters. */
int svio_iommu_stats_get(struct svio_domain *dom, struct svio_iommu_stats *st);
void svio_iommu_stats_reset(struct svio_domain *dom);

/** Write the counters as one JSON object (no trailing newline). */
int svio_iommu_stats_json(const struct svio_iommu_stats *st, FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* SVIO_IOMMU_H */
