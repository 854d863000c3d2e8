/* Stability: does a runtime stay fast and clean after many cycles? Churn (create/start/exec/
 * destroy with a census of host objects before and after: anything new that stays is a leak),
 * long exec loops and bursts, stop/start and snapshot loops, and recovery from an OOM kill.
 * The soaks live in soak.c. A failure inside a loop is counted and reported with its index; the
 * loop goes on, so a partial run still says how far it got. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/clock.h"
#include "core/signals.h"
#include "core/util.h"
#include "scenarios/census.h"
#include "scenarios/wl.h"

static int count_param(struct sb_scn_ctx *ctx, const char *key, uint64_t lo, uint64_t hi, uint64_t *out)
{
	int rc = sb_scn_param_size(ctx, key, out);
	if (rc == 0 && (*out < lo || *out > hi))
		rc = sb_error_set(ctx->err, EINVAL, "parameter %s=%" PRIu64 ": expected %" PRIu64 "..%" PRIu64, key, *out,
				  lo, hi);
	return rc;
}

/* Exec the agent's no-op in box; a non-zero exit is an error. */
static int exec_true(struct sb_scn_ctx *ctx, struct sb_box *box, int64_t deadline_ns)
{
	const char *argv[] = {ctx->agent, "true", NULL};
	struct sb_exec_req req = {.argv = argv, .deadline_ns = deadline_ns};
	struct sb_proc_result res = {0};
	int rc = sb_drv_exec(ctx->drv, box, &req, &res, ctx->err);
	if (rc == 0 && res.exit_code != 0)
		rc = sb_error_set(ctx->err, EIO, "the agent's true exited %d inside the sandbox", res.exit_code);
	sb_proc_result_free(&res);
	return rc;
}

/* The census after a loop, retried until nothing new is left or settle_s passed: a driver may
 * finish its teardown a moment after destroy returned. Records leak_* metrics and a tag naming
 * the first new objects. */
static int census_after(struct sb_scn_ctx *ctx, const struct sb_census *before, double settle_s)
{
	int64_t until = sb_deadline_after(settle_s);
	size_t nw[SB_CENSUS_N];
	char what[512];
	for (;;) {
		struct sb_census after;
		int rc = sb_census_take(&after);
		if (rc < 0)
			return sb_error_set(ctx->err, -rc, "taking the host census: %s", strerror(-rc));
		sb_census_new(before, &after, ctx->run_id, nw, what, sizeof(what));
		sb_census_free(&after);
		size_t total = 0;
		for (int k = 0; k < SB_CENSUS_N; k++)
			total += nw[k];
		if (total == 0 || sb_deadline_passed(until) || sb_interrupted())
			break;
		nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
	}
	for (int k = 0; k < SB_CENSUS_N; k++) {
		char name[32];
		snprintf(name, sizeof(name), "leak_%s", sb_census_names[k]);
		sb_scn_metric(ctx, name, (double)nw[k]);
	}
	if (what[0])
		sb_scn_tag(ctx, "leak_warning", "new after the loop and still there: %s", what);
	return 0;
}

/* A leak_* aggregate above zero gets the warning "leak" (shown with the table's warnings). */
static int leak_finalize(struct sb_scn_ctx *ctx, json_t *report)
{
	json_t *aggs = json_object_get(report, "aggregates"), *a;
	size_t i;
	json_array_foreach(aggs, i, a) {
		const char *m = json_string_value(json_object_get(a, "metric"));
		if (!m || strncmp(m, "leak_", 5) != 0 || !(json_number_value(json_object_get(a, "max")) > 0))
			continue;
		json_t *w = json_object_get(a, "warnings");
		if (!json_is_array(w)) {
			w = json_array();
			json_object_set_new(a, "warnings", w);
		}
		json_array_append_new(w, json_string("leak"));
	}
	return 0;
}

#define LEAK_METRICS                                                                                          \
	{"leak_processes", "count", SB_LOWER_IS_BETTER, "sandbench's live descendants new after the loop"},  \
	{"leak_fds", "count", SB_LOWER_IS_BETTER, "sandbench's open fds new after the loop"},                \
	{"leak_mounts", "count", SB_LOWER_IS_BETTER, "host mounts new after the loop"},                       \
	{"leak_cgroups", "count", SB_LOWER_IS_BETTER, "host cgroups new after the loop"},                     \
	{"leak_netns", "count", SB_LOWER_IS_BETTER, "network namespaces new after the loop"},                 \
	{"leak_veths", "count", SB_LOWER_IS_BETTER, "host network interfaces new after the loop"}

