/* The SQLite backend: one file, WAL journal so readers never block the writer, and a busy timeout
 * so several sandbench processes on one host can record at once. */
#include <errno.h>
#include <stdio.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/db.h"

#define BUSY_TIMEOUT_MS 30000

struct sb_db_bulk {
	struct sb_db *db; /* first member: see sb_db_bulk_row */
	sqlite3_stmt *stmt;
	size_t ncols;
};

static sqlite3 *H(struct sb_db *db)
{
	return db->handle;
}

static int fail(struct sb_db *db, int rc, const char *what, struct sb_error *err)
{
	int code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? EBUSY
		   : rc == SQLITE_NOMEM				  ? ENOMEM
		   : rc == SQLITE_CANTOPEN			  ? ENOENT
		   : rc == SQLITE_READONLY || rc == SQLITE_PERM	  ? EACCES
		   : rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT  ? EINVAL
								  : EIO;
	return sb_error_set(err, code, "%s: %s: %s", db->location, what,
			    H(db) ? sqlite3_errmsg(H(db)) : sqlite3_errstr(rc));
}

static int lite_exec(struct sb_db *db, const char *sql, struct sb_error *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(H(db), sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		int r = sb_error_set(err, rc == SQLITE_BUSY ? EBUSY : EIO, "%s: %s", db->location,
				     msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return r;
	}
	return 0;
}

static int bind_all(sqlite3_stmt *st, const struct sb_db_val *p, size_t np)
{
	for (size_t i = 0; i < np; i++) {
		int k = (int)i + 1, rc;
		switch (p[i].t) {
		case SB_DB_INT: rc = sqlite3_bind_int64(st, k, p[i].i); break;
		case SB_DB_REAL: rc = sqlite3_bind_double(st, k, p[i].d); break;
		case SB_DB_TEXT: rc = sqlite3_bind_text(st, k, p[i].s, -1, SQLITE_STATIC); break;
		default: rc = sqlite3_bind_null(st, k); break;
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static int collect_row(sqlite3_stmt *st, struct sb_db_rows *rows)
{
	for (int c = 0; c < (int)rows->ncols; c++) {
		struct sb_db_cell cell = {0};
		switch (sqlite3_column_type(st, c)) {
		case SQLITE_INTEGER: cell.t = SB_DB_INT; cell.i = sqlite3_column_int64(st, c); break;
		case SQLITE_FLOAT: cell.t = SB_DB_REAL; cell.d = sqlite3_column_double(st, c); break;
		case SQLITE_NULL: cell.t = SB_DB_NULL; break;
		default:
			cell.t = SB_DB_TEXT;
			cell.s = strdup((const char *)sqlite3_column_text(st, c));
			if (!cell.s)
				return -ENOMEM;
			break;
		}
		if (sb_db_rows_push(rows, cell) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int lite_query(struct sb_db *db, const char *sql, const struct sb_db_val *p, size_t np,
		      struct sb_db_rows *rows, struct sb_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(H(db), sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(db, rc, "prepare", err);
	if ((rc = bind_all(st, p, np)) != SQLITE_OK) {
		sqlite3_finalize(st);
		return fail(db, rc, "bind", err);
	}
	if (rows)
		rows->ncols = (size_t)sqlite3_column_count(st);
	int out = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rows && collect_row(st, rows) < 0) {
			out = sb_error_set(err, ENOMEM, "out of memory");
			break;
		}
	}
	if (!out && rc != SQLITE_DONE)
		out = fail(db, rc, "query", err);
	sqlite3_finalize(st);
	if (out < 0 && rows)
		sb_db_rows_free(rows);
	return out;
}

static int lite_begin(struct sb_db *db, struct sb_error *err)
{
	return lite_exec(db, "BEGIN IMMEDIATE", err);
}

static int lite_bulk_begin(struct sb_db *db, const char *table, const char *const *cols, size_t ncols,
			   struct sb_db_bulk **out, struct sb_error *err)
{
	char sql[1024];
	size_t o = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (", table);
	for (size_t i = 0; i < ncols && o < sizeof(sql); i++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s%s", i ? ", " : "", cols[i]);
	for (size_t i = 0; i < ncols && o < sizeof(sql); i++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s", i ? ", ?" : ") VALUES (?");
	if (o + 2 >= sizeof(sql))
		return sb_error_set(err, ENAMETOOLONG, "bulk insert into %s: statement too long", table);
	strcat(sql, ")");
	struct sb_db_bulk *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	int rc = sqlite3_prepare_v2(H(db), sql, -1, &b->stmt, NULL);
	if (rc != SQLITE_OK) {
		free(b);
		return fail(db, rc, "prepare bulk insert", err);
	}
	b->db = db;
	b->ncols = ncols;
	*out = b;
	return 0;
}

static int lite_bulk_row(struct sb_db_bulk *b, const struct sb_db_val *vals, struct sb_error *err)
{
	int rc = bind_all(b->stmt, vals, b->ncols);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(b->stmt);
	sqlite3_reset(b->stmt);
	return rc == SQLITE_DONE ? 0 : fail(b->db, rc, "bulk insert", err);
}

static int lite_bulk_end(struct sb_db_bulk *b, bool ok, struct sb_error *err)
{
	(void)ok;
	(void)err;
	sqlite3_finalize(b->stmt);
	free(b);
	return 0;
}

static void lite_close(struct sb_db *db)
{
	sqlite3_close(H(db));
}

static const struct sb_db_ops lite_ops = {
	.exec = lite_exec,
	.query = lite_query,
	.begin = lite_begin,
	.bulk_begin = lite_bulk_begin,
	.bulk_row = lite_bulk_row,
	.bulk_end = lite_bulk_end,
	.close = lite_close,
};

int sb_db_sqlite_open(const char *path, struct sb_db **out, struct sb_error *err)
{
	char *copy = strdup(path);
	if (!copy)
		return sb_error_set(err, ENOMEM, "out of memory");
	const char *dir = dirname(copy);
	if (strcmp(dir, ".") != 0 && sb_mkdir_p(dir, 0755) < 0) {
		int e = errno;
		free(copy);
		return sb_error_set(err, e, "store %s: cannot create directory: %s", path, strerror(e));
	}
	free(copy);
	if (sb_is_dir(path))
		return sb_error_set(err, EISDIR, "store %s: is a directory (give a file, e.g. %s/history.db)", path,
				    path);
	struct sb_db *db = calloc(1, sizeof(*db));
	if (!db || !(db->location = strdup(path))) {
		free(db);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	db->kind = SB_DB_SQLITE;
	db->ops = &lite_ops;
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	db->handle = h;
	if (rc != SQLITE_OK) {
		int r = fail(db, rc, "cannot open", err);
		sb_db_close(db);
		return r;
	}
	sqlite3_busy_timeout(h, BUSY_TIMEOUT_MS);
	/* WAL: readers (history queries) proceed while a run records; NORMAL sync is durable at
	 * every checkpoint and never corrupts. A file that is not a database fails here. */
	rc = lite_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", err);
	if (rc < 0) {
		sb_error_prefix(err, "cannot use as a SQLite store");
		sb_db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}
