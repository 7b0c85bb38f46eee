/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net model at register level, with no driver: capability list,
 * feature negotiation refusals, queue configuration checks, a malformed ring
 * putting the device into NEEDS_RESET, control-queue refusals, bad register
 * accesses and bad devargs; the flow hash and steering table of host wires'
 * automatic receive steering (vnet_steer.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_malloc.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_iommu.h"
#include "sim_vnet.h"
#include "virtio_spec.h"
#include "vnet_steer.h"
#include "svio_test_eal.h"

static struct svio_device *dev;

static uint64_t rd(uint64_t off, unsigned int w)
{
	uint64_t v = 0;

	assert_int_equal(dev->reg_ops->read(dev, VNET_SIM_BAR, off, w, &v), 0);
	return v;
}

/* PCI configuration space, where a driver finds the virtio capabilities. */
static uint64_t cfg(uint64_t off, unsigned int w)
{
	uint32_t v = 0;

	assert_int_equal(svio_cfg_read(dev, (uint32_t)off, w, &v), 0);
	return v;
}

static void wr(uint64_t off, unsigned int w, uint64_t v)
{
	assert_int_equal(dev->reg_ops->write(dev, VNET_SIM_BAR, off, w, v), 0);
}

#define COMMON(r) (VNET_SIM_COMMON + (r))

static uint8_t status(void)
{
	return (uint8_t)rd(COMMON(VIRTIO_COMMON_STATUS), 1);
}

static void reset(void)
{
	wr(COMMON(VIRTIO_COMMON_STATUS), 1, 0);
	assert_int_equal(status(), 0);
}

static uint64_t device_features(void)
{
	wr(COMMON(VIRTIO_COMMON_DFSELECT), 4, 0);
	uint64_t lo = rd(COMMON(VIRTIO_COMMON_DF), 4);

	wr(COMMON(VIRTIO_COMMON_DFSELECT), 4, 1);
	return rd(COMMON(VIRTIO_COMMON_DF), 4) << 32 | lo;
}

/* Handshake up to FEATURES_OK with @p f; returns whether the device kept FEATURES_OK. */
static bool negotiate(uint64_t f)
{
	reset();
	wr(COMMON(VIRTIO_COMMON_STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(COMMON(VIRTIO_COMMON_GFSELECT), 4, 0);
	wr(COMMON(VIRTIO_COMMON_GF), 4, f & 0xffffffffu);
	wr(COMMON(VIRTIO_COMMON_GFSELECT), 4, 1);
	wr(COMMON(VIRTIO_COMMON_GF), 4, f >> 32);
	wr(COMMON(VIRTIO_COMMON_STATUS), 1,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return (status() & VIRTIO_STATUS_FEATURES_OK) != 0;
}

static void test_capabilities(void **state)
{
	unsigned int found = 0, ptr;

	(void)state;
	assert_int_equal(cfg(PCI_CFG_VENDOR_ID, 2), VIRTIO_PCI_VENDOR_ID);
	assert_int_equal(cfg(PCI_CFG_DEVICE_ID, 2), VIRTIO_PCI_DEVICE_ID_NET);
	assert_true(cfg(PCI_CFG_STATUS, 2) & PCI_CFG_STATUS_CAPS);
	for (ptr = (unsigned int)cfg(PCI_CFG_CAP_PTR, 1); ptr != 0;
	     ptr = (unsigned int)cfg(ptr + VIRTIO_PCI_CAP_NEXT, 1)) {
		unsigned int type = (unsigned int)cfg(ptr + VIRTIO_PCI_CAP_CFG_TYPE, 1);
		uint64_t off = cfg(ptr + VIRTIO_PCI_CAP_OFFSET, 4);

		assert_int_equal(cfg(ptr + VIRTIO_PCI_CAP_VNDR, 1), VIRTIO_PCI_CAP_ID_VNDR);
		assert_int_equal(cfg(ptr + VIRTIO_PCI_CAP_BAR, 1), VNET_SIM_BAR);
		found |= 1u << type;
		if (type == VIRTIO_PCI_CAP_COMMON_CFG)
			assert_int_equal(off, VNET_SIM_COMMON);
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			assert_int_equal(cfg(ptr + VIRTIO_PCI_NOTIFY_CAP_MULT, 4),
					 VNET_SIM_NOTIFY_MULT);
	}
	assert_int_equal(found, 0x1e);
}

static void test_negotiation(void **state)
{
	uint64_t f = device_features();
	uint64_t need = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM) |
			VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
			VIRTIO_BIT(VIRTIO_NET_F_MQ) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
			VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);

	(void)state;
	assert_int_equal(f & need, need);
	assert_int_equal(f & VIRTIO_BIT(VIRTIO_F_RING_PACKED), 0);
	/* A feature the device never offered: FEATURES_OK does not stick. */
	assert_false(negotiate(f | VIRTIO_BIT(VIRTIO_NET_F_CSUM)));
	/* No VERSION_1: a legacy driver is refused. */
	assert_false(negotiate(f & ~VIRTIO_BIT(VIRTIO_F_VERSION_1)));
	assert_true(negotiate(f));
	/* DRIVER_OK before FEATURES_OK is ignored. */
	reset();
	wr(COMMON(VIRTIO_COMMON_STATUS), 1, VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(status() & VIRTIO_STATUS_DRIVER_OK, 0);
	reset();
}

static void test_queue_config(void **state)
{
	(void)state;
	assert_true(negotiate(device_features()));
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_NUMQ), 2), 2 * 2 + 1);
	wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, 1);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_SIZE), 2), 256);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_NOFF), 2), 1);
	/* Not a power of two: enabling fails and the device needs a reset. */
	wr(COMMON(VIRTIO_COMMON_Q_SIZE), 2, 100);
	wr(COMMON(VIRTIO_COMMON_Q_ENABLE), 2, 1);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_ENABLE), 2), 0);
	assert_true(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	reset();
	/* Past the last queue: size reads 0. */
	wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, 99);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_SIZE), 2), 0);
	/* 64-bit addresses in two halves read back whole. */
	wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, 0);
	wr(COMMON(VIRTIO_COMMON_Q_DESC), 4, 0x89abc000);
	wr(COMMON(VIRTIO_COMMON_Q_DESC + 4), 4, 0x1234);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_DESC), 8), 0x123489abc000ull);
	reset();
}

