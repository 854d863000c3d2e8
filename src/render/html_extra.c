/* The compare, paired and history sections of the page. */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render/html_int.h"

#define MAX_CHANGE_BARS 24
#define MAX_PAIRED_CHARTS 3

void sb_html_pct(char *out, size_t len, double frac)
{
	if (!isfinite(frac)) {
		snprintf(out, len, "-");
		return;
	}
	char n[48];
	sb_fmt_num(n, sizeof(n), frac * 100, 3);
	snprintf(out, len, "%s%s%%", frac > 0 ? "+" : "", n);
}

static void td_text(struct sb_buf *b, const char *s)
{
	sb_buf_put(b, "<td class=s>");
	sb_buf_put_html(b, s);
}

static void td_num(struct sb_buf *b, double v)
{
	sb_buf_put(b, "<td>");
	sb_buf_num(b, v, 4);
}

static void td_verdict(struct sb_buf *b, const char *v)
{
	const char *cls = !strcmp(v, "regression") ? "regression" : !strcmp(v, "improvement") ? "improvement"
							  : !strcmp(v, "warn") ? "warn" : "";
	sb_buf_printf(b, "<td class=\"s verdict-%s\">", cls);
	sb_buf_put_html(b, v);
}

static void head(struct sb_buf *b, const char *const *cols)
{
	sb_buf_put(b, "<table class=sort><thead><tr>");
	for (size_t i = 0; cols[i]; i++) {
		bool text = cols[i][0] == '<';
		sb_buf_put(b, text ? "<th class=s>" : "<th>");
		sb_buf_put_html(b, cols[i] + text);
	}
	sb_buf_put(b, "</thead><tbody>");
}

static int verdict_color(const char *v)
{
	return !strcmp(v, "regression") ? -1 : !strcmp(v, "improvement") ? -2 : !strcmp(v, "warn") ? -4 : -3;
}

struct change {
	const json_t *cmp, *m;
	double mag;
};

static int cmp_change(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	return (x->mag < y->mag) - (x->mag > y->mag);
}

