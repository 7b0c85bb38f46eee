/* SPDX-License-Identifier: BSD-3-Clause */
/* Memory whose pages stay put: registered ranges, DPDK memory, page frames (stable_mem.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_memory.h>

#include "iommu_private.h"
#include "revive.h"
#include "stable_mem.h"
#include "svio_x86_pte.h"

/* Registered ranges: few (an application registers its pools), searched linearly. */
#define STABLE_MEM_MAX_RANGES 64

static pthread_mutex_t stable_mem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t start, end;
} ranges[STABLE_MEM_MAX_RANGES];
static unsigned int n_ranges;

/* DPDK's free events: 0 not asked yet, 1 delivered to us, 2 unavailable. */
enum { MEMEV_UNKNOWN, MEMEV_ON, MEMEV_OFF };
static int memev_state;

/* /proc/self/pagemap: -1 unknown, -2 no frame numbers visible, else the fd. */
static int pagemap_fd = -1;

#define PAGEMAP_PRESENT (UINT64_C(1) << 63)
#define PAGEMAP_PFN	((UINT64_C(1) << 55) - 1)

static bool range_ok(uint64_t va, uint64_t len)
{
	return len > 0 && !((va | len) & (SVIO_PT_PAGE_SIZE - 1)) && va + len > va &&
	       va + len <= (UINT64_C(1) << SVIO_PT_VA_BITS);
}

int svio_dma_mem_register(void *va, size_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)va;
	int rc = 0;

	if (!range_ok(a, len)) {
		IOMMU_LOG(ERR, "mem register: va %p len 0x%zx not 4 KiB aligned or beyond 48 bits",
			  va, len);
		return -EINVAL;
	}
	pthread_mutex_lock(&stable_mem_lock);
	for (unsigned int i = 0; i < n_ranges; i++) {
		if (a < ranges[i].end && ranges[i].start < a + len) {
			IOMMU_LOG(ERR, "mem register: %p+0x%zx overlaps a registered range", va,
				  len);
			rc = -EEXIST;
			goto out_unlock;
		}
	}
	if (n_ranges == STABLE_MEM_MAX_RANGES) {
		IOMMU_LOG(ERR, "mem register: all %u ranges in use", STABLE_MEM_MAX_RANGES);
		rc = -ENOSPC;
		goto out_unlock;
	}
	ranges[n_ranges].start = a;
	ranges[n_ranges].end = a + len;
	n_ranges++;
out_unlock:
	pthread_mutex_unlock(&stable_mem_lock);
	return rc;
}

int svio_dma_mem_unregister(void *va, size_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)va;
	int rc = -ENOENT;

	if (!range_ok(a, len))
		return -EINVAL;
	pthread_mutex_lock(&stable_mem_lock);
	for (unsigned int i = 0; i < n_ranges; i++) {
		if (ranges[i].start == a && ranges[i].end == a + len) {
			ranges[i] = ranges[--n_ranges];
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&stable_mem_lock);
	if (rc < 0) {
		IOMMU_LOG(ERR, "mem unregister: %p+0x%zx was not registered", va, len);
		return rc;
	}
	/* The promise ends here: nothing queued in the range may be revived any more. */
	revive_mem_gone(a, len);
	return 0;
}

static bool registered(uint64_t va, uint64_t len)
{
	bool found = false;

	pthread_mutex_lock(&stable_mem_lock);
	for (unsigned int i = 0; i < n_ranges && !found; i++)
		found = va >= ranges[i].start && va + len <= ranges[i].end;
	pthread_mutex_unlock(&stable_mem_lock);
	return found;
}

static void mem_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	(void)arg;
	/* Called before DPDK unmaps the pages. */
	if (type == RTE_MEM_EVENT_FREE)
		revive_mem_gone((uint64_t)(uintptr_t)addr, len);
}

