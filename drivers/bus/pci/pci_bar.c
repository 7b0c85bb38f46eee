/* SPDX-License-Identifier: BSD-3-Clause */
/* BARs: VFIO region info, mmap, and the register accessors drivers use (config space too). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "pci_bus.h"

int pci_bars_map(struct pci_dev *pdev)
{
	unsigned int i;
	int rc;

	for (i = 0; i < SVIO_DEV_MAX_BARS; i++) {
		struct vfio_region_info ri = {
			.argsz = sizeof(ri),
			.index = VFIO_PCI_BAR0_REGION_INDEX + i,
		};
		struct pci_bar *bar = &pdev->bars[i];
		void *p;

		rc = svio_vfio_ioctl(pdev->fd, VFIO_DEVICE_GET_REGION_INFO, &ri);
		if (rc < 0) {
			PCI_LOG(ERR, "%s: VFIO_DEVICE_GET_REGION_INFO for BAR%u: %s",
				pdev->info.addr, i, strerror(-rc));
			goto out_unmap;
		}
		if (ri.size == 0)
			continue; /* unimplemented, or the upper half of a 64-bit BAR */
		bar->size = ri.size;
		bar->region_off = (off_t)ri.offset;
		/* I/O-port BARs are not mmappable; they go through the region. */
		bar->io = !(ri.flags & VFIO_REGION_INFO_FLAG_MMAP);
		if (bar->io)
			continue;
		p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, pdev->fd,
			 (off_t)ri.offset);
		if (p == MAP_FAILED) {
			/* e.g. sparse areas around an MSI-X table on old kernels: still usable. */
			PCI_LOG(WARNING,
				"%s: BAR%u (%#" PRIx64 " bytes) cannot be mapped (%s): its "
				"registers go through read/write calls (slow)",
				pdev->info.addr, i, (uint64_t)ri.size, strerror(errno));
			continue;
		}
		bar->addr = p;
	}
	return 0;

out_unmap:
	pci_bars_unmap(pdev);
	return rc;
}

void pci_bars_unmap(struct pci_dev *pdev)
{
	unsigned int i;

	for (i = 0; i < SVIO_DEV_MAX_BARS; i++) {
		if (pdev->bars[i].addr != NULL)
			munmap(pdev->bars[i].addr, pdev->bars[i].size);
		memset(&pdev->bars[i], 0, sizeof(pdev->bars[i]));
	}
}

static int check_access(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
			const struct pci_bar **out)
{
	const struct pci_dev *pdev = dev->bus_priv;
	const struct pci_bar *b;

	if (bar >= SVIO_DEV_MAX_BARS || pdev == NULL)
		return -EINVAL;
	if (width != 1 && width != 2 && width != 4 && width != 8)
		return -EINVAL;
	b = &pdev->bars[bar];
	if (b->size == 0)
		return -ENXIO;
	/* Misaligned MMIO may be split or refused by the device. */
	if ((off & (width - 1)) || off >= b->size || width > b->size - off)
		return -ERANGE;
	*out = b;
	return 0;
}

/* Slow path for BARs that are not mapped: pread/pwrite on the region. */
static int region_rw(struct svio_device *dev, const struct pci_bar *b, uint64_t off,
		     unsigned int width, void *buf, bool write)
{
	const struct pci_dev *pdev = dev->bus_priv;
	ssize_t n;

	if (write)
		n = pwrite(pdev->fd, buf, width, b->region_off + (off_t)off);
	else
		n = pread(pdev->fd, buf, width, b->region_off + (off_t)off);
	if (n < 0)
		return -errno;
	return (unsigned int)n == width ? 0 : -EIO;
}

static int pci_reg_read(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
			uint64_t *val)
{
	const struct pci_bar *b;
	const volatile void *p;
	int rc;

	if (bar == SVIO_DEV_REGION_CONFIG && dev->bus_priv != NULL)
		return pci_cfg_reg_read(&((struct pci_dev *)dev->bus_priv)->cfg, off, width, val);
	rc = check_access(dev, bar, off, width, &b);
	if (rc < 0)
		return rc;
	if (b->addr == NULL) {
		uint64_t v = 0;

		rc = region_rw(dev, b, off, width, &v, false);
		*val = v;
		return rc;
	}
	/* One access of exactly this width: registers have read side effects. */
	p = (const volatile uint8_t *)b->addr + off;
	switch (width) {
	case 1:
		*val = *(const volatile uint8_t *)p;
		break;
	case 2:
		*val = *(const volatile uint16_t *)p;
		break;
	case 4:
		*val = *(const volatile uint32_t *)p;
		break;
	default:
		*val = *(const volatile uint64_t *)p;
		break;
	}
	return 0;
}

static int pci_reg_write(struct svio_device *dev, unsigned int bar, uint64_t off,
			 unsigned int width, uint64_t val)
{
	const struct pci_bar *b;
	volatile void *p;
	int rc;

	if (bar == SVIO_DEV_REGION_CONFIG && dev->bus_priv != NULL)
		return pci_cfg_reg_write(&((struct pci_dev *)dev->bus_priv)->cfg, off, width, val);
	rc = check_access(dev, bar, off, width, &b);
	if (rc < 0)
		return rc;
	if (b->addr == NULL)
		return region_rw(dev, b, off, width, &val, true);
	p = (volatile uint8_t *)b->addr + off;
	switch (width) {
	case 1:
		*(volatile uint8_t *)p = (uint8_t)val;
		break;
	case 2:
		*(volatile uint16_t *)p = (uint16_t)val;
		break;
	case 4:
		*(volatile uint32_t *)p = (uint32_t)val;
		break;
	default:
		*(volatile uint64_t *)p = val;
		break;
	}
	return 0;
}

const struct svio_dev_reg_ops pci_reg_ops = {
	.read = pci_reg_read,
	.write = pci_reg_write,
};
