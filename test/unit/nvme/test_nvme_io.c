/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe PMD on the built-in controller: data integrity over both LBA sizes,
 * inline and thread models, PRP lists, several controllers on one domain,
 * the submission errors, and commands ended without the device (reset,
 * free) whose callbacks submit again or whose invalidation fails. Built
 * twice: with SVA (pointers straight to the device) and with --sva=off
 * (buffers mapped with svio_dma_map for the _iova calls; the pointer calls
 * map per command and must release every mapping).
 */
#include <stdlib.h>
#include <sys/mman.h>

#include <rte_log.h>

#include "nvme_priv.h"
#include "nvme_test.h"
#include "sim_iommu.h"
#include "sim_iommu_hw.h"
#include "sim_nvme.h"
#include "svio_iommu.h"

#ifdef NVME_TEST_SVA_OFF
#define SVA_ARG "--sva=off"
#else
#define SVA_ARG "--sva=on"
#endif

static const char *const devs[] = { "sim_nvme0", "sim_nvme1", "sim_nvme2", "sim_nvme3" };

static int rw_iova(struct svio_nvme_qpair *qp, bool write, uint32_t nsid, uint64_t iova,
		   uint64_t lba, uint32_t nlb)
{
	struct nvme_wait w = { 0 };
	int rc = write ? svio_nvme_write_iova(qp, nsid, iova, lba, nlb, nvme_wait_cb, &w)
		       : svio_nvme_read_iova(qp, nsid, iova, lba, nlb, nvme_wait_cb, &w);

	if (rc < 0)
		return rc;
	return nvme_wait_done(qp, &w);
}

static void test_identify(void **state)
{
	struct svio_nvme_ctrlr_info info;
	struct svio_nvme_ns_info ns;
	struct svio_nvme_ctrlr *c;
	unsigned int n = 0;

	(void)state;
	for (c = svio_nvme_ctrlr_next(NULL); c != NULL; c = svio_nvme_ctrlr_next(c))
		n++;
	assert_int_equal(n, 5);
	c = svio_nvme_ctrlr_get("sim_nvme1");
	assert_non_null(c);
	assert_null(svio_nvme_ctrlr_get("sim_nvme9"));
	assert_int_equal(svio_nvme_ctrlr_info_get(c, &info), 0);
	assert_string_equal(info.name, "sim_nvme1");
	assert_string_equal(info.mn, "svio simulated NVMe controller");
	assert_string_equal(info.sn, "SVIOSIM0001");
	assert_int_equal(info.version, NVME_VS_1_4);
	assert_int_equal(info.num_ns, 1);
	assert_int_equal(info.nn, 1);
	assert_int_equal(info.max_xfer, 1u << 20);
	assert_int_equal(info.max_qpairs, 4);
	assert_true(info.vwc && info.write_zeroes && info.dsm);
	assert_int_equal(svio_nvme_ns_next(c, 0), 1);
	assert_int_equal(svio_nvme_ns_next(c, 1), 0);
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), 0);
	assert_int_equal(ns.lba_size, 4096);
	assert_int_equal(ns.nblocks, (64u << 20) / 4096);
	assert_int_equal(svio_nvme_ns_info_get(c, 2, &ns), -ENXIO);

	/* nsid=3: ids 1 and 2 are inactive, 3 is the namespace. */
	c = svio_nvme_ctrlr_get("sim_nvme3");
	assert_int_equal(svio_nvme_ns_next(c, 0), 3);
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), -ENXIO);
	assert_int_equal(svio_nvme_ns_info_get(c, 3, &ns), 0);
	assert_int_equal(ns.lba_size, 512);
}

/* Write a pattern, read it back, compare; sizes that need 1, 2 and many PRP entries. */
static void integrity_one(struct svio_nvme_ctrlr *c, struct svio_nvme_qpair *qp)
{
	static const uint32_t bytes[] = { 512, 4096, 8192, 12288, 65536, 1u << 20 };
	struct svio_nvme_ns_info ns;
	struct dbuf wb, rb;
	uint64_t lba = 7;
	uint32_t nsid = svio_nvme_ns_next(c, 0);
	unsigned int i;

	assert_int_equal(svio_nvme_ns_info_get(c, nsid, &ns), 0);
	dbuf_alloc(&wb, (1u << 20) + 4096);
	dbuf_alloc(&rb, (1u << 20) + 4096);
	for (i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
		uint32_t nlb = bytes[i] / ns.lba_size;
		size_t len;
		/* Every other round starts mid-page, so PRP1 has an offset. */
		uint64_t off = (i & 1) ? 512 : 0;

		if (nlb == 0)
			continue;
		len = (size_t)nlb * ns.lba_size;
		if (len + off > (1u << 20))
			off = 0;
		nvme_fill(wb.va + off, len, i * 977 + nsid);
		memset(rb.va, 0xee, rb.len);
		assert_int_equal(rw_iova(qp, true, nsid, wb.iova + off, lba, nlb), 0);
		assert_int_equal(rw_iova(qp, false, nsid, rb.iova + 4 * (i & 1), lba, nlb), 0);
		assert_memory_equal(rb.va + 4 * (i & 1), wb.va + off, len);
		/* The controller holds exactly what was written. */
		{
			uint8_t *peek = malloc(len);

			assert_non_null(peek);
			assert_int_equal(
				sim_nvme_ns_peek(svio_nvme_ctrlr_device(c), lba, nlb, peek), 0);
			assert_memory_equal(peek, wb.va + off, len);
			free(peek);
		}
		lba += nlb + 3;
	}
	/* The last block of the namespace. */
	nvme_fill(wb.va, ns.lba_size, 99);
	assert_int_equal(rw_iova(qp, true, nsid, wb.iova, ns.nblocks - 1, 1), 0);
	assert_int_equal(rw_iova(qp, false, nsid, rb.iova, ns.nblocks - 1, 1), 0);
	assert_memory_equal(rb.va, wb.va, ns.lba_size);
	dbuf_free(&wb);
	dbuf_free(&rb);
}

