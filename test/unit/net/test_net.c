/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net driver against the built-in virtio-net model, inline mode:
 * negotiation, frames arriving intact and in order across queues, chains,
 * mempool exhaustion, loopback, link status, MAC and promiscuous filters,
 * statistics, and zero stale IOMMU translations used.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_mbuf.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_iommu.h"
#include "svio_net.h"
#include "sim_vnet.h"
#include "virtio_spec.h"
#include "net_test_util.h"
#include "svio_test_eal.h"

static struct rte_mempool *rx_pool, *tx_pool;

static uint16_t port_of(const char *name)
{
	uint16_t port = UINT16_MAX;

	assert_int_equal(svio_net_port_by_name(name, &port), 0);
	return port;
}

struct xfer {
	uint16_t tx_port, rx_port, nq;
	uint32_t frames; /* per queue */
	uint32_t min_len, max_len;
	uint32_t seg;	   /* transmit segment size, 0: single segment */
	unsigned int hold; /* receiver keeps up to this many mbufs until starved */
};

/* Send x->frames per queue, receive them on the peer, check every one. */
static void xfer_verify(const struct xfer *x)
{
	uint32_t sent[SVIO_NET_MAX_QUEUES] = { 0 }, next[SVIO_NET_MAX_QUEUES] = { 0 };
	struct rte_mbuf *held[4096];
	unsigned int nheld = 0, idle = 0, q;
	struct rte_ether_addr dst;
	uint64_t received = 0, total = (uint64_t)x->frames * x->nq, spins = 0;
	uint32_t span = x->max_len - x->min_len + 1;

	assert_true(x->hold <= RTE_DIM(held));
	assert_int_equal(svio_net_macaddr_get(x->rx_port, &dst), 0);
	while (received < total) {
		assert_true(++spins < 2000000); /* progress, not timing: a stuck ring fails */
		for (q = 0; q < x->nq; q++) {
			struct rte_mbuf *pkts[32];
			uint16_t n = 0, done, i;

			while (n < RTE_DIM(pkts) && sent[q] + n < x->frames) {
				uint32_t seq = sent[q] + n;
				uint32_t len = x->min_len + (seq * 7919u) % span;

				pkts[n] = test_frame(tx_pool, &dst, q, seq, len, x->seg);
				if (pkts[n] == NULL)
					break;
				n++;
			}
			done = svio_net_tx_burst(x->tx_port, (uint16_t)q, pkts, n);
			for (i = done; i < n; i++)
				rte_pktmbuf_free(
					pkts[i]); /* rebuilt with the same seq next round */
			sent[q] += done;
		}
		for (q = 0; q < x->nq; q++) {
			struct rte_mbuf *pkts[32];
			uint16_t n = svio_net_rx_burst(x->rx_port, (uint16_t)q, pkts, 32), i;

			for (i = 0; i < n; i++) {
				struct test_payload pl;

				assert_true(test_frame_ok(pkts[i], &pl));
				assert_int_equal(pl.queue, q);
				assert_int_equal(pl.seq, next[q]);
				assert_int_equal(pkts[i]->port, x->rx_port);
				next[q]++;
				received++;
				if (x->hold > 0 && nheld < x->hold) {
					held[nheld++] = pkts[i];
				} else {
					rte_pktmbuf_free(pkts[i]);
				}
			}
			/* Holding every buffer starves the ring; let go once the sender is stuck.
			 */
			idle = n == 0 ? idle + 1 : 0;
			if (x->hold > 0 && nheld > 0 && idle >= 64) {
				rte_pktmbuf_free_bulk(held, nheld);
				nheld = 0;
			}
		}
	}
	rte_pktmbuf_free_bulk(held, nheld);
	for (q = 0; q < x->nq; q++)
		assert_int_equal(next[q], x->frames);
}

