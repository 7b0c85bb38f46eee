/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host wires of the built-in virtio-net model: bad wire= values refused with
 * nothing left behind, and (with CAP_NET_ADMIN and /dev/net/tun) frames both
 * ways between the virtio PMD and Linux through a tap svio creates (inline and
 * thread mode) and through a veth pair (wire=af_packet on one end): every
 * frame intact and in order, more frames than the receive ring holds without
 * a loss (the reader waits for the refill doorbell), oversize frames counted
 * and never truncated, VLAN tags kept (AF_PACKET hands them over beside the
 * frame), a flood's every frame received or counted where it was dropped, a
 * restart while the reader waits for buffers, a persistent tap attached to
 * and left as found, no
 * frame of svio's own coming back to it, the tap gone
 * after cleanup; with four queue pairs, Linux's flows spread over the receive
 * queues by their hash, each frame once and every flow in order, and a flow
 * svio transmitted on queue X comes back on receive queue X (automatic
 * receive steering) until a device reset forgets it. The test plays Linux's side with an AF_PACKET
 * socket on the tap, or on the other end of the veth.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>

#include <cmocka.h>

#include <rte_mbuf.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_net.h"
#include "sim_vnet.h"
#include "net_test_util.h"
#include "svio_test_eal.h"
#include "vnet_steer.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define FRAMES	  600 /* more than the 256-entry receive ring */
#define RING	  256
#define WAIT_MS	  20000 /* a bound for a broken wire, never reached when it works */
#define BIG_FRAME 17000 /* more than the model's 16384-byte wire */
#define BIG_MTU	  20000
#define FLOOD	  20000 /* more than the af_packet socket's 4 MiB hold */

static char taps[4][IFNAMSIZ], veth[2][IFNAMSIZ];
static bool veth_made, tap_made; /* made by the test: removed at the end */
static struct rte_mempool *pool;
static bool eal_up;

/* CAP_NET_ADMIN (tap, interface flags) and CAP_NET_RAW (AF_PACKET), and a tun device. */
static bool privileged(void)
{
	unsigned long long caps = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	}
	fclose(f);
	return (caps & (1ull << 12)) && (caps & (1ull << 13)) &&
	       access("/dev/net/tun", R_OK | W_OK) == 0;
}

static int init_with(const char *vdev0, const char *vdev1)
{
	const char *extra[] = { "--vdev", vdev0, vdev1 ? "--vdev" : NULL, vdev1, NULL };

	return svio_test_eal_init_mem(256, extra);
}

static void test_bad_wires(void **state)
{
	static const char *const bad[] = {
		"sim_vnet0,wire=tap:",
		"sim_vnet0,wire=tap:0123456789abcdef", /* 16 characters: IFNAMSIZ is 16 */
		"sim_vnet0,wire=af_packet:a/b",
		"sim_vnet0,wire=af_packet:x:y",
		"sim_vnet0,wire=af_packet:svio-nosuch0",
		"sim_vnet0,wire=tapx",
	};
	char arg[64];
	unsigned int i;

	(void)state;
	for (i = 0; i < RTE_DIM(bad); i++)
		assert_true(init_with(bad[i], NULL) < 0);
	if (!privileged())
		return;
	/* An interface that exists and is not a tap. */
	assert_true(init_with("sim_vnet0,wire=tap:lo", NULL) < 0);
	/* A port wired to Linux cannot also be cabled; the tap made for it goes away. */
	snprintf(arg, sizeof(arg), "sim_vnet0,wire=tap:%s", taps[0]);
	assert_true(init_with(arg, "sim_vnet1,wire=pair:sim_vnet0") < 0);
	assert_int_equal(if_nametoindex(taps[0]), 0);
}

static void ifr_init(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	memcpy(ifr->ifr_name, name, strnlen(name, IFNAMSIZ - 1));
}

static int if_flags(const char *name, int *flags)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), rc;

	if (s < 0)
		return -errno;
	ifr_init(&ifr, name);
	rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	*flags = ifr.ifr_flags;
	close(s);
	return rc < 0 ? -errno : 0;
}

static void if_set_mtu(const char *name, int mtu)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(s >= 0);
	ifr_init(&ifr, name);
	ifr.ifr_mtu = mtu;
	assert_int_equal(ioctl(s, SIOCSIFMTU, &ifr), 0);
	close(s);
}

/* Linux's end: an AF_PACKET socket on the tap that does not see its own frames. */
static int linux_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), one = 1, big = 8 << 20;

	assert_true(s >= 0);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	(void)setsockopt(s, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	(void)setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	return s;
}

