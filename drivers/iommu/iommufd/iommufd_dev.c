/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iommufd devices: bind a VFIO cdev, read the IOMMU's hardware info, and the
 * svio_iommu_ops the core calls to attach and detach (PASID attach where the
 * kernel and the device allow it, requester-id attach otherwise).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_common.h>

#include "svio_dev.h"
#include "iommufd_priv.h"

static void read_hw_info(struct svio_iommufd_dev *idev)
{
	struct svio_iommu_hw_info_vtd vtd = { 0 };
	struct svio_iommu_hw_info q = {
		.size = sizeof(q),
		.dev_id = idev->dev_id,
		.data_len = sizeof(vtd),
		.data_uptr = (uint64_t)(uintptr_t)&vtd,
	};
	int rc;

	memset(&idev->hw, 0, sizeof(idev->hw));
	rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_GET_HW_INFO, &q);
	if (rc < 0) {
		/* 6.6+ has it; without it we simply know less. */
		IOMMUFD_LOG(NOTICE, "%s: IOMMU_GET_HW_INFO failed (%s): assuming no PASID",
			    idev->dev->name, strerror(-rc));
		return;
	}
	idev->hw.type = q.out_data_type;
	idev->hw.max_pasid_log2 = q.out_max_pasid_log2;
	idev->hw.capabilities = q.out_capabilities;
	if (q.out_data_type == SVIO_IOMMU_HW_INFO_TYPE_INTEL_VTD) {
		idev->hw.vtd_cap = vtd.cap_reg;
		idev->hw.vtd_ecap = vtd.ecap_reg;
	}
	IOMMUFD_LOG(DEBUG, "%s: IOMMU type %u, PASID bits %u, caps %#" PRIx64, idev->dev->name,
		    idev->hw.type, idev->hw.max_pasid_log2, idev->hw.capabilities);
}

static int bind_error(const struct svio_device *dev, int rc)
{
	switch (rc) {
	case -ENOTTY:
		IOMMUFD_LOG(ERR,
			    "%s: the kernel's VFIO has no device cdev binding "
			    "(needs Linux 6.6+ with CONFIG_VFIO_DEVICE_CDEV)",
			    dev->name);
		break;
	case -EBUSY:
		IOMMUFD_LOG(ERR,
			    "%s: already in use (bound to an iommufd or a VFIO container "
			    "by another process or open twice)",
			    dev->name);
		break;
	case -EPERM:
	case -EACCES:
		IOMMUFD_LOG(ERR, "%s: VFIO_DEVICE_BIND_IOMMUFD: permission denied", dev->name);
		rc = -EACCES;
		break;
	default:
		IOMMUFD_LOG(ERR, "%s: VFIO_DEVICE_BIND_IOMMUFD failed: %s", dev->name,
			    strerror(-rc));
	}
	return rc;
}

