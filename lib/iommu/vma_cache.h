/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A cached copy of the process's mappings (/proc/self/maps), for resolving
 * page requests under SVA. Looked up first; re-read when the cache cannot
 * grant the access (the mapping may be newer than the cache) or when the
 * page is no longer mapped at all.
 */
#ifndef SVIO_IOMMU_VMA_CACHE_H
#define SVIO_IOMMU_VMA_CACHE_H

#include <stdint.h>

/** Access the process allows at @p addr: SVIO_DMA_READ/WRITE bits, 0 when unmapped. */
int vma_access(uint64_t addr, int need);

/**
 * Whether the process maps all of [addr, addr + len) with at least @p need
 * (SVIO_DMA_READ/WRITE). A cached hit is trusted: memory unmapped since the
 * maps were last read may pass.
 * @return 0, -EFAULT (not all mapped with that access), or the error of reading the maps.
 */
int vma_range_access(uint64_t addr, uint64_t len, int need);

/** Number of times the maps were (re)read, for tests. */
uint64_t vma_cache_reads(void);

#endif /* SVIO_IOMMU_VMA_CACHE_H */
