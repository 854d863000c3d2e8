/* Unit tests for the results store on SQLite (src/store): where it lives, a report recorded and
 * rebuilt unchanged, idempotence, paired sides, the history query with its change points and
 * filters, the last runs of one host class, and opening a store written by schema version 1
 * (tests/store/fixtures/v1-sqlite.sql) or by a newer sandbench. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/report.h"
#include "core/util.h"
#include "store/db.h"
#include "store/hostclass.h"
#include "store/query.h"
#include "store/schema.h"
#include "store/store.h"

static char tmpdir[64];
static int dbseq;

static void fresh_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/store-%d.db", tmpdir, ++dbseq);
}

static json_t *host_of(const char *cpu, const char *hostname_hash)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:[f,f,f], s:[]}", "os", "Linux", "kernel", "6.1.0-test",
			 "arch", "x86_64", "cpu_model", cpu, "cpu_count", 2, "mem_total", (json_int_t)8 << 30,
			 "hostname_hash", hostname_hash, "load_avg", 0.1, 0.2, 0.3, "noise_hints");
}

/* A real report built with the report model: one warmup, n measured samples around `level` (a
 * deterministic wobble), one failed iteration, host reference times, params {work: "0"}. */
static json_t *make_report(const char *run_id, const char *started, const char *cpu, const char *work,
			   double level, unsigned n)
{
	json_t *host = host_of(cpu, "00aa11bb22cc33dd");
	json_t *params = json_pack("{s:s}", "work", work);
	struct sb_report_head h = {.run_id = run_id, .started_at = started, .scenario = "latency-spawn",
				   .axis = "latency", .params = params, .driver = "process", .driver_version = "1.0",
				   .runs = n, .warmup = 1, .timeout_s = 60, .host = host};
	json_t *r = sb_report_new(&h);
	json_t *meta = json_object();
	sb_metric_declare(meta, "lifecycle_ms", "ms", false);
	sb_metric_declare(meta, "ops", "1/s", true);
	sb_report_add_sample(r, 0, true, json_pack("{s:f, s:f}", "lifecycle_ms", level * 3, "ops", 10.0), NULL);
	for (unsigned i = 0; i < n; i++) {
		double wobble = 1 + 0.02 * ((i * 7919 % 11) / 10.0 - 0.5);
		sb_report_add_sample(r, i, false, json_pack("{s:f, s:f}", "lifecycle_ms", level * wobble, "ops", 100 / wobble),
				     NULL);
		sb_report_sample_set_host_ref(r, 0.5 * wobble);
	}
	sb_report_add_sample(r, n, false, NULL, "timed out after 60 s");
	sb_report_finalize(r, meta);
	json_decref(meta);
	json_decref(params);
	json_decref(host);
	return r;
}

static void run_id_of(unsigned k, char out[33])
{
	snprintf(out, 33, "%08x%024x", k, 0x5eedu);
}

static void started_of(unsigned day, char *buf, size_t len)
{
	snprintf(buf, len, "2026-%02u-%02uT10:00:00.000Z", 1 + day / 28, 1 + day % 28);
}

static struct sb_store *open_new(char *path, size_t len)
{
	fresh_path(path, len);
	struct sb_store *s = NULL;
	struct sb_error err = {0};
	if (sb_store_open(path, &s, &err) < 0)
		fail_msg("open %s: %s", path, err.msg);
	return s;
}

static void test_location(void **state)
{
	(void)state;
	char buf[256];
	struct sb_error err = {0};
	unsetenv("SANDBENCH_STORE");
	setenv("XDG_DATA_HOME", "/data", 1);
	assert_int_equal(sb_store_location(NULL, false, buf, sizeof(buf), &err), 1);
	assert_string_equal(buf, "/data/sandbench/history.db");
	unsetenv("XDG_DATA_HOME");
	setenv("HOME", "/home/u", 1);
	assert_int_equal(sb_store_location(NULL, false, buf, sizeof(buf), &err), 1);
	assert_string_equal(buf, "/home/u/.local/share/sandbench/history.db");
	setenv("SANDBENCH_STORE", "/tmp/x.db", 1);
	assert_int_equal(sb_store_location(NULL, false, buf, sizeof(buf), &err), 1);
	assert_string_equal(buf, "/tmp/x.db");
	assert_int_equal(sb_store_location("/opt/y.db", false, buf, sizeof(buf), &err), 1);
	assert_string_equal(buf, "/opt/y.db");
	assert_int_equal(sb_store_location("/opt/y.db", true, buf, sizeof(buf), &err), 0);
	setenv("SANDBENCH_STORE", "off", 1);
	assert_int_equal(sb_store_location(NULL, false, buf, sizeof(buf), &err), 0);
	unsetenv("SANDBENCH_STORE");
	unsetenv("HOME");
	assert_true(sb_store_location(NULL, false, buf, sizeof(buf), &err) < 0);
	assert_non_null(strstr(err.msg, "--store"));
}

