/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe PMD: I/O queue pairs. Submit and poll run on the pair's owner thread
 * without locks; the only shared state they read is the controller's reset
 * generation. Timeouts are checked from poll: Abort first, reset second.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_atomic.h>
#include <rte_cycles.h>

#include "nvme_priv.h"

#define POLL_BATCH	32
#define CHECK_PERIOD_US 1000 /* timeouts and CSTS are looked at this often */

/* ---- streaming mappings (pointer API without SVA) ---- */

/* Attempts at the invalidation of commands ended without the device. */
#define TEARDOWN_FLUSH_TRIES 3

/*
 * Take down a command's mapping. svio_dma_unmap(), not
 * svio_dma_unmap_release(): the buffer belongs to the application, which may
 * reuse or free it as soon as its callback runs, so there is nothing for the
 * driver to hand back after the flush. Strict: the invalidation completed when
 * this returns. Lazy: it is queued; the device finished with the buffer (the
 * command completed), and the IOVA is not handed out again before the flush.
 */
static void __rte_noinline dma_unmap(struct svio_nvme_qpair *qp, uint64_t iova, uint32_t len)
{
	int rc = svio_dma_unmap(qp->ctrlr->dom, iova, len);

	if (rc < 0)
		NVME_LOG(ERR,
			 "%s: queue %u: unmapping a command's buffer (iova 0x%" PRIx64
			 ", %u bytes) failed: %s",
			 qp->ctrlr->dev->name, qp->qid, iova, len, strerror(-rc));
}

static inline void req_unmap(struct svio_nvme_qpair *qp, struct nvme_req *r)
{
	dma_unmap(qp, r->map_iova, r->map_len);
	r->map_len = 0;
}

static inline bool ending(const struct svio_nvme_qpair *qp, uint32_t i)
{
	return (qp->ending[i / 64] >> (i % 64)) & 1;
}

/*
 * The invalidation of what unmap_ending() took down did not complete (strict:
 * an unmap returned -EIO; otherwise the forced flush failed). The domain keeps
 * the failed unmaps and retries them with every flush: try again a few times.
 * @return 0 once a flush completed, else the last error.
 */
static int teardown_flush(struct svio_nvme_qpair *qp)
{
	int rc = -EIO;

	for (int t = 0; t < TEARDOWN_FLUSH_TRIES; t++) {
		rc = nvme_fail_flush_point() ? -EIO : svio_iommu_sync(qp->ctrlr->dom);
		if (rc == 0)
			return 0;
	}
	return rc;
}

/*
 * Commands that end without a completion from the device (reset, failed
 * controller, queue pair freed): unmap the buffers of those marked in
 * qp->ending before any callback runs. In lazy mode the flush is forced too,
 * since nobody knows what a failed or reset device still had in flight: the
 * owners get their buffers back unreachable. When the invalidation keeps
 * failing the callbacks run anyway (nothing would ever run them otherwise):
 * logged, and counted in unmap_failures for svio_nvme_ctrlr_unmap_failures().
 */
static void unmap_ending(struct svio_nvme_qpair *qp)
{
	struct svio_nvme_ctrlr *c = qp->ctrlr;
	bool failed = false;
	uint32_t i, n = 0;
	int rc;

	for (i = 0; i < qp->depth; i++) {
		struct nvme_req *r = &qp->reqs[i];

		if (!ending(qp, i) || r->map_len == 0)
			continue;
		rc = svio_dma_unmap(c->dom, r->map_iova, r->map_len);
		if (rc == -EIO) {
			/* Unmapped, not yet invalidated: teardown_flush() retries it. */
			failed = true;
		} else if (rc < 0) {
			NVME_LOG(ERR,
				 "%s: queue %u: unmapping command %u's buffer (iova 0x%" PRIx64
				 ", %u bytes) failed: %s",
				 c->dev->name, qp->qid, i, r->map_iova, r->map_len, strerror(-rc));
		}
		r->map_len = 0;
		n++;
	}
	if (n == 0)
		return;
	if (nvme_fail_flush_point())
		failed = true;
	if (!failed && svio_domain_policy(c->dom) == SVIO_FLUSH_STRICT)
		return;
	rc = teardown_flush(qp);
	if (rc == 0)
		return;
	atomic_fetch_add(&c->unmap_failures, n);
	NVME_LOG(ERR,
		 "%s: queue %u: invalidating the buffers of %u ended commands failed %d "
		 "times (%s): their callbacks run before it completed; their IOVAs stay "
		 "quarantined until a later flush succeeds",
		 c->dev->name, qp->qid, n, TEARDOWN_FLUSH_TRIES, strerror(-rc));
}

/* ---- completion delivery ---- */

