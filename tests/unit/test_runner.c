/* Unit tests of the runner with a fake driver vtable and fake scenarios: warmups excluded, SKIP
 * on missing capabilities or unsupported ops, failed iterations reported, boxes always destroyed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <stdatomic.h>

#include "core/clock.h"
#include "core/report.h"
#include "scenarios/runner.h"

static int live_boxes, created;

struct sb_box {
	int id;
	bool started;
};

static void fake_probe(const struct sb_params *params, struct sb_probe *p)
{
	memset(p, 0, sizeof(*p));
	p->usable = true;
	p->caps = SB_CAP_EXEC;
}

static int fake_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t d, struct sb_error *e)
{
	*out = calloc(1, sizeof(**out));
	live_boxes++;
	created++;
	return 0;
}

static int fake_destroy(struct sb_box *b, int64_t d, struct sb_error *e)
{
	free(b);
	live_boxes--;
	return 0;
}

static int prepare_rc;
static int fake_prepare(const struct sb_box_spec *spec, int64_t d, struct sb_error *e)
{
	return prepare_rc ? sb_error_set(e, -prepare_rc, "no image") : 0;
}

static const struct sb_driver fake = {
	.template_prepare = fake_prepare,
	.name = "fake", .caps = SB_CAP_EXEC, .probe = fake_probe,
	.box_create = fake_create, .box_destroy = fake_destroy,
};

/* The same with creates that take a while and may overlap (many boxes at once). */
static atomic_int in_create, max_in_create, live_many, creates;
static int slow_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t d, struct sb_error *e)
{
	int now = atomic_fetch_add(&in_create, 1) + 1;
	for (int m = atomic_load(&max_in_create); now > m && !atomic_compare_exchange_weak(&max_in_create, &m, now);)
		;
	usleep(20000);
	atomic_fetch_sub(&in_create, 1);
	if (atomic_fetch_add(&creates, 1) == 7)
		return sb_error_set(e, EIO, "box 7 refuses"); /* one failure, counted not dropped */
	*out = calloc(1, sizeof(**out));
	atomic_fetch_add(&live_many, 1);
	return 0;
}
static int slow_destroy(struct sb_box *b, int64_t d, struct sb_error *e)
{
	free(b);
	atomic_fetch_sub(&live_many, 1);
	return 0;
}
static const struct sb_driver concurrent_fake = {
	.name = "cfake", .caps = SB_CAP_EXEC, .probe = fake_probe, .concurrent_create = true,
	.box_create = slow_create, .box_destroy = slow_destroy,
};
static const struct sb_driver serial_fake = {
	.name = "sfake", .caps = SB_CAP_EXEC, .probe = fake_probe,
	.box_create = slow_create, .box_destroy = slow_destroy,
};

/* Leaks a box on purpose every iteration: the runner must destroy it. */
static int leaky_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_box *b;
	int rc = sb_scn_box_new(ctx, &b, NULL, NULL);
	if (rc < 0)
		return rc;
	if (ctx->iteration == 3)
		return sb_error_set(ctx->err, EIO, "wrong answer");
	return sb_scn_metric(ctx, "x_ms", ctx->warmup ? 1000.0 : (double)ctx->iteration);
}

