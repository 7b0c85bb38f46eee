/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The iommufd IOMMU backend: real kernels, /dev/iommu and VFIO device cdevs.
 *
 * One iommufd per process (opened when the first device is bound, closed
 * when the last one is unbound) and one IOAS shared by every device. The
 * kernel owns the I/O page table: svio maps memory with IOVA == VA
 * (IOMMU_IOAS_MAP with FIXED_IOVA) and the kernel invalidates the IOTLB and
 * device-TLBs itself inside IOMMU_IOAS_UNMAP. The backend registers one
 * struct svio_iommu (index SVIO_IOMMUFD_INDEX) standing for the IOAS, with
 * caps.first_stage false and ops->map/unmap: the core's svio_dma_map() and
 * flush batches reach the kernel through them.
 *
 * Nested stage 1 (iommufd_nest.c): when the first device's IOMMU is VT-d
 * with nesting (ECAP.NEST, SMTS, FLTS, CAP.FL1GP) and the kernel allocates a
 * NEST_PARENT HWPT on the IOAS, the instance registers caps.first_stage
 * true instead: the core's table is stage 1 of one nested HWPT shared by all
 * devices (requester-id attach), the IOAS is stage 2, and the flush queue's
 * batches become IOMMU_HWPT_INVALIDATE arrays (one call a batch). Stage 2
 * holds the core's table pages (a pool installed as their source) and what
 * svio_iommufd_map() maps (IOVA == VA); a stage-1 map outside it fails with
 * -EFAULT. Otherwise the paging domain below is used, with one log line
 * saying why.
 *
 * Order on a device (the PCI bus drives it):
 *   open /dev/vfio/devices/vfioN -> svio_iommufd_bind() (BIND_IOMMUFD,
 *   GET_HW_INFO) -> region info, BAR mmap, config space (VFIO refuses them on
 *   an unbound cdev) -> core attach (ops->attach: ATTACH_IOMMUFD_PT, at the
 *   process PASID when kernel and device allow it, else on the requester id;
 *   the IOVA ranges are re-read) -> ... -> core detach -> BAR munmap ->
 *   svio_iommufd_unbind() -> close(fd) (closing the cdev ends the binding).
 *
 * Threading: bind/unbind/attach/detach are control path (main lcore).
 * map/unmap may run on any thread: they only issue ioctls on state that is
 * fixed while devices are bound.
 * Return convention: 0 or a negative errno value.
 *
 * Not installed: for the PCI bus and the IOMMU core inside the tree.
 */
#ifndef SVIO_IOMMUFD_BACKEND_H
#define SVIO_IOMMUFD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "iommufd_abi.h"

struct svio_device;
struct svio_iommu;

/** Bus-level instance number of the iommufd instance (sim instances use 0..15). */
#define SVIO_IOMMUFD_INDEX 64

/** Most IOVA ranges the backend remembers after an attach. */
#define SVIO_IOMMUFD_MAX_RANGES 16

/** What GET_HW_INFO said about the IOMMU behind one device. */
struct svio_iommufd_hw {
	uint32_t type;		/**< enum svio_iommu_hw_info_type */
	uint8_t max_pasid_log2; /**< 0: no PASID (or a kernel before 6.15) */
	uint64_t capabilities;	/**< SVIO_IOMMU_HW_CAP_* */
	uint64_t vtd_cap;	/**< VT-d capability register (type INTEL_VTD) */
	uint64_t vtd_ecap;	/**< VT-d extended capability register */
};

/** Per-device state, embedded by the bus in its own device state. */
struct svio_iommufd_dev {
	TAILQ_ENTRY(svio_iommufd_dev) next;
	struct svio_device *dev;
	int fd;		  /**< VFIO device cdev, owned by the bus */
	uint32_t dev_id;  /**< iommufd device id (BIND_IOMMUFD) */
	uint32_t hwpt_id; /**< PASID-capable HWPT while attached by PASID, else 0 */
	uint32_t pasid;	  /**< PASID attached, valid when pasid_attached */
	bool bound;
	bool attached; /**< requester id attached (to the IOAS or hwpt_id) */
	bool pasid_attached;
	struct svio_iommufd_hw hw;
};