static void test_probe_and_features(void **state)
{
	struct svio_net_info info;
	uint16_t p0 = port_of("sim_vnet0");
	uint64_t need = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM) |
			VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_MQ) |
			VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
			VIRTIO_BIT(VIRTIO_NET_F_STATUS);
	struct rte_ether_addr mac;

	(void)state;
	assert_true(svio_net_count() >= 4);
	assert_int_equal(svio_net_info_get(p0, &info), 0);
	assert_string_equal(info.name, "sim_vnet0");
	assert_int_equal(info.features & need, need);
	assert_int_equal(info.max_rx_queues, 4);
	assert_int_equal(info.max_desc, 1024);
	assert_string_equal(svio_net_port_name(p0), "sim_vnet0");
	assert_null(svio_net_port_name(SVIO_NET_MAX_PORTS));
	assert_int_equal(svio_net_info_get(SVIO_NET_MAX_PORTS, &info), -ENODEV);
	assert_int_equal(svio_net_port_by_name("sim_vnet77", &p0), -ENODEV);
	/* The default MAC is locally administered and carries the index. */
	assert_int_equal(svio_net_macaddr_get(port_of("sim_vnet1"), &mac), 0);
	assert_int_equal(mac.addr_bytes[0], 0x02);
	assert_int_equal(mac.addr_bytes[5], 1);

	/* A device without MQ: one pair only. */
	assert_int_equal(svio_net_info_get(port_of("sim_vnet4"), &info), 0);
	assert_int_equal(info.features & VIRTIO_BIT(VIRTIO_NET_F_MQ), 0);
	assert_int_equal(svio_net_configure(port_of("sim_vnet4"), 2, 2), -EINVAL);
	assert_int_equal(svio_net_configure(port_of("sim_vnet4"), 1, 1), 0);
}

static void test_refused_features(void **state)
{
	struct svio_device *dev = NULL;

	(void)state;
	/* No ACCESS_PLATFORM: the device would bypass the IOMMU; the driver refuses it. */
	assert_int_equal(svio_dev_add("sim_vnet9,platform=off", &dev), 0);
	assert_true(svio_dev_probe_all() < 0);
	assert_null(dev->driver);
	assert_int_equal(svio_net_port_by_name("sim_vnet9", &(uint16_t){ 0 }), -ENODEV);
}

static void test_bad_setup(void **state)
{
	uint16_t p = port_of("sim_vnet3");

	(void)state;
	assert_int_equal(svio_net_rx_queue_setup(p, 0, 256, SOCKET_ID_ANY, rx_pool), -EINVAL);
	assert_int_equal(svio_net_configure(p, 0, 1), -EINVAL);
	assert_int_equal(svio_net_configure(p, 5, 5), -EINVAL);
	/* Receive queues the device would steer to but nobody set up. */
	assert_int_equal(svio_net_configure(p, 1, 2), -EINVAL);
	assert_int_equal(svio_net_configure(p, 2, 1), 0);
	assert_int_equal(svio_net_configure(p, 1, 1), 0);
	assert_int_equal(svio_net_rx_queue_setup(p, 0, 100, SOCKET_ID_ANY, rx_pool), -EINVAL);
	assert_int_equal(svio_net_rx_queue_setup(p, 1, 256, SOCKET_ID_ANY, rx_pool), -EINVAL);
	assert_int_equal(svio_net_rx_queue_setup(p, 0, 256, SOCKET_ID_ANY, NULL), -EINVAL);
	assert_int_equal(svio_net_start(p), -EINVAL); /* queues not set up */
}

static void test_pair_multiqueue(void **state)
{
	struct xfer x = { .nq = 4, .frames = 3000, .min_len = 60, .max_len = 1514 };
	struct svio_net_stats st;

	(void)state;
	x.tx_port = port_of("sim_vnet0");
	x.rx_port = port_of("sim_vnet1");
	xfer_verify(&x);
	/* And back. */
	x.tx_port = port_of("sim_vnet1");
	x.rx_port = port_of("sim_vnet0");
	xfer_verify(&x);
	assert_int_equal(svio_net_stats_get(x.rx_port, &st), 0);
	assert_int_equal(st.ipackets, 4 * 3000);
	assert_int_equal(st.opackets, 4 * 3000);
	for (unsigned int q = 0; q < 4; q++)
		assert_int_equal(st.q_ipackets[q], 3000);
	assert_int_equal(st.ierrors, 0);
	assert_int_equal(test_stale_uses(), 0);
}

static uint64_t xstat(uint16_t port, const char *name)
{
	struct svio_net_xstat_name names[64];
	struct svio_net_xstat xs[64];
	int n = svio_net_xstats_get_names(port, names, RTE_DIM(names)), i;

	assert_true(n > 0 && n <= (int)RTE_DIM(names));
	assert_int_equal(svio_net_xstats_get(port, xs, RTE_DIM(xs)), n);
	for (i = 0; i < n; i++) {
		if (strcmp(names[i].name, name) == 0)
			return xs[i].value;
	}
	fail_msg("no xstat %s", name);
	return 0;
}

