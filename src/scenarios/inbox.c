/* What the sandbox costs the code running inside it: a cheap system call (next to the same
 * loop on the host, so seccomp filters, user namespaces, a user-space kernel or a VM exit show
 * as a ratio), fork+exit+wait, and memory bandwidth. The agent does the work in both places. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "core/clock.h"
#include "scenarios/wl.h"

static int inbox_setup(struct sb_scn_ctx *ctx)
{
	return sb_wl_setup(ctx, 1);
}

static int count_arg(struct sb_scn_ctx *ctx, char *buf, size_t len)
{
	uint64_t n = 0;
	int rc = sb_scn_param_size(ctx, "count", &n);
	if (rc < 0)
		return rc;
	if (n == 0)
		return sb_error_set(ctx->err, EINVAL, "parameter count must be > 0");
	snprintf(buf, len, "%" PRIu64, n);
	return 0;
}

static const struct sb_param_def syscall_params[] = {
	{"count", "200000", "calls per loop (best of three loops)", "size"},
	{NULL, NULL, NULL, NULL},
};

/* Inside first, then the same on the host right after, so both see the same host moment. */
static int syscall_run_once(struct sb_scn_ctx *ctx)
{
	char n[32];
	int rc = count_arg(ctx, n, sizeof(n));
	if (rc < 0)
		return rc;
	const char *argv[] = {ctx->agent, "syscall-loop", "--count", n, NULL};
	const char *hargs[] = {"syscall-loop", "--count", n, NULL};
	json_t *in = NULL, *host = NULL;
	double ppid = 0, clk = 0, hppid = 0, hclk = 0;
	rc = sb_wl_json(ctx, 0, argv, &in);
	if (rc == 0)
		rc = sb_wl_host_run(ctx, hargs, ctx->deadline_ns, "the host's syscall loop", &host);
	if (rc == 0)
		rc = sb_wl_num(ctx, in, "getppid_ns", &ppid);
	if (rc == 0)
		rc = sb_wl_num(ctx, in, "clock_gettime_ns", &clk);
	if (rc == 0)
		rc = sb_wl_num(ctx, host, "getppid_ns", &hppid);
	if (rc == 0)
		rc = sb_wl_num(ctx, host, "clock_gettime_ns", &hclk);
	if (rc == 0) {
		sb_scn_metric(ctx, "syscall_getppid_ns", ppid);
		sb_scn_metric(ctx, "syscall_clock_gettime_ns", clk);
		sb_scn_metric(ctx, "syscall_host_getppid_ns", hppid);
		sb_scn_metric(ctx, "syscall_host_clock_gettime_ns", hclk);
		sb_scn_metric(ctx, "syscall_inside_vs_host", ppid / hppid);
	}
	json_decref(in);
	json_decref(host);
	return rc;
}

static const struct sb_param_def fork_params[] = {
	{"count", "500", "fork + exit + wait cycles per iteration", "size"},
	{NULL, NULL, NULL, NULL},
};

static int fork_run_once(struct sb_scn_ctx *ctx)
{
	char n[32];
	int rc = count_arg(ctx, n, sizeof(n));
	if (rc < 0)
		return rc;
	const char *argv[] = {ctx->agent, "fork-rate", "--count", n, NULL};
	static const struct sb_wl_field fields[] = {
		{"forks_per_s", "forks_per_s"},
		{"lat_p50_us", "fork_p50_us"},
		{"lat_p99_us", "fork_p99_us"},
	};
	json_t *j = NULL;
	rc = sb_wl_json(ctx, 0, argv, &j);
	if (rc == 0)
		rc = sb_wl_metrics(ctx, j, fields, 3);
	json_decref(j);
	return rc;
}

static const struct sb_param_def membw_params[] = {
	{"size", "64M", "buffer size (two of them are touched first)", "size"},
	{"passes", "3", "passes; the best one counts", "size"},
	{NULL, NULL, NULL, NULL},
};

static int membw_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t size = 0, passes = 0;
	int rc = sb_scn_param_size(ctx, "size", &size);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "passes", &passes);
	if (rc < 0)
		return rc;
	if (size < 4096 || passes == 0)
		return sb_error_set(ctx->err, EINVAL, "parameters: size must be >= 4096 and passes > 0");
	char size_s[32], passes_s[32];
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	snprintf(passes_s, sizeof(passes_s), "%" PRIu64, passes);
	const char *argv[] = {ctx->agent, "mem-bw", "--size", size_s, "--passes", passes_s, NULL};
	static const struct sb_wl_field fields[] = {
		{"copy_mib_per_s", "mem_copy_mib_per_s"},
		{"write_mib_per_s", "mem_write_mib_per_s"},
		{"read_mib_per_s", "mem_read_mib_per_s"},
	};
	json_t *j = NULL;
	rc = sb_wl_json(ctx, 0, argv, &j);
	if (rc == 0)
		rc = sb_wl_metrics(ctx, j, fields, 3);
	json_decref(j);
	return rc;
}

static const struct sb_metric_def syscall_metrics[] = {
	{"syscall_getppid_ns", "ns", SB_LOWER_IS_BETTER, "one getppid() inside the sandbox (raw syscall)"},
	{"syscall_clock_gettime_ns", "ns", SB_LOWER_IS_BETTER, "one clock_gettime() inside, as a raw syscall (no vDSO)"},
	{"syscall_host_getppid_ns", "ns", SB_LOWER_IS_BETTER, "the same getppid() loop on the host, right after"},
	{"syscall_host_clock_gettime_ns", "ns", SB_LOWER_IS_BETTER, "the same clock_gettime() loop on the host"},
	{"syscall_inside_vs_host", "x", SB_LOWER_IS_BETTER, "getppid inside / on the host: what the sandbox adds"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def fork_metrics[] = {
	{"forks_per_s", "1/s", SB_HIGHER_IS_BETTER, "fork + _exit + waitpid cycles per second inside"},
	{"fork_p50_us", "us", SB_LOWER_IS_BETTER, "median cycle"},
	{"fork_p99_us", "us", SB_LOWER_IS_BETTER, "99th percentile cycle"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def membw_metrics[] = {
	{"mem_copy_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "memcpy of size, best pass"},
	{"mem_write_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "memset of size, best pass"},
	{"mem_read_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "sequential 64-bit reads of size, best pass"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

#define INBOX_SCENARIO(ident, nm, desc, prm, mets, run)                                                      \
	const struct sb_scenario sb_scn_##ident = {                                                          \
		.name = nm, .axis = "throughput", .description = desc, .caps = SB_CAP_AGENT,                 \
		.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL, .params = prm, .metrics = mets,            \
		.default_runs = 5, .default_warmup = 1, .setup = inbox_setup, .run_once = run,                \
		.teardown = sb_wl_teardown,                                                                   \
	}

INBOX_SCENARIO(throughput_syscall, "throughput-syscall",
	       "ns per cheap system call inside the sandbox vs on the host (what seccomp, userns, a VM add)",
	       syscall_params, syscall_metrics, syscall_run_once);
INBOX_SCENARIO(throughput_fork_rate, "throughput-fork-rate", "fork + exit + wait per second inside the sandbox",
	       fork_params, fork_metrics, fork_run_once);
INBOX_SCENARIO(throughput_memory_bandwidth, "throughput-memory-bandwidth",
	       "memcpy / memset / read bandwidth inside the sandbox, MiB/s", membw_params, membw_metrics,
	       membw_run_once);
