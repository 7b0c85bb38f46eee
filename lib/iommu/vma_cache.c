/* SPDX-License-Identifier: BSD-3-Clause */
/* The process's mappings, parsed from /proc/self/maps and cached. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "svio_iommu.h"
#include "iommu_private.h"
#include "vma_cache.h"

struct vma {
	uint64_t start, end;
	int access;
};

static pthread_mutex_t vma_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vma *vmas;
static unsigned int n_vmas, cap_vmas;
static uint64_t reads;
static uint64_t vma_gen = 1; /* bumped by every re-read: remembered hits are void */

static int vma_reload(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (f == NULL) {
		IOMMU_LOG(ERR, "page request: cannot read /proc/self/maps");
		return -errno;
	}
	n_vmas = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		uint64_t start, end;
		char perms[8];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &start, &end, perms) != 3)
			continue;
		if (n_vmas == cap_vmas) {
			unsigned int cap = cap_vmas ? 2 * cap_vmas : 256;
			struct vma *v = realloc(vmas, cap * sizeof(*v));

			if (v == NULL) {
				fclose(f);
				return -ENOMEM;
			}
			vmas = v;
			cap_vmas = cap;
		}
		vmas[n_vmas++] = (struct vma){
			.start = start,
			.end = end,
			.access = (perms[0] == 'r' ? SVIO_DMA_READ : 0) |
				  (perms[1] == 'w' ? SVIO_DMA_WRITE : 0),
		};
		/* A path longer than the buffer: skip the rest of its line. */
		while (strchr(line, '\n') == NULL && fgets(line, sizeof(line), f) != NULL)
			;
	}
	fclose(f);
	reads++;
	/* Every thread's remembered mapping may be gone now. */
	__atomic_fetch_add(&vma_gen, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Index of the first mapping ending above @p addr (sorted, as the kernel prints them). */
static unsigned int vma_first_above(uint64_t addr)
{
	unsigned int lo = 0, hi = n_vmas;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (addr >= vmas[mid].end)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int vma_find(uint64_t addr)
{
	unsigned int i = vma_first_above(addr);

	return i < n_vmas && vmas[i].start <= addr ? vmas[i].access : 0;
}

/*
 * A hit may be stale: the range may have been unmapped (and the address
 * reused) since the cache was read. mincore() fails with ENOMEM on an
 * unmapped page: one cheap system call instead of re-reading the maps.
 * (A later mprotect() that removes access is not seen until a miss.)
 */
static bool page_mapped(uint64_t addr)
{
	unsigned char vec;
	void *page = (void *)(uintptr_t)(addr & ~(uint64_t)(sysconf(_SC_PAGESIZE) - 1));

	return mincore(page, 1, &vec) == 0 || errno != ENOMEM;
}

int vma_access(uint64_t addr, int need)
{
	int access, rc;

	pthread_mutex_lock(&vma_lock);
	access = vma_find(addr);
	if ((access & need) != need || !page_mapped(addr)) {
		rc = vma_reload();
		access = rc < 0 ? rc : vma_find(addr);
	}
	pthread_mutex_unlock(&vma_lock);
	return access;
}

/*
 * Whether [addr, end) is covered by adjacent mappings that all allow @p need;
 * @p one gets the mapping when a single one covers it all.
 */
static bool vma_covers(uint64_t addr, uint64_t end, int need, const struct vma **one)
{
	unsigned int first = vma_first_above(addr), i;

	*one = NULL;
	for (i = first; i < n_vmas && addr < end; i++) {
		if (vmas[i].start > addr || (vmas[i].access & need) != need)
			return false;
		addr = vmas[i].end;
	}
	if (addr < end)
		return false;
	if (i == first + 1)
		*one = &vmas[first];
	return true;
}

/*
 * Each thread remembers the last few mappings that covered a whole map: most
 * maps hit one (the heap, a few DPDK memsegs) without taking vma_lock.
 */
#define LAST_HITS 4
static __thread struct vma last_hit[LAST_HITS];
static __thread uint64_t last_hit_gen;
static __thread unsigned int last_hit_next;

int vma_range_access(uint64_t addr, uint64_t len, int need)
{
	uint64_t gen = __atomic_load_n(&vma_gen, __ATOMIC_ACQUIRE);
	const struct vma *one;
	int rc = 0;

	/* Remembered hits are void once the maps were re-read (they are reset on the next store).
	 */
	for (unsigned int i = 0; i < LAST_HITS && last_hit_gen == gen; i++) {
		const struct vma *v = &last_hit[i];

		if (addr >= v->start && addr + len <= v->end && (v->access & need) == need)
			return 0;
	}
	pthread_mutex_lock(&vma_lock);
	/* Trust a hit (a system call per map would cost more than the map); re-read on a miss. */
	if (!vma_covers(addr, addr + len, need, &one)) {
		rc = vma_reload();
		if (rc == 0 && !vma_covers(addr, addr + len, need, &one))
			rc = -EFAULT;
	}
	if (rc == 0 && one != NULL) {
		uint64_t now = __atomic_load_n(&vma_gen, __ATOMIC_RELAXED);

		if (now != last_hit_gen) {
			memset(last_hit, 0, sizeof(last_hit));
			last_hit_gen = now;
		}
		last_hit[last_hit_next++ % LAST_HITS] = *one;
	}
	pthread_mutex_unlock(&vma_lock);
	return rc;
}

uint64_t vma_cache_reads(void)
{
	uint64_t r;

	pthread_mutex_lock(&vma_lock);
	r = reads;
	pthread_mutex_unlock(&vma_lock);
	return r;
}
