/* E-Divisive change points (Matteson & James, "A Nonparametric Approach for Multiple Change Point
 * Analysis of Multivariate Data", JASA 2014), for one-dimensional series with exponent alpha = 1:
 *
 *   for a split of a segment into X (m points) and Y (k points)
 *     E = 2/(mk) sum|x-y| - 2/(m(m-1)) sum_{i<j}|x_i-x_j| - 2/(k(k-1)) sum_{i<j}|y_i-y_j|
 *     Q = mk/(m+k) E
 *
 * the split with the largest Q over all current segments is tested by permuting the points within
 * every segment (R times) and recomputing that largest Q: p = (#{Q_perm >= Q} + 1) / (R + 1). A
 * significant split is kept and the search repeats; the first one that is not ends it. Y runs to the
 * end of its segment (the method's kappa fixed at the segment end), which keeps a segment's best
 * split O(n^2) by moving one point at a time from Y to X. */
#include "store/changepoint.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

double sb_cp_best_split(const double *x, size_t n, size_t min_size, size_t *index)
{
	*index = 0;
	if (min_size < 2 || n < 2 * min_size)
		return -1;
	double wx = 0, wy = 0, bt = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			double d = fabs(x[i] - x[j]);
			if (j < min_size)
				wx += d;
			else if (i >= min_size)
				wy += d;
			else
				bt += d;
		}
	double best = -INFINITY;
	for (size_t t = min_size;; t++) {
		double m = (double)t, k = (double)(n - t);
		double e = 2 * bt / (m * k) - 2 * wx / (m * (m - 1)) - 2 * wy / (k * (k - 1));
		double q = m * k / (m + k) * e;
		if (q > best) {
			best = q;
			*index = t;
		}
		if (t + min_size >= n)
			break;
		/* x[t] moves from Y to X. */
		double v = x[t], a = 0, b = 0;
		for (size_t i = 0; i < t; i++)
			a += fabs(x[i] - v);
		for (size_t j = t + 1; j < n; j++)
			b += fabs(x[j] - v);
		wx += a;
		wy -= b;
		bt += b - a;
	}
	return best;
}

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64*: plenty for shuffling, and the same on every platform. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void shuffle(double *v, size_t n, uint64_t *s)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(next_rand(s) % i);
		double t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* The largest best-split statistic over the segments bounded by b[0..nb-1]. */
static double max_split(const double *x, const size_t *b, size_t nb, size_t min_size, size_t *seg, size_t *at)
{
	double best = -1;
	for (size_t s = 0; s + 1 < nb; s++) {
		size_t i;
		double q = sb_cp_best_split(x + b[s], b[s + 1] - b[s], min_size, &i);
		if (q > best) {
			best = q;
			*seg = s;
			*at = b[s] + i;
		}
	}
	return best;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(const double *x, size_t n, double *scratch)
{
	memcpy(scratch, x, n * sizeof(double));
	qsort(scratch, n, sizeof(double), cmp_double);
	return n % 2 ? scratch[n / 2] : (scratch[n / 2 - 1] + scratch[n / 2]) / 2;
}

static int cmp_cp(const void *a, const void *b)
{
	size_t x = ((const struct sb_cp *)a)->index, y = ((const struct sb_cp *)b)->index;
	return x < y ? -1 : x > y;
}

int sb_changepoints(const double *x, size_t n, const struct sb_cp_opts *o, struct sb_cp **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (!(o->alpha > 0 && o->alpha < 1) || o->permutations < 1 || o->min_size < 2)
		return -EINVAL;
	size_t maxcp = n / o->min_size + 2;
	size_t *b = malloc((maxcp + 2) * sizeof(size_t));
	struct sb_cp *cps = calloc(maxcp, sizeof(*cps));
	double *y = malloc((n ? n : 1) * sizeof(double));
	if (!b || !cps || !y) {
		free(b);
		free(cps);
		free(y);
		return -ENOMEM;
	}
	b[0] = 0;
	b[1] = n;
	size_t nb = 2, ncp = 0;
	uint64_t seed = o->seed ? o->seed : 0x5eed5a4db3c4ull;
	seed ^= (uint64_t)n * 0x9e3779b97f4a7c15ull;
	if (!seed)
		seed = 1;
	/* Stop as soon as the test can no longer reach alpha. */
	unsigned limit = (unsigned)floor(o->alpha * (o->permutations + 1));
	while (ncp < maxcp) {
		size_t seg = 0, at = 0;
		double q = max_split(x, b, nb, o->min_size, &seg, &at);
		if (q < 0)
			break;
		memcpy(y, x, n * sizeof(double));
		unsigned hits = 0, r;
		for (r = 0; r < o->permutations && hits < limit; r++) {
			for (size_t s = 0; s + 1 < nb; s++)
				shuffle(y + b[s], b[s + 1] - b[s], &seed);
			size_t ps, pa;
			if (max_split(y, b, nb, o->min_size, &ps, &pa) >= q)
				hits++;
		}
		double p = (hits + 1.0) / (o->permutations + 1.0);
		if (hits >= limit || p > o->alpha)
			break;
		memmove(b + seg + 2, b + seg + 1, (nb - seg - 1) * sizeof(size_t));
		b[seg + 1] = at;
		nb++;
		cps[ncp++] = (struct sb_cp){.index = at, .p = p, .q = q};
	}
	qsort(cps, ncp, sizeof(*cps), cmp_cp);
	for (size_t i = 0; i < ncp; i++) {
		size_t lo = i ? cps[i - 1].index : 0, hi = i + 1 < ncp ? cps[i + 1].index : n, at = cps[i].index;
		cps[i].before = median_of(x + lo, at - lo, y);
		cps[i].after = median_of(x + at, hi - at, y);
		cps[i].change = cps[i].before != 0 ? (cps[i].after - cps[i].before) / fabs(cps[i].before) : NAN;
	}
	free(b);
	free(y);
	if (ncp == 0) {
		free(cps);
		cps = NULL;
	}
	*out = cps;
	*nout = ncp;
	return 0;
}
