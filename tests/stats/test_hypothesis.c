/* Unit tests for src/core/hypothesis.c. Every reference value was computed independently with
 * /usr/bin/python3 and scipy 1.10.1 / numpy (calls noted next to each), or by brute-force
 * enumeration in Python where scipy has no direct equivalent, or by hand. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/hypothesis.h"

#define ASSERT_NEAR(got, want, tol)                                                             \
	do {                                                                                    \
		double g_ = (got), w_ = (want);                                                 \
		if (!(fabs(g_ - w_) <= (tol))) {                                                \
			print_error("%s = %.17g, want %.17g (tol %g)\n", #got, g_, w_,          \
				    (double)(tol));                                             \
			fail();                                                                 \
		}                                                                               \
	} while (0)
#define ASSERT_REL(got, want, rel) ASSERT_NEAR(got, want, fabs(want) * (rel))
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* numpy.random.default_rng(20240601): normal(10, 2, 12) and normal(11.5, 2, 15), 3 decimals */
static const double mw_a[] = { 11.296, 10.939, 8.714, 7.643, 9.711, 12.407,
			       12.667, 11.817, 10.693, 13.2,  12.466, 9.559 };
static const double mw_b[] = { 9.376,  10.771, 10.66,  12.875, 7.702,  11.117, 14.842, 9.659,
			       9.983,  11.331, 8.664,  11.241, 11.469, 11.491, 9.523 };
/* same generator: integers(0, 6, 20) and integers(1, 8, 25), heavily tied */
static const double mwt_a[] = { 1, 0, 5, 5, 3, 4, 4, 1, 2, 1, 3, 0, 1, 5, 5, 2, 4, 1, 0, 4 };
static const double mwt_b[] = { 2, 7, 2, 7, 2, 3, 6, 2, 2, 4, 6, 4, 3,
				3, 6, 7, 4, 1, 5, 6, 3, 2, 5, 3, 7 };
/* normal(0.8, 1.5, 10), 3 decimals: distinct |d|, no zeros */
static const double w_d[] = { 1.064, 2.66, 1.132, 0.227, -1.377, 2.028, 1.116, -0.147, 2.092, 3.161 };
/* normal(0.3, 1, 60), 3 decimals: distinct |d|, no zeros */
static const double w_d2[] = {
	-1.332, 0.89,   1.146,  0.881, 1.902,  0.925,  -0.604, 4.1,    0.446,  1.782,
	2.266,  1.181,  -1.498, -1.404, -0.378, 0.334, -1.089, -0.637, -0.145, -0.175,
	0.489,  0.373,  0.261,  -0.318, -0.532, -1.611, 1.567,  0.495,  0.67,   -1.417,
	1.051,  0.212,  1.268,  -0.386, 1.298,  1.739,  0.13,   -0.005, -0.1,   0.436,
	3.04,   0.252,  0.951,  -1.182, -2.028, 0.461,  0.201,  1.519,  -2.033, 0.716,
	-1.453, 2.058,  1.061,  -0.677, 1.03,   1.191,  0.418,  1.844,  1.274,  0.221,
};
/* integers(-3, 6, 30): ties and three zeros */
static const double w_d3[] = { 3, 4, 2, 2, 3, 1, 2, 1, -1, 0, 1, -3, 3, 2, -1,
			       0, 3, -3, 3, 3, 5, -3, 4, 5, 0, 1, 5, -2, 2, -3 };

/* ---- distributions ---- */

