/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The built-in IOMMU model as other models see it: the PCIe fabric call that
 * device models (NVMe, virtio-net, scratch) use for DMA, and the model
 * descriptor the sim bus lists. Drivers never include this; they program the
 * IOMMU through the registers and memory formats of sim_iommu_hw.h.
 *
 * Devargs of "sim_iommuN" (N < 16):
 *   mode=inline|thread     who runs the invalidation queue (default inline:
 *                          the thread that writes IQT)
 *   iotlb=512,iotlb_ways=8 IOTLB entries and associativity (sets: power of 2)
 *   atc=64,atc_ways=4      device-TLB size of every ATS device
 *   cost_iotlb=100,cost_devtlb=1000,cost_wait=500,cost_submit=200,
 *   cost_other=100         ns really spent per descriptor kind / IQT write
 *   domains=4              CAP.ND: 1 << (4 + 2 * N) domain ids
 *   pasid_bits=20, mamv=9  PASID width; largest page-selective mask
 *   ats=on, pri=on         ECAP device-TLB and page request support
 *   prq_timeout=1000       ms a faulting access waits for its page response
 *   user=on                require U/S at every level (user-mode requests)
 *   stale_check=on         run the stale-use checker (costs a cache scan per wait)
 *
 * Threading: sim_iommu_dma() and sim_iommu_translate() may be called from any
 * thread at once. A DMA that needs a page request blocks its caller until the
 * response arrives (at most prq_timeout_ms). Instances must outlive the DMAs
 * made through them (destroy is control path).
 *
 * The stale-use checker (the test oracle) -- the rule:
 *   Every cached translation (IOTLB entry, device-TLB entry) remembers the
 *   first-stage root and the leaf PTE (and effective permissions) it came
 *   from. When a driver submits a wait descriptor (the IQT write that makes
 *   it visible), the model re-walks every cached translation and pre-marks
 *   the ones that no longer match the page table (for device-TLB entries
 *   also: the device's PASID entry no longer points at that table, i.e. a
 *   detach) with that wait's sequence
 *   number: their PTE changed before the wait was submitted, so a correct
 *   driver has already queued the invalidation that removes them, ahead of
 *   the wait. When that wait completes, every pre-marked entry that is still
 *   cached and still does not match becomes stale. A DMA that uses a stale
 *   entry while it still differs from the tables (a remap of the very same
 *   page makes it harmless again) is a stale use: counted, logged (rate
 *   limited) and refused with -EFAULT (so it never writes freed memory).
 *   Correct drivers (clear the PTE, post the invalidations, post the wait)
 *   never trigger it. A driver that skips a needed IOTLB or device-TLB
 *   invalidation and then lets the device DMA to the address does, as soon as
 *   one wait submitted after the PTE change has completed. A device that
 *   touches an address after its unmap began and before the covering flush
 *   completed may be counted if some other wait completes in between; that is
 *   a device-side use-after-unmap and is never done by correct device models.
 */
#ifndef SIM_IOMMU_H
#define SIM_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_bus.h"
#include "sim_dma.h" /* SIM_PASID_NONE */
#include "sim_iommu_hw.h"


#define SIM_IOMMU_PREFIX	"sim_iommu"
#define SIM_IOMMU_MAX_INSTANCES 16

/** The model the sim bus instantiates for "sim_iommuN". */
extern const struct sim_model sim_iommu_model;

/**
 * DMA by device @p dev (its identity is dev->dma: sid, ats, pri, iommu_index)
 * tagged with @p pasid or SIM_PASID_NONE: @p write true copies @p len bytes
 * from @p buf to bus address @p addr, false copies from @p addr into @p buf.
 * The transfer is split at page boundaries and each page translated
 * (device-TLB, IOTLB, walk; page request when the device has PRI).
 * @return 0, -EFAULT (no translation, page request failed or timed out, stale
 *         translation), -EACCES (no permission and no PRI), -ENODEV (no such
 *         IOMMU instance), -EINVAL (bad arguments).
 */
int sim_iommu_dma(struct svio_device *dev, uint32_t pasid, uint64_t addr, void *buf, size_t len,
		  bool write);

/**
 * Translate one address for a device that then accesses host memory
 * directly: *host gets the host pointer and *avail the bytes left in that page.
 * Same errors as sim_iommu_dma().
 */
int sim_iommu_translate(struct svio_device *dev, uint32_t pasid, uint64_t addr, bool write,
			void **host, size_t *avail);

/** The IOMMU model device of instance @p index, or NULL. */
struct svio_device *sim_iommu_instance(unsigned int index);

/** Counter @p ctr of an IOMMU model device (same value as its counter register). */
uint64_t sim_iommu_counter(struct svio_device *iommu_dev, enum sim_iommu_ctr ctr);

/** Drop every cached translation of an instance (tests: a cold start). */
void sim_iommu_flush_caches(struct svio_device *iommu_dev);

#endif /* SIM_IOMMU_H */
