/* The report as GitHub-flavoured Markdown, for a PR comment: the page's content with tables in
 * place of charts (text bars for the headline metric, sparklines for history). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/html_int.h"
#include "render/render.h"

#define MD_HEADLINES 4
#define BAR_CELLS 12

static void cell_num(struct sb_buf *b, double v, bool bold)
{
	sb_buf_put(b, bold ? " **" : " ");
	sb_buf_num(b, v, 4);
	sb_buf_put(b, bold ? "** |" : " |");
}

static void cell_text(struct sb_buf *b, const char *s)
{
	sb_buf_put(b, " ");
	sb_buf_put_md(b, s);
	sb_buf_put(b, " |");
}

static void header(struct sb_buf *b, const char *const *cols)
{
	sb_buf_put(b, "|");
	size_t n = 0;
	for (; cols[n]; n++)
		cell_text(b, cols[n]);
	sb_buf_put(b, "\n|");
	for (size_t i = 0; i < n; i++)
		sb_buf_put(b, "---|");
	sb_buf_putc(b, '\n');
}

/* A bar of eighths of a block, v/max of BAR_CELLS cells. */
static void text_bar(struct sb_buf *b, double v, double max)
{
	static const char *const eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
	if (!isfinite(v) || !(max > 0) || v <= 0)
		return;
	int units = (int)lround(v / max * BAR_CELLS * 8);
	if (units < 1)
		units = 1;
	for (int i = 0; i < units / 8; i++)
		sb_buf_put(b, "█");
	sb_buf_put(b, eighths[units % 8]);
}

static void sparkline(struct sb_buf *b, const json_t *points)
{
	static const char *const ticks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	size_t n = json_array_size(points), from = n > 40 ? n - 40 : 0;
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = from; i < n; i++) {
		double v = sb_r_num(json_array_get(points, i), "value");
		lo = fmin(lo, v);
		hi = fmax(hi, v);
	}
	for (size_t i = from; i < n; i++) {
		double v = sb_r_num(json_array_get(points, i), "value");
		int k = hi > lo ? (int)((v - lo) / (hi - lo) * 7.999) : 3;
		sb_buf_put(b, ticks[k < 0 ? 0 : k > 7 ? 7 : k]);
	}
}

