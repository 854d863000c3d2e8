#include "scenarios/pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/report.h"
#include "core/stats.h"
#include "scenarios/breakpoint.h"

int sb_pool_open(struct sb_scn_ctx *ctx, struct sb_box *box, unsigned n, struct sb_pool *pool)
{
	memset(pool, 0, sizeof(*pool));
	pool->slots = calloc(n, sizeof(*pool->slots));
	if (!pool->slots)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		struct sb_pool_slot *s = &pool->slots[i];
		s->conn.to_agent = s->conn.from_agent = -1;
		int rc = sb_drv_agent_open(ctx->drv, box, &s->conn, ctx->deadline_ns, ctx->err);
		if (rc < 0)
			return rc == -ENOTSUP ? rc : sb_error_prefix(ctx->err, "opening shell-pool slot %u", i);
		pool->n = i + 1;
		rc = sb_agent_open(s->conn.to_agent, s->conn.from_agent, &s->agent, ctx->err);
		if (rc == 0)
			rc = sb_agent_ping(s->agent, NULL, ctx->deadline_ns, ctx->err);
		if (rc < 0)
			return sb_error_prefix(ctx->err, "shell-pool slot %u did not answer", i);
	}
	return 0;
}

void sb_pool_close(struct sb_pool *pool)
{
	for (unsigned i = 0; i < pool->n; i++) {
		struct sb_pool_slot *s = &pool->slots[i];
		if (s->agent) {
			struct sb_error e = {0};
			sb_agent_shutdown(s->agent, sb_deadline_after(1), &e);
			sb_agent_free(s->agent);
		}
		sb_agent_conn_close(&s->conn);
	}
	free(pool->slots);
	memset(pool, 0, sizeof(*pool));
}

static int check_response(struct sb_scn_ctx *ctx, unsigned slot, const char *cmd,
			  const struct sb_agent_response *r, const char *expected)
{
	if (r->type != SB_AGENT_T_RESULT)
		return sb_error_set(ctx->err, EPROTO, "slot %u: agent answered %s", slot,
				    r->error_msg[0] ? r->error_msg : "an error frame");
	if (!sb_agent_response_ok(r)) {
		char first[160] = "";
		if (r->stderr_data)
			snprintf(first, sizeof(first), ": %s", r->stderr_data);
		first[strcspn(first, "\n")] = '\0';
		/* Name the cause: an errno when the agent could not start it (e.g. out of pids). */
		if (r->status == SB_AGENT_SPAWN_FAILED)
			return sb_error_set(ctx->err, EIO, "slot %u: '%s' could not start inside the sandbox: %s", slot,
					    cmd, strerror(r->code));
		if (r->status == SB_AGENT_SIGNALED)
			return sb_error_set(ctx->err, EIO, "slot %u: '%s' killed by signal %d (%s)%s", slot, cmd,
					    r->code, strsignal(r->code), first);
		return sb_error_set(ctx->err, EIO, "slot %u: '%s' failed (status %u, code %d)%s", slot, cmd,
				    r->status, r->code, first);
	}
	if (expected && (r->stdout_len != strlen(expected) || memcmp(r->stdout_data, expected, r->stdout_len)))
		return sb_error_set(ctx->err, EBADMSG, "slot %u: stdout mismatch: expected '%s', got '%.*s'", slot,
				    expected, (int)(r->stdout_len > 80 ? 80 : r->stdout_len),
				    r->stdout_data ? r->stdout_data : "");
	return 0;
}

int sb_pool_dispatch(struct sb_scn_ctx *ctx, struct sb_pool *pool, unsigned c,
		     const char *const *scripts, const char *const *expected, int64_t *slowest_ns)
{
	if (c > pool->n)
		return sb_error_set(ctx->err, EINVAL, "level %u exceeds the pool's %u slots", c, pool->n);
	uint32_t ids[c];
	int64_t t0 = sb_now_ns();
	for (unsigned i = 0; i < c; i++) {
		ids[i] = sb_agent_next_id(pool->slots[i].agent);
		int rc = sb_agent_send_session(pool->slots[i].agent, ids[i], scripts[i], NULL, ctx->deadline_ns,
					       ctx->err);
		if (rc < 0)
			return sb_error_prefix(ctx->err, "slot %u", i);
	}
	/* Responses wait in their pipes, so collecting them in slot order ends at the slowest slot's
	 * completion (plus reading, which is the same for every driver). */
	int rc = 0;
	for (unsigned i = 0; i < c; i++) {
		struct sb_agent_response r;
		memset(&r, 0, sizeof(r));
		int x = sb_agent_recv_id(pool->slots[i].agent, ids[i], &r, ctx->deadline_ns, ctx->err);
		if (x < 0 && rc == 0)
			rc = x == -EPIPE ? sb_error_set(ctx->err, EPIPE, "slot %u died", i)
					 : sb_error_prefix(ctx->err, "slot %u", i);
		else if (x == 0 && rc == 0)
			rc = check_response(ctx, i, scripts[i], &r, expected ? expected[i] : NULL);
		sb_agent_response_clear(&r);
	}
	*slowest_ns = sb_now_ns() - t0;
	return rc;
}

