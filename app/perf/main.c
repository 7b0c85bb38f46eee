/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio-perf: fio-like load on every NVMe controller svio probed.
 *   svio-perf --vdev sim_nvme0,size=1G -- --rw=randrw --bs=4k --iodepth=32 --runtime=5
 * EAL and svio options first, svio-perf's own after "--" (see --help).
 * Exit status: 0 (also for --help); 1 when an I/O or verify error happened,
 * the IOMMU counted a stale use, or setup failed; otherwise 2 when a signal
 * cut the --verify read-back short (what was read verified, but not every
 * block written was checked).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include "svio_eal.h"
#include "svio_iommu.h"
#include "perf.h"

struct perf_target perf_targets[PERF_MAX_TARGETS];
unsigned int perf_ntargets;
_Atomic bool perf_stop;

#define EXIT_FAILED	1
#define EXIT_UNVERIFIED 2 /* --verify read-back interrupted, nothing failed */

static struct perf_job *jobs;
static unsigned int njobs; /* jobs started; set before job 0 runs */
static struct perf_iommu_phases phases;
static _Atomic unsigned int timed_arrived;
static _Atomic bool timed_released;
static uint64_t last_ios[DIR_N], last_bytes[DIR_N], last_ns;

void perf_progress(uint64_t elapsed_ns)
{
	uint64_t ios[DIR_N] = { 0 }, bytes[DIR_N] = { 0 };
	double dt = (double)(elapsed_ns - last_ns) / 1e9;

	if (dt <= 0)
		return;
	for (unsigned int j = 0; j < njobs; j++) {
		for (unsigned int d = 0; d < DIR_N; d++) {
			ios[d] += atomic_load_explicit(&jobs[j].live_ios[d], memory_order_relaxed);
			bytes[d] +=
				atomic_load_explicit(&jobs[j].live_bytes[d], memory_order_relaxed);
		}
	}
	fprintf(stderr, "[%6.1fs] read: %8.1fk IOPS %9.1f MiB/s | write: %8.1fk IOPS %9.1f MiB/s\n",
		(double)elapsed_ns / 1e9, (double)(ios[DIR_READ] - last_ios[DIR_READ]) / dt / 1000,
		(double)(bytes[DIR_READ] - last_bytes[DIR_READ]) / dt / 1048576,
		(double)(ios[DIR_WRITE] - last_ios[DIR_WRITE]) / dt / 1000,
		(double)(bytes[DIR_WRITE] - last_bytes[DIR_WRITE]) / dt / 1048576);
	memcpy(last_ios, ios, sizeof(ios));
	memcpy(last_bytes, bytes, sizeof(bytes));
	last_ns = elapsed_ns;
}

void perf_timed_phase_end(const struct perf_job *job)
{
	struct svio_domain *dom = svio_domain_default();

	atomic_fetch_add_explicit(&timed_arrived, 1, memory_order_acq_rel);
	if (job->id != 0) {
		while (!atomic_load_explicit(&timed_released, memory_order_acquire))
			rte_pause();
		return;
	}
	/* Job 0 runs on the main lcore, which set njobs before starting it. */
	while (atomic_load_explicit(&timed_arrived, memory_order_acquire) < njobs)
		rte_pause();
	/* Flushes still queued (lazy policy) belong to the timed phase's unmaps. */
	svio_iommu_sync(dom);
	phases.timed_ok = svio_iommu_stats_get(dom, &phases.timed) == 0;
	atomic_store_explicit(&timed_released, true, memory_order_release);
}

/*
 * The read-back's own counters: the run's end minus the timed phase. Every
 * field is a uint64_t counter; the high-water mark is not reset by anything
 * and stays the run's.
 */
static void iommu_stats_sub(struct svio_iommu_stats *d, const struct svio_iommu_stats *end,
			    const struct svio_iommu_stats *start)
{
	uint64_t a[sizeof(*d) / sizeof(uint64_t)], b[sizeof(*d) / sizeof(uint64_t)];

	_Static_assert(sizeof(*d) % sizeof(uint64_t) == 0, "svio_iommu_stats: u64 fields only");
	memcpy(a, end, sizeof(a));
	memcpy(b, start, sizeof(b));
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		a[i] = a[i] >= b[i] ? a[i] - b[i] : 0;
	memcpy(d, a, sizeof(a));
	d->iova_high_water = end->iova_high_water;
}

