/* SPDX-License-Identifier: BSD-3-Clause */
/* The control queue: one synchronous command at a time. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_pause.h>

#include "virtio_port.h"

#define CTRL_TIMEOUT_MS 1000

int virtio_ctrl_setup(struct virtio_port *p)
{
	/* The control queue follows the data queues: 2N with MQ, else 2. */
	uint16_t qidx = (uint16_t)(virtio_has(p, VIRTIO_NET_F_MQ) ? 2 * p->dev_pairs : 2), size;
	struct virtio_xlate x = { .identity = p->identity };
	struct virtio_ctrlq *c;
	size_t off;
	int rc;

	size = RTE_MIN(p->hw.ops->queue_max(&p->hw, qidx), (uint16_t)64);
	if (size < 4)
		return -EIO;
	c = rte_zmalloc_socket("svio_vnet_ctrl", sizeof(*c), 0, p->dev->numa_node);
	if (c == NULL)
		return -ENOMEM;
	rc = virtio_ring_alloc(p, &c->r, qidx, size, 4096, p->dev->numa_node, &off);
	if (rc < 0) {
		rte_free(c);
		return rc;
	}
	c->buf = (uint8_t *)c->r.mem + off;
	c->buf_iova = virtio_iova(&x, c->buf, 4096);
	p->ctrl = c;
	return 0;
}

void virtio_ctrl_free(struct virtio_port *p)
{
	if (p->ctrl == NULL)
		return;
	virtio_ring_free(p, &p->ctrl->r);
	rte_free(p->ctrl);
	p->ctrl = NULL;
}

/* Where a command's result goes in the control page: data before, status byte last. */
#define CTRL_RESULT_OFF 2048
#define CTRL_RESULT_MAX (4096 - 1 - CTRL_RESULT_OFF)

/*
 * One control command: header, data, status byte, then room for @p rlen
 * bytes of result (copied to @p result when the device says OK).
 * Synchronous: the driver waits for the device (inline models answer on the
 * doorbell).
 * @return 0, -ENOTSUP (no control queue), -EIO (device said no, or an earlier
 * command timed out and the device still has it), -ETIMEDOUT.
 */
int virtio_ctrl_cmd_locked(struct virtio_port *p, uint8_t class, uint8_t cmd, const void *data,
			   uint16_t len, void *result, uint16_t rlen)
{
	struct virtio_ctrlq *c = p->ctrl;
	struct virtio_ring *r;
	uint8_t *status;
	uint64_t deadline;
	uint16_t head;

	if (c == NULL || !p->started)
		return c == NULL ? -ENOTSUP : -EAGAIN;
	if (len > 4096 - 64 || rlen > CTRL_RESULT_MAX || (rlen > 0 && 2 + len > CTRL_RESULT_OFF))
		return -EINVAL;
	r = &c->r;
	if (c->pending) {
		/* The buffer and descriptors are the device's until it answers. */
		if (__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE) == r->used_cons) {
			VIRTIO_LOG(ERR,
				   "%s: control command %u/%u refused: command %u/%u timed out and "
				   "the device still has it; stop and start the port to reset it",
				   p->dev->name, class, cmd, c->pend_class, c->pend_cmd);
			return -EIO;
		}
		/* Its late completion: consume it, so this command waits for its own. */
		r->used_cons++;
		c->pending = false;
		VIRTIO_LOG(WARNING, "%s: control command %u/%u completed late (status %u)",
			   p->dev->name, c->pend_class, c->pend_cmd, c->buf[4096 - 1]);
	}
	c->buf[0] = class;
	c->buf[1] = cmd;
	if (len > 0) /* commands without data may pass NULL */
		memcpy(c->buf + 2, data, len);
	status = c->buf + 4096 - 1;
	*status = 0xff;
	head = (uint16_t)(r->avail_idx & r->mask);
	/* Fixed 3-descriptor chain starting at slot 0: one command at a time. */
	r->desc[0] = (struct virtq_desc){ c->buf_iova, 2, VIRTQ_DESC_F_NEXT, 1 };
	r->desc[1] = (struct virtq_desc){ c->buf_iova + 2, len, VIRTQ_DESC_F_NEXT, 2 };
	r->desc[2] = (struct virtq_desc){ c->buf_iova + 4096 - 1, 1, VIRTQ_DESC_F_WRITE, 0 };
	if (len == 0) {
		r->desc[0].next = 2;
	}
	if (rlen > 0) {
		r->desc[2].flags |= VIRTQ_DESC_F_NEXT;
		r->desc[2].next = 3;
		r->desc[3] = (struct virtq_desc){ c->buf_iova + CTRL_RESULT_OFF, rlen,
						  VIRTQ_DESC_F_WRITE, 0 };
	}
	r->avail->ring[head] = 0;
	r->avail_idx++;
	__atomic_store_n(&r->avail->idx, r->avail_idx, __ATOMIC_RELEASE);
	virtio_notify(&p->hw, r->notify_off, r->qidx);
	deadline = rte_get_timer_cycles() + rte_get_timer_hz() * CTRL_TIMEOUT_MS / 1000;
	while (__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE) == r->used_cons) {
		if (rte_get_timer_cycles() > deadline) {
			VIRTIO_LOG(ERR, "%s: control command %u/%u timed out", p->dev->name, class,
				   cmd);
			c->pending = true;
			c->pend_class = class;
			c->pend_cmd = cmd;
			return -ETIMEDOUT;
		}
		rte_pause();
	}
	r->used_cons++;
	if (*status != VIRTIO_NET_OK) {
		VIRTIO_LOG(ERR, "%s: device refused control command %u/%u", p->dev->name, class,
			   cmd);
		return -EIO;
	}
	if (rlen > 0)
		memcpy(result, c->buf + CTRL_RESULT_OFF, rlen);
	return 0;
}

int virtio_ctrl_cmd_result(struct virtio_port *p, uint8_t class, uint8_t cmd, const void *data,
			   uint16_t len, void *result, uint16_t rlen)
{
	int rc;

	pthread_mutex_lock(&p->ctrl_lock);
	rc = virtio_ctrl_cmd_locked(p, class, cmd, data, len, result, rlen);
	pthread_mutex_unlock(&p->ctrl_lock);
	return rc;
}

int virtio_ctrl_cmd(struct virtio_port *p, uint8_t class, uint8_t cmd, const void *data,
		    uint16_t len)
{
	return virtio_ctrl_cmd_result(p, class, cmd, data, len, NULL, 0);
}
