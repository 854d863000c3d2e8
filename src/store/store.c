/* Recording runs, matrices and paired A/Bs into the store (schema in store/schema.c). Each document
 * is one transaction: a crash or a concurrent writer never leaves half a result. */
#include "store/store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/report.h"
#include "store/db.h"
#include "store/hostclass.h"
#include "store/schema.h"

struct sb_store {
	struct sb_db *db;
};

int sb_store_location(const char *opt, bool no_store, char *buf, size_t len, struct sb_error *err)
{
	if (no_store)
		return 0;
	const char *where = opt;
	if (!where) {
		const char *env = getenv("SANDBENCH_STORE");
		if (env && (!strcmp(env, "off") || !strcmp(env, "none")))
			return 0;
		if (env && *env)
			where = env;
	}
	int n;
	if (where) {
		n = snprintf(buf, len, "%s", where);
	} else {
		const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
		if (xdg && xdg[0] == '/')
			n = snprintf(buf, len, "%s/sandbench/history.db", xdg);
		else if (home && *home)
			n = snprintf(buf, len, "%s/.local/share/sandbench/history.db", home);
		else
			return sb_error_set(err, ENOENT, "no store location: set HOME, XDG_DATA_HOME or SANDBENCH_STORE, "
							 "or give --store PATH (--no-store: do not record)");
	}
	if (n < 0 || (size_t)n >= len)
		return sb_error_set(err, ENAMETOOLONG, "store location too long");
	return 1;
}

int sb_store_open(const char *location, struct sb_store **out, struct sb_error *err)
{
	*out = NULL;
	struct sb_store *s = calloc(1, sizeof(*s));
	if (!s)
		return sb_error_set(err, ENOMEM, "out of memory");
	int rc = sb_db_open(location, &s->db, err);
	if (rc == 0)
		rc = sb_store_migrate(s->db, SB_STORE_SCHEMA_VERSION, err);
	if (rc < 0) {
		sb_store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void sb_store_close(struct sb_store *s)
{
	if (!s)
		return;
	sb_db_close(s->db);
	free(s);
}

const char *sb_store_where(const struct sb_store *s)
{
	return s->db->location;
}

struct sb_db *sb_store_db(struct sb_store *s)
{
	return s->db;
}

double sb_store_parse_time(const char *t)
{
	if (!t)
		return NAN;
	struct tm tm = {0};
	const char *rest = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest) {
		memset(&tm, 0, sizeof(tm));
		rest = strptime(t, "%Y-%m-%d", &tm);
		if (!rest || *rest)
			return NAN;
		return (double)timegm(&tm);
	}
	double frac = 0;
	if (*rest == '.') {
		char *end;
		frac = strtod(rest, &end);
		rest = end;
	}
	double offset = 0;
	if (*rest == '+' || *rest == '-') {
		int hh, mm;
		if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2)
			return NAN;
		offset = (*rest == '+' ? 1 : -1) * (hh * 3600.0 + mm * 60.0);
		rest += 6;
	} else if (*rest == 'Z' || *rest == 'z') {
		rest++;
	}
	if (*rest)
		return NAN;
	return (double)timegm(&tm) + frac - offset;
}

/* ---------------------------------------------------------------- helpers */

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static struct sb_db_val jnum(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (json_is_integer(v))
		return SB_DB_V_INT(json_integer_value(v));
	if (json_is_real(v) && isfinite(json_real_value(v)))
		return SB_DB_V_REAL(json_real_value(v));
	return SB_DB_V_NULL;
}

static char *canon(const json_t *v)
{
	/* Nothing canonicalises as an empty object (a temporary json_object() here would leak). */
	return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup("{}");
}

static int one_id(struct sb_db *db, const char *sql, const struct sb_db_val *p, size_t np, int64_t *id,
		  struct sb_error *err)
{
	struct sb_db_rows rows;
	int rc = sb_db_query(db, sql, p, np, &rows, err);
	if (rc < 0)
		return rc;
	*id = rows.nrows ? sb_db_int(&rows, 0, 0, -1) : -1;
	sb_db_rows_free(&rows);
	return 0;
}

