/* compare: group both sides' reports by scenario+driver (several runs = sessions), pair the
 * groups, apply the guards, judge every metric (metric.c) and build sandbench.compare/v1. */
#include "compare/compare.h"
#include "compare/hostnorm.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/report.h"
#include "version.h"

/* ---------------------------------------------------------------- pairing and guards */

#define SB_NCOUNTS 6 /* one per enum sb_verdict, then "ignored" */

/* Every run (session) of one scenario+driver on one side, oldest first by run.started_at (then
 * file name); the newest, r[k - 1], speaks for the group: metadata, units, status. */
struct entry {
	const char *scn, *drv;
	json_t **r;
	const char **file;
	size_t k;
	bool matched;
	struct entry *partner;   /* the other side's group it is compared with */
};

static const char *sget(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static const char *started_of(const json_t *r)
{
	return sget(json_object_get(r, "run"), "started_at");
}

static void entries_free(struct entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++) {
		free(e[i].r);
		free(e[i].file);
	}
	free(e);
}

static int add_session(struct entry *e, json_t *r, const char *file)
{
	json_t **nr = realloc(e->r, (e->k + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	e->r = nr;
	const char **nf = realloc(e->file, (e->k + 1) * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	e->file = nf;
	size_t at = e->k;
	while (at > 0) {
		int c = strcmp(started_of(e->r[at - 1]), started_of(r));
		if (c < 0 || (c == 0 && strcmp(e->file[at - 1], file) <= 0))
			break;
		e->r[at] = e->r[at - 1];
		e->file[at] = e->file[at - 1];
		at--;
	}
	e->r[at] = r;
	e->file[at] = file;
	e->k++;
	return 0;
}

/* Group a side's reports by scenario+driver. Several runs of the same pair are sessions of one
 * measurement: their samples are pooled and their spread becomes the session-level check.
 * Skipped runs are dropped from a group that has real ones. Returns the group count or -ENOMEM. */
static long collect(const struct sb_compare_input *in, struct entry *out, json_t *notes, const char *label)
{
	size_t n = 0;
	for (size_t i = 0; i < in->n; i++) {
		json_t *r = in->reports[i];
		const char *scn = sget(json_object_get(r, "scenario"), "name");
		const char *drv = sget(json_object_get(r, "driver"), "name");
		size_t k;
		for (k = 0; k < n; k++)
			if (strcmp(out[k].scn, scn) == 0 && strcmp(out[k].drv, drv) == 0)
				break;
		if (k == n)
			out[n++] = (struct entry){.scn = scn, .drv = drv};
		if (add_session(&out[k], r, in->files[i]) < 0)
			return -ENOMEM;
	}
	for (size_t g = 0; g < n; g++) {
		struct entry *e = &out[g];
		size_t real = 0, w = 0;
		for (size_t i = 0; i < e->k; i++)
			real += strcmp(sget(e->r[i], "status"), "skip") != 0;
		if (real && real < e->k) {
			for (size_t i = 0; i < e->k; i++)
				if (strcmp(sget(e->r[i], "status"), "skip") != 0) {
					e->r[w] = e->r[i];
					e->file[w++] = e->file[i];
				}
			json_array_append_new(notes, json_sprintf("%s %s/%s: %zu skipped run(s) left out", label,
								  e->scn, e->drv, e->k - w));
			e->k = w;
		}
		if (e->k > 1)
			json_array_append_new(notes, json_sprintf("%s %s/%s: %zu runs pooled as sessions", label,
								  e->scn, e->drv, e->k));
	}
	return (long)n;
}

static void appendf(char *buf, size_t len, const char *fmt, const char *a, const char *b, const char *c)
{
	size_t l = strlen(buf);
	if (l < len)
		snprintf(buf + l, len - l, fmt, l ? "; " : "", a, b, c);
}

/* Host fingerprint differences that make timings incomparable (docs/compare.md, "Guards"). */
static void host_diff(const json_t *hb, const json_t *hc, char *buf, size_t len)
{
	buf[0] = '\0';
	static const char *const same[] = {"os", "arch", "cpu_model"};
	for (size_t i = 0; i < 3; i++) {
		const char *a = sget(hb, same[i]), *b = sget(hc, same[i]);
		if (strcmp(a, b) != 0)
			appendf(buf, len, "%s%s '%s' vs '%s'", same[i], a, b);
	}
	static const char *const scale[] = {"cpu_count", "mem_total"};
	for (size_t i = 0; i < 2; i++) {
		double a = json_number_value(json_object_get(hb, scale[i]));
		double b = json_number_value(json_object_get(hc, scale[i]));
		if (a > 0 && b > 0 && (a > 2 * b || b > 2 * a)) {
			char sa[32], sb_[32];
			snprintf(sa, sizeof(sa), "%.0f", a);
			snprintf(sb_, sizeof(sb_), "%.0f", b);
			appendf(buf, len, "%s%s %s vs %s", scale[i], sa, sb_);
		}
	}
}

static void params_diff(const json_t *pb, const json_t *pc, char *buf, size_t len)
{
	buf[0] = '\0';
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)pb, k, v) {
		json_t *w = json_object_get(pc, k);
		if (!w || !json_equal(v, w))
			appendf(buf, len, "%s%s=%s vs %s", k, json_string_value(v) ? json_string_value(v) : "?",
				w && json_string_value(w) ? json_string_value(w) : "(unset)");
	}
	json_object_foreach((json_t *)pc, k, v)
		if (!json_object_get(pb, k))
			appendf(buf, len, "%s%s=(unset) vs %s", k, json_string_value(v) ? json_string_value(v) : "?",
				"");
}

static bool array_has_string(const json_t *a, const char *s)
{
	size_t i;
	json_t *x;
	json_array_foreach(a, i, x)
		if (strcmp(json_string_value(x), s) == 0)
			return true;
	return false;
}

static void add_unique(json_t *a, const char *s)
{
	if (!array_has_string(a, s))
		json_array_append_new(a, json_string(s));
}

static json_t *files_json(const struct entry *e)
{
	json_t *a = json_array();
	for (size_t i = 0; i < e->k; i++)
		json_array_append_new(a, json_string(e->file[i]));
	return a;
}

/* A metric's samples over every session of a group, in session order, with chunk lengths; scaled
 * to the host reference `level` (compare/hostnorm.h) unless level is NAN. */
static int pooled_values(const struct entry *e, const char *metric, double level, double **out, size_t *n,
			 size_t **lens)
{
	*out = NULL;
	*n = 0;
	*lens = calloc(e->k, sizeof(**lens));
	if (!*lens)
		return -ENOMEM;
	for (size_t i = 0; i < e->k; i++) {
		double *v;
		size_t m;
		if ((isnan(level) ? sb_report_values(e->r[i], metric, &v, &m)
				  : sb_hostnorm_values(e->r[i], metric, level, &v, &m)) < 0)
			return -ENOMEM;
		double *grown = realloc(*out, (*n + m + 1) * sizeof(double));
		if (!grown) {
			free(v);
			return -ENOMEM;
		}
		*out = grown;
		memcpy(*out + *n, v, m * sizeof(double));
		free(v);
		*n += m;
		(*lens)[i] = m;
	}
	return 0;
}

/* The relative change of the statistic without host normalisation, for reading beside the
 * normalised one. */
static json_t *raw_delta(const struct entry *b, const struct entry *c, const char *metric, enum sb_statistic st)
{
	double *vb = NULL, *vc = NULL, d = NAN;
	size_t nb = 0, nc = 0, *lb = NULL, *lc = NULL;
	if (pooled_values(b, metric, NAN, &vb, &nb, &lb) == 0 && pooled_values(c, metric, NAN, &vc, &nc, &lc) == 0 &&
	    nb && nc) {
		double xb = sb_compare_statistic(vb, nb, st), xc = sb_compare_statistic(vc, nc, st);
		d = xb != 0 ? (xc - xb) / fabs(xb) : NAN;
	}
	free(vb);
	free(vc);
	free(lb);
	free(lc);
	return isfinite(d) ? json_real(d) : json_null();
}

/* Compare one pair of groups. Returns 0, or -EINVAL with err set when a guard is fatal. */
static int compare_pair(const struct entry *b, const struct entry *c, const struct sb_compare_opts *o,
			double alpha_div, json_t *comps, json_t *warnings, json_t *notes, json_t *missing_all,
			size_t counts[SB_NCOUNTS], struct sb_error *err)
{
	const json_t *rb = b->r[b->k - 1], *rc = c->r[c->k - 1];
	char key[300], buf[1024];
	snprintf(key, sizeof(key), "%s/%s", b->scn, b->drv);
	json_t *cmp = json_object();
	json_array_append_new(comps, cmp);
	json_object_set_new(cmp, "scenario", json_string(b->scn));
	json_object_set_new(cmp, "driver", json_string(b->drv));
	if (strcmp(b->scn, c->scn) != 0 || strcmp(b->drv, c->drv) != 0) {
		json_object_set_new(cmp, "current_scenario", json_string(c->scn));
		json_object_set_new(cmp, "current_driver", json_string(c->drv));
	}
	json_object_set_new(cmp, "baseline_report", json_string(b->file[b->k - 1]));
	json_object_set_new(cmp, "current_report", json_string(c->file[c->k - 1]));
	json_object_set_new(cmp, "baseline_reports", files_json(b));
	json_object_set_new(cmp, "current_reports", files_json(c));
	json_object_set_new(cmp, "baseline_driver_version", json_string(sget(json_object_get(rb, "driver"), "version")));
	json_object_set_new(cmp, "current_driver_version", json_string(sget(json_object_get(rc, "driver"), "version")));
	json_object_set_new(cmp, "baseline_status", json_string(sget(rb, "status")));
	json_object_set_new(cmp, "current_status", json_string(sget(rc, "status")));
	json_t *mism = json_array();
	json_object_set_new(cmp, "mismatch", mism);

	/* Scenario, driver and parameters must be the same measurement, or the numbers mean nothing;
	 * every session on both sides is held against the newest baseline run. */
	if (strcmp(b->scn, c->scn) != 0)
		json_array_append_new(mism, json_sprintf("scenario '%s' vs '%s'", b->scn, c->scn));
	if (strcmp(b->drv, c->drv) != 0)
		json_array_append_new(mism, json_sprintf("driver '%s' vs '%s'", b->drv, c->drv));
	const json_t *pref = json_object_get(json_object_get(rb, "scenario"), "params");
	const struct entry *sides[2] = {b, c};
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < sides[s]->k; i++) {
			params_diff(pref, json_object_get(json_object_get(sides[s]->r[i], "scenario"), "params"), buf,
				    sizeof(buf));
			if (buf[0]) {
				char line[1100];
				snprintf(line, sizeof(line), "parameters differ: %s", buf);
				add_unique(mism, line);
			}
		}

	/* Metrics: baseline order first, then what only the current side has. */
	json_t *names = json_array();
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(rb, "aggregates"), i, a)
		add_unique(names, sget(a, "metric"));
	json_array_foreach(json_object_get(rc, "aggregates"), i, a)
		add_unique(names, sget(a, "metric"));
	json_array_foreach(names, i, a) {
		const char *mname = json_string_value(a);
		json_t *ab = sb_report_aggregate(rb, mname), *ac = sb_report_aggregate(rc, mname);
		if (ab && ac && strcmp(sget(ab, "unit"), sget(ac, "unit")) != 0)
			json_array_append_new(mism, json_sprintf("metric %s unit '%s' vs '%s'", mname,
								 sget(ab, "unit"), sget(ac, "unit")));
		if (ab && ac && json_is_true(json_object_get(ab, "higher_is_better")) !=
				    json_is_true(json_object_get(ac, "higher_is_better")))
			json_array_append_new(mism, json_sprintf("metric %s direction differs", mname));
	}
	if (json_array_size(mism)) {
		char all[700] = "";
		size_t k;
		json_t *x;
		json_array_foreach(mism, k, x) {
			size_t l = strlen(all);
			snprintf(all + l, sizeof(all) - l, "%s%s", k ? "; " : "", json_string_value(x));
		}
		if (!o->allow_mismatch) {
			json_decref(names);
			return sb_error_set(err, EINVAL,
					    "mismatch between baseline %s and current %s: %s (use --allow-mismatch "
					    "to compare anyway)", b->file[b->k - 1], c->file[c->k - 1], all);
		}
		json_array_append_new(warnings, json_sprintf("%s: compared despite a mismatch: %s", key, all));
	}

	const json_t *href = json_object_get(json_object_get(rb, "run"), "host");
	json_t *hosts = json_array();
	json_object_set_new(cmp, "host_mismatch", hosts);
	for (int s = 0; s < 2; s++)
		for (size_t k = 0; k < sides[s]->k; k++) {
			host_diff(href, json_object_get(json_object_get(sides[s]->r[k], "run"), "host"), buf, sizeof(buf));
			if (!buf[0])
				continue;
			if (o->host_mismatch_error) {
				json_decref(names);
				return sb_error_set(err, EINVAL,
						    "host mismatch between baseline %s and %s %s: %s "
						    "(--host-mismatch=warn to compare anyway)", b->file[b->k - 1],
						    s ? "current" : "baseline", sides[s]->file[k], buf);
			}
			add_unique(hosts, buf);
			char w[1100];
			snprintf(w, sizeof(w), "host mismatch: %s (timings from different machines)", buf);
			add_unique(warnings, w);
		}

	const char *sb_st = sget(rb, "status"), *sc_st = sget(rc, "status");
	json_t *metrics = json_array();
	json_object_set_new(cmp, "metrics", metrics);
	json_t *miss_b = json_array(), *miss_c = json_array();
	json_object_set_new(cmp, "missing", json_pack("{s:o, s:o}", "baseline", miss_b, "current", miss_c));
	if (strcmp(sb_st, "skip") == 0 || strcmp(sc_st, "skip") == 0) {
		bool both = strcmp(sb_st, sc_st) == 0;
		json_t *into = both ? notes : warnings;
		json_array_append_new(into, json_sprintf("%s: skipped in %s: %s", key,
							 both ? "both" : strcmp(sb_st, "skip") == 0 ? "baseline" : "current",
							 sget(strcmp(sb_st, "skip") == 0 ? rb : rc, "reason")));
		json_decref(names);
		return 0;
	}
	for (int s = 0; s < 2; s++)
		for (size_t k = 0; k < sides[s]->k; k++) {
			const char *st = sget(sides[s]->r[k], "status");
			if (strcmp(st, "ok") != 0)
				json_array_append_new(warnings, json_sprintf("%s: %s run %s ended in %s: %s", key,
									     s ? "current" : "baseline", sides[s]->file[k],
									     st, sget(sides[s]->r[k], "reason")));
		}
	/* Host normalisation needs a reference in every run on both sides. */
	double level = NAN;
	const char *norm_why = o->no_normalize ? "off (--normalize none)" : NULL;
	for (int s = 0; s < 2 && !norm_why; s++)
		for (size_t k = 0; k < sides[s]->k && !norm_why; k++)
			if (!sb_hostnorm_available(sides[s]->r[k]))
				norm_why = s ? "off: a current run has no host reference (made with --no-host-ref or "
					       "by an older sandbench)"
					     : "off: a baseline run has no host reference (made with --no-host-ref "
					       "or by an older sandbench)";
	double ref_b = sb_hostnorm_level(b->r, b->k), ref_c = sb_hostnorm_level(c->r, c->k);
	if (!norm_why)
		level = ref_b;
	json_object_set_new(cmp, "host_reference",
			    json_pack("{s:b, s:s, s:o, s:o, s:o}", "normalized", !norm_why, "how",
				      norm_why ? norm_why : "time metrics scaled to the baseline's host reference",
				      "baseline_ms", isfinite(ref_b) ? json_real(ref_b) : json_null(),
				      "current_ms", isfinite(ref_c) ? json_real(ref_c) : json_null(),
				      "host_change", isfinite(ref_b) && isfinite(ref_c) ? json_real(ref_c / ref_b - 1)
											: json_null()));
	json_array_foreach(names, i, a) {
		const char *mname = json_string_value(a);
		json_t *ab = sb_report_aggregate(rb, mname), *ac = sb_report_aggregate(rc, mname);
		if (!ab || !ac) {
			json_array_append_new(ab ? miss_c : miss_b, json_string(mname));
			json_array_append_new(missing_all, json_sprintf("%s missing in %s (%s)", mname,
									ab ? "current" : "baseline", key));
			json_array_append_new(warnings, json_sprintf("%s: metric %s is missing in %s", key, mname,
								     ab ? "current" : "baseline"));
			continue;
		}
		struct sb_budget_rule rule;
		sb_budgets_resolve(o->budgets, &o->defaults, o->cli_set, b->scn, b->drv, mname, &rule);
		rule.alpha /= alpha_div;
		double *vb = NULL, *vc = NULL;
		size_t nb = 0, nc = 0, *lb = NULL, *lc = NULL;
		bool scaled = !isnan(level) && !rule.no_normalize && sb_hostnorm_unit_applies(sget(ab, "unit"));
		double lvl = scaled ? level : NAN;
		if (pooled_values(b, mname, lvl, &vb, &nb, &lb) < 0 || pooled_values(c, mname, lvl, &vc, &nc, &lc) < 0) {
			free(vb);
			free(vc);
			free(lb);
			free(lc);
			json_decref(names);
			return sb_error_set(err, ENOMEM, "out of memory");
		}
		struct sb_metric_samples sb_ = {vb, nb, lb, b->k, ab}, sc_ = {vc, nc, lc, c->k, ac};
		enum sb_verdict v;
		json_t *m = sb_compare_metric(mname, sget(ab, "unit"), json_is_true(json_object_get(ab, "higher_is_better")),
					      &rule, &sb_, &sc_, &v);
		json_object_set_new(m, "normalized", json_boolean(scaled));
		if (scaled && nb && nc)
			json_object_set_new(m, "raw_delta", raw_delta(b, c, mname, rule.statistic));
		free(vb);
		free(vc);
		free(lb);
		free(lc);
		json_array_append_new(metrics, m);
		/* An ignored metric is listed but never counted as a verdict. */
		counts[rule.ignore ? SB_NCOUNTS - 1 : (size_t)v]++;
	}
	json_decref(names);
	return 0;
}