/* ---- churn ---- */

static const struct sb_param_def churn_params[] = {
	{"cycles", "50", "create/start/exec/destroy cycles per iteration", "size"},
	{"settle", "5", "seconds to wait for teardown to finish before counting leaks", "size"},
	{NULL, NULL, NULL, NULL},
};

/* One untimed cycle first: what a driver opens once for good (a cached descriptor, a
 * namespace handle) is made then, not counted as a leak of the first iteration. */
static int churn_prewarm(struct sb_scn_ctx *ctx)
{
	struct sb_box *box = NULL;
	int rc = sb_scn_box_new(ctx, &box, NULL, NULL);
	if (rc == 0)
		rc = exec_true(ctx, box, ctx->deadline_ns);
	if (box) {
		int drc = sb_scn_box_destroy(ctx, box);
		rc = rc < 0 ? rc : drc;
	}
	return rc;
}

static int churn_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t cycles = 0, settle = 0;
	int rc = count_param(ctx, "cycles", 2, 100000, &cycles);
	if (rc == 0)
		rc = count_param(ctx, "settle", 0, 600, &settle);
	if (rc < 0)
		return rc;
	struct sb_census before;
	if ((rc = sb_census_take(&before)) < 0)
		return sb_error_set(ctx->err, -rc, "taking the host census: %s", strerror(-rc));
	double *ms = calloc(cycles, sizeof(double)), *x = calloc(cycles, sizeof(double));
	if (!ms || !x) {
		rc = sb_error_set(ctx->err, ENOMEM, "out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < cycles && rc == 0; i++) {
		struct sb_box *box = NULL;
		int64_t t0 = sb_now_ns();
		rc = sb_scn_box_new(ctx, &box, NULL, NULL);
		if (rc == 0)
			rc = exec_true(ctx, box, ctx->deadline_ns);
		if (box) {
			int drc = sb_scn_box_destroy(ctx, box);
			rc = rc < 0 ? rc : drc;
		}
		if (rc < 0) {
			sb_error_prefix(ctx->err, "cycle %" PRIu64, i);
			break;
		}
		ms[i] = sb_ns_to_ms(sb_now_ns() - t0);
		x[i] = (double)i;
		sb_scn_series(ctx, "cycle_ms", "ms", (double)i, ms[i]);
	}
	if (rc == 0) {
		double slope = sb_wl_slope(x, ms, cycles);
		sb_scn_metric(ctx, "churn_cycle_slope_ms", slope);
		sb_scn_metric(ctx, "churn_cycle_p50_ms", sb_wl_percentile(ms, cycles, 50));
		sb_scn_metric(ctx, "churn_cycle_p99_ms", sb_wl_percentile(ms, cycles, 99));
		rc = census_after(ctx, &before, (double)settle);
	}
out:
	free(ms);
	free(x);
	sb_census_free(&before);
	return rc;
}

/* ---- exec loop ---- */

static const struct sb_param_def exec_loop_params[] = {
	{"count", "500", "sequential execs per iteration", "size"},
	{NULL, NULL, NULL, NULL},
};

static int one_box_setup(struct sb_scn_ctx *ctx)
{
	return sb_wl_setup(ctx, 0);
}

