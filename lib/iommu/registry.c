/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Registry of IOMMU instances and domains: lookup by instance index and by
 * PASID, domain-id and PASID allocation, queue error reports.
 */
#include <errno.h>
#include <stdlib.h>

#include "svio_dev.h"
#include "iommu_private.h"
#include "inv_array.h"

RTE_LOG_REGISTER_SUFFIX(svio_iommu_logtype, iommu, INFO);

/** Core state hung on svio_iommu.core. */
struct iommu_core {
	uint8_t *did_used;     /**< one byte per domain id; id 0 is reserved */
	unsigned int attached; /**< devices attached through this instance */
};

static pthread_mutex_t reg_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct svio_iommu *instances[SVIO_IOMMU_MAX_INSTANCES];
static TAILQ_HEAD(, svio_domain) domains = TAILQ_HEAD_INITIALIZER(domains);

void reg_lock(void)
{
	pthread_mutex_lock(&reg_mutex);
}

void reg_unlock(void)
{
	pthread_mutex_unlock(&reg_mutex);
}

int svio_iommu_register(struct svio_iommu *iommu)
{
	const struct svio_iommu_ops *ops = iommu ? iommu->ops : NULL;
	struct iommu_core *core;
	int free_slot = -1, rc;

	if (ops == NULL || !ops->attach || !ops->detach || !ops->inv_post || !ops->wait_post ||
	    !ops->wait_poll) {
		IOMMU_LOG(ERR, "register: ops missing attach/detach/inv_post/wait_post/wait_poll");
		return -EINVAL;
	}
	if (!iommu->caps.first_stage && (!ops->map || !ops->unmap)) {
		IOMMU_LOG(ERR, "register %s: an instance without first stage needs map and unmap",
			  ops->name);
		return -EINVAL;
	}
	if (iommu->caps.domain_ids < 2 || iommu->caps.domain_ids > 65536) {
		IOMMU_LOG(ERR, "register %s: domain_ids %u not in 2..65536", ops->name,
			  iommu->caps.domain_ids);
		return -EINVAL;
	}
	core = calloc(1, sizeof(*core));
	if (core == NULL)
		return -ENOMEM;
	core->did_used = calloc(iommu->caps.domain_ids, 1);
	if (core->did_used == NULL) {
		rc = -ENOMEM;
		goto out_free_core;
	}
	core->did_used[0] = 1;

	reg_lock();
	for (int i = 0; i < SVIO_IOMMU_MAX_INSTANCES; i++) {
		if (instances[i] == NULL) {
			if (free_slot < 0)
				free_slot = i;
		} else if (instances[i] == iommu || instances[i]->index == iommu->index) {
			IOMMU_LOG(ERR, "register %s: instance %u already registered", ops->name,
				  iommu->index);
			rc = -EEXIST;
			goto out_unlock;
		}
	}
	if (free_slot < 0) {
		IOMMU_LOG(ERR, "register %s: more than %d instances", ops->name,
			  SVIO_IOMMU_MAX_INSTANCES);
		rc = -ENOSPC;
		goto out_unlock;
	}
	iommu->core = core;
	instances[free_slot] = iommu;
	reg_unlock();
	return 0;

out_unlock:
	reg_unlock();
	free(core->did_used);
out_free_core:
	free(core);
	return rc;
}

int svio_iommu_unregister(struct svio_iommu *iommu)
{
	struct iommu_core *core;
	int rc = -ENOENT;

	if (iommu == NULL)
		return -EINVAL;
	reg_lock();
	for (int i = 0; i < SVIO_IOMMU_MAX_INSTANCES; i++) {
		if (instances[i] != iommu)
			continue;
		core = iommu->core;
		if (core->attached > 0) {
			rc = -EBUSY;
			break;
		}
		instances[i] = NULL;
		iommu->core = NULL;
		free(core->did_used);
		free(core);
		rc = 0;
		break;
	}
	reg_unlock();
	return rc;
}

struct svio_iommu *reg_iommu_hold(struct svio_device *dev)
{
	struct svio_iommu *iommu = NULL;

