/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Instances that own their table (caps.first_stage false, like iommufd):
 * map fan-out, unmaps through the flush queue with merged ranges (strict,
 * lazy, naive), quarantine, refused maps and unmaps, attach order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "svio_iommu.h"
#include "iommu_private.h"
#include "fake_iommu.h"

#define K4 UINT64_C(0x1000)
/* Addresses are never dereferenced: the fakes do no DMA. */
#define VA(off)	  ((void *)(uintptr_t)(UINT64_C(0x500000000000) + (off)))
#define IOVA(off) (UINT64_C(0x500000000000) + (off))

static struct fake_iommu k2, k3, f0;
static struct svio_device devs[6];
static struct svio_domain *dom;

static int make_domain(enum svio_flush_policy policy, unsigned int batch)
{
	struct svio_iommu_config cfg;

	svio_iommu_config_default(&cfg);
	cfg.policy = policy;
	cfg.flush_batch = batch;
	cfg.flush_timeout_us = 60000000; /* lazy batches complete on size or sync only */
	return svio_domain_create(&cfg, &dom);
}

static int setup(void **state)
{
	struct svio_iommu_caps kc = fake_caps_kmap(), fc = fake_caps();

	(void)state;
	fake_log_reset();
	if (fake_iommu_init(&k2, 2, &kc) < 0 || fake_iommu_init(&k3, 3, &kc) < 0 ||
	    fake_iommu_init(&f0, 0, &fc) < 0)
		return -1;
	fake_dev_init(&devs[0], &k2, "k2a", 0x200, true);
	fake_dev_init(&devs[1], &k2, "k2b", 0x201, true);
	fake_dev_init(&devs[2], &k3, "k3a", 0x300, false);
	fake_dev_init(&devs[3], &f0, "f0a", 0x100, true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	svio_domain_destroy(dom);
	dom = NULL;
	if (fake_iommu_fini(&k2) < 0 || fake_iommu_fini(&k3) < 0 || fake_iommu_fini(&f0) < 0)
		return -1;
	return 0;
}

static void map(uint64_t off, uint64_t len)
{
	uint64_t iova;

	assert_int_equal(svio_dma_map(dom, VA(off), len, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(iova, IOVA(off));
}

static unsigned int n_ev(enum fake_ev_kind kind, int inst)
{
	return fake_log_count(kind, inst, -1);
}

static void note_release(void *arg)
{
	fake_log_note((int)(intptr_t)arg);
}

static void test_register_needs_map_ops(void **state)
{
	struct svio_iommu_caps fc = fake_caps();
	struct fake_iommu bad;

	(void)state;
	/* First-stage ops (no map/unmap) with caps saying it owns its table. */
	assert_int_equal(fake_iommu_init(&bad, 9, &fc), 0);
	assert_int_equal(fake_iommu_fini(&bad), 0);
	bad.iommu.caps = fake_caps_kmap();
	assert_int_equal(svio_iommu_register(&bad.iommu), -EINVAL);
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256), 0);
}

static void test_map_fan_out(void **state)
{
	struct svio_iommu_stats st;
	struct fake_ev ev;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256), 0);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(svio_domain_attach(dom, &devs[i]), 0);
	fake_log_reset();
	map(0, 4 * K4);
	/* Once per instance owning its table (two devices on k2: still once), none on f0. */
	assert_int_equal(n_ev(EV_MAP, 2), 1);
	assert_int_equal(n_ev(EV_MAP, 3), 1);
	assert_int_equal(n_ev(EV_MAP, 0), 0);
	ev = fake_log_at((unsigned int)fake_log_find(EV_MAP, 2, 0));
	assert_true(ev.addr == IOVA(0) && ev.len == 4 * K4);
	assert_int_equal(ev.code, SVIO_DMA_RW);
	assert_int_equal(fake_mapped_bytes(&k2), 4 * K4);
	assert_int_equal(fake_mapped_bytes(&k3), 4 * K4);

	/* Strict unmap: one unmap() each, and f0's usual IOTLB + device-TLB + wait only. */
	fake_log_reset();
	svio_iommu_stats_reset(dom);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), 4 * K4), 0);
	assert_int_equal(n_ev(EV_UNMAP, 2), 1);
	assert_int_equal(n_ev(EV_UNMAP, 3), 1);
	assert_int_equal(fake_log_count(EV_INV, 2, -1) + fake_log_count(EV_INV, 3, -1), 0);
	assert_int_equal(n_ev(EV_WAIT_POST, 2) + n_ev(EV_WAIT_POST, 3), 0);
	assert_int_equal(fake_log_count(EV_INV, 0, SVIO_INV_IOTLB), 1);
	assert_int_equal(fake_log_count(EV_INV, 0, SVIO_INV_DEVTLB), 1);
	assert_int_equal(n_ev(EV_WAIT_POST, 0), 1);
	assert_int_equal(fake_mapped_bytes(&k2) + fake_mapped_bytes(&k3), 0);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.kernel_unmaps, 2);
	assert_int_equal(st.kernel_unmap_errors, 0);
	assert_int_equal(st.batches, 1);
}

