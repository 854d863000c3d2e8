/* Latency of the operations on a sandbox that already exists: the first byte of a command's
 * output, clone (one, and a batch), snapshot and restore, stop, destroy, the runtime's own list and
 * inspect with many sandboxes present, and stopping several at once. Each checks that the
 * operation really did its job (the clone and the restored sandbox hold the source's file, the
 * list names every sandbox), since a fast wrong answer is not fast. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/util.h"
#include "scenarios/latency_common.h"

struct ops_state {
	struct sb_box *src;       /* the source sandbox (first-byte, clone, snapshot) */
	char token[96];           /* what the source wrote into TOKEN_FILE */
	char snap_dir[PATH_MAX];  /* latency-snapshot: this iteration's snapshot directory */
	struct sb_box **boxes;    /* inspect-list: the sandboxes present */
	char (*names)[128];       /* their names as the runtime's inspect gives them */
	unsigned n;
};

#define TOKEN_FILE "/sandbench-latency-token"

static void free_state(struct sb_scn_ctx *ctx)
{
	struct ops_state *st = ctx->state;
	if (!st)
		return;
	if (st->snap_dir[0])
		sb_rm_rf(st->snap_dir);
	free(st->boxes);
	free(st->names);
	free(st);
	ctx->state = NULL;
}

static struct ops_state *new_state(struct sb_scn_ctx *ctx)
{
	struct ops_state *st = calloc(1, sizeof(*st));
	if (!st)
		sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = st;
	return st;
}

/* The source sandbox, running, with a file of its own in its writable root. */
static int source_setup(struct sb_scn_ctx *ctx, bool write_token)
{
	struct ops_state *st = new_state(ctx);
	if (!st)
		return -ENOMEM;
	int rc = sb_scn_box_new(ctx, &st->src, NULL, NULL);
	if (rc < 0 || !write_token)
		return rc;
	snprintf(st->token, sizeof(st->token), "sandbench-%s-source", ctx->run_id);
	char script[256];
	snprintf(script, sizeof(script), "echo %s > " TOKEN_FILE, st->token);
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	struct sb_proc_result res;
	rc = sb_scn_exec_ok(ctx, st->src, argv, &res);
	sb_proc_result_free(&res);
	return rc < 0 ? sb_error_prefix(ctx->err, "writing %s in the source sandbox", TOKEN_FILE) : 0;
}

/* box must hold the source's file: the state came along. Returns the exec's wall time in *ns. */
static int check_token(struct sb_scn_ctx *ctx, struct sb_box *box, const char *what, int64_t *ns)
{
	struct ops_state *st = ctx->state;
	const char *argv[] = {"/bin/cat", TOKEN_FILE, NULL};
	struct sb_proc_result res;
	int rc = sb_scn_exec_ok(ctx, box, argv, &res);
	char want[128];
	snprintf(want, sizeof(want), "%s\n", st->token);
	if (rc == 0 && (!res.out || strcmp(res.out, want) != 0))
		rc = sb_error_set(ctx->err, EBADMSG, "the %s lacks the source's state: %s holds '%.60s', not '%s'", what,
				  TOKEN_FILE, res.out ? res.out : "", st->token);
	*ns = res.end_ns - res.start_ns;
	sb_proc_result_free(&res);
	return rc;
}

/* A name for a box made by clone or restore, unique in the run like the runner's own. */
static void op_box_name(struct sb_scn_ctx *ctx, const char *what, char *out, size_t len)
{
	static atomic_uint seq;
	snprintf(out, len, "sb-%.8s-%s%u", ctx->run_id, what, atomic_fetch_add(&seq, 1));
}

static void destroy_quietly(struct sb_scn_ctx *ctx, struct sb_box *box)
{
	sb_lat_destroy_all(ctx, &box, 1);
}

/* ---- latency-first-byte ---- */

static const struct sb_param_def first_byte_params[] = {
	{"sleep", "0.05", "seconds the command sleeps between its first byte and the rest", "number"},
	{NULL, NULL, NULL, NULL},
};

