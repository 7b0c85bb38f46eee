/* SPDX-License-Identifier: BSD-3-Clause */
/* Device registry, devargs and probe, on the sim bus with the scratch device. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "svio_dev.h"
#include "eal_private.h"
#include "scratch_hw.h"

static int setup(void **state)
{
	(void)state;
	return svio_builtin_register();
}

static int teardown(void **state)
{
	(void)state;
	svio_dev_remove_all();
	svio_builtin_unregister();
	return 0;
}

static void test_parse_u64(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(svio_parse_u64("0", false, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(svio_parse_u64("0x10", false, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(svio_parse_u64("4k", true, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(svio_parse_u64("1G", true, &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(svio_parse_u64("2TiB", true, &v), 0);
	assert_int_equal(v, 2ull << 40);
	assert_int_equal(svio_parse_u64("1K", false, &v), -EINVAL);
	assert_int_equal(svio_parse_u64("1Q", true, &v), -EINVAL);
	assert_int_equal(svio_parse_u64("-1", false, &v), -EINVAL);
	assert_int_equal(svio_parse_u64("+1", false, &v), -EINVAL);
	assert_int_equal(svio_parse_u64(" 1", false, &v), -EINVAL);
	assert_int_equal(svio_parse_u64("", false, &v), -EINVAL);
	assert_int_equal(svio_parse_u64("18446744073709551615", false, &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(svio_parse_u64("18446744073709551616", false, &v), -ERANGE);
	assert_int_equal(svio_parse_u64("20000000T", true, &v), -ERANGE);
}

static void test_add_errors(void **state)
{
	static const struct {
		const char *arg;
		int rc;
	} cases[] = {
		{ "", -EINVAL },
		{ ",iommu=1", -EINVAL },
		{ "foo0", -ENODEV },
		{ "sim_bogus0", -EINVAL },
		{ "sim_scratch", -EINVAL },
		{ "sim_scratchX", -EINVAL },
		{ "sim_scratch1,iommu=x", -EINVAL },
		{ "sim_scratch1,iommu=99", -EINVAL },
		{ "sim_scratch1,colour=red", -EINVAL },
		{ "sim_scratch1,ats=maybe", -EINVAL },
		{ "sim_scratch1,ats=off,pri=on", -EINVAL },
		{ "sim_scratch1,iommu", -EINVAL },
		{ "sim_scratch1,iommu=", -EINVAL },
		{ "sim_scratch1,iommu=1,iommu=2", -EINVAL },
		{ "sim_scratch1,numa=-1", -EINVAL },
		{ "sim_scratch1,numa=4294967296", -EINVAL },
		{ "sim_scratch1,numa=99999", -EINVAL },
		{ "sim_scratch00000000000000000000000000000000000000000000000000000000000000001",
		  -EINVAL },
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = svio_dev_add(cases[i].arg, NULL);

		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d, expected %d", cases[i].arg, rc, cases[i].rc);
	}
	assert_int_equal(svio_dev_count(SVIO_DEV_KIND_ANY), 0);
	assert_int_equal(svio_dev_add("sim_scratch0", NULL), 0);
	assert_int_equal(svio_dev_add("sim_scratch0,iommu=1", NULL), -EEXIST);
	assert_int_equal(svio_dev_count(SVIO_DEV_KIND_ANY), 1);
}

static void test_devargs(void **state)
{
	struct svio_device *dev, *dev2;
	uint64_t v = 7;
	bool b = false;

	(void)state;
	assert_int_equal(svio_dev_add("sim_scratch3,iommu=2,ats=off,numa=1", &dev), 0);
	assert_string_equal(dev->name, "sim_scratch3");
	assert_int_equal(dev->kind, SVIO_DEV_KIND_SCRATCH);
	assert_int_equal(dev->numa_node, 1);
	assert_string_equal(svio_dev_arg(dev, "iommu"), "2");
	assert_null(svio_dev_arg(dev, "pasid"));
	assert_int_equal(svio_dev_arg_u64(dev, "iommu", &v), 0);
	assert_int_equal(v, 2);
	v = 7;
	assert_int_equal(svio_dev_arg_u64(dev, "pasid", &v), 0); /* absent: untouched */
	assert_int_equal(v, 7);
	assert_int_equal(svio_dev_arg_bool(dev, "ats", &b), 0);
	assert_false(b);
	assert_int_equal(dev->dma.iommu_index, 2);
	assert_false(dev->dma.ats);
	assert_false(dev->dma.pri); /* PRI goes with ATS */
	assert_true(dev->dma.pasid);

	assert_int_equal(svio_dev_add("sim_scratch4", &dev2), 0);
	assert_int_equal(dev2->dma.iommu_index, 0);
	assert_true(dev2->dma.ats && dev2->dma.pri);
	assert_int_not_equal(dev->dma.sid, dev2->dma.sid);
	assert_ptr_equal(svio_dev_find("sim_scratch4"), dev2);
	assert_null(svio_dev_find("sim_scratch5"));
	assert_ptr_equal(svio_dev_next(NULL), dev);
	assert_ptr_equal(svio_dev_next(dev), dev2);
}

