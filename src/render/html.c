/* The self-contained HTML page: header, overview, one section per scenario (charts + a sortable
 * table), compare / paired / history sections, host and tool metadata. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/html_int.h"
#include "render/render.h"

/* Colours by class: --k per driver index (c0..c11) and per verdict; the same hues read on light and
 * dark backgrounds, the page's own colours switch with prefers-color-scheme. */
static const char css[] =
	":root{--bg:#fff;--fg:#1f2328;--mu:#59636e;--ln:#d1d9e0;--hd:#f6f8fa;--bt:#fff8c5;color-scheme:light dark}"
	"@media(prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mu:#9198a1;--ln:#3d444d;--hd:#151b23;--bt:#3b2e00}}"
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;background:var(--bg);color:var(--fg);"
	"margin:0 auto;max-width:1440px;padding:0 18px 40px}"
	"h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 4px;border-bottom:1px solid var(--ln)}"
	"h3{font-size:15px;margin:16px 0 4px}a{color:inherit}.mu,figcaption{color:var(--mu)}"
	"nav{font-size:13px;line-height:1.8}nav a{margin-right:10px;white-space:nowrap}"
	"table{border-collapse:collapse;font-size:12px;margin:6px 0 10px;font-variant-numeric:tabular-nums}"
	"th,td{border-bottom:1px solid var(--ln);padding:2px 7px;text-align:right;vertical-align:top}"
	"th{background:var(--hd);cursor:pointer;user-select:none;position:sticky;top:0}th[data-d=a]:after{content:' \\25B4'}"
	"th[data-d=d]:after{content:' \\25BE'}td.s,th.s{text-align:left}tr.best td{background:var(--bt)}"
	".charts{display:flex;flex-wrap:wrap;gap:10px 22px;margin:8px 0}figure{margin:0;width:440px;max-width:100%}"
	"figcaption{font-size:12px;margin-bottom:2px}svg.chart{display:block;max-width:100%;height:auto;font-size:10px}"
	"svg text{fill:var(--fg)}.l{text-anchor:end}.t{text-anchor:middle;fill:var(--mu)}.u{text-anchor:end;fill:var(--mu)}"
	".n{fill:var(--mu)}.v,.m{font-size:9px}.ax{stroke:var(--mu)}.gr{stroke:var(--ln)}.wk{stroke:var(--fg);fill:none}"
	".rf{stroke:var(--mu);stroke-dasharray:4 3}rect{fill:var(--k)}.bx{fill-opacity:.35;stroke:var(--k)}"
	".best{stroke:var(--fg);stroke-width:1.2}.ln{fill:none;stroke:var(--k);stroke-width:1.6}"
	".pt{fill:none;stroke:var(--k);stroke-width:3.2;stroke-linecap:round;opacity:.75}"
	".rg{fill:none;stroke:var(--k);stroke-width:2}.vm{stroke:var(--k);stroke-dasharray:3 2}"
	".c0{--k:#4e79a7}.c1{--k:#f28e2b}.c2{--k:#e15759}.c3{--k:#76b7b2}.c4{--k:#59a14f}.c5{--k:#edc948}"
	".c6{--k:#b07aa1}.c7{--k:#ff9da7}.c8{--k:#9c755f}.c9{--k:#bab0ac}.c10{--k:#17becf}.c11{--k:#8c6d31}"
	".vr{--k:#d1242f}.vi{--k:#1a7f37}.vn{--k:#8c959f}.vw{--k:#bf8700}"
	".verdict-regression{color:#d1242f;font-weight:600}.verdict-improvement{color:#1a7f37;font-weight:600}"
	".verdict-warn{color:#bf8700}.skip{font-size:12px;color:var(--mu);margin:2px 0}"
	"#sb-err{background:#d1242f;color:#fff;padding:6px 10px}dl{display:grid;grid-template-columns:max-content auto;"
	"gap:0 12px;font-size:13px}dt{color:var(--mu)}dd{margin:0}td.b{font-weight:700}tbody td:first-child{white-space:nowrap}.wide{overflow-x:auto}"
	"summary{cursor:pointer;color:var(--mu);font-size:13px}";

