/* Reading the store back: a metric's series over time with its change points (`history`), and the
 * last runs of one configuration as reports (`compare --against-history`, baselines). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "store/changepoint.h"
#include "store/store.h"

#define SB_HISTORY_SCHEMA "sandbench.history/v1"

struct sb_history_query {
	const char *scenario, *driver; /* NULL: any */
	const char *metric;            /* NULL: each result's headline (its first aggregate) */
	const char *host;              /* NULL: any; else a hostname_hash, fingerprint or host class */
	double since;                  /* seconds since the epoch; NAN: no bound */
	size_t limit;                  /* the newest N points of each series; 0: all */
	const char *statistic;         /* p50 (default), p90, p95, p99, mean, min, max */
	bool changes;                  /* detect change points */
	struct sb_cp_opts cp;
};

/* Series over time, grouped by scenario, driver, parameters and metric, oldest point first:
 * {schema, store, query, series: [{scenario, driver, params, metric, unit, higher_is_better,
 * statistic, points: [{run_id, started_at, kind, side, host_class, hostname_hash, driver_version,
 * tool_git, n, value}], change_points: [{index, run_id, started_at, before, after, change, p}]}]}.
 * Only results with status ok count. Returns 0 (an empty series list when nothing matches) or
 * -errno; a bad statistic is -EINVAL. */
int sb_store_history(struct sb_store *s, const struct sb_history_query *q, json_t **out, struct sb_error *err);

/* The last n results (reports, not paired sides) with status ok recorded for the same host class,
 * scenario, driver, driver version and parameters as `report`, other than its own run, rebuilt as
 * sandbench.report/v1 documents, oldest first. *out is malloc'd (free each with json_decref). */
int sb_store_recent_reports(struct sb_store *s, const json_t *report, size_t n, json_t ***out, size_t *nout,
			    struct sb_error *err);

/* Rebuild one stored result (by its row id) as a report. */
int sb_store_rebuild_report(struct sb_store *s, long long result_id, json_t **out, struct sb_error *err);
