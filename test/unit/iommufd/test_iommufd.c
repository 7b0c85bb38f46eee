/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The iommufd backend: the missing-/dev/iommu path, the whole
 * bind / attach / map / unmap / detach / unbind flow against a mock kernel
 * (PASID attach and its fallback, IOVA ranges re-read after attach), a
 * fail-nth sweep over bind + attach, and real-kernel tests that skip
 * unless /dev/iommu exists (they run in the test/vm guest).
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "svio_dev.h"
#include "svio_iommu.h"
#include "svio_iommu_backend.h"
#include "iommufd_backend.h"
#include "mock_kernel.h"

#define K4 4096u

static struct svio_device dev0, dev1;
static int fd0 = -1, fd1 = -1;
static struct svio_iommufd_dev idev0, idev1;

static int setup_mock(void **state)
{
	(void)state;
	mock_install(mock_ioctl);
	memset(&dev0, 0, sizeof(dev0));
	memset(&dev1, 0, sizeof(dev1));
	snprintf(dev0.name, sizeof(dev0.name), "0000:00:04.0");
	snprintf(dev1.name, sizeof(dev1.name), "0000:00:05.0");
	dev0.dma.pasid = true;
	dev1.dma.pasid = true;
	fd0 = open("/dev/null", O_RDWR);
	fd1 = open("/dev/null", O_RDWR);
	log_capture_begin();
	return fd0 >= 0 && fd1 >= 0 ? 0 : -1;
}

static int teardown_mock(void **state)
{
	(void)state;
	svio_iommufd_unbind(&idev0);
	svio_iommufd_unbind(&idev1);
	close(fd0);
	close(fd1);
	log_capture_end();
	mock_uninstall();
	return 0;
}

static void test_no_dev_iommu(void **state)
{
	struct svio_device dev = { .name = "0000:00:04.0" };
	struct svio_iommufd_dev idev;
	int fd = open("/dev/null", O_RDWR);

	(void)state;
	assert_true(fd >= 0);
	log_capture_begin();
	svio_iommufd_set_path("/nonexistent/svio-test/iommu");
	assert_int_equal(svio_iommufd_bind(&idev, &dev, fd), -ENODEV);
	assert_true(log_contains("/nonexistent/svio-test/iommu does not exist"));
	assert_true(log_contains("CONFIG_IOMMUFD"));
	assert_null(svio_iommufd_iommu());
	assert_int_equal(svio_iommufd_map(NULL, 0, NULL, K4, SVIO_DMA_RW), -ENODEV);
	assert_int_equal(svio_iommufd_iova_ranges(NULL, 0), 0);
	svio_iommufd_set_path(NULL);
	log_capture_end();
	close(fd);
}

static void test_bind_unbind(void **state)
{
	struct svio_iommu *iommu;
	int i;

	(void)state;
	mock.max_pasid_log2 = 20;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	iommu = svio_iommufd_iommu();
	assert_non_null(iommu);
	assert_false(iommu->caps.first_stage);
	assert_false(iommu->caps.ats);
	assert_false(iommu->caps.pri);
	assert_int_equal(iommu->caps.pasid_bits, 20);
	assert_int_equal(iommu->index, SVIO_IOMMUFD_INDEX);
	assert_int_equal(dev0.dma.iommu_index, SVIO_IOMMUFD_INDEX);
	assert_int_equal(idev0.dev_id, 100);
	assert_int_equal(idev0.hw.type, SVIO_IOMMU_HW_INFO_TYPE_INTEL_VTD);
	assert_int_equal(SVIO_VTD_ECAP_DT(idev0.hw.vtd_ecap), 1);
	i = mock_find(SVIO_VFIO_DEVICE_BIND_IOMMUFD, 0);
	assert_true(i >= 0);
	assert_int_equal(mock.calls[i].fd, fd0);
	assert_int_equal(mock.calls[i].argsz, 16);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_ALLOC), 1);

	/* A second device shares the IOAS; the narrower PASID width wins. */
	mock.max_pasid_log2 = 8;
	assert_int_equal(svio_iommufd_bind(&idev1, &dev1, fd1), 0);
	assert_ptr_equal(svio_iommufd_iommu(), iommu);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_ALLOC), 1);
	assert_int_equal(iommu->caps.pasid_bits, 8);

	svio_iommufd_unbind(&idev0);
	assert_non_null(svio_iommufd_iommu());
	svio_iommufd_unbind(&idev1);
	assert_null(svio_iommufd_iommu());
	i = mock_find(SVIO_IOMMU_DESTROY, 0);
	assert_true(i >= 0);
	assert_int_equal(mock.calls[i].id, MOCK_IOAS_ID);
}

