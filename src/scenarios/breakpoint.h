/* The shell-pool density breakpoint: the highest concurrency level whose p95 completion time is
 * at most twice the level-1 p95. Pure, so it can be tested with handcrafted samples. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct sb_breakpoint {
	bool found;
	unsigned level;          /* the breakpoint (when found) */
	double baseline_p95;     /* level-1 p95 */
	double threshold_p95;    /* 2 x baseline */
	unsigned first_crossing; /* lowest level above the threshold, 0 if none */
	size_t min_samples;      /* fewest samples of any level (for the confidence label) */
	char reason[160];        /* why not found */
};

/* levels[i] has values[i][0..counts[i]). Levels need not be sorted. */
void sb_breakpoint_compute(const unsigned *levels, const double *const *values, const size_t *counts,
			   size_t nlevels, double factor, struct sb_breakpoint *out);
