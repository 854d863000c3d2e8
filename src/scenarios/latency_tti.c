/* latency-tti: time to interactive, the figure sandbox services publish: from asking for a sandbox
 * to its first successful command, for n sandboxes asked for
 *   mode=sequential  one after another (each asked for when the last answered),
 *   mode=staggered   one every `stagger` seconds whatever the others do,
 *   mode=burst       all at once.
 * A box's TTI runs from when it was asked for to the end of its first successful
 * `sandbench-agent true` (sb_lat_first_ok, retried while it fails). A box that fails or is not
 * ready by its deadline is counted, never dropped: it lowers success_rate and enters the TTI
 * percentiles at ready_timeout (the longest a box may take), so a batch with failures never looks
 * faster than it was. Only a batch where every box failed is an error (nothing was measured).
 * Per-box ready times go into the series `tti_ms` (with --keep-series), x = when it was asked for. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "scenarios/footprint.h"
#include "scenarios/latency_common.h"

enum tti_mode { TTI_SEQUENTIAL, TTI_STAGGERED, TTI_BURST };

struct tti_state {
	enum tti_mode mode;
	unsigned n;
	int64_t stagger_ns;
	double ready_timeout_s;
	unsigned workers; /* burst: launcher threads (0 = one per box) */
	double settle_s;  /* pause before an iteration that follows one (see the param) */
};

static const struct sb_param_def tti_params[] = {
	{"mode", "burst", "sequential (one after another) | staggered (one every `stagger` s) | burst (all at once)", "sequential|staggered|burst"},
	{"n", "10", "sandboxes per iteration (the full profile uses 100)", "size"},
	{"stagger", "0.2", "seconds between two requests in mode=staggered", "number"},
	{"workers", "0", "mode=burst: threads serving the requests (0: one per box, all at once); TTI still counts from the burst", "size"},
	{"settle", "1", "seconds to pause before each iteration after the first: the kernel frees the previous iteration's boxes (their namespaces and mounts) in the background, which would otherwise run on this iteration's clock (0: back to back)", "number"},
	SB_LAT_READY_PARAM,
	{NULL, NULL, NULL, NULL},
};