static void test_parse_time(void **state)
{
	(void)state;
	assert_true(sb_store_parse_time("1970-01-01T00:00:10Z") == 10);
	assert_true(fabs(sb_store_parse_time("1970-01-01T00:00:10.250Z") - 10.25) < 1e-9);
	assert_true(sb_store_parse_time("1970-01-01T01:00:00+01:00") == 0);
	assert_true(sb_store_parse_time("1970-01-02") == 86400);
	assert_true(isnan(sb_store_parse_time("yesterday")));
	assert_true(isnan(sb_store_parse_time("1970-01-01T00:00:00Zjunk")));
}

static void test_host_class(void **state)
{
	(void)state;
	json_t *a = host_of("AMD EPYC 7B13", "1"), *b = host_of("AMD EPYC 7B13", "2");
	char ca[128], cb[128], fa[33], fb[33], slug[128];
	sb_host_class(a, ca, sizeof(ca));
	sb_host_class(b, cb, sizeof(cb));
	assert_string_equal(ca, "AMD EPYC 7B13|2|6");
	assert_string_equal(ca, cb); /* two machines, one class */
	sb_host_fingerprint(a, fa);
	sb_host_fingerprint(b, fb);
	assert_string_not_equal(fa, fb);
	/* Load changes from run to run; the fingerprint must not. */
	json_object_set_new(a, "load_avg", json_pack("[f,f,f]", 3.0, 2.0, 1.0));
	sb_host_fingerprint(a, fb);
	assert_string_equal(fa, fb);
	sb_host_class_slug(a, slug, sizeof(slug));
	assert_string_equal(slug, "amd-epyc-7b13-2cpu-linux6");
	json_decref(a);
	json_decref(b);
	/* A class cut by its buffer ends on a whole character: "é" is 2 bytes, the buffer odd. */
	char model[301] = "";
	for (int i = 0; i < 150; i++)
		strcat(model, "\xc3\xa9");
	json_t *c = host_of(model, "1");
	char cc[100];
	sb_host_class(c, cc, sizeof(cc));
	assert_int_equal(strlen(cc), 98);
	json_t *as_json = json_string(cc);
	assert_non_null(as_json);
	json_decref(as_json);
	json_decref(c);
}

