/* `compare`: two sets of reports (a report, a directory of reports, or a matrix summary on each
 * side) paired by scenario+driver, guarded, and judged metric by metric with a Mann-Whitney test on
 * the raw samples plus a relative threshold (docs/compare.md). Library code: fills JSON and error
 * objects, never prints. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compare/budgets.h"
#include "compare/decide.h"
#include "core/error.h"

#define SB_COMPARE_SCHEMA "sandbench.compare/v1"
#define SB_MATRIX_SCHEMA "sandbench.matrix/v1"

enum sb_input_kind {
	SB_INPUT_REPORT = 0, /* one report file */
	SB_INPUT_DIR,        /* every report in a directory */
	SB_INPUT_MATRIX,     /* a sandbench.matrix/v1 summary listing report files */
};

/* One side of a comparison: the reports it holds, each with the file it came from. */
struct sb_compare_input {
	char *path;
	enum sb_input_kind kind;
	json_t **reports;
	char **files;
	size_t n;
	size_t skipped;   /* JSON files of other sandbench kinds ignored in a directory */
};

/* Load PATH: a directory (every *.json report in it, sorted by name; compare/paired/matrix/budgets
 * documents are skipped), a sandbench.matrix/v1 summary (its "reports" paths are relative to the
 * summary's directory) or a single sandbench.report/v1. `label` ("baseline", "current") names the
 * side in errors. Any file with another schema, malformed JSON or a failing report check is an
 * error naming the file. Returns 0 or negative errno with err set; free with
 * sb_compare_input_free (also after a failure). */
int sb_compare_input_load(const char *path, const char *label, struct sb_compare_input *in,
			  struct sb_error *err);
void sb_compare_input_free(struct sb_compare_input *in);
/* Append a report (taken over, also on failure) to an input, named `file` in messages. */
int sb_compare_input_push(struct sb_compare_input *in, json_t *r, const char *file, struct sb_error *err);

struct sb_compare_opts {
	struct sb_budget_rule defaults; /* statistic, threshold, alpha in force before budgets */
	unsigned cli_set;               /* SB_BUDGET_CLI_* bits: which defaults the user gave */
	const struct sb_budgets *budgets; /* may be NULL */
	bool allow_mismatch;    /* scenario/driver/parameter/unit differences: warn, don't fail */
	bool strict;            /* a metric or report missing on one side is an error */
	bool host_mismatch_error;
	bool no_correction;     /* test each metric at alpha, not alpha / metrics tested */
	bool no_normalize;      /* --normalize none: never scale time metrics by the host reference */
	bool fail_on_warn;      /* only recorded, and used by sb_compare_exit_code */
};

/* Compare. On a guard failure (mismatch without allow_mismatch, host mismatch with
 * host_mismatch_error, missing metrics or reports with strict, nothing in common) returns -EINVAL
 * with err holding one line naming what is wrong; otherwise 0 with *result a sandbench.compare/v1
 * object (docs/compare.schema.json) whose "warnings" array lists the non-fatal guard findings. */
int sb_compare(const struct sb_compare_input *base, const struct sb_compare_input *cur,
	       const struct sb_compare_opts *o, json_t **result, struct sb_error *err);

/* Exit code for a result: 2 when any metric is a regression, else 3 when fail_on_warn and there is
 * a `warn` verdict or a guard warning, else 0. */
int sb_compare_exit_code(const json_t *result, bool fail_on_warn);

/* One side's raw samples of a metric, in time order. When the side pools several runs (sessions)
 * of the same scenario+driver, session_len[0..sessions-1] are the lengths of their consecutive
 * chunks of v; sessions 0 or 1 means one run. agg (may be NULL) is an aggregate whose statistic
 * is shown when there are no raw samples. */
struct sb_metric_samples {
	const double *v;
	size_t n;
	const size_t *session_len;
	size_t sessions;
	const json_t *agg;
};

/* The statistic st of n values (any order; n > 0). */
double sb_compare_statistic(const double *v, size_t n, enum sb_statistic st);

/* Judge one metric (exposed for tests). Either side may be empty (derived metric: n/a). Returns a
 * new object as in "comparisons[].metrics[]" and its verdict in *v. */
json_t *sb_compare_metric(const char *metric, const char *unit, bool higher_is_better,
			  const struct sb_budget_rule *rule, const struct sb_metric_samples *base,
			  const struct sb_metric_samples *cur, enum sb_verdict *v);
