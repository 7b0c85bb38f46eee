/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iommufd_probe: run inside the test/vm guest, walks the path svio's iommufd
 * backend and PCI bus use on a real kernel, and prints what it finds:
 *
 *   /dev/iommu -> IOAS_ALLOC -> /dev/vfio/devices/vfioN (the NVMe) ->
 *   BIND_IOMMUFD -> ATTACH_IOMMUFD_PT -> GET_HW_INFO -> IOAS_IOVA_RANGES ->
 *   BAR0 through GET_REGION_INFO + mmap (CAP, VS) -> IOAS_MAP with
 *   IOVA = VA -> an NVMe Identify whose queues and data live at those IOVAs
 *   (DMA through the vIOMMU) -> IOAS_UNMAP of the data page -> the same
 *   Identify again, which must leave the page untouched.
 *
 * Optionally also attaches other vfio devices (the virtio-net ports) to the
 * same IOAS, as svio's shared domain does.
 *
 * usage: iommufd_probe [NVME_BDF [OTHER_BDF...]]
 *   NVME_BDF defaults to $SVIO_VM_NVME; others to $SVIO_VM_NET0/1.
 * Exit status 0 when every step worked, 1 otherwise.
 *
 * The iommufd and VFIO cdev ABI is declared here (Debian 12's linux-libc-dev
 * has no linux/iommufd.h); layouts match include/uapi/linux/iommufd.h and
 * vfio.h of Linux 6.12.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* --- iommufd uAPI ---------------------------------------------------------- */

#define PROBE_IOMMUFD_TYPE	     ';'
#define PROBE_IOMMU_DESTROY	     _IO(PROBE_IOMMUFD_TYPE, 0x80)
#define PROBE_IOMMU_IOAS_ALLOC	     _IO(PROBE_IOMMUFD_TYPE, 0x81)
#define PROBE_IOMMU_IOAS_IOVA_RANGES _IO(PROBE_IOMMUFD_TYPE, 0x84)
#define PROBE_IOMMU_IOAS_MAP	     _IO(PROBE_IOMMUFD_TYPE, 0x85)
#define PROBE_IOMMU_IOAS_UNMAP	     _IO(PROBE_IOMMUFD_TYPE, 0x86)
#define PROBE_IOMMU_GET_HW_INFO	     _IO(PROBE_IOMMUFD_TYPE, 0x8a)

#define PROBE_MAP_FIXED_IOVA (1u << 0)
#define PROBE_MAP_WRITEABLE  (1u << 1)
#define PROBE_MAP_READABLE   (1u << 2)

#define PROBE_HW_INFO_TYPE_INTEL_VTD 1

struct probe_iommu_destroy {
	uint32_t size;
	uint32_t id;
};

struct probe_ioas_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t out_ioas_id;
};

struct probe_iova_range {
	uint64_t start;
	uint64_t last;
};

struct probe_ioas_iova_ranges {
	uint32_t size;
	uint32_t ioas_id;
	uint32_t num_iovas;
	uint32_t reserved;
	uint64_t allowed_iovas;
	uint64_t out_iova_alignment;
};

struct probe_ioas_map {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	uint32_t reserved;
	uint64_t user_va;
	uint64_t length;
	uint64_t iova;
};

struct probe_ioas_unmap {
	uint32_t size;
	uint32_t ioas_id;
	uint64_t iova;
	uint64_t length;
};

struct probe_hw_info {
	uint32_t size;
	uint32_t flags;
	uint32_t dev_id;
	uint32_t data_len;
	uint64_t data_uptr;
	uint32_t out_data_type;
	uint8_t out_max_pasid_log2;
	uint8_t reserved[3];
	uint64_t out_capabilities;
};

struct probe_hw_info_vtd {
	uint32_t flags;
	uint32_t reserved;
	uint64_t cap_reg;
	uint64_t ecap_reg;
};

/* --- VFIO device cdev uAPI ------------------------------------------------- */

#define PROBE_VFIO_TYPE			    ';'
#define PROBE_VFIO_BASE			    100
#define PROBE_VFIO_DEVICE_GET_INFO	    _IO(PROBE_VFIO_TYPE, PROBE_VFIO_BASE + 7)
#define PROBE_VFIO_DEVICE_GET_REGION_INFO   _IO(PROBE_VFIO_TYPE, PROBE_VFIO_BASE + 8)
#define PROBE_VFIO_DEVICE_BIND_IOMMUFD	    _IO(PROBE_VFIO_TYPE, PROBE_VFIO_BASE + 18)
#define PROBE_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(PROBE_VFIO_TYPE, PROBE_VFIO_BASE + 19)
#define PROBE_VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(PROBE_VFIO_TYPE, PROBE_VFIO_BASE + 20)

