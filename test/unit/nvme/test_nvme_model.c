/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NVMe controller model against the spec: registers and the enable /
 * shutdown handshake driven by hand (no driver), the phase tag, doorbell
 * stride, every invalid admin and I/O command's status, PRP lists, bad
 * buffer addresses, the sparse and file-backed namespaces, log pages, the
 * fault injection's DMA.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "nvme_test.h"
#include "sim_nvme.h"
#include "svio_dev.h"
#include "svio_iommu.h"

static char file_path[64];

/* ---- a hand-driven controller (no driver bound) ---- */

struct raw {
	struct svio_device *dev;
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	uint8_t *data; /* two pages for command data */
	uint32_t n;    /* admin queue entries */
	uint32_t tail, head;
	uint16_t phase, cid;
	unsigned int dstrd;
};

static struct raw raw;

static void *dma_page(size_t len)
{
	void *p = NULL;
	uint64_t iova;

	assert_int_equal(posix_memalign(&p, 4096, len), 0);
	memset(p, 0, len);
	assert_int_equal(svio_dma_map(svio_domain_default(), p, len, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(iova, (uint64_t)(uintptr_t)p);
	return p;
}

static uint32_t rd32(uint64_t off)
{
	uint32_t v = 0;

	assert_int_equal(svio_reg_read32(raw.dev, 0, off, &v), 0);
	return v;
}

static void wr32(uint64_t off, uint32_t v)
{
	assert_int_equal(svio_reg_write32(raw.dev, 0, off, v), 0);
}

static void raw_enable(uint32_t entries)
{
	raw.n = entries;
	raw.tail = raw.head = 0;
	raw.phase = 1;
	memset(raw.sq, 0, 4096);
	memset(raw.cq, 0, 4096);
	wr32(NVME_REG_AQA, NVME_AQA(entries - 1, entries - 1));
	assert_int_equal(svio_reg_write64(raw.dev, 0, NVME_REG_ASQ, (uintptr_t)raw.sq), 0);
	assert_int_equal(svio_reg_write64(raw.dev, 0, NVME_REG_ACQ, (uintptr_t)raw.cq), 0);
	wr32(NVME_REG_CC, NVME_CC_EN | NVME_CC_MAKE_IOSQES(6) | NVME_CC_MAKE_IOCQES(4));
	assert_int_equal(rd32(NVME_REG_CSTS), NVME_CSTS_RDY);
}

static void raw_disable(void)
{
	wr32(NVME_REG_CC, 0);
	assert_int_equal(rd32(NVME_REG_CSTS) & NVME_CSTS_RDY, 0);
}

/* Run one admin command (inline model: done when the doorbell write returns). */
static uint16_t raw_admin(struct nvme_sqe *sqe, struct nvme_cqe *out)
{
	struct nvme_cqe *e;

	sqe->cid = raw.cid++;
	raw.sq[raw.tail] = *sqe;
	raw.tail = (raw.tail + 1) % raw.n;
	wr32(nvme_sq_doorbell(0, raw.dstrd), raw.tail);
	e = &raw.cq[raw.head];
	assert_int_equal(e->status & NVME_CQE_PHASE, raw.phase);
	*out = *e;
	assert_int_equal(out->cid, sqe->cid);
	assert_int_equal(out->sqid, 0);
	assert_int_equal(out->sqhd, raw.tail);
	if (++raw.head == raw.n) {
		raw.head = 0;
		raw.phase ^= 1;
	}
	wr32(nvme_cq_doorbell(0, raw.dstrd), raw.head);
	return NVME_CQE_SF(out->status);
}

static int raw_setup(void **state)
{
	(void)state;
	assert_int_equal(svio_dev_add("sim_nvme7,size=8M,dstrd=1,mqes=64,queues=2", &raw.dev), 0);
	assert_null(raw.dev->driver);
	assert_int_equal(svio_domain_attach(svio_domain_default(), raw.dev), 0);
	raw.sq = dma_page(4096);
	raw.cq = dma_page(4096);
	raw.data = dma_page(8192);
	raw.dstrd = 1;
	return 0;
}

static int raw_teardown(void **state)
{
	struct svio_domain *dom = svio_domain_default();

	(void)state;
	wr32(NVME_REG_CC, 0);
	svio_dma_unmap(dom, (uintptr_t)raw.sq, 4096);
	svio_dma_unmap(dom, (uintptr_t)raw.cq, 4096);
	svio_dma_unmap(dom, (uintptr_t)raw.data, 8192);
	svio_domain_detach(dom, raw.dev);
	free(raw.sq);
	free(raw.cq);
	free(raw.data);
	return 0;
}

static void test_registers(void **state)
{
	uint64_t cap = 0, v = 0;

	(void)state;
	assert_int_equal(svio_reg_read64(raw.dev, 0, NVME_REG_CAP, &cap), 0);
	assert_int_equal(NVME_CAP_MQES(cap), 63);
	assert_true(cap & NVME_CAP_CQR);
	assert_int_equal(NVME_CAP_TO(cap), 4);
	assert_int_equal(NVME_CAP_DSTRD(cap), 1);
	assert_true(cap & NVME_CAP_CSS_NVM);
	assert_int_equal(NVME_CAP_MPSMIN(cap), 0);
	assert_int_equal(rd32(NVME_REG_CAP + 4), (uint32_t)(cap >> 32));
	assert_int_equal(rd32(NVME_REG_VS), NVME_VS_1_4);
	assert_int_equal(rd32(NVME_REG_CSTS), 0);
	assert_int_equal(rd32(0x40), 0); /* reserved */
	/* Bad accesses: other BARs, odd widths, misaligned, beyond the doorbells. */
	assert_int_equal(raw.dev->reg_ops->read(raw.dev, 1, 0, 4, &v), -EINVAL);
	assert_int_equal(raw.dev->reg_ops->read(raw.dev, 0, 0, 2, &v), -EINVAL);
	assert_int_equal(raw.dev->reg_ops->read(raw.dev, 0, 2, 4, &v), -EINVAL);
	assert_int_equal(raw.dev->reg_ops->write(raw.dev, 0, 0x1000 + 6 * 8, 4, 0), -EINVAL);
	/* Admin queue registers read back, 64-bit ones also as halves. */
	wr32(NVME_REG_AQA, NVME_AQA(7, 15));
	assert_int_equal(rd32(NVME_REG_AQA), NVME_AQA(7, 15));
	assert_int_equal(svio_reg_write64(raw.dev, 0, NVME_REG_ASQ, 0x1234567000ull), 0);
	assert_int_equal(svio_reg_read64(raw.dev, 0, NVME_REG_ASQ, &v), 0);
	assert_int_equal(v, 0x1234567000ull);
	assert_int_equal(rd32(NVME_REG_ASQ + 4), 0x12);
	wr32(NVME_REG_INTMS, 0x5);
	assert_int_equal(rd32(NVME_REG_INTMS), 0x5);
	wr32(NVME_REG_INTMC, 0x1);
	assert_int_equal(rd32(NVME_REG_INTMC), 0x4);
	wr32(NVME_REG_INTMC, 0x4);
}

static void test_handshake(void **state)
{
	(void)state;
	raw_enable(8);
	/* Admin queue registers are frozen while enabled. */
	wr32(NVME_REG_AQA, NVME_AQA(1, 1));
	assert_int_equal(rd32(NVME_REG_AQA), NVME_AQA(7, 7));
	/* Normal shutdown completes; disabling clears it. */
	wr32(NVME_REG_CC, rd32(NVME_REG_CC) | NVME_CC_SHN_NORMAL);
	assert_int_equal(rd32(NVME_REG_CSTS) & NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_COMPLETE);
	raw_disable();
	assert_int_equal(rd32(NVME_REG_CSTS), 0);
	/* A bad admin queue address: enabling ends in controller fatal status. */
	assert_int_equal(svio_reg_write64(raw.dev, 0, NVME_REG_ASQ, (uintptr_t)raw.sq + 64), 0);
	wr32(NVME_REG_CC, NVME_CC_EN);
	assert_int_equal(rd32(NVME_REG_CSTS), NVME_CSTS_CFS);
	raw_disable();
	assert_int_equal(rd32(NVME_REG_CSTS), 0);
	/* Memory page size other than 4 KiB is refused the same way. */
	assert_int_equal(svio_reg_write64(raw.dev, 0, NVME_REG_ASQ, (uintptr_t)raw.sq), 0);
	wr32(NVME_REG_CC, NVME_CC_EN | (1u << 7));
	assert_int_equal(rd32(NVME_REG_CSTS), NVME_CSTS_CFS);
	raw_disable();
	raw_enable(8);
	raw_disable();
}

/* Identify through hand-made admin queues; the phase tag flips at each wrap. */
static void test_admin_phase(void **state)
{
	struct nvme_sqe sqe = { .opc = NVME_ADM_IDENTIFY, .cdw10 = NVME_CNS_CTRLR };
	struct nvme_id_ctrlr *id = (struct nvme_id_ctrlr *)raw.data;
	struct nvme_cqe cqe;
	unsigned int i;

	(void)state;
	raw_enable(4);
	for (i = 0; i < 14; i++) {
		uint16_t phase = raw.phase;

		memset(raw.data, 0, 8192);
		sqe.prp1 = (uintptr_t)raw.data;
		sqe.prp2 = (uintptr_t)raw.data + 4096;
		assert_int_equal(raw_admin(&sqe, &cqe), 0);
		assert_int_equal(cqe.status & 1, phase);
		assert_int_equal(id->ver, NVME_VS_1_4);
		assert_int_equal(id->nn, 1);
		assert_int_equal(id->sqes, 0x66);
		assert_int_equal(id->cqes, 0x44);
		assert_int_equal(id->mdts, 8);
		assert_memory_equal(id->sn, "SVIOSIM0007", 11);
	}
	assert_int_equal(raw.phase, 0); /* 14 completions in a 4-entry queue: three wraps */
	/* Doorbell values beyond the queue and doorbells of absent queues are ignored. */
	wr32(nvme_sq_doorbell(0, 1), 4);
	wr32(nvme_sq_doorbell(2, 1), 1);
	wr32(nvme_cq_doorbell(2, 1), 1);
	assert_int_equal(raw.cq[raw.head].status & 1, raw.phase ^ 1);
	assert_int_equal(rd32(NVME_REG_CSTS), NVME_CSTS_RDY);
	raw_disable();
}

static void count_irq(struct svio_device *dev, unsigned int vector, void *arg)
{
	(void)dev;
	assert_int_equal(vector, 0);
	(*(unsigned int *)arg)++;
}

/* Admin completions raise vector 0 unless INTMS masks it. */
static void test_interrupts(void **state)
{
	struct nvme_sqe sqe = { .opc = NVME_ADM_GET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES };
	struct nvme_cqe cqe;
	unsigned int irqs = 0;

	(void)state;
	assert_int_equal(svio_dev_intr_register(raw.dev, 0, count_irq, &irqs), 0);
	raw_enable(8);
	assert_int_equal(raw_admin(&sqe, &cqe), 0);
	assert_int_equal(cqe.cdw0, (1u << 16) | 1u); /* queues=2, 0-based */
	assert_int_equal(irqs, 1);
	wr32(NVME_REG_INTMS, 1);
	assert_int_equal(raw_admin(&sqe, &cqe), 0);
	assert_int_equal(irqs, 1);
	wr32(NVME_REG_INTMC, 1);
	assert_int_equal(raw_admin(&sqe, &cqe), 0);
	assert_int_equal(irqs, 2);
	raw_disable();
	svio_dev_intr_unregister(raw.dev, 0);
}

/* Event requests stay outstanding (no event ever fires); past AERL + 1 the limit status. */
static void test_async_events(void **state)
{
	struct nvme_sqe aer = { .opc = NVME_ADM_ASYNC_EVENT };
	struct nvme_cqe cqe;
	unsigned int i;

	(void)state;
	raw_enable(8);
	for (i = 0; i < 4; i++) {
		aer.cid = (uint16_t)(100 + i);
		raw.sq[raw.tail] = aer;
		raw.tail = (raw.tail + 1) % raw.n;
		wr32(nvme_sq_doorbell(0, raw.dstrd), raw.tail);
		assert_int_equal(raw.cq[raw.head].status & 1, raw.phase ^ 1); /* nothing posted */
	}
	assert_int_equal(raw_admin(&aer, &cqe),
			 NVME_SF(NVME_SCT_CMD_SPECIFIC, NVME_SC_ASYNC_EVENT_LIMIT));
	/* A reset drops the outstanding requests: four may wait again. */
	raw_disable();
	raw_enable(8);
	for (i = 0; i < 4; i++) {
		raw.sq[raw.tail] = aer;
		raw.tail = (raw.tail + 1) % raw.n;
		wr32(nvme_sq_doorbell(0, raw.dstrd), raw.tail);
	}
	assert_int_equal(raw.cq[0].status & 1, 0);
	raw_disable();
}

/* ---- statuses through the driver's raw paths ---- */

struct status_case {
	const char *what;
	struct nvme_sqe sqe;
	uint8_t sct, sc;
};

#define GEN(sc)	 NVME_SCT_GENERIC, NVME_SC_##sc
#define SPEC(sc) NVME_SCT_CMD_SPECIFIC, NVME_SC_##sc

static void test_admin_status(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	static uint8_t buf[8192];
	const struct status_case cases[] = {
		{ "unknown opcode", { .opc = 0x7c }, GEN(INVALID_OPCODE) },
		{ "fused",
		  { .opc = NVME_ADM_GET_FEATURES, .flags = 1, .cdw10 = 7 },
		  GEN(INVALID_FIELD) },
		{ "identify cns", { .opc = NVME_ADM_IDENTIFY, .cdw10 = 0x55 }, GEN(INVALID_FIELD) },
		{ "identify ns 0", { .opc = NVME_ADM_IDENTIFY, .cdw10 = 0 }, GEN(INVALID_NS) },
		{ "identify ns 9", { .opc = NVME_ADM_IDENTIFY, .nsid = 9 }, GEN(INVALID_NS) },
		{ "active list",
		  { .opc = NVME_ADM_IDENTIFY, .nsid = 0xfffffffe, .cdw10 = 2 },
		  GEN(INVALID_NS) },
		{ "cq qid 0",
		  { .opc = NVME_ADM_CREATE_CQ, .prp1 = 0x10000, .cdw10 = 15u << 16, .cdw11 = 1 },
		  SPEC(INVALID_QID) },
		{ "cq qid 9",
		  { .opc = NVME_ADM_CREATE_CQ,
		    .prp1 = 0x10000,
		    .cdw10 = 15u << 16 | 9,
		    .cdw11 = 1 },
		  SPEC(INVALID_QID) },
		{ "cq qid live",
		  { .opc = NVME_ADM_CREATE_CQ,
		    .prp1 = 0x10000,
		    .cdw10 = 15u << 16 | 1,
		    .cdw11 = 1 },
		  SPEC(INVALID_QID) },
		{ "cq size 1",
		  { .opc = NVME_ADM_CREATE_CQ, .prp1 = 0x10000, .cdw10 = 5, .cdw11 = 1 },
		  SPEC(INVALID_QSIZE) },
		{ "cq size > mqes",
		  { .opc = NVME_ADM_CREATE_CQ,
		    .prp1 = 0x10000,
		    .cdw10 = 1024u << 16 | 5,
		    .cdw11 = 1 },
		  SPEC(INVALID_QSIZE) },
		{ "cq not contiguous",
		  { .opc = NVME_ADM_CREATE_CQ, .prp1 = 0x10000, .cdw10 = 15u << 16 | 5 },
		  GEN(INVALID_FIELD) },
		{ "cq base offset",
		  { .opc = NVME_ADM_CREATE_CQ,
		    .prp1 = 0x10010,
		    .cdw10 = 15u << 16 | 5,
		    .cdw11 = 1 },
		  GEN(INVALID_PRP_OFFSET) },
		{ "cq vector",
		  { .opc = NVME_ADM_CREATE_CQ,
		    .prp1 = 0x10000,
		    .cdw10 = 15u << 16 | 5,
		    .cdw11 = 99u << 16 | 3 },
		  SPEC(INVALID_VECTOR) },
		{ "sq without cq",
		  { .opc = NVME_ADM_CREATE_SQ,
		    .prp1 = 0x10000,
		    .cdw10 = 15u << 16 | 5,
		    .cdw11 = 6u << 16 | 1 },
		  SPEC(CQ_INVALID) },
		{ "sq on admin cq",
		  { .opc = NVME_ADM_CREATE_SQ,
		    .prp1 = 0x10000,
		    .cdw10 = 15u << 16 | 5,
		    .cdw11 = 1 },
		  SPEC(CQ_INVALID) },
		{ "delete sq absent",
		  { .opc = NVME_ADM_DELETE_SQ, .cdw10 = 6 },
		  SPEC(INVALID_QID) },
		{ "delete admin sq", { .opc = NVME_ADM_DELETE_SQ, .cdw10 = 0 }, SPEC(INVALID_QID) },
		{ "delete admin cq", { .opc = NVME_ADM_DELETE_CQ, .cdw10 = 0 }, SPEC(INVALID_QID) },
		{ "delete cq in use",
		  { .opc = NVME_ADM_DELETE_CQ, .cdw10 = 1 },
		  SPEC(INVALID_QUEUE_DELETION) },
		{ "log page id",
		  { .opc = NVME_ADM_GET_LOG_PAGE, .cdw10 = 127u << 16 | 0x7f },
		  SPEC(INVALID_LOG_PAGE) },
		{ "log page offset",
		  { .opc = NVME_ADM_GET_LOG_PAGE,
		    .cdw10 = 127u << 16 | NVME_LOG_SMART,
		    .cdw12 = 512 },
		  GEN(INVALID_FIELD) },
		{ "log page too long",
		  { .opc = NVME_ADM_GET_LOG_PAGE, .cdw10 = 255u << 16 | NVME_LOG_SMART },
		  GEN(INVALID_FIELD) },
		{ "smart of absent ns",
		  { .opc = NVME_ADM_GET_LOG_PAGE, .nsid = 4, .cdw10 = 127u << 16 | NVME_LOG_SMART },
		  GEN(INVALID_NS) },
		{ "get feature id",
		  { .opc = NVME_ADM_GET_FEATURES, .cdw10 = 0x55 },
		  GEN(INVALID_FIELD) },
		{ "set feature id",
		  { .opc = NVME_ADM_SET_FEATURES, .cdw10 = 0x55 },
		  GEN(INVALID_FIELD) },
		{ "set feature save",
		  { .opc = NVME_ADM_SET_FEATURES, .cdw10 = 1u << 31 | 7 },
		  SPEC(FEATURE_NOT_SAVEABLE) },
		{ "queues 65536",
		  { .opc = NVME_ADM_SET_FEATURES, .cdw10 = 7, .cdw11 = 0xffff },
		  GEN(INVALID_FIELD) },
		{ "queues after create",
		  { .opc = NVME_ADM_SET_FEATURES, .cdw10 = 7, .cdw11 = 1 },
		  GEN(CMD_SEQ_ERROR) },
	};
	struct svio_nvme_qpair *qp;
	struct svio_nvme_cpl cpl;
	unsigned int i;

	(void)state;
	/* Queue pair 1 exists while the cases run. */
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct status_case *k = &cases[i];
		size_t len = k->sqe.opc == NVME_ADM_IDENTIFY || k->sqe.opc == NVME_ADM_GET_LOG_PAGE
				     ? 4096
				     : 0;
		int rc = svio_nvme_admin_cmd(c, &k->sqe, buf, len, &cpl);

		if (rc != -EIO || NVME_SF_SCT(cpl.status) != k->sct ||
		    NVME_SF_SC(cpl.status) != k->sc)
			fail_msg("%s: rc %d status sct %u sc 0x%x, expected sct %u sc 0x%x",
				 k->what, rc, NVME_SF_SCT(cpl.status), NVME_SF_SC(cpl.status),
				 k->sct, k->sc);
	}
	/* Abort of a command that is not there: success, "not aborted". */
	{
		struct nvme_sqe ab = { .opc = NVME_ADM_ABORT, .cdw10 = 77u << 16 | 1 };

		assert_int_equal(svio_nvme_admin_cmd(c, &ab, NULL, 0, &cpl), 0);
		assert_int_equal(cpl.cdw0 & 1, 1);
		ab.cdw10 = 5;
		assert_int_equal(svio_nvme_admin_cmd(c, &ab, NULL, 0, &cpl), 0);
		assert_int_equal(cpl.cdw0 & 1, 1);
	}
	/* Valid features read back. */
	{
		struct nvme_sqe gf = { .opc = NVME_ADM_GET_FEATURES,
				       .cdw10 = NVME_FEAT_NUM_QUEUES };

		assert_int_equal(svio_nvme_admin_cmd(c, &gf, NULL, 0, &cpl), 0);
		assert_int_equal(cpl.cdw0, (7u << 16) | 7u);
	}
	svio_nvme_qpair_free(qp);
}

static void raw_io(struct svio_nvme_qpair *qp, const struct nvme_sqe *sqe, struct nvme_wait *w)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(svio_nvme_io_raw(qp, sqe, 0, 0, nvme_wait_cb, w), 0);
	nvme_wait_done(qp, w);
}

