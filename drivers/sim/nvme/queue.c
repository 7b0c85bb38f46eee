/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe model: the queue engine. Fetch submission entries, run them (admin.c,
 * io.c), post completion entries with the phase tag; all with the queue
 * group's lock held (see sim_nvme_priv.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_nvme_priv.h"

int sim_nvme_sq_setup(struct sim_nvme_sq *sq, uint16_t qid, uint16_t cqid, uint32_t size,
		      uint64_t base)
{
	uint32_t i;

	sq->cmds = calloc(size, sizeof(*sq->cmds));
	if (sq->cmds == NULL)
		return -ENOMEM;
	sq->free = NULL;
	for (i = 0; i < size; i++) {
		sq->cmds[i].next = sq->free;
		sq->free = &sq->cmds[i];
	}
	sq->qid = qid;
	sq->cqid = cqid;
	sq->size = size;
	sq->base = base;
	sq->head = 0;
	sq->held = NULL;
	sq->stuck = NULL;
	atomic_store_explicit(&sq->tail, 0, memory_order_relaxed);
	return 0;
}

void sim_nvme_sq_teardown(struct sim_nvme *c, struct sim_nvme_sq *sq)
{
	struct sim_nvme_cq *cq = &c->cq[sq->cqid];
	struct sim_nvme_cmd **pp = &cq->pend_head, *last = NULL;

	/* Completions still waiting for this SQ are dropped with it. */
	while (*pp != NULL) {
		if ((*pp)->cqe.sqid == sq->qid) {
			*pp = (*pp)->next;
		} else {
			last = *pp;
			pp = &(*pp)->next;
		}
	}
	cq->pend_tail = last;
	free(sq->cmds);
	sq->cmds = NULL;
	sq->free = NULL;
	sq->held = NULL;
	sq->stuck = NULL;
	/* size and cqid stay: a racing doorbell writer may still read them. */
}

static void cmd_free(struct sim_nvme *c, struct sim_nvme_cmd *cmd)
{
	struct sim_nvme_sq *sq = &c->sq[cmd->cqe.sqid];

	cmd->next = sq->free;
	sq->free = cmd;
}

static void cq_append(struct sim_nvme_cq *cq, struct sim_nvme_cmd *cmd)
{
	cmd->next = NULL;
	if (cq->pend_tail != NULL)
		cq->pend_tail->next = cmd;
	else
		cq->pend_head = cmd;
	cq->pend_tail = cmd;
}

bool sim_nvme_release_held(struct sim_nvme *c, struct sim_nvme_sq *sq, uint16_t cid, uint16_t sf)
{
	struct sim_nvme_cmd **pp;

	for (pp = &sq->held; *pp != NULL; pp = &(*pp)->next) {
		struct sim_nvme_cmd *cmd = *pp;

		if (cmd->cqe.cid != cid)
			continue;
		*pp = cmd->next;
		cmd->cqe.status = (uint16_t)(sf << 1);
		cmd->due_ns = 0;
		sim_nvme_log_error(c, sq->qid, cid, sf, 0, 0);
		cq_append(&c->cq[sq->cqid], cmd);
		return true;
	}
	return false;
}

/*
 * Write one completion entry: the body first, then the status word with the
 * phase tag as a release store, so a driver that sees the new phase (acquire)
 * sees the whole entry and all data the command moved.
 */
static int cq_write(struct sim_nvme *c, struct sim_nvme_cq *cq, const struct nvme_cqe *cqe)
{
	uint64_t addr = cq->base + (uint64_t)cq->tail * sizeof(*cqe);
	size_t avail;
	void *host;
	int rc;

	rc = sim_nvme_dma(c, addr, (void *)(uintptr_t)cqe, offsetof(struct nvme_cqe, status), true);
	if (rc == 0)
		rc = sim_iommu_translate(c->dev, SIM_PASID_NONE,
					 addr + offsetof(struct nvme_cqe, status), true, &host,
					 &avail);
	if (rc < 0)
		return rc;
	__atomic_store_n((uint16_t *)host, cqe->status, __ATOMIC_RELEASE);
	return 0;
}

/* Post the completions that are due while the CQ has room. @return entries posted. */
static unsigned int cq_post(struct sim_nvme *c, struct sim_nvme_cq *cq)
{
	uint64_t now = c->latency_ns != 0 && cq->qid != 0 ? sim_nvme_now_ns() : 0;
	unsigned int n = 0;
	struct sim_nvme_cmd *cmd;

	while ((cmd = cq->pend_head) != NULL && cmd->due_ns <= now) {
		uint32_t head = atomic_load_explicit(&cq->head, memory_order_acquire);

		if ((cq->tail + 1) % cq->size == head)
			break; /* full: wait for the host's next CQ head doorbell */
		cmd->cqe.sqhd = (uint16_t)c->sq[cmd->cqe.sqid].head;
		cmd->cqe.status = (uint16_t)((cmd->cqe.status & ~NVME_CQE_PHASE) | cq->phase);
		if (cq_write(c, cq, &cmd->cqe) < 0) {
			sim_nvme_fatal(c, "completion queue entry write failed");
			break;
		}
		if (++cq->tail == cq->size) {
			cq->tail = 0;
			cq->phase ^= 1;
		}
		cq->pend_head = cmd->next;
		if (cq->pend_head == NULL)
			cq->pend_tail = NULL;
		cmd_free(c, cmd);
		n++;
	}
	if (n > 0) {
		atomic_fetch_add_explicit(&c->stat_posted, n, memory_order_relaxed);
		if (cq->ien)
			atomic_store_explicit(&cq->irq_pending, true, memory_order_relaxed);
	}
	return n;
}

