/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The svio NVMe poll-mode driver.
 *
 * svio_eal_init() probes every NVMe device named on the command line
 * (`--vdev sim_nvme0,...` for the built-in controller): the driver resets
 * and enables the controller, attaches it to the process IOMMU domain,
 * identifies it and its namespaces. Applications then look a controller up
 * by device name, allocate one I/O queue pair per lcore, submit commands
 * with a completion callback and poll for completions:
 *
 *   struct svio_nvme_ctrlr *c = svio_nvme_ctrlr_get("sim_nvme0");
 *   struct svio_nvme_qpair *qp;
 *   svio_nvme_qpair_alloc(c, 128, &qp);
 *   svio_nvme_write(qp, 1, buf, lba, nlb, done_cb, arg);   // buf: any memory (SVA)
 *   while (!done) svio_nvme_qpair_poll(qp, 0);
 *
 * Addresses. svio_nvme_read()/write() take a pointer to any memory. With SVA
 * on (the default) it goes to the device as it is (device addresses are
 * process virtual addresses). With SVA off (`--sva=off`) the driver maps the
 * pages under the buffer through the domain for that command only and unmaps
 * them when the command ends, whichever way it ends (streaming DMA). The
 * _iova variants take an address the caller mapped with svio_dma_map(): no
 * per-command mapping, the cheaper choice for buffers used again and again.
 *
 * Threading. Controller functions (lookup, info, qpair alloc/free, admin,
 * reset) may be called from any thread; they serialise on a per-controller
 * admin lock. A queue pair belongs to one thread at a time: its submit and
 * poll functions take no lock. Completion callbacks run inside
 * svio_nvme_qpair_poll() on the polling thread and may submit on the same
 * queue pair, but must not free it.
 *
 * Robustness. Every command has a timeout (svio_nvme_ctrlr_set_timeout):
 * on expiry the poller sends an Abort; when the command still does not
 * complete within another timeout, or the controller reports a fatal status
 * (CSTS.CFS), the controller is reset. Every queue pair notices the reset at
 * its next call, completes its outstanding commands (-ETIMEDOUT for the
 * timed-out one, -ECANCELED for the others) and re-creates its queues.
 *
 * Return convention: 0 or a count on success, a negative errno value on error.
 */
#ifndef SVIO_NVME_H
#define SVIO_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct svio_device;
struct svio_nvme_ctrlr;
struct svio_nvme_qpair;

struct svio_nvme_ctrlr_info {
	char name[64];	  /**< device name ("sim_nvme0") */
	char sn[21];	  /**< serial number, trailing blanks removed */
	char mn[41];	  /**< model number */
	char fr[9];	  /**< firmware revision */
	uint32_t version; /**< VS register: major << 16 | minor << 8 */
	uint32_t nn;	  /**< highest namespace id */
	/**
	 * Largest transfer of one command, bytes (MDTS, counting metadata inside
	 * the blocks). The driver does not split larger I/O: such a submission
	 * returns -EMSGSIZE; svio_nvme_ns_info.max_nlb says how many blocks fit.
	 */
	uint32_t max_xfer;
	uint32_t max_qpairs; /**< I/O queue pairs granted by the controller */
	uint32_t max_depth;  /**< deepest queue pair (CAP.MQES) */
	uint32_t num_ns;     /**< namespaces driven (active, selected by ns=, format driven) */
	bool vwc;	     /**< volatile write cache present: flush matters */
	bool write_zeroes;   /**< Write Zeroes supported */
	bool dsm;	     /**< Dataset Management (deallocate) supported */
};

/**
 * A namespace's geometry, from its active LBA format. A namespace formatted
 * with metadata inside each block (extended LBA, FLBAS bit 4) is driven with
 * buffers of block_size = lba_size + md_size bytes a block: each block's data
 * followed by its metadata, as the controller moves them. Formats the driver
 * cannot drive are refused when the controller is attached (logged at ERR,
 * naming the format): metadata in a separate buffer (MPTR) and protection
 * information; svio_nvme_ns_info_get() then returns -ENOTSUP with the
 * geometry filled in, and I/O to them fails with -ENXIO.
 */
struct svio_nvme_ns_info {
	uint32_t nsid;
	uint64_t nblocks;    /**< NSZE */
	uint32_t lba_size;   /**< data bytes per block (LBADS: 512, 4096) */
	uint32_t md_size;    /**< metadata bytes per block (MS), 0 none */
	bool md_extended;    /**< metadata inside each block (else in a separate buffer) */
	uint8_t pi_type;     /**< protection information type (DPS), 0 none */
	uint8_t lbaf;	     /**< index of the active LBA format */
	uint32_t block_size; /**< buffer bytes per block: lba_size, + md_size when extended */
	uint32_t max_nlb;    /**< blocks one read or write may carry (max_xfer, NLB field) */
};