static void test_t_quantiles(void **state)
{
	/* scipy.stats.t.ppf(p, df) */
	static const struct {
		double df, q975, q995;
	} ref[] = {
		{ 1, 12.706204736432095, 63.65674116287399 },
		{ 2, 4.302652729911275, 9.92484320091807 },
		{ 5, 2.5705818366147395, 4.032142983557536 },
		{ 30, 2.0422724563012373, 2.7499956535670305 },
		{ 1e6, 1.9599663568141066, 2.575834220105334 },
	};
	for (size_t i = 0; i < N(ref); i++) {
		ASSERT_REL(sb_student_t_quantile(0.975, ref[i].df), ref[i].q975, 1e-9);
		ASSERT_REL(sb_student_t_quantile(0.995, ref[i].df), ref[i].q995, 1e-9);
		/* symmetry */
		ASSERT_REL(sb_student_t_quantile(0.025, ref[i].df), -ref[i].q975, 1e-9);
	}
	/* real df and a far tail: t.ppf(0.9, 2.5), t.ppf(1e-10, 3) */
	ASSERT_REL(sb_student_t_quantile(0.9, 2.5), 1.730250928807177, 1e-9);
	ASSERT_REL(sb_student_t_quantile(1e-10, 3), -2225.769284683086, 1e-8);
	assert_true(sb_student_t_quantile(0.5, 7) == 0);
	assert_true(isinf(sb_student_t_quantile(1, 7)));
	assert_true(isnan(sb_student_t_quantile(0.5, 0)));
	assert_true(isnan(sb_student_t_quantile(1.5, 3)));
}

static void test_t_cdf(void **state)
{
	/* t.cdf(1.5, 2.5), t.sf(40, 7), t.cdf(-3, 1e6) */
	ASSERT_REL(sb_student_t_cdf(1.5, 2.5), 0.876081773456852, 1e-10);
	ASSERT_REL(sb_student_t_sf(40, 7), 7.951089992425214e-10, 1e-8);
	ASSERT_REL(sb_student_t_cdf(-3, 1e6), 0.0013499312707108977, 1e-7);
	ASSERT_NEAR(sb_student_t_cdf(0, 3), 0.5, 1e-15);
	/* round trip */
	ASSERT_REL(sb_student_t_cdf(sb_student_t_quantile(0.3, 4.5), 4.5), 0.3, 1e-12);
}

static void test_normal_and_beta(void **state)
{
	/* scipy.stats.norm.ppf(0.975), norm.ppf(1e-12), norm.ppf(0.3) */
	ASSERT_REL(sb_normal_quantile(0.975), 1.959963984540054, 1e-13);
	ASSERT_REL(sb_normal_quantile(1e-12), -7.034483825301131, 1e-12);
	ASSERT_REL(sb_normal_quantile(0.3), -0.5244005127080409, 1e-12);
	ASSERT_NEAR(sb_normal_cdf(1.959963984540054), 0.975, 1e-15);
	ASSERT_NEAR(sb_normal_sf(0), 0.5, 1e-16);
	/* scipy.special.betainc(2.5, 3.5, 0.4) */
	ASSERT_REL(sb_beta_inc_reg(2.5, 3.5, 0.4), 0.4869041915261175, 1e-13);
	assert_true(sb_beta_inc_reg(2, 3, 0) == 0 && sb_beta_inc_reg(2, 3, 1) == 1);
	assert_true(isnan(sb_beta_inc_reg(-1, 3, 0.5)));
}

/* ---- Mann-Whitney ---- */

static void test_mw_exact(void **state)
{
	/* scipy.stats.mannwhitneyu(mw_a, mw_b, method='exact'): U1 = 102, p = 0.5806391675956895 */
	struct sb_mw_result r;
	assert_int_equal(sb_mann_whitney(mw_a, N(mw_a), mw_b, N(mw_b), SB_TEST_AUTO, &r), 0);
	assert_int_equal(r.method, SB_TEST_EXACT);
	assert_false(r.ties);
	ASSERT_NEAR(r.u1, 102, 1e-12);
	ASSERT_NEAR(r.u2, 12 * 15 - 102, 1e-12);
	ASSERT_REL(r.p, 0.5806391675956895, 1e-10);
	ASSERT_NEAR(r.cles, 102.0 / 180.0, 1e-12);
	ASSERT_NEAR(r.rank_biserial, 2 * 102.0 / 180.0 - 1, 1e-12);

	/* 3 x 4 by hand and mannwhitneyu(method='exact'): U1 = 3, p = 0.4 */
	const double a[] = { 1.1, 2.2, 3.3 }, b[] = { 4.4, 5.5, 6.6, 0.5 };
	assert_int_equal(sb_mann_whitney(a, 3, b, 4, SB_TEST_AUTO, &r), 0);
	ASSERT_NEAR(r.u1, 3, 1e-12);
	ASSERT_REL(r.p, 0.4, 1e-12);

	/* complete separation 5 vs 5: p = 2 / C(10,5) = 2/252 by hand */
	const double lo[] = { 1, 2, 3, 4, 5 }, hi[] = { 6, 7, 8, 9, 10 };
	assert_int_equal(sb_mann_whitney(hi, 5, lo, 5, SB_TEST_AUTO, &r), 0);
	ASSERT_REL(r.p, 2.0 / 252.0, 1e-12);
	ASSERT_NEAR(r.rank_biserial, 1.0, 1e-15);
}

