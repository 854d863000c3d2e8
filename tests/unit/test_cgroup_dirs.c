/* The runtime drivers' cgroup helpers read /proc/PID/cgroup against the host's cgroup mounts
 * (v1, v2 or both): sb_rt_cgroup_make makes a leaf in every mounted hierarchy, a process moved into
 * those leaves is found there by sb_rt_cgroup_dirs, and sb_rt_cgroup_guess_dirs names each leaf
 * both at the mount's top and below this process's own cgroup. Root only (exit 77 otherwise). */
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

#include "drivers/runtime_util.h"

/* The lines of a newline-separated list, sorted, as one string (to compare lists as sets). */
static char *sorted(const char *list)
{
	char *copy = strdup(list), *lines[64], *save = NULL;
	size_t n = 0;
	for (char *l = strtok_r(copy, "\n", &save); l && n < 64; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
			char *t = lines[j];
			lines[j] = lines[j - 1];
			lines[j - 1] = t;
		}
	char *out = calloc(1, strlen(list) + 2);
	for (size_t i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	free(copy);
	return out;
}

/* Move pid into dir (cgroup v2 and v1 both take cgroup.procs). */
static int enter(const char *dir, pid_t pid)
{
	char path[2300];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	int ok = fprintf(f, "%d\n", (int)pid) > 0;
	ok = fclose(f) == 0 && ok;
	return ok ? 0 : -EIO;
}

static void test_make_find_guess(void **state)
{
	(void)state;
	char leaf[64], made[8192], found[8192], guessed[16384];
	snprintf(leaf, sizeof(leaf), "sb-unit-cg-%d", (int)getpid());
	assert_int_equal(sb_rt_cgroup_make(leaf, made, sizeof(made)), 0);
	if (!made[0])
		skip(); /* no cgroup hierarchy mounted here */
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	/* Into every leaf (one dir per line). */
	char *copy = strdup(made), *save = NULL;
	int entered = 0;
	for (char *d = strtok_r(copy, "\n", &save); d; d = strtok_r(NULL, "\n", &save)) {
		assert_true(strstr(d, leaf) != NULL);
		entered += enter(d, child) == 0;
	}
	free(copy);
	assert_true(entered > 0);
	assert_int_equal(sb_rt_cgroup_dirs(child, "sb-unit-cg-", found, sizeof(found)), 0);
	char *a = sorted(made), *b = sorted(found);
	fprintf(stderr, "made:\n%sfound:\n%s", a, b);
	/* Every leaf that took the child is found, and each found one is one of those made. */
	int nfound = 0;
	for (const char *c = b; *c; c++)
		nfound += *c == '\n';
	assert_int_equal(nfound, entered);
	copy = strdup(b);
	save = NULL;
	for (char *d = strtok_r(copy, "\n", &save); d; d = strtok_r(NULL, "\n", &save))
		assert_non_null(strstr(a, d));
	free(copy);
	/* Nothing matches what no leaf of the child contains. */
	assert_int_equal(sb_rt_cgroup_dirs(child, "no-such-leaf", found, sizeof(found)), 0);
	assert_string_equal(found, "");
	assert_int_equal(sb_rt_cgroup_dirs(child, NULL, found, sizeof(found)), 0);
	assert_string_equal(found, "");
	/* The guesses include each leaf made at the top of its mount. */
	assert_int_equal(sb_rt_cgroup_guess_dirs(leaf, guessed, sizeof(guessed)), 0);
	copy = strdup(a);
	save = NULL;
	for (char *d = strtok_r(copy, "\n", &save); d; d = strtok_r(NULL, "\n", &save)) {
		char line[2300];
		snprintf(line, sizeof(line), "%s\n", d);
		assert_non_null(strstr(guessed, line));
	}
	free(copy);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	copy = strdup(made);
	save = NULL;
	for (char *d = strtok_r(copy, "\n", &save); d; d = strtok_r(NULL, "\n", &save))
		rmdir(d);
	free(copy);
	free(a);
	free(b);
	/* A process that does not exist: its file cannot be read. */
	assert_true(sb_rt_cgroup_dirs(0x3fffffff, "x", found, sizeof(found)) < 0);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("SKIP: making cgroups needs root\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_find_guess),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
