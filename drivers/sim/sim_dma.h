/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The simulated PCIe fabric as device models see it: every DMA a model makes
 * goes through the IOMMU model instance its device sits behind.
 * For models only; drivers never include this.
 */
#ifndef SIM_DMA_H
#define SIM_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct svio_device;

#define SIM_PASID_NONE 0xffffffffu /* untagged request: the IOMMU uses RID_PASID */

/**
 * Device @p dev reads (to_mem false) or writes (to_mem true) @p len bytes at
 * bus address @p addr, tagged with @p pasid or SIM_PASID_NONE.
 * @return 0, -EFAULT (translation failed), -EACCES (permission), -ENODEV (no IOMMU).
 */
int sim_dma_rw(struct svio_device *dev, uint32_t pasid, uint64_t addr, void *buf, size_t len,
	       bool to_mem);

#endif /* SIM_DMA_H */
