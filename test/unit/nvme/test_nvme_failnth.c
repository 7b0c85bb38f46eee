/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every unwind path of probe and queue pair creation: fail the 1st, 2nd, ...
 * fault point in turn until a call gets through. After each failure nothing
 * may be left behind (no domain attachment, no queue id, no memory: the
 * sanitizer build checks leaks), and the next attempt must work.
 *
 * The domain has SVA off and lazy flushes, so every queue buffer is really
 * mapped and its release waits in quarantine; the pointer I/O maps per
 * command, which the lazy-unmap and teardown flush failure tests look at.
 */
#include <stdlib.h>

#include "nvme_priv.h"
#include "nvme_test.h"
#include "sim_iommu.h"
#include "sim_iommu_hw.h"

static void write_verify(struct svio_nvme_ctrlr *c)
{
	static uint8_t wb[4096] __attribute__((aligned(4096))),
		rb[4096] __attribute__((aligned(4096)));
	struct svio_nvme_qpair *qp;

	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp), 0);
	nvme_fill(wb, sizeof(wb), 9);
	assert_int_equal(nvme_rw_sync(qp, true, 1, wb, 0, 8), 0);
	memset(rb, 0, sizeof(rb));
	assert_int_equal(nvme_rw_sync(qp, false, 1, rb, 0, 8), 0);
	assert_memory_equal(rb, wb, sizeof(rb));
	svio_nvme_qpair_free(qp);
}

static void test_probe_sweep(void **state)
{
	struct svio_domain *dom = svio_domain_default();
	struct svio_device *dev;
	int n, rc;

	(void)state;
	assert_int_equal(svio_dev_add("sim_nvme1,size=8M,mode=thread", &dev), 0);
	for (n = 1; n < 100; n++) {
		atomic_store(&nvme_fail_nth, n);
		rc = svio_dev_probe_all();
		if (atomic_load(&nvme_fail_nth) > 0) {
			/* Fewer than n fault points: this probe ran clean. */
			assert_int_equal(rc, 0);
			break;
		}
		assert_true(rc < 0);
		assert_null(dev->driver);
		assert_int_equal(svio_domain_detach(dom, dev), -ENOENT);
	}
	atomic_store(&nvme_fail_nth, 0);
	assert_true(n > 5);
	assert_non_null(dev->driver);
	assert_non_null(svio_nvme_ctrlr_get("sim_nvme1"));
	write_verify(svio_nvme_ctrlr_get("sim_nvme1"));
}

static void test_qpair_sweep(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_nvme_ctrlr_info info;
	struct svio_nvme_qpair *qp[64];
	int n, rc;

	(void)state;
	assert_int_equal(svio_nvme_ctrlr_info_get(c, &info), 0);
	for (n = 1; n < 100; n++) {
		atomic_store(&nvme_fail_nth, n);
		rc = svio_nvme_qpair_alloc(c, 8, &qp[0]);
		if (atomic_load(&nvme_fail_nth) > 0) {
			assert_int_equal(rc, 0);
			svio_nvme_qpair_free(qp[0]);
			break;
		}
		assert_true(rc < 0);
	}
	atomic_store(&nvme_fail_nth, 0);
	assert_true(n > 4);
	/* No queue id leaked: every one can still be had. */
	for (unsigned int i = 0; i < info.max_qpairs; i++)
		assert_int_equal(svio_nvme_qpair_alloc(c, 8, &qp[i]), 0);
	for (unsigned int i = 0; i < info.max_qpairs; i++)
		svio_nvme_qpair_free(qp[i]);
	write_verify(c);
}

/*
 * Lazy policy: a command that completed has its buffer unmapped before the
 * callback but the invalidation only queued (the device is done with it); a
 * command cancelled by a reset gets the flush forced before its callback
 * (nobody knows what the device still had in flight).
 */
static void test_lazy_unmap(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_domain *dom = svio_domain_default();
	struct nvme_cb_seen seen[3];
	struct svio_nvme_qpair *qp;
	struct svio_iommu_stats st;
	struct nvme_map_count before;
	uint8_t *buf = malloc(3 * 4096);

	(void)state;
	assert_non_null(buf);
	assert_false(svio_domain_sva(dom));
	assert_int_equal(svio_domain_policy(dom), SVIO_FLUSH_LAZY);
	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp), 0);
	assert_int_equal(svio_iommu_sync(dom), 0);
	before = nvme_map_count();
	assert_int_equal(svio_iommu_stats_get(dom, &st), 0);

	memset(seen, 0, sizeof(seen));
	nvme_fill(buf, 3 * 4096, 5);
	assert_int_equal(svio_nvme_write(qp, 1, buf + 100, 0, 8, nvme_seen_cb, &seen[0]), 0);
	while (!seen[0].done)
		assert_true(svio_nvme_qpair_poll(qp, 0) >= 0);
	assert_int_equal(seen[0].rc, 0);
	assert_int_equal(seen[0].st.unmaps, st.unmaps + 1);
	assert_int_equal(seen[0].st.batches, st.batches);

	assert_int_equal(svio_nvme_read(qp, 1, buf + 100, 0, 8, nvme_seen_cb, &seen[1]), 0);
	assert_int_equal(svio_nvme_read(qp, 1, buf + 4196, 8, 8, nvme_seen_cb, &seen[2]), 0);
	assert_int_equal(svio_nvme_ctrlr_reset(c), 0);
	while (!seen[1].done || !seen[2].done)
		assert_true(svio_nvme_qpair_poll(qp, 0) >= 0);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(seen[i].rc, -ECANCELED);
		assert_int_equal(seen[i].st.unmaps, st.unmaps + 3);
		assert_true(seen[i].st.batches > st.batches);
	}
	assert_int_equal(svio_iommu_sync(dom), 0);
	nvme_assert_mapped_and_released(before, 3);
	nvme_assert_no_stale_use();
	svio_nvme_qpair_free(qp);
	free(buf);
}

