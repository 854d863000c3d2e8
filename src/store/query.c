/* History series, change points, and reports rebuilt from the store. */
#include "store/query.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"
#include "store/db.h"
#include "store/hostclass.h"

static const char *const statistics[] = {"p50", "p90", "p95", "p99", "mean", "min", "max"};

static json_t *num_or_null(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *text_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

enum {
	C_RUN_ID, C_STARTED, C_KIND, C_SIDE, C_CLASS, C_HOSTNAME, C_DRV_VERSION, C_GIT, C_SCENARIO, C_DRIVER,
	C_PARAMS, C_METRIC, C_UNIT, C_HIB, C_N, C_VALUE,
};

/* Add the change points of one series (its points' values, oldest first). */
static int add_changes(json_t *series, const struct sb_cp_opts *o)
{
	json_t *points = json_object_get(series, "points");
	size_t n = json_array_size(points), i;
	double *x = malloc((n ? n : 1) * sizeof(double));
	if (!x)
		return -ENOMEM;
	json_t *p;
	json_array_foreach(points, i, p) x[i] = json_number_value(json_object_get(p, "value"));
	struct sb_cp *cp;
	size_t ncp;
	int rc = sb_changepoints(x, n, o, &cp, &ncp);
	free(x);
	if (rc < 0)
		return rc;
	json_t *list = json_array();
	for (size_t k = 0; k < ncp; k++) {
		json_t *at = json_array_get(points, cp[k].index);
		json_array_append_new(list, json_pack("{s:I, s:O, s:O, s:o, s:o, s:o, s:f, s:f}", "index",
						      (json_int_t)cp[k].index, "run_id", json_object_get(at, "run_id"),
						      "started_at", json_object_get(at, "started_at"), "before",
						      num_or_null(cp[k].before), "after", num_or_null(cp[k].after),
						      "change", num_or_null(cp[k].change), "p", cp[k].p, "q", cp[k].q));
	}
	free(cp);
	json_object_set_new(series, "change_points", list);
	return 0;
}

int sb_store_history(struct sb_store *s, const struct sb_history_query *q, json_t **out, struct sb_error *err)
{
	*out = NULL;
	const char *stat = q->statistic ? q->statistic : "p50";
	bool known = false;
	for (size_t i = 0; i < sizeof(statistics) / sizeof(statistics[0]); i++)
		known |= !strcmp(stat, statistics[i]);
	if (!known)
		return sb_error_set(err, EINVAL, "statistic '%s': expected p50, p90, p95, p99, mean, min or max", stat);
	char sql[2048];
	struct sb_db_val p[8];
	size_t np = 0;
	int o = snprintf(sql, sizeof(sql),
			 "SELECT ru.run_id, ru.started_at, ru.kind, r.side, h.host_class, h.hostname_hash,"
			 " r.driver_version, ru.tool_git, r.scenario, r.driver, r.params, a.metric, a.unit,"
			 " a.higher_is_better, a.n, a.%s"
			 " FROM aggregates a JOIN results r ON r.id = a.result_id JOIN runs ru ON ru.id = r.run_pk"
			 " JOIN hosts h ON h.id = ru.host_id WHERE r.status = 'ok'",
			 stat);
	if (q->scenario) {
		o += snprintf(sql + o, sizeof(sql) - (size_t)o, " AND r.scenario = ?");
		p[np++] = SB_DB_V_TEXT(q->scenario);
	}
	if (q->driver) {
		o += snprintf(sql + o, sizeof(sql) - (size_t)o, " AND r.driver = ?");
		p[np++] = SB_DB_V_TEXT(q->driver);
	}
	if (q->metric) {
		o += snprintf(sql + o, sizeof(sql) - (size_t)o, " AND a.metric = ?");
		p[np++] = SB_DB_V_TEXT(q->metric);
	} else {
		o += snprintf(sql + o, sizeof(sql) - (size_t)o, " AND a.ord = 0");
	}
	if (q->host) {
		o += snprintf(sql + o, sizeof(sql) - (size_t)o,
			      " AND (h.hostname_hash = ? OR h.fingerprint = ? OR h.host_class = ?)");
		p[np++] = SB_DB_V_TEXT(q->host);
		p[np++] = SB_DB_V_TEXT(q->host);
		p[np++] = SB_DB_V_TEXT(q->host);
	}
	if (isfinite(q->since)) {
		o += snprintf(sql + o, sizeof(sql) - (size_t)o, " AND ru.started_unix >= ?");
		p[np++] = SB_DB_V_REAL(q->since);
	}
	snprintf(sql + o, sizeof(sql) - (size_t)o, " ORDER BY ru.started_unix, ru.id, r.id");
	struct sb_db_rows rows;
	int rc = sb_db_query(sb_store_db(s), sql, p, np, &rows, err);
	if (rc < 0)
		return rc;
	/* Group into series: scenario, driver, parameters, metric. */
	json_t *by_key = json_object(), *list = json_array();
	for (size_t r = 0; r < rows.nrows; r++) {
		double v = sb_db_real(&rows, r, C_VALUE);
		if (!isfinite(v))
			continue;
		const char *params = sb_db_text(&rows, r, C_PARAMS);
		char key[2048];
		snprintf(key, sizeof(key), "%s\x1f%s\x1f%s\x1f%s", sb_db_text(&rows, r, C_SCENARIO),
			 sb_db_text(&rows, r, C_DRIVER), params ? params : "{}", sb_db_text(&rows, r, C_METRIC));
		json_t *series = json_object_get(by_key, key);
		if (!series) {
			json_t *pj = json_loads(params ? params : "{}", 0, NULL);
			series = json_pack("{s:s?, s:s?, s:o, s:s?, s:s?, s:b, s:s, s:[]}", "scenario",
					   sb_db_text(&rows, r, C_SCENARIO), "driver", sb_db_text(&rows, r, C_DRIVER),
					   "params", pj ? pj : json_object(), "metric", sb_db_text(&rows, r, C_METRIC),
					   "unit", sb_db_text(&rows, r, C_UNIT), "higher_is_better",
					   sb_db_int(&rows, r, C_HIB, 0) != 0, "statistic", stat, "points");
			json_object_set_new(by_key, key, series);
			json_array_append(list, series);
		}
		json_array_append_new(json_object_get(series, "points"),
				      json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:f}", "run_id",
						text_or_null(sb_db_text(&rows, r, C_RUN_ID)), "started_at",
						text_or_null(sb_db_text(&rows, r, C_STARTED)), "kind",
						text_or_null(sb_db_text(&rows, r, C_KIND)), "side",
						text_or_null(sb_db_text(&rows, r, C_SIDE)), "host_class",
						text_or_null(sb_db_text(&rows, r, C_CLASS)), "hostname_hash",
						text_or_null(sb_db_text(&rows, r, C_HOSTNAME)), "driver_version",
						text_or_null(sb_db_text(&rows, r, C_DRV_VERSION)), "tool_git",
						text_or_null(sb_db_text(&rows, r, C_GIT)), "n",
						(json_int_t)sb_db_int(&rows, r, C_N, 0), "value", v));
	}
	sb_db_rows_free(&rows);
	json_decref(by_key);
	size_t i;
	json_t *series;
	json_array_foreach(list, i, series) {
		json_t *points = json_object_get(series, "points");
		size_t n = json_array_size(points);
		if (q->limit && n > q->limit) {
			/* Keep the newest: drop from the front. */
			json_t *kept = json_array();
			for (size_t k = n - q->limit; k < n; k++)
				json_array_append(kept, json_array_get(points, k));
			json_object_set_new(series, "points", kept);
		}
		if (q->changes && (rc = add_changes(series, &q->cp)) < 0) {
			json_decref(list);
			return sb_error_set(err, -rc, "change points: %s", strerror(-rc));
		}
	}
	json_t *query = json_pack("{s:o, s:o, s:o, s:o, s:o, s:I, s:s}", "scenario", text_or_null(q->scenario),
				  "driver", text_or_null(q->driver), "metric", text_or_null(q->metric), "host",
				  text_or_null(q->host), "since", num_or_null(q->since), "limit", (json_int_t)q->limit,
				  "statistic", stat);
	if (q->changes)
		json_object_set_new(query, "change_points",
				    json_pack("{s:s, s:f, s:i, s:i}", "method", "e-divisive", "alpha", q->cp.alpha,
					      "permutations", (int)q->cp.permutations, "min_size", (int)q->cp.min_size));
	*out = json_pack("{s:s, s:s, s:o, s:o}", "schema", SB_HISTORY_SCHEMA, "store", sb_store_where(s), "query",
			 query, "series", list);
	return 0;
}