/* Enable queue @p q at @p size (rings at aligned dummy addresses); whether the device took it. */
static bool enable_queue(uint16_t q, uint16_t size)
{
	wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, q);
	wr(COMMON(VIRTIO_COMMON_Q_SIZE), 2, size);
	wr(COMMON(VIRTIO_COMMON_Q_DESC), 8, 0x100000);
	wr(COMMON(VIRTIO_COMMON_Q_AVAIL), 8, 0x200000);
	wr(COMMON(VIRTIO_COMMON_Q_USED), 8, 0x300000);
	wr(COMMON(VIRTIO_COMMON_Q_ENABLE), 2, 1);
	return rd(COMMON(VIRTIO_COMMON_Q_ENABLE), 2) == 1;
}

/* rx_queue_size= / tx_queue_size=: each queue reads and enforces its own maximum. */
static void test_queue_sizes(void **state)
{
	static const uint16_t want[] = { 1024, 256, 1024, 256, 128 }; /* rx, tx, rx, tx, ctrl */
	struct svio_device *reg_dev = dev, *d = NULL;
	uint16_t q;

	(void)state;
	assert_int_equal(svio_dev_add("sim_vnet24,wire=loop,queues=2,qsize=128,rx_queue_size=1024,"
				      "tx_queue_size=256",
				      &d),
			 0);
	dev = d;
	assert_true(negotiate(device_features()));
	for (q = 0; q < 5; q++) {
		wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, q);
		assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_SIZE), 2), want[q]);
	}
	/* A queue takes up to its own maximum, not another queue's. */
	assert_true(enable_queue(0, 1024));
	assert_true(enable_queue(1, 256));
	assert_false(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_false(enable_queue(3, 512));
	assert_true(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* Reset: sizes read as each queue's maximum again. */
	reset();
	wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, 1);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_SIZE), 2), 256);
	/* qsize= alone sets every queue (sim_vnet0: qsize=256). */
	dev = reg_dev;
	assert_true(negotiate(device_features()));
	for (q = 0; q < 5; q++) {
		wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, q);
		assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_SIZE), 2), 256);
	}
	reset();
}

