#include "scenarios/runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/report.h"
#include "core/signals.h"

const struct sb_metric_def *sb_scenario_metric(const struct sb_scenario *s, const char *name)
{
	for (const struct sb_metric_def *m = s->metrics; m && m->name; m++) {
		const char *star = strchr(m->name, '*');
		if (!star) {
			if (strcmp(m->name, name) == 0)
				return m;
			continue;
		}
		size_t pre = (size_t)(star - m->name), post = strlen(star + 1), len = strlen(name);
		if (len > pre + post && strncmp(name, m->name, pre) == 0 &&
		    strcmp(name + len - post, star + 1) == 0)
			return m;
	}
	return NULL;
}

int sb_scn_metric(struct sb_scn_ctx *ctx, const char *name, double value)
{
	const struct sb_metric_def *m = sb_scenario_metric(ctx->scn, name);
	if (!m) {
		if (!ctx->undeclared[0])
			snprintf(ctx->undeclared, sizeof(ctx->undeclared), "%s", name);
		return -EINVAL;
	}
	sb_metric_declare(ctx->meta, name, m->unit, m->dir == SB_HIGHER_IS_BETTER);
	return json_object_set_new(ctx->metrics, name, json_real(value));
}

int sb_scn_series(struct sb_scn_ctx *ctx, const char *name, const char *unit, double t_s, double value)
{
	if (!ctx->series)
		return 0; /* outside an iteration */
	json_t *s = json_object_get(ctx->series, name);
	if (!s) {
		s = json_pack("{s:s, s:[]}", "unit", unit, "points");
		json_object_set_new(ctx->series, name, s);
	}
	return json_array_append_new(json_object_get(s, "points"), json_pack("[f, f]", t_s, value));
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
	const char *v = sb_params_get(ctx->params, key);
	return v ? v : sb_scenario_profile_default(ctx->scn, ctx->profile, key);
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

/* Tracking runs under ctx->lock: launcher threads add boxes while the runner may look. */
static int track_locked(struct sb_scn_ctx *ctx, struct sb_box *box)
{
	if (ctx->nlive == ctx->cap_live) {
		unsigned cap = ctx->cap_live ? ctx->cap_live * 2 : 16;
		struct sb_box **grown = realloc(ctx->live, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ctx->live = grown;
		ctx->cap_live = cap;
	}
	ctx->live[ctx->nlive++] = box;
	return 0;
}

static void track_lock(struct sb_scn_ctx *ctx, bool on)
{
	if (ctx->lock)
		(on ? pthread_mutex_lock : pthread_mutex_unlock)(ctx->lock);
}

/* Track a box; with announce, tell box_event it is alive (only once it runs: a watcher reads its
 * stats, and a box being started is still changing). */
static int track(struct sb_scn_ctx *ctx, struct sb_box *box, const char *name, bool announce)
{
	track_lock(ctx, true);
	int rc = track_locked(ctx, box);
	track_lock(ctx, false);
	if (rc == 0 && announce && ctx->box_event)
		ctx->box_event(ctx->box_event_arg, ctx->drv, box, name, true);
	return rc;
}

/* Forget a box; false when it was not tracked. */
static bool untrack(struct sb_scn_ctx *ctx, struct sb_box *box)
{
	bool found = false;
	track_lock(ctx, true);
	for (unsigned i = 0; i < ctx->nlive; i++) {
		if (ctx->live[i] != box)
			continue;
		ctx->live[i] = ctx->live[--ctx->nlive];
		found = true;
		break;
	}
	track_lock(ctx, false);
	if (found && ctx->box_event)
		ctx->box_event(ctx->box_event_arg, ctx->drv, box, NULL, false);
	return found;
}

int sb_scn_box_track(struct sb_scn_ctx *ctx, struct sb_box *box)
{
	if (track(ctx, box, NULL, true) < 0)
		return sb_error_set(ctx->err, ENOMEM, "out of memory tracking sandboxes");
	return 0;
}

/* Drivers that cannot make boxes from several threads at once take turns here. */
static pthread_mutex_t serial_driver_lock = PTHREAD_MUTEX_INITIALIZER;

/* Create and start one box named from the run id and a run-wide sequence number. */
static int box_new_named(struct sb_scn_ctx *ctx, struct sb_box **out, int64_t *create_ns, int64_t *start_ns,
			 struct sb_error *err)
{
	/* Unique across every scenario of the run (a leftover of one must not collide with the next). */
	static atomic_uint seq;
	char name[96];
	snprintf(name, sizeof(name), "sb-%.8s-%u", ctx->run_id, atomic_fetch_add(&seq, 1));
	struct sb_box_spec spec = ctx->spec;
	spec.name = name;
	bool serial = !ctx->drv->concurrent_create && ctx->lock;
	if (serial)
		pthread_mutex_lock(&serial_driver_lock);
	*out = NULL;
	int64_t t0 = sb_now_ns();
	int rc = sb_drv_create(ctx->drv, &spec, out, ctx->deadline_ns, err);
	int64_t t1 = sb_now_ns();
	if (rc == 0 && track(ctx, *out, name, false) < 0) {
		sb_drv_destroy(ctx->drv, *out, sb_deadline_after(30), err);
		*out = NULL;
		rc = sb_error_set(err, ENOMEM, "out of memory tracking sandboxes");
	}
	if (rc == 0)
		rc = sb_drv_start(ctx->drv, *out, ctx->deadline_ns, err);
	int64_t t2 = sb_now_ns();
	if (serial)
		pthread_mutex_unlock(&serial_driver_lock);
	if (create_ns)
		*create_ns = t1 - t0;
	if (start_ns)
		*start_ns = t2 - t1;
	if (rc == 0 && ctx->box_event)
		ctx->box_event(ctx->box_event_arg, ctx->drv, *out, name, true);
	return rc;
}

int sb_scn_box_new(struct sb_scn_ctx *ctx, struct sb_box **out, int64_t *create_ns, int64_t *start_ns)
{
	return box_new_named(ctx, out, create_ns, start_ns, ctx->err);
}

static int box_destroy(struct sb_scn_ctx *ctx, struct sb_box *box, struct sb_error *err);

struct launch_batch {
	struct sb_scn_ctx *ctx;
	struct sb_box_launch *out;
	unsigned n;
	atomic_uint next;
	int64_t t0, stagger_ns;
	sb_box_then_fn then;
	void *then_arg;
};

static void *launcher(void *arg)
{
	struct launch_batch *lb = arg;
	for (unsigned i; (i = atomic_fetch_add(&lb->next, 1)) < lb->n;) {
		struct sb_box_launch *l = &lb->out[i];
		if (lb->stagger_ns > 0) {
			int64_t at = lb->t0 + (int64_t)i * lb->stagger_ns;
			for (int64_t now = sb_now_ns(); now < at && !sb_interrupted(); now = sb_now_ns())
				nanosleep(&(struct timespec){0, at - now < 10000000 ? at - now : 10000000}, NULL);
		}
		l->queued_ns = sb_now_ns() - lb->t0;
		if (sb_interrupted() || sb_deadline_passed(lb->ctx->deadline_ns)) {
			l->rc = -ECANCELED;
			snprintf(l->error, sizeof(l->error), "%s",
				 sb_interrupted() ? "interrupted" : "deadline passed before it started");
			continue;
		}
		struct sb_error err = {0};
		l->rc = box_new_named(lb->ctx, &l->box, &l->create_ns, &l->start_ns, &err);
		l->ready_ns = sb_now_ns() - lb->t0;
		if (l->rc == 0 && lb->then) {
			/* The box stays tracked whatever the follow-up says: the runner destroys it. */
			l->rc = lb->then(lb->then_arg, l->box, &err);
			l->done_ns = sb_now_ns() - lb->t0;
			if (l->rc < 0)
				snprintf(l->error, sizeof(l->error), "%s", err.msg);
			continue;
		}
		l->done_ns = l->ready_ns;
		if (l->rc < 0) {
			snprintf(l->error, sizeof(l->error), "%s", err.msg);
			if (l->box) { /* created but did not start: it is tracked, destroy it now */
				box_destroy(lb->ctx, l->box, &err);
				l->box = NULL;
			}
		}
	}
	return NULL;
}

unsigned sb_scn_boxes_new(struct sb_scn_ctx *ctx, unsigned n, unsigned parallel, int64_t stagger_ns,
			  struct sb_box_launch *out)
{
	return sb_scn_boxes_new_then(ctx, n, parallel, stagger_ns, NULL, NULL, out);
}

unsigned sb_scn_boxes_new_then(struct sb_scn_ctx *ctx, unsigned n, unsigned parallel, int64_t stagger_ns,
			       sb_box_then_fn then, void *then_arg, struct sb_box_launch *out)
{
	memset(out, 0, n * sizeof(*out));
	if (n == 0)
		return 0;
	unsigned threads = parallel == 0 || parallel > n ? n : parallel;
	if (stagger_ns > 0)
		threads = n; /* each waits for its own start time */
	struct launch_batch lb = {.ctx = ctx, .out = out, .n = n, .t0 = sb_now_ns(), .stagger_ns = stagger_ns,
				  .then = then, .then_arg = then_arg};
	atomic_init(&lb.next, 0);
	pthread_t *tids = calloc(threads, sizeof(*tids));
	unsigned started = 0;
	for (; tids && started < threads; started++) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		int rc = pthread_create(&tids[started], &attr, launcher, &lb);
		pthread_attr_destroy(&attr);
		if (rc != 0)
			break; /* out of threads: the ones running take the rest */
	}
	if (started == 0)
		launcher(&lb);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	free(tids);
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++)
		ok += out[i].rc == 0;
	return ok;
}

