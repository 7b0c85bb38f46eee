/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slice of the kernel's iommufd and VFIO device-cdev ABI that svio uses,
 * written out here because Debian 12's linux-libc-dev (6.1) predates both.
 *
 * svio always uses these svio_-prefixed definitions, so the code does not
 * depend on which kernel headers the build machine has. When the system does
 * carry <linux/iommufd.h> (and a vfio.h with the cdev ioctls), the layouts and
 * ioctl numbers below are checked against it at compile time.
 *
 * Every argument struct starts with its own size (iommufd: size, VFIO:
 * argsz). The kernel accepts a shorter struct from older userspace and
 * rejects non-zero bytes it does not know, so fields are only ever appended:
 * a struct here may be shorter than the newest kernel's.
 */
#ifndef SVIO_IOMMUFD_ABI_H
#define SVIO_IOMMUFD_ABI_H

#include <stddef.h>
#include <stdint.h>

#include <linux/ioctl.h>
#include <linux/vfio.h>

#define SVIO_IOMMUFD_TYPE ';'

/* Command numbers: _IO(';', 0x80 + n). */
enum {
	SVIO_IOMMUFD_CMD_DESTROY = 0x80,
	SVIO_IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	SVIO_IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	SVIO_IOMMUFD_CMD_IOAS_MAP = 0x85,
	SVIO_IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	SVIO_IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	SVIO_IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	SVIO_IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
};

/* Destroy any object (IOAS, HWPT) by id. */
struct svio_iommu_destroy {
	uint32_t size;
	uint32_t id;
};
#define SVIO_IOMMU_DESTROY _IO(SVIO_IOMMUFD_TYPE, SVIO_IOMMUFD_CMD_DESTROY)

struct svio_iommu_ioas_alloc {
	uint32_t size;
	uint32_t flags; /* 0 */
	uint32_t out_ioas_id;
};
#define SVIO_IOMMU_IOAS_ALLOC _IO(SVIO_IOMMUFD_TYPE, SVIO_IOMMUFD_CMD_IOAS_ALLOC)

/* [start, last], both inclusive. */
struct svio_iommu_iova_range {
	uint64_t start;
	uint64_t last;
};

/* num_iovas: in, room in the array; out, the total (-EMSGSIZE when it did not fit). */
struct svio_iommu_ioas_iova_ranges {
	uint32_t size;
	uint32_t ioas_id;
	uint32_t num_iovas;
	uint32_t reserved;
	uint64_t allowed_iovas; /* user pointer to struct svio_iommu_iova_range[] */
	uint64_t out_iova_alignment;
};
#define SVIO_IOMMU_IOAS_IOVA_RANGES _IO(SVIO_IOMMUFD_TYPE, SVIO_IOMMUFD_CMD_IOAS_IOVA_RANGES)

#define SVIO_IOMMU_IOAS_MAP_FIXED_IOVA (1u << 0)
#define SVIO_IOMMU_IOAS_MAP_WRITEABLE  (1u << 1)
#define SVIO_IOMMU_IOAS_MAP_READABLE   (1u << 2)

struct svio_iommu_ioas_map {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	uint32_t reserved;
	uint64_t user_va;
	uint64_t length;
	uint64_t iova; /* in with FIXED_IOVA, else out */
};
#define SVIO_IOMMU_IOAS_MAP _IO(SVIO_IOMMUFD_TYPE, SVIO_IOMMUFD_CMD_IOAS_MAP)

/* The range must cover whole earlier maps; length returns the bytes unmapped. */
struct svio_iommu_ioas_unmap {
	uint32_t size;
	uint32_t ioas_id;
	uint64_t iova;
	uint64_t length;
};
#define SVIO_IOMMU_IOAS_UNMAP _IO(SVIO_IOMMUFD_TYPE, SVIO_IOMMUFD_CMD_IOAS_UNMAP)

/* A paging domain that can be the stage 2 under nested HWPTs (kernel 6.7). */
#define SVIO_IOMMU_HWPT_ALLOC_NEST_PARENT (1u << 0)
/* A PASID-capable paging domain (kernel 6.15). */
#define SVIO_IOMMU_HWPT_ALLOC_PASID (1u << 3)