int svio_iommufd_bind(struct svio_iommufd_dev *idev, struct svio_device *dev, int fd)
{
	struct svio_vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	bool opened = false;
	int rc;

	if (idev == NULL || dev == NULL || fd < 0)
		return -EINVAL;
	memset(idev, 0, sizeof(*idev));
	idev->dev = dev;
	idev->fd = fd;
	pthread_mutex_lock(&iommufd_ctx.lock);
	if (iommufd_ctx.fd < 0) {
		rc = iommufd_ctx_open();
		if (rc < 0)
			goto out_unlock;
		opened = true;
	}
	bind.iommufd = iommufd_ctx.fd;
	rc = svio_vfio_ioctl(fd, SVIO_VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (rc < 0) {
		rc = bind_error(dev, rc);
		goto out_close_ctx;
	}
	idev->dev_id = bind.out_devid;
	read_hw_info(idev);
	if (iommufd_ctx.bound == 0) {
		iommufd_nest_probe(idev);
	} else {
		rc = iommufd_nest_check_dev(idev);
		if (rc < 0)
			goto out_close_ctx; /* closing the cdev ends its binding */
	}
	idev->bound = true;
	TAILQ_INSERT_TAIL(&iommufd_ctx.devs, idev, next);
	iommufd_ctx.bound++;
	iommufd_ctx_update_caps();
	dev->dma.iommu_index = SVIO_IOMMUFD_INDEX;
	dev->dma.iommu = NULL; /* the core resolves it from the index */
	pthread_mutex_unlock(&iommufd_ctx.lock);
	return 0;

out_close_ctx:
	if (opened)
		iommufd_ctx_close();
out_unlock:
	pthread_mutex_unlock(&iommufd_ctx.lock);
	return rc;
}

void svio_iommufd_unbind(struct svio_iommufd_dev *idev)
{
	if (idev == NULL || !idev->bound)
		return;
	pthread_mutex_lock(&iommufd_ctx.lock);
	if (idev->attached)
		IOMMUFD_LOG(WARNING, "%s: unbound while still attached", idev->dev->name);
	TAILQ_REMOVE(&iommufd_ctx.devs, idev, next);
	idev->bound = false;
	iommufd_ctx_update_caps();
	if (--iommufd_ctx.bound == 0)
		iommufd_ctx_close();
	pthread_mutex_unlock(&iommufd_ctx.lock);
}

static struct svio_iommufd_dev *find_dev(const struct svio_device *dev)
{
	struct svio_iommufd_dev *idev;

	TAILQ_FOREACH (idev, &iommufd_ctx.devs, next) {
		if (idev->dev == dev)
			return idev;
	}
	return NULL;
}

static int attach_rid(struct svio_iommufd_dev *idev, uint32_t pt_id)
{
	struct svio_vfio_device_attach_iommufd_pt at = {
		.argsz = SVIO_VFIO_ATTACH_ARGSZ_RID,
		.pt_id = pt_id,
	};

	return svio_vfio_ioctl(idev->fd, SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
}

int iommufd_detach_rid(struct svio_iommufd_dev *idev)
{
	struct svio_vfio_device_detach_iommufd_pt dt = { .argsz = SVIO_VFIO_DETACH_ARGSZ_RID };
	int rc = svio_vfio_ioctl(idev->fd, SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt);

	if (rc < 0)
		IOMMUFD_LOG(ERR, "%s: VFIO_DEVICE_DETACH_IOMMUFD_PT: %s", idev->dev->name,
			    strerror(-rc));
	return rc;
}

int iommufd_destroy_obj(uint32_t id)
{
	struct svio_iommu_destroy d = { .size = sizeof(d), .id = id };
	int rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_DESTROY, &d);

	if (rc < 0)
		IOMMUFD_LOG(WARNING, "IOMMU_DESTROY of HWPT %u: %s", id, strerror(-rc));
	return rc;
}

/*
 * PASID attach (kernel 6.15): the RID and the PASID must both point at a
 * HWPT allocated with IOMMU_HWPT_ALLOC_PASID (an IOAS cannot take a PASID).
 * The HWPT is a paging domain over the shared IOAS, so it sees every map.
 * Returns 0, or a negative errno after undoing its own steps.
 */
static int attach_pasid(struct svio_iommufd_dev *idev, uint32_t pasid)
{
	struct svio_iommu_hwpt_alloc ha = {
		.size = sizeof(ha),
		.flags = SVIO_IOMMU_HWPT_ALLOC_PASID,
		.dev_id = idev->dev_id,
		.pt_id = iommufd_ctx.ioas_id,
	};
	struct svio_vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at),
		.flags = SVIO_VFIO_DEVICE_ATTACH_PASID,
		.pasid = pasid,
	};
	int rc;

	rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_HWPT_ALLOC, &ha);
	if (rc < 0)
		return rc;
	rc = attach_rid(idev, ha.out_hwpt_id);
	if (rc < 0)
		goto out_destroy_hwpt;
	at.pt_id = ha.out_hwpt_id;
	rc = svio_vfio_ioctl(idev->fd, SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
	if (rc < 0)
		goto out_detach_rid;
	idev->hwpt_id = ha.out_hwpt_id;
	idev->pasid = pasid;
	idev->pasid_attached = true;
	return 0;

out_detach_rid:
	iommufd_detach_rid(idev);
out_destroy_hwpt:
	iommufd_destroy_obj(ha.out_hwpt_id); /* a failure only leaks it until the last unbind */
	return rc;
}

