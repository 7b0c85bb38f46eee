/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio modern PCI transport's capability walk on configuration space
 * images: QEMU's layout (structures in BAR 4, MSI-X table in BAR 1, a
 * PCI_CFG window capability), structures split over several BARs, a
 * transitional device with and without modern capabilities, malformed lists,
 * and doorbell offsets checked against the notify window.
 *
 * The device is a plain svio_device whose register accessors serve a config
 * image and RAM-backed BARs, so no bus or model is involved. The last tests
 * use the built-in virtio-net: its configuration space, and a port that stops
 * right after a burst still hands every frame it counted to the device.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "svio_dev.h"
#include "svio_net.h"
#include "svio_test_eal.h"
#include "virtio_pci.h"
#include "virtio_spec.h"

#define BAR_SIZE 0x4000

static uint8_t cfg[0x100];
static uint8_t bars[SVIO_DEV_MAX_BARS][BAR_SIZE];
static struct svio_device dev;

static int fake_read(struct svio_device *d, unsigned int bar, uint64_t off, unsigned int width,
		     uint64_t *val)
{
	uint64_t v = 0;

	(void)d;
	if (bar == SVIO_DEV_REGION_CONFIG) {
		if (width > 4 || off >= 0x1000)
			return -ERANGE;
		if (off + width <= sizeof(cfg))
			memcpy(&v, cfg + off, width);
	} else {
		if (bar >= SVIO_DEV_MAX_BARS || off + width > BAR_SIZE)
			return -ERANGE;
		memcpy(&v, bars[bar] + off, width);
	}
	*val = v;
	return 0;
}

static int fake_write(struct svio_device *d, unsigned int bar, uint64_t off, unsigned int width,
		      uint64_t val)
{
	(void)d;
	if (bar >= SVIO_DEV_MAX_BARS || off + width > BAR_SIZE)
		return -ERANGE;
	memcpy(bars[bar] + off, &val, width);
	return 0;
}

static const struct svio_dev_reg_ops fake_ops = { .read = fake_read, .write = fake_write };

static void put16(unsigned int off, uint16_t v)
{
	memcpy(cfg + off, &v, 2);
}

static void put32(unsigned int off, uint32_t v)
{
	memcpy(cfg + off, &v, 4);
}

static unsigned int last_cap;

static void header(uint16_t device)
{
	memset(cfg, 0, sizeof(cfg));
	memset(bars, 0, sizeof(bars));
	put16(PCI_CFG_VENDOR_ID, VIRTIO_PCI_VENDOR_ID);
	put16(PCI_CFG_DEVICE_ID, device);
	put16(PCI_CFG_STATUS, PCI_CFG_STATUS_CAPS);
	last_cap = 0;
}

/* Append a capability at @p at to the list. */
static void link_cap(unsigned int at, uint8_t id, uint8_t len)
{
	cfg[at] = id;
	cfg[at + 1] = 0;
	cfg[at + 2] = len;
	if (last_cap == 0)
		cfg[PCI_CFG_CAP_PTR] = (uint8_t)at;
	else
		cfg[last_cap + 1] = (uint8_t)at;
	last_cap = at;
}