static bool take_hang(struct sim_nvme *c)
{
	uint32_t h = atomic_load(&c->hang_next);

	while (h > 0 && !atomic_compare_exchange_weak(&c->hang_next, &h, h - 1))
		;
	return h > 0;
}

/* Fetch and execute what the host queued on @p sq. @return commands fetched. */
static unsigned int sq_fetch(struct sim_nvme *c, struct sim_nvme_cq *cq, struct sim_nvme_sq *sq)
{
	uint32_t tail = atomic_load_explicit(&sq->tail, memory_order_acquire);
	uint64_t due = c->latency_ns != 0 && sq->qid != 0 ? sim_nvme_now_ns() + c->latency_ns : 0;
	unsigned int n = 0;

	while (sq->head != tail && sq->free != NULL && atomic_load(&c->enabled)) {
		struct sim_nvme_cmd *cmd;
		struct nvme_sqe sqe;
		uint64_t lba = 0;
		uint32_t cdw0 = 0;
		uint16_t sf;

		if (sim_nvme_dma(c, sq->base + (uint64_t)sq->head * sizeof(sqe), &sqe, sizeof(sqe),
				 false) < 0) {
			sim_nvme_fatal(c, "submission queue entry fetch failed");
			break;
		}
		sq->head = (sq->head + 1) % sq->size;
		cmd = sq->free;
		sq->free = cmd->next;
		memset(&cmd->cqe, 0, sizeof(cmd->cqe));
		cmd->cqe.cid = sqe.cid;
		cmd->cqe.sqid = sq->qid;
		cmd->due_ns = due;
		n++;
		atomic_fetch_add_explicit(&c->stat_cmds, 1, memory_order_relaxed);
		if (sq->qid == 0) {
			sf = sim_nvme_admin(c, &sqe, &cdw0);
			if (sf == SIM_NVME_HOLD) {
				cmd->next = sq->stuck;
				sq->stuck = cmd;
				continue;
			}
		} else if (take_hang(c)) {
			struct sim_nvme_cmd **list =
				atomic_load(&c->hang_abortable) ? &sq->held : &sq->stuck;

			cmd->next = *list;
			*list = cmd;
			atomic_fetch_add_explicit(&c->stat_held, 1, memory_order_relaxed);
			continue;
		} else {
			sf = sim_nvme_io(c, cq, &sqe, &lba);
		}
		if (sf != 0)
			sim_nvme_log_error(c, sq->qid, sqe.cid, sf, lba, sqe.nsid);
		cmd->cqe.cdw0 = cdw0;
		cmd->cqe.status = (uint16_t)(sf << 1);
		cq_append(cq, cmd);
	}
	return n;
}

static unsigned int group_fetch(struct sim_nvme *c, struct sim_nvme_cq *cq)
{
	unsigned int n = 0, q;

	if (cq->qid == 0)
		return sq_fetch(c, cq, &c->sq[0]);
	for (q = 1; q <= c->nqueues; q++) {
		struct sim_nvme_sq *sq = &c->sq[q];

		if (atomic_load_explicit(&sq->live, memory_order_acquire) && sq->cqid == cq->qid)
			n += sq_fetch(c, cq, sq);
	}
	return n;
}

void sim_nvme_group_service(struct sim_nvme *c, struct sim_nvme_cq *cq)
{
	cq_post(c, cq);
	/* Posting frees command contexts; fetching may then go on. */
	while (group_fetch(c, cq) > 0 && cq_post(c, cq) > 0)
		;
}

void sim_nvme_cq_notify(struct sim_nvme *c, struct sim_nvme_cq *cq)
{
	if (!atomic_load_explicit(&cq->irq_pending, memory_order_relaxed) ||
	    !atomic_exchange(&cq->irq_pending, false))
		return;
	if (atomic_load(&c->intms) & (1u << cq->iv))
		return;
	/* No handler registered is fine: a polling driver needs none. */
	(void)svio_dev_intr_raise(c->dev, cq->iv);
}

/* Like sim_nvme_group_service(), telling whether anything happened (model thread). */
bool sim_nvme_group_service_busy(struct sim_nvme *c, struct sim_nvme_cq *cq)
{
	bool busy = cq_post(c, cq) > 0;
	unsigned int f;

	while ((f = group_fetch(c, cq)) > 0) {
		busy = true;
		if (cq_post(c, cq) == 0)
			break;
	}
	return busy || cq->pend_head != NULL;
}
