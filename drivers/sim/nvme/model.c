/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The built-in NVMe controller: devargs, create/destroy, the model thread
 * (mode=thread) and the test hooks. Registers are in regs.c, the queue
 * engine in queue.c, commands in admin.c and io.c, the namespace in ns.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sim_nvme_priv.h"

RTE_LOG_REGISTER_SUFFIX(sim_nvme_logtype, sim.nvme, INFO);

static const char *const nvme_devargs[] = {
	"size",	      "lba",  "nsid",	       "queues",      "mqes", "dstrd",
	"latency_ns", "mode", "file",	       "ms",	      "mset", "pi",
	"namespaces", "mdts", "corrupt_reads", "drop_writes", NULL,
};

uint64_t sim_nvme_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sim_nvme_fatal(struct sim_nvme *c, const char *why)
{
	atomic_store(&c->enabled, false);
	if (!(atomic_fetch_or(&c->csts, NVME_CSTS_CFS) & NVME_CSTS_CFS))
		SIM_NVME_LOG(WARNING, "%s: controller fatal status: %s", c->dev->name, why);
}

void sim_nvme_log_error(struct sim_nvme *c, uint16_t sqid, uint16_t cid, uint16_t sf, uint64_t lba,
			uint32_t nsid)
{
	struct nvme_error_log *e;

	pthread_mutex_lock(&c->err_lock);
	e = &c->errlog[c->err_count % SIM_NVME_ERRLOG];
	memset(e, 0, sizeof(*e));
	e->error_count = ++c->err_count;
	e->sqid = sqid;
	e->cid = cid;
	e->status = (uint16_t)(sf << 1);
	e->param_loc = 0xffff;
	e->lba = lba;
	e->nsid = nsid;
	pthread_mutex_unlock(&c->err_lock);
}

/* ---- the model thread (mode=thread) ---- */

