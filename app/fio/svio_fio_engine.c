/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fio ioengine "svio": fio's jobs do I/O through svio's NVMe poll-mode driver.
 *
 *   fio --thread=1 --ioengine=external:libsvio_fio.so \
 *       --svio_eal="--no-huge -m 512 --no-shconf --vdev sim_nvme0,size=1G" \
 *       --filename=sim_nvme0/ns1 --rw=randread --bs=4k --iodepth=32 ...
 *
 * svio starts once per process (svio_fio_env.c); every job is a thread and
 * owns one queue pair on each controller it uses. queue() collects io_us,
 * commit() submits them, getevents() polls the queue pairs until enough
 * completions came back. Under SVA an io_u's buffer goes to the device as it
 * is (the buffers are DPDK memory, which svio maps at start-up where the
 * IOMMU cannot fault pages in); with dma=map-per-io it is mapped with
 * svio_dma_map() for that I/O.
 *
 * fio calls get_file_size/setup in its main thread before the jobs start,
 * init/cleanup in each job's thread, open_file/close_file on every pass.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_malloc.h>

#include "fio.h"
#include "optgroup.h"

#include "svio_eal.h"
#include "svio_iommu.h"
#include "svio_nvme.h"

#include "svio_fio_args.h"
#include "svio_fio_env.h"

#define ENGINE_NAME "svio"
#define EXPORT __attribute__((visibility("default")))

/* fio's thread_data is not ours to extend: options live in td->eo. */
struct svio_fio_opts {
	void *pad; /* fio stores its own pointer in the first field */
	char *eal;
	char *dma;
};

/* One file of a job: a namespace and the job's queue pair on its controller. */
struct svio_fio_target {
	struct svio_nvme_qpair *qp;
	uint32_t nsid;
	uint32_t block_size; /* buffer bytes a block: data, and metadata when inside it */
	uint32_t max_xfer;
};

/* A job's (thread's) state: td->io_ops_data. */
struct svio_fio_job {
	struct svio_domain *dom;
	bool map_per_io;
	struct svio_fio_target *targets; /* by fio_file.fileno */
	struct svio_nvme_qpair **qps;	 /* distinct queue pairs, to poll */
	unsigned int nqps;
	struct io_u **pending; /* queued, not yet submitted */
	unsigned int npending;
	struct io_u **events; /* completed, handed out by event() */
	unsigned int nevents, given, cap;
	bool dpdk_buffers; /* fio's io_u buffers came from rte_malloc() */
};

/* Per io_u: what the completion callback needs. */
struct svio_fio_req {
	struct io_u *io_u;
	struct svio_fio_job *job;
	uint64_t iova;
	size_t map_len;
};

/* Filled at load: a different fio would read our structs with its own layout. */
static bool fio_matches;

static struct fio_option options[] = {
	{
		.name = "svio_eal",
		.lname = "svio and DPDK options",
		.type = FIO_OPT_STR_STORE,
		.off1 = offsetof(struct svio_fio_opts, eal),
		.help = "svio's and DPDK's start-up options, words separated by blanks "
			"(e.g. --no-huge -m 512 --vdev sim_nvme0,size=1G); the same for every job",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "dma",
		.lname = "svio DMA mode",
		.type = FIO_OPT_STR_STORE,
		.off1 = offsetof(struct svio_fio_opts, dma),
		.help = "sva: io_u buffers go to the device as they are; map-per-io: "
			"svio_dma_map() for each I/O (default: sva when SVA is on)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = NULL,
	},
};

static struct svio_fio_opts *job_opts(struct thread_data *td)
{
	return td->eo;
}

/* Start svio for @p td (once per process) and refuse what cannot work. */
static int start(struct thread_data *td)
{
	enum svio_fio_dma dma;
	const char *why = NULL;
	char err[512];
	int rc;

	if (!fio_matches) {
		log_err("svio engine: this engine was built for %s, not %s: rebuild it against this "
			"fio's source\n",
			SVIO_FIO_VERSION, fio_version_string);
		return 1;
	}
	if (!td->o.use_thread) {
		log_err("svio engine: job '%s' needs thread=1: a forked job cannot share the process's "
			"svio devices\n",
			td->o.name);
		return 1;
	}
	if (svio_fio_args_dma(job_opts(td)->dma, &dma, &why) < 0) {
		log_err("svio engine: job '%s': %s, not '%s'\n", td->o.name, why, job_opts(td)->dma);
		return 1;
	}
	rc = svio_fio_env_start(job_opts(td)->eal, err, sizeof(err));
	if (rc < 0) {
		log_err("svio engine: job '%s': %s\n", td->o.name, err);
		return 1;
	}
	return 0;
}

