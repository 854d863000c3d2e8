#include "compare/render.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "report/table.h"

static double getd(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *gets(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void pct(double frac, char *buf, size_t len)
{
	if (!isfinite(frac))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%+.1f%%", frac * 100);
}

/* "1.234 ms ± 3%": the statistic with its CI half-width relative to it (the wider side, so an
 * asymmetric interval is never understated). */
static void value_ci(const json_t *side, const char *unit, char *buf, size_t len)
{
	double v = getd(side, "value");
	sb_format_value(v, unit, buf, len);
	json_t *ci = json_object_get(side, "ci");
	if (!json_is_array(ci) || !isfinite(v) || v == 0)
		return;
	double lo = json_number_value(json_array_get(ci, 0)), hi = json_number_value(json_array_get(ci, 1));
	double w = fmax(fabs(v - lo), fabs(hi - v)) / fabs(v) * 100;
	size_t l = strlen(buf);
	snprintf(buf + l, len - l, " ± %.*f%%", w < 10 ? 1 : 0, w);
}

static void p_str(double p, char *buf, size_t len)
{
	if (!isfinite(p))
		snprintf(buf, len, "-");
	else if (p < 0.001)
		snprintf(buf, len, "<0.001");
	else
		snprintf(buf, len, "%.3f", p);
}

static void n_str(const json_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%lld+%lld",
		 (long long)json_integer_value(json_object_get(json_object_get(m, "baseline"), "n")),
		 (long long)json_integer_value(json_object_get(json_object_get(m, "current"), "n")));
}

static void verdict_str(const json_t *m, char *buf, size_t len)
{
	const char *v = gets(m, "verdict");
	json_t *need = json_object_get(m, "needed");
	if (json_is_true(json_object_get(m, "ignored")))
		snprintf(buf, len, "ignored");
	else if (json_is_integer(need))
		snprintf(buf, len, "%s (need %lld/side)", v, (long long)json_integer_value(need));
	else if (strcmp(v, "n/a") == 0)
		snprintf(buf, len, "n/a (%s)", gets(m, "reason"));
	else if (strncmp(gets(m, "reason"), "within the drift", 16) == 0) {
		const json_t *d = json_object_get(m, "drift");
		if (!json_is_object(d))
			d = json_object_get(m, "sessions");
		snprintf(buf, len, "~ (within drift ±%.0f%%)", getd(d, "band") * 100);
	}
	else
		snprintf(buf, len, "%s", v);
}

/* "host reference 0.452 -> 0.611 ms (+35.2%), time metrics normalised", or why not. */
static void host_ref_str(const json_t *cmp, char *buf, size_t len)
{
	const json_t *h = json_object_get(cmp, "host_reference");
	double b = getd(h, "baseline_ms"), c = getd(h, "current_ms");
	if (!json_is_object(h)) {
		snprintf(buf, len, "host reference: none (time metrics compared as measured)");
		return;
	}
	if (!isfinite(b) || !isfinite(c)) {
		snprintf(buf, len, "host reference: %s", gets(h, "how"));
		return;
	}
	snprintf(buf, len, "host reference %.3f -> %.3f ms (%+.1f%%), %s", b, c, (c / b - 1) * 100,
		 json_is_true(json_object_get(h, "normalized")) ? "time metrics normalised to the baseline's host"
								: gets(h, "how"));
}

static void metric_name(const json_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%s (%s)", gets(m, "metric"), gets(m, "statistic"));
}

static void summary_line(FILE *f, const json_t *r, const char *bold)
{
	const json_t *s = json_object_get(r, "summary"), *c = json_object_get(r, "config");
	fprintf(f, "%s%lld regression, %lld warn, %lld improvement, %lld ~, %lld n/a%s", bold,
		(long long)json_integer_value(json_object_get(s, "regression")),
		(long long)json_integer_value(json_object_get(s, "warn")),
		(long long)json_integer_value(json_object_get(s, "improvement")),
		(long long)json_integer_value(json_object_get(s, "same")),
		(long long)json_integer_value(json_object_get(s, "na")), bold);
	if (json_integer_value(json_object_get(s, "ignored")))
		fprintf(f, ", %lld ignored", (long long)json_integer_value(json_object_get(s, "ignored")));
	fprintf(f, " (default %s, threshold %g%%, alpha %g over %lld metric%s%s%s%s; exit %lld)\n",
		gets(c, "statistic"), getd(c, "threshold") * 100, getd(c, "alpha"),
		(long long)json_integer_value(json_object_get(c, "metrics_tested")),
		json_integer_value(json_object_get(c, "metrics_tested")) == 1 ? "" : "s",
		strcmp(gets(c, "correction"), "none") == 0 ? " uncorrected" : "", json_is_string(json_object_get(c, "budgets")) ? ", budgets " : "",
		json_is_string(json_object_get(c, "budgets")) ? gets(c, "budgets") : "",
		(long long)json_integer_value(json_object_get(r, "exit_code")));
}

void sb_render_compare_table(FILE *f, const json_t *r)
{
	size_t i, j;
	json_t *cmp, *m;
	int w = 16;
	json_array_foreach(json_object_get(r, "comparisons"), i, cmp)
		json_array_foreach(json_object_get(cmp, "metrics"), j, m) {
			char name[200];
			metric_name(m, name, sizeof(name));
			if ((int)strlen(name) > w)
				w = (int)strlen(name);
		}
	json_array_foreach(json_object_get(r, "comparisons"), i, cmp) {
		const char *vb = gets(cmp, "baseline_driver_version"), *vc = gets(cmp, "current_driver_version");
		fprintf(f, "%s%s on %s", i ? "\n" : "", gets(cmp, "scenario"), gets(cmp, "driver"));
		if (strcmp(vb, vc) != 0)
			fprintf(f, " (%s -> %s)", vb, vc);
		fprintf(f, "\n");
		if (json_array_size(json_object_get(cmp, "metrics")) == 0) {
			fprintf(f, "  (nothing compared: baseline %s, current %s)\n", gets(cmp, "baseline_status"),
				gets(cmp, "current_status"));
			continue;
		}
		char host[300];
		host_ref_str(cmp, host, sizeof(host));
		fprintf(f, "  %s\n", host);
		fprintf(f, "  %-*s  %22s  %22s  %9s  %7s  %9s  %s\n", w, "metric", "baseline", "current", "delta",
			"p", "n", "verdict");
		json_array_foreach(json_object_get(cmp, "metrics"), j, m) {
			char name[200], old[64], new[64], delta[24], p[16], n[32], v[200];
			const char *unit = gets(m, "unit");
			metric_name(m, name, sizeof(name));
			value_ci(json_object_get(m, "baseline"), unit, old, sizeof(old));
			value_ci(json_object_get(m, "current"), unit, new, sizeof(new));
			pct(getd(m, "delta"), delta, sizeof(delta));
			p_str(getd(m, "p"), p, sizeof(p));
			n_str(m, n, sizeof(n));
			verdict_str(m, v, sizeof(v));
			/* "±" is two bytes but one column: pad by display width, not bytes. */
			fprintf(f, "  %-*s  %*s  %*s  %9s  %7s  %9s  %s\n", w, name,
				22 + (strstr(old, "±") ? 1 : 0), old, 22 + (strstr(new, "±") ? 1 : 0), new, delta, p,
				n, v);
		}
		json_t *miss = json_object_get(cmp, "missing");
		size_t k;
		json_t *x;
		json_array_foreach(json_object_get(miss, "current"), k, x)
			fprintf(f, "  %-*s  missing in current\n", w, json_string_value(x));
		json_array_foreach(json_object_get(miss, "baseline"), k, x)
			fprintf(f, "  %-*s  missing in baseline\n", w, json_string_value(x));
	}
	fprintf(f, "\n");
	summary_line(f, r, "");
}

/* Markdown table cells must not contain a bare '|'. */
static void md_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
}

