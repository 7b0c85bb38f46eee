/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Nested stage 1 on iommufd (VT-d): the core's x86-64 4-level table is the
 * first stage of a nested HWPT, the IOAS (through a NEST_PARENT HWPT) is the
 * second. This file: whether a device's IOMMU can nest, the NEST_PARENT
 * HWPT, the nested HWPT over the core's table and devices attached to it.
 * The concepts around it have a file each (iommufd_nest.h lists them).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "svio_dev.h"
#include "svio_x86_pte.h"
#include "iommufd_nest.h"

/* NULL when the device's IOMMU can walk our table as a nested stage 1, else why not. */
static const char *nest_unsupported(const struct svio_iommufd_hw *hw)
{
	if (hw->type != SVIO_IOMMU_HW_INFO_TYPE_INTEL_VTD)
		return "the IOMMU is not VT-d (or the kernel has no IOMMU_GET_HW_INFO)";
	if (!SVIO_VTD_ECAP_NEST(hw->vtd_ecap))
		return "VT-d reports no nested translation (ECAP.NEST)";
	if (!SVIO_VTD_ECAP_FLTS(hw->vtd_ecap) || !SVIO_VTD_ECAP_SMTS(hw->vtd_ecap))
		return "VT-d reports no scalable-mode first-stage translation (ECAP.SMTS/FLTS)";
	/* The core's table uses 1 GiB leaves where a map allows. */
	if (!SVIO_VTD_CAP_FL1GP(hw->vtd_cap))
		return "VT-d first stage has no 1 GiB pages (CAP.FL1GP)";
	return NULL;
}

void iommufd_nest_probe(const struct svio_iommufd_dev *idev)
{
	struct svio_iommu_hwpt_alloc ha = {
		.size = sizeof(ha),
		.flags = SVIO_IOMMU_HWPT_ALLOC_NEST_PARENT,
		.dev_id = idev->dev_id,
		.pt_id = iommufd_ctx.ioas_id,
	};
	const char *why = nest_unsupported(&idev->hw);
	int rc;

	if (iommufd_ctx.nest.active)
		return; /* kept from before: the IOAS outlived its last device */
	if (why != NULL) {
		IOMMUFD_LOG(INFO, "no nested stage 1: %s; using the kernel-owned paging domain",
			    why);
		return;
	}
	rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_HWPT_ALLOC, &ha);
	if (rc < 0) {
		IOMMUFD_LOG(
			INFO,
			"no nested stage 1: IOMMU_HWPT_ALLOC with NEST_PARENT failed (%s); using "
			"the kernel-owned paging domain",
			strerror(-rc));
		return;
	}
	if (nest_pool_s2_start() < 0) {
		iommufd_destroy_obj(ha.out_hwpt_id);
		IOMMUFD_LOG(INFO, "no nested stage 1: page-table pages not mappable; using the "
				  "kernel-owned paging domain");
		return;
	}
	iommufd_ctx.nest.parent_id = ha.out_hwpt_id;
	iommufd_ctx.nest.s1_id = 0;
	iommufd_ctx.nest.users = 0;
	iommufd_ctx.nest.n_inv = 0;
	iommufd_ctx.nest.active = true;
	/*
	 * The core owns stage 1 and invalidates it; the kernel flushes the
	 * device-TLBs of the nested HWPT's devices with each entry, so no
	 * device-TLB tags, and no page requests (no fault queue).
	 */
	iommufd_ctx.iommu.caps.first_stage = true;
	iommufd_ctx.iommu.caps.ats = false;
	iommufd_ctx.iommu.caps.pri = false;
	IOMMUFD_LOG(INFO, "nested stage 1 on: the core's table over IOAS %u (parent HWPT %u)",
		    iommufd_ctx.ioas_id, iommufd_ctx.nest.parent_id);
}

int iommufd_nest_check_dev(const struct svio_iommufd_dev *idev)
{
	const char *why;

	if (!iommufd_ctx.nest.active)
		return 0;
	why = nest_unsupported(&idev->hw);
	if (why == NULL)
		return 0;
	IOMMUFD_LOG(ERR,
		    "%s: cannot join the nested stage 1 the first device set up: %s (bind devices "
		    "of one kind of IOMMU per process)",
		    idev->dev->name, why);
	return -EOPNOTSUPP;
}

void iommufd_nest_close(void)
{
	if (!iommufd_ctx.nest.active)
		return;
	nest_dpdk_stop();
	nest_s2_forget_all(false); /* the IOAS goes next, with its maps */
	if (iommufd_ctx.nest.s1_id != 0)
		iommufd_destroy_obj(iommufd_ctx.nest.s1_id);
	iommufd_destroy_obj(iommufd_ctx.nest.parent_id);
	nest_pool_s2_stop(false);
	pthread_mutex_lock(&iommufd_ctx.nest.inv_lock);
	iommufd_ctx.nest.s1_id = 0;
	iommufd_ctx.nest.n_inv = 0;
	pthread_mutex_unlock(&iommufd_ctx.nest.inv_lock);
	iommufd_ctx.nest.active = false;
	iommufd_ctx.nest.parent_id = 0;
	iommufd_ctx.nest.users = 0;
	iommufd_ctx.iommu.caps.first_stage = false;
}

