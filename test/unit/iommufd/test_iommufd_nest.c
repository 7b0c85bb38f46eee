/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Nested stage 1 on the iommufd backend, against the mock kernel: detection
 * and fallback, the ioctl sequence of bind / attach / detach / unbind, the
 * flush queue's batches as IOMMU_HWPT_INVALIDATE arrays (one call a batch,
 * merged entries), a kernel that handles part of an array, and one that
 * fails an entry.
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
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "svio_dev.h"
#include "svio_iommu.h"
#include "svio_iommu_backend.h"
#include "iommufd_backend.h"
#include "mock_kernel.h"

#define K4	 4096u
#define BUF_SIZE (64u * K4)

static struct svio_device dev0, dev1;
static int fd0 = -1, fd1 = -1;
static struct svio_iommufd_dev idev0, idev1;
static void *buf; /* memory the tests map; 64 KiB aligned */

static int setup(void **state)
{
	(void)state;
	mock_install(mock_ioctl);
	mock.nest = true;
	memset(&dev0, 0, sizeof(dev0));
	memset(&dev1, 0, sizeof(dev1));
	memset(&idev0, 0, sizeof(idev0));
	memset(&idev1, 0, sizeof(idev1));
	snprintf(dev0.name, sizeof(dev0.name), "0000:00:04.0");
	snprintf(dev1.name, sizeof(dev1.name), "0000:00:05.0");
	fd0 = open("/dev/null", O_RDWR);
	fd1 = open("/dev/null", O_RDWR);
	buf = aligned_alloc(BUF_SIZE, BUF_SIZE);
	log_capture_begin();
	return fd0 >= 0 && fd1 >= 0 && buf != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	svio_iommufd_unbind(&idev0);
	svio_iommufd_unbind(&idev1);
	close(fd0);
	close(fd1);
	free(buf);
	log_capture_end();
	mock_uninstall();
	return 0;
}

static struct svio_domain *make_domain(enum svio_flush_policy policy)
{
	struct svio_iommu_config cfg;
	struct svio_domain *dom = NULL;

	svio_iommu_config_default(&cfg);
	cfg.policy = policy;
	cfg.flush_batch = 64;
	cfg.flush_timeout_us = 60u * 1000000u; /* only the batch size or a sync flushes */
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	return dom;
}

/* Stage 2: the test buffer, IOVA = VA (DPDK memory gets this at start-up). */
static void s2_map_buf(void)
{
	assert_int_equal(svio_iommufd_map(svio_iommufd_iommu(), (uint64_t)(uintptr_t)buf, buf,
					  BUF_SIZE, SVIO_DMA_RW),
			 0);
}

static uint64_t va_of(unsigned int page)
{
	return (uint64_t)(uintptr_t)buf + (uint64_t)page * K4;
}

static void map_pages(struct svio_domain *dom, unsigned int page, unsigned int n)
{
	uint64_t iova;

	assert_int_equal(
		svio_dma_map(dom, (void *)(uintptr_t)va_of(page), n * K4, SVIO_DMA_RW, &iova), 0);
}

/* No nesting in ECAP: the paging domain, one line saying why, no NEST_PARENT asked. */
static void test_fallback_no_nest(void **state)
{
	struct svio_iommu *iommu;

	(void)state;
	mock.nest = false;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	iommu = svio_iommufd_iommu();
	assert_non_null(iommu);
	assert_false(iommu->caps.first_stage);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_ALLOC), 0);
	assert_true(log_contains("no nested stage 1: VT-d reports no nested translation"));
}

/* The hardware says yes but the kernel refuses a nest parent: the paging domain. */
static void test_fallback_parent_refused(void **state)
{
	struct svio_domain *dom;
	uint64_t iova;

	(void)state;
	mock.nest_parent_error = -EOPNOTSUPP;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	assert_false(svio_iommufd_iommu()->caps.first_stage);
	assert_true(log_contains("IOMMU_HWPT_ALLOC with NEST_PARENT failed"));
	/* ...and the paging path still works: maps go to the IOAS. */
	dom = make_domain(SVIO_FLUSH_STRICT);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_int_equal(mock.calls[mock_find(SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0)].id,
			 MOCK_IOAS_ID);
	assert_int_equal(svio_dma_map(dom, buf, K4, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_MAP), 1);
	assert_int_equal(svio_dma_unmap(dom, iova, K4), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_IOAS_UNMAP), 1);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_INVALIDATE), 0);
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_domain_destroy(dom);
}

