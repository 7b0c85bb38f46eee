/* SPDX-License-Identifier: BSD-3-Clause */
/* Device-visible memory of the NVMe PMD: queues, PRP lists, the admin buffer. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nvme_priv.h"

_Atomic int nvme_fail_nth;
_Atomic int nvme_fail_flush;

int nvme_dma_alloc(struct svio_domain *dom, size_t len, struct nvme_dma_mem *m)
{
	size_t size = (len + NVME_PAGE_SIZE - 1) & ~(size_t)(NVME_PAGE_SIZE - 1);
	void *va;
	int rc;

	memset(m, 0, sizeof(*m));
	if (nvme_fail_point() || posix_memalign(&va, NVME_PAGE_SIZE, size) != 0)
		return -ENOMEM;
	memset(va, 0, size);
	rc = svio_dma_map(dom, va, size, SVIO_DMA_RW, &m->iova);
	if (rc == -EEXIST && svio_domain_sva(dom)) {
		/* Already reachable (a page fault mapped it for earlier memory here). */
		m->iova = (uint64_t)(uintptr_t)va;
	} else if (rc < 0) {
		free(va);
		return rc;
	} else {
		m->mapped = true;
	}
	m->va = va;
	m->len = size;
	return 0;
}

static void release_free(void *arg)
{
	free(arg);
}

void nvme_dma_free(struct svio_domain *dom, struct nvme_dma_mem *m)
{
	int rc;

	if (m->va == NULL)
		return;
	rc = m->mapped ? svio_dma_unmap_release(dom, m->iova, m->len, release_free, m->va)
		       : -ENOENT;
	if (rc == -EIO)
		/* Unmapped, not invalidated: the domain frees it after a later flush. */
		NVME_LOG(ERR, "queue memory at iova 0x%" PRIx64 " stays quarantined: %s", m->iova,
			 strerror(-rc));
	else if (rc < 0)
		free(m->va); /* nothing mapped here any more: nothing to wait for */
	memset(m, 0, sizeof(*m));
}
