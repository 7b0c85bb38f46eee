/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Namespace backing store of the NVMe model.
 *
 * Memory namespaces are one anonymous MAP_NORESERVE mapping: the kernel's
 * demand paging is the sparse map (a 1 TiB namespace costs nothing until a
 * block is written; untouched blocks read as zeroes from the shared zero
 * page), and deallocation hands whole pages back with MADV_DONTNEED. File
 * namespaces map the file shared, so the data survives the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_nvme_priv.h"

/* A memory namespace reserves address space only; keep it well inside 47 bits. */
#define NS_MAX_BYTES (16ull << 40)

/* The LBA formats every namespace lists (as QEMU's nvme-ns does): data size x metadata size. */
static const struct {
	uint8_t lbads;
	uint16_t ms;
} lbafs[] = {
	{ 9, 0 }, { 9, 8 }, { 9, 16 }, { 9, 64 }, { 12, 0 }, { 12, 8 }, { 12, 16 }, { 12, 64 },
};

unsigned int sim_nvme_ns_lbaf_list(struct nvme_lbaf *lbaf)
{
	unsigned int i;

	for (i = 0; i < sizeof(lbafs) / sizeof(lbafs[0]); i++) {
		lbaf[i].lbads = lbafs[i].lbads;
		lbaf[i].ms = lbafs[i].ms;
		lbaf[i].rp = 0;
	}
	return i;
}

unsigned int sim_nvme_ns_lbaf_index(const struct sim_nvme_ns *ns)
{
	unsigned int i;

	for (i = 0; i < sizeof(lbafs) / sizeof(lbafs[0]); i++)
		if (lbafs[i].lbads == ns->lba_shift && lbafs[i].ms == ns->ms)
			return i;
	return 0; /* parse_args() admits listed formats only */
}

struct sim_nvme_ns *sim_nvme_ns_find(struct sim_nvme *c, uint32_t nsid)
{
	uint32_t i = nsid - c->ns[0].nsid;

	return nsid >= c->ns[0].nsid && i < c->nns ? &c->ns[i] : NULL;
}

int sim_nvme_ns_open(struct sim_nvme_ns *ns, const char *file, uint64_t size,
		     const struct sim_nvme_ns_format *fmt, uint32_t nsid, const char *devname)
{
	uint32_t shift = fmt->lba == 4096 ? 12 : 9;
	void *p;
	int rc;

	ns->fd = -1;
	ns->nsid = nsid;
	ns->lba_shift = shift;
	ns->ms = fmt->ms;
	ns->extended = fmt->extended && fmt->ms > 0;
	ns->pi = fmt->pi;
	ns->stride = (1u << shift) + fmt->ms;
	if (file != NULL) {
		struct stat st;

		ns->fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (ns->fd < 0) {
			rc = -errno;
			SIM_NVME_LOG(ERR, "%s: file=%s: %s", devname, file, strerror(errno));
			return rc;
		}
		if (fstat(ns->fd, &st) < 0) {
			rc = -errno;
			goto out_close;
		}
		/* The file holds data and metadata: size= counts the data only. */
		if (size == 0)
			size = ((uint64_t)st.st_size / ns->stride) << shift;
		else if ((uint64_t)st.st_size < (size >> shift) * ns->stride &&
			 ftruncate(ns->fd, (off_t)((size >> shift) * ns->stride)) < 0) {
			rc = -errno;
			SIM_NVME_LOG(ERR, "%s: cannot size file=%s to %" PRIu64 " bytes: %s",
				     devname, file, size, strerror(errno));
			goto out_close;
		}
	}
	ns->nsze = size >> shift;
	ns->bytes = ns->nsze * ns->stride;
	if (ns->nsze == 0) {
		SIM_NVME_LOG(ERR, "%s: namespace of %" PRIu64 " bytes holds no %u-byte block",
			     devname, size, fmt->lba);
		rc = -EINVAL;
		goto out_close;
	}
	if (ns->bytes > NS_MAX_BYTES) {
		SIM_NVME_LOG(ERR, "%s: size=%" PRIu64 " is larger than the model's 16T limit",
			     devname, size);
		rc = -EINVAL;
		goto out_close;
	}
	if (ns->fd >= 0)
		p = mmap(NULL, ns->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ns->fd, 0);
	else
		p = mmap(NULL, ns->bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		SIM_NVME_LOG(ERR, "%s: cannot map a %" PRIu64 "-byte namespace: %s", devname,
			     ns->bytes, strerror(errno));
		goto out_close;
	}
	ns->data = p;
	return 0;

out_close:
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
	return rc;
}

void sim_nvme_ns_close(struct sim_nvme_ns *ns)
{
	if (ns->data != NULL)
		munmap(ns->data, ns->bytes);
	ns->data = NULL;
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
}

void sim_nvme_ns_zero(struct sim_nvme_ns *ns, uint64_t lba, uint64_t nlb)
{
	uint64_t lo = lba * ns->stride, hi = (lba + nlb) * ns->stride;
	uint64_t plo = (lo + 4095) & ~4095ull, phi = hi & ~4095ull;

	if (ns->fd >= 0 || plo >= phi) {
		memset(ns->data + lo, 0, hi - lo);
		return;
	}
	memset(ns->data + lo, 0, plo - lo);
	/* Private anonymous pages read as zeroes again once dropped. */
	if (madvise(ns->data + plo, phi - plo, MADV_DONTNEED) < 0)
		memset(ns->data + plo, 0, phi - plo);
	memset(ns->data + phi, 0, hi - phi);
}

void sim_nvme_ns_sync(struct sim_nvme_ns *ns)
{
	if (ns->fd >= 0)
		msync(ns->data, ns->bytes, MS_SYNC);
}