static void req_complete(struct svio_nvme_qpair *qp, uint16_t cid, uint32_t cdw0, uint16_t sf,
			 int force_rc)
{
	struct nvme_req *r = &qp->reqs[cid];
	struct svio_nvme_cpl cpl = { .cdw0 = cdw0, .status = sf };
	svio_nvme_cb cb = r->cb;
	void *arg = r->arg;

	/* The device is done with the buffer: unmap before its owner gets it back. */
	if (unlikely(r->map_len != 0))
		req_unmap(qp, r);
	cpl.rc = force_rc != 0 ? force_rc : nvme_status_errno(sf);
	if (r->timed_out && cpl.rc == -ECANCELED)
		cpl.rc = -ETIMEDOUT;
	r->state = NVME_REQ_FREE;
	r->timed_out = false;
	r->cb = NULL;
	qp->free_ids[qp->nfree++] = cid;
	if (cb != NULL)
		cb(arg, &cpl);
}

/*
 * End every command outstanding now without the device (reset, failure,
 * free) with @p rc (-ETIMEDOUT for a timed-out one cancelled). Callbacks may
 * submit again: the set is taken first, so a new command is never ended
 * here, whichever slot it lands in (it may be live on re-created queues).
 * Bits are read afresh after each callback: a nested call (a callback's
 * submission noticing another reset) ends what is left itself.
 */
static void fail_outstanding(struct svio_nvme_qpair *qp, int rc)
{
	uint32_t nw = (qp->depth + 63) / 64, w, i;

	memset(qp->ending, 0, nw * sizeof(*qp->ending));
	for (i = 0; i < qp->depth; i++)
		if (qp->reqs[i].state != NVME_REQ_FREE)
			qp->ending[i / 64] |= 1ull << (i % 64);
	unmap_ending(qp);
	for (w = 0; w < nw; w++) {
		while (qp->ending[w] != 0) {
			i = w * 64 + (uint32_t)__builtin_ctzll(qp->ending[w]);
			qp->ending[w] &= qp->ending[w] - 1;
			req_complete(qp, (uint16_t)i, 0, 0, rc);
		}
	}
}

static void ring_reset(struct svio_nvme_qpair *qp)
{
	memset(qp->sq, 0, qp->sq_mem.len);
	memset(qp->cq, 0, qp->cq_mem.len);
	qp->sq_tail = 0;
	qp->cq_head = 0;
	qp->phase = 1;
}

/*
 * The controller was reset since this pair last looked: its queues are gone.
 * Re-create them, then fail what was outstanding (the callbacks may submit on
 * the new queues).
 */
static int qp_recover(struct svio_nvme_qpair *qp, uint32_t gen)
{
	struct svio_nvme_ctrlr *c = qp->ctrlr;
	int rc = 0;

	if (gen & 1)
		return -EAGAIN;
	pthread_mutex_lock(&c->admin_lock);
	gen = atomic_load(&c->gen);
	if (gen & 1 || atomic_load(&c->failed)) {
		pthread_mutex_unlock(&c->admin_lock);
		if (atomic_load(&c->failed)) {
			fail_outstanding(qp, -ENODEV);
			return -ENODEV;
		}
		return -EAGAIN;
	}
	ring_reset(qp);
	rc = nvme_qpair_create_queues(c, qp);
	qp->halt = rc < 0 ? NVME_QP_BROKEN : NVME_QP_RUNNING;
	qp->gen = gen;
	pthread_mutex_unlock(&c->admin_lock);

	/* The controller was disabled: nothing reaches the old commands' buffers any more. */
	fail_outstanding(qp, -ECANCELED);
	return qp->halt == NVME_QP_BROKEN ? -EIO : 0;
}

/*
 * The pair cannot go on as it is: being freed, controller failed, or reset
 * since the pair last looked. Out of line, so the data path's check stays
 * one load and compare of the halt byte.
 */
static int __rte_noinline __rte_cold qp_halted(struct svio_nvme_qpair *qp, uint32_t gen)
{
	if (qp->halt == NVME_QP_DYING)
		return -ECANCELED;
	if (atomic_load(&qp->ctrlr->failed)) {
		/* Nothing will complete any more: every callback gets its answer now. */
		fail_outstanding(qp, -ENODEV);
		return -ENODEV;
	}
	return qp_recover(qp, gen);
}

static inline int qp_check_gen(struct svio_nvme_qpair *qp)
{
	uint32_t gen = atomic_load_explicit(&qp->ctrlr->gen, memory_order_acquire);

	if (likely(gen == qp->gen && qp->halt == NVME_QP_RUNNING))
		return 0;
	return qp_halted(qp, gen);
}

/* ---- timeouts ---- */

