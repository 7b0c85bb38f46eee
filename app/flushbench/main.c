/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio-flushbench: drives the IOMMU core's unmap and flush paths on the
 * built-in IOMMU, with no I/O device in the way.
 *
 * N scratch devices (the first M with ATS) sit behind K IOMMU instances and
 * share one domain. T threads each map a chunk of SIZE bytes, let a device DMA
 * into it now and then (so the IOTLB and device-TLBs hold its translation),
 * and unmap it; U unmaps in all, chunks picked at random or in sequence. A
 * live region stays mapped for the whole run and is DMAed to as well: every
 * DMA must succeed and every unmapped translation must be gone (stale uses).
 *
 *   svio-flushbench [EAL/svio options] -- --devices N --ats M --iommus K
 *       --unmaps U --size BYTES --pattern random|sequential --threads T
 *       [--policy strict|lazy|naive | --compare] [--dma-every D] [--json]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_spinlock.h>

#include <svio_dev.h>
#include <svio_eal.h>
#include <svio_iommu.h>
#include <scratch_drv.h>

#define PAGE           4096u
#define MAX_DEVICES    64
#define MAX_THREADS    16
#define CHUNKS_PER_THR 256 /* distinct chunks each thread cycles through */
#define LIVE_PAGES     64

struct bench_opts {
	unsigned int devices, ats, iommus, threads, dma_every;
	uint64_t unmaps, size;
	bool random, json, compare;
	enum svio_flush_policy policy;
};

struct bench_dev {
	struct svio_device *dev;
	rte_spinlock_t lock; /* the scratch DMA engine is one register set */
};

struct bench_result {
	enum svio_flush_policy policy;
	struct svio_iommu_stats st;
	uint64_t wall_ns;
	uint64_t dma_errors;
	uint64_t op_errors;
};

struct bench_thread {
	pthread_t tid;
	unsigned int id;
	struct svio_domain *dom;
	uint8_t *region;   /* CHUNKS_PER_THR chunks of opts.size */
	uint64_t unmaps;
	uint64_t dma_errors;
	uint64_t op_errors;
	uint64_t rng;
};

static struct bench_opts opts = {
	.devices = 4,
	.ats = 4,
	.iommus = 1,
	.threads = 1,
	.dma_every = 16,
	.unmaps = 100000,
	.size = PAGE,
	.random = true,
	.policy = SVIO_FLUSH_STRICT,
};
static struct bench_dev devs[MAX_DEVICES];
static unsigned int n_devs;
static uint8_t *live;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int dev_dma(unsigned int d, uint64_t iova, size_t len, bool to_mem, uint8_t pattern)
{
	static bool reported;
	int rc;

	rte_spinlock_lock(&devs[d].lock);
	rc = scratch_dma(devs[d].dev, iova, len, to_mem, pattern, NULL);
	rte_spinlock_unlock(&devs[d].lock);
	if (rc < 0 && !__atomic_exchange_n(&reported, true, __ATOMIC_RELAXED))
		fprintf(stderr, "flushbench: %s: DMA to %#" PRIx64 " failed: %s\n",
			devs[d].dev->name, iova, strerror(-rc));
	return rc;
}

static void *bench_thread_main(void *arg)
{
	struct bench_thread *t = arg;
	uint64_t i, chunk = 0;

	for (i = 0; i < t->unmaps; i++) {
		uint8_t *va;
		uint64_t iova;

		chunk = opts.random ? xorshift(&t->rng) % CHUNKS_PER_THR
				    : (chunk + 1) % CHUNKS_PER_THR;
		va = t->region + chunk * opts.size;
		if (svio_dma_map(t->dom, va, opts.size, SVIO_DMA_RW, &iova) < 0) {
			t->op_errors++;
			continue;
		}
		if (opts.dma_every != 0 && i % opts.dma_every == 0) {
			unsigned int d = (unsigned int)(xorshift(&t->rng) % n_devs);
			uint64_t live_off = (xorshift(&t->rng) % LIVE_PAGES) * PAGE;

			/* Warm the caches with the chunk about to go, and touch live memory. */
			if (dev_dma(d, iova, PAGE, true, (uint8_t)i) < 0)
				t->dma_errors++;
			if (dev_dma(d, (uintptr_t)live + live_off, PAGE, true, 0xa5) < 0)
				t->dma_errors++;
		}
		if (svio_dma_unmap(t->dom, iova, opts.size) < 0)
			t->op_errors++;
	}
	return NULL;
}

