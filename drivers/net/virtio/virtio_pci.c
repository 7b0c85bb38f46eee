/* SPDX-License-Identifier: BSD-3-Clause */
/* The virtio modern PCI transport over svio_device register access. */
#include <errno.h>
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
	noff = common_rd(hw, VIRTIO_COMMON_Q_NOFF, 2);
	common_wr(hw, VIRTIO_COMMON_Q_ENABLE, 2, 1);
	if (common_rd(hw, VIRTIO_COMMON_Q_ENABLE, 2) != 1) {
		VIRTIO_LOG(ERR, "%s: queue %u: the device refused size %u", hw->dev->name, q,
			   a->size);
		return -EIO;
	}
	*notify_off = hw->notify_off + noff * hw->notify_mult;
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

/*
 * Configuration space: svio_device has no accessor for it yet, so the device
 * mirrors its PCI header at the start of BAR 0 (virtio_spec.h).
 */
#define CFG_BAR VNET_SIM_BAR

int virtio_pci_init(struct virtio_hw *hw, struct svio_device *dev)
{
	uint64_t v, ptr, type, bar, off, mult;
	unsigned int found = 0, n = 0;

	memset(hw, 0, sizeof(*hw));
	hw->dev = dev;
	if (rd(hw, CFG_BAR, PCI_CFG_VENDOR_ID, 2, &v) < 0 || v != VIRTIO_PCI_VENDOR_ID ||
	    rd(hw, CFG_BAR, PCI_CFG_DEVICE_ID, 2, &v) < 0 || v != VIRTIO_PCI_DEVICE_ID_NET) {
		VIRTIO_LOG(ERR, "%s: not a modern virtio-net device", dev->name);
		return -ENODEV;
	}
	if (rd(hw, CFG_BAR, PCI_CFG_STATUS, 2, &v) < 0 || !(v & PCI_CFG_STATUS_CAPS) ||
	    rd(hw, CFG_BAR, PCI_CFG_CAP_PTR, 1, &ptr) < 0)
		return -ENODEV;
	/* Walk the list; the first capability of each type wins, as the spec asks. */
	while (ptr != 0 && n++ < 48) {
		if (ptr < 0x40 || ptr > 0xf0 || rd(hw, CFG_BAR, ptr, 1, &v) < 0)
			return -ENODEV;
		if (v == VIRTIO_PCI_CAP_ID_VNDR &&
		    rd(hw, CFG_BAR, ptr + VIRTIO_PCI_CAP_CFG_TYPE, 1, &type) == 0 &&
		    rd(hw, CFG_BAR, ptr + VIRTIO_PCI_CAP_BAR, 1, &bar) == 0 &&
		    rd(hw, CFG_BAR, ptr + VIRTIO_PCI_CAP_OFFSET, 4, &off) == 0 && bar < 6 &&
		    type >= 1 && type <= 4 && !(found & (1u << type))) {
			found |= 1u << type;
			switch (type) {
			case VIRTIO_PCI_CAP_COMMON_CFG:
				hw->common_bar = (unsigned int)bar;
				hw->common_off = off;
				break;
			case VIRTIO_PCI_CAP_ISR_CFG:
				hw->isr_bar = (unsigned int)bar;
				hw->isr_off = off;
				break;
			case VIRTIO_PCI_CAP_DEVICE_CFG:
				hw->device_bar = (unsigned int)bar;
				hw->device_off = off;
				break;
			case VIRTIO_PCI_CAP_NOTIFY_CFG:
				if (rd(hw, CFG_BAR, ptr + VIRTIO_PCI_NOTIFY_CAP_MULT, 4, &mult) < 0)
					return -ENODEV;
				hw->notify_bar = (unsigned int)bar;
				hw->notify_off = off;
				hw->notify_mult = (uint32_t)mult;
				break;
			}
		}
		if (rd(hw, CFG_BAR, ptr + VIRTIO_PCI_CAP_NEXT, 1, &ptr) < 0)
			return -ENODEV;
	}
	if (found != 0x1e) {
		VIRTIO_LOG(ERR, "%s: virtio capabilities missing (found mask %#x)", dev->name,
			   found);
		return -ENODEV;
	}
	hw->ops = &modern_ops;
	return 0;
}
