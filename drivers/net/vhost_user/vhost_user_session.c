/* SPDX-License-Identifier: BSD-3-Clause */
/* A vhost-user session: requests, their replies and acks, and what was negotiated. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhost_user.h"
#include "vhost_user_priv.h"
#include "vhost_user_sock.h"

RTE_LOG_REGISTER_SUFFIX(svio_vhost_user_logtype, net.vhost_user, INFO);

struct vhost_user_dev {
	int sock;
	int timeout_ms;
	bool broken; /* out of step with the backend: no further requests */
	bool features_set;
	uint64_t features; /* offered by GET_FEATURES, then what SET_FEATURES sent */
	uint64_t protocol_features;
	bool reply_ack;
	char path[PATH_MAX];
};

static const char *request_name(uint32_t req)
{
	switch (req) {
	case VHOST_USER_GET_FEATURES:
		return "GET_FEATURES";
	case VHOST_USER_SET_FEATURES:
		return "SET_FEATURES";
	case VHOST_USER_SET_OWNER:
		return "SET_OWNER";
	case VHOST_USER_SET_MEM_TABLE:
		return "SET_MEM_TABLE";
	case VHOST_USER_SET_VRING_NUM:
		return "SET_VRING_NUM";
	case VHOST_USER_SET_VRING_ADDR:
		return "SET_VRING_ADDR";
	case VHOST_USER_SET_VRING_BASE:
		return "SET_VRING_BASE";
	case VHOST_USER_GET_VRING_BASE:
		return "GET_VRING_BASE";
	case VHOST_USER_SET_VRING_KICK:
		return "SET_VRING_KICK";
	case VHOST_USER_SET_VRING_CALL:
		return "SET_VRING_CALL";
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		return "GET_PROTOCOL_FEATURES";
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		return "SET_PROTOCOL_FEATURES";
	case VHOST_USER_GET_QUEUE_NUM:
		return "GET_QUEUE_NUM";
	case VHOST_USER_SET_VRING_ENABLE:
		return "SET_VRING_ENABLE";
	}
	return "unknown request";
}

int vhost_user_dev_open(const char *path, struct vhost_user_dev **out)
{
	struct vhost_user_dev *dev;
	int sock;

	if (out == NULL)
		return -EINVAL;
	if (path != NULL && strlen(path) >= sizeof(dev->path)) {
		VU_LOG(ERR, "socket path is longer than %zu bytes", sizeof(dev->path) - 1);
		return -ENAMETOOLONG;
	}
	sock = vhost_user_sock_connect(path);
	if (sock < 0)
		return sock;
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		VU_LOG(ERR, "%s: out of memory for the session", path);
		close(sock);
		return -ENOMEM;
	}
	dev->sock = sock;
	dev->timeout_ms = VHOST_USER_DEFAULT_TIMEOUT_MS;
	strcpy(dev->path, path);
	*out = dev;
	return 0;
}

void vhost_user_dev_close(struct vhost_user_dev *dev)
{
	if (dev == NULL)
		return;
	close(dev->sock);
	free(dev);
}

void vhost_user_dev_set_timeout(struct vhost_user_dev *dev, int timeout_ms)
{
	dev->timeout_ms = timeout_ms > 0 ? timeout_ms : VHOST_USER_DEFAULT_TIMEOUT_MS;
}

bool vhost_user_dev_reply_ack(const struct vhost_user_dev *dev)
{
	return dev->reply_ack;
}

/* Receives the reply to @p req into @p msg and checks its header; logs once on failure. */
static int recv_reply(struct vhost_user_dev *dev, uint32_t req, struct vhost_user_msg *msg,
		      uint32_t size)
{
	const char *why = NULL;
	int rc;

	rc = vhost_user_sock_recv(dev->sock, msg, dev->timeout_ms, &why);
	if (rc < 0) {
		VU_LOG(ERR, "%s: %s: %s", dev->path, request_name(req), why);
		goto out_broken;
	}
	if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    !(msg->hdr.flags & VHOST_USER_FLAG_REPLY)) {
		VU_LOG(ERR, "%s: %s: reply has flags 0x%x, expected version 1 and the reply bit",
		       dev->path, request_name(req), msg->hdr.flags);
		rc = -EPROTO;
		goto out_broken;
	}
	if (msg->hdr.request != req) {
		VU_LOG(ERR, "%s: %s: reply is for request %u (%s)", dev->path, request_name(req),
		       msg->hdr.request, request_name(msg->hdr.request));
		rc = -EPROTO;
		goto out_broken;
	}
	if (msg->hdr.size != size) {
		VU_LOG(ERR, "%s: %s: reply has a %u-byte payload, expected %u", dev->path,
		       request_name(req), msg->hdr.size, size);
		rc = -EPROTO;
		goto out_broken;
	}
	return 0;

