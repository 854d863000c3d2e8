/* SLO files and their check against reports. */
#include "store/slo.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"
#include "core/util.h"
#include "report/table.h"

static const char *const stat_names[] = {"p50", "p90", "p95", "p99", "mean", "min", "max"};
#define NSTATS (sizeof(stat_names) / sizeof(stat_names[0]))

void sb_slo_free(struct sb_slo_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->slos[i].scenario);
		free(f->slos[i].driver);
		free(f->slos[i].metric);
		free(f->slos[i].label);
		free(f->slos[i].unit);
	}
	free(f->slos);
	free(f->path);
	free(f);
}

static int entry(const char *path, size_t i, json_t *e, struct sb_slo *s, struct sb_error *err)
{
	static const char *const keys[] = {"scenario", "driver", "metric", "statistic", "max", "min", "unit", "label"};
	if (!json_is_object(e))
		return sb_error_set(err, EINVAL, "slo %s: slos[%zu] is not an object", path, i);
	const char *k;
	json_t *v;
	json_object_foreach(e, k, v) {
		bool known = false;
		for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			known |= !strcmp(k, keys[j]);
		if (!known)
			return sb_error_set(err, EINVAL,
					    "slo %s: slos[%zu]: unknown key '%s' (scenario, driver, metric, statistic, "
					    "max, min, unit, label)",
					    path, i, k);
		if (strcmp(k, "max") && strcmp(k, "min") && !json_is_string(v))
			return sb_error_set(err, EINVAL, "slo %s: slos[%zu]: '%s' must be a string", path, i, k);
	}
	const char *scn = json_string_value(json_object_get(e, "scenario"));
	const char *metric = json_string_value(json_object_get(e, "metric"));
	if (!scn || !metric)
		return sb_error_set(err, EINVAL, "slo %s: slos[%zu]: needs 'scenario' and 'metric'", path, i);
	json_t *mx = json_object_get(e, "max"), *mn = json_object_get(e, "min");
	if (!!mx == !!mn)
		return sb_error_set(err, EINVAL, "slo %s: slos[%zu]: give exactly one bound, 'max' or 'min'", path, i);
	json_t *bound = mx ? mx : mn;
	if (!json_is_number(bound) || !isfinite(json_number_value(bound)))
		return sb_error_set(err, EINVAL, "slo %s: slos[%zu]: '%s' must be a number", path, i, mx ? "max" : "min");
	const char *stat = json_string_value(json_object_get(e, "statistic"));
	if (!stat)
		return sb_error_set(err, EINVAL, "slo %s: slos[%zu]: needs a 'statistic' (p50, p90, p95, p99, mean, min, max)",
				    path, i);
	size_t st = NSTATS;
	for (size_t j = 0; j < NSTATS; j++)
		if (!strcmp(stat, stat_names[j]))
			st = j;
	if (st == NSTATS)
		return sb_error_set(err, EINVAL, "slo %s: slos[%zu]: statistic '%s': expected p50, p90, p95, p99, mean, min or max",
				    path, i, stat);
	const char *drv = json_string_value(json_object_get(e, "driver"));
	const char *unit = json_string_value(json_object_get(e, "unit"));
	const char *label = json_string_value(json_object_get(e, "label"));
	*s = (struct sb_slo){
		.scenario = strdup(scn), .driver = strdup(drv ? drv : "*"), .metric = strdup(metric),
		.label = label ? strdup(label) : NULL, .unit = unit ? strdup(unit) : NULL,
		.statistic = (enum sb_slo_stat)st, .bound = json_number_value(bound), .upper = mx != NULL,
	};
	if (!s->scenario || !s->driver || !s->metric)
		return sb_error_set(err, ENOMEM, "out of memory");
	return 0;
}