static void test_chains(void **state)
{
	/* Jumbo frames sent as 1000-byte segments arrive as MRG_RXBUF chains of 2 KiB buffers. */
	struct xfer x = { .nq = 2, .frames = 500, .min_len = 2100, .max_len = 9000, .seg = 1000 };

	(void)state;
	x.tx_port = port_of("sim_vnet0");
	x.rx_port = port_of("sim_vnet1");
	svio_net_stats_reset(x.rx_port);
	xfer_verify(&x);
	assert_int_equal(xstat(x.rx_port, "rx_q0_chains") + xstat(x.rx_port, "rx_q1_chains"),
			 2 * 500);
	assert_int_equal(test_stale_uses(), 0);
}

static void test_mempool_exhaustion(void **state)
{
	/*
	 * The receiver sits on every buffer its small pool has: refills fail,
	 * the sender's ring fills and tx_burst takes less; once the receiver
	 * lets go, every frame still arrives, none lost.
	 */
	struct xfer x = { .nq = 1, .frames = 5000, .min_len = 60, .max_len = 300, .hold = 4000 };
	struct rte_mempool *small;
	struct svio_net_stats st;

	(void)state;
	x.tx_port = port_of("sim_vnet1");
	x.rx_port = port_of("sim_vnet0");
	small = rte_pktmbuf_pool_create("test_small", 600, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					SOCKET_ID_ANY);
	assert_non_null(small);
	assert_int_equal(svio_net_stop(x.rx_port), 0);
	assert_int_equal(svio_net_rx_queue_setup(x.rx_port, 0, 256, SOCKET_ID_ANY, small), 0);
	assert_int_equal(svio_net_start(x.rx_port), 0);
	svio_net_stats_reset(x.rx_port);
	svio_net_stats_reset(x.tx_port);
	xfer_verify(&x);
	assert_int_equal(svio_net_stats_get(x.rx_port, &st), 0);
	assert_true(st.rx_nombuf > 0);
	assert_int_equal(st.q_ipackets[0], 5000);
	assert_true(xstat(x.tx_port, "tx_q0_ring_full") > 0);
	assert_int_equal(test_stale_uses(), 0);

	/* Back to the big pool; every small-pool buffer comes home. */
	assert_int_equal(svio_net_stop(x.rx_port), 0);
	assert_int_equal(svio_net_rx_queue_setup(x.rx_port, 0, 1024, SOCKET_ID_ANY, rx_pool), 0);
	assert_int_equal(svio_net_start(x.rx_port), 0);
	assert_int_equal(rte_mempool_avail_count(small), 600);
	rte_mempool_free(small);
}

static void test_loop(void **state)
{
	struct xfer x = { .nq = 1, .frames = 2000, .min_len = 60, .max_len = 4000 };

	(void)state;
	x.tx_port = x.rx_port = port_of("sim_vnet2");
	xfer_verify(&x);
	assert_int_equal(test_stale_uses(), 0);
}

/*
 * Frames needing more descriptors than the ring has can never be sent: each
 * is dropped and counted in oerrors, and the frames after it still go out
 * (the queue does not stall, the descriptor count does not wrap).
 */
