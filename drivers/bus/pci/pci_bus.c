/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "pci" bus: `-a DDDD:BB:DD.F[,key=val...]` becomes an svio_device backed
 * by a real function bound to vfio-pci, through its VFIO device cdev.
 *
 * add() order, each step undone in reverse on failure:
 *  1. sysfs: exists, ids, class -> kind, NUMA node, bound to vfio-pci, vfioN;
 *  2. open /dev/vfio/devices/vfioN;
 *  3. bind it through the selected IOMMU backend (before anything else: VFIO
 *     refuses region info and mmap on an unbound cdev);
 *  4. config region: check the ids (a transitional virtio-net needs its
 *     modern capabilities), walk capabilities, enable bus mastering;
 *  5. query and mmap the BARs.
 * Attaching is the IOMMU core's job (svio_domain_attach at probe), through
 * the instance the bind named.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "dev_private.h"
#include "svio_iommu.h"
#include "pci_bus.h"

RTE_LOG_REGISTER_SUFFIX(svio_pci_logtype, bus.pci, INFO);

/* virtio's vendor capabilities carry cfg_type at byte 3; 1 is the common configuration. */
#define VIRTIO_CAP_CFG_TYPE_AT 3
#define VIRTIO_CAP_COMMON      1

static bool pci_claims(const char *name)
{
	return pci_addr_valid(name);
}

static int open_cdev(const struct pci_sysfs_info *info)
{
	char path[PATH_MAX];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", pci_vfio_dev_dir(), info->vfio_dev);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	rc = -errno;
	switch (rc) {
	case -ENOENT:
		PCI_LOG(ERR,
			"%s: %s does not exist although sysfs lists %s (is devtmpfs "
			"mounted on /dev?)",
			info->addr, path, info->vfio_dev);
		return -ENODEV;
	case -EACCES:
	case -EPERM:
		PCI_LOG(ERR,
			"%s: %s: permission denied (run as root, or chown the cdev and "
			"/dev/iommu to this user)",
			info->addr, path);
		return -EACCES;
	case -EBUSY:
		PCI_LOG(ERR,
			"%s: %s is busy: another process has the device open, or its "
			"IOMMU group is in use through /dev/vfio/<group>",
			info->addr, path);
		return -EBUSY;
	default:
		PCI_LOG(ERR, "%s: cannot open %s: %s", info->addr, path, strerror(-rc));
		return rc;
	}
}

