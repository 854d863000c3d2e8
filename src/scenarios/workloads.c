/* The agent's workloads as scenarios: the same static binary does the same work in every
 * sandbox, so a difference is the runtime's (its filesystem layers, its memory accounting). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "scenarios/pool.h"

struct workload_state {
	struct sb_box *box;
	struct sb_pool pool;
};

static int workload_setup(struct sb_scn_ctx *ctx)
{
	struct workload_state *st = calloc(1, sizeof(*st));
	if (!st)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = st;
	int rc = sb_scn_box_new(ctx, &st->box, NULL, NULL);
	return rc < 0 ? rc : sb_pool_open(ctx, st->box, 1, &st->pool);
}

static void workload_teardown(struct sb_scn_ctx *ctx)
{
	struct workload_state *st = ctx->state;
	if (!st)
		return;
	sb_pool_close(&st->pool);
	free(st);
	ctx->state = NULL;
}

/* Run one agent workload and parse the JSON line it prints. */
static int run_workload(struct sb_scn_ctx *ctx, const char *const *argv, json_t **out)
{
	struct workload_state *st = ctx->state;
	struct sb_agent_response r;
	int rc = sb_pool_run_ok(ctx, &st->pool.slots[0], argv, &r);
	if (rc == 0) {
		json_error_t je;
		*out = json_loadb(r.stdout_data ? r.stdout_data : "", r.stdout_len, 0, &je);
		if (!*out || !json_is_object(*out))
			rc = sb_error_set(ctx->err, EBADMSG, "agent %s printed no JSON line: %.120s", argv[1],
					  r.stdout_data ? r.stdout_data : "");
	}
	sb_agent_response_clear(&r);
	return rc;
}

static int number(struct sb_scn_ctx *ctx, json_t *obj, const char *key, double *out)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_number(v) || json_number_value(v) <= 0)
		return sb_error_set(ctx->err, EBADMSG, "agent JSON lacks a positive '%s'", key);
	*out = json_number_value(v);
	return 0;
}

static void remove_file(struct sb_scn_ctx *ctx, const char *path)
{
	struct workload_state *st = ctx->state;
	const char *argv[] = {"rm", "-f", path, NULL};
	struct sb_agent_response r;
	struct sb_error keep = *ctx->err;
	sb_pool_run_ok(ctx, &st->pool.slots[0], argv, &r);
	sb_agent_response_clear(&r);
	*ctx->err = keep;
}

static const struct sb_param_def disk_params[] = {
	{"size", "64M", "file size written then read"},
	{"bs", "1M", "block size"},
	{"dir", "/tmp", "directory inside the sandbox"},
	{NULL, NULL, NULL},
};

static int disk_seq_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t size, bs;
	int rc = sb_scn_param_size(ctx, "size", &size);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "bs", &bs);
	if (rc < 0)
		return rc;
	char path[256], size_s[32], bs_s[32];
	snprintf(path, sizeof(path), "%s/sandbench-disk-%.8s-%u", sb_scn_param(ctx, "dir"), ctx->run_id,
		 ctx->iteration);
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	snprintf(bs_s, sizeof(bs_s), "%" PRIu64, bs);
	const char *wargv[] = {ctx->agent, "disk-write", path, "--size", size_s, "--bs", bs_s, NULL};
	const char *rargv[] = {ctx->agent, "disk-read", path, "--bs", bs_s, NULL};
	json_t *w = NULL, *r = NULL;
	double wr = 0, rd = 0;
	rc = run_workload(ctx, wargv, &w);
	if (rc == 0)
		rc = run_workload(ctx, rargv, &r);
	if (rc == 0)
		rc = number(ctx, w, "mib_per_s", &wr);
	if (rc == 0)
		rc = number(ctx, r, "mib_per_s", &rd);
	if (rc == 0) {
		sb_scn_metric(ctx, "disk_write_mib_per_s", wr);
		sb_scn_metric(ctx, "disk_read_mib_per_s", rd);
		sb_scn_tag(ctx, "disk_io_mode", "%s", json_string_value(json_object_get(w, "mode")) ?: "?");
	}
	json_decref(w);
	json_decref(r);
	remove_file(ctx, path);
	return rc;
}

static const struct sb_param_def disk_rand_params[] = {
	{"size", "64M", "file size"},
	{"ops", "2000", "4 KiB operations per iteration"},
	{"write", "0", "1: random writes instead of reads"},
	{"dir", "/tmp", "directory inside the sandbox"},
	{NULL, NULL, NULL},
};