#define PROBE_REGION_FLAG_MMAP	      (1u << 2)
#define PROBE_PCI_CONFIG_REGION_INDEX 7
#define PROBE_PCI_COMMAND	      0x04
#define PROBE_PCI_COMMAND_MEMORY      0x2
#define PROBE_PCI_COMMAND_MASTER      0x4

struct probe_vfio_bind_iommufd {
	uint32_t argsz;
	uint32_t flags;
	int32_t iommufd;
	uint32_t out_devid;
};

/* 6.15 appends a pasid field; 6.12 knows only these three. */
struct probe_vfio_attach_pt {
	uint32_t argsz;
	uint32_t flags;
	uint32_t pt_id;
};

struct probe_vfio_detach_pt {
	uint32_t argsz;
	uint32_t flags;
};

struct probe_vfio_device_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
	uint32_t cap_offset;
	uint32_t pad;
};

struct probe_vfio_region_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t cap_offset;
	uint64_t size;
	uint64_t offset;
};

_Static_assert(sizeof(struct probe_ioas_map) == 40, "iommu_ioas_map layout");
_Static_assert(sizeof(struct probe_ioas_iova_ranges) == 32, "iommu_ioas_iova_ranges layout");
_Static_assert(sizeof(struct probe_hw_info) == 40, "iommu_hw_info layout");
_Static_assert(offsetof(struct probe_hw_info, out_capabilities) == 32, "iommu_hw_info layout");
_Static_assert(sizeof(struct probe_vfio_region_info) == 32, "vfio_region_info layout");

#ifdef PROBE_CHECK_UAPI
/*
 * prepare.sh compiles this file once more against the uapi headers of the
 * kernel it boots: every number and layout above must match them.
 */
#include <linux/iommufd.h>
#include <linux/vfio.h>