static int exec_loop_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t count = 0;
	int rc = count_param(ctx, "count", 1, 10000000, &count);
	if (rc < 0)
		return rc;
	double *ms = calloc(count, sizeof(double)), *x = calloc(count, sizeof(double));
	if (!ms || !x) {
		free(ms);
		free(x);
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	}
	uint64_t done = 0, failed = 0, first_fail = 0, tried = 0;
	char first_err[256] = "";
	/* Stop early only when the iteration's deadline is about to pass: what ran is still reported. */
	int64_t stop_at = ctx->deadline_ns - 2000000000LL;
	for (uint64_t i = 0; i < count && !sb_interrupted(); i++) {
		if (sb_now_ns() >= stop_at) {
			sb_scn_tag(ctx, "exec_loop_stopped", "at exec %" PRIu64 " of %" PRIu64 ": the iteration deadline was near",
				   i, count);
			break;
		}
		tried++;
		int64_t t0 = sb_now_ns();
		struct sb_error e = {0};
		struct sb_error *keep = ctx->err;
		ctx->err = &e;
		int erc = exec_true(ctx, sb_wl(ctx)->box, sb_deadline_after(10) < ctx->deadline_ns ? sb_deadline_after(10)
												  : ctx->deadline_ns);
		ctx->err = keep;
		if (erc < 0) {
			if (failed++ == 0) {
				first_fail = i;
				snprintf(first_err, sizeof(first_err), "%s", e.msg);
			}
			continue;
		}
		ms[done] = sb_ns_to_ms(sb_now_ns() - t0);
		x[done] = (double)i;
		sb_scn_series(ctx, "exec_ms", "ms", (double)i, ms[done]);
		done++;
	}
	sb_scn_metric(ctx, "exec_loop_completed", (double)done);
	sb_scn_metric(ctx, "exec_loop_failed", (double)(tried - done));
	if (failed) {
		sb_scn_metric(ctx, "exec_loop_first_failure_index", (double)first_fail);
		sb_scn_tag(ctx, "exec_loop_first_error", "exec %" PRIu64 ": %s", first_fail, first_err);
	}
	if (done) {
		sb_scn_metric(ctx, "exec_loop_slope_us", sb_wl_slope(x, ms, done) * 1e3);
		sb_scn_metric(ctx, "exec_loop_p50_ms", sb_wl_percentile(ms, done, 50));
		sb_scn_metric(ctx, "exec_loop_p99_ms", sb_wl_percentile(ms, done, 99));
	}
	free(ms);
	free(x);
	return 0;
}

/* ---- exec parallel ---- */

static const struct sb_param_def exec_parallel_params[] = {
	{"concurrency", "20", "execs started at once in the same sandbox", "size"},
	{NULL, NULL, NULL, NULL},
};

struct par_exec {
	struct sb_scn_ctx *ctx;
	pthread_barrier_t *go;
	int rc;
	double ms;
	char err[256];
};

static void *par_exec_thread(void *arg)
{
	struct par_exec *p = arg;
	const char *argv[] = {p->ctx->agent, "true", NULL};
	struct sb_exec_req req = {.argv = argv, .deadline_ns = p->ctx->deadline_ns};
	struct sb_proc_result res = {0};
	struct sb_error e = {0};
	pthread_barrier_wait(p->go);
	int64_t t0 = sb_now_ns();
	p->rc = sb_drv_exec(p->ctx->drv, sb_wl(p->ctx)->box, &req, &res, &e);
	p->ms = sb_ns_to_ms(sb_now_ns() - t0);
	if (p->rc == 0 && res.exit_code != 0) {
		p->rc = -EIO;
		snprintf(e.msg, sizeof(e.msg), "exited %d", res.exit_code);
	}
	if (p->rc < 0)
		snprintf(p->err, sizeof(p->err), "%s", e.msg);
	sb_proc_result_free(&res);
	return NULL;
}

static int exec_parallel_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t n = 0;
	int rc = count_param(ctx, "concurrency", 1, 1000, &n);
	if (rc < 0)
		return rc;
	struct par_exec *p = calloc(n, sizeof(*p));
	pthread_t *t = calloc(n, sizeof(*t));
	pthread_barrier_t go;
	if (!p || !t || pthread_barrier_init(&go, NULL, (unsigned)n + 1) != 0) {
		free(p);
		free(t);
		return sb_error_set(ctx->err, ENOMEM, "out of threads");
	}
	uint64_t started = 0;
	for (; started < n; started++) {
		p[started] = (struct par_exec){.ctx = ctx, .go = &go};
		if (pthread_create(&t[started], NULL, par_exec_thread, &p[started]) != 0)
			break;
	}
	if (started < n) {
		/* The barrier waits for n + 1: release the ones that started, then give up. */
		rc = sb_error_set(ctx->err, EAGAIN, "only %" PRIu64 " of %" PRIu64 " threads could start", started, n);
		for (uint64_t i = started; i < n; i++)
			pthread_barrier_wait(&go);
	}
	int64_t t0 = sb_now_ns();
	if (started == n)
		pthread_barrier_wait(&go);
	for (uint64_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	double wall = sb_ns_to_ms(sb_now_ns() - t0);
	pthread_barrier_destroy(&go);
	double *ms = calloc(n, sizeof(double));
	uint64_t ok = 0, failed = 0;
	for (uint64_t i = 0; i < started && ms; i++) {
		if (p[i].rc == 0)
			ms[ok++] = p[i].ms;
		else if (failed++ == 0)
			sb_scn_tag(ctx, "exec_parallel_first_error", "%s", p[i].err);
	}
	if (rc == 0 && ms) {
		sb_scn_metric(ctx, "exec_parallel_batch_ms", wall);
		sb_scn_metric(ctx, "exec_parallel_failed", (double)failed);
		if (ok) {
			sb_scn_metric(ctx, "exec_parallel_p50_ms", sb_wl_percentile(ms, ok, 50));
			sb_scn_metric(ctx, "exec_parallel_p99_ms", sb_wl_percentile(ms, ok, 99));
		}
	}
	free(ms);
	free(p);
	free(t);
	return rc;
}

