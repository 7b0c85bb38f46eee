/* SPDX-License-Identifier: BSD-3-Clause */
/* Domains: create/destroy, attach/detach, DMA map/unmap, the default domain. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "svio_dev.h"
#include "svio_x86_pte.h"
#include "iommu_private.h"
#include "vma_cache.h"

static struct svio_domain *default_domain;

void svio_iommu_config_default(struct svio_iommu_config *cfg)
{
	cfg->sva = true;
	cfg->policy = SVIO_FLUSH_STRICT;
	cfg->flush_batch = SVIO_IOMMU_DEFAULT_BATCH;
	cfg->flush_timeout_us = SVIO_IOMMU_DEFAULT_TIMEOUT_US;
}

static const char *const policy_names[] = {
	[SVIO_FLUSH_STRICT] = "strict",
	[SVIO_FLUSH_LAZY] = "lazy",
	[SVIO_FLUSH_NAIVE] = "naive",
};

const char *svio_flush_policy_name(enum svio_flush_policy policy)
{
	if ((unsigned int)policy >= RTE_DIM(policy_names))
		return "unknown";
	return policy_names[policy];
}

int svio_flush_policy_parse(const char *s, enum svio_flush_policy *policy)
{
	if (s == NULL || policy == NULL)
		return -EINVAL;
	for (unsigned int i = 0; i < RTE_DIM(policy_names); i++) {
		if (strcmp(s, policy_names[i]) == 0) {
			*policy = (enum svio_flush_policy)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* The lazy queue holds twice a batch; keep that allocation sane. */
#define FLUSH_BATCH_MAX (1u << 20)

int svio_domain_create(const struct svio_iommu_config *cfg, struct svio_domain **out)
{
	const struct pgtable_page_ops *pages;
	struct svio_domain *dom;
	int rc;

	if (cfg == NULL || out == NULL)
		return -EINVAL;
	if ((unsigned int)cfg->policy > SVIO_FLUSH_NAIVE) {
		IOMMU_LOG(ERR, "domain: unknown flush policy %d", (int)cfg->policy);
		return -EINVAL;
	}
	if (cfg->flush_batch == 0 || cfg->flush_batch > FLUSH_BATCH_MAX) {
		IOMMU_LOG(ERR, "domain: flush_batch %u not in 1..%u", cfg->flush_batch,
			  FLUSH_BATCH_MAX);
		return -EINVAL;
	}
	if (cfg->flush_timeout_us > UINT64_MAX / 1000) {
		IOMMU_LOG(ERR, "domain: flush_timeout_us %" PRIu64 " too large",
			  cfg->flush_timeout_us);
		return -EINVAL;
	}
	dom = calloc(1, sizeof(*dom));
	if (dom == NULL)
		return -ENOMEM;
	dom->cfg = *cfg;
	pthread_mutex_init(&dom->attach_lock, NULL);
	if (!cfg->sva) {
		dom->iova = malloc(sizeof(*dom->iova));
		if (dom->iova == NULL) {
			rc = -ENOMEM;
			goto out_free_dom;
		}
		rc = iova_init(dom->iova, SVIO_IOVA_BASE, SVIO_IOVA_LIMIT);
		if (rc < 0) {
			free(dom->iova);
			goto out_free_dom;
		}
	}
	dom->inv = calloc(1, sizeof(*dom->inv));
	if (dom->inv == NULL) {
		rc = -ENOMEM;
		goto out_fini_iova;
	}
	rc = pgtable_init(&dom->pgt);
	if (rc < 0)
		goto out_free_inv;
	/* An instance bound already that walks tables in pages of its own gets them now. */
	pages = reg_table_pages();
	if (pages != NULL) {
		rc = pgtable_set_pages(&dom->pgt, pages);
		if (rc < 0)
			goto out_fini_pgtable;
	}
	rc = flush_init(dom);
	if (rc < 0)
		goto out_fini_pgtable;
	rc = reg_domain_add(dom);
	if (rc < 0) {
		IOMMU_LOG(ERR, "domain: no free PASID");
		goto out_fini_flush;
	}
	*out = dom;
	return 0;

out_fini_flush:
	flush_fini(dom);
out_fini_pgtable:
	pgtable_fini(&dom->pgt);
out_free_inv:
	free(dom->inv);
out_fini_iova:
	if (dom->iova != NULL) {
		iova_fini(dom->iova);
		free(dom->iova);
	}
out_free_dom:
	pthread_mutex_destroy(&dom->attach_lock);
	free(dom);
	return rc;
}

