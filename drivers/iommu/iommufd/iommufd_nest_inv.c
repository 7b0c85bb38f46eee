/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Nested stage 1: the core's flush batches as IOMMU_HWPT_INVALIDATE arrays
 * on the nested HWPT, one call per batch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "svio_x86_pte.h"
#include "iommufd_nest.h"

/* Append one entry, extending the previous one when it ends where this starts. inv_lock held. */
static void inv_add(uint64_t addr, uint64_t npages)
{
	struct iommufd_nest *n = &iommufd_ctx.nest;
	struct svio_iommu_hwpt_vtd_s1_invalidate *last =
		n->n_inv > 0 ? &n->inv[n->n_inv - 1] : NULL;

	if (last != NULL && last->npages == SVIO_IOMMU_VTD_INV_ALL_NPAGES)
		return; /* everything goes already */
	if (npages == SVIO_IOMMU_VTD_INV_ALL_NPAGES || n->n_inv == IOMMUFD_NEST_MAX_INV) {
		/* Whole stage 1, or more pieces than we keep: one entry for all. */
		n->inv[0] = (struct svio_iommu_hwpt_vtd_s1_invalidate){
			.addr = 0, .npages = SVIO_IOMMU_VTD_INV_ALL_NPAGES
		};
		n->n_inv = 1;
		return;
	}
	if (last != NULL && last->addr + last->npages * SVIO_PT_PAGE_SIZE == addr) {
		last->npages += npages;
		return;
	}
	/*
	 * No LEAF flag: an unmap may have emptied and unlinked table pages,
	 * so cached paging-structure entries must go as well.
	 */
	n->inv[n->n_inv++] =
		(struct svio_iommu_hwpt_vtd_s1_invalidate){ .addr = addr, .npages = npages };
}

int iommufd_nest_inv_post(struct svio_iommu *iommu, const struct svio_inv *inv, unsigned int n)
{
	RTE_SET_USED(iommu);
	pthread_mutex_lock(&iommufd_ctx.nest.inv_lock);
	for (unsigned int i = 0; i < n; i++) {
		/* caps.ats is off: the kernel invalidates device-TLBs with each entry. */
		if (inv[i].kind != SVIO_INV_IOTLB)
			continue;
		if (inv[i].all)
			inv_add(0, SVIO_IOMMU_VTD_INV_ALL_NPAGES);
		else
			inv_add(inv[i].addr, UINT64_C(1) << inv[i].order);
	}
	pthread_mutex_unlock(&iommufd_ctx.nest.inv_lock);
	return 0;
}

/*
 * Hand the pending entries to the kernel. The kernel may handle fewer than
 * it was given: the rest is sent again while it makes progress; an error (or
 * no progress) fails the whole batch. inv_lock held. @return 0 or -EIO.
 */
static int inv_submit(void)
{
	struct iommufd_nest *n = &iommufd_ctx.nest;
	unsigned int done = 0;

	while (done < n->n_inv) {
		struct svio_iommu_hwpt_invalidate q = {
			.size = sizeof(q),
			.hwpt_id = n->s1_id,
			.data_uptr = (uint64_t)(uintptr_t)&n->inv[done],
			.data_type = SVIO_IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
			.entry_len = sizeof(n->inv[0]),
			.entry_num = n->n_inv - done,
		};
		int rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_HWPT_INVALIDATE, &q);

		n->seq++;
		if (q.entry_num > n->n_inv - done)
			q.entry_num = 0; /* nonsense from the kernel: trust nothing */
		done += q.entry_num;
		if (rc < 0 || q.entry_num == 0) {
			const struct svio_iommu_hwpt_vtd_s1_invalidate *e =
				&n->inv[done < n->n_inv ? done : n->n_inv - 1];

			IOMMUFD_LOG(
				ERR,
				"IOMMU_HWPT_INVALIDATE on HWPT %u: entry %u of %u (addr %#" PRIx64
				", %" PRIu64 " pages) %s: %s",
				n->s1_id, done, n->n_inv, e->addr, e->npages,
				rc < 0 ? "failed" : "not handled",
				rc < 0 ? strerror(-rc) : "the kernel made no progress");
			return -EIO;
		}
	}
	return 0;
}

/* The cookie carries the result: the kernel completed the work before returning. */
#define COOKIE_FAILED UINT64_C(1)

int iommufd_nest_wait_post(struct svio_iommu *iommu, uint64_t *cookie)
{
	int rc = 0;

	RTE_SET_USED(iommu);
	pthread_mutex_lock(&iommufd_ctx.nest.inv_lock);
	/* Without a nested HWPT nothing can cache stage 1 (the last detach destroyed it). */
	if (iommufd_ctx.nest.n_inv > 0 && iommufd_ctx.nest.s1_id != 0)
		rc = inv_submit();
	iommufd_ctx.nest.n_inv = 0;
	*cookie = (iommufd_ctx.nest.seq << 1) | (rc < 0 ? COOKIE_FAILED : 0);
	pthread_mutex_unlock(&iommufd_ctx.nest.inv_lock);
	return 0;
}

int iommufd_nest_wait_poll(struct svio_iommu *iommu, uint64_t cookie)
{
	RTE_SET_USED(iommu);
	return (cookie & COOKIE_FAILED) ? -EIO : 0;
}
