#include "scenarios/breakpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double p95(const double *v, size_t n)
{
	double *s = malloc(n * sizeof(double));
	if (!s)
		return 0;
	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_double);
	double r = sb_stats_percentile_sorted(s, n, 95);
	free(s);
	return r;
}

void sb_breakpoint_compute(const unsigned *levels, const double *const *values, const size_t *counts,
			   size_t nlevels, double factor, struct sb_breakpoint *out)
{
	memset(out, 0, sizeof(*out));
	out->min_samples = (size_t)-1;
	ssize_t base = -1;
	for (size_t i = 0; i < nlevels; i++) {
		if (counts[i] < out->min_samples)
			out->min_samples = counts[i];
		if (levels[i] == 1 && counts[i] > 0)
			base = (ssize_t)i;
	}
	if (nlevels == 0)
		out->min_samples = 0;
	if (base < 0) {
		snprintf(out->reason, sizeof(out->reason), "no level-1 samples: the baseline p95 is unknown");
		return;
	}
	out->baseline_p95 = p95(values[base], counts[base]);
	out->threshold_p95 = out->baseline_p95 * factor;
	for (size_t i = 0; i < nlevels; i++) {
		if (counts[i] == 0)
			continue;
		double p = p95(values[i], counts[i]);
		if (p <= out->threshold_p95) {
			if (!out->found || levels[i] > out->level)
				out->level = levels[i];
			out->found = true;
		} else if (out->first_crossing == 0 || levels[i] < out->first_crossing) {
			out->first_crossing = levels[i];
		}
	}
}