static const struct sb_metric_def tti_metrics[] = {
	{"tti_p50_ms", "ms", SB_LOWER_IS_BETTER, "median time to interactive across the iteration's boxes (asked for -> first command done)"},
	{"tti_p95_ms", "ms", SB_LOWER_IS_BETTER, "95th percentile of the same (a failed box counts as slowest)"},
	{"tti_p99_ms", "ms", SB_LOWER_IS_BETTER, "99th percentile of the same (a failed box counts as slowest)"},
	{"first_ready_ms", "ms", SB_LOWER_IS_BETTER, "batch start to the first box that ran its command"},
	{"wall_ms", "ms", SB_LOWER_IS_BETTER, "batch start until every box is ready or has failed"},
	{"success_rate", "ratio", SB_HIGHER_IS_BETTER, "boxes ready by their deadline / boxes asked for (1 = all)"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

static int tti_setup(struct sb_scn_ctx *ctx)
{
	struct tti_state *st = calloc(1, sizeof(*st));
	if (!st)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = st;
	const char *mode = sb_scn_param(ctx, "mode");
	if (strcmp(mode, "sequential") == 0)
		st->mode = TTI_SEQUENTIAL;
	else if (strcmp(mode, "staggered") == 0)
		st->mode = TTI_STAGGERED;
	else if (strcmp(mode, "burst") == 0)
		st->mode = TTI_BURST;
	else
		return sb_error_set(ctx->err, EINVAL, "parameter mode=%s: expected sequential, staggered or burst", mode);
	uint64_t n;
	int rc = sb_scn_param_size(ctx, "n", &n);
	if (rc < 0)
		return rc;
	if (n < 1 || n > 10000)
		return sb_error_set(ctx->err, EINVAL, "parameter n=%" PRIu64 ": expected 1 to 10000", n);
	st->n = (unsigned)n;
	const char *sv = sb_scn_param(ctx, "stagger");
	char *end;
	double stagger = strtod(sv, &end);
	if (end == sv || *end || !(stagger > 0 && stagger <= 60))
		return sb_error_set(ctx->err, EINVAL, "parameter stagger=%s: expected seconds in (0, 60]", sv);
	st->stagger_ns = (int64_t)(stagger * 1e9);
	uint64_t workers;
	if ((rc = sb_scn_param_size(ctx, "workers", &workers)) < 0)
		return rc;
	st->workers = workers > st->n ? st->n : (unsigned)workers;
	if ((rc = sb_scn_param_seconds(ctx, "settle", 0, 60, &st->settle_s)) < 0)
		return rc;
	int64_t probe;
	if ((rc = sb_lat_ready_deadline(ctx, 0, &probe)) < 0)
		return rc;
	st->ready_timeout_s = strtod(sb_scn_param(ctx, "ready_timeout"), NULL);
	sb_scn_tag(ctx, "tti_mode", "%s", mode);
	sb_scn_tag(ctx, "tti_boxes", "%u", st->n);
	sb_scn_tag(ctx, "tti_settle_s", "%g", st->settle_s);
	sb_scn_tag(ctx, "concurrent_create", "%s", ctx->drv->concurrent_create ? "yes" : "no (the runner serialises creates)");
	sb_scn_tag(ctx, "measurement_boundary", "asked for -> first successful `sandbench-agent true`");
	return 0;
}

struct tti_run {
	struct sb_scn_ctx *ctx;
	double ready_timeout_s;
	unsigned workers; /* burst: launcher threads (0 = one per box) */
};

/* In the box's launcher thread, right after create+start: the first successful command. */
static int tti_then(void *arg, struct sb_box *box, struct sb_error *err)
{
	struct tti_run *r = arg;
	int64_t deadline = sb_deadline_min(r->ctx->deadline_ns, sb_deadline_after(r->ready_timeout_s));
	return sb_lat_first_ok(r->ctx->drv, box, r->ctx->agent, deadline, err);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values, failed boxes included. */
static double rank(const double *v, unsigned n, double p)
{
	unsigned k = (unsigned)ceil(p / 100.0 * n);
	return v[k ? k - 1 : 0];
}

static int tti_run_once(struct sb_scn_ctx *ctx)
{
	struct tti_state *st = ctx->state;
	/* Untimed, and cut short by ^C. */
	int rc = ctx->iteration > 0 ? sb_scn_sleep(ctx, st->settle_s) : 0;
	if (rc < 0)
		return rc;
	struct sb_box_launch *l = calloc(st->n, sizeof(*l));
	double *tti = calloc(st->n, sizeof(*tti));
	if (!l || !tti) {
		free(l);
		free(tti);
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	}
	struct tti_run r = {.ctx = ctx, .ready_timeout_s = st->ready_timeout_s};
	unsigned parallel = st->mode == TTI_SEQUENTIAL ? 1 : st->workers;
	int64_t stagger = st->mode == TTI_STAGGERED ? st->stagger_ns : 0;
	int64_t t0 = sb_now_ns();
	unsigned ok = sb_scn_boxes_new_then(ctx, st->n, parallel, stagger, tti_then, &r, l);
	int64_t wall = sb_now_ns() - t0;
	int64_t first = INT64_MAX;
	const char *first_error = NULL;
	for (unsigned i = 0; i < st->n; i++) {
		if (l[i].rc == 0) {
			/* A burst asks for every box at the batch's start, whenever a launcher gets to it. */
			int64_t asked = st->mode == TTI_BURST ? 0 : l[i].queued_ns;
			tti[i] = sb_ns_to_ms(l[i].done_ns - asked);
			first = l[i].done_ns < first ? l[i].done_ns : first;
			sb_scn_series(ctx, "tti_ms", "ms", (double)asked / 1e9, tti[i]);
		} else {
			tti[i] = st->ready_timeout_s * 1e3; /* counted, at the longest a box may take */
			if (!first_error)
				first_error = l[i].error;
		}
	}
	/* The boxes go now, untimed: the next iteration starts from the same state. */
	struct sb_box **boxes = calloc(st->n, sizeof(*boxes));
	for (unsigned i = 0; boxes && i < st->n; i++)
		boxes[i] = l[i].box;
	if (boxes)
		sb_lat_destroy_all(ctx, boxes, st->n);
	free(boxes);
	qsort(tti, st->n, sizeof(*tti), cmp_double);
	const double ps[3] = {50, 95, 99};
	const char *names[3] = {"tti_p50_ms", "tti_p95_ms", "tti_p99_ms"};
	for (int k = 0; k < 3; k++)
		sb_scn_metric(ctx, names[k], rank(tti, st->n, ps[k]));
	if (ok > 0)
		sb_scn_metric(ctx, "first_ready_ms", sb_ns_to_ms(first));
	sb_scn_metric(ctx, "wall_ms", sb_ns_to_ms(wall));
	sb_scn_metric(ctx, "success_rate", (double)ok / st->n);
	rc = 0;
	if (ok == 0)
		rc = sb_error_set(ctx->err, EIO, "all %u boxes failed; first: %s", st->n, first_error ? first_error : "?");
	else if (first_error)
		sb_scn_tag(ctx, "first_failure", "iteration %u: %u of %u failed: %s", ctx->iteration, st->n - ok, st->n,
			   first_error);
	free(l);
	free(tti);
	return rc;
}

static void tti_teardown(struct sb_scn_ctx *ctx)
{
	free(ctx->state);
	ctx->state = NULL;
}

const struct sb_scenario sb_scn_latency_tti = {
	.name = "latency-tti",
	.axis = "latency",
	.description = "time to interactive of n boxes (sequential | staggered | burst): p50/p95/p99, first ready, success rate",
	.caps = SB_CAP_EXEC,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = tti_params,
	.profile_params = (const struct sb_profile_param[]){{SB_PROFILE_FULL, "n", "100"}, {0, NULL, NULL}},
	.metrics = tti_metrics,
	.default_runs = 5,
	.default_warmup = 1,
	.setup = tti_setup,
	.run_once = tti_run_once,
	.teardown = tti_teardown,
};
