/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PCI bus on a fake sysfs tree built in a temporary directory: address
 * parsing, sysfs reads, class -> kind, the not-bound-to-vfio-pci message,
 * missing devices, scan, capability walk on a config space image, BAR and
 * config-space register access, transitional virtio-net, and add()/release() end to end with a
 * regular file as the VFIO cdev and a mock kernel answering the ioctls.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/vfio.h>

#include "svio_dev.h"
#include "pci_bus.h"
#include "mock_kernel.h"

#define NVME_ADDR "0000:01:00.0"
#define VNET_ADDR "0000:02:00.0"
#define E1K_ADDR  "0000:03:00.0"

/* Layout of the fake cdev file: config space, then BAR0, then I/O BAR2. */
#define CFG_OFF	  0x0
#define BAR0_OFF  0x10000
#define BAR0_SIZE 0x4000
#define BAR2_OFF  0x20000
#define BAR2_SIZE 0x100
#define BAR4_OFF  0x20100 /* not page aligned: mmap fails, like a sparse BAR */
#define BAR4_SIZE 0x100
#define CDEV_SIZE (BAR4_OFF + BAR4_SIZE)

static char root[256];
static char sysfs[PATH_MAX];
static char vfio_dir[PATH_MAX];

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A sysfs device directory; driver NULL leaves it unbound, vfio NULL: no vfio-dev. */
static void fake_device(const char *addr, const char *vendor, const char *device,
			const char *class_code, const char *numa, const char *driver,
			const char *vfio)
{
	char dir[PATH_MAX * 2], path[PATH_MAX * 3], target[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%s", sysfs, addr);
	assert_int_equal(mkdir(dir, 0755), 0);
	put_file(dir, "vendor", vendor);
	put_file(dir, "device", device);
	put_file(dir, "class", class_code);
	if (numa != NULL)
		put_file(dir, "numa_node", numa);
	if (driver != NULL) {
		snprintf(path, sizeof(path), "%s/driver", dir);
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
		assert_int_equal(symlink(target, path), 0);
	}
	if (vfio != NULL) {
		snprintf(path, sizeof(path), "%s/vfio-dev", dir);
		assert_int_equal(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/vfio-dev/%s", dir, vfio);
		assert_int_equal(mkdir(path, 0755), 0);
	}
}

/* Config space image builders. */
static void put8(uint8_t *c, unsigned int off, uint8_t v)
{
	c[off] = v;
}

static void put16(uint8_t *c, unsigned int off, uint16_t v)
{
	memcpy(c + off, &v, 2);
}

static void put32(uint8_t *c, unsigned int off, uint32_t v)
{
	memcpy(c + off, &v, 4);
}

/* PM 0x40 -> MSI-X 0x50 -> PCIe 0x70; ATS 0x100 -> PASID 0x140 -> PRI 0x160. */
static void build_config(uint8_t *c, uint16_t vendor, uint16_t device, bool ext)
{
	memset(c, 0, PCI_CFG_SIZE);
	put16(c, 0x00, vendor);
	put16(c, 0x02, device);
	put16(c, 0x06, 0x0010); /* status: capability list */
	put8(c, 0x34, 0x40);
	put8(c, 0x40, PCI_CAP_ID_PM);
	put8(c, 0x41, 0x50);
	put8(c, 0x50, PCI_CAP_ID_MSIX);
	put8(c, 0x51, 0x70);
	put16(c, 0x52, 0x001f);		/* 32 vectors */
	put32(c, 0x54, 0x00002000 | 0); /* table in BAR0 at 0x2000 */
	put8(c, 0x70, PCI_CAP_ID_PCIE);
	put8(c, 0x71, 0x00);
	if (!ext)
		return;
	put32(c, 0x100, PCI_EXT_CAP_ID_ATS | 1u << 16 | 0x140u << 20);
	put32(c, 0x140, PCI_EXT_CAP_ID_PASID | 1u << 16 | 0x160u << 20);
	put32(c, 0x160, PCI_EXT_CAP_ID_PRI | 1u << 16 | 0u << 20);
}

static int write_image(const char *path, const uint8_t *cfg, size_t total)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)total), 0);
	assert_int_equal(pwrite(fd, cfg, PCI_CFG_SIZE, CFG_OFF), PCI_CFG_SIZE);
	return fd;
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/svio-pci-XXXXXX";
	uint8_t cfg[PCI_CFG_SIZE];
	char path[PATH_MAX * 2];

	(void)state;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(root, sizeof(root), "%s", tmpl);
	snprintf(sysfs, sizeof(sysfs), "%s/devices", root);
	snprintf(vfio_dir, sizeof(vfio_dir), "%s/vfio", root);
	if (mkdir(sysfs, 0755) < 0 || mkdir(vfio_dir, 0755) < 0)
		return -1;
	fake_device(NVME_ADDR, "0x8086\n", "0x0a54\n", "0x010802\n", "1\n", "vfio-pci", "vfio0");
	fake_device(VNET_ADDR, "0x1af4\n", "0x1041\n", "0x020000\n", "-1\n", "vfio-pci", "vfio1");
	fake_device(E1K_ADDR, "0x8086\n", "0x10d3\n", "0x020000\n", NULL, "e1000e", NULL);
	/* The NVMe function's cdev: a file holding its config space and BARs. */
	build_config(cfg, 0x8086, 0x0a54, true);
	snprintf(path, sizeof(path), "%s/vfio0", vfio_dir);
	close(write_image(path, cfg, CDEV_SIZE));
	svio_pci_set_paths(sysfs, vfio_dir);
	mock_reset();
	log_capture_begin();
	return 0;
}

