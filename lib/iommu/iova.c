/* SPDX-License-Identifier: BSD-3-Clause */
/* IOVA allocator without SVA: exact-size caches, a coalescing free set, a bump pointer (iova.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "iommu_private.h"
#include "iova.h"
#include "svio_x86_pte.h"

#define PAGE_SHIFT	  SVIO_PT_PAGE_SHIFT
#define CHUNK_SHIFT	  30 /* one bitmap chunk covers 1 GiB */
#define CHUNK_PAGES_SHIFT (CHUNK_SHIFT - PAGE_SHIFT)
#define CHUNK_WORDS	  ((UINT64_C(1) << CHUNK_PAGES_SHIFT) / 64)
#define SIZE_2M		  (UINT64_C(1) << 21)
#define SIZE_1G		  (UINT64_C(1) << 30)

/*
 * Drain the caches into the set before bumping when they hold pages enough
 * for the request (coalesced, they may fit), or this many pages in all (so
 * they do not hoard space). Not on every miss: a drain sorts the caches, and
 * mixed sizes would pay it on every large map.
 */
#define DRAIN_PAGES 4096

int iova_init(struct iova_space *s, uint64_t base, uint64_t limit)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->limit = limit;
	s->next = base;
	s->high = base;
	s->n_chunks = (limit - base) >> CHUNK_SHIFT;
	s->cache = malloc(sizeof(*s->cache) * IOVA_CACHE_PAGES * IOVA_CACHE_DEPTH);
	s->bits = calloc(s->n_chunks, sizeof(*s->bits));
	if (s->cache == NULL || s->bits == NULL) {
		free(s->cache);
		free(s->bits);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

void iova_fini(struct iova_space *s)
{
	for (uint64_t i = 0; i < s->n_chunks; i++)
		free(s->bits[i]);
	free(s->bits);
	free(s->set);
	free(s->cache);
	pthread_mutex_destroy(&s->lock);
}

uint64_t iova_high_water(const struct iova_space *s)
{
	return __atomic_load_n(&s->high, __ATOMIC_RELAXED) - s->base;
}

/* The bitmap. */

enum bm_op {
	BM_ALL_SET,   /* are all pages handed out? */
	BM_ALL_CLEAR, /* is none? */
	BM_SET,
	BM_CLEAR,
	BM_ENSURE, /* make the chunks of the range exist */
};

/* @return for the tests true/false; for the updates true, or false when a chunk is missing. */
static bool bm_walk(struct iova_space *s, uint64_t start, uint64_t len, enum bm_op op)
{
	uint64_t p = (start - s->base) >> PAGE_SHIFT, end = p + (len >> PAGE_SHIFT);

	while (p < end) {
		uint64_t chunk = p >> CHUNK_PAGES_SHIFT,
			 in = p & ((UINT64_C(1) << CHUNK_PAGES_SHIFT) - 1);
		uint64_t *bits = s->bits[chunk];
		unsigned int bit = (unsigned int)(in & 63);
		uint64_t n = RTE_MIN(64 - (uint64_t)bit, end - p), mask, *w;

		if (bits == NULL) {
			if (op == BM_ALL_SET || op == BM_SET)
				return false;
			if (op == BM_ENSURE) {
				bits = calloc(CHUNK_WORDS, sizeof(*bits));
				if (bits == NULL)
					return false;
				s->bits[chunk] = bits;
			}
			/* Nothing handed out in this chunk: on to the next one. */
			p = (chunk + 1) << CHUNK_PAGES_SHIFT;
			continue;
		}
		if (op == BM_ENSURE) {
			p = (chunk + 1) << CHUNK_PAGES_SHIFT;
			continue;
		}
		mask = (n == 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1) << bit;
		w = &bits[in >> 6];
		switch (op) {
		case BM_ALL_SET:
			if ((*w & mask) != mask)
				return false;
			break;
		case BM_ALL_CLEAR:
			if (*w & mask)
				return false;
			break;
		case BM_SET:
			*w |= mask;
			break;
		default:
			*w &= ~mask;
			break;
		}
		p += n;
	}
	return true;
}

/* The free set. */

/* Index of the first range starting above @p a. */
static uint32_t set_upper(const struct iova_space *s, uint64_t a)
{
	uint32_t lo = 0, hi = s->n_set;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->set[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int set_reserve(struct iova_space *s, uint32_t n)
{
	struct iova_range *r;
	uint32_t cap;

	if (n <= s->cap_set)
		return 0;
	cap = s->cap_set ? 2 * s->cap_set : 64;
	while (cap < n)
		cap *= 2;
	r = realloc(s->set, cap * sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	s->set = r;
	s->cap_set = cap;
	return 0;
}

/* The set's last ranges touching the bump pointer become bump space again. */
static void fold_into_bump(struct iova_space *s)
{
	while (s->n_set > 0 && s->set[s->n_set - 1].end == s->next)
		s->next = s->set[--s->n_set].start;
}

/* Add free [start, end), disjoint from everything free. @return 0 or -ENOMEM. */
static int set_insert(struct iova_space *s, uint64_t start, uint64_t end)
{
	uint32_t i = set_upper(s, start);
	bool prev = i > 0 && s->set[i - 1].end == start;
	bool next = i < s->n_set && s->set[i].start == end;

	if (end == s->next) {
		s->next = start;
		fold_into_bump(s);
		return 0;
	}
	if (prev && next) {
		s->set[i - 1].end = s->set[i].end;
		memmove(&s->set[i], &s->set[i + 1], (s->n_set - i - 1) * sizeof(*s->set));
		s->n_set--;
	} else if (prev) {
		s->set[i - 1].end = end;
	} else if (next) {
		s->set[i].start = start;
	} else {
		if (set_reserve(s, s->n_set + 1) < 0)
			return -ENOMEM;
		memmove(&s->set[i + 1], &s->set[i], (s->n_set - i) * sizeof(*s->set));
		s->set[i] = (struct iova_range){ .start = start, .end = end };
		s->n_set++;
	}
	return 0;
}

/* Lowest address >= @p a congruent to @p off modulo @p align. */
static uint64_t align_at(uint64_t a, uint64_t off, uint64_t align)
{
	uint64_t c = ((a - off + align - 1) & ~(align - 1)) + off;

	return c < a ? c + align : c;
}

/* First fit in the set. @return true with *iova set, false when nothing fits. */
static bool set_take(struct iova_space *s, uint64_t len, uint64_t off, uint64_t align,
		     uint64_t *iova)
{
	/* A split needs one more slot: have it before changing anything. */
	if (set_reserve(s, s->n_set + 1) < 0)
		return false;
	for (uint32_t i = 0; i < s->n_set; i++) {
		struct iova_range *r = &s->set[i];
		uint64_t c = align_at(r->start, off, align);
		bool head, tail;

		if (c >= r->end || r->end - c < len)
			continue;
		head = c > r->start;
		tail = c + len < r->end;
		if (head && tail) {
			memmove(&s->set[i + 2], &s->set[i + 1],
				(s->n_set - i - 1) * sizeof(*s->set));
			s->set[i + 1] = (struct iova_range){ .start = c + len, .end = r->end };
			r->end = c;
			s->n_set++;
		} else if (head) {
			r->end = c;
		} else if (tail) {
			r->start = c + len;
		} else {
			memmove(r, r + 1, (s->n_set - i - 1) * sizeof(*s->set));
			s->n_set--;
		}
		*iova = c;
		return true;
	}
	return false;
}

static int range_cmp(const void *a, const void *b)
{
	const struct iova_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Move every cached range into the set, coalescing (one sort, not one insert each). */
static void cache_drain(struct iova_space *s)
{
	uint32_t n = s->n_set, out = 0;

	if (s->cached == 0 || set_reserve(s, s->n_set + s->cached) < 0)
		return;
	for (uint32_t c = 0; c < IOVA_CACHE_PAGES; c++) {
		uint64_t len = (uint64_t)(c + 1) << PAGE_SHIFT;

		for (uint32_t i = 0; i < s->cache_n[c]; i++) {
			uint64_t a = s->cache[c * IOVA_CACHE_DEPTH + i];

			s->set[n++] = (struct iova_range){ .start = a, .end = a + len };
		}
		s->cache_n[c] = 0;
	}
	s->cached = 0;
	s->cached_pages = 0;
	qsort(s->set, n, sizeof(*s->set), range_cmp);
	for (uint32_t i = 1; i < n; i++) {
		if (s->set[i].start == s->set[out].end)
			s->set[out].end = s->set[i].end;
		else
			s->set[++out] = s->set[i];
	}
	s->n_set = n > 0 ? out + 1 : 0;
	fold_into_bump(s);
}

static bool cache_push(struct iova_space *s, uint64_t iova, uint64_t pages)
{
	uint32_t c = (uint32_t)pages - 1;

	if (pages > IOVA_CACHE_PAGES || s->cache_n[c] == IOVA_CACHE_DEPTH)
		return false;
	s->cache[c * IOVA_CACHE_DEPTH + s->cache_n[c]++] = iova;
	s->cached++;
	s->cached_pages += pages;
	return true;
}

static bool cache_pop(struct iova_space *s, uint64_t pages, uint64_t *iova)
{
	uint32_t c = (uint32_t)pages - 1;

	if (pages > IOVA_CACHE_PAGES || s->cache_n[c] == 0)
		return false;
	*iova = s->cache[c * IOVA_CACHE_DEPTH + --s->cache_n[c]];
	s->cached--;
	s->cached_pages -= pages;
	return true;
}

/*
 * Space from the bump pointer (fresh above the high-water mark); the
 * alignment gap below it goes to the set. @return 1 (reused), 0 or -ENOMEM.
 */
static int bump(struct iova_space *s, uint64_t len, uint64_t off, uint64_t align, uint64_t *iova)
{
	uint64_t c = align_at(s->next, off, align), high = s->high;

	if (c >= s->limit || len > s->limit - c)
		return -ENOMEM;
	if (!bm_walk(s, c, len, BM_ENSURE))
		return -ENOMEM;
	if (c > s->next && set_insert(s, s->next, c) < 0)
		IOMMU_LOG(DEBUG, "iova: alignment gap 0x%" PRIx64 "..0x%" PRIx64 " not kept",
			  s->next, c);
	s->next = c + len;
	if (s->next > high)
		__atomic_store_n(&s->high, s->next, __ATOMIC_RELAXED);
	*iova = c;
	/* Below the high-water mark: space given back by an unmap, reused. */
	return c < high ? 1 : 0;
}

int iova_alloc(struct iova_space *s, uint64_t va, uint64_t len, uint64_t *iova)
{
	uint64_t align = SVIO_PT_PAGE_SIZE, pages = len >> PAGE_SHIFT, off, a = 0;
	int rc = 1;

	/* Keep va and iova congruent so large leaves stay possible. */
	if (len >= SIZE_1G)
		align = SIZE_1G;
	else if (len >= SIZE_2M)
		align = SIZE_2M;
	off = va & (align - 1);
	pthread_mutex_lock(&s->lock);
	if (align == SVIO_PT_PAGE_SIZE && cache_pop(s, pages, &a))
		goto out_check;
	if (set_take(s, len, off, align, &a))
		goto out_check;
	if (s->cached_pages >= pages || s->cached_pages >= DRAIN_PAGES) {
		cache_drain(s);
		if (set_take(s, len, off, align, &a))
			goto out_check;
	}
	rc = bump(s, len, off, align, &a);
	if (rc == -ENOMEM && s->cached > 0) {
		/* Out of fresh space: whatever the caches hold may still fit once coalesced. */
		cache_drain(s);
		rc = set_take(s, len, off, align, &a) ? 1 : bump(s, len, off, align, &a);
	}
	if (rc < 0)
		goto out_unlock;
out_check:
	/* Never twice: a range handed out must have no page handed out already. */
	if (!bm_walk(s, a, len, BM_ALL_CLEAR)) {
		IOMMU_LOG(ERR,
			  "iova: 0x%" PRIx64 " len 0x%" PRIx64 " is free and in use at once; "
			  "dropped",
			  a, len);
		rc = -EIO;
		goto out_unlock;
	}
	bm_walk(s, a, len, BM_SET);
	*iova = a;
out_unlock:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int iova_free(struct iova_space *s, uint64_t iova, uint64_t len)
{
	uint64_t end = iova + len;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (len == 0 || iova < s->base || end > s->next || end < iova ||
	    !bm_walk(s, iova, len, BM_ALL_SET)) {
		pthread_mutex_unlock(&s->lock);
		IOMMU_LOG(ERR,
			  "iova: free of 0x%" PRIx64 " len 0x%" PRIx64 " refused: not all of it "
			  "is in use (freed twice?)",
			  iova, len);
		return -EINVAL;
	}
	bm_walk(s, iova, len, BM_CLEAR);
	if (end == s->next) {
		s->next = iova;
		fold_into_bump(s);
	} else if (!cache_push(s, iova, len >> PAGE_SHIFT)) {
		rc = set_insert(s, iova, end);
	}
	pthread_mutex_unlock(&s->lock);
	if (rc < 0)
		IOMMU_LOG(ERR, "iova: 0x%" PRIx64 " len 0x%" PRIx64 " lost (out of memory)", iova,
			  len);
	return rc;
}