static void test_integrity(void **state)
{
	(void)state;
	for (unsigned int d = 0; d < 4; d++) {
		struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get(devs[d]);
		struct svio_nvme_qpair *qp;

		assert_non_null(c);
		assert_int_equal(svio_nvme_qpair_alloc(c, 16, &qp), 0);
		integrity_one(c, qp);
		svio_nvme_qpair_free(qp);
	}
}

/* Many commands in flight on every controller at once, all on the one domain. */
static void test_shared_domain(void **state)
{
	enum { NDEV = 4, DEPTH = 32, ROUNDS = 4 };
	struct svio_nvme_qpair *qp[NDEV];
	struct svio_nvme_ns_info ns[NDEV];
	struct dbuf buf[NDEV];
	struct nvme_wait w[NDEV][DEPTH];
	unsigned int d, k, r;

	(void)state;
	for (d = 0; d < NDEV; d++) {
		struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get(devs[d]);

		assert_int_equal(svio_nvme_qpair_alloc(c, DEPTH, &qp[d]), 0);
		assert_int_equal(svio_nvme_ns_info_get(c, svio_nvme_ns_next(c, 0), &ns[d]), 0);
		dbuf_alloc(&buf[d], (size_t)DEPTH * 4096);
	}
	for (r = 0; r < ROUNDS; r++) {
		bool write = !(r & 1);

		memset(w, 0, sizeof(w));
		for (d = 0; d < NDEV; d++) {
			if (write)
				nvme_fill(buf[d].va, buf[d].len, r * 31 + d);
			else
				memset(buf[d].va, 0, buf[d].len);
			for (k = 0; k < DEPTH; k++) {
				uint32_t nlb = 4096 / ns[d].lba_size;
				uint64_t iova = buf[d].iova + k * 4096ull;
				int rc = write ? svio_nvme_write_iova(qp[d], ns[d].nsid, iova,
								      1000 + k * nlb, nlb,
								      nvme_wait_cb, &w[d][k])
					       : svio_nvme_read_iova(qp[d], ns[d].nsid, iova,
								     1000 + k * nlb, nlb,
								     nvme_wait_cb, &w[d][k]);

				assert_int_equal(rc, 0);
			}
		}
		for (d = 0; d < NDEV; d++) {
			for (k = 0; k < DEPTH; k++)
				assert_int_equal(nvme_wait_done(qp[d], &w[d][k]), 0);
			assert_int_equal(svio_nvme_qpair_outstanding(qp[d]), 0);
		}
		if (!write) {
			for (d = 0; d < NDEV; d++) {
				uint8_t *expect = malloc(buf[d].len);

				nvme_fill(expect, buf[d].len, (r - 1) * 31 + d);
				assert_memory_equal(buf[d].va, expect, buf[d].len);
				free(expect);
			}
		}
	}
	for (d = 0; d < NDEV; d++) {
		svio_nvme_qpair_free(qp[d]);
		dbuf_free(&buf[d]);
	}
	nvme_assert_no_stale_use();
}

static void test_zeroes_flush_trim(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_nvme_qpair *qp;
	struct nvme_wait w = { 0 };
	struct dbuf b;
	uint8_t zero[4096] = { 0 };

	(void)state;
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	dbuf_alloc(&b, 8192);
	nvme_fill(b.va, 8192, 5);
	assert_int_equal(rw_iova(qp, true, 1, b.iova, 100, 16), 0);
	assert_int_equal(svio_nvme_write_zeroes(qp, 1, 102, 4, nvme_wait_cb, &w), 0);
	assert_int_equal(nvme_wait_done(qp, &w), 0);
	memset(b.va, 0xaa, 8192);
	assert_int_equal(rw_iova(qp, false, 1, b.iova, 100, 16), 0);
	assert_memory_equal(b.va + 2 * 512, zero, 4 * 512);
	{
		uint8_t expect[8192];

		nvme_fill(expect, sizeof(expect), 5);
		assert_memory_equal(b.va, expect, 2 * 512);
		assert_memory_equal(b.va + 6 * 512, expect + 6 * 512, 10 * 512);
	}
	memset(&w, 0, sizeof(w));
	assert_int_equal(svio_nvme_deallocate(qp, 1, 108, 8, nvme_wait_cb, &w), 0);
	assert_int_equal(nvme_wait_done(qp, &w), 0);
	assert_int_equal(rw_iova(qp, false, 1, b.iova, 108, 8), 0);
	assert_memory_equal(b.va, zero, 4096);
	memset(&w, 0, sizeof(w));
	assert_int_equal(svio_nvme_flush(qp, 1, nvme_wait_cb, &w), 0);
	assert_int_equal(nvme_wait_done(qp, &w), 0);
	dbuf_free(&b);
	svio_nvme_qpair_free(qp);
}

