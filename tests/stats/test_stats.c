/* Unit tests for src/core/stats.c. Reference numbers were computed independently with
 * /usr/bin/python3 (numpy 1.24, scipy 1.10.1) or by hand, as noted next to each. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/stats.h"

#define ASSERT_NEAR(got, want, tol)                                                             \
	do {                                                                                    \
		double g_ = (got), w_ = (want);                                                 \
		if (!(fabs(g_ - w_) <= (tol))) {                                                \
			print_error("%s = %.17g, want %.17g (tol %g)\n", #got, g_, w_,          \
				    (double)(tol));                                             \
			fail();                                                                 \
		}                                                                               \
	} while (0)

/* numpy.percentile(x, p, method='inverted_cdf') is the nearest-rank definition; these rows are
 * its output for p = 0, 10, 11, 50, 90, 95, 99, 99.9, 100. */
static const double pcts[] = { 0, 10, 11, 50, 90, 95, 99, 99.9, 100 };

static void test_percentile_n1(void **state)
{
	const double one[] = { 7.5 };
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		assert_true(sb_stats_percentile_sorted(one, 1, pcts[i]) == 7.5);
}

static void test_percentile_n10(void **state)
{
	const double x[] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 };
	const double want[] = { 10, 10, 20, 50, 90, 100, 100, 100, 100 };
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		assert_true(sb_stats_percentile_sorted(x, 10, pcts[i]) == want[i]);
}