/* ---------------------------------------------------------------- reports rebuilt */

static json_t *load_json(const char *text)
{
	return text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
}

int sb_store_rebuild_report(struct sb_store *s, long long result_id, json_t **out, struct sb_error *err)
{
	struct sb_db *db = sb_store_db(s);
	struct sb_db_val id = SB_DB_V_INT(result_id);
	struct sb_db_rows head, aggs, its, smp;
	memset(&aggs, 0, sizeof(aggs));
	memset(&its, 0, sizeof(its));
	memset(&smp, 0, sizeof(smp));
	*out = NULL;
	int rc = sb_db_query(db, "SELECT head FROM results WHERE id = ?", &id, 1, &head, err);
	if (rc < 0)
		return rc;
	json_t *r = head.nrows ? load_json(sb_db_text(&head, 0, 0)) : NULL;
	sb_db_rows_free(&head);
	if (!json_is_object(r)) {
		json_decref(r);
		return sb_error_set(err, ENOENT, "result %lld: not in the store or unreadable", result_id);
	}
	if ((rc = sb_db_query(db, "SELECT doc FROM aggregates WHERE result_id = ? ORDER BY ord", &id, 1, &aggs, err)) < 0 ||
	    (rc = sb_db_query(db,
			      "SELECT seq, iteration, warmup, host_ref_ms, error, extra FROM iterations"
			      " WHERE result_id = ? ORDER BY seq",
			      &id, 1, &its, err)) < 0 ||
	    (rc = sb_db_query(db, "SELECT seq, metric, value FROM samples WHERE result_id = ? ORDER BY seq, metric", &id,
			      1, &smp, err)) < 0)
		goto done;
	json_t *alist = json_array();
	for (size_t i = 0; i < aggs.nrows; i++) {
		json_t *a = load_json(sb_db_text(&aggs, i, 0));
		if (a)
			json_array_append_new(alist, a);
	}
	json_t *samples = json_array();
	size_t k = 0;
	for (size_t i = 0; i < its.nrows; i++) {
		int64_t seq = sb_db_int(&its, i, 0, -1);
		json_t *metrics = json_object();
		for (; k < smp.nrows && sb_db_int(&smp, k, 0, -1) <= seq; k++) {
			if (sb_db_int(&smp, k, 0, -1) < seq || !sb_db_text(&smp, k, 1))
				continue;
			json_object_set_new(metrics, sb_db_text(&smp, k, 1), num_or_null(sb_db_real(&smp, k, 2)));
		}
		json_t *sample = json_pack("{s:I, s:b, s:o}", "iteration", (json_int_t)sb_db_int(&its, i, 1, 0), "warmup",
					   sb_db_int(&its, i, 2, 0) != 0, "metrics", metrics);
		if (!sb_db_is_null(&its, i, 3))
			json_object_set_new(sample, SB_HOST_REF_KEY, json_real(sb_db_real(&its, i, 3)));
		if (sb_db_text(&its, i, 4))
			json_object_set_new(sample, "error", json_string(sb_db_text(&its, i, 4)));
		json_t *extra = load_json(sb_db_text(&its, i, 5));
		if (json_is_object(extra))
			json_object_update_missing(sample, extra);
		json_decref(extra);
		json_array_append_new(samples, sample);
	}
	json_object_set_new(r, "samples", samples);
	json_object_set_new(r, "aggregates", alist);
	char what[64];
	snprintf(what, sizeof(what), "stored result %lld", result_id);
	rc = sb_report_check(r, what, err);
done:
	sb_db_rows_free(&aggs);
	sb_db_rows_free(&its);
	sb_db_rows_free(&smp);
	if (rc < 0)
		json_decref(r);
	else
		*out = r;
	return rc;
}

