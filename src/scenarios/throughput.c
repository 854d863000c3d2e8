/* Throughput scenarios: how fast bytes move out of a sandbox. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "scenarios/scenario.h"

static const struct sb_param_def stdout_params[] = {
	{"size", "64M", "bytes the agent streams to stdout per iteration (K/M/G suffixes)", "size"},
	{NULL, NULL, NULL, NULL},
};

static int stdout_setup(struct sb_scn_ctx *ctx)
{
	struct sb_box *box;
	uint64_t size;
	int rc = sb_scn_param_size(ctx, "size", &size);
	if (rc < 0)
		return rc;
	if (size == 0)
		return sb_error_set(ctx->err, EINVAL, "parameter size must be > 0");
	rc = sb_scn_box_new(ctx, &box, NULL, NULL);
	ctx->state = box;
	return rc;
}

/* The agent writes `size` bytes to stdout; we count them on the host side of the pipe. Throughput
 * is bytes over the time from spawn to the last byte, so runtime start cost is included as a user
 * of `docker run ... | consumer` would feel it. */
static int stdout_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t size;
	int rc = sb_scn_param_size(ctx, "size", &size);
	if (rc < 0)
		return rc;
	char size_s[32];
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	const char *argv[] = {ctx->agent, "stream", size_s, NULL};
	struct sb_exec_req req = {.argv = argv, .discard_stdout = true, .deadline_ns = ctx->deadline_ns};
	struct sb_proc_result res;
	rc = sb_drv_exec(ctx->drv, ctx->state, &req, &res, ctx->err);
	if (rc == 0 && res.exit_code != 0)
		rc = sb_error_set(ctx->err, EIO, "agent stream exited %d: %.200s", res.exit_code,
				  res.err ? res.err : "");
	if (rc == 0 && res.out_bytes != size)
		rc = sb_error_set(ctx->err, EBADMSG, "expected %" PRIu64 " bytes on stdout, got %" PRIu64, size,
				  res.out_bytes);
	if (rc == 0) {
		double secs = (double)(res.end_ns - res.start_ns) / 1e9;
		sb_scn_metric(ctx, "stdout_mib_per_s", (double)size / (1 << 20) / secs);
		sb_scn_metric(ctx, "stdout_wall_ms", secs * 1e3);
		if (res.first_byte_ns)
			sb_scn_metric(ctx, "first_byte_ms",
				      sb_ns_to_ms(res.first_byte_ns - res.start_ns));
	}
	sb_proc_result_free(&res);
	return rc;
}

static const struct sb_metric_def stdout_metrics[] = {
	{"stdout_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "bytes the agent writes to stdout, counted on the host"},
	{"stdout_wall_ms", "ms", SB_LOWER_IS_BETTER, "the whole stream, call to exit"},
	{"first_byte_ms", "ms", SB_LOWER_IS_BETTER, "call to the first stdout byte on the host"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_throughput_stdout = {
	.name = "throughput-stdout",
	.metrics = stdout_metrics,
	.axis = "throughput",
	.description = "MiB/s of N MiB streamed from a command's stdout inside the sandbox",
	.caps = SB_CAP_EXEC,
	.profiles = SB_PROFILE_QUICK | SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = stdout_params,
	.default_runs = 10,
	.default_warmup = 1,
	.setup = stdout_setup,
	.run_once = stdout_run_once,
};
