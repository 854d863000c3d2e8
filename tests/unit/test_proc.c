/* Unit tests: running children with captures, rusage, deadlines and group kills. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/signals.h"

static void test_capture_and_exit(void **state)
{
	const char *argv[] = {"sh", "-c", "printf hello; printf oops >&2; exit 3", NULL};
	struct sb_proc_opts o = {.argv = argv, .extra_fd = -1};
	struct sb_proc_result r;
	struct sb_error err = {0};
	assert_int_equal(sb_proc_run(&o, &r, &err), 0);
	assert_int_equal(r.exit_code, 3);
	assert_string_equal(r.out, "hello");
	assert_string_equal(r.err, "oops");
	assert_true(r.end_ns > r.start_ns);
	assert_true(r.first_byte_ns >= r.start_ns);
	assert_true(r.maxrss_kb > 0);
	sb_proc_result_free(&r);
}

static void test_stdin_and_large_output(void **state)
{
	static char big[300000];
	memset(big, 'x', sizeof(big));
	const char *argv[] = {"cat", NULL};
	struct sb_proc_opts o = {.argv = argv, .extra_fd = -1, .stdin_data = big, .stdin_len = sizeof(big)};
	struct sb_proc_result r;
	assert_int_equal(sb_proc_run(&o, &r, NULL), 0);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.out_len, sizeof(big));
	assert_int_equal(r.out_bytes, sizeof(big));
	sb_proc_result_free(&r);

	/* discard keeps nothing but counts everything; a cap truncates and says so. */
	o.discard_stdout = true;
	assert_int_equal(sb_proc_run(&o, &r, NULL), 0);
	assert_null(r.out);
	assert_int_equal(r.out_bytes, sizeof(big));
	sb_proc_result_free(&r);
	o.discard_stdout = false;
	o.out_cap = 1000;
	assert_int_equal(sb_proc_run(&o, &r, NULL), 0);
	assert_int_equal(r.out_len, 1000);
	assert_true(r.out_truncated);
	sb_proc_result_free(&r);
}

static void test_signal_exit(void **state)
{
	const char *argv[] = {"sh", "-c", "kill -9 $$", NULL};
	struct sb_proc_opts o = {.argv = argv, .extra_fd = -1};
	struct sb_proc_result r;
	assert_int_equal(sb_proc_run(&o, &r, NULL), 0);
	assert_int_equal(r.term_signal, SIGKILL);
	assert_int_equal(r.exit_code, 128 + SIGKILL);
	sb_proc_result_free(&r);
}

/* A hung child and its background grandchild both die at the deadline. */
static void test_deadline_kills_group(void **state)
{
	char pidfile[] = "/tmp/sb-proc-test-XXXXXX";
	int fd = mkstemp(pidfile);
	close(fd);
	char script[256];
	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; sleep 30", pidfile);
	const char *argv[] = {"sh", "-c", script, NULL};
	struct sb_proc_opts o = {.argv = argv, .extra_fd = -1, .deadline_ns = sb_deadline_after(0.3)};
	struct sb_proc_result r;
	struct sb_error err = {0};
	int64_t t0 = sb_now_ns();
	assert_int_equal(sb_proc_run(&o, &r, &err), -ETIMEDOUT);
	assert_true(r.timed_out);
	assert_true(sb_now_ns() - t0 < 5000000000LL);
	assert_string_equal(err.msg, "'sh -c' killed at its deadline");
	FILE *f = fopen(pidfile, "r");
	int bg = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &bg), 1);
	fclose(f);
	unlink(pidfile);
	usleep(100000);
	/* The grandchild was in the child's process group: gone (or a zombie awaiting its reaper). */
	char stat[64], buf[256] = "";
	snprintf(stat, sizeof(stat), "/proc/%d/stat", bg);
	f = fopen(stat, "r");
	if (f) {
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_non_null(strstr(buf, ") Z"));
	}
	sb_proc_result_free(&r);
}

static void test_spawn_failure(void **state)
{
	const char *argv[] = {"/nonexistent/binary", NULL};
	struct sb_proc_opts o = {.argv = argv, .extra_fd = -1};
	struct sb_proc_result r;
	struct sb_error err = {0};
	assert_true(sb_proc_run(&o, &r, &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent/binary"));
}

static void test_check(void **state)
{
	const char *ok[] = {"echo", "hi", NULL};
	const char *bad[] = {"sh", "-c", "echo broken >&2; exit 4", NULL};
	char *out = NULL;
	struct sb_error err = {0};
	assert_int_equal(sb_proc_check(ok, 5, &out, &err), 0);
	assert_string_equal(out, "hi\n");
	free(out);
	assert_true(sb_proc_check(bad, 5, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "exited 4: broken"));
}

/* After SIGTERM, children are killed at once, except while a teardown hold is in effect. */
static void test_interrupt_and_hold(void **state)
{
	sb_signals_install();
	raise(SIGTERM);
	assert_int_equal(sb_interrupted(), SIGTERM);
	const char *argv[] = {"sh", "-c", "sleep 0.2; echo done", NULL};
	struct sb_proc_opts o = {.argv = argv, .extra_fd = -1};
	struct sb_proc_result r;
	assert_int_equal(sb_proc_run(&o, &r, NULL), -EINTR);
	assert_true(r.interrupted);
	sb_proc_result_free(&r);
	sb_interrupt_hold(true);
	assert_int_equal(sb_interrupted(), 0);
	assert_int_equal(sb_proc_run(&o, &r, NULL), 0);
	assert_string_equal(r.out, "done\n");
	sb_proc_result_free(&r);
	sb_interrupt_hold(false);
	assert_int_equal(sb_interrupted(), SIGTERM);
	sb_interrupt_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_and_exit),   cmocka_unit_test(test_stdin_and_large_output),
		cmocka_unit_test(test_signal_exit),        cmocka_unit_test(test_deadline_kills_group),
		cmocka_unit_test(test_spawn_failure),      cmocka_unit_test(test_check),
		cmocka_unit_test(test_interrupt_and_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
