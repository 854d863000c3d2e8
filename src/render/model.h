/* What `sandbench report` draws from: every input (reports, matrix summaries, compare results,
 * paired A/B documents, history queries, or directories of them) loaded and checked once, then
 * grouped per scenario for the renderers. Library code: errors go into struct sb_error. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define SB_RENDER_MATRIX_SCHEMA "sandbench.matrix/v1"
#define SB_RENDER_COMPARE_SCHEMA "sandbench.compare/v1"
#define SB_RENDER_PAIRED_SCHEMA "sandbench.paired/v1"
#define SB_RENDER_HISTORY_SCHEMA "sandbench.history/v1"

struct sb_rdoc {
	json_t *reports;   /* sandbench.report/v1 objects, each once (run id + scenario + driver) */
	json_t *matrices;  /* sandbench.matrix/v1 summaries (driver table, run metadata) */
	json_t *compares;  /* sandbench.compare/v1 */
	json_t *paireds;   /* sandbench.paired/v1 */
	json_t *histories; /* sandbench.history/v1 */
	json_t *inputs;    /* [{path, kind}] in the order given */
};

void sb_rdoc_init(struct sb_rdoc *d);
void sb_rdoc_free(struct sb_rdoc *d);
/* Load a file or a directory (its matrix.json when it has one, else every *.json in it) and add
 * what it holds. A matrix brings the reports it lists; a listed report that is missing is stood in
 * for by the summary's cells (p50, p99, n). One error line on bad input: unreadable, malformed,
 * an unknown or unsupported schema, a document missing a member the renderers need. */
int sb_rdoc_add_path(struct sb_rdoc *d, const char *path, struct sb_error *err);
/* Add an already parsed document (the path names it in errors and in the page's input list). */
int sb_rdoc_add_json(struct sb_rdoc *d, json_t *doc, const char *path, struct sb_error *err);

/* ---- the per-scenario view the renderers walk */
struct sb_rrow {
	char *label;         /* the driver name, "driver (run 1a2b3c4d)" when a scenario has it twice */
	const char *driver;
	json_t *report;      /* borrowed from the doc */
	int color;           /* the driver's colour index, the same all over the page */
};
struct sb_rmetric {
	const char *name, *unit;
	bool higher_is_better;
	size_t have;         /* rows that have a value */
};
struct sb_rscn {
	const char *name, *axis;
	struct sb_rrow *rows;
	size_t nrows;
	struct sb_rmetric *metrics; /* union over the rows, in the order the reports declare them */
	size_t nmetrics;
};
struct sb_rview {
	struct sb_rscn *scn;
	size_t nscn;
	const char **drivers; /* every driver seen, in the order of first appearance (the colours) */
	size_t ndrivers;
};

int sb_rview_build(const struct sb_rdoc *d, struct sb_rview *v);
void sb_rview_free(struct sb_rview *v);
/* The colour index of a driver name (its position in v->drivers), 0 when unknown. */
int sb_rview_color(const struct sb_rview *v, const char *driver);

/* ---- small accessors shared by the renderers */
json_t *sb_r_aggregate(const json_t *report, const char *metric);
double sb_r_num(const json_t *o, const char *key);
const char *sb_r_str(const json_t *o, const char *key);
/* The raw measured values of a metric in a report (non-warmup, error-free samples); malloc'd. */
size_t sb_r_samples(const json_t *report, const char *metric, double **out);
/* Index of the best row for metric m by its direction (p50), -1 when fewer than two rows have one. */
int sb_r_best_row(const struct sb_rscn *s, const struct sb_rmetric *m);

/* The headline metrics of a scenario: up to max indices into s->metrics, in declared order, chosen by
 * how many rows have a value (ties: declared first). Metrics of a numbered family (NAME_cN_UNIT,
 * NAME_boxN_UNIT) are passed over when others exist, as their own chart shows them. */
size_t sb_r_headlines(const struct sb_rscn *s, size_t max, size_t *out);

/* A numbered metric family: "shell_pool_run_completion_c4_ms" -> prefix "shell_pool_run_completion",
 * kind 'c' (concurrency level) or 'b' (box index), number 4, suffix "ms". false if not one. */
bool sb_r_family(const char *metric, char *prefix, size_t plen, char *kind, long *number);
