/* SPDX-License-Identifier: BSD-3-Clause */
/* The IOMMU model driven through its registers and memory formats only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_common.h>

#include "hw_helpers.h"

#define NOCOST "cost_iotlb=0,cost_devtlb=0,cost_wait=0,cost_submit=0,cost_other=0"
#define SID_A  0x100 /* no ATS */
#define SID_B  0x108 /* ATS */
#define SID_C  0x200
#define SID_P  0x110 /* ATS + PRI */
#define PASID  5
#define VA0    0x10000000ull

static struct hw h;

static int rd(struct svio_device *d, uint32_t pasid, uint64_t va, void *buf, size_t len)
{
	return sim_iommu_dma(d, pasid, va, buf, len, false);
}

static int wr(struct svio_device *d, uint32_t pasid, uint64_t va, const void *buf, size_t len)
{
	return sim_iommu_dma(d, pasid, va, (void *)(uintptr_t)buf, len, true);
}

static void reset_ctrs(void)
{
	assert_int_equal(svio_reg_write64(h.dev, 0, SIM_IOMMU_REG_CTR_RESET, 1), 0);
}

static int teardown(void **state)
{
	(void)state;
	hw_close(&h);
	return 0;
}

static void test_walk_sizes_and_permissions(void **state)
{
	struct svio_device a = hw_mkdev(SID_A, false, false);
	uint64_t *root = NULL, *root6 = NULL;
	uint8_t *b4, *b4n, *b2m, *b1g, tmp[64], out[8192];
	uint64_t pa2m, pa1g, va2m = 0x80000000ull, va1g = 256 * GIB1;

	(void)state;
	hw_open(&h, NOCOST);
	root = pt_new();
	hw_attach(&h, SID_A, PASID, 1, root, false, false);
	b4 = hw_zalloc(4096);
	b4n = hw_zalloc(4096);
	b2m = hw_zalloc(4096);
	b1g = hw_zalloc(4096);
	memset(b4, 0xa4, 4096);
	memset(b4n, 0xb4, 4096);
	memset(b2m, 0x22, 4096);
	pa2m = (uintptr_t)b2m & ~(MIB2 - 1);
	pa1g = (uintptr_t)b1g & ~(GIB1 - 1);
	pt_map(root, VA0, (uintptr_t)b4, KIB4, PTE_RWU);
	pt_map(root, VA0 + KIB4, (uintptr_t)b4n, KIB4, PTE_RWU);
	pt_map(root, va2m, pa2m, MIB2, SIM_X86_PTE_US); /* read only */
	pt_map(root, va1g, pa1g, GIB1, PTE_RWU);

	/* 4 KiB, across a page boundary: two translations, one copy each. */
	assert_int_equal(rd(&a, PASID, VA0 + 4096 - 16, out, 32), 0);
	assert_int_equal(out[0], 0xa4);
	assert_int_equal(out[15], 0xa4);
	assert_int_equal(out[16], 0xb4);
	assert_int_equal(out[31], 0xb4);
	memset(tmp, 0x5c, sizeof(tmp));
	assert_int_equal(wr(&a, PASID, VA0 + 100, tmp, sizeof(tmp)), 0);
	assert_int_equal(b4[100], 0x5c);
	assert_int_equal(b4[163], 0x5c);
	assert_int_equal(b4[164], 0xa4);

	/* 2 MiB read-only leaf. */
	assert_int_equal(rd(&a, PASID, va2m + ((uintptr_t)b2m - pa2m), out, 64), 0);
	assert_int_equal(out[63], 0x22);
	assert_int_equal(wr(&a, PASID, va2m + ((uintptr_t)b2m - pa2m), tmp, 8), -EACCES);

	/* 1 GiB writable leaf. */
	assert_int_equal(wr(&a, PASID, va1g + ((uintptr_t)b1g - pa1g), tmp, 8), 0);
	assert_int_equal(b1g[7], 0x5c);

	/* Faults: nothing mapped, outside 48 bits, PASID not attached. */
	assert_int_equal(rd(&a, PASID, 0x20000000, out, 8), -EFAULT);
	assert_int_equal(rd(&a, PASID, 1ull << 48, out, 8), -EFAULT);
	assert_int_equal(rd(&a, 7, VA0, out, 8), -EFAULT);

	/* U/S missing at an upper level denies the (user-mode) request. */
	root6 = pt_new();
	pt_map(root6, VA0, (uintptr_t)b4, KIB4, PTE_RWU);
	root6[(VA0 >> 39) & 0x1ff] &= ~SIM_X86_PTE_US;
	hw_attach(&h, SID_A, 6, 3, root6, false, false);
	assert_int_equal(rd(&a, 6, VA0, out, 8), -EACCES);
	/* R/W missing at an upper level denies writes only. */
	root6[(VA0 >> 39) & 0x1ff] |= SIM_X86_PTE_US;
	root6[(VA0 >> 39) & 0x1ff] &= ~SIM_X86_PTE_RW;
	assert_int_equal(rd(&a, 6, VA0, out, 8), 0);
	assert_int_equal(wr(&a, 6, VA0, tmp, 8), -EACCES);

	/* Untagged DMA uses RID_PASID (the first PASID attached). */
	assert_int_equal(rd(&a, SIM_PASID_NONE, VA0, out, 8), 0);
	assert_int_equal(out[0], 0xa4);

	/* Every translation was counted; the faults too. */
	assert_true(hw_ctr(&h, SIM_IOMMU_CTR_WALKS) >= 6);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_TRANS_FAULTS), 6);

	/* Translation off: bus addresses are host addresses. */
	assert_int_equal(svio_reg_write32(h.dev, 0, SIM_IOMMU_REG_GCMD, SIM_IOMMU_GCMD_QIE), 0);
	assert_int_equal(rd(&a, PASID, (uintptr_t)b4n, out, 4), 0);
	assert_int_equal(out[0], 0xb4);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_PASSTHROUGH), 1);
}