/* hwpt_alloc.data_type */
enum svio_iommu_hwpt_data_type {
	SVIO_IOMMU_HWPT_DATA_NONE = 0,
	SVIO_IOMMU_HWPT_DATA_VTD_S1 = 1,
};

/* A VT-d stage-1 (first-level) table owned by userspace, nested on pt_id = a nest parent. */
#define SVIO_IOMMU_VTD_S1_SRE  (1u << 0) /* supervisor requests */
#define SVIO_IOMMU_VTD_S1_EAFE (1u << 1) /* extended accessed flag */
#define SVIO_IOMMU_VTD_S1_WPE  (1u << 2) /* write protect */
struct svio_iommu_hwpt_vtd_s1 {
	uint64_t flags;
	uint64_t pgtbl_addr; /* the root, as a stage-1 output (here: IOVA = VA) address */
	uint32_t addr_width; /* 48: 4-level */
	uint32_t reserved;
};

struct svio_iommu_hwpt_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t dev_id;
	uint32_t pt_id; /* the IOAS */
	uint32_t out_hwpt_id;
	uint32_t reserved;
	uint32_t data_type; /* 0: kernel-managed table */
	uint32_t data_len;
	uint64_t data_uptr;
	uint32_t fault_id;
	uint32_t reserved2;
};
#define SVIO_IOMMU_HWPT_ALLOC _IO(SVIO_IOMMUFD_TYPE, SVIO_IOMMUFD_CMD_HWPT_ALLOC)

enum svio_iommu_hw_info_type {
	SVIO_IOMMU_HW_INFO_TYPE_NONE = 0,
	SVIO_IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
	SVIO_IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2,
};

#define SVIO_IOMMU_HW_CAP_DIRTY_TRACKING (1u << 0)

/*
 * out_max_pasid_log2 was a reserved word before kernel 6.15: older kernels
 * return 0 there, which reads correctly as "no PASID".
 */
struct svio_iommu_hw_info {
	uint32_t size;
	uint32_t flags;
	uint32_t dev_id;
	uint32_t data_len; /* in: room at data_uptr; out: what the kernel has */
	uint64_t data_uptr;
	uint32_t out_data_type;
	uint8_t out_max_pasid_log2;
	uint8_t reserved[3];
	uint64_t out_capabilities;
};
#define SVIO_IOMMU_GET_HW_INFO _IO(SVIO_IOMMUFD_TYPE, SVIO_IOMMUFD_CMD_GET_HW_INFO)

/* HWPT_INVALIDATE data_type */
enum svio_iommu_hwpt_invalidate_data_type {
	SVIO_IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
};

/*
 * entry_num: in, entries in the array; out, how many the kernel handled
 * (fewer on an error: the one at entry_num failed). The call completes the
 * invalidation (and that of the device-TLBs of the HWPT's devices) before
 * returning.
 */
struct svio_iommu_hwpt_invalidate {
	uint32_t size;
	uint32_t hwpt_id;
	uint64_t data_uptr;
	uint32_t data_type;
	uint32_t entry_len;
	uint32_t entry_num;
	uint32_t reserved;
};
#define SVIO_IOMMU_HWPT_INVALIDATE _IO(SVIO_IOMMUFD_TYPE, SVIO_IOMMUFD_CMD_HWPT_INVALIDATE)

/* One VT-d stage-1 invalidation: npages 4 KiB pages at addr; addr 0 + npages ~0: all. */
#define SVIO_IOMMU_VTD_INV_FLAGS_LEAF (1u << 0) /* leaf entries only: table caches kept */
#define SVIO_IOMMU_VTD_INV_ALL_NPAGES UINT64_MAX
struct svio_iommu_hwpt_vtd_s1_invalidate {
	uint64_t addr;
	uint64_t npages;
	uint32_t flags;
	uint32_t reserved;
};

/* Data for SVIO_IOMMU_HW_INFO_TYPE_INTEL_VTD: the raw capability registers. */
struct svio_iommu_hw_info_vtd {
	uint32_t flags;
	uint32_t reserved;
	uint64_t cap_reg;
	uint64_t ecap_reg;
};

