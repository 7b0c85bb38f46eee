/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The register file of the built-in virtio-net device (BAR 0, layout in
 * virtio_spec.h): the common configuration (feature negotiation, status
 * handshake, queue setup), the ISR, the network configuration and the
 * doorbells; and its PCI configuration space (SVIO_DEV_REGION_CONFIG) with the
 * virtio vendor capabilities that point into BAR 0.
 */
#include <errno.h>
#include <string.h>

#include "vnet_priv.h"

/* Type 0 header fields beyond what the driver reads (PCI Local Bus spec). */
#define CFG_REVISION   0x08
#define CFG_CLASS      0x09 /* prog-if, subclass, base class */
#define CFG_BAR0       0x10
#define CFG_SUBSYS_VID 0x2c
#define CFG_SUBSYS_ID  0x2e
#define CFG_IMG_SIZE   0x100 /* conventional config space; the rest reads as 0 */
#define CFG_SPACE_SIZE 0x1000

/* The configuration header: IDs, class, BAR 0, capability list, four virtio capabilities. */
static void cfg_header(uint8_t img[CFG_IMG_SIZE])
{
	static const struct {
		uint8_t type;
		uint32_t off, len;
	} caps[] = {
		{ VIRTIO_PCI_CAP_COMMON_CFG, VNET_SIM_COMMON, VIRTIO_COMMON_SIZE },
		{ VIRTIO_PCI_CAP_ISR_CFG, VNET_SIM_ISR, 1 },
		{ VIRTIO_PCI_CAP_DEVICE_CFG, VNET_SIM_DEVICE, VIRTIO_NET_CFG_SIZE },
		{ VIRTIO_PCI_CAP_NOTIFY_CFG, VNET_SIM_NOTIFY, VNET_SIM_BAR_SIZE - VNET_SIM_NOTIFY },
	};
	/* Network controller, Ethernet; 64-bit memory BAR; subsystem id = virtio type 1. */
	const uint32_t class_rev = 0x02000000u | 1, bar0 = 0x4;
	uint16_t v16;
	unsigned int i, at = 0x40;

	memset(img, 0, CFG_IMG_SIZE);
	v16 = VIRTIO_PCI_VENDOR_ID;
	memcpy(img + PCI_CFG_VENDOR_ID, &v16, 2);
	memcpy(img + CFG_SUBSYS_VID, &v16, 2);
	v16 = VIRTIO_PCI_DEVICE_ID_NET;
	memcpy(img + PCI_CFG_DEVICE_ID, &v16, 2);
	v16 = 1;
	memcpy(img + CFG_SUBSYS_ID, &v16, 2);
	v16 = PCI_CFG_STATUS_CAPS;
	memcpy(img + PCI_CFG_STATUS, &v16, 2);
	memcpy(img + CFG_REVISION, &class_rev, 4);
	memcpy(img + CFG_BAR0, &bar0, 4);
	img[PCI_CFG_CAP_PTR] = (uint8_t)at;
	for (i = 0; i < RTE_DIM(caps); i++) {
		bool notify = caps[i].type == VIRTIO_PCI_CAP_NOTIFY_CFG;
		unsigned int size = notify ? VIRTIO_PCI_NOTIFY_CAP_SIZE : VIRTIO_PCI_CAP_SIZE;
		uint8_t *c = img + at;
		uint32_t mult = VNET_SIM_NOTIFY_MULT;

		c[VIRTIO_PCI_CAP_VNDR] = VIRTIO_PCI_CAP_ID_VNDR;
		c[VIRTIO_PCI_CAP_NEXT] = i + 1 < RTE_DIM(caps) ? (uint8_t)(at + 0x18) : 0;
		c[VIRTIO_PCI_CAP_LEN] = (uint8_t)size;
		c[VIRTIO_PCI_CAP_CFG_TYPE] = caps[i].type;
		c[VIRTIO_PCI_CAP_BAR] = VNET_SIM_BAR;
		memcpy(c + VIRTIO_PCI_CAP_OFFSET, &caps[i].off, 4);
		memcpy(c + VIRTIO_PCI_CAP_LENGTH, &caps[i].len, 4);
		if (notify)
			memcpy(c + VIRTIO_PCI_NOTIFY_CAP_MULT, &mult, 4);
		at += 0x18;
	}
}

