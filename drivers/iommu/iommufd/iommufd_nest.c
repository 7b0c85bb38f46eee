/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Nested stage 1 on iommufd (VT-d): the core's x86-64 4-level table is the
 * first stage of a nested HWPT, the IOAS (through a NEST_PARENT HWPT) is the
 * second, and the core's flush queue invalidates stage 1 with arrays of
 * IOMMU_HWPT_INVALIDATE entries, one call per batch.
 *
 * Stage 2 maps IOVA = VA. What it holds:
 * - every table page of the core (a page pool installed as the page table's
 *   page source; the IOMMU reads and sets accessed bits in them through
 *   stage 2, so they are mapped read-write). Stage 1 never points at them
 *   unless the core mapped them, so devices cannot reach them;
 * - memory the caller maps with svio_iommufd_map() (IOVA = VA), recorded
 *   here; the core asks before every stage-1 map (ops->s1_check) and a map
 *   of memory stage 2 lacks is refused with -EFAULT and a message naming it.
 * So nothing is reachable that stage 1 does not map, and nothing stage 1 maps
 * faults in stage 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "svio_dev.h"
#include "svio_x86_pte.h"
#include "pgtable.h"
#include "iommufd_priv.h"

#define POOL_CHUNK_PAGES 64u
#define POOL_CHUNK_SIZE	 (POOL_CHUNK_PAGES * SVIO_PT_PAGE_SIZE)
#define POOL_MAX_CHUNKS	 4096u

/*
 * Table pages, carved from chunks that are never given back to the system
 * (a stage-2 map of them may outlive any one table). While nesting is on,
 * every chunk is mapped in the IOAS. Lock order: after ufd.lock.
 */
static struct {
	pthread_mutex_t lock;
	void *chunk[POOL_MAX_CHUNKS];
	unsigned int n_chunks;
	void *free_list; /* linked through each free page's first word */
	bool s2_on;	 /* chunks are mapped in the IOAS below */
	int s2_fd;
	uint32_t s2_ioas;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .s2_fd = -1 };

static int pool_s2_map(void *chunk)
{
	struct svio_iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = SVIO_IOMMU_IOAS_MAP_FIXED_IOVA | SVIO_IOMMU_IOAS_MAP_READABLE |
			 SVIO_IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = pool.s2_ioas,
		.user_va = (uint64_t)(uintptr_t)chunk,
		.length = POOL_CHUNK_SIZE,
		.iova = (uint64_t)(uintptr_t)chunk,
	};

	return svio_vfio_ioctl(pool.s2_fd, SVIO_IOMMU_IOAS_MAP, &m);
}

static void pool_s2_unmap(void *chunk)
{
	struct svio_iommu_ioas_unmap u = {
		.size = sizeof(u),
		.ioas_id = pool.s2_ioas,
		.iova = (uint64_t)(uintptr_t)chunk,
		.length = POOL_CHUNK_SIZE,
	};

	svio_vfio_ioctl(pool.s2_fd, SVIO_IOMMU_IOAS_UNMAP, &u);
}

