/* The sampler (src/metrics/sampler.c) against a fake driver vtable, and the exposition
 * (src/metrics/expose.c): CPU % (none first, none after a counter reset, never negative, right
 * under a known rate), the first read on the caller's thread, unwatch waiting for a read under
 * way, publishing into the registry, a driver without stats, series, and both text formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "metrics/expose.h"
#include "metrics/registry.h"
#include "metrics/sampler.h"

/* The fake box: CPU time grows at `rate` cores since t0, minus what a reset took away. */
struct sb_box {
	int64_t t0;
	double rate;
	_Atomic int64_t cpu_cut; /* subtracted: a reset makes the counter go backwards */
	_Atomic int calls, inside;
	_Atomic int sleep_ms;
	pthread_t first_caller;
	_Atomic bool have_first;
};

static int fake_stats(struct sb_box *b, struct sb_box_stats *out, struct sb_error *err)
{
	(void)err;
	if (!atomic_exchange(&b->have_first, true))
		b->first_caller = pthread_self();
	atomic_fetch_add(&b->calls, 1);
	atomic_store(&b->inside, 1);
	if (atomic_load(&b->sleep_ms))
		usleep((useconds_t)atomic_load(&b->sleep_ms) * 1000);
	memset(out, 0, sizeof(*out));
	int64_t cpu = (int64_t)(b->rate * (double)(sb_now_ns() - b->t0)) - atomic_load(&b->cpu_cut);
	out->cpu_ns = cpu > 0 ? (uint64_t)cpu : 0;
	out->mem_bytes = 1 << 20;
	out->mem_limit_bytes = 64 << 20;
	out->rss_bytes = 3 << 20;
	out->pids = 2;
	out->io_read_bytes = 10;
	out->io_write_bytes = 20;
	out->net_rx_bytes = 30;
	out->net_tx_bytes = 40;
	atomic_store(&b->inside, 0);
	return 0;
}

static const struct sb_driver fake = {.name = "fake", .caps = SB_CAP_STATS, .box_stats = fake_stats};
static const struct sb_driver nostats = {.name = "nostats"};

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sbm-sampler-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/registry", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static struct sb_sampler *start(double interval, bool reg, bool series)
{
	struct sb_sampler_opts o = {.interval_s = interval, .registry_path = reg ? path : NULL,
				    .keep_series = series};
	struct sb_sampler *s = NULL;
	struct sb_error e = {0};
	if (sb_sampler_start(&o, &s, &e) < 0)
		fail_msg("%s", e.msg);
	return s;
}

static void wait_calls(struct sb_box *b, int n)
{
	for (int i = 0; i < 500 && atomic_load(&b->calls) < n; i++)
		usleep(10000);
	assert_true(atomic_load(&b->calls) >= n);
}

static void test_cpu_percent(void **state)
{
	(void)state;
	struct sb_sampler *s = start(0.02, false, true);
	struct sb_box b = {.t0 = sb_now_ns(), .rate = 0.5};
	struct sb_error e = {0};
	assert_int_equal(sb_sampler_watch(s, &fake, &b, "half", &e), 0);
	/* The first read ran right here, on this thread. */
	assert_int_equal(atomic_load(&b.calls), 1);
	assert_true(pthread_equal(b.first_caller, pthread_self()));
	wait_calls(&b, 8);
	/* A reset: the counter drops to half of what it was, then grows as before. */
	atomic_store(&b.cpu_cut, (int64_t)(b.rate * (double)(sb_now_ns() - b.t0)) / 2);
	int after = atomic_load(&b.calls);
	wait_calls(&b, after + 5);
	sb_sampler_unwatch(s, &b);
	json_t *j = sb_sampler_series(s, "half");
	assert_non_null(j);
	json_t *pct = json_object_get(j, "cpu_percent"), *cpu = json_object_get(j, "cpu_ns");
	size_t n = json_array_size(pct);
	assert_true(n >= 13);
	assert_true(json_is_null(json_array_get(pct, 0))); /* none on the first sample */
	size_t resets = 0, near = 0, valued = 0;
	for (size_t i = 1; i < n; i++) {
		json_t *v = json_array_get(pct, i);
		bool dropped = json_integer_value(json_array_get(cpu, i)) < json_integer_value(json_array_get(cpu, i - 1));
		if (dropped) {
			assert_true(json_is_null(v)); /* no CPU % across a reset, never a negative one */
			resets++;
			continue;
		}
		assert_true(json_is_real(v));
		assert_true(json_real_value(v) >= 0);
		valued++;
		if (fabs(json_real_value(v) - 50) < 10)
			near++;
	}
	assert_int_equal(resets, 1);
	/* Under a steady half core, most samples say ~50 % (a loaded host may stretch a few). */
	assert_true(near * 10 >= valued * 7);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "mem_bytes"), 0)), 1 << 20);
	assert_int_equal(json_array_size(json_object_get(j, "t_s")), n);
	json_decref(j);
	assert_null(sb_sampler_series(s, "no-such-box"));
	sb_sampler_stop(s);
}

static void test_unwatch_waits_for_read(void **state)
{
	(void)state;
	struct sb_sampler *s = start(0.01, false, false);
	struct sb_box b = {.t0 = sb_now_ns(), .rate = 0.1};
	struct sb_error e = {0};
	assert_int_equal(sb_sampler_watch(s, &fake, &b, "slow", &e), 0);
	atomic_store(&b.sleep_ms, 80);
	/* Wait until the thread is inside the stats op, then unwatch. */
	for (int i = 0; i < 500 && !atomic_load(&b.inside); i++)
		usleep(1000);
	assert_int_equal(atomic_load(&b.inside), 1);
	sb_sampler_unwatch(s, &b);
	assert_int_equal(atomic_load(&b.inside), 0); /* it returned only after the read finished */
	int calls = atomic_load(&b.calls);
	usleep(100000);
	assert_int_equal(atomic_load(&b.calls), calls); /* and none started since */
	sb_sampler_unwatch(s, &b);                       /* twice: a no-op */
	sb_sampler_stop(s);
}