/* Nonzero, and different in every run: urandom, else the TSC and the pid. */
static uint64_t draw_nonce(void)
{
	uint64_t n = 0;

	if (getrandom(&n, sizeof(n), GRND_NONBLOCK) != (ssize_t)sizeof(n))
		n = rte_rdtsc() ^ ((uint64_t)getpid() << 40) ^ (uint64_t)time(NULL) << 20;
	return n != 0 ? n : 1;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&perf_stop, true);
}

static int job_main(void *arg)
{
	struct perf_job *job = arg;
	int rc = perf_job_run(job);

	atomic_store_explicit(&job->finished, true, memory_order_release);
	return rc;
}

static const char *kib(uint64_t bytes, char *buf, size_t len)
{
	if (bytes % 1024 == 0)
		snprintf(buf, len, "%" PRIu64 "k", bytes / 1024);
	else
		snprintf(buf, len, "%" PRIu64, bytes);
	return buf;
}

/* One namespace as a target: its geometry against --bs, --size and the transfer limit. */
static int add_target(const struct perf_opts *o, struct svio_nvme_ctrlr *c,
		      const struct svio_nvme_ns_info *ns)
{
	struct perf_target *t = &perf_targets[perf_ntargets];
	const char *name = svio_nvme_ctrlr_device(c)->name;
	struct svio_nvme_ctrlr_info ci;
	char a[32], b[32], m[32];
	uint64_t bytes;

	if (perf_ntargets == PERF_MAX_TARGETS) {
		fprintf(stderr, "svio-perf: more than %d namespaces to drive\n", PERF_MAX_TARGETS);
		return -E2BIG;
	}
	if (o->bs % ns->lba_size != 0) {
		fprintf(stderr,
			"svio-perf: --bs=%u is not a multiple of %s namespace %u's %u-byte "
			"blocks\n",
			o->bs, name, ns->nsid, ns->lba_size);
		return -EINVAL;
	}
	t->nlb = o->bs / ns->lba_size;
	t->xfer = t->nlb * ns->block_size;
	svio_nvme_ctrlr_info_get(c, &ci);
	if (t->nlb > ns->max_nlb) {
		fprintf(stderr,
			"svio-perf: --bs=%s is larger than %s's maximum transfer size of %s per "
			"command (MDTS; namespace %u: %u blocks of %u bytes%s): use --bs=%s or "
			"less\n",
			kib(o->bs, a, sizeof(a)), name, kib(ci.max_xfer, b, sizeof(b)), ns->nsid,
			ns->max_nlb, ns->block_size, ns->md_extended ? " with their metadata" : "",
			kib((uint64_t)ns->max_nlb * ns->lba_size, m, sizeof(m)));
		return -EINVAL;
	}
	bytes = ns->nblocks * ns->lba_size;
	if (o->size != 0 && o->size < bytes)
		bytes = o->size;
	t->ctrlr = c;
	t->nsid = ns->nsid;
	t->lba_size = ns->lba_size;
	t->blocks = bytes / o->bs;
	if (t->blocks < o->numjobs) {
		fprintf(stderr,
			"svio-perf: %s namespace %u: %llu bytes hold fewer --bs blocks than jobs\n",
			name, ns->nsid, (unsigned long long)bytes);
		return -EINVAL;
	}
	if (o->verify && t->blocks / o->numjobs > (64u << 20)) {
		fprintf(stderr, "svio-perf: --verify keeps 4 bytes a block: limit %s with --size\n",
			name);
		return -EINVAL;
	}
	perf_ntargets++;
	return 0;
}

