/* The native driver's stats read as the live sampler uses it: the files kept open from a box's
 * first read must give fresh figures on every later read, be the new box's after a restart, be
 * closed by destroy, and stay within the descriptor budget (past it a box is read by path, with
 * the same figures). Root only; SKIPs with the reason otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box_util.h"
#include "core/cgfs.h"
#include "core/clock.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "native/native.h"
#include "native/native_int.h"

extern const struct sb_driver sb_driver_native;
static const struct sb_driver *drv = &sb_driver_native;
static char tmpdir[64], rootfs[128];
static char skip_reason[300];
static struct sb_probe probe;

#define NEED_NATIVE() NEED_NATIVE_OR_SKIP(skip_reason)

static int make_rootfs(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sbn-stats-XXXXXX");
	static const char *const dirs[] = {"/bin", "/proc", "/dev", "/tmp", "/etc", "/root", NULL};
	static const char *const applets[] = {"sh", "true", "sleep", "dd", "setsid", NULL};
	return nt_make_rootfs(tmpdir, sizeof(tmpdir), rootfs, sizeof(rootfs), dirs, applets);
}

static int group_setup(void **state)
{
	if (geteuid() != 0) {
		snprintf(skip_reason, sizeof(skip_reason), "not root: the native driver needs root");
		return 0;
	}
	drv->probe(NULL, &probe);
	if (!probe.usable)
		snprintf(skip_reason, sizeof(skip_reason), "native driver unusable here: %s", probe.reason);
	else if (make_rootfs() < 0)
		snprintf(skip_reason, sizeof(skip_reason), "cannot build the test rootfs from /bin/busybox");
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int group_teardown(void **state)
{
	sb_native_shutdown();
	if (tmpdir[0])
		sb_rm_rf(tmpdir);
	return 0;
}

static struct sb_box *mkbox(const char *name, const char *params, struct sb_params *p)
{
	memset(p, 0, sizeof(*p));
	struct sb_error e = {0};
	assert_int_equal(sb_params_add_kv(p, params, &e), 0);
	struct sb_box_spec spec = {.name = name, .rootfs = rootfs, .params = p};
	struct sb_box *b = NULL;
	int rc = drv->box_create(&spec, &b, sb_deadline_after(20), &e);
	if (rc != 0)
		fprintf(stderr, "create %s: %s\n", name, e.msg);
	assert_int_equal(rc, 0);
	return b;
}

static void sample(struct sb_box *b, struct sb_box_stats *st)
{
	struct sb_error e = {0};
	int rc = sb_drv_stats_ex(drv, b, SB_STATS_NO_PSS, st, &e);
	if (rc)
		fprintf(stderr, "stats: %s\n", e.msg);
	assert_int_equal(rc, 0);
}

static int fds(void)
{
	return sb_proc_fd_count(getpid());
}

/* Our descriptors of cgroup, /proc and /sys files: what the stats read keeps (the test and the
 * rest of the driver hold none between calls). */
static int kept(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char link[300], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		ssize_t r = readlink(link, target, sizeof(target) - 1);
		if (r <= 0)
			continue;
		target[r] = '\0';
		n += strncmp(target, "/sys/", 5) == 0 || strncmp(target, "/proc/", 6) == 0;
	}
	closedir(d);
	return n - 1; /* the directory being listed */
}

static bool has_cgroups(const struct sb_box *b)
{
	for (int c = 0; c < SBN_CTRL_N; c++)
		if (b->cg.dir[c][0])
			return true;
	return false;
}

/* One box through the sampler's reads: idle, busy, restarted, destroyed. */
static void kept_files(const char *params)
{
	assert_int_equal(kept(), 0);
	struct sb_params p;
	struct sb_box *b = mkbox("stats-kept", params, &p);
	bool cg = has_cgroups(b);
	int fds_box = fds();
	struct sb_box_stats s1, s2, s3, ref;
	sample(b, &s1);
	int fds_kept = fds();
	fprintf(stderr, "%s idle: cpu_ns=%llu mem=%llu rss=%llu pids=%llu; fds %d -> %d after the first read, %d kept\n",
		params, (unsigned long long)s1.cpu_ns, (unsigned long long)s1.mem_bytes, (unsigned long long)s1.rss_bytes,
		(unsigned long long)s1.pids, fds_box, fds_kept, kept());
	assert_int_equal(s1.pids, 1); /* init alone */
	assert_true(s1.rss_bytes > 0);
	assert_true(fds_kept > fds_box);
	assert_int_equal(kept(), fds_kept - fds_box);
	assert_true(kept() <= 9); /* bounded per box */
	sample(b, &s1);
	assert_int_equal(fds(), fds_kept); /* kept, not opened again */
	/* Work that leaves two processes behind (an orphan re-parented to init, and its child) and
	 * 8 MiB in the box's tmpfs: every figure must move on the kept files. */
	assert_int_equal(nt_run(b, NULL, NULL, "/bin/sh", "-c",
				"i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; dd if=/dev/zero of=/tmp/f bs=1M "
				"count=8 2>/dev/null; setsid sh -c 'sleep 30 & wait' </dev/null >/dev/null 2>&1 & sleep 0.3",
				NULL),
			 0);
	usleep(100000);
	sample(b, &s2);
	fprintf(stderr, "%s busy: cpu_ns=%llu mem=%llu peak=%llu rss=%llu pids=%llu\n", params,
		(unsigned long long)s2.cpu_ns, (unsigned long long)s2.mem_bytes, (unsigned long long)s2.mem_peak_bytes,
		(unsigned long long)s2.rss_bytes, (unsigned long long)s2.pids);
	assert_int_equal(s2.pids, 3);
	assert_true(s2.cpu_ns > s1.cpu_ns);
	assert_true(s2.rss_bytes > s1.rss_bytes);
	if (cg) {
		assert_true(s2.mem_bytes >= s1.mem_bytes + (4u << 20));
		assert_true(s2.mem_peak_bytes >= s2.mem_bytes);
		/* The same figures by path. */
		memset(&ref, 0, sizeof(ref));
		sbn_cg_stats(&b->cg, &ref);
		assert_int_equal(ref.pids, s2.pids);
		assert_int_equal(ref.mem_limit_bytes, s2.mem_limit_bytes);
		assert_true(ref.cpu_ns >= s2.cpu_ns);
		assert_true(ref.mem_peak_bytes >= s2.mem_peak_bytes);
	}
	/* Restarted: a new init (and a new cgroup), read from its own files. */
	struct sb_error e = {0};
	pid_t old_init = b->init_pid;
	assert_int_equal(drv->box_stop(b, sb_deadline_after(10), &e), 0);
	assert_int_equal(drv->box_start(b, sb_deadline_after(20), &e), 0);
	assert_true(b->init_pid != old_init);
	sample(b, &s3);
	fprintf(stderr, "%s restarted: cpu_ns=%llu mem=%llu pids=%llu\n", params, (unsigned long long)s3.cpu_ns,
		(unsigned long long)s3.mem_bytes, (unsigned long long)s3.pids);
	assert_int_equal(s3.pids, 1);
	if (cg)
		assert_true(s3.cpu_ns < s2.cpu_ns);
	nt_rmbox(b, &p);
	/* Destroy closed the kept files. */
	fprintf(stderr, "%s destroyed: fds %d, %d of them kept by stats\n", params, fds(), kept());
	assert_int_equal(kept(), 0);
}

