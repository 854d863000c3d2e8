/* Resource scenarios: what one sandbox costs the host while it idles, how much host CPU its
 * in-box work takes, and what its driver's stats op costs (docs/resource.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "scenarios/footprint.h"
#include "scenarios/pool.h"

#define MIB (1024.0 * 1024.0)

static void free_state(struct sb_scn_ctx *ctx)
{
	free(ctx->state);
	ctx->state = NULL;
}

/* ---- resource-idle ---- */

static const struct sb_param_def idle_params[] = {
	{"settle", "3", "seconds the sandbox idles before it is measured (its CPU is measured over them)", "number"},
	{NULL, NULL, NULL, NULL},
};

/* One sandbox, started fresh, left alone for `settle` seconds, then measured from the host. */
static int idle_run_once(struct sb_scn_ctx *ctx)
{
	double settle;
	int rc = sb_scn_param_seconds(ctx, "settle", 0, 3600, &settle);
	if (rc < 0)
		return rc;
	struct sb_box *box;
	if ((rc = sb_scn_box_new(ctx, &box, NULL, NULL)) < 0)
		return rc;
	struct sb_footprint before = {0}, after = {0};
	rc = sb_fp_collect(ctx, box, NULL, 0, &before);
	sb_fp_cpu(&before);
	int64_t t0 = sb_now_ns();
	if (rc == 0)
		rc = sb_scn_sleep(ctx, settle);
	if (rc == 0)
		rc = sb_fp_collect(ctx, box, NULL, 0, &after);
	sb_fp_cpu(&after);
	double window_ns = (double)(sb_now_ns() - t0);
	if (rc == 0) {
		struct sb_fp_mem m;
		sb_fp_measure(&after, &m);
		sb_scn_metric(ctx, "idle_pss_mib", m.pss / MIB);
		sb_scn_metric(ctx, "idle_rss_mib", m.rss / MIB);
		sb_scn_metric(ctx, "idle_uss_mib", m.uss / MIB);
		sb_scn_metric(ctx, "idle_box_pss_mib", m.box_pss / MIB);
		sb_scn_metric(ctx, "idle_helper_pss_mib", m.helper_pss / MIB);
		sb_scn_metric(ctx, "idle_daemon_pss_mib", m.daemon_pss / MIB);
		sb_scn_metric(ctx, "idle_fds", m.fds);
		sb_scn_metric(ctx, "idle_processes", m.procs);
		if (window_ns > 0)
			sb_scn_metric(ctx, "idle_cpu_percent", 100.0 * sb_fp_cpu_delta(&before, &after) / window_ns);
		struct sb_box_stats st;
		struct sb_error serr = {0};
		if (sb_drv_stats(ctx->drv, box, &st, &serr) == 0 && st.mem_bytes > 0)
			sb_scn_metric(ctx, "idle_stats_mem_mib", (double)st.mem_bytes / MIB);
		char desc[480];
		sb_fp_describe(&after, desc, sizeof(desc));
		sb_scn_tag(ctx, "counted_processes", "%s", desc);
		if (!after.helpers_known)
			sb_scn_tag(ctx, "helpers_note", "%s", after.helpers_note);
	}
	sb_fp_free(&before);
	sb_fp_free(&after);
	int drc = sb_scn_box_destroy(ctx, box);
	return rc < 0 ? rc : drc;
}