static void test_mw_normal(void **state)
{
	/* mannwhitneyu(mw_a, mw_b, method='asymptotic', use_continuity=True) */
	struct sb_mw_result r;
	assert_int_equal(sb_mann_whitney(mw_a, N(mw_a), mw_b, N(mw_b), SB_TEST_NORMAL, &r), 0);
	assert_int_equal(r.method, SB_TEST_NORMAL);
	ASSERT_REL(r.p, 0.5747003688897911, 1e-10);

	/* ties force the approximation even under AUTO / EXACT: U1 = 147.5,
	 * p = 0.01865155184185256 (asymptotic, continuity, tie-corrected variance) */
	for (int m = SB_TEST_AUTO; m <= SB_TEST_EXACT; m++) {
		assert_int_equal(sb_mann_whitney(mwt_a, N(mwt_a), mwt_b, N(mwt_b),
						 (enum sb_test_method)m, &r), 0);
		assert_int_equal(r.method, SB_TEST_NORMAL);
		assert_true(r.ties);
		ASSERT_NEAR(r.u1, 147.5, 1e-12);
		ASSERT_REL(r.p, 0.01865155184185256, 1e-10);
		assert_true(r.rank_biserial < 0); /* a is the smaller sample */
	}
}

static void test_mw_degenerate(void **state)
{
	struct sb_mw_result r;
	const double same[] = { 5, 5, 5, 5 };
	assert_int_equal(sb_mann_whitney(same, 4, same, 3, SB_TEST_AUTO, &r), 0);
	ASSERT_NEAR(r.p, 1.0, 0);
	ASSERT_NEAR(r.u1, 6, 1e-12); /* every pair tied: half of 4*3 */
	ASSERT_NEAR(r.cles, 0.5, 1e-15);

	/* n1 = n2 = 1: U is 0 or 1 with probability 1/2 each, so p = 1 */
	const double x[] = { 1 }, y[] = { 2 };
	assert_int_equal(sb_mann_whitney(x, 1, y, 1, SB_TEST_AUTO, &r), 0);
	ASSERT_NEAR(r.p, 1.0, 1e-15);
	ASSERT_NEAR(r.u1, 0, 0);

	/* n = 2 vs 2, separated: p = 2 / C(4,2) = 1/3 */
	const double p2[] = { 1, 2 }, q2[] = { 3, 4 };
	assert_int_equal(sb_mann_whitney(p2, 2, q2, 2, SB_TEST_AUTO, &r), 0);
	ASSERT_NEAR(r.p, 1.0 / 3.0, 1e-15);

	const double bad[] = { 1, NAN };
	assert_int_equal(sb_mann_whitney(bad, 2, q2, 2, SB_TEST_AUTO, &r), -EINVAL);
	assert_int_equal(sb_mann_whitney(p2, 0, q2, 2, SB_TEST_AUTO, &r), -EINVAL);
}

/* ---- Wilcoxon signed-rank ---- */