static void rm_tree(const char *path);

static int teardown(void **state)
{
	(void)state;
	log_capture_end();
	svio_pci_set_paths(NULL, NULL);
	rm_tree(root);
	return 0;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_addr(void **state)
{
	(void)state;
	assert_true(pci_addr_valid("0000:01:00.0"));
	assert_true(pci_addr_valid("ffff:ff:1f.7"));
	assert_false(pci_addr_valid("0000:01:00.8"));
	assert_false(pci_addr_valid("0000:01:20.0"));
	assert_false(pci_addr_valid("0000:0A:00.0")); /* normalised addresses are lower case */
	assert_false(pci_addr_valid("01:00.0"));
	assert_false(pci_addr_valid("0000:01:00.0x"));
	assert_false(pci_addr_valid("sim_nvme0"));
	assert_false(pci_addr_valid(NULL));
	assert_int_equal(pci_addr_sid("0000:3a:1f.7"), 0x3a << 8 | 0x1f << 3 | 7);
	assert_int_equal(pci_addr_sid("0000:00:04.0"), 0x20);
	assert_true(pci_bus.claims("0000:01:00.0"));
	assert_false(pci_bus.claims("sim_scratch0"));
}

static void test_sysfs_read_and_kind(void **state)
{
	struct pci_sysfs_info info;

	(void)state;
	assert_int_equal(pci_sysfs_read(NVME_ADDR, &info), 0);
	assert_int_equal(info.vendor, 0x8086);
	assert_int_equal(info.device, 0x0a54);
	assert_int_equal(info.class_code, 0x010802);
	assert_int_equal(info.numa_node, 1);
	assert_string_equal(info.driver, "vfio-pci");
	assert_string_equal(info.vfio_dev, "vfio0");
	assert_int_equal(pci_kind_of(&info), SVIO_DEV_KIND_NVME);
	assert_int_equal(pci_sysfs_check_vfio(&info), 0);

	assert_int_equal(pci_sysfs_read(VNET_ADDR, &info), 0);
	assert_int_equal(info.numa_node, -1);
	assert_int_equal(pci_kind_of(&info), SVIO_DEV_KIND_NET);
	info.device = 0x1000; /* transitional virtio-net: legacy, not driven */
	assert_int_equal(pci_kind_of(&info), SVIO_DEV_KIND_ANY);

	assert_int_equal(pci_sysfs_read(E1K_ADDR, &info), 0);
	assert_int_equal(info.numa_node, -1); /* no numa_node file */
	assert_string_equal(info.driver, "e1000e");
	assert_int_equal(pci_kind_of(&info), SVIO_DEV_KIND_ANY);
}

static void test_malformed_attribute(void **state)
{
	struct pci_sysfs_info info;
	char dir[PATH_MAX * 2];

	(void)state;
	fake_device("0000:04:00.0", "0x8086\n", "nonsense\n", "0x010802\n", "0\n", "vfio-pci",
		    "vfio4");
	assert_int_equal(pci_sysfs_read("0000:04:00.0", &info), -EIO);
	assert_true(log_contains("device is 'nonsense'"));
	snprintf(dir, sizeof(dir), "%s/0000:04:00.0", sysfs);
	put_file(dir, "device", "0x1ffff\n");
	assert_int_equal(pci_sysfs_read("0000:04:00.0", &info), -EIO);
}

static void test_missing_device(void **state)
{
	struct pci_sysfs_info info;
	struct svio_device *dev = NULL;

	(void)state;
	assert_int_equal(pci_sysfs_read("0000:09:00.0", &info), -ENODEV);
	assert_true(log_contains("0000:09:00.0: no such PCI device"));
	assert_int_equal(pci_bus.add("0000:09:00.0", "", &dev), -ENODEV);
	assert_null(dev);
	assert_int_equal(pci_bus.add("0000:09:00", "", &dev), -EINVAL);
}

static void test_not_bound_message(void **state)
{
	struct pci_sysfs_info info;
	struct svio_device *dev = NULL;

	(void)state;
	assert_int_equal(pci_sysfs_read(E1K_ADDR, &info), 0);
	info.class_code = PCI_CLASS_NVME; /* a device svio drives, bound elsewhere */
	assert_int_equal(pci_sysfs_check_vfio(&info), -ENXIO);
	assert_true(log_contains("bound to e1000e, not to vfio-pci"));
	assert_true(
		log_contains("echo vfio-pci > /sys/bus/pci/devices/" E1K_ADDR "/driver_override"));
	assert_true(log_contains("echo " E1K_ADDR " > /sys/bus/pci/devices/" E1K_ADDR
				 "/driver/unbind"));
	assert_true(log_contains("echo " E1K_ADDR " > /sys/bus/pci/drivers_probe"));

	/* Unbound: no unbind line. */
	log_capture_begin();
	info.driver[0] = '\0';
	assert_int_equal(pci_sysfs_check_vfio(&info), -ENXIO);
	assert_true(log_contains("no driver"));
	assert_false(log_contains("driver/unbind"));

	/* add() on a bound-elsewhere device svio has no driver for names that first. */
	assert_int_equal(pci_bus.add(E1K_ADDR, "", &dev), -ENOTSUP);
	assert_true(log_contains("svio has no driver for it"));
}

static void test_no_vfio_cdev(void **state)
{
	struct pci_sysfs_info info;

	(void)state;
	fake_device("0000:05:00.0", "0x1b36\n", "0x0010\n", "0x010802\n", "0\n", "vfio-pci", NULL);
	assert_int_equal(pci_sysfs_read("0000:05:00.0", &info), 0);
	assert_int_equal(pci_sysfs_check_vfio(&info), -ENOTSUP);
	assert_true(log_contains("CONFIG_VFIO_DEVICE_CDEV"));
}

static void test_scan(void **state)
{
	struct pci_sysfs_info list[4];

	(void)state;
	/* Only functions bound to vfio-pci are listed, in address order. */
	assert_int_equal(svio_pci_scan(list, 4), 2);
	assert_string_equal(list[0].addr, NVME_ADDR);
	assert_string_equal(list[1].addr, VNET_ADDR);
	assert_int_equal(svio_pci_scan(list, 1), 2);
	assert_int_equal(svio_pci_scan(NULL, 0), 2);
	assert_int_equal(svio_pci_scan(NULL, 4), -EINVAL);
	svio_pci_set_paths("/nonexistent/svio", vfio_dir);
	assert_true(svio_pci_scan(list, 4) < 0);
}

static int cfg_file(const uint8_t *img, struct pci_cfg *cfg)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/config.img", root);
	cfg->fd = write_image(path, img, PCI_CFG_SIZE);
	cfg->base = 0;
	cfg->size = PCI_CFG_SIZE;
	return cfg->fd;
}

