/* SPDX-License-Identifier: BSD-3-Clause */
/* The vhost-user memory table, and DPDK's memory as its regions. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "vhost_user_mem.h"
#include "vhost_user_priv.h"

int vhost_user_mem_table_add(struct vhost_user_mem_table *t, void *addr, size_t len, int fd,
			     uint64_t offset)
{
	uint64_t va = (uint64_t)(uintptr_t)addr;
	struct vhost_user_region *r;

	if (t == NULL || addr == NULL || len == 0 || fd < 0)
		return -EINVAL;
	if (t->nregions > 0) {
		r = &t->regions[t->nregions - 1];
		if (t->fds[t->nregions - 1] == fd && r->user_addr + r->size == va &&
		    r->mmap_offset + r->size == offset) {
			r->size += len;
			return 0;
		}
	}
	if (t->nregions == VHOST_USER_MAX_REGIONS)
		return -ENOSPC;
	r = &t->regions[t->nregions];
	r->guest_addr = va;
	r->user_addr = va;
	r->size = len;
	r->mmap_offset = offset;
	t->fds[t->nregions++] = fd;
	return 0;
}

struct dpdk_walk {
	struct vhost_user_mem_table *t;
	int err;
	const void *bad_addr;
};

static int add_memseg(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	struct dpdk_walk *w = arg;
	size_t offset;
	int fd;

	if (msl->external)
		return 0;
	fd = rte_memseg_get_fd_thread_unsafe(ms);
	if (fd < 0 || rte_memseg_get_fd_offset_thread_unsafe(ms, &offset) < 0) {
		w->err = -rte_errno;
		w->bad_addr = ms->addr;
		return -1;
	}
	w->err = vhost_user_mem_table_add(w->t, ms->addr, ms->len, fd, offset);
	if (w->err < 0) {
		w->bad_addr = ms->addr;
		return -1;
	}
	return 0;
}

int vhost_user_mem_table_from_dpdk(struct vhost_user_mem_table *t)
{
	struct dpdk_walk w = { .t = t };

	memset(t, 0, sizeof(*t));
	rte_mcfg_mem_read_lock();
	(void)rte_memseg_walk_thread_unsafe(add_memseg, &w);
	rte_mcfg_mem_read_unlock();
	if (w.err == -ENOSPC) {
		VU_LOG(ERR,
		       "DPDK memory needs more than %d shared regions at %p: "
		       "start EAL with --single-file-segments (or --no-huge)",
		       VHOST_USER_MAX_REGIONS, w.bad_addr);
		return -ENOSPC;
	}
	if (w.err < 0) {
		VU_LOG(ERR,
		       "DPDK memory at %p has no file to share with the backend (%s); "
		       "EAL's --no-huge memfd and hugetlbfs memory have one",
		       w.bad_addr, strerror(-w.err));
		return w.err;
	}
	if (t->nregions == 0) {
		VU_LOG(ERR, "DPDK has no memory to share with the backend");
		return -ENOMEM;
	}
	return 0;
}