static void test_too_many_segments(void **state)
{
	uint16_t port = port_of("sim_vnet2");
	struct rte_mbuf *pkts[3], *got[8], *tail = NULL;
	struct rte_ether_addr dst;
	struct svio_net_stats before, after;
	struct test_payload pl;
	uint16_t n, i, spins = 0;

	(void)state;
	assert_int_equal(svio_net_macaddr_get(port, &dst), 0);
	assert_int_equal(svio_net_stats_get(port, &before), 0);
	/* 1100 one-byte segments on a 1024-descriptor ring. */
	pkts[0] = test_frame(tx_pool, &dst, 0, 0, 1100, 1);
	assert_non_null(pkts[0]);
	assert_int_equal(pkts[0]->nb_segs, 1100);
	/*
	 * A header that needs its own descriptor (shared mbuf) plus a claimed
	 * 65535 segments: 65536 descriptors, 0 in 16 bits. Never walked.
	 */
	pkts[1] = test_frame(tx_pool, &dst, 0, 1, 100, 0);
	assert_non_null(pkts[1]);
	rte_mbuf_refcnt_update(pkts[1], 1);
	pkts[1]->nb_segs = UINT16_MAX;
	pkts[2] = test_frame(tx_pool, &dst, 0, 2, 100, 0);
	assert_non_null(pkts[2]);
	assert_int_equal(svio_net_tx_burst(port, 0, pkts, 3), 3);
	/* The driver let go of its reference only. */
	assert_int_equal(rte_mbuf_refcnt_read(pkts[1]), 1);
	pkts[1]->nb_segs = 1;
	rte_pktmbuf_free(pkts[1]);
	assert_int_equal(svio_net_stats_get(port, &after), 0);
	assert_int_equal(after.oerrors - before.oerrors, 2);
	assert_int_equal(after.opackets - before.opackets, 1);
	do {
		assert_true(++spins < 1000);
		n = svio_net_rx_burst(port, 0, got, RTE_DIM(got));
	} while (n == 0);
	assert_int_equal(n, 1);
	assert_true(test_frame_ok(got[0], &pl));
	assert_int_equal(pl.seq, 2);
	rte_pktmbuf_free(got[0]);
	/* And the queue keeps working. */
	for (i = 0; i < 2; i++) {
		tail = test_frame(tx_pool, &dst, 0, 3 + i, 200, 0);
		assert_non_null(tail);
		assert_int_equal(svio_net_tx_burst(port, 0, &tail, 1), 1);
	}
	for (i = 0, spins = 0; i < 2; i += n) {
		assert_true(++spins < 1000);
		n = svio_net_rx_burst(port, 0, got, RTE_DIM(got));
		rte_pktmbuf_free_bulk(got, n);
	}
	assert_int_equal(test_stale_uses(), 0);
}

/*
 * A device that answers the control queue late: doorbells of the control
 * queue are held back while ctrl_hold is set, and rung later by the test.
 */
static const struct svio_dev_reg_ops *ctrl_real_ops;
static uint16_t ctrl_qidx;
static bool ctrl_hold;
static bool reset_stuck; /* device status writes of 0 (reset) are ignored */
static unsigned int held_bar;
static uint64_t held_off;

static int ctrl_held_write(struct svio_device *dev, unsigned int bar, uint64_t off,
			   unsigned int width, uint64_t val)
{
	if (ctrl_hold && width == 2 && val == ctrl_qidx) {
		held_bar = bar;
		held_off = off;
		return 0;
	}
	if (reset_stuck && width == 1 && val == 0)
		return 0;
	return ctrl_real_ops->write(dev, bar, off, width, val);
}

static int ctrl_held_read(struct svio_device *dev, unsigned int bar, uint64_t off,
			  unsigned int width, uint64_t *val)
{
	return ctrl_real_ops->read(dev, bar, off, width, val);
}

static const struct svio_dev_reg_ops ctrl_held_ops = { ctrl_held_read, ctrl_held_write };

/* The model knows its devices by their register ops: ask with the real ones. */
static void ctrl_filter_get(struct svio_device *dev, bool *promisc, bool *allmulti)
{
	const struct svio_dev_reg_ops *ops = dev->reg_ops;
	uint16_t pairs;

	dev->reg_ops = ctrl_real_ops;
	assert_int_equal(sim_vnet_filter_get(dev, promisc, allmulti, &pairs), 0);
	dev->reg_ops = ops;
}

/*
 * After a control command times out, the next one must not take the old
 * command's late completion (and its status) for its own: it is refused
 * until the completion arrives, then waits for its own; a stop/start resets
 * the control queue.
 */
static void test_ctrl_timeout(void **state)
{
	uint16_t port = port_of("sim_vnet3");
	struct svio_device *dev = svio_dev_find("sim_vnet3");
	bool promisc, allmulti;

	(void)state;
	assert_int_equal(svio_net_configure(port, 1, 1), 0);
	assert_int_equal(svio_net_rx_queue_setup(port, 0, 256, SOCKET_ID_ANY, rx_pool), 0);
	assert_int_equal(svio_net_tx_queue_setup(port, 0, 256, SOCKET_ID_ANY), 0);
	assert_int_equal(svio_net_start(port), 0);
	ctrl_qidx = 2 * 4; /* after the data queues of the device's 4 pairs */
	ctrl_real_ops = dev->reg_ops;
	dev->reg_ops = &ctrl_held_ops;

	ctrl_hold = true;
	assert_int_equal(svio_net_allmulticast_set(port, true), -ETIMEDOUT);
	/* The device still has it: the next command is refused, not confused. */
	assert_int_equal(svio_net_promiscuous_set(port, true), -EIO);
	/* The late answer comes; the next command then gets its own. */
	ctrl_hold = false;
	assert_int_equal(ctrl_real_ops->write(dev, held_bar, held_off, 2, ctrl_qidx), 0);
	assert_int_equal(svio_net_promiscuous_set(port, false), 0);
	ctrl_filter_get(dev, &promisc, &allmulti);
	assert_false(promisc);
	assert_true(allmulti); /* the late command did reach the device */
	assert_int_equal(svio_net_allmulticast_set(port, false), 0);
	ctrl_filter_get(dev, &promisc, &allmulti);
	assert_false(allmulti);

	/* Timed out again, never answered: stop/start resets the queue. */
	ctrl_hold = true;
	assert_int_equal(svio_net_promiscuous_set(port, true), -ETIMEDOUT);
	ctrl_hold = false;
	assert_int_equal(svio_net_promiscuous_set(port, true), -EIO);
	assert_int_equal(svio_net_stop(port), 0);
	assert_int_equal(svio_net_start(port), 0);
	assert_int_equal(svio_net_promiscuous_set(port, true), 0);
	ctrl_filter_get(dev, &promisc, &allmulti);
	assert_true(promisc);
	dev->reg_ops = ctrl_real_ops;
	assert_int_equal(svio_net_stop(port), 0);
}