static void send_abort(struct svio_nvme_qpair *qp, uint16_t cid)
{
	struct svio_nvme_ctrlr *c = qp->ctrlr;
	struct nvme_sqe sqe = {
		.opc = NVME_ADM_ABORT,
		.cdw10 = ((uint32_t)cid << 16) | qp->qid,
	};
	struct svio_nvme_cpl cpl;

	pthread_mutex_lock(&c->admin_lock);
	if (nvme_admin_locked(c, &sqe, &cpl) == 0 && !(cpl.cdw0 & 1))
		NVME_LOG(WARNING, "%s: command %u on queue %u timed out: aborted", c->dev->name,
			 cid, qp->qid);
	else
		NVME_LOG(WARNING, "%s: command %u on queue %u timed out: abort refused",
			 c->dev->name, cid, qp->qid);
	pthread_mutex_unlock(&c->admin_lock);
}

/* @return true when the controller must be reset. */
static bool check_timeouts(struct svio_nvme_qpair *qp, uint64_t now)
{
	uint64_t tmo = atomic_load_explicit(&qp->ctrlr->timeout_tsc, memory_order_relaxed);
	uint32_t i;

	for (i = 0; i < qp->depth; i++) {
		struct nvme_req *r = &qp->reqs[i];

		if (r->state == NVME_REQ_FREE || r->deadline == 0 || now < r->deadline)
			continue;
		if (r->state == NVME_REQ_ABORTING)
			return true; /* the abort did not bring it back either */
		r->state = NVME_REQ_ABORTING;
		r->timed_out = true;
		r->deadline = now + (tmo ? tmo : nvme_us_to_tsc(NVME_DEFAULT_TIMEOUT));
		send_abort(qp, (uint16_t)i);
	}
	return false;
}

static int periodic_check(struct svio_nvme_qpair *qp, uint64_t now)
{
	struct svio_nvme_ctrlr *c = qp->ctrlr;
	bool reset = false;
	uint32_t csts;

	qp->next_check = now + nvme_us_to_tsc(CHECK_PERIOD_US);
	if (qp->nfree == qp->depth)
		return 0;
	if (svio_reg_read32(qp->dev, 0, NVME_REG_CSTS, &csts) == 0 && (csts & NVME_CSTS_CFS)) {
		NVME_LOG(ERR, "%s: controller fatal status", c->dev->name);
		reset = true;
	} else {
		reset = check_timeouts(qp, now);
	}
	if (!reset)
		return 0;
	svio_nvme_ctrlr_reset(c);
	return qp_check_gen(qp);
}

/* ---- poll ---- */

int svio_nvme_qpair_poll(struct svio_nvme_qpair *qp, uint32_t max)
{
	struct {
		uint32_t cdw0;
		uint16_t cid;
		uint16_t sf;
	} done[POLL_BATCH];
	uint32_t total = 0;
	uint64_t now;
	int rc;

	if (unlikely(qp == NULL))
		return -EINVAL;
	rc = qp_check_gen(qp);
	if (unlikely(rc < 0))
		return rc;
	if (max == 0)
		max = UINT32_MAX;
	while (total < max) {
		uint32_t n = 0, i;

		while (n < POLL_BATCH && total + n < max) {
			struct nvme_cqe *e = &qp->cq[qp->cq_head];
			uint16_t st = __atomic_load_n(&e->status, __ATOMIC_ACQUIRE);

			if ((st & NVME_CQE_PHASE) != qp->phase)
				break;
			done[n].cdw0 = e->cdw0;
			done[n].cid = e->cid;
			done[n].sf = NVME_CQE_SF(st);
			n++;
			if (++qp->cq_head == qp->qsize) {
				qp->cq_head = 0;
				qp->phase ^= 1;
			}
		}
		/*
		 * The head doorbell goes first so callbacks that submit find room.
		 * With nothing new but commands outstanding it is rewritten
		 * unchanged: a no-op for hardware, the moment an inline model
		 * posts completions whose latency has passed.
		 */
		if (n > 0 || qp->nfree != qp->depth)
			svio_reg_write32(qp->dev, 0, qp->cq_db, qp->cq_head);
		for (i = 0; i < n; i++) {
			uint16_t cid = done[i].cid;

			if (unlikely(cid >= qp->depth || qp->reqs[cid].state == NVME_REQ_FREE)) {
				NVME_LOG(ERR, "%s: queue %u: completion for unknown command %u",
					 qp->ctrlr->dev->name, qp->qid, cid);
				continue;
			}
			req_complete(qp, cid, done[i].cdw0, done[i].sf, 0);
		}
		total += n;
		if (n < POLL_BATCH)
			break;
	}
	now = rte_rdtsc();
	if (unlikely(now >= qp->next_check)) {
		rc = periodic_check(qp, now);
		if (rc < 0)
			return rc;
	}
	svio_iommu_poll(qp->ctrlr->dom);
	return (int)total;
}

/* ---- submit ---- */

