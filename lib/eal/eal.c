/* SPDX-License-Identifier: BSD-3-Clause */
/* svio_eal_init(): options, DPDK, devices, the process domain. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_iommu.h"
#include "svio_iommu_backend.h"
#include "eal_private.h"

RTE_LOG_REGISTER_SUFFIX(svio_eal_logtype, eal, INFO);

static struct svio_eal_config config;
static struct eal_argv eal_args; /* DPDK may keep pointers into it: lives until cleanup */
static bool svio_up;
/* rte_eal_init() runs once per process; a failed svio start keeps DPDK up for the retry. */
static bool dpdk_up;

/*
 * DPDK's own virtual devices named to svio_eal_init() ("--vdev net_svio0,..."):
 * created once svio is up, so that drivers built on svio find it running
 * (EAL would probe them inside rte_eal_init(), before svio starts), and
 * removed before svio goes down. "NAME[,args]" each; the first n_added exist.
 */
static char **dpdk_vdevs;
static unsigned int n_dpdk_vdevs, n_dpdk_vdevs_added;

const struct svio_eal_config *svio_eal_config(void)
{
	return svio_up ? &config : NULL;
}

static const char *const backend_names[] = {
	[SVIO_IOMMU_AUTO] = "auto",
	[SVIO_IOMMU_SIM] = "sim",
	[SVIO_IOMMU_IOMMUFD] = "iommufd",
};

/*
 * --iommu selects the backend real devices (-a) are bound through; built-in
 * devices always sit behind the model's IOMMU instances. auto picks the
 * first available backend for real devices (iommufd, which needs
 * /dev/iommu): checked here when -a names a device, so what is missing is
 * said before DPDK starts; with no -a the built-in model is all that is in
 * use. A named backend is checked at the first bind, where it says what it
 * lacks (iommufd: the missing /dev/iommu; sim: why a real device cannot
 * work), after the bus checked the device itself.
 */
static int choose_backend(struct svio_eal_config *cfg)
{
	const struct svio_iommu_backend *be;
	char why[512];
	int rc;

	rc = svio_iommu_backend_select(backend_names[cfg->iommu]);
	if (rc < 0)
		return rc;
	if (cfg->n_allow == 0) {
		cfg->backend = cfg->iommu == SVIO_IOMMU_AUTO ? SVIO_IOMMU_SIM : cfg->iommu;
		return 0;
	}
	be = svio_iommu_backend_for_real_device(why, sizeof(why));
	if (be == NULL) {
		SVIO_EAL_LOG(ERR, "-a %s: %s", cfg->allow[0], why);
		return -ENODEV;
	}
	cfg->backend = strcmp(be->name, "sim") == 0 ? SVIO_IOMMU_SIM : SVIO_IOMMU_IOMMUFD;
	return 0;
}

