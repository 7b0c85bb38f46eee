/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio network ports: an ethdev-like API over svio's virtio-net driver, on
 * DPDK's rte_mbuf and rte_mempool.
 *
 *   svio_net_port_by_name("sim_vnet0", &port);
 *   svio_net_configure(port, nb_rxq, nb_txq);
 *   svio_net_rx_queue_setup(port, q, 1024, SOCKET_ID_ANY, mbuf_pool);
 *   svio_net_tx_queue_setup(port, q, 1024, SOCKET_ID_ANY);
 *   svio_net_start(port);
 *   n = svio_net_rx_burst(port, q, pkts, 32);  ...  svio_net_tx_burst(port, q, pkts, n);
 *   svio_net_stop(port);
 *
 * Ports are numbered 0.. in probe order (the order of --vdev / -a).
 * Threading: everything but the burst functions and the stats/link getters is
 * control path (one thread). A queue is used by one thread at a time; the
 * burst functions take no locks. Stats and link getters may run on any thread.
 * Return convention: 0 (or a count) on success, a negative errno value on error.
 * Transmit takes ownership of the mbufs it accepts (it frees them once the
 * device is done); receive hands over mbufs (chains with MRG_RXBUF) the caller
 * frees.
 */
#ifndef SVIO_NET_H
#define SVIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SVIO_NET_MAX_PORTS  32
#define SVIO_NET_MAX_QUEUES 16 /* queue pairs per port */
#define SVIO_NET_NAME_MAX   64

/** Number of ports (probed network devices). */
uint16_t svio_net_count(void);

/** Port of device @p name ("sim_vnet0"). @return 0 or -ENODEV. */
int svio_net_port_by_name(const char *name, uint16_t *port);

/** Device name of @p port, or NULL when there is no such port. */
const char *svio_net_port_name(uint16_t port);

struct svio_net_info {
	char name[SVIO_NET_NAME_MAX];
	uint16_t max_rx_queues;
	uint16_t max_tx_queues;
	uint16_t max_desc; /**< largest ring size every queue takes (the smallest queue limit;
			     each queue's own: svio_net_rx/tx_queue_info_get) */
	uint16_t min_desc;
	uint32_t max_rx_pktlen; /**< largest frame (without the 4-byte FCS) */
	uint64_t features;	/**< virtio features negotiated (offered & wanted) */
	int numa_node;
};

/** @return 0 or -ENODEV. */
int svio_net_info_get(uint16_t port, struct svio_net_info *info);

/** A queue's ring: what the device lets it hold and what it was set up with. */
struct svio_net_queue_info {
	uint16_t max_desc; /**< the device's limit for this queue (queues may differ) */
	uint16_t min_desc;
	uint16_t nb_desc; /**< ring size set up, 0 before setup */
};

/**
 * Receive (transmit) queue @p q of @p port, q < max_rx_queues; the port need
 * not be configured. @return 0, -ENODEV, -EINVAL (no such queue).
 */
int svio_net_rx_queue_info_get(uint16_t port, uint16_t q, struct svio_net_queue_info *qi);
int svio_net_tx_queue_info_get(uint16_t port, uint16_t q, struct svio_net_queue_info *qi);

/**
 * Set the number of queues (1..max; receive queue i and transmit queue i
 * form pair i; the device uses nb_rxq pairs, so nb_txq may not exceed
 * nb_rxq: the device would steer frames to receive queues that do not
 * exist). Port stopped.
 * @return 0, -ENODEV, -EBUSY (started), -EINVAL (counts).
 */
int svio_net_configure(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq);

/**
 * Set up receive queue @p q with @p nb_desc descriptors (a power of two up to
 * this queue's own limit, see svio_net_rx_queue_info_get(); 0 for 1024 clamped
 * to that limit, as DPDK clamps to the queue size) on NUMA @p socket
 * (SOCKET_ID_ANY allowed), filled from @p mp (data room at least
 * RTE_PKTMBUF_HEADROOM + 64 bytes; frames longer than one buffer arrive as
 * chains). Replaces an earlier setup.
 * @return 0, -ENODEV, -EBUSY, -EINVAL (the log names the queue's limit when
 * @p nb_desc does not fit), -ENOMEM, -EIO (a device that did not
 * reset at stop still does not), or a mapping error.
 */
int svio_net_rx_queue_setup(uint16_t port, uint16_t q, uint16_t nb_desc, int socket,
			    struct rte_mempool *mp);

/** Set up transmit queue @p q (same rules as receive, no pool). */
int svio_net_tx_queue_setup(uint16_t port, uint16_t q, uint16_t nb_desc, int socket);

/**
 * Free queue @p q of a stopped port (its ring, and the mempool's device
 * mappings without SVA); start fails until it is set up again. Freeing a
 * queue never set up is not an error.
 * @return 0, -ENODEV, -EBUSY (started), -EINVAL (q out of range), -EIO (a
 * device that did not reset at stop still does not).
 */