static int undo_attach(struct svio_iommufd_dev *idev);

static int iommufd_attach(struct svio_iommu *iommu, struct svio_device *dev, uint32_t pasid,
			  uint16_t did, uint64_t pgtable)
{
	struct svio_iommufd_dev *idev;
	int rc;

	RTE_SET_USED(iommu);
	/* The kernel tags its own caches: the core's domain id means nothing here. */
	RTE_SET_USED(did);
	pthread_mutex_lock(&iommufd_ctx.lock);
	idev = find_dev(dev);
	if (idev == NULL) {
		IOMMUFD_LOG(ERR, "attach %s: device is not bound to the iommufd", dev->name);
		rc = -ENODEV;
		goto out_unlock;
	}
	if (idev->attached) {
		rc = -EEXIST;
		goto out_unlock;
	}
	if (iommufd_ctx.nest.active) {
		/* The core's table is stage 1; PASID attach of nested HWPTs is not used. */
		rc = iommufd_nest_attach(idev, pgtable);
		if (rc < 0)
			goto out_unlock;
		goto out_attached;
	}
	if (dev->dma.pasid && idev->hw.max_pasid_log2 > 0 && pasid != 0 &&
	    (uint64_t)pasid < (UINT64_C(1) << (idev->hw.max_pasid_log2 & 63))) {
		rc = attach_pasid(idev, pasid);
		if (rc == 0)
			goto out_attached;
		IOMMUFD_LOG(NOTICE,
			    "%s: PASID %u attach not available (%s): attaching on the "
			    "requester id",
			    dev->name, pasid, strerror(-rc));
	} else {
		IOMMUFD_LOG(INFO, "%s: attaching on the requester id (%s)", dev->name,
			    !dev->dma.pasid		   ? "device has no PASID capability"
			    : idev->hw.max_pasid_log2 == 0 ? "IOMMU or kernel reports no PASID"
							   : "PASID out of range");
	}
	rc = attach_rid(idev, iommufd_ctx.ioas_id);
	if (rc < 0) {
		IOMMUFD_LOG(ERR, "attach %s to IOAS %u: %s", dev->name, iommufd_ctx.ioas_id,
			    strerror(-rc));
		goto out_unlock;
	}
out_attached:
	idev->attached = true;
	/* The device's restrictions (reserved regions, address width) narrow the IOAS. */
	rc = iommufd_ctx_read_ranges();
	if (rc < 0 && undo_attach(idev) < 0)
		IOMMUFD_LOG(ERR, "attach %s: IOVA ranges unreadable and the device stays attached",
			    dev->name);
out_unlock:
	pthread_mutex_unlock(&iommufd_ctx.lock);
	return rc;
}

/*
 * Take the device off the IOAS: PASID first, then the RID, then its HWPT.
 * A step the kernel refuses leaves the device attached as it still is (the
 * state records what is left, so a retry resumes there) and fails with the
 * kernel's error: the device may still reach memory, so the core must keep
 * its cache tag and the domain.
 */