static int first_byte_setup(struct sb_scn_ctx *ctx)
{
	const char *v = sb_scn_param(ctx, "sleep");
	char *end;
	double s = strtod(v, &end);
	if (end == v || *end || !(s >= 0.001 && s <= 10))
		return sb_error_set(ctx->err, EINVAL, "parameter sleep=%s: expected seconds in [0.001, 10]", v);
	sb_scn_tag(ctx, "measurement_boundary", "first stdout byte read on the host");
	return source_setup(ctx, false);
}

static int first_byte_run_once(struct sb_scn_ctx *ctx)
{
	struct ops_state *st = ctx->state;
	char script[128];
	snprintf(script, sizeof(script), "printf A; sleep %s; printf BCDE", sb_scn_param(ctx, "sleep"));
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	struct sb_proc_result res;
	int rc = sb_scn_exec_ok(ctx, st->src, argv, &res);
	if (rc == 0 && (!res.out || strcmp(res.out, "ABCDE") != 0))
		rc = sb_error_set(ctx->err, EBADMSG, "stdout mismatch: expected 'ABCDE', got '%.40s'", res.out ? res.out : "");
	if (rc == 0 && !res.first_byte_ns)
		rc = sb_error_set(ctx->err, EPROTO, "driver %s did not time the first byte", ctx->drv->name);
	if (rc == 0) {
		sb_scn_metric(ctx, "first_byte_ms", sb_ns_to_ms(res.first_byte_ns - res.start_ns));
		sb_scn_metric(ctx, "exec_ms", sb_ns_to_ms(res.end_ns - res.start_ns));
	}
	sb_proc_result_free(&res);
	return rc;
}

static const struct sb_metric_def first_byte_metrics[] = {
	{"first_byte_ms", "ms", SB_LOWER_IS_BETTER, "exec call to the first stdout byte on the host (the command prints one, then sleeps)"},
	{"exec_ms", "ms", SB_LOWER_IS_BETTER, "exec call to the command's exit (includes its sleep)"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_latency_first_byte = {
	.name = "latency-first-byte",
	.axis = "latency",
	.description = "a command prints one byte, sleeps, prints more: time to the first byte on the host",
	.caps = SB_CAP_EXEC,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = first_byte_params,
	.metrics = first_byte_metrics,
	.default_runs = 20,
	.default_warmup = 2,
	.setup = first_byte_setup,
	.run_once = first_byte_run_once,
	.teardown = free_state,
};

/* ---- latency-clone, latency-clone-batch-10 ---- */

static const struct sb_param_def clone_batch_params[] = {
	{"n", "10", "clones made one after another from the same source per iteration", "size"},
	{NULL, NULL, NULL, NULL},
};

static int clone_setup(struct sb_scn_ctx *ctx)
{
	return source_setup(ctx, true);
}

static int clone_one(struct sb_scn_ctx *ctx, struct sb_box **out, int64_t *ns)
{
	struct ops_state *st = ctx->state;
	char name[96];
	op_box_name(ctx, "clone", name, sizeof(name));
	struct sb_box_spec spec = ctx->spec;
	spec.name = name;
	int64_t t0 = sb_now_ns();
	int rc = sb_drv_clone(ctx->drv, st->src, &spec, out, ctx->deadline_ns, ctx->err);
	*ns = sb_now_ns() - t0;
	if (rc == 0 && (rc = sb_scn_box_track(ctx, *out)) < 0) {
		struct sb_error e = {0};
		sb_drv_destroy(ctx->drv, *out, sb_deadline_after(30), &e);
	}
	if (rc < 0)
		*out = NULL;
	return rc;
}

static int clone_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_box *c = NULL;
	int64_t clone_ns, exec_ns = 0;
	int rc = clone_one(ctx, &c, &clone_ns);
	if (rc == 0)
		rc = check_token(ctx, c, "clone", &exec_ns);
	destroy_quietly(ctx, c);
	if (rc == 0) {
		sb_scn_metric(ctx, "clone_ms", sb_ns_to_ms(clone_ns));
		sb_scn_metric(ctx, "clone_first_exec_ms", sb_ns_to_ms(exec_ns));
	}
	return rc;
}

static int clone_batch_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t n;
	int rc = sb_scn_param_size(ctx, "n", &n);
	if (rc < 0)
		return rc;
	if (n < 1 || n > 1000)
		return sb_error_set(ctx->err, EINVAL, "parameter n=%" PRIu64 ": expected 1 to 1000", n);
	struct sb_box **clones = calloc(n, sizeof(*clones));
	if (!clones)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	int64_t t0 = sb_now_ns(), one;
	for (unsigned i = 0; i < n && rc == 0; i++)
		rc = clone_one(ctx, &clones[i], &one);
	int64_t batch_ns = sb_now_ns() - t0, exec_ns;
	/* Every clone works and carries the source's state (untimed). */
	for (unsigned i = 0; i < n && rc == 0; i++)
		rc = check_token(ctx, clones[i], "clone", &exec_ns);
	sb_lat_destroy_all(ctx, clones, (unsigned)n);
	free(clones);
	if (rc == 0) {
		sb_scn_metric(ctx, "batch_ms", sb_ns_to_ms(batch_ns));
		sb_scn_metric(ctx, "per_clone_ms", sb_ns_to_ms(batch_ns) / (double)n);
	}
	return rc;
}