static void test_wilcoxon_exact(void **state)
{
	/* scipy.stats.wilcoxon(w_d, method='exact'): T = 7, p = 0.037109375 (= 38/1024) */
	struct sb_wilcoxon_result r;
	assert_int_equal(sb_wilcoxon_signed_rank(w_d, N(w_d), SB_TEST_AUTO, &r), 0);
	assert_int_equal(r.method, SB_TEST_EXACT);
	ASSERT_NEAR(r.t, 7, 1e-12);
	ASSERT_NEAR(r.w_plus, 55 - 7, 1e-12);
	ASSERT_REL(r.p, 0.037109375, 1e-12);
	ASSERT_NEAR(r.rank_biserial, (48.0 - 7.0) / 55.0, 1e-12);
}

static void test_wilcoxon_normal(void **state)
{
	/* wilcoxon(w_d2, method='approx', correction=True): T = 606, p = 0.0231436773494227,
	 * z = -2.271054526001778 */
	struct sb_wilcoxon_result r;
	assert_int_equal(sb_wilcoxon_signed_rank(w_d2, N(w_d2), SB_TEST_AUTO, &r), 0);
	assert_int_equal(r.method, SB_TEST_NORMAL); /* n = 60 > 50 */
	ASSERT_NEAR(r.t, 606, 1e-12);
	ASSERT_REL(r.p, 0.0231436773494227, 1e-10);
	ASSERT_REL(r.z, -2.271054526001778, 1e-10);

	/* ties and zeros (dropped): wilcoxon(w_d3, method='approx', correction=True,
	 * zero_method='wilcox'): T = 86.5, p = 0.013434209274506134 */
	assert_int_equal(sb_wilcoxon_signed_rank(w_d3, N(w_d3), SB_TEST_EXACT, &r), 0);
	assert_int_equal(r.method, SB_TEST_NORMAL);
	assert_int_equal(r.n_zero, 3);
	assert_int_equal(r.n_used, 27);
	assert_true(r.ties);
	ASSERT_NEAR(r.t, 86.5, 1e-12);
	ASSERT_REL(r.p, 0.013434209274506134, 1e-10);
}

static void test_wilcoxon_degenerate(void **state)
{
	struct sb_wilcoxon_result r;
	const double zeros[] = { 0, 0, 0 };
	assert_int_equal(sb_wilcoxon_signed_rank(zeros, 3, SB_TEST_AUTO, &r), 0);
	ASSERT_NEAR(r.p, 1.0, 0);
	assert_int_equal(r.n_used, 0);

	/* n = 1: W+ is 0 or 1, p = 2 * 1/2 = 1; n = 2 same sign: p = 2 * 1/4 = 0.5 (by hand) */
	const double one[] = { 2.5 }, two[] = { 1, 2 };
	assert_int_equal(sb_wilcoxon_signed_rank(one, 1, SB_TEST_AUTO, &r), 0);
	ASSERT_NEAR(r.p, 1.0, 1e-15);
	assert_int_equal(sb_wilcoxon_signed_rank(two, 2, SB_TEST_AUTO, &r), 0);
	ASSERT_NEAR(r.p, 0.5, 1e-15);

	/* identical non-zero differences are all tied: normal approximation, not a crash.
	 * By hand: n = 4, ranks 2.5 each, T = 0, mean 5, var = 7.5 - 60/48 = 6.25,
	 * z = (0 - 5 + 0.5)/2.5 = -1.8, p = 2 * norm.sf(1.8) = 0.07186063822585158, as scipy's
	 * wilcoxon([3,3,3,3], method='approx', correction=True) */
	const double same[] = { 3, 3, 3, 3 };
	assert_int_equal(sb_wilcoxon_signed_rank(same, 4, SB_TEST_AUTO, &r), 0);
	assert_int_equal(r.method, SB_TEST_NORMAL);
	ASSERT_REL(r.p, 0.07186063822585158, 1e-10);

	assert_int_equal(sb_wilcoxon_signed_rank(one, 0, SB_TEST_AUTO, &r), -EINVAL);
	const double inf[] = { 1, INFINITY };
	assert_int_equal(sb_wilcoxon_signed_rank(inf, 2, SB_TEST_AUTO, &r), -EINVAL);
}

