/* SPDX-License-Identifier: BSD-3-Clause */
/* PCI devices as sysfs shows them: ids, class, NUMA node, driver, VFIO cdev. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pci_bus.h"

#define DEFAULT_SYSFS_ROOT   "/sys/bus/pci/devices"
#define DEFAULT_VFIO_DEV_DIR "/dev/vfio/devices"

static const char *sysfs_root_override;
static const char *vfio_dir_override;

void svio_pci_set_paths(const char *sysfs_root, const char *vfio_dev_dir)
{
	sysfs_root_override = sysfs_root;
	vfio_dir_override = vfio_dev_dir;
}

const char *pci_sysfs_root(void)
{
	const char *env;

	if (sysfs_root_override != NULL)
		return sysfs_root_override;
	env = getenv("SVIO_PCI_SYSFS_ROOT");
	return env != NULL && env[0] != '\0' ? env : DEFAULT_SYSFS_ROOT;
}

const char *pci_vfio_dev_dir(void)
{
	const char *env;

	if (vfio_dir_override != NULL)
		return vfio_dir_override;
	env = getenv("SVIO_VFIO_DEV_DIR");
	return env != NULL && env[0] != '\0' ? env : DEFAULT_VFIO_DEV_DIR;
}

bool pci_addr_valid(const char *name)
{
	static const char pattern[] = "xxxx:xx:xx.x";
	unsigned int i;

	if (name == NULL || strlen(name) != PCI_ADDR_LEN)
		return false;
	for (i = 0; i < PCI_ADDR_LEN; i++) {
		if (pattern[i] == 'x') {
			if (!isxdigit((unsigned char)name[i]) || isupper((unsigned char)name[i]))
				return false;
		} else if (name[i] != pattern[i]) {
			return false;
		}
	}
	/* device 0..31, function 0..7 */
	return strtoul(name + 8, NULL, 16) < 32 && name[11] <= '7';
}

uint32_t pci_addr_sid(const char *addr)
{
	uint32_t bus = (uint32_t)strtoul(addr + 5, NULL, 16);
	uint32_t devno = (uint32_t)strtoul(addr + 8, NULL, 16);
	uint32_t fn = (uint32_t)(addr[11] - '0');

	return bus << 8 | devno << 3 | fn;
}

/* Read a one-line attribute into buf, newline stripped. 0, -ENOENT or -EIO. */
static int read_attr(const char *addr, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s/%s", pci_sysfs_root(), addr, attr);
	f = fopen(path, "r");
	if (f == NULL)
		return errno == ENOENT ? -ENOENT : -EIO;
	if (fgets(buf, (int)len, f) == NULL) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	n = strlen(buf);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return 0;
}

static int read_hex_attr(const char *addr, const char *attr, uint32_t max, uint32_t *val)
{
	char buf[32], *end;
	unsigned long v;
	int rc = read_attr(addr, attr, buf, sizeof(buf));

	if (rc < 0) {
		PCI_LOG(ERR, "%s: cannot read %s/%s/%s", addr, pci_sysfs_root(), addr, attr);
		return -EIO;
	}
	errno = 0;
	v = strtoul(buf, &end, 16);
	if (errno != 0 || end == buf || *end != '\0' || v > max) {
		PCI_LOG(ERR, "%s: sysfs attribute %s is '%s', expected a hex number up to %#x",
			addr, attr, buf, max);
		return -EIO;
	}
	*val = (uint32_t)v;
	return 0;
}

/* Basename of the symlink <dev>/<link>, "" when it does not exist. */
static int read_link_name(const char *addr, const char *link, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s/%s", pci_sysfs_root(), addr, link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT ? 0 : -EIO;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base != NULL ? base + 1 : target;
	if (strlen(base) >= len)
		return -EIO;
	memcpy(out, base, strlen(base) + 1);
	return 0;
}

/* The single "vfioN" entry of <dev>/vfio-dev/, "" when the directory is absent. */
static int read_vfio_dev(const char *addr, char *out, size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s/vfio-dev", pci_sysfs_root(), addr);
	d = opendir(path);
	if (d == NULL)
		return errno == ENOENT ? 0 : -EIO;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (strncmp(de->d_name, "vfio", 4) == 0 && isdigit((unsigned char)de->d_name[4]) &&
		    n < len) {
			memcpy(out, de->d_name, n + 1);
			break;
		}
	}
	closedir(d);
	return 0;
}

