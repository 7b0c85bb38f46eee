/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "svio_fio_args.h"

/* getopt names it in its messages: the fio option the words came from. */
#define PROG_NAME "svio_eal"

int svio_fio_args_split(const char *s, char *buf, size_t buflen, char **argv, int *argc,
			const char **why, const char **stray)
{
	size_t need = sizeof(PROG_NAME) + (s != NULL ? strlen(s) + 1 : 0);
	char *p, *save = NULL;
	int n = 0;

	*stray = NULL;
	if (s == NULL || strspn(s, " \t") == strlen(s)) {
		*why = "svio_eal= is empty: give svio's and DPDK's options, e.g. "
		       "svio_eal=--no-huge -m 512 --vdev sim_nvme0,size=1G";
		return -EINVAL;
	}
	if (buflen < need) {
		*why = "svio_eal= is too long";
		return -EINVAL;
	}
	memcpy(buf, PROG_NAME, sizeof(PROG_NAME));
	argv[n++] = buf;
	p = buf + sizeof(PROG_NAME);
	memcpy(p, s, strlen(s) + 1);
	for (char *w = strtok_r(p, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (n == SVIO_FIO_MAX_ARGS) {
			*why = "svio_eal= has too many words (at most 63)";
			return -EINVAL;
		}
		/* A word that is neither an option nor an option's value is a typo. */
		if (w[0] != '-' && (n == 1 || argv[n - 1][0] != '-' || strchr(argv[n - 1], '=') != NULL)) {
			*why = "svio_eal= has a word that is neither an option nor an option's value";
			*stray = w;
			return -EINVAL;
		}
		argv[n++] = w;
	}
	argv[n] = NULL;
	*argc = n;
	return 0;
}

int svio_fio_args_dma(const char *s, enum svio_fio_dma *dma, const char **why)
{
	if (s == NULL || *s == '\0')
		*dma = SVIO_FIO_DMA_DEFAULT;
	else if (strcmp(s, "sva") == 0)
		*dma = SVIO_FIO_DMA_SVA;
	else if (strcmp(s, "map-per-io") == 0)
		*dma = SVIO_FIO_DMA_MAP_PER_IO;
	else {
		*why = "dma= takes sva or map-per-io";
		return -EINVAL;
	}
	return 0;
}

int svio_fio_args_target(const char *filename, char *ctrlr, size_t len, uint32_t *nsid,
			 const char **why)
{
	const char *slash = strrchr(filename, '/');
	size_t n = slash != NULL ? (size_t)(slash - filename) : strlen(filename);

	if (n == 0) {
		*why = "filename= must name an svio NVMe device: CTRLR or CTRLR/nsN "
		       "(e.g. sim_nvme0/ns1)";
		return -EINVAL;
	}
	if (n >= len) {
		*why = "filename= names a device longer than any svio device name";
		return -EINVAL;
	}
	*nsid = 0;
	if (slash != NULL) {
		const char *num = slash + 1;
		char *end;
		unsigned long long v;

		if (strncmp(num, "ns", 2) != 0 || num[2] < '0' || num[2] > '9') {
			*why = "filename= takes CTRLR/nsN with N a namespace id (e.g. sim_nvme0/ns1)";
			return -EINVAL;
		}
		errno = 0;
		v = strtoull(num + 2, &end, 10);
		if (errno != 0 || *end != '\0' || v == 0 || v >= 0xffffffffull) {
			*why = "filename= namespace id N in CTRLR/nsN must be 1..4294967294";
			return -EINVAL;
		}
		*nsid = (uint32_t)v;
	}
	memcpy(ctrlr, filename, n);
	ctrlr[n] = '\0';
	return 0;
}