static const char *opc_name(uint8_t opc)
{
	switch (opc) {
	case NVME_CMD_READ:
		return "read";
	case NVME_CMD_WRITE:
		return "write";
	case NVME_CMD_FLUSH:
		return "flush";
	case NVME_CMD_WRITE_ZEROES:
		return "write zeroes";
	case NVME_CMD_DSM:
		return "deallocate";
	default:
		return "command";
	}
}

/*
 * Say at DEBUG level which check refused a command, and return its error.
 * Out of line: refusals are rare, or (queue full) a signal to poll anyway.
 */
static int __rte_noinline __rte_cold __rte_format_printf(4, 5)
	refused(const struct svio_nvme_qpair *qp, uint8_t opc, int rc, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	if (!rte_log_can_log(svio_nvme_logtype, RTE_LOG_DEBUG))
		return rc;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	NVME_LOG(DEBUG, "%s: queue %u: %s refused: %s (%s)", qp->ctrlr->dev->name, qp->qid,
		 opc_name(opc), why, strerror(-rc));
	return rc;
}

/* Why submit_ready() refused: @p rc from the generation check, 0 for a full queue. */
static int __rte_noinline __rte_cold submit_refused(struct svio_nvme_qpair *qp,
						    const struct nvme_sqe *sqe, int rc)
{
	uint8_t opc = sqe->opc;

	if (rc < 0)
		return refused(qp, opc, rc, "%s",
			       rc == -ENODEV	  ? "controller failed"
			       : rc == -EAGAIN	  ? "controller resetting"
			       : rc == -ECANCELED ? "queue pair being freed"
						  : "queues not re-created after a reset");
	return refused(qp, opc, -EAGAIN, "queue full (%u outstanding)", qp->depth);
}

/* The pair can take one more command now: the controller is up and a slot is free. */
static inline int submit_ready(struct svio_nvme_qpair *qp, const struct nvme_sqe *sqe)
{
	int rc = qp_check_gen(qp);

	if (unlikely(rc < 0))
		return submit_refused(qp, sqe, rc);
	if (unlikely(qp->nfree == 0))
		return submit_refused(qp, sqe, 0);
	return 0;
}

/*
 * Fill a slot and ring the doorbell. @p map_iova / @p map_len: the command's
 * streaming mapping; constant 0 on every path but rw_map(), so the stores
 * fold away there (a free slot's map_len is always 0).
 */
static __rte_always_inline int submit_common(struct svio_nvme_qpair *qp, struct nvme_sqe *sqe,
					     uint64_t iova, size_t len, svio_nvme_cb cb, void *arg,
					     uint64_t map_iova, uint32_t map_len)
{
	struct nvme_req *r;
	uint64_t tmo;
	uint16_t cid;
	int rc;

	rc = submit_ready(qp, sqe);
	if (unlikely(rc < 0))
		return rc;
	cid = qp->free_ids[--qp->nfree];
	r = &qp->reqs[cid];
	if (len > 0) {
		uint64_t first = NVME_PAGE_SIZE - (iova & (NVME_PAGE_SIZE - 1));

		sqe->prp1 = iova;
		sqe->prp2 = 0;
		if (len > first) {
			uint64_t rest = len - first, page = iova + first;

			if (rest <= NVME_PAGE_SIZE) {
				sqe->prp2 = page;
			} else {
				uint32_t i, n = (uint32_t)((rest + NVME_PAGE_SIZE - 1) /
							   NVME_PAGE_SIZE);

				for (i = 0; i < n; i++)
					r->prp_list[i] = page + (uint64_t)i * NVME_PAGE_SIZE;
				sqe->prp2 = r->prp_iova;
			}
		}
	}
	sqe->cid = cid;
	r->cb = cb;
	r->arg = arg;
	r->state = NVME_REQ_ACTIVE;
	r->timed_out = false;
	if (map_len != 0) {
		r->map_len = map_len;
		r->map_iova = map_iova;
	}
	tmo = atomic_load_explicit(&qp->ctrlr->timeout_tsc, memory_order_relaxed);
	r->deadline = tmo ? rte_rdtsc() + tmo : 0;
	qp->sq[qp->sq_tail] = *sqe;
	if (++qp->sq_tail == qp->qsize)
		qp->sq_tail = 0;
	rte_io_wmb(); /* entry and PRP list reach memory before the doorbell */
	svio_reg_write32(qp->dev, 0, qp->sq_db, qp->sq_tail);
	return 0;
}

static int submit(struct svio_nvme_qpair *qp, struct nvme_sqe *sqe, uint64_t iova, size_t len,
		  svio_nvme_cb cb, void *arg)
{
	return submit_common(qp, sqe, iova, len, cb, arg, 0, 0);
}

static const struct svio_nvme_ns_info *ns_find(const struct svio_nvme_ctrlr *c, uint32_t nsid)
{
	for (uint32_t i = 0; i < c->info.num_ns; i++)
		if (c->ns[i].nsid == nsid)
			return &c->ns[i];
	return NULL;
}

