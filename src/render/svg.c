#include "render/svg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Page-wide chart geometry (viewBox units; the page scales the charts to its width). */
#define W 440
#define LABEL_W 100 /* room for a driver name left of horizontal bars/boxes */
#define ROW_H 16

struct scale {
	double lo, hi; /* data range shown */
	double p0, p1; /* pixel range */
	bool log;
};

static double map(const struct scale *s, double v)
{
	double t;
	if (s->log) {
		double l = log10(s->lo), h = log10(s->hi);
		t = h > l ? (log10(v > 0 ? v : s->lo) - l) / (h - l) : 0.5;
	} else {
		t = s->hi > s->lo ? (v - s->lo) / (s->hi - s->lo) : 0.5;
	}
	if (t < -0.02)
		t = -0.02;
	if (t > 1.02)
		t = 1.02;
	return s->p0 + t * (s->p1 - s->p0);
}

/* 1, 2 or 5 times a power of ten, about range/want. */
static double nice_step(double range, int want)
{
	double raw = range / (want > 0 ? want : 1);
	double p = pow(10, floor(log10(raw)));
	double m = raw / p;
	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Widen a linear range to whole steps so the ticks land on its ends. */
static void nice_range(struct scale *s, int want)
{
	if (!(s->hi > s->lo)) {
		double pad = s->lo != 0 ? fabs(s->lo) * 0.1 : 1;
		s->lo -= pad;
		s->hi += pad;
	}
	double st = nice_step(s->hi - s->lo, want);
	s->lo = floor(s->lo / st + 1e-9) * st;
	s->hi = ceil(s->hi / st - 1e-9) * st;
}

static void put_xy(struct sb_buf *b, double v)
{
	/* One decimal is finer than a screen pixel at the sizes the page shows. */
	char t[32];
	snprintf(t, sizeof(t), "%.1f", v);
	size_t l = strlen(t);
	if (l > 2 && !strcmp(t + l - 2, ".0"))
		t[l - 2] = '\0';
	sb_buf_put(b, t);
}

static void text(struct sb_buf *b, double x, double y, const char *cls, const char *s)
{
	sb_buf_put(b, "<text x=\"");
	put_xy(b, x);
	sb_buf_put(b, "\" y=\"");
	put_xy(b, y);
	if (cls)
		sb_buf_printf(b, "\" class=\"%s", cls);
	sb_buf_put(b, "\">");
	sb_buf_put_html(b, s);
	sb_buf_put(b, "</text>");
}

static void num_text(struct sb_buf *b, double x, double y, const char *cls, double v)
{
	char t[48];
	sb_fmt_num(t, sizeof(t), v, 3);
	text(b, x, y, cls, t);
}

/* The colour class of an index: c0..c11 by driver, or a verdict colour for -1..-4. */
static const char *color_class(int c, char *buf, size_t len)
{
	static const char *const verdicts[] = {"vr", "vi", "vn", "vw"};
	if (c < 0)
		return verdicts[(-c - 1) % 4];
	snprintf(buf, len, "c%d", c % SB_SVG_COLORS);
	return buf;
}

/* A row label, cut to fit the room left of the plot (about 6 units a character). */
static void label(struct sb_buf *b, double x, double y, const char *s, double room)
{
	size_t max = (size_t)(room / 6.2);
	if (strlen(s) <= max) {
		text(b, x, y, "l", s);
		return;
	}
	char t[256];
	snprintf(t, sizeof(t), "%.*s…", (int)(max > 2 ? max - 1 : 1), s);
	text(b, x, y, "l", t);
}

/* Room for the longest label, within limits. */
static double label_room(size_t longest)
{
	double w = 6.2 * (double)longest + 8;
	return w < 48 ? 48 : w > 200 ? 200 : w;
}

static void open_svg(struct sb_buf *b, int h)
{
	sb_buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">", W, h, W,
		      h);
}

