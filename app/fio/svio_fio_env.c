/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svio_eal.h"
#include "svio_fio_args.h"
#include "svio_fio_env.h"

static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;
static char *env_args; /* svio_eal= of the start that succeeded */

/* DPDK's notices would bury fio's output; a later --log-level in svio_eal wins. */
#define QUIET_LOGS "--log-level=*:warning"

static int env_init(const char *eal, char *err, size_t errlen)
{
	size_t buflen = strlen(eal) + sizeof(QUIET_LOGS) + 16;
	char *argv[SVIO_FIO_MAX_ARGS + 2];
	const char *why = NULL, *stray = NULL;
	cpu_set_t cpus;
	bool have_cpus;
	int argc, rc, saved_stdout, devnull;
	char *buf;

	buf = malloc(buflen);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = svio_fio_args_split(eal, buf, buflen, argv + 1, &argc, &why, &stray);
	if (rc < 0) {
		if (stray != NULL)
			snprintf(err, errlen, "%s: '%s'", why, stray);
		else
			snprintf(err, errlen, "%s", why);
		goto out_free;
	}
	/* argv[0] stays the program name; the quieting option goes right after it. */
	argv[0] = argv[1];
	argv[1] = QUIET_LOGS;
	argc++;

	have_cpus = pthread_getaffinity_np(pthread_self(), sizeof(cpus), &cpus) == 0;
	/*
	 * On a bad option DPDK prints its whole usage on stdout, where fio's
	 * report goes; the reason itself goes to stderr. fio's jobs have not
	 * started yet (setup runs first), so nothing else writes meanwhile.
	 */
	fflush(stdout);
	saved_stdout = dup(STDOUT_FILENO);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (saved_stdout >= 0 && devnull >= 0)
		dup2(devnull, STDOUT_FILENO);
	rc = svio_eal_init(argc, argv);
	fflush(stdout);
	if (saved_stdout >= 0 && devnull >= 0)
		dup2(saved_stdout, STDOUT_FILENO);
	if (saved_stdout >= 0)
		close(saved_stdout);
	if (devnull >= 0)
		close(devnull);
	if (have_cpus)
		pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	if (rc < 0) {
		snprintf(err, errlen, "svio_eal= refused by svio_eal_init(): %s (svio's or DPDK's message above says why)",
			 strerror(-rc));
		goto out_free;
	}
	rc = 0;
out_free:
	free(buf);
	return rc;
}

int svio_fio_env_start(const char *eal, char *err, size_t errlen)
{
	static int first_rc;
	static char first_err[256];
	int rc;

	if (eal == NULL)
		eal = "";
	pthread_mutex_lock(&env_lock);
	if (env_args != NULL) {
		if (strcmp(env_args, eal) == 0) {
			rc = first_rc;
			snprintf(err, errlen, "%s", first_err);
		} else {
			snprintf(err, errlen,
				 "svio_eal= differs between jobs ('%s' first, then '%s'): svio "
				 "starts once per process, give every job the same svio_eal",
				 env_args, eal);
			rc = -EINVAL;
		}
		pthread_mutex_unlock(&env_lock);
		return rc;
	}
	rc = env_init(eal, err, errlen);
	/* DPDK's EAL cannot always start again after a failure: every later job gets this one's answer. */
	env_args = strdup(eal);
	first_rc = rc;
	snprintf(first_err, sizeof(first_err), "%s", rc == 0 ? "" : err);
	pthread_mutex_unlock(&env_lock);
	return rc;
}
