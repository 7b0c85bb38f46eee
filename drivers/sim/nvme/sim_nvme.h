/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The built-in NVMe 1.4 controller model, as the sim bus and tests see it.
 * Drivers never include this: they program the controller through the
 * registers and queues of drivers/nvme/nvme_spec.h.
 *
 * `--vdev sim_nvmeN[,key=val...]`:
 *   size=BYTES      namespace size (K/M/G/T suffixes; default 1G). Memory
 *                   namespaces are sparse: untouched blocks cost nothing
 *                   and read as zeroes.
 *   lba=512|4096    LBA data size (default 512)
 *   ms=0|8|16|64    metadata bytes per block (default 0), as QEMU's nvme-ns
 *   mset=0|1        where the metadata goes: 1 inside each block, after its
 *                   data (extended LBA, FLBAS bit 4: a block is lba + ms
 *                   bytes in host memory); 0 (default) in a separate buffer
 *                   the command's MPTR names (nlb * ms contiguous bytes)
 *   pi=0..3         protection information type reported in DPS (default 0:
 *                   none; needs ms >= 8). The model neither checks nor
 *                   inserts it: commands with PRINFO set are refused with
 *                   Invalid Field on such a namespace
 *   namespaces=N    active namespaces, 1..16 (default 1), each size= bytes
 *                   of data with the format above, ids nsid .. nsid + N - 1
 *   nsid=N          id of the first namespace, 1..1024 (default 1);
 *                   Identify reports NN = the last id, ids below the first
 *                   are inactive
 *   mdts=N          largest transfer: 2^N pages (data plus interleaved
 *                   metadata) per command, 0..8 (default 8; 0: no limit
 *                   beyond 65536 blocks). A larger command completes with
 *                   Invalid Field in Command, DNR set, as QEMU's controller
 *                   answers
 *   queues=N        I/O queue pairs offered, 1..64 (default 8)
 *   mqes=N          largest queue, in entries (2..4096, default 1024)
 *   dstrd=N         doorbell stride 4 << N bytes (0..4, default 0)
 *   latency_ns=N    completion latency of I/O commands (default 0)
 *   mode=inline|thread
 *                   inline (default): a doorbell write executes the commands
 *                   on the writer's thread; thread: a model thread polls the
 *                   doorbells
 *   file=PATH       back the namespace by a file (created and sized when
 *                   size= is given, otherwise its size is used; metadata is
 *                   stored after each block's data); one namespace only
 *   corrupt_reads=N fault injection: every Nth Read command (counted over the
 *                   controller) delivers its data with the last byte flipped;
 *                   the stored data stays intact (default 0: never)
 *   drop_writes=N   fault injection: every Nth Write command completes with
 *                   success but stores nothing; its data is still fetched
 *                   through the IOMMU (an unreachable buffer still fails
 *                   with Data Transfer Error) (default 0: never)
 * plus the DMA devargs of the bus (iommu=, ats=, pasid=, pri=, numa=).
 *
 * Latency in inline mode: commands execute when their SQ doorbell is written,
 * but a completion is posted only once its time has come, checked at every
 * later doorbell write (SQ tail or CQ head) of that queue group. A polling
 * driver that finds its CQ empty while commands are outstanding rewrites the
 * CQ head doorbell (harmless on real hardware), which posts what is due.
 *
 * Every DMA (SQ entry fetch, PRP lists, data, CQ entry) goes through the IOMMU
 * model; a failed data transfer completes the command with Data Transfer
 * Error, a failed queue entry access sets CSTS.CFS.
 *
 * Threading: the test hooks below may be called from any thread.
 */
#ifndef SIM_NVME_H
#define SIM_NVME_H

#include <stdbool.h>
#include <stdint.h>

#include "svio_dev.h"

/** The model the sim bus instantiates for "sim_nvmeN". */
extern const struct sim_model sim_nvme_model;

/** Set CSTS.CFS now: the controller stops until the host resets it (CC.EN 1 -> 0). */
int sim_nvme_inject_fatal(struct svio_device *dev);

/**
 * The next @p n I/O commands fetched never complete: they stay held until the
 * controller resets or, when @p abortable, an Abort names them (completed
 * with Abort Requested). Not abortable: Abort answers "not aborted".
 */
int sim_nvme_inject_hang(struct svio_device *dev, unsigned int n, bool abortable);

struct sim_nvme_stats {
	uint64_t commands; /**< fetched, admin and I/O */
	uint64_t held;	   /**< hung by sim_nvme_inject_hang() */
	uint64_t aborted;  /**< held commands completed by an Abort */
	uint64_t posted;   /**< completion queue entries written */
	uint64_t resident; /**< namespace bytes backed by memory (sparse check) */
};

int sim_nvme_stats_get(struct svio_device *dev, struct sim_nvme_stats *st);

/**
 * Copy blocks of the first namespace straight from the backing store (tests:
 * what the controller holds, independent of any DMA): each block's data,
 * then its metadata (ms bytes) when the format has any.
 * @return 0, -EINVAL, -ERANGE.
 */
int sim_nvme_ns_peek(struct svio_device *dev, uint64_t lba, uint32_t nlb, void *buf);
/** sim_nvme_ns_peek() on namespace @p nsid. */
int sim_nvme_ns_peek_ns(struct svio_device *dev, uint32_t nsid, uint64_t lba, uint32_t nlb,
			void *buf);

#endif /* SIM_NVME_H */
