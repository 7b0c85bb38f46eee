/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device registry: buses, drivers and the devices named on the command line.
 * Control path only: every function here runs on the main lcore.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_kvargs.h>
#include <rte_log.h>

#include "svio_dev.h"
#include "dev_private.h"

RTE_LOG_REGISTER_SUFFIX(svio_dev_logtype, dev, INFO);

static TAILQ_HEAD(, svio_bus) bus_list = TAILQ_HEAD_INITIALIZER(bus_list);
static TAILQ_HEAD(, svio_driver) driver_list = TAILQ_HEAD_INITIALIZER(driver_list);
static TAILQ_HEAD(svio_device_list, svio_device) device_list = TAILQ_HEAD_INITIALIZER(device_list);

const char *svio_dev_kind_name(enum svio_dev_kind kind)
{
	switch (kind) {
	case SVIO_DEV_KIND_ANY:
		return "any";
	case SVIO_DEV_KIND_SCRATCH:
		return "scratch";
	case SVIO_DEV_KIND_IOMMU:
		return "iommu";
	case SVIO_DEV_KIND_NVME:
		return "nvme";
	case SVIO_DEV_KIND_NET:
		return "net";
	}
	return "unknown";
}

int svio_bus_register(struct svio_bus *bus)
{
	struct svio_bus *b;

	if (bus == NULL || bus->name == NULL || bus->claims == NULL || bus->add == NULL)
		return -EINVAL;
	TAILQ_FOREACH(b, &bus_list, next) {
		if (b == bus)
			return 0;
		if (strcmp(b->name, bus->name) == 0)
			return -EEXIST;
	}
	TAILQ_INSERT_TAIL(&bus_list, bus, next);
	return 0;
}

void svio_bus_unregister(struct svio_bus *bus)
{
	struct svio_bus *b;

	TAILQ_FOREACH(b, &bus_list, next) {
		if (b == bus) {
			TAILQ_REMOVE(&bus_list, bus, next);
			return;
		}
	}
}

const struct svio_bus *svio_bus_find(const char *name)
{
	struct svio_bus *b;

	TAILQ_FOREACH(b, &bus_list, next) {
		if (strcmp(b->name, name) == 0)
			return b;
	}
	return NULL;
}

int svio_driver_register(struct svio_driver *drv)
{
	struct svio_driver *d;

	if (drv == NULL || drv->name == NULL || drv->probe == NULL)
		return -EINVAL;
	TAILQ_FOREACH(d, &driver_list, next) {
		if (d == drv)
			return 0;
		if (strcmp(d->name, drv->name) == 0)
			return -EEXIST;
	}
	TAILQ_INSERT_TAIL(&driver_list, drv, next);
	return 0;
}

void svio_driver_unregister(struct svio_driver *drv)
{
	struct svio_driver *d;

	TAILQ_FOREACH(d, &driver_list, next) {
		if (d == drv) {
			TAILQ_REMOVE(&driver_list, drv, next);
			return;
		}
	}
}

struct svio_device *svio_dev_find(const char *name)
{
	struct svio_device *dev;

	TAILQ_FOREACH(dev, &device_list, next) {
		if (strcmp(dev->name, name) == 0)
			return dev;
	}
	return NULL;
}

struct svio_device *svio_dev_next(const struct svio_device *prev)
{
	return prev == NULL ? TAILQ_FIRST(&device_list) : TAILQ_NEXT(prev, next);
}

unsigned int svio_dev_count(enum svio_dev_kind kind)
{
	struct svio_device *dev;
	unsigned int n = 0;

	TAILQ_FOREACH(dev, &device_list, next) {
		if (kind == SVIO_DEV_KIND_ANY || dev->kind == kind)
			n++;
	}
	return n;
}

static const struct svio_bus *bus_for_name(const char *name)
{
	struct svio_bus *b;

	TAILQ_FOREACH(b, &bus_list, next) {
		if (b->claims(name))
			return b;
	}
	return NULL;
}

int svio_dev_add(const char *arg, struct svio_device **out)
{
	char name[SVIO_DEV_NAME_MAX];
	const struct svio_bus *bus;
	struct svio_device *dev;
	const char *args;
	size_t len;
	int rc;

	if (arg == NULL || arg[0] == '\0' || arg[0] == ',') {
		SVIO_DEV_LOG(ERR, "device argument '%s': expected NAME[,key=val...]",
			     arg ? arg : "");
		return -EINVAL;
	}
	args = strchr(arg, ',');
	len = args ? (size_t)(args - arg) : strlen(arg);
	if (len >= sizeof(name)) {
		SVIO_DEV_LOG(ERR, "device name in '%s' is longer than %d characters", arg,
			     SVIO_DEV_NAME_MAX - 1);
		return -EINVAL;
	}
	memcpy(name, arg, len);
	name[len] = '\0';
	args = args ? args + 1 : "";

	if (svio_dev_find(name) != NULL) {
		SVIO_DEV_LOG(ERR, "device '%s' given twice", name);
		return -EEXIST;
	}
	bus = bus_for_name(name);
	if (bus == NULL) {
		SVIO_DEV_LOG(ERR, "device '%s': no bus knows this name (expected a PCI address "
				  "DDDD:BB:DD.F or a built-in device such as sim_nvme0)",
			     name);
		return -ENODEV;
	}
	rc = bus->add(name, args, &dev);
	if (rc < 0)
		return rc;
	dev->bus = bus;
	TAILQ_INSERT_TAIL(&device_list, dev, next);
	if (out != NULL)
		*out = dev;
	return 0;
}

