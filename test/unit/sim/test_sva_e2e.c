/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The whole DMA path on the built-in hardware: scratch devices behind the
 * IOMMU model, the sim backend, the core. Shared virtual addressing through
 * page requests, explicit maps without SVA, strict and lazy unmaps, and the
 * failures a bad address must produce (an error, never a stale translation).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_iommu.h"
#include "svio_test_eal.h"
#include "svio_scratch.h"

#define PAGE 4096u

static struct svio_device *pri_dev;   /* ATS + PRI: faults resolve */
static struct svio_device *nopri_dev; /* no ATS, no PRI: only mapped memory */

static int setup(void **state)
{
	static const char *const args[] = { "--vdev", "sim_scratch0", "--vdev",
					    "sim_scratch1,ats=off,iommu=1", NULL };

	(void)state;
	if (svio_test_eal_init(args) < 0)
		return -1;
	pri_dev = svio_dev_find("sim_scratch0");
	nopri_dev = svio_dev_find("sim_scratch1");
	return pri_dev && nopri_dev ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return svio_eal_cleanup();
}

static struct svio_iommu_stats stats(struct svio_domain *dom)
{
	struct svio_iommu_stats st;

	assert_int_equal(svio_iommu_stats_get(dom, &st), 0);
	return st;
}

static void assert_filled(const uint8_t *buf, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != v)
			fail_msg("byte %zu is %#x, expected %#x", i, buf[i], v);
	}
}

static void test_fault_in_malloc(void **state)
{
	struct svio_domain *dom = svio_domain_default();
	struct svio_iommu_stats before = stats(dom), after;
	size_t len = 8 * PAGE;
	uint8_t *buf = aligned_alloc(PAGE, len);
	uint64_t sum = 0;

	(void)state;
	assert_non_null(buf);
	memset(buf, 0, len);
	assert_int_equal(svio_scratch_dma(pri_dev, (uintptr_t)buf, len, true, 0x3c, NULL), 0);
	assert_filled(buf, len, 0x3c);
	assert_int_equal(svio_scratch_dma(pri_dev, (uintptr_t)buf, len, false, 0, &sum), 0);
	assert_int_equal(sum, 0x3cull * len);
	after = stats(dom);
	assert_true(after.page_requests >= before.page_requests + 8);
	assert_int_equal(after.page_faults_failed, before.page_faults_failed);
	assert_int_equal(after.stale_uses, 0);
	/* An unaligned stretch inside a page works too. */
	assert_int_equal(svio_scratch_dma(pri_dev, (uintptr_t)buf + 100, 50, true, 0x11, NULL), 0);
	assert_int_equal(buf[99], 0x3c);
	assert_int_equal(buf[100], 0x11);
	assert_int_equal(buf[149], 0x11);
	assert_int_equal(buf[150], 0x3c);
	assert_int_equal(svio_dma_unmap(dom, (uintptr_t)buf, len), 0);
	free(buf);
}

static void test_bad_addresses(void **state)
{
	struct svio_domain *dom = svio_domain_default();
	struct svio_iommu_stats before = stats(dom), after;
	uint8_t *gone, *ro;
	uint64_t sum = 1;

	(void)state;
	/* An address the process does not map. */
	gone = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(gone != MAP_FAILED);
	assert_int_equal(munmap(gone, 2 * PAGE), 0);
	assert_int_equal(svio_scratch_dma(pri_dev, (uintptr_t)gone, PAGE, true, 0x77, NULL),
			 -EFAULT);
	assert_int_equal(svio_scratch_dma(pri_dev, (uintptr_t)gone, PAGE, false, 0, &sum), -EFAULT);

	/* A read-only page: the device may read it, never write it. */
	ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED);
	assert_int_equal(svio_scratch_dma(pri_dev, (uintptr_t)ro, PAGE, true, 0x77, NULL), -EFAULT);
	assert_int_equal(svio_scratch_dma(pri_dev, (uintptr_t)ro, PAGE, false, 0, &sum), 0);
	assert_int_equal(sum, 0);
	/* Still refused after a successful read mapped it read-only. */
	assert_int_equal(svio_scratch_dma(pri_dev, (uintptr_t)ro, PAGE, true, 0x77, NULL), -EFAULT);
	assert_int_equal(ro[0], 0);

	after = stats(dom);
	assert_true(after.page_faults_failed >= before.page_faults_failed + 3);
	assert_int_equal(after.stale_uses, 0);
	svio_dma_unmap(dom, (uintptr_t)ro, PAGE);
	munmap(ro, PAGE);
}

