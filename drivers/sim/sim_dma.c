/* SPDX-License-Identifier: BSD-3-Clause */
/* Device models reach memory only through the IOMMU model they sit behind. */
#include "sim_dma.h"
#include "iommu/sim_iommu.h"

int sim_dma_rw(struct svio_device *dev, uint32_t pasid, uint64_t addr, void *buf, size_t len,
	       bool to_mem)
{
	return sim_iommu_dma(dev, pasid, addr, buf, len, to_mem);
}