/* A horizontal value axis at pixel row y: ticks, labels and the unit at the right end. */
static void x_axis(struct sb_buf *b, const struct scale *s, double y, const char *unit)
{
	sb_buf_put(b, "<path class=\"ax\" d=\"M");
	put_xy(b, s->p0);
	sb_buf_putc(b, ' ');
	put_xy(b, y);
	sb_buf_put(b, "H");
	put_xy(b, s->p1);
	sb_buf_put(b, "\"/>");
	if (s->log) {
		for (double d = pow(10, floor(log10(s->lo))); d <= s->hi * 1.0001; d *= 10)
			for (int m = 1; m <= 5; m += (m == 1 ? 1 : 3)) {
				double v = d * m;
				/* Decades always; 2 and 5 too when the axis spans less than two decades. */
				if (v < s->lo * 0.9999 || v > s->hi * 1.0001 || (m > 1 && s->hi / s->lo > 100))
					continue;
				num_text(b, map(s, v), y + 12, "t", v);
			}
	} else {
		double st = nice_step(s->hi - s->lo, 4);
		for (double v = ceil(s->lo / st - 1e-9) * st; v <= s->hi + st * 1e-6; v += st)
			num_text(b, map(s, v), y + 12, "t", fabs(v) < st * 1e-9 ? 0 : v);
	}
	if (unit && *unit)
		text(b, s->p1, y + 24, "u", unit);
}