/* A test frame as bytes (the layout of net_test_util.h); returns its length. */
static uint32_t frame_bytes(const struct rte_ether_addr *dst, uint32_t seq, uint32_t len,
			    uint8_t *buf)
{
	struct rte_mbuf *m = test_frame(pool, dst, 0, seq, len, 0);
	uint32_t n;

	assert_non_null(m);
	n = m->pkt_len;
	assert_int_equal(m->nb_segs, 1);
	memcpy(buf, rte_pktmbuf_mtod(m, void *), n);
	rte_pktmbuf_free(m);
	return n;
}

static bool is_test_frame(const uint8_t *p, size_t n)
{
	uint16_t type;

	if (n < TEST_HDR_LEN)
		return false;
	memcpy(&type, p + 12, 2);
	return type == htons(TEST_ETHERTYPE);
}

/*
 * Next test frame on the PMD's queue 0, skipping what Linux sends by itself
 * (IPv6 neighbour discovery on a fresh interface). NULL after WAIT_MS of nothing.
 */
static struct rte_mbuf *svio_next(uint16_t port)
{
	unsigned int idle_ms = 0;

	while (idle_ms < WAIT_MS) {
		struct rte_mbuf *m;

		if (svio_net_rx_burst(port, 0, &m, 1) == 0) {
			usleep(1000);
			idle_ms++;
			continue;
		}
		if (is_test_frame(rte_pktmbuf_mtod(m, uint8_t *), m->data_len))
			return m;
		rte_pktmbuf_free(m);
	}
	return NULL;
}

/* Next test frame Linux received; its length, 0 after WAIT_MS of nothing. */
static size_t linux_next(int s, uint8_t *buf, size_t cap)
{
	struct pollfd pfd = { .fd = s, .events = POLLIN };

	for (;;) {
		ssize_t n;

		if (poll(&pfd, 1, WAIT_MS) <= 0)
			return 0;
		n = recv(s, buf, cap, 0);
		assert_true(n >= 0);
		if (is_test_frame(buf, (size_t)n))
			return (size_t)n;
	}
}

static void check_payload(const uint8_t *p, size_t n, uint32_t seq)
{
	struct test_payload pl;

	memcpy(&pl, p + RTE_ETHER_HDR_LEN, sizeof(pl));
	assert_int_equal(pl.seq, seq);
	assert_int_equal(pl.len, n);
	assert_int_equal(pl.csum, test_csum(p + TEST_HDR_LEN, (uint32_t)n - TEST_HDR_LEN));
}

static uint32_t frame_len(uint32_t seq)
{
	return 60 + (seq * 7919u) % (1514 - 60 + 1);
}

/* Linux -> svio: more than the ring holds while nobody polls, then an oversize frame. */
static void linux_to_svio(uint16_t port, const char *const ifname[2], struct svio_device *dev,
			  int s)
{
	static uint8_t buf[BIG_FRAME];
	struct rte_ether_addr mac;
	struct sim_vnet_stats before, after;
	struct rte_mbuf *m;
	uint32_t seq, n;

	assert_int_equal(svio_net_macaddr_get(port, &mac), 0);
	for (seq = 0; seq < FRAMES; seq++) {
		n = frame_bytes(&mac, seq, frame_len(seq), buf);
		assert_int_equal(send(s, buf, n, 0), (ssize_t)n);
	}
	for (seq = 0; seq < FRAMES; seq++) {
		m = svio_next(port);
		assert_non_null(m);
		assert_int_equal(m->pkt_len, frame_len(seq));
		assert_int_equal(rte_pktmbuf_linearize(m), 0);
		check_payload(rte_pktmbuf_mtod(m, uint8_t *), m->pkt_len, seq);
		rte_pktmbuf_free(m);
	}

	/* Too big for the wire: counted, and the next frame still comes through. */
	assert_int_equal(sim_vnet_stats_get(dev, &before), 0);
	if_set_mtu(ifname[0], BIG_MTU);
	if (ifname[1] != NULL)
		if_set_mtu(ifname[1], BIG_MTU);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, mac.addr_bytes, 6);
	buf[12] = 0x88; /* TEST_ETHERTYPE, so it would be seen if it arrived */
	buf[13] = 0xb5;
	assert_int_equal(send(s, buf, BIG_FRAME, 0), BIG_FRAME);
	n = frame_bytes(&mac, FRAMES, 100, buf);
	assert_int_equal(send(s, buf, n, 0), (ssize_t)n);
	m = svio_next(port);
	assert_non_null(m);
	check_payload(rte_pktmbuf_mtod(m, uint8_t *), m->pkt_len, FRAMES);
	rte_pktmbuf_free(m);
	assert_int_equal(sim_vnet_stats_get(dev, &after), 0);
	assert_int_equal(after.oversize - before.oversize, 1);
	if_set_mtu(ifname[0], 1500);
	if (ifname[1] != NULL)
		if_set_mtu(ifname[1], 1500);
}

