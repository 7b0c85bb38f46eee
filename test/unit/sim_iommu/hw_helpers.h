/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test-side "driver" for the IOMMU model: builds the tables, page tables and
 * queues in memory and rings registers, so the model's behaviour can be
 * checked without the backend driver.
 */
#ifndef SIM_IOMMU_TEST_HW_HELPERS_H
#define SIM_IOMMU_TEST_HW_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

#include "svio_dev.h"
#include "sim_iommu.h"
#include "sim_iommu_hw.h"

#define KIB4 0x1000ull
#define MIB2 0x200000ull
#define GIB1 0x40000000ull

struct hw {
	struct svio_device *dev;
	struct sim_iommu_root_entry *root;
	struct sim_iommu_inv_desc *iq;
	unsigned int iq_entries;
	unsigned int tail;
	struct sim_iommu_page_req_desc *pq;
	unsigned int pq_entries;
	uint32_t *status;
	uint32_t seq;
};

/** A DMA-capable device with PASID at @p sid, behind IOMMU 0, named "dma<sid>". */
struct svio_device hw_mkdev(uint32_t sid, bool ats, bool pri);

/** Zeroed, 4 KiB aligned, freed by hw_free_all(). */
void *hw_zalloc(size_t size);
void hw_free_all(void);

/** Register builtins, add "sim_iommu0,<args>", program root, IQ, PQ, enable TE. */
void hw_open(struct hw *h, const char *args);
void hw_close(struct hw *h);

uint64_t hw_ctr(struct hw *h, enum sim_iommu_ctr c);

/** Context entry of @p sid (dte, pre, rid_pasid) and PASID entry (did, root). */
void hw_attach(struct hw *h, uint32_t sid, uint32_t pasid, uint16_t did, uint64_t *pgroot, bool dte,
	       bool pre);
void hw_detach(struct hw *h, uint32_t sid, uint32_t pasid);

/** Append a descriptor (not submitted). */
void hw_post(struct hw *h, uint64_t qw0, uint64_t qw1);
/** Write IQT. */
void hw_submit(struct hw *h);
/** Post a wait with status write and submit; returns true when it completed. */
bool hw_wait(struct hw *h);
/** Recover from an IQE the way a driver does. */
void hw_recover(struct hw *h);

/* Descriptor builders. */
uint64_t d_piotlb(uint16_t did, uint32_t pasid, unsigned int gran);
uint64_t d_iotlb(uint16_t did, unsigned int gran);
uint64_t d_pdevtlb(uint32_t sid, uint32_t pasid);
uint64_t d_devtlb(uint32_t sid);

/* First-stage page tables. */
uint64_t *pt_new(void);
/** Map one page of @p size at @p va to @p pa with @p flags (P added). */
void pt_map(uint64_t *root, uint64_t va, uint64_t pa, uint64_t size, uint64_t flags);
/** The leaf entry of @p va (NULL if no path). */
uint64_t *pt_leaf(uint64_t *root, uint64_t va);
/** Clear the leaf of @p va (atomic store, like the core). */
void pt_unmap(uint64_t *root, uint64_t va);

#define PTE_RWU (SIM_X86_PTE_RW | SIM_X86_PTE_US)

#endif
