/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Driver of the built-in scratch device: register access and a DMA engine,
 * attached to the process domain. Tests and svio-flushbench use it to make
 * devices touch memory.
 */
#ifndef SVIO_SCRATCH_H
#define SVIO_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svio_dev.h"

/**
 * Make the device DMA: fill [iova, iova + len) with @p pattern (to_mem), or
 * read it and return the byte sum in *sum. Untagged DMA (the domain's PASID
 * through RID_PASID).
 * @return 0, or the device's error: -EFAULT / -EACCES when the IOMMU refused.
 */
int svio_scratch_dma(struct svio_device *dev, uint64_t iova, size_t len, bool to_mem,
		     uint8_t pattern, uint64_t *sum);

#endif /* SVIO_SCRATCH_H */
