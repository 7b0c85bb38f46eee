/* SPDX-License-Identifier: BSD-3-Clause */
/* The virtio modern PCI transport over svio_device register access. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_pause.h>

#include "virtio_pci.h"
#include "virtio_spec.h"
#include "virtio_net_priv.h"

#define VIRTIO_RESET_TIMEOUT_MS 1000

static int rd(struct virtio_hw *hw, unsigned int bar, uint64_t off, unsigned int w, uint64_t *v)
{
	return hw->dev->reg_ops->read(hw->dev, bar, off, w, v);
}

static int wr(struct virtio_hw *hw, unsigned int bar, uint64_t off, unsigned int w, uint64_t v)
{
	return hw->dev->reg_ops->write(hw->dev, bar, off, w, v);
}

static uint64_t common_rd(struct virtio_hw *hw, uint64_t off, unsigned int w)
{
	uint64_t v = 0;

	if (rd(hw, hw->common_bar, hw->common_off + off, w, &v) < 0)
		return ~0ull; /* reads as all ones, like a vanished device */
	return v;
}

static void common_wr(struct virtio_hw *hw, uint64_t off, unsigned int w, uint64_t v)
{
	(void)wr(hw, hw->common_bar, hw->common_off + off, w, v);
}

static uint8_t modern_get_status(struct virtio_hw *hw)
{
	return (uint8_t)common_rd(hw, VIRTIO_COMMON_STATUS, 1);
}

static void modern_set_status(struct virtio_hw *hw, uint8_t status)
{
	common_wr(hw, VIRTIO_COMMON_STATUS, 1, status);
}

static int modern_reset(struct virtio_hw *hw)
{
	uint64_t deadline =
		rte_get_timer_cycles() + rte_get_timer_hz() * VIRTIO_RESET_TIMEOUT_MS / 1000;

	modern_set_status(hw, 0);
	/* The device may take time to finish in-flight work; it reads 0 when done. */
	while (modern_get_status(hw) != 0) {
		if (rte_get_timer_cycles() > deadline)
			return -ETIMEDOUT;
		rte_pause();
	}
	return 0;
}

static uint64_t modern_get_features(struct virtio_hw *hw)
{
	uint64_t lo, hi;

	common_wr(hw, VIRTIO_COMMON_DFSELECT, 4, 0);
	lo = common_rd(hw, VIRTIO_COMMON_DF, 4) & 0xffffffffu;
	common_wr(hw, VIRTIO_COMMON_DFSELECT, 4, 1);
	hi = common_rd(hw, VIRTIO_COMMON_DF, 4) & 0xffffffffu;
	return hi << 32 | lo;
}

static void modern_set_features(struct virtio_hw *hw, uint64_t f)
{
	common_wr(hw, VIRTIO_COMMON_GFSELECT, 4, 0);
	common_wr(hw, VIRTIO_COMMON_GF, 4, f & 0xffffffffu);
	common_wr(hw, VIRTIO_COMMON_GFSELECT, 4, 1);
	common_wr(hw, VIRTIO_COMMON_GF, 4, f >> 32);
}

static int modern_read_dev_cfg(struct virtio_hw *hw, unsigned int off, void *buf, unsigned int len)
{
	uint8_t *p = buf;
	unsigned int tries;

	/* Retry while the generation moves: a multi-byte field changed under us. */
	for (tries = 0; tries < 16; tries++) {
		uint64_t gen = common_rd(hw, VIRTIO_COMMON_CFGGENERATION, 1), v;
		unsigned int i;
		int rc = 0;

		for (i = 0; i < len && rc == 0; i++) {
			rc = rd(hw, hw->device_bar, hw->device_off + off + i, 1, &v);
			p[i] = (uint8_t)v;
		}
		if (rc < 0)
			return rc;
		if (gen == common_rd(hw, VIRTIO_COMMON_CFGGENERATION, 1))
			return 0;
	}
	return -EAGAIN;
}

static uint16_t modern_num_queues(struct virtio_hw *hw)
{
	return (uint16_t)common_rd(hw, VIRTIO_COMMON_NUMQ, 2);
}

