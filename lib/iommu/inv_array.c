/* SPDX-License-Identifier: BSD-3-Clause */
/* The invalidation array: copy-on-update, RCU-published (see inv_array.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-bp.h>

#include "inv_array.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
/*
 * liburcu-bp synchronizes readers and writers inside the (uninstrumented)
 * library; tell ThreadSanitizer that a grace period orders every read-side
 * section before it with what follows.
 */
static char rcu_tsan_sync;
#define RCU_TSAN_READER_DONE() __tsan_release(&rcu_tsan_sync)
#define RCU_TSAN_GP_DONE()     __tsan_acquire(&rcu_tsan_sync)
#else
#define RCU_TSAN_READER_DONE() \
	do {                   \
	} while (0)
#define RCU_TSAN_GP_DONE() \
	do {               \
	} while (0)
#endif

static int tag_cmp(const struct inv_tag *a, const struct inv_tag *b)
{
	uint32_t ka, kb;

	if (a->iommu->index != b->iommu->index)
		return a->iommu->index < b->iommu->index ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	ka = a->kind == SVIO_INV_IOTLB ? a->did : a->sid;
	kb = b->kind == SVIO_INV_IOTLB ? b->did : b->sid;
	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (a->pasid != b->pasid)
		return a->pasid < b->pasid ? -1 : 1;
	return 0;
}

unsigned int inv_dev_tags(const struct inv_dev *d, uint32_t pasid, struct inv_tag tags[2])
{
	unsigned int n = 0;

	tags[n++] = (struct inv_tag){
		.iommu = d->iommu, .kind = SVIO_INV_IOTLB, .did = d->did, .pasid = pasid, .users = 1
	};
	if (d->ats)
		tags[n++] = (struct inv_tag){ .iommu = d->iommu,
					      .kind = SVIO_INV_DEVTLB,
					      .sid = d->sid,
					      .pasid = pasid,
					      .users = 1 };
	return n;
}

/* One allocation holds the header and both arrays. */
static struct inv_array *array_alloc(unsigned int n_tags, unsigned int n_devs)
{
	size_t sz = sizeof(struct inv_array) + n_tags * sizeof(struct inv_tag) +
		    n_devs * sizeof(struct inv_dev);
	struct inv_array *arr = calloc(1, sz);

	if (arr == NULL)
		return NULL;
	arr->tags = (struct inv_tag *)(arr + 1);
	arr->devs = (struct inv_dev *)(arr->tags + n_tags);
	return arr;
}

struct inv_array *inv_array_add(const struct inv_array *old, const struct inv_dev *d,
				uint32_t pasid)
{
	struct inv_tag add[2];
	unsigned int n_add = inv_dev_tags(d, pasid, add);
	unsigned int old_tags = old ? old->n_tags : 0;
	unsigned int old_devs = old ? old->n_devs : 0;
	struct inv_array *arr = array_alloc(old_tags + n_add, old_devs + 1);

	if (arr == NULL)
		return NULL;
	if (old_tags)
		memcpy(arr->tags, old->tags, old_tags * sizeof(*arr->tags));
	arr->n_tags = old_tags;
	for (unsigned int i = 0; i < n_add; i++) {
		unsigned int pos = 0;
		int c = 1;

		while (pos < arr->n_tags && (c = tag_cmp(&arr->tags[pos], &add[i])) < 0)
			pos++;
		if (pos < arr->n_tags && c == 0) {
			arr->tags[pos].users++;
			continue;
		}
		memmove(&arr->tags[pos + 1], &arr->tags[pos],
			(arr->n_tags - pos) * sizeof(*arr->tags));
		arr->tags[pos] = add[i];
		arr->n_tags++;
	}
	if (old_devs)
		memcpy(arr->devs, old->devs, old_devs * sizeof(*arr->devs));
	arr->devs[old_devs] = *d;
	arr->n_devs = old_devs + 1;
	return arr;
}

struct inv_array *inv_array_remove(const struct inv_array *old, const struct svio_device *dev,
				   uint32_t pasid, bool *last_did)
{
	const struct inv_dev *d = inv_array_find_dev(old, dev);
	struct inv_tag del[2];
	unsigned int n_del, j = 0;
	struct inv_array *arr;

	if (d == NULL)
		return NULL;
	n_del = inv_dev_tags(d, pasid, del);
	arr = array_alloc(old->n_tags, old->n_devs - 1);
	if (arr == NULL)
		return NULL;
	*last_did = false;
	for (unsigned int i = 0; i < old->n_tags; i++) {
		struct inv_tag t = old->tags[i];

		for (unsigned int k = 0; k < n_del; k++) {
			if (tag_cmp(&t, &del[k]) == 0) {
				t.users--;
				if (t.users == 0 && t.kind == SVIO_INV_IOTLB)
					*last_did = true;
			}
		}
		if (t.users > 0)
			arr->tags[j++] = t;
	}
	arr->n_tags = j;
	j = 0;
	for (unsigned int i = 0; i < old->n_devs; i++)
		if (&old->devs[i] != d)
			arr->devs[j++] = old->devs[i];
	arr->n_devs = j;
	return arr;
}

const struct inv_dev *inv_array_find_dev(const struct inv_array *arr, const struct svio_device *dev)
{
	if (arr == NULL)
		return NULL;
	for (unsigned int i = 0; i < arr->n_devs; i++)
		if (arr->devs[i].dev == dev)
			return &arr->devs[i];
	return NULL;
}

int inv_array_find_did(const struct inv_array *arr, const struct svio_iommu *iommu)
{
	if (arr == NULL)
		return -ENOENT;
	for (unsigned int i = 0; i < arr->n_tags; i++)
		if (arr->tags[i].iommu == iommu && arr->tags[i].kind == SVIO_INV_IOTLB)
			return arr->tags[i].did;
	return -ENOENT;
}

bool inv_array_has_iommu(const struct inv_array *arr, const struct svio_iommu *iommu)
{
	if (arr == NULL)
		return false;
	for (unsigned int i = 0; i < arr->n_tags; i++)
		if (arr->tags[i].iommu == iommu)
			return true;
	return false;
}

void inv_array_free(struct inv_array *arr)
{
	free(arr);
}

/*
 * C11 release/acquire instead of rcu_assign_pointer()/rcu_dereference():
 * the same instructions on x86-64, and ThreadSanitizer understands them
 * (liburcu 0.13 uses volatile accesses it reports as races).
 */
void inv_array_publish(struct inv_array **slot, struct inv_array *arr)
{
	__atomic_store_n(slot, arr, __ATOMIC_RELEASE);
}

struct inv_array *inv_array_get(struct inv_array *const *slot)
{
	return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
}

void inv_array_read_lock(void)
{
	rcu_read_lock();
}

void inv_array_read_unlock(void)
{
	RCU_TSAN_READER_DONE();
	rcu_read_unlock();
}

void inv_array_synchronize(void)
{
	synchronize_rcu();
	RCU_TSAN_GP_DONE();
}
