/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The invalidation queue of the IOMMU model: 128-bit descriptors in driver
 * memory between IQH and IQT, processed in order either by whoever writes IQT
 * (inline mode) or by the model's own thread (mode=thread). Each descriptor
 * really costs its configured time; that time is spent without iq_lock so a
 * driver can keep appending while the queue works.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "iommu_priv.h"

/* Bits each descriptor type may use; anything else is reserved. */
static const uint64_t type_bits_hi = 0xe00; /* qw0 11:9, the high type bits */

static uint64_t iq_bytes(uint64_t iqa)
{
	return (uint64_t)SIM_IOMMU_IQ_ENTRIES(iqa & SIM_IOMMU_IQA_QS_MASK) * SIM_IOMMU_IQ_DESC_SIZE;
}

static enum sim_cost cost_kind(unsigned int type)
{
	switch (type) {
	case SIM_IOMMU_DESC_TYPE_IOTLB:
	case SIM_IOMMU_DESC_TYPE_PIOTLB:
		return SIM_COST_IOTLB;
	case SIM_IOMMU_DESC_TYPE_DEVTLB:
	case SIM_IOMMU_DESC_TYPE_PDEVTLB:
		return SIM_COST_DEVTLB;
	case SIM_IOMMU_DESC_TYPE_WAIT:
		return SIM_COST_WAIT;
	default:
		return SIM_COST_OTHER;
	}
}

static int iotlb_range(struct sim_iommu *m, uint64_t qw1, struct sim_inv_match *mt)
{
	unsigned int am = (unsigned int)(qw1 & SIM_IOMMU_DESC_AM_MASK);
	uint64_t addr = qw1 & SIM_IOMMU_DESC_ADDR_MASK, size;

	if (am > SIM_IOMMU_CAP_MAMV(m->cap))
		return SIM_IOMMU_IQE_MASK;
	size = SIM_IOMMU_PAGE_SIZE << am;
	if (addr & (size - 1))
		return SIM_IOMMU_IQE_ALIGN;
	mt->start = addr;
	mt->last = addr + size - 1;
	return 0;
}

/* PCIe ATS size encoding: S = 1 and n trailing ones in ADDR 63:12 -> 4 KiB << (n + 1). */
static void devtlb_range(uint64_t qw1, bool s, struct sim_inv_match *mt)
{
	uint64_t pfn = (qw1 & SIM_IOMMU_DESC_ADDR_MASK) >> SIM_IOMMU_PAGE_SHIFT;
	unsigned int n;
	uint64_t size;

	if (!s) {
		mt->start = pfn << SIM_IOMMU_PAGE_SHIFT;
		mt->last = mt->start + SIM_IOMMU_PAGE_SIZE - 1;
		return;
	}
	n = (unsigned int)__builtin_ctzll(~pfn);
	if (n >= 51) {
		mt->any_addr = true;
		return;
	}
	size = SIM_IOMMU_PAGE_SIZE << (n + 1);
	mt->start = (pfn << SIM_IOMMU_PAGE_SHIFT) & ~(size - 1);
	mt->last = mt->start + size - 1;
}

/*
 * lose_inv=N: a defective IOMMU that accepts every Nth IOTLB or device-TLB
 * invalidation and does nothing, so tests can prove the stale-use checker and
 * whoever reports it. Asked only once a descriptor proved well formed (a
 * malformed one still raises its queue error). Only the queue's single
 * executor gets here.
 */
static bool lose_this_inv(struct sim_iommu *m)
{
	if (m->lose_inv_every == 0 || ++m->inv_seen % m->lose_inv_every != 0)
		return false;
	sim_ctr_add(m, SIM_IOMMU_CTR_LOST_INV, 1);
	return true;
}

