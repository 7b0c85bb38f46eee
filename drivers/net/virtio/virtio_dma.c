/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device addresses for the driver's memory (rings, control buffer, mbuf
 * pools). Under SVA a device address is the process address and pages fault
 * in on first use; without SVA (or without page requests) memory is mapped
 * through the domain up front and translated here.
 *
 * Each registration maps its whole page-rounded range with one svio_dma_map()
 * call, so everything inside it is contiguous for the device. Registrations
 * of the same range (one mempool under the rx queues of several ports) share
 * one slot and one mapping, counted in refs: every queue posting the pool's
 * buffers holds a reference, so no port's stop, removal or queue setup can
 * unmap addresses another port's ring still holds. Two different
 * registrations may share a page (a pool's first page and a ring): without
 * SVA each gets its own IOVA for it, so a lookup must find a region holding
 * the whole buffer, not just its first byte.
 *
 * Registration is control path, serialised by a mutex; lookups run on
 * data-path threads. The table is guarded by a seqcount (virtio_dma_seq):
 * a lookup copies the region it found into the queue's own cache together
 * with the count, and the cache is trusted only while the count is
 * unchanged, so a freed slot may be reused at once.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <rte_common.h>
#include <rte_pause.h>

#include "svio_iommu.h"
#include "virtio_net_priv.h"

#define DMA_PAGE	4096ull
#define DMA_MAX_REGIONS 1024

struct virtio_dma_region {
	uintptr_t va;
	size_t len; /* 0: free slot */
	uint64_t iova;
	unsigned int refs; /* registrations sharing it; under table_lock */
	bool identity;
};

unsigned int virtio_dma_seq;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct virtio_dma_region regions[DMA_MAX_REGIONS];
static unsigned int n_regions; /* slots ever used; only grows */

/*
 * Writers (under table_lock) make the count odd, change slots with release
 * stores (so a reader that sees a new value also sees the odd count), then
 * make it even again.
 */
static void table_write_begin(void)
{
	__atomic_store_n(&virtio_dma_seq, virtio_dma_seq + 1, __ATOMIC_RELAXED);
}

static void table_write_end(void)
{
	__atomic_store_n(&virtio_dma_seq, virtio_dma_seq + 1, __ATOMIC_RELEASE);
}

static void slot_set(struct virtio_dma_region *r, uintptr_t va, size_t len, uint64_t iova)
{
	__atomic_store_n(&r->va, va, __ATOMIC_RELEASE);
	__atomic_store_n(&r->iova, iova, __ATOMIC_RELEASE);
	__atomic_store_n(&r->len, len, __ATOMIC_RELEASE);
}

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
	unsigned int slot, i;
	uint64_t iova = p;
	int rc;

	if (dom == NULL)
		return -ENODEV;
	pthread_mutex_lock(&table_lock);
	slot = DMA_MAX_REGIONS;
	for (i = 0; i < n_regions; i++) {
		struct virtio_dma_region *r = &regions[i];

		if (r->len == end - p && r->va == p && r->identity == identity) {
			r->refs++; /* already mapped for another queue */
			*handle = r;
			pthread_mutex_unlock(&table_lock);
			return 0;
		}
		if (r->len == 0 && slot == DMA_MAX_REGIONS)
			slot = i;
	}
	if (slot == DMA_MAX_REGIONS && n_regions < DMA_MAX_REGIONS)
		slot = n_regions;
	if (slot == DMA_MAX_REGIONS) {
		VIRTIO_LOG(ERR, "more than %d DMA registrations", DMA_MAX_REGIONS);
		rc = -ENOSPC;
		goto out_unlock;
	}
	if (identity)
		rc = map_identity(dom, p, end - p);
	else
		rc = svio_dma_map(dom, (void *)p, end - p, SVIO_DMA_RW, &iova);
	if (rc < 0) {
		VIRTIO_LOG(ERR, "cannot map %#zx bytes at %p for DMA: %s", (size_t)(end - p),
			   (void *)p, strerror(-rc));
		goto out_unlock;
	}
	table_write_begin();
	regions[slot].refs = 1;
	regions[slot].identity = identity;
	slot_set(&regions[slot], p, end - p, iova);
	if (slot == n_regions)
		__atomic_store_n(&n_regions, n_regions + 1, __ATOMIC_RELEASE);
	table_write_end();
	*handle = &regions[slot];
	rc = 0;
out_unlock:
	pthread_mutex_unlock(&table_lock);
	return rc;
}

/* Is the page at @p va inside a live identity region other than @p self? */
static bool identity_covered(const struct virtio_dma_region *self, uintptr_t va)
{
	unsigned int i;

	for (i = 0; i < n_regions; i++) {
		const struct virtio_dma_region *r = &regions[i];

		if (r != self && r->len > 0 && r->identity && va - r->va < r->len)
			return true;
	}
	return false;
}

/* Identity mappings are shared by overlapping registrations: unmap the runs no other covers. */
static void unmap_identity(struct svio_domain *dom, const struct virtio_dma_region *r)
{
	uintptr_t p, run = 0;

	/* Pages we found mapped by faults go too; the next use faults them back in. */
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

void virtio_dma_unregister(struct svio_domain *dom, void *handle)
{
	struct virtio_dma_region *r = handle, gone;

	if (r == NULL)
		return;
	pthread_mutex_lock(&table_lock);
	if (--r->refs > 0) {
		pthread_mutex_unlock(&table_lock);
		return;
	}
	gone = *r;
	/* Out of the table first: no lookup hands out an address being unmapped. */
	table_write_begin();
	slot_set(r, 0, 0, 0);
	r->identity = false;
	table_write_end();
	if (gone.identity && svio_domain_sva(dom))
		unmap_identity(dom, &gone);
	else
		(void)svio_dma_unmap(dom, gone.iova, gone.len);
	pthread_mutex_unlock(&table_lock);
}

uint64_t virtio_dma_lookup(struct virtio_xlate *x, uintptr_t va, size_t len)
{
	unsigned int i, n, seq;
	uint64_t iova;

	do {
		seq = __atomic_load_n(&virtio_dma_seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			rte_pause(); /* a registration is being changed */
			continue;
		}
		iova = UINT64_MAX;
		n = __atomic_load_n(&n_regions, __ATOMIC_ACQUIRE);
		for (i = 0; i < n; i++) {
			const struct virtio_dma_region *r = &regions[i];
			size_t rlen = __atomic_load_n(&r->len, __ATOMIC_ACQUIRE);
			uintptr_t rva = __atomic_load_n(&r->va, __ATOMIC_ACQUIRE);

			if (va - rva < rlen && len <= rlen - (va - rva)) {
				x->va = rva;
				x->len = rlen;
				x->iova = __atomic_load_n(&r->iova, __ATOMIC_ACQUIRE);
				iova = x->iova + (va - rva);
				break;
			}
		}
	} while ((seq & 1) || __atomic_load_n(&virtio_dma_seq, __ATOMIC_ACQUIRE) != seq);
	x->seq = seq;
	if (iova == UINT64_MAX)
		x->len = 0;
	return iova;
}
