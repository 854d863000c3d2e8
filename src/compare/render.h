/* Rendering compare and paired results (the JSON documents) for people: a benchstat-like terminal
 * table and Markdown for PR comments. The caller picks the stream; nothing here decides. */
#pragma once
#include <jansson.h>
#include <stdio.h>

/* A sandbench.compare/v1 result as a table: per scenario/driver, one row per metric with
 * `old ± ci  new ± ci  delta  p  n  verdict`, then a summary line. Warnings are not repeated
 * (the CLI prints them on stderr). */
void sb_render_compare_table(FILE *f, const json_t *result);
/* The same as GitHub-flavoured Markdown, warnings and notes included. */
void sb_render_compare_markdown(FILE *f, const json_t *result);

/* A sandbench.paired/v1 document: the design (pairs, order, looks), one row per metric with both
 * medians, the change and its CI, both tests' p-values and the verdict, then the reasons. */
void sb_render_paired_table(FILE *f, const json_t *doc);
void sb_render_paired_markdown(FILE *f, const json_t *doc);
