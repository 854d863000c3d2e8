/* Unit tests for src/compare: the verdict rule, sample-size bounds, quantile and mean CIs, rank
 * autocorrelation, budgets, one-metric compare verdicts and the paired analysis and scheduler.
 * Reference values were computed independently with /usr/bin/python3 (math.comb sums for binomial
 * coverage, statistics.stdev, brute-force searches), or by hand; each is noted where it is used. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "compare/budgets.h"
#include "compare/compare.h"
#include "compare/hostnorm.h"
#include "compare/decide.h"
#include "compare/paired.h"
#include "core/report.h"

#define ASSERT_NEAR(got, want, tol)                                                            \
	do {                                                                                   \
		double g_ = (got), w_ = (want);                                                \
		if (!(fabs(g_ - w_) <= (tol))) {                                               \
			print_error("%s = %.17g, want %.17g (tol %g)\n", #got, g_, w_, (double)(tol)); \
			fail();                                                                \
		}                                                                              \
	} while (0)

/* Deterministic pseudo-noise in [0, 1): a small LCG so the samples need no RNG from the code
 * under test. */
static double noise(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (double)((*s >> 8) & 0xffff) / 65536.0;
}

/* ---------------------------------------------------------------- decide.c */

static void test_min_sizes(void **state)
{
	(void)state;
	/* Brute force in python: smallest k with 2/comb(2k,k) <= alpha; smallest n with 2/2**n <= alpha. */
	assert_int_equal(sb_mw_min_per_side(0.05), 4);
	assert_int_equal(sb_mw_min_per_side(0.01), 5);
	assert_int_equal(sb_mw_min_per_side(0.1), 3);
	assert_int_equal(sb_wilcoxon_min_pairs(0.05), 6);
	assert_int_equal(sb_wilcoxon_min_pairs(0.01), 8);
	assert_int_equal(sb_wilcoxon_min_pairs(0.1), 5);
}

static void test_quantile_ci(void **state)
{
	(void)state;
	double v[100], lo, hi, ach;
	for (int i = 0; i < 100; i++)
		v[i] = i + 1;
	/* Median of 30: (x_(10), x_(21)), coverage sum(comb(30,i) for i in 10..20)/2**30. */
	sb_quantile_ci_sorted(v, 30, 0.5, 0.95, &lo, &hi, &ach);
	assert_true(lo == 10 && hi == 21);
	ASSERT_NEAR(ach, 0.9572260547429323, 1e-9);
	/* p90 of 100: shortest B-interval with coverage >= .95 is 84..95 (brute force), so
	 * (x_(84), x_(96)) with coverage 0.9556901071912257. */
	sb_quantile_ci_sorted(v, 100, 0.9, 0.95, &lo, &hi, &ach);
	assert_true(lo == 84 && hi == 96);
	ASSERT_NEAR(ach, 0.9556901071912257, 1e-9);
	/* p95 of 20 cannot reach 95 %: the whole range, coverage P(1 <= B <= 19) = 0.6415140775914572. */
	sb_quantile_ci_sorted(v, 20, 0.95, 0.95, &lo, &hi, &ach);
	assert_true(lo == 1 && hi == 20);
	ASSERT_NEAR(ach, 0.6415140775914572, 1e-9);
	/* n = 1: the single value, no coverage. */
	sb_quantile_ci_sorted(v, 1, 0.5, 0.95, &lo, &hi, &ach);
	assert_true(lo == 1 && hi == 1 && ach == 0);
}

static void test_mean_ci(void **state)
{
	(void)state;
	/* mean 4, stdev 3.5355339059327378 (statistics.stdev), t(0.975, 4) = 2.7764451051977987:
	 * half-width 4.389945165425423. */
	const double v[] = {1, 2, 3, 4, 10};
	double m, lo, hi, ach;
	sb_mean_ci(v, 5, 0.95, &m, &lo, &hi, &ach);
	ASSERT_NEAR(m, 4, 1e-12);
	ASSERT_NEAR(hi - m, 4.389945165425423, 1e-7);
	ASSERT_NEAR(m - lo, 4.389945165425423, 1e-7);
	sb_mean_ci(v, 1, 0.95, &m, &lo, &hi, &ach);
	assert_true(m == 1 && lo == 1 && hi == 1 && ach == 0);
	const double z[] = {2, 2, 2};
	sb_mean_ci(z, 3, 0.95, &m, &lo, &hi, &ach);
	assert_true(lo == 2 && hi == 2);
}

