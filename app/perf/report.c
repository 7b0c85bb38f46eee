/* SPDX-License-Identifier: BSD-3-Clause */
/* svio-perf: the final report, fio's normal text or fio's JSON layout. */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "svio_eal.h"
#include "svio_iommu.h"
#include "perf.h"

static const double pcts[] = { 1, 5, 10, 50, 90, 95, 99, 99.5, 99.9, 99.99 };

static double iops(const struct perf_dir_stats *s, uint64_t ns)
{
	return ns ? (double)s->ios * 1e9 / (double)ns : 0;
}

static double bw_bytes(const struct perf_dir_stats *s, uint64_t ns)
{
	return ns ? (double)s->bytes * 1e9 / (double)ns : 0;
}

static void dir_normal(FILE *f, const char *name, const struct perf_dir_stats *s, uint64_t ns)
{
	if (s->ios == 0)
		return;
	fprintf(f, "  %s: IOPS=%.1fk, BW=%.1fMiB/s (%.1fMB/s)(%.1fMiB/%" PRIu64 "msec)\n", name,
		iops(s, ns) / 1000, bw_bytes(s, ns) / 1048576, bw_bytes(s, ns) / 1e6,
		(double)s->bytes / 1048576, ns / 1000000);
	fprintf(f, "    lat (nsec): min=%" PRIu64 ", max=%" PRIu64 ", avg=%.1f\n", s->lat_min,
		s->lat_max, (double)s->lat_sum / (double)s->ios);
	fprintf(f,
		"    lat percentiles (nsec): 50th=[%" PRIu64 "], 90th=[%" PRIu64 "], 99th=[%" PRIu64
		"], 99.9th=[%" PRIu64 "], 99.99th=[%" PRIu64 "]\n",
		stats_percentile(s, 50), stats_percentile(s, 90), stats_percentile(s, 99),
		stats_percentile(s, 99.9), stats_percentile(s, 99.99));
}

struct run_totals {
	uint64_t ns;	    /* longest timed phase */
	uint64_t verify_ns; /* longest read-back phase */
	uint64_t verify_errors, verify_checked, verify_reads, io_errors;
	bool verify_interrupted;
};

static void totals(struct perf_job *jobs, unsigned int n, struct perf_dir_stats t[DIR_N],
		   struct run_totals *r)
{
	memset(t, 0, sizeof(struct perf_dir_stats) * DIR_N);
	memset(r, 0, sizeof(*r));
	for (unsigned int j = 0; j < n; j++) {
		for (unsigned int d = 0; d < DIR_N; d++)
			stats_merge(&t[d], &jobs[j].st[d]);
		if (jobs[j].runtime_ns > r->ns)
			r->ns = jobs[j].runtime_ns;
		if (jobs[j].verify_runtime_ns > r->verify_ns)
			r->verify_ns = jobs[j].verify_runtime_ns;
		r->verify_errors += jobs[j].verify_errors;
		r->verify_checked += jobs[j].verify_checked;
		r->verify_reads += jobs[j].verify_reads;
		r->io_errors += jobs[j].io_errors;
		r->verify_interrupted |= jobs[j].verify_interrupted;
	}
}

static void iommu_normal(FILE *f, const char *phase, const struct svio_iommu_stats *st)
{
	fprintf(f,
		"IOMMU, %s (%s, %s): maps=%" PRIu64 " unmaps=%" PRIu64 " iotlb inv=%" PRIu64
		" devtlb inv=%" PRIu64 " waits=%" PRIu64 " batches=%" PRIu64
		" page requests=%" PRIu64 " stale uses=%" PRIu64 "\n",
		phase, svio_domain_sva(svio_domain_default()) ? "sva" : "no sva",
		svio_flush_policy_name(svio_domain_policy(svio_domain_default())), st->maps,
		st->unmaps, st->desc_iotlb, st->desc_devtlb, st->desc_wait, st->batches,
		st->page_requests, st->stale_uses);
}

