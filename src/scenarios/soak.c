/* Soaks: one sandbox kept for `seconds`, idle or under continuous 4 KiB random reads, sampled
 * every `interval` for the RSS, PSS and open fds of its processes (host view, through box_pids
 * and /proc). The samples are the iteration's series (kept with --keep-series); the drift per
 * minute is their least-squares slope, so a slow leak shows before it hurts. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cgfs.h"
#include "core/clock.h"
#include "core/signals.h"
#include "scenarios/wl.h"

static const struct sb_param_def soak_params[] = {
	{"seconds", "30", "how long the sandbox is watched per iteration", "size"},
	{"interval", "2", "seconds between samples", "size"},
	{"size", "64M", "soak-load: the file the random reads fall in", "size"},
	{"dir", "auto", "soak-load: directory inside the sandbox (auto = its root filesystem)", NULL},
	{NULL, NULL, NULL, NULL},
};

static size_t count_fds(pid_t pid)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

struct soak_sample {
	double t, rss_mib, pss_mib, fds, pids;
};

static int sample(struct sb_scn_ctx *ctx, struct sb_box *box, double t, struct soak_sample *s)
{
	pid_t pids[1024];
	size_t n = 0;
	int rc = sb_drv_pids(ctx->drv, box, pids, 1024, &n, ctx->err);
	if (rc < 0)
		return rc;
	uint64_t pss = 0, rss = 0, fds = 0;
	for (size_t i = 0; i < n && i < 1024; i++) {
		sb_proc_mem(pids[i], &pss, &rss);
		fds += count_fds(pids[i]);
	}
	*s = (struct soak_sample){.t = t, .rss_mib = (double)rss / 1048576.0, .pss_mib = (double)pss / 1048576.0,
				  .fds = (double)fds, .pids = (double)n};
	sb_scn_series(ctx, "rss_mib", "MiB", t, s->rss_mib);
	sb_scn_series(ctx, "pss_mib", "MiB", t, s->pss_mib);
	sb_scn_series(ctx, "fds", "count", t, s->fds);
	sb_scn_series(ctx, "pids", "count", t, s->pids);
	return 0;
}

static int soak_setup(struct sb_scn_ctx *ctx)
{
	return sb_wl_setup(ctx, 0);
}

static int soak_load_setup(struct sb_scn_ctx *ctx)
{
	int rc = sb_wl_setup(ctx, 1);
	return rc < 0 ? rc : sb_wl_pick_dir(ctx);
}

/* Watch the box for `seconds`; with a load, run it through slot 0 meanwhile. */
static int soak_run(struct sb_scn_ctx *ctx, bool load)
{
	struct sb_wl *w = sb_wl(ctx);
	uint64_t secs, interval, size = 0;
	int rc = sb_scn_param_size(ctx, "seconds", &secs);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "interval", &interval);
	if (rc == 0 && load)
		rc = sb_scn_param_size(ctx, "size", &size);
	if (rc < 0)
		return rc;
	if (secs == 0 || interval == 0 || interval > secs)
		return sb_error_set(ctx->err, EINVAL, "parameters: seconds and interval must be > 0, interval <= seconds");
	if ((double)(ctx->deadline_ns - sb_now_ns()) / 1e9 < (double)secs + 10)
		return sb_error_set(ctx->err, EINVAL, "seconds=%" PRIu64 " does not fit in the iteration's --timeout: raise it",
				    secs);
	uint32_t id = 0;
	char path[320];
	if (load) {
		char size_s[32], secs_s[32];
		snprintf(path, sizeof(path), "%s/sandbench-soak-%.8s", w->dir, ctx->run_id);
		snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
		snprintf(secs_s, sizeof(secs_s), "%" PRIu64, secs);
		const char *argv[] = {ctx->agent, "disk-rand", path, "--size", size_s, "--seconds", secs_s, NULL};
		struct sb_agent *a = w->pool.slots[0].agent;
		id = sb_agent_next_id(a);
		struct sb_agent_run_opts ro = {.timeout_ms = (uint32_t)(secs + 30) * 1000};
		if ((rc = sb_agent_send_argv(a, id, argv, &ro, ctx->deadline_ns, ctx->err)) < 0)
			return rc;
	}
	size_t cap = secs / interval + 2, n = 0;
	struct soak_sample *s = calloc(cap, sizeof(*s));
	if (!s)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	int64_t t0 = sb_now_ns();
	/* Under load the first sample waits one interval: the load's own start (its process, its
	 * file) is not drift. */
	for (size_t i = load ? 1 : 0; i < cap && rc == 0 && !sb_interrupted(); i++) {
		int64_t at = t0 + (int64_t)(i * interval) * 1000000000LL;
		if (at > t0 + (int64_t)secs * 1000000000LL)
			break;
		while (sb_now_ns() < at && !sb_interrupted()) {
			int64_t left = at - sb_now_ns();
			nanosleep(&(struct timespec){0, left > 100000000 ? 100000000 : (left > 0 ? left : 0)}, NULL);
		}
		rc = sample(ctx, w->box, (double)(sb_now_ns() - t0) / 1e9, &s[n]);
		if (rc == 0)
			n++;
	}
	if (load) {
		/* The load ends by itself at `seconds`; its answer says what it sustained. */
		struct sb_agent_response r;
		struct sb_error e = {0};
		int lrc = sb_agent_recv_id(w->pool.slots[0].agent, id, &r, ctx->deadline_ns, &e);
		if (lrc == 0 && sb_agent_response_ok(&r)) {
			json_error_t je;
			json_t *j = json_loadb(r.stdout_data ? r.stdout_data : "", r.stdout_len, 0, &je);
			double iops = 0;
			if (j && rc == 0 && sb_wl_num(ctx, j, "iops", &iops) == 0)
				sb_scn_metric(ctx, "soak_load_read_iops", iops);
			else if (rc == 0)
				rc = sb_error_set(ctx->err, EBADMSG, "the load printed no JSON with iops");
			json_decref(j);
		} else if (rc == 0) {
			rc = sb_error_set(ctx->err, EIO, "the random-read load failed: %s",
					  lrc < 0 ? e.msg : (r.stderr_data ? r.stderr_data : "?"));
		}
		if (lrc == 0)
			sb_agent_response_clear(&r);
		const char *rm[] = {"rm", "-f", path, NULL};
		sb_wl_quiet(ctx, 0, rm);
	}
	if (rc == 0 && n >= 2) {
		double *t = calloc(n, sizeof(double)), *v = calloc(n, sizeof(double));
		if (!t || !v) {
			rc = sb_error_set(ctx->err, ENOMEM, "out of memory");
		} else {
			const struct {
				const char *name;
				size_t off;
			} m[] = {{"soak_rss_drift_mib_per_min", offsetof(struct soak_sample, rss_mib)},
				 {"soak_pss_drift_mib_per_min", offsetof(struct soak_sample, pss_mib)},
				 {"soak_fds_drift_per_min", offsetof(struct soak_sample, fds)}};
			for (size_t k = 0; k < 3; k++) {
				for (size_t i = 0; i < n; i++) {
					t[i] = s[i].t;
					v[i] = *(const double *)((const char *)&s[i] + m[k].off);
				}
				sb_scn_metric(ctx, m[k].name, sb_wl_slope(t, v, n) * 60.0);
			}
			sb_scn_metric(ctx, "soak_rss_mib", s[n - 1].rss_mib);
			sb_scn_metric(ctx, "soak_pss_mib", s[n - 1].pss_mib);
			sb_scn_metric(ctx, "soak_fds", s[n - 1].fds);
			sb_scn_tag(ctx, "soak_samples", "%zu", n);
		}
		free(t);
		free(v);
	} else if (rc == 0) {
		rc = sb_error_set(ctx->err, EIO, "fewer than two samples were taken");
	}
	free(s);
	return rc;
}

