/* density-max-sandboxes: add idle sandboxes, a batch at a time, until the first of a memory
 * budget, start p95 doubling, a failure, a hard cap or a time limit; then remove them all
 * (docs/resource.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cgfs.h"
#include "core/clock.h"
#include "core/signals.h"
#include "core/stats.h"
#include "scenarios/footprint.h"

#define MIB (1024.0 * 1024.0)
/* A doubling must also be this much slower: microsecond starts (the process driver) double on any
 * hiccup of a loaded host. */
#define P95_FLOOR_MS 1.0

static const struct sb_param_def max_params[] = {
	{"cap", "1000", "hard cap: stop at this many sandboxes", "uint"},
	{"mem_budget", "0", "stop when the host's MemAvailable dropped by this much (0: a quarter of MemTotal)", "size"},
	{"time_limit", "300", "stop after this many seconds (the iteration's --timeout stops it too, with room to clean up)", "number"},
	{"batch", "10", "sandboxes started at once between checks", "uint"},
	{"window", "20", "starts in the p95 baseline (the first ones) and in the rolling p95 checked against twice it (and 1 ms more)", "uint"},
	{NULL, NULL, NULL, NULL},
};

struct max_run {
	struct sb_box **boxes;
	double *start_ms; /* create + start of each box, in start order */
	unsigned n, cap_boxes;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double p95_of(const double *v, unsigned n)
{
	double *s = malloc(n * sizeof(double));
	if (!s || n == 0) {
		free(s);
		return 0;
	}
	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_double);
	double r = sb_stats_percentile_sorted(s, n, 95);
	free(s);
	return r;
}

static int grow(struct sb_scn_ctx *ctx, struct max_run *r, unsigned want)
{
	if (want <= r->cap_boxes)
		return 0;
	unsigned cap = r->cap_boxes ? r->cap_boxes : 64;
	while (cap < want)
		cap *= 2;
	struct sb_box **b = realloc(r->boxes, cap * sizeof(*b));
	if (b)
		r->boxes = b;
	double *s = realloc(r->start_ms, cap * sizeof(*s));
	if (s)
		r->start_ms = s;
	if (!b || !s)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	r->cap_boxes = cap;
	return 0;
}

