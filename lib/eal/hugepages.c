/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Why rte_eal_init() failed for want of hugepages. DPDK says only "Cannot
 * get hugepage information" (rte_errno EACCES, "Permission denied") when no
 * hugepage is free or no hugetlbfs is mounted where it looks; a newcomer
 * needs to hear what is missing and both ways out.
 */
#include <glob.h>
#include <mntent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eal_private.h"

#define HUGEPAGES_SYSFS "/sys/kernel/mm/hugepages/hugepages-*/free_hugepages"
#define NO_HUGE_HINT	"or run without hugepages: --no-huge -m 512"

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Free pages of every hugepage size; -1 when the kernel shows none (no hugetlb support). */
static long free_hugepages(void)
{
	long sum = -1, v;
	glob_t g;
	size_t i;

	if (glob(HUGEPAGES_SYSFS, 0, NULL, &g) != 0)
		return -1;
	for (i = 0; i < g.gl_pathc; i++) {
		v = read_long(g.gl_pathv[i]);
		if (v >= 0)
			sum = (sum < 0 ? 0 : sum) + v;
	}
	globfree(&g);
	return sum;
}

/* Is a hugetlbfs mounted (at @p dir, when given)? */
static bool hugetlbfs_mounted(const char *dir)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *e;
	bool found = false;

	if (f == NULL)
		return true; /* cannot tell: say nothing about mounts */
	while (!found && (e = getmntent(f)) != NULL)
		found = strcmp(e->mnt_type, "hugetlbfs") == 0 &&
			(dir == NULL || strcmp(e->mnt_dir, dir) == 0);
	endmntent(f);
	return found;
}

/* The value of DPDK option @p opt ("--huge-dir DIR" or "--huge-dir=DIR"), or NULL. */
static const char *option_value(const struct eal_argv *eal, const char *opt)
{
	size_t len = strlen(opt);
	int i;

	for (i = 0; i < eal->argc; i++) {
		const char *a = eal->owned[i];

		if (strncmp(a, opt, len) != 0)
			continue;
		if (a[len] == '=')
			return a + len + 1;
		if (a[len] == '\0' && i + 1 < eal->argc)
			return eal->owned[i + 1];
	}
	return NULL;
}

static bool has_option(const struct eal_argv *eal, const char *opt)
{
	int i;

	for (i = 0; i < eal->argc; i++) {
		if (strcmp(eal->owned[i], opt) == 0)
			return true;
	}
	return false;
}

bool svio_eal_hugepage_hint(const struct eal_argv *eal, char *buf, size_t len)
{
	const char *dir = option_value(eal, "--huge-dir");
	long free_pages, reserved;

	if (has_option(eal, "--no-huge"))
		return false;
	free_pages = free_hugepages();
	reserved = read_long("/proc/sys/vm/nr_hugepages");
	if (free_pages < 0) {
		snprintf(buf, len,
			 "this kernel offers no hugepages (no %s): run without them: "
			 "--no-huge -m 512",
			 HUGEPAGES_SYSFS);
	} else if (free_pages == 0 && reserved > 0) {
		snprintf(buf, len,
			 "no hugepage is free: all %ld reserved are in use (another DPDK "
			 "process?): reserve more, e.g. as root 'echo %ld > "
			 "/proc/sys/vm/nr_hugepages', " NO_HUGE_HINT,
			 reserved, reserved + 512);
	} else if (free_pages == 0) {
		snprintf(buf, len,
			 "no hugepages are reserved (/proc/sys/vm/nr_hugepages is 0): reserve "
			 "some as root, e.g. 'echo 512 > /proc/sys/vm/nr_hugepages' with a "
			 "hugetlbfs mounted ('mount -t hugetlbfs nodev "
			 "/dev/hugepages'), " NO_HUGE_HINT);
	} else if (!hugetlbfs_mounted(dir)) {
		snprintf(buf, len,
			 "%ld hugepages are free but no hugetlbfs is mounted%s%s: mount one as "
			 "root, e.g. 'mount -t hugetlbfs nodev %s', " NO_HUGE_HINT,
			 free_pages, dir != NULL ? " at --huge-dir " : "", dir != NULL ? dir : "",
			 dir != NULL ? dir : "/dev/hugepages");
	} else {
		return false;
	}
	return true;
}
