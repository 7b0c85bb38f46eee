/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user message framing on a unix stream socket, with fd passing. */
#ifndef VHOST_USER_SOCK_H
#define VHOST_USER_SOCK_H

#include "vhost_user_proto.h"

/* At most this many fds travel with one message (SET_MEM_TABLE's regions). */
#define VHOST_USER_MAX_FDS VHOST_USER_MAX_REGIONS

/*
 * Connects to the listening unix socket at @p path. Returns the socket
 * (close-on-exec), or a negative errno after one log line naming the path.
 */
int vhost_user_sock_connect(const char *path);

/*
 * Sends @p msg (header and msg->hdr.size payload bytes) with @p nfds file
 * descriptors as SCM_RIGHTS. The fds stay owned by the caller. Returns 0,
 * -ECONNRESET when the backend hung up, or another negative errno. Does not log.
 */
int vhost_user_sock_send(int sock, const struct vhost_user_msg *msg, const int *fds,
			 unsigned int nfds);

/*
 * Receives one message into @p msg, waiting at most @p timeout_ms in total.
 * Fds that arrive with it are closed (no reply the frontend reads carries any).
 * Returns 0; -ETIMEDOUT; -ECONNRESET on hang-up before a header; -EPROTO on a
 * short or oversized message. On failure *why says what was wrong. Does not log.
 */
int vhost_user_sock_recv(int sock, struct vhost_user_msg *msg, int timeout_ms, const char **why);

#endif /* VHOST_USER_SOCK_H */