/* pool.lock held. */
static int pool_grow(void)
{
	void *c;
	int rc;

	if (pool.n_chunks == POOL_MAX_CHUNKS)
		return -ENOMEM;
	c = mmap(NULL, POOL_CHUNK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return -ENOMEM;
	if (pool.s2_on) {
		rc = pool_s2_map(c);
		if (rc < 0) {
			UFD_LOG(ERR, "stage 2: cannot map table pages at %p: %s", c, strerror(-rc));
			munmap(c, POOL_CHUNK_SIZE);
			return rc;
		}
	}
	pool.chunk[pool.n_chunks++] = c;
	for (unsigned int i = 0; i < POOL_CHUNK_PAGES; i++) {
		void **page = (void **)((char *)c + (size_t)i * SVIO_PT_PAGE_SIZE);

		*page = pool.free_list;
		pool.free_list = page;
	}
	return 0;
}

static void *pool_alloc(void)
{
	void **page = NULL;

	pthread_mutex_lock(&pool.lock);
	if (pool.free_list != NULL || pool_grow() == 0) {
		page = pool.free_list;
		pool.free_list = *page;
	}
	pthread_mutex_unlock(&pool.lock);
	return page;
}

/* pool.lock held. */
static bool pool_owns_locked(const void *p)
{
	for (unsigned int i = 0; i < pool.n_chunks; i++) {
		const char *c = pool.chunk[i];

		if ((const char *)p >= c && (const char *)p < c + POOL_CHUNK_SIZE)
			return true;
	}
	return false;
}

static bool pool_owns(const void *p)
{
	bool owned;

	pthread_mutex_lock(&pool.lock);
	owned = pool_owns_locked(p);
	pthread_mutex_unlock(&pool.lock);
	return owned;
}

static void pool_free(void *p)
{
	pthread_mutex_lock(&pool.lock);
	if (pool_owns_locked(p)) {
		*(void **)p = pool.free_list;
		pool.free_list = p;
		p = NULL;
	}
	pthread_mutex_unlock(&pool.lock);
	free(p); /* a page from the heap, allocated before the pool was installed */
}

static const struct pgtable_page_ops pool_ops = {
	.alloc = pool_alloc,
	.free = pool_free,
};

/* Every table, whichever backend walks it, comes from the pool from the start. */
RTE_INIT(ufd_pool_install)
{
	pgtable_set_page_ops(&pool_ops);
}

/* Map every chunk in the IOAS; all or nothing. ufd.lock held. */
static int pool_s2_start(void)
{
	unsigned int i;
	int rc = 0;

	pthread_mutex_lock(&pool.lock);
	pool.s2_fd = ufd.fd;
	pool.s2_ioas = ufd.ioas_id;
	for (i = 0; i < pool.n_chunks; i++) {
		rc = pool_s2_map(pool.chunk[i]);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		UFD_LOG(ERR, "stage 2: cannot map the page-table pages: %s", strerror(-rc));
		while (i-- > 0)
			pool_s2_unmap(pool.chunk[i]);
	} else {
		pool.s2_on = true;
	}
	pthread_mutex_unlock(&pool.lock);
	return rc;
}

/* The IOAS is about to go, taking its maps along; or @p unmap them now (it stays). */
static void pool_s2_stop(bool unmap)
{
	pthread_mutex_lock(&pool.lock);
	for (unsigned int i = 0; unmap && pool.s2_on && i < pool.n_chunks; i++)
		pool_s2_unmap(pool.chunk[i]);
	pool.s2_on = false;
	pool.s2_fd = -1;
	pthread_mutex_unlock(&pool.lock);
}

/*
 * What stage 2 maps while nesting is on, besides the table pages: sorted,
 * disjoint [start, end) ranges (the kernel refuses overlapping maps), each
 * mapped by the caller with svio_iommufd_map() or by the DPDK follower below.
 * A poisoned range is one stage 2 should have dropped but the kernel kept
 * (a failed unmap of memory DPDK gave back): whatever it pins is stale, so
 * no stage-1 map may point into it. The core asks before every stage-1 map
 * (ops->s1_check).
 */
enum s2_owner {
	S2_APP,	 /* svio_iommufd_map() */
	S2_DPDK, /* DPDK memory, mapped and unmapped by the follower */
};

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

static int s2_record(uint64_t iova, uint64_t len, enum s2_owner owner)
{
	int rc;

	pthread_rwlock_wrlock(&s2.lock);
	rc = s2_insert(iova, iova + len, owner, false);
	pthread_rwlock_unlock(&s2.lock);
	return rc;
}

int ufd_nest_s2_mapped(uint64_t iova, uint64_t len)
{
	return s2_record(iova, len, S2_APP);
}

/* Every byte of [va, va + len) is in a sound range svio_iommufd_map() made. */
static bool s2_app_covers(uint64_t va, uint64_t len)
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
static void s2_poison(uint64_t va, uint64_t len)
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

void ufd_nest_s2_unmapped(uint64_t iova, uint64_t len)
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

/* Unmap what the DPDK follower mapped (a start that failed half way). ufd.lock held. */
static void s2_forget_dpdk(void)
{
	unsigned int i = 0;

	pthread_rwlock_wrlock(&s2.lock);
	while (i < s2.n) {
		struct svio_iommu_ioas_unmap u = {
			.size = sizeof(u),
			.ioas_id = ufd.ioas_id,
			.iova = s2.r[i].start,
			.length = s2.r[i].end - s2.r[i].start,
		};

		if (s2.r[i].owner != S2_DPDK || s2.r[i].poisoned ||
		    svio_vfio_ioctl(ufd.fd, SVIO_IOMMU_IOAS_UNMAP, &u) < 0) {
			i++; /* kept, and still refused by s1_check when poisoned */
			continue;
		}
		memmove(&s2.r[i], &s2.r[i + 1], (s2.n - i - 1) * sizeof(s2.r[0]));
		s2.n--;
	}
	pthread_rwlock_unlock(&s2.lock);
}

/* Forget the recorded stage-2 maps; @p unmap them too when the IOAS stays. */
static void s2_forget_all(bool unmap)
{
	pthread_rwlock_wrlock(&s2.lock);
	for (unsigned int i = 0; unmap && i < s2.n; i++) {
		struct svio_iommu_ioas_unmap u = {
			.size = sizeof(u),
			.ioas_id = ufd.ioas_id,
			.iova = s2.r[i].start,
			.length = s2.r[i].end - s2.r[i].start,
		};

		svio_vfio_ioctl(ufd.fd, SVIO_IOMMU_IOAS_UNMAP, &u);
	}
	free(s2.r);
	s2.r = NULL;
	s2.n = s2.cap = 0; /* unmap_failures stays: a process-wide count */
	pthread_rwlock_unlock(&s2.lock);
}

int ufd_nest_s1_check(struct svio_iommu *iommu, uint64_t addr, uint64_t len)
{
	uint64_t a = addr, end = addr + len;
	bool poisoned;
	unsigned int i;

	RTE_SET_USED(iommu);
	if (!ufd.nest.active)
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
		UFD_LOG(ERR,
			"map %#" PRIx64 "+%#" PRIx64 ": stage 2 at %#" PRIx64 " still holds memory "
			"DPDK gave back (its unmap failed): a stale page may back it; refused",
			addr, len, a);
		return -EFAULT;
	}
	UFD_LOG(ERR,
		"map %#" PRIx64 "+%#" PRIx64 ": %#" PRIx64 " is not in stage 2 (the IOAS): the "
		"device could not reach it through the nested stage 1; map that memory with "
		"svio_iommufd_map() first",
		addr, len, a);
	return -EFAULT;
}