void sb_render_compare_markdown(FILE *f, const json_t *r)
{
	fprintf(f, "### sandbench compare\n\n");
	summary_line(f, r, "**");
	fprintf(f, "\nbaseline `%s`, current `%s`\n\n", gets(json_object_get(r, "baseline"), "path"),
		gets(json_object_get(r, "current"), "path"));
	fprintf(f, "| scenario / driver | metric | baseline | current | delta | p | n | verdict |\n");
	fprintf(f, "|---|---|--:|--:|--:|--:|--:|---|\n");
	size_t i, j;
	json_t *cmp, *m;
	json_array_foreach(json_object_get(r, "comparisons"), i, cmp) {
		json_array_foreach(json_object_get(cmp, "metrics"), j, m) {
			char name[200], old[64], new[64], delta[24], p[16], n[32], v[200], key[300];
			const char *unit = gets(m, "unit");
			snprintf(key, sizeof(key), "%s / %s", gets(cmp, "scenario"), gets(cmp, "driver"));
			metric_name(m, name, sizeof(name));
			value_ci(json_object_get(m, "baseline"), unit, old, sizeof(old));
			value_ci(json_object_get(m, "current"), unit, new, sizeof(new));
			pct(getd(m, "delta"), delta, sizeof(delta));
			p_str(getd(m, "p"), p, sizeof(p));
			n_str(m, n, sizeof(n));
			verdict_str(m, v, sizeof(v));
			bool loud = strcmp(gets(m, "verdict"), "regression") == 0 || strcmp(gets(m, "verdict"), "warn") == 0;
			const char *cells[] = {key, name, old, new, delta, p, n};
			fprintf(f, "|");
			for (size_t c = 0; c < 7; c++) {
				fputc(' ', f);
				md_cell(f, cells[c]);
				fprintf(f, " |");
			}
			fprintf(f, " %s", loud ? "**" : "");
			md_cell(f, v);
			fprintf(f, "%s |\n", loud ? "**" : "");
		}
	}
	fprintf(f, "\n");
	json_array_foreach(json_object_get(r, "comparisons"), i, cmp) {
		char host[300];
		host_ref_str(cmp, host, sizeof(host));
		fprintf(f, "* %s / %s: %s\n", gets(cmp, "scenario"), gets(cmp, "driver"), host);
	}
	static const char *const lists[] = {"warnings", "notes"};
	for (size_t l = 0; l < 2; l++) {
		json_t *a = json_object_get(r, lists[l]);
		if (json_array_size(a) == 0)
			continue;
		fprintf(f, "\n%s:\n", l == 0 ? "Warnings" : "Notes");
		json_t *x;
		json_array_foreach(a, j, x) {
			fprintf(f, "- ");
			md_cell(f, json_string_value(x));
			fprintf(f, "\n");
		}
	}
}

