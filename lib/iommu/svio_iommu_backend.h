/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The seam between the IOMMU core (lib/iommu) and an IOMMU backend
 * (drivers/iommu/sim programs the built-in model's registers and queues;
 * drivers/iommu/iommufd talks to /dev/iommu).
 *
 * A backend registers one struct svio_iommu per hardware IOMMU instance. The
 * core decides what to invalidate; the backend only turns hardware-neutral
 * requests into its own descriptors. Invalidation is split in post (queue
 * descriptors, return at once) and wait (post one wait, then poll it), so the
 * core can issue every instance's work before waiting on any of them.
 *
 * Not installed: for backends inside the tree only.
 */
#ifndef SVIO_IOMMU_BACKEND_H
#define SVIO_IOMMU_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svio_iommu.h"

struct pgtable_page_ops;
struct svio_device;
struct svio_iommu;

/** What one IOMMU instance can do. */
struct svio_iommu_caps {
	unsigned int domain_ids;    /**< number of domain ids (id 0 is reserved) */
	unsigned int pasid_bits;    /**< 0 when PASID is not supported */
	unsigned int max_inv_order; /**< largest page-selective invalidation: 4 KiB << order */
	/**
	 * true: walks a page table the core owns (x86-64 4-level) and is
	 * invalidated with inv_post/wait. false: keeps its own table, filled
	 * through ops->map/unmap (unmap invalidates before returning); no
	 * device-TLB tags and no page requests through the core.
	 */
	bool first_stage;
	bool ats; /**< device-TLB invalidation supported */
	bool pri; /**< page requests supported */
	/**
	 * Devices reach process memory through this IOMMU with nothing pinning
	 * it (the built-in model dereferences its output addresses): the core
	 * refuses maps of memory the process does not map with the needed
	 * access, as a kernel's pinning would.
	 */
	bool unpinned;
};

enum svio_inv_kind {
	SVIO_INV_IOTLB,	 /**< IOTLB entries of (did, pasid) */
	SVIO_INV_DEVTLB, /**< device-TLB of (sid, pasid) */
};

/** One hardware-neutral invalidation request. */
struct svio_inv {
	uint8_t kind;  /**< enum svio_inv_kind */
	bool all;      /**< whole (did, pasid) or (sid, pasid): addr and order ignored */
	uint8_t order; /**< range is (4 KiB << order) bytes, naturally aligned */
	uint16_t did;  /**< domain id (IOTLB) */
	uint32_t pasid;
	uint32_t sid; /**< source id (DEVTLB) */
	uint64_t addr;
};

/** A page request from a device, as the backend read it from its queue. */
struct svio_page_req {
	uint32_t sid;
	uint32_t pasid;
	uint64_t addr; /**< page aligned */
	bool read;
	bool write;
	bool last;	/**< last request of its group: a response is owed */
	uint16_t group; /**< page request group index */
};

/** Page response codes (PCIe PRG response). */
enum svio_page_resp {
	SVIO_PAGE_RESP_SUCCESS = 0,
	SVIO_PAGE_RESP_INVALID = 1,
	SVIO_PAGE_RESP_FAILURE = 0xf,
};

struct svio_iommu_ops {
	const char *name;
	/**
	 * Point (device, pasid) at a first-stage table rooted at @p pgtable
	 * (the table's address as the IOMMU reads it), tagged with @p did.
	 * Untagged DMA of the device uses the same entry (RID_PASID).
	 */
	int (*attach)(struct svio_iommu *iommu, struct svio_device *dev, uint32_t pasid,
		      uint16_t did, uint64_t pgtable);
	/** Clear (device, pasid); the core invalidates caches afterwards. */
	int (*detach)(struct svio_iommu *iommu, struct svio_device *dev, uint32_t pasid);
	/** Queue @p n invalidations; do not wait for them. */
	int (*inv_post)(struct svio_iommu *iommu, const struct svio_inv *inv, unsigned int n);
	/** Queue one wait after everything posted so far; @p cookie identifies it. */
	int (*wait_post)(struct svio_iommu *iommu, uint64_t *cookie);
	/** 0 when the wait completed, -EAGAIN while pending, -EIO on a queue error. */
	int (*wait_poll)(struct svio_iommu *iommu, uint64_t cookie);
	/** Answer a page request (enum svio_page_resp). */
	int (*page_resp)(struct svio_iommu *iommu, const struct svio_page_req *req, int code);
	/** Optional: stale translations used so far (the model's checker). */
	uint64_t (*stale_uses)(struct svio_iommu *iommu);
	/** Optional: hardware time spent so far, in ns (the model's cost model). */
	uint64_t (*modeled_ns)(struct svio_iommu *iommu);
	/**
	 * Required when caps.first_stage is false, unused otherwise: map
	 * [va, va + len) at @p iova with SVIO_DMA_READ/WRITE rights. Called
	 * from any thread. @return 0 or a negative errno value (nothing mapped).
	 */
	int (*map)(struct svio_iommu *iommu, uint64_t iova, void *va, size_t len, int prot);
	/**
	 * Required when caps.first_stage is false: remove every mapping inside
	 * [iova, iova + len) and invalidate the caches that may hold them
	 * before returning. The core only passes ranges that cover whole
	 * earlier map() calls, possibly several. @return 0 or a negative errno.
	 */
	int (*unmap)(struct svio_iommu *iommu, uint64_t iova, size_t len);
	/**
	 * Optional, caps.first_stage only: may the core's table point at
	 * [addr, addr + len)? A nested stage 1 (iommufd) answers whether its
	 * stage 2 maps that memory. Called before every map, from any thread.
	 * @return 0, or a negative errno the map fails with (logged by the backend).
	 */
	int (*s1_check)(struct svio_iommu *iommu, uint64_t addr, uint64_t len);
	/**
	 * Optional, caps.first_stage only: where the pages of a table this
	 * instance walks must come from (a nested stage 1 reads them through
	 * its stage 2), or NULL for anywhere. The core moves the domain's
	 * table there at the first attach, which fails with -EBUSY when the
	 * table is in use already (attached elsewhere, or holding maps).
	 */
	const struct pgtable_page_ops *(*table_pages)(struct svio_iommu *iommu);
};

