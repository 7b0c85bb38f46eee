/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Domains against the fake backend: registry, attach/detach rules and
 * their ordering, domain ids, PASIDs, map/unmap input checks, IOVA
 * allocation without SVA, config helpers, stats JSON.
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

#define K4	UINT64_C(0x1000)
#define VA(off) ((void *)(uintptr_t)(UINT64_C(0x600000000000) + (off)))

static struct fake_iommu f0;
static struct svio_domain *dom;

static int setup(void **state)
{
	struct svio_iommu_caps caps = fake_caps();
	struct svio_iommu_config cfg;

	(void)state;
	fake_log_reset();
	svio_iommu_config_default(&cfg);
	if (fake_iommu_init(&f0, 0, &caps) < 0)
		return -1;
	return svio_domain_create(&cfg, &dom);
}

static int teardown(void **state)
{
	(void)state;
	svio_domain_destroy(dom);
	dom = NULL;
	return fake_iommu_fini(&f0);
}

static void test_config_helpers(void **state)
{
	struct svio_iommu_config cfg;
	enum svio_flush_policy p;
	struct svio_domain *d;

	(void)state;
	svio_iommu_config_default(&cfg);
	assert_true(cfg.sva);
	assert_int_equal(cfg.policy, SVIO_FLUSH_STRICT);
	assert_int_equal(cfg.flush_batch, SVIO_IOMMU_DEFAULT_BATCH);
	assert_int_equal(cfg.flush_timeout_us, SVIO_IOMMU_DEFAULT_TIMEOUT_US);
	assert_int_equal(svio_flush_policy_parse("lazy", &p), 0);
	assert_int_equal(p, SVIO_FLUSH_LAZY);
	assert_string_equal(svio_flush_policy_name(SVIO_FLUSH_NAIVE), "naive");
	assert_int_equal(svio_flush_policy_parse("Lazy", &p), -EINVAL);
	assert_int_equal(svio_flush_policy_parse("", &p), -EINVAL);
	cfg.flush_batch = 0;
	assert_int_equal(svio_domain_create(&cfg, &d), -EINVAL);
	cfg.flush_batch = 1;
	cfg.policy = (enum svio_flush_policy)7;
	assert_int_equal(svio_domain_create(&cfg, &d), -EINVAL);
	assert_int_equal(svio_domain_create(NULL, &d), -EINVAL);
}

static void test_registry(void **state)
{
	struct svio_iommu_caps caps = fake_caps();
	struct fake_iommu dup, bad;
	struct svio_device dev;

	(void)state;
	assert_int_equal(fake_iommu_init(&dup, 0, &caps), -EEXIST);
	caps.domain_ids = 1;
	assert_int_equal(fake_iommu_init(&bad, 5, &caps), -EINVAL);
	assert_int_equal(svio_iommu_register(NULL), -EINVAL);
	assert_int_equal(svio_iommu_unregister(&bad.iommu), -ENOENT);

	/* Busy while a device is attached through it. */
	fake_dev_init(&dev, &f0, "d", 0x10, true);
	assert_int_equal(svio_domain_attach(dom, &dev), 0);
	assert_int_equal(svio_iommu_unregister(&f0.iommu), -EBUSY);
	assert_int_equal(svio_domain_detach(dom, &dev), 0);
}

static void test_attach_rules(void **state)
{
	struct svio_device a, b, orphan;
	struct fake_ev ev;

	(void)state;
	fake_dev_init(&a, &f0, "a", 0x10, true);
	fake_dev_init(&b, NULL, "b", 0x11, false);
	b.dma.iommu_index = 0; /* resolved by index */
	fake_dev_init(&orphan, NULL, "orphan", 0x12, false);
	orphan.dma.iommu_index = 9;

	assert_int_equal(svio_domain_attach(dom, &a), 0);
	assert_int_equal(svio_domain_attach(dom, &a), -EEXIST);
	assert_int_equal(svio_domain_attach(dom, &b), 0);
	assert_ptr_equal(b.dma.iommu, &f0.iommu);
	assert_int_equal(svio_domain_attach(dom, &orphan), -ENODEV);

	/* Same instance, same domain: one domain id, the domain's PASID. */
	assert_int_equal(fake_log_count(EV_ATTACH, 0, -1), 2);
	ev = fake_log_at(0);
	assert_int_equal(ev.pasid, svio_domain_pasid(dom));
	assert_true(ev.did > 0);
	assert_int_equal(fake_log_at(1).did, ev.did);

	assert_int_equal(svio_domain_detach(dom, &orphan), -ENOENT);
	fake_log_reset();
	assert_int_equal(svio_domain_detach(dom, &a), 0);
	/* Hardware first, then the device-TLB, then one wait; the IOTLB tag is still shared. */
	assert_int_equal(fake_log_at(0).kind, EV_DETACH);
	ev = fake_log_at(1);
	assert_int_equal(ev.kind, EV_INV);
	assert_int_equal(ev.inv.kind, SVIO_INV_DEVTLB);
	assert_true(ev.inv.all);
	assert_int_equal(ev.inv.sid, 0x10);
	assert_int_equal(fake_log_at(2).kind, EV_WAIT_POST);
	assert_int_equal(fake_log_count(EV_INV, -1, SVIO_INV_IOTLB), 0);
	assert_int_equal(svio_domain_detach(dom, &a), -ENOENT);

	/* The last user of the domain id: its IOTLB tag is dropped too. */
	fake_log_reset();
	assert_int_equal(svio_domain_detach(dom, &b), 0);
	assert_int_equal(fake_log_count(EV_INV, -1, SVIO_INV_DEVTLB), 0);
	assert_int_equal(fake_log_count(EV_INV, -1, SVIO_INV_IOTLB), 1);
	assert_true(fake_log_at(1).inv.all);
}

