/* `paired`: A/B of two commands or two scenario runs, interleaved in pairs with alternating order
 * (ABBA), analysed on per-pair differences: paired t on log ratios, Wilcoxon signed-rank with the
 * Hodges-Lehmann shift and its CI, optional sequential looks with a Bonferroni split of alpha
 * (docs/compare.md). Library code: never prints. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compare/decide.h"
#include "core/error.h"

#define SB_PAIRED_SCHEMA "sandbench.paired/v1"

/* Measure one run of one side. Declares each metric it reports in `meta` with sb_metric_declare
 * (core/report.h) and returns *run = {"metrics": {name: number}, ...side-specific fields}. A run
 * that happened but failed (non-zero exit, timeout, a scenario error) adds "error": "why" and
 * returns 0; the scheduler then stops. A negative return (cannot spawn, -EINTR) aborts too. */
typedef int (*sb_paired_measure_fn)(void *ctx, unsigned pair, bool warmup, json_t *meta, json_t **run,
				    struct sb_error *err);

struct sb_paired_side {
	sb_paired_measure_fn measure;
	void *ctx;
};

struct sb_paired_opts {
	unsigned pairs;            /* measured pairs at the first look (>= 1) */
	unsigned warmup;           /* warmup pairs, recorded but excluded */
	double alpha;              /* family-wise, split over the planned looks */
	double threshold;          /* relative, e.g. 0.10 */
	bool ci_rule;              /* --fail-on-regression: the CI must lie beyond the threshold */
	bool require_significance; /* add pairs until the gated metrics are significant ... */
	unsigned max_retries;      /* ... at most this many times */
	const char *const *gate;   /* metric globs that decide the verdict; NULL: the first metric */
	size_t ngate;
	/* Called after each run (may be NULL): for a progress line in the CLI. */
	void (*progress)(void *ctx, unsigned done_pairs, unsigned target_pairs, bool warmup);
	void *progress_ctx;
};

/* A new paired document: schema, tool, run {id, started_at, host}, mode ("command"/"driver"),
 * baseline and current descriptions (stolen). host is borrowed. */
json_t *sb_paired_doc_new(const char *mode, json_t *baseline, json_t *current, json_t *host);

/* Run warmup pairs, then measured pairs in ABBA order, looking once (or up to max_retries + 1
 * times with growing batches), and fill doc with "config", "pairs", "sequential", "analysis",
 * "verdict", "reasons" and run.ended_at. Returns 0; -EINTR when interrupted; or a negative errno
 * with err set when a run failed or could not start. In every case doc holds the pairs measured
 * so far and a verdict ("error"/"interrupted" on failure), so the caller can still write it. */
int sb_paired_execute(const struct sb_paired_side *baseline, const struct sb_paired_side *current,
		      const struct sb_paired_opts *o, json_t *doc, struct sb_error *err);

/* Analyse one metric over n pairs (b[i], c[i]) at significance `alpha` (exposed for tests).
 * Returns the "analysis[]" object; *v gets the verdict and *significant the Wilcoxon decision. */
json_t *sb_paired_analyze_metric(const char *metric, const char *unit, bool higher_is_better,
				 const double *b, const double *c, size_t n, double alpha,
				 double threshold, bool ci_rule, enum sb_verdict *v, bool *significant);

/* 2 regression, 3 warn with fail_on_warn, 1 error/interrupted, else 0. */
int sb_paired_exit_code(const json_t *doc, bool fail_on_warn);

/* ---- command sides (paired_cmd.c) ---- */

struct sb_paired_cmd {
	char *text;            /* as given */
	char **argv;           /* what runs: split words, or /bin/sh -c text */
	bool shell;
	double timeout_s;      /* per run */
	size_t output_cap;     /* bytes of stdout and of stderr kept in the document */
	bool allow_nonzero;    /* a non-zero exit is recorded, not an error */
};

/* Parse a command line. Text without shell syntax (quotes, $, redirections, globs ...) is split on
 * blanks and executed directly, so no shell start-up is measured; anything else runs under
 * /bin/sh -c. Returns 0 or -EINVAL (empty command). Free with sb_paired_cmd_free. */
int sb_paired_cmd_parse(const char *text, struct sb_paired_cmd *cmd, struct sb_error *err);
void sb_paired_cmd_free(struct sb_paired_cmd *cmd);
/* {"command": text, "argv": [...], "shell": bool} */
json_t *sb_paired_cmd_describe(const struct sb_paired_cmd *cmd);
/* sb_paired_measure_fn for a struct sb_paired_cmd: wall_ms, cpu_ms (user + sys), user_ms,
 * sys_ms, maxrss_kb from wait4() of that child, plus exit_code, signal, timed_out and capped
 * stdout/stderr. */
int sb_paired_cmd_measure(void *cmd, unsigned pair, bool warmup, json_t *meta, json_t **run,
			  struct sb_error *err);
