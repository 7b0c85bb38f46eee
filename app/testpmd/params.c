/* SPDX-License-Identifier: BSD-3-Clause */
/* svio-testpmd's command line, in testpmd's spelling. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svio_dev.h"
#include "testpmd.h"

static const char *const mode_names[] = {
	[TP_IO] = "io",		[TP_MAC] = "mac",	[TP_MACSWAP] = "macswap",
	[TP_TXONLY] = "txonly", [TP_RXONLY] = "rxonly", [TP_ICMPECHO] = "icmpecho",
};

static void usage(const char *prog)
{
	printf("usage: %s [EAL and svio options] -- [options]\n"
	       "  --forward-mode=io|mac|macswap|txonly|rxonly|icmpecho (default io)\n"
	       "  --nb-cores=N        forwarding lcores (default 1; the main lcore if no workers)\n"
	       "  --rxq=N --txq=N     queues per port (default 1)\n"
	       "  --rxd=N --txd=N     descriptors per queue (default: what each queue\n"
	       "                      of the device takes, at most %d)\n"
	       "  --burst=N           frames per burst (1..%d, default 32)\n"
	       "  --txpkts=L[,L...]   txonly segment lengths (default 64)\n"
	       "  --total-num-mbufs=N mbufs in the pool\n"
	       "  --stats-period=SEC  print port statistics every SEC seconds\n"
	       "  --run-time=SEC      stop after SEC seconds (default: until SIGINT)\n"
	       "  --time-limit=SEC    wall-clock bound on the whole run: past it, say what\n"
	       "                      the run was doing and its counters, exit %d\n"
	       "                      (default: --run-time + %d s; none without --run-time)\n"
	       "  -i, --interactive   a prompt: start [tx_first], stop, show port stats all, quit\n"
	       "  --auto-start        start forwarding at once (always, without -i)\n"
	       "  --tx-first          send one burst per stream before forwarding\n"
	       "  --output-format=text|json   statistics on stop\n"
	       "  --ip-addr=A.B.C.D   icmpecho: answer ARP and ping for this address only\n"
	       "                      (default: answer every request, whatever its target)\n",
	       prog, TP_DEF_DESC, TP_MAX_BURST, TP_EXIT_TIME_LIMIT, TP_STOP_GRACE_S);
}

static int parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	if (svio_parse_u64(s, false, v) < 0 || *v < min || *v > max) {
		fprintf(stderr, "--%s=%s: expected a number in %lu..%lu\n", opt, s,
			(unsigned long)min, (unsigned long)max);
		return -EINVAL;
	}
	return 0;
}

static int parse_seconds(const char *opt, const char *s, double *v)
{
	char *end;

	*v = strtod(s, &end);
	if (end == s || *end != '\0' || *v < 0 || *v > 1e6) {
		fprintf(stderr, "--%s=%s: expected seconds (0..1000000)\n", opt, s);
		return -EINVAL;
	}
	return 0;
}

static int parse_txpkts(const char *s, struct tp_config *cfg)
{
	char buf[256], *save = NULL, *tok;
	uint64_t v, total = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	cfg->n_txpkts = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (cfg->n_txpkts == TP_MAX_SEGS || parse_uint("txpkts", tok, 1, 9000, &v) < 0) {
			fprintf(stderr, "--txpkts=%s: expected up to %d segment lengths\n", s,
				TP_MAX_SEGS);
			return -EINVAL;
		}
		cfg->txpkts[cfg->n_txpkts++] = (uint16_t)v;
		total += v;
	}
	if (cfg->n_txpkts == 0 || total < 64 || total > 9000) {
		fprintf(stderr, "--txpkts=%s: frames must be 64..9000 bytes in all\n", s);
		return -EINVAL;
	}
	return 0;
}

uint16_t tp_queue_descs(uint16_t port, uint16_t q, bool tx)
{
	uint16_t asked = tx ? tp_cfg.txd : tp_cfg.rxd;
	struct svio_net_queue_info qi;
	int rc = tx ? svio_net_tx_queue_info_get(port, q, &qi)
		    : svio_net_rx_queue_info_get(port, q, &qi);

	if (rc < 0) {
		fprintf(stderr, "port %u (%s): no %s queue %u\n", port, svio_net_port_name(port),
			tx ? "tx" : "rx", q);
		return 0;
	}
	if (asked == 0)
		return RTE_MIN((uint16_t)TP_DEF_DESC, qi.max_desc);
	if (asked > qi.max_desc || asked < qi.min_desc) {
		fprintf(stderr,
			"--%s=%u: port %u (%s) %s queue %u takes %u..%u descriptors "
			"(the device's limit for that queue is %u)\n",
			tx ? "txd" : "rxd", asked, port, svio_net_port_name(port), tx ? "tx" : "rx",
			q, qi.min_desc, qi.max_desc, qi.max_desc);
		return 0;
	}
	return asked;
}

int tp_parse_args(int argc, char **argv, struct tp_config *cfg)
{
	enum {
		O_MODE = 256,
		O_CORES,
		O_RXQ,
		O_TXQ,
		O_RXD,
		O_TXD,
		O_BURST,
		O_TXPKTS,
		O_MBUFS,
		O_PERIOD,
		O_RUNTIME,
		O_TIMELIMIT,
		O_AUTO,
		O_TXFIRST,
		O_FORMAT,
		O_IPADDR,
		O_HELP,
	};
	static const struct option opts[] = {
		{ "forward-mode", required_argument, NULL, O_MODE },
		{ "nb-cores", required_argument, NULL, O_CORES },
		{ "rxq", required_argument, NULL, O_RXQ },
		{ "txq", required_argument, NULL, O_TXQ },
		{ "rxd", required_argument, NULL, O_RXD },
		{ "txd", required_argument, NULL, O_TXD },
		{ "burst", required_argument, NULL, O_BURST },
		{ "txpkts", required_argument, NULL, O_TXPKTS },
		{ "total-num-mbufs", required_argument, NULL, O_MBUFS },
		{ "stats-period", required_argument, NULL, O_PERIOD },
		{ "run-time", required_argument, NULL, O_RUNTIME },
		{ "time-limit", required_argument, NULL, O_TIMELIMIT },
		{ "auto-start", no_argument, NULL, O_AUTO },
		{ "tx-first", no_argument, NULL, O_TXFIRST },
		{ "output-format", required_argument, NULL, O_FORMAT },
		{ "ip-addr", required_argument, NULL, O_IPADDR },
		{ "interactive", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	unsigned int i;
	int c, rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = TP_IO;
	cfg->nb_cores = 1;
	cfg->rxq = cfg->txq = 1;
	cfg->rxd = cfg->txd = 0; /* per queue, from the device */
	cfg->burst = 32;
	cfg->txpkts[0] = 64;
	cfg->n_txpkts = 1;
	optind = 1;
	while (rc == 0 && (c = getopt_long(argc, argv, "i", opts, NULL)) != -1) {
		switch (c) {
		case O_MODE:
			rc = -EINVAL;
			for (i = 0; i < RTE_DIM(mode_names); i++) {
				if (strcmp(optarg, mode_names[i]) == 0) {
					cfg->mode = (enum tp_mode)i;
					rc = 0;
				}
			}
			if (rc < 0)
				fprintf(stderr,
					"--forward-mode=%s: expected io, mac, macswap, "
					"txonly, rxonly or icmpecho\n",
					optarg);
			break;
		case O_CORES:
			rc = parse_uint("nb-cores", optarg, 1, RTE_MAX_LCORE, &v);
			cfg->nb_cores = (unsigned int)v;
			break;
		case O_RXQ:
		case O_TXQ:
			rc = parse_uint(c == O_RXQ ? "rxq" : "txq", optarg, 1, SVIO_NET_MAX_QUEUES,
					&v);
			if (c == O_RXQ)
				cfg->rxq = (uint16_t)v;
			else
				cfg->txq = (uint16_t)v;
			break;
		case O_RXD:
		case O_TXD:
			rc = parse_uint(c == O_RXD ? "rxd" : "txd", optarg, 64, 32768, &v);
			if (rc == 0 && (v & (v - 1)) != 0) {
				fprintf(stderr, "--%s=%s: expected a power of two\n",
					c == O_RXD ? "rxd" : "txd", optarg);
				rc = -EINVAL;
			}
			if (c == O_RXD)
				cfg->rxd = (uint16_t)v;
			else
				cfg->txd = (uint16_t)v;
			break;
		case O_BURST:
			rc = parse_uint("burst", optarg, 1, TP_MAX_BURST, &v);
			cfg->burst = (uint16_t)v;
			break;
		case O_TXPKTS:
			rc = parse_txpkts(optarg, cfg);
			break;
		case O_MBUFS:
			rc = parse_uint("total-num-mbufs", optarg, 1024, 1u << 24, &v);
			cfg->total_mbufs = (unsigned int)v;
			break;
		case O_PERIOD:
			rc = parse_seconds("stats-period", optarg, &cfg->stats_period);
			break;
		case O_RUNTIME:
			rc = parse_seconds("run-time", optarg, &cfg->run_time);
			break;
		case O_TIMELIMIT:
			rc = parse_seconds("time-limit", optarg, &cfg->time_limit);
			if (rc == 0 && cfg->time_limit == 0) {
				fprintf(stderr, "--time-limit=%s: expected more than 0 seconds\n",
					optarg);
				rc = -EINVAL;
			}
			break;
		case O_AUTO:
			cfg->auto_start = true;
			break;
		case O_TXFIRST:
			cfg->tx_first = true;
			break;
		case O_FORMAT:
			if (strcmp(optarg, "json") == 0) {
				cfg->json = true;
			} else if (strcmp(optarg, "text") != 0) {
				fprintf(stderr, "--output-format=%s: expected text or json\n",
					optarg);
				rc = -EINVAL;
			}
			break;
		case O_IPADDR:
			if (inet_pton(AF_INET, optarg, &cfg->ip_addr) != 1 || cfg->ip_addr == 0) {
				fprintf(stderr, "--ip-addr=%s: expected an IPv4 address A.B.C.D\n",
					optarg);
				rc = -EINVAL;
			}
			break;
		case 'i':
			cfg->interactive = true;
			break;
		case O_HELP:
			usage(argv[0]);
			return 1;
		default:
			usage(argv[0]);
			return -EINVAL;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "unexpected argument '%s'\n", argv[optind]);
		rc = -EINVAL;
	}
	return rc;
}