static void test_strict_one_unmap_per_merged_range(void **state)
{
	struct svio_iommu_stats st;
	int unmap_at, note_at;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[0]), 0);
	map(0, 2 * K4);
	map(2 * K4, K4);
	svio_iommu_stats_reset(dom);
	fake_log_reset();
	/* Two adjacent maps in one unmap: one merged range, one call. */
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(0), 3 * K4, note_release, (void *)7), 0);
	assert_int_equal(n_ev(EV_UNMAP, 2), 1);
	assert_true(fake_log_at(0).addr == IOVA(0) && fake_log_at(0).len == 3 * K4);
	/* Quarantine: the memory comes back only after the kernel let go of it. */
	unmap_at = fake_log_find(EV_UNMAP, 2, 0);
	note_at = fake_log_find(EV_NOTE, -1, 0);
	assert_true(unmap_at >= 0 && note_at > unmap_at);
	assert_int_equal(fake_log_at((unsigned int)note_at).code, 7);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.kernel_unmaps, 1);
	assert_int_equal(st.desc_iotlb + st.desc_devtlb + st.desc_wait, 0);
	assert_int_equal(st.released, 1);
}

static void test_lazy_merges_across_unmaps(void **state)
{
	struct svio_iommu_stats st;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY, 6), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[0]), 0);
	for (unsigned int p = 0; p < 8; p++)
		map(p * K4, K4);
	fake_log_reset();
	svio_iommu_stats_reset(dom);
	/* Pages 0..3 and 5..6, out of order: two merged ranges when the sixth arrives. */
	static const unsigned int order[] = { 2, 0, 6, 3, 1 };
	for (unsigned int i = 0; i < 5; i++) {
		assert_int_equal(svio_dma_unmap_release(dom, IOVA(order[i] * K4), K4, note_release,
							(void *)(intptr_t)order[i]),
				 0);
		assert_int_equal(fake_log_len(), 0); /* nothing reaches the kernel yet */
	}
	assert_int_equal(fake_mapped_bytes(&k2), 8 * K4);
	assert_int_equal(svio_dma_unmap(dom, IOVA(5 * K4), K4), 0);
	assert_int_equal(n_ev(EV_UNMAP, 2), 2);
	assert_true(fake_log_at(0).addr == IOVA(0) && fake_log_at(0).len == 4 * K4);
	assert_true(fake_log_at(1).addr == IOVA(5 * K4) && fake_log_at(1).len == 2 * K4);
	/* Every release after both unmaps. */
	assert_int_equal(fake_log_find(EV_NOTE, -1, 0), 2);
	assert_int_equal(fake_log_count(EV_NOTE, -1, -1), 5);
	assert_int_equal(fake_mapped_bytes(&k2), 2 * K4);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.kernel_unmaps, 2);
	assert_int_equal(st.batches, 1);
	assert_int_equal(st.batch_ranges, 2);
	assert_int_equal(st.unmaps, 6);
}

