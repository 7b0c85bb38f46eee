/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio-testpmd: testpmd's habits on svio network ports. Streams pair a
 * receive queue with a transmit queue of the peer port (ports 0-1, 2-3, ...;
 * an odd last port forwards to itself); forwarding lcores poll their streams.
 */
#ifndef TESTPMD_H
#define TESTPMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "svio_net.h"

#define TP_MAX_PORTS   SVIO_NET_MAX_PORTS
#define TP_MAX_STREAMS (SVIO_NET_MAX_PORTS * SVIO_NET_MAX_QUEUES)
#define TP_MAX_BURST   512
#define TP_MAX_SEGS    8
#define TP_DEF_DESC    1024 /* descriptors per queue unless asked: clamped to the queue */
/* Default --time-limit past --run-time: setup, the stop's drains and resets under TCG. */
#define TP_STOP_GRACE_S	   60
#define TP_EXIT_TIME_LIMIT 124 /* as timeout(1) */

enum tp_mode {
	TP_IO,
	TP_MAC,
	TP_MACSWAP,
	TP_TXONLY,
	TP_RXONLY,
	TP_ICMPECHO,
};

struct tp_config {
	enum tp_mode mode;
	unsigned int nb_cores;
	uint16_t rxq, txq;
	uint16_t rxd, txd; /* 0: TP_DEF_DESC clamped to each queue's limit */
	uint16_t burst;
	uint16_t txpkts[TP_MAX_SEGS];
	unsigned int n_txpkts;
	unsigned int total_mbufs; /* 0: computed */
	double stats_period;	  /* seconds, 0: off */
	double run_time;	  /* seconds, 0: until SIGINT */
	double time_limit;	  /* seconds of wall clock from start, 0: none */
	bool auto_start, tx_first, json, interactive;
	uint32_t ip_addr; /* icmpecho: the ports' IPv4 address (network order); 0: answer all */
};

/* A receive queue and the transmit queue it forwards to. Counters: one writer (its lcore). */
struct tp_stream {
	uint16_t rx_port, rx_queue, tx_port, tx_queue;
	struct rte_mempool *pool; /* txonly */
	uint64_t rx_packets, tx_packets, fwd_dropped;
	uint32_t tx_seq;
} __rte_cache_aligned;

struct tp_lcore {
	unsigned int lcore_id;
	unsigned int n_streams;
	struct tp_stream *streams[TP_MAX_STREAMS];
	uint64_t loops; /* passes over the streams: a stuck call stops it (written by the lcore) */
	uint64_t runs;	/* forwarding loops finished: released by the lcore, acquired by stop */
};

struct tp_engine {
	const char *name;
	/** Handle @p n frames received on @p s; returns how many to transmit (kept first). */
	uint16_t (*fwd)(struct tp_stream *s, struct rte_mbuf **pkts, uint16_t n);
	bool rx, tx; /* polls receive queues / transmits */
};

extern const struct tp_engine *const tp_engines[];
extern struct tp_config tp_cfg;
extern volatile bool tp_stop;

/** Parse testpmd's options (after svio_eal_init). @return 0, 1 (help printed), -EINVAL. */
int tp_parse_args(int argc, char **argv, struct tp_config *cfg);
const struct tp_engine *tp_engine_find(enum tp_mode mode);
/**
 * Descriptors for queue @p q of @p port: --rxd/--txd, or TP_DEF_DESC clamped
 * to the queue's own limit. @return the count, or 0 (said on stderr) when the
 * queue cannot take what was asked.
 */
uint16_t tp_queue_descs(uint16_t port, uint16_t q, bool tx);
/** Build a txonly frame (UDP/IPv4, segments as --txpkts). */
struct rte_mbuf *tp_txonly_frame(struct tp_stream *s);

/* main.c: forwarding control (main lcore only). */
/** Start forwarding on the worker lcores; -EALREADY when it runs. */
int tp_fwd_start(bool tx_first);
/** Stop forwarding and print what the run did; -EALREADY when it was not running. */
int tp_fwd_stop(void);
/** testpmd's "show port stats all". */
void tp_show_port_stats(void);

/** Counters and progress, for the watchdog (any thread; takes no lock). */
void tp_report_stuck(FILE *f);

/* watchdog.c */
/** Note the start of the run: --time-limit counts from here. Call first in main. */
void tp_watchdog_init(void);
/** Seconds of wall clock since tp_watchdog_init. */
double tp_elapsed(void);
/** What the run does now (a string literal), named when the limit passes. */
void tp_stage_set(const char *what);
/**
 * Exit with TP_EXIT_TIME_LIMIT, the stage and tp_report_stuck on stderr,
 * @p secs after tp_watchdog_init; 0: no limit. @return 0 or a negative errno.
 */
int tp_watchdog_start(double secs);

/* prompt.c */
/** The interactive prompt on stdin until quit, end of input or a signal. */
int tp_prompt(void);

/* stats.c */
struct tp_port_totals {
	uint64_t rx_packets, tx_packets, rx_dropped, tx_dropped, rx_bytes, tx_bytes, rx_errors;
};

void tp_stats_snapshot(uint16_t nb_ports, struct tp_stream *streams, unsigned int n_streams,
		       struct tp_port_totals *tot);
void tp_stats_print(FILE *f, uint16_t nb_ports, const struct tp_port_totals *tot);
void tp_stats_json(FILE *f, uint16_t nb_ports, const struct tp_port_totals *tot, double secs,
		   const char *mode);

#endif /* TESTPMD_H */
