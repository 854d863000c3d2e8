/* The text exposition of a registry snapshot for Prometheus-compatible scrapers: the Prometheus
 * text format (0.0.4) or OpenMetrics 1.0. Metric names and labels: docs/metrics.md. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/registry.h"

#define SB_EXPOSE_CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define SB_EXPOSE_CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Format the live slots e[0..n) (nslots = the registry's size, 0 when there is no registry) into
 * a malloc'ed buffer *out of *len bytes. 0, or -ENOMEM. */
int sb_expose(const struct sb_reg_entry *e, size_t n, uint32_t nslots, bool openmetrics, char **out,
	      size_t *len);
/* Does an HTTP Accept header ask for OpenMetrics? */
bool sb_expose_wants_openmetrics(const char *accept);
