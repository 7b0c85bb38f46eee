/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PCI bus: real devices bound to vfio-pci, reached through their VFIO
 * device cdev and the iommufd backend.
 *
 * A device is named by its normalised address "DDDD:BB:DD.F" (what -a gives).
 * add() checks it in sysfs, opens /dev/vfio/devices/vfioN, binds it through
 * the selected IOMMU backend (svio_iommu_bind(): iommufd; VFIO needs the
 * binding before region info and mmap),
 * reads config space, enables bus mastering, walks the capability lists and
 * maps the memory BARs. Drivers then use svio_reg_read32() & co on the BARs.
 *
 * Threading: control path only (main lcore), like the device registry.
 * Register accessors may be called from any thread.
 * Return convention: 0 or a negative errno value.
 *
 * Internal to drivers/bus/pci and its tests.
 */
#ifndef SVIO_PCI_BUS_H
#define SVIO_PCI_BUS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <rte_log.h>

#include "svio_dev.h"
#include "svio_iommu_backend.h"
#include "iommufd_backend.h" /* svio_vfio_ioctl(), the VFIO ioctl seam */

extern int svio_pci_logtype;
#define PCI_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, svio_pci_logtype, "pci: " fmt "\n", ##__VA_ARGS__)

extern struct svio_bus pci_bus;

#define PCI_ADDR_LEN 12 /* "DDDD:BB:DD.F" */
#define PCI_CFG_SIZE 4096

/* Identifiers svio has drivers for. */
#define PCI_CLASS_NVME	      0x010802
#define PCI_VENDOR_VIRTIO     0x1af4
#define PCI_DEVICE_VIRTIO_NET 0x1041 /* modern (virtio 1.0) network device */
/* Transitional network device: legacy I/O BAR, and modern capabilities unless disabled. */
#define PCI_DEVICE_VIRTIO_NET_TRANS 0x1000

/** What sysfs says about one device. */
struct pci_sysfs_info {
	char addr[PCI_ADDR_LEN + 1];
	uint16_t vendor;
	uint16_t device;
	uint32_t class_code; /**< base class << 16 | subclass << 8 | prog-if */
	int numa_node;	     /**< -1 when unknown */
	char driver[64];     /**< bound driver, "" when none */
	char vfio_dev[32];   /**< "vfioN" under vfio-dev/, "" when none */
};

/**
 * Override the sysfs root (default /sys/bus/pci/devices) and the VFIO
 * device cdev directory (default /dev/vfio/devices); NULL restores either.
 * The environment variables SVIO_PCI_SYSFS_ROOT and SVIO_VFIO_DEV_DIR do the
 * same when no override was set.
 */
void svio_pci_set_paths(const char *sysfs_root, const char *vfio_dev_dir);
const char *pci_sysfs_root(void);
const char *pci_vfio_dev_dir(void);

/** Is @p name a normalised PCI address "DDDD:BB:DD.F" (lower-case hex)? */
bool pci_addr_valid(const char *name);

/** Requester id (bus << 8 | device << 3 | function) of a valid address. */
uint32_t pci_addr_sid(const char *addr);

/**
 * Read ids, class, NUMA node, bound driver and VFIO cdev name of @p addr.
 * @return 0, -ENODEV (no such device under the sysfs root), -EIO (an
 *         attribute is unreadable or malformed).
 */
int pci_sysfs_read(const char *addr, struct pci_sysfs_info *info);

/**
 * Check the device is usable through VFIO cdev: bound to vfio-pci (else log
 * the exact commands that bind it) and with a vfio-dev/vfioN entry.
 * @return 0, -ENXIO (not bound to vfio-pci), -ENOTSUP (no VFIO cdev).
 */
int pci_sysfs_check_vfio(const struct pci_sysfs_info *info);

/** The kind svio drives this device as, or SVIO_DEV_KIND_ANY when none. */
enum svio_dev_kind pci_kind_of(const struct pci_sysfs_info *info);

