/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Probe and remove, devargs, and svio's lifetime under net_svio ports.
 *
 * Devargs: "dev=NAME[,svio=OPTIONS]". dev names the svio network device
 * (sim_vnet0, or the PCI address of a real virtio-net function). svio=, when
 * present, must come last: it takes the rest of the string, commas and '='
 * included, as svio's own option list with words separated by spaces:
 *
 *   --vdev 'net_svio0,dev=sim_vnet0,svio=--vdev sim_vnet0,wire=pair:sim_vnet1 --vdev sim_vnet1'
 *   --vdev net_svio1,dev=sim_vnet1
 *
 * svio's options are lists of devices whose own arguments split on commas,
 * which DPDK's kvargs would cut apart (its [..] lists do not protect '=');
 * "the rest of the string" needs no escaping at all.
 *
 * The first port that finds svio down starts it from its svio= options
 * (svio_eal_attach); later ports use it and may repeat the same options or
 * give none; the last of them to close stops it. When the application
 * started svio itself (svio_eal_init), ports only use it and svio= is refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ethdev_vdev.h>
#include <rte_kvargs.h>

#include "net_svio_priv.h"
#include "svio_eal.h"

RTE_LOG_REGISTER(net_svio_logtype, pmd.net.svio, NOTICE);

#define KEY_DEV	 "dev"
#define KEY_SVIO "svio="

static const char *const valid_keys[] = { KEY_DEV, NULL };

/* svio's lifetime: control path only (probe, remove and close run on one thread). */
static unsigned int nb_users; /* net_svio ports alive */
static bool svio_ours;	      /* started from svio= devargs: the last port stops it */
static char *svio_opts;	      /* the svio= options that started it */
/* Which ethdev port uses each svio port (0: none; else ethdev port id + 1). */
static uint16_t claimed[SVIO_NET_MAX_PORTS];

struct devargs {
	char dev[SVIO_NET_NAME_MAX];
	char *svio; /* NULL when absent */
};

static int take_dev(const char *key, const char *value, void *opaque)
{
	struct devargs *da = opaque;

	(void)key;
	if (value == NULL || value[0] == '\0' || strlen(value) >= sizeof(da->dev))
		return -EINVAL;
	snprintf(da->dev, sizeof(da->dev), "%s", value);
	return 0;
}

static int parse_devargs(const char *name, const char *args, struct devargs *da)
{
	const char *svio = NULL, *p;
	struct rte_kvargs *kv;
	char *head;
	int rc = 0;

	memset(da, 0, sizeof(*da));
	if (args == NULL)
		args = "";
	/* svio= starts the string or follows a comma; everything after it is svio's. */
	for (p = args; (p = strstr(p, KEY_SVIO)) != NULL; p++) {
		if (p == args || p[-1] == ',') {
			svio = p;
			break;
		}
	}
	head = strndup(args, svio != NULL ? (size_t)(svio - args) : strlen(args));
	if (head == NULL)
		return -ENOMEM;
	kv = rte_kvargs_parse(head, valid_keys);
	if (kv == NULL) {
		NET_SVIO_LOG(ERR,
			     "%s: bad devargs '%s': expected dev=NAME[,svio=OPTIONS] (svio= last, "
			     "svio's options separated by spaces)",
			     name, args);
		rc = -EINVAL;
	} else if (rte_kvargs_count(kv, KEY_DEV) != 1) {
		NET_SVIO_LOG(ERR, "%s: devargs '%s': %s (dev=NAME names the svio device%s)", name,
			     args, rte_kvargs_count(kv, KEY_DEV) == 0 ? "no dev=" : "dev= twice",
			     svio != NULL ? "; svio= takes the rest of the string: put it last"
					  : "");
		rc = -EINVAL;
	} else if (rte_kvargs_process(kv, KEY_DEV, take_dev, da) < 0) {
		NET_SVIO_LOG(ERR, "%s: devargs '%s': dev= needs a device name of 1..%d characters",
			     name, args, SVIO_NET_NAME_MAX - 1);
		rc = -EINVAL;
	}
	rte_kvargs_free(kv);
	free(head);
	if (rc == 0 && svio != NULL) {
		da->svio = strdup(svio + strlen(KEY_SVIO));
		if (da->svio == NULL)
			rc = -ENOMEM;
	}
	return rc;
}

/* svio_eal_attach() with the words of @p opts (split on spaces). */
static int start_svio(const char *name, const char *opts)
{
	char *copy, *word, *save = NULL, **argv;
	int argc = 0, rc;

	copy = strdup(opts);
	argv = calloc(strlen(opts) / 2 + 3, sizeof(*argv));
	if (copy == NULL || argv == NULL) {
		free(copy);
		free(argv);
		return -ENOMEM;
	}
	argv[argc++] = (char *)(uintptr_t)name;
	for (word = strtok_r(copy, " \t", &save); word != NULL; word = strtok_r(NULL, " \t", &save))
		argv[argc++] = word;
	argv[argc] = NULL;
	if (argc == 1) {
		NET_SVIO_LOG(ERR,
			     "%s: svio= is empty (give svio's options, e.g. svio=--vdev "
			     "sim_vnet0)",
			     name);
		rc = -EINVAL;
	} else {
		rc = svio_eal_attach(argc, argv); /* a refusal logs the one line that says why */
	}
	free(argv);
	free(copy);
	return rc;
}

