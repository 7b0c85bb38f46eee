/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The iommufd backend's ops for bus devices (struct svio_iommu_backend):
 * available when /dev/iommu exists; bind is svio_iommufd_bind() on per-device
 * state this file owns, so the bus embeds nothing of iommufd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "svio_dev.h"
#include "iommufd_priv.h"

static int iommufd_available(char *why, size_t len)
{
	const char *path = iommufd_ctx_path();

	if (access(path, F_OK) == 0)
		return 0;
	snprintf(why, len,
		 "PCI devices need %s, which this kernel lacks (build it with CONFIG_IOMMUFD "
		 "and CONFIG_VFIO_DEVICE_CDEV, then 'modprobe iommufd')",
		 path);
	return -ENODEV;
}

static int iommufd_backend_bind(struct svio_iommu_binding *b, struct svio_device *dev, int fd)
{
	struct svio_iommufd_dev *idev = calloc(1, sizeof(*idev));
	int rc;

	if (idev == NULL)
		return -ENOMEM;
	rc = svio_iommufd_bind(idev, dev, fd);
	if (rc < 0) {
		free(idev);
		return rc;
	}
	b->priv = idev;
	return 0;
}

static void iommufd_backend_unbind(struct svio_iommu_binding *b)
{
	svio_iommufd_unbind(b->priv);
	free(b->priv);
}

const struct svio_iommu_backend svio_iommufd_backend = {
	.name = "iommufd",
	.real_devices = true,
	.available = iommufd_available,
	.bind = iommufd_backend_bind,
	.unbind = iommufd_backend_unbind,
};