void perf_report_normal(FILE *f, struct perf_job *jobs, unsigned int n,
			const struct perf_iommu_phases *ph)
{
	const struct perf_opts *o = jobs[0].o;
	struct perf_dir_stats t[DIR_N];
	struct run_totals r;

	for (unsigned int j = 0; j < n; j++) {
		fprintf(f, "job%u (lcore %u): err=%" PRIu64 ", verify errors=%" PRIu64 "\n",
			jobs[j].id, jobs[j].lcore, jobs[j].io_errors, jobs[j].verify_errors);
		dir_normal(f, "read", &jobs[j].st[DIR_READ], jobs[j].runtime_ns);
		dir_normal(f, "write", &jobs[j].st[DIR_WRITE], jobs[j].runtime_ns);
		if (o->verify)
			fprintf(f,
				"  verify: %" PRIu64 " reads checked, %" PRIu64
				" of them in the read-back (%" PRIu64 " msec)%s\n",
				jobs[j].verify_checked, jobs[j].verify_reads,
				jobs[j].verify_runtime_ns / 1000000,
				jobs[j].verify_interrupted ? ", interrupted" : "");
	}
	totals(jobs, n, t, &r);
	fprintf(f, "\nRun status (all jobs):\n");
	dir_normal(f, "read", &t[DIR_READ], r.ns);
	dir_normal(f, "write", &t[DIR_WRITE], r.ns);
	if (o->verify)
		fprintf(f,
			"  verify: %" PRIu64 " blocks read back after the run (%" PRIu64
			" msec, not in the figures above), %" PRIu64 " reads checked in all\n",
			r.verify_reads, r.verify_ns / 1000000, r.verify_checked);
	if (o->verify)
		fprintf(f, "  verify nonce: 0x%016" PRIx64 "%s\n", o->verify_nonce,
			r.verify_interrupted ? " (read-back interrupted)" : "");
	fprintf(f, "  errors: io=%" PRIu64 ", verify=%" PRIu64 "\n", r.io_errors, r.verify_errors);
	if (ph->timed_ok)
		iommu_normal(f, "timed phase", &ph->timed);
	if (ph->verify_ok)
		iommu_normal(f, "verify read-back", &ph->verify);
}

