/* The standard rootfs builder: layout, a working busybox shell inside (as root, via
 * chroot), content-addressed reuse, and refusal of a dynamically linked agent.
 * Usage: test_agent_image PATH-TO-AGENT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "agent/client.h"
#include "core/clock.h"
#include "core/util.h"
#include "image/image.h"

static const char *agent_path;

struct fixture {
	char cache[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->cache, sizeof(f->cache), "/tmp/sb-image-test-XXXXXX");
	if (!mkdtemp(f->cache))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	sb_rm_rf(f->cache);
	free(f);
	return 0;
}

static void assert_mode(const char *root, const char *rel, mode_t type, mode_t perm)
{
	char p[PATH_MAX];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & S_IFMT, type);
	if (perm)
		assert_int_equal(st.st_mode & 07777, perm);
}

/* `sandbench-agent serve` as the image's own /bin/sandbench-agent, chrooted: both a
 * one-shot sh -c and a persistent busybox shell session work in there. */
static void serve_in_image(const char *root)
{
	int in[2], out[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (chroot(root) == 0 && chdir("/") == 0)
			execl("/bin/sandbench-agent", "sandbench-agent", "serve", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	struct sb_agent *a;
	struct sb_error err = { 0 };
	struct sb_agent_response r;
	assert_int_equal(sb_agent_open(in[1], out[0], &a, &err), 0);
	int64_t dl = sb_deadline_after(10);
	assert_int_equal(sb_agent_run_sh(a, "echo ok; cat /etc/hostname", NULL, &r, dl, &err), 0);
	assert_true(sb_agent_response_ok(&r));
	assert_string_equal(r.stdout_data, "ok\nsandbench\n");
	sb_agent_response_clear(&r);
	assert_int_equal(sb_agent_run_session(a, "cd /tmp; printf tok", NULL, &r, dl, &err), 0);
	assert_true(sb_agent_response_ok(&r));
	assert_string_equal(r.stdout_data, "tok");
	sb_agent_response_clear(&r);
	assert_int_equal(sb_agent_run_session(a, "pwd; ls /bin/sh", NULL, &r, dl, &err), 0);
	assert_string_equal(r.stdout_data, "/tmp\n/bin/sh\n");
	sb_agent_response_clear(&r);
	assert_int_equal(sb_agent_shutdown(a, dl, &err), 0);
	sb_agent_free(a);
	close(in[1]);
	close(out[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_build_and_reuse(void **state)
{
	struct fixture *f = *state;
	if (access("/bin/busybox", X_OK) != 0)
		skip();
	char root[PATH_MAX], root2[PATH_MAX];
	bool reused = true;
	struct sb_error err = { 0 };
	char cache[128];
	/* A cache dir that does not exist yet is created. */
	snprintf(cache, sizeof(cache), "%s/nested/cache", f->cache);
	int rc = sb_image_build(cache, agent_path, root, sizeof(root), &reused, &err);
	if (rc < 0)
		fail_msg("build: %s", err.msg);
	assert_false(reused);
	assert_non_null(strstr(root, "/rootfs-"));

	assert_mode(root, "bin/busybox", S_IFREG, 0755);
	assert_mode(root, "sandbench-agent", S_IFREG, 0755);
	assert_mode(root, "bin/sandbench-agent", S_IFREG, 0755);
	assert_mode(root, "bin/sh", S_IFLNK, 0);
	assert_mode(root, "bin/ls", S_IFLNK, 0);
	assert_mode(root, "bin/cat", S_IFLNK, 0);
	assert_mode(root, "usr/bin/printf", S_IFLNK, 0);
	assert_mode(root, "bin/sleep", S_IFLNK, 0);
	assert_mode(root, "bin/mount", S_IFLNK, 0);
	assert_mode(root, "etc/passwd", S_IFREG, 0644);
	assert_mode(root, "etc/group", S_IFREG, 0644);
	assert_mode(root, "etc/hostname", S_IFREG, 0644);
	assert_mode(root, "tmp", S_IFDIR, 01777);
	const char *dirs[] = { "proc", "sys", "dev", "run", "mnt" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		assert_mode(root, dirs[i], S_IFDIR, 0);
	assert_mode(root, SB_IMAGE_MARKER, S_IFREG, 0644);

	/* No temp dirs left beside the image. */
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep -v -e '^rootfs-' -e '^[.]by-stat-')\"", cache);
	assert_int_equal(system(cmd), 0);

	if (geteuid() == 0) {
		snprintf(cmd, sizeof(cmd), "chroot '%s' /bin/sh -c 'echo ok'", root);
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		char line[64] = "";
		assert_non_null(fgets(line, sizeof(line), p));
		assert_int_equal(pclose(p), 0);
		assert_string_equal(line, "ok\n");
		serve_in_image(root);
		snprintf(cmd, sizeof(cmd),
		         "chroot '%s' /bin/sh -c 'sandbench-agent mark' | grep -q monotonic_ns", root);
		assert_int_equal(system(cmd), 0);
	}

	rc = sb_image_build(cache, agent_path, root2, sizeof(root2), &reused, &err);
	if (rc < 0)
		fail_msg("rebuild: %s", err.msg);
	assert_true(reused);
	assert_string_equal(root, root2);

	/* An incomplete leftover (no marker) is not trusted: it is replaced. */
	char marker[PATH_MAX];
	snprintf(marker, sizeof(marker), "%s/%s", root, SB_IMAGE_MARKER);
	assert_int_equal(unlink(marker), 0);
	rc = sb_image_build(cache, agent_path, root2, sizeof(root2), &reused, &err);
	if (rc < 0)
		fail_msg("rebuild over partial: %s", err.msg);
	assert_false(reused);
	assert_string_equal(root, root2);
	assert_mode(root, SB_IMAGE_MARKER, S_IFREG, 0644);

	/* An input rewritten in place with its old mtime is still a new input (the stat index keys
	 * on ctime too), so the next build is not the old rootfs. */
	char copy[PATH_MAX + 16], root3[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s/agent-copy", f->cache);
	snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s'", agent_path, copy);
	assert_int_equal(system(cmd), 0);
	rc = sb_image_build(cache, copy, root2, sizeof(root2), &reused, &err);
	assert_int_equal(rc, 0);
	struct stat before;
	assert_int_equal(stat(copy, &before), 0);
	FILE *af = fopen(copy, "ae");
	assert_non_null(af);
	fputc(0, af);
	fclose(af);
	struct timespec times[2] = {before.st_atim, before.st_mtim};
	assert_int_equal(utimensat(AT_FDCWD, copy, times, 0), 0);
	rc = sb_image_build(cache, copy, root3, sizeof(root3), &reused, &err);
	if (rc < 0)
		fail_msg("build after rewrite: %s", err.msg);
	assert_false(reused);
	assert_string_not_equal(root2, root3);
}

static void test_rejects_dynamic_agent(void **state)
{
	struct fixture *f = *state;
	if (access("/bin/busybox", X_OK) != 0)
		skip();
	char root[PATH_MAX];
	bool reused;
	struct sb_error err = { 0 };
	/* /bin/ls is dynamically linked on Debian: it would not run inside the image. */
	int rc = sb_image_build(f->cache, "/bin/ls", root, sizeof(root), &reused, &err);
	assert_int_equal(rc, -ELIBBAD);
	assert_non_null(strstr(err.msg, "dynamically linked"));
	rc = sb_image_build(f->cache, "/etc/hostname", root, sizeof(root), &reused, &err);
	assert_int_equal(rc, -ENOEXEC);
	rc = sb_image_build(f->cache, "/nonexistent/agent", root, sizeof(root), &reused, &err);
	assert_true(rc < 0);
}

static void test_default_cache_dir(void **state)
{
	(void)state;
	setenv("SANDBENCH_CACHE", "/some/where", 1);
	assert_string_equal(sb_image_default_cache_dir(), "/some/where");
	unsetenv("SANDBENCH_CACHE");
	const char *d = sb_image_default_cache_dir();
	assert_non_null(d);
	assert_true(d[0] != '\0');
	if (geteuid() == 0)
		assert_string_equal(d, "/var/cache/sandbench");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-SANDBENCH-AGENT\n", argv[0]);
		return 2;
	}
	agent_path = argv[1];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build_and_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_dynamic_agent, setup, teardown),
		cmocka_unit_test(test_default_cache_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
