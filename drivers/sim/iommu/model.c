/* SPDX-License-Identifier: BSD-3-Clause */
/* The IOMMU model: configuration, instances and the register file. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>

#include "iommu_priv.h"

RTE_LOG_REGISTER_SUFFIX(sim_iommu_logtype, sim.iommu, INFO);

static const char *const sim_iommu_devargs[] = {
	"mode",	       "iotlb",	      "iotlb_ways",  "atc",	    "atc_ways",
	"cost_iotlb",  "cost_devtlb", "cost_wait",   "cost_submit", "cost_other",
	"domains",     "pasid_bits",  "mamv",	     "ats",	    "pri",
	"prq_timeout", "user",	      "stale_check", "lose_inv",    NULL,
};

static struct sim_iommu *instances[SIM_IOMMU_MAX_INSTANCES];

uint64_t sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sim_spend_ns(uint64_t ns)
{
	uint64_t end;

	if (ns == 0)
		return;
	end = sim_now_ns() + ns;
	while (sim_now_ns() < end)
		rte_pause();
}

struct sim_iommu *sim_iommu_get(unsigned int index)
{
	if (index >= SIM_IOMMU_MAX_INSTANCES)
		return NULL;
	return __atomic_load_n(&instances[index], __ATOMIC_ACQUIRE);
}

struct svio_device *sim_iommu_instance(unsigned int index)
{
	struct sim_iommu *m = sim_iommu_get(index);

	return m != NULL ? m->dev : NULL;
}

uint64_t sim_iommu_counter(struct svio_device *iommu_dev, enum sim_iommu_ctr ctr)
{
	struct sim_iommu *m = sim_dev_priv(iommu_dev);

	if (m == NULL || (unsigned int)ctr >= SIM_IOMMU_CTR_COUNT)
		return 0;
	return __atomic_load_n(&m->ctr[ctr], __ATOMIC_RELAXED);
}

void sim_iommu_flush_caches(struct svio_device *iommu_dev)
{
	struct sim_iommu *m = sim_dev_priv(iommu_dev);
	struct sim_inv_match all = { .any_did = true, .any_pasid = true, .any_addr = true };
	unsigned int bus, devfn;

	pthread_spin_lock(&m->cache_lock);
	sim_tlb_invalidate(m, &m->iotlb, &all);
	for (bus = 0; bus < 256; bus++) {
		if (m->atc_dir[bus] == NULL)
			continue;
		for (devfn = 0; devfn < 256; devfn++) {
			if (m->atc_dir[bus][devfn] != NULL)
				sim_tlb_invalidate(m, &m->atc_dir[bus][devfn]->tlb, &all);
		}
	}
	pthread_spin_unlock(&m->cache_lock);
}

/* Read an unsigned devarg bounded to [min, max]; errors name the key and the range. */
static int arg_range(struct svio_device *dev, const char *key, uint64_t min, uint64_t max,
		     uint64_t *val)
{
	int rc = svio_dev_arg_u64(dev, key, val);

	if (rc < 0)
		return rc;
	if (*val < min || *val > max) {
		SIM_IOMMU_LOG(ERR,
			      "%s: %s=%" PRIu64 " is out of range (expected %" PRIu64 "..%" PRIu64
			      ")",
			      dev->name, key, *val, min, max);
		return -EINVAL;
	}
	return 0;
}