static void test_submit_errors(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_nvme_ns_info ns;
	struct svio_nvme_qpair *qp;
	struct nvme_wait w[8];
	struct dbuf b;
	unsigned int i;

	(void)state;
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), 0);
	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp), 0);
	assert_int_equal(svio_nvme_qpair_depth(qp), 4);
	dbuf_alloc(&b, 8192);
	assert_int_equal(svio_nvme_read_iova(qp, 2, b.iova, 0, 1, nvme_wait_cb, w), -ENXIO);
	assert_int_equal(svio_nvme_read_iova(qp, 0, b.iova, 0, 1, nvme_wait_cb, w), -ENXIO);
	assert_int_equal(svio_nvme_read_iova(qp, 1, b.iova, ns.nblocks, 1, nvme_wait_cb, w),
			 -ERANGE);
	assert_int_equal(svio_nvme_read_iova(qp, 1, b.iova, ns.nblocks - 1, 2, nvme_wait_cb, w),
			 -ERANGE);
	assert_int_equal(svio_nvme_read_iova(qp, 1, b.iova, UINT64_MAX, 2, nvme_wait_cb, w),
			 -ERANGE);
	assert_int_equal(svio_nvme_read_iova(qp, 1, b.iova + 1, 0, 1, nvme_wait_cb, w), -EINVAL);
	assert_int_equal(svio_nvme_read_iova(qp, 1, b.iova, 0, 0, nvme_wait_cb, w), -EINVAL);
	assert_int_equal(svio_nvme_read_iova(qp, 1, b.iova, 0, 4097, nvme_wait_cb, w), -EMSGSIZE);
	assert_int_equal(svio_nvme_write_zeroes(qp, 1, ns.nblocks - 2, 3, nvme_wait_cb, w),
			 -ERANGE);
	assert_int_equal(svio_nvme_flush(qp, 5, nvme_wait_cb, w), -ENXIO);
	/* The pointer calls refuse the same way, before mapping anything. */
	{
		struct nvme_map_count before = nvme_map_count();

		assert_int_equal(svio_nvme_read(qp, 2, b.va, 0, 1, nvme_wait_cb, w), -ENXIO);
		assert_int_equal(svio_nvme_read(qp, 1, b.va, ns.nblocks, 1, nvme_wait_cb, w),
				 -ERANGE);
		assert_int_equal(svio_nvme_write(qp, 1, b.va + 2, 0, 1, nvme_wait_cb, w), -EINVAL);
		assert_int_equal(svio_nvme_write(qp, 1, b.va, 0, 0, nvme_wait_cb, w), -EINVAL);
		assert_int_equal(svio_nvme_write(qp, 1, b.va, 0, 4097, nvme_wait_cb, w), -EMSGSIZE);
		nvme_assert_mapped_and_released(before, 0);
	}
	/* Queue full: four in flight, the fifth waits for a poll. */
	memset(w, 0, sizeof(w));
	for (i = 0; i < 4; i++)
		assert_int_equal(svio_nvme_read_iova(qp, 1, b.iova, i, 1, nvme_wait_cb, &w[i]), 0);
	assert_int_equal(svio_nvme_read_iova(qp, 1, b.iova, 4, 1, nvme_wait_cb, &w[4]), -EAGAIN);
	for (i = 0; i < 4; i++)
		assert_int_equal(nvme_wait_done(qp, &w[i]), 0);
	assert_int_equal(svio_nvme_read_iova(qp, 1, b.iova, 4, 1, nvme_wait_cb, &w[4]), 0);
	assert_int_equal(nvme_wait_done(qp, &w[4]), 0);
	dbuf_free(&b);
	svio_nvme_qpair_free(qp);
}

/* Each refusal says at DEBUG level which check refused the command. */
static void test_refusal_logged(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_nvme_qpair *qp;
	struct nvme_wait w[2];
	uint8_t *buf = malloc(4096);
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	(void)state;
	assert_non_null(buf);
	assert_non_null(f);
	assert_int_equal(svio_nvme_qpair_alloc(c, 1, &qp), 0);
	memset(w, 0, sizeof(w));
	rte_openlog_stream(f);
	rte_log_set_level(svio_nvme_logtype, RTE_LOG_DEBUG);
	assert_int_equal(svio_nvme_read(qp, 9, buf, 0, 1, nvme_wait_cb, w), -ENXIO);
	assert_int_equal(svio_nvme_read(qp, 1, buf, 1ull << 40, 1, nvme_wait_cb, w), -ERANGE);
	assert_int_equal(svio_nvme_read(qp, 1, buf + 1, 0, 1, nvme_wait_cb, w), -EINVAL);
	assert_int_equal(svio_nvme_read(qp, 1, buf, 0, 0, nvme_wait_cb, w), -EINVAL);
	assert_int_equal(svio_nvme_read(qp, 1, buf, 0, 4096, nvme_wait_cb, w), -EMSGSIZE);
	assert_int_equal(svio_nvme_read(qp, 1, buf, 0, 1, nvme_wait_cb, &w[0]), 0);
	assert_int_equal(svio_nvme_write(qp, 1, buf, 0, 1, nvme_wait_cb, &w[1]), -EAGAIN);
	rte_log_set_level(svio_nvme_logtype, RTE_LOG_ERR);
	rte_openlog_stream(NULL);
	fclose(f);
	assert_int_equal(nvme_wait_done(qp, &w[0]), 0);
	svio_nvme_qpair_free(qp);
	assert_non_null(strstr(text, "read refused: namespace 9 does not exist"));
	assert_non_null(strstr(text, "read refused: LBA range 1099511627776+1 beyond namespace 1"));
	assert_non_null(strstr(text, "read refused: buffer 0x"));
	assert_non_null(strstr(text, "not 4-byte aligned"));
	assert_non_null(strstr(text, "read refused: nlb 0"));
	assert_non_null(strstr(text, "read refused: nlb 4096 (2097152 bytes) above"));
	assert_non_null(strstr(text, "write refused: queue full (1 outstanding)"));
	free(text);
	free(buf);
}

/* Queue ids run out at the controller's grant (queues=4 on sim_nvme1). */
static void test_qpair_limit(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme1");
	struct svio_nvme_qpair *qp[5];
	unsigned int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp[i]), 0);
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp[4]), -ENOSPC);
	svio_nvme_qpair_free(qp[2]);
	assert_int_equal(svio_nvme_qpair_alloc(c, 100000, &qp[2]), 0);
	assert_int_equal(svio_nvme_qpair_depth(qp[2]), 1023);
	for (i = 0; i < 4; i++)
		svio_nvme_qpair_free(qp[i]);
}

