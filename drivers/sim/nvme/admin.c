/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe model: the admin command set. Runs with the admin group lock
 * (cq[0].lock) held; commands that touch an I/O queue group take its lock
 * too (lock order: cq[0] first).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim_nvme_priv.h"

static uint16_t gen(uint8_t code)
{
	return NVME_SF(NVME_SCT_GENERIC, code);
}

static uint16_t spec(uint8_t code)
{
	return NVME_SF(NVME_SCT_CMD_SPECIFIC, code);
}

static void pad_copy(char *dst, size_t n, const char *src)
{
	size_t len = strlen(src);

	memset(dst, ' ', n);
	memcpy(dst, src, len < n ? len : n);
}

static uint16_t identify_ctrlr(struct sim_nvme *c, const struct nvme_sqe *sqe)
{
	struct nvme_id_ctrlr id;
	char sn[21];

	memset(&id, 0, sizeof(id));
	id.vid = 0x1b36; /* a vendor id that means "emulated", like QEMU's */
	id.ssvid = 0x1af4;
	snprintf(sn, sizeof(sn), "SVIOSIM%04d", sim_dev_index(c->dev));
	pad_copy(id.sn, sizeof(id.sn), sn);
	pad_copy(id.mn, sizeof(id.mn), "svio simulated NVMe controller");
	pad_copy(id.fr, sizeof(id.fr), "1.0");
	id.mdts = (uint8_t)c->mdts;
	id.cntlid = (uint16_t)(sim_dev_index(c->dev) + 1);
	id.ver = NVME_VS_1_4;
	id.acl = SIM_NVME_ACL;
	id.aerl = SIM_NVME_AERL;
	id.lpa = 0;
	id.elpe = SIM_NVME_ERRLOG - 1;
	id.sqes = (NVME_SQES_LOG2 << 4) | NVME_SQES_LOG2;
	id.cqes = (NVME_CQES_LOG2 << 4) | NVME_CQES_LOG2;
	id.maxcmd = (uint16_t)(c->mqes + 1);
	id.nn = c->ns[c->nns - 1].nsid;
	id.oncs = NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES;
	id.vwc = 1;
	snprintf(id.subnqn, sizeof(id.subnqn), "nqn.2024-01.io.svio:sim-nvme%d",
		 sim_dev_index(c->dev));
	return sim_nvme_prp_xfer(c, sqe, &id, sizeof(id), true);
}

static uint16_t identify_ns(struct sim_nvme *c, const struct nvme_sqe *sqe)
{
	const struct sim_nvme_ns *ns = sim_nvme_ns_find(c, sqe->nsid);
	struct nvme_id_ns id;

	if (sqe->nsid == 0 || sqe->nsid > c->ns[c->nns - 1].nsid)
		return gen(NVME_SC_INVALID_NS);
	memset(&id, 0, sizeof(id));
	/* Ids below the first namespace's are valid but inactive: all zeroes. */
	if (ns != NULL) {
		id.nsze = ns->nsze;
		id.ncap = ns->nsze;
		id.nuse = ns->nsze;
		id.nsfeat = 0x1; /* thin provisioning: deallocation frees */
		id.nlbaf = (uint8_t)(sim_nvme_ns_lbaf_list(id.lbaf) - 1);
		id.flbas = (uint8_t)sim_nvme_ns_lbaf_index(ns);
		if (ns->extended)
			id.flbas |= NVME_FLBAS_EXTENDED;
		id.mc = NVME_MC_EXTENDED | NVME_MC_SEPARATE;
		id.dpc = NVME_DPC_ALL;
		id.dps = ns->pi;
		id.dlfeat =
			0x1 | 0x8; /* deallocated blocks read zeroes; Write Zeroes may deallocate */
	}
	return sim_nvme_prp_xfer(c, sqe, &id, sizeof(id), true);
}

static uint16_t identify_active(struct sim_nvme *c, const struct nvme_sqe *sqe)
{
	uint32_t list[1024];
	unsigned int i, n = 0;

	if (sqe->nsid >= 0xfffffffeu)
		return gen(NVME_SC_INVALID_NS);
	memset(list, 0, sizeof(list));
	for (i = 0; i < c->nns; i++)
		if (c->ns[i].nsid > sqe->nsid)
			list[n++] = c->ns[i].nsid;
	return sim_nvme_prp_xfer(c, sqe, list, sizeof(list), true);
}

