/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IOMMU backend for the built-in VT-d-like IOMMU model: claims
 * "sim_iommuN" devices, programs them through BAR 0 registers and in-memory
 * tables and queues only (sim_iommu_hw.h), and registers each as an
 * svio_iommu with the core.
 */
#ifndef IOMMU_SIM_H
#define IOMMU_SIM_H

#include "svio_dev.h"

/** The driver; svio_eal_init() registers it through the builtin list. */
extern struct svio_driver sim_iommu_driver;

#endif /* IOMMU_SIM_H */
