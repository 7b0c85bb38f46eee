/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Start-up: svio's own options, then rte_eal_init() with the rest.
 *
 *   int ret = svio_eal_init(argc, argv);
 *   if (ret < 0) ...;             // a message naming the bad option was logged
 *   argc -= ret; argv += ret;     // argv[0] is the program, then the app's options
 *
 * svio's options (everything else goes to DPDK's EAL, with --no-pci added):
 *   -a, --allow DBDF[,key=val...]   a real PCI device bound to vfio-pci
 *   -b, --block DBDF                a PCI device svio must not touch
 *   --vdev NAME[,key=val...]        a built-in device (sim_nvme0, sim_vnet0, ...);
 *                                   names no svio bus knows are DPDK's own virtual
 *                                   devices: created once svio is up (so net_svio
 *                                   ports find it), removed by svio_eal_cleanup();
 *                                   one DPDK cannot create fails svio_eal_init()
 *   --iommu auto|sim|iommufd        IOMMU backend for real devices (auto: iommufd
 *                                   when -a names one, else the built-in model;
 *                                   built-in devices are always behind the model)
 *   --sva on|off                    device addresses are process addresses
 *   --iommu-flush strict|lazy|naive invalidation policy
 *   --iommu-flush-batch N           lazy: unmaps per batch (1..32768)
 *   --iommu-flush-timeout USEC      lazy: longest deferral (1..10000000)
 *
 * Threading: call from the main thread, once; svio_eal_cleanup() undoes it.
 */
#ifndef SVIO_EAL_H
#define SVIO_EAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "svio_iommu.h"

#ifdef __cplusplus
extern "C" {
#endif

enum svio_iommu_backend_kind {
	SVIO_IOMMU_AUTO,
	SVIO_IOMMU_SIM,
	SVIO_IOMMU_IOMMUFD,
};

/** The options svio_eal_init() took, after validation. */
struct svio_eal_config {
	enum svio_iommu_backend_kind iommu; /**< as asked (--iommu) */
	/**
	 * In use for real devices: what auto picked (the built-in model when
	 * no -a device is named), else as asked.
	 */
	enum svio_iommu_backend_kind backend;
	struct svio_iommu_config domain;
	unsigned int n_allow, n_block, n_vdev;
	char **allow; /**< "DDDD:BB:DD.F[,key=val...]", normalised */
	char **block; /**< "DDDD:BB:DD.F" */
	char **vdev;  /**< "NAME[,key=val...]" for svio's buses */
	bool help;
};

/**
 * Take svio's options out of argv, start DPDK with the rest, create the
 * process domain and probe every device named.
 * @return the number of arguments consumed (as rte_eal_init), or a negative
 *         errno: -EINVAL bad option, -ENODEV device missing or unclaimed,
 *         -EALREADY already initialised. After a failure nothing is left
 *         behind and svio_eal_init() may be called again.
 */
int svio_eal_init(int argc, char **argv);

/**
 * Start svio inside a DPDK that already runs (rte_eal_init() returned), e.g.
 * from a DPDK driver loaded into an application that knows nothing of svio.
 * @p argv is argv[0] (any name), then svio's options only: DPDK's are refused
 * with a message naming the first one. Otherwise as svio_eal_init().
 * @return 0, or a negative errno: -EINVAL bad or DPDK option, or DPDK not
 *         running; -ENODEV device missing or unclaimed; -EALREADY svio is
 *         running. After a failure nothing is left behind.
 */
int svio_eal_attach(int argc, char **argv);

/**
 * Remove every device, destroy the domain; stop DPDK when svio_eal_init()
 * started it (not after svio_eal_attach()). @return 0 or -EALREADY.
 */
int svio_eal_cleanup(void);

/** The configuration in force, or NULL before svio_eal_init() succeeded. */
const struct svio_eal_config *svio_eal_config(void);

/** Print svio's options (svio_eal_init prints them for --help before DPDK's). */
void svio_eal_usage(FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* SVIO_EAL_H */