/*
 * DPDK memory in stage 2, IOVA = VA, for as long as nesting is on: mapped at
 * the first attach made once DPDK is up, and kept up to date from DPDK's
 * memory events. Not at bind: svio_eal_init() binds devices before
 * rte_eal_init(), when there are no memsegs yet and registering for events
 * still "succeeds" because DPDK has not read --no-huge/--legacy-mem; it
 * attaches them after. The kernel cannot split a map, so
 * memory DPDK may give back is mapped a page at a time; legacy memory
 * (--no-huge, --legacy-mem) never changes and goes in contiguous runs.
 * The event callback runs under DPDK's memory lock: it must not take
 * ufd.lock (the first bind holds ufd.lock while it takes DPDK's lock).
 */
#define S2_DPDK_EVENT_NAME "svio_iommufd_stage2"

static bool s2_dpdk_events; /* our memory-event callback is registered */
static bool s2_dpdk_dynamic;
static bool s2_dpdk_on; /* DPDK memory is in stage 2 (ufd.lock) */

/* rte_eal_init() has run: only then are the memsegs and the memory mode known. */
static bool dpdk_up(void)
{
	/* rte_eal_init() always settles the IOVA mode; before it, it reads "don't care". */
	return rte_eal_iova_mode() != RTE_IOVA_DC;
}

