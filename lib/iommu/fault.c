/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * I/O page faults: a device asked for a translation it could not find.
 * Under SVA the address is checked against the process's own mappings and
 * the page is mapped with the access the process has; pages faulted in stay
 * mapped until unmapped explicitly.
 */
#include <errno.h>
#include <inttypes.h>

#include "svio_x86_pte.h"
#include "iommu_private.h"
#include "vma_cache.h"

/*
 * A group is answered once, on its last request, with a failure if any
 * request of the group failed. Groups with an earlier failure are noted here
 * (under reg_lock); a device has few groups outstanding.
 */
#define FAILED_GROUPS 64

static struct failed_group {
	const struct svio_iommu *iommu;
	uint32_t sid;
	uint16_t group;
	int code;
} failed_groups[FAILED_GROUPS];

static struct failed_group *group_find(const struct svio_iommu *iommu,
				       const struct svio_page_req *req)
{
	for (unsigned int i = 0; i < FAILED_GROUPS; i++) {
		struct failed_group *g = &failed_groups[i];

		if (g->iommu == iommu && g->sid == req->sid && g->group == req->group)
			return g;
	}
	return NULL;
}

static void group_note_failure(const struct svio_iommu *iommu, const struct svio_page_req *req,
			       int code)
{
	struct failed_group *g = group_find(iommu, req);

	if (g == NULL)
		g = group_find(NULL, &(struct svio_page_req){ 0 });
	if (g == NULL)
		return; /* table full: the last request's own status answers */
	*g = (struct failed_group){
		.iommu = iommu, .sid = req->sid, .group = req->group, .code = code
	};
}

/* Status owed for the group of @p req, forgetting the group. */
static int group_take(const struct svio_iommu *iommu, const struct svio_page_req *req, int code)
{
	struct failed_group *g = group_find(iommu, req);

	if (g == NULL)
		return code;
	if (code == SVIO_PAGE_RESP_SUCCESS)
		code = g->code;
	*g = (struct failed_group){ 0 };
	return code;
}

static int resolve(struct svio_domain *dom, uint64_t addr, int need)
{
	uint64_t flags;
	int access, rc;

	if (pgtable_lookup(&dom->pgt, addr, NULL, &flags, NULL) == 0) {
		/* Mapped meanwhile (another request of the group, or a map). */
		if ((need & SVIO_DMA_WRITE) && !(flags & SVIO_PTE_RW))
			return SVIO_PAGE_RESP_INVALID;
		return SVIO_PAGE_RESP_SUCCESS;
	}
	if (!dom->cfg.sva)
		return SVIO_PAGE_RESP_INVALID;
	access = vma_access(addr, need);
	if (access < 0)
		return SVIO_PAGE_RESP_FAILURE;
	if ((access & need) != need)
		return SVIO_PAGE_RESP_INVALID;
	rc = pgtable_map(&dom->pgt, addr, addr, SVIO_PT_PAGE_SIZE, access);
	if (rc == 0)
		__atomic_fetch_add(&dom->mapped, SVIO_PT_PAGE_SIZE, __ATOMIC_RELEASE);
	if (rc == -EEXIST)
		return resolve(dom, addr, need);
	return rc < 0 ? SVIO_PAGE_RESP_FAILURE : SVIO_PAGE_RESP_SUCCESS;
}

void svio_iommu_page_request(struct svio_iommu *iommu, const struct svio_page_req *req)
{
	int need = (req->read ? SVIO_DMA_READ : 0) | (req->write ? SVIO_DMA_WRITE : 0);
	uint64_t addr = req->addr & ~(SVIO_PT_PAGE_SIZE - 1);
	struct svio_domain *dom;
	bool respond = false;
	int code;

	if (need == 0)
		need = SVIO_DMA_READ;
	reg_lock();
	dom = reg_domain_by_pasid(req->pasid);
	if (dom == NULL) {
		IOMMU_LOG(WARNING, "page request sid 0x%x: no domain has PASID %u", req->sid,
			  req->pasid);
		code = SVIO_PAGE_RESP_INVALID;
	} else {
		STAT_ADD(dom, page_requests, 1);
		code = resolve(dom, addr, need);
		if (code != SVIO_PAGE_RESP_SUCCESS) {
			STAT_ADD(dom, page_faults_failed, 1);
			IOMMU_LOG(DEBUG, "page request sid 0x%x addr 0x%" PRIx64 " %s%s: denied",
				  req->sid, addr, req->read ? "r" : "", req->write ? "w" : "");
		}
	}
	if (!req->last) {
		if (code != SVIO_PAGE_RESP_SUCCESS)
			group_note_failure(iommu, req, code);
	} else {
		code = group_take(iommu, req, code);
		respond = true;
	}
	reg_unlock();
	/*
	 * Answered outside reg_lock: posting the response may recover a stopped
	 * queue and report its error (svio_iommu_queue_error takes reg_lock).
	 */
	if (respond && iommu->ops->page_resp != NULL)
		iommu->ops->page_resp(iommu, req, code);
}