static void scenario_md(struct sb_buf *b, const struct sb_rscn *s)
{
	sb_buf_printf(b, "\n## %s\n\n", s->name);
	if (*s->axis)
		sb_buf_printf(b, "_%s axis_\n\n", s->axis);
	for (size_t r = 0; r < s->nrows; r++) {
		const char *st = sb_r_str(s->rows[r].report, "status");
		if (!strcmp(st, "ok"))
			continue;
		sb_buf_put(b, "- ");
		sb_buf_put_md(b, s->rows[r].label);
		sb_buf_printf(b, ": %s: ", st);
		sb_buf_put_md(b, sb_r_str(s->rows[r].report, "reason"));
		sb_buf_putc(b, '\n');
	}
	size_t head[MD_HEADLINES];
	size_t nh = sb_r_headlines(s, MD_HEADLINES, head);
	if (!nh)
		return;
	/* Drivers as rows, headline metrics as columns (p50 [95% CI]), the best in bold, and a text bar
	 * of the first headline metric. */
	sb_buf_put(b, "\n| driver |");
	for (size_t i = 0; i < nh; i++) {
		sb_buf_put(b, " ");
		sb_buf_put_md(b, s->metrics[head[i]].name);
		sb_buf_printf(b, " (%s, %s) |", s->metrics[head[i]].unit,
			      s->metrics[head[i]].higher_is_better ? "higher is better" : "lower is better");
	}
	sb_buf_put(b, " |\n|---|");
	for (size_t i = 0; i <= nh; i++)
		sb_buf_put(b, "---:|");
	sb_buf_putc(b, '\n');
	int best[MD_HEADLINES];
	double max0 = 0;
	for (size_t i = 0; i < nh; i++)
		best[i] = sb_r_best_row(s, &s->metrics[head[i]]);
	for (size_t r = 0; r < s->nrows; r++)
		max0 = fmax(max0, sb_r_num(sb_r_aggregate(s->rows[r].report, s->metrics[head[0]].name), "p50"));
	for (size_t r = 0; r < s->nrows; r++) {
		if (!json_array_size(json_object_get(s->rows[r].report, "aggregates")))
			continue;
		sb_buf_put(b, "|");
		cell_text(b, s->rows[r].label);
		for (size_t i = 0; i < nh; i++) {
			json_t *a = sb_r_aggregate(s->rows[r].report, s->metrics[head[i]].name);
			if (!a) {
				sb_buf_put(b, " - |");
				continue;
			}
			sb_buf_put(b, (int)r == best[i] ? " **" : " ");
			sb_buf_num(b, sb_r_num(a, "p50"), 4);
			sb_buf_put(b, (int)r == best[i] ? "**" : "");
			json_t *ci = json_object_get(a, "median_ci");
			if (json_array_size(ci) == 2) {
				sb_buf_put(b, " [");
				sb_buf_num(b, json_number_value(json_array_get(ci, 0)), 3);
				sb_buf_put(b, "–");
				sb_buf_num(b, json_number_value(json_array_get(ci, 1)), 3);
				sb_buf_put(b, "]");
			}
			sb_buf_put(b, " |");
		}
		sb_buf_put(b, " ");
		text_bar(b, sb_r_num(sb_r_aggregate(s->rows[r].report, s->metrics[head[0]].name), "p50"), max0);
		sb_buf_put(b, " |\n");
	}
	/* Phases, one column each. */
	const char *parts[16];
	size_t np = 0;
	for (size_t k = 0; sb_render_phase_metrics[k] && np < 16; k++)
		for (size_t i = 0; i < s->nmetrics; i++)
			if (!strcmp(s->metrics[i].name, sb_render_phase_metrics[k]) && s->metrics[i].have)
				parts[np++] = s->metrics[i].name;
	if (np >= 2) {
		sb_buf_put(b, "\nphases (p50 each, ms):\n\n| driver |");
		for (size_t j = 0; j < np; j++)
			cell_text(b, parts[j]);
		sb_buf_put(b, "\n|---|");
		for (size_t j = 0; j < np; j++)
			sb_buf_put(b, "---:|");
		sb_buf_putc(b, '\n');
		for (size_t r = 0; r < s->nrows; r++) {
			if (!json_array_size(json_object_get(s->rows[r].report, "aggregates")))
				continue;
			sb_buf_put(b, "|");
			cell_text(b, s->rows[r].label);
			for (size_t j = 0; j < np; j++)
				cell_num(b, sb_r_num(sb_r_aggregate(s->rows[r].report, parts[j]), "p50"), false);
			sb_buf_putc(b, '\n');
		}
	}
	/* Everything, folded. */
	size_t rows = 0;
	for (size_t r = 0; r < s->nrows; r++)
		rows += json_array_size(json_object_get(s->rows[r].report, "aggregates"));
	sb_buf_printf(b, "\n<details><summary>all metrics (%zu rows)</summary>\n\n", rows);
	static const char *const cols[] = {"driver", "metric", "unit", "n", "p50", "median 95% CI", "p90", "p99", "cv %",
					   "confidence", NULL};
	header(b, cols);
	for (size_t i = 0; i < s->nmetrics; i++) {
		int bi = sb_r_best_row(s, &s->metrics[i]);
		for (size_t r = 0; r < s->nrows; r++) {
			json_t *a = sb_r_aggregate(s->rows[r].report, s->metrics[i].name);
			if (!a)
				continue;
			sb_buf_put(b, "|");
			cell_text(b, s->rows[r].label);
			cell_text(b, s->metrics[i].name);
			cell_text(b, s->metrics[i].unit);
			cell_num(b, sb_r_num(a, "n"), false);
			cell_num(b, sb_r_num(a, "p50"), (int)r == bi);
			json_t *ci = json_object_get(a, "median_ci");
			sb_buf_put(b, " ");
			if (json_array_size(ci) == 2) {
				sb_buf_num(b, json_number_value(json_array_get(ci, 0)), 4);
				sb_buf_put(b, "–");
				sb_buf_num(b, json_number_value(json_array_get(ci, 1)), 4);
			} else {
				sb_buf_put(b, "-");
			}
			sb_buf_put(b, " |");
			cell_num(b, sb_r_num(a, "p90"), false);
			cell_num(b, sb_r_num(a, "p99"), false);
			cell_num(b, sb_r_num(a, "cv") * 100, false);
			cell_text(b, sb_r_str(a, "confidence"));
			sb_buf_putc(b, '\n');
		}
	}
	sb_buf_put(b, "\n</details>\n");
}

