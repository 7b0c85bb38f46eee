/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sim IOMMU backend: probe/remove, capabilities, and the device tables
 * (root -> context -> PASID directory -> PASID table) behind attach/detach.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_pause.h>

#include "iommu_sim.h"
#include "iommu_sim_priv.h"

RTE_LOG_REGISTER_SUFFIX(sim_iommu_drv_logtype, iommu.sim, INFO);

void *sim_iommu_drv_zalloc(size_t size)
{
	size_t sz = RTE_ALIGN_CEIL(size, SIM_IOMMU_PAGE_SIZE);
	void *p = aligned_alloc(SIM_IOMMU_PAGE_SIZE, sz);

	if (p != NULL)
		memset(p, 0, sz);
	return p;
}

static void *pa_ptr(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static uint64_t ptr_pa(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

int sim_iommu_drv_poll_reg(struct sim_iommu_drv *d, uint64_t off, uint32_t mask, uint32_t want)
{
	unsigned int i;
	uint32_t v = 0;

	for (i = 0; i < SIMDRV_POLL_LIMIT; i++) {
		if (svio_reg_read32(d->dev, 0, off, &v) < 0)
			return -EIO;
		if ((v & mask) == want)
			return 0;
		rte_pause();
	}
	SIMDRV_LOG(ERR, "%s: register %#" PRIx64 " stuck at %#x (waiting for %#x under %#x)",
		   d->dev->name, off, v, want, mask);
	return -ETIMEDOUT;
}

/* GCMD takes the whole desired state (VT-d style); keep a shadow of it. */
void sim_iommu_drv_set_gcmd(struct sim_iommu_drv *d, uint32_t bits, bool on)
{
	if (on)
		d->gcmd |= bits;
	else
		d->gcmd &= ~bits;
	svio_reg_write32(d->dev, 0, SIM_IOMMU_REG_GCMD, d->gcmd);
}

static struct sim_iommu_context_entry *ctx_entry(struct sim_iommu_drv *d, uint32_t sid)
{
	uint64_t re = __atomic_load_n(&d->root[(sid >> 8) & 0xff].lo, __ATOMIC_ACQUIRE);
	struct sim_iommu_context_entry *ct;

	if (!(re & SIM_IOMMU_RE_P))
		return NULL;
	ct = pa_ptr(re & SIM_IOMMU_RE_CTP_MASK);
	return &ct[sid & 0xff];
}

int sim_iommu_drv_ctx_info(struct sim_iommu_drv *d, uint32_t sid, uint32_t *rid_pasid, bool *dte)
{
	struct sim_iommu_context_entry *ce = ctx_entry(d, sid);
	uint64_t lo;

	if (ce == NULL)
		return -ENOENT;
	lo = __atomic_load_n(&ce->lo, __ATOMIC_ACQUIRE);
	if (!(lo & SIM_IOMMU_CE_P))
		return -ENOENT;
	*dte = lo & SIM_IOMMU_CE_DTE;
	*rid_pasid = (uint32_t)(__atomic_load_n(&ce->hi, __ATOMIC_RELAXED) &
				SIM_IOMMU_CE_RID_PASID_MASK);
	return 0;
}

static struct sim_iommu_pasid_entry *pasid_entry(uint64_t ce_lo, uint32_t pasid, bool create)
{
	uint64_t *dir = pa_ptr(ce_lo & SIM_IOMMU_CE_PASIDDIR_MASK);
	uint64_t *pde = &dir[pasid >> SIM_IOMMU_PASID_DIR_SHIFT];
	struct sim_iommu_pasid_entry *pt;

	if (!(*pde & SIM_IOMMU_PDE_P)) {
		if (!create)
			return NULL;
		pt = sim_iommu_drv_zalloc(SIM_IOMMU_PASID_TABLE_ENTRIES * sizeof(*pt));
		if (pt == NULL)
			return NULL;
		__atomic_store_n(pde, ptr_pa(pt) | SIM_IOMMU_PDE_P, __ATOMIC_RELEASE);
	}
	pt = pa_ptr(*pde & SIM_IOMMU_PDE_PT_MASK);
	return &pt[pasid & (SIM_IOMMU_PASID_TABLE_ENTRIES - 1)];
}

/* The context entry of @p dev, made present (with an empty directory) if needed. */
static int ctx_get(struct sim_iommu_drv *d, struct svio_device *dev, uint32_t pasid,
		   struct sim_iommu_context_entry **out)
{
	uint32_t sid = dev->dma.sid;
	struct sim_iommu_root_entry *re = &d->root[(sid >> 8) & 0xff];
	struct sim_iommu_context_entry *ce;
	uint64_t lo;
	void *dir;

	if (!(re->lo & SIM_IOMMU_RE_P)) {
		void *ct = sim_iommu_drv_zalloc(256 * sizeof(struct sim_iommu_context_entry));

		if (ct == NULL)
			return -ENOMEM;
		__atomic_store_n(&re->lo, ptr_pa(ct) | SIM_IOMMU_RE_P, __ATOMIC_RELEASE);
	}
	ce = ctx_entry(d, sid);
	if (!(ce->lo & SIM_IOMMU_CE_P)) {
		dir = sim_iommu_drv_zalloc((size_t)8 << (d->pdts + 7));
		if (dir == NULL)
			return -ENOMEM;
		lo = ptr_pa(dir) | ((uint64_t)d->pdts << SIM_IOMMU_CE_PDTS_SHIFT) | SIM_IOMMU_CE_P;
		if (dev->dma.ats && d->iommu.caps.ats)
			lo |= SIM_IOMMU_CE_DTE;
		if (dev->dma.pri && d->iommu.caps.pri)
			lo |= SIM_IOMMU_CE_PRE;
		/* Untagged DMA uses the first PASID the device is attached at. */
		__atomic_store_n(&ce->hi, pasid, __ATOMIC_RELAXED);
		__atomic_store_n(&ce->lo, lo, __ATOMIC_RELEASE);
	}
	*out = ce;
	return 0;
}

static int sim_iommu_drv_attach(struct svio_iommu *iommu, struct svio_device *dev, uint32_t pasid,
				uint16_t did, uint64_t pgtable)
{
	struct sim_iommu_drv *d = sim_iommu_drv_of(iommu);
	struct sim_iommu_context_entry *ce;
	struct sim_iommu_pasid_entry *pe, *cur;
	int rc;

	if (dev->dma.sid > 0xffff || pgtable == 0 || (pgtable & (SIM_IOMMU_PAGE_SIZE - 1)) ||
	    (pasid >> d->iommu.caps.pasid_bits) != 0 || did == 0 ||
	    did >= d->iommu.caps.domain_ids) {
		SIMDRV_LOG(
			ERR,
			"%s: attach %s: bad sid %#x, pasid %u, did %u or table %#" PRIx64
			" (expected sid < 0x10000, pasid < 2^%u, did 1..%u, a 4 KiB aligned table)",
			d->dev->name, dev->name, dev->dma.sid, pasid, did, pgtable,
			d->iommu.caps.pasid_bits, d->iommu.caps.domain_ids - 1);
		return -EINVAL;
	}
	pthread_mutex_lock(&d->tbl_lock);
	rc = ctx_get(d, dev, pasid, &ce);
	if (rc < 0)
		goto out_unlock;
	pe = pasid_entry(ce->lo, pasid, true);
	if (pe == NULL) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	if (pe->qw[0] & SIM_IOMMU_PE_P) {
		rc = -EEXIST;
		goto out_unlock;
	}
	/* The IOMMU may look at the entry any time: Present goes in last. */
	__atomic_store_n(&pe->qw[1], did, __ATOMIC_RELAXED);
	__atomic_store_n(&pe->qw[2], pgtable, __ATOMIC_RELAXED);
	__atomic_store_n(&pe->qw[3], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&pe->qw[0], SIM_IOMMU_PE_P | SIM_IOMMU_PE_PGTT_FS, __ATOMIC_RELEASE);
	rc = 0;
	/*
	 * Untagged DMA follows the device to its new domain: re-point RID_PASID
	 * when the PASID it named was detached (the core invalidated that
	 * PASID's device-TLB entries, untagged ones included, on detach).
	 */
	cur = pasid_entry(ce->lo, (uint32_t)(ce->hi & SIM_IOMMU_CE_RID_PASID_MASK), false);
	if (cur == NULL || !(__atomic_load_n(&cur->qw[0], __ATOMIC_RELAXED) & SIM_IOMMU_PE_P))
		__atomic_store_n(&ce->hi, pasid, __ATOMIC_RELEASE);
out_unlock:
	pthread_mutex_unlock(&d->tbl_lock);
	return rc;
}

static int sim_iommu_drv_detach(struct svio_iommu *iommu, struct svio_device *dev, uint32_t pasid)
{
	struct sim_iommu_drv *d = sim_iommu_drv_of(iommu);
	struct sim_iommu_context_entry *ce;
	struct sim_iommu_pasid_entry *pe = NULL;
	int rc = -ENOENT;

	if ((pasid >> d->iommu.caps.pasid_bits) != 0)
		return -EINVAL;
	pthread_mutex_lock(&d->tbl_lock);
	ce = ctx_entry(d, dev->dma.sid);
	if (ce != NULL && (ce->lo & SIM_IOMMU_CE_P))
		pe = pasid_entry(ce->lo, pasid, false);
	if (pe != NULL && (pe->qw[0] & SIM_IOMMU_PE_P)) {
		/* Not present first: the model never sees a half-cleared entry. */
		__atomic_store_n(&pe->qw[0], 0, __ATOMIC_RELEASE);
		__atomic_store_n(&pe->qw[1], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&pe->qw[2], 0, __ATOMIC_RELAXED);
		rc = 0;
	}
	pthread_mutex_unlock(&d->tbl_lock);
	return rc;
}

static uint64_t read_ctr(struct svio_iommu *iommu, enum sim_iommu_ctr c)
{
	uint64_t v = 0;

	if (svio_reg_read64(sim_iommu_drv_of(iommu)->dev, 0, SIM_IOMMU_REG_CTR(c), &v) < 0)
		return 0;
	return v;
}

static uint64_t sim_iommu_drv_stale_uses(struct svio_iommu *iommu)
{
	return read_ctr(iommu, SIM_IOMMU_CTR_STALE_USES);
}

static uint64_t sim_iommu_drv_modeled_ns(struct svio_iommu *iommu)
{
	return read_ctr(iommu, SIM_IOMMU_CTR_COST_NS);
}

static const struct svio_iommu_ops sim_iommu_drv_ops = {
	.name = "sim",
	.attach = sim_iommu_drv_attach,
	.detach = sim_iommu_drv_detach,
	.inv_post = sim_iommu_drv_inv_post,
	.wait_post = sim_iommu_drv_wait_post,
	.wait_poll = sim_iommu_drv_wait_poll,
	.page_resp = sim_iommu_drv_page_resp,
	.stale_uses = sim_iommu_drv_stale_uses,
	.modeled_ns = sim_iommu_drv_modeled_ns,
};

static void free_tables(struct sim_iommu_drv *d)
{
	unsigned int bus, devfn, i;

	if (d->root == NULL)
		return;
	for (bus = 0; bus < 256; bus++) {
		struct sim_iommu_context_entry *ct;

		if (!(d->root[bus].lo & SIM_IOMMU_RE_P))
			continue;
		ct = pa_ptr(d->root[bus].lo & SIM_IOMMU_RE_CTP_MASK);
		for (devfn = 0; devfn < 256; devfn++) {
			uint64_t *dir;

			if (!(ct[devfn].lo & SIM_IOMMU_CE_P))
				continue;
			dir = pa_ptr(ct[devfn].lo & SIM_IOMMU_CE_PASIDDIR_MASK);
			for (i = 0; i < (1u << (d->pdts + 7)); i++) {
				if (dir[i] & SIM_IOMMU_PDE_P)
					free(pa_ptr(dir[i] & SIM_IOMMU_PDE_PT_MASK));
			}
			free(dir);
		}
		free(ct);
	}
	free(d->root);
	d->root = NULL;
}

/* Instance number: the digits the device name ends with. */
static int name_index(const char *name)
{
	size_t n = strlen(name);

	while (n > 0 && isdigit((unsigned char)name[n - 1]))
		n--;
	if (name[n] == '\0')
		return -EINVAL;
	return atoi(name + n);
}

static int read_caps(struct sim_iommu_drv *d)
{
	struct svio_device *dev = d->dev;
	unsigned int pasid_bits;
	int rc;

	rc = svio_reg_read64(dev, 0, SIM_IOMMU_REG_CAP, &d->cap);
	if (rc == 0)
		rc = svio_reg_read64(dev, 0, SIM_IOMMU_REG_ECAP, &d->ecap);
	if (rc < 0)
		return rc;
	if (!(d->ecap & SIM_IOMMU_ECAP_QI) || !(d->ecap & SIM_IOMMU_ECAP_SMTS) ||
	    !(d->ecap & SIM_IOMMU_ECAP_FLTS)) {
		SIMDRV_LOG(ERR,
			   "%s: ECAP %#" PRIx64 " lacks queued invalidation, scalable mode or "
			   "first-stage translation",
			   dev->name, d->ecap);
		return -ENOTSUP;
	}
	pasid_bits = SIM_IOMMU_ECAP_PASID_BITS(d->ecap);
	/* One directory covering every PASID: 2^(bits - 6) entries, at least 128. */
	d->pdts = pasid_bits > 13 ? pasid_bits - 13 : 0;
	d->iommu.caps.domain_ids = SIM_IOMMU_CAP_DOMAINS(d->cap);
	d->iommu.caps.pasid_bits = pasid_bits;
	d->iommu.caps.max_inv_order = (d->cap & SIM_IOMMU_CAP_PSI) ? SIM_IOMMU_CAP_MAMV(d->cap) : 0;
	d->iommu.caps.first_stage = true;
	d->iommu.caps.unpinned = true;
	d->iommu.caps.ats = d->ecap & SIM_IOMMU_ECAP_DT;
	d->iommu.caps.pri = d->ecap & SIM_IOMMU_ECAP_PRS;
	return 0;
}

static int sim_iommu_drv_probe(struct svio_driver *drv, struct svio_device *dev)
{
	struct sim_iommu_drv *d;
	int idx, rc;

	RTE_SET_USED(drv);
	idx = name_index(dev->name);
	if (idx < 0) {
		SIMDRV_LOG(ERR, "%s: the name has no instance number (expected sim_iommuN)",
			   dev->name);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->dev = dev;
	d->iommu.ops = &sim_iommu_drv_ops;
	d->iommu.priv = d;
	d->iommu.index = (unsigned int)idx;
	pthread_mutex_init(&d->tbl_lock, NULL);
	pthread_spin_init(&d->iq_lock, PTHREAD_PROCESS_PRIVATE);
	pthread_mutex_init(&d->prq_lock, NULL);
	rc = read_caps(d);
	if (rc < 0)
		goto out_free;

	d->root = sim_iommu_drv_zalloc(256 * sizeof(struct sim_iommu_root_entry));
	if (d->root == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	svio_reg_write64(dev, 0, SIM_IOMMU_REG_RTADDR, ptr_pa(d->root));
	svio_reg_write32(dev, 0, SIM_IOMMU_REG_GCMD, d->gcmd | SIM_IOMMU_GCMD_SRTP);
	rc = sim_iommu_drv_poll_reg(d, SIM_IOMMU_REG_GSTS, SIM_IOMMU_GSTS_RTPS,
				    SIM_IOMMU_GSTS_RTPS);
	if (rc < 0)
		goto out_tables;
	rc = sim_iommu_drv_qi_init(d);
	if (rc < 0)
		goto out_tables;
	rc = sim_iommu_drv_prq_init(d);
	if (rc < 0)
		goto out_qi;
	sim_iommu_drv_set_gcmd(d, SIM_IOMMU_GCMD_TE, true);
	rc = sim_iommu_drv_poll_reg(d, SIM_IOMMU_REG_GSTS, SIM_IOMMU_GSTS_TES, SIM_IOMMU_GSTS_TES);
	if (rc < 0)
		goto out_te;
	rc = svio_iommu_register(&d->iommu);
	if (rc < 0) {
		SIMDRV_LOG(ERR, "%s: the IOMMU core refused the instance (%d)", dev->name, rc);
		goto out_te;
	}
	dev->driver_priv = d;
	SIMDRV_LOG(DEBUG, "%s: %u domain ids, %u PASID bits, max inv order %u%s%s", dev->name,
		   d->iommu.caps.domain_ids, d->iommu.caps.pasid_bits, d->iommu.caps.max_inv_order,
		   d->iommu.caps.ats ? ", ATS" : "", d->iommu.caps.pri ? ", PRI" : "");
	return 0;

out_te:
	sim_iommu_drv_set_gcmd(d, SIM_IOMMU_GCMD_TE, false);
	sim_iommu_drv_prq_fini(d);
out_qi:
	sim_iommu_drv_qi_fini(d);
out_tables:
	free_tables(d);
out_free:
	pthread_mutex_destroy(&d->prq_lock);
	pthread_spin_destroy(&d->iq_lock);
	pthread_mutex_destroy(&d->tbl_lock);
	free(d);
	return rc;
}

static int sim_iommu_drv_remove(struct svio_device *dev)
{
	struct sim_iommu_drv *d = dev->driver_priv;
	int rc;

	if (d == NULL)
		return 0;
	rc = svio_iommu_unregister(&d->iommu);
	if (rc < 0)
		return rc;
	sim_iommu_drv_set_gcmd(d, SIM_IOMMU_GCMD_TE, false);
	sim_iommu_drv_prq_fini(d);
	sim_iommu_drv_qi_fini(d);
	free_tables(d);
	pthread_mutex_destroy(&d->prq_lock);
	pthread_spin_destroy(&d->iq_lock);
	pthread_mutex_destroy(&d->tbl_lock);
	free(d);
	dev->driver_priv = NULL;
	return 0;
}

struct svio_driver sim_iommu_driver = {
	.name = "iommu_sim",
	.kind = SVIO_DEV_KIND_IOMMU,
	.name_prefix = "sim_iommu",
	.devargs = NULL,
	.probe = sim_iommu_drv_probe,
	.remove = sim_iommu_drv_remove,
};
