/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>

#include "sim_dma.h"

/* Until the IOMMU model is linked in, no device can reach memory. */
int sim_dma_rw(struct svio_device *dev, uint32_t pasid, uint64_t addr, void *buf, size_t len,
	       bool to_mem)
{
	(void)dev, (void)pasid, (void)addr, (void)buf, (void)len, (void)to_mem;
	return -ENODEV;
}