/* Ask for DPDK's free events once; @return whether DPDK memory can be trusted. */
static bool memev_ready(void)
{
	int st = __atomic_load_n(&memev_state, __ATOMIC_ACQUIRE);

	if (st != MEMEV_UNKNOWN)
		return st == MEMEV_ON;
	if (rte_mem_event_callback_register("svio_iommu_revive", mem_event, NULL) == 0 ||
	    rte_errno == EEXIST) {
		st = MEMEV_ON;
	} else if (rte_errno == ENOTSUP) {
		/* Legacy memory (--no-huge, --legacy-mem): DPDK never gives pages back. */
		st = MEMEV_ON;
	} else {
		IOMMU_LOG(WARNING, "no DPDK memory events (%d): DPDK memory not revived",
			  rte_errno);
		st = MEMEV_OFF;
	}
	__atomic_store_n(&memev_state, st, __ATOMIC_RELEASE);
	return st == MEMEV_ON;
}

static bool dpdk_memory(uint64_t va, uint64_t len)
{
	const struct rte_memseg_list *msl = rte_mem_virt2memseg_list((void *)(uintptr_t)va);
	uint64_t base;

	if (msl == NULL || msl->external)
		return false;
	base = (uint64_t)(uintptr_t)msl->base_va;
	return va + len <= base + msl->len && memev_ready();
}

/* The pagemap fd, opened once; -1 when frame numbers are not visible to us. */
static int pagemap(void)
{
	volatile uint64_t probe = 1; /* on our stack: a page surely present */
	int fd = __atomic_load_n(&pagemap_fd, __ATOMIC_ACQUIRE);
	uint64_t ent = 0, off;

	if (fd >= 0 || fd == -2)
		return fd >= 0 ? fd : -1;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off = ((uint64_t)(uintptr_t)&probe >> SVIO_PT_PAGE_SHIFT) * sizeof(ent);
	if (fd >= 0 &&
	    (pread(fd, &ent, sizeof(ent), (off_t)off) != sizeof(ent) || (ent & PAGEMAP_PFN) == 0)) {
		/* Without CAP_SYS_ADMIN the kernel shows frame number 0. */
		close(fd);
		fd = -1;
	}
	{
		int expected = -1;

		if (!__atomic_compare_exchange_n(&pagemap_fd, &expected, fd >= 0 ? fd : -2, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			/* Another thread got there first: keep its answer. */
			if (fd >= 0)
				close(fd);
			fd = expected >= 0 ? expected : -1;
		}
	}
	return fd;
}

static bool read_pfns(uint64_t va, uint64_t len, uint64_t *pfns)
{
	unsigned int n = (unsigned int)(len >> SVIO_PT_PAGE_SHIFT);
	uint64_t ent[STABLE_MEM_MAX_PFNS];
	ssize_t want = (ssize_t)(n * sizeof(ent[0]));
	int fd = pagemap();

	if (fd < 0 || n > STABLE_MEM_MAX_PFNS)
		return false;
	if (pread(fd, ent, (size_t)want, (off_t)((va >> SVIO_PT_PAGE_SHIFT) * sizeof(ent[0]))) !=
	    want)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		if (!(ent[i] & PAGEMAP_PRESENT) || (ent[i] & PAGEMAP_PFN) == 0)
			return false;
		pfns[i] = ent[i] & PAGEMAP_PFN;
	}
	return true;
}

enum stable_mem_kind stable_mem_check(uint64_t va, uint64_t len, uint64_t *pfns)
{
	if (registered(va, len) || dpdk_memory(va, len))
		return STABLE_MEM_STABLE;
	if (len <= STABLE_MEM_MAX_PFNS * SVIO_PT_PAGE_SIZE && read_pfns(va, len, pfns))
		return STABLE_MEM_PFN;
	return STABLE_MEM_NO;
}

bool stable_mem_pfns_same(uint64_t va, uint64_t len, const uint64_t *pfns)
{
	uint64_t now[STABLE_MEM_MAX_PFNS];

	if (len > STABLE_MEM_MAX_PFNS * SVIO_PT_PAGE_SIZE || !read_pfns(va, len, now))
		return false;
	return memcmp(now, pfns, (len >> SVIO_PT_PAGE_SHIFT) * sizeof(now[0])) == 0;
}