/*
 * Which block check refused a command (the hot paths only learn that one
 * did): log it and return its error. @p xfer: the transfer limit applies;
 * @p addr: the buffer's address, 1 when there is none.
 */
static int __rte_noinline __rte_cold blocks_refused(struct svio_nvme_qpair *qp, uint8_t opc,
						    uint32_t nsid, uint64_t addr, uint64_t lba,
						    uint32_t nlb, uint32_t max_nlb, bool xfer)
{
	const struct svio_nvme_ns_info *ns = ns_find(qp->ctrlr, nsid);
	uint64_t len;

	if (ns == NULL)
		return refused(qp, opc, -ENXIO,
			       "namespace %u does not exist or its format was refused", nsid);
	if (nlb == 0)
		return refused(qp, opc, -EINVAL, "nlb 0");
	if (lba >= ns->nblocks || nlb > ns->nblocks - lba)
		return refused(qp, opc, -ERANGE,
			       "LBA range %" PRIu64 "+%u beyond namespace %u's %" PRIu64 " blocks",
			       lba, nlb, nsid, ns->nblocks);
	len = (uint64_t)nlb * ns->block_size;
	if (nlb > max_nlb)
		return refused(qp, opc, -EINVAL, "nlb %u above %u", nlb, max_nlb);
	if (xfer && len > qp->ctrlr->info.max_xfer)
		return refused(qp, opc, -EMSGSIZE,
			       "nlb %u (%" PRIu64 " bytes) above the controller's %u-byte "
			       "maximum transfer (at most %u blocks a command)",
			       nlb, len, qp->ctrlr->info.max_xfer, ns->max_nlb);
	return refused(qp, opc, -EINVAL, "buffer 0x%" PRIx64 " not 4-byte aligned or NULL", addr);
}

/* Namespace, nlb and range checks of the commands without data. */
static int check_blocks(struct svio_nvme_qpair *qp, uint8_t opc, uint32_t nsid, uint64_t lba,
			uint32_t nlb, uint32_t max_nlb)
{
	const struct svio_nvme_ns_info *ns;

	if (unlikely(qp == NULL))
		return -EINVAL;
	ns = ns_find(qp->ctrlr, nsid);
	if (unlikely(ns == NULL || nlb == 0 || lba >= ns->nblocks || nlb > ns->nblocks - lba ||
		     nlb > max_nlb))
		return blocks_refused(qp, opc, nsid, 1, lba, nlb, max_nlb, false);
	return 0;
}

/*
 * Check a read or write and build its entry; @p addr is the buffer's device
 * address. One combined test: the reason is worked out only on refusal.
 */
static inline int rw_prep(struct svio_nvme_qpair *qp, uint8_t opc, uint32_t nsid, uint64_t addr,
			  uint64_t lba, uint32_t nlb, struct nvme_sqe *sqe, uint64_t *len)
{
	const struct svio_nvme_ns_info *ns = ns_find(qp->ctrlr, nsid);

	/* With extended metadata each block carries its metadata too. */
	*len = ns != NULL ? (uint64_t)nlb * ns->block_size : 0;
	if (unlikely(ns == NULL || nlb == 0 || lba >= ns->nblocks || nlb > ns->nblocks - lba ||
		     nlb > NVME_RW_NLB_MAX || *len > qp->ctrlr->info.max_xfer || (addr & 3) ||
		     addr == 0))
		return blocks_refused(qp, opc, nsid, addr, lba, nlb, NVME_RW_NLB_MAX, true);
	memset(sqe, 0, sizeof(*sqe));
	sqe->opc = opc;
	sqe->nsid = nsid;
	sqe->cdw10 = (uint32_t)lba;
	sqe->cdw11 = (uint32_t)(lba >> 32);
	sqe->cdw12 = nlb - 1;
	return 0;
}

static int rw(struct svio_nvme_qpair *qp, uint8_t opc, uint32_t nsid, uint64_t iova, uint64_t lba,
	      uint32_t nlb, svio_nvme_cb cb, void *arg)
{
	struct nvme_sqe sqe;
	uint64_t len;
	int rc;

	if (unlikely(qp == NULL))
		return -EINVAL;
	rc = rw_prep(qp, opc, nsid, iova, lba, nlb, &sqe, &len);
	if (unlikely(rc < 0))
		return rc;
	return submit(qp, &sqe, iova, len, cb, arg);
}

/*
 * Pointer API without SVA: the device reaches only what the domain maps, so
 * map the pages under the buffer for this one command (streaming DMA, as a
 * kernel driver does), device access as the transfer needs it. Every check
 * runs first, so a refused command costs no mapping; the mapping goes when
 * the command ends, whichever way (req_complete, unmap_ending).
 */