static void compares_md(struct sb_buf *b, const json_t *compares)
{
	size_t i, k, q;
	json_t *doc, *c, *m;
	json_array_foreach(compares, i, doc) {
		sb_buf_put(b, "\n## Compare: ");
		sb_buf_put_md(b, sb_r_str(json_object_get(doc, "baseline"), "path"));
		sb_buf_put(b, " → ");
		sb_buf_put_md(b, sb_r_str(json_object_get(doc, "current"), "path"));
		sb_buf_put(b, "\n\n");
		static const char *const cols[] = {"scenario", "driver", "metric", "stat", "baseline", "current", "delta", "p",
						   "verdict", NULL};
		header(b, cols);
		json_array_foreach(json_object_get(doc, "comparisons"), k, c)
			json_array_foreach(json_object_get(c, "metrics"), q, m) {
				sb_buf_put(b, "|");
				cell_text(b, sb_r_str(c, "scenario"));
				cell_text(b, sb_r_str(c, "driver"));
				cell_text(b, sb_r_str(m, "metric"));
				cell_text(b, sb_r_str(m, "statistic"));
				cell_num(b, sb_r_num(json_object_get(m, "baseline"), "value"), false);
				cell_num(b, sb_r_num(json_object_get(m, "current"), "value"), false);
				char pct[48];
				sb_html_pct(pct, sizeof(pct), sb_r_num(m, "delta"));
				cell_text(b, pct);
				cell_num(b, sb_r_num(m, "p"), false);
				const char *v = sb_r_str(m, "verdict");
				bool loud = !strcmp(v, "regression") || !strcmp(v, "improvement");
				sb_buf_printf(b, " %s", loud ? "**" : "");
				sb_buf_put_md(b, v);
				sb_buf_printf(b, "%s |\n", loud ? "**" : "");
			}
	}
}

static void paireds_md(struct sb_buf *b, const json_t *paireds)
{
	size_t i, k;
	json_t *doc, *a;
	json_array_foreach(paireds, i, doc) {
		const json_t *sides[2] = {json_object_get(doc, "baseline"), json_object_get(doc, "current")};
		sb_buf_put(b, "\n## Paired:");
		for (int s = 0; s < 2; s++) {
			sb_buf_put(b, s ? " vs " : " ");
			if (json_object_get(sides[s], "command")) {
				sb_buf_put(b, "`");
				sb_buf_put_md(b, sb_r_str(sides[s], "command"));
				sb_buf_put(b, "`");
			} else {
				sb_buf_put_md(b, sb_r_str(sides[s], "scenario"));
				sb_buf_put(b, " on ");
				sb_buf_put_md(b, sb_r_str(sides[s], "driver"));
			}
		}
		sb_buf_put(b, "\n\nverdict: **");
		sb_buf_put_md(b, sb_r_str(doc, "verdict"));
		sb_buf_put(b, "**\n\n");
		static const char *const cols[] = {"metric", "pairs", "baseline median", "current median", "change",
						   "change CI", "p (Wilcoxon)", "verdict", NULL};
		header(b, cols);
		json_array_foreach(json_object_get(doc, "analysis"), k, a) {
			sb_buf_put(b, "|");
			cell_text(b, sb_r_str(a, "metric"));
			cell_num(b, sb_r_num(a, "n"), false);
			cell_num(b, sb_r_num(a, "baseline_median"), false);
			cell_num(b, sb_r_num(a, "current_median"), false);
			char pct[48], lo[48], hi[48], ci[120];
			sb_html_pct(pct, sizeof(pct), sb_r_num(a, "change"));
			json_t *c = json_object_get(a, "change_ci");
			sb_html_pct(lo, sizeof(lo), json_is_number(json_array_get(c, 0)) ? json_number_value(json_array_get(c, 0)) : NAN);
			sb_html_pct(hi, sizeof(hi), json_is_number(json_array_get(c, 1)) ? json_number_value(json_array_get(c, 1)) : NAN);
			snprintf(ci, sizeof(ci), "%s … %s", lo, hi);
			cell_text(b, pct);
			cell_text(b, ci);
			cell_num(b, sb_r_num(json_object_get(a, "wilcoxon"), "p"), false);
			cell_text(b, sb_r_str(a, "verdict"));
			sb_buf_putc(b, '\n');
		}
	}
}