static int switch_domain(struct svio_domain *from, struct svio_domain *to)
{
	unsigned int i;
	int rc;

	for (i = 0; i < n_devs; i++) {
		rc = svio_domain_detach(from, devs[i].dev);
		if (rc == 0)
			rc = svio_domain_attach(to, devs[i].dev);
		if (rc < 0) {
			fprintf(stderr, "flushbench: moving %s between domains: %s\n",
				devs[i].dev->name, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int run_policy(enum svio_flush_policy policy, struct bench_result *res)
{
	struct bench_thread thr[MAX_THREADS];
	struct svio_domain *base = svio_domain_default(), *dom;
	struct svio_iommu_config cfg;
	uint64_t live_iova, t0;
	unsigned int i;
	int rc;

	memset(res, 0, sizeof(*res));
	res->policy = policy;
	cfg = svio_eal_config()->domain;
	cfg.policy = policy;
	cfg.sva = true;
	rc = svio_domain_create(&cfg, &dom);
	if (rc < 0)
		return rc;
	rc = switch_domain(base, dom);
	if (rc < 0)
		goto out_destroy;
	rc = svio_dma_map(dom, live, LIVE_PAGES * PAGE, SVIO_DMA_RW, &live_iova);
	if (rc < 0)
		goto out_switch_back;
	svio_iommu_stats_reset(dom);

	memset(thr, 0, sizeof(thr));
	t0 = now_ns();
	for (i = 0; i < opts.threads; i++) {
		thr[i].id = i;
		thr[i].dom = dom;
		thr[i].region = aligned_alloc(PAGE, CHUNKS_PER_THR * opts.size);
		thr[i].unmaps = opts.unmaps / opts.threads + (i < opts.unmaps % opts.threads);
		thr[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		if (thr[i].region == NULL ||
		    pthread_create(&thr[i].tid, NULL, bench_thread_main, &thr[i]) != 0) {
			fprintf(stderr, "flushbench: cannot start thread %u\n", i);
			free(thr[i].region);
			thr[i].region = NULL;
			opts.threads = i; /* join what started */
			rc = -ENOMEM;
			break;
		}
	}
	for (i = 0; i < opts.threads; i++)
		pthread_join(thr[i].tid, NULL);
	if (svio_iommu_sync(dom) < 0)
		res->op_errors++;
	res->wall_ns = now_ns() - t0;
	for (i = 0; i < opts.threads; i++) {
		res->dma_errors += thr[i].dma_errors;
		res->op_errors += thr[i].op_errors;
		free(thr[i].region);
	}
	svio_iommu_stats_get(dom, &res->st);
	svio_dma_unmap(dom, live_iova, LIVE_PAGES * PAGE);
out_switch_back:
	if (switch_domain(dom, base) < 0 && rc == 0)
		rc = -EIO;
out_destroy:
	svio_domain_destroy(dom);
	return rc;
}

static double per(uint64_t n, uint64_t d)
{
	return d ? (double)n / (double)d : 0.0;
}

static void print_json(const struct bench_result *r, bool last)
{
	const struct svio_iommu_stats *s = &r->st;
	uint64_t u = s->unmaps;

	printf("  {\"policy\": \"%s\", \"devices\": %u, \"ats_devices\": %u, \"iommus\": %u, "
	       "\"threads\": %u, \"size\": %" PRIu64 ", \"pattern\": \"%s\", "
	       "\"unmaps\": %" PRIu64 ", ",
	       svio_flush_policy_name(r->policy), opts.devices, opts.ats, opts.iommus,
	       opts.threads, opts.size, opts.random ? "random" : "sequential", u);
	printf("\"descriptors\": {\"iotlb\": %" PRIu64 ", \"iotlb_domain\": %" PRIu64
	       ", \"devtlb\": %" PRIu64 ", \"wait\": %" PRIu64 "}, ",
	       s->desc_iotlb, s->desc_iotlb_domain, s->desc_devtlb, s->desc_wait);
	printf("\"per_unmap\": {\"iotlb\": %.4f, \"devtlb\": %.4f, \"wait\": %.4f, "
	       "\"total\": %.4f}, ",
	       per(s->desc_iotlb, u), per(s->desc_devtlb, u), per(s->desc_wait, u),
	       per(s->desc_iotlb + s->desc_devtlb + s->desc_wait, u));
	printf("\"batches\": %" PRIu64 ", \"stale_uses\": %" PRIu64 ", \"modeled_ns\": %" PRIu64
	       ", \"wall_ns\": %" PRIu64 ", \"unmaps_per_sec\": %.0f, \"dma_errors\": %" PRIu64
	       ", \"errors\": %" PRIu64 "}%s\n",
	       s->batches, s->stale_uses, s->modeled_ns, r->wall_ns,
	       per(u * 1000000000ull, r->wall_ns), r->dma_errors, r->op_errors, last ? "" : ",");
}

static void print_table(const struct bench_result *r, unsigned int n)
{
	unsigned int i;

	printf("%u devices (%u ATS) on %u IOMMU(s), %" PRIu64 " unmaps of %" PRIu64
	       " bytes, %s, %u thread(s)\n",
	       opts.devices, opts.ats, opts.iommus, opts.unmaps, opts.size,
	       opts.random ? "random" : "sequential", opts.threads);
	printf("%-8s %10s %10s %10s %10s %9s %12s %12s %6s\n", "policy", "iotlb/unm",
	       "devtlb/unm", "wait/unm", "batches", "stale", "modeled_ms", "unmaps/s", "x");
	for (i = 0; i < n; i++) {
		const struct svio_iommu_stats *s = &r[i].st;
		double ups = per(s->unmaps * 1000000000ull, r[i].wall_ns);
		double base = per(r[0].st.unmaps * 1000000000ull, r[0].wall_ns);

		printf("%-8s %10.4f %10.4f %10.4f %10" PRIu64 " %9" PRIu64 " %12.2f %12.0f %6.2f\n",
		       svio_flush_policy_name(r[i].policy), per(s->desc_iotlb, s->unmaps),
		       per(s->desc_devtlb, s->unmaps), per(s->desc_wait, s->unmaps), s->batches,
		       s->stale_uses, (double)s->modeled_ns / 1e6, ups, per((uint64_t)ups, (uint64_t)base));
	}
}

static int parse_u(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	if (svio_parse_u64(s, true, v) < 0 || *v < min || *v > max) {
		fprintf(stderr, "flushbench: --%s %s: expected %" PRIu64 "..%" PRIu64 "\n", name, s,
			min, max);
		return -EINVAL;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: svio-flushbench [EAL/svio options] -- [--devices N] [--ats M] [--iommus K]\n"
		"       [--unmaps U] [--size BYTES] [--pattern random|sequential] [--threads T]\n"
		"       [--policy strict|lazy|naive | --compare] [--dma-every D] [--json]\n");
}

static int parse_app_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "devices", required_argument, NULL, 'd' },
		{ "ats", required_argument, NULL, 'a' },
		{ "iommus", required_argument, NULL, 'k' },
		{ "unmaps", required_argument, NULL, 'u' },
		{ "size", required_argument, NULL, 's' },
		{ "pattern", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "policy", required_argument, NULL, 'P' },
		{ "compare", no_argument, NULL, 'c' },
		{ "dma-every", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		const char *name = c == '?' ? "" : lopts[0].name;
		unsigned int i;

		for (i = 0; lopts[i].name != NULL; i++) {
			if (lopts[i].val == c)
				name = lopts[i].name;
		}
		switch (c) {
		case 'd':
			if (parse_u(name, optarg, 1, MAX_DEVICES, &v) < 0)
				return -EINVAL;
			opts.devices = (unsigned int)v;
			break;
		case 'a':
			if (parse_u(name, optarg, 0, MAX_DEVICES, &v) < 0)
				return -EINVAL;
			opts.ats = (unsigned int)v;
			break;
		case 'k':
			if (parse_u(name, optarg, 1, 16, &v) < 0)
				return -EINVAL;
			opts.iommus = (unsigned int)v;
			break;
		case 'u':
			if (parse_u(name, optarg, 1, UINT32_MAX, &v) < 0)
				return -EINVAL;
			opts.unmaps = v;
			break;
		case 's':
			if (parse_u(name, optarg, PAGE, 1u << 20, &v) < 0)
				return -EINVAL;
			if (v % PAGE != 0) {
				fprintf(stderr, "flushbench: --size must be a multiple of 4096\n");
				return -EINVAL;
			}
			opts.size = v;
			break;
		case 'p':
			if (strcmp(optarg, "random") == 0) {
				opts.random = true;
			} else if (strcmp(optarg, "sequential") == 0) {
				opts.random = false;
			} else {
				fprintf(stderr, "flushbench: --pattern %s: expected random or "
						"sequential\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 't':
			if (parse_u(name, optarg, 1, MAX_THREADS, &v) < 0)
				return -EINVAL;
			opts.threads = (unsigned int)v;
			break;
		case 'P':
			if (svio_flush_policy_parse(optarg, &opts.policy) < 0) {
				fprintf(stderr, "flushbench: --policy %s: expected strict, lazy or "
						"naive\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'c':
			opts.compare = true;
			break;
		case 'D':
			if (parse_u(name, optarg, 0, UINT32_MAX, &v) < 0)
				return -EINVAL;
			opts.dma_every = (unsigned int)v;
			break;
		case 'j':
			opts.json = true;
			break;
		default:
			usage();
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "flushbench: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (opts.ats > opts.devices) {
		fprintf(stderr, "flushbench: --ats %u is more than --devices %u\n", opts.ats,
			opts.devices);
		return -EINVAL;
	}
	return 0;
}

/* Our options follow "--"; the devices they describe join the EAL arguments. */
static int build_eal_args(int argc, char **argv, int *eal_argc, char ***eal_argv)
{
	int dash = argc, i, n = 0;
	char **v;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			dash = i;
			break;
		}
	}
	if (dash < argc) {
		char *saved = argv[dash];
		int rc;

		argv[dash] = argv[0];
		rc = parse_app_args(argc - dash, argv + dash);
		argv[dash] = saved;
		if (rc < 0)
			return rc;
	}
	v = calloc((size_t)dash + 2 * opts.devices + 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (i = 0; i < dash; i++)
		v[n++] = argv[i];
	for (i = 0; i < (int)opts.devices; i++) {
		char buf[96];

		snprintf(buf, sizeof(buf), "sim_scratch%d,iommu=%u,ats=%s", i,
			 (unsigned int)i % opts.iommus, (unsigned int)i < opts.ats ? "on" : "off");
		v[n++] = "--vdev";
		v[n++] = strdup(buf);
	}
	*eal_argc = n;
	*eal_argv = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const enum svio_flush_policy all[] = { SVIO_FLUSH_NAIVE, SVIO_FLUSH_STRICT,
						      SVIO_FLUSH_LAZY };
	struct bench_result res[3];
	struct svio_device *dev = NULL;
	unsigned int i, n_res = 0;
	char **eal_argv, **eal_copy;
	int eal_argc, rc;

	if (build_eal_args(argc, argv, &eal_argc, &eal_argv) < 0)
		return 2;
	/* svio_eal_init() overwrites one slot of the vector it is given. */
	eal_copy = malloc(sizeof(*eal_copy) * ((size_t)eal_argc + 1));
	if (eal_copy == NULL)
		return 2;
	memcpy(eal_copy, eal_argv, sizeof(*eal_copy) * ((size_t)eal_argc + 1));
	rc = svio_eal_init(eal_argc, eal_copy);
	if (rc < 0) {
		fprintf(stderr, "flushbench: svio_eal_init: %s\n", strerror(-rc));
		return 2;
	}
	while ((dev = svio_dev_next(dev)) != NULL && n_devs < MAX_DEVICES) {
		if (dev->kind != SVIO_DEV_KIND_SCRATCH)
			continue;
		devs[n_devs].dev = dev;
		rte_spinlock_init(&devs[n_devs].lock);
		n_devs++;
	}
	live = aligned_alloc(PAGE, LIVE_PAGES * PAGE);
	if (n_devs == 0 || live == NULL) {
		fprintf(stderr, "flushbench: no scratch devices\n");
		rc = -ENODEV;
		goto out;
	}
	for (i = 0; i < (opts.compare ? 3u : 1u); i++) {
		rc = run_policy(opts.compare ? all[i] : opts.policy, &res[n_res]);
		if (rc < 0) {
			fprintf(stderr, "flushbench: %s run failed: %s\n",
				svio_flush_policy_name(opts.compare ? all[i] : opts.policy),
				strerror(-rc));
			goto out;
		}
		n_res++;
	}
	if (opts.json) {
		printf("[\n");
		for (i = 0; i < n_res; i++)
			print_json(&res[i], i + 1 == n_res);
		printf("]\n");
	} else {
		print_table(res, n_res);
	}
	for (i = 0; i < n_res; i++) {
		if (res[i].st.stale_uses != 0 || res[i].dma_errors != 0 || res[i].op_errors != 0)
			rc = -EIO;
	}
	if (rc == -EIO)
		fprintf(stderr, "flushbench: stale uses, DMA errors or failed operations above\n");
out:
	free(live);
	svio_eal_cleanup();
	for (i = 0; i < opts.devices; i++)
		free(eal_argv[eal_argc - 1 - 2 * i]); /* the --vdev values we built */
	free(eal_argv);
	free(eal_copy);
	return rc < 0 ? 1 : 0;
}