static uint16_t modern_queue_max(struct virtio_hw *hw, uint16_t q)
{
	common_wr(hw, VIRTIO_COMMON_Q_SELECT, 2, q);
	return (uint16_t)common_rd(hw, VIRTIO_COMMON_Q_SIZE, 2);
}

static int modern_queue_setup(struct virtio_hw *hw, uint16_t q, const struct virtio_queue_addr *a,
			      uint64_t *notify_off)
{
	uint64_t noff;

	common_wr(hw, VIRTIO_COMMON_Q_SELECT, 2, q);
	common_wr(hw, VIRTIO_COMMON_Q_SIZE, 2, a->size);
	common_wr(hw, VIRTIO_COMMON_Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
	/* 64-bit fields as two 32-bit halves, as the spec lets drivers do. */
	common_wr(hw, VIRTIO_COMMON_Q_DESC, 4, a->desc & 0xffffffffu);
	common_wr(hw, VIRTIO_COMMON_Q_DESC + 4, 4, a->desc >> 32);
	common_wr(hw, VIRTIO_COMMON_Q_AVAIL, 4, a->avail & 0xffffffffu);
	common_wr(hw, VIRTIO_COMMON_Q_AVAIL + 4, 4, a->avail >> 32);
	common_wr(hw, VIRTIO_COMMON_Q_USED, 4, a->used & 0xffffffffu);
	common_wr(hw, VIRTIO_COMMON_Q_USED + 4, 4, a->used >> 32);
	noff = common_rd(hw, VIRTIO_COMMON_Q_NOFF, 2) * hw->notify_mult;
	if (noff > hw->notify_len - 2) {
		VIRTIO_LOG(ERR,
			   "%s: queue %u: doorbell at %#" PRIx64
			   " past the notify window (%u bytes)",
			   hw->dev->name, q, noff, hw->notify_len);
		return -EIO;
	}
	common_wr(hw, VIRTIO_COMMON_Q_ENABLE, 2, 1);
	if (common_rd(hw, VIRTIO_COMMON_Q_ENABLE, 2) != 1) {
		VIRTIO_LOG(ERR, "%s: queue %u: the device refused size %u", hw->dev->name, q,
			   a->size);
		return -EIO;
	}
	*notify_off = hw->notify_off + noff;
	return 0;
}

static const struct virtio_ops modern_ops = {
	.reset = modern_reset,
	.get_status = modern_get_status,
	.set_status = modern_set_status,
	.get_features = modern_get_features,
	.set_features = modern_set_features,
	.read_dev_cfg = modern_read_dev_cfg,
	.num_queues = modern_num_queues,
	.queue_max = modern_queue_max,
	.queue_setup = modern_queue_setup,
};

/* Config space accessors: a vanished device or a short config space reads as all ones. */
static uint32_t cfg_rd(struct virtio_hw *hw, uint32_t off, unsigned int w)
{
	uint32_t v;

	if (svio_cfg_read(hw->dev, off, w, &v) < 0)
		return UINT32_MAX;
	return v;
}

/* Each standard capability takes at least 4 bytes from 0x40: a longer chain loops. */
#define CAP_WALK_MAX ((0x100 - 0x40) / 4)

/* Record one virtio vendor capability; the first of each type wins, as the spec asks. */
static void take_cap(struct virtio_hw *hw, uint32_t ptr, unsigned int *found)
{
	uint32_t len = cfg_rd(hw, ptr + VIRTIO_PCI_CAP_LEN, 1);
	uint32_t type = cfg_rd(hw, ptr + VIRTIO_PCI_CAP_CFG_TYPE, 1);
	uint32_t bar = cfg_rd(hw, ptr + VIRTIO_PCI_CAP_BAR, 1);
	uint32_t off = cfg_rd(hw, ptr + VIRTIO_PCI_CAP_OFFSET, 4);
	uint32_t length = cfg_rd(hw, ptr + VIRTIO_PCI_CAP_LENGTH, 4);

	/* Types we do not use (PCI_CFG access window, shared memory...) and reserved BARs. */
	if (type < VIRTIO_PCI_CAP_COMMON_CFG || type > VIRTIO_PCI_CAP_DEVICE_CFG ||
	    bar >= SVIO_DEV_MAX_BARS || len < VIRTIO_PCI_CAP_SIZE || (*found & (1u << type)))
		return;
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG:
		if (length < VIRTIO_COMMON_SIZE)
			return;
		hw->common_bar = bar;
		hw->common_off = off;
		break;
	case VIRTIO_PCI_CAP_ISR_CFG:
		hw->isr_bar = bar;
		hw->isr_off = off;
		break;
	case VIRTIO_PCI_CAP_DEVICE_CFG:
		hw->device_bar = bar;
		hw->device_off = off;
		break;
	case VIRTIO_PCI_CAP_NOTIFY_CFG:
		if (len < VIRTIO_PCI_NOTIFY_CAP_SIZE)
			return;
		hw->notify_bar = bar;
		hw->notify_off = off;
		hw->notify_len = length;
		hw->notify_mult = cfg_rd(hw, ptr + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
		break;
	}
	*found |= 1u << type;
}

int virtio_pci_init(struct virtio_hw *hw, struct svio_device *dev)
{
	const unsigned int all = (1u << VIRTIO_PCI_CAP_COMMON_CFG) |
				 (1u << VIRTIO_PCI_CAP_NOTIFY_CFG) |
				 (1u << VIRTIO_PCI_CAP_ISR_CFG) | (1u << VIRTIO_PCI_CAP_DEVICE_CFG);
	uint32_t vendor, device, ptr, n = 0;
	unsigned int found = 0;
	bool transitional;

	memset(hw, 0, sizeof(*hw));
	hw->dev = dev;
	vendor = cfg_rd(hw, PCI_CFG_VENDOR_ID, 2);
	device = cfg_rd(hw, PCI_CFG_DEVICE_ID, 2);
	transitional = device == VIRTIO_PCI_DEVICE_ID_NET_TRANS;
	if (vendor != VIRTIO_PCI_VENDOR_ID ||
	    (device != VIRTIO_PCI_DEVICE_ID_NET && !transitional)) {
		VIRTIO_LOG(ERR,
			   "%s: config space reads %04x:%04x, not a virtio-net device (1af4:1041, "
			   "or transitional 1af4:1000)",
			   dev->name, vendor & 0xffff, device & 0xffff);
		return -ENODEV;
	}
	if (cfg_rd(hw, PCI_CFG_STATUS, 2) & PCI_CFG_STATUS_CAPS)
		ptr = cfg_rd(hw, PCI_CFG_CAP_PTR, 1);
	else
		ptr = 0;
	while (ptr != 0) {
		ptr &= 0xfc;
		if (ptr < 0x40 || ptr > 0xfc || n++ >= CAP_WALK_MAX) {
			VIRTIO_LOG(ERR, "%s: malformed capability list (pointer %#x after %u)",
				   dev->name, ptr, n);
			return -ENODEV;
		}
		if (cfg_rd(hw, ptr + VIRTIO_PCI_CAP_VNDR, 1) == VIRTIO_PCI_CAP_ID_VNDR)
			take_cap(hw, ptr, &found);
		ptr = cfg_rd(hw, ptr + VIRTIO_PCI_CAP_NEXT, 1);
		if (ptr == UINT32_MAX) {
			VIRTIO_LOG(ERR, "%s: configuration space unreadable", dev->name);
			return -EIO;
		}
	}
	if (found != all) {
		if (transitional && found == 0)
			VIRTIO_LOG(ERR,
				   "%s: transitional virtio-net (1af4:1000) without the modern "
				   "(virtio 1.0) interface; svio has no legacy driver: give QEMU "
				   "disable-modern=off, or use a virtio 1.0 device",
				   dev->name);
		else
			VIRTIO_LOG(
				ERR,
				"%s: virtio capabilities missing: have %#x, need common, notify, "
				"ISR and device (%#x)",
				dev->name, found, all);
		return -ENODEV;
	}
	/* A doorbell offset must fit the notify window, whatever the multiplier. */
	if (hw->notify_len < 2) {
		VIRTIO_LOG(ERR, "%s: notify capability of %u bytes", dev->name, hw->notify_len);
		return -ENODEV;
	}
	hw->ops = &modern_ops;
	return 0;
}
