/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe PMD: probe and remove, the enable/disable handshake, the admin queue,
 * identify, reset and controller lookup.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_atomic.h>
#include <rte_cycles.h>
#include <rte_pause.h>

#include "nvme_priv.h"

RTE_LOG_REGISTER_SUFFIX(svio_nvme_logtype, nvme, INFO);

struct svio_driver nvme_driver;

uint64_t nvme_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t nvme_us_to_tsc(uint64_t us)
{
	return us * (rte_get_tsc_hz() / 1000000);
}

/* Waiting on the device: spin briefly, then yield so a model thread can run. */
static void backoff(unsigned int *spins)
{
	if (++*spins < 256) {
		rte_pause();
	} else {
		struct timespec ts = { 0, 10000 };

		nanosleep(&ts, NULL);
	}
}

int nvme_status_errno(uint16_t sf)
{
	if (sf == 0)
		return 0;
	if (NVME_SF_SCT(sf) != NVME_SCT_GENERIC)
		return -EIO;
	switch (NVME_SF_SC(sf)) {
	case NVME_SC_DATA_XFER_ERROR:
		return -EFAULT;
	case NVME_SC_LBA_OUT_OF_RANGE:
		return -ERANGE;
	case NVME_SC_INVALID_NS:
		return -ENXIO;
	case NVME_SC_INVALID_OPCODE:
		return -EOPNOTSUPP;
	case NVME_SC_INVALID_FIELD:
	case NVME_SC_INVALID_PRP_OFFSET:
		return -EINVAL;
	case NVME_SC_ABORT_REQUESTED:
	case NVME_SC_ABORTED_SQ_DELETION:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

static int reg_read32(struct svio_nvme_ctrlr *c, uint64_t off, uint32_t *v)
{
	return svio_reg_read32(c->dev, 0, off, v);
}

static int reg_write32(struct svio_nvme_ctrlr *c, uint64_t off, uint32_t v)
{
	return svio_reg_write32(c->dev, 0, off, v);
}

/* Wait until CSTS.RDY equals @p rdy, within CAP.TO. */
static int wait_ready(struct svio_nvme_ctrlr *c, bool rdy)
{
	uint64_t deadline = nvme_now_us() + c->ready_timeout_us;
	unsigned int spins = 0;
	uint32_t csts;
	int rc;

	for (;;) {
		rc = reg_read32(c, NVME_REG_CSTS, &csts);
		if (rc < 0)
			return rc;
		if (!!(csts & NVME_CSTS_RDY) == rdy)
			return 0;
		if (rdy && (csts & NVME_CSTS_CFS)) {
			NVME_LOG(ERR, "%s: controller reported fatal status while enabling",
				 c->dev->name);
			return -EIO;
		}
		if (nvme_now_us() > deadline) {
			NVME_LOG(ERR, "%s: CSTS.RDY did not become %d within %" PRIu64 " ms",
				 c->dev->name, rdy, c->ready_timeout_us / 1000);
			return -ETIMEDOUT;
		}
		backoff(&spins);
	}
}

static int ctrlr_disable(struct svio_nvme_ctrlr *c)
{
	uint32_t cc = 0, csts = 0;
	int rc;

	rc = reg_read32(c, NVME_REG_CC, &cc);
	if (rc == 0)
		rc = reg_read32(c, NVME_REG_CSTS, &csts);
	if (rc < 0)
		return rc;
	if (!(cc & NVME_CC_EN) && !(csts & NVME_CSTS_RDY))
		return 0;
	/* EN 1 -> 0 with RDY still 0 would be undefined: let enabling finish first. */
	if ((cc & NVME_CC_EN) && !(csts & NVME_CSTS_RDY) && !(csts & NVME_CSTS_CFS))
		wait_ready(c, true);
	rc = reg_write32(c, NVME_REG_CC, cc & ~NVME_CC_EN);
	if (rc < 0)
		return rc;
	return wait_ready(c, false);
}

/* Program the admin queue and enable; the controller must be disabled. */
static int ctrlr_enable(struct svio_nvme_ctrlr *c)
{
	uint32_t cc = NVME_CC_EN | NVME_CC_MAKE_IOSQES(NVME_SQES_LOG2) |
		      NVME_CC_MAKE_IOCQES(NVME_CQES_LOG2);
	int rc;

	memset(c->asq_mem.va, 0, c->asq_mem.len);
	memset(c->acq_mem.va, 0, c->acq_mem.len);
	c->asq_tail = 0;
	c->acq_head = 0;
	c->aphase = 1;
	rc = reg_write32(c, NVME_REG_AQA, NVME_AQA(NVME_ADMIN_DEPTH - 1, NVME_ADMIN_DEPTH - 1));
	if (rc == 0)
		rc = svio_reg_write64(c->dev, 0, NVME_REG_ASQ, c->asq_mem.iova);
	if (rc == 0)
		rc = svio_reg_write64(c->dev, 0, NVME_REG_ACQ, c->acq_mem.iova);
	if (rc == 0)
		rc = reg_write32(c, NVME_REG_CC, cc);
	if (rc < 0)
		return rc;
	return wait_ready(c, true);
}

int nvme_admin_locked(struct svio_nvme_ctrlr *c, struct nvme_sqe *sqe, struct svio_nvme_cpl *cpl)
{
	struct nvme_sqe *asq = c->asq_mem.va;
	struct nvme_cqe *acq = c->acq_mem.va;
	uint64_t deadline = nvme_now_us() + NVME_ADMIN_TIMEOUT;
	unsigned int spins = 0;
	uint16_t cid = c->acid++;
	int rc;

	memset(cpl, 0, sizeof(*cpl));
	if (atomic_load(&c->failed))
		return -ENODEV;
	sqe->cid = cid;
	asq[c->asq_tail] = *sqe;
	c->asq_tail = (c->asq_tail + 1) % NVME_ADMIN_DEPTH;
	rte_io_wmb(); /* the entry is in memory before the doorbell */
	rc = reg_write32(c, nvme_sq_doorbell(0, c->dstrd), c->asq_tail);
	if (rc < 0)
		return rc;
	for (;;) {
		struct nvme_cqe *e = &acq[c->acq_head];
		uint16_t st = __atomic_load_n(&e->status, __ATOMIC_ACQUIRE);

		if ((st & NVME_CQE_PHASE) == c->aphase) {
			uint16_t ecid = e->cid;

			cpl->cdw0 = e->cdw0;
			if (++c->acq_head == NVME_ADMIN_DEPTH) {
				c->acq_head = 0;
				c->aphase ^= 1;
			}
			reg_write32(c, nvme_cq_doorbell(0, c->dstrd), c->acq_head);
			if (ecid != cid)
				continue; /* a late completion of a command we gave up on */
			cpl->status = NVME_CQE_SF(st);
			cpl->rc = nvme_status_errno(cpl->status);
			return cpl->rc == 0 ? 0 : -EIO;
		}
		if (nvme_now_us() > deadline) {
			uint32_t csts = 0;

			reg_read32(c, NVME_REG_CSTS, &csts);
			NVME_LOG(ERR, "%s: admin command 0x%02x timed out (CSTS 0x%x)",
				 c->dev->name, sqe->opc, csts);
			cpl->rc = -ETIMEDOUT;
			return -ETIMEDOUT;
		}
		/* A controller in fatal status answers nothing: no need to wait it out. */
		if ((spins & 255) == 255) {
			uint32_t csts = 0;

			if (reg_read32(c, NVME_REG_CSTS, &csts) == 0 && (csts & NVME_CSTS_CFS)) {
				/* The caller resets, or gives up on the controller. */
				cpl->rc = -EIO;
				return -ENODEV;
			}
		}
		backoff(&spins);
	}
}

/* Admin command with data through the admin buffer (len <= NVME_ADMIN_BUF). */
static int admin_data(struct svio_nvme_ctrlr *c, struct nvme_sqe *sqe, void *buf, size_t len,
		      struct svio_nvme_cpl *cpl)
{
	int rc;

	if (len > NVME_ADMIN_BUF)
		return -EINVAL;
	if (len > 0) {
		sqe->prp1 = c->abuf_mem.iova;
		sqe->prp2 = len > NVME_PAGE_SIZE ? c->abuf_mem.iova + NVME_PAGE_SIZE : 0;
		if (sqe->opc & 1)
			memcpy(c->abuf_mem.va, buf, len);
		else
			memset(c->abuf_mem.va, 0, len);
	}
	rc = nvme_admin_locked(c, sqe, cpl);
	if (rc == 0 && len > 0 && (sqe->opc & 2))
		memcpy(buf, c->abuf_mem.va, len);
	return rc;
}

int svio_nvme_admin_cmd(struct svio_nvme_ctrlr *ctrlr, const struct nvme_sqe *cmd, void *buf,
			size_t len, struct svio_nvme_cpl *cpl)
{
	struct svio_nvme_cpl dummy;
	struct nvme_sqe sqe;
	int rc;

	if (ctrlr == NULL || cmd == NULL || len > NVME_ADMIN_BUF || (len > 0 && buf == NULL))
		return -EINVAL;
	sqe = *cmd;
	pthread_mutex_lock(&ctrlr->admin_lock);
	rc = admin_data(ctrlr, &sqe, buf, len, cpl != NULL ? cpl : &dummy);
	pthread_mutex_unlock(&ctrlr->admin_lock);
	if (rc == -ENODEV && !atomic_load(&ctrlr->failed)) {
		/* Fatal status seen: recover now; the caller may retry the command. */
		NVME_LOG(ERR, "%s: controller fatal status during an admin command",
			 ctrlr->dev->name);
		svio_nvme_ctrlr_reset(ctrlr);
		rc = -EIO;
	}
	return rc;
}

static void copy_trim(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t n = srclen < dstlen - 1 ? srclen : dstlen - 1;

	memcpy(dst, src, n);
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
		n--;
	dst[n] = '\0';
}

static int identify(struct svio_nvme_ctrlr *c, uint8_t cns, uint32_t nsid, void *buf)
{
	struct nvme_sqe sqe = { .opc = NVME_ADM_IDENTIFY, .nsid = nsid, .cdw10 = cns };
	struct svio_nvme_cpl cpl;

	return admin_data(c, &sqe, buf, NVME_IDENTIFY_SIZE, &cpl);
}

static int set_num_queues(struct svio_nvme_ctrlr *c)
{
	struct nvme_sqe sqe = {
		.opc = NVME_ADM_SET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES,
		.cdw11 = (63u << 16) | 63u,
	};
	struct svio_nvme_cpl cpl;
	uint32_t nsq, ncq;
	int rc;

	rc = nvme_admin_locked(c, &sqe, &cpl);
	if (rc < 0)
		return rc;
	nsq = (cpl.cdw0 & 0xffff) + 1;
	ncq = (cpl.cdw0 >> 16) + 1;
	c->info.max_qpairs = nsq < ncq ? nsq : ncq;
	if (c->info.max_qpairs > 64)
		c->info.max_qpairs = 64;
	return 0;
}

/*
 * Read the active LBA format whole into @p ni. @return true when the driver
 * can drive it; otherwise say once, naming the format, why not.
 */
static bool ns_format(struct svio_nvme_ctrlr *c, const struct nvme_id_ns *id, uint32_t nsid,
		      struct svio_nvme_ns_info *ni)
{
	unsigned int fmt = NVME_FLBAS_FMT(id->flbas);
	const struct nvme_lbaf *lf = &id->lbaf[fmt];
	const char *why = NULL;
	char desc[112];

	memset(ni, 0, sizeof(*ni));
	ni->nsid = nsid;
	ni->nblocks = id->nsze;
	ni->lbaf = (uint8_t)fmt;
	ni->md_size = lf->ms;
	ni->md_extended = lf->ms != 0 && (id->flbas & NVME_FLBAS_EXTENDED);
	ni->pi_type = NVME_DPS_PIT(id->dps);
	ni->lba_size = lf->lbads >= 9 && lf->lbads <= 16 ? 1u << lf->lbads : 0;
	ni->block_size = ni->lba_size + (ni->md_extended ? ni->md_size : 0);
	snprintf(desc, sizeof(desc), "LBA format %u (%u-byte data, %u-byte %s metadata%s)", fmt,
		 ni->lba_size, ni->md_size,
		 ni->md_size == 0  ? "no"
		 : ni->md_extended ? "extended"
				   : "separate",
		 ni->pi_type != 0 ? ", protection information" : "");
	if (fmt > id->nlbaf || ni->lba_size == 0)
		why = "not a valid format (LBADS below 9 or above 16, or beyond NLBAF)";
	else if (ni->md_size != 0 && !ni->md_extended)
		why = "metadata in a separate buffer (MPTR) is not supported: format the "
		      "namespace with extended LBAs (metadata in the block) or without metadata";
	else if (ni->pi_type != 0)
		why = "protection information is not supported (the driver sends no PRINFO): "
		      "format the namespace with PI off";
	else if (ni->block_size > c->info.max_xfer)
		why = "a block is larger than the controller's maximum transfer";
	ni->max_nlb = ni->block_size != 0 ? c->info.max_xfer / ni->block_size : 0;
	if (ni->max_nlb > NVME_RW_NLB_MAX)
		ni->max_nlb = NVME_RW_NLB_MAX;
	if (why == NULL)
		return true;
	NVME_LOG(ERR, "%s: namespace %u: %s: %s; namespace not used", c->dev->name, nsid, desc,
		 why);
	return false;
}

/* ---- the ns= devarg: which namespaces the application gets ---- */

static bool ns_selected(const struct svio_nvme_ctrlr *c, uint32_t nsid)
{
	unsigned int i;

	if (c->num_ns_sel == 0)
		return true;
	for (i = 0; i < c->num_ns_sel; i++) {
		if (c->ns_sel[i] == nsid)
			return true;
	}
	return false;
}

/*
 * ns=ID or ns=[ID,ID,...] (the bracketed list form of DPDK's devargs): the
 * namespaces the controller exposes. Checked before the controller is
 * touched; whether they exist is checked after Identify.
 */
static int ns_select_parse(struct svio_nvme_ctrlr *c)
{
	const char *arg = svio_dev_arg(c->dev, "ns");
	const char *s;
	bool list;

	c->num_ns_sel = 0;
	if (arg == NULL)
		return 0;
	list = arg[0] == '[';
	s = list ? arg + 1 : arg;
	for (;;) {
		unsigned long long v;
		unsigned int i;
		char *end;

		if (*s < '0' || *s > '9')
			goto bad;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno != 0 || v == 0 || v > NVME_NSID_MAX)
			goto bad;
		for (i = 0; i < c->num_ns_sel; i++) {
			if (c->ns_sel[i] == v) {
				NVME_LOG(ERR, "%s: ns=%s: namespace %llu is named twice",
					 c->dev->name, arg, v);
				return -EINVAL;
			}
		}
		if (c->num_ns_sel == NVME_MAX_NS) {
			NVME_LOG(ERR, "%s: ns=%s: at most %u namespaces a controller", c->dev->name,
				 arg, NVME_MAX_NS);
			return -EINVAL;
		}
		c->ns_sel[c->num_ns_sel++] = (uint32_t)v;
		s = end;
		if (list && *s == ',')
			s++;
		else if ((list && strcmp(s, "]") == 0) || (!list && *s == '\0'))
			return 0;
		else
			goto bad;
	}
bad:
	NVME_LOG(ERR,
		 "%s: ns=%s: expected a namespace id (1..%u) or a list of them in brackets "
		 "(ns=[1,3])",
		 c->dev->name, arg, NVME_NSID_MAX);
	c->num_ns_sel = 0;
	return -EINVAL;
}

/* Every namespace ns= names must be one Identify found. */
static int ns_select_check(struct svio_nvme_ctrlr *c, const uint32_t *active)
{
	unsigned int i, j;

	for (i = 0; i < c->num_ns_sel; i++) {
		char have[128] = "";
		size_t off = 0;
		bool found = false;

		for (j = 0; j < c->info.num_ns; j++)
			found |= c->ns[j].nsid == c->ns_sel[i];
		for (j = 0; j < c->num_refused; j++)
			found |= c->refused[j].nsid == c->ns_sel[i];
		if (found)
			continue;
		for (j = 0; j < 1024 && active[j] != 0 && off < sizeof(have) - 12; j++)
			off += (size_t)snprintf(have + off, sizeof(have) - off, " %u", active[j]);
		NVME_LOG(ERR, "%s: ns=%s: the controller has no active namespace %u (it has%s)",
			 c->dev->name, svio_dev_arg(c->dev, "ns"), c->ns_sel[i],
			 off > 0 ? have : " none");
		return -EINVAL;
	}
	return 0;
}

static int identify_all(struct svio_nvme_ctrlr *c)
{
	static struct nvme_id_ctrlr id; /* probe runs on the main lcore: one at a time */
	static uint32_t list[1024];
	unsigned int i;
	int rc;

	rc = identify(c, NVME_CNS_CTRLR, 0, &id);
	if (rc < 0)
		return rc;
	copy_trim(c->info.sn, sizeof(c->info.sn), id.sn, sizeof(id.sn));
	copy_trim(c->info.mn, sizeof(c->info.mn), id.mn, sizeof(id.mn));
	copy_trim(c->info.fr, sizeof(c->info.fr), id.fr, sizeof(id.fr));
	c->info.nn = id.nn;
	c->info.vwc = id.vwc & 1;
	c->info.write_zeroes = id.oncs & NVME_ONCS_WRITE_ZEROES;
	c->info.dsm = id.oncs & NVME_ONCS_DSM;
	c->info.max_xfer = NVME_MAX_XFER;
	if (id.mdts != 0 && id.mdts < 20 && (NVME_PAGE_SIZE << id.mdts) < NVME_MAX_XFER)
		c->info.max_xfer = NVME_PAGE_SIZE << id.mdts;

	rc = identify(c, NVME_CNS_ACTIVE_NSID, 0, list);
	if (rc < 0)
		return rc;
	c->info.num_ns = 0;
	c->num_refused = 0;
	for (i = 0; i < 1024 && list[i] != 0 && c->info.num_ns + c->num_refused < NVME_MAX_NS;
	     i++) {
		static struct nvme_id_ns ns;
		struct svio_nvme_ns_info ni;

		if (!ns_selected(c, list[i]))
			continue;
		rc = identify(c, NVME_CNS_NS, list[i], &ns);
		if (rc < 0)
			return rc;
		if (ns.nsze == 0)
			continue;
		if (ns_format(c, &ns, list[i], &ni))
			c->ns[c->info.num_ns++] = ni;
		else
			c->refused[c->num_refused++] = ni;
	}
	return ns_select_check(c, list);
}

/* Bring a disabled controller up: enable, features. admin_lock held. */
static int ctrlr_start(struct svio_nvme_ctrlr *c)
{
	int rc = ctrlr_enable(c);

	if (rc == 0)
		rc = set_num_queues(c);
	return rc;
}

int svio_nvme_ctrlr_reset(struct svio_nvme_ctrlr *c)
{
	int rc;

	if (c == NULL)
		return -EINVAL;
	pthread_mutex_lock(&c->admin_lock);
	if (atomic_load(&c->failed)) {
		pthread_mutex_unlock(&c->admin_lock);
		return -ENODEV;
	}
	atomic_fetch_add(&c->gen, 1); /* odd: queue pairs hold off */
	NVME_LOG(NOTICE, "%s: resetting the controller", c->dev->name);
	/* Fault point: tests make a controller that does not come back. */
	rc = nvme_fail_point() ? -ETIMEDOUT : ctrlr_disable(c);
	if (rc == 0)
		rc = ctrlr_start(c);
	if (rc < 0) {
		NVME_LOG(ERR, "%s: reset failed (%s): controller marked failed", c->dev->name,
			 strerror(-rc));
		atomic_store(&c->failed, true);
	}
	atomic_fetch_add(&c->resets, 1);
	atomic_fetch_add_explicit(&c->gen, 1, memory_order_release);
	pthread_mutex_unlock(&c->admin_lock);
	return rc;
}

uint64_t svio_nvme_ctrlr_resets(const struct svio_nvme_ctrlr *c)
{
	return c != NULL ? atomic_load(&((struct svio_nvme_ctrlr *)c)->resets) : 0;
}

uint64_t svio_nvme_ctrlr_unmap_failures(const struct svio_nvme_ctrlr *c)
{
	return c != NULL ? atomic_load(&((struct svio_nvme_ctrlr *)c)->unmap_failures) : 0;
}

int nvme_qpair_create_queues(struct svio_nvme_ctrlr *c, struct svio_nvme_qpair *qp)
{
	struct nvme_sqe cq = {
		.opc = NVME_ADM_CREATE_CQ,
		.prp1 = qp->cq_mem.iova,
		.cdw10 = ((qp->qsize - 1) << 16) | qp->qid,
		.cdw11 = NVME_QUEUE_PC,
	};
	struct nvme_sqe sq = {
		.opc = NVME_ADM_CREATE_SQ,
		.prp1 = qp->sq_mem.iova,
		.cdw10 = ((qp->qsize - 1) << 16) | qp->qid,
		.cdw11 = ((uint32_t)qp->qid << 16) | NVME_QUEUE_PC,
	};
	struct nvme_sqe del = { .opc = NVME_ADM_DELETE_CQ, .cdw10 = qp->qid };
	struct svio_nvme_cpl cpl = { 0 };
	int rc;

	rc = nvme_fail_point() ? -EIO : nvme_admin_locked(c, &cq, &cpl);
	if (rc < 0) {
		NVME_LOG(ERR, "%s: Create I/O CQ %u failed: status 0x%x", c->dev->name, qp->qid,
			 cpl.status);
		return rc;
	}
	rc = nvme_fail_point() ? -EIO : nvme_admin_locked(c, &sq, &cpl);
	if (rc < 0) {
		NVME_LOG(ERR, "%s: Create I/O SQ %u failed: status 0x%x", c->dev->name, qp->qid,
			 cpl.status);
		nvme_admin_locked(c, &del, &cpl);
	}
	return rc;
}

/* ---- lookup and info ---- */

struct svio_nvme_ctrlr *svio_nvme_ctrlr_get(const char *name)
{
	struct svio_device *dev = name != NULL ? svio_dev_find(name) : NULL;

	if (dev == NULL || dev->driver != &nvme_driver)
		return NULL;
	return dev->driver_priv;
}

struct svio_nvme_ctrlr *svio_nvme_ctrlr_next(const struct svio_nvme_ctrlr *prev)
{
	struct svio_device *dev = prev != NULL ? prev->dev : NULL;

	while ((dev = svio_dev_next(dev)) != NULL) {
		if (dev->driver == &nvme_driver && dev->driver_priv != NULL)
			return dev->driver_priv;
	}
	return NULL;
}

struct svio_device *svio_nvme_ctrlr_device(const struct svio_nvme_ctrlr *c)
{
	return c != NULL ? c->dev : NULL;
}

int svio_nvme_ctrlr_info_get(const struct svio_nvme_ctrlr *c, struct svio_nvme_ctrlr_info *info)
{
	if (c == NULL || info == NULL)
		return -EINVAL;
	*info = c->info;
	return 0;
}

int svio_nvme_ns_info_get(const struct svio_nvme_ctrlr *c, uint32_t nsid,
			  struct svio_nvme_ns_info *info)
{
	unsigned int i;

	if (c == NULL || info == NULL)
		return -EINVAL;
	for (i = 0; i < c->info.num_ns; i++) {
		if (c->ns[i].nsid == nsid) {
			*info = c->ns[i];
			return 0;
		}
	}
	for (i = 0; i < c->num_refused; i++) {
		if (c->refused[i].nsid == nsid) {
			*info = c->refused[i];
			return -ENOTSUP;
		}
	}
	return -ENXIO;
}

uint32_t svio_nvme_ns_next(const struct svio_nvme_ctrlr *c, uint32_t prev)
{
	uint32_t best = 0;
	unsigned int i;

	if (c == NULL)
		return 0;
	for (i = 0; i < c->info.num_ns; i++) {
		if (c->ns[i].nsid > prev && (best == 0 || c->ns[i].nsid < best))
			best = c->ns[i].nsid;
	}
	return best;
}

int svio_nvme_ctrlr_set_timeout(struct svio_nvme_ctrlr *c, uint64_t timeout_us)
{
	if (c == NULL || timeout_us > 3600ull * 1000000)
		return -EINVAL;
	atomic_store(&c->timeout_tsc, nvme_us_to_tsc(timeout_us));
	return 0;
}

/* ---- probe, remove ---- */

static void ctrlr_shutdown(struct svio_nvme_ctrlr *c)
{
	uint64_t deadline = nvme_now_us() + c->ready_timeout_us;
	unsigned int spins = 0;
	uint32_t cc = 0, csts = 0;

	if (reg_read32(c, NVME_REG_CC, &cc) < 0 || !(cc & NVME_CC_EN))
		return;
	if (reg_read32(c, NVME_REG_CSTS, &csts) == 0 && !(csts & NVME_CSTS_CFS)) {
		reg_write32(c, NVME_REG_CC, (cc & ~(3u << 14)) | NVME_CC_SHN_NORMAL);
		while (reg_read32(c, NVME_REG_CSTS, &csts) == 0 &&
		       (csts & NVME_CSTS_SHST_MASK) != NVME_CSTS_SHST_COMPLETE &&
		       nvme_now_us() < deadline)
			backoff(&spins);
	}
	ctrlr_disable(c);
}

static void ctrlr_free(struct svio_nvme_ctrlr *c)
{
	nvme_dma_free(c->dom, &c->abuf_mem);
	nvme_dma_free(c->dom, &c->acq_mem);
	nvme_dma_free(c->dom, &c->asq_mem);
	if (c->attached)
		svio_domain_detach(c->dom, c->dev);
	pthread_mutex_destroy(&c->admin_lock);
	free(c);
}

static int nvme_probe(struct svio_driver *drv, struct svio_device *dev)
{
	struct svio_domain *dom = svio_domain_default();
	struct svio_nvme_ctrlr *c;
	uint32_t vs = 0;
	int rc;

	(void)drv;
	if (dom == NULL) {
		NVME_LOG(ERR, "%s: no process IOMMU domain (svio_eal_init() creates it)",
			 dev->name);
		return -ENODEV;
	}
	c = nvme_fail_point() ? NULL : calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->dev = dev;
	c->dom = dom;
	pthread_mutex_init(&c->admin_lock, NULL);
	TAILQ_INIT(&c->qpairs);
	atomic_store(&c->timeout_tsc, nvme_us_to_tsc(NVME_DEFAULT_TIMEOUT));
	snprintf(c->info.name, sizeof(c->info.name), "%s", dev->name);
	rc = ns_select_parse(c);
	if (rc < 0)
		goto out_free;

	rc = svio_reg_read64(dev, 0, NVME_REG_CAP, &c->cap);
	if (rc == 0)
		rc = reg_read32(c, NVME_REG_VS, &vs);
	if (rc < 0)
		goto out_free;
	c->info.version = vs;
	if (NVME_CAP_MPSMIN(c->cap) != 0 || !(c->cap & NVME_CAP_CSS_NVM)) {
		NVME_LOG(ERR, "%s: CAP 0x%" PRIx64 ": needs 4 KiB pages and the NVM command set",
			 dev->name, c->cap);
		rc = -ENOTSUP;
		goto out_free;
	}
	c->dstrd = NVME_CAP_DSTRD(c->cap);
	c->mqes = NVME_CAP_MQES(c->cap) + 1;
	c->info.max_depth = c->mqes - 1;
	c->ready_timeout_us = (NVME_CAP_TO(c->cap) ? NVME_CAP_TO(c->cap) : 1) * 500000ull;

	/* The device must reach its queues before it is enabled. */
	rc = nvme_fail_point() ? -ENOSPC : svio_domain_attach(dom, dev);
	if (rc < 0 && rc != -EEXIST) {
		NVME_LOG(ERR, "%s: cannot attach to the process domain: %s", dev->name,
			 strerror(-rc));
		goto out_free;
	}
	c->attached = rc == 0;
	rc = nvme_dma_alloc(dom, NVME_ADMIN_DEPTH * sizeof(struct nvme_sqe), &c->asq_mem);
	if (rc == 0)
		rc = nvme_dma_alloc(dom, NVME_ADMIN_DEPTH * sizeof(struct nvme_cqe), &c->acq_mem);
	if (rc == 0)
		rc = nvme_dma_alloc(dom, NVME_ADMIN_BUF, &c->abuf_mem);
	if (rc < 0)
		goto out_free;

	pthread_mutex_lock(&c->admin_lock);
	rc = nvme_fail_point() ? -ETIMEDOUT : ctrlr_disable(c);
	if (rc == 0)
		rc = nvme_fail_point() ? -ETIMEDOUT : ctrlr_start(c);
	if (rc == 0)
		rc = nvme_fail_point() ? -EIO : identify_all(c);
	pthread_mutex_unlock(&c->admin_lock);
	if (rc < 0) {
		NVME_LOG(ERR, "%s: controller initialisation failed: %s", dev->name, strerror(-rc));
		goto out_disable;
	}
	dev->driver_priv = c;
	NVME_LOG(INFO, "%s: %s sn %s, %u namespace(s), %u I/O queue pairs, max transfer %u",
		 dev->name, c->info.mn, c->info.sn, c->info.num_ns, c->info.max_qpairs,
		 c->info.max_xfer);
	return 0;

out_disable:
	ctrlr_disable(c);
out_free:
	ctrlr_free(c);
	return rc;
}

static int nvme_remove(struct svio_device *dev)
{
	struct svio_nvme_ctrlr *c = dev->driver_priv;
	struct svio_nvme_qpair *qp;

	if (c == NULL)
		return 0;
	/* Queue pairs the application did not free go with the controller. */
	while ((qp = TAILQ_FIRST(&c->qpairs)) != NULL)
		svio_nvme_qpair_free(qp);
	ctrlr_shutdown(c);
	dev->driver_priv = NULL;
	ctrlr_free(c);
	return 0;
}

/* ns=: the namespaces the application gets (default every active one). */
static const char *const nvme_driver_devargs[] = { "ns", NULL };

struct svio_driver nvme_driver = {
	.name = "nvme",
	.kind = SVIO_DEV_KIND_NVME,
	.name_prefix = NULL, /* built-in and PCI NVMe controllers alike */
	.devargs = nvme_driver_devargs,
	.probe = nvme_probe,
	.remove = nvme_remove,
};