void sb_html_compares(struct sb_buf *b, const json_t *compares)
{
	if (!json_array_size(compares))
		return;
	sb_buf_put(b, "<section><h2 id=compare>Compare</h2>");
	size_t i, k, q;
	json_t *doc, *c, *m;
	json_array_foreach(compares, i, doc) {
		sb_buf_put(b, "<h3>");
		sb_buf_put_html(b, sb_r_str(json_object_get(doc, "baseline"), "path"));
		sb_buf_put(b, " → ");
		sb_buf_put_html(b, sb_r_str(json_object_get(doc, "current"), "path"));
		sb_buf_put(b, "</h3><p class=mu>");
		json_t *cfg = json_object_get(doc, "config");
		sb_buf_put(b, "statistic ");
		sb_buf_put_html(b, sb_r_str(cfg, "statistic"));
		sb_buf_put(b, ", threshold ");
		sb_buf_num(b, sb_r_num(cfg, "threshold") * 100, 3);
		sb_buf_put(b, "%");
		json_t *sum = json_object_get(doc, "summary");
		const char *key;
		json_t *val;
		json_object_foreach(sum, key, val) {
			if (!json_is_integer(val))
				continue;
			sb_buf_put(b, " · ");
			sb_buf_put_html(b, key);
			sb_buf_printf(b, " %lld", (long long)json_integer_value(val));
		}
		if (json_object_get(doc, "exit_code"))
			sb_buf_printf(b, " · exit code %lld", (long long)json_integer_value(json_object_get(doc, "exit_code")));
		sb_buf_put(b, "</p>");
		/* The largest changes as bars, whiskers from the shift's CI, coloured by verdict. */
		size_t total = 0;
		json_array_foreach(json_object_get(doc, "comparisons"), k, c) total += json_array_size(json_object_get(c, "metrics"));
		struct change *ch = calloc(total + 1, sizeof(*ch));
		size_t nch = 0;
		json_array_foreach(json_object_get(doc, "comparisons"), k, c)
			json_array_foreach(json_object_get(c, "metrics"), q, m)
				if (ch && isfinite(sb_r_num(m, "delta")))
					ch[nch++] = (struct change){c, m, fabs(sb_r_num(m, "delta"))};
		if (nch) {
			qsort(ch, nch, sizeof(*ch), cmp_change);
			size_t n = nch < MAX_CHANGE_BARS ? nch : MAX_CHANGE_BARS;
			struct sb_svg_bar *bars = calloc(n, sizeof(*bars));
			char (*labels)[96] = calloc(n, sizeof(*labels));
			for (size_t j = 0; bars && labels && j < n; j++) {
				const json_t *cc = ch[j].cmp, *mm = ch[j].m;
				snprintf(labels[j], sizeof(labels[j]), "%s %s", sb_r_str(cc, "driver"), sb_r_str(mm, "metric"));
				double base = fabs(sb_r_num(json_object_get(mm, "baseline"), "value"));
				const json_t *sh = json_object_get(mm, "shift");
				bars[j] = (struct sb_svg_bar){.label = labels[j], .value = sb_r_num(mm, "delta") * 100,
							      .lo = base > 0 ? sb_r_num(sh, "ci_lo") / base * 100 : NAN,
							      .hi = base > 0 ? sb_r_num(sh, "ci_hi") / base * 100 : NAN,
							      .color = verdict_color(sb_r_str(mm, "verdict"))};
			}
			sb_buf_put(b, "<div class=charts>");
			sb_html_fig_open(b, "the largest changes, current vs baseline (whiskers: the shift's CI; red regression, green improvement)");
			if (bars && labels)
				sb_svg_hbars(b, bars, n, "% change");
			sb_html_fig_close(b);
			sb_buf_put(b, "</div>");
			free(bars);
			free(labels);
		}
		free(ch);
		static const char *const cols[] = {"<scenario", "<driver", "<metric", "<stat", "baseline", "current",
						   "delta", "p", "n base", "n cur", "<verdict", "<why", NULL};
		head(b, cols);
		json_array_foreach(json_object_get(doc, "comparisons"), k, c)
			json_array_foreach(json_object_get(c, "metrics"), q, m) {
				sb_buf_put(b, "<tr>");
				td_text(b, sb_r_str(c, "scenario"));
				td_text(b, sb_r_str(c, "driver"));
				td_text(b, sb_r_str(m, "metric"));
				td_text(b, sb_r_str(m, "statistic"));
				td_num(b, sb_r_num(json_object_get(m, "baseline"), "value"));
				td_num(b, sb_r_num(json_object_get(m, "current"), "value"));
				char pct[48];
				sb_html_pct(pct, sizeof(pct), sb_r_num(m, "delta"));
				sb_buf_printf(b, "<td data-v=\"%g\">%s", isfinite(sb_r_num(m, "delta")) ? sb_r_num(m, "delta") : 0.0, pct);
				td_num(b, sb_r_num(m, "p"));
				td_num(b, sb_r_num(json_object_get(m, "baseline"), "n"));
				td_num(b, sb_r_num(json_object_get(m, "current"), "n"));
				td_verdict(b, sb_r_str(m, "verdict"));
				td_text(b, sb_r_str(m, "reason"));
			}
		sb_buf_put(b, "</tbody></table>");
	}
	sb_buf_put(b, "</section>");
}

static void side_name(struct sb_buf *b, const json_t *side)
{
	if (json_object_get(side, "command")) {
		sb_buf_put(b, "<code>");
		sb_buf_put_html(b, sb_r_str(side, "command"));
		sb_buf_put(b, "</code>");
		return;
	}
	sb_buf_put_html(b, sb_r_str(side, "scenario"));
	sb_buf_put(b, " on ");
	sb_buf_put_html(b, sb_r_str(side, "driver"));
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(side, "params"), k, v) {
		sb_buf_put(b, " ");
		sb_buf_put_html(b, k);
		sb_buf_put(b, "=");
		sb_buf_put_html(b, json_string_value(v));
	}
}

