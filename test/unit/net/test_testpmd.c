/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio-testpmd end to end: runs the binary on two cabled built-in ports and
 * reads its JSON report: frames forwarded, none lost, bad options refused.
 */
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define EAL "--no-huge -m 256 --no-shconf --no-telemetry --log-level='*:error' -l 0-1 "

struct port_report {
	uint64_t rx_packets, tx_packets, rx_dropped, tx_dropped;
};

/* Run svio-testpmd with @p args; returns its exit status, output in @p out. */
static int run(const char *args, char *out, size_t len)
{
	char cmd[1024];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", TESTPMD_PATH, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (n + 1 < len && !feof(p))
		n += fread(out + n, 1, len - 1 - n, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * Run svio-testpmd with SIGINT ignored, as a shell starts a background job;
 * when @p signal_after shows in its output, send it SIGINT. Give it
 * @p bound_s seconds in all: past them it is killed and -1 returned, else
 * its exit status. Output in @p out, the seconds it ran in @p secs.
 */
static int run_bounded(const char *args, const char *signal_after, double bound_s, char *out,
		       size_t len, double *secs)
{
	char cmd[1024];
	double start = now_s();
	bool signalled = signal_after == NULL;
	size_t n = 0;
	int fds[2], st = -1;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "exec %s %s 2>&1", TESTPMD_PATH, args);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGINT, SIG_IGN);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		double left = bound_s - (now_s() - start);
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) == 0) {
			kill(pid, SIGKILL);
			break;
		}
		r = read(fds[0], out + n, len - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		out[n] = '\0';
		if (!signalled && strstr(out, signal_after) != NULL) {
			kill(pid, SIGINT);
			signalled = true;
		}
		if (n + 1 == len)
			break;
	}
	out[n] = '\0';
	close(fds[0]);
	waitpid(pid, &st, 0);
	*secs = now_s() - start;
	return WIFEXITED(st) && *secs < bound_s ? WEXITSTATUS(st) : -1;
}

static uint64_t field(const char *from, const char *key)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	at = strstr(from, pat);
	assert_non_null(at);
	return strtoull(at + strlen(pat), NULL, 10);
}

/* The JSON object of port @p i. */
static void port(const char *out, unsigned int i, struct port_report *r)
{
	char pat[32];
	const char *at;

	snprintf(pat, sizeof(pat), "{\"port\": %u,", i);
	at = strstr(out, pat);
	assert_non_null(at);
	r->rx_packets = field(at, "rx_packets");
	r->tx_packets = field(at, "tx_packets");
	r->rx_dropped = field(at, "rx_dropped");
	r->tx_dropped = field(at, "tx_dropped");
}

static void test_io_tx_first(void **state)
{
	static char out[65536];
	struct port_report p0, p1;
	int64_t in_flight;

	(void)state;
	assert_int_equal(run(EAL "--vdev sim_vnet0,wire=pair:sim_vnet1 --vdev sim_vnet1 -- "
				 "--forward-mode=io --tx-first --burst=32 --run-time=0.3 "
				 "--output-format=json",
			     out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "\"forward_mode\": \"io\""));
	port(out, 0, &p0);
	port(out, 1, &p1);
	/* More than tx-first's bursts: frames went round the loop (no rate is asserted). */
	assert_true(p0.rx_packets > 2 * 32);
	assert_int_equal(p0.rx_dropped + p1.rx_dropped + p0.tx_dropped + p1.tx_dropped, 0);
	/* What was sent and not yet received is what tx-first put in flight, at most. */
	in_flight =
		(int64_t)(p0.tx_packets + p1.tx_packets) - (int64_t)(p0.rx_packets + p1.rx_packets);
	assert_true(in_flight >= 0 && in_flight <= 2 * 32);
	assert_int_equal(field(out, "stale_uses"), 0);
}

static void test_multiqueue_macswap(void **state)
{
	static char out[65536];
	struct port_report p0, p1;

	(void)state;
	assert_int_equal(run(EAL "--vdev sim_vnet0,wire=pair:sim_vnet1 --vdev sim_vnet1 -- "
				 "--forward-mode=macswap --rxq=2 --txq=2 --tx-first "
				 "--run-time=0.3 --output-format=json",
			     out, sizeof(out)),
			 0);
	port(out, 0, &p0);
	port(out, 1, &p1);
	assert_true(p0.rx_packets > 0 && p1.rx_packets > 0);
	assert_int_equal(p0.tx_dropped + p1.tx_dropped, 0);
}

static void test_txonly_rxonly_peer(void **state)
{
	static char out[65536];
	struct port_report p0;

	(void)state;
	/* Nobody receives in txonly: with rx_full=drop the far end drops, as a NIC would. */
	assert_int_equal(run(EAL "--vdev sim_vnet0,wire=pair:sim_vnet1,rx_full=drop "
				 "--vdev sim_vnet1,rx_full=drop -- --forward-mode=txonly "
				 "--txpkts=64,100 --run-time=0.3 --output-format=json",
			     out, sizeof(out)),
			 0);
	port(out, 0, &p0);
	assert_true(p0.tx_packets > 0);
	assert_non_null(strstr(out, "\"mpps\": "));
	assert_true(strtod(strstr(out, "\"mpps\": ") + 8, NULL) > 0.0);
}

static void test_text_layout(void **state)
{
	static char out[65536];

	(void)state;
	assert_int_equal(run(EAL "--vdev sim_vnet0,wire=loop -- --tx-first --run-time=0.2", out,
			     sizeof(out)),
			 0);
	assert_non_null(strstr(out, "Forward statistics for port 0"));
	assert_non_null(strstr(out, "RX-packets: "));
	assert_non_null(strstr(out, "TX-dropped: "));
	assert_non_null(strstr(out, "Accumulated forward statistics for all ports"));
}

