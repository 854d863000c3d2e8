#include "scenarios/runner.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/report.h"
#include "core/signals.h"

int sb_scn_metric(struct sb_scn_ctx *ctx, const char *name, const char *unit, bool higher_is_better,
		  double value)
{
	sb_metric_declare(ctx->meta, name, unit, higher_is_better);
	return json_object_set_new(ctx->metrics, name, json_real(value));
}

void sb_scn_tag(struct sb_scn_ctx *ctx, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_set_new(ctx->tags, key, json_string(buf));
}

const char *sb_scn_param(const struct sb_scn_ctx *ctx, const char *key)
{
	return sb_params_get_def(ctx->params, ctx->defs, key);
}

int sb_scn_param_size(struct sb_scn_ctx *ctx, const char *key, uint64_t *out)
{
	const char *v = sb_scn_param(ctx, key);
	if (!v)
		return sb_error_set(ctx->err, EINVAL, "parameter %s is required", key);
	if (sb_parse_size(v, out) < 0)
		return sb_error_set(ctx->err, EINVAL, "parameter %s=%s: expected a size like 4096, 64K, 16M",
				    key, v);
	return 0;
}

int sb_scn_box_track(struct sb_scn_ctx *ctx, struct sb_box *box)
{
	if (ctx->nlive >= SB_MAX_LIVE_BOXES)
		return sb_error_set(ctx->err, EMFILE, "more than %d live sandboxes", SB_MAX_LIVE_BOXES);
	ctx->live[ctx->nlive++] = box;
	return 0;
}

int sb_scn_box_new(struct sb_scn_ctx *ctx, struct sb_box **out, int64_t *create_ns, int64_t *start_ns)
{
	char name[96];
	snprintf(name, sizeof(name), "sb-%.8s-%u", ctx->run_id, ctx->box_seq++);
	struct sb_box_spec spec = ctx->spec;
	spec.name = name;
	if (ctx->nlive >= SB_MAX_LIVE_BOXES)
		return sb_error_set(ctx->err, EMFILE, "more than %d live sandboxes", SB_MAX_LIVE_BOXES);
	int64_t t0 = sb_now_ns();
	int rc = sb_drv_create(ctx->drv, &spec, out, ctx->deadline_ns, ctx->err);
	int64_t t1 = sb_now_ns();
	if (rc < 0)
		return rc;
	ctx->live[ctx->nlive++] = *out;
	rc = sb_drv_start(ctx->drv, *out, ctx->deadline_ns, ctx->err);
	int64_t t2 = sb_now_ns();
	if (create_ns)
		*create_ns = t1 - t0;
	if (start_ns)
		*start_ns = t2 - t1;
	return rc;
}

int sb_scn_box_destroy(struct sb_scn_ctx *ctx, struct sb_box *box)
{
	for (unsigned i = 0; i < ctx->nlive; i++) {
		if (ctx->live[i] != box)
			continue;
		ctx->live[i] = ctx->live[--ctx->nlive];
		break;
	}
	/* Destroy gets its own budget: a timed-out iteration must still clean up. */
	int64_t deadline = sb_deadline_after(30);
	return sb_drv_destroy(ctx->drv, box, deadline, ctx->err);
}

int sb_scn_exec_ok(struct sb_scn_ctx *ctx, struct sb_box *box, const char *const *argv,
		   struct sb_proc_result *res)
{
	struct sb_exec_req req = {.argv = argv, .deadline_ns = ctx->deadline_ns};
	int rc = sb_drv_exec(ctx->drv, box, &req, res, ctx->err);
	if (rc < 0)
		return rc;
	if (res->exit_code != 0) {
		char first[160] = "";
		if (res->err)
			snprintf(first, sizeof(first), ": %s", res->err);
		first[strcspn(first, "\n")] = '\0';
		return sb_error_set(ctx->err, EIO, "'%s' exited %d inside the sandbox%s", argv[0],
				    res->exit_code, first);
	}
	return 0;
}

static json_t *params_json(const struct sb_scenario *s, const struct sb_run_opts *o)
{
	json_t *p = json_object();
	for (const struct sb_param_def *d = s->params; d && d->key; d++)
		if (d->default_value)
			json_object_set_new(p, d->key, json_string(d->default_value));
	for (size_t i = 0; o->params && i < o->params->n; i++)
		json_object_set_new(p, o->params->items[i].key, json_string(o->params->items[i].value));
	return p;
}

static json_t *new_report(const struct sb_scenario *s, const struct sb_run_opts *o, unsigned runs,
			  unsigned warmup)
{
	json_t *params = params_json(s, o);
	struct sb_report_head h = {
		.run_id = o->run_id, .started_at = o->started_at, .scenario = s->name, .axis = s->axis,
		.params = params, .driver = o->drv->name,
		.driver_version = o->probe ? o->probe->version : NULL,
		.runs = runs, .warmup = warmup, .timeout_s = o->timeout_s, .host = o->host,
	};
	json_t *r = sb_report_new(&h);
	json_decref(params);
	return r;
}

json_t *sb_run_skip_report(const struct sb_scenario *s, const struct sb_run_opts *o, const char *reason)
{
	json_t *r = new_report(s, o, o->runs < 0 ? s->default_runs : (unsigned)o->runs,
			       o->warmup < 0 ? s->default_warmup : (unsigned)o->warmup);
	sb_report_set_status(r, "skip", reason);
	json_t *meta = json_object();
	sb_report_finalize(r, meta);
	json_decref(meta);
	return r;
}

