/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Nested stage 1: DPDK memory in stage 2, as a client of the core's DPDK
 * memory follower (lib/iommu/dpdk_mem.h), which tells it of memory before
 * the domain's own client and of frees after.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_memory.h>

#include "dpdk_mem.h"
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
 * The client's callbacks run under DPDK's memory lock: they must not take
 * iommufd_ctx.lock (the first bind holds iommufd_ctx.lock while it takes DPDK's lock).
 */
static int s2_map_raw(uint64_t va, uint64_t len)
{
	struct svio_iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = SVIO_IOMMU_IOAS_MAP_FIXED_IOVA | SVIO_IOMMU_IOAS_MAP_READABLE |
			 SVIO_IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = iommufd_ctx.ioas_id,
		.user_va = va,
		.length = len,
		.iova = va,
	};
	int rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_IOAS_MAP, &m);

	if (rc == 0) {
		rc = nest_s2_record(va, len, S2_DPDK);
		if (rc < 0)
			svio_iommufd_unmap(&iommufd_ctx.iommu, va, len);
	} else if (rc == -EEXIST) {
		/* Fine when it is the application's own map of that memory, pinning the same pages.
		 */
		if (nest_s2_app_covers(va, len))
			return 0;
		IOMMUFD_LOG(ERR,
			    "stage 2: DPDK memory %#" PRIx64 "+%#" PRIx64
			    ": the IOAS maps it already, "
			    "not through svio_iommufd_map() (a page left from memory given back?): "
			    "refused, it may pin other pages than this memory's",
			    va, len);
		return rc;
	}
	if (rc < 0)
		IOMMUFD_LOG(ERR, "stage 2: DPDK memory %#" PRIx64 "+%#" PRIx64 ": %s", va, len,
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

/* The follower's client: DPDK memory in stage 2 (dpdk_mem.h). */
static int s2_added(struct dpdk_mem_client *c, uint64_t va, uint64_t len, uint64_t gran)
{
	RTE_SET_USED(c);
	return s2_map_pages(va, len, gran); /* logged by s2_map_raw() */
}

/*
 * Freed: the core unmapped stage 1 from its own client already (told
 * first); the kernel's IOAS_UNMAP flushes what the nested HWPT cached of it.
 */
static void s2_freed(struct dpdk_mem_client *c, uint64_t va, uint64_t len, uint64_t gran)
{
	RTE_SET_USED(c);
	for (uint64_t a = va; a < va + len; a += gran) {
		int rc = svio_iommufd_unmap(&iommufd_ctx.iommu, a, gran);

		/* ENOENT: stage 2 never had it (the application unmapped it with its own range). */
		if (rc < 0 && rc != -ENOENT) {
			IOMMUFD_LOG(ERR,
				    "stage 2: DPDK gave back %#" PRIx64 "+%#" PRIx64
				    " but the IOAS "
				    "keeps it (%s): poisoned, no stage-1 map may point there",
				    a, gran, strerror(-rc));
			nest_s2_poison(a, gran);
		}
	}
}

/* Follows from the first attach once DPDK is up to the close (iommufd_ctx.lock). */
static struct dpdk_mem_client s2_client = {
	.name = "iommufd stage 2",
	.added = s2_added,
	.freed = s2_freed,
};

void iommufd_nest_dpdk_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(addr);
	uint64_t va = (uint64_t)(uintptr_t)addr;

	RTE_SET_USED(arg);
	if (msl == NULL || msl->external)
		return;
	if (type == RTE_MEM_EVENT_ALLOC)
		(void)s2_added(&s2_client, va, len, msl->page_sz);
	else
		s2_freed(&s2_client, va, len, msl->page_sz);
}

void nest_dpdk_stop(void)
{
	dpdk_mem_unfollow(&s2_client);
}

int nest_dpdk_follow(void)
{
	int rc;

	if (s2_client.following || !dpdk_mem_known())
		return 0;
	rc = dpdk_mem_follow(&s2_client);
	if (rc < 0)
		nest_s2_forget_dpdk(); /* the next attach starts over */
	return rc;
}