/* Is [a, a + 1) inside one of the IOAS maps made so far (IOVA = VA, read-write)? */
static bool stage2_covers(uint64_t a)
{
	for (unsigned int i = 0; i < mock.n_calls; i++) {
		const struct mock_call *c = &mock.calls[i];

		if (c->req != SVIO_IOMMU_IOAS_MAP || c->iova != c->va)
			continue;
		if (c->flags != (SVIO_IOMMU_IOAS_MAP_FIXED_IOVA | SVIO_IOMMU_IOAS_MAP_READABLE |
				 SVIO_IOMMU_IOAS_MAP_WRITEABLE))
			continue;
		if (a >= c->iova && a < c->iova + c->len)
			return true;
	}
	return false;
}

/* bind: NEST_PARENT on the IOAS; attach: one nested HWPT over the core's root, shared. */
static void test_attach_sequence(void **state)
{
	struct svio_iommu *iommu;
	struct svio_domain *dom;
	const struct mock_call *c;
	int parent, s1, at0, at1;

	(void)state;
	mock.max_pasid_log2 = 20; /* nested attach stays on the requester id */
	dev0.dma.pasid = true;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	assert_int_equal(svio_iommufd_bind(&idev1, &dev1, fd1), 0);
	iommu = svio_iommufd_iommu();
	assert_true(iommu->caps.first_stage);
	assert_false(iommu->caps.ats);
	assert_false(iommu->caps.pri);
	assert_int_equal(iommu->caps.pasid_bits, 0);
	assert_true(log_contains("nested stage 1 on"));
	parent = mock_find(SVIO_IOMMU_HWPT_ALLOC, 0);
	assert_true(parent > mock_find(SVIO_IOMMU_GET_HW_INFO, 0));
	c = &mock.calls[parent];
	assert_int_equal(c->flags, SVIO_IOMMU_HWPT_ALLOC_NEST_PARENT);
	assert_int_equal(c->id, MOCK_IOAS_ID);
	assert_int_equal(c->data_type, SVIO_IOMMU_HWPT_DATA_NONE);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_ALLOC), 1); /* one parent for both */

	dom = make_domain(SVIO_FLUSH_STRICT);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_int_equal(svio_domain_attach(dom, &dev1), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_ALLOC), 2);
	s1 = mock_find(SVIO_IOMMU_HWPT_ALLOC, 1);
	c = &mock.calls[s1];
	assert_int_equal(c->id, MOCK_PARENT_ID);
	assert_int_equal(c->data_type, SVIO_IOMMU_HWPT_DATA_VTD_S1);
	assert_int_equal(c->len, 48); /* addr_width: 4-level */
	assert_int_equal(c->va, 0);   /* no SRE/WPE/EAFE */
	assert_true(c->iova != 0 && (c->iova & (K4 - 1)) == 0);
	/* The IOMMU reads the root through stage 2: the IOAS maps it, read-write. */
	assert_true(stage2_covers(c->iova));

	at0 = mock_find(SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0);
	at1 = mock_find(SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT, 1);
	assert_true(at0 > s1 && at1 > at0);
	assert_int_equal(mock.calls[at0].id, MOCK_S1_ID);
	assert_int_equal(mock.calls[at1].id, MOCK_S1_ID);
	assert_int_equal(mock.calls[at0].flags, 0);
	assert_int_equal(mock.calls[at0].fd, fd0);
	assert_int_equal(mock.calls[at1].fd, fd1);
	assert_false(idev0.pasid_attached);
	s2_map_buf();

	/* Stage 1 only: a map reaches no kernel call. */
	mock.n_calls = 0;
	map_pages(dom, 0, 16);
	assert_int_equal(mock.n_calls, 0);
	/* Strict: an unmap is one HWPT_INVALIDATE on the nested HWPT, done when it returns. */
	assert_int_equal(svio_dma_unmap(dom, va_of(0), 16 * K4), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_INVALIDATE), 1);
	assert_int_equal(mock.calls[0].id, MOCK_S1_ID);
	assert_int_equal(mock.n_inv, 1);
	assert_true(mock.inv[0].addr == va_of(0) && mock.inv[0].npages == 16);
	assert_int_equal(mock.inv[0].flags, 0); /* tables may have gone: not leaf-only */

	/* The first device out leaves the HWPT; the last destroys it and skips the flush. */
	mock.n_calls = 0;
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	assert_int_equal(mock_count(SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT), 1);
	assert_int_equal(mock_count(SVIO_IOMMU_DESTROY), 0);
	assert_int_equal(svio_domain_detach(dom, &dev1), 0);
	assert_int_equal(mock_count(SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT), 2);
	assert_int_equal(mock_count(SVIO_IOMMU_DESTROY), 1);
	assert_true(mock_find(SVIO_IOMMU_DESTROY, 0) >
		    mock_find(SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT, 1));
	assert_int_equal(mock.calls[mock_find(SVIO_IOMMU_DESTROY, 0)].id, MOCK_S1_ID);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_INVALIDATE), 0);
	assert_int_equal(mock.attached, 0);
	svio_domain_destroy(dom);

	/* The last unbind: the parent goes before the IOAS. */
	mock.n_calls = 0;
	svio_iommufd_unbind(&idev0);
	svio_iommufd_unbind(&idev1);
	assert_int_equal(mock_count(SVIO_IOMMU_DESTROY), 2);
	assert_int_equal(mock.calls[mock_find(SVIO_IOMMU_DESTROY, 0)].id, MOCK_PARENT_ID);
	assert_int_equal(mock.calls[mock_find(SVIO_IOMMU_DESTROY, 1)].id, MOCK_IOAS_ID);
	assert_null(svio_iommufd_iommu());
}

