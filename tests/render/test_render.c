/* Pieces of src/render on crafted input: number formatting, escaping, metric families, headline
 * choice, the terminal layout's width and best marks, and a page that names what it was given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "render/render.h"

static void test_numbers(void **state)
{
	char t[64];
	sb_fmt_num(t, sizeof(t), 2.5940, 4);
	assert_string_equal(t, "2.594");
	sb_fmt_num(t, sizeof(t), 0.000591, 3);
	assert_string_equal(t, "0.000591");
	sb_fmt_num(t, sizeof(t), 1234567.8, 4);
	assert_string_equal(t, "1234568");
	sb_fmt_num(t, sizeof(t), 12.50, 4);
	assert_string_equal(t, "12.5");
	sb_fmt_num(t, sizeof(t), -0.0, 4);
	assert_string_equal(t, "0");
	sb_fmt_num(t, sizeof(t), 0.0 / 0.0, 4);
	assert_string_equal(t, "-");
}

static void test_escaping(void **state)
{
	struct sb_buf b;
	sb_buf_init(&b);
	sb_buf_put_html(&b, "<a href=\"x\">&'</a>");
	assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	b.len = 0;
	sb_buf_put_md(&b, "a|b\n<c>");
	assert_string_equal(b.data, "a\\|b &lt;c&gt;");
	assert_true(sb_buf_ok(&b));
	sb_buf_free(&b);
}

static void test_families(void **state)
{
	char p[64], k;
	long n;
	assert_true(sb_r_family("shell_pool_run_completion_c16_ms", p, sizeof(p), &k, &n));
	assert_string_equal(p, "shell_pool_run_completion");
	assert_int_equal(k, 'c');
	assert_int_equal(n, 16);
	assert_true(sb_r_family("tti_box3_ms", p, sizeof(p), &k, &n));
	assert_string_equal(p, "tti");
	assert_int_equal(k, 'b');
	assert_int_equal(n, 3);
	assert_false(sb_r_family("create_ms", p, sizeof(p), &k, &n));
	assert_false(sb_r_family("exec_rate_4_slots_per_s", p, sizeof(p), &k, &n));
	assert_false(sb_r_family("cpu_c2", p, sizeof(p), &k, &n)); /* no unit after the number */
}

static json_t *report(const char *scn, const char *drv, const char *status, double p50_a, double p50_b)
{
	json_t *r = json_pack("{s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:s, s:[], s:[]}", "schema", "sandbench.report/v1", "run",
			      "id", "0123456789abcdef0123456789abcdef", "scenario", "name", scn, "driver", "name", drv,
			      "status", status, "samples", "aggregates");
	if (p50_a == p50_a)
		json_array_append_new(json_object_get(r, "aggregates"),
				      json_pack("{s:s, s:s, s:b, s:i, s:f, s:f}", "metric", "lat_ms", "unit", "ms",
						"higher_is_better", 0, "n", 5, "p50", p50_a, "p99", p50_a * 2));
	if (p50_b == p50_b)
		json_array_append_new(json_object_get(r, "aggregates"),
				      json_pack("{s:s, s:s, s:b, s:i, s:f, s:f}", "metric", "rate_per_s", "unit", "op/s",
						"higher_is_better", 1, "n", 5, "p50", p50_b, "p99", p50_b));
	return r;
}

