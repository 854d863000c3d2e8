/* Pieces the HTML page is assembled from (html.c, html_charts.c, html_extra.c). */
#pragma once
#include "render/buf.h"
#include "render/model.h"
#include "render/svg.h"

/* <figure> with a caption around the chart the caller writes next, and its end. */
void sb_html_fig_open(struct sb_buf *b, const char *caption);
void sb_html_fig_close(struct sb_buf *b);
/* Every chart of one scenario: bars with CI whiskers for its headline metrics, the distribution of
 * the first, phases as stacked bars, ramps and breakpoint curves of numbered metric families, and
 * recorded series. */
void sb_html_scenario_charts(struct sb_buf *b, const struct sb_rview *v, const struct sb_rscn *s);
/* The compare, paired and history sections. */
void sb_html_compares(struct sb_buf *b, const json_t *compares);
void sb_html_paireds(struct sb_buf *b, const json_t *paireds);
void sb_html_histories(struct sb_buf *b, const struct sb_rview *v, const json_t *histories);
/* A percentage with its sign ("+12.3%"), "-" when not finite. */
void sb_html_pct(char *out, size_t len, double frac);
