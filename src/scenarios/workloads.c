/* The agent's workloads as scenarios: the same static binary does the same work in every
 * sandbox, so a difference is the runtime's (its memory accounting). The disk workloads live in
 * disk.c. */
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

static const struct sb_param_def mem_params[] = {
	{"size", "64M", "memory allocated and touched", "size"},
	{NULL, NULL, NULL, NULL},
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
