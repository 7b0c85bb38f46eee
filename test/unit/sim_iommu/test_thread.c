/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The model on its own thread (mode=thread) with the backend driver: devices
 * DMA from several threads while two flushers unmap, invalidate, wait and
 * remap pages through one shared queue, and a PRI device takes page requests
 * answered through the queue. Correct flushing must never produce a stale use.
 * Like correct drivers, no device touches a page while it is being unmapped
 * (a per-page rwlock stands for "the I/O completed before the unmap").
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eal_private.h"
#include "svio_iommu_backend.h"
#include "iommu_sim_priv.h"
#include "hw_helpers.h"

#define VA0	0x10000000ull
#define NPAGES	64
#define PASID	7
#define DMA_OPS 20000
#define FLUSHES 300
#define PRI_OPS 100

static struct svio_device *iodev;
static struct svio_iommu *io;
static uint64_t *root;
static uint8_t *pages[NPAGES];
static struct svio_device dev_ats, dev_plain, dev_pri;
static pthread_rwlock_t page_lock[NPAGES];
static int bad_rc;

static void *dma_thread(void *arg)
{
	struct svio_device *d = arg;
	unsigned int seed = d->dma.sid, i;
	uint8_t out[16];

	for (i = 0; i < DMA_OPS; i++) {
		unsigned int p = (unsigned int)rand_r(&seed) % NPAGES;
		int rc;

		pthread_rwlock_rdlock(&page_lock[p]);
		rc = sim_iommu_dma(d, PASID, VA0 + p * KIB4 + 32, out, sizeof(out), false);
		pthread_rwlock_unlock(&page_lock[p]);
		if (rc == 0 && out[0] != (uint8_t)p)
			rc = -EINVAL;
		if (rc != 0)
			__atomic_store_n(&bad_rc, rc, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *pri_thread(void *arg)
{
	unsigned int i;
	uint8_t out[8];

	(void)arg;
	/* Nothing maps PASID 9 in the core: every request is answered with failure. */
	for (i = 0; i < PRI_OPS; i++) {
		int rc = sim_iommu_dma(&dev_pri, 9, VA0 + (i % 8) * KIB4, out, sizeof(out), false);

		if (rc != -EFAULT)
			__atomic_store_n(&bad_rc, rc == 0 ? -EEXIST : rc, __ATOMIC_RELAXED);
	}
	return NULL;
}

struct flusher {
	unsigned int first;
	int rc;
};

static void *flush_thread(void *arg)
{
	struct flusher *f = arg;
	unsigned int k;

	for (k = 0; k < FLUSHES && f->rc == 0; k++) {
		unsigned int p = f->first + k % (NPAGES / 2);
		uint64_t va = VA0 + p * KIB4, cookie;
		struct svio_inv inv[2] = {
			{ .kind = SVIO_INV_IOTLB, .did = 1, .pasid = PASID, .addr = va },
			{ .kind = SVIO_INV_DEVTLB,
			  .sid = dev_ats.dma.sid,
			  .pasid = PASID,
			  .addr = va },
		};
		int rc;

		pthread_rwlock_wrlock(&page_lock[p]);
		pt_unmap(root, va);
		rc = io->ops->inv_post(io, inv, 2);
		if (rc == 0)
			rc = io->ops->wait_post(io, &cookie);
		if (rc == 0) {
			do
				rc = io->ops->wait_poll(io, cookie);
			while (rc == -EAGAIN);
		}
		pt_map(root, va, (uintptr_t)pages[p], KIB4, PTE_RWU);
		pthread_rwlock_unlock(&page_lock[p]);
		f->rc = rc;
	}
	return NULL;
}

static void test_thread_mode_stress(void **state)
{
	pthread_t dma[2], pri, fl[2];
	struct flusher f[2] = { { 0, 0 }, { NPAGES / 2, 0 } };
	struct sim_iommu_drv *drv;
	uint64_t *pri_root;
	unsigned int i;

	(void)state;
	assert_int_equal(svio_builtin_register(), 0);
	assert_int_equal(svio_dev_add("sim_iommu0,mode=thread,cost_iotlb=200,cost_devtlb=1000,"
				      "cost_wait=500,cost_submit=0,cost_other=100,iotlb=64,atc=16",
				      &iodev),
			 0);
	assert_int_equal(svio_dev_probe_all(), 0);
	drv = iodev->driver_priv;
	assert_non_null(drv);
	io = &drv->iommu;

	root = pt_new();
	for (i = 0; i < NPAGES; i++) {
		pthread_rwlock_init(&page_lock[i], NULL);
		pages[i] = hw_zalloc(4096);
		memset(pages[i], (int)i, 4096);
		pt_map(root, VA0 + i * KIB4, (uintptr_t)pages[i], KIB4, PTE_RWU);
	}
	pri_root = pt_new();
	pt_map(pri_root, VA0 + 100 * KIB4, (uintptr_t)pages[0], KIB4, PTE_RWU);
	dev_ats = hw_mkdev(0x100, true, false);
	dev_plain = hw_mkdev(0x200, false, false);
	dev_pri = hw_mkdev(0x110, true, true);
	assert_int_equal(io->ops->attach(io, &dev_ats, PASID, 1, (uintptr_t)root), 0);
	assert_int_equal(io->ops->attach(io, &dev_plain, PASID, 1, (uintptr_t)root), 0);
	assert_int_equal(io->ops->attach(io, &dev_pri, 9, 2, (uintptr_t)pri_root), 0);

	assert_int_equal(pthread_create(&dma[0], NULL, dma_thread, &dev_ats), 0);
	assert_int_equal(pthread_create(&dma[1], NULL, dma_thread, &dev_plain), 0);
	assert_int_equal(pthread_create(&pri, NULL, pri_thread, NULL), 0);
	assert_int_equal(pthread_create(&fl[0], NULL, flush_thread, &f[0]), 0);
	assert_int_equal(pthread_create(&fl[1], NULL, flush_thread, &f[1]), 0);
	for (i = 0; i < 2; i++) {
		pthread_join(dma[i], NULL);
		pthread_join(fl[i], NULL);
	}
	pthread_join(pri, NULL);

	assert_int_equal(bad_rc, 0);
	assert_int_equal(f[0].rc, 0);
	assert_int_equal(f[1].rc, 0);
	assert_int_equal(io->ops->stale_uses(io), 0);
	assert_int_equal(sim_iommu_counter(iodev, SIM_IOMMU_CTR_QUEUE_ERRORS), 0);
	assert_int_equal(sim_iommu_counter(iodev, SIM_IOMMU_CTR_DESC_WAIT), 2 * FLUSHES);
	assert_int_equal(sim_iommu_counter(iodev, SIM_IOMMU_CTR_DESC_PIOTLB), 2 * FLUSHES);
	assert_int_equal(sim_iommu_counter(iodev, SIM_IOMMU_CTR_PAGE_RESP_FAIL), PRI_OPS);
	assert_int_equal(sim_iommu_counter(iodev, SIM_IOMMU_CTR_PAGE_REQ_TIMEOUT), 0);
	assert_true(sim_iommu_counter(iodev, SIM_IOMMU_CTR_COST_NS) > 0);

	svio_dev_remove_all();
	svio_builtin_unregister();
	hw_free_all();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_mode_stress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