static const struct sb_metric_def x_metrics[] = {
	{"x_ms", "ms", SB_LOWER_IS_BETTER, "a number"},
	{"fam_c*_ms", "ms", SB_LOWER_IS_BETTER, "a family"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

static const struct sb_scenario leaky = {
	.name = "leaky", .axis = "latency", .caps = SB_CAP_EXEC, .default_runs = 5, .default_warmup = 2,
	.metrics = x_metrics, .run_once = leaky_run_once,
};

static int needs_clone_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_box *b, *c;
	int rc = sb_scn_box_new(ctx, &b, NULL, NULL);
	return rc < 0 ? rc : sb_drv_clone(ctx->drv, b, &ctx->spec, &c, 0, ctx->err);
}

static const struct sb_scenario clone_scn = {
	.name = "clone", .axis = "latency", .caps = SB_CAP_EXEC, .default_runs = 3,
	.run_once = needs_clone_run_once,
};

static const struct sb_scenario needs_net = {
	.name = "net", .axis = "throughput", .caps = SB_CAP_NET, .default_runs = 3, .run_once = leaky_run_once,
};

static struct sb_run_opts opts(struct sb_probe *p)
{
	fake_probe(NULL, p);
	return (struct sb_run_opts){.drv = &fake, .probe = p, .runs = -1, .warmup = -1, .timeout_s = 5,
				    .run_id = "0123456789abcdef0123456789abcdef", .started_at = "t"};
}

static void test_warmup_excluded_and_errors(void **state)
{
	struct sb_probe p;
	struct sb_run_opts o = opts(&p);
	json_t *r = NULL;
	struct sb_error err = {0};
	live_boxes = created = 0;
	assert_int_equal(sb_run_scenario(&leaky, &o, &r, &err), 0);
	assert_int_equal(live_boxes, 0);
	assert_int_equal(created, 7);
	assert_int_equal(json_array_size(json_object_get(r, "samples")), 7);
	json_t *a = sb_report_aggregate(r, "x_ms");
	/* iterations 2,4,5,6 measured (3 failed), warmups (1000) excluded */
	assert_int_equal(json_integer_value(json_object_get(a, "n")), 4);
	assert_true(json_real_value(json_object_get(a, "max")) == 6.0);
	assert_string_equal(sb_report_status(r), "error");
	assert_non_null(strstr(json_string_value(json_object_get(r, "reason")), "1 of 7 iterations failed"));
	assert_non_null(strstr(json_string_value(json_object_get(r, "reason")), "wrong answer"));
	json_decref(r);
}

static void test_skip_paths(void **state)
{
	struct sb_probe p;
	struct sb_run_opts o = opts(&p);
	json_t *r = NULL;
	struct sb_error err = {0};
	assert_int_equal(sb_run_scenario(&needs_net, &o, &r, &err), 0);
	assert_string_equal(sb_report_status(r), "skip");
	assert_string_equal(json_string_value(json_object_get(r, "reason")), "driver fake lacks capabilities: net");
	json_decref(r);

	assert_int_equal(sb_run_scenario(&clone_scn, &o, &r, &err), 0);
	assert_string_equal(sb_report_status(r), "skip");
	assert_string_equal(json_string_value(json_object_get(r, "reason")), "unsupported by fake: box_clone");
	assert_int_equal(live_boxes, 0);
	json_decref(r);

	p.usable = false;
	strcpy(p.reason, "not installed");
	assert_int_equal(sb_run_scenario(&leaky, &o, &r, &err), 0);
	assert_string_equal(sb_report_status(r), "skip");
	assert_non_null(strstr(json_string_value(json_object_get(r, "reason")), "not installed"));
	json_decref(r);
}

static void test_unknown_param(void **state)
{
	struct sb_probe p;
	struct sb_run_opts o = opts(&p);
	struct sb_params params = {0};
	sb_params_set(&params, "bogus", "1");
	o.params = &params;
	json_t *r = NULL;
	struct sb_error err = {0};
	assert_true(sb_run_scenario(&leaky, &o, &r, &err) < 0);
	assert_null(r);
	assert_non_null(strstr(err.msg, "unknown parameter 'bogus'"));
	sb_params_free(&params);
}

/* template_prepare runs once before setup, is timed into a tag, and decides skip/error. */
static void test_template_prepare(void **state)
{
	struct sb_probe p;
	struct sb_run_opts o = opts(&p);
	json_t *r = NULL;
	struct sb_error err = {0};
	prepare_rc = 0;
	assert_int_equal(sb_run_scenario(&leaky, &o, &r, &err), 0);
	assert_non_null(json_object_get(json_object_get(r, "tags"), "template_prepare_ms"));
	json_decref(r);
	prepare_rc = -ENOTSUP;
	live_boxes = created = 0;
	assert_int_equal(sb_run_scenario(&leaky, &o, &r, &err), 0);
	assert_string_equal(sb_report_status(r), "skip");
	assert_string_equal(json_string_value(json_object_get(r, "reason")), "template prepare: no image");
	assert_int_equal(created, 0);
	json_decref(r);
	prepare_rc = -EIO;
	assert_int_equal(sb_run_scenario(&leaky, &o, &r, &err), 0);
	assert_string_equal(sb_report_status(r), "error");
	json_decref(r);
	prepare_rc = 0;
}

/* Parallel probes: results come back per driver; a crashing or hanging probe marks only its own
 * driver unusable, with the reason. */
static void crash_probe(const struct sb_params *params, struct sb_probe *p)
{
	abort();
}

static void hang_probe(const struct sb_params *params, struct sb_probe *p)
{
	pause();
}

static void test_probe_all(void **state)
{
	static const struct sb_driver crashing = {.name = "crashing", .probe = crash_probe};
	static const struct sb_driver hanging = {.name = "hanging", .probe = hang_probe};
	const struct sb_driver *list[] = {&fake, &crashing, &hanging};
	struct sb_probe out[3];
	sb_drivers_probe_all(list, NULL, 3, out, 1.0);
	assert_true(out[0].usable);
	assert_int_equal(out[0].caps, SB_CAP_EXEC);
	assert_false(out[1].usable);
	assert_string_equal(out[1].reason, "probe crashed");
	assert_false(out[2].usable);
	assert_string_equal(out[2].reason, "probe timed out");
}

/* Declared metrics: a family member is accepted; an undeclared name fails the iteration. */
static int undeclared_run_once(struct sb_scn_ctx *ctx)
{
	sb_scn_metric(ctx, "fam_c4_ms", 1.0);
	if (ctx->iteration == 1)
		sb_scn_metric(ctx, "typo_ms", 1.0);
	sb_scn_series(ctx, "rss", "MiB", 0.5, 10.0 + ctx->iteration);
	sb_scn_series(ctx, "rss", "MiB", 1.0, 11.0);
	return 0;
}
static const struct sb_scenario undeclared = {
	.name = "undeclared", .axis = "latency", .caps = SB_CAP_EXEC, .default_runs = 3,
	.metrics = x_metrics, .run_once = undeclared_run_once,
};

static void test_declared_metrics_and_series(void **state)
{
	assert_non_null(sb_scenario_metric(&leaky, "fam_c16_ms"));
	assert_null(sb_scenario_metric(&leaky, "fam_c_ms")); /* the '*' must match something */
	assert_null(sb_scenario_metric(&leaky, "x_ms2"));
	struct sb_probe p;
	struct sb_run_opts o = opts(&p);
	json_t *r = NULL;
	struct sb_error err = {0};
	assert_int_equal(sb_run_scenario(&undeclared, &o, &r, &err), 0);
	assert_string_equal(sb_report_status(r), "error");
	assert_non_null(strstr(json_string_value(json_object_get(r, "reason")), "typo_ms, which it does not declare"));
	assert_null(json_object_get(r, "series")); /* not asked for */
	json_decref(r);
	o.keep_series = true;
	assert_int_equal(sb_run_scenario(&undeclared, &o, &r, &err), 0);
	json_t *series = json_object_get(r, "series");
	assert_int_equal(json_array_size(series), 2); /* iterations 0 and 2 (1 failed) */
	json_t *s0 = json_array_get(series, 0);
	assert_string_equal(json_string_value(json_object_get(s0, "name")), "rss");
	assert_int_equal(json_array_size(json_object_get(s0, "points")), 2);
	json_decref(r);
}

/* prewarm runs once after setup, under the setup deadline; a slow one times out as "prewarm". */
static int prewarms;
static int count_prewarm(struct sb_scn_ctx *ctx)
{
	prewarms++;
	return 0;
}
static int slow_prewarm(struct sb_scn_ctx *ctx)
{
	while (!sb_deadline_passed(ctx->deadline_ns))
		usleep(1000);
	return sb_error_set(ctx->err, ETIMEDOUT, "still warming");
}
static const struct sb_scenario warm_scn = {
	.name = "warm", .axis = "latency", .caps = SB_CAP_EXEC, .default_runs = 3, .metrics = x_metrics,
	.prewarm = count_prewarm, .run_once = leaky_run_once,
};
static const struct sb_scenario slow_warm_scn = {
	.name = "slowwarm", .axis = "latency", .caps = SB_CAP_EXEC, .default_runs = 3, .metrics = x_metrics,
	.prewarm = slow_prewarm, .run_once = leaky_run_once,
};

static void test_prewarm_and_setup_timeout(void **state)
{
	struct sb_probe p;
	struct sb_run_opts o = opts(&p);
	json_t *r = NULL;
	struct sb_error err = {0};
	prewarms = 0;
	assert_int_equal(sb_run_scenario(&warm_scn, &o, &r, &err), 0);
	assert_int_equal(prewarms, 1);
	assert_string_equal(sb_report_status(r), "ok");
	json_decref(r);
	o.setup_timeout_s = 0.2;
	live_boxes = created = 0;
	assert_int_equal(sb_run_scenario(&slow_warm_scn, &o, &r, &err), 0);
	assert_string_equal(sb_report_status(r), "error");
	const char *reason = json_string_value(json_object_get(r, "reason"));
	assert_non_null(strstr(reason, "prewarm: timed out after 0.2s (--setup-timeout)"));
	assert_int_equal(created, 0);
	json_decref(r);
}

/* Many boxes at once: more than the old cap of 256, overlapping creates on a concurrent driver,
 * none on a serial one, a failure counted, and every box gone after the run. */
static struct sb_box_launch *launched;
static unsigned launched_ok, launch_n = 300;
static int many_run_once(struct sb_scn_ctx *ctx)
{
	launched = calloc(launch_n, sizeof(*launched));
	launched_ok = sb_scn_boxes_new(ctx, launch_n, 32, 0, launched);
	return 0;
}
static const struct sb_scenario many_scn = {
	.name = "many", .axis = "density", .caps = SB_CAP_EXEC, .default_runs = 1, .metrics = x_metrics,
	.run_once = many_run_once,
};

static void test_many_boxes(void **state)
{
	struct sb_probe p;
	struct sb_run_opts o = opts(&p);
	o.drv = &concurrent_fake;
	json_t *r = NULL;
	struct sb_error err = {0};
	atomic_store(&max_in_create, 0);
	atomic_store(&creates, 0);
	assert_int_equal(sb_run_scenario(&many_scn, &o, &r, &err), 0);
	assert_int_equal(launched_ok, launch_n - 1);
	unsigned failed = 0;
	for (unsigned i = 0; i < launch_n; i++) {
		if (launched[i].rc < 0) {
			failed++;
			assert_non_null(strstr(launched[i].error, "box 7 refuses"));
			assert_null(launched[i].box);
		} else {
			assert_true(launched[i].ready_ns >= launched[i].create_ns);
		}
	}
	assert_int_equal(failed, 1);
	assert_true(atomic_load(&max_in_create) > 1);
	assert_int_equal(atomic_load(&live_many), 0);
	free(launched);
	json_decref(r);

	launch_n = 12;
	o.drv = &serial_fake;
	atomic_store(&max_in_create, 0);
	atomic_store(&creates, 0);
	assert_int_equal(sb_run_scenario(&many_scn, &o, &r, &err), 0);
	assert_int_equal(atomic_load(&max_in_create), 1);
	assert_int_equal(atomic_load(&live_many), 0);
	free(launched);
	json_decref(r);
}

/* A burst's untimed teardown: destroys overlap on a driver that declares concurrent_destroy (its
 * creates still take turns), never on a serial one; every box goes, and a failure is reported. */
static atomic_int in_destroy, max_in_destroy, live_d, destroy_calls;
static int quick_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t d, struct sb_error *e)
{
	*out = calloc(1, sizeof(**out));
	atomic_fetch_add(&live_d, 1);
	return 0;
}
static int slow_destroy_counted(struct sb_box *b, int64_t d, struct sb_error *e)
{
	int now = atomic_fetch_add(&in_destroy, 1) + 1;
	for (int m = atomic_load(&max_in_destroy); now > m && !atomic_compare_exchange_weak(&max_in_destroy, &m, now);)
		;
	usleep(20000);
	atomic_fetch_sub(&in_destroy, 1);
	free(b);
	atomic_fetch_sub(&live_d, 1);
	if (atomic_fetch_add(&destroy_calls, 1) == 3)
		return sb_error_set(e, EBUSY, "box would not go");
	return 0;
}
static const struct sb_driver destroy_parallel_fake = {
	.name = "dfake", .caps = SB_CAP_EXEC, .probe = fake_probe, .concurrent_destroy = true,
	.box_create = quick_create, .box_destroy = slow_destroy_counted,
};
static const struct sb_driver destroy_serial_fake = {
	.name = "dsfake", .caps = SB_CAP_EXEC, .probe = fake_probe,
	.box_create = quick_create, .box_destroy = slow_destroy_counted,
};
static int destroy_rc;
static char destroy_msg[256];
static int burst_teardown_run_once(struct sb_scn_ctx *ctx)
{
	enum { N = 10 };
	struct sb_box_launch l[N];
	memset(l, 0, sizeof(l));
	sb_scn_boxes_new(ctx, N, 0, 0, l);
	struct sb_box *boxes[N];
	for (unsigned i = 0; i < N; i++)
		boxes[i] = l[i].box;
	destroy_rc = sb_scn_boxes_destroy(ctx, boxes, N);
	snprintf(destroy_msg, sizeof(destroy_msg), "%s", ctx->err->msg);
	for (unsigned i = 0; i < N; i++)
		assert_null(boxes[i]);
	sb_error_clear(ctx->err);
	return sb_scn_metric(ctx, "x_ms", 1);
}
static const struct sb_scenario burst_teardown_scn = {
	.name = "teardown", .axis = "density", .caps = SB_CAP_EXEC, .default_runs = 1, .metrics = x_metrics,
	.run_once = burst_teardown_run_once,
};