static void test_autocorr(void **state)
{
	(void)state;
	/* By hand: ranks 1..6 -> sum (r_i - 3.5)(r_i+1 - 3.5) / sum (r_i - 3.5)^2 = 8.75 / 17.5. */
	const double up[] = {1, 2, 3, 4, 5, 6};
	ASSERT_NEAR(sb_lag1_autocorr_ranks(up, 6), 0.5, 1e-12);
	/* python: alternating 1,6,2,5,3,4 -> -0.7571428571428571 */
	const double alt[] = {10, 60, 20, 50, 30, 40};
	ASSERT_NEAR(sb_lag1_autocorr_ranks(alt, 6), -0.7571428571428571, 1e-12);
	const double flat[] = {3, 3, 3, 3};
	ASSERT_NEAR(sb_lag1_autocorr_ranks(flat, 4), 0, 0);
	ASSERT_NEAR(sb_lag1_autocorr_ranks(up, 2), 0, 0);
}

static void test_noise_floor(void **state)
{
	(void)state;
	ASSERT_NEAR(sb_unit_noise_floor("ms"), 1e-3, 0);
	ASSERT_NEAR(sb_unit_noise_floor("ns"), 1000, 0);
	ASSERT_NEAR(sb_unit_noise_floor("us"), 1, 0);
	ASSERT_NEAR(sb_unit_noise_floor("s"), 1e-6, 0);
	ASSERT_NEAR(sb_unit_noise_floor("MiB/s"), 0, 0);
	ASSERT_NEAR(sb_unit_noise_floor(NULL), 0, 0);
}

static void test_decide(void **state)
{
	(void)state;
	struct {
		double bad, lo;
		bool sig, agree, floor, ci;
		enum sb_verdict want;
	} cases[] = {
		{0.50, 0.40, false, true, false, false, SB_VERDICT_SAME},       /* not significant */
		{0.50, 0.40, true, false, false, false, SB_VERDICT_SAME},       /* test disagrees */
		{0.04, 0.01, true, true, false, false, SB_VERDICT_SAME},        /* noise band */
		{-0.04, -0.06, true, true, false, false, SB_VERDICT_SAME},      /* noise band */
		{0.12, 0.05, true, true, false, false, SB_VERDICT_REGRESSION},  /* beyond */
		{0.10, 0.05, true, true, false, false, SB_VERDICT_REGRESSION},  /* exactly the threshold */
		{0.12, 0.03, true, true, false, false, SB_VERDICT_WARN},        /* CI reaches the band */
		{0.20, NAN, true, true, false, false, SB_VERDICT_REGRESSION},   /* CI unknown */
		{0.07, 0.03, true, true, false, false, SB_VERDICT_WARN},        /* half .. threshold */
		{0.05, 0.03, true, true, false, false, SB_VERDICT_WARN},        /* exactly half */
		{-0.30, -0.40, true, true, false, false, SB_VERDICT_IMPROVEMENT},
		{0.50, 0.40, true, true, true, false, SB_VERDICT_SAME},         /* below the floor */
		{0.12, 0.05, true, true, false, true, SB_VERDICT_WARN},         /* CI rule: lo < thr */
		{0.30, 0.11, true, true, false, true, SB_VERDICT_REGRESSION},   /* CI rule: lo >= thr */
		{NAN, 0, true, true, false, false, SB_VERDICT_NA},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sb_decision_in in = {
			.bad = cases[i].bad, .bad_ci_lo = cases[i].lo, .significant = cases[i].sig,
			.test_agrees = cases[i].agree, .threshold = 0.10, .below_floor = cases[i].floor,
			.ci_rule = cases[i].ci,
		};
		const char *why = NULL;
		enum sb_verdict v = sb_decide(&in, &why);
		if (v != cases[i].want) {
			print_error("case %zu: got %s (%s), want %s\n", i, sb_verdict_name(v), why,
				    sb_verdict_name(cases[i].want));
			fail();
		}
		assert_non_null(why);
	}
	assert_string_equal(sb_verdict_name(SB_VERDICT_SAME), "~");
	assert_string_equal(sb_verdict_name(SB_VERDICT_NA), "n/a");
}

