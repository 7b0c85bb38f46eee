/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Revived maps on an instance that owns its table (revive.h): in lazy mode
 * a map identical to a queued unmap reuses the kernel's mapping (no map, no
 * unmap); anything else (another length or rights, quarantined memory,
 * memory nothing vouches for, pages that changed, memory gone, a detach,
 * the strict policy) reaches the kernel as before.
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

#include "svio_iommu.h"
#include "iommu_private.h"
#include "fake_iommu.h"

#define K4 UINT64_C(0x1000)
/* Registered but never dereferenced: the fakes do no DMA. */
#define BASE	  UINT64_C(0x510000000000)
#define VA(off)	  ((void *)(uintptr_t)(BASE + (off)))
#define IOVA(off) (BASE + (off))
#define REGION	  (64 * K4)

static struct fake_iommu k2;
static struct svio_device dev;
static struct svio_domain *dom;

static int make_domain(enum svio_flush_policy policy)
{
	struct svio_iommu_config cfg;

	svio_iommu_config_default(&cfg);
	cfg.policy = policy;
	cfg.flush_batch = 256;
	cfg.flush_timeout_us = 60000000; /* batches run on sync (or forced) only */
	if (svio_domain_create(&cfg, &dom) < 0 || svio_domain_attach(dom, &dev) < 0)
		return -1;
	fake_log_reset();
	svio_iommu_stats_reset(dom);
	return 0;
}

static int setup(void **state)
{
	struct svio_iommu_caps kc = fake_caps_kmap();

	(void)state;
	fake_log_reset();
	if (fake_iommu_init(&k2, 2, &kc) < 0)
		return -1;
	fake_dev_init(&dev, &k2, "k2a", 0x200, false);
	return svio_dma_mem_register(VA(0), REGION);
}

static int teardown(void **state)
{
	(void)state;
	svio_domain_destroy(dom);
	dom = NULL;
	svio_dma_mem_unregister(VA(0), REGION); /* may be gone already */
	return fake_iommu_fini(&k2);
}

static void map(void *va, uint64_t len, int prot)
{
	uint64_t iova;

	assert_int_equal(svio_dma_map(dom, va, len, prot, &iova), 0);
	assert_int_equal(iova, (uint64_t)(uintptr_t)va);
}

static unsigned int n_ev(enum fake_ev_kind kind)
{
	return fake_log_count(kind, 2, -1);
}

static struct svio_iommu_stats stats(void)
{
	struct svio_iommu_stats st;

	assert_int_equal(svio_iommu_stats_get(dom, &st), 0);
	return st;
}

static void test_revived_map_reaches_no_kernel(void **state)
{
	struct svio_iommu_stats st;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY), 0);
	map(VA(0), K4, SVIO_DMA_WRITE);
	assert_int_equal(n_ev(EV_MAP), 1);
	for (unsigned int round = 0; round < 3; round++) {
		assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
		map(VA(0), K4, SVIO_DMA_WRITE);
	}
	/* Only the first map reached the kernel, and the queued unmaps never do. */
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(n_ev(EV_MAP), 1);
	assert_int_equal(n_ev(EV_UNMAP), 0);
	assert_true(fake_range_mapped(&k2, IOVA(0), K4));
	st = stats();
	assert_int_equal(st.revived_maps, 3);
	assert_int_equal(st.deferred_unmaps, 3);
	assert_int_equal(st.kernel_maps, 1);
	assert_int_equal(st.kernel_unmaps, 0);
	assert_int_equal(st.maps, 4);
	assert_int_equal(st.unmaps, 3);

	/* The last unmap is not revived: its batch unmaps in the kernel. */
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	assert_int_equal(n_ev(EV_UNMAP), 0);
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(n_ev(EV_UNMAP), 1);
	assert_int_equal(fake_mapped_bytes(&k2), 0);
	/* And a map after that batch is a kernel map again. */
	map(VA(0), K4, SVIO_DMA_WRITE);
	assert_int_equal(n_ev(EV_MAP), 2);
	assert_int_equal(stats().revived_maps, 3);
}

