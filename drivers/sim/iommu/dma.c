/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DMA through the IOMMU model: the fabric call device models make. Lookup
 * order for a request: the device's own device-TLB (ATS devices), then the
 * IOTLB, then a walk that fills both. A failed walk from a device with PRI
 * becomes a page request; the access stalls until it is answered.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "iommu_priv.h"

struct xlate {
	uint64_t hpa;	/* host address of the request */
	uint64_t avail; /* bytes from there to the end of the page */
};

static bool perm_ok(const struct sim_iommu *m, const struct sim_tlb_entry *e, bool write)
{
	return (!write || (e->flags & SIM_TLB_WRITE)) &&
	       (!m->user_check || (e->flags & SIM_TLB_USER));
}

static void xlate_from(const struct sim_tlb_entry *e, uint64_t addr, struct xlate *x)
{
	uint64_t size = 1ull << e->shift;
	uint64_t page = e->pte & SIM_X86_PTE_ADDR & ~(size - 1);

	x->hpa = page + (addr - e->vbase);
	x->avail = e->vbase + size - addr;
}

/*
 * One translation attempt. 0, -EFAULT / -EACCES from the walk (then *prq
 * says whether the device may ask for the page), or -EFAULT for a context
 * fault or a stale use (*prq false).
 */
static int translate_once(struct sim_iommu *m, const struct svio_device *dev, uint32_t pasid,
			  uint64_t addr, bool write, struct xlate *x, bool *prq)
{
	uint32_t sid = dev->dma.sid;
	bool ats = dev->dma.ats && (m->ecap & SIM_IOMMU_ECAP_DT);
	struct sim_tlb_entry *e, tmpl;
	struct sim_atc *atc = NULL;
	struct sim_ctx ctx;
	int rc;

	*prq = false;
	pthread_spin_lock(&m->cache_lock);
	if (ats) {
		atc = sim_atc_get(m, sid, false);
		e = atc != NULL ? sim_tlb_lookup(&atc->tlb, 0, pasid, addr) : NULL;
		if (e != NULL && perm_ok(m, e, write)) {
			rc = sim_stale_use(m, e, sid, true) ? -EFAULT : 0;
			if (rc == 0) {
				xlate_from(e, addr, x);
				sim_ctr_add(m, SIM_IOMMU_CTR_ATC_HIT, 1);
			}
			pthread_spin_unlock(&m->cache_lock);
			return rc;
		}
		/* Too few rights cached: ask again, the table may allow more now. */
		if (e != NULL)
			sim_tlb_drop(m, &atc->tlb, e);
		sim_ctr_add(m, SIM_IOMMU_CTR_ATC_MISS, 1);
	}
	rc = sim_ctx_resolve(m, sid, pasid, &ctx);
	if (rc < 0) {
		pthread_spin_unlock(&m->cache_lock);
		return rc;
	}
	e = sim_tlb_lookup(&m->iotlb, ctx.did, ctx.pasid, addr);
	if (e != NULL && perm_ok(m, e, write)) {
		if (sim_stale_use(m, e, sid, false)) {
			pthread_spin_unlock(&m->cache_lock);
			return -EFAULT;
		}
		sim_ctr_add(m, SIM_IOMMU_CTR_IOTLB_HIT, 1);
		tmpl = *e;
	} else {
		if (e != NULL)
			sim_tlb_drop(m, &m->iotlb, e);
		sim_ctr_add(m, SIM_IOMMU_CTR_IOTLB_MISS, 1);
		sim_ctr_add(m, SIM_IOMMU_CTR_WALKS, 1);
		rc = sim_walk(m, ctx.root, addr, write, &tmpl);
		if (rc < 0) {
			pthread_spin_unlock(&m->cache_lock);
			*prq = dev->dma.pri && ctx.pre && (m->ecap & SIM_IOMMU_ECAP_PRS);
			return rc;
		}
		tmpl.did = ctx.did;
		tmpl.pasid = ctx.pasid;
		if (sim_tlb_insert(m, &m->iotlb, &tmpl))
			sim_ctr_add(m, SIM_IOMMU_CTR_IOTLB_EVICT, 1);
	}
	if (ats && ctx.dte) {
		if (atc == NULL)
			atc = sim_atc_get(m, sid, true);
		if (atc != NULL) {
			tmpl.did = 0;
			tmpl.pasid = pasid;
			if (sim_tlb_insert(m, &atc->tlb, &tmpl))
				sim_ctr_add(m, SIM_IOMMU_CTR_ATC_EVICT, 1);
		}
	}
	pthread_spin_unlock(&m->cache_lock);
	xlate_from(&tmpl, addr, x);
	return 0;
}

static int translate(struct sim_iommu *m, const struct svio_device *dev, uint32_t pasid,
		     uint64_t addr, bool write, struct xlate *x)
{
	bool prq, asked = false;
	int rc;

	if (!(__atomic_load_n(&m->gsts, __ATOMIC_ACQUIRE) & SIM_IOMMU_GSTS_TES)) {
		/* Translation off: bus addresses are host addresses, like hardware. */
		sim_ctr_add(m, SIM_IOMMU_CTR_PASSTHROUGH, 1);
		x->hpa = addr;
		x->avail = UINT64_MAX - addr;
		return 0;
	}
	for (;;) {
		rc = translate_once(m, dev, pasid, addr, write, x, &prq);
		if (rc == 0)
			return 0;
		if (!prq || asked)
			break;
		/* One page request per access; a second failed walk fails it. */
		asked = true;
		rc = sim_prq_request(m, dev->dma.sid, pasid == SIM_PASID_NONE ? 0 : pasid,
				     pasid != SIM_PASID_NONE, addr, write);
		if (rc < 0)
			break;
	}
	sim_ctr_add(m, SIM_IOMMU_CTR_TRANS_FAULTS, 1);
	return asked ? -EFAULT : rc;
}

static struct sim_iommu *iommu_of(const struct svio_device *dev)
{
	return sim_iommu_get(dev->dma.iommu_index);
}

int sim_iommu_translate(struct svio_device *dev, uint32_t pasid, uint64_t addr, bool write,
			void **host, size_t *avail)
{
	struct sim_iommu *m;
	struct xlate x;
	int rc;

	if (dev == NULL || host == NULL || avail == NULL)
		return -EINVAL;
	m = iommu_of(dev);
	if (m == NULL)
		return -ENODEV;
	rc = translate(m, dev, pasid, addr, write, &x);
	if (rc < 0)
		return rc;
	*host = (void *)(uintptr_t)x.hpa;
	*avail = x.avail > SIZE_MAX ? SIZE_MAX : (size_t)x.avail;
	return 0;
}

int sim_iommu_dma(struct svio_device *dev, uint32_t pasid, uint64_t addr, void *buf, size_t len,
		  bool write)
{
	struct sim_iommu *m;
	uint8_t *p = buf;

	if (dev == NULL || (buf == NULL && len > 0) || addr + len < addr)
		return -EINVAL;
	m = iommu_of(dev);
	if (m == NULL)
		return -ENODEV;
	while (len > 0) {
		struct xlate x;
		size_t n;
		int rc = translate(m, dev, pasid, addr, write, &x);

		if (rc < 0)
			return rc;
		n = x.avail < len ? (size_t)x.avail : len;
		if (write)
			memcpy((void *)(uintptr_t)x.hpa, p, n);
		else
			memcpy(p, (const void *)(uintptr_t)x.hpa, n);
		sim_ctr_add(m, SIM_IOMMU_CTR_DMA_BYTES, n);
		p += n;
		addr += n;
		len -= n;
	}
	return 0;
}