	reg_lock();
	for (int i = 0; i < SVIO_IOMMU_MAX_INSTANCES; i++) {
		/* The instance the device resolved to before, if still registered. */
		if (instances[i] != NULL &&
		    (dev->dma.iommu != NULL ? instances[i] == dev->dma.iommu
					    : instances[i]->index == dev->dma.iommu_index)) {
			iommu = instances[i];
			break;
		}
	}
	/* Held under the lock: unregister cannot free its core from here on. */
	if (iommu != NULL) {
		struct iommu_core *core = iommu->core;

		core->attached++;
	}
	reg_unlock();
	if (iommu != NULL)
		dev->dma.iommu = iommu;
	return iommu;
}

const struct pgtable_page_ops *reg_table_pages(void)
{
	const struct pgtable_page_ops *pages = NULL;

	reg_lock();
	for (int i = 0; i < SVIO_IOMMU_MAX_INSTANCES && pages == NULL; i++) {
		const struct svio_iommu *iommu = instances[i];

		if (iommu != NULL && iommu->caps.first_stage && iommu->ops->table_pages != NULL)
			pages = iommu->ops->table_pages(instances[i]);
	}
	reg_unlock();
	return pages;
}

int reg_did_alloc(struct svio_iommu *iommu)
{
	struct iommu_core *core = iommu->core;
	int did = -ENOSPC;

	reg_lock();
	for (unsigned int i = 1; i < iommu->caps.domain_ids; i++) {
		if (!core->did_used[i]) {
			core->did_used[i] = 1;
			did = (int)i;
			break;
		}
	}
	reg_unlock();
	return did;
}

void reg_did_free(struct svio_iommu *iommu, uint16_t did)
{
	struct iommu_core *core = iommu->core;

	reg_lock();
	if (did > 0 && did < iommu->caps.domain_ids)
		core->did_used[did] = 0;
	reg_unlock();
}

void reg_iommu_put(struct svio_iommu *iommu)
{
	struct iommu_core *core = iommu->core;

	reg_lock();
	core->attached--;
	reg_unlock();
}

int reg_domain_add(struct svio_domain *dom)
{
	struct svio_domain *d;
	uint32_t pasid = 1;

	reg_lock();
	/* Few domains per process: the smallest PASID nobody uses. */
	for (;;) {
		bool used = false;

		TAILQ_FOREACH (d, &domains, next) {
			if (d->pasid == pasid) {
				used = true;
				break;
			}
		}
		if (!used)
			break;
		if (++pasid > SVIO_PASID_MAX) {
			reg_unlock();
			return -ENOSPC;
		}
	}
	dom->pasid = pasid;
	TAILQ_INSERT_TAIL(&domains, dom, next);
	reg_unlock();
	return 0;
}

void reg_domain_del(struct svio_domain *dom)
{
	reg_lock();
	TAILQ_REMOVE(&domains, dom, next);
	reg_unlock();
}

struct svio_domain *reg_domain_holding(const struct svio_device *dev)
{
	struct svio_domain *d, *found = NULL;

	reg_lock();
	inv_array_read_lock();
	TAILQ_FOREACH (d, &domains, next) {
		if (inv_array_find_dev(inv_array_get(&d->inv), dev) != NULL) {
			found = d;
			break;
		}
	}
	inv_array_read_unlock();
	reg_unlock();
	return found;
}

struct svio_domain *reg_domain_by_pasid(uint32_t pasid)
{
	struct svio_domain *d;

	TAILQ_FOREACH (d, &domains, next)
		if (d->pasid == pasid)
			return d;
	return NULL;
}

void svio_iommu_queue_error(struct svio_iommu *iommu)
{
	struct svio_domain *d;

	IOMMU_LOG(ERR, "invalidation queue error on instance %u", iommu->index);
	/* The backend fails its pending waits; flushers see -EIO from wait_poll. */
	reg_lock();
	TAILQ_FOREACH (d, &domains, next) {
		bool mine;

		inv_array_read_lock();
		mine = inv_array_has_iommu(inv_array_get(&d->inv), iommu);
		inv_array_read_unlock();
		if (mine)
			STAT_ADD(d, queue_errors, 1);
	}
	reg_unlock();
}
