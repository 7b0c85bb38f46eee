/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Nested stage 1: what stage 2 (the IOAS) maps besides the table pages, so
 * the core can ask before every stage-1 map (ops->s1_check) and a map of
 * memory stage 2 lacks is refused with -EFAULT and a message naming it. So
 * nothing is reachable that stage 1 does not map, and nothing stage 1 maps
 * faults in stage 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "iommufd_nest.h"

/*
 * What stage 2 maps while nesting is on, besides the table pages: sorted,
 * disjoint [start, end) ranges (the kernel refuses overlapping maps), each
 * mapped by the caller with svio_iommufd_map() or by the DPDK follower below.
 * A poisoned range is one stage 2 should have dropped but the kernel kept
 * (a failed unmap of memory DPDK gave back): whatever it pins is stale, so
 * no stage-1 map may point into it. The core asks before every stage-1 map
 * (ops->s1_check).
 */

static struct {
	pthread_rwlock_t lock;
	struct s2_range {
		uint64_t start, end;
		uint8_t owner; /* enum s2_owner */
		bool poisoned;
	} * r;
	unsigned int n, cap;
	uint64_t unmap_failures; /* DPDK frees stage 2 could not follow */
} s2 = { .lock = PTHREAD_RWLOCK_INITIALIZER };