static int __rte_noinline rw_map(struct svio_nvme_qpair *qp, uint8_t opc, uint32_t nsid,
				 const void *buf, uint64_t lba, uint32_t nlb, svio_nvme_cb cb,
				 void *arg)
{
	uint64_t va = (uint64_t)(uintptr_t)buf, base, end, len, io;
	struct nvme_sqe sqe;
	int rc;

	rc = rw_prep(qp, opc, nsid, va, lba, nlb, &sqe, &len);
	if (rc < 0)
		return rc;
	rc = submit_ready(qp, &sqe);
	if (rc < 0)
		return rc;
	base = va & ~(uint64_t)(NVME_PAGE_SIZE - 1);
	end = va + len + NVME_PAGE_SIZE - 1;
	if (end < va)
		return refused(qp, opc, -EINVAL, "buffer %p + %" PRIu64 " wraps around", buf, len);
	end &= ~(uint64_t)(NVME_PAGE_SIZE - 1);
	/* A write command has the device read memory; a read has it write. */
	rc = svio_dma_map(qp->ctrlr->dom, (void *)(uintptr_t)base, end - base,
			  opc == NVME_CMD_WRITE ? SVIO_DMA_READ : SVIO_DMA_WRITE, &io);
	if (rc < 0)
		return refused(qp, opc, rc, "buffer %p (%" PRIu64 " bytes) could not be mapped",
			       buf, len);
	rc = submit_common(qp, &sqe, io + (va - base), len, cb, arg, io, (uint32_t)(end - base));
	if (rc < 0)
		dma_unmap(qp, io, (uint32_t)(end - base));
	return rc;
}

/*
 * Pointer API with SVA where the device cannot fault pages in (iommufd): a
 * buffer the domain does not map would not be translated, and QEMU's
 * emulated controllers then complete the command without moving the data.
 * Refuse it instead, before anything reaches the device.
 */
static int __rte_noinline rw_checked(struct svio_nvme_qpair *qp, uint8_t opc, uint32_t nsid,
				     const void *buf, uint64_t lba, uint32_t nlb, svio_nvme_cb cb,
				     void *arg)
{
	uint64_t va = (uint64_t)(uintptr_t)buf, len;
	struct nvme_sqe sqe;
	int rc;

	rc = rw_prep(qp, opc, nsid, va, lba, nlb, &sqe, &len);
	if (rc < 0)
		return rc;
	/* A write command has the device read memory; a read has it write. */
	rc = svio_dma_check(qp->ctrlr->dom, va, len,
			    opc == NVME_CMD_WRITE ? SVIO_DMA_READ : SVIO_DMA_WRITE);
	if (rc < 0) {
		NVME_LOG(ERR,
			 "%s: buffer %p (%" PRIu64
			 " bytes) is not mapped for the device: under SVA "
			 "on this IOMMU use DPDK memory, svio_dma_map() it, or run with --sva=off",
			 opc == NVME_CMD_WRITE ? "write" : "read", buf, len);
		return -EFAULT;
	}
	return submit(qp, &sqe, va, len, cb, arg);
}

int svio_nvme_read_iova(struct svio_nvme_qpair *qp, uint32_t nsid, uint64_t iova, uint64_t lba,
			uint32_t nlb, svio_nvme_cb cb, void *arg)
{
	return rw(qp, NVME_CMD_READ, nsid, iova, lba, nlb, cb, arg);
}

int svio_nvme_write_iova(struct svio_nvme_qpair *qp, uint32_t nsid, uint64_t iova, uint64_t lba,
			 uint32_t nlb, svio_nvme_cb cb, void *arg)
{
	return rw(qp, NVME_CMD_WRITE, nsid, iova, lba, nlb, cb, arg);
}

int svio_nvme_read(struct svio_nvme_qpair *qp, uint32_t nsid, void *buf, uint64_t lba, uint32_t nlb,
		   svio_nvme_cb cb, void *arg)
{
	if (unlikely(qp == NULL))
		return -EINVAL;
	if (unlikely(!qp->sva))
		return rw_map(qp, NVME_CMD_READ, nsid, buf, lba, nlb, cb, arg);
	if (unlikely(qp->sva_check))
		return rw_checked(qp, NVME_CMD_READ, nsid, buf, lba, nlb, cb, arg);
	return rw(qp, NVME_CMD_READ, nsid, (uint64_t)(uintptr_t)buf, lba, nlb, cb, arg);
}

int svio_nvme_write(struct svio_nvme_qpair *qp, uint32_t nsid, const void *buf, uint64_t lba,
		    uint32_t nlb, svio_nvme_cb cb, void *arg)
{
	if (unlikely(qp == NULL))
		return -EINVAL;
	if (unlikely(!qp->sva))
		return rw_map(qp, NVME_CMD_WRITE, nsid, buf, lba, nlb, cb, arg);
	if (unlikely(qp->sva_check))
		return rw_checked(qp, NVME_CMD_WRITE, nsid, buf, lba, nlb, cb, arg);
	return rw(qp, NVME_CMD_WRITE, nsid, (uint64_t)(uintptr_t)buf, lba, nlb, cb, arg);
}