static int exec_iotlb(struct sim_iommu *m, const struct sim_iommu_inv_desc *d, bool pasid_based)
{
	const uint64_t qw0_ok = 0xf | SIM_IOMMU_DESC_GRAN_MASK | SIM_IOMMU_DESC_DID_MASK |
				(pasid_based ? SIM_IOMMU_DESC_PASID_MASK : 0);
	const uint64_t qw1_ok =
		SIM_IOMMU_DESC_ADDR_MASK | SIM_IOMMU_DESC_IH | SIM_IOMMU_DESC_AM_MASK;
	unsigned int gran =
		(unsigned int)((d->qw0 & SIM_IOMMU_DESC_GRAN_MASK) >> SIM_IOMMU_DESC_GRAN_SHIFT);
	struct sim_inv_match mt = { .any_pasid = !pasid_based };
	unsigned int n;
	int rc;

	if ((d->qw0 & ~qw0_ok) || (d->qw1 & ~qw1_ok))
		return SIM_IOMMU_IQE_RESERVED;
	mt.did = (uint16_t)((d->qw0 & SIM_IOMMU_DESC_DID_MASK) >> SIM_IOMMU_DESC_DID_SHIFT);
	mt.pasid = (uint32_t)((d->qw0 & SIM_IOMMU_DESC_PASID_MASK) >> SIM_IOMMU_DESC_PASID_SHIFT);
	if (!pasid_based && gran == SIM_IOMMU_IOTLB_GRAN_GLOBAL) {
		mt.any_did = true;
		mt.any_addr = true;
	} else if ((!pasid_based && gran == SIM_IOMMU_IOTLB_GRAN_DOMAIN) ||
		   (pasid_based && gran == SIM_IOMMU_PIOTLB_GRAN_PASID)) {
		mt.any_addr = true;
	} else if (gran == SIM_IOMMU_IOTLB_GRAN_PAGE) {
		rc = iotlb_range(m, d->qw1, &mt);
		if (rc != 0)
			return rc;
	} else {
		return SIM_IOMMU_IQE_GRAN;
	}
	if (lose_this_inv(m))
		return 0; /* a well-formed descriptor, accepted and dropped */
	pthread_spin_lock(&m->cache_lock);
	n = sim_tlb_invalidate(m, &m->iotlb, &mt);
	pthread_spin_unlock(&m->cache_lock);
	sim_ctr_add(m, SIM_IOMMU_CTR_INV_ENTRIES, n);
	return 0;
}

static int exec_devtlb(struct sim_iommu *m, const struct sim_iommu_inv_desc *d, bool pasid_based)
{
	const uint64_t qw0_ok =
		0xf | SIM_IOMMU_DESC_SID_MASK | (pasid_based ? SIM_IOMMU_DESC_PASID_MASK : 0);
	const uint64_t qw1_ok = SIM_IOMMU_DESC_ADDR_MASK | SIM_IOMMU_DEVTLB_S |
				(pasid_based ? SIM_IOMMU_PDEVTLB_GLOB : 0);
	uint32_t sid = (uint32_t)((d->qw0 & SIM_IOMMU_DESC_SID_MASK) >> SIM_IOMMU_DESC_SID_SHIFT);
	struct sim_inv_match mt = { .any_did = true };
	struct sim_ctx ctx;
	struct sim_atc *atc;
	unsigned int n = 0;

	if ((d->qw0 & ~qw0_ok) || (d->qw1 & ~qw1_ok))
		return SIM_IOMMU_IQE_RESERVED;
	if (!(m->ecap & SIM_IOMMU_ECAP_DT) || sim_ctx_lookup(m, sid, &ctx) < 0 || !ctx.dte)
		return SIM_IOMMU_IQE_NO_ATS;
	if (!pasid_based)
		mt.pasid = SIM_PASID_NONE;
	else if (d->qw1 & SIM_IOMMU_PDEVTLB_GLOB)
		mt.any_pasid = mt.any_addr = true;
	else
		mt.pasid = (uint32_t)((d->qw0 & SIM_IOMMU_DESC_PASID_MASK) >>
				      SIM_IOMMU_DESC_PASID_SHIFT);
	if (!mt.any_addr)
		devtlb_range(d->qw1, d->qw1 & SIM_IOMMU_DEVTLB_S, &mt);
	if (lose_this_inv(m))
		return 0;
	pthread_spin_lock(&m->cache_lock);
	atc = sim_atc_get(m, sid, false);
	if (atc != NULL)
		n = sim_tlb_invalidate(m, &atc->tlb, &mt);
	pthread_spin_unlock(&m->cache_lock);
	sim_ctr_add(m, SIM_IOMMU_CTR_INV_ENTRIES, n);
	return 0;
}

static int exec_wait(struct sim_iommu *m, const struct sim_iommu_inv_desc *d)
{
	const uint64_t qw0_ok = 0xf | SIM_IOMMU_WAIT_IF | SIM_IOMMU_WAIT_SW | SIM_IOMMU_WAIT_FN |
				(0xffffffffull << SIM_IOMMU_WAIT_DATA_SHIFT);
	uint64_t addr = d->qw1;

	if (d->qw0 & ~qw0_ok)
		return SIM_IOMMU_IQE_RESERVED;
	if ((d->qw0 & SIM_IOMMU_WAIT_SW) && (addr == 0 || (addr & 3)))
		return SIM_IOMMU_IQE_ALIGN;
	/* Mark what this wait failed to cover before the driver can see it complete. */
	pthread_spin_lock(&m->cache_lock);
	sim_stale_complete(m);
	pthread_spin_unlock(&m->cache_lock);
	if (d->qw0 & SIM_IOMMU_WAIT_SW)
		__atomic_store_n((uint32_t *)(uintptr_t)addr,
				 (uint32_t)(d->qw0 >> SIM_IOMMU_WAIT_DATA_SHIFT), __ATOMIC_RELEASE);
	if (d->qw0 & SIM_IOMMU_WAIT_IF)
		__atomic_fetch_or(&m->ics, SIM_IOMMU_ICS_IWC, __ATOMIC_ACQ_REL);
	return 0;
}