static int s2_map_raw(uint64_t va, uint64_t len)
{
	struct svio_iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = SVIO_IOMMU_IOAS_MAP_FIXED_IOVA | SVIO_IOMMU_IOAS_MAP_READABLE |
			 SVIO_IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ufd.ioas_id,
		.user_va = va,
		.length = len,
		.iova = va,
	};
	int rc = svio_vfio_ioctl(ufd.fd, SVIO_IOMMU_IOAS_MAP, &m);

	if (rc == 0) {
		rc = s2_record(va, len, S2_DPDK);
		if (rc < 0)
			svio_iommufd_unmap(&ufd.iommu, va, len);
	} else if (rc == -EEXIST) {
		/* Fine when it is the application's own map of that memory, pinning the same pages.
		 */
		if (s2_app_covers(va, len))
			return 0;
		UFD_LOG(ERR,
			"stage 2: DPDK memory %#" PRIx64 "+%#" PRIx64 ": the IOAS maps it already, "
			"not through svio_iommufd_map() (a page left from memory given back?): "
			"refused, it may pin other pages than this memory's",
			va, len);
		return rc;
	}
	if (rc < 0)
		UFD_LOG(ERR, "stage 2: DPDK memory %#" PRIx64 "+%#" PRIx64 ": %s", va, len,
			strerror(-rc));
	return rc;
}

static int s2_map_pages(uint64_t va, uint64_t len, uint64_t gran)
{
	for (uint64_t a = va; a < va + len; a += gran) {
		int rc = s2_map_raw(a, RTE_MIN(gran, va + len - a));

		if (rc < 0)
			return rc;
	}
	return 0;
}

static int s2_dpdk_walk(const struct rte_memseg_list *msl, const struct rte_memseg *ms, size_t len,
			void *arg)
{
	int *rc = arg;

	if (msl->external)
		return 0; /* the application registered it and maps it itself */
	*rc = s2_map_pages((uint64_t)(uintptr_t)ms->addr, len,
			   s2_dpdk_dynamic ? msl->page_sz : len);
	return *rc < 0 ? -1 : 0;
}

void ufd_nest_dpdk_event(enum rte_mem_event type, const void *addr, size_t len, void *arg)
{
	const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(addr);
	uint64_t va = (uint64_t)(uintptr_t)addr;

	RTE_SET_USED(arg);
	if (msl == NULL || msl->external)
		return;
	if (type == RTE_MEM_EVENT_ALLOC) {
		s2_map_pages(va, len, msl->page_sz);
		return;
	}
	/*
	 * Freed: the core unmaps stage 1 from its own callback; without stage
	 * 2 a device reaching it faults instead of touching freed memory, and
	 * the kernel's IOAS_UNMAP flushes what the nested HWPT cached of it.
	 */
	for (uint64_t a = va; a < va + len; a += msl->page_sz) {
		int rc = svio_iommufd_unmap(&ufd.iommu, a, msl->page_sz);

		/* ENOENT: stage 2 never had it (the application unmapped it with its own range). */
		if (rc < 0 && rc != -ENOENT) {
			UFD_LOG(ERR,
				"stage 2: DPDK gave back %#" PRIx64 "+%#" PRIx64 " but the IOAS "
				"keeps it (%s): poisoned, no stage-1 map may point there",
				a, (uint64_t)msl->page_sz, strerror(-rc));
			s2_poison(a, msl->page_sz);
		}
	}
}

