#include "report/table.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

void sb_format_value(double v, const char *unit, char *buf, size_t len)
{
	if (!isfinite(v)) {
		snprintf(buf, len, "-");
		return;
	}
	double a = fabs(v);
	const char *fmt = a >= 1000 ? "%.0f" : a >= 100 ? "%.1f" : a >= 10 ? "%.2f" : "%.3f";
	char num[48];
	snprintf(num, sizeof(num), fmt, v);
	snprintf(buf, len, "%s %s", num, unit ? unit : "");
}

static double getd(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *gets(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* "Too few samples for p99" applies to nearly every short run; it is said once in a footnote
 * instead of marking every row. */
static bool is_few_samples(const char *w)
{
	return w && strcmp(w, "few-samples") == 0;
}

static size_t count_warnings(const json_t *a)
{
	size_t k, n = 0;
	json_t *x;
	json_array_foreach(json_object_get(a, "warnings"), k, x)
		n += !is_few_samples(json_string_value(x));
	return n;
}

void sb_render_reports_table(FILE *f, json_t *const *reports, size_t n)
{
	fprintf(f, "%-26s %-9s %-44s %5s %12s %12s %12s %7s  %-25s %s\n", "scenario", "driver", "metric",
		"n", "p50", "p90", "p99", "cv", "median 95% CI", "confidence");
	int notes = 0;
	bool few_p99 = false;
	for (size_t i = 0; i < n; i++) {
		const json_t *r = reports[i];
		const char *scn = gets(json_object_get(r, "scenario"), "name");
		const char *drv = gets(json_object_get(r, "driver"), "name");
		const char *status = gets(r, "status");
		if (strcmp(status, "ok") != 0 && json_array_size(json_object_get(r, "aggregates")) == 0) {
			fprintf(f, "%-26s %-9s %s: %s\n", scn, drv, strcmp(status, "skip") == 0 ? "SKIP" : "ERROR",
				gets(r, "reason"));
			continue;
		}
		size_t j;
		json_t *a;
		json_array_foreach(json_object_get(r, "aggregates"), j, a) {
			const char *unit = gets(a, "unit");
			char p50[32], p90[32], p99[32], lo[32], hi[32], ci[72], cv[16];
			sb_format_value(getd(a, "p50"), unit, p50, sizeof(p50));
			sb_format_value(getd(a, "p90"), unit, p90, sizeof(p90));
			sb_format_value(getd(a, "p99"), unit, p99, sizeof(p99));
			json_t *mci = json_object_get(a, "median_ci");
			sb_format_value(json_number_value(json_array_get(mci, 0)), "", lo, sizeof(lo));
			sb_format_value(json_number_value(json_array_get(mci, 1)), "", hi, sizeof(hi));
			lo[strcspn(lo, " ")] = hi[strcspn(hi, " ")] = '\0';
			snprintf(ci, sizeof(ci), "[%s, %s]", lo, hi);
			snprintf(cv, sizeof(cv), "%.1f%%", getd(a, "cv") * 100);
			bool warned = count_warnings(a) > 0;
			few_p99 |= json_integer_value(json_object_get(a, "n")) < 100;
			fprintf(f, "%-26s %-9s %-44s %5lld %12s %12s %12s %7s  %-25s %s%s\n", scn, drv,
				gets(a, "metric"), (long long)json_integer_value(json_object_get(a, "n")), p50,
				p90, p99, cv, ci, gets(a, "confidence"), warned ? " !" : "");
			notes += warned;
		}
		if (strcmp(status, "ok") != 0)
			fprintf(f, "%-26s %-9s %s: %s\n", scn, drv, strcmp(status, "skip") == 0 ? "SKIP" : "ERROR",
				gets(r, "reason"));
	}
	if (few_p99)
		fprintf(f, "\np99 from fewer than 100 samples is at or near the max (nearest rank); "
			   "the report flags it per metric.\n");
	/* The host's speed at the time, so two tables can be read side by side (compare scales by it). */
	bool head = false;
	for (size_t i = 0; i < n; i++) {
		const json_t *h = json_object_get(reports[i], "host_reference");
		if (!json_is_object(h))
			continue;
		if (!head)
			fprintf(f, "\nhost reference (spawn+reap /bin/true before each iteration), p50:\n");
		fprintf(f, "  %s/%s %.3f ms (cv %.0f%%)\n", gets(json_object_get(reports[i], "scenario"), "name"),
			gets(json_object_get(reports[i], "driver"), "name"), getd(h, "p50"), getd(h, "cv") * 100);
		head = true;
	}
	if (!notes)
		return;
	fprintf(f, "\n! warnings:\n");
	for (size_t i = 0; i < n; i++) {
		size_t j;
		json_t *a;
		json_array_foreach(json_object_get(reports[i], "aggregates"), j, a) {
			json_t *w = json_object_get(a, "warnings");
			if (count_warnings(a) == 0)
				continue;
			fprintf(f, "  %s/%s %s:", gets(json_object_get(reports[i], "scenario"), "name"),
				gets(json_object_get(reports[i], "driver"), "name"), gets(a, "metric"));
			size_t k;
			json_t *x;
			bool first = true;
			json_array_foreach(w, k, x) {
				if (is_few_samples(json_string_value(x)))
					continue;
				fprintf(f, "%s %s", first ? "" : ",", json_string_value(x));
				first = false;
			}
			fprintf(f, "\n");
		}
	}
}
