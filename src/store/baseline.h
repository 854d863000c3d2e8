/* Baselines for `compare`: the last runs of the same configuration from the store
 * (`compare --against-history N`), or report files saved per host class under a directory
 * (`baseline save|check`, committed under bench/baselines/). docs/history.md. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "compare/compare.h"
#include "core/error.h"
#include "store/store.h"

/* The baseline side of `compare --against-history N`: for every report of `cur` (by scenario and
 * driver), the last n recorded runs of the same host class, scenario, driver, driver version and
 * parameters, other than the current run itself. *base is filled as a compare input (free with
 * sb_compare_input_free). No history for any report at all is -ENOENT naming the first one. */
int sb_store_history_input(struct sb_store *s, const struct sb_compare_input *cur, size_t n,
			   struct sb_compare_input *base, struct sb_error *err);

/* Where a report's baseline lives: DIR/<host class slug>/<driver>--<driver version slug>/. */
int sb_baseline_dir(const char *root, const json_t *report, char *buf, size_t len);

/* Save the reports (status ok only; others are counted in *skipped) as the baselines of their host
 * class, driver version and scenario under root, replacing what was saved before for that
 * scenario: <dir>/<scenario>--<run id 8>.json, several runs of one scenario kept as sessions.
 * Files are written atomically. *saved counts the reports written. */
int sb_baseline_save(const char *root, const struct sb_compare_input *in, size_t *saved, size_t *skipped,
		     struct sb_error *err);

/* The baseline side for `cur`: every saved run of each current report's scenario under its host
 * class and driver version. Reports with no baseline are left out (compare lists them as only in
 * current); none at all is -ENOENT naming the first missing directory. */
int sb_baseline_load(const char *root, const struct sb_compare_input *cur, struct sb_compare_input *base,
		     struct sb_error *err);
