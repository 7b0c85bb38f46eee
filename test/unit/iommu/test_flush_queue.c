/* SPDX-License-Identifier: BSD-3-Clause */
/* The bounded flush queue: capacity, tickets in order, full, partial writes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "flush_queue.h"

static void test_fill_drain_wrap(void **state)
{
	struct flush_queue fq;
	struct fq_entry e = { 0 }, out;
	uint64_t ticket;

	(void)state;
	assert_int_equal(fq_init(&fq, 5), 0);
	assert_int_equal(fq_capacity(&fq), 8);
	assert_false(fq_pop(&fq, &out));
	/* Three rounds so positions wrap around the cells. */
	for (uint64_t round = 0; round < 3; round++) {
		for (uint64_t i = 0; i < 8; i++) {
			e.iova = round * 100 + i;
			assert_int_equal(fq_push(&fq, &e, &ticket), 0);
			assert_int_equal(ticket, round * 8 + i);
		}
		assert_int_equal(fq_push(&fq, &e, &ticket), -EAGAIN);
		assert_int_equal(fq_count(&fq), 8);
		assert_int_equal(fq_tail(&fq), round * 8 + 8);
		for (uint64_t i = 0; i < 8; i++) {
			assert_true(fq_pop(&fq, &out));
			assert_int_equal(out.iova, round * 100 + i);
			assert_int_equal(out.ticket, round * 8 + i);
		}
		assert_false(fq_pop(&fq, &out));
		assert_int_equal(fq_count(&fq), 0);
	}
	fq_fini(&fq);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill_drain_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
