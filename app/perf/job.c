/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio-perf: one job's I/O loop. A job owns one queue pair on every
 * controller and a disjoint slice of every namespace, keeps iodepth commands
 * in flight spread over the controllers, and polls; no locks anywhere.
 * With --verify, the timed phase is followed by a read-back phase (untimed,
 * outside the figures) that reads every block the job wrote and checks it
 * holds the job's last write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "svio_iommu.h"
#include "perf.h"

#define VERIFY_MAGIC 0x46505653u /* "SVPF" */
#define GEN_BUSY     0x80000000u /* a command on this block is in flight */
#define DRAIN_NS     (5ull * 1000000000ull)

struct verify_hdr {
	uint32_t magic;
	uint32_t crc; /* CRC-32C of the block from byte 8 on */
	uint64_t block;
	uint32_t gen;
	uint32_t job;
	uint64_t nonce; /* the run's perf_opts.verify_nonce */
};

struct job_target {
	struct svio_nvme_qpair *qp; /* the job's pair on the namespace's controller */
	bool owns_qp;		    /* the first target on that controller: polls, frees */
	uint64_t first, nblk;	    /* this job's slice, in bs blocks */
	uint64_t cursor;
	uint32_t *gen; /* verify: generation written to each block, 0 unknown */
};

struct job_io;

struct job_ctx {
	struct perf_job *job;
	const struct perf_opts *o;
	struct svio_domain *dom;
	struct job_target tg[PERF_MAX_TARGETS];
	struct job_io *ios;
	struct job_io **free_ios;
	uint32_t nfree;
	uint8_t *bufs;
	uint64_t rng;
	unsigned int next_tg;
	double ns_per_tsc;
	unsigned int reported;
	bool failed;
	/* Read-back phase: the next (block, target) to look at, targets fastest. */
	uint64_t rb_blk;
	unsigned int rb_tg;
	uint64_t rb_max; /* largest slice, in blocks */
	uint64_t completions;
};

struct job_io {
	struct job_ctx *ctx;
	uint8_t *buf;
	uint64_t iova;
	uint64_t t0;
	uint64_t blk;
	unsigned int tg;
	enum perf_dir dir;
	bool mapped;
	bool readback; /* a read of the read-back phase: checked, not in the figures */
};

static uint64_t rnd(struct job_ctx *x)
{
	/* xorshift64*: fast, good enough to pick blocks. */
	x->rng ^= x->rng >> 12;
	x->rng ^= x->rng << 25;
	x->rng ^= x->rng >> 27;
	return x->rng * 2685821657736338717ull;
}

static void fill_payload(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t s = seed | 1;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		memcpy(p + i, &s, 8);
	}
}

static uint64_t global_block(const struct job_io *io)
{
	return ((uint64_t)io->tg << 48) | (io->ctx->tg[io->tg].first + io->blk);
}

static void verify_fill(struct job_io *io, uint32_t gen)
{
	struct verify_hdr h = {
		.magic = VERIFY_MAGIC,
		.block = global_block(io),
		.gen = gen,
		.job = io->ctx->job->id,
		.nonce = io->ctx->o->verify_nonce,
	};
	/* The whole buffer: with extended metadata the blocks' metadata too. */
	uint32_t bs = perf_targets[io->tg].xfer;

	fill_payload(io->buf + sizeof(h), bs - sizeof(h),
		     (h.block * 0x9e3779b97f4a7c15ull ^ gen) + h.nonce * 0xbf58476d1ce4e5b9ull);
	memcpy(io->buf, &h, sizeof(h));
	h.crc = perf_crc32c(io->buf + 8, bs - 8);
	memcpy(io->buf, &h, sizeof(h));
}

static void verify_error(struct job_ctx *x, const struct job_io *io, const char *what)
{
	x->job->verify_errors++;
	if (x->reported++ < 5)
		fprintf(stderr,
			"svio-perf: job %u: verify error at %s namespace %u block %llu: %s\n",
			x->job->id, svio_nvme_ctrlr_device(perf_targets[io->tg].ctrlr)->name,
			perf_targets[io->tg].nsid,
			(unsigned long long)(x->tg[io->tg].first + io->blk), what);
}

