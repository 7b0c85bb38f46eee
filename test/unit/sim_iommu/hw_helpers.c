/* SPDX-License-Identifier: BSD-3-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eal_private.h"
#include "hw_helpers.h"

struct svio_device hw_mkdev(uint32_t sid, bool ats, bool pri)
{
	struct svio_device d;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "dma%x", sid);
	d.dma.sid = sid;
	d.dma.ats = ats;
	d.dma.pri = pri;
	d.dma.pasid = true;
	d.dma.iommu_index = 0;
	return d;
}

static void *allocs[4096];
static unsigned int nallocs;

void *hw_zalloc(size_t size)
{
	size_t sz = (size + KIB4 - 1) & ~(KIB4 - 1);
	void *p = aligned_alloc(KIB4, sz);

	assert_non_null(p);
	memset(p, 0, sz);
	assert_true(nallocs < 4096);
	allocs[nallocs++] = p;
	return p;
}

void hw_free_all(void)
{
	while (nallocs > 0)
		free(allocs[--nallocs]);
}

static void wr32(struct hw *h, uint64_t off, uint32_t v)
{
	assert_int_equal(svio_reg_write32(h->dev, 0, off, v), 0);
}

static void wr64(struct hw *h, uint64_t off, uint64_t v)
{
	assert_int_equal(svio_reg_write64(h->dev, 0, off, v), 0);
}

static uint32_t rd32(struct hw *h, uint64_t off)
{
	uint32_t v;

	assert_int_equal(svio_reg_read32(h->dev, 0, off, &v), 0);
	return v;
}

void hw_open(struct hw *h, const char *args)
{
	char arg[256];

	memset(h, 0, sizeof(*h));
	assert_int_equal(svio_builtin_register(), 0);
	snprintf(arg, sizeof(arg), "sim_iommu0%s%s", args && *args ? "," : "", args ? args : "");
	assert_int_equal(svio_dev_add(arg, &h->dev), 0);
	h->root = hw_zalloc(4096);
	h->iq_entries = 256;
	h->iq = hw_zalloc(4096);
	h->pq_entries = 128;
	h->pq = hw_zalloc(4096);
	h->status = hw_zalloc(64);
	wr64(h, SIM_IOMMU_REG_RTADDR, (uintptr_t)h->root);
	wr32(h, SIM_IOMMU_REG_GCMD, SIM_IOMMU_GCMD_SRTP);
	assert_true(rd32(h, SIM_IOMMU_REG_GSTS) & SIM_IOMMU_GSTS_RTPS);
	wr64(h, SIM_IOMMU_REG_IQA, (uintptr_t)h->iq);
	wr64(h, SIM_IOMMU_REG_IQT, 0);
	wr32(h, SIM_IOMMU_REG_GCMD, SIM_IOMMU_GCMD_QIE);
	assert_true(rd32(h, SIM_IOMMU_REG_GSTS) & SIM_IOMMU_GSTS_QIES);
	wr64(h, SIM_IOMMU_REG_PQA, (uintptr_t)h->pq);
	wr32(h, SIM_IOMMU_REG_GCMD, SIM_IOMMU_GCMD_QIE | SIM_IOMMU_GCMD_TE);
	assert_true(rd32(h, SIM_IOMMU_REG_GSTS) & SIM_IOMMU_GSTS_TES);
}

void hw_close(struct hw *h)
{
	svio_dev_remove_all();
	svio_builtin_unregister();
	hw_free_all();
	memset(h, 0, sizeof(*h));
}

uint64_t hw_ctr(struct hw *h, enum sim_iommu_ctr c)
{
	uint64_t v;

	assert_int_equal(svio_reg_read64(h->dev, 0, SIM_IOMMU_REG_CTR(c), &v), 0);
	return v;
}

void hw_attach(struct hw *h, uint32_t sid, uint32_t pasid, uint16_t did, uint64_t *pgroot, bool dte,
	       bool pre)
{
	struct sim_iommu_root_entry *re = &h->root[sid >> 8];
	struct sim_iommu_context_entry *ct, *ce;
	struct sim_iommu_pasid_entry *pt, *pe;
	uint64_t *dir;

	if (!(re->lo & SIM_IOMMU_RE_P))
		re->lo = (uintptr_t)hw_zalloc(4096) | SIM_IOMMU_RE_P;
	ct = (void *)(uintptr_t)(re->lo & SIM_IOMMU_RE_CTP_MASK);
	ce = &ct[sid & 0xff];
	if (!(ce->lo & SIM_IOMMU_CE_P)) {
		/* PDTS 7: 2^14 directory entries cover 20-bit PASIDs. */
		dir = hw_zalloc(8 << 14);
		ce->hi = pasid;
		ce->lo = (uintptr_t)dir | (7ull << SIM_IOMMU_CE_PDTS_SHIFT) | SIM_IOMMU_CE_P |
			 (dte ? SIM_IOMMU_CE_DTE : 0) | (pre ? SIM_IOMMU_CE_PRE : 0);
	}
	dir = (void *)(uintptr_t)(ce->lo & SIM_IOMMU_CE_PASIDDIR_MASK);
	if (!(dir[pasid >> 6] & SIM_IOMMU_PDE_P))
		dir[pasid >> 6] = (uintptr_t)hw_zalloc(4096) | SIM_IOMMU_PDE_P;
	pt = (void *)(uintptr_t)(dir[pasid >> 6] & SIM_IOMMU_PDE_PT_MASK);
	pe = &pt[pasid & 63];
	pe->qw[1] = did;
	pe->qw[2] = (uintptr_t)pgroot;
	__atomic_store_n(&pe->qw[0], SIM_IOMMU_PE_P | SIM_IOMMU_PE_PGTT_FS, __ATOMIC_RELEASE);
}

