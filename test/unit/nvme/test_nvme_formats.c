/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe PMD on namespaces configured the way users configure them: metadata
 * formats (inside each block, in a separate MPTR buffer, with protection
 * information), a small transfer limit (MDTS) and several namespaces on one
 * controller. Every data test writes, reads back and compares, and checks
 * what the controller stored. Built twice: with SVA and with --sva=off.
 */
#include <stdlib.h>

#include "nvme_test.h"
#include "sim_nvme.h"
#include "svio_iommu.h"

#ifdef NVME_TEST_SVA_OFF
#define SVA_ARG "--sva=off"
#else
#define SVA_ARG "--sva=on"
#endif

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

/* A raw command, synchronously: @return the completion's rc, @p sf its status. */
static int raw_sync(struct svio_nvme_qpair *qp, const struct nvme_sqe *cmd, uint64_t iova,
		    size_t len, uint16_t *sf)
{
	struct nvme_wait w = { 0 };
	int rc = svio_nvme_io_raw(qp, cmd, iova, len, nvme_wait_cb, &w);

	if (rc < 0)
		return rc;
	rc = nvme_wait_done(qp, &w);
	*sf = w.cpl.status;
	return rc;
}

static struct svio_nvme_ctrlr *ctrlr(const char *name)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get(name);

	assert_non_null(c);
	return c;
}

/* The active LBA format is read whole; formats the driver cannot drive are refused. */
static void test_format_identify(void **state)
{
	struct svio_nvme_ns_info ns;
	struct svio_nvme_ctrlr *c;

	(void)state;
	c = ctrlr("sim_nvme0"); /* 512 + 8, extended */
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), 0);
	assert_int_equal(ns.lba_size, 512);
	assert_int_equal(ns.md_size, 8);
	assert_true(ns.md_extended);
	assert_int_equal(ns.pi_type, 0);
	assert_int_equal(ns.lbaf, 1);
	assert_int_equal(ns.block_size, 520);
	assert_int_equal(ns.max_nlb, (1u << 20) / 520);
	assert_int_equal(ns.nblocks, (16u << 20) / 512);

	c = ctrlr("sim_nvme1"); /* 4096 + 64, extended */
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), 0);
	assert_int_equal(ns.lba_size, 4096);
	assert_int_equal(ns.md_size, 64);
	assert_int_equal(ns.lbaf, 7);
	assert_int_equal(ns.block_size, 4160);

	/* Separate metadata: refused, geometry still told, no I/O. */
	c = ctrlr("sim_nvme2");
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), -ENOTSUP);
	assert_int_equal(ns.md_size, 8);
	assert_false(ns.md_extended);
	assert_int_equal(ns.block_size, 512);
	assert_int_equal(svio_nvme_ns_next(c, 0), 0);

	/* Protection information: refused. */
	c = ctrlr("sim_nvme3");
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), -ENOTSUP);
	assert_int_equal(ns.pi_type, 1);
	assert_true(ns.md_extended);
	assert_int_equal(svio_nvme_ns_next(c, 0), 0);
}

/*
 * Extended LBAs: nlb * (data + metadata) bytes move, the store holds them
 * exactly as the host laid them out, and nothing past the buffer is touched.
 */