static void test_no_pri_needs_map(void **state)
{
	struct svio_domain *dom = svio_domain_default();
	uint8_t *buf = aligned_alloc(PAGE, 4 * PAGE);
	uint64_t iova;

	(void)state;
	assert_non_null(buf);
	memset(buf, 0, 4 * PAGE);
	/* No page requests without PRI: unmapped memory is out of reach. */
	assert_int_equal(svio_scratch_dma(nopri_dev, (uintptr_t)buf, PAGE, true, 1, NULL), -EFAULT);
	assert_int_equal(svio_dma_map(dom, buf, 4 * PAGE, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(iova, (uintptr_t)buf); /* SVA: iova == va */
	assert_int_equal(svio_scratch_dma(nopri_dev, iova, 4 * PAGE, true, 0x42, NULL), 0);
	assert_filled(buf, 4 * PAGE, 0x42);
	/* Strict unmap: the next DMA must miss, never use the old translation. */
	assert_int_equal(svio_dma_unmap(dom, iova, 4 * PAGE), 0);
	assert_int_equal(svio_scratch_dma(nopri_dev, iova, PAGE, true, 0x43, NULL), -EFAULT);
	assert_filled(buf, 4 * PAGE, 0x42);
	assert_int_equal(stats(dom).stale_uses, 0);
	free(buf);
}

/* Move both devices into @p to, away from @p from. */
static void move_devices(struct svio_domain *from, struct svio_domain *to)
{
	assert_int_equal(svio_domain_detach(from, pri_dev), 0);
	assert_int_equal(svio_domain_detach(from, nopri_dev), 0);
	assert_int_equal(svio_domain_attach(to, pri_dev), 0);
	assert_int_equal(svio_domain_attach(to, nopri_dev), 0);
}

/* A domain of its own for one test, with both devices moved onto it. */
static struct svio_domain *domain_with_devices(bool sva)
{
	struct svio_iommu_config cfg;
	struct svio_domain *dom;

	svio_iommu_config_default(&cfg);
	cfg.sva = sva;
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	move_devices(svio_domain_default(), dom);
	return dom;
}

static void domain_done(struct svio_domain *dom)
{
	move_devices(dom, svio_domain_default());
	svio_domain_destroy(dom);
}

static void test_sva_off(void **state)
{
	struct svio_domain *dom = domain_with_devices(false);
	uint8_t *buf = aligned_alloc(PAGE, 2 * PAGE);
	uint64_t iova;

	(void)state;
	memset(buf, 0, 2 * PAGE);
	/* Process addresses mean nothing to the device now. */
	assert_int_equal(svio_scratch_dma(pri_dev, (uintptr_t)buf, PAGE, true, 9, NULL), -EFAULT);
	assert_int_equal(svio_dma_map(dom, buf, 2 * PAGE, SVIO_DMA_RW, &iova), 0);
	assert_true(iova != (uintptr_t)buf);
	assert_int_equal(svio_scratch_dma(pri_dev, iova, 2 * PAGE, true, 0x66, NULL), 0);
	assert_int_equal(svio_scratch_dma(nopri_dev, iova + PAGE, 16, true, 0x67, NULL), 0);
	assert_filled(buf, PAGE, 0x66);
	assert_int_equal(buf[PAGE], 0x67);
	assert_int_equal(svio_dma_unmap(dom, iova, 2 * PAGE), 0);
	assert_int_equal(svio_scratch_dma(pri_dev, iova, PAGE, true, 9, NULL), -EFAULT);
	assert_int_equal(stats(dom).stale_uses, 0);
	domain_done(dom);
	free(buf);
}

/*
 * Nothing pins memory for the built-in model, so a map must find the whole
 * range mapped by the process with the access the device needs; otherwise the
 * model would fault on it, not the caller.
 */
static void test_map_needs_process_memory(void **state)
{
	struct svio_domain *dom = domain_with_devices(false);
	uint8_t *area, *fresh;
	uint64_t iova;

	(void)state;
	area = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(area != MAP_FAILED);
	memset(area, 0x11, 4 * PAGE);
	/* Page 1 read-only, page 3 gone: three mappings and a hole. */
	assert_int_equal(mprotect(area + PAGE, PAGE, PROT_READ), 0);
	assert_int_equal(munmap(area + 3 * PAGE, PAGE), 0);
	/*
	 * Page 1 is never mapped (mmap_min_addr): a sure miss, which re-reads the
	 * process's maps, so what follows does not depend on an older reading.
	 */
	assert_int_equal(svio_dma_map(dom, (void *)(uintptr_t)PAGE, PAGE, SVIO_DMA_READ, &iova),
			 -EFAULT);

	assert_int_equal(svio_dma_map(dom, area, 4 * PAGE, SVIO_DMA_READ, &iova), -EFAULT);
	assert_int_equal(svio_dma_map(dom, area, 2 * PAGE, SVIO_DMA_WRITE, &iova), -EFAULT);
	assert_int_equal(svio_dma_map(dom, area + PAGE, PAGE, SVIO_DMA_RW, &iova), -EFAULT);
	assert_int_equal(stats(dom).maps, 0);
	/* Across two adjacent mappings that both allow it: fine. */
	assert_int_equal(svio_dma_map(dom, area, 3 * PAGE, SVIO_DMA_READ, &iova), 0);
	assert_int_equal(svio_dma_unmap(dom, iova, 3 * PAGE), 0);
	assert_int_equal(svio_dma_map(dom, area + 2 * PAGE, PAGE, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(svio_scratch_dma(nopri_dev, iova, PAGE, true, 0x5a, NULL), 0);
	assert_int_equal(area[2 * PAGE + 7], 0x5a);
	assert_int_equal(svio_dma_unmap(dom, iova, PAGE), 0);
	/* Memory mapped after the process's maps were last read is found by a re-read. */
	fresh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(fresh != MAP_FAILED);
	assert_int_equal(svio_dma_map(dom, fresh, PAGE, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(svio_dma_unmap(dom, iova, PAGE), 0);
	assert_int_equal(stats(dom).stale_uses, 0);
	munmap(fresh, PAGE);
	munmap(area, 3 * PAGE);
	domain_done(dom);
}

static int released;

static void count_release(void *arg)
{
	(void)arg;
	released++;
}

static void test_lazy_quarantine(void **state)
{
	struct svio_domain *base = svio_domain_default(), *dom;
	struct svio_iommu_config cfg;
	uint8_t *buf = aligned_alloc(PAGE, 4 * PAGE);
	uint64_t iova;
	unsigned int i;

	(void)state;
	svio_iommu_config_default(&cfg);
	cfg.policy = SVIO_FLUSH_LAZY;
	cfg.flush_batch = 64;
	cfg.flush_timeout_us = 10000000; /* only the batch size or sync flush here */
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	move_devices(base, dom);
	released = 0;
	for (i = 0; i < 4; i++) {
		uint8_t *p = buf + i * PAGE;

		assert_int_equal(svio_dma_map(dom, p, PAGE, SVIO_DMA_RW, &iova), 0);
		assert_int_equal(svio_scratch_dma(nopri_dev, iova, PAGE, true, (uint8_t)i, NULL),
				 0);
		assert_int_equal(svio_dma_unmap_release(dom, iova, PAGE, count_release, NULL), 0);
	}
	/* Deferred: the memory stays quarantined until the flush completes. */
	assert_int_equal(released, 0);
	assert_int_equal(stats(dom).desc_wait, 0);
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(released, 4);
	assert_int_equal(stats(dom).batches, 1);
	for (i = 0; i < 4; i++)
		assert_int_equal(svio_scratch_dma(nopri_dev, (uintptr_t)buf + i * PAGE, PAGE, true,
						  0xee, NULL),
				 -EFAULT);
	assert_int_equal(buf[3 * PAGE], 3);
	assert_int_equal(stats(dom).stale_uses, 0);
	move_devices(dom, base);
	svio_domain_destroy(dom);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_in_malloc),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_no_pri_needs_map),
		cmocka_unit_test(test_sva_off),
		cmocka_unit_test(test_lazy_quarantine),
		cmocka_unit_test(test_map_needs_process_memory),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
