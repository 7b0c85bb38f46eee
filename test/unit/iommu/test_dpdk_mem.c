/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK memory on a table-owning instance under SVA: after
 * svio_domain_map_dpdk_memory() every memseg is mapped IOVA = VA, so an
 * rte_malloc() buffer is reachable without a map of its own, and a map of it
 * is refused before any kernel call. Pages a driver mapped first are left to
 * it. Without SVA or without such an instance nothing is mapped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "svio_iommu.h"
#include "fake_iommu.h"
#include "svio_test_dpdk_mem.h"
#include "svio_test_eal.h"

#define K4 UINT64_C(0x1000)

static struct fake_iommu k;
static struct svio_device dev;
static struct svio_domain *dom;

static void make_domain(bool sva, bool attach)
{
	struct svio_iommu_caps kc = fake_caps_kmap();
	struct svio_iommu_config cfg;

	assert_int_equal(fake_iommu_init(&k, 4, &kc), 0);
	fake_dev_init(&dev, &k, "k4", 0x400, false);
	svio_iommu_config_default(&cfg);
	cfg.sva = sva;
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	if (attach)
		assert_int_equal(svio_domain_attach(dom, &dev), 0);
	fake_log_reset();
}

static int teardown(void **state)
{
	(void)state;
	svio_domain_unmap_dpdk_memory(dom);
	svio_domain_destroy(dom);
	dom = NULL;
	return fake_iommu_fini(&k);
}

static void test_memsegs_mapped(void **state)
{
	void *buf = rte_malloc("dpdk_mem", 16 * K4, K4);
	uint64_t iova;

	(void)state;
	assert_non_null(buf);
	make_domain(true, true);
	assert_int_equal(svio_domain_map_dpdk_memory(dom), 0);
	assert_true(svio_test_dpdk_bytes() > 0 && svio_test_dpdk_bytes() != UINT64_MAX);
	assert_int_equal(fake_mapped_bytes(&k), svio_test_dpdk_bytes());
	/* Already reachable: a map of it is refused without asking the kernel. */
	fake_log_reset();
	assert_int_equal(svio_dma_map(dom, buf, 16 * K4, SVIO_DMA_RW, &iova), -EEXIST);
	assert_int_equal(fake_log_count(EV_MAP, 4, -1), 0);
	/* A second domain cannot follow DPDK memory too. */
	assert_int_equal(svio_domain_map_dpdk_memory(dom), -EBUSY);
	rte_free(buf);
}

static void test_driver_pages_kept(void **state)
{
	void *buf = rte_malloc("dpdk_mem", 4 * K4, K4);
	uint64_t iova;

	(void)state;
	assert_non_null(buf);
	make_domain(true, true);
	/* A driver mapped a ring in DPDK memory before: the rest is filled around it. */
	assert_int_equal(svio_dma_map(dom, buf, 4 * K4, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(svio_domain_map_dpdk_memory(dom), 0);
	assert_int_equal(fake_mapped_bytes(&k), svio_test_dpdk_bytes());
	/* The driver's own map is still its to remove. */
	assert_int_equal(svio_dma_unmap(dom, iova, 4 * K4), 0);
	assert_int_equal(fake_mapped_bytes(&k), svio_test_dpdk_bytes() - 4 * K4);
	rte_free(buf);
}

static void test_nothing_without_sva_or_owner(void **state)
{
	(void)state;
	make_domain(false, true);
	assert_int_equal(svio_domain_map_dpdk_memory(dom), 0);
	assert_int_equal(fake_mapped_bytes(&k), 0);
	assert_int_equal(fake_log_count(EV_MAP, 4, -1), 0);
	assert_int_equal(teardown(NULL), 0);

	make_domain(true, false);
	assert_int_equal(svio_domain_map_dpdk_memory(dom), 0);
	assert_int_equal(fake_log_count(EV_MAP, 4, -1), 0);
}

/* A map that fails fails the call with its own errno, and leaves nothing followed. */
static void test_map_error_returned(void **state)
{
	(void)state;
	make_domain(true, true);
	k.fail_map = -ENOSPC;
	assert_int_equal(svio_domain_map_dpdk_memory(dom), -ENOSPC);
	/* Nothing follows DPDK memory now: a second call may start over. */
	assert_int_equal(svio_domain_map_dpdk_memory(dom), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_memsegs_mapped, teardown),
		cmocka_unit_test_teardown(test_driver_pages_kept, teardown),
		cmocka_unit_test_teardown(test_nothing_without_sva_or_owner, teardown),
		cmocka_unit_test_teardown(test_map_error_returned, teardown),
	};
	int rc;

	if (svio_test_dpdk_init() < 0) {
		fprintf(stderr, "test_iommu_dpdk_mem: rte_eal_init failed\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
