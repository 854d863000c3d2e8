/* SVG charts drawn by sandbench itself, compact enough for a page of 600 reports: integer-ish
 * coordinates, colours by CSS class (c0..c11 set --k; the page's stylesheet maps them for light and
 * dark), text in the page's colour. Each function writes one <svg class="chart"> element. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "render/buf.h"

#define SB_SVG_COLORS 12

/* A horizontal bar: value, with a whisker lo..hi when both are finite. */
struct sb_svg_bar {
	const char *label;
	double value, lo, hi;
	int color;
	bool best; /* drawn with an outline and a star */
};
/* Bars from zero (or from the most negative value); a text label at each bar's end. */
void sb_svg_hbars(struct sb_buf *b, const struct sb_svg_bar *bars, size_t n, const char *unit);

/* One distribution: raw values (need not be sorted). */
struct sb_svg_dist {
	const char *label;
	const double *values;
	size_t n;
	int color;
};
/* Box plots (quartiles, whiskers to the furthest point within 1.5 IQR, outliers as dots), the raw
 * points strewn over the boxes when there are few enough; a log axis when the spread is wide. */
void sb_svg_boxes(struct sb_buf *b, const struct sb_svg_dist *d, size_t n, const char *unit);

/* Stacked horizontal bars: rows[i * nparts + j] is row i's part j (NaN or <= 0: absent). */
void sb_svg_stacked(struct sb_buf *b, const char *const *row_labels, size_t nrows, const char *const *part_labels,
		    size_t nparts, const double *values, const char *unit);

/* A line of a line chart. */
struct sb_svg_line {
	const char *label;
	const double *x, *y;
	size_t n;
	int color;
	bool step; /* a staircase (a ramp of boxes becoming ready) instead of straight segments */
	double mark_x; /* a ringed point on this line at x (finite: drawn) */
};
/* A vertical marker across the plot (a change point), with a short label. */
struct sb_svg_vmark {
	double x;
	const char *label;
	int color;
};
struct sb_svg_axes {
	const char *x_label, *y_label;
	bool log_x, log_y;
	double h_ref;           /* a dashed horizontal reference line (finite: drawn) */
	const char *h_ref_label;
	bool y_from_zero;
	const char *const *x_ticks; /* n_x_ticks labels at x = 0..n-1 instead of numeric ticks */
	size_t n_x_ticks;
};
void sb_svg_lines(struct sb_buf *b, const struct sb_svg_line *lines, size_t n, const struct sb_svg_vmark *marks,
		  size_t nmarks, const struct sb_svg_axes *ax);
