/* Change points in a series (a metric's history, one value per run): E-Divisive (Matteson & James,
 * 2014) — hierarchical bisection by the energy distance between the two sides of a split, each new
 * split accepted only when a permutation test finds it significant. Pure: no I/O, no globals;
 * seeded, so the same series always gives the same answer. docs/history.md. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct sb_cp_opts {
	double alpha;          /* significance level of each split's permutation test (0.05) */
	unsigned permutations; /* per test (199: p-values down to 0.005) */
	size_t min_size;       /* fewest points on either side of a split (at least 2) */
	uint64_t seed;         /* permutation order; 0 picks a fixed default */
};
#define SB_CP_DEFAULTS ((struct sb_cp_opts){.alpha = 0.05, .permutations = 199, .min_size = 4, .seed = 0})

struct sb_cp {
	size_t index;      /* first point of the new level */
	double p;          /* permutation p-value when it was accepted */
	double q;          /* the energy statistic of the split */
	double before;     /* median of the segment before (back to the previous change point) */
	double after;      /* median of the segment from here to the next change point */
	double change;     /* (after - before) / |before|; NAN when before is 0 */
};

/* Find the change points of x[0..n-1] (in time order). *out (malloc'd, sorted by index, may be NULL
 * when none) and *nout. Returns 0 or -ENOMEM / -EINVAL (bad options). */
int sb_changepoints(const double *x, size_t n, const struct sb_cp_opts *o, struct sb_cp **out, size_t *nout);

/* The best split of x[0..n-1] with at least min_size points on each side: its index and energy
 * statistic Q (0 and -1 when n < 2 * min_size). Exposed for tests. */
double sb_cp_best_split(const double *x, size_t n, size_t min_size, size_t *index);