static void test_cap_walk(void **state)
{
	uint8_t img[PCI_CFG_SIZE];
	struct pci_caps caps;
	struct pci_cfg cfg;

	(void)state;
	build_config(img, 0x1af4, 0x1041, true);
	cfg_file(img, &cfg);
	assert_int_equal(pci_cap_walk(&cfg, &caps), 0);
	assert_int_equal(caps.pm, 0x40);
	assert_int_equal(caps.msix, 0x50);
	assert_int_equal(caps.pcie, 0x70);
	assert_int_equal(caps.msi, 0);
	assert_int_equal(caps.ats, 0x100);
	assert_int_equal(caps.pasid, 0x140);
	assert_int_equal(caps.pri, 0x160);
	assert_int_equal(caps.msix_vectors, 32);
	assert_int_equal(caps.msix_table_bar, 0);
	assert_int_equal(caps.msix_table_off, 0x2000);
	close(cfg.fd);

	/* Reserved low bits in an extended next pointer are ignored (Linux masks 0xffc). */
	build_config(img, 0x1af4, 0x1041, true);
	put32(img, 0x100, PCI_EXT_CAP_ID_ATS | 1u << 16 | 0x143u << 20);
	cfg_file(img, &cfg);
	assert_int_equal(pci_cap_walk(&cfg, &caps), 0);
	assert_int_equal(caps.ats, 0x100);
	assert_int_equal(caps.pasid, 0x140);
	assert_int_equal(caps.pri, 0x160);
	close(cfg.fd);

	/* Conventional config space (256 bytes): the extended list is not read. */
	cfg_file(img, &cfg);
	cfg.size = 256;
	assert_int_equal(pci_cap_walk(&cfg, &caps), 0);
	assert_int_equal(caps.pcie, 0x70);
	assert_int_equal(caps.ats, 0);
	close(cfg.fd);

	/* No extended capabilities: header word 0 ends the list at once. */
	build_config(img, 0x1af4, 0x1041, false);
	cfg_file(img, &cfg);
	assert_int_equal(pci_cap_walk(&cfg, &caps), 0);
	assert_int_equal(caps.ats + caps.pasid + caps.pri, 0);
	close(cfg.fd);

	/* No capability list bit: nothing at all. */
	build_config(img, 0x1af4, 0x1041, true);
	put16(img, 0x06, 0);
	cfg_file(img, &cfg);
	assert_int_equal(pci_cap_walk(&cfg, &caps), 0);
	assert_int_equal(caps.pm + caps.msix + caps.pcie + caps.ats, 0);
	close(cfg.fd);
}

