/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user frontend: one session with a vhost-user backend (DPDK's
 * net_vhost, OVS-DPDK, VPP) over its unix socket. The calls map one to one
 * onto the protocol's requests; the virtio transport built on them decides
 * their order (owner, features, protocol features, memory table, then per
 * vring num, base, addr, kick, call, enable).
 *
 * Threading: a session is used by one thread at a time (control path only).
 * Returns: 0 or a negative errno; every failure logs one line naming the
 * socket, the request and what was wrong. After -ECONNRESET, -ETIMEDOUT or
 * -EPROTO the session is out of step with the backend: every later call
 * fails with -ENOTCONN; close it (and reconnect).
 */
#ifndef VHOST_USER_H
#define VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost_user_mem.h"

#define VHOST_USER_DEFAULT_TIMEOUT_MS 5000

struct vhost_user_dev;

/* Connects to the backend listening at @p path; *dev on success. */
int vhost_user_dev_open(const char *path, struct vhost_user_dev **dev);
/* Closes the socket and frees @p dev (NULL is ignored). */
void vhost_user_dev_close(struct vhost_user_dev *dev);
/* How long each request waits for its reply (default VHOST_USER_DEFAULT_TIMEOUT_MS). */
void vhost_user_dev_set_timeout(struct vhost_user_dev *dev, int timeout_ms);
/* Whether SET_PROTOCOL_FEATURES negotiated REPLY_ACK (requests then wait for an ack). */
bool vhost_user_dev_reply_ack(const struct vhost_user_dev *dev);

int vhost_user_set_owner(struct vhost_user_dev *dev);
int vhost_user_get_features(struct vhost_user_dev *dev, uint64_t *features);
int vhost_user_set_features(struct vhost_user_dev *dev, uint64_t features);
/* Needs VHOST_USER_F_PROTOCOL_FEATURES offered by GET_FEATURES (-ENOTSUP otherwise). */
int vhost_user_get_protocol_features(struct vhost_user_dev *dev, uint64_t *features);
int vhost_user_set_protocol_features(struct vhost_user_dev *dev, uint64_t features);
/* Needs VHOST_USER_PROTOCOL_F_MQ negotiated (-ENOTSUP otherwise). */
int vhost_user_get_queue_num(struct vhost_user_dev *dev, uint64_t *num);
/* Sends @p t's regions with their fds (which stay the caller's). */
int vhost_user_set_mem_table(struct vhost_user_dev *dev, const struct vhost_user_mem_table *t);

int vhost_user_set_vring_num(struct vhost_user_dev *dev, uint32_t index, uint32_t num);
int vhost_user_set_vring_base(struct vhost_user_dev *dev, uint32_t index, uint32_t base);
/* Ring addresses in the address space of the memory table's guest_addr. */
int vhost_user_set_vring_addr(struct vhost_user_dev *dev, uint32_t index, uint64_t desc,
			      uint64_t avail, uint64_t used);
/* @p fd: an eventfd (stays the caller's), or -1 for none (the peer polls). */
int vhost_user_set_vring_kick(struct vhost_user_dev *dev, uint32_t index, int fd);
int vhost_user_set_vring_call(struct vhost_user_dev *dev, uint32_t index, int fd);
/* Needs VHOST_USER_F_PROTOCOL_FEATURES negotiated (-ENOTSUP otherwise). */
int vhost_user_set_vring_enable(struct vhost_user_dev *dev, uint32_t index, bool enable);
/* Stops the vring; *base is the next avail index the backend would have used. */
int vhost_user_get_vring_base(struct vhost_user_dev *dev, uint32_t index, uint32_t *base);

#endif /* VHOST_USER_H */
