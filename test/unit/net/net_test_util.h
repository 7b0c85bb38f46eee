/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the network tests: EAL start-up, port setup, and frames
 * that carry their own identity (queue, sequence number, length) and a
 * checksum, so a receiver can tell a frame arrived intact and in order.
 */
#ifndef NET_TEST_UTIL_H
#define NET_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "svio_iommu.h"
#include "svio_net.h"

#define TEST_ETHERTYPE 0x88b5 /* IEEE local experimental */
#define TEST_HDR_LEN   (RTE_ETHER_HDR_LEN + 16)
#define TEST_MIN_FRAME 60

struct test_payload {
	uint32_t queue;
	uint32_t seq;
	uint32_t len;  /* whole frame */
	uint32_t csum; /* of the bytes after this header */
};

static inline uint8_t test_byte(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 31 + i * 7 + (i >> 8));
}

static inline uint32_t test_csum(const uint8_t *p, uint32_t n)
{
	uint32_t a = 1, b = 0, i;

	for (i = 0; i < n; i++) {
		a = (a + p[i]) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

/*
 * A frame of @p len bytes to @p dst, split into segments of at most @p seg
 * bytes (0: one segment). NULL when the pool is empty.
 */
static inline struct rte_mbuf *test_frame(struct rte_mempool *mp, const struct rte_ether_addr *dst,
					  uint32_t queue, uint32_t seq, uint32_t len, uint32_t seg)
{
	uint8_t buf[16384];
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)buf;
	struct test_payload pl;
	struct rte_mbuf *head = NULL, *last = NULL;
	uint32_t i, off = 0;

	if (len < TEST_MIN_FRAME)
		len = TEST_MIN_FRAME;
	if (seg == 0)
		seg = len;
	memset(eh, 0, sizeof(*eh));
	eh->dst_addr = *dst;
	eh->src_addr.addr_bytes[0] = 0x02;
	eh->src_addr.addr_bytes[5] = 0xee;
	eh->ether_type = rte_cpu_to_be_16(TEST_ETHERTYPE);
	for (i = TEST_HDR_LEN; i < len; i++)
		buf[i] = test_byte(seq, i);
	pl.queue = queue;
	pl.seq = seq;
	pl.len = len;
	pl.csum = test_csum(buf + TEST_HDR_LEN, len - TEST_HDR_LEN);
	memcpy(buf + RTE_ETHER_HDR_LEN, &pl, sizeof(pl)); /* unaligned in the frame */
	while (off < len) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
		uint32_t n = RTE_MIN(seg, len - off);
		char *p;

		if (m == NULL)
			goto out_free;
		n = RTE_MIN(n, (uint32_t)rte_pktmbuf_tailroom(m));
		p = rte_pktmbuf_append(m, (uint16_t)n);
		memcpy(p, buf + off, n);
		off += n;
		if (head == NULL) {
			head = m;
		} else {
			last->next = m;
			head->nb_segs++;
			head->pkt_len += n;
		}
		last = m;
	}
	return head;

out_free:
	rte_pktmbuf_free(head);
	return NULL;
}

/* Check a received frame; fills *pl. */
static inline bool test_frame_ok(struct rte_mbuf *m, struct test_payload *pl)
{
	uint8_t buf[16384];
	const uint8_t *p;

	if (m->pkt_len < TEST_HDR_LEN || m->pkt_len > sizeof(buf))
		return false;
	p = rte_pktmbuf_read(m, 0, m->pkt_len, buf);
	if (p == NULL)
		return false;
	memcpy(pl, p + RTE_ETHER_HDR_LEN, sizeof(*pl));
	return pl->len == m->pkt_len &&
	       pl->csum == test_csum(p + TEST_HDR_LEN, m->pkt_len - TEST_HDR_LEN);
}

static inline int test_port_setup(uint16_t port, uint16_t nq, uint16_t nb_desc,
				  struct rte_mempool *mp)
{
	uint16_t q;
	int rc = svio_net_configure(port, nq, nq);

	for (q = 0; rc == 0 && q < nq; q++) {
		rc = svio_net_rx_queue_setup(port, q, nb_desc, SOCKET_ID_ANY, mp);
		if (rc == 0)
			rc = svio_net_tx_queue_setup(port, q, nb_desc, SOCKET_ID_ANY);
	}
	if (rc == 0)
		rc = svio_net_start(port);
	return rc;
}

static inline uint64_t test_stale_uses(void)
{
	struct svio_iommu_stats st;

	if (svio_iommu_stats_get(svio_domain_default(), &st) < 0)
		return UINT64_MAX;
	return st.stale_uses;
}

#endif /* NET_TEST_UTIL_H */
