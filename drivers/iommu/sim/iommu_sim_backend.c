/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The built-in IOMMU model as a backend (struct svio_iommu_backend). The
 * built-in devices sit behind the model's instances by construction (the
 * sim bus's iommu=N devarg) and are never bound through here; what a bus
 * hands this backend is a real device, which the model cannot translate for:
 * refused, saying so.
 */
#include <errno.h>

#include <rte_common.h>

#include "svio_dev.h"
#include "iommu_sim_priv.h"

static int sim_backend_available(char *why, size_t len)
{
	RTE_SET_USED(why);
	RTE_SET_USED(len);
	return 0; /* the model is compiled in */
}

static int sim_backend_bind(struct svio_iommu_binding *b, struct svio_device *dev, int fd)
{
	RTE_SET_USED(b);
	RTE_SET_USED(fd);
	SIMDRV_LOG(ERR,
		   "%s: --iommu=sim: the built-in IOMMU model translates only for built-in "
		   "devices (--vdev sim_*), not for a real device, whose DMA the machine's "
		   "IOMMU translates; use --iommu=iommufd or auto",
		   dev->name);
	return -ENOTSUP;
}

static void sim_backend_unbind(struct svio_iommu_binding *b)
{
	RTE_SET_USED(b); /* never bound */
}

const struct svio_iommu_backend svio_sim_iommu_backend = {
	.name = "sim",
	.real_devices = false,
	.available = sim_backend_available,
	.bind = sim_backend_bind,
	.unbind = sim_backend_unbind,
};
