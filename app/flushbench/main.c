/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio-flushbench: drives the IOMMU core's unmap and flush paths on the
 * built-in IOMMU, with no I/O device in the way.
 *
 * N scratch devices (the first M with ATS) sit behind K IOMMU instances and
 * share one domain. T unmapping threads, each a registered DPDK lcore, map a
 * chunk of SIZE bytes, let a device DMA into it now and then (so the IOTLB
 * and device-TLBs hold its translation), and unmap it; U unmaps in all,
 * chunks picked at random or in sequence. Meanwhile every device has an
 * agent thread that keeps DMAing (writes, then reads checked against them)
 * to its slice of a live region that stays mapped for the whole run: every
 * one of those DMAs must succeed. Every Pth unmap is followed by a probe: a
 * DMA to the address just unmapped, which must fault under strict and naive
 * (lazy may still hit a translation cached until its batch is flushed). The
 * model's oracle counts any use of a translation after its invalidation
 * completed (stale uses): there must be none.
 *
 *   svio-flushbench [EAL/svio options] -- --devices N --ats M --iommus K
 *       --unmaps U --size BYTES --pattern random|sequential --threads T
 *       [--policy strict|lazy|naive | --compare] [--dma-every D]
 *       [--probe-every P] [--agent-pause USEC] [--json]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_lcore.h>

#include <svio_dev.h>
#include <svio_eal.h>
#include <svio_iommu.h>
#include <svio_scratch.h>

#define PAGE	       4096u
#define MAX_DEVICES    64
#define MAX_THREADS    16
#define CHUNKS_PER_THR 256 /* distinct chunks each thread cycles through */
#define LIVE_PER_DEV   16  /* live pages each agent owns */
/* --agent-pause unset: 100 us on cores of their own, yield on the unmappers' */
#define AGENT_PAUSE_AUTO UINT32_MAX

struct bench_opts {
	unsigned int devices, ats, iommus, threads, dma_every, probe_every, agent_pause_us;
	uint64_t unmaps, size;
	bool random, json, compare;
	enum svio_flush_policy policy;
};

struct bench_dev {
	struct svio_device *dev;
	/*
	 * The scratch DMA engine is one register set. A sleeping lock: its
	 * holder may be preempted by another thread on the same core.
	 */
	pthread_mutex_t lock;
};

struct bench_result {
	enum svio_flush_policy policy;
	struct svio_iommu_stats st;
	uint64_t wall_ns;
	uint64_t dma_ops;      /* agents' DMAs to the live region */
	uint64_t dma_errors;   /* failed DMAs to mapped memory (live region or warm-up) */
	uint64_t probes;       /* DMAs to an address just unmapped */
	uint64_t probe_faults; /* ... that the IOMMU refused */
	uint64_t op_errors;
};

/* What the threads of one run share. */
struct bench_run {
	struct svio_domain *dom;
	enum svio_flush_policy policy;
	int gate;  /* 0: wait, 1: go, -1: give up (a thread could not start) */
	bool stop; /* the unmappers are done: agents stop */
};

struct bench_thread {
	pthread_t tid;
	unsigned int id;
	struct bench_run *run;
	uint8_t *region; /* CHUNKS_PER_THR chunks of opts.size, only this thread maps them */
	uint64_t unmaps;
	uint64_t dma_errors;
	uint64_t probes;
	uint64_t probe_faults;
	uint64_t op_errors;
	uint64_t rng;
};

/* One per device: the device's own DMA traffic to live memory. */
struct bench_agent {
	pthread_t tid;
	unsigned int dev;
	struct bench_run *run;
	uint8_t *slice;	       /* LIVE_PER_DEV pages of the live region, this agent's alone */
	pthread_mutex_t *turn; /* agent_turn[] of the device's IOMMU */
	uint64_t dma_ops;
	uint64_t dma_errors;
	uint64_t rng;
};