static void extended_one(struct svio_nvme_ctrlr *c)
{
	static const uint32_t nlbs[] = { 1, 7, 8, 9, 64, 255 };
	struct svio_nvme_ns_info ns;
	struct svio_nvme_qpair *qp;
	struct dbuf wb, rb;
	uint64_t lba = 3;
	size_t max;
	unsigned int i;

	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), 0);
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	max = (size_t)ns.max_nlb * ns.block_size;
	dbuf_alloc(&wb, max + 8192);
	dbuf_alloc(&rb, max + 8192);
	for (i = 0; i <= sizeof(nlbs) / sizeof(nlbs[0]); i++) {
		uint32_t nlb = i < sizeof(nlbs) / sizeof(nlbs[0]) && nlbs[i] < ns.max_nlb
				       ? nlbs[i]
				       : ns.max_nlb;
		size_t len = (size_t)nlb * ns.block_size;
		/* Every other round starts mid-page: PRP1 with an offset. */
		size_t off = (i & 1) ? 1028 : 0;
		uint8_t *peek = malloc(len);

		assert_non_null(peek);
		nvme_fill(wb.va + off, len, i * 131 + ns.block_size);
		memset(rb.va, 0xee, rb.len);
		assert_int_equal(rw_iova(qp, true, 1, wb.iova + off, lba, nlb), 0);
		assert_int_equal(rw_iova(qp, false, 1, rb.iova + off, lba, nlb), 0);
		assert_memory_equal(rb.va + off, wb.va + off, len);
		/* Not a byte before or after the transfer. */
		for (size_t k = 0; k < off; k++)
			assert_int_equal(rb.va[k], 0xee);
		for (size_t k = off + len; k < off + len + 4096 && k < rb.len; k++)
			assert_int_equal(rb.va[k], 0xee);
		assert_int_equal(sim_nvme_ns_peek(svio_nvme_ctrlr_device(c), lba, nlb, peek), 0);
		assert_memory_equal(peek, wb.va + off, len);
		free(peek);
		lba += nlb + 5;
	}
	/* One block over the limit is refused, not split. */
	assert_int_equal(rw_iova(qp, false, 1, rb.iova, 0, ns.max_nlb + 1), -EMSGSIZE);

	/* The pointer calls (per-command mappings without SVA) move the same bytes. */
	{
		size_t len = 8 * (size_t)ns.block_size;
		uint8_t *a = malloc(len + 64), *b = malloc(len + 64);

		assert_non_null(a);
		assert_non_null(b);
		nvme_fill(a, len, 4242);
		memset(b, 0xee, len + 64);
		assert_int_equal(nvme_rw_sync(qp, true, 1, a, 100, 8), 0);
		assert_int_equal(nvme_rw_sync(qp, false, 1, b, 100, 8), 0);
		assert_memory_equal(a, b, len);
		for (size_t k = len; k < len + 64; k++)
			assert_int_equal(b[k], 0xee);
		free(a);
		free(b);
	}
	svio_nvme_qpair_free(qp);
	dbuf_free(&wb);
	dbuf_free(&rb);
	nvme_assert_no_stale_use();
}

static void test_extended_integrity(void **state)
{
	(void)state;
	extended_one(ctrlr("sim_nvme0"));
	extended_one(ctrlr("sim_nvme1"));
}

/*
 * The model moves separate metadata as a controller does: the data through
 * the PRPs, nlb * ms bytes at MPTR; MPTR 0 is a bad DMA address like any
 * other (Data Transfer Error), never silently accepted.
 */
static void test_separate_md_model(void **state)
{
	struct svio_nvme_ctrlr *c = ctrlr("sim_nvme2");
	struct svio_nvme_qpair *qp;
	struct nvme_sqe cmd = { .opc = NVME_CMD_WRITE, .nsid = 1, .cdw10 = 10, .cdw12 = 3 };
	struct dbuf data, md, rd, rmd;
	uint8_t store[4 * 520];
	uint16_t sf;

	(void)state;
	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp), 0);
	dbuf_alloc(&data, 4 * 512);
	dbuf_alloc(&md, 4 * 8);
	dbuf_alloc(&rd, 4 * 512);
	dbuf_alloc(&rmd, 4 * 8);
	nvme_fill(data.va, 4 * 512, 1);
	nvme_fill(md.va, 4 * 8, 2);
	cmd.mptr = md.iova;
	assert_int_equal(raw_sync(qp, &cmd, data.iova, 4 * 512, &sf), 0);
	/* Stored interleaved: each block's data, then its 8 bytes. */
	assert_int_equal(sim_nvme_ns_peek(svio_nvme_ctrlr_device(c), 10, 4, store), 0);
	for (unsigned int i = 0; i < 4; i++) {
		assert_memory_equal(store + i * 520, data.va + i * 512, 512);
		assert_memory_equal(store + i * 520 + 512, md.va + i * 8, 8);
	}
	cmd.opc = NVME_CMD_READ;
	cmd.mptr = rmd.iova;
	assert_int_equal(raw_sync(qp, &cmd, rd.iova, 4 * 512, &sf), 0);
	assert_memory_equal(rd.va, data.va, 4 * 512);
	assert_memory_equal(rmd.va, md.va, 4 * 8);
	cmd.mptr = 0;
	assert_int_equal(raw_sync(qp, &cmd, rd.iova, 4 * 512, &sf), -EFAULT);
	assert_int_equal(NVME_SF_SC(sf), NVME_SC_DATA_XFER_ERROR);
	svio_nvme_qpair_free(qp);
	dbuf_free(&data);
	dbuf_free(&md);
	dbuf_free(&rd);
	dbuf_free(&rmd);
}

