/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sim IOMMU backend driver on the model: probe, the ops the core calls,
 * queue-full and queue-error handling, and page requests end to end through
 * the real IOMMU core.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "eal_private.h"
#include "svio_iommu.h"
#include "svio_iommu_backend.h"
#include "iommu_sim_priv.h"
#include "hw_helpers.h"

#define NOCOST "cost_iotlb=0,cost_devtlb=0,cost_wait=0,cost_submit=0,cost_other=0"
#define VA0    0x10000000ull

static struct svio_device *iodev;
static struct sim_iommu_drv *drv;

static void open_probed(const char *args)
{
	char arg[256];

	assert_int_equal(svio_builtin_register(), 0);
	snprintf(arg, sizeof(arg), "sim_iommu0,%s", args);
	assert_int_equal(svio_dev_add(arg, &iodev), 0);
	assert_int_equal(svio_dev_probe_all(), 0);
	drv = iodev->driver_priv;
	assert_non_null(drv);
}

static int teardown(void **state)
{
	(void)state;
	svio_dev_remove_all();
	svio_builtin_unregister();
	hw_free_all();
	iodev = NULL;
	drv = NULL;
	return 0;
}

static uint64_t ctr(enum sim_iommu_ctr c)
{
	return sim_iommu_counter(iodev, c);
}

static int wait_done(struct svio_iommu *io)
{
	uint64_t cookie;
	int rc = io->ops->wait_post(io, &cookie);

	if (rc < 0)
		return rc;
	while ((rc = io->ops->wait_poll(io, cookie)) == -EAGAIN)
		;
	return rc;
}

static void test_probe_caps(void **state)
{
	struct svio_iommu *io;
	uint32_t gsts;

	(void)state;
	open_probed(NOCOST ",domains=2,mamv=5");
	io = &drv->iommu;
	assert_int_equal(io->caps.domain_ids, 256);
	assert_int_equal(io->caps.pasid_bits, 20);
	assert_int_equal(io->caps.max_inv_order, 5);
	assert_true(io->caps.first_stage);
	assert_true(io->caps.ats);
	assert_true(io->caps.pri);
	assert_int_equal(io->index, 0);
	assert_string_equal(io->ops->name, "sim");
	assert_int_equal(svio_reg_read32(iodev, 0, SIM_IOMMU_REG_GSTS, &gsts), 0);
	assert_int_equal(gsts & (SIM_IOMMU_GSTS_TES | SIM_IOMMU_GSTS_QIES | SIM_IOMMU_GSTS_RTPS),
			 SIM_IOMMU_GSTS_TES | SIM_IOMMU_GSTS_QIES | SIM_IOMMU_GSTS_RTPS);
	teardown(NULL);

	open_probed(NOCOST ",ats=off,pri=off,pasid_bits=8");
	io = &drv->iommu;
	assert_false(io->caps.ats);
	assert_false(io->caps.pri);
	assert_int_equal(io->caps.pasid_bits, 8);
	assert_int_equal(io->caps.max_inv_order, 9);
}