int sb_slo_load(const char *path, struct sb_slo_file **out, struct sb_error *err)
{
	*out = NULL;
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (strstr(je.text, "unable to open"))
			return sb_error_set(err, ENOENT, "slo %s: cannot open: %s", path, je.text);
		return sb_error_set(err, EINVAL, "slo %s: malformed JSON at line %d: %s", path, je.line, je.text);
	}
	int rc = 0;
	const char *schema = json_string_value(json_object_get(root, "schema"));
	json_t *list = json_object_get(root, "slos");
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v)
		if (strcmp(k, "schema") && strcmp(k, "slos") && strcmp(k, "description"))
			rc = sb_error_set(err, EINVAL, "slo %s: unknown top-level key '%s' (schema, slos, description)", path, k);
	if (rc == 0 && schema && strcmp(schema, SB_SLO_SCHEMA) != 0)
		rc = sb_error_set(err, EINVAL, "slo %s: schema '%s' (expected '%s')", path, schema, SB_SLO_SCHEMA);
	if (rc == 0 && (!json_is_array(list) || json_array_size(list) == 0))
		rc = sb_error_set(err, EINVAL, "slo %s: needs a non-empty 'slos' array", path);
	struct sb_slo_file *f = calloc(1, sizeof(*f));
	if (rc == 0 && (!f || !(f->path = strdup(path)) ||
			!(f->slos = calloc(json_array_size(list), sizeof(*f->slos)))))
		rc = sb_error_set(err, ENOMEM, "out of memory");
	size_t i;
	json_array_foreach(list, i, v) {
		if (rc < 0)
			break;
		rc = entry(path, i, v, &f->slos[i], err);
		f->n = i + 1;
	}
	json_decref(root);
	if (rc < 0) {
		sb_slo_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

/* ---------------------------------------------------------------- check */

static const char *field(const json_t *r, const char *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(json_object_get(r, obj), key));
	return v ? v : "";
}

/* "lifecycle_ms" in ms -> "lifecycle"; names without their unit as a suffix stay whole. */
static void metric_stem(const char *metric, const char *unit, char *buf, size_t len)
{
	snprintf(buf, len, "%s", metric);
	sb_utf8_trim(buf);
	char suffix[64];
	size_t o = 0;
	suffix[o++] = '_';
	for (const char *u = unit ? unit : ""; *u && o + 1 < sizeof(suffix); u++)
		suffix[o++] = (char)tolower((unsigned char)*u);
	suffix[o] = '\0';
	size_t n = strlen(buf), l = strlen(suffix);
	if (l > 1 && n > l && !strcmp(buf + n - l, suffix)) {
		buf[n - l] = '\0';
		return;
	}
	/* No unit known (an SLO nothing measured): the common unit suffixes. */
	static const char *const common[] = {"_ms", "_us", "_ns", "_s", "_kb", "_mib", "_bytes"};
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]) && !(unit && *unit); i++) {
		l = strlen(common[i]);
		if (n > l && !strcmp(buf + n - l, common[i])) {
			buf[n - l] = '\0';
			return;
		}
	}
}

/* The label of an SLO's line: its own, or "<driver> <metric stem>" (with the scenario when the
 * file has the metric under several scenarios). */
static void make_label(const struct sb_slo_file *f, const struct sb_slo *s, const char *driver,
		       const char *scenario, const char *metric, const char *unit, char *buf, size_t len);

static double statistic(const double *v, size_t n, enum sb_slo_stat st)
{
	if (n == 0)
		return NAN;
	if (st == SB_SLO_MIN || st == SB_SLO_MAX) {
		double x = v[0];
		for (size_t i = 1; i < n; i++)
			x = st == SB_SLO_MIN ? fmin(x, v[i]) : fmax(x, v[i]);
		return x;
	}
	static const enum sb_statistic map[] = {SB_STAT_P50, SB_STAT_P90, SB_STAT_P95, SB_STAT_P99, SB_STAT_MEAN};
	return sb_compare_statistic(v, n, map[st]);
}

/* Does another SLO of the file put the same metric under a different scenario? Then labels name
 * the scenario too. */
static bool scenario_needed(const struct sb_slo_file *f, const struct sb_slo *s)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->slos[i].metric, s->metric) && strcmp(f->slos[i].scenario, s->scenario))
			return true;
	return false;
}

static void make_label(const struct sb_slo_file *f, const struct sb_slo *s, const char *driver,
		       const char *scenario, const char *metric, const char *unit, char *buf, size_t len)
{
	char stem[128];
	metric_stem(metric, unit, stem, sizeof(stem));
	if (s->label)
		snprintf(buf, len, "%s", s->label);
	else if (scenario_needed(f, s))
		snprintf(buf, len, "%s %s %s", driver, scenario, stem);
	else
		snprintf(buf, len, "%s %s", driver, stem);
	/* Cut to the buffer, a label may end inside a character: json_pack would refuse it. */
	sb_utf8_trim(buf);
}

struct group {
	const char *scenario, *driver;
	size_t first, runs;
};

/* The value of one SLO over one scenario+driver group: pooled raw samples of every ok run, or the
 * newest run's aggregate for metrics without samples. */
