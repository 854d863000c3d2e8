#include "compare/decide.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hypothesis.h"

const char *sb_verdict_name(enum sb_verdict v)
{
	switch (v) {
	case SB_VERDICT_SAME: return "~";
	case SB_VERDICT_IMPROVEMENT: return "improvement";
	case SB_VERDICT_WARN: return "warn";
	case SB_VERDICT_REGRESSION: return "regression";
	case SB_VERDICT_NA: return "n/a";
	}
	return "?";
}

enum sb_verdict sb_decide(const struct sb_decision_in *in, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	double half = in->threshold / 2;
	if (!isfinite(in->bad)) {
		*why = "change is not a finite number";
		return SB_VERDICT_NA;
	}
	if (!in->significant) {
		*why = in->within_drift ? "within the drift between runs (more runs per side, or paired, can tell)"
					: "not significant";
		return SB_VERDICT_SAME;
	}
	/* A percentile can move one way while the bulk of the distribution moves the other (a few
	 * slow outliers, a bimodal sample). Gating on such a split would be noise, not a finding. */
	if (!in->test_agrees && in->bad != 0) {
		*why = "the rank test points the other way";
		return SB_VERDICT_SAME;
	}
	if (fabs(in->bad) < half || in->bad == 0) {
		*why = "within the noise band";
		return SB_VERDICT_SAME;
	}
	if (in->below_floor) {
		*why = "below the noise floor";
		return SB_VERDICT_SAME;
	}
	if (in->bad > 0) {
		/* A chance rejection on noisy data comes with a CI that barely clears 0; asking the CI to
		 * clear the noise band too keeps such flukes at warn while real shifts, whose CIs sit
		 * well away from 0, still fail the gate. */
		bool ci_known = isfinite(in->bad_ci_lo);
		if (in->ci_rule ? (ci_known && in->bad_ci_lo >= in->threshold)
				: (in->bad >= in->threshold && (!ci_known || in->bad_ci_lo >= half))) {
			*why = in->ci_rule ? "significant, CI beyond the threshold" : "significant, beyond the threshold";
			return SB_VERDICT_REGRESSION;
		}
		*why = in->ci_rule ? "significant, CI not wholly beyond the threshold"
		       : in->bad >= in->threshold ? "significant and beyond the threshold, but the CI reaches into the noise band"
						  : "significant, between half the threshold and the threshold";
		return SB_VERDICT_WARN;
	}
	*why = "significant improvement";
	return SB_VERDICT_IMPROVEMENT;
}

double sb_unit_noise_floor(const char *unit)
{
	if (!unit)
		return 0;
	if (strcmp(unit, "ns") == 0)
		return 1000;
	if (strcmp(unit, "us") == 0 || strcmp(unit, "µs") == 0)
		return 1;
	if (strcmp(unit, "ms") == 0)
		return 1e-3;
	if (strcmp(unit, "s") == 0)
		return 1e-6;
	return 0;
}

struct ranked {
	double v;
	size_t i;
};

static int cmp_ranked(const void *a, const void *b)
{
	double x = ((const struct ranked *)a)->v, y = ((const struct ranked *)b)->v;
	return (x > y) - (x < y);
}

double sb_lag1_autocorr_ranks(const double *v, size_t n)
{
	if (n < 3)
		return 0;
	struct ranked *s = malloc(n * sizeof(*s));
	double *r = malloc(n * sizeof(*r));
	if (!s || !r) {
		free(s);
		free(r);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		s[i] = (struct ranked){v[i], i};
	qsort(s, n, sizeof(*s), cmp_ranked);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && s[j + 1].v == s[i].v)
			j++;
		double avg = (double)(i + j) / 2 + 1;
		for (size_t k = i; k <= j; k++)
			r[s[k].i] = avg;
		i = j + 1;
	}
	double mean = ((double)n + 1) / 2, num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		den += (r[i] - mean) * (r[i] - mean);
		if (i + 1 < n)
			num += (r[i] - mean) * (r[i + 1] - mean);
	}
	free(s);
	free(r);
	return den > 0 ? num / den : 0;
}

size_t sb_mw_min_per_side(double alpha)
{
	/* 2 / C(2k, k) shrinks fast; the loop ends within a few dozen steps for any sane alpha. */
	for (size_t k = 1; k < 200; k++) {
		double lc = lgamma(2.0 * k + 1) - 2 * lgamma(k + 1.0);
		if (log(2.0) - lc <= log(alpha))
			return k;
	}
	return 200;
}

size_t sb_wilcoxon_min_pairs(double alpha)
{
	for (size_t n = 1; n < 1000; n++)
		if ((1.0 - (double)n) * log(2.0) <= log(alpha))
			return n;
	return 1000;
}

static double binom_pmf(size_t n, size_t i, double q)
{
	double lc = lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1);
	return exp(lc + (double)i * log(q) + (double)(n - i) * log1p(-q));
}

void sb_quantile_ci_sorted(const double *sorted, size_t n, double q, double level, double *lo,
			   double *hi, double *achieved)
{
	double dummy;
	if (!achieved)
		achieved = &dummy;
	/* B = number of samples below the true quantile. The interval (x_(a), x_(b+1)) covers it when
	 * a <= B <= b, so a >= 1 and b <= n - 1 keep both ends real order statistics. */
	if (n < 2 || !(q > 0 && q < 1)) {
		*lo = sorted[0];
		*hi = sorted[n - 1];
		*achieved = 0;
		return;
	}
	size_t m = (size_t)floor((double)n * q);
	if (m < 1)
		m = 1;
	if (m > n - 1)
		m = n - 1;
	size_t a = m, b = m;
	double cover = binom_pmf(n, m, q);
	while (cover < level && (a > 1 || b < n - 1)) {
		double left = a > 1 ? binom_pmf(n, a - 1, q) : -1;
		double right = b < n - 1 ? binom_pmf(n, b + 1, q) : -1;
		if (left >= right) {
			a--;
			cover += left;
		} else {
			b++;
			cover += right;
		}
	}
	*lo = sorted[a - 1];
	*hi = sorted[b];
	*achieved = cover > 1 ? 1 : cover;
}

void sb_mean_ci(const double *v, size_t n, double level, double *mean, double *lo, double *hi,
		double *achieved)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	double m = n ? s / (double)n : NAN;
	*mean = m;
	if (n < 2) {
		*lo = *hi = m;
		if (achieved)
			*achieved = 0;
		return;
	}
	double ss = 0;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - m) * (v[i] - m);
	double se = sqrt(ss / (double)(n - 1)) / sqrt((double)n);
	double t = sb_student_t_quantile(1 - (1 - level) / 2, (double)(n - 1));
	*lo = m - t * se;
	*hi = m + t * se;
	if (achieved)
		*achieved = level;
}
