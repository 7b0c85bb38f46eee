/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sim bus: exposes the built-in hardware models as svio devices.
 *
 * `--vdev sim_<model><N>[,key=val...]` creates a device; the model is chosen
 * by the name's prefix (sim_iommu, sim_scratch, sim_nvme, sim_vnet). A model
 * gets its register file behind the device's reg_ops and does DMA through
 * the IOMMU model instance the device sits behind (devargs iommu=N, default
 * 0). IOMMU instances a device names but the command line does not are
 * created with default settings.
 *
 * This header is for models and the bus only. Drivers never include it.
 */
#ifndef SIM_BUS_H
#define SIM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "svio_dev.h"

/** A hardware model the sim bus can instantiate. */
struct sim_model {
	const char *prefix;           /**< "sim_iommu": device names are prefix + number */
	enum svio_dev_kind kind;
	const char *const *devargs;   /**< NULL-terminated keys the model accepts */
	bool dma;                     /**< the device masters DMA through an IOMMU */
	/** Build the model state for @p dev (devargs parsed, dma identity set). */
	int (*create)(struct svio_device *dev);
	/** Free the model state; the driver was already removed. */
	void (*destroy)(struct svio_device *dev);
	const struct svio_dev_reg_ops *reg_ops;
};

/** Models compiled in; the bus walks this NULL-terminated list. */
extern const struct sim_model *const sim_models[];

/** Devargs every DMA-capable model accepts (numa=N, iommu=N, ats=, pasid=, pri=on|off). */
extern const char *const sim_dma_devargs[];

/** Model state of a sim device (what create() stored in dev->bus_priv). */
static inline void *sim_dev_priv(const struct svio_device *dev)
{
	return dev->bus_priv;
}

/** The number in a device name ("sim_nvme3" -> 3), or -EINVAL. */
int sim_dev_index(const struct svio_device *dev);

/** The sim bus, registered by svio_eal_init(). */
extern struct svio_bus sim_bus;

#endif /* SIM_BUS_H */
