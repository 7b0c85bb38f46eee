/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-net model at register level, with no driver: capability list,
 * feature negotiation refusals, queue configuration checks, a malformed ring
 * putting the device into NEEDS_RESET, control-queue refusals, bad register
 * accesses and bad devargs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_malloc.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_iommu.h"
#include "sim_vnet.h"
#include "virtio_spec.h"

static struct svio_device *dev;

static uint64_t rd(uint64_t off, unsigned int w)
{
	uint64_t v = 0;

	assert_int_equal(dev->reg_ops->read(dev, VNET_SIM_BAR, off, w, &v), 0);
	return v;
}

/* PCI configuration space, where a driver finds the virtio capabilities. */
static uint64_t cfg(uint64_t off, unsigned int w)
{
	uint32_t v = 0;

	assert_int_equal(svio_cfg_read(dev, (uint32_t)off, w, &v), 0);
	return v;
}

static void wr(uint64_t off, unsigned int w, uint64_t v)
{
	assert_int_equal(dev->reg_ops->write(dev, VNET_SIM_BAR, off, w, v), 0);
}

#define COMMON(r) (VNET_SIM_COMMON + (r))

static uint8_t status(void)
{
	return (uint8_t)rd(COMMON(VIRTIO_COMMON_STATUS), 1);
}

static void reset(void)
{
	wr(COMMON(VIRTIO_COMMON_STATUS), 1, 0);
	assert_int_equal(status(), 0);
}

static uint64_t device_features(void)
{
	wr(COMMON(VIRTIO_COMMON_DFSELECT), 4, 0);
	uint64_t lo = rd(COMMON(VIRTIO_COMMON_DF), 4);

	wr(COMMON(VIRTIO_COMMON_DFSELECT), 4, 1);
	return rd(COMMON(VIRTIO_COMMON_DF), 4) << 32 | lo;
}