static void vcap(unsigned int at, uint8_t type, uint8_t bar, uint32_t off, uint32_t len)
{
	link_cap(at, VIRTIO_PCI_CAP_ID_VNDR,
		 type == VIRTIO_PCI_CAP_NOTIFY_CFG ? VIRTIO_PCI_NOTIFY_CAP_SIZE
						   : VIRTIO_PCI_CAP_SIZE);
	cfg[at + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	cfg[at + VIRTIO_PCI_CAP_BAR] = bar;
	put32(at + VIRTIO_PCI_CAP_OFFSET, off);
	put32(at + VIRTIO_PCI_CAP_LENGTH, len);
}

/* What QEMU's virtio-net-pci shows (disable-legacy=on): MSI-X first, structures in BAR 4. */
static void qemu_layout(uint16_t device)
{
	header(device);
	link_cap(0x98, 0x11, 12); /* MSI-X, table in BAR 1 */
	put32(0x98 + 4, 1);
	vcap(0x84, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0); /* the access window: skipped */
	cfg[0x84 + 2] = 20;
	vcap(0x70, VIRTIO_PCI_CAP_NOTIFY_CFG, 4, 0x3000, 0x1000);
	put32(0x70 + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
	vcap(0x60, VIRTIO_PCI_CAP_DEVICE_CFG, 4, 0x2000, 0x1000);
	vcap(0x50, VIRTIO_PCI_CAP_ISR_CFG, 4, 0x1000, 0x1000);
	vcap(0x40, VIRTIO_PCI_CAP_COMMON_CFG, 4, 0x0000, 0x1000);
}

static int setup(void **state)
{
	(void)state;
	memset(&dev, 0, sizeof(dev));
	strcpy(dev.name, "fake_vnet0");
	dev.reg_ops = &fake_ops;
	return 0;
}

static void test_qemu_layout(void **state)
{
	struct virtio_hw hw;
	struct virtio_queue_addr a = {
		.size = 256, .desc = 0x1000, .avail = 0x2000, .used = 0x3000
	};
	uint64_t noff = 0;

	(void)state;
	qemu_layout(VIRTIO_PCI_DEVICE_ID_NET);
	assert_int_equal(virtio_pci_init(&hw, &dev), 0);
	assert_int_equal(hw.common_bar, 4);
	assert_int_equal(hw.common_off, 0);
	assert_int_equal(hw.isr_bar, 4);
	assert_int_equal(hw.isr_off, 0x1000);
	assert_int_equal(hw.device_bar, 4);
	assert_int_equal(hw.device_off, 0x2000);
	assert_int_equal(hw.notify_bar, 4);
	assert_int_equal(hw.notify_off, 0x3000);
	assert_int_equal(hw.notify_mult, 4);

	/* The transport talks to BAR 4: features, and queue 3's doorbell from queue_notify_off. */
	memcpy(bars[4] + VIRTIO_COMMON_DF, &(uint32_t){ 0x12345678 }, 4);
	assert_true((hw.ops->get_features(&hw) & 0xffffffffu) == 0x12345678);
	memcpy(bars[4] + VIRTIO_COMMON_Q_NOFF, &(uint16_t){ 3 }, 2);
	assert_int_equal(hw.ops->queue_setup(&hw, 3, &a, &noff), 0);
	assert_int_equal(noff, 0x3000 + 3 * 4);
	assert_int_equal(bars[4][VIRTIO_COMMON_Q_SELECT], 3);
	virtio_notify(&hw, noff, 3);
	assert_int_equal(bars[4][0x3000 + 12], 3);

	/* A doorbell past the notify window is refused. */
	memcpy(bars[4] + VIRTIO_COMMON_Q_NOFF, &(uint16_t){ 0x400 }, 2);
	assert_int_equal(hw.ops->queue_setup(&hw, 0, &a, &noff), -EIO);

	/* Transitional with the same modern capabilities works the same way. */
	qemu_layout(VIRTIO_PCI_DEVICE_ID_NET_TRANS);
	assert_int_equal(virtio_pci_init(&hw, &dev), 0);
	assert_int_equal(hw.notify_bar, 4);
}

/* Each structure in its own BAR; the first capability of a type wins; mult 0 shares one doorbell.
 */
static void test_split_bars(void **state)
{
	struct virtio_hw hw;
	struct virtio_queue_addr a = { .size = 64 };
	uint64_t noff = 0;

	(void)state;
	header(VIRTIO_PCI_DEVICE_ID_NET);
	vcap(0x40, VIRTIO_PCI_CAP_COMMON_CFG, 0, 0x100, VIRTIO_COMMON_SIZE);
	vcap(0x50, VIRTIO_PCI_CAP_NOTIFY_CFG, 2, 0x800, 2);
	vcap(0x64, VIRTIO_PCI_CAP_ISR_CFG, 3, 0x10, 1);
	vcap(0x74, VIRTIO_PCI_CAP_DEVICE_CFG, 5, 0x40, VIRTIO_NET_CFG_SIZE);
	vcap(0x84, VIRTIO_PCI_CAP_COMMON_CFG, 1, 0, VIRTIO_COMMON_SIZE); /* a second one: ignored */
	assert_int_equal(virtio_pci_init(&hw, &dev), 0);
	assert_int_equal(hw.common_bar, 0);
	assert_int_equal(hw.common_off, 0x100);
	assert_int_equal(hw.notify_bar, 2);
	assert_int_equal(hw.isr_bar, 3);
	assert_int_equal(hw.device_bar, 5);
	assert_int_equal(hw.notify_mult, 0);
	memcpy(bars[0] + 0x100 + VIRTIO_COMMON_Q_NOFF, &(uint16_t){ 7 }, 2);
	assert_int_equal(hw.ops->queue_setup(&hw, 1, &a, &noff), 0);
	assert_int_equal(noff, 0x800);

	/* Device configuration is read from its BAR. */
	bars[5][0x40] = 0x52;
	{
		uint8_t mac0 = 0;

		assert_int_equal(hw.ops->read_dev_cfg(&hw, VIRTIO_NET_CFG_MAC, &mac0, 1), 0);
		assert_int_equal(mac0, 0x52);
	}
}

static void test_refused(void **state)
{
	struct virtio_hw hw;

	(void)state;
	/* Transitional without modern capabilities (legacy only). */
	header(VIRTIO_PCI_DEVICE_ID_NET_TRANS);
	link_cap(0x40, 0x11, 12);
	assert_int_equal(virtio_pci_init(&hw, &dev), -ENODEV);

	/* Not virtio-net. */
	qemu_layout(0x1042);
	assert_int_equal(virtio_pci_init(&hw, &dev), -ENODEV);

	/* Notify capability missing; one in a reserved BAR does not count. */
	qemu_layout(VIRTIO_PCI_DEVICE_ID_NET);
	cfg[0x70 + VIRTIO_PCI_CAP_BAR] = 6;
	assert_int_equal(virtio_pci_init(&hw, &dev), -ENODEV);

	/* A notify capability too short to hold the multiplier. */
	qemu_layout(VIRTIO_PCI_DEVICE_ID_NET);
	cfg[0x70 + VIRTIO_PCI_CAP_LEN] = VIRTIO_PCI_CAP_SIZE;
	assert_int_equal(virtio_pci_init(&hw, &dev), -ENODEV);

	/* A loop in the list ends the walk. */
	qemu_layout(VIRTIO_PCI_DEVICE_ID_NET);
	cfg[0x40 + 1] = 0x70;
	cfg[0x70 + 1] = 0x60;
	cfg[0x60 + 1] = 0x70;
	assert_int_equal(virtio_pci_init(&hw, &dev), -ENODEV);

	/* A pointer into the header. */
	qemu_layout(VIRTIO_PCI_DEVICE_ID_NET);
	cfg[PCI_CFG_CAP_PTR] = 0x20;
	assert_int_equal(virtio_pci_init(&hw, &dev), -ENODEV);

	/* No capability list at all. */
	qemu_layout(VIRTIO_PCI_DEVICE_ID_NET);
	put16(PCI_CFG_STATUS, 0);
	assert_int_equal(virtio_pci_init(&hw, &dev), -ENODEV);
}

/* sim_vnet's configuration space: what the PMD walked at probe, and the BAR 0 mirror. */
static void test_sim_config_space(void **state)
{
	struct svio_device *vnet, *nvme;
	struct virtio_hw hw;
	uint64_t v64, bar;
	uint32_t v;

	(void)state;
	vnet = svio_dev_find("sim_vnet0");
	assert_non_null(vnet);
	assert_non_null(vnet->driver); /* the PMD probed it through config space */
	assert_int_equal(svio_cfg_read(vnet, PCI_CFG_VENDOR_ID, 2, &v), 0);
	assert_int_equal(v, VIRTIO_PCI_VENDOR_ID);
	assert_int_equal(svio_cfg_read(vnet, PCI_CFG_DEVICE_ID, 2, &v), 0);
	assert_int_equal(v, VIRTIO_PCI_DEVICE_ID_NET);
	assert_int_equal(svio_cfg_read(vnet, 0x08, 4, &v), 0);
	assert_int_equal(v >> 8, 0x020000); /* network controller, Ethernet */
	assert_int_equal(svio_cfg_read(vnet, 0x2e, 2, &v), 0);
	assert_int_equal(v, 1); /* subsystem id: virtio device type 1 */
	/* BAR 0 below the common configuration is reserved: no copy of the header there. */
	assert_int_equal(vnet->reg_ops->read(vnet, VNET_SIM_BAR, 0, 4, &bar), 0);
	assert_int_equal(bar, 0);
	assert_int_equal(virtio_pci_init(&hw, vnet), 0);
	assert_int_equal(hw.common_bar, VNET_SIM_BAR);
	assert_int_equal(hw.common_off, VNET_SIM_COMMON);
	assert_int_equal(hw.notify_off, VNET_SIM_NOTIFY);
	assert_int_equal(hw.notify_mult, VNET_SIM_NOTIFY_MULT);
	/* Past the header reads as 0; config cycles are 1, 2 or 4 aligned bytes in 4 KiB. */
	assert_int_equal(svio_cfg_read(vnet, 0x100, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(svio_cfg_read(vnet, 0x1000, 4, &v), -ERANGE);
	assert_int_equal(svio_cfg_read(vnet, 0x2, 4, &v), -ERANGE);
	assert_int_equal(vnet->reg_ops->read(vnet, SVIO_DEV_REGION_CONFIG, 0, 8, &v64), -EINVAL);
	/* Read-only: a write is taken and changes nothing. */
	assert_int_equal(svio_cfg_write(vnet, PCI_CFG_VENDOR_ID, 2, 0x1234), 0);
	assert_int_equal(svio_cfg_read(vnet, PCI_CFG_VENDOR_ID, 2, &v), 0);
	assert_int_equal(v, VIRTIO_PCI_VENDOR_ID);

	/* A model without a configuration space says so. */
	nvme = svio_dev_find("sim_nvme0");
	assert_non_null(nvme);
	assert_int_equal(svio_cfg_read(nvme, 0, 4, &v), -EINVAL);
}

static void port_up(uint16_t port, struct rte_mempool *mp)
{
	assert_int_equal(svio_net_configure(port, 1, 1), 0);
	assert_int_equal(svio_net_rx_queue_setup(port, 0, 256, SOCKET_ID_ANY, mp), 0);
	assert_int_equal(svio_net_tx_queue_setup(port, 0, 256, SOCKET_ID_ANY), 0);
	assert_int_equal(svio_net_start(port), 0);
}

/*
 * Stop right after a burst, with the model moving frames on its own thread:
 * every frame tx_burst took must still reach the peer (stop lets the device
 * take them before the reset), round after round.
 */
static void test_stop_delivers_sent_frames(void **state)
{
	struct rte_mbuf *pkts[128];
	struct rte_mempool *mp;
	uint64_t sent = 0, got = 0;
	uint16_t tx, rx, n, i;

	(void)state;
	assert_int_equal(svio_net_port_by_name("sim_vnet1", &tx), 0);
	assert_int_equal(svio_net_port_by_name("sim_vnet2", &rx), 0);
	mp = rte_pktmbuf_pool_create("stop_pool", 2048, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	assert_non_null(mp);
	port_up(rx, mp);
	port_up(tx, mp);
	for (unsigned int round = 0; round < 20; round++) {
		assert_int_equal(rte_pktmbuf_alloc_bulk(mp, pkts, RTE_DIM(pkts)), 0);
		for (i = 0; i < RTE_DIM(pkts); i++) {
			uint8_t *p = (uint8_t *)rte_pktmbuf_append(pkts[i], 64);

			assert_non_null(p);
			memset(p, 0xff, 6); /* broadcast */
			memset(p + 6, 0x02, 58);
		}
		n = svio_net_tx_burst(tx, 0, pkts, RTE_DIM(pkts));
		assert_int_equal(n, RTE_DIM(pkts));
		sent += n;
		assert_int_equal(svio_net_stop(tx), 0);
		/* Bounded: a lost frame ends the wait and fails the count below. */
		for (unsigned int tries = 0; got < sent && tries < 50000; tries++) {
			struct rte_mbuf *in[32];
			uint16_t k = svio_net_rx_burst(rx, 0, in, RTE_DIM(in));

			rte_pktmbuf_free_bulk(in, k);
			got += k;
			if (k == 0)
				rte_delay_us_sleep(100);
		}
		assert_int_equal(got, sent);
		assert_int_equal(svio_net_start(tx), 0);
	}
	assert_int_equal(svio_net_stop(tx), 0);
	assert_int_equal(svio_net_stop(rx), 0);
}

static int group_setup(void **state)
{
	const char *const args[] = { "--vdev", "sim_vnet0,wire=loop",
				     "--vdev", "sim_vnet1,wire=pair:sim_vnet2,mode=thread",
				     "--vdev", "sim_vnet2,mode=thread",
				     "--vdev", "sim_nvme0",
				     NULL };

	(void)state;
	return svio_test_eal_init(args) >= 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	svio_eal_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_qemu_layout, setup),
		cmocka_unit_test_setup(test_split_bars, setup),
		cmocka_unit_test_setup(test_refused, setup),
		cmocka_unit_test(test_sim_config_space),
		cmocka_unit_test(test_stop_delivers_sent_frames),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
