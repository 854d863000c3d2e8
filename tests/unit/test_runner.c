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

#include "core/report.h"
#include "scenarios/runner.h"

static int live_boxes, created;

struct sb_box {
	int id;
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

/* Leaks a box on purpose every iteration: the runner must destroy it. */
static int leaky_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_box *b;
	int rc = sb_scn_box_new(ctx, &b, NULL, NULL);
	if (rc < 0)
		return rc;
	if (ctx->iteration == 3)
		return sb_error_set(ctx->err, EIO, "wrong answer");
	return sb_scn_metric(ctx, "x_ms", "ms", false, ctx->warmup ? 1000.0 : (double)ctx->iteration);
}

static const struct sb_scenario leaky = {
	.name = "leaky", .axis = "latency", .caps = SB_CAP_EXEC, .default_runs = 5, .default_warmup = 2,
	.run_once = leaky_run_once,
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warmup_excluded_and_errors),
		cmocka_unit_test(test_skip_paths),
		cmocka_unit_test(test_unknown_param),
		cmocka_unit_test(test_template_prepare),
		cmocka_unit_test(test_probe_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
