/* The session layer: between the verbs (run, matrix, paired) and the runner. A session holds what
 * every result of one invocation shares (run id, start time, host description, live-metrics hook)
 * and hands each finished result to its sinks: JSON files today; the results store, the live
 * registry and the HTML report plug in as further sinks. The verbs never write results
 * themselves, so a new output is one sink, not a change to three verbs. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "scenarios/runner.h"

struct sb_sink {
	const char *name;
	/* A finished scenario report (status ok, skip or error). `where` (may be NULL) receives where
	 * the sink put it, if it has a place to name (a path); sinks without one leave it alone. */
	int (*on_report)(struct sb_sink *sink, const json_t *report, char *where, size_t where_len,
			 struct sb_error *err);
	/* A matrix summary (sandbench.matrix/v1), after its reports. */
	int (*on_matrix)(struct sb_sink *sink, const json_t *summary, struct sb_error *err);
	/* A paired A/B document (sandbench.paired/v1). */
	int (*on_paired)(struct sb_sink *sink, const json_t *paired, struct sb_error *err);
	/* Everything has been handed over: write what the sink gathered (a page of all the results).
	 * Called once by sb_session_finish, before close. */
	int (*finish)(struct sb_sink *sink, struct sb_error *err);
	/* Free the sink. */
	void (*close)(struct sb_sink *sink);
	/* Live boxes, for sinks that watch sandboxes while they run (the metrics registry). */
	sb_box_event_fn box_event;
	/* What such a sink sampled of a box, appended to an iteration's series (sb_scn_box_series). */
	int (*box_series)(struct sb_sink *sink, struct sb_box *box, json_t *series);
};

#define SB_SESSION_MAX_SINKS 8

struct sb_session {
	char run_id[33];
	char started_at[40];
	json_t *host; /* sb_host_probe(), owned */
	struct sb_sink *sinks[SB_SESSION_MAX_SINKS];
	size_t nsinks;
};

/* A new session with a fresh run id and the host probed. Never fails but for memory (NULL). */
struct sb_session *sb_session_new(void);
/* Closes every sink, then frees. NULL is fine. */
void sb_session_free(struct sb_session *s);
/* Take ownership of a sink (closed by sb_session_free, or now when there is no room: -ENOSPC). */
int sb_session_add_sink(struct sb_session *s, struct sb_sink *sink);
/* A new run within the session (run --repeat): new id and start time. */
void sb_session_next_run(struct sb_session *s);
/* Fill the shared fields of runner options: run id, start time, host, and the box-event hook of
 * the sinks that watch boxes. */
void sb_session_fill(struct sb_session *s, struct sb_run_opts *o);
/* Hand a result to every sink; the first failure is returned (the other sinks still get it). */
int sb_session_report(struct sb_session *s, const json_t *report, char *where, size_t where_len,
		      struct sb_error *err);
int sb_session_matrix(struct sb_session *s, const json_t *summary, struct sb_error *err);
int sb_session_paired(struct sb_session *s, const json_t *paired, struct sb_error *err);
/* The invocation is done (also after an interrupt): every sink writes what it gathered. The first
 * failure is returned; the other sinks still finish. */
int sb_session_finish(struct sb_session *s, struct sb_error *err);

/* The JSON file sink. Layouts: */
enum sb_json_layout {
	SB_JSON_RUN_DIR,    /* DIR/<scenario>--<driver>--<run id 8>.json (run) */
	SB_JSON_FILE,       /* one report, or a paired document, to exactly PATH */
	SB_JSON_MATRIX_DIR, /* DIR/<scenario>--<driver>.json and DIR/matrix.json (matrix) */
};
/* Writes atomically (temp file, fsync, rename). The directory must exist. */
struct sb_sink *sb_sink_json_new(const char *path, enum sb_json_layout layout);
/* The HTML sink: gathers every report and paired document of the invocation and, at finish, writes
 * one self-contained page (the same as `sandbench report --html`) to path, atomically. */
struct sb_sink *sb_sink_html_new(const char *path, const char *title);

/* The live-metrics sink: a sampler thread (src/metrics/sampler.h) that watches every box of the
 * session's runs and publishes it into the shared-memory registry; with keep_series it also feeds
 * sb_scn_box_series. NULL with err filled when the registry cannot be used (a bad file). */
struct sb_sampler_opts;
struct sb_sink *sb_sink_live_new(const struct sb_sampler_opts *opts, struct sb_error *err);
/* What boxes watched from now on belong to (the registry's name field: the scenario). */
void sb_sink_live_label(struct sb_sink *sink, const char *label);
/* The first failure to watch a box ("" when none): a full registry, say. */
const char *sb_sink_live_error(struct sb_sink *sink);
