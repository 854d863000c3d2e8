/* Host normalisation for `compare`: a run's time metrics divided, sample by sample, by the host
 * reference timed next to them (core/report.h, SB_HOST_REF_KEY) and multiplied by a common level
 * (the baseline's median reference), so both sides read as if measured on the baseline's host.
 * Between two runs on a shared VM the host's speed moves by ~10 %; after this, by ~2 % for a
 * process spawn (docs/benchmarks.md, "Regression gate"). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Time units (ns, us, ms, s): the metrics the host's speed scales. Sizes, counts and rates are
 * left alone. */
bool sb_hostnorm_unit_applies(const char *unit);

/* The report carries a host reference (it was not run with --no-host-ref). */
bool sb_hostnorm_available(const json_t *report);

/* The median reference over the measured iterations of k reports (NAN when none). */
double sb_hostnorm_level(json_t *const *reports, size_t k);

/* The metric's measured, error-free samples in iteration order (as sb_report_values), each scaled
 * by level / the median reference of that iteration and its two neighbours. *out is malloc'ed. */
int sb_hostnorm_values(const json_t *report, const char *metric, double level, double **out, size_t *n);
