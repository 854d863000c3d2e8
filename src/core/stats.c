/* Descriptive statistics over one metric's samples (docs/statistics.md). */
#include "core/stats.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Robust z threshold and scale (Iglewicz & Hoaglin): 0.6745 makes MAD consistent with the
 * standard deviation of normal data. */
#define SB_MAD_Z_SCALE 0.6745
#define SB_MAD_Z_LIMIT 3.5
/* Fallback when MAD is 0 (more than half the samples are equal): mean absolute deviation scaled
 * by sqrt(2/pi), which is the same normal-consistency idea for that estimator. */
#define SB_MEANAD_Z_SCALE 0.7979
#define SB_HIGH_CV 0.10

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double *sorted_copy(const double *v, size_t n)
{
	double *s = malloc(n * sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return s;
}

/* Conventional median (mean of the two middle values for even n); used by MAD, where the
 * nearest-rank convention would bias the deviations. */
static double median_sorted(const double *s, size_t n)
{
	if (n % 2)
		return s[n / 2];
	return s[n / 2 - 1] + (s[n / 2] - s[n / 2 - 1]) / 2.0;
}

double sb_stats_percentile_sorted(const double *sorted, size_t n, double p)
{
	if (n == 0)
		return NAN;
	if (!(p > 0))
		return sorted[0];
	if (p >= 100)
		return sorted[n - 1];
	/* p * n first keeps p=95, n=20 an exact 1900 before dividing; the tiny tolerance stops
	 * representation error (99.9 is not exact) from pushing an integral rank up by one. */
	double r = p * (double)n / 100.0;
	double rank = ceil(r - 1e-9 * r);
	if (rank < 1)
		rank = 1;
	if (rank > (double)n)
		rank = (double)n;
	return sorted[(size_t)rank - 1];
}

const char *sb_stats_confidence_label(size_t n)
{
	if (n < 3)
		return "smoke";
	if (n < 10)
		return "iteration";
	if (n < 30)
		return "checkpoint";
	if (n < 100)
		return "p50/p90-grade";
	if (n < 500)
		return "p95-grade";
	return "p99-grade";
}

size_t sb_stats_min_n_for_percentile(double p)
{
	/* The median (and anything below it) is defined by a single sample; the header's 50 -> 1
	 * example is honoured rather than the literal formula, which would give 2. */
	if (!(p > 50))
		return 1;
	if (p >= 100)
		return SIZE_MAX;
	double x = 100.0 / (100.0 - p);
	/* 100 - 99.9 is slightly below 0.1, so x lands just above 1000: tolerate that. */
	double c = ceil(x - 1e-9 * x);
	if (c >= (double)SIZE_MAX)
		return SIZE_MAX;
	return (size_t)c;
}

void sb_stats_median_ci_sorted(const double *sorted, size_t n, double level,
			       double *lo, double *hi, double *achieved)
{
	if (n == 0) {
		*lo = *hi = NAN;
		*achieved = 0;
		return;
	}
	/* Interval (x_(k), x_(n-k+1)) covers the median with probability 1 - 2 P(B <= k-1).
	 * Coverage falls as k grows, so walk k upward while the tail stays within (1-level)/2 and
	 * keep the last k that qualified: the narrowest interval that still reaches `level`.
	 * Each binomial term is formed in log space because 2^-n underflows for large n. */
	double tail_max = (1.0 - level) / 2.0;
	double ln2n = (double)n * log(2.0), lfn = lgamma((double)n + 1.0);
	double cdf = 0; /* P(B <= k-1) */
	size_t best = 0;
	double best_cov = 0;
	for (size_t k = 1; k <= n / 2; k++) {
		cdf += exp(lfn - lgamma((double)k) - lgamma((double)(n - k + 1) + 1.0) - ln2n);
		/* relative tolerance: a boundary that is exact on paper must survive rounding */
		if (cdf > tail_max * (1 + 1e-12))
			break;
		best = k;
		best_cov = 1.0 - 2.0 * cdf;
	}
	if (best == 0) {
		*lo = sorted[0];
		*hi = sorted[n - 1];
		/* min..max misses only when every sample falls on one side: 1 - 2 * 2^-n */
		*achieved = n > 2000 ? 1.0 : 1.0 - ldexp(1.0, 1 - (int)n);
		return;
	}
	*lo = sorted[best - 1];
	*hi = sorted[n - best];
	*achieved = best_cov;
}

double sb_stats_mad(const double *v, size_t n)
{
	if (n == 0)
		return NAN;
	double *s = sorted_copy(v, n);
	if (!s)
		return NAN;
	double med = median_sorted(s, n);
	for (size_t i = 0; i < n; i++)
		s[i] = fabs(v[i] - med);
	qsort(s, n, sizeof(*s), cmp_double);
	double mad = median_sorted(s, n);
	free(s);
	return mad;
}

/* Robust z-score of x, or 0 when the spread is 0 (all samples equal: nothing stands out). */
static double robust_z(double x, double med, double mad, double mean_ad)
{
	if (mad > 0)
		return SB_MAD_Z_SCALE * (x - med) / mad;
	if (mean_ad > 0)
		return SB_MEANAD_Z_SCALE * (x - med) / mean_ad;
	return 0;
}

int sb_stats_summarize(const double *v, size_t n, bool higher_is_better,
		       double max_percentile_shown, struct sb_summary *out)
{
	if (!v || !out || n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return -EINVAL;
	double *s = sorted_copy(v, n);
	if (!s)
		return -ENOMEM;

	memset(out, 0, sizeof(*out));
	out->n = n;
	out->min = s[0];
	out->max = s[n - 1];

	/* Shift by the median before summing: identical samples then give an exact mean and a
	 * stdev of exactly 0, and large offsets (ns timestamps) lose less precision. */
	double shift = median_sorted(s, n), acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += v[i] - shift;
	double mean = shift + acc / (double)n;
	if (mean < out->min)
		mean = out->min;
	if (mean > out->max)
		mean = out->max;
	out->mean = mean;
	if (n >= 2) {
		double ss = 0;
		for (size_t i = 0; i < n; i++)
			ss += (v[i] - mean) * (v[i] - mean);
		out->stdev = sqrt(ss / (double)(n - 1));
	}
	out->cv = mean != 0 ? out->stdev / fabs(mean) : 0;

	out->p50 = sb_stats_percentile_sorted(s, n, 50);
	out->p90 = sb_stats_percentile_sorted(s, n, 90);
	out->p95 = sb_stats_percentile_sorted(s, n, 95);
	out->p99 = sb_stats_percentile_sorted(s, n, 99);
	out->p999 = sb_stats_percentile_sorted(s, n, 99.9);
	/* the summary always reports a 95 % median CI; other levels via sb_stats_median_ci_sorted */
	sb_stats_median_ci_sorted(s, n, 0.95, &out->median_ci_lo, &out->median_ci_hi,
				  &out->median_ci_level);
	out->confidence = sb_stats_confidence_label(n);

	/* MAD outliers; s is reused for the absolute deviations once percentiles are taken. */
	double med = median_sorted(s, n), mean_ad = 0;
	for (size_t i = 0; i < n; i++) {
		s[i] = fabs(v[i] - med);
		mean_ad += s[i];
	}
	mean_ad /= (double)n;
	qsort(s, n, sizeof(*s), cmp_double);
	double mad = median_sorted(s, n);
	free(s);

	for (size_t i = 0; i < n; i++)
		if (fabs(robust_z(v[i], med, mad, mean_ad)) > SB_MAD_Z_LIMIT)
			out->outliers++;
	if (out->outliers)
		out->warnings |= SB_WARN_OUTLIERS;
	/* "Slow" is the high side for costs (latency) and the low side for rates (throughput). */
	double z0 = robust_z(v[0], med, mad, mean_ad);
	if (higher_is_better ? z0 < -SB_MAD_Z_LIMIT : z0 > SB_MAD_Z_LIMIT)
		out->warnings |= SB_WARN_SLOW_FIRST;
	if (out->cv > SB_HIGH_CV)
		out->warnings |= SB_WARN_HIGH_CV;
	if (n < sb_stats_min_n_for_percentile(max_percentile_shown))
		out->warnings |= SB_WARN_FEW_SAMPLES;
	return 0;
}

void sb_stats_warning_names(unsigned warnings, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ SB_WARN_OUTLIERS, "outliers" },
		{ SB_WARN_SLOW_FIRST, "slow-first-run" },
		{ SB_WARN_HIGH_CV, "high-cv" },
		{ SB_WARN_FEW_SAMPLES, "few-samples" },
	};
	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	size_t used = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(warnings & names[i].bit))
			continue;
		int w = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i].name);
		if (w < 0 || (size_t)w >= len - used)
			return; /* truncated: snprintf already terminated the buffer */
		used += (size_t)w;
	}
}