static json_t *evaluate(const struct sb_slo_file *f, const struct sb_slo *s, const struct sb_compare_input *in,
			const struct group *g, const char *metric, struct sb_error *err, int *rc)
{
	const json_t *newest = NULL, *agg = NULL;
	double *pool = NULL;
	size_t n = 0, runs = 0;
	for (size_t i = g->first; i < in->n; i++) {
		const json_t *r = in->reports[i];
		if (strcmp(field(r, "scenario", "name"), g->scenario) || strcmp(field(r, "driver", "name"), g->driver) ||
		    strcmp(json_string_value(json_object_get(r, "status")) ?: "", "ok"))
			continue;
		const json_t *a = sb_report_aggregate(r, metric);
		if (!a)
			continue;
		runs++;
		newest = r;
		agg = a;
		double *v;
		size_t k;
		if (sb_report_values(r, metric, &v, &k) == 0) {
			double *grown = realloc(pool, (n + k + 1) * sizeof(double));
			if (grown) {
				pool = grown;
				memcpy(pool + n, v, k * sizeof(double));
				n += k;
			}
			free(v);
		}
	}
	(void)newest;
	const char *unit = json_string_value(json_object_get(agg, "unit"));
	if (s->unit && unit && strcmp(s->unit, unit) != 0) {
		*rc = sb_error_set(err, EINVAL, "slo %s: %s of %s on %s is in '%s', the SLO says '%s'", f->path, metric,
				   g->scenario, g->driver, unit, s->unit);
		free(pool);
		return NULL;
	}
	double value = n ? statistic(pool, n, s->statistic)
			 : json_number_value(json_object_get(agg, stat_names[s->statistic]));
	free(pool);
	char label[320];
	make_label(f, s, g->driver, g->scenario, metric, unit, label, sizeof(label));
	bool met = s->upper ? value <= s->bound : value >= s->bound;
	double margin = s->bound != 0 ? (value - s->bound) / fabs(s->bound) : NAN;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:s, s:o, s:o, s:s, s:i}", "label", label, "scenario",
			 g->scenario, "driver", g->driver, "metric", metric, "statistic", stat_names[s->statistic],
			 "unit", unit ? unit : "", "bound", s->bound, "kind", s->upper ? "max" : "min", "value",
			 isfinite(value) ? json_real(value) : json_null(), "margin",
			 isfinite(margin) ? json_real(margin) : json_null(), "verdict",
			 !isfinite(value) ? "n/a" : met ? "met" : "violated", "runs", (int)runs);
}

static void describe(const json_t *res, char *buf, size_t len)
{
	const char *unit = json_string_value(json_object_get(res, "unit"));
	const char *verdict = json_string_value(json_object_get(res, "verdict"));
	const char *label = json_string_value(json_object_get(res, "label"));
	const char *stat = json_string_value(json_object_get(res, "statistic"));
	char bound[48];
	snprintf(bound, sizeof(bound), "%s%g%s%s", !strcmp(json_string_value(json_object_get(res, "kind")), "min") ? ">= " : "",
		 json_number_value(json_object_get(res, "bound")), unit && *unit ? " " : "", unit ? unit : "");
	sb_utf8_trim(bound);
	if (!strcmp(verdict, "n/a")) {
		snprintf(buf, len, "%s %s n/a (SLO %s: %s)", label, stat, bound,
			 json_string_value(json_object_get(res, "reason")) ?: "no data");
		sb_utf8_trim(buf);
		return;
	}
	char value[48];
	sb_format_value(json_number_value(json_object_get(res, "value")), unit ? unit : "", value, sizeof(value));
	sb_utf8_trim(value);
	json_t *m = json_object_get(res, "margin");
	char margin[32] = "";
	if (json_is_number(m))
		snprintf(margin, sizeof(margin), ", %+.0f %%", 100 * json_number_value(m));
	snprintf(buf, len, "%s %s %s (SLO %s%s)%s", label, stat, value, bound, margin,
		 !strcmp(verdict, "violated") ? " VIOLATED" : "");
	sb_utf8_trim(buf);
}

static json_t *not_measured(const struct sb_slo_file *f, const struct sb_slo *s, const char *reason)
{
	char label[320];
	make_label(f, s, s->driver, s->scenario, s->metric, s->unit, label, sizeof(label));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:s, s:n, s:n, s:s, s:s, s:i}", "label", label, "scenario",
			 s->scenario, "driver", s->driver, "metric", s->metric, "statistic", stat_names[s->statistic],
			 "unit", s->unit ? s->unit : "", "bound", s->bound, "kind", s->upper ? "max" : "min", "value",
			 "margin", "verdict", "n/a", "reason", reason, "runs", 0);
}