static void test_bind_errors(void **state)
{
	(void)state;
	mock.bind_error = -EBUSY;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), -EBUSY);
	assert_true(log_contains("already in use"));
	assert_null(svio_iommufd_iommu()); /* the iommufd opened for it is closed again */
	mock.bind_error = -ENOTTY;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), -ENOTTY);
	assert_true(log_contains("CONFIG_VFIO_DEVICE_CDEV"));
	mock.bind_error = -EPERM;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), -EACCES);
	assert_int_equal(svio_iommufd_bind(NULL, &dev0, fd0), -EINVAL);
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, -1), -EINVAL);
}

static struct svio_domain *make_domain(void)
{
	struct svio_iommu_config cfg;
	struct svio_domain *dom = NULL;

	svio_iommu_config_default(&cfg);
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	return dom;
}

static void test_attach_pasid(void **state)
{
	struct svio_domain *dom;
	uint32_t pasid;
	int i;

	(void)state;
	mock.max_pasid_log2 = 20;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	dom = make_domain();
	pasid = svio_domain_pasid(dom);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_true(idev0.attached);
	assert_true(idev0.pasid_attached);
	assert_int_equal(idev0.pasid, pasid);

	/* A PASID-capable HWPT over the IOAS, RID on it, then the PASID. */
	i = mock_find(SVIO_IOMMU_HWPT_ALLOC, 0);
	assert_true(i >= 0);
	assert_int_equal(mock.calls[i].flags, SVIO_IOMMU_HWPT_ALLOC_PASID);
	assert_int_equal(mock.calls[i].id, MOCK_IOAS_ID);
	i = mock_find(SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0);
	assert_int_equal(mock.calls[i].flags, 0);
	assert_int_equal(mock.calls[i].id, MOCK_HWPT_ID);
	assert_int_equal(mock.calls[i].argsz, 12);
	i = mock_find(SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT, 1);
	assert_int_equal(mock.calls[i].flags, SVIO_VFIO_DEVICE_ATTACH_PASID);
	assert_int_equal(mock.calls[i].id, MOCK_HWPT_ID);
	assert_int_equal(mock.calls[i].pasid, pasid);
	assert_int_equal(mock.calls[i].argsz, 16);

	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	assert_false(idev0.attached);
	i = mock_find(SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT, 0);
	assert_int_equal(mock.calls[i].flags, SVIO_VFIO_DEVICE_DETACH_PASID);
	assert_int_equal(mock.calls[i].pasid, pasid);
	i = mock_find(SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT, 1);
	assert_int_equal(mock.calls[i].flags, 0);
	assert_int_equal(mock.calls[i].argsz, 8);
	i = mock_find(SVIO_IOMMU_DESTROY, 0);
	assert_int_equal(mock.calls[i].id, MOCK_HWPT_ID);
	assert_int_equal(mock.attached, 0);
	assert_int_equal(mock.pasid_attached, 0);
	svio_domain_destroy(dom);
}