static void paired_charts(struct sb_buf *b, const json_t *doc, const char *metric, const char *unit)
{
	const json_t *pairs = json_object_get(doc, "pairs");
	size_t np = json_array_size(pairs), n = 0;
	double *x = calloc(np + 1, sizeof(double)), *yb = calloc(np + 1, sizeof(double)), *yc = calloc(np + 1, sizeof(double));
	size_t i;
	json_t *p;
	json_array_foreach(pairs, i, p) {
		if (!x || json_is_true(json_object_get(p, "warmup")))
			continue;
		double vb = sb_r_num(json_object_get(json_object_get(p, "baseline"), "metrics"), metric);
		double vc = sb_r_num(json_object_get(json_object_get(p, "current"), "metrics"), metric);
		if (!isfinite(vb) && !isfinite(vc))
			continue;
		x[n] = sb_r_num(p, "index");
		yb[n] = vb;
		yc[n++] = vc;
	}
	if (n) {
		struct sb_svg_line lines[2] = {
			{.label = "baseline", .x = x, .y = yb, .n = n, .color = 0, .mark_x = NAN},
			{.label = "current", .x = x, .y = yc, .n = n, .color = 1, .mark_x = NAN},
		};
		struct sb_svg_axes ax = {.x_label = "pair", .y_label = unit, .h_ref = NAN, .y_from_zero = true};
		char cap[256];
		snprintf(cap, sizeof(cap), "%s per pair, in run order", metric);
		sb_html_fig_open(b, cap);
		sb_svg_lines(b, lines, 2, NULL, 0, &ax);
		sb_html_fig_close(b);
		struct sb_svg_dist d[2] = {{"baseline", yb, n, 0}, {"current", yc, n, 1}};
		snprintf(cap, sizeof(cap), "%s: both sides' distributions", metric);
		sb_html_fig_open(b, cap);
		sb_svg_boxes(b, d, 2, unit);
		sb_html_fig_close(b);
	}
	free(x);
	free(yb);
	free(yc);
}

void sb_html_paireds(struct sb_buf *b, const json_t *paireds)
{
	if (!json_array_size(paireds))
		return;
	sb_buf_put(b, "<section><h2 id=paired>Paired A/B</h2>");
	size_t i, k;
	json_t *doc, *a;
	json_array_foreach(paireds, i, doc) {
		sb_buf_put(b, "<h3>");
		side_name(b, json_object_get(doc, "baseline"));
		sb_buf_put(b, " vs ");
		side_name(b, json_object_get(doc, "current"));
		sb_buf_put(b, "</h3><p>verdict: ");
		const char *verdict = sb_r_str(doc, "verdict");
		sb_buf_printf(b, "<span class=\"verdict-%s\">", verdict);
		sb_buf_put_html(b, verdict);
		sb_buf_put(b, "</span>");
		json_array_foreach(json_object_get(doc, "reasons"), k, a) {
			sb_buf_put(b, k ? "; " : " — ");
			sb_buf_put_html(b, json_string_value(a));
		}
		sb_buf_put(b, "</p><div class=charts>");
		size_t charts = 0;
		/* Gated metrics first, then the rest, up to a few charts. */
		for (int pass = 0; pass < 2; pass++)
			json_array_foreach(json_object_get(doc, "analysis"), k, a) {
				if (charts >= MAX_PAIRED_CHARTS || json_is_true(json_object_get(a, "gated")) != (pass == 0))
					continue;
				paired_charts(b, doc, sb_r_str(a, "metric"), sb_r_str(a, "unit"));
				charts++;
			}
		sb_buf_put(b, "</div>");
		static const char *const cols[] = {"<metric", "<unit", "pairs", "baseline median", "current median", "change",
						   "change CI", "p (Wilcoxon)", "<verdict", "<why", NULL};
		head(b, cols);
		json_array_foreach(json_object_get(doc, "analysis"), k, a) {
			sb_buf_put(b, "<tr>");
			td_text(b, sb_r_str(a, "metric"));
			if (json_is_true(json_object_get(a, "gated")))
				sb_buf_put(b, " (gate)");
			td_text(b, sb_r_str(a, "unit"));
			td_num(b, sb_r_num(a, "n"));
			td_num(b, sb_r_num(a, "baseline_median"));
			td_num(b, sb_r_num(a, "current_median"));
			char pct[48], lo[48], hi[48];
			sb_html_pct(pct, sizeof(pct), sb_r_num(a, "change"));
			json_t *ci = json_object_get(a, "change_ci");
			sb_html_pct(lo, sizeof(lo), json_is_number(json_array_get(ci, 0)) ? json_number_value(json_array_get(ci, 0)) : NAN);
			sb_html_pct(hi, sizeof(hi), json_is_number(json_array_get(ci, 1)) ? json_number_value(json_array_get(ci, 1)) : NAN);
			sb_buf_printf(b, "<td>%s<td>%s … %s", pct, lo, hi);
			td_num(b, sb_r_num(json_object_get(a, "wilcoxon"), "p"));
			td_verdict(b, sb_r_str(a, "verdict"));
			td_text(b, sb_r_str(a, "reason"));
		}
		sb_buf_put(b, "</tbody></table>");
	}
	sb_buf_put(b, "</section>");
}