static uint64_t sysfs_u64(const char *ifname, const char *stat)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, stat);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%llu", &v), 1);
	fclose(f);
	return v;
}

/*
 * af_packet: far more frames than the ring and the socket hold, while svio does
 * not poll. Each one is received or counted where it was dropped: by the
 * socket (host_drops) or by the veth (its rx_dropped).
 */
static void flood_accounted(uint16_t port, struct svio_device *dev, int s, const char *svio_if)
{
	static uint8_t buf[128];
	struct sim_vnet_stats before, st;
	struct rte_ether_addr mac;
	uint64_t veth_drops = sysfs_u64(svio_if, "rx_dropped"), got = 0, accounted = 0;
	unsigned int idle_ms = 0, i;
	uint32_t n;

	assert_int_equal(svio_net_macaddr_get(port, &mac), 0);
	assert_int_equal(sim_vnet_stats_get(dev, &before), 0);
	n = frame_bytes(&mac, 0, 60, buf);
	for (i = 0; i < FLOOD; i++)
		assert_int_equal(send(s, buf, n, 0), (ssize_t)n);
	while (accounted < FLOOD && idle_ms < WAIT_MS) {
		struct rte_mbuf *pkts[32];
		uint16_t k = svio_net_rx_burst(port, 0, pkts, RTE_DIM(pkts)), j;

		for (j = 0; j < k; j++) {
			got += is_test_frame(rte_pktmbuf_mtod(pkts[j], uint8_t *),
					     pkts[j]->data_len);
			rte_pktmbuf_free(pkts[j]);
		}
		assert_int_equal(sim_vnet_stats_get(dev, &st), 0);
		accounted = got + (st.host_drops - before.host_drops) +
			    (sysfs_u64(svio_if, "rx_dropped") - veth_drops);
		if (k == 0) {
			usleep(1000);
			idle_ms++;
		}
	}
	fprintf(stderr, "flood of %u: %" PRIu64 " received, %" PRIu64 " dropped at the socket\n",
		FLOOD, got, st.host_drops - before.host_drops);
	assert_int_equal(accounted, FLOOD);
	assert_true(got >= RING);
}

/*
 * The port restarts while the reader waits for receive buffers: the reset
 * forgets the stall (no doorbell will come), and the reader still carries on.
 */
static void restart_while_stalled(uint16_t port, struct svio_device *dev, int s)
{
	static uint8_t buf[256];
	struct sim_vnet_stats before, st;
	struct rte_ether_addr mac;
	unsigned int idle_ms = 0, i;
	uint32_t n;

	assert_int_equal(svio_net_macaddr_get(port, &mac), 0);
	/* An empty poll posts every free buffer: the ring then takes exactly RING frames. */
	for (;;) {
		struct rte_mbuf *m;

		if (svio_net_rx_burst(port, 0, &m, 1) == 0)
			break;
		rte_pktmbuf_free(m);
	}
	assert_int_equal(sim_vnet_stats_get(dev, &before), 0);
	for (i = 0; i < RING + 64; i++) {
		n = frame_bytes(&mac, i, 64, buf);
		assert_int_equal(send(s, buf, n, 0), (ssize_t)n);
	}
	/* The ring is full: the reader holds a frame and waits. */
	do {
		assert_int_equal(sim_vnet_stats_get(dev, &st), 0);
		usleep(1000);
	} while (st.rx_frames - before.rx_frames < RING && ++idle_ms < WAIT_MS);
	assert_true(st.rx_frames - before.rx_frames >= RING);
	assert_int_equal(svio_net_stop(port), 0);
	assert_int_equal(svio_net_start(port), 0);
	n = frame_bytes(&mac, FRAMES + 4, 64, buf);
	assert_int_equal(send(s, buf, n, 0), (ssize_t)n);
	for (idle_ms = 0;;) {
		struct rte_mbuf *m = svio_next(port);
		struct test_payload pl;

		assert_non_null(m);
		memcpy(&pl, rte_pktmbuf_mtod(m, uint8_t *) + RTE_ETHER_HDR_LEN, sizeof(pl));
		rte_pktmbuf_free(m);
		if (pl.seq == FRAMES + 4)
			break;
		assert_true(++idle_ms < RING + 64); /* only the frames sent before it */
	}
}