static void test_attach_rid_fallback(void **state)
{
	struct svio_domain *dom;
	int i;

	(void)state;
	mock.max_pasid_log2 = 20;
	mock.hwpt_pasid_unsupported = true;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	dom = make_domain();
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_true(idev0.attached);
	assert_false(idev0.pasid_attached);
	assert_true(log_contains("attaching on the requester id"));
	i = mock_find(SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0);
	assert_int_equal(mock.calls[i].id, MOCK_IOAS_ID);
	assert_int_equal(mock.calls[i].flags, 0);
	assert_int_equal(mock_count(SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT), 1);
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	assert_int_equal(mock_count(SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT), 1);

	/* No PASID from the IOMMU (or a pre-6.15 kernel): straight to the RID. */
	mock_reset();
	mock.max_pasid_log2 = 0;
	assert_int_equal(svio_iommufd_bind(&idev1, &dev1, fd1), 0);
	assert_int_equal(svio_domain_attach(dom, &dev1), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_ALLOC), 0);
	assert_true(log_contains("reports no PASID"));
	assert_int_equal(svio_domain_detach(dom, &dev1), 0);
	svio_domain_destroy(dom);
}

static void test_ranges_reread_after_attach(void **state)
{
	struct svio_iommu_iova_range r[4];
	struct svio_domain *dom;
	unsigned int before;

	(void)state;
	mock.range_last = (UINT64_C(1) << 39) - 1; /* the device's IOMMU is narrower */
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	assert_int_equal(svio_iommufd_iova_ranges(r, 4), 2);
	assert_true(r[1].last == UINT64_MAX);
	before = mock.range_reads;
	dom = make_domain();
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_true(mock.range_reads > before);
	assert_int_equal(svio_iommufd_iova_ranges(r, 4), 2);
	assert_true(r[1].last == mock.range_last);
	assert_true(r[0].last == 0xfedfffff);
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_domain_destroy(dom);
}

static void test_map_unmap(void **state)
{
	struct svio_iommu *iommu;
	struct svio_domain *dom;
	uint64_t va = UINT64_C(0x7f0000000000);
	int i;

	(void)state;
	mock.range_last = (UINT64_C(1) << 47) - 1;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	iommu = svio_iommufd_iommu();
	dom = make_domain();
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);

	/* SVA: IOVA == VA, fixed, with the rights asked for. */
	assert_int_equal(iommu->ops->map(iommu, va, (void *)(uintptr_t)va, 8 * K4, SVIO_DMA_RW), 0);
	i = mock_find(SVIO_IOMMU_IOAS_MAP, 0);
	assert_int_equal(mock.calls[i].flags, SVIO_IOMMU_IOAS_MAP_FIXED_IOVA |
						      SVIO_IOMMU_IOAS_MAP_READABLE |
						      SVIO_IOMMU_IOAS_MAP_WRITEABLE);
	assert_int_equal(mock.calls[i].id, MOCK_IOAS_ID);
	assert_true(mock.calls[i].iova == va && mock.calls[i].va == va);
	assert_int_equal(mock.calls[i].len, 8 * K4);
	assert_int_equal(svio_iommufd_map(iommu, va + 8 * K4, (void *)(uintptr_t)(va + 8 * K4), K4,
					  SVIO_DMA_READ),
			 0);
	i = mock_find(SVIO_IOMMU_IOAS_MAP, 1);
	assert_int_equal(mock.calls[i].flags,
			 SVIO_IOMMU_IOAS_MAP_FIXED_IOVA | SVIO_IOMMU_IOAS_MAP_READABLE);

	/* Bad input never reaches the kernel. */
	assert_int_equal(svio_iommufd_map(iommu, va + 1, (void *)(uintptr_t)(va + 1), K4, 1),
			 -EINVAL);
	assert_int_equal(svio_iommufd_map(iommu, va, (void *)(uintptr_t)va, 0, 1), -EINVAL);
	assert_int_equal(svio_iommufd_map(iommu, va, (void *)(uintptr_t)va, K4, 0), -EINVAL);
	assert_int_equal(svio_iommufd_map(iommu, va, (void *)(uintptr_t)va, K4, 0x10), -EINVAL);
	/* The interrupt window and addresses past the device's width are not usable. */
	assert_int_equal(svio_iommufd_map(iommu, 0xfee00000, (void *)0xfee00000, K4, 1), -ERANGE);
	assert_true(log_contains("outside the IOVA ranges"));
	assert_int_equal(
		svio_iommufd_map(iommu, UINT64_C(1) << 47, (void *)(UINT64_C(1) << 47), K4, 1),
		-ERANGE);
	assert_int_equal(svio_iommufd_map(iommu + 1, va, (void *)(uintptr_t)va, K4, 1), -ENODEV);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_MAP), 2);

	/* One unmap may cover both maps: the flush queue merges adjacent ranges. */
	assert_int_equal(iommu->ops->unmap(iommu, va, 9 * K4), 0);
	i = mock_find(SVIO_IOMMU_IOAS_UNMAP, 0);
	assert_true(mock.calls[i].iova == va);
	assert_int_equal(mock.calls[i].len, 9 * K4);
	assert_int_equal(svio_iommufd_unmap(iommu, va, 0), -EINVAL);

	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_domain_destroy(dom);
}