/* Runs first: any script error, failed load or blocked request becomes visible on the page and
 * countable (data-js-errors on <html>), so a broken page cannot pass for a working one. */
static const char js_errors[] =
	"window.sbErrors=[];function sbErr(m){sbErrors.push(String(m));document.documentElement.setAttribute("
	"'data-js-errors',sbErrors.length);var e=document.getElementById('sb-err');if(e){e.hidden=false;"
	"e.textContent='This page hit an error: '+sbErrors.join('; ')}}"
	"addEventListener('error',function(e){sbErr(e.message||('failed to load '+((e.target&&(e.target.src||e.target.href))||'')))},true);"
	"addEventListener('unhandledrejection',function(e){sbErr(e.reason)});"
	"document.addEventListener('securitypolicyviolation',function(e){sbErr('blocked '+e.blockedURI)});"
	"(function(){var f=console.error;console.error=function(){sbErr([].join.call(arguments,' '));f.apply(console,arguments)}})();";

/* Click a header to sort by it (numbers as numbers, then text); click again to reverse. */
static const char js_sort[] =
	"(function(){function k(c){var s=c.getAttribute('data-v')||c.textContent,n=parseFloat(s);return isNaN(n)?[1,s]:[0,n]}"
	"document.querySelectorAll('table.sort th').forEach(function(th){th.addEventListener('click',function(){"
	"var t=th.closest('table'),b=t.tBodies[0],i=th.cellIndex,d=th.getAttribute('data-d')==='a'?'d':'a';"
	"t.querySelectorAll('th').forEach(function(h){h.removeAttribute('data-d')});th.setAttribute('data-d',d);"
	"var r=[].slice.call(b.rows);r.sort(function(x,y){var p=k(x.cells[i]),q=k(y.cells[i]);"
	"var c=p[0]-q[0]||(p[1]<q[1]?-1:p[1]>q[1]?1:0);return d==='a'?c:-c});r.forEach(function(x){b.appendChild(x)})})});"
	"document.documentElement.setAttribute('data-loaded','1')})();";

static void th(struct sb_buf *b, const char *const *cols)
{
	sb_buf_put(b, "<thead><tr>");
	for (size_t i = 0; cols[i]; i++) {
		/* A leading '<' marks a left-aligned (text) column. */
		bool text = cols[i][0] == '<';
		sb_buf_put(b, text ? "<th class=s>" : "<th>");
		sb_buf_put_html(b, cols[i] + text);
	}
	sb_buf_put(b, "</thead><tbody>");
}

static void td_num(struct sb_buf *b, double v)
{
	sb_buf_put(b, "<td>");
	sb_buf_num(b, v, 4);
}

static void td_text(struct sb_buf *b, const char *s)
{
	sb_buf_put(b, "<td class=s>");
	sb_buf_put_html(b, s);
}