/** One IOMMU instance as the core sees it. Backends embed or point to it. */
struct svio_iommu {
	const struct svio_iommu_ops *ops;
	struct svio_iommu_caps caps;
	unsigned int index; /**< bus-level instance number */
	void *priv;	    /**< backend state */
	void *core;	    /**< core state (domain id allocator, ...) */
};

/**
 * Register an instance. @p iommu is owned by the backend and must stay
 * valid until svio_iommu_unregister() returns.
 */
int svio_iommu_register(struct svio_iommu *iommu);

/** Unregister: fails with -EBUSY while devices are attached through it. */
int svio_iommu_unregister(struct svio_iommu *iommu);

/**
 * A page request arrived (called from the backend's interrupt handler, on
 * whatever thread raised it). The core resolves it against the domain that
 * owns the PASID and answers through ops->page_resp before returning.
 */
void svio_iommu_page_request(struct svio_iommu *iommu, const struct svio_page_req *req);

/**
 * An invalidation queue error was reported by the hardware: counted, and
 * pending waits fail with -EIO.
 */
void svio_iommu_queue_error(struct svio_iommu *iommu);

/*
 * Backends as a whole (libvfn's iommu_ctx_ops habit): one small ops struct
 * per backend, how a bus device gets bound to it. svio_eal_init() selects
 * one with --iommu, once; the PCI bus binds each device through it and the
 * binding remembers the backend for the unbind. Attach and detach then go
 * through the instance the bind named (dev->dma.iommu_index), by its
 * struct svio_iommu_ops. Built-in devices (--vdev sim_*) sit behind the
 * model's IOMMU instances by construction: they are never bound here.
 *
 * A backend is one const struct svio_iommu_backend, listed by its folder's
 * meson.build in svio_iommu_backends; nothing else names it.
 */

/** A bus device bound to a backend. Zeroed: not bound. */
struct svio_iommu_binding {
	const struct svio_iommu_backend *backend; /**< NULL while not bound */
	void *priv;				  /**< the backend's per-device state */
};

struct svio_iommu_backend {
	const char *name; /**< what --iommu calls it */
	/** --iommu=auto may pick it for real devices (it is a kernel's IOMMU). */
	bool real_devices;
	/**
	 * Can it run on this machine? 0, or a negative errno with what is
	 * missing written to @p why: one clause naming the backend's need
	 * ("PCI devices need /dev/iommu, ...") and the way out.
	 */
	int (*available)(char *why, size_t len);
	/**
	 * Bind @p dev, whose bus holds @p fd on it (the VFIO device cdev for
	 * PCI), to this backend: set dev->dma.iommu_index and b->priv.
	 * @return 0 or a negative errno, logged with the device name.
	 */
	int (*bind)(struct svio_iommu_binding *b, struct svio_device *dev, int fd);
	/** Undo bind (the core detached the device beforehand). */
	void (*unbind)(struct svio_iommu_binding *b);
};

/**
 * Select the backend real devices are bound through: "auto" (or NULL), or
 * a backend's name. auto picks, at each bind, the first backend with
 * real_devices that is available (today: iommufd).
 * @return 0, or -EINVAL for an unknown name (logged with the known ones).
 */
int svio_iommu_backend_select(const char *name);

/** The backend selected by name, or NULL under auto. */
const struct svio_iommu_backend *svio_iommu_backend_selected(void);

/** A backend by name, or NULL. */
const struct svio_iommu_backend *svio_iommu_backend_find(const char *name);

/**
 * The backend a real device would be bound through now: the selected one,
 * or under auto the first available one. @return it, or NULL under auto
 * when none is available, with the backends' reasons ("; "-separated)
 * written to @p why.
 */
const struct svio_iommu_backend *svio_iommu_backend_for_real_device(char *why, size_t len);

/**
 * Bind a real bus device through the selected backend (see
 * svio_iommu_backend_for_real_device()). @return 0, -ENODEV when auto finds
 * no available backend, or the backend's error. Each failure is logged.
 */
int svio_iommu_bind(struct svio_iommu_binding *b, struct svio_device *dev, int fd);

/** Undo svio_iommu_bind(); a binding that is not bound is left alone. */
void svio_iommu_unbind(struct svio_iommu_binding *b);

#endif /* SVIO_IOMMU_BACKEND_H */