/* ---- Hodges-Lehmann ---- */

static void test_hl_paired(void **state)
{
	/* numpy.median of the 55 Walsh averages of w_d = 1.132; CI from the exact signed-rank
	 * distribution enumerated over all 2^10 sign patterns in Python: C = 9, so
	 * (W_(9), W_(47)) = (0.227, 2.1385) with coverage 1 - 2*P(W <= 8) = 0.951171875 */
	struct sb_hl_result r;
	assert_int_equal(sb_hodges_lehmann_paired(w_d, N(w_d), 0.95, &r), 0);
	assert_int_equal(r.method, SB_TEST_EXACT);
	ASSERT_NEAR(r.shift, 1.132, 1e-12);
	ASSERT_NEAR(r.ci_lo, 0.227, 1e-12);
	ASSERT_NEAR(r.ci_hi, 2.1385, 1e-12);
	ASSERT_NEAR(r.ci_level, 0.951171875, 1e-12);
}

static void test_hl_paired_normal(void **state)
{
	/* n = 60 uses the normal approximation. Walsh median by numpy = 0.37675. An exact
	 * signed-rank distribution for n = 60 (integer subset-sum DP in Python) puts the 95 % CI at
	 * C = 649: (W_(649), W_(1182)) = (0.056, 0.702), coverage 0.9507184940156387; the normal
	 * approximation must select the same order statistics. */
	struct sb_hl_result r;
	assert_int_equal(sb_hodges_lehmann_paired(w_d2, N(w_d2), 0.95, &r), 0);
	assert_int_equal(r.method, SB_TEST_NORMAL);
	ASSERT_NEAR(r.shift, 0.37675, 1e-12);
	ASSERT_NEAR(r.ci_lo, 0.056, 1e-12);
	ASSERT_NEAR(r.ci_hi, 0.702, 1e-12);
	ASSERT_NEAR(r.ci_level, 0.9507184940156387, 1e-3);
}

static void test_hl_degenerate(void **state)
{
	struct sb_hl_result r;
	const double one[] = { 4.0 };
	assert_int_equal(sb_hodges_lehmann_paired(one, 1, 0.95, &r), 0);
	assert_true(r.shift == 4.0 && r.ci_lo == 4.0 && r.ci_hi == 4.0);
	ASSERT_NEAR(r.ci_level, 0.0, 1e-15); /* 1 - 2 * P(W <= 0) = 1 - 2/2 */

	/* n = 2: Walsh averages {1, 2, 3}, median 2; full range, coverage 1 - 2/4 */
	const double two[] = { 1.0, 3.0 };
	assert_int_equal(sb_hodges_lehmann_paired(two, 2, 0.95, &r), 0);
	assert_true(r.shift == 2.0 && r.ci_lo == 1.0 && r.ci_hi == 3.0);
	ASSERT_NEAR(r.ci_level, 0.5, 1e-15);

	const double same[] = { 7, 7, 7, 7, 7, 7, 7, 7 };
	assert_int_equal(sb_hodges_lehmann_paired(same, 8, 0.95, &r), 0);
	assert_true(r.shift == 7 && r.ci_lo == 7 && r.ci_hi == 7);
	assert_int_equal(sb_hodges_lehmann_paired(same, 8, 1.0, &r), -EINVAL);
}

