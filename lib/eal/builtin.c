/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The buses and drivers compiled into libsvio, as svio_builtins.h lists them
 * (each folder's meson.build names its own). Registered explicitly (not by
 * constructors) so a static link keeps every one.
 */
#include <string.h>

#include <rte_common.h>

#include "svio_dev.h"
#include "eal_private.h"
#include "svio_builtins.h"

#define X(b) extern struct svio_bus b;
SVIO_BUILTIN_BUSES
#undef X
#define X(d) extern struct svio_driver d;
SVIO_BUILTIN_DRIVERS
#undef X

static struct svio_bus *const builtin_buses[] = {
#define X(b) &b,
	SVIO_BUILTIN_BUSES
#undef X
};

static struct svio_driver *const builtin_drivers[] = {
#define X(d) &d,
	SVIO_BUILTIN_DRIVERS
#undef X
};

bool svio_eal_bus_claims(const char *name, size_t len)
{
	char buf[SVIO_DEV_NAME_MAX];
	unsigned int i;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	for (i = 0; i < RTE_DIM(builtin_buses); i++) {
		/* --vdev is for built-in (virtual) devices; PCI ones are named with -a. */
		if (builtin_buses[i]->vdev && builtin_buses[i]->claims(buf))
			return true;
	}
	return false;
}

int svio_builtin_register(void)
{
	unsigned int i;
	int rc;

	for (i = 0; i < RTE_DIM(builtin_buses); i++) {
		rc = svio_bus_register(builtin_buses[i]);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < RTE_DIM(builtin_drivers); i++) {
		rc = svio_driver_register(builtin_drivers[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void svio_builtin_unregister(void)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(builtin_drivers); i++)
		svio_driver_unregister(builtin_drivers[i]);
	for (i = 0; i < RTE_DIM(builtin_buses); i++)
		svio_bus_unregister(builtin_buses[i]);
}