static void test_tlb_hit_miss_evict(void **state)
{
	struct svio_device a = hw_mkdev(SID_A, false, false), b = hw_mkdev(SID_B, true, false);
	uint64_t *root;
	uint8_t out[8];
	unsigned int i;

	(void)state;
	hw_open(&h, NOCOST ",iotlb=8,iotlb_ways=2,atc=4,atc_ways=4");
	root = pt_new();
	for (i = 0; i < 16; i++)
		pt_map(root, VA0 + i * KIB4, (uintptr_t)hw_zalloc(4096), KIB4, PTE_RWU);
	hw_attach(&h, SID_A, PASID, 1, root, false, false);
	hw_attach(&h, SID_B, PASID, 1, root, true, false);

	reset_ctrs();
	assert_int_equal(rd(&a, PASID, VA0, out, 8), 0);
	assert_int_equal(rd(&a, PASID, VA0 + 8, out, 8), 0);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_IOTLB_MISS), 1);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_IOTLB_HIT), 1);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_WALKS), 1);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_ATC_MISS), 0);

	/* 16 pages through an 8-entry IOTLB: at least 8 evictions, then misses again. */
	for (i = 0; i < 16; i++)
		assert_int_equal(rd(&a, PASID, VA0 + i * KIB4, out, 8), 0);
	assert_true(hw_ctr(&h, SIM_IOMMU_CTR_IOTLB_EVICT) >= 8);
	reset_ctrs();
	for (i = 0; i < 16; i++)
		assert_int_equal(rd(&a, PASID, VA0 + i * KIB4, out, 8), 0);
	assert_true(hw_ctr(&h, SIM_IOMMU_CTR_IOTLB_MISS) >= 8);

	/* The ATS device asks its device-TLB first. */
	reset_ctrs();
	assert_int_equal(rd(&b, PASID, VA0, out, 8), 0);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_ATC_MISS), 1);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_IOTLB_HIT) + hw_ctr(&h, SIM_IOMMU_CTR_IOTLB_MISS),
			 1);
	assert_int_equal(rd(&b, PASID, VA0, out, 8), 0);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_ATC_HIT), 1);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_IOTLB_HIT) + hw_ctr(&h, SIM_IOMMU_CTR_IOTLB_MISS),
			 1);
	/* A 4-entry device-TLB holding 6 pages evicted at least 2. */
	for (i = 0; i < 6; i++)
		assert_int_equal(rd(&b, PASID, VA0 + i * KIB4, out, 8), 0);
	assert_true(hw_ctr(&h, SIM_IOMMU_CTR_ATC_EVICT) >= 2);
	/* An ATS device the context does not allow (DTE clear) never fills a device-TLB. */
	a.dma.ats = true;
	reset_ctrs();
	assert_int_equal(rd(&a, PASID, VA0, out, 8), 0);
	assert_int_equal(rd(&a, PASID, VA0, out, 8), 0);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_ATC_HIT), 0);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_ATC_MISS), 2);
}

/* Did this read hit a cache (IOTLB or device-TLB)? It refills on a miss. */
static bool hit(struct svio_device *d, uint32_t pasid, uint64_t va)
{
	uint64_t before = hw_ctr(&h, SIM_IOMMU_CTR_IOTLB_HIT) + hw_ctr(&h, SIM_IOMMU_CTR_ATC_HIT);
	uint8_t out[4];

	assert_int_equal(rd(d, pasid, va, out, sizeof(out)), 0);
	return hw_ctr(&h, SIM_IOMMU_CTR_IOTLB_HIT) + hw_ctr(&h, SIM_IOMMU_CTR_ATC_HIT) > before;
}