/* ---------------------------------------------------------------- paired */

static void side_desc(const json_t *d, char *buf, size_t len)
{
	if (json_object_get(d, "command"))
		snprintf(buf, len, "%s", gets(d, "command"));
	else
		snprintf(buf, len, "%s on %s", gets(d, "scenario"), gets(d, "driver"));
	/* The side's own parameters tell two runs of one driver apart (bin=PATH: two builds). */
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach((json_t *)json_object_get(d, "params"), k, v) {
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, "%s%s=%s", first ? " (" : ", ", k, json_string_value(v));
		first = false;
	}
	if (!first) {
		size_t l = strlen(buf);
		if (json_is_string(json_object_get(d, "bin_version")))
			snprintf(buf + l, len - l, ", version %s)", gets(d, "bin_version"));
		else
			snprintf(buf + l, len - l, ")");
	}
}

static void paired_head(FILE *f, const json_t *doc, bool md)
{
	const json_t *cfg = json_object_get(doc, "config"), *seq = json_object_get(doc, "sequential");
	char a[512], b[512];
	side_desc(json_object_get(doc, "baseline"), a, sizeof(a));
	side_desc(json_object_get(doc, "current"), b, sizeof(b));
	const char *q = md ? "`" : "'";
	fprintf(f, "baseline %s%s%s vs current %s%s%s\n", q, a, q, q, b, q);
	size_t measured = 0, i;
	json_t *p;
	json_array_foreach(json_object_get(doc, "pairs"), i, p)
		measured += !json_is_true(json_object_get(p, "warmup"));
	fprintf(f, "%s%zu pairs in ABBA order (+%lld warmup pairs excluded), %lld look%s (alpha %g, %g per look), "
		   "threshold %g%% (%s rule)\n", md ? "\n" : "", measured,
		(long long)json_integer_value(json_object_get(cfg, "warmup")),
		(long long)json_integer_value(json_object_get(seq, "looks_taken")),
		json_integer_value(json_object_get(seq, "looks_taken")) == 1 ? "" : "s", getd(cfg, "alpha"),
		getd(seq, "alpha_per_look"), getd(cfg, "threshold") * 100, gets(cfg, "rule"));
}