/* ---- restart loop ---- */

static const struct sb_param_def cycles20_params[] = {
	{"cycles", "20", "cycles per iteration", "size"},
	{NULL, NULL, NULL, NULL},
};

/* Run the agent's fs-info on path in box (made with mkdir_it); 0 when it exited 0. */
static int fs_info_exec(struct sb_scn_ctx *ctx, struct sb_box *box, const char *path, bool mkdir_it)
{
	const char *argv[] = {ctx->agent, "fs-info", path, mkdir_it ? "--mkdir" : NULL, NULL};
	struct sb_exec_req req = {.argv = argv, .deadline_ns = ctx->deadline_ns};
	struct sb_proc_result res = {0};
	int rc = sb_drv_exec(ctx->drv, box, &req, &res, ctx->err);
	if (rc == 0 && res.exit_code != 0)
		rc = -ENOENT;
	sb_proc_result_free(&res);
	return rc;
}

static int restart_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t cycles = 0;
	int rc = count_param(ctx, "cycles", 1, 100000, &cycles);
	if (rc < 0)
		return rc;
	struct sb_box *box = sb_wl(ctx)->box;
	/* A directory made before the first stop tells whether the filesystem survives restarts. */
	char mark[96];
	snprintf(mark, sizeof(mark), "/sandbench-restart-%u", ctx->iteration);
	bool marked = fs_info_exec(ctx, box, mark, true) == 0;
	sb_error_clear(ctx->err);
	double *stop = calloc(cycles, sizeof(double)), *start = calloc(cycles, sizeof(double));
	double *x = calloc(cycles, sizeof(double));
	uint64_t done = 0;
	if (!stop || !start || !x)
		rc = sb_error_set(ctx->err, ENOMEM, "out of memory");
	for (uint64_t i = 0; i < cycles && rc == 0; i++) {
		int64_t t0 = sb_now_ns();
		rc = sb_drv_stop(ctx->drv, box, ctx->deadline_ns, ctx->err);
		int64_t t1 = sb_now_ns();
		if (rc == 0)
			rc = sb_drv_start(ctx->drv, box, ctx->deadline_ns, ctx->err);
		int64_t t2 = sb_now_ns();
		/* It must really be back: a command runs in it. */
		if (rc == 0)
			rc = exec_true(ctx, box, ctx->deadline_ns);
		if (rc < 0) {
			sb_error_prefix(ctx->err, "restart cycle %" PRIu64, i);
			break;
		}
		stop[done] = sb_ns_to_ms(t1 - t0);
		start[done] = sb_ns_to_ms(t2 - t1);
		x[done] = (double)i;
		sb_scn_series(ctx, "start_ms", "ms", (double)i, start[done]);
		done++;
	}
	if (rc == 0 && marked) {
		bool kept = fs_info_exec(ctx, box, mark, false) == 0;
		sb_error_clear(ctx->err);
		sb_scn_tag(ctx, "restart_keeps_filesystem", "%s", kept ? "yes" : "no");
	}
	if (rc == 0) {
		sb_scn_metric(ctx, "restart_start_slope_ms", sb_wl_slope(x, start, done));
		sb_scn_metric(ctx, "restart_stop_p50_ms", sb_wl_percentile(stop, done, 50));
		sb_scn_metric(ctx, "restart_start_p50_ms", sb_wl_percentile(start, done, 50));
		sb_scn_metric(ctx, "restart_start_p99_ms", sb_wl_percentile(start, done, 99));
	}
	free(stop);
	free(start);
	free(x);
	return rc;
}

/* ---- snapshot loop ---- */

static int snapshot_setup(struct sb_scn_ctx *ctx)
{
	int rc = sb_wl_setup(ctx, 0);
	return rc < 0 ? rc : sb_wl_host_tmp(ctx, "/var/tmp");
}

