/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe PMD on the built-in controller: data integrity over both LBA sizes,
 * inline and thread models, PRP lists, several controllers on one domain,
 * and the submission errors. Built twice: with SVA (pointers straight to the
 * device) and with --sva=off (buffers mapped with svio_dma_map, _iova calls).
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

static const char *const devs[] = { "sim_nvme0", "sim_nvme1", "sim_nvme2", "sim_nvme3" };

/* A page-aligned buffer the device can reach, with its device address. */
struct dbuf {
	uint8_t *va;
	uint64_t iova;
	size_t len;
};

static void dbuf_alloc(struct dbuf *b, size_t len)
{
	struct svio_domain *dom = svio_domain_default();

	b->len = (len + 4095) & ~(size_t)4095;
	assert_int_equal(posix_memalign((void **)&b->va, 4096, b->len), 0);
	memset(b->va, 0, b->len);
	if (svio_domain_sva(dom))
		b->iova = (uint64_t)(uintptr_t)b->va;
	else
		assert_int_equal(svio_dma_map(dom, b->va, b->len, SVIO_DMA_RW, &b->iova), 0);
}

static void dbuf_free(struct dbuf *b)
{
	struct svio_domain *dom = svio_domain_default();

	if (!svio_domain_sva(dom))
		assert_int_equal(svio_dma_unmap(dom, b->iova, b->len), 0);
	free(b->va);
}

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
	assert_int_equal(n, 4);
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
	assert_int_equal(svio_nvme_read_iova(qp, 1, b.iova, 0, 4097, nvme_wait_cb, w), -EINVAL);
	assert_int_equal(svio_nvme_write_zeroes(qp, 1, ns.nblocks - 2, 3, nvme_wait_cb, w),
			 -ERANGE);
	assert_int_equal(svio_nvme_flush(qp, 5, nvme_wait_cb, w), -ENXIO);
#ifdef NVME_TEST_SVA_OFF
	assert_int_equal(svio_nvme_read(qp, 1, b.va, 0, 1, nvme_wait_cb, w), -ENOTSUP);
#endif
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
		NULL,
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identify),      cmocka_unit_test(test_integrity),
		cmocka_unit_test(test_shared_domain), cmocka_unit_test(test_zeroes_flush_trim),
		cmocka_unit_test(test_submit_errors), cmocka_unit_test(test_qpair_limit),
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