/* The nested HWPT over our table (first attach), 0 or a negative errno. */
static int alloc_s1(const struct svio_iommufd_dev *idev, uint64_t root)
{
	struct svio_iommu_hwpt_vtd_s1 s1 = {
		.flags = 0, /* user-level requests only, no write protection of supervisor */
		.pgtbl_addr = root,
		.addr_width = SVIO_PT_VA_BITS,
	};
	struct svio_iommu_hwpt_alloc ha = {
		.size = sizeof(ha),
		.dev_id = idev->dev_id,
		.pt_id = iommufd_ctx.nest.parent_id,
		.data_type = SVIO_IOMMU_HWPT_DATA_VTD_S1,
		.data_len = sizeof(s1),
		.data_uptr = (uint64_t)(uintptr_t)&s1,
	};
	int rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_HWPT_ALLOC, &ha);

	if (rc < 0) {
		IOMMUFD_LOG(ERR,
			    "%s: IOMMU_HWPT_ALLOC of the nested stage 1 (root %#" PRIx64 "): %s",
			    idev->dev->name, root, strerror(-rc));
		return rc;
	}
	pthread_mutex_lock(&iommufd_ctx.nest.inv_lock);
	iommufd_ctx.nest.s1_id = ha.out_hwpt_id;
	iommufd_ctx.nest.s1_root = root;
	iommufd_ctx.nest.n_inv = 0; /* a new HWPT caches nothing yet */
	pthread_mutex_unlock(&iommufd_ctx.nest.inv_lock);
	return 0;
}

/*
 * Destroy the nested HWPT. Until the kernel agrees it is still there (and
 * may still be attached and caching), so s1_id stays and flushes keep
 * invalidating it; iommufd_nest_close() tries again. iommufd_ctx.lock held.
 */
static int free_s1(void)
{
	int rc = iommufd_destroy_obj(iommufd_ctx.nest.s1_id);

	if (rc < 0) {
		IOMMUFD_LOG(WARNING, "nested HWPT %u kept and invalidated while it stays",
			    iommufd_ctx.nest.s1_id);
		return rc;
	}
	pthread_mutex_lock(&iommufd_ctx.nest.inv_lock);
	iommufd_ctx.nest.s1_id = 0;
	iommufd_ctx.nest.n_inv = 0; /* its caches went with it */
	pthread_mutex_unlock(&iommufd_ctx.nest.inv_lock);
	return 0;
}

int iommufd_nest_attach(struct svio_iommufd_dev *idev, uint64_t root)
{
	struct svio_vfio_device_attach_iommufd_pt at = {
		.argsz = SVIO_VFIO_ATTACH_ARGSZ_RID,
	};
	bool created = false;
	int rc;

	if (!nest_pool_owns((const void *)(uintptr_t)root)) {
		IOMMUFD_LOG(ERR,
			    "attach %s: the stage-1 root %#" PRIx64 " is not a page stage 2 maps "
			    "(a table allocated outside the page pool)",
			    idev->dev->name, root);
		return -EINVAL;
	}
	rc = nest_dpdk_follow();
	if (rc < 0) {
		IOMMUFD_LOG(ERR, "attach %s: DPDK memory not mappable in stage 2: %s",
			    idev->dev->name, strerror(-rc));
		return rc;
	}
	if (iommufd_ctx.nest.s1_id == 0) {
		rc = alloc_s1(idev, root);
		if (rc < 0)
			return rc;
		created = true;
	} else if (iommufd_ctx.nest.s1_root != root) {
		IOMMUFD_LOG(ERR,
			    "attach %s: another domain's table (root %#" PRIx64
			    ") is stage 1 already: "
			    "one domain per process on iommufd",
			    idev->dev->name, iommufd_ctx.nest.s1_root);
		return -EBUSY;
	}
	at.pt_id = iommufd_ctx.nest.s1_id;
	rc = svio_vfio_ioctl(idev->fd, SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
	if (rc < 0) {
		IOMMUFD_LOG(ERR, "attach %s to the nested HWPT %u: %s", idev->dev->name,
			    iommufd_ctx.nest.s1_id, strerror(-rc));
		if (created)
			free_s1();
		return rc;
	}
	iommufd_ctx.nest.users++;
	return 0;
}

int iommufd_nest_detach(struct svio_iommufd_dev *idev)
{
	int rc = iommufd_detach_rid(idev);

	/* Refused: still attached and caching, it keeps its place among the users. */
	if (rc < 0)
		return rc;
	/*
	 * The last device out takes the HWPT along; destroying it drops what it
	 * cached. The device is off either way, so a refused destroy is no
	 * failure of this detach (free_s1() keeps the HWPT invalidated).
	 */
	if (iommufd_ctx.nest.users > 0 && --iommufd_ctx.nest.users == 0)
		free_s1();
	return 0;
}
