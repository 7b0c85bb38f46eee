/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config space: reads and writes through the VFIO config region, capability
 * lists, and the SVIO_DEV_REGION_CONFIG side of the register accessors.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "pci_bus.h"

#define PCI_COMMAND	    0x04
#define PCI_COMMAND_MEMORY  0x0002
#define PCI_COMMAND_MASTER  0x0004
#define PCI_STATUS	    0x06
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_CAPABILITY_LIST 0x34
#define PCI_EXT_CAP_START   0x100
#define PCI_MSIX_FLAGS	    2
#define PCI_MSIX_TABLE	    4
#define PCI_MSIX_QSIZE_MASK 0x07ff
#define PCI_MSIX_BIR_MASK   0x7
/* Each capability takes at least 4 bytes: a longer chain is a loop. */
#define PCI_STD_CAP_MAX ((256 - 0x40) / 4)
#define PCI_EXT_CAP_MAX ((PCI_CFG_SIZE - PCI_EXT_CAP_START) / 4)

int pci_cfg_read(const struct pci_cfg *cfg, uint32_t off, void *buf, unsigned int len)
{
	ssize_t n;

	if ((uint64_t)off + len > cfg->size)
		return -ERANGE;
	n = pread(cfg->fd, buf, len, cfg->base + (off_t)off);
	if (n < 0)
		return -errno;
	return (unsigned int)n == len ? 0 : -EIO;
}

int pci_cfg_write(const struct pci_cfg *cfg, uint32_t off, const void *buf, unsigned int len)
{
	ssize_t n;

	if ((uint64_t)off + len > cfg->size)
		return -ERANGE;
	n = pwrite(cfg->fd, buf, len, cfg->base + (off_t)off);
	if (n < 0)
		return -errno;
	return (unsigned int)n == len ? 0 : -EIO;
}

/* Little-endian config words: the build targets little-endian hosts only. */
static int cfg_u8(const struct pci_cfg *cfg, uint32_t off, uint8_t *v)
{
	return pci_cfg_read(cfg, off, v, 1);
}

static int cfg_u16(const struct pci_cfg *cfg, uint32_t off, uint16_t *v)
{
	return pci_cfg_read(cfg, off, v, 2);
}

static int cfg_u32(const struct pci_cfg *cfg, uint32_t off, uint32_t *v)
{
	return pci_cfg_read(cfg, off, v, 4);
}

/*
 * Call @p visit for every capability of the standard list, in order, until it
 * returns non-zero. @return what visit returned last, 0 at the end of the
 * list, -EIO for a malformed list, or a read error.
 */
static int std_cap_each(const struct pci_cfg *cfg,
			int (*visit)(const struct pci_cfg *cfg, uint8_t pos, uint8_t id, void *arg),
			void *arg)
{
	uint16_t status;
	uint8_t pos, id;
	unsigned int i;
	int rc;

	rc = cfg_u16(cfg, PCI_STATUS, &status);
	if (rc < 0 || !(status & PCI_STATUS_CAP_LIST))
		return rc;
	rc = cfg_u8(cfg, PCI_CAPABILITY_LIST, &pos);
	for (i = 0; rc == 0 && pos != 0; i++) {
		pos &= 0xfc;
		if (pos < 0x40 || i >= PCI_STD_CAP_MAX)
			return -EIO;
		rc = cfg_u8(cfg, pos, &id);
		if (rc == 0)
			rc = visit(cfg, pos, id, arg);
		if (rc == 0)
			rc = cfg_u8(cfg, pos + 1, &pos);
	}
	return rc;
}

static int note_std(const struct pci_cfg *cfg, uint8_t pos, uint8_t id, void *arg)
{
	struct pci_caps *caps = arg;

	(void)cfg;
	switch (id) {
	case PCI_CAP_ID_PM:
		caps->pm = pos;
		break;
	case PCI_CAP_ID_MSI:
		caps->msi = pos;
		break;
	case PCI_CAP_ID_PCIE:
		caps->pcie = pos;
		break;
	case PCI_CAP_ID_MSIX:
		caps->msix = pos;
		break;
	default:
		break;
	}
	return 0;
}

static int walk_std(const struct pci_cfg *cfg, struct pci_caps *caps)
{
	return std_cap_each(cfg, note_std, caps);
}