out_broken:
	dev->broken = true;
	return rc;
}

/*
 * Sends @p req with @p size payload bytes and @p nfds fds. With @p reply, waits
 * for a reply of @p reply_size bytes; otherwise waits for the ack when
 * REPLY_ACK was negotiated (an ack other than 0 is the backend's refusal).
 */
static int request(struct vhost_user_dev *dev, uint32_t req, const void *payload, uint32_t size,
		   const int *fds, unsigned int nfds, void *reply, uint32_t reply_size)
{
	struct vhost_user_msg msg = {
		.hdr = { .request = req, .flags = VHOST_USER_VERSION, .size = size }
	};
	bool ack = reply == NULL && dev->reply_ack;
	int rc;

	if (dev->broken) {
		VU_LOG(ERR, "%s: %s: session lost its backend; reconnect", dev->path,
		       request_name(req));
		return -ENOTCONN;
	}
	if (size > 0)
		memcpy(&msg.payload, payload, size);
	if (ack)
		msg.hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	rc = vhost_user_sock_send(dev->sock, &msg, fds, nfds);
	if (rc < 0) {
		VU_LOG(ERR, "%s: %s: %s", dev->path, request_name(req),
		       rc == -ECONNRESET ? "backend hung up" : strerror(-rc));
		dev->broken = true;
		return rc;
	}
	if (reply != NULL) {
		rc = recv_reply(dev, req, &msg, reply_size);
		if (rc == 0)
			memcpy(reply, &msg.payload, reply_size);
		return rc;
	}
	if (!ack)
		return 0;
	rc = recv_reply(dev, req, &msg, sizeof(uint64_t));
	if (rc < 0)
		return rc;
	if (msg.payload.u64 != 0) {
		VU_LOG(ERR, "%s: %s: backend refused it (ack %" PRIu64 ")", dev->path,
		       request_name(req), msg.payload.u64);
		return -EIO;
	}
	return 0;
}

static int request_u64(struct vhost_user_dev *dev, uint32_t req, uint64_t v)
{
	return request(dev, req, &v, sizeof(v), NULL, 0, NULL, 0);
}

int vhost_user_set_owner(struct vhost_user_dev *dev)
{
	return request(dev, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL, 0);
}

int vhost_user_get_features(struct vhost_user_dev *dev, uint64_t *features)
{
	int rc = request(dev, VHOST_USER_GET_FEATURES, NULL, 0, NULL, 0, features,
			 sizeof(*features));

	if (rc == 0 && !dev->features_set)
		dev->features = *features;
	return rc;
}

int vhost_user_set_features(struct vhost_user_dev *dev, uint64_t features)
{
	int rc;

	if (features & ~dev->features) {
		VU_LOG(ERR, "%s: SET_FEATURES: features 0x%" PRIx64 " were not offered", dev->path,
		       features & ~dev->features);
		return -EINVAL;
	}
	rc = request_u64(dev, VHOST_USER_SET_FEATURES, features);
	if (rc == 0) {
		dev->features = features;
		dev->features_set = true;
	}
	return rc;
}

static bool has_protocol_features(const struct vhost_user_dev *dev)
{
	return dev->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
}

int vhost_user_get_protocol_features(struct vhost_user_dev *dev, uint64_t *features)
{
	if (!has_protocol_features(dev)) {
		VU_LOG(ERR, "%s: GET_PROTOCOL_FEATURES: the backend did not offer feature bit %d",
		       dev->path, VHOST_USER_F_PROTOCOL_FEATURES);
		return -ENOTSUP;
	}
	return request(dev, VHOST_USER_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0, features,
		       sizeof(*features));
}

int vhost_user_set_protocol_features(struct vhost_user_dev *dev, uint64_t features)
{
	int rc;

	if (!has_protocol_features(dev)) {
		VU_LOG(ERR, "%s: SET_PROTOCOL_FEATURES: the backend did not offer feature bit %d",
		       dev->path, VHOST_USER_F_PROTOCOL_FEATURES);
		return -ENOTSUP;
	}
	/* The ack (if asked for) only starts after this request took effect. */
	rc = request_u64(dev, VHOST_USER_SET_PROTOCOL_FEATURES, features);
	if (rc == 0) {
		dev->protocol_features = features;
		dev->reply_ack = features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	}
	return rc;
}

