/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueue access as a device does it: every descriptor, ring entry
 * and buffer byte is reached through the IOMMU model (sim_iommu_translate),
 * never through a pointer the driver handed over.
 */
#include <errno.h>
#include <string.h>

#include "sim_iommu.h"
#include "vnet_priv.h"

#define VNET_PAGE 4096u

/* Translate through the burst cache: one IOMMU lookup per page and burst. */
static int tc_translate(struct vnet_model *m, struct vnet_vq *vq, uint64_t addr, bool write,
			uint8_t **host, size_t *avail)
{
	uint64_t page = addr & ~(uint64_t)(VNET_PAGE - 1), off = addr - page;
	struct vnet_tcache *tc = vq != NULL ? &vq->tc : NULL;
	unsigned int i;
	size_t got;
	void *h;
	int rc;

	if (tc != NULL) {
		for (i = 0; i < tc->n; i++) {
			if (tc->e[i].page == page && (tc->e[i].write || !write)) {
				*host = tc->e[i].host + off;
				*avail = VNET_PAGE - off;
				return 0;
			}
		}
	}
	rc = sim_iommu_translate(m->dev, SIM_PASID_NONE, addr, write, &h, &got);
	if (rc < 0)
		return rc;
	*host = h;
	*avail = got;
	if (tc != NULL && got >= VNET_PAGE - off) {
		i = tc->n < VNET_TC_SIZE ? tc->n++ : tc->next++ % VNET_TC_SIZE;
		tc->e[i].page = page;
		tc->e[i].host = (uint8_t *)h - off;
		tc->e[i].write = write;
	}
	return 0;
}

/* A host pointer for [addr, addr + len) when it lies in one page, else NULL. */
void *vnet_dma_ptr(struct vnet_model *m, struct vnet_vq *vq, uint64_t addr, uint32_t len,
		   bool write)
{
	uint8_t *host;
	size_t avail;

	if (tc_translate(m, vq, addr, write, &host, &avail) < 0 || avail < len)
		return NULL;
	return host;
}

int vnet_dma_copy(struct vnet_model *m, struct vnet_vq *vq, uint64_t addr, void *buf, uint32_t len,
		  bool to_mem)
{
	uint8_t *p = buf;

	while (len > 0) {
		uint8_t *host;
		size_t avail, n;
		int rc;

		rc = tc_translate(m, vq, addr, to_mem, &host, &avail);
		if (rc < 0)
			return rc;
		n = avail < len ? avail : len;
		if (to_mem)
			memcpy(host, p, n);
		else
			memcpy(p, host, n);
		p += n;
		addr += n;
		len -= (uint32_t)n;
	}
	return 0;
}

void vnet_vq_reset(struct vnet_vq *vq)
{
	vq->size = 0;
	vq->msix = VIRTIO_MSI_NO_VECTOR;
	vq->enabled = false;
	vq->desc = vq->avail = vq->used = 0;
	vq->last_avail = 0;
	vq->used_idx = 0;
	__atomic_store_n(&vq->ready, false, __ATOMIC_RELEASE);
	vq->broken = false;
	vq->stalled = false;
	vnet_tc_reset(vq);
	__atomic_store_n(&vq->st_packets, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->st_bytes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->st_drops, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->st_overruns, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->st_notifications, 0, __ATOMIC_RELAXED);
}

void vnet_vq_break(struct vnet_model *m, struct vnet_vq *vq, const char *why)
{
	if (!vq->broken)
		VNET_LOG(ERR, "%s: queue %u: %s; the device needs a reset", m->dev->name,
			 (unsigned int)(vq - m->vqs), why);
	vq->broken = true;
	VNET_STAT_ADD(m, ring_errors, 1);
	__atomic_fetch_or(&m->status, VIRTIO_STATUS_DEVICE_NEEDS_RESET, __ATOMIC_RELAXED);
}

uint16_t vnet_vq_avail_idx(struct vnet_model *m, struct vnet_vq *vq)
{
	uint16_t *idx = vnet_dma_ptr(m, vq, vq->avail + 2, 2, false);

	if (idx == NULL) {
		vnet_vq_break(m, vq, "avail ring not reachable");
		return vq->last_avail;
	}
	/*
	 * Pairs with the driver's store: ring entries are visible. Sequentially
	 * consistent for the doorbell handshake (vnet_xfer.c); free on x86.
	 */
	return __atomic_load_n(idx, __ATOMIC_SEQ_CST);
}

int vnet_vq_peek(struct vnet_model *m, struct vnet_vq *vq, uint16_t avail_pos)
{
	uint16_t *slot, head;

	slot = vnet_dma_ptr(m, vq, vq->avail + 4 + 2ull * (avail_pos & (vq->size - 1)), 2, false);
	if (slot == NULL) {
		vnet_vq_break(m, vq, "avail ring not reachable");
		return -EIO;
	}
	head = *slot;
	if (head >= vq->size) {
		vnet_vq_break(m, vq, "avail ring names a descriptor past the table");
		return -EIO;
	}
	return head;
}

