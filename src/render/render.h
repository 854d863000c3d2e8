/* The report page and its Markdown twin, drawn from a loaded struct sb_rdoc (render/model.h), and
 * the terminal layout of a matrix. Everything is written into a struct sb_buf; the CLI writes it
 * out (atomically, for files). */
#pragma once
#include <jansson.h>
#include <stddef.h>

#include "core/error.h"
#include "render/buf.h"
#include "render/model.h"

struct sb_render_opts {
	const char *title;        /* NULL: "sandbench report" */
	const char *generated_at; /* RFC 3339, shown in the header */
	const char *tool;         /* "sandbench 0.1.0 (git abc123)" */
};

/* One self-contained HTML page: inline CSS, SVG and a little script, a Content-Security-Policy
 * that forbids every network load. */
int sb_render_html(const struct sb_rdoc *d, const struct sb_render_opts *o, struct sb_buf *out, struct sb_error *err);
/* The same content as GitHub-flavoured Markdown for a PR comment: tables, text bars, sparklines. */
int sb_render_markdown(const struct sb_rdoc *d, const struct sb_render_opts *o, struct sb_buf *out,
		       struct sb_error *err);

/* The terminal layout of a matrix summary (sandbench.matrix/v1): one block per scenario, drivers as
 * rows, the scenario's headline metrics as columns (as many as fit in `width` columns), cells
 * "p50 (p99)", the best of each column marked '*' by the metric's direction; then what was not
 * measured, grouped by driver and reason. Every line fits in `width` columns. */
void sb_render_matrix_term(const json_t *summary, size_t width, struct sb_buf *out);

/* Shared with the Markdown and HTML renderers. */
extern const char *const sb_render_phase_metrics[];
/* Is this one of the breakpoint metrics (a concurrency level where a ramp turns)? */
bool sb_render_is_breakpoint(const char *metric);
