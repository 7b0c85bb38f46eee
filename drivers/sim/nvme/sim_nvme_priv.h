/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the built-in NVMe controller model (drivers/sim/nvme only).
 *
 * Locking. Every completion queue has a lock that also covers the submission
 * queues bound to it (a queue "group"): the SQ head, the command contexts,
 * the CQ tail/phase and the list of completions waiting to be posted. The
 * PMD binds one SQ to one CQ per lcore, so groups never contend on the data
 * path. Lock order: reg_lock, then cq[0].lock (admin), then cq[1..n].lock in
 * ascending order; I/O processing holds one group lock only. Doorbell values
 * are atomics written without a lock (the driver's release, the model's
 * acquire) so that the model thread (mode=thread) sees the queue entries the
 * driver wrote before ringing.
 *
 * Queue structures are allocated once for every queue id at create time and
 * never freed before destroy, so a doorbell racing with a Delete I/O Queue
 * command reads a dead queue, never freed memory.
 */
#ifndef SIM_NVME_PRIV_H
#define SIM_NVME_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_log.h>

#include "nvme_spec.h"
#include "sim_bus.h"
#include "sim_dma.h"
#include "sim_iommu.h"
#include "sim_nvme.h"

extern int sim_nvme_logtype;
#define SIM_NVME_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, sim_nvme_logtype, "sim_nvme: " fmt "\n", ##__VA_ARGS__)

#define SIM_NVME_MAX_QUEUES 64 /* I/O queue pairs, plus the admin pair */
#define SIM_NVME_MDTS	    8  /* default mdts=: 2^8 pages, 1 MiB per command */
#define SIM_NVME_MAX_NS	    16 /* namespaces= at most */
#define SIM_NVME_ACL	    3  /* 0-based: four outstanding aborts */
#define SIM_NVME_AERL	    3  /* 0-based: four outstanding event requests */
#define SIM_NVME_ERRLOG	    16 /* error log entries kept */
#define SIM_NVME_TO	    4  /* CAP.TO: 2 s */

/* One fetched command, from fetch until its completion is posted. */
struct sim_nvme_cmd {
	struct sim_nvme_cmd *next;
	struct nvme_cqe cqe; /* sqhd and phase filled when posted */
	uint64_t due_ns;     /* latency: post no earlier than this */
};

struct sim_nvme_sq {
	_Atomic uint32_t tail; /* doorbell */
	_Atomic bool live;
	uint16_t qid;
	uint16_t cqid;
	uint32_t size; /* entries */
	uint64_t base; /* bus address */
	uint32_t head;
	uint32_t inflight;	    /* fetched, completion not yet posted */
	struct sim_nvme_cmd *cmds;  /* size contexts */
	struct sim_nvme_cmd *free;  /* free contexts */
	struct sim_nvme_cmd *held;  /* hung by fault injection, until Abort or reset */
	struct sim_nvme_cmd *stuck; /* hung and deaf to Abort, until reset */
};

struct sim_nvme_cq {
	pthread_mutex_t lock;  /* the group lock: this CQ and the SQs bound to it */
	_Atomic uint32_t head; /* doorbell */
	_Atomic bool live;
	uint16_t qid;
	uint32_t size;
	uint64_t base;
	uint32_t tail;
	uint16_t phase;
	uint16_t iv;
	bool ien;
	uint32_t nsq;		  /* SQs bound to it */
	_Atomic bool irq_pending; /* entries posted, vector not raised yet */
	struct sim_nvme_cmd *pend_head, *pend_tail;
	/* SMART counters of this group (relaxed atomics: read by Get Log Page). */
	_Atomic uint64_t reads, writes, blocks_read, blocks_written;
};

/*
 * A namespace and its format. The store keeps each block's metadata right
 * after its data (stride = data + ms bytes), so an extended-format transfer
 * is one straight copy; separate metadata (MPTR) is gathered or scattered.
 */
struct sim_nvme_ns {
	uint32_t nsid;
	uint32_t lba_shift;
	uint32_t ms;	 /* metadata bytes per block, 0 none */
	bool extended;	 /* FLBAS bit 4: metadata inside the block (else MPTR) */
	uint8_t pi;	 /* DPS protection information type, 0 none */
	uint32_t stride; /* stored bytes per block: data + ms */
	uint64_t nsze;	 /* blocks */
	uint64_t bytes;	 /* nsze * stride */
	uint8_t *data;	 /* mmap: anonymous (sparse) or the backing file */
	int fd;		 /* -1 for memory */
};

/* What every namespace of a controller is formatted with. */
struct sim_nvme_ns_format {
	uint32_t lba;  /* data bytes per block: 512 or 4096 */
	uint32_t ms;   /* 0, 8, 16 or 64 */
	bool extended; /* mset=1 */
	uint8_t pi;    /* 0..3 */
};

struct sim_nvme {
	struct svio_device *dev;
	uint32_t nqueues; /* I/O queue pairs the controller offers */
	uint32_t mqes;	  /* CAP.MQES (0-based) */
	uint32_t dstrd;
	uint64_t latency_ns;
	bool thread_mode;
	uint64_t bar_size;

	pthread_mutex_t reg_lock; /* CC, AQA, ASQ, ACQ, enable and reset */
	uint32_t cc;
	uint32_t aqa;
	uint64_t asq, acq;
	_Atomic uint32_t csts;
	_Atomic bool enabled;	       /* processing allowed: RDY and no CFS */
	_Atomic uint32_t intms;	       /* vector mask (INTMS/INTMC) */
	uint32_t nsq_alloc, ncq_alloc; /* Set Features (number of queues), 1-based */
	uint32_t aer_outstanding;      /* under cq[0].lock */
	bool vwc;

