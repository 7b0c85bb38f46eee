/* SPDX-License-Identifier: BSD-3-Clause */
/* Split rings: allocation, DMA registration, handing them to the device. */
#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>

#include "virtio_port.h"

#define RING_ALIGN 4096

/*
 * Rings: descriptors, avail, used, then @p extra bytes; one page-aligned, mapped allocation.
 * The used ring starts 4 bytes past a 64-byte boundary, so that its 8-byte elements (after
 * flags and idx) are 8-byte aligned and none straddles a page. QEMU 7.2 behind a vIOMMU
 * writes the part of an element past a page boundary to a wrong address (its cached DMA
 * slow path goes on at the ring offset, not the device address): with the used ring on a
 * 64-byte boundary every 512th element of a 1024-entry ring lost its len, and its frame.
 */
int virtio_ring_alloc(struct virtio_port *p, struct virtio_ring *r, uint16_t qidx, uint16_t size,
		      size_t extra, int socket, size_t *extra_off)
{
	size_t avail_off = virtq_desc_bytes(size);
	size_t used_off = RTE_ALIGN_CEIL(avail_off + virtq_avail_bytes(size), 64) + 4;
	size_t x_off = RTE_ALIGN_CEIL(used_off + virtq_used_bytes(size), 64);
	size_t len = RTE_ALIGN_CEIL(x_off + extra, RING_ALIGN);
	struct virtio_xlate x = { .identity = p->identity };
	uint16_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	r->mem = rte_zmalloc_socket("svio_vring", len, RING_ALIGN, socket);
	if (r->mem == NULL)
		return -ENOMEM;
	r->mem_len = len;
	if (p->premap) {
		rc = virtio_dma_register(p->dom, r->mem, len, p->identity, &r->dma_handle);
		if (rc < 0) {
			rte_free(r->mem);
			r->mem = NULL;
			return rc;
		}
	}
	if (virtio_iova(&x, r->mem, len) == UINT64_MAX) {
		virtio_dma_unregister(p->dom, r->dma_handle);
		rte_free(r->mem);
		r->mem = NULL;
		return -EFAULT;
	}
	r->desc = r->mem;
	r->avail = (struct virtq_avail *)((uint8_t *)r->mem + avail_off);
	r->used = (struct virtq_used *)((uint8_t *)r->mem + used_off);
	r->size = size;
	r->mask = (uint16_t)(size - 1);
	r->qidx = qidx;
	r->hw = &p->hw;
	/* Interrupts are not used: tell the device not to send them. */
	r->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	for (i = 0; i < size; i++)
		r->desc[i].next = (uint16_t)(i + 1);
	if (extra_off != NULL)
		*extra_off = x_off;
	return 0;
}

void virtio_ring_free(struct virtio_port *p, struct virtio_ring *r)
{
	if (r->mem == NULL)
		return;
	virtio_dma_unregister(p->dom, r->dma_handle);
	rte_free(r->mem);
	memset(r, 0, sizeof(*r));
}

/* Hand a ring to the device (start). */
int virtio_ring_program(struct virtio_port *p, struct virtio_ring *r)
{
	struct virtio_xlate x = { .identity = p->identity };
	struct virtio_queue_addr a = {
		.size = r->size,
		.desc = virtio_iova(&x, r->desc, virtq_desc_bytes(r->size)),
		.avail = virtio_iova(&x, r->avail, virtq_avail_bytes(r->size)),
		.used = virtio_iova(&x, r->used, virtq_used_bytes(r->size)),
	};

	return p->hw.ops->queue_setup(&p->hw, r->qidx, &a, &r->notify_off);
}

/* Rings restart from zero after a device reset. */
void virtio_ring_rewind(struct virtio_ring *r)
{
	uint16_t i;

	r->avail_idx = 0;
	r->used_cons = 0;
	r->avail->idx = 0;
	r->used->idx = 0;
	r->used->flags = 0;
	for (i = 0; i < r->size; i++)
		r->desc[i].next = (uint16_t)(i + 1);
}

/*
 * Ring size for @p nb_desc on a queue the device lets hold @p max: 0 picks
 * VIRTIO_DEF_DESC clamped to the queue (DPDK's virtio clamps to the queue
 * size too); an explicit count must fit. Logs the queue's limit when not.
 */
int virtio_ring_size(const struct virtio_port *p, const char *dir, uint16_t qid, uint16_t max,
		     uint16_t nb_desc, uint16_t *size)
{
	if (nb_desc == 0)
		nb_desc = RTE_MIN(VIRTIO_DEF_DESC, max);
	if (nb_desc < VIRTIO_MIN_DESC || nb_desc > max || (nb_desc & (nb_desc - 1))) {
		VIRTIO_LOG(ERR,
			   "%s: %s queue %u: %u descriptors: the device's queue takes at most %u "
			   "(a power of two, %u..%u)",
			   p->dev->name, dir, qid, nb_desc, max, VIRTIO_MIN_DESC, max);
		return -EINVAL;
	}
	*size = nb_desc;
	return 0;
}
