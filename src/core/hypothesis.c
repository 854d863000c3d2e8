/* Significance tests for `compare` and `paired` (docs/statistics.md). Everything here is written
 * from the textbook definitions; reference values in tests/stats come from scipy. */
#include "core/hypothesis.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Size limits for exact null distributions: the DP tables grow with the statistic's range. */
#define MW_EXACT_AUTO 2500    /* n1*n2 */
#define MW_EXACT_MAX 10000
#define WSR_EXACT_AUTO 50     /* n (non-zero differences) */
#define WSR_EXACT_MAX 400

/* ------------------------------------------------------------------------------------------ */
/* small helpers */

static bool all_finite(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Conventional median of a sorted array (mean of the middle pair when n is even). */
static double median_sorted(const double *s, size_t n)
{
	if (n % 2)
		return s[n / 2];
	return s[n / 2 - 1] + (s[n / 2] - s[n / 2 - 1]) / 2.0;
}

struct keyed {
	double v;
	size_t i;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->v != y->v)
		return (x->v > y->v) - (x->v < y->v);
	return (x->i > y->i) - (x->i < y->i);
}

/* Mid-ranks (1-based, ties share their average rank) of v into rank[]. *tie_term receives
 * sum(t^3 - t) over tie groups, the quantity both rank tests need for the variance correction. */
static int mid_ranks(const double *v, size_t n, double *rank, double *tie_term)
{
	struct keyed *k = malloc(n * sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		k[i] = (struct keyed){ v[i], i };
	qsort(k, n, sizeof(*k), cmp_keyed);
	double tt = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && k[j].v == k[i].v)
			j++;
		double r = ((double)i + 1 + (double)j) / 2.0; /* average of ranks i+1 .. j */
		for (size_t m = i; m < j; m++)
			rank[k[m].i] = r;
		double t = (double)(j - i);
		tt += t * t * t - t;
		i = j;
	}
	free(k);
	*tie_term = tt;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* normal distribution */

double sb_normal_sf(double x)
{
	if (isnan(x))
		return NAN;
	return 0.5 * erfc(x / M_SQRT2);
}

double sb_normal_cdf(double x)
{
	if (isnan(x))
		return NAN;
	return 0.5 * erfc(-x / M_SQRT2);
}

static double normal_pdf(double x)
{
	return exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
}

/* Upper-tail quantile: x with sf(x) = q, 0 < q <= 0.5. A rational start good to ~5e-4
 * (Abramowitz & Stegun 26.2.23) is polished by Halley steps on erfc, which converge cubically. */
static double normal_upper_quantile(double q)
{
	double w = sqrt(-2.0 * log(q));
	double x = w - (2.515517 + w * (0.802853 + w * 0.010328)) /
			       (1.0 + w * (1.432788 + w * (0.189269 + w * 0.001308)));
	for (int it = 0; it < 8; it++) {
		double pdf = normal_pdf(x);
		if (pdf <= 0)
			break;
		double e = (sb_normal_sf(x) - q) / pdf;
		double step = e / (1.0 - x * e / 2.0);
		x += step;
		if (fabs(step) <= 1e-16 * fmax(1.0, fabs(x)))
			break;
	}
	return x;
}

double sb_normal_quantile(double p)
{
	if (isnan(p) || p < 0 || p > 1)
		return NAN;
	if (p == 0)
		return -INFINITY;
	if (p == 1)
		return INFINITY;
	if (p == 0.5)
		return 0;
	return p < 0.5 ? -normal_upper_quantile(p) : normal_upper_quantile(1.0 - p);
}

/* ------------------------------------------------------------------------------------------ */
/* incomplete beta and Student t */

/* Continued fraction of I_x(a, b) (without its prefactor), evaluated by the modified Lentz
 * method; converges fast for x < (a+1)/(a+b+2), slower (about sqrt(a) terms) for huge a. */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-16;
	double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	double h = d;
	for (int m = 1; m <= 200000; m++) {
		double dm = m, two_m = 2.0 * m;
		/* even step */
		double num = dm * (b - dm) * x / ((a + two_m - 1.0) * (a + two_m));
		d = 1.0 + num * d;
		c = 1.0 + num / c;
		if (fabs(d) < tiny)
			d = tiny;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		h *= d * c;
		/* odd step */
		num = -(a + dm) * (a + b + dm) * x / ((a + two_m) * (a + two_m + 1.0));
		d = 1.0 + num * d;
		c = 1.0 + num / c;
		if (fabs(d) < tiny)
			d = tiny;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		double delta = d * c;
		h *= delta;
		if (fabs(delta - 1.0) < eps)
			break;
	}
	return h;
}