static uint64_t read_bytes(const uint8_t *img, size_t img_len, uint64_t off, unsigned int width)
{
	uint64_t v = 0;

	if (off + width <= img_len)
		memcpy(&v, img + off, width);
	return v;
}

static struct vnet_vq *selected(struct vnet_model *m)
{
	return m->qselect < m->nvqs ? &m->vqs[m->qselect] : NULL;
}

static int common_read(struct vnet_model *m, uint64_t off, unsigned int width, uint64_t *val)
{
	struct vnet_vq *vq = selected(m);

	switch (off) {
	case VIRTIO_COMMON_DFSELECT:
		*val = m->dfselect;
		return 0;
	case VIRTIO_COMMON_DF:
		*val = m->dfselect < 2 ? (uint32_t)(m->features >> (32 * m->dfselect)) : 0;
		return 0;
	case VIRTIO_COMMON_GFSELECT:
		*val = m->gfselect;
		return 0;
	case VIRTIO_COMMON_GF:
		*val = m->gfselect < 2 ? (uint32_t)(m->driver_features >> (32 * m->gfselect)) : 0;
		return 0;
	case VIRTIO_COMMON_MSIX:
		*val = m->msix_config;
		return 0;
	case VIRTIO_COMMON_NUMQ:
		*val = m->nvqs;
		return 0;
	case VIRTIO_COMMON_STATUS:
		*val = __atomic_load_n(&m->status, __ATOMIC_ACQUIRE);
		return 0;
	case VIRTIO_COMMON_CFGGENERATION:
		*val = __atomic_load_n(&m->generation, __ATOMIC_ACQUIRE);
		return 0;
	case VIRTIO_COMMON_Q_SELECT:
		*val = m->qselect;
		return 0;
	}
	if (vq == NULL) {
		*val = 0; /* no such queue: size 0 tells the driver */
		return 0;
	}
	switch (off) {
	case VIRTIO_COMMON_Q_SIZE:
		*val = vq->size;
		break;
	case VIRTIO_COMMON_Q_MSIX:
		*val = vq->msix;
		break;
	case VIRTIO_COMMON_Q_ENABLE:
		*val = vq->enabled;
		break;
	case VIRTIO_COMMON_Q_NOFF:
		*val = m->qselect;
		break;
	case VIRTIO_COMMON_Q_DESC:
	case VIRTIO_COMMON_Q_DESC + 4:
		*val = vq->desc >> (off & 4 ? 32 : 0);
		break;
	case VIRTIO_COMMON_Q_AVAIL:
	case VIRTIO_COMMON_Q_AVAIL + 4:
		*val = vq->avail >> (off & 4 ? 32 : 0);
		break;
	case VIRTIO_COMMON_Q_USED:
	case VIRTIO_COMMON_Q_USED + 4:
		*val = vq->used >> (off & 4 ? 32 : 0);
		break;
	default:
		*val = 0;
	}
	if (width == 4)
		*val &= 0xffffffffu;
	return 0;
}

static void set_addr(uint64_t *field, uint64_t off, unsigned int width, uint64_t val)
{
	if (width == 8)
		*field = val;
	else if (off & 4)
		*field = (*field & 0xffffffffu) | (val << 32);
	else
		*field = (*field & ~0xffffffffull) | (val & 0xffffffffu);
}

/* A queue becomes live: say which doorbells the device wants. */
static void vq_go_live(struct vnet_model *m, uint16_t q)
{
	struct vnet_vq *vq = &m->vqs[q];
	bool data = q != vnet_ctrl_vq(m);

	if (!vq->enabled)
		return;
	/* Under the queue lock: a peer may already be delivering into it (and checking ready). */
	pthread_spin_lock(&vq->lock);
	vnet_tc_reset(vq);
	/* Inline mode moves frames on transmit doorbells; receive ones only after a stall. */
	vnet_vq_set_no_notify(m, vq, data && (m->mode == VNET_MODE_THREAD || !(q & 1)));
	__atomic_store_n(&vq->ready, true, __ATOMIC_RELEASE);
	pthread_spin_unlock(&vq->lock);
}

