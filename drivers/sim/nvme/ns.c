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

int sim_nvme_ns_open(struct sim_nvme_ns *ns, const char *file, uint64_t size, uint32_t lba,
		     uint32_t nsid, const char *devname)
{
	uint32_t shift = lba == 4096 ? 12 : 9;
	void *p;
	int rc;

	ns->fd = -1;
	ns->nsid = nsid;
	ns->lba_shift = shift;
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
		if (size == 0)
			size = (uint64_t)st.st_size;
		else if ((uint64_t)st.st_size < size && ftruncate(ns->fd, (off_t)size) < 0) {
			rc = -errno;
			SIM_NVME_LOG(ERR, "%s: cannot size file=%s to %" PRIu64 " bytes: %s",
				     devname, file, size, strerror(errno));
			goto out_close;
		}
	}
	ns->nsze = size >> shift;
	ns->bytes = ns->nsze << shift;
	if (ns->nsze == 0) {
		SIM_NVME_LOG(ERR, "%s: namespace of %" PRIu64 " bytes holds no %u-byte block",
			     devname, size, lba);
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
	uint64_t lo = lba << ns->lba_shift, hi = (lba + nlb) << ns->lba_shift;
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