static void test_attach_failure_leaves_nothing(void **state)
{
	struct svio_device a;

	(void)state;
	fake_dev_init(&a, &f0, "a", 0x10, true);
	f0.fail_attach = -EIO;
	assert_int_equal(svio_domain_attach(dom, &a), -EIO);
	assert_int_equal(svio_domain_detach(dom, &a), -ENOENT);
	assert_int_equal(dom->inv->n_tags, 0);
	/* Refused attaches hold nothing: not attached, not busy. */
	f0.fail_attach = -EIO;
	assert_int_equal(svio_domain_attach(dom, &a), -EIO);
	assert_int_equal(svio_iommu_unregister(&f0.iommu), 0);
	/* The instance it resolved to is gone: refused, never used. */
	assert_int_equal(svio_domain_attach(dom, &a), -ENODEV);
	/* Teardown unregisters again. */
	{
		struct svio_iommu_caps caps = fake_caps();

		assert_int_equal(fake_iommu_init(&f0, 0, &caps), 0);
	}
}

static void test_domain_ids_run_out(void **state)
{
	struct svio_iommu_caps caps = fake_caps();
	struct svio_iommu_config cfg;
	struct svio_domain *other;
	struct fake_iommu tiny;
	struct svio_device a, b;

	(void)state;
	caps.domain_ids = 2; /* id 0 reserved: one usable */
	assert_int_equal(fake_iommu_init(&tiny, 3, &caps), 0);
	fake_dev_init(&a, &tiny, "a", 0x20, false);
	fake_dev_init(&b, &tiny, "b", 0x21, false);
	svio_iommu_config_default(&cfg);
	assert_int_equal(svio_domain_create(&cfg, &other), 0);
	assert_int_not_equal(svio_domain_pasid(other), svio_domain_pasid(dom));
	assert_true(svio_domain_pasid(other) > 0);

	assert_int_equal(svio_domain_attach(dom, &a), 0);
	assert_int_equal(svio_domain_attach(other, &b), -ENOSPC);
	assert_int_equal(svio_domain_detach(dom, &a), 0);
	assert_int_equal(svio_domain_attach(other, &b), 0);
	/* Destroy detaches what is left. */
	svio_domain_destroy(other);
	assert_int_equal(fake_iommu_fini(&tiny), 0);
}

static void test_map_input(void **state)
{
	uint64_t iova;

	(void)state;
	assert_int_equal(svio_dma_map(dom, VA(1), K4, SVIO_DMA_RW, &iova), -EINVAL);
	assert_int_equal(svio_dma_map(dom, VA(0), 10, SVIO_DMA_RW, &iova), -EINVAL);
	assert_int_equal(svio_dma_map(dom, VA(0), 0, SVIO_DMA_RW, &iova), -EINVAL);
	assert_int_equal(svio_dma_map(dom, VA(0), K4, 0, &iova), -EINVAL);
	assert_int_equal(svio_dma_map(dom, VA(0), K4, 8, &iova), -EINVAL);
	assert_int_equal(svio_dma_map(dom, VA(0), SIZE_MAX & ~(K4 - 1), SVIO_DMA_RW, &iova),
			 -EINVAL);
	assert_int_equal(svio_dma_map(dom, VA(0), K4, SVIO_DMA_READ, &iova), 0);
	assert_ptr_equal((void *)(uintptr_t)iova, VA(0));
	assert_int_equal(svio_dma_map(dom, VA(0), K4, SVIO_DMA_READ, &iova), -EEXIST);
	assert_int_equal(svio_dma_unmap(dom, iova + 1, K4), -EINVAL);
	assert_int_equal(svio_dma_unmap(dom, iova + K4, K4), -ENOENT);
	assert_int_equal(svio_dma_unmap(dom, iova, K4), 0);
	assert_int_equal(svio_dma_unmap(dom, iova, K4), -ENOENT);
}