static bool atc_hit(struct svio_device *d, uint32_t pasid, uint64_t va)
{
	uint64_t before = hw_ctr(&h, SIM_IOMMU_CTR_ATC_HIT);
	uint8_t out[4];

	assert_int_equal(rd(d, pasid, va, out, sizeof(out)), 0);
	return hw_ctr(&h, SIM_IOMMU_CTR_ATC_HIT) > before;
}

static void inv(uint64_t qw0, uint64_t qw1)
{
	hw_post(&h, qw0, qw1);
	assert_true(hw_wait(&h));
}

static void test_invalidation_kinds(void **state)
{
	struct svio_device a = hw_mkdev(SID_A, false, false), c = hw_mkdev(SID_C, false, false);
	struct svio_device b = hw_mkdev(SID_B, true, false);
	uint64_t *root;
	unsigned int i;

	(void)state;
	hw_open(&h, NOCOST);
	root = pt_new();
	for (i = 0; i < 4; i++)
		pt_map(root, VA0 + i * KIB4, (uintptr_t)hw_zalloc(4096), KIB4, PTE_RWU);
	hw_attach(&h, SID_A, PASID, 1, root, false, false);
	hw_attach(&h, SID_C, 9, 2, root, false, false);
	hw_attach(&h, SID_B, PASID, 1, root, true, false);
	for (i = 0; i < 3; i++)
		(void)hit(&a, PASID, VA0 + i * KIB4);
	(void)hit(&c, 9, VA0);

	/* PASID-based page-selective, one page. */
	inv(d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PAGE), VA0);
	assert_false(hit(&a, PASID, VA0));
	assert_true(hit(&a, PASID, VA0 + KIB4));
	assert_true(hit(&a, PASID, VA0 + 2 * KIB4));
	assert_true(hit(&c, 9, VA0));
	/* Address mask 1: two pages. */
	inv(d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PAGE), VA0 | 1);
	assert_false(hit(&a, PASID, VA0));
	assert_false(hit(&a, PASID, VA0 + KIB4));
	assert_true(hit(&a, PASID, VA0 + 2 * KIB4));
	/* A page-selective one for another PASID leaves ours. */
	inv(d_piotlb(1, 77, SIM_IOMMU_PIOTLB_GRAN_PAGE), VA0 | 1);
	assert_true(hit(&a, PASID, VA0));
	/* Whole (did, pasid). */
	inv(d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PASID), 0);
	assert_false(hit(&a, PASID, VA0));
	assert_false(hit(&a, PASID, VA0 + 2 * KIB4));
	assert_true(hit(&c, 9, VA0));
	/* Domain-selective (any PASID) of did 2 only. */
	inv(d_iotlb(2, SIM_IOMMU_IOTLB_GRAN_DOMAIN), 0);
	assert_false(hit(&c, 9, VA0));
	assert_true(hit(&a, PASID, VA0));
	/* Page-selective by domain id. */
	inv(d_iotlb(1, SIM_IOMMU_IOTLB_GRAN_PAGE), VA0 + 2 * KIB4);
	assert_false(hit(&a, PASID, VA0 + 2 * KIB4));
	assert_true(hit(&a, PASID, VA0));
	/* Global. */
	inv(d_iotlb(0, SIM_IOMMU_IOTLB_GRAN_GLOBAL), 0);
	assert_false(hit(&a, PASID, VA0));
	assert_false(hit(&c, 9, VA0));

	/* Device-TLB: fill tagged pages 0..3 and one untagged page. */
	for (i = 0; i < 4; i++)
		(void)atc_hit(&b, PASID, VA0 + i * KIB4);
	(void)atc_hit(&b, SIM_PASID_NONE, VA0);
	inv(d_pdevtlb(SID_B, PASID), VA0);
	assert_false(atc_hit(&b, PASID, VA0));
	assert_true(atc_hit(&b, PASID, VA0 + KIB4));
	assert_true(atc_hit(&b, SIM_PASID_NONE, VA0));
	/* S = 1, no trailing ones: 8 KiB. */
	inv(d_pdevtlb(SID_B, PASID), VA0 | SIM_IOMMU_DEVTLB_S);
	assert_false(atc_hit(&b, PASID, VA0));
	assert_false(atc_hit(&b, PASID, VA0 + KIB4));
	assert_true(atc_hit(&b, PASID, VA0 + 2 * KIB4));
	/* S = 1, one trailing one: 16 KiB. */
	inv(d_pdevtlb(SID_B, PASID), VA0 | KIB4 | SIM_IOMMU_DEVTLB_S);
	for (i = 0; i < 4; i++)
		assert_false(atc_hit(&b, PASID, VA0 + i * KIB4));
	/* Untagged device-TLB invalidation leaves PASID entries. */
	inv(d_devtlb(SID_B), SIM_IOMMU_DEVTLB_ALL | SIM_IOMMU_DEVTLB_S);
	assert_false(atc_hit(&b, SIM_PASID_NONE, VA0));
	assert_true(atc_hit(&b, PASID, VA0));
	/* Global: every entry of the device. */
	inv(d_pdevtlb(SID_B, 0), SIM_IOMMU_PDEVTLB_GLOB);
	assert_false(atc_hit(&b, PASID, VA0));
	assert_false(atc_hit(&b, SIM_PASID_NONE, VA0));
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_QUEUE_ERRORS), 0);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_DESC_PIOTLB), 4);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_DESC_IOTLB), 3);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_DESC_PDEVTLB), 4);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_DESC_DEVTLB), 1);
}