/* ---- the pointer API: SVA passes the pointer, --sva=off maps it per command ---- */

static int rw_ptr(struct svio_nvme_qpair *qp, bool write, uint32_t nsid, void *buf, uint64_t lba,
		  uint32_t nlb)
{
	return nvme_rw_sync(qp, write, nsid, buf, lba, nlb);
}

/*
 * Write through a pointer, read back through another, compare with the
 * controller's own copy. Buffers come from malloc at offsets that are not page
 * aligned, several of them straddling page boundaries; sizes up to the
 * transfer limit (a PRP list).
 */
static void ptr_integrity_one(struct svio_nvme_ctrlr *c, struct svio_nvme_qpair *qp)
{
	static const struct {
		uint32_t bytes, woff, roff;
	} cases[] = {
		{ 512, 4, 8 },	    { 512, 3840, 4000 },  { 4096, 8, 2048 },
		{ 4096, 0, 4092 },  { 8192, 400, 12 },	  { 12288, 4092, 4 },
		{ 65536, 4936, 4 }, { 1u << 20, 512, 8 }, { 1u << 20, 0, 0 },
	};
	struct nvme_map_count before = nvme_map_count();
	uint32_t nsid = svio_nvme_ns_next(c, 0);
	size_t blen = (1u << 20) + 3 * 4096;
	uint8_t *wb = malloc(blen), *rb = malloc(blen), *peek = malloc(1u << 20);
	struct svio_nvme_ns_info ns;
	uint64_t lba = 11, cmds = 0;

	assert_non_null(wb);
	assert_non_null(rb);
	assert_non_null(peek);
	assert_int_equal(svio_nvme_ns_info_get(c, nsid, &ns), 0);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t nlb = cases[i].bytes / ns.lba_size;
		size_t len = cases[i].bytes;

		if (nlb == 0)
			continue;
		nvme_fill(wb + cases[i].woff, len, i * 131 + nsid);
		memset(rb, 0xee, blen);
		assert_int_equal(rw_ptr(qp, true, nsid, wb + cases[i].woff, lba, nlb), 0);
		assert_int_equal(rw_ptr(qp, false, nsid, rb + cases[i].roff, lba, nlb), 0);
		assert_memory_equal(rb + cases[i].roff, wb + cases[i].woff, len);
		/* Nothing written outside the buffer. */
		assert_int_equal(rb[cases[i].roff + len], 0xee);
		if (cases[i].roff > 0)
			assert_int_equal(rb[cases[i].roff - 1], 0xee);
		assert_int_equal(sim_nvme_ns_peek(svio_nvme_ctrlr_device(c), lba, nlb, peek), 0);
		assert_memory_equal(peek, wb + cases[i].woff, len);
		lba += nlb + 5;
		cmds += 2;
	}
	assert_int_equal(svio_nvme_qpair_outstanding(qp), 0);
	nvme_assert_mapped_and_released(before, cmds);
	free(peek);
	free(rb);
	free(wb);
}

static void test_ptr_integrity(void **state)
{
	(void)state;
	for (unsigned int d = 0; d < 4; d++) {
		struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get(devs[d]);
		struct svio_nvme_qpair *qp;

		assert_int_equal(svio_nvme_qpair_alloc(c, 16, &qp), 0);
		ptr_integrity_one(c, qp);
		svio_nvme_qpair_free(qp);
	}
	nvme_assert_no_stale_use();
}

/*
 * Many commands in flight on two controllers at once, each buffer straddling
 * two pages and sharing them with its neighbours: without SVA every page is
 * mapped by two commands at the same time, at two IOVAs.
 */
static void test_ptr_in_flight(void **state)
{
	enum { NDEV = 2, DEPTH = 64, BS = 4096, OFF = 52 };
	struct nvme_map_count before;
	struct svio_nvme_qpair *qp[NDEV];
	struct svio_nvme_ns_info ns[NDEV];
	struct nvme_wait w[NDEV][DEPTH];
	uint8_t *wb[NDEV], *rb[NDEV];
	size_t len = (size_t)DEPTH * BS + OFF;
	unsigned int d, k;

	(void)state;
	for (d = 0; d < NDEV; d++) {
		struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get(devs[d]);

		assert_int_equal(svio_nvme_qpair_alloc(c, DEPTH, &qp[d]), 0);
		assert_int_equal(svio_nvme_ns_info_get(c, svio_nvme_ns_next(c, 0), &ns[d]), 0);
		wb[d] = malloc(len);
		rb[d] = malloc(len);
		assert_non_null(wb[d]);
		assert_non_null(rb[d]);
		nvme_fill(wb[d], len, 4242 + d);
		memset(rb[d], 0, len);
	}
	before = nvme_map_count(); /* the queue pairs' own memory is mapped by now */
	for (int write = 1; write >= 0; write--) {
		memset(w, 0, sizeof(w));
		for (d = 0; d < NDEV; d++) {
			uint32_t nlb = BS / ns[d].lba_size;

			for (k = 0; k < DEPTH; k++) {
				uint8_t *p = (write ? wb[d] : rb[d]) + OFF + (size_t)k * BS;
				uint64_t lba = 3000 + (uint64_t)k * nlb;
				int rc = write ? svio_nvme_write(qp[d], ns[d].nsid, p, lba, nlb,
								 nvme_wait_cb, &w[d][k])
					       : svio_nvme_read(qp[d], ns[d].nsid, p, lba, nlb,
								nvme_wait_cb, &w[d][k]);

				assert_int_equal(rc, 0);
			}
			assert_int_equal(svio_nvme_qpair_outstanding(qp[d]), DEPTH);
		}
		for (d = 0; d < NDEV; d++)
			for (k = 0; k < DEPTH; k++)
				assert_int_equal(nvme_wait_done(qp[d], &w[d][k]), 0);
	}
	nvme_assert_mapped_and_released(before, 2 * NDEV * DEPTH);
	for (d = 0; d < NDEV; d++) {
		assert_memory_equal(rb[d] + OFF, wb[d] + OFF, (size_t)DEPTH * BS);
		svio_nvme_qpair_free(qp[d]);
		free(rb[d]);
		free(wb[d]);
	}
	nvme_assert_no_stale_use();
}