static int box_destroy(struct sb_scn_ctx *ctx, struct sb_box *box, struct sb_error *err)
{
	untrack(ctx, box);
	bool serial = !ctx->drv->concurrent_create && !ctx->drv->concurrent_destroy && ctx->lock;
	if (serial)
		pthread_mutex_lock(&serial_driver_lock);
	/* Destroy gets its own budget: a timed-out iteration must still clean up. */
	int64_t deadline = sb_deadline_after(30);
	int rc = sb_drv_destroy(ctx->drv, box, deadline, err);
	if (serial)
		pthread_mutex_unlock(&serial_driver_lock);
	return rc;
}

int sb_scn_box_destroy(struct sb_scn_ctx *ctx, struct sb_box *box)
{
	return box_destroy(ctx, box, ctx->err);
}

struct destroy_batch {
	struct sb_scn_ctx *ctx;
	struct sb_box **boxes;
	unsigned n;
	atomic_uint next;
	pthread_mutex_t first_lock;
	struct sb_error first; /* the first failure, by completion */
	int first_rc;
};

static void *destroyer(void *arg)
{
	struct destroy_batch *db = arg;
	for (unsigned i; (i = atomic_fetch_add(&db->next, 1)) < db->n;) {
		if (!db->boxes[i])
			continue;
		struct sb_error err = {0};
		int rc = box_destroy(db->ctx, db->boxes[i], &err);
		db->boxes[i] = NULL;
		pthread_mutex_lock(&db->first_lock);
		if (rc < 0 && db->first_rc == 0) {
			db->first = err;
			db->first_rc = rc;
		}
		pthread_mutex_unlock(&db->first_lock);
	}
	return NULL;
}

