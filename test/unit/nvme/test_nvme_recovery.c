/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe PMD robustness on the built-in controller: a hung command is aborted
 * after its timeout; one the controller will not abort leads to a reset; a
 * controller fatal status (CSTS.CFS) is recovered by a reset; queue pairs
 * re-create their queues afterwards and the data survives.
 */
#include <stdlib.h>

#include "nvme_test.h"
#include "sim_nvme.h"

#define TIMEOUT_US 20000

static uint8_t buf[4][4096] __attribute__((aligned(4096)));

static void write_verify(struct svio_nvme_qpair *qp, uint64_t lba, uint64_t seed)
{
	static uint8_t rd[4096] __attribute__((aligned(4096)));

	nvme_fill(buf[0], 4096, seed);
	assert_int_equal(nvme_rw_sync(qp, true, 1, buf[0], lba, 8), 0);
	memset(rd, 0, sizeof(rd));
	assert_int_equal(nvme_rw_sync(qp, false, 1, rd, lba, 8), 0);
	assert_memory_equal(rd, buf[0], 4096);
}

static void hung_abortable(const char *name)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get(name);
	struct svio_device *dev = svio_nvme_ctrlr_device(c);
	struct sim_nvme_stats before, after;
	struct svio_nvme_qpair *qp;
	struct nvme_wait w[2] = { 0 };
	uint64_t resets = svio_nvme_ctrlr_resets(c);

	assert_int_equal(svio_nvme_ctrlr_set_timeout(c, TIMEOUT_US), 0);
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	assert_int_equal(sim_nvme_stats_get(dev, &before), 0);
	assert_int_equal(sim_nvme_inject_hang(dev, 1, true), 0);
	assert_int_equal(svio_nvme_read(qp, 1, buf[1], 0, 8, nvme_wait_cb, &w[0]), 0);
	assert_int_equal(svio_nvme_read(qp, 1, buf[2], 8, 8, nvme_wait_cb, &w[1]), 0);
	/* The second command completes normally; the first only through Abort. */
	assert_int_equal(nvme_wait_done(qp, &w[1]), 0);
	assert_int_equal(nvme_wait_done(qp, &w[0]), -ETIMEDOUT);
	assert_int_equal(NVME_SF_SCT(w[0].cpl.status), NVME_SCT_GENERIC);
	assert_int_equal(NVME_SF_SC(w[0].cpl.status), NVME_SC_ABORT_REQUESTED);
	assert_int_equal(sim_nvme_stats_get(dev, &after), 0);
	assert_int_equal(after.held - before.held, 1);
	assert_int_equal(after.aborted - before.aborted, 1);
	assert_int_equal(svio_nvme_ctrlr_resets(c), resets);
	write_verify(qp, 64, 1);
	svio_nvme_qpair_free(qp);
}

static void test_timeout_abort_inline(void **state)
{
	(void)state;
	hung_abortable("sim_nvme0");
}

static void test_timeout_abort_thread(void **state)
{
	(void)state;
	hung_abortable("sim_nvme1");
}

/* Abort refused: a second timeout resets the controller; the other pair recovers too. */
static void hung_reset(const char *name)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get(name);
	struct svio_device *dev = svio_nvme_ctrlr_device(c);
	struct svio_nvme_qpair *qp, *other;
	struct nvme_wait w = { 0 };
	uint64_t resets = svio_nvme_ctrlr_resets(c);

	assert_int_equal(svio_nvme_ctrlr_set_timeout(c, TIMEOUT_US), 0);
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &other), 0);
	write_verify(other, 128, 2);
	assert_int_equal(sim_nvme_inject_hang(dev, 1, false), 0);
	assert_int_equal(svio_nvme_write(qp, 1, buf[1], 0, 8, nvme_wait_cb, &w), 0);
	assert_int_equal(nvme_wait_done(qp, &w), -ETIMEDOUT);
	assert_int_equal(svio_nvme_ctrlr_resets(c), resets + 1);
	assert_int_equal(svio_nvme_qpair_outstanding(qp), 0);
	/* Both pairs work after the reset, and the data from before is there. */
	write_verify(qp, 256, 3);
	{
		uint8_t rd[4096] __attribute__((aligned(64)));
		uint8_t expect[4096];

		nvme_fill(expect, sizeof(expect), 2);
		assert_int_equal(nvme_rw_sync(other, false, 1, rd, 128, 8), 0);
		assert_memory_equal(rd, expect, sizeof(rd));
	}
	svio_nvme_qpair_free(other);
	svio_nvme_qpair_free(qp);
}