/**
 * Bind an open VFIO device cdev to the process iommufd (opening /dev/iommu,
 * allocating the IOAS and registering the instance on first use) and read
 * the IOMMU's hardware information. Sets dev->dma.iommu_index.
 * @return 0; -ENODEV when /dev/iommu is missing (kernel without
 *         CONFIG_IOMMUFD, or iommufd.ko not loaded); -EACCES; -EBUSY when
 *         the device is bound elsewhere; -ENOTTY when the kernel has no VFIO
 *         cdev support. Each failure is logged with the device name.
 */
int svio_iommufd_bind(struct svio_iommufd_dev *idev, struct svio_device *dev, int fd);

/**
 * Forget a device (detached by the core beforehand). The binding itself ends
 * when the bus closes the cdev. The last unbind closes the iommufd.
 */
void svio_iommufd_unbind(struct svio_iommufd_dev *idev);

/** The registered instance, or NULL while no device is bound. */
struct svio_iommu *svio_iommufd_iommu(void);

/**
 * Map [va, va + len) at @p iova (SVA: iova == va) with SVIO_DMA_READ/WRITE
 * rights. Pins the pages. With nested stage 1 this maps stage 2 only (iova
 * must equal va): call it for memory before svio_dma_map() maps it at stage 1. This is the
 * instance's ops->map: the IOMMU core calls it from svio_dma_map() once devices are attached; call
 * it directly only in tests. Checks the range against the IOAS's IOVA ranges.
 * @return 0, -EINVAL (alignment, prot), -ERANGE (outside the usable IOVA
 *         ranges), -EEXIST (already mapped), -ENOMEM (pinning failed,
 *         RLIMIT_MEMLOCK), -ENODEV (no iommufd open).
 */
int svio_iommufd_map(struct svio_iommu *iommu, uint64_t iova, void *va, size_t len, int prot);

/**
 * Unmap [iova, iova + len): the range must cover whole earlier maps (the
 * kernel does not split). The IOTLB and device-TLBs are invalidated before
 * the call returns. This is the instance's ops->unmap: the core's flush
 * batches call it once per merged range.
 * @return 0, -ENOENT (nothing mapped there), -EINVAL.
 */
int svio_iommufd_unmap(struct svio_iommu *iommu, uint64_t iova, size_t len);

/**
 * The usable IOVA ranges as last read (after the most recent attach/detach).
 * @return the number of ranges (may exceed @p n; only @p n are copied).
 */
int svio_iommufd_iova_ranges(struct svio_iommu_iova_range *out, unsigned int n);

/**
 * Nested stage 1: how many times DPDK gave memory back that stage 2 could
 * not unmap (each logged; stage-1 maps over it are refused from then on).
 */
uint64_t svio_iommufd_stage2_unmap_failures(void);

/*
 * Test seams. Every ioctl svio issues on /dev/iommu and on VFIO device fds
 * goes through svio_vfio_ioctl(), so a unit test can stand in for the kernel.
 */

/** An ioctl: 0 or a negative errno value. */
typedef int (*svio_vfio_ioctl_fn)(int fd, unsigned long req, void *arg);

/** Issue an ioctl through the current hook (ioctl(2) by default). */
int svio_vfio_ioctl(int fd, unsigned long req, void *arg);

/** Replace the ioctl hook; NULL restores ioctl(2). Only with no device bound. */
void svio_iommufd_set_ioctl(svio_vfio_ioctl_fn fn);

/** Open this path instead of /dev/iommu; NULL restores it. Only with no device bound. */
void svio_iommufd_set_path(const char *path);

#endif /* SVIO_IOMMUFD_BACKEND_H */