static void test_view_and_headlines(void **state)
{
	struct sb_rdoc d;
	struct sb_error err = {0};
	sb_rdoc_init(&d);
	json_t *a = report("s", "alpha", "ok", 2.0, 100), *b = report("s", "beta", "ok", 1.0, 50),
	       *c = report("s", "gamma", "skip", 0.0 / 0.0, 0.0 / 0.0);
	assert_int_equal(sb_rdoc_add_json(&d, a, "a.json", &err), 0);
	assert_int_equal(sb_rdoc_add_json(&d, b, "b.json", &err), 0);
	assert_int_equal(sb_rdoc_add_json(&d, b, "b-again.json", &err), 0); /* the same run counts once */
	assert_int_equal(sb_rdoc_add_json(&d, c, "c.json", &err), 0);
	assert_int_equal(json_array_size(d.reports), 3);
	struct sb_rview v;
	assert_int_equal(sb_rview_build(&d, &v), 0);
	assert_int_equal(v.nscn, 1);
	assert_int_equal(v.scn[0].nrows, 3);
	assert_int_equal(v.scn[0].nmetrics, 2);
	/* Lower is better for lat_ms (beta), higher for rate_per_s (alpha). */
	assert_string_equal(v.scn[0].rows[sb_r_best_row(&v.scn[0], &v.scn[0].metrics[0])].driver, "beta");
	assert_string_equal(v.scn[0].rows[sb_r_best_row(&v.scn[0], &v.scn[0].metrics[1])].driver, "alpha");
	size_t h[4];
	assert_int_equal(sb_r_headlines(&v.scn[0], 1, h), 1);
	assert_int_equal(h[0], 0);
	sb_rview_free(&v);
	/* A page and its Markdown name the scenario, the drivers and the skip reason's status. */
	struct sb_buf page, md;
	sb_buf_init(&page);
	sb_buf_init(&md);
	assert_int_equal(sb_render_html(&d, NULL, &page, &err), 0);
	assert_int_equal(sb_render_markdown(&d, NULL, &md, &err), 0);
	assert_non_null(strstr(page.data, "<svg class=\"chart\""));
	assert_non_null(strstr(page.data, "gamma: skip"));
	assert_non_null(strstr(md.data, "| beta | **1**"));
	sb_buf_free(&page);
	sb_buf_free(&md);
	/* Unknown and broken documents are refused with the file named. */
	json_t *bad = json_pack("{s:s}", "schema", "sandbench.history/v1");
	assert_true(sb_rdoc_add_json(&d, bad, "h.json", &err) < 0);
	assert_non_null(strstr(err.msg, "h.json: 'series' is missing"));
	json_decref(bad);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	sb_rdoc_free(&d);
}

static void test_terminal_width(void **state)
{
	json_t *drivers = json_array(), *reports = json_array(), *values = json_object();
	for (int i = 0; i < 12; i++) {
		char name[32];
		snprintf(name, sizeof(name), "driver-number-%02d", i);
		json_array_append_new(drivers, json_pack("{s:s, s:b}", "name", name, "usable", 1));
		json_array_append_new(reports, json_pack("{s:s, s:s, s:s}", "scenario", "s", "driver", name, "status", "ok"));
		json_object_set_new(values, name, json_pack("{s:f, s:f, s:i}", "p50", 1000.0 + i, "p99", 123456789.0, "n", 9));
	}
	json_t *cells = json_array();
	for (int m = 0; m < 9; m++) {
		char name[64];
		snprintf(name, sizeof(name), "a_rather_long_metric_name_number_%d_ms", m);
		json_array_append_new(cells, json_pack("{s:s, s:s, s:s, s:b, s:O, s:s}", "scenario", "s", "metric", name, "unit",
						       "ms", "higher_is_better", 0, "values", values, "best",
						       "driver-number-00"));
	}
	json_t *summary = json_pack("{s:o, s:o, s:o}", "drivers", drivers, "reports", reports, "cells", cells);
	struct sb_buf b;
	sb_buf_init(&b);
	sb_render_matrix_term(summary, 120, &b);
	size_t rows = 0;
	for (char *line = b.data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		size_t len = next ? (size_t)(next - line) : strlen(line);
		assert_true(len <= 120);
		if (!strncmp(line, "  driver-number-00", 18)) {
			assert_non_null(memchr(line, '*', len));
			rows++;
		}
		if (next)
			next++;
	}
	assert_int_equal(rows, 1);
	assert_non_null(strstr(b.data, "+ "));      /* not every metric fits: the rest are named */
	assert_non_null(strstr(b.data, "(123M)"));  /* big values stay narrow */
	sb_buf_free(&b);
	json_decref(values);
	json_decref(summary);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_view_and_headlines),
		cmocka_unit_test(test_terminal_width),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