static void test_percentile_n11(void **state)
{
	const double x[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	const double want[] = { 1, 2, 2, 6, 10, 11, 11, 11, 11 };
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		assert_true(sb_stats_percentile_sorted(x, 11, pcts[i]) == want[i]);
}

static void test_percentile_exact_ranks(void **state)
{
	/* p * n integral must not round up a rank: p95 of 20 is rank 19, p99.9 of 1000 rank 999 */
	double x[1000];
	for (size_t i = 0; i < 1000; i++)
		x[i] = (double)i + 1;
	assert_true(sb_stats_percentile_sorted(x, 20, 95) == 19);
	assert_true(sb_stats_percentile_sorted(x, 1000, 99.9) == 999);
	assert_true(sb_stats_percentile_sorted(x, 100, 99) == 99);
	assert_true(sb_stats_percentile_sorted(x, 1000, 99.95) == 1000);

	/* In doubles 99.9 * 41000 / 100 comes out just above 40959; exact arithmetic
	 * (Python fractions.Fraction('99.9') * 41000 / 100) says rank 40959 */
	double *big = malloc(41000 * sizeof(*big));
	assert_non_null(big);
	for (size_t i = 0; i < 41000; i++)
		big[i] = (double)i + 1;
	assert_true(sb_stats_percentile_sorted(big, 41000, 99.9) == 40959);
	free(big);
}

static void test_min_n_for_percentile(void **state)
{
	/* 1 / (1 - p/100) by hand; 50 -> 1 as documented in stats.h */
	assert_int_equal(sb_stats_min_n_for_percentile(50), 1);
	assert_int_equal(sb_stats_min_n_for_percentile(0), 1);
	assert_int_equal(sb_stats_min_n_for_percentile(90), 10);
	assert_int_equal(sb_stats_min_n_for_percentile(95), 20);
	assert_int_equal(sb_stats_min_n_for_percentile(99), 100);
	assert_int_equal(sb_stats_min_n_for_percentile(99.9), 1000);
	assert_int_equal(sb_stats_min_n_for_percentile(75), 4);
	assert_true(sb_stats_min_n_for_percentile(100) == SIZE_MAX);
}

static void test_confidence_labels(void **state)
{
	/* docs/statistics.md boundaries, checked on both sides */
	assert_string_equal(sb_stats_confidence_label(0), "smoke");
	assert_string_equal(sb_stats_confidence_label(2), "smoke");
	assert_string_equal(sb_stats_confidence_label(3), "iteration");
	assert_string_equal(sb_stats_confidence_label(9), "iteration");
	assert_string_equal(sb_stats_confidence_label(10), "checkpoint");
	assert_string_equal(sb_stats_confidence_label(29), "checkpoint");
	assert_string_equal(sb_stats_confidence_label(30), "p50/p90-grade");
	assert_string_equal(sb_stats_confidence_label(99), "p50/p90-grade");
	assert_string_equal(sb_stats_confidence_label(100), "p95-grade");
	assert_string_equal(sb_stats_confidence_label(499), "p95-grade");
	assert_string_equal(sb_stats_confidence_label(500), "p99-grade");
	assert_string_equal(sb_stats_confidence_label(100000), "p99-grade");
}

static void test_stdev_cv(void **state)
{
	/* numpy: np.std(v, ddof=1) = 2.138089935299395, / np.mean(v) = 0.427617987059879 */
	const double v[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
	struct sb_summary s;
	assert_int_equal(sb_stats_summarize(v, 8, false, 50, &s), 0);
	assert_int_equal(s.n, 8);
	ASSERT_NEAR(s.mean, 5.0, 1e-12);
	ASSERT_NEAR(s.stdev, 2.138089935299395, 1e-12);
	ASSERT_NEAR(s.cv, 0.427617987059879, 1e-12);
	assert_true(s.min == 2 && s.max == 9);
	assert_true(s.warnings & SB_WARN_HIGH_CV);
	/* median 4.5, MAD 0.5 (by hand): 9 has z = 0.6745*4.5/0.5 = 6.07, 2 and 7 only 3.37 */
	assert_int_equal(s.outliers, 1);
}

/* Data 1..n, so the CI bounds are the order-statistic indices themselves. References from
 * scipy.stats.binom: the largest k with 1 - 2*binom.cdf(k-1, n, 0.5) >= 0.95. */
static void check_median_ci(size_t n, double want_lo, double want_hi, double want_cov)
{
	double x[100], lo, hi, cov;
	for (size_t i = 0; i < n; i++)
		x[i] = (double)i + 1;
	sb_stats_median_ci_sorted(x, n, 0.95, &lo, &hi, &cov);
	assert_true(lo == want_lo);
	assert_true(hi == want_hi);
	ASSERT_NEAR(cov, want_cov, 1e-12);
}

static void test_median_ci(void **state)
{
	check_median_ci(10, 2, 9, 0.978515625);
	check_median_ci(30, 10, 21, 0.9572260547429323);
	check_median_ci(100, 40, 61, 0.9647997997822951);
	/* n = 6: (x1, x6) covers 1 - 2/64 = 0.96875 >= 0.95 */
	check_median_ci(6, 1, 6, 0.96875);
	/* n = 5 cannot reach 95 %: min..max with its 1 - 2/32 = 0.9375 */
	check_median_ci(5, 1, 5, 0.9375);
	check_median_ci(1, 1, 1, 0.0);
	/* n = 2: min..max, 1 - 2/4 */
	check_median_ci(2, 1, 2, 0.5);
}

static void test_mad(void **state)
{
	/* scipy.stats.median_abs_deviation([1,2,3,4,100,6,7,8,9.5]) = 3.0 */
	const double m[] = { 1, 2, 3, 4, 100, 6, 7, 8, 9.5 };
	ASSERT_NEAR(sb_stats_mad(m, 9), 3.0, 1e-12);
	/* even n: median 2.5, deviations 1.5 .5 .5 1.5 -> MAD 1 (by hand) */
	const double e[] = { 4, 1, 3, 2 };
	ASSERT_NEAR(sb_stats_mad(e, 4), 1.0, 1e-12);
}

static void test_outliers(void **state)
{
	/* median 11, MAD 1 (by hand): 50 has z = 0.6745*39 = 26.3, 14 has z = 2.02 (kept) */
	const double v[] = { 10, 11, 10, 12, 11, 10, 11, 50, 14, 12, 11 };
	struct sb_summary s;
	assert_int_equal(sb_stats_summarize(v, 11, false, 50, &s), 0);
	assert_int_equal(s.outliers, 1);
	assert_true(s.warnings & SB_WARN_OUTLIERS);
	assert_false(s.warnings & SB_WARN_SLOW_FIRST); /* the outlier is not first */

	/* z exactly around the limit: median 10, MAD 1, so 15.18 -> z = 0.6745*5.18 = 3.4939 (kept)
	 * and 15.19 -> z = 0.6745*5.19 = 3.5007 (flagged) */
	const double near_keep[] = { 9, 10, 11, 9, 10, 11, 10, 15.18 };
	const double near_flag[] = { 9, 10, 11, 9, 10, 11, 10, 15.19 };
	assert_int_equal(sb_stats_summarize(near_keep, 8, false, 50, &s), 0);
	assert_int_equal(s.outliers, 0);
	assert_int_equal(sb_stats_summarize(near_flag, 8, false, 50, &s), 0);
	assert_int_equal(s.outliers, 1);
}

static void test_outliers_mad_zero(void **state)
{
	/* MAD is 0 (most samples equal); the mean-absolute-deviation fallback still flags 100:
	 * median 5, mean |dev| = 95/8, z = 0.7979*95/(95/8) = 6.38 */
	const double v[] = { 5, 5, 5, 5, 5, 5, 5, 100 };
	struct sb_summary s;
	assert_int_equal(sb_stats_summarize(v, 8, false, 50, &s), 0);
	assert_int_equal(s.outliers, 1);
}

static void test_slow_first(void **state)
{
	struct sb_summary s;
	/* latency: a high first sample is slow when lower is better ... */
	const double lat[] = { 100, 10, 11, 10, 12, 11, 10, 11, 12, 10 };
	assert_int_equal(sb_stats_summarize(lat, 10, false, 50, &s), 0);
	assert_true(s.warnings & SB_WARN_SLOW_FIRST);
	assert_true(s.warnings & SB_WARN_OUTLIERS);
	/* ... and merely fast when higher is better */
	assert_int_equal(sb_stats_summarize(lat, 10, true, 50, &s), 0);
	assert_false(s.warnings & SB_WARN_SLOW_FIRST);
	assert_true(s.warnings & SB_WARN_OUTLIERS);

	/* throughput: a low first sample is slow when higher is better */
	const double thr[] = { 1, 100, 101, 100, 102, 101, 100, 101, 102, 100 };
	assert_int_equal(sb_stats_summarize(thr, 10, true, 50, &s), 0);
	assert_true(s.warnings & SB_WARN_SLOW_FIRST);
	assert_int_equal(sb_stats_summarize(thr, 10, false, 50, &s), 0);
	assert_false(s.warnings & SB_WARN_SLOW_FIRST);

	/* a first sample that is not an outlier raises nothing */
	const double calm[] = { 12, 10, 11, 10, 12, 11, 10, 11, 12, 10 };
	assert_int_equal(sb_stats_summarize(calm, 10, false, 50, &s), 0);
	assert_int_equal(s.warnings, 0);
}

static void test_few_samples(void **state)
{
	double v[100];
	for (size_t i = 0; i < 100; i++)
		v[i] = 100 + (double)(i % 5);
	struct sb_summary s;
	assert_int_equal(sb_stats_summarize(v, 19, false, 95, &s), 0);
	assert_true(s.warnings & SB_WARN_FEW_SAMPLES);
	assert_int_equal(sb_stats_summarize(v, 20, false, 95, &s), 0);
	assert_false(s.warnings & SB_WARN_FEW_SAMPLES);
	assert_int_equal(sb_stats_summarize(v, 99, false, 99, &s), 0);
	assert_true(s.warnings & SB_WARN_FEW_SAMPLES);
	assert_int_equal(sb_stats_summarize(v, 100, false, 99, &s), 0);
	assert_false(s.warnings & SB_WARN_FEW_SAMPLES);
	assert_string_equal(s.confidence, "p95-grade");
}

static void test_high_cv_boundary(void **state)
{
	/* {9, 11}: sd = sqrt(2) = 1.414, cv = 0.1414 > 10 %; {9.9, 10.1}: cv = 0.01414 */
	const double hi[] = { 9, 11 }, lo[] = { 9.9, 10.1 };
	struct sb_summary s;
	assert_int_equal(sb_stats_summarize(hi, 2, false, 50, &s), 0);
	ASSERT_NEAR(s.cv, sqrt(2.0) / 10.0, 1e-12);
	assert_true(s.warnings & SB_WARN_HIGH_CV);
	assert_int_equal(sb_stats_summarize(lo, 2, false, 50, &s), 0);
	assert_false(s.warnings & SB_WARN_HIGH_CV);
	/* n = 2: nearest-rank p50 is the lower value, smoke label, no outliers possible */
	assert_true(s.p50 == 9.9);
	assert_true(s.p99 == 10.1);
	assert_string_equal(s.confidence, "smoke");
	assert_int_equal(s.outliers, 0);
}

static void test_identical_samples(void **state)
{
	double v[10];
	for (size_t i = 0; i < 10; i++)
		v[i] = 0.1;
	struct sb_summary s;
	assert_int_equal(sb_stats_summarize(v, 10, false, 50, &s), 0);
	/* exactly, not approximately: no spurious variance from summation order */
	assert_true(s.mean == 0.1);
	assert_true(s.stdev == 0);
	assert_true(s.cv == 0);
	assert_int_equal(s.outliers, 0);
	assert_int_equal(s.warnings, 0);
	assert_true(s.median_ci_lo == 0.1 && s.median_ci_hi == 0.1);
}

static void test_single_sample(void **state)
{
	const double v[] = { 42 };
	struct sb_summary s;
	assert_int_equal(sb_stats_summarize(v, 1, false, 99, &s), 0);
	assert_true(s.mean == 42 && s.min == 42 && s.max == 42 && s.p50 == 42 && s.p999 == 42);
	assert_true(s.stdev == 0 && s.cv == 0);
	assert_string_equal(s.confidence, "smoke");
	assert_true(s.warnings == SB_WARN_FEW_SAMPLES);
	assert_true(s.median_ci_lo == 42 && s.median_ci_hi == 42);
}

static void test_zero_mean(void **state)
{
	const double v[] = { -1, 1, -1, 1 };
	struct sb_summary s;
	assert_int_equal(sb_stats_summarize(v, 4, false, 50, &s), 0);
	assert_true(s.mean == 0);
	assert_true(s.cv == 0); /* documented: 0 rather than a division by zero */
	assert_false(s.warnings & SB_WARN_HIGH_CV);
}

static void test_summary_percentiles_unsorted(void **state)
{
	/* the input order must not matter and must not be modified */
	double v[] = { 5, 3, 9, 1, 7, 2, 8, 4, 6, 10 };
	double copy[10];
	memcpy(copy, v, sizeof(v));
	struct sb_summary s;
	assert_int_equal(sb_stats_summarize(v, 10, false, 90, &s), 0);
	assert_memory_equal(v, copy, sizeof(v));
	assert_true(s.p50 == 5 && s.p90 == 9 && s.p95 == 10 && s.p99 == 10);
	/* n = 10 CI from test_median_ci: (x_(2), x_(9)) */
	assert_true(s.median_ci_lo == 2 && s.median_ci_hi == 9);
	ASSERT_NEAR(s.median_ci_level, 0.978515625, 1e-12);
	assert_string_equal(s.confidence, "checkpoint");
}

static void test_bad_input(void **state)
{
	const double nan_v[] = { 1, NAN, 3 }, inf_v[] = { 1, INFINITY }, ok[] = { 1 };
	struct sb_summary s;
	assert_int_equal(sb_stats_summarize(ok, 0, false, 50, &s), -EINVAL);
	assert_int_equal(sb_stats_summarize(nan_v, 3, false, 50, &s), -EINVAL);
	assert_int_equal(sb_stats_summarize(inf_v, 2, false, 50, &s), -EINVAL);
	assert_int_equal(sb_stats_summarize(NULL, 1, false, 50, &s), -EINVAL);
}

static void test_warning_names(void **state)
{
	char buf[128];
	sb_stats_warning_names(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	sb_stats_warning_names(SB_WARN_OUTLIERS | SB_WARN_HIGH_CV, buf, sizeof(buf));
	assert_string_equal(buf, "outliers,high-cv");
	sb_stats_warning_names(SB_WARN_OUTLIERS | SB_WARN_SLOW_FIRST | SB_WARN_HIGH_CV |
				       SB_WARN_FEW_SAMPLES,
			       buf, sizeof(buf));
	assert_string_equal(buf, "outliers,slow-first-run,high-cv,few-samples");
	/* truncation keeps a terminated string */
	char tiny[6];
	sb_stats_warning_names(SB_WARN_OUTLIERS | SB_WARN_HIGH_CV, tiny, sizeof(tiny));
	assert_true(strlen(tiny) < sizeof(tiny));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentile_n1),
		cmocka_unit_test(test_percentile_n10),
		cmocka_unit_test(test_percentile_n11),
		cmocka_unit_test(test_percentile_exact_ranks),
		cmocka_unit_test(test_min_n_for_percentile),
		cmocka_unit_test(test_confidence_labels),
		cmocka_unit_test(test_stdev_cv),
		cmocka_unit_test(test_median_ci),
		cmocka_unit_test(test_mad),
		cmocka_unit_test(test_outliers),
		cmocka_unit_test(test_outliers_mad_zero),
		cmocka_unit_test(test_slow_first),
		cmocka_unit_test(test_few_samples),
		cmocka_unit_test(test_high_cv_boundary),
		cmocka_unit_test(test_identical_samples),
		cmocka_unit_test(test_single_sample),
		cmocka_unit_test(test_zero_mean),
		cmocka_unit_test(test_summary_percentiles_unsorted),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_warning_names),
	};
	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