static void test_wait_status_write(void **state)
{
	uint32_t ics;

	(void)state;
	hw_open(&h, NOCOST);
	assert_true(hw_wait(&h));
	assert_true(hw_wait(&h));
	assert_int_equal(*h.status, 2);
	/* IF sets ICS.IWC, write 1 clears it; no SW leaves memory alone. */
	hw_post(&h, SIM_IOMMU_DESC_TYPE_WAIT | SIM_IOMMU_WAIT_IF | (99ull << 32), 0);
	hw_submit(&h);
	assert_int_equal(*h.status, 2);
	assert_int_equal(svio_reg_read32(h.dev, 0, SIM_IOMMU_REG_ICS, &ics), 0);
	assert_int_equal(ics & SIM_IOMMU_ICS_IWC, SIM_IOMMU_ICS_IWC);
	assert_int_equal(svio_reg_write32(h.dev, 0, SIM_IOMMU_REG_ICS, SIM_IOMMU_ICS_IWC), 0);
	assert_int_equal(svio_reg_read32(h.dev, 0, SIM_IOMMU_REG_ICS, &ics), 0);
	assert_int_equal(ics, 0);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_DESC_WAIT), 3);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_SUBMITS), 3);
}

static void test_malformed_descriptors(void **state)
{
	static const struct {
		uint64_t qw0, qw1;
		unsigned int code;
	} bad[] = {
		{ 0xf, 0, SIM_IOMMU_IQE_TYPE },
		{ 0x4, 0, SIM_IOMMU_IQE_TYPE },
		{ SIM_IOMMU_DESC_TYPE_WAIT | 0x200, 0, SIM_IOMMU_IQE_TYPE },
		{ SIM_IOMMU_DESC_TYPE_PIOTLB | (3ull << 4) | (1ull << 63), VA0,
		  SIM_IOMMU_IQE_RESERVED },
		{ SIM_IOMMU_DESC_TYPE_PIOTLB | (3ull << 4), VA0 | 0x100, SIM_IOMMU_IQE_RESERVED },
		{ SIM_IOMMU_DESC_TYPE_PIOTLB | (3ull << 4), VA0 + KIB4 + 1, SIM_IOMMU_IQE_ALIGN },
		{ SIM_IOMMU_DESC_TYPE_PIOTLB | (3ull << 4), 10, SIM_IOMMU_IQE_MASK },
		{ SIM_IOMMU_DESC_TYPE_PIOTLB | (1ull << 4), 0, SIM_IOMMU_IQE_GRAN },
		{ SIM_IOMMU_DESC_TYPE_IOTLB, 0, SIM_IOMMU_IQE_GRAN },
		{ SIM_IOMMU_DESC_TYPE_PDEVTLB | ((uint64_t)SID_A << 16), VA0,
		  SIM_IOMMU_IQE_NO_ATS },
		{ SIM_IOMMU_DESC_TYPE_DEVTLB | (0x999ull << 16), VA0, SIM_IOMMU_IQE_NO_ATS },
		{ SIM_IOMMU_DESC_TYPE_WAIT | SIM_IOMMU_WAIT_SW, 0x1002, SIM_IOMMU_IQE_ALIGN },
		{ SIM_IOMMU_DESC_TYPE_PRESP | (5ull << 60), 0, SIM_IOMMU_IQE_RESERVED },
	};
	uint64_t *root;
	unsigned int i;

	(void)state;
	hw_open(&h, NOCOST);
	root = pt_new();
	hw_attach(&h, SID_A, PASID, 1, root, false, false);
	for (i = 0; i < RTE_DIM(bad); i++) {
		uint64_t ercd, iqh;
		uint32_t fsts, seq;

		/* A good descriptor, the bad one, then a wait that must not run. */
		hw_post(&h, d_iotlb(0, SIM_IOMMU_IOTLB_GRAN_GLOBAL), 0);
		hw_post(&h, bad[i].qw0, bad[i].qw1);
		seq = *h.status;
		assert_false(hw_wait(&h));
		assert_int_equal(*h.status, seq);
		assert_int_equal(svio_reg_read32(h.dev, 0, SIM_IOMMU_REG_FSTS, &fsts), 0);
		assert_true(fsts & SIM_IOMMU_FSTS_IQE);
		assert_int_equal(svio_reg_read64(h.dev, 0, SIM_IOMMU_REG_IQERCD, &ercd), 0);
		assert_int_equal(SIM_IOMMU_IQERCD_CODE(ercd), bad[i].code);
		assert_int_equal(svio_reg_read64(h.dev, 0, SIM_IOMMU_REG_IQH, &iqh), 0);
		assert_int_equal(SIM_IOMMU_IQERCD_INDEX(ercd), iqh / 16);
		assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_QUEUE_ERRORS), i + 1);
		/* More submissions do nothing while the error stands. */
		assert_false(hw_wait(&h));
		hw_recover(&h);
		assert_int_equal(svio_reg_read32(h.dev, 0, SIM_IOMMU_REG_FSTS, &fsts), 0);
		assert_int_equal(fsts, 0);
		h.seq = *h.status;
		assert_true(hw_wait(&h));
	}
	/* A tail outside the queue is an error too. */
	assert_int_equal(svio_reg_write64(h.dev, 0, SIM_IOMMU_REG_IQT, 8), 0);
	{
		uint64_t ercd;

		assert_int_equal(svio_reg_read64(h.dev, 0, SIM_IOMMU_REG_IQERCD, &ercd), 0);
		assert_int_equal(SIM_IOMMU_IQERCD_CODE(ercd), SIM_IOMMU_IQE_TAIL);
	}
	hw_recover(&h);
	h.seq = *h.status;
	assert_true(hw_wait(&h));
}