static int soak_run_once(struct sb_scn_ctx *ctx)
{
	return soak_run(ctx, false);
}

static int soak_load_run_once(struct sb_scn_ctx *ctx)
{
	return soak_run(ctx, true);
}

#define SOAK_METRICS                                                                                          \
	{"soak_rss_mib", "MiB", SB_LOWER_IS_BETTER, "RSS of the sandbox's processes at the end"},             \
	{"soak_pss_mib", "MiB", SB_LOWER_IS_BETTER, "PSS of the sandbox's processes at the end"},             \
	{"soak_fds", "count", SB_LOWER_IS_BETTER, "open fds of the sandbox's processes at the end"},           \
	{"soak_rss_drift_mib_per_min", "MiB/min", SB_LOWER_IS_BETTER, "least-squares RSS trend"},             \
	{"soak_pss_drift_mib_per_min", "MiB/min", SB_LOWER_IS_BETTER, "least-squares PSS trend"},             \
	{"soak_fds_drift_per_min", "fds/min", SB_LOWER_IS_BETTER, "least-squares trend of the open fds"}

static const struct sb_metric_def soak_metrics[] = {
	SOAK_METRICS,
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def soak_load_metrics[] = {
	SOAK_METRICS,
	{"soak_load_read_iops", "IOPS", SB_HIGHER_IS_BETTER, "4 KiB random reads sustained meanwhile"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_stability_soak = {
	.name = "stability-soak", .axis = "stability",
	.description = "one idle sandbox watched for seconds: RSS, PSS and fds every interval, drift per minute",
	.caps = SB_CAP_PIDS, .profiles = SB_PROFILE_FULL, .params = soak_params, .metrics = soak_metrics,
	.default_runs = 1, .default_warmup = 0, .setup = soak_setup, .run_once = soak_run_once,
	.teardown = sb_wl_teardown,
};
const struct sb_scenario sb_scn_stability_soak_load = {
	.name = "stability-soak-load", .axis = "stability",
	.description = "the soak under continuous 4 KiB random reads inside: drift per minute and IOPS sustained",
	.caps = SB_CAP_PIDS | SB_CAP_AGENT, .profiles = SB_PROFILE_FULL, .params = soak_params,
	.metrics = soak_load_metrics, .default_runs = 1, .default_warmup = 0, .setup = soak_load_setup,
	.run_once = soak_load_run_once, .teardown = sb_wl_teardown,
};