static const struct sb_metric_def idle_metrics[] = {
	{"idle_pss_mib", "MiB", SB_LOWER_IS_BETTER, "PSS of the sandbox's processes and its runtime's helpers (a shared daemon's 1/N)"},
	{"idle_rss_mib", "MiB", SB_LOWER_IS_BETTER, "RSS of the same processes (shared pages counted in full)"},
	{"idle_uss_mib", "MiB", SB_LOWER_IS_BETTER, "USS of the same: pages no other process maps"},
	{"idle_box_pss_mib", "MiB", SB_LOWER_IS_BETTER, "PSS of the sandbox's own processes (box_pids)"},
	{"idle_helper_pss_mib", "MiB", SB_LOWER_IS_BETTER, "PSS of the runtime's helpers dedicated to it: shims, conmon, monitors"},
	{"idle_daemon_pss_mib", "MiB", SB_LOWER_IS_BETTER, "its share of the daemons serving N sandboxes: 1/N of their PSS"},
	{"idle_cpu_percent", "%", SB_LOWER_IS_BETTER, "CPU of the counted processes over the settle window, % of one CPU"},
	{"idle_fds", "fds", SB_LOWER_IS_BETTER, "open file descriptors of the counted processes on the host"},
	{"idle_processes", "procs", SB_LOWER_IS_BETTER, "processes counted (shared daemons included)"},
	{"idle_stats_mem_mib", "MiB", SB_LOWER_IS_BETTER, "the driver's own accounting (its stats op): cgroup memory usage with page cache where it has a cgroup"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_resource_idle = {
	.name = "resource-idle",
	.metrics = idle_metrics,
	.axis = "resource",
	.description = "host memory (RSS, PSS, USS), CPU % and fds of an idle sandbox and its runtime's helpers",
	.caps = SB_CAP_PIDS,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = idle_params,
	.default_runs = 5,
	.default_warmup = 0,
	.run_once = idle_run_once,
};

/* ---- resource-cpu-load, resource-multi-cpu-load ---- */

struct load_state {
	struct sb_box *box;
	struct sb_pool pool;
	unsigned burners;
	double seconds;
};

static const struct sb_param_def load_params[] = {
	{"seconds", "2", "seconds each in-box cpu-burn runs", "number"},
	{NULL, NULL, NULL, NULL},
};

static const struct sb_param_def multi_load_params[] = {
	{"seconds", "2", "seconds each in-box cpu-burn runs", "number"},
	{"cpus", "0", "cpu-burn processes at once (0: one per online CPU of the host)", "uint"},
	{NULL, NULL, NULL, NULL},
};

static int load_setup_n(struct sb_scn_ctx *ctx, unsigned burners)
{
	struct load_state *st = calloc(1, sizeof(*st));
	if (!st)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = st;
	st->burners = burners;
	int rc = sb_scn_param_seconds(ctx, "seconds", 0.05, 600, &st->seconds);
	if (rc < 0)
		return rc;
	sb_scn_tag(ctx, "burners", "%u", burners);
	if ((rc = sb_scn_box_new(ctx, &st->box, NULL, NULL)) < 0)
		return rc;
	return sb_pool_open(ctx, st->box, burners, &st->pool);
}

static int load_setup(struct sb_scn_ctx *ctx)
{
	return load_setup_n(ctx, 1);
}

static int multi_load_setup(struct sb_scn_ctx *ctx)
{
	uint64_t cpus;
	int rc = sb_scn_param_size(ctx, "cpus", &cpus);
	if (rc < 0)
		return rc;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus == 0)
		cpus = online > 0 ? (uint64_t)online : 1;
	if (cpus > 128)
		return sb_error_set(ctx->err, EINVAL, "parameter cpus=%llu: at most 128", (unsigned long long)cpus);
	return load_setup_n(ctx, (unsigned)cpus);
}

static void load_teardown(struct sb_scn_ctx *ctx)
{
	struct load_state *st = ctx->state;
	if (st)
		sb_pool_close(&st->pool);
	free_state(ctx);
}

/* The in-box CPU seconds a cpu-burn reported (its own getrusage). */
static int burn_cpu_seconds(struct sb_scn_ctx *ctx, unsigned slot, const struct sb_agent_response *r, double *out)
{
	if (r->type != SB_AGENT_T_RESULT || !sb_agent_response_ok(r))
		return sb_error_set(ctx->err, EIO, "slot %u: cpu-burn failed (status %u, code %d): %.160s", slot,
				    r->status, r->code, r->stderr_data ? r->stderr_data : r->error_msg);
	json_error_t je;
	json_t *j = json_loadb(r->stdout_data ? r->stdout_data : "", r->stdout_len, 0, &je);
	json_t *v = json_object_get(j, "cpu_seconds");
	int rc = 0;
	if (!json_is_number(v) || json_number_value(v) <= 0)
		rc = sb_error_set(ctx->err, EBADMSG, "slot %u: cpu-burn printed no cpu_seconds: %.120s", slot,
				  r->stdout_data ? r->stdout_data : "");
	else
		*out = json_number_value(v);
	json_decref(j);
	return rc;
}

/* Every slot burns at once; the host CPU used meanwhile by the sandbox's processes, its runtime's
 * helpers and the host ends of the agent connections, against what the burners themselves used. */
static int load_run_once(struct sb_scn_ctx *ctx)
{
	struct load_state *st = ctx->state;
	unsigned n = st->burners;
	pid_t carriers[128];
	size_t nc = 0;
	for (unsigned i = 0; i < n; i++)
		if (st->pool.slots[i].conn.pid > 0)
			carriers[nc++] = st->pool.slots[i].conn.pid;
	struct sb_footprint before = {0}, after = {0};
	int rc = sb_fp_collect(ctx, st->box, carriers, nc, &before);
	if (rc < 0)
		goto out;
	char secs[32];
	snprintf(secs, sizeof(secs), "%.6g", st->seconds);
	const char *argv[] = {ctx->agent, "cpu-burn", secs, NULL};
	uint32_t ids[128];
	sb_fp_cpu(&before);
	int64_t t0 = sb_now_ns();
	for (unsigned i = 0; i < n && rc == 0; i++) {
		ids[i] = sb_agent_next_id(st->pool.slots[i].agent);
		rc = sb_agent_send_argv(st->pool.slots[i].agent, ids[i], argv, NULL, ctx->deadline_ns, ctx->err);
	}
	double inbox = 0;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		struct sb_agent_response r;
		memset(&r, 0, sizeof(r));
		double one = 0;
		rc = sb_agent_recv_id(st->pool.slots[i].agent, ids[i], &r, ctx->deadline_ns, ctx->err);
		if (rc == 0)
			rc = burn_cpu_seconds(ctx, i, &r, &one);
		sb_agent_response_clear(&r);
		inbox += one;
	}
	double wall = (double)(sb_now_ns() - t0) / 1e9;
	if (rc < 0)
		goto out;
	/* Collected again: anything the runtime started meanwhile counts from zero. */
	if ((rc = sb_fp_collect(ctx, st->box, carriers, nc, &after)) < 0)
		goto out;
	/* The burners are gone by now; their CPU is in the process that waited for them (the agent
	 * slot's server, still listed). */
	sb_fp_cpu(&after);
	double host = sb_fp_cpu_delta(&before, &after) / 1e9;
	sb_scn_metric(ctx, "cpu_overhead_ratio", host / inbox);
	sb_scn_metric(ctx, "host_cpu_s_per_s", host / wall);
	sb_scn_metric(ctx, "inbox_cpu_share", inbox / (wall * n));
	char desc[480];
	sb_fp_describe(&after, desc, sizeof(desc));
	sb_scn_tag(ctx, "counted_processes", "%s", desc);
out:
	sb_fp_free(&before);
	sb_fp_free(&after);
	return rc;
}

