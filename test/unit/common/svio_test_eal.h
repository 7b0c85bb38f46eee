/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Start-up shared by the test programs: svio_eal_init() with the options every
 * test wants (no hugepages, no shared config, no telemetry socket, quiet logs)
 * followed by the test's own, so each test only names what it is about.
 */
#ifndef SVIO_TEST_EAL_H
#define SVIO_TEST_EAL_H

#include <stdio.h>

#include "svio_eal.h"

#define SVIO_TEST_EAL_ARGS_MAX 48

/*
 * svio_eal_init() with the quiet test options, @p mem_mb of memory and @p extra
 * (NULL-terminated). Returns what svio_eal_init() returns.
 */
static inline int svio_test_eal_init_mem(unsigned int mem_mb, const char *const *extra)
{
	char *argv[SVIO_TEST_EAL_ARGS_MAX + 1];
	char mem[16];
	int argc = 0;

	snprintf(mem, sizeof(mem), "%u", mem_mb);
	argv[argc++] = (char *)"test";
	argv[argc++] = (char *)"--no-huge";
	argv[argc++] = (char *)"-m";
	argv[argc++] = mem;
	argv[argc++] = (char *)"--no-shconf";
	argv[argc++] = (char *)"--no-telemetry";
	argv[argc++] = (char *)"--log-level=*:error";
	while (extra != NULL && *extra != NULL) {
		if (argc == SVIO_TEST_EAL_ARGS_MAX) {
			fprintf(stderr, "svio_test_eal_init: more than %d arguments\n",
				SVIO_TEST_EAL_ARGS_MAX);
			return -1;
		}
		argv[argc++] = (char *)*extra++;
	}
	argv[argc] = NULL;
	return svio_eal_init(argc, argv);
}

/* The same with 64 MiB, enough for every test that does not say otherwise. */
static inline int svio_test_eal_init(const char *const *extra)
{
	return svio_test_eal_init_mem(64, extra);
}

#endif /* SVIO_TEST_EAL_H */
