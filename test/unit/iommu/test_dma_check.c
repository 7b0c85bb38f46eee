/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio_dma_check(): whether the domain's record maps a range with the access
 * the device needs (mapped, unmapped, read-only asked for write, a span over
 * two maps or over a hole), and svio_domain_sva_mapped_only(), which says
 * when the NVMe driver must ask (SVA with an instance that owns its table).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svio_iommu.h"
#include "iommu_private.h"
#include "fake_iommu.h"

#define K4 UINT64_C(0x1000)
/* Addresses are never dereferenced: the fakes do no DMA. */
#define VA(off)	  ((void *)(uintptr_t)(UINT64_C(0x500000000000) + (off)))
#define IOVA(off) (UINT64_C(0x500000000000) + (off))

static struct fake_iommu kmap, first;
static struct svio_device kdev, fdev;
static struct svio_domain *dom;

static int make_domain(bool sva)
{
	struct svio_iommu_config cfg;

	svio_iommu_config_default(&cfg);
	cfg.sva = sva;
	return svio_domain_create(&cfg, &dom);
}

static int setup(void **state)
{
	struct svio_iommu_caps kc = fake_caps_kmap(), fc = fake_caps();

	(void)state;
	fake_log_reset();
	if (fake_iommu_init(&kmap, 2, &kc) < 0 || fake_iommu_init(&first, 0, &fc) < 0)
		return -1;
	fake_dev_init(&kdev, &kmap, "kmap", 0x200, true);
	fake_dev_init(&fdev, &first, "first", 0x100, true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	svio_domain_destroy(dom);
	dom = NULL;
	if (fake_iommu_fini(&kmap) < 0 || fake_iommu_fini(&first) < 0)
		return -1;
	return 0;
}

/* A domain with SVA on the table-owning instance (as iommufd). */
static void sva_on_kmap(void)
{
	assert_int_equal(make_domain(true), 0);
	assert_int_equal(svio_domain_attach(dom, &kdev), 0);
}

static void map(uint64_t off, uint64_t len, int prot)
{
	uint64_t iova;

	assert_int_equal(svio_dma_map(dom, VA(off), len, prot, &iova), 0);
	assert_int_equal(iova, IOVA(off));
}

static int check(uint64_t off, size_t len, int prot)
{
	return svio_dma_check(dom, IOVA(off), len, prot);
}

static void test_mapped_only_when_sva_on_a_table_owner(void **state)
{
	(void)state;
	assert_false(svio_domain_sva_mapped_only(NULL));
	assert_int_equal(make_domain(true), 0);
	/* Nothing attached yet, then the built-in kind (page requests): not needed. */
	assert_false(svio_domain_sva_mapped_only(dom));
	assert_int_equal(svio_domain_attach(dom, &fdev), 0);
	assert_false(svio_domain_sva_mapped_only(dom));
	svio_domain_destroy(dom);
	dom = NULL;

	sva_on_kmap();
	assert_true(svio_domain_sva_mapped_only(dom));
	svio_domain_destroy(dom);
	dom = NULL;

	/* Without SVA every pointer is mapped per command. */
	assert_int_equal(make_domain(false), 0);
	assert_int_equal(svio_domain_attach(dom, &kdev), 0);
	assert_false(svio_domain_sva_mapped_only(dom));
}

static void test_mapped(void **state)
{
	(void)state;
	sva_on_kmap();
	map(0, 4 * K4, SVIO_DMA_RW);
	assert_int_equal(check(0, 4 * K4, SVIO_DMA_READ), 0);
	assert_int_equal(check(0, 4 * K4, SVIO_DMA_WRITE), 0);
	assert_int_equal(check(0, 4 * K4, SVIO_DMA_RW), 0);
	/* Not page aligned, inside the map; the last byte of it. */
	assert_int_equal(check(100, 2 * K4 + 7, SVIO_DMA_RW), 0);
	assert_int_equal(check(4 * K4 - 1, 1, SVIO_DMA_WRITE), 0);
}

static void test_unmapped(void **state)
{
	(void)state;
	sva_on_kmap();
	assert_int_equal(check(0, 1, SVIO_DMA_READ), -EFAULT);
	map(0, 2 * K4, SVIO_DMA_RW);
	/* One byte past the map, a span that runs out of it. */
	assert_int_equal(check(2 * K4, 1, SVIO_DMA_READ), -EFAULT);
	assert_int_equal(check(K4, 2 * K4, SVIO_DMA_READ), -EFAULT);
	assert_int_equal(check(0, 1, SVIO_DMA_READ), 0);
	/* Unmapped again: refused again. */
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), 2 * K4), 0);
	assert_int_equal(check(0, 1, SVIO_DMA_READ), -EFAULT);
}

static void test_read_only_asked_for_write(void **state)
{
	(void)state;
	sva_on_kmap();
	map(0, 2 * K4, SVIO_DMA_READ);
	/* The device may read it (a write command), not write it (a read command). */
	assert_int_equal(check(0, 2 * K4, SVIO_DMA_READ), 0);
	assert_int_equal(check(0, 2 * K4, SVIO_DMA_WRITE), -EFAULT);
	assert_int_equal(check(K4, 8, SVIO_DMA_RW), -EFAULT);
	/* Only the read-only part of a span makes it fail. */
	map(2 * K4, K4, SVIO_DMA_RW);
	assert_int_equal(check(2 * K4, K4, SVIO_DMA_WRITE), 0);
	assert_int_equal(check(K4 + 8, K4, SVIO_DMA_WRITE), -EFAULT);
}

static void test_span_over_two_maps_and_a_hole(void **state)
{
	(void)state;
	sva_on_kmap();
	map(0, K4, SVIO_DMA_RW);
	map(K4, 2 * K4, SVIO_DMA_RW);
	map(4 * K4, K4, SVIO_DMA_RW); /* page 3 is a hole */
	assert_int_equal(check(K4 / 2, K4, SVIO_DMA_RW), 0);
	assert_int_equal(check(0, 3 * K4, SVIO_DMA_RW), 0);
	assert_int_equal(check(2 * K4, 2 * K4 + 1, SVIO_DMA_READ), -EFAULT);
	assert_int_equal(check(0, 5 * K4, SVIO_DMA_READ), -EFAULT);
	/* The hole alone, and each side of it. */
	assert_int_equal(check(3 * K4, K4, SVIO_DMA_READ), -EFAULT);
	assert_int_equal(check(3 * K4 - 1, 1, SVIO_DMA_READ), 0);
	assert_int_equal(check(4 * K4, K4, SVIO_DMA_READ), 0);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	sva_on_kmap();
	map(0, K4, SVIO_DMA_RW);
	assert_int_equal(svio_dma_check(NULL, IOVA(0), K4, SVIO_DMA_READ), -EINVAL);
	assert_int_equal(check(0, 0, SVIO_DMA_READ), -EINVAL);
	assert_int_equal(svio_dma_check(dom, UINT64_MAX - 10, 100, SVIO_DMA_READ), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mapped_only_when_sva_on_a_table_owner, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_asked_for_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_span_over_two_maps_and_a_hole, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