static void anchor(struct sb_buf *b, const char *prefix, const char *name)
{
	sb_buf_put(b, prefix);
	for (const char *p = name; *p; p++)
		sb_buf_putc(b, (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ? *p
			    : (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : '_');
}

static void overview(struct sb_buf *b, const struct sb_rview *v)
{
	if (!v->nscn)
		return;
	sb_buf_put(b, "<h2 id=overview>Overview</h2><table class=sort>");
	static const char *const cols[] = {"<scenario", "<axis", "<headline metric", "<best", "best p50", "<unit",
					   "drivers measured", "not measured", NULL};
	th(b, cols);
	for (size_t i = 0; i < v->nscn; i++) {
		const struct sb_rscn *s = &v->scn[i];
		size_t h[1];
		size_t nh = sb_r_headlines(s, 1, h);
		size_t ok = 0;
		for (size_t r = 0; r < s->nrows; r++)
			ok += !strcmp(sb_r_str(s->rows[r].report, "status"), "ok");
		sb_buf_put(b, "<tr><td class=s><a href=\"#");
		anchor(b, "s-", s->name);
		sb_buf_put(b, "\">");
		sb_buf_put_html(b, s->name);
		sb_buf_put(b, "</a>");
		td_text(b, s->axis);
		if (nh) {
			const struct sb_rmetric *m = &s->metrics[h[0]];
			int best = sb_r_best_row(s, m);
			td_text(b, m->name);
			td_text(b, best >= 0 ? s->rows[best].label : "");
			td_num(b, best >= 0 ? sb_r_num(sb_r_aggregate(s->rows[best].report, m->name), "p50") : NAN);
			td_text(b, m->unit);
		} else {
			sb_buf_put(b, "<td class=s>-<td class=s><td><td class=s>");
		}
		sb_buf_printf(b, "<td>%zu<td>%zu</tr>", ok, s->nrows - ok);
	}
	sb_buf_put(b, "</tbody></table>");
}

static void scenario_section(struct sb_buf *b, const struct sb_rview *v, const struct sb_rscn *s)
{
	sb_buf_put(b, "<section><h2 id=\"");
	anchor(b, "s-", s->name);
	sb_buf_put(b, "\">");
	sb_buf_put_html(b, s->name);
	sb_buf_put(b, "</h2><p class=mu>");
	if (*s->axis) {
		sb_buf_put_html(b, s->axis);
		sb_buf_put(b, " axis");
	}
	/* The parameters in effect, from the first report that has them. */
	for (size_t r = 0; r < s->nrows; r++) {
		json_t *params = json_object_get(json_object_get(s->rows[r].report, "scenario"), "params");
		if (!json_object_size(params))
			continue;
		sb_buf_put(b, " · params: ");
		const char *k;
		json_t *x;
		bool first = true;
		json_object_foreach(params, k, x) {
			sb_buf_put(b, first ? "" : ", ");
			sb_buf_put_html(b, k);
			sb_buf_putc(b, '=');
			char *t = json_is_string(x) ? strdup(json_string_value(x)) : json_dumps(x, JSON_ENCODE_ANY);
			sb_buf_put_html(b, t ? t : "");
			free(t);
			first = false;
		}
		break;
	}
	sb_buf_put(b, "</p>");
	for (size_t r = 0; r < s->nrows; r++) {
		const json_t *rep = s->rows[r].report;
		const char *st = sb_r_str(rep, "status");
		if (!strcmp(st, "ok") && !json_is_true(json_object_get(rep, "from_summary")))
			continue;
		sb_buf_put(b, "<p class=skip>");
		sb_buf_put_html(b, s->rows[r].label);
		sb_buf_put(b, ": ");
		if (strcmp(st, "ok")) {
			sb_buf_put_html(b, st);
			sb_buf_put(b, ": ");
			sb_buf_put_html(b, sb_r_str(rep, "reason"));
		} else {
			sb_buf_put(b, "p50, p99 and n only (the report file was not found beside the matrix summary)");
		}
		sb_buf_put(b, "</p>");
	}
	sb_html_scenario_charts(b, v, s);
	if (!s->nmetrics) {
		sb_buf_put(b, "</section>");
		return;
	}
	/* At a glance: drivers as rows, every metric's p50 as a column, the best of each in bold. */
	sb_buf_put(b, "<div class=wide><table class=sort><thead><tr><th class=s>p50");
	for (size_t i = 0; i < s->nmetrics; i++) {
		sb_buf_put(b, "<th>");
		/* Long metric names may break after an underscore. */
		for (const char *p = s->metrics[i].name; *p; p++) {
			char one[2] = {*p, 0};
			sb_buf_put_html(b, one);
			if (*p == '_')
				sb_buf_put(b, "<wbr>");
		}
		sb_buf_put(b, " <span class=mu>");
		sb_buf_put_html(b, s->metrics[i].unit);
		sb_buf_put(b, "</span>");
	}
	sb_buf_put(b, "</thead><tbody>");
	int *best = calloc(s->nmetrics + 1, sizeof(int));
	for (size_t i = 0; best && i < s->nmetrics; i++)
		best[i] = sb_r_best_row(s, &s->metrics[i]);
	for (size_t r = 0; best && r < s->nrows; r++) {
		if (!json_array_size(json_object_get(s->rows[r].report, "aggregates")))
			continue;
		sb_buf_put(b, "<tr>");
		td_text(b, s->rows[r].label);
		for (size_t i = 0; i < s->nmetrics; i++) {
			json_t *a = sb_r_aggregate(s->rows[r].report, s->metrics[i].name);
			sb_buf_put(b, best[i] == (int)r ? "<td class=b>" : "<td>");
			if (a)
				sb_buf_num(b, sb_r_num(a, "p50"), 4);
			else
				sb_buf_put(b, "-");
		}
	}
	free(best);
	size_t nrows = 0;
	for (size_t r = 0; r < s->nrows; r++)
		nrows += json_array_size(json_object_get(s->rows[r].report, "aggregates"));
	sb_buf_printf(b, "</tbody></table></div><details><summary>every statistic (%zu rows)</summary><table class=sort>",
		      nrows);
	static const char *const cols[] = {"<driver", "<metric", "<unit", "n", "p50", "median 95% CI", "p90", "p99",
					   "cv %", "<confidence", NULL};
	th(b, cols);
	for (size_t i = 0; i < s->nmetrics; i++) {
		const struct sb_rmetric *m = &s->metrics[i];
		int best = sb_r_best_row(s, m);
		for (size_t r = 0; r < s->nrows; r++) {
			json_t *a = sb_r_aggregate(s->rows[r].report, m->name);
			if (!a)
				continue;
			sb_buf_put(b, (int)r == best ? "<tr class=best>" : "<tr>");
			td_text(b, s->rows[r].label);
			td_text(b, m->name);
			if ((int)r == best)
				sb_buf_put(b, " *");
			td_text(b, m->unit);
			sb_buf_printf(b, "<td>%lld", (long long)json_integer_value(json_object_get(a, "n")));
			td_num(b, sb_r_num(a, "p50"));
			json_t *ci = json_object_get(a, "median_ci");
			if (json_array_size(ci) == 2) {
				sb_buf_put(b, "<td data-v=\"");
				sb_buf_num(b, json_number_value(json_array_get(ci, 0)), 4);
				sb_buf_put(b, "\">");
				sb_buf_num(b, json_number_value(json_array_get(ci, 0)), 4);
				sb_buf_put(b, " – ");
				sb_buf_num(b, json_number_value(json_array_get(ci, 1)), 4);
			} else {
				sb_buf_put(b, "<td>-");
			}
			td_num(b, sb_r_num(a, "p90"));
			td_num(b, sb_r_num(a, "p99"));
			td_num(b, sb_r_num(a, "cv") * 100);
			td_text(b, sb_r_str(a, "confidence"));
		}
	}
	sb_buf_put(b, "</tbody></table></details></section>");
}

/* Hosts, tools, runs and drivers, each distinct one once. */
static void metadata(struct sb_buf *b, const struct sb_rdoc *d, const struct sb_rview *v)
{
	json_t *hosts = json_array(), *tools = json_object(), *runs = json_object(), *drivers = json_object();
	size_t i, k;
	json_t *x, *y;
	json_t *all = json_array();
	json_array_extend(all, d->reports);
	json_array_extend(all, d->matrices);
	json_array_extend(all, d->paireds);
	json_array_foreach(all, i, x) {
		json_t *run = json_object_get(x, "run"), *host = json_object_get(run, "host");
		if (json_is_object(host)) {
			/* The load average changes from run to run; the machine does not. */
			json_t *h = json_deep_copy(host);
			json_object_del(h, "load_avg");
			json_object_del(h, "noise_hints");
			bool dup = false;
			json_array_foreach(hosts, k, y)
				dup |= json_equal(json_object_get(y, "h"), h);
			if (!dup)
				json_array_append_new(hosts, json_pack("{s:o, s:O}", "h", h, "full", host));
			else
				json_decref(h);
		}
		json_t *tool = json_object_get(x, "tool");
		if (json_is_object(tool)) {
			char key[256];
			snprintf(key, sizeof(key), "%s %s (git %s)", sb_r_str(tool, "name"), sb_r_str(tool, "version"),
				 sb_r_str(tool, "git"));
			json_object_set_new(tools, key, json_true());
		}
		if (json_is_object(run) && *sb_r_str(run, "id") && !json_object_get(runs, sb_r_str(run, "id")))
			json_object_set_new(runs, sb_r_str(run, "id"),
					    json_pack("{s:s, s:s}", "started", sb_r_str(run, "started_at"), "ended",
						      sb_r_str(run, "ended_at")));
		json_t *drv = json_object_get(x, "driver");
		if (json_is_object(drv) && !json_object_get(drivers, sb_r_str(drv, "name")))
			json_object_set_new(drivers, sb_r_str(drv, "name"),
					    json_pack("{s:s, s:s, s:s}", "version", sb_r_str(drv, "version"), "usable", "",
						      "reason", ""));
	}
	json_array_foreach(d->matrices, i, x)
		json_array_foreach(json_object_get(x, "drivers"), k, y)
			json_object_set_new(drivers, sb_r_str(y, "name"),
					    json_pack("{s:s, s:s, s:s}", "version", sb_r_str(y, "version"), "usable",
						      json_is_true(json_object_get(y, "usable")) ? "yes" : "no", "reason",
						      sb_r_str(y, "reason")));
	sb_buf_put(b, "<h2 id=meta>Host and tool</h2>");
	json_array_foreach(hosts, i, x) {
		json_t *h = json_object_get(x, "full");
		sb_buf_printf(b, "<h3>host %zu</h3><dl>", i + 1);
		static const char *const keys[] = {"os", "kernel", "arch", "cpu_model", "cpu_count", "mem_total",
						   "hostname_hash", "governor", NULL};
		for (size_t q = 0; keys[q]; q++) {
			json_t *val = json_object_get(h, keys[q]);
			if (!val)
				continue;
			sb_buf_put(b, "<dt>");
			sb_buf_put_html(b, keys[q]);
			sb_buf_put(b, "<dd>");
			if (!strcmp(keys[q], "mem_total") && json_is_number(val))
				sb_buf_printf(b, "%.1f GiB", json_number_value(val) / (1024.0 * 1024 * 1024));
			else if (json_is_string(val))
				sb_buf_put_html(b, json_string_value(val));
			else
				sb_buf_num(b, json_number_value(val), 6);
		}
		json_t *hints = json_object_get(h, "noise_hints");
		if (json_array_size(hints)) {
			sb_buf_put(b, "<dt>noise hints<dd>");
			json_array_foreach(hints, k, y) {
				sb_buf_put(b, k ? "; " : "");
				sb_buf_put_html(b, json_string_value(y));
			}
		}
		sb_buf_put(b, "</dl>");
	}
	sb_buf_put(b, "<h3>tool</h3><p>");
	const char *key;
	bool first = true;
	json_object_foreach(tools, key, x) {
		sb_buf_put(b, first ? "" : "; ");
		sb_buf_put_html(b, key);
		first = false;
	}
	sb_buf_put(b, "</p><h3>drivers</h3><table class=sort>");
	static const char *const dcols[] = {"<driver", "<version", "<usable here", "<why not / notes", NULL};
	th(b, dcols);
	for (size_t q = 0; q < v->ndrivers; q++) {
		json_t *dv = json_object_get(drivers, v->drivers[q]);
		sb_buf_printf(b, "<tr><td class=\"s\"><svg width=\"10\" height=\"10\" class=\"c%zu\"><rect width=\"10\" height=\"10\"/></svg> ",
			      q % SB_SVG_COLORS);
		sb_buf_put_html(b, v->drivers[q]);
		td_text(b, sb_r_str(dv, "version"));
		td_text(b, sb_r_str(dv, "usable"));
		td_text(b, sb_r_str(dv, "reason"));
	}
	sb_buf_put(b, "</tbody></table><h3>runs</h3><table class=sort>");
	static const char *const rcols[] = {"<run id", "<started", "<ended", NULL};
	th(b, rcols);
	json_object_foreach(runs, key, x) {
		sb_buf_put(b, "<tr>");
		td_text(b, key);
		td_text(b, sb_r_str(x, "started"));
		td_text(b, sb_r_str(x, "ended"));
	}
	sb_buf_put(b, "</tbody></table>");
	json_decref(all);
	json_decref(hosts);
	json_decref(tools);
	json_decref(runs);
	json_decref(drivers);
}

int sb_render_html(const struct sb_rdoc *d, const struct sb_render_opts *o, struct sb_buf *out, struct sb_error *err)
{
	struct sb_rview v;
	if (sb_rview_build(d, &v) < 0) {
		sb_rview_free(&v);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	const char *title = o && o->title ? o->title : "sandbench report";
	struct sb_buf *b = out;
	sb_buf_put(b, "<!doctype html><html lang=en><head><meta charset=utf-8>"
		      "<meta name=viewport content=\"width=device-width,initial-scale=1\">"
		      "<meta name=color-scheme content=\"light dark\">"
		      "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'; "
		      "script-src 'unsafe-inline'; img-src data:\"><title>");
	sb_buf_put_html(b, title);
	sb_buf_printf(b, "</title><style>%s</style><script>%s</script></head><body><div id=sb-err hidden></div><h1>", css,
		      js_errors);
	sb_buf_put_html(b, title);
	sb_buf_put(b, "</h1><p class=mu>");
	if (o && o->generated_at) {
		sb_buf_put(b, "generated ");
		sb_buf_put_html(b, o->generated_at);
	}
	if (o && o->tool) {
		sb_buf_put(b, " by ");
		sb_buf_put_html(b, o->tool);
	}
	sb_buf_put(b, " from ");
	size_t i;
	json_t *x;
	json_array_foreach(d->inputs, i, x) {
		if (i >= 8) {
			sb_buf_printf(b, ", and %zu more", json_array_size(d->inputs) - i);
			break;
		}
		sb_buf_put(b, i ? ", " : "");
		sb_buf_put_html(b, sb_r_str(x, "kind"));
		sb_buf_putc(b, ' ');
		sb_buf_put_html(b, sb_r_str(x, "path"));
	}
	sb_buf_put(b, "</p><nav>");
	if (v.nscn)
		sb_buf_put(b, "<a href=\"#overview\">overview</a>");
	for (size_t s = 0; s < v.nscn; s++) {
		sb_buf_put(b, "<a href=\"#");
		anchor(b, "s-", v.scn[s].name);
		sb_buf_put(b, "\">");
		sb_buf_put_html(b, v.scn[s].name);
		sb_buf_put(b, "</a>");
	}
	if (json_array_size(d->compares))
		sb_buf_put(b, "<a href=\"#compare\">compare</a>");
	if (json_array_size(d->paireds))
		sb_buf_put(b, "<a href=\"#paired\">paired</a>");
	if (json_array_size(d->histories))
		sb_buf_put(b, "<a href=\"#history\">history</a>");
	sb_buf_put(b, "<a href=\"#meta\">host and tool</a></nav>");
	overview(b, &v);
	for (size_t s = 0; s < v.nscn; s++)
		scenario_section(b, &v, &v.scn[s]);
	sb_html_compares(b, d->compares);
	sb_html_paireds(b, d->paireds);
	sb_html_histories(b, &v, d->histories);
	metadata(b, d, &v);
	sb_buf_printf(b, "<script>%s</script></body></html>\n", js_sort);
	sb_rview_free(&v);
	return sb_buf_ok(b) ? 0 : sb_error_set(err, ENOMEM, "out of memory rendering the page");
}