/* First range ending after @p a. s2.lock held. */
static unsigned int s2_find(uint64_t a)
{
	unsigned int lo = 0, hi = s2.n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (s2.r[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Record a new range (disjoint from every recorded one). s2.lock held. */
static int s2_insert(uint64_t start, uint64_t end, enum s2_owner owner, bool poisoned)
{
	unsigned int i;

	if (s2.n == s2.cap) {
		unsigned int cap = s2.cap ? 2 * s2.cap : 64;
		struct s2_range *r = realloc(s2.r, cap * sizeof(*r));

		if (r == NULL)
			return -ENOMEM;
		s2.r = r;
		s2.cap = cap;
	}
	i = s2_find(start);
	memmove(&s2.r[i + 1], &s2.r[i], (s2.n - i) * sizeof(s2.r[0]));
	s2.r[i] = (struct s2_range){ start, end, (uint8_t)owner, poisoned };
	s2.n++;
	return 0;
}

int nest_s2_record(uint64_t iova, uint64_t len, enum s2_owner owner)
{
	int rc;

	pthread_rwlock_wrlock(&s2.lock);
	rc = s2_insert(iova, iova + len, owner, false);
	pthread_rwlock_unlock(&s2.lock);
	return rc;
}

int iommufd_nest_s2_mapped(uint64_t iova, uint64_t len)
{
	return nest_s2_record(iova, len, S2_APP);
}

/* Every byte of [va, va + len) is in a sound range svio_iommufd_map() made. */
bool nest_s2_app_covers(uint64_t va, uint64_t len)
{
	uint64_t a = va, end = va + len;

	pthread_rwlock_rdlock(&s2.lock);
	for (unsigned int i = s2_find(a); i < s2.n && s2.r[i].start <= a && a < end &&
					  s2.r[i].owner == S2_APP && !s2.r[i].poisoned;
	     i++)
		a = s2.r[i].end;
	pthread_rwlock_unlock(&s2.lock);
	return a >= end;
}

/*
 * Stage 2 still maps [va, va + len) after DPDK gave it back: poison what
 * covers it (or record it poisoned when nothing did), count it.
 */
void nest_s2_poison(uint64_t va, uint64_t len)
{
	unsigned int i;
	bool marked = false;

	pthread_rwlock_wrlock(&s2.lock);
	s2.unmap_failures++;
	for (i = s2_find(va); i < s2.n && s2.r[i].start < va + len; i++) {
		s2.r[i].poisoned = true;
		marked = true;
	}
	/* Out of memory too: the range is unknown, so s1_check refuses it anyway. */
	if (!marked)
		(void)s2_insert(va, va + len, S2_DPDK, true);
	pthread_rwlock_unlock(&s2.lock);
}

uint64_t svio_iommufd_stage2_unmap_failures(void)
{
	uint64_t n;

	pthread_rwlock_rdlock(&s2.lock);
	n = s2.unmap_failures;
	pthread_rwlock_unlock(&s2.lock);
	return n;
}

void iommufd_nest_s2_unmapped(uint64_t iova, uint64_t len)
{
	unsigned int i, j;

	pthread_rwlock_wrlock(&s2.lock);
	/* The kernel removed every map inside the range (it never splits one). */
	i = s2_find(iova);
	if (i < s2.n && s2.r[i].start < iova)
		i++; /* straddles the start: not removed */
	for (j = i; j < s2.n && s2.r[j].end <= iova + len; j++)
		;
	memmove(&s2.r[i], &s2.r[j], (s2.n - j) * sizeof(s2.r[0]));
	s2.n -= j - i;
	pthread_rwlock_unlock(&s2.lock);
}

/* Unmap what the DPDK follower mapped (a start that failed half way). iommufd_ctx.lock held. */
void nest_s2_forget_dpdk(void)
{
	unsigned int i = 0;

	pthread_rwlock_wrlock(&s2.lock);
	while (i < s2.n) {
		struct svio_iommu_ioas_unmap u = {
			.size = sizeof(u),
			.ioas_id = iommufd_ctx.ioas_id,
			.iova = s2.r[i].start,
			.length = s2.r[i].end - s2.r[i].start,
		};

		if (s2.r[i].owner != S2_DPDK || s2.r[i].poisoned ||
		    svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_IOAS_UNMAP, &u) < 0) {
			i++; /* kept, and still refused by s1_check when poisoned */
			continue;
		}
		memmove(&s2.r[i], &s2.r[i + 1], (s2.n - i - 1) * sizeof(s2.r[0]));
		s2.n--;
	}
	pthread_rwlock_unlock(&s2.lock);
}

/* Forget the recorded stage-2 maps; @p unmap them too when the IOAS stays. */
void nest_s2_forget_all(bool unmap)
{
	pthread_rwlock_wrlock(&s2.lock);
	for (unsigned int i = 0; unmap && i < s2.n; i++) {
		struct svio_iommu_ioas_unmap u = {
			.size = sizeof(u),
			.ioas_id = iommufd_ctx.ioas_id,
			.iova = s2.r[i].start,
			.length = s2.r[i].end - s2.r[i].start,
		};

		svio_vfio_ioctl(iommufd_ctx.fd, SVIO_IOMMU_IOAS_UNMAP, &u);
	}
	free(s2.r);
	s2.r = NULL;
	s2.n = s2.cap = 0; /* unmap_failures stays: a process-wide count */
	pthread_rwlock_unlock(&s2.lock);
}

int iommufd_nest_s1_check(struct svio_iommu *iommu, uint64_t addr, uint64_t len)
{
	uint64_t a = addr, end = addr + len;
	bool poisoned;
	unsigned int i;

	RTE_SET_USED(iommu);
	if (!iommufd_ctx.nest.active)
		return 0; /* the paging domain gets every map through ops->map */
	pthread_rwlock_rdlock(&s2.lock);
	/* Covered when consecutive sound stage-2 maps span it without a hole. */
	for (i = s2_find(a); i < s2.n && s2.r[i].start <= a && a < end && !s2.r[i].poisoned; i++)
		a = s2.r[i].end;
	poisoned = i < s2.n && s2.r[i].start <= a && a < end && s2.r[i].poisoned;
	pthread_rwlock_unlock(&s2.lock);
	if (a >= end)
		return 0;
	if (poisoned) {
		IOMMUFD_LOG(ERR,
			    "map %#" PRIx64 "+%#" PRIx64 ": stage 2 at %#" PRIx64
			    " still holds memory "
			    "DPDK gave back (its unmap failed): a stale page may back it; refused",
			    addr, len, a);
		return -EFAULT;
	}
	IOMMUFD_LOG(ERR,
		    "map %#" PRIx64 "+%#" PRIx64 ": %#" PRIx64 " is not in stage 2 (the IOAS): the "
		    "device could not reach it through the nested stage 1; map that memory with "
		    "svio_iommufd_map() first",
		    addr, len, a);
	return -EFAULT;
}