static struct bench_opts opts = {
	.devices = 4,
	.ats = 4,
	.iommus = 1,
	.threads = 1,
	.dma_every = 16,
	.probe_every = 64,
	.agent_pause_us = AGENT_PAUSE_AUTO,
	.unmaps = 100000,
	.size = PAGE,
	.random = true,
	.policy = SVIO_FLUSH_STRICT,
};
static struct bench_dev devs[MAX_DEVICES];
static unsigned int n_devs;
/* Devices a probe may use: without PRI, so a probe faults instead of mapping the page back. */
static unsigned int probe_devs[MAX_DEVICES];
static unsigned int n_probe_devs;
static uint8_t *live;
/*
 * The agents run on the cores the unmappers leave free, when there are any,
 * so a device never preempts an unmapper inside the model's spinlocks.
 */
static cpu_set_t agent_cpus;
/*
 * The model's caches sit behind one spinlock per IOMMU. Agents of one IOMMU
 * that preempt each other inside it would spin away whole time slices, so
 * they take turns through a sleeping lock; the unmappers do not wait on it.
 */
#define TURN_LOCKS 16
static pthread_mutex_t agent_turn[TURN_LOCKS];

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

static int dev_dma(unsigned int d, uint64_t iova, size_t len, bool to_mem, uint8_t pattern,
		   uint64_t *sum)
{
	int rc;

	pthread_mutex_lock(&devs[d].lock);
	rc = svio_scratch_dma(devs[d].dev, iova, len, to_mem, pattern, sum);
	pthread_mutex_unlock(&devs[d].lock);
	return rc;
}

/* The first failure of each kind is worth a line; the counters say the rest. */
static void report_once(bool *reported, const char *what, unsigned int d, uint64_t iova, int rc)
{
	if (__atomic_exchange_n(reported, true, __ATOMIC_RELAXED))
		return;
	if (rc < 0)
		fprintf(stderr, "flushbench: %s: %s to %#" PRIx64 " failed: %s\n",
			devs[d].dev->name, what, iova, strerror(-rc));
	else
		fprintf(stderr, "flushbench: %s: %s to %#" PRIx64 " succeeded\n", devs[d].dev->name,
			what, iova);
}

/* Wait for the gate to open; false if the run was abandoned before it started. */
static bool gate_wait(const struct bench_run *run)
{
	int g;

	while ((g = __atomic_load_n(&run->gate, __ATOMIC_ACQUIRE)) == 0)
		sched_yield();
	return g > 0;
}

/*
 * Between two write + read pairs an agent sleeps: the devices share the
 * machine's cores with the other engineers' work, and must not take one for
 * themselves. On the unmappers' own core an agent yields instead: waking
 * from a sleep it would preempt an unmapper, possibly inside one of the
 * model's spinlocks, and spin against it for a whole time slice.
 */
static void agent_pause(void)
{
	struct timespec ts = { .tv_nsec = (long)opts.agent_pause_us * 1000 };

	if (opts.agent_pause_us == 0)
		sched_yield();
	else
		nanosleep(&ts, NULL);
}

static void *agent_main(void *arg)
{
	static bool reported;
	struct bench_agent *a = arg;

	if (!gate_wait(a->run))
		return NULL;
	/* At least one pair even when the unmappers are already done. */
	do {
		uint64_t iova = (uintptr_t)a->slice + (xorshift(&a->rng) % LIVE_PER_DEV) * PAGE;
		/* Never 0, the value the memory may already hold. */
		uint8_t pattern = (uint8_t)(xorshift(&a->rng) | 1);
		uint64_t sum = 0;
		int rc;

		pthread_mutex_lock(a->turn);
		rc = dev_dma(a->dev, iova, PAGE, true, pattern, NULL);
		a->dma_ops++;
		if (rc == 0) {
			rc = dev_dma(a->dev, iova, PAGE, false, 0, &sum);
			a->dma_ops++;
		}
		pthread_mutex_unlock(a->turn);
		/* The read must see the agent's own write: nobody else touches the slice. */
		if (rc == 0 && sum != (uint64_t)pattern * PAGE)
			rc = -EIO;
		if (rc < 0) {
			a->dma_errors++;
			report_once(&reported, "live DMA", a->dev, iova, rc);
		}
		agent_pause();
	} while (!__atomic_load_n(&a->run->stop, __ATOMIC_ACQUIRE));
	return NULL;
}