/* Every controller's namespaces: those --ns names, or every one the driver drives. */
static int setup_targets(const struct perf_opts *o)
{
	struct svio_nvme_ctrlr *c;
	int rc;

	for (c = svio_nvme_ctrlr_next(NULL); c != NULL; c = svio_nvme_ctrlr_next(c)) {
		const char *name = svio_nvme_ctrlr_device(c)->name;
		struct svio_nvme_ns_info ns;
		unsigned int before = perf_ntargets;

		for (unsigned int k = 0; k < o->n_ns; k++) {
			rc = svio_nvme_ns_info_get(c, o->ns[k], &ns);
			if (rc == -ENOTSUP) {
				fprintf(stderr,
					"svio-perf: --ns=%u: %s namespace %u has a format the "
					"driver "
					"cannot drive (%u-byte blocks, %u bytes of %s metadata%s; "
					"see "
					"the driver's message)\n",
					o->ns[k], name, o->ns[k], ns.lba_size, ns.md_size,
					ns.md_extended ? "extended" : "separate",
					ns.pi_type ? ", protection information" : "");
				return rc;
			}
			if (rc < 0) {
				fprintf(stderr,
					"svio-perf: --ns=%u: %s offers no namespace %u "
					"(active and not hidden by a ns= devarg:",
					o->ns[k], name, o->ns[k]);
				for (uint32_t id = svio_nvme_ns_next(c, 0); id != 0;
				     id = svio_nvme_ns_next(c, id))
					fprintf(stderr, " %u", id);
				fprintf(stderr, "%s)\n", svio_nvme_ns_next(c, 0) ? "" : " none");
				return -ENXIO;
			}
			rc = add_target(o, c, &ns);
			if (rc < 0)
				return rc;
		}
		for (uint32_t id = o->n_ns == 0 ? svio_nvme_ns_next(c, 0) : 0; id != 0;
		     id = svio_nvme_ns_next(c, id)) {
			if (svio_nvme_ns_info_get(c, id, &ns) < 0)
				continue;
			rc = add_target(o, c, &ns);
			if (rc < 0)
				return rc;
		}
		if (perf_ntargets == before) {
			fprintf(stderr,
				"svio-perf: %s has no namespace the driver can drive (see its "
				"messages)\n",
				name);
			return -ENXIO;
		}
	}
	if (perf_ntargets == 0) {
		fprintf(stderr, "svio-perf: no NVMe controller: add --vdev sim_nvme0[,size=...]\n");
		return -ENODEV;
	}
	return 0;
}

/*
 * Say on stderr why the run fails, or that the read-back was cut short.
 * @return true when the read-back was cut short.
 */
static bool verdict(const struct perf_job *jobs, unsigned int n)
{
	uint64_t verr = 0, ioerr = 0;
	bool cut = false;

	for (unsigned int j = 0; j < n; j++) {
		verr += jobs[j].verify_errors;
		ioerr += jobs[j].io_errors;
		cut |= jobs[j].verify_interrupted;
	}
	if (verr > 0)
		fprintf(stderr, "svio-perf: FAILED: %" PRIu64 " block(s) did not verify\n", verr);
	if (ioerr > 0)
		fprintf(stderr, "svio-perf: FAILED: %" PRIu64 " I/O error(s)\n", ioerr);
	if (cut)
		fprintf(stderr, "svio-perf: interrupted: not every written block was read back "
				"(exit status 2 unless something failed)\n");
	return cut;
}