static void histories_md(struct sb_buf *b, const json_t *histories)
{
	if (!json_array_size(histories))
		return;
	sb_buf_put(b, "\n## History\n\n");
	static const char *const cols[] = {"scenario", "driver", "metric", "unit", "trend", "runs", "last",
					   "change points", NULL};
	header(b, cols);
	size_t i, k, q;
	json_t *doc, *s, *cp;
	json_array_foreach(histories, i, doc)
		json_array_foreach(json_object_get(doc, "series"), k, s) {
			json_t *pts = json_object_get(s, "points");
			sb_buf_put(b, "|");
			cell_text(b, sb_r_str(s, "scenario"));
			cell_text(b, sb_r_str(s, "driver"));
			cell_text(b, sb_r_str(s, "metric"));
			cell_text(b, sb_r_str(s, "unit"));
			sb_buf_put(b, " ");
			sparkline(b, pts);
			sb_buf_put(b, " |");
			cell_num(b, (double)json_array_size(pts), false);
			cell_num(b, sb_r_num(json_array_get(pts, json_array_size(pts) - 1), "value"), false);
			sb_buf_put(b, " ");
			json_array_foreach(json_object_get(s, "change_points"), q, cp) {
				json_t *pt = json_array_get(pts, (size_t)json_integer_value(json_object_get(cp, "index")));
				const char *run = *sb_r_str(cp, "run_id") ? sb_r_str(cp, "run_id") : sb_r_str(pt, "run_id");
				char pct[48];
				sb_html_pct(pct, sizeof(pct), sb_r_num(cp, "size"));
				sb_buf_printf(b, "%s%s at run %.8s (p=%.2g)", q ? "; " : "", pct, run, sb_r_num(cp, "p"));
			}
			sb_buf_put(b, " |\n");
		}
}

