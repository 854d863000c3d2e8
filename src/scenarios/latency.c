/* Latency scenarios: how long a user waits for a sandbox to run something. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "scenarios/scenario.h"

/* latency-spawn: the whole life of a sandbox that runs one static no-op: create, start, exec the
 * agent's `true`, destroy. On the process driver this is a bare spawn+wait. With work=SECONDS the
 * command busy-waits that long instead (`cpu-burn`): a sandbox running a short job, or a known
 * slowdown for checking a regression gate. */
struct spawn_state {
	char work[32]; /* "" for the no-op */
};

static const struct sb_param_def spawn_params[] = {
	{"work", "0", "seconds of CPU work the command does inside the sandbox before exiting (0: a no-op)", "number"},
	{NULL, NULL, NULL, NULL},
};

static int spawn_setup(struct sb_scn_ctx *ctx)
{
	const char *w = sb_scn_param(ctx, "work");
	char *end;
	double secs = strtod(w, &end);
	if (end == w || *end || !(secs >= 0 && secs <= 3600))
		return sb_error_set(ctx->err, EINVAL, "parameter work=%s: expected seconds in [0, 3600], like 0.001", w);
	struct spawn_state *st = calloc(1, sizeof(*st));
	if (!st)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	if (secs > 0)
		snprintf(st->work, sizeof(st->work), "%.9g", secs);
	ctx->state = st;
	return 0;
}

static int spawn_run_once(struct sb_scn_ctx *ctx)
{
	const struct spawn_state *st = ctx->state;
	struct sb_box *box;
	int64_t create_ns, start_ns;
	int64_t t0 = sb_now_ns();
	int rc = sb_scn_box_new(ctx, &box, &create_ns, &start_ns);
	if (rc < 0)
		return rc;
	const char *noop[] = {ctx->agent, "true", NULL}, *busy[] = {ctx->agent, "cpu-burn", st->work, NULL};
	struct sb_proc_result res;
	rc = sb_scn_exec_ok(ctx, box, st->work[0] ? busy : noop, &res);
	int64_t t_exec = sb_now_ns();
	if (rc == 0)
		rc = sb_scn_box_destroy(ctx, box);
	int64_t t_end = sb_now_ns();
	if (rc == 0) {
		sb_scn_metric(ctx, "lifecycle_ms", sb_ns_to_ms(t_end - t0));
		sb_scn_metric(ctx, "create_ms", sb_ns_to_ms(create_ns));
		sb_scn_metric(ctx, "start_ms", sb_ns_to_ms(start_ns));
		sb_scn_metric(ctx, "exec_ms", sb_ns_to_ms(res.end_ns - res.start_ns));
		sb_scn_metric(ctx, "destroy_ms", sb_ns_to_ms(t_end - t_exec));
		sb_scn_metric(ctx, "exec_cpu_ms", res.user_ms + res.sys_ms);
		sb_scn_metric(ctx, "exec_maxrss_kb", (double)res.maxrss_kb);
	}
	sb_proc_result_free(&res);
	return rc;
}

/* latency-exec (formerly latency-exec-output, still an alias): one command in a running sandbox
 * whose stdout must be exactly what was asked for. A wrong answer is an error, never a sample: a
 * fast wrong runtime is not fast. */
struct exec_output_state {
	struct sb_box *box;
};

static int exec_output_setup(struct sb_scn_ctx *ctx)
{
	struct exec_output_state *st = calloc(1, sizeof(*st));
	if (!st)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = st;
	return sb_scn_box_new(ctx, &st->box, NULL, NULL);
}

static const struct sb_param_def exec_output_params[] = {
	{"via", "echo", "echo (prints TOKEN and a newline) or printf (TOKEN alone: the shell-pool command)", "echo|printf"},
	{NULL, NULL, NULL, NULL},
};

