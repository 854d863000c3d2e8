/* The charts of one scenario section. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/html_int.h"
#include "render/render.h"

#define MAX_BAR_CHARTS 3
#define MAX_FAMILIES 4
#define MAX_SERIES_CHARTS 3

/* Phases of a sandbox's life in the order they happen; a scenario reporting two or more of them
 * gets them stacked per driver. */
const char *const sb_render_phase_metrics[] = {"prepare_ms", "create_ms", "start_ms", "first_exec_ms", "exec_ms",
					       "stop_ms", "destroy_ms", NULL};

bool sb_render_is_breakpoint(const char *metric)
{
	return !strncmp(metric, "density_max_concurrency", 23) || strstr(metric, "breakpoint") != NULL;
}

void sb_html_fig_open(struct sb_buf *b, const char *caption)
{
	sb_buf_put(b, "<figure><figcaption>");
	sb_buf_put_html(b, caption);
	sb_buf_put(b, "</figcaption>");
}

void sb_html_fig_close(struct sb_buf *b)
{
	sb_buf_put(b, "</figure>");
}

static void bars_chart(struct sb_buf *b, const struct sb_rscn *s, const struct sb_rmetric *m)
{
	struct sb_svg_bar *bars = calloc(s->nrows + 1, sizeof(*bars));
	if (!bars)
		return;
	int best = sb_r_best_row(s, m);
	size_t n = 0;
	for (size_t r = 0; r < s->nrows; r++) {
		json_t *a = sb_r_aggregate(s->rows[r].report, m->name);
		if (!a)
			continue;
		json_t *ci = json_object_get(a, "median_ci");
		bars[n++] = (struct sb_svg_bar){
			.label = s->rows[r].label, .value = sb_r_num(a, "p50"), .color = s->rows[r].color,
			.lo = json_is_number(json_array_get(ci, 0)) ? json_number_value(json_array_get(ci, 0)) : NAN,
			.hi = json_is_number(json_array_get(ci, 1)) ? json_number_value(json_array_get(ci, 1)) : NAN,
			.best = (int)r == best};
	}
	char cap[256];
	snprintf(cap, sizeof(cap), "%s: p50 with its 95%% CI (%s is better%s)", m->name,
		 m->higher_is_better ? "higher" : "lower", best >= 0 ? "; * best" : "");
	sb_html_fig_open(b, cap);
	sb_svg_hbars(b, bars, n, m->unit);
	sb_html_fig_close(b);
	free(bars);
}

static void dist_chart(struct sb_buf *b, const struct sb_rscn *s, const struct sb_rmetric *m)
{
	struct sb_svg_dist *d = calloc(s->nrows + 1, sizeof(*d));
	double **vals = calloc(s->nrows + 1, sizeof(*vals));
	size_t n = 0, total = 0;
	for (size_t r = 0; d && vals && r < s->nrows; r++) {
		if (!sb_r_aggregate(s->rows[r].report, m->name))
			continue;
		size_t k = sb_r_samples(s->rows[r].report, m->name, &vals[n]);
		d[n] = (struct sb_svg_dist){.label = s->rows[r].label, .values = vals[n], .n = k, .color = s->rows[r].color};
		total += k;
		n++;
	}
	if (total > 1) {
		char cap[256];
		snprintf(cap, sizeof(cap), "%s: distribution of the samples (box: quartiles; whiskers: 1.5 IQR)", m->name);
		sb_html_fig_open(b, cap);
		sb_svg_boxes(b, d, n, m->unit);
		sb_html_fig_close(b);
	}
	for (size_t i = 0; vals && i < n; i++)
		free(vals[i]);
	free(vals);
	free(d);
}

