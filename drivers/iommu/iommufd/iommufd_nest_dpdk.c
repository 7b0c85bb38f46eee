/* SPDX-License-Identifier: BSD-3-Clause */
/* Nested stage 1: DPDK memory in stage 2, following DPDK's allocations and frees. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "iommufd_nest.h"

/*
 * DPDK memory in stage 2, IOVA = VA, for as long as nesting is on: mapped at
 * the first attach made once DPDK is up, and kept up to date from DPDK's
 * memory events. Not at bind: svio_eal_init() binds devices before
 * rte_eal_init(), when there are no memsegs yet and registering for events
 * still "succeeds" because DPDK has not read --no-huge/--legacy-mem; it
 * attaches them after. The kernel cannot split a map, so
 * memory DPDK may give back is mapped a page at a time; legacy memory
 * (--no-huge, --legacy-mem) never changes and goes in contiguous runs.
 * The event callback runs under DPDK's memory lock: it must not take
 * ufd.lock (the first bind holds ufd.lock while it takes DPDK's lock).
 */
#define S2_DPDK_EVENT_NAME "svio_iommufd_stage2"

static bool s2_dpdk_events; /* our memory-event callback is registered */
static bool s2_dpdk_dynamic;
static bool s2_dpdk_on; /* DPDK memory is in stage 2 (ufd.lock) */

/* rte_eal_init() has run: only then are the memsegs and the memory mode known. */
static bool dpdk_up(void)
{
	/* rte_eal_init() always settles the IOVA mode; before it, it reads "don't care". */
	return rte_eal_iova_mode() != RTE_IOVA_DC;
}

static int s2_map_raw(uint64_t va, uint64_t len)
{
	struct svio_iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = SVIO_IOMMU_IOAS_MAP_FIXED_IOVA | SVIO_IOMMU_IOAS_MAP_READABLE |
			 SVIO_IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ufd.ioas_id,
		.user_va = va,
		.length = len,
		.iova = va,
	};
	int rc = svio_vfio_ioctl(ufd.fd, SVIO_IOMMU_IOAS_MAP, &m);

	if (rc == 0) {
		rc = nest_s2_record(va, len, S2_DPDK);
		if (rc < 0)
			svio_iommufd_unmap(&ufd.iommu, va, len);
	} else if (rc == -EEXIST) {
		/* Fine when it is the application's own map of that memory, pinning the same pages.
		 */
		if (nest_s2_app_covers(va, len))
			return 0;
		UFD_LOG(ERR,
			"stage 2: DPDK memory %#" PRIx64 "+%#" PRIx64 ": the IOAS maps it already, "
			"not through svio_iommufd_map() (a page left from memory given back?): "
			"refused, it may pin other pages than this memory's",
			va, len);
		return rc;
	}
	if (rc < 0)
		UFD_LOG(ERR, "stage 2: DPDK memory %#" PRIx64 "+%#" PRIx64 ": %s", va, len,
			strerror(-rc));
	return rc;
}

static int s2_map_pages(uint64_t va, uint64_t len, uint64_t gran)
{
	for (uint64_t a = va; a < va + len; a += gran) {
		int rc = s2_map_raw(a, RTE_MIN(gran, va + len - a));

		if (rc < 0)
			return rc;
	}
	return 0;
}

static int s2_dpdk_walk(const struct rte_memseg_list *msl, const struct rte_memseg *ms, size_t len,
			void *arg)
{
	int *rc = arg;

	if (msl->external)
		return 0; /* the application registered it and maps it itself */
	*rc = s2_map_pages((uint64_t)(uintptr_t)ms->addr, len,
			   s2_dpdk_dynamic ? msl->page_sz : len);
	return *rc < 0 ? -1 : 0;
}

void ufd_nest_dpdk_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(addr);
	uint64_t va = (uint64_t)(uintptr_t)addr;

	RTE_SET_USED(arg);
	if (msl == NULL || msl->external)
		return;
	if (type == RTE_MEM_EVENT_ALLOC) {
		s2_map_pages(va, len, msl->page_sz);
		return;
	}
	/*
	 * Freed: the core unmaps stage 1 from its own callback; without stage
	 * 2 a device reaching it faults instead of touching freed memory, and
	 * the kernel's IOAS_UNMAP flushes what the nested HWPT cached of it.
	 */
	for (uint64_t a = va; a < va + len; a += msl->page_sz) {
		int rc = svio_iommufd_unmap(&ufd.iommu, a, msl->page_sz);

		/* ENOENT: stage 2 never had it (the application unmapped it with its own range). */
		if (rc < 0 && rc != -ENOENT) {
			UFD_LOG(ERR,
				"stage 2: DPDK gave back %#" PRIx64 "+%#" PRIx64 " but the IOAS "
				"keeps it (%s): poisoned, no stage-1 map may point there",
				a, (uint64_t)msl->page_sz, strerror(-rc));
			nest_s2_poison(a, msl->page_sz);
		}
	}
}

/* ufd.lock held. 0 or a negative errno (what was mapped stays until the IOAS goes). */
static int nest_dpdk_start(void)
{
	int rc;

	rte_mcfg_mem_read_lock();
	if (rte_mem_event_callback_register(S2_DPDK_EVENT_NAME, ufd_nest_dpdk_event, NULL) == 0) {
		s2_dpdk_events = true;
		s2_dpdk_dynamic = true;
	} else if (rte_errno == ENOTSUP) {
		s2_dpdk_dynamic = false; /* legacy memory: no events, no changes */
	} else {
		rc = -rte_errno;
		rte_mcfg_mem_read_unlock();
		UFD_LOG(ERR, "stage 2: DPDK memory events: %s", rte_strerror(-rc));
		return rc;
	}
	rc = 0;
	if (rte_memseg_contig_walk_thread_unsafe(s2_dpdk_walk, &rc) < 0 && rc == 0)
		rc = -EIO;
	rte_mcfg_mem_read_unlock();
	if (rc == 0)
		s2_dpdk_on = true;
	return rc;
}

void nest_dpdk_stop(void)
{
	s2_dpdk_on = false;
	if (!s2_dpdk_events)
		return;
	if (rte_mem_event_callback_unregister(S2_DPDK_EVENT_NAME, NULL) < 0 && rte_errno != ENOENT)
		UFD_LOG(WARNING, "stage 2: DPDK memory events: unregister: %s",
			rte_strerror(rte_errno));
	s2_dpdk_events = false;
}

int nest_dpdk_follow(void)
{
	int rc;

	if (s2_dpdk_on || !dpdk_up())
		return 0;
	rc = nest_dpdk_start();
	if (rc < 0) {
		nest_dpdk_stop();
		nest_s2_forget_dpdk(); /* the next attach starts over */
	}
	return rc;
}