/* Config region, id check, capabilities, bus mastering. */
static int setup_config(struct pci_dev *pdev)
{
	struct vfio_region_info ri = {
		.argsz = sizeof(ri),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	struct svio_device *dev = pdev->dev;
	uint16_t ids[2];
	int rc;

	rc = svio_vfio_ioctl(pdev->fd, VFIO_DEVICE_GET_REGION_INFO, &ri);
	if (rc < 0) {
		PCI_LOG(ERR, "%s: config region info: %s", dev->name, strerror(-rc));
		return rc;
	}
	pdev->cfg.fd = pdev->fd;
	pdev->cfg.base = (off_t)ri.offset;
	pdev->cfg.size = ri.size < PCI_CFG_SIZE ? (uint32_t)ri.size : PCI_CFG_SIZE;
	rc = pci_cfg_read(&pdev->cfg, 0, ids, sizeof(ids));
	if (rc < 0) {
		PCI_LOG(ERR, "%s: cannot read config space: %s", dev->name, strerror(-rc));
		return rc;
	}
	if (ids[0] != pdev->info.vendor || ids[1] != pdev->info.device) {
		PCI_LOG(ERR, "%s: config space says %04x:%04x, sysfs %04x:%04x", dev->name, ids[0],
			ids[1], pdev->info.vendor, pdev->info.device);
		return -EIO;
	}
	if (pdev->info.device == PCI_DEVICE_VIRTIO_NET_TRANS) {
		rc = pci_vndr_cap_find(&pdev->cfg, VIRTIO_CAP_CFG_TYPE_AT, VIRTIO_CAP_COMMON);
		if (rc == 0) {
			PCI_LOG(ERR,
				"%s: transitional virtio-net (1af4:1000) without the modern "
				"(virtio 1.0) capabilities; svio has no legacy virtio driver "
				"(QEMU: disable-modern=off, or disable-legacy=on)",
				dev->name);
			return -ENOTSUP;
		}
	}
	rc = pci_cap_walk(&pdev->cfg, &pdev->caps);
	if (rc < 0) {
		PCI_LOG(ERR, "%s: malformed capability list in config space", dev->name);
		return rc;
	}
	/*
	 * Presence of the capability; the kernel's IOMMU driver enables ATS,
	 * PASID and PRI when it attaches a domain that uses them.
	 */
	dev->dma.ats = pdev->caps.ats != 0;
	dev->dma.pasid = pdev->caps.pasid != 0;
	dev->dma.pri = pdev->caps.pri != 0 && pdev->caps.ats != 0;
	rc = pci_enable_bus_master(&pdev->cfg);
	if (rc < 0)
		PCI_LOG(ERR, "%s: cannot enable bus mastering: %s", dev->name, strerror(-rc));
	return rc;
}

static int pci_add(const char *name, const char *args, struct svio_device **out)
{
	struct pci_sysfs_info info;
	enum svio_dev_kind kind;
	struct svio_device *dev;
	struct pci_dev *pdev;
	int rc;

	if (!pci_addr_valid(name)) {
		PCI_LOG(ERR, "'%s' is not a PCI address (expected DDDD:BB:DD.F)", name);
		return -EINVAL;
	}
	rc = pci_sysfs_read(name, &info);
	if (rc < 0)
		return rc;
	kind = pci_kind_of(&info);
	/* Transitional virtio-net: driven through its modern interface, if it has one. */
	if (kind == SVIO_DEV_KIND_ANY && info.vendor == PCI_VENDOR_VIRTIO &&
	    info.device == PCI_DEVICE_VIRTIO_NET_TRANS)
		kind = SVIO_DEV_KIND_NET;
	if (kind == SVIO_DEV_KIND_ANY) {
		PCI_LOG(ERR,
			"%s (%04x:%04x class %06x): svio has no driver for it (NVMe class "
			"010802 or virtio-net 1af4:1041)",
			name, info.vendor, info.device, info.class_code);
		return -ENOTSUP;
	}
	rc = pci_sysfs_check_vfio(&info);
	if (rc < 0)
		return rc;

	pdev = calloc(1, sizeof(*pdev));
	if (pdev == NULL)
		return -ENOMEM;
	pdev->info = info;
	pdev->fd = -1;
	dev = svio_dev_alloc(name, args, kind, NULL, NULL, &rc);
	if (dev == NULL)
		goto out_free_pdev;
	pdev->dev = dev;
	dev->bus_priv = pdev;
	dev->numa_node = info.numa_node;
	dev->dma.sid = pci_addr_sid(name);

	rc = open_cdev(&info);
	if (rc < 0)
		goto out_free_dev;
	pdev->fd = rc;
	rc = svio_iommu_bind(&pdev->iommu, dev, pdev->fd);
	if (rc < 0)
		goto out_close;
	rc = setup_config(pdev);
	if (rc < 0)
		goto out_unbind;
	rc = pci_bars_map(pdev);
	if (rc < 0)
		goto out_unbind;
	dev->reg_ops = &pci_reg_ops;
	PCI_LOG(INFO, "%s: %04x:%04x %s, NUMA node %d, %s%s%s%s", name, info.vendor, info.device,
		svio_dev_kind_name(kind), info.numa_node, info.vfio_dev,
		dev->dma.ats ? ", ATS" : "", dev->dma.pasid ? ", PASID" : "",
		dev->dma.pri ? ", PRI" : "");
	*out = dev;
	return 0;

out_unbind:
	svio_iommu_unbind(&pdev->iommu);
out_close:
	close(pdev->fd);
out_free_dev:
	dev->bus_priv = NULL;
	svio_dev_free(dev);
out_free_pdev:
	free(pdev);
	return rc;
}

static void pci_release(struct svio_device *dev)
{
	struct pci_dev *pdev = dev->bus_priv;

	if (pdev != NULL) {
		pci_bars_unmap(pdev);
		svio_iommu_unbind(&pdev->iommu);
		/* Closing the cdev ends the iommufd binding and resets DMA to blocked. */
		if (pdev->fd >= 0)
			close(pdev->fd);
		free(pdev);
		dev->bus_priv = NULL;
	}
	/* A detach the kernel refused left its tags in a domain: the device is gone now. */
	svio_domain_forget_device(dev);
	svio_dev_free(dev);
}

struct svio_bus pci_bus = {
	.name = "pci",
	.claims = pci_claims,
	.add = pci_add,
	.release = pci_release,
};