static int check_dma(struct perf_opts *o)
{
	bool sva = svio_domain_sva(svio_domain_default());

	if (sva || o->dma == DMA_MAP_PER_IO)
		return 0;
	if (!o->dma_given) {
		o->dma = DMA_MAP_PER_IO;
		return 0;
	}
	fprintf(stderr, "svio-perf: --dma=sva needs --sva=on (the domain has SVA off)\n");
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct perf_opts o;
	unsigned int lcore, j;
	struct svio_iommu_stats st;
	bool unverified = false;
	uint64_t errors = 0;
	int ret, rc;

	ret = svio_eal_init(argc, argv);
	if (ret < 0)
		return 1;
	argc -= ret;
	argv += ret;
	rc = perf_parse(argc, argv, &o);
	if (rc == PERF_HELP) {
		rc = 0;
		goto out_cleanup;
	}
	if (rc == 0)
		rc = check_dma(&o);
	if (rc == 0)
		rc = setup_targets(&o);
	if (rc == 0 && o.dma == DMA_MAP_PER_IO && o.bs % 4096 != 0) {
		fprintf(stderr, "svio-perf: --dma=map-per-io maps whole pages: --bs must be a "
				"multiple of 4k\n");
		rc = -EINVAL;
	}
	if (rc == 0 && o.numjobs > rte_lcore_count()) {
		fprintf(stderr,
			"svio-perf: --numjobs=%u needs as many lcores, EAL gave %u (use -l or "
			"--lcores)\n",
			o.numjobs, rte_lcore_count());
		rc = -EINVAL;
	}
	if (rc < 0)
		goto out_cleanup;
	if (o.verify && (o.rw == RW_READ || o.rw == RW_RANDREAD))
		fprintf(stderr,
			"svio-perf: note: --verify checks blocks this run writes; --rw=%s "
			"writes none, so nothing will be checked\n",
			perf_rw_name(o.rw));
	jobs = calloc(o.numjobs, sizeof(*jobs));
	if (jobs == NULL) {
		rc = -ENOMEM;
		goto out_cleanup;
	}
	if (o.verify)
		o.verify_nonce = draw_nonce();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!o.json)
		fprintf(stdout,
			"svio-perf: rw=%s bs=%u iodepth=%u numjobs=%u runtime=%gs on %u "
			"namespace(s)%s, dma=%s\n",
			perf_rw_name(o.rw), o.bs, o.iodepth, o.numjobs, o.runtime, perf_ntargets,
			o.verify ? ", verify=crc32c" : "", o.dma == DMA_SVA ? "sva" : "map-per-io");
	if (!o.json && o.verify)
		fprintf(stdout, "svio-perf: verify nonce 0x%016" PRIx64 " (this run's data)\n",
			o.verify_nonce);
	svio_iommu_stats_reset(svio_domain_default());
	jobs[0] = (struct perf_job){ .id = 0, .lcore = rte_lcore_id(), .o = &o };
	j = 1;
	RTE_LCORE_FOREACH_WORKER (lcore) {
		if (j == o.numjobs)
			break;
		jobs[j] = (struct perf_job){ .id = j, .lcore = lcore, .o = &o };
		rc = rte_eal_remote_launch(job_main, &jobs[j], lcore);
		if (rc < 0) {
			fprintf(stderr, "svio-perf: cannot start job %u on lcore %u: %s\n", j,
				lcore, strerror(-rc));
			break;
		}
		j++;
	}
	/* The timed-phase barrier counts the jobs that run. */
	njobs = j;
	perf_job_run(&jobs[0]);
	rte_eal_mp_wait_lcore();
	/*
	 * The lcore join is DPDK's business; this acquire is what orders the
	 * jobs' results (and their frees) before the report and the cleanup.
	 */
	for (j = 1; j < njobs; j++)
		while (!atomic_load_explicit(&jobs[j].finished, memory_order_acquire))
			;
	svio_iommu_sync(svio_domain_default());
	if (svio_iommu_stats_get(svio_domain_default(), &st) < 0) {
		memset(&st, 0, sizeof(st));
	} else if (o.verify && phases.timed_ok) {
		iommu_stats_sub(&phases.verify, &st, &phases.timed);
		phases.verify_ok = true;
	}

	if (o.json)
		perf_report_json(stdout, jobs, njobs, &phases);
	else
		perf_report_normal(stdout, jobs, njobs, &phases);
	for (j = 0; j < njobs; j++) {
		errors += jobs[j].verify_errors + jobs[j].io_errors;
		if (jobs[j].rc < 0)
			rc = jobs[j].rc;
	}
	unverified = verdict(jobs, njobs) && o.verify;
	/* A stale use is a device reaching memory after its unmap: never a pass. */
	if (st.stale_uses > 0) {
		fprintf(stderr,
			"svio-perf: FAILED: the IOMMU counted %" PRIu64 " stale use(s): a device "
			"used a translation after it was unmapped (an invalidation missing or "
			"late)\n",
			st.stale_uses);
		errors++;
	}
	free(jobs);
out_cleanup:
	svio_eal_cleanup();
	if (rc < 0 || errors > 0)
		return EXIT_FAILED;
	return unverified ? EXIT_UNVERIFIED : 0;
}
