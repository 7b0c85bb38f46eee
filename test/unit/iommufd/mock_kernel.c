/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/vfio.h>

#include <rte_log.h>

#include "mock_kernel.h"

struct mock_kernel mock;

void mock_reset(void)
{
	memset(&mock, 0, sizeof(mock));
	mock.range_last = (UINT64_C(1) << 48) - 1;
	mock.next_devid = 100;
}

void mock_install(svio_vfio_ioctl_fn fn)
{
	mock_reset();
	svio_iommufd_set_ioctl(fn);
	svio_iommufd_set_path("/dev/null"); /* any openable file stands for /dev/iommu */
}

void mock_uninstall(void)
{
	svio_iommufd_set_ioctl(NULL);
	svio_iommufd_set_path(NULL);
}

static struct mock_call *record(int fd, unsigned long req)
{
	struct mock_call *c;

	if (mock.n_calls >= MOCK_MAX_CALLS)
		return NULL;
	c = &mock.calls[mock.n_calls++];
	memset(c, 0, sizeof(*c));
	c->req = req;
	c->fd = fd;
	return c;
}

/* Two ranges around the x86 interrupt window; the top shrinks once attached. */
static int iova_ranges(struct svio_iommu_ioas_iova_ranges *q)
{
	struct svio_iommu_iova_range *r = (void *)(uintptr_t)q->allowed_iovas;
	uint64_t top = mock.attached > 0 ? mock.range_last : UINT64_MAX;

	mock.range_reads++;
	if (q->num_iovas < 2) {
		q->num_iovas = 2;
		return -EMSGSIZE;
	}
	r[0].start = 0;
	r[0].last = 0xfedfffff;
	r[1].start = 0xfef00000;
	r[1].last = top;
	q->num_iovas = 2;
	q->out_iova_alignment = 4096;
	return 0;
}

