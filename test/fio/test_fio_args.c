/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fio engine's option parsing, outside fio: fio is no ASan build, so this
 * is where ASan and UBSan see the engine's own string handling.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "svio_fio_args.h"

static void split_words(void **state)
{
	char buf[256], *argv[SVIO_FIO_MAX_ARGS + 1];
	const char *why = NULL, *stray = NULL;
	int argc = 0;

	(void)state;
	assert_int_equal(svio_fio_args_split("  --no-huge -m 512\t--vdev sim_nvme0,size=1G ", buf,
					     sizeof(buf), argv, &argc, &why, &stray),
			 0);
	assert_int_equal(argc, 6);
	assert_string_equal(argv[0], "svio_eal");
	assert_string_equal(argv[1], "--no-huge");
	assert_string_equal(argv[3], "512");
	assert_string_equal(argv[5], "sim_nvme0,size=1G");
	assert_null(argv[6]);
}

static void split_refuses(void **state)
{
	char buf[512], small[12], *argv[SVIO_FIO_MAX_ARGS + 1], many[400];
	const char *why = NULL, *stray = NULL;
	int argc = 0;

	(void)state;
	assert_int_equal(svio_fio_args_split(NULL, buf, sizeof(buf), argv, &argc, &why, &stray),
			 -EINVAL);
	assert_non_null(strstr(why, "empty"));
	assert_int_equal(svio_fio_args_split(" \t ", buf, sizeof(buf), argv, &argc, &why, &stray),
			 -EINVAL);
	assert_int_equal(svio_fio_args_split("--no-huge -m 512", small, sizeof(small), argv, &argc,
					     &why, &stray),
			 -EINVAL);
	assert_non_null(strstr(why, "too long"));
	/* A word after a value, or after an option=value, is a typo. */
	assert_int_equal(svio_fio_args_split("-m 512 extra", buf, sizeof(buf), argv, &argc, &why,
					     &stray),
			 -EINVAL);
	assert_string_equal(stray, "extra");
	assert_int_equal(svio_fio_args_split("--log-level=x:info oops", buf, sizeof(buf), argv,
					     &argc, &why, &stray),
			 -EINVAL);
	assert_string_equal(stray, "oops");
	assert_int_equal(svio_fio_args_split("first", buf, sizeof(buf), argv, &argc, &why, &stray),
			 -EINVAL);
	assert_string_equal(stray, "first");
	/* 64 words with argv[0]: one too many. */
	many[0] = '\0';
	for (int i = 0; i < SVIO_FIO_MAX_ARGS; i++)
		strcat(many, "-x ");
	assert_int_equal(svio_fio_args_split(many, buf, sizeof(buf), argv, &argc, &why, &stray),
			 -EINVAL);
	assert_non_null(strstr(why, "too many"));
	many[strlen(many) - 3] = '\0';
	assert_int_equal(svio_fio_args_split(many, buf, sizeof(buf), argv, &argc, &why, &stray), 0);
	assert_int_equal(argc, SVIO_FIO_MAX_ARGS);
}

static void dma_modes(void **state)
{
	enum svio_fio_dma dma = SVIO_FIO_DMA_SVA;
	const char *why = NULL;

	(void)state;
	assert_int_equal(svio_fio_args_dma(NULL, &dma, &why), 0);
	assert_int_equal(dma, SVIO_FIO_DMA_DEFAULT);
	assert_int_equal(svio_fio_args_dma("sva", &dma, &why), 0);
	assert_int_equal(dma, SVIO_FIO_DMA_SVA);
	assert_int_equal(svio_fio_args_dma("map-per-io", &dma, &why), 0);
	assert_int_equal(dma, SVIO_FIO_DMA_MAP_PER_IO);
	assert_int_equal(svio_fio_args_dma("SVA", &dma, &why), -EINVAL);
	assert_non_null(strstr(why, "sva or map-per-io"));
}

static void targets(void **state)
{
	const char *why = NULL;
	uint32_t nsid = 99;
	char name[16];

	(void)state;
	assert_int_equal(svio_fio_args_target("sim_nvme0/ns1", name, sizeof(name), &nsid, &why), 0);
	assert_string_equal(name, "sim_nvme0");
	assert_int_equal(nsid, 1);
	assert_int_equal(svio_fio_args_target("0000:04:00.0/ns4294967294", name, sizeof(name), &nsid,
					      &why),
			 0);
	assert_string_equal(name, "0000:04:00.0");
	assert_int_equal(nsid, 4294967294u);
	assert_int_equal(svio_fio_args_target("sim_nvme1", name, sizeof(name), &nsid, &why), 0);
	assert_int_equal(nsid, 0);

	const char *bad[] = { "",	       "/ns1",		"sim_nvme0/",	  "sim_nvme0/ns",
			      "sim_nvme0/ns0", "sim_nvme0/ns-1", "sim_nvme0/ns1x", "sim_nvme0/1",
			      "sim_nvme0/ns4294967295",		"a_name_far_too_long/ns1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(svio_fio_args_target(bad[i], name, sizeof(name), &nsid, &why),
				 -EINVAL);
		assert_non_null(why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(split_words),
		cmocka_unit_test(split_refuses),
		cmocka_unit_test(dma_modes),
		cmocka_unit_test(targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
