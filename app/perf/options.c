/* SPDX-License-Identifier: BSD-3-Clause */
/* svio-perf: its own options, fio's names and meanings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "svio_dev.h"
#include "perf.h"

static const char *const rw_names[] = {
	[RW_READ] = "read",	      [RW_WRITE] = "write",   [RW_RANDREAD] = "randread",
	[RW_RANDWRITE] = "randwrite", [RW_RANDRW] = "randrw",
};

const char *perf_rw_name(enum perf_rw rw)
{
	return rw_names[rw];
}

void perf_usage(FILE *f)
{
	fprintf(f,
		"usage: svio-perf [EAL and svio options] -- [options]\n"
		"  --rw=read|write|randread|randwrite|randrw   pattern (default randread)\n"
		"  --rwmixread=PCT        randrw: percentage of reads (default 50)\n"
		"  --bs=SIZE              block size, a multiple of the LBA size (default 4k)\n"
		"  --iodepth=N            commands in flight per job (default 32)\n"
		"  --numjobs=N            jobs, one per lcore, the main lcore included (default "
		"1)\n"
		"  --runtime=SECONDS      how long to run (default 10)\n"
		"  --size=SIZE            bytes of each namespace to use (default: all)\n"
		"  --ns=all|ID[,ID...]    namespaces to drive on every controller (default\n"
		"                         all active ones the driver can drive)\n"
		"  --verify=crc32c        write checksummed blocks, check every read of them,\n"
		"                         then read back every block written (not timed)\n"
		"  --dma=sva|map-per-io   hand buffers straight to the device (SVA), or map\n"
		"                         each one before submission and unmap on completion\n"
		"  --status-interval=SEC  progress line period (default 1, 0: none)\n"
		"  --output-format=normal|json\n"
		"Every NVMe controller given is used; all jobs drive all its chosen namespaces.\n"
		"Exit status 0 only when every I/O succeeded, every verified block was\n"
		"intact and the IOMMU saw no stale use; 1 when one of those failed;\n"
		"2 when a signal cut the --verify read-back short (nothing else failed).\n");
}

static int bad(const char *opt, const char *val, const char *expect)
{
	fprintf(stderr, "svio-perf: %s=%s: expected %s\n", opt, val, expect);
	return -EINVAL;
}

static int parse_size(const char *opt, const char *val, uint64_t *out)
{
	char buf[64];
	size_t n = strlen(val);

	/* fio writes "4k" and "4KiB"; svio_parse_u64 takes K/M/G/T and KiB forms. */
	if (n == 0 || n >= sizeof(buf))
		return bad(opt, val, "a size such as 4k, 128k, 1m, 1g");
	memcpy(buf, val, n + 1);
	if (n > 1 && (buf[n - 1] == 'b' || buf[n - 1] == 'B') && buf[n - 2] != 'i')
		buf[n - 1] = '\0'; /* "4kb" */
	for (char *p = buf; *p; p++)
		if (*p == 'k' || *p == 'm' || *p == 'g' || *p == 't')
			*p = (char)(*p - 'a' + 'A');
	if (svio_parse_u64(buf, true, out) < 0)
		return bad(opt, val, "a size such as 4k, 128k, 1m, 1g");
	return 0;
}

static int parse_uint(const char *opt, const char *val, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (svio_parse_u64(val, false, out) < 0 || *out < lo || *out > hi) {
		char expect[96];

		snprintf(expect, sizeof(expect), "a whole number from %llu to %llu",
			 (unsigned long long)lo, (unsigned long long)hi);
		return bad(opt, val, expect);
	}
	return 0;
}

/* --ns=all, or a comma-separated list of namespace ids (as SPDK perf's ns:N, fio's per-namespace
 * jobs). */
static int parse_ns(const char *val, struct perf_opts *o)
{
	char buf[256], *save = NULL, *tok;

	o->n_ns = 0;
	if (strcmp(val, "all") == 0)
		return 0;
	if (strlen(val) >= sizeof(buf) || val[0] == '\0')
		return bad("--ns", val, "all or namespace ids such as 1 or 1,2");
	memcpy(buf, val, strlen(val) + 1);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		uint64_t id;

		if (svio_parse_u64(tok, false, &id) < 0 || id == 0 || id >= 0xffffffffull)
			return bad("--ns", val, "all or namespace ids (1 and up) such as 1 or 1,2");
		for (unsigned int k = 0; k < o->n_ns; k++)
			if (o->ns[k] == id)
				return bad("--ns", val, "each namespace id once");
		if (o->n_ns == PERF_MAX_TARGETS)
			return bad("--ns", val, "at most 16 namespace ids");
		o->ns[o->n_ns++] = (uint32_t)id;
	}
	if (o->n_ns == 0)
		return bad("--ns", val, "all or namespace ids such as 1 or 1,2");
	return 0;
}

