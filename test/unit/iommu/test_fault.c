/* SPDX-License-Identifier: BSD-3-Clause */
/* I/O page requests resolved against the process's own mappings (SVA). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "svio_iommu.h"
#include "svio_x86_pte.h"
#include "iommu_private.h"
#include "fake_iommu.h"

#define K4 UINT64_C(0x1000)

static struct fake_iommu f0;
static struct svio_device dev;
static struct svio_domain *dom;

static int make(bool sva)
{
	struct svio_iommu_caps caps = fake_caps();
	struct svio_iommu_config cfg;
	int rc;

	fake_log_reset();
	svio_iommu_config_default(&cfg);
	cfg.sva = sva;
	rc = fake_iommu_init(&f0, 0, &caps);
	if (rc == 0)
		rc = svio_domain_create(&cfg, &dom);
	fake_dev_init(&dev, &f0, "pri", 0x30, true);
	if (rc == 0)
		rc = svio_domain_attach(dom, &dev);
	return rc;
}

static int setup_sva(void **state)
{
	(void)state;
	return make(true);
}

static int setup_nosva(void **state)
{
	(void)state;
	return make(false);
}

static int teardown(void **state)
{
	(void)state;
	svio_domain_destroy(dom);
	dom = NULL;
	return fake_iommu_fini(&f0);
}

/* Send one request and return the response code the fake received. */
static int request(void *addr, bool write, bool last, uint16_t group)
{
	struct svio_page_req req = { .sid = dev.dma.sid,
				     .pasid = svio_domain_pasid(dom),
				     .addr = (uint64_t)(uintptr_t)addr & ~(K4 - 1),
				     .read = !write,
				     .write = write,
				     .last = last,
				     .group = group };
	unsigned int before = fake_log_count(EV_PAGE_RESP, -1, -1);
	int idx;

	svio_iommu_page_request(&f0.iommu, &req);
	if (fake_log_count(EV_PAGE_RESP, -1, -1) == before)
		return -1; /* no response */
	idx = fake_log_find(EV_PAGE_RESP, -1, 0);
	while (fake_log_find(EV_PAGE_RESP, -1, (unsigned int)idx + 1) >= 0)
		idx = fake_log_find(EV_PAGE_RESP, -1, (unsigned int)idx + 1);
	return fake_log_at((unsigned int)idx).code;
}

static uint64_t pte_flags(void *addr)
{
	uint64_t flags = 0;

	if (pgtable_lookup(&dom->pgt, (uint64_t)(uintptr_t)addr, NULL, &flags, NULL) < 0)
		return 0;
	return flags;
}

static void test_malloc_buffer_is_faulted_in(void **state)
{
	char *buf = aligned_alloc(K4, 2 * K4);
	struct svio_iommu_stats st;
	uint64_t pa;

	(void)state;
	assert_non_null(buf);
	memset(buf, 0, 2 * K4);
	assert_int_equal(request(buf, false, true, 1), SVIO_PAGE_RESP_SUCCESS);
	/* Heap is writable: the page is mapped R/W, iova == va. */
	assert_true(pte_flags(buf) & SVIO_PTE_P);
	assert_true(pte_flags(buf) & SVIO_PTE_RW);
	assert_int_equal(pgtable_lookup(&dom->pgt, (uint64_t)(uintptr_t)buf + 8, &pa, NULL, NULL),
			 0);
	assert_int_equal(pa, (uint64_t)(uintptr_t)buf + 8);
	assert_int_equal(request(buf + K4, true, true, 2), SVIO_PAGE_RESP_SUCCESS);
	/* Already mapped: answered at once. */
	assert_int_equal(request(buf, true, true, 3), SVIO_PAGE_RESP_SUCCESS);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.page_requests, 3);
	assert_int_equal(st.page_faults_failed, 0);
	/* Stays mapped until unmapped explicitly. */
	assert_int_equal(svio_dma_unmap(dom, (uint64_t)(uintptr_t)buf, 2 * K4), 0);
	assert_int_equal(pte_flags(buf), 0);
	free(buf);
}