/* mdts=1: 8 KiB a command; the driver refuses more, the controller too (Invalid Field, DNR). */
static void test_mdts(void **state)
{
	struct svio_nvme_ctrlr *c = ctrlr("sim_nvme4");
	struct svio_nvme_ctrlr_info info;
	struct svio_nvme_ns_info ns;
	struct svio_nvme_qpair *qp;
	struct nvme_sqe cmd = { .opc = NVME_CMD_WRITE, .nsid = 1, .cdw12 = 31 };
	struct dbuf b;
	uint16_t sf = 0;

	(void)state;
	assert_int_equal(svio_nvme_ctrlr_info_get(c, &info), 0);
	assert_int_equal(info.max_xfer, 8192);
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), 0);
	assert_int_equal(ns.max_nlb, 16);
	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp), 0);
	dbuf_alloc(&b, 32768);
	nvme_fill(b.va, 8192, 7);
	assert_int_equal(rw_iova(qp, true, 1, b.iova, 0, 16), 0);
	memset(b.va + 16384, 0, 8192);
	assert_int_equal(rw_iova(qp, false, 1, b.iova + 16384, 0, 16), 0);
	assert_memory_equal(b.va + 16384, b.va, 8192);
	assert_int_equal(rw_iova(qp, true, 1, b.iova, 0, 17), -EMSGSIZE);
	assert_int_equal(svio_nvme_io_raw(qp, &cmd, b.iova, 16384, nvme_wait_cb, NULL), -EMSGSIZE);
	/* Past the driver's check (PRPs for 8 KiB, 32 blocks asked): the controller refuses. */
	assert_int_equal(raw_sync(qp, &cmd, b.iova, 8192, &sf), -EINVAL);
	assert_int_equal(NVME_SF_SC(sf), NVME_SC_INVALID_FIELD);
	assert_true(sf & NVME_SF_DNR);
	svio_nvme_qpair_free(qp);
	dbuf_free(&b);
}

/* Three namespaces (ids 2..4) on one controller: each its own blocks. */
static void test_namespaces(void **state)
{
	struct svio_nvme_ctrlr *c = ctrlr("sim_nvme5");
	struct svio_nvme_ctrlr_info info;
	struct svio_nvme_ns_info ns;
	struct svio_nvme_qpair *qp;
	uint8_t *w[5], *r = malloc(4096), *peek = malloc(4096);
	uint32_t id;

	(void)state;
	assert_non_null(r);
	assert_non_null(peek);
	assert_int_equal(svio_nvme_ctrlr_info_get(c, &info), 0);
	assert_int_equal(info.num_ns, 3);
	assert_int_equal(info.nn, 4);
	assert_int_equal(svio_nvme_ns_next(c, 0), 2);
	assert_int_equal(svio_nvme_ns_next(c, 2), 3);
	assert_int_equal(svio_nvme_ns_next(c, 3), 4);
	assert_int_equal(svio_nvme_ns_next(c, 4), 0);
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), -ENXIO);
	assert_int_equal(svio_nvme_ns_info_get(c, 5, &ns), -ENXIO);
	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp), 0);
	for (id = 2; id <= 4; id++) {
		assert_int_equal(svio_nvme_ns_info_get(c, id, &ns), 0);
		assert_int_equal(ns.nsid, id);
		assert_int_equal(ns.lba_size, 4096);
		assert_int_equal(ns.nblocks, (8u << 20) / 4096);
		w[id] = malloc(4096);
		assert_non_null(w[id]);
		nvme_fill(w[id], 4096, id * 1000);
		assert_int_equal(nvme_rw_sync(qp, true, id, w[id], 5, 1), 0);
	}
	for (id = 2; id <= 4; id++) {
		memset(r, 0, 4096);
		assert_int_equal(nvme_rw_sync(qp, false, id, r, 5, 1), 0);
		assert_memory_equal(r, w[id], 4096);
		assert_int_equal(sim_nvme_ns_peek_ns(svio_nvme_ctrlr_device(c), id, 5, 1, peek), 0);
		assert_memory_equal(peek, w[id], 4096);
	}
	/* Zeroing namespace 3 leaves 2 and 4 alone. */
	{
		struct nvme_wait wt = { 0 };

		assert_int_equal(svio_nvme_write_zeroes(qp, 3, 5, 1, nvme_wait_cb, &wt), 0);
		assert_int_equal(nvme_wait_done(qp, &wt), 0);
		memset(&wt, 0, sizeof(wt));
		assert_int_equal(svio_nvme_flush(qp, 0xffffffffu, nvme_wait_cb, &wt), 0);
		assert_int_equal(nvme_wait_done(qp, &wt), 0);
	}
	for (id = 2; id <= 4; id++) {
		assert_int_equal(nvme_rw_sync(qp, false, id, r, 5, 1), 0);
		if (id == 3) {
			for (unsigned int k = 0; k < 4096; k++)
				assert_int_equal(r[k], 0);
		} else {
			assert_memory_equal(r, w[id], 4096);
		}
		free(w[id]);
	}
	assert_int_equal(nvme_rw_sync(qp, false, 1, r, 0, 1), -ENXIO);
	svio_nvme_qpair_free(qp);
	free(r);
	free(peek);
}

