/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flush batches: drain the queue, merge ranges, walk the invalidation array
 * once posting every instance's descriptors and one wait each, then poll the
 * waits, then release quarantined memory.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include <rte_pause.h>

#include "iommu_private.h"
#include "svio_x86_pte.h"

/* Descriptors gathered before one inv_post() call. */
#define INV_BUF 32

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Lazy: remember when the oldest unflushed unmap was queued (0: none known). */
static void lazy_note(struct svio_domain *dom, uint64_t t)
{
	uint64_t none = 0;

	if (__atomic_load_n(&dom->lazy_since, __ATOMIC_RELAXED) == 0)
		__atomic_compare_exchange_n(&dom->lazy_since, &none, t, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
}

/* Back off while waiting on hardware or on another thread's batch. */
static void relax(unsigned int *spins)
{
	if (++*spins < 64)
		rte_pause();
	else
		sched_yield();
}

struct inv_buf {
	struct svio_domain *dom;
	struct svio_iommu *iommu;
	struct svio_inv d[INV_BUF];
	unsigned int n;
	int rc;
};

static void inv_flush(struct inv_buf *b)
{
	int rc;

	if (b->n == 0)
		return;
	rc = b->iommu->ops->inv_post(b->iommu, b->d, b->n);
	if (rc < 0 && b->rc == 0)
		b->rc = rc;
	b->n = 0;
}

static void inv_emit(struct inv_buf *b, const struct svio_inv *inv)
{
	b->d[b->n++] = *inv;
	if (inv->kind == SVIO_INV_IOTLB) {
		STAT_ADD(b->dom, desc_iotlb, 1);
		if (inv->all)
			STAT_ADD(b->dom, desc_iotlb_domain, 1);
	} else {
		STAT_ADD(b->dom, desc_devtlb, 1);
	}
	if (b->n == INV_BUF)
		inv_flush(b);
}

/* Largest naturally aligned chunk at @p a inside [a, end), at most max_order. */
static unsigned int chunk_order(uint64_t a, uint64_t end, unsigned int max_order)
{
	unsigned int order = 0;

	while (order < max_order) {
		uint64_t next = SVIO_PT_PAGE_SIZE << (order + 1);

		if ((a & (next - 1)) || end - a < next)
			break;
		order++;
	}
	return order;
}

static unsigned int count_chunks(const struct flush_range *r, unsigned int nr,
				 unsigned int max_order, unsigned int limit)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr && n <= limit; i++)
		for (uint64_t a = r[i].start; a < r[i].end && n <= limit; n++)
			a += SVIO_PT_PAGE_SIZE << chunk_order(a, r[i].end, max_order);
	return n;
}

/* Post the invalidations of one tag for the ranges (or all of it). */
static void emit_tag(struct inv_buf *b, const struct inv_tag *t, const struct flush_range *r,
		     unsigned int nr, bool all)
{
	struct svio_inv inv = { .kind = t->kind, .did = t->did, .sid = t->sid, .pasid = t->pasid };
	unsigned int max_order = t->iommu->caps.max_inv_order;

	if (all) {
		inv.all = true;
		inv_emit(b, &inv);
		return;
	}
	for (unsigned int i = 0; i < nr; i++) {
		for (uint64_t a = r[i].start; a < r[i].end;) {
			inv.order = (uint8_t)chunk_order(a, r[i].end, max_order);
			inv.addr = a;
			inv_emit(b, &inv);
			a += SVIO_PT_PAGE_SIZE << inv.order;
		}
	}
}

struct pending_wait {
	struct svio_iommu *iommu;
	uint64_t cookie;
	bool posted;
};

/* Post one wait after everything posted on b->iommu; note it in @p w. */
static void wait_post(struct inv_buf *b, struct pending_wait *w)
{
	int rc;

	inv_flush(b);
	w->iommu = b->iommu;
	w->posted = false;
	if (b->rc < 0)
		return;
	rc = b->iommu->ops->wait_post(b->iommu, &w->cookie);
	if (rc < 0) {
		b->rc = rc;
		return;
	}
	w->posted = true;
	STAT_ADD(b->dom, desc_wait, 1);
}