static int add_devices(char *const *list, unsigned int n)
{
	unsigned int i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = svio_dev_add(list[i], NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void teardown(void)
{
	struct svio_domain *dom = svio_domain_default();

	if (dom != NULL)
		svio_domain_unmap_dpdk_memory(dom);
	svio_dev_remove_all();
	if (dom != NULL) {
		svio_domain_set_default(NULL);
		svio_domain_destroy(dom);
	}
	svio_builtin_unregister();
	svio_iommu_backend_select(NULL);
	svio_eal_config_free(&config);
}

/* Take the "--vdev X" pairs out of DPDK's vector (both are in parse order yet). */
static int hold_dpdk_vdevs(struct eal_argv *eal)
{
	unsigned int n = 0;
	int i, j;

	for (i = 0; i + 1 < eal->argc; i++)
		n += strcmp(eal->owned[i], "--vdev") == 0;
	if (n == 0)
		return 0;
	dpdk_vdevs = calloc(n, sizeof(*dpdk_vdevs));
	if (dpdk_vdevs == NULL)
		return -ENOMEM;
	for (i = 0, j = 0; i < eal->argc; i++) {
		if (i + 1 < eal->argc && strcmp(eal->owned[i], "--vdev") == 0) {
			free(eal->owned[i]);
			dpdk_vdevs[n_dpdk_vdevs++] = eal->owned[++i];
			continue;
		}
		eal->owned[j] = eal->owned[i];
		eal->argv[j++] = eal->owned[i];
	}
	eal->argc = j;
	eal->argv[j] = NULL;
	return 0;
}

static void remove_dpdk_vdevs(void)
{
	unsigned int i;

	while (n_dpdk_vdevs_added > 0) {
		char *name = dpdk_vdevs[--n_dpdk_vdevs_added], *comma = strchr(name, ',');

		if (comma != NULL)
			*comma = '\0';
		/* The application may have detached it itself: nothing to say then. */
		(void)rte_eal_hotplug_remove("vdev", name);
	}
	for (i = 0; i < n_dpdk_vdevs; i++)
		free(dpdk_vdevs[i]);
	free(dpdk_vdevs);
	dpdk_vdevs = NULL;
	n_dpdk_vdevs = 0;
}

static int add_dpdk_vdevs(void)
{
	for (; n_dpdk_vdevs_added < n_dpdk_vdevs; n_dpdk_vdevs_added++) {
		const char *dev = dpdk_vdevs[n_dpdk_vdevs_added], *comma = strchr(dev, ',');
		char *name = strndup(dev, comma != NULL ? (size_t)(comma - dev) : strlen(dev));
		int rc;

		if (name == NULL)
			return -ENOMEM;
		rc = rte_eal_hotplug_add("vdev", name, comma != NULL ? comma + 1 : "");
		free(name);
		if (rc == -EFAULT) {
			/* DPDK's word for a name no bus or driver takes. */
			SVIO_EAL_LOG(ERR,
				     "--vdev %s: no DPDK driver loaded takes this name (load "
				     "it with -d PATH.so, or link it with --no-as-needed)",
				     dev);
			return -ENODEV;
		} else if (rc < 0) {
			/* The driver logged why just before. */
			SVIO_EAL_LOG(ERR, "--vdev %s: DPDK could not create this device: %s", dev,
				     rte_strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Backend and devices from the parsed options: checked before DPDK starts, if it is to start. */
static int add_configured_devices(void)
{
	int rc;

	rc = choose_backend(&config);
	if (rc < 0)
		return rc;
	rc = svio_builtin_register();
	if (rc < 0)
		return rc;
	/*
	 * PCI devices first: probing follows this order, and iommufd must have
	 * its first device attached before any built-in device's driver maps.
	 */
	rc = add_devices(config.allow, config.n_allow);
	if (rc == 0)
		rc = add_devices(config.vdev, config.n_vdev);
	return rc;
}

/* With DPDK running: the process domain, every device probed, DPDK memory mapped. */
static int start_domain(void)
{
	struct svio_domain *dom;
	int rc;

	rc = svio_domain_create(&config.domain, &dom);
	if (rc < 0) {
		SVIO_EAL_LOG(ERR, "cannot create the process IOMMU domain: %s", strerror(-rc));
		return rc;
	}
	svio_domain_set_default(dom);
	rc = svio_dev_probe_all();
	if (rc < 0)
		return rc;
	/* Devices are attached now: kernel-owned tables may take mappings. */
	rc = svio_domain_map_dpdk_memory(dom);
	if (rc < 0) {
		SVIO_EAL_LOG(ERR, "cannot map DPDK memory for the devices: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

int svio_eal_init(int argc, char **argv)
{
	struct eal_argv eal;
	int consumed, rc;

	if (svio_up) {
		SVIO_EAL_LOG(ERR, "svio_eal_init() called twice");
		return -EALREADY;
	}
	rc = svio_eal_parse(argc, argv, &config, &eal, &consumed);
	if (rc < 0)
		return rc;
	if (config.help)
		svio_eal_usage(stdout);
	rc = hold_dpdk_vdevs(&eal);
	if (rc < 0)
		goto out_teardown;

	/* Devices are checked before DPDK starts: a typo costs no EAL start-up. */
	rc = add_configured_devices();
	if (rc < 0)
		goto out_teardown;

	if (!dpdk_up) {
		if (rte_eal_init(eal.argc, eal.argv) < 0) {
			char why[512];

			rc = rte_errno > 0 ? -rte_errno : -EINVAL;
			/* DPDK's only word for missing hugepages is EACCES, "Permission denied". */
			if (rc != -EACCES || !svio_eal_hugepage_hint(&eal, why, sizeof(why)))
				snprintf(why, sizeof(why), "%s", rte_strerror(-rc));
			SVIO_EAL_LOG(ERR, "DPDK EAL initialisation failed: %s", why);
			goto out_teardown;
		}
		dpdk_up = true;
		eal_args = eal;
		memset(&eal, 0, sizeof(eal));
	} else {
		SVIO_EAL_LOG(NOTICE, "DPDK already running: EAL options of this call ignored");
	}

	rc = start_domain();
	if (rc < 0)
		goto out_teardown;
	svio_up = true; /* the drivers of DPDK's devices look for it */
	rc = add_dpdk_vdevs();
	if (rc < 0) {
		svio_up = false;
		goto out_teardown;
	}

	eal_argv_free(&eal);
	if (consumed > 0 && consumed < argc)
		argv[consumed] = argv[0];
	return consumed;

out_teardown:
	remove_dpdk_vdevs();
	teardown();
	svio_eal_config_free(&config);
	eal_argv_free(&eal);
	return rc;
}

/*
 * DPDK's part of the parsed vector is argv[0], then what svio did not take,
 * then the --no-pci svio adds: anything in between is an option svio cannot
 * pass on now that DPDK runs.
 */
static int refuse_dpdk_options(const struct eal_argv *eal)
{
	int i;

	for (i = 1; i < eal->argc; i++) {
		const char *a = eal->argv[i];

		if (strcmp(a, "--no-pci") == 0)
			continue;
		if (strcmp(a, "--help") == 0)
			SVIO_EAL_LOG(ERR, "svio options: --help starts nothing (svio's options are "
					  "in doc/options.rst)");
		else if (strcmp(a, "--vdev") == 0 && i + 1 < eal->argc)
			SVIO_EAL_LOG(ERR,
				     "svio options: --vdev %s is no svio device (DPDK's own "
				     "devices go on the application's command line)",
				     eal->argv[i + 1]);
		else
			SVIO_EAL_LOG(ERR,
				     "svio options: %s is not a svio option (DPDK is running "
				     "already: its options go on the application's command line)",
				     a);
		return -EINVAL;
	}
	return 0;
}

int svio_eal_attach(int argc, char **argv)
{
	struct eal_argv eal;
	int consumed, rc;

	if (svio_up) {
		SVIO_EAL_LOG(ERR, "svio_eal_attach(): svio is running already");
		return -EALREADY;
	}
	if (rte_lcore_count() == 0) {
		SVIO_EAL_LOG(ERR, "svio_eal_attach(): DPDK is not running (call rte_eal_init() "
				  "first, or svio_eal_init() instead)");
		return -EINVAL;
	}
	rc = svio_eal_parse(argc, argv, &config, &eal, &consumed);
	if (rc < 0)
		return rc;
	rc = refuse_dpdk_options(&eal);
	if (rc == 0 && consumed < argc - 1) {
		SVIO_EAL_LOG(ERR,
			     "svio options: '%s' after '--': svio_eal_attach() takes no "
			     "application options",
			     argv[consumed + 1]);
		rc = -EINVAL;
	}
	eal_argv_free(&eal);
	if (rc < 0) {
		svio_eal_config_free(&config);
		return rc;
	}
	rc = add_configured_devices();
	if (rc == 0)
		rc = start_domain();
	if (rc < 0) {
		teardown();
		return rc;
	}
	svio_up = true;
	return 0;
}

int svio_eal_cleanup(void)
{
	if (!svio_up)
		return -EALREADY;
	remove_dpdk_vdevs(); /* their drivers may use svio: before it goes */
	teardown();
	svio_up = false;
	if (dpdk_up) {
		rte_eal_cleanup();
		dpdk_up = false;
		eal_argv_free(&eal_args);
	}
	return 0;
}