#define SAME_NUMBER(ours, theirs) _Static_assert((ours) == (theirs), #ours " != " #theirs)
#define SAME_FIELD(ours, theirs, f)                                                              \
	_Static_assert(offsetof(struct ours, f) == offsetof(struct theirs, f) &&                 \
			       sizeof(((struct ours *)0)->f) == sizeof(((struct theirs *)0)->f), \
		       #ours "." #f " differs from " #theirs)
#define SAME_SIZE(ours, theirs) \
	_Static_assert(sizeof(struct ours) == sizeof(struct theirs), #ours " size differs")

SAME_NUMBER(PROBE_IOMMU_DESTROY, IOMMU_DESTROY);
SAME_NUMBER(PROBE_IOMMU_IOAS_ALLOC, IOMMU_IOAS_ALLOC);
SAME_NUMBER(PROBE_IOMMU_IOAS_IOVA_RANGES, IOMMU_IOAS_IOVA_RANGES);
SAME_NUMBER(PROBE_IOMMU_IOAS_MAP, IOMMU_IOAS_MAP);
SAME_NUMBER(PROBE_IOMMU_IOAS_UNMAP, IOMMU_IOAS_UNMAP);
SAME_NUMBER(PROBE_IOMMU_GET_HW_INFO, IOMMU_GET_HW_INFO);
SAME_NUMBER(PROBE_MAP_FIXED_IOVA, IOMMU_IOAS_MAP_FIXED_IOVA);
SAME_NUMBER(PROBE_MAP_WRITEABLE, IOMMU_IOAS_MAP_WRITEABLE);
SAME_NUMBER(PROBE_MAP_READABLE, IOMMU_IOAS_MAP_READABLE);
SAME_NUMBER(PROBE_HW_INFO_TYPE_INTEL_VTD, IOMMU_HW_INFO_TYPE_INTEL_VTD);
SAME_NUMBER(PROBE_VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_INFO);
SAME_NUMBER(PROBE_VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_GET_REGION_INFO);
SAME_NUMBER(PROBE_VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_BIND_IOMMUFD);
SAME_NUMBER(PROBE_VFIO_DEVICE_ATTACH_IOMMUFD_PT, VFIO_DEVICE_ATTACH_IOMMUFD_PT);
SAME_NUMBER(PROBE_VFIO_DEVICE_DETACH_IOMMUFD_PT, VFIO_DEVICE_DETACH_IOMMUFD_PT);
SAME_NUMBER(PROBE_REGION_FLAG_MMAP, VFIO_REGION_INFO_FLAG_MMAP);
SAME_NUMBER(PROBE_PCI_CONFIG_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX);

SAME_SIZE(probe_iommu_destroy, iommu_destroy);
SAME_FIELD(probe_iommu_destroy, iommu_destroy, id);
SAME_SIZE(probe_ioas_alloc, iommu_ioas_alloc);
SAME_FIELD(probe_ioas_alloc, iommu_ioas_alloc, out_ioas_id);
SAME_SIZE(probe_iova_range, iommu_iova_range);
SAME_FIELD(probe_iova_range, iommu_iova_range, last);
SAME_SIZE(probe_ioas_iova_ranges, iommu_ioas_iova_ranges);
SAME_FIELD(probe_ioas_iova_ranges, iommu_ioas_iova_ranges, num_iovas);
SAME_FIELD(probe_ioas_iova_ranges, iommu_ioas_iova_ranges, allowed_iovas);
SAME_FIELD(probe_ioas_iova_ranges, iommu_ioas_iova_ranges, out_iova_alignment);
SAME_SIZE(probe_ioas_map, iommu_ioas_map);
SAME_FIELD(probe_ioas_map, iommu_ioas_map, flags);
SAME_FIELD(probe_ioas_map, iommu_ioas_map, ioas_id);
SAME_FIELD(probe_ioas_map, iommu_ioas_map, user_va);
SAME_FIELD(probe_ioas_map, iommu_ioas_map, length);
SAME_FIELD(probe_ioas_map, iommu_ioas_map, iova);
SAME_SIZE(probe_ioas_unmap, iommu_ioas_unmap);
SAME_FIELD(probe_ioas_unmap, iommu_ioas_unmap, iova);
SAME_FIELD(probe_ioas_unmap, iommu_ioas_unmap, length);
SAME_SIZE(probe_hw_info, iommu_hw_info);
SAME_FIELD(probe_hw_info, iommu_hw_info, dev_id);
SAME_FIELD(probe_hw_info, iommu_hw_info, data_len);
SAME_FIELD(probe_hw_info, iommu_hw_info, data_uptr);
SAME_FIELD(probe_hw_info, iommu_hw_info, out_data_type);
SAME_FIELD(probe_hw_info, iommu_hw_info, out_max_pasid_log2);
SAME_FIELD(probe_hw_info, iommu_hw_info, out_capabilities);
SAME_SIZE(probe_hw_info_vtd, iommu_hw_info_vtd);
SAME_FIELD(probe_hw_info_vtd, iommu_hw_info_vtd, cap_reg);
SAME_FIELD(probe_hw_info_vtd, iommu_hw_info_vtd, ecap_reg);
SAME_SIZE(probe_vfio_bind_iommufd, vfio_device_bind_iommufd);
SAME_FIELD(probe_vfio_bind_iommufd, vfio_device_bind_iommufd, iommufd);
SAME_FIELD(probe_vfio_bind_iommufd, vfio_device_bind_iommufd, out_devid);
SAME_FIELD(probe_vfio_attach_pt, vfio_device_attach_iommufd_pt, pt_id);
SAME_SIZE(probe_vfio_detach_pt, vfio_device_detach_iommufd_pt);
SAME_SIZE(probe_vfio_device_info, vfio_device_info);
SAME_FIELD(probe_vfio_device_info, vfio_device_info, num_regions);
SAME_FIELD(probe_vfio_device_info, vfio_device_info, num_irqs);
SAME_SIZE(probe_vfio_region_info, vfio_region_info);
SAME_FIELD(probe_vfio_region_info, vfio_region_info, index);
SAME_FIELD(probe_vfio_region_info, vfio_region_info, size);
SAME_FIELD(probe_vfio_region_info, vfio_region_info, offset);
#endif

/* --- NVMe registers and commands used by the DMA check --------------------- */

#define NVME_REG_CAP	    0x00
#define NVME_REG_VS	    0x08
#define NVME_REG_CC	    0x14
#define NVME_REG_CSTS	    0x1c
#define NVME_REG_AQA	    0x24
#define NVME_REG_ASQ	    0x28
#define NVME_REG_ACQ	    0x30
#define NVME_DOORBELLS	    0x1000
#define NVME_CC_EN	    1u
#define NVME_CC_IOSQES_64   (6u << 16)
#define NVME_CC_IOCQES_16   (4u << 20)
#define NVME_CSTS_RDY	    1u
#define NVME_CSTS_CFS	    2u
#define NVME_ADMIN_IDENTIFY 0x06
#define NVME_IDENTIFY_CTRL  1
#define NVME_AQ_DEPTH	    2

#define PAGE	   4096
#define MAX_OTHERS 8

static int failures;

#define say(...) printf("probe: " __VA_ARGS__)

static void fail(const char *what, int err)
{
	printf("probe: FAIL %s: %s\n", what, strerror(err));
	failures++;
}

/* The vfio cdev of a PCI function: /sys/bus/pci/devices/BDF/vfio-dev/vfioN. */
static int open_vfio_cdev(const char *bdf, char *name, size_t len)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	if (d == NULL)
		return -errno;
	name[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "vfio", 4) == 0) {
			snprintf(name, len, "/dev/vfio/devices/%s", de->d_name);
			break;
		}
	}
	closedir(d);
	if (name[0] == '\0')
		return -ENOENT;
	fd = open(name, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int print_ranges(int iommufd, uint32_t ioas, const char *when)
{
	struct probe_iova_range r[16];
	struct probe_ioas_iova_ranges q = {
		.size = sizeof(q),
		.ioas_id = ioas,
		.num_iovas = 16,
		.allowed_iovas = (uintptr_t)r,
	};
	uint32_t i;

	if (ioctl(iommufd, PROBE_IOMMU_IOAS_IOVA_RANGES, &q) < 0) {
		fail("IOMMU_IOAS_IOVA_RANGES", errno);
		return -1;
	}
	say("iova ranges %s: %u (alignment 0x%" PRIx64 ")\n", when, q.num_iovas,
	    (uint64_t)q.out_iova_alignment);
	for (i = 0; i < q.num_iovas && i < 16; i++)
		say("  [0x%" PRIx64 ", 0x%" PRIx64 "]\n", (uint64_t)r[i].start,
		    (uint64_t)r[i].last);
	return 0;
}

static int bind_attach(int devfd, int iommufd, uint32_t ioas, uint32_t *devid)
{
	struct probe_vfio_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};
	struct probe_vfio_attach_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = ioas,
	};

	if (ioctl(devfd, PROBE_VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0) {
		fail("VFIO_DEVICE_BIND_IOMMUFD", errno);
		return -1;
	}
	*devid = bind.out_devid;
	if (ioctl(devfd, PROBE_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0) {
		fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT", errno);
		return -1;
	}
	/* The kernel writes back the hw_pagetable it created for the IOAS. */
	say("bound dev_id %u, attached to IOAS %u (hwpt %u)\n", bind.out_devid, ioas, attach.pt_id);
	return 0;
}

static void print_hw_info(int iommufd, uint32_t devid)
{
	struct probe_hw_info_vtd vtd = { 0 };
	struct probe_hw_info info = {
		.size = sizeof(info),
		.dev_id = devid,
		.data_len = sizeof(vtd),
		.data_uptr = (uintptr_t)&vtd,
	};

	if (ioctl(iommufd, PROBE_IOMMU_GET_HW_INFO, &info) < 0) {
		fail("IOMMU_GET_HW_INFO", errno);
		return;
	}
	say("hw info: type %u (%s), capabilities 0x%" PRIx64 ", max_pasid_log2 %u\n",
	    info.out_data_type,
	    info.out_data_type == PROBE_HW_INFO_TYPE_INTEL_VTD ? "intel-vtd" : "other",
	    (uint64_t)info.out_capabilities, info.out_max_pasid_log2);
	if (info.out_data_type == PROBE_HW_INFO_TYPE_INTEL_VTD) {
		/* ECAP bit 2 device-TLB (ATS), bit 40 PASID, bit 43 scalable mode. */
		say("vt-d: cap 0x%016" PRIx64 " ecap 0x%016" PRIx64 " (dt %d pasid %d sm %d)\n",
		    (uint64_t)vtd.cap_reg, (uint64_t)vtd.ecap_reg, (int)(vtd.ecap_reg >> 2 & 1),
		    (int)(vtd.ecap_reg >> 40 & 1), (int)(vtd.ecap_reg >> 43 & 1));
	}
}

/* vfio-pci leaves bus mastering off: the device may not DMA until it is set. */
static int enable_bus_master(int devfd)
{
	struct probe_vfio_region_info ri = {
		.argsz = sizeof(ri),
		.index = PROBE_PCI_CONFIG_REGION_INDEX,
	};
	uint16_t cmd;

	if (ioctl(devfd, PROBE_VFIO_DEVICE_GET_REGION_INFO, &ri) < 0) {
		fail("VFIO_DEVICE_GET_REGION_INFO(config)", errno);
		return -1;
	}
	if (pread(devfd, &cmd, sizeof(cmd), (off_t)(ri.offset + PROBE_PCI_COMMAND)) !=
	    sizeof(cmd)) {
		fail("read PCI command register", errno);
		return -1;
	}
	cmd |= PROBE_PCI_COMMAND_MEMORY | PROBE_PCI_COMMAND_MASTER;
	if (pwrite(devfd, &cmd, sizeof(cmd), (off_t)(ri.offset + PROBE_PCI_COMMAND)) !=
	    sizeof(cmd)) {
		fail("write PCI command register", errno);
		return -1;
	}
	say("PCI command 0x%04x (memory space and bus master on)\n", cmd);
	return 0;
}

static volatile uint8_t *map_bar0(int devfd, size_t *len)
{
	struct probe_vfio_region_info ri = {
		.argsz = sizeof(ri),
		.index = 0,
	};
	void *p;

	if (ioctl(devfd, PROBE_VFIO_DEVICE_GET_REGION_INFO, &ri) < 0) {
		fail("VFIO_DEVICE_GET_REGION_INFO(BAR0)", errno);
		return NULL;
	}
	say("BAR0: size 0x%" PRIx64 " offset 0x%" PRIx64 " flags 0x%x\n", (uint64_t)ri.size,
	    (uint64_t)ri.offset, ri.flags);
	if (!(ri.flags & PROBE_REGION_FLAG_MMAP)) {
		fail("BAR0 is not mmap-able", EINVAL);
		return NULL;
	}
	p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, devfd, (off_t)ri.offset);
	if (p == MAP_FAILED) {
		fail("mmap(BAR0)", errno);
		return NULL;
	}
	*len = ri.size;
	return p;
}