/** What a completion callback receives. */
struct svio_nvme_cpl {
	uint32_t cdw0;	 /**< command specific result */
	uint16_t status; /**< NVMe status field (NVME_SF_SCT/NVME_SF_SC), 0 = success */
	/**
	 * The status as an errno: 0, -EFAULT (data transfer error: bad buffer
	 * address), -ERANGE (LBA out of range), -ENXIO (invalid namespace),
	 * -EINVAL (invalid field), -EOPNOTSUPP (invalid opcode), -ETIMEDOUT
	 * (timed out and aborted), -ECANCELED (controller reset or queue pair
	 * freed), -ENODEV (the controller failed: it did not come back from a
	 * reset), -EIO (any other error status).
	 */
	int rc;
};

typedef void (*svio_nvme_cb)(void *arg, const struct svio_nvme_cpl *cpl);

/* ---- Controllers (any thread; control path) ---- */

/** The probed controller on device @p name, or NULL. Any thread. */
struct svio_nvme_ctrlr *svio_nvme_ctrlr_get(const char *name);

/** Iterate controllers: NULL starts; returns NULL after the last. Main lcore (registry). */
struct svio_nvme_ctrlr *svio_nvme_ctrlr_next(const struct svio_nvme_ctrlr *prev);

/** The device under a controller. Any thread. */
struct svio_device *svio_nvme_ctrlr_device(const struct svio_nvme_ctrlr *ctrlr);

/** Copy the controller's identity and limits. Any thread. @return 0 or -EINVAL. */
int svio_nvme_ctrlr_info_get(const struct svio_nvme_ctrlr *ctrlr,
			     struct svio_nvme_ctrlr_info *info);

/**
 * Geometry of namespace @p nsid (the lookup an application or fio engine
 * uses to pick a namespace by id). Any thread.
 * @return 0, -ENXIO when the namespace does not exist, is inactive or is
 *         one the controller's ns= devarg leaves out,
 *         -ENOTSUP when its format is one the driver refused at attach
 *         (@p info is filled in: separate metadata or protection information).
 */
int svio_nvme_ns_info_get(const struct svio_nvme_ctrlr *ctrlr, uint32_t nsid,
			  struct svio_nvme_ns_info *info);

/**
 * The next namespace id after @p prev (0 starts) the driver drives, or 0
 * after the last: active namespaces (only those the ns= devarg names, when
 * given), less those whose format was refused.
 * Any thread.
 */
uint32_t svio_nvme_ns_next(const struct svio_nvme_ctrlr *ctrlr, uint32_t prev);

/**
 * Per-command timeout (default 5 s; 0 disables). Takes effect for commands
 * submitted afterwards. Any thread. @return 0 or -EINVAL.
 */
int svio_nvme_ctrlr_set_timeout(struct svio_nvme_ctrlr *ctrlr, uint64_t timeout_us);

/**
 * Reset the controller (disable, enable, reinitialise). Queue pairs recover
 * at their next call. Called by the driver itself on timeouts and fatal
 * status. Any thread; queue pairs need not be idle (their outstanding
 * commands complete with -ECANCELED). @return 0, -ETIMEDOUT / -EIO when the
 * controller does not come back (it is then marked failed: every later call
 * returns -ENODEV and outstanding commands complete with it), -ENODEV when it
 * had failed already.
 */
int svio_nvme_ctrlr_reset(struct svio_nvme_ctrlr *ctrlr);

/** Number of resets so far (tests, monitoring). Any thread. */
uint64_t svio_nvme_ctrlr_resets(const struct svio_nvme_ctrlr *ctrlr);

/**
 * Commands whose callback ran before the invalidation of their buffer's
 * streaming mapping was known to have completed (pointer calls without SVA,
 * commands ended without the device: reset, failed controller,
 * svio_nvme_qpair_free()). The driver tries that invalidation a few times
 * before each such callback; when the IOMMU keeps failing it, it logs at ERR,
 * counts the commands here and runs the callbacks anyway. Their buffers are
 * unmapped and their IOVAs stay quarantined in the domain (no other buffer
 * gets them) until a later flush succeeds (the domain retries it with every
 * flush, or with svio_iommu_sync()); until then the device may still reach
 * such a buffer through a translation it cached. An application that sees
 * this count grow should not free or reuse those buffers before
 * svio_iommu_sync() returned 0. Any thread.
 */
uint64_t svio_nvme_ctrlr_unmap_failures(const struct svio_nvme_ctrlr *ctrlr);

/* ---- Queue pairs ---- */

/**
 * Create an I/O queue pair able to hold @p depth outstanding commands
 * (0: 128; clamped to the controller's maximum). Any thread; the pair then
 * belongs to the caller's thread (hand it over with a memory barrier).
 * @return 0, -ENOSPC (no queue id left), -ENOMEM, -EIO (controller refused),
 *         -ENODEV (controller failed, or in fatal status until its reset).
 */
int svio_nvme_qpair_alloc(struct svio_nvme_ctrlr *ctrlr, uint32_t depth,
			  struct svio_nvme_qpair **out);

/**
 * Delete the queues and free the pair. Commands still outstanding complete
 * with -ECANCELED first (-ETIMEDOUT for one that had timed out); submissions
 * on the pair from those callbacks return -ECANCELED. The queue id is given
 * back only after every callback ran. The owner thread (or any, once the
 * owner stopped); not from a completion callback.
 */