int sb_scn_boxes_destroy(struct sb_scn_ctx *ctx, struct sb_box **boxes, unsigned n)
{
	enum { MAX_DESTROYERS = 8 };
	struct destroy_batch db = {.ctx = ctx, .boxes = boxes, .n = n, .first_lock = PTHREAD_MUTEX_INITIALIZER};
	bool parallel = ctx->lock && (ctx->drv->concurrent_create || ctx->drv->concurrent_destroy);
	pthread_t tids[MAX_DESTROYERS];
	unsigned started = 0;
	for (unsigned t = 0; parallel && t < MAX_DESTROYERS && t + 1 < n; t++)
		if (pthread_create(&tids[started], NULL, destroyer, &db) == 0)
			started++;
	destroyer(&db); /* this thread takes its share, or all of them */
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	if (db.first_rc < 0)
		*ctx->err = db.first;
	return db.first_rc;
}

int sb_scn_box_series(struct sb_scn_ctx *ctx, struct sb_box *box)
{
	if (!ctx->series || !ctx->box_series)
		return 0; /* outside an iteration, or nobody samples */
	return ctx->box_series(ctx->box_event_arg, box, ctx->series);
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

const char *sb_scenario_profile_default(const struct sb_scenario *s, unsigned profile, const char *key)
{
	for (const struct sb_profile_param *pp = s->profile_params; profile && pp && pp->key; pp++)
		if ((pp->profiles & profile) && strcmp(pp->key, key) == 0)
			return pp->value;
	return sb_params_get_def(NULL, s->params, key);
}

static json_t *params_json(const struct sb_scenario *s, const struct sb_run_opts *o)
{
	json_t *p = json_object();
	for (const struct sb_param_def *d = s->params; d && d->key; d++) {
		const char *v = sb_scenario_profile_default(s, o->profile, d->key);
		if (v)
			json_object_set_new(p, d->key, json_string(v));
	}
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
		struct sb_box *b = ctx->live[ctx->nlive - 1];
		untrack(ctx, b);
		sb_drv_destroy(ctx->drv, b, sb_deadline_after(30), &e);
	}
	free(ctx->live);
	ctx->live = NULL;
	ctx->cap_live = 0;
}

/* The C library the agent was linked with (its `version` names it), asked once per agent path:
 * every measured command starts an agent, and glibc's start-up costs ~0.5 ms more than musl's in
 * a VM (docs/architecture.md, Host quirks), so two reports compare only with the same one. */