/* ---------------------------------------------------------------- budgets.c */

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/sb-budgets-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_budgets(void **state)
{
	(void)state;
	const char *text =
		"{\"schema\": \"sandbench.budgets/v1\",\n"
		" \"defaults\": {\"statistic\": \"p90\", \"threshold\": 0.2, \"alpha\": 0.01},\n"
		" \"budgets\": [\n"
		"  {\"metric\": \"*_ms\", \"scenario\": \"latency-*\", \"threshold\": 0.05, \"statistic\": \"p50\"},\n"
		"  {\"metric\": \"*_mib_per_s\", \"direction\": \"higher_is_better\", \"min_change\": 2},\n"
		"  {\"metric\": \"exec_maxrss_kb\", \"ignore\": true},\n"
		"  {\"metric\": \"destroy_ms\", \"drift\": 0.3, \"normalize\": false}\n"
		" ]}\n";
	char *path = write_tmp(text);
	struct sb_budgets *b = NULL;
	struct sb_error err = {0};
	assert_int_equal(sb_budgets_load(path, &b, &err), 0);
	unlink(path);
	struct sb_budget_rule base = {.statistic = SB_STAT_P50, .threshold = 0.1, .alpha = 0.05,
				      .min_change = -1, .entry = -1}, r;
	/* First entry matches: its fields win over file defaults. */
	sb_budgets_resolve(b, &base, 0, "latency-spawn", "process", "lifecycle_ms", &r);
	assert_int_equal(r.entry, 0);
	assert_int_equal(r.statistic, SB_STAT_P50);
	ASSERT_NEAR(r.threshold, 0.05, 0);
	ASSERT_NEAR(r.alpha, 0.01, 0);
	/* Scenario glob does not match: file defaults apply. */
	sb_budgets_resolve(b, &base, 0, "throughput-stdout", "process", "lifecycle_ms", &r);
	assert_int_equal(r.entry, -1);
	assert_int_equal(r.statistic, SB_STAT_P90);
	ASSERT_NEAR(r.threshold, 0.2, 0);
	/* Command-line flags beat file defaults, not entries. */
	sb_budgets_resolve(b, &base, SB_BUDGET_CLI_THRESHOLD | SB_BUDGET_CLI_STATISTIC, "x", "y", "other", &r);
	ASSERT_NEAR(r.threshold, 0.1, 0);
	assert_int_equal(r.statistic, SB_STAT_P50);
	ASSERT_NEAR(r.alpha, 0.01, 0);
	sb_budgets_resolve(b, &base, 0, "throughput-stdout", "process", "stdout_mib_per_s", &r);
	assert_int_equal(r.direction, SB_DIR_HIGHER_IS_BETTER);
	ASSERT_NEAR(r.min_change, 2, 0);
	sb_budgets_resolve(b, &base, 0, "latency-spawn", "process", "exec_maxrss_kb", &r);
	assert_true(r.ignore);
	/* drift and normalize: per entry; the rest keep the command line's (drift -1: the default). */
	base.drift = -1;
	sb_budgets_resolve(b, &base, 0, "throughput-stdout", "native", "destroy_ms", &r);
	ASSERT_NEAR(r.drift, 0.3, 0);
	assert_true(r.no_normalize);
	sb_budgets_resolve(b, &base, 0, "throughput-stdout", "native", "create_ms", &r);
	ASSERT_NEAR(r.drift, -1, 0);
	assert_false(r.no_normalize);
	sb_budgets_resolve(NULL, &base, 0, "a", "b", "c", &r);
	assert_int_equal(r.entry, -1);
	ASSERT_NEAR(r.threshold, 0.1, 0);
	sb_budgets_free(b);
	sb_budgets_free(NULL);

	static const struct {
		const char *text, *want;
	} bad[] = {
		{"{\"budgets\": [{\"metric\": \"a\", \"treshold\": 0.1}]}", "unknown key 'treshold'"},
		{"{\"budgets\": [{\"metric\": \"a\", \"threshold\": -1}]}", "budgets[0].threshold"},
		{"{\"budgets\": [{\"threshold\": 0.1}]}", "budgets[0] has no 'metric' glob"},
		{"{\"budgets\": [{\"metric\": \"a\", \"statistic\": \"p42\"}]}", "statistic must be one of"},
		{"{\"budgets\": [{\"metric\": \"a\", \"direction\": \"up\"}]}", "direction must be"},
		{"{\"defaults\": {\"alpha\": 0.9}}", "defaults.alpha"},
		{"{\"defaults\": {\"drift\": 1}}", "defaults.drift must be a relative spread"},
		{"{\"budgets\": [{\"metric\": \"a\", \"normalize\": 1}]}", "budgets[0].normalize must be true or false"},
		{"{\"schema\": \"sandbench.budgets/v2\"}", "schema must be"},
		{"{\"budget\": []}", "unknown key 'budget'"},
		{"{\"budgets\": [}", "malformed JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = write_tmp(bad[i].text);
		b = NULL;
		sb_error_clear(&err);
		assert_true(sb_budgets_load(path, &b, &err) < 0);
		unlink(path);
		assert_null(b);
		if (!strstr(err.msg, bad[i].want) || !strstr(err.msg, "budgets /tmp/sb-budgets-")) {
			print_error("case %zu: '%s' lacks '%s'\n", i, err.msg, bad[i].want);
			fail();
		}
	}
	assert_true(sb_budgets_load("/nonexistent/b.json", &b, &err) == -ENOENT);
}

/* ---------------------------------------------------------------- hostnorm.c */

static void test_hostnorm(void **state)
{
	(void)state;
	/* Five samples: a warmup, then four measured (one failed). x and the reference double together
	 * from the third on: a host twice as slow. */
	json_t *r = json_pack(
		"{s:[{s:b, s:{s:f}, s:f}, {s:b, s:{s:f}, s:f}, {s:b, s:{s:f}, s:f}, {s:b, s:{s:f}, s:f, s:s},"
		" {s:b, s:{s:f}, s:f}], s:{s:f}}",
		"samples", "warmup", 1, "metrics", "t_ms", 9.0, "host_ref_ms", 0.5,
		"warmup", 0, "metrics", "t_ms", 1.0, "host_ref_ms", 0.5,
		"warmup", 0, "metrics", "t_ms", 2.0, "host_ref_ms", 1.0,
		"warmup", 0, "metrics", "t_ms", 2.0, "host_ref_ms", 1.0, "error", "failed",
		"warmup", 0, "metrics", "t_ms", 2.0, "host_ref_ms", 1.0,
		"host_reference", "p50", 1.0);
	assert_non_null(r);
	assert_true(sb_hostnorm_available(r));
	json_t *reports[] = {r};
	ASSERT_NEAR(sb_hostnorm_level(reports, 1), 1.0, 0); /* median of 0.5 1 1 1 (measured ones) */
	double *v;
	size_t n;
	assert_int_equal(sb_hostnorm_values(r, "t_ms", 0.5, &v, &n), 0);
	assert_int_equal(n, 3); /* warmup and the failed one left out */
	/* Each sample over the median reference of itself and its neighbours, times the level. */
	ASSERT_NEAR(v[0], 1.0 * 0.5 / 0.5, 1e-12); /* neighbours 0.5 0.5 1.0 -> 0.5 */
	ASSERT_NEAR(v[1], 2.0 * 0.5 / 1.0, 1e-12); /* 0.5 1.0 1.0 -> 1.0 */
	ASSERT_NEAR(v[2], 2.0 * 0.5 / 1.0, 1e-12); /* 1.0 1.0 -> 1.0 */
	free(v);
	assert_true(sb_hostnorm_unit_applies("ms") && sb_hostnorm_unit_applies("ns"));
	assert_false(sb_hostnorm_unit_applies("KiB") || sb_hostnorm_unit_applies("MiB/s"));
	json_object_del(r, "host_reference");
	assert_false(sb_hostnorm_available(r));
	json_decref(r);
}

/* ---------------------------------------------------------------- compare.c: one metric */

static const struct sb_budget_rule rule_default = {
	.statistic = SB_STAT_P50, .threshold = 0.10, .alpha = 0.05, .min_change = -1, .entry = -1,
};

/* One run per side, in the order given. */
static json_t *judge(const char *metric, const char *unit, bool hib, const struct sb_budget_rule *rule,
		     const double *b, size_t nb, const double *c, size_t nc, const json_t *agg_b,
		     const json_t *agg_c, enum sb_verdict *v)
{
	struct sb_metric_samples bs = {.v = b, .n = nb, .agg = agg_b}, cs = {.v = c, .n = nc, .agg = agg_c};
	return sb_compare_metric(metric, unit, hib, rule, &bs, &cs, v);
}

/* Independent samples around `centre` with +-10 % uniform noise. */
static void fill(double *v, size_t n, double centre, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		v[i] = centre * (0.9 + 0.2 * noise(&seed));
}

static void test_compare_metric(void **state)
{
	(void)state;
	double b[40], c[40];
	enum sb_verdict v;
	fill(b, 40, 10, 1);
	for (int i = 0; i < 40; i++)
		c[i] = 2 * b[(i * 7) % 40];
	/* A clear 2x slowdown of a lower-is-better metric. */
	json_t *m = judge("t_ms", "ms", false, &rule_default, b, 40, c, 40, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_REGRESSION);
	assert_true(json_number_value(json_object_get(m, "p")) < 1e-6);
	ASSERT_NEAR(json_number_value(json_object_get(m, "delta")), 1.0, 0.05);
	json_decref(m);
	/* The same samples shuffled: identical distributions, p = 1. */
	for (int i = 0; i < 40; i++)
		c[i] = b[(i * 7) % 40];
	m = judge("t_ms", "ms", false, &rule_default, b, 40, c, 40, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_SAME);
	ASSERT_NEAR(json_number_value(json_object_get(m, "delta")), 0, 0);
	ASSERT_NEAR(json_number_value(json_object_get(m, "p")), 1, 1e-12);
	json_decref(m);
	/* Higher is better: halving is a regression; for lower-is-better it is an improvement. */
	for (int i = 0; i < 40; i++)
		c[i] = 0.5 * b[(i * 3) % 40];
	m = judge("rate", "MiB/s", true, &rule_default, b, 40, c, 40, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_REGRESSION);
	ASSERT_NEAR(json_number_value(json_object_get(m, "change")), 0.5, 0.05);
	json_decref(m);
	m = judge("t_ms", "ms", false, &rule_default, b, 40, c, 40, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_IMPROVEMENT);
	json_decref(m);
	/* A budget forcing the direction flips it back. */
	struct sb_budget_rule forced = rule_default;
	forced.direction = SB_DIR_HIGHER_IS_BETTER;
	m = judge("t_ms", "ms", false, &forced, b, 40, c, 40, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_REGRESSION);
	assert_true(json_is_true(json_object_get(m, "higher_is_better")));
	json_decref(m);
	/* About 7 % slower with little noise: significant, between half the threshold and it. */
	for (int i = 0; i < 40; i++) {
		b[i] = 10 + 0.01 * i;
		c[i] = 10.7 + 0.01 * ((i * 7) % 40);
	}
	m = judge("t_ms", "ms", false, &rule_default, b, 40, c, 40, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_WARN);
	json_decref(m);
	/* Ignored by a budget: listed, never counted. */
	struct sb_budget_rule ign = rule_default;
	ign.ignore = true;
	m = judge("t_ms", "ms", false, &ign, b, 40, c, 40, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_SAME);
	assert_true(json_is_true(json_object_get(m, "ignored")));
	json_decref(m);
}

static void test_compare_metric_na(void **state)
{
	(void)state;
	double b[40], c[40];
	enum sb_verdict v;
	fill(b, 40, 10, 3);
	fill(c, 40, 30, 4);
	/* 3 per side cannot reach p < 0.05 (2/comb(6,3) = 0.1): n/a, needs 4. */
	json_t *m = judge("t_ms", "ms", false, &rule_default, b, 3, c, 3, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_NA);
	assert_int_equal(json_integer_value(json_object_get(m, "needed")), 4);
	assert_non_null(strstr(json_string_value(json_object_get(m, "reason")), "needs >= 4 per side"));
	json_decref(m);
	/* p99 from 40 samples is the max: needs 100 per side. */
	struct sb_budget_rule p99 = rule_default;
	p99.statistic = SB_STAT_P99;
	m = judge("t_ms", "ms", false, &p99, b, 40, c, 40, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_NA);
	assert_int_equal(json_integer_value(json_object_get(m, "needed")), 100);
	json_decref(m);
	/* p95 needs 20 (ceil(1/0.05)); 40 is enough. */
	p99.statistic = SB_STAT_P95;
	m = judge("t_ms", "ms", false, &p99, b, 40, c, 40, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_REGRESSION);
	json_decref(m);
	/* Derived metric: aggregates only, no raw samples. */
	json_t *ab = json_pack("{s:f}", "p50", 4.0), *ac = json_pack("{s:f}", "p50", 8.0);
	m = judge("breakpoint", "slots", true, &rule_default, NULL, 0, NULL, 0, ab, ac, &v);
	assert_int_equal(v, SB_VERDICT_NA);
	ASSERT_NEAR(json_number_value(json_object_get(m, "delta")), 1.0, 1e-12);
	assert_true(json_is_null(json_object_get(m, "needed")));
	json_decref(m);
	json_decref(ab);
	json_decref(ac);
	/* Sub-microsecond timings doubling: significant, but under the 1 us floor. */
	for (int i = 0; i < 40; i++) {
		b[i] *= 1e-4;
		c[i] = 2 * b[i];
	}
	m = judge("create_ms", "ms", false, &rule_default, b, 40, c, 40, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_SAME);
	assert_string_equal(json_string_value(json_object_get(m, "reason")), "below the noise floor");
	json_decref(m);
	/* Baseline statistic 0 while the current is not: no relative change. */
	for (int i = 0; i < 40; i++) {
		b[i] = 0;
		c[i] = 1 + i;
	}
	m = judge("errors", "count", false, &rule_default, b, 40, c, 40, NULL, NULL, &v);
	assert_int_equal(v, SB_VERDICT_NA);
	json_decref(m);
}

static void test_compare_autocorr(void **state)
{
	(void)state;
	/* A burst in the current run's second half: 8 % higher median, but the samples come in two
	 * blocks (lag-1 autocorrelation near 1 on that side), so the effective sample is small and the test,
	 * corrected, must be less sure than the naive one. */
	double b[40], c[40];
	enum sb_verdict v;
	fill(b, 40, 10, 7);
	for (int i = 0; i < 40; i++)
		c[i] = (i < 20 ? 10.0 : 11.6) + 0.001 * i;
	json_t *m = judge("t_ms", "ms", false, &rule_default, b, 40, c, 40, NULL, NULL, &v);
	json_t *t = json_object_get(m, "test");
	assert_true(json_number_value(json_object_get(t, "autocorrelation")) > 0.3);
	assert_true(json_number_value(json_object_get(m, "p")) > json_number_value(json_object_get(t, "p_independent")));
	json_decref(m);
}

/* ---------------------------------------------------------------- paired.c */

static void test_paired_analyze(void **state)
{
	(void)state;
	double b[20], c[20];
	enum sb_verdict v;
	bool sig;
	/* Sensitivity, reference values computed by hand (Python: statistics.NormalDist, scipy's
	 * t.ppf(0.975, 8) = 2.306004135204166): log ratios with median 0 and MAD 0.1, so the noise is
	 * 1.4826 * 0.1; resolution expm1(2.306 * noise / 3) = 0.120711; pairs for 10 % at 80 % power
	 * (1.959964 + 0.841621)^2 * noise^2 / ln(1.1)^2 * pi/3 = 19.89 -> 20. */
	{
		static const double d9[] = {-0.3, -0.2, -0.1, -0.05, 0, 0.05, 0.1, 0.2, 0.4};
		double one[9], ex[9];
		for (int i = 0; i < 9; i++) {
			one[i] = 1;
			ex[i] = exp(d9[i]);
		}
		json_t *a9 = sb_paired_analyze_metric("t_ms", "ms", false, one, ex, 9, 0.05, 0.1, false, &v, &sig);
		json_t *sv = json_object_get(a9, "sensitivity");
		ASSERT_NEAR(json_number_value(json_object_get(sv, "noise")), expm1(0.1482602218505602), 1e-9);
		ASSERT_NEAR(json_number_value(json_object_get(sv, "resolves")), 0.12071054, 1e-6);
		assert_int_equal(json_integer_value(json_object_get(sv, "pairs_for_threshold")), 20);
		json_decref(a9);
		/* Tiny noise: never fewer pairs than the signed-rank test needs at all (6 at 0.05). */
		for (int i = 0; i < 9; i++)
			ex[i] = exp(d9[i] / 1000);
		a9 = sb_paired_analyze_metric("t_ms", "ms", false, one, ex, 9, 0.05, 0.1, false, &v, &sig);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(a9, "sensitivity"), "pairs_for_threshold")), 6);
		json_decref(a9);
	}
	unsigned s = 11;
	for (int i = 0; i < 20; i++) {
		b[i] = 10 * (1 + 0.05 * noise(&s));
		c[i] = b[i];
	}
	/* Identical pairs. */
	json_t *a = sb_paired_analyze_metric("wall_ms", "ms", false, b, c, 20, 0.05, 0.1, false, &v, &sig);
	assert_int_equal(v, SB_VERDICT_SAME);
	assert_false(sig);
	assert_string_equal(json_string_value(json_object_get(a, "scale")), "log_ratio");
	json_decref(a);
	/* Twice as slow with per-pair noise: regression, change near +100 %. */
	for (int i = 0; i < 20; i++)
		c[i] = 2 * b[i] * (1 + 0.02 * (noise(&s) - 0.5));
	a = sb_paired_analyze_metric("wall_ms", "ms", false, b, c, 20, 0.05, 0.1, false, &v, &sig);
	assert_int_equal(v, SB_VERDICT_REGRESSION);
	assert_true(sig);
	ASSERT_NEAR(json_number_value(json_object_get(a, "change")), 1.0, 0.02);
	json_t *ci = json_object_get(a, "change_ci");
	assert_true(json_number_value(json_array_get(ci, 0)) <= json_number_value(json_object_get(a, "change")));
	assert_true(json_number_value(json_array_get(ci, 1)) >= json_number_value(json_object_get(a, "change")));
	json_decref(a);
	/* Zero variance of the ratios (every pair exactly 1.5x): t is infinite, p 0; still a regression. */
	for (int i = 0; i < 20; i++)
		c[i] = 1.5 * b[i];
	a = sb_paired_analyze_metric("wall_ms", "ms", false, b, c, 20, 0.05, 0.1, false, &v, &sig);
	assert_int_equal(v, SB_VERDICT_REGRESSION);
	ASSERT_NEAR(json_number_value(json_object_get(a, "change")), 0.5, 1e-9);
	json_decref(a);
	/* Higher is better and it halves. */
	for (int i = 0; i < 20; i++)
		c[i] = 0.5 * b[i] * (1 + 0.02 * (noise(&s) - 0.5));
	a = sb_paired_analyze_metric("ops", "1/s", true, b, c, 20, 0.05, 0.1, false, &v, &sig);
	assert_int_equal(v, SB_VERDICT_REGRESSION);
	ASSERT_NEAR(json_number_value(json_object_get(a, "worse_by")), 0.5, 0.02);
	json_decref(a);
	/* n = 1 and n = 2: too few pairs for the signed-rank test at 0.05 (needs 6). */
	for (size_t n = 1; n <= 2; n++) {
		a = sb_paired_analyze_metric("wall_ms", "ms", false, b, c, n, 0.05, 0.1, false, &v, &sig);
		assert_int_equal(v, SB_VERDICT_NA);
		assert_int_equal(json_integer_value(json_object_get(a, "needed")), 6);
		json_decref(a);
	}
	/* CI rule: a 12 % change whose CI reaches below 10 % is a warn, a 30 % one a regression. */
	for (int i = 0; i < 20; i++)
		c[i] = b[i] * (1.12 + 0.30 * (noise(&s) - 0.5));
	a = sb_paired_analyze_metric("wall_ms", "ms", false, b, c, 20, 0.05, 0.1, true, &v, &sig);
	assert_int_equal(v, SB_VERDICT_WARN);
	json_decref(a);
	for (int i = 0; i < 20; i++)
		c[i] = b[i] * (1.30 + 0.02 * (noise(&s) - 0.5));
	a = sb_paired_analyze_metric("wall_ms", "ms", false, b, c, 20, 0.05, 0.1, true, &v, &sig);
	assert_int_equal(v, SB_VERDICT_REGRESSION);
	json_decref(a);
	/* Zeros force plain differences, scaled by the baseline median. */
	for (int i = 0; i < 20; i++) {
		b[i] = i % 2 ? 0 : 4;
		c[i] = b[i];
	}
	a = sb_paired_analyze_metric("sys_ms", "ms", false, b, c, 20, 0.05, 0.1, false, &v, &sig);
	assert_string_equal(json_string_value(json_object_get(a, "scale")), "difference");
	assert_int_equal(v, SB_VERDICT_SAME);
	json_decref(a);
}