int svio_nvme_flush(struct svio_nvme_qpair *qp, uint32_t nsid, svio_nvme_cb cb, void *arg)
{
	struct nvme_sqe sqe = { .opc = NVME_CMD_FLUSH, .nsid = nsid };

	if (unlikely(qp == NULL))
		return -EINVAL;
	if (nsid != 0xffffffffu && ns_find(qp->ctrlr, nsid) == NULL)
		return refused(qp, sqe.opc, -ENXIO, "namespace %u does not exist", nsid);
	return submit(qp, &sqe, 0, 0, cb, arg);
}

int svio_nvme_write_zeroes(struct svio_nvme_qpair *qp, uint32_t nsid, uint64_t lba, uint32_t nlb,
			   svio_nvme_cb cb, void *arg)
{
	struct nvme_sqe sqe = { .opc = NVME_CMD_WRITE_ZEROES, .nsid = nsid };
	int rc = check_blocks(qp, sqe.opc, nsid, lba, nlb, NVME_RW_NLB_MAX);

	if (rc < 0)
		return rc;
	if (!qp->ctrlr->info.write_zeroes)
		return refused(qp, sqe.opc, -ENOTSUP, "not supported by the controller");
	sqe.cdw10 = (uint32_t)lba;
	sqe.cdw11 = (uint32_t)(lba >> 32);
	sqe.cdw12 = nlb - 1;
	return submit(qp, &sqe, 0, 0, cb, arg);
}

int svio_nvme_deallocate(struct svio_nvme_qpair *qp, uint32_t nsid, uint64_t lba, uint32_t nlb,
			 svio_nvme_cb cb, void *arg)
{
	struct nvme_sqe sqe = { .opc = NVME_CMD_DSM, .nsid = nsid, .cdw11 = NVME_DSM_AD };
	struct nvme_dsm_range *range;
	/* One range holds a 32-bit block count. */
	int rc = check_blocks(qp, sqe.opc, nsid, lba, nlb, UINT32_MAX);

	if (rc < 0)
		return rc;
	if (!qp->ctrlr->info.dsm)
		return refused(qp, sqe.opc, -ENOTSUP, "not supported by the controller");
	rc = submit_ready(qp, &sqe);
	if (rc < 0)
		return rc;
	/* The range lives in the PRP list page of the slot submit() will take. */
	range = (struct nvme_dsm_range *)qp->reqs[qp->free_ids[qp->nfree - 1]].prp_list;
	range->attributes = 0;
	range->nlb = nlb;
	range->slba = lba;
	return submit(qp, &sqe, qp->reqs[qp->free_ids[qp->nfree - 1]].prp_iova, sizeof(*range), cb,
		      arg);
}

int svio_nvme_io_raw(struct svio_nvme_qpair *qp, const struct nvme_sqe *cmd, uint64_t iova,
		     size_t len, svio_nvme_cb cb, void *arg)
{
	struct nvme_sqe sqe;

	if (qp == NULL || cmd == NULL || (len > 0 && iova == 0))
		return -EINVAL;
	if (len > qp->ctrlr->info.max_xfer)
		return refused(qp, cmd->opc, -EMSGSIZE,
			       "%zu bytes above the %u-byte maximum transfer", len,
			       qp->ctrlr->info.max_xfer);
	sqe = *cmd;
	return submit(qp, &sqe, iova, iova != 0 ? len : 0, cb, arg);
}

uint32_t svio_nvme_qpair_outstanding(const struct svio_nvme_qpair *qp)
{
	return qp->depth - qp->nfree;
}

uint32_t svio_nvme_qpair_depth(const struct svio_nvme_qpair *qp)
{
	return qp->depth;
}

/* ---- alloc, free ---- */

static void qp_free_mem(struct svio_nvme_ctrlr *c, struct svio_nvme_qpair *qp)
{
	nvme_dma_free(c->dom, &qp->prp_mem);
	nvme_dma_free(c->dom, &qp->cq_mem);
	nvme_dma_free(c->dom, &qp->sq_mem);
	free(qp->ending);
	free(qp->free_ids);
	free(qp->reqs);
	free(qp);
}