static void test_burst_teardown(void **state)
{
	(void)state;
	const struct sb_driver *drivers[2] = {&destroy_parallel_fake, &destroy_serial_fake};
	for (int k = 0; k < 2; k++) {
		struct sb_probe p;
		struct sb_run_opts o = opts(&p);
		o.drv = drivers[k];
		json_t *r = NULL;
		struct sb_error err = {0};
		atomic_store(&max_in_destroy, 0);
		atomic_store(&destroy_calls, 0);
		assert_int_equal(sb_run_scenario(&burst_teardown_scn, &o, &r, &err), 0);
		assert_int_equal(destroy_rc, -EBUSY);
		assert_non_null(strstr(destroy_msg, "box would not go"));
		assert_int_equal(atomic_load(&live_d), 0);
		assert_int_equal(atomic_load(&destroy_calls), 10);
		if (k == 0)
			assert_true(atomic_load(&max_in_destroy) > 1);
		else
			assert_int_equal(atomic_load(&max_in_destroy), 1);
		json_decref(r);
	}
}

/* box_event: alive only once a box started (never for one whose start failed), !alive while the
 * box still exists (before destroy; ASan would catch a read after it); box_series feeds series. */
static int start_fails_at = -1, starts, alive_events, dead_events, bad_events;
static int fake_start(struct sb_box *b, int64_t d, struct sb_error *e)
{
	if (starts++ == start_fails_at)
		return sb_error_set(e, EIO, "did not start");
	b->started = true;
	return 0;
}

