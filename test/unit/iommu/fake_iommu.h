/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fake IOMMU backend for the core's unit tests: records every attach,
 * detach, invalidation, wait and page response in one global log (so the
 * order across instances is visible), can make waits slow (-EAGAIN a number
 * of times) and can simulate an invalidation queue error.
 *
 * With caps.first_stage false it is an instance that owns its table (like
 * iommufd): map/unmap are logged and kept in a list, and unmap behaves like
 * IOMMU_IOAS_UNMAP (a range must cover whole maps, else -ENOENT).
 */
#ifndef FAKE_IOMMU_H
#define FAKE_IOMMU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "svio_dev.h"
#include "svio_iommu_backend.h"

enum fake_ev_kind {
	EV_ATTACH,
	EV_DETACH,
	EV_INV,
	EV_WAIT_POST,
	EV_WAIT_DONE,
	EV_WAIT_FAIL,
	EV_PAGE_RESP,
	EV_NOTE,  /**< written by the test itself (e.g. a release ran) */
	EV_MAP,	  /**< ops->map: addr, len, code = prot */
	EV_UNMAP, /**< ops->unmap: addr, len, code = what it returned */
};

struct fake_ev {
	enum fake_ev_kind kind;
	unsigned int inst;
	struct svio_inv inv; /**< EV_INV */
	uint64_t cookie;     /**< EV_WAIT_* */
	uint32_t sid;	     /**< EV_ATTACH, EV_DETACH, EV_PAGE_RESP */
	uint32_t pasid;
	uint16_t did;
	int code;      /**< EV_PAGE_RESP; EV_NOTE: the test's value */
	uint64_t addr; /**< EV_PAGE_RESP, EV_MAP, EV_UNMAP */
	uint64_t len;  /**< EV_MAP, EV_UNMAP */
};

#define FAKE_MAX_WAITS 64
#define FAKE_MAX_SIDS  256
#define FAKE_MAX_MAPS  64

struct fake_iommu {
	struct svio_iommu iommu;
	pthread_mutex_t lock;
	unsigned int slow_polls; /**< each wait answers -EAGAIN this many times first */
	bool error;		 /**< queue error: pending and new waits fail */
	int fail_attach;	 /**< next attach returns this when non-zero */
	int fail_detach;	 /**< every detach returns this while non-zero */
	bool resp_queue_error;	 /**< a page response recovers a stopped queue and reports it */
	uint64_t next_cookie;
	struct {
		uint64_t cookie;
		unsigned int left;
	} waits[FAKE_MAX_WAITS];
	unsigned int n_waits;
	/* Instances owning their table (caps.first_stage false). */
	int fail_map;	/**< next map returns this when non-zero */
	int fail_unmap; /**< next unmap returns this when non-zero */
	struct {
		uint64_t iova, len;
	} maps[FAKE_MAX_MAPS]; /**< live maps, unordered */
	unsigned int n_maps;
};

/** Register instance @p index with @p caps (domain_ids, max_inv_order, ats, pri...). */
int fake_iommu_init(struct fake_iommu *f, unsigned int index, const struct svio_iommu_caps *caps);
int fake_iommu_fini(struct fake_iommu *f);

/** Caps most tests use: 256 domain ids, 20-bit PASID, max order 9, ATS, PRI. */
struct svio_iommu_caps fake_caps(void);

/** Caps of an instance owning its table: 2 domain ids, no first stage, ATS or PRI. */
struct svio_iommu_caps fake_caps_kmap(void);

/** Bytes @p f has mapped now (instances owning their table). */
uint64_t fake_mapped_bytes(struct fake_iommu *f);

/** Does one live map of @p f cover [iova, iova + len)? */
bool fake_range_mapped(struct fake_iommu *f, uint64_t iova, uint64_t len);

/** Simulate an invalidation queue error (or clear it). */
void fake_iommu_set_error(struct fake_iommu *f, bool error);

/** A device behind @p f (no bus: the core only reads name and dma). */
void fake_dev_init(struct svio_device *dev, struct fake_iommu *f, const char *name, uint32_t sid,
		   bool ats);

/* The global log. Disabled logging still keeps the counters below. */
void fake_log_reset(void);
void fake_log_enable(bool on);
unsigned int fake_log_len(void);
struct fake_ev fake_log_at(unsigned int i);
/** Index of the first event of @p kind (any instance when inst < 0) from @p from, or -1. */
int fake_log_find(enum fake_ev_kind kind, int inst, unsigned int from);
/** Count events of @p kind (inst < 0: any), for EV_INV only of inv kind @p inv_kind (< 0: any). */
unsigned int fake_log_count(enum fake_ev_kind kind, int inst, int inv_kind);
/** Append a test note. */
void fake_log_note(int code);

/* Global counters for the stress test (kept even when the log is off). */
struct fake_stats {
	uint64_t waits_posted; /**< sequence of the last wait posted */
	uint64_t max_done;     /**< highest sequence among completed waits */
	uint64_t violations;   /**< invalidations naming a device detached and not re-attached */
	uint64_t unpublished;  /**< attaches whose device tags were not published yet */
	uint64_t resp_success; /**< page responses with SVIO_PAGE_RESP_SUCCESS */
	uint64_t resp_other;   /**< page responses with any other code */
};
void fake_stats_get(struct fake_stats *st);

/**
 * Stress support: after svio_domain_detach() of @p sid returned, any
 * invalidation naming @p sid is a violation until the test calls
 * fake_sid_attaching() right before attaching it again (attach publishes
 * the tags before the backend attach, so flushes may name it from then on).
 */
void fake_sid_detached(uint32_t sid);
void fake_sid_attaching(uint32_t sid);

/** When set, attach checks that @p dom already published the device's tags. */
void fake_check_domain(struct svio_domain *dom);

#endif /* FAKE_IOMMU_H */