int sb_pool_run_ok(struct sb_scn_ctx *ctx, struct sb_pool_slot *slot, const char *const *argv,
		   struct sb_agent_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	int rc = sb_agent_run_argv(slot->agent, argv, NULL, resp, ctx->deadline_ns, ctx->err);
	if (rc < 0)
		return rc == -EPIPE ? sb_error_set(ctx->err, EPIPE, "the agent slot died running '%s'", argv[0]) : rc;
	return check_response(ctx, 0, argv[0], resp, NULL);
}

int sb_pool_breakpoint_finalize(json_t *report, const unsigned *levels, size_t nlevels)
{
	double *values[64] = {0};
	size_t counts[64] = {0};
	if (nlevels > 64)
		nlevels = 64;
	for (size_t i = 0; i < nlevels; i++) {
		char metric[64];
		snprintf(metric, sizeof(metric), "shell_pool_run_completion_c%u_ms", levels[i]);
		sb_report_values(report, metric, &values[i], &counts[i]);
	}
	struct sb_breakpoint bp;
	sb_breakpoint_compute(levels, (const double *const *)values, counts, nlevels, 2.0, &bp);
	json_t *tags = sb_report_tags(report);
	char buf[64];
	if (bp.found) {
		double v = bp.level;
		json_t *a = sb_aggregate_new("density_max_concurrency_before_p95_doubles", "slots", true, &v, 1);
		json_object_set_new(a, "n", json_integer((json_int_t)bp.min_samples));
		json_object_set_new(a, "confidence", json_string(sb_stats_confidence_label(bp.min_samples)));
		json_object_set_new(a, "derived", json_true());
		json_array_append_new(json_object_get(report, "aggregates"), a);
		snprintf(buf, sizeof(buf), "%.6f", bp.baseline_p95);
		json_object_set_new(tags, "breakpoint_baseline_p95_ms", json_string(buf));
		snprintf(buf, sizeof(buf), "%.6f", bp.threshold_p95);
		json_object_set_new(tags, "breakpoint_threshold_p95_ms", json_string(buf));
		if (bp.first_crossing) {
			snprintf(buf, sizeof(buf), "%u", bp.first_crossing);
			json_object_set_new(tags, "breakpoint_first_crossing_level", json_string(buf));
		}
	} else {
		json_object_set_new(tags, "breakpoint_reason", json_string(bp.reason));
	}
	for (size_t i = 0; i < nlevels; i++)
		free(values[i]);
	return 0;
}

int sb_pool_run_levels(struct sb_scn_ctx *ctx, struct sb_pool *pool, const unsigned *levels, size_t nlevels,
		       const char *tag)
{
	for (size_t l = 0; l < nlevels; l++) {
		unsigned c = levels[l];
		if (c > 128)
			return sb_error_set(ctx->err, EINVAL, "level %u: at most 128 slots at once", c);
		char tokens[128][48], scripts_store[128][64];
		const char *scripts[128], *expected[128];
		for (unsigned i = 0; i < c; i++) {
			snprintf(tokens[i], sizeof(tokens[i]), "%s-%u-c%u-s%u", tag, ctx->iteration, c, i);
			snprintf(scripts_store[i], sizeof(scripts_store[i]), "printf %s", tokens[i]);
			scripts[i] = scripts_store[i];
			expected[i] = tokens[i];
		}
		int64_t slowest;
		int rc = sb_pool_dispatch(ctx, pool, c, scripts, expected, &slowest);
		if (rc < 0)
			return sb_error_prefix(ctx->err, "level %u", c);
		char metric[64];
		snprintf(metric, sizeof(metric), "shell_pool_run_completion_c%u_ms", c);
		sb_scn_metric(ctx, metric, sb_ns_to_ms(slowest));
	}
	return 0;
}