static void test_other_maps_reach_the_kernel(void **state)
{
	int unmap_at, map_at;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY), 0);
	/* Another length: the queued unmap is flushed first, then the kernel maps. */
	map(VA(0), 2 * K4, SVIO_DMA_RW);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), 2 * K4), 0);
	fake_log_reset();
	map(VA(0), K4, SVIO_DMA_RW);
	unmap_at = fake_log_find(EV_UNMAP, 2, 0);
	map_at = fake_log_find(EV_MAP, 2, 0);
	assert_true(unmap_at >= 0 && map_at > unmap_at);
	assert_true(fake_log_at((unsigned int)unmap_at).len == 2 * K4);

	/* Other rights: that one unmap is made at once, the rest of the queue stays. */
	map(VA(4 * K4), K4, SVIO_DMA_RW);
	assert_int_equal(svio_dma_unmap(dom, IOVA(4 * K4), K4), 0);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	fake_log_reset();
	map(VA(0), K4, SVIO_DMA_READ);
	assert_int_equal(n_ev(EV_UNMAP), 1);
	assert_int_equal(fake_log_at((unsigned int)fake_log_find(EV_UNMAP, 2, 0)).addr, IOVA(0));
	assert_int_equal(n_ev(EV_MAP), 1);
	assert_true(fake_range_mapped(&k2, IOVA(4 * K4), K4));
	/* Its queued entry no longer reaches the kernel; the other one does. */
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(n_ev(EV_UNMAP), 2);
	assert_true(fake_range_mapped(&k2, IOVA(0), K4));
	assert_int_equal(fake_log_at((unsigned int)fake_log_find(EV_MAP, 2, 0)).code,
			 SVIO_DMA_READ);

	/* Another address: its own map; the queued unmap stays queued. */
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	fake_log_reset();
	map(VA(K4), K4, SVIO_DMA_READ);
	assert_int_equal(n_ev(EV_MAP), 1);
	assert_int_equal(n_ev(EV_UNMAP), 0);
	assert_int_equal(stats().revived_maps, 0);
}

static void test_unvouched_memory_is_not_revived(void **state)
{
	const uint64_t far = UINT64_C(0x520000000000); /* not registered, not mapped */

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY), 0);
	map((void *)(uintptr_t)far, K4, SVIO_DMA_RW);
	assert_int_equal(svio_dma_unmap(dom, far, K4), 0);
	fake_log_reset();
	map((void *)(uintptr_t)far, K4, SVIO_DMA_RW);
	/* The kernel refused the overlap, the queued unmap was flushed, the map retried. */
	assert_int_equal(n_ev(EV_UNMAP), 1);
	assert_int_equal(n_ev(EV_MAP), 1);
	assert_int_equal(stats().deferred_unmaps, 0);
	assert_int_equal(stats().revived_maps, 0);
}

static void note_release(void *arg)
{
	fake_log_note((int)(intptr_t)arg);
}

static void test_quarantined_memory_is_not_revived(void **state)
{
	int note_at;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY), 0);
	map(VA(0), K4, SVIO_DMA_RW);
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(0), K4, note_release, (void *)5), 0);
	fake_log_reset();
	map(VA(0), K4, SVIO_DMA_RW);
	/* The release ran after the kernel let go, before the memory was mapped again. */
	note_at = fake_log_find(EV_NOTE, -1, 0);
	assert_true(fake_log_find(EV_UNMAP, 2, 0) < note_at);
	assert_true(note_at < fake_log_find(EV_MAP, 2, 0));
	assert_int_equal(stats().revived_maps, 0);
}

static void test_strict_never_revives(void **state)
{
	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT), 0);
	for (unsigned int i = 0; i < 3; i++) {
		map(VA(0), K4, SVIO_DMA_RW);
		assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	}
	assert_int_equal(n_ev(EV_MAP), 3);
	assert_int_equal(n_ev(EV_UNMAP), 3);
	assert_int_equal(stats().deferred_unmaps, 0);
	assert_int_equal(stats().revived_maps, 0);
}

static void test_memory_gone_forces_the_unmap(void **state)
{
	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY), 0);
	map(VA(0), K4, SVIO_DMA_RW);
	map(VA(8 * K4), K4, SVIO_DMA_RW);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	assert_int_equal(svio_dma_unmap(dom, IOVA(8 * K4), K4), 0);
	fake_log_reset();
	/* What DPDK's RTE_MEM_EVENT_FREE calls for pages it gives back. */
	revive_mem_gone(IOVA(8 * K4), 4 * K4);
	assert_int_equal(n_ev(EV_UNMAP), 0);
	/* The next poll flushes at once (the timeout is a minute). */
	assert_true(svio_iommu_poll(dom) > 0);
	assert_int_equal(n_ev(EV_UNMAP), 2);
	assert_false(fake_range_mapped(&k2, IOVA(8 * K4), K4));
	/* The page outside the gone range was unmapped by the same batch, not revived... */
	assert_false(fake_range_mapped(&k2, IOVA(0), K4));
	assert_int_equal(stats().revive_disarmed, 1);
	assert_int_equal(svio_iommu_poll(dom), 0);

	/* Unregistering ends the promise the same way. */
	map(VA(0), K4, SVIO_DMA_RW);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	assert_int_equal(svio_dma_mem_unregister(VA(0), REGION), 0);
	fake_log_reset();
	map(VA(0), K4, SVIO_DMA_RW);
	assert_int_equal(n_ev(EV_UNMAP), 1);
	assert_int_equal(n_ev(EV_MAP), 1);
	assert_int_equal(stats().revived_maps, 0);
	assert_int_equal(stats().revive_disarmed, 2);
}

