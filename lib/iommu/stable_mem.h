/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Is a virtual range still backed by the pages a kernel map pinned?
 *
 * Reviving a mapping whose unmap is still queued (revive.c) skips the
 * kernel's map, so the device keeps the pages the first map pinned. That is
 * right only while the process's range still maps those same pages. Three
 * ways to know it:
 * - memory the application registered with svio_dma_mem_register(): it
 *   promises the pages stay until svio_dma_mem_unregister();
 * - DPDK memory (memseg lists, not external): DPDK announces every page it
 *   gives back with RTE_MEM_EVENT_FREE before unmapping it (legacy memory,
 *   --no-huge or --legacy-mem, is never given back);
 * - any other memory when /proc/self/pagemap shows page frame numbers (the
 *   process has CAP_SYS_ADMIN): the frames seen at unmap time are compared
 *   with those seen at revive time.
 * The first two call revive_mem_gone() when the promise ends.
 */
#ifndef SVIO_IOMMU_STABLE_MEM_H
#define SVIO_IOMMU_STABLE_MEM_H

#include <stdbool.h>
#include <stdint.h>

/** Ranges up to this many pages can be checked by page frame. */
#define STABLE_MEM_MAX_PFNS 8

enum stable_mem_kind {
	STABLE_MEM_NO,	   /**< nothing vouches for the range */
	STABLE_MEM_STABLE, /**< registered or DPDK memory */
	STABLE_MEM_PFN,	   /**< frames recorded: compare with stable_mem_pfns_same() later */
};

/**
 * Classify [va, va + len). For STABLE_MEM_PFN the frames are written to @p pfns
 * (len / 4 KiB of them, at most STABLE_MEM_MAX_PFNS).
 */
enum stable_mem_kind stable_mem_check(uint64_t va, uint64_t len, uint64_t *pfns);

/** Does [va, va + len) still map the frames stable_mem_check() recorded? */
bool stable_mem_pfns_same(uint64_t va, uint64_t len, const uint64_t *pfns);

#endif /* SVIO_IOMMU_STABLE_MEM_H */