static void test_timeout_reset_inline(void **state)
{
	(void)state;
	hung_reset("sim_nvme0");
}

static void test_timeout_reset_thread(void **state)
{
	(void)state;
	hung_reset("sim_nvme1");
}

/* CSTS.CFS: the poller notices, resets, and the outstanding command is cancelled. */
static void fatal_recovery(const char *name)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get(name);
	struct svio_device *dev = svio_nvme_ctrlr_device(c);
	struct svio_nvme_qpair *qp;
	struct nvme_wait w = { 0 };
	uint64_t resets = svio_nvme_ctrlr_resets(c);
	uint32_t csts = 0;

	assert_int_equal(svio_nvme_ctrlr_set_timeout(c, 0), 0); /* CFS alone must do it */
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	write_verify(qp, 512, 4);
	assert_int_equal(sim_nvme_inject_fatal(dev), 0);
	assert_int_equal(svio_reg_read32(dev, 0, NVME_REG_CSTS, &csts), 0);
	assert_true(csts & NVME_CSTS_CFS);
	assert_int_equal(svio_nvme_read(qp, 1, buf[3], 0, 8, nvme_wait_cb, &w), 0);
	assert_int_equal(nvme_wait_done(qp, &w), -ECANCELED);
	assert_int_equal(svio_nvme_ctrlr_resets(c), resets + 1);
	assert_int_equal(svio_reg_read32(dev, 0, NVME_REG_CSTS, &csts), 0);
	assert_int_equal(csts & (NVME_CSTS_CFS | NVME_CSTS_RDY), NVME_CSTS_RDY);
	write_verify(qp, 512, 5);
	svio_nvme_qpair_free(qp);
	assert_int_equal(svio_nvme_ctrlr_set_timeout(c, TIMEOUT_US), 0);
}

static void test_fatal_inline(void **state)
{
	(void)state;
	fatal_recovery("sim_nvme0");
}

static void test_fatal_thread(void **state)
{
	(void)state;
	fatal_recovery("sim_nvme1");
}

/* Fatal status during an admin command: it fails fast, the controller is reset. */
static void test_fatal_admin(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme1");
	struct nvme_sqe id = { .opc = NVME_ADM_IDENTIFY, .cdw10 = NVME_CNS_CTRLR };
	struct nvme_id_ctrlr ident;
	struct svio_nvme_cpl cpl;
	uint64_t resets = svio_nvme_ctrlr_resets(c);

	(void)state;
	assert_int_equal(sim_nvme_inject_fatal(svio_nvme_ctrlr_device(c)), 0);
	assert_int_equal(svio_nvme_admin_cmd(c, &id, &ident, sizeof(ident), &cpl), -EIO);
	assert_int_equal(svio_nvme_ctrlr_resets(c), resets + 1);
	assert_int_equal(svio_nvme_admin_cmd(c, &id, &ident, sizeof(ident), &cpl), 0);
	assert_int_equal(ident.cntlid, 2);
}

/* An explicit reset between commands: pairs re-create their queues on next use. */
static void test_explicit_reset(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_nvme_qpair *qp;
	struct nvme_sqe id = { .opc = NVME_ADM_IDENTIFY, .cdw10 = NVME_CNS_CTRLR };
	struct nvme_id_ctrlr ident;
	struct svio_nvme_cpl cpl;

	(void)state;
	assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp), 0);
	write_verify(qp, 1024, 6);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(svio_nvme_ctrlr_reset(c), 0);
		write_verify(qp, 1024 + 8 * i, 7 + i);
	}
	assert_int_equal(svio_nvme_admin_cmd(c, &id, &ident, sizeof(ident), &cpl), 0);
	assert_int_equal(ident.cntlid, 1);
	svio_nvme_qpair_free(qp);
	nvme_assert_no_stale_use();
}

int main(void)
{
	static const char *const args[] = {
		"--vdev", "sim_nvme0,size=16M", "--vdev", "sim_nvme1,size=16M,mode=thread", NULL,
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeout_abort_inline),
		cmocka_unit_test(test_timeout_abort_thread),
		cmocka_unit_test(test_timeout_reset_inline),
		cmocka_unit_test(test_timeout_reset_thread),
		cmocka_unit_test(test_fatal_inline),
		cmocka_unit_test(test_fatal_thread),
		cmocka_unit_test(test_fatal_admin),
		cmocka_unit_test(test_explicit_reset),
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