/* VT-d register fields svio reads (VT-d spec 11.4.2, 11.4.3). */
#define SVIO_VTD_CAP_MAMV(cap)	 (((cap) >> 48) & 0x3f) /* max address mask value */
#define SVIO_VTD_ECAP_DT(ecap)	 (((ecap) >> 2) & 1)	/* device-TLB */
#define SVIO_VTD_ECAP_PRS(ecap)	 (((ecap) >> 29) & 1)	/* page requests */
#define SVIO_VTD_ECAP_NEST(ecap) (((ecap) >> 26) & 1)	/* nested translation */
#define SVIO_VTD_ECAP_SMTS(ecap) (((ecap) >> 43) & 1)	/* scalable mode */
#define SVIO_VTD_ECAP_FLTS(ecap) (((ecap) >> 47) & 1)	/* first-level translation */
#define SVIO_VTD_CAP_FL1GP(cap)	 (((cap) >> 56) & 1)	/* first-level 1 GiB pages */

/* VFIO device cdev (kernel 6.6): bind to an iommufd, attach to an IOAS or HWPT. */
#define SVIO_VFIO_TYPE ';'
#define SVIO_VFIO_BASE 100

struct svio_vfio_device_bind_iommufd {
	uint32_t argsz;
	uint32_t flags; /* 0 */
	int32_t iommufd;
	uint32_t out_devid;
};
#define SVIO_VFIO_DEVICE_BIND_IOMMUFD _IO(SVIO_VFIO_TYPE, SVIO_VFIO_BASE + 18)

/* pasid is read only with the PASID flag (kernel 6.15); argsz then covers it. */
#define SVIO_VFIO_DEVICE_ATTACH_PASID (1u << 0)
struct svio_vfio_device_attach_iommufd_pt {
	uint32_t argsz;
	uint32_t flags;
	uint32_t pt_id; /* in: IOAS or HWPT; out: the HWPT attached */
	uint32_t pasid;
};
#define SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(SVIO_VFIO_TYPE, SVIO_VFIO_BASE + 19)

#define SVIO_VFIO_DEVICE_DETACH_PASID (1u << 0)
struct svio_vfio_device_detach_iommufd_pt {
	uint32_t argsz;
	uint32_t flags;
	uint32_t pasid;
};
#define SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(SVIO_VFIO_TYPE, SVIO_VFIO_BASE + 20)

/* argsz for the attach/detach calls without a PASID: what 6.6 kernels know. */
#define SVIO_VFIO_ATTACH_ARGSZ_RID offsetof(struct svio_vfio_device_attach_iommufd_pt, pasid)
#define SVIO_VFIO_DETACH_ARGSZ_RID offsetof(struct svio_vfio_device_detach_iommufd_pt, pasid)