static int undo_attach(struct svio_iommufd_dev *idev)
{
	struct svio_vfio_device_detach_iommufd_pt dt = {
		.argsz = sizeof(dt),
		.flags = SVIO_VFIO_DEVICE_DETACH_PASID,
		.pasid = idev->pasid,
	};
	int rc;

	if (iommufd_ctx.nest.active) {
		rc = iommufd_nest_detach(idev);
		if (rc == 0)
			idev->attached = false;
		return rc;
	}
	if (idev->pasid_attached) {
		rc = svio_vfio_ioctl(idev->fd, SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt);
		if (rc < 0) {
			IOMMUFD_LOG(ERR, "detach %s PASID %u: %s", idev->dev->name, idev->pasid,
				    strerror(-rc));
			return rc;
		}
		idev->pasid_attached = false;
	}
	rc = iommufd_detach_rid(idev);
	if (rc < 0)
		return rc; /* still on hwpt_id (kept for the retry) or the IOAS */
	/* The device blocks DMA from here on; the kernel flushed what it cached. */
	idev->attached = false;
	if (idev->hwpt_id != 0) {
		iommufd_destroy_obj(idev->hwpt_id);
		idev->hwpt_id = 0;
	}
	return 0;
}

static int iommufd_detach(struct svio_iommu *iommu, struct svio_device *dev, uint32_t pasid)
{
	struct svio_iommufd_dev *idev;
	int rc;

	RTE_SET_USED(iommu);
	pthread_mutex_lock(&iommufd_ctx.lock);
	idev = find_dev(dev);
	if (idev == NULL) {
		/* Unbound while attached: closing its cdev already detached it. */
		rc = 0;
		goto out_unlock;
	}
	if (!idev->attached) {
		rc = -ENOENT;
		goto out_unlock;
	}
	if (idev->pasid_attached && pasid != idev->pasid)
		IOMMUFD_LOG(WARNING, "detach %s: PASID %u asked, %u attached", dev->name, pasid,
			    idev->pasid);
	rc = undo_attach(idev);
	if (rc < 0)
		goto out_unlock;
	/*
	 * Detaching can widen the ranges. The device is off either way: a
	 * failed re-read keeps the narrower ranges, which stay safe.
	 */
	if (iommufd_ctx_read_ranges() < 0)
		IOMMUFD_LOG(WARNING, "detach %s: IOVA ranges not re-read; keeping the old ones",
			    dev->name);
	rc = 0;
out_unlock:
	pthread_mutex_unlock(&iommufd_ctx.lock);
	return rc;
}

/*
 * Nested: stage-1 invalidation arrays (iommufd_nest.c). Otherwise the
 * kernel invalidates inside IOMMU_IOAS_UNMAP (ops->unmap), so there is
 * nothing to post or wait for; the core skips these for an instance without
 * first stage, and they stay harmless no-ops if it ever calls them.
 */
static int iommufd_inv_post(struct svio_iommu *iommu, const struct svio_inv *inv, unsigned int n)
{
	if (iommufd_ctx.nest.active)
		return iommufd_nest_inv_post(iommu, inv, n);
	return 0;
}

static int iommufd_wait_post(struct svio_iommu *iommu, uint64_t *cookie)
{
	if (iommufd_ctx.nest.active)
		return iommufd_nest_wait_post(iommu, cookie);
	*cookie = 0;
	return 0;
}

static int iommufd_wait_poll(struct svio_iommu *iommu, uint64_t cookie)
{
	if (iommufd_ctx.nest.active)
		return iommufd_nest_wait_poll(iommu, cookie);
	return 0;
}

static int iommufd_page_resp(struct svio_iommu *iommu, const struct svio_page_req *req, int code)
{
	RTE_SET_USED(iommu);
	RTE_SET_USED(req);
	RTE_SET_USED(code);
	return -ENOTSUP; /* no fault queue: maps are made up front */
}

const struct svio_iommu_ops iommufd_ops = {
	.name = "iommufd",
	.attach = iommufd_attach,
	.detach = iommufd_detach,
	.inv_post = iommufd_inv_post,
	.wait_post = iommufd_wait_post,
	.wait_poll = iommufd_wait_poll,
	.page_resp = iommufd_page_resp,
	.map = svio_iommufd_map,
	.unmap = svio_iommufd_unmap,
	.s1_check = iommufd_nest_s1_check,
	.table_pages = iommufd_nest_table_pages,
};