void sb_svg_hbars(struct sb_buf *b, const struct sb_svg_bar *bars, size_t n, const char *unit)
{
	size_t longest = 0;
	for (size_t i = 0; i < n; i++)
		longest = strlen(bars[i].label) > longest ? strlen(bars[i].label) : longest;
	double lw = label_room(longest);
	struct scale s = {.lo = 0, .hi = 0, .p0 = lw, .p1 = W - 40};
	for (size_t i = 0; i < n; i++) {
		const double v[] = {bars[i].value, bars[i].lo, bars[i].hi};
		for (int k = 0; k < 3; k++)
			if (isfinite(v[k])) {
				s.lo = fmin(s.lo, v[k]);
				s.hi = fmax(s.hi, v[k]);
			}
	}
	nice_range(&s, 4);
	int h = (int)(n * ROW_H) + 34;
	open_svg(b, h);
	double zero = map(&s, 0);
	for (size_t i = 0; i < n; i++) {
		const struct sb_svg_bar *r = &bars[i];
		double y = 4 + (double)i * ROW_H;
		label(b, lw - 4, y + 11, r->label, lw - 6);
		if (!isfinite(r->value)) {
			text(b, zero + 3, y + 11, "v", "n/a");
			continue;
		}
		double x = map(&s, r->value);
		char cb[16];
		sb_buf_printf(b, "<rect class=\"%s%s\" x=\"", color_class(r->color, cb, sizeof(cb)), r->best ? " best" : "");
		put_xy(b, fmin(x, zero));
		sb_buf_put(b, "\" y=\"");
		put_xy(b, y + 3);
		sb_buf_put(b, "\" width=\"");
		put_xy(b, fmax(fabs(x - zero), 0.5));
		sb_buf_put(b, "\" height=\"10\"/>");
		double end = x;
		if (isfinite(r->lo) && isfinite(r->hi)) {
			double a = map(&s, r->lo), c = map(&s, r->hi);
			sb_buf_put(b, "<path class=\"wk\" d=\"M");
			put_xy(b, a);
			sb_buf_putc(b, ' ');
			put_xy(b, y + 8);
			sb_buf_put(b, "H");
			put_xy(b, c);
			sb_buf_put(b, "M");
			put_xy(b, a);
			sb_buf_putc(b, ' ');
			put_xy(b, y + 4);
			sb_buf_put(b, "v8M");
			put_xy(b, c);
			sb_buf_putc(b, ' ');
			put_xy(b, y + 4);
			sb_buf_put(b, "v8\"/>");
			end = fmax(end, c);
		}
		char t[56];
		sb_fmt_num(t, sizeof(t), r->value, 3);
		if (r->best)
			strncat(t, " *", sizeof(t) - strlen(t) - 1);
		text(b, end + 3, y + 11, "v", t);
	}
	x_axis(b, &s, 6 + (double)n * ROW_H, unit);
	sb_buf_put(b, "</svg>");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Linear interpolation between closest ranks (the usual box-plot quartiles). */
static double quantile(const double *s, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t i = (size_t)pos;
	double f = pos - (double)i;
	return i + 1 < n ? s[i] + f * (s[i + 1] - s[i]) : s[n - 1];
}

/* A dot at (x, y) as a zero-length path segment drawn with a round cap: ~12 bytes a point. */
static void dot(struct sb_buf *b, double x, double y)
{
	sb_buf_put(b, "M");
	put_xy(b, x);
	sb_buf_putc(b, ' ');
	put_xy(b, y);
	sb_buf_put(b, "h0");
}

#define STRIP_MAX_POINTS 300

void sb_svg_boxes(struct sb_buf *b, const struct sb_svg_dist *d, size_t n, const char *unit)
{
	struct scale s = {.lo = INFINITY, .hi = -INFINITY, .p0 = LABEL_W, .p1 = W - 16};
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < d[i].n; k++)
			if (isfinite(d[i].values[k])) {
				s.lo = fmin(s.lo, d[i].values[k]);
				s.hi = fmax(s.hi, d[i].values[k]);
				total++;
			}
	if (!total) {
		s.lo = 0;
		s.hi = 1;
	}
	/* Sandboxes differ by orders of magnitude (0.5 ms to 200 ms): a log axis keeps each box visible. */
	s.log = s.lo > 0 && s.hi / s.lo > 20;
	if (s.log) {
		s.lo = pow(10, floor(log10(s.lo)));
		s.hi = pow(10, ceil(log10(s.hi)));
	} else {
		nice_range(&s, 4);
	}
	bool strip = total <= STRIP_MAX_POINTS;
	const int rh = 18;
	int h = (int)(n * rh) + 36;
	open_svg(b, h);
	for (size_t i = 0; i < n; i++) {
		double y = 4 + (double)i * rh, mid = y + rh / 2.0;
		label(b, LABEL_W - 4, mid + 4, d[i].label, LABEL_W - 6);
		double *v = malloc((d[i].n ? d[i].n : 1) * sizeof(double));
		size_t m = 0;
		for (size_t k = 0; v && k < d[i].n; k++)
			if (isfinite(d[i].values[k]))
				v[m++] = d[i].values[k];
		if (!m) {
			text(b, LABEL_W + 4, mid + 4, "v", "no samples");
			free(v);
			continue;
		}
		qsort(v, m, sizeof(double), cmp_double);
		double q1 = quantile(v, m, 0.25), med = quantile(v, m, 0.5), q3 = quantile(v, m, 0.75);
		double iqr = q3 - q1, wlo = v[0], whi = v[m - 1];
		for (size_t k = 0; k < m; k++)
			if (v[k] >= q1 - 1.5 * iqr) {
				wlo = v[k];
				break;
			}
		for (size_t k = m; k-- > 0;)
			if (v[k] <= q3 + 1.5 * iqr) {
				whi = v[k];
				break;
			}
		int c = d[i].color % SB_SVG_COLORS;
		double x1 = map(&s, q1), x3 = map(&s, q3);
		sb_buf_printf(b, "<rect class=\"bx c%d\" x=\"", c);
		put_xy(b, x1);
		sb_buf_put(b, "\" y=\"");
		put_xy(b, y + 3);
		sb_buf_put(b, "\" width=\"");
		put_xy(b, fmax(x3 - x1, 1));
		sb_buf_put(b, "\" height=\"12\"/><path class=\"wk\" d=\"M");
		put_xy(b, map(&s, wlo));
		sb_buf_putc(b, ' ');
		put_xy(b, mid);
		sb_buf_put(b, "H");
		put_xy(b, x1);
		sb_buf_put(b, "M");
		put_xy(b, x3);
		sb_buf_putc(b, ' ');
		put_xy(b, mid);
		sb_buf_put(b, "H");
		put_xy(b, map(&s, whi));
		sb_buf_put(b, "M");
		put_xy(b, map(&s, med));
		sb_buf_putc(b, ' ');
		put_xy(b, y + 2);
		sb_buf_put(b, "v14\"/>");
		/* Raw points over the box (few enough to stay light), else only the outliers. */
		bool any = false;
		for (size_t k = 0; k < m; k++) {
			bool outlier = v[k] < wlo || v[k] > whi;
			if (!strip && !outlier)
				continue;
			if (!any)
				sb_buf_printf(b, "<path class=\"pt c%d\" d=\"", c);
			any = true;
			/* A fixed pseudo-random vertical jitter so equal values do not hide each other. */
			double jit = strip ? (double)((k * 2654435761u) % 9) - 4 : 0;
			dot(b, map(&s, v[k]), mid + jit);
		}
		if (any)
			sb_buf_put(b, "\"/>");
		free(v);
	}
	x_axis(b, &s, 8 + (double)n * rh, s.log ? (unit && *unit ? unit : "") : unit);
	if (s.log)
		text(b, LABEL_W, 8 + (double)n * rh + 24, "n", "log scale");
	sb_buf_put(b, "</svg>");
}

