/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the nested stage 1 of drivers/iommu/iommufd, one concept a file:
 *   iommufd_nest.c       nesting support, the NEST_PARENT and nested HWPTs,
 *                        attach and detach on the nested HWPT;
 *   iommufd_nest_pool.c  the table-page pool stage 2 maps (ops->table_pages);
 *   iommufd_nest_s2.c    the record of what stage 2 maps (ops->s1_check);
 *   iommufd_nest_dpdk.c  DPDK memory in stage 2, following DPDK's events;
 *   iommufd_nest_inv.c   stage-1 invalidation arrays (ops->inv_post/wait).
 * What the rest of the backend calls is in iommufd_priv.h.
 */
#ifndef SVIO_IOMMUFD_NEST_H
#define SVIO_IOMMUFD_NEST_H

#include <stdbool.h>
#include <stdint.h>

#include "iommufd_priv.h"

/* Who mapped a stage-2 range. */
enum s2_owner {
	S2_APP,	 /* svio_iommufd_map() */
	S2_DPDK, /* DPDK memory, mapped and unmapped by the follower */
};

/* The pool (lock order: after iommufd_ctx.lock). */
/** Does @p p lie in a pool chunk? */
bool nest_pool_owns(const void *p);
/** Map every chunk in the IOAS, and later chunks as they come; all or nothing. iommufd_ctx.lock
 * held. */
int nest_pool_s2_start(void);
/** The IOAS is about to go, taking its maps along; or @p unmap them now (it stays). */
void nest_pool_s2_stop(bool unmap);

/* The stage-2 record. */
/** Record a map of [iova, iova + len): 0 or -ENOMEM. */
int nest_s2_record(uint64_t iova, uint64_t len, enum s2_owner owner);
/** Every byte of [va, va + len) is in a sound range svio_iommufd_map() made. */
bool nest_s2_app_covers(uint64_t va, uint64_t len);
/** Stage 2 still maps [va, va + len) after DPDK gave it back: poison it, count it. */
void nest_s2_poison(uint64_t va, uint64_t len);
/** Unmap what the DPDK follower mapped (a start that failed half way). iommufd_ctx.lock held. */
void nest_s2_forget_dpdk(void);
/** Forget every recorded map; @p unmap them too when the IOAS stays. */
void nest_s2_forget_all(bool unmap);

/* The DPDK follower. */
/**
 * Put DPDK memory in stage 2 and follow its events, once DPDK is up (a no-op
 * before, and once following). iommufd_ctx.lock held. 0 or a negative errno, with
 * what was mapped undone.
 */
int nest_dpdk_follow(void);
/** Stop following DPDK's events. */
void nest_dpdk_stop(void);

#endif /* SVIO_IOMMUFD_NEST_H */
