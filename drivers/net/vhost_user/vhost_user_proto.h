/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user wire format, frontend side: request codes, header flags,
 * feature bits and payload layouts, as the vhost-user specification defines
 * them. Every message is a 12-byte header (request, flags, payload size)
 * followed by the payload; file descriptors travel as SCM_RIGHTS ancillary
 * data with the header. All fields are in the host's byte order.
 */
#ifndef VHOST_USER_PROTO_H
#define VHOST_USER_PROTO_H

#include <stdint.h>

/* Frontend -> backend requests used by svio. */
enum vhost_user_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
};

/* Header flags: protocol version in bits 0-1, then reply and need-reply. */
#define VHOST_USER_VERSION_MASK	   0x3u
#define VHOST_USER_VERSION	   0x1u
#define VHOST_USER_FLAG_REPLY	   (1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY (1u << 3)

/* Virtio feature bit 30: the backend speaks GET/SET_PROTOCOL_FEATURES. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
#define VHOST_USER_PROTOCOL_F_MQ	0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3

/* Vring file payload (KICK/CALL): index in bits 0-7, bit 8 = no fd attached. */
#define VHOST_USER_VRING_IDX_MASK 0xffull
#define VHOST_USER_VRING_NOFD	  (1ull << 8)

/* Without CONFIGURE_MEM_SLOTS, SET_MEM_TABLE carries at most 8 regions. */
#define VHOST_USER_MAX_REGIONS 8

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes after this header */
} __attribute__((packed));

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags; /* bit 0: log the used ring (unused here) */
	uint64_t desc;	/* addresses in the frontend's address space */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vhost_user_region {
	uint64_t guest_addr; /* the address rings and descriptors use */
	uint64_t size;
	uint64_t user_addr; /* where the frontend maps it */
	uint64_t mmap_offset;
};

struct vhost_user_mem_payload {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_region regions[VHOST_USER_MAX_REGIONS];
};

union vhost_user_payload {
	uint64_t u64;
	struct vhost_user_vring_state state;
	struct vhost_user_vring_addr addr;
	struct vhost_user_mem_payload mem;
};

struct vhost_user_msg {
	struct vhost_user_hdr hdr;
	union vhost_user_payload payload;
} __attribute__((packed));

_Static_assert(sizeof(struct vhost_user_hdr) == 12, "vhost-user header is 12 bytes");
_Static_assert(sizeof(struct vhost_user_vring_addr) == 40, "vring address payload");
_Static_assert(sizeof(struct vhost_user_mem_payload) == 8 + 8 * 32, "memory table payload");

#endif /* VHOST_USER_PROTO_H */