void svio_domain_destroy(struct svio_domain *dom)
{
	struct svio_domain *expected;
	struct inv_array *arr;

	if (dom == NULL)
		return;
	if (svio_iommu_sync(dom) < 0)
		IOMMU_LOG(WARNING, "domain destroy: final flush failed");
	for (;;) {
		struct svio_device *dev;

		pthread_mutex_lock(&dom->attach_lock);
		arr = dom->inv;
		dev = arr->n_devs > 0 ? arr->devs[0].dev : NULL;
		pthread_mutex_unlock(&dom->attach_lock);
		if (dev == NULL)
			break;
		if (svio_domain_detach(dom, dev) < 0) {
			/*
			 * The device may still walk our table, or hold translations
			 * whose invalidation failed: freeing the table or what is
			 * quarantined would hand it freed memory. Keep the domain.
			 */
			IOMMU_LOG(ERR, "domain destroy: %s %s; domain left allocated", dev->name,
				  inv_array_find_dev(dom->inv, dev) != NULL
					  ? "stays attached"
					  : "left with its caches not known to be invalidated");
			return;
		}
	}
	reg_domain_del(dom);
	expected = dom; /* the exchange overwrites it on failure */
	__atomic_compare_exchange_n(&default_domain, &expected, NULL, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_RELAXED);
	flush_fini(dom);
	pgtable_fini(&dom->pgt);
	inv_array_free(dom->inv);
	/* After flush_fini(): what was still queued gave its space back. */
	if (dom->iova != NULL) {
		iova_fini(dom->iova);
		free(dom->iova);
	}
	pthread_mutex_destroy(&dom->attach_lock);
	free(dom);
}

struct svio_domain *svio_domain_default(void)
{
	return __atomic_load_n(&default_domain, __ATOMIC_ACQUIRE);
}

void svio_domain_set_default(struct svio_domain *dom)
{
	__atomic_store_n(&default_domain, dom, __ATOMIC_RELEASE);
}

uint32_t svio_domain_pasid(const struct svio_domain *dom)
{
	return dom->pasid;
}

bool svio_domain_sva(const struct svio_domain *dom)
{
	return dom->cfg.sva;
}

enum svio_flush_policy svio_domain_policy(const struct svio_domain *dom)
{
	return dom->cfg.policy;
}

/* Swap in a new array and free the old one once no reader can hold it. */
static void publish_and_free_old(struct svio_domain *dom, struct inv_array *arr)
{
	struct inv_array *old = dom->inv;

	inv_array_publish(&dom->inv, arr);
	inv_array_synchronize();
	inv_array_free(old);
}

/*
 * An instance that reads the table through memory of its own (a nested
 * stage 1 through its stage 2) names where the table's pages must come
 * from: the table moves there while nothing walks it and nothing is mapped
 * in it, and later devices of every instance walk those pages. attach_lock
 * held.
 */
static int adopt_table_pages(struct svio_domain *dom, struct svio_iommu *iommu,
			     const struct svio_device *dev)
{
	const struct pgtable_page_ops *pages;
	int rc;

	if (!iommu->caps.first_stage || iommu->ops->table_pages == NULL)
		return 0;
	pages = iommu->ops->table_pages(iommu);
	if (pages == NULL || pages == dom->pgt.pages)
		return 0;
	rc = dom->inv->n_devs > 0 ? -EBUSY : pgtable_set_pages(&dom->pgt, pages);
	if (rc == -EBUSY)
		IOMMU_LOG(ERR,
			  "attach %s: %s walks tables in pages of its own (nested stage 1), and "
			  "this domain's table is in use already (%s): attach its devices first",
			  dev->name, iommu->ops->name,
			  dom->inv->n_devs > 0 ? "devices are attached" : "memory is mapped");
	else if (rc < 0)
		IOMMU_LOG(ERR, "attach %s: no page for the table's root from %s: %s", dev->name,
			  iommu->ops->name, strerror(-rc));
	return rc;
}

