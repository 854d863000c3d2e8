/* The native driver run by an unprivileged user (issue 4: "unprivileged variants where the kernel
 * allows"). Started as root, it builds a busybox rootfs owned by nobody (65534) in a temp dir,
 * copies itself there and re-runs itself through
 *   setpriv --reuid=65534 --regid=65534 --clear-groups
 * with XDG_RUNTIME_DIR in that temp dir. The inner run covers: the probe (usable, no limits),
 * exec (output, exit code, pid 1, hostname, uid 0 inside = the caller outside), an escape subset,
 * limits/veth/warm asked for (clear errors), copies and stats, the writable layer on disk in the
 * user's own directory, and a leak check over 20 cycles.
 * Exit 77 (SKIP, with the reason) when not root or when the kernel refuses the user namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "native/native.h"
#include "box_util.h"
#include "native/native_int.h"

#define NOBODY 65534

extern const struct sb_driver sb_driver_native;
static const struct sb_driver *drv = &sb_driver_native;
static const char *rootfs, *scratch; /* inner run: from the environment */
static struct sb_probe probe;

static int write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* chown -R to nobody, without following links. */
static void chown_tree(const char *path)
{
	lchown(path, NOBODY, NOBODY);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char p[1024];
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (de->d_type == DT_DIR)
			chown_tree(p);
		else
			lchown(p, NOBODY, NOBODY);
	}
	closedir(d);
}