static void phases_chart(struct sb_buf *b, const struct sb_rscn *s)
{
	const char *parts[16];
	size_t np = 0;
	for (size_t k = 0; sb_render_phase_metrics[k] && np < 16; k++)
		for (size_t i = 0; i < s->nmetrics; i++)
			if (!strcmp(s->metrics[i].name, sb_render_phase_metrics[k]) && s->metrics[i].have)
				parts[np++] = s->metrics[i].name;
	if (np < 2)
		return;
	const char **labels = calloc(s->nrows + 1, sizeof(*labels));
	double *vals = calloc((s->nrows + 1) * np, sizeof(double));
	size_t nr = 0;
	for (size_t r = 0; labels && vals && r < s->nrows; r++) {
		bool any = false;
		for (size_t j = 0; j < np; j++) {
			vals[nr * np + j] = sb_r_num(sb_r_aggregate(s->rows[r].report, parts[j]), "p50");
			any |= isfinite(vals[nr * np + j]);
		}
		if (any)
			labels[nr++] = s->rows[r].label;
	}
	if (nr) {
		sb_html_fig_open(b, "phases: the p50 of each, stacked (medians of parts need not add up to the median of the whole)");
		sb_svg_stacked(b, labels, nr, parts, np, vals, "ms");
		sb_html_fig_close(b);
	}
	free(labels);
	free(vals);
}

struct level {
	long x;
	size_t metric;
};

static int cmp_level(const void *a, const void *b)
{
	const struct level *p = a, *q = b;
	return (p->x > q->x) - (p->x < q->x);
}

/* One numbered family: p50 per level for every driver (a ramp); for concurrency levels also the
 * breakpoint curve, p95 relative to the lowest level's, against the 2x line the breakpoint uses. */
static void family_charts(struct sb_buf *b, const struct sb_rscn *s, const char *prefix, char kind)
{
	struct level *lv = calloc(s->nmetrics + 1, sizeof(*lv));
	size_t nl = 0;
	for (size_t i = 0; lv && i < s->nmetrics; i++) {
		char p[256], k;
		long num;
		if (sb_r_family(s->metrics[i].name, p, sizeof(p), &k, &num) && k == kind && !strcmp(p, prefix))
			lv[nl++] = (struct level){num, i};
	}
	if (nl < 2) {
		free(lv);
		return;
	}
	qsort(lv, nl, sizeof(*lv), cmp_level);
	const char *bp_metric = NULL;
	for (size_t i = 0; i < s->nmetrics; i++)
		if (sb_render_is_breakpoint(s->metrics[i].name))
			bp_metric = s->metrics[i].name;
	struct sb_svg_line *lines = calloc(s->nrows + 1, sizeof(*lines));
	struct sb_svg_line *ratio = calloc(s->nrows + 1, sizeof(*ratio));
	double *xs = calloc(nl, sizeof(double)), *ys = calloc((s->nrows + 1) * nl, sizeof(double));
	double *rs = calloc((s->nrows + 1) * nl, sizeof(double));
	if (!lines || !ratio || !xs || !ys || !rs)
		goto out;
	for (size_t k = 0; k < nl; k++)
		xs[k] = (double)lv[k].x;
	size_t n = 0, nratio = 0;
	for (size_t r = 0; r < s->nrows; r++) {
		bool any = false, any_p95 = false;
		double base = NAN;
		for (size_t k = 0; k < nl; k++) {
			json_t *a = sb_r_aggregate(s->rows[r].report, s->metrics[lv[k].metric].name);
			ys[n * nl + k] = sb_r_num(a, "p50");
			any |= isfinite(ys[n * nl + k]);
			double p95 = sb_r_num(a, "p95");
			if (k == 0)
				base = p95;
			rs[n * nl + k] = isfinite(p95) && base > 0 ? p95 / base : NAN;
			any_p95 |= isfinite(rs[n * nl + k]);
		}
		if (!any)
			continue;
		double mark = bp_metric ? sb_r_num(sb_r_aggregate(s->rows[r].report, bp_metric), "p50") : NAN;
		lines[n] = (struct sb_svg_line){.label = s->rows[r].label, .x = xs, .y = ys + n * nl, .n = nl,
						.color = s->rows[r].color, .mark_x = kind == 'c' ? mark : NAN};
		if (any_p95 && kind == 'c')
			ratio[nratio++] = (struct sb_svg_line){.label = s->rows[r].label, .x = xs, .y = rs + n * nl,
							       .n = nl, .color = s->rows[r].color, .mark_x = mark};
		n++;
	}
	if (!n)
		goto out;
	const char *unit = s->metrics[lv[0].metric].unit;
	char cap[512], ylab[64];
	snprintf(ylab, sizeof(ylab), "p50 %s", unit);
	struct sb_svg_axes ax = {.x_label = kind == 'c' ? "concurrency" : "box", .y_label = ylab,
				 .log_x = kind == 'c', .h_ref = NAN, .y_from_zero = true};
	if (kind == 'c')
		snprintf(cap, sizeof(cap), "%s by concurrency level: p50 per level%s", prefix,
			 bp_metric ? " (ringed: each driver's breakpoint)" : "");
	else
		snprintf(cap, sizeof(cap), "%s per box: p50 of each box in the order they were started (the ramp)", prefix);
	sb_html_fig_open(b, cap);
	sb_svg_lines(b, lines, n, NULL, 0, &ax);
	sb_html_fig_close(b);
	if (nratio) {
		struct sb_svg_axes ax2 = {.x_label = "concurrency", .y_label = "p95 / p95 at the lowest level", .log_x = true,
					  .h_ref = 2, .h_ref_label = "2x: breakpoint", .y_from_zero = true};
		snprintf(cap, sizeof(cap), "%s breakpoint curve: p95 relative to the lowest level; the breakpoint is the highest level below 2x",
			 prefix);
		sb_html_fig_open(b, cap);
		sb_svg_lines(b, ratio, nratio, NULL, 0, &ax2);
		sb_html_fig_close(b);
	}
out:
	free(lv);
	free(lines);
	free(ratio);
	free(xs);
	free(ys);
	free(rs);
}

