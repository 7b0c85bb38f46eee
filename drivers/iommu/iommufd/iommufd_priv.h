/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to drivers/iommu/iommufd. */
#ifndef SVIO_IOMMUFD_PRIV_H
#define SVIO_IOMMUFD_PRIV_H

#include <pthread.h>

#include <rte_log.h>

#include "svio_iommu_backend.h"
#include "iommufd_backend.h"

extern int svio_iommufd_logtype;
#define UFD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, svio_iommufd_logtype, "iommufd: " fmt "\n", ##__VA_ARGS__)

/*
 * The process iommufd. Lock order: the core's domain attach lock, then
 * ufd.lock, then the core's registry lock (svio_iommu_register);
 * map/unmap read fd and ioas_id without it: both are fixed while any
 * device is bound, and nobody maps without a bound device.
 */
struct ufd_ctx {
	pthread_mutex_t lock;
	int fd; /**< /dev/iommu, -1 when closed */
	uint32_t ioas_id;
	unsigned int bound; /**< devices bound */
	struct svio_iommu iommu;
	bool registered;
	TAILQ_HEAD(, svio_iommufd_dev) devs;
	unsigned int n_ranges; /**< IOVA ranges as last read */
	struct svio_iommu_iova_range ranges[SVIO_IOMMUFD_MAX_RANGES];
};

extern struct ufd_ctx ufd;
extern const struct svio_iommu_ops ufd_ops;

/** Open /dev/iommu, allocate the IOAS, register the instance (ufd.lock held). */
int ufd_ctx_open(void);
/** Undo ufd_ctx_open() (ufd.lock held). */
void ufd_ctx_close(void);
/** Re-read the IOAS's IOVA ranges into ufd.ranges (ufd.lock held). */
int ufd_ctx_read_ranges(void);
/** Recompute the instance caps from every bound device's hardware info. */
void ufd_ctx_update_caps(void);

#endif /* SVIO_IOMMUFD_PRIV_H */
