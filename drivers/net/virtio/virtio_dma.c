/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device addresses for the driver's memory (rings, control buffer, mbuf
 * pools). Under SVA a device address is the process address and pages fault
 * in on first use; without SVA (or without page requests) memory is mapped
 * through the domain up front and translated here.
 *
 * Each registration maps its whole page-rounded range with one svio_dma_map()
 * call, so everything inside it is contiguous for the device. Two
 * registrations may share a page (a pool's first page and a ring): without
 * SVA each gets its own IOVA for it, so a lookup must find a region holding
 * the whole buffer, not just its first byte.
 *
 * Registration is control path; lookups run on data-path threads, so a region
 * slot, once published, is never moved, and it is only unmapped after the
 * queues using it stopped.
 */
#include <errno.h>
#include <string.h>

#include <rte_common.h>

#include "svio_iommu.h"
#include "virtio_net_priv.h"

#define DMA_PAGE	4096ull
#define DMA_MAX_REGIONS 1024

static struct virtio_dma_region regions[DMA_MAX_REGIONS];
static unsigned int n_regions; /* published with release; slots below it are stable */

/* Identity (SVA) mapping: pages already mapped (faults, other drivers) are fine. */
static int map_identity(struct svio_domain *dom, uintptr_t va, size_t len)
{
	uint64_t iova;
	size_t off;
	int rc;

	rc = svio_dma_map(dom, (void *)va, len, SVIO_DMA_RW, &iova);
	if (rc != -EEXIST)
		return rc;
	for (off = 0; off < len; off += DMA_PAGE) {
		rc = svio_dma_map(dom, (void *)(va + off), DMA_PAGE, SVIO_DMA_RW, &iova);
		if (rc < 0 && rc != -EEXIST)
			return rc;
	}
	return 0;
}

int virtio_dma_register(struct svio_domain *dom, const void *va, size_t len, bool identity,
			void **handle)
{
	uintptr_t p = RTE_ALIGN_FLOOR((uintptr_t)va, DMA_PAGE);
	uintptr_t end = RTE_ALIGN_CEIL((uintptr_t)va + len, DMA_PAGE);
	unsigned int slot;
	uint64_t iova = p;
	int rc;

	if (dom == NULL)
		return -ENODEV;
	for (slot = 0; slot < n_regions; slot++) {
		if (regions[slot].len == 0)
			break;
	}
	if (slot == DMA_MAX_REGIONS)
		return -ENOSPC;
	if (identity)
		rc = map_identity(dom, p, end - p);
	else
		rc = svio_dma_map(dom, (void *)p, end - p, SVIO_DMA_RW, &iova);
	if (rc < 0) {
		VIRTIO_LOG(ERR, "cannot map %#zx bytes at %p for DMA: %s", (size_t)(end - p),
			   (void *)p, strerror(-rc));
		return rc;
	}
	regions[slot].va = p;
	regions[slot].iova = iova;
	regions[slot].refs = 1;
	/* Release: a lookup that sees the length sees the rest. */
	__atomic_store_n(&regions[slot].len, end - p, __ATOMIC_RELEASE);
	if (slot == n_regions)
		__atomic_store_n(&n_regions, n_regions + 1, __ATOMIC_RELEASE);
	*handle = &regions[slot];
	return 0;
}

/* Is the page at @p va inside a live identity region other than @p self? */
static bool identity_covered(const struct virtio_dma_region *self, uintptr_t va)
{
	unsigned int i;

	for (i = 0; i < n_regions; i++) {
		const struct virtio_dma_region *r = &regions[i];

		if (r != self && r->len > 0 && r->iova == r->va && va - r->va < r->len)
			return true;
	}
	return false;
}

void virtio_dma_unregister(struct svio_domain *dom, void *handle)
{
	struct virtio_dma_region *r = handle;
	uintptr_t p, run = 0;
	bool identity;

	if (r == NULL)
		return;
	identity = r->iova == r->va && svio_domain_sva(dom);
	if (!identity) {
		(void)svio_dma_unmap(dom, r->iova, r->len);
	} else {
		/*
		 * Identity mappings are shared by every registration of the same
		 * pages (two queues on one pool): unmap only the runs no other
		 * region still covers. Pages we found mapped by faults go too;
		 * the next use faults them back in.
		 */
		for (p = r->va; p <= r->va + r->len; p += DMA_PAGE) {
			bool keep = p == r->va + r->len || identity_covered(r, p);

			if (keep && run != 0) {
				if (svio_dma_unmap(dom, run, p - run) < 0) {
					for (; run < p; run += DMA_PAGE)
						(void)svio_dma_unmap(dom, run, DMA_PAGE);
				}
				run = 0;
			} else if (!keep && run == 0) {
				run = p;
			}
		}
	}
	r->refs = 0;
	__atomic_store_n(&r->len, 0, __ATOMIC_RELEASE);
}

uint64_t virtio_dma_lookup(struct virtio_xlate *x, uintptr_t va, size_t len)
{
	unsigned int i, n = __atomic_load_n(&n_regions, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++) {
		const struct virtio_dma_region *r = &regions[i];
		size_t rlen = __atomic_load_n(&r->len, __ATOMIC_ACQUIRE);

		if (va - r->va < rlen && len <= rlen - (va - r->va)) {
			x->last = r;
			return r->iova + (va - r->va);
		}
	}
	return UINT64_MAX;
}