int vhost_user_get_queue_num(struct vhost_user_dev *dev, uint64_t *num)
{
	if (!(dev->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_MQ))) {
		VU_LOG(ERR, "%s: GET_QUEUE_NUM: protocol feature MQ was not negotiated", dev->path);
		return -ENOTSUP;
	}
	return request(dev, VHOST_USER_GET_QUEUE_NUM, NULL, 0, NULL, 0, num, sizeof(*num));
}

int vhost_user_set_mem_table(struct vhost_user_dev *dev, const struct vhost_user_mem_table *t)
{
	struct vhost_user_mem_payload mem = { 0 };

	if (t == NULL || t->nregions == 0 || t->nregions > VHOST_USER_MAX_REGIONS) {
		VU_LOG(ERR, "%s: SET_MEM_TABLE: needs 1 to %d regions, got %u", dev->path,
		       VHOST_USER_MAX_REGIONS, t == NULL ? 0 : t->nregions);
		return -EINVAL;
	}
	mem.nregions = t->nregions;
	memcpy(mem.regions, t->regions, sizeof(t->regions[0]) * t->nregions);
	/* The payload carries only the regions in use; the backend checks the size. */
	return request(dev, VHOST_USER_SET_MEM_TABLE, &mem,
		       (uint32_t)(offsetof(struct vhost_user_mem_payload, regions) +
				  sizeof(mem.regions[0]) * t->nregions),
		       t->fds, t->nregions, NULL, 0);
}

static int vring_state(struct vhost_user_dev *dev, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhost_user_vring_state s = { .index = index, .num = num };

	return request(dev, req, &s, sizeof(s), NULL, 0, NULL, 0);
}

int vhost_user_set_vring_num(struct vhost_user_dev *dev, uint32_t index, uint32_t num)
{
	return vring_state(dev, VHOST_USER_SET_VRING_NUM, index, num);
}

int vhost_user_set_vring_base(struct vhost_user_dev *dev, uint32_t index, uint32_t base)
{
	return vring_state(dev, VHOST_USER_SET_VRING_BASE, index, base);
}

int vhost_user_set_vring_addr(struct vhost_user_dev *dev, uint32_t index, uint64_t desc,
			      uint64_t avail, uint64_t used)
{
	struct vhost_user_vring_addr a = {
		.index = index, .desc = desc, .used = used, .avail = avail
	};

	return request(dev, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, NULL, 0);
}

static int vring_file(struct vhost_user_dev *dev, uint32_t req, uint32_t index, int fd)
{
	uint64_t v = index & VHOST_USER_VRING_IDX_MASK;

	if (index > VHOST_USER_VRING_IDX_MASK) {
		VU_LOG(ERR, "%s: %s: vring index %u is above %llu", dev->path, request_name(req),
		       index, VHOST_USER_VRING_IDX_MASK);
		return -EINVAL;
	}
	if (fd < 0)
		v |= VHOST_USER_VRING_NOFD;
	return request(dev, req, &v, sizeof(v), fd < 0 ? NULL : &fd, fd < 0 ? 0 : 1, NULL, 0);
}

int vhost_user_set_vring_kick(struct vhost_user_dev *dev, uint32_t index, int fd)
{
	return vring_file(dev, VHOST_USER_SET_VRING_KICK, index, fd);
}

int vhost_user_set_vring_call(struct vhost_user_dev *dev, uint32_t index, int fd)
{
	return vring_file(dev, VHOST_USER_SET_VRING_CALL, index, fd);
}

int vhost_user_set_vring_enable(struct vhost_user_dev *dev, uint32_t index, bool enable)
{
	if (!has_protocol_features(dev)) {
		VU_LOG(ERR, "%s: SET_VRING_ENABLE: feature bit %d was not negotiated", dev->path,
		       VHOST_USER_F_PROTOCOL_FEATURES);
		return -ENOTSUP;
	}
	return vring_state(dev, VHOST_USER_SET_VRING_ENABLE, index, enable ? 1 : 0);
}

int vhost_user_get_vring_base(struct vhost_user_dev *dev, uint32_t index, uint32_t *base)
{
	struct vhost_user_vring_state s = { .index = index };
	int rc;

	rc = request(dev, VHOST_USER_GET_VRING_BASE, &s, sizeof(s), NULL, 0, &s, sizeof(s));
	if (rc < 0)
		return rc;
	if (s.index != index) {
		VU_LOG(ERR, "%s: GET_VRING_BASE: reply names vring %u, asked for %u", dev->path,
		       s.index, index);
		dev->broken = true;
		return -EPROTO;
	}
	*base = s.num;
	return 0;
}
