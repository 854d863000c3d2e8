/* Density: how many sandboxes fit on a host and what each costs when many run (docs/resource.md).
 * Memory is measured two ways, side by side: the PSS of every process the sandboxes and their
 * runtime keep alive (Kata's method), and the drop of the host's MemAvailable (gVisor's). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cgfs.h"
#include "core/clock.h"
#include "core/signals.h"
#include "core/stats.h"
#include "scenarios/footprint.h"
#include "scenarios/pool.h"

#define MIB (1024.0 * 1024.0)

/* Start n boxes at once; every failure is an error naming the first (the runner destroys the ones
 * that started). The launches are returned in *out (caller frees). */
static int start_all(struct sb_scn_ctx *ctx, unsigned n, struct sb_box_launch **out)
{
	struct sb_box_launch *l = calloc(n, sizeof(*l));
	if (!l)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	*out = l;
	unsigned ok = sb_scn_boxes_new(ctx, n, 0, 0, l);
	for (unsigned i = 0; ok < n && i < n; i++)
		if (l[i].rc < 0)
			return sb_error_set(ctx->err, EIO, "%u of %u sandboxes failed to start; first: %s", n - ok, n,
					    l[i].error);
	return 0;
}

static int destroy_all(struct sb_scn_ctx *ctx, struct sb_box_launch *l, unsigned n, int rc)
{
	struct sb_box **boxes = l ? calloc(n, sizeof(*boxes)) : NULL;
	for (unsigned i = 0; l && i < n; i++) {
		if (!boxes) { /* no memory for the batch: one at a time */
			if (l[i].box) {
				struct sb_error keep = *ctx->err;
				int d = sb_scn_box_destroy(ctx, l[i].box);
				if (rc < 0)
					*ctx->err = keep;
				else
					rc = d;
			}
		} else {
			boxes[i] = l[i].box;
		}
		l[i].box = NULL;
	}
	if (boxes) {
		struct sb_error keep = *ctx->err;
		int d = sb_scn_boxes_destroy(ctx, boxes, n);
		if (rc < 0)
			*ctx->err = keep; /* the first failure is the one to report */
		else
			rc = d;
		free(boxes);
	}
	return rc;
}

/* ---- resource-density-10-idle ---- */

static const struct sb_param_def density_idle_params[] = {
	{"boxes", "10", "idle sandboxes held at once", "uint"},
	{"settle", "3", "seconds they idle before they are measured", "number"},
	{"ksm_settle", "30", "further seconds to wait when KSM is on (/sys/kernel/mm/ksm/run = 1), for merging to settle", "number"},
	{"drop_caches", "1", "1: sync and drop the page cache before and after (root); 0: leave it", "0|1"},
	{"avail_window", "1", "seconds over which MemAvailable is read (every 50 ms, the median kept) before and after", "number"},
	{"quiet_wait", "10", "at most this many seconds, before the baseline, for the host's kernel memory to stop changing (the previous run's sandboxes are freed by the kernel in the background)", "number"},
	{NULL, NULL, NULL, NULL},
};

static void drop_caches(struct sb_scn_ctx *ctx, bool want, const char *when)
{
	char why[200] = "";
	if (!want)
		sb_scn_tag(ctx, "drop_caches", "off (drop_caches=0)");
	else if (sb_host_drop_caches(why, sizeof(why)) < 0)
		sb_scn_tag(ctx, "drop_caches", "not allowed %s: %s", when, why);
	else
		sb_scn_tag(ctx, "drop_caches", "dropped before and after");
}