/* Default ring sizes follow each queue of each device; a count past one is refused naming it. */
static void test_queue_sizes(void **state)
{
	static char out[65536];
	struct port_report p0, p1;
	int64_t in_flight;

	(void)state;
	assert_int_equal(run(EAL "--vdev sim_vnet0,wire=pair:sim_vnet1,rx_queue_size=256,"
				 "tx_queue_size=128 --vdev sim_vnet1,tx_queue_size=512 -- "
				 "--forward-mode=io --tx-first --run-time=0.3 --output-format=json",
			     out, sizeof(out)),
			 0);
	port(out, 0, &p0);
	port(out, 1, &p1);
	assert_non_null(strstr(out, "\"name\": \"sim_vnet0\", "));
	assert_non_null(strstr(out, "\"rx_desc\": [256], \"tx_desc\": [128]}"));
	assert_non_null(strstr(out, "\"rx_desc\": [1024], \"tx_desc\": [512]}"));
	assert_true(p0.rx_packets > 2 * 32 && p1.rx_packets > 2 * 32);
	assert_int_equal(p0.rx_dropped + p1.rx_dropped + p0.tx_dropped + p1.tx_dropped, 0);
	in_flight =
		(int64_t)(p0.tx_packets + p1.tx_packets) - (int64_t)(p0.rx_packets + p1.rx_packets);
	assert_true(in_flight >= 0 && in_flight <= 2 * 32);

	assert_int_not_equal(run(EAL "--vdev sim_vnet0,wire=loop,tx_queue_size=128 -- --txd=256 "
				     "--run-time=0.1",
				 out, sizeof(out)),
			     0);
	assert_non_null(strstr(out, "--txd=256: port 0 (sim_vnet0) tx queue 0 takes 64..128 "
				    "descriptors (the device's limit for that queue is 128)"));
	/* Receive queues keep their own, larger, limit. */
	assert_int_equal(run(EAL "--vdev sim_vnet0,wire=loop,tx_queue_size=128 -- --rxd=512 "
				 "--tx-first --run-time=0.1 --output-format=json",
			     out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "\"rx_desc\": [512], \"tx_desc\": [128]}"));
}

/*
 * A SIGINT that comes while EAL and the ports are set up ends the run as one
 * during forwarding does: it is not lost (a background job starts with it
 * ignored) and the run does not go on to its --run-time.
 */
static void test_signal_during_setup(void **state)
{
	static char out[65536];
	double secs;

	(void)state;
	/* Printed from inside EAL init, before any port exists. */
	assert_int_equal(
		run_bounded("--no-huge -m 256 --no-shconf --no-telemetry "
			    "--log-level='*:info' -l 0-1 --vdev sim_vnet0,wire=pair:sim_vnet1 "
			    "--vdev sim_vnet1 -- --forward-mode=rxonly --run-time=60 "
			    "--output-format=json",
			    "EAL: Detected CPU lcores", 20, out, sizeof(out), &secs),
		0);
	assert_non_null(strstr(out, "\"forward_mode\": \"rxonly\""));
	assert_true(secs < 20);
}

/*
 * A receiver whose peer sends nothing, with a wall-clock limit short of its
 * --run-time: at the limit it says what it was doing and what it counted,
 * and exits TP_EXIT_TIME_LIMIT (124) instead of running on.
 */
static void test_time_limit(void **state)
{
	static char out[65536];
	double secs;

	(void)state;
	assert_int_equal(run_bounded(EAL "--vdev sim_vnet0,wire=pair:sim_vnet1 --vdev sim_vnet1 -- "
					 "--forward-mode=rxonly --run-time=60 --time-limit=1 "
					 "--output-format=json",
				     NULL, 20, out, sizeof(out), &secs),
			 124);
	assert_true(secs >= 1);
	assert_non_null(strstr(out, "svio-testpmd: time limit of 1.0 s passed"));
	/* Forwarding, or still setting up on a slow machine: the stage is named either way. */
	assert_true(strstr(out, " while forwarding (") != NULL ||
		    strstr(out, " while setting up the ports") != NULL);
	if (strstr(out, " while forwarding (") != NULL) {
		assert_non_null(strstr(out, "stream 0 (port 0 rxq 0 -> port 1 txq 0): "
					    "rx_packets 0 tx_packets 0 fwd_dropped 0"));
		assert_non_null(strstr(out, "still turning in 0.1 s (its stop did not come)"));
	}
	/* It exited without a report: the JSON object is not there. */
	assert_null(strstr(out, "\"forward_mode\""));
}

static void test_bad_options(void **state)
{
	static char out[65536];

	(void)state;
	assert_int_not_equal(
		run(EAL "--vdev sim_vnet0,wire=loop -- --forward-mode=bogus", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "--forward-mode=bogus"));
	assert_int_not_equal(run(EAL "--vdev sim_vnet0,wire=loop -- --burst=0", out, sizeof(out)),
			     0);
	assert_non_null(strstr(out, "--burst=0"));
	assert_int_not_equal(run(EAL "-- --run-time=0.1", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "no network ports"));
	assert_int_not_equal(
		run(EAL "--vdev sim_vnet0,wire=loop -- --time-limit=0", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "--time-limit=0: expected more than 0 seconds"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_tx_first),
		cmocka_unit_test(test_multiqueue_macswap),
		cmocka_unit_test(test_txonly_rxonly_peer),
		cmocka_unit_test(test_text_layout),
		cmocka_unit_test(test_queue_sizes),
		cmocka_unit_test(test_signal_during_setup),
		cmocka_unit_test(test_time_limit),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