static void verify_check(struct job_ctx *x, const struct job_io *io, uint32_t gen)
{
	struct verify_hdr h;
	uint32_t bs = perf_targets[io->tg].xfer;

	x->job->verify_checked++;
	memcpy(&h, io->buf, sizeof(h));
	if (h.magic != VERIFY_MAGIC)
		verify_error(x, io, "no header (block lost or never reached the device)");
	else if (h.block != global_block(io))
		verify_error(x, io, "header names another block (misplaced write)");
	else if (h.nonce != x->o->verify_nonce)
		verify_error(x, io, "data of another run (this run's write was lost)");
	else if (h.gen != gen)
		verify_error(x, io, "stale data (an older write)");
	else if (h.crc != perf_crc32c(io->buf + 8, bs - 8))
		verify_error(x, io, "CRC-32C mismatch (corrupted data)");
}

static void io_done(void *arg, const struct svio_nvme_cpl *cpl)
{
	struct job_io *io = arg;
	struct job_ctx *x = io->ctx;
	struct job_target *t = &x->tg[io->tg];
	uint64_t lat = (uint64_t)((double)(rte_rdtsc() - io->t0) * x->ns_per_tsc);
	uint32_t gen = t->gen != NULL ? t->gen[io->blk] & ~GEN_BUSY : 0;

	x->completions++;
	if (io->mapped) {
		svio_dma_unmap(x->dom, io->iova, (perf_targets[io->tg].xfer + 4095) & ~4095u);
		io->mapped = false;
	}
	if (cpl->rc != 0) {
		x->job->io_errors++;
		if (x->reported++ < 5)
			fprintf(stderr,
				"svio-perf: job %u: %s of block %llu failed: %s (status 0x%x)\n",
				x->job->id,
				io->readback	      ? "verify read-back"
				: io->dir == DIR_READ ? "read"
						      : "write",
				(unsigned long long)(t->first + io->blk), strerror(-cpl->rc),
				cpl->status);
		if (io->dir == DIR_WRITE)
			gen = 0; /* contents unknown now */
	} else if (io->readback) {
		x->job->verify_reads++;
		verify_check(x, io, gen);
	} else {
		stats_add(&x->job->st[io->dir], lat, x->o->bs);
		x->job->target_ios[io->tg]++;
		atomic_store_explicit(&x->job->live_ios[io->dir], x->job->st[io->dir].ios,
				      memory_order_relaxed);
		atomic_store_explicit(&x->job->live_bytes[io->dir], x->job->st[io->dir].bytes,
				      memory_order_relaxed);
		if (io->dir == DIR_READ && gen != 0)
			verify_check(x, io, gen);
	}
	if (t->gen != NULL)
		t->gen[io->blk] = gen;
	x->free_ios[x->nfree++] = io;
}

static bool pick_block(struct job_ctx *x, struct job_target *t, bool random, uint64_t *blk)
{
	for (unsigned int tries = 0; tries < 8; tries++) {
		uint64_t b;

		if (random) {
			b = rnd(x) % t->nblk;
		} else {
			b = t->cursor;
			t->cursor = (t->cursor + 1) % t->nblk;
		}
		if (t->gen == NULL || !(t->gen[b] & GEN_BUSY)) {
			*blk = b;
			return true;
		}
	}
	return false;
}

