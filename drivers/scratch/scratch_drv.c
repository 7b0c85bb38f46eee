/* SPDX-License-Identifier: BSD-3-Clause */
/* The scratch device driver: proves the probe path and drives DMA for tests. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_log.h>

#include "svio_dev.h"
#include "svio_iommu.h"
#include "svio_scratch.h"
#include "scratch_hw.h"

RTE_LOG_REGISTER_SUFFIX(scratch_logtype, scratch, INFO);
#define SCRATCH_LOG(level, fmt, ...)                                                               \
	rte_log(RTE_LOG_##level, scratch_logtype, "scratch: " fmt "\n", ##__VA_ARGS__)

/* Listed in svio_builtins.h; defined at the end. */
struct svio_driver scratch_driver;

static int scratch_probe(struct svio_driver *drv, struct svio_device *dev)
{
	struct svio_domain *dom = svio_domain_default();
	uint64_t id, version;
	int rc;

	(void)drv;
	rc = svio_reg_read64(dev, 0, SCRATCH_REG_ID, &id);
	if (rc == 0)
		rc = svio_reg_read64(dev, 0, SCRATCH_REG_VERSION, &version);
	if (rc < 0)
		return rc;
	if (id != SCRATCH_ID || version != SCRATCH_VERSION) {
		SCRATCH_LOG(ERR, "%s: id %#" PRIx64 " version %" PRIu64 " is not a scratch device",
			    dev->name, id, version);
		return -ENODEV;
	}
	if (dom != NULL) {
		rc = svio_domain_attach(dom, dev);
		if (rc < 0) {
			SCRATCH_LOG(ERR, "%s: cannot attach to the process domain: %s", dev->name,
				    strerror(-rc));
			return rc;
		}
		dev->driver_priv = dom;
	}
	return 0;
}

static int scratch_remove(struct svio_device *dev)
{
	struct svio_domain *dom = dev->driver_priv;

	if (dom != NULL)
		return svio_domain_detach(dom, dev);
	return 0;
}

int svio_scratch_dma(struct svio_device *dev, uint64_t iova, size_t len, bool to_mem,
		     uint8_t pattern, uint64_t *sum)
{
	uint64_t status, ctrl = SCRATCH_CTRL_GO | (to_mem ? SCRATCH_CTRL_TO_MEM : 0);
	int rc;

	if (dev->driver != &scratch_driver)
		return -ENODEV;
	if (len == 0 || len > SCRATCH_DMA_MAX_LEN)
		return -EINVAL;
	rc = svio_reg_write64(dev, 0, SCRATCH_REG_DMA_ADDR, iova);
	if (rc == 0)
		rc = svio_reg_write64(dev, 0, SCRATCH_REG_DMA_LEN, len);
	if (rc == 0)
		rc = svio_reg_write64(dev, 0, SCRATCH_REG_DMA_PATTERN, pattern);
	if (rc == 0)
		rc = svio_reg_write64(dev, 0, SCRATCH_REG_DMA_CTRL, ctrl);
	if (rc == 0)
		rc = svio_reg_read64(dev, 0, SCRATCH_REG_DMA_STATUS, &status);
	if (rc < 0)
		return rc;
	if (status != 0)
		return (int)(int64_t)status;
	if (sum != NULL)
		return svio_reg_read64(dev, 0, SCRATCH_REG_DMA_RESULT, sum);
	return 0;
}

struct svio_driver scratch_driver = {
	.name = "scratch",
	.kind = SVIO_DEV_KIND_SCRATCH,
	.name_prefix = "sim_scratch",
	.probe = scratch_probe,
	.remove = scratch_remove,
};