/*
 * A refused detach fails and the device keeps its place: the nested HWPT
 * stays while it is attached, and flushes keep invalidating it.
 */
static void test_detach_refused(void **state)
{
	struct svio_domain *dom;

	(void)state;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	assert_int_equal(svio_iommufd_bind(&idev1, &dev1, fd1), 0);
	dom = make_domain(SVIO_FLUSH_STRICT);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_int_equal(svio_domain_attach(dom, &dev1), 0);
	s2_map_buf();
	map_pages(dom, 0, 1);

	mock.n_calls = 0;
	mock.fail_nth = 1;
	mock.fail_errno = EBUSY;
	assert_int_equal(svio_domain_detach(dom, &dev0), -EBUSY);
	assert_int_equal(mock.calls[0].req, SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT);
	assert_true(idev0.attached);
	assert_int_equal(mock.attached, 2);
	mock.fail_nth = 0;

	/* dev0 still counts: dev1 is not the last one out. */
	mock.n_calls = 0;
	assert_int_equal(svio_domain_detach(dom, &dev1), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_DESTROY), 0);
	/* dev0 may still cache stage 1: an unmap invalidates the HWPT. */
	mock.n_calls = 0;
	assert_int_equal(svio_dma_unmap(dom, va_of(0), K4), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_INVALIDATE), 1);
	assert_int_equal(mock.calls[mock_find(SVIO_IOMMU_HWPT_INVALIDATE, 0)].id, MOCK_S1_ID);

	mock.n_calls = 0;
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_DESTROY), 1);
	assert_int_equal(mock.calls[mock_find(SVIO_IOMMU_DESTROY, 0)].id, MOCK_S1_ID);
	assert_int_equal(mock.attached, 0);
	svio_domain_destroy(dom);
}

/* A refused IOMMU_DESTROY keeps the nested HWPT known: reused, invalidated, destroyed at close. */
static void test_destroy_refused(void **state)
{
	struct svio_domain *dom;
	int i;

	(void)state;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	dom = make_domain(SVIO_FLUSH_STRICT);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	s2_map_buf();

	mock.n_calls = 0;
	mock.fail_nth = 2; /* DETACH, then the DESTROY of the nested HWPT */
	mock.fail_errno = EBUSY;
	assert_int_equal(svio_domain_detach(dom, &dev0), 0); /* the device is off */
	assert_int_equal(mock.calls[1].req, SVIO_IOMMU_DESTROY);
	assert_true(log_contains("kept and invalidated"));
	mock.fail_nth = 0;

	/* The HWPT still exists: the next attach joins it instead of allocating one. */
	mock.n_calls = 0;
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_ALLOC), 0);
	assert_int_equal(mock.calls[mock_find(SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0)].id,
			 MOCK_S1_ID);
	map_pages(dom, 0, 1);
	mock.n_calls = 0;
	assert_int_equal(svio_dma_unmap(dom, va_of(0), K4), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_INVALIDATE), 1);

	/* Refused again; the last unbind destroys it before the parent and the IOAS. */
	mock.n_calls = 0;
	mock.fail_nth = 2;
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	mock.fail_nth = 0;
	svio_domain_destroy(dom);
	mock.n_calls = 0;
	svio_iommufd_unbind(&idev0);
	i = mock_find(SVIO_IOMMU_DESTROY, 0);
	assert_true(i >= 0);
	assert_int_equal(mock.calls[i].id, MOCK_S1_ID);
	assert_int_equal(mock.calls[mock_find(SVIO_IOMMU_DESTROY, 1)].id, MOCK_PARENT_ID);
}