/* Handshake up to FEATURES_OK with @p f; returns whether the device kept FEATURES_OK. */
static bool negotiate(uint64_t f)
{
	reset();
	wr(COMMON(VIRTIO_COMMON_STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(COMMON(VIRTIO_COMMON_GFSELECT), 4, 0);
	wr(COMMON(VIRTIO_COMMON_GF), 4, f & 0xffffffffu);
	wr(COMMON(VIRTIO_COMMON_GFSELECT), 4, 1);
	wr(COMMON(VIRTIO_COMMON_GF), 4, f >> 32);
	wr(COMMON(VIRTIO_COMMON_STATUS), 1,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return (status() & VIRTIO_STATUS_FEATURES_OK) != 0;
}

static void test_capabilities(void **state)
{
	unsigned int found = 0, ptr;

	(void)state;
	assert_int_equal(cfg(PCI_CFG_VENDOR_ID, 2), VIRTIO_PCI_VENDOR_ID);
	assert_int_equal(cfg(PCI_CFG_DEVICE_ID, 2), VIRTIO_PCI_DEVICE_ID_NET);
	assert_true(cfg(PCI_CFG_STATUS, 2) & PCI_CFG_STATUS_CAPS);
	for (ptr = (unsigned int)cfg(PCI_CFG_CAP_PTR, 1); ptr != 0;
	     ptr = (unsigned int)cfg(ptr + VIRTIO_PCI_CAP_NEXT, 1)) {
		unsigned int type = (unsigned int)cfg(ptr + VIRTIO_PCI_CAP_CFG_TYPE, 1);
		uint64_t off = cfg(ptr + VIRTIO_PCI_CAP_OFFSET, 4);

		assert_int_equal(cfg(ptr + VIRTIO_PCI_CAP_VNDR, 1), VIRTIO_PCI_CAP_ID_VNDR);
		assert_int_equal(cfg(ptr + VIRTIO_PCI_CAP_BAR, 1), VNET_SIM_BAR);
		found |= 1u << type;
		if (type == VIRTIO_PCI_CAP_COMMON_CFG)
			assert_int_equal(off, VNET_SIM_COMMON);
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			assert_int_equal(cfg(ptr + VIRTIO_PCI_NOTIFY_CAP_MULT, 4),
					 VNET_SIM_NOTIFY_MULT);
	}
	assert_int_equal(found, 0x1e);
}

static void test_negotiation(void **state)
{
	uint64_t f = device_features();
	uint64_t need = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM) |
			VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
			VIRTIO_BIT(VIRTIO_NET_F_MQ) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
			VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);

	(void)state;
	assert_int_equal(f & need, need);
	assert_int_equal(f & VIRTIO_BIT(VIRTIO_F_RING_PACKED), 0);
	/* A feature the device never offered: FEATURES_OK does not stick. */
	assert_false(negotiate(f | VIRTIO_BIT(VIRTIO_NET_F_CSUM)));
	/* No VERSION_1: a legacy driver is refused. */
	assert_false(negotiate(f & ~VIRTIO_BIT(VIRTIO_F_VERSION_1)));
	assert_true(negotiate(f));
	/* DRIVER_OK before FEATURES_OK is ignored. */
	reset();
	wr(COMMON(VIRTIO_COMMON_STATUS), 1, VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(status() & VIRTIO_STATUS_DRIVER_OK, 0);
	reset();
}

static void test_queue_config(void **state)
{
	(void)state;
	assert_true(negotiate(device_features()));
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_NUMQ), 2), 2 * 2 + 1);
	wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, 1);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_SIZE), 2), 256);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_NOFF), 2), 1);
	/* Not a power of two: enabling fails and the device needs a reset. */
	wr(COMMON(VIRTIO_COMMON_Q_SIZE), 2, 100);
	wr(COMMON(VIRTIO_COMMON_Q_ENABLE), 2, 1);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_ENABLE), 2), 0);
	assert_true(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	reset();
	/* Past the last queue: size reads 0. */
	wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, 99);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_SIZE), 2), 0);
	/* 64-bit addresses in two halves read back whole. */
	wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, 0);
	wr(COMMON(VIRTIO_COMMON_Q_DESC), 4, 0x89abc000);
	wr(COMMON(VIRTIO_COMMON_Q_DESC + 4), 4, 0x1234);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_DESC), 8), 0x123489abc000ull);
	reset();
}

/* Bring up tx queue 0 (index 1) on @p mem; returns the notify offset. */
static uint64_t live_txq(uint8_t *mem, unsigned int size)
{
	uint64_t base = (uint64_t)(uintptr_t)mem;

	assert_true(negotiate(device_features()));
	wr(COMMON(VIRTIO_COMMON_Q_SELECT), 2, 1);
	wr(COMMON(VIRTIO_COMMON_Q_SIZE), 2, size);
	wr(COMMON(VIRTIO_COMMON_Q_DESC), 8, base);
	wr(COMMON(VIRTIO_COMMON_Q_AVAIL), 8, base + 4096);
	wr(COMMON(VIRTIO_COMMON_Q_USED), 8, base + 8192);
	wr(COMMON(VIRTIO_COMMON_Q_ENABLE), 2, 1);
	assert_int_equal(rd(COMMON(VIRTIO_COMMON_Q_ENABLE), 2), 1);
	wr(COMMON(VIRTIO_COMMON_STATUS), 1,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		   VIRTIO_STATUS_DRIVER_OK);
	assert_true(status() & VIRTIO_STATUS_DRIVER_OK);
	return VNET_SIM_NOTIFY + VNET_SIM_NOTIFY_MULT * 1;
}

