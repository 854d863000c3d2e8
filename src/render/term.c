/* The terminal layout of a matrix: one block per scenario, drivers as rows, as many of the
 * scenario's headline metrics as fit the width as columns. The full detail stays in the JSON and
 * the HTML page. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/model.h"
#include "render/render.h"

#define MIN_COL 10
#define MAX_COLS 32

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* Compact numbers, as the other tables print them (3 decimals below 10, none from 1000), with
 * k/M/G past a million so a column stays narrow. */
static void term_num(char *out, size_t len, double v)
{
	double a = fabs(v);
	if (!isfinite(v)) {
		snprintf(out, len, "-");
	} else if (a >= 1e6) {
		const char *suf = a >= 1e12 ? "T" : a >= 1e9 ? "G" : "M";
		double div = a >= 1e12 ? 1e12 : a >= 1e9 ? 1e9 : 1e6;
		snprintf(out, len, "%.*f%s", a / div >= 100 ? 0 : a / div >= 10 ? 1 : 2, v / div, suf);
	} else if (v == floor(v)) {
		snprintf(out, len, "%.0f", v); /* counts: "8", not "8.000" */
	} else {
		snprintf(out, len, a >= 1000 ? "%.0f" : a >= 100 ? "%.1f" : a >= 10 ? "%.2f" : "%.3f", v);
	}
}

/* Append text wrapped at `width`: the first line after `first` (already counted as `used`), the
 * following ones indented by `indent` spaces. Breaks at spaces; a word longer than a line is cut. */
static void wrap(struct sb_buf *b, size_t used, size_t indent, const char *text, size_t width)
{
	size_t col = used;
	bool line_empty = true; /* nothing of `text` on the current line yet */
	const char *p = text;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t wl = strcspn(p, " ");
		if (!wl)
			break;
		if (!line_empty && col + 1 + wl > width) {
			sb_buf_putc(b, '\n');
			for (size_t i = 0; i < indent; i++)
				sb_buf_putc(b, ' ');
			col = indent;
			line_empty = true;
		}
		if (!line_empty) {
			sb_buf_putc(b, ' ');
			col++;
		}
		size_t room = width > col ? width - col : 1;
		size_t take = wl < room ? wl : room;
		sb_buf_putn(b, p, take);
		col += take;
		p += take;
		line_empty = false;
		if (take < wl) { /* the rest of an over-long word goes on the next line */
			sb_buf_putc(b, '\n');
			for (size_t i = 0; i < indent; i++)
				sb_buf_putc(b, ' ');
			col = indent;
			line_empty = true;
		}
	}
	sb_buf_putc(b, '\n');
}

struct col {
	const json_t *cell;
	size_t width;
	char head[2][64];
	bool cut; /* the name did not fit in two header lines */
};

/* Split a metric name over two header lines of at most w characters, at underscores if possible. */
static void header_lines(struct col *c, const char *name)
{
	size_t w = c->width, len = strlen(name);
	c->cut = false;
	if (len <= w) {
		c->head[0][0] = '\0';
		snprintf(c->head[1], sizeof(c->head[1]), "%s", name);
		return;
	}
	size_t brk = w;
	for (size_t i = w; i > w / 2; i--)
		if (name[i - 1] == '_') {
			brk = i;
			break;
		}
	snprintf(c->head[0], sizeof(c->head[0]), "%.*s", (int)brk, name);
	const char *rest = name + brk;
	if (strlen(rest) <= w) {
		snprintf(c->head[1], sizeof(c->head[1]), "%s", rest);
	} else {
		snprintf(c->head[1], sizeof(c->head[1]), "%.*s~", (int)(w - 1), rest);
		c->cut = true;
	}
}

/* Does a name fit in two header lines of width w? */
static bool header_fits(const char *name, size_t w)
{
	struct col c = {.width = w};
	header_lines(&c, name);
	return !c.cut;
}

static void cell_text(const json_t *cell, const char *drv, char *out, size_t len)
{
	const json_t *v = json_object_get(json_object_get(cell, "values"), drv);
	if (!v) {
		const char *st = str(json_object_get(cell, "status"), drv);
		snprintf(out, len, "%s", *st ? st : "-");
		return;
	}
	char p50[32], p99[32];
	term_num(p50, sizeof(p50), json_number_value(json_object_get(v, "p50")));
	term_num(p99, sizeof(p99), json_number_value(json_object_get(v, "p99")));
	bool best = !strcmp(str(cell, "best"), drv);
	if (json_integer_value(json_object_get(v, "n")) > 1)
		snprintf(out, len, "%s%s (%s)", best ? "*" : "", p50, p99);
	else
		snprintf(out, len, "%s%s", best ? "*" : "", p50);
}