/* One more port on svio: start it, or check that these options agree with it. */
static int svio_get(const char *name, const char *opts)
{
	int rc;

	if (svio_eal_config() == NULL) {
		if (opts == NULL) {
			NET_SVIO_LOG(
				ERR,
				"%s: svio is not running: give its options in svio=... (last), "
				"or start it with svio_eal_init() and add this port after",
				name);
			return -EINVAL;
		}
		rc = start_svio(name, opts);
		if (rc < 0)
			return rc;
		svio_opts = strdup(opts);
		svio_ours = true;
	} else if (opts != NULL && !svio_ours) {
		NET_SVIO_LOG(ERR,
			     "%s: svio=%s: svio was started by the application; drop svio=", name,
			     opts);
		return -EINVAL;
	} else if (opts != NULL && (svio_opts == NULL || strcmp(opts, svio_opts) != 0)) {
		NET_SVIO_LOG(ERR,
			     "%s: svio=%s differs from the options svio runs with (svio=%s): "
			     "repeat them or leave svio= out",
			     name, opts, svio_opts != NULL ? svio_opts : "");
		return -EINVAL;
	}
	nb_users++;
	return 0;
}

static void svio_put(void)
{
	if (--nb_users > 0 || !svio_ours)
		return;
	(void)svio_eal_cleanup();
	svio_ours = false;
	free(svio_opts);
	svio_opts = NULL;
}

static void list_ports(char *buf, size_t len)
{
	uint16_t i, n = 0;
	size_t off = 0;

	buf[0] = '\0';
	for (i = 0; i < SVIO_NET_MAX_PORTS && off < len; i++) {
		const char *pn = svio_net_port_name(i);

		if (pn != NULL)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", n++ ? ", " : "", pn);
	}
	if (n == 0)
		snprintf(buf, len, "none");
}

void net_svio_port_release(struct rte_eth_dev *dev)
{
	struct net_svio_port *np = net_svio_port(dev);
	uint16_t q;

	/* ethdev drops its queue arrays at release without a release call per queue. */
	for (q = 0; q < SVIO_NET_MAX_QUEUES; q++) {
		(void)svio_net_rx_queue_release(np->svio_port, q);
		(void)svio_net_tx_queue_release(np->svio_port, q);
	}
	claimed[np->svio_port] = 0;
	svio_put();
}

static int net_svio_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct net_svio_port *np;
	struct rte_eth_dev *dev;
	struct devargs da;
	char ports[256];
	uint16_t sp;
	int rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		NET_SVIO_LOG(ERR, "%s: secondary processes cannot use svio's devices", name);
		return -ENOTSUP;
	}
	rc = parse_devargs(name, rte_vdev_device_args(vdev), &da);
	if (rc < 0)
		goto out_free;
	rc = svio_get(name, da.svio);
	if (rc < 0)
		goto out_free;
	rc = svio_net_port_by_name(da.dev, &sp);
	if (rc < 0) {
		list_ports(ports, sizeof(ports));
		NET_SVIO_LOG(ERR, "%s: dev=%s: svio has no network port of that name (it has: %s)",
			     name, da.dev, ports);
		goto out_put;
	}
	if (claimed[sp] != 0) {
		NET_SVIO_LOG(ERR, "%s: dev=%s is already the device of ethdev port %u", name,
			     da.dev, claimed[sp] - 1);
		rc = -EBUSY;
		goto out_put;
	}
	dev = rte_eth_vdev_allocate(vdev, sizeof(*np));
	if (dev == NULL) {
		NET_SVIO_LOG(ERR, "%s: cannot allocate an ethdev port", name);
		rc = -ENOMEM;
		goto out_put;
	}
	np = net_svio_port(dev);
	np->svio_port = sp;
	snprintf(np->svio_name, sizeof(np->svio_name), "%s", da.dev);
	dev->data->mac_addrs =
		rte_zmalloc_socket(name, sizeof(struct rte_ether_addr), 0, dev->data->numa_node);
	if (dev->data->mac_addrs == NULL) {
		rc = -ENOMEM;
		goto out_release;
	}
	(void)svio_net_macaddr_get(sp, &dev->data->mac_addrs[0]);
	dev->dev_ops = &net_svio_ops;
	dev->rx_pkt_burst = rte_eth_pkt_burst_dummy;
	dev->tx_pkt_burst = rte_eth_pkt_burst_dummy;
	claimed[sp] = (uint16_t)(dev->data->port_id + 1);
	rte_eth_dev_probing_finish(dev);
	NET_SVIO_LOG(INFO, "%s: ethdev port %u on svio port %u (%s)", name, dev->data->port_id, sp,
		     da.dev);
	free(da.svio);
	return 0;

out_release:
	rte_eth_dev_release_port(dev); /* frees the private data and the MAC array */
out_put:
	svio_put();
out_free:
	free(da.svio);
	return rc;
}

static int net_svio_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (dev == NULL)
		return 0; /* the application closed it already */
	if (dev->data->dev_started)
		(void)rte_eth_dev_stop(dev->data->port_id);
	return rte_eth_dev_close(dev->data->port_id);
}

static struct rte_vdev_driver net_svio_driver = {
	.probe = net_svio_probe,
	.remove = net_svio_remove,
};

RTE_PMD_REGISTER_VDEV(net_svio, net_svio_driver);
RTE_PMD_REGISTER_PARAM_STRING(net_svio, "dev=<svio device> svio=<svio options, last>");