static int exec_presp(struct sim_iommu *m, const struct sim_iommu_inv_desc *d)
{
	const uint64_t qw0_ok = 0xf | SIM_IOMMU_PRESP_PASID_P | SIM_IOMMU_DESC_SID_MASK |
				SIM_IOMMU_DESC_PASID_MASK | (0xfull << SIM_IOMMU_PRESP_CODE_SHIFT);
	unsigned int code = (unsigned int)(d->qw0 >> SIM_IOMMU_PRESP_CODE_SHIFT);
	uint32_t sid = (uint32_t)((d->qw0 & SIM_IOMMU_DESC_SID_MASK) >> SIM_IOMMU_DESC_SID_SHIFT);

	if ((d->qw0 & ~qw0_ok) || (d->qw1 & ~SIM_IOMMU_PRESP_PRGI_MASK))
		return SIM_IOMMU_IQE_RESERVED;
	if (code != 0 && code != 1 && code != 0xf)
		return SIM_IOMMU_IQE_RESERVED;
	sim_prq_respond(
		m, sid,
		(unsigned int)((d->qw1 & SIM_IOMMU_PRESP_PRGI_MASK) >> SIM_IOMMU_PRESP_PRGI_SHIFT),
		(int)code);
	return 0;
}

/* Execute one descriptor: 0, or an enum sim_iommu_iqe code. */
static int exec_desc(struct sim_iommu *m, const struct sim_iommu_inv_desc *d)
{
	unsigned int type = SIM_IOMMU_DESC_TYPE(d->qw0);
	int rc;

	if (d->qw0 & type_bits_hi)
		return SIM_IOMMU_IQE_TYPE;
	switch (type) {
	case SIM_IOMMU_DESC_TYPE_CC:
	case SIM_IOMMU_DESC_TYPE_PC:
		rc = 0; /* nothing of the context or PASID tables is cached */
		break;
	case SIM_IOMMU_DESC_TYPE_IOTLB:
		rc = exec_iotlb(m, d, false);
		break;
	case SIM_IOMMU_DESC_TYPE_PIOTLB:
		rc = exec_iotlb(m, d, true);
		break;
	case SIM_IOMMU_DESC_TYPE_DEVTLB:
		rc = exec_devtlb(m, d, false);
		break;
	case SIM_IOMMU_DESC_TYPE_PDEVTLB:
		rc = exec_devtlb(m, d, true);
		break;
	case SIM_IOMMU_DESC_TYPE_WAIT:
		rc = exec_wait(m, d);
		break;
	case SIM_IOMMU_DESC_TYPE_PRESP:
		rc = exec_presp(m, d);
		break;
	default:
		return SIM_IOMMU_IQE_TYPE;
	}
	if (rc == 0) {
		static const enum sim_iommu_ctr ctr[] = {
			[SIM_IOMMU_DESC_TYPE_CC] = SIM_IOMMU_CTR_DESC_CC,
			[SIM_IOMMU_DESC_TYPE_IOTLB] = SIM_IOMMU_CTR_DESC_IOTLB,
			[SIM_IOMMU_DESC_TYPE_DEVTLB] = SIM_IOMMU_CTR_DESC_DEVTLB,
			[SIM_IOMMU_DESC_TYPE_WAIT] = SIM_IOMMU_CTR_DESC_WAIT,
			[SIM_IOMMU_DESC_TYPE_PIOTLB] = SIM_IOMMU_CTR_DESC_PIOTLB,
			[SIM_IOMMU_DESC_TYPE_PC] = SIM_IOMMU_CTR_DESC_PC,
			[SIM_IOMMU_DESC_TYPE_PDEVTLB] = SIM_IOMMU_CTR_DESC_PDEVTLB,
			[SIM_IOMMU_DESC_TYPE_PRESP] = SIM_IOMMU_CTR_DESC_PRESP,
		};
		sim_ctr_add(m, ctr[type], 1);
	}
	return rc;
}

