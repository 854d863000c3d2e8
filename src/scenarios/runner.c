#include "scenarios/runner.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
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
	/* Unique across every scenario of the run (a leftover of one must not collide with the next). */
	static unsigned seq;
	char name[96];
	snprintf(name, sizeof(name), "sb-%.8s-%u", ctx->run_id, seq++);
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

/* One host reference: spawn and reap a trivial program, timed (NAN if it could not run). */
static double host_ref_ms(void)
{
	const char *argv[] = {SB_HOST_REF_COMMAND, NULL};
	struct sb_proc_opts po = {.argv = argv, .deadline_ns = sb_deadline_after(5)};
	struct sb_proc_result res = {0};
	struct sb_error err = {0};
	int rc = sb_proc_run(&po, &res, &err);
	double ms = rc == 0 && res.exit_code == 0 ? sb_ns_to_ms(res.end_ns - res.start_ns) : NAN;
	sb_proc_result_free(&res);
	return ms;
}

static void destroy_all(struct sb_scn_ctx *ctx)
{
	while (ctx->nlive > 0) {
		struct sb_error e = {0};
		struct sb_box *b = ctx->live[--ctx->nlive];
		sb_drv_destroy(ctx->drv, b, sb_deadline_after(30), &e);
	}
}

struct sb_run {
	const struct sb_scenario *s;
	struct sb_run_opts o;
	struct sb_scn_ctx *ctx;
	struct sb_error serr;
	json_t *report, *meta;
	unsigned runs, warmup, next, failed;
	int64_t t0;
	bool done; /* skipped, failed setup, or all iterations run */
	char first_error[600];
};