/* Map (map-per-io) and submit @p io as set up. @return 0, -EAGAIN, other: the job fails. */
static int issue(struct job_ctx *x, struct job_io *io)
{
	const struct perf_opts *o = x->o;
	const struct perf_target *pt = &perf_targets[io->tg];
	struct job_target *t = &x->tg[io->tg];
	uint64_t lba = (t->first + io->blk) * pt->nlb;
	uint32_t nlb = pt->nlb, maplen = (pt->xfer + 4095) & ~4095u;
	int rc;

	/* A read that delivers nothing must not pass on what the buffer held before. */
	if (o->verify && io->dir == DIR_READ)
		memset(io->buf, 0, sizeof(struct verify_hdr));
	io->iova = (uint64_t)(uintptr_t)io->buf;
	if (o->dma == DMA_MAP_PER_IO) {
		rc = svio_dma_map(x->dom, io->buf, maplen,
				  io->dir == DIR_READ ? SVIO_DMA_WRITE : SVIO_DMA_READ, &io->iova);
		if (rc < 0) {
			fprintf(stderr, "svio-perf: job %u: svio_dma_map failed: %s\n", x->job->id,
				strerror(-rc));
			return rc;
		}
		io->mapped = true;
	}
	io->t0 = rte_rdtsc();
	rc = io->dir == DIR_READ
		     ? svio_nvme_read_iova(t->qp, pt->nsid, io->iova, lba, nlb, io_done, io)
		     : svio_nvme_write_iova(t->qp, pt->nsid, io->iova, lba, nlb, io_done, io);
	if (rc < 0) {
		if (io->mapped) {
			svio_dma_unmap(x->dom, io->iova, maplen);
			io->mapped = false;
		}
		if (rc != -EAGAIN)
			fprintf(stderr, "svio-perf: job %u: submit failed: %s\n", x->job->id,
				strerror(-rc));
		return rc;
	}
	return 0;
}

/* @return 0 submitted, -EAGAIN try later, other: the job fails. */
static int submit_one(struct job_ctx *x)
{
	const struct perf_opts *o = x->o;
	struct job_target *t;
	struct job_io *io;
	bool random = o->rw >= RW_RANDREAD;
	enum perf_dir dir;
	uint32_t gen = 0;
	int rc;

	if (x->nfree == 0)
		return -EAGAIN;
	io = x->free_ios[x->nfree - 1];
	io->tg = x->next_tg;
	x->next_tg = (x->next_tg + 1) % perf_ntargets;
	t = &x->tg[io->tg];
	switch (o->rw) {
	case RW_READ:
	case RW_RANDREAD:
		dir = DIR_READ;
		break;
	case RW_WRITE:
	case RW_RANDWRITE:
		dir = DIR_WRITE;
		break;
	default:
		dir = rnd(x) % 100 < o->rwmixread ? DIR_READ : DIR_WRITE;
	}
	if (!pick_block(x, t, random, &io->blk))
		return -EAGAIN;
	io->dir = dir;
	io->readback = false;
	if (t->gen != NULL) {
		gen = t->gen[io->blk];
		if (dir == DIR_WRITE) {
			gen = (gen + 1) & ~GEN_BUSY;
			if (gen == 0)
				gen = 1;
			verify_fill(io, gen);
		}
	}
	rc = issue(x, io);
	if (rc < 0)
		return rc;
	if (t->gen != NULL)
		t->gen[io->blk] = gen | GEN_BUSY;
	x->nfree--;
	return 0;
}

/*
 * Read-back: issue a read of the next block this job wrote (the last write of
 * each, as t->gen records it). @return 0 submitted, -ENOENT nothing left,
 * -EAGAIN try later, other: the job fails.
 */
static int readback_one(struct job_ctx *x)
{
	struct job_io *io;
	int rc;

	if (x->nfree == 0)
		return -EAGAIN;
	for (; x->rb_blk < x->rb_max; x->rb_tg = 0, x->rb_blk++) {
		for (; x->rb_tg < perf_ntargets; x->rb_tg++) {
			const struct job_target *t = &x->tg[x->rb_tg];

			if (x->rb_blk < t->nblk && t->gen[x->rb_blk] != 0)
				goto found;
		}
	}
	return -ENOENT;
found:
	io = x->free_ios[x->nfree - 1];
	io->tg = x->rb_tg;
	io->blk = x->rb_blk;
	io->dir = DIR_READ;
	io->readback = true;
	rc = issue(x, io);
	if (rc < 0)
		return rc;
	x->nfree--;
	x->rb_tg++;
	return 0;
}

