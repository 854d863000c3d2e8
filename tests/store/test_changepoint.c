/* Unit tests for the E-Divisive change points (src/store/changepoint.c): a known step is found
 * where it is, with its size; two steps are both found; pure noise rarely produces one (the measured
 * false-positive rates are printed and docs/history.md quotes them). Noise comes from a small
 * generator here, independent of the code under test. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "store/changepoint.h"

static uint64_t rng = 1;

static double uniform(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return ((rng >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void)
{
	return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

/* Kinds of noise around a level: normal (sd 5 %), log-normal (heavy right tail, like latencies),
 * and bimodal (a host that is fast or slow, 30 % of runs slow by 20 %). */
enum noise { NORMAL, LOGNORMAL, BIMODAL };

static double noisy(double level, enum noise k)
{
	switch (k) {
	case LOGNORMAL: return level * exp(0.08 * gauss());
	case BIMODAL: return level * (uniform() < 0.3 ? 1.2 : 1.0) * (1 + 0.02 * gauss());
	default: return level * (1 + 0.05 * gauss());
	}
}

static void test_best_split_clean_step(void **state)
{
	(void)state;
	double x[20];
	for (int i = 0; i < 20; i++)
		x[i] = i < 12 ? 1.0 : 2.0;
	size_t at;
	double q = sb_cp_best_split(x, 20, 2, &at);
	assert_true(q > 0);
	assert_int_equal(at, 12);
	/* Too short for two sides of min_size. */
	assert_true(sb_cp_best_split(x, 3, 2, &at) < 0);
}

static void test_constant_and_short(void **state)
{
	(void)state;
	double x[30];
	for (int i = 0; i < 30; i++)
		x[i] = 5;
	struct sb_cp *cp;
	size_t n;
	struct sb_cp_opts o = SB_CP_DEFAULTS;
	assert_int_equal(sb_changepoints(x, 30, &o, &cp, &n), 0);
	assert_int_equal(n, 0);
	assert_null(cp);
	assert_int_equal(sb_changepoints(x, 5, &o, &cp, &n), 0);
	assert_int_equal(n, 0);
	o.alpha = 0;
	assert_int_equal(sb_changepoints(x, 30, &o, &cp, &n), -22);
}

/* A 20 % step after 25 of 40 runs, 5 % noise: found at the right run (within one), with its size,
 * in nearly every trial. */
static void test_known_step(void **state)
{
	(void)state;
	struct sb_cp_opts o = SB_CP_DEFAULTS;
	int found = 0, exact = 0, extra = 0, trials = 100;
	rng = 42;
	for (int t = 0; t < trials; t++) {
		double x[40];
		for (int i = 0; i < 40; i++)
			x[i] = noisy(i < 25 ? 1.0 : 1.2, NORMAL);
		struct sb_cp *cp;
		size_t n;
		assert_int_equal(sb_changepoints(x, 40, &o, &cp, &n), 0);
		for (size_t k = 0; k < n; k++) {
			if (labs((long)cp[k].index - 25) <= 1) {
				found++;
				exact += cp[k].index == 25;
				assert_true(cp[k].change > 0.12 && cp[k].change < 0.28);
				assert_true(cp[k].p <= 0.05);
				assert_true(cp[k].before < cp[k].after);
			} else {
				extra++;
			}
		}
		free(cp);
	}
	print_message("known 20%% step, 5%% noise: found %d/%d (%d at the exact run), %d other change points\n",
		      found, trials, exact, extra);
	assert_true(found >= 95);
	assert_true(extra <= 10);
}

/* A step down then up: both found, in order, with their directions. */
static void test_two_steps(void **state)
{
	(void)state;
	struct sb_cp_opts o = SB_CP_DEFAULTS;
	rng = 7;
	int both = 0, trials = 50;
	for (int t = 0; t < trials; t++) {
		double x[60];
		for (int i = 0; i < 60; i++)
			x[i] = noisy(i < 20 ? 2.0 : i < 40 ? 1.5 : 2.0, LOGNORMAL);
		struct sb_cp *cp;
		size_t n;
		assert_int_equal(sb_changepoints(x, 60, &o, &cp, &n), 0);
		if (n == 2 && labs((long)cp[0].index - 20) <= 2 && labs((long)cp[1].index - 40) <= 2 &&
		    cp[0].change < -0.15 && cp[1].change > 0.2)
			both++;
		free(cp);
	}
	print_message("two steps (-25%%, +33%%), log-normal noise: both found in %d/%d\n", both, trials);
	assert_true(both >= 45);
}

/* Pure noise: the share of series with any change point is the false-positive rate. The test at
 * alpha 0.05 should keep it near 5 %; allow up to 10 % for the trials' own spread. */
static void noise_rate(enum noise k, const char *name, size_t len, int trials, double *rate)
{
	struct sb_cp_opts o = SB_CP_DEFAULTS;
	int any = 0;
	for (int t = 0; t < trials; t++) {
		double x[200];
		for (size_t i = 0; i < len; i++)
			x[i] = noisy(1.0, k);
		struct sb_cp *cp;
		size_t n;
		assert_int_equal(sb_changepoints(x, len, &o, &cp, &n), 0);
		any += n > 0;
		free(cp);
	}
	*rate = (double)any / trials;
	print_message("pure %s noise, %zu runs: %d/%d series with a change point (%.1f %%)\n", name, len, any,
		      trials, 100 * *rate);
}

static void test_noise_false_positives(void **state)
{
	(void)state;
	rng = 2024;
	static const struct {
		enum noise k;
		const char *name;
		size_t len;
	} cases[] = {{NORMAL, "normal", 30}, {NORMAL, "normal", 100}, {LOGNORMAL, "log-normal", 50},
		     {BIMODAL, "bimodal", 50}};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		double rate;
		noise_rate(cases[c].k, cases[c].name, cases[c].len, 200, &rate);
		assert_true(rate <= 0.10);
	}
}

/* The same series gives the same answer (seeded permutations). */
static void test_deterministic(void **state)
{
	(void)state;
	double x[40];
	rng = 99;
	for (int i = 0; i < 40; i++)
		x[i] = noisy(i < 22 ? 1.0 : 1.1, NORMAL);
	struct sb_cp_opts o = SB_CP_DEFAULTS;
	struct sb_cp *a, *b;
	size_t na, nb;
	assert_int_equal(sb_changepoints(x, 40, &o, &a, &na), 0);
	assert_int_equal(sb_changepoints(x, 40, &o, &b, &nb), 0);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(a[i].index, b[i].index);
		assert_true(a[i].p == b[i].p);
	}
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_best_split_clean_step), cmocka_unit_test(test_constant_and_short),
		cmocka_unit_test(test_known_step),	      cmocka_unit_test(test_two_steps),
		cmocka_unit_test(test_noise_false_positives), cmocka_unit_test(test_deterministic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