/* Look the namespace of @p f up; with @p ctrlr_out the controller too. */
static int resolve(struct thread_data *td, struct fio_file *f, struct svio_fio_target *tg,
		   struct svio_nvme_ctrlr **ctrlr_out)
{
	struct svio_nvme_ctrlr_info ci;
	struct svio_nvme_ns_info ni;
	struct svio_nvme_ctrlr *c;
	const char *why = NULL;
	char name[sizeof(ci.name)];
	uint32_t nsid;

	if (svio_fio_args_target(f->file_name, name, sizeof(name), &nsid, &why) < 0) {
		log_err("svio engine: job '%s': %s, not '%s'\n", td->o.name, why, f->file_name);
		return 1;
	}
	c = svio_nvme_ctrlr_get(name);
	if (c == NULL) {
		log_err("svio engine: job '%s': filename=%s: no NVMe controller '%s' (name a device of "
			"svio_eal=, e.g. --vdev %s,size=1G)\n",
			td->o.name, f->file_name, name, name);
		return 1;
	}
	if (nsid == 0)
		nsid = svio_nvme_ns_next(c, 0);
	if (svio_nvme_ctrlr_info_get(c, &ci) < 0 || svio_nvme_ns_info_get(c, nsid, &ni) < 0) {
		log_err("svio engine: job '%s': filename=%s: controller %s has no active namespace %u\n",
			td->o.name, f->file_name, name, nsid);
		return 1;
	}
	tg->nsid = nsid;
	/* fio sees a block with its metadata inside as one unit: the device moves both. */
	tg->block_size = ni.block_size;
	/* Whole blocks within MDTS and the NLB field: the driver does not split. */
	tg->max_xfer = ni.max_nlb * ni.block_size;
	f->real_file_size = ni.nblocks * ni.block_size;
	f->filetype = FIO_TYPE_BLOCK;
	fio_file_set_size_known(f);
	if (ctrlr_out != NULL)
		*ctrlr_out = c;
	return 0;
}

/* Main thread, before the job runs: start svio, size every file. */
static int svio_fio_setup(struct thread_data *td)
{
	struct svio_fio_target tg;
	struct fio_file *f;
	unsigned int i;

	if (start(td) != 0)
		return 1;
	for_each_file(td, f, i)
		if (resolve(td, f, &tg, NULL) != 0)
			return 1;
	return 0;
}

static int svio_fio_get_file_size(struct thread_data *td, struct fio_file *f)
{
	struct svio_fio_target tg;

	if (start(td) != 0)
		return 1;
	return resolve(td, f, &tg, NULL);
}

static void job_free(struct svio_fio_job *job)
{
	for (unsigned int i = 0; i < job->nqps; i++)
		svio_nvme_qpair_free(job->qps[i]);
	free(job->qps);
	free(job->targets);
	free(job->pending);
	free(job->events);
	free(job);
}

/* The job's queue pair on @p c: made once, shared by the files on one controller. */
static int job_qpair(struct thread_data *td, struct svio_fio_job *job, struct svio_nvme_ctrlr *c,
		     struct svio_nvme_qpair **out)
{
	int rc;

	rc = svio_nvme_qpair_alloc(c, td->o.iodepth, out);
	if (rc < 0) {
		log_err("svio engine: job '%s': no queue pair of depth %u: %s\n", td->o.name,
			td->o.iodepth, strerror(-rc));
		return 1;
	}
	if (svio_nvme_qpair_depth(*out) < td->o.iodepth) {
		log_err("svio engine: job '%s': iodepth=%u is deeper than the controller's queues (%u)\n",
			td->o.name, td->o.iodepth, svio_nvme_qpair_depth(*out));
		svio_nvme_qpair_free(*out);
		return 1;
	}
	job->qps[job->nqps++] = *out;
	return 0;
}

