/* Service-level objectives: a file of bounds per scenario/driver/metric and statistic, checked
 * against reports (`sandbench slo check`). docs/history.md, "SLOs". */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compare/compare.h"
#include "core/error.h"

#define SB_SLO_SCHEMA "sandbench.slo/v1"
#define SB_SLO_CHECK_SCHEMA "sandbench.slo-check/v1"

enum sb_slo_stat { SB_SLO_P50 = 0, SB_SLO_P90, SB_SLO_P95, SB_SLO_P99, SB_SLO_MEAN, SB_SLO_MIN, SB_SLO_MAX };

struct sb_slo {
	char *scenario, *driver, *metric; /* fnmatch globs (metric exact or a glob) */
	char *label;                      /* NULL: made from the driver and metric */
	char *unit;                       /* NULL: any; else the metric's unit must match */
	enum sb_slo_stat statistic;
	double bound;
	bool upper; /* "max": the statistic must stay <= bound; "min": >= bound */
};

struct sb_slo_file {
	char *path;
	struct sb_slo *slos;
	size_t n;
};

/* Load and check an SLO file: {"schema": "sandbench.slo/v1", "slos": [{"scenario", "driver",
 * "metric", "statistic", "max" | "min", "unit"?, "label"?}]}. Unknown keys, a missing bound, both
 * bounds, a bad statistic or malformed JSON are errors naming the file and entry. */
int sb_slo_load(const char *path, struct sb_slo_file **out, struct sb_error *err);
void sb_slo_free(struct sb_slo_file *f);

/* Check every SLO against the reports (several runs of one scenario+driver are pooled). Result:
 * {schema, slo_file, results: [{label, scenario, driver, metric, statistic, unit, bound, kind,
 * value, margin, verdict: met|violated|n/a, reason?, runs}], met, violated, not_measured, summary,
 * exit_code}. summary is the one-line form: "native lifecycle p50 1.90 ms (SLO 3 ms, -37 %) | ... |
 * all SLOs met". exit_code: 2 when any SLO is violated, 3 when fail_on_warn and one was not measured,
 * else 0. No SLO measured at all is an error (-ENOENT). */
int sb_slo_check(const struct sb_slo_file *f, const struct sb_compare_input *in, bool fail_on_warn,
		 json_t **out, struct sb_error *err);
