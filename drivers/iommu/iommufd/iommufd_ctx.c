/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The process iommufd: /dev/iommu, the one IOAS every device shares, its
 * IOVA ranges, and IOVA == VA maps and unmaps.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "svio_iommu.h"
#include "iommufd_priv.h"

RTE_LOG_REGISTER_SUFFIX(svio_iommufd_logtype, iommu.iommufd, INFO);

#define IOMMUFD_DEFAULT_PATH "/dev/iommu"
#define IOMMUFD_PAGE_SIZE    4096u

struct iommufd_ctx iommufd_ctx = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.fd = -1,
	.devs = TAILQ_HEAD_INITIALIZER(iommufd_ctx.devs),
	.nest = { .inv_lock = PTHREAD_MUTEX_INITIALIZER },
};

static const char *iommufd_path = IOMMUFD_DEFAULT_PATH;

static int sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static svio_vfio_ioctl_fn ioctl_fn = sys_ioctl;

int svio_vfio_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl_fn(fd, req, arg);
}

void svio_iommufd_set_ioctl(svio_vfio_ioctl_fn fn)
{
	ioctl_fn = fn != NULL ? fn : sys_ioctl;
}

void svio_iommufd_set_path(const char *path)
{
	iommufd_path = path != NULL ? path : IOMMUFD_DEFAULT_PATH;
}

const char *iommufd_ctx_path(void)
{
	return iommufd_path;
}

struct svio_iommu *svio_iommufd_iommu(void)
{
	return iommufd_ctx.registered ? &iommufd_ctx.iommu : NULL;
}

static int open_iommufd(void)
{
	int fd = open(iommufd_path, O_RDWR | O_CLOEXEC);
	int rc;

	if (fd >= 0)
		return fd;
	rc = -errno;
	switch (rc) {
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		IOMMUFD_LOG(ERR,
			    "%s does not exist: this kernel has no iommufd (build it with "
			    "CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV, then 'modprobe iommufd')",
			    iommufd_path);
		return -ENODEV;
	case -EACCES:
	case -EPERM:
		IOMMUFD_LOG(ERR,
			    "%s: permission denied (run as root or give this user access to it)",
			    iommufd_path);
		return -EACCES;
	default:
		IOMMUFD_LOG(ERR, "cannot open %s: %s", iommufd_path, strerror(-rc));
		return rc;
	}
}

int iommufd_ctx_read_ranges(void)
{
	struct svio_iommu_ioas_iova_ranges q = {
		.size = sizeof(q),
		.ioas_id = iommufd_ctx.ioas_id,
		.num_iovas = SVIO_IOMMUFD_MAX_RANGES,
		.allowed_iovas = (uint64_t)(uintptr_t)iommufd_ctx.ranges,
	};
	int rc;

	rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_IOAS_IOVA_RANGES, &q);
	if (rc == -EMSGSIZE) {
		/* More holes than we keep: the first ones still describe the space. */
		IOMMUFD_LOG(WARNING, "IOAS has %u IOVA ranges; using the first %u", q.num_iovas,
			    SVIO_IOMMUFD_MAX_RANGES);
		q.num_iovas = SVIO_IOMMUFD_MAX_RANGES;
		rc = 0;
	}
	if (rc < 0) {
		IOMMUFD_LOG(ERR, "IOMMU_IOAS_IOVA_RANGES failed: %s", strerror(-rc));
		return rc;
	}
	iommufd_ctx.n_ranges =
		q.num_iovas < SVIO_IOMMUFD_MAX_RANGES ? q.num_iovas : SVIO_IOMMUFD_MAX_RANGES;
	return 0;
}

void iommufd_ctx_update_caps(void)
{
	const struct svio_iommufd_dev *idev;
	unsigned int pasid_bits = 20;
	bool any = false;

	TAILQ_FOREACH (idev, &iommufd_ctx.devs, next) {
		any = true;
		if (idev->hw.max_pasid_log2 < pasid_bits)
			pasid_bits = idev->hw.max_pasid_log2;
	}
	/* Nested: devices attach on the requester id only. */
	iommufd_ctx.iommu.caps.pasid_bits = any && !iommufd_ctx.nest.active ? pasid_bits : 0;
}