/* ufd.lock held. 0 or a negative errno (what was mapped stays until the IOAS goes). */
static int s2_dpdk_start(void)
{
	int rc;

	rte_mcfg_mem_read_lock();
	if (rte_mem_event_callback_register(S2_DPDK_EVENT_NAME, ufd_nest_dpdk_event, NULL) == 0) {
		s2_dpdk_events = true;
		s2_dpdk_dynamic = true;
	} else if (rte_errno == ENOTSUP) {
		s2_dpdk_dynamic = false; /* legacy memory: no events, no changes */
	} else {
		rc = -rte_errno;
		rte_mcfg_mem_read_unlock();
		UFD_LOG(ERR, "stage 2: DPDK memory events: %s", rte_strerror(-rc));
		return rc;
	}
	rc = 0;
	if (rte_memseg_contig_walk_thread_unsafe(s2_dpdk_walk, &rc) < 0 && rc == 0)
		rc = -EIO;
	rte_mcfg_mem_read_unlock();
	if (rc == 0)
		s2_dpdk_on = true;
	return rc;
}

static void s2_dpdk_stop(void)
{
	s2_dpdk_on = false;
	if (!s2_dpdk_events)
		return;
	if (rte_mem_event_callback_unregister(S2_DPDK_EVENT_NAME, NULL) < 0 && rte_errno != ENOENT)
		UFD_LOG(WARNING, "stage 2: DPDK memory events: unregister: %s",
			rte_strerror(rte_errno));
	s2_dpdk_events = false;
}

/* NULL when the device's IOMMU can walk our table as a nested stage 1, else why not. */
static const char *nest_unsupported(const struct svio_iommufd_hw *hw)
{
	if (hw->type != SVIO_IOMMU_HW_INFO_TYPE_INTEL_VTD)
		return "the IOMMU is not VT-d (or the kernel has no IOMMU_GET_HW_INFO)";
	if (!SVIO_VTD_ECAP_NEST(hw->vtd_ecap))
		return "VT-d reports no nested translation (ECAP.NEST)";
	if (!SVIO_VTD_ECAP_FLTS(hw->vtd_ecap) || !SVIO_VTD_ECAP_SMTS(hw->vtd_ecap))
		return "VT-d reports no scalable-mode first-stage translation (ECAP.SMTS/FLTS)";
	/* The core's table uses 1 GiB leaves where a map allows. */
	if (!SVIO_VTD_CAP_FL1GP(hw->vtd_cap))
		return "VT-d first stage has no 1 GiB pages (CAP.FL1GP)";
	return NULL;
}

void ufd_nest_probe(const struct svio_iommufd_dev *idev)
{
	struct svio_iommu_hwpt_alloc ha = {
		.size = sizeof(ha),
		.flags = SVIO_IOMMU_HWPT_ALLOC_NEST_PARENT,
		.dev_id = idev->dev_id,
		.pt_id = ufd.ioas_id,
	};
	const char *why = nest_unsupported(&idev->hw);
	int rc;

	if (ufd.nest.active)
		return; /* kept from before: the IOAS outlived its last device */
	if (why != NULL) {
		UFD_LOG(INFO, "no nested stage 1: %s; using the kernel-owned paging domain", why);
		return;
	}
	rc = svio_vfio_ioctl(ufd.fd, SVIO_IOMMU_HWPT_ALLOC, &ha);
	if (rc < 0) {
		UFD_LOG(INFO,
			"no nested stage 1: IOMMU_HWPT_ALLOC with NEST_PARENT failed (%s); using "
			"the kernel-owned paging domain",
			strerror(-rc));
		return;
	}
	if (pool_s2_start() < 0) {
		ufd_destroy_obj(ha.out_hwpt_id);
		UFD_LOG(INFO, "no nested stage 1: page-table pages not mappable; using the "
			      "kernel-owned paging domain");
		return;
	}
	ufd.nest.parent_id = ha.out_hwpt_id;
	ufd.nest.s1_id = 0;
	ufd.nest.users = 0;
	ufd.nest.n_inv = 0;
	ufd.nest.active = true;
	/*
	 * The core owns stage 1 and invalidates it; the kernel flushes the
	 * device-TLBs of the nested HWPT's devices with each entry, so no
	 * device-TLB tags, and no page requests (no fault queue).
	 */
	ufd.iommu.caps.first_stage = true;
	ufd.iommu.caps.ats = false;
	ufd.iommu.caps.pri = false;
	UFD_LOG(INFO, "nested stage 1 on: the core's table over IOAS %u (parent HWPT %u)",
		ufd.ioas_id, ufd.nest.parent_id);
}