static int disk_rand_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t size, ops;
	int rc = sb_scn_param_size(ctx, "size", &size);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "ops", &ops);
	if (rc < 0)
		return rc;
	bool write = strcmp(sb_scn_param(ctx, "write"), "1") == 0;
	char path[256], size_s[32], ops_s[32];
	snprintf(path, sizeof(path), "%s/sandbench-rand-%.8s", sb_scn_param(ctx, "dir"), ctx->run_id);
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	snprintf(ops_s, sizeof(ops_s), "%" PRIu64, ops);
	const char *argv[] = {ctx->agent, "disk-rand", path, "--size", size_s, "--ops", ops_s,
			      write ? "--write" : NULL, NULL};
	json_t *j = NULL;
	double iops = 0, p50 = 0, p99 = 0;
	rc = run_workload(ctx, argv, &j);
	if (rc == 0)
		rc = number(ctx, j, "iops", &iops);
	if (rc == 0)
		rc = number(ctx, j, "lat_p50_us", &p50);
	if (rc == 0)
		rc = number(ctx, j, "lat_p99_us", &p99);
	if (rc == 0) {
		sb_scn_metric(ctx, write ? "disk_rand_write_iops" : "disk_rand_read_iops", iops);
		sb_scn_metric(ctx, "disk_rand_lat_p50_us", p50);
		sb_scn_metric(ctx, "disk_rand_lat_p99_us", p99);
	}
	json_decref(j);
	return rc;
}

static void disk_rand_teardown(struct sb_scn_ctx *ctx)
{
	struct workload_state *st = ctx->state;
	if (st && st->pool.n) {
		char path[256];
		snprintf(path, sizeof(path), "%s/sandbench-rand-%.8s", sb_scn_param(ctx, "dir"), ctx->run_id);
		ctx->deadline_ns = sb_deadline_after(10);
		remove_file(ctx, path);
	}
	workload_teardown(ctx);
}

static const struct sb_param_def mem_params[] = {
	{"size", "64M", "memory allocated and touched"},
	{NULL, NULL, NULL},
};

static int mem_touch_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t size;
	int rc = sb_scn_param_size(ctx, "size", &size);
	if (rc < 0)
		return rc;
	char size_s[32];
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	const char *argv[] = {ctx->agent, "mem-touch", size_s, NULL};
	json_t *j = NULL;
	double ms = 0, rss = 0;
	rc = run_workload(ctx, argv, &j);
	if (rc == 0)
		rc = number(ctx, j, "ms", &ms);
	if (rc == 0)
		rc = number(ctx, j, "rss_bytes", &rss);
	if (rc == 0) {
		sb_scn_metric(ctx, "mem_touch_ms", ms);
		sb_scn_metric(ctx, "mem_touch_mib_per_s", (double)size / (1 << 20) / (ms / 1e3));
		sb_scn_metric(ctx, "mem_touch_rss_mib", rss / (1 << 20));
	}
	/* With run --live --keep-series: what the sampler saw of the box during this iteration. */
	sb_scn_box_series(ctx, ((struct workload_state *)ctx->state)->box);
	json_decref(j);
	return rc;
}

static const struct sb_metric_def disk_metrics[] = {
	{"disk_write_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "sequential write of size, fsync included"},
	{"disk_read_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "sequential read of the same file"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_throughput_disk = {
	.name = "throughput-disk",
	.metrics = disk_metrics,
	.axis = "throughput",
	.description = "sequential write (fsync) then read of a file inside the sandbox, MiB/s",
	.caps = SB_CAP_AGENT,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = disk_params,
	.default_runs = 5,
	.default_warmup = 1,
	.setup = workload_setup,
	.run_once = disk_seq_run_once,
	.teardown = workload_teardown,
};

static const struct sb_metric_def disk_rand_metrics[] = {
	{"disk_rand_read_iops", "IOPS", SB_HIGHER_IS_BETTER, "4 KiB random reads per second"},
	{"disk_rand_write_iops", "IOPS", SB_HIGHER_IS_BETTER, "4 KiB random writes per second (write=1)"},
	{"disk_rand_lat_p50_us", "us", SB_LOWER_IS_BETTER, "median latency of one 4 KiB operation"},
	{"disk_rand_lat_p99_us", "us", SB_LOWER_IS_BETTER, "99th percentile latency of one 4 KiB operation"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_throughput_disk_rand = {
	.name = "throughput-disk-rand",
	.metrics = disk_rand_metrics,
	.axis = "throughput",
	.description = "4 KiB random reads (or writes) inside the sandbox: IOPS and latency percentiles",
	.caps = SB_CAP_AGENT,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = disk_rand_params,
	.default_runs = 5,
	.default_warmup = 1,
	.setup = workload_setup,
	.run_once = disk_rand_run_once,
	.teardown = disk_rand_teardown,
};

static const struct sb_metric_def mem_touch_metrics[] = {
	{"mem_touch_ms", "ms", SB_LOWER_IS_BETTER, "allocate and touch size bytes"},
	{"mem_touch_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "touch rate"},
	{"mem_touch_rss_mib", "MiB", SB_LOWER_IS_BETTER, "RSS of the touching process afterwards"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_resource_mem_touch = {
	.name = "resource-mem-touch",
	.metrics = mem_touch_metrics,
	.axis = "resource",
	.description = "allocate and touch N MiB inside the sandbox: time, rate and resulting RSS",
	.caps = SB_CAP_AGENT,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = mem_params,
	.default_runs = 10,
	.default_warmup = 1,
	.setup = workload_setup,
	.run_once = mem_touch_run_once,
	.teardown = workload_teardown,
};