static void meta_md(struct sb_buf *b, const struct sb_rdoc *d)
{
	sb_buf_put(b, "\n## Host and tool\n\n");
	json_t *seen = json_object();
	size_t i;
	json_t *x;
	json_t *all = json_array();
	json_array_extend(all, d->matrices);
	json_array_extend(all, d->reports);
	json_array_extend(all, d->paireds);
	json_array_foreach(all, i, x) {
		json_t *h = json_object_get(json_object_get(x, "run"), "host"), *t = json_object_get(x, "tool");
		char key[1024];
		snprintf(key, sizeof(key), "%s | %s | %s | %s | %lld CPUs | %.1f GiB | sandbench %s (git %s)",
			 sb_r_str(h, "os"), sb_r_str(h, "kernel"), sb_r_str(h, "arch"), sb_r_str(h, "cpu_model"),
			 (long long)json_integer_value(json_object_get(h, "cpu_count")),
			 sb_r_num(h, "mem_total") / (1024.0 * 1024 * 1024), sb_r_str(t, "version"), sb_r_str(t, "git"));
		if (!json_is_object(h) || json_object_get(seen, key))
			continue;
		json_object_set_new(seen, key, json_true());
		sb_buf_put(b, "- ");
		sb_buf_put_md(b, key);
		sb_buf_putc(b, '\n');
	}
	json_array_foreach(d->matrices, i, x) {
		size_t k;
		json_t *dv;
		sb_buf_put(b, "\n| driver | version | usable | why not / notes |\n|---|---|---|---|\n");
		json_array_foreach(json_object_get(x, "drivers"), k, dv) {
			sb_buf_put(b, "|");
			cell_text(b, sb_r_str(dv, "name"));
			cell_text(b, sb_r_str(dv, "version"));
			cell_text(b, json_is_true(json_object_get(dv, "usable")) ? "yes" : "no");
			cell_text(b, sb_r_str(dv, "reason"));
			sb_buf_putc(b, '\n');
		}
	}
	json_decref(all);
	json_decref(seen);
}

int sb_render_markdown(const struct sb_rdoc *d, const struct sb_render_opts *o, struct sb_buf *out,
		       struct sb_error *err)
{
	struct sb_rview v;
	if (sb_rview_build(d, &v) < 0) {
		sb_rview_free(&v);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	struct sb_buf *b = out;
	sb_buf_printf(b, "# %s\n\n_", o && o->title ? o->title : "sandbench report");
	if (o && o->generated_at)
		sb_buf_printf(b, "generated %s", o->generated_at);
	if (o && o->tool)
		sb_buf_printf(b, " by %s", o->tool);
	sb_buf_put(b, " from ");
	size_t i;
	json_t *x;
	json_array_foreach(d->inputs, i, x) {
		if (i >= 8) {
			sb_buf_printf(b, ", and %zu more", json_array_size(d->inputs) - i);
			break;
		}
		sb_buf_put(b, i ? ", " : "");
		sb_buf_put_md(b, sb_r_str(x, "kind"));
		sb_buf_put(b, " ");
		sb_buf_put_md(b, sb_r_str(x, "path"));
	}
	sb_buf_put(b, "_\n");
	if (v.nscn) {
		sb_buf_put(b, "\n## Overview\n\n");
		static const char *const cols[] = {"scenario", "axis", "headline metric", "best", "best p50", "unit",
						   "measured", "not measured", NULL};
		header(b, cols);
		for (size_t s = 0; s < v.nscn; s++) {
			const struct sb_rscn *sc = &v.scn[s];
			size_t h[1], ok = 0;
			size_t nh = sb_r_headlines(sc, 1, h);
			for (size_t r = 0; r < sc->nrows; r++)
				ok += !strcmp(sb_r_str(sc->rows[r].report, "status"), "ok");
			sb_buf_put(b, "|");
			cell_text(b, sc->name);
			cell_text(b, sc->axis);
			int best = nh ? sb_r_best_row(sc, &sc->metrics[h[0]]) : -1;
			cell_text(b, nh ? sc->metrics[h[0]].name : "-");
			cell_text(b, best >= 0 ? sc->rows[best].label : "");
			if (best >= 0)
				cell_num(b, sb_r_num(sb_r_aggregate(sc->rows[best].report, sc->metrics[h[0]].name), "p50"), false);
			else
				sb_buf_put(b, " |");
			cell_text(b, nh ? sc->metrics[h[0]].unit : "");
			sb_buf_printf(b, " %zu | %zu |\n", ok, sc->nrows - ok);
		}
	}
	for (size_t s = 0; s < v.nscn; s++)
		scenario_md(b, &v.scn[s]);
	compares_md(b, d->compares);
	paireds_md(b, d->paireds);
	histories_md(b, d->histories);
	meta_md(b, d);
	sb_rview_free(&v);
	return sb_buf_ok(b) ? 0 : sb_error_set(err, ENOMEM, "out of memory rendering Markdown");
}
