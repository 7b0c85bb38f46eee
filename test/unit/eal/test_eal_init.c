/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio_eal_init() end to end with DPDK: failures leave nothing behind and a
 * later call works; the devices named on the command line are probed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_iommu.h"

#define EAL_QUIET "--no-huge", "-m", "64", "--no-shconf", "--no-telemetry", "--log-level=*:error"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static void assert_nothing_left(void)
{
	assert_null(svio_eal_config());
	assert_int_equal(svio_dev_count(SVIO_DEV_KIND_ANY), 0);
	assert_null(svio_domain_default());
}

static void test_failures_then_success(void **state)
{
	char *bad_option[] = { "prog", EAL_QUIET, "--iommu-flush", "sometimes", NULL };
	char *bad_device[] = { "prog", EAL_QUIET, "--vdev", "sim_scratch0", "--vdev",
			       "sim_nosuch0", NULL };
	char *bad_devarg[] = { "prog", EAL_QUIET, "--vdev", "sim_scratch0,colour=red", NULL };
	char *pci_no_backend[] = { "prog", EAL_QUIET, "--iommu", "iommufd", NULL };
	char *good[] = { "prog", EAL_QUIET, "--vdev", "sim_scratch0", "--vdev",
			 "sim_scratch1,iommu=1", "--", "--app-flag", NULL };
	int ret;

	(void)state;
	assert_int_equal(svio_eal_init(ARGC(bad_option), bad_option), -EINVAL);
	assert_nothing_left();
	assert_int_equal(svio_eal_init(ARGC(bad_device), bad_device), -EINVAL);
	assert_nothing_left();
	assert_int_equal(svio_eal_init(ARGC(bad_devarg), bad_devarg), -EINVAL);
	assert_nothing_left();
	assert_true(svio_eal_init(ARGC(pci_no_backend), pci_no_backend) < 0);
	assert_nothing_left();

	ret = svio_eal_init(ARGC(good), good);
	assert_int_equal(ret, 11);
	/* The application's options follow, behind the program name. */
	assert_string_equal(good[ret], "prog");
	assert_string_equal(good[ret + 1], "--app-flag");
	assert_non_null(svio_eal_config());
	assert_int_equal(svio_eal_config()->backend, SVIO_IOMMU_SIM);
	assert_non_null(svio_domain_default());
	assert_non_null(svio_dev_find("sim_scratch0"));
	assert_non_null(svio_dev_find("sim_scratch0")->driver);
	assert_non_null(svio_dev_find("sim_scratch1")->driver);
	assert_int_equal(svio_dev_count(SVIO_DEV_KIND_SCRATCH), 2);

	assert_int_equal(svio_eal_init(ARGC(good), good), -EALREADY);
	assert_int_equal(svio_eal_cleanup(), 0);
	assert_nothing_left();
	assert_int_equal(svio_eal_cleanup(), -EALREADY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failures_then_success),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
