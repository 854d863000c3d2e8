/* The verdict rule shared by `compare` and `paired` (docs/compare.md), and the small statistics it
 * needs beyond core/stats.h and core/hypothesis.h. Pure functions: no I/O, no globals. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

enum sb_verdict {
	SB_VERDICT_SAME = 0,     /* "~": not significant, or inside the noise band */
	SB_VERDICT_IMPROVEMENT,
	SB_VERDICT_WARN,         /* significant, worse by at least half the threshold but under it */
	SB_VERDICT_REGRESSION,
	SB_VERDICT_NA,           /* cannot decide (too few samples, no raw samples, zero baseline) */
};

/* "~", "improvement", "warn", "regression", "n/a". */
const char *sb_verdict_name(enum sb_verdict v);

struct sb_decision_in {
	double bad;           /* relative change signed so that > 0 is worse (0.12 = 12 % worse) */
	double bad_ci_lo;     /* lower CI bound of `bad` (NAN when unknown) */
	bool significant;     /* the test rejected "no difference" at the alpha in force */
	bool within_drift;    /* not significant only because of the run-to-run drift check */
	bool test_agrees;     /* the test's direction matches the sign of `bad` */
	double threshold;     /* relative, e.g. 0.10 */
	bool below_floor;     /* the absolute change is under the metric's noise floor */
	bool ci_rule;         /* regression needs the whole CI beyond the threshold, not the estimate */
};

/* Apply the rule (docs/compare.md, "Verdicts"):
 *   not significant, or the test points the other way        -> ~
 *   |bad| < threshold / 2 (the noise band), or below_floor    -> ~
 *   bad >= threshold and bad_ci_lo >= threshold / 2 (or unknown)
 *     (CI rule: bad_ci_lo >= threshold)                       -> regression
 *   bad >= threshold / 2                                      -> warn
 *   bad <= -threshold / 2                                     -> improvement
 * *why (may be NULL) gets a short static explanation. */
enum sb_verdict sb_decide(const struct sb_decision_in *in, const char **why);

/* Default absolute noise floor of a unit: one microsecond for time units ("ns", "us", "ms", "s"),
 * 0 (none) for anything else. Timings this close are clock and scheduler noise, not findings. */
double sb_unit_noise_floor(const char *unit);

/* Lag-1 autocorrelation of the ranks of v in the given (time) order, ties averaged; 0 for n < 3
 * or a constant series. Positive when neighbours resemble each other (bursts of host noise). */
double sb_lag1_autocorr_ranks(const double *v, size_t n);

/* Samples per side a two-sided Mann-Whitney test needs before it can reach p < alpha at all: the
 * smallest k with 2 / C(2k, k) <= alpha (4 for alpha = 0.05). */
size_t sb_mw_min_per_side(double alpha);
/* Pairs (non-zero differences) a two-sided Wilcoxon signed-rank test needs to reach p < alpha:
 * the smallest n with 2 / 2^n <= alpha (6 for alpha = 0.05). */
size_t sb_wilcoxon_min_pairs(double alpha);

/* Distribution-free CI of the q-quantile (q in (0, 1)) of an ascending-sorted array from order
 * statistics: the ranks l < u around n*q with binomial coverage P(l <= B < u) >= level,
 * B ~ Bin(n, q), widened greedily on the side with more mass. When n is too small the whole range
 * is returned. Writes *lo, *hi and the achieved coverage (may be NULL). n > 0. */
void sb_quantile_ci_sorted(const double *sorted, size_t n, double q, double level, double *lo,
			   double *hi, double *achieved);

/* Mean and its Student-t CI at `level`; for n == 1 the CI is [mean, mean] flagged by *achieved=0. */
void sb_mean_ci(const double *v, size_t n, double level, double *mean, double *lo, double *hi,
		double *achieved);