/**
 * List devices under the sysfs root that are bound to vfio-pci. @p out may
 * be NULL only with @p max 0 (count them).
 * @return how many there are (up to @p max filled), or a negative errno
 *         (-EINVAL for NULL @p out with @p max > 0).
 */
int svio_pci_scan(struct pci_sysfs_info *out, unsigned int max);

/** Config space access: pread/pwrite on @p fd at @p base (VFIO config region). */
struct pci_cfg {
	int fd;
	off_t base;
	uint32_t size;
};

int pci_cfg_read(const struct pci_cfg *cfg, uint32_t off, void *buf, unsigned int len);
int pci_cfg_write(const struct pci_cfg *cfg, uint32_t off, const void *buf, unsigned int len);

/**
 * Config space as a register region (svio_device SVIO_DEV_REGION_CONFIG):
 * widths 1, 2 or 4, naturally aligned. @return 0, -EINVAL (width), -ERANGE
 * (offset), or the pread/pwrite error.
 */
int pci_cfg_reg_read(const struct pci_cfg *cfg, uint64_t off, unsigned int width, uint64_t *val);
int pci_cfg_reg_write(const struct pci_cfg *cfg, uint64_t off, unsigned int width, uint64_t val);

/** Capability offsets in config space; 0 when absent. */
struct pci_caps {
	uint8_t pm;
	uint8_t msi;
	uint8_t pcie;
	uint8_t msix;
	uint16_t ats;
	uint16_t pri;
	uint16_t pasid;
	uint16_t msix_vectors; /**< MSI-X table size */
	uint8_t msix_table_bar;
	uint32_t msix_table_off;
};

/* Standard and extended capability ids (PCI Local Bus / PCIe Base specs). */
#define PCI_CAP_ID_PM	     0x01
#define PCI_CAP_ID_MSI	     0x05
#define PCI_CAP_ID_VNDR	     0x09
#define PCI_CAP_ID_PCIE	     0x10
#define PCI_CAP_ID_MSIX	     0x11
#define PCI_EXT_CAP_ID_ATS   0x000f
#define PCI_EXT_CAP_ID_PRI   0x0013
#define PCI_EXT_CAP_ID_PASID 0x001b

/**
 * Walk the standard list (from 0x34) and, for PCIe devices, the extended
 * list (from 0x100). Loops and out-of-range pointers end the walk with -EIO.
 */
int pci_cap_walk(const struct pci_cfg *cfg, struct pci_caps *caps);

/**
 * First vendor-specific capability whose byte at @p at equals @p val (virtio
 * tags its structures this way: cfg_type at byte 3).
 * @return its offset, 0 when there is none, -EIO for a looping list.
 */
int pci_vndr_cap_find(const struct pci_cfg *cfg, unsigned int at, uint8_t val);

/** Set memory space and bus master enable in the command register. */
int pci_enable_bus_master(const struct pci_cfg *cfg);

/** One BAR: mapped when addr != NULL, else accessed through the region. */
struct pci_bar {
	void *addr;
	uint64_t size;
	off_t region_off; /**< offset of the VFIO region in the device fd */
	bool io;	  /**< I/O-port BAR (never mapped) */
};

/** Per-device bus state (svio_device.bus_priv). */
struct pci_dev {
	struct svio_device *dev;
	struct pci_sysfs_info info;
	int fd; /**< VFIO device cdev */
	struct pci_cfg cfg;
	struct pci_caps caps;
	struct pci_bar bars[SVIO_DEV_MAX_BARS];
	struct svio_iommu_binding iommu; /**< bound through the selected IOMMU backend */
};

/**
 * Register access on the BARs of a struct pci_dev, and on its config space
 * through SVIO_DEV_REGION_CONFIG (svio_device.reg_ops).
 */
extern const struct svio_dev_reg_ops pci_reg_ops;

/** Query every BAR region and mmap the mappable ones. */
int pci_bars_map(struct pci_dev *pdev);
void pci_bars_unmap(struct pci_dev *pdev);

#endif /* SVIO_PCI_BUS_H */