int sb_store_recent_reports(struct sb_store *s, const json_t *report, size_t n, json_t ***out, size_t *nout,
			    struct sb_error *err)
{
	*out = NULL;
	*nout = 0;
	const json_t *run = json_object_get(report, "run"), *scn = json_object_get(report, "scenario"),
		     *drv = json_object_get(report, "driver");
	char cls[512];
	sb_host_class(json_object_get(run, "host"), cls, sizeof(cls));
	/* As store.c canonicalises them: no params are "{}". */
	const json_t *pv = json_object_get(scn, "params");
	char *params = pv ? json_dumps(pv, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup("{}");
	const char *run_id = json_string_value(json_object_get(run, "id"));
	struct sb_db_val p[] = {
		SB_DB_V_TEXT(json_string_value(json_object_get(scn, "name"))),
		SB_DB_V_TEXT(json_string_value(json_object_get(drv, "name"))),
		SB_DB_V_TEXT(json_string_value(json_object_get(drv, "version"))),
		SB_DB_V_TEXT(params),
		SB_DB_V_TEXT(cls),
		SB_DB_V_TEXT(run_id ? run_id : ""),
		SB_DB_V_INT((int64_t)n),
	};
	struct sb_db_rows rows;
	int rc = sb_db_query(sb_store_db(s),
			     "SELECT r.id FROM results r JOIN runs ru ON ru.id = r.run_pk JOIN hosts h ON h.id = ru.host_id"
			     " WHERE r.side = '' AND r.status = 'ok' AND r.scenario = ? AND r.driver = ?"
			     " AND r.driver_version = ? AND r.params = ? AND h.host_class = ? AND ru.run_id <> ?"
			     " ORDER BY ru.started_unix DESC, r.id DESC LIMIT ?",
			     p, sizeof(p) / sizeof(p[0]), &rows, err);
	free(params);
	if (rc < 0)
		return rc;
	json_t **list = calloc(rows.nrows ? rows.nrows : 1, sizeof(json_t *));
	if (!list) {
		sb_db_rows_free(&rows);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	size_t k = 0;
	for (size_t i = rows.nrows; i-- > 0 && rc == 0;)
		if ((rc = sb_store_rebuild_report(s, (long long)sb_db_int(&rows, i, 0, -1), &list[k], err)) == 0)
			k++;
	sb_db_rows_free(&rows);
	if (rc < 0) {
		for (size_t i = 0; i < k; i++)
			json_decref(list[i]);
		free(list);
		return rc;
	}
	*out = list;
	*nout = k;
	return 0;
}
