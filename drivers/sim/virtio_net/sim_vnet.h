/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The built-in virtio-net model as tests and tools see it: counters and a
 * cable to pull. Drivers never include this; they see only virtio_spec.h.
 *
 * Devargs of sim_vnetN:
 *   wire=pair:sim_vnetM | loop | none   where sent frames go (default none: link down)
 *   wire=tap:NAME | af_packet:IFNAME    Linux is the peer (vnet_wire_host.c); its
 *                   frames reach the receive queue their flow was last sent
 *                   from, else one the flow hash picks (vnet_steer.h)
 *   mode=inline | thread                who moves frames (default inline)
 *   queues=N        queue pairs offered (1..16, default 4)
 *   qsize=N         largest queue size (power of two, 64..4096, default 1024)
 *   rx_queue_size=N, tx_queue_size=N   largest receive / transmit queue size
 *                   (same range, default qsize; the control queue keeps qsize),
 *                   as QEMU's virtio-net properties of those names
 *   mac=xx:xx:xx:xx:xx:xx   default 02:00:00:00:00:<N>
 *   link=up|down    cable plugged in at power-on (default up)
 *   rx_full=wait|drop   a frame finding no receive buffer waits in the sender's
 *                   ring (lossless, default) or is dropped (rx_no_buffer)
 *   mq=, ctrl=, mrg_rxbuf=, platform=, stats=on|off   withhold a feature (default
 *                   all on; stats: virtio 1.3 device statistics, per receive queue)
 */
#ifndef SIM_VNET_H
#define SIM_VNET_H

#include <stdbool.h>
#include <stdint.h>

struct svio_device;

/** The model the sim bus instantiates for "sim_vnetN". */
extern const struct sim_model sim_vnet_model;

struct sim_vnet_stats {
	uint64_t tx_frames; /**< frames taken from this port's tx queues */
	uint64_t tx_bytes;
	uint64_t rx_frames; /**< frames written into this port's rx queues */
	uint64_t rx_bytes;
	uint64_t rx_filtered; /**< dropped by the MAC / promiscuous filter */
	uint64_t wire_drops;  /**< sent with link down, the peer not running, a host socket full */
	uint64_t oversize;    /**< frames too large for the wire or the rx buffers */
	uint64_t dma_errors;  /**< buffer accesses the IOMMU refused */
	uint64_t ring_errors; /**< malformed rings (the queue then needs a reset) */
	uint64_t ctrl_commands;
	uint64_t kicks;		 /**< doorbell writes */
	uint64_t rx_no_buffer;	 /**< dropped for want of a receive buffer (rx_full=drop), or
				      from a host wire while the port was not running */
	uint64_t host_drops;	 /**< af_packet: frames Linux dropped at the wire's socket
				      before the model took them (its buffer was full) */
	uint64_t rx_steered;	 /**< host wires: frames received on the queue their flow was
				      last transmitted on (automatic receive steering) */
	uint64_t used_straddles; /**< used-ring elements whose 8 bytes crossed a 4 KiB page of
				      device addresses (QEMU 7.2 behind an IOMMU writes the part
				      past the page to a wrong address: the driver reads len 0) */
};

/** Counters of a sim_vnet device. @return 0 or -ENODEV when @p dev is not one. */
int sim_vnet_stats_get(struct svio_device *dev, struct sim_vnet_stats *st);

/** Plug (true) or pull the cable: link status changes, config interrupt raised. */
int sim_vnet_set_link(struct svio_device *dev, bool up);

/** Receive filter state as the control queue left it. */
int sim_vnet_filter_get(struct svio_device *dev, bool *promisc, bool *allmulti,
			uint16_t *active_pairs);

#endif /* SIM_VNET_H */
