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
 * DPDK memory is mapped in its table the same way, after the backend put it
 * in stage 2 as another client of the same follower (dpdk_mem.h), which
 * this file also is.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include <rte_common.h>
#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "iommu_private.h"
#include "dpdk_mem.h"
#include "svio_x86_pte.h"

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

#define DPDK_MEM_EVENT_NAME "svio_dpdk_mem"

/*
 * The follower. Lock order: list_lock, then DPDK's memory lock. Clients
 * change under both (list_lock orders follow/unfollow among themselves,
 * DPDK's read lock keeps events out); events read them under DPDK's write
 * lock.
 */
static TAILQ_HEAD(client_list, dpdk_mem_client) clients = TAILQ_HEAD_INITIALIZER(clients);
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static bool events_on;	 /* our callback is registered with DPDK */
static bool dynamic_mem; /* DPDK adds and gives back pages (events on) */

bool dpdk_mem_known(void)
{
	/* rte_eal_init() always settles the IOVA mode; before it, it reads "don't care". */
	return rte_eal_iova_mode() != RTE_IOVA_DC;
}

static void mem_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(addr);
	uint64_t va = (uint64_t)(uintptr_t)addr;
	struct dpdk_mem_client *c;

	(void)arg;
	if (msl == NULL || msl->external)
		return; /* registered by the application, which maps it itself */
	if (type == RTE_MEM_EVENT_ALLOC) {
		TAILQ_FOREACH (c, &clients, next)
			(void)c->added(c, va, len, msl->page_sz);
	} else {
		TAILQ_FOREACH_REVERSE(c, &clients, client_list, next)
		c->freed(c, va, len, msl->page_sz);
	}
}

/* The walk's context: DPDK's walk only says "stopped", so the client's errno is kept here. */
struct follow_walk {
	struct dpdk_mem_client *c;
	int rc;
};

static int follow_contig(const struct rte_memseg_list *msl, const struct rte_memseg *ms, size_t len,
			 void *arg)
{
	struct follow_walk *w = arg;

	if (msl->external)
		return 0;
	/* What DPDK gives back at once: one page of the list, or nothing (legacy memory). */
	w->rc = w->c->added(w->c, (uint64_t)(uintptr_t)ms->addr, len,
			    dynamic_mem ? msl->page_sz : len);
	return w->rc < 0 ? -1 : 0;
}

/* Unregister once nobody follows. list_lock held, DPDK's memory lock not. */
static void events_off_if_unused(void)
{
	if (!events_on || !TAILQ_EMPTY(&clients))
		return;
	if (rte_mem_event_callback_unregister(DPDK_MEM_EVENT_NAME, NULL) < 0 && rte_errno != ENOENT)
		IOMMU_LOG(WARNING, "DPDK memory events: unregister: %s", rte_strerror(rte_errno));
	events_on = false;
}

int dpdk_mem_follow(struct dpdk_mem_client *c)
{
	struct follow_walk walk = { .c = c };
	int rc = 0;

	pthread_mutex_lock(&list_lock);
	if (c->following) {
		pthread_mutex_unlock(&list_lock);
		return -EALREADY;
	}
	/* Events first, under DPDK's memory lock, so no page is added between walk and events. */
	rte_mcfg_mem_read_lock();
	if (!events_on) {
		if (rte_mem_event_callback_register(DPDK_MEM_EVENT_NAME, mem_event, NULL) == 0) {
			events_on = true;
			dynamic_mem = true;
		} else if (rte_errno == ENOTSUP) {
			dynamic_mem = false; /* legacy memory: the memsegs never change */
		} else {
			rc = -rte_errno;
			IOMMU_LOG(ERR, "%s: DPDK memory events: %s", c->name, rte_strerror(-rc));
		}
	}
	if (rc == 0 && rte_memseg_contig_walk_thread_unsafe(follow_contig, &walk) < 0)
		rc = walk.rc < 0 ? walk.rc : -EIO;
	if (rc == 0) {
		TAILQ_INSERT_TAIL(&clients, c, next);
		c->following = true;
	}
	rte_mcfg_mem_read_unlock();
	events_off_if_unused();
	pthread_mutex_unlock(&list_lock);
	return rc;
}

void dpdk_mem_unfollow(struct dpdk_mem_client *c)
{
	pthread_mutex_lock(&list_lock);
	if (c->following) {
		rte_mcfg_mem_read_lock(); /* waits out an event running the client */
		TAILQ_REMOVE(&clients, c, next);
		c->following = false;
		rte_mcfg_mem_read_unlock();
		events_off_if_unused();
	}
	pthread_mutex_unlock(&list_lock);
}

/*
 * The domain as a client: DPDK memory mapped in it IOVA = VA, skipping pages
 * already mapped (a driver may have mapped a ring there).
 */
static int domain_added(struct dpdk_mem_client *c, uint64_t va, uint64_t len, uint64_t gran)
{
	int rc = map_span(c->ctx, (uintptr_t)va, (size_t)len, (size_t)gran);

	if (rc < 0)
		IOMMU_LOG(ERR, "DPDK memory 0x%" PRIx64 " len 0x%" PRIx64 ": map failed: %s", va,
			  len, strerror(-rc));
	return rc;
}

static void domain_freed(struct dpdk_mem_client *c, uint64_t va, uint64_t len, uint64_t gran)
{
	struct svio_domain *dom = c->ctx;
	int rc;

	(void)gran;
	/* DPDK unmaps the pages after this returns: the device must be done first. */
	rc = svio_dma_unmap(dom, va, len);
	if (rc == 0 || rc == -ENOENT)
		rc = svio_iommu_sync(dom);
	if (rc < 0)
		IOMMU_LOG(ERR,
			  "DPDK memory freed 0x%" PRIx64 " len 0x%" PRIx64 ": unmap failed: %s", va,
			  len, strerror(-rc));
}

/* One domain follows DPDK memory at a time (the process domain). */
static struct dpdk_mem_client domain_client = {
	.name = "domain",
	.added = domain_added,
	.freed = domain_freed,
};

int svio_domain_map_dpdk_memory(struct svio_domain *dom)
{
	int rc;

	if (dom == NULL)
		return -EINVAL;
	if (!dom->cfg.sva || !domain_needs_premap(dom))
		return 0; /* page requests reach everything, or nothing to tell */
	pthread_mutex_lock(&list_lock);
	rc = domain_client.following ? -EBUSY : 0;
	pthread_mutex_unlock(&list_lock);
	if (rc < 0)
		return rc;
	domain_client.ctx = dom;
	rc = dpdk_mem_follow(&domain_client);
	return rc == -EALREADY ? -EBUSY : rc;
}

void svio_domain_unmap_dpdk_memory(struct svio_domain *dom)
{
	/* The mappings themselves go with the last detach of each instance. */
	if (domain_client.ctx == dom)
		dpdk_mem_unfollow(&domain_client);
}