/* A fake side: value = base * factor, with a little alternating noise; fails at run `fail_at`. */
struct fake {
	double base, factor;
	unsigned calls, fail_at;
	unsigned seed;
	char tag;
};

static char shared_log[512];

static int fake_measure(void *ctx, unsigned pair, bool warmup, json_t *meta, json_t **run,
			struct sb_error *err)
{
	struct fake *f = ctx;
	(void)pair;
	(void)warmup;
	(void)err;
	size_t l = strlen(shared_log);
	if (l + 1 < sizeof(shared_log)) {
		shared_log[l] = f->tag;
		shared_log[l + 1] = '\0';
	}
	sb_metric_declare(meta, "wall_ms", "ms", false);
	sb_metric_declare(meta, "rate", "1/s", true);
	double v = f->base * f->factor * (1 + 0.04 * (noise(&f->seed) - 0.5));
	*run = json_pack("{s:{s:f, s:f}}", "metrics", "wall_ms", v, "rate", 1000 / v);
	if (++f->calls == f->fail_at)
		json_object_set_new(*run, "error", json_string("exited 3: boom"));
	return 0;
}

static void test_paired_schedule(void **state)
{
	(void)state;
	struct fake fb = {.base = 10, .factor = 1, .seed = 1, .tag = 'A'};
	struct fake fc = {.base = 10, .factor = 1.5, .seed = 2, .tag = 'B'};
	struct sb_paired_side sb = {fake_measure, &fb}, sc = {fake_measure, &fc};
	struct sb_paired_opts o = {.pairs = 8, .warmup = 2, .alpha = 0.05, .threshold = 0.1};
	shared_log[0] = '\0';
	json_t *doc = sb_paired_doc_new("command", NULL, NULL, NULL);
	struct sb_error err = {0};
	assert_int_equal(sb_paired_execute(&sb, &sc, &o, doc, &err), 0);
	/* ABBA: pair 0 AB, pair 1 BA, ... over warmups and measured pairs alike. */
	assert_string_equal(shared_log, "ABBAABBAABBAABBAABBA");
	assert_int_equal(json_array_size(json_object_get(doc, "pairs")), 10);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(doc, "pairs"), 1), "warmup")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "pairs"), 1), "order")), "BA");
	assert_string_equal(json_string_value(json_object_get(doc, "verdict")), "regression");
	json_t *a0 = json_array_get(json_object_get(doc, "analysis"), 0);
	assert_int_equal(json_integer_value(json_object_get(a0, "n")), 8);
	assert_true(json_is_true(json_object_get(a0, "gated")));
	assert_false(json_is_true(json_object_get(json_array_get(json_object_get(doc, "analysis"), 1), "gated")));
	assert_int_equal(sb_paired_exit_code(doc, false), 2);
	json_decref(doc);

	/* Identical sides with --require-significance: never significant, so every look is taken
	 * with growing batches, alpha split over 4 looks. */
	fb = (struct fake){.base = 10, .factor = 1, .seed = 5, .tag = 'A'};
	fc = (struct fake){.base = 10, .factor = 1, .seed = 6, .tag = 'B'};
	const char *gate[] = {"wall_*"};
	o = (struct sb_paired_opts){.pairs = 6, .warmup = 0, .alpha = 0.05, .threshold = 0.1,
				    .require_significance = true, .max_retries = 3, .gate = gate, .ngate = 1};
	shared_log[0] = '\0';
	doc = sb_paired_doc_new("command", NULL, NULL, NULL);
	assert_int_equal(sb_paired_execute(&sb, &sc, &o, doc, &err), 0);
	json_t *seq = json_object_get(doc, "sequential");
	assert_int_equal(json_integer_value(json_object_get(seq, "looks_planned")), 4);
	ASSERT_NEAR(json_number_value(json_object_get(seq, "alpha_per_look")), 0.0125, 1e-12);
	json_t *looks = json_object_get(seq, "pairs_at_look");
	if (json_integer_value(json_object_get(seq, "looks_taken")) == 4) {
		/* 6, +4 (half of 6, rounded to even), +6 (half of 10 -> 5 -> 6), +8 */
		assert_int_equal(json_integer_value(json_array_get(looks, 0)), 6);
		assert_int_equal(json_integer_value(json_array_get(looks, 1)), 10);
		assert_int_equal(json_integer_value(json_array_get(looks, 2)), 16);
		assert_int_equal(json_integer_value(json_array_get(looks, 3)), 24);
	}
	assert_string_not_equal(json_string_value(json_object_get(doc, "verdict")), "regression");
	json_decref(doc);

	/* A failing run stops the session with an error naming the side and the pair. */
	fb = (struct fake){.base = 10, .factor = 1, .seed = 5, .tag = 'A', .fail_at = 3};
	fc = (struct fake){.base = 10, .factor = 1, .seed = 6, .tag = 'B'};
	o = (struct sb_paired_opts){.pairs = 6, .alpha = 0.05, .threshold = 0.1};
	doc = sb_paired_doc_new("command", NULL, NULL, NULL);
	assert_true(sb_paired_execute(&sb, &sc, &o, doc, &err) < 0);
	assert_non_null(strstr(err.msg, "baseline run of pair 3: exited 3: boom"));
	assert_string_equal(json_string_value(json_object_get(doc, "verdict")), "error");
	assert_int_equal(sb_paired_exit_code(doc, false), 1);
	json_decref(doc);

	/* A --metric glob matching nothing is an error after the first pair. */
	const char *nogate[] = {"nope_*"};
	fb = (struct fake){.base = 10, .factor = 1, .seed = 5, .tag = 'A'};
	o = (struct sb_paired_opts){.pairs = 6, .alpha = 0.05, .threshold = 0.1, .gate = nogate, .ngate = 1};
	doc = sb_paired_doc_new("command", NULL, NULL, NULL);
	assert_true(sb_paired_execute(&sb, &sc, &o, doc, &err) < 0);
	assert_non_null(strstr(err.msg, "--metric 'nope_*' matches no measured metric"));
	json_decref(doc);
}