static int walk_ext(const struct pci_cfg *cfg, struct pci_caps *caps)
{
	uint32_t pos = PCI_EXT_CAP_START, hdr;
	unsigned int i;
	int rc;

	for (i = 0; pos != 0; i++) {
		if (pos < PCI_EXT_CAP_START || i >= PCI_EXT_CAP_MAX)
			return -EIO;
		rc = cfg_u32(cfg, pos, &hdr);
		if (rc < 0)
			return rc;
		/* An empty list reads as 0 (or all ones when config space is short). */
		if (hdr == 0 || hdr == UINT32_MAX)
			return 0;
		switch (hdr & 0xffff) {
		case PCI_EXT_CAP_ID_ATS:
			caps->ats = (uint16_t)pos;
			break;
		case PCI_EXT_CAP_ID_PRI:
			caps->pri = (uint16_t)pos;
			break;
		case PCI_EXT_CAP_ID_PASID:
			caps->pasid = (uint16_t)pos;
			break;
		default:
			break;
		}
		/* The two low bits of the next pointer are reserved: ignored, as Linux does. */
		pos = (hdr >> 20) & 0xffc;
	}
	return 0;
}

static int read_msix(const struct pci_cfg *cfg, struct pci_caps *caps)
{
	uint16_t flags;
	uint32_t table;
	int rc;

	rc = cfg_u16(cfg, caps->msix + PCI_MSIX_FLAGS, &flags);
	if (rc == 0)
		rc = cfg_u32(cfg, caps->msix + PCI_MSIX_TABLE, &table);
	if (rc < 0)
		return rc;
	caps->msix_vectors = (uint16_t)((flags & PCI_MSIX_QSIZE_MASK) + 1);
	caps->msix_table_bar = (uint8_t)(table & PCI_MSIX_BIR_MASK);
	caps->msix_table_off = table & ~(uint32_t)PCI_MSIX_BIR_MASK;
	return 0;
}

int pci_cap_walk(const struct pci_cfg *cfg, struct pci_caps *caps)
{
	int rc;

	memset(caps, 0, sizeof(*caps));
	rc = walk_std(cfg, caps);
	if (rc < 0)
		return rc == -EIO ? rc : -EIO;
	/* Only PCIe functions have extended config space. */
	if (caps->pcie != 0 && cfg->size > PCI_EXT_CAP_START) {
		rc = walk_ext(cfg, caps);
		if (rc < 0)
			return -EIO;
	}
	if (caps->msix != 0)
		return read_msix(cfg, caps) < 0 ? -EIO : 0;
	return 0;
}

struct vndr_match {
	unsigned int at;
	uint8_t val;
};

/* 1 + position (positive: stops the walk) when the byte at @p at matches. */
static int match_vndr(const struct pci_cfg *cfg, uint8_t pos, uint8_t id, void *arg)
{
	const struct vndr_match *m = arg;
	uint8_t v;
	int rc;

	if (id != PCI_CAP_ID_VNDR || pos + m->at >= 0x100)
		return 0;
	rc = cfg_u8(cfg, pos + m->at, &v);
	if (rc < 0)
		return rc;
	return v == m->val ? 1 + pos : 0;
}

int pci_vndr_cap_find(const struct pci_cfg *cfg, unsigned int at, uint8_t val)
{
	struct vndr_match m = { .at = at, .val = val };
	int rc = std_cap_each(cfg, match_vndr, &m);

	return rc > 0 ? rc - 1 : rc;
}

int pci_enable_bus_master(const struct pci_cfg *cfg)
{
	uint16_t cmd;
	int rc;

	rc = cfg_u16(cfg, PCI_COMMAND, &cmd);
	if (rc < 0)
		return rc;
	if ((cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) ==
	    (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
		return 0;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	return pci_cfg_write(cfg, PCI_COMMAND, &cmd, sizeof(cmd));
}

/* One naturally aligned access of 1, 2 or 4 bytes: what a config cycle can carry. */
static int cfg_access_ok(const struct pci_cfg *cfg, uint64_t off, unsigned int width)
{
	if (width != 1 && width != 2 && width != 4)
		return -EINVAL;
	if ((off & (width - 1)) || off >= cfg->size || width > cfg->size - off)
		return -ERANGE;
	return 0;
}

int pci_cfg_reg_read(const struct pci_cfg *cfg, uint64_t off, unsigned int width, uint64_t *val)
{
	uint32_t v = 0;
	int rc = cfg_access_ok(cfg, off, width);

	if (rc == 0)
		rc = pci_cfg_read(cfg, (uint32_t)off, &v, width);
	*val = v;
	return rc;
}

int pci_cfg_reg_write(const struct pci_cfg *cfg, uint64_t off, unsigned int width, uint64_t val)
{
	uint32_t v = (uint32_t)val;
	int rc = cfg_access_ok(cfg, off, width);

	return rc < 0 ? rc : pci_cfg_write(cfg, (uint32_t)off, &v, width);
}