static void test_lazy_remap_flushes_first(void **state)
{
	int unmap_at, map_at;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY, 256), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[0]), 0);
	map(0, 2 * K4);
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(0), 2 * K4, note_release, (void *)3), 0);
	fake_log_reset();
	/* Same buffer again while its unmap is queued: the queue is flushed, then it maps. */
	map(0, 2 * K4);
	unmap_at = fake_log_find(EV_UNMAP, 2, 0);
	map_at = fake_log_find(EV_MAP, 2, 0);
	assert_true(unmap_at >= 0 && map_at > unmap_at);
	assert_int_equal(fake_log_count(EV_NOTE, -1, -1), 1);
	assert_int_equal(fake_mapped_bytes(&k2), 2 * K4);
	/* A real overlap still fails. */
	assert_int_equal(svio_dma_map(dom, VA(K4), K4, SVIO_DMA_RW, &(uint64_t){ 0 }), -EEXIST);
}

static void test_naive_one_unmap_each(void **state)
{
	struct svio_iommu_stats st;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_NAIVE, 256), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[0]), 0);
	map(0, K4);
	map(K4, K4);
	fake_log_reset();
	svio_iommu_stats_reset(dom);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	assert_int_equal(svio_dma_unmap(dom, IOVA(K4), K4), 0);
	assert_int_equal(n_ev(EV_UNMAP, 2), 2);
	assert_int_equal(n_ev(EV_INV, -1) + n_ev(EV_WAIT_POST, -1), 0);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.kernel_unmaps, 2);
}

static void test_failed_map_leaves_nothing(void **state)
{
	struct svio_iommu_stats st;
	uint64_t iova;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[0]), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[2]), 0);
	fake_log_reset();
	k3.fail_map = -ENOMEM;
	assert_int_equal(svio_dma_map(dom, VA(0), 4 * K4, SVIO_DMA_RW, &iova), -ENOMEM);
	/* k2 mapped first and was undone; neither fake nor the core's table holds it. */
	assert_int_equal(n_ev(EV_MAP, 2), 1);
	assert_int_equal(n_ev(EV_UNMAP, 2), 1);
	assert_int_equal(fake_mapped_bytes(&k2) + fake_mapped_bytes(&k3), 0);
	assert_int_equal(pgtable_lookup(&dom->pgt, IOVA(0), NULL, NULL, NULL), -ENOENT);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), 4 * K4), -ENOENT);

	/* A first page the core's table holds already: refused before any kernel call. */
	assert_int_equal(pgtable_map(&dom->pgt, IOVA(17 * K4), IOVA(17 * K4), K4, SVIO_DMA_RW), 0);
	fake_log_reset();
	assert_int_equal(svio_dma_map(dom, VA(17 * K4), K4, SVIO_DMA_RW, &iova), -EEXIST);
	assert_int_equal(n_ev(EV_MAP, 2) + n_ev(EV_MAP, 3), 0);
	/* The core's own table refusing a later page undoes the instances' maps too. */
	assert_int_equal(svio_dma_map(dom, VA(16 * K4), 2 * K4, SVIO_DMA_RW, &iova), -EEXIST);
	assert_int_equal(n_ev(EV_MAP, 2), 1);
	assert_int_equal(n_ev(EV_MAP, 3), 1);
	assert_int_equal(n_ev(EV_UNMAP, 2), 1);
	assert_int_equal(n_ev(EV_UNMAP, 3), 1);
	assert_int_equal(fake_mapped_bytes(&k2) + fake_mapped_bytes(&k3), 0);
	/* An instance refusing an overlap never reaches the core's table. */
	map(0, 4 * K4);
	assert_int_equal(svio_dma_map(dom, VA(2 * K4), K4, SVIO_DMA_RW, &iova), -EEXIST);
	assert_int_equal(fake_mapped_bytes(&k2), 4 * K4);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.maps, 1);
}