int iommufd_ctx_open(void)
{
	struct svio_iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct svio_iommu_destroy destroy = { .size = sizeof(destroy) };
	int rc;

	rc = open_iommufd();
	if (rc < 0)
		return rc;
	iommufd_ctx.fd = rc;
	rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_IOAS_ALLOC, &alloc);
	if (rc < 0) {
		IOMMUFD_LOG(ERR, "IOMMU_IOAS_ALLOC failed: %s", strerror(-rc));
		goto out_close;
	}
	iommufd_ctx.ioas_id = alloc.out_ioas_id;
	rc = iommufd_ctx_read_ranges();
	if (rc < 0)
		goto out_destroy_ioas;

	/*
	 * The kernel owns the table and invalidates inside IOAS_UNMAP: no
	 * first stage for the core, no device-TLB tags, no page requests.
	 * One domain id is all the core needs to tag its inv array entries.
	 */
	memset(&iommufd_ctx.iommu, 0, sizeof(iommufd_ctx.iommu));
	iommufd_ctx.iommu.ops = &iommufd_ops;
	iommufd_ctx.iommu.index = SVIO_IOMMUFD_INDEX;
	iommufd_ctx.iommu.priv = &iommufd_ctx;
	iommufd_ctx.iommu.caps.domain_ids = 2;
	iommufd_ctx.iommu.caps.max_inv_order = 30;
	iommufd_ctx.iommu.caps.first_stage = false;
	rc = svio_iommu_register(&iommufd_ctx.iommu);
	if (rc < 0) {
		IOMMUFD_LOG(ERR, "cannot register the iommufd instance: %s", strerror(-rc));
		goto out_destroy_ioas;
	}
	iommufd_ctx.registered = true;
	IOMMUFD_LOG(DEBUG, "opened %s, IOAS %u", iommufd_path, iommufd_ctx.ioas_id);
	return 0;

out_destroy_ioas:
	destroy.id = iommufd_ctx.ioas_id;
	svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_DESTROY, &destroy);
out_close:
	close(iommufd_ctx.fd);
	iommufd_ctx.fd = -1;
	return rc;
}

void iommufd_ctx_close(void)
{
	struct svio_iommu_destroy destroy = { .size = sizeof(destroy), .id = iommufd_ctx.ioas_id };
	int rc;

	if (iommufd_ctx.registered) {
		rc = svio_iommu_unregister(&iommufd_ctx.iommu);
		if (rc < 0) {
			/* The core still points at the instance: keep it, and the IOAS, alive. */
			IOMMUFD_LOG(ERR,
				    "cannot unregister the iommufd instance: %s (a device is still "
				    "attached to a domain); keeping /dev/iommu open",
				    strerror(-rc));
			return;
		}
		iommufd_ctx.registered = false;
	}
	iommufd_nest_close();
	/* Destroying the IOAS unmaps and unpins whatever the core left mapped. */
	rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_DESTROY, &destroy);
	if (rc < 0)
		IOMMUFD_LOG(WARNING, "IOMMU_DESTROY of IOAS %u: %s", iommufd_ctx.ioas_id,
			    strerror(-rc));
	close(iommufd_ctx.fd);
	iommufd_ctx.fd = -1;
	iommufd_ctx.n_ranges = 0;
}

int svio_iommufd_iova_ranges(struct svio_iommu_iova_range *out, unsigned int n)
{
	unsigned int i, total;

	pthread_mutex_lock(&iommufd_ctx.lock);
	total = iommufd_ctx.fd >= 0 ? iommufd_ctx.n_ranges : 0;
	for (i = 0; i < total && i < n; i++)
		out[i] = iommufd_ctx.ranges[i];
	pthread_mutex_unlock(&iommufd_ctx.lock);
	return (int)total;
}

