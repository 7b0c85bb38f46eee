/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A minimal layer-2 forwarder on the svio_net API: what arrives on one port
 * leaves the other with its MAC addresses swapped. Split from main.c so a
 * test can run the loop on a thread of its own.
 */
#ifndef L2FWD_H
#define L2FWD_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

struct l2fwd {
	uint16_t port[2];
	uint16_t burst;
	bool stop;	       /* atomic: set to end l2fwd_run() */
	uint64_t forwarded[2]; /* frames that left port[i] (atomic, one writer) */
	uint64_t dropped[2];   /* frames port[i] would not take */
};

/** Configure and start both ports (one queue each, buffers from @p mp). @return 0 or -errno. */
int l2fwd_setup(struct l2fwd *f, struct rte_mempool *mp);

/** Forward until f->stop is set. Runs on one thread. */
void l2fwd_run(struct l2fwd *f);

#endif /* L2FWD_H */