/* A device whose IOMMU cannot nest cannot join a nested instance. */
static void test_second_device_cannot_nest(void **state)
{
	(void)state;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	assert_true(svio_iommufd_iommu()->caps.first_stage);
	mock.nest = false;
	assert_int_equal(svio_iommufd_bind(&idev1, &dev1, fd1), -EOPNOTSUPP);
	assert_false(idev1.bound);
	assert_true(log_contains("0000:00:05.0: cannot join the nested stage 1"));
}

/* Lazy: a batch of unmaps is ONE HWPT_INVALIDATE, adjacent ranges merged into one entry. */
static void test_batch_one_invalidate(void **state)
{
	struct svio_iommu_stats st;
	struct svio_domain *dom;
	int i;

	(void)state;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	dom = make_domain(SVIO_FLUSH_LAZY);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	s2_map_buf();
	map_pages(dom, 0, 1);
	map_pages(dom, 1, 2);
	map_pages(dom, 3, 4);
	map_pages(dom, 16, 1);
	mock.n_calls = 0;
	assert_int_equal(svio_dma_unmap(dom, va_of(16), K4), 0);
	assert_int_equal(svio_dma_unmap(dom, va_of(1), 2 * K4), 0);
	assert_int_equal(svio_dma_unmap(dom, va_of(0), K4), 0);
	assert_int_equal(svio_dma_unmap(dom, va_of(3), 4 * K4), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_INVALIDATE), 0); /* queued */
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_INVALIDATE), 1);
	i = mock_find(SVIO_IOMMU_HWPT_INVALIDATE, 0);
	assert_int_equal(mock.calls[i].id, MOCK_S1_ID);
	assert_int_equal(mock.calls[i].iova, 2); /* entries handed over */
	assert_int_equal(mock.n_inv, 2);
	assert_true(mock.inv[0].addr == va_of(0) && mock.inv[0].npages == 7);
	assert_true(mock.inv[1].addr == va_of(16) && mock.inv[1].npages == 1);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.kernel_maps + st.kernel_unmaps, 0);
	assert_int_equal(mock.n_calls, 1); /* nothing else reached the kernel */
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_domain_destroy(dom);
}

/* A kernel that handles part of the array: the rest is sent again, the batch succeeds. */
static void test_partial_entry_num(void **state)
{
	struct svio_domain *dom;

	(void)state;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	dom = make_domain(SVIO_FLUSH_LAZY);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	s2_map_buf();
	map_pages(dom, 0, 1);
	map_pages(dom, 4, 1);
	map_pages(dom, 8, 1);
	mock.n_calls = 0;
	mock.inv_handle_max = 2;
	assert_int_equal(svio_dma_unmap(dom, va_of(0), K4), 0);
	assert_int_equal(svio_dma_unmap(dom, va_of(4), K4), 0);
	assert_int_equal(svio_dma_unmap(dom, va_of(8), K4), 0);
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(mock_count(SVIO_IOMMU_HWPT_INVALIDATE), 2);
	assert_int_equal(mock.calls[mock_find(SVIO_IOMMU_HWPT_INVALIDATE, 0)].iova, 3);
	assert_int_equal(mock.calls[mock_find(SVIO_IOMMU_HWPT_INVALIDATE, 1)].iova, 1);
	assert_int_equal(mock.n_inv, 3);
	assert_true(mock.inv[2].addr == va_of(8) && mock.inv[2].npages == 1);
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_domain_destroy(dom);
}

static unsigned int released;

static void count_release(void *arg)
{
	(void)arg;
	released++;
}

/* An entry the kernel fails: the batch fails with -EIO, memory stays quarantined, a retry works. */
static void test_invalidate_error(void **state)
{
	struct svio_domain *dom;

	(void)state;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	dom = make_domain(SVIO_FLUSH_LAZY);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	s2_map_buf();
	map_pages(dom, 0, 1);
	map_pages(dom, 4, 1);
	released = 0;
	mock.inv_error_at = mock.n_inv + 2; /* the second entry of the next call */
	assert_int_equal(svio_dma_unmap_release(dom, va_of(0), K4, count_release, NULL), 0);
	assert_int_equal(svio_dma_unmap_release(dom, va_of(4), K4, count_release, NULL), 0);
	assert_int_equal(svio_iommu_sync(dom), -EIO);
	assert_int_equal(released, 0);
	assert_true(log_contains("IOMMU_HWPT_INVALIDATE on HWPT 22: entry 1 of 2"));
	/* The kernel recovers: the next batch retries and completes the unmaps. */
	mock.inv_error_at = 0;
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(released, 2);
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_domain_destroy(dom);
}

