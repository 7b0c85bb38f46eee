/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host wires: the Linux network stack as the other end of the cable.
 *
 *   wire=tap:NAME         a tap interface (created if missing, else attached),
 *                         brought up; Linux sees the port's frames as received
 *                         on NAME and what it sends on NAME comes to the port.
 *   wire=af_packet:IFNAME an AF_PACKET socket bound to an existing interface
 *                         (e.g. one end of a veth pair), promiscuous, its own
 *                         transmissions ignored.
 *
 * Transmit: the model writes each frame to the fd when it drains a transmit
 * queue (the doorbell in inline mode, the model thread in thread mode), never
 * blocking: a full socket counts a wire drop.
 *
 * Receive: Linux sends whenever it likes, and in inline mode nothing in the
 * model runs between doorbells (the driver's receive queues even run with
 * NO_NOTIFY), so each host wire has a reader thread. It sleeps in poll() on
 * the fd and an eventfd, reads a bounded batch and delivers each frame
 * through vnet_rx_inject() (IOMMU, receive filter, the receive queue its flow
 * steers to: vnet_steer.c); the driver's rx_burst sees it at its next poll.
 * With no receive buffer (rx_full=wait) the reader keeps the frame (a frame
 * for one queue waits; later frames for other queues wait behind it, which
 * keeps every flow in order) and waits on the eventfd alone: the queue has
 * asked for a doorbell, the driver's refill rings it (vnet_host_wake()), and
 * Linux's socket or tap queue holds the rest meanwhile (what Linux drops
 * there on an af_packet wire is counted: host_drops). A device reset forgets
 * the stall, so the wait also times out and retries. Frames that arrive while
 * the port is not running are read and counted as missed (rx_no_buffer), as
 * a NIC would. AF_PACKET hands VLAN tags over beside the frame; they are put
 * back. Frames over VNET_MAX_FRAME are counted (oversize), never cut.
 *
 * Lifetime: opened at device creation, closed (reader joined, fds closed, a
 * tap created here removed by the kernel with its last fd) at destruction.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>

#include "vnet_priv.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23 /* Linux 4.20 */
#endif

#define HOST_BUF_LEN	(65536 + 64) /* any frame Linux can hand us, so none is cut short */
#define HOST_RX_BATCH	64	     /* frames read per wake-up before checking for stop */
#define HOST_RCVBUF	(4 << 20)    /* AF_PACKET: a few thousand frames of backlog */
#define HOST_MAX_ERRORS 64	     /* a dead fd (interface deleted) stops the reader */
#define HOST_STALL_MS	50	     /* retry a waiting frame this often without a doorbell */

struct vnet_host {
	int fd;		  /* tap fd or AF_PACKET socket, non-blocking */
	int wakefd;	  /* eventfd: stop, or receive buffers refilled */
	bool tap_up_here; /* an existing interface we brought up: put it down again */
	pthread_t reader; /* running while m->host points here */
	bool stop;	  /* atomic */
	uint8_t *buf;	  /* VNET_HDR_LEN of room, then the frame */
};

static const char *wire_kind(const struct vnet_model *m)
{
	return m->wire == VNET_WIRE_TAP ? "tap" : "af_packet";
}