int svio_domain_attach(struct svio_domain *dom, struct svio_device *dev)
{
	struct svio_iommu *iommu;
	struct inv_array *arr, *old;
	struct inv_dev d;
	bool new_did = false;
	int did, rc;

	if (dom == NULL || dev == NULL)
		return -EINVAL;
	iommu = reg_iommu_hold(dev);
	if (iommu == NULL) {
		IOMMU_LOG(ERR, "attach %s: no IOMMU instance %u", dev->name, dev->dma.iommu_index);
		return -ENODEV;
	}
	pthread_mutex_lock(&dom->attach_lock);
	old = dom->inv;
	if (inv_array_find_dev(old, dev) != NULL) {
		rc = -EEXIST;
		goto out_unlock;
	}
	rc = adopt_table_pages(dom, iommu, dev);
	if (rc < 0)
		goto out_unlock;
	did = inv_array_find_did(old, iommu);
	if (did < 0) {
		did = reg_did_alloc(iommu);
		if (did < 0) {
			IOMMU_LOG(ERR, "attach %s: IOMMU %u has no free domain id", dev->name,
				  iommu->index);
			rc = did;
			goto out_unlock;
		}
		new_did = true;
		/* An instance owning its table would miss what is mapped already. */
		if (!iommu->caps.first_stage && __atomic_load_n(&dom->mapped, __ATOMIC_ACQUIRE)) {
			IOMMU_LOG(ERR,
				  "attach %s: the first device on %s must attach before the domain "
				  "maps memory (mappings are not replayed)",
				  dev->name, iommu->ops->name);
			rc = -EBUSY;
			goto out_free_did;
		}
	}
	/* An instance owning its table invalidates device-TLBs inside unmap(). */
	d = (struct inv_dev){ .dev = dev,
			      .iommu = iommu,
			      .sid = dev->dma.sid,
			      .did = (uint16_t)did,
			      .ats = dev->dma.ats && iommu->caps.ats && iommu->caps.first_stage };
	arr = inv_array_add(old, &d, dom->pasid);
	if (arr == NULL) {
		rc = -ENOMEM;
		goto out_free_did;
	}
	if (new_did && !iommu->caps.first_stage)
		__atomic_fetch_add(&dom->n_owners, 1, __ATOMIC_RELEASE);
	if (iommu->caps.unpinned)
		__atomic_store_n(&dom->check_maps, true, __ATOMIC_RELEASE);
	if (iommu_nests(iommu))
		__atomic_store_n(&dom->s1_checked, true, __ATOMIC_RELEASE);
	/* Tags first: from here on every flush that starts covers this device. */
	inv_array_publish(&dom->inv, arr);
	rc = iommu->ops->attach(iommu, dev, dom->pasid, (uint16_t)did, pgtable_root(&dom->pgt));
	if (rc < 0) {
		IOMMU_LOG(ERR, "attach %s: backend %s failed (%d)", dev->name, iommu->ops->name,
			  rc);
		goto out_unpublish;
	}
	inv_array_synchronize();
	inv_array_free(old);
	pthread_mutex_unlock(&dom->attach_lock);
	return 0;

out_unpublish:
	publish_and_free_old(dom, old);
	if (new_did && !iommu->caps.first_stage)
		__atomic_fetch_sub(&dom->n_owners, 1, __ATOMIC_RELEASE);
out_free_did:
	if (new_did)
		reg_did_free(iommu, (uint16_t)did);
out_unlock:
	pthread_mutex_unlock(&dom->attach_lock);
	reg_iommu_put(iommu);
	return rc;
}

/*
 * Take @p dev out of @p dom. @p via_backend: detach it at the IOMMU first;
 * false when its bus already made it unable to DMA at all (forget).
 */
