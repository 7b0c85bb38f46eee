/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net "datasheet": the parts of the virtio 1.x specification
 * (modern PCI transport, split virtqueues, network device) that svio's
 * virtio-net driver and the built-in virtio-net model share, plus the BAR
 * layout of the built-in device. Both sides may include it; it holds no code.
 *
 * All multi-byte fields are little-endian, as virtio 1.x requires; svio runs
 * on little-endian hosts only (static assert below).
 */
#ifndef VIRTIO_SPEC_H
#define VIRTIO_SPEC_H

#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio structures are little-endian");

#define VIRTIO_PCI_VENDOR_ID	 0x1af4
#define VIRTIO_PCI_DEVICE_ID_NET 0x1041 /* 0x1040 + device type 1 */
/* Transitional network device: usable when it also has the modern capabilities. */
#define VIRTIO_PCI_DEVICE_ID_NET_TRANS 0x1000

/* Feature bits (64-bit space, read and written 32 bits at a time). */
#define VIRTIO_NET_F_CSUM	   0
#define VIRTIO_NET_F_MTU	   3
#define VIRTIO_NET_F_MAC	   5
#define VIRTIO_NET_F_MRG_RXBUF	   15
#define VIRTIO_NET_F_STATUS	   16
#define VIRTIO_NET_F_CTRL_VQ	   17
#define VIRTIO_NET_F_CTRL_RX	   18
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23
#define VIRTIO_NET_F_MQ		   22
#define VIRTIO_NET_F_DEVICE_STATS  50 /* virtio 1.3: counters through the control queue */
#define VIRTIO_F_RING_INDIRECT	   28
#define VIRTIO_F_RING_EVENT_IDX	   29
#define VIRTIO_F_VERSION_1	   32
#define VIRTIO_F_ACCESS_PLATFORM   33
#define VIRTIO_F_RING_PACKED	   34
#define VIRTIO_F_IN_ORDER	   35

#define VIRTIO_BIT(f) (1ull << (f))

/* Device status (common config device_status). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 0x01
#define VIRTIO_STATUS_DRIVER		 0x02
#define VIRTIO_STATUS_DRIVER_OK		 0x04
#define VIRTIO_STATUS_FEATURES_OK	 0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED		 0x80

/* PCI capability list (vendor-specific capabilities, type 0x09). */
#define VIRTIO_PCI_CAP_ID_VNDR	  0x09
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG	  5

/* Offsets inside a struct virtio_pci_cap (and the notify cap's extra word). */
#define VIRTIO_PCI_CAP_VNDR	   0x00
#define VIRTIO_PCI_CAP_NEXT	   0x01
#define VIRTIO_PCI_CAP_LEN	   0x02
#define VIRTIO_PCI_CAP_CFG_TYPE	   0x03
#define VIRTIO_PCI_CAP_BAR	   0x04
#define VIRTIO_PCI_CAP_OFFSET	   0x08
#define VIRTIO_PCI_CAP_LENGTH	   0x0c
#define VIRTIO_PCI_NOTIFY_CAP_MULT 0x10
#define VIRTIO_PCI_CAP_SIZE	   16
#define VIRTIO_PCI_NOTIFY_CAP_SIZE 20

/* PCI configuration header fields the driver reads. */
#define PCI_CFG_VENDOR_ID   0x00
#define PCI_CFG_DEVICE_ID   0x02
#define PCI_CFG_STATUS	    0x06
#define PCI_CFG_STATUS_CAPS 0x10
#define PCI_CFG_CAP_PTR	    0x34

/* Common configuration structure (struct virtio_pci_common_cfg). */
#define VIRTIO_COMMON_DFSELECT	    0x00 /* 32 */
#define VIRTIO_COMMON_DF	    0x04 /* 32, RO */
#define VIRTIO_COMMON_GFSELECT	    0x08 /* 32 */
#define VIRTIO_COMMON_GF	    0x0c /* 32 */
#define VIRTIO_COMMON_MSIX	    0x10 /* 16 */
#define VIRTIO_COMMON_NUMQ	    0x12 /* 16, RO */
#define VIRTIO_COMMON_STATUS	    0x14 /* 8 */
#define VIRTIO_COMMON_CFGGENERATION 0x15 /* 8, RO */
#define VIRTIO_COMMON_Q_SELECT	    0x16 /* 16 */
#define VIRTIO_COMMON_Q_SIZE	    0x18 /* 16 */
#define VIRTIO_COMMON_Q_MSIX	    0x1a /* 16 */
#define VIRTIO_COMMON_Q_ENABLE	    0x1c /* 16 */
#define VIRTIO_COMMON_Q_NOFF	    0x1e /* 16, RO */
#define VIRTIO_COMMON_Q_DESC	    0x20 /* 64 */
#define VIRTIO_COMMON_Q_AVAIL	    0x28 /* 64 */
#define VIRTIO_COMMON_Q_USED	    0x30 /* 64 */
#define VIRTIO_COMMON_SIZE	    0x38

#define VIRTIO_MSI_NO_VECTOR 0xffff

/* ISR status bits (read clears). */
#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2

