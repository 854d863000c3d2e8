/* The report model, schema sandbench.report/v1 (docs/report.md; docs/report.schema.json).
 * A report is a jansson object built in key order ("schema" first). The runner builds it; drivers
 * never see it. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/error.h"

#define SB_REPORT_SCHEMA "sandbench.report/v1"

struct sb_report_head {
	const char *run_id;
	const char *started_at;
	const char *scenario, *axis;
	json_t *params;        /* borrowed: {k: v} of every parameter in effect */
	const char *driver, *driver_version;
	unsigned runs, warmup;
	double timeout_s;
	json_t *host;          /* borrowed: sb_host_probe() */
};

/* Metric metadata kept beside the report while it is built: {name: {unit, higher_is_better}}. */
int sb_metric_declare(json_t *meta, const char *name, const char *unit, bool higher_is_better);

json_t *sb_report_new(const struct sb_report_head *h);
/* Append a sample; metrics ({name: number}) is stolen. error may be NULL. */
int sb_report_add_sample(json_t *report, unsigned iteration, bool warmup, json_t *metrics,
			 const char *error);
void sb_report_set_status(json_t *report, const char *status, const char *reason);
const char *sb_report_status(const json_t *report);
json_t *sb_report_tags(json_t *report);
/* Compute aggregates for every declared metric over the non-warmup, error-free samples, set
 * ended_at. Replaces any existing aggregates. */
int sb_report_finalize(json_t *report, const json_t *meta);
/* Build one aggregate object from raw values (also used for derived metrics). */
json_t *sb_aggregate_new(const char *metric, const char *unit, bool higher_is_better,
			 const double *values, size_t n);
/* Find an aggregate by metric name (NULL if absent). */
json_t *sb_report_aggregate(const json_t *report, const char *metric);
/* Raw values of metric over non-warmup, error-free samples, malloc'd into *out. */
/* The host reference: a fixed, tiny workload (spawn and reap SB_HOST_REF_COMMAND) timed right before
 * every iteration, so that compare can tell a change of the host's speed between two runs from a
 * change of the thing measured. Stored per sample under SB_HOST_REF_KEY and summarised by
 * sb_report_finalize() as the report's "host_reference" aggregate. */
#define SB_HOST_REF_KEY "host_ref_ms"
#define SB_HOST_REF_COMMAND "/bin/true"
/* Keep an iteration's time series ({name: {unit, points: [[t, v], ...]}}, borrowed) in the
 * report's additive "series" member: [{iteration, name, unit, points}]. */
int sb_report_add_series(json_t *report, unsigned iteration, const json_t *series);
/* Attach a host reference time to the sample added last. */
int sb_report_sample_set_host_ref(json_t *report, double ms);

int sb_report_values(const json_t *report, const char *metric, double **out, size_t *n);

/* Serialise (indented) and write atomically. */
int sb_report_write(const json_t *report, const char *path, struct sb_error *err);
/* Load and check: valid JSON, schema == SB_REPORT_SCHEMA, required members with the right types. */
int sb_report_load(const char *path, json_t **out, struct sb_error *err);
/* The same checks on an already parsed object; `what` names it in errors. */
int sb_report_check(const json_t *report, const char *what, struct sb_error *err);