/* Poll every posted wait to completion; -EIO if any failed. */
static int wait_all(struct pending_wait *w, unsigned int nw)
{
	unsigned int left = 0, spins = 0;
	int rc = 0;

	for (unsigned int i = 0; i < nw; i++)
		left += w[i].posted;
	while (left > 0) {
		for (unsigned int i = 0; i < nw; i++) {
			int r;

			if (!w[i].posted)
				continue;
			r = w[i].iommu->ops->wait_poll(w[i].iommu, w[i].cookie);
			if (r == -EAGAIN)
				continue;
			if (r < 0 && rc == 0)
				rc = r;
			w[i].posted = false;
			left--;
		}
		if (left > 0)
			relax(&spins);
	}
	return rc;
}

/*
 * One walk of the array: per instance its IOTLB tag, then its device-TLB
 * tags, then one wait; every instance is posted before any wait is polled.
 */
static int invalidate_ranges(struct svio_domain *dom, const struct flush_range *r, unsigned int nr)
{
	struct pending_wait waits[SVIO_IOMMU_MAX_INSTANCES];
	const struct inv_array *arr;
	unsigned int nw = 0, i = 0;
	int rc = 0;

	inv_array_read_lock();
	arr = inv_array_get(&dom->inv);
	while (i < arr->n_tags && nw < SVIO_IOMMU_MAX_INSTANCES) {
		struct inv_buf b = { .dom = dom, .iommu = arr->tags[i].iommu };
		unsigned int j = i;
		bool all;

		while (j < arr->n_tags && arr->tags[j].iommu == b.iommu)
			j++;
		if (!b.iommu->caps.first_stage) {
			i = j; /* its unmap() invalidated already (owner_unmap_batch) */
			continue;
		}
		all = count_chunks(r, nr, b.iommu->caps.max_inv_order, SVIO_INV_PSI_MAX) >
		      SVIO_INV_PSI_MAX;
		for (; i < j; i++)
			emit_tag(&b, &arr->tags[i], r, nr, all);
		wait_post(&b, &waits[nw++]);
		if (b.rc < 0 && rc == 0)
			rc = b.rc;
	}
	if (wait_all(waits, nw) < 0 && rc == 0)
		rc = -EIO;
	/* The instances stay valid until every wait on them was polled. */
	inv_array_read_unlock();
	return rc;
}

