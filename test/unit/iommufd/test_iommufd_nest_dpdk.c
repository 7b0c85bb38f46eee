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
#include "iommufd_priv.h"
#include "mock_kernel.h"
#include "svio_test_dpdk_mem.h"
#include "svio_test_eal.h"

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
	mock_install(mock_ioctl);
	mock.nest = true;
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
	mock_uninstall();
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
	mock_install(mock_ioctl);
	mock.nest = true;
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
	mock_uninstall();
	close(fd);
}

struct run {
	uint64_t va, len;
};

static int first_run(const struct rte_memseg_list *msl, const struct rte_memseg *ms, size_t len,
		     void *arg)
{
	struct run *r = arg;

	if (msl->external)
		return 0;
	r->va = (uint64_t)(uintptr_t)ms->addr;
	r->len = len;
	return 1;
}

/* Nesting on the mock kernel: a domain and one bound device, not attached yet. */
static void nest_up(struct svio_device *dev, struct svio_iommufd_dev *idev, int fd,
		    struct svio_domain **dom)
{
	struct svio_iommu_config cfg;

	mock_install(mock_ioctl);
	mock.nest = true;
	svio_iommu_config_default(&cfg);
	assert_int_equal(svio_domain_create(&cfg, dom), 0);
	assert_int_equal(svio_iommufd_bind(idev, dev, fd), 0);
}

static void nest_down(struct svio_device *dev, struct svio_iommufd_dev *idev,
		      struct svio_domain *dom)
{
	svio_domain_unmap_dpdk_memory(dom);
	assert_int_equal(svio_domain_detach(dom, dev), 0);
	svio_domain_destroy(dom);
	svio_iommufd_unbind(idev);
	mock_uninstall();
	log_capture_end();
}

/*
 * The IOAS already maps DPDK memory: accepted when that is the
 * application's own svio_iommufd_map() of it, refused otherwise (a stale
 * map may pin other pages than the memory now at that address).
 */
static void test_dpdk_memory_exists(void **state)
{
	struct svio_device dev = { .name = "0000:00:04.0" };
	struct svio_iommufd_dev idev;
	struct svio_domain *dom;
	struct run run = { 0 };
	int fd = open("/dev/null", O_RDWR);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(rte_memseg_contig_walk(first_run, &run), 1);

	/* Not the application's: the attach fails and says why. */
	nest_up(&dev, &idev, fd, &dom);
	log_capture_begin();
	mock.fail_nth = mock.n_calls + 1;
	mock.fail_errno = EEXIST;
	assert_int_equal(svio_domain_attach(dom, &dev), -EEXIST);
	assert_true(log_contains("not through svio_iommufd_map()"));
	assert_int_equal(mock.attached, 0);
	mock.fail_nth = 0;
	svio_domain_destroy(dom);
	svio_iommufd_unbind(&idev);
	log_capture_end();

	/* The application mapped that run itself first: the attach goes on. */
	nest_up(&dev, &idev, fd, &dom);
	assert_int_equal(svio_iommufd_map(svio_iommufd_iommu(), run.va, (void *)(uintptr_t)run.va,
					  run.len, SVIO_DMA_RW),
			 0);
	mock.fail_nth = mock.n_calls + 1;
	mock.fail_errno = EEXIST;
	assert_int_equal(svio_domain_attach(dom, &dev), 0);
	mock.fail_nth = 0;
	assert_int_equal(svio_domain_map_dpdk_memory(dom), 0);
	nest_down(&dev, &idev, dom);
	close(fd);
}

/* DPDK gives memory back and stage 2 cannot drop it: counted, and stage 1 may not point there. */
static void test_dpdk_free_unmap_fails(void **state)
{
	struct svio_device dev = { .name = "0000:00:04.0" };
	struct svio_iommufd_dev idev;
	struct svio_domain *dom;
	void *buf = rte_malloc("nest", 16 * K4, K4);
	const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(buf);
	uint64_t failures = svio_iommufd_stage2_unmap_failures(), iova;
	int fd = open("/dev/null", O_RDWR);

	(void)state;
	assert_true(fd >= 0 && buf != NULL && msl != NULL);
	assert_int_equal(msl->page_sz, K4);
	nest_up(&dev, &idev, fd, &dom);
	assert_int_equal(svio_domain_attach(dom, &dev), 0);
	assert_int_equal(svio_dma_map(dom, buf, K4, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(svio_dma_unmap(dom, iova, K4), 0);

	log_capture_begin();
	mock.fail_nth = mock.n_calls + 1;
	mock.fail_errno = EBUSY;
	iommufd_nest_dpdk_event(RTE_MEM_EVENT_FREE, buf, K4, NULL);
	mock.fail_nth = 0;
	assert_int_equal(mock.calls[mock.n_calls - 1].req, SVIO_IOMMU_IOAS_UNMAP);
	assert_true(svio_iommufd_stage2_unmap_failures() == failures + 1);
	assert_true(log_contains("poisoned"));
	/* A reused VA there would be backed by the stale pinned page: refused. */
	assert_int_equal(svio_dma_map(dom, buf, K4, SVIO_DMA_RW, &iova), -EFAULT);

	nest_down(&dev, &idev, dom);
	close(fd);
	rte_free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpdk_memory_both_stages),
		cmocka_unit_test(test_dpdk_memory_map_fails_attach),
		cmocka_unit_test(test_dpdk_memory_exists),
		cmocka_unit_test(test_dpdk_free_unmap_fails),
	};
	int rc;

	if (svio_test_dpdk_init() < 0) {
		fprintf(stderr, "test_iommufd_nest_dpdk: rte_eal_init failed\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