/* As root: the rootfs, a private runtime dir, a copy of this binary; then run it as nobody. */
static int outer(void)
{
	if (geteuid() != 0) {
		printf("SKIP: not root: cannot switch to an unprivileged user to test the unprivileged mode\n");
		return 77;
	}
	char tmp[64] = "/tmp/sbn-unpriv-XXXXXX", p[512], root[128];
	if (!mkdtemp(tmp) || chmod(tmp, 0755) < 0)
		return 1;
	snprintf(root, sizeof(root), "%s/rootfs", tmp);
	static const char *const dirs[] = {"", "/bin", "/proc", "/dev", "/tmp", "/etc", "/root", "/xdg"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", i == 7 ? tmp : root, dirs[i]);
		mkdir(p, 0755);
	}
	snprintf(p, sizeof(p), "%s/tmp", root);
	chmod(p, 01777);
	snprintf(p, sizeof(p), "%s/bin/busybox", root);
	int rc = nt_copy_file("/bin/busybox", p, 0755);
	static const char *const applets[] = {"sh", "true", "cat", "echo", "ls", "id", "hostname", "sleep", "touch",
					      "grep", "wc", "mount", NULL};
	for (size_t i = 0; applets[i]; i++) {
		snprintf(p, sizeof(p), "%s/bin/%s", root, applets[i]);
		symlink("busybox", p);
	}
	const char *esc = getenv("SBN_ESCAPE");
	snprintf(p, sizeof(p), "%s/escape", root);
	if (!esc || nt_copy_file(esc, p, 0755) < 0)
		rc = -1;
	snprintf(p, sizeof(p), "%s/etc/passwd", root);
	write_text(p, "root:x:0:0:root:/root:/bin/sh\n", 0644);
	snprintf(p, sizeof(p), "%s/test_unpriv", tmp);
	if (nt_copy_file("/proc/self/exe", p, 0755) < 0)
		rc = -1;
	chown_tree(tmp);
	snprintf(p, sizeof(p), "%s/xdg", tmp);
	chmod(p, 0700);
	/* Host root's file, visible in the box's tree: uid 0 there must not read it. */
	snprintf(p, sizeof(p), "%s/secret", root);
	write_text(p, "root-only\n", 0600);
	if (rc < 0) {
		printf("SKIP: cannot build the test rootfs (SBN_ESCAPE=%s)\n", esc ? esc : "unset");
		sb_rm_rf(tmp);
		return 77;
	}
	pid_t pid = fork();
	if (pid == 0) {
		char env_root[256], env_xdg[256], exe[256];
		snprintf(env_root, sizeof(env_root), "SBN_UNPRIV_ROOTFS=%s", root);
		snprintf(env_xdg, sizeof(env_xdg), "XDG_RUNTIME_DIR=%s/xdg", tmp);
		snprintf(exe, sizeof(exe), "%s/test_unpriv", tmp);
		char *const argv[] = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe, NULL};
		char *const envp[] = {env_root, env_xdg, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", NULL};
		if (chdir(tmp) == 0)
			execvpe("setpriv", argv, envp);
		printf("SKIP: cannot run setpriv: %s\n", strerror(errno));
		_exit(77);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	sb_rm_rf(tmp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static struct sb_box *mkbox_rc(const char *name, const char *kv, struct sb_params *p, int *rc, struct sb_error *e)
{
	memset(p, 0, sizeof(*p));
	if (kv)
		assert_int_equal(sb_params_add_kv(p, kv, e), 0);
	struct sb_box_spec spec = {.name = name, .rootfs = rootfs, .params = p};
	struct sb_box *b = NULL;
	*rc = drv->box_create(&spec, &b, sb_deadline_after(20), e);
	return b;
}

static struct sb_box *mkbox(const char *name, const char *kv, struct sb_params *p)
{
	struct sb_error e = {0};
	int rc;
	struct sb_box *b = mkbox_rc(name, kv, p, &rc, &e);
	if (rc != 0)
		fprintf(stderr, "create %s: %s\n", name, e.msg);
	assert_int_equal(rc, 0);
	return b;
}

static void test_probe(void **state)
{
	(void)state;
	assert_true(probe.usable);
	assert_true(probe.caps & SB_CAP_EXEC);
	assert_true(probe.caps & SB_CAP_ISOLATION);
	assert_false(probe.caps & (SB_CAP_MEMLIMIT | SB_CAP_CPULIMIT | SB_CAP_PIDLIMIT | SB_CAP_WARM | SB_CAP_NET |
				   SB_CAP_STATS));
	assert_non_null(strstr(probe.reason, "unprivileged"));
	assert_non_null(strstr(probe.reason, "limits unsupported"));
	char caps[256];
	sb_caps_format(probe.caps, caps, sizeof(caps));
	fprintf(stderr, "native (uid %u) caps: %s; %s\n", (unsigned)geteuid(), caps, probe.reason);
}

static void test_exec_basic(void **state)
{
	(void)state;
	struct sb_params p;
	struct sb_box *b = mkbox("basic", NULL, &p);
	char *out;
	assert_int_equal(nt_run(b, &out, NULL, "/bin/sh", "-c", "echo hello; hostname; exit 3", NULL), 3);
	assert_string_equal(out, "hello\nsandbench\n");
	free(out);
	assert_int_equal(nt_run(b, &out, NULL, "/bin/sh", "-c", "echo $$; cat /proc/1/comm; id -u", NULL), 0);
	assert_true(atoi(out) < 100);
	assert_non_null(strstr(out, SBN_INIT_COMM));
	assert_non_null(strstr(out, "\n0\n"));
	free(out);
	/* uid 0 inside is this user outside: the map, and a file the box made, copied out. */
	assert_int_equal(nt_run(b, &out, NULL, "cat", "/proc/self/uid_map", NULL), 0);
	unsigned in = 1, outside = 0, cnt = 0;
	assert_int_equal(sscanf(out, "%u %u %u", &in, &outside, &cnt), 3);
	assert_int_equal(in, 0);
	assert_int_equal(outside, geteuid());
	assert_int_equal(cnt, 1);
	free(out);
	assert_int_equal(nt_run(b, NULL, NULL, "/bin/sh", "-c", "echo made > /root/made", NULL), 0);
	char host[300];
	snprintf(host, sizeof(host), "%s/made-copy", scratch);
	struct sb_error e = {0};
	assert_int_equal(drv->box_copy_out(b, "/root/made", host, sb_deadline_after(10), &e), 0);
	struct stat st;
	assert_int_equal(stat(host, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	unlink(host);
	/* Copy in, then stats from /proc (no cgroup fields). */
	assert_int_equal(write_text(host, "in\n", 0644), 0);
	assert_int_equal(drv->box_copy_in(b, host, "/tmp/in", sb_deadline_after(10), &e), 0);
	unlink(host);
	assert_int_equal(nt_run(b, &out, NULL, "cat", "/tmp/in", NULL), 0);
	assert_string_equal(out, "in\n");
	free(out);
	/* clone: a new box from this one's writable layer (overlay works in a user namespace). */
	if (probe.caps & SB_CAP_CLONE) {
		struct sb_box_spec cs = {.name = "clone", .rootfs = rootfs};
		struct sb_box *c = NULL;
		int rc = drv->box_clone(b, &cs, &c, sb_deadline_after(20), &e);
		if (rc)
			fprintf(stderr, "clone: %s\n", e.msg);
		assert_int_equal(rc, 0);
		assert_int_equal(nt_run(c, &out, NULL, "cat", "/tmp/in", "/root/made", NULL), 0);
		assert_string_equal(out, "in\nmade\n");
		free(out);
		assert_int_equal(drv->box_destroy(c, sb_deadline_after(20), &e), 0);
	}
	struct sb_box_stats bs;
	assert_int_equal(drv->box_stats(b, &bs, &e), 0);
	assert_true(bs.rss_bytes > 0);
	assert_true(bs.pids >= 1);
	nt_rmbox(b, &p);
}

static void test_escape(void **state)
{
	(void)state;
	struct sb_params p;
	struct sb_box *b = mkbox("escape", NULL, &p);
	char *out, pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	static const char *const what[] = {"syscalls", "fs", "caps", "net"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(nt_run(b, &out, NULL, "/escape", what[i], NULL), 0);
		assert_null(strstr(out, "ESCAPED"));
		free(out);
	}
	/* No host pid is visible, and this process cannot be signalled or traced from inside. */
	assert_int_equal(nt_run(b, &out, NULL, "/escape", "hostpid", pid, NULL), 0);
	free(out);
	assert_int_equal(nt_run(b, &out, NULL, "/bin/sh", "-c", "ls /proc | grep -c '^[0-9]'", NULL), 0);
	assert_true(atoi(out) <= 4);
	free(out);
	/* mount is denied (seccomp), whatever the user namespace would allow. */
	assert_int_not_equal(nt_run(b, NULL, NULL, "mount", "-t", "tmpfs", "none", "/tmp", NULL), 0);
	/* Box uid 0 is no host root: a root-only file of the rootfs stays unreadable. */
	assert_int_not_equal(nt_run(b, &out, NULL, "cat", "/secret", NULL), 0);
	assert_null(strstr(out, "root-only"));
	free(out);
	/* Writes land in the box's layer, never in the rootfs nor outside it. */
	assert_int_equal(nt_run(b, NULL, NULL, "touch", "/bin/planted", "/../../planted", NULL), 0);
	char p2[300];
	snprintf(p2, sizeof(p2), "%s/bin/planted", rootfs);
	assert_int_equal(access(p2, F_OK), -1);
	snprintf(p2, sizeof(p2), "%s/planted", rootfs);
	assert_int_equal(access(p2, F_OK), -1);
	assert_int_equal(access("/planted", F_OK), -1);
	nt_rmbox(b, &p);
	/* tmpfs mode: read-only root, writable /tmp. */
	b = mkbox("ro", "rootfs_mode=tmpfs", &p);
	assert_int_not_equal(nt_run(b, NULL, NULL, "touch", "/bin/x", NULL), 0);
	assert_int_equal(nt_run(b, NULL, NULL, "touch", "/tmp/x", NULL), 0);
	nt_rmbox(b, &p);
}

static void test_refused(void **state)
{
	(void)state;
	static const char *const kv[] = {"mem=64M", "cpus=0.5", "pids=10", "cgroups=1", "net=veth", "warm=1"};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		struct sb_params p;
		struct sb_error e = {0};
		int rc;
		struct sb_box *b = mkbox_rc("refused", kv[i], &p, &rc, &e);
		fprintf(stderr, "%s: %s\n", kv[i], e.msg);
		assert_null(b);
		assert_int_equal(rc, -ENOTSUP);
		assert_non_null(strstr(e.msg, "needs root"));
		sb_params_free(&p);
	}
	/* The scenario's own limits too, not only the parameters. */
	struct sb_box_spec spec = {.name = "refused", .rootfs = rootfs, .mem_limit_bytes = 64 << 20};
	struct sb_box *b = NULL;
	struct sb_error e = {0};
	assert_int_equal(drv->box_create(&spec, &b, sb_deadline_after(20), &e), -ENOTSUP);
	assert_null(b);
}

static int count_children(void)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
	FILE *f = fopen(p, "re");
	int n = 0;
	long c;
	while (f && fscanf(f, "%ld", &c) == 1)
		n++;
	if (f)
		fclose(f);
	return n;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Is there a file called name anywhere below dir? (Unreadable corners, like overlay's work dir,
 * are passed over.) */
static bool found_below(const char *dir, const char *name, int depth)
{
	DIR *d = depth < 8 ? opendir(dir) : NULL;
	bool found = false;
	struct dirent *de;
	while (d && !found && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char p[1024];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		found = !strcmp(de->d_name, name) || (de->d_type == DT_DIR && found_below(p, name, depth + 1));
	}
	if (d)
		closedir(d);
	return found;
}

/* layer=disk unprivileged: the writable layer lies in this user's own directory of /var/tmp, what
 * the box writes is there, and destroying the box removes it. */
static void test_disk_layer(void **state)
{
	(void)state;
	char dir[128];
	snprintf(dir, sizeof(dir), "/var/tmp/sandbench-%u-native", (unsigned)geteuid());
	int before = count_entries(dir);
	struct sb_params p;
	struct sb_box *b = mkbox("disk", "layer=disk", &p);
	assert_int_equal(nt_run(b, NULL, NULL, "/bin/sh", "-c", "echo kept > /root/unpriv-disk-probe && sync", NULL), 0);
	assert_int_equal(count_entries(dir), before + 1);
	assert_true(found_below(dir, "unpriv-disk-probe", 0));
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_mode & 077, 0); /* /var/tmp is shared: nobody else looks in */
	nt_rmbox(b, &p);
	sb_native_shutdown(); /* the deferred reap, which removes the layer after the box's processes */
	assert_int_equal(count_entries(dir), before);
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	int n = 0, c;
	while (f && (c = fgetc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

static void test_leaks(void **state)
{
	(void)state;
	sb_native_shutdown();
	int procs = count_children(), markers = count_entries(sbn_run_dir());
	int mounts = count_lines("/proc/self/mountinfo");
	for (int i = 0; i < 20; i++) {
		struct sb_params p;
		struct sb_box *b = mkbox("leak", i % 2 ? "rootfs_mode=tmpfs" : NULL, &p);
		assert_int_equal(nt_run(b, NULL, NULL, "/bin/sh", "-c", "sleep 100 & true", NULL), 0);
		nt_rmbox(b, &p);
	}
	sb_native_shutdown();
	fprintf(stderr, "20 cycles: children %d->%d markers %d->%d mounts %d->%d (%s)\n", procs, count_children(),
		markers, count_entries(sbn_run_dir()), mounts, count_lines("/proc/self/mountinfo"), sbn_run_dir());
	assert_int_equal(count_children(), procs);
	assert_int_equal(count_entries(sbn_run_dir()), markers);
	assert_int_equal(count_lines("/proc/self/mountinfo"), mounts);
	/* doctor's listing works on this user's own run directory. */
	struct sb_native_leftover lo[4];
	size_t n = 9;
	struct sb_error e = {0};
	assert_int_equal(sb_native_leftovers(lo, 4, &n, &e), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	rootfs = getenv("SBN_UNPRIV_ROOTFS");
	if (!rootfs)
		return outer();
	scratch = getenv("XDG_RUNTIME_DIR");
	if (geteuid() == 0) {
		printf("SKIP: still root after setpriv\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	drv->probe(NULL, &probe);
	if (!probe.usable) {
		/* The kernel (or a policy) refuses the user namespace: say exactly why. */
		printf("SKIP: native driver unusable unprivileged: %s\n", probe.reason);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),   cmocka_unit_test(test_exec_basic), cmocka_unit_test(test_escape),
		cmocka_unit_test(test_refused), cmocka_unit_test(test_disk_layer), cmocka_unit_test(test_leaks),
	};
	int rc = cmocka_run_group_tests_name("native-unpriv", tests, NULL, NULL);
	sb_native_shutdown();
	return rc;
}
