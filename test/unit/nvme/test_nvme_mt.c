/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One queue pair per thread, no locks on the data path: several threads
 * write and verify their own LBA ranges at once on an inline controller
 * (commands run on the submitting threads) and a threaded one (the model
 * thread runs them), while the main thread sends admin commands.
 */
#include <pthread.h>
#include <stdlib.h>

#include "nvme_test.h"

#define THREADS 3
#define ROUNDS	40

/*
 * Static, so the second test finds the pages already faulted in: a first
 * touch costs a page request, which is slow under ThreadSanitizer.
 */
static uint8_t bufs[THREADS][2][8 * 4096] __attribute__((aligned(4096)));

struct worker {
	const char *dev;
	unsigned int id;
	int rc;
};

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get(wk->dev);
	struct svio_nvme_qpair *qp;
	struct svio_nvme_ns_info ns;
	uint8_t *wb = NULL, *rb = NULL;
	uint32_t nlb;
	int rc;

	rc = svio_nvme_ns_info_get(c, 1, &ns);
	if (rc < 0)
		goto out;
	nlb = 4096 / ns.lba_size; /* one page a command */

	rc = svio_nvme_qpair_alloc(c, 16, &qp);
	if (rc < 0)
		goto out;
	wb = bufs[wk->id][0];
	rb = bufs[wk->id][1];
	for (unsigned int r = 0; r < ROUNDS && rc == 0; r++) {
		struct nvme_wait w[8];
		uint64_t lba = ((uint64_t)wk->id * 512 + (r % 16) * 8) * nlb;
		unsigned int k;

		memset(w, 0, sizeof(w));
		nvme_fill(wb, 8 * 4096, wk->id * 1000 + r);
		/* Eight writes in flight, then eight reads. */
		for (k = 0; k < 8 && rc == 0; k++)
			rc = svio_nvme_write(qp, 1, wb + k * 4096, lba + k * nlb, nlb, nvme_wait_cb,
					     &w[k]);
		for (k = 0; k < 8 && rc == 0; k++)
			rc = nvme_wait_done(qp, &w[k]);
		memset(w, 0, sizeof(w));
		memset(rb, 0, 8 * 4096);
		for (k = 0; k < 8 && rc == 0; k++)
			rc = svio_nvme_read(qp, 1, rb + k * 4096, lba + k * nlb, nlb, nvme_wait_cb,
					    &w[k]);
		for (k = 0; k < 8 && rc == 0; k++)
			rc = nvme_wait_done(qp, &w[k]);
		if (rc == 0 && memcmp(wb, rb, 8 * 4096) != 0)
			rc = -EILSEQ;
	}
	svio_nvme_qpair_free(qp);
out:
	wk->rc = rc;
	return NULL;
}

static void run(const char *dev)
{
	struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get(dev);
	struct nvme_sqe gl = { .opc = NVME_ADM_GET_LOG_PAGE,
			       .nsid = 0xffffffffu,
			       .cdw10 = 127u << 16 | NVME_LOG_SMART };
	struct worker wk[THREADS];
	pthread_t t[THREADS];
	struct nvme_smart_log smart;
	struct svio_nvme_cpl cpl;
	uint64_t writes0;
	unsigned int i;

	assert_int_equal(svio_nvme_admin_cmd(c, &gl, &smart, sizeof(smart), &cpl), 0);
	writes0 = smart.host_writes[0];
	for (i = 0; i < THREADS; i++) {
		wk[i] = (struct worker){ .dev = dev, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &wk[i]), 0);
	}
	/* Admin traffic alongside the I/O. */
	for (i = 0; i < 50; i++)
		assert_int_equal(svio_nvme_admin_cmd(c, &gl, &smart, sizeof(smart), &cpl), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < THREADS; i++) {
		if (wk[i].rc != 0)
			fail_msg("worker %u on %s: %s", i, dev, strerror(-wk[i].rc));
	}
	assert_int_equal(svio_nvme_admin_cmd(c, &gl, &smart, sizeof(smart), &cpl), 0);
	assert_int_equal(smart.host_writes[0] - writes0, THREADS * ROUNDS * 8);
	nvme_assert_no_stale_use();
}

static void test_inline(void **state)
{
	(void)state;
	run("sim_nvme0");
}

static void test_thread(void **state)
{
	(void)state;
	run("sim_nvme1");
}

int main(void)
{
	static const char *const args[] = {
		"--vdev", "sim_nvme0,size=64M", "--vdev", "sim_nvme1,size=64M,lba=4096,mode=thread",
		NULL,
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_thread),
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