static void poll_all(struct job_ctx *x)
{
	for (unsigned int i = 0; i < perf_ntargets; i++) {
		int rc;

		if (!x->tg[i].owns_qp)
			continue;
		rc = svio_nvme_qpair_poll(x->tg[i].qp, 0);

		if (rc < 0 && rc != -EAGAIN && !x->failed) {
			fprintf(stderr, "svio-perf: job %u: poll failed: %s\n", x->job->id,
				strerror(-rc));
			x->failed = true;
		}
	}
}

static void ctx_free(struct job_ctx *x)
{
	for (unsigned int i = 0; i < perf_ntargets; i++) {
		if (x->tg[i].owns_qp)
			svio_nvme_qpair_free(x->tg[i].qp);
		free(x->tg[i].gen);
	}
	if (x->o->dma == DMA_SVA)
		rte_free(x->bufs);
	else
		free(x->bufs);
	free(x->ios);
	free(x->free_ios);
}

static int ctx_init(struct job_ctx *x, struct perf_job *job)
{
	const struct perf_opts *o = job->o;
	size_t bs_al = 0;
	unsigned int i;
	int rc;

	/* Every buffer holds the largest transfer (extended metadata adds to bs). */
	for (i = 0; i < perf_ntargets; i++)
		if (perf_targets[i].xfer > bs_al)
			bs_al = perf_targets[i].xfer;
	bs_al = (bs_al + 4095) & ~(size_t)4095;

	memset(x, 0, sizeof(*x));
	x->job = job;
	x->o = o;
	x->dom = svio_domain_default();
	x->rng = 0x9e3779b97f4a7c15ull * (job->id + 1);
	x->ns_per_tsc = 1e9 / (double)rte_get_tsc_hz();
	x->ios = calloc(o->iodepth, sizeof(*x->ios));
	x->free_ios = calloc(o->iodepth, sizeof(*x->free_ios));
	if (x->ios == NULL || x->free_ios == NULL)
		return -ENOMEM;
	/*
	 * SVA: DPDK memory, as a DPDK application's buffers would be; devices
	 * reach it by its process address (faulted in by the built-in IOMMU,
	 * mapped IOVA = VA at start-up on iommufd). map-per-io: ordinary heap
	 * memory, mapped around every I/O like a kernel's streaming DMA.
	 */
	if (o->dma == DMA_SVA)
		x->bufs = rte_malloc_socket("svio_perf_bufs", bs_al * o->iodepth, 4096,
					    (int)rte_socket_id());
	else if (posix_memalign((void **)&x->bufs, 4096, bs_al * o->iodepth) != 0)
		x->bufs = NULL;
	if (x->bufs == NULL)
		return -ENOMEM;
	memset(x->bufs, 0, bs_al * o->iodepth);
	for (i = 0; i < o->iodepth; i++) {
		x->ios[i].ctx = x;
		x->ios[i].buf = x->bufs + i * bs_al;
		x->free_ios[x->nfree++] = &x->ios[o->iodepth - 1 - i];
	}
	for (i = 0; i < perf_ntargets; i++) {
		const struct perf_target *pt = &perf_targets[i];
		struct job_target *t = &x->tg[i];

		t->first = pt->blocks * job->id / o->numjobs;
		t->nblk = pt->blocks * (job->id + 1) / o->numjobs - t->first;
		if (t->nblk > x->rb_max)
			x->rb_max = t->nblk;
		if (o->verify) {
			t->gen = calloc(t->nblk, sizeof(*t->gen));
			if (t->gen == NULL)
				return -ENOMEM;
		}
		/* Namespaces of one controller share the job's queue pair there. */
		for (unsigned int k = 0; k < i; k++)
			if (perf_targets[k].ctrlr == pt->ctrlr)
				t->qp = x->tg[k].qp;
		if (t->qp != NULL)
			continue;
		rc = svio_nvme_qpair_alloc(pt->ctrlr, o->iodepth, &t->qp);
		if (rc < 0) {
			fprintf(stderr, "svio-perf: job %u: no queue pair on %s: %s\n", job->id,
				svio_nvme_ctrlr_device(pt->ctrlr)->name, strerror(-rc));
			return rc;
		}
		t->owns_qp = true;
	}
	return 0;
}