static void test_malformed_ring(void **state)
{
	uint8_t *mem = rte_zmalloc("vnet_ring", 3 * 4096, 4096);
	struct virtq_desc *d = (struct virtq_desc *)mem;
	struct virtq_avail *avail = (struct virtq_avail *)(mem + 4096);
	struct virtq_used *used = (struct virtq_used *)(mem + 8192);
	struct sim_vnet_stats before, after;
	uint64_t notify;

	(void)state;
	assert_non_null(mem);
	notify = live_txq(mem, 64);
	assert_int_equal(sim_vnet_stats_get(dev, &before), 0);
	/* A chain whose next leaves the table. */
	d[0] = (struct virtq_desc){ (uint64_t)(uintptr_t)(mem + 2048), 64, VIRTQ_DESC_F_NEXT, 70 };
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	wr(notify, 2, 1);
	assert_true(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE), 0);
	assert_int_equal(sim_vnet_stats_get(dev, &after), 0);
	assert_int_equal(after.ring_errors - before.ring_errors, 1);
	/* A reset clears it; a well-formed frame then goes out (loop wire). */
	memset(mem, 0, 3 * 4096);
	notify = live_txq(mem, 64);
	assert_int_equal(status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	d[0] = (struct virtq_desc){ (uint64_t)(uintptr_t)(mem + 2048), 12 + 60, 0, 0 };
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	wr(notify, 2, 1);
	/* The loop port's rx queue is not live: the frame is consumed and dropped. */
	assert_int_equal(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(sim_vnet_stats_get(dev, &after), 0);
	assert_int_equal(after.wire_drops - before.wire_drops, 1);
	reset();
	rte_free(mem);
}

static void test_bad_access(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(dev->reg_ops->read(dev, 1, 0, 4, &v), -EINVAL);
	assert_int_equal(dev->reg_ops->read(dev, 0, VNET_SIM_BAR_SIZE, 4, &v), -EINVAL);
	assert_int_equal(dev->reg_ops->read(dev, 0, 0, 3, &v), -EINVAL);
	assert_int_equal(dev->reg_ops->read(dev, 0, COMMON(VIRTIO_COMMON_STATUS), 4, &v), -EINVAL);
	assert_int_equal(dev->reg_ops->write(dev, 0, COMMON(VIRTIO_COMMON_NUMQ), 4, 1), -EINVAL);
}

static void test_bad_devargs(void **state)
{
	static const char *const bad[] = {
		"sim_vnet20,wire=pair:eth0", "sim_vnet20,wire=pair:sim_vnet20",
		"sim_vnet20,wire=string",    "sim_vnet20,queues=0",
		"sim_vnet20,queues=17",	     "sim_vnet20,qsize=100",
		"sim_vnet20,mode=fast",	     "sim_vnet20,mac=01:00:00:00:00:01",
		"sim_vnet20,mac=nonsense",   "sim_vnet20,rx_full=maybe",
		"sim_vnet20,mq=perhaps",     "sim_vnet20,colour=red",
	};
	struct svio_device *d = NULL;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(svio_dev_add(bad[i], &d), -EINVAL);
	/* One port, one cable. */
	assert_int_equal(svio_dev_add("sim_vnet21,wire=pair:sim_vnet22", &d), 0);
	assert_int_equal(svio_dev_add("sim_vnet23,wire=pair:sim_vnet22", &d), 0);
	assert_int_equal(svio_dev_add("sim_vnet22", &d), -EINVAL);
}

static int setup(void **state)
{
	static char *argv[] = {
		"test_vnet_model", "--no-huge",		  "-m",	    "64",	    "--no-shconf",
		"--no-telemetry",  "--log-level=*:error", "--vdev", "sim_scratch0", NULL
	};

	(void)state;
	if (svio_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
		return -1;
	/* Added after probing: no driver claims it, the test drives the registers. */
	if (svio_dev_add("sim_vnet0,wire=loop,queues=2,qsize=256", &dev) < 0)
		return -1;
	return svio_domain_attach(svio_domain_default(), dev);
}

static int teardown(void **state)
{
	(void)state;
	svio_domain_detach(svio_domain_default(), dev);
	svio_eal_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capabilities), cmocka_unit_test(test_negotiation),
		cmocka_unit_test(test_queue_config), cmocka_unit_test(test_malformed_ring),
		cmocka_unit_test(test_bad_access),   cmocka_unit_test(test_bad_devargs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