static uint16_t identify(struct sim_nvme *c, const struct nvme_sqe *sqe)
{
	switch (sqe->cdw10 & 0xff) {
	case NVME_CNS_NS:
		return identify_ns(c, sqe);
	case NVME_CNS_CTRLR:
		return identify_ctrlr(c, sqe);
	case NVME_CNS_ACTIVE_NSID:
		return identify_active(c, sqe);
	default:
		return gen(NVME_SC_INVALID_FIELD);
	}
}

/* Queue ids the host may use: 1..allocated (Set Features) and never more than offered. */
static bool io_qid_ok(struct sim_nvme *c, uint16_t qid, bool sq)
{
	return qid >= 1 && qid <= (sq ? c->nsq_alloc : c->ncq_alloc);
}

static uint16_t check_queue(struct sim_nvme *c, const struct nvme_sqe *sqe, uint32_t *size)
{
	uint32_t qsize = sqe->cdw10 >> 16;

	if (qsize == 0 || qsize > c->mqes)
		return spec(NVME_SC_INVALID_QSIZE);
	if (!(sqe->cdw11 & NVME_QUEUE_PC))
		return gen(NVME_SC_INVALID_FIELD); /* CAP.CQR: queues must be contiguous */
	if (sqe->prp1 & (NVME_PAGE_SIZE - 1))
		return gen(NVME_SC_INVALID_PRP_OFFSET);
	*size = qsize + 1;
	return 0;
}

static uint16_t create_cq(struct sim_nvme *c, const struct nvme_sqe *sqe)
{
	uint16_t qid = sqe->cdw10 & 0xffff, iv = sqe->cdw11 >> 16;
	struct sim_nvme_cq *cq;
	uint32_t size;
	uint16_t st;

	if (!io_qid_ok(c, qid, false) || atomic_load(&c->cq[qid].live))
		return spec(NVME_SC_INVALID_QID);
	st = check_queue(c, sqe, &size);
	if (st != 0)
		return st;
	if ((sqe->cdw11 & NVME_CQ_IEN) && iv >= SVIO_DEV_MAX_VECTORS)
		return spec(NVME_SC_INVALID_VECTOR);
	cq = &c->cq[qid];
	pthread_mutex_lock(&cq->lock);
	cq->size = size;
	cq->base = sqe->prp1;
	cq->tail = 0;
	cq->phase = 1;
	cq->ien = sqe->cdw11 & NVME_CQ_IEN;
	cq->iv = iv;
	cq->nsq = 0;
	atomic_store_explicit(&cq->head, 0, memory_order_relaxed);
	atomic_store_explicit(&cq->live, true, memory_order_release);
	pthread_mutex_unlock(&cq->lock);
	return 0;
}

static uint16_t create_sq(struct sim_nvme *c, const struct nvme_sqe *sqe)
{
	uint16_t qid = sqe->cdw10 & 0xffff, cqid = sqe->cdw11 >> 16;
	struct sim_nvme_cq *cq;
	uint32_t size;
	uint16_t st;

	if (!io_qid_ok(c, qid, true) || atomic_load(&c->sq[qid].live))
		return spec(NVME_SC_INVALID_QID);
	if (cqid == 0 || cqid > SIM_NVME_MAX_QUEUES || !atomic_load(&c->cq[cqid].live))
		return spec(NVME_SC_CQ_INVALID);
	st = check_queue(c, sqe, &size);
	if (st != 0)
		return st;
	cq = &c->cq[cqid];
	pthread_mutex_lock(&cq->lock);
	if (sim_nvme_sq_setup(&c->sq[qid], qid, cqid, size, sqe->prp1) < 0) {
		pthread_mutex_unlock(&cq->lock);
		return gen(NVME_SC_INTERNAL);
	}
	cq->nsq++;
	atomic_store_explicit(&c->sq[qid].live, true, memory_order_release);
	pthread_mutex_unlock(&cq->lock);
	return 0;
}

static uint16_t delete_sq(struct sim_nvme *c, const struct nvme_sqe *sqe)
{
	uint16_t qid = sqe->cdw10 & 0xffff;
	struct sim_nvme_sq *sq;
	struct sim_nvme_cq *cq;

	if (qid == 0 || qid > SIM_NVME_MAX_QUEUES || !atomic_load(&c->sq[qid].live))
		return spec(NVME_SC_INVALID_QID);
	sq = &c->sq[qid];
	cq = &c->cq[sq->cqid];
	pthread_mutex_lock(&cq->lock);
	atomic_store(&sq->live, false);
	sim_nvme_sq_teardown(c, sq);
	cq->nsq--;
	pthread_mutex_unlock(&cq->lock);
	return 0;
}