/* The entry of the summary's "reports" list for (scenario, driver). */
static const json_t *report_entry(const json_t *summary, const char *scn, const char *drv)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(summary, "reports"), i, e)
		if (!strcmp(str(e, "scenario"), scn) && !strcmp(str(e, "driver"), drv))
			return e;
	return NULL;
}

static void scenario_block(struct sb_buf *b, const json_t *summary, const char *scn, size_t width)
{
	const json_t *drivers = json_object_get(summary, "drivers");
	size_t i;
	json_t *x;
	size_t label_w = 8;
	json_array_foreach(drivers, i, x)
		if (strlen(str(x, "name")) > label_w)
			label_w = strlen(str(x, "name"));
	if (label_w > 16)
		label_w = 16;
	/* The scenario's cells, in declared order, with the width each needs. */
	struct col cols[MAX_COLS * 4];
	size_t nc = 0;
	json_array_foreach(json_object_get(summary, "cells"), i, x) {
		if (strcmp(str(x, "scenario"), scn) || nc >= sizeof(cols) / sizeof(cols[0]))
			continue;
		struct col *c = &cols[nc++];
		memset(c, 0, sizeof(*c));
		c->cell = x;
		c->width = MIN_COL;
		size_t k;
		json_t *d;
		json_array_foreach(drivers, k, d) {
			char t[96];
			cell_text(x, str(d, "name"), t, sizeof(t));
			if (strlen(t) > c->width)
				c->width = strlen(t);
		}
		size_t unit = strlen(str(x, "unit")) + 2;
		if (unit > c->width)
			c->width = unit;
	}
	/* Pick columns by how many drivers have a value (ties: declared first) while they fit. */
	bool take[MAX_COLS * 4] = {0};
	size_t used = 2 + label_w, picked = 0;
	for (;;) {
		size_t pick = nc;
		for (size_t c = 0; c < nc; c++) {
			if (take[c])
				continue;
			size_t have = json_object_size(json_object_get(cols[c].cell, "values"));
			if (pick == nc || have > json_object_size(json_object_get(cols[pick].cell, "values")))
				pick = c;
		}
		if (pick == nc || used + 2 + cols[pick].width > width || picked >= MAX_COLS)
			break;
		take[pick] = true;
		used += 2 + cols[pick].width;
		picked++;
	}
	/* Spare room goes to columns whose names were cut, so fewer need a footnote. */
	for (size_t c = 0; c < nc; c++) {
		const char *name = str(cols[c].cell, "metric");
		while (take[c] && used < width && !header_fits(name, cols[c].width) && cols[c].width < 30) {
			cols[c].width++;
			used++;
		}
	}
	sb_buf_printf(b, "%.*s\n", (int)width, scn);
	if (picked) {
		for (size_t c = 0; c < nc; c++)
			if (take[c])
				header_lines(&cols[c], str(cols[c].cell, "metric"));
		for (int line = 0; line < 3; line++) {
			bool any = line == 2;
			for (size_t c = 0; c < nc && !any; c++)
				any = take[c] && cols[c].head[line][0];
			if (!any)
				continue;
			sb_buf_printf(b, "%-*s", (int)(2 + label_w), "");
			for (size_t c = 0; c < nc; c++) {
				if (!take[c])
					continue;
				char t[80];
				if (line < 2)
					snprintf(t, sizeof(t), "%s", cols[c].head[line]);
				else
					snprintf(t, sizeof(t), "[%s]", str(cols[c].cell, "unit"));
				sb_buf_printf(b, "  %*s", (int)cols[c].width, t);
			}
			/* No trailing blanks: trim what the last column padded. */
			while (b->len && b->data[b->len - 1] == ' ')
				b->data[--b->len] = '\0';
			sb_buf_putc(b, '\n');
		}
	}
	json_array_foreach(drivers, i, x) {
		const char *dn = str(x, "name");
		bool any = false;
		for (size_t c = 0; c < nc; c++)
			any |= json_object_get(json_object_get(cols[c].cell, "values"), dn) != NULL;
		sb_buf_printf(b, "  %-*.*s", (int)label_w, (int)label_w, dn);
		if (!any) {
			/* Not measured: the status, and the reason cut to the line (all of it is listed below). */
			const json_t *e = report_entry(summary, scn, dn);
			const char *st = e ? str(e, "status") : "not run";
			char t[512];
			if (e && !json_is_true(json_object_get(x, "usable")))
				snprintf(t, sizeof(t), "  %s: not usable here (why: below)", st);
			else
				snprintf(t, sizeof(t), "  %s%s%s", st, e && *str(e, "reason") ? ": " : "", e ? str(e, "reason") : "");
			size_t room = width - 2 - label_w;
			if (strlen(t) > room)
				snprintf(t + room - 3, 4, "...");
			sb_buf_printf(b, "%s\n", t);
			continue;
		}
		for (size_t c = 0; c < nc; c++) {
			if (!take[c])
				continue;
			char t[96];
			cell_text(cols[c].cell, dn, t, sizeof(t));
			sb_buf_printf(b, "  %*s", (int)cols[c].width, t);
		}
		sb_buf_putc(b, '\n');
	}
	/* What the columns left out, and the full names of cut headers. */
	struct sb_buf more;
	sb_buf_init(&more);
	size_t nmore = 0;
	for (size_t c = 0; c < nc; c++)
		if (!take[c]) {
			sb_buf_printf(&more, "%s%s", nmore ? ", " : "", str(cols[c].cell, "metric"));
			nmore++;
		}
	if (nmore) {
		char lead[64];
		snprintf(lead, sizeof(lead), "  + %zu more: ", nmore);
		sb_buf_put(b, lead);
		/* Cells without a metric name append nothing: the buffer may still be unallocated. */
		wrap(b, strlen(lead), 4, more.data ? more.data : "", width);
	}
	sb_buf_free(&more);
	for (size_t c = 0; c < nc; c++)
		if (take[c] && cols[c].cut) {
			sb_buf_printf(b, "  %s: ", cols[c].head[1]);
			wrap(b, 4 + strlen(cols[c].head[1]), 4, str(cols[c].cell, "metric"), width);
		}
}

