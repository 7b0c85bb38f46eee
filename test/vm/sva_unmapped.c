/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sva_unmapped EAL-ARGS: on a real NVMe through iommufd with SVA on, a pointer
 * the domain does not map must be refused, not sent. iommufd cannot fault
 * pages in and QEMU's controller completes a command on an untranslated
 * address with success without moving the data.
 *
 * 1. A pattern written from DPDK memory reads back the same.
 * 2. A write and a read from malloc'ed memory each return -EFAULT with one
 *    log line naming the buffer, and the block still holds the pattern
 *    (read back from DPDK memory).
 * Prints "ok"/"FAIL" lines; exit 0 when everything held, 1 otherwise.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>
#include <rte_malloc.h>

#include "svio_eal.h"
#include "svio_iommu.h"
#include "svio_nvme.h"

#define LBA	8
#define REFUSAL "is not mapped for the device"

struct wait {
	bool done;
	int rc;
};

static void wait_cb(void *arg, const struct svio_nvme_cpl *cpl)
{
	struct wait *w = arg;

	w->rc = cpl->rc;
	w->done = true;
}

/* Submit, then poll to completion. @return the submit error or cpl.rc. */
static int rw_sync(struct svio_nvme_qpair *qp, bool write, uint32_t nsid, void *buf, uint32_t nlb)
{
	struct wait w = { 0 };
	int rc = write ? svio_nvme_write(qp, nsid, buf, LBA, nlb, wait_cb, &w)
		       : svio_nvme_read(qp, nsid, buf, LBA, nlb, wait_cb, &w);

	if (rc < 0)
		return rc;
	while (!w.done) {
		rc = svio_nvme_qpair_poll(qp, 0);
		if (rc < 0 && rc != -EAGAIN)
			return rc;
	}
	return w.rc;
}

static int failures;

static void expect(bool ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok)
		failures++;
}

/* Refusal lines logged since the last call (the log goes to @p log as well). */
static int refusals(FILE *log, char **text, size_t *len, size_t *seen)
{
	int n = 0;

	fflush(log);
	for (const char *p = *text + *seen; (p = strstr(p, REFUSAL)) != NULL; p++)
		n++;
	*seen = *len;
	return n;
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void run(struct svio_nvme_qpair *qp, uint32_t nsid, size_t bytes, uint32_t nlb, FILE *log,
		char **text, size_t *len)
{
	uint8_t *pat = rte_malloc(NULL, bytes, 4096), *back = rte_malloc(NULL, bytes, 4096);
	uint8_t *heap = malloc(bytes);
	size_t seen = 0;
	int rc;

	if (pat == NULL || back == NULL || heap == NULL) {
		expect(false, "buffers allocated");
		goto out;
	}
	fill(pat, bytes, 0x5eed);
	rc = rw_sync(qp, true, nsid, pat, nlb);
	expect(rc == 0, "a write from DPDK memory succeeds");
	memset(back, 0, bytes);
	rc = rw_sync(qp, false, nsid, back, nlb);
	expect(rc == 0 && memcmp(back, pat, bytes) == 0,
	       "... and reads back the same from DPDK memory");
	refusals(log, text, len, &seen);

	fill(heap, bytes, 0xbad);
	rc = rw_sync(qp, true, nsid, heap, nlb);
	printf("     malloc'ed write: %d (%s)\n", rc, strerror(-rc));
	expect(rc == -EFAULT, "a write from malloc'ed memory returns -EFAULT");
	expect(refusals(log, text, len, &seen) == 1, "... with one log line naming the buffer");

	memset(heap, 0xee, bytes);
	rc = rw_sync(qp, false, nsid, heap, nlb);
	printf("     malloc'ed read: %d (%s)\n", rc, strerror(-rc));
	expect(rc == -EFAULT, "a read into malloc'ed memory returns -EFAULT");
	expect(refusals(log, text, len, &seen) == 1, "... with one log line naming the buffer");

	memset(back, 0, bytes);
	rc = rw_sync(qp, false, nsid, back, nlb);
	expect(rc == 0 && memcmp(back, pat, bytes) == 0,
	       "the block still holds the pattern (read back from DPDK memory)");
out:
	free(heap);
	rte_free(back);
	rte_free(pat);
}

int main(int argc, char **argv)
{
	struct svio_nvme_qpair *qp = NULL;
	struct svio_nvme_ctrlr *c;
	struct svio_nvme_ns_info ns;
	char *text = NULL;
	size_t len = 0;
	uint32_t nsid;
	FILE *log;
	int rc;

	if (svio_eal_init(argc, argv) < 0)
		return 1;
	/* Keep the log to count refusals; stderr gets nothing from here on. */
	log = open_memstream(&text, &len);
	if (log == NULL || rte_openlog_stream(log) < 0) {
		fprintf(stderr, "sva_unmapped: cannot capture the log\n");
		return 1;
	}
	c = svio_nvme_ctrlr_next(NULL);
	nsid = c != NULL ? svio_nvme_ns_next(c, 0) : 0;
	expect(nsid != 0 && svio_nvme_ns_info_get(c, nsid, &ns) == 0,
	       "a controller with a namespace");
	expect(svio_domain_sva(svio_domain_default()), "the domain has SVA on");
	if (failures == 0) {
		rc = svio_nvme_qpair_alloc(c, 4, &qp);
		expect(rc == 0, "a queue pair");
	}
	if (failures == 0) {
		uint32_t nlb = (4096 + ns.block_size - 1) / ns.block_size;

		run(qp, nsid, (size_t)nlb * ns.block_size, nlb, log, &text, &len);
		svio_nvme_qpair_free(qp);
	}
	rte_openlog_stream(NULL);
	fclose(log);
	fputs(text, stderr);
	free(text);
	svio_eal_cleanup();
	printf("%s\n", failures == 0 ? "PASS" : "FAIL");
	return failures == 0 ? 0 : 1;
}
