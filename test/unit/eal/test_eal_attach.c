/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio_eal_attach(): svio started inside a DPDK that already runs (what a
 * DPDK driver such as net_svio does). Only svio's options are taken; DPDK's
 * are refused by name; failures leave nothing behind; cleanup stops svio but
 * leaves DPDK running.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include <cmocka.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_iommu.h"
#include "svio_net.h"
#include "svio_test_eal.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static FILE *log_file;

static void log_begin(void)
{
	log_file = tmpfile();
	assert_non_null(log_file);
	rte_openlog_stream(log_file);
}

static bool log_has(const char *s)
{
	char buf[8192];
	size_t n;

	fflush(log_file);
	rewind(log_file);
	n = fread(buf, 1, sizeof(buf) - 1, log_file);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

static void log_end(void)
{
	rte_openlog_stream(NULL);
	fclose(log_file);
	log_file = NULL;
}

static void assert_nothing_left(void)
{
	assert_null(svio_eal_config());
	assert_int_equal(svio_dev_count(SVIO_DEV_KIND_ANY), 0);
	assert_null(svio_domain_default());
}

static void test_before_dpdk(void **state)
{
	char *args[] = { "net_svio", "--vdev", "sim_vnet0", NULL };

	(void)state;
	log_begin();
	assert_int_equal(svio_eal_attach(ARGC(args), args), -EINVAL);
	assert_true(log_has("DPDK is not running"));
	log_end();
	assert_nothing_left();
}

static void test_refuses_dpdk_options(void **state)
{
	char *eal_opt[] = { "net_svio", "--vdev", "sim_vnet0", "--no-huge", NULL };
	char *dpdk_dev[] = { "net_svio", "--vdev", "net_null0", NULL };
	char *app_opt[] = { "net_svio", "--vdev", "sim_vnet0", "--", "--rxq=2", NULL };
	char *bad_value[] = { "net_svio", "--iommu-flush", "sometimes", NULL };

	(void)state;
	log_begin();
	assert_int_equal(svio_eal_attach(ARGC(eal_opt), eal_opt), -EINVAL);
	assert_true(log_has("--no-huge is not a svio option"));
	assert_nothing_left();
	assert_int_equal(svio_eal_attach(ARGC(dpdk_dev), dpdk_dev), -EINVAL);
	assert_true(log_has("--vdev net_null0 is no svio device"));
	assert_nothing_left();
	assert_int_equal(svio_eal_attach(ARGC(app_opt), app_opt), -EINVAL);
	assert_true(log_has("'--rxq=2' after '--'"));
	assert_nothing_left();
	assert_int_equal(svio_eal_attach(ARGC(bad_value), bad_value), -EINVAL);
	assert_true(log_has("--iommu-flush sometimes"));
	log_end();
	assert_nothing_left();
}

static void test_attach_then_cleanup(void **state)
{
	char *args[] = { "net_svio", "--vdev",	  "sim_vnet0,wire=pair:sim_vnet1",
			 "--vdev",   "sim_vnet1", "--iommu-flush",
			 "lazy",     NULL };
	uint16_t port;

	(void)state;
	assert_int_equal(svio_eal_attach(ARGC(args), args), 0);
	assert_non_null(svio_eal_config());
	assert_int_equal(svio_eal_config()->domain.policy, SVIO_FLUSH_LAZY);
	assert_non_null(svio_domain_default());
	assert_int_equal(svio_net_count(), 2);
	assert_int_equal(svio_net_port_by_name("sim_vnet1", &port), 0);
	assert_int_equal(svio_eal_attach(ARGC(args), args), -EALREADY);

	assert_int_equal(svio_eal_cleanup(), 0);
	assert_nothing_left();
	/* DPDK keeps running: svio may come up again. */
	assert_true(rte_lcore_count() > 0);
	assert_int_equal(svio_eal_attach(ARGC(args), args), 0);
	assert_int_equal(svio_net_count(), 2);
	assert_int_equal(svio_eal_cleanup(), 0);
	assert_nothing_left();
}

int main(void)
{
	const struct CMUnitTest before[] = {
		cmocka_unit_test(test_before_dpdk),
	};
	const struct CMUnitTest after[] = {
		cmocka_unit_test(test_refuses_dpdk_options),
		cmocka_unit_test(test_attach_then_cleanup),
	};
	int rc;

	rc = cmocka_run_group_tests_name("before rte_eal_init", before, NULL, NULL);
	if (svio_test_dpdk_init() < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return 1;
	}
	rc |= cmocka_run_group_tests_name("after rte_eal_init", after, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