void sb_svg_stacked(struct sb_buf *b, const char *const *row_labels, size_t nrows, const char *const *part_labels,
		    size_t nparts, const double *values, const char *unit)
{
	struct scale s = {.lo = 0, .hi = 0, .p0 = LABEL_W, .p1 = W - 40};
	for (size_t i = 0; i < nrows; i++) {
		double sum = 0;
		for (size_t j = 0; j < nparts; j++)
			if (isfinite(values[i * nparts + j]) && values[i * nparts + j] > 0)
				sum += values[i * nparts + j];
		s.hi = fmax(s.hi, sum);
	}
	nice_range(&s, 4);
	/* The legend first: one swatch and name per part, wrapped to the chart's width. */
	double lx = 4, ly = 12;
	int legend_rows = 1;
	for (size_t j = 0; j < nparts; j++) {
		double w = 18 + 6.5 * (double)strlen(part_labels[j]);
		if (lx + w > W && lx > 4) {
			lx = 4;
			legend_rows++;
		}
		lx += w;
	}
	int top = 6 + legend_rows * 14;
	int h = top + (int)(nrows * ROW_H) + 30;
	open_svg(b, h);
	lx = 4;
	ly = 12;
	for (size_t j = 0; j < nparts; j++) {
		double w = 18 + 6.5 * (double)strlen(part_labels[j]);
		if (lx + w > W && lx > 4) {
			lx = 4;
			ly += 14;
		}
		sb_buf_printf(b, "<rect class=\"c%zu\" x=\"", j % SB_SVG_COLORS);
		put_xy(b, lx);
		sb_buf_put(b, "\" y=\"");
		put_xy(b, ly - 8);
		sb_buf_put(b, "\" width=\"9\" height=\"9\"/>");
		text(b, lx + 12, ly, NULL, part_labels[j]);
		lx += w;
	}
	for (size_t i = 0; i < nrows; i++) {
		double y = top + (double)i * ROW_H, x = s.p0, sum = 0;
		label(b, LABEL_W - 4, y + 11, row_labels[i], LABEL_W - 6);
		for (size_t j = 0; j < nparts; j++) {
			double v = values[i * nparts + j];
			if (!isfinite(v) || v <= 0)
				continue;
			sum += v;
			double x2 = map(&s, sum);
			sb_buf_printf(b, "<rect class=\"c%zu\" x=\"", j % SB_SVG_COLORS);
			put_xy(b, x);
			sb_buf_put(b, "\" y=\"");
			put_xy(b, y + 3);
			sb_buf_put(b, "\" width=\"");
			put_xy(b, fmax(x2 - x, 0.5));
			sb_buf_put(b, "\" height=\"10\"><title>");
			sb_buf_put_html(b, part_labels[j]);
			sb_buf_put(b, " ");
			sb_buf_num(b, v, 3);
			sb_buf_put(b, "</title></rect>");
			x = x2;
		}
		num_text(b, x + 3, y + 11, "v", sum);
	}
	x_axis(b, &s, top + 2 + (double)nrows * ROW_H, unit);
	sb_buf_put(b, "</svg>");
}

static double interp_y(const struct sb_svg_line *l, double x)
{
	for (size_t k = 0; k < l->n; k++)
		if (l->x[k] == x)
			return l->y[k];
	return NAN;
}