static int snapshot_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	uint64_t cycles = 0;
	int rc = count_param(ctx, "cycles", 1, 100000, &cycles);
	if (rc < 0)
		return rc;
	double *ms = calloc(cycles, sizeof(double)), *x = calloc(cycles, sizeof(double));
	if (!ms || !x)
		rc = sb_error_set(ctx->err, ENOMEM, "out of memory");
	char dir[400] = "";
	for (uint64_t i = 0; i < cycles && rc == 0; i++) {
		if (dir[0])
			sb_rm_rf(dir); /* keep one snapshot on disk at a time */
		snprintf(dir, sizeof(dir), "%s/snap-%u-%" PRIu64, w->host_tmp, ctx->iteration, i);
		if (mkdir(dir, 0700) < 0) {
			rc = sb_error_set(ctx->err, errno, "mkdir %s: %s", dir, strerror(errno));
			break;
		}
		int64_t t0 = sb_now_ns();
		rc = sb_drv_snapshot(ctx->drv, w->box, dir, ctx->deadline_ns, ctx->err);
		if (rc < 0) {
			sb_error_prefix(ctx->err, "snapshot %" PRIu64, i);
			break;
		}
		ms[i] = sb_ns_to_ms(sb_now_ns() - t0);
		x[i] = (double)i;
		sb_scn_series(ctx, "snapshot_ms", "ms", (double)i, ms[i]);
	}
	/* The last snapshot must bring up a working sandbox. */
	struct sb_box *restored = NULL;
	int64_t r0 = sb_now_ns();
	if (rc == 0) {
		struct sb_box_spec spec = ctx->spec;
		char name[96];
		snprintf(name, sizeof(name), "sb-%.8s-restored-%u", ctx->run_id, ctx->iteration);
		spec.name = name;
		rc = sb_drv_restore(ctx->drv, &spec, dir, &restored, ctx->deadline_ns, ctx->err);
		if (rc == 0)
			rc = sb_scn_box_track(ctx, restored);
		if (rc == 0)
			rc = exec_true(ctx, restored, ctx->deadline_ns);
		if (rc < 0)
			sb_error_prefix(ctx->err, "restoring the last snapshot");
	}
	double restore_ms = sb_ns_to_ms(sb_now_ns() - r0);
	if (restored)
		sb_scn_box_destroy(ctx, restored);
	if (dir[0])
		sb_rm_rf(dir);
	if (rc == 0) {
		sb_scn_metric(ctx, "snapshot_slope_ms", sb_wl_slope(x, ms, cycles));
		sb_scn_metric(ctx, "snapshot_p50_ms", sb_wl_percentile(ms, cycles, 50));
		sb_scn_metric(ctx, "snapshot_p99_ms", sb_wl_percentile(ms, cycles, 99));
		sb_scn_metric(ctx, "snapshot_restore_ms", restore_ms);
	}
	free(ms);
	free(x);
	return rc;
}

/* ---- OOM recovery ---- */

static const struct sb_param_def oom_params[] = {
	{"limit", "64M", "the sandbox's memory limit", "size"},
	{"touch", "256M", "memory the agent tries to touch (above the limit)", "size"},
	{"settle", "5", "seconds to wait for teardown to finish before counting leaks", "size"},
	{NULL, NULL, NULL, NULL},
};

/* OOM inside, then: does the same sandbox run a command again (else a new one), how long until
 * it does, and is anything left on the host once it is gone? */