static void test_cap_walk_malformed(void **state)
{
	uint8_t img[PCI_CFG_SIZE];
	struct pci_caps caps;
	struct pci_cfg cfg;

	(void)state;
	/* A standard capability pointing at itself. */
	build_config(img, 0x1af4, 0x1041, true);
	put8(img, 0x71, 0x70);
	cfg_file(img, &cfg);
	assert_int_equal(pci_cap_walk(&cfg, &caps), -EIO);
	close(cfg.fd);

	/* A pointer into the header. */
	build_config(img, 0x1af4, 0x1041, true);
	put8(img, 0x41, 0x10);
	cfg_file(img, &cfg);
	assert_int_equal(pci_cap_walk(&cfg, &caps), -EIO);
	close(cfg.fd);

	/* An extended capability looping back to an earlier one. */
	build_config(img, 0x1af4, 0x1041, true);
	put32(img, 0x160, PCI_EXT_CAP_ID_PRI | 1u << 16 | 0x100u << 20);
	cfg_file(img, &cfg);
	assert_int_equal(pci_cap_walk(&cfg, &caps), -EIO);
	close(cfg.fd);

	/* An extended pointer below 0x100. */
	build_config(img, 0x1af4, 0x1041, true);
	put32(img, 0x140, PCI_EXT_CAP_ID_PASID | 1u << 16 | 0x40u << 20);
	cfg_file(img, &cfg);
	assert_int_equal(pci_cap_walk(&cfg, &caps), -EIO);
	close(cfg.fd);
}

static void test_bus_master(void **state)
{
	uint8_t img[PCI_CFG_SIZE];
	struct pci_cfg cfg;
	uint16_t cmd = 0;

	(void)state;
	build_config(img, 0x8086, 0x0a54, true);
	put16(img, 0x04, 0x0400); /* interrupt disable: kept */
	cfg_file(img, &cfg);
	assert_int_equal(pci_enable_bus_master(&cfg), 0);
	assert_int_equal(pread(cfg.fd, &cmd, 2, 0x04), 2);
	assert_int_equal(cmd, 0x0406);
	assert_int_equal(pci_cfg_read(&cfg, PCI_CFG_SIZE - 2, &cmd, 4), -ERANGE);
	close(cfg.fd);
}