static int domain_remove(struct svio_domain *dom, struct svio_device *dev, bool via_backend)
{
	const struct inv_dev *found;
	struct inv_array *arr, *old;
	struct inv_dev d;
	bool last_did;
	int rc = 0;

	pthread_mutex_lock(&dom->attach_lock);
	found = inv_array_find_dev(dom->inv, dev);
	if (found == NULL) {
		rc = -ENOENT;
		goto out_unlock;
	}
	d = *found;
	/* Allocate before touching the hardware so nothing below can fail half way. */
	arr = inv_array_remove(dom->inv, dev, dom->pasid, &last_did);
	if (arr == NULL) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	/* 1. The device can no longer fetch translations. */
	if (via_backend)
		rc = d.iommu->ops->detach(d.iommu, dev, dom->pasid);
	if (rc < 0) {
		IOMMU_LOG(ERR, "detach %s: backend %s failed (%d)", dev->name, d.iommu->ops->name,
			  rc);
		inv_array_free(arr);
		goto out_unlock;
	}
	/*
	 * 2. Drop what it cached, 3. then flushes that start from now on skip it.
	 * In this order: a batch running in between with the new array would skip
	 * its device-TLB and hand memory back while it still held translations
	 * (it cannot fetch new ones: step 1). An instance owning its table is the
	 * other way round: its unmap-all must come after maps stopped going to it.
	 */
	if (d.iommu->caps.first_stage)
		rc = flush_device(dom, &d, last_did);
	old = dom->inv;
	inv_array_publish(&dom->inv, arr);
	if (!d.iommu->caps.first_stage)
		rc = flush_device(dom, &d, last_did);
	if (rc < 0)
		IOMMU_LOG(ERR, "detach %s: cache invalidation failed (%d)%s", dev->name, rc,
			  last_did ? "; its domain id stays reserved" : "");
	/* 4. No reader of the old array still uses the instance (or the array). */
	inv_array_synchronize();
	inv_array_free(old);
	if (last_did && !d.iommu->caps.first_stage)
		__atomic_fetch_sub(&dom->n_owners, 1, __ATOMIC_RELEASE);
	/* A tag whose caches may still hold our translations is never handed out again. */
	if (last_did && rc == 0)
		reg_did_free(d.iommu, d.did);
	reg_iommu_put(d.iommu);
out_unlock:
	pthread_mutex_unlock(&dom->attach_lock);
	return rc;
}

int svio_domain_detach(struct svio_domain *dom, struct svio_device *dev)
{
	if (dom == NULL || dev == NULL)
		return -EINVAL;
	return domain_remove(dom, dev, true);
}

void svio_domain_forget_device(struct svio_device *dev)
{
	struct svio_domain *dom;

	/* Each pass takes the device out of one domain (it may sit in several). */
	while ((dom = reg_domain_holding(dev)) != NULL) {
		if (domain_remove(dom, dev, false) < 0) {
			IOMMU_LOG(ERR, "forget %s: could not drop its tags; domain left as is",
				  dev->name);
			return;
		}
	}
}

/*
 * Without SVA: IOVA space for a map. Space still waiting for its flush is
 * not in the allocator; when nothing else is left, complete the queue.
 */
static int dma_iova_alloc(struct svio_domain *dom, uint64_t va, uint64_t len, uint64_t *iova)
{
	int rc = iova_alloc(dom->iova, va, len, iova);

	if (rc == -ENOMEM && dom->cfg.policy != SVIO_FLUSH_NAIVE && flush_sync(dom) == 0)
		rc = iova_alloc(dom->iova, va, len, iova);
	if (rc == -ENOMEM)
		IOMMU_LOG(ERR, "map: no IOVA space left for len 0x%" PRIx64, len);
	if (rc > 0) {
		STAT_ADD(dom, iova_reused, 1);
		rc = 0;
	}
	return rc;
}

/* A map failed after its IOVA was allocated: nothing reached the table, give it back now. */
static void dma_iova_undo(struct svio_domain *dom, uint64_t iova, uint64_t len)
{
	if (dom->iova != NULL)
		iova_free(dom->iova, iova, len);
}

static bool dma_range_ok(uint64_t addr, size_t len)
{
	if (len == 0 || ((addr | len) & (SVIO_PT_PAGE_SIZE - 1)))
		return false;
	return addr + len > addr && addr + len <= (UINT64_C(1) << SVIO_PT_VA_BITS);
}

