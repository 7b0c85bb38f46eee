/* SPDX-License-Identifier: BSD-3-Clause */
/* Forwarding engines: what a stream does with the frames it received. */
#include <string.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "testpmd.h"

/* testpmd's default peer address: 02:00:00:00:00:<port>. */
static void peer_addr(uint16_t port, struct rte_ether_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->addr_bytes[0] = 0x02;
	a->addr_bytes[5] = (uint8_t)port;
}

static uint16_t fwd_io(struct tp_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	RTE_SET_USED(s);
	RTE_SET_USED(pkts);
	return n;
}

static uint16_t fwd_mac(struct tp_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_ether_addr src, dst;
	uint16_t i;

	svio_net_macaddr_get(s->tx_port, &src);
	peer_addr(s->tx_port, &dst);
	for (i = 0; i < n; i++) {
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);

		eh->dst_addr = dst;
		eh->src_addr = src;
	}
	return n;
}

static uint16_t fwd_macswap(struct tp_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	RTE_SET_USED(s);
	for (i = 0; i < n; i++) {
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
		struct rte_ether_addr t = eh->dst_addr;

		eh->dst_addr = eh->src_addr;
		eh->src_addr = t;
	}
	return n;
}

static uint16_t fwd_rxonly(struct tp_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	RTE_SET_USED(s);
	rte_pktmbuf_free_bulk(pkts, n);
	return 0;
}

/* Answer ARP requests and ICMP echo requests in place; drop everything else. */
static bool icmpecho_one(struct tp_stream *s, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ether_addr mine;
	uint16_t type;

	if (m->nb_segs != 1 || m->data_len < sizeof(*eh))
		return false;
	svio_net_macaddr_get(s->tx_port, &mine);
	/* With an address of our own, behave as a host: only frames for us or everyone. */
	if (tp_cfg.ip_addr != 0 && !rte_is_broadcast_ether_addr(&eh->dst_addr) &&
	    !rte_is_same_ether_addr(&eh->dst_addr, &mine))
		return false;
	type = rte_be_to_cpu_16(eh->ether_type);
	if (type == RTE_ETHER_TYPE_ARP && m->data_len >= sizeof(*eh) + sizeof(struct rte_arp_hdr)) {
		struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eh + 1);
		uint32_t ip;

		if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
		    (tp_cfg.ip_addr != 0 && arp->arp_data.arp_tip != tp_cfg.ip_addr))
			return false;
		arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
		arp->arp_data.arp_tha = arp->arp_data.arp_sha;
		arp->arp_data.arp_sha = mine;
		ip = arp->arp_data.arp_tip;
		arp->arp_data.arp_tip = arp->arp_data.arp_sip;
		arp->arp_data.arp_sip = ip;
		eh->dst_addr = eh->src_addr;
		eh->src_addr = mine;
		return true;
	}
	if (type == RTE_ETHER_TYPE_IPV4 && m->data_len >= sizeof(*eh) +
								  sizeof(struct rte_ipv4_hdr) +
								  sizeof(struct rte_icmp_hdr)) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
		unsigned int ihl = (ip->version_ihl & 0xf) * 4u;
		struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + ihl);
		uint16_t icmp_len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - ihl);
		uint32_t a;

		if (ip->next_proto_id != IPPROTO_ICMP ||
		    (tp_cfg.ip_addr != 0 && ip->dst_addr != tp_cfg.ip_addr) ||
		    icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST ||
		    sizeof(*eh) + ihl + icmp_len > m->data_len)
			return false;
		icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
		icmp->icmp_cksum = 0;
		icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, icmp_len);
		a = ip->src_addr;
		ip->src_addr = ip->dst_addr;
		ip->dst_addr = a;
		eh->dst_addr = eh->src_addr;
		eh->src_addr = mine;
		return true;
	}
	return false;
}

static uint16_t fwd_icmpecho(struct tp_stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i, keep = 0;

	for (i = 0; i < n; i++) {
		if (icmpecho_one(s, pkts[i]))
			pkts[keep++] = pkts[i];
		else
			rte_pktmbuf_free(pkts[i]);
	}
	return keep;
}

struct rte_mbuf *tp_txonly_frame(struct tp_stream *s)
{
	struct rte_mbuf *segs[TP_MAX_SEGS];
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint32_t total = 0;
	unsigned int i;

	if (rte_pktmbuf_alloc_bulk(s->pool, segs, tp_cfg.n_txpkts) != 0)
		return NULL;
	for (i = 0; i < tp_cfg.n_txpkts; i++) {
		segs[i]->data_len = tp_cfg.txpkts[i];
		total += tp_cfg.txpkts[i];
		if (i > 0)
			segs[i - 1]->next = segs[i];
	}
	segs[0]->nb_segs = (uint16_t)tp_cfg.n_txpkts;
	segs[0]->pkt_len = total;
	/* Headers in the first segment (at least 64 bytes when there is only one). */
	eh = rte_pktmbuf_mtod(segs[0], struct rte_ether_hdr *);
	peer_addr(s->tx_port, &eh->dst_addr);
	svio_net_macaddr_get(s->tx_port, &eh->src_addr);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	if (segs[0]->data_len >= sizeof(*eh) + sizeof(*ip) + sizeof(*udp)) {
		ip = (struct rte_ipv4_hdr *)(eh + 1);
		memset(ip, 0, sizeof(*ip));
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(total - sizeof(*eh)));
		ip->packet_id = rte_cpu_to_be_16((uint16_t)s->tx_seq++);
		/* 198.18.0.1 -> .2; DPDK's RTE_IPV4() shifts a signed int past bit 31. */
		ip->src_addr = rte_cpu_to_be_32(UINT32_C(0xc6120001));
		ip->dst_addr = rte_cpu_to_be_32(UINT32_C(0xc6120002));
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp = (struct rte_udp_hdr *)(ip + 1);
		udp->src_port = rte_cpu_to_be_16(9);
		udp->dst_port = rte_cpu_to_be_16(9);
		udp->dgram_len = rte_cpu_to_be_16((uint16_t)(total - sizeof(*eh) - sizeof(*ip)));
		udp->dgram_cksum = 0;
	}
	return segs[0];
}

static const struct tp_engine engines[] = {
	[TP_IO] = { "io", fwd_io, true, true },
	[TP_MAC] = { "mac", fwd_mac, true, true },
	[TP_MACSWAP] = { "macswap", fwd_macswap, true, true },
	[TP_TXONLY] = { "txonly", NULL, false, true },
	[TP_RXONLY] = { "rxonly", fwd_rxonly, true, false },
	[TP_ICMPECHO] = { "icmpecho", fwd_icmpecho, true, true },
};

const struct tp_engine *tp_engine_find(enum tp_mode mode)
{
	return (unsigned int)mode < RTE_DIM(engines) ? &engines[mode] : NULL;
}
