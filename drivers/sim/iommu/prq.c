/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Page requests of the IOMMU model: a device with PRI whose access cannot be
 * translated posts a request to the page request queue, the IOMMU raises its
 * interrupt, and the access stalls until a page group response arrives
 * through the invalidation queue (or prq_timeout expires).
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>

#include "iommu_priv.h"

void sim_prq_write_pqa(struct sim_iommu *m, uint64_t val)
{
	pthread_mutex_lock(&m->prq_lock);
	/* A new queue starts empty. */
	__atomic_store_n(&m->pqa, val & (SIM_IOMMU_PQA_ADDR_MASK | SIM_IOMMU_PQA_QS_MASK),
			 __ATOMIC_RELEASE);
	__atomic_store_n(&m->pqh, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&m->pqt, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&m->prq_lock);
}

/* Queue one request; its PRG index in *prgi. 0 or -ENOSPC. prq_lock held. */
static int post_locked(struct sim_iommu *m, uint32_t sid, uint32_t pasid, bool pasid_present,
		       uint64_t addr, bool write, unsigned int *prgi)
{
	uint64_t pqa = __atomic_load_n(&m->pqa, __ATOMIC_ACQUIRE);
	uint64_t head = __atomic_load_n(&m->pqh, __ATOMIC_ACQUIRE);
	uint64_t tail = __atomic_load_n(&m->pqt, __ATOMIC_ACQUIRE);
	struct sim_iommu_page_req_desc *q, *d;
	uint64_t bytes;
	unsigned int i, idx = SIM_PRQ_SLOTS;

	if ((pqa & SIM_IOMMU_PQA_ADDR_MASK) == 0)
		return -ENOSPC;
	bytes = (uint64_t)SIM_IOMMU_PQ_ENTRIES(pqa & SIM_IOMMU_PQA_QS_MASK) *
		SIM_IOMMU_PQ_DESC_SIZE;
	if (head >= bytes || (tail + SIM_IOMMU_PQ_DESC_SIZE) % bytes == head)
		return -ENOSPC;
	for (i = 0; i < SIM_PRQ_SLOTS; i++) {
		unsigned int k = (m->prq_next + i) % SIM_PRQ_SLOTS;

		if (__atomic_load_n(&m->prq_slots[k].state, __ATOMIC_ACQUIRE) == SIM_PRQ_FREE) {
			idx = k;
			break;
		}
	}
	if (idx == SIM_PRQ_SLOTS)
		return -ENOSPC;
	m->prq_next = (idx + 1) % SIM_PRQ_SLOTS;
	m->prq_slots[idx].sid = sid;
	m->prq_slots[idx].code = -1;
	__atomic_store_n(&m->prq_slots[idx].state, SIM_PRQ_PENDING, __ATOMIC_RELEASE);

	q = (struct sim_iommu_page_req_desc *)(uintptr_t)(pqa & SIM_IOMMU_PQA_ADDR_MASK);
	d = &q[tail / SIM_IOMMU_PQ_DESC_SIZE];
	d->qw[0] = ((uint64_t)sid << SIM_IOMMU_DESC_SID_SHIFT) |
		   (pasid_present ? SIM_IOMMU_PREQ_PASID_P |
					    ((uint64_t)pasid << SIM_IOMMU_DESC_PASID_SHIFT)
				  : 0);
	d->qw[1] = (addr & ~0xfffull) | SIM_IOMMU_PREQ_RD | (write ? SIM_IOMMU_PREQ_WR : 0) |
		   SIM_IOMMU_PREQ_LPIG | ((uint64_t)idx << SIM_IOMMU_PREQ_PRGI_SHIFT);
	d->qw[2] = 0;
	d->qw[3] = 0;
	/* The descriptor is in memory before the tail that shows it. */
	__atomic_store_n(&m->pqt, (tail + SIM_IOMMU_PQ_DESC_SIZE) % bytes, __ATOMIC_RELEASE);
	__atomic_fetch_or(&m->prs, SIM_IOMMU_PRS_PPR, __ATOMIC_ACQ_REL);
	*prgi = idx;
	return 0;
}

int sim_prq_request(struct sim_iommu *m, uint32_t sid, uint32_t pasid, bool pasid_present,
		    uint64_t addr, bool write)
{
	struct sim_prq_slot *slot;
	unsigned int prgi;
	uint64_t deadline;
	int rc, code;

	pthread_mutex_lock(&m->prq_lock);
	rc = post_locked(m, sid, pasid, pasid_present, addr, write, &prgi);
	pthread_mutex_unlock(&m->prq_lock);
	if (rc < 0) {
		/* Like hardware on overflow: the request is answered with failure at once. */
		__atomic_fetch_or(&m->prs, SIM_IOMMU_PRS_PRO, __ATOMIC_ACQ_REL);
		sim_ctr_add(m, SIM_IOMMU_CTR_PRQ_OVERFLOW, 1);
		return -EFAULT;
	}
	sim_ctr_add(m, SIM_IOMMU_CTR_PAGE_REQS, 1);
	slot = &m->prq_slots[prgi];

	/* No model lock is held here: an inline handler may answer right away. */
	if (!(__atomic_load_n(&m->pectl, __ATOMIC_ACQUIRE) & SIM_IOMMU_ECTL_IM))
		(void)svio_dev_intr_raise(m->dev, SIM_IOMMU_PR_VECTOR);

	deadline = sim_now_ns() + m->prq_timeout_ns;
	while (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) != SIM_PRQ_ANSWERED) {
		if (sim_now_ns() > deadline)
			break;
		sched_yield();
	}
	pthread_mutex_lock(&m->prq_lock);
	if (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) == SIM_PRQ_ANSWERED)
		code = slot->code;
	else
		code = -1;
	__atomic_store_n(&slot->state, SIM_PRQ_FREE, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&m->prq_lock);

	if (code < 0) {
		sim_ctr_add(m, SIM_IOMMU_CTR_PAGE_REQ_TIMEOUT, 1);
		SIM_IOMMU_LOG(WARNING,
			      "%s: page request sid %04x addr %#" PRIx64
			      " got no response in %" PRIu64 " ms",
			      m->dev->name, sid, addr, m->prq_timeout_ns / 1000000);
		return -EFAULT;
	}
	if (code != 0) {
		sim_ctr_add(m, SIM_IOMMU_CTR_PAGE_RESP_FAIL, 1);
		return -EFAULT;
	}
	sim_ctr_add(m, SIM_IOMMU_CTR_PAGE_RESP_OK, 1);
	return 0;
}

void sim_prq_respond(struct sim_iommu *m, uint32_t sid, unsigned int prgi, int code)
{
	struct sim_prq_slot *slot = &m->prq_slots[prgi % SIM_PRQ_SLOTS];

	pthread_mutex_lock(&m->prq_lock);
	if (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) == SIM_PRQ_PENDING &&
	    slot->sid == sid) {
		slot->code = code;
		__atomic_store_n(&slot->state, SIM_PRQ_ANSWERED, __ATOMIC_RELEASE);
	} else {
		SIM_IOMMU_LOG(DEBUG, "%s: response for sid %04x group %u matches no request",
			      m->dev->name, sid, prgi);
	}
	pthread_mutex_unlock(&m->prq_lock);
}