static void test_probe_and_registers(void **state)
{
	struct svio_device *dev;
	uint64_t v;
	unsigned int i;

	(void)state;
	assert_int_equal(svio_dev_add("sim_scratch0", &dev), 0);
	assert_null(dev->driver);
	assert_int_equal(svio_dev_probe_all(), 0);
	assert_non_null(dev->driver);
	assert_string_equal(dev->driver->name, "scratch");

	assert_int_equal(svio_reg_read64(dev, 0, SCRATCH_REG_ID, &v), 0);
	assert_int_equal(v, SCRATCH_ID);
	for (i = 0; i < SCRATCH_NREGS; i++)
		assert_int_equal(svio_reg_write64(dev, 0, SCRATCH_REG_SCRATCH + 8 * i, 0x1000 + i),
				 0);
	for (i = 0; i < SCRATCH_NREGS; i++) {
		assert_int_equal(svio_reg_read64(dev, 0, SCRATCH_REG_SCRATCH + 8 * i, &v), 0);
		assert_int_equal(v, 0x1000 + i);
	}
	/* Read-only registers keep their value; bad accesses are refused. */
	assert_int_equal(svio_reg_write64(dev, 0, SCRATCH_REG_ID, 0), 0);
	assert_int_equal(svio_reg_read64(dev, 0, SCRATCH_REG_ID, &v), 0);
	assert_int_equal(v, SCRATCH_ID);
	assert_int_equal(svio_reg_read64(dev, 1, 0, &v), -EINVAL);
	assert_int_equal(svio_reg_read64(dev, 0, SCRATCH_BAR0_SIZE, &v), -EINVAL);
	assert_int_equal(svio_reg_read64(dev, 0, 4, &v), -EINVAL);
}

/* A bus with a device kind no driver claims. */
static bool orphan_claims(const char *name)
{
	return strncmp(name, "orphan", 6) == 0;
}

static int orphan_add(const char *name, const char *args, struct svio_device **out)
{
	static struct svio_device dev;

	(void)args;
	memset(&dev, 0, sizeof(dev));
	snprintf(dev.name, sizeof(dev.name), "%s", name);
	dev.kind = SVIO_DEV_KIND_NET;
	*out = &dev;
	return 0;
}

static void orphan_release(struct svio_device *dev)
{
	(void)dev;
}

static struct svio_bus orphan_bus = {
	.name = "orphan",
	.claims = orphan_claims,
	.add = orphan_add,
	.release = orphan_release,
};

static void test_unclaimed(void **state)
{
	(void)state;
	assert_int_equal(svio_bus_register(&orphan_bus), 0);
	assert_int_equal(svio_bus_register(&orphan_bus), 0); /* idempotent */
	assert_ptr_equal(svio_bus_find("orphan"), &orphan_bus);
	assert_int_equal(svio_dev_add("orphan0", NULL), 0);
	assert_int_equal(svio_dev_probe_all(), -ENODEV);
	svio_dev_remove_all();
	svio_bus_unregister(&orphan_bus);
	assert_null(svio_bus_find("orphan"));
}

static int dummy_probe(struct svio_driver *drv, struct svio_device *dev)
{
	(void)drv, (void)dev;
	return 0;
}

static void test_register_errors(void **state)
{
	struct svio_driver dup = { .name = "scratch", .probe = dummy_probe };
	struct svio_driver noprobe = { .name = "x" };
	struct svio_bus dupbus = { .name = "sim", .claims = orphan_claims, .add = orphan_add };

	(void)state;
	assert_int_equal(svio_driver_register(&dup), -EEXIST);
	assert_int_equal(svio_driver_register(&noprobe), -EINVAL);
	assert_int_equal(svio_driver_register(NULL), -EINVAL);
	assert_int_equal(svio_bus_register(&dupbus), -EEXIST);
	assert_int_equal(svio_bus_register(NULL), -EINVAL);
}

static int intr_count;

static void count_intr(struct svio_device *dev, unsigned int vector, void *arg)
{
	(void)dev;
	intr_count += (int)vector + *(int *)arg;
}

static void test_interrupts(void **state)
{
	struct svio_device *dev;
	int one = 1;

	(void)state;
	assert_int_equal(svio_dev_add("sim_scratch0", &dev), 0);
	assert_int_equal(svio_dev_intr_raise(dev, 2), -ENOENT);
	assert_int_equal(svio_dev_intr_register(dev, 2, count_intr, &one), 0);
	assert_int_equal(svio_dev_intr_register(dev, 2, count_intr, &one), -EBUSY);
	assert_int_equal(svio_dev_intr_register(dev, SVIO_DEV_MAX_VECTORS, count_intr, &one),
			 -EINVAL);
	intr_count = 0;
	assert_int_equal(svio_dev_intr_raise(dev, 2), 0);
	assert_int_equal(intr_count, 3);
	svio_dev_intr_unregister(dev, 2);
	assert_int_equal(svio_dev_intr_raise(dev, 2), -ENOENT);
	assert_int_equal(svio_dev_intr_raise(dev, 99), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test_setup_teardown(test_add_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devargs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_and_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unclaimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
