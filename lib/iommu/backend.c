/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IOMMU backend selection (--iommu) and the bind/unbind of real bus devices
 * through the selected backend's ops.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>

#include "svio_dev.h"
#include "iommu_private.h"
#include "svio_iommu_backend.h"
#include "svio_builtins.h"

#define X(b) extern const struct svio_iommu_backend b;
SVIO_IOMMU_BACKENDS
#undef X

static const struct svio_iommu_backend *const backends[] = {
#define X(b) &b,
	SVIO_IOMMU_BACKENDS
#undef X
		NULL,
};

/* NULL: auto. Written by svio_eal_init() on the main lcore, before any bind. */
static const struct svio_iommu_backend *selected;

const struct svio_iommu_backend *svio_iommu_backend_find(const char *name)
{
	for (unsigned int i = 0; name != NULL && backends[i] != NULL; i++) {
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	}
	return NULL;
}

int svio_iommu_backend_select(const char *name)
{
	const struct svio_iommu_backend *be;
	char known[128] = "auto";

	if (name == NULL || strcmp(name, "auto") == 0) {
		selected = NULL;
		return 0;
	}
	be = svio_iommu_backend_find(name);
	if (be != NULL) {
		selected = be;
		return 0;
	}
	for (unsigned int i = 0; backends[i] != NULL; i++) {
		strncat(known, ", ", sizeof(known) - strlen(known) - 1);
		strncat(known, backends[i]->name, sizeof(known) - strlen(known) - 1);
	}
	IOMMU_LOG(ERR, "--iommu=%s: no such IOMMU backend (this build has %s)", name, known);
	return -EINVAL;
}

const struct svio_iommu_backend *svio_iommu_backend_selected(void)
{
	return selected;
}

const struct svio_iommu_backend *svio_iommu_backend_for_real_device(char *why, size_t len)
{
	size_t used = 0;

	if (len > 0)
		why[0] = '\0';
	if (selected != NULL)
		return selected;
	for (unsigned int i = 0; backends[i] != NULL; i++) {
		char reason[256] = "";
		int n;

		if (!backends[i]->real_devices)
			continue;
		if (backends[i]->available(reason, sizeof(reason)) == 0)
			return backends[i];
		if (used < len) {
			n = snprintf(why + used, len - used, "%s%s", used > 0 ? "; " : "", reason);
			used += n > 0 ? (size_t)n : 0;
		}
	}
	return NULL;
}

int svio_iommu_bind(struct svio_iommu_binding *b, struct svio_device *dev, int fd)
{
	const struct svio_iommu_backend *be;
	char why[512];
	int rc;

	if (b == NULL || dev == NULL)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	be = svio_iommu_backend_for_real_device(why, sizeof(why));
	if (be == NULL) {
		IOMMU_LOG(ERR, "%s: --iommu=auto found no IOMMU backend for a real device: %s",
			  dev->name, why[0] != '\0' ? why : "none is built in");
		return -ENODEV;
	}
	rc = be->bind(b, dev, fd);
	if (rc < 0)
		return rc;
	b->backend = be;
	return 0;
}

void svio_iommu_unbind(struct svio_iommu_binding *b)
{
	if (b == NULL || b->backend == NULL)
		return;
	b->backend->unbind(b);
	b->backend = NULL;
	b->priv = NULL;
}