static int cmp_double_asc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* A recorded series (report "series": [{iteration, name, unit, points: [[t, value], ...]}], t in
 * seconds): points as [t, v] pairs; also {x|t|i, y|v|value} objects, or bare numbers (times at
 * which boxes became ready: drawn as a ramp, boxes ready over time). */
static size_t series_points(const json_t *pts, double *x, double *y, bool *ramp)
{
	size_t i, n = 0;
	json_t *p;
	*ramp = false;
	json_array_foreach(pts, i, p) {
		if (json_is_number(p)) {
			*ramp = true;
			x[n] = json_number_value(p);
			y[n++] = 0;
		} else if (json_is_array(p) && json_is_number(json_array_get(p, 0)) && json_is_number(json_array_get(p, 1))) {
			x[n] = json_number_value(json_array_get(p, 0));
			y[n++] = json_number_value(json_array_get(p, 1));
		} else if (json_is_object(p)) {
			const char *kx[] = {"x", "t", "i", "t_ms"}, *ky[] = {"y", "v", "value"};
			double vx = NAN, vy = NAN;
			for (int k = 0; k < 4 && !isfinite(vx); k++)
				vx = sb_r_num(p, kx[k]);
			for (int k = 0; k < 3 && !isfinite(vy); k++)
				vy = sb_r_num(p, ky[k]);
			if (!isfinite(vx))
				vx = (double)i;
			x[n] = vx;
			y[n++] = vy;
		}
	}
	if (*ramp) {
		qsort(x, n, sizeof(double), cmp_double_asc);
		for (size_t k = 0; k < n; k++)
			y[k] = (double)(k + 1);
	}
	return n;
}

static const json_t *report_series(const json_t *report)
{
	const json_t *s = json_object_get(report, "series");
	if (s)
		return s;
	/* Else the last measured sample's. */
	const json_t *samples = json_object_get(report, "samples");
	for (size_t i = json_array_size(samples); i-- > 0;) {
		const json_t *x = json_array_get(samples, i);
		if (!json_is_true(json_object_get(x, "warmup")) && json_object_get(x, "series"))
			return json_object_get(x, "series");
	}
	return NULL;
}

/* Series entries as (name, object) whether the field is an array of {name, ...} or an object keyed
 * by name. */
static const json_t *series_get(const json_t *all, size_t i, const char **name)
{
	if (json_is_array(all)) {
		const json_t *x = json_array_get(all, i);
		*name = sb_r_str(x, "name");
		return x;
	}
	void *it = json_object_iter((json_t *)all);
	for (size_t k = 0; it && k < i; k++)
		it = json_object_iter_next((json_t *)all, it);
	if (!it)
		return NULL;
	*name = json_object_iter_key(it);
	return json_object_iter_value(it);
}

static size_t series_count(const json_t *all)
{
	return json_is_array(all) ? json_array_size(all) : json_is_object(all) ? json_object_size(all) : 0;
}