/*
 * A buffer the domain cannot map fails at submission and leaves nothing
 * behind: no mapping, no slot (the queue still takes its full depth).
 * With SVA the pointer goes to the device, whose access fails instead.
 */
static void test_ptr_map_failure(void **state)
{
	enum { DEPTH = 4 };
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct nvme_map_count before;
	struct svio_nvme_qpair *qp;
	struct nvme_wait w[DEPTH + 1];
	uint8_t *buf = malloc(DEPTH * 512);
	unsigned int i;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(svio_nvme_qpair_alloc(c, DEPTH, &qp), 0);
	before = nvme_map_count();
	memset(w, 0, sizeof(w));
	assert_int_equal(svio_nvme_write(qp, 1, NULL, 0, 1, nvme_wait_cb, w), -EINVAL);
#ifdef NVME_TEST_SVA_OFF
	/* Beyond the 48 bits a first-stage table translates: svio_dma_map() refuses it. */
	assert_int_equal(
		svio_nvme_read(qp, 1, (void *)(uintptr_t)(1ull << 48), 0, 1, nvme_wait_cb, w),
		-EINVAL);
	assert_int_equal(svio_nvme_write(qp, 1, (void *)(uintptr_t)((1ull << 48) - 256), 0, 1,
					 nvme_wait_cb, w),
			 -EINVAL);
	{
		/* Memory the process does not map: the map is refused, not the model's copy. */
		uint8_t *hole = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		const uint8_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		assert_true(hole != MAP_FAILED && ro != MAP_FAILED);
		assert_int_equal(munmap(hole, 8192), 0);
		assert_int_equal(svio_nvme_read(qp, 1, hole + 512, 0, 1, nvme_wait_cb, w), -EFAULT);
		/* A read lands in memory: a read-only page cannot take it; a write may come from
		 * it. */
		assert_int_equal(
			svio_nvme_read(qp, 1, (void *)(uintptr_t)ro, 0, 1, nvme_wait_cb, w),
			-EFAULT);
		assert_int_equal(svio_nvme_write(qp, 1, ro, 7, 1, nvme_wait_cb, &w[1]), 0);
		assert_int_equal(nvme_wait_done(qp, &w[1]), 0);
		munmap((void *)(uintptr_t)ro, 4096);
		memset(w, 0, sizeof(w));
	}
	assert_int_equal(w[0].done, 0);
	assert_int_equal(svio_nvme_qpair_outstanding(qp), 0);
	nvme_assert_mapped_and_released(before, 1);
	before = nvme_map_count();
#else
	{
		/* An address nothing is mapped at: the page request fails, so does the command. */
		void *hole = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);

		assert_true(hole != MAP_FAILED);
		assert_int_equal(munmap(hole, 8192), 0);
		assert_int_equal(rw_ptr(qp, false, 1, (uint8_t *)hole + 512, 0, 1), -EFAULT);
	}
#endif
	/* Every slot is still there. */
	for (i = 0; i < DEPTH; i++)
		assert_int_equal(svio_nvme_write(qp, 1, buf + i * 512, i, 1, nvme_wait_cb, &w[i]),
				 0);
	assert_int_equal(svio_nvme_write(qp, 1, buf, DEPTH, 1, nvme_wait_cb, &w[DEPTH]), -EAGAIN);
	for (i = 0; i < DEPTH; i++)
		assert_int_equal(nvme_wait_done(qp, &w[i]), 0);
	nvme_assert_mapped_and_released(before, DEPTH);
	svio_nvme_qpair_free(qp);
	free(buf);
	nvme_assert_no_stale_use();
}

/*
 * Commands that end without a normal completion give their mappings back
 * too: aborted after a timeout, timed out and reset, cancelled by an explicit
 * reset, cancelled by freeing the queue pair.
 */
