/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio's vhost-user frontend layer against Debian's dpdk-testpmd as the
 * backend (net_vhost, rxonly):
 *
 *   test_vhost_user_peer TESTPMD plain   --vdev net_vhost0,iface=SOCK
 *   test_vhost_user_peer TESTPMD iommu   the same with iommu-support=1
 *   test_vhost_user_peer TESTPMD rx      plain, testpmd txonly: frames into our RX vring
 *
 * The frontend negotiates features, protocol features (REPLY_ACK, MQ), the
 * queue count, the memory table (EAL's --no-huge memfd) and one vring pair;
 * the backend must report the device ready. Then one frame goes into the TX
 * vring: the backend must consume it (used ring, GET_VRING_BASE) and count
 * it (testpmd's port stats: RX-packets 1, RX-bytes 60; its verbose dump
 * shows our addresses and ethertype). In rx mode testpmd transmits instead:
 * its frames must land in the buffers posted on the RX vring, and the call
 * eventfd must fire. Killed, the backend
 * must show up as -ECONNRESET on the next request.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_atomic.h>
#include <rte_eal.h>
#include <rte_malloc.h>

#include <cmocka.h>

#include "svio_test_eal.h"
#include "vhost_user.h"
#include "virtio_spec.h"

#define QSIZE	   256
#define RX_VRING   0
#define TX_VRING   1
#define NET_HDR_SZ 12 /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define FRAME_SZ   60
#define WAIT_MS	   20000

static const char *testpmd;
static bool iommu, rx_mode;
static char dir[64], sock_path[128], log_path[128], cmd_path[128], cmd_arg[160];
static pid_t backend = -1;

/* The split-ring layout the vring addresses point into. */
struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring {
	struct vring_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[QSIZE] */
	volatile uint16_t *used;  /* flags, idx, then {u32 id, u32 len}[QSIZE] */
	void *mem;
	int kick, call;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *read_log(void)
{
	static char buf[1 << 20];
	FILE *f = fopen(log_path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void dump_log(void)
{
	char *log = read_log();

	fprintf(stderr, "---- testpmd log ----\n%s---- end ----\n", log ? log : "(none)");
}

static bool backend_alive(void)
{
	int status;

	return waitpid(backend, &status, WNOHANG) == 0;
}

/* Waits until @p done(arg) or WAIT_MS pass; fails the test if the backend died. */
static bool wait_for(bool (*done)(const void *), const void *arg)
{
	int64_t deadline = now_ms() + WAIT_MS;

	while (now_ms() < deadline) {
		if (done(arg))
			return true;
		if (!backend_alive()) {
			dump_log();
			fail_msg("dpdk-testpmd exited");
		}
		usleep(10000);
	}
	return done(arg);
}

static bool socket_exists(const void *arg)
{
	struct stat st;

	(void)arg;
	return stat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static bool log_has(const void *arg)
{
	char *log = read_log();

	return log != NULL && strstr(log, arg) != NULL;
}

static void start_backend(void)
{
	char vdev[256];
	int fd;

	snprintf(vdev, sizeof(vdev), "net_vhost0,iface=%s%s", sock_path,
		 iommu ? ",iommu-support=1" : "");
	backend = fork();
	assert_true(backend >= 0);
	if (backend == 0) {
		char prefix[64];

		snprintf(prefix, sizeof(prefix), "--file-prefix=svio-vu-%d", (int)getpid());
		fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			_exit(127);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
		execl(testpmd, testpmd, "--no-huge", "-m", "256", "--no-pci", "--no-shconf", prefix,
		      "--no-telemetry", "-l", "0-1", "--log-level=lib.vhost.config:info", "--vdev",
		      vdev, "--", cmd_arg,
		      rx_mode ? "--forward-mode=txonly" : "--forward-mode=rxonly",
		      "--stats-period=1", "--total-num-mbufs=2048", "--nb-cores=1", (char *)NULL);
		_exit(127);
	}
	if (!wait_for(socket_exists, NULL)) {
		dump_log();
		fail_msg("no vhost-user socket at %s", sock_path);
	}
}

/*
 * The socket file exists from the backend's bind(); connect() is refused until
 * its listen() a moment later, so a refusal is retried until WAIT_MS pass.
 */
static int open_backend(struct vhost_user_dev **dev)
{
	int64_t deadline = now_ms() + WAIT_MS;
	int rc;

	while ((rc = vhost_user_dev_open(sock_path, dev)) == -ECONNREFUSED && now_ms() < deadline &&
	       backend_alive())
		usleep(10000);
	return rc;
}

static void stop_backend(void)
{
	int status;

	if (backend <= 0)
		return;
	kill(backend, SIGINT);
	waitpid(backend, &status, 0);
	backend = -1;
}

static void vring_init(struct vring *vr)
{
	char *p = rte_zmalloc("vring", 3 * 4096, 4096);

	assert_non_null(p);
	vr->mem = p;
	vr->desc = (struct vring_desc *)p;
	vr->avail = (volatile uint16_t *)(p + 4096);
	vr->used = (volatile uint16_t *)(p + 2 * 4096);
	vr->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vr->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(vr->kick >= 0 && vr->call >= 0);
}

static void vring_fini(struct vring *vr)
{
	close(vr->kick);
	close(vr->call);
	rte_free(vr->mem);
}

static void vring_setup(struct vhost_user_dev *dev, uint32_t index, struct vring *vr)
{
	assert_int_equal(vhost_user_set_vring_num(dev, index, QSIZE), 0);
	assert_int_equal(vhost_user_set_vring_base(dev, index, 0), 0);
	assert_int_equal(vhost_user_set_vring_addr(dev, index, (uintptr_t)vr->desc,
						   (uintptr_t)vr->avail, (uintptr_t)vr->used),
			 0);
	assert_int_equal(vhost_user_set_vring_kick(dev, index, vr->kick), 0);
	assert_int_equal(vhost_user_set_vring_call(dev, index, vr->call), 0);
	assert_int_equal(vhost_user_set_vring_enable(dev, index, true), 0);
}

static bool used_idx_is_one(const void *arg)
{
	const struct vring *vr = arg;

	return vr->used[1] == 1;
}

static bool used_idx_moved(const void *arg)
{
	const struct vring *vr = arg;

	return vr->used[1] != 0;
}

/* The last "RX-packets: N ... RX-bytes: M" testpmd printed for its one port. */
static bool rx_counted(const void *arg)
{
	unsigned long long pkts = 0, bytes = 0;
	const char *p, *last = NULL;
	char *log = read_log();

	(void)arg;
	if (log == NULL)
		return false;
	for (p = log; (p = strstr(p, "RX-packets:")) != NULL; p++)
		last = p;
	if (last == NULL ||
	    sscanf(last, "RX-packets: %llu RX-missed: %*u RX-bytes: %llu", &pkts, &bytes) != 2)
		return false;
	return pkts == 1 && bytes == FRAME_SZ;
}

#define RX_BUFS	  64
#define RX_BUF_SZ 2048

/*
 * Posts RX_BUFS device-writable buffers and waits for testpmd's txonly frames
 * (64-byte IPv4/UDP to its default peer 02:00:00:00:00:00) to fill some.
 * Returns how many buffers the backend took.
 */
static uint16_t receive_frames(struct vring *rxr)
{
	uint8_t *bufs = rte_zmalloc("rxbufs", RX_BUFS * RX_BUF_SZ, 64);
	static const uint8_t peer[6] = { 0x02, 0, 0, 0, 0, 0 };
	uint64_t one = 1, calls = 0;
	uint16_t i, used;

	assert_non_null(bufs);
	for (i = 0; i < RX_BUFS; i++) {
		rxr->desc[i].addr = (uintptr_t)(bufs + (size_t)i * RX_BUF_SZ);
		rxr->desc[i].len = RX_BUF_SZ;
		rxr->desc[i].flags = 2; /* VRING_DESC_F_WRITE */
		rxr->avail[2 + i] = i;
	}
	rte_smp_wmb(); /* the entries before the index that publishes them */
	rxr->avail[1] = RX_BUFS;
	rte_smp_mb();
	assert_int_equal(write(rxr->kick, &one, sizeof(one)), sizeof(one));
	if (!wait_for(used_idx_moved, rxr)) {
		dump_log();
		fail_msg("no frame arrived in the RX vring");
	}
	used = rxr->used[1];
	rte_smp_rmb();
	for (i = 0; i < used && i < RX_BUFS; i++) {
		/* used ring entry i: {u32 id, u32 len} after flags and idx */
		const volatile uint32_t *e = (const volatile uint32_t *)(rxr->used + 2) + 2 * i;
		const uint8_t *f;

		assert_true(e[0] < RX_BUFS);
		assert_int_equal(e[1], NET_HDR_SZ + 64);
		f = bufs + (size_t)e[0] * RX_BUF_SZ + NET_HDR_SZ;
		assert_memory_equal(f, peer, sizeof(peer));
		assert_int_equal(f[12], 0x08); /* IPv4 */
		assert_int_equal(f[13], 0x00);
	}
	/* The backend signals every completion batch on our call eventfd. */
	assert_int_equal(read(rxr->call, &calls, sizeof(calls)), sizeof(calls));
	assert_true(calls >= 1);
	rte_free(bufs);
	return used;
}

/* One broadcast frame with the IEEE local experimental ethertype. */
static void send_one_frame(struct vring *tx)
{
	uint8_t *buf = rte_zmalloc("frame", NET_HDR_SZ + FRAME_SZ, 64);
	uint8_t *f = buf + NET_HDR_SZ;
	uint64_t one = 1;
	int i;

	assert_non_null(buf);
	memset(f, 0xff, 6);
	for (i = 0; i < 6; i++)
		f[6 + i] = (uint8_t)(0x02 + i);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (i = 14; i < FRAME_SZ; i++)
		f[i] = (uint8_t)i;
	tx->desc[0].addr = (uintptr_t)buf;
	tx->desc[0].len = NET_HDR_SZ + FRAME_SZ;
	tx->desc[0].flags = 0;
	tx->avail[2] = 0; /* ring[0] = descriptor 0 */
	rte_smp_wmb();	  /* the entry before the index that publishes it */
	tx->avail[1] = 1;
	rte_smp_mb(); /* the index before the kick */
	assert_int_equal(write(tx->kick, &one, sizeof(one)), sizeof(one));
	if (!wait_for(used_idx_is_one, tx)) {
		dump_log();
		fail_msg("the backend did not consume the TX descriptor");
	}
	rte_smp_rmb();
	/* used ring entry 0 (after flags and idx) names descriptor 0 */
	assert_int_equal(*(volatile uint32_t *)(tx->used + 2), 0);
	/* What the backend read is what we wrote: it used our memory table. */
	if (!wait_for(log_has, "src=02:03:04:05:06:07 - dst=FF:FF:FF:FF:FF:FF") ||
	    !log_has("type=0x88b5 - length=60 - nb_segs=1")) {
		dump_log();
		fail_msg("testpmd did not print the frame as sent");
	}
	if (!wait_for(rx_counted, NULL)) {
		dump_log();
		fail_msg("testpmd's port stats do not show the frame (RX-packets 1, RX-bytes %d)",
			 FRAME_SZ);
	}
	rte_free(buf);
}

static void negotiate_and_run(void **state)
{
	const uint64_t want =
		VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	const uint64_t want_proto =
		(1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	struct vhost_user_mem_table mt;
	struct vhost_user_dev *dev;
	uint64_t features, proto, nq;
	struct vring rx, tx;
	uint32_t base;

	(void)state;
	start_backend();
	assert_int_equal(open_backend(&dev), 0);
	assert_int_equal(vhost_user_set_owner(dev), 0);
	assert_int_equal(vhost_user_get_features(dev, &features), 0);
	assert_true((features & want) == want);
	/* iommu-support=1 is what makes net_vhost offer the platform IOMMU. */
	assert_int_equal(!!(features & VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM)), iommu);
	assert_int_equal(vhost_user_get_protocol_features(dev, &proto), 0);
	assert_true((proto & want_proto) == want_proto);
	assert_int_equal(vhost_user_set_protocol_features(dev, want_proto), 0);
	assert_true(vhost_user_dev_reply_ack(dev));
	assert_int_equal(vhost_user_get_queue_num(dev, &nq), 0);
	assert_true(nq >= 1);
	assert_int_equal(vhost_user_set_features(dev, want), 0);

	assert_int_equal(vhost_user_mem_table_from_dpdk(&mt), 0);
	assert_true(mt.nregions >= 1);
	assert_int_equal(vhost_user_set_mem_table(dev, &mt), 0);

	vring_init(&rx);
	vring_init(&tx);
	vring_setup(dev, RX_VRING, &rx);
	vring_setup(dev, TX_VRING, &tx);
	if (!wait_for(log_has, "virtio is now ready for processing")) {
		dump_log();
		fail_msg("the backend never reported the device ready");
	}

	if (rx_mode) {
		uint16_t used = receive_frames(&rx);

		/* Stopped, the RX vring reports at least the buffers seen used. */
		assert_int_equal(vhost_user_get_vring_base(dev, RX_VRING, &base), 0);
		assert_true(base >= used && base <= RX_BUFS);
	} else {
		send_one_frame(&tx);

		/* Stopping the rings: the backend reports how far it got in each. */
		assert_int_equal(vhost_user_get_vring_base(dev, TX_VRING, &base), 0);
		assert_int_equal(base, 1);
		assert_int_equal(vhost_user_get_vring_base(dev, RX_VRING, &base), 0);
		assert_int_equal(base, 0);
	}

	if (getenv("SVIO_TEST_VERBOSE") != NULL)
		dump_log();

	/* The backend dies: the next request says so, later ones are refused. */
	kill(backend, SIGKILL);
	waitpid(backend, NULL, 0);
	backend = -1;
	assert_int_equal(vhost_user_set_vring_enable(dev, RX_VRING, false), -ECONNRESET);
	assert_int_equal(vhost_user_set_vring_enable(dev, RX_VRING, true), -ENOTCONN);
	vhost_user_dev_close(dev);
	vring_fini(&rx);
	vring_fini(&tx);
}

static int setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/svio-vu-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/vhost.sock", dir);
	snprintf(log_path, sizeof(log_path), "%s/testpmd.log", dir);
	/* testpmd prints each received frame's addresses, type and length. */
	snprintf(cmd_path, sizeof(cmd_path), "%s/testpmd.cmd", dir);
	snprintf(cmd_arg, sizeof(cmd_arg), "--cmdline-file=%s", cmd_path);
	f = fopen(cmd_path, "w");
	if (f == NULL)
		return -1;
	fputs("set verbose 1\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stop_backend();
	unlink(sock_path);
	unlink(log_path);
	unlink(cmd_path);
	rmdir(dir);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(negotiate_and_run, setup, teardown),
	};

	if (argc != 3 || (strcmp(argv[2], "plain") != 0 && strcmp(argv[2], "iommu") != 0 &&
			  strcmp(argv[2], "rx") != 0)) {
		fprintf(stderr, "usage: %s DPDK_TESTPMD plain|iommu|rx\n", argv[0]);
		return 2;
	}
	testpmd = argv[1];
	iommu = strcmp(argv[2], "iommu") == 0;
	rx_mode = strcmp(argv[2], "rx") == 0;
	if (svio_test_dpdk_init() < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return 1;
	}
	return cmocka_run_group_tests_name(argv[2], tests, NULL, NULL);
}