static void progress(const struct sb_run_opts *o, const char *name, unsigned i, unsigned total,
		     int64_t t0, bool done)
{
	if (!o->progress)
		return;
	if (done)
		fprintf(stderr, "\r\033[K");
	else
		fprintf(stderr, "\r\033[K%s on %s: iteration %u/%u, %.1fs", name, o->drv->name, i, total,
			(double)(sb_now_ns() - t0) / 1e9);
	fflush(stderr);
}

static void destroy_all(struct sb_scn_ctx *ctx)
{
	while (ctx->nlive > 0) {
		struct sb_error e = {0};
		struct sb_box *b = ctx->live[--ctx->nlive];
		sb_drv_destroy(ctx->drv, b, sb_deadline_after(30), &e);
	}
}

int sb_run_scenario(const struct sb_scenario *s, const struct sb_run_opts *o, json_t **report,
		    struct sb_error *err)
{
	const struct sb_param_def *lists[] = {s->params, o->drv->params};
	int rc = sb_params_check(o->params, lists, 2, err);
	if (rc < 0)
		return rc;
	unsigned runs = o->runs < 0 ? s->default_runs : (unsigned)o->runs;
	unsigned warmup = o->warmup < 0 ? s->default_warmup : (unsigned)o->warmup;
	if (o->probe && !o->probe->usable) {
		char reason[320];
		snprintf(reason, sizeof(reason), "driver %s is not usable here: %s", o->drv->name,
			 o->probe->reason);
		*report = sb_run_skip_report(s, o, reason);
		return 0;
	}
	unsigned have = o->probe ? o->probe->caps : o->drv->caps;
	if ((s->caps & have) != s->caps) {
		char missing[256], reason[320];
		sb_caps_format(s->caps & ~have, missing, sizeof(missing));
		snprintf(reason, sizeof(reason), "driver %s lacks capabilities: %s", o->drv->name, missing);
		*report = sb_run_skip_report(s, o, reason);
		return 0;
	}

	json_t *r = new_report(s, o, runs, warmup);
	json_t *meta = json_object();
	struct sb_error serr = {0};
	struct sb_scn_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		json_decref(r);
		json_decref(meta);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	ctx->drv = o->drv;
	ctx->params = o->params;
	ctx->defs = s->params;
	ctx->spec.params = o->params;
	ctx->spec.rootfs = o->rootfs;
	ctx->spec.agent_path = o->agent_host_path;
	ctx->agent = o->drv->agent_in_box ? o->drv->agent_in_box
		     : (o->agent_host_path && o->agent_host_path[0]) ? o->agent_host_path
		     : "sandbench-agent"; /* not found: the exec error will name it */
	ctx->run_id = o->run_id;
	ctx->err = &serr;
	ctx->meta = meta;
	ctx->tags = sb_report_tags(r);

	int64_t t0 = sb_now_ns();
	unsigned failed = 0;
	char first_error[600] = "";
	ctx->deadline_ns = sb_deadline_after(o->timeout_s);
	rc = s->setup ? s->setup(ctx) : 0;
	if (rc == -ENOTSUP) {
		sb_report_set_status(r, "skip", serr.msg);
	} else if (rc < 0) {
		snprintf(first_error, sizeof(first_error), "setup: %s", serr.msg);
		sb_report_set_status(r, "error", first_error);
	} else {
		unsigned total = warmup + runs;
		for (unsigned i = 0; i < total && !sb_interrupted(); i++) {
			progress(o, s->name, i + 1, total, t0, false);
			ctx->iteration = i;
			ctx->warmup = i < warmup;
			ctx->metrics = json_object();
			ctx->deadline_ns = sb_deadline_after(o->timeout_s);
			sb_error_clear(&serr);
			rc = s->run_once(ctx);
			if (sb_interrupted()) {
				json_decref(ctx->metrics);
				break;
			}
			if (rc == -ENOTSUP) {
				json_decref(ctx->metrics);
				sb_report_set_status(r, "skip", serr.msg);
				break;
			}
			char msg[600] = "";
			if (rc < 0) {
				failed++;
				if (rc == -ETIMEDOUT || sb_deadline_passed(ctx->deadline_ns))
					snprintf(msg, sizeof(msg), "timed out after %gs: %s", o->timeout_s, serr.msg);
				else
					snprintf(msg, sizeof(msg), "%s", serr.msg);
				if (!first_error[0])
					snprintf(first_error, sizeof(first_error), "iteration %u: %s", i, msg);
				/* A failed iteration's partial numbers are not samples. */
				json_decref(ctx->metrics);
				ctx->metrics = json_object();
			}
			sb_report_add_sample(r, i, ctx->warmup, ctx->metrics, rc < 0 ? msg : NULL);
			ctx->metrics = NULL;
		}
		progress(o, s->name, 0, 0, t0, true);
		if (failed && strcmp(sb_report_status(r), "ok") == 0) {
			char reason[700];
			snprintf(reason, sizeof(reason), "%u of %u iterations failed; first: %s", failed,
				 warmup + runs, first_error);
			sb_report_set_status(r, "error", reason);
		}
	}
	if (s->teardown)
		s->teardown(ctx);
	destroy_all(ctx);
	sb_report_finalize(r, meta);
	if (sb_interrupted()) {
		sb_report_set_status(r, "error", "interrupted");
	} else if (s->finalize && strcmp(sb_report_status(r), "skip") != 0) {
		sb_error_clear(&serr);
		if (s->finalize(ctx, r) < 0 && strcmp(sb_report_status(r), "ok") == 0)
			sb_report_set_status(r, "error", serr.msg);
	}
	json_decref(meta);
	free(ctx);
	*report = r;
	return 0;
}