static void test_bar_reg_ops(void **state)
{
	struct svio_device dev = { .name = NVME_ADDR };
	struct pci_dev pdev = { .fd = -1 };
	uint64_t v = 0;
	uint8_t *bar;
	char path[PATH_MAX * 2];
	uint32_t w = 0;

	(void)state;
	bar = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(bar != MAP_FAILED);
	pdev.bars[0].addr = bar;
	pdev.bars[0].size = 0x1000;
	dev.bus_priv = &pdev;
	dev.reg_ops = &pci_reg_ops;

	/* Each width touches exactly its bytes. */
	assert_int_equal(pci_reg_ops.write(&dev, 0, 0x10, 8, UINT64_C(0x1122334455667788)), 0);
	assert_int_equal(pci_reg_ops.write(&dev, 0, 0x10, 1, 0xaa), 0);
	assert_int_equal(pci_reg_ops.write(&dev, 0, 0x12, 2, 0xbbcc), 0);
	assert_int_equal(pci_reg_ops.read(&dev, 0, 0x10, 8, &v), 0);
	assert_true(v == UINT64_C(0x11223344bbcc77aa));
	assert_int_equal(svio_reg_write32(&dev, 0, 0x14, 0xdeadbeef), 0);
	assert_int_equal(svio_reg_read32(&dev, 0, 0x14, &w), 0);
	assert_int_equal(w, 0xdeadbeef);
	assert_int_equal(pci_reg_ops.read(&dev, 0, 0x14, 2, &v), 0);
	assert_int_equal(v, 0xbeef);
	assert_int_equal(pci_reg_ops.read(&dev, 0, 0x17, 1, &v), 0);
	assert_int_equal(v, 0xde);
	assert_int_equal(pci_reg_ops.read(&dev, 0, 0xff8, 8, &v), 0);

	/* Bounds, alignment, width, missing BARs. */
	assert_int_equal(pci_reg_ops.read(&dev, 0, 0x1000, 4, &v), -ERANGE);
	assert_int_equal(pci_reg_ops.read(&dev, 0, 0xffc, 8, &v), -ERANGE);
	assert_int_equal(pci_reg_ops.read(&dev, 0, 0x11, 4, &v), -ERANGE);
	assert_int_equal(pci_reg_ops.read(&dev, 0, 0x10, 3, &v), -EINVAL);
	assert_int_equal(pci_reg_ops.write(&dev, 0, 0x10, 16, 0), -EINVAL);
	assert_int_equal(pci_reg_ops.read(&dev, 1, 0, 4, &v), -ENXIO);
	assert_int_equal(pci_reg_ops.read(&dev, SVIO_DEV_MAX_BARS, 0, 4, &v), -EINVAL);
	assert_int_equal(svio_reg_read32(&dev, 0, UINT64_MAX - 1, &w), -ERANGE);

	/* A BAR without a mapping goes through the region (pread/pwrite). */
	snprintf(path, sizeof(path), "%s/region.img", root);
	pdev.fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(pdev.fd >= 0);
	assert_int_equal(ftruncate(pdev.fd, 0x2000), 0);
	pdev.bars[2].size = 0x100;
	pdev.bars[2].region_off = 0x1000;
	pdev.bars[2].io = true;
	assert_int_equal(pci_reg_ops.write(&dev, 2, 0x8, 4, 0x12345678), 0);
	w = 0;
	assert_int_equal(pread(pdev.fd, &w, 4, 0x1008), 4);
	assert_int_equal(w, 0x12345678);
	assert_int_equal(pci_reg_ops.read(&dev, 2, 0x8, 2, &v), 0);
	assert_int_equal(v, 0x5678);
	close(pdev.fd);
	munmap(bar, 0x1000);
}

/* The PCI tests' kernel: region info for the fake cdev, the rest to the iommufd mock. */
static unsigned int regions_before_bind;
static unsigned int pci_calls, pci_fail_nth;

static int pci_mock_ioctl(int fd, unsigned long req, void *arg)
{
	struct vfio_region_info *ri = arg;

	if (++pci_calls == pci_fail_nth)
		return -EIO;
	if (req != VFIO_DEVICE_GET_REGION_INFO)
		return mock_ioctl(fd, req, arg);
	/* Like VFIO: no regions on a cdev that is not bound to an iommufd. */
	if (mock_count(SVIO_VFIO_DEVICE_BIND_IOMMUFD) == 0) {
		regions_before_bind++;
		return -EINVAL;
	}
	ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	switch (ri->index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ri->offset = CFG_OFF;
		ri->size = PCI_CFG_SIZE;
		return 0;
	case VFIO_PCI_BAR0_REGION_INDEX:
		ri->offset = BAR0_OFF;
		ri->size = BAR0_SIZE;
		ri->flags |= VFIO_REGION_INFO_FLAG_MMAP;
		return 0;
	case VFIO_PCI_BAR2_REGION_INDEX:
		ri->offset = BAR2_OFF;
		ri->size = BAR2_SIZE;
		return 0;
	case VFIO_PCI_BAR4_REGION_INDEX:
		ri->offset = BAR4_OFF;
		ri->size = BAR4_SIZE;
		ri->flags |= VFIO_REGION_INFO_FLAG_MMAP;
		return 0;
	default:
		if (ri->index > VFIO_PCI_BAR5_REGION_INDEX)
			return -EINVAL;
		ri->offset = 0;
		ri->size = 0;
		return 0;
	}
}

