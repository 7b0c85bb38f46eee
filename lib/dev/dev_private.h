/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to lib/dev and the buses that build devices. */
#ifndef SVIO_DEV_PRIVATE_H
#define SVIO_DEV_PRIVATE_H

#include <rte_log.h>

#include "svio_dev.h"

extern int svio_dev_logtype;
#define SVIO_DEV_LOG(level, fmt, ...)                                                              \
	rte_log(RTE_LOG_##level, svio_dev_logtype, "svio_dev: " fmt "\n", ##__VA_ARGS__)

/**
 * Allocate a device named @p name with devargs @p args ("k=v,..."), checking
 * every key against @p keys and @p keys2 (NULL-terminated lists, either may be
 * NULL) and the devargs of the drivers that would claim the device.
 * @return the device, or NULL with a negative errno value in *rc.
 */
struct svio_device *svio_dev_alloc(const char *name, const char *args, enum svio_dev_kind kind,
				   const char *const *keys, const char *const *keys2, int *rc);

/** Does a registered driver for such a device accept devarg @p key? */
bool svio_driver_accepts_key(const char *devname, enum svio_dev_kind kind, const char *key);

/** Free a device made by svio_dev_alloc(). */
void svio_dev_free(struct svio_device *dev);

#endif /* SVIO_DEV_PRIVATE_H */
