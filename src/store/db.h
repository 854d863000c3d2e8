/* A small SQL layer over two backends, SQLite (a file) and PostgreSQL (libpq), so the results store
 * is written once. SQL is written with `?` placeholders (turned into $1.. for PostgreSQL) and the
 * schema text with a few dialect tokens (db_sql_dialect). Library code: fills sb_error, never
 * prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum sb_db_type { SB_DB_NULL = 0, SB_DB_INT, SB_DB_REAL, SB_DB_TEXT };

/* A parameter: borrowed text, or a number. */
struct sb_db_val {
	enum sb_db_type t;
	int64_t i;
	double d;
	const char *s;
};
#define SB_DB_V_NULL ((struct sb_db_val){.t = SB_DB_NULL})
#define SB_DB_V_INT(x) ((struct sb_db_val){.t = SB_DB_INT, .i = (x)})
#define SB_DB_V_REAL(x) ((struct sb_db_val){.t = SB_DB_REAL, .d = (x)})
/* Text, or NULL when the pointer is NULL. */
static inline struct sb_db_val sb_db_v_text(const char *s)
{
	return (struct sb_db_val){.t = s ? SB_DB_TEXT : SB_DB_NULL, .s = s};
}
#define SB_DB_V_TEXT(x) sb_db_v_text(x)

/* A result set, owned by the caller (sb_db_rows_free). Cells keep the backend's type: SQLite
 * columns as stored, PostgreSQL ones as text (converted by the accessors). */
struct sb_db_cell {
	enum sb_db_type t;
	int64_t i;
	double d;
	char *s;
};
struct sb_db_rows {
	size_t nrows, ncols;
	struct sb_db_cell *cells; /* row-major */
	size_t ncells, cap;       /* while a backend fills it */
};

enum sb_db_kind { SB_DB_SQLITE = 1, SB_DB_POSTGRES };

struct sb_db;
struct sb_db_bulk;

/* Open a store location: "postgresql://..." / "postgres://..." (libpq connection URI), or a file
 * path for SQLite (created with its parent directories). Returns 0 or -errno with err set. */
int sb_db_open(const char *location, struct sb_db **out, struct sb_error *err);
void sb_db_close(struct sb_db *db);
enum sb_db_kind sb_db_kind(const struct sb_db *db);

/* One or more statements without parameters (DDL, transaction control). */
int sb_db_exec(struct sb_db *db, const char *sql, struct sb_error *err);
/* One statement with `?` parameters; rows (may be NULL when none are wanted) receives the result. */
int sb_db_query(struct sb_db *db, const char *sql, const struct sb_db_val *params, size_t nparams,
		struct sb_db_rows *rows, struct sb_error *err);
/* A write transaction. SQLite takes the write lock at once (BEGIN IMMEDIATE, waiting up to the busy
 * timeout for other writers); PostgreSQL runs READ COMMITTED, unique keys settle races. */
int sb_db_begin(struct sb_db *db, struct sb_error *err);
int sb_db_commit(struct sb_db *db, struct sb_error *err);
void sb_db_rollback(struct sb_db *db);

/* Many rows into one table: a prepared INSERT reused (SQLite) or COPY FROM STDIN (PostgreSQL).
 * Columns are named once; every row gives ncols values. End with sb_db_bulk_end, which also frees
 * (after an error too). */
int sb_db_bulk_begin(struct sb_db *db, const char *table, const char *const *cols, size_t ncols,
		     struct sb_db_bulk **out, struct sb_error *err);
int sb_db_bulk_row(struct sb_db_bulk *b, const struct sb_db_val *vals, struct sb_error *err);
int sb_db_bulk_end(struct sb_db_bulk *b, bool ok, struct sb_error *err);

/* Schema text for this backend: @ID@ (an auto-numbered 64-bit primary key), @BIGINT@, @REAL@
 * (a double) replaced. Returns a malloc'd string or NULL. */
char *sb_db_dialect(const struct sb_db *db, const char *sql);

void sb_db_rows_free(struct sb_db_rows *r);
/* Accessors; out-of-range or NULL cells give NULL / NAN / def. */
const char *sb_db_text(const struct sb_db_rows *r, size_t row, size_t col);
double sb_db_real(const struct sb_db_rows *r, size_t row, size_t col);
int64_t sb_db_int(const struct sb_db_rows *r, size_t row, size_t col, int64_t def);
bool sb_db_is_null(const struct sb_db_rows *r, size_t row, size_t col);

/* Backend entry points (db_sqlite.c, db_pg.c), used by db.c. */
struct sb_db_ops {
	int (*exec)(struct sb_db *db, const char *sql, struct sb_error *err);
	int (*query)(struct sb_db *db, const char *sql, const struct sb_db_val *p, size_t np,
		     struct sb_db_rows *rows, struct sb_error *err);
	int (*begin)(struct sb_db *db, struct sb_error *err);
	int (*bulk_begin)(struct sb_db *db, const char *table, const char *const *cols, size_t ncols,
			  struct sb_db_bulk **out, struct sb_error *err);
	int (*bulk_row)(struct sb_db_bulk *b, const struct sb_db_val *vals, struct sb_error *err);
	int (*bulk_end)(struct sb_db_bulk *b, bool ok, struct sb_error *err);
	void (*close)(struct sb_db *db);
};
struct sb_db {
	enum sb_db_kind kind;
	const struct sb_db_ops *ops;
	void *handle;
	char *location; /* for error messages: the path, or the URI without its password */
	bool in_tx;
};
int sb_db_sqlite_open(const char *path, struct sb_db **out, struct sb_error *err);
int sb_db_pg_open(const char *uri, struct sb_db **out, struct sb_error *err);
/* Append one cell to a growing result (backends building rows; ncols set first). The cell's text
 * is taken over. nrows follows the complete rows. */
int sb_db_rows_push(struct sb_db_rows *r, struct sb_db_cell c);
