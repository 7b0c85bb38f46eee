/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * map/unmap from several threads while the main thread attaches and
 * detaches another device (which rewrites the IOVA ranges): every map
 * lands, none sees a half-written range list. Run under ThreadSanitizer
 * in the concurrency suite.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_log.h>

#include "svio_dev.h"
#include "svio_iommu.h"
#include "svio_iommu_backend.h"
#include "iommufd_backend.h"
#include "mock_kernel.h"

#define THREADS 4
#define ROUNDS	2000
#define K4	UINT64_C(4096)

static pthread_mutex_t mock_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t maps, unmaps;
static unsigned int done;
static pthread_barrier_t start;

/* Maps and unmaps are counted here; everything else goes to the mock, serialised. */
static int mt_ioctl(int fd, unsigned long req, void *arg)
{
	int rc;

	if (req == SVIO_IOMMU_IOAS_MAP) {
		__atomic_fetch_add(&maps, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (req == SVIO_IOMMU_IOAS_UNMAP) {
		__atomic_fetch_add(&unmaps, 1, __ATOMIC_RELAXED);
		return 0;
	}
	pthread_mutex_lock(&mock_lock);
	if (mock.n_calls >= MOCK_MAX_CALLS - 4)
		mock.n_calls = 0; /* keep answering; the record is not checked here */
	rc = mock_ioctl(fd, req, arg);
	pthread_mutex_unlock(&mock_lock);
	return rc;
}

static void *worker(void *arg)
{
	struct svio_iommu *iommu = svio_iommufd_iommu();
	uint64_t base = UINT64_C(0x100000000) * (1 + (uintptr_t)arg);
	long failed = 0;

	pthread_barrier_wait(&start);
	for (unsigned int i = 0; i < ROUNDS; i++) {
		uint64_t va = base + (i % 64) * 16 * K4;

		if (svio_iommufd_map(iommu, va, (void *)(uintptr_t)va, 16 * K4, SVIO_DMA_RW) != 0)
			failed++;
		if (svio_iommufd_unmap(iommu, va, 16 * K4) != 0)
			failed++;
	}
	__atomic_fetch_add(&done, 1, __ATOMIC_RELEASE);
	return (void *)failed;
}

static void test_map_while_attaching(void **state)
{
	struct svio_device d0 = { .name = "0000:00:04.0" }, d1 = { .name = "0000:00:05.0" };
	struct svio_iommufd_dev i0, i1;
	pthread_t th[THREADS];
	struct svio_iommu *iommu;
	int fd0 = open("/dev/null", O_RDWR), fd1 = open("/dev/null", O_RDWR);
	(void)state;
	rte_log_set_global_level(RTE_LOG_WARNING); /* one INFO line per attach otherwise */
	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS + 1), 0);
	mock_install(mt_ioctl);
	mock.range_last = (UINT64_C(1) << 47) - 1;
	assert_int_equal(svio_iommufd_bind(&i0, &d0, fd0), 0);
	assert_int_equal(svio_iommufd_bind(&i1, &d1, fd1), 0);
	iommu = svio_iommufd_iommu();
	assert_int_equal(iommu->ops->attach(iommu, &d0, 1, 1, 0), 0);

	for (uintptr_t t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, worker, (void *)t), 0);
	pthread_barrier_wait(&start);
	/* Keep rewriting the ranges for as long as any worker maps. */
	do {
		assert_int_equal(iommu->ops->attach(iommu, &d1, 1, 1, 0), 0);
		assert_int_equal(iommu->ops->detach(iommu, &d1, 1), 0);
	} while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < THREADS);
	for (unsigned int t = 0; t < THREADS; t++) {
		void *failed;

		pthread_join(th[t], &failed);
		assert_int_equal((long)failed, 0);
	}
	pthread_barrier_destroy(&start);
	assert_true(maps == (uint64_t)THREADS * ROUNDS);
	assert_true(unmaps == (uint64_t)THREADS * ROUNDS);

	assert_int_equal(iommu->ops->detach(iommu, &d0, 1), 0);
	svio_iommufd_unbind(&i1);
	svio_iommufd_unbind(&i0);
	assert_null(svio_iommufd_iommu());
	mock_uninstall();
	close(fd0);
	close(fd1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_while_attaching),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
