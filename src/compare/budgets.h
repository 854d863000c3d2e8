/* Budgets: per-metric thresholds, statistic and direction for `compare` and `paired`, read from a
 * JSON file (schema sandbench.budgets/v1, docs/compare.md). Patterns are fnmatch(3) globs over the
 * metric, scenario and driver names; the first matching entry wins. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define SB_BUDGETS_SCHEMA "sandbench.budgets/v1"

/* Which summary of the raw samples a comparison is made on. */
enum sb_statistic {
	SB_STAT_P50 = 0,
	SB_STAT_P90,
	SB_STAT_P95,
	SB_STAT_P99,
	SB_STAT_MEAN,
};

/* A metric's direction: from the report (AUTO), or forced by a budget. */
enum sb_direction {
	SB_DIR_AUTO = 0,
	SB_DIR_LOWER_IS_BETTER,
	SB_DIR_HIGHER_IS_BETTER,
};

/* What applies to one metric once defaults, command-line flags and budgets are merged. */
struct sb_budget_rule {
	enum sb_statistic statistic;
	double threshold;         /* relative, e.g. 0.10 */
	double alpha;             /* significance level of the test */
	enum sb_direction direction;
	double min_change;        /* absolute noise floor in the metric's unit; < 0: the unit's default */
	double drift;             /* assumed run-to-run spread (relative SD per run) when a side has too
				   * few runs to measure it; < 0: SB_DEFAULT_DRIFT */
	bool no_normalize;        /* never scale this metric by the host reference */
	bool permutation;         /* test the statistic's difference by permutation, not Mann-Whitney */
	bool ignore;              /* leave the metric out of the verdict (still listed) */
	int entry;                /* index of the budget entry that matched, -1 for the defaults */
};

/* The fields a file's "defaults" and its entries share (has_*: given). */
struct sb_budget_common {
	bool has_statistic, has_threshold, has_alpha, has_drift;
	enum sb_statistic statistic;
	double threshold, alpha, drift;
};

struct sb_budget_entry {
	char *metric, *scenario, *driver; /* globs; scenario/driver NULL = any */
	struct sb_budget_common c;
	bool has_min_change, has_normalize;
	double min_change;
	bool normalize;
	enum sb_direction direction;
	bool ignore;
};

struct sb_budgets {
	char *path;
	struct sb_budget_common defaults; /* file-level (may be absent: has_* false) */
	struct sb_budget_entry *entries;
	size_t n;
};

/* Parse "p50", "p90", "p95", "p99", "mean". Returns 0 or -EINVAL. */
int sb_statistic_parse(const char *s, enum sb_statistic *out);
/* "p50" ... "mean". */
const char *sb_statistic_name(enum sb_statistic s);
/* The percentile (50, 90, 95, 99) of a statistic; 0 for the mean. */
double sb_statistic_percentile(enum sb_statistic s);

/* Load a budgets file. Unknown keys, bad values and malformed JSON are errors naming the file and
 * the entry, so a typo never silently loosens a gate. Returns 0 or a negative errno with err set;
 * on success *out must be released with sb_budgets_free. */
int sb_budgets_load(const char *path, struct sb_budgets **out, struct sb_error *err);
/* Release; NULL is fine. */
void sb_budgets_free(struct sb_budgets *b);

/* Resolve the rule for one metric. `base` holds the built-in defaults already overridden by the
 * command line; file defaults override `base` only where `cli_set` says the command line did not
 * set that field (SB_BUDGET_CLI_* bits), then the first matching entry overrides
 * both. b may be NULL. */
void sb_budgets_resolve(const struct sb_budgets *b, const struct sb_budget_rule *base, unsigned cli_set,
			const char *scenario, const char *driver, const char *metric,
			struct sb_budget_rule *out);

#define SB_BUDGET_CLI_STATISTIC (1u << 0)
#define SB_BUDGET_CLI_THRESHOLD (1u << 1)
#define SB_BUDGET_CLI_ALPHA (1u << 2)
#define SB_BUDGET_CLI_DRIFT (1u << 3)

/* The run-to-run spread assumed for a single run per side: 5 % per run (docs/compare.md). */
#define SB_DEFAULT_DRIFT 0.05
