/* Host normalisation for `compare` (docs/compare.md, "Host normalisation"): time metrics scaled by
 * the host reference the runner timed before every iteration, so a host that got slower between two
 * runs is not mistaken for a slower sandbox. */
#include "compare/hostnorm.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"
#include "core/stats.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return sb_stats_percentile_sorted(v, n, 50);
}

static double ref_of(const json_t *sample)
{
	json_t *x = json_object_get(sample, SB_HOST_REF_KEY);
	return json_is_number(x) && json_number_value(x) > 0 ? json_number_value(x) : NAN;
}

bool sb_hostnorm_unit_applies(const char *unit)
{
	static const char *const time_units[] = {"ns", "us", "µs", "ms", "s"};
	for (size_t i = 0; unit && i < sizeof(time_units) / sizeof(*time_units); i++)
		if (strcmp(unit, time_units[i]) == 0)
			return true;
	return false;
}

bool sb_hostnorm_available(const json_t *report)
{
	json_t *h = json_object_get(report, "host_reference");
	json_t *p50 = json_object_get(h, "p50");
	return json_is_number(p50) && json_number_value(p50) > 0;
}

double sb_hostnorm_level(json_t *const *reports, size_t k)
{
	size_t cap = 0, n = 0;
	for (size_t i = 0; i < k; i++)
		cap += json_array_size(json_object_get(reports[i], "samples"));
	double *v = malloc((cap ? cap : 1) * sizeof(*v));
	if (!v)
		return NAN;
	for (size_t i = 0; i < k; i++) {
		size_t j;
		json_t *s;
		json_array_foreach(json_object_get(reports[i], "samples"), j, s) {
			double r = ref_of(s);
			if (!json_is_true(json_object_get(s, "warmup")) && isfinite(r))
				v[n++] = r;
		}
	}
	double m = n ? median_of(v, n) : NAN;
	free(v);
	return m;
}

/* The reference for sample i: the median of its own and its neighbours' references. The host's
 * state holds for a second or more, so neighbours share it, and one slow reference spawn (a page
 * fault storm, a preemption) does not distort the sample it belongs to. */
static double local_ref(const json_t *samples, size_t i, double fallback)
{
	double w[3];
	size_t n = 0, count = json_array_size(samples);
	for (size_t j = i > 0 ? i - 1 : 0; j <= i + 1 && j < count; j++) {
		double r = ref_of(json_array_get(samples, j));
		if (isfinite(r))
			w[n++] = r;
	}
	return n ? median_of(w, n) : fallback;
}

int sb_hostnorm_values(const json_t *report, const char *metric, double level, double **out, size_t *n)
{
	json_t *samples = json_object_get(report, "samples");
	size_t cap = json_array_size(samples), k = 0, i;
	double *v = malloc((cap ? cap : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	double fallback = json_number_value(json_object_get(json_object_get(report, "host_reference"), "p50"));
	json_t *s;
	json_array_foreach(samples, i, s) {
		if (json_is_true(json_object_get(s, "warmup")) || json_object_get(s, "error"))
			continue;
		json_t *x = json_object_get(json_object_get(s, "metrics"), metric);
		if (!json_is_number(x))
			continue;
		double r = local_ref(samples, i, fallback);
		v[k++] = r > 0 ? json_number_value(x) * level / r : json_number_value(x);
	}
	*out = v;
	*n = k;
	return 0;
}