/* A report goes in and comes back identical; the second recording changes nothing. */
static void test_roundtrip_and_idempotence(void **state)
{
	(void)state;
	char path[128], id[33], id2[33];
	struct sb_store *s = open_new(path, sizeof(path));
	run_id_of(1, id);
	run_id_of(2, id2);
	json_t *r = make_report(id, "2026-01-01T10:00:00.000Z", "Test CPU", "0", 1.0, 12);
	struct sb_store_outcome o = {0};
	struct sb_error err = {0};
	assert_int_equal(sb_store_record_report(s, r, &o, &err), 0);
	assert_int_equal(o.added, 1);
	assert_int_equal(sb_store_record_report(s, r, &o, &err), 0);
	assert_int_equal(o.added, 1);
	assert_int_equal(o.present, 1);
	struct sb_db_rows rows;
	assert_int_equal(sb_db_query(sb_store_db(s), "SELECT count(*) FROM samples", NULL, 0, &rows, &err), 0);
	/* 1 warmup + 12 measured samples with two metrics each; the failed one has none. */
	assert_int_equal(sb_db_int(&rows, 0, 0, -1), 26);
	sb_db_rows_free(&rows);
	/* Rebuilt for a later run of the same configuration: equal to what was recorded. */
	json_t *later = make_report(id2, "2026-01-02T10:00:00.000Z", "Test CPU", "0", 1.0, 12);
	json_t **list;
	size_t n;
	assert_int_equal(sb_store_recent_reports(s, later, 5, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	if (!json_equal(list[0], r)) {
		char *a = json_dumps(r, JSON_SORT_KEYS | JSON_COMPACT), *b = json_dumps(list[0], JSON_SORT_KEYS | JSON_COMPACT);
		fail_msg("rebuilt report differs:\n%s\n%s", a, b);
	}
	assert_int_equal(sb_report_check(list[0], "rebuilt", &err), 0);
	json_decref(list[0]);
	free(list);
	/* The run's own results are not its history. */
	assert_int_equal(sb_store_recent_reports(s, r, 5, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
	json_decref(later);
	json_decref(r);
	sb_store_close(s);
}

/* A paired document: each side a result with its runs in pair order and its aggregates. */
static void test_paired(void **state)
{
	(void)state;
	char path[128];
	struct sb_store *s = open_new(path, sizeof(path));
	json_t *host = host_of("Test CPU", "ff");
	json_t *pairs = json_array();
	for (int i = 0; i < 8; i++)
		json_array_append_new(pairs, json_pack("{s:i, s:b, s:s, s:{s:{s:f}, s:i}, s:{s:{s:f}, s:i}}", "index", i,
						       "warmup", i < 2, "order", i % 2 ? "BA" : "AB", "baseline", "metrics",
						       "wall_ms", 1.0 + i * 0.01, "exit_code", 0, "current", "metrics",
						       "wall_ms", 2.0 + i * 0.01, "exit_code", 0));
	json_t *doc = json_pack(
		"{s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:O}, s:s, s:{s:s, s:[s], s:b}, s:{s:s, s:[s], s:b}, s:{},"
		" s:{s:{s:s, s:b}}, s:o, s:[], s:s, s:[]}",
		"schema", "sandbench.paired/v1", "tool", "name", "sandbench", "version", "0.1.0", "git", "t", "run", "id",
		"0123456789abcdef0123456789abcdef", "started_at", "2026-02-01T00:00:00Z", "ended_at", "2026-02-01T00:01:00Z",
		"host", host, "mode", "command", "baseline", "command", "/bin/true", "argv", "/bin/true", "shell", 0,
		"current", "command", "sleep 0", "argv", "sleep", "shell", 0, "config", "metrics", "wall_ms", "unit", "ms",
		"higher_is_better", 0, "pairs", pairs, "analysis", "verdict", "~", "reasons");
	assert_non_null(doc);
	struct sb_store_outcome o = {0};
	struct sb_error err = {0};
	assert_int_equal(sb_store_record_paired(s, doc, &o, &err), 0);
	assert_int_equal(o.added, 2);
	assert_int_equal(sb_store_record_paired(s, doc, &o, &err), 0);
	assert_int_equal(o.present, 2);
	struct sb_db_rows rows;
	assert_int_equal(sb_db_query(sb_store_db(s),
				     "SELECT r.side, a.n, a.p50 FROM aggregates a JOIN results r ON r.id = a.result_id"
				     " ORDER BY r.side",
				     NULL, 0, &rows, &err),
			 0);
	assert_int_equal(rows.nrows, 2);
	assert_string_equal(sb_db_text(&rows, 0, 0), "baseline");
	assert_int_equal(sb_db_int(&rows, 0, 1, 0), 6); /* the two warmup pairs left out */
	assert_true(fabs(sb_db_real(&rows, 1, 2) - 2.04) < 1e-9);
	sb_db_rows_free(&rows);
	assert_int_equal(sb_db_query(sb_store_db(s), "SELECT kind, document FROM runs", NULL, 0, &rows, &err), 0);
	assert_string_equal(sb_db_text(&rows, 0, 0), "paired");
	assert_null(strstr(sb_db_text(&rows, 0, 1), "\"pairs\"")); /* the pairs live in the samples */
	sb_db_rows_free(&rows);
	json_decref(doc);
	json_decref(host);
	sb_store_close(s);
}

/* 30 runs, a 30 % step at run 18: the history names that run; filters and limits apply. */
static void test_history_and_change_point(void **state)
{
	(void)state;
	char path[128];
	struct sb_store *s = open_new(path, sizeof(path));
	char ids[30][33];
	struct sb_error err = {0};
	for (unsigned k = 0; k < 30; k++) {
		char started[40];
		run_id_of(100 + k, ids[k]);
		started_of(k, started, sizeof(started));
		/* A little run-to-run noise on top of the step. */
		double level = (k < 18 ? 1.0 : 1.3) * (1 + 0.03 * ((k * 37 % 7) / 6.0 - 0.5));
		json_t *r = make_report(ids[k], started, "Test CPU", "0", level, 10);
		assert_int_equal(sb_store_record_report(s, r, NULL, &err), 0);
		json_decref(r);
	}
	/* Another host class and other parameters: separate from the series above. */
	json_t *other = make_report("ffffffffffffffffffffffffffffffff", "2026-01-15T12:00:00Z", "Other CPU", "0", 5, 10);
	json_t *param = make_report("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "2026-01-15T13:00:00Z", "Test CPU", "0.001", 7, 10);
	assert_int_equal(sb_store_record_report(s, other, NULL, &err), 0);
	assert_int_equal(sb_store_record_report(s, param, NULL, &err), 0);

	struct sb_history_query q = {.scenario = "latency-spawn", .driver = "process", .metric = "lifecycle_ms",
				     .host = "Test CPU|2|6", .since = NAN, .changes = true, .cp = SB_CP_DEFAULTS};
	json_t *res;
	assert_int_equal(sb_store_history(s, &q, &res, &err), 0);
	json_t *series = json_object_get(res, "series");
	assert_int_equal(json_array_size(series), 2); /* work=0 and work=0.001 */
	json_t *main = NULL;
	size_t i;
	json_t *x;
	json_array_foreach(series, i, x)
		if (!strcmp(json_string_value(json_object_get(json_object_get(x, "params"), "work")), "0"))
			main = x;
	assert_non_null(main);
	assert_int_equal(json_array_size(json_object_get(main, "points")), 30);
	json_t *cps = json_object_get(main, "change_points");
	assert_int_equal(json_array_size(cps), 1);
	json_t *cp = json_array_get(cps, 0);
	assert_int_equal(json_integer_value(json_object_get(cp, "index")), 18);
	assert_string_equal(json_string_value(json_object_get(cp, "run_id")), ids[18]);
	double change = json_number_value(json_object_get(cp, "change"));
	assert_true(change > 0.25 && change < 0.35);
	assert_true(json_number_value(json_object_get(cp, "p")) <= 0.05);
	json_decref(res);

	/* The headline metric by default; the newest N; since a date; all host classes. */
	q.metric = NULL;
	q.limit = 10;
	q.since = sb_store_parse_time("2026-01-20");
	q.host = NULL;
	q.changes = false;
	assert_int_equal(sb_store_history(s, &q, &res, &err), 0);
	series = json_object_get(res, "series");
	assert_int_equal(json_array_size(series), 1); /* Other CPU and work=0.001 ran before the 20th */
	json_t *points = json_object_get(json_array_get(series, 0), "points");
	assert_string_equal(json_string_value(json_object_get(json_array_get(series, 0), "metric")), "lifecycle_ms");
	assert_int_equal(json_array_size(points), 10);
	assert_string_equal(json_string_value(json_object_get(json_array_get(points, 9), "run_id")), ids[29]);
	assert_null(json_object_get(json_array_get(series, 0), "change_points"));
	json_decref(res);
	q.statistic = "p42";
	assert_int_equal(sb_store_history(s, &q, &res, &err), -EINVAL);

	/* The last 5 runs of the same host class, oldest first; other classes and params left out. */
	json_t **list;
	size_t n;
	json_t *cur = make_report("dddddddddddddddddddddddddddddddd", "2026-03-01T00:00:00Z", "Test CPU", "0", 1.3, 10);
	assert_int_equal(sb_store_recent_reports(s, cur, 5, &list, &n, &err), 0);
	assert_int_equal(n, 5);
	for (size_t k = 0; k < n; k++) {
		assert_string_equal(json_string_value(json_object_get(json_object_get(list[k], "run"), "id")), ids[25 + k]);
		json_decref(list[k]);
	}
	free(list);
	json_decref(cur);
	json_decref(other);
	json_decref(param);
	sb_store_close(s);
}

static char *slurp(const char *path)
{
	char *text;
	size_t len;
	struct sb_error err = {0};
	if (sb_read_file(path, &text, &len, &err) < 0)
		fail_msg("%s", err.msg);
	return text;
}

static int64_t count(struct sb_db *db, const char *sql)
{
	struct sb_db_rows rows;
	struct sb_error err = {0};
	if (sb_db_query(db, sql, NULL, 0, &rows, &err) < 0)
		fail_msg("%s: %s", sql, err.msg);
	int64_t n = sb_db_int(&rows, 0, 0, -1);
	sb_db_rows_free(&rows);
	return n;
}

/* A store written by schema version 1 opens, migrates to the current version, keeps its data,
 * answers history queries and takes new results. */
static void test_migrate_v1(void **state)
{
	(void)state;
	const char *dir = getenv("SB_STORE_FIXTURES");
	if (!dir)
		skip();
	char fixture[512], path[128];
	snprintf(fixture, sizeof(fixture), "%s/v1-sqlite.sql", dir);
	fresh_path(path, sizeof(path));
	struct sb_db *db;
	struct sb_error err = {0};
	assert_int_equal(sb_db_open(path, &db, &err), 0);
	char *sql = slurp(fixture);
	if (sb_db_exec(db, sql, &err) < 0)
		fail_msg("loading the fixture: %s", err.msg);
	free(sql);
	int version;
	assert_int_equal(sb_store_schema_version(db, &version, &err), 0);
	assert_int_equal(version, 1);
	int64_t samples = count(db, "SELECT count(*) FROM samples"), results = count(db, "SELECT count(*) FROM results");
	assert_true(samples > 0 && results == 5);
	sb_db_close(db);

	struct sb_store *s;
	if (sb_store_open(path, &s, &err) < 0)
		fail_msg("opening the v1 store: %s", err.msg);
	db = sb_store_db(s);
	assert_int_equal(sb_store_schema_version(db, &version, &err), 0);
	assert_int_equal(version, SB_STORE_SCHEMA_VERSION);
	assert_int_equal(count(db, "SELECT count(*) FROM samples"), samples);
	assert_int_equal(count(db, "SELECT count(*) FROM hosts WHERE host_class IS NULL"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM hosts WHERE host_class = 'Test CPU @ 2.00GHz|2|6'"), 1);
	struct sb_history_query q = {.scenario = "latency-spawn", .driver = "process", .metric = "exec_ms",
				     .since = NAN, .changes = true, .cp = SB_CP_DEFAULTS};
	json_t *res;
	assert_int_equal(sb_store_history(s, &q, &res, &err), 0);
	assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(res, "series"), 0), "points")), 3);
	json_decref(res);
	/* A new result next to the old ones, and the old ones rebuilt as its history. */
	json_t *r = make_report("cccccccccccccccccccccccccccccccc", "2026-01-04T10:00:00Z", "Test CPU @ 2.00GHz", "0", 1, 5);
	json_object_set_new(json_object_get(json_object_get(r, "run"), "host"), "kernel", json_string("6.1.0"));
	assert_int_equal(sb_store_record_report(s, r, NULL, &err), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM results"), results + 1);
	json_t **list;
	size_t n;
	assert_int_equal(sb_store_recent_reports(s, r, 10, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	for (size_t k = 0; k < n; k++)
		json_decref(list[k]);
	free(list);
	json_decref(r);
	sb_store_close(s);
	/* Opening again: nothing left to migrate. */
	assert_int_equal(sb_store_open(path, &s, &err), 0);
	sb_store_close(s);
}

static void test_refusals(void **state)
{
	(void)state;
	char path[128];
	struct sb_error err = {0};
	struct sb_store *s = open_new(path, sizeof(path));
	assert_int_equal(sb_db_exec(sb_store_db(s), "UPDATE sb_meta SET value = '99' WHERE key = 'schema_version'", &err), 0);
	sb_store_close(s);
	assert_int_equal(sb_store_open(path, &s, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "newer"));
	/* Tables named like ours without a version: someone else's database. */
	fresh_path(path, sizeof(path));
	struct sb_db *db;
	assert_int_equal(sb_db_open(path, &db, &err), 0);
	assert_int_equal(sb_db_exec(db, "CREATE TABLE runs (x INTEGER)", &err), 0);
	sb_db_close(db);
	assert_true(sb_store_open(path, &s, &err) < 0);
	assert_non_null(strstr(err.msg, "not a sandbench store"));
	/* Not a database at all. */
	fresh_path(path, sizeof(path));
	FILE *f = fopen(path, "w");
	fputs("this is a text file, not SQLite, and it is long enough to have a header\n", f);
	fclose(f);
	assert_true(sb_store_open(path, &s, &err) < 0);
	/* A directory. */
	assert_true(sb_store_open(tmpdir, &s, &err) < 0);
	assert_non_null(strstr(err.msg, "directory"));
	/* Not a report. */
	s = open_new(path, sizeof(path));
	json_t *bad = json_pack("{s:s}", "schema", "sandbench.report/v1");
	assert_true(sb_store_record_report(s, bad, NULL, &err) < 0);
	json_decref(bad);
	sb_store_close(s);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sb-store-test-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return sb_rm_rf(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_location),	  cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_host_class),	  cmocka_unit_test(test_roundtrip_and_idempotence),
		cmocka_unit_test(test_paired),		  cmocka_unit_test(test_history_and_change_point),
		cmocka_unit_test(test_migrate_v1),	  cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
