/* SPDX-License-Identifier: BSD-3-Clause */
/* NVMe model: the BAR 0 register file, doorbells, enable/disable/shutdown. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_nvme_priv.h"

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
	cq->ien = true; /* the admin CQ always interrupts, on vector 0 */
	cq->iv = 0;
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
		for (unsigned int i = 0; i < c->nns; i++)
			sim_nvme_ns_sync(&c->ns[i]);
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
			return atomic_load(&c->intms);
		case NVME_REG_CC:
		case NVME_REG_AQA:
			pthread_mutex_lock(&c->reg_lock);
			v = off == NVME_REG_CC ? c->cc : c->aqa;
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

int sim_nvme_reg_read(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
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
	sim_nvme_cq_notify(c, cq);
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
		atomic_fetch_or(&c->intms, val);
		break;
	case NVME_REG_INTMC:
		atomic_fetch_and(&c->intms, ~val);
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

int sim_nvme_reg_write(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
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
