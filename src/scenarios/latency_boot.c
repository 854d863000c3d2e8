/* latency-vm-boot: a sandbox that boots a kernel (a microVM), from nothing to its first command,
 * split the way the driver's boot-phase figures split it (struct sb_box_stats, 0 = unknown):
 *   to_kernel_ms   host clock: the VMM started -> the first byte on the guest's serial console
 *   kernel_ms      guest clock: the kernel started -> the agent's /init ran
 *   init_ms        guest clock: /init started -> the agent serving its channels
 *   to_agent_ms    host clock: the VMM started -> the agent's first answer
 *   first_exec_ms  host clock: that answer -> the first command (`sandbench-agent true`) done
 *   total_ms       host clock: create asked for -> the first command done, measured on its own
 *   vmm_cpu_ms     CPU time the sandbox's host processes had used by then: the boot's work,
 *                  which a loaded host stretches in wall time but not in CPU time
 * Host and guest clocks are not compared. A driver whose sandboxes report no boot phases (they
 * boot no kernel) is skipped in setup, after one sandbox has been asked. */
#include <errno.h>
#include <stdio.h>

#include "core/clock.h"
#include "scenarios/latency_common.h"

static const struct sb_metric_def boot_metrics[] = {
	{"to_kernel_ms", "ms", SB_LOWER_IS_BETTER, "host: VMM started -> first byte on the guest's serial console"},
	{"kernel_ms", "ms", SB_LOWER_IS_BETTER, "guest clock: kernel start -> the agent's /init runs"},
	{"init_ms", "ms", SB_LOWER_IS_BETTER, "guest clock: /init start -> the agent serving its channels"},
	{"to_agent_ms", "ms", SB_LOWER_IS_BETTER, "host: VMM started -> the agent's first answer"},
	{"first_exec_ms", "ms", SB_LOWER_IS_BETTER, "host: the agent's first answer -> first command done"},
	{"total_ms", "ms", SB_LOWER_IS_BETTER, "host: create asked for -> first command done"},
	{"vmm_cpu_ms", "ms", SB_LOWER_IS_BETTER, "CPU time of the sandbox's host processes by its first command"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

static const struct sb_param_def boot_params[] = {
	SB_LAT_READY_PARAM,
	{NULL, NULL, NULL, NULL},
};

/* One boot to a first command; *st gets the box's figures right after it. */
static int boot_once(struct sb_scn_ctx *ctx, struct sb_box_stats *st, int64_t *total_ns)
{
	int64_t t0 = sb_now_ns(), ready = 0;
	struct sb_box *box = NULL;
	int rc = sb_scn_box_new(ctx, &box, NULL, NULL);
	if (rc == 0)
		rc = sb_lat_ready_deadline(ctx, sb_now_ns(), &ready);
	if (rc == 0)
		rc = sb_lat_first_ok(ctx->drv, box, ctx->agent, ready, ctx->err);
	*total_ns = sb_now_ns() - t0;
	if (rc == 0)
		rc = sb_drv_stats(ctx->drv, box, st, ctx->err);
	sb_lat_destroy_all(ctx, &box, 1);
	return rc;
}

static int boot_setup(struct sb_scn_ctx *ctx)
{
	struct sb_box_stats st = {0};
	int64_t total;
	int rc = boot_once(ctx, &st, &total);
	if (rc < 0)
		return rc;
	if (!st.boot_ready_ns)
		return sb_error_set(ctx->err, ENOTSUP, "driver %s reports no boot phases (its sandboxes boot no kernel)",
				    ctx->drv->name);
	return 0;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static int boot_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_box_stats st = {0};
	int64_t total;
	int rc = boot_once(ctx, &st, &total);
	if (rc < 0)
		return rc;
	if (!st.boot_ready_ns)
		return sb_error_set(ctx->err, EIO, "the sandbox reported no boot phases this time");
	/* A phase the driver could not see (0) is left out rather than recorded as 0 ms. */
	const struct {
		const char *name;
		uint64_t ns;
	} phases[] = {{"to_kernel_ms", st.boot_console_ns}, {"kernel_ms", st.boot_kernel_ns},
		      {"init_ms", st.boot_init_ns},         {"to_agent_ms", st.boot_ready_ns},
		      {"first_exec_ms", st.boot_first_exec_ns}, {"vmm_cpu_ms", st.cpu_ns}};
	for (size_t i = 0; rc == 0 && i < sizeof(phases) / sizeof(phases[0]); i++)
		if (phases[i].ns)
			rc = sb_scn_metric(ctx, phases[i].name, ms(phases[i].ns));
	if (rc == 0)
		rc = sb_scn_metric(ctx, "total_ms", ms((uint64_t)total));
	return rc;
}

const struct sb_scenario sb_scn_latency_vm_boot = {
	.name = "latency-vm-boot",
	.axis = "latency",
	.description = "boot a microVM to its first command, in the driver's boot phases (host and guest clocks)",
	.caps = SB_CAP_EXEC | SB_CAP_STATS,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = boot_params,
	.metrics = boot_metrics,
	.default_runs = 10,
	.default_warmup = 1,
	.setup = boot_setup,
	.run_once = boot_run_once,
};
