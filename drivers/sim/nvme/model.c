/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The built-in NVMe controller: registers, enable/disable handshake, queue
 * processing (inline on doorbell writes, or on a model thread) and the
 * completion path. Commands themselves are in admin.c and io.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sim_nvme_priv.h"

RTE_LOG_REGISTER_SUFFIX(sim_nvme_logtype, sim.nvme, INFO);

static const char *const nvme_devargs[] = {
	"size", "lba", "nsid", "queues", "mqes", "dstrd", "latency_ns", "mode", "file", NULL,
};

uint64_t sim_nvme_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sim_nvme_fatal(struct sim_nvme *c, const char *why)
{
	atomic_store(&c->enabled, false);
	if (!(atomic_fetch_or(&c->csts, NVME_CSTS_CFS) & NVME_CSTS_CFS))
		SIM_NVME_LOG(WARNING, "%s: controller fatal status: %s", c->dev->name, why);
}

void sim_nvme_log_error(struct sim_nvme *c, uint16_t sqid, uint16_t cid, uint16_t sf, uint64_t lba,
			uint32_t nsid)
{
	struct nvme_error_log *e;

	pthread_mutex_lock(&c->err_lock);
	e = &c->errlog[c->err_count % SIM_NVME_ERRLOG];
	memset(e, 0, sizeof(*e));
	e->error_count = ++c->err_count;
	e->sqid = sqid;
	e->cid = cid;
	e->status = (uint16_t)(sf << 1);
	e->param_loc = 0xffff;
	e->lba = lba;
	e->nsid = nsid;
	pthread_mutex_unlock(&c->err_lock);
}

/* ---- queues ---- */

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
	if (n > 0)
		atomic_fetch_add_explicit(&c->stat_posted, n, memory_order_relaxed);
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
	unsigned int posted = cq_post(c, cq);

	(void)posted;
	/* Posting frees command contexts; fetching may then go on. */
	while (group_fetch(c, cq) > 0 && cq_post(c, cq) > 0)
		;
}

/* Like sim_nvme_group_service(), telling whether anything happened (model thread). */
static bool group_service_busy(struct sim_nvme *c, struct sim_nvme_cq *cq)
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

/* ---- enable, disable, shutdown (reg_lock held) ---- */

/* Controller reset: every queue goes away, held and pending commands are dropped. */
static void ctrl_disable(struct sim_nvme *c)
{
	unsigned int q;

	/*
	 * Every processing path checks `enabled` under its group lock, so once it
	 * is false the groups can be torn down one at a time.
	 */
	atomic_store(&c->enabled, false);
	for (q = 0; q <= SIM_NVME_MAX_QUEUES; q++) {
		struct sim_nvme_cq *cq = &c->cq[q];

		pthread_mutex_lock(&cq->lock);
		cq->pend_head = cq->pend_tail = NULL;
		atomic_store(&cq->live, false);
		pthread_mutex_unlock(&cq->lock);
	}
	for (q = 0; q <= SIM_NVME_MAX_QUEUES; q++) {
		struct sim_nvme_sq *sq = &c->sq[q];
		struct sim_nvme_cq *cq = &c->cq[sq->cqid];

		pthread_mutex_lock(&cq->lock);
		atomic_store(&sq->live, false);
		free(sq->cmds);
		sq->cmds = NULL;
		sq->free = sq->held = sq->stuck = NULL;
		pthread_mutex_unlock(&cq->lock);
	}
	atomic_store(&c->csts, 0);
}