static void raise_iqe(struct sim_iommu *m, int code, uint64_t head,
		      const struct sim_iommu_inv_desc *d)
{
	uint64_t index = head / SIM_IOMMU_IQ_DESC_SIZE;

	__atomic_store_n(&m->iqercd, (uint64_t)code | (index << 16), __ATOMIC_RELEASE);
	__atomic_fetch_or(&m->fsts, SIM_IOMMU_FSTS_IQE, __ATOMIC_ACQ_REL);
	sim_ctr_add(m, SIM_IOMMU_CTR_QUEUE_ERRORS, 1);
	SIM_IOMMU_LOG(WARNING,
		      "%s: invalidation queue error %d at descriptor %" PRIu64 " (%#" PRIx64
		      " %#" PRIx64 "): processing stopped",
		      m->dev->name, code, index, d->qw0, d->qw1);
}

/*
 * Process descriptors until the queue is empty, disabled or in error.
 * Called with iq_lock held and m->iq_busy claimed; drops iq_lock while a
 * descriptor's cost is spent.
 */
static void iq_run(struct sim_iommu *m)
{
	for (;;) {
		const struct sim_iommu_inv_desc *q;
		struct sim_iommu_inv_desc d;
		uint64_t head, tail, iqa, gen, cost;
		int rc;

		if (!(__atomic_load_n(&m->gsts, __ATOMIC_ACQUIRE) & SIM_IOMMU_GSTS_QIES) ||
		    (__atomic_load_n(&m->fsts, __ATOMIC_ACQUIRE) & SIM_IOMMU_FSTS_IQE))
			break;
		head = m->iqh;
		tail = m->iqt;
		if (head == tail)
			break;
		iqa = m->iqa;
		q = (const void *)(uintptr_t)(iqa & SIM_IOMMU_IQA_ADDR_MASK);
		d = q[head / SIM_IOMMU_IQ_DESC_SIZE];
		gen = m->iq_gen;
		cost = m->cost_ns[cost_kind(SIM_IOMMU_DESC_TYPE(d.qw0))];
		if (cost != 0) {
			pthread_mutex_unlock(&m->iq_lock);
			sim_spend_ns(cost);
			pthread_mutex_lock(&m->iq_lock);
			if (gen != m->iq_gen)
				continue; /* the queue was reset meanwhile: the descriptor is gone
					   */
			sim_ctr_add(m, SIM_IOMMU_CTR_COST_NS, cost);
		}
		rc = exec_desc(m, &d);
		if (rc != 0) {
			raise_iqe(m, rc, head, &d);
			break;
		}
		__atomic_store_n(&m->iqh, (head + SIM_IOMMU_IQ_DESC_SIZE) % iq_bytes(iqa),
				 __ATOMIC_RELEASE);
	}
}

/* Run the queue in this thread unless someone else already does. iq_lock held. */
static void iq_drain(struct sim_iommu *m)
{
	if (m->iq_busy)
		return;
	m->iq_busy = true;
	iq_run(m);
	m->iq_busy = false;
}

static void kick_thread(struct sim_iommu *m)
{
	pthread_mutex_lock(&m->thr_lock);
	m->thr_kick = true;
	pthread_cond_signal(&m->thr_cond);
	pthread_mutex_unlock(&m->thr_lock);
}

static unsigned int count_waits(const struct sim_iommu_inv_desc *q, uint64_t from, uint64_t to,
				uint64_t bytes)
{
	unsigned int n = 0;

	for (; from != to; from = (from + SIM_IOMMU_IQ_DESC_SIZE) % bytes) {
		if (SIM_IOMMU_DESC_TYPE(q[from / SIM_IOMMU_IQ_DESC_SIZE].qw0) ==
		    SIM_IOMMU_DESC_TYPE_WAIT)
			n++;
	}
	return n;
}