/* Bring up tx queue 0 (index 1) on @p mem; returns the notify offset. */
static uint64_t live_txq(uint8_t *mem, unsigned int size)
{
	uint64_t base = (uint64_t)(uintptr_t)mem;

	assert_true(negotiate(device_features()));
	wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, 1);
	wr(COMMON(VIRTIO_COMMON_Q_SIZE), 2, size);
	wr(COMMON(VIRTIO_COMMON_Q_DESC), 8, base);
	wr(COMMON(VIRTIO_COMMON_Q_AVAIL), 8, base + 4096);
	wr(COMMON(VIRTIO_COMMON_Q_USED), 8, base + 8192);
	wr(COMMON(VIRTIO_COMMON_Q_ENABLE), 2, 1);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_ENABLE), 2), 1);
	wr(COMMON(VIRTIO_COMMON_STATUS), 1,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		   VIRTIO_STATUS_DRIVER_OK);
	assert_true(status() & VIRTIO_STATUS_DRIVER_OK);
	return VNET_SIM_NOTIFY + VNET_SIM_NOTIFY_MULT * 1;
}

static void test_malformed_ring(void **state)
{
	uint8_t *mem = rte_zmalloc("vnet_ring", 3 * 4096, 4096);
	struct virtq_desc *d = (struct virtq_desc *)mem;
	struct virtq_avail *avail = (struct virtq_avail *)(mem + 4096);
	struct virtq_used *used = (struct virtq_used *)(mem + 8192);
	struct sim_vnet_stats before, after;
	uint64_t notify;

	(void)state;
	assert_non_null(mem);
	notify = live_txq(mem, 64);
	assert_int_equal(sim_vnet_stats_get(dev, &before), 0);
	/* A chain whose next leaves the table. */
	d[0] = (struct virtq_desc){ (uint64_t)(uintptr_t)(mem + 2048), 64, VIRTQ_DESC_F_NEXT, 70 };
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	wr(notify, 2, 1);
	assert_true(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(sim_vnet_stats_get(dev, &after), 0);
	assert_int_equal(after.ring_errors - before.ring_errors, 1);
	/* A reset clears it; a well-formed frame then goes out (loop wire). */
	memset(mem, 0, 3 * 4096);
	notify = live_txq(mem, 64);
	assert_int_equal(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	d[0] = (struct virtq_desc){ (uint64_t)(uintptr_t)(mem + 2048), 12 + 60, 0, 0 };
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	wr(notify, 2, 1);
	/* The loop port's rx queue is not live: the frame is consumed and dropped. */
	assert_int_equal(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(sim_vnet_stats_get(dev, &after), 0);
	assert_int_equal(after.wire_drops - before.wire_drops, 1);
	reset();
	rte_free(mem);
}

static void test_bad_access(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(dev->reg_ops->read(dev, 1, 0, 4, &v), -EINVAL);
	assert_int_equal(dev->reg_ops->read(dev, 0, VNET_SIM_BAR_SIZE, 4, &v), -EINVAL);
	assert_int_equal(dev->reg_ops->read(dev, 0, 0, 3, &v), -EINVAL);
	assert_int_equal(dev->reg_ops->read(dev, 0, COMMON(VIRTIO_COMMON_STATUS), 4, &v), -EINVAL);
	assert_int_equal(dev->reg_ops->write(dev, 0, COMMON(VIRTIO_COMMON_NUMQ), 4, 1), -EINVAL);
}

static void test_bad_devargs(void **state)
{
	static const char *const bad[] = {
		"sim_vnet20,wire=pair:eth0",	"sim_vnet20,wire=pair:sim_vnet20",
		"sim_vnet20,wire=string",	"sim_vnet20,queues=0",
		"sim_vnet20,queues=17",		"sim_vnet20,qsize=100",
		"sim_vnet20,mode=fast",		"sim_vnet20,mac=01:00:00:00:00:01",
		"sim_vnet20,mac=nonsense",	"sim_vnet20,rx_full=maybe",
		"sim_vnet20,mq=perhaps",	"sim_vnet20,colour=red",
		"sim_vnet20,rx_queue_size=100", "sim_vnet20,tx_queue_size=8192",
		"sim_vnet20,tx_queue_size=32",
	};
	struct svio_device *d = NULL;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(svio_dev_add(bad[i], &d), -EINVAL);
	/* One port, one cable. */
	assert_int_equal(svio_dev_add("sim_vnet21,wire=pair:sim_vnet22", &d), 0);
	assert_int_equal(svio_dev_add("sim_vnet23,wire=pair:sim_vnet22", &d), 0);
	assert_int_equal(svio_dev_add("sim_vnet22", &d), -EINVAL);
}

/* Frames for the flow hash: Ethernet, an optional VLAN tag, IPv4 or IPv6, ports. */
struct flow {
	int vlan; /* < 0: untagged */
	bool v6;
	uint8_t src[16], dst[16];
	uint8_t proto;
	uint16_t sport, dport;
	uint16_t frag;	 /* IPv4 flags and fragment offset field */
	uint8_t v6_next; /* IPv6: a next header other than proto (0: none) */
};

static uint32_t flow_frame(const struct flow *fl, uint8_t *buf)
{
	uint32_t off = 12, alen = fl->v6 ? 16 : 4, l3;

	memset(buf, 0, 128);
	memset(buf, 0x02, 12);
	if (fl->vlan >= 0) {
		buf[off++] = 0x81;
		buf[off++] = 0x00;
		buf[off++] = (uint8_t)(fl->vlan >> 8);
		buf[off++] = (uint8_t)fl->vlan;
	}
	buf[off++] = fl->v6 ? 0x86 : 0x08;
	buf[off++] = fl->v6 ? 0xdd : 0x00;
	l3 = off;
	if (fl->v6) {
		buf[l3] = 0x60;
		buf[l3 + 6] = fl->v6_next ? fl->v6_next : fl->proto;
		memcpy(buf + l3 + 8, fl->src, alen);
		memcpy(buf + l3 + 24, fl->dst, alen);
		off = l3 + 40;
	} else {
		buf[l3] = 0x45;
		buf[l3 + 6] = (uint8_t)(fl->frag >> 8);
		buf[l3 + 7] = (uint8_t)fl->frag;
		buf[l3 + 9] = fl->proto;
		memcpy(buf + l3 + 12, fl->src, alen);
		memcpy(buf + l3 + 16, fl->dst, alen);
		off = l3 + 20;
	}
	buf[off] = (uint8_t)(fl->sport >> 8);
	buf[off + 1] = (uint8_t)fl->sport;
	buf[off + 2] = (uint8_t)(fl->dport >> 8);
	buf[off + 3] = (uint8_t)fl->dport;
	return off + 8;
}

/* The hash of @p fl's frame, read from a buffer of exactly its length (ASan sees overreads). */
static bool flow_hash_of(const struct flow *fl, uint32_t *hash)
{
	uint8_t buf[128];
	uint32_t n = flow_frame(fl, buf);
	uint8_t *exact = malloc(n);
	bool ok;

	assert_non_null(exact);
	memcpy(exact, buf, n);
	ok = vnet_flow_hash(exact, n, hash);
	free(exact);
	return ok;
}

static uint32_t hash_of(const struct flow *fl)
{
	uint32_t h = 0;

	assert_true(flow_hash_of(fl, &h));
	return h;
}

static struct flow reversed(const struct flow *fl)
{
	struct flow r = *fl;

	memcpy(r.src, fl->dst, sizeof(r.src));
	memcpy(r.dst, fl->src, sizeof(r.dst));
	r.sport = fl->dport;
	r.dport = fl->sport;
	return r;
}

static const struct flow udp4 = {
	.vlan = -1,
	.src = { 10, 0, 0, 2 },
	.dst = { 10, 0, 0, 1 },
	.proto = 17,
	.sport = 40000,
	.dport = 53,
};

static const struct flow tcp6 = {
	.vlan = -1,
	.v6 = true,
	.src = { 0xfd, 0, [15] = 2 },
	.dst = { 0xfd, 0, [14] = 1, [15] = 1 },
	.proto = 6,
	.sport = 443,
	.dport = 51000,
};

/* A reply hashes like its request; anything else of the flow's identity changes the hash. */
static void test_flow_hash_symmetric(void **state)
{
	struct flow f = udp4, g;

	(void)state;
	g = reversed(&f);
	assert_int_equal(hash_of(&f), hash_of(&g));
	g = reversed(&tcp6);
	assert_int_equal(hash_of(&tcp6), hash_of(&g));
	/* Only the ports swapped: another flow (endpoints are ordered, not each pair alone). */
	g = f;
	g.sport = f.dport;
	g.dport = f.sport;
	assert_int_not_equal(hash_of(&f), hash_of(&g));
	g = f;
	g.proto = 6; /* TCP on the same ports */
	assert_int_not_equal(hash_of(&f), hash_of(&g));
	g = f;
	g.sport++;
	assert_int_not_equal(hash_of(&f), hash_of(&g));
	g = f;
	g.dst[3] = 3;
	assert_int_not_equal(hash_of(&f), hash_of(&g));
	/* Equal ports and addresses, both orders. */
	g = f;
	g.dport = g.sport;
	f = reversed(&g);
	assert_int_equal(hash_of(&f), hash_of(&g));
}

static void test_flow_hash_vlan(void **state)
{
	struct flow f = udp4, g;
	uint32_t untagged = hash_of(&f), h;

	(void)state;
	f.vlan = 5;
	g = reversed(&f);
	assert_int_equal(hash_of(&f), hash_of(&g));
	assert_int_not_equal(hash_of(&f), untagged);
	g = f;
	g.vlan = 6;
	assert_int_not_equal(hash_of(&f), hash_of(&g));
	/* The priority bits are not the VLAN. */
	g.vlan = 5 | 0xe000;
	assert_int_equal(hash_of(&f), hash_of(&g));
	f = tcp6;
	f.vlan = 0x123;
	g = reversed(&f);
	assert_int_equal(hash_of(&f), hash_of(&g));
	/* A tag and nothing after it. */
	assert_false(vnet_flow_hash((const uint8_t[]){ [12] = 0x81, [13] = 0, [17] = 0 }, 16, &h));
}

static void test_flow_hash_l3_only(void **state)
{
	struct flow f = udp4, g, icmp = udp4;
	uint32_t h;

	(void)state;
	icmp.proto = 1;
	icmp.sport = icmp.dport = 0x0800; /* bytes after the header: not ports */
	/* Every fragment hashes on the addresses, like ICMP: one datagram, one queue. */
	f.frag = 0x2000; /* MF, offset 0: the first fragment, ports and all */
	assert_int_equal(hash_of(&f), hash_of(&icmp));
	assert_true(hash_of(&f) != hash_of(&udp4));
	f.frag = 0x4000; /* DF alone: not a fragment */
	assert_int_equal(hash_of(&f), hash_of(&udp4));
	f.frag = 0x2000 | 185;
	g = reversed(&f);
	assert_int_equal(hash_of(&f), hash_of(&icmp));
	assert_int_equal(hash_of(&f), hash_of(&g));
	f.frag = 185; /* the last fragment */
	f.sport = 7;
	assert_int_equal(hash_of(&f), hash_of(&icmp));
	/* IPv6 with an extension header (hop-by-hop, fragment): addresses only. */
	f = tcp6;
	f.v6_next = 44;
	g = tcp6;
	g.proto = 58;
	g.sport = 1;
	assert_int_equal(hash_of(&f), hash_of(&g));
	/* Hop-by-hop is next header 0, which flow_frame() takes for none: by hand. */
	{
		uint8_t buf[128];
		uint32_t n = flow_frame(&tcp6, buf);

		buf[14 + 6] = 0;
		assert_true(vnet_flow_hash(buf, n, &h));
		assert_int_equal(h, hash_of(&g));
	}
	/* IPv4 options move the ports. */
	{
		uint8_t buf[128], opt[128];
		uint32_t n = flow_frame(&udp4, buf);

		memcpy(opt, buf, 34);
		opt[14] = 0x46; /* four bytes of options */
		memset(opt + 34, 1, 4);
		memcpy(opt + 38, buf + 34, n - 34);
		assert_true(vnet_flow_hash(opt, n + 4, &h));
		assert_int_equal(h, hash_of(&udp4));
	}
}

/* Short and malformed frames carry no flow; no read goes past the length. */
static void test_flow_hash_malformed(void **state)
{
	uint8_t buf[128], *exact;
	uint32_t n, len, h, i;
	const struct flow *flows[] = { &udp4, &tcp6 };
	struct flow tagged = udp4;

	(void)state;
	tagged.vlan = 7;
	for (i = 0; i < 3; i++) {
		const struct flow *fl = i < 2 ? flows[i] : &tagged;

		n = flow_frame(fl, buf);
		/* Every cut before the ports' end: no flow. */
		for (len = 0; len < n - 4; len++) {
			exact = malloc(len > 0 ? len : 1);
			assert_non_null(exact);
			memcpy(exact, buf, len);
			assert_false(vnet_flow_hash(exact, len, &h));
			free(exact);
		}
	}
	/* Not IP: ARP, an unknown EtherType. */
	n = flow_frame(&udp4, buf);
	buf[12] = 0x08;
	buf[13] = 0x06;
	assert_false(vnet_flow_hash(buf, n, &h));
	buf[12] = 0x88;
	buf[13] = 0xb5;
	assert_false(vnet_flow_hash(buf, n, &h));
	/* IPv4 with the wrong version, a header under 20 bytes, options past the end. */
	n = flow_frame(&udp4, buf);
	buf[14] = 0x65;
	assert_false(vnet_flow_hash(buf, n, &h));
	buf[14] = 0x44;
	assert_false(vnet_flow_hash(buf, n, &h));
	buf[14] = 0x4f; /* 60 bytes of header in a 42-byte frame */
	assert_false(vnet_flow_hash(buf, n, &h));
	buf[14] = 0x45;
	assert_true(vnet_flow_hash(buf, n, &h));
	/* IPv6 with the wrong version. */
	n = flow_frame(&tcp6, buf);
	buf[14] = 0x40;
	assert_false(vnet_flow_hash(buf, n, &h));
	/* Garbage behind IP EtherTypes, each from a buffer of its exact length. */
	srand(7);
	for (i = 0; i < 20000; i++) {
		static const uint16_t types[] = { 0x0800, 0x86dd, 0x8100, 0x88a8 };
		uint32_t k;

		len = (uint32_t)rand() % 100;
		exact = malloc(len > 0 ? len : 1);
		assert_non_null(exact);
		for (k = 0; k < len; k++)
			exact[k] = (uint8_t)rand();
		if (len >= 15) {
			exact[12] = (uint8_t)(types[i % 4] >> 8);
			exact[13] = (uint8_t)types[i % 4];
			exact[14] = (uint8_t)((exact[14] & 0x0f) | (i % 8 < 4 ? 0x40 : 0x60));
		}
		(void)vnet_flow_hash(exact, len, &h);
		free(exact);
	}
}

/* Flows that differ in one port spread over the queues. */
static void test_flow_hash_spread(void **state)
{
	unsigned int per_q[4] = { 0 }, q, i;
	struct flow f = udp4;

	(void)state;
	for (i = 0; i < 256; i++) {
		f.sport = (uint16_t)(10000 + i);
		per_q[hash_of(&f) % 4]++;
	}
	for (q = 0; q < 4; q++)
		assert_true(per_q[q] >= 32); /* 64 expected each */
}

static void test_steer_table(void **state)
{
	static struct vnet_steer st;
	uint32_t a = 0x12345607, b = 0xabcdef07; /* one slot */

	(void)state;
	vnet_steer_clear(&st);
	assert_int_equal(vnet_steer_lookup(&st, a), -ENOENT);
	assert_int_equal(vnet_steer_lookup(&st, 0), -ENOENT);
	vnet_steer_learn(&st, a, 0);
	assert_int_equal(vnet_steer_lookup(&st, a), 0);
	assert_int_equal(vnet_steer_lookup(&st, b), -ENOENT);
	vnet_steer_learn(&st, a, 2); /* the latest transmit queue wins */
	assert_int_equal(vnet_steer_lookup(&st, a), 2);
	vnet_steer_learn(&st, b, 15); /* a collision replaces the older flow */
	assert_int_equal(vnet_steer_lookup(&st, b), 15);
	assert_int_equal(vnet_steer_lookup(&st, a), -ENOENT);
	vnet_steer_learn(&st, 0, 3); /* hash 0 is a hash like any other */
	assert_int_equal(vnet_steer_lookup(&st, 0), 3);
	vnet_steer_learn(&st, a + 1, 1);
	vnet_steer_clear(&st);
	assert_int_equal(vnet_steer_lookup(&st, b), -ENOENT);
	assert_int_equal(vnet_steer_lookup(&st, 0), -ENOENT);
	assert_int_equal(vnet_steer_lookup(&st, a + 1), -ENOENT);
}

static int setup(void **state)
{
	static const char *const opts[] = { "--vdev", "sim_scratch0", NULL };

	(void)state;
	if (svio_test_eal_init(opts) < 0)
		return -1;
	/* Added after probing: no driver claims it, the test drives the registers. */
	if (svio_dev_add("sim_vnet0,wire=loop,queues=2,qsize=256", &dev) < 0)
		return -1;
	return svio_domain_attach(svio_domain_default(), dev);
}

static int teardown(void **state)
{
	(void)state;
	svio_domain_detach(svio_domain_default(), dev);
	svio_eal_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_negotiation),
		cmocka_unit_test(test_queue_config),
		cmocka_unit_test(test_queue_sizes),
		cmocka_unit_test(test_malformed_ring),
		cmocka_unit_test(test_bad_access),
		cmocka_unit_test(test_bad_devargs),
		cmocka_unit_test(test_flow_hash_symmetric),
		cmocka_unit_test(test_flow_hash_vlan),
		cmocka_unit_test(test_flow_hash_l3_only),
		cmocka_unit_test(test_flow_hash_malformed),
		cmocka_unit_test(test_flow_hash_spread),
		cmocka_unit_test(test_steer_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
