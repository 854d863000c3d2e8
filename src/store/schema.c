/* The store's schema and its migrations. The version lives in sb_meta ('schema_version'); opening a
 * store brings it up to SB_STORE_SCHEMA_VERSION in one transaction, holding the write lock (SQLite)
 * or an advisory lock (PostgreSQL) so that hosts opening a fresh shared store at once migrate it
 * exactly once. docs/history.md describes the tables. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/hostclass.h"
#include "store/schema.h"

/* Version 1: runs, the reports' results with every aggregate, iteration and raw sample. */
static const char v1_sql[] =
	"CREATE TABLE hosts ("
	"  id @ID@,"
	"  fingerprint TEXT NOT NULL UNIQUE," /* hash of the stable identity fields below */
	"  os TEXT, kernel TEXT, arch TEXT, cpu_model TEXT, cpu_count INTEGER, mem_total @BIGINT@,"
	"  hostname_hash TEXT,"
	"  info TEXT NOT NULL);"             /* the host object as first seen */
	"CREATE TABLE runs ("
	"  id @ID@,"
	"  run_id TEXT NOT NULL UNIQUE,"
	"  kind TEXT NOT NULL,"              /* run, matrix, paired */
	"  started_at TEXT, ended_at TEXT, started_unix @REAL@,"
	"  host_id @BIGINT@ REFERENCES hosts (id),"
	"  tool_version TEXT, tool_git TEXT,"
	"  document TEXT,"                   /* matrix summary, or paired document without its pairs */
	"  recorded_at TEXT NOT NULL);"
	"CREATE TABLE results ("
	"  id @ID@,"
	"  run_pk @BIGINT@ NOT NULL REFERENCES runs (id),"
	"  side TEXT NOT NULL,"              /* '' for a report; baseline/current for a paired side */
	"  scenario TEXT NOT NULL, axis TEXT, driver TEXT NOT NULL, driver_version TEXT,"
	"  params TEXT NOT NULL,"            /* canonical JSON: sorted keys, compact */
	"  status TEXT NOT NULL, reason TEXT,"
	"  head TEXT NOT NULL,"              /* the report without samples and aggregates */
	"  UNIQUE (run_pk, scenario, driver, side));"
	"CREATE TABLE aggregates ("
	"  result_id @BIGINT@ NOT NULL REFERENCES results (id),"
	"  ord INTEGER NOT NULL,"            /* position in the report: 0 is the headline metric */
	"  metric TEXT NOT NULL, unit TEXT, higher_is_better INTEGER, n INTEGER,"
	"  min @REAL@, p50 @REAL@, p90 @REAL@, p95 @REAL@, p99 @REAL@, max @REAL@, mean @REAL@,"
	"  stdev @REAL@, cv @REAL@,"
	"  doc TEXT NOT NULL,"               /* the whole aggregate object */
	"  PRIMARY KEY (result_id, metric));"
	"CREATE TABLE iterations ("
	"  result_id @BIGINT@ NOT NULL REFERENCES results (id),"
	"  seq INTEGER NOT NULL,"            /* position in the report's samples array */
	"  iteration INTEGER, warmup INTEGER NOT NULL, host_ref_ms @REAL@, error TEXT,"
	"  extra TEXT,"                      /* any other members of the sample, as JSON */
	"  PRIMARY KEY (result_id, seq));"
	"CREATE TABLE samples ("
	"  result_id @BIGINT@ NOT NULL REFERENCES results (id),"
	"  seq INTEGER NOT NULL, metric TEXT NOT NULL, value @REAL@,"
	"  PRIMARY KEY (result_id, seq, metric));";

/* Version 2: the host class (baselines and compare --against-history select by it) and the
 * indexes the history query needs to stay fast as the store grows. */
static const char v2_sql[] =
	"ALTER TABLE hosts ADD COLUMN host_class TEXT;"
	"CREATE INDEX hosts_class ON hosts (host_class);"
	"CREATE INDEX results_series ON results (scenario, driver);"
	"CREATE INDEX aggregates_metric ON aggregates (metric);"
	"CREATE INDEX runs_started ON runs (started_unix);"
	"CREATE INDEX runs_host ON runs (host_id);";

/* Existing hosts get their class from the host object they were recorded with. */
static int fill_host_class(struct sb_db *db, struct sb_error *err)
{
	struct sb_db_rows rows;
	int rc = sb_db_query(db, "SELECT id, info FROM hosts WHERE host_class IS NULL", NULL, 0, &rows, err);
	for (size_t i = 0; rc == 0 && i < rows.nrows; i++) {
		json_t *host = json_loads(sb_db_text(&rows, i, 1) ? sb_db_text(&rows, i, 1) : "{}", 0, NULL);
		char cls[512];
		sb_host_class(host, cls, sizeof(cls));
		json_decref(host);
		struct sb_db_val p[] = {SB_DB_V_TEXT(cls), SB_DB_V_INT(sb_db_int(&rows, i, 0, -1))};
		rc = sb_db_query(db, "UPDATE hosts SET host_class = ? WHERE id = ?", p, 2, NULL, err);
	}
	sb_db_rows_free(&rows);
	return rc;
}