static int parse_seconds(const char *opt, const char *val, double lo, double *out)
{
	char *end;
	double v = strtod(val, &end);

	if (end == val || *end != '\0' || !(v >= lo) || v > 86400 * 7)
		return bad(opt, val, "a number of seconds (such as 10 or 0.5)");
	*out = v;
	return 0;
}

int perf_parse(int argc, char **argv, struct perf_opts *o)
{
	uint64_t v;
	int i, rc = 0;

	*o = (struct perf_opts){
		.rw = RW_RANDREAD,
		.rwmixread = 50,
		.bs = 4096,
		.iodepth = 32,
		.numjobs = 1,
		.runtime = 10,
		.status_interval = 1,
	};
	for (i = 1; i < argc && rc == 0; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '=');
		char name[32];
		const char *val;
		size_t len;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			perf_usage(stdout);
			return PERF_HELP;
		}
		if (strncmp(arg, "--", 2) != 0 || eq == NULL ||
		    (size_t)(eq - arg) >= sizeof(name)) {
			fprintf(stderr, "svio-perf: '%s': options are --name=value (see --help)\n",
				arg);
			return -EINVAL;
		}
		len = (size_t)(eq - arg - 2);
		memcpy(name, arg + 2, len);
		name[len] = '\0';
		val = eq + 1;
		if (strcmp(name, "rw") == 0 || strcmp(name, "readwrite") == 0) {
			unsigned int k;

			for (k = 0; k < sizeof(rw_names) / sizeof(rw_names[0]); k++)
				if (strcmp(val, rw_names[k]) == 0)
					break;
			if (k == sizeof(rw_names) / sizeof(rw_names[0]))
				rc = bad("--rw", val, "read, write, randread, randwrite or randrw");
			o->rw = (enum perf_rw)k;
		} else if (strcmp(name, "rwmixread") == 0) {
			rc = parse_uint("--rwmixread", val, 0, 100, &v);
			o->rwmixread = (unsigned int)v;
		} else if (strcmp(name, "bs") == 0) {
			rc = parse_size("--bs", val, &v);
			if (rc == 0 && (v < 512 || v > (1u << 20) || v % 512 != 0))
				rc = bad("--bs", val, "a multiple of 512 from 512 to 1m");
			o->bs = (uint32_t)v;
		} else if (strcmp(name, "iodepth") == 0) {
			rc = parse_uint("--iodepth", val, 1, 4096, &v);
			o->iodepth = (uint32_t)v;
		} else if (strcmp(name, "numjobs") == 0) {
			rc = parse_uint("--numjobs", val, 1, PERF_MAX_JOBS, &v);
			o->numjobs = (unsigned int)v;
		} else if (strcmp(name, "runtime") == 0) {
			rc = parse_seconds("--runtime", val, 0.001, &o->runtime);
		} else if (strcmp(name, "status-interval") == 0) {
			rc = parse_seconds("--status-interval", val, 0, &o->status_interval);
		} else if (strcmp(name, "ns") == 0) {
			rc = parse_ns(val, o);
		} else if (strcmp(name, "size") == 0) {
			rc = parse_size("--size", val, &o->size);
		} else if (strcmp(name, "verify") == 0) {
			if (strcmp(val, "crc32c") == 0)
				o->verify = true;
			else if (strcmp(val, "0") == 0 || strcmp(val, "none") == 0)
				o->verify = false;
			else
				rc = bad("--verify", val, "crc32c or none");
		} else if (strcmp(name, "dma") == 0) {
			if (strcmp(val, "sva") == 0)
				o->dma = DMA_SVA;
			else if (strcmp(val, "map-per-io") == 0)
				o->dma = DMA_MAP_PER_IO;
			else
				rc = bad("--dma", val, "sva or map-per-io");
			o->dma_given = true;
		} else if (strcmp(name, "output-format") == 0) {
			if (strcmp(val, "json") == 0)
				o->json = true;
			else if (strcmp(val, "normal") == 0)
				o->json = false;
			else
				rc = bad("--output-format", val, "normal or json");
		} else {
			fprintf(stderr, "svio-perf: unknown option --%s (see --help)\n", name);
			rc = -EINVAL;
		}
	}
	return rc;
}