/* Layouts as the kernel defines them (include/uapi/linux/iommufd.h, vfio.h). */
#define SVIO_ABI_CHECK(type, field, off) \
	_Static_assert(offsetof(struct type, field) == (off), #type "." #field " offset")
SVIO_ABI_CHECK(svio_iommu_ioas_iova_ranges, allowed_iovas, 16);
SVIO_ABI_CHECK(svio_iommu_ioas_iova_ranges, out_iova_alignment, 24);
SVIO_ABI_CHECK(svio_iommu_ioas_map, user_va, 16);
SVIO_ABI_CHECK(svio_iommu_ioas_map, iova, 32);
SVIO_ABI_CHECK(svio_iommu_ioas_unmap, iova, 8);
SVIO_ABI_CHECK(svio_iommu_hwpt_alloc, data_uptr, 32);
SVIO_ABI_CHECK(svio_iommu_hwpt_alloc, fault_id, 40);
SVIO_ABI_CHECK(svio_iommu_hw_info, data_uptr, 16);
SVIO_ABI_CHECK(svio_iommu_hw_info, out_data_type, 24);
SVIO_ABI_CHECK(svio_iommu_hw_info, out_max_pasid_log2, 28);
SVIO_ABI_CHECK(svio_iommu_hw_info, out_capabilities, 32);
SVIO_ABI_CHECK(svio_iommu_hwpt_vtd_s1, pgtbl_addr, 8);
SVIO_ABI_CHECK(svio_iommu_hwpt_vtd_s1, addr_width, 16);
SVIO_ABI_CHECK(svio_iommu_hwpt_invalidate, data_uptr, 8);
SVIO_ABI_CHECK(svio_iommu_hwpt_invalidate, entry_num, 24);
SVIO_ABI_CHECK(svio_iommu_hwpt_vtd_s1_invalidate, flags, 16);
SVIO_ABI_CHECK(svio_vfio_device_bind_iommufd, out_devid, 12);
SVIO_ABI_CHECK(svio_vfio_device_attach_iommufd_pt, pasid, 12);
SVIO_ABI_CHECK(svio_vfio_device_detach_iommufd_pt, pasid, 8);
SVIO_ABI_CHECK(svio_iommu_ioas_iova_ranges, num_iovas, 8);
SVIO_ABI_CHECK(svio_iommu_ioas_map, ioas_id, 8);
SVIO_ABI_CHECK(svio_iommu_ioas_map, length, 24);
SVIO_ABI_CHECK(svio_iommu_ioas_unmap, length, 16);
SVIO_ABI_CHECK(svio_iommu_hwpt_alloc, out_hwpt_id, 16);
SVIO_ABI_CHECK(svio_iommu_hwpt_alloc, data_type, 24);
SVIO_ABI_CHECK(svio_iommu_hwpt_invalidate, data_type, 16);
SVIO_ABI_CHECK(svio_iommu_hwpt_invalidate, entry_len, 20);
SVIO_ABI_CHECK(svio_iommu_hwpt_vtd_s1_invalidate, npages, 8);
SVIO_ABI_CHECK(svio_vfio_device_bind_iommufd, iommufd, 8);
/* ioctl numbers as the kernel's headers spell them out (_IO(';', nr) = 0x3b00 | nr). */
_Static_assert(SVIO_IOMMU_DESTROY == 0x3b80, "IOMMU_DESTROY number");
_Static_assert(SVIO_IOMMU_IOAS_ALLOC == 0x3b81, "IOMMU_IOAS_ALLOC number");
_Static_assert(SVIO_IOMMU_IOAS_IOVA_RANGES == 0x3b84, "IOMMU_IOAS_IOVA_RANGES number");
_Static_assert(SVIO_IOMMU_IOAS_MAP == 0x3b85, "IOMMU_IOAS_MAP number");
_Static_assert(SVIO_IOMMU_IOAS_UNMAP == 0x3b86, "IOMMU_IOAS_UNMAP number");
_Static_assert(SVIO_IOMMU_HWPT_ALLOC == 0x3b89, "IOMMU_HWPT_ALLOC number");
_Static_assert(SVIO_IOMMU_GET_HW_INFO == 0x3b8a, "IOMMU_GET_HW_INFO number");
_Static_assert(SVIO_IOMMU_HWPT_INVALIDATE == 0x3b8d, "IOMMU_HWPT_INVALIDATE number");
_Static_assert(SVIO_VFIO_DEVICE_BIND_IOMMUFD == (0x3b00 | 118), "VFIO_DEVICE_BIND_IOMMUFD number");
_Static_assert(SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT == (0x3b00 | 119), "VFIO_DEVICE_ATTACH number");
_Static_assert(SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT == (0x3b00 | 120), "VFIO_DEVICE_DETACH number");
_Static_assert(SVIO_VFIO_ATTACH_ARGSZ_RID == 12 && SVIO_VFIO_DETACH_ARGSZ_RID == 8,
	       "attach/detach argsz without PASID");
_Static_assert(sizeof(struct svio_iommu_destroy) == 8, "iommu_destroy size");
_Static_assert(sizeof(struct svio_iommu_ioas_alloc) == 12, "iommu_ioas_alloc size");
_Static_assert(sizeof(struct svio_iommu_iova_range) == 16, "iommu_iova_range size");
_Static_assert(sizeof(struct svio_iommu_ioas_iova_ranges) == 32, "iova_ranges size");
_Static_assert(sizeof(struct svio_iommu_ioas_map) == 40, "iommu_ioas_map size");
_Static_assert(sizeof(struct svio_iommu_ioas_unmap) == 24, "iommu_ioas_unmap size");
_Static_assert(sizeof(struct svio_iommu_hwpt_alloc) == 48, "iommu_hwpt_alloc size");
_Static_assert(sizeof(struct svio_iommu_hw_info) == 40, "iommu_hw_info size");
_Static_assert(sizeof(struct svio_iommu_hw_info_vtd) == 24, "iommu_hw_info_vtd size");
_Static_assert(sizeof(struct svio_iommu_hwpt_vtd_s1) == 24, "hwpt_vtd_s1 size");
_Static_assert(sizeof(struct svio_iommu_hwpt_invalidate) == 32, "hwpt_invalidate size");
_Static_assert(sizeof(struct svio_iommu_hwpt_vtd_s1_invalidate) == 24, "vtd_s1_invalidate size");
_Static_assert(sizeof(struct svio_vfio_device_bind_iommufd) == 16, "vfio bind size");
_Static_assert(sizeof(struct svio_vfio_device_attach_iommufd_pt) == 16, "vfio attach size");
_Static_assert(sizeof(struct svio_vfio_device_detach_iommufd_pt) == 12, "vfio detach size");

/* Against the system's headers, where it has them. */
#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#define SVIO_HAVE_LINUX_IOMMUFD_H 1
_Static_assert(SVIO_IOMMU_IOAS_ALLOC == IOMMU_IOAS_ALLOC, "IOAS_ALLOC number");
_Static_assert(SVIO_IOMMU_IOAS_MAP == IOMMU_IOAS_MAP, "IOAS_MAP number");
_Static_assert(SVIO_IOMMU_IOAS_UNMAP == IOMMU_IOAS_UNMAP, "IOAS_UNMAP number");
_Static_assert(SVIO_IOMMU_IOAS_IOVA_RANGES == IOMMU_IOAS_IOVA_RANGES, "IOVA_RANGES number");
_Static_assert(sizeof(struct svio_iommu_ioas_map) == sizeof(struct iommu_ioas_map), "map");
_Static_assert(sizeof(struct svio_iommu_ioas_unmap) == sizeof(struct iommu_ioas_unmap), "unmap");
_Static_assert(offsetof(struct svio_iommu_ioas_map, iova) == offsetof(struct iommu_ioas_map, iova),
	       "map.iova");
_Static_assert(offsetof(struct svio_iommu_hw_info, out_capabilities) ==
		       offsetof(struct iommu_hw_info, out_capabilities),
	       "hw_info.out_capabilities");
#ifdef IOMMU_HWPT_INVALIDATE
_Static_assert(SVIO_IOMMU_HWPT_INVALIDATE == IOMMU_HWPT_INVALIDATE, "HWPT_INVALIDATE number");
_Static_assert(sizeof(struct svio_iommu_hwpt_invalidate) == sizeof(struct iommu_hwpt_invalidate),
	       "hwpt_invalidate");
_Static_assert(sizeof(struct svio_iommu_hwpt_vtd_s1_invalidate) ==
		       sizeof(struct iommu_hwpt_vtd_s1_invalidate),
	       "vtd_s1_invalidate");
#endif
#endif
#endif
#if defined(VFIO_DEVICE_BIND_IOMMUFD)
_Static_assert(SVIO_VFIO_DEVICE_BIND_IOMMUFD == VFIO_DEVICE_BIND_IOMMUFD, "BIND number");
_Static_assert(SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT == VFIO_DEVICE_ATTACH_IOMMUFD_PT, "ATTACH");
_Static_assert(SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT == VFIO_DEVICE_DETACH_IOMMUFD_PT, "DETACH");
_Static_assert(offsetof(struct svio_vfio_device_bind_iommufd, out_devid) ==
		       offsetof(struct vfio_device_bind_iommufd, out_devid),
	       "vfio bind.out_devid");
#endif

#endif /* SVIO_IOMMUFD_ABI_H */