/* Stage 1 may only point at memory stage 2 maps: anything else is refused, by name. */
static void test_s1_needs_stage2(void **state)
{
	struct svio_domain *dom;
	uint64_t iova, va = (uint64_t)(uintptr_t)buf;

	(void)state;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	dom = make_domain(SVIO_FLUSH_STRICT);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_int_equal(svio_dma_map(dom, buf, K4, SVIO_DMA_RW, &iova), -EFAULT);
	assert_true(log_contains("is not in stage 2 (the IOAS)"));
	/* Stage 2 maps IOVA = VA only. */
	assert_int_equal(svio_iommufd_map(svio_iommufd_iommu(), va + K4, buf, K4, SVIO_DMA_RW),
			 -EINVAL);
	/* Two adjacent stage-2 maps cover a stage-1 map across them; a hole does not. */
	assert_int_equal(svio_iommufd_map(svio_iommufd_iommu(), va, buf, 2 * K4, SVIO_DMA_RW), 0);
	assert_int_equal(svio_iommufd_map(svio_iommufd_iommu(), va + 2 * K4, (char *)buf + 2 * K4,
					  2 * K4, SVIO_DMA_RW),
			 0);
	assert_int_equal(svio_iommufd_map(svio_iommufd_iommu(), va + 8 * K4, (char *)buf + 8 * K4,
					  K4, SVIO_DMA_RW),
			 0);
	assert_int_equal(svio_dma_map(dom, (char *)buf + K4, 2 * K4, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(svio_dma_map(dom, (char *)buf + 4 * K4, K4, SVIO_DMA_RW, &iova), -EFAULT);
	assert_int_equal(svio_dma_map(dom, (char *)buf + 3 * K4, 6 * K4, SVIO_DMA_RW, &iova),
			 -EFAULT);
	assert_int_equal(svio_dma_map(dom, (char *)buf + 8 * K4, K4, SVIO_DMA_RW, &iova), 0);
	/* Gone from stage 2: refused again. */
	assert_int_equal(svio_dma_unmap(dom, va + 8 * K4, K4), 0);
	assert_int_equal(svio_iommufd_unmap(svio_iommufd_iommu(), va + 8 * K4, K4), 0);
	assert_int_equal(svio_dma_map(dom, (char *)buf + 8 * K4, K4, SVIO_DMA_RW, &iova), -EFAULT);
	assert_int_equal(svio_dma_unmap(dom, va + K4, 2 * K4), 0);
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_domain_destroy(dom);
}

/*
 * Fail each kernel call of bind + attach + map + unmap + detach + unbind in
 * turn: every path either works or fails cleanly, and nothing is left
 * attached or allocated in the kernel afterwards.
 */
static void test_fail_nth_sweep(void **state)
{
	unsigned int n, total;

	(void)state;
	/* A clean run first, to know how many calls there are. */
	for (n = 0;; n++) {
		struct svio_domain *dom;
		uint64_t iova;
		bool undo_failed;
		int rc;

		mock_reset();
		mock.nest = true;
		mock.fail_nth = n;
		rc = svio_iommufd_bind(&idev0, &dev0, fd0);
		dom = make_domain(SVIO_FLUSH_STRICT);
		if (rc == 0 && svio_domain_attach(dom, &dev0) == 0) {
			bool nested = svio_iommufd_iommu()->caps.first_stage;

			if (!nested ||
			    svio_iommufd_map(svio_iommufd_iommu(), (uint64_t)(uintptr_t)buf, buf,
					     BUF_SIZE, SVIO_DMA_RW) == 0) {
				if (svio_dma_map(dom, buf, K4, SVIO_DMA_RW, &iova) == 0)
					svio_dma_unmap(dom, iova, K4);
			}
			svio_domain_detach(dom, &dev0);
		}
		svio_domain_destroy(dom);
		svio_iommufd_unbind(&idev0);
		/* A failed undo leaves its object: closing the fds would take it along. */
		undo_failed = n > 0 && n <= mock.n_calls &&
			      (mock.calls[n - 1].req == SVIO_IOMMU_DESTROY ||
			       mock.calls[n - 1].req == SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT);
		if (!undo_failed) {
			assert_int_equal(mock.attached, 0);
			assert_int_equal(mock.live_objs, 0);
		}
		assert_null(svio_iommufd_iommu());
		if (n == 0)
			total = mock.n_calls;
		else if (n > total)
			break;
	}
	assert_true(total > 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fallback_no_nest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallback_parent_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_device_cannot_nest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_one_invalidate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_entry_num, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalidate_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_s1_needs_stage2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_nth_sweep, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
