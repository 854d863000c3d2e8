/* Significance tests and distribution helpers for `compare` and `paired` (docs/statistics.md).
 * Pure functions: no I/O, no globals; inputs are never modified. Functions returning int give 0,
 * -EINVAL for bad input (n == 0, a non-finite value, a level outside (0, 1)) or -ENOMEM.
 * Functions returning double give NAN for bad input. All p-values are two-sided. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a p-value (or CI bound) was obtained; also the caller's request (AUTO lets us choose). */
enum sb_test_method {
	SB_TEST_AUTO = 0,   /* request only: exact when small and tie-free, else normal */
	SB_TEST_EXACT,      /* exact null distribution of the rank statistic */
	SB_TEST_NORMAL,     /* normal approximation with tie and continuity corrections */
};

/* ---- distributions ---- */

/* Standard normal CDF, upper tail and quantile (p in (0, 1); 0 and 1 give -/+INFINITY). */
double sb_normal_cdf(double x);
double sb_normal_sf(double x);
double sb_normal_quantile(double p);

/* Regularized incomplete beta I_x(a, b) for a, b > 0 and x in [0, 1]. */
double sb_beta_inc_reg(double a, double b, double x);

/* Student t with real df > 0: CDF, upper tail, quantile (p in (0, 1); 0 and 1 give +-INFINITY).
 * Quantiles are solved to about 1e-13 relative; df = 1 and 2 use their closed forms. */
double sb_student_t_cdf(double t, double df);
double sb_student_t_sf(double t, double df);
double sb_student_t_quantile(double p, double df);

/* ---- Mann-Whitney U (two independent samples) ---- */

struct sb_mw_result {
	size_t n1, n2;
	double u1;        /* U of sample a: #(a_i > b_j) + 0.5 * #(a_i == b_j) (= R1 - n1(n1+1)/2) */
	double u2;        /* n1*n2 - u1 */
	double z;         /* continuity-corrected z of max(u1, u2); 0 for the exact method */
	double p;         /* two-sided */
	enum sb_test_method method; /* EXACT or NORMAL: what was actually used */
	bool ties;        /* some value occurs in the pooled sample more than once */
	double cles;      /* common-language effect size u1/(n1 n2) = P(A > B) + P(A = B)/2 */
	double rank_biserial; /* 2*cles - 1 in [-1, 1]; > 0 when a tends to be larger */
};

/* Mann-Whitney U test of a (n1 values) against b (n2 values). AUTO uses the exact distribution
 * when there are no ties and n1*n2 <= 2500, the normal approximation (tie variance correction,
 * 0.5 continuity correction) otherwise. EXACT is honoured up to n1*n2 <= 10000 without ties and
 * silently degrades to NORMAL otherwise (see out->method). All values identical gives p = 1. */
int sb_mann_whitney(const double *a, size_t n1, const double *b, size_t n2,
		    enum sb_test_method method, struct sb_mw_result *out);

/* ---- Wilcoxon signed-rank (paired differences) ---- */

struct sb_wilcoxon_result {
	size_t n;         /* differences given */
	size_t n_zero;    /* exact zeros, dropped before ranking (Wilcoxon's method, not Pratt's) */
	size_t n_used;    /* n - n_zero */
	double w_plus;    /* rank sum of the positive differences */
	double w_minus;   /* rank sum of the negative differences */
	double t;         /* min(w_plus, w_minus) */
	double z;         /* continuity-corrected z; 0 for the exact method */
	double p;         /* two-sided; 1 when every difference is 0 */
	enum sb_test_method method;
	bool ties;        /* tied |d| among the non-zero differences */
	double rank_biserial; /* matched-pairs effect size (w_plus - w_minus) / (w_plus + w_minus) */
};

/* Wilcoxon signed-rank test that the differences d (e.g. x_i - y_i, or log ratios) are centred on
 * 0. Zeros are dropped (Wilcoxon). AUTO: exact when no zeros, no ties and n <= 50, else normal
 * with tie and continuity corrections; EXACT is honoured without zeros/ties up to n <= 400. */
int sb_wilcoxon_signed_rank(const double *d, size_t n, enum sb_test_method method,
			    struct sb_wilcoxon_result *out);

/* ---- Hodges-Lehmann shift estimates ---- */

struct sb_hl_result {
	double shift;     /* the estimate */
	double ci_lo, ci_hi;
	double ci_level;  /* achieved coverage: >= the requested level unless n is too small */
	enum sb_test_method method; /* how the CI order statistic was chosen */
};

/* One-sample HL: median of the n(n+1)/2 Walsh averages (d_i + d_j)/2, i <= j, and the
 * distribution-free CI (W_(C), W_(M+1-C)) with C from the signed-rank distribution (exact for
 * n <= 50, normal beyond). `level` e.g. 0.95. When n is too small for the level the CI is the
 * full range of Walsh averages with its achieved coverage. O(n^2) memory. */
int sb_hodges_lehmann_paired(const double *d, size_t n, double level, struct sb_hl_result *out);

/* Two-sample HL: median of the n1*n2 differences a_i - b_j (positive when a is larger), CI from
 * the Mann-Whitney distribution (exact for n1*n2 <= 2500, normal beyond). O(n1 n2) memory. */
int sb_hodges_lehmann_two_sample(const double *a, size_t n1, const double *b, size_t n2,
				 double level, struct sb_hl_result *out);

/* ---- Student t ---- */

struct sb_t_result {
	size_t n;
	double mean, sd;  /* sd Bessel-corrected; 0 when n == 1 */
	double se;        /* sd / sqrt(n) */
	double t;         /* mean / se; +-INFINITY when sd == 0 and mean != 0; 0 when mean == 0 */
	double df;        /* n - 1 */
	double p;         /* two-sided; 1 when n == 1 or everything is 0, 0 when sd == 0 != mean */
	double level;     /* requested CI level */
	double ci_lo, ci_hi; /* CI of the mean; +-INFINITY when n == 1, [mean, mean] when sd == 0 */
};

/* Paired (one-sample) t-test of the differences d against 0 with a `level` CI for the mean. */
int sb_paired_t(const double *d, size_t n, double level, struct sb_t_result *out);

/* ---- permutation test ---- */

enum sb_perm_stat {
	SB_PERM_MEDIAN = 0, /* median(a) - median(b) */
	SB_PERM_MEAN,       /* mean(a) - mean(b) */
};

struct sb_perm_result {
	double observed;   /* statistic of the given split */
	double p;          /* (1 + extreme) / (1 + permutations): never 0, valid for Monte Carlo */
	size_t permutations;
	size_t extreme;    /* random splits with |stat| >= |observed| */
};

/* Two-sided Monte Carlo permutation test for a difference in medians or means between a and b:
 * `permutations` random relabellings of the pooled sample, drawn with xoshiro256** seeded from
 * `seed` through splitmix64, so the same inputs and seed give the same p. permutations >= 1. */
int sb_permutation_test(const double *a, size_t n1, const double *b, size_t n2,
			enum sb_perm_stat stat, size_t permutations, uint64_t seed,
			struct sb_perm_result *out);

/* Deterministic PRNG exposed for tests and for callers needing reproducible resampling. */
struct sb_rng {
	uint64_t s[4];
};
void sb_rng_seed(struct sb_rng *rng, uint64_t seed);
uint64_t sb_rng_next(struct sb_rng *rng);
/* Uniform integer in [0, bound) without modulo bias; bound > 0. */
uint64_t sb_rng_below(struct sb_rng *rng, uint64_t bound);