static int upsert_host(struct sb_db *db, const json_t *host, int64_t *id, struct sb_error *err)
{
	if (!json_is_object(host))
		return sb_error_set(err, EINVAL, "the document has no run.host object");
	char fp[33];
	sb_host_fingerprint(host, fp);
	char cls[512];
	sb_host_class(host, cls, sizeof(cls));
	char *info = canon(host);
	if (!info)
		return sb_error_set(err, ENOMEM, "out of memory");
	struct sb_db_val p[] = {
		SB_DB_V_TEXT(fp),
		SB_DB_V_TEXT(jstr(host, "os")),
		SB_DB_V_TEXT(jstr(host, "kernel")),
		SB_DB_V_TEXT(jstr(host, "arch")),
		SB_DB_V_TEXT(jstr(host, "cpu_model")),
		jnum(host, "cpu_count"),
		jnum(host, "mem_total"),
		SB_DB_V_TEXT(jstr(host, "hostname_hash")),
		SB_DB_V_TEXT(info),
		SB_DB_V_TEXT(cls),
	};
	int rc = sb_db_query(db,
			     "INSERT INTO hosts (fingerprint, os, kernel, arch, cpu_model, cpu_count, mem_total,"
			     " hostname_hash, info, host_class) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			     p, sizeof(p) / sizeof(p[0]), NULL, err);
	free(info);
	if (rc == 0)
		rc = one_id(db, "SELECT id FROM hosts WHERE fingerprint = ?", p, 1, id, err);
	return rc;
}

struct run_row {
	const char *run_id, *kind, *started_at, *ended_at, *tool_version, *tool_git;
	const char *document; /* may be NULL */
	int64_t host_id;
};

/* Insert the run, or find it. A matrix or paired document recorded after the run's reports turns
 * the run into a run of that kind and attaches the document (once). */
static int upsert_run(struct sb_db *db, const struct run_row *r, int64_t *id, bool *changed, struct sb_error *err)
{
	if (!r->run_id || !*r->run_id)
		return sb_error_set(err, EINVAL, "the document has no run.id");
	char now[40];
	sb_wallclock_rfc3339(now, sizeof(now));
	double t = sb_store_parse_time(r->started_at);
	struct sb_db_val p[] = {
		SB_DB_V_TEXT(r->run_id),     SB_DB_V_TEXT(r->kind),	    SB_DB_V_TEXT(r->started_at),
		SB_DB_V_TEXT(r->ended_at),   isfinite(t) ? SB_DB_V_REAL(t) : SB_DB_V_NULL,
		SB_DB_V_INT(r->host_id),     SB_DB_V_TEXT(r->tool_version), SB_DB_V_TEXT(r->tool_git),
		SB_DB_V_TEXT(r->document),   SB_DB_V_TEXT(now),
	};
	struct sb_db_rows rows;
	int rc = sb_db_query(db,
			     "INSERT INTO runs (run_id, kind, started_at, ended_at, started_unix, host_id, tool_version,"
			     " tool_git, document, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			     " ON CONFLICT DO NOTHING RETURNING id",
			     p, sizeof(p) / sizeof(p[0]), &rows, err);
	if (rc < 0)
		return rc;
	*changed = rows.nrows > 0;
	*id = rows.nrows ? sb_db_int(&rows, 0, 0, -1) : -1;
	sb_db_rows_free(&rows);
	if (*changed)
		return 0;
	if ((rc = one_id(db, "SELECT id FROM runs WHERE run_id = ?", p, 1, id, err)) < 0)
		return rc;
	if (r->document) {
		struct sb_db_val u[] = {SB_DB_V_TEXT(r->kind), SB_DB_V_TEXT(r->document), SB_DB_V_INT(*id)};
		rc = sb_db_query(db, "UPDATE runs SET kind = ?, document = ? WHERE id = ? AND document IS NULL RETURNING id",
				 u, 3, &rows, err);
		if (rc < 0)
			return rc;
		*changed = rows.nrows > 0;
		sb_db_rows_free(&rows);
	}
	return 0;
}

struct result_row {
	int64_t run_pk;
	const char *side, *scenario, *axis, *driver, *driver_version, *status, *reason;
	const json_t *params;
	const json_t *head;
};

/* Insert a result; *id = -1 when it is already there (nothing else to record). */
static int insert_result(struct sb_db *db, const struct result_row *r, int64_t *id, struct sb_error *err)
{
	if (!r->scenario || !r->driver)
		return sb_error_set(err, EINVAL, "the document names no scenario or driver");
	char *params = canon(r->params), *head = canon(r->head);
	int rc;
	if (!params || !head) {
		rc = sb_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	struct sb_db_val p[] = {
		SB_DB_V_INT(r->run_pk),		 SB_DB_V_TEXT(r->side),	  SB_DB_V_TEXT(r->scenario),
		SB_DB_V_TEXT(r->axis),		 SB_DB_V_TEXT(r->driver), SB_DB_V_TEXT(r->driver_version),
		SB_DB_V_TEXT(params),		 SB_DB_V_TEXT(r->status), SB_DB_V_TEXT(r->reason),
		SB_DB_V_TEXT(head),
	};
	rc = one_id(db,
		    "INSERT INTO results (run_pk, side, scenario, axis, driver, driver_version, params, status,"
		    " reason, head) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
		    p, sizeof(p) / sizeof(p[0]), id, err);
out:
	free(params);
	free(head);
	return rc;
}

static int insert_aggregates(struct sb_db *db, int64_t result_id, const json_t *aggs, struct sb_error *err)
{
	static const char *const cols[] = {"result_id", "ord", "metric", "unit", "higher_is_better", "n", "min",
					   "p50", "p90", "p95", "p99", "max", "mean", "stdev", "cv", "doc"};
	if (json_array_size(aggs) == 0)
		return 0;
	struct sb_db_bulk *b;
	int rc = sb_db_bulk_begin(db, "aggregates", cols, 16, &b, err);
	if (rc < 0)
		return rc;
	size_t i;
	json_t *a;
	json_array_foreach(aggs, i, a) {
		char *doc = canon(a);
		if (!doc) {
			rc = sb_error_set(err, ENOMEM, "out of memory");
			break;
		}
		struct sb_db_val v[] = {
			SB_DB_V_INT(result_id), SB_DB_V_INT((int64_t)i), SB_DB_V_TEXT(jstr(a, "metric")),
			SB_DB_V_TEXT(jstr(a, "unit")), SB_DB_V_INT(json_is_true(json_object_get(a, "higher_is_better"))),
			jnum(a, "n"), jnum(a, "min"), jnum(a, "p50"), jnum(a, "p90"), jnum(a, "p95"), jnum(a, "p99"),
			jnum(a, "max"), jnum(a, "mean"), jnum(a, "stdev"), jnum(a, "cv"), SB_DB_V_TEXT(doc),
		};
		rc = v[2].t == SB_DB_TEXT ? sb_db_bulk_row(b, v, err)
					  : sb_error_set(err, EINVAL, "aggregates[%zu] has no metric name", i);
		free(doc);
		if (rc < 0)
			break;
	}
	int erc = sb_db_bulk_end(b, rc == 0, err);
	return rc < 0 ? rc : erc;
}

/* The iterations of a result: one per element of `runs`, each an object whose metrics live under
 * "metrics" (a report's samples, or one side of each paired pair). pair_of: for paired sides, the
 * pair objects the runs came from (their index, warmup flag and order), else NULL. */
static int insert_iterations(struct sb_db *db, int64_t result_id, const json_t *runs, const json_t *pair_of,
			     struct sb_error *err)
{
	static const char *const icols[] = {"result_id", "seq", "iteration", "warmup", "host_ref_ms", "error", "extra"};
	static const char *const scols[] = {"result_id", "seq", "metric", "value"};
	struct sb_db_bulk *b;
	int rc = sb_db_bulk_begin(db, "iterations", icols, 7, &b, err);
	if (rc < 0)
		return rc;
	size_t i;
	json_t *s;
	json_array_foreach(runs, i, s) {
		if (!json_is_object(s))
			continue;
		const json_t *from = pair_of ? json_array_get(pair_of, i) : s;
		json_t *extra = json_deep_copy(s);
		static const char *const known[] = {"iteration", "warmup", "metrics", SB_HOST_REF_KEY, "error"};
		for (size_t k = 0; k < 5; k++)
			json_object_del(extra, known[k]);
		if (pair_of && jstr(from, "order"))
			json_object_set_new(extra, "order", json_string(jstr(from, "order")));
		char *extra_text = json_object_size(extra) ? canon(extra) : NULL;
		json_decref(extra);
		json_t *it = json_object_get(from, pair_of ? "index" : "iteration");
		struct sb_db_val v[] = {
			SB_DB_V_INT(result_id), SB_DB_V_INT((int64_t)i),
			json_is_integer(it) ? SB_DB_V_INT(json_integer_value(it)) : SB_DB_V_NULL,
			SB_DB_V_INT(json_is_true(json_object_get(from, "warmup"))), jnum(s, SB_HOST_REF_KEY),
			SB_DB_V_TEXT(jstr(s, "error")), SB_DB_V_TEXT(extra_text),
		};
		rc = sb_db_bulk_row(b, v, err);
		free(extra_text);
		if (rc < 0)
			break;
	}
	int erc = sb_db_bulk_end(b, rc == 0, err);
	if (rc < 0 || erc < 0)
		return rc < 0 ? rc : erc;
	if ((rc = sb_db_bulk_begin(db, "samples", scols, 4, &b, err)) < 0)
		return rc;
	json_array_foreach(runs, i, s) {
		const char *m;
		json_t *x;
		json_object_foreach(json_object_get(s, "metrics"), m, x) {
			struct sb_db_val v[] = {SB_DB_V_INT(result_id), SB_DB_V_INT((int64_t)i), SB_DB_V_TEXT(m),
						json_is_number(x) && isfinite(json_number_value(x))
							? SB_DB_V_REAL(json_number_value(x))
							: SB_DB_V_NULL};
			if ((rc = sb_db_bulk_row(b, v, err)) < 0)
				break;
		}
		if (rc < 0)
			break;
	}
	erc = sb_db_bulk_end(b, rc == 0, err);
	return rc < 0 ? rc : erc;
}

/* ---------------------------------------------------------------- documents */

static int finish(struct sb_db *db, int rc, struct sb_error *err)
{
	if (rc < 0) {
		sb_db_rollback(db);
		return rc;
	}
	return sb_db_commit(db, err);
}

static struct run_row run_of(const json_t *doc, const char *kind, const char *document)
{
	const json_t *run = json_object_get(doc, "run"), *tool = json_object_get(doc, "tool");
	return (struct run_row){
		.run_id = jstr(run, "id"), .kind = kind, .started_at = jstr(run, "started_at"),
		.ended_at = jstr(run, "ended_at"), .tool_version = jstr(tool, "version"),
		.tool_git = jstr(tool, "git"), .document = document,
	};
}

static int record_report_tx(struct sb_db *db, const json_t *report, struct sb_store_outcome *o,
			    struct sb_error *err)
{
	struct run_row run = run_of(report, "run", NULL);
	int64_t run_pk, result_id;
	bool changed;
	int rc = upsert_host(db, json_object_get(json_object_get(report, "run"), "host"), &run.host_id, err);
	if (rc == 0)
		rc = upsert_run(db, &run, &run_pk, &changed, err);
	if (rc < 0)
		return rc;
	/* The head: the report without the bulky parts kept in their own tables. */
	json_t *head = json_copy((json_t *)report);
	json_object_del(head, "samples");
	json_object_del(head, "aggregates");
	const json_t *scn = json_object_get(report, "scenario"), *drv = json_object_get(report, "driver");
	struct result_row r = {
		.run_pk = run_pk, .side = "", .scenario = jstr(scn, "name"), .axis = jstr(scn, "axis"),
		.driver = jstr(drv, "name"), .driver_version = jstr(drv, "version"),
		.status = jstr(report, "status"), .reason = jstr(report, "reason"),
		.params = json_object_get(scn, "params"), .head = head,
	};
	rc = insert_result(db, &r, &result_id, err);
	json_decref(head);
	if (rc < 0)
		return rc;
	if (result_id < 0) {
		o->present++;
		return 0;
	}
	rc = insert_aggregates(db, result_id, json_object_get(report, "aggregates"), err);
	if (rc == 0)
		rc = insert_iterations(db, result_id, json_object_get(report, "samples"), NULL, err);
	if (rc == 0)
		o->added++;
	return rc;
}

int sb_store_record_report(struct sb_store *s, const json_t *report, struct sb_store_outcome *o,
			   struct sb_error *err)
{
	int rc = sb_report_check(report, "report", err);
	if (rc < 0)
		return rc;
	struct sb_store_outcome mine = {0};
	if ((rc = sb_db_begin(s->db, err)) < 0)
		return rc;
	rc = finish(s->db, record_report_tx(s->db, report, &mine, err), err);
	if (rc == 0 && o) {
		o->added += mine.added;
		o->present += mine.present;
	}
	return rc;
}

int sb_store_record_matrix(struct sb_store *s, const json_t *summary, struct sb_store_outcome *o,
			   struct sb_error *err)
{
	const char *schema = jstr(summary, "schema");
	if (!schema || strcmp(schema, "sandbench.matrix/v1") != 0)
		return sb_error_set(err, EINVAL, "not a sandbench.matrix/v1 summary");
	char *doc = canon(summary);
	if (!doc)
		return sb_error_set(err, ENOMEM, "out of memory");
	struct run_row run = run_of(summary, "matrix", doc);
	int64_t run_pk;
	bool changed;
	int rc = sb_db_begin(s->db, err);
	if (rc == 0) {
		rc = upsert_host(s->db, json_object_get(json_object_get(summary, "run"), "host"), &run.host_id, err);
		if (rc == 0)
			rc = upsert_run(s->db, &run, &run_pk, &changed, err);
		rc = finish(s->db, rc, err);
	}
	free(doc);
	(void)o; /* a summary holds no results of its own */
	return rc;
}

/* One side of a paired document as a result: its description, runs and per-metric aggregates. */
static int record_side(struct sb_db *db, const json_t *doc, int64_t run_pk, const char *side,
		       struct sb_store_outcome *o, struct sb_error *err)
{
	const json_t *desc = json_object_get(doc, side);
	bool driver_mode = !strcmp(jstr(doc, "mode") ? jstr(doc, "mode") : "", "driver");
	json_t *params = driver_mode ? json_incref(json_object_get(desc, "params"))
				     : json_pack("{s:s?}", "command", jstr(desc, "command"));
	const char *verdict = jstr(doc, "verdict");
	bool failed = verdict && (!strcmp(verdict, "error") || !strcmp(verdict, "interrupted"));
	json_t *reasons = json_object_get(doc, "reasons");
	json_t *head = json_pack("{s:s, s:O, s:O?}", "paired_side", side, "description", desc, "config",
				 json_object_get(doc, "config"));
	const char *version = jstr(desc, "bin_version") ? jstr(desc, "bin_version") : jstr(desc, "driver_version");
	struct result_row r = {
		.run_pk = run_pk, .side = side,
		.scenario = driver_mode ? jstr(desc, "scenario") : "command",
		.driver = driver_mode ? jstr(desc, "driver") : "command",
		.driver_version = driver_mode ? version : NULL,
		.status = failed ? "error" : "ok",
		.reason = failed ? json_string_value(json_array_get(reasons, 0)) : NULL,
		.params = params, .head = head,
	};
	int64_t result_id;
	int rc = insert_result(db, &r, &result_id, err);
	json_decref(head);
	json_decref(params);
	if (rc < 0 || result_id < 0) {
		if (rc == 0)
			o->present++;
		return rc;
	}
	/* The side's runs in pair order, and aggregates over its measured, successful ones. */
	const json_t *pairs = json_object_get(doc, "pairs");
	json_t *runs = json_array(), *aggs = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(pairs, i, p) {
		json_t *run = json_object_get(p, side);
		json_array_append_new(runs, json_is_object(run) ? json_incref(run) : json_object());
	}
	const char *m;
	json_t *meta;
	json_object_foreach(json_object_get(doc, "metrics"), m, meta) {
		double *v = malloc((json_array_size(pairs) + 1) * sizeof(double));
		size_t n = 0;
		json_array_foreach(pairs, i, p) {
			json_t *run = json_object_get(p, side);
			json_t *x = json_object_get(json_object_get(run, "metrics"), m);
			if (v && !json_is_true(json_object_get(p, "warmup")) && !json_object_get(run, "error") &&
			    json_is_number(x))
				v[n++] = json_number_value(x);
		}
		json_t *a = n ? sb_aggregate_new(m, jstr(meta, "unit") ? jstr(meta, "unit") : "",
						 json_is_true(json_object_get(meta, "higher_is_better")), v, n)
			      : NULL;
		if (a)
			json_array_append_new(aggs, a);
		free(v);
	}
	rc = insert_aggregates(db, result_id, aggs, err);
	if (rc == 0)
		rc = insert_iterations(db, result_id, runs, pairs, err);
	json_decref(runs);
	json_decref(aggs);
	if (rc == 0)
		o->added++;
	return rc;
}

int sb_store_record_paired(struct sb_store *s, const json_t *paired, struct sb_store_outcome *o,
			   struct sb_error *err)
{
	const char *schema = jstr(paired, "schema");
	if (!schema || strcmp(schema, "sandbench.paired/v1") != 0)
		return sb_error_set(err, EINVAL, "not a sandbench.paired/v1 document");
	if (!json_is_array(json_object_get(paired, "pairs")) || !json_is_object(json_object_get(paired, "baseline")) ||
	    !json_is_object(json_object_get(paired, "current")))
		return sb_error_set(err, EINVAL, "paired document without pairs, baseline or current");
	json_t *head = json_copy((json_t *)paired);
	json_object_del(head, "pairs");
	char *doc = canon(head);
	json_decref(head);
	if (!doc)
		return sb_error_set(err, ENOMEM, "out of memory");
	struct run_row run = run_of(paired, "paired", doc);
	struct sb_store_outcome mine = {0};
	int64_t run_pk;
	bool changed;
	int rc = sb_db_begin(s->db, err);
	if (rc == 0) {
		rc = upsert_host(s->db, json_object_get(json_object_get(paired, "run"), "host"), &run.host_id, err);
		if (rc == 0)
			rc = upsert_run(s->db, &run, &run_pk, &changed, err);
		if (rc == 0)
			rc = record_side(s->db, paired, run_pk, "baseline", &mine, err);
		if (rc == 0)
			rc = record_side(s->db, paired, run_pk, "current", &mine, err);
		rc = finish(s->db, rc, err);
	}
	free(doc);
	if (rc == 0 && o) {
		o->added += mine.added;
		o->present += mine.present;
	}
	return rc;
}
