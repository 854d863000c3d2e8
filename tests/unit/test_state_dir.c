/* A runtime driver's state directory appears with its owner marker already in it
 * (sb_rt_state_dir_make), and what a maker killed half-way leaves is found and removed
 * (sb_rt_unfinished_dirs) only once that maker is gone. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/util.h"
#include "drivers/runtime_util.h"

static void count_line(void *arg, const char *line)
{
	(void)line;
	++*(int *)arg;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void test_made_with_marker(void **state)
{
	(void)state;
	char parent[] = "/tmp/sb-state-test-XXXXXX", dir[128], *text = NULL, v[64];
	assert_non_null(mkdtemp(parent));
	snprintf(dir, sizeof(dir), "%s/sub/sb-box-1", parent);
	struct sb_error err = {0};
	assert_int_equal(sb_rt_state_dir_make(dir, "testdrv", "sb-box-1", &err), 0);
	assert_int_equal(sb_rt_marker_read(dir, &text), 0);
	assert_true(sb_rt_kv(text, "driver", v, sizeof(v)) && strcmp(v, "testdrv") == 0);
	assert_true(sb_rt_kv(text, "box", v, sizeof(v)) && strcmp(v, "sb-box-1") == 0);
	assert_true(sb_rt_marker_owner_alive(text));
	free(text);
	/* a second one of the same name is refused, naming the way out */
	assert_int_equal(sb_rt_state_dir_make(dir, "testdrv", "sb-box-1", &err), -EEXIST);
	assert_non_null(strstr(err.msg, "doctor --clean"));
	/* nothing unfinished is left beside it */
	int lines = 0;
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/sub", parent);
	assert_int_equal(sb_rt_unfinished_dirs(sub, true, count_line, &lines), 0);
	assert_int_equal(lines, 0);
	sb_rm_rf(parent);
}

static void test_unfinished_of_dead_maker(void **state)
{
	(void)state;
	char parent[] = "/tmp/sb-state-test-XXXXXX", mine[160], dead[160];
	assert_non_null(mkdtemp(parent));
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	assert_true(child > 0);
	waitpid(child, NULL, 0); /* its pid now names a maker that is gone */
	snprintf(dead, sizeof(dead), "%s/.new-sb-box-2-%d", parent, (int)child);
	snprintf(mine, sizeof(mine), "%s/.new-sb-box-3-%d", parent, (int)getpid());
	assert_int_equal(mkdir(dead, 0755), 0);
	assert_int_equal(mkdir(mine, 0755), 0);
	int lines = 0;
	assert_int_equal(sb_rt_unfinished_dirs(parent, false, count_line, &lines), 1);
	assert_int_equal(lines, 1);
	assert_true(exists(dead));
	lines = 0;
	assert_int_equal(sb_rt_unfinished_dirs(parent, true, count_line, &lines), 1);
	assert_false(exists(dead));
	assert_true(exists(mine)); /* its maker (this process) still runs: being made */
	sb_rm_rf(parent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_made_with_marker),
		cmocka_unit_test(test_unfinished_of_dead_maker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