int sb_slo_check(const struct sb_slo_file *f, const struct sb_compare_input *in, bool fail_on_warn, json_t **out,
		 struct sb_error *err)
{
	*out = NULL;
	json_t *results = json_array();
	int rc = 0;
	for (size_t k = 0; k < f->n && rc == 0; k++) {
		const struct sb_slo *s = &f->slos[k];
		size_t matched = 0, skipped = 0;
		const char *skip_reason = NULL;
		/* Each scenario+driver group once, at its first report. */
		for (size_t i = 0; i < in->n && rc == 0; i++) {
			const json_t *r = in->reports[i];
			const char *scn = field(r, "scenario", "name"), *drv = field(r, "driver", "name");
			if (fnmatch(s->scenario, scn, 0) || fnmatch(s->driver, drv, 0))
				continue;
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = !strcmp(field(in->reports[j], "scenario", "name"), scn) &&
				       !strcmp(field(in->reports[j], "driver", "name"), drv);
			if (seen)
				continue;
			struct group g = {.scenario = scn, .driver = drv, .first = i};
			/* The metrics of the group that the SLO names (a glob may name several). */
			json_t *names = json_object();
			for (size_t j = i; j < in->n; j++) {
				const json_t *o = in->reports[j];
				if (strcmp(field(o, "scenario", "name"), scn) || strcmp(field(o, "driver", "name"), drv))
					continue;
				if (strcmp(json_string_value(json_object_get(o, "status")) ?: "", "ok")) {
					skipped++;
					skip_reason = json_string_value(json_object_get(o, "reason"));
					continue;
				}
				size_t a;
				json_t *agg;
				json_array_foreach(json_object_get(o, "aggregates"), a, agg) {
					const char *m = json_string_value(json_object_get(agg, "metric"));
					if (m && !fnmatch(s->metric, m, 0))
						json_object_set_new(names, m, json_true());
				}
			}
			const char *m;
			json_t *unused;
			json_object_foreach(names, m, unused) {
				json_t *res = evaluate(f, s, in, &g, m, err, &rc);
				if (!res) {
					if (rc == 0)
						rc = sb_error_set(err, ENOMEM, "out of memory");
					break;
				}
				json_array_append_new(results, res);
				matched++;
			}
			json_decref(names);
		}
		if (rc == 0 && matched == 0) {
			char reason[300];
			if (skipped)
				snprintf(reason, sizeof(reason), "not measured: %s", skip_reason ? skip_reason : "skipped or failed");
			else
				snprintf(reason, sizeof(reason), "no report of %s on %s with %s", s->scenario, s->driver, s->metric);
			sb_utf8_trim(reason);
			json_t *res = not_measured(f, s, reason);
			if (!res)
				rc = sb_error_set(err, ENOMEM, "out of memory");
			json_array_append_new(results, res);
		}
	}
	if (rc < 0) {
		json_decref(results);
		return rc;
	}
	size_t met = 0, violated = 0, na = 0, i;
	json_t *res;
	char line[8192] = "";
	size_t o = 0;
	json_array_foreach(results, i, res) {
		const char *v = json_string_value(json_object_get(res, "verdict"));
		met += !strcmp(v, "met");
		violated += !strcmp(v, "violated");
		na += !strcmp(v, "n/a");
		char one[512];
		describe(res, one, sizeof(one));
		if (o < sizeof(line))
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s", o ? " | " : "", one);
	}
	if (met + violated == 0) {
		json_decref(results);
		return sb_error_set(err, ENOENT, "slo %s: no SLO could be checked: the reports measure none of them", f->path);
	}
	char tail[128];
	if (violated)
		snprintf(tail, sizeof(tail), "%zu of %zu SLOs violated", violated, met + violated);
	else
		snprintf(tail, sizeof(tail), "all SLOs met");
	if (na)
		snprintf(tail + strlen(tail), sizeof(tail) - strlen(tail), ", %zu not measured", na);
	if (o < sizeof(line))
		snprintf(line + o, sizeof(line) - o, " | %s", tail);
	sb_utf8_trim(line);
	int exit_code = violated ? 2 : na && fail_on_warn ? 3 : 0;
	*out = json_pack("{s:s, s:s, s:o, s:i, s:i, s:i, s:s, s:i}", "schema", SB_SLO_CHECK_SCHEMA, "slo_file", f->path,
			 "results", results, "met", (int)met, "violated", (int)violated, "not_measured", (int)na,
			 "summary", line, "exit_code", exit_code);
	return *out ? 0 : sb_error_set(err, ENOMEM, "out of memory");
}