static void test_add_release(void **state)
{
	char path[PATH_MAX * 2];
	struct svio_device *dev = NULL;
	uint32_t w = 0;
	uint16_t cmd = 0;
	int fd;

	(void)state;
	mock_install(pci_mock_ioctl);
	mock.max_pasid_log2 = 20;
	regions_before_bind = 0;
	assert_int_equal(svio_bus_register(&pci_bus), 0);

	assert_int_equal(svio_dev_add(NVME_ADDR, &dev), 0);
	assert_non_null(dev);
	assert_ptr_equal(svio_dev_find(NVME_ADDR), dev);
	assert_int_equal(dev->kind, SVIO_DEV_KIND_NVME);
	assert_int_equal(dev->numa_node, 1);
	assert_int_equal(dev->dma.sid, 0x100);
	assert_true(dev->dma.ats);
	assert_true(dev->dma.pasid);
	assert_true(dev->dma.pri);
	assert_int_equal(dev->dma.iommu_index, SVIO_IOMMUFD_INDEX);
	assert_non_null(svio_iommufd_iommu());
	/* Bound before any region was queried: VFIO refuses regions on an unbound cdev. */
	assert_int_equal(regions_before_bind, 0);

	/* BAR0 is the file's bytes at BAR0_OFF, mapped shared. */
	snprintf(path, sizeof(path), "%s/vfio0", vfio_dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	w = 0x0badf00d;
	assert_int_equal(pwrite(fd, &w, 4, BAR0_OFF + 0x1c), 4);
	w = 0;
	assert_int_equal(svio_reg_read32(dev, 0, 0x1c, &w), 0);
	assert_int_equal(w, 0x0badf00d);
	assert_int_equal(svio_reg_write32(dev, 0, 0x20, 0xcafe), 0);
	assert_int_equal(pread(fd, &w, 4, BAR0_OFF + 0x20), 4);
	assert_int_equal(w, 0xcafe);
	/* BAR2 is not mappable: reached through the region. */
	assert_int_equal(svio_reg_write32(dev, 2, 0x4, 0x77), 0);
	assert_int_equal(pread(fd, &w, 4, BAR2_OFF + 0x4), 4);
	assert_int_equal(w, 0x77);
	assert_int_equal(svio_reg_read32(dev, 1, 0, &w), -ENXIO);
	/* BAR4 claims to be mappable but mmap refuses it: still reachable. */
	assert_true(log_contains("BAR4 (0x100 bytes) cannot be mapped"));
	assert_int_equal(svio_reg_write32(dev, 4, 0xfc, 0x4444), 0);
	assert_int_equal(pread(fd, &w, 4, BAR4_OFF + 0xfc), 4);
	assert_int_equal(w, 0x4444);
	/* Bus mastering and memory decoding were turned on in config space. */
	assert_int_equal(pread(fd, &cmd, 2, CFG_OFF + 0x04), 2);
	assert_int_equal(cmd & 0x6, 0x6);
	close(fd);

	svio_dev_remove_all();
	assert_null(svio_dev_find(NVME_ADDR));
	assert_null(svio_iommufd_iommu()); /* the last device closed the iommufd */
	svio_bus_unregister(&pci_bus);
	mock_uninstall();
}

static void test_add_errors(void **state)
{
	char path[PATH_MAX * 2];
	struct svio_device *dev = NULL;
	uint8_t cfg[PCI_CFG_SIZE];

	(void)state;
	svio_iommufd_set_ioctl(pci_mock_ioctl);
	assert_int_equal(svio_bus_register(&pci_bus), 0);

	/* No /dev/iommu: the device is not created and nothing stays open. */
	svio_iommufd_set_path("/nonexistent/svio/iommu");
	assert_int_equal(svio_dev_add(NVME_ADDR, &dev), -ENODEV);
	assert_true(log_contains("CONFIG_IOMMUFD"));
	assert_null(svio_dev_find(NVME_ADDR));
	svio_iommufd_set_path("/dev/null");

	/* The cdev named in sysfs is missing from /dev. */
	assert_int_equal(svio_dev_add(VNET_ADDR, &dev), -ENODEV);
	assert_true(log_contains("vfio1 does not exist"));

	/* Config space disagrees with sysfs: refuse, unbind, close the iommufd. */
	build_config(cfg, 0x8086, 0x1234, true);
	snprintf(path, sizeof(path), "%s/vfio0", vfio_dir);
	close(write_image(path, cfg, CDEV_SIZE));
	assert_int_equal(svio_dev_add(NVME_ADDR, &dev), -EIO);
	assert_true(log_contains("config space says 8086:1234"));
	assert_null(svio_iommufd_iommu());

	/* Busy: the kernel refuses the bind. */
	build_config(cfg, 0x8086, 0x0a54, true);
	close(write_image(path, cfg, CDEV_SIZE));
	mock.bind_error = -EBUSY;
	assert_int_equal(svio_dev_add(NVME_ADDR, &dev), -EBUSY);
	mock.bind_error = 0;

	/* Unknown devarg. */
	assert_int_equal(svio_dev_add(NVME_ADDR ",colour=red", &dev), -EINVAL);
	assert_null(svio_iommufd_iommu());

	svio_dev_remove_all();
	svio_bus_unregister(&pci_bus);
	mock_uninstall();
}

/* Config space through the register accessors (SVIO_DEV_REGION_CONFIG) of an added device. */
static void test_config_region(void **state)
{
	char path[PATH_MAX * 2];
	struct svio_device *dev = NULL;
	uint32_t v = 0;
	uint64_t v64;
	uint8_t b = 0;
	int fd;

	(void)state;
	mock_install(pci_mock_ioctl);
	assert_int_equal(svio_bus_register(&pci_bus), 0);
	assert_int_equal(svio_dev_add(NVME_ADDR, &dev), 0);

	assert_int_equal(svio_cfg_read(dev, 0x00, 2, &v), 0);
	assert_int_equal(v, 0x8086);
	assert_int_equal(svio_cfg_read(dev, 0x00, 4, &v), 0);
	assert_int_equal(v, 0x0a548086);
	assert_int_equal(svio_cfg_read(dev, 0x04, 2, &v), 0);
	assert_int_equal(v & 0x6, 0x6); /* add() enabled memory decoding and bus mastering */
	assert_int_equal(svio_cfg_read(dev, 0x100, 4, &v), 0);
	assert_int_equal(v & 0xffff, PCI_EXT_CAP_ID_ATS);
	assert_int_equal(svio_cfg_read(dev, 0xffc, 4, &v), 0);
	/* Writes reach the region (the kernel's VFIO filters what it must). */
	assert_int_equal(svio_cfg_write(dev, 0x3c, 1, 0x5a), 0);
	snprintf(path, sizeof(path), "%s/vfio0", vfio_dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, CFG_OFF + 0x3c), 1);
	assert_int_equal(b, 0x5a);
	close(fd);
	/* Config cycles carry 1, 2 or 4 naturally aligned bytes inside 4 KiB. */
	assert_int_equal(svio_cfg_read(dev, 0x1000, 1, &v), -ERANGE);
	assert_int_equal(svio_cfg_read(dev, 0x02, 4, &v), -ERANGE);
	assert_int_equal(svio_cfg_read(dev, 0x00, 3, &v), -EINVAL);
	assert_int_equal(dev->reg_ops->read(dev, SVIO_DEV_REGION_CONFIG, 0, 8, &v64), -EINVAL);
	assert_int_equal(svio_cfg_write(dev, UINT32_MAX, 1, 0), -ERANGE);

	svio_dev_remove_all();
	svio_bus_unregister(&pci_bus);
	mock_uninstall();
}

