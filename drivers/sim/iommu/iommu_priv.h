/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private state of the IOMMU model. Only drivers/sim/iommu includes this.
 *
 * Lock order: iq_lock -> cache_lock, iq_lock -> prq_lock. cache_lock and
 * prq_lock are never held together, and no model lock is held while the
 * model raises an interrupt (the handler may post to the queue inline).
 * Registers are single atomics; compound register updates take iq_lock.
 */
#ifndef SIM_IOMMU_PRIV_H
#define SIM_IOMMU_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_log.h>
#include <rte_pause.h>

#include "sim_iommu.h"

extern int sim_iommu_logtype;
#define SIM_IOMMU_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, sim_iommu_logtype, "sim_iommu: " fmt "\n", ##__VA_ARGS__)

enum sim_cost {
	SIM_COST_IOTLB,	 /* IOTLB and PASID-based IOTLB */
	SIM_COST_DEVTLB, /* device-TLB kinds: an ATS round trip */
	SIM_COST_WAIT,
	SIM_COST_SUBMIT, /* one IQT doorbell */
	SIM_COST_OTHER,	 /* context / PASID cache, page response */
	SIM_COST_COUNT
};

/* One cached translation (IOTLB or device-TLB). */
struct sim_tlb_entry {
	uint64_t vbase; /* first address of the page */
	uint64_t pte;	/* leaf entry it came from */
	uint64_t root;	/* first-stage root it was walked from */
	uint64_t lru;
	uint64_t premark; /* seq of the first wait submitted after the PTE changed, 0: none */
	uint64_t stale;	  /* seq of the wait that completed with it stale, 0: not stale */
	uint32_t pasid;	  /* IOTLB: resolved PASID; ATC: request PASID or SIM_PASID_NONE */
	uint16_t did;	  /* IOTLB only */
	uint8_t shift;	  /* 12, 21 or 30 */
	uint8_t flags;	  /* SIM_TLB_* */
};

#define SIM_TLB_VALID 0x1
#define SIM_TLB_WRITE 0x2 /* effective R/W at every level */
#define SIM_TLB_USER  0x4 /* effective U/S at every level */

/* A set-associative translation cache with LRU replacement inside a set. */
struct sim_tlb {
	struct sim_tlb_entry *e;
	unsigned int sets;
	unsigned int ways;
	uint64_t tick;
	unsigned int valid; /* entries in use */
};

/* Device-TLB of one ATS device, found by source id. */
struct sim_atc {
	uint32_t sid;
	struct sim_tlb tlb;
};

/* What the context and PASID tables say about (sid, pasid). */
struct sim_ctx {
	uint64_t root;	/* first-stage table */
	uint32_t pasid; /* resolved (RID_PASID for untagged requests) */
	uint16_t did;
	bool dte;
	bool pre;
};

/* A page request waiting for its response; indexed by PRG index. */
struct sim_prq_slot {
	uint32_t sid;
	int state; /* SIM_PRQ_* (atomic) */
	int code;
};

#define SIM_PRQ_FREE	 0
#define SIM_PRQ_PENDING	 1
#define SIM_PRQ_ANSWERED 2
#define SIM_PRQ_SLOTS	 512

struct sim_iommu {
	struct svio_device *dev;
	unsigned int index;

	/* Configuration (devargs), fixed after create. */
	uint64_t cap;
	uint64_t ecap;
	uint64_t cost_ns[SIM_COST_COUNT];
	uint64_t prq_timeout_ns;
	bool thread_mode;
	bool user_check;
	bool stale_check;
	/* Fault injection: every Nth IOTLB/device-TLB invalidation does nothing (0: off). */
	uint64_t lose_inv_every;
	uint64_t inv_seen; /* invalidations executed, for lose_inv; executor only */
	unsigned int atc_entries;
	unsigned int atc_ways;

	/* Register file (atomics). */
	uint32_t gsts;
	uint64_t rtaddr;
	uint64_t root; /* latched by SRTP */
	uint32_t fsts;
	uint32_t fectl;
	uint64_t iqa;
	uint64_t iqh;
	uint64_t iqt;
	uint32_t ics;
	uint64_t iqercd;
	uint64_t pqh;
	uint64_t pqt;
	uint64_t pqa;
	uint32_t prs;
	uint32_t pectl;
	uint64_t ctr[SIM_IOMMU_CTR_COUNT];