static void *model_thread(void *arg)
{
	struct sim_nvme *c = arg;
	unsigned int idle = 0;

	while (!atomic_load(&c->thread_stop)) {
		bool busy = false;

		if (atomic_load(&c->enabled)) {
			for (unsigned int q = 0; q <= c->nqueues; q++) {
				struct sim_nvme_cq *cq = &c->cq[q];

				if (!atomic_load_explicit(&cq->live, memory_order_acquire))
					continue;
				pthread_mutex_lock(&cq->lock);
				if (atomic_load(&cq->live))
					busy |= sim_nvme_group_service_busy(c, cq);
				pthread_mutex_unlock(&cq->lock);
				sim_nvme_cq_notify(c, cq);
			}
		}
		if (busy) {
			idle = 0;
		} else if (++idle > 64) {
			/* Nothing to do: back off, further after a long quiet spell. */
			struct timespec ts = { 0, idle > 4096 ? 200000 : 20000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* ---- create, destroy ---- */

static int arg_range(struct svio_device *dev, const char *key, uint64_t lo, uint64_t hi,
		     uint64_t *val)
{
	int rc = svio_dev_arg_u64(dev, key, val);

	if (rc < 0)
		return rc;
	if (*val < lo || *val > hi) {
		SIM_NVME_LOG(ERR, "%s: %s=%" PRIu64 " is out of range (%" PRIu64 "..%" PRIu64 ")",
			     dev->name, key, *val, lo, hi);
		return -EINVAL;
	}
	return 0;
}

/* The namespaces' format: lba=, ms=, mset=, pi=. */
static int parse_format(struct svio_device *dev, struct sim_nvme_ns_format *fmt)
{
	uint64_t lba = 512, ms = 0, mset = 0, pi = 0;
	int rc;

	if ((rc = svio_dev_arg_u64(dev, "lba", &lba)) < 0 ||
	    (rc = svio_dev_arg_u64(dev, "ms", &ms)) < 0 ||
	    (rc = arg_range(dev, "mset", 0, 1, &mset)) < 0 ||
	    (rc = arg_range(dev, "pi", 0, 3, &pi)) < 0)
		return rc;
	if (lba != 512 && lba != 4096) {
		SIM_NVME_LOG(ERR, "%s: lba=%" PRIu64 " is not a supported LBA size (512 or 4096)",
			     dev->name, lba);
		return -EINVAL;
	}
	if (ms != 0 && ms != 8 && ms != 16 && ms != 64) {
		SIM_NVME_LOG(ERR,
			     "%s: ms=%" PRIu64 " is not a supported metadata size (0, 8, 16, 64)",
			     dev->name, ms);
		return -EINVAL;
	}
	if (pi != 0 && ms < 8) {
		SIM_NVME_LOG(ERR,
			     "%s: pi=%" PRIu64 " needs 8 bytes of metadata a block (ms=8 or more)",
			     dev->name, pi);
		return -EINVAL;
	}
	fmt->lba = (uint32_t)lba;
	fmt->ms = (uint32_t)ms;
	fmt->extended = mset == 1;
	fmt->pi = (uint8_t)pi;
	return 0;
}

static int parse_args(struct svio_device *dev, struct sim_nvme *c, uint64_t *size,
		      struct sim_nvme_ns_format *fmt, uint32_t *nsid)
{
	const char *mode = svio_dev_arg(dev, "mode");
	uint64_t queues = 8, mqes = 1024, dstrd = 0, nsid64 = 1, nns = 1, mdts = SIM_NVME_MDTS;
	int rc;

	*size = svio_dev_arg(dev, "file") != NULL ? 0 : 1ull << 30;
	rc = svio_dev_arg_u64(dev, "size", size);
	if (rc < 0)
		return rc;
	rc = parse_format(dev, fmt);
	if (rc < 0)
		return rc;
	if ((rc = arg_range(dev, "nsid", 1, 1024, &nsid64)) < 0 ||
	    (rc = arg_range(dev, "namespaces", 1, SIM_NVME_MAX_NS, &nns)) < 0 ||
	    (rc = arg_range(dev, "mdts", 0, SIM_NVME_MDTS, &mdts)) < 0 ||
	    (rc = arg_range(dev, "queues", 1, SIM_NVME_MAX_QUEUES, &queues)) < 0 ||
	    (rc = arg_range(dev, "mqes", 2, 4096, &mqes)) < 0 ||
	    (rc = arg_range(dev, "dstrd", 0, 4, &dstrd)) < 0)
		return rc;
	if (nns > 1 && svio_dev_arg(dev, "file") != NULL) {
		SIM_NVME_LOG(ERR, "%s: file= backs one namespace, not namespaces=%" PRIu64,
			     dev->name, nns);
		return -EINVAL;
	}
	if (nsid64 + nns - 1 > 1024) {
		SIM_NVME_LOG(ERR,
			     "%s: nsid=%" PRIu64 " with namespaces=%" PRIu64
			     " goes past namespace id 1024",
			     dev->name, nsid64, nns);
		return -EINVAL;
	}
	rc = svio_dev_arg_u64(dev, "latency_ns", &c->latency_ns);
	if (rc < 0)
		return rc;
	rc = svio_dev_arg_u64(dev, "corrupt_reads", &c->corrupt_reads);
	if (rc < 0)
		return rc;
	rc = svio_dev_arg_u64(dev, "drop_writes", &c->drop_writes);
	if (rc < 0)
		return rc;
	if (mode != NULL && strcmp(mode, "inline") != 0 && strcmp(mode, "thread") != 0) {
		SIM_NVME_LOG(ERR, "%s: mode=%s: expected inline or thread", dev->name, mode);
		return -EINVAL;
	}
	c->thread_mode = mode != NULL && strcmp(mode, "thread") == 0;
	*nsid = (uint32_t)nsid64;
	c->nns = (uint32_t)nns;
	c->mdts = (uint32_t)mdts;
	c->nqueues = (uint32_t)queues;
	c->mqes = (uint32_t)mqes - 1;
	c->dstrd = (uint32_t)dstrd;
	return 0;
}

static void close_namespaces(struct sim_nvme *c)
{
	for (unsigned int i = 0; i < SIM_NVME_MAX_NS; i++)
		sim_nvme_ns_close(&c->ns[i]);
}

static void free_model(struct sim_nvme *c)
{
	for (unsigned int q = 0; q <= SIM_NVME_MAX_QUEUES; q++) {
		free(c->sq[q].cmds);
		pthread_mutex_destroy(&c->cq[q].lock);
	}
	pthread_mutex_destroy(&c->reg_lock);
	pthread_mutex_destroy(&c->err_lock);
	free(c);
}

static int nvme_create(struct svio_device *dev)
{
	struct sim_nvme *c = calloc(1, sizeof(*c));
	struct sim_nvme_ns_format fmt;
	uint64_t size;
	uint32_t nsid;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	c->dev = dev;
	for (unsigned int i = 0; i < SIM_NVME_MAX_NS; i++)
		c->ns[i].fd = -1;
	pthread_mutex_init(&c->reg_lock, NULL);
	pthread_mutex_init(&c->err_lock, NULL);
	for (unsigned int q = 0; q <= SIM_NVME_MAX_QUEUES; q++) {
		pthread_mutex_init(&c->cq[q].lock, NULL);
		c->cq[q].qid = (uint16_t)q;
		c->sq[q].qid = (uint16_t)q;
	}
	rc = parse_args(dev, c, &size, &fmt, &nsid);
	if (rc < 0)
		goto out_free;
	c->bar_size = NVME_REG_DBS + 2ull * (c->nqueues + 1) * (4ull << c->dstrd);
	for (unsigned int i = 0; i < c->nns; i++) {
		rc = sim_nvme_ns_open(&c->ns[i], svio_dev_arg(dev, "file"), size, &fmt, nsid + i,
				      dev->name);
		if (rc < 0)
			goto out_close_ns;
	}
	dev->bus_priv = c;
	if (c->thread_mode) {
		rc = -pthread_create(&c->thread, NULL, model_thread, c);
		if (rc < 0) {
			SIM_NVME_LOG(ERR, "%s: cannot start the model thread", dev->name);
			goto out_close_ns;
		}
		c->thread_running = true;
	}
	return 0;

out_close_ns:
	dev->bus_priv = NULL;
	close_namespaces(c);
out_free:
	free_model(c);
	return rc;
}

static void nvme_destroy(struct svio_device *dev)
{
	struct sim_nvme *c = sim_dev_priv(dev);

	if (c == NULL)
		return;
	if (c->thread_running) {
		atomic_store(&c->thread_stop, true);
		pthread_join(c->thread, NULL);
	}
	close_namespaces(c);
	free_model(c);
	dev->bus_priv = NULL;
}

static const struct svio_dev_reg_ops nvme_reg_ops = {
	.read = sim_nvme_reg_read,
	.write = sim_nvme_reg_write,
};

const struct sim_model sim_nvme_model = {
	.prefix = "sim_nvme",
	.kind = SVIO_DEV_KIND_NVME,
	.devargs = nvme_devargs,
	.dma = true,
	.create = nvme_create,
	.destroy = nvme_destroy,
	.reg_ops = &nvme_reg_ops,
};

/* ---- test hooks ---- */

static struct sim_nvme *model_of(struct svio_device *dev)
{
	if (dev == NULL || dev->reg_ops != &nvme_reg_ops)
		return NULL;
	return sim_dev_priv(dev);
}

int sim_nvme_inject_fatal(struct svio_device *dev)
{
	struct sim_nvme *c = model_of(dev);

	if (c == NULL)
		return -EINVAL;
	sim_nvme_fatal(c, "injected");
	return 0;
}

int sim_nvme_inject_hang(struct svio_device *dev, unsigned int n, bool abortable)
{
	struct sim_nvme *c = model_of(dev);

	if (c == NULL)
		return -EINVAL;
	atomic_store(&c->hang_abortable, abortable);
	atomic_store(&c->hang_next, n);
	return 0;
}

static uint64_t resident_bytes(const struct sim_nvme_ns *ns)
{
	static const size_t step = 1ull << 30;
	unsigned char *vec = malloc(step / 4096);
	uint64_t off, n = 0;

	if (vec == NULL)
		return 0;
	for (off = 0; off < ns->bytes; off += step) {
		size_t len = ns->bytes - off < step ? ns->bytes - off : step;

		if (mincore(ns->data + off, len, vec) < 0)
			break;
		for (size_t i = 0; i < (len + 4095) / 4096; i++)
			n += vec[i] & 1;
	}
	free(vec);
	return n * 4096;
}

int sim_nvme_stats_get(struct svio_device *dev, struct sim_nvme_stats *st)
{
	struct sim_nvme *c = model_of(dev);

	if (c == NULL || st == NULL)
		return -EINVAL;
	st->commands = atomic_load(&c->stat_cmds);
	st->held = atomic_load(&c->stat_held);
	st->aborted = atomic_load(&c->stat_aborted);
	st->posted = atomic_load(&c->stat_posted);
	st->resident = 0;
	for (unsigned int i = 0; i < c->nns; i++)
		st->resident += resident_bytes(&c->ns[i]);
	return 0;
}

int sim_nvme_ns_peek_ns(struct svio_device *dev, uint32_t nsid, uint64_t lba, uint32_t nlb,
			void *buf)
{
	struct sim_nvme *c = model_of(dev);
	struct sim_nvme_ns *ns = c != NULL ? sim_nvme_ns_find(c, nsid) : NULL;

	if (ns == NULL || buf == NULL)
		return -EINVAL;
	if (lba >= ns->nsze || nlb > ns->nsze - lba)
		return -ERANGE;
	memcpy(buf, ns->data + lba * ns->stride, (size_t)nlb * ns->stride);
	return 0;
}

int sim_nvme_ns_peek(struct svio_device *dev, uint64_t lba, uint32_t nlb, void *buf)
{
	struct sim_nvme *c = model_of(dev);

	return sim_nvme_ns_peek_ns(dev, c != NULL ? c->ns[0].nsid : 0, lba, nlb, buf);
}