/* Seconds since the epoch of an RFC 3339 UTC time ("2026-12-06T01:39:44.596Z"), NaN if not one. */
static double parse_time(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return NAN;
	double frac = *end == '.' ? strtod(end, NULL) : 0;
	return (double)timegm(&tm) + frac;
}

void sb_html_histories(struct sb_buf *b, const struct sb_rview *v, const json_t *histories)
{
	if (!json_array_size(histories))
		return;
	sb_buf_put(b, "<section><h2 id=history>History</h2><div class=charts>");
	/* One chart per (scenario, metric), one line per driver, change points as dashed marks. */
	json_t *groups = json_object();
	size_t i, k;
	json_t *doc, *s;
	json_array_foreach(histories, i, doc)
		json_array_foreach(json_object_get(doc, "series"), k, s) {
			char key[512];
			snprintf(key, sizeof(key), "%s\x1f%s", sb_r_str(s, "scenario"), sb_r_str(s, "metric"));
			json_t *g = json_object_get(groups, key);
			if (!g)
				json_object_set_new(groups, key, g = json_array());
			json_array_append(g, s);
		}
	const char *key;
	json_t *g;
	json_object_foreach(groups, key, g) {
		size_t n = json_array_size(g), total = 0;
		json_array_foreach(g, k, s) total += json_array_size(json_object_get(s, "points"));
		struct sb_svg_line *lines = calloc(n, sizeof(*lines));
		double *xs = calloc(total + 1, sizeof(double)), *ys = calloc(total + 1, sizeof(double));
		struct sb_svg_vmark *marks = NULL;
		size_t nmarks = 0, off = 0;
		char (*mlabels)[64] = NULL;
		if (!lines || !xs || !ys)
			goto next;
		/* Time on x when every point has one, else the run's position in its series. */
		double t0 = INFINITY;
		bool timed = true;
		json_array_foreach(g, k, s) {
			size_t q;
			json_t *p;
			json_array_foreach(json_object_get(s, "points"), q, p) {
				double t = parse_time(sb_r_str(p, "t"));
				timed &= isfinite(t);
				t0 = fmin(t0, t);
			}
		}
		size_t ncp = 0;
		json_array_foreach(g, k, s) ncp += json_array_size(json_object_get(s, "change_points"));
		marks = calloc(ncp + 1, sizeof(*marks));
		mlabels = calloc(ncp + 1, sizeof(*mlabels));
		if (!marks || !mlabels)
			goto next;
		json_array_foreach(g, k, s) {
			size_t q, np = json_array_size(json_object_get(s, "points"));
			json_t *p;
			json_array_foreach(json_object_get(s, "points"), q, p) {
				xs[off + q] = timed ? (parse_time(sb_r_str(p, "t")) - t0) / 86400.0 : (double)q;
				ys[off + q] = sb_r_num(p, "value");
			}
			int color = sb_rview_color(v, sb_r_str(s, "driver"));
			lines[k] = (struct sb_svg_line){.label = sb_r_str(s, "driver"), .x = xs + off, .y = ys + off, .n = np,
							.color = color, .mark_x = NAN};
			json_array_foreach(json_object_get(s, "change_points"), q, p) {
				json_int_t idx = json_integer_value(json_object_get(p, "index"));
				if (idx < 0 || (size_t)idx >= np)
					continue;
				char pct[48];
				sb_html_pct(pct, sizeof(pct), sb_r_num(p, "size"));
				snprintf(mlabels[nmarks], sizeof(mlabels[nmarks]), "%s p=%.2g", pct, sb_r_num(p, "p"));
				marks[nmarks] = (struct sb_svg_vmark){.x = xs[off + (size_t)idx], .label = mlabels[nmarks], .color = color};
				nmarks++;
			}
			off += np;
		}
		{
			const char *sep = strchr(key, '\x1f');
			char cap[600];
			const char *unit = sb_r_str(json_array_get(g, 0), "unit");
			snprintf(cap, sizeof(cap), "%.*s %s over time%s", (int)(sep - key), key, sep + 1,
				 nmarks ? " (dashed: change points, with their size and p)" : "");
			char xl[64] = "run";
			if (timed) {
				time_t tt = (time_t)t0;
				struct tm tm;
				gmtime_r(&tt, &tm);
				strftime(xl, sizeof(xl), "days since %Y-%m-%d", &tm);
			}
			struct sb_svg_axes ax = {.x_label = xl, .y_label = unit, .h_ref = NAN};
			sb_html_fig_open(b, cap);
			sb_svg_lines(b, lines, n, marks, nmarks, &ax);
			sb_html_fig_close(b);
		}
	next:
		free(lines);
		free(xs);
		free(ys);
		free(marks);
		free(mlabels);
	}
	json_decref(groups);
	sb_buf_put(b, "</div><h3>change points</h3>");
	static const char *const cols[] = {"<scenario", "<driver", "<metric", "<run", "<at", "size", "p", NULL};
	head(b, cols);
	json_array_foreach(histories, i, doc)
		json_array_foreach(json_object_get(doc, "series"), k, s) {
			size_t q;
			json_t *cp;
			json_array_foreach(json_object_get(s, "change_points"), q, cp) {
				json_t *pt = json_array_get(json_object_get(s, "points"),
							    (size_t)json_integer_value(json_object_get(cp, "index")));
				sb_buf_put(b, "<tr>");
				td_text(b, sb_r_str(s, "scenario"));
				td_text(b, sb_r_str(s, "driver"));
				td_text(b, sb_r_str(s, "metric"));
				td_text(b, *sb_r_str(cp, "run_id") ? sb_r_str(cp, "run_id") : sb_r_str(pt, "run_id"));
				td_text(b, sb_r_str(pt, "t"));
				char pct[48];
				sb_html_pct(pct, sizeof(pct), sb_r_num(cp, "size"));
				sb_buf_printf(b, "<td data-v=\"%g\">%s", isfinite(sb_r_num(cp, "size")) ? sb_r_num(cp, "size") : 0.0, pct);
				td_num(b, sb_r_num(cp, "p"));
			}
		}
	sb_buf_put(b, "</tbody></table></section>");
}