static int exec_output_run_once(struct sb_scn_ctx *ctx)
{
	struct exec_output_state *st = ctx->state;
	const char *via = sb_scn_param(ctx, "via");
	bool use_printf = strcmp(via, "printf") == 0;
	if (!use_printf && strcmp(via, "echo") != 0)
		return sb_error_set(ctx->err, EINVAL, "parameter via=%s: expected echo or printf", via);
	char token[64], expected[80];
	snprintf(token, sizeof(token), "sandbench-%s-%u", ctx->run_id, ctx->iteration);
	snprintf(expected, sizeof(expected), use_printf ? "%s" : "%s\n", token);
	const char *argv[] = {via, token, NULL};
	struct sb_proc_result res;
	int rc = sb_scn_exec_ok(ctx, st->box, argv, &res);
	if (rc == 0 && (!res.out || strcmp(res.out, expected) != 0)) {
		rc = sb_error_set(ctx->err, EBADMSG, "stdout mismatch: expected '%s%s', got '%.*s' (%zu bytes)",
				  token, use_printf ? "" : "\\n", (int)(res.out_len > 80 ? 80 : res.out_len), res.out ? res.out : "",
				  res.out_len);
	}
	if (rc == 0) {
		sb_scn_metric(ctx, "exec_ms", sb_ns_to_ms(res.end_ns - res.start_ns));
		if (res.first_byte_ns)
			sb_scn_metric(ctx, "first_byte_ms",
				      sb_ns_to_ms(res.first_byte_ns - res.start_ns));
		sb_scn_metric(ctx, "exec_cpu_ms", res.user_ms + res.sys_ms);
	}
	sb_proc_result_free(&res);
	return rc;
}

static void free_state(struct sb_scn_ctx *ctx)
{
	free(ctx->state);
	ctx->state = NULL;
}

static const struct sb_metric_def spawn_metrics[] = {
	{"lifecycle_ms", "ms", SB_LOWER_IS_BETTER, "create + start + exec + destroy, wall time on the host"},
	{"create_ms", "ms", SB_LOWER_IS_BETTER, "the driver's create op"},
	{"start_ms", "ms", SB_LOWER_IS_BETTER, "the driver's start op (0 when create leaves the sandbox running)"},
	{"exec_ms", "ms", SB_LOWER_IS_BETTER, "the no-op (or work=) command, from exec call to its exit"},
	{"destroy_ms", "ms", SB_LOWER_IS_BETTER, "the driver's destroy op"},
	{"exec_cpu_ms", "ms", SB_LOWER_IS_BETTER, "CPU (user + sys) of the process tree the exec waited for: scheduler run time, 1 us resolution (docs/statistics.md)"},
	{"exec_maxrss_kb", "KiB", SB_LOWER_IS_BETTER, "peak RSS of the largest process waited for by the exec"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_latency_spawn = {
	.name = "latency-spawn",
	.metrics = spawn_metrics,
	.axis = "latency",
	.description = "create a sandbox, run a static no-op in it, destroy it (cold lifecycle)",
	.caps = SB_CAP_EXEC,
	.profiles = SB_PROFILE_QUICK | SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = spawn_params,
	.default_runs = 30,
	.default_warmup = 3,
	.setup = spawn_setup,
	.run_once = spawn_run_once,
	.teardown = free_state,
};

static const struct sb_metric_def exec_output_metrics[] = {
	{"exec_ms", "ms", SB_LOWER_IS_BETTER, "one command in a running sandbox, call to exit, stdout checked"},
	{"first_byte_ms", "ms", SB_LOWER_IS_BETTER, "call to the first stdout byte on the host"},
	{"exec_cpu_ms", "ms", SB_LOWER_IS_BETTER, "CPU (user + sys) of the process tree the exec waited for, 1 us resolution (docs/statistics.md)"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_latency_exec = {
	.name = "latency-exec",
	.aliases = (const char *const[]){"latency-exec-output", NULL},
	.metrics = exec_output_metrics,
	.axis = "latency",
	.description = "run `echo TOKEN` in a running sandbox and check stdout is exactly TOKEN",
	.caps = SB_CAP_EXEC,
	.params = exec_output_params,
	.profiles = SB_PROFILE_QUICK | SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.default_runs = 30,
	.default_warmup = 3,
	.setup = exec_output_setup,
	.run_once = exec_output_run_once,
	.teardown = free_state,
};
