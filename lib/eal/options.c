/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio's command-line options: taken out of argv and validated before DPDK
 * starts, so a bad option leaves nothing behind.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_log.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "eal_private.h"

enum opt_id {
	OPT_ALLOW,
	OPT_BLOCK,
	OPT_VDEV,
	OPT_IOMMU,
	OPT_SVA,
	OPT_FLUSH,
	OPT_FLUSH_BATCH,
	OPT_FLUSH_TIMEOUT,
	OPT_HELP,
	OPT_COUNT,
};

struct opt_def {
	enum opt_id id;
	const char *lng;    /**< long name without "--" */
	char shrt;          /**< short letter or 0 */
	bool has_arg;
	const char *expect; /**< what the value looks like, for messages */
	const char *help;
};

#define FLUSH_BATCH_MAX   32768u
#define FLUSH_TIMEOUT_MAX 10000000u

static const struct opt_def opt_defs[] = {
	{ OPT_ALLOW, "allow", 'a', true, "DDDD:BB:DD.F[,key=val...]",
	  "use this PCI device (bound to vfio-pci)" },
	{ OPT_BLOCK, "block", 'b', true, "DDDD:BB:DD.F", "never touch this PCI device" },
	{ OPT_VDEV, "vdev", 0, true, "NAME[,key=val...]",
	  "add a built-in device, e.g. sim_nvme0,size=1G or sim_vnet0,wire=pair:sim_vnet1" },
	{ OPT_IOMMU, "iommu", 0, true, "auto|sim|iommufd",
	  "IOMMU backend (auto: iommufd for real devices, else the built-in model)" },
	{ OPT_SVA, "sva", 0, true, "on|off", "device addresses are process addresses (default on)" },
	{ OPT_FLUSH, "iommu-flush", 0, true, "strict|lazy|naive",
	  "invalidation policy (default strict; naive is a benchmark baseline)" },
	{ OPT_FLUSH_BATCH, "iommu-flush-batch", 0, true, "N (1..32768)",
	  "lazy: flush once N unmaps are queued (default 256)" },
	{ OPT_FLUSH_TIMEOUT, "iommu-flush-timeout", 0, true, "USEC (1..10000000)",
	  "lazy: flush unmaps queued longer than USEC (default 10000)" },
	{ OPT_HELP, "help", 'h', false, NULL, "show this help, then DPDK's EAL options" },
};

void svio_eal_usage(FILE *f)
{
	unsigned int i;

	fprintf(f, "svio options:\n");
	for (i = 0; i < RTE_DIM(opt_defs); i++) {
		const struct opt_def *d = &opt_defs[i];
		char left[64];

		if (d->shrt)
			snprintf(left, sizeof(left), "-%c, --%s %s", d->shrt, d->lng,
				 d->expect ? d->expect : "");
		else
			snprintf(left, sizeof(left), "    --%s %s", d->lng, d->expect);
		fprintf(f, "  %-46s %s\n", left, d->help);
	}
	fprintf(f, "Other options go to DPDK's EAL (--no-pci is added: svio owns PCI devices).\n");
}

static const struct opt_def *find_long(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(opt_defs); i++) {
		if (strlen(opt_defs[i].lng) == len && strncmp(opt_defs[i].lng, name, len) == 0)
			return &opt_defs[i];
	}
	return NULL;
}

static const struct opt_def *find_short(char c)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(opt_defs); i++) {
		if (opt_defs[i].shrt == c)
			return &opt_defs[i];
	}
	return NULL;
}

/* Options that look like svio's but are not: caught here rather than by DPDK. */
static bool looks_like_svio(const char *name, size_t len)
{
	return (len >= 5 && strncmp(name, "iommu", 5) == 0) ||
	       (len >= 3 && strncmp(name, "sva", 3) == 0);
}

static int bad_value(const struct opt_def *d, const char *val, const char *why)
{
	SVIO_EAL_LOG(ERR, "--%s %s: %s (expected %s)", d->lng, val, why, d->expect);
	return -EINVAL;
}

/*
 * Check and normalise a PCI address: DDDD:BB:DD.F or BB:DD.F, hex.
 * Writes "DDDD:BB:DD.F" into @p out (13 bytes).
 */
int svio_parse_pci_addr(const char *s, size_t len, char out[13])
{
	unsigned int parts[4] = { 0 }, n = 0, digits = 0;
	static const unsigned int max[4] = { 0xffff, 0xff, 0x1f, 0x7 };
	static const char sep_full[3] = { ':', ':', '.' };
	unsigned int i, first = 0;
	size_t k;

	/* Count the fields to know whether the domain was given. */
	for (k = 0; k < len; k++) {
		if (s[k] == ':' || s[k] == '.')
			n++;
	}
	if (n != 2 && n != 3)
		return -EINVAL;
	if (n == 2)
		first = 1; /* no domain: BB:DD.F */
	i = first;
	for (k = 0; k < len; k++) {
		char c = s[k];

		if (isxdigit((unsigned char)c)) {
			if (++digits > 4)
				return -EINVAL;
			parts[i] = parts[i] * 16 +
				   (unsigned int)(isdigit((unsigned char)c) ? c - '0'
									  : tolower(c) - 'a' + 10);
			continue;
		}
		if (i >= 3 || c != sep_full[i] || digits == 0)
			return -EINVAL;
		i++;
		digits = 0;
	}
	if (i != 3 || digits == 0)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		if (parts[i] > max[i])
			return -EINVAL;
	}
	snprintf(out, 13, "%04x:%02x:%02x.%x", parts[0], parts[1], parts[2], parts[3]);
	return 0;
}