static uint16_t delete_cq(struct sim_nvme *c, const struct nvme_sqe *sqe)
{
	uint16_t qid = sqe->cdw10 & 0xffff;
	struct sim_nvme_cq *cq;
	uint16_t st = 0;

	if (qid == 0 || qid > SIM_NVME_MAX_QUEUES || !atomic_load(&c->cq[qid].live))
		return spec(NVME_SC_INVALID_QID);
	cq = &c->cq[qid];
	pthread_mutex_lock(&cq->lock);
	if (cq->nsq > 0)
		st = spec(NVME_SC_INVALID_QUEUE_DELETION);
	else
		atomic_store(&cq->live, false);
	pthread_mutex_unlock(&cq->lock);
	return st;
}

static uint16_t set_features(struct sim_nvme *c, const struct nvme_sqe *sqe, uint32_t *cdw0)
{
	uint32_t nsqr = sqe->cdw11 & 0xffff, ncqr = sqe->cdw11 >> 16;

	if (sqe->cdw10 & (1u << 31))
		return spec(NVME_SC_FEATURE_NOT_SAVEABLE);
	switch (sqe->cdw10 & 0xff) {
	case NVME_FEAT_NUM_QUEUES:
		if (nsqr == 0xffff || ncqr == 0xffff)
			return gen(NVME_SC_INVALID_FIELD);
		/* Only before I/O queues exist; afterwards the allocation stands. */
		for (uint32_t q = 1; q <= SIM_NVME_MAX_QUEUES; q++)
			if (atomic_load(&c->sq[q].live) || atomic_load(&c->cq[q].live))
				return gen(NVME_SC_CMD_SEQ_ERROR);
		c->nsq_alloc = nsqr + 1 < c->nqueues ? nsqr + 1 : c->nqueues;
		c->ncq_alloc = ncqr + 1 < c->nqueues ? ncqr + 1 : c->nqueues;
		*cdw0 = (c->ncq_alloc - 1) << 16 | (c->nsq_alloc - 1);
		return 0;
	case NVME_FEAT_VWC:
		c->vwc = sqe->cdw11 & 1;
		return 0;
	default:
		return gen(NVME_SC_INVALID_FIELD);
	}
}

static uint16_t get_features(struct sim_nvme *c, const struct nvme_sqe *sqe, uint32_t *cdw0)
{
	switch (sqe->cdw10 & 0xff) {
	case NVME_FEAT_NUM_QUEUES:
		*cdw0 = (c->ncq_alloc - 1) << 16 | (c->nsq_alloc - 1);
		return 0;
	case NVME_FEAT_VWC:
		*cdw0 = c->vwc;
		return 0;
	default:
		return gen(NVME_SC_INVALID_FIELD);
	}
}

static void put128(uint64_t v[2], uint64_t x)
{
	v[0] = x;
	v[1] = 0;
}