/* Linux's rules for interface names (dev_valid_name). */
static bool ifname_ok(const char *n)
{
	if (*n == '\0' || strlen(n) >= IFNAMSIZ || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return false;
	for (; *n != '\0'; n++) {
		if (*n == '/' || *n == ':' || *n == ' ' || *n == '\t' || *n == '\n')
			return false;
	}
	return true;
}

int vnet_host_parse(struct vnet_model *m, const char *s)
{
	const char *name;

	if (strncmp(s, "tap:", 4) == 0) {
		m->wire = VNET_WIRE_TAP;
		name = s + 4;
	} else if (strncmp(s, "af_packet:", 10) == 0) {
		m->wire = VNET_WIRE_PACKET;
		name = s + 10;
	} else {
		return 1;
	}
	if (!ifname_ok(name)) {
		VNET_LOG(ERR,
			 "%s: wire=%s: '%s' is not an interface name (1..%d characters, no '/', "
			 "':' or spaces)",
			 m->dev->name, s, name, IFNAMSIZ - 1);
		m->wire = VNET_WIRE_NONE;
		return -EINVAL;
	}
	snprintf(m->host_if, sizeof(m->host_if), "%s", name);
	return 0;
}

static int privilege_error(struct vnet_model *m, const char *what, int err)
{
	if (err == EPERM || err == EACCES)
		VNET_LOG(ERR, "%s: wire=%s:%s: %s: %s (needs CAP_NET_ADMIN, e.g. run as root)",
			 m->dev->name, wire_kind(m), m->host_if, what, strerror(err));
	else
		VNET_LOG(ERR, "%s: wire=%s:%s: %s: %s", m->dev->name, wire_kind(m), m->host_if,
			 what, strerror(err));
	return -err;
}

/* Interface flags through an ioctl socket; @p up_here says whether we changed them. */
static int if_set_up(struct vnet_model *m, bool up, bool *up_here)
{
	struct ifreq ifr;
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return privilege_error(m, "socket for interface flags", errno);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", m->host_if);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		rc = privilege_error(m, "reading interface flags", errno);
		goto out_close;
	}
	if (up_here != NULL)
		*up_here = up && !(ifr.ifr_flags & IFF_UP);
	if (((ifr.ifr_flags & IFF_UP) != 0) == up)
		goto out_close;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		rc = privilege_error(m, up ? "bringing the interface up" : "taking it down", errno);
out_close:
	close(s);
	return rc;
}

