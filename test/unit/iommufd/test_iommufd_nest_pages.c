/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Nested stage 1: the domain's table pages come from the instance that needs
 * them (ops->table_pages), not from a process-wide allocator. A domain with
 * no nesting instance keeps heap pages; one made after a nesting bind takes
 * pool pages from the start; one made before moves to the pool at the first
 * attach, which is refused while the table is in use elsewhere.
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

#include "svio_dev.h"
#include "svio_iommu.h"
#include "svio_iommu_backend.h"
#include "iommufd_backend.h"
#include "mock_kernel.h"

#define POOL_CHUNK_BYTES (64u * 4096u) /* the pool's chunk, mapped in stage 2 whole */

static struct svio_device dev0 = { .name = "0000:00:04.0" };
static struct svio_iommufd_dev idev0;
static int fd0 = -1;

static int setup(void **state)
{
	(void)state;
	mock_reset();
	mock.nest = true;
	svio_iommufd_set_ioctl(mock_ioctl);
	svio_iommufd_set_path("/dev/null");
	memset(&dev0.dma, 0, sizeof(dev0.dma));
	memset(&idev0, 0, sizeof(idev0));
	fd0 = open("/dev/null", O_RDWR);
	log_capture_begin();
	return fd0 >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	svio_iommufd_unbind(&idev0);
	close(fd0);
	log_capture_end();
	svio_iommufd_set_ioctl(NULL);
	svio_iommufd_set_path(NULL);
	return 0;
}

static struct svio_domain *make_domain(void)
{
	struct svio_iommu_config cfg;
	struct svio_domain *dom = NULL;

	svio_iommu_config_default(&cfg);
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	return dom;
}

static unsigned int pool_chunk_maps(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < mock.n_calls; i++)
		n += mock.calls[i].req == SVIO_IOMMU_IOAS_MAP &&
		     mock.calls[i].len == POOL_CHUNK_BYTES;
	return n;
}

/* The stage-1 root the nested HWPT was given lies in a pool chunk stage 2 maps. */
static void assert_root_in_stage2(void)
{
	int s1 = mock_find(SVIO_IOMMU_HWPT_ALLOC, 1);
	uint64_t root;
	bool covered = false;

	assert_true(s1 >= 0);
	assert_int_equal(mock.calls[s1].data_type, SVIO_IOMMU_HWPT_DATA_VTD_S1);
	root = mock.calls[s1].iova;
	for (unsigned int i = 0; i < mock.n_calls; i++) {
		const struct mock_call *c = &mock.calls[i];

		covered |= c->req == SVIO_IOMMU_IOAS_MAP && c->len == POOL_CHUNK_BYTES &&
			   c->iova == c->va && root >= c->iova && root < c->iova + c->len;
	}
	assert_true(covered);
}

/*
 * First in the process: a domain made and used with no nesting instance
 * takes nothing from the pool (the old process-wide allocator carved every
 * table from it, so the nesting bind found a chunk to map in stage 2).
 */
static void test_heap_without_nesting(void **state)
{
	struct svio_domain *dom = make_domain();
	uint64_t iova;
	void *buf = aligned_alloc(4096, 4096);

	(void)state;
	assert_non_null(buf);
	/* No instance attached: the table is filled but nobody walks it. */
	assert_int_equal(svio_dma_map(dom, buf, 4096, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(svio_dma_unmap(dom, iova, 4096), 0);
	svio_domain_destroy(dom);
	free(buf);

	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	assert_true(log_contains("nested stage 1 on"));
	assert_int_equal(pool_chunk_maps(), 0);

	/* Made after the bind: pool pages from the start, mapped in stage 2. */
	dom = make_domain();
	assert_int_equal(pool_chunk_maps(), 1);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_root_in_stage2();
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_domain_destroy(dom);
}

/* Made before the bind: the table moves to the pool at the first attach. */
static void test_moved_at_first_attach(void **state)
{
	struct svio_domain *dom = make_domain();

	(void)state;
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	assert_int_equal(svio_domain_attach(dom, &dev0), 0);
	assert_root_in_stage2();
	assert_int_equal(svio_domain_detach(dom, &dev0), 0);
	svio_domain_destroy(dom);
}

/* A first-stage instance that walks any pages (it never looks at them). */
static int fake_attach(struct svio_iommu *iommu, struct svio_device *dev, uint32_t pasid,
		       uint16_t did, uint64_t pgtable)
{
	(void)iommu, (void)dev, (void)pasid, (void)did, (void)pgtable;
	return 0;
}

static int fake_detach(struct svio_iommu *iommu, struct svio_device *dev, uint32_t pasid)
{
	(void)iommu, (void)dev, (void)pasid;
	return 0;
}

static int fake_inv_post(struct svio_iommu *iommu, const struct svio_inv *inv, unsigned int n)
{
	(void)iommu, (void)inv, (void)n;
	return 0;
}

static int fake_wait_post(struct svio_iommu *iommu, uint64_t *cookie)
{
	(void)iommu;
	*cookie = 0;
	return 0;
}

static int fake_wait_poll(struct svio_iommu *iommu, uint64_t cookie)
{
	(void)iommu, (void)cookie;
	return 0;
}

static const struct svio_iommu_ops fake_ops = {
	.name = "fake",
	.attach = fake_attach,
	.detach = fake_detach,
	.inv_post = fake_inv_post,
	.wait_post = fake_wait_post,
	.wait_poll = fake_wait_poll,
};

/* Another instance walks the heap table already: the nested attach is refused, saying why. */
static void test_in_use_refused(void **state)
{
	struct svio_iommu fake = {
		.ops = &fake_ops,
		.caps = { .domain_ids = 16, .first_stage = true },
		.index = 5,
	};
	struct svio_device other = { .name = "fake0" };
	struct svio_domain *dom = make_domain();

	(void)state;
	other.dma.iommu_index = 5;
	assert_int_equal(svio_iommu_register(&fake), 0);
	assert_int_equal(svio_domain_attach(dom, &other), 0);
	assert_int_equal(svio_iommufd_bind(&idev0, &dev0, fd0), 0);
	assert_int_equal(svio_domain_attach(dom, &dev0), -EBUSY);
	assert_true(log_contains("attach 0000:00:04.0: iommufd walks tables in pages of its own "
				 "(nested stage 1), and this domain's table is in use already "
				 "(devices are attached)"));
	assert_int_equal(mock_count(SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT), 0);
	assert_int_equal(svio_domain_detach(dom, &other), 0);
	svio_domain_destroy(dom);
	assert_int_equal(svio_iommu_unregister(&fake), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* First: it needs a process whose pool is still empty. */
		cmocka_unit_test_setup_teardown(test_heap_without_nesting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_moved_at_first_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_use_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