static void test_iova_without_sva(void **state)
{
	struct svio_iommu_config cfg;
	struct svio_domain *d;
	uint64_t io1, io2, pa;

	(void)state;
	svio_iommu_config_default(&cfg);
	cfg.sva = false;
	assert_int_equal(svio_domain_create(&cfg, &d), 0);
	assert_false(svio_domain_sva(d));
	assert_int_equal(svio_dma_map(d, VA(0), 2 * K4, SVIO_DMA_RW, &io1), 0);
	assert_int_equal(svio_dma_map(d, VA(0), 2 * K4, SVIO_DMA_RW, &io2), 0);
	assert_true(io1 >= SVIO_IOVA_BASE && io1 < SVIO_IOVA_LIMIT);
	assert_true(io2 >= io1 + 2 * K4);
	assert_int_equal(pgtable_lookup(&d->pgt, io2 + K4, &pa, NULL, NULL), 0);
	assert_int_equal(pa, (uint64_t)(uintptr_t)VA(K4));
	assert_int_equal(svio_dma_unmap(d, io1, 2 * K4), 0);
	assert_int_equal(svio_dma_unmap(d, io2, 2 * K4), 0);
	/* 2 MiB: the IOVA keeps the VA's offset within 2 MiB so large leaves fit. */
	assert_int_equal(svio_dma_map(d, VA(0x200000), 0x200000, SVIO_DMA_RW, &io1), 0);
	assert_int_equal(io1 & 0x1fffff, 0);
	svio_domain_destroy(d);
}

static void test_default_domain_and_json(void **state)
{
	struct svio_iommu_stats st;
	char buf[1024] = { 0 };
	uint64_t iova;
	FILE *f;

	(void)state;
	svio_domain_set_default(dom);
	assert_ptr_equal(svio_domain_default(), dom);
	assert_int_equal(svio_domain_policy(dom), SVIO_FLUSH_STRICT);
	assert_int_equal(svio_dma_map(dom, VA(0), K4, SVIO_DMA_RW, &iova), 0);
	assert_int_equal(svio_iommu_stats_get(dom, &st), 0);
	assert_int_equal(st.maps, 1);
	f = fmemopen(buf, sizeof(buf) - 1, "w");
	assert_non_null(f);
	assert_int_equal(svio_iommu_stats_json(&st, f), 0);
	fclose(f);
	assert_true(buf[0] == '{' && buf[strlen(buf) - 1] == '}');
	assert_non_null(strstr(buf, "\"maps\": 1,"));
	assert_non_null(strstr(buf, "\"desc_wait\": 0"));
	assert_non_null(strstr(buf, "\"queue_errors\": 0"));
	svio_iommu_stats_reset(dom);
	svio_iommu_stats_get(dom, &st);
	assert_int_equal(st.maps, 0);
	/* Destroying the default domain clears it. */
	svio_domain_destroy(dom);
	dom = NULL;
	assert_null(svio_domain_default());
}

/* A device the hardware will not let go may still walk the table: destroy keeps the domain. */
static void test_destroy_keeps_what_cannot_detach(void **state)
{
	struct svio_device d;
	struct svio_iommu_stats st;

	(void)state;
	fake_dev_init(&d, &f0, "stuck", 0x10, false);
	assert_int_equal(svio_domain_attach(dom, &d), 0);
	f0.fail_detach = -EIO;
	svio_domain_destroy(dom); /* returns: no endless retry */
	/* Still allocated and usable: the device is still on it. */
	assert_int_equal(svio_iommu_stats_get(dom, &st), 0);
	assert_int_equal(svio_domain_detach(dom, &d), -EIO);
	/* Once the hardware lets go, destroy can be called again. */
	f0.fail_detach = 0;
	svio_domain_destroy(dom);
	dom = NULL;
}

/*
 * A device whose detach the IOMMU refused, then closed by its bus: the
 * domain forgets it (its caches invalidated as a detach would), so nothing
 * keeps a pointer to a freed device and destroy goes through.
 */
static void test_forget_a_device_its_bus_closed(void **state)
{
	struct svio_device d;

	(void)state;
	fake_dev_init(&d, &f0, "closed", 0x11, true);
	assert_int_equal(svio_domain_attach(dom, &d), 0);
	f0.fail_detach = -EIO;
	assert_int_equal(svio_domain_detach(dom, &d), -EIO);
	f0.fail_detach = 0;
	fake_log_reset();
	svio_domain_forget_device(&d);
	/* Its device-TLB went with it, without another detach at the IOMMU. */
	assert_int_equal(fake_log_count(EV_INV, 0, SVIO_INV_DEVTLB), 1);
	assert_int_equal(fake_log_count(EV_DETACH, 0, -1), 0);
	assert_int_equal(svio_domain_detach(dom, &d), -ENOENT);
	svio_domain_forget_device(&d); /* nothing left: a no-op */
	svio_domain_destroy(dom);
	dom = NULL;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config_helpers),
		T(test_registry),
		T(test_forget_a_device_its_bus_closed),
		T(test_attach_rules),
		T(test_attach_failure_leaves_nothing),
		T(test_domain_ids_run_out),
		T(test_map_input),
		T(test_iova_without_sva),
		T(test_default_domain_and_json),
		T(test_destroy_keeps_what_cannot_detach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
