/* Shell-pool scenarios: persistent agent slots inside one sandbox (the way agent platforms keep
 * shells warm), the completion time at each concurrency level, the density breakpoint, and the
 * command rate through one and through N slots. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/report.h"
#include "core/stats.h"
#include "scenarios/breakpoint.h"
#include "scenarios/pool.h"

#define MAX_LEVELS 16

struct pool_state {
	struct sb_box *box;
	struct sb_pool pool;
	unsigned levels[MAX_LEVELS];
	size_t nlevels;
	unsigned max_level;
};

static const struct sb_param_def shell_pool_params[] = {
	{"levels", "1,2,4,8", "comma-separated concurrency levels (slots used at once)", "list"},
	{NULL, NULL, NULL, NULL},
};

static int parse_levels(struct sb_scn_ctx *ctx, struct pool_state *st)
{
	const char *v = sb_scn_param(ctx, "levels");
	if (sb_parse_uint_list(v, st->levels, MAX_LEVELS, &st->nlevels) < 0)
		return sb_error_set(ctx->err, EINVAL, "parameter levels=%s: expected up to %d positive integers like 1,2,4,8",
				    v, MAX_LEVELS);
	for (size_t i = 0; i < st->nlevels; i++) {
		if (st->levels[i] > 128)
			return sb_error_set(ctx->err, EINVAL, "parameter levels: %u is above the 128-slot limit",
					    st->levels[i]);
		if (st->levels[i] > st->max_level)
			st->max_level = st->levels[i];
	}
	return 0;
}

static int pool_setup_common(struct sb_scn_ctx *ctx, struct pool_state *st, unsigned slots)
{
	int rc = sb_scn_box_new(ctx, &st->box, NULL, NULL);
	if (rc < 0)
		return rc;
	rc = sb_pool_open(ctx, st->box, slots, &st->pool);
	if (rc < 0)
		return rc;
	/* Warm every slot once so the first measured repeat does not pay for page-ins. */
	for (unsigned i = 0; i < slots; i++) {
		const char *argv[] = {"true", NULL};
		struct sb_agent_response r;
		rc = sb_pool_run_ok(ctx, &st->pool.slots[i], argv, &r);
		sb_agent_response_clear(&r);
		if (rc < 0)
			return sb_error_prefix(ctx->err, "warming slot %u", i);
	}
	return 0;
}

static int shell_pool_setup(struct sb_scn_ctx *ctx)
{
	struct pool_state *st = calloc(1, sizeof(*st));
	if (!st)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = st;
	int rc = parse_levels(ctx, st);
	if (rc < 0)
		return rc;
	char levels[128] = "";
	for (size_t i = 0; i < st->nlevels; i++)
		snprintf(levels + strlen(levels), sizeof(levels) - strlen(levels), "%s%u", i ? "," : "", st->levels[i]);
	sb_scn_tag(ctx, "measurement_boundary", "command_completion");
	sb_scn_tag(ctx, "concurrency_levels", "%s", levels);
	sb_scn_tag(ctx, "slot_command", "printf TOKEN in the slot's persistent /bin/sh");
	return pool_setup_common(ctx, st, st->max_level);
}

/* One repeat: at each level c, `printf TOKEN` on c slots at once; the slowest slot's completion. */
static int shell_pool_run_once(struct sb_scn_ctx *ctx)
{
	struct pool_state *st = ctx->state;
	return sb_pool_run_levels(ctx, &st->pool, st->levels, st->nlevels, "sb");
}

static void pool_teardown(struct sb_scn_ctx *ctx)
{
	struct pool_state *st = ctx->state;
	if (!st)
		return;
	sb_pool_close(&st->pool);
	free(st);
	ctx->state = NULL;
}

/* Adds the breakpoint as a derived aggregate (sb_pool_breakpoint_finalize). */
static int shell_pool_finalize(struct sb_scn_ctx *ctx, json_t *report)
{
	struct pool_state st = {0};
	if (parse_levels(ctx, &st) < 0)
		return -EINVAL;
	return sb_pool_breakpoint_finalize(report, st.levels, st.nlevels);
}

/* throughput-exec-rate: commands per second through one slot (strictly sequential), and through N
 * slots (rounds of N commands in flight at once). */