/* A transitional virtio-net (1af4:1000) is claimed only with its modern capabilities. */
static void test_transitional_virtio(void **state)
{
	char path[PATH_MAX * 2];
	struct svio_device *dev = NULL;
	uint8_t cfg[PCI_CFG_SIZE];

	(void)state;
	mock_install(pci_mock_ioctl);
	assert_int_equal(svio_bus_register(&pci_bus), 0);
	fake_device("0000:06:00.0", "0x1af4\n", "0x1000\n", "0x020000\n", "0\n", "vfio-pci",
		    "vfio6");
	snprintf(path, sizeof(path), "%s/vfio6", vfio_dir);

	/* Legacy only (PM, MSI-X, PCIe, no virtio capability): refused, with the reason. */
	build_config(cfg, 0x1af4, 0x1000, false);
	close(write_image(path, cfg, CDEV_SIZE));
	assert_int_equal(svio_dev_add("0000:06:00.0", &dev), -ENOTSUP);
	assert_true(log_contains("transitional virtio-net (1af4:1000) without the modern"));
	assert_null(svio_dev_find("0000:06:00.0"));
	assert_null(svio_iommufd_iommu());

	/* A vendor capability of another type is not enough either. */
	put8(cfg, 0x71, 0x80);
	put8(cfg, 0x80, PCI_CAP_ID_VNDR);
	put8(cfg, 0x81, 0x00);
	put8(cfg, 0x82, 16);
	put8(cfg, 0x83, 5); /* VIRTIO_PCI_CAP_PCI_CFG */
	close(write_image(path, cfg, CDEV_SIZE));
	assert_int_equal(svio_dev_add("0000:06:00.0", &dev), -ENOTSUP);

	/* With the common configuration capability it is a network device. */
	put8(cfg, 0x81, 0x90);
	put8(cfg, 0x90, PCI_CAP_ID_VNDR);
	put8(cfg, 0x91, 0x00);
	put8(cfg, 0x92, 16);
	put8(cfg, 0x93, 1); /* VIRTIO_PCI_CAP_COMMON_CFG */
	put8(cfg, 0x94, 4);
	close(write_image(path, cfg, CDEV_SIZE));
	assert_int_equal(svio_dev_add("0000:06:00.0", &dev), 0);
	assert_int_equal(dev->kind, SVIO_DEV_KIND_NET);

	svio_dev_remove_all();
	svio_bus_unregister(&pci_bus);
	mock_uninstall();
}