/*
 * A page response may recover a stopped invalidation queue and report its
 * error, which takes the registry lock: the response must be sent without it.
 */
static void test_response_may_report_queue_error(void **state)
{
	char *buf = aligned_alloc(K4, K4);
	struct svio_iommu_stats before, after;

	(void)state;
	assert_non_null(buf);
	svio_iommu_stats_get(dom, &before);
	f0.resp_queue_error = true;
	alarm(20); /* a deadlock fails the test instead of hanging it */
	assert_int_equal(request(buf, true, true, 1), SVIO_PAGE_RESP_SUCCESS);
	alarm(0);
	f0.resp_queue_error = false;
	svio_iommu_stats_get(dom, &after);
	assert_int_equal(after.queue_errors, before.queue_errors + 1);
	assert_int_equal(svio_dma_unmap(dom, (uint64_t)(uintptr_t)buf, K4), 0);
	free(buf);
}

static void test_unmapped_address_fails(void **state)
{
	struct svio_iommu_stats st;
	void *p = mmap(NULL, K4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(p != MAP_FAILED);
	munmap(p, K4);
	assert_int_equal(request(p, false, true, 1), SVIO_PAGE_RESP_INVALID);
	assert_int_equal(pte_flags(p), 0);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.page_faults_failed, 1);
}

static void test_read_only_page(void **state)
{
	char *p = mmap(NULL, 2 * K4, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(p != MAP_FAILED);
	/* A write into a read-only mapping fails; a read maps it read-only. */
	assert_int_equal(request(p, true, true, 1), SVIO_PAGE_RESP_INVALID);
	assert_int_equal(pte_flags(p), 0);
	assert_int_equal(request(p + K4, false, true, 2), SVIO_PAGE_RESP_SUCCESS);
	assert_true(pte_flags(p + K4) & SVIO_PTE_P);
	assert_false(pte_flags(p + K4) & SVIO_PTE_RW);
	/* ... and a later write to that page is refused too. */
	assert_int_equal(request(p + K4, true, true, 3), SVIO_PAGE_RESP_INVALID);
	/* mprotect made it writable: the cache is re-read on the miss. */
	assert_int_equal(mprotect(p, K4, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(request(p, true, true, 4), SVIO_PAGE_RESP_SUCCESS);
	assert_true(pte_flags(p) & SVIO_PTE_RW);
	munmap(p, 2 * K4);
}

static void test_groups_answer_once(void **state)
{
	char *buf = aligned_alloc(K4, K4);
	void *gone = mmap(NULL, K4, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct svio_page_req req = {
		.sid = dev.dma.sid, .pasid = 0x7ffff, .addr = 0x1000, .read = true, .last = true
	};

	(void)state;
	assert_non_null(buf);
	munmap(gone, K4);
	/* Not last: no answer; the group's failure is kept for its last request. */
	assert_int_equal(request(gone, false, false, 9), -1);
	assert_int_equal(request(buf, false, true, 9), SVIO_PAGE_RESP_INVALID);
	/* Forgotten once answered. */
	assert_int_equal(request(buf, false, true, 9), SVIO_PAGE_RESP_SUCCESS);
	/* A PASID nobody owns. */
	svio_iommu_page_request(&f0.iommu, &req);
	assert_int_equal(fake_log_at(fake_log_len() - 1).code, SVIO_PAGE_RESP_INVALID);
	free(buf);
}

static void test_without_sva_only_mapped(void **state)
{
	char *buf = aligned_alloc(K4, K4);

	(void)state;
	assert_non_null(buf);
	assert_int_equal(request(buf, false, true, 1), SVIO_PAGE_RESP_INVALID);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_malloc_buffer_is_faulted_in, setup_sva,
						teardown),
		cmocka_unit_test_setup_teardown(test_response_may_report_queue_error, setup_sva,
						teardown),
		cmocka_unit_test_setup_teardown(test_unmapped_address_fails, setup_sva, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_page, setup_sva, teardown),
		cmocka_unit_test_setup_teardown(test_groups_answer_once, setup_sva, teardown),
		cmocka_unit_test_setup_teardown(test_without_sva_only_mapped, setup_nosva,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