/* A VLAN-tagged frame from Linux reaches svio with its tag where it was. */
static void vlan_in(uint16_t port, int s)
{
	static const uint8_t tag[4] = { 0x81, 0x00, 0x01, 0x23 }; /* 802.1Q, VLAN 0x123 */
	static uint8_t buf[2048], tagged[2048];
	struct rte_ether_addr mac;
	unsigned int idle_ms = 0;
	uint32_t n;

	assert_int_equal(svio_net_macaddr_get(port, &mac), 0);
	n = frame_bytes(&mac, FRAMES + 3, 120, buf);
	memcpy(tagged, buf, 12);
	memcpy(tagged + 12, tag, 4);
	memcpy(tagged + 16, buf + 12, n - 12);
	assert_int_equal(send(s, tagged, n + 4, 0), (ssize_t)(n + 4));
	while (idle_ms < WAIT_MS) {
		struct rte_mbuf *m;
		const uint8_t *p;

		if (svio_net_rx_burst(port, 0, &m, 1) == 0) {
			usleep(1000);
			idle_ms++;
			continue;
		}
		p = rte_pktmbuf_mtod(m, const uint8_t *);
		if (m->data_len >= 16 && memcmp(p + 12, tag, 2) == 0) {
			assert_int_equal(m->pkt_len, n + 4);
			assert_memory_equal(p, tagged, n + 4);
			rte_pktmbuf_free(m);
			return;
		}
		rte_pktmbuf_free(m);
	}
	fail_msg("the VLAN-tagged frame never reached svio");
}

/*
 * After svio sent: a marker from Linux is the first test frame svio receives,
 * so none of its own frames came back (they would have been queued first).
 * @p s_out >= 0: a socket on svio's own interface (the veth end svio sits
 * on); what Linux sends out of it goes to the other end, never to svio.
 */
static void no_echo(uint16_t port, int s, int s_out)
{
	static uint8_t buf[2048];
	struct rte_ether_addr mac;
	struct rte_mbuf *m;
	uint32_t n;

	assert_int_equal(svio_net_macaddr_get(port, &mac), 0);
	if (s_out >= 0) {
		n = frame_bytes(&mac, FRAMES + 2, 90, buf);
		assert_int_equal(send(s_out, buf, n, 0), (ssize_t)n);
	}
	n = frame_bytes(&mac, FRAMES + 1, 80, buf);
	assert_int_equal(send(s, buf, n, 0), (ssize_t)n);
	m = svio_next(port);
	assert_non_null(m);
	check_payload(rte_pktmbuf_mtod(m, uint8_t *), m->pkt_len, FRAMES + 1);
	rte_pktmbuf_free(m);
}

/* svio -> Linux: bursts of single frames and chains, each burst read back. */
static void svio_to_linux(uint16_t port, struct svio_device *dev, int s)
{
	static uint8_t buf[65536];
	struct rte_ether_addr dst = { .addr_bytes = { 0x02, 0, 0, 0, 0x77, 0x01 } };
	struct sim_vnet_stats st;
	uint32_t seq = 0, got = 0;

	while (seq < FRAMES) {
		struct rte_mbuf *pkts[32];
		uint16_t n, sent = 0;

		for (n = 0; n < RTE_DIM(pkts) && seq + n < FRAMES; n++) {
			pkts[n] = test_frame(pool, &dst, 0, seq + n, frame_len(seq + n),
					     (seq + n) % 3 == 0 ? 256 : 0);
			assert_non_null(pkts[n]);
		}
		while (sent < n) {
			uint16_t k = svio_net_tx_burst(port, 0, pkts + sent, n - sent);

			sent = (uint16_t)(sent + k);
			/* A full ring empties as the model writes to the tap; read meanwhile. */
			if (k == 0 && got < seq + sent) {
				size_t len = linux_next(s, buf, sizeof(buf));

				assert_true(len > 0);
				check_payload(buf, len, got++);
			}
		}
		seq += n;
		while (got < seq) {
			size_t len = linux_next(s, buf, sizeof(buf));

			assert_true(len > 0);
			assert_int_equal(len, frame_len(got));
			check_payload(buf, len, got++);
		}
	}
	assert_int_equal(sim_vnet_stats_get(dev, &st), 0);
	assert_true(st.tx_frames >= FRAMES);
	assert_int_equal(st.wire_drops, 0);
}

