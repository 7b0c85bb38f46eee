/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A wall-clock bound on the whole run. --run-time is kept by the timer on the
 * forwarding path, so it only ends a run whose loop still turns and whose
 * timer frequency is right; a call that never returns (a driver waiting on a
 * device, a reset, a drain) would hang the process. The watchdog thread
 * counts CLOCK_MONOTONIC from the start of main, and when the limit passes it
 * says what the run was doing and what it had counted, and exits non-zero
 * without the cleanup that may be what is stuck.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testpmd.h"

static struct timespec t_start;
static const char *volatile stage = "starting";
static double limit_s;

static double since(const struct timespec *from)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - from->tv_sec) + (double)(now.tv_nsec - from->tv_nsec) / 1e9;
}

void tp_watchdog_init(void)
{
	clock_gettime(CLOCK_MONOTONIC, &t_start);
}

double tp_elapsed(void)
{
	return since(&t_start);
}

void tp_stage_set(const char *what)
{
	__atomic_store_n(&stage, what, __ATOMIC_RELEASE);
}

static void *watchdog(void *arg)
{
	struct timespec at = t_start;
	const char *what;

	(void)arg;
	at.tv_sec += (time_t)limit_s;
	at.tv_nsec += (long)((limit_s - (double)(time_t)limit_s) * 1e9);
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
		;
	what = __atomic_load_n(&stage, __ATOMIC_ACQUIRE);
	fprintf(stderr,
		"svio-testpmd: time limit of %.1f s passed (%.1f s since start) while %s; "
		"exiting without cleanup\n",
		limit_s, tp_elapsed(), what);
	tp_report_stuck(stderr);
	/* A report already printed must not stay in the buffer; never wait for its lock. */
	if (ftrylockfile(stdout) == 0) {
		fflush(stdout);
		funlockfile(stdout);
	}
	fflush(stderr);
	_exit(TP_EXIT_TIME_LIMIT);
	return NULL;
}

int tp_watchdog_start(double secs)
{
	pthread_t thr;
	int rc;

	if (secs <= 0)
		return 0;
	limit_s = secs;
	rc = pthread_create(&thr, NULL, watchdog, NULL);
	if (rc != 0) {
		fprintf(stderr, "--time-limit: cannot start the watchdog thread: %s\n",
			strerror(rc));
		return -rc;
	}
	pthread_detach(thr);
	return 0;
}
