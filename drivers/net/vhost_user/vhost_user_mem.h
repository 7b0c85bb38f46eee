/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memory table a frontend shares with its vhost-user backend: regions of
 * the process's memory, each with the fd the backend maps it through.
 */
#ifndef VHOST_USER_MEM_H
#define VHOST_USER_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "vhost_user_proto.h"

struct vhost_user_mem_table {
	unsigned int nregions;
	struct vhost_user_region regions[VHOST_USER_MAX_REGIONS];
	int fds[VHOST_USER_MAX_REGIONS]; /* borrowed, never closed by the table */
};

/*
 * Adds @p len bytes at @p addr, mapped from @p fd at @p offset, with
 * guest_addr = addr (svio's IOVA = VA). Extends the last region when the new
 * range continues it in both address and file. Returns 0, -EINVAL on a bad
 * argument, or -ENOSPC past VHOST_USER_MAX_REGIONS regions. Does not log.
 */
int vhost_user_mem_table_add(struct vhost_user_mem_table *t, void *addr, size_t len, int fd,
			     uint64_t offset);

/*
 * Fills @p t with DPDK's internal memory (every allocated memseg of EAL's
 * own lists; external heaps are skipped, the backend cannot see them). Needs
 * segments backed by files: EAL's memfd under --no-huge, or hugetlbfs with
 * --single-file-segments (one file per list; without it each hugepage is a
 * file and the table overflows). Call after rte_eal_init(). Returns 0 or a
 * negative errno after one log line saying which option to use.
 */
int vhost_user_mem_table_from_dpdk(struct vhost_user_mem_table *t);

#endif /* VHOST_USER_MEM_H */
