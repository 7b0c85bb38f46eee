/* SPDX-License-Identifier: BSD-3-Clause */
/* Table-driven tests of svio's option parser: good and bad command lines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_log.h>

#include "eal_private.h"

struct parse_case {
	const char *cmdline; /* words separated by single spaces */
	int rc;
	int consumed;	 /* checked when rc == 0 and >= 0 */
	const char *msg; /* a failure's one-line error must contain this */
};

static int split(const char *cmdline, char **argv, char *buf, size_t bufsz)
{
	int argc = 0;
	char *save, *tok;

	snprintf(buf, bufsz, "prog %s", cmdline);
	for (tok = strtok_r(buf, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return argc;
}

static const struct parse_case cases[] = {
	{ "", 0, 0 },
	{ "--vdev sim_scratch0", 0, 2 },
	{ "--vdev=sim_scratch0,iommu=1", 0, 1 },
	{ "--vdev sim_scratch0 --vdev sim_scratch0", -EINVAL, -1,
	  "--vdev sim_scratch0: device sim_scratch0 is named twice" },
	{ "--vdev sim_scratch0,ats=on --vdev sim_scratch0", -EINVAL, -1,
	  "device sim_scratch0 is named twice" },
	{ "--vdev", -EINVAL, -1, "option --vdev needs a value (expected NAME[,key=val...])" },
	{ "--vdev ,iommu=1", -EINVAL, -1,
	  "--vdev ,iommu=1: no device name (expected NAME[,key=val...])" },
	{ "--vdev=", -EINVAL, -1, "--vdev '': empty value" },
	/* PCI devices are named with -a only. */
	{ "--vdev 0000:01:00.0", -EINVAL, -1, "name PCI devices with -a" },
	{ "--vdev 1:0.0,x=1", -EINVAL, -1, "name PCI devices with -a" },
	{ "--iommu sim", 0, 2 },
	{ "--iommu=iommufd", 0, 1 },
	{ "--iommu=bogus", -EINVAL, -1,
	  "--iommu bogus: unknown backend (expected auto|sim|iommufd)" },
	{ "--iommu", -EINVAL, -1, "option --iommu needs a value" },
	{ "--iommu -- x", -EINVAL, -1, "option --iommu needs a value" },
	{ "--sva off", 0, 2 },
	{ "--sva maybe", -EINVAL, -1, "--sva maybe: not on or off (expected on|off)" },
	{ "--sva on --sva off", -EINVAL, -1, "option --sva given twice" },
	{ "--iommu-flush lazy", 0, 2 },
	{ "--iommu-flush=naive", 0, 1 },
	{ "--iommu-flush=fast", -EINVAL, -1,
	  "--iommu-flush fast: unknown policy (expected strict|lazy|naive)" },
	{ "--iommu-flush-batch 32768", 0, 2 },
	{ "--iommu-flush-batch 32769", -EINVAL, -1,
	  "--iommu-flush-batch 32769: out of range (expected N (1..32768))" },
	{ "--iommu-flush-batch 0", -EINVAL, -1, "--iommu-flush-batch 0: out of range" },
	{ "--iommu-flush-batch -1", -EINVAL, -1, "--iommu-flush-batch -1: not a number" },
	{ "--iommu-flush-batch 12abc", -EINVAL, -1, "--iommu-flush-batch 12abc: not a number" },
	{ "--iommu-flush-batch 99999999999999999999999", -EINVAL, -1,
	  "--iommu-flush-batch 99999999999999999999999: out of range" },
	{ "--iommu-flush-batch 4K", -EINVAL, -1, "--iommu-flush-batch 4K: not a number" },
	{ "--iommu-flush-timeout 5000", 0, 2 },
	{ "--iommu-flush-timeout 10000001", -EINVAL, -1,
	  "--iommu-flush-timeout 10000001: out of range (expected USEC (1..10000000))" },
	{ "--iommu-flsh strict", -EINVAL, -1, "unknown option --iommu-flsh" },
	{ "--svaa on", -EINVAL, -1, "unknown option --svaa" },
	{ "--help=yes", -EINVAL, -1, "option --help takes no value" },
	{ "-a 0000:03:00.0", 0, 2 },
	{ "-a0000:03:00.0", 0, 1 },
	{ "--allow 3:0.1,queues=4", 0, 2 },
	{ "-a 0000:03:00.8", -EINVAL, -1,
	  "--allow 0000:03:00.8: not a PCI address (expected DDDD:BB:DD.F[,key=val...])" },
	{ "-a 03:20.0", -EINVAL, -1, "--allow 03:20.0: not a PCI address" },
	{ "-a 10000:03:00.0", -EINVAL, -1, "--allow 10000:03:00.0: not a PCI address" },
	{ "-a 00000:03:00.0", -EINVAL, -1, "--allow 00000:03:00.0: not a PCI address" },
	{ "-a zz", -EINVAL, -1, "--allow zz: not a PCI address" },
	{ "-a 0000:03:00", -EINVAL, -1, "--allow 0000:03:00: not a PCI address" },
	{ "-a 0000:03:00.0 -a 03:00.0", -EINVAL, -1,
	  "device 0000:03:00.0 is already named by -a or -b" },
	{ "-b 0000:03:00.0 -a 0000:03:00.0", -EINVAL, -1,
	  "device 0000:03:00.0 is already named by -a or -b" },
	{ "-b 0000:03:00.0,x=1", -EINVAL, -1, "a blocked device takes no arguments" },
	{ "--iommu sim -a 0000:01:00.0", -EINVAL, -1, "--iommu sim cannot drive PCI devices (-a)" },
	{ "-l 0-1 --no-huge -- --app-opt", 0, 4 },
	{ "--vdev net_null0 --no-pci", 0, 3 },
};

/* Everything svio logs while one command line is parsed. */
struct log_capture {
	char *text;
	size_t len;
	FILE *f;
};

static void capture_begin(struct log_capture *c)
{
	c->text = NULL;
	c->len = 0;
	c->f = open_memstream(&c->text, &c->len);
	assert_non_null(c->f);
	assert_int_equal(rte_openlog_stream(c->f), 0);
}

static void capture_end(struct log_capture *c)
{
	rte_openlog_stream(NULL);
	fclose(c->f);
}

static unsigned int count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void test_table(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct svio_eal_config cfg;
		struct log_capture log;
		struct eal_argv eal;
		char buf[512], *argv[64];
		int argc = split(cases[i].cmdline, argv, buf, sizeof(buf));
		int consumed = -1;
		int rc;

		capture_begin(&log);
		rc = svio_eal_parse(argc, argv, &cfg, &eal, &consumed);
		capture_end(&log);
		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d, expected %d", cases[i].cmdline, rc, cases[i].rc);
		if (rc == 0) {
			if (cases[i].consumed >= 0 && consumed != cases[i].consumed)
				fail_msg("'%s': consumed %d, expected %d", cases[i].cmdline,
					 consumed, cases[i].consumed);
			if (log.len != 0)
				fail_msg("'%s': accepted but logged '%s'", cases[i].cmdline,
					 log.text);
			svio_eal_config_free(&cfg);
			eal_argv_free(&eal);
		} else {
			/* One line that names the option and what was expected. */
			if (strstr(log.text, cases[i].msg) == NULL || count_lines(log.text) != 1)
				fail_msg("'%s': logged '%s', expected one line with '%s'",
					 cases[i].cmdline, log.text, cases[i].msg);
			/* A failed parse leaves nothing allocated behind. */
			assert_null(eal.argv);
			assert_null(cfg.vdev);
			assert_null(cfg.allow);
		}
		free(log.text);
	}
}

static int eal_has(const struct eal_argv *eal, const char *word)
{
	int i, n = 0;

	for (i = 0; i < eal->argc; i++)
		n += strcmp(eal->argv[i], word) == 0;
	return n;
}

static void parse_ok(const char *cmdline, struct svio_eal_config *cfg, struct eal_argv *eal,
		     char **argv, char *buf, size_t bufsz)
{
	int consumed, argc = split(cmdline, argv, buf, bufsz);

	assert_int_equal(svio_eal_parse(argc, argv, cfg, eal, &consumed), 0);
}

static void test_values(void **state)
{
	struct svio_eal_config cfg;
	struct eal_argv eal;
	char buf[512], *argv[64];

	(void)state;
	parse_ok("--vdev sim_scratch0,iommu=1 --vdev net_null0 -l 0 --iommu iommufd --sva off "
		 "--iommu-flush lazy --iommu-flush-batch 64 --iommu-flush-timeout 500 "
		 "-a 3:0.1,x=y -b 0000:04:00.0",
		 &cfg, &eal, argv, buf, sizeof(buf));
	assert_int_equal(cfg.n_vdev, 1);
	assert_string_equal(cfg.vdev[0], "sim_scratch0,iommu=1");
	assert_int_equal(cfg.n_allow, 1);
	assert_string_equal(cfg.allow[0], "0000:03:00.1,x=y");
	assert_int_equal(cfg.n_block, 1);
	assert_string_equal(cfg.block[0], "0000:04:00.0");
	assert_int_equal(cfg.iommu, SVIO_IOMMU_IOMMUFD);
	assert_false(cfg.domain.sva);
	assert_int_equal(cfg.domain.policy, SVIO_FLUSH_LAZY);
	assert_int_equal(cfg.domain.flush_batch, 64);
	assert_int_equal(cfg.domain.flush_timeout_us, 500);
	/* DPDK gets its own options, the foreign vdev and --no-pci; never svio's. */
	assert_string_equal(eal.argv[0], "prog");
	assert_int_equal(eal_has(&eal, "net_null0"), 1);
	assert_int_equal(eal_has(&eal, "-l"), 1);
	assert_int_equal(eal_has(&eal, "--no-pci"), 1);
	assert_int_equal(eal_has(&eal, "sim_scratch0,iommu=1"), 0);
	assert_int_equal(eal_has(&eal, "--sva"), 0);
	assert_null(eal.argv[eal.argc]);
	svio_eal_config_free(&cfg);
	eal_argv_free(&eal);

	/* Defaults, and --no-pci is not doubled. */
	parse_ok("--no-pci", &cfg, &eal, argv, buf, sizeof(buf));
	assert_true(cfg.domain.sva);
	assert_int_equal(cfg.domain.policy, SVIO_FLUSH_STRICT);
	assert_int_equal(cfg.domain.flush_batch, SVIO_IOMMU_DEFAULT_BATCH);
	assert_int_equal(cfg.domain.flush_timeout_us, SVIO_IOMMU_DEFAULT_TIMEOUT_US);
	assert_int_equal(cfg.iommu, SVIO_IOMMU_AUTO);
	assert_int_equal(eal_has(&eal, "--no-pci"), 1);
	svio_eal_config_free(&cfg);
	eal_argv_free(&eal);

	parse_ok("--help", &cfg, &eal, argv, buf, sizeof(buf));
	assert_true(cfg.help);
	assert_int_equal(eal_has(&eal, "--help"), 1);
	svio_eal_config_free(&cfg);
	eal_argv_free(&eal);
}

static void test_pci_addr(void **state)
{
	char out[13];

	(void)state;
	assert_int_equal(svio_parse_pci_addr("0000:00:1f.7", 12, out), 0);
	assert_string_equal(out, "0000:00:1f.7");
	assert_int_equal(svio_parse_pci_addr("ffff:ff:1F.7", 12, out), 0);
	assert_string_equal(out, "ffff:ff:1f.7");
	assert_int_equal(svio_parse_pci_addr("1:2.3", 5, out), 0);
	assert_string_equal(out, "0000:01:02.3");
	assert_int_equal(svio_parse_pci_addr("0000:100:00.0", 13, out), -EINVAL);
	assert_int_equal(svio_parse_pci_addr("0000:00:00:0", 12, out), -EINVAL);
	assert_int_equal(svio_parse_pci_addr(":00:00.0", 8, out), -EINVAL);
	assert_int_equal(svio_parse_pci_addr("00:00.", 6, out), -EINVAL);
	assert_int_equal(svio_parse_pci_addr("", 0, out), -EINVAL);
}

static void test_usage_lists_every_option(void **state)
{
	static const char *const names[] = { "--allow",
					     "--block",
					     "--vdev",
					     "--iommu ",
					     "--sva",
					     "--iommu-flush ",
					     "--iommu-flush-batch",
					     "--iommu-flush-timeout",
					     "--help" };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	unsigned int i;

	(void)state;
	assert_non_null(f);
	svio_eal_usage(f);
	fclose(f);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strstr(text, names[i]) == NULL)
			fail_msg("--help does not list %s", names[i]);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_lists_every_option),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_pci_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
