/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio transport seam: what the network driver needs from a virtio
 * device, behind one ops struct. Modern PCI (virtio_pci.c) is the one
 * implementation today; vhost-user would be another. The driver chooses the
 * transport at probe and keeps the pointer; doorbells are resolved once per
 * queue so the data path makes one register write.
 */
#ifndef VIRTIO_PCI_H
#define VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "svio_dev.h"

struct virtio_hw;

struct virtio_queue_addr {
	uint16_t size;
	uint64_t desc, avail, used; /* device addresses (IOVAs) */
};

struct virtio_ops {
	/** Reset the device and wait until it reads back 0. */
	int (*reset)(struct virtio_hw *hw);
	uint8_t (*get_status)(struct virtio_hw *hw);
	void (*set_status)(struct virtio_hw *hw, uint8_t status);
	uint64_t (*get_features)(struct virtio_hw *hw);
	void (*set_features)(struct virtio_hw *hw, uint64_t features);
	/** Read the device configuration, consistent across a generation change. */
	int (*read_dev_cfg)(struct virtio_hw *hw, unsigned int off, void *buf, unsigned int len);
	uint16_t (*num_queues)(struct virtio_hw *hw);
	/** Largest size of queue @p q (0: no such queue). */
	uint16_t (*queue_max)(struct virtio_hw *hw, uint16_t q);
	/** Program and enable queue @p q; *notify_off gets its doorbell offset. */
	int (*queue_setup)(struct virtio_hw *hw, uint16_t q, const struct virtio_queue_addr *a,
			   uint64_t *notify_off);
};

/* A virtio device as the driver sees it. */
struct virtio_hw {
	struct svio_device *dev;
	const struct virtio_ops *ops;
	unsigned int common_bar, isr_bar, device_bar, notify_bar;
	uint64_t common_off, isr_off, device_off, notify_off;
	uint32_t notify_mult, notify_len;
};

/**
 * Walk the PCI configuration space of @p dev (SVIO_DEV_REGION_CONFIG) for the
 * virtio vendor capabilities and fill @p hw for the modern PCI transport.
 * The structures may sit in any BARs; other capabilities (MSI-X, PCIe...) are
 * skipped: the driver polls and never enables MSI-X.
 * @return 0, -ENODEV (not virtio-net, a transitional device without modern
 *         capabilities, or a malformed list), -EIO (config space unreadable).
 */
int virtio_pci_init(struct virtio_hw *hw, struct svio_device *dev);

/** Ring the doorbell of a queue (hot path: one register write). */
static inline void virtio_notify(struct virtio_hw *hw, uint64_t notify_off, uint16_t q)
{
	hw->dev->reg_ops->write(hw->dev, hw->notify_bar, notify_off, 2, q);
}

#endif /* VIRTIO_PCI_H */