static int tap_open(struct vnet_model *m, struct vnet_host *h)
{
	struct ifreq ifr;
	int err, rc;

	h->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (h->fd < 0) {
		err = errno;
		if (err == ENOENT || err == ENODEV) {
			VNET_LOG(ERR, "%s: wire=tap:%s: no /dev/net/tun (load the tun module)",
				 m->dev->name, m->host_if);
			return -ENODEV;
		}
		return privilege_error(m, "opening /dev/net/tun", err);
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", m->host_if);
	if (ioctl(h->fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		if (err == EBUSY || err == EINVAL) {
			VNET_LOG(ERR,
				 "%s: wire=tap:%s: the interface exists and is not a free tap "
				 "(%s)",
				 m->dev->name, m->host_if, strerror(err));
			return -err;
		}
		return privilege_error(m, "creating or attaching the tap", err);
	}
	rc = if_set_up(m, true, &h->tap_up_here);
	if (rc < 0)
		return rc;
	return 0;
}

static int packet_open(struct vnet_model *m, struct vnet_host *h)
{
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	unsigned int ifindex = if_nametoindex(m->host_if);
	int one = 1, rcvbuf = HOST_RCVBUF, err;

	if (ifindex == 0) {
		VNET_LOG(ERR, "%s: wire=af_packet:%s: no such interface", m->dev->name, m->host_if);
		return -ENODEV;
	}
	h->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (h->fd < 0) {
		err = errno;
		if (err == EPERM || err == EACCES) {
			VNET_LOG(ERR,
				 "%s: wire=af_packet:%s: AF_PACKET socket: %s (needs CAP_NET_RAW, "
				 "e.g. run as root)",
				 m->dev->name, m->host_if, strerror(err));
			return -err;
		}
		return privilege_error(m, "AF_PACKET socket", err);
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)ifindex;
	if (bind(h->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return privilege_error(m, "binding the socket", errno);
	/* Room for Linux's frames while the receive ring waits for a refill (best effort). */
	if (setsockopt(h->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(h->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* VLAN tags Linux took out of frames, to put them back. */
	if (setsockopt(h->fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0)
		return privilege_error(m, "PACKET_AUXDATA", errno);
	/* Linux's own transmissions on the interface are not for us; older kernels: on read. */
	(void)setsockopt(h->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	/* The port has its own MAC: the interface must pass every frame up. */
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = (int)ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(h->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		return privilege_error(m, "promiscuous mode", errno);
	return 0;
}

/*
 * AF_PACKET: Linux takes a VLAN tag out of the frame before packet sockets
 * see it and reports it beside the frame; put it back where it was.
 */
static ssize_t packet_read(struct vnet_host *h, uint8_t *frame, size_t cap)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;
	struct sockaddr_ll from;
	/* Four bytes kept free at the end for a tag to go back in. */
	struct iovec iov = { .iov_base = frame, .iov_len = cap - 4 };
	struct msghdr msg = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = &ctl,
		.msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c;
	ssize_t n;

	/* MSG_TRUNC: the real length, so a cut frame is seen as such. */
	n = recvmsg(h->fd, &msg, MSG_TRUNC);
	if (n < 0 || from.sll_pkttype == PACKET_OUTGOING)
		return n < 0 ? n : 0;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		struct tpacket_auxdata aux;
		uint16_t tag[2];

		if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
		    c->cmsg_len < CMSG_LEN(sizeof(aux)))
			continue;
		memcpy(&aux, CMSG_DATA(c), sizeof(aux));
		if (!(aux.tp_status & TP_STATUS_VLAN_VALID) || n < 12 || (size_t)n > cap - 4)
			break;
		tag[0] = htons(aux.tp_status & TP_STATUS_VLAN_TPID_VALID ? aux.tp_vlan_tpid
									 : ETH_P_8021Q);
		tag[1] = htons(aux.tp_vlan_tci);
		memmove(frame + 16, frame + 12, (size_t)n - 12);
		memcpy(frame + 12, tag, 4);
		n += 4;
		break;
	}
	return n;
}

/* Read one frame into h->buf + VNET_HDR_LEN: its length, 0 for none to take, -EAGAIN. */
static ssize_t host_read(struct vnet_model *m, struct vnet_host *h)
{
	uint8_t *frame = h->buf + VNET_HDR_LEN;
	size_t cap = HOST_BUF_LEN - VNET_HDR_LEN;
	ssize_t n;

	if (m->wire == VNET_WIRE_TAP)
		n = read(h->fd, frame, cap);
	else
		n = packet_read(h, frame, cap);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
	if ((size_t)n > VNET_MAX_FRAME) {
		VNET_STAT_ADD(m, oversize, 1);
		return 0;
	}
	return n;
}

/* AF_PACKET: frames the kernel dropped for want of socket buffer (read and reset). */
static void count_socket_drops(struct vnet_model *m, struct vnet_host *h)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (m->wire == VNET_WIRE_PACKET &&
	    getsockopt(h->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0 && st.tp_drops > 0)
		VNET_STAT_ADD(m, host_drops, st.tp_drops);
}

static void drain_wakefd(struct vnet_host *h)
{
	uint64_t v;

	(void)!read(h->wakefd, &v, sizeof(v));
}

static void *host_reader(void *arg)
{
	struct vnet_model *m = arg;
	struct vnet_host *h = m->host;
	uint32_t pending = 0;	 /* a frame (header included) waiting for receive buffers */
	unsigned int errors = 0; /* read errors in a row */

	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd[2] = {
			{ .fd = h->wakefd, .events = POLLIN },
			{ .fd = h->fd, .events = POLLIN },
		};
		unsigned int i;

		/*
		 * While a frame waits for buffers, only the refill doorbell (or stop)
		 * matters; the timeout covers a device reset, which forgets the stall.
		 */
		if (poll(pfd, pending ? 1 : 2, pending ? HOST_STALL_MS : -1) < 0 &&
		    errno != EINTR) {
			VNET_LOG(ERR, "%s: wire=%s:%s: poll: %s; receive stops", m->dev->name,
				 wire_kind(m), m->host_if, strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN)
			drain_wakefd(h);
		if (pending != 0) {
			if (vnet_rx_inject(m, h->buf, pending) == -ENOBUFS)
				continue;
			pending = 0;
		}
		for (i = 0; i < HOST_RX_BATCH && !__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE);
		     i++) {
			ssize_t n = host_read(m, h);

			if (n == -EAGAIN)
				break;
			if (n < 0) {
				/* E.g. ENETDOWN once when the interface goes down: carry on. */
				if (errors++ == 0)
					VNET_LOG(WARNING, "%s: wire=%s:%s: read: %s", m->dev->name,
						 wire_kind(m), m->host_if, strerror((int)-n));
				if (errors == HOST_MAX_ERRORS) {
					VNET_LOG(ERR,
						 "%s: wire=%s:%s: %u read errors in a row; "
						 "receive stops",
						 m->dev->name, wire_kind(m), m->host_if, errors);
					return NULL;
				}
				break;
			}
			errors = 0;
			if (n == 0)
				continue;
			if (vnet_rx_inject(m, h->buf, (uint32_t)n + VNET_HDR_LEN) == -ENOBUFS) {
				pending = (uint32_t)n + VNET_HDR_LEN;
				break;
			}
		}
		count_socket_drops(m, h);
	}
	return NULL;
}

int vnet_host_send(struct vnet_model *m, const uint8_t *frame, uint32_t len)
{
	struct vnet_host *h = m->host;
	ssize_t n;

	if (h == NULL)
		return -ENOTCONN;
	if (m->wire == VNET_WIRE_TAP)
		n = write(h->fd, frame, len);
	else
		n = send(h->fd, frame, len, MSG_DONTWAIT);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		return -EIO;
	if (errno == EMSGSIZE)
		return -EMSGSIZE;
	/* ENOBUFS: AF_PACKET's way of saying the device queue is full. */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return -EAGAIN;
	return -errno;
}

void vnet_host_wake(struct vnet_model *m)
{
	uint64_t one = 1;

	if (m->host != NULL)
		(void)!write(m->host->wakefd, &one, sizeof(one));
}

static void host_free(struct vnet_model *m, struct vnet_host *h)
{
	if (h->fd >= 0) {
		if (h->tap_up_here)
			(void)if_set_up(m, false, NULL);
		close(h->fd);
	}
	if (h->wakefd >= 0)
		close(h->wakefd);
	free(h->buf);
	free(h);
}

int vnet_host_open(struct vnet_model *m)
{
	struct vnet_host *h = calloc(1, sizeof(*h));
	char name[16];
	int rc;

	if (h == NULL)
		return -ENOMEM;
	h->fd = -1;
	h->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h->buf = malloc(HOST_BUF_LEN);
	if (h->wakefd < 0 || h->buf == NULL) {
		rc = h->wakefd < 0 ? -errno : -ENOMEM;
		goto out_free;
	}
	rc = m->wire == VNET_WIRE_TAP ? tap_open(m, h) : packet_open(m, h);
	if (rc < 0)
		goto out_free;
	m->host = h;
	rc = pthread_create(&h->reader, NULL, host_reader, m);
	if (rc != 0) {
		VNET_LOG(ERR, "%s: cannot start the wire's reader thread: %s", m->dev->name,
			 strerror(rc));
		rc = -rc;
		goto out_unpublish;
	}
	snprintf(name, sizeof(name), "vnet%d-rx", m->index);
	pthread_setname_np(h->reader, name);
	vnet_update_link(m);
	VNET_LOG(INFO, "%s: wire=%s:%s open", m->dev->name, wire_kind(m), m->host_if);
	return 0;

out_unpublish:
	m->host = NULL;
out_free:
	host_free(m, h);
	return rc;
}

void vnet_host_close(struct vnet_model *m)
{
	struct vnet_host *h = m->host;

	if (h == NULL)
		return;
	/* Published only once its reader started (vnet_host_open). */
	__atomic_store_n(&h->stop, true, __ATOMIC_RELEASE);
	vnet_host_wake(m);
	pthread_join(h->reader, NULL);
	m->host = NULL;
	vnet_update_link(m);
	host_free(m, h);
}