void sb_svg_lines(struct sb_buf *b, const struct sb_svg_line *lines, size_t n, const struct sb_svg_vmark *marks,
		  size_t nmarks, const struct sb_svg_axes *ax)
{
	const double left = 56, right = W - 12, top = 10, plot_h = 170;
	struct scale sx = {.lo = INFINITY, .hi = -INFINITY, .p0 = left, .p1 = right, .log = ax->log_x};
	struct scale sy = {.lo = INFINITY, .hi = -INFINITY, .p0 = top + plot_h, .p1 = top, .log = ax->log_y};
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < lines[i].n; k++) {
			double x = lines[i].x[k], y = lines[i].y[k];
			if (!isfinite(x) || !isfinite(y) || (sx.log && x <= 0) || (sy.log && y <= 0))
				continue;
			sx.lo = fmin(sx.lo, x);
			sx.hi = fmax(sx.hi, x);
			sy.lo = fmin(sy.lo, y);
			sy.hi = fmax(sy.hi, y);
		}
	if (!isfinite(sx.lo)) {
		sx.lo = 0;
		sx.hi = 1;
		sy.lo = 0;
		sy.hi = 1;
	}
	if (isfinite(ax->h_ref)) {
		sy.lo = fmin(sy.lo, ax->h_ref);
		sy.hi = fmax(sy.hi, ax->h_ref);
	}
	if (ax->y_from_zero && !sy.log)
		sy.lo = fmin(sy.lo, 0);
	if (sy.log)
		sy.lo = pow(10, floor(log10(sy.lo))), sy.hi = pow(10, ceil(log10(sy.hi)));
	else
		nice_range(&sy, 4);
	if (ax->n_x_ticks) {
		sx.lo = -0.5;
		sx.hi = (double)ax->n_x_ticks - 0.5;
	} else if (sx.log) {
		if (!(sx.hi > sx.lo))
			sx.hi = sx.lo * 2;
	} else if (!(sx.hi > sx.lo)) {
		sx.lo -= 1;
		sx.hi += 1;
	}
	/* Legend below the axis, wrapped. */
	int legend_rows = n ? 1 : 0;
	double lx = 4;
	for (size_t i = 0; i < n; i++) {
		double w = 22 + 6.5 * (double)strlen(lines[i].label);
		if (lx + w > W && lx > 4)
			lx = 4, legend_rows++;
		lx += w;
	}
	double axis_y = top + plot_h;
	int h = (int)(axis_y + 32 + legend_rows * 14);
	open_svg(b, h);
	/* y axis: ticks as faint grid lines with labels. */
	sb_buf_put(b, "<path class=\"gr\" d=\"");
	double st = nice_step(sy.hi - sy.lo, 4);
	if (sy.log) {
		for (double v = sy.lo; v <= sy.hi * 1.0001; v *= 10) {
			sb_buf_put(b, "M");
			put_xy(b, left);
			sb_buf_putc(b, ' ');
			put_xy(b, map(&sy, v));
			sb_buf_put(b, "H");
			put_xy(b, right);
		}
	} else {
		for (double v = sy.lo; v <= sy.hi + st * 1e-6; v += st) {
			sb_buf_put(b, "M");
			put_xy(b, left);
			sb_buf_putc(b, ' ');
			put_xy(b, map(&sy, v));
			sb_buf_put(b, "H");
			put_xy(b, right);
		}
	}
	sb_buf_put(b, "\"/>");
	if (sy.log) {
		for (double v = sy.lo; v <= sy.hi * 1.0001; v *= 10)
			num_text(b, left - 4, map(&sy, v) + 4, "l", v);
	} else {
		for (double v = sy.lo; v <= sy.hi + st * 1e-6; v += st)
			num_text(b, left - 4, map(&sy, v) + 4, "l", fabs(v) < st * 1e-9 ? 0 : v);
	}
	if (ax->y_label)
		text(b, 2, top - 1, "n", ax->y_label);
	/* x axis */
	sb_buf_put(b, "<path class=\"ax\" d=\"M");
	put_xy(b, left);
	sb_buf_putc(b, ' ');
	put_xy(b, axis_y);
	sb_buf_put(b, "H");
	put_xy(b, right);
	sb_buf_put(b, "\"/>");
	if (ax->n_x_ticks) {
		/* Category labels, thinned so they never overlap. */
		size_t every = 1 + ax->n_x_ticks / 12;
		for (size_t k = 0; k < ax->n_x_ticks; k += every)
			text(b, map(&sx, (double)k), axis_y + 12, "t", ax->x_ticks[k]);
	} else if (sx.log) {
		/* The x values of the first line (concurrency levels), else powers of two. */
		size_t shown = 0;
		for (size_t k = 0; n && k < lines[0].n && shown < 14; k++, shown++)
			num_text(b, map(&sx, lines[0].x[k]), axis_y + 12, "t", lines[0].x[k]);
	} else {
		double xs = nice_step(sx.hi - sx.lo, 5);
		for (double v = ceil(sx.lo / xs - 1e-9) * xs; v <= sx.hi + xs * 1e-6; v += xs)
			num_text(b, map(&sx, v), axis_y + 12, "t", fabs(v) < xs * 1e-9 ? 0 : v);
	}
	if (ax->x_label)
		text(b, right, axis_y + 24, "u", ax->x_label);
	if (isfinite(ax->h_ref)) {
		double y = map(&sy, ax->h_ref);
		sb_buf_put(b, "<path class=\"rf\" d=\"M");
		put_xy(b, left);
		sb_buf_putc(b, ' ');
		put_xy(b, y);
		sb_buf_put(b, "H");
		put_xy(b, right);
		sb_buf_put(b, "\"/>");
		if (ax->h_ref_label)
			text(b, right, y - 3, "u", ax->h_ref_label);
	}
	for (size_t i = 0; i < nmarks; i++) {
		double x = map(&sx, marks[i].x);
		sb_buf_printf(b, "<path class=\"vm c%d\" d=\"M", marks[i].color % SB_SVG_COLORS);
		put_xy(b, x);
		sb_buf_putc(b, ' ');
		put_xy(b, top);
		sb_buf_put(b, "V");
		put_xy(b, axis_y);
		sb_buf_put(b, "\"/>");
		if (marks[i].label)
			text(b, x + 2, top + 9 + (double)(i % 3) * 10, "m", marks[i].label);
	}
	for (size_t i = 0; i < n; i++) {
		const struct sb_svg_line *l = &lines[i];
		int c = l->color % SB_SVG_COLORS;
		bool first = true;
		double px = 0, py = 0;
		sb_buf_printf(b, "<path class=\"ln c%d\" d=\"", c);
		for (size_t k = 0; k < l->n; k++) {
			if (!isfinite(l->x[k]) || !isfinite(l->y[k]) || (sx.log && l->x[k] <= 0) || (sy.log && l->y[k] <= 0))
				continue;
			double x = map(&sx, l->x[k]), y = map(&sy, l->y[k]);
			if (first) {
				sb_buf_put(b, "M");
				put_xy(b, x);
				sb_buf_putc(b, ' ');
				put_xy(b, y);
			} else if (l->step) {
				sb_buf_put(b, "H");
				put_xy(b, x);
				sb_buf_put(b, "V");
				put_xy(b, y);
			} else {
				sb_buf_put(b, "L");
				put_xy(b, x);
				sb_buf_putc(b, ' ');
				put_xy(b, y);
			}
			first = false;
			px = x;
			py = y;
		}
		sb_buf_put(b, "\"/>");
		(void)px;
		(void)py;
		/* Points only where they are few enough to read. */
		if (l->n <= 40) {
			sb_buf_printf(b, "<path class=\"pt c%d\" d=\"", c);
			for (size_t k = 0; k < l->n; k++)
				if (isfinite(l->x[k]) && isfinite(l->y[k]) && !(sx.log && l->x[k] <= 0) && !(sy.log && l->y[k] <= 0))
					dot(b, map(&sx, l->x[k]), map(&sy, l->y[k]));
			sb_buf_put(b, "\"/>");
		}
		double my = isfinite(l->mark_x) ? interp_y(l, l->mark_x) : NAN;
		if (isfinite(my) && !(sy.log && my <= 0)) {
			sb_buf_printf(b, "<circle class=\"rg c%d\" cx=\"", c);
			put_xy(b, map(&sx, l->mark_x));
			sb_buf_put(b, "\" cy=\"");
			put_xy(b, map(&sy, my));
			sb_buf_put(b, "\" r=\"5\"/>");
		}
	}
	lx = 4;
	double ly = axis_y + 40;
	for (size_t i = 0; i < n; i++) {
		double w = 22 + 6.5 * (double)strlen(lines[i].label);
		if (lx + w > W && lx > 4)
			lx = 4, ly += 14;
		sb_buf_printf(b, "<path class=\"ln c%d\" d=\"M", lines[i].color % SB_SVG_COLORS);
		put_xy(b, lx);
		sb_buf_putc(b, ' ');
		put_xy(b, ly - 4);
		sb_buf_put(b, "h14\"/>");
		text(b, lx + 17, ly, NULL, lines[i].label);
		lx += w;
	}
	sb_buf_put(b, "</svg>");
}