	/* Invalidation queue processing. */
	pthread_mutex_t iq_lock;
	uint64_t iq_gen;	  /* bumped by every queue reset, under iq_lock */
	bool iq_busy;		  /* a thread is running the queue, under iq_lock */
	pthread_mutex_t thr_lock; /* thread mode: protects thr_kick/thr_stop, pairs with thr_cond */
	pthread_cond_t thr_cond;
	pthread_t thr;
	bool thr_running;
	bool thr_kick;
	bool thr_stop;

	/* Caches and the stale-use checker, under cache_lock. */
	pthread_spinlock_t cache_lock;
	struct sim_tlb iotlb;
	struct sim_atc **atc_dir[256]; /* [bus][devfn] */
	uint64_t waits_submitted;
	uint64_t waits_done;
	unsigned int premarked; /* entries with a premark */
	uint64_t stale_log_next_ns;

	/* Page requests. */
	pthread_mutex_t prq_lock;
	struct sim_prq_slot prq_slots[SIM_PRQ_SLOTS];
	unsigned int prq_next;
};

static inline void sim_ctr_add(struct sim_iommu *m, enum sim_iommu_ctr c, uint64_t n)
{
	__atomic_fetch_add(&m->ctr[c], n, __ATOMIC_RELAXED);
}

static inline uint64_t sim_ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

uint64_t sim_now_ns(void);
/* Spend @p ns really (busy-wait): the model's cost of a descriptor. */
void sim_spend_ns(uint64_t ns);

struct sim_iommu *sim_iommu_get(unsigned int index);

/* tables.c */
int sim_ctx_lookup(struct sim_iommu *m, uint32_t sid, struct sim_ctx *ctx);
int sim_ctx_resolve(struct sim_iommu *m, uint32_t sid, uint32_t pasid, struct sim_ctx *ctx);
/* Walk: 0, -EFAULT (not present, reserved), -EACCES (permission). Fills a template entry. */
int sim_walk(struct sim_iommu *m, uint64_t root, uint64_t addr, bool write,
	     struct sim_tlb_entry *out);

/* tlb.c (cache_lock held unless said) */
int sim_tlb_init(struct sim_tlb *t, unsigned int entries, unsigned int ways);
void sim_tlb_fini(struct sim_tlb *t);
struct sim_tlb_entry *sim_tlb_lookup(struct sim_tlb *t, uint16_t did, uint32_t pasid,
				     uint64_t addr);
/* Insert; returns true when a valid entry was evicted. */
bool sim_tlb_insert(struct sim_iommu *m, struct sim_tlb *t, const struct sim_tlb_entry *tmpl);
void sim_tlb_drop(struct sim_iommu *m, struct sim_tlb *t, struct sim_tlb_entry *e);
struct sim_atc *sim_atc_get(struct sim_iommu *m, uint32_t sid, bool create);
void sim_atc_free_all(struct sim_iommu *m);

/* What an invalidation matches. */
struct sim_inv_match {
	bool any_did;
	bool any_pasid;
	bool any_addr;
	uint16_t did;
	uint32_t pasid;
	uint64_t start;
	uint64_t last;
};
unsigned int sim_tlb_invalidate(struct sim_iommu *m, struct sim_tlb *t,
				const struct sim_inv_match *mt);
/* Stale checker: at submission of waits with first seq @p seq; at completion of @p seq. */
void sim_stale_premark(struct sim_iommu *m, uint64_t nwaits);
void sim_stale_complete(struct sim_iommu *m);
/*
 * Is this hit (by device @p sid; @p atc: from its device-TLB) a stale use?
 * Counts and logs it.
 */
bool sim_stale_use(struct sim_iommu *m, struct sim_tlb_entry *e, uint32_t sid, bool atc);

/* qi.c */
void sim_qi_write_tail(struct sim_iommu *m, uint64_t val);
void sim_qi_enable(struct sim_iommu *m, bool on);
void sim_qi_write_iqa(struct sim_iommu *m, uint64_t val);
int sim_qi_start(struct sim_iommu *m);
void sim_qi_stop(struct sim_iommu *m);

/* prq.c */
int sim_prq_request(struct sim_iommu *m, uint32_t sid, uint32_t pasid, bool pasid_present,
		    uint64_t addr, bool write);
void sim_prq_respond(struct sim_iommu *m, uint32_t sid, unsigned int prgi, int code);
void sim_prq_write_pqa(struct sim_iommu *m, uint64_t val);

#endif /* SIM_IOMMU_PRIV_H */
