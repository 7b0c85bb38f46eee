/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IOMMU model reads the driver's tables: root -> context -> PASID
 * directory -> PASID table, then the first-stage (x86-64 4-level) walk.
 * Every entry is read with an acquire load: the driver publishes an entry
 * by storing the word with its Present bit last (release).
 */
#include <errno.h>

#include "iommu_priv.h"

static const void *ptr(uint64_t pa)
{
	return (const void *)(uintptr_t)pa;
}

/* The context entry of @p sid: 0 and its low word, or -EFAULT. */
static int context_entry(struct sim_iommu *m, uint32_t sid, uint64_t *lo, uint32_t *rid_pasid)
{
	const struct sim_iommu_root_entry *rt;
	const struct sim_iommu_context_entry *ct;
	uint64_t root = __atomic_load_n(&m->root, __ATOMIC_ACQUIRE);
	uint64_t re, ce;

	if (root == 0 || sid > 0xffff)
		return -EFAULT;
	rt = ptr(root);
	re = sim_ld(&rt[sid >> 8].lo);
	if (!(re & SIM_IOMMU_RE_P))
		return -EFAULT;
	ct = ptr(re & SIM_IOMMU_RE_CTP_MASK);
	ce = sim_ld(&ct[sid & 0xff].lo);
	if (!(ce & SIM_IOMMU_CE_P))
		return -EFAULT;
	*lo = ce;
	*rid_pasid = (uint32_t)(__atomic_load_n(&ct[sid & 0xff].hi, __ATOMIC_RELAXED) &
				SIM_IOMMU_CE_RID_PASID_MASK);
	return 0;
}

int sim_ctx_lookup(struct sim_iommu *m, uint32_t sid, struct sim_ctx *ctx)
{
	uint64_t ce;
	int rc = context_entry(m, sid, &ce, &ctx->pasid);

	if (rc < 0)
		return rc;
	ctx->dte = ce & SIM_IOMMU_CE_DTE;
	ctx->pre = ce & SIM_IOMMU_CE_PRE;
	ctx->root = 0;
	ctx->did = 0;
	return 0;
}

int sim_ctx_resolve(struct sim_iommu *m, uint32_t sid, uint32_t pasid, struct sim_ctx *ctx)
{
	const struct sim_iommu_pasid_entry *pt;
	const uint64_t *dir;
	unsigned int pasid_bits = SIM_IOMMU_ECAP_PASID_BITS(m->ecap);
	uint64_t ce, pde, pe0;
	uint32_t dir_entries;
	int rc;

	rc = context_entry(m, sid, &ce, &ctx->pasid);
	if (rc < 0)
		return rc;
	ctx->dte = ce & SIM_IOMMU_CE_DTE;
	ctx->pre = ce & SIM_IOMMU_CE_PRE;
	if (pasid != SIM_PASID_NONE)
		ctx->pasid = pasid;
	if (pasid_bits < 20 && (ctx->pasid >> pasid_bits) != 0)
		return -EFAULT;
	dir_entries = 1u << (((ce & SIM_IOMMU_CE_PDTS_MASK) >> SIM_IOMMU_CE_PDTS_SHIFT) + 7);
	if ((ctx->pasid >> SIM_IOMMU_PASID_DIR_SHIFT) >= dir_entries)
		return -EFAULT;
	dir = ptr(ce & SIM_IOMMU_CE_PASIDDIR_MASK);
	pde = sim_ld(&dir[ctx->pasid >> SIM_IOMMU_PASID_DIR_SHIFT]);
	if (!(pde & SIM_IOMMU_PDE_P))
		return -EFAULT;
	pt = ptr(pde & SIM_IOMMU_PDE_PT_MASK);
	pt += ctx->pasid & (SIM_IOMMU_PASID_TABLE_ENTRIES - 1);
	pe0 = sim_ld(&pt->qw[0]);
	if (!(pe0 & SIM_IOMMU_PE_P) || (pe0 & SIM_IOMMU_PE_PGTT_MASK) != SIM_IOMMU_PE_PGTT_FS)
		return -EFAULT;
	ctx->did =
		(uint16_t)(__atomic_load_n(&pt->qw[1], __ATOMIC_RELAXED) & SIM_IOMMU_PE_DID_MASK);
	ctx->root = __atomic_load_n(&pt->qw[2], __ATOMIC_RELAXED) & SIM_IOMMU_PE_FSPTR_MASK;
	if (ctx->root == 0)
		return -EFAULT;
	return 0;
}

int sim_walk(struct sim_iommu *m, uint64_t root, uint64_t addr, bool write,
	     struct sim_tlb_entry *out)
{
	bool may_write = true, user = true;
	uint64_t table = root, pte = 0;
	unsigned int level, shift = 0;

	if (addr >> SIM_X86_VA_BITS)
		return -EFAULT; /* outside the 48-bit space the table covers */
	for (level = SIM_X86_LEVELS; level >= 1; level--) {
		const uint64_t *t = ptr(table);

		shift = SIM_X86_LEVEL_SHIFT(level);
		pte = sim_ld(&t[(addr >> shift) & 0x1ff]);
		if (!(pte & SIM_X86_PTE_P))
			return -EFAULT;
		may_write &= !!(pte & SIM_X86_PTE_RW);
		user &= !!(pte & SIM_X86_PTE_US);
		if (level == 1)
			break;
		if (pte & SIM_X86_PTE_PS) {
			/* PS is reserved in the PML4, and 1 GiB pages need CAP.FL1GP. */
			if (level == 4 || (level == 3 && !(m->cap & SIM_IOMMU_CAP_FL1GP)))
				return -EFAULT;
			break;
		}
		table = pte & SIM_X86_PTE_ADDR;
	}
	out->vbase = addr & ~((1ull << shift) - 1);
	out->pte = pte;
	out->root = root;
	out->shift = (uint8_t)shift;
	out->flags = SIM_TLB_VALID | (may_write ? SIM_TLB_WRITE : 0) | (user ? SIM_TLB_USER : 0);
	out->premark = 0;
	out->stale = 0;
	if ((m->user_check && !user) || (write && !may_write))
		return -EACCES;
	return 0;
}