static int push(char ***list, unsigned int *n, const char *s)
{
	char **l = realloc(*list, sizeof(*l) * (*n + 1));

	if (l == NULL)
		return -ENOMEM;
	*list = l;
	l[*n] = strdup(s);
	if (l[*n] == NULL)
		return -ENOMEM;
	(*n)++;
	return 0;
}

static size_t name_len(const char *devarg)
{
	const char *comma = strchr(devarg, ',');

	return comma ? (size_t)(comma - devarg) : strlen(devarg);
}

/* Is a device of this name already listed in @p list? */
static bool listed(char *const *list, unsigned int n, const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (name_len(list[i]) == len && strncmp(list[i], name, len) == 0)
			return true;
	}
	return false;
}

static int add_pci(struct svio_eal_config *cfg, const struct opt_def *d, const char *val)
{
	size_t len = name_len(val);
	char addr[13], *full;
	int rc;

	if (svio_parse_pci_addr(val, len, addr) < 0)
		return bad_value(d, val, "not a PCI address");
	if (d->id == OPT_BLOCK && val[len] != '\0')
		return bad_value(d, val, "a blocked device takes no arguments");
	if (listed(cfg->allow, cfg->n_allow, addr, 12) ||
	    listed(cfg->block, cfg->n_block, addr, 12)) {
		SVIO_EAL_LOG(ERR, "--%s %s: device %s is already named by -a or -b", d->lng, val,
			     addr);
		return -EINVAL;
	}
	full = malloc(strlen(addr) + strlen(val + len) + 1);
	if (full == NULL)
		return -ENOMEM;
	strcpy(full, addr);
	strcat(full, val + len);
	if (d->id == OPT_ALLOW)
		rc = push(&cfg->allow, &cfg->n_allow, full);
	else
		rc = push(&cfg->block, &cfg->n_block, full);
	free(full);
	return rc;
}

static int parse_uint(const struct opt_def *d, const char *val, uint64_t min, uint64_t max,
		      uint64_t *out)
{
	int rc = svio_parse_u64(val, false, out);

	if (rc == -ERANGE || (rc == 0 && (*out < min || *out > max)))
		return bad_value(d, val, "out of range");
	if (rc < 0)
		return bad_value(d, val, "not a number");
	return 0;
}

static int apply(struct svio_eal_config *cfg, const struct opt_def *d, const char *val,
		 struct eal_argv *eal)
{
	char addr[13];
	uint64_t v;
	size_t len;
	int rc;

	switch (d->id) {
	case OPT_ALLOW:
	case OPT_BLOCK:
		return add_pci(cfg, d, val);
	case OPT_VDEV:
		len = name_len(val);
		if (len == 0)
			return bad_value(d, val, "no device name");
		if (svio_parse_pci_addr(val, len, addr) == 0)
			return bad_value(d, val, "a PCI address: name PCI devices with -a");
		if (!svio_eal_bus_claims(val, len)) {
			/* Not ours: DPDK's own virtual device (net_null0, ...). */
			rc = eal_argv_push(eal, "--vdev");
			return rc < 0 ? rc : eal_argv_push(eal, val);
		}
		if (listed(cfg->vdev, cfg->n_vdev, val, len)) {
			SVIO_EAL_LOG(ERR, "--vdev %s: device %.*s is named twice", val, (int)len,
				     val);
			return -EINVAL;
		}
		return push(&cfg->vdev, &cfg->n_vdev, val);
	case OPT_IOMMU:
		if (strcmp(val, "auto") == 0)
			cfg->iommu = SVIO_IOMMU_AUTO;
		else if (strcmp(val, "sim") == 0)
			cfg->iommu = SVIO_IOMMU_SIM;
		else if (strcmp(val, "iommufd") == 0)
			cfg->iommu = SVIO_IOMMU_IOMMUFD;
		else
			return bad_value(d, val, "unknown backend");
		return 0;
	case OPT_SVA:
		if (strcmp(val, "on") == 0)
			cfg->domain.sva = true;
		else if (strcmp(val, "off") == 0)
			cfg->domain.sva = false;
		else
			return bad_value(d, val, "not on or off");
		return 0;
	case OPT_FLUSH:
		if (svio_flush_policy_parse(val, &cfg->domain.policy) < 0)
			return bad_value(d, val, "unknown policy");
		return 0;
	case OPT_FLUSH_BATCH:
		rc = parse_uint(d, val, 1, FLUSH_BATCH_MAX, &v);
		if (rc == 0)
			cfg->domain.flush_batch = (unsigned int)v;
		return rc;
	case OPT_FLUSH_TIMEOUT:
		rc = parse_uint(d, val, 1, FLUSH_TIMEOUT_MAX, &v);
		if (rc == 0)
			cfg->domain.flush_timeout_us = v;
		return rc;
	case OPT_HELP:
		cfg->help = true;
		return eal_argv_push(eal, "--help");
	case OPT_COUNT:
		break;
	}
	return -EINVAL;
}

