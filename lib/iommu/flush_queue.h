/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The flush queue: bounded, lock-free multi-producer, one consumer at a
 * time (the thread holding the domain's flush lock).
 *
 * Why our own ring and not rte_ring or wfcqueue: the entry's position in the
 * queue is its ticket, and the consumer drains positions strictly in order,
 * so "every ticket below N completed" is exact; a bounded queue lets a full
 * queue fall back to a synchronous flush instead of allocating on the data
 * path (wfcqueue needs a node per entry); and every access is a C11 atomic
 * that ThreadSanitizer understands (rte_ring's x86 build orders its slots
 * with barriers TSan cannot see).
 *
 * Each cell carries a sequence number: cell i is free for position p when
 * seq == p, holds position p's entry when seq == p + 1, and is handed back
 * for position p + capacity once consumed.
 */
#ifndef SVIO_IOMMU_FLUSH_QUEUE_H
#define SVIO_IOMMU_FLUSH_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "svio_iommu.h"

struct iova_runs;

/** One queued unmap. */
struct fq_entry {
	uint64_t iova;
	uint64_t len;
	svio_dma_release_t release; /**< NULL when nothing is quarantined */
	void *arg;
	void *tables; /**< emptied page-table pages, freed after the flush */
	/**
	 * With tables: the range the unmap was asked for. A freed table may map
	 * addresses no cleared leaf covers; invalidating the whole range drops
	 * the paging-structure entries that point at it. 0, 0 otherwise.
	 */
	uint64_t tbl_lo, tbl_hi;
	uint64_t ticket;      /**< queue position, set by fq_push() */
	int *result;	      /**< strict: where the batch reports an unmap() refusal */
	int kerr;	      /**< consumer: an instance refused to unmap it (never released) */
	bool kdone;	      /**< consumer: instances owning their table are done with it */
	bool iova_free;	      /**< without SVA: give the IOVA space back once flushed (below) */
	uint32_t revive_slot; /**< revivable extent (revive.h), slot + 1; 0: none */
	uint64_t revive_gen;  /**< the extent's generation when this unmap armed it */
	/**
	 * NULL when the unmap cleared all of [iova, iova + len) (or the runs
	 * were not recorded), else the runs it cleared (heap, freed with the
	 * entry). Instances owning their table unmap these, never the holes
	 * between them (the kernel would take maps made there since); with
	 * iova_free they are also the IOVA space given back.
	 */
	struct iova_runs *iova_runs;
};

struct fq_cell {
	uint64_t seq;
	struct fq_entry e;
};

struct flush_queue {
	struct fq_cell *cells;
	uint64_t mask;
	/* Producers and the consumer write different lines. */
	uint64_t tail __attribute__((aligned(64))); /**< next position to hand out */
	uint64_t head __attribute__((aligned(64))); /**< next position to consume */
};

/** @p capacity is rounded up to a power of two. @return 0 or -ENOMEM. */
int fq_init(struct flush_queue *fq, unsigned int capacity);
void fq_fini(struct flush_queue *fq);

static inline unsigned int fq_capacity(const struct flush_queue *fq)
{
	return (unsigned int)fq->mask + 1;
}

/** Enqueue a copy of @p e; its ticket is stored in *@p ticket. @return 0 or -EAGAIN (full). */
int fq_push(struct flush_queue *fq, const struct fq_entry *e, uint64_t *ticket);

/** Consumer only: take the next entry if it is fully written. */
bool fq_pop(struct flush_queue *fq, struct fq_entry *e);

/** Positions handed out but not consumed yet (any thread, a snapshot). */
uint64_t fq_count(const struct flush_queue *fq);

/** Next position to be handed out (any thread, a snapshot). */
uint64_t fq_tail(const struct flush_queue *fq);

#endif /* SVIO_IOMMU_FLUSH_QUEUE_H */