int pci_sysfs_read(const char *addr, struct pci_sysfs_info *info)
{
	char path[PATH_MAX], buf[32];
	uint32_t v;
	int rc;

	memset(info, 0, sizeof(*info));
	snprintf(info->addr, sizeof(info->addr), "%s", addr);
	snprintf(path, sizeof(path), "%s/%s", pci_sysfs_root(), addr);
	if (access(path, F_OK) != 0) {
		PCI_LOG(ERR, "%s: no such PCI device (nothing at %s; see lspci -D)", addr, path);
		return -ENODEV;
	}
	rc = read_hex_attr(addr, "vendor", 0xffff, &v);
	if (rc < 0)
		return rc;
	info->vendor = (uint16_t)v;
	rc = read_hex_attr(addr, "device", 0xffff, &v);
	if (rc < 0)
		return rc;
	info->device = (uint16_t)v;
	rc = read_hex_attr(addr, "class", 0xffffff, &info->class_code);
	if (rc < 0)
		return rc;

	/* numa_node is absent on non-NUMA kernels and -1 when the firmware is silent. */
	info->numa_node = -1;
	if (read_attr(addr, "numa_node", buf, sizeof(buf)) == 0) {
		char *end;
		long n = strtol(buf, &end, 10);

		if (end != buf && *end == '\0' && n >= -1 && n < 1024)
			info->numa_node = (int)n;
	}
	if (read_link_name(addr, "driver", info->driver, sizeof(info->driver)) < 0 ||
	    read_vfio_dev(addr, info->vfio_dev, sizeof(info->vfio_dev)) < 0) {
		PCI_LOG(ERR, "%s: cannot read its driver link or vfio-dev directory", addr);
		return -EIO;
	}
	return 0;
}

int pci_sysfs_check_vfio(const struct pci_sysfs_info *info)
{
	const char *a = info->addr;

	if (strcmp(info->driver, "vfio-pci") != 0) {
		char state[96], unbind[160] = "";

		if (info->driver[0] != '\0') {
			snprintf(state, sizeof(state), "bound to %s, not to vfio-pci",
				 info->driver);
			snprintf(unbind, sizeof(unbind),
				 "  echo %s > /sys/bus/pci/devices/%s/driver/unbind\n", a, a);
		} else {
			snprintf(state, sizeof(state), "not bound to vfio-pci (no driver)");
		}
		PCI_LOG(ERR,
			"%s (%04x:%04x) is %s. As root, bind it with:\n"
			"  modprobe vfio-pci\n"
			"  echo vfio-pci > /sys/bus/pci/devices/%s/driver_override\n"
			"%s"
			"  echo %s > /sys/bus/pci/drivers_probe",
			a, info->vendor, info->device, state, a, unbind, a);
		return -ENXIO;
	}
	if (info->vfio_dev[0] == '\0') {
		PCI_LOG(ERR,
			"%s is bound to vfio-pci but has no VFIO device cdev (%s/%s/vfio-dev "
			"missing): the kernel needs CONFIG_VFIO_DEVICE_CDEV (Linux 6.6+)",
			a, pci_sysfs_root(), a);
		return -ENOTSUP;
	}
	return 0;
}

enum svio_dev_kind pci_kind_of(const struct pci_sysfs_info *info)
{
	if (info->class_code == PCI_CLASS_NVME)
		return SVIO_DEV_KIND_NVME;
	if (info->vendor == PCI_VENDOR_VIRTIO && info->device == PCI_DEVICE_VIRTIO_NET)
		return SVIO_DEV_KIND_NET;
	return SVIO_DEV_KIND_ANY;
}

static int addr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pci_sysfs_info *)a)->addr,
		      ((const struct pci_sysfs_info *)b)->addr);
}

int svio_pci_scan(struct pci_sysfs_info *out, unsigned int max)
{
	struct pci_sysfs_info info;
	struct dirent *de;
	unsigned int n = 0;
	DIR *d;

	if (out == NULL && max > 0) {
		PCI_LOG(ERR, "scan: no array for the %u devices asked (NULL with max > 0)", max);
		return -EINVAL;
	}
	d = opendir(pci_sysfs_root());
	if (d == NULL) {
		PCI_LOG(ERR, "cannot list %s: %s", pci_sysfs_root(), strerror(errno));
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (!pci_addr_valid(de->d_name))
			continue;
		if (pci_sysfs_read(de->d_name, &info) < 0 || strcmp(info.driver, "vfio-pci") != 0)
			continue;
		if (n < max)
			out[n] = info;
		n++;
	}
	closedir(d);
	if (out != NULL)
		qsort(out, n < max ? n : max, sizeof(*out), addr_cmp);
	return (int)n;
}