int svio_net_rx_queue_release(uint16_t port, uint16_t q);
int svio_net_tx_queue_release(uint16_t port, uint16_t q);

/**
 * Start: negotiate with the device, hand it the rings, fill the receive
 * rings. @return 0, -ENODEV, -EINVAL (not configured, queue not set up),
 * -EIO (the device refused), -ENOMEM (receive pool too small to fill a ring).
 */
int svio_net_start(uint16_t port);

/**
 * Stop: let the device take queued transmit frames (bounded), reset it, free
 * every mbuf the rings held. When the device does not reset, its rings keep
 * their mbufs and DMA mappings (it may still use them) until a later reset
 * succeeds: start, queue setup and removal retry it.
 * @return 0, -ENODEV, -EIO (the device did not reset; the port is stopped).
 */
int svio_net_stop(uint16_t port);

/* Statistics. */
struct svio_net_stats {
	uint64_t ipackets, opackets, ibytes, obytes;
	/**
	 * Frames the device dropped for want of receive buffers, as the device
	 * counts them (virtio 1.3 VIRTIO_NET_F_DEVICE_STATS, rx_drop_overruns of
	 * each receive queue, read over the control queue; kept across stop and
	 * start). 0 from a device without that feature (QEMU's today): the driver
	 * cannot count frames it never got.
	 */
	uint64_t imissed;
	uint64_t ierrors;   /**< malformed receive completions */
	uint64_t oerrors;   /**< frames refused at transmit (too many segments, no address) */
	uint64_t rx_nombuf; /**< refill allocations that failed */
	uint64_t q_ipackets[SVIO_NET_MAX_QUEUES], q_opackets[SVIO_NET_MAX_QUEUES];
	uint64_t q_ibytes[SVIO_NET_MAX_QUEUES], q_obytes[SVIO_NET_MAX_QUEUES];
};

int svio_net_stats_get(uint16_t port, struct svio_net_stats *st);
int svio_net_stats_reset(uint16_t port);

struct svio_net_xstat_name {
	char name[64];
};

/** Extended statistics: per queue counters and driver events, by position. */
struct svio_net_xstat {
	uint64_t id;
	uint64_t value;
};

/** Names of the extended stats; with @p names NULL, just the count. @return count. */
int svio_net_xstats_get_names(uint16_t port, struct svio_net_xstat_name *names, unsigned int n);

/** Values; returns the count needed (larger than @p n when the array is short). */
int svio_net_xstats_get(uint16_t port, struct svio_net_xstat *xstats, unsigned int n);

/* Link, addresses, filters. */
struct svio_net_link {
	uint32_t speed_mbps; /**< 0 when down */
	bool up;
	bool full_duplex;
};

/** Link state from the device (without STATUS support: always up). */
int svio_net_link_get(uint16_t port, struct svio_net_link *link);

int svio_net_macaddr_get(uint16_t port, struct rte_ether_addr *mac);

/** Change the port's address (control queue; port started). -ENOTSUP without CTRL_MAC_ADDR. */
int svio_net_macaddr_set(uint16_t port, const struct rte_ether_addr *mac);

/** Promiscuous / all-multicast reception (control queue; port started). -ENOTSUP without CTRL_RX.
 */
int svio_net_promiscuous_set(uint16_t port, bool on);
int svio_net_allmulticast_set(uint16_t port, bool on);
int svio_net_promiscuous_get(uint16_t port);

/* Data path. */
typedef uint16_t (*svio_net_burst_t)(void *queue, struct rte_mbuf **pkts, uint16_t n);

/** Per-port fast-path table, filled at start (functions chosen from negotiated features). */
struct svio_net_fp {
	svio_net_burst_t rx_burst;
	svio_net_burst_t tx_burst;
	void *rxq[SVIO_NET_MAX_QUEUES];
	void *txq[SVIO_NET_MAX_QUEUES];
} __rte_cache_aligned;

extern struct svio_net_fp svio_net_fp[SVIO_NET_MAX_PORTS];

/**
 * Receive up to @p n frames from queue @p q. No argument checks (like
 * rte_eth_rx_burst): port and queue must be valid. A stopped port returns 0.
 */
static inline uint16_t svio_net_rx_burst(uint16_t port, uint16_t q, struct rte_mbuf **pkts,
					 uint16_t n)
{
	const struct svio_net_fp *fp = &svio_net_fp[port];

	return fp->rx_burst(fp->rxq[q], pkts, n);
}

/**
 * Queue up to @p n frames on transmit queue @p q; returns how many were
 * taken (the rest stay the caller's: retry or free them).
 */
static inline uint16_t svio_net_tx_burst(uint16_t port, uint16_t q, struct rte_mbuf **pkts,
					 uint16_t n)
{
	const struct svio_net_fp *fp = &svio_net_fp[port];

	return fp->tx_burst(fp->txq[q], pkts, n);
}

#ifdef __cplusplus
}
#endif

#endif /* SVIO_NET_H */
