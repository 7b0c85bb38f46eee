/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IOMMU instances that own their table (caps.first_stage false, e.g. an
 * iommufd IOAS): the core's page table stays the record of what the domain
 * mapped, and each such instance gets every map through ops->map and every
 * unmap through ops->unmap, which also invalidates its caches. Unmaps still
 * go through the flush queue, so strict, lazy and quarantine keep their
 * meaning: a batch merges ranges and calls unmap() once per merged range.
 *
 * Replay: none. The kernel cannot split a map, so replaying would have to
 * recreate the original maps' extents, which the page table does not keep.
 * The first device of such an instance attaches before the domain maps
 * anything (svio_eal_init() probes, and so attaches, before any driver or
 * application maps) and the last one to leave takes every mapping with it.
 */
#include <errno.h>
#include <inttypes.h>

#include "iommu_private.h"
#include "iova.h"
#include "svio_x86_pte.h"

/* Every address the domain can map. */
#define OWNER_ALL_LEN (UINT64_C(1) << SVIO_PT_VA_BITS)

/* The table-owning instances of @p arr, each once (tags are sorted by instance). */
static unsigned int owners(const struct inv_array *arr, struct svio_iommu **out)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < arr->n_tags && n < SVIO_IOMMU_MAX_INSTANCES; i++) {
		struct svio_iommu *iommu = arr->tags[i].iommu;

		if (iommu->caps.first_stage || (n > 0 && out[n - 1] == iommu))
			continue;
		out[n++] = iommu;
	}
	return n;
}

static int call_unmap(struct svio_domain *dom, struct svio_iommu *iommu, uint64_t iova,
		      uint64_t len)
{
	STAT_ADD(dom, kernel_unmaps, 1);
	return iommu->ops->unmap(iommu, iova, (size_t)len);
}

int owner_map(struct svio_domain *dom, uint64_t iova, void *va, uint64_t len, int prot, bool *stuck)
{
	struct svio_iommu *own[SVIO_IOMMU_MAX_INSTANCES];
	unsigned int n, i;
	int rc = 0;

	*stuck = false;
	if (__atomic_load_n(&dom->n_owners, __ATOMIC_ACQUIRE) == 0)
		return 0;
	/* The instances stay registered while we are inside the read section. */
	inv_array_read_lock();
	n = owners(inv_array_get(&dom->inv), own);
	for (i = 0; i < n; i++) {
		STAT_ADD(dom, kernel_maps, 1);
		rc = own[i]->ops->map(own[i], iova, va, (size_t)len, prot);
		if (rc < 0) {
			if (rc != -EEXIST) /* already mapped: the caller's business */
				IOMMU_LOG(ERR,
					  "map 0x%" PRIx64 " len 0x%" PRIx64 ": %s refused (%d)",
					  iova, len, own[i]->ops->name, rc);
			break;
		}
	}
	if (rc < 0) {
		while (i-- > 0) {
			if (call_unmap(dom, own[i], iova, len) < 0) {
				IOMMU_LOG(ERR, "map undo on %s failed: 0x%" PRIx64 " stays mapped",
					  own[i]->ops->name, iova);
				*stuck = true;
			}
		}
	}
	inv_array_read_unlock();
	return rc;
}

bool domain_needs_premap(struct svio_domain *dom)
{
	const struct inv_array *arr;
	bool need = __atomic_load_n(&dom->n_owners, __ATOMIC_ACQUIRE) > 0;

	inv_array_read_lock();
	arr = inv_array_get(&dom->inv);
	for (unsigned int i = 0; i < arr->n_tags && !need; i++)
		need = iommu_nests(arr->tags[i].iommu);
	inv_array_read_unlock();
	return need;
}

bool svio_domain_sva_mapped_only(struct svio_domain *dom)
{
	return dom != NULL && dom->cfg.sva && domain_needs_premap(dom);
}

int svio_dma_check(struct svio_domain *dom, uint64_t iova, size_t len, int prot)
{
	uint64_t end = iova + len, p = iova, flags, leaf;

	if (dom == NULL || len == 0 || end < iova)
		return -EINVAL;
	/* Leaf by leaf: a DPDK hugepage is one lookup however long the buffer. */
	while (p < end) {
		if (pgtable_lookup(&dom->pgt, p, NULL, &flags, &leaf) < 0)
			return -EFAULT;
		if ((prot & SVIO_DMA_WRITE) && !(flags & SVIO_PTE_RW))
			return -EFAULT;
		p = (p & ~(leaf - 1)) + leaf;
		if (p == 0)
			break; /* the last leaf of the address space */
	}
	return 0;
}

int domain_s1_check(struct svio_domain *dom, uint64_t pa, uint64_t len)
{
	const struct inv_array *arr;
	struct svio_iommu *last = NULL;
	int rc = 0;

	/* No nesting instance ever attached: nothing to ask, and no walk on every map. */
	if (!__atomic_load_n(&dom->s1_checked, __ATOMIC_ACQUIRE))
		return 0;
	inv_array_read_lock();
	arr = inv_array_get(&dom->inv);
	for (unsigned int i = 0; i < arr->n_tags && rc == 0; i++) {
		struct svio_iommu *iommu = arr->tags[i].iommu;

		if (iommu == last || !iommu_nests(iommu))
			continue;
		last = iommu;
		rc = iommu->ops->s1_check(iommu, pa, len);
	}
	inv_array_read_unlock();
	return rc;
}