static int density_idle_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t boxes;
	double settle, ksm_settle;
	int rc = sb_scn_param_size(ctx, "boxes", &boxes);
	if (rc == 0)
		rc = sb_scn_param_seconds(ctx, "settle", 0, 3600, &settle);
	if (rc == 0)
		rc = sb_scn_param_seconds(ctx, "ksm_settle", 0, 3600, &ksm_settle);
	double window = 1, quiet_wait = 10, waited = 0;
	if (rc == 0)
		rc = sb_scn_param_seconds(ctx, "avail_window", 0, 10, &window);
	if (rc == 0)
		rc = sb_scn_param_seconds(ctx, "quiet_wait", 0, 600, &quiet_wait);
	if (rc < 0)
		return rc;
	if (boxes < 1 || boxes > 10000)
		return sb_error_set(ctx->err, EINVAL, "parameter boxes=%llu: expected 1..10000", (unsigned long long)boxes);
	bool drop = strcmp(sb_scn_param(ctx, "drop_caches"), "0") != 0;
	bool ksm = sb_host_ksm_on();
	sb_scn_tag(ctx, "ksm", ksm ? "on: waited ksm_settle=%s s" : "off%s", ksm ? sb_scn_param(ctx, "ksm_settle") : "");

	drop_caches(ctx, drop, "before");
	if ((rc = sb_host_kernel_mem_quiesce(ctx, quiet_wait, &waited)) < 0)
		return rc;
	sb_scn_tag(ctx, "quiet_before_s", "%.1f", waited);
	double avail0 = sb_host_mem_available(window), kernel0 = sb_host_kernel_mem();
	struct sb_box_launch *l = NULL;
	unsigned n = (unsigned)boxes;
	rc = start_all(ctx, n, &l);
	if (rc == 0)
		rc = sb_scn_sleep(ctx, settle + (ksm ? ksm_settle : 0));
	if (rc == 0) {
		drop_caches(ctx, drop, "after");
		double avail1 = sb_host_mem_available(window), kernel1 = sb_host_kernel_mem();
		struct sb_fp_mem total = {0};
		struct sb_footprint fp = {0};
		for (unsigned i = 0; rc == 0 && i < n; i++) {
			sb_fp_reset(&fp);
			rc = sb_fp_collect(ctx, l[i].box, NULL, 0, &fp);
			struct sb_fp_mem m;
			sb_fp_measure(&fp, &m);
			total.pss += m.pss;
			total.rss += m.rss;
			total.uss += m.uss;
			if (i == 0) {
				char desc[480];
				sb_fp_describe(&fp, desc, sizeof(desc));
				sb_scn_tag(ctx, "counted_processes", "first sandbox: %s", desc);
			}
		}
		sb_fp_free(&fp);
		if (rc == 0) {
			double pss_box = total.pss / n, avail_box = (avail0 - avail1) / n;
			sb_scn_metric(ctx, "density_pss_total_mib", total.pss / MIB);
			sb_scn_metric(ctx, "density_pss_per_box_mib", pss_box / MIB);
			sb_scn_metric(ctx, "density_uss_per_box_mib", total.uss / n / MIB);
			sb_scn_metric(ctx, "density_rss_per_box_mib", total.rss / n / MIB);
			sb_scn_metric(ctx, "density_memavail_per_box_mib", avail_box / MIB);
			sb_scn_metric(ctx, "density_kernel_per_box_mib", (kernel1 - kernel0) / n / MIB);
			if (pss_box > 0)
				sb_scn_metric(ctx, "density_memavail_to_pss_ratio", avail_box / pss_box);
		}
	}
	rc = destroy_all(ctx, l, n, rc);
	free(l);
	return rc;
}