/* Page request handling by the test: what to answer. */
enum answer { ANSWER_MAP, ANSWER_FAIL, ANSWER_NONE };

static struct {
	enum answer answer;
	uint64_t *root;
	uint8_t *page;
	unsigned int seen;
	uint64_t last_qw0, last_qw1;
} prq;

static void prq_handler(struct svio_device *dev, unsigned int vector, void *arg)
{
	uint64_t head, tail;

	(void)arg;
	assert_int_equal(vector, SIM_IOMMU_PR_VECTOR);
	assert_int_equal(svio_reg_read64(dev, 0, SIM_IOMMU_REG_PQH, &head), 0);
	assert_int_equal(svio_reg_read64(dev, 0, SIM_IOMMU_REG_PQT, &tail), 0);
	while (head != tail) {
		const struct sim_iommu_page_req_desc *d = &h.pq[head / 32];
		uint64_t addr = d->qw[1] & ~0xfffull;
		uint64_t sid = (d->qw[0] >> 16) & 0xffff, prgi = (d->qw[1] >> 3) & 0x1ff;
		unsigned int code = 0;

		prq.seen++;
		prq.last_qw0 = d->qw[0];
		prq.last_qw1 = d->qw[1];
		head = (head + 32) % (h.pq_entries * 32);
		if (prq.answer == ANSWER_NONE)
			continue;
		if (prq.answer == ANSWER_MAP) {
			uint64_t *leaf = pt_leaf(prq.root, addr);

			if (leaf != NULL && (*leaf & SIM_X86_PTE_P))
				*leaf |= SIM_X86_PTE_RW; /* a write to a read-only page */
			else
				pt_map(prq.root, addr, (uintptr_t)prq.page, KIB4, PTE_RWU);
		} else {
			code = 0xf;
		}
		hw_post(&h,
			SIM_IOMMU_DESC_TYPE_PRESP | (sid << 16) | ((uint64_t)code << 60) |
				(d->qw[0] & (SIM_IOMMU_DESC_PASID_MASK)) |
				((d->qw[0] & SIM_IOMMU_PREQ_PASID_P) ? SIM_IOMMU_PRESP_PASID_P : 0),
			prgi << 3);
		hw_submit(&h);
	}
	assert_int_equal(svio_reg_write64(dev, 0, SIM_IOMMU_REG_PQH, head), 0);
	assert_int_equal(svio_reg_write32(dev, 0, SIM_IOMMU_REG_PRS, SIM_IOMMU_PRS_PPR), 0);
}

