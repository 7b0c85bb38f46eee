/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Nested stage 1 with DPDK memory (legacy memory, --no-huge), against the
 * mock kernel: the first attach puts every memseg in stage 2 (IOVA = VA), and
 * svio_domain_map_dpdk_memory() maps it in the core's stage-1 table, so an
 * rte_malloc() buffer is reachable without a map of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "svio_dev.h"
#include "svio_iommu.h"
#include "svio_iommu_backend.h"
#include "iommufd_backend.h"
#include "mock_kernel.h"
#include "svio_test_dpdk_mem.h"

#define K4 4096u

/* Bytes the IOAS maps inside DPDK memory, read-write at IOVA = VA. */
static uint64_t stage2_dpdk_bytes(void)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < mock.n_calls; i++) {
		const struct mock_call *c = &mock.calls[i];

		if (c->req != SVIO_IOMMU_IOAS_MAP || c->iova != c->va ||
		    rte_mem_virt2memseg_list((void *)(uintptr_t)c->va) == NULL)
			continue;
		assert_int_equal(c->flags, SVIO_IOMMU_IOAS_MAP_FIXED_IOVA |
						   SVIO_IOMMU_IOAS_MAP_READABLE |
						   SVIO_IOMMU_IOAS_MAP_WRITEABLE);
		n += c->len;
	}
	return n;
}

static void test_dpdk_memory_both_stages(void **state)
{
	struct svio_device dev = { .name = "0000:00:04.0" };
	struct svio_iommufd_dev idev;
	struct svio_iommu_config cfg;
	struct svio_domain *dom;
	void *buf = rte_malloc("nest", 16 * K4, K4);
	uint64_t iova;
	int fd = open("/dev/null", O_RDWR);

	(void)state;
	assert_non_null(buf);
	assert_true(fd >= 0);
	mock_reset();
	mock.nest = true;
	svio_iommufd_set_ioctl(mock_ioctl);
	svio_iommufd_set_path("/dev/null");
	svio_iommu_config_default(&cfg);
	assert_true(cfg.sva);
	/* svio_eal_init()'s order: domain, probe (bind, attach), then DPDK memory. */
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	assert_int_equal(svio_iommufd_bind(&idev, &dev, fd), 0);
	assert_true(svio_iommufd_iommu()->caps.first_stage);
	/* DPDK memory goes into stage 2 at the first attach, once DPDK is up. */
	assert_int_equal(stage2_dpdk_bytes(), 0);
	assert_int_equal(svio_domain_attach(dom, &dev), 0);
	assert_true(svio_test_dpdk_bytes() > 0 && svio_test_dpdk_bytes() != UINT64_MAX);
	assert_true(stage2_dpdk_bytes() == svio_test_dpdk_bytes());
	assert_int_equal(svio_domain_map_dpdk_memory(dom), 0);
	/* Stage 1 has it now: a map of a DPDK buffer is refused as already mapped. */
	assert_int_equal(svio_dma_map(dom, buf, 16 * K4, SVIO_DMA_RW, &iova), -EEXIST);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_INVALIDATE), 0);

	svio_domain_unmap_dpdk_memory(dom);
	assert_int_equal(svio_domain_detach(dom, &dev), 0);
	svio_domain_destroy(dom);
	svio_iommufd_unbind(&idev);
	assert_null(svio_iommufd_iommu());
	svio_iommufd_set_ioctl(NULL);
	svio_iommufd_set_path(NULL);
	close(fd);
	rte_free(buf);
}

/* Stage 2 cannot take DPDK memory: the attach fails and says why; a later one retries. */
static void test_dpdk_memory_map_fails_attach(void **state)
{
	struct svio_device dev = { .name = "0000:00:04.0" };
	struct svio_iommufd_dev idev;
	struct svio_iommu_config cfg;
	struct svio_domain *dom;
	int fd = open("/dev/null", O_RDWR);

	(void)state;
	assert_true(fd >= 0);
	mock_reset();
	mock.nest = true;
	svio_iommufd_set_ioctl(mock_ioctl);
	svio_iommufd_set_path("/dev/null");
	svio_iommu_config_default(&cfg);
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	assert_int_equal(svio_iommufd_bind(&idev, &dev, fd), 0);
	log_capture_begin();
	/* The attach's first ioctl is the stage-2 map of DPDK memory. */
	mock.fail_nth = mock.n_calls + 1;
	mock.fail_errno = ENOMEM;
	assert_int_equal(svio_domain_attach(dom, &dev), -ENOMEM);
	assert_true(log_contains("DPDK memory not mappable in stage 2"));
	assert_int_equal(mock.calls[mock.fail_nth - 1].req, SVIO_IOMMU_IOAS_MAP);
	assert_int_equal(mock.attached, 0);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_ALLOC), 1); /* the parent only */
	log_capture_end();

	mock.fail_nth = 0;
	assert_int_equal(svio_domain_attach(dom, &dev), 0);
	assert_true(stage2_dpdk_bytes() == svio_test_dpdk_bytes());
	assert_int_equal(svio_domain_map_dpdk_memory(dom), 0);

	svio_domain_unmap_dpdk_memory(dom);
	assert_int_equal(svio_domain_detach(dom, &dev), 0);
	svio_domain_destroy(dom);
	svio_iommufd_unbind(&idev);
	svio_iommufd_set_ioctl(NULL);
	svio_iommufd_set_path(NULL);
	close(fd);
}

int main(void)
{
	char *argv[] = { "test_iommufd_nest_dpdk",
			 "--no-huge",
			 "-m",
			 "64",
			 "--no-shconf",
			 "--no-telemetry",
			 "--no-pci",
			 "--log-level=*:warning",
			 NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpdk_memory_both_stages),
		cmocka_unit_test(test_dpdk_memory_map_fails_attach),
	};
	int rc;

	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
		fprintf(stderr, "test_iommufd_nest_dpdk: rte_eal_init failed\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