/* Unbound while the core still has it attached: the instance must outlive it. */
/* The IOMMU core drives the IOAS through the instance's map/unmap ops. */
/*
 * A detach the kernel refuses fails with its error and leaves the device
 * attached as far as it still is: the core keeps it, and a retry resumes
 * where the refused step stopped.
 */
static void test_detach_refused(void **state)
{
	struct svio_domain *dom;
	int i;

	(void)state;
	mock.max_pasid_log2 = 20;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	dom = make_domain();
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_true(idev0.pasid_attached);

	/* The PASID detach is refused: nothing changes. */
	mock.n_calls = 0;
	mock.fail_nth = 1;
	mock.fail_errno = EBUSY;
	assert_int_equal(svio_domain_detach(dom, &dev0), -EBUSY);
	assert_int_equal(mock.calls[0].req, SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT);
	assert_int_equal(mock.n_calls, 1);
	assert_true(idev0.attached && idev0.pasid_attached);
	assert_int_equal(mock.attached, 1);
	assert_int_equal(mock.pasid_attached, 1);
	assert_int_equal(mock_count(SVIO_IOMMU_DESTROY), 0);

	/* The PASID goes, the RID detach is refused: its HWPT stays. */
	mock.n_calls = 0;
	mock.fail_nth = 2;
	assert_int_equal(svio_domain_detach(dom, &dev0), -EBUSY);
	assert_int_equal(mock.calls[0].flags, SVIO_VFIO_DEVICE_DETACH_PASID);
	assert_int_equal(mock.calls[1].req, SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT);
	assert_int_equal(mock.n_calls, 2);
	assert_true(idev0.attached);
	assert_false(idev0.pasid_attached);
	assert_int_equal(mock.attached, 1);
	assert_int_equal(mock.pasid_attached, 0);
	assert_int_equal(mock_count(SVIO_IOMMU_DESTROY), 0);

	/* The core still has the device; the retry detaches the RID and destroys the HWPT. */
	mock.n_calls = 0;
	mock.fail_nth = 0;
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	assert_false(idev0.attached);
	assert_int_equal(mock_count(SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT), 1);
	i = mock_find(SVIO_IOMMU_DESTROY, 0);
	assert_true(i >= 0);
	assert_int_equal(mock.calls[i].id, MOCK_HWPT_ID);
	assert_int_equal(mock.attached, 0);
	assert_int_equal(svio_domain_detach(dom, &dev0), -ENOENT);
	svio_domain_destroy(dom);
}

