/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to drivers/iommu/iommufd. */
#ifndef SVIO_IOMMUFD_PRIV_H
#define SVIO_IOMMUFD_PRIV_H

#include <pthread.h>

#include <rte_log.h>
#include <rte_memory.h>

#include "svio_iommu_backend.h"
#include "iommufd_backend.h"

extern int svio_iommufd_logtype;
#define IOMMUFD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, svio_iommufd_logtype, "iommufd: " fmt "\n", ##__VA_ARGS__)

/* Stage-1 invalidations gathered between two waits; more collapse into one "all". */
#define IOMMUFD_NEST_MAX_INV 256

/*
 * Nested stage 1 (iommufd_nest*.c, see iommufd_nest.h): the core's table is stage 1 of one
 * nested HWPT shared by every device; the IOAS, through a NEST_PARENT HWPT,
 * is stage 2. active, parent_id are fixed from the first bind to the last
 * unbind; s1_id, s1_root and users change under iommufd_ctx.lock and inv_lock (the
 * invalidation ops read them under inv_lock only). Lock order: iommufd_ctx.lock,
 * then inv_lock, then the table-page pool's lock.
 */
struct iommufd_nest {
	bool active;	    /**< caps.first_stage: the core owns stage 1 */
	uint32_t parent_id; /**< NEST_PARENT HWPT over the IOAS */
	uint32_t s1_id;	    /**< nested HWPT, 0 while no device is attached */
	uint64_t s1_root;   /**< the stage-1 root s1_id walks */
	unsigned int users; /**< devices attached to s1_id */
	pthread_mutex_t inv_lock;
	uint64_t seq;	    /**< IOMMU_HWPT_INVALIDATE calls issued */
	unsigned int n_inv; /**< pending entries */
	struct svio_iommu_hwpt_vtd_s1_invalidate inv[IOMMUFD_NEST_MAX_INV];
};

/*
 * The process iommufd. Lock order: the core's domain attach lock, then
 * iommufd_ctx.lock, then the core's registry lock (svio_iommu_register);
 * map/unmap read fd and ioas_id without it: both are fixed while any
 * device is bound, and nobody maps without a bound device.
 */
struct iommufd_ctx {
	pthread_mutex_t lock;
	int fd; /**< /dev/iommu, -1 when closed */
	uint32_t ioas_id;
	unsigned int bound; /**< devices bound */
	struct svio_iommu iommu;
	bool registered;
	TAILQ_HEAD(, svio_iommufd_dev) devs;
	unsigned int n_ranges; /**< IOVA ranges as last read */
	struct svio_iommu_iova_range ranges[SVIO_IOMMUFD_MAX_RANGES];
	struct iommufd_nest nest;
};

extern struct iommufd_ctx iommufd_ctx;
extern const struct svio_iommu_ops iommufd_ops;

/** VFIO_DEVICE_DETACH_IOMMUFD_PT of the device's RID; logs a refusal. */
int iommufd_detach_rid(struct svio_iommufd_dev *idev);
/** IOMMU_DESTROY of @p id; logs a refusal (the object then lives until the iommufd closes). */
int iommufd_destroy_obj(uint32_t id);
/** The iommufd path opened (/dev/iommu unless a test replaced it). */
const char *iommufd_ctx_path(void);
/** Open /dev/iommu, allocate the IOAS, register the instance (iommufd_ctx.lock held). */
int iommufd_ctx_open(void);
/** Undo iommufd_ctx_open() (iommufd_ctx.lock held). */
void iommufd_ctx_close(void);
/** Re-read the IOAS's IOVA ranges into iommufd_ctx.ranges (iommufd_ctx.lock held). */
int iommufd_ctx_read_ranges(void);
/** Recompute the instance caps from every bound device's hardware info. */
void iommufd_ctx_update_caps(void);

/*
 * First bind (iommufd_ctx.lock held, nothing attached): turn nesting on when this
 * device's IOMMU offers it, else log once why the paging domain is used.
 */
void iommufd_nest_probe(const struct svio_iommufd_dev *idev);
/** A later bind while nesting is on: 0, or -EOPNOTSUPP when this device cannot nest. */
int iommufd_nest_check_dev(const struct svio_iommufd_dev *idev);
/** Undo iommufd_nest_probe() before the IOAS goes (iommufd_ctx.lock held). */
void iommufd_nest_close(void);
/*
 * Attach on the requester id to the nested HWPT walking @p root (iommufd_ctx.lock
 * held). The first attach made after rte_eal_init() also puts DPDK memory in
 * stage 2; the attach fails with that error when it cannot.
 */
int iommufd_nest_attach(struct svio_iommufd_dev *idev, uint64_t root);
/**
 * Detach a device iommufd_nest_attach() attached (iommufd_ctx.lock held): 0, or the
 * kernel's error with the device still attached and counted.
 */
int iommufd_nest_detach(struct svio_iommufd_dev *idev);
/** Stage 2 gained [iova, iova + len) (svio_iommufd_map() while nesting): 0 or -ENOMEM. */
int iommufd_nest_s2_mapped(uint64_t iova, uint64_t len);
/** Stage 2 lost every map inside [iova, iova + len). */
void iommufd_nest_s2_unmapped(uint64_t iova, uint64_t len);
/**
 * One DPDK memory event as the core's follower hands it to stage 2 while
 * nesting is on (declared for tests): maps what DPDK added, unmaps what it
 * gives back.
 */
void iommufd_nest_dpdk_event(enum rte_mem_event type, const void *addr, size_t len, void *arg);
/**
 * ops->s1_check: 0 when sound stage-2 maps cover [addr, addr + len), else
 * -EFAULT (logged), also over memory stage 2 failed to drop.
 */
int iommufd_nest_s1_check(struct svio_iommu *iommu, uint64_t addr, uint64_t len);
/** ops->table_pages: the page pool while nesting is on, else NULL (any pages). */
const struct pgtable_page_ops *iommufd_nest_table_pages(struct svio_iommu *iommu);
int iommufd_nest_inv_post(struct svio_iommu *iommu, const struct svio_inv *inv, unsigned int n);
int iommufd_nest_wait_post(struct svio_iommu *iommu, uint64_t *cookie);
int iommufd_nest_wait_poll(struct svio_iommu *iommu, uint64_t cookie);

#endif /* SVIO_IOMMUFD_PRIV_H */
