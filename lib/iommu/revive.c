/* SPDX-License-Identifier: BSD-3-Clause */
/* Revived maps: a queued lazy unmap cancelled by an identical map (revive.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "iommu_private.h"
#include "revive.h"
#include "svio_x86_pte.h"

enum revive_state {
	REVIVE_FREE,
	REVIVE_LIVE,	 /**< mapped in the kernel, by the map that made the extent */
	REVIVE_ARMED,	 /**< unmap queued; an identical map may revive it */
	REVIVE_DISARMED, /**< unmap queued; not revivable any more (memory went away) */
};

/* Extents per domain: live small maps plus queued unmaps; more are simply not revivable. */
#define REVIVE_MIN_EXTENTS 1024

/* Domains that revive, for revive_mem_gone(). */
struct revive_node {
	struct svio_domain *dom;
	LIST_ENTRY(revive_node) next;
};
static pthread_mutex_t revive_domains_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, revive_node) revive_domains = LIST_HEAD_INITIALIZER(revive_domains);

static uint32_t bucket_of(const struct revive_dom_state *rv, uint64_t iova)
{
	uint64_t h = (iova >> SVIO_PT_PAGE_SHIFT) * UINT64_C(0x9e3779b97f4a7c15);

	return (uint32_t)(h >> 32) & rv->mask;
}

static struct revive_extent *slot(struct revive_dom_state *rv, uint32_t s1)
{
	return &rv->ext[s1 - 1];
}

static uint32_t slot_no(struct revive_dom_state *rv, const struct revive_extent *x)
{
	return (uint32_t)(x - rv->ext) + 1;
}

/* The hashed (LIVE or ARMED) extent at @p iova, or NULL. */
static struct revive_extent *find(struct revive_dom_state *rv, uint64_t iova)
{
	for (uint32_t s = rv->buckets[bucket_of(rv, iova)]; s != 0; s = slot(rv, s)->next)
		if (slot(rv, s)->iova == iova)
			return slot(rv, s);
	return NULL;
}

static void unhash(struct revive_dom_state *rv, struct revive_extent *x)
{
	uint32_t *p = &rv->buckets[bucket_of(rv, x->iova)], me = slot_no(rv, x);

	while (*p != me)
		p = &slot(rv, *p)->next;
	*p = x->next;
	x->next = 0;
	x->hashed = false;
}

static void put_free(struct revive_dom_state *rv, struct revive_extent *x)
{
	if (x->hashed)
		unhash(rv, x);
	x->state = REVIVE_FREE;
	x->next = rv->free;
	rv->free = slot_no(rv, x);
}

/* Unhash an ARMED extent: its queued unmap goes ahead, nothing may revive it. */
static void disarm(struct revive_dom_state *rv, struct revive_extent *x)
{
	unhash(rv, x);
	x->state = REVIVE_DISARMED;
}

int revive_init(struct svio_domain *dom)
{
	struct revive_dom_state *rv = &dom->revive;
	uint32_t n = REVIVE_MIN_EXTENTS, nb = 1;
	struct revive_node *node;

	memset(rv, 0, sizeof(*rv));
	pthread_mutex_init(&rv->lock, NULL);
	if (dom->cfg.policy != SVIO_FLUSH_LAZY || !dom->cfg.sva)
		return 0; /* without SVA a new map gets a new IOVA: nothing to match */
	if (n < 2 * fq_capacity(&dom->fq))
		n = 2 * fq_capacity(&dom->fq);
	while (nb < n)
		nb <<= 1;
	rv->ext = calloc(n, sizeof(*rv->ext));
	rv->buckets = calloc(nb, sizeof(*rv->buckets));
	node = malloc(sizeof(*node));
	if (rv->ext == NULL || rv->buckets == NULL || node == NULL) {
		free(node);
		free(rv->buckets);
		free(rv->ext);
		pthread_mutex_destroy(&rv->lock);
		return -ENOMEM;
	}
	rv->n_ext = n;
	rv->mask = nb - 1;
	for (uint32_t i = n; i > 0; i--)
		put_free(rv, slot(rv, i));
	node->dom = dom;
	pthread_mutex_lock(&revive_domains_lock);
	LIST_INSERT_HEAD(&revive_domains, node, next);
	pthread_mutex_unlock(&revive_domains_lock);
	return 0;
}