static void test_hl_two_sample(void **state)
{
	/* numpy.median of all a_i - b_j = 2.0; CI from the Mann-Whitney distribution enumerated
	 * over all C(11,5) = 462 splits in Python: C = 4, (D_(4), D_(27)) = (-0.3, 4.1),
	 * coverage 1 - 2*P(U <= 3) = 0.9696969696969697 */
	const double a[] = { 3.1, 4.7, 2.2, 5.9, 4.1 }, b[] = { 1.0, 2.5, 0.3, 3.4, 1.8, 2.9 };
	struct sb_hl_result r;
	assert_int_equal(sb_hodges_lehmann_two_sample(a, 5, b, 6, 0.95, &r), 0);
	assert_int_equal(r.method, SB_TEST_EXACT);
	ASSERT_NEAR(r.shift, 2.0, 1e-12);
	ASSERT_NEAR(r.ci_lo, -0.3, 1e-12);
	ASSERT_NEAR(r.ci_hi, 4.1, 1e-12);
	ASSERT_NEAR(r.ci_level, 0.9696969696969697, 1e-12);

	/* swapping the samples negates the shift */
	assert_int_equal(sb_hodges_lehmann_two_sample(b, 6, a, 5, 0.95, &r), 0);
	ASSERT_NEAR(r.shift, -2.0, 1e-12);
	ASSERT_NEAR(r.ci_lo, -4.1, 1e-12);
}

/* ---- Student t ---- */

static void test_paired_t(void **state)
{
	/* scipy.stats.ttest_1samp(w_d, 0) and t.interval(0.95, 9, loc=mean, scale=sem) */
	struct sb_t_result r;
	assert_int_equal(sb_paired_t(w_d, N(w_d), 0.95, &r), 0);
	ASSERT_NEAR(r.mean, 1.1956, 1e-12);
	ASSERT_REL(r.sd, 1.3699318068997288, 1e-12);
	ASSERT_REL(r.t, 2.759859396982414, 1e-12);
	ASSERT_NEAR(r.df, 9, 0);
	ASSERT_REL(r.p, 0.02211724297009938, 1e-9);
	ASSERT_REL(r.ci_lo, 0.21560982125019335, 1e-9);
	ASSERT_REL(r.ci_hi, 2.1755901787498066, 1e-9);

	/* n = 2: ttest_1samp([1, 3], 0): t = 2, p = 0.2951672353008664;
	 * t.interval(0.9, 1, loc=2, scale=1) = (-4.3137515148009395, 8.313751514800932) */
	const double two[] = { 1, 3 };
	assert_int_equal(sb_paired_t(two, 2, 0.9, &r), 0);
	ASSERT_REL(r.t, 2.0, 1e-14);
	ASSERT_REL(r.p, 0.2951672353008664, 1e-10);
	ASSERT_REL(r.ci_lo, -4.3137515148009395, 1e-10);
	ASSERT_REL(r.ci_hi, 8.313751514800932, 1e-10);
}

static void test_paired_t_degenerate(void **state)
{
	struct sb_t_result r;
	const double one[] = { 3 };
	assert_int_equal(sb_paired_t(one, 1, 0.95, &r), 0);
	assert_true(r.p == 1 && r.mean == 3 && r.sd == 0 && r.df == 0);
	assert_true(isinf(r.ci_lo) && r.ci_lo < 0 && isinf(r.ci_hi) && r.ci_hi > 0);

	const double shift[] = { 0.1, 0.1, 0.1, 0.1 };
	assert_int_equal(sb_paired_t(shift, 4, 0.95, &r), 0);
	assert_true(r.sd == 0 && r.p == 0 && isinf(r.t) && r.t > 0);
	assert_true(r.ci_lo == 0.1 && r.ci_hi == 0.1);

	const double zeros[] = { 0, 0, 0 };
	assert_int_equal(sb_paired_t(zeros, 3, 0.95, &r), 0);
	assert_true(r.p == 1 && r.t == 0);

	assert_int_equal(sb_paired_t(one, 0, 0.95, &r), -EINVAL);
	assert_int_equal(sb_paired_t(one, 1, 0, &r), -EINVAL);
	const double bad[] = { 1, NAN };
	assert_int_equal(sb_paired_t(bad, 2, 0.95, &r), -EINVAL);
}

/* ---- permutation ---- */

static const double perm_a[] = { 12.1, 14.3, 11.8, 15.2, 13.9 };
static const double perm_b[] = { 10.2, 11.1, 12.5, 9.8, 10.9, 11.4 };