int sb_run_begin(const struct sb_scenario *s, const struct sb_run_opts *o, struct sb_run **out,
		 struct sb_error *err)
{
	const struct sb_param_def *lists[] = {s->params, o->drv->params};
	int rc = sb_params_check(o->params, lists, 2, err);
	if (rc < 0)
		return rc;
	struct sb_run *run = calloc(1, sizeof(*run));
	struct sb_scn_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!run || !ctx) {
		free(run);
		free(ctx);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	run->s = s;
	run->o = *o;
	run->ctx = ctx;
	run->runs = o->runs < 0 ? s->default_runs : (unsigned)o->runs;
	run->warmup = o->warmup < 0 ? s->default_warmup : (unsigned)o->warmup;
	run->report = new_report(s, o, run->runs, run->warmup);
	run->meta = json_object();
	run->t0 = sb_now_ns();
	*out = run;

	char reason[400];
	unsigned have = o->probe ? o->probe->caps : o->drv->caps;
	if (o->probe && !o->probe->usable) {
		snprintf(reason, sizeof(reason), "driver %s is not usable here: %s", o->drv->name, o->probe->reason);
		sb_report_set_status(run->report, "skip", reason);
		run->done = true;
		return 0;
	}
	if ((s->caps & have) != s->caps) {
		char missing[256];
		sb_caps_format(s->caps & ~have, missing, sizeof(missing));
		snprintf(reason, sizeof(reason), "driver %s lacks capabilities: %s", o->drv->name, missing);
		sb_report_set_status(run->report, "skip", reason);
		run->done = true;
		return 0;
	}
	rc = sb_drv_open(o->drv, o->params, &ctx->spec.drv_state, &run->serr);
	if (rc < 0) {
		snprintf(run->first_error, sizeof(run->first_error), "driver open: %s", run->serr.msg);
		sb_report_set_status(run->report, "error", run->first_error);
		run->done = true;
		return 0;
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
	ctx->err = &run->serr;
	ctx->meta = run->meta;
	ctx->tags = sb_report_tags(run->report);
	ctx->deadline_ns = sb_deadline_after(o->timeout_s);
	/* Image/bundle preparation is timed on its own ("image prepare") and never inside a sample. */
	int64_t tp = sb_now_ns();
	rc = sb_drv_template_prepare(o->drv, &ctx->spec, ctx->deadline_ns, &run->serr);
	if (rc < 0) {
		snprintf(run->first_error, sizeof(run->first_error), "template prepare: %s", run->serr.msg);
		sb_report_set_status(run->report, rc == -ENOTSUP ? "skip" : "error", run->first_error);
		run->done = true;
		return 0;
	}
	sb_scn_tag(ctx, "template_prepare_ms", "%.3f", sb_ns_to_ms(sb_now_ns() - tp));
	rc = s->setup ? s->setup(ctx) : 0;
	if (rc == -ENOTSUP) {
		sb_report_set_status(run->report, "skip", run->serr.msg);
		run->done = true;
	} else if (rc < 0) {
		snprintf(run->first_error, sizeof(run->first_error), "setup: %s", run->serr.msg);
		sb_report_set_status(run->report, "error", run->first_error);
		run->done = true;
	}
	return 0;
}

bool sb_run_step(struct sb_run *run)
{
	unsigned total = run->warmup + run->runs;
	if (run->done || run->next >= total || sb_interrupted()) {
		run->done = true;
		return false;
	}
	struct sb_scn_ctx *ctx = run->ctx;
	unsigned i = run->next++;
	progress(&run->o, run->s->name, i + 1, total, run->t0, false);
	ctx->iteration = i;
	ctx->warmup = i < run->warmup;
	ctx->metrics = json_object();
	ctx->deadline_ns = sb_deadline_after(run->o.timeout_s);
	sb_error_clear(&run->serr);
	/* Right before the iteration, so both see the same host state (it drifts over seconds). */
	double ref = run->o.host_ref ? host_ref_ms() : NAN;
	int rc = run->s->run_once(ctx);
	if (sb_interrupted()) {
		json_decref(ctx->metrics);
		ctx->metrics = NULL;
		run->done = true;
		return false;
	}
	if (rc == -ENOTSUP) {
		json_decref(ctx->metrics);
		ctx->metrics = NULL;
		sb_report_set_status(run->report, "skip", run->serr.msg);
		run->done = true;
		return false;
	}
	char msg[600] = "";
	if (rc < 0) {
		run->failed++;
		if (rc == -ETIMEDOUT || sb_deadline_passed(ctx->deadline_ns))
			snprintf(msg, sizeof(msg), "timed out after %gs: %s", run->o.timeout_s, run->serr.msg);
		else
			snprintf(msg, sizeof(msg), "%s", run->serr.msg);
		if (!run->first_error[0])
			snprintf(run->first_error, sizeof(run->first_error), "iteration %u: %s", i, msg);
		/* A failed iteration's partial numbers are not samples. */
		json_decref(ctx->metrics);
		ctx->metrics = json_object();
	}
	sb_report_add_sample(run->report, i, ctx->warmup, ctx->metrics, rc < 0 ? msg : NULL);
	if (isfinite(ref))
		sb_report_sample_set_host_ref(run->report, ref);
	ctx->metrics = NULL;
	if (run->next >= total)
		run->done = true;
	return !run->done;
}

json_t *sb_run_end(struct sb_run *run)
{
	struct sb_scn_ctx *ctx = run->ctx;
	json_t *r = run->report;
	progress(&run->o, run->s->name, 0, 0, run->t0, true);
	if (run->failed && strcmp(sb_report_status(r), "ok") == 0) {
		char reason[700];
		snprintf(reason, sizeof(reason), "%u of %u iterations failed; first: %s", run->failed, run->next,
			 run->first_error);
		sb_report_set_status(r, "error", reason);
	}
	bool started = ctx->drv != NULL;
	sb_interrupt_hold(true);
	if (started && run->s->teardown)
		run->s->teardown(ctx);
	if (started) {
		destroy_all(ctx);
		sb_drv_close(ctx->drv, ctx->spec.drv_state);
	}
	sb_interrupt_hold(false);
	sb_report_finalize(r, run->meta);
	if (sb_interrupted()) {
		sb_report_set_status(r, "error", "interrupted");
	} else if (started && run->s->finalize && strcmp(sb_report_status(r), "skip") != 0) {
		sb_error_clear(&run->serr);
		if (run->s->finalize(ctx, r) < 0 && strcmp(sb_report_status(r), "ok") == 0)
			sb_report_set_status(r, "error", run->serr.msg);
	}
	json_decref(run->meta);
	free(ctx);
	free(run);
	return r;
}

int sb_run_scenario(const struct sb_scenario *s, const struct sb_run_opts *o, json_t **report,
		    struct sb_error *err)
{
	struct sb_run *run;
	int rc = sb_run_begin(s, o, &run, err);
	if (rc < 0)
		return rc;
	while (sb_run_step(run))
		;
	*report = sb_run_end(run);
	return 0;
}
