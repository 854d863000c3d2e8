/* One metric of one scenario+driver pair: the statistic on both sides, the Mann-Whitney test
 * corrected for autocorrelation, the session-level check, and the verdict (docs/compare.md). */
#include "compare/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hypothesis.h"
#include "core/stats.h"

/* ---------------------------------------------------------------- one metric */

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The statistic of a sorted sample with its distribution-free 95 % CI. */
static double stat_of(const double *sorted, size_t n, enum sb_statistic s, double *lo, double *hi,
		      double *level)
{
	if (s == SB_STAT_MEAN) {
		double m;
		sb_mean_ci(sorted, n, 0.95, &m, lo, hi, level);
		return m;
	}
	double p = sb_statistic_percentile(s);
	sb_quantile_ci_sorted(sorted, n, p / 100, 0.95, lo, hi, level);
	return sb_stats_percentile_sorted(sorted, n, p);
}

double sb_compare_statistic(const double *v, size_t n, enum sb_statistic st)
{
	double *s = malloc(n * sizeof(*s)), lo, hi, level;
	if (!s || n == 0) {
		free(s);
		return NAN;
	}
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	double x = stat_of(s, n, st, &lo, &hi, &level);
	free(s);
	return x;
}

static json_t *side_json(size_t n, size_t sessions, double value, double lo, double hi, double level,
			 bool have_ci)
{
	json_t *o = json_object();
	json_object_set_new(o, "n", json_integer((json_int_t)n));
	json_object_set_new(o, "sessions", json_integer((json_int_t)(sessions > 1 ? sessions : 1)));
	json_object_set_new(o, "value", num(value));
	json_object_set_new(o, "ci", have_ci ? json_pack("[o,o]", num(lo), num(hi)) : json_null());
	json_object_set_new(o, "ci_level", have_ci ? num(level) : json_null());
	return o;
}