static int max_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t cap, budget, batch, window;
	double time_limit;
	int rc = sb_scn_param_size(ctx, "cap", &cap);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "mem_budget", &budget);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "batch", &batch);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "window", &window);
	if (rc == 0)
		rc = sb_scn_param_seconds(ctx, "time_limit", 0, 86400, &time_limit);
	if (rc < 0)
		return rc;
	if (cap < 1 || cap > 100000 || batch < 1 || batch > 10000 || window < 1)
		return sb_error_set(ctx->err, EINVAL, "parameters: cap must be 1..100000, batch 1..10000, window at least 1");
	if (budget == 0)
		budget = sb_meminfo_bytes("MemTotal") / 4;
	sb_scn_tag(ctx, "mem_budget_mib", "%.0f", (double)budget / MIB);

	struct max_run r = {0};
	struct sb_footprint fp = {0};
	const char *stop = NULL;
	double avail0 = sb_host_mem_available(0), drop = 0, pss_sum = 0, start_wall = 0;
	double baseline = 0, last_p95 = 0;
	unsigned failures = 0;
	int64_t t0 = sb_now_ns(), last_batch_ns = 0;
	while (!stop) {
		unsigned want = (unsigned)(cap - r.n < batch ? cap - r.n : batch);
		/* Leave the iteration room to remove everything: stop before a batch could overrun it. */
		int left_ms = sb_deadline_left_ms(ctx->deadline_ns);
		if (left_ms >= 0 && left_ms < 2 * last_batch_ns / 1000000 + 2000) {
			stop = "time-limit";
			break;
		}
		struct sb_box_launch *l = calloc(want, sizeof(*l));
		if (!l || (rc = grow(ctx, &r, r.n + want)) < 0) {
			free(l);
			rc = rc < 0 ? rc : sb_error_set(ctx->err, ENOMEM, "out of memory");
			break;
		}
		int64_t b0 = sb_now_ns();
		sb_scn_boxes_new(ctx, want, 0, 0, l);
		last_batch_ns = sb_now_ns() - b0;
		start_wall += (double)last_batch_ns / 1e9;
		for (unsigned i = 0; i < want; i++) {
			if (l[i].rc < 0) {
				if (!failures)
					sb_scn_tag(ctx, "first_failure", "%s", l[i].error);
				failures++;
				continue;
			}
			r.boxes[r.n] = l[i].box;
			r.start_ms[r.n] = sb_ns_to_ms(l[i].create_ns + l[i].start_ns);
			double t = (double)(b0 - t0 + l[i].ready_ns) / 1e9; /* when it was ready */
			sb_scn_series(ctx, "start_ms", "ms", t, r.start_ms[r.n]);
			/* The new box's own host footprint, as it stands next to all the earlier ones. */
			sb_fp_reset(&fp);
			struct sb_fp_mem m = {0};
			if (sb_fp_collect(ctx, l[i].box, NULL, 0, &fp) == 0)
				sb_fp_measure(&fp, &m);
			pss_sum += m.pss;
			sb_scn_series(ctx, "box_pss_mib", "MiB", t, m.pss / MIB);
			r.n++;
		}
		free(l);
		drop = avail0 - sb_host_mem_available(0);
		sb_scn_series(ctx, "mem_available_drop_mib", "MiB", (double)(sb_now_ns() - t0) / 1e9, drop / MIB);
		if (r.n >= window && baseline == 0)
			baseline = p95_of(r.start_ms, (unsigned)window);
		if (baseline > 0 && r.n >= 2 * window)
			last_p95 = p95_of(r.start_ms + r.n - window, (unsigned)window);
		if (sb_interrupted())
			stop = "interrupted";
		else if (failures)
			stop = "failure";
		else if (r.n >= cap)
			stop = "cap";
		else if (drop >= (double)budget)
			stop = "memory-budget";
		else if (baseline > 0 && last_p95 > 2 * baseline && last_p95 - baseline >= P95_FLOOR_MS)
			stop = "p95-doubled";
		else if ((double)(sb_now_ns() - t0) / 1e9 >= time_limit)
			stop = "time-limit";
	}
	sb_fp_free(&fp);
	if (stop) {
		sb_scn_tag(ctx, "stop_reason", "%s", stop);
		sb_scn_metric(ctx, "max_sandboxes", r.n);
		sb_scn_metric(ctx, "start_failures", failures);
		sb_scn_metric(ctx, "start_wall_s", start_wall);
		if (r.n) {
			sb_scn_metric(ctx, "pss_per_box_mib", pss_sum / r.n / MIB);
			sb_scn_metric(ctx, "memavail_per_box_mib", drop / r.n / MIB);
			sb_scn_metric(ctx, "start_p95_ms", p95_of(r.start_ms, r.n));
		}
		if (baseline > 0)
			sb_scn_tag(ctx, "start_p95_baseline_ms", "%.3f", baseline);
		if (last_p95 > 0)
			sb_scn_tag(ctx, "start_p95_last_window_ms", "%.3f", last_p95);
	}
	/* Everything it started goes, whatever stopped it. */
	for (unsigned i = r.n; i-- > 0;) {
		struct sb_error keep = *ctx->err;
		int d = sb_scn_box_destroy(ctx, r.boxes[i]);
		if (rc < 0)
			*ctx->err = keep;
		else if (d < 0)
			rc = d;
	}
	free(r.boxes);
	free(r.start_ms);
	if (rc == 0 && stop && strcmp(stop, "interrupted") == 0)
		rc = sb_error_set(ctx->err, EINTR, "interrupted");
	return rc;
}

static const struct sb_metric_def max_metrics[] = {
	{"max_sandboxes", "boxes", SB_HIGHER_IS_BETTER, "sandboxes running at once when it stopped (the stop_reason tag says why)"},
	{"start_failures", "boxes", SB_LOWER_IS_BETTER, "sandboxes that failed to start (the first one stops it)"},
	{"start_wall_s", "s", SB_LOWER_IS_BETTER, "wall time spent starting them, batch by batch (measurements in between excluded)"},
	{"pss_per_box_mib", "MiB", SB_LOWER_IS_BETTER, "mean PSS of each sandbox's processes and helpers, measured as it joined"},
	{"memavail_per_box_mib", "MiB", SB_LOWER_IS_BETTER, "drop of the host's MemAvailable divided by the sandboxes"},
	{"start_p95_ms", "ms", SB_LOWER_IS_BETTER, "p95 of the create + start times of all of them"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_density_max_sandboxes = {
	.name = "density-max-sandboxes",
	.metrics = max_metrics,
	.axis = "density",
	.description = "add idle sandboxes until a memory budget, start p95 doubling, a failure, a cap or a time limit",
	.caps = 0,
	.profiles = SB_PROFILE_FULL,
	.params = max_params,
	.default_runs = 1,
	.default_warmup = 0,
	.run_once = max_run_once,
};