/*
 * Lazy policy, commands cancelled by a reset: the forced flush before their
 * callbacks fails once on the IOMMU model (a bad tail stops its queue) and
 * the driver's retry completes it; then it fails every try (injected in the
 * driver): the callbacks run anyway, counted in unmap_failures, and the
 * queued invalidations complete with the next flush.
 */
static void test_lazy_teardown_flush_failure(void **state)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
	struct svio_domain *dom = svio_domain_default();
	struct svio_device *iommu = sim_iommu_instance(0);
	uint64_t fails = svio_nvme_ctrlr_unmap_failures(c);
	struct svio_iommu_stats st0, st1;
	struct nvme_map_count before;
	struct svio_nvme_qpair *qp;
	struct nvme_cb_seen seen[2];
	uint8_t *buf = malloc(3 * 4096);
	int left;

	(void)state;
	assert_non_null(buf);
	assert_non_null(iommu);
	assert_int_equal(svio_nvme_qpair_alloc(c, 4, &qp), 0);
	assert_int_equal(svio_iommu_sync(dom), 0);
	before = nvme_map_count();

	/* Fails once on the hardware: retried before the callbacks. */
	memset(seen, 0, sizeof(seen));
	assert_int_equal(svio_nvme_read(qp, 1, buf + 100, 0, 8, nvme_seen_cb, &seen[0]), 0);
	assert_int_equal(svio_nvme_read(qp, 1, buf + 4196, 8, 8, nvme_seen_cb, &seen[1]), 0);
	assert_int_equal(svio_nvme_ctrlr_reset(c), 0);
	assert_int_equal(svio_iommu_stats_get(dom, &st0), 0);
	assert_int_equal(svio_reg_write64(iommu, 0, SIM_IOMMU_REG_IQT, 8), 0);
	while (!seen[0].done || !seen[1].done)
		assert_true(svio_nvme_qpair_poll(qp, 0) >= 0);
	assert_int_equal(svio_iommu_stats_get(dom, &st1), 0);
	assert_int_equal(st1.queue_errors, st0.queue_errors + 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(seen[i].rc, -ECANCELED);
		assert_int_equal(seen[i].st.unmaps, st0.unmaps + 2);
		assert_true(seen[i].st.batches > st0.batches);
	}
	assert_int_equal(svio_nvme_ctrlr_unmap_failures(c), fails);

	/* Fails every try: counted, the callbacks still run. */
	memset(seen, 0, sizeof(seen));
	assert_int_equal(svio_nvme_write(qp, 1, buf + 100, 0, 8, nvme_seen_cb, &seen[0]), 0);
	assert_int_equal(svio_nvme_ctrlr_reset(c), 0);
	assert_int_equal(svio_iommu_stats_get(dom, &st0), 0);
	atomic_store(&nvme_fail_flush, 100);
	while (!seen[0].done)
		assert_true(svio_nvme_qpair_poll(qp, 0) >= 0);
	left = atomic_load(&nvme_fail_flush);
	atomic_store(&nvme_fail_flush, 0);
	assert_int_equal(seen[0].rc, -ECANCELED);
	assert_int_equal(left, 100 - 4);
	assert_int_equal(svio_nvme_ctrlr_unmap_failures(c), fails + 1);
	/* The invalidation was still queued when the callback ran; the next flush does it. */
	assert_int_equal(seen[0].st.unmaps, st0.unmaps + 1);
	assert_int_equal(seen[0].st.batches, st0.batches);
	assert_int_equal(svio_iommu_sync(dom), 0);
	nvme_assert_mapped_and_released(before, 3);
	nvme_assert_no_stale_use();
	svio_nvme_qpair_free(qp);
	free(buf);
}

int main(void)
{
	static const char *const args[] = {
		"--sva=off",
		"--iommu-flush=lazy",
		/* Long enough that nothing flushes behind the lazy-unmap test's back. */
		"--iommu-flush-timeout=5000000",
		"--vdev",
		"sim_nvme0,size=8M,queues=3",
		NULL,
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_sweep),
		cmocka_unit_test(test_qpair_sweep),
		cmocka_unit_test(test_lazy_unmap),
		cmocka_unit_test(test_lazy_teardown_flush_failure),
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
