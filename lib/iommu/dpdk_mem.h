/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK memory follower: one registration with DPDK's memory events for
 * everything in svio that must map DPDK memory ahead of use (IOMMUs that
 * cannot fault it in). Each client is told of the memory there is when it
 * starts following (walked under DPDK's memory lock, with the events
 * registered first so no page slips between walk and events), then of
 * every page DPDK adds or is about to give back.
 *
 * Clients are told of added memory in the order they started following and
 * of memory given back in the reverse order, so a client that builds on an
 * earlier one's maps (the core's stage 1 over a nested stage 2) maps after
 * and unmaps before it. Callbacks run under DPDK's memory lock, on whatever
 * thread changes DPDK memory: they must not take a lock held while taking
 * DPDK's (follow and unfollow take it).
 *
 * Legacy memory (--no-huge, --legacy-mem) never changes: no events, and the
 * walk hands whole contiguous runs. Dynamic memory is handed in runs whose
 * granule is the page size: what DPDK may give back alone (a kernel map
 * cannot be split, so clients map no more than that at once).
 *
 * Internal to svio (lib/iommu and the IOMMU backends).
 */
#ifndef SVIO_IOMMU_DPDK_MEM_H
#define SVIO_IOMMU_DPDK_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

struct dpdk_mem_client {
	const char *name; /**< in log lines */
	/**
	 * [va, va + len) is DPDK memory now; @p gran divides it into what DPDK
	 * may give back alone. @return 0 or a negative errno: during the start
	 * walk it fails dpdk_mem_follow() with it; from an event it is the
	 * client's to log.
	 */
	int (*added)(struct dpdk_mem_client *c, uint64_t va, uint64_t len, uint64_t gran);
	/** DPDK gives [va, va + len) back when this returns: stop using it. */
	void (*freed)(struct dpdk_mem_client *c, uint64_t va, uint64_t len, uint64_t gran);
	void *ctx; /**< the client's */
	/* The follower's: */
	TAILQ_ENTRY(dpdk_mem_client) next;
	bool following;
};

/**
 * Start following: @p c->added gets every memseg there is (external memory
 * excluded: its owner maps it), then DPDK's changes.
 * @return 0; -EALREADY (following already); the first error added()
 *         returned (then @p c follows nothing; what added() did is its to
 *         undo); or DPDK's error registering for events.
 */
int dpdk_mem_follow(struct dpdk_mem_client *c);

/** Stop following; returns once no callback of @p c runs. Not following: no-op. */
void dpdk_mem_unfollow(struct dpdk_mem_client *c);

/**
 * Has rte_eal_init() run? Only then are the memsegs and the memory mode
 * known (before it, registering for events "succeeds" even with --no-huge).
 */
bool dpdk_mem_known(void);

#endif /* SVIO_IOMMU_DPDK_MEM_H */