static void series_charts(struct sb_buf *b, const struct sb_rscn *s)
{
	const char *names[MAX_SERIES_CHARTS];
	size_t nn = 0;
	for (size_t r = 0; r < s->nrows; r++) {
		const json_t *all = report_series(s->rows[r].report);
		for (size_t i = 0; i < series_count(all) && nn < MAX_SERIES_CHARTS; i++) {
			const char *name;
			if (!series_get(all, i, &name) || !*name)
				continue;
			size_t k;
			for (k = 0; k < nn && strcmp(names[k], name); k++)
				;
			if (k == nn)
				names[nn++] = name;
		}
	}
	for (size_t q = 0; q < nn; q++) {
		struct sb_svg_line *lines = calloc(s->nrows + 1, sizeof(*lines));
		double **bufs = calloc(2 * (s->nrows + 1), sizeof(double *));
		size_t n = 0;
		bool ramp = false;
		const char *unit = "";
		for (size_t r = 0; lines && bufs && r < s->nrows; r++) {
			const json_t *all = report_series(s->rows[r].report), *one = NULL;
			for (size_t i = 0; i < series_count(all); i++) {
				const char *name;
				const json_t *x = series_get(all, i, &name);
				if (x && !strcmp(name, names[q]))
					one = x;
			}
			const json_t *pts = json_is_array(one) ? one : json_object_get(one, "points");
			if (!json_array_size(pts))
				continue;
			if (*sb_r_str(one, "unit"))
				unit = sb_r_str(one, "unit");
			size_t cap = json_array_size(pts);
			bufs[2 * n] = malloc(cap * sizeof(double));
			bufs[2 * n + 1] = malloc(cap * sizeof(double));
			if (!bufs[2 * n] || !bufs[2 * n + 1])
				break;
			size_t k = series_points(pts, bufs[2 * n], bufs[2 * n + 1], &ramp);
			/* Counts of boxes ready rise in steps. */
			ramp |= strstr(names[q], "ready") != NULL;
			lines[n] = (struct sb_svg_line){.label = s->rows[r].label, .x = bufs[2 * n], .y = bufs[2 * n + 1],
							.n = k, .color = s->rows[r].color, .step = ramp, .mark_x = NAN};
			n++;
		}
		if (n) {
			char cap[256];
			if (ramp)
				snprintf(cap, sizeof(cap), "%s: the ramp, boxes ready over time (last iteration)", names[q]);
			else
				snprintf(cap, sizeof(cap), "%s: series recorded in the last iteration", names[q]);
			struct sb_svg_axes ax = {.x_label = "s", .y_label = unit, .h_ref = NAN, .y_from_zero = true};
			sb_html_fig_open(b, cap);
			sb_svg_lines(b, lines, n, NULL, 0, &ax);
			sb_html_fig_close(b);
		}
		for (size_t i = 0; bufs && i < 2 * n + 2; i++)
			free(bufs[i]);
		free(bufs);
		free(lines);
	}
}

void sb_html_scenario_charts(struct sb_buf *b, const struct sb_rview *v, const struct sb_rscn *s)
{
	(void)v;
	size_t head[MAX_BAR_CHARTS];
	size_t nh = sb_r_headlines(s, MAX_BAR_CHARTS, head);
	sb_buf_put(b, "<div class=\"charts\">");
	for (size_t i = 0; i < nh; i++)
		if (s->metrics[head[i]].have)
			bars_chart(b, s, &s->metrics[head[i]]);
	if (nh)
		dist_chart(b, s, &s->metrics[head[0]]);
	phases_chart(b, s);
	/* Numbered families, each once. */
	char seen[MAX_FAMILIES][256];
	char seen_kind[MAX_FAMILIES];
	size_t nseen = 0;
	for (size_t i = 0; i < s->nmetrics && nseen < MAX_FAMILIES; i++) {
		char p[256], k;
		if (!sb_r_family(s->metrics[i].name, p, sizeof(p), &k, NULL))
			continue;
		size_t j;
		for (j = 0; j < nseen && (strcmp(seen[j], p) || seen_kind[j] != k); j++)
			;
		if (j < nseen)
			continue;
		snprintf(seen[nseen], sizeof(seen[nseen]), "%s", p);
		seen_kind[nseen++] = k;
		family_charts(b, s, p, k);
	}
	series_charts(b, s);
	sb_buf_put(b, "</div>");
}
