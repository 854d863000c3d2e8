/* Unit tests: report model, aggregates, atomic write, load errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/host.h"
#include "core/report.h"
#include "core/util.h"

static json_t *make_report(void)
{
	json_t *host = sb_host_probe();
	struct sb_report_head h = {.run_id = "0123456789abcdef0123456789abcdef",
				   .started_at = "2026-11-23T00:00:00.000Z", .scenario = "latency-spawn",
				   .axis = "latency", .driver = "process", .driver_version = "x", .runs = 5,
				   .warmup = 1, .timeout_s = 10, .host = host};
	json_t *r = sb_report_new(&h);
	json_decref(host);
	return r;
}

static void test_schema_first_and_aggregates(void **state)
{
	json_t *r = make_report();
	json_t *meta = json_object();
	sb_metric_declare(meta, "lat_ms", "ms", false);
	sb_metric_declare(meta, "rate", "ops/s", true);
	sb_report_add_sample(r, 0, true, json_pack("{s:f}", "lat_ms", 1000.0), NULL); /* warmup: excluded */
	double v[] = {1, 2, 3, 4};
	for (int i = 0; i < 4; i++)
		sb_report_add_sample(r, (unsigned)i + 1, false, json_pack("{s:f, s:f}", "lat_ms", v[i], "rate", 10.0), NULL);
	sb_report_add_sample(r, 5, false, json_object(), "boom"); /* error: excluded */
	assert_int_equal(sb_report_finalize(r, meta), 0);

	char *text = json_dumps(r, 0);
	assert_int_equal(strncmp(text, "{\"schema\": \"sandbench.report/v1\"", 32), 0);
	free(text);
	json_t *a = sb_report_aggregate(r, "lat_ms");
	assert_non_null(a);
	assert_int_equal(json_integer_value(json_object_get(a, "n")), 4);
	assert_true(json_real_value(json_object_get(a, "max")) == 4.0);
	assert_true(json_real_value(json_object_get(a, "p50")) == 2.0); /* nearest rank: ceil(0.5*4)=2 */
	assert_string_equal(json_string_value(json_object_get(a, "confidence")), "iteration");
	assert_false(json_is_true(json_object_get(a, "higher_is_better")));
	assert_true(json_is_true(json_object_get(sb_report_aggregate(r, "rate"), "higher_is_better")));
	assert_true(json_is_string(json_object_get(json_object_get(r, "run"), "ended_at")));
	json_decref(meta);
	json_decref(r);
}

/* A bounded snprintf may end inside a UTF-8 character: the trim drops exactly that partial
 * character, and leaves whole ones (and ASCII) alone. */
static void test_utf8_trim(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"abc", "abc"},         {"", ""},
		{"a\xc3\xa9", "a\xc3\xa9"}, {"a\xc3", "a"},                 /* é whole, then cut after its lead */
		{"\xe2\x82\xac", "\xe2\x82\xac"}, {"x\xe2\x82", "x"}, {"x\xe2", "x"}, /* € */
		{"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"}, {"\xf0\x9f\x98", ""}, /* 😀 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		sb_utf8_trim(buf);
		assert_string_equal(buf, cases[i].out);
	}
	/* What the SLO labels hit: 200 "é" cut to 319 bytes keeps 159 of them. */
	char label[320], in[401] = "";
	for (int i = 0; i < 200; i++)
		strcat(in, "\xc3\xa9");
	snprintf(label, sizeof(label), "%s", in);
	sb_utf8_trim(label);
	assert_int_equal(strlen(label), 318);
}

static void test_write_atomic_and_load(void **state)
{
	char dir[] = "/tmp/sb-report-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/r.json", dir);
	json_t *r = make_report();
	json_t *meta = json_object();
	sb_report_finalize(r, meta);
	struct sb_error err = {0};
	assert_int_equal(sb_report_write(r, path, &err), 0);
	json_t *back = NULL;
	assert_int_equal(sb_report_load(path, &back, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(back, "scenario"), "name")),
			    "latency-spawn");
	json_decref(back);

	/* Writing into a directory that does not exist fails and leaves nothing behind. */
	char bad[256];
	snprintf(bad, sizeof(bad), "%s/missing/r.json", dir);
	assert_true(sb_report_write(r, bad, &err) < 0);

	/* Malformed, wrong schema, missing members, missing file: one clear message each. */
	sb_write_file_atomic(path, "{\"schema\": ", 11, &err);
	assert_true(sb_report_load(path, &back, &err) < 0);
	assert_non_null(strstr(err.msg, "malformed JSON"));
	const char *v2 = "{\"schema\": \"sandbench.report/v2\"}";
	sb_write_file_atomic(path, v2, strlen(v2), &err);
	assert_true(sb_report_load(path, &back, &err) < 0);
	assert_non_null(strstr(err.msg, "schema 'sandbench.report/v2' is not supported"));
	const char *nosc = "{\"schema\": \"sandbench.report/v1\", \"driver\": {}}";
	sb_write_file_atomic(path, nosc, strlen(nosc), &err);
	assert_true(sb_report_load(path, &back, &err) < 0);
	assert_non_null(strstr(err.msg, "missing 'scenario'"));
	assert_true(sb_report_load("/nonexistent.json", &back, &err) < 0);
	assert_non_null(strstr(err.msg, "cannot open"));

	unlink(path);
	assert_int_equal(rmdir(dir), 0); /* no temp files were left behind */
	json_decref(meta);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_first_and_aggregates),
		cmocka_unit_test(test_write_atomic_and_load),
		cmocka_unit_test(test_utf8_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
