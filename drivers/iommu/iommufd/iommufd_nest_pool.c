/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Nested stage 1: the pool the domain's table pages come from while nesting
 * is on. Stage 2 maps every chunk read-write (the IOMMU reads and sets
 * accessed bits in table pages through it); stage 1 never points at them
 * unless the core mapped them, so devices cannot reach them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>

#include "svio_x86_pte.h"
#include "pgtable.h"
#include "iommufd_nest.h"

#define POOL_CHUNK_PAGES 64u
#define POOL_CHUNK_SIZE	 (POOL_CHUNK_PAGES * SVIO_PT_PAGE_SIZE)
#define POOL_MAX_CHUNKS	 4096u

/*
 * Table pages, carved from chunks that are never given back to the system
 * (a stage-2 map of them may outlive any one table). While nesting is on,
 * every chunk is mapped in the IOAS. Lock order: after iommufd_ctx.lock.
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
			IOMMUFD_LOG(ERR, "stage 2: cannot map table pages at %p: %s", c,
				    strerror(-rc));
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

bool nest_pool_owns(const void *p)
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
	free(p); /* a heap page: the table held it before it moved to the pool */
}

static const struct pgtable_page_ops pool_ops = {
	.alloc = pool_alloc,
	.free = pool_free,
};

/*
 * ops->table_pages: while nesting is on, the domain's table must live in the
 * pool (stage 2 maps it); the core moves it there at the first attach.
 */
const struct pgtable_page_ops *iommufd_nest_table_pages(struct svio_iommu *iommu)
{
	RTE_SET_USED(iommu);
	return iommufd_ctx.nest.active ? &pool_ops : NULL;
}

/* Map every chunk in the IOAS; all or nothing. iommufd_ctx.lock held. */
int nest_pool_s2_start(void)
{
	unsigned int i;
	int rc = 0;

	pthread_mutex_lock(&pool.lock);
	pool.s2_fd = iommufd_ctx.fd;
	pool.s2_ioas = iommufd_ctx.ioas_id;
	for (i = 0; i < pool.n_chunks; i++) {
		rc = pool_s2_map(pool.chunk[i]);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		IOMMUFD_LOG(ERR, "stage 2: cannot map the page-table pages: %s", strerror(-rc));
		while (i-- > 0)
			pool_s2_unmap(pool.chunk[i]);
	} else {
		pool.s2_on = true;
	}
	pthread_mutex_unlock(&pool.lock);
	return rc;
}

/* The IOAS is about to go, taking its maps along; or @p unmap them now (it stays). */
void nest_pool_s2_stop(bool unmap)
{
	pthread_mutex_lock(&pool.lock);
	for (unsigned int i = 0; unmap && pool.s2_on && i < pool.n_chunks; i++)
		pool_s2_unmap(pool.chunk[i]);
	pool.s2_on = false;
	pool.s2_fd = -1;
	pthread_mutex_unlock(&pool.lock);
}