/* I_x(a, b) given both x and y = 1 - x, so callers that know y precisely (the t tail, where
 * x is close to 1) do not lose it to cancellation. */
static double beta_inc2(double a, double b, double x, double y)
{
	if (x <= 0)
		return 0;
	if (y <= 0)
		return 1;
	double lfront = a * log(x) + b * log(y) - (lgamma(a) + lgamma(b) - lgamma(a + b));
	if (x < (a + 1.0) / (a + b + 2.0))
		return exp(lfront) * beta_cf(a, b, x) / a;
	return 1.0 - exp(lfront) * beta_cf(b, a, y) / b;
}

double sb_beta_inc_reg(double a, double b, double x)
{
	if (!(a > 0) || !(b > 0) || isnan(x) || x < 0 || x > 1 || isinf(a) || isinf(b))
		return NAN;
	return beta_inc2(a, b, x, 1.0 - x);
}

double sb_student_t_sf(double t, double df)
{
	if (isnan(t) || !(df > 0) || isinf(df))
		return NAN;
	if (isinf(t))
		return t > 0 ? 0.0 : 1.0;
	double t2 = t * t;
	/* P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2) */
	double two_tail = beta_inc2(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2));
	return t > 0 ? two_tail / 2.0 : 1.0 - two_tail / 2.0;
}

double sb_student_t_cdf(double t, double df)
{
	if (isnan(t) || !(df > 0) || isinf(df))
		return NAN;
	return sb_student_t_sf(-t, df);
}

static double student_t_pdf(double t, double df)
{
	double l = lgamma((df + 1.0) / 2.0) - lgamma(df / 2.0) - 0.5 * log(df * M_PI) -
		   (df + 1.0) / 2.0 * log1p(t * t / df);
	return exp(l);
}

/* t > 0 with sf(t) = q, 0 < q < 0.5: Newton on log sf (well-scaled in the far tail) from a
 * Cornish-Fisher start, kept inside a bracket that bisection falls back to. */
static double t_upper_quantile(double q, double df)
{
	if (df == 1.0)
		return 1.0 / tan(M_PI * q);
	if (df == 2.0)
		return (1.0 - 2.0 * q) / sqrt(2.0 * q * (1.0 - q));
	double z = normal_upper_quantile(q), z2 = z * z;
	double t = z + z * (z2 + 1.0) / (4.0 * df) +
		   z * ((5.0 * z2 + 16.0) * z2 + 3.0) / (96.0 * df * df);
	if (!(t > 0) || !isfinite(t))
		t = 1.0;
	double lo = 0, hi = t;
	while (sb_student_t_sf(hi, df) > q && hi < 1e300)
		hi *= 2.0;
	if (t > hi)
		t = hi;
	double lq = log(q);
	for (int it = 0; it < 300; it++) {
		double sf = sb_student_t_sf(t, df);
		if (sf > q)
			lo = t;
		else
			hi = t;
		double pdf = student_t_pdf(t, df);
		double next = (sf > 0 && pdf > 0) ? t + (log(sf) - lq) * sf / pdf : NAN;
		if (!(next > lo && next < hi))
			next = lo + (hi - lo) / 2.0;
		if (fabs(next - t) <= 1e-15 * t || hi - lo <= 1e-15 * hi)
			return next;
		t = next;
	}
	return t;
}

double sb_student_t_quantile(double p, double df)
{
	if (isnan(p) || p < 0 || p > 1 || !(df > 0) || isinf(df))
		return NAN;
	if (p == 0)
		return -INFINITY;
	if (p == 1)
		return INFINITY;
	if (p == 0.5)
		return 0;
	return p < 0.5 ? -t_upper_quantile(p, df) : t_upper_quantile(1.0 - p, df);
}

/* ------------------------------------------------------------------------------------------ */
/* exact null distributions */

