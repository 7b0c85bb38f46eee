/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sim IOMMU backend: the invalidation queue. Hardware-neutral svio_inv
 * requests become PASID-based IOTLB and device-TLB descriptors; a wait is a
 * wait descriptor whose status write stores the low 32 bits of its sequence
 * number into one status word. The queue completes in order, so the word
 * only grows and any cookie at or below it is complete.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include <rte_common.h>
#include <rte_pause.h>

#include "iommu_sim_priv.h"

static uint64_t ptr_pa(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

int sim_iommu_drv_qi_init(struct sim_iommu_drv *d)
{
	int rc;

	d->iq_entries = SIM_IOMMU_IQ_ENTRIES(SIMDRV_IQ_QS);
	d->iq = sim_iommu_drv_zalloc((size_t)d->iq_entries * SIM_IOMMU_IQ_DESC_SIZE);
	/* The status word gets a cache line of its own: pollers spin on it. */
	d->wait_status = sim_iommu_drv_zalloc(RTE_CACHE_LINE_SIZE);
	if (d->iq == NULL || d->wait_status == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	d->iq_tail = 0;
	svio_reg_write64(d->dev, 0, SIM_IOMMU_REG_IQA, ptr_pa(d->iq) | SIMDRV_IQ_QS);
	svio_reg_write64(d->dev, 0, SIM_IOMMU_REG_IQT, 0);
	sim_iommu_drv_set_gcmd(d, SIM_IOMMU_GCMD_QIE, true);
	rc = sim_iommu_drv_poll_reg(d, SIM_IOMMU_REG_GSTS, SIM_IOMMU_GSTS_QIES,
				    SIM_IOMMU_GSTS_QIES);
	if (rc < 0)
		goto out_disable;
	return 0;

out_disable:
	sim_iommu_drv_set_gcmd(d, SIM_IOMMU_GCMD_QIE, false);
out_free:
	free(d->wait_status);
	free(d->iq);
	d->wait_status = NULL;
	d->iq = NULL;
	return rc;
}

void sim_iommu_drv_qi_fini(struct sim_iommu_drv *d)
{
	sim_iommu_drv_set_gcmd(d, SIM_IOMMU_GCMD_QIE, false);
	(void)sim_iommu_drv_poll_reg(d, SIM_IOMMU_REG_GSTS, SIM_IOMMU_GSTS_QIES, 0);
	free(d->wait_status);
	free(d->iq);
	d->wait_status = NULL;
	d->iq = NULL;
}

static unsigned int iq_head(struct sim_iommu_drv *d)
{
	uint64_t h = 0;

	svio_reg_read64(d->dev, 0, SIM_IOMMU_REG_IQH, &h);
	return (unsigned int)(h / SIM_IOMMU_IQ_DESC_SIZE);
}

static void iq_submit(struct sim_iommu_drv *d)
{
	svio_reg_write64(d->dev, 0, SIM_IOMMU_REG_IQT,
			 (uint64_t)d->iq_tail * SIM_IOMMU_IQ_DESC_SIZE);
}

static bool iq_error(struct sim_iommu_drv *d)
{
	uint32_t fsts = 0;

	svio_reg_read32(d->dev, 0, SIM_IOMMU_REG_FSTS, &fsts);
	return fsts & SIM_IOMMU_FSTS_IQE;
}

/*
 * The queue stopped on a bad descriptor: record which waits can never
 * complete, clear the error and restart the queue empty (disabling it
 * resets IQH). iq_lock held. Returns true when there was an error to recover.
 */
static bool iq_recover_locked(struct sim_iommu_drv *d)
{
	uint64_t ercd = 0, head = 0;
	uint32_t done;

	if (!iq_error(d))
		return false;
	svio_reg_read64(d->dev, 0, SIM_IOMMU_REG_IQERCD, &ercd);
	svio_reg_read64(d->dev, 0, SIM_IOMMU_REG_IQH, &head);
	done = __atomic_load_n(d->wait_status, __ATOMIC_ACQUIRE);
	/* Waits after the last completed one were dropped with the queue. */
	__atomic_store_n(&d->fail_lo, d->wait_seq - (uint32_t)((uint32_t)d->wait_seq - done),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&d->fail_hi, d->wait_seq, __ATOMIC_RELEASE);
	d->queue_errors++;
	SIMDRV_LOG(ERR,
		   "%s: invalidation queue error %u at descriptor %u (IQH %#" PRIx64
		   "); waits %" PRIu64 "..%" PRIu64 " fail, queue restarted",
		   d->dev->name, SIM_IOMMU_IQERCD_CODE(ercd), SIM_IOMMU_IQERCD_INDEX(ercd), head,
		   d->fail_lo + 1, d->wait_seq);
	svio_reg_write32(d->dev, 0, SIM_IOMMU_REG_FSTS, SIM_IOMMU_FSTS_IQE);
	sim_iommu_drv_set_gcmd(d, SIM_IOMMU_GCMD_QIE, false);
	(void)sim_iommu_drv_poll_reg(d, SIM_IOMMU_REG_GSTS, SIM_IOMMU_GSTS_QIES, 0);
	d->iq_tail = 0;
	svio_reg_write64(d->dev, 0, SIM_IOMMU_REG_IQT, 0);
	sim_iommu_drv_set_gcmd(d, SIM_IOMMU_GCMD_QIE, true);
	(void)sim_iommu_drv_poll_reg(d, SIM_IOMMU_REG_GSTS, SIM_IOMMU_GSTS_QIES,
				     SIM_IOMMU_GSTS_QIES);
	return true;
}

/*
 * Append one descriptor. When the queue is full, submit what is there and
 * wait for the head to move. -EIO when the queue stopped on an error
 * meanwhile (*recovered is set: report it after unlocking). iq_lock held.
 */
static int iq_push(struct sim_iommu_drv *d, const struct sim_iommu_inv_desc *desc, bool *recovered)
{
	unsigned int next = (d->iq_tail + 1) % d->iq_entries;

	if (next == iq_head(d)) {
		iq_submit(d);
		while (next == iq_head(d)) {
			if (iq_recover_locked(d)) {
				*recovered = true;
				return -EIO;
			}
			rte_pause();
		}
	}
	d->iq[d->iq_tail] = *desc;
	d->iq_tail = next;
	return 0;
}

static void report_error(struct sim_iommu_drv *d, bool recovered)
{
	if (recovered)
		svio_iommu_queue_error(&d->iommu);
}

/* Device-TLB address with the PCIe size encoding for 4 KiB << order. */
static uint64_t devtlb_addr(const struct svio_inv *inv)
{
	if (inv->all)
		return SIM_IOMMU_DEVTLB_ALL | SIM_IOMMU_DEVTLB_S;
	if (inv->order == 0)
		return inv->addr & SIM_IOMMU_DESC_ADDR_MASK;
	return (inv->addr & SIM_IOMMU_DESC_ADDR_MASK) |
	       (((1ull << (inv->order - 1)) - 1) << SIM_IOMMU_PAGE_SHIFT) | SIM_IOMMU_DEVTLB_S;
}

/* Descriptors for one request: 0..2 of them in @p out. -EINVAL names the problem. */
static int build(struct sim_iommu_drv *d, const struct svio_inv *inv,
		 struct sim_iommu_inv_desc *out, unsigned int *n)
{
	uint64_t pasid = (uint64_t)inv->pasid << SIM_IOMMU_DESC_PASID_SHIFT;
	uint64_t size = SIM_IOMMU_PAGE_SIZE << (inv->order < 52 ? inv->order : 0);
	uint32_t rid_pasid;
	bool dte;

	*n = 0;
	if ((inv->pasid >> 20) != 0 || inv->order >= 52 ||
	    (!inv->all && (inv->addr & (size - 1)) != 0)) {
		SIMDRV_LOG(ERR,
			   "%s: invalidation of pasid %u addr %#" PRIx64 " order %u: expected a "
			   "20-bit PASID and an address aligned to its size",
			   d->dev->name, inv->pasid, inv->addr, inv->order);
		return -EINVAL;
	}
	switch (inv->kind) {
	case SVIO_INV_IOTLB:
		out[0].qw0 = SIM_IOMMU_DESC_TYPE_PIOTLB |
			     ((uint64_t)inv->did << SIM_IOMMU_DESC_DID_SHIFT) | pasid;
		/* Past the largest mask the whole (did, pasid) goes: a superset is safe. */
		if (inv->all || inv->order > d->iommu.caps.max_inv_order) {
			out[0].qw0 |= (uint64_t)SIM_IOMMU_PIOTLB_GRAN_PASID
				      << SIM_IOMMU_DESC_GRAN_SHIFT;
			out[0].qw1 = 0;
		} else {
			out[0].qw0 |= (uint64_t)SIM_IOMMU_PIOTLB_GRAN_PAGE
				      << SIM_IOMMU_DESC_GRAN_SHIFT;
			out[0].qw1 = (inv->addr & SIM_IOMMU_DESC_ADDR_MASK) | inv->order;
		}
		*n = 1;
		return 0;
	case SVIO_INV_DEVTLB:
		if (inv->sid > 0xffff ||
		    sim_iommu_drv_ctx_info(d, inv->sid, &rid_pasid, &dte) < 0 || !dte) {
			SIMDRV_LOG(ERR,
				   "%s: device-TLB invalidation for sid %#x: no ATS device "
				   "attached there",
				   d->dev->name, inv->sid);
			return -EINVAL;
		}
		out[0].qw0 = SIM_IOMMU_DESC_TYPE_PDEVTLB |
			     ((uint64_t)inv->sid << SIM_IOMMU_DESC_SID_SHIFT) | pasid;
		out[0].qw1 = devtlb_addr(inv);
		*n = 1;
		/* Untagged requests cache apart from PASID-tagged ones. */
		if (rid_pasid == inv->pasid) {
			out[1].qw0 = SIM_IOMMU_DESC_TYPE_DEVTLB |
				     ((uint64_t)inv->sid << SIM_IOMMU_DESC_SID_SHIFT);
			out[1].qw1 = out[0].qw1;
			*n = 2;
		}
		return 0;
	default:
		SIMDRV_LOG(ERR, "%s: invalidation kind %u unknown (expected IOTLB or DEVTLB)",
			   d->dev->name, inv->kind);
		return -EINVAL;
	}
}

int sim_iommu_drv_inv_post(struct svio_iommu *iommu, const struct svio_inv *inv, unsigned int n)
{
	struct sim_iommu_drv *d = sim_iommu_drv_of(iommu);
	struct sim_iommu_inv_desc desc[2];
	bool recovered = false;
	unsigned int i, j, k;
	int rc = 0;

	/* Check everything first so a bad request posts nothing. */
	for (i = 0; i < n; i++) {
		rc = build(d, &inv[i], desc, &k);
		if (rc < 0)
			return rc;
	}
	pthread_spin_lock(&d->iq_lock);
	for (i = 0; i < n && rc == 0; i++) {
		build(d, &inv[i], desc, &k);
		for (j = 0; j < k && rc == 0; j++)
			rc = iq_push(d, &desc[j], &recovered);
	}
	if (rc == 0)
		iq_submit(d);
	pthread_spin_unlock(&d->iq_lock);
	report_error(d, recovered);
	return rc;
}

int sim_iommu_drv_wait_post(struct svio_iommu *iommu, uint64_t *cookie)
{
	struct sim_iommu_drv *d = sim_iommu_drv_of(iommu);
	struct sim_iommu_inv_desc desc;
	bool recovered = false;
	uint64_t seq;
	int rc;

	pthread_spin_lock(&d->iq_lock);
	seq = d->wait_seq + 1;
	desc.qw0 = SIM_IOMMU_DESC_TYPE_WAIT | SIM_IOMMU_WAIT_SW | SIM_IOMMU_WAIT_FN |
		   ((uint64_t)(uint32_t)seq << SIM_IOMMU_WAIT_DATA_SHIFT);
	desc.qw1 = ptr_pa(d->wait_status);
	rc = iq_push(d, &desc, &recovered);
	if (rc == 0) {
		d->wait_seq = seq;
		iq_submit(d);
	}
	pthread_spin_unlock(&d->iq_lock);
	report_error(d, recovered);
	if (rc < 0)
		return rc;
	*cookie = seq;
	return 0;
}

static int wait_state(struct sim_iommu_drv *d, uint64_t cookie)
{
	uint64_t hi = __atomic_load_n(&d->fail_hi, __ATOMIC_ACQUIRE);
	uint32_t done;

	if (cookie <= hi && cookie > __atomic_load_n(&d->fail_lo, __ATOMIC_RELAXED))
		return -EIO;
	done = __atomic_load_n(d->wait_status, __ATOMIC_ACQUIRE);
	/* Wrap-safe: fewer than 2^31 waits are ever outstanding. */
	if ((int32_t)(done - (uint32_t)cookie) >= 0)
		return 0;
	return -EAGAIN;
}

int sim_iommu_drv_wait_poll(struct svio_iommu *iommu, uint64_t cookie)
{
	struct sim_iommu_drv *d = sim_iommu_drv_of(iommu);
	bool recovered;
	int rc;

	rc = wait_state(d, cookie);
	if (rc != -EAGAIN || !iq_error(d))
		return rc;
	pthread_spin_lock(&d->iq_lock);
	recovered = iq_recover_locked(d);
	pthread_spin_unlock(&d->iq_lock);
	report_error(d, recovered);
	return wait_state(d, cookie);
}

int sim_iommu_drv_page_resp(struct svio_iommu *iommu, const struct svio_page_req *req, int code)
{
	struct sim_iommu_drv *d = sim_iommu_drv_of(iommu);
	struct sim_iommu_inv_desc desc;
	bool recovered = false;
	int rc;

	if (code != SVIO_PAGE_RESP_SUCCESS && code != SVIO_PAGE_RESP_INVALID &&
	    code != SVIO_PAGE_RESP_FAILURE) {
		SIMDRV_LOG(ERR, "%s: page response code %d (expected 0, 1 or 15)", d->dev->name,
			   code);
		return -EINVAL;
	}
	desc.qw0 = SIM_IOMMU_DESC_TYPE_PRESP | SIM_IOMMU_PRESP_PASID_P |
		   ((uint64_t)(req->sid & 0xffff) << SIM_IOMMU_DESC_SID_SHIFT) |
		   ((uint64_t)(req->pasid & 0xfffff) << SIM_IOMMU_DESC_PASID_SHIFT) |
		   ((uint64_t)code << SIM_IOMMU_PRESP_CODE_SHIFT);
	desc.qw1 = ((uint64_t)req->group << SIM_IOMMU_PRESP_PRGI_SHIFT) & SIM_IOMMU_PRESP_PRGI_MASK;
	pthread_spin_lock(&d->iq_lock);
	rc = iq_push(d, &desc, &recovered);
	if (rc == 0)
		iq_submit(d);
	pthread_spin_unlock(&d->iq_lock);
	report_error(d, recovered);
	return rc;
}