int mock_ioctl(int fd, unsigned long req, void *arg)
{
	struct mock_call *c = record(fd, req);

	if (c == NULL)
		return -E2BIG;
	if (mock.fail_nth != 0 && mock.n_calls == mock.fail_nth)
		return mock.fail_errno != 0 ? -mock.fail_errno : -EIO;
	switch (req) {
	case SVIO_IOMMU_IOAS_ALLOC: {
		struct svio_iommu_ioas_alloc *a = arg;

		if (a->size != sizeof(*a))
			return -EINVAL;
		a->out_ioas_id = MOCK_IOAS_ID;
		mock.live_objs++;
		return 0;
	}
	case SVIO_IOMMU_DESTROY: {
		struct svio_iommu_destroy *d = arg;

		c->id = d->id;
		mock.live_objs--;
		return 0;
	}
	case SVIO_IOMMU_IOAS_IOVA_RANGES: {
		struct svio_iommu_ioas_iova_ranges *q = arg;

		if (q->ioas_id != MOCK_IOAS_ID)
			return -ENOENT;
		return iova_ranges(q);
	}
	case SVIO_IOMMU_IOAS_MAP: {
		struct svio_iommu_ioas_map *m = arg;

		c->flags = m->flags;
		c->id = m->ioas_id;
		c->iova = m->iova;
		c->va = m->user_va;
		c->len = m->length;
		return 0;
	}
	case SVIO_IOMMU_IOAS_UNMAP: {
		struct svio_iommu_ioas_unmap *u = arg;

		c->id = u->ioas_id;
		c->iova = u->iova;
		c->len = u->length;
		return 0;
	}
	case SVIO_IOMMU_HWPT_ALLOC: {
		struct svio_iommu_hwpt_alloc *h = arg;

		c->flags = h->flags;
		c->id = h->pt_id;
		c->data_type = h->data_type;
		if ((h->flags & SVIO_IOMMU_HWPT_ALLOC_PASID) && mock.hwpt_pasid_unsupported)
			return -EOPNOTSUPP;
		if (h->flags & SVIO_IOMMU_HWPT_ALLOC_NEST_PARENT) {
			if (!mock.nest)
				return -EOPNOTSUPP;
			if (mock.nest_parent_error != 0)
				return mock.nest_parent_error;
			h->out_hwpt_id = MOCK_PARENT_ID;
			mock.live_objs++;
			return 0;
		}
		if (h->data_type == SVIO_IOMMU_HWPT_DATA_VTD_S1) {
			const struct svio_iommu_hwpt_vtd_s1 *s1 = (void *)(uintptr_t)h->data_uptr;

			if (h->pt_id != MOCK_PARENT_ID)
				return -EINVAL; /* a nested HWPT needs a nest parent */
			if (h->data_len != sizeof(*s1) || s1->reserved != 0)
				return -EINVAL;
			c->iova = s1->pgtbl_addr;
			c->len = s1->addr_width;
			c->va = s1->flags;
			h->out_hwpt_id = MOCK_S1_ID;
			mock.live_objs++;
			return 0;
		}
		h->out_hwpt_id = MOCK_HWPT_ID;
		mock.live_objs++;
		return 0;
	}
	case SVIO_IOMMU_GET_HW_INFO: {
		struct svio_iommu_hw_info *h = arg;
		struct svio_iommu_hw_info_vtd *v = (void *)(uintptr_t)h->data_uptr;

		if (h->data_len >= sizeof(*v)) {
			v->cap_reg = UINT64_C(0x3f) << 48;
			v->ecap_reg = UINT64_C(1) << 2;
			if (mock.nest) {
				v->cap_reg |= UINT64_C(1) << 56;
				v->ecap_reg |= (UINT64_C(1) << 26) | (UINT64_C(1) << 43) |
					       (UINT64_C(1) << 47);
			}
		}
		h->out_data_type = SVIO_IOMMU_HW_INFO_TYPE_INTEL_VTD;
		h->out_max_pasid_log2 = mock.max_pasid_log2;
		h->out_capabilities = 0;
		return 0;
	}
	case SVIO_VFIO_DEVICE_BIND_IOMMUFD: {
		struct svio_vfio_device_bind_iommufd *b = arg;

		c->argsz = b->argsz;
		if (mock.bind_error != 0)
			return mock.bind_error;
		b->out_devid = mock.next_devid++;
		return 0;
	}
	case SVIO_VFIO_DEVICE_ATTACH_IOMMUFD_PT: {
		struct svio_vfio_device_attach_iommufd_pt *a = arg;

		c->argsz = a->argsz;
		c->flags = a->flags;
		c->id = a->pt_id;
		if (a->flags & SVIO_VFIO_DEVICE_ATTACH_PASID) {
			if (a->argsz < sizeof(*a))
				return -EINVAL;
			c->pasid = a->pasid;
			mock.pasid_attached++;
		} else {
			mock.attached++;
		}
		return 0;
	}
	case SVIO_VFIO_DEVICE_DETACH_IOMMUFD_PT: {
		struct svio_vfio_device_detach_iommufd_pt *d = arg;

		c->argsz = d->argsz;
		c->flags = d->flags;
		if (d->flags & SVIO_VFIO_DEVICE_DETACH_PASID) {
			c->pasid = d->pasid;
			if (mock.pasid_attached > 0)
				mock.pasid_attached--;
		} else if (mock.attached > 0)
			mock.attached--;
		return 0;
	}
	case SVIO_IOMMU_HWPT_INVALIDATE: {
		struct svio_iommu_hwpt_invalidate *q = arg;
		const struct svio_iommu_hwpt_vtd_s1_invalidate *e = (void *)(uintptr_t)q->data_uptr;
		unsigned int n = q->entry_num, i;

		c->id = q->hwpt_id;
		c->iova = q->entry_num;
		q->entry_num = 0;
		if (q->hwpt_id != MOCK_S1_ID)
			return -ENOENT;
		if (q->data_type != SVIO_IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 ||
		    q->entry_len != sizeof(*e))
			return -EINVAL;
		if (mock.inv_handle_max != 0 && n > mock.inv_handle_max)
			n = mock.inv_handle_max;
		for (i = 0; i < n; i++) {
			if (mock.inv_error_at != 0 && mock.n_inv + 1 == mock.inv_error_at)
				return -EINVAL; /* entry_num says how far it got */
			if (e[i].reserved != 0 || (e[i].addr & 4095))
				return -EINVAL;
			if (mock.n_inv < MOCK_MAX_INV)
				mock.inv[mock.n_inv++] = e[i];
			q->entry_num++;
		}
		return 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO:
		return -ENOTTY; /* tests of the PCI bus answer this themselves */
	default:
		return -ENOTTY;
	}
}

int mock_find(unsigned long req, unsigned int nth)
{
	unsigned int i;

	for (i = 0; i < mock.n_calls; i++) {
		if (mock.calls[i].req == req && nth-- == 0)
			return (int)i;
	}
	return -1;
}

unsigned int mock_count(unsigned long req)
{
	unsigned int i, n = 0;

	for (i = 0; i < mock.n_calls; i++)
		n += mock.calls[i].req == req;
	return n;
}

static FILE *log_file;

void log_capture_begin(void)
{
	log_capture_end();
	log_file = tmpfile();
	if (log_file != NULL)
		rte_openlog_stream(log_file);
}

bool log_contains(const char *s)
{
	char buf[8192];
	size_t n;

	if (log_file == NULL)
		return false;
	fflush(log_file);
	rewind(log_file);
	n = fread(buf, 1, sizeof(buf) - 1, log_file);
	buf[n] = '\0';
	fseek(log_file, 0, SEEK_END);
	return strstr(buf, s) != NULL;
}

void log_capture_end(void)
{
	if (log_file != NULL) {
		rte_openlog_stream(NULL);
		fclose(log_file);
		log_file = NULL;
	}
}