static void test_io_status(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	static uint8_t buf[3 * 4096] __attribute__((aligned(4096)));
	struct nvme_dsm_range *range = (struct nvme_dsm_range *)buf;
	uint64_t b = (uintptr_t)buf, nsze = (64u << 20) / 512;
	const struct status_case cases[] = {
		{ "unknown opcode", { .opc = 0x7e, .nsid = 1 }, GEN(INVALID_OPCODE) },
		{ "read ns 2", { .opc = NVME_CMD_READ, .nsid = 2, .prp1 = b }, GEN(INVALID_NS) },
		{ "read ns 0", { .opc = NVME_CMD_READ, .nsid = 0, .prp1 = b }, GEN(INVALID_NS) },
		{ "flush ns 3", { .opc = NVME_CMD_FLUSH, .nsid = 3 }, GEN(INVALID_NS) },
		{ "zeroes ns 3", { .opc = NVME_CMD_WRITE_ZEROES, .nsid = 3 }, GEN(INVALID_NS) },
		{ "read at end",
		  { .opc = NVME_CMD_READ, .nsid = 1, .prp1 = b, .cdw10 = (uint32_t)nsze },
		  GEN(LBA_OUT_OF_RANGE) },
		{ "read across end",
		  { .opc = NVME_CMD_READ,
		    .nsid = 1,
		    .prp1 = b,
		    .cdw10 = (uint32_t)nsze - 1,
		    .cdw12 = 1 },
		  GEN(LBA_OUT_OF_RANGE) },
		{ "read high lba",
		  { .opc = NVME_CMD_READ, .nsid = 1, .prp1 = b, .cdw11 = 1 },
		  GEN(LBA_OUT_OF_RANGE) },
		{ "read > mdts",
		  { .opc = NVME_CMD_READ, .nsid = 1, .prp1 = b, .cdw12 = 4095 },
		  GEN(INVALID_FIELD) },
		{ "prp1 not dword aligned",
		  { .opc = NVME_CMD_READ, .nsid = 1, .prp1 = b + 2 },
		  GEN(INVALID_PRP_OFFSET) },
		{ "prp2 offset",
		  { .opc = NVME_CMD_READ, .nsid = 1, .prp1 = b, .prp2 = b + 4096 + 8, .cdw12 = 15 },
		  GEN(INVALID_PRP_OFFSET) },
		{ "prp list entry offset",
		  { .opc = NVME_CMD_READ, .nsid = 1, .prp1 = b + 8192, .prp2 = b, .cdw12 = 23 },
		  GEN(INVALID_PRP_OFFSET) },
		{ "sgl",
		  { .opc = NVME_CMD_READ, .nsid = 1, .flags = 0x40, .prp1 = b },
		  GEN(INVALID_FIELD) },
		{ "zeroes at end",
		  { .opc = NVME_CMD_WRITE_ZEROES,
		    .nsid = 1,
		    .cdw10 = (uint32_t)nsze - 1,
		    .cdw12 = 1 },
		  GEN(LBA_OUT_OF_RANGE) },
		{ "dsm range at end",
		  { .opc = NVME_CMD_DSM, .nsid = 1, .prp1 = b, .cdw11 = 4 },
		  GEN(LBA_OUT_OF_RANGE) },
	};
	struct svio_nvme_qpair *qp;
	struct nvme_wait w;
	unsigned int i;

	(void)state;
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct status_case *k = &cases[i];

		memset(buf, 0, sizeof(buf));
		/* The PRP list case: the list (at buf) holds a misaligned entry. */
		((uint64_t *)buf)[0] = b + 4096 + 512;
		if (k->sqe.opc == NVME_CMD_DSM) {
			range->slba = nsze - 2;
			range->nlb = 3;
		}
		raw_io(qp, &k->sqe, &w);
		if (w.cpl.rc == 0 || NVME_SF_SCT(w.cpl.status) != k->sct ||
		    NVME_SF_SC(w.cpl.status) != k->sc)
			fail_msg("%s: rc %d status sct %u sc 0x%x, expected sct %u sc 0x%x",
				 k->what, w.cpl.rc, NVME_SF_SCT(w.cpl.status),
				 NVME_SF_SC(w.cpl.status), k->sct, k->sc);
	}
	/* Errors show in the error log, newest first. */
	{
		struct nvme_sqe gl = { .opc = NVME_ADM_GET_LOG_PAGE,
				       .cdw10 = 15u << 16 | NVME_LOG_ERROR };
		struct nvme_error_log log[1];
		struct svio_nvme_cpl cpl;

		assert_int_equal(svio_nvme_admin_cmd(c, &gl, log, sizeof(log), &cpl), 0);
		assert_true(log[0].error_count >= sizeof(cases) / sizeof(cases[0]));
		assert_int_equal(log[0].sqid, 1);
		assert_int_equal(log[0].status >> 1,
				 NVME_SF(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
	}
	svio_nvme_qpair_free(qp);
}

/* A 1 MiB read into scattered pages through a PRP list that chains across list pages. */
static void test_prp_chain(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_device *dev = svio_nvme_ctrlr_device(c);
	enum { PAGES = 256 };
	uint8_t *pages = NULL, *lists = NULL, *expect;
	struct svio_nvme_qpair *qp;
	struct nvme_sqe sqe = { .opc = NVME_CMD_READ, .nsid = 1 };
	struct nvme_wait w;
	uint64_t *l1, *l2;
	unsigned int i, k = 0;

	(void)state;
	assert_int_equal(posix_memalign((void **)&pages, 4096, (PAGES + 1) * 4096), 0);
	assert_int_equal(posix_memalign((void **)&lists, 4096, 2 * 4096), 0);
	expect = malloc(PAGES * 4096);
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	/* Known data on the namespace. */
	nvme_fill(pages, PAGES * 4096, 42);
	memcpy(expect, pages, PAGES * 4096);
	for (i = 0; i < PAGES; i += 128)
		assert_int_equal(nvme_rw_sync(qp, true, 1, pages + i * 4096, 4096 + i * 8, 1024),
				 0);
	memset(pages, 0, (PAGES + 1) * 4096);
	/* PRP1 is page PAGES-1 (mid-page start); the rest go in reverse order. */
	sqe.prp1 = (uintptr_t)(pages + 256 * 4096 + 2048);
	sqe.prp2 = (uintptr_t)(lists + 4096 - 16 * 8); /* 16 slots left in the first list page */
	sqe.cdw10 = 4096;
	sqe.cdw12 = PAGES * 8 - 1;
	l1 = (uint64_t *)(lists + 4096 - 16 * 8);
	l2 = (uint64_t *)lists;
	for (i = 0; i < 15; i++)
		l1[i] = (uintptr_t)(pages + (255 - k++) * 4096);
	l1[15] = (uintptr_t)l2; /* chain */
	for (i = 0; k < 256; i++)
		l2[i] = (uintptr_t)(pages + (255 - k++) * 4096);
	raw_io(qp, &sqe, &w);
	assert_int_equal(w.cpl.rc, 0);
	/* Reassemble: first 2048 bytes land mid-page, then pages 255, 254, ... */
	{
		uint8_t *got = malloc(PAGES * 4096);
		size_t off = 2048;

		memcpy(got, pages + 256 * 4096 + 2048, 2048);
		for (k = 0; k < 256; k++) {
			size_t n = PAGES * 4096 - off < 4096 ? PAGES * 4096 - off : 4096;

			memcpy(got + off, pages + (255 - k) * 4096, n);
			off += n;
		}
		assert_memory_equal(got, expect, PAGES * 4096);
		free(got);
	}
	(void)dev;
	svio_nvme_qpair_free(qp);
	free(expect);
	free(lists);
	free(pages);
}

/* A buffer no mapping backs: Data Transfer Error, and nothing else changes. */
static void test_bad_buffer(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_device *dev = svio_nvme_ctrlr_device(c);
	static uint8_t good[8192] __attribute__((aligned(4096)));
	uint8_t before[8192], after[8192];
	struct svio_nvme_qpair *qp;
	struct nvme_wait w = { 0 };
	void *hole;

	(void)state;
	hole = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(hole != MAP_FAILED);
	munmap(hole, 4096);
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	nvme_fill(good, sizeof(good), 77);
	assert_int_equal(nvme_rw_sync(qp, true, 1, good, 2000, 16), 0);
	assert_int_equal(sim_nvme_ns_peek(dev, 1990, 16, before), 0);

	assert_int_equal(svio_nvme_read(qp, 1, hole, 2000, 8, nvme_wait_cb, &w), 0);
	assert_int_equal(nvme_wait_done(qp, &w), -EFAULT);
	assert_int_equal(NVME_SF_SC(w.cpl.status), NVME_SC_DATA_XFER_ERROR);
	memset(&w, 0, sizeof(w));
	assert_int_equal(svio_nvme_write(qp, 1, hole, 1990, 8, nvme_wait_cb, &w), 0);
	assert_int_equal(nvme_wait_done(qp, &w), -EFAULT);
	/* The blocks around it are untouched, and the queue pair works on. */
	assert_int_equal(sim_nvme_ns_peek(dev, 1998, 8, after), 0);
	assert_memory_equal(after, before + 8 * 512, 4096);
	memset(good, 0, sizeof(good));
	assert_int_equal(nvme_rw_sync(qp, false, 1, good, 2000, 16), 0);
	nvme_fill(after, sizeof(after), 77);
	assert_memory_equal(good, after, sizeof(good));
	svio_nvme_qpair_free(qp);
}

/*
 * drop_writes=1: every write is acknowledged and stored nowhere, but its data
 * still crosses the IOMMU: a fresh buffer is faulted in, an unreachable one
 * fails with Data Transfer Error as any write would.
 */
static void test_dropped_write_dma(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme4");
	struct svio_device *dev = svio_nvme_ctrlr_device(c);
	struct svio_domain *dom = svio_domain_default();
	struct svio_iommu_stats before, after;
	uint8_t zero[4096] = { 0 }, disk[4096];
	struct svio_nvme_qpair *qp;
	struct nvme_wait w = { 0 };
	uint8_t *fresh;
	void *hole;

	(void)state;
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	/* Pages the device never reached: only the write's own DMA faults them in. */
	fresh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(fresh != MAP_FAILED);
	nvme_fill(fresh, 4096, 5);
	assert_int_equal(svio_iommu_stats_get(dom, &before), 0);
	assert_int_equal(nvme_rw_sync(qp, true, 1, fresh, 40, 8), 0);
	assert_int_equal(svio_iommu_stats_get(dom, &after), 0);
	if (svio_domain_sva(dom))
		assert_true(after.page_requests > before.page_requests);
	assert_int_equal(sim_nvme_ns_peek(dev, 40, 8, disk), 0);
	assert_memory_equal(disk, zero, sizeof(disk));

	hole = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(hole != MAP_FAILED);
	munmap(hole, 4096);
	assert_int_equal(svio_nvme_write(qp, 1, hole, 48, 8, nvme_wait_cb, &w), 0);
	assert_int_equal(nvme_wait_done(qp, &w), -EFAULT);
	assert_int_equal(NVME_SF_SC(w.cpl.status), NVME_SC_DATA_XFER_ERROR);
	/* The queue pair works on. */
	assert_int_equal(nvme_rw_sync(qp, false, 1, fresh, 40, 8), 0);
	assert_memory_equal(fresh, zero, 4096);
	svio_nvme_qpair_free(qp);
	munmap(fresh, 4096);
}

/* 1 TiB costs nothing until written; unwritten blocks read as zeroes. */
static void test_sparse(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme1");
	struct svio_device *dev = svio_nvme_ctrlr_device(c);
	static uint8_t b[4096] __attribute__((aligned(4096)));
	struct svio_nvme_ns_info ns;
	struct svio_nvme_qpair *qp;
	struct sim_nvme_stats st;
	uint8_t zero[4096] = { 0 };

	(void)state;
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), 0);
	assert_int_equal(ns.nblocks, (1ull << 40) / 4096);
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	nvme_fill(b, sizeof(b), 3);
	assert_int_equal(nvme_rw_sync(qp, true, 1, b, ns.nblocks - 1, 1), 0);
	assert_int_equal(nvme_rw_sync(qp, true, 1, b, ns.nblocks / 2, 1), 0);
	memset(b, 0xff, sizeof(b));
	assert_int_equal(nvme_rw_sync(qp, false, 1, b, 12345678, 1), 0);
	assert_memory_equal(b, zero, sizeof(b));
	assert_int_equal(nvme_rw_sync(qp, false, 1, b, ns.nblocks - 1, 1), 0);
	nvme_fill(zero, sizeof(zero), 3);
	assert_memory_equal(b, zero, sizeof(b));
	assert_int_equal(sim_nvme_stats_get(dev, &st), 0);
	assert_true(st.resident <= 64 * 1024);
	svio_nvme_qpair_free(qp);
}