static const struct sb_param_def exec_rate_params[] = {
	{"count", "50", "commands per measurement", "uint"},
	{"slots", "4", "slots for the parallel measurement", "uint"},
	{NULL, NULL, NULL, NULL},
};

static int exec_rate_setup(struct sb_scn_ctx *ctx)
{
	struct pool_state *st = calloc(1, sizeof(*st));
	if (!st)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = st;
	uint64_t slots, count;
	int rc = sb_scn_param_size(ctx, "slots", &slots);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "count", &count);
	if (rc < 0)
		return rc;
	if (slots < 1 || slots > 128 || count < 1)
		return sb_error_set(ctx->err, EINVAL, "parameters: slots must be 1..128 and count at least 1");
	st->max_level = (unsigned)slots;
	return pool_setup_common(ctx, st, st->max_level);
}

static int exec_rate_run_once(struct sb_scn_ctx *ctx)
{
	struct pool_state *st = ctx->state;
	uint64_t count;
	sb_scn_param_size(ctx, "count", &count);
	/* `true` as an executable, not the shell builtin: the rate of real commands. */
	const char *script = "/bin/true";
	const char *scripts[128];
	int64_t t0 = sb_now_ns();
	for (uint64_t i = 0; i < count; i++) {
		int64_t one;
		int rc = sb_pool_dispatch(ctx, &st->pool, 1, &script, NULL, &one);
		if (rc < 0)
			return rc;
	}
	double secs = (double)(sb_now_ns() - t0) / 1e9;
	sb_scn_metric(ctx, "exec_rate_1_slot_per_s", (double)count / secs);

	unsigned n = st->max_level;
	for (unsigned i = 0; i < n; i++)
		scripts[i] = script;
	uint64_t done = 0;
	t0 = sb_now_ns();
	while (done < count) {
		unsigned c = count - done < n ? (unsigned)(count - done) : n;
		int64_t slowest;
		int rc = sb_pool_dispatch(ctx, &st->pool, c, scripts, NULL, &slowest);
		if (rc < 0)
			return rc;
		done += c;
	}
	secs = (double)(sb_now_ns() - t0) / 1e9;
	char metric[48];
	snprintf(metric, sizeof(metric), "exec_rate_%u_slots_per_s", n);
	sb_scn_metric(ctx, metric, (double)count / secs);
	return 0;
}

static const struct sb_metric_def shell_pool_metrics[] = {
	{"shell_pool_run_completion_c*_ms", "ms", SB_LOWER_IS_BETTER, "slowest of N concurrent commands through N agent shells (one per level N)"},
	{"density_max_concurrency_before_p95_doubles", "slots", SB_HIGHER_IS_BETTER, "derived: highest level whose p95 stays within 2x of level 1's"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_latency_shell_pool = {
	.name = "latency-shell-pool",
	.metrics = shell_pool_metrics,
	.axis = "latency",
	.description = "printf TOKEN on N persistent agent slots at once: slowest completion per level, and the density breakpoint",
	.caps = SB_CAP_AGENT,
	.profiles = SB_PROFILE_QUICK | SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = shell_pool_params,
	.default_runs = 20,
	.default_warmup = 2,
	.setup = shell_pool_setup,
	.run_once = shell_pool_run_once,
	.teardown = pool_teardown,
	.finalize = shell_pool_finalize,
};

static const struct sb_metric_def exec_rate_metrics[] = {
	{"exec_rate_1_slot_per_s", "cmd/s", SB_HIGHER_IS_BETTER, "/bin/true commands per second through one agent shell"},
	{"exec_rate_*_slots_per_s", "cmd/s", SB_HIGHER_IS_BETTER, "commands per second through N shells, N in flight"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_throughput_exec_rate = {
	.name = "throughput-exec-rate",
	.metrics = exec_rate_metrics,
	.axis = "throughput",
	.description = "commands per second through one agent slot, and through N slots in parallel",
	.caps = SB_CAP_AGENT,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = exec_rate_params,
	.default_runs = 10,
	.default_warmup = 1,
	.setup = exec_rate_setup,
	.run_once = exec_rate_run_once,
	.teardown = pool_teardown,
};