static void dir_json(FILE *f, const struct perf_dir_stats *s, uint64_t ns)
{
	double mean = s->ios ? (double)s->lat_sum / (double)s->ios : 0;
	double var = s->ios ? s->lat_sq_sum / (double)s->ios - mean * mean : 0;

	fprintf(f,
		"{\"io_bytes\": %" PRIu64 ", \"io_kbytes\": %" PRIu64 ", \"bw_bytes\": %.0f, "
		"\"bw\": %.0f, \"iops\": %.3f, \"runtime\": %" PRIu64 ", \"total_ios\": %" PRIu64
		", \"lat_ns\": {\"min\": %" PRIu64 ", \"max\": %" PRIu64
		", \"mean\": %.3f, \"stddev\": %.3f, \"N\": %" PRIu64 ", \"percentile\": {",
		s->bytes, s->bytes / 1024, bw_bytes(s, ns), bw_bytes(s, ns) / 1024, iops(s, ns),
		ns / 1000000, s->ios, s->lat_min, s->lat_max, mean, var > 0 ? sqrt(var) : 0,
		s->ios);
	for (unsigned int i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		fprintf(f, "%s\"%f\": %" PRIu64, i ? ", " : "", pcts[i],
			stats_percentile(s, pcts[i]));
	fprintf(f, "}}}");
}

static void iommu_json(FILE *f, bool ok, const struct svio_iommu_stats *st)
{
	if (!ok || svio_iommu_stats_json(st, f) < 0)
		fprintf(f, "null");
}

void perf_report_json(FILE *f, struct perf_job *jobs, unsigned int n,
		      const struct perf_iommu_phases *ph)
{
	const struct perf_opts *o = jobs[0].o;
	struct perf_dir_stats t[DIR_N];
	struct run_totals r;
	char nonce[24] = "null";

	totals(jobs, n, t, &r);
	fprintf(f, "{\n  \"svio-perf version\": \"0.1.0\",\n  \"timestamp\": %lld,\n",
		(long long)time(NULL));
	fprintf(f,
		"  \"global options\": {\"rw\": \"%s\", \"rwmixread\": \"%u\", \"bs\": \"%u\", "
		"\"iodepth\": \"%u\", \"numjobs\": \"%u\", \"runtime\": \"%g\", \"size\": "
		"\"%" PRIu64 "\", \"verify\": \"%s\", \"dma\": \"%s\"},\n",
		perf_rw_name(o->rw), o->rwmixread, o->bs, o->iodepth, o->numjobs, o->runtime,
		o->size, o->verify ? "crc32c" : "none", o->dma == DMA_SVA ? "sva" : "map-per-io");
	fprintf(f, "  \"jobs\": [\n");
	for (unsigned int j = 0; j < n; j++) {
		fprintf(f,
			"    {\"jobname\": \"job%u\", \"groupid\": 0, \"lcore\": %u, \"error\": "
			"%d, "
			"\"job_runtime\": %" PRIu64 ", \"io_errors\": %" PRIu64
			", \"verify_errors\": %" PRIu64 ", \"verify_checked\": %" PRIu64
			", \"verify_reads\": %" PRIu64 ", \"verify_runtime\": %" PRIu64
			", \"verify_interrupted\": %s,\n     \"read\": ",
			jobs[j].id, jobs[j].lcore, jobs[j].rc, jobs[j].runtime_ns / 1000000,
			jobs[j].io_errors, jobs[j].verify_errors, jobs[j].verify_checked,
			jobs[j].verify_reads, jobs[j].verify_runtime_ns / 1000000,
			jobs[j].verify_interrupted ? "true" : "false");
		dir_json(f, &jobs[j].st[DIR_READ], jobs[j].runtime_ns);
		fprintf(f, ",\n     \"write\": ");
		dir_json(f, &jobs[j].st[DIR_WRITE], jobs[j].runtime_ns);
		fprintf(f, "}%s\n", j + 1 < n ? "," : "");
	}
	fprintf(f, "  ],\n  \"svio\": {\"devices\": [");
	for (unsigned int i = 0; i < perf_ntargets; i++)
		if (i == 0 || perf_targets[i].ctrlr != perf_targets[i - 1].ctrlr)
			fprintf(f, "%s\"%s\"", i ? ", " : "",
				svio_nvme_ctrlr_device(perf_targets[i].ctrlr)->name);
	fprintf(f, "], \"namespaces\": [");
	for (unsigned int i = 0; i < perf_ntargets; i++) {
		const struct perf_target *pt = &perf_targets[i];
		uint64_t ios = 0;

		for (unsigned int j = 0; j < n; j++)
			ios += jobs[j].target_ios[i];
		fprintf(f,
			"%s{\"device\": \"%s\", \"nsid\": %u, \"lba_size\": %u, "
			"\"xfer_bytes\": %u, \"total_ios\": %" PRIu64 "}",
			i ? ", " : "", svio_nvme_ctrlr_device(pt->ctrlr)->name, pt->nsid,
			pt->lba_size, pt->xfer, ios);
	}
	/* A string: 64-bit integers lose bits in many JSON readers. */
	if (o->verify)
		snprintf(nonce, sizeof(nonce), "\"0x%016" PRIx64 "\"", o->verify_nonce);
	fprintf(f,
		"], \"sva\": %s, \"flush\": \"%s\", \"verify_nonce\": %s, \"verify_errors\": "
		"%" PRIu64 ", \"verify_checked\": %" PRIu64 ", \"verify_reads\": %" PRIu64
		", \"verify_runtime\": %" PRIu64
		", \"verify_interrupted\": %s, \"io_errors\": %" PRIu64 ",\n    \"read\": ",
		svio_domain_sva(svio_domain_default()) ? "true" : "false",
		svio_flush_policy_name(svio_domain_policy(svio_domain_default())), nonce,
		r.verify_errors, r.verify_checked, r.verify_reads, r.verify_ns / 1000000,
		r.verify_interrupted ? "true" : "false", r.io_errors);
	dir_json(f, &t[DIR_READ], r.ns);
	fprintf(f, ",\n    \"write\": ");
	dir_json(f, &t[DIR_WRITE], r.ns);
	fprintf(f, ",\n    \"iommu\": ");
	iommu_json(f, ph->timed_ok, &ph->timed);
	fprintf(f, ",\n    \"verify_iommu\": ");
	iommu_json(f, ph->verify_ok, &ph->verify);
	fprintf(f, "}\n}\n");
}