void svio_nvme_qpair_free(struct svio_nvme_qpair *qp);

/** Commands submitted and not yet completed. Owner thread. */
uint32_t svio_nvme_qpair_outstanding(const struct svio_nvme_qpair *qp);

/** Depth the pair was created with. Any thread. */
uint32_t svio_nvme_qpair_depth(const struct svio_nvme_qpair *qp);

/**
 * Reap up to @p max completions (0: no limit beyond the queue) and run their
 * callbacks; also checks timeouts and advances the domain's lazy
 * invalidations (svio_iommu_poll). Owner thread only.
 * @return completions reaped, or -ENODEV (controller failed: every
 *         outstanding command completed with -ENODEV), -EAGAIN (controller
 *         resetting right now: poll again), -EIO (the pair's queues could not
 *         be re-created after a reset: free it), -ECANCELED (called from a
 *         callback run by svio_nvme_qpair_free()).
 */
int svio_nvme_qpair_poll(struct svio_nvme_qpair *qp, uint32_t max);

/*
 * I/O submission (owner thread only): @p nlb blocks from @p lba. The buffer
 * is any 4-byte aligned memory or, for the _iova variants, one contiguous
 * IOVA range from svio_dma_map(), of nlb * svio_nvme_ns_info.block_size bytes
 * (with extended metadata each block's data then its metadata). Without SVA the pointer variants
 * map the buffer's pages for the command (device read access for a write, write access for a read)
 * and unmap them before @p cb runs, with the domain's flush policy (strict: invalidated before the
 * callback; lazy: queued, the IOVA not reused before the flush). Commands that end without the
 * device (reset, failed controller, svio_nvme_qpair_free()) have their invalidation completed
 * before the callback in both policies, unless the IOMMU keeps failing it (see
 * svio_nvme_ctrlr_unmap_failures()). Every refusal is logged at DEBUG level
 * (`--log-level=svio.nvme:debug`) naming the check.
 * @return 0 (submitted; @p cb runs from a later poll), -ENXIO (no such
 *         namespace, or one whose format was refused), -ERANGE (beyond the
 *         namespace's end), -EINVAL (misaligned or NULL buffer, nlb 0 or above
 *         65536), -EMSGSIZE (nlb * block_size above the controller's maximum
 *         transfer, svio_nvme_ctrlr_info.max_xfer: the driver does not split
 *         commands; submit at most svio_nvme_ns_info.max_nlb blocks each),
 *         -EAGAIN (queue full, or controller resetting: poll, then retry),
 *         -ENODEV (controller failed), -EIO (queues lost in a reset),
 *         -ECANCELED (from a callback run by svio_nvme_qpair_free(): the pair
 *         is going away), or, pointer variants without SVA, the
 *         svio_dma_map() error (-EINVAL: not a mappable address; -EFAULT:
 *         memory the process does not map with the access the transfer
 *         needs, on the built-in IOMMU; -ENOMEM): nothing stays mapped then.
 *         With SVA on an IOMMU that cannot fault pages in (iommufd), -EFAULT
 *         for a pointer the domain does not map (not DPDK memory, not
 *         svio_dma_map()ed), logged at ERR level naming the buffer.
 */
int svio_nvme_read(struct svio_nvme_qpair *qp, uint32_t nsid, void *buf, uint64_t lba, uint32_t nlb,
		   svio_nvme_cb cb, void *arg);
int svio_nvme_write(struct svio_nvme_qpair *qp, uint32_t nsid, const void *buf, uint64_t lba,
		    uint32_t nlb, svio_nvme_cb cb, void *arg);
int svio_nvme_read_iova(struct svio_nvme_qpair *qp, uint32_t nsid, uint64_t iova, uint64_t lba,
			uint32_t nlb, svio_nvme_cb cb, void *arg);
int svio_nvme_write_iova(struct svio_nvme_qpair *qp, uint32_t nsid, uint64_t iova, uint64_t lba,
			 uint32_t nlb, svio_nvme_cb cb, void *arg);

/** Flush the volatile write cache of @p nsid. Owner thread; returns as svio_nvme_read(). */
int svio_nvme_flush(struct svio_nvme_qpair *qp, uint32_t nsid, svio_nvme_cb cb, void *arg);

/** Zero @p nlb (1..65536) blocks, no data buffer. Owner thread; returns as svio_nvme_read(). */
int svio_nvme_write_zeroes(struct svio_nvme_qpair *qp, uint32_t nsid, uint64_t lba, uint32_t nlb,
			   svio_nvme_cb cb, void *arg);

/**
 * Deallocate (trim) @p nlb blocks: they read as zeroes afterwards. Owner
 * thread; returns as svio_nvme_read(), -ENOTSUP without Dataset Management.
 */
int svio_nvme_deallocate(struct svio_nvme_qpair *qp, uint32_t nsid, uint64_t lba, uint32_t nlb,
			 svio_nvme_cb cb, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* SVIO_NVME_H */