int svio_nvme_qpair_alloc(struct svio_nvme_ctrlr *c, uint32_t depth, struct svio_nvme_qpair **out)
{
	struct svio_nvme_qpair *qp;
	uint32_t q, i;
	int rc;

	if (c == NULL || out == NULL)
		return -EINVAL;
	if (atomic_load(&c->failed))
		return -ENODEV;
	if (depth == 0)
		depth = NVME_DEFAULT_DEPTH;
	if (depth > c->mqes - 1)
		depth = c->mqes - 1;
	qp = nvme_fail_point() ? NULL : calloc(1, sizeof(*qp));
	if (qp == NULL)
		return -ENOMEM;
	qp->ctrlr = c;
	qp->dev = c->dev;
	qp->depth = depth;
	qp->qsize = depth + 1;
	qp->sva = svio_domain_sva(c->dom);
	qp->sva_check = svio_domain_sva_mapped_only(c->dom);
	qp->reqs = calloc(depth, sizeof(*qp->reqs));
	qp->free_ids = calloc(depth, sizeof(*qp->free_ids));
	qp->ending = calloc((depth + 63) / 64, sizeof(*qp->ending));
	if (qp->reqs == NULL || qp->free_ids == NULL || qp->ending == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = nvme_dma_alloc(c->dom, qp->qsize * sizeof(struct nvme_sqe), &qp->sq_mem);
	if (rc == 0)
		rc = nvme_dma_alloc(c->dom, qp->qsize * sizeof(struct nvme_cqe), &qp->cq_mem);
	if (rc == 0)
		rc = nvme_dma_alloc(c->dom, (size_t)depth * NVME_PAGE_SIZE, &qp->prp_mem);
	if (rc < 0)
		goto out_free;
	qp->sq = qp->sq_mem.va;
	qp->cq = qp->cq_mem.va;
	for (i = 0; i < depth; i++) {
		qp->reqs[i].prp_list = (uint64_t *)((uint8_t *)qp->prp_mem.va + i * NVME_PAGE_SIZE);
		qp->reqs[i].prp_iova = qp->prp_mem.iova + (uint64_t)i * NVME_PAGE_SIZE;
		/* Lowest ids handed out first. */
		qp->free_ids[i] = (uint16_t)(depth - 1 - i);
	}
	qp->nfree = depth;
	qp->phase = 1;
	qp->next_check = rte_rdtsc() + nvme_us_to_tsc(CHECK_PERIOD_US);

	pthread_mutex_lock(&c->admin_lock);
	for (q = 1; q <= c->info.max_qpairs; q++)
		if (!(c->qid_used & (1ull << (q - 1))))
			break;
	if (q > c->info.max_qpairs) {
		pthread_mutex_unlock(&c->admin_lock);
		NVME_LOG(ERR, "%s: all %u I/O queue pairs are in use", c->dev->name,
			 c->info.max_qpairs);
		rc = -ENOSPC;
		goto out_free;
	}
	qp->qid = (uint16_t)q;
	qp->sq_db = nvme_sq_doorbell(qp->qid, c->dstrd);
	qp->cq_db = nvme_cq_doorbell(qp->qid, c->dstrd);
	qp->gen = atomic_load(&c->gen);
	if (qp->gen & 1) {
		rc = -EAGAIN;
	} else {
		rc = nvme_qpair_create_queues(c, qp);
	}
	if (rc < 0) {
		pthread_mutex_unlock(&c->admin_lock);
		goto out_free;
	}
	c->qid_used |= 1ull << (q - 1);
	TAILQ_INSERT_TAIL(&c->qpairs, qp, next);
	pthread_mutex_unlock(&c->admin_lock);
	*out = qp;
	return 0;

out_free:
	qp_free_mem(c, qp);
	return rc;
}

void svio_nvme_qpair_free(struct svio_nvme_qpair *qp)
{
	struct svio_nvme_ctrlr *c;
	struct svio_nvme_cpl cpl;
	bool running;

	if (qp == NULL)
		return;
	c = qp->ctrlr;
	running = qp->halt == NVME_QP_RUNNING;
	/* From here every submission, the callbacks' below included, gets -ECANCELED. */
	qp->halt = NVME_QP_DYING;
	pthread_mutex_lock(&c->admin_lock);
	if (running && qp->gen == atomic_load(&c->gen) && !atomic_load(&c->failed)) {
		struct nvme_sqe dsq = { .opc = NVME_ADM_DELETE_SQ, .cdw10 = qp->qid };
		struct nvme_sqe dcq = { .opc = NVME_ADM_DELETE_CQ, .cdw10 = qp->qid };

		/* Deleting the SQ ends its commands; only then may the memory go. */
		nvme_admin_locked(c, &dsq, &cpl);
		nvme_admin_locked(c, &dcq, &cpl);
	}
	pthread_mutex_unlock(&c->admin_lock);
	/* Refused submissions take no slot, so one pass should do; never free a live one. */
	while (qp->nfree != qp->depth)
		fail_outstanding(qp, -ECANCELED);
	/* Only now may another pair get the queue id: this one rings no doorbell any more. */
	pthread_mutex_lock(&c->admin_lock);
	c->qid_used &= ~(1ull << (qp->qid - 1));
	TAILQ_REMOVE(&c->qpairs, qp, next);
	pthread_mutex_unlock(&c->admin_lock);
	qp_free_mem(c, qp);
}
