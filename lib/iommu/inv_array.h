/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The invalidation array of a domain: which caches may hold its translations.
 *
 * One entry per cache tag, sorted by (IOMMU instance index, kind with the
 * IOTLB before the device-TLBs of that instance, domain id or source id,
 * PASID), so a flusher walking it meets each instance's IOTLB tag first,
 * then that instance's ATS devices, and can post one wait per instance.
 * A tag shared by several devices (the IOTLB tag of every device behind one
 * instance) appears once with a user count. The array also lists the
 * attached devices (for the naive policy and for detach).
 *
 * Lifetime and ordering rules:
 * - An array is immutable once published. Attach and detach (serialized by
 *   the domain's attach lock) build a new array and publish it with
 *   inv_array_publish(); the old one is freed only after synchronize_rcu().
 * - Readers (flushers) hold rcu_read_lock() from inv_array_get() until they
 *   have polled their last wait: the IOMMU instances named in the array stay
 *   valid for that long.
 * - Attach publishes the device's tags BEFORE the backend attach lets the
 *   device cache translations: a flush that starts after the device can
 *   cache anything sees its tags.
 * - Detach: backend detach first (no new translations), then publish the
 *   array without the device, then invalidate the device's caches, then
 *   synchronize_rcu() so no reader still uses the instance through the old
 *   array; only then may the instance be unregistered.
 */
#ifndef SVIO_IOMMU_INV_ARRAY_H
#define SVIO_IOMMU_INV_ARRAY_H

#include <stdbool.h>
#include <stdint.h>

#include "svio_iommu_backend.h"

struct svio_device;

/** One cache tag. */
struct inv_tag {
	struct svio_iommu *iommu;
	uint8_t kind; /**< enum svio_inv_kind */
	uint16_t did; /**< IOTLB: domain id */
	uint32_t sid; /**< DEVTLB: source id */
	uint32_t pasid;
	uint32_t users; /**< devices sharing this tag */
};

/** One attached device. */
struct inv_dev {
	struct svio_device *dev;
	struct svio_iommu *iommu;
	uint32_t sid; /**< dev->dma.sid, copied at attach */
	uint16_t did;
	bool ats; /**< has a DEVTLB tag */
};

struct inv_array {
	unsigned int n_tags;
	unsigned int n_devs;
	struct inv_tag *tags; /**< sorted, see above */
	struct inv_dev *devs; /**< in attach order */
};

/** Tags of one device: its instance's IOTLB tag and, with ATS, its DEVTLB tag. */
unsigned int inv_dev_tags(const struct inv_dev *d, uint32_t pasid, struct inv_tag tags[2]);

/**
 * A copy of @p old (NULL: empty) plus device @p d and its tags.
 * @return the new array, or NULL on allocation failure.
 */
struct inv_array *inv_array_add(const struct inv_array *old, const struct inv_dev *d,
				uint32_t pasid);

/**
 * A copy of @p old without device @p dev (its tags lose one user).
 * @p last_did is set when the device was the last user of its IOTLB tag.
 * @return the new array (empty arrays are real objects), or NULL on
 *         allocation failure or when @p dev is not in @p old (check first).
 */
struct inv_array *inv_array_remove(const struct inv_array *old, const struct svio_device *dev,
				   uint32_t pasid, bool *last_did);

/** The attached-device record of @p dev, or NULL. */
const struct inv_dev *inv_array_find_dev(const struct inv_array *arr,
					 const struct svio_device *dev);

/** The domain id the array uses on @p iommu, or -ENOENT. */
int inv_array_find_did(const struct inv_array *arr, const struct svio_iommu *iommu);

/** Does any tag name @p iommu? */
bool inv_array_has_iommu(const struct inv_array *arr, const struct svio_iommu *iommu);

void inv_array_free(struct inv_array *arr);

/** Publish @p arr in @p slot (control path, under the attach lock). */
void inv_array_publish(struct inv_array **slot, struct inv_array *arr);

/**
 * Reader side: call between inv_array_read_lock() and inv_array_read_unlock().
 */
struct inv_array *inv_array_get(struct inv_array *const *slot);
void inv_array_read_lock(void);
void inv_array_read_unlock(void);

/** Wait until every reader that may see an unpublished array is gone. */
void inv_array_synchronize(void);

#endif /* SVIO_IOMMU_INV_ARRAY_H */