void svio_eal_config_free(struct svio_eal_config *cfg)
{
	unsigned int i;

	for (i = 0; i < cfg->n_allow; i++)
		free(cfg->allow[i]);
	for (i = 0; i < cfg->n_block; i++)
		free(cfg->block[i]);
	for (i = 0; i < cfg->n_vdev; i++)
		free(cfg->vdev[i]);
	free(cfg->allow);
	free(cfg->block);
	free(cfg->vdev);
	memset(cfg, 0, sizeof(*cfg));
}

int eal_argv_push(struct eal_argv *a, const char *s)
{
	char **v = realloc(a->argv, sizeof(*v) * (a->argc + 2));
	char **o;

	if (v == NULL)
		return -ENOMEM;
	a->argv = v;
	o = realloc(a->owned, sizeof(*o) * (a->argc + 1));
	if (o == NULL)
		return -ENOMEM;
	a->owned = o;
	o[a->argc] = strdup(s);
	if (o[a->argc] == NULL)
		return -ENOMEM;
	v[a->argc] = o[a->argc];
	a->argc++;
	v[a->argc] = NULL;
	return 0;
}

void eal_argv_free(struct eal_argv *a)
{
	int i;

	for (i = 0; i < a->argc; i++)
		free(a->owned[i]);
	free(a->owned);
	free(a->argv);
	memset(a, 0, sizeof(*a));
}

int svio_eal_parse(int argc, char **argv, struct svio_eal_config *cfg, struct eal_argv *eal,
		   int *consumed)
{
	bool seen[OPT_COUNT] = { false };
	bool no_pci = false;
	int i, rc;

	memset(cfg, 0, sizeof(*cfg));
	memset(eal, 0, sizeof(*eal));
	svio_iommu_config_default(&cfg->domain);
	cfg->iommu = SVIO_IOMMU_AUTO;

	rc = eal_argv_push(eal, argc > 0 && argv[0] != NULL ? argv[0] : "svio");
	if (rc < 0)
		goto out_fail;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const struct opt_def *d = NULL;
		const char *val = NULL;

		if (strcmp(arg, "--") == 0)
			break;
		if (arg[0] == '-' && arg[1] == '-') {
			const char *name = arg + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);

			d = find_long(name, len);
			if (d == NULL && looks_like_svio(name, len)) {
				SVIO_EAL_LOG(ERR, "unknown option %s (svio's options are listed by "
						  "--help)",
					     arg);
				rc = -EINVAL;
				goto out_fail;
			}
			if (d != NULL && eq != NULL) {
				if (!d->has_arg) {
					SVIO_EAL_LOG(ERR, "option --%s takes no value", d->lng);
					rc = -EINVAL;
					goto out_fail;
				}
				val = eq + 1;
			}
			if (d == NULL && strcmp(name, "no-pci") == 0)
				no_pci = true;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			d = find_short(arg[1]);
			if (d != NULL && arg[2] != '\0')
				val = arg + 2;
		}
		if (d == NULL) {
			/* An EAL option (or its value): DPDK checks it. */
			rc = eal_argv_push(eal, arg);
			if (rc < 0)
				goto out_fail;
			continue;
		}
		if (d->has_arg && val == NULL) {
			if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0) {
				SVIO_EAL_LOG(ERR, "option %s needs a value (expected %s)", arg,
					     d->expect);
				rc = -EINVAL;
				goto out_fail;
			}
			val = argv[++i];
		}
		if (d->has_arg && val[0] == '\0') {
			rc = bad_value(d, "''", "empty value");
			goto out_fail;
		}
		if (seen[d->id] && d->id != OPT_ALLOW && d->id != OPT_BLOCK &&
		    d->id != OPT_VDEV && d->id != OPT_HELP) {
			SVIO_EAL_LOG(ERR, "option --%s given twice", d->lng);
			rc = -EINVAL;
			goto out_fail;
		}
		seen[d->id] = true;
		rc = apply(cfg, d, val, eal);
		if (rc < 0)
			goto out_fail;
	}
	if (cfg->n_allow > 0 && cfg->iommu == SVIO_IOMMU_SIM) {
		SVIO_EAL_LOG(ERR, "--iommu sim cannot drive PCI devices (-a); use --iommu "
				  "iommufd or auto");
		rc = -EINVAL;
		goto out_fail;
	}
	if (!no_pci) {
		rc = eal_argv_push(eal, "--no-pci");
		if (rc < 0)
			goto out_fail;
	}
	/* Like rte_eal_init: argv[*consumed] is where the application's options start. */
	*consumed = i < argc ? i : argc - 1;
	return 0;

out_fail:
	if (rc == -ENOMEM)
		SVIO_EAL_LOG(ERR, "out of memory while parsing options");
	svio_eal_config_free(cfg);
	eal_argv_free(eal);
	return rc;
}