int ufd_nest_check_dev(const struct svio_iommufd_dev *idev)
{
	const char *why;

	if (!ufd.nest.active)
		return 0;
	why = nest_unsupported(&idev->hw);
	if (why == NULL)
		return 0;
	UFD_LOG(ERR,
		"%s: cannot join the nested stage 1 the first device set up: %s (bind devices "
		"of one kind of IOMMU per process)",
		idev->dev->name, why);
	return -EOPNOTSUPP;
}

void ufd_nest_close(void)
{
	if (!ufd.nest.active)
		return;
	s2_dpdk_stop();
	s2_forget_all(false); /* the IOAS goes next, with its maps */
	if (ufd.nest.s1_id != 0)
		ufd_destroy_obj(ufd.nest.s1_id);
	ufd_destroy_obj(ufd.nest.parent_id);
	pool_s2_stop(false);
	pthread_mutex_lock(&ufd.nest.inv_lock);
	ufd.nest.s1_id = 0;
	ufd.nest.n_inv = 0;
	pthread_mutex_unlock(&ufd.nest.inv_lock);
	ufd.nest.active = false;
	ufd.nest.parent_id = 0;
	ufd.nest.users = 0;
	ufd.iommu.caps.first_stage = false;
}

/* The nested HWPT over our table (first attach), 0 or a negative errno. */
static int alloc_s1(const struct svio_iommufd_dev *idev, uint64_t root)
{
	struct svio_iommu_hwpt_vtd_s1 s1 = {
		.flags = 0, /* user-level requests only, no write protection of supervisor */
		.pgtbl_addr = root,
		.addr_width = SVIO_PT_VA_BITS,
	};
	struct svio_iommu_hwpt_alloc ha = {
		.size = sizeof(ha),
		.dev_id = idev->dev_id,
		.pt_id = ufd.nest.parent_id,
		.data_type = SVIO_IOMMU_HWPT_DATA_VTD_S1,
		.data_len = sizeof(s1),
		.data_uptr = (uint64_t)(uintptr_t)&s1,
	};
	int rc = svio_vfio_ioctl(ufd.fd, SVIO_IOMMU_HWPT_ALLOC, &ha);

	if (rc < 0) {
		UFD_LOG(ERR, "%s: IOMMU_HWPT_ALLOC of the nested stage 1 (root %#" PRIx64 "): %s",
			idev->dev->name, root, strerror(-rc));
		return rc;
	}
	pthread_mutex_lock(&ufd.nest.inv_lock);
	ufd.nest.s1_id = ha.out_hwpt_id;
	ufd.nest.s1_root = root;
	ufd.nest.n_inv = 0; /* a new HWPT caches nothing yet */
	pthread_mutex_unlock(&ufd.nest.inv_lock);
	return 0;
}

/*
 * Destroy the nested HWPT. Until the kernel agrees it is still there (and
 * may still be attached and caching), so s1_id stays and flushes keep
 * invalidating it; ufd_nest_close() tries again. ufd.lock held.
 */
