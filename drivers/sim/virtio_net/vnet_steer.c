/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Automatic receive steering for host wires (see vnet_steer.h): the flow
 * hash, the table of flows the driver transmitted, and the choice of a
 * receive queue for a frame Linux sent.
 */
#include <errno.h>
#include <string.h>

#include <netinet/in.h>

#include "vnet_priv.h"

#define ETH_HDR		 14
#define ETHTYPE_IPV4	 0x0800
#define ETHTYPE_IPV6	 0x86dd
#define ETHTYPE_VLAN	 0x8100
#define ETHTYPE_QINQ	 0x88a8
#define IPV4_FRAG_OFFSET 0x1fff /* in 8-byte units */
#define IPV4_MF		 0x2000 /* more fragments follow */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Mix 32-bit words into 32 bits (multiply-xorshift); any fixed function would do. */
static uint32_t mix(const uint32_t *w, unsigned int n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	unsigned int i;

	for (i = 0; i < n; i++) {
		h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

bool vnet_flow_hash(const uint8_t *f, uint32_t len, uint32_t *hash)
{
	uint32_t key[1 + 4 + 4 + 1], off = ETH_HDR, l4, alen, n = 0;
	const uint8_t *a, *b;
	uint16_t type, vlan = 0, pa, pb;
	uint8_t proto;
	bool ports;
	int cmp;

	if (len < ETH_HDR)
		return false;
	type = rd16(f + 12);
	if (type == ETHTYPE_VLAN || type == ETHTYPE_QINQ) {
		if (len < ETH_HDR + 4)
			return false;
		vlan = rd16(f + 14) & 0xfff;
		type = rd16(f + 16);
		off += 4;
	}
	if (type == ETHTYPE_IPV4) {
		uint32_t ihl;

		if (len - off < 20 || f[off] >> 4 != 4)
			return false;
		ihl = (f[off] & 0xfu) * 4;
		if (ihl < 20 || len - off < ihl)
			return false;
		proto = f[off + 9];
		/*
		 * Every fragment hashes on the addresses alone (later ones carry no
		 * ports), as NICs' RSS does: one datagram's pieces meet on one queue.
		 */
		ports = (rd16(f + off + 6) & (IPV4_FRAG_OFFSET | IPV4_MF)) == 0;
		a = f + off + 12;
		b = f + off + 16;
		alen = 4;
		l4 = off + ihl;
	} else if (type == ETHTYPE_IPV6) {
		if (len - off < 40 || f[off] >> 4 != 6)
			return false;
		proto = f[off + 6]; /* an extension header here: addresses only */
		ports = true;
		a = f + off + 8;
		b = f + off + 24;
		alen = 16;
		l4 = off + 40;
	} else {
		return false;
	}
	ports = ports && (proto == IPPROTO_TCP || proto == IPPROTO_UDP);
	if (ports && len - l4 < 4)
		return false; /* TCP or UDP cut before its ports */

	pa = ports ? rd16(f + l4) : 0;
	pb = ports ? rd16(f + l4 + 2) : 0;
	/*
	 * Symmetric: the smaller endpoint (address, then port) first, so a reply
	 * hashes like its request while a:1 -> b:2 and a:2 -> b:1 stay apart.
	 */
	cmp = memcmp(a, b, alen);
	if (cmp > 0 || (cmp == 0 && pa > pb)) {
		const uint8_t *t = a;
		uint16_t tp = pa;

		a = b;
		b = t;
		pa = pb;
		pb = tp;
	}
	key[n++] = (uint32_t)alen << 24 | (uint32_t)(ports ? proto : 0) << 16 | vlan;
	memcpy(&key[n], a, alen);
	n += alen / 4;
	memcpy(&key[n], b, alen);
	n += alen / 4;
	if (ports)
		key[n++] = (uint32_t)pa << 16 | pb;
	*hash = mix(key, n);
	return true;
}

void vnet_steer_clear(struct vnet_steer *st)
{
	unsigned int i;

	for (i = 0; i < VNET_STEER_ENTRIES; i++)
		__atomic_store_n(&st->e[i], 0, __ATOMIC_RELAXED);
}

void vnet_steer_learn(struct vnet_steer *st, uint32_t hash, uint16_t txq)
{
	uint64_t *e = &st->e[hash & (VNET_STEER_ENTRIES - 1)];
	uint64_t v = (uint64_t)hash << 32 | ((uint32_t)txq + 1);

	/* Most frames repeat what is there: no store, so the line stays shared. */
	if (__atomic_load_n(e, __ATOMIC_RELAXED) != v)
		__atomic_store_n(e, v, __ATOMIC_RELAXED);
}

int vnet_steer_lookup(const struct vnet_steer *st, uint32_t hash)
{
	uint64_t v = __atomic_load_n(&st->e[hash & (VNET_STEER_ENTRIES - 1)], __ATOMIC_RELAXED);

	if (v == 0 || (uint32_t)(v >> 32) != hash)
		return -ENOENT;
	return (int)(uint32_t)v - 1;
}

void vnet_tx_learn(struct vnet_model *m, uint16_t txq, const uint8_t *frame, uint32_t len)
{
	uint32_t hash;

	if (vnet_flow_hash(frame, len, &hash))
		vnet_steer_learn(&m->steer, hash, txq);
}

uint16_t vnet_rx_steer(struct vnet_model *m, const uint8_t *frame, uint32_t len, bool *learned)
{
	uint16_t pairs = __atomic_load_n(&m->active_pairs, __ATOMIC_ACQUIRE), q;
	uint32_t hash;
	int txq;

	*learned = false;
	if (pairs <= 1 || !vnet_flow_hash(frame, len, &hash))
		return 0;
	txq = vnet_steer_lookup(&m->steer, hash);
	if (txq >= 0) {
		q = (uint16_t)txq;
		*learned = true;
	} else {
		q = (uint16_t)(hash % pairs);
	}
	/* A queue the driver stopped using or that is not live: queue 0 (which counts a miss). */
	if (q >= pairs || !__atomic_load_n(&m->vqs[2 * q].ready, __ATOMIC_ACQUIRE)) {
		*learned = false;
		return 0;
	}
	return q;
}