static const struct sb_driver startable = {
	.name = "startable", .caps = SB_CAP_EXEC, .probe = fake_probe,
	.box_create = fake_create, .box_start = fake_start, .box_destroy = fake_destroy,
};

static void on_box(void *arg, const struct sb_driver *drv, struct sb_box *box, const char *name, bool alive)
{
	if (arg != &alive_events || drv != &startable)
		bad_events++;
	if (alive) {
		alive_events++;
		if (!box->started || !name || strncmp(name, "sb-01234567-", 12) != 0)
			bad_events++;
	} else {
		dead_events++;
		bad_events += box->id != 0; /* still the box fake_create made */
	}
}

static int on_series(void *arg, struct sb_box *box, json_t *series)
{
	if (arg != &alive_events || !box->started)
		bad_events++;
	json_object_set_new(series, "live_pids", json_pack("{s:s, s:[[f, f]]}", "unit", "count", "points", 0.0, 1.0));
	return 0;
}

static int watched_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_box *b;
	int rc = sb_scn_box_new(ctx, &b, NULL, NULL);
	if (rc < 0)
		return rc;
	sb_scn_box_series(ctx, b);
	return sb_scn_metric(ctx, "x_ms", 1.0);
}

static const struct sb_scenario watched = {
	.name = "watched", .axis = "latency", .caps = SB_CAP_EXEC, .default_runs = 4, .default_warmup = 0,
	.metrics = x_metrics, .run_once = watched_run_once,
};

