/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vhost-user frontend layer against a scripted fake backend on a unix
 * socket: each case's script (on its own thread) accepts the connection,
 * reads what the frontend sent and answers well, badly or not at all. Every
 * failure must be one log line naming what was wrong, a negative errno, and
 * leave no fd behind; fds sent with SET_MEM_TABLE and SET_VRING_KICK must
 * reach the backend and work there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_log.h>

#include <cmocka.h>

#include "svio_test_eal.h"
#include "vhost_user.h"
#include "vhost_user_sock.h"

#define TIMEOUT_MS 300

static char dir[64], sock_path[128];

/* ---- the fake backend ---- */
struct fake {
	int listen_fd;
	pthread_t thread;
	void (*script)(struct fake *f, int conn);
	char error[256]; /* first thing the script found wrong; checked after join */
	uint64_t value;	 /* script input or output */
	int fds[VHOST_USER_MAX_FDS];
	unsigned int nfds;
	struct vhost_user_msg last;
};

static struct fake fake;

static void fake_error(struct fake *f, const char *fmt, ...)
{
	va_list ap;

	if (f->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(f->error, sizeof(f->error), fmt, ap);
	va_end(ap);
}

/* Reads one whole message and keeps the fds that came with it. */
static int fake_recv(struct fake *f, int conn, struct vhost_user_msg *m)
{
	char ctl[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
	struct iovec iov = { .iov_base = &m->hdr, .iov_len = sizeof(m->hdr) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)
	};
	struct cmsghdr *c;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	n = recvmsg(conn, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
	if (n != (ssize_t)sizeof(m->hdr))
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		unsigned int k = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		if (c->cmsg_type == SCM_RIGHTS && f->nfds + k <= VHOST_USER_MAX_FDS) {
			memcpy(&f->fds[f->nfds], CMSG_DATA(c), k * sizeof(int));
			f->nfds += k;
		}
	}
	/* (a zero-length MSG_WAITALL recv would wait for the next message) */
	if (m->hdr.size > sizeof(m->payload) ||
	    (m->hdr.size > 0 &&
	     recv(conn, &m->payload, m->hdr.size, MSG_WAITALL) != (ssize_t)m->hdr.size))
		return -1;
	f->last = *m;
	return 0;
}

static void fake_send(int conn, const void *buf, size_t len, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	(void)sendmsg(conn, &mh, MSG_NOSIGNAL);
}

static void fake_reply(int conn, uint32_t req, uint32_t flags, const void *payload, uint32_t size)
{
	struct vhost_user_msg m = { .hdr = { .request = req, .flags = flags, .size = size } };

	memcpy(&m.payload, payload, size);
	fake_send(conn, &m, sizeof(m.hdr) + size, -1);
}

static void fake_reply_u64(int conn, uint32_t req, uint64_t v)
{
	fake_reply(conn, req, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, &v, sizeof(v));
}

/* Reads one request that must be @p req with @p size payload bytes. */
static bool fake_expect(struct fake *f, int conn, uint32_t req, uint32_t size)
{
	struct vhost_user_msg m;

	if (fake_recv(f, conn, &m) < 0) {
		fake_error(f, "no request %u", req);
		return false;
	}
	if (m.hdr.request != req || m.hdr.size != size ||
	    (m.hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION) {
		fake_error(f, "got request %u size %u flags 0x%x, expected %u size %u",
			   m.hdr.request, m.hdr.size, m.hdr.flags, req, size);
		return false;
	}
	return true;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int conn = accept(f->listen_fd, NULL, NULL);

	if (conn < 0) {
		fake_error(f, "accept: %s", strerror(errno));
		return NULL;
	}
	f->script(f, conn);
	close(conn);
	return NULL;
}

static void fake_start(void (*script)(struct fake *, int))
{
	fake.script = script;
	fake.error[0] = '\0';
	fake.nfds = 0;
	assert_int_equal(pthread_create(&fake.thread, NULL, fake_main, &fake), 0);
}

/* Joins the script, fails on what it found wrong, closes the fds it received. */
static void fake_join(void)
{
	unsigned int i;

	assert_int_equal(pthread_join(fake.thread, NULL), 0);
	for (i = 0; i < fake.nfds; i++)
		close(fake.fds[i]);
	fake.nfds = 0;
	if (fake.error[0] != '\0')
		fail_msg("fake backend: %s", fake.error);
}

/* ---- logs and fds ---- */
static FILE *log_file;

static void log_begin(void)
{
	log_file = tmpfile();
	assert_non_null(log_file);
	rte_openlog_stream(log_file);
}

/* Ends the capture: exactly one line, containing every string of @p want. */
static void log_end_one_line(const char *want1, const char *want2)
{
	char line[1024], first[1024] = "";
	int n = 0;

	fflush(log_file);
	rewind(log_file);
	while (fgets(line, sizeof(line), log_file) != NULL) {
		if (n++ == 0)
			strcpy(first, line);
		fprintf(stderr, "  log: %s", line);
	}
	rte_openlog_stream(NULL);
	fclose(log_file);
	log_file = NULL;
	assert_int_equal(n, 1);
	if (strstr(first, want1) == NULL || (want2 != NULL && strstr(first, want2) == NULL))
		fail_msg("log line '%s' lacks '%s' / '%s'", first, want1, want2 ? want2 : "");
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static int fds_before;

static int setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)state;
	fds_before = count_fds();
	strcpy(sa.sun_path, sock_path);
	fake.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fake.listen_fd < 0 || bind(fake.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fake.listen_fd, 1) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(fake.listen_fd);
	unlink(sock_path);
	/* Nothing the frontend or the fake opened may outlive the case. */
	if (count_fds() != fds_before) {
		fprintf(stderr, "fd leak: %d open before, %d after\n", fds_before, count_fds());
		return -1;
	}
	return 0;
}

static struct vhost_user_dev *open_dev(void)
{
	struct vhost_user_dev *dev;

	assert_int_equal(vhost_user_dev_open(sock_path, &dev), 0);
	vhost_user_dev_set_timeout(dev, TIMEOUT_MS);
	return dev;
}

/* ---- connect ---- */
static void connect_nothing_there(void **state)
{
	struct vhost_user_dev *dev = NULL;
	char path[160];

	(void)state;
	snprintf(path, sizeof(path), "%s/absent.sock", dir);
	log_begin();
	assert_int_equal(vhost_user_dev_open(path, &dev), -ENOENT);
	log_end_one_line(path, "No such file");
	assert_null(dev);
}

static void connect_nobody_listens(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vhost_user_dev *dev = NULL;
	int s;

	(void)state;
	/* A socket file whose owner went away: bound, never listening. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dead.sock", dir);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	log_begin();
	assert_int_equal(vhost_user_dev_open(sa.sun_path, &dev), -ECONNREFUSED);
	log_end_one_line(sa.sun_path, "listening");
	unlink(sa.sun_path);
}

/* ---- good exchanges ---- */
static void script_negotiate(struct fake *f, int conn)
{
	uint64_t offered = (1ull << 32) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	struct vhost_user_vring_state st;

	if (!fake_expect(f, conn, VHOST_USER_SET_OWNER, 0))
		return;
	if (!fake_expect(f, conn, VHOST_USER_GET_FEATURES, 0))
		return;
	fake_reply_u64(conn, VHOST_USER_GET_FEATURES, offered);
	if (!fake_expect(f, conn, VHOST_USER_GET_PROTOCOL_FEATURES, 0))
		return;
	fake_reply_u64(conn, VHOST_USER_GET_PROTOCOL_FEATURES,
		       (1ull << VHOST_USER_PROTOCOL_F_MQ) |
			       (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	if (!fake_expect(f, conn, VHOST_USER_SET_PROTOCOL_FEATURES, 8))
		return;
	/* From here every request without a reply asks for an ack. */
	if (!fake_expect(f, conn, VHOST_USER_GET_QUEUE_NUM, 0))
		return;
	fake_reply_u64(conn, VHOST_USER_GET_QUEUE_NUM, 4);
	if (!fake_expect(f, conn, VHOST_USER_SET_FEATURES, 8))
		return;
	if (!(f->last.hdr.flags & VHOST_USER_FLAG_NEED_REPLY))
		fake_error(f, "SET_FEATURES after REPLY_ACK without the need-reply flag");
	f->value = f->last.payload.u64;
	fake_reply_u64(conn, VHOST_USER_SET_FEATURES, 0);
	if (!fake_expect(f, conn, VHOST_USER_SET_VRING_NUM, sizeof(st)))
		return;
	if (f->last.payload.state.index != 1 || f->last.payload.state.num != 256)
		fake_error(f, "SET_VRING_NUM %u/%u", f->last.payload.state.index,
			   f->last.payload.state.num);
	fake_reply_u64(conn, VHOST_USER_SET_VRING_NUM, 0);
	if (!fake_expect(f, conn, VHOST_USER_SET_VRING_ADDR, sizeof(struct vhost_user_vring_addr)))
		return;
	if (f->last.payload.addr.desc != 0x1000 || f->last.payload.addr.avail != 0x2000 ||
	    f->last.payload.addr.used != 0x3000)
		fake_error(f, "SET_VRING_ADDR has the wrong addresses");
	fake_reply_u64(conn, VHOST_USER_SET_VRING_ADDR, 0);
	if (!fake_expect(f, conn, VHOST_USER_SET_VRING_ENABLE, sizeof(st)))
		return;
	fake_reply_u64(conn, VHOST_USER_SET_VRING_ENABLE, 0);
	if (!fake_expect(f, conn, VHOST_USER_GET_VRING_BASE, sizeof(st)))
		return;
	st.index = 1;
	st.num = 77;
	fake_reply(conn, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, &st,
		   sizeof(st));
}

static void negotiate(void **state)
{
	struct vhost_user_dev *dev;
	uint64_t features, proto, nq;
	uint32_t base;

	(void)state;
	fake_start(script_negotiate);
	dev = open_dev();
	assert_int_equal(vhost_user_set_owner(dev), 0);
	assert_int_equal(vhost_user_get_features(dev, &features), 0);
	assert_int_equal(features, (1ull << 32) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	assert_int_equal(vhost_user_get_protocol_features(dev, &proto), 0);
	assert_int_equal(vhost_user_set_protocol_features(dev, proto), 0);
	assert_true(vhost_user_dev_reply_ack(dev));
	assert_int_equal(vhost_user_get_queue_num(dev, &nq), 0);
	assert_int_equal(nq, 4);
	assert_int_equal(vhost_user_set_features(dev, features), 0);
	assert_int_equal(vhost_user_set_vring_num(dev, 1, 256), 0);
	assert_int_equal(vhost_user_set_vring_addr(dev, 1, 0x1000, 0x2000, 0x3000), 0);
	assert_int_equal(vhost_user_set_vring_enable(dev, 1, true), 0);
	assert_int_equal(vhost_user_get_vring_base(dev, 1, &base), 0);
	assert_int_equal(base, 77);
	vhost_user_dev_close(dev);
	fake_join();
	assert_int_equal(fake.value, features);
}

/* A feature the backend never offered is refused before anything is sent. */
static void script_offer_nothing(struct fake *f, int conn)
{
	if (fake_expect(f, conn, VHOST_USER_GET_FEATURES, 0))
		fake_reply_u64(conn, VHOST_USER_GET_FEATURES, 1ull << 32);
}

static void refuse_unoffered(void **state)
{
	struct vhost_user_dev *dev;
	uint64_t features;

	(void)state;
	fake_start(script_offer_nothing);
	dev = open_dev();
	assert_int_equal(vhost_user_get_features(dev, &features), 0);
	log_begin();
	assert_int_equal(vhost_user_get_protocol_features(dev, &features), -ENOTSUP);
	log_end_one_line("GET_PROTOCOL_FEATURES", "bit 30");
	log_begin();
	assert_int_equal(vhost_user_set_features(dev, 1ull << 33), -EINVAL);
	log_end_one_line("SET_FEATURES", "not offered");
	log_begin();
	assert_int_equal(vhost_user_set_vring_enable(dev, 0, true), -ENOTSUP);
	log_end_one_line("SET_VRING_ENABLE", "bit 30");
	log_begin();
	assert_int_equal(vhost_user_set_vring_kick(dev, 256, -1), -EINVAL);
	log_end_one_line("SET_VRING_KICK", "index 256");
	vhost_user_dev_close(dev);
	fake_join();
	assert_int_equal(fake.last.hdr.request, VHOST_USER_GET_FEATURES); /* nothing after it */
}

/* ---- fd passing ---- */
static void script_mem_table(struct fake *f, int conn)
{
	struct vhost_user_region reg;
	const struct vhost_user_region *r = &reg;
	char *p;

	if (!fake_expect(f, conn, VHOST_USER_SET_MEM_TABLE, 8 + 32))
		return;
	memcpy(&reg, &f->last.payload.mem.regions[0], sizeof(reg));
	if (f->last.payload.mem.nregions != 1 || f->nfds != 1) {
		fake_error(f, "%u regions, %u fds", f->last.payload.mem.nregions, f->nfds);
		return;
	}
	/* Map it as a backend does and answer through it. */
	p = mmap(NULL, r->size + r->mmap_offset, PROT_READ | PROT_WRITE, MAP_SHARED, f->fds[0], 0);
	if (p == MAP_FAILED) {
		fake_error(f, "mmap of the passed fd: %s", strerror(errno));
		return;
	}
	if (strcmp(p + r->mmap_offset, "from the frontend") != 0)
		fake_error(f, "region reads '%.20s'", p + r->mmap_offset);
	strcpy(p + r->mmap_offset + 64, "from the backend");
	munmap(p, r->size + r->mmap_offset);
	f->value = r->user_addr;
}

static void mem_table_fd(void **state)
{
	struct vhost_user_mem_table t = { 0 };
	struct vhost_user_dev *dev;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	int memfd = memfd_create("vu-test", MFD_CLOEXEC);
	char *p;

	(void)state;
	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, (off_t)(4 * pg)), 0);
	p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	assert_true(p != MAP_FAILED);
	strcpy(p + pg, "from the frontend");
	/* Two adjacent pieces of the same file become one region. */
	assert_int_equal(vhost_user_mem_table_add(&t, p + pg, pg, memfd, pg), 0);
	assert_int_equal(vhost_user_mem_table_add(&t, p + 2 * pg, pg, memfd, 2 * pg), 0);
	assert_int_equal(t.nregions, 1);
	assert_int_equal(t.regions[0].size, 2 * pg);
	assert_int_equal(t.regions[0].guest_addr, (uintptr_t)(p + pg));

	fake_start(script_mem_table);
	dev = open_dev();
	assert_int_equal(vhost_user_set_mem_table(dev, &t), 0);
	vhost_user_dev_close(dev);
	fake_join();
	assert_int_equal(fake.value, (uintptr_t)(p + pg));
	assert_string_equal(p + pg + 64, "from the backend");
	assert_true(fcntl(memfd, F_GETFD) >= 0); /* still the caller's */
	munmap(p, 4 * pg);
	close(memfd);
}

static void script_kick(struct fake *f, int conn)
{
	uint64_t one = 5;

	if (!fake_expect(f, conn, VHOST_USER_SET_VRING_KICK, 8))
		return;
	if (f->nfds != 1 || f->last.payload.u64 != 3) {
		fake_error(f, "KICK payload 0x%llx with %u fds",
			   (unsigned long long)f->last.payload.u64, f->nfds);
		return;
	}
	if (write(f->fds[0], &one, sizeof(one)) != sizeof(one))
		fake_error(f, "write to the passed eventfd: %s", strerror(errno));
	if (!fake_expect(f, conn, VHOST_USER_SET_VRING_CALL, 8))
		return;
	if (f->nfds != 1 || f->last.payload.u64 != (3 | VHOST_USER_VRING_NOFD))
		fake_error(f, "CALL without fd: payload 0x%llx, %u fds in all",
			   (unsigned long long)f->last.payload.u64, f->nfds);
}

static void vring_kick_fd(void **state)
{
	struct vhost_user_dev *dev;
	int efd = eventfd(0, EFD_CLOEXEC);
	uint64_t v = 0;

	(void)state;
	assert_true(efd >= 0);
	fake_start(script_kick);
	dev = open_dev();
	assert_int_equal(vhost_user_set_vring_kick(dev, 3, efd), 0);
	assert_int_equal(vhost_user_set_vring_call(dev, 3, -1), 0);
	vhost_user_dev_close(dev);
	fake_join();
	assert_int_equal(read(efd, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 5); /* the backend's write reached our eventfd */
	close(efd);
}

/* ---- bad replies ---- */
enum bad_kind {
	BAD_REQUEST_CODE,
	BAD_SIZE,
	BAD_NO_REPLY_FLAG,
	BAD_VERSION,
	BAD_OVERSIZED,
	BAD_SHORT_HEADER,
	BAD_SHORT_PAYLOAD,
	BAD_HANG_UP,
	BAD_SILENT,
	BAD_WITH_FD,
};

static void script_bad(struct fake *f, int conn)
{
	struct vhost_user_msg m = { .hdr = { .request = VHOST_USER_GET_FEATURES,
					     .flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY,
					     .size = 8 } };
	char c;

	if (!fake_expect(f, conn, VHOST_USER_GET_FEATURES, 0))
		return;
	switch ((enum bad_kind)f->value) {
	case BAD_REQUEST_CODE:
		fake_reply_u64(conn, VHOST_USER_GET_PROTOCOL_FEATURES, 1);
		break;
	case BAD_SIZE:
		fake_reply(conn, VHOST_USER_GET_FEATURES,
			   VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, &m.payload, 4);
		break;
	case BAD_NO_REPLY_FLAG:
		fake_reply(conn, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, &m.payload, 8);
		break;
	case BAD_VERSION:
		fake_reply(conn, VHOST_USER_GET_FEATURES, 2 | VHOST_USER_FLAG_REPLY, &m.payload, 8);
		break;
	case BAD_OVERSIZED:
		m.hdr.size = 1u << 20;
		fake_send(conn, &m, sizeof(m.hdr) + 8, -1);
		break;
	case BAD_SHORT_HEADER:
		fake_send(conn, &m, 6, -1);
		break;
	case BAD_SHORT_PAYLOAD:
		fake_send(conn, &m, sizeof(m.hdr) + 4, -1);
		break;
	case BAD_HANG_UP:
		break;
	case BAD_SILENT:
		/* Hold the connection until the frontend gives up and closes it. */
		(void)recv(conn, &c, 1, 0);
		break;
	case BAD_WITH_FD: {
		int efd = eventfd(0, EFD_CLOEXEC);

		m.payload.u64 = 1ull << 32;
		fake_send(conn, &m, sizeof(m.hdr) + 8, efd);
		close(efd);
		break;
	}
	}
}

static void expect_bad(enum bad_kind kind, int err, const char *why)
{
	struct vhost_user_dev *dev;
	uint64_t features = 0;

	fake.value = kind;
	fake_start(script_bad);
	dev = open_dev();
	log_begin();
	assert_int_equal(vhost_user_get_features(dev, &features), err);
	log_end_one_line("GET_FEATURES", why);
	if (err < 0) {
		/* Out of step now: refused without touching the socket. */
		log_begin();
		assert_int_equal(vhost_user_set_owner(dev), -ENOTCONN);
		log_end_one_line("SET_OWNER", "reconnect");
	}
	vhost_user_dev_close(dev);
	fake_join();
}

static void bad_request_code(void **s)
{
	(void)s;
	expect_bad(BAD_REQUEST_CODE, -EPROTO, "reply is for request 15");
}

static void bad_size(void **s)
{
	(void)s;
	expect_bad(BAD_SIZE, -EPROTO, "4-byte payload, expected 8");
}

static void bad_no_reply_flag(void **s)
{
	(void)s;
	expect_bad(BAD_NO_REPLY_FLAG, -EPROTO, "reply bit");
}

static void bad_version(void **s)
{
	(void)s;
	expect_bad(BAD_VERSION, -EPROTO, "version 1");
}

static void bad_oversized(void **s)
{
	(void)s;
	expect_bad(BAD_OVERSIZED, -EPROTO, "larger than any");
}

static void bad_short_header(void **s)
{
	(void)s;
	expect_bad(BAD_SHORT_HEADER, -EPROTO, "inside a message header");
}

static void bad_short_payload(void **s)
{
	(void)s;
	expect_bad(BAD_SHORT_PAYLOAD, -EPROTO, "inside a message payload");
}

static void bad_hang_up(void **s)
{
	(void)s;
	expect_bad(BAD_HANG_UP, -ECONNRESET, "backend hung up");
}

static void bad_silent(void **s)
{
	(void)s;
	expect_bad(BAD_SILENT, -ETIMEDOUT, "no reply before the timeout");
}

/* An fd the backend sends with a reply is closed, not leaked (teardown counts). */
static void reply_with_fd(void **state)
{
	struct vhost_user_dev *dev;
	uint64_t features = 0;

	(void)state;
	fake.value = BAD_WITH_FD;
	fake_start(script_bad);
	dev = open_dev();
	assert_int_equal(vhost_user_get_features(dev, &features), 0);
	assert_int_equal(features, 1ull << 32);
	vhost_user_dev_close(dev);
	fake_join();
}

/* With REPLY_ACK, a non-zero ack is the backend refusing the request. */
static void script_refuse(struct fake *f, int conn)
{
	if (!fake_expect(f, conn, VHOST_USER_GET_FEATURES, 0))
		return;
	fake_reply_u64(conn, VHOST_USER_GET_FEATURES, 1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	if (!fake_expect(f, conn, VHOST_USER_SET_PROTOCOL_FEATURES, 8))
		return;
	if (!fake_expect(f, conn, VHOST_USER_SET_OWNER, 0))
		return;
	fake_reply_u64(conn, VHOST_USER_SET_OWNER, 1);
	if (!fake_expect(f, conn, VHOST_USER_SET_VRING_BASE, 8))
		return;
	fake_reply_u64(conn, VHOST_USER_SET_VRING_BASE, 0);
}

static void ack_refused(void **state)
{
	struct vhost_user_dev *dev;
	uint64_t features;

	(void)state;
	fake_start(script_refuse);
	dev = open_dev();
	assert_int_equal(vhost_user_get_features(dev, &features), 0);
	assert_int_equal(
		vhost_user_set_protocol_features(dev, 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK), 0);
	log_begin();
	assert_int_equal(vhost_user_set_owner(dev), -EIO);
	log_end_one_line("SET_OWNER", "refused");
	/* A refusal keeps the session in step: the next request goes through. */
	assert_int_equal(vhost_user_set_vring_base(dev, 0, 0), 0);
	vhost_user_dev_close(dev);
	fake_join();
}

/* GET_VRING_BASE must answer for the vring asked about. */
static void script_wrong_vring(struct fake *f, int conn)
{
	struct vhost_user_vring_state st = { .index = 2, .num = 9 };

	if (fake_expect(f, conn, VHOST_USER_GET_VRING_BASE, sizeof(st)))
		fake_reply(conn, VHOST_USER_GET_VRING_BASE,
			   VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, &st, sizeof(st));
}

static void vring_base_wrong_index(void **state)
{
	struct vhost_user_dev *dev;
	uint32_t base = 0;

	(void)state;
	fake_start(script_wrong_vring);
	dev = open_dev();
	log_begin();
	assert_int_equal(vhost_user_get_vring_base(dev, 1, &base), -EPROTO);
	log_end_one_line("GET_VRING_BASE", "names vring 2");
	assert_int_equal(base, 0);
	vhost_user_dev_close(dev);
	fake_join();
}

/* ---- the memory table ---- */
static void mem_table_limits(void **state)
{
	struct vhost_user_mem_table t = { 0 };
	static char area[16][64];
	int i;

	(void)state;
	assert_int_equal(vhost_user_mem_table_add(&t, NULL, 64, 0, 0), -EINVAL);
	assert_int_equal(vhost_user_mem_table_add(&t, area[0], 64, -1, 0), -EINVAL);
	/* Contiguous in memory but not in the file: separate regions. */
	for (i = 0; i < VHOST_USER_MAX_REGIONS; i++)
		assert_int_equal(vhost_user_mem_table_add(&t, area[i], 64, 0, (uint64_t)i * 128),
				 0);
	assert_int_equal(t.nregions, VHOST_USER_MAX_REGIONS);
	assert_int_equal(vhost_user_mem_table_add(&t, area[8], 64, 0, 1024), -ENOSPC);
}

/* EAL's --no-huge memory is one memfd: the table maps it whole. */
static void mem_table_dpdk(void **state)
{
	struct vhost_user_mem_table t;
	struct stat st;
	unsigned int i;
	uint64_t total = 0;

	(void)state;
	assert_int_equal(vhost_user_mem_table_from_dpdk(&t), 0);
	assert_true(t.nregions >= 1);
	for (i = 0; i < t.nregions; i++) {
		assert_int_equal(fstat(t.fds[i], &st), 0);
		assert_true((uint64_t)st.st_size >= t.regions[i].mmap_offset + t.regions[i].size);
		assert_int_equal(t.regions[i].guest_addr, t.regions[i].user_addr);
		total += t.regions[i].size;
	}
	assert_true(total >= 64ull << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(connect_nothing_there, setup, teardown),
		cmocka_unit_test_setup_teardown(connect_nobody_listens, setup, teardown),
		cmocka_unit_test_setup_teardown(negotiate, setup, teardown),
		cmocka_unit_test_setup_teardown(refuse_unoffered, setup, teardown),
		cmocka_unit_test_setup_teardown(mem_table_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(vring_kick_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_request_code, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_size, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_no_reply_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_version, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_short_header, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_short_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_hang_up, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(reply_with_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(ack_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(vring_base_wrong_index, setup, teardown),
		cmocka_unit_test(mem_table_limits),
		cmocka_unit_test(mem_table_dpdk),
	};
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/svio-vu-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/backend.sock", dir);
	if (svio_test_dpdk_init() < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return 1;
	}
	rc = cmocka_run_group_tests_name("vhost_user", tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