static void test_publish(void **state)
{
	(void)state;
	struct sb_sampler *s = start(0.02, true, false);
	struct sb_box boxes[3];
	struct sb_error e = {0};
	sb_sampler_set_label(s, "latency-spawn");
	for (int i = 0; i < 3; i++) {
		boxes[i] = (struct sb_box){.t0 = sb_now_ns(), .rate = 0.25};
		char name[16];
		snprintf(name, sizeof(name), "b%d", i);
		assert_int_equal(sb_sampler_watch(s, &fake, &boxes[i], name, &e), 0);
	}
	struct sb_box quiet = {0};
	sb_sampler_box_event(s, &nostats, &quiet, NULL, true); /* through the runner's hook */
	for (int i = 0; i < 3; i++)
		wait_calls(&boxes[i], 4);
	struct sb_reg *r;
	char msg[300];
	assert_int_equal(sb_reg_open(path, false, 0, &r, msg, sizeof(msg)), 0);
	struct sb_reg_entry ent[8];
	size_t n;
	sb_reg_snapshot(r, ent, 8, &n);
	assert_int_equal(n, 4);
	int seen = 0;
	for (size_t i = 0; i < n; i++) {
		const struct sb_reg_record *rec = &ent[i].rec;
		assert_string_equal(rec->name, "latency-spawn");
		if (!strcmp(rec->driver, "nostats")) {
			assert_string_equal(rec->id, "box-1");
			assert_int_equal(rec->sample.error, ENOTSUP);
			assert_int_equal(rec->sample.count, 1); /* never read again from the thread */
			continue;
		}
		seen++;
		assert_string_equal(rec->driver, "fake");
		assert_true(rec->sample.count >= 2);
		assert_int_equal(rec->sample.error, 0);
		assert_int_equal(rec->sample.rss_bytes, 3 << 20);
		assert_true(isfinite(rec->sample.cpu_percent));
	}
	assert_int_equal(seen, 3);
	/* The exposition of that snapshot, in both formats. */
	char *txt;
	size_t len;
	assert_int_equal(sb_expose(ent, n, sb_reg_nslots(r), false, &txt, &len), 0);
	assert_non_null(strstr(txt, "# TYPE sandbench_sandbox_cpu_seconds_total counter\n"));
	assert_non_null(strstr(txt, "sandbench_sandbox_rss_bytes{sandbox=\"b0\",name=\"latency-spawn\",driver=\"fake\"} 3145728\n"));
	assert_non_null(strstr(txt, "sandbench_sandbox_stats_ok{sandbox=\"box-1\",name=\"latency-spawn\",driver=\"nostats\"} 0\n"));
	assert_null(strstr(txt, "sandbench_sandbox_rss_bytes{sandbox=\"box-1\"")); /* no numbers, none shown */
	assert_non_null(strstr(txt, "sandbench_registry_sandboxes 4\n"));
	assert_null(strstr(txt, "# EOF"));
	free(txt);
	assert_int_equal(sb_expose(ent, n, sb_reg_nslots(r), true, &txt, &len), 0);
	assert_non_null(strstr(txt, "# TYPE sandbench_sandbox_cpu_seconds counter\n# UNIT sandbench_sandbox_cpu_seconds seconds\n"));
	assert_non_null(strstr(txt, "sandbench_sandbox_cpu_seconds_total{sandbox=\"b1\""));
	assert_int_equal(strcmp(txt + len - 6, "# EOF\n"), 0);
	free(txt);
	sb_sampler_unwatch(s, &boxes[1]);
	sb_reg_snapshot(r, ent, 8, &n);
	assert_int_equal(n, 3);
	sb_sampler_stop(s); /* unwatches the rest and removes the registry */
	sb_reg_snapshot(r, ent, 8, &n);
	assert_int_equal(n, 0);
	sb_reg_close(r);
	assert_int_equal(access(path, F_OK), -1);
	assert_string_equal(sb_sampler_error(s = start(1, false, false)), "");
	sb_sampler_stop(s);
}

static void test_label_escaping(void **state)
{
	(void)state;
	struct sb_reg_entry e = {0};
	snprintf(e.rec.id, sizeof(e.rec.id), "a\"b\\c\nd");
	snprintf(e.rec.driver, sizeof(e.rec.driver), "x");
	e.rec.sample.count = 1;
	e.rec.sample.pids = 3;
	char *txt;
	size_t len;
	assert_int_equal(sb_expose(&e, 1, 1, false, &txt, &len), 0);
	assert_non_null(strstr(txt, "sandbench_sandbox_pids{sandbox=\"a\\\"b\\\\c\\nd\",name=\"\",driver=\"x\"} 3\n"));
	free(txt);
	assert_true(sb_expose_wants_openmetrics("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"));
	assert_false(sb_expose_wants_openmetrics("text/plain"));
	assert_false(sb_expose_wants_openmetrics(NULL));
}

static void test_bad_interval(void **state)
{
	(void)state;
	struct sb_sampler_opts o = {.interval_s = 0};
	struct sb_sampler *s;
	struct sb_error e = {0};
	assert_int_equal(sb_sampler_start(&o, &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "sample interval"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cpu_percent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwatch_waits_for_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish, setup, teardown),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_bad_interval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