static void test_detach_drops_revivable_unmaps(void **state)
{
	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY), 0);
	map(VA(0), K4, SVIO_DMA_RW);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	/* The last device leaves: the kernel forgets every mapping. */
	assert_int_equal(svio_domain_detach(dom, &dev), 0);
	assert_int_equal(fake_mapped_bytes(&k2), 0);
	assert_int_equal(svio_domain_attach(dom, &dev), 0);
	fake_log_reset();
	map(VA(0), K4, SVIO_DMA_RW);
	assert_int_equal(n_ev(EV_MAP), 1);
	assert_true(fake_range_mapped(&k2, IOVA(0), K4));
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_true(fake_range_mapped(&k2, IOVA(0), K4));
	assert_int_equal(stats().revived_maps, 0);
}

static void test_bad_registrations(void **state)
{
	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY), 0);
	assert_int_equal(svio_dma_mem_register(VA(1), K4), -EINVAL);
	assert_int_equal(svio_dma_mem_register(VA(0), 0), -EINVAL);
	assert_int_equal(svio_dma_mem_register(VA(K4), K4), -EEXIST);
	assert_int_equal(svio_dma_mem_unregister(VA(0), K4), -ENOENT);
	assert_int_equal(svio_dma_mem_unregister(VA(REGION), K4), -ENOENT);
}

/* Whether this process sees page frame numbers (CAP_SYS_ADMIN). */
static bool pfns_visible(void *page)
{
	uint64_t pfns[STABLE_MEM_MAX_PFNS];

	return stable_mem_check((uint64_t)(uintptr_t)page, K4, pfns) == STABLE_MEM_PFN;
}

static void test_pages_checked_by_frame(void **state)
{
	char *mem = mmap(NULL, 2 * K4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t a;

	(void)state;
	assert_true(mem != MAP_FAILED);
	memset(mem, 1, 2 * K4);
	a = (uint64_t)(uintptr_t)mem;
	if (!pfns_visible(mem)) {
		munmap(mem, 2 * K4);
		skip(); /* page frame numbers need CAP_SYS_ADMIN */
	}
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY), 0);
	map(mem, K4, SVIO_DMA_RW);
	assert_int_equal(svio_dma_unmap(dom, a, K4), 0);
	map(mem, K4, SVIO_DMA_RW);
	assert_int_equal(stats().revived_maps, 1);
	assert_int_equal(n_ev(EV_MAP), 1);

	/* Another page moves in under the same address: the kernel must pin it. */
	assert_int_equal(svio_dma_unmap(dom, a, K4), 0);
	assert_true(mremap(mem + K4, K4, K4, MREMAP_MAYMOVE | MREMAP_FIXED, mem) == mem);
	fake_log_reset();
	map(mem, K4, SVIO_DMA_RW);
	assert_int_equal(n_ev(EV_UNMAP), 1);
	assert_int_equal(n_ev(EV_MAP), 1);
	assert_int_equal(stats().revived_maps, 1);
	assert_int_equal(stats().revive_misses, 1);
	assert_int_equal(svio_dma_unmap(dom, a, K4), 0);
	assert_int_equal(svio_iommu_sync(dom), 0);
	munmap(mem, K4);
}

static void test_stats_json_names_the_counters(void **state)
{
	struct svio_iommu_stats st;
	char buf[2048] = { 0 };
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY), 0);
	map(VA(0), K4, SVIO_DMA_RW);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	map(VA(0), K4, SVIO_DMA_RW);
	st = stats();
	assert_non_null(f);
	assert_int_equal(svio_iommu_stats_json(&st, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "\"revived_maps\": 1"));
	assert_non_null(strstr(buf, "\"deferred_unmaps\": 1"));
	assert_non_null(strstr(buf, "\"revive_misses\": 0"));
	assert_non_null(strstr(buf, "\"revive_disarmed\": 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_revived_map_reaches_no_kernel, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_maps_reach_the_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unvouched_memory_is_not_revived, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_quarantined_memory_is_not_revived, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_strict_never_revives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_gone_forces_the_unmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach_drops_revivable_unmaps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_registrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages_checked_by_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_json_names_the_counters, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
