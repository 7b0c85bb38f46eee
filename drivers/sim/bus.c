/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sim bus: `--vdev sim_<model><N>[,key=val...]` becomes an svio_device
 * backed by a built-in hardware model.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "sim_bus.h"
#include "dev_private.h"

#include "svio_builtins.h"

#define X(m) extern const struct sim_model m;
SVIO_SIM_MODELS
#undef X

const struct sim_model *const sim_models[] = {
#define X(m) &m,
	SVIO_SIM_MODELS
#undef X
	NULL,
};

const char *const sim_dma_devargs[] = { "numa", "iommu", "ats", "pasid", "pri", NULL };
static const char *const sim_common_devargs[] = { "numa", NULL };

#define SIM_IOMMU_PREFIX "sim_iommu"
#define SIM_IOMMU_MAX    16
/* Requester ids: bus 1 onwards, one function per device. */
#define SIM_SID_BASE 0x100
#define SIM_SID_STEP 0x8

static unsigned int next_sid_slot;

static bool sim_claims(const char *name)
{
	return strncmp(name, "sim_", 4) == 0;
}

/* "sim_nvme12" with prefix "sim_nvme" -> 12; -EINVAL when the rest is not a number. */
static int parse_index(const char *name, const char *prefix)
{
	size_t plen = strlen(prefix);
	uint64_t idx;

	if (strncmp(name, prefix, plen) != 0 || svio_parse_u64(name + plen, false, &idx) < 0 ||
	    !isdigit((unsigned char)name[plen]) || idx > 9999)
		return -EINVAL;
	return (int)idx;
}

static const struct sim_model *model_for_name(const char *name)
{
	const struct sim_model *best = NULL;
	unsigned int i;

	/* Longest prefix wins, so "sim_vnet" never shadows a longer name. */
	for (i = 0; sim_models[i] != NULL; i++) {
		const struct sim_model *m = sim_models[i];

		if (parse_index(name, m->prefix) < 0)
			continue;
		if (best == NULL || strlen(m->prefix) > strlen(best->prefix))
			best = m;
	}
	return best;
}

int sim_dev_index(const struct svio_device *dev)
{
	const struct sim_model *model = model_for_name(dev->name);

	return model != NULL ? parse_index(dev->name, model->prefix) : -EINVAL;
}

static int parse_dma_identity(struct svio_device *dev)
{
	uint64_t iommu = 0;
	bool ats = true, pasid = true, pri = true;
	const char *pri_arg = svio_dev_arg(dev, "pri");
	int rc;

	rc = svio_dev_arg_u64(dev, "iommu", &iommu);
	if (rc < 0)
		return rc;
	if (iommu >= SIM_IOMMU_MAX) {
		SVIO_DEV_LOG(ERR, "device '%s': iommu=%" PRIu64 " is out of range (0..%d)",
			     dev->name, iommu, SIM_IOMMU_MAX - 1);
		return -EINVAL;
	}
	rc = svio_dev_arg_bool(dev, "ats", &ats);
	if (rc == 0)
		rc = svio_dev_arg_bool(dev, "pasid", &pasid);
	if (rc == 0)
		rc = svio_dev_arg_bool(dev, "pri", &pri);
	if (rc < 0)
		return rc;
	/* PCIe: page requests are part of ATS. */
	if (!ats) {
		if (pri_arg != NULL && pri) {
			SVIO_DEV_LOG(ERR, "device '%s': pri=on needs ats=on", dev->name);
			return -EINVAL;
		}
		pri = false;
	}
	dev->dma.iommu_index = (unsigned int)iommu;
	dev->dma.sid = SIM_SID_BASE + SIM_SID_STEP * next_sid_slot++;
	dev->dma.ats = ats;
	dev->dma.pasid = pasid;
	dev->dma.pri = pri;
	return 0;
}

static int sim_add(const char *name, const char *args, struct svio_device **out)
{
	const struct sim_model *model = model_for_name(name);
	struct svio_device *dev;
	uint64_t numa;
	int rc;

	if (model == NULL) {
		char known[256] = "";
		unsigned int i;

		for (i = 0; sim_models[i] != NULL; i++) {
			strncat(known, i ? ", " : "", sizeof(known) - strlen(known) - 1);
			strncat(known, sim_models[i]->prefix, sizeof(known) - strlen(known) - 1);
			strncat(known, "N", sizeof(known) - strlen(known) - 1);
		}
		SVIO_DEV_LOG(ERR, "device '%s': not a built-in device (expected one of %s)", name,
			     known);
		return -EINVAL;
	}
	dev = svio_dev_alloc(name, args, model->kind, model->devargs,
			     model->dma ? sim_dma_devargs : sim_common_devargs, &rc);
	if (dev == NULL)
		return rc;
	numa = 0;
	rc = svio_dev_arg_u64(dev, "numa", &numa);
	if (rc < 0)
		goto out_free;
	if (numa >= RTE_MAX_NUMA_NODES) {
		SVIO_DEV_LOG(ERR, "device '%s': numa=%" PRIu64 " is out of range (0..%d)", name,
			     numa, RTE_MAX_NUMA_NODES - 1);
		rc = -EINVAL;
		goto out_free;
	}
	dev->numa_node = (int)numa;
	if (model->dma) {
		rc = parse_dma_identity(dev);
		if (rc < 0)
			goto out_free;
	}
	dev->reg_ops = model->reg_ops;
	rc = model->create(dev);
	if (rc < 0)
		goto out_free;
	*out = dev;
	return 0;

out_free:
	svio_dev_free(dev);
	return rc;
}

static void sim_release(struct svio_device *dev)
{
	const struct sim_model *model = model_for_name(dev->name);

	if (model != NULL && model->destroy != NULL)
		model->destroy(dev);
	svio_dev_free(dev);
}

/* Create the IOMMU instances that devices name but the command line did not. */
static int sim_scan_done(void)
{
	bool have_iommu_model = false;
	struct svio_device *dev;
	unsigned int i;

	for (i = 0; sim_models[i] != NULL; i++)
		have_iommu_model |= strcmp(sim_models[i]->prefix, SIM_IOMMU_PREFIX) == 0;

	for (dev = svio_dev_next(NULL); dev != NULL; dev = svio_dev_next(dev)) {
		char name[SVIO_DEV_NAME_MAX];
		const struct sim_model *model;
		int rc;

		if (dev->bus != &sim_bus)
			continue;
		model = model_for_name(dev->name);
		if (model == NULL || !model->dma)
			continue;
		if (!have_iommu_model)
			break; /* its DMA fails with -ENODEV */
		snprintf(name, sizeof(name), SIM_IOMMU_PREFIX "%u", dev->dma.iommu_index);
		if (svio_dev_find(name) != NULL)
			continue;
		rc = svio_dev_add(name, NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void sim_cleanup(void)
{
	next_sid_slot = 0;
}

struct svio_bus sim_bus = {
	.name = "sim",
	.claims = sim_claims,
	.add = sim_add,
	.release = sim_release,
	.scan_done = sim_scan_done,
	.cleanup = sim_cleanup,
	.vdev = true,
};