int svio_dma_map(struct svio_domain *dom, void *va, size_t len, int prot, uint64_t *iova)
{
	uint64_t addr = (uint64_t)(uintptr_t)va, io = addr;
	enum revive_result rv;
	bool revivable;
	int rc;

	if (dom == NULL || iova == NULL)
		return -EINVAL;
	if (!dma_range_ok(addr, len)) {
		IOMMU_LOG(ERR, "map: va %p len 0x%zx not 4 KiB aligned or beyond 48 bits", va, len);
		return -EINVAL;
	}
	if (prot == 0 || (prot & ~SVIO_DMA_RW)) {
		IOMMU_LOG(ERR, "map: prot 0x%x is not a mix of SVIO_DMA_READ/WRITE", prot);
		return -EINVAL;
	}
	/* The table outputs process addresses; a nested stage 2 must reach them. */
	rc = domain_s1_check(dom, addr, len);
	if (rc < 0)
		return rc;
	/* Nothing pins the pages for the built-in model: a hole would crash it, not the caller. */
	if (__atomic_load_n(&dom->check_maps, __ATOMIC_ACQUIRE)) {
		rc = vma_range_access(addr, len, prot);
		if (rc < 0) {
			IOMMU_LOG(ERR, "map: va %p len 0x%zx is not all mapped %s by the process",
				  va, len,
				  prot == SVIO_DMA_RW	  ? "readable and writable"
				  : prot & SVIO_DMA_WRITE ? "writable"
							  : "readable");
			return rc;
		}
	}
	if (!dom->cfg.sva) {
		rc = dma_iova_alloc(dom, addr, len, &io);
		if (rc < 0)
			return rc;
	} else if (__atomic_load_n(&dom->n_owners, __ATOMIC_ACQUIRE) > 0 &&
		   pgtable_lookup(&dom->pgt, addr, NULL, NULL, NULL) == 0) {
		/*
		 * Maps are all or nothing: say so before any kernel call. Without
		 * a kernel to call, pgtable_map() finds out on its own walk.
		 */
		return -EEXIST;
	}
	/* A queued lazy unmap of exactly this range still holds the kernel's mapping: reuse it. */
	revivable =
		dom->revive.ext != NULL && __atomic_load_n(&dom->n_owners, __ATOMIC_ACQUIRE) > 0;
	rv = revivable ? revive_try(dom, io, len, prot) : REVIVE_NONE;
	if (rv == REVIVE_REVIVED) {
		rc = 0;
	} else {
		bool stuck;

		if (rv == REVIVE_STOLEN)
			owner_unmap_now(dom, io, len);
		/* Table owners first: a refusal there leaves nothing to undo here. */
		rc = owner_map(dom, io, va, len, prot, &stuck);
		if (rc == -EEXIST && !stuck && flush_sync(dom) == 0) {
			/* A queued (lazy) unmap of this range still holds it there: flushed now. */
			rc = owner_map(dom, io, va, len, prot, &stuck);
		}
		if (rc < 0) {
			/* Still mapped in a kernel: that IOVA space is never handed out again. */
			if (!stuck)
				dma_iova_undo(dom, io, len);
			return rc;
		}
		if (revivable)
			revive_mapped(dom, io, len, prot);
	}
	rc = pgtable_map(&dom->pgt, io, addr, len, prot);
	if (rc < 0) {
		if (revivable)
			revive_forget(dom, io, len);
		if (owner_unmap_now(dom, io, len) == 0)
			dma_iova_undo(dom, io, len);
		return rc;
	}
	__atomic_fetch_add(&dom->mapped, len, __ATOMIC_RELEASE);
	STAT_ADD(dom, maps, 1);
	*iova = io;
	return 0;
}

struct unmap_span {
	uint64_t lo, hi, bytes;
};

static void unmap_cleared(void *ctx, uint64_t iova, uint64_t len)
{
	struct unmap_span *s = ctx;

	if (s->bytes == 0 || iova < s->lo)
		s->lo = iova;
	if (iova + len > s->hi)
		s->hi = iova + len;
	s->bytes += len;
}

/* Runs kept inline before the heap is needed: most unmaps clear one. */
#define UNMAP_RUNS_INLINE 8

/* Without SVA: the span, plus the runs cleared, so that holes are not freed. */
struct unmap_runs {
	struct unmap_span span;
	struct iova_range *r;
	uint32_t n, cap;
	bool lost; /**< out of memory: some runs were not recorded */
	struct iova_range inl[UNMAP_RUNS_INLINE];
};

static void unmap_cleared_runs(void *ctx, uint64_t iova, uint64_t len)
{
	struct unmap_runs *u = ctx;

	unmap_cleared(&u->span, iova, len);
	if (u->n > 0 && u->r[u->n - 1].end == iova) {
		u->r[u->n - 1].end += len;
		return;
	}
	if (u->n == u->cap) {
		uint32_t cap = 2 * u->cap;
		struct iova_range *r = malloc(cap * sizeof(*r));

		if (r == NULL) {
			u->lost = true; /* that space is never reused: safe */
			return;
		}
		memcpy(r, u->r, u->n * sizeof(*r));
		if (u->r != u->inl)
			free(u->r);
		u->r = r;
		u->cap = cap;
	}
	u->r[u->n++] = (struct iova_range){ .start = iova, .end = iova + len };
}