static double agg_value(const json_t *agg, enum sb_statistic s)
{
	json_t *v = json_object_get(agg, sb_statistic_name(s));
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Session-level check: with several runs (sessions) on a side, the spread of the per-session
 * statistic measures the drift between runs that no within-run test can see (host load that
 * changes over minutes). A two-sample t-test on the log of the per-session statistics, pooled
 * within-side variance, k_b + k_c - 2 degrees of freedom. Returns false when not applicable. */
static bool session_test(const struct sb_metric_samples *b, const struct sb_metric_samples *c,
			 enum sb_statistic st, double alpha, double *p, double *band, double *df_out)
{
	size_t kb = b->sessions > 1 ? b->sessions : 1, kc = c->sessions > 1 ? c->sessions : 1;
	if (kb + kc < 3)
		return false;
	double mean[2] = {0, 0}, ss = 0;
	const struct sb_metric_samples *side[2] = {b, c};
	size_t k[2] = {kb, kc};
	double *logs[2] = {calloc(kb, sizeof(double)), calloc(kc, sizeof(double))};
	bool ok = logs[0] && logs[1];
	for (int s = 0; s < 2 && ok; s++) {
		size_t off = 0;
		for (size_t i = 0; i < k[s] && ok; i++) {
			size_t len = side[s]->sessions > 1 ? side[s]->session_len[i] : side[s]->n;
			double *tmp = len ? malloc(len * sizeof(double)) : NULL;
			if (!tmp) { /* an empty session (the metric missing in one run) ends the check */
				ok = false;
				break;
			}
			memcpy(tmp, side[s]->v + off, len * sizeof(double));
			qsort(tmp, len, sizeof(double), cmp_double);
			double lo, hi, lvl, x = stat_of(tmp, len, st, &lo, &hi, &lvl);
			free(tmp);
			off += len;
			ok = x > 0 && isfinite(x);
			logs[s][i] = ok ? log(x) : 0;
			mean[s] += logs[s][i] / (double)k[s];
		}
	}
	for (int s = 0; s < 2 && ok; s++)
		for (size_t i = 0; i < k[s]; i++)
			ss += (logs[s][i] - mean[s]) * (logs[s][i] - mean[s]);
	free(logs[0]);
	free(logs[1]);
	if (!ok)
		return false;
	double df = (double)(kb + kc - 2);
	double se = sqrt(ss / df) * sqrt(1.0 / (double)kb + 1.0 / (double)kc);
	double diff = mean[1] - mean[0];
	*df_out = df;
	*band = expm1(sb_student_t_quantile(1 - alpha / 2, df) * se);
	if (se == 0)
		*p = diff == 0 ? 1 : 0;
	else
		*p = 2 * sb_student_t_sf(fabs(diff) / se, df);
	return true;
}

/* Drift check for too few runs to measure the drift (fewer than three in all): the statistic of one
 * run moves between runs by more than its own CI says (the host's state holds for seconds and every
 * sample of a short run shares it), so the change must also clear an assumed run-to-run spread
 * `drift` (relative SD per run). z test on log(current / baseline) with variance
 * se_b^2 + se_c^2 + 2 drift^2, se from each side's 95 % CI. Returns false when not applicable. */
static bool drift_test(double vb, double lob, double hib, double vc, double loc, double hic, double drift,
		       double alpha, double *p, double *band)
{
	if (!(vb > 0 && vc > 0 && isfinite(vb) && isfinite(vc)))
		return false;
	double seb = lob > 0 && hib > 0 ? (log(hib) - log(lob)) / (2 * 1.959964) : 0;
	double sec = loc > 0 && hic > 0 ? (log(hic) - log(loc)) / (2 * 1.959964) : 0;
	double se = sqrt(seb * seb + sec * sec + 2 * drift * drift);
	double x = log(vc / vb);
	*band = expm1(sb_normal_quantile(1 - alpha / 2) * se);
	*p = se > 0 ? 2 * sb_normal_sf(fabs(x) / se) : x == 0 ? 1 : 0;
	return true;
}

/* --test permutation: a Monte Carlo permutation test of the difference of the statistic itself
 * (median or mean), seeded from the metric's name so a compare is reproducible. The same AR(1)
 * deflation as for Mann-Whitney applies to its z. Sets *p and *up (the observed difference,
 * whose sign is the direction). */
static json_t *permutation_json(const double *cur, size_t nc, const double *base, size_t nb, enum sb_statistic st,
				const char *metric, double rho, double inflation, double rank_biserial, double *p,
				double *up)
{
	size_t perms = nb + nc <= 2000 ? 10000 : (size_t)fmax(1000, 2e7 / (double)(nb + nc));
	uint64_t seed = 1469598103934665603ULL; /* FNV-1a of the metric name */
	for (const char *c = metric; *c; c++)
		seed = (seed ^ (unsigned char)*c) * 1099511628211ULL;
	struct sb_perm_result pr;
	if (sb_permutation_test(cur, nc, base, nb, st == SB_STAT_MEAN ? SB_PERM_MEAN : SB_PERM_MEDIAN, perms, seed,
				&pr) < 0) {
		*p = NAN;
		return json_null();
	}
	double padj = pr.p;
	if (inflation > 1 && pr.p < 1)
		padj = fmax(pr.p, 2 * sb_normal_sf(sb_normal_quantile(1 - pr.p / 2) / sqrt(inflation)));
	*p = fmin(1, padj);
	*up = pr.observed;
	return json_pack("{s:s, s:s, s:f, s:I, s:f, s:f, s:f, s:f}", "name", "permutation", "statistic",
			 st == SB_STAT_MEAN ? "mean" : "median", "observed", pr.observed, "permutations",
			 (json_int_t)pr.permutations, "rank_biserial", rank_biserial, "p_independent", pr.p,
			 "autocorrelation", rho, "variance_inflation", inflation);
}

json_t *sb_compare_metric(const char *metric, const char *unit, bool higher_is_better,
			  const struct sb_budget_rule *rule, const struct sb_metric_samples *bs,
			  const struct sb_metric_samples *cs, enum sb_verdict *v)
{
	bool hib = rule->direction == SB_DIR_AUTO ? higher_is_better
						  : rule->direction == SB_DIR_HIGHER_IS_BETTER;
	enum sb_statistic st = rule->statistic;
	const double *base = bs->v, *cur = cs->v;
	size_t nb = bs->n, nc = cs->n;
	json_t *m = json_object();
	json_object_set_new(m, "metric", json_string(metric));
	json_object_set_new(m, "unit", json_string(unit ? unit : ""));
	json_object_set_new(m, "higher_is_better", json_boolean(hib));
	json_object_set_new(m, "statistic", json_string(sb_statistic_name(st)));
	json_object_set_new(m, "threshold", json_real(rule->threshold));
	json_object_set_new(m, "alpha", json_real(rule->alpha));
	json_object_set_new(m, "budget", rule->entry >= 0 ? json_integer(rule->entry) : json_null());
	json_object_set_new(m, "ignored", json_boolean(rule->ignore));

	double *sb = NULL, *sc = NULL;
	double vb = NAN, vc = NAN, lob = NAN, hib_ = NAN, loc = NAN, hic = NAN, lvb = 0, lvc = 0;
	const char *reason = NULL;
	char reason_buf[160];
	size_t needed = 0;
	enum sb_verdict verdict = SB_VERDICT_NA;
	double delta = NAN, bad = NAN, p = NAN;
	json_t *test = json_null(), *shift = json_null(), *sessions = json_null(), *drift = json_null();

	if (nb == 0 || nc == 0) {
		/* Derived metrics (a breakpoint, a rate computed once per run) carry an aggregate but no
		 * per-iteration samples: show them, but a single number per side cannot be tested. */
		vb = nb ? NAN : agg_value(bs->agg, st);
		vc = nc ? NAN : agg_value(cs->agg, st);
		if (isfinite(vb) && isfinite(vc) && vb != 0)
			delta = (vc - vb) / fabs(vb);
		reason = "derived metric: no raw samples to test";
		goto finish;
	}
	sb = malloc(nb * sizeof(*sb));
	sc = malloc(nc * sizeof(*sc));
	if (!sb || !sc) {
		reason = "out of memory";
		goto finish;
	}
	memcpy(sb, base, nb * sizeof(*sb));
	memcpy(sc, cur, nc * sizeof(*sc));
	qsort(sb, nb, sizeof(*sb), cmp_double);
	qsort(sc, nc, sizeof(*sc), cmp_double);
	vb = stat_of(sb, nb, st, &lob, &hib_, &lvb);
	vc = stat_of(sc, nc, st, &loc, &hic, &lvc);
	json_object_set_new(m, "baseline", side_json(nb, bs->sessions, vb, lob, hib_, lvb, true));
	json_object_set_new(m, "current", side_json(nc, cs->sessions, vc, loc, hic, lvc, true));

	needed = sb_mw_min_per_side(rule->alpha);
	double pct = sb_statistic_percentile(st);
	if (pct > 0 && sb_stats_min_n_for_percentile(pct) > needed)
		needed = sb_stats_min_n_for_percentile(pct);
	if (vb != 0)
		delta = (vc - vb) / fabs(vb);
	else if (vc == 0)
		delta = 0;
	if (nb < needed || nc < needed) {
		snprintf(reason_buf, sizeof(reason_buf), "too few samples: %s at alpha %g needs >= %zu per side, have %zu and %zu",
			 sb_statistic_name(st), rule->alpha, needed, nb, nc);
		reason = reason_buf;
		goto finish;
	}
	needed = 0;
	if (!isfinite(delta)) {
		snprintf(reason_buf, sizeof(reason_buf), "baseline %s is 0: no relative change", sb_statistic_name(st));
		reason = reason_buf;
		goto finish;
	}
	struct sb_mw_result mw;
	if (sb_mann_whitney(cur, nc, base, nb, SB_TEST_AUTO, &mw) < 0) {
		reason = "non-finite samples";
		goto finish;
	}
	/* Host noise comes in bursts, so neighbouring iterations resemble each other and the samples
	 * are not independent as Mann-Whitney assumes: a burst in one run alone looks like a
	 * significant shift. The lag-1 autocorrelation of each side's ranks (in iteration order)
	 * inflates the variance of U by (1 + rho) / (1 - rho), the AR(1) correction. */
	double rho = ((double)nb * sb_lag1_autocorr_ranks(base, nb) + (double)nc * sb_lag1_autocorr_ranks(cur, nc)) /
		     (double)(nb + nc);
	rho = rho < 0 ? 0 : rho > 0.9 ? 0.9 : rho;
	double inflation = (1 + rho) / (1 - rho);
	p = mw.p;
	struct sb_mw_result mwn;
	if (inflation > 1 && sb_mann_whitney(cur, nc, base, nb, SB_TEST_NORMAL, &mwn) == 0) {
		double padj = 2 * sb_normal_sf(fabs(mwn.z) / sqrt(inflation));
		p = fmin(1, fmax(p, padj));
	}
	test = json_pack("{s:s, s:s, s:f, s:b, s:f, s:f, s:f, s:f}", "name", "mann-whitney", "method",
			 mw.method == SB_TEST_EXACT ? "exact" : "normal", "u", mw.u1, "ties", mw.ties,
			 "rank_biserial", mw.rank_biserial, "p_independent", mw.p, "autocorrelation", rho,
			 "variance_inflation", inflation);
	double up = mw.rank_biserial; /* > 0: current tends to be larger, < 0 smaller, 0 neither */
	if (rule->permutation && (st == SB_STAT_P50 || st == SB_STAT_MEAN)) {
		json_decref(test);
		test = permutation_json(cur, nc, base, nb, st, metric, rho, inflation, mw.rank_biserial, &p, &up);
	}
	bool significant = p < rule->alpha, within_drift = false;
	double sp, band, df;
	if (session_test(bs, cs, st, rule->alpha, &sp, &band, &df)) {
		sessions = json_pack("{s:I, s:I, s:f, s:o, s:o}", "baseline", (json_int_t)(bs->sessions > 1 ? bs->sessions : 1),
				     "current", (json_int_t)(cs->sessions > 1 ? cs->sessions : 1), "df", df,
				     "p", num(sp), "band", num(band));
		within_drift = significant && sp >= rule->alpha;
		significant = significant && sp < rule->alpha;
		p = fmax(p, sp);
	} else {
		double sigma = rule->drift >= 0 ? rule->drift : SB_DEFAULT_DRIFT;
		if (sigma > 0 && drift_test(vb, lob, hib_, vc, loc, hic, sigma, rule->alpha, &sp, &band)) {
			/* The mix drifts too: a bimodal metric's share of slow iterations moves between
			 * runs, which shifts a percentile far more than the speed of either mode does.
			 * The probability that a current sample beats a baseline one (A = U / n_b n_c)
			 * may move by 2 * sigma per run on top of its sampling variance. */
			double a = (mw.rank_biserial + 1) / 2;
			double var_a = ((double)(nb + nc + 1) / (12.0 * (double)nb * (double)nc)) * inflation +
				       2 * (2 * sigma) * (2 * sigma);
			double pa = 2 * sb_normal_sf(fabs(a - 0.5) / sqrt(var_a));
			sp = fmax(sp, pa);
			drift = json_pack("{s:s, s:f, s:o, s:o, s:o}", "source", "assumed", "sigma", sigma, "p", num(sp),
					  "band", num(band), "p_mix", num(pa));
			within_drift = significant && sp >= rule->alpha;
			significant = significant && sp < rule->alpha;
			p = fmax(p, sp);
		}
	}
	/* The HL estimate needs every cross difference in memory; above ~4M it is left out rather
	 * than risk hundreds of MB. */
	struct sb_hl_result hl;
	double bad_lo = NAN;
	if ((double)nb * (double)nc <= 4e6 &&
	    sb_hodges_lehmann_two_sample(cur, nc, base, nb, 1 - rule->alpha, &hl) == 0) {
		shift = json_pack("{s:o, s:o, s:o, s:o}", "estimate", num(hl.shift), "ci_lo", num(hl.ci_lo),
				  "ci_hi", num(hl.ci_hi), "ci_level", num(hl.ci_level));
		/* The location shift's CI, relative to the baseline statistic and signed like `bad`. */
		bad_lo = (hib ? -hl.ci_hi : hl.ci_lo) / fabs(vb);
	}
	bad = hib ? -delta : delta;
	double floor_abs = rule->min_change >= 0 ? rule->min_change : sb_unit_noise_floor(unit);
	json_object_set_new(m, "noise_floor", json_real(floor_abs));
	double worse = hib ? -up : up; /* > 0: current tends to be worse */
	struct sb_decision_in in = {
		.bad = bad, .bad_ci_lo = bad_lo, .significant = significant, .within_drift = within_drift,
		.test_agrees = (bad > 0 && worse > 0) || (bad < 0 && worse < 0),
		.threshold = rule->threshold, .ci_rule = false, .below_floor = fabs(vc - vb) < floor_abs,
	};
	verdict = sb_decide(&in, &reason);
finish:
	if (rule->ignore && verdict != SB_VERDICT_NA) {
		reason = "ignored by the budgets file";
		verdict = SB_VERDICT_SAME;
	}
	if (!json_object_get(m, "baseline")) {
		json_object_set_new(m, "baseline", side_json(nb, bs->sessions, vb, NAN, NAN, 0, false));
		json_object_set_new(m, "current", side_json(nc, cs->sessions, vc, NAN, NAN, 0, false));
	}
	if (!json_object_get(m, "noise_floor"))
		json_object_set_new(m, "noise_floor", json_real(rule->min_change >= 0 ? rule->min_change
										 : sb_unit_noise_floor(unit)));
	json_object_set_new(m, "delta", num(delta));
	json_object_set_new(m, "change", num(isfinite(delta) ? (hib ? -delta : delta) : NAN));
	json_object_set_new(m, "p", num(p));
	json_object_set_new(m, "test", test);
	json_object_set_new(m, "sessions", sessions);
	json_object_set_new(m, "drift", drift);
	json_object_set_new(m, "shift", shift);
	json_object_set_new(m, "verdict", json_string(sb_verdict_name(verdict)));
	json_object_set_new(m, "reason", json_string(reason ? reason : ""));
	json_object_set_new(m, "needed", verdict == SB_VERDICT_NA && needed ? json_integer((json_int_t)needed)
									  : json_null());
	free(sb);
	free(sc);
	*v = verdict;
	return m;
}
