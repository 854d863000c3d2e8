/* The PostgreSQL backend (libpq): text parameters and results, COPY for bulk rows. Built only when
 * libpq's headers are found; otherwise opening a postgresql:// store says so. libpq is loaded with
 * dlopen on the first PostgreSQL store: linked in, it and the ~20 libraries it pulls (Kerberos,
 * LDAP, TLS) cost every sandbench process ~5 ms at start, store or not. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

/* A URI with its password masked, for error messages. */
static char *mask_password(const char *uri)
{
	char *s = strdup(uri);
	if (!s)
		return NULL;
	char *start = strstr(s, "://");
	if (!start)
		return s;
	start += 3;
	char *at = strchr(start, '@'), *slash = strchr(start, '/');
	if (!at || (slash && slash < at))
		return s;
	char *colon = memchr(start, ':', (size_t)(at - start));
	if (colon) {
		memmove(colon + 4, at, strlen(at) + 1);
		memcpy(colon, ":***", 4);
	}
	return s;
}

#ifndef SB_HAVE_LIBPQ
int sb_db_pg_open(const char *uri, struct sb_db **out, struct sb_error *err)
{
	char *shown = mask_password(uri);
	int rc = sb_error_set(err, ENOTSUP, "store %s: this sandbench was built without PostgreSQL support (libpq-dev)",
			      shown ? shown : "postgresql://");
	free(shown);
	*out = NULL;
	return rc;
}
#else
#include <dlfcn.h>
#include <libpq-fe.h>

#define PQ_FUNCS(X)                                                                                 \
	X(PQconnectdb) X(PQstatus) X(PQerrorMessage) X(PQfinish) X(PQsetNoticeProcessor) X(PQexec)  \
	X(PQexecParams) X(PQresultStatus) X(PQresultErrorMessage) X(PQresultErrorField) X(PQclear)    \
	X(PQntuples) X(PQnfields) X(PQgetisnull) X(PQgetvalue) X(PQputCopyData) X(PQputCopyEnd)       \
	X(PQgetResult)
#define PQ_POINTER(name) static __typeof__(&name) p_##name;
PQ_FUNCS(PQ_POINTER)
#define PQconnectdb p_PQconnectdb
#define PQstatus p_PQstatus
#define PQerrorMessage p_PQerrorMessage
#define PQfinish p_PQfinish
#define PQsetNoticeProcessor p_PQsetNoticeProcessor
#define PQexec p_PQexec
#define PQexecParams p_PQexecParams
#define PQresultStatus p_PQresultStatus
#define PQresultErrorMessage p_PQresultErrorMessage
#define PQresultErrorField p_PQresultErrorField
#define PQclear p_PQclear
#define PQntuples p_PQntuples
#define PQnfields p_PQnfields
#define PQgetisnull p_PQgetisnull
#define PQgetvalue p_PQgetvalue
#define PQputCopyData p_PQputCopyData
#define PQputCopyEnd p_PQputCopyEnd
#define PQgetResult p_PQgetResult