static const struct sb_metric_def density_idle_metrics[] = {
	{"density_pss_total_mib", "MiB", SB_LOWER_IS_BETTER, "PSS of every process the idle sandboxes and their runtime keep alive, summed"},
	{"density_pss_per_box_mib", "MiB", SB_LOWER_IS_BETTER, "the same per sandbox (Kata's method)"},
	{"density_uss_per_box_mib", "MiB", SB_LOWER_IS_BETTER, "USS of the same processes per sandbox"},
	{"density_rss_per_box_mib", "MiB", SB_LOWER_IS_BETTER, "RSS of the same processes per sandbox (shared pages counted in every process)"},
	{"density_memavail_per_box_mib", "MiB", SB_LOWER_IS_BETTER, "drop of the host's MemAvailable per sandbox, caches dropped (gVisor's method)"},
	{"density_kernel_per_box_mib", "MiB", SB_LOWER_IS_BETTER, "rise of the host's unreclaimable slab, page tables, kernel stacks and shmem per sandbox: what PSS cannot see"},
	{"density_memavail_to_pss_ratio", "ratio", SB_LOWER_IS_BETTER, "MemAvailable method / PSS method"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_resource_density_10_idle = {
	.name = "resource-density-10-idle",
	.metrics = density_idle_metrics,
	.axis = "resource",
	.description = "ten idle sandboxes: PSS of their processes and the host's MemAvailable drop, per sandbox, side by side",
	.caps = SB_CAP_PIDS,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = density_idle_params,
	.default_runs = 3,
	.default_warmup = 0,
	.run_once = density_idle_run_once,
};

/* ---- density-parallel-10 ---- */

static const struct sb_param_def parallel_params[] = {
	{"boxes", "10", "sandboxes started at once", "uint"},
	{NULL, NULL, NULL, NULL},
};

/* One start alone, then `boxes` at once: what each of them waited, against the single start. */
static int parallel_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t boxes;
	int rc = sb_scn_param_size(ctx, "boxes", &boxes);
	if (rc < 0)
		return rc;
	if (boxes < 1 || boxes > 1000)
		return sb_error_set(ctx->err, EINVAL, "parameter boxes=%llu: expected 1..1000", (unsigned long long)boxes);
	sb_scn_tag(ctx, "creates", "%s", ctx->drv->concurrent_create
		   ? "concurrent (the driver makes boxes from several threads)"
		   : "serialised by sandbench (the driver does not declare concurrent_create)");
	struct sb_box *one;
	int64_t c_ns, s_ns;
	if ((rc = sb_scn_box_new(ctx, &one, &c_ns, &s_ns)) < 0)
		return rc;
	if ((rc = sb_scn_box_destroy(ctx, one)) < 0)
		return rc;
	unsigned n = (unsigned)boxes;
	struct sb_box_launch *l = calloc(n, sizeof(*l));
	if (!l)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	unsigned ok = sb_scn_boxes_new(ctx, n, 0, 0, l);
	double sum = 0, worst = 0;
	for (unsigned i = 0; i < n; i++) {
		if (l[i].rc < 0)
			continue;
		double ms = sb_ns_to_ms(l[i].ready_ns);
		sum += ms;
		worst = ms > worst ? ms : worst;
	}
	double single = sb_ns_to_ms(c_ns + s_ns);
	if (ok > 0) {
		sb_scn_metric(ctx, "parallel_box_max_ms", worst);
		sb_scn_metric(ctx, "parallel_box_mean_ms", sum / ok);
		if (single > 0)
			sb_scn_metric(ctx, "parallel_surcharge_ratio", sum / ok / single);
	}
	sb_scn_metric(ctx, "single_start_ms", single);
	sb_scn_metric(ctx, "parallel_failures", n - ok);
	for (unsigned i = 0; i < n; i++)
		if (l[i].rc < 0) {
			sb_scn_tag(ctx, "first_failure", "%s", l[i].error);
			break;
		}
	rc = destroy_all(ctx, l, n, 0);
	free(l);
	return rc;
}

static const struct sb_metric_def parallel_metrics[] = {
	{"parallel_box_max_ms", "ms", SB_LOWER_IS_BETTER, "the slowest of the sandboxes started at once: asked to ready (create + start)"},
	{"parallel_box_mean_ms", "ms", SB_LOWER_IS_BETTER, "the mean of the same"},
	{"single_start_ms", "ms", SB_LOWER_IS_BETTER, "create + start of one sandbox alone, just before"},
	{"parallel_surcharge_ratio", "ratio", SB_LOWER_IS_BETTER, "mean start at once / a single start: the contention surcharge"},
	{"parallel_failures", "boxes", SB_LOWER_IS_BETTER, "sandboxes of the burst that failed to start"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_density_parallel_10 = {
	.name = "density-parallel-10",
	.metrics = parallel_metrics,
	.axis = "density",
	.description = "start ten sandboxes at once: per-box max and mean latency against a single start",
	.caps = 0,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = parallel_params,
	.default_runs = 10,
	.default_warmup = 1,
	.run_once = parallel_run_once,
};

/* ---- density-breakpoint ---- */

#define BP_MAX_LEVELS 16
#define BP_MAX_SLOTS 128

struct bp_state {
	struct sb_box *box;
	struct sb_pool pool;
	unsigned levels[BP_MAX_LEVELS];
	size_t nlevels;
	unsigned max_level;
};

static const struct sb_param_def bp_params[] = {
	{"levels", "1,2,4,8,16,32", "comma-separated concurrency levels (agent slots used at once)", "list"},
	{NULL, NULL, NULL, NULL},
};

static int bp_levels(struct sb_scn_ctx *ctx, struct bp_state *st)
{
	const char *v = sb_scn_param(ctx, "levels");
	if (sb_parse_uint_list(v, st->levels, BP_MAX_LEVELS, &st->nlevels) < 0)
		return sb_error_set(ctx->err, EINVAL, "parameter levels=%s: expected up to %d positive integers like 1,2,4",
				    v, BP_MAX_LEVELS);
	st->max_level = 0;
	for (size_t i = 0; i < st->nlevels; i++) {
		if (st->levels[i] > BP_MAX_SLOTS)
			return sb_error_set(ctx->err, EINVAL, "parameter levels: %u is above the %d-slot limit",
					    st->levels[i], BP_MAX_SLOTS);
		if (st->levels[i] > st->max_level)
			st->max_level = st->levels[i];
	}
	return 0;
}

static int bp_setup(struct sb_scn_ctx *ctx)
{
	struct bp_state *st = calloc(1, sizeof(*st));
	if (!st)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = st;
	int rc = bp_levels(ctx, st);
	if (rc < 0)
		return rc;
	sb_scn_tag(ctx, "concurrency_levels", "%s", sb_scn_param(ctx, "levels"));
	sb_scn_tag(ctx, "slot_command", "printf TOKEN in the slot's persistent /bin/sh");
	if ((rc = sb_scn_box_new(ctx, &st->box, NULL, NULL)) < 0)
		return rc;
	return sb_pool_open(ctx, st->box, st->max_level, &st->pool);
}

/* Every slot answers once before anything is measured: no sample pays for a page-in. */
static int bp_prewarm(struct sb_scn_ctx *ctx)
{
	struct bp_state *st = ctx->state;
	for (unsigned i = 0; i < st->pool.n; i++) {
		const char *argv[] = {"true", NULL};
		struct sb_agent_response r;
		int rc = sb_pool_run_ok(ctx, &st->pool.slots[i], argv, &r);
		sb_agent_response_clear(&r);
		if (rc < 0)
			return sb_error_prefix(ctx->err, "warming slot %u", i);
	}
	return 0;
}

static int bp_run_once(struct sb_scn_ctx *ctx)
{
	struct bp_state *st = ctx->state;
	return sb_pool_run_levels(ctx, &st->pool, st->levels, st->nlevels, "bp");
}

static void bp_teardown(struct sb_scn_ctx *ctx)
{
	struct bp_state *st = ctx->state;
	if (st)
		sb_pool_close(&st->pool);
	free(st);
	ctx->state = NULL;
}

static int bp_finalize(struct sb_scn_ctx *ctx, json_t *report)
{
	struct bp_state st = {0};
	if (bp_levels(ctx, &st) < 0)
		return -EINVAL;
	return sb_pool_breakpoint_finalize(report, st.levels, st.nlevels);
}

static const struct sb_metric_def bp_metrics[] = {
	{"shell_pool_run_completion_c*_ms", "ms", SB_LOWER_IS_BETTER, "slowest of N concurrent commands through N agent shells (one per level N)"},
	{"density_max_concurrency_before_p95_doubles", "slots", SB_HIGHER_IS_BETTER, "derived: highest level whose p95 stays within 2x of level 1's"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_density_breakpoint = {
	.name = "density-breakpoint",
	.metrics = bp_metrics,
	.axis = "density",
	.description = "the shell-pool breakpoint up to 32 slots: highest concurrency whose p95 stays within 2x of one slot's",
	.caps = SB_CAP_AGENT,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = bp_params,
	.default_runs = 20,
	.default_warmup = 2,
	.setup = bp_setup,
	.prewarm = bp_prewarm,
	.run_once = bp_run_once,
	.teardown = bp_teardown,
	.finalize = bp_finalize,
};