void revive_fini(struct svio_domain *dom)
{
	struct revive_dom_state *rv = &dom->revive;
	struct revive_node *node;

	if (rv->ext != NULL) {
		pthread_mutex_lock(&revive_domains_lock);
		LIST_FOREACH (node, &revive_domains, next)
			if (node->dom == dom)
				break;
		if (node != NULL)
			LIST_REMOVE(node, next);
		pthread_mutex_unlock(&revive_domains_lock);
		free(node);
	}
	free(rv->buckets);
	free(rv->ext);
	rv->ext = NULL;
	pthread_mutex_destroy(&rv->lock);
}

enum revive_result revive_try(struct svio_domain *dom, uint64_t iova, uint64_t len, int prot)
{
	struct revive_dom_state *rv = &dom->revive;
	uint64_t pfns[STABLE_MEM_MAX_PFNS], gen = 0;
	enum revive_result res = REVIVE_NONE;
	struct revive_extent *x;
	bool by_pfn = false;

	pthread_mutex_lock(&rv->lock);
	x = find(rv, iova);
	if (x != NULL && x->state == REVIVE_ARMED && x->len == len) {
		res = x->prot == prot ? REVIVE_REVIVED : REVIVE_STOLEN;
		by_pfn = x->kind == STABLE_MEM_PFN;
		gen = x->gen;
		memcpy(pfns, x->pfns, sizeof(pfns));
	}
	pthread_mutex_unlock(&rv->lock);
	if (res == REVIVE_NONE)
		return REVIVE_NONE;
	/* Read the page frames outside the lock: a system call. */
	if (res == REVIVE_REVIVED && by_pfn && !stable_mem_pfns_same(iova, len, pfns)) {
		STAT_ADD(dom, revive_misses, 1);
		res = REVIVE_STOLEN;
	}
	pthread_mutex_lock(&rv->lock);
	/* The batch may have claimed it meanwhile, or memory gone: then map normally. */
	x = find(rv, iova);
	if (x == NULL || x->state != REVIVE_ARMED || x->gen != gen)
		res = REVIVE_NONE;
	else if (res == REVIVE_REVIVED)
		x->state = REVIVE_LIVE;
	else
		put_free(rv, x); /* its entry finds the generation gone and skips the kernel */
	pthread_mutex_unlock(&rv->lock);
	if (res == REVIVE_REVIVED)
		STAT_ADD(dom, revived_maps, 1);
	return res;
}

void revive_mapped(struct svio_domain *dom, uint64_t iova, uint64_t len, int prot)
{
	struct revive_dom_state *rv = &dom->revive;
	uint64_t pfns[STABLE_MEM_MAX_PFNS];
	enum stable_mem_kind kind;
	struct revive_extent *x;

	/* Classified now, while the kernel holds the pages this map pinned. */
	kind = stable_mem_check(iova, len, pfns);
	pthread_mutex_lock(&rv->lock);
	x = find(rv, iova);
	if (x != NULL) {
		/* Left over from a map that a wider unmap removed, or disarmed by now. */
		if (x->state == REVIVE_ARMED)
			disarm(rv, x);
		else
			put_free(rv, x);
	}
	if (kind != STABLE_MEM_NO && rv->free != 0) {
		x = slot(rv, rv->free);
		rv->free = x->next;
		*x = (struct revive_extent){
			.iova = iova,
			.len = len,
			.state = REVIVE_LIVE,
			.prot = (uint8_t)prot,
			.kind = (uint8_t)kind,
			.hashed = true,
		};
		if (kind == STABLE_MEM_PFN)
			memcpy(x->pfns, pfns, sizeof(x->pfns));
		x->next = rv->buckets[bucket_of(rv, iova)];
		rv->buckets[bucket_of(rv, iova)] = slot_no(rv, x);
	}
	pthread_mutex_unlock(&rv->lock);
}

void revive_forget(struct svio_domain *dom, uint64_t iova, uint64_t len)
{
	struct revive_dom_state *rv = &dom->revive;
	struct revive_extent *x;

	pthread_mutex_lock(&rv->lock);
	x = find(rv, iova);
	/* A revived extent may still be named by its queued entry: free is fine, gen differs. */
	if (x != NULL && x->state == REVIVE_LIVE && x->len == len)
		put_free(rv, x);
	pthread_mutex_unlock(&rv->lock);
}