/* Probabilities of U = 0 .. n1*n2 for tie-free samples of sizes n1, n2. Uses
 * N(m, n, u) = N(m-1, n, u-n) + N(m, n-1, u): the largest pooled value belongs to the first
 * sample (beating all n of the other) or to the second. Only additions, so doubles stay exact
 * enough even where the counts exceed 2^53. Returns a malloc'd array or NULL. */
static double *mw_exact_dist(size_t n1, size_t n2)
{
	size_t m_max = n1 < n2 ? n1 : n2, n_max = n1 < n2 ? n2 : n1;
	size_t len = n1 * n2 + 1;
	double *f = calloc((m_max + 1) * len, sizeof(*f));
	if (!f)
		return NULL;
	for (size_t m = 0; m <= m_max; m++)
		f[m * len] = 1; /* n = 0: only U = 0 */
	for (size_t n = 1; n <= n_max; n++)
		for (size_t m = 1; m <= m_max; m++) {
			double *cur = f + m * len, *prev = f + (m - 1) * len;
			for (size_t u = m * n; u >= n; u--)
				cur[u] += prev[u - n];
		}
	double *dist = malloc(len * sizeof(*dist));
	if (!dist) {
		free(f);
		return NULL;
	}
	double total = 0;
	for (size_t u = 0; u < len; u++)
		total += f[m_max * len + u];
	for (size_t u = 0; u < len; u++)
		dist[u] = f[m_max * len + u] / total;
	free(f);
	return dist;
}

/* Probabilities of W+ = 0 .. n(n+1)/2 for n tie-free non-zero differences: each rank joins the
 * positive sum or not with probability 1/2 (subset-sum counting). */
static double *wsr_exact_dist(size_t n)
{
	size_t len = n * (n + 1) / 2 + 1;
	double *g = calloc(len, sizeof(*g));
	if (!g)
		return NULL;
	g[0] = 1;
	for (size_t k = 1; k <= n; k++)
		for (size_t w = k * (k + 1) / 2; w >= k; w--)
			g[w] += g[w - k];
	for (size_t w = 0; w < len; w++)
		g[w] = ldexp(g[w], -(int)n);
	return g;
}

/* Order-statistic index C (1-based) for a symmetric CI (x_(C), x_(K+1-C)) over K sorted values,
 * from the exact distribution dist[0..K] of the matching rank statistic: the largest C with
 * P(S <= C-1) <= (1-level)/2, at least 1. Writes the achieved coverage 1 - 2 P(S <= C-1). */
static size_t ci_index_exact(const double *dist, size_t k_total, double level, double *cover)
{
	double tail_max = (1.0 - level) / 2.0 * (1 + 1e-12), cdf = dist[0];
	size_t c = 1;
	double cov = 1.0 - 2.0 * cdf;
	for (size_t cand = 2; cand <= (k_total + 1) / 2; cand++) {
		double next = cdf + dist[cand - 1];
		if (next > tail_max)
			break;
		cdf = next;
		c = cand;
		cov = 1.0 - 2.0 * cdf;
	}
	*cover = cov > 0 ? cov : 0;
	return c;
}

/* Same with a normal approximation (mean K/2, standard deviation sd, continuity-corrected),
 * rounding toward the wider interval. */
static size_t ci_index_normal(size_t k_total, double sd, double level, double *cover)
{
	double z = normal_upper_quantile((1.0 - level) / 2.0);
	double c = floor((double)k_total / 2.0 + 0.5 - z * sd);
	double c_max = floor(((double)k_total + 1.0) / 2.0);
	if (c < 1)
		c = 1;
	if (c > c_max)
		c = c_max;
	double cov = 1.0 - 2.0 * sb_normal_cdf((c - 0.5 - (double)k_total / 2.0) / sd);
	*cover = cov > 0 ? cov : 0;
	return (size_t)c;
}

/* ------------------------------------------------------------------------------------------ */
/* Mann-Whitney U */