static bool queue_config_ok(struct vnet_model *m, uint16_t q, struct vnet_vq *vq)
{
	if (vq->size == 0 || (vq->size & (vq->size - 1)) != 0 || vq->size > vnet_vq_max_size(m, q))
		return false;
	return vq->desc % VIRTQ_DESC_ALIGN == 0 && vq->avail % VIRTQ_AVAIL_ALIGN == 0 &&
	       vq->used % VIRTQ_USED_ALIGN == 0;
}

static void status_write(struct vnet_model *m, uint8_t val)
{
	uint8_t old = __atomic_load_n(&m->status, __ATOMIC_ACQUIRE);
	uint16_t q;

	if (val == 0) {
		vnet_device_reset(m);
		return;
	}
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* Refuse a subset we cannot honour: unoffered bits, or no VERSION_1. */
		if ((m->driver_features & ~m->features) != 0 ||
		    !(m->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
			VNET_LOG(INFO,
				 "%s: driver features %#" PRIx64 " refused (offered %#" PRIx64 ")",
				 m->dev->name, m->driver_features, m->features);
			val &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (!(old & VIRTIO_STATUS_FEATURES_OK)) {
			val &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
		} else {
			__atomic_store_n(&m->active_pairs, 1, __ATOMIC_RELEASE);
			for (q = 0; q < m->nvqs; q++)
				vq_go_live(m, q);
		}
	}
	/*
	 * Status only grows until a reset; NEEDS_RESET is the device's to set, and
	 * a model or reader thread may set it right now: or, never overwrite.
	 */
	val |= __atomic_fetch_or(&m->status, val, __ATOMIC_ACQ_REL);
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
	    m->mode == VNET_MODE_THREAD && vnet_thread_start(m) < 0)
		__atomic_fetch_or(&m->status, VIRTIO_STATUS_DEVICE_NEEDS_RESET, __ATOMIC_RELAXED);
}

static int common_write(struct vnet_model *m, uint64_t off, unsigned int width, uint64_t val)
{
	uint8_t status = __atomic_load_n(&m->status, __ATOMIC_ACQUIRE);
	struct vnet_vq *vq = selected(m);

	switch (off) {
	case VIRTIO_COMMON_DFSELECT:
		m->dfselect = (uint32_t)val;
		return 0;
	case VIRTIO_COMMON_GFSELECT:
		m->gfselect = (uint32_t)val;
		return 0;
	case VIRTIO_COMMON_GF:
		if (m->gfselect < 2 && !(status & VIRTIO_STATUS_FEATURES_OK)) {
			unsigned int sh = 32 * m->gfselect;

			m->driver_features &= ~(0xffffffffull << sh);
			m->driver_features |= (val & 0xffffffffull) << sh;
		}
		return 0;
	case VIRTIO_COMMON_MSIX:
		m->msix_config = (uint16_t)val;
		return 0;
	case VIRTIO_COMMON_STATUS:
		status_write(m, (uint8_t)val);
		return 0;
	case VIRTIO_COMMON_Q_SELECT:
		m->qselect = (uint16_t)val;
		return 0;
	}
	/* Queue registers are frozen once the queue is enabled. */
	if (vq == NULL || vq->enabled)
		return 0;
	switch (off) {
	case VIRTIO_COMMON_Q_SIZE:
		vq->size = (uint16_t)val;
		break;
	case VIRTIO_COMMON_Q_MSIX:
		vq->msix = (uint16_t)val;
		break;
	case VIRTIO_COMMON_Q_ENABLE:
		if (val != 1)
			break;
		if (!queue_config_ok(m, m->qselect, vq)) {
			VNET_LOG(ERR, "%s: queue %u: bad size %u (at most %u) or ring alignment",
				 m->dev->name, m->qselect, vq->size,
				 vnet_vq_max_size(m, m->qselect));
			__atomic_fetch_or(&m->status, VIRTIO_STATUS_DEVICE_NEEDS_RESET,
					  __ATOMIC_RELAXED);
			break;
		}
		vq->enabled = true;
		if (status & VIRTIO_STATUS_DRIVER_OK)
			vq_go_live(m, m->qselect);
		break;
	case VIRTIO_COMMON_Q_DESC:
	case VIRTIO_COMMON_Q_DESC + 4:
		set_addr(&vq->desc, off, width, val);
		break;
	case VIRTIO_COMMON_Q_AVAIL:
	case VIRTIO_COMMON_Q_AVAIL + 4:
		set_addr(&vq->avail, off, width, val);
		break;
	case VIRTIO_COMMON_Q_USED:
	case VIRTIO_COMMON_Q_USED + 4:
		set_addr(&vq->used, off, width, val);
		break;
	}
	return 0;
}