static void test_core_drives_ioas(void **state)
{
	struct svio_iommu_config cfg;
	struct svio_iommu_stats st;
	struct svio_domain *dom;
	uint64_t va = UINT64_C(0x7f0000000000), iova;
	int i;

	(void)state;
	mock.range_last = (UINT64_C(1) << 47) - 1;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	assert_int_equal(svio_iommufd_bind(&idev1, &dev1, fd1), 0);
	svio_iommu_config_default(&cfg);
	cfg.policy = SVIO_FLUSH_LAZY;
	cfg.flush_batch = 2;
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_int_equal(svio_domain_attach(dom, &dev1), 0);

	/* One IOAS behind both devices: one IOAS_MAP per map, IOVA == VA. */
	assert_int_equal(svio_dma_map(dom, (void *)(uintptr_t)va, 2 * K4, SVIO_DMA_READ, &iova), 0);
	assert_true(iova == va);
	assert_int_equal(
		svio_dma_map(dom, (void *)(uintptr_t)(va + 2 * K4), K4, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_MAP), 2);
	i = mock_find(SVIO_IOMMU_IOAS_MAP, 0);
	assert_int_equal(mock.calls[i].flags,
			 SVIO_IOMMU_IOAS_MAP_FIXED_IOVA | SVIO_IOMMU_IOAS_MAP_READABLE);
	assert_true(mock.calls[i].iova == va && mock.calls[i].len == 2 * K4);

	/* Lazy, batch of 2: the second unmap flushes both with one IOAS_UNMAP. */
	assert_int_equal(svio_dma_unmap(dom, va + 2 * K4, K4), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_UNMAP), 0);
	assert_int_equal(svio_dma_unmap(dom, va, 2 * K4), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_UNMAP), 1);
	i = mock_find(SVIO_IOMMU_IOAS_UNMAP, 0);
	assert_true(mock.calls[i].iova == va && mock.calls[i].len == 3 * K4);
	assert_int_equal(mock.calls[i].id, MOCK_IOAS_ID);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.kernel_maps, 2);
	assert_int_equal(st.kernel_unmaps, 1);
	assert_int_equal(st.desc_iotlb + st.desc_devtlb + st.desc_wait, 0);

	/* The last device out takes whatever is still mapped with it. */
	assert_int_equal(svio_dma_map(dom, (void *)(uintptr_t)va, K4, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_UNMAP), 1);
	assert_int_equal(svio_domain_detach(dom, &dev1), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_UNMAP), 2);
	i = mock_find(SVIO_IOMMU_IOAS_UNMAP, 1);
	assert_true(mock.calls[i].iova == 0 && mock.calls[i].len == UINT64_C(1) << 48);
	svio_domain_destroy(dom);
}

/* Lazy: a map identical to a queued unmap costs neither IOAS_MAP nor IOAS_UNMAP. */
static void test_core_revives_ioas(void **state)
{
	struct svio_iommu_config cfg;
	struct svio_iommu_stats st;
	struct svio_domain *dom;
	uint64_t va = UINT64_C(0x7f1000000000), iova;
	int i;

	(void)state;
	mock.range_last = (UINT64_C(1) << 47) - 1;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	svio_iommu_config_default(&cfg);
	cfg.policy = SVIO_FLUSH_LAZY;
	cfg.flush_timeout_us = 60000000;
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_int_equal(svio_dma_mem_register((void *)(uintptr_t)va, 4 * K4), 0);
	for (unsigned int round = 0; round < 4; round++) {
		assert_int_equal(
			svio_dma_map(dom, (void *)(uintptr_t)va, K4, SVIO_DMA_WRITE, &iova), 0);
		assert_int_equal(svio_dma_unmap(dom, iova, K4), 0);
	}
	assert_int_equal(svio_iommu_sync(dom), 0);
	/* The last unmap was not revived: the batch sent it. */
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_MAP), 1);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_UNMAP), 1);
	i = mock_find(SVIO_IOMMU_IOAS_UNMAP, 0);
	assert_true(mock.calls[i].iova == va && mock.calls[i].len == K4);
	assert_true(mock_find(SVIO_IOMMU_IOAS_MAP, 0) < i);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.revived_maps, 3);
	assert_int_equal(st.deferred_unmaps, 4);
	assert_int_equal(st.kernel_maps, 1);
	assert_int_equal(st.kernel_unmaps, 1);
	assert_int_equal(svio_dma_mem_unregister((void *)(uintptr_t)va, 4 * K4), 0);
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_domain_destroy(dom);
}