static int oom_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t limit = 0, touch = 0, settle = 0;
	int rc = sb_scn_param_size(ctx, "limit", &limit);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "touch", &touch);
	if (rc == 0)
		rc = count_param(ctx, "settle", 0, 600, &settle);
	if (rc < 0)
		return rc;
	if (touch <= limit || limit < (4u << 20))
		return sb_error_set(ctx->err, EINVAL, "parameters: limit must be >= 4M and touch above it");
	struct sb_census before;
	if ((rc = sb_census_take(&before)) < 0)
		return sb_error_set(ctx->err, -rc, "taking the host census: %s", strerror(-rc));
	ctx->spec.mem_limit_bytes = limit;
	struct sb_box *box = NULL, *fresh = NULL;
	rc = sb_scn_box_new(ctx, &box, NULL, NULL);
	ctx->spec.mem_limit_bytes = 0;
	char touch_s[32];
	snprintf(touch_s, sizeof(touch_s), "%" PRIu64, touch);
	const char *argv[] = {ctx->agent, "mem-touch", touch_s, NULL};
	struct sb_proc_result res = {0};
	bool killed = false;
	if (rc == 0) {
		struct sb_exec_req req = {.argv = argv, .deadline_ns = ctx->deadline_ns};
		int erc = sb_drv_exec(ctx->drv, box, &req, &res, ctx->err);
		/* A touch that succeeded means the limit did not hold: that is the finding, not an error.
		 * An exec that failed outright means the OOM took more than the command (the sandbox's
		 * init, its runtime): also an OOM, and what follows says whether it recovers. */
		killed = erc < 0 || res.exit_code != 0;
		if (erc < 0) {
			sb_scn_tag(ctx, "oom_touch_error", "%s", ctx->err->msg);
			sb_error_clear(ctx->err);
		} else {
			sb_scn_tag(ctx, "oom_touch_exit", "%d (signal %d)", res.exit_code, res.term_signal);
		}
		sb_proc_result_free(&res);
	}
	int64_t t_oom = sb_now_ns();
	bool same = false;
	if (rc == 0) {
		struct sb_error e = {0};
		struct sb_error *keep = ctx->err;
		ctx->err = &e;
		same = exec_true(ctx, box, ctx->deadline_ns) == 0;
		ctx->err = keep;
		if (!same) {
			sb_scn_tag(ctx, "oom_same_box_error", "%s", e.msg);
			ctx->spec.mem_limit_bytes = limit;
			rc = sb_scn_box_new(ctx, &fresh, NULL, NULL);
			ctx->spec.mem_limit_bytes = 0;
			if (rc == 0)
				rc = exec_true(ctx, fresh, ctx->deadline_ns);
			if (rc < 0)
				sb_error_prefix(ctx->err, "a new sandbox after the OOM");
		}
	}
	double recovery_ms = sb_ns_to_ms(sb_now_ns() - t_oom);
	if (box)
		sb_scn_box_destroy(ctx, box);
	if (fresh)
		sb_scn_box_destroy(ctx, fresh);
	if (rc == 0) {
		sb_scn_metric(ctx, "oom_killed", killed ? 1 : 0);
		sb_scn_metric(ctx, "oom_same_box_works", same ? 1 : 0);
		sb_scn_metric(ctx, "oom_recovery_ms", recovery_ms);
		rc = census_after(ctx, &before, (double)settle);
	}
	sb_census_free(&before);
	return rc;
}