static void test_attach_detach(void **state)
{
	struct svio_device a = hw_mkdev(0x100, false, false);
	struct svio_iommu *io;
	uint64_t *root;
	uint8_t *page, out[4];

	(void)state;
	open_probed(NOCOST);
	io = &drv->iommu;
	root = pt_new();
	page = hw_zalloc(4096);
	page[0] = 0x42;
	pt_map(root, VA0, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(sim_iommu_dma(&a, 3, VA0, out, 4, false), -EFAULT);
	assert_int_equal(io->ops->attach(io, &a, 3, 1, (uintptr_t)root), 0);
	assert_int_equal(sim_iommu_dma(&a, 3, VA0, out, 4, false), 0);
	assert_int_equal(out[0], 0x42);
	/* Untagged DMA: RID_PASID is the PASID attached first. */
	assert_int_equal(sim_iommu_dma(&a, SIM_PASID_NONE, VA0, out, 4, false), 0);
	assert_int_equal(io->ops->attach(io, &a, 3, 1, (uintptr_t)root), -EEXIST);
	assert_int_equal(io->ops->attach(io, &a, 4, 0, (uintptr_t)root), -EINVAL);
	assert_int_equal(io->ops->attach(io, &a, 4, 1, (uintptr_t)root + 8), -EINVAL);
	assert_int_equal(io->ops->attach(io, &a, 1u << 20, 1, (uintptr_t)root), -EINVAL);
	assert_int_equal(io->ops->attach(io, &a, 4, 2, (uintptr_t)root), 0);
	assert_int_equal(sim_iommu_dma(&a, 4, VA0, out, 4, false), 0);

	assert_int_equal(io->ops->detach(io, &a, 3), 0);
	assert_int_equal(io->ops->detach(io, &a, 3), -ENOENT);
	/* Cached translations go with the core's invalidation, not with detach. */
	assert_int_equal(io->ops->inv_post(io,
					   &(struct svio_inv){ .kind = SVIO_INV_IOTLB,
							       .all = true,
							       .did = 1,
							       .pasid = 3 },
					   1),
			 0);
	assert_int_equal(wait_done(io), 0);
	assert_int_equal(sim_iommu_dma(&a, 3, VA0, out, 4, false), -EFAULT);
	assert_int_equal(sim_iommu_dma(&a, 4, VA0, out, 4, false), 0);
	assert_int_equal(io->ops->stale_uses(io), 0);
}

static void test_invalidate_and_wait(void **state)
{
	struct svio_device a = hw_mkdev(0x100, true, false), n = hw_mkdev(0x200, false, false);
	struct svio_iommu *io;
	struct svio_inv inv[2];
	uint64_t *root;
	uint8_t *page, out[4];
	unsigned int i;

	(void)state;
	open_probed(NOCOST ",mamv=2");
	io = &drv->iommu;
	root = pt_new();
	page = hw_zalloc(4096);
	for (i = 0; i < 16; i++)
		pt_map(root, VA0 + i * KIB4, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(io->ops->attach(io, &a, 7, 1, (uintptr_t)root), 0);
	assert_int_equal(io->ops->attach(io, &n, 7, 1, (uintptr_t)root), 0);

	/* The strict unmap sequence: clear, IOTLB + device-TLB, one wait. */
	assert_int_equal(sim_iommu_dma(&a, 7, VA0, out, 4, false), 0);
	pt_unmap(root, VA0);
	inv[0] = (struct svio_inv){ .kind = SVIO_INV_IOTLB, .did = 1, .pasid = 7, .addr = VA0 };
	inv[1] =
		(struct svio_inv){ .kind = SVIO_INV_DEVTLB, .sid = 0x100, .pasid = 7, .addr = VA0 };
	assert_int_equal(io->ops->inv_post(io, inv, 2), 0);
	assert_int_equal(wait_done(io), 0);
	assert_int_equal(sim_iommu_dma(&a, 7, VA0, out, 4, false), -EFAULT);
	assert_int_equal(ctr(SIM_IOMMU_CTR_DESC_PIOTLB), 1);
	assert_int_equal(ctr(SIM_IOMMU_CTR_DESC_PDEVTLB), 1);
	/* RID_PASID is 7: untagged device-TLB entries are invalidated too. */
	assert_int_equal(ctr(SIM_IOMMU_CTR_DESC_DEVTLB), 1);
	assert_int_equal(ctr(SIM_IOMMU_CTR_DESC_WAIT), 1);

	/* A range past the largest mask (order 3 > mamv 2) empties the whole PASID. */
	for (i = 4; i < 16; i++)
		assert_int_equal(sim_iommu_dma(&n, 7, VA0 + i * KIB4, out, 4, false), 0);
	inv[0] = (struct svio_inv){
		.kind = SVIO_INV_IOTLB, .did = 1, .pasid = 7, .order = 3, .addr = VA0 + 8 * KIB4
	};
	assert_int_equal(io->ops->inv_post(io, inv, 1), 0);
	assert_int_equal(wait_done(io), 0);
	assert_true(ctr(SIM_IOMMU_CTR_INV_ENTRIES) >= 12);
	/* Order 2 stays page-selective with a mask. */
	inv[0].order = 2;
	inv[0].addr = VA0 + 4 * KIB4;
	assert_int_equal(io->ops->inv_post(io, inv, 1), 0);
	assert_int_equal(ctr(SIM_IOMMU_CTR_DESC_PIOTLB), 3);

	/* A device-TLB range: order 2 is one descriptor with the size encoding. */
	inv[0] = (struct svio_inv){
		.kind = SVIO_INV_DEVTLB, .sid = 0x100, .pasid = 7, .order = 2, .addr = VA0
	};
	assert_int_equal(io->ops->inv_post(io, inv, 1), 0);
	inv[0].all = true;
	assert_int_equal(io->ops->inv_post(io, inv, 1), 0);
	assert_int_equal(wait_done(io), 0);
	assert_int_equal(ctr(SIM_IOMMU_CTR_QUEUE_ERRORS), 0);

	/* Bad requests post nothing. */
	inv[0] = (struct svio_inv){ .kind = SVIO_INV_DEVTLB, .sid = 0x200, .pasid = 7 };
	assert_int_equal(io->ops->inv_post(io, inv, 1), -EINVAL);
	inv[0] = (struct svio_inv){
		.kind = SVIO_INV_IOTLB, .did = 1, .order = 1, .addr = VA0 + KIB4
	};
	assert_int_equal(io->ops->inv_post(io, inv, 1), -EINVAL);
	inv[0] = (struct svio_inv){ .kind = 9 };
	assert_int_equal(io->ops->inv_post(io, inv, 1), -EINVAL);
	assert_int_equal(ctr(SIM_IOMMU_CTR_QUEUE_ERRORS), 0);
	assert_int_equal(io->ops->stale_uses(io), 0);

	/* Skipping the device-TLB invalidation is caught by the model. */
	pt_map(root, VA0, (uintptr_t)page, KIB4, PTE_RWU);
	assert_int_equal(sim_iommu_dma(&a, 7, VA0, out, 4, false), 0);
	pt_unmap(root, VA0);
	inv[0] = (struct svio_inv){ .kind = SVIO_INV_IOTLB, .did = 1, .pasid = 7, .addr = VA0 };
	assert_int_equal(io->ops->inv_post(io, inv, 1), 0);
	assert_int_equal(wait_done(io), 0);
	assert_int_equal(sim_iommu_dma(&a, 7, VA0, out, 4, false), -EFAULT);
	assert_int_equal(io->ops->stale_uses(io), 1);
}

static void test_queue_full(void **state)
{
	struct svio_iommu *io;
	struct svio_inv *inv;
	unsigned int i, n = 1500;

	(void)state;
	open_probed(NOCOST);
	io = &drv->iommu;
	inv = calloc(n, sizeof(*inv));
	assert_non_null(inv);
	for (i = 0; i < n; i++)
		inv[i] = (struct svio_inv){
			.kind = SVIO_INV_IOTLB, .did = 1, .pasid = 2, .addr = VA0 + i * KIB4
		};
	/* Three times the queue in one call: posting waits for the head. */
	assert_int_equal(io->ops->inv_post(io, inv, n), 0);
	assert_int_equal(wait_done(io), 0);
	assert_int_equal(ctr(SIM_IOMMU_CTR_DESC_PIOTLB), n);
	free(inv);
}

static void test_queue_error_recovery(void **state)
{
	struct svio_iommu *io;
	uint64_t c1, c2, c3;

	(void)state;
	open_probed(NOCOST);
	io = &drv->iommu;
	assert_int_equal(wait_done(io), 0);
	/* Smuggle a malformed descriptor in, as a driver bug would. */
	pthread_spin_lock(&drv->iq_lock);
	drv->iq[drv->iq_tail] = (struct sim_iommu_inv_desc){ 0xf, 0 };
	drv->iq_tail = (drv->iq_tail + 1) % drv->iq_entries;
	pthread_spin_unlock(&drv->iq_lock);
	assert_int_equal(io->ops->wait_post(io, &c1), 0);
	assert_int_equal(io->ops->wait_post(io, &c2), 0);
	assert_int_equal(io->ops->wait_poll(io, c2), -EIO);
	assert_int_equal(io->ops->wait_poll(io, c1), -EIO);
	assert_int_equal(drv->queue_errors, 1);
	assert_int_equal(ctr(SIM_IOMMU_CTR_QUEUE_ERRORS), 1);
	/* The queue works again; the failed waits stay failed. */
	assert_int_equal(io->ops->wait_post(io, &c3), 0);
	assert_int_equal(io->ops->wait_poll(io, c3), 0);
	assert_int_equal(io->ops->wait_poll(io, c1), -EIO);
	assert_int_equal(wait_done(io), 0);
}

static void test_page_request_through_core(void **state)
{
	struct svio_device p = hw_mkdev(0x110, true, true);
	struct svio_iommu_config cfg;
	struct svio_iommu_stats st;
	struct svio_domain *dom;
	uint8_t *buf, *ro, *gone, out[64];
	uint32_t pasid;

	(void)state;
	open_probed(NOCOST);
	svio_iommu_config_default(&cfg);
	assert_int_equal(svio_domain_create(&cfg, &dom), 0);
	assert_int_equal(svio_domain_attach(dom, &p), 0);
	pasid = svio_domain_pasid(dom);

	/* Never mapped: the device's access faults it in through a page request. */
	buf = malloc(8192);
	assert_non_null(buf);
	memset(buf, 0x3c, 8192);
	assert_int_equal(sim_iommu_dma(&p, pasid, (uintptr_t)buf + 100, out, 64, false), 0);
	assert_int_equal(out[63], 0x3c);
	assert_int_equal(sim_iommu_dma(&p, SIM_PASID_NONE, (uintptr_t)buf + 4000, out, 64, true),
			 0);
	assert_true(ctr(SIM_IOMMU_CTR_PAGE_REQS) >= 1);
	assert_true(ctr(SIM_IOMMU_CTR_PAGE_RESP_OK) >= 1);

	/* A read-only mapping may be read but not written. */
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED);
	assert_int_equal(sim_iommu_dma(&p, pasid, (uintptr_t)ro, out, 8, false), 0);
	assert_int_equal(sim_iommu_dma(&p, pasid, (uintptr_t)ro, out, 8, true), -EFAULT);

	/* An address the process does not have: failure response. */
	gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(gone != MAP_FAILED);
	assert_int_equal(munmap(gone, 4096), 0);
	assert_int_equal(sim_iommu_dma(&p, pasid, (uintptr_t)gone, out, 8, false), -EFAULT);
	assert_true(ctr(SIM_IOMMU_CTR_PAGE_RESP_FAIL) >= 2);
	assert_int_equal(ctr(SIM_IOMMU_CTR_PAGE_REQ_TIMEOUT), 0);

	/* Unmap through the core: strict flush; a later access faults in again. */
	assert_int_equal(svio_dma_unmap(dom, (uintptr_t)buf & ~0xfffull, 4096), 0);
	assert_int_equal(sim_iommu_dma(&p, pasid, (uintptr_t)buf + 100, out, 64, false), 0);
	assert_int_equal(svio_iommu_stats_get(dom, &st), 0);
	assert_true(st.page_requests >= 4);
	assert_int_equal(st.stale_uses, 0);
	assert_int_equal(st.queue_errors, 0);
	assert_int_equal(ctr(SIM_IOMMU_CTR_STALE_USES), 0);

	assert_int_equal(svio_domain_detach(dom, &p), 0);
	svio_domain_destroy(dom);
	munmap(ro, 4096);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_probe_caps, teardown),
		cmocka_unit_test_teardown(test_attach_detach, teardown),
		cmocka_unit_test_teardown(test_invalidate_and_wait, teardown),
		cmocka_unit_test_teardown(test_queue_full, teardown),
		cmocka_unit_test_teardown(test_queue_error_recovery, teardown),
		cmocka_unit_test_teardown(test_page_request_through_core, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
