/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Nested stage 1 in svio_eal_init()'s order, against the mock kernel: the
 * device is bound before rte_eal_init() (add_devices checks devices before
 * DPDK starts), attached after it. Stage 2 must still end up holding every
 * DPDK memseg, so svio_domain_map_dpdk_memory() can put it in stage 1.
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
#include "svio_test_eal.h"

#define K4 4096u

/* Bytes the IOAS maps inside DPDK memory at IOVA = VA. */
static uint64_t stage2_dpdk_bytes(void)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < mock.n_calls; i++) {
		const struct mock_call *c = &mock.calls[i];

		if (c->req == SVIO_IOMMU_IOAS_MAP && c->iova == c->va &&
		    rte_mem_virt2memseg_list((void *)(uintptr_t)c->va) != NULL)
			n += c->len;
	}
	return n;
}

static void test_bind_before_eal_init(void **state)
{
	struct svio_device dev = { .name = "0000:00:04.0" };
	struct svio_iommufd_dev idev;
	struct svio_iommu_config cfg;
	struct svio_domain *dom;
	uint64_t iova;
	void *buf;
	int fd = open("/dev/null", O_RDWR);

	(void)state;
	assert_true(fd >= 0);
	mock_install(mock_ioctl);
	mock.nest = true;

	/* add_devices: bind while DPDK is not up yet. */
	assert_int_equal(svio_iommufd_bind(&idev, &dev, fd), 0);
	assert_true(svio_iommufd_iommu()->caps.first_stage);

	assert_true(svio_test_dpdk_init() >= 0);
	buf = rte_malloc("nest", 16 * K4, K4);
	assert_non_null(buf);

	/* Domain, probe (attach), then DPDK memory, as svio_eal_init() does. */
	svio_iommu_config_default(&cfg);
	assert_true(cfg.sva);
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	assert_int_equal(svio_domain_attach(dom, &dev), 0);
	assert_true(svio_test_dpdk_bytes() > 0 && svio_test_dpdk_bytes() != UINT64_MAX);
	assert_true(stage2_dpdk_bytes() == svio_test_dpdk_bytes());
	assert_int_equal(svio_domain_map_dpdk_memory(dom), 0);
	/* Stage 1 has the whole of DPDK memory now, this buffer included. */
	assert_int_equal(svio_dma_map(dom, buf, 16 * K4, SVIO_DMA_RW, &iova), -EEXIST);

	svio_domain_unmap_dpdk_memory(dom);
	assert_int_equal(svio_domain_detach(dom, &dev), 0);
	svio_domain_destroy(dom);
	svio_iommufd_unbind(&idev);
	assert_null(svio_iommufd_iommu());
	mock_uninstall();
	close(fd);
	rte_free(buf);
	rte_eal_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_before_eal_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