static void device_cfg(struct vnet_model *m, uint8_t img[VIRTIO_NET_CFG_SIZE])
{
	uint16_t link = __atomic_load_n(&m->link, __ATOMIC_ACQUIRE);
	uint16_t mtu = VNET_MAX_FRAME - 18;

	/* A reset restores the MAC under every queue lock, MAC_ADDR_SET under filter_lock. */
	pthread_spin_lock(&m->vqs[0].lock);
	pthread_spin_lock(&m->filter_lock);
	memcpy(img + VIRTIO_NET_CFG_MAC, m->mac, 6);
	pthread_spin_unlock(&m->filter_lock);
	pthread_spin_unlock(&m->vqs[0].lock);
	memcpy(img + VIRTIO_NET_CFG_STATUS, &link, 2);
	memcpy(img + VIRTIO_NET_CFG_MAX_PAIRS, &m->max_pairs, 2);
	memcpy(img + VIRTIO_NET_CFG_MTU, &mtu, 2);
}

/* Natural widths only; the 64-bit queue addresses may also be split in two 32-bit halves. */
static bool width_ok(uint64_t off, unsigned int width)
{
	if (width != 1 && width != 2 && width != 4 && width != 8)
		return false;
	if (off % width != 0)
		return false;
	if (off >= VNET_SIM_COMMON && off < VNET_SIM_COMMON + VIRTIO_COMMON_SIZE) {
		uint64_t r = off - VNET_SIM_COMMON;

		if (r >= VIRTIO_COMMON_Q_DESC)
			return width == 4 || width == 8;
		if (r == VIRTIO_COMMON_STATUS || r == VIRTIO_COMMON_CFGGENERATION)
			return width == 1;
		if (r < VIRTIO_COMMON_MSIX)
			return width == 4;
		return width == 2;
	}
	return true;
}

/* Configuration space: read-only here (no BAR sizing, bus mastering is implied). */
static int cfg_access(uint64_t off, unsigned int width, uint64_t *val)
{
	uint8_t img[CFG_IMG_SIZE];

	if (width != 1 && width != 2 && width != 4)
		return -EINVAL;
	if (off % width != 0 || off >= CFG_SPACE_SIZE)
		return -ERANGE;
	if (val == NULL)
		return 0;
	cfg_header(img);
	*val = read_bytes(img, sizeof(img), off, width);
	return 0;
}