int owner_unmap_now(struct svio_domain *dom, uint64_t iova, uint64_t len)
{
	struct svio_iommu *own[SVIO_IOMMU_MAX_INSTANCES];
	unsigned int n;
	int rc = 0;

	inv_array_read_lock();
	n = owners(inv_array_get(&dom->inv), own);
	for (unsigned int i = 0; i < n; i++) {
		int r = call_unmap(dom, own[i], iova, len);

		if (r < 0) {
			IOMMU_LOG(ERR, "map undo on %s failed: 0x%" PRIx64 " stays mapped",
				  own[i]->ops->name, iova);
			if (rc == 0)
				rc = r;
		}
	}
	inv_array_read_unlock();
	return rc;
}

/* One instance refused a merged range: find which entries it refuses alone. */
static void unmap_each(struct svio_domain *dom, struct svio_iommu *iommu,
		       const struct flush_range *r, struct fq_entry *e, unsigned int n)
{
	for (unsigned int j = 0; j < n; j++) {
		int rc;

		if (e[j].kdone || e[j].iova_runs != NULL || e[j].iova < r->start ||
		    e[j].iova + e[j].len > r->end)
			continue;
		rc = call_unmap(dom, iommu, e[j].iova, e[j].len);
		if (rc == 0 || e[j].kerr)
			continue;
		/*
		 * -ENOENT may also mean the merged call removed it before failing,
		 * but it may mean a map crosses the range's edge and stays
		 * reachable: never hand that memory back.
		 */
		e[j].kerr = rc;
		STAT_ADD(dom, kernel_unmap_errors, 1);
		IOMMU_LOG(ERR,
			  "%s refused to unmap 0x%" PRIx64 " len 0x%" PRIx64 " (%d): an unmap must "
			  "cover whole maps; this memory is never released",
			  iommu->ops->name, e[j].iova, e[j].len, rc);
	}
}

/* An unmap that cleared several runs: each run alone, never the holes between them. */
static void unmap_runs(struct svio_domain *dom, struct svio_iommu *iommu, struct fq_entry *e)
{
	for (uint32_t i = 0; i < e->iova_runs->n; i++) {
		const struct iova_range *r = &e->iova_runs->r[i];
		int rc = call_unmap(dom, iommu, r->start, r->end - r->start);

		if (rc == 0 || e->kerr)
			continue;
		e->kerr = rc;
		STAT_ADD(dom, kernel_unmap_errors, 1);
		IOMMU_LOG(ERR,
			  "%s refused to unmap 0x%" PRIx64 " len 0x%" PRIx64 " (%d): an unmap must "
			  "cover whole maps; this memory is never released",
			  iommu->ops->name, r->start, r->end - r->start, rc);
	}
}

void owner_unmap_batch(struct svio_domain *dom, struct fq_entry *e, unsigned int n)
{
	struct svio_iommu *own[SVIO_IOMMU_MAX_INSTANCES];
	struct flush_range *r = dom->kranges;
	unsigned int no, nr = 0;

	/* Maps revived while their unmap sat in the queue stay: those entries come back kdone. */
	revive_claim(dom, e, n);
	if (__atomic_load_n(&dom->n_owners, __ATOMIC_ACQUIRE) == 0)
		goto out_done;
	inv_array_read_lock();
	no = owners(inv_array_get(&dom->inv), own);
	if (no > 0) {
		/* Entries retried after a first-stage failure were unmapped already. */
		for (unsigned int j = 0; j < n; j++) {
			if (e[j].kdone || e[j].iova_runs != NULL)
				continue;
			r[nr].start = e[j].iova;
			r[nr].end = e[j].iova + e[j].len;
			nr++;
		}
		nr = flush_merge_ranges(r, nr);
	}
	for (unsigned int k = 0; k < no; k++) {
		for (unsigned int i = 0; i < nr; i++) {
			if (call_unmap(dom, own[k], r[i].start, r[i].end - r[i].start) < 0)
				unmap_each(dom, own[k], &r[i], e, n);
		}
		for (unsigned int j = 0; j < n; j++) {
			if (!e[j].kdone && e[j].iova_runs != NULL)
				unmap_runs(dom, own[k], &e[j]);
		}
	}
	inv_array_read_unlock();
out_done:
	for (unsigned int j = 0; j < n; j++)
		e[j].kdone = true;
}

int owner_unmap_all(struct svio_domain *dom, struct svio_iommu *iommu)
{
	int rc = call_unmap(dom, iommu, 0, OWNER_ALL_LEN);

	/* Nothing left to revive: a later map must reach the kernel again. */
	revive_drop_all(dom);
	/* Nothing mapped is what we want. */
	return rc == -ENOENT ? 0 : rc;
}