static const struct sb_metric_def load_metrics[] = {
	{"cpu_overhead_ratio", "ratio", SB_LOWER_IS_BETTER, "host CPU-seconds per CPU-second the in-box cpu-burn used (1.0: no overhead)"},
	{"host_cpu_s_per_s", "CPU", SB_LOWER_IS_BETTER, "host CPU-seconds per wall second of the burn, for the sandbox, its helpers and exec clients"},
	{"inbox_cpu_share", "ratio", SB_HIGHER_IS_BETTER, "CPU the burners got, per burner per wall second (1.0: a whole CPU each)"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_resource_cpu_load = {
	.name = "resource-cpu-load",
	.metrics = load_metrics,
	.axis = "resource",
	.description = "host CPU-seconds per second of an in-box cpu-burn: the sandbox's CPU overhead ratio",
	.caps = SB_CAP_AGENT,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = load_params,
	.default_runs = 5,
	.default_warmup = 1,
	.setup = load_setup,
	.run_once = load_run_once,
	.teardown = load_teardown,
};

const struct sb_scenario sb_scn_resource_multi_cpu_load = {
	.name = "resource-multi-cpu-load",
	.metrics = load_metrics,
	.axis = "resource",
	.description = "the same with every CPU busy inside: one cpu-burn per online CPU at once",
	.caps = SB_CAP_AGENT,
	.profiles = SB_PROFILE_FULL,
	.params = multi_load_params,
	.default_runs = 5,
	.default_warmup = 1,
	.setup = multi_load_setup,
	.run_once = load_run_once,
	.teardown = load_teardown,
};

/* ---- resource-stats-poll ---- */

struct poll_state {
	struct sb_box **boxes;
	unsigned n;
};

static const struct sb_param_def poll_params[] = {
	{"boxes", "10", "sandboxes running while the stats op is polled", "uint"},
	{"calls", "20", "stats calls per sandbox per iteration (round robin)", "uint"},
	{NULL, NULL, NULL, NULL},
};

static int poll_setup(struct sb_scn_ctx *ctx)
{
	uint64_t boxes, calls;
	int rc = sb_scn_param_size(ctx, "boxes", &boxes);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "calls", &calls);
	if (rc < 0)
		return rc;
	if (boxes < 1 || boxes > 1000 || calls < 1)
		return sb_error_set(ctx->err, EINVAL, "parameters: boxes must be 1..1000 and calls at least 1");
	struct poll_state *st = calloc(1, sizeof(*st));
	struct sb_box_launch *l = calloc(boxes, sizeof(*l));
	if (!st || !l) {
		free(st);
		free(l);
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	}
	ctx->state = st;
	st->boxes = calloc(boxes, sizeof(*st->boxes));
	unsigned ok = st->boxes ? sb_scn_boxes_new(ctx, (unsigned)boxes, 0, 0, l) : 0;
	for (unsigned i = 0; i < boxes && st->boxes; i++)
		if (l[i].rc == 0)
			st->boxes[st->n++] = l[i].box;
	if (ok < boxes) {
		const char *why = "out of memory";
		for (unsigned i = 0; i < boxes; i++)
			if (l[i].rc < 0) {
				why = l[i].error;
				break;
			}
		rc = sb_error_set(ctx->err, EIO, "%u of %llu sandboxes failed to start; first: %s",
				  (unsigned)boxes - ok, (unsigned long long)boxes, why);
	}
	free(l);
	return rc;
}

/* The first call may look the sandbox up (an engine's inspect): a poller pays it once. */
static int poll_prewarm(struct sb_scn_ctx *ctx)
{
	struct poll_state *st = ctx->state;
	for (unsigned i = 0; i < st->n; i++) {
		struct sb_box_stats s;
		int rc = sb_drv_stats(ctx->drv, st->boxes[i], &s, ctx->err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int poll_run_once(struct sb_scn_ctx *ctx)
{
	struct poll_state *st = ctx->state;
	uint64_t calls;
	sb_scn_param_size(ctx, "calls", &calls);
	double total = 0, worst = 0;
	uint64_t count = 0;
	for (uint64_t c = 0; c < calls; c++) {
		for (unsigned i = 0; i < st->n; i++) {
			struct sb_box_stats s;
			int64_t t0 = sb_now_ns();
			int rc = sb_drv_stats(ctx->drv, st->boxes[i], &s, ctx->err);
			double us = (double)(sb_now_ns() - t0) / 1e3;
			if (rc < 0)
				return sb_error_prefix(ctx->err, "stats of sandbox %u", i);
			total += us;
			worst = us > worst ? us : worst;
			count++;
		}
	}
	sb_scn_metric(ctx, "stats_call_us", total / (double)count);
	sb_scn_metric(ctx, "stats_call_max_us", worst);
	return 0;
}

static void poll_teardown(struct sb_scn_ctx *ctx)
{
	struct poll_state *st = ctx->state;
	if (st)
		free(st->boxes);
	free_state(ctx); /* the boxes are the runner's to destroy */
}

static const struct sb_metric_def poll_metrics[] = {
	{"stats_call_us", "us", SB_LOWER_IS_BETTER, "mean time of one driver stats call with `boxes` sandboxes running"},
	{"stats_call_max_us", "us", SB_LOWER_IS_BETTER, "slowest stats call of the iteration"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_resource_stats_poll = {
	.name = "resource-stats-poll",
	.metrics = poll_metrics,
	.axis = "resource",
	.description = "microseconds per call of the driver's stats op with 10 sandboxes running",
	.caps = SB_CAP_STATS,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = poll_params,
	.default_runs = 10,
	.default_warmup = 1,
	.setup = poll_setup,
	.prewarm = poll_prewarm,
	.run_once = poll_run_once,
	.teardown = poll_teardown,
};