/*
 * A device that does not reset at stop may still use its rings: the driver
 * keeps their mbufs (and mappings), says so, and retries the reset before
 * touching them again.
 */
static void test_reset_timeout(void **state)
{
	uint16_t port = port_of("sim_vnet3");
	struct svio_device *dev = svio_dev_find("sim_vnet3");
	unsigned int avail;

	(void)state;
	assert_int_equal(svio_net_start(port), 0);
	avail = rte_mempool_avail_count(rx_pool);
	ctrl_real_ops = dev->reg_ops;
	dev->reg_ops = &ctrl_held_ops;
	reset_stuck = true;
	assert_int_equal(svio_net_stop(port), -EIO);
	/* The receive ring's 256 buffers stay posted. */
	assert_int_equal(rte_mempool_avail_count(rx_pool), avail);
	assert_int_equal(svio_net_rx_queue_setup(port, 0, 256, SOCKET_ID_ANY, rx_pool), -EIO);
	assert_int_equal(rte_mempool_avail_count(rx_pool), avail);
	reset_stuck = false;
	/* The reset works again: setup retries it, and the buffers come home. */
	assert_int_equal(svio_net_rx_queue_setup(port, 0, 256, SOCKET_ID_ANY, rx_pool), 0);
	assert_int_equal(rte_mempool_avail_count(rx_pool), avail + 256);
	assert_int_equal(svio_net_start(port), 0);
	assert_int_equal(svio_net_stop(port), 0);
	dev->reg_ops = ctrl_real_ops;
}

struct hdr_poke {
	uint32_t seq;
	unsigned int hits;
};

/* Make the device's header of the posted buffer holding frame seq claim 65535 buffers. */
static void poke_num_buffers(struct rte_mempool *mp, void *arg, void *obj, unsigned int idx)
{
	struct hdr_poke *hp = arg;
	struct rte_mbuf *m = obj;
	uint8_t *data = (uint8_t *)m->buf_addr + m->data_off;
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)(data - sizeof(*h));
	struct test_payload pl;

	(void)mp;
	(void)idx;
	memcpy(&pl, data + RTE_ETHER_HDR_LEN, sizeof(pl));
	if (pl.seq == hp->seq && pl.len == 100 && h->num_buffers == 1) {
		h->num_buffers = UINT16_MAX;
		hp->hits++;
	}
}