static uint32_t rd32(volatile uint8_t *bar, size_t off)
{
	return *(volatile uint32_t *)(bar + off);
}

static uint64_t rd64(volatile uint8_t *bar, size_t off)
{
	return *(volatile uint64_t *)(bar + off);
}

static void wr32(volatile uint8_t *bar, size_t off, uint32_t v)
{
	*(volatile uint32_t *)(bar + off) = v;
}

static void wr64(volatile uint8_t *bar, size_t off, uint64_t v)
{
	/* Low half first: NVMe allows 64-bit registers as two dword writes. */
	wr32(bar, off, (uint32_t)v);
	wr32(bar, off + 4, (uint32_t)(v >> 32));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Waits for CSTS.RDY == want; CAP.TO is in 500 ms units (TCG is slow: x4). */
static int wait_ready(volatile uint8_t *bar, uint64_t cap, uint32_t want)
{
	double deadline = now_s() + 4 * 0.5 * (double)((cap >> 24 & 0xff) + 1);
	uint32_t csts;

	for (;;) {
		csts = rd32(bar, NVME_REG_CSTS);
		if (csts & NVME_CSTS_CFS)
			return -EIO;
		if ((csts & NVME_CSTS_RDY) == want)
			return 0;
		if (now_s() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

static void copy_trimmed(char *dst, const volatile uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = (char)src[i];
	dst[n] = '\0';
	while (n > 0 && dst[n - 1] == ' ')
		dst[--n] = '\0';
}

/* The admin queue pair, in process memory the device reaches by IOVA = VA. */
struct nvme_admin {
	volatile uint8_t *bar;
	uint64_t cap;
	size_t stride;
	volatile uint32_t *sq; /* 64-byte entries */
	volatile uint32_t *cq; /* 16-byte entries */
	unsigned int tail, head, phase;
	uint16_t cid;
};

static int nvme_enable(struct nvme_admin *a, volatile uint8_t *bar, uint8_t *queues)
{
	int rc;

	a->bar = bar;
	a->cap = rd64(bar, NVME_REG_CAP);
	a->stride = (size_t)4 << (a->cap >> 32 & 0xf);
	a->sq = (volatile uint32_t *)queues;
	a->cq = (volatile uint32_t *)(queues + PAGE);
	a->tail = 0;
	a->head = 0;
	a->phase = 1;
	a->cid = 0x5a00;

	wr32(bar, NVME_REG_CC, 0);
	rc = wait_ready(bar, a->cap, 0);
	if (rc < 0) {
		fail("NVMe disable", -rc);
		return rc;
	}
	memset(queues, 0, 2 * PAGE);
	wr32(bar, NVME_REG_AQA, (NVME_AQ_DEPTH - 1) << 16 | (NVME_AQ_DEPTH - 1));
	wr64(bar, NVME_REG_ASQ, (uintptr_t)a->sq);
	wr64(bar, NVME_REG_ACQ, (uintptr_t)a->cq);
	wr32(bar, NVME_REG_CC, NVME_CC_EN | NVME_CC_IOSQES_64 | NVME_CC_IOCQES_16);
	rc = wait_ready(bar, a->cap, NVME_CSTS_RDY);
	if (rc < 0)
		fail("NVMe enable", -rc);
	return rc;
}

static void nvme_disable(struct nvme_admin *a)
{
	int rc;

	wr32(a->bar, NVME_REG_CC, 0);
	rc = wait_ready(a->bar, a->cap, 0);
	if (rc < 0)
		fail("NVMe disable", -rc);
}

/*
 * Identify Controller into the page at data (an IOVA = VA). Returns 0 and the
 * completion's status field, or -ETIMEDOUT.
 */
static int nvme_identify(struct nvme_admin *a, const volatile uint8_t *data, unsigned int *status)
{
	volatile uint32_t *cmd = a->sq + a->tail * 16;
	volatile uint32_t *cqe = a->cq + a->head * 4;
	uint16_t cid = a->cid++;
	double deadline;
	uint32_t dw3;
	int i;

	for (i = 0; i < 16; i++)
		cmd[i] = 0;
	cmd[0] = NVME_ADMIN_IDENTIFY | (uint32_t)cid << 16;
	cmd[6] = (uint32_t)(uintptr_t)data; /* PRP1 */
	cmd[7] = (uint32_t)((uintptr_t)data >> 32);
	cmd[10] = NVME_IDENTIFY_CTRL;
	a->tail = (a->tail + 1) % NVME_AQ_DEPTH;
	/* The entry must be in memory before the doorbell tells the device. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr32(a->bar, NVME_DOORBELLS, a->tail);

	deadline = now_s() + 10;
	while (((dw3 = cqe[3]) >> 16 & 1) != a->phase) {
		if (now_s() > deadline)
			return -ETIMEDOUT;
		usleep(100);
	}
	if (++a->head == NVME_AQ_DEPTH) {
		a->head = 0;
		a->phase ^= 1;
	}
	wr32(a->bar, NVME_DOORBELLS + a->stride, a->head);
	if ((dw3 & 0xffff) != cid) {
		say("identify completion for cid 0x%x, expected 0x%x\n", dw3 & 0xffff, cid);
		return -EPROTO;
	}
	*status = dw3 >> 17;
	return 0;
}

static int ioas_map(int iommufd, uint32_t ioas, void *va, size_t len)
{
	struct probe_ioas_map map = {
		.size = sizeof(map),
		.flags = PROBE_MAP_FIXED_IOVA | PROBE_MAP_READABLE | PROBE_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = (uintptr_t)va,
	};

	if (ioctl(iommufd, PROBE_IOMMU_IOAS_MAP, &map) < 0)
		return -errno;
	say("mapped va %p at iova 0x%" PRIx64 " (%zu bytes)\n", va, (uint64_t)map.iova, len);
	return 0;
}

static int ioas_unmap(int iommufd, uint32_t ioas, void *va, size_t len)
{
	struct probe_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = ioas,
		.iova = (uintptr_t)va,
		.length = len,
	};

	if (ioctl(iommufd, PROBE_IOMMU_IOAS_UNMAP, &unmap) < 0) {
		fail("IOMMU_IOAS_UNMAP", errno);
		return -1;
	}
	say("unmapped 0x%" PRIx64 " bytes at iova %p\n", (uint64_t)unmap.length, va);
	if (unmap.length != len) {
		fail("IOAS_UNMAP length", ERANGE);
		return -1;
	}
	return 0;
}

/*
 * With bar: Identify with the queues and the data page mapped IOVA = VA (DMA
 * through the vIOMMU), then again after the data page was unmapped: that one
 * must leave the page untouched, or the device wrote through a translation the
 * unmap should have invalidated.  Without bar: map and unmap only.
 */
static int map_unmap(int iommufd, uint32_t ioas, volatile uint8_t *bar)
{
	size_t qlen = 2 * PAGE, dlen = 2 * PAGE;
	struct nvme_admin admin;
	unsigned int status;
	uint8_t *mem, *data;
	char sn[21], mn[41];
	int rc = 0, err;
	bool enabled = false;

	mem = mmap(NULL, qlen + dlen, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED) {
		fail("mmap(buffer)", errno);
		return -1;
	}
	data = mem + qlen;
	/* Two areas: iommufd unmaps whole areas only. */
	err = ioas_map(iommufd, ioas, mem, qlen);
	if (err < 0) {
		fail("IOMMU_IOAS_MAP(FIXED_IOVA, iova = va)", -err);
		rc = -1;
		goto out_munmap;
	}
	err = ioas_map(iommufd, ioas, data, dlen);
	if (err < 0) {
		fail("IOMMU_IOAS_MAP(FIXED_IOVA, iova = va)", -err);
		rc = -1;
		goto out_unmap_queues;
	}
	/* The same IOVA again must be refused: the IOAS tracks what is mapped. */
	err = ioas_map(iommufd, ioas, data, dlen);
	if (err != -EEXIST) {
		fail("second IOAS_MAP at the same IOVA was not refused with EEXIST", -err);
		rc = -1;
	}

	if (bar != NULL) {
		enabled = nvme_enable(&admin, bar, mem) == 0;
		if (!enabled)
			rc = -1;
	}
	if (enabled) {
		err = nvme_identify(&admin, data, &status);
		if (err < 0 || status != 0) {
			say("identify: %d, status 0x%x\n", err, err < 0 ? 0 : status);
			fail("NVMe Identify by DMA", err < 0 ? -err : EIO);
			rc = -1;
		} else {
			copy_trimmed(sn, data + 4, 20);
			copy_trimmed(mn, data + 24, 40);
			say("identify via DMA at iova %p: vendor 0x%04x serial '%s' model '%s'\n",
			    (void *)data, data[0] | data[1] << 8, sn, mn);
		}
	}

	if (ioas_unmap(iommufd, ioas, data, dlen) < 0)
		rc = -1;

	if (enabled) {
		/*
		 * The verdict is the page, not the status: QEMU's NVMe model
		 * may complete the command successfully although the IOMMU
		 * refused its write (the guest kernel logs a DMAR fault).
		 */
		memset(data, 0, dlen);
		err = nvme_identify(&admin, data, &status);
		if (err == -ETIMEDOUT) {
			fail("no completion for the Identify at an unmapped IOVA", ETIMEDOUT);
			rc = -1;
		} else if (data[4] != 0 || data[24] != 0) {
			fail("the device wrote through an unmapped IOVA", EFAULT);
			rc = -1;
		} else {
			say("identify at the unmapped iova %p: page untouched (status 0x%x)\n",
			    (void *)data, err < 0 ? 0 : status);
		}
		nvme_disable(&admin);
	}

	if (ioas_unmap(iommufd, ioas, mem, qlen) < 0)
		rc = -1;
	goto out_munmap;
out_unmap_queues:
	ioas_unmap(iommufd, ioas, mem, qlen);
out_munmap:
	munmap(mem, qlen + dlen);
	return rc;
}

/*
 * Attaches one more device to the shared IOAS and shows the ranges after it.
 * Returns the open device (it stays attached until closed) or -1.
 */
static int attach_other(int iommufd, uint32_t ioas, const char *bdf)
{
	char name[PATH_MAX];
	uint32_t devid;
	int fd;

	fd = open_vfio_cdev(bdf, name, sizeof(name));
	if (fd < 0) {
		fail(bdf, -fd);
		return -1;
	}
	say("%s: %s\n", bdf, name);
	if (bind_attach(fd, iommufd, ioas, &devid) < 0) {
		close(fd);
		return -1;
	}
	print_hw_info(iommufd, devid);
	print_ranges(iommufd, ioas, "after attaching it");
	return fd;
}

int main(int argc, char **argv)
{
	const char *nvme = argc > 1 ? argv[1] : getenv("SVIO_VM_NVME");
	struct probe_vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	struct probe_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct probe_vfio_detach_pt detach = { .argsz = sizeof(detach) };
	struct probe_iommu_destroy destroy = { .size = sizeof(destroy) };
	volatile uint8_t *bar = NULL;
	int others[MAX_OTHERS], nothers = 0;
	char name[PATH_MAX];
	size_t barlen = 0;
	uint32_t devid;
	int iommufd, devfd, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (nvme == NULL || nvme[0] == '\0') {
		printf("usage: iommufd_probe NVME_BDF [OTHER_BDF...] (or set SVIO_VM_NVME)\n");
		return 2;
	}

	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0) {
		fail("open /dev/iommu", errno);
		return 1;
	}
	if (ioctl(iommufd, PROBE_IOMMU_IOAS_ALLOC, &alloc) < 0) {
		fail("IOMMU_IOAS_ALLOC", errno);
		return 1;
	}
	say("/dev/iommu open, IOAS %u\n", alloc.out_ioas_id);

	devfd = open_vfio_cdev(nvme, name, sizeof(name));
	if (devfd < 0) {
		fail("open the NVMe vfio cdev", -devfd);
		return 1;
	}
	say("NVMe %s: %s\n", nvme, name);
	if (bind_attach(devfd, iommufd, alloc.out_ioas_id, &devid) < 0)
		return 1;
	print_hw_info(iommufd, devid);
	print_ranges(iommufd, alloc.out_ioas_id, "after attach");

	if (ioctl(devfd, PROBE_VFIO_DEVICE_GET_INFO, &dinfo) < 0)
		fail("VFIO_DEVICE_GET_INFO", errno);
	else
		say("device: flags 0x%x, %u regions, %u irqs\n", dinfo.flags, dinfo.num_regions,
		    dinfo.num_irqs);
	bar = map_bar0(devfd, &barlen);
	if (bar != NULL && enable_bus_master(devfd) < 0) {
		munmap((void *)bar, barlen);
		bar = NULL;
	}
	if (bar != NULL) {
		uint64_t cap = rd64(bar, NVME_REG_CAP);
		uint32_t vs = rd32(bar, NVME_REG_VS);

		say("NVMe CAP 0x%016" PRIx64 " (MQES %u, DSTRD %u, TO %u) VS %u.%u.%u\n", cap,
		    (unsigned)(cap & 0xffff) + 1, (unsigned)(cap >> 32 & 0xf),
		    (unsigned)(cap >> 24 & 0xff), vs >> 16, vs >> 8 & 0xff, vs & 0xff);
		if (vs >> 16 == 0 || vs == UINT32_MAX)
			fail("NVMe VS register does not look like NVMe", EIO);
	}

	if (map_unmap(iommufd, alloc.out_ioas_id, bar) < 0)
		say("map/unmap check failed\n");

	for (i = 2; i < argc && nothers < MAX_OTHERS; i++)
		others[nothers++] = attach_other(iommufd, alloc.out_ioas_id, argv[i]);
	if (argc <= 2) {
		const char *env[] = { "SVIO_VM_NET0", "SVIO_VM_NET1" };
		const char *v;

		for (i = 0; i < 2; i++) {
			v = getenv(env[i]);
			if (v != NULL && v[0] != '\0')
				others[nothers++] = attach_other(iommufd, alloc.out_ioas_id, v);
		}
	}

	/*
	 * Once more with every device attached: the unmap now has to reach the
	 * device-TLBs of the ATS-capable ports as well as the IOTLB.
	 */
	if (map_unmap(iommufd, alloc.out_ioas_id, NULL) < 0)
		say("map/unmap check with every device attached failed\n");

	for (i = 0; i < nothers; i++)
		if (others[i] >= 0)
			close(others[i]);
	if (bar != NULL)
		munmap((void *)bar, barlen);
	if (ioctl(devfd, PROBE_VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach) < 0)
		fail("VFIO_DEVICE_DETACH_IOMMUFD_PT", errno);
	close(devfd);
	destroy.id = alloc.out_ioas_id;
	if (ioctl(iommufd, PROBE_IOMMU_DESTROY, &destroy) < 0)
		fail("IOMMU_DESTROY(IOAS)", errno);
	close(iommufd);

	say("%s (%d failure%s)\n", failures ? "FAILED" : "OK", failures, failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