static int make_domain_nosva(enum svio_flush_policy policy)
{
	struct svio_iommu_config cfg;

	svio_iommu_config_default(&cfg);
	cfg.sva = false;
	cfg.policy = policy;
	cfg.flush_timeout_us = 60000000;
	return svio_domain_create(&cfg, &dom);
}

/*
 * An unmap that cleared several runs: the kernel unmaps those runs alone. Its
 * unmap removes every map inside the range it is given, so unmapping the span
 * would take a map made in a hole since.
 */
static void test_holes_stay_mapped_in_the_kernel(void **state)
{
	uint64_t a, b, c, d;

	(void)state;
	/* SVA: the hole is mapped while the unmap around it waits in the lazy queue. */
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY, 256), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[0]), 0);
	map(0, K4);
	map(2 * K4, K4);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), 3 * K4), 0);
	map(K4, K4);
	fake_log_reset();
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(n_ev(EV_UNMAP, 2), 2);
	assert_true(fake_range_mapped(&k2, IOVA(K4), K4));
	assert_int_equal(fake_mapped_bytes(&k2), K4);
	svio_domain_destroy(dom);

	/* Without SVA: the hole's IOVA was freed and is handed out again meanwhile. */
	assert_int_equal(make_domain_nosva(SVIO_FLUSH_LAZY), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[0]), 0);
	assert_int_equal(svio_dma_map(dom, VA(0), K4, SVIO_DMA_RW, &a), 0);
	assert_int_equal(svio_dma_map(dom, VA(K4), K4, SVIO_DMA_RW, &b), 0);
	assert_int_equal(svio_dma_map(dom, VA(2 * K4), K4, SVIO_DMA_RW, &c), 0);
	assert_true(b == a + K4 && c == b + K4);
	assert_int_equal(svio_dma_unmap(dom, b, K4), 0);
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(svio_dma_unmap(dom, a, 3 * K4), 0);
	assert_int_equal(svio_dma_map(dom, VA(8 * K4), K4, SVIO_DMA_RW, &d), 0);
	assert_int_equal(d, b);
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_true(fake_range_mapped(&k2, d, K4));
	assert_int_equal(fake_mapped_bytes(&k2), K4);
	assert_int_equal(svio_dma_unmap(dom, d, K4), 0);
}

/* A map whose undo a kernel refused stays mapped there: its IOVA is never handed out again. */
static void test_stuck_undo_keeps_iova(void **state)
{
	struct svio_iommu_stats st;
	uint64_t a, b;

	(void)state;
	assert_int_equal(make_domain_nosva(SVIO_FLUSH_STRICT), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[0]), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[2]), 0);
	assert_int_equal(svio_dma_map(dom, VA(0), K4, SVIO_DMA_RW, &a), 0);
	assert_int_equal(svio_dma_unmap(dom, a, K4), 0);
	/* k2 maps, k3 refuses, k2's undo fails too. */
	k3.fail_map = -ENOMEM;
	k2.fail_unmap = -EIO;
	assert_int_equal(svio_dma_map(dom, VA(0), K4, SVIO_DMA_RW, &b), -ENOMEM);
	assert_true(fake_range_mapped(&k2, a, K4));
	/* The next map of that size gets other space, and succeeds. */
	assert_int_equal(svio_dma_map(dom, VA(K4), K4, SVIO_DMA_RW, &b), 0);
	assert_true(b != a);
	assert_int_equal(svio_dma_unmap(dom, b, K4), 0);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.iova_free_refused, 0);
}

static void test_refused_unmap_stays_quarantined(void **state)
{
	struct svio_iommu_stats st;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[0]), 0);
	map(0, 4 * K4);
	map(8 * K4, K4);
	fake_log_reset();
	svio_iommu_stats_reset(dom);
	/* Half a map: the kernel cannot split it, the memory must not come back. */
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(0), 2 * K4, note_release, (void *)1),
			 -ENOENT);
	assert_int_equal(fake_log_count(EV_NOTE, -1, -1), 0);
	assert_int_equal(fake_mapped_bytes(&k2), 5 * K4);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.kernel_unmap_errors, 1);
	assert_int_equal(st.released, 0);
	/* The queue is not stuck behind it. */
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(8 * K4), K4, note_release, (void *)2), 0);
	assert_int_equal(fake_log_count(EV_NOTE, -1, -1), 1);
	assert_int_equal(fake_mapped_bytes(&k2), 4 * K4);
}