static uint16_t log_page(struct sim_nvme *c, const struct nvme_sqe *sqe)
{
	uint32_t numd = ((sqe->cdw10 >> 16) | ((sqe->cdw11 & 0xffff) << 16)) + 1;
	uint64_t off = (uint64_t)sqe->cdw13 << 32 | sqe->cdw12, len = (uint64_t)numd * 4;
	union {
		struct nvme_error_log err[SIM_NVME_ERRLOG];
		struct nvme_smart_log smart;
		uint8_t raw[1];
	} page;
	uint64_t size;

	memset(&page, 0, sizeof(page));
	switch (sqe->cdw10 & 0xff) {
	case NVME_LOG_ERROR: {
		unsigned int i;

		pthread_mutex_lock(&c->err_lock);
		/* Newest first, as the spec orders the entries. */
		for (i = 0; i < SIM_NVME_ERRLOG && i < c->err_count; i++)
			page.err[i] = c->errlog[(c->err_count - 1 - i) % SIM_NVME_ERRLOG];
		pthread_mutex_unlock(&c->err_lock);
		size = sizeof(page.err);
		break;
	}
	case NVME_LOG_SMART: {
		uint64_t r = 0, w = 0, br = 0, bw = 0;
		unsigned int q;

		if (sqe->nsid != 0 && sqe->nsid != 0xffffffffu &&
		    sim_nvme_ns_find(c, sqe->nsid) == NULL)
			return gen(NVME_SC_INVALID_NS);
		for (q = 0; q <= SIM_NVME_MAX_QUEUES; q++) {
			r += atomic_load_explicit(&c->cq[q].reads, memory_order_relaxed);
			w += atomic_load_explicit(&c->cq[q].writes, memory_order_relaxed);
			br += atomic_load_explicit(&c->cq[q].blocks_read, memory_order_relaxed);
			bw += atomic_load_explicit(&c->cq[q].blocks_written, memory_order_relaxed);
		}
		page.smart.temperature[0] = (273 + 35) & 0xff;
		page.smart.temperature[1] = (273 + 35) >> 8;
		page.smart.avail_spare = 100;
		page.smart.spare_thresh = 10;
		/* Data units are thousands of 512-byte units, rounded up. */
		put128(page.smart.data_units_read, ((br << c->ns[0].lba_shift >> 9) + 999) / 1000);
		put128(page.smart.data_units_written,
		       ((bw << c->ns[0].lba_shift >> 9) + 999) / 1000);
		put128(page.smart.host_reads, r);
		put128(page.smart.host_writes, w);
		put128(page.smart.power_cycles, 1);
		pthread_mutex_lock(&c->err_lock);
		put128(page.smart.num_err_log_entries, c->err_count);
		pthread_mutex_unlock(&c->err_lock);
		size = sizeof(page.smart);
		break;
	}
	default:
		return spec(NVME_SC_INVALID_LOG_PAGE);
	}
	if ((off & 3) || off >= size || len > size - off)
		return gen(NVME_SC_INVALID_FIELD);
	return sim_nvme_prp_xfer(c, sqe, page.raw + off, len, true);
}

static uint16_t abort_cmd(struct sim_nvme *c, const struct nvme_sqe *sqe, uint32_t *cdw0)
{
	uint16_t sqid = sqe->cdw10 & 0xffff, cid = sqe->cdw10 >> 16;
	struct sim_nvme_sq *sq;
	struct sim_nvme_cq *cq;
	bool done;

	*cdw0 = 1; /* not aborted */
	if (sqid == 0 || sqid > SIM_NVME_MAX_QUEUES || !atomic_load(&c->sq[sqid].live))
		return 0;
	sq = &c->sq[sqid];
	cq = &c->cq[sq->cqid];
	pthread_mutex_lock(&cq->lock);
	done = atomic_load(&sq->live) &&
	       sim_nvme_release_held(c, sq, cid, gen(NVME_SC_ABORT_REQUESTED));
	if (done) {
		sim_nvme_group_service(c, cq);
		atomic_fetch_add(&c->stat_aborted, 1);
	}
	pthread_mutex_unlock(&cq->lock);
	if (done)
		*cdw0 = 0;
	return 0;
}

uint16_t sim_nvme_admin(struct sim_nvme *c, const struct nvme_sqe *sqe, uint32_t *cdw0)
{
	*cdw0 = 0;
	if (sqe->flags != 0)
		return gen(NVME_SC_INVALID_FIELD);
	switch (sqe->opc) {
	case NVME_ADM_IDENTIFY:
		return identify(c, sqe);
	case NVME_ADM_CREATE_CQ:
		return create_cq(c, sqe);
	case NVME_ADM_CREATE_SQ:
		return create_sq(c, sqe);
	case NVME_ADM_DELETE_SQ:
		return delete_sq(c, sqe);
	case NVME_ADM_DELETE_CQ:
		return delete_cq(c, sqe);
	case NVME_ADM_SET_FEATURES:
		return set_features(c, sqe, cdw0);
	case NVME_ADM_GET_FEATURES:
		return get_features(c, sqe, cdw0);
	case NVME_ADM_GET_LOG_PAGE:
		return log_page(c, sqe);
	case NVME_ADM_ABORT:
		return abort_cmd(c, sqe, cdw0);
	case NVME_ADM_ASYNC_EVENT:
		/* No event is ever reported: the request waits until reset. */
		if (c->aer_outstanding > SIM_NVME_AERL)
			return spec(NVME_SC_ASYNC_EVENT_LIMIT);
		c->aer_outstanding++;
		return SIM_NVME_HOLD;
	default:
		return gen(NVME_SC_INVALID_OPCODE);
	}
}
