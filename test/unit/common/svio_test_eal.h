/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Start-up shared by the test programs: svio_eal_init() (or DPDK alone, for
 * tests that start DPDK before svio) with the options every test wants (no
 * hugepages, no shared config, no telemetry socket, quiet logs) followed by
 * the test's own, so each test only names what it is about.
 */
#ifndef SVIO_TEST_EAL_H
#define SVIO_TEST_EAL_H

#include <stdio.h>

#include <rte_eal.h>

#include "svio_eal.h"

#define SVIO_TEST_EAL_ARGS_MAX 48

struct svio_test_eal_argv {
	char *argv[SVIO_TEST_EAL_ARGS_MAX + 1];
	char mem[16];
	int argc;
};

/*
 * Fill @p a with the quiet test options, @p mem_mb of memory and @p extra
 * (NULL-terminated). Returns 0, or -1 when there are too many arguments.
 */
static inline int svio_test_eal_argv(struct svio_test_eal_argv *a, unsigned int mem_mb,
				     const char *const *extra)
{
	snprintf(a->mem, sizeof(a->mem), "%u", mem_mb);
	a->argc = 0;
	a->argv[a->argc++] = (char *)"test";
	a->argv[a->argc++] = (char *)"--no-huge";
	a->argv[a->argc++] = (char *)"-m";
	a->argv[a->argc++] = a->mem;
	a->argv[a->argc++] = (char *)"--no-shconf";
	a->argv[a->argc++] = (char *)"--no-telemetry";
	a->argv[a->argc++] = (char *)"--log-level=*:error";
	while (extra != NULL && *extra != NULL) {
		if (a->argc == SVIO_TEST_EAL_ARGS_MAX) {
			fprintf(stderr, "svio_test_eal: more than %d arguments\n",
				SVIO_TEST_EAL_ARGS_MAX);
			return -1;
		}
		a->argv[a->argc++] = (char *)*extra++;
	}
	a->argv[a->argc] = NULL;
	return 0;
}

/*
 * svio_eal_init() with the quiet test options, @p mem_mb of memory and @p extra
 * (NULL-terminated). Returns what svio_eal_init() returns.
 */
static inline int svio_test_eal_init_mem(unsigned int mem_mb, const char *const *extra)
{
	struct svio_test_eal_argv a;

	if (svio_test_eal_argv(&a, mem_mb, extra) < 0)
		return -1;
	return svio_eal_init(a.argc, a.argv);
}

/* The same with 64 MiB, enough for every test that does not say otherwise. */
static inline int svio_test_eal_init(const char *const *extra)
{
	return svio_test_eal_init_mem(64, extra);
}

/*
 * rte_eal_init() alone with the quiet test options and 64 MiB, for tests that
 * start DPDK before svio. DPDK's own PCI bus stays off: svio's drives the
 * devices. Returns what rte_eal_init() returns.
 */
static inline int svio_test_dpdk_init(void)
{
	static const char *const no_pci[] = { "--no-pci", NULL };
	struct svio_test_eal_argv a;

	if (svio_test_eal_argv(&a, 64, no_pci) < 0)
		return -1;
	return rte_eal_init(a.argc, a.argv);
}

#endif /* SVIO_TEST_EAL_H */