static bool is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static int parse_config(struct sim_iommu *m, struct svio_device *dev, unsigned int *iotlb,
			unsigned int *iotlb_ways)
{
	static const char *const cost_keys[SIM_COST_COUNT] = {
		[SIM_COST_IOTLB] = "cost_iotlb", [SIM_COST_DEVTLB] = "cost_devtlb",
		[SIM_COST_WAIT] = "cost_wait",	 [SIM_COST_SUBMIT] = "cost_submit",
		[SIM_COST_OTHER] = "cost_other",
	};
	static const uint64_t cost_defaults[SIM_COST_COUNT] = {
		[SIM_COST_IOTLB] = 100,	 [SIM_COST_DEVTLB] = 1000, [SIM_COST_WAIT] = 500,
		[SIM_COST_SUBMIT] = 200, [SIM_COST_OTHER] = 100,
	};
	uint64_t v, nd = 4, pasid_bits = 20, mamv = 9, tmo_ms = 1000;
	bool ats = true, pri = true;
	const char *mode = svio_dev_arg(dev, "mode");
	unsigned int i;
	int rc;

	m->thread_mode = false;
	if (mode != NULL) {
		if (strcmp(mode, "thread") == 0) {
			m->thread_mode = true;
		} else if (strcmp(mode, "inline") != 0) {
			SIM_IOMMU_LOG(ERR, "%s: mode=%s is not a mode (expected inline or thread)",
				      dev->name, mode);
			return -EINVAL;
		}
	}
	for (i = 0; i < SIM_COST_COUNT; i++) {
		v = cost_defaults[i];
		rc = arg_range(dev, cost_keys[i], 0, 1000000000, &v);
		if (rc < 0)
			return rc;
		m->cost_ns[i] = v;
	}
	v = 512;
	rc = arg_range(dev, "iotlb", 1, 1 << 20, &v);
	if (rc < 0)
		return rc;
	*iotlb = (unsigned int)v;
	v = 8;
	rc = arg_range(dev, "iotlb_ways", 1, 64, &v);
	if (rc < 0)
		return rc;
	*iotlb_ways = (unsigned int)v;
	v = 64;
	rc = arg_range(dev, "atc", 1, 1 << 16, &v);
	if (rc < 0)
		return rc;
	m->atc_entries = (unsigned int)v;
	v = 4;
	rc = arg_range(dev, "atc_ways", 1, 64, &v);
	if (rc < 0)
		return rc;
	m->atc_ways = (unsigned int)v;
	if (*iotlb % *iotlb_ways != 0 || !is_pow2(*iotlb / *iotlb_ways)) {
		SIM_IOMMU_LOG(ERR, "%s: iotlb=%u with iotlb_ways=%u: sets must be a power of two",
			      dev->name, *iotlb, *iotlb_ways);
		return -EINVAL;
	}
	if (m->atc_entries % m->atc_ways != 0 || !is_pow2(m->atc_entries / m->atc_ways)) {
		SIM_IOMMU_LOG(ERR, "%s: atc=%u with atc_ways=%u: sets must be a power of two",
			      dev->name, m->atc_entries, m->atc_ways);
		return -EINVAL;
	}
	/* domains=N: the CAP.ND encoding, 1 << (4 + 2 * N) domain ids. */
	rc = arg_range(dev, "domains", 0, 6, &nd);
	if (rc == 0)
		rc = arg_range(dev, "pasid_bits", 0, 20, &pasid_bits);
	if (rc == 0)
		rc = arg_range(dev, "mamv", 0, 63, &mamv);
	if (rc == 0)
		rc = arg_range(dev, "prq_timeout", 1, 600000, &tmo_ms);
	if (rc == 0)
		rc = svio_dev_arg_bool(dev, "ats", &ats);
	if (rc == 0)
		rc = svio_dev_arg_bool(dev, "pri", &pri);
	m->user_check = true;
	m->stale_check = true;
	if (rc == 0)
		rc = svio_dev_arg_bool(dev, "user", &m->user_check);
	if (rc == 0)
		rc = svio_dev_arg_bool(dev, "stale_check", &m->stale_check);
	m->lose_inv_every = 0;
	if (rc == 0)
		rc = arg_range(dev, "lose_inv", 0, UINT32_MAX, &m->lose_inv_every);
	if (rc < 0)
		return rc;
	m->prq_timeout_ns = tmo_ms * 1000000ull;
	m->cap = nd | SIM_IOMMU_CAP_PSI | (mamv << SIM_IOMMU_CAP_MAMV_SHIFT) | SIM_IOMMU_CAP_FL1GP;
	m->ecap = SIM_IOMMU_ECAP_QI | SIM_IOMMU_ECAP_SMTS | SIM_IOMMU_ECAP_FLTS;
	if (pasid_bits > 0)
		m->ecap |= SIM_IOMMU_ECAP_PASID | ((pasid_bits - 1) << SIM_IOMMU_ECAP_PSS_SHIFT);
	if (ats)
		m->ecap |= SIM_IOMMU_ECAP_DT;
	if (pri)
		m->ecap |= SIM_IOMMU_ECAP_PRS;
	return 0;
}

