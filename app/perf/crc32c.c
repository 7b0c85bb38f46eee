/* SPDX-License-Identifier: BSD-3-Clause */
/* CRC-32C for verify headers: DPDK's rte_hash_crc computes the Castagnoli CRC (SSE4.2 when
 * present). */
#include <rte_hash_crc.h>

#include "perf.h"

uint32_t perf_crc32c(const void *buf, size_t len)
{
	return ~rte_hash_crc(buf, (uint32_t)len, 0xffffffffu);
}
