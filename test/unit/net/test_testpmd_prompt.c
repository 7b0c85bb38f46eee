/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio-testpmd's interactive prompt driven through stdin: start tx_first,
 * show port stats all, stop, the refusals (start twice, stop twice, an
 * unknown command), quit; end of input leaves like quit; -i without a worker
 * lcore is refused.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#define EAL                                                                  \
	"--no-huge -m 256 --no-shconf --no-telemetry --log-level='*:error' " \
	"--vdev sim_vnet0,wire=pair:sim_vnet1 --vdev sim_vnet1 "

static char out[1 << 16];

/* Feed @p input to svio-testpmd @p args; returns its exit status, output in out. */
static int run(const char *input, const char *args)
{
	char cmd[1024];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "printf '%s' | %s %s 2>&1", input, TESTPMD_PATH, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (n + 1 < sizeof(out) && !feof(p))
		n += fread(out + n, 1, sizeof(out) - 1 - n, p);
	out[n] = '\0';
	st = pclose(p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "%s\n", out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The number after @p key following @p from, as text. */
static uint64_t number_after(const char *from, const char *key)
{
	const char *at = strstr(from, key);

	assert_non_null(at);
	return strtoull(at + strlen(key), NULL, 10);
}

static void test_session(void **state)
{
	const char *stop, *show;

	(void)state;
	assert_int_equal(run("start tx_first\\nstart\\nshow port stats all\\nstop\\nstop\\n"
			     "bogus\\nquit\\n",
			     EAL "-l 0-1 -- -i --forward-mode=io"),
			 0);
	assert_non_null(strstr(out, "io packet forwarding - ports=2 - cores=1 - streams=2"));
	assert_non_null(strstr(out, "Packet forwarding already started"));
	show = strstr(out, "NIC statistics for port 1");
	assert_non_null(show);
	assert_non_null(strstr(out, "NIC statistics for port 0"));
	/* The tx_first burst (32 frames per stream) is in the run stop reports. */
	stop = strstr(out, "Forward statistics for port 0");
	assert_non_null(stop);
	assert_true(stop > show);
	assert_true(number_after(stop, "TX-packets: ") >= 32);
	assert_non_null(strstr(stop, "Forward statistics for port 1"));
	assert_non_null(strstr(stop, "Packet forwarding not started"));
	assert_non_null(strstr(stop, "Command not found"));
	assert_non_null(strstr(stop, "Bye..."));
}

/* End of input while forwarding: stopped and reported, as quit would. */
static void test_end_of_input(void **state)
{
	(void)state;
	assert_int_equal(run("start\\n", EAL "-l 0-1 -- -i --forward-mode=txonly"), 0);
	assert_non_null(strstr(out, "txonly packet forwarding"));
	assert_non_null(strstr(out, "Accumulated forward statistics for all ports"));
	assert_non_null(strstr(out, "Bye..."));
}

/* --auto-start with -i: forwarding runs before the first command. */
static void test_auto_start(void **state)
{
	(void)state;
	assert_int_equal(run("start\\nquit\\n",
			     EAL "-l 0-1 -- -i --auto-start --tx-first --forward-mode=io"),
			 0);
	assert_non_null(strstr(out, "Packet forwarding already started"));
	assert_true(number_after(strstr(out, "Forward statistics for port 1"), "TX-packets: ") >=
		    32);
}

static void test_needs_worker(void **state)
{
	(void)state;
	assert_int_not_equal(run("quit\\n", EAL "-l 0 -- -i"), 0);
	assert_non_null(strstr(out, "-i: the prompt takes the main lcore"));
}

/* Not part of the prompt, but of what the ping test relies on: a bad --ip-addr is refused. */
static void test_bad_ip_addr(void **state)
{
	(void)state;
	assert_int_not_equal(run("", EAL "-l 0 -- --forward-mode=icmpecho --ip-addr=10.77.0"), 0);
	assert_non_null(strstr(out, "--ip-addr=10.77.0: expected an IPv4 address"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session),	    cmocka_unit_test(test_end_of_input),
		cmocka_unit_test(test_auto_start),  cmocka_unit_test(test_needs_worker),
		cmocka_unit_test(test_bad_ip_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
