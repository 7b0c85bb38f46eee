/* SPDX-License-Identifier: BSD-3-Clause */
/* What DPDK memory the process has: tests that check it was all mapped compare with this. */
#ifndef SVIO_TEST_DPDK_MEM_H
#define SVIO_TEST_DPDK_MEM_H

#include <stddef.h>
#include <stdint.h>

#include <rte_memory.h>

static inline int svio_test_add_memseg_len(const struct rte_memseg_list *msl,
					   const struct rte_memseg *ms, size_t len, void *arg)
{
	(void)ms;
	if (!msl->external)
		*(uint64_t *)arg += len;
	return 0;
}

/*
 * Bytes of DPDK's own (not external) memory the process has now; UINT64_MAX
 * when the walk fails, which no mapped byte count a test compares with can equal.
 */
static inline uint64_t svio_test_dpdk_bytes(void)
{
	uint64_t n = 0;

	return rte_memseg_contig_walk(svio_test_add_memseg_len, &n) == 0 ? n : UINT64_MAX;
}

#endif /* SVIO_TEST_DPDK_MEM_H */