/* A frame whose header claims more buffers than the ring has is dropped and counted. */
static void test_bad_num_buffers(void **state)
{
	uint16_t port = port_of("sim_vnet2");
	struct hdr_poke hp = { .seq = 0x5eed0001 };
	struct rte_mbuf *m, *got[8];
	struct svio_net_stats before, after;
	struct rte_ether_addr dst;
	struct rte_mempool *mp;
	struct test_payload pl;
	uint16_t n;

	(void)state;
	mp = rte_pktmbuf_pool_create("test_nbufs", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	assert_non_null(mp);
	assert_int_equal(svio_net_stop(port), 0);
	assert_int_equal(svio_net_rx_queue_setup(port, 0, 256, SOCKET_ID_ANY, mp), 0);
	assert_int_equal(svio_net_start(port), 0);
	assert_int_equal(svio_net_macaddr_get(port, &dst), 0);
	assert_int_equal(svio_net_stats_get(port, &before), 0);
	m = test_frame(tx_pool, &dst, 0, hp.seq, 100, 0);
	assert_non_null(m);
	assert_int_equal(svio_net_tx_burst(port, 0, &m, 1), 1);
	/* The loop delivered it into a posted buffer (inline device); spoil its header. */
	rte_mempool_obj_iter(mp, poke_num_buffers, &hp);
	assert_int_equal(hp.hits, 1);
	m = test_frame(tx_pool, &dst, 0, 7, 200, 0);
	assert_non_null(m);
	assert_int_equal(svio_net_tx_burst(port, 0, &m, 1), 1);
	n = svio_net_rx_burst(port, 0, got, RTE_DIM(got));
	assert_int_equal(n, 1);
	assert_true(test_frame_ok(got[0], &pl));
	assert_int_equal(pl.seq, 7);
	rte_pktmbuf_free(got[0]);
	assert_int_equal(svio_net_stats_get(port, &after), 0);
	assert_int_equal(after.ierrors - before.ierrors, 1);
	assert_int_equal(svio_net_stop(port), 0);
	assert_int_equal(svio_net_rx_queue_setup(port, 0, 1024, SOCKET_ID_ANY, rx_pool), 0);
	assert_int_equal(svio_net_start(port), 0);
	assert_int_equal(rte_mempool_avail_count(mp), 1023);
	rte_mempool_free(mp);
}

static void test_link_status(void **state)
{
	struct svio_net_link link;
	struct svio_device *dev = svio_dev_find("sim_vnet1");

	(void)state;
	assert_int_equal(svio_net_link_get(port_of("sim_vnet1"), &link), 0);
	assert_true(link.up);
	assert_int_equal(link.speed_mbps, 10000);
	/* Nothing plugged in. */
	assert_int_equal(svio_net_link_get(port_of("sim_vnet3"), &link), 0);
	assert_false(link.up);
	assert_int_equal(link.speed_mbps, 0);
	/* Pull the cable and plug it back. */
	assert_int_equal(sim_vnet_set_link(dev, false), 0);
	assert_int_equal(svio_net_link_get(port_of("sim_vnet1"), &link), 0);
	assert_false(link.up);
	assert_int_equal(sim_vnet_set_link(dev, true), 0);
	assert_int_equal(svio_net_link_get(port_of("sim_vnet1"), &link), 0);
	assert_true(link.up);
}

/* Send one frame to @p dst from port @p tx; true when port @p rx got it. */
static bool one_frame(uint16_t tx, uint16_t rx, const struct rte_ether_addr *dst, uint32_t seq)
{
	struct rte_mbuf *m = test_frame(tx_pool, dst, 0, seq, 100, 0), *got[4];
	struct test_payload pl;
	uint16_t n;
	bool ok;

	assert_non_null(m);
	assert_int_equal(svio_net_tx_burst(tx, 0, &m, 1), 1);
	n = svio_net_rx_burst(rx, 0, got, 4);
	assert_true(n <= 1);
	if (n == 0)
		return false;
	ok = test_frame_ok(got[0], &pl) && pl.seq == seq;
	rte_pktmbuf_free(got[0]);
	assert_true(ok);
	return true;
}

static void test_mac_promisc(void **state)
{
	uint16_t p0 = port_of("sim_vnet0"), p1 = port_of("sim_vnet1");
	struct rte_ether_addr mac1, other = { { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 } };
	struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct rte_ether_addr mcast = { { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 } };
	struct svio_device *dev1 = svio_dev_find("sim_vnet1");
	struct sim_vnet_stats before, after;
	bool promisc, allmulti;
	uint16_t pairs;

	(void)state;
	assert_int_equal(svio_net_macaddr_get(p1, &mac1), 0);
	assert_int_equal(svio_net_promiscuous_get(p1), 1);
	assert_true(one_frame(p0, p1, &other, 1));

	assert_int_equal(svio_net_promiscuous_set(p1, false), 0);
	assert_int_equal(sim_vnet_filter_get(dev1, &promisc, &allmulti, &pairs), 0);
	assert_false(promisc);
	assert_int_equal(pairs, 4);
	assert_int_equal(sim_vnet_stats_get(dev1, &before), 0);
	assert_false(one_frame(p0, p1, &other, 2));
	assert_false(one_frame(p0, p1, &mcast, 3));
	assert_true(one_frame(p0, p1, &mac1, 4));
	assert_true(one_frame(p0, p1, &bcast, 5));
	assert_int_equal(sim_vnet_stats_get(dev1, &after), 0);
	assert_int_equal(after.rx_filtered - before.rx_filtered, 2);

	assert_int_equal(svio_net_allmulticast_set(p1, true), 0);
	assert_true(one_frame(p0, p1, &mcast, 6));
	assert_int_equal(svio_net_allmulticast_set(p1, false), 0);

	/* A new address: frames follow it, the old one is filtered. */
	assert_int_equal(svio_net_macaddr_set(p1, &other), 0);
	assert_true(one_frame(p0, p1, &other, 7));
	assert_false(one_frame(p0, p1, &mac1, 8));
	assert_int_equal(svio_net_macaddr_set(p1, &mac1), 0);
	assert_int_equal(svio_net_macaddr_set(p1, &mcast), -EINVAL);

	assert_int_equal(svio_net_promiscuous_set(p1, true), 0);
	assert_true(one_frame(p0, p1, &other, 9));
	assert_int_equal(test_stale_uses(), 0);
}

/* The address and all-multicast set by the application survive stop/start. */
static void test_mac_after_restart(void **state)
{
	uint16_t p0 = port_of("sim_vnet0"), p1 = port_of("sim_vnet1");
	struct rte_ether_addr mac1, other = { { 0x02, 0x11, 0x22, 0x33, 0x44, 0x66 } };
	struct rte_ether_addr mcast = { { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x02 } };

	(void)state;
	assert_int_equal(svio_net_macaddr_get(p1, &mac1), 0);
	assert_int_equal(svio_net_promiscuous_set(p1, false), 0);
	assert_int_equal(svio_net_macaddr_set(p1, &other), 0);
	assert_int_equal(svio_net_allmulticast_set(p1, true), 0);
	assert_int_equal(svio_net_stop(p1), 0);
	assert_int_equal(svio_net_start(p1), 0);
	assert_true(one_frame(p0, p1, &other, 20));
	assert_false(one_frame(p0, p1, &mac1, 21));
	assert_true(one_frame(p0, p1, &mcast, 22));
	assert_int_equal(svio_net_allmulticast_set(p1, false), 0);
	assert_int_equal(svio_net_macaddr_set(p1, &mac1), 0);
	assert_int_equal(svio_net_stop(p1), 0);
	assert_int_equal(svio_net_start(p1), 0);
	assert_true(one_frame(p0, p1, &mac1, 23));
	assert_false(one_frame(p0, p1, &mcast, 24));
	assert_int_equal(svio_net_promiscuous_set(p1, true), 0);
}

static void test_stop_start(void **state)
{
	uint16_t p0 = port_of("sim_vnet0"), p1 = port_of("sim_vnet1");
	struct xfer x = {
		.tx_port = p0, .rx_port = p1, .nq = 4, .frames = 200, .min_len = 60, .max_len = 200
	};
	struct rte_mbuf *pkts[4];
	unsigned int avail = rte_mempool_avail_count(rx_pool);

	(void)state;
	assert_int_equal(svio_net_stop(p1), 0);
	/* Every buffer of the rx rings went back to the pool. */
	assert_true(rte_mempool_avail_count(rx_pool) > avail);
	assert_int_equal(svio_net_rx_burst(p1, 0, pkts, 4), 0);
	assert_int_equal(svio_net_start(p1), 0);
	xfer_verify(&x);
	assert_int_equal(test_stale_uses(), 0);
}

/*
 * Send @p n frames out of loop port @p port without receiving, so that all
 * but a ring's worth find no buffer; then take what arrived. @return received.
 */
static uint64_t overrun(uint16_t port, unsigned int n)
{
	struct rte_ether_addr dst;
	struct rte_mbuf *pkts[32];
	uint64_t got = 0;
	unsigned int sent = 0, idle = 0;
	uint16_t i, k;

	assert_int_equal(svio_net_macaddr_get(port, &dst), 0);
	while (sent < n) {
		for (k = 0; k < RTE_DIM(pkts) && sent + k < n; k++) {
			pkts[k] = test_frame(tx_pool, &dst, 0, sent + k, 64, 0);
			assert_non_null(pkts[k]);
		}
		i = svio_net_tx_burst(port, 0, pkts, k);
		if (i < k)
			rte_pktmbuf_free_bulk(pkts + i, k - i);
		sent += i;
	}
	while (idle < 1000) {
		k = svio_net_rx_burst(port, 0, pkts, RTE_DIM(pkts));
		rte_pktmbuf_free_bulk(pkts, k);
		got += k;
		idle = k == 0 ? idle + 1 : 0;
	}
	return got;
}

/* rx_full=drop: frames that find no buffer are the device's to count (virtio 1.3 stats). */
static void test_imissed(void **state)
{
	uint16_t p = port_of("sim_vnet5"), quiet = port_of("sim_vnet6");
	struct svio_device *dev = svio_dev_find("sim_vnet6");
	struct svio_net_info info;
	struct svio_net_stats st;
	struct sim_vnet_stats ms;
	uint64_t got;

	(void)state;
	assert_int_equal(test_port_setup(p, 1, 256, rx_pool), 0);
	got = overrun(p, 2048);
	assert_int_equal(svio_net_stats_get(p, &st), 0);
	assert_int_equal(st.opackets, 2048);
	assert_int_equal(st.ipackets, got);
	assert_true(got < 2048);
	assert_int_equal(st.imissed, 2048 - got); /* every frame: received or counted */
	/* A stop resets the device and its counters; imissed keeps what they said. */
	assert_int_equal(svio_net_stop(p), 0);
	assert_int_equal(svio_net_stats_get(p, &st), 0);
	assert_int_equal(st.imissed, 2048 - got);
	assert_int_equal(svio_net_start(p), 0);
	got = overrun(p, 1024) + got;
	assert_int_equal(svio_net_stats_get(p, &st), 0);
	assert_int_equal(st.imissed, 2048 + 1024 - got);
	assert_int_equal(svio_net_stats_reset(p), 0);
	assert_int_equal(svio_net_stats_get(p, &st), 0);
	assert_int_equal(st.imissed, 0);
	assert_int_equal(svio_net_stop(p), 0);

	/* Without the feature the device drops as many and says nothing: imissed stays 0. */
	assert_int_equal(svio_net_info_get(quiet, &info), 0);
	assert_int_equal(info.features & VIRTIO_BIT(VIRTIO_NET_F_DEVICE_STATS), 0);
	assert_int_equal(test_port_setup(quiet, 1, 256, rx_pool), 0);
	got = overrun(quiet, 2048);
	assert_int_equal(svio_net_stats_get(quiet, &st), 0);
	assert_int_equal(st.imissed, 0);
	assert_int_equal(sim_vnet_stats_get(dev, &ms), 0);
	assert_int_equal(ms.rx_no_buffer, 2048 - got);
	assert_int_equal(svio_net_stop(quiet), 0);
}

static int setup(void **state)
{
	static const char *const opts[] = {
		"--vdev", "sim_vnet0,wire=pair:sim_vnet1",
		"--vdev", "sim_vnet1",
		"--vdev", "sim_vnet2,wire=loop,queues=1",
		"--vdev", "sim_vnet3",
		"--vdev", "sim_vnet4,mq=off,wire=loop",
		"--vdev", "sim_vnet5,wire=loop,queues=1,rx_full=drop",
		"--vdev", "sim_vnet6,wire=loop,queues=1,rx_full=drop,stats=off",
		NULL
	};
	unsigned int i;

	(void)state;
	if (svio_test_eal_init_mem(256, opts) < 0)
		return -1;
	rx_pool = rte_pktmbuf_pool_create("test_rx", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	tx_pool = rte_pktmbuf_pool_create("test_tx", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	if (rx_pool == NULL || tx_pool == NULL)
		return -1;
	for (i = 0; i < 3; i++) {
		char name[16];
		uint16_t port;

		snprintf(name, sizeof(name), "sim_vnet%u", i);
		if (svio_net_port_by_name(name, &port) < 0 ||
		    test_port_setup(port, i < 2 ? 4 : 1, 1024, rx_pool) < 0)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	svio_eal_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_and_features), cmocka_unit_test(test_bad_setup),
		cmocka_unit_test(test_pair_multiqueue),	   cmocka_unit_test(test_chains),
		cmocka_unit_test(test_mempool_exhaustion), cmocka_unit_test(test_loop),
		cmocka_unit_test(test_link_status),	   cmocka_unit_test(test_mac_promisc),
		cmocka_unit_test(test_mac_after_restart),  cmocka_unit_test(test_stop_start),
		cmocka_unit_test(test_too_many_segments),  cmocka_unit_test(test_ctrl_timeout),
		cmocka_unit_test(test_reset_timeout),	   cmocka_unit_test(test_bad_num_buffers),
		cmocka_unit_test(test_refused_features),   cmocka_unit_test(test_imissed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