static void test_smart_and_file(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme2");
	static uint8_t b[4096] __attribute__((aligned(4096)));
	struct nvme_sqe gl = { .opc = NVME_ADM_GET_LOG_PAGE,
			       .nsid = 0xffffffffu,
			       .cdw10 = 127u << 16 | NVME_LOG_SMART };
	struct nvme_smart_log smart;
	struct svio_nvme_qpair *qp;
	struct svio_nvme_cpl cpl;
	struct nvme_wait w = { 0 };
	uint8_t disk[4096];
	uint64_t writes;
	int fd;

	(void)state;
	assert_int_equal(svio_nvme_admin_cmd(c, &gl, &smart, sizeof(smart), &cpl), 0);
	writes = smart.host_writes[0];
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	nvme_fill(b, sizeof(b), 11);
	assert_int_equal(nvme_rw_sync(qp, true, 1, b, 3, 1), 0);
	assert_int_equal(svio_nvme_flush(qp, 1, nvme_wait_cb, &w), 0);
	assert_int_equal(nvme_wait_done(qp, &w), 0);
	assert_int_equal(svio_nvme_admin_cmd(c, &gl, &smart, sizeof(smart), &cpl), 0);
	assert_int_equal(smart.host_writes[0], writes + 1);
	assert_true(smart.data_units_written[0] >= 1);
	assert_int_equal(smart.temperature[0] | smart.temperature[1] << 8, 308);
	/* The file holds the block at its offset. */
	fd = open(file_path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, disk, sizeof(disk), 3 * 4096), (ssize_t)sizeof(disk));
	close(fd);
	assert_memory_equal(disk, b, sizeof(disk));
	svio_nvme_qpair_free(qp);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* latency_ns on an inline controller: no completion shows before its time. */