static void test_paired_cmd_parse(void **state)
{
	(void)state;
	struct sb_paired_cmd c;
	struct sb_error err = {0};
	assert_int_equal(sb_paired_cmd_parse("  sleep   0.01 ", &c, &err), 0);
	assert_false(c.shell);
	assert_string_equal(c.argv[0], "sleep");
	assert_string_equal(c.argv[1], "0.01");
	assert_null(c.argv[2]);
	sb_paired_cmd_free(&c);
	assert_int_equal(sb_paired_cmd_parse("echo 'a b' | wc -c", &c, &err), 0);
	assert_true(c.shell);
	assert_string_equal(c.argv[0], "/bin/sh");
	assert_string_equal(c.argv[2], "echo 'a b' | wc -c");
	sb_paired_cmd_free(&c);
	assert_true(sb_paired_cmd_parse(" \t", &c, &err) < 0);
	assert_string_equal(err.msg, "empty command");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_min_sizes),	   cmocka_unit_test(test_quantile_ci),
		cmocka_unit_test(test_mean_ci),		   cmocka_unit_test(test_autocorr),
		cmocka_unit_test(test_noise_floor),	   cmocka_unit_test(test_decide),
		cmocka_unit_test(test_budgets),		   cmocka_unit_test(test_compare_metric),
		cmocka_unit_test(test_compare_metric_na), cmocka_unit_test(test_compare_autocorr),
		cmocka_unit_test(test_paired_analyze),	   cmocka_unit_test(test_paired_schedule),
		cmocka_unit_test(test_paired_cmd_parse),   cmocka_unit_test(test_hostnorm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