static const struct sb_metric_def churn_metrics[] = {
	{"churn_cycle_p50_ms", "ms", SB_LOWER_IS_BETTER, "median create+start+exec+destroy cycle"},
	{"churn_cycle_p99_ms", "ms", SB_LOWER_IS_BETTER, "99th percentile cycle"},
	{"churn_cycle_slope_ms", "ms/cycle", SB_LOWER_IS_BETTER, "least-squares trend of the cycle time (0: no drift)"},
	LEAK_METRICS,
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def exec_loop_metrics[] = {
	{"exec_loop_completed", "count", SB_HIGHER_IS_BETTER, "execs that succeeded"},
	{"exec_loop_failed", "count", SB_LOWER_IS_BETTER, "execs that failed (the loop goes on)"},
	{"exec_loop_first_failure_index", "index", SB_HIGHER_IS_BETTER, "0-based index of the first failed exec (only when one failed)"},
	{"exec_loop_p50_ms", "ms", SB_LOWER_IS_BETTER, "median exec"},
	{"exec_loop_p99_ms", "ms", SB_LOWER_IS_BETTER, "99th percentile exec"},
	{"exec_loop_slope_us", "us/exec", SB_LOWER_IS_BETTER, "least-squares trend of the exec time"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def exec_parallel_metrics[] = {
	{"exec_parallel_batch_ms", "ms", SB_LOWER_IS_BETTER, "all concurrent execs, first start to last end"},
	{"exec_parallel_p50_ms", "ms", SB_LOWER_IS_BETTER, "median exec of the batch"},
	{"exec_parallel_p99_ms", "ms", SB_LOWER_IS_BETTER, "99th percentile exec of the batch"},
	{"exec_parallel_failed", "count", SB_LOWER_IS_BETTER, "execs of the batch that failed"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def restart_metrics[] = {
	{"restart_stop_p50_ms", "ms", SB_LOWER_IS_BETTER, "median stop"},
	{"restart_start_p50_ms", "ms", SB_LOWER_IS_BETTER, "median start of the stopped sandbox"},
	{"restart_start_p99_ms", "ms", SB_LOWER_IS_BETTER, "99th percentile start"},
	{"restart_start_slope_ms", "ms/cycle", SB_LOWER_IS_BETTER, "least-squares trend of the start time"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def snapshot_metrics[] = {
	{"snapshot_p50_ms", "ms", SB_LOWER_IS_BETTER, "median snapshot of the running sandbox"},
	{"snapshot_p99_ms", "ms", SB_LOWER_IS_BETTER, "99th percentile snapshot"},
	{"snapshot_slope_ms", "ms/snapshot", SB_LOWER_IS_BETTER, "least-squares trend of the snapshot time"},
	{"snapshot_restore_ms", "ms", SB_LOWER_IS_BETTER, "restore of the last snapshot to a working sandbox"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def oom_metrics[] = {
	{"oom_killed", "bool", SB_HIGHER_IS_BETTER, "1 when the touch above the limit was stopped"},
	{"oom_same_box_works", "bool", SB_HIGHER_IS_BETTER, "1 when the same sandbox ran a command after the OOM"},
	{"oom_recovery_ms", "ms", SB_LOWER_IS_BETTER, "from the OOM to the first successful command"},
	LEAK_METRICS,
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_stability_churn = {
	.name = "stability-churn", .axis = "stability",
	.description = "cycles of create/start/exec/destroy: cycle time, its trend, and host objects leaked",
	.caps = SB_CAP_EXEC, .profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL, .params = churn_params,
	.metrics = churn_metrics, .default_runs = 1, .default_warmup = 0, .prewarm = churn_prewarm,
	.run_once = churn_run_once,
	.finalize = leak_finalize,
};
const struct sb_scenario sb_scn_stability_exec_loop = {
	.name = "stability-exec-loop", .axis = "stability",
	.description = "sequential execs in one sandbox: completed, first failure, time and its trend",
	.caps = SB_CAP_EXEC, .profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL, .params = exec_loop_params,
	.metrics = exec_loop_metrics, .default_runs = 1, .default_warmup = 0, .setup = one_box_setup,
	.run_once = exec_loop_run_once, .teardown = sb_wl_teardown,
};
const struct sb_scenario sb_scn_stability_exec_parallel = {
	.name = "stability-exec-parallel", .axis = "stability",
	.description = "concurrent execs in one sandbox: batch wall time and per-exec p99",
	.caps = SB_CAP_EXEC, .profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL, .params = exec_parallel_params,
	.metrics = exec_parallel_metrics, .default_runs = 5, .default_warmup = 1, .setup = one_box_setup,
	.run_once = exec_parallel_run_once, .teardown = sb_wl_teardown,
};
const struct sb_scenario sb_scn_stability_restart_loop = {
	.name = "stability-restart-loop", .axis = "stability",
	.description = "stop/start cycles of one sandbox (a command runs after each start)",
	.caps = SB_CAP_EXEC | SB_CAP_RESTART, .profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = cycles20_params, .metrics = restart_metrics, .default_runs = 1, .default_warmup = 0,
	.setup = one_box_setup, .run_once = restart_run_once, .teardown = sb_wl_teardown,
};
const struct sb_scenario sb_scn_stability_snapshot_loop = {
	.name = "stability-snapshot-loop", .axis = "stability",
	.description = "snapshots of one running sandbox, then a restore of the last that must work",
	.caps = SB_CAP_EXEC | SB_CAP_SNAPSHOT, .profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = cycles20_params, .metrics = snapshot_metrics, .default_runs = 1, .default_warmup = 0,
	.setup = snapshot_setup, .run_once = snapshot_run_once, .teardown = sb_wl_teardown,
};
const struct sb_scenario sb_scn_stability_oom_recovery = {
	.name = "stability-oom-recovery", .axis = "stability",
	.description = "an OOM inside a memory-limited sandbox: does it (or a new one) work after, and nothing leaked",
	.caps = SB_CAP_EXEC | SB_CAP_MEMLIMIT, .profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = oom_params, .metrics = oom_metrics, .default_runs = 1, .default_warmup = 0,
	.prewarm = churn_prewarm, .run_once = oom_run_once, .finalize = leak_finalize,
};