/* Job thread: queue pairs and the job's arrays. */
static int svio_fio_init(struct thread_data *td)
{
	unsigned int n = td->o.nr_files, depth = td->o.iodepth;
	struct svio_nvme_ctrlr **ctrlrs;
	enum svio_fio_dma dma;
	struct svio_fio_job *job;
	const char *why = NULL;
	struct fio_file *f;
	unsigned int i;

	if (start(td) != 0)
		return 1;
	/* start() checked it */
	(void)svio_fio_args_dma(job_opts(td)->dma, &dma, &why);
	job = calloc(1, sizeof(*job));
	ctrlrs = calloc(n, sizeof(*ctrlrs));
	if (job == NULL || ctrlrs == NULL)
		goto out_nomem;
	job->targets = calloc(n, sizeof(*job->targets));
	job->qps = calloc(n, sizeof(*job->qps));
	job->pending = calloc(depth, sizeof(*job->pending));
	job->events = calloc(depth, sizeof(*job->events));
	if (job->targets == NULL || job->qps == NULL || job->pending == NULL ||
	    job->events == NULL)
		goto out_nomem;
	job->cap = depth;
	job->dom = svio_domain_default();
	if (dma == SVIO_FIO_DMA_SVA && !svio_domain_sva(job->dom)) {
		log_err("svio engine: job '%s': dma=sva needs SVA, which the domain has off "
			"(--sva=off or the backend cannot): use dma=map-per-io\n",
			td->o.name);
		goto out_free;
	}
	job->map_per_io = dma == SVIO_FIO_DMA_MAP_PER_IO ||
			  (dma == SVIO_FIO_DMA_DEFAULT && !svio_domain_sva(job->dom));

	for_each_file(td, f, i) {
		struct svio_fio_target *tg = &job->targets[f->fileno];

		if (resolve(td, f, tg, &ctrlrs[f->fileno]) != 0)
			goto out_free;
		for (int k = 0; k < f->fileno && tg->qp == NULL; k++)
			if (ctrlrs[k] == ctrlrs[f->fileno])
				tg->qp = job->targets[k].qp;
		if (tg->qp == NULL && job_qpair(td, job, ctrlrs[f->fileno], &tg->qp) != 0)
			goto out_free;
	}
	free(ctrlrs);
	td->io_ops_data = job;
	return 0;

out_nomem:
	log_err("svio engine: job '%s': out of memory\n", td->o.name);
out_free:
	free(ctrlrs);
	if (job != NULL)
		job_free(job);
	return 1;
}

static void svio_fio_cleanup(struct thread_data *td)
{
	struct svio_fio_job *job = td->io_ops_data;

	if (job == NULL)
		return;
	td->io_ops_data = NULL;
	job_free(job);
}

