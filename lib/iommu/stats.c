/* SPDX-License-Identifier: BSD-3-Clause */
/* Domain counters: snapshot, reset, JSON and the /svio/iommu/stats telemetry command. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "iommu_private.h"

/* One table drives the snapshot, the JSON and the telemetry dictionary. */
#define STAT_FIELD(f)                                    \
	{                                                \
#f, offsetof(struct svio_iommu_stats, f) \
	}
static const struct {
	const char *name;
	size_t off;
} stat_fields[] = {
	STAT_FIELD(maps),
	STAT_FIELD(unmaps),
	STAT_FIELD(unmapped_pages),
	STAT_FIELD(desc_iotlb),
	STAT_FIELD(desc_iotlb_domain),
	STAT_FIELD(desc_devtlb),
	STAT_FIELD(desc_wait),
	STAT_FIELD(batches),
	STAT_FIELD(batch_ranges),
	STAT_FIELD(page_requests),
	STAT_FIELD(page_faults_failed),
	STAT_FIELD(quarantined),
	STAT_FIELD(released),
	STAT_FIELD(stale_uses),
	STAT_FIELD(queue_errors),
	STAT_FIELD(modeled_ns),
	STAT_FIELD(kernel_maps),
	STAT_FIELD(kernel_unmaps),
	STAT_FIELD(kernel_unmap_errors),
	STAT_FIELD(deferred_unmaps),
	STAT_FIELD(revived_maps),
	STAT_FIELD(revive_misses),
	STAT_FIELD(revive_disarmed),
	STAT_FIELD(iova_reused),
	STAT_FIELD(iova_freed_pages),
	STAT_FIELD(iova_free_refused),
	STAT_FIELD(iova_high_water),
};

static uint64_t *stat_ptr(struct svio_iommu_stats *st, unsigned int i)
{
	return (uint64_t *)((char *)st + stat_fields[i].off);
}

/* What the domain's instances report, each instance counted once. */
void stats_instances(struct svio_domain *dom, uint64_t *stale, uint64_t *modeled)
{
	const struct inv_array *arr;

	inv_array_read_lock();
	arr = inv_array_get(&dom->inv);
	for (unsigned int i = 0; i < arr->n_tags; i++) {
		struct svio_iommu *iommu = arr->tags[i].iommu;

		if (i > 0 && arr->tags[i - 1].iommu == iommu)
			continue;
		if (iommu->ops->stale_uses != NULL)
			*stale += iommu->ops->stale_uses(iommu);
		if (iommu->ops->modeled_ns != NULL)
			*modeled += iommu->ops->modeled_ns(iommu);
	}
	inv_array_read_unlock();
}

static uint64_t since(uint64_t now, const uint64_t *base)
{
	uint64_t b = __atomic_load_n(base, __ATOMIC_RELAXED);

	return now > b ? now - b : 0;
}

int svio_iommu_stats_get(struct svio_domain *dom, struct svio_iommu_stats *st)
{
	uint64_t stale = 0, modeled = 0;

	if (dom == NULL || st == NULL)
		return -EINVAL;
	for (unsigned int i = 0; i < RTE_DIM(stat_fields); i++)
		*stat_ptr(st, i) = __atomic_load_n(stat_ptr(&dom->stats, i), __ATOMIC_RELAXED);
	stats_instances(dom, &stale, &modeled);
	st->stale_uses = since(stale, &dom->stale_base);
	st->modeled_ns = since(modeled, &dom->modeled_base);
	st->iova_high_water = dom->iova != NULL ? iova_high_water(dom->iova) : 0;
	return 0;
}

void svio_iommu_stats_reset(struct svio_domain *dom)
{
	uint64_t stale = 0, modeled = 0;

	if (dom == NULL)
		return;
	for (unsigned int i = 0; i < RTE_DIM(stat_fields); i++)
		__atomic_store_n(stat_ptr(&dom->stats, i), 0, __ATOMIC_RELAXED);
	stats_instances(dom, &stale, &modeled);
	__atomic_store_n(&dom->stale_base, stale, __ATOMIC_RELAXED);
	__atomic_store_n(&dom->modeled_base, modeled, __ATOMIC_RELAXED);
}

int svio_iommu_stats_json(const struct svio_iommu_stats *st, FILE *f)
{
	if (st == NULL || f == NULL)
		return -EINVAL;
	fputc('{', f);
	for (unsigned int i = 0; i < RTE_DIM(stat_fields); i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", stat_fields[i].name,
			*stat_ptr((struct svio_iommu_stats *)(uintptr_t)st, i));
	fputc('}', f);
	return ferror(f) ? -EIO : 0;
}

static int telemetry_stats(const char *cmd __rte_unused, const char *params __rte_unused,
			   struct rte_tel_data *d)
{
	struct svio_domain *dom = svio_domain_default();
	struct svio_iommu_stats st;

	if (dom == NULL)
		return -ENODEV;
	svio_iommu_stats_get(dom, &st);
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < RTE_DIM(stat_fields); i++)
		rte_tel_data_add_dict_u64(d, stat_fields[i].name, *stat_ptr(&st, i));
	return 0;
}

RTE_INIT(svio_iommu_telemetry_init)
{
	rte_telemetry_register_cmd("/svio/iommu/stats", telemetry_stats,
				   "Counters of the process IOMMU domain. No parameters");
}