/* What the batch frees: NULL for one run (the span itself), else a heap copy. */
static int unmap_runs_finish(struct unmap_runs *u, struct iova_runs **out)
{
	*out = NULL;
	if (u->lost) {
		/*
		 * Out of memory: keep every byte of the span out of the allocator, and
		 * let a kernel unmap the span whole (it may take a map made in a hole
		 * since: a fault later, never a device writing memory given back).
		 */
		IOMMU_LOG(ERR,
			  "unmap: out of memory recording the runs of 0x%" PRIx64 " len 0x%" PRIx64
			  "; that IOVA space is lost",
			  u->span.lo, u->span.hi - u->span.lo);
	} else if (u->n > 1) {
		*out = malloc(sizeof(**out) + u->n * sizeof(u->r[0]));
		if (*out == NULL) {
			IOMMU_LOG(ERR,
				  "unmap: out of memory; IOVA space of 0x%" PRIx64 " len 0x%" PRIx64
				  " is lost",
				  u->span.lo, u->span.hi - u->span.lo);
		} else {
			(*out)->n = u->n;
			memcpy((*out)->r, u->r, u->n * sizeof(u->r[0]));
		}
	}
	if (u->r != u->inl)
		free(u->r);
	/* One run and nothing lost: it is the span. */
	return !u->lost && (u->n == 1 || *out != NULL);
}

int svio_dma_unmap_release(struct svio_domain *dom, uint64_t iova, size_t len,
			   svio_dma_release_t release, void *arg)
{
	struct unmap_runs u;
	struct fq_entry e = { .release = release, .arg = arg };
	int rc;

	if (dom == NULL)
		return -EINVAL;
	if (!dma_range_ok(iova, len)) {
		IOMMU_LOG(ERR, "unmap: iova 0x%" PRIx64 " len 0x%zx not 4 KiB aligned", iova, len);
		return -EINVAL;
	}
	u.span = (struct unmap_span){ 0 };
	if (dom->iova == NULL && __atomic_load_n(&dom->n_owners, __ATOMIC_ACQUIRE) == 0) {
		/* SVA on our own table: nothing to give back, only the span to invalidate. */
		rc = pgtable_unmap(&dom->pgt, iova, len, unmap_cleared, &u.span, &e.tables);
	} else {
		u.r = u.inl;
		u.n = 0;
		u.cap = UNMAP_RUNS_INLINE;
		u.lost = false;
		rc = pgtable_unmap(&dom->pgt, iova, len, unmap_cleared_runs, &u, &e.tables);
		if (rc < 0 && u.r != u.inl)
			free(u.r);
		/* Runs known: the kernel unmaps them alone; without SVA they go back too. */
		if (rc == 0)
			e.iova_free = unmap_runs_finish(&u, &e.iova_runs) && dom->iova != NULL;
	}
	if (rc < 0)
		return rc;
	__atomic_fetch_sub(&dom->mapped, u.span.bytes, __ATOMIC_RELEASE);
	STAT_ADD(dom, unmaps, 1);
	STAT_ADD(dom, unmapped_pages, u.span.bytes / SVIO_PT_PAGE_SIZE);
	/* Invalidate the span actually cleared; holes inside it cost nothing extra. */
	e.iova = u.span.lo;
	e.len = u.span.hi - u.span.lo;
	if (e.tables != NULL) {
		e.tbl_lo = iova;
		e.tbl_hi = iova + len;
	}
	return flush_unmap(dom, &e);
}

int svio_dma_unmap(struct svio_domain *dom, uint64_t iova, size_t len)
{
	return svio_dma_unmap_release(dom, iova, len, NULL, NULL);
}

int svio_iommu_sync(struct svio_domain *dom)
{
	if (dom == NULL)
		return -EINVAL;
	return flush_sync(dom);
}

int svio_iommu_poll(struct svio_domain *dom)
{
	if (dom == NULL)
		return -EINVAL;
	return flush_poll(dom);
}