static void test_ptr_timeout_reset_release(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_device *dev = svio_nvme_ctrlr_device(c);
	uint64_t resets = svio_nvme_ctrlr_resets(c);
	struct nvme_map_count before;
	struct svio_nvme_qpair *qp;
	struct nvme_wait w[4];
	uint8_t *buf = malloc(4 * 4096 + 100);
	unsigned int i;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(svio_nvme_ctrlr_set_timeout(c, 20000), 0);
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	before = nvme_map_count();

	/* Timed out, then aborted: completed by the controller. */
	memset(w, 0, sizeof(w));
	assert_int_equal(sim_nvme_inject_hang(dev, 1, true), 0);
	assert_int_equal(svio_nvme_read(qp, 1, buf + 100, 0, 8, nvme_wait_cb, &w[0]), 0);
	assert_int_equal(nvme_wait_done(qp, &w[0]), -ETIMEDOUT);
	assert_int_equal(NVME_SF_SC(w[0].cpl.status), NVME_SC_ABORT_REQUESTED);
	nvme_assert_mapped_and_released(before, 1);

	/* The abort refused: reset; the timed-out command and its neighbour end. */
	memset(w, 0, sizeof(w));
	assert_int_equal(sim_nvme_inject_hang(dev, 1, false), 0);
	assert_int_equal(svio_nvme_write(qp, 1, buf + 100, 0, 8, nvme_wait_cb, &w[0]), 0);
	assert_int_equal(svio_nvme_write(qp, 1, buf + 4196, 8, 8, nvme_wait_cb, &w[1]), 0);
	assert_int_equal(nvme_wait_done(qp, &w[0]), -ETIMEDOUT);
	assert_int_equal(nvme_wait_done(qp, &w[1]), 0);
	assert_int_equal(svio_nvme_ctrlr_resets(c), resets + 1);
	nvme_assert_mapped_and_released(before, 3);

	/* An explicit reset with commands outstanding cancels them. */
	memset(w, 0, sizeof(w));
	for (i = 0; i < 3; i++)
		assert_int_equal(
			svio_nvme_read(qp, 1, buf + 100 + i * 4096, i * 8, 8, nvme_wait_cb, &w[i]),
			0);
	assert_int_equal(svio_nvme_ctrlr_reset(c), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(nvme_wait_done(qp, &w[i]), -ECANCELED);
	assert_int_equal(svio_nvme_qpair_outstanding(qp), 0);
	nvme_assert_mapped_and_released(before, 6);

	/* Freeing the pair cancels what it still holds. */
	memset(w, 0, sizeof(w));
	assert_int_equal(sim_nvme_inject_hang(dev, 2, false), 0);
	assert_int_equal(svio_nvme_write(qp, 1, buf + 100, 0, 8, nvme_wait_cb, &w[0]), 0);
	assert_int_equal(svio_nvme_read(qp, 1, buf + 4196, 0, 8, nvme_wait_cb, &w[1]), 0);
	/* Freeing the pair also unmaps its queues (those that needed a mapping). */
	before.unmaps += qp->sq_mem.mapped + qp->cq_mem.mapped + qp->prp_mem.mapped;
	svio_nvme_qpair_free(qp);
	assert_int_equal(w[0].done, 1);
	assert_int_equal(w[0].cpl.rc, -ECANCELED);
	assert_int_equal(w[1].done, 1);
	assert_int_equal(w[1].cpl.rc, -ECANCELED);
	nvme_assert_mapped_and_released(before, 8);

	assert_int_equal(svio_nvme_ctrlr_set_timeout(c, 5000000), 0);
	free(buf);
	nvme_assert_no_stale_use();
}

/*
 * A completion callback that submits again: how many, and what its
 * submissions returned. Records the domain's unmap count when it ran.
 */
struct resubmit {
	struct svio_nvme_qpair *qp;
	uint8_t *buf; /* 512 bytes a resubmission */
	uint64_t lba;
	unsigned int n;
	int done, rc;
	int sub_rc[2];
	struct nvme_wait sub[2];
	uint64_t unmaps_seen;
};

static void resubmit_cb(void *arg, const struct svio_nvme_cpl *cpl)
{
	struct resubmit *r = arg;

	r->rc = cpl->rc;
	r->done++;
	r->unmaps_seen = nvme_map_count().unmaps;
	for (unsigned int k = 0; k < r->n; k++)
		r->sub_rc[k] = svio_nvme_write(r->qp, 1, r->buf + k * 512, r->lba + k, 1,
					       nvme_wait_cb, &r->sub[k]);
}

/*
 * Callbacks run by svio_nvme_qpair_free() that submit again are refused
 * with -ECANCELED: nothing is left in a slot the teardown already passed,
 * every mapping is gone before the first callback, and the queue id comes
 * back.
 */
static void test_free_resubmit(void **state)
{
	enum { DEPTH = 4, N = 3 };
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_nvme_qpair *qp, *again[64];
	struct svio_nvme_ctrlr_info info;
	struct nvme_map_count before;
	struct resubmit r[N];
	uint8_t *buf = malloc(N * 4096);
	uint64_t unmaps0;
	unsigned int i;

	(void)state;
	assert_non_null(buf);
	nvme_fill(buf, N * 4096, 31);
	assert_int_equal(svio_nvme_qpair_alloc(c, DEPTH, &qp), 0);
	before = nvme_map_count();
	memset(r, 0, sizeof(r));
	for (i = 0; i < N; i++) {
		r[i] = (struct resubmit){
			.qp = qp, .buf = buf + i * 4096 + 1024, .lba = 100 + i * 8, .n = 2
		};
		/* Not polled: all three are outstanding when the pair goes. */
		assert_int_equal(
			svio_nvme_write(qp, 1, buf + i * 4096, i * 8, 1, resubmit_cb, &r[i]), 0);
	}
	unmaps0 = before.unmaps;
	/* Freeing the pair also unmaps its queues (those that needed a mapping). */
	before.unmaps += qp->sq_mem.mapped + qp->cq_mem.mapped + qp->prp_mem.mapped;
	svio_nvme_qpair_free(qp);
	for (i = 0; i < N; i++) {
		assert_int_equal(r[i].done, 1);
		assert_int_equal(r[i].rc, -ECANCELED);
		for (unsigned int k = 0; k < 2; k++) {
			assert_int_equal(r[i].sub_rc[k], -ECANCELED);
			assert_int_equal(r[i].sub[k].done, 0);
		}
		/* Every command's buffer was unmapped before the first callback. */
		if (!svio_domain_sva(svio_domain_default()))
			assert_true(r[i].unmaps_seen >= unmaps0 + N);
	}
	nvme_assert_mapped_and_released(before, N);
	nvme_assert_no_stale_use();
	/* The queue id came back: every pair the controller grants can be had. */
	assert_int_equal(svio_nvme_ctrlr_info_get(c, &info), 0);
	for (i = 0; i < info.max_qpairs; i++)
		assert_int_equal(svio_nvme_qpair_alloc(c, 2, &again[i]), 0);
	for (i = 0; i < info.max_qpairs; i++)
		svio_nvme_qpair_free(again[i]);
	free(buf);
}

/*
 * Commands cancelled by a reset whose callbacks submit again: the new
 * commands go to the re-created queues, one into a slot above the cancelled
 * one's, and complete normally. Only what was outstanding when the pair
 * noticed the reset ends with -ECANCELED (and has its mapping taken down).
 */
static void test_recover_resubmit(void **state)
{
	enum { DEPTH = 4 };
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct nvme_map_count before;
	struct svio_nvme_qpair *qp;
	struct resubmit r[2];
	uint8_t *buf = malloc(2 * 4096), *rd = malloc(1024);
	int rc;

	(void)state;
	assert_true(buf != NULL && rd != NULL);
	nvme_fill(buf, 2 * 4096, 32);
	assert_int_equal(svio_nvme_qpair_alloc(c, DEPTH, &qp), 0);
	before = nvme_map_count();
	r[0] = (struct resubmit){ .qp = qp, .buf = buf + 4096, .lba = 200, .n = 2 };
	r[1] = (struct resubmit){ .qp = qp, .n = 0 };
	assert_int_equal(svio_nvme_read(qp, 1, buf, 0, 1, resubmit_cb, &r[0]), 0);
	assert_int_equal(svio_nvme_read(qp, 1, buf + 512, 1, 1, resubmit_cb, &r[1]), 0);
	assert_int_equal(svio_nvme_ctrlr_reset(c), 0);
	while (!r[0].done || !r[1].done || !r[0].sub[0].done || !r[0].sub[1].done) {
		rc = svio_nvme_qpair_poll(qp, 0);
		assert_true(rc >= 0 || rc == -EAGAIN);
	}
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(r[i].done, 1);
		assert_int_equal(r[i].rc, -ECANCELED);
		assert_int_equal(r[0].sub_rc[i], 0);
		assert_int_equal(r[0].sub[i].done, 1);
		assert_int_equal(r[0].sub[i].cpl.rc, 0);
	}
	assert_int_equal(svio_nvme_qpair_outstanding(qp), 0);
	nvme_assert_mapped_and_released(before, 4);
	memset(rd, 0, 1024);
	assert_int_equal(nvme_rw_sync(qp, false, 1, rd, 200, 2), 0);
	assert_memory_equal(rd, buf + 4096, 1024);
	svio_nvme_qpair_free(qp);
	nvme_assert_no_stale_use();
	free(rd);
	free(buf);
}