static void test_permutation(void **state)
{
	/* Exact two-sided p by enumerating all 462 splits in Python (|T| >= |observed|):
	 * medians: 6/462 = 0.012987, means: 5/462 = 0.010823. 20000 random relabellings must land
	 * within 4 standard errors (~0.0032) of it. */
	struct sb_perm_result r;
	assert_int_equal(sb_permutation_test(perm_a, 5, perm_b, 6, SB_PERM_MEDIAN, 20000, 42, &r),
			 0);
	ASSERT_NEAR(r.observed, 2.9, 1e-12);
	ASSERT_NEAR(r.p, 6.0 / 462.0, 4 * sqrt(0.013 * 0.987 / 20000));
	assert_int_equal(r.permutations, 20000);

	assert_int_equal(sb_permutation_test(perm_a, 5, perm_b, 6, SB_PERM_MEAN, 20000, 7, &r), 0);
	ASSERT_NEAR(r.observed, 2.47666666666667, 1e-12);
	ASSERT_NEAR(r.p, 5.0 / 462.0, 4 * sqrt(0.011 * 0.989 / 20000));

	/* deterministic for a seed */
	struct sb_perm_result r2;
	assert_int_equal(sb_permutation_test(perm_a, 5, perm_b, 6, SB_PERM_MEAN, 20000, 7, &r2), 0);
	assert_int_equal(r.extreme, r2.extreme);
	assert_true(r.p == r2.p);
}

static void test_permutation_degenerate(void **state)
{
	struct sb_perm_result r;
	const double same[] = { 4, 4, 4 };
	/* identical samples: every relabelling is as extreme, p = (N+1)/(N+1) = 1 */
	assert_int_equal(sb_permutation_test(same, 3, same, 2, SB_PERM_MEDIAN, 100, 1, &r), 0);
	ASSERT_NEAR(r.p, 1.0, 0);
	assert_int_equal(sb_permutation_test(same, 1, same, 1, SB_PERM_MEAN, 10, 1, &r), 0);
	ASSERT_NEAR(r.p, 1.0, 0);
	assert_int_equal(sb_permutation_test(same, 3, same, 2, SB_PERM_MEAN, 0, 1, &r), -EINVAL);
	assert_int_equal(sb_permutation_test(same, 0, same, 2, SB_PERM_MEAN, 5, 1, &r), -EINVAL);
}

static void test_rng(void **state)
{
	struct sb_rng a, b;
	sb_rng_seed(&a, 123);
	sb_rng_seed(&b, 123);
	for (int i = 0; i < 100; i++)
		assert_true(sb_rng_next(&a) == sb_rng_next(&b));
	/* a fair die: 60000 rolls, each face within 5 sigma of 10000 */
	size_t count[6] = { 0 };
	for (int i = 0; i < 60000; i++)
		count[sb_rng_below(&a, 6)]++;
	for (int f = 0; f < 6; f++)
		assert_true(count[f] > 10000 - 5 * 91 && count[f] < 10000 + 5 * 91);
	assert_true(sb_rng_below(&a, 1) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_t_quantiles),
		cmocka_unit_test(test_t_cdf),
		cmocka_unit_test(test_normal_and_beta),
		cmocka_unit_test(test_mw_exact),
		cmocka_unit_test(test_mw_normal),
		cmocka_unit_test(test_mw_degenerate),
		cmocka_unit_test(test_wilcoxon_exact),
		cmocka_unit_test(test_wilcoxon_normal),
		cmocka_unit_test(test_wilcoxon_degenerate),
		cmocka_unit_test(test_hl_paired),
		cmocka_unit_test(test_hl_paired_normal),
		cmocka_unit_test(test_hl_degenerate),
		cmocka_unit_test(test_hl_two_sample),
		cmocka_unit_test(test_paired_t),
		cmocka_unit_test(test_paired_t_degenerate),
		cmocka_unit_test(test_permutation),
		cmocka_unit_test(test_permutation_degenerate),
		cmocka_unit_test(test_rng),
	};
	return cmocka_run_group_tests_name("hypothesis", tests, NULL, NULL);
}