/* Drop extents inside [iova, end) other than @p keep: their kernel maps are going. */
static void drop_inside(struct revive_dom_state *rv, uint64_t iova, uint64_t end,
			const struct revive_extent *keep)
{
	uint64_t pages = (end - iova) >> SVIO_PT_PAGE_SHIFT;

	if (pages <= rv->n_ext) {
		for (uint64_t a = iova; a < end; a += SVIO_PT_PAGE_SIZE) {
			struct revive_extent *x = find(rv, a);

			if (x != NULL && x != keep && x->state == REVIVE_LIVE)
				put_free(rv, x);
		}
		return;
	}
	for (uint32_t s = 1; s <= rv->n_ext; s++) {
		struct revive_extent *x = slot(rv, s);

		if (x != keep && x->state == REVIVE_LIVE && x->iova >= iova && x->iova < end)
			put_free(rv, x);
	}
}

void revive_unmapping(struct svio_domain *dom, uint64_t iova, uint64_t len, bool quarantined,
		      struct fq_entry *e)
{
	struct revive_dom_state *rv = &dom->revive;
	struct revive_extent *x;

	pthread_mutex_lock(&rv->lock);
	x = find(rv, iova);
	if (x != NULL && x->state == REVIVE_LIVE && x->len == len && !quarantined &&
	    x->kind != STABLE_MEM_NO) {
		x->state = REVIVE_ARMED;
		x->gen = ++rv->gen;
		e->revive_slot = slot_no(rv, x);
		e->revive_gen = x->gen;
		STAT_ADD(dom, deferred_unmaps, 1);
	} else {
		x = NULL;
	}
	drop_inside(rv, iova, iova + len, x);
	pthread_mutex_unlock(&rv->lock);
}

void revive_claim(struct svio_domain *dom, struct fq_entry *e, unsigned int n)
{
	struct revive_dom_state *rv = &dom->revive;

	if (rv->ext == NULL)
		return;
	pthread_mutex_lock(&rv->lock);
	for (unsigned int j = 0; j < n; j++) {
		struct revive_extent *x;

		if (e[j].revive_slot == 0)
			continue;
		x = slot(rv, e[j].revive_slot);
		if (x->gen == e[j].revive_gen &&
		    (x->state == REVIVE_ARMED || x->state == REVIVE_DISARMED)) {
			put_free(rv, x); /* the kernel unmap goes ahead */
		} else {
			/* Revived: the mapping lives on, the kernel is not asked. */
			e[j].kdone = true;
		}
		e[j].revive_slot = 0;
	}
	pthread_mutex_unlock(&rv->lock);
}

void revive_drop_all(struct svio_domain *dom)
{
	struct revive_dom_state *rv = &dom->revive;

	if (rv->ext == NULL)
		return;
	pthread_mutex_lock(&rv->lock);
	for (uint32_t s = 1; s <= rv->n_ext; s++) {
		struct revive_extent *x = slot(rv, s);

		if (x->state == REVIVE_ARMED) {
			disarm(rv, x);
			STAT_ADD(dom, revive_disarmed, 1);
		} else if (x->state == REVIVE_LIVE) {
			put_free(rv, x);
		}
	}
	pthread_mutex_unlock(&rv->lock);
}

void revive_mem_gone(uint64_t va, uint64_t len)
{
	struct revive_node *node;

	pthread_mutex_lock(&revive_domains_lock);
	LIST_FOREACH (node, &revive_domains, next) {
		struct svio_domain *dom = node->dom;
		struct revive_dom_state *rv = &dom->revive;
		bool any = false;

		pthread_mutex_lock(&rv->lock);
		for (uint32_t s = 1; s <= rv->n_ext; s++) {
			struct revive_extent *x = slot(rv, s);

			if (x->state == REVIVE_FREE || x->iova >= va + len ||
			    x->iova + x->len <= va)
				continue;
			if (x->state == REVIVE_ARMED) {
				disarm(rv, x);
				STAT_ADD(dom, revive_disarmed, 1);
				any = true;
			} else if (x->state == REVIVE_LIVE) {
				x->kind = STABLE_MEM_NO; /* still mapped: its unmap will not be
							    revivable */
			}
		}
		pthread_mutex_unlock(&rv->lock);
		/* The kernel still pins the old pages: let the next poll give them back. */
		if (any)
			__atomic_store_n(&rv->force, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&revive_domains_lock);
}

bool revive_take_force(struct svio_domain *dom)
{
	if (!__atomic_load_n(&dom->revive.force, __ATOMIC_RELAXED))
		return false;
	return __atomic_exchange_n(&dom->revive.force, false, __ATOMIC_ACQ_REL);
}