/*
 * The invalidation of cancelled commands' buffers keeps failing (injected
 * in the driver, every attempt): the callbacks still run, the commands are
 * counted in svio_nvme_ctrlr_unmap_failures(), and a later flush completes
 * the unmaps. With SVA nothing was mapped per command: no flush, no count.
 */
static void test_teardown_flush_fails(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	uint64_t fails = svio_nvme_ctrlr_unmap_failures(c);
	bool sva = svio_domain_sva(svio_domain_default());
	struct nvme_map_count before;
	struct svio_nvme_qpair *qp;
	struct nvme_wait w[2];
	uint8_t *buf = malloc(2 * 4096);
	int left;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp), 0);
	before = nvme_map_count();
	memset(w, 0, sizeof(w));
	assert_int_equal(svio_nvme_write(qp, 1, buf + 8, 0, 8, nvme_wait_cb, &w[0]), 0);
	assert_int_equal(svio_nvme_read(qp, 1, buf + 4096, 8, 1, nvme_wait_cb, &w[1]), 0);
	before.unmaps += qp->sq_mem.mapped + qp->cq_mem.mapped + qp->prp_mem.mapped;
	atomic_store(&nvme_fail_flush, 100);
	svio_nvme_qpair_free(qp);
	left = atomic_load(&nvme_fail_flush);
	atomic_store(&nvme_fail_flush, 0);
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(w[i].done, 1);
		assert_int_equal(w[i].cpl.rc, -ECANCELED);
	}
	/* Strict: the check after the unmaps, then three tries. */
	assert_int_equal(left, sva ? 100 : 100 - 4);
	assert_int_equal(svio_nvme_ctrlr_unmap_failures(c), fails + (sva ? 0 : 2));
	assert_int_equal(svio_iommu_sync(svio_domain_default()), 0);
	nvme_assert_mapped_and_released(before, 2);
	nvme_assert_no_stale_use();
	free(buf);
}

#ifdef NVME_TEST_SVA_OFF
/*
 * A real invalidation failure on the teardown path: a bad tail stops the
 * IOMMU model's invalidation queue, so the unmap of the cancelled command
 * returns -EIO. The driver's retry completes the flush before the callback:
 * nothing is counted, no device used a stale translation.
 */
static void test_teardown_flush_retry(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_domain *dom = svio_domain_default();
	struct svio_device *iommu = sim_iommu_instance(0);
	uint64_t fails = svio_nvme_ctrlr_unmap_failures(c);
	struct svio_iommu_stats st0, st1;
	struct nvme_map_count before;
	struct svio_nvme_qpair *qp;
	struct nvme_cb_seen seen = { 0 };
	uint8_t *buf = malloc(4096);

	(void)state;
	assert_non_null(buf);
	assert_non_null(iommu);
	assert_int_equal(svio_domain_policy(dom), SVIO_FLUSH_STRICT);
	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp), 0);
	before = nvme_map_count();
	assert_int_equal(svio_nvme_read(qp, 1, buf + 8, 0, 7, nvme_seen_cb, &seen), 0);
	assert_int_equal(svio_iommu_stats_get(dom, &st0), 0);
	assert_int_equal(svio_reg_write64(iommu, 0, SIM_IOMMU_REG_IQT, 8), 0);
	before.unmaps += qp->sq_mem.mapped + qp->cq_mem.mapped + qp->prp_mem.mapped;
	svio_nvme_qpair_free(qp);
	assert_int_equal(svio_iommu_stats_get(dom, &st1), 0);
	assert_int_equal(st1.queue_errors, st0.queue_errors + 1);
	assert_int_equal(seen.done, 1);
	assert_int_equal(seen.rc, -ECANCELED);
	/* Unmapped, and a batch completed after the failed one, before the callback. */
	assert_int_equal(seen.st.unmaps, st0.unmaps + 1);
	assert_int_equal(seen.st.batches, st0.batches + 1);
	assert_int_equal(svio_nvme_ctrlr_unmap_failures(c), fails);
	nvme_assert_mapped_and_released(before, 1);
	nvme_assert_no_stale_use();
	free(buf);
}
#endif