static const char *kind_name(enum sb_input_kind k)
{
	return k == SB_INPUT_DIR ? "directory" : k == SB_INPUT_MATRIX ? "matrix" : "report";
}

static json_t *input_json(const struct sb_compare_input *in)
{
	json_t *files = json_array();
	for (size_t i = 0; i < in->n; i++)
		json_array_append_new(files, json_string(in->files[i]));
	return json_pack("{s:s, s:s, s:o}", "path", in->path, "kind", kind_name(in->kind), "reports", files);
}

static void join_keys(const struct entry *e, size_t n, bool want_matched, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (e[i].matched != want_matched)
			continue;
		size_t l = strlen(buf);
		if (l < len)
			snprintf(buf + l, len - l, "%s%s/%s", l ? ", " : "", e[i].scn, e[i].drv);
	}
}

int sb_compare(const struct sb_compare_input *base, const struct sb_compare_input *cur,
	       const struct sb_compare_opts *o, json_t **result, struct sb_error *err)
{
	struct entry *eb = calloc(base->n + 1, sizeof(*eb)), *ec = calloc(cur->n + 1, sizeof(*ec));
	long lnb = 0, lnc = 0;
	json_t *res = json_object();
	json_t *warnings = json_array(), *notes = json_array(), *comps = json_array(),
	       *missing = json_array(), *only_b = json_array(), *only_c = json_array();
	int rc = 0;
	if (!eb || !ec || !res) {
		rc = sb_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	char now[40];
	sb_wallclock_rfc3339(now, sizeof(now));
	json_object_set_new(res, "schema", json_string(SB_COMPARE_SCHEMA));
	json_object_set_new(res, "tool", json_pack("{s:s, s:s, s:s}", "name", "sandbench", "version", SB_VERSION,
						   "git", SB_GIT_VERSION));
	json_object_set_new(res, "created_at", json_string(now));
	json_object_set_new(res, "baseline", input_json(base));
	json_object_set_new(res, "current", input_json(cur));
	json_object_set_new(res, "config",
			    json_pack("{s:s, s:f, s:f, s:o, s:b, s:b, s:s, s:b}", "statistic",
				      sb_statistic_name(o->defaults.statistic), "threshold", o->defaults.threshold,
				      "alpha", o->defaults.alpha, "budgets",
				      o->budgets ? json_string(o->budgets->path) : json_null(), "strict", o->strict,
				      "allow_mismatch", o->allow_mismatch, "host_mismatch",
				      o->host_mismatch_error ? "error" : "warn", "fail_on_warn", o->fail_on_warn));

	lnb = collect(base, eb, notes, "baseline");
	lnc = collect(cur, ec, notes, "current");
	if (lnb < 0 || lnc < 0) {
		rc = sb_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	size_t nb = (size_t)lnb, nc = (size_t)lnc;
	size_t counts[SB_NCOUNTS] = {0};
	size_t npairs = 0;
	/* Two single reports are compared as given (the mismatch guard decides); sets pair up by
	 * scenario+driver. */
	bool direct = base->kind == SB_INPUT_REPORT && cur->kind == SB_INPUT_REPORT;
	for (size_t i = 0; i < nb && rc == 0; i++) {
		struct entry *m = NULL;
		if (direct)
			m = &ec[0];
		else
			for (size_t k = 0; k < nc && !m; k++)
				if (strcmp(eb[i].scn, ec[k].scn) == 0 && strcmp(eb[i].drv, ec[k].drv) == 0)
					m = &ec[k];
		if (!m)
			continue;
		eb[i].matched = m->matched = true;
		eb[i].partner = m;
		npairs++;
	}
	char lb[600], lc[600];
	join_keys(eb, nb, false, lb, sizeof(lb));
	join_keys(ec, nc, false, lc, sizeof(lc));
	if (npairs == 0) {
		rc = sb_error_set(err, EINVAL, "no scenario+driver in common: baseline %s has %s; current %s has %s",
				  base->path, lb, cur->path, lc);
		goto out;
	}
	if ((lb[0] || lc[0]) && o->strict) {
		rc = sb_error_set(err, EINVAL, "reports missing on one side (--strict): only in baseline: %s; only in current: %s",
				  lb[0] ? lb : "none", lc[0] ? lc : "none");
		goto out;
	}
	for (size_t i = 0; i < nb; i++)
		if (!eb[i].matched)
			json_array_append_new(only_b, json_sprintf("%s/%s", eb[i].scn, eb[i].drv));
	for (size_t i = 0; i < nc; i++)
		if (!ec[i].matched)
			json_array_append_new(only_c, json_sprintf("%s/%s", ec[i].scn, ec[i].drv));
	if (lb[0])
		json_array_append_new(warnings, json_sprintf("only in baseline (not compared): %s", lb));
	if (lc[0])
		json_array_append_new(warnings, json_sprintf("only in current (not compared): %s", lc));

	/* One gate asks "did anything regress?", so the false alarms that matter are per compare, not
	 * per metric: Bonferroni splits alpha over every metric that will be tested. */
	size_t tested = 0;
	for (size_t i = 0; i < nb; i++) {
		if (!eb[i].matched)
			continue;
		const json_t *rb = eb[i].r[eb[i].k - 1], *rcur = eb[i].partner->r[eb[i].partner->k - 1];
		size_t k;
		json_t *a;
		json_array_foreach(json_object_get(rb, "aggregates"), k, a) {
			const char *mname = sget(a, "metric");
			struct sb_budget_rule rule;
			sb_budgets_resolve(o->budgets, &o->defaults, o->cli_set, eb[i].scn, eb[i].drv, mname, &rule);
			tested += sb_report_aggregate(rcur, mname) && !rule.ignore;
		}
	}
	double alpha_div = o->no_correction || tested == 0 ? 1 : (double)tested;
	json_object_set_new(json_object_get(res, "config"), "correction",
			    json_string(o->no_correction ? "none" : "bonferroni"));
	json_object_set_new(json_object_get(res, "config"), "metrics_tested", json_integer((json_int_t)tested));
	for (size_t i = 0; i < nb && rc == 0; i++)
		if (eb[i].matched)
			rc = compare_pair(&eb[i], eb[i].partner, o, alpha_div, comps, warnings, notes, missing,
					  counts, err);
	if (rc == 0 && o->strict && json_array_size(missing)) {
		char all[480] = "";
		size_t k;
		json_t *x;
		json_array_foreach(missing, k, x) {
			size_t l = strlen(all);
			snprintf(all + l, sizeof(all) - l, "%s%s", k ? ", " : "", json_string_value(x));
		}
		rc = sb_error_set(err, EINVAL, "metrics missing on one side (--strict): %s", all);
	}
	if (rc < 0)
		goto out;
	json_object_set_new(res, "unmatched", json_pack("{s:O, s:O}", "baseline", only_b, "current", only_c));
	json_object_set_new(res, "warnings", json_incref(warnings));
	json_object_set_new(res, "notes", json_incref(notes));
	json_object_set_new(res, "comparisons", json_incref(comps));
	json_object_set_new(res, "summary",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "regression",
				      (json_int_t)counts[SB_VERDICT_REGRESSION], "warn",
				      (json_int_t)counts[SB_VERDICT_WARN], "improvement",
				      (json_int_t)counts[SB_VERDICT_IMPROVEMENT], "same",
				      (json_int_t)counts[SB_VERDICT_SAME], "na", (json_int_t)counts[SB_VERDICT_NA],
				      "ignored", (json_int_t)counts[SB_NCOUNTS - 1]));
	json_object_set_new(res, "exit_code", json_integer(sb_compare_exit_code(res, o->fail_on_warn)));
out:
	/* Groups past the count are still zeroed, so freeing every slot is safe after a failure. */
	entries_free(eb, base->n + 1);
	entries_free(ec, cur->n + 1);
	json_decref(warnings);
	json_decref(notes);
	json_decref(comps);
	json_decref(missing);
	json_decref(only_b);
	json_decref(only_c);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*result = res;
	return 0;
}

int sb_compare_exit_code(const json_t *result, bool fail_on_warn)
{
	json_t *s = json_object_get(result, "summary");
	if (json_integer_value(json_object_get(s, "regression")) > 0)
		return 2;
	if (fail_on_warn && (json_integer_value(json_object_get(s, "warn")) > 0 ||
			     json_array_size(json_object_get(result, "warnings")) > 0))
		return 3;
	return 0;
}