int sb_mann_whitney(const double *a, size_t n1, const double *b, size_t n2,
		    enum sb_test_method method, struct sb_mw_result *out)
{
	if (!a || !b || !out || n1 == 0 || n2 == 0 || !all_finite(a, n1) || !all_finite(b, n2))
		return -EINVAL;
	if (n1 > SIZE_MAX / 2 / n2)
		return -EINVAL;
	size_t n = n1 + n2;
	double *pool = malloc(2 * n * sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	double *rank = pool + n, tie_term;
	memcpy(pool, a, n1 * sizeof(*a));
	memcpy(pool + n1, b, n2 * sizeof(*b));
	if (mid_ranks(pool, n, rank, &tie_term) < 0) {
		free(pool);
		return -ENOMEM;
	}
	double r1 = 0;
	for (size_t i = 0; i < n1; i++)
		r1 += rank[i];
	free(pool);

	double nn = (double)n1 * (double)n2;
	memset(out, 0, sizeof(*out));
	out->n1 = n1;
	out->n2 = n2;
	out->u1 = r1 - (double)n1 * ((double)n1 + 1.0) / 2.0;
	out->u2 = nn - out->u1;
	out->ties = tie_term > 0;
	out->cles = out->u1 / nn;
	out->rank_biserial = 2.0 * out->cles - 1.0;
	double u_big = fmax(out->u1, out->u2);

	size_t limit = method == SB_TEST_EXACT ? MW_EXACT_MAX : MW_EXACT_AUTO;
	if (method != SB_TEST_NORMAL && !out->ties && n1 * n2 <= limit) {
		double *dist = mw_exact_dist(n1, n2);
		if (!dist)
			return -ENOMEM;
		double upper = 0; /* P(U >= u_big) */
		for (size_t u = (size_t)llround(u_big); u <= n1 * n2; u++)
			upper += dist[u];
		free(dist);
		out->method = SB_TEST_EXACT;
		out->p = fmin(1.0, 2.0 * upper);
		return 0;
	}

	out->method = SB_TEST_NORMAL;
	double dn = (double)n;
	double var = nn / 12.0 * ((dn + 1.0) - tie_term / (dn * (dn - 1.0)));
	if (!(var > 0)) { /* every value identical: no evidence either way */
		out->p = 1.0;
		return 0;
	}
	double z = (u_big - nn / 2.0 - 0.5) / sqrt(var);
	out->z = z > 0 ? z : 0;
	out->p = fmin(1.0, 2.0 * sb_normal_sf(out->z));
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Wilcoxon signed-rank */

int sb_wilcoxon_signed_rank(const double *d, size_t n, enum sb_test_method method,
			    struct sb_wilcoxon_result *out)
{
	if (!d || !out || n == 0 || !all_finite(d, n))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->n = n;
	double *absd = malloc(2 * n * sizeof(*absd));
	if (!absd)
		return -ENOMEM;
	double *rank = absd + n, tie_term;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (d[i] != 0)
			absd[m++] = fabs(d[i]);
	out->n_zero = n - m;
	out->n_used = m;
	if (m == 0) { /* every difference is 0: nothing to test */
		free(absd);
		out->p = 1.0;
		out->method = SB_TEST_EXACT;
		return 0;
	}
	if (mid_ranks(absd, m, rank, &tie_term) < 0) {
		free(absd);
		return -ENOMEM;
	}
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (d[i] == 0)
			continue;
		if (d[i] > 0)
			out->w_plus += rank[j];
		else
			out->w_minus += rank[j];
		j++;
	}
	free(absd);
	out->ties = tie_term > 0;
	out->t = fmin(out->w_plus, out->w_minus);
	out->rank_biserial = (out->w_plus - out->w_minus) / (out->w_plus + out->w_minus);

	double dm = (double)m;
	size_t limit = method == SB_TEST_EXACT ? WSR_EXACT_MAX : WSR_EXACT_AUTO;
	/* zeros also force the approximation: the exact table is for m untied ranks of n pairs */
	if (method != SB_TEST_NORMAL && !out->ties && out->n_zero == 0 && m <= limit) {
		double *dist = wsr_exact_dist(m);
		if (!dist)
			return -ENOMEM;
		double lower = 0; /* P(W <= t) */
		for (size_t w = 0; w <= (size_t)llround(out->t); w++)
			lower += dist[w];
		free(dist);
		out->method = SB_TEST_EXACT;
		out->p = fmin(1.0, 2.0 * lower);
		return 0;
	}

	out->method = SB_TEST_NORMAL;
	double mean = dm * (dm + 1.0) / 4.0;
	double var = dm * (dm + 1.0) * (2.0 * dm + 1.0) / 24.0 - tie_term / 48.0;
	double diff = out->t - mean; /* <= 0 since t is the smaller rank sum */
	double corr = diff < 0 ? -0.5 : (diff > 0 ? 0.5 : 0.0);
	out->z = (diff - corr) / sqrt(var);
	out->p = fmin(1.0, 2.0 * sb_normal_sf(fabs(out->z)));
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Hodges-Lehmann */

static int check_level(double level)
{
	return (isfinite(level) && level > 0 && level < 1) ? 0 : -EINVAL;
}

int sb_hodges_lehmann_paired(const double *d, size_t n, double level, struct sb_hl_result *out)
{
	if (!d || !out || n == 0 || !all_finite(d, n) || check_level(level) < 0)
		return -EINVAL;
	if (n > 1000000) /* the Walsh table would not fit anyway; refuse before overflowing */
		return -ENOMEM;
	size_t k_total = n * (n + 1) / 2;
	double *w = malloc(k_total * sizeof(*w));
	if (!w)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i; j < n; j++)
			w[k++] = (d[i] + d[j]) / 2.0;
	qsort(w, k_total, sizeof(*w), cmp_double);
	memset(out, 0, sizeof(*out));
	out->shift = median_sorted(w, k_total);

	size_t c;
	if (n <= WSR_EXACT_AUTO) {
		double *dist = wsr_exact_dist(n);
		if (!dist) {
			free(w);
			return -ENOMEM;
		}
		c = ci_index_exact(dist, k_total, level, &out->ci_level);
		free(dist);
		out->method = SB_TEST_EXACT;
	} else {
		double dn = (double)n;
		double sd = sqrt(dn * (dn + 1.0) * (2.0 * dn + 1.0) / 24.0);
		c = ci_index_normal(k_total, sd, level, &out->ci_level);
		out->method = SB_TEST_NORMAL;
	}
	out->ci_lo = w[c - 1];
	out->ci_hi = w[k_total - c];
	free(w);
	return 0;
}

int sb_hodges_lehmann_two_sample(const double *a, size_t n1, const double *b, size_t n2,
				 double level, struct sb_hl_result *out)
{
	if (!a || !b || !out || n1 == 0 || n2 == 0 || !all_finite(a, n1) || !all_finite(b, n2) ||
	    check_level(level) < 0)
		return -EINVAL;
	if (n1 > SIZE_MAX / sizeof(double) / n2)
		return -ENOMEM;
	size_t k_total = n1 * n2;
	double *diff = malloc(k_total * sizeof(*diff));
	if (!diff)
		return -ENOMEM;
	for (size_t i = 0; i < n1; i++)
		for (size_t j = 0; j < n2; j++)
			diff[i * n2 + j] = a[i] - b[j];
	qsort(diff, k_total, sizeof(*diff), cmp_double);
	memset(out, 0, sizeof(*out));
	out->shift = median_sorted(diff, k_total);

	size_t c;
	if (k_total <= MW_EXACT_AUTO) {
		double *dist = mw_exact_dist(n1, n2);
		if (!dist) {
			free(diff);
			return -ENOMEM;
		}
		c = ci_index_exact(dist, k_total, level, &out->ci_level);
		free(dist);
		out->method = SB_TEST_EXACT;
	} else {
		/* no tie correction here: the CI is a rank-inversion approximation anyway */
		double sd = sqrt((double)k_total * ((double)(n1 + n2) + 1.0) / 12.0);
		c = ci_index_normal(k_total, sd, level, &out->ci_level);
		out->method = SB_TEST_NORMAL;
	}
	out->ci_lo = diff[c - 1];
	out->ci_hi = diff[k_total - c];
	free(diff);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Student t on paired differences */

int sb_paired_t(const double *d, size_t n, double level, struct sb_t_result *out)
{
	if (!d || !out || n == 0 || !all_finite(d, n) || check_level(level) < 0)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->n = n;
	out->level = level;
	/* shifting by d[0] makes identical inputs give exactly mean = d[0] and sd = 0 */
	double acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += d[i] - d[0];
	double mean = d[0] + acc / (double)n;
	out->mean = mean;
	out->df = (double)n - 1.0;
	if (n == 1) {
		out->p = 1.0;
		out->ci_lo = -INFINITY;
		out->ci_hi = INFINITY;
		return 0;
	}
	double ss = 0;
	bool same = true;
	for (size_t i = 0; i < n; i++) {
		ss += (d[i] - mean) * (d[i] - mean);
		same = same && d[i] == d[0];
	}
	out->sd = same ? 0 : sqrt(ss / out->df);
	out->se = out->sd / sqrt((double)n);
	if (out->se == 0) {
		/* a constant difference: certain if non-zero, nothing at all if zero */
		out->t = mean == 0 ? 0 : copysign(INFINITY, mean);
		out->p = mean == 0 ? 1.0 : 0.0;
		out->ci_lo = out->ci_hi = mean;
		return 0;
	}
	out->t = mean / out->se;
	out->p = fmin(1.0, 2.0 * sb_student_t_sf(fabs(out->t), out->df));
	double q = sb_student_t_quantile(0.5 + level / 2.0, out->df);
	out->ci_lo = mean - q * out->se;
	out->ci_hi = mean + q * out->se;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* PRNG and permutation test */

static uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void sb_rng_seed(struct sb_rng *rng, uint64_t seed)
{
	/* splitmix64 spreads any seed (even 0) into a non-zero xoshiro state */
	for (int i = 0; i < 4; i++) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		rng->s[i] = z ^ (z >> 31);
	}
}

uint64_t sb_rng_next(struct sb_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

uint64_t sb_rng_below(struct sb_rng *rng, uint64_t bound)
{
	if (bound <= 1)
		return 0;
	/* reject the top partial block so every residue is equally likely */
	uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
	uint64_t r;
	do
		r = sb_rng_next(rng);
	while (r >= limit);
	return r % bound;
}

/* stat(x[0..n1)) - stat(x[n1..n)); scratch holds n doubles. */
static double split_stat(const double *x, size_t n1, size_t n, enum sb_perm_stat stat,
			 double *scratch)
{
	if (stat == SB_PERM_MEAN) {
		double s1 = 0, s2 = 0;
		for (size_t i = 0; i < n1; i++)
			s1 += x[i];
		for (size_t i = n1; i < n; i++)
			s2 += x[i];
		return s1 / (double)n1 - s2 / (double)(n - n1);
	}
	memcpy(scratch, x, n * sizeof(*x));
	qsort(scratch, n1, sizeof(*scratch), cmp_double);
	qsort(scratch + n1, n - n1, sizeof(*scratch), cmp_double);
	return median_sorted(scratch, n1) - median_sorted(scratch + n1, n - n1);
}

int sb_permutation_test(const double *a, size_t n1, const double *b, size_t n2,
			enum sb_perm_stat stat, size_t permutations, uint64_t seed,
			struct sb_perm_result *out)
{
	if (!a || !b || !out || n1 == 0 || n2 == 0 || permutations == 0 || !all_finite(a, n1) ||
	    !all_finite(b, n2) || (stat != SB_PERM_MEDIAN && stat != SB_PERM_MEAN))
		return -EINVAL;
	size_t n = n1 + n2;
	double *pool = malloc(2 * n * sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	double *scratch = pool + n;
	memcpy(pool, a, n1 * sizeof(*a));
	memcpy(pool + n1, b, n2 * sizeof(*b));

	memset(out, 0, sizeof(*out));
	out->permutations = permutations;
	out->observed = split_stat(pool, n1, n, stat, scratch);
	/* Means summed in a different order can differ in the last bits; without this slack a
	 * relabelling equal to the observed split could be counted as less extreme. */
	double scale = 0;
	for (size_t i = 0; i < n; i++)
		scale = fmax(scale, fabs(pool[i]));
	double threshold = fabs(out->observed) - 1e-12 * scale;

	struct sb_rng rng;
	sb_rng_seed(&rng, seed);
	for (size_t k = 0; k < permutations; k++) {
		/* a partial Fisher-Yates shuffle picks a uniform random first group of n1 */
		for (size_t i = 0; i < n1; i++) {
			size_t j = i + (size_t)sb_rng_below(&rng, n - i);
			double tmp = pool[i];
			pool[i] = pool[j];
			pool[j] = tmp;
		}
		if (fabs(split_stat(pool, n1, n, stat, scratch)) >= threshold)
			out->extreme++;
	}
	free(pool);
	out->p = ((double)out->extreme + 1.0) / ((double)permutations + 1.0);
	return 0;
}