static void test_latency_inline(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme3");
	static uint8_t b[4][4096] __attribute__((aligned(4096)));
	struct svio_nvme_qpair *qp;
	struct nvme_wait w[4];
	uint64_t t0, t1;
	unsigned int i;

	(void)state;
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	memset(w, 0, sizeof(w));
	t0 = now_ns();
	for (i = 0; i < 4; i++)
		assert_int_equal(svio_nvme_read(qp, 1, b[i], i * 8, 8, nvme_wait_cb, &w[i]), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(nvme_wait_done(qp, &w[i]), 0);
	t1 = now_ns();
	assert_true(t1 - t0 >= 2000000);
	svio_nvme_qpair_free(qp);
}

int main(void)
{
	char file_arg[128];
	const char *args[] = {
		"--vdev", "sim_nvme0,size=64M",
		"--vdev", "sim_nvme1,size=1T,lba=4096",
		"--vdev", file_arg,
		"--vdev", "sim_nvme3,size=8M,latency_ns=2000000",
		"--vdev", "sim_nvme4,size=8M,drop_writes=1",
		NULL,
	};
	const struct CMUnitTest raw_tests[] = {
		cmocka_unit_test(test_registers),   cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_admin_phase), cmocka_unit_test(test_async_events),
		cmocka_unit_test(test_interrupts),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin_status),   cmocka_unit_test(test_io_status),
		cmocka_unit_test(test_prp_chain),      cmocka_unit_test(test_bad_buffer),
		cmocka_unit_test(test_sparse),	       cmocka_unit_test(test_smart_and_file),
		cmocka_unit_test(test_latency_inline), cmocka_unit_test(test_dropped_write_dma),
	};
	int rc;

	snprintf(file_path, sizeof(file_path), "/tmp/svio-nvme-test-%d.img", (int)getpid());
	snprintf(file_arg, sizeof(file_arg), "sim_nvme2,lba=4096,size=1M,file=%s", file_path);
	if (nvme_test_init(args) < 0) {
		fprintf(stderr, "svio_eal_init failed\n");
		unlink(file_path);
		return 1;
	}
	rc = cmocka_run_group_tests_name("registers", raw_tests, raw_setup, raw_teardown);
	rc |= cmocka_run_group_tests_name("commands", tests, NULL, NULL);
	svio_eal_cleanup();
	unlink(file_path);
	return rc;
}