/*
 * A controller that does not come back from a reset is failed: -ENODEV
 * everywhere (distinct from -ENXIO, no such namespace, which it still
 * reports first), and what was outstanding completes with -ENODEV, its
 * mappings released. Runs last: sim_nvme4 stays failed.
 */
static void test_failed_controller(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme4");
	struct nvme_sqe id = { .opc = NVME_ADM_IDENTIFY, .cdw10 = NVME_CNS_CTRLR };
	struct nvme_map_count before;
	struct svio_nvme_qpair *qp, *qp2;
	struct svio_nvme_ns_info ns;
	struct svio_nvme_cpl cpl;
	struct nvme_id_ctrlr ident;
	struct nvme_wait w[2];
	uint8_t *buf = malloc(3 * 4096);
	struct dbuf b;

	(void)state;
	assert_non_null(buf);
	dbuf_alloc(&b, 4096);
	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp), 0);
	before = nvme_map_count();
	nvme_fill(buf, 4096, 77);
	assert_int_equal(rw_ptr(qp, true, 1, buf + 8, 0, 1), 0);
	memset(w, 0, sizeof(w));
	assert_int_equal(sim_nvme_inject_hang(svio_nvme_ctrlr_device(c), 1, false), 0);
	assert_int_equal(svio_nvme_read(qp, 1, buf + 4100, 0, 1, nvme_wait_cb, &w[0]), 0);
	atomic_store(&nvme_fail_nth, 1); /* the reset's disable fails */
	assert_int_equal(svio_nvme_ctrlr_reset(c), -ETIMEDOUT);
	assert_int_equal(atomic_load(&nvme_fail_nth), 0);
	assert_int_equal(svio_nvme_qpair_poll(qp, 0), -ENODEV);
	assert_int_equal(w[0].done, 1);
	assert_int_equal(w[0].cpl.rc, -ENODEV);
	nvme_assert_mapped_and_released(before, 2);

	assert_int_equal(svio_nvme_write(qp, 1, buf, 0, 1, nvme_wait_cb, &w[1]), -ENODEV);
	assert_int_equal(svio_nvme_read(qp, 1, buf, 0, 1, nvme_wait_cb, &w[1]), -ENODEV);
	assert_int_equal(svio_nvme_read_iova(qp, 1, b.iova, 0, 1, nvme_wait_cb, &w[1]), -ENODEV);
	assert_int_equal(svio_nvme_flush(qp, 1, nvme_wait_cb, &w[1]), -ENODEV);
	assert_int_equal(svio_nvme_write_zeroes(qp, 1, 0, 1, nvme_wait_cb, &w[1]), -ENODEV);
	assert_int_equal(svio_nvme_qpair_poll(qp, 0), -ENODEV);
	assert_int_equal(w[1].done, 0);
	/* No such namespace is still that, failed controller or not. */
	assert_int_equal(svio_nvme_read(qp, 2, buf, 0, 1, nvme_wait_cb, &w[1]), -ENXIO);
	assert_int_equal(svio_nvme_ns_info_get(c, 2, &ns), -ENXIO);
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), 0);
	assert_int_equal(svio_nvme_admin_cmd(c, &id, &ident, sizeof(ident), &cpl), -ENODEV);
	assert_int_equal(svio_nvme_ctrlr_reset(c), -ENODEV);
	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp2), -ENODEV);
	nvme_assert_mapped_and_released(before, 2);
	svio_nvme_qpair_free(qp);
	dbuf_free(&b);
	free(buf);
}

int main(void)
{
	static const char *const args[] = {
		SVA_ARG,
		"--vdev",
		"sim_nvme0,size=64M,lba=512",
		"--vdev",
		"sim_nvme1,size=64M,lba=4096,mode=thread,queues=4",
		"--vdev",
		"sim_nvme2,size=256G,lba=4096,dstrd=2",
		"--vdev",
		"sim_nvme3,size=16M,nsid=3,mode=thread,latency_ns=20000,iommu=1",
		"--vdev",
		"sim_nvme4,size=8M,lba=4096",
		NULL,
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identify),
		cmocka_unit_test(test_integrity),
		cmocka_unit_test(test_shared_domain),
		cmocka_unit_test(test_zeroes_flush_trim),
		cmocka_unit_test(test_submit_errors),
		cmocka_unit_test(test_qpair_limit),
		cmocka_unit_test(test_refusal_logged),
		cmocka_unit_test(test_ptr_integrity),
		cmocka_unit_test(test_ptr_in_flight),
		cmocka_unit_test(test_ptr_map_failure),
		cmocka_unit_test(test_ptr_timeout_reset_release),
		cmocka_unit_test(test_free_resubmit),
		cmocka_unit_test(test_recover_resubmit),
		cmocka_unit_test(test_teardown_flush_fails),
#ifdef NVME_TEST_SVA_OFF
		cmocka_unit_test(test_teardown_flush_retry),
#endif
		/* Last: it leaves sim_nvme4 failed. */
		cmocka_unit_test(test_failed_controller),
	};
	int rc;

	if (nvme_test_init(args) < 0) {
		fprintf(stderr, "svio_eal_init failed\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	svio_eal_cleanup();
	return rc;
}