static int vnet_read(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
		     uint64_t *val)
{
	struct vnet_model *m = sim_dev_priv(dev);

	if (bar == SVIO_DEV_REGION_CONFIG)
		return cfg_access(off, width, val);
	if (bar != VNET_SIM_BAR || off >= VNET_SIM_BAR_SIZE || !width_ok(off, width))
		return -EINVAL;
	*val = 0; /* below the common configuration: reserved, reads as 0 */
	if (off >= VNET_SIM_COMMON && off < VNET_SIM_COMMON + VIRTIO_COMMON_SIZE) {
		return common_read(m, off - VNET_SIM_COMMON, width, val);
	} else if (off == VNET_SIM_ISR) {
		*val = __atomic_exchange_n(&m->isr, 0, __ATOMIC_ACQ_REL); /* read clears */
	} else if (off >= VNET_SIM_DEVICE && off < VNET_SIM_DEVICE + VIRTIO_NET_CFG_SIZE) {
		uint8_t img[VIRTIO_NET_CFG_SIZE];

		device_cfg(m, img);
		*val = read_bytes(img, sizeof(img), off - VNET_SIM_DEVICE, width);
	}
	return 0;
}

static int vnet_write(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
		      uint64_t val)
{
	struct vnet_model *m = sim_dev_priv(dev);

	if (bar == SVIO_DEV_REGION_CONFIG)
		return cfg_access(off, width, NULL);
	if (bar != VNET_SIM_BAR || off >= VNET_SIM_BAR_SIZE || !width_ok(off, width))
		return -EINVAL;
	if (off >= VNET_SIM_NOTIFY) {
		if (__atomic_load_n(&m->status, __ATOMIC_ACQUIRE) & VIRTIO_STATUS_DRIVER_OK)
			vnet_kick(m, (uint16_t)((off - VNET_SIM_NOTIFY) / VNET_SIM_NOTIFY_MULT));
		return 0;
	}
	if (off >= VNET_SIM_COMMON && off < VNET_SIM_COMMON + VIRTIO_COMMON_SIZE)
		return common_write(m, off - VNET_SIM_COMMON, width, val);
	return 0; /* header, ISR and device configuration are read-only */
}

const struct svio_dev_reg_ops vnet_reg_ops = {
	.read = vnet_read,
	.write = vnet_write,
};

void vnet_device_reset(struct vnet_model *m)
{
	uint16_t q;

	vnet_thread_stop(m);
	/* Take every queue lock: a peer delivering into us finishes first. */
	for (q = 0; q < m->nvqs; q++)
		pthread_spin_lock(&m->vqs[q].lock);
	__atomic_store_n(&m->status, 0, __ATOMIC_RELEASE);
	for (q = 0; q < m->nvqs; q++) {
		vnet_vq_reset(&m->vqs[q]);
		/* Reads as the maximum until the driver shrinks it. */
		m->vqs[q].size = vnet_vq_max_size(m, q);
	}
	m->driver_features = 0;
	m->dfselect = m->gfselect = 0;
	m->qselect = 0;
	m->msix_config = VIRTIO_MSI_NO_VECTOR;
	__atomic_store_n(&m->active_pairs, 1, __ATOMIC_RELEASE);
	m->promisc = true; /* as QEMU: receive everything until told otherwise */
	m->allmulti = false;
	m->uc_n = m->mc_n = 0;
	memcpy(m->mac, m->mac_orig, 6);
	vnet_steer_clear(&m->steer); /* flows of the last driver say nothing about the next */
	for (q = m->nvqs; q > 0; q--)
		pthread_spin_unlock(&m->vqs[q - 1].lock);
}

void vnet_update_link(struct vnet_model *m)
{
	bool wired = m->wire == VNET_WIRE_LOOP ||
		     (m->wire == VNET_WIRE_PAIR && __atomic_load_n(&m->peer, __ATOMIC_ACQUIRE)) ||
		     (vnet_wire_host(m) && m->host != NULL);
	uint16_t link = wired && m->link_admin_up ? VIRTIO_NET_S_LINK_UP : 0;

	if (__atomic_exchange_n(&m->link, link, __ATOMIC_ACQ_REL) == link)
		return;
	__atomic_fetch_add(&m->generation, 1, __ATOMIC_RELEASE);
	__atomic_fetch_or(&m->isr, VIRTIO_ISR_CONFIG, __ATOMIC_RELEASE);
	if (m->msix_config != VIRTIO_MSI_NO_VECTOR)
		svio_dev_intr_raise(m->dev, m->msix_config);
}
