/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the NVMe PMD (drivers/nvme only).
 *
 * Lifetime and locking: a controller lives from probe to remove. admin_lock
 * serialises the admin queue, queue id allocation, the qpair list and reset.
 * Reset bumps `gen` to an odd value while it runs and to the next even value
 * when done; a queue pair compares its own gen on every call (one acquire
 * load) and recovers when it differs, so the data path takes no lock.
 */
#ifndef NVME_PRIV_H
#define NVME_PRIV_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>

#include <rte_log.h>

#include "svio_dev.h"
#include "svio_iommu.h"
#include "nvme_raw.h"
#include "svio_nvme.h"

extern int svio_nvme_logtype;
#define NVME_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, svio_nvme_logtype, "nvme: " fmt "\n", ##__VA_ARGS__)

#define NVME_ADMIN_DEPTH     32
#define NVME_ADMIN_BUF	     8192
#define NVME_MAX_XFER	     (2u << 20) /* one PRP list page: 512 entries */
#define NVME_MAX_NS	     16
#define NVME_NSID_MAX	     0xfffffffeu /* highest valid namespace id */
#define NVME_DEFAULT_DEPTH   128
#define NVME_DEFAULT_TIMEOUT 5000000ull /* us */
#define NVME_ADMIN_TIMEOUT   2000000ull /* us */

/*
 * Fault injection for the unwind tests (test/unit/nvme/test_nvme_failnth.c):
 * when set to n > 0, the nth fault point reached fails. 0: off.
 */
extern _Atomic int nvme_fail_nth;

static inline bool nvme_fail_point(void)
{
	return atomic_load_explicit(&nvme_fail_nth, memory_order_relaxed) > 0 &&
	       atomic_fetch_sub(&nvme_fail_nth, 1) == 1;
}

/*
 * Fault injection for the teardown flush (test/unit/nvme): when set to n > 0,
 * the next n flush attempts of commands ending without the device report
 * -EIO without asking the IOMMU, as a hardware failure would. 0: off.
 */
extern _Atomic int nvme_fail_flush;

static inline bool nvme_fail_flush_point(void)
{
	int n = atomic_load_explicit(&nvme_fail_flush, memory_order_relaxed);

	while (n > 0 && !atomic_compare_exchange_weak(&nvme_fail_flush, &n, n - 1))
		;
	return n > 0;
}

/** Memory the device reaches: allocated page aligned and mapped in the domain. */
struct nvme_dma_mem {
	void *va;
	uint64_t iova;
	size_t len;
	bool mapped;
};

int nvme_dma_alloc(struct svio_domain *dom, size_t len, struct nvme_dma_mem *m);
/** Unmap and free once the unmap's invalidation completed (quarantine). */
void nvme_dma_free(struct svio_domain *dom, struct nvme_dma_mem *m);

enum nvme_req_state {
	NVME_REQ_FREE,
	NVME_REQ_ACTIVE,
	NVME_REQ_ABORTING, /* timed out, Abort sent */
};

/*
 * One command slot. map_len/map_iova: the streaming mapping the pointer API
 * made for this command without SVA (0: none, always so while the slot is
 * free); it is taken down before the callback runs, whichever way the command
 * ends. map_len sits in the padding after the flags; map_iova grew the slot
 * from 48 to 56 bytes, still one cache line.
 */
struct nvme_req {
	svio_nvme_cb cb;
	void *arg;
	uint64_t deadline; /* tsc: timeout or abort expiry; 0 none */
	uint8_t state;
	bool timed_out;
	uint32_t map_len;
	uint64_t *prp_list; /* this slot's PRP list page (va) */
	uint64_t prp_iova;
	uint64_t map_iova;
};
static_assert(sizeof(struct nvme_req) <= 64, "a command slot fits one cache line");

/*
 * Why a queue pair takes no command (any value but RUNNING fails the data
 * path's one generation check, so the fast path tests a single byte).
 */
enum nvme_qp_halt {
	NVME_QP_RUNNING,
	NVME_QP_BROKEN, /* queues could not be re-created after a reset */
	NVME_QP_DYING,	/* svio_nvme_qpair_free() runs: every submission -ECANCELED */
};

struct svio_nvme_qpair {
	/* Hot: submit and poll. */
	struct svio_nvme_ctrlr *ctrlr;
	struct svio_device *dev;
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	struct nvme_req *reqs;
	uint16_t *free_ids;
	uint32_t nfree;
	uint32_t depth; /* outstanding commands at most */
	uint32_t qsize; /* entries: depth + 1 */
	uint32_t sq_tail;
	uint32_t cq_head;
	uint16_t phase;
	uint16_t qid;
	uint32_t gen;
	uint64_t sq_db, cq_db;
	uint64_t next_check; /* tsc of the next timeout / CSTS check */
	bool sva;
	bool sva_check; /* SVA where the device reaches only mapped memory (iommufd) */

	/* Cold. */
	TAILQ_ENTRY(svio_nvme_qpair) next;
	struct nvme_dma_mem sq_mem, cq_mem, prp_mem;
	uint8_t halt; /* enum nvme_qp_halt */
	/*
	 * Commands being ended without the device (reset, failure, free), one
	 * bit a slot: taken before any callback runs, so a command a callback
	 * submits is never ended with them. Allocated with the pair: no malloc
	 * on the recovery path.
	 */
	uint64_t *ending;
};

struct svio_nvme_ctrlr {
	struct svio_device *dev;
	struct svio_domain *dom;
	uint64_t cap;
	uint32_t dstrd;
	uint32_t mqes; /* entries (1-based) */
	uint64_t ready_timeout_us;
	_Atomic uint32_t gen;
	_Atomic bool failed;
	_Atomic uint64_t timeout_tsc; /* per command; 0 none */
	_Atomic uint64_t resets;
	_Atomic uint64_t unmap_failures; /* commands ended before their invalidation */

	pthread_mutex_t admin_lock;
	struct nvme_dma_mem asq_mem, acq_mem, abuf_mem;
	uint32_t asq_tail, acq_head;
	uint16_t aphase;
	uint16_t acid;
	uint64_t qid_used; /* bit q: I/O queue pair q in use (1..64) */
	TAILQ_HEAD(, svio_nvme_qpair) qpairs;

	struct svio_nvme_ctrlr_info info;
	struct svio_nvme_ns_info ns[NVME_MAX_NS];      /* the ones driven: info.num_ns */
	struct svio_nvme_ns_info refused[NVME_MAX_NS]; /* formats it cannot drive */
	uint32_t num_refused;
	/* Namespace ids the ns= devarg names (num_ns_sel 0: every active one). */
	uint32_t ns_sel[NVME_MAX_NS];
	unsigned int num_ns_sel;
	bool attached;
};

/* nvme_ctrlr.c */
/** Run an admin command with admin_lock held; data through the admin buffer. */
int nvme_admin_locked(struct svio_nvme_ctrlr *c, struct nvme_sqe *sqe, struct svio_nvme_cpl *cpl);
/** Create (or re-create) the controller queues of @p qp; admin_lock held. */
int nvme_qpair_create_queues(struct svio_nvme_ctrlr *c, struct svio_nvme_qpair *qp);
/** Map a completion status to the errno of struct svio_nvme_cpl. */
int nvme_status_errno(uint16_t sf);
uint64_t nvme_now_us(void);
uint64_t nvme_us_to_tsc(uint64_t us);

#endif /* NVME_PRIV_H */