static bool driver_matches(const struct svio_driver *drv, const struct svio_device *dev)
{
	if (drv->kind != SVIO_DEV_KIND_ANY && drv->kind != dev->kind)
		return false;
	if (drv->name_prefix != NULL && drv->name_prefix[0] != '\0' &&
	    strncmp(dev->name, drv->name_prefix, strlen(drv->name_prefix)) != 0)
		return false;
	return true;
}

bool svio_driver_accepts_key(const char *devname, enum svio_dev_kind kind, const char *key)
{
	struct svio_driver *drv;
	struct svio_device probe = { .kind = kind };

	snprintf(probe.name, sizeof(probe.name), "%s", devname);
	TAILQ_FOREACH(drv, &driver_list, next) {
		const char *const *k;

		if (drv->devargs == NULL || !driver_matches(drv, &probe))
			continue;
		for (k = drv->devargs; *k != NULL; k++) {
			if (strcmp(*k, key) == 0)
				return true;
		}
	}
	return false;
}

static int probe_one(struct svio_device *dev)
{
	struct svio_driver *drv;
	int rc;

	TAILQ_FOREACH(drv, &driver_list, next) {
		if (!driver_matches(drv, dev))
			continue;
		rc = drv->probe(drv, dev);
		if (rc < 0) {
			SVIO_DEV_LOG(ERR, "device '%s': driver %s failed to probe: %s", dev->name,
				     drv->name, strerror(-rc));
			return rc;
		}
		dev->driver = drv;
		SVIO_DEV_LOG(DEBUG, "device '%s' probed by %s", dev->name, drv->name);
		return 0;
	}
	SVIO_DEV_LOG(ERR, "device '%s' (%s): no driver claims it", dev->name,
		     svio_dev_kind_name(dev->kind));
	return -ENODEV;
}

int svio_dev_probe_all(void)
{
	/* IOMMUs first: the devices behind them attach to a domain when probed. */
	static const enum svio_dev_kind order[] = { SVIO_DEV_KIND_IOMMU, SVIO_DEV_KIND_ANY };
	struct svio_device *dev;
	struct svio_bus *bus;
	unsigned int i;
	int rc;

	TAILQ_FOREACH(bus, &bus_list, next) {
		if (bus->scan_done != NULL) {
			rc = bus->scan_done();
			if (rc < 0)
				return rc;
		}
	}
	for (i = 0; i < RTE_DIM(order); i++) {
		TAILQ_FOREACH(dev, &device_list, next) {
			if (dev->driver != NULL)
				continue;
			if (order[i] != SVIO_DEV_KIND_ANY && dev->kind != order[i])
				continue;
			rc = probe_one(dev);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static void remove_device(struct svio_device *dev)
{
	if (dev->driver != NULL && dev->driver->remove != NULL) {
		int rc = dev->driver->remove(dev);

		if (rc < 0)
			SVIO_DEV_LOG(WARNING, "device '%s': driver %s remove failed: %s",
				     dev->name, dev->driver->name, strerror(-rc));
	}
	dev->driver = NULL;
	dev->driver_priv = NULL;
}

void svio_dev_remove_all(void)
{
	struct svio_device *dev;
	struct svio_bus *bus;

	/* Reverse order: devices behind an IOMMU go before the IOMMU. */
	TAILQ_FOREACH_REVERSE(dev, &device_list, svio_device_list, next) {
		if (dev->kind != SVIO_DEV_KIND_IOMMU)
			remove_device(dev);
	}
	TAILQ_FOREACH_REVERSE(dev, &device_list, svio_device_list, next) {
		remove_device(dev);
	}
	while ((dev = TAILQ_LAST(&device_list, svio_device_list)) != NULL) {
		TAILQ_REMOVE(&device_list, dev, next);
		if (dev->bus != NULL && dev->bus->release != NULL)
			dev->bus->release(dev);
		else
			svio_dev_free(dev);
	}
	TAILQ_FOREACH(bus, &bus_list, next) {
		if (bus->cleanup != NULL)
			bus->cleanup();
	}
}

int svio_dev_intr_register(struct svio_device *dev, unsigned int vector, svio_intr_handler_t fn,
			   void *arg)
{
	if (vector >= SVIO_DEV_MAX_VECTORS || fn == NULL)
		return -EINVAL;
	if (dev->intr[vector].fn != NULL)
		return -EBUSY;
	dev->intr[vector].arg = arg;
	__atomic_store_n(&dev->intr[vector].fn, fn, __ATOMIC_RELEASE);
	return 0;
}

void svio_dev_intr_unregister(struct svio_device *dev, unsigned int vector)
{
	if (vector < SVIO_DEV_MAX_VECTORS)
		__atomic_store_n(&dev->intr[vector].fn, NULL, __ATOMIC_RELEASE);
}

int svio_dev_intr_raise(struct svio_device *dev, unsigned int vector)
{
	svio_intr_handler_t fn;

	if (vector >= SVIO_DEV_MAX_VECTORS)
		return -EINVAL;
	fn = __atomic_load_n(&dev->intr[vector].fn, __ATOMIC_ACQUIRE);
	if (fn == NULL)
		return -ENOENT;
	fn(dev, vector, dev->intr[vector].arg);
	return 0;
}
