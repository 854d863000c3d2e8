/* The results store: every finished run, matrix and paired A/B, with the host, tool and driver
 * versions, scenario and parameters, every aggregate and every raw sample, in SQLite (a file, the
 * default) or PostgreSQL (shared by many hosts). docs/history.md. Library code: never prints. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

struct sb_store;

/* Where to record. opt: the --store value (may be NULL); no_store: --no-store. Else
 * $SANDBENCH_STORE ("off" or "none": do not record), else $XDG_DATA_HOME/sandbench/history.db, else
 * $HOME/.local/share/sandbench/history.db. Returns 1 with buf set, 0 when recording is off, or
 * -errno (no HOME, name too long). */
int sb_store_location(const char *opt, bool no_store, char *buf, size_t len, struct sb_error *err);

/* Open (creating and migrating as needed) the store at a location: a file path (SQLite) or a
 * postgresql:// URI. */
int sb_store_open(const char *location, struct sb_store **out, struct sb_error *err);
void sb_store_close(struct sb_store *s);
/* The location for messages (PostgreSQL password masked). */
const char *sb_store_where(const struct sb_store *s);
/* The backend's handle, for the query code (store/query.c) and tests. */
struct sb_db *sb_store_db(struct sb_store *s);

/* What recording did: results (reports, paired sides) newly added, and those already present
 * (a document recorded twice changes nothing). */
struct sb_store_outcome {
	unsigned added, present;
};

/* Record a sandbench.report/v1 (checked first): host, run, result, aggregates, samples. A report
 * whose run id, scenario and driver are already in the store is left as it is. */
int sb_store_record_report(struct sb_store *s, const json_t *report, struct sb_store_outcome *o,
			   struct sb_error *err);
/* Record a matrix summary (sandbench.matrix/v1): its run becomes a matrix run holding the summary.
 * The cells' reports are recorded on their own (sb_store_record_report, or import). */
int sb_store_record_matrix(struct sb_store *s, const json_t *summary, struct sb_store_outcome *o,
			   struct sb_error *err);
/* Record a paired A/B (sandbench.paired/v1): the run with its analysis, and each side as a result
 * whose samples are the side's runs, pair by pair. */
int sb_store_record_paired(struct sb_store *s, const json_t *paired, struct sb_store_outcome *o,
			   struct sb_error *err);

/* Import files: a report, matrix summary (with the reports it lists) or paired document, or a
 * directory walked recursively for *.json. Other sandbench documents (compare results, budgets)
 * and JSON without a sandbench schema are skipped and counted; malformed JSON or an invalid report
 * is an error naming the file (what was imported before stays). */
struct sb_store_import_stats {
	unsigned files, documents, skipped;
	struct sb_store_outcome results;
};
int sb_store_import(struct sb_store *s, const char *path, struct sb_store_import_stats *st,
		    struct sb_error *err);

/* The store as a session sink (store/sink.c): opens the store now (an error is returned at once),
 * then records every report, matrix summary and paired document handed to it. A recording failure
 * never fails the session: it is kept and reported by sb_store_sink_status (-errno with the first
 * failure in err, 0 when all went in), with what was recorded and where. */
struct sb_sink;
int sb_store_sink_new(const char *location, struct sb_sink **out, struct sb_error *err);
int sb_store_sink_status(const struct sb_sink *sink, struct sb_store_outcome *outcome, const char **where,
			 struct sb_error *err);

/* Seconds since the epoch of an RFC 3339 time ("2026-12-06T01:41:27.174Z", offsets allowed, or a
 * bare date), NAN when it does not parse. */
double sb_store_parse_time(const char *t);