static int agent_libc(const char *path, char *out, size_t len)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char cached_path[4096], cached[16];
	if (!path || !path[0])
		return -ENOENT;
	pthread_mutex_lock(&lock);
	if (strcmp(path, cached_path) != 0) {
		snprintf(cached, sizeof(cached), "unknown");
		const char *argv[] = {path, "version", NULL};
		struct sb_proc_opts po = {.argv = argv, .deadline_ns = sb_deadline_after(10), .extra_fd = -1};
		struct sb_proc_result r;
		struct sb_error e = {0};
		if (sb_proc_run(&po, &r, &e) == 0) {
			json_t *j = r.exit_code == 0 && r.out ? json_loads(r.out, 0, NULL) : NULL;
			const char *libc = json_string_value(json_object_get(j, "libc"));
			if (libc && libc[0] && strlen(libc) < sizeof(cached))
				snprintf(cached, sizeof(cached), "%s", libc);
			json_decref(j);
			sb_proc_result_free(&r);
		}
		snprintf(cached_path, sizeof(cached_path), "%s", path);
	}
	snprintf(out, len, "%s", cached);
	pthread_mutex_unlock(&lock);
	return 0;
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
	pthread_mutex_t lock;
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
	pthread_mutex_init(&run->lock, NULL);
	ctx->lock = &run->lock;
	ctx->scn = s;
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
	ctx->profile = o->profile;
	ctx->err = &run->serr;
	ctx->meta = run->meta;
	ctx->tags = sb_report_tags(run->report);
	ctx->box_event = o->box_event;
	ctx->box_event_arg = o->box_event_arg;
	ctx->box_series = o->box_series;
	/* Template prepare, setup and prewarm share their own budget: a VM kernel or a big image must
	 * not eat an iteration's. */
	double setup_s = o->setup_timeout_s > 0 ? o->setup_timeout_s : SB_SETUP_TIMEOUT_DEFAULT_S;
	ctx->deadline_ns = sb_deadline_after(setup_s);
	/* Image/bundle preparation is timed on its own ("image prepare") and never inside a sample. */
	int64_t tp = sb_now_ns();
	rc = sb_drv_template_prepare(o->drv, &ctx->spec, ctx->deadline_ns, &run->serr);
	if (rc < 0) {
		snprintf(run->first_error, sizeof(run->first_error), "template prepare: %s", run->serr.msg);
		sb_report_set_status(run->report, rc == -ENOTSUP ? "skip" : "error", run->first_error);
		run->done = true;
		return 0;
	}
	/* Driver facts worth a tag (e.g. qemu's accel and kernel), "key=value key=value". */
	if (o->probe && o->probe->tags[0]) {
		char tags[sizeof(o->probe->tags)];
		snprintf(tags, sizeof(tags), "%s", o->probe->tags);
		for (char *save = NULL, *kv = strtok_r(tags, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
			char *eq = strchr(kv, '=');
			if (eq) {
				*eq = '\0';
				sb_scn_tag(ctx, kv, "%s", eq + 1);
			}
		}
	}
	sb_scn_tag(ctx, "template_prepare_ms", "%.3f", sb_ns_to_ms(sb_now_ns() - tp));
	char libc[16];
	if (agent_libc(o->agent_host_path, libc, sizeof(libc)) == 0)
		sb_scn_tag(ctx, "agent_libc", "%s", libc);
	rc = s->setup ? s->setup(ctx) : 0;
	const char *phase = "setup";
	if (rc == 0 && s->prewarm) {
		phase = "prewarm";
		rc = s->prewarm(ctx);
	}
	if (rc < 0 && (rc == -ETIMEDOUT || sb_deadline_passed(ctx->deadline_ns)))
		sb_error_prefix(&run->serr, "timed out after %gs (--setup-timeout)", setup_s);
	if (rc == -ENOTSUP) {
		sb_report_set_status(run->report, "skip", run->serr.msg);
		run->done = true;
	} else if (rc < 0) {
		snprintf(run->first_error, sizeof(run->first_error), "%s: %s", phase, run->serr.msg);
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
	ctx->series = json_object();
	ctx->undeclared[0] = '\0';
	ctx->deadline_ns = sb_deadline_after(run->o.timeout_s);
	sb_error_clear(&run->serr);
	/* Right before the iteration, so both see the same host state (it drifts over seconds). */
	double ref = run->o.host_ref ? host_ref_ms() : NAN;
	int rc = run->s->run_once(ctx);
	if (rc == 0 && ctx->undeclared[0])
		rc = sb_error_set(&run->serr, EINVAL, "scenario %s recorded metric %s, which it does not declare",
				  run->s->name, ctx->undeclared);
	json_t *series = ctx->series;
	ctx->series = NULL;
	if (rc == 0 && run->o.keep_series)
		sb_report_add_series(run->report, i, series);
	json_decref(series);
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
	pthread_mutex_destroy(&run->lock);
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