static void test_page_requests(void **state)
{
	struct svio_device p = hw_mkdev(SID_P, true, true), a = hw_mkdev(SID_A, false, false);
	struct svio_device q = hw_mkdev(SID_C, true, true);
	uint8_t out[8], in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	hw_open(&h, NOCOST ",prq_timeout=50");
	memset(&prq, 0, sizeof(prq));
	prq.root = pt_new();
	prq.page = hw_zalloc(4096);
	memset(prq.page, 0x77, 4096);
	hw_attach(&h, SID_P, PASID, 1, prq.root, true, true);
	hw_attach(&h, SID_A, PASID, 1, prq.root, false, false);
	hw_attach(&h, SID_C, PASID, 1, prq.root, true, false); /* PRI device, PRE clear */
	assert_int_equal(svio_dev_intr_register(h.dev, SIM_IOMMU_PR_VECTOR, prq_handler, NULL), 0);
	assert_int_equal(svio_reg_write32(h.dev, 0, SIM_IOMMU_REG_PECTL, 0), 0);

	/* Success: the handler maps the page, the access is retried and completes. */
	prq.answer = ANSWER_MAP;
	assert_int_equal(rd(&p, PASID, VA0 + 0x10, out, 8), 0);
	assert_int_equal(out[0], 0x77);
	assert_int_equal(prq.seen, 1);
	assert_int_equal((prq.last_qw0 >> 16) & 0xffff, SID_P);
	assert_true(prq.last_qw0 & SIM_IOMMU_PREQ_PASID_P);
	assert_int_equal((prq.last_qw0 >> 32) & 0xfffff, PASID);
	assert_int_equal(prq.last_qw1 & ~0xfffull, VA0);
	assert_true(prq.last_qw1 & SIM_IOMMU_PREQ_RD);
	assert_false(prq.last_qw1 & SIM_IOMMU_PREQ_WR);
	assert_true(prq.last_qw1 & SIM_IOMMU_PREQ_LPIG);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_PAGE_RESP_OK), 1);

	/* A write to a read-only page asks for write access. */
	pt_map(prq.root, VA0 + KIB4, (uintptr_t)prq.page, KIB4, SIM_X86_PTE_US);
	assert_int_equal(wr(&p, SIM_PASID_NONE, VA0 + KIB4, in, 8), 0);
	assert_int_equal(prq.page[7], 8);
	assert_true(prq.last_qw1 & SIM_IOMMU_PREQ_WR);
	assert_false(prq.last_qw0 & SIM_IOMMU_PREQ_PASID_P);

	/* Failure response: the access fails. */
	prq.answer = ANSWER_FAIL;
	assert_int_equal(rd(&p, PASID, VA0 + 8 * KIB4, out, 8), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_PAGE_RESP_FAIL), 1);

	/* Nobody answers: the access fails after prq_timeout. */
	prq.answer = ANSWER_NONE;
	assert_int_equal(rd(&p, PASID, VA0 + 9 * KIB4, out, 8), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_PAGE_REQ_TIMEOUT), 1);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_PAGE_REQS), 4);

	/* No PRI, or PRI not enabled in the context: fail at once, no request. */
	assert_int_equal(rd(&a, PASID, VA0 + 10 * KIB4, out, 8), -EFAULT);
	assert_int_equal(rd(&q, PASID, VA0 + 10 * KIB4, out, 8), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_PAGE_REQS), 4);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_TRANS_FAULTS), 4);

	/* Masked: the request is posted but nobody hears; it times out. */
	prq.answer = ANSWER_MAP;
	assert_int_equal(svio_reg_write32(h.dev, 0, SIM_IOMMU_REG_PECTL, SIM_IOMMU_ECTL_IM), 0);
	assert_int_equal(rd(&p, PASID, VA0 + 11 * KIB4, out, 8), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_PAGE_REQ_TIMEOUT), 2);
	svio_dev_intr_unregister(h.dev, SIM_IOMMU_PR_VECTOR);
}

static void test_costs_counted(void **state)
{
	struct svio_device b = hw_mkdev(SID_B, true, false);
	uint64_t *root;
	uint8_t out[4];

	(void)state;
	hw_open(&h, "cost_iotlb=20000,cost_devtlb=50000,cost_wait=10000,cost_submit=0,"
		    "cost_other=3000");
	root = pt_new();
	pt_map(root, VA0, (uintptr_t)hw_zalloc(4096), KIB4, PTE_RWU);
	hw_attach(&h, SID_B, PASID, 1, root, true, false);
	assert_int_equal(rd(&b, PASID, VA0, out, 4), 0);
	hw_post(&h, d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PAGE), VA0);
	hw_post(&h, d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PASID), 0);
	hw_post(&h, d_pdevtlb(SID_B, PASID), VA0);
	hw_post(&h, SIM_IOMMU_DESC_TYPE_PC, 0);
	assert_true(hw_wait(&h));
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_COST_NS), 2 * 20000 + 50000 + 3000 + 10000);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_DESC_PIOTLB), 2);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_DESC_PDEVTLB), 1);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_DESC_PC), 1);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_DESC_WAIT), 1);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_SUBMITS), 1);
}