static int free_s1(void)
{
	int rc = ufd_destroy_obj(ufd.nest.s1_id);

	if (rc < 0) {
		UFD_LOG(WARNING, "nested HWPT %u kept and invalidated while it stays",
			ufd.nest.s1_id);
		return rc;
	}
	pthread_mutex_lock(&ufd.nest.inv_lock);
	ufd.nest.s1_id = 0;
	ufd.nest.n_inv = 0; /* its caches went with it */
	pthread_mutex_unlock(&ufd.nest.inv_lock);
	return 0;
}

int ufd_nest_attach(struct svio_iommufd_dev *idev, uint64_t root)
{
	struct svio_vfio_device_attach_iommufd_pt at = {
		.argsz = SVIO_VFIO_ATTACH_ARGSZ_RID,
	};
	bool created = false;
	int rc;

	if (!pool_owns((const void *)(uintptr_t)root)) {
		UFD_LOG(ERR,
			"attach %s: the stage-1 root %#" PRIx64 " is not a page stage 2 maps "
			"(a table allocated outside the page pool)",
			idev->dev->name, root);
		return -EINVAL;
	}
	if (!s2_dpdk_on && dpdk_up()) {
		rc = s2_dpdk_start();
		if (rc < 0) {
			UFD_LOG(ERR, "attach %s: DPDK memory not mappable in stage 2: %s",
				idev->dev->name, strerror(-rc));
			s2_dpdk_stop();
			s2_forget_dpdk(); /* the next attach starts over */
			return rc;
		}
	}
	if (ufd.nest.s1_id == 0) {
		rc = alloc_s1(idev, root);
		if (rc < 0)
			return rc;
		created = true;
	} else if (ufd.nest.s1_root != root) {
		UFD_LOG(ERR,
			"attach %s: another domain's table (root %#" PRIx64 ") is stage 1 already: "
			"one domain per process on iommufd",
			idev->dev->name, ufd.nest.s1_root);
		return -EBUSY;
	}
	at.pt_id = ufd.nest.s1_id;
	rc = svio_vfio_ioctl(idev->fd, SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
	if (rc < 0) {
		UFD_LOG(ERR, "attach %s to the nested HWPT %u: %s", idev->dev->name, ufd.nest.s1_id,
			strerror(-rc));
		if (created)
			free_s1();
		return rc;
	}
	ufd.nest.users++;
	return 0;
}

int ufd_nest_detach(struct svio_iommufd_dev *idev)
{
	int rc = ufd_detach_rid(idev);

	/* Refused: still attached and caching, it keeps its place among the users. */
	if (rc < 0)
		return rc;
	/*
	 * The last device out takes the HWPT along; destroying it drops what it
	 * cached. The device is off either way, so a refused destroy is no
	 * failure of this detach (free_s1() keeps the HWPT invalidated).
	 */
	if (ufd.nest.users > 0 && --ufd.nest.users == 0)
		free_s1();
	return 0;
}

/* Append one entry, extending the previous one when it ends where this starts. inv_lock held. */
static void inv_add(uint64_t addr, uint64_t npages)
{
	struct ufd_nest *n = &ufd.nest;
	struct svio_iommu_hwpt_vtd_s1_invalidate *last =
		n->n_inv > 0 ? &n->inv[n->n_inv - 1] : NULL;

	if (last != NULL && last->npages == SVIO_IOMMU_VTD_INV_ALL_NPAGES)
		return; /* everything goes already */
	if (npages == SVIO_IOMMU_VTD_INV_ALL_NPAGES || n->n_inv == UFD_NEST_MAX_INV) {
		/* Whole stage 1, or more pieces than we keep: one entry for all. */
		n->inv[0] = (struct svio_iommu_hwpt_vtd_s1_invalidate){
			.addr = 0, .npages = SVIO_IOMMU_VTD_INV_ALL_NPAGES
		};
		n->n_inv = 1;
		return;
	}
	if (last != NULL && last->addr + last->npages * SVIO_PT_PAGE_SIZE == addr) {
		last->npages += npages;
		return;
	}
	/*
	 * No LEAF flag: an unmap may have emptied and unlinked table pages,
	 * so cached paging-structure entries must go as well.
	 */
	n->inv[n->n_inv++] =
		(struct svio_iommu_hwpt_vtd_s1_invalidate){ .addr = addr, .npages = npages };
}

int ufd_nest_inv_post(struct svio_iommu *iommu, const struct svio_inv *inv, unsigned int n)
{
	RTE_SET_USED(iommu);
	pthread_mutex_lock(&ufd.nest.inv_lock);
	for (unsigned int i = 0; i < n; i++) {
		/* caps.ats is off: the kernel invalidates device-TLBs with each entry. */
		if (inv[i].kind != SVIO_INV_IOTLB)
			continue;
		if (inv[i].all)
			inv_add(0, SVIO_IOMMU_VTD_INV_ALL_NPAGES);
		else
			inv_add(inv[i].addr, UINT64_C(1) << inv[i].order);
	}
	pthread_mutex_unlock(&ufd.nest.inv_lock);
	return 0;
}

/*
 * Hand the pending entries to the kernel. The kernel may handle fewer than
 * it was given: the rest is sent again while it makes progress; an error (or
 * no progress) fails the whole batch. inv_lock held. @return 0 or -EIO.
 */
static int inv_submit(void)
{
	struct ufd_nest *n = &ufd.nest;
	unsigned int done = 0;

	while (done < n->n_inv) {
		struct svio_iommu_hwpt_invalidate q = {
			.size = sizeof(q),
			.hwpt_id = n->s1_id,
			.data_uptr = (uint64_t)(uintptr_t)&n->inv[done],
			.data_type = SVIO_IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
			.entry_len = sizeof(n->inv[0]),
			.entry_num = n->n_inv - done,
		};
		int rc = svio_vfio_ioctl(ufd.fd, SVIO_IOMMU_HWPT_INVALIDATE, &q);

		n->seq++;
		if (q.entry_num > n->n_inv - done)
			q.entry_num = 0; /* nonsense from the kernel: trust nothing */
		done += q.entry_num;
		if (rc < 0 || q.entry_num == 0) {
			const struct svio_iommu_hwpt_vtd_s1_invalidate *e =
				&n->inv[done < n->n_inv ? done : n->n_inv - 1];

			UFD_LOG(ERR,
				"IOMMU_HWPT_INVALIDATE on HWPT %u: entry %u of %u (addr %#" PRIx64
				", %" PRIu64 " pages) %s: %s",
				n->s1_id, done, n->n_inv, e->addr, e->npages,
				rc < 0 ? "failed" : "not handled",
				rc < 0 ? strerror(-rc) : "the kernel made no progress");
			return -EIO;
		}
	}
	return 0;
}

/* The cookie carries the result: the kernel completed the work before returning. */
#define COOKIE_FAILED UINT64_C(1)

int ufd_nest_wait_post(struct svio_iommu *iommu, uint64_t *cookie)
{
	int rc = 0;

	RTE_SET_USED(iommu);
	pthread_mutex_lock(&ufd.nest.inv_lock);
	/* Without a nested HWPT nothing can cache stage 1 (the last detach destroyed it). */
	if (ufd.nest.n_inv > 0 && ufd.nest.s1_id != 0)
		rc = inv_submit();
	ufd.nest.n_inv = 0;
	*cookie = (ufd.nest.seq << 1) | (rc < 0 ? COOKIE_FAILED : 0);
	pthread_mutex_unlock(&ufd.nest.inv_lock);
	return 0;
}

int ufd_nest_wait_poll(struct svio_iommu *iommu, uint64_t cookie)
{
	RTE_SET_USED(iommu);
	return (cookie & COOKIE_FAILED) ? -EIO : 0;
}
