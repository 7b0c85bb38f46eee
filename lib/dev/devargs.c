/* SPDX-License-Identifier: BSD-3-Clause */
/* Device arguments: "key=val,..." parsed with rte_kvargs, and number parsing. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_common.h>
#include <rte_kvargs.h>

#include "svio_dev.h"
#include "dev_private.h"

int svio_parse_u64(const char *s, bool suffix, uint64_t *val)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -EINVAL; /* empty, sign or blank */
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s)
		return -EINVAL;
	if (suffix && *end != '\0') {
		switch (toupper((unsigned char)*end)) {
		case 'K':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		case 'T':
			shift = 40;
			break;
		default:
			return -EINVAL;
		}
		end++;
		/* Accept "4k", "4K", "4KB", "4KiB". */
		if (strcasecmp(end, "b") == 0 || strcasecmp(end, "ib") == 0)
			end += strlen(end);
	}
	if (*end != '\0')
		return -EINVAL;
	if (shift != 0 && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*val = (uint64_t)v << shift;
	return 0;
}

static bool key_in(const char *const *keys, const char *key)
{
	if (keys == NULL)
		return false;
	for (; *keys != NULL; keys++) {
		if (strcmp(*keys, key) == 0)
			return true;
	}
	return false;
}

struct svio_device *svio_dev_alloc(const char *name, const char *args, enum svio_dev_kind kind,
				   const char *const *keys, const char *const *keys2, int *rc)
{
	struct svio_device *dev;
	unsigned int i, j;

	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->kind = kind;
	dev->numa_node = -1;
	dev->devargs_str = strdup(args ? args : "");
	if (dev->devargs_str == NULL) {
		*rc = -ENOMEM;
		goto out_free_dev;
	}
	dev->devargs = rte_kvargs_parse(dev->devargs_str, NULL);
	if (dev->devargs == NULL) {
		SVIO_DEV_LOG(ERR, "device '%s': malformed arguments '%s' (expected key=val,...)",
			     name, dev->devargs_str);
		*rc = -EINVAL;
		goto out_free_str;
	}
	for (i = 0; i < dev->devargs->count; i++) {
		const char *key = dev->devargs->pairs[i].key;

		if (dev->devargs->pairs[i].value == NULL || dev->devargs->pairs[i].value[0] == 0) {
			SVIO_DEV_LOG(ERR, "device '%s': argument '%s' has no value (expected %s=VALUE)",
				     name, key, key);
			*rc = -EINVAL;
			goto out_free_kvargs;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(dev->devargs->pairs[j].key, key) == 0) {
				SVIO_DEV_LOG(ERR, "device '%s': argument '%s' given twice", name,
					     key);
				*rc = -EINVAL;
				goto out_free_kvargs;
			}
		}
		if (key_in(keys, key) || key_in(keys2, key) ||
		    svio_driver_accepts_key(name, kind, key))
			continue;
		SVIO_DEV_LOG(ERR, "device '%s': unknown argument '%s'", name, key);
		*rc = -EINVAL;
		goto out_free_kvargs;
	}
	*rc = 0;
	return dev;

out_free_kvargs:
	rte_kvargs_free(dev->devargs);
out_free_str:
	free(dev->devargs_str);
out_free_dev:
	free(dev);
	return NULL;
}

void svio_dev_free(struct svio_device *dev)
{
	if (dev == NULL)
		return;
	rte_kvargs_free(dev->devargs);
	free(dev->devargs_str);
	free(dev);
}

const char *svio_dev_arg(const struct svio_device *dev, const char *key)
{
	return rte_kvargs_get(dev->devargs, key);
}

int svio_dev_arg_u64(const struct svio_device *dev, const char *key, uint64_t *val)
{
	const char *s = svio_dev_arg(dev, key);
	int rc;

	if (s == NULL)
		return 0;
	rc = svio_parse_u64(s, true, val);
	if (rc < 0)
		SVIO_DEV_LOG(ERR, "device '%s': %s=%s is not %s (expected a number with an "
				  "optional K/M/G/T suffix)",
			     dev->name, key, s, rc == -ERANGE ? "in range" : "a number");
	return rc;
}

int svio_dev_arg_bool(const struct svio_device *dev, const char *key, bool *val)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };
	const char *s = svio_dev_arg(dev, key);
	unsigned int i;

	if (s == NULL)
		return 0;
	for (i = 0; i < RTE_DIM(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*val = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*val = false;
			return 0;
		}
	}
	SVIO_DEV_LOG(ERR, "device '%s': %s=%s is not a boolean (expected on or off)", dev->name,
		     key, s);
	return -EINVAL;
}