static unsigned int count_fds(void)
{
	char path[64];
	unsigned int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* Fail each ioctl of add() in turn: no device, no open fd, no iommufd left behind. */
static void test_add_fail_nth(void **state)
{
	struct svio_device *dev = NULL;
	unsigned int n, total, fds, failures = 0;

	(void)state;
	mock_install(pci_mock_ioctl);
	assert_int_equal(svio_bus_register(&pci_bus), 0);
	fds = count_fds();
	pci_calls = 0;
	pci_fail_nth = 0;
	assert_int_equal(svio_dev_add(NVME_ADDR, &dev), 0);
	total = pci_calls;
	svio_dev_remove_all();
	assert_true(total >= 10);
	assert_int_equal(count_fds(), fds);

	for (n = 1; n <= total; n++) {
		int rc;

		mock_reset();
		pci_calls = 0;
		pci_fail_nth = n;
		rc = svio_dev_add(NVME_ADDR, &dev);
		if (rc == 0) {
			/* only soft steps (hardware info) may fail without failing add() */
			svio_dev_remove_all();
		} else {
			failures++;
			assert_null(svio_dev_find(NVME_ADDR));
		}
		assert_null(svio_iommufd_iommu());
		assert_int_equal(count_fds(), fds);
	}
	assert_true(failures >= total - 1);
	pci_fail_nth = 0;
	svio_bus_unregister(&pci_bus);
	mock_uninstall();
}

/*
 * Real kernel: SVIO_TEST_PCI_ADDR=DDDD:BB:DD.F names a function bound to
 * vfio-pci (the test/vm guest sets it). NVMe: CAP.MQES and VS are readable.
 */
static void test_real_pci(void **state)
{
	const char *addr = getenv("SVIO_TEST_PCI_ADDR");
	struct svio_device *dev = NULL;
	uint32_t vs = 0;
	uint64_t cap = 0;

	(void)state;
	if (addr == NULL || access("/dev/iommu", F_OK) != 0)
		skip();
	svio_pci_set_paths(NULL, NULL);
	assert_int_equal(svio_bus_register(&pci_bus), 0);
	assert_int_equal(svio_dev_add(addr, &dev), 0);
	assert_non_null(svio_iommufd_iommu());
	if (dev->kind == SVIO_DEV_KIND_NVME) {
		assert_int_equal(svio_reg_read64(dev, 0, 0x0, &cap), 0);
		assert_int_equal(svio_reg_read32(dev, 0, 0x8, &vs), 0);
		assert_true(cap != 0 && cap != UINT64_MAX);
		assert_true(vs >= 0x10000); /* NVMe 1.0 or later */
	}
	svio_dev_remove_all();
	assert_null(svio_iommufd_iommu());
	svio_bus_unregister(&pci_bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_addr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysfs_read_and_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_attribute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_bound_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_vfio_cdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_walk_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_master, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_reg_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_fail_nth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transitional_virtio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_pci, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