static void paired_row_cells(const json_t *a, char *name, size_t nl, char *b, char *c, char *chg,
			     size_t l, char *tp, char *wp, size_t pl)
{
	const char *unit = gets(a, "unit");
	snprintf(name, nl, "%s%s", gets(a, "metric"), json_is_true(json_object_get(a, "gated")) ? " *" : "");
	sb_format_value(getd(a, "baseline_median"), unit, b, l);
	sb_format_value(getd(a, "current_median"), unit, c, l);
	json_t *ci = json_object_get(a, "change_ci");
	char x[24], y[24], z[24];
	pct(getd(a, "change"), x, sizeof(x));
	pct(json_number_value(json_array_get(ci, 0)), y, sizeof(y));
	pct(json_number_value(json_array_get(ci, 1)), z, sizeof(z));
	if (json_is_number(json_array_get(ci, 0)))
		snprintf(chg, l, "%s [%s, %s]", x, y, z);
	else
		snprintf(chg, l, "%s", x);
	p_str(getd(json_object_get(a, "paired_t"), "p"), tp, pl);
	p_str(getd(json_object_get(a, "wilcoxon"), "p"), wp, pl);
}

void sb_render_paired_table(FILE *f, const json_t *doc)
{
	paired_head(f, doc, false);
	size_t i;
	json_t *a;
	int w = 16;
	json_array_foreach(json_object_get(doc, "analysis"), i, a)
		if ((int)strlen(gets(a, "metric")) + 2 > w)
			w = (int)strlen(gets(a, "metric")) + 2;
	fprintf(f, "\n  %-*s %12s %12s  %-28s %8s %10s  %s\n", w, "metric", "baseline", "current",
		"change [CI]", "t p", "wilcoxon p", "verdict");
	json_array_foreach(json_object_get(doc, "analysis"), i, a) {
		char name[128], b[48], c[48], chg[96], tp[16], wp[16];
		paired_row_cells(a, name, sizeof(name), b, c, chg, sizeof(b), tp, wp, sizeof(tp));
		json_t *need = json_object_get(a, "needed");
		char v[96];
		if (json_is_integer(need))
			snprintf(v, sizeof(v), "n/a (need %lld pairs)", (long long)json_integer_value(need));
		else
			snprintf(v, sizeof(v), "%s", gets(a, "verdict"));
		fprintf(f, "  %-*s %12s %12s  %-28s %8s %10s  %s\n", w, name, b, c, chg, tp, wp, v);
	}
	fprintf(f, "  (* decides the verdict; change = current vs baseline, Hodges-Lehmann estimate)\n");
	/* How far these pairs can see, so a `~` is not read as "no change" when the noise hides one. */
	double thr = getd(json_object_get(doc, "config"), "threshold");
	json_array_foreach(json_object_get(doc, "analysis"), i, a) {
		const json_t *sv = json_object_get(a, "sensitivity");
		if (!json_is_true(json_object_get(a, "gated")) || !json_is_object(sv))
			continue;
		fprintf(f, "  %s: per-pair noise ±%.0f%%; %lld pairs resolve ±%.1f%%", gets(a, "metric"),
			getd(sv, "noise") * 100, (long long)json_integer_value(json_object_get(a, "n")),
			getd(sv, "resolves") * 100);
		if (json_is_integer(json_object_get(sv, "pairs_for_threshold")))
			fprintf(f, "; a %g%% change needs ~%lld pairs (80%% power)", thr * 100,
				(long long)json_integer_value(json_object_get(sv, "pairs_for_threshold")));
		fprintf(f, "\n");
	}
	fprintf(f, "\nverdict: %s\n", gets(doc, "verdict"));
	json_array_foreach(json_object_get(doc, "reasons"), i, a)
		fprintf(f, "  %s\n", json_string_value(a));
}

void sb_render_paired_markdown(FILE *f, const json_t *doc)
{
	fprintf(f, "### sandbench paired: **%s**\n\n", gets(doc, "verdict"));
	paired_head(f, doc, true);
	fprintf(f, "\n| metric | baseline | current | change [CI] | t p | Wilcoxon p | verdict |\n");
	fprintf(f, "|---|--:|--:|--:|--:|--:|---|\n");
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(doc, "analysis"), i, a) {
		char name[128], b[48], c[48], chg[96], tp[16], wp[16];
		paired_row_cells(a, name, sizeof(name), b, c, chg, sizeof(b), tp, wp, sizeof(tp));
		const char *cells[] = {name, b, c, chg, tp, wp, gets(a, "verdict")};
		fprintf(f, "|");
		for (size_t k = 0; k < 7; k++) {
			fputc(' ', f);
			md_cell(f, cells[k]);
			fprintf(f, " |");
		}
		fprintf(f, "\n");
	}
	json_t *reasons = json_object_get(doc, "reasons");
	if (json_array_size(reasons)) {
		fprintf(f, "\n");
		json_array_foreach(reasons, i, a) {
			fprintf(f, "- ");
			md_cell(f, json_string_value(a));
			fprintf(f, "\n");
		}
	}
}
