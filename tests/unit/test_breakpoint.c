/* The density breakpoint from handcrafted samples (values chosen so nearest-rank p95 is obvious:
 * with 20 samples, p95 is the 19th smallest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scenarios/breakpoint.h"

/* 20 samples: nineteen at `base`, one at `tail` (the max, excluded from the nearest-rank p95). */
static void fill(double *v, double base, double tail)
{
	for (int i = 0; i < 19; i++)
		v[i] = base + i * 0.001;
	v[19] = tail;
}

static void test_highest_within_threshold(void **state)
{
	double c1[20], c2[20], c4[20], c8[20];
	fill(c1, 1.0, 50.0);  /* p95 = 1.018 despite a huge max */
	fill(c2, 1.5, 1.5);
	fill(c4, 2.0, 2.0);   /* p95 = 2.018 <= 2.036 */
	fill(c8, 2.1, 2.1);   /* p95 = 2.118 > 2.036 */
	unsigned levels[] = {1, 2, 4, 8};
	const double *values[] = {c1, c2, c4, c8};
	size_t counts[] = {20, 20, 20, 20};
	struct sb_breakpoint bp;
	sb_breakpoint_compute(levels, values, counts, 4, 2.0, &bp);
	assert_true(bp.found);
	assert_int_equal(bp.level, 4);
	assert_float_equal(bp.baseline_p95, 1.018, 1e-12);
	assert_float_equal(bp.threshold_p95, 2.036, 1e-12);
	assert_int_equal(bp.first_crossing, 8);
	assert_int_equal(bp.min_samples, 20);
}

static void test_every_level_under_threshold(void **state)
{
	double c1[20], c2[20], c4[20];
	fill(c1, 1.0, 1.0);
	fill(c2, 1.1, 1.1);
	fill(c4, 1.9, 1.9);
	unsigned levels[] = {4, 1, 2}; /* order does not matter */
	const double *values[] = {c4, c1, c2};
	size_t counts[] = {20, 20, 20};
	struct sb_breakpoint bp;
	sb_breakpoint_compute(levels, values, counts, 3, 2.0, &bp);
	assert_true(bp.found);
	assert_int_equal(bp.level, 4);
	assert_int_equal(bp.first_crossing, 0);
}

static void test_no_level_one(void **state)
{
	double c2[20], c4[20];
	fill(c2, 1.0, 1.0);
	fill(c4, 1.0, 1.0);
	unsigned levels[] = {2, 4};
	const double *values[] = {c2, c4};
	size_t counts[] = {20, 20};
	struct sb_breakpoint bp;
	sb_breakpoint_compute(levels, values, counts, 2, 2.0, &bp);
	assert_false(bp.found);
	assert_non_null(strstr(bp.reason, "no level-1 samples"));

	/* A level 1 declared but with zero samples is the same as none. */
	unsigned levels2[] = {1, 2};
	size_t counts2[] = {0, 20};
	sb_breakpoint_compute(levels2, values, counts2, 2, 2.0, &bp);
	assert_false(bp.found);
	assert_int_equal(bp.min_samples, 0);
}

static void test_only_baseline_and_min_samples(void **state)
{
	double c1[20], c2[20];
	fill(c1, 1.0, 1.0);
	fill(c2, 5.0, 5.0);
	unsigned levels[] = {1, 2};
	const double *values[] = {c1, c2};
	size_t counts[] = {20, 7};
	struct sb_breakpoint bp;
	sb_breakpoint_compute(levels, values, counts, 2, 2.0, &bp);
	assert_true(bp.found);
	assert_int_equal(bp.level, 1); /* level 1 is always within 2x of itself */
	assert_int_equal(bp.first_crossing, 2);
	assert_int_equal(bp.min_samples, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_highest_within_threshold),
		cmocka_unit_test(test_every_level_under_threshold),
		cmocka_unit_test(test_no_level_one),
		cmocka_unit_test(test_only_baseline_and_min_samples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