/* Load libpq once; the library stays loaded for the life of the process. */
static int load_libpq(struct sb_error *err)
{
	static void *lib;
	if (lib)
		return 0;
	void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return sb_error_set(err, ENOTSUP, "cannot load libpq.so.5 for a PostgreSQL store (Debian package libpq5): %s",
				    dlerror());
#define PQ_LOAD(name)                                                                               \
	if (!(*(void **)&p_##name = dlsym(h, #name))) {                                             \
		dlclose(h);                                                                         \
		return sb_error_set(err, ENOTSUP, "libpq.so.5 lacks %s", #name);                     \
	}
	PQ_FUNCS(PQ_LOAD)
#undef PQ_LOAD
	lib = h;
	return 0;
}

struct sb_db_bulk {
	struct sb_db *db; /* first member: see sb_db_bulk_row */
	size_t ncols;
	char *buf;
	size_t len, cap;
};

#define COPY_CHUNK (256 * 1024)

static PGconn *C(struct sb_db *db)
{
	return db->handle;
}

/* The first line of libpq's message (they end with a newline and may carry DETAIL lines). */
static int pg_fail(struct sb_db *db, const PGresult *res, const char *what, struct sb_error *err)
{
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(C(db));
	if (!msg || !*msg)
		msg = PQerrorMessage(C(db));
	char line[400];
	snprintf(line, sizeof(line), "%s", msg);
	line[strcspn(line, "\n")] = '\0';
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	int code = EIO;
	if (PQstatus(C(db)) != CONNECTION_OK)
		code = ECONNRESET;
	else if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01")))
		code = EAGAIN;
	return sb_error_set(err, code, "%s: %s: %s", db->location, what, line);
}

static void no_notices(void *arg, const char *message)
{
	/* "relation already exists, skipping" and the like: library code never prints. */
	(void)arg;
	(void)message;
}

static int pg_exec(struct sb_db *db, const char *sql, struct sb_error *err)
{
	PGresult *res = PQexec(C(db), sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = pg_fail(db, res, "statement", err);
	PQclear(res);
	return rc;
}

/* `?` placeholders to $1, $2 ... (the store's SQL has no '?' inside literals). */
static char *placeholders(const char *sql)
{
	size_t n = 0;
	for (const char *s = sql; *s; s++)
		n += *s == '?';
	char *out = malloc(strlen(sql) + n * 4 + 1), *o = out;
	if (!out)
		return NULL;
	unsigned k = 0;
	for (const char *s = sql; *s; s++) {
		if (*s == '?')
			o += sprintf(o, "$%u", ++k);
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

static char *val_text(const struct sb_db_val *v, char *buf, size_t len)
{
	switch (v->t) {
	case SB_DB_INT: snprintf(buf, len, "%lld", (long long)v->i); return buf;
	case SB_DB_REAL: snprintf(buf, len, "%.17g", v->d); return buf;
	case SB_DB_TEXT: return (char *)v->s;
	default: return NULL;
	}
}

static int pg_query(struct sb_db *db, const char *sql, const struct sb_db_val *p, size_t np,
		    struct sb_db_rows *rows, struct sb_error *err)
{
	char *q = placeholders(sql);
	const char **vals = calloc(np ? np : 1, sizeof(char *));
	char (*num)[40] = calloc(np ? np : 1, sizeof(*num));
	if (!q || !vals || !num) {
		free(q);
		free(vals);
		free(num);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < np; i++)
		vals[i] = val_text(&p[i], num[i], sizeof(num[i]));
	PGresult *res = PQexecParams(C(db), q, (int)np, NULL, vals, NULL, NULL, 0);
	free(q);
	free(vals);
	free(num);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc = pg_fail(db, res, "query", err);
	} else if (rows && st == PGRES_TUPLES_OK) {
		int nr = PQntuples(res), nc = PQnfields(res);
		rows->ncols = (size_t)nc;
		for (int r = 0; r < nr && !rc; r++)
			for (int c = 0; c < nc && !rc; c++) {
				struct sb_db_cell cell = {.t = SB_DB_NULL};
				if (!PQgetisnull(res, r, c)) {
					cell.t = SB_DB_TEXT;
					if (!(cell.s = strdup(PQgetvalue(res, r, c))))
						rc = sb_error_set(err, ENOMEM, "out of memory");
				}
				if (!rc && sb_db_rows_push(rows, cell) < 0)
					rc = sb_error_set(err, ENOMEM, "out of memory");
			}
		if (rc)
			sb_db_rows_free(rows);
	}
	PQclear(res);
	return rc;
}

static int pg_begin(struct sb_db *db, struct sb_error *err)
{
	return pg_exec(db, "BEGIN", err);
}

static int pg_bulk_begin(struct sb_db *db, const char *table, const char *const *cols, size_t ncols,
			 struct sb_db_bulk **out, struct sb_error *err)
{
	char sql[1024];
	size_t o = (size_t)snprintf(sql, sizeof(sql), "COPY %s (", table);
	for (size_t i = 0; i < ncols && o < sizeof(sql); i++)
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, "%s%s", i ? ", " : "", cols[i]);
	if (o + 20 >= sizeof(sql))
		return sb_error_set(err, ENAMETOOLONG, "bulk insert into %s: statement too long", table);
	strcat(sql, ") FROM STDIN");
	PGresult *res = PQexec(C(db), sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		int rc = pg_fail(db, res, "COPY", err);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	struct sb_db_bulk *b = calloc(1, sizeof(*b));
	if (!b) {
		PQputCopyEnd(C(db), "out of memory");
		PQclear(PQgetResult(C(db)));
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	b->db = db;
	b->ncols = ncols;
	*out = b;
	return 0;
}

static int put(struct sb_db_bulk *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : COPY_CHUNK;
		while (cap < b->len + n)
			cap *= 2;
		char *nb = realloc(b->buf, cap);
		if (!nb)
			return -ENOMEM;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	return 0;
}

static int flush(struct sb_db_bulk *b, struct sb_error *err)
{
	if (b->len && PQputCopyData(C(b->db), b->buf, (int)b->len) != 1)
		return pg_fail(b->db, NULL, "COPY data", err);
	b->len = 0;
	return 0;
}

static int pg_bulk_row(struct sb_db_bulk *b, const struct sb_db_val *vals, struct sb_error *err)
{
	for (size_t i = 0; i < b->ncols; i++) {
		char num[40];
		const char *t = val_text(&vals[i], num, sizeof(num));
		int rc = i ? put(b, "\t", 1) : 0;
		if (!t) {
			rc = rc ? rc : put(b, "\\N", 2);
		} else {
			/* COPY text format: escape the backslash and the separators. */
			for (const char *s = t; *s && !rc; s++) {
				const char *esc = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t" : *s == '\n' ? "\\n"
						  : *s == '\r' ? "\\r" : NULL;
				rc = esc ? put(b, esc, 2) : put(b, s, 1);
			}
		}
		if (rc)
			return sb_error_set(err, ENOMEM, "out of memory");
	}
	if (put(b, "\n", 1) < 0)
		return sb_error_set(err, ENOMEM, "out of memory");
	return b->len >= COPY_CHUNK ? flush(b, err) : 0;
}

static int pg_bulk_end(struct sb_db_bulk *b, bool ok, struct sb_error *err)
{
	struct sb_db *db = b->db;
	int rc = ok ? flush(b, err) : 0;
	bool good = ok && rc == 0;
	if (PQputCopyEnd(C(db), good ? NULL : "aborted") != 1 && good)
		rc = pg_fail(db, NULL, "COPY end", err);
	PGresult *res;
	while ((res = PQgetResult(C(db)))) {
		if (good && !rc && PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = pg_fail(db, res, "COPY", err);
		PQclear(res);
	}
	free(b->buf);
	free(b);
	return rc;
}

static void pg_close(struct sb_db *db)
{
	PQfinish(C(db));
}

static const struct sb_db_ops pg_ops = {
	.exec = pg_exec,
	.query = pg_query,
	.begin = pg_begin,
	.bulk_begin = pg_bulk_begin,
	.bulk_row = pg_bulk_row,
	.bulk_end = pg_bulk_end,
	.close = pg_close,
};

int sb_db_pg_open(const char *uri, struct sb_db **out, struct sb_error *err)
{
	*out = NULL;
	int lrc = load_libpq(err);
	if (lrc < 0)
		return lrc;
	struct sb_db *db = calloc(1, sizeof(*db));
	if (!db || !(db->location = mask_password(uri))) {
		free(db);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	db->kind = SB_DB_POSTGRES;
	db->ops = &pg_ops;
	PGconn *c = PQconnectdb(uri);
	db->handle = c;
	if (!c || PQstatus(c) != CONNECTION_OK) {
		char line[400];
		snprintf(line, sizeof(line), "%s", c ? PQerrorMessage(c) : "out of memory");
		line[strcspn(line, "\n")] = '\0';
		int rc = sb_error_set(err, ECONNREFUSED, "store %s: cannot connect: %s", db->location, line);
		sb_db_close(db);
		return rc;
	}
	PQsetNoticeProcessor(c, no_notices, NULL);
	*out = db;
	return 0;
}
#endif
