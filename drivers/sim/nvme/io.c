/* SPDX-License-Identifier: BSD-3-Clause */
/* NVMe model: PRP walking and the NVM command set (read, write, flush, write zeroes, DSM). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_nvme_priv.h"

#define PS	NVME_PAGE_SIZE
#define PS_MASK (NVME_PAGE_SIZE - 1)

/* One contiguous piece of a transfer. */
static int xfer_seg(struct sim_nvme *c, uint64_t addr, uint8_t *buf, size_t len, bool to_host)
{
	return sim_nvme_dma(c, addr, buf, len, to_host);
}

/*
 * PRP1 may start anywhere in a page (dword aligned); later entries are page
 * aligned. Beyond two pages PRP2 points at a list whose last entry chains to
 * the next list page when more entries are needed. Contiguous entries are
 * merged so a large buffer costs few DMA calls.
 */
uint16_t sim_nvme_prp_xfer(struct sim_nvme *c, const struct nvme_sqe *sqe, void *vbuf, size_t len,
			   bool to_host)
{
	uint8_t *buf = vbuf;
	uint64_t run_addr, list, entries[PS / 8];
	size_t first, run_len, done, left, hops;

	if (sqe->prp1 & 3)
		return NVME_SF(NVME_SCT_GENERIC, NVME_SC_INVALID_PRP_OFFSET);
	first = PS - (sqe->prp1 & PS_MASK);
	if (first > len)
		first = len;
	run_addr = sqe->prp1;
	run_len = first;
	done = first;
	left = len - first;
	if (left == 0)
		goto last_run;
	if (left <= PS) {
		if (sqe->prp2 & PS_MASK)
			return NVME_SF(NVME_SCT_GENERIC, NVME_SC_INVALID_PRP_OFFSET);
		if (sqe->prp2 == run_addr + run_len) {
			run_len += left;
		} else {
			if (xfer_seg(c, run_addr, buf, run_len, to_host) < 0)
				goto out_xfer_error;
			run_addr = sqe->prp2;
			run_len = left;
		}
		done += left;
		goto last_run;
	}
	list = sqe->prp2;
	for (hops = 0; left > 0; hops++) {
		size_t slots = (PS - (list & PS_MASK)) / 8, need = (left + PS - 1) / PS;
		size_t data = need <= slots ? need : slots - 1, i;

		/* A list that chains in circles must not hold the queue forever. */
		if ((list & 7) || hops > len / PS / (PS / 8 - 1) + 1)
			return NVME_SF(NVME_SCT_GENERIC, NVME_SC_INVALID_PRP_OFFSET);
		if (sim_nvme_dma(c, list, entries, (need <= slots ? need : slots) * 8, false) < 0)
			goto out_xfer_error;
		for (i = 0; i < data; i++) {
			size_t seg = left < PS ? left : PS;

			if (entries[i] & PS_MASK)
				return NVME_SF(NVME_SCT_GENERIC, NVME_SC_INVALID_PRP_OFFSET);
			if (entries[i] == run_addr + run_len) {
				run_len += seg;
			} else {
				if (xfer_seg(c, run_addr, buf + done - run_len, run_len, to_host) <
				    0)
					goto out_xfer_error;
				run_addr = entries[i];
				run_len = seg;
			}
			done += seg;
			left -= seg;
		}
		if (left > 0)
			list = entries[slots - 1];
	}
last_run:
	if (xfer_seg(c, run_addr, buf + done - run_len, run_len, to_host) < 0)
		goto out_xfer_error;
	return NVME_SF(NVME_SCT_GENERIC, NVME_SC_SUCCESS);

out_xfer_error:
	return NVME_SF(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
}

static uint16_t sc(uint8_t code)
{
	return NVME_SF(NVME_SCT_GENERIC, code);
}

static uint16_t check_range(const struct sim_nvme_ns *ns, uint64_t slba, uint64_t nlb)
{
	if (slba >= ns->nsze || nlb > ns->nsze - slba)
		return sc(NVME_SC_LBA_OUT_OF_RANGE);
	return 0;
}

/* Fault injection: true for every @p period-th command counted in @p n. */
static bool fault_due(_Atomic uint64_t *n, uint64_t period)
{
	return period != 0 &&
	       (atomic_fetch_add_explicit(n, 1, memory_order_relaxed) + 1) % period == 0;
}

/*
 * A read that delivers bad data: the host gets a copy with its last byte
 * flipped, the namespace keeps what was written (so the fault is in transit,
 * like a link or controller buffer error, and a re-read is clean).
 */
static uint16_t read_corrupted(struct sim_nvme *c, const struct nvme_sqe *sqe, const uint8_t *src,
			       size_t len)
{
	uint8_t *bounce = malloc(len);
	uint16_t st;

	if (bounce == NULL)
		return sc(NVME_SC_INTERNAL);
	memcpy(bounce, src, len);
	bounce[len - 1] ^= 0x5a;
	st = sim_nvme_prp_xfer(c, sqe, bounce, len, true);
	free(bounce);
	return st;
}

/*
 * A write that is acknowledged but never stored: the data still crosses the
 * link into a scratch buffer (so it goes through the IOMMU like any write,
 * and a buffer the device cannot reach still fails), then is thrown away.
 */
static uint16_t write_dropped(struct sim_nvme *c, const struct nvme_sqe *sqe, size_t len)
{
	uint8_t *scratch = malloc(len);
	uint16_t st;

	if (scratch == NULL)
		return sc(NVME_SC_INTERNAL);
	st = sim_nvme_prp_xfer(c, sqe, scratch, len, false);
	free(scratch);
	return st;
}

/*
 * Separate metadata (MPTR): the data goes through the PRPs, the metadata as
 * one contiguous buffer at MPTR; the store keeps them interleaved, so both
 * are gathered (read) or scattered (write) through bounce buffers. @p fault:
 * the read delivers its data's last byte flipped, the write stores nothing.
 */
static uint16_t rw_separate(struct sim_nvme *c, struct sim_nvme_ns *ns, const struct nvme_sqe *sqe,
			    uint64_t slba, uint32_t nlb, bool read, bool fault)
{
	size_t dbs = (size_t)1 << ns->lba_shift, dlen = nlb * dbs, mlen = (size_t)nlb * ns->ms;
	uint8_t *store = ns->data + slba * ns->stride;
	uint8_t *data = malloc(dlen), *md = malloc(mlen);
	uint16_t st = 0;
	uint32_t i;

	if (data == NULL || md == NULL) {
		st = sc(NVME_SC_INTERNAL);
		goto out_free;
	}
	if (sqe->mptr & 3) {
		st = sc(NVME_SC_INVALID_FIELD);
		goto out_free;
	}
	if (read) {
		for (i = 0; i < nlb; i++) {
			memcpy(data + i * dbs, store + (size_t)i * ns->stride, dbs);
			memcpy(md + (size_t)i * ns->ms, store + (size_t)i * ns->stride + dbs,
			       ns->ms);
		}
		if (fault)
			data[dlen - 1] ^= 0x5a;
		st = sim_nvme_prp_xfer(c, sqe, data, dlen, true);
		if (st == 0 && sim_nvme_dma(c, sqe->mptr, md, mlen, true) < 0)
			st = sc(NVME_SC_DATA_XFER_ERROR);
		goto out_free;
	}
	st = sim_nvme_prp_xfer(c, sqe, data, dlen, false);
	if (st == 0 && sim_nvme_dma(c, sqe->mptr, md, mlen, false) < 0)
		st = sc(NVME_SC_DATA_XFER_ERROR);
	if (st == 0 && !fault) {
		for (i = 0; i < nlb; i++) {
			memcpy(store + (size_t)i * ns->stride, data + i * dbs, dbs);
			memcpy(store + (size_t)i * ns->stride + dbs, md + (size_t)i * ns->ms,
			       ns->ms);
		}
	}
out_free:
	free(md);
	free(data);
	return st;
}

static uint16_t io_rw(struct sim_nvme *c, struct sim_nvme_cq *grp, struct sim_nvme_ns *ns,
		      const struct nvme_sqe *sqe, uint64_t *err_lba)
{
	uint64_t slba = (uint64_t)sqe->cdw11 << 32 | sqe->cdw10;
	uint32_t nlb = (sqe->cdw12 & 0xffff) + 1;
	bool read = sqe->opc == NVME_CMD_READ, separate = ns->ms != 0 && !ns->extended;
	/* What the PRPs carry: data, and the metadata when it is inside the blocks. */
	size_t len = (size_t)nlb * (separate ? 1u << ns->lba_shift : ns->stride);
	uint8_t *store = ns->data + slba * ns->stride;
	bool fault;
	uint16_t st;

	*err_lba = slba;
	/* MDTS counts interleaved metadata, not a separate buffer (NVMe 1.4, 5.15.2.1). */
	if (c->mdts != 0 && len > (size_t)PS << c->mdts)
		return sc(NVME_SC_INVALID_FIELD) | NVME_SF_DNR;
	/* Protection information is reported, never checked or inserted here. */
	if (ns->pi != 0 && NVME_RW_PRINFO(sqe->cdw12) != 0)
		return sc(NVME_SC_INVALID_FIELD) | NVME_SF_DNR;
	st = check_range(ns, slba, nlb);
	if (st != 0)
		return st;
	fault = read ? fault_due(&c->fault_reads, c->corrupt_reads)
		     : fault_due(&c->fault_writes, c->drop_writes);
	if (separate)
		st = rw_separate(c, ns, sqe, slba, nlb, read, fault);
	else if (fault)
		st = read ? read_corrupted(c, sqe, store, len) : write_dropped(c, sqe, len);
	else
		st = sim_nvme_prp_xfer(c, sqe, store, len, read);
	if (st != 0)
		return st;
	if (read) {
		atomic_fetch_add_explicit(&grp->reads, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&grp->blocks_read, nlb, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&grp->writes, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&grp->blocks_written, nlb, memory_order_relaxed);
	}
	return 0;
}

static uint16_t io_write_zeroes(struct sim_nvme_ns *ns, const struct nvme_sqe *sqe,
				uint64_t *err_lba)
{
	uint64_t slba = (uint64_t)sqe->cdw11 << 32 | sqe->cdw10;
	uint32_t nlb = (sqe->cdw12 & 0xffff) + 1;
	uint16_t st;

	*err_lba = slba;
	st = check_range(ns, slba, nlb);
	if (st != 0)
		return st;
	sim_nvme_ns_zero(ns, slba, nlb);
	return 0;
}

static uint16_t io_dsm(struct sim_nvme *c, struct sim_nvme_ns *ns, const struct nvme_sqe *sqe,
		       uint64_t *err_lba)
{
	struct nvme_dsm_range r[256];
	uint32_t nr = (sqe->cdw10 & 0xff) + 1, i;
	uint16_t st;

	st = sim_nvme_prp_xfer(c, sqe, r, nr * sizeof(r[0]), false);
	if (st != 0)
		return st;
	for (i = 0; i < nr; i++) {
		*err_lba = r[i].slba;
		st = check_range(ns, r[i].slba, r[i].nlb);
		if (st != 0)
			return st;
	}
	/* Deallocated blocks read as zeroes (DLFEAT); other attributes are hints only. */
	if (sqe->cdw11 & NVME_DSM_AD) {
		for (i = 0; i < nr; i++)
			if (r[i].nlb > 0)
				sim_nvme_ns_zero(ns, r[i].slba, r[i].nlb);
	}
	return 0;
}

uint16_t sim_nvme_io(struct sim_nvme *c, struct sim_nvme_cq *grp, const struct nvme_sqe *sqe,
		     uint64_t *err_lba)
{
	struct sim_nvme_ns *ns;

	*err_lba = 0;
	if (sqe->flags != 0) /* fused operations and SGLs are not supported */
		return sc(NVME_SC_INVALID_FIELD);
	if (sqe->opc == NVME_CMD_FLUSH) {
		if (sqe->nsid == 0xffffffffu) {
			for (uint32_t i = 0; i < c->nns; i++)
				sim_nvme_ns_sync(&c->ns[i]);
			return 0;
		}
		ns = sim_nvme_ns_find(c, sqe->nsid);
		if (ns == NULL)
			return sc(NVME_SC_INVALID_NS);
		sim_nvme_ns_sync(ns);
		return 0;
	}
	switch (sqe->opc) {
	case NVME_CMD_READ:
	case NVME_CMD_WRITE:
	case NVME_CMD_WRITE_ZEROES:
	case NVME_CMD_DSM:
		break;
	default:
		return sc(NVME_SC_INVALID_OPCODE);
	}
	ns = sim_nvme_ns_find(c, sqe->nsid);
	if (ns == NULL)
		return sc(NVME_SC_INVALID_NS);
	switch (sqe->opc) {
	case NVME_CMD_READ:
	case NVME_CMD_WRITE:
		return io_rw(c, grp, ns, sqe, err_lba);
	case NVME_CMD_WRITE_ZEROES:
		return io_write_zeroes(ns, sqe, err_lba);
	default:
		return io_dsm(c, ns, sqe, err_lba);
	}
}