static void test_stale_use_checker(void **state)
{
	struct svio_device a = hw_mkdev(SID_A, false, false), b = hw_mkdev(SID_B, true, false);
	uint64_t *root;
	uint8_t *page, out[4];

	(void)state;
	hw_open(&h, NOCOST);
	root = pt_new();
	page = hw_zalloc(4096);
	hw_attach(&h, SID_A, PASID, 1, root, false, false);
	hw_attach(&h, SID_B, PASID, 1, root, true, false);

	/* Correct: clear, invalidate IOTLB and device-TLB, wait. */
	pt_map(root, VA0, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(rd(&b, PASID, VA0, out, 4), 0);
	assert_int_equal(rd(&a, PASID, VA0, out, 4), 0);
	pt_unmap(root, VA0);
	hw_post(&h, d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PAGE), VA0);
	hw_post(&h, d_pdevtlb(SID_B, PASID), VA0);
	assert_true(hw_wait(&h));
	assert_int_equal(rd(&b, PASID, VA0, out, 4), -EFAULT);
	assert_int_equal(rd(&a, PASID, VA0, out, 4), -EFAULT);
	assert_true(hw_wait(&h));
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_STALE_USES), 0);

	/* Before any wait the old translation may still be used: not stale yet. */
	pt_map(root, VA0, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(rd(&b, PASID, VA0, out, 4), 0);
	pt_unmap(root, VA0);
	assert_int_equal(rd(&b, PASID, VA0, out, 4), 0);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_STALE_USES), 0);

	/* Device-TLB invalidation skipped: the next use after the wait is stale. */
	hw_post(&h, d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PAGE), VA0);
	assert_true(hw_wait(&h));
	assert_int_equal(rd(&b, PASID, VA0, out, 4), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_STALE_USES), 1);
	inv(d_pdevtlb(SID_B, PASID), VA0);

	/* IOTLB invalidation skipped for a device without ATS. */
	pt_map(root, VA0, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(rd(&a, PASID, VA0, out, 4), 0);
	pt_unmap(root, VA0);
	assert_true(hw_wait(&h));
	assert_int_equal(rd(&a, PASID, VA0, out, 4), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_STALE_USES), 2);
	inv(d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PASID), 0);

	/* A PTE restored before the wait is not stale. */
	pt_map(root, VA0, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(rd(&a, PASID, VA0, out, 4), 0);
	pt_unmap(root, VA0);
	pt_map(root, VA0, (uintptr_t)page, KIB4, PTE_RWU);
	assert_true(hw_wait(&h));
	assert_int_equal(rd(&a, PASID, VA0, out, 4), 0);

	/* A permission downgrade needs an invalidation too. */
	pt_map(root, VA0, (uintptr_t)page, KIB4, SIM_X86_PTE_US);
	assert_true(hw_wait(&h));
	assert_int_equal(rd(&a, PASID, VA0, out, 4), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_STALE_USES), 3);
	inv(d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PASID), 0);

	/* Detach with its device-TLB invalidation: nothing stale. */
	pt_map(root, VA0, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(rd(&b, PASID, VA0, out, 4), 0);
	hw_detach(&h, SID_B, PASID);
	hw_post(&h, d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PASID), 0);
	hw_post(&h, d_pdevtlb(SID_B, PASID), SIM_IOMMU_PDEVTLB_GLOB);
	assert_true(hw_wait(&h));
	assert_int_equal(rd(&b, PASID, VA0, out, 4), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_STALE_USES), 3);
	/* Detach without it: the device keeps using its device-TLB, which is stale. */
	hw_attach(&h, SID_B, PASID, 1, root, true, false);
	assert_int_equal(rd(&b, PASID, VA0, out, 4), 0);
	hw_detach(&h, SID_B, PASID);
	inv(d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PASID), 0);
	assert_int_equal(rd(&b, PASID, VA0, out, 4), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_STALE_USES), 4);

	/* Mapped again to the same page meanwhile: the old entry is right again. */
	pt_map(root, VA0 + KIB4, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(rd(&a, PASID, VA0 + KIB4, out, 4), 0);
	pt_unmap(root, VA0 + KIB4);
	assert_true(hw_wait(&h));
	pt_map(root, VA0 + KIB4, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(rd(&a, PASID, VA0 + KIB4, out, 4), 0);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_STALE_USES), 4);
	/* Mapped again elsewhere: still stale. */
	pt_unmap(root, VA0 + KIB4);
	assert_true(hw_wait(&h));
	pt_map(root, VA0 + KIB4, (uintptr_t)hw_zalloc(4096), KIB4, PTE_RWU);
	assert_int_equal(rd(&a, PASID, VA0 + KIB4, out, 4), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_STALE_USES), 5);
}

