/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio-hello: the smallest svio program. It starts svio, then has every
 * scratch device write a pattern into a fresh malloc'd buffer (shared virtual
 * addressing: the device uses the buffer's own address, and the pages reach
 * the IOMMU through page requests), reads it back through the device, checks
 * it, and prints the IOMMU counters.
 *
 *   svio-hello [EAL and svio options] -- [--pages N]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <svio_dev.h>
#include <svio_eal.h>
#include <svio_iommu.h>
#include <svio_scratch.h>

#define PAGE 4096u

static int run_device(struct svio_device *dev, struct svio_domain *dom, unsigned int pages,
		      uint8_t pattern)
{
	size_t len = (size_t)pages * PAGE;
	uint64_t sum = 0, iova = 0;
	uint8_t *buf;
	size_t i;
	int rc;

	buf = aligned_alloc(PAGE, len);
	if (buf == NULL)
		return -ENOMEM;
	memset(buf, 0, len);
	if (!svio_domain_sva(dom)) {
		/* Without SVA the buffer must be mapped to get a device address. */
		rc = svio_dma_map(dom, buf, len, SVIO_DMA_RW, &iova);
		if (rc < 0)
			goto out_free;
	} else {
		iova = (uintptr_t)buf;
	}
	rc = svio_scratch_dma(dev, iova, len, true, pattern, NULL);
	if (rc == 0)
		rc = svio_scratch_dma(dev, iova, len, false, 0, &sum);
	if (rc < 0) {
		fprintf(stderr, "%s: DMA failed: %s\n", dev->name, strerror(-rc));
		goto out_unmap;
	}
	for (i = 0; i < len; i++) {
		if (buf[i] != pattern) {
			fprintf(stderr, "%s: byte %zu is %#x, expected %#x\n", dev->name, i,
				buf[i], pattern);
			rc = -EIO;
			goto out_unmap;
		}
	}
	if (sum != (uint64_t)pattern * len) {
		fprintf(stderr, "%s: device read sum %" PRIu64 ", expected %" PRIu64 "\n",
			dev->name, sum, (uint64_t)pattern * len);
		rc = -EIO;
		goto out_unmap;
	}
	printf("%s: wrote and read back %zu bytes at %#" PRIx64 ": ok\n", dev->name, len, iova);
out_unmap:
	if (!svio_domain_sva(dom))
		svio_dma_unmap(dom, iova, len);
out_free:
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	struct svio_iommu_stats st;
	struct svio_device *dev = NULL;
	struct svio_domain *dom;
	unsigned int pages = 16, n = 0;
	int ret, rc = 0;

	ret = svio_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "svio_eal_init: %s\n", strerror(-ret));
		return 1;
	}
	argc -= ret;
	argv += ret;
	if (argc == 3 && strcmp(argv[1], "--pages") == 0) {
		pages = (unsigned int)strtoul(argv[2], NULL, 0);
	} else if (argc != 1) {
		fprintf(stderr, "usage: svio-hello [EAL and svio options] -- [--pages N]\n");
		rc = -EINVAL;
	}
	if (pages == 0 || pages > 256) {
		fprintf(stderr, "--pages: expected 1..256\n");
		rc = -EINVAL;
	}
	dom = svio_domain_default();
	while (rc == 0 && (dev = svio_dev_next(dev)) != NULL) {
		if (dev->kind != SVIO_DEV_KIND_SCRATCH)
			continue;
		rc = run_device(dev, dom, pages, (uint8_t)(0x5a + n++));
	}
	if (rc == 0 && n == 0) {
		fprintf(stderr, "no scratch device: add --vdev sim_scratch0\n");
		rc = -ENODEV;
	}
	if (rc == 0) {
		svio_iommu_sync(dom);
		svio_iommu_stats_get(dom, &st);
		printf("iommu: ");
		svio_iommu_stats_json(&st, stdout);
		printf("\n");
	}
	svio_eal_cleanup();
	return rc == 0 ? 0 : 1;
}
