/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio-l2fwd: swap MAC addresses and forward between two ports.
 *
 *   svio-l2fwd --no-huge -m 256 --vdev sim_vnet0,wire=loop --vdev sim_vnet1,wire=loop \
 *       -- --ports sim_vnet0,sim_vnet1 --run-time 5
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_mbuf.h>

#include "svio_eal.h"
#include "svio_net.h"
#include "l2fwd.h"

static struct l2fwd fwd;

static void on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&fwd.stop, true, __ATOMIC_RELAXED);
}

static void *run(void *arg)
{
	l2fwd_run(arg);
	return NULL;
}

static int parse_ports(const char *s)
{
	char a[64], b[64];

	if (sscanf(s, "%63[^,],%63s", a, b) != 2 || svio_net_port_by_name(a, &fwd.port[0]) < 0 ||
	    svio_net_port_by_name(b, &fwd.port[1]) < 0 || fwd.port[0] == fwd.port[1]) {
		fprintf(stderr,
			"--ports %s: expected two different port names, e.g. "
			"sim_vnet0,sim_vnet1\n",
			s);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rte_mempool *mp;
	unsigned int run_time = 0, i;
	pthread_t t;
	int ret, rc = EXIT_FAILURE;

	ret = svio_eal_init(argc, argv);
	if (ret < 0)
		return EXIT_FAILURE;
	argc -= ret;
	argv += ret;
	fwd.port[1] = 1;
	for (i = 1; i < (unsigned int)argc; i++) {
		if (strcmp(argv[i], "--ports") == 0 && i + 1 < (unsigned int)argc) {
			if (parse_ports(argv[++i]) < 0)
				goto out_cleanup;
		} else if (strcmp(argv[i], "--run-time") == 0 && i + 1 < (unsigned int)argc) {
			run_time = (unsigned int)atoi(argv[++i]);
		} else {
			fprintf(stderr, "unknown option '%s' (--ports A,B --run-time SEC)\n",
				argv[i]);
			goto out_cleanup;
		}
	}
	if (svio_net_count() < 2) {
		fprintf(stderr,
			"l2fwd needs two ports (--vdev sim_vnet0,... --vdev sim_vnet1,...)\n");
		goto out_cleanup;
	}
	mp = rte_pktmbuf_pool_create("l2fwd_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	if (mp == NULL || l2fwd_setup(&fwd, mp) < 0) {
		fprintf(stderr, "port setup failed\n");
		goto out_cleanup;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (pthread_create(&t, NULL, run, &fwd) != 0)
		goto out_cleanup;
	for (i = 0;
	     (run_time == 0 || i < run_time) && !__atomic_load_n(&fwd.stop, __ATOMIC_RELAXED); i++)
		sleep(1);
	__atomic_store_n(&fwd.stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	for (i = 0; i < 2; i++)
		printf("port %s: forwarded %lu, dropped %lu\n", svio_net_port_name(fwd.port[i]),
		       (unsigned long)fwd.forwarded[i], (unsigned long)fwd.dropped[i]);
	rc = EXIT_SUCCESS;
out_cleanup:
	svio_eal_cleanup();
	return rc;
}