	uint32_t mdts; /* 2^mdts pages per command at most; 0: no limit */
	uint32_t nns;  /* namespaces: ns[0..nns) with ids ns[0].nsid up */
	struct sim_nvme_ns ns[SIM_NVME_MAX_NS];

	/* Fault injection. */
	_Atomic uint32_t hang_next;
	_Atomic bool hang_abortable;
	uint64_t corrupt_reads; /* every Nth read returns a flipped byte; 0: never */
	uint64_t drop_writes;	/* every Nth write is acknowledged, not stored; 0: never */
	_Atomic uint64_t fault_reads, fault_writes; /* commands counted for the two above */

	/* Error log (admin context: under cq[0].lock, or any group lock + err_lock). */
	pthread_mutex_t err_lock;
	uint64_t err_count;
	struct nvme_error_log errlog[SIM_NVME_ERRLOG];

	_Atomic uint64_t stat_cmds, stat_held, stat_aborted, stat_posted;

	pthread_t thread;
	bool thread_running;
	_Atomic bool thread_stop;

	struct sim_nvme_sq sq[SIM_NVME_MAX_QUEUES + 1];
	struct sim_nvme_cq cq[SIM_NVME_MAX_QUEUES + 1];
};

/* Every DMA of the model goes through the IOMMU model its device sits behind. */
static inline int sim_nvme_dma(struct sim_nvme *c, uint64_t addr, void *buf, size_t len,
			       bool to_host)
{
	return sim_dma_rw(c->dev, SIM_PASID_NONE, addr, buf, len, to_host);
}

/* regs.c: the device's reg_ops. */
int sim_nvme_reg_read(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
		      uint64_t *val);
int sim_nvme_reg_write(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
		       uint64_t val);

/* model.c */
uint64_t sim_nvme_now_ns(void);
/** Declare a fatal controller error (CSTS.CFS): processing stops until reset. */
void sim_nvme_fatal(struct sim_nvme *c, const char *why);
/** Record a failed command in the error log. */
void sim_nvme_log_error(struct sim_nvme *c, uint16_t sqid, uint16_t cid, uint16_t sf, uint64_t lba,
			uint32_t nsid);

/* queue.c */
/** Execute what is due in group @p cq (locked): fetch from its SQs, post completions. */
void sim_nvme_group_service(struct sim_nvme *c, struct sim_nvme_cq *cq);
/** The same, telling whether there was or still is work (the model thread's idle test). */
bool sim_nvme_group_service_busy(struct sim_nvme *c, struct sim_nvme_cq *cq);
/**
 * Raise the CQ's interrupt vector if entries were posted since the last call
 * and the vector is not masked. Called without any group lock held (the
 * handler runs on this thread and may ring doorbells).
 */
void sim_nvme_cq_notify(struct sim_nvme *c, struct sim_nvme_cq *cq);
int sim_nvme_sq_setup(struct sim_nvme_sq *sq, uint16_t qid, uint16_t cqid, uint32_t size,
		      uint64_t base);
/** Free an SQ's contexts (its group locked), dropping held and pending commands. */
void sim_nvme_sq_teardown(struct sim_nvme *c, struct sim_nvme_sq *sq);
/** Complete a held command of @p sq with @p sf (group locked); false when not held. */
bool sim_nvme_release_held(struct sim_nvme *c, struct sim_nvme_sq *sq, uint16_t cid, uint16_t sf);

/* admin.c: run an admin command; returns the status field, *cdw0 set, or SIM_NVME_HOLD. */
#define SIM_NVME_HOLD 0xffff /* the command stays outstanding (Asynchronous Event Request) */
uint16_t sim_nvme_admin(struct sim_nvme *c, const struct nvme_sqe *sqe, uint32_t *cdw0);

/* io.c */
uint16_t sim_nvme_io(struct sim_nvme *c, struct sim_nvme_cq *grp, const struct nvme_sqe *sqe,
		     uint64_t *err_lba);
/**
 * Move @p len bytes between model memory @p buf and the host pages named by
 * PRP1/PRP2 (and PRP lists). @return a status field (success, invalid PRP
 * offset, data transfer error).
 */
uint16_t sim_nvme_prp_xfer(struct sim_nvme *c, const struct nvme_sqe *sqe, void *buf, size_t len,
			   bool to_host);

/* ns.c */
int sim_nvme_ns_open(struct sim_nvme_ns *ns, const char *file, uint64_t size,
		     const struct sim_nvme_ns_format *fmt, uint32_t nsid, const char *devname);
/** The active namespace @p nsid, or NULL. */
struct sim_nvme_ns *sim_nvme_ns_find(struct sim_nvme *c, uint32_t nsid);
/** Index of @p ns's format in the LBA format list Identify Namespace reports. */
unsigned int sim_nvme_ns_lbaf_index(const struct sim_nvme_ns *ns);
/** Fill the LBA format list (@p lbaf: 16 entries); @return the number of formats. */
unsigned int sim_nvme_ns_lbaf_list(struct nvme_lbaf *lbaf);
void sim_nvme_ns_close(struct sim_nvme_ns *ns);
/** Zero [lba, lba + nlb): whole pages are given back to the system. */
void sim_nvme_ns_zero(struct sim_nvme_ns *ns, uint64_t lba, uint64_t nlb);
void sim_nvme_ns_sync(struct sim_nvme_ns *ns);

#endif /* SIM_NVME_PRIV_H */