/* Queue pairs live from init to cleanup: a pass only marks the file open. */
static int svio_fio_open_file(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

static int svio_fio_close_file(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

/*
 * fio's io_u buffers, called after init. Under SVA they are DPDK memory: a
 * device behind iommufd cannot fault pages in, and svio maps DPDK memory
 * at start-up, so the buffers reach it as they are (fio's own malloc()
 * memory would be unknown to the IOMMU). map-per-io maps each I/O's pages
 * itself, which DPDK memory, already mapped there, would refuse.
 */
static int svio_fio_iomem_alloc(struct thread_data *td, size_t len)
{
	struct svio_fio_job *job = td->io_ops_data;

	job->dpdk_buffers = !job->map_per_io;
	if (job->dpdk_buffers)
		td->orig_buffer = rte_malloc("svio_fio", len, 4096);
	else if (posix_memalign((void **)&td->orig_buffer, 4096, len) != 0)
		td->orig_buffer = NULL;
	if (td->orig_buffer == NULL) {
		log_err("svio engine: job '%s': no %zu bytes %s for the io_u buffers%s\n", td->o.name,
			len, job->dpdk_buffers ? "of DPDK memory" : "of memory",
			job->dpdk_buffers ? " (give DPDK more with -m in svio_eal=)" : "");
		return 1;
	}
	return 0;
}

static void svio_fio_iomem_free(struct thread_data *td)
{
	struct svio_fio_job *job = td->io_ops_data;

	if (td->orig_buffer == NULL || job == NULL)
		return;
	if (job->dpdk_buffers)
		rte_free(td->orig_buffer);
	else
		free(td->orig_buffer);
	td->orig_buffer = NULL;
}

static int svio_fio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct svio_fio_req *req = calloc(1, sizeof(*req));

	if (req == NULL)
		return 1;
	req->io_u = io_u;
	req->job = td->io_ops_data;
	io_u->engine_data = req;
	return 0;
}

static void svio_fio_io_u_free(struct thread_data *td, struct io_u *io_u)
{
	(void)td;
	free(io_u->engine_data);
	io_u->engine_data = NULL;
}

static void req_done(void *arg, const struct svio_nvme_cpl *cpl)
{
	struct svio_fio_req *req = arg;
	struct svio_fio_job *job = req->job;
	struct io_u *io_u = req->io_u;

	if (req->map_len != 0) {
		svio_dma_unmap(job->dom, req->iova, req->map_len);
		req->map_len = 0;
	}
	io_u->error = -cpl->rc;
	io_u->resid = cpl->rc != 0 ? io_u->xfer_buflen : 0;
	job->events[job->nevents++] = io_u;
}

#define PAGE_MASK_4K ((uintptr_t)4095)

/* Hand @p io_u to the device. @return 0 or a negative errno (nothing submitted). */
static int submit(struct thread_data *td, struct svio_fio_job *job, struct io_u *io_u)
{
	struct svio_fio_target *tg = &job->targets[io_u->file->fileno];
	struct svio_fio_req *req = io_u->engine_data;
	uint64_t lba = io_u->offset / tg->block_size;
	uint32_t nlb = (uint32_t)(io_u->xfer_buflen / tg->block_size);
	int rc;

	(void)td;
	if (ddir_sync(io_u->ddir))
		return svio_nvme_flush(tg->qp, tg->nsid, req_done, req);
	if (io_u->ddir == DDIR_TRIM)
		return svio_nvme_deallocate(tg->qp, tg->nsid, lba, nlb, req_done, req);
	if (!job->map_per_io)
		return io_u->ddir == DDIR_READ ? svio_nvme_read(tg->qp, tg->nsid, io_u->xfer_buf,
								lba, nlb, req_done, req)
					       : svio_nvme_write(tg->qp, tg->nsid, io_u->xfer_buf,
								 lba, nlb, req_done, req);

	/* svio maps whole 4 KiB pages: the pages under the buffer, for this I/O only. */
	uintptr_t va = (uintptr_t)io_u->xfer_buf, base = va & ~PAGE_MASK_4K;
	size_t len = ((va + io_u->xfer_buflen + PAGE_MASK_4K) & ~PAGE_MASK_4K) - base;
	uint64_t iova;

	rc = svio_dma_map(job->dom, (void *)base, len,
			  io_u->ddir == DDIR_READ ? SVIO_DMA_WRITE : SVIO_DMA_READ, &req->iova);
	if (rc < 0)
		return rc;
	req->map_len = len;
	iova = req->iova + (va - base);
	rc = io_u->ddir == DDIR_READ
		     ? svio_nvme_read_iova(tg->qp, tg->nsid, iova, lba, nlb, req_done, req)
		     : svio_nvme_write_iova(tg->qp, tg->nsid, iova, lba, nlb, req_done, req);
	if (rc < 0) {
		svio_dma_unmap(job->dom, req->iova, req->map_len);
		req->map_len = 0;
	}
	return rc;
}

static enum fio_q_status svio_fio_queue(struct thread_data *td, struct io_u *io_u)
{
	struct svio_fio_job *job = td->io_ops_data;
	struct svio_fio_target *tg = &job->targets[io_u->file->fileno];

	fio_ro_check(td, io_u);
	if (ddir_rw(io_u->ddir) &&
	    (io_u->offset % tg->block_size != 0 || io_u->xfer_buflen % tg->block_size != 0 ||
	     io_u->xfer_buflen == 0 ||
	     (io_u->ddir != DDIR_TRIM && io_u->xfer_buflen > tg->max_xfer))) {
		log_err("svio engine: job '%s': %s of %llu bytes at %llu: the namespace takes whole "
			"%u-byte blocks, at most %u bytes a command\n",
			td->o.name, io_ddir_name(io_u->ddir), io_u->xfer_buflen, io_u->offset,
			tg->block_size, tg->max_xfer);
		io_u->error = EINVAL;
		return FIO_Q_COMPLETED;
	}
	if (job->npending == job->cap)
		return FIO_Q_BUSY;
	job->pending[job->npending++] = io_u;
	return FIO_Q_QUEUED;
}

/* Submit what queue() collected; a refused command completes with its error. */
static int svio_fio_commit(struct thread_data *td)
{
	struct svio_fio_job *job = td->io_ops_data;
	unsigned int n = job->npending;
	bool stamp = fio_fill_issue_time(td);
	struct timespec now;

	if (n == 0)
		return 0;
	/*
	 * One clock read a batch, before the doorbell: the engine says so
	 * (FIO_ASYNCIO_SETS_ISSUE_TIME), or fio would read the clock again per
	 * I/O after queue() and, with the built-in controller completing at the
	 * doorbell, stamp the I/O after it was done.
	 */
	if (stamp) {
		fio_gettime(&now, NULL);
		if (td->o.read_iolog_file)
			memcpy(&td->last_issue, &now, sizeof(now));
	}
	for (unsigned int i = 0; i < n; i++) {
		struct io_u *io_u = job->pending[i];
		int rc;

		if (stamp) {
			memcpy(&io_u->issue_time, &now, sizeof(now));
			io_u_queued(td, io_u);
		}
		while ((rc = submit(td, job, io_u)) == -EAGAIN) {
			/* Full or resetting: room comes back with completions. */
			for (unsigned int q = 0; q < job->nqps; q++)
				svio_nvme_qpair_poll(job->qps[q], job->cap - job->nevents);
		}
		if (rc < 0) {
			io_u->error = -rc;
			io_u->resid = io_u->xfer_buflen;
			job->events[job->nevents++] = io_u;
		}
	}
	io_u_mark_submit(td, n);
	job->npending = 0;
	return 0;
}

static bool past(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static int svio_fio_getevents(struct thread_data *td, unsigned int min, unsigned int max,
			      const struct timespec *t)
{
	struct svio_fio_job *job = td->io_ops_data;
	struct timespec deadline;
	unsigned int spins = 0;

	/* Drop what the last call handed out; keep any beyond its max. */
	if (job->given != 0) {
		memmove(job->events, job->events + job->given,
			(job->nevents - job->given) * sizeof(*job->events));
		job->nevents -= job->given;
		job->given = 0;
	}
	if (t != NULL) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += t->tv_sec;
		deadline.tv_nsec += t->tv_nsec;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	/*
	 * fio asks for few events at a time (iodepth_batch_complete_max defaults
	 * to 1): reap all that are ready and keep what is beyond max for the
	 * next calls, which then need no poll. Each poll rings the completion
	 * doorbell; reaping in batches rings it once a batch instead of once
	 * an I/O.
	 */
	do {
		for (unsigned int q = 0; q < job->nqps && job->nevents < max; q++) {
			int rc = svio_nvme_qpair_poll(job->qps[q], job->cap - job->nevents);

			if (rc < 0 && rc != -EAGAIN) {
				log_err("svio engine: job '%s': polling the queue pair failed: %s\n",
					td->o.name, strerror(-rc));
				return rc;
			}
		}
		if (job->nevents >= min)
			break;
	} while (t == NULL || (++spins & 1023) != 0 || !past(&deadline));
	job->given = job->nevents < max ? job->nevents : max;
	return (int)job->given;
}

static struct io_u *svio_fio_event(struct thread_data *td, int event)
{
	struct svio_fio_job *job = td->io_ops_data;

	return job->events[event];
}

EXPORT struct ioengine_ops ioengine = {
	.name = ENGINE_NAME,
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_RAWIO | FIO_NOEXTEND | FIO_NODISKUTIL | FIO_MEMALIGN | FIO_DISKLESSIO |
		 FIO_ASYNCIO_SETS_ISSUE_TIME,
	.setup = svio_fio_setup,
	.init = svio_fio_init,
	.queue = svio_fio_queue,
	.commit = svio_fio_commit,
	.getevents = svio_fio_getevents,
	.event = svio_fio_event,
	.cleanup = svio_fio_cleanup,
	.open_file = svio_fio_open_file,
	.close_file = svio_fio_close_file,
	.get_file_size = svio_fio_get_file_size,
	.io_u_init = svio_fio_io_u_init,
	.io_u_free = svio_fio_io_u_free,
	.iomem_alloc = svio_fio_iomem_alloc,
	.iomem_free = svio_fio_iomem_free,
	.option_struct_size = sizeof(struct svio_fio_opts),
	.options = options,
};

/*
 * Loaded by path (ioengine=external:...) fio finds the "ioengine" symbol; preloaded
 * (LD_PRELOAD) the engine is registered here and found by name (ioengine=svio).
 */
static void __attribute__((constructor)) svio_fio_register(void)
{
	fio_matches = strcmp(fio_version_string, SVIO_FIO_VERSION) == 0;
	register_ioengine(&ioengine);
}

static void __attribute__((destructor)) svio_fio_unregister(void)
{
	unregister_ioengine(&ioengine);
}
