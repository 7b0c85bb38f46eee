/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The first-stage page table the IOMMU walks (x86-64 4-level format).
 *
 * Table pages are 4 KiB aligned and the IOMMU reads them at their pointer
 * value. Updates are serialized by pt->lock; the hardware walker reads
 * without any lock, so every entry is read and written with single atomic
 * 8-byte accesses: a new table is fully zeroed before the release store that
 * links it, a leaf is installed with a release store, and a cleared entry is
 * zeroed with one store (never torn).
 *
 * Intermediate tables that an unmap empties are unlinked but not freed: they
 * are chained into a list the caller keeps until the invalidation covering
 * the unmap completed (the walker may still hold a pointer to them), then
 * handed to pgtable_free_tables().
 */
#ifndef SVIO_IOMMU_PGTABLE_H
#define SVIO_IOMMU_PGTABLE_H

#include <pthread.h>
#include <stdint.h>

struct pgtable_page_ops;

struct svio_pgtable {
	uint64_t *root; /**< level-4 table */
	/** Where this table's pages come from (the heap unless pgtable_set_pages()). */
	const struct pgtable_page_ops *pages;
	pthread_mutex_t lock; /**< serializes updates; the walker never takes it */
	uint64_t tables;      /**< table pages linked now (under lock) */
};

/** Called for every leaf an unmap cleared: [iova, iova + len). */
typedef void (*pgtable_cleared_fn)(void *ctx, uint64_t iova, uint64_t len);

/**
 * Where a table's pages come from. The default is the heap. An IOMMU
 * instance that reads tables through a second stage (iommufd nesting)
 * supplies pages that stage covers (svio_iommu_ops.table_pages). alloc
 * returns one 4 KiB aligned page or NULL; free takes any page the table
 * ever held, including heap pages from before pgtable_set_pages() (tables an
 * unmap unlinked may still wait for their flush), so it must recognize and
 * release those with free().
 */
struct pgtable_page_ops {
	void *(*alloc)(void);
	void (*free)(void *page);
};

/**
 * Take @p pt's pages from @p ops from now on: the root moves there. Only
 * while nothing walks the table and nothing is mapped in it. @p ops must
 * outlive the table. @return 0, -EINVAL (NULL @p ops), -EBUSY (something is
 * mapped), -ENOMEM.
 */
int pgtable_set_pages(struct svio_pgtable *pt, const struct pgtable_page_ops *ops);

/** @return 0 or -ENOMEM. */
int pgtable_init(struct svio_pgtable *pt);

/** Free every table. The IOMMU must no longer walk it. */
void pgtable_fini(struct svio_pgtable *pt);

/** The root as the IOMMU reads it. */
uint64_t pgtable_root(const struct svio_pgtable *pt);

/**
 * Map [iova, iova + len) to [pa, pa + len) with SVIO_DMA_READ/WRITE access,
 * using 2 MiB and 1 GiB leaves where alignment and length allow.
 * All or nothing: nothing is changed when any page of the range is mapped.
 * @return 0, -EINVAL (alignment, prot, beyond 48 bits), -EEXIST, -ENOMEM.
 */
int pgtable_map(struct svio_pgtable *pt, uint64_t iova, uint64_t pa, uint64_t len, int prot);

/**
 * Clear every leaf in [iova, iova + len); a large leaf straddling an end of
 * the range is first split (same translation) so that only the range goes.
 * @p cleared gets each cleared leaf; emptied intermediate tables are chained
 * onto *@p freed (see pgtable_free_tables()).
 * @return 0, -EINVAL, -ENOENT (nothing was mapped there), -ENOMEM (a split
 *         failed; nothing was cleared).
 */
int pgtable_unmap(struct svio_pgtable *pt, uint64_t iova, uint64_t len, pgtable_cleared_fn cleared,
		  void *ctx, void **freed);

/**
 * Translate @p iova: the page address, the leaf's flag bits and its size.
 * @return 0 or -ENOENT.
 */
int pgtable_lookup(struct svio_pgtable *pt, uint64_t iova, uint64_t *pa, uint64_t *flags,
		   uint64_t *size);

/** Free a chain of tables pgtable_unmap() of @p pt returned; NULL is fine. */
void pgtable_free_tables(struct svio_pgtable *pt, void *freed);

/** Append chain @p b to chain *@p a. */
void pgtable_chain_tables(void **a, void *b);

#endif /* SVIO_IOMMU_PGTABLE_H */