/* A veth pair in this namespace for the af_packet wire; false without ip(8). */
static bool veth_create(void)
{
	char cmd[160];

	unsigned int i;

	snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %s >/dev/null 2>&1", veth[0],
		 veth[1]);
	veth_made = system(cmd) == 0;
	if (!veth_made)
		return false;
	for (i = 0; i < 2; i++) {
		char path[96];
		FILE *f;

		/* Quiet: no IPv6 neighbour discovery mixed into the counted frames. */
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", veth[i]);
		f = fopen(path, "w");
		if (f != NULL) {
			fputs("1", f);
			fclose(f);
		}
		snprintf(cmd, sizeof(cmd), "ip link set %s up", veth[i]);
		if (system(cmd) != 0)
			return false;
	}
	return true;
}

static void veth_delete(void)
{
	char cmd[96];

	if (!veth_made)
		return;
	snprintf(cmd, sizeof(cmd), "ip link del %s >/dev/null 2>&1", veth[0]);
	veth_made = system(cmd) != 0;
}

/* A tap that outlives its users (ip tuntap add), down: svio attaches to it. */
static void persistent_tap(const char *name, bool persist)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR);

	assert_true(fd >= 0);
	ifr_init(&ifr, name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, persist ? 1 : 0), 0);
	close(fd);
}

/* svio attached to the persistent tap and brought it up; a frame comes through. */
static void attached_tap(void)
{
	uint16_t port;
	int flags = 0, s;

	assert_int_equal(svio_net_port_by_name("sim_vnet3", &port), 0);
	assert_int_equal(if_flags(taps[2], &flags), 0);
	assert_true(flags & IFF_UP);
	assert_int_equal(test_port_setup(port, 1, RING, pool), 0);
	s = linux_socket(taps[2]);
	no_echo(port, s, -1);
	close(s);
	assert_int_equal(svio_net_stop(port), 0);
}