/*
 * DMA to @p iova right after it was unmapped. Only this thread maps its
 * region, the agents stay in the live region and probe devices have no PRI,
 * so nothing can have mapped the page again: only a translation cached
 * before the unmap could still succeed, which lazy allows until its batch
 * is flushed (the model counts a use after that as stale).
 */
static void probe(struct bench_thread *t, unsigned int d, uint64_t iova)
{
	static bool reported_hit, reported_err;
	/* Alternately a read and a write: both directions must be refused. */
	int rc = dev_dma(d, iova, PAGE, (t->probes & 1) != 0, 0x5a, NULL);

	t->probes++;
	if (rc == -EFAULT || rc == -EACCES) {
		t->probe_faults++;
	} else if (rc < 0) {
		t->op_errors++;
		report_once(&reported_err, "probe", d, iova, rc);
	} else if (t->run->policy != SVIO_FLUSH_LAZY) {
		report_once(&reported_hit, "probe after unmap", d, iova, 0);
	}
}

static void *bench_thread_main(void *arg)
{
	static bool reported;
	struct bench_thread *t = arg;
	uint64_t i, chunk = 0;

	/* An lcore of its own, as the flush queue's producers are in applications. */
	if (rte_thread_register() < 0) {
		fprintf(stderr, "flushbench: thread %u: rte_thread_register: %s\n", t->id,
			rte_strerror(rte_errno));
		t->op_errors++;
		return NULL;
	}
	if (!gate_wait(t->run))
		goto out_unregister;
	for (i = 0; i < t->unmaps; i++) {
		bool probing = opts.probe_every != 0 && n_probe_devs != 0 &&
			       i % opts.probe_every == opts.probe_every - 1;
		uint64_t iova, page = 0;
		unsigned int d = 0;

		chunk = opts.random ? xorshift(&t->rng) % CHUNKS_PER_THR
				    : (chunk + 1) % CHUNKS_PER_THR;
		if (opts.size > PAGE)
			page = (xorshift(&t->rng) % (opts.size / PAGE)) * PAGE;
		if (svio_dma_map(t->run->dom, t->region + chunk * opts.size, opts.size, SVIO_DMA_RW,
				 &iova) < 0) {
			t->op_errors++;
			continue;
		}
		/* A probed page is warmed by its probe device: the probe meets a cached entry. */
		if (probing || (opts.dma_every != 0 && i % opts.dma_every == 0)) {
			int rc;

			d = probing ? probe_devs[(t->probes + t->id) % n_probe_devs]
				    : (unsigned int)(xorshift(&t->rng) % n_devs);
			rc = dev_dma(d, iova + page, PAGE, true, (uint8_t)i, NULL);
			if (rc < 0) {
				t->dma_errors++;
				report_once(&reported, "warm-up DMA", d, iova + page, rc);
			}
		}
		if (svio_dma_unmap(t->run->dom, iova, opts.size) < 0)
			t->op_errors++;
		else if (probing)
			probe(t, d, iova + page);
	}
out_unregister:
	rte_thread_unregister();
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

/* Start the agents and the unmappers behind a closed gate; how many of each started. */
static int start_threads(struct bench_run *run, struct bench_agent *agt, unsigned int *n_agt,
			 struct bench_thread *thr, unsigned int *n_thr)
{
	pthread_attr_t attr;
	unsigned int i;
	int rc = 0;

	if (pthread_attr_init(&attr) != 0)
		return -ENOMEM;
	pthread_attr_setaffinity_np(&attr, sizeof(agent_cpus), &agent_cpus);
	for (i = 0; i < n_devs; i++, (*n_agt)++) {
		agt[i].dev = i;
		agt[i].run = run;
		agt[i].slice = live + (size_t)i * LIVE_PER_DEV * PAGE;
		agt[i].turn = &agent_turn[devs[i].dev->dma.iommu_index % TURN_LOCKS];
		agt[i].rng = 0xd1b54a32d192ed03ull * (i + 1);
		if (pthread_create(&agt[i].tid, &attr, agent_main, &agt[i]) != 0) {
			fprintf(stderr, "flushbench: cannot start the agent of %s\n",
				devs[i].dev->name);
			rc = -EAGAIN;
			break;
		}
	}
	pthread_attr_destroy(&attr);
	if (rc < 0)
		return rc;
	for (i = 0; i < opts.threads; i++, (*n_thr)++) {
		thr[i].id = i;
		thr[i].run = run;
		thr[i].region = aligned_alloc(PAGE, CHUNKS_PER_THR * opts.size);
		thr[i].unmaps = opts.unmaps / opts.threads + (i < opts.unmaps % opts.threads);
		thr[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		if (thr[i].region == NULL ||
		    pthread_create(&thr[i].tid, NULL, bench_thread_main, &thr[i]) != 0) {
			fprintf(stderr, "flushbench: cannot start thread %u\n", i);
			free(thr[i].region);
			return -ENOMEM;
		}
	}
	return 0;
}

static int run_policy(enum svio_flush_policy policy, struct bench_result *res)
{
	struct bench_thread thr[MAX_THREADS];
	struct bench_agent agt[MAX_DEVICES];
	struct svio_domain *base = svio_domain_default();
	struct bench_run run = { .policy = policy };
	struct svio_iommu_config cfg;
	unsigned int i, n_thr = 0, n_agt = 0;
	size_t live_len = (size_t)n_devs * LIVE_PER_DEV * PAGE;
	uint64_t live_iova, t0;
	int rc;

	memset(res, 0, sizeof(*res));
	res->policy = policy;
	cfg = svio_eal_config()->domain;
	cfg.policy = policy;
	cfg.sva = true;
	rc = svio_domain_create(&cfg, &run.dom);
	if (rc < 0)
		return rc;
	rc = switch_domain(base, run.dom);
	if (rc < 0)
		goto out_destroy;
	rc = svio_dma_map(run.dom, live, live_len, SVIO_DMA_RW, &live_iova);
	if (rc < 0)
		goto out_switch_back;
	svio_iommu_stats_reset(run.dom);

	memset(thr, 0, sizeof(thr));
	memset(agt, 0, sizeof(agt));
	rc = start_threads(&run, agt, &n_agt, thr, &n_thr);
	t0 = now_ns();
	__atomic_store_n(&run.gate, rc == 0 ? 1 : -1, __ATOMIC_RELEASE);
	for (i = 0; i < n_thr; i++)
		pthread_join(thr[i].tid, NULL);
	if (svio_iommu_sync(run.dom) < 0)
		res->op_errors++;
	res->wall_ns = now_ns() - t0;
	/* The devices DMA until the last flush is done, then stop. */
	__atomic_store_n(&run.stop, true, __ATOMIC_RELEASE);
	for (i = 0; i < n_agt; i++) {
		pthread_join(agt[i].tid, NULL);
		res->dma_ops += agt[i].dma_ops;
		res->dma_errors += agt[i].dma_errors;
	}
	for (i = 0; i < n_thr; i++) {
		res->dma_errors += thr[i].dma_errors;
		res->probes += thr[i].probes;
		res->probe_faults += thr[i].probe_faults;
		res->op_errors += thr[i].op_errors;
		free(thr[i].region);
	}
	svio_iommu_stats_get(run.dom, &res->st);
	svio_dma_unmap(run.dom, live_iova, live_len);
out_switch_back:
	if (switch_domain(run.dom, base) < 0 && rc == 0)
		rc = -EIO;
out_destroy:
	svio_domain_destroy(run.dom);
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
	       svio_flush_policy_name(r->policy), opts.devices, opts.ats, opts.iommus, opts.threads,
	       opts.size, opts.random ? "random" : "sequential", u);
	printf("\"descriptors\": {\"iotlb\": %" PRIu64 ", \"iotlb_domain\": %" PRIu64
	       ", \"devtlb\": %" PRIu64 ", \"wait\": %" PRIu64 "}, ",
	       s->desc_iotlb, s->desc_iotlb_domain, s->desc_devtlb, s->desc_wait);
	printf("\"per_unmap\": {\"iotlb\": %.4f, \"devtlb\": %.4f, \"wait\": %.4f, "
	       "\"total\": %.4f}, ",
	       per(s->desc_iotlb, u), per(s->desc_devtlb, u), per(s->desc_wait, u),
	       per(s->desc_iotlb + s->desc_devtlb + s->desc_wait, u));
	printf("\"batches\": %" PRIu64 ", \"stale_uses\": %" PRIu64 ", \"modeled_ns\": %" PRIu64
	       ", \"wall_ns\": %" PRIu64 ", \"unmaps_per_sec\": %.0f, ",
	       s->batches, s->stale_uses, s->modeled_ns, r->wall_ns,
	       per(u * 1000000000ull, r->wall_ns));
	printf("\"dma_ops\": %" PRIu64 ", \"dma_errors\": %" PRIu64 ", \"probes\": %" PRIu64
	       ", \"probe_faults\": %" PRIu64 ", \"errors\": %" PRIu64 "}%s\n",
	       r->dma_ops, r->dma_errors, r->probes, r->probe_faults, r->op_errors,
	       last ? "" : ",");
}

static void print_table(const struct bench_result *r, unsigned int n)
{
	unsigned int i;

	printf("%u devices (%u ATS) on %u IOMMU(s), %" PRIu64 " unmaps of %" PRIu64
	       " bytes, %s, %u thread(s)\n",
	       opts.devices, opts.ats, opts.iommus, opts.unmaps, opts.size,
	       opts.random ? "random" : "sequential", opts.threads);
	printf("%-8s %10s %10s %10s %10s %9s %12s %12s %6s %10s %13s\n", "policy", "iotlb/unm",
	       "devtlb/unm", "wait/unm", "batches", "stale", "modeled_ms", "unmaps/s", "x",
	       "dma_ops", "faults/probes");
	for (i = 0; i < n; i++) {
		const struct svio_iommu_stats *s = &r[i].st;
		double ups = per(s->unmaps * 1000000000ull, r[i].wall_ns);
		double base = per(r[0].st.unmaps * 1000000000ull, r[0].wall_ns);
		char probes[32];

		snprintf(probes, sizeof(probes), "%" PRIu64 "/%" PRIu64, r[i].probe_faults,
			 r[i].probes);
		printf("%-8s %10.4f %10.4f %10.4f %10" PRIu64 " %9" PRIu64
		       " %12.2f %12.0f %6.2f %10" PRIu64 " %13s\n",
		       svio_flush_policy_name(r[i].policy), per(s->desc_iotlb, s->unmaps),
		       per(s->desc_devtlb, s->unmaps), per(s->desc_wait, s->unmaps), s->batches,
		       s->stale_uses, (double)s->modeled_ns / 1e6, ups,
		       per((uint64_t)ups, (uint64_t)base), r[i].dma_ops, probes);
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
	fprintf(stderr, "usage: svio-flushbench [EAL/svio options] --\n"
			"       [--devices N] [--ats M] [--iommus K] [--unmaps U] [--size BYTES]\n"
			"       [--pattern random|sequential] [--threads T]\n"
			"       [--policy strict|lazy|naive | --compare] [--dma-every D]\n"
			"       [--probe-every P] [--agent-pause USEC] [--json]\n");
}

/* 0, 1 after --help, or -EINVAL with a message. */
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
		{ "probe-every", required_argument, NULL, 'R' },
		{ "agent-pause", required_argument, NULL, 'A' },
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
				fprintf(stderr,
					"flushbench: --pattern %s: expected random or sequential\n",
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
				fprintf(stderr,
					"flushbench: --policy %s: expected strict, lazy or naive\n",
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
		case 'R':
			if (parse_u(name, optarg, 0, UINT32_MAX, &v) < 0)
				return -EINVAL;
			opts.probe_every = (unsigned int)v;
			break;
		case 'A':
			if (parse_u(name, optarg, 0, 999999, &v) < 0)
				return -EINVAL;
			opts.agent_pause_us = (unsigned int)v;
			break;
		case 'j':
			opts.json = true;
			break;
		case 'h':
			usage();
			return 1;
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

/* The cores the process may use but the unmappers (children of this thread) will not. */
static void agent_cpus_pick(void)
{
	cpu_set_t mine, rest;

	if (CPU_COUNT(&agent_cpus) == 0 ||
	    pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine) != 0) {
		CPU_ZERO(&agent_cpus);
		for (int c = 0; c < CPU_SETSIZE; c++)
			CPU_SET(c, &agent_cpus);
		if (opts.agent_pause_us == AGENT_PAUSE_AUTO)
			opts.agent_pause_us = 0;
		return;
	}
	CPU_XOR(&rest, &agent_cpus, &mine);
	CPU_AND(&rest, &rest, &agent_cpus);
	if (CPU_COUNT(&rest) != 0)
		agent_cpus = rest; /* else share: a single core has no choice */
	if (opts.agent_pause_us == AGENT_PAUSE_AUTO)
		opts.agent_pause_us = CPU_COUNT(&rest) != 0 ? 100 : 0;
}

/*
 * Our options follow "--"; the devices they describe join the EAL arguments.
 * 0, 1 after --help, or a negative errno.
 */
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
		if (rc != 0)
			return rc; /* 1: --help */
	}
	v = calloc((size_t)dash + 2 * opts.devices + 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (i = 0; i < dash; i++)
		v[n++] = argv[i];
	for (i = 0; i < (int)opts.devices; i++) {
		char buf[96];

		/* No PRI: a probe must fault, not map the page back in (SVA). */
		snprintf(buf, sizeof(buf), "sim_scratch%d,iommu=%u,ats=%s", i,
			 (unsigned int)i % opts.iommus,
			 (unsigned int)i < opts.ats ? "on,pri=off" : "off");
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

	rc = build_eal_args(argc, argv, &eal_argc, &eal_argv);
	if (rc != 0)
		return rc < 0 ? 2 : 0;
	/* Before EAL pins this thread to the main lcore. */
	if (sched_getaffinity(0, sizeof(agent_cpus), &agent_cpus) != 0)
		CPU_ZERO(&agent_cpus);
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
	agent_cpus_pick();
	for (i = 0; i < TURN_LOCKS; i++)
		pthread_mutex_init(&agent_turn[i], NULL);
	while ((dev = svio_dev_next(dev)) != NULL && n_devs < MAX_DEVICES) {
		if (dev->kind != SVIO_DEV_KIND_SCRATCH)
			continue;
		devs[n_devs].dev = dev;
		pthread_mutex_init(&devs[n_devs].lock, NULL);
		if (!dev->dma.pri)
			probe_devs[n_probe_devs++] = n_devs;
		n_devs++;
	}
	if (opts.probe_every != 0 && n_probe_devs == 0)
		fprintf(stderr, "flushbench: every device has PRI: no probes after unmap\n");
	live = aligned_alloc(PAGE, (size_t)(n_devs ? n_devs : 1) * LIVE_PER_DEV * PAGE);
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
		const struct bench_result *r = &res[i];

		if (r->st.stale_uses != 0 || r->dma_errors != 0 || r->op_errors != 0 ||
		    (r->policy != SVIO_FLUSH_LAZY && r->probe_faults != r->probes))
			rc = -EIO;
	}
	if (rc == -EIO)
		fprintf(stderr, "flushbench: stale uses, DMA errors, probes that reached unmapped "
				"memory or failed operations above\n");
out:
	free(live);
	svio_eal_cleanup();
	for (i = 0; i < opts.devices; i++)
		free(eal_argv[eal_argc - 1 - 2 * i]); /* the --vdev values we built */
	free(eal_argv);
	free(eal_copy);
	return rc < 0 ? 1 : 0;
}
