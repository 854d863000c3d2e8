/* Terminal rendering of reports: one row per (scenario, driver, metric), benchstat-like. */
#pragma once
#include <jansson.h>
#include <stdio.h>

/* Print a table of the aggregates of n reports, then their warnings and skip/error reasons. */
void sb_render_reports_table(FILE *f, json_t *const *reports, size_t n);
/* Format a value with its unit compactly ("1.23 ms", "512 MiB/s") into buf. */
void sb_format_value(double v, const char *unit, char *buf, size_t len);
