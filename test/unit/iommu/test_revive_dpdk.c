/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Revived maps of DPDK memory: with --no-huge DPDK's memory is legacy (never
 * given back, no memory events), so a buffer from rte_malloc() qualifies
 * without registration. The buffer is 16 pages: too large for the page
 * frame check, so only the memseg rule can make it revivable. Memory outside
 * DPDK's lists (and not registered) of the same size is not revived.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_malloc.h>

#include "svio_iommu.h"
#include "fake_iommu.h"
#include "svio_test_eal.h"

#define K4  UINT64_C(0x1000)
#define LEN (16 * K4)

static struct fake_iommu k;
static struct svio_device dev;
static struct svio_domain *dom;

static int setup(void **state)
{
	struct svio_iommu_caps kc = fake_caps_kmap();
	struct svio_iommu_config cfg;

	(void)state;
	if (fake_iommu_init(&k, 4, &kc) < 0)
		return -1;
	fake_dev_init(&dev, &k, "k4", 0x400, false);
	svio_iommu_config_default(&cfg);
	cfg.policy = SVIO_FLUSH_LAZY;
	cfg.flush_timeout_us = 60000000;
	if (svio_domain_create(&cfg, &dom) < 0 || svio_domain_attach(dom, &dev) < 0)
		return -1;
	fake_log_reset();
	svio_iommu_stats_reset(dom);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	svio_domain_destroy(dom);
	dom = NULL;
	return fake_iommu_fini(&k);
}

/* Map, unmap, map again: @return how many of the two maps reached the kernel. */
static unsigned int map_twice(void *buf)
{
	uint64_t iova;

	assert_int_equal(svio_dma_map(dom, buf, LEN, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(svio_dma_unmap(dom, iova, LEN), 0);
	assert_int_equal(svio_dma_map(dom, buf, LEN, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(svio_dma_unmap(dom, iova, LEN), 0);
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(fake_mapped_bytes(&k), 0);
	return fake_log_count(EV_MAP, 4, -1);
}

static void test_dpdk_memory_is_revived(void **state)
{
	void *buf = rte_malloc("revive", LEN, K4);
	struct svio_iommu_stats st;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(map_twice(buf), 1);
	assert_int_equal(fake_log_count(EV_UNMAP, 4, -1), 1);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.revived_maps, 1);
	rte_free(buf);
}

static void test_other_memory_is_not(void **state)
{
	void *buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct svio_iommu_stats st;

	(void)state;
	assert_true(buf != MAP_FAILED);
	assert_int_equal(map_twice(buf), 2);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.revived_maps, 0);
	munmap(buf, LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dpdk_memory_is_revived, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_memory_is_not, setup, teardown),
	};
	int rc;

	if (svio_test_dpdk_init() < 0) {
		fprintf(stderr, "test_iommu_revive_dpdk: rte_eal_init failed\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