void hw_detach(struct hw *h, uint32_t sid, uint32_t pasid)
{
	struct sim_iommu_context_entry *ct =
		(void *)(uintptr_t)(h->root[sid >> 8].lo & SIM_IOMMU_RE_CTP_MASK);
	uint64_t *dir = (void *)(uintptr_t)(ct[sid & 0xff].lo & SIM_IOMMU_CE_PASIDDIR_MASK);
	struct sim_iommu_pasid_entry *pt =
		(void *)(uintptr_t)(dir[pasid >> 6] & SIM_IOMMU_PDE_PT_MASK);

	__atomic_store_n(&pt[pasid & 63].qw[0], 0, __ATOMIC_RELEASE);
}

void hw_post(struct hw *h, uint64_t qw0, uint64_t qw1)
{
	h->iq[h->tail].qw0 = qw0;
	h->iq[h->tail].qw1 = qw1;
	h->tail = (h->tail + 1) % h->iq_entries;
}

void hw_submit(struct hw *h)
{
	wr64(h, SIM_IOMMU_REG_IQT, (uint64_t)h->tail * 16);
}

bool hw_wait(struct hw *h)
{
	uint32_t seq = ++h->seq;

	hw_post(h,
		SIM_IOMMU_DESC_TYPE_WAIT | SIM_IOMMU_WAIT_SW |
			((uint64_t)seq << SIM_IOMMU_WAIT_DATA_SHIFT),
		(uintptr_t)h->status);
	hw_submit(h);
	return __atomic_load_n(h->status, __ATOMIC_ACQUIRE) == seq;
}

void hw_recover(struct hw *h)
{
	wr32(h, SIM_IOMMU_REG_FSTS, SIM_IOMMU_FSTS_IQE);
	wr32(h, SIM_IOMMU_REG_GCMD, SIM_IOMMU_GCMD_TE);
	h->tail = 0;
	wr64(h, SIM_IOMMU_REG_IQT, 0);
	wr32(h, SIM_IOMMU_REG_GCMD, SIM_IOMMU_GCMD_TE | SIM_IOMMU_GCMD_QIE);
}

uint64_t d_piotlb(uint16_t did, uint32_t pasid, unsigned int gran)
{
	return SIM_IOMMU_DESC_TYPE_PIOTLB | ((uint64_t)gran << SIM_IOMMU_DESC_GRAN_SHIFT) |
	       ((uint64_t)did << SIM_IOMMU_DESC_DID_SHIFT) |
	       ((uint64_t)pasid << SIM_IOMMU_DESC_PASID_SHIFT);
}

uint64_t d_iotlb(uint16_t did, unsigned int gran)
{
	return SIM_IOMMU_DESC_TYPE_IOTLB | ((uint64_t)gran << SIM_IOMMU_DESC_GRAN_SHIFT) |
	       ((uint64_t)did << SIM_IOMMU_DESC_DID_SHIFT);
}

uint64_t d_pdevtlb(uint32_t sid, uint32_t pasid)
{
	return SIM_IOMMU_DESC_TYPE_PDEVTLB | ((uint64_t)sid << SIM_IOMMU_DESC_SID_SHIFT) |
	       ((uint64_t)pasid << SIM_IOMMU_DESC_PASID_SHIFT);
}

uint64_t d_devtlb(uint32_t sid)
{
	return SIM_IOMMU_DESC_TYPE_DEVTLB | ((uint64_t)sid << SIM_IOMMU_DESC_SID_SHIFT);
}

uint64_t *pt_new(void)
{
	return hw_zalloc(4096);
}

static unsigned int level_of(uint64_t size)
{
	return size == GIB1 ? 3 : size == MIB2 ? 2 : 1;
}

void pt_map(uint64_t *root, uint64_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	unsigned int leaf = level_of(size), level;
	uint64_t *t = root;

	for (level = 4; level > leaf; level--) {
		uint64_t *e = &t[(va >> SIM_X86_LEVEL_SHIFT(level)) & 0x1ff];

		if (!(*e & SIM_X86_PTE_P))
			*e = (uintptr_t)hw_zalloc(4096) | SIM_X86_PTE_P | PTE_RWU;
		t = (void *)(uintptr_t)(*e & SIM_X86_PTE_ADDR);
	}
	__atomic_store_n(&t[(va >> SIM_X86_LEVEL_SHIFT(leaf)) & 0x1ff],
			 pa | flags | SIM_X86_PTE_P | (leaf > 1 ? SIM_X86_PTE_PS : 0),
			 __ATOMIC_RELEASE);
}

uint64_t *pt_leaf(uint64_t *root, uint64_t va)
{
	uint64_t *t = root;
	unsigned int level;

	for (level = 4; level >= 1; level--) {
		uint64_t *e = &t[(va >> SIM_X86_LEVEL_SHIFT(level)) & 0x1ff];

		if (level == 1 || !(*e & SIM_X86_PTE_P) || (*e & SIM_X86_PTE_PS))
			return e;
		t = (void *)(uintptr_t)(*e & SIM_X86_PTE_ADDR);
	}
	return NULL;
}

void pt_unmap(uint64_t *root, uint64_t va)
{
	__atomic_store_n(pt_leaf(root, va), 0, __ATOMIC_RELEASE);
}
