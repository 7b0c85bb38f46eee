/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private state of the sim IOMMU backend driver (drivers/iommu/sim only, and
 * its unit tests).
 *
 * Locks: tbl_lock (mutex) guards the device tables (attach/detach, control
 * path). iq_lock (pthread spinlock) guards the invalidation queue tail and
 * the wait sequence; any lcore may post. prq_lock (mutex: it is held while
 * the core resolves a fault) serializes draining the page request queue; it
 * is taken before iq_lock (a page response is posted while draining).
 * svio_iommu_queue_error() is called with no lock held.
 */
#ifndef IOMMU_SIM_PRIV_H
#define IOMMU_SIM_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_log.h>
#include <rte_pause.h>

#include "svio_dev.h"
#include "svio_iommu_backend.h"
#include "sim_iommu_hw.h"

extern int sim_iommu_drv_logtype;
#define SIMDRV_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, sim_iommu_drv_logtype, "iommu_sim: " fmt "\n", ##__VA_ARGS__)

#define SIMDRV_IQ_QS	  1	    /* 512 descriptors */
#define SIMDRV_PQ_QS	  0	    /* 128 page requests */
#define SIMDRV_POLL_LIMIT 10000000u /* register polls before a command is declared stuck */

struct sim_iommu_drv {
	struct svio_iommu iommu; /* first: what the core holds */
	struct svio_device *dev;
	uint64_t cap;
	uint64_t ecap;
	uint32_t gcmd; /* the state last written to GCMD */
	unsigned int pdts;

	pthread_mutex_t tbl_lock;
	struct sim_iommu_root_entry *root;

	pthread_spinlock_t iq_lock;
	struct sim_iommu_inv_desc *iq;
	unsigned int iq_entries;
	unsigned int iq_tail;  /* next free slot */
	uint64_t wait_seq;     /* last wait posted */
	uint32_t *wait_status; /* the model stores the low 32 bits of each completed seq */
	uint64_t fail_lo;      /* waits in (fail_lo, fail_hi] failed with a queue error */
	uint64_t fail_hi;
	uint64_t queue_errors;

	pthread_mutex_t prq_lock; /* held across the core's (slow) fault resolution */
	struct sim_iommu_page_req_desc *pq;
	unsigned int pq_entries;
};

static inline struct sim_iommu_drv *sim_iommu_drv_of(struct svio_iommu *iommu)
{
	return (struct sim_iommu_drv *)iommu->priv;
}

/* iommu_sim.c */
int sim_iommu_drv_poll_reg(struct sim_iommu_drv *d, uint64_t off, uint32_t mask, uint32_t want);
void sim_iommu_drv_set_gcmd(struct sim_iommu_drv *d, uint32_t bits, bool on);
/* RID_PASID of @p sid, or -ENOENT; device-TLB allowed in *dte. */
int sim_iommu_drv_ctx_info(struct sim_iommu_drv *d, uint32_t sid, uint32_t *rid_pasid, bool *dte);

/* iommu_sim_qi.c */
int sim_iommu_drv_qi_init(struct sim_iommu_drv *d);
void sim_iommu_drv_qi_fini(struct sim_iommu_drv *d);
int sim_iommu_drv_inv_post(struct svio_iommu *iommu, const struct svio_inv *inv, unsigned int n);
int sim_iommu_drv_wait_post(struct svio_iommu *iommu, uint64_t *cookie);
int sim_iommu_drv_wait_poll(struct svio_iommu *iommu, uint64_t cookie);
int sim_iommu_drv_page_resp(struct svio_iommu *iommu, const struct svio_page_req *req, int code);

/* iommu_sim_prq.c */
int sim_iommu_drv_prq_init(struct sim_iommu_drv *d);
void sim_iommu_drv_prq_fini(struct sim_iommu_drv *d);

/* Zeroed memory the IOMMU may read: 4 KiB aligned. NULL when out of memory. */
void *sim_iommu_drv_zalloc(size_t size);

#endif /* IOMMU_SIM_PRIV_H */