static const struct {
	const char *sql;
	int (*after)(struct sb_db *db, struct sb_error *err);
} migrations[SB_STORE_SCHEMA_VERSION] = {
	{v1_sql, NULL},
	{v2_sql, fill_host_class},
};

static int read_version(struct sb_db *db, int *version, struct sb_error *err)
{
	struct sb_db_rows rows;
	int rc = sb_db_query(db, "SELECT value FROM sb_meta WHERE key = 'schema_version'", NULL, 0, &rows, err);
	if (rc < 0)
		return rc;
	*version = rows.nrows ? (int)sb_db_int(&rows, 0, 0, -1) : 0;
	sb_db_rows_free(&rows);
	if (*version < 0)
		return sb_error_set(err, EINVAL, "%s: schema_version is not a number", "store");
	return 0;
}

int sb_store_schema_version(struct sb_db *db, int *version, struct sb_error *err)
{
	struct sb_db_rows rows;
	/* A database without sb_meta is a new (or foreign) one: version 0. */
	const char *probe = sb_db_kind(db) == SB_DB_POSTGRES
				    ? "SELECT to_regclass('sb_meta') IS NOT NULL"
				    : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sb_meta'";
	int rc = sb_db_query(db, probe, NULL, 0, &rows, err);
	if (rc < 0)
		return rc;
	const char *t = sb_db_text(&rows, 0, 0);
	bool exists = t ? (t[0] == 't' || t[0] == '1') : sb_db_int(&rows, 0, 0, 0) > 0;
	sb_db_rows_free(&rows);
	if (!exists) {
		*version = 0;
		return 0;
	}
	return read_version(db, version, err);
}

static int tables_without_meta(struct sb_db *db, bool *any, struct sb_error *err)
{
	struct sb_db_rows rows;
	const char *q = sb_db_kind(db) == SB_DB_POSTGRES
				? "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
				  " AND table_name IN ('hosts', 'runs', 'results', 'samples')"
				: "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				  " AND name IN ('hosts', 'runs', 'results', 'samples')";
	int rc = sb_db_query(db, q, NULL, 0, &rows, err);
	if (rc < 0)
		return rc;
	*any = sb_db_int(&rows, 0, 0, 0) > 0;
	sb_db_rows_free(&rows);
	return 0;
}

int sb_store_migrate(struct sb_db *db, int target, struct sb_error *err)
{
	if (target < 1 || target > SB_STORE_SCHEMA_VERSION)
		return sb_error_set(err, EINVAL, "schema version %d is not one this sandbench knows", target);
	int version, rc = sb_store_schema_version(db, &version, err);
	if (rc < 0)
		return rc;
	if (version > SB_STORE_SCHEMA_VERSION)
		return sb_error_set(err, EPROTO,
				    "store %s has schema version %d, newer than this sandbench's %d: upgrade sandbench",
				    db->location, version, SB_STORE_SCHEMA_VERSION);
	if (version >= target)
		return 0;
	if ((rc = sb_db_begin(db, err)) < 0)
		return rc;
	if (sb_db_kind(db) == SB_DB_POSTGRES) {
		/* Serialise migrations of a shared store; the lock ends with the transaction. The key
		 * is an arbitrary constant ("sandbench" in ASCII, truncated). */
		rc = sb_db_exec(db, "SELECT pg_advisory_xact_lock(7453206534)", err);
	}
	if (rc == 0)
		rc = sb_db_exec(db, "CREATE TABLE IF NOT EXISTS sb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)", err);
	/* Another process may have migrated while this one waited for the lock: read again. */
	if (rc == 0)
		rc = read_version(db, &version, err);
	if (rc == 0 && version == 0) {
		bool foreign;
		rc = tables_without_meta(db, &foreign, err);
		if (rc == 0 && foreign)
			rc = sb_error_set(err, EINVAL,
					  "the database has tables named like the store's but no schema version: "
					  "not a sandbench store");
	}
	for (int v = version + 1; rc == 0 && v <= target; v++) {
		char *sql = sb_db_dialect(db, migrations[v - 1].sql);
		rc = sql ? sb_db_exec(db, sql, err) : sb_error_set(err, ENOMEM, "out of memory");
		free(sql);
		if (rc == 0 && migrations[v - 1].after)
			rc = migrations[v - 1].after(db, err);
		if (rc < 0)
			sb_error_prefix(err, "migrating the store to schema version %d", v);
	}
	if (rc == 0 && version < target) {
		char num[16];
		snprintf(num, sizeof(num), "%d", target);
		struct sb_db_val p[] = {SB_DB_V_TEXT(num)};
		rc = sb_db_query(db,
				 version == 0 ? "INSERT INTO sb_meta (key, value) VALUES ('schema_version', ?)"
					      : "UPDATE sb_meta SET value = ? WHERE key = 'schema_version'",
				 p, 1, NULL, err);
	}
	if (rc < 0) {
		sb_db_rollback(db);
		return rc;
	}
	return sb_db_commit(db, err);
}