static void test_host_frames(void **state)
{
	char arg[5][64];
	unsigned int i, nports = 2, n = 0;
	const char *extra[11];

	(void)state;
	if (!privileged())
		skip(); /* needs CAP_NET_ADMIN, CAP_NET_RAW and /dev/net/tun */
	snprintf(arg[0], sizeof(arg[0]), "sim_vnet0,wire=tap:%s", taps[0]);
	snprintf(arg[1], sizeof(arg[1]), "sim_vnet1,wire=tap:%s,mode=thread", taps[1]);
	snprintf(arg[3], sizeof(arg[3]), "sim_vnet3,wire=tap:%s", taps[2]);
	snprintf(arg[4], sizeof(arg[4]), "sim_vnet4,wire=tap:%s,queues=4", taps[3]);
	persistent_tap(taps[2], true);
	tap_made = true;
	extra[n++] = "--vdev";
	extra[n++] = arg[0];
	extra[n++] = "--vdev";
	extra[n++] = arg[1];
	extra[n++] = "--vdev";
	extra[n++] = arg[3];
	extra[n++] = "--vdev";
	extra[n++] = arg[4];
	if (veth_create()) {
		snprintf(arg[2], sizeof(arg[2]), "sim_vnet2,wire=af_packet:%s", veth[0]);
		extra[n++] = "--vdev";
		extra[n++] = arg[2];
		nports = 3;
	} else {
		fprintf(stderr, "no veth pair (ip link add failed): af_packet part not run\n");
	}
	extra[n] = NULL;
	assert_true(svio_test_eal_init_mem(256, extra) >= 0);
	eal_up = true;
	pool = rte_pktmbuf_pool_create("wire_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	assert_non_null(pool);
	for (i = 0; i < nports; i++) {
		/* svio's interface and the one Linux's socket uses (the veth's other end). */
		const char *ifs[2] = { i < 2 ? taps[i] : veth[0], i < 2 ? NULL : veth[1] };
		char name[16];
		struct svio_device *dev;
		struct svio_net_link link;
		uint16_t port;
		int flags = 0, s, s_out;

		snprintf(name, sizeof(name), "sim_vnet%u", i);
		dev = svio_dev_find(name);
		assert_non_null(dev);
		assert_int_equal(svio_net_port_by_name(name, &port), 0);
		/* The interface is up (a tap: svio made it and brought it up). */
		assert_int_equal(if_flags(ifs[0], &flags), 0);
		assert_true(flags & IFF_UP);
		assert_int_equal(test_port_setup(port, 1, RING, pool), 0);
		/* Promiscuous: a frame of svio's own coming back would not be filtered out. */
		assert_int_equal(svio_net_promiscuous_set(port, true), 0);
		assert_int_equal(svio_net_link_get(port, &link), 0);
		assert_true(link.up);
		s = linux_socket(ifs[1] != NULL ? ifs[1] : ifs[0]);
		linux_to_svio(port, ifs, dev, s);
		svio_to_linux(port, dev, s);
		vlan_in(port, s);
		restart_while_stalled(port, dev, s);
		if (i == 2)
			flood_accounted(port, dev, s, ifs[0]);
		s_out = ifs[1] != NULL ? linux_socket(ifs[0]) : -1;
		no_echo(port, s, s_out);
		if (s_out >= 0)
			close(s_out);
		close(s);
		assert_int_equal(svio_net_stop(port), 0);
	}
	attached_tap();
	assert_int_equal(test_stale_uses(), 0);
}

/*
 * Automatic receive steering: UDP flows between Linux (10.9.0.2, ports
 * FLOW_PORT + f) and svio (10.9.0.1, SVIO_PORT); each frame carries its flow
 * and sequence number behind STEER_MAGIC.
 */
#define NFLOWS	    64
#define PER_FLOW    8
#define NQ	    4
#define FLOW_PORT   20000
#define SVIO_PORT   7000
#define STEER_MAGIC 0x5e3e1a9cu

struct steer_rx {
	uint16_t q;
	uint32_t flow, seq;
};

/* A UDP frame of flow @p flow; @p to_svio: Linux -> svio, else the reply direction. */
static uint32_t udp_frame(const struct rte_ether_addr *svio_mac, bool to_svio, uint32_t flow,
			  uint32_t seq, uint8_t *buf)
{
	static const uint8_t linux_mac[6] = { 0x02, 0, 0, 0, 0, 0xee };
	const uint8_t linux_ip[4] = { 10, 9, 0, 2 }, svio_ip[4] = { 10, 9, 0, 1 };
	uint16_t lport = htons((uint16_t)(FLOW_PORT + flow)), sport = htons(SVIO_PORT);
	uint32_t payload[3] = { STEER_MAGIC, flow, seq };
	uint16_t v;

	memset(buf, 0, 64);
	memcpy(buf, to_svio ? svio_mac->addr_bytes : linux_mac, 6);
	memcpy(buf + 6, to_svio ? linux_mac : svio_mac->addr_bytes, 6);
	buf[12] = 0x08; /* IPv4 */
	buf[14] = 0x45;
	v = htons(20 + 8 + sizeof(payload));
	memcpy(buf + 16, &v, 2);
	buf[22] = 64;
	buf[23] = 17; /* UDP */
	memcpy(buf + 26, to_svio ? linux_ip : svio_ip, 4);
	memcpy(buf + 30, to_svio ? svio_ip : linux_ip, 4);
	memcpy(buf + 34, to_svio ? &lport : &sport, 2);
	memcpy(buf + 36, to_svio ? &sport : &lport, 2);
	v = htons(8 + sizeof(payload));
	memcpy(buf + 38, &v, 2);
	memcpy(buf + 42, payload, sizeof(payload));
	return 64;
}

/* The queue the hash alone picks for flow @p flow (either direction). */
static uint16_t hash_queue(const struct rte_ether_addr *mac, uint32_t flow)
{
	uint8_t buf[64];
	uint32_t n = udp_frame(mac, true, flow, 0, buf), h = 0;

	assert_true(vnet_flow_hash(buf, n, &h));
	return (uint16_t)(h % NQ);
}

/* Next of svio's steering frames from any receive queue; false after WAIT_MS of nothing. */
static bool steer_next(uint16_t port, struct steer_rx *rx)
{
	unsigned int idle_ms = 0;
	uint16_t q = 0;

	while (idle_ms < WAIT_MS) {
		struct rte_mbuf *m;
		uint32_t payload[3];

		for (q = 0; q < NQ; q++) {
			if (svio_net_rx_burst(port, q, &m, 1) == 1)
				break;
		}
		if (q == NQ) {
			usleep(1000);
			idle_ms++;
			continue;
		}
		if (m->pkt_len >= 54 && m->data_len >= 54) {
			memcpy(payload, rte_pktmbuf_mtod_offset(m, uint8_t *, 42), sizeof(payload));
			if (payload[0] == STEER_MAGIC) {
				rx->q = q;
				rx->flow = payload[1];
				rx->seq = payload[2];
				rte_pktmbuf_free(m);
				return true;
			}
		}
		rte_pktmbuf_free(m); /* what Linux sends by itself */
	}
	return false;
}

/*
 * Linux sends @p per frames of each flow in @p flows (interleaved); each
 * arrives once, in order, on queue @p want[i] of its flow.
 */
static void steer_expect(uint16_t port, int s, const uint32_t *flows, const uint16_t *want,
			 unsigned int nflows, unsigned int per, unsigned int *per_q)
{
	struct rte_ether_addr mac;
	uint32_t next[NFLOWS] = { 0 }, seq, n;
	uint8_t buf[64];
	unsigned int i, got;

	assert_true(nflows <= NFLOWS);
	assert_int_equal(svio_net_macaddr_get(port, &mac), 0);
	for (seq = 0; seq < per; seq++) {
		for (i = 0; i < nflows; i++) {
			n = udp_frame(&mac, true, flows[i], seq, buf);
			assert_int_equal(send(s, buf, n, 0), (ssize_t)n);
		}
	}
	for (got = 0; got < nflows * per; got++) {
		struct steer_rx rx = { 0 };

		assert_true(steer_next(port, &rx));
		for (i = 0; i < nflows && flows[i] != rx.flow; i++)
			;
		assert_true(i < nflows);
		assert_int_equal(rx.seq, next[i]); /* once each, in order */
		next[i]++;
		assert_int_equal(rx.q, want[i]);
		if (per_q != NULL)
			per_q[rx.q]++;
	}
}

/* svio sends one frame of flow @p flow on transmit queue @p q, and the model takes it. */
static void steer_tx(uint16_t port, struct svio_device *dev, uint16_t q, uint32_t flow)
{
	struct sim_vnet_stats before, st;
	struct rte_ether_addr mac;
	struct rte_mbuf *m;
	unsigned int idle_ms = 0;
	uint32_t n;

	assert_int_equal(svio_net_macaddr_get(port, &mac), 0);
	assert_int_equal(sim_vnet_stats_get(dev, &before), 0);
	m = rte_pktmbuf_alloc(pool);
	assert_non_null(m);
	n = udp_frame(&mac, false, flow, 0, rte_pktmbuf_mtod(m, uint8_t *));
	assert_non_null(rte_pktmbuf_append(m, (uint16_t)n));
	assert_int_equal(svio_net_tx_burst(port, q, &m, 1), 1);
	do {
		assert_int_equal(sim_vnet_stats_get(dev, &st), 0);
		if (st.tx_frames > before.tx_frames)
			return;
		usleep(1000);
	} while (++idle_ms < WAIT_MS);
	fail_msg("the model never took svio's frame from transmit queue %u", q);
}

static void test_host_steering(void **state)
{
	struct sim_vnet_stats before, st;
	struct rte_ether_addr mac;
	struct svio_device *dev;
	uint32_t flows[NFLOWS], two[2];
	uint16_t want[NFLOWS], want2[2], port, pairs = 0, f, g, moved;
	unsigned int per_q[NQ] = { 0 }, used = 0, i;
	bool promisc, allmulti;
	int s;

	(void)state;
	if (!eal_up)
		skip(); /* needs the taps of test_host_frames */
	dev = svio_dev_find("sim_vnet4");
	assert_non_null(dev);
	assert_int_equal(svio_net_port_by_name("sim_vnet4", &port), 0);
	assert_int_equal(test_port_setup(port, NQ, RING, pool), 0);
	assert_int_equal(sim_vnet_filter_get(dev, &promisc, &allmulti, &pairs), 0);
	assert_int_equal(pairs, NQ);
	assert_int_equal(svio_net_macaddr_get(port, &mac), 0);
	s = linux_socket(taps[3]);

	/* Flows svio never sent: the hash picks among the active queues. */
	assert_int_equal(sim_vnet_stats_get(dev, &before), 0);
	for (i = 0; i < NFLOWS; i++) {
		flows[i] = i;
		want[i] = hash_queue(&mac, i);
	}
	steer_expect(port, s, flows, want, NFLOWS, PER_FLOW, per_q);
	for (i = 0; i < NQ; i++)
		used += per_q[i] > 0;
	fprintf(stderr, "%u flows x %u frames from Linux: per receive queue %u %u %u %u\n", NFLOWS,
		PER_FLOW, per_q[0], per_q[1], per_q[2], per_q[3]);
	assert_true(used > 1);
	assert_int_equal(sim_vnet_stats_get(dev, &st), 0);
	assert_int_equal(st.rx_steered, before.rx_steered);

	/* svio sends flow f on queue 2: Linux's replies come back on receive queue 2. */
	for (f = 0; want[f] == 2; f++)
		;
	for (g = (uint16_t)(f + 1); g < NFLOWS && want[g] == 2; g++)
		;
	assert_true(g < NFLOWS);
	steer_tx(port, dev, 2, f);
	two[0] = f;
	two[1] = g;
	want2[0] = 2;
	want2[1] = want[g]; /* never sent by svio: still its hash's queue */
	assert_int_equal(sim_vnet_stats_get(dev, &before), 0);
	steer_expect(port, s, two, want2, 2, PER_FLOW, NULL);
	assert_int_equal(sim_vnet_stats_get(dev, &st), 0);
	assert_int_equal(st.rx_steered - before.rx_steered, PER_FLOW);

	/*
	 * The flow moves to another queue (not its hash's): its replies follow,
	 * more of them than that queue's ring holds while nobody polls, so the
	 * reader waits for that queue's refill doorbell with g's frames behind.
	 */
	moved = want[f] == 1 ? 3 : 1;
	steer_tx(port, dev, moved, f);
	want2[0] = moved;
	steer_expect(port, s, two, want2, 2, RING + 32, NULL);

	/* Not IP: queue 0. */
	{
		static uint8_t buf[256];
		struct rte_mbuf *m = NULL;
		unsigned int idle_ms = 0;
		uint32_t n = frame_bytes(&mac, FRAMES + 5, 100, buf);

		assert_int_equal(send(s, buf, n, 0), (ssize_t)n);
		while (m == NULL && idle_ms++ < WAIT_MS) {
			for (i = 1; i < NQ; i++) {
				if (svio_net_rx_burst(port, (uint16_t)i, &m, 1) == 1) {
					assert_false(is_test_frame(rte_pktmbuf_mtod(m, uint8_t *),
								   m->data_len));
					rte_pktmbuf_free(m);
					m = NULL;
				}
			}
			if (svio_net_rx_burst(port, 0, &m, 1) == 1 &&
			    !is_test_frame(rte_pktmbuf_mtod(m, uint8_t *), m->data_len)) {
				rte_pktmbuf_free(m);
				m = NULL;
			}
			if (m == NULL)
				usleep(1000);
		}
		assert_non_null(m);
		check_payload(rte_pktmbuf_mtod(m, uint8_t *), m->pkt_len, FRAMES + 5);
		rte_pktmbuf_free(m);
	}

	/* A device reset forgets what svio sent: flow f is back on its hash's queue. */
	assert_int_equal(svio_net_stop(port), 0);
	assert_int_equal(svio_net_start(port), 0);
	want2[0] = want[f];
	steer_expect(port, s, two, want2, 2, PER_FLOW, NULL);

	close(s);
	assert_int_equal(svio_net_stop(port), 0);
	assert_int_equal(test_stale_uses(), 0);
}

/* Device destruction releases the wire: the taps svio created are gone. */
static void test_cleanup_removes_taps(void **state)
{
	int flags = 0;

	(void)state;
	if (!eal_up)
		skip(); /* nothing was created */
	svio_eal_cleanup();
	eal_up = false;
	veth_delete();
	assert_int_equal(if_nametoindex(taps[0]), 0);
	assert_int_equal(if_nametoindex(taps[1]), 0);
	assert_int_equal(if_nametoindex(taps[3]), 0);
	/* A tap svio only attached to stays, down again as it found it. */
	assert_int_equal(if_flags(taps[2], &flags), 0);
	assert_false(flags & IFF_UP);
	persistent_tap(taps[2], false);
	tap_made = false;
	assert_int_equal(if_nametoindex(taps[2]), 0);
}

static int teardown(void **state)
{
	(void)state;
	if (eal_up)
		svio_eal_cleanup();
	veth_delete();
	if (tap_made)
		persistent_tap(taps[2], false);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_wires),
		cmocka_unit_test(test_host_frames),
		cmocka_unit_test(test_host_steering),
		cmocka_unit_test(test_cleanup_removes_taps),
	};

	/* Unique names: parallel runs (plain, ASan, TSan builds) must not collide. */
	snprintf(taps[0], sizeof(taps[0]), "svw%da", (int)getpid());
	snprintf(taps[1], sizeof(taps[1]), "svw%db", (int)getpid());
	snprintf(taps[2], sizeof(taps[2]), "svw%de", (int)getpid());
	snprintf(taps[3], sizeof(taps[3]), "svw%df", (int)getpid());
	snprintf(veth[0], sizeof(veth[0]), "svw%dc", (int)getpid());
	snprintf(veth[1], sizeof(veth[1]), "svw%dd", (int)getpid());
	return cmocka_run_group_tests(tests, NULL, teardown);
}