/* Wait until every command is back (or DRAIN_NS without one completing). */
static void drain(struct job_ctx *x)
{
	uint64_t hz = rte_get_tsc_hz(), seen = x->completions;
	uint64_t end = rte_rdtsc() + (uint64_t)(DRAIN_NS / 1e9 * hz);

	while (x->nfree < x->o->iodepth && rte_rdtsc() < end) {
		poll_all(x);
		if (x->completions != seen) {
			seen = x->completions;
			end = rte_rdtsc() + (uint64_t)(DRAIN_NS / 1e9 * hz);
		}
	}
}

/*
 * The read-back phase, fio's verify after the write phase: every block the
 * job wrote is read with the same DMA mode and checked against its last
 * write. Not timed into the figures; stopped early only by a signal.
 */
static void readback(struct job_ctx *x)
{
	struct perf_job *job = x->job;
	uint64_t start = rte_rdtsc(), hz = rte_get_tsc_hz(), seen = 0;
	uint64_t stall = start + (uint64_t)(DRAIN_NS / 1e9 * hz);
	bool more = true;

	/* The progress lines stop with the timed phase: say why the run goes on. */
	if (job->id == 0 && x->o->status_interval > 0)
		fprintf(stderr, "svio-perf: verify: reading back every block written\n");
	while ((more || x->nfree < x->o->iodepth) && !x->failed) {
		while (more && !atomic_load_explicit(&perf_stop, memory_order_relaxed)) {
			int rc = readback_one(x);

			if (rc == -ENOENT) {
				more = false;
			} else if (rc == -EAGAIN) {
				break;
			} else if (rc < 0) {
				x->failed = true;
				more = false;
			}
		}
		if (more && atomic_load_explicit(&perf_stop, memory_order_relaxed)) {
			job->verify_interrupted = true;
			more = false;
		}
		poll_all(x);
		if (x->completions != seen) {
			seen = x->completions;
			stall = rte_rdtsc() + (uint64_t)(DRAIN_NS / 1e9 * hz);
		} else if (rte_rdtsc() > stall) {
			break; /* reported by the caller as commands never completed */
		}
	}
	drain(x);
	job->verify_runtime_ns = (uint64_t)((double)(rte_rdtsc() - start) * x->ns_per_tsc);
}

int perf_job_run(struct perf_job *job)
{
	const struct perf_opts *o = job->o;
	struct job_ctx x;
	uint64_t hz = rte_get_tsc_hz(), start, end, now, next_status;
	int rc;

	rc = ctx_init(&x, job);
	if (rc < 0) {
		perf_timed_phase_end(job);
		goto out_free_ctx;
	}
	start = rte_rdtsc();
	end = start + (uint64_t)(o->runtime * (double)hz);
	next_status =
		o->status_interval > 0 ? start + (uint64_t)(o->status_interval * hz) : UINT64_MAX;
	for (now = start; now < end && !x.failed && !atomic_load(&perf_stop); now = rte_rdtsc()) {
		while (!x.failed) {
			rc = submit_one(&x);
			if (rc == -EAGAIN)
				break;
			if (rc < 0)
				x.failed = true;
		}
		poll_all(&x);
		if (job->id == 0 && now >= next_status) {
			perf_progress((uint64_t)((double)(now - start) * x.ns_per_tsc));
			next_status += (uint64_t)(o->status_interval * hz);
		}
	}
	/* Drain what is in flight, so every buffer is back before it is freed. */
	drain(&x);
	job->runtime_ns = (uint64_t)((double)(rte_rdtsc() - start) * x.ns_per_tsc);
	perf_timed_phase_end(job);
	if (o->verify && x.nfree == o->iodepth && !x.failed)
		readback(&x);
	if (x.nfree < o->iodepth) {
		fprintf(stderr, "svio-perf: job %u: %u commands never completed\n", job->id,
			o->iodepth - x.nfree);
		x.failed = true;
	}
	rc = x.failed ? -EIO : 0;
out_free_ctx:
	ctx_free(&x);
	job->rc = rc;
	return rc;
}
