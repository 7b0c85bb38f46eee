/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK memory on IOMMU instances that own their table (iommufd) under SVA.
 *
 * The built-in IOMMU faults any process address in through page requests;
 * a kernel-owned IOAS cannot, so under SVA the memory an application hands
 * to devices must be mapped IOVA = VA beforehand. DPDK memory (mbufs,
 * rte_malloc) is that memory: every memseg is mapped once at start-up, and
 * pages DPDK adds or gives back later are mapped and unmapped from its
 * memory events. With legacy memory (--no-huge, --legacy-mem) the set never
 * changes and DPDK has no events to give. A nested stage 1 on iommufd
 * (first stage, checked by ops->s1_check) cannot take page faults either:
 * DPDK memory is mapped in its table the same way (the backend puts it in
 * stage 2 itself).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_common.h>
#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "iommu_private.h"
#include "svio_x86_pte.h"

#define DPDK_MEM_EVENT_NAME "svio_dma_dpdk_mem"

static struct svio_domain *event_dom; /* the domain the events keep up to date */
static bool dynamic_mem;	      /* DPDK adds and gives back pages (events on) */

/*
 * Map [va, va + len) in pieces of @p gran bytes, skipping pages already
 * mapped (a driver may have mapped a ring there). The kernel cannot split a
 * map, so pieces are as small as what DPDK may give back alone.
 */
static int map_span(struct svio_domain *dom, uintptr_t va, size_t len, size_t gran)
{
	uintptr_t end = va + len, p = va;
	uint64_t iova, pa, flags, leaf;
	int rc;

	while (p < end) {
		uintptr_t next = RTE_MIN(RTE_ALIGN_FLOOR(p, gran) + gran, end), q;

		if (pgtable_lookup(&dom->pgt, p, &pa, &flags, &leaf) == 0) {
			/* Skip the mapped leaf (it may be large and start before p). */
			p = RTE_MIN((uintptr_t)((p & ~(leaf - 1)) + leaf), end);
			continue;
		}
		for (q = p + SVIO_PT_PAGE_SIZE; q < next; q += SVIO_PT_PAGE_SIZE) {
			if (pgtable_lookup(&dom->pgt, q, &pa, &flags, &leaf) == 0)
				break;
		}
		rc = svio_dma_map(dom, (void *)p, q - p, SVIO_DMA_RW, &iova);
		if (rc < 0)
			return rc;
		p = q;
	}
	return 0;
}

/* What DPDK gives back at once: one page of the list, or nothing (legacy memory). */
static size_t free_granule(const struct rte_memseg_list *msl, size_t len)
{
	return dynamic_mem ? (size_t)msl->page_sz : len;
}

/* The walk's context: DPDK's walk only says "stopped", so the map's errno is kept here. */
struct map_walk {
	struct svio_domain *dom;
	int rc;
};

static int map_contig(const struct rte_memseg_list *msl, const struct rte_memseg *ms, size_t len,
		      void *arg)
{
	struct map_walk *w = arg;
	uintptr_t va = (uintptr_t)ms->addr;

	if (msl->external)
		return 0; /* registered by the application, which maps it itself */
	w->rc = map_span(w->dom, va, len, free_granule(msl, len));
	if (w->rc < 0) {
		IOMMU_LOG(ERR, "DPDK memory 0x%" PRIxPTR " len 0x%zx: map failed: %s", va, len,
			  strerror(-w->rc));
		return -1;
	}
	return 0;
}

static void mem_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	struct svio_domain *dom = __atomic_load_n(&event_dom, __ATOMIC_ACQUIRE);
	uint64_t va = (uint64_t)(uintptr_t)addr;
	int rc;

	(void)arg;
	if (dom == NULL)
		return;
	if (type == RTE_MEM_EVENT_ALLOC) {
		const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(addr);

		rc = msl == NULL ? -ENOENT : map_span(dom, (uintptr_t)addr, len, msl->page_sz);
	} else {
		/* DPDK unmaps the pages after this returns: the device must be done first. */
		rc = svio_dma_unmap(dom, va, len);
		if (rc == 0 || rc == -ENOENT)
			rc = svio_iommu_sync(dom);
	}
	if (rc < 0)
		IOMMU_LOG(ERR, "DPDK memory %s 0x%" PRIx64 " len 0x%zx: %s failed (%d)",
			  type == RTE_MEM_EVENT_ALLOC ? "added" : "freed", va, len,
			  type == RTE_MEM_EVENT_ALLOC ? "map" : "unmap", rc);
}

int svio_domain_map_dpdk_memory(struct svio_domain *dom)
{
	struct map_walk walk = { .dom = dom };
	int rc;

	if (dom == NULL)
		return -EINVAL;
	if (!dom->cfg.sva || !kmap_premap_needed(dom))
		return 0; /* page requests reach everything, or nothing to tell */
	if (__atomic_load_n(&event_dom, __ATOMIC_ACQUIRE) != NULL)
		return -EBUSY;
	/* Events first, under DPDK's memory lock, so no page is added between walk and events. */
	rte_mcfg_mem_read_lock();
	if (rte_mem_event_callback_register(DPDK_MEM_EVENT_NAME, mem_event, NULL) == 0) {
		dynamic_mem = true;
	} else if (rte_errno == ENOTSUP) {
		dynamic_mem = false; /* legacy memory: the memsegs never change */
	} else {
		rc = -rte_errno;
		rte_mcfg_mem_read_unlock();
		IOMMU_LOG(ERR, "DPDK memory events: %s", rte_strerror(-rc));
		return rc;
	}
	rc = rte_memseg_contig_walk_thread_unsafe(map_contig, &walk) < 0 ? walk.rc : 0;
	if (rc == 0)
		__atomic_store_n(&event_dom, dom, __ATOMIC_RELEASE);
	rte_mcfg_mem_read_unlock();
	if (rc < 0)
		svio_domain_unmap_dpdk_memory(dom);
	return rc;
}

void svio_domain_unmap_dpdk_memory(struct svio_domain *dom)
{
	struct svio_domain *expected = dom;

	/* The mappings themselves go with the last detach of each instance. */
	__atomic_compare_exchange_n(&event_dom, &expected, NULL, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_RELAXED);
	if (rte_mem_event_callback_unregister(DPDK_MEM_EVENT_NAME, NULL) < 0 &&
	    rte_errno != ENOTSUP && rte_errno != ENOENT)
		IOMMU_LOG(WARNING, "DPDK memory events: unregister: %s", rte_strerror(rte_errno));
}