static int range_cmp(const void *a, const void *b)
{
	const struct flush_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

unsigned int flush_merge_ranges(struct flush_range *r, unsigned int n)
{
	unsigned int out = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), range_cmp);
	for (unsigned int i = 1; i < n; i++) {
		if (r[i].start <= r[out].end) {
			if (r[i].end > r[out].end)
				r[out].end = r[i].end;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

/* Give back the IOVA space an unmap cleared (its flush completed). */
static void free_iova(struct svio_domain *dom, const struct fq_entry *e)
{
	struct iova_range whole = { .start = e->iova, .end = e->iova + e->len };
	const struct iova_range *r = e->iova_runs != NULL ? e->iova_runs->r : &whole;
	uint32_t n = e->iova_runs != NULL ? e->iova_runs->n : 1;

	for (uint32_t i = 0; i < n; i++) {
		int rc = iova_free(dom->iova, r[i].start, r[i].end - r[i].start);

		if (rc == 0)
			STAT_ADD(dom, iova_freed_pages,
				 (r[i].end - r[i].start) / SVIO_PT_PAGE_SIZE);
		else if (rc == -EINVAL)
			STAT_ADD(dom, iova_free_refused, 1);
	}
}

static void release_entry(struct svio_domain *dom, const struct fq_entry *e)
{
	pgtable_free_tables(&dom->pgt, e->tables);
	/*
	 * Still mapped where an instance refused the unmap: keep it
	 * quarantined, IOVA space included. Otherwise the space goes back
	 * before the release runs: both follow the flush.
	 */
	if (e->iova_free && e->kerr == 0)
		free_iova(dom, e);
	free(e->iova_runs);
	if (e->release != NULL && e->kerr == 0) {
		e->release(e->arg);
		STAT_ADD(dom, released, 1);
	}
}

/* What an entry's flush invalidates: the leaves it cleared, and any table it freed. */
static struct flush_range entry_inv_range(const struct fq_entry *e)
{
	struct flush_range r = { .start = e->iova, .end = e->iova + e->len };

	if (e->tbl_hi > e->tbl_lo) {
		r.start = r.start < e->tbl_lo ? r.start : e->tbl_lo;
		r.end = r.end > e->tbl_hi ? r.end : e->tbl_hi;
	}
	return r;
}

/*
 * Caller holds flush_lock. @return the number of unmaps completed (releases
 * run), or -EIO when the hardware failed: entries stay quarantined and are
 * retried by the next batch.
 */
static int run_batch(struct svio_domain *dom)
{
	unsigned int n = dom->n_retry, nr;
	uint64_t hi = 0;
	int rc;

	if (dom->cfg.policy == SVIO_FLUSH_LAZY)
		__atomic_store_n(&dom->lazy_since, 0, __ATOMIC_RELAXED);
	while (n < dom->batch_cap && fq_pop(&dom->fq, &dom->batch[n]))
		n++;
	/* Left behind (still being written, or beyond the batch): keep their clock running. */
	if (dom->cfg.policy == SVIO_FLUSH_LAZY && fq_count(&dom->fq) > 0)
		lazy_note(dom, now_ns());
	if (n == 0)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		dom->ranges[i] = entry_inv_range(&dom->batch[i]);
		if (dom->batch[i].ticket + 1 > hi)
			hi = dom->batch[i].ticket + 1;
	}
	nr = flush_merge_ranges(dom->ranges, n);
	owner_unmap_batch(dom, dom->batch, n);
	rc = invalidate_ranges(dom, dom->ranges, nr);
	if (rc < 0) {
		/* Strict callers get -EIO from the watermark and stop listening. */
		for (unsigned int i = 0; i < n; i++)
			dom->batch[i].result = NULL;
		dom->n_retry = n;
		if (hi > __atomic_load_n(&dom->failed, __ATOMIC_RELAXED))
			__atomic_store_n(&dom->failed, hi, __ATOMIC_RELEASE);
		IOMMU_LOG(ERR, "flush of %u unmaps failed (%d); memory stays quarantined", n, rc);
		return rc;
	}
	/* Releases run before the ticket is published: a strict unmap returns after its release. */
	for (unsigned int i = 0; i < n; i++) {
		if (dom->batch[i].kerr && dom->batch[i].result != NULL)
			*dom->batch[i].result = dom->batch[i].kerr;
		release_entry(dom, &dom->batch[i]);
	}
	dom->n_retry = 0;
	STAT_ADD(dom, batches, 1);
	STAT_ADD(dom, batch_ranges, nr);
	if (hi > __atomic_load_n(&dom->done, __ATOMIC_RELAXED))
		__atomic_store_n(&dom->done, hi, __ATOMIC_RELEASE);
	return (int)n;
}

int flush_init(struct svio_domain *dom)
{
	unsigned int cap = 64;
	int rc;

	while (cap < 2 * dom->cfg.flush_batch)
		cap <<= 1;
	rc = fq_init(&dom->fq, cap);
	if (rc < 0)
		return rc;
	/* Room for a full queue plus a full queue's worth of failed entries. */
	dom->batch_cap = 2 * fq_capacity(&dom->fq);
	dom->batch = calloc(dom->batch_cap, sizeof(*dom->batch));
	dom->ranges = calloc(dom->batch_cap, sizeof(*dom->ranges));
	dom->kranges = calloc(dom->batch_cap, sizeof(*dom->kranges));
	rc = -ENOMEM;
	if (dom->batch == NULL || dom->ranges == NULL || dom->kranges == NULL)
		goto out_free;
	dom->n_retry = 0;
	dom->done = 0;
	dom->failed = 0;
	rc = revive_init(dom);
	if (rc < 0)
		goto out_free;
	pthread_mutex_init(&dom->flush_lock, NULL);
	return 0;

out_free:
	free(dom->batch);
	free(dom->ranges);
	free(dom->kranges);
	fq_fini(&dom->fq);
	return rc;
}

void flush_fini(struct svio_domain *dom)
{
	struct fq_entry e;

	/* Devices are detached: whatever is left can no longer be reached by DMA. */
	for (unsigned int i = 0; i < dom->n_retry; i++)
		release_entry(dom, &dom->batch[i]);
	while (fq_pop(&dom->fq, &e))
		release_entry(dom, &e);
	revive_fini(dom);
	free(dom->batch);
	free(dom->ranges);
	free(dom->kranges);
	fq_fini(&dom->fq);
	pthread_mutex_destroy(&dom->flush_lock);
}

/* Wait until @p ticket completed, running batches ourselves when the lock is free. */
static int wait_ticket(struct svio_domain *dom, uint64_t ticket)
{
	unsigned int spins = 0;

	for (;;) {
		if (__atomic_load_n(&dom->done, __ATOMIC_ACQUIRE) > ticket)
			return 0;
		if (__atomic_load_n(&dom->failed, __ATOMIC_ACQUIRE) > ticket)
			return -EIO;
		if (pthread_mutex_trylock(&dom->flush_lock) == 0) {
			run_batch(dom);
			pthread_mutex_unlock(&dom->flush_lock);
			continue;
		}
		relax(&spins);
	}
}

/*
 * Lazy: run a batch when it is big enough, old enough, or failed before.
 * Decided from shared counters first so that the data path only touches
 * the flush lock when a batch is due.
 */
static int lazy_check(struct svio_domain *dom, bool force)
{
	uint64_t count = fq_count(&dom->fq);
	int rc;

	if (count == 0 && !force)
		return 0;
	if (!force && count < dom->cfg.flush_batch) {
		uint64_t since = __atomic_load_n(&dom->lazy_since, __ATOMIC_RELAXED);

		if (since == 0) {
			/* Queued while a batch was draining: start its clock now. */
			lazy_note(dom, now_ns());
			return 0;
		}
		if (now_ns() - since < dom->cfg.flush_timeout_us * 1000)
			return 0;
	}
	if (pthread_mutex_trylock(&dom->flush_lock) != 0)
		return 0; /* someone is flushing already */
	rc = run_batch(dom);
	pthread_mutex_unlock(&dom->flush_lock);
	return rc;
}

/*
 * Naive baseline: one unmap() per instance owning its table, then per other
 * attached device one IOTLB, one device-TLB and one wait.
 */
static int flush_naive(struct svio_domain *dom, struct fq_entry *e)
{
	struct flush_range r = entry_inv_range(e);
	const struct inv_array *arr;
	int rc = 0;

	pthread_mutex_lock(&dom->flush_lock);
	owner_unmap_batch(dom, e, 1);
	inv_array_read_lock();
	arr = inv_array_get(&dom->inv);
	for (unsigned int i = 0; i < arr->n_devs; i++) {
		const struct inv_dev *d = &arr->devs[i];
		struct inv_buf b = { .dom = dom, .iommu = d->iommu };
		struct inv_tag t = { .iommu = d->iommu,
				     .kind = SVIO_INV_IOTLB,
				     .did = d->did,
				     .pasid = dom->pasid };
		bool all = count_chunks(&r, 1, d->iommu->caps.max_inv_order, SVIO_INV_PSI_MAX) >
			   SVIO_INV_PSI_MAX;
		struct pending_wait w;

		if (!d->iommu->caps.first_stage)
			continue;
		emit_tag(&b, &t, &r, 1, all);
		if (d->ats) {
			t.kind = SVIO_INV_DEVTLB;
			t.sid = d->sid;
			emit_tag(&b, &t, &r, 1, all);
		}
		wait_post(&b, &w);
		if (b.rc < 0 && rc == 0)
			rc = b.rc;
		if (wait_all(&w, 1) < 0 && rc == 0)
			rc = -EIO;
	}
	inv_array_read_unlock();
	if (rc == 0) {
		STAT_ADD(dom, batches, 1);
		STAT_ADD(dom, batch_ranges, 1);
	}
	pthread_mutex_unlock(&dom->flush_lock);
	return rc < 0 ? rc : e->kerr;
}

int flush_unmap(struct svio_domain *dom, const struct fq_entry *proto)
{
	struct fq_entry e = *proto; /* the queue's own fields come zeroed from the caller */
	uint64_t ticket;
	int kres = 0, rc;

	if (e.release != NULL)
		STAT_ADD(dom, quarantined, 1);
	if (dom->cfg.policy == SVIO_FLUSH_NAIVE) {
		rc = flush_naive(dom, &e);
		if (rc < 0) {
			free(e.iova_runs); /* the space stays quarantined too */
			return rc;	   /* memory stays quarantined: never released */
		}
		release_entry(dom, &e);
		return 0;
	}
	if (dom->cfg.policy == SVIO_FLUSH_STRICT)
		e.result = &kres;
	else if (dom->revive.ext != NULL && __atomic_load_n(&dom->n_owners, __ATOMIC_ACQUIRE) > 0)
		revive_unmapping(dom, e.iova, e.len, e.release != NULL, &e);
	while (fq_push(&dom->fq, &e, &ticket) == -EAGAIN) {
		/* Full: flush synchronously rather than overflow. */
		pthread_mutex_lock(&dom->flush_lock);
		rc = run_batch(dom);
		pthread_mutex_unlock(&dom->flush_lock);
		if (rc < 0 && fq_count(&dom->fq) >= fq_capacity(&dom->fq)) {
			free(e.iova_runs); /* never flushed: the space is never reused */
			return rc;
		}
	}
	if (dom->cfg.policy == SVIO_FLUSH_STRICT) {
		rc = wait_ticket(dom, ticket);
		/* The batch wrote kres before publishing done (acquired by wait_ticket). */
		return rc < 0 ? rc : kres;
	}
	lazy_note(dom, now_ns());
	rc = lazy_check(dom, false);
	return rc < 0 ? rc : 0;
}

/* Caller holds flush_lock: complete everything queued so far. */
static int drain_locked(struct svio_domain *dom)
{
	uint64_t target = fq_tail(&dom->fq);
	unsigned int spins = 0;
	int rc = 0;

	while (rc >= 0 &&
	       (__atomic_load_n(&dom->done, __ATOMIC_ACQUIRE) < target || dom->n_retry > 0)) {
		rc = run_batch(dom);
		if (rc == 0)
			relax(&spins); /* a producer is still writing its entry */
	}
	return rc < 0 ? rc : 0;
}

int flush_sync(struct svio_domain *dom)
{
	int rc;

	if (dom->cfg.policy == SVIO_FLUSH_NAIVE)
		return 0;
	pthread_mutex_lock(&dom->flush_lock);
	rc = drain_locked(dom);
	pthread_mutex_unlock(&dom->flush_lock);
	return rc;
}

int flush_poll(struct svio_domain *dom)
{
	if (dom->cfg.policy != SVIO_FLUSH_LAZY)
		return 0;
	/* A failed batch is retried at once, and so is one holding pages that went away. */
	return lazy_check(dom, __atomic_load_n(&dom->failed, __ATOMIC_RELAXED) >
					       __atomic_load_n(&dom->done, __ATOMIC_RELAXED) ||
				       revive_take_force(dom));
}

int flush_device(struct svio_domain *dom, const struct inv_dev *d, bool last_did)
{
	struct inv_buf b = { .dom = dom, .iommu = d->iommu };
	struct pending_wait w;
	int rc;

	if (!d->iommu->caps.first_stage) {
		/* Its unmap() invalidates: only the last device out takes the mappings along. */
		if (!last_did)
			return 0;
		pthread_mutex_lock(&dom->flush_lock);
		/*
		 * Queued unmaps go to the kernel first: sent after the unmap of
		 * everything, they would remove what a device attached later maps
		 * at the same addresses.
		 */
		if (dom->cfg.policy != SVIO_FLUSH_NAIVE && drain_locked(dom) < 0)
			IOMMU_LOG(ERR, "detach: queued unmaps failed before unmapping all");
		rc = owner_unmap_all(dom, d->iommu);
		pthread_mutex_unlock(&dom->flush_lock);
		return rc;
	}
	if (!d->ats && !last_did)
		return 0;
	pthread_mutex_lock(&dom->flush_lock);
	if (d->ats) {
		struct svio_inv inv = {
			.kind = SVIO_INV_DEVTLB, .all = true, .sid = d->sid, .pasid = dom->pasid
		};

		inv_emit(&b, &inv);
	}
	if (last_did) {
		struct svio_inv inv = {
			.kind = SVIO_INV_IOTLB, .all = true, .did = d->did, .pasid = dom->pasid
		};

		inv_emit(&b, &inv);
	}
	wait_post(&b, &w);
	rc = b.rc;
	if (wait_all(&w, 1) < 0 && rc == 0)
		rc = -EIO;
	pthread_mutex_unlock(&dom->flush_lock);
	return rc;
}
