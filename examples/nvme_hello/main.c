/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nvme-hello: the shortest svio NVMe program. Write one block from an
 * ordinary malloc'd buffer (with SVA the device reads process memory
 * directly; with --sva=off the driver maps it for the command), read it
 * back into another, compare.  Under SVA on an IOMMU that cannot fault pages
 * in (iommufd without PRI) a malloc'd buffer is refused with -EFAULT: use
 * rte_malloc() memory there, or --sva=off.
 *
 *   nvme-hello --no-huge -m 64 --vdev sim_nvme0,size=64M
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svio_eal.h"
#include "svio_nvme.h"

static void done(void *arg, const struct svio_nvme_cpl *cpl)
{
	*(int *)arg = cpl->rc == 0 ? 1 : -1;
}

/* Submit has happened; poll until the callback ran. */
static int wait_for(struct svio_nvme_qpair *qp, int *flag)
{
	while (*flag == 0)
		if (svio_nvme_qpair_poll(qp, 0) < 0)
			return -1;
	return *flag > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct svio_nvme_ctrlr *ctrlr;
	struct svio_nvme_ns_info ns;
	struct svio_nvme_qpair *qp;
	char *out, *in;
	int wrote = 0, read = 0, rc = 1;

	if (svio_eal_init(argc, argv) < 0)
		return 1;
	ctrlr = svio_nvme_ctrlr_next(NULL);
	if (ctrlr == NULL) {
		fprintf(stderr, "no NVMe controller: add --vdev sim_nvme0\n");
		goto out_cleanup;
	}
	if (svio_nvme_ns_info_get(ctrlr, svio_nvme_ns_next(ctrlr, 0), &ns) < 0 ||
	    svio_nvme_qpair_alloc(ctrlr, 0, &qp) < 0)
		goto out_cleanup;

	/* block_size: a block's data, plus its metadata on an extended-LBA namespace. */
	out = calloc(1, ns.block_size);
	in = calloc(1, ns.block_size);
	if (out == NULL || in == NULL)
		goto out_free;
	snprintf(out, ns.lba_size, "Hello, NVMe namespace %u!", ns.nsid);

	if (svio_nvme_write(qp, ns.nsid, out, 0, 1, done, &wrote) < 0 || wait_for(qp, &wrote) < 0 ||
	    svio_nvme_read(qp, ns.nsid, in, 0, 1, done, &read) < 0 || wait_for(qp, &read) < 0) {
		fprintf(stderr, "I/O failed\n");
		goto out_free;
	}
	if (memcmp(in, out, ns.block_size) == 0) {
		printf("read back: \"%s\"\n", in);
		rc = 0;
	} else {
		fprintf(stderr, "mismatch: the block read back differs\n");
	}
out_free:
	free(out);
	free(in);
	svio_nvme_qpair_free(qp);
out_cleanup:
	svio_eal_cleanup();
	return rc;
}
