/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user message framing on a unix stream socket, with fd passing. */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhost_user_priv.h"
#include "vhost_user_sock.h"

int vhost_user_sock_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock, err;

	if (path == NULL || path[0] == '\0') {
		VU_LOG(ERR, "no socket path given");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		VU_LOG(ERR, "socket path %s is longer than %zu bytes", path,
		       sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		err = -errno;
		VU_LOG(ERR, "%s: cannot create a unix socket: %s", path, strerror(-err));
		return err;
	}
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		VU_LOG(ERR, "cannot connect to %s: %s (is the vhost-user backend listening?)", path,
		       strerror(-err));
		close(sock);
		return err;
	}
	return sock;
}

int vhost_user_sock_send(int sock, const struct vhost_user_msg *msg, const int *fds,
			 unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	size_t len = sizeof(msg->hdr) + msg->hdr.size;
	const char *p = (const char *)msg;
	size_t done = 0;

	if (nfds > VHOST_USER_MAX_FDS || msg->hdr.size > sizeof(msg->payload))
		return -EINVAL;
	while (done < len) {
		struct iovec iov = { .iov_base = (void *)(p + done), .iov_len = len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		/* The fds ride with the first byte only. */
		if (done == 0 && nfds > 0) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EPIPE ? -ECONNRESET : -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_passed_fds(struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

/*
 * Reads exactly @p len bytes by @p deadline. Returns the bytes read before a
 * hang-up (less than @p len), @p len, or a negative errno.
 */
static ssize_t read_full(int sock, char *buf, size_t len, int64_t deadline)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	size_t done = 0;

	while (done < len) {
		struct iovec iov = { .iov_base = buf + done, .iov_len = len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? (ssize_t)done : -errno;
		}
		close_passed_fds(&mh);
		if (mh.msg_flags & MSG_CTRUNC)
			return -EPROTO; /* fds beyond the buffer were dropped by the kernel */
		if (n == 0)
			return (ssize_t)done;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int vhost_user_sock_recv(int sock, struct vhost_user_msg *msg, int timeout_ms, const char **why)
{
	int64_t deadline = now_ms() + timeout_ms;
	ssize_t n;

	n = read_full(sock, (char *)&msg->hdr, sizeof(msg->hdr), deadline);
	if (n == -ETIMEDOUT) {
		*why = "no reply before the timeout";
		return -ETIMEDOUT;
	}
	if (n == -EPROTO) {
		*why = "more file descriptors than a reply may carry";
		return -EPROTO;
	}
	if (n < 0) {
		*why = "receive failed";
		return (int)n;
	}
	if (n == 0) {
		*why = "backend hung up";
		return -ECONNRESET;
	}
	if ((size_t)n < sizeof(msg->hdr)) {
		*why = "backend hung up inside a message header";
		return -EPROTO;
	}
	if (msg->hdr.size > sizeof(msg->payload)) {
		*why = "payload size larger than any vhost-user message";
		return -EPROTO;
	}
	n = read_full(sock, (char *)&msg->payload, msg->hdr.size, deadline);
	if (n == -ETIMEDOUT) {
		*why = "payload shorter than the header says (timed out waiting for the rest)";
		return -EPROTO;
	}
	if (n < 0) {
		*why = "receive failed";
		return (int)n;
	}
	if ((size_t)n < msg->hdr.size) {
		*why = "backend hung up inside a message payload";
		return -EPROTO;
	}
	return 0;
}