static void ctrl_enable(struct sim_nvme *c)
{
	uint32_t asqs = NVME_AQA_ASQS(c->aqa), acqs = NVME_AQA_ACQS(c->aqa);
	struct sim_nvme_cq *cq = &c->cq[0];
	const char *bad = NULL;

	if (asqs == 0 || acqs == 0)
		bad = "AQA: admin queues need at least two entries";
	else if (c->asq == 0 || c->acq == 0 || ((c->asq | c->acq) & (NVME_PAGE_SIZE - 1)))
		bad = "ASQ/ACQ must be non-zero and page aligned";
	else if (NVME_CC_MPS(c->cc) != 0)
		bad = "CC.MPS: only 4 KiB memory pages are supported";
	else if (NVME_CC_CSS(c->cc) != 0)
		bad = "CC.CSS: only the NVM command set is supported";
	if (bad != NULL) {
		SIM_NVME_LOG(ERR, "%s: enable refused: %s", c->dev->name, bad);
		atomic_fetch_or(&c->csts, NVME_CSTS_CFS);
		return;
	}
	pthread_mutex_lock(&cq->lock);
	if (sim_nvme_sq_setup(&c->sq[0], 0, 0, asqs + 1, c->asq) < 0) {
		pthread_mutex_unlock(&cq->lock);
		atomic_fetch_or(&c->csts, NVME_CSTS_CFS);
		return;
	}
	cq->qid = 0;
	cq->size = acqs + 1;
	cq->base = c->acq;
	cq->tail = 0;
	cq->phase = 1;
	cq->nsq = 1;
	atomic_store(&cq->head, 0);
	atomic_store(&cq->live, true);
	atomic_store(&c->sq[0].live, true);
	c->nsq_alloc = c->ncq_alloc = c->nqueues;
	c->aer_outstanding = 0;
	pthread_mutex_unlock(&cq->lock);
	atomic_store(&c->enabled, true);
	atomic_store(&c->csts, NVME_CSTS_RDY);
}

static void cc_write(struct sim_nvme *c, uint32_t val)
{
	uint32_t old = c->cc;

	c->cc = val;
	if (!(old & NVME_CC_EN) && (val & NVME_CC_EN))
		ctrl_enable(c);
	else if ((old & NVME_CC_EN) && !(val & NVME_CC_EN))
		ctrl_disable(c);
	if (NVME_CC_SHN(val) != 0 && NVME_CC_SHN(old) == 0 && (val & NVME_CC_EN)) {
		/* Shutdown completes at once: data reaches the backing file, processing stops. */
		atomic_store(&c->enabled, false);
		sim_nvme_ns_sync(&c->ns);
		atomic_store(&c->csts, (atomic_load(&c->csts) & ~NVME_CSTS_SHST_MASK) |
					       NVME_CSTS_SHST_COMPLETE);
	}
}

/* ---- registers ---- */

static uint64_t cap_value(const struct sim_nvme *c)
{
	return c->mqes | NVME_CAP_CQR | NVME_CAP_MAKE_TO(SIM_NVME_TO) |
	       NVME_CAP_MAKE_DSTRD(c->dstrd) | NVME_CAP_CSS_NVM;
}

static uint32_t reg_read32(struct sim_nvme *c, uint64_t off)
{
	uint64_t v;

	switch (off & ~7ull) {
	case NVME_REG_CAP:
		v = cap_value(c);
		break;
	case NVME_REG_ASQ:
		pthread_mutex_lock(&c->reg_lock);
		v = c->asq;
		pthread_mutex_unlock(&c->reg_lock);
		break;
	case NVME_REG_ACQ:
		pthread_mutex_lock(&c->reg_lock);
		v = c->acq;
		pthread_mutex_unlock(&c->reg_lock);
		break;
	default:
		switch (off) {
		case NVME_REG_VS:
			return NVME_VS_1_4;
		case NVME_REG_INTMS:
		case NVME_REG_INTMC:
		case NVME_REG_CC:
		case NVME_REG_AQA:
			pthread_mutex_lock(&c->reg_lock);
			v = off == NVME_REG_CC ? c->cc : off == NVME_REG_AQA ? c->aqa : c->intms;
			pthread_mutex_unlock(&c->reg_lock);
			return (uint32_t)v;
		case NVME_REG_CSTS:
			return atomic_load(&c->csts);
		default:
			return 0; /* reserved registers and doorbells read as zero */
		}
	}
	return (uint32_t)(off & 4 ? v >> 32 : v);
}

