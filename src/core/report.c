#include "core/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/stats.h"
#include "core/util.h"
#include "version.h"

int sb_metric_declare(json_t *meta, const char *name, const char *unit, bool higher_is_better)
{
	if (json_object_get(meta, name))
		return 0;
	return json_object_set_new(meta, name,
				   json_pack("{s:s, s:b}", "unit", unit, "higher_is_better", higher_is_better));
}

json_t *sb_report_new(const struct sb_report_head *h)
{
	json_t *r = json_object();
	json_object_set_new(r, "schema", json_string(SB_REPORT_SCHEMA));
	json_object_set_new(r, "tool", json_pack("{s:s, s:s, s:s}", "name", "sandbench", "version",
						 SB_VERSION, "git", SB_GIT_VERSION));
	json_object_set_new(r, "run", json_pack("{s:s, s:s, s:n, s:O}", "id", h->run_id, "started_at",
						h->started_at, "ended_at", "host", h->host));
	json_t *params = h->params ? json_incref(h->params) : json_object();
	json_object_set_new(r, "scenario", json_pack("{s:s, s:s, s:o}", "name", h->scenario, "axis",
						     h->axis, "params", params));
	json_object_set_new(r, "driver", json_pack("{s:s, s:s}", "name", h->driver, "version",
						   h->driver_version ? h->driver_version : "unknown"));
	json_object_set_new(r, "config", json_pack("{s:i, s:i, s:f}", "runs", (int)h->runs, "warmup",
						   (int)h->warmup, "timeout", h->timeout_s));
	json_object_set_new(r, "status", json_string("ok"));
	json_object_set_new(r, "samples", json_array());
	json_object_set_new(r, "aggregates", json_array());
	json_object_set_new(r, "statistics",
			    json_pack("{s:s, s:s, s:f}", "percentile_method", "nearest-rank",
				      "stdev", "bessel-corrected (n-1)", "median_ci_level", 0.95));
	json_object_set_new(r, "tags", json_object());
	return r;
}

int sb_report_add_sample(json_t *report, unsigned iteration, bool warmup, json_t *metrics,
			 const char *error)
{
	json_t *s = json_pack("{s:i, s:b, s:o}", "iteration", (int)iteration, "warmup", warmup, "metrics",
			      metrics ? metrics : json_object());
	if (!s)
		return -ENOMEM;
	if (error)
		json_object_set_new(s, "error", json_string(error));
	return json_array_append_new(json_object_get(report, "samples"), s);
}

int sb_report_add_series(json_t *report, unsigned iteration, const json_t *series)
{
	if (json_object_size(series) == 0)
		return 0;
	json_t *all = json_object_get(report, "series");
	if (!all) {
		all = json_array();
		json_object_set_new(report, "series", all);
	}
	const char *name;
	json_t *s;
	json_object_foreach((json_t *)series, name, s) {
		json_t *e = json_pack("{s:i, s:s, s:O, s:O}", "iteration", (int)iteration, "name", name, "unit",
				      json_object_get(s, "unit"), "points", json_object_get(s, "points"));
		if (!e || json_array_append_new(all, e) < 0)
			return -ENOMEM;
	}
	return 0;
}

void sb_report_set_status(json_t *report, const char *status, const char *reason)
{
	json_object_set_new(report, "status", json_string(status));
	if (reason)
		json_object_set_new(report, "reason", json_string(reason));
	else
		json_object_del(report, "reason");
}

const char *sb_report_status(const json_t *report)
{
	return json_string_value(json_object_get(report, "status"));
}

json_t *sb_report_tags(json_t *report)
{
	return json_object_get(report, "tags");
}

int sb_report_sample_set_host_ref(json_t *report, double ms)
{
	json_t *samples = json_object_get(report, "samples");
	size_t n = json_array_size(samples);
	if (n == 0 || !isfinite(ms))
		return -EINVAL;
	return json_object_set_new(json_array_get(samples, n - 1), SB_HOST_REF_KEY, json_real(ms));
}

/* The host reference of measured iterations (failed ones too: the reference ran all the same). */
static int host_ref_values(const json_t *report, double **out, size_t *n)
{
	json_t *samples = json_object_get(report, "samples");
	size_t cap = json_array_size(samples), k = 0, i;
	double *v = malloc((cap ? cap : 1) * sizeof(double));
	if (!v)
		return -ENOMEM;
	json_t *s;
	json_array_foreach(samples, i, s) {
		json_t *x = json_object_get(s, SB_HOST_REF_KEY);
		if (!json_is_true(json_object_get(s, "warmup")) && json_is_number(x))
			v[k++] = json_number_value(x);
	}
	*out = v;
	*n = k;
	return 0;
}

