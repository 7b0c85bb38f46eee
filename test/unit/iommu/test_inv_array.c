/* SPDX-License-Identifier: BSD-3-Clause */
/* The invalidation array: order, de-duplication with user counts, removal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "svio_dev.h"
#include "inv_array.h"

static struct svio_iommu inst0 = { .index = 0 }, inst1 = { .index = 1 };
static struct svio_device dev_a, dev_b, dev_c, dev_d;

static struct inv_dev mkdev(struct svio_device *dev, struct svio_iommu *iommu, uint32_t sid,
			    uint16_t did, bool ats)
{
	dev->dma.sid = sid;
	return (struct inv_dev){ .dev = dev, .iommu = iommu, .sid = sid, .did = did, .ats = ats };
}

static void assert_tag(const struct inv_tag *t, struct svio_iommu *iommu, int kind, uint32_t key,
		       uint32_t users)
{
	assert_ptr_equal(t->iommu, iommu);
	assert_int_equal(t->kind, kind);
	assert_int_equal(kind == SVIO_INV_IOTLB ? t->did : t->sid, key);
	assert_int_equal(t->pasid, 7);
	assert_int_equal(t->users, users);
}

static void test_order_and_dedup(void **state)
{
	struct inv_dev a = mkdev(&dev_a, &inst1, 0x20, 5, true);
	struct inv_dev b = mkdev(&dev_b, &inst0, 0x11, 3, true);
	struct inv_dev c = mkdev(&dev_c, &inst0, 0x10, 3, true);
	struct inv_dev d = mkdev(&dev_d, &inst0, 0x12, 3, false);
	struct inv_array *a1, *a2, *a3, *a4, *r1, *r2, *r3;
	bool last;

	(void)state;
	a1 = inv_array_add(NULL, &a, 7);
	a2 = inv_array_add(a1, &b, 7);
	a3 = inv_array_add(a2, &c, 7);
	a4 = inv_array_add(a3, &d, 7);
	assert_non_null(a4);
	/* The old arrays are untouched copies (readers may still walk them). */
	assert_int_equal(a1->n_tags, 2);
	assert_int_equal(a3->n_tags, 5);

	/* Instance 0 first; its IOTLB tag once with 3 users; its DEVTLBs by sid. */
	assert_int_equal(a4->n_tags, 5);
	assert_tag(&a4->tags[0], &inst0, SVIO_INV_IOTLB, 3, 3);
	assert_tag(&a4->tags[1], &inst0, SVIO_INV_DEVTLB, 0x10, 1);
	assert_tag(&a4->tags[2], &inst0, SVIO_INV_DEVTLB, 0x11, 1);
	assert_tag(&a4->tags[3], &inst1, SVIO_INV_IOTLB, 5, 1);
	assert_tag(&a4->tags[4], &inst1, SVIO_INV_DEVTLB, 0x20, 1);
	assert_int_equal(a4->n_devs, 4);
	assert_ptr_equal(inv_array_find_dev(a4, &dev_d)->dev, &dev_d);
	assert_int_equal(inv_array_find_did(a4, &inst1), 5);
	assert_int_equal(inv_array_find_did(a4, &inst0), 3);
	assert_true(inv_array_has_iommu(a4, &inst1));

	/* Removing a sharer keeps the IOTLB tag with one user less. */
	r1 = inv_array_remove(a4, &dev_b, 7, &last);
	assert_non_null(r1);
	assert_false(last);
	assert_int_equal(r1->n_tags, 4);
	assert_tag(&r1->tags[0], &inst0, SVIO_INV_IOTLB, 3, 2);
	assert_tag(&r1->tags[1], &inst0, SVIO_INV_DEVTLB, 0x10, 1);
	assert_null(inv_array_find_dev(r1, &dev_b));
	assert_null(inv_array_remove(r1, &dev_b, 7, &last));

	r2 = inv_array_remove(r1, &dev_c, 7, &last);
	assert_false(last);
	r3 = inv_array_remove(r2, &dev_d, 7, &last);
	assert_true(last);
	assert_int_equal(r3->n_tags, 2);
	assert_int_equal(inv_array_find_did(r3, &inst0), -ENOENT);
	assert_false(inv_array_has_iommu(r3, &inst0));
	assert_int_equal(r3->n_devs, 1);

	inv_array_free(a1);
	inv_array_free(a2);
	inv_array_free(a3);
	inv_array_free(a4);
	inv_array_free(r1);
	inv_array_free(r2);
	inv_array_free(r3);
}

static void test_publish_and_read(void **state)
{
	struct inv_dev a = mkdev(&dev_a, &inst0, 0x20, 1, false);
	struct inv_array *slot = NULL, *arr = inv_array_add(NULL, &a, 7);

	(void)state;
	inv_array_publish(&slot, arr);
	inv_array_read_lock();
	assert_ptr_equal(inv_array_get(&slot), arr);
	inv_array_read_unlock();
	inv_array_synchronize();
	inv_array_free(arr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_dedup),
		cmocka_unit_test(test_publish_and_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
