/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every unwind path of probe and queue pair creation: fail the 1st, 2nd, ...
 * fault point in turn until a call gets through. After each failure nothing
 * may be left behind (no domain attachment, no queue id, no memory: the
 * sanitizer build checks leaks), and the next attempt must work.
 */
#include <stdlib.h>

#include "nvme_priv.h"
#include "nvme_test.h"

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

int main(void)
{
	static const char *const args[] = { "--vdev", "sim_nvme0,size=8M,queues=3", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_sweep),
		cmocka_unit_test(test_qpair_sweep),
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