int vnet_vq_push_used(struct vnet_model *m, struct vnet_vq *vq, uint16_t pos, uint32_t id,
		      uint32_t len)
{
	/* id and len separately: the used ring is only 4-byte aligned, an element may straddle. */
	uint64_t at = vq->used + 4 + 8ull * (pos & (vq->size - 1));
	uint32_t *pid = vnet_dma_ptr(m, vq, at, 4, true);
	uint32_t *plen = vnet_dma_ptr(m, vq, at + 4, 4, true);

	if (pid == NULL || plen == NULL) {
		vnet_vq_break(m, vq, "used ring not reachable");
		return -EIO;
	}
	if ((at >> 12) != ((at + 7) >> 12))
		VNET_STAT_ADD(m, used_straddles, 1);
	*pid = id;
	*plen = len;
	return 0;
}

void vnet_vq_publish_used(struct vnet_model *m, struct vnet_vq *vq)
{
	uint16_t *idx = vnet_dma_ptr(m, vq, vq->used + 2, 2, true);

	if (idx == NULL) {
		vnet_vq_break(m, vq, "used ring not reachable");
		return;
	}
	/* Release: the used elements and the buffers written are visible first. */
	__atomic_store_n(idx, vq->used_idx, __ATOMIC_RELEASE);
}

void vnet_vq_set_no_notify(struct vnet_model *m, struct vnet_vq *vq, bool no_notify)
{
	uint16_t *flags = vnet_dma_ptr(m, vq, vq->used, 2, true);

	if (flags == NULL) {
		vnet_vq_break(m, vq, "used ring not reachable");
		return;
	}
	/* Sequentially consistent: ordered before the next avail->idx load. */
	__atomic_store_n(flags, no_notify ? VIRTQ_USED_F_NO_NOTIFY : 0, __ATOMIC_SEQ_CST);
}

int vnet_vq_desc(struct vnet_model *m, struct vnet_vq *vq, uint16_t i, struct virtq_desc *d)
{
	struct virtq_desc *p = vnet_dma_ptr(m, vq, vq->desc + 16ull * i, 16, false);

	if (p == NULL) {
		vnet_vq_break(m, vq, "descriptor table not reachable");
		return -EIO;
	}
	*d = *p;
	return 0;
}

int vnet_vq_gather(struct vnet_model *m, struct vnet_vq *vq, uint16_t head, uint8_t *buf,
		   uint32_t cap, uint32_t *len)
{
	uint32_t total = 0, n = 0;
	struct virtq_desc d;
	uint16_t i = head;
	int rc = 0;

	for (;;) {
		if (++n > vq->size) {
			vnet_vq_break(m, vq, "descriptor chain loops");
			return -EIO;
		}
		if (vnet_vq_desc(m, vq, i, &d) < 0)
			return -EIO;
		if (d.flags & (VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_INDIRECT)) {
			vnet_vq_break(m, vq,
				      "transmit chain has a write-only or indirect descriptor");
			return -EIO;
		}
		if (rc == 0 && d.len > cap - total)
			rc = -EMSGSIZE; /* keep walking: the chain must still be well formed */
		if (rc == 0 && d.len > 0) {
			rc = vnet_dma_copy(m, vq, d.addr, buf + total, d.len, false);
			if (rc == 0)
				total += d.len;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= vq->size) {
			vnet_vq_break(m, vq, "descriptor chain leaves the table");
			return -EIO;
		}
		i = d.next;
	}
	*len = total;
	return rc;
}

/*
 * Write @p len bytes of @p src into the writable descriptors of the chain at
 * @p head; *written gets the bytes stored. -EMSGSIZE when the chain is full
 * first (what fits is written).
 */
int vnet_vq_scatter(struct vnet_model *m, struct vnet_vq *vq, uint16_t head, const uint8_t *src,
		    uint32_t len, uint32_t *written)
{
	uint32_t done = 0, n = 0;
	struct virtq_desc d;
	uint16_t i = head;
	int rc;

	for (;;) {
		if (++n > vq->size) {
			vnet_vq_break(m, vq, "descriptor chain loops");
			return -EIO;
		}
		if (vnet_vq_desc(m, vq, i, &d) < 0)
			return -EIO;
		if (!(d.flags & VIRTQ_DESC_F_WRITE) || (d.flags & VIRTQ_DESC_F_INDIRECT)) {
			vnet_vq_break(m, vq,
				      "receive chain has a read-only or indirect descriptor");
			return -EIO;
		}
		if (done < len && d.len > 0) {
			uint32_t c = len - done < d.len ? len - done : d.len;

			rc = vnet_dma_copy(m, vq, d.addr, (void *)(uintptr_t)(src + done), c, true);
			if (rc < 0)
				return rc;
			done += c;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= vq->size) {
			vnet_vq_break(m, vq, "descriptor chain leaves the table");
			return -EIO;
		}
		i = d.next;
	}
	*written = done;
	return done < len ? -EMSGSIZE : 0;
}