int sb_report_values(const json_t *report, const char *metric, double **out, size_t *n)
{
	json_t *samples = json_object_get(report, "samples");
	size_t cap = json_array_size(samples);
	double *v = malloc((cap ? cap : 1) * sizeof(double));
	if (!v)
		return -ENOMEM;
	size_t k = 0, i;
	json_t *s;
	json_array_foreach(samples, i, s) {
		if (json_is_true(json_object_get(s, "warmup")) || json_object_get(s, "error"))
			continue;
		json_t *x = json_object_get(json_object_get(s, "metrics"), metric);
		if (json_is_number(x))
			v[k++] = json_number_value(x);
	}
	*out = v;
	*n = k;
	return 0;
}

static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

json_t *sb_aggregate_new(const char *metric, const char *unit, bool higher_is_better,
			 const double *values, size_t n)
{
	struct sb_summary s;
	if (sb_stats_summarize(values, n, higher_is_better, 99, &s) < 0)
		return NULL;
	json_t *warn = json_array();
	char names[256];
	sb_stats_warning_names(s.warnings, names, sizeof(names));
	for (char *save, *w = strtok_r(names, ", ", &save); w; w = strtok_r(NULL, ", ", &save))
		json_array_append_new(warn, json_string(w));
	json_t *a = json_object();
	json_object_set_new(a, "metric", json_string(metric));
	json_object_set_new(a, "unit", json_string(unit));
	json_object_set_new(a, "higher_is_better", json_boolean(higher_is_better));
	json_object_set_new(a, "n", json_integer((json_int_t)s.n));
	json_object_set_new(a, "min", num(s.min));
	json_object_set_new(a, "p50", num(s.p50));
	json_object_set_new(a, "p90", num(s.p90));
	json_object_set_new(a, "p95", num(s.p95));
	json_object_set_new(a, "p99", num(s.p99));
	json_object_set_new(a, "p999", num(s.p999));
	json_object_set_new(a, "max", num(s.max));
	json_object_set_new(a, "mean", num(s.mean));
	json_object_set_new(a, "stdev", num(s.stdev));
	json_object_set_new(a, "cv", num(s.cv));
	json_object_set_new(a, "median_ci", json_pack("[o,o]", num(s.median_ci_lo), num(s.median_ci_hi)));
	json_object_set_new(a, "median_ci_level", num(s.median_ci_level));
	json_object_set_new(a, "confidence", json_string(s.confidence));
	json_object_set_new(a, "outliers", json_integer((json_int_t)s.outliers));
	json_object_set_new(a, "warnings", warn);
	return a;
}

json_t *sb_report_aggregate(const json_t *report, const char *metric)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(report, "aggregates"), i, a)
		if (strcmp(json_string_value(json_object_get(a, "metric")), metric) == 0)
			return a;
	return NULL;
}

int sb_report_finalize(json_t *report, const json_t *meta)
{
	char now[40];
	sb_wallclock_rfc3339(now, sizeof(now));
	json_object_set_new(json_object_get(report, "run"), "ended_at", json_string(now));
	json_t *aggs = json_array();
	const char *name;
	json_t *m;
	json_object_foreach((json_t *)meta, name, m) {
		double *v;
		size_t n;
		if (sb_report_values(report, name, &v, &n) < 0) {
			json_decref(aggs);
			return -ENOMEM;
		}
		if (n > 0) {
			json_t *a = sb_aggregate_new(name, json_string_value(json_object_get(m, "unit")),
						     json_is_true(json_object_get(m, "higher_is_better")), v, n);
			if (a)
				json_array_append_new(aggs, a);
		}
		free(v);
	}
	json_object_set_new(report, "aggregates", aggs);
	double *v;
	size_t n;
	if (host_ref_values(report, &v, &n) < 0)
		return -ENOMEM;
	json_t *ref = n > 0 ? sb_aggregate_new(SB_HOST_REF_KEY, "ms", false, v, n) : NULL;
	free(v);
	if (ref) {
		json_object_set_new(ref, "command", json_string(SB_HOST_REF_COMMAND));
		json_object_set_new(report, "host_reference", ref);
	}
	return 0;
}

int sb_report_write(const json_t *report, const char *path, struct sb_error *err)
{
	char *text = json_dumps(report, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	if (!text)
		return sb_error_set(err, ENOMEM, "cannot serialise report");
	size_t len = strlen(text);
	char *withnl = realloc(text, len + 2);
	if (withnl) {
		text = withnl;
		text[len++] = '\n';
		text[len] = '\0';
	}
	int rc = sb_write_file_atomic(path, text, len, err);
	free(text);
	return rc;
}