static void test_kept_files(void **state)
{
	NEED_NATIVE();
	kept_files("cgroups=auto");
	if (!(probe.caps & SB_CAP_STATS)) {
		fprintf(stderr, "cgroups=1 left out: no usable accounting cgroup here (%s)\n", probe.reason);
		return;
	}
	kept_files("cgroups=1");
}

/* Past the descriptor budget (a quarter of RLIMIT_NOFILE), a box is read by path: nothing kept,
 * the same figures. In a child, so the low limit is its own. */
static void test_fd_budget(void **state)
{
	NEED_NATIVE();
	if (!(probe.caps & SB_CAP_STATS)) {
		fprintf(stderr, "SKIP: no usable accounting cgroup here (%s)\n", probe.reason);
		skip();
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* No cmocka assertion in here: a failure is the exit code. */
		struct sb_params pa = {0}, pb = {0};
		struct sb_error e = {0};
		struct sb_box *a = NULL, *b = NULL;
		if (sb_params_add_kv(&pa, "cgroups=1", &e) < 0 || sb_params_add_kv(&pb, "cgroups=1", &e) < 0)
			_exit(3);
		struct sb_box_spec spa = {.name = "stats-budget-a", .rootfs = rootfs, .params = &pa};
		struct sb_box_spec spb = {.name = "stats-budget-b", .rootfs = rootfs, .params = &pb};
		if (drv->box_create(&spa, &a, sb_deadline_after(20), &e) < 0 ||
		    drv->box_create(&spb, &b, sb_deadline_after(20), &e) < 0) {
			fprintf(stderr, "create: %s\n", e.msg);
			_exit(4);
		}
		/* Lowered once the boxes exist (making one needs descriptors above 64): a budget of
		 * 12, room for one box's files and not two. */
		struct rlimit rl;
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = 48;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(5);
		struct sb_box_stats sa, sb1, sb2;
		int f0 = kept();
		int rc = sb_drv_stats_ex(drv, a, SB_STATS_NO_PSS, &sa, &e);
		int f1 = kept();
		rc |= sb_drv_stats_ex(drv, b, SB_STATS_NO_PSS, &sb1, &e);
		int f2 = kept();
		rc |= sb_drv_stats_ex(drv, b, SB_STATS_NO_PSS, &sb2, &e);
		fprintf(stderr, "budget: kept fds %d -> %d (box a) -> %d (box b, read by path); b pids=%llu mem=%llu cpu_ns=%llu\n",
			f0, f1, f2, (unsigned long long)sb1.pids, (unsigned long long)sb1.mem_bytes,
			(unsigned long long)sb1.cpu_ns);
		int bad = 0;
		bad |= !(rc == 0) << 0;
		bad |= !(f0 == 0 && f1 > f0 && f2 == f1 && kept() == f1) << 1;
		bad |= !(sb1.pids == 1 && sb1.mem_bytes > 0 && sb1.cpu_ns > 0 && sb1.rss_bytes > 0) << 2;
		bad |= !(sa.pids == 1 && sa.mem_bytes > 0) << 3;
		bad |= !(sb2.cpu_ns >= sb1.cpu_ns) << 4;
		drv->box_destroy(a, sb_deadline_after(10), &e);
		drv->box_destroy(b, sb_deadline_after(10), &e);
		bad |= !(kept() == 0) << 5;
		sb_native_shutdown();
		_exit(bad ? 10 + bad : 0);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		;
	fprintf(stderr, "budget child: exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_budget),
		cmocka_unit_test(test_kept_files),
	};
	return cmocka_run_group_tests_name("native-stats", tests, group_setup, group_teardown);
}