/*
 * The ns= devarg: namespace 2 of a two-namespace controller is the only one
 * the application gets; it is written, read back and compared, and the
 * controller stored it there while namespace 1 stayed untouched.
 */
static void test_ns_devarg(void **state)
{
	struct svio_nvme_ctrlr *c = ctrlr("sim_nvme6");
	struct svio_nvme_ctrlr_info info;
	struct svio_nvme_ns_info ns;
	struct svio_nvme_qpair *qp;
	uint8_t *w = malloc(8 * 512), *r = malloc(8 * 512), *peek = malloc(8 * 512);

	(void)state;
	assert_non_null(w);
	assert_non_null(r);
	assert_non_null(peek);
	assert_int_equal(svio_nvme_ctrlr_info_get(c, &info), 0);
	assert_int_equal(info.nn, 2);
	assert_int_equal(info.num_ns, 1);
	assert_int_equal(svio_nvme_ns_next(c, 0), 2);
	assert_int_equal(svio_nvme_ns_next(c, 2), 0);
	assert_int_equal(svio_nvme_ns_info_get(c, 1, &ns), -ENXIO);
	assert_int_equal(svio_nvme_ns_info_get(c, 2, &ns), 0);
	assert_int_equal(ns.nsid, 2);
	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp), 0);
	nvme_fill(w, 8 * 512, 0x6e73);
	assert_int_equal(nvme_rw_sync(qp, true, 2, w, 9, 8), 0);
	memset(r, 0, 8 * 512);
	assert_int_equal(nvme_rw_sync(qp, false, 2, r, 9, 8), 0);
	assert_memory_equal(r, w, 8 * 512);
	assert_int_equal(sim_nvme_ns_peek_ns(svio_nvme_ctrlr_device(c), 2, 9, 8, peek), 0);
	assert_memory_equal(peek, w, 8 * 512);
	assert_int_equal(sim_nvme_ns_peek_ns(svio_nvme_ctrlr_device(c), 1, 9, 8, peek), 0);
	for (unsigned int k = 0; k < 8 * 512; k++)
		assert_int_equal(peek[k], 0);
	/* Namespace 1 exists on the controller, but not for the application. */
	assert_int_equal(nvme_rw_sync(qp, true, 1, w, 9, 8), -ENXIO);
	svio_nvme_qpair_free(qp);
	free(w);
	free(r);
	free(peek);
}

int main(void)
{
	static const char *const args[] = {
		SVA_ARG,
		"--vdev",
		"sim_nvme0,size=16M,ms=8,mset=1",
		"--vdev",
		"sim_nvme1,size=16M,lba=4096,ms=64,mset=1,mode=thread",
		"--vdev",
		"sim_nvme2,size=8M,ms=8,mset=0",
		"--vdev",
		"sim_nvme3,size=8M,ms=8,mset=1,pi=1",
		"--vdev",
		"sim_nvme4,size=8M,mdts=1",
		"--vdev",
		"sim_nvme5,size=8M,lba=4096,nsid=2,namespaces=3,mode=thread",
		"--vdev",
		"sim_nvme6,size=8M,namespaces=2,ns=2",
		NULL,
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_identify),	  cmocka_unit_test(test_extended_integrity),
		cmocka_unit_test(test_separate_md_model), cmocka_unit_test(test_mdts),
		cmocka_unit_test(test_namespaces),	  cmocka_unit_test(test_ns_devarg),
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
