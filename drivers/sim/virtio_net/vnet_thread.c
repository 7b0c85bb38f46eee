/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Thread mode: a model thread per device drains its transmit queues, so
 * frames move while the driver's threads do something else (asynchronous,
 * like real hardware). It spins while there is traffic and naps when idle.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_pause.h>

#include "vnet_priv.h"

#define VNET_IDLE_SPINS	 256
#define VNET_IDLE_NAP_US 20

static void *vnet_thread_main(void *arg)
{
	struct vnet_model *m = arg;
	unsigned int idle = 0;

	while (!__atomic_load_n(&m->thread_stop, __ATOMIC_ACQUIRE)) {
		unsigned int moved = 0;
		uint16_t k;

		for (k = 0; k < m->max_pairs; k++)
			moved += vnet_tx_drain(m, k);
		if (moved > 0) {
			idle = 0;
		} else if (++idle < VNET_IDLE_SPINS) {
			rte_pause();
		} else {
			usleep(VNET_IDLE_NAP_US);
		}
	}
	return NULL;
}

int vnet_thread_start(struct vnet_model *m)
{
	char name[16];
	int rc;

	if (m->thread_on)
		return 0;
	__atomic_store_n(&m->thread_stop, false, __ATOMIC_RELEASE);
	rc = pthread_create(&m->thread, NULL, vnet_thread_main, m);
	if (rc != 0) {
		VNET_LOG(ERR, "%s: cannot start the model thread: %s", m->dev->name, strerror(rc));
		return -rc;
	}
	snprintf(name, sizeof(name), "vnet%d", m->index);
	pthread_setname_np(m->thread, name);
	m->thread_on = true;
	return 0;
}

void vnet_thread_stop(struct vnet_model *m)
{
	if (!m->thread_on)
		return;
	__atomic_store_n(&m->thread_stop, true, __ATOMIC_RELEASE);
	pthread_join(m->thread, NULL);
	m->thread_on = false;
}