static int nvme_read(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
		     uint64_t *val)
{
	struct sim_nvme *c = sim_dev_priv(dev);

	if (bar != 0 || (width != 4 && width != 8) || off % width != 0 || off + width > c->bar_size)
		return -EINVAL;
	*val = reg_read32(c, off);
	if (width == 8)
		*val |= (uint64_t)reg_read32(c, off + 4) << 32;
	return 0;
}

static void doorbell_write(struct sim_nvme *c, uint64_t off, uint32_t val)
{
	uint64_t stride = 4ull << c->dstrd, idx;
	struct sim_nvme_cq *cq;
	uint16_t qid;

	if ((off - NVME_REG_DBS) % stride != 0)
		return;
	idx = (off - NVME_REG_DBS) / stride;
	qid = (uint16_t)(idx / 2);
	if (qid > c->nqueues)
		return;
	if (idx & 1) {
		cq = &c->cq[qid];
		if (!atomic_load_explicit(&cq->live, memory_order_acquire) || val >= cq->size)
			return; /* invalid doorbell writes are ignored */
		atomic_store_explicit(&cq->head, val, memory_order_release);
	} else {
		struct sim_nvme_sq *sq = &c->sq[qid];

		if (!atomic_load_explicit(&sq->live, memory_order_acquire) || val >= sq->size)
			return;
		atomic_store_explicit(&sq->tail, val, memory_order_release);
		cq = &c->cq[sq->cqid];
	}
	if (c->thread_mode || !atomic_load(&c->enabled))
		return;
	pthread_mutex_lock(&cq->lock);
	if (atomic_load(&cq->live))
		sim_nvme_group_service(c, cq);
	pthread_mutex_unlock(&cq->lock);
}

static void reg_write32(struct sim_nvme *c, uint64_t off, uint32_t val)
{
	if (off >= NVME_REG_DBS) {
		doorbell_write(c, off, val);
		return;
	}
	pthread_mutex_lock(&c->reg_lock);
	switch (off) {
	case NVME_REG_INTMS:
		c->intms |= val;
		break;
	case NVME_REG_INTMC:
		c->intms &= ~val;
		break;
	case NVME_REG_CC:
		cc_write(c, val);
		break;
	/* The admin queue registers only change while the controller is disabled. */
	case NVME_REG_AQA:
		if (!(c->cc & NVME_CC_EN))
			c->aqa = val & 0x0fff0fff;
		break;
	case NVME_REG_ASQ:
	case NVME_REG_ASQ + 4:
	case NVME_REG_ACQ:
	case NVME_REG_ACQ + 4:
		if (!(c->cc & NVME_CC_EN)) {
			uint64_t *r = off < NVME_REG_ACQ ? &c->asq : &c->acq;
			unsigned int sh = off & 4 ? 32 : 0;

			*r = (*r & ~(0xffffffffull << sh)) | ((uint64_t)val << sh);
		}
		break;
	default:
		break; /* read-only and reserved registers ignore writes */
	}
	pthread_mutex_unlock(&c->reg_lock);
}

static int nvme_write(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
		      uint64_t val)
{
	struct sim_nvme *c = sim_dev_priv(dev);

	if (bar != 0 || (width != 4 && width != 8) || off % width != 0 || off + width > c->bar_size)
		return -EINVAL;
	reg_write32(c, off, (uint32_t)val);
	if (width == 8)
		reg_write32(c, off + 4, (uint32_t)(val >> 32));
	return 0;
}

/* ---- the model thread (mode=thread) ---- */

