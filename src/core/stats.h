/* Descriptive statistics over one metric's samples (docs/statistics.md).
 * Pure functions: no I/O, no globals. Inputs are never modified (copies are sorted). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Warning bits raised by sb_stats_summarize. */
enum sb_stats_warning {
	SB_WARN_OUTLIERS = 1u << 0,    /* some samples beyond 3.5 robust z-scores (MAD) */
	SB_WARN_SLOW_FIRST = 1u << 1,  /* the first sample is an outlier on the slow side */
	SB_WARN_HIGH_CV = 1u << 2,     /* coefficient of variation above 10 % */
	SB_WARN_FEW_SAMPLES = 1u << 3, /* too few samples for a percentile shown (p95 < 20, p99 < 100 ...) */
};

struct sb_summary {
	size_t n;
	double min, max, mean;
	double stdev; /* Bessel-corrected (n-1); 0 when n < 2 */
	double cv;    /* stdev / |mean|; 0 when mean == 0 */
	double p50, p90, p95, p99, p999; /* nearest-rank */
	double median_ci_lo, median_ci_hi; /* distribution-free CI of the median */
	double median_ci_level;            /* achieved coverage (>= requested where n allows) */
	const char *confidence;            /* sb_stats_confidence_label(n) */
	unsigned warnings;                 /* enum sb_stats_warning bits */
	size_t outliers;                   /* count of MAD outliers */
};

/* Nearest-rank percentile of an ascending-sorted array: the value at rank ceil(p/100*n)
 * (1-based), clamped to [1, n]. p in [0, 100]. n must be > 0. */
double sb_stats_percentile_sorted(const double *sorted, size_t n, double p);

/* Confidence label from the sample count: "smoke" (<3), "iteration" (<10), "checkpoint" (<30),
 * "p50/p90-grade" (<100), "p95-grade" (<500), else "p99-grade". */
const char *sb_stats_confidence_label(size_t n);

/* Smallest sample count needed for percentile p to be meaningful (e.g. 95 -> 20, 99 -> 100,
 * 99.9 -> 1000, 50 -> 1): ceil(1 / (1 - p/100)). */
size_t sb_stats_min_n_for_percentile(double p);

/* Median CI from order statistics: the widest-needed symmetric pair (x_(k), x_(n-k+1)) whose binomial
 * coverage is >= level (e.g. 0.95). When n is too small to reach the level, returns min and max and
 * the achieved coverage. Writes *lo, *hi, *achieved. */
void sb_stats_median_ci_sorted(const double *sorted, size_t n, double level,
			       double *lo, double *hi, double *achieved);

/* Median absolute deviation (unscaled) of any array. */
double sb_stats_mad(const double *v, size_t n);

/* Full summary. `higher_is_better` decides which side counts as "slow" for the slow-first warning.
 * `max_percentile_shown` (e.g. 99) decides SB_WARN_FEW_SAMPLES. Returns 0, or -EINVAL when n == 0
 * or any value is not finite. */
int sb_stats_summarize(const double *v, size_t n, bool higher_is_better,
		       double max_percentile_shown, struct sb_summary *out);

/* Human-readable names of warning bits, comma-separated into buf. */
void sb_stats_warning_names(unsigned warnings, char *buf, size_t len);
