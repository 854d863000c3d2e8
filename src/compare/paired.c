#include "compare/paired.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hypothesis.h"
#include "core/stats.h"
#include "core/signals.h"
#include "core/util.h"
#include "version.h"

json_t *sb_paired_doc_new(const char *mode, json_t *baseline, json_t *current, json_t *host)
{
	char id[33], now[40];
	sb_random_id(id);
	sb_wallclock_rfc3339(now, sizeof(now));
	json_t *d = json_object();
	json_object_set_new(d, "schema", json_string(SB_PAIRED_SCHEMA));
	json_object_set_new(d, "tool", json_pack("{s:s, s:s, s:s}", "name", "sandbench", "version", SB_VERSION,
						 "git", SB_GIT_VERSION));
	json_object_set_new(d, "run", json_pack("{s:s, s:s, s:n, s:o}", "id", id, "started_at", now,
						"ended_at", "host", host ? json_incref(host) : json_object()));
	json_object_set_new(d, "mode", json_string(mode));
	json_object_set_new(d, "baseline", baseline ? baseline : json_object());
	json_object_set_new(d, "current", current ? current : json_object());
	return d;
}

/* ---------------------------------------------------------------- analysis */

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median_of(const double *v, size_t n)
{
	double *s = malloc(n * sizeof(*s));
	if (!s || n == 0) {
		free(s);
		return NAN;
	}
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

/* What these pairs can resolve, and how many a change of `threshold` needs: the per-pair noise is
 * the robust SD (1.4826 MAD) of the log ratios, the resolution the t CI half-width it implies at
 * n pairs, and the pairs for the threshold those a two-sided test at alpha needs for 80 % power,
 * over the signed-rank test's asymptotic efficiency (3/pi against the t-test) -- a planning number
 * for --pairs, not part of the verdict. */
static json_t *sensitivity(const double *d, size_t n, double alpha, double threshold)
{
	double noise = 1.482602218505602 * sb_stats_mad(d, n);
	double resolves = expm1(sb_student_t_quantile(1 - alpha / 2, (double)(n - 1)) * noise / sqrt((double)n));
	double effect = log1p(threshold), need = NAN;
	if (effect > 0 && noise > 0) {
		double z = sb_normal_quantile(1 - alpha / 2) + sb_normal_quantile(0.80);
		need = ceil(z * z * noise * noise / (effect * effect) * (3.141592653589793 / 3));
		/* never fewer than the signed-rank test needs to reach alpha at all */
		need = fmax(need, (double)sb_wilcoxon_min_pairs(alpha));
	} else if (noise == 0) {
		need = 1;
	}
	return json_pack("{s:o, s:o, s:o, s:f}", "noise", num(expm1(noise)), "resolves", num(resolves),
			 "pairs_for_threshold", isfinite(need) ? json_integer((json_int_t)need) : json_null(), "power",
			 0.80);
}

json_t *sb_paired_analyze_metric(const char *metric, const char *unit, bool higher_is_better,
				 const double *b, const double *c, size_t n, double alpha,
				 double threshold, bool ci_rule, enum sb_verdict *v, bool *significant)
{
	json_t *a = json_object();
	json_object_set_new(a, "metric", json_string(metric));
	json_object_set_new(a, "unit", json_string(unit ? unit : ""));
	json_object_set_new(a, "higher_is_better", json_boolean(higher_is_better));
	json_object_set_new(a, "n", json_integer((json_int_t)n));
	*v = SB_VERDICT_NA;
	*significant = false;
	const char *reason = NULL;
	char rbuf[160];
	size_t needed = sb_wilcoxon_min_pairs(alpha);
	double *d = n ? malloc(n * sizeof(*d)) : NULL;
	bool logscale = n > 0;
	for (size_t i = 0; i < n; i++)
		if (!(b[i] > 0 && c[i] > 0))
			logscale = false;
	/* Log ratios make a pair's change relative and symmetric (x2 and /2 weigh the same), which is
	 * what a timing A/B wants; a metric that can be 0 (CPU ms of a sleeping command) falls back
	 * to plain differences scaled by the baseline median. */
	for (size_t i = 0; d && i < n; i++)
		d[i] = logscale ? log(c[i] / b[i]) : c[i] - b[i];
	double med_b = n ? median_of(b, n) : NAN, med_c = n ? median_of(c, n) : NAN;
	json_object_set_new(a, "scale", json_string(logscale ? "log_ratio" : "difference"));
	json_object_set_new(a, "baseline_median", num(med_b));
	json_object_set_new(a, "current_median", num(med_c));
	double change = NAN, lo = NAN, hi = NAN, bad = NAN, bad_lo = NAN, bad_hi = NAN;
	json_t *tj = json_null(), *wj = json_null(), *hj = json_null(), *sens = json_null();
	if (n == 0 || !d) {
		reason = n ? "out of memory" : "no pairs";
		goto out;
	}
	bool all_zero = true;
	for (size_t i = 0; i < n; i++)
		all_zero = all_zero && d[i] == 0;
	struct sb_t_result t;
	struct sb_wilcoxon_result w;
	struct sb_hl_result hl;
	if (sb_paired_t(d, n, 1 - alpha, &t) < 0 || sb_wilcoxon_signed_rank(d, n, SB_TEST_AUTO, &w) < 0 ||
	    sb_hodges_lehmann_paired(d, n, 1 - alpha, &hl) < 0) {
		reason = "non-finite measurements";
		goto out;
	}
	/* Express the estimate, the mean and both CIs as relative changes of the current side. */
	double t_mean, t_lo, t_hi;
	if (logscale) {
		change = expm1(hl.shift);
		lo = expm1(hl.ci_lo);
		hi = expm1(hl.ci_hi);
		t_mean = expm1(t.mean);
		t_lo = expm1(t.ci_lo);
		t_hi = expm1(t.ci_hi);
	} else {
		double s = med_b > 0 ? med_b : NAN;
		change = all_zero ? 0 : hl.shift / s;
		lo = all_zero ? 0 : hl.ci_lo / s;
		hi = all_zero ? 0 : hl.ci_hi / s;
		t_mean = all_zero ? 0 : t.mean / s;
		t_lo = all_zero ? 0 : t.ci_lo / s;
		t_hi = all_zero ? 0 : t.ci_hi / s;
	}
	tj = json_pack("{s:o, s:[o,o], s:o, s:o, s:o}", "mean_change", num(t_mean), "ci", num(t_lo), num(t_hi),
		       "t", num(t.t), "df", num(t.df), "p", num(t.p));
	wj = json_pack("{s:f, s:f, s:I, s:o, s:s}", "w_plus", w.w_plus, "w_minus", w.w_minus, "n_zero",
		       (json_int_t)w.n_zero, "p", num(w.p), "method", w.method == SB_TEST_EXACT ? "exact" : "normal");
	hj = json_pack("{s:o, s:o, s:o, s:o}", "shift", num(hl.shift), "ci_lo", num(hl.ci_lo), "ci_hi",
		       num(hl.ci_hi), "ci_level", num(hl.ci_level));
	if (logscale && n >= 2)
		sens = sensitivity(d, n, alpha, threshold);
	bad = higher_is_better ? -change : change;
	bad_lo = higher_is_better ? -hi : lo;
	bad_hi = higher_is_better ? -lo : hi;
	if (all_zero) {
		*v = SB_VERDICT_SAME;
		reason = "every pair measured the same";
		goto out;
	}
	if (n < needed) {
		snprintf(rbuf, sizeof(rbuf), "too few pairs: the signed-rank test at alpha %g needs >= %zu, have %zu",
			 alpha, needed, n);
		reason = rbuf;
		goto out;
	}
	if (!isfinite(change)) {
		reason = "baseline median is 0: no relative change";
		goto out;
	}
	needed = 0;
	/* The signed-rank test decides: host noise arrives in bursts that make a few pairs wild,
	 * which inflates the t-test's variance (it loses real shifts) but moves a rank test little.
	 * The t-test is reported beside it. */
	*significant = w.p < alpha;
	double worse = higher_is_better ? w.w_minus - w.w_plus : w.w_plus - w.w_minus;
	struct sb_decision_in in = {
		.bad = bad, .bad_ci_lo = bad_lo, .significant = *significant,
		.test_agrees = (bad > 0 && worse > 0) || (bad < 0 && worse < 0),
		.threshold = threshold, .ci_rule = ci_rule,
		.below_floor = fabs(med_c - med_b) < sb_unit_noise_floor(unit),
	};
	*v = sb_decide(&in, &reason);
out:
	free(d);
	json_object_set_new(a, "change", num(change));
	json_object_set_new(a, "change_ci", json_pack("[o,o]", num(lo), num(hi)));
	json_object_set_new(a, "worse_by", num(bad));
	json_object_set_new(a, "worse_by_ci", json_pack("[o,o]", num(bad_lo), num(bad_hi)));
	json_object_set_new(a, "paired_t", tj);
	json_object_set_new(a, "wilcoxon", wj);
	json_object_set_new(a, "hodges_lehmann", hj);
	json_object_set_new(a, "sensitivity", sens);
	json_object_set_new(a, "verdict", json_string(sb_verdict_name(*v)));
	json_object_set_new(a, "reason", json_string(reason ? reason : ""));
	json_object_set_new(a, "needed", *v == SB_VERDICT_NA && needed && n < needed
						 ? json_integer((json_int_t)needed) : json_null());
	return a;
}

/* ---------------------------------------------------------------- schedule */

struct sched {
	const struct sb_paired_side *side[2]; /* 0 baseline, 1 current */
	const struct sb_paired_opts *o;
	json_t *pairs, *meta;
	unsigned index;          /* pairs run so far, warmups included: drives the ABBA order */
	unsigned measured;
	unsigned target;         /* pairs planned so far, warmups included (for progress) */
};

/* One pair: even pairs run baseline first, odd pairs current first, so drift and cache effects
 * that favour the first or second slot cancel over every two pairs (A B | B A | A B ...). */
static int run_pair(struct sched *s, bool warmup, struct sb_error *err)
{
	bool ab = s->index % 2 == 0;
	json_t *runs[2] = {NULL, NULL};
	int rc = 0;
	for (int k = 0; k < 2 && rc == 0; k++) {
		int who = ab ? k : 1 - k;
		if (sb_interrupted()) {
			rc = -EINTR;
			break;
		}
		rc = s->side[who]->measure(s->side[who]->ctx, s->index, warmup, s->meta, &runs[who], err);
		if (rc == 0 && json_object_get(runs[who], "error")) {
			rc = sb_error_set(err, EIO, "%s run of pair %u%s: %s", who ? "current" : "baseline",
					  s->index + 1, warmup ? " (warmup)" : "",
					  json_string_value(json_object_get(runs[who], "error")));
		}
	}
	json_t *p = json_pack("{s:I, s:b, s:s, s:o, s:o}", "index", (json_int_t)s->index, "warmup", warmup,
			      "order", ab ? "AB" : "BA", "baseline", runs[0] ? runs[0] : json_null(), "current",
			      runs[1] ? runs[1] : json_null());
	json_array_append_new(s->pairs, p);
	s->index++;
	if (!warmup && rc == 0)
		s->measured++;
	if (s->o->progress)
		s->o->progress(s->o->progress_ctx, s->index, s->target, warmup);
	return rc;
}

static bool gated(const struct sb_paired_opts *o, const char *metric, const char *first)
{
	if (!o->ngate)
		return first && strcmp(metric, first) == 0;
	for (size_t i = 0; i < o->ngate; i++)
		if (fnmatch(o->gate[i], metric, 0) == 0)
			return true;
	return false;
}

/* Analyse every metric at alpha_look; returns whether each gated metric is significant and the
 * overall verdict over the gated ones. */
static json_t *analyze(struct sched *s, double alpha_look, enum sb_verdict *overall, bool *all_sig,
		       json_t *reasons)
{
	json_t *out = json_array();
	const char *first = NULL, *name;
	json_t *m;
	json_object_foreach(s->meta, name, m) {
		first = name;
		break;
	}
	size_t np = json_array_size(s->pairs);
	double *b = malloc((np + 1) * sizeof(*b)), *c = malloc((np + 1) * sizeof(*c));
	bool any[5] = {false};
	size_t ngated = 0;
	*all_sig = true;
	json_object_foreach(s->meta, name, m) {
		size_t n = 0, i;
		json_t *p;
		json_array_foreach(s->pairs, i, p) {
			if (json_is_true(json_object_get(p, "warmup")) || !b || !c)
				continue;
			json_t *vb = json_object_get(json_object_get(json_object_get(p, "baseline"), "metrics"), name);
			json_t *vc = json_object_get(json_object_get(json_object_get(p, "current"), "metrics"), name);
			if (!json_is_number(vb) || !json_is_number(vc))
				continue;
			b[n] = json_number_value(vb);
			c[n++] = json_number_value(vc);
		}
		enum sb_verdict v;
		bool sig;
		bool hib = json_is_true(json_object_get(m, "higher_is_better"));
		json_t *a = sb_paired_analyze_metric(name, json_string_value(json_object_get(m, "unit")), hib,
						     b, c, n, alpha_look, s->o->threshold, s->o->ci_rule, &v, &sig);
		bool g = gated(s->o, name, first);
		json_object_set_new(a, "gated", json_boolean(g));
		json_array_append_new(out, a);
		if (!g)
			continue;
		ngated++;
		any[v] = true;
		*all_sig = *all_sig && sig;
		if (reasons && v != SB_VERDICT_SAME) {
			double wb = json_number_value(json_object_get(a, "worse_by"));
			json_t *ci = json_object_get(a, "worse_by_ci");
			json_array_append_new(reasons,
					      json_sprintf("%s: %s (worse by %+.2f%%, CI [%+.2f%%, %+.2f%%], Wilcoxon p=%.3g): %s",
							   name, sb_verdict_name(v), wb * 100,
							   json_number_value(json_array_get(ci, 0)) * 100,
							   json_number_value(json_array_get(ci, 1)) * 100,
							   json_number_value(json_object_get(json_object_get(a, "wilcoxon"), "p")),
							   json_string_value(json_object_get(a, "reason"))));
		}
	}
	free(b);
	free(c);
	*overall = ngated == 0			 ? SB_VERDICT_NA
		   : any[SB_VERDICT_REGRESSION]	 ? SB_VERDICT_REGRESSION
		   : any[SB_VERDICT_WARN]	 ? SB_VERDICT_WARN
		   : any[SB_VERDICT_NA]		 ? SB_VERDICT_NA
		   : any[SB_VERDICT_IMPROVEMENT] ? SB_VERDICT_IMPROVEMENT
						 : SB_VERDICT_SAME;
	if (ngated == 0)
		*all_sig = false;
	return out;
}

static int check_gates(const struct sb_paired_opts *o, const json_t *meta, struct sb_error *err)
{
	for (size_t i = 0; i < o->ngate; i++) {
		bool hit = false;
		const char *name;
		json_t *m;
		json_object_foreach((json_t *)meta, name, m)
			hit = hit || fnmatch(o->gate[i], name, 0) == 0;
		if (!hit) {
			char have[300] = "";
			json_object_foreach((json_t *)meta, name, m) {
				size_t l = strlen(have);
				snprintf(have + l, sizeof(have) - l, "%s%s", l ? ", " : "", name);
			}
			return sb_error_set(err, EINVAL, "--metric '%s' matches no measured metric (measured: %s)",
					    o->gate[i], have);
		}
	}
	return 0;
}

int sb_paired_execute(const struct sb_paired_side *baseline, const struct sb_paired_side *current,
		      const struct sb_paired_opts *o, json_t *doc, struct sb_error *err)
{
	unsigned looks_planned = o->require_significance ? o->max_retries + 1 : 1;
	/* Bonferroni over the looks planned up front: each look tests at alpha / looks, so peeking
	 * until something is significant cannot push the family-wise error above alpha. */
	double alpha_look = o->alpha / looks_planned;
	struct sched s = {
		.side = {baseline, current}, .o = o, .pairs = json_array(), .meta = json_object(),
		.target = o->warmup + o->pairs,
	};
	json_t *gates = json_array();
	for (size_t i = 0; i < o->ngate; i++)
		json_array_append_new(gates, json_string(o->gate[i]));
	json_object_set_new(doc, "config",
			    json_pack("{s:I, s:I, s:s, s:f, s:f, s:s, s:b, s:I, s:o}", "pairs", (json_int_t)o->pairs,
				      "warmup", (json_int_t)o->warmup, "order", "ABBA", "alpha", o->alpha,
				      "threshold", o->threshold, "rule", o->ci_rule ? "ci" : "estimate",
				      "require_significance", o->require_significance, "max_retries",
				      (json_int_t)(o->require_significance ? o->max_retries : 0), "gate_metrics", gates));
	json_t *looks = json_array();
	int rc = 0;
	for (unsigned i = 0; i < o->warmup && rc == 0; i++)
		rc = run_pair(&s, true, err);
	unsigned target = o->pairs, taken = 0;
	enum sb_verdict overall = SB_VERDICT_NA;
	bool all_sig = false;
	const char *stopped = "single look";
	while (rc == 0) {
		while (s.measured < target && rc == 0) {
			rc = run_pair(&s, false, err);
			if (rc == 0 && s.measured == 1)
				rc = check_gates(o, s.meta, err);
		}
		if (rc < 0)
			break;
		taken++;
		json_array_append_new(looks, json_integer(s.measured));
		json_decref(analyze(&s, alpha_look, &overall, &all_sig, NULL));
		if (!o->require_significance)
			break;
		if (all_sig) {
			stopped = "significant";
			break;
		}
		if (taken >= looks_planned) {
			stopped = "max retries reached";
			break;
		}
		/* Batches grow (half the pairs so far, at least two, kept even so each batch is
		 * balanced AB/BA): early looks are cheap, later ones add real power. */
		unsigned batch = (s.measured + 1) / 2;
		if (batch < 2)
			batch = 2;
		batch += batch % 2;
		target = s.measured + batch;
		s.target = o->warmup + target;
	}
	json_t *reasons = json_array();
	json_t *analysis = analyze(&s, alpha_look, &overall, &all_sig, reasons);
	const char *verdict = sb_verdict_name(overall);
	if (rc == -EINTR) {
		verdict = "interrupted";
		json_array_append_new(reasons, json_string("interrupted by a signal"));
	} else if (rc < 0) {
		verdict = "error";
		json_array_append_new(reasons, json_string(err ? err->msg : "a run failed"));
	}
	if (rc < 0)
		stopped = rc == -EINTR ? "interrupted" : "error";
	json_object_set_new(doc, "metrics", json_incref(s.meta));
	json_object_set_new(doc, "pairs", s.pairs);
	json_object_set_new(doc, "sequential",
			    json_pack("{s:I, s:I, s:s, s:f, s:o, s:s}", "looks_planned", (json_int_t)looks_planned,
				      "looks_taken", (json_int_t)taken, "correction", "bonferroni",
				      "alpha_per_look", alpha_look, "pairs_at_look", looks, "stopped", stopped));
	json_object_set_new(doc, "analysis", analysis);
	json_object_set_new(doc, "verdict", json_string(verdict));
	json_object_set_new(doc, "reasons", reasons);
	char now[40];
	sb_wallclock_rfc3339(now, sizeof(now));
	json_object_set_new(json_object_get(doc, "run"), "ended_at", json_string(now));
	json_decref(s.meta);
	return rc;
}

int sb_paired_exit_code(const json_t *doc, bool fail_on_warn)
{
	const char *v = json_string_value(json_object_get(doc, "verdict"));
	if (!v || strcmp(v, "error") == 0 || strcmp(v, "interrupted") == 0)
		return 1;
	if (strcmp(v, "regression") == 0)
		return 2;
	if (fail_on_warn && strcmp(v, "warn") == 0)
		return 3;
	return 0;
}