/* lose_inv=N: a defective IOMMU drops every Nth invalidation; the checker must notice. */
static void test_lose_inv_fault_injection(void **state)
{
	struct svio_device a = hw_mkdev(SID_A, false, false);
	uint64_t *root;
	uint8_t *page, out[4];

	(void)state;
	hw_open(&h, NOCOST ",lose_inv=2");
	root = pt_new();
	page = hw_zalloc(4096);
	hw_attach(&h, SID_A, PASID, 1, root, false, false);

	/* The first invalidation is honoured. */
	pt_map(root, VA0, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(rd(&a, PASID, VA0, out, 4), 0);
	pt_unmap(root, VA0);
	hw_post(&h, d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PAGE), VA0);
	assert_true(hw_wait(&h));
	assert_int_equal(rd(&a, PASID, VA0, out, 4), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_STALE_USES), 0);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_LOST_INV), 0);

	/* The second is accepted, counted as an IOTLB descriptor, and does nothing. */
	pt_map(root, VA0, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(rd(&a, PASID, VA0, out, 4), 0);
	pt_unmap(root, VA0);
	hw_post(&h, d_piotlb(1, PASID, SIM_IOMMU_PIOTLB_GRAN_PAGE), VA0);
	assert_true(hw_wait(&h));
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_LOST_INV), 1);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_DESC_PIOTLB), 2);
	assert_int_equal(rd(&a, PASID, VA0, out, 4), -EFAULT);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_STALE_USES), 1);
}

static void test_translate_and_instances(void **state)
{
	struct svio_device a = hw_mkdev(SID_A, false, false), a1 = hw_mkdev(SID_A, false, false);
	struct svio_device *io1;
	uint64_t *root;
	uint8_t *page;
	void *host;
	size_t avail;

	(void)state;
	hw_open(&h, NOCOST);
	root = pt_new();
	page = hw_zalloc(4096);
	pt_map(root, VA0, (uintptr_t)page, KIB4, PTE_RWU);
	hw_attach(&h, SID_A, PASID, 1, root, false, false);
	assert_int_equal(sim_iommu_translate(&a, PASID, VA0 + 0x123, true, &host, &avail), 0);
	assert_ptr_equal(host, page + 0x123);
	assert_int_equal(avail, 4096 - 0x123);
	assert_int_equal(sim_iommu_translate(&a, PASID, VA0 + KIB4, false, &host, &avail), -EFAULT);

	/* A second instance: its own registers, tables and counters. */
	assert_ptr_equal(sim_iommu_instance(0), h.dev);
	assert_null(sim_iommu_instance(1));
	a1.dma.iommu_index = 1;
	assert_int_equal(sim_iommu_translate(&a1, PASID, VA0, false, &host, &avail), -ENODEV);
	assert_int_equal(svio_dev_add("sim_iommu1,iotlb=16,iotlb_ways=4", &io1), 0);
	assert_ptr_equal(sim_iommu_instance(1), io1);
	/* Translation is off until its driver enables it: passthrough. */
	assert_int_equal(sim_iommu_translate(&a1, PASID, (uintptr_t)page, false, &host, &avail), 0);
	assert_ptr_equal(host, page);
	assert_int_equal(sim_iommu_counter(io1, SIM_IOMMU_CTR_PASSTHROUGH), 1);
	assert_int_equal(hw_ctr(&h, SIM_IOMMU_CTR_PASSTHROUGH), 0);
	/* Bad devargs name the problem and fail. */
	assert_int_equal(svio_dev_add("sim_iommu2,iotlb=12,iotlb_ways=8", &io1), -EINVAL);
	assert_int_equal(svio_dev_add("sim_iommu2,mode=fast", &io1), -EINVAL);
	assert_int_equal(svio_dev_add("sim_iommu2,cost_wait=lots", &io1), -EINVAL);
	assert_int_equal(svio_dev_add("sim_iommu2,pasid_bits=21", &io1), -EINVAL);
	assert_int_equal(svio_dev_add("sim_iommu2,lose_inv=-1", &io1), -EINVAL);
	assert_int_equal(svio_dev_add("sim_iommu99", &io1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_walk_sizes_and_permissions, teardown),
		cmocka_unit_test_teardown(test_tlb_hit_miss_evict, teardown),
		cmocka_unit_test_teardown(test_invalidation_kinds, teardown),
		cmocka_unit_test_teardown(test_wait_status_write, teardown),
		cmocka_unit_test_teardown(test_malformed_descriptors, teardown),
		cmocka_unit_test_teardown(test_page_requests, teardown),
		cmocka_unit_test_teardown(test_costs_counted, teardown),
		cmocka_unit_test_teardown(test_stale_use_checker, teardown),
		cmocka_unit_test_teardown(test_lose_inv_fault_injection, teardown),
		cmocka_unit_test_teardown(test_translate_and_instances, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