static void test_box_event_and_series_hooks(void **state)
{
	(void)state;
	struct sb_probe p;
	struct sb_run_opts o = opts(&p);
	o.drv = &startable;
	o.box_event = on_box;
	o.box_series = on_series;
	o.box_event_arg = &alive_events;
	o.keep_series = true;
	start_fails_at = 1; /* the second box does not start: never announced, still destroyed */
	json_t *r = NULL;
	struct sb_error e = {0};
	assert_int_equal(sb_run_scenario(&watched, &o, &r, &e), 0);
	assert_int_equal(starts, 4);
	assert_int_equal(alive_events, 3);
	assert_int_equal(dead_events, 4);
	assert_int_equal(bad_events, 0);
	assert_int_equal(json_array_size(json_object_get(r, "series")), 3);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warmup_excluded_and_errors),
		cmocka_unit_test(test_skip_paths),
		cmocka_unit_test(test_unknown_param),
		cmocka_unit_test(test_template_prepare),
		cmocka_unit_test(test_probe_all),
		cmocka_unit_test(test_declared_metrics_and_series),
		cmocka_unit_test(test_prewarm_and_setup_timeout),
		cmocka_unit_test(test_many_boxes),
		cmocka_unit_test(test_burst_teardown),
		cmocka_unit_test(test_box_event_and_series_hooks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