void sb_render_matrix_term(const json_t *summary, size_t width, struct sb_buf *b)
{
	if (width < 60)
		width = 60;
	/* Scenarios in the order the summary lists their reports (a scenario every driver skipped has no
	 * cells but still gets its block). */
	json_t *seen = json_object();
	size_t i;
	json_t *e;
	bool first = false;
	sb_buf_put(b, "cells: p50 (p99); * marks the best of a column by the metric's direction\n");
	json_array_foreach(json_object_get(summary, "reports"), i, e) {
		const char *scn = str(e, "scenario");
		if (json_object_get(seen, scn))
			continue;
		json_object_set_new(seen, scn, json_true());
		if (!first)
			sb_buf_putc(b, '\n');
		first = false;
		scenario_block(b, summary, scn, width);
	}
	json_array_foreach(json_object_get(summary, "cells"), i, e) {
		const char *scn = str(e, "scenario");
		if (json_object_get(seen, scn))
			continue;
		json_object_set_new(seen, scn, json_true());
		sb_buf_putc(b, '\n');
		scenario_block(b, summary, scn, width);
	}
	json_decref(seen);
	/* Not measured, grouped: one line (wrapped) per driver, status and reason. */
	json_t *groups = json_object();
	json_t *order = json_array();
	json_array_foreach(json_object_get(summary, "reports"), i, e) {
		if (!strcmp(str(e, "status"), "ok"))
			continue;
		char key[1200];
		snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", str(e, "driver"), str(e, "status"), str(e, "reason"));
		json_t *g = json_object_get(groups, key);
		if (!g) {
			json_object_set_new(groups, key, g = json_array());
			json_array_append_new(order, json_string(key));
		}
		json_array_append_new(g, json_string(str(e, "scenario")));
	}
	if (json_array_size(order))
		sb_buf_put(b, "\nnot measured:\n");
	json_t *k;
	json_array_foreach(order, i, k) {
		const char *key = json_string_value(k);
		json_t *g = json_object_get(groups, key);
		char drv[256], st[32];
		const char *p1 = strchr(key, '\x1f'), *p2 = strchr(p1 + 1, '\x1f');
		snprintf(drv, sizeof(drv), "%.*s", (int)(p1 - key), key);
		snprintf(st, sizeof(st), "%.*s", (int)(p2 - p1 - 1), p1 + 1);
		struct sb_buf line;
		sb_buf_init(&line);
		if (json_array_size(g) == 1)
			sb_buf_printf(&line, "%s on %s: %s: %s", drv, json_string_value(json_array_get(g, 0)), st, p2 + 1);
		else
			sb_buf_printf(&line, "%s (%zu scenarios): %s: %s", drv, json_array_size(g), st, p2 + 1);
		sb_buf_put(b, "  ");
		wrap(b, 2, 6, line.data ? line.data : "", width);
		sb_buf_free(&line);
	}
	json_decref(groups);
	json_decref(order);
}
