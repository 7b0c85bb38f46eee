/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the NVMe test programs: start-up and synchronous I/O. */
#ifndef NVME_TEST_H
#define NVME_TEST_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nvme_raw.h"
#include "svio_eal.h"
#include "svio_test_eal.h"
#include "svio_iommu.h"
#include "svio_nvme.h"

/* svio_eal_init() with the quiet test options plus @p extra (NULL-terminated). */
static inline int nvme_test_init(const char *const *extra)
{
	return svio_test_eal_init(extra);
}

struct nvme_wait {
	int done;
	struct svio_nvme_cpl cpl;
};

static inline void nvme_wait_cb(void *arg, const struct svio_nvme_cpl *cpl)
{
	struct nvme_wait *w = arg;

	w->cpl = *cpl;
	w->done++;
}

/* Poll until @p w completed (or the queue pair failed). @return cpl.rc or the poll error. */
static inline int nvme_wait_done(struct svio_nvme_qpair *qp, struct nvme_wait *w)
{
	while (!w->done) {
		int rc = svio_nvme_qpair_poll(qp, 0);

		if (rc < 0 && rc != -EAGAIN)
			return rc;
	}
	return w->cpl.rc;
}

/* Synchronous read or write of @p nlb blocks (SVA pointer). */
static inline int nvme_rw_sync(struct svio_nvme_qpair *qp, bool write, uint32_t nsid, void *buf,
			       uint64_t lba, uint32_t nlb)
{
	struct nvme_wait w = { 0 };
	int rc = write ? svio_nvme_write(qp, nsid, buf, lba, nlb, nvme_wait_cb, &w)
		       : svio_nvme_read(qp, nsid, buf, lba, nlb, nvme_wait_cb, &w);

	if (rc < 0)
		return rc;
	return nvme_wait_done(qp, &w);
}

static inline void nvme_fill(void *buf, size_t len, uint64_t seed)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(seed >> 56);
	}
}

/* The IOMMU model saw no device use a translation after its invalidation. */
static inline void nvme_assert_no_stale_use(void)
{
	struct svio_iommu_stats st;

	assert_int_equal(svio_iommu_sync(svio_domain_default()), 0);
	assert_int_equal(svio_iommu_stats_get(svio_domain_default(), &st), 0);
	assert_int_equal(st.stale_uses, 0);
}

/* Map and unmap calls the process domain counted so far. */
struct nvme_map_count {
	uint64_t maps, unmaps;
};

static inline struct nvme_map_count nvme_map_count(void)
{
	struct svio_iommu_stats st;
	struct nvme_map_count n;

	assert_int_equal(svio_iommu_stats_get(svio_domain_default(), &st), 0);
	n.maps = st.maps;
	n.unmaps = st.unmaps;
	return n;
}

/*
 * Since @p before, the pointer API mapped @p commands buffers (one each
 * without SVA, none with it) and every mapping is gone again.
 */
static inline void nvme_assert_mapped_and_released(struct nvme_map_count before, uint64_t commands)
{
	struct nvme_map_count now = nvme_map_count();
	uint64_t expect = svio_domain_sva(svio_domain_default()) ? 0 : commands;

	assert_int_equal(now.maps - before.maps, expect);
	assert_int_equal(now.unmaps - before.unmaps, expect);
}

/* What a completion callback saw: its result and the domain's counters when it ran. */
struct nvme_cb_seen {
	int done, rc;
	struct svio_iommu_stats st;
};

static inline void nvme_seen_cb(void *arg, const struct svio_nvme_cpl *cpl)
{
	struct nvme_cb_seen *s = arg;

	s->rc = cpl->rc;
	s->done++;
	svio_iommu_stats_get(svio_domain_default(), &s->st);
}

/* A page-aligned buffer the device can reach, with its device address. */
struct dbuf {
	uint8_t *va;
	uint64_t iova;
	size_t len;
};

static inline void dbuf_alloc(struct dbuf *b, size_t len)
{
	struct svio_domain *dom = svio_domain_default();

	b->len = (len + 4095) & ~(size_t)4095;
	assert_int_equal(posix_memalign((void **)&b->va, 4096, b->len), 0);
	memset(b->va, 0, b->len);
	if (svio_domain_sva(dom))
		b->iova = (uint64_t)(uintptr_t)b->va;
	else
		assert_int_equal(svio_dma_map(dom, b->va, b->len, SVIO_DMA_RW, &b->iova), 0);
}

static inline void dbuf_free(struct dbuf *b)
{
	struct svio_domain *dom = svio_domain_default();

	if (!svio_domain_sva(dom))
		assert_int_equal(svio_dma_unmap(dom, b->iova, b->len), 0);
	free(b->va);
}

#endif /* NVME_TEST_H */
