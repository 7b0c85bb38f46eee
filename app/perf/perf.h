/* SPDX-License-Identifier: BSD-3-Clause */
/* svio-perf: a fio-like load generator for svio NVMe controllers. */
#ifndef SVIO_PERF_H
#define SVIO_PERF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "svio_dev.h"
#include "svio_iommu.h"
#include "svio_nvme.h"

#define PERF_MAX_TARGETS 16 /* namespaces driven, over every controller */
#define PERF_MAX_JOBS	 128

enum perf_rw { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE, RW_RANDRW };
enum perf_dma { DMA_SVA, DMA_MAP_PER_IO };
enum perf_dir { DIR_READ, DIR_WRITE, DIR_N };

struct perf_opts {
	enum perf_rw rw;
	unsigned int rwmixread; /* percent */
	uint32_t bs;
	uint32_t iodepth;
	unsigned int numjobs;
	double runtime;		       /* seconds */
	uint64_t size;		       /* bytes of each namespace used; 0 = all */
	uint32_t ns[PERF_MAX_TARGETS]; /* --ns: namespace ids to drive; n_ns 0: all */
	unsigned int n_ns;
	bool verify;
	enum perf_dma dma;
	bool dma_given;
	bool json;
	double status_interval; /* seconds between progress lines; 0 = none */
	/*
	 * Verify: drawn at start, in every header and mixed into every payload,
	 * so data a previous run left on persistent media never passes for
	 * this run's (a write lost now would otherwise verify against it).
	 */
	uint64_t verify_nonce;
};

#define PERF_HELP 1 /* perf_parse(): --help was given and answered */

/**
 * Parse svio-perf's own options (what follows "--").
 * @return 0, PERF_HELP (usage printed on stdout), or -EINVAL (message printed).
 */
int perf_parse(int argc, char **argv, struct perf_opts *o);
void perf_usage(FILE *f);
const char *perf_rw_name(enum perf_rw rw);

/* Latency histogram: exact below 64 ns, then 32 buckets per power of two. */
#define HIST_SUB     32
#define HIST_BUCKETS (64 + 40 * HIST_SUB)

struct perf_dir_stats {
	uint64_t ios;
	uint64_t bytes;
	uint64_t lat_min, lat_max, lat_sum; /* ns */
	double lat_sq_sum;		    /* for the standard deviation */
	uint64_t hist[HIST_BUCKETS];
};

void stats_add(struct perf_dir_stats *s, uint64_t lat_ns, uint32_t bytes);
void stats_merge(struct perf_dir_stats *dst, const struct perf_dir_stats *src);
/** Latency at percentile @p p (0..100), from the histogram. */
uint64_t stats_percentile(const struct perf_dir_stats *s, double p);

struct perf_job {
	unsigned int id;
	unsigned int lcore;
	const struct perf_opts *o;
	struct perf_dir_stats st[DIR_N];
	uint64_t verify_errors;
	uint64_t verify_checked;    /* reads checked, in the timed phase and in the read-back */
	uint64_t verify_reads;	    /* reads of the read-back phase (not in st[]) */
	uint64_t verify_runtime_ns; /* length of the read-back phase */
	bool verify_interrupted;    /* a signal cut the read-back short */
	uint64_t io_errors;
	uint64_t target_ios[PERF_MAX_TARGETS]; /* timed-phase completions per namespace */
	uint64_t runtime_ns;
	int rc;
	/* Progress, read by the main lcore while the job runs. */
	_Atomic uint64_t live_ios[DIR_N];
	_Atomic uint64_t live_bytes[DIR_N];
	/* Set (release) when the job is done with everything it touched. */
	_Atomic bool finished;
};

/** Run one job on the calling lcore until the runtime ends, then drain. */
int perf_job_run(struct perf_job *job);

/** Shared by all jobs (set up before they start, read-only while they run). */
struct perf_target {
	struct svio_nvme_ctrlr *ctrlr;
	uint32_t nsid;
	uint32_t lba_size; /* data bytes per block */
	uint32_t nlb;	   /* blocks per I/O: bs / lba_size */
	uint32_t xfer;	   /* buffer bytes per I/O: nlb * block_size (extended metadata) */
	uint64_t blocks;   /* bs-sized blocks in the region */
};

extern struct perf_target perf_targets[PERF_MAX_TARGETS];
extern unsigned int perf_ntargets;
extern _Atomic bool perf_stop;
/** Called by job 0 (the main lcore) from its loop: progress lines. */
void perf_progress(uint64_t elapsed_ns);
/**
 * Called by every job once its timed phase has drained; returns when all
 * jobs have, after job 0 took the IOMMU counters of the timed phase. Keeps
 * one job's read-back (or teardown) out of the others' timed phase.
 */
void perf_timed_phase_end(const struct perf_job *job);

/* IOMMU counters: of the timed phase (taken at the barrier), of the read-back. */
struct perf_iommu_phases {
	bool timed_ok, verify_ok;
	struct svio_iommu_stats timed, verify;
};

void perf_report_normal(FILE *f, struct perf_job *jobs, unsigned int n,
			const struct perf_iommu_phases *ph);
void perf_report_json(FILE *f, struct perf_job *jobs, unsigned int n,
		      const struct perf_iommu_phases *ph);

/* CRC-32C (Castagnoli) as stored in verify headers. */
uint32_t perf_crc32c(const void *buf, size_t len);

#endif /* SVIO_PERF_H */