static void test_unbind_while_attached(void **state)
{
	struct svio_domain *dom;

	(void)state;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	dom = make_domain();
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	svio_iommufd_unbind(&idev0);
	assert_true(log_contains("unbound while still attached"));
	assert_true(log_contains("keeping /dev/iommu open"));
	assert_non_null(svio_iommufd_iommu());
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_domain_destroy(dom);
	/* The next last unbind closes it for good. */
	assert_int_equal(svio_iommufd_bind(&idev1, &dev1, fd1), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_ALLOC), 1);
	svio_iommufd_unbind(&idev1);
	assert_null(svio_iommufd_iommu());
}

/* Fail each ioctl of bind + attach in turn: every failure unwinds completely. */
static void test_fail_nth_sweep(void **state)
{
	unsigned int n, total, failures = 0;
	struct svio_domain *dom;

	(void)state;
	/* Count the ioctls of a clean run. */
	mock.max_pasid_log2 = 20;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	dom = make_domain();
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	total = mock.n_calls;
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_iommufd_unbind(&idev0);
	assert_true(total >= 7);

	for (n = 1; n <= total; n++) {
		int rc;

		mock_reset();
		mock.max_pasid_log2 = 20;
		mock.fail_nth = n;
		rc = svio_iommufd_bind(&idev0, &dev0, fd0);
		if (rc == 0)
			rc = svio_domain_attach(dom, &dev0);
		if (rc == 0) {
			/* GET_HW_INFO and the PASID steps may fail softly (fallbacks). */
			assert_true(idev0.attached);
			assert_int_equal(svio_domain_detach(dom, &dev0), 0);
		} else {
			failures++;
			assert_false(idev0.attached);
			assert_int_equal(mock.attached, 0);
			assert_int_equal(mock.pasid_attached, 0);
		}
		svio_iommufd_unbind(&idev0);
		assert_null(svio_iommufd_iommu());
	}
	assert_true(failures >= 3);
	svio_domain_destroy(dom);
}

