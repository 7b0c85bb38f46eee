/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Automatic receive steering of a host wire (virtio 1.2, 5.1.6.5.6): a flow
 * the driver transmitted on transmit queue X is received on receive queue X;
 * a flow it never transmitted goes to a queue its hash picks. The flow hash
 * and the steering table need nothing of the model, so tests reach them
 * directly (vnet_rx_steer() and vnet_tx_learn(), which do, are in
 * vnet_priv.h).
 *
 * Table: VNET_STEER_ENTRIES direct-mapped entries, each one 64-bit word
 * (hash << 32 | transmit queue + 1; 0 is empty) read and written with atomic
 * loads and stores, so the reader thread, the transmitting lcores and a
 * device reset never see half an entry. A collision simply replaces the
 * older flow, which then falls back to its hash.
 */
#ifndef VNET_STEER_H
#define VNET_STEER_H

#include <stdbool.h>
#include <stdint.h>

#define VNET_STEER_ENTRIES 256 /* a power of two: the hash's low bits index it */

struct vnet_steer {
	uint64_t e[VNET_STEER_ENTRIES]; /* atomic: hash << 32 | (txq + 1), 0 empty */
};

/**
 * Flow hash of an Ethernet frame of @p len bytes: VLAN (one 802.1Q or 802.1ad
 * tag), IPv4 or IPv6 addresses and, for TCP and UDP (IPv4 not fragmented,
 * IPv6 with no extension header), the ports. Symmetric: a
 * reply hashes like its request (endpoints are ordered before hashing).
 * @return true with *hash set; false when the frame carries no flow (not IP,
 * too short or malformed for what its headers claim).
 */
bool vnet_flow_hash(const uint8_t *frame, uint32_t len, uint32_t *hash);

/** Forget every flow (device reset). */
void vnet_steer_clear(struct vnet_steer *st);

/** Flow @p hash was transmitted on queue @p txq. */
void vnet_steer_learn(struct vnet_steer *st, uint32_t hash, uint16_t txq);

/** Transmit queue flow @p hash was last seen on, or -ENOENT. */
int vnet_steer_lookup(const struct vnet_steer *st, uint32_t hash);

#endif /* VNET_STEER_H */
