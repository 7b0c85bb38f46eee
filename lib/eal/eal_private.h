/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to lib/eal; unit tests include it to reach the option parser. */
#ifndef SVIO_EAL_PRIVATE_H
#define SVIO_EAL_PRIVATE_H

#include <stddef.h>

#include <rte_log.h>

#include "svio_eal.h"

extern int svio_eal_logtype;
#define SVIO_EAL_LOG(level, fmt, ...)                                                              \
	rte_log(RTE_LOG_##level, svio_eal_logtype, "svio: " fmt "\n", ##__VA_ARGS__)

/**
 * The argument vector handed to rte_eal_init(), NULL-terminated. DPDK
 * permutes and overwrites argv's slots, so the strings are freed from @p owned.
 */
struct eal_argv {
	int argc;
	char **argv;
	char **owned;
};

int eal_argv_push(struct eal_argv *a, const char *s);
void eal_argv_free(struct eal_argv *a);

/**
 * Split argv into svio's options (validated into @p cfg) and DPDK's
 * (@p eal, with --no-pci added). Nothing is registered or started.
 * @return 0 and *consumed as rte_eal_init would return it, or a negative
 *         errno after logging one line that names the option.
 */
int svio_eal_parse(int argc, char **argv, struct svio_eal_config *cfg, struct eal_argv *eal,
		   int *consumed);

void svio_eal_config_free(struct svio_eal_config *cfg);

/** "DDDD:BB:DD.F" or "BB:DD.F" (hex) -> normalised "DDDD:BB:DD.F". 0 or -EINVAL. */
int svio_parse_pci_addr(const char *s, size_t len, char out[13]);

/** Does a built-in-device bus (not PCI: -a only) own the first @p len chars of @p name? */
bool svio_eal_bus_claims(const char *name, size_t len);

/**
 * After rte_eal_init() failed with hugepages in use (no --no-huge): write
 * into @p buf what is missing (none reserved, all in use, no hugetlbfs
 * mounted) and the ways out. @return false, @p buf untouched, when hugepages
 * look usable (hugepages.c).
 */
bool svio_eal_hugepage_hint(const struct eal_argv *eal, char *buf, size_t len);

/** Register the buses and drivers compiled into libsvio (idempotent). */
int svio_builtin_register(void);
void svio_builtin_unregister(void);

#endif /* SVIO_EAL_PRIVATE_H */