static const struct sb_metric_def clone_metrics[] = {
	{"clone_ms", "ms", SB_LOWER_IS_BETTER, "the driver's clone op: a running copy of the source's writable state"},
	{"clone_first_exec_ms", "ms", SB_LOWER_IS_BETTER, "the clone's first command (reads the source's file back)"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

static const struct sb_metric_def clone_batch_metrics[] = {
	{"batch_ms", "ms", SB_LOWER_IS_BETTER, "n clones of one source, one after another"},
	{"per_clone_ms", "ms", SB_LOWER_IS_BETTER, "batch_ms / n: one clone, amortised"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_latency_clone = {
	.name = "latency-clone",
	.axis = "latency",
	.description = "clone a running sandbox (its writable state) into a new running one, then run in it",
	.caps = SB_CAP_EXEC | SB_CAP_CLONE,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.metrics = clone_metrics,
	.default_runs = 20,
	.default_warmup = 2,
	.setup = clone_setup,
	.run_once = clone_run_once,
	.teardown = free_state,
};

const struct sb_scenario sb_scn_latency_clone_batch_10 = {
	.name = "latency-clone-batch-10",
	.axis = "latency",
	.description = "10 clones of one sandbox back to back: the batch and one clone amortised",
	.caps = SB_CAP_EXEC | SB_CAP_CLONE,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = clone_batch_params,
	.metrics = clone_batch_metrics,
	.default_runs = 10,
	.default_warmup = 1,
	.setup = clone_setup,
	.run_once = clone_batch_run_once,
	.teardown = free_state,
};

/* ---- latency-snapshot ---- */

static int snapshot_run_once(struct sb_scn_ctx *ctx)
{
	struct ops_state *st = ctx->state;
	/* On disk, not tmpfs: where a snapshot would be kept. */
	snprintf(st->snap_dir, sizeof(st->snap_dir), "/var/tmp/sandbench-snap-XXXXXX");
	if (!mkdtemp(st->snap_dir)) {
		int e = errno;
		st->snap_dir[0] = '\0';
		return sb_error_set(ctx->err, e, "mkdtemp /var/tmp/sandbench-snap-XXXXXX: %s", strerror(e));
	}
	int64_t t0 = sb_now_ns();
	int rc = sb_drv_snapshot(ctx->drv, st->src, st->snap_dir, ctx->deadline_ns, ctx->err);
	int64_t t1 = sb_now_ns();
	char name[96];
	op_box_name(ctx, "restore", name, sizeof(name));
	struct sb_box_spec spec = ctx->spec;
	spec.name = name;
	struct sb_box *r = NULL;
	if (rc == 0)
		rc = sb_drv_restore(ctx->drv, &spec, st->snap_dir, &r, ctx->deadline_ns, ctx->err);
	int64_t t2 = sb_now_ns(), exec_ns = 0;
	if (rc == 0 && (rc = sb_scn_box_track(ctx, r)) < 0) {
		struct sb_error e = {0};
		sb_drv_destroy(ctx->drv, r, sb_deadline_after(30), &e);
		r = NULL;
	}
	if (rc == 0)
		rc = check_token(ctx, r, "restored sandbox", &exec_ns);
	destroy_quietly(ctx, r);
	sb_rm_rf(st->snap_dir);
	st->snap_dir[0] = '\0';
	if (rc == 0) {
		sb_scn_metric(ctx, "snapshot_ms", sb_ns_to_ms(t1 - t0));
		sb_scn_metric(ctx, "restore_ms", sb_ns_to_ms(t2 - t1));
		sb_scn_metric(ctx, "restore_to_exec_ms", sb_ns_to_ms(exec_ns));
	}
	return rc;
}

static const struct sb_metric_def snapshot_metrics[] = {
	{"snapshot_ms", "ms", SB_LOWER_IS_BETTER, "the driver's snapshot of a running sandbox into an empty directory"},
	{"restore_ms", "ms", SB_LOWER_IS_BETTER, "a new running sandbox from that snapshot"},
	{"restore_to_exec_ms", "ms", SB_LOWER_IS_BETTER, "its first command (reads the source's file back)"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_latency_snapshot = {
	.name = "latency-snapshot",
	.axis = "latency",
	.description = "snapshot a running sandbox, restore it to a new one, run in it (its state checked)",
	.caps = SB_CAP_EXEC | SB_CAP_SNAPSHOT,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.metrics = snapshot_metrics,
	.default_runs = 20,
	.default_warmup = 2,
	.setup = clone_setup,
	.run_once = snapshot_run_once,
	.teardown = free_state,
};

/* ---- latency-stop, latency-destroy ---- */

/* A fresh sandbox that has run a command: really up, not half made. */
static int running_box(struct sb_scn_ctx *ctx, struct sb_box **out)
{
	int rc = sb_scn_box_new(ctx, out, NULL, NULL);
	int64_t ready;
	if (rc == 0)
		rc = sb_lat_ready_deadline(ctx, sb_now_ns(), &ready);
	if (rc == 0)
		rc = sb_lat_first_ok(ctx->drv, *out, ctx->agent, ready, ctx->err);
	return rc;
}

static int stop_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_box *box = NULL;
	int rc = running_box(ctx, &box);
	int64_t t0 = sb_now_ns();
	if (rc == 0)
		rc = sb_drv_stop(ctx->drv, box, ctx->deadline_ns, ctx->err);
	int64_t t1 = sb_now_ns();
	destroy_quietly(ctx, box);
	if (rc == 0)
		sb_scn_metric(ctx, "stop_ms", sb_ns_to_ms(t1 - t0));
	return rc;
}

static int destroy_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_box *box = NULL;
	int rc = running_box(ctx, &box);
	if (rc < 0) {
		destroy_quietly(ctx, box);
		return rc;
	}
	int64_t t0 = sb_now_ns();
	rc = sb_scn_box_destroy(ctx, box);
	if (rc == 0)
		sb_scn_metric(ctx, "destroy_ms", sb_ns_to_ms(sb_now_ns() - t0));
	return rc;
}

static const struct sb_param_def ready_params[] = {
	SB_LAT_READY_PARAM,
	{NULL, NULL, NULL, NULL},
};

static const struct sb_metric_def stop_metrics[] = {
	{"stop_ms", "ms", SB_LOWER_IS_BETTER, "the driver's stop op on a running sandbox (its processes gone)"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

static const struct sb_metric_def destroy_metrics[] = {
	{"destroy_ms", "ms", SB_LOWER_IS_BETTER, "the driver's destroy op on a running sandbox, until it returns"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_latency_stop = {
	.name = "latency-stop",
	.axis = "latency",
	.description = "stop a running sandbox (made and checked untimed)",
	.caps = SB_CAP_EXEC,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = ready_params,
	.metrics = stop_metrics,
	.default_runs = 20,
	.default_warmup = 2,
	.run_once = stop_run_once,
};

const struct sb_scenario sb_scn_latency_destroy = {
	.name = "latency-destroy",
	.axis = "latency",
	.description = "destroy a running sandbox (made and checked untimed)",
	.caps = SB_CAP_EXEC,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = ready_params,
	.metrics = destroy_metrics,
	.default_runs = 20,
	.default_warmup = 2,
	.run_once = destroy_run_once,
};

/* ---- latency-inspect-list ---- */

static const struct sb_param_def inspect_params[] = {
	{"boxes", "20", "sandboxes present while the runtime lists and inspects", "size"},
	{NULL, NULL, NULL, NULL},
};

static void count_line(void *arg, const char *line)
{
	(void)line;
	(*(unsigned *)arg)++;
}

static int inspect_setup(struct sb_scn_ctx *ctx)
{
	struct ops_state *st = new_state(ctx);
	if (!st)
		return -ENOMEM;
	uint64_t n;
	int rc = sb_scn_param_size(ctx, "boxes", &n);
	if (rc < 0)
		return rc;
	if (n < 1 || n > 10000)
		return sb_error_set(ctx->err, EINVAL, "parameter boxes=%" PRIu64 ": expected 1 to 10000", n);
	/* Does the runtime have a list path at all? Before making any sandbox. */
	unsigned seen = 0;
	if ((rc = sb_drv_list(ctx->drv, &ctx->spec, count_line, &seen, ctx->deadline_ns, ctx->err)) < 0)
		return rc;
	st->n = (unsigned)n;
	st->boxes = calloc(n, sizeof(*st->boxes));
	st->names = calloc(n, sizeof(*st->names));
	struct sb_box_launch *l = calloc(n, sizeof(*l));
	if (!st->boxes || !st->names || !l) {
		free(l);
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	}
	unsigned ok = sb_scn_boxes_new(ctx, st->n, 0, 0, l);
	for (unsigned i = 0; i < st->n; i++)
		st->boxes[i] = l[i].rc == 0 ? l[i].box : NULL;
	for (unsigned i = 0; i < st->n && ok < st->n; i++)
		if (l[i].rc < 0) {
			rc = sb_error_set(ctx->err, -l[i].rc, "%u of %u sandboxes failed; first: %s", st->n - ok, st->n,
					  l[i].error);
			break;
		}
	free(l);
	/* Each one's name as its runtime knows it (what the list must show). */
	for (unsigned i = 0; i < st->n && rc == 0; i++) {
		struct sb_box_info info;
		rc = sb_drv_inspect(ctx->drv, st->boxes[i], &info, ctx->deadline_ns, ctx->err);
		if (rc == 0 && !info.name[0])
			rc = sb_error_set(ctx->err, EPROTO, "driver %s: inspect gave no name", ctx->drv->name);
		snprintf(st->names[i], sizeof(st->names[i]), "%s", info.name);
	}
	sb_scn_tag(ctx, "sandboxes_present", "%u", st->n);
	return rc;
}

struct name_set {
	char (*names)[128];
	unsigned n;
	bool *seen;
	unsigned listed;
};

static void mark_line(void *arg, const char *line)
{
	struct name_set *s = arg;
	s->listed++;
	for (unsigned i = 0; i < s->n; i++)
		if (!s->seen[i] && strcmp(s->names[i], line) == 0) {
			s->seen[i] = true;
			break;
		}
}

static int inspect_run_once(struct sb_scn_ctx *ctx)
{
	struct ops_state *st = ctx->state;
	struct name_set set = {.names = st->names, .n = st->n, .seen = calloc(st->n, sizeof(bool))};
	if (!set.seen)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	int64_t t0 = sb_now_ns();
	int rc = sb_drv_list(ctx->drv, &ctx->spec, mark_line, &set, ctx->deadline_ns, ctx->err);
	int64_t t1 = sb_now_ns();
	for (unsigned i = 0; i < st->n && rc >= 0; i++)
		if (!set.seen[i])
			rc = sb_error_set(ctx->err, EBADMSG, "the list (%u names) misses sandbox %s", set.listed, st->names[i]);
	free(set.seen);
	if (rc < 0)
		return rc;
	/* One inspect per iteration, each time another sandbox. */
	unsigned i = ctx->iteration % st->n;
	struct sb_box_info info;
	int64_t t2 = sb_now_ns();
	rc = sb_drv_inspect(ctx->drv, st->boxes[i], &info, ctx->deadline_ns, ctx->err);
	int64_t t3 = sb_now_ns();
	if (rc == 0 && strcmp(info.name, st->names[i]) != 0)
		rc = sb_error_set(ctx->err, EBADMSG, "inspect of %s answered for %s", st->names[i], info.name);
	if (rc == 0 && info.status[0] && strcmp(info.status, "running") != 0)
		rc = sb_error_set(ctx->err, EBADMSG, "inspect says %s is '%s', not running", info.name, info.status);
	if (rc == 0) {
		sb_scn_metric(ctx, "list_ms", sb_ns_to_ms(t1 - t0));
		sb_scn_metric(ctx, "inspect_ms", sb_ns_to_ms(t3 - t2));
	}
	return rc;
}

static const struct sb_metric_def inspect_metrics[] = {
	{"list_ms", "ms", SB_LOWER_IS_BETTER, "the runtime's own list with `boxes` sandboxes present (every one must be listed)"},
	{"inspect_ms", "ms", SB_LOWER_IS_BETTER, "the runtime's own inspect of one of them (it must say running, where it says)"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_latency_inspect_list = {
	.name = "latency-inspect-list",
	.axis = "latency",
	.description = "list and inspect through the runtime's own path with 20 sandboxes present",
	.caps = SB_CAP_EXEC,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = inspect_params,
	.metrics = inspect_metrics,
	.default_runs = 20,
	.default_warmup = 2,
	.setup = inspect_setup,
	.run_once = inspect_run_once,
	.teardown = free_state,
};

/* ---- latency-shutdown-all ---- */

static const struct sb_param_def shutdown_params[] = {
	SB_LAT_READY_PARAM,
	{"boxes", "3", "running sandboxes stopped at once", "size"},
	{NULL, NULL, NULL, NULL},
};

struct stopper {
	const struct sb_driver *drv;
	struct sb_box *box;
	int64_t deadline_ns;
	int rc;
	struct sb_error err;
};

static void *stop_thread(void *arg)
{
	struct stopper *s = arg;
	s->rc = sb_drv_stop(s->drv, s->box, s->deadline_ns, &s->err);
	return NULL;
}

static int shutdown_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t n;
	int rc = sb_scn_param_size(ctx, "boxes", &n);
	if (rc < 0)
		return rc;
	if (n < 1 || n > 256)
		return sb_error_set(ctx->err, EINVAL, "parameter boxes=%" PRIu64 ": expected 1 to 256", n);
	struct sb_box **boxes = calloc(n, sizeof(*boxes));
	struct stopper *s = calloc(n, sizeof(*s));
	pthread_t *tids = calloc(n, sizeof(*tids));
	if (!boxes || !s || !tids) {
		free(boxes);
		free(s);
		free(tids);
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	}
	for (unsigned i = 0; i < n && rc == 0; i++)
		rc = running_box(ctx, &boxes[i]);
	/* All at once: one thread each, the wall time until the last is down. */
	unsigned started = 0;
	int64_t t0 = sb_now_ns();
	for (unsigned i = 0; i < n && rc == 0; i++, started++) {
		s[i] = (struct stopper){.drv = ctx->drv, .box = boxes[i], .deadline_ns = ctx->deadline_ns};
		if (pthread_create(&tids[i], NULL, stop_thread, &s[i]) != 0)
			rc = sb_error_set(ctx->err, EAGAIN, "cannot start a thread");
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	int64_t t1 = sb_now_ns();
	for (unsigned i = 0; i < started && rc == 0; i++)
		if (s[i].rc < 0) {
			*ctx->err = s[i].err;
			rc = s[i].rc;
		}
	sb_lat_destroy_all(ctx, boxes, (unsigned)n);
	free(boxes);
	free(s);
	free(tids);
	if (rc == 0)
		sb_scn_metric(ctx, "shutdown_all_ms", sb_ns_to_ms(t1 - t0));
	return rc;
}

static const struct sb_metric_def shutdown_metrics[] = {
	{"shutdown_all_ms", "ms", SB_LOWER_IS_BETTER, "stop `boxes` running sandboxes at once: until the last is down"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_latency_shutdown_all = {
	.name = "latency-shutdown-all",
	.axis = "latency",
	.description = "stop 3 running sandboxes at once: until the last is down",
	.caps = SB_CAP_EXEC,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = shutdown_params,
	.metrics = shutdown_metrics,
	.default_runs = 10,
	.default_warmup = 1,
	.run_once = shutdown_run_once,
};
