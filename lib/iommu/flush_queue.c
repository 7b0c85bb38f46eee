/* SPDX-License-Identifier: BSD-3-Clause */
/* Bounded MPSC queue of unmaps (see flush_queue.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flush_queue.h"

int fq_init(struct flush_queue *fq, unsigned int capacity)
{
	uint64_t n = 1;

	while (n < capacity)
		n <<= 1;
	fq->cells = aligned_alloc(64, n * sizeof(*fq->cells));
	if (fq->cells == NULL)
		return -ENOMEM;
	memset(fq->cells, 0, n * sizeof(*fq->cells));
	for (uint64_t i = 0; i < n; i++)
		fq->cells[i].seq = i;
	fq->mask = n - 1;
	fq->tail = 0;
	fq->head = 0;
	return 0;
}

void fq_fini(struct flush_queue *fq)
{
	free(fq->cells);
	fq->cells = NULL;
}

int fq_push(struct flush_queue *fq, const struct fq_entry *e, uint64_t *ticket)
{
	uint64_t pos = __atomic_load_n(&fq->tail, __ATOMIC_RELAXED);
	struct fq_cell *c;

	for (;;) {
		int64_t dif;

		c = &fq->cells[pos & fq->mask];
		/* Acquire: the consumer finished reading the cell's previous entry. */
		dif = (int64_t)(__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) - pos);
		if (dif == 0) {
			if (__atomic_compare_exchange_n(&fq->tail, &pos, pos + 1, true,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED))
				break;
		} else if (dif < 0) {
			return -EAGAIN;
		} else {
			pos = __atomic_load_n(&fq->tail, __ATOMIC_RELAXED);
		}
	}
	c->e = *e;
	c->e.ticket = pos;
	/* Release: the entry is written before the consumer may see it. */
	__atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE);
	*ticket = pos;
	return 0;
}

bool fq_pop(struct flush_queue *fq, struct fq_entry *e)
{
	uint64_t pos = __atomic_load_n(&fq->head, __ATOMIC_RELAXED);
	struct fq_cell *c = &fq->cells[pos & fq->mask];

	/* Acquire: pairs with the producer's release, the entry is complete. */
	if (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) != pos + 1)
		return false;
	*e = c->e;
	__atomic_store_n(&c->seq, pos + fq->mask + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&fq->head, pos + 1, __ATOMIC_RELEASE);
	return true;
}

uint64_t fq_count(const struct flush_queue *fq)
{
	uint64_t head = __atomic_load_n(&fq->head, __ATOMIC_ACQUIRE);
	uint64_t tail = __atomic_load_n(&fq->tail, __ATOMIC_ACQUIRE);

	return tail > head ? tail - head : 0;
}

uint64_t fq_tail(const struct flush_queue *fq)
{
	return __atomic_load_n(&fq->tail, __ATOMIC_ACQUIRE);
}