void sim_qi_write_tail(struct sim_iommu *m, uint64_t val)
{
	uint64_t old, bytes;
	unsigned int waits;

	pthread_mutex_lock(&m->iq_lock);
	if (!(__atomic_load_n(&m->gsts, __ATOMIC_ACQUIRE) & SIM_IOMMU_GSTS_QIES)) {
		/* Disabled: the driver sets up the tail before enabling. */
		__atomic_store_n(&m->iqt, val, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&m->iq_lock);
		return;
	}
	bytes = iq_bytes(m->iqa);
	old = m->iqt;
	if (val >= bytes || val % SIM_IOMMU_IQ_DESC_SIZE != 0) {
		struct sim_iommu_inv_desc none = { 0, val };

		raise_iqe(m, SIM_IOMMU_IQE_TAIL, m->iqh, &none);
		pthread_mutex_unlock(&m->iq_lock);
		return;
	}
	if (val == old) {
		pthread_mutex_unlock(&m->iq_lock);
		return;
	}
	__atomic_store_n(&m->iqt, val, __ATOMIC_RELEASE);
	sim_ctr_add(m, SIM_IOMMU_CTR_SUBMITS, 1);
	waits = count_waits((const void *)(uintptr_t)(m->iqa & SIM_IOMMU_IQA_ADDR_MASK), old, val,
			    bytes);
	if (waits > 0) {
		pthread_spin_lock(&m->cache_lock);
		sim_stale_premark(m, waits);
		pthread_spin_unlock(&m->cache_lock);
	}
	if (!m->thread_mode) {
		/* The doorbell's cost is the writer's, like an MMIO write. */
		pthread_mutex_unlock(&m->iq_lock);
		sim_spend_ns(m->cost_ns[SIM_COST_SUBMIT]);
		pthread_mutex_lock(&m->iq_lock);
		iq_drain(m);
		pthread_mutex_unlock(&m->iq_lock);
		return;
	}
	pthread_mutex_unlock(&m->iq_lock);
	sim_spend_ns(m->cost_ns[SIM_COST_SUBMIT]);
	kick_thread(m);
}

/* Drop everything submitted: waits that were submitted will never complete. */
static void iq_reset(struct sim_iommu *m)
{
	m->iq_gen++;
	__atomic_store_n(&m->iqh, 0, __ATOMIC_RELEASE);
	pthread_spin_lock(&m->cache_lock);
	m->waits_submitted = m->waits_done;
	pthread_spin_unlock(&m->cache_lock);
}

void sim_qi_enable(struct sim_iommu *m, bool on)
{
	pthread_mutex_lock(&m->iq_lock);
	if (on) {
		uint64_t iqa = m->iqa;

		if ((iqa & SIM_IOMMU_IQA_ADDR_MASK) == 0 || (iqa & SIM_IOMMU_IQA_DW)) {
			SIM_IOMMU_LOG(ERR, "%s: QIE with no queue (IQA %#" PRIx64 ") ignored",
				      m->dev->name, iqa);
		} else {
			iq_reset(m);
			__atomic_fetch_or(&m->gsts, SIM_IOMMU_GSTS_QIES, __ATOMIC_ACQ_REL);
		}
	} else {
		__atomic_fetch_and(&m->gsts, ~SIM_IOMMU_GSTS_QIES, __ATOMIC_ACQ_REL);
		iq_reset(m);
	}
	pthread_mutex_unlock(&m->iq_lock);
	if (on && m->thread_mode)
		kick_thread(m);
}

void sim_qi_write_iqa(struct sim_iommu *m, uint64_t val)
{
	pthread_mutex_lock(&m->iq_lock);
	/* Like VT-d, IQA may only change while the queue is disabled. */
	if (!(__atomic_load_n(&m->gsts, __ATOMIC_ACQUIRE) & SIM_IOMMU_GSTS_QIES))
		__atomic_store_n(
			&m->iqa,
			val & (SIM_IOMMU_IQA_ADDR_MASK | SIM_IOMMU_IQA_DW | SIM_IOMMU_IQA_QS_MASK),
			__ATOMIC_RELEASE);
	pthread_mutex_unlock(&m->iq_lock);
}

static void *qi_thread(void *arg)
{
	struct sim_iommu *m = arg;

	pthread_mutex_lock(&m->thr_lock);
	while (!m->thr_stop) {
		if (!m->thr_kick) {
			pthread_cond_wait(&m->thr_cond, &m->thr_lock);
			continue;
		}
		m->thr_kick = false;
		pthread_mutex_unlock(&m->thr_lock);
		pthread_mutex_lock(&m->iq_lock);
		iq_drain(m);
		pthread_mutex_unlock(&m->iq_lock);
		pthread_mutex_lock(&m->thr_lock);
	}
	pthread_mutex_unlock(&m->thr_lock);
	return NULL;
}

int sim_qi_start(struct sim_iommu *m)
{
	int rc = pthread_create(&m->thr, NULL, qi_thread, m);

	if (rc != 0) {
		SIM_IOMMU_LOG(ERR, "%s: cannot start the queue thread: %s", m->dev->name,
			      strerror(rc));
		return -rc;
	}
	m->thr_running = true;
	return 0;
}

void sim_qi_stop(struct sim_iommu *m)
{
	if (!m->thr_running)
		return;
	pthread_mutex_lock(&m->thr_lock);
	m->thr_stop = true;
	pthread_cond_signal(&m->thr_cond);
	pthread_mutex_unlock(&m->thr_lock);
	pthread_join(m->thr, NULL);
	m->thr_running = false;
}