static bool range_usable(uint64_t iova, uint64_t len)
{
	uint64_t last = iova + len - 1;
	bool ok = false;
	unsigned int i;

	/* An attach on the main lcore may be rewriting the ranges. */
	pthread_mutex_lock(&iommufd_ctx.lock);
	for (i = 0; i < iommufd_ctx.n_ranges && !ok; i++)
		ok = iova >= iommufd_ctx.ranges[i].start && last <= iommufd_ctx.ranges[i].last;
	pthread_mutex_unlock(&iommufd_ctx.lock);
	return ok;
}

int svio_iommufd_map(struct svio_iommu *iommu, uint64_t iova, void *va, size_t len, int prot)
{
	struct svio_iommu_ioas_map m = { .size = sizeof(m) };
	int rc;

	if (iommu == NULL || iommu != &iommufd_ctx.iommu || iommufd_ctx.fd < 0)
		return -ENODEV;
	if (len == 0 || ((iova | len | (uintptr_t)va) & (IOMMUFD_PAGE_SIZE - 1)) ||
	    iova + len < iova) {
		IOMMUFD_LOG(ERR, "map %#" PRIx64 "+%#zx: not 4 KiB aligned or wraps", iova, len);
		return -EINVAL;
	}
	if (prot == 0 || (prot & ~SVIO_DMA_RW)) {
		IOMMUFD_LOG(ERR, "map %#" PRIx64 ": prot %#x is not SVIO_DMA_READ/WRITE", iova,
			    prot);
		return -EINVAL;
	}
	if (iommufd_ctx.nest.active && iova != (uintptr_t)va) {
		/* Stage 1 outputs process addresses: stage 2 must map each at itself. */
		IOMMUFD_LOG(ERR, "map %#" PRIx64 ": nested stage 1 needs IOVA == VA (va %p)", iova,
			    va);
		return -EINVAL;
	}
	if (!range_usable(iova, len)) {
		IOMMUFD_LOG(ERR,
			    "map %#" PRIx64 "+%#zx: outside the IOVA ranges this IOMMU accepts",
			    iova, len);
		return -ERANGE;
	}
	m.flags = SVIO_IOMMU_IOAS_MAP_FIXED_IOVA;
	if (prot & SVIO_DMA_READ)
		m.flags |= SVIO_IOMMU_IOAS_MAP_READABLE;
	if (prot & SVIO_DMA_WRITE)
		m.flags |= SVIO_IOMMU_IOAS_MAP_WRITEABLE;
	m.ioas_id = iommufd_ctx.ioas_id;
	m.user_va = (uint64_t)(uintptr_t)va;
	m.length = len;
	m.iova = iova;
	rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_IOAS_MAP, &m);
	if (rc < 0 && rc != -EEXIST)
		IOMMUFD_LOG(ERR, "IOMMU_IOAS_MAP %#" PRIx64 "+%#zx: %s%s", iova, len, strerror(-rc),
			    rc == -ENOMEM ? " (pinning: raise RLIMIT_MEMLOCK?)" : "");
	if (rc == 0 && iommufd_ctx.nest.active) {
		/* Stage 2 under the nested stage 1: remember what it covers. */
		rc = iommufd_nest_s2_mapped(iova, len);
		if (rc < 0)
			svio_iommufd_unmap(iommu, iova, len);
	}
	return rc;
}

int svio_iommufd_unmap(struct svio_iommu *iommu, uint64_t iova, size_t len)
{
	struct svio_iommu_ioas_unmap u = { .size = sizeof(u) };
	int rc;

	if (iommu == NULL || iommu != &iommufd_ctx.iommu || iommufd_ctx.fd < 0)
		return -ENODEV;
	if (len == 0 || iova + len < iova)
		return -EINVAL;
	u.ioas_id = iommufd_ctx.ioas_id;
	u.iova = iova;
	u.length = len;
	rc = svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_IOAS_UNMAP, &u);
	if (rc == 0 && iommufd_ctx.nest.active)
		iommufd_nest_s2_unmapped(iova, len);
	if (rc < 0 && rc != -ENOENT)
		IOMMUFD_LOG(ERR, "IOMMU_IOAS_UNMAP %#" PRIx64 "+%#zx: %s", iova, len,
			    strerror(-rc));
	return rc;
}
