/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK memory follower (dpdk_mem.h) on legacy memory (--no-huge): a
 * client starting to follow is handed every memseg run whole, once; a second
 * start is refused; a client whose added() fails follows nothing and the
 * call fails with its errno; clients follow and stop independently.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_memory.h>

#include "dpdk_mem.h"
#include "svio_test_dpdk_mem.h"

struct recorder {
	unsigned int calls;
	uint64_t bytes;
	int fail_with; /* added() answers this when non-zero */
};

static int rec_added(struct dpdk_mem_client *c, uint64_t va, uint64_t len, uint64_t gran)
{
	struct recorder *r = c->ctx;

	(void)va;
	r->calls++;
	if (r->fail_with != 0)
		return r->fail_with;
	/* Legacy memory is never given back: each run comes whole. */
	assert_int_equal(gran, len);
	r->bytes += len;
	return 0;
}

static void rec_freed(struct dpdk_mem_client *c, uint64_t va, uint64_t len, uint64_t gran)
{
	(void)c, (void)va, (void)len, (void)gran;
	fail_msg("legacy memory is never given back");
}

static void test_follow(void **state)
{
	struct recorder ra = { 0 }, rb = { .fail_with = -ENOSPC };
	struct dpdk_mem_client a = {
		.name = "a", .added = rec_added, .freed = rec_freed, .ctx = &ra
	};
	struct dpdk_mem_client b = {
		.name = "b", .added = rec_added, .freed = rec_freed, .ctx = &rb
	};
	uint64_t total = svio_test_dpdk_bytes();

	(void)state;
	assert_true(dpdk_mem_known());
	assert_true(total > 0 && total != UINT64_MAX);

	assert_int_equal(dpdk_mem_follow(&a), 0);
	assert_true(a.following);
	assert_true(ra.calls > 0);
	assert_true(ra.bytes == total);
	assert_int_equal(dpdk_mem_follow(&a), -EALREADY);
	assert_true(ra.bytes == total); /* not handed twice */

	/* The first failing added() stops the walk and fails the start with its errno. */
	assert_int_equal(dpdk_mem_follow(&b), -ENOSPC);
	assert_false(b.following);
	assert_int_equal(rb.calls, 1);
	dpdk_mem_unfollow(&b); /* not following: nothing happens */

	rb.fail_with = 0;
	assert_int_equal(dpdk_mem_follow(&b), 0);
	assert_true(rb.bytes == total);
	dpdk_mem_unfollow(&a);
	assert_false(a.following);
	assert_true(b.following);
	dpdk_mem_unfollow(&b);
	assert_false(b.following);

	/* After stopping, a start hands everything again. */
	ra = (struct recorder){ 0 };
	assert_int_equal(dpdk_mem_follow(&a), 0);
	assert_true(ra.bytes == total);
	dpdk_mem_unfollow(&a);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follow),
	};
	char *eal[] = { argv[0],	  "--no-huge",		 "-m", "64", "--no-shconf",
			"--no-telemetry", "--log-level=*:error", NULL };
	int rc;

	(void)argc;
	/* Before rte_eal_init() the memory mode is not known yet. */
	if (dpdk_mem_known())
		return 1;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