static void *model_thread(void *arg)
{
	struct sim_nvme *c = arg;
	unsigned int idle = 0;

	while (!atomic_load(&c->thread_stop)) {
		bool busy = false;

		if (atomic_load(&c->enabled)) {
			for (unsigned int q = 0; q <= c->nqueues; q++) {
				struct sim_nvme_cq *cq = &c->cq[q];

				if (!atomic_load_explicit(&cq->live, memory_order_acquire))
					continue;
				pthread_mutex_lock(&cq->lock);
				if (atomic_load(&cq->live))
					busy |= group_service_busy(c, cq);
				pthread_mutex_unlock(&cq->lock);
			}
		}
		if (busy) {
			idle = 0;
		} else if (++idle > 64) {
			/* Nothing to do: back off so an idle controller costs little CPU. */
			struct timespec ts = { 0, 20000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* ---- create, destroy ---- */

static int arg_range(struct svio_device *dev, const char *key, uint64_t lo, uint64_t hi,
		     uint64_t *val)
{
	int rc = svio_dev_arg_u64(dev, key, val);

	if (rc < 0)
		return rc;
	if (*val < lo || *val > hi) {
		SIM_NVME_LOG(ERR, "%s: %s=%" PRIu64 " is out of range (%" PRIu64 "..%" PRIu64 ")",
			     dev->name, key, *val, lo, hi);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(struct svio_device *dev, struct sim_nvme *c, uint64_t *size, uint32_t *lba,
		      uint32_t *nsid)
{
	const char *mode = svio_dev_arg(dev, "mode");
	uint64_t v, queues = 8, mqes = 1024, dstrd = 0, nsid64 = 1;
	int rc;

	*size = svio_dev_arg(dev, "file") != NULL ? 0 : 1ull << 30;
	rc = svio_dev_arg_u64(dev, "size", size);
	if (rc < 0)
		return rc;
	v = 512;
	rc = svio_dev_arg_u64(dev, "lba", &v);
	if (rc < 0)
		return rc;
	if (v != 512 && v != 4096) {
		SIM_NVME_LOG(ERR, "%s: lba=%" PRIu64 " is not a supported LBA size (512 or 4096)",
			     dev->name, v);
		return -EINVAL;
	}
	*lba = (uint32_t)v;
	if ((rc = arg_range(dev, "nsid", 1, 1024, &nsid64)) < 0 ||
	    (rc = arg_range(dev, "queues", 1, SIM_NVME_MAX_QUEUES, &queues)) < 0 ||
	    (rc = arg_range(dev, "mqes", 2, 4096, &mqes)) < 0 ||
	    (rc = arg_range(dev, "dstrd", 0, 4, &dstrd)) < 0)
		return rc;
	rc = svio_dev_arg_u64(dev, "latency_ns", &c->latency_ns);
	if (rc < 0)
		return rc;
	if (mode != NULL && strcmp(mode, "inline") != 0 && strcmp(mode, "thread") != 0) {
		SIM_NVME_LOG(ERR, "%s: mode=%s: expected inline or thread", dev->name, mode);
		return -EINVAL;
	}
	c->thread_mode = mode != NULL && strcmp(mode, "thread") == 0;
	*nsid = (uint32_t)nsid64;
	c->nqueues = (uint32_t)queues;
	c->mqes = (uint32_t)mqes - 1;
	c->dstrd = (uint32_t)dstrd;
	return 0;
}

static void free_model(struct sim_nvme *c)
{
	for (unsigned int q = 0; q <= SIM_NVME_MAX_QUEUES; q++) {
		free(c->sq[q].cmds);
		pthread_mutex_destroy(&c->cq[q].lock);
	}
	pthread_mutex_destroy(&c->reg_lock);
	pthread_mutex_destroy(&c->err_lock);
	free(c);
}

static int nvme_create(struct svio_device *dev)
{
	struct sim_nvme *c = calloc(1, sizeof(*c));
	uint64_t size;
	uint32_t lba, nsid;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	c->dev = dev;
	c->ns.fd = -1;
	pthread_mutex_init(&c->reg_lock, NULL);
	pthread_mutex_init(&c->err_lock, NULL);
	for (unsigned int q = 0; q <= SIM_NVME_MAX_QUEUES; q++) {
		pthread_mutex_init(&c->cq[q].lock, NULL);
		c->cq[q].qid = (uint16_t)q;
		c->sq[q].qid = (uint16_t)q;
	}
	rc = parse_args(dev, c, &size, &lba, &nsid);
	if (rc < 0)
		goto out_free;
	c->bar_size = NVME_REG_DBS + 2ull * (c->nqueues + 1) * (4ull << c->dstrd);
	rc = sim_nvme_ns_open(&c->ns, svio_dev_arg(dev, "file"), size, lba, nsid, dev->name);
	if (rc < 0)
		goto out_free;
	dev->bus_priv = c;
	if (c->thread_mode) {
		rc = -pthread_create(&c->thread, NULL, model_thread, c);
		if (rc < 0) {
			SIM_NVME_LOG(ERR, "%s: cannot start the model thread", dev->name);
			goto out_close_ns;
		}
		c->thread_running = true;
	}
	return 0;

out_close_ns:
	dev->bus_priv = NULL;
	sim_nvme_ns_close(&c->ns);
out_free:
	free_model(c);
	return rc;
}

static void nvme_destroy(struct svio_device *dev)
{
	struct sim_nvme *c = sim_dev_priv(dev);

	if (c == NULL)
		return;
	if (c->thread_running) {
		atomic_store(&c->thread_stop, true);
		pthread_join(c->thread, NULL);
	}
	sim_nvme_ns_close(&c->ns);
	free_model(c);
	dev->bus_priv = NULL;
}

static const struct svio_dev_reg_ops nvme_reg_ops = {
	.read = nvme_read,
	.write = nvme_write,
};

const struct sim_model sim_nvme_model = {
	.prefix = "sim_nvme",
	.kind = SVIO_DEV_KIND_NVME,
	.devargs = nvme_devargs,
	.dma = true,
	.create = nvme_create,
	.destroy = nvme_destroy,
	.reg_ops = &nvme_reg_ops,
};

/* ---- test hooks ---- */

static struct sim_nvme *model_of(struct svio_device *dev)
{
	if (dev == NULL || dev->reg_ops != &nvme_reg_ops)
		return NULL;
	return sim_dev_priv(dev);
}

int sim_nvme_inject_fatal(struct svio_device *dev)
{
	struct sim_nvme *c = model_of(dev);

	if (c == NULL)
		return -EINVAL;
	sim_nvme_fatal(c, "injected");
	return 0;
}

int sim_nvme_inject_hang(struct svio_device *dev, unsigned int n, bool abortable)
{
	struct sim_nvme *c = model_of(dev);

	if (c == NULL)
		return -EINVAL;
	atomic_store(&c->hang_abortable, abortable);
	atomic_store(&c->hang_next, n);
	return 0;
}

static uint64_t resident_bytes(const struct sim_nvme_ns *ns)
{
	static const size_t step = 1ull << 30;
	unsigned char *vec = malloc(step / 4096);
	uint64_t off, n = 0;

	if (vec == NULL)
		return 0;
	for (off = 0; off < ns->bytes; off += step) {
		size_t len = ns->bytes - off < step ? ns->bytes - off : step;

		if (mincore(ns->data + off, len, vec) < 0)
			break;
		for (size_t i = 0; i < (len + 4095) / 4096; i++)
			n += vec[i] & 1;
	}
	free(vec);
	return n * 4096;
}

int sim_nvme_stats_get(struct svio_device *dev, struct sim_nvme_stats *st)
{
	struct sim_nvme *c = model_of(dev);

	if (c == NULL || st == NULL)
		return -EINVAL;
	st->commands = atomic_load(&c->stat_cmds);
	st->held = atomic_load(&c->stat_held);
	st->aborted = atomic_load(&c->stat_aborted);
	st->posted = atomic_load(&c->stat_posted);
	st->resident = resident_bytes(&c->ns);
	return 0;
}

int sim_nvme_ns_peek(struct svio_device *dev, uint64_t lba, uint32_t nlb, void *buf)
{
	struct sim_nvme *c = model_of(dev);

	if (c == NULL || buf == NULL)
		return -EINVAL;
	if (lba >= c->ns.nsze || nlb > c->ns.nsze - lba)
		return -ERANGE;
	memcpy(buf, c->ns.data + (lba << c->ns.lba_shift), (size_t)nlb << c->ns.lba_shift);
	return 0;
}