/* Real kernel: /dev/iommu without any device (runs in the test/vm guest). */
static void test_real_ioas(void **state)
{
	struct svio_iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct svio_iommu_iova_range r[8];
	struct svio_iommu_ioas_iova_ranges q = {
		.size = sizeof(q),
		.num_iovas = 8,
		.allowed_iovas = (uint64_t)(uintptr_t)r,
	};
	struct svio_iommu_ioas_map m = { .size = sizeof(m) };
	struct svio_iommu_ioas_unmap u = { .size = sizeof(u) };
	struct svio_iommu_destroy d = { .size = sizeof(d) };
	void *buf;
	int fd;

	(void)state;
	if (access("/dev/iommu", F_OK) != 0)
		skip();
	fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(svio_vfio_ioctl(fd, SVIO_IOMMU_IOAS_ALLOC, &alloc), 0);
	q.ioas_id = alloc.out_ioas_id;
	assert_int_equal(svio_vfio_ioctl(fd, SVIO_IOMMU_IOAS_IOVA_RANGES, &q), 0);
	assert_true(q.num_iovas >= 1);
	buf = mmap(NULL, 4 * K4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(buf != MAP_FAILED);
	memset(buf, 0x5a, 4 * K4);
	/* IOVA == VA, as SVA on iommufd does it. */
	m.flags = SVIO_IOMMU_IOAS_MAP_FIXED_IOVA | SVIO_IOMMU_IOAS_MAP_READABLE |
		  SVIO_IOMMU_IOAS_MAP_WRITEABLE;
	m.ioas_id = alloc.out_ioas_id;
	m.user_va = (uint64_t)(uintptr_t)buf;
	m.iova = m.user_va;
	m.length = 4 * K4;
	assert_int_equal(svio_vfio_ioctl(fd, SVIO_IOMMU_IOAS_MAP, &m), 0);
	assert_int_equal(svio_vfio_ioctl(fd, SVIO_IOMMU_IOAS_MAP, &m), -EEXIST);
	u.ioas_id = alloc.out_ioas_id;
	u.iova = m.iova;
	u.length = m.length;
	assert_int_equal(svio_vfio_ioctl(fd, SVIO_IOMMU_IOAS_UNMAP, &u), 0);
	assert_true(u.length == 4 * K4);
	assert_int_equal(svio_vfio_ioctl(fd, SVIO_IOMMU_IOAS_UNMAP, &u), -ENOENT);
	d.id = alloc.out_ioas_id;
	assert_int_equal(svio_vfio_ioctl(fd, SVIO_IOMMU_DESTROY, &d), 0);
	munmap(buf, 4 * K4);
	close(fd);
}

/* Real kernel and a device: SVIO_TEST_VFIO_CDEV=/dev/vfio/devices/vfioN (the guest sets it). */
static void test_real_device(void **state)
{
	const char *cdev = getenv("SVIO_TEST_VFIO_CDEV");
	struct svio_device dev = { .name = "real0" };
	struct svio_iommufd_dev idev;
	struct svio_domain *dom;
	void *buf;
	int fd;

	(void)state;
	if (access("/dev/iommu", F_OK) != 0 || cdev == NULL)
		skip();
	fd = open(cdev, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(svio_iommufd_bind(&idev, &dev, fd), 0);
	dom = make_domain();
	assert_int_equal(svio_domain_attach(dom, &dev), 0);
	buf = mmap(NULL, 4 * K4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(buf != MAP_FAILED);
	assert_int_equal(svio_iommufd_map(svio_iommufd_iommu(), (uint64_t)(uintptr_t)buf, buf,
					  4 * K4, SVIO_DMA_RW),
			 0);
	assert_int_equal(svio_iommufd_unmap(svio_iommufd_iommu(), (uint64_t)(uintptr_t)buf, 4 * K4),
			 0);
	assert_int_equal(svio_domain_detach(dom, &dev), 0);
	svio_domain_destroy(dom);
	svio_iommufd_unbind(&idev);
	munmap(buf, 4 * K4);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_dev_iommu),
		cmocka_unit_test_setup_teardown(test_bind_unbind, setup_mock, teardown_mock),
		cmocka_unit_test_setup_teardown(test_bind_errors, setup_mock, teardown_mock),
		cmocka_unit_test_setup_teardown(test_attach_pasid, setup_mock, teardown_mock),
		cmocka_unit_test_setup_teardown(test_attach_rid_fallback, setup_mock,
						teardown_mock),
		cmocka_unit_test_setup_teardown(test_ranges_reread_after_attach, setup_mock,
						teardown_mock),
		cmocka_unit_test_setup_teardown(test_map_unmap, setup_mock, teardown_mock),
		cmocka_unit_test_setup_teardown(test_detach_refused, setup_mock, teardown_mock),
		cmocka_unit_test_setup_teardown(test_core_revives_ioas, setup_mock, teardown_mock),
		cmocka_unit_test_setup_teardown(test_core_drives_ioas, setup_mock, teardown_mock),
		cmocka_unit_test_setup_teardown(test_unbind_while_attached, setup_mock,
						teardown_mock),
		cmocka_unit_test_setup_teardown(test_fail_nth_sweep, setup_mock, teardown_mock),
		cmocka_unit_test(test_real_ioas),
		cmocka_unit_test(test_real_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