static void test_lazy_refusal_retried_per_unmap(void **state)
{
	struct svio_iommu_stats st;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_LAZY, 256), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[0]), 0);
	map(0, K4);
	map(K4, K4);
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(0), K4, note_release, (void *)1), 0);
	assert_int_equal(svio_dma_unmap_release(dom, IOVA(K4), K4, note_release, (void *)2), 0);
	fake_log_reset();
	svio_iommu_stats_reset(dom);
	/* The merged call fails once: each unmap alone then goes through. */
	k2.fail_unmap = -EBUSY;
	assert_int_equal(svio_iommu_sync(dom), 0);
	assert_int_equal(n_ev(EV_UNMAP, 2), 3);
	assert_int_equal(fake_log_at(0).len, 2 * K4);
	assert_int_equal(fake_log_at(0).code, -EBUSY);
	assert_int_equal(fake_log_count(EV_NOTE, -1, -1), 2);
	assert_int_equal(fake_mapped_bytes(&k2), 0);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.kernel_unmap_errors, 0);
	assert_int_equal(st.kernel_unmaps, 3);
}

static void test_attach_order(void **state)
{
	struct fake_ev ev;

	(void)state;
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256), 0);
	map(0, K4);
	/* Mappings are not replayed: the first device of k2 must come first. */
	assert_int_equal(svio_domain_attach(dom, &devs[0]), -EBUSY);
	/* A first-stage instance does not care. */
	assert_int_equal(svio_domain_attach(dom, &devs[3]), 0);
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	assert_int_equal(svio_domain_attach(dom, &devs[0]), 0);
	map(0, K4);
	/* More devices on an instance that holds the mappings already: fine. */
	assert_int_equal(svio_domain_attach(dom, &devs[1]), 0);
	fake_log_reset();
	assert_int_equal(svio_domain_detach(dom, &devs[0]), 0);
	assert_int_equal(n_ev(EV_UNMAP, 2), 0);
	/* The last one out takes every mapping of the domain with it. */
	assert_int_equal(svio_domain_detach(dom, &devs[1]), 0);
	assert_int_equal(n_ev(EV_UNMAP, 2), 1);
	ev = fake_log_at((unsigned int)fake_log_find(EV_UNMAP, 2, 0));
	assert_true(ev.addr == 0 && ev.len == UINT64_C(1) << 48);
	assert_int_equal(fake_mapped_bytes(&k2), 0);
	/* Later unmaps no longer reach it. */
	assert_int_equal(svio_dma_unmap(dom, IOVA(0), K4), 0);
	assert_int_equal(n_ev(EV_UNMAP, 2), 1);
}

static void test_stats_json(void **state)
{
	struct svio_iommu_stats st = { .kernel_unmaps = 3 };
	char buf[2048] = { 0 };
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	(void)state;
	assert_non_null(f);
	assert_int_equal(svio_iommu_stats_json(&st, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "\"kernel_unmaps\": 3"));
	assert_non_null(strstr(buf, "\"kernel_maps\": 0"));
	assert_non_null(strstr(buf, "\"kernel_unmap_errors\": 0"));
	assert_int_equal(make_domain(SVIO_FLUSH_STRICT, 256), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_needs_map_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_fan_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strict_one_unmap_per_merged_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lazy_merges_across_unmaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazy_remap_flushes_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_naive_one_unmap_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_map_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holes_stay_mapped_in_the_kernel, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stuck_undo_keeps_iova, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_unmap_stays_quarantined, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lazy_refusal_retried_per_unmap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_attach_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_json, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
