/* The host census of the stability scenarios (src/scenarios/census.c) sees what appears: a new
 * fd, a new child process, and (as root, where cgroups are writable) a new cgroup; a zombie is
 * teardown in progress, not a leak; another run's box names are left out. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "scenarios/census.h"

static void diff(const struct sb_census *a, const struct sb_census *b, size_t out[SB_CENSUS_N])
{
	char what[512];
	sb_census_new(a, b, "0123456789abcdef", out, what, sizeof(what));
}

static void test_fd_and_process(void **state)
{
	(void)state;
	struct sb_census before, after;
	size_t n[SB_CENSUS_N];
	assert_int_equal(sb_census_take(&before), 0);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	assert_true(pid > 0);
	usleep(20000);
	assert_int_equal(sb_census_take(&after), 0);
	diff(&before, &after, n);
	assert_int_equal(n[SB_CENSUS_FDS], 1);
	assert_int_equal(n[SB_CENSUS_PROCESSES], 1);
	sb_census_free(&after);

	/* Dead but not reaped: not counted as a live process. */
	kill(pid, SIGKILL);
	usleep(50000);
	assert_int_equal(sb_census_take(&after), 0);
	diff(&before, &after, n);
	assert_int_equal(n[SB_CENSUS_PROCESSES], 0);
	assert_true(after.zombies >= 1);
	sb_census_free(&after);

	waitpid(pid, NULL, 0);
	close(fd);
	assert_int_equal(sb_census_take(&after), 0);
	diff(&before, &after, n);
	for (int k = 0; k < SB_CENSUS_FDS + 1; k++)
		assert_int_equal(n[k], 0);
	sb_census_free(&after);
	sb_census_free(&before);
}

static void test_cgroup(void **state)
{
	(void)state;
	char ours[128], theirs[128];
	snprintf(ours, sizeof(ours), "/sys/fs/cgroup/pids/sandbench-census-%d", (int)getpid());
	/* Named like a box of another run: left out. */
	snprintf(theirs, sizeof(theirs), "/sys/fs/cgroup/pids/sb-fedcba98-%d", (int)getpid());
	struct sb_census before, after;
	size_t n[SB_CENSUS_N];
	assert_int_equal(sb_census_take(&before), 0);
	if (mkdir(ours, 0755) < 0) {
		sb_census_free(&before);
		skip();
	}
	bool other = mkdir(theirs, 0755) == 0;
	assert_int_equal(sb_census_take(&after), 0);
	rmdir(ours);
	if (other)
		rmdir(theirs);
	diff(&before, &after, n);
	assert_int_equal(n[SB_CENSUS_CGROUPS], 1);
	sb_census_free(&after);
	sb_census_free(&before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_and_process),
		cmocka_unit_test(test_cgroup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
