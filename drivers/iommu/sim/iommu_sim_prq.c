/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sim IOMMU backend: the page request queue. The IOMMU raises vector 0 after
 * posting requests; the handler drains the queue on whatever thread raised
 * it, hands each request to the core (which answers through page_resp before
 * returning) and frees the slots by moving PQH.
 */
#include <errno.h>
#include <stdlib.h>

#include "iommu_sim_priv.h"

static uint64_t ptr_pa(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void decode(struct sim_iommu_drv *d, const struct sim_iommu_page_req_desc *desc,
		   struct svio_page_req *req)
{
	uint64_t qw0 = desc->qw[0], qw1 = desc->qw[1];
	uint32_t rid_pasid = 0;
	bool dte;

	req->sid = (uint32_t)((qw0 & SIM_IOMMU_DESC_SID_MASK) >> SIM_IOMMU_DESC_SID_SHIFT);
	if (qw0 & SIM_IOMMU_PREQ_PASID_P) {
		req->pasid =
			(uint32_t)((qw0 & SIM_IOMMU_DESC_PASID_MASK) >> SIM_IOMMU_DESC_PASID_SHIFT);
	} else {
		/* An untagged request faulted in the RID_PASID address space. */
		(void)sim_iommu_drv_ctx_info(d, req->sid, &rid_pasid, &dte);
		req->pasid = rid_pasid;
	}
	req->addr = qw1 & SIM_IOMMU_DESC_ADDR_MASK;
	req->read = qw1 & SIM_IOMMU_PREQ_RD;
	req->write = qw1 & SIM_IOMMU_PREQ_WR;
	req->last = qw1 & SIM_IOMMU_PREQ_LPIG;
	req->group = (uint16_t)((qw1 & SIM_IOMMU_PREQ_PRGI_MASK) >> SIM_IOMMU_PREQ_PRGI_SHIFT);
}

static uint64_t reg64(struct sim_iommu_drv *d, uint64_t off)
{
	uint64_t v = 0;

	svio_reg_read64(d->dev, 0, off, &v);
	return v;
}

static void prq_handler(struct svio_device *dev, unsigned int vector, void *arg)
{
	struct sim_iommu_drv *d = arg;
	uint64_t bytes = (uint64_t)d->pq_entries * SIM_IOMMU_PQ_DESC_SIZE;
	uint64_t head, tail;

	(void)dev;
	(void)vector;
	pthread_mutex_lock(&d->prq_lock);
	head = reg64(d, SIM_IOMMU_REG_PQH);
	for (;;) {
		tail = reg64(d, SIM_IOMMU_REG_PQT);
		if (head == tail) {
			/* Clear PPR, then look once more: a request may have landed meanwhile. */
			svio_reg_write32(d->dev, 0, SIM_IOMMU_REG_PRS, SIM_IOMMU_PRS_PPR);
			tail = reg64(d, SIM_IOMMU_REG_PQT);
			if (head == tail)
				break;
		}
		while (head != tail) {
			struct svio_page_req req;

			decode(d, &d->pq[head / SIM_IOMMU_PQ_DESC_SIZE], &req);
			head = (head + SIM_IOMMU_PQ_DESC_SIZE) % bytes;
			/* The slot is copied out: give it back before the (slow) resolution. */
			svio_reg_write64(d->dev, 0, SIM_IOMMU_REG_PQH, head);
			svio_iommu_page_request(&d->iommu, &req);
		}
	}
	pthread_mutex_unlock(&d->prq_lock);
}

int sim_iommu_drv_prq_init(struct sim_iommu_drv *d)
{
	int rc;

	if (!d->iommu.caps.pri)
		return 0;
	d->pq_entries = SIM_IOMMU_PQ_ENTRIES(SIMDRV_PQ_QS);
	d->pq = sim_iommu_drv_zalloc((size_t)d->pq_entries * SIM_IOMMU_PQ_DESC_SIZE);
	if (d->pq == NULL)
		return -ENOMEM;
	svio_reg_write64(d->dev, 0, SIM_IOMMU_REG_PQA, ptr_pa(d->pq) | SIMDRV_PQ_QS);
	svio_reg_write64(d->dev, 0, SIM_IOMMU_REG_PQH, 0);
	rc = svio_dev_intr_register(d->dev, SIM_IOMMU_PR_VECTOR, prq_handler, d);
	if (rc < 0) {
		SIMDRV_LOG(ERR, "%s: cannot register the page request interrupt (%d)", d->dev->name,
			   rc);
		goto out_queue;
	}
	svio_reg_write32(d->dev, 0, SIM_IOMMU_REG_PECTL, 0);
	return 0;

out_queue:
	svio_reg_write64(d->dev, 0, SIM_IOMMU_REG_PQA, 0);
	free(d->pq);
	d->pq = NULL;
	return rc;
}

void sim_iommu_drv_prq_fini(struct sim_iommu_drv *d)
{
	if (d->pq == NULL)
		return;
	svio_reg_write32(d->dev, 0, SIM_IOMMU_REG_PECTL, SIM_IOMMU_ECTL_IM);
	svio_dev_intr_unregister(d->dev, SIM_IOMMU_PR_VECTOR);
	svio_reg_write64(d->dev, 0, SIM_IOMMU_REG_PQA, 0);
	free(d->pq);
	d->pq = NULL;
}