static int sim_iommu_create(struct svio_device *dev)
{
	unsigned int iotlb, iotlb_ways;
	struct sim_iommu *m;
	int idx, rc;

	idx = sim_dev_index(dev);
	if (idx < 0 || idx >= SIM_IOMMU_MAX_INSTANCES) {
		SIM_IOMMU_LOG(ERR, "%s: instance number out of range (expected %s0..%s%d)",
			      dev->name, SIM_IOMMU_PREFIX, SIM_IOMMU_PREFIX,
			      SIM_IOMMU_MAX_INSTANCES - 1);
		return -EINVAL;
	}
	if (sim_iommu_get((unsigned int)idx) != NULL) {
		SIM_IOMMU_LOG(ERR, "%s: instance %d exists already", dev->name, idx);
		return -EEXIST;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->dev = dev;
	m->index = (unsigned int)idx;
	rc = parse_config(m, dev, &iotlb, &iotlb_ways);
	if (rc < 0)
		goto out_free;
	rc = sim_tlb_init(&m->iotlb, iotlb, iotlb_ways);
	if (rc < 0)
		goto out_free;
	pthread_mutex_init(&m->iq_lock, NULL);
	pthread_mutex_init(&m->thr_lock, NULL);
	pthread_cond_init(&m->thr_cond, NULL);
	pthread_mutex_init(&m->prq_lock, NULL);
	pthread_spin_init(&m->cache_lock, PTHREAD_PROCESS_PRIVATE);
	/* Interrupts start masked, like the hardware after reset. */
	m->fectl = SIM_IOMMU_ECTL_IM;
	m->pectl = SIM_IOMMU_ECTL_IM;
	if (m->thread_mode) {
		rc = sim_qi_start(m);
		if (rc < 0)
			goto out_locks;
	}
	dev->bus_priv = m;
	__atomic_store_n(&instances[idx], m, __ATOMIC_RELEASE);
	return 0;

out_locks:
	pthread_spin_destroy(&m->cache_lock);
	pthread_mutex_destroy(&m->prq_lock);
	pthread_cond_destroy(&m->thr_cond);
	pthread_mutex_destroy(&m->thr_lock);
	pthread_mutex_destroy(&m->iq_lock);
	sim_tlb_fini(&m->iotlb);
out_free:
	free(m);
	return rc;
}

static void sim_iommu_destroy(struct svio_device *dev)
{
	struct sim_iommu *m = sim_dev_priv(dev);

	if (m == NULL)
		return;
	__atomic_store_n(&instances[m->index], NULL, __ATOMIC_RELEASE);
	sim_qi_stop(m);
	sim_atc_free_all(m);
	sim_tlb_fini(&m->iotlb);
	pthread_spin_destroy(&m->cache_lock);
	pthread_mutex_destroy(&m->prq_lock);
	pthread_cond_destroy(&m->thr_cond);
	pthread_mutex_destroy(&m->thr_lock);
	pthread_mutex_destroy(&m->iq_lock);
	free(m);
	dev->bus_priv = NULL;
}

static bool reg_ok(unsigned int bar, uint64_t off, unsigned int width)
{
	return bar == 0 && (width == 4 || width == 8) && off % width == 0 &&
	       off + width <= SIM_IOMMU_BAR0_SIZE;
}

static uint64_t ld64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static uint32_t ld32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static int sim_iommu_reg_read(struct svio_device *dev, unsigned int bar, uint64_t off,
			      unsigned int width, uint64_t *val)
{
	struct sim_iommu *m = sim_dev_priv(dev);
	uint64_t v = 0;

	if (!reg_ok(bar, off, width))
		return -EINVAL;
	if (off >= SIM_IOMMU_REG_CTR_BASE) {
		unsigned int i = (unsigned int)(off - SIM_IOMMU_REG_CTR_BASE) / 8;

		if (i < SIM_IOMMU_CTR_COUNT)
			v = __atomic_load_n(&m->ctr[i], __ATOMIC_RELAXED);
		*val = width == 4 ? (uint32_t)v : v;
		return 0;
	}
	switch (off) {
	case SIM_IOMMU_REG_VER:
		v = SIM_IOMMU_VERSION;
		break;
	case SIM_IOMMU_REG_CAP:
		v = m->cap;
		break;
	case SIM_IOMMU_REG_ECAP:
		v = m->ecap;
		break;
	case SIM_IOMMU_REG_GSTS:
		v = ld32(&m->gsts);
		break;
	case SIM_IOMMU_REG_RTADDR:
		v = ld64(&m->rtaddr);
		break;
	case SIM_IOMMU_REG_FSTS:
		v = ld32(&m->fsts);
		break;
	case SIM_IOMMU_REG_FECTL:
		v = ld32(&m->fectl);
		break;
	case SIM_IOMMU_REG_IQH:
		v = ld64(&m->iqh);
		break;
	case SIM_IOMMU_REG_IQT:
		v = ld64(&m->iqt);
		break;
	case SIM_IOMMU_REG_IQA:
		v = ld64(&m->iqa);
		break;
	case SIM_IOMMU_REG_ICS:
		v = ld32(&m->ics);
		break;
	case SIM_IOMMU_REG_IQERCD:
		v = ld64(&m->iqercd);
		break;
	case SIM_IOMMU_REG_PQH:
		v = ld64(&m->pqh);
		break;
	case SIM_IOMMU_REG_PQT:
		v = ld64(&m->pqt);
		break;
	case SIM_IOMMU_REG_PQA:
		v = ld64(&m->pqa);
		break;
	case SIM_IOMMU_REG_PRS:
		v = ld32(&m->prs);
		break;
	case SIM_IOMMU_REG_PECTL:
		v = ld32(&m->pectl);
		break;
	default:
		v = 0; /* reserved: reads as zero */
		break;
	}
	*val = width == 4 ? (uint32_t)v : v;
	return 0;
}

/* GCMD: the driver writes the whole desired state; SRTP is a one-shot command. */
static void write_gcmd(struct sim_iommu *m, uint32_t cmd)
{
	uint32_t sts = ld32(&m->gsts);

	if (cmd & SIM_IOMMU_GCMD_SRTP) {
		__atomic_store_n(&m->root, ld64(&m->rtaddr), __ATOMIC_RELEASE);
		__atomic_fetch_or(&m->gsts, SIM_IOMMU_GSTS_RTPS, __ATOMIC_ACQ_REL);
	}
	if (!!(cmd & SIM_IOMMU_GCMD_QIE) != !!(sts & SIM_IOMMU_GSTS_QIES))
		sim_qi_enable(m, cmd & SIM_IOMMU_GCMD_QIE);
	if (cmd & SIM_IOMMU_GCMD_TE)
		__atomic_fetch_or(&m->gsts, SIM_IOMMU_GSTS_TES, __ATOMIC_ACQ_REL);
	else
		__atomic_fetch_and(&m->gsts, ~SIM_IOMMU_GSTS_TES, __ATOMIC_ACQ_REL);
}

static int sim_iommu_reg_write(struct svio_device *dev, unsigned int bar, uint64_t off,
			       unsigned int width, uint64_t val)
{
	struct sim_iommu *m = sim_dev_priv(dev);

	if (!reg_ok(bar, off, width))
		return -EINVAL;
	switch (off) {
	case SIM_IOMMU_REG_GCMD:
		write_gcmd(m, (uint32_t)val);
		break;
	case SIM_IOMMU_REG_RTADDR:
		__atomic_store_n(&m->rtaddr, val & ~0xfffull, __ATOMIC_RELEASE);
		break;
	case SIM_IOMMU_REG_FSTS:
		__atomic_fetch_and(&m->fsts, ~((uint32_t)val & SIM_IOMMU_FSTS_IQE),
				   __ATOMIC_ACQ_REL);
		break;
	case SIM_IOMMU_REG_FECTL:
		__atomic_store_n(&m->fectl, (uint32_t)val & SIM_IOMMU_ECTL_IM, __ATOMIC_RELEASE);
		break;
	case SIM_IOMMU_REG_IQT:
		sim_qi_write_tail(m, val);
		break;
	case SIM_IOMMU_REG_IQA:
		sim_qi_write_iqa(m, val);
		break;
	case SIM_IOMMU_REG_ICS:
		__atomic_fetch_and(&m->ics, ~((uint32_t)val & SIM_IOMMU_ICS_IWC), __ATOMIC_ACQ_REL);
		break;
	case SIM_IOMMU_REG_PQH:
		__atomic_store_n(&m->pqh, val & 0x7ffe0ull, __ATOMIC_RELEASE);
		break;
	case SIM_IOMMU_REG_PQA:
		sim_prq_write_pqa(m, val);
		break;
	case SIM_IOMMU_REG_PRS:
		__atomic_fetch_and(&m->prs,
				   ~((uint32_t)val & (SIM_IOMMU_PRS_PPR | SIM_IOMMU_PRS_PRO)),
				   __ATOMIC_ACQ_REL);
		break;
	case SIM_IOMMU_REG_PECTL:
		__atomic_store_n(&m->pectl, (uint32_t)val & SIM_IOMMU_ECTL_IM, __ATOMIC_RELEASE);
		break;
	case SIM_IOMMU_REG_CTR_RESET:
		for (unsigned int i = 0; i < SIM_IOMMU_CTR_COUNT; i++)
			__atomic_store_n(&m->ctr[i], 0, __ATOMIC_RELAXED);
		break;
	default:
		break; /* read-only or reserved: writes are ignored, like hardware */
	}
	return 0;
}

static const struct svio_dev_reg_ops sim_iommu_reg_ops = {
	.read = sim_iommu_reg_read,
	.write = sim_iommu_reg_write,
};

const struct sim_model sim_iommu_model = {
	.prefix = SIM_IOMMU_PREFIX,
	.kind = SVIO_DEV_KIND_IOMMU,
	.devargs = sim_iommu_devargs,
	.dma = false,
	.create = sim_iommu_create,
	.destroy = sim_iommu_destroy,
	.reg_ops = &sim_iommu_reg_ops,
};