/* Network device configuration (struct virtio_net_config). */
#define VIRTIO_NET_CFG_MAC	 0x00 /* 6 bytes */
#define VIRTIO_NET_CFG_STATUS	 0x06 /* 16 */
#define VIRTIO_NET_CFG_MAX_PAIRS 0x08 /* 16 */
#define VIRTIO_NET_CFG_MTU	 0x0a /* 16 */
#define VIRTIO_NET_CFG_SIZE	 0x0c

#define VIRTIO_NET_S_LINK_UP  1
#define VIRTIO_NET_S_ANNOUNCE 2

#define VIRTIO_NET_MQ_PAIRS_MIN 1
#define VIRTIO_NET_MQ_PAIRS_MAX 0x8000

/* Split virtqueue (virtio 1.x section 2.7). Queue sizes are powers of two. */
#define VIRTQ_MAX_SIZE 32768

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct virtq_used_elem {
	uint32_t id;  /* head of the used descriptor chain */
	uint32_t len; /* bytes written into the chain */
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

/* Alignments the driver must respect (virtio 1.x 2.7). */
#define VIRTQ_DESC_ALIGN  16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN  4

static inline uint64_t virtq_desc_bytes(unsigned int size)
{
	return 16ull * size;
}

static inline uint64_t virtq_avail_bytes(unsigned int size)
{
	return 6ull + 2ull * size; /* flags, idx, ring, used_event */
}

static inline uint64_t virtq_used_bytes(unsigned int size)
{
	return 6ull + 8ull * size; /* flags, idx, ring, avail_event */
}

/* Every packet starts with this header (VERSION_1: num_buffers always present). */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers; /* MRG_RXBUF: buffers this packet spans (device writes) */
};

_Static_assert(sizeof(struct virtq_desc) == 16, "descriptor layout");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "used element layout");
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "net header layout");

#define VIRTIO_NET_HDR_GSO_NONE 0

/* Control virtqueue: header, command data, then one status byte the device writes. */
struct virtio_net_ctrl_hdr {
	uint8_t class;
	uint8_t cmd;
};

#define VIRTIO_NET_OK  0
#define VIRTIO_NET_ERR 1

#define VIRTIO_NET_CTRL_RX		0
#define VIRTIO_NET_CTRL_RX_PROMISC	0 /* data: u8 on/off */
#define VIRTIO_NET_CTRL_RX_ALLMULTI	1 /* data: u8 on/off */
#define VIRTIO_NET_CTRL_MAC		1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET	0 /* data: u32 n + n MACs (unicast), same (multicast) */
#define VIRTIO_NET_CTRL_MAC_ADDR_SET	1 /* data: 6-byte MAC */
#define VIRTIO_NET_CTRL_MQ		4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0 /* data: u16 pairs */

/*
 * Device statistics (VIRTIO_NET_F_DEVICE_STATS). QUERY returns the supported
 * types (u64 bitmap); GET takes one request per queue and returns, after the
 * status byte, one reply per requested type, each headed by its own size.
 */
#define VIRTIO_NET_CTRL_STATS	    8
#define VIRTIO_NET_CTRL_STATS_QUERY 0 /* reply: le64 supported types */
#define VIRTIO_NET_CTRL_STATS_GET   1 /* data: virtio_net_stats_request[] */

#define VIRTIO_NET_STATS_TYPE_RX_BASIC	(1ull << 0)
#define VIRTIO_NET_STATS_REPLY_RX_BASIC 0

struct virtio_net_stats_request {
	uint16_t vq_index;
	uint16_t reserved[3];
	uint64_t types; /* VIRTIO_NET_STATS_TYPE_* */
};

struct virtio_net_stats_reply_hdr {
	uint8_t type; /* VIRTIO_NET_STATS_REPLY_* */
	uint8_t reserved;
	uint16_t vq_index;
	uint16_t reserved1;
	uint16_t size; /* of the reply, this header included */
};

struct virtio_net_stats_rx_basic {
	struct virtio_net_stats_reply_hdr hdr;
	uint64_t rx_notifications;
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_interrupts;
	uint64_t rx_drops;	   /* every frame the queue dropped */
	uint64_t rx_drop_overruns; /* of those: no receive buffer */
};
_Static_assert(sizeof(struct virtio_net_stats_request) == 16, "stats request layout");
_Static_assert(sizeof(struct virtio_net_stats_rx_basic) == 56, "rx basic reply layout");

/*
 * The built-in device (sim_vnetN): one BAR (0) holding the structures below,
 * pointed at by the virtio capabilities of its PCI configuration space
 * (SVIO_DEV_REGION_CONFIG). The first 0x100 bytes of BAR 0 mirror that
 * configuration header for readers older than the config-space accessor.
 */
#define VNET_SIM_BAR	     0
#define VNET_SIM_CFG_HDR     0x0000 /* PCI config header mirror, 0x100 bytes */
#define VNET_SIM_COMMON	     0x1000
#define VNET_SIM_ISR	     0x2000
#define VNET_SIM_DEVICE	     0x3000
#define VNET_SIM_NOTIFY	     0x4000
#define VNET_SIM_NOTIFY_MULT 4 /* queue q's doorbell: NOTIFY + 4 * queue_notify_off */
#define VNET_SIM_BAR_SIZE    0x8000

#endif /* VIRTIO_SPEC_H */
