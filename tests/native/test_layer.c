/* The native driver's writable layer on a host disk (layer=disk), through its vtable as root: what
 * a box writes to its root lands in its layer directory on the host's disk (not on a tmpfs) and
 * box_inspect says which filesystem that is; destroy removes the directory; a warm reset swaps in
 * a new generation and removes the old one; a SIGKILLed owner leaves a directory doctor lists and
 * removes; layer=disk with rootfs_mode=tmpfs is refused before anything starts.
 * Not root, or no namespaces or overlayfs here: every test SKIPs with the reason. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/util.h"
#include "native/native.h"
#include "native/native_int.h"
#include "box_util.h"

extern const struct sb_driver sb_driver_native;
static const struct sb_driver *drv = &sb_driver_native;
static char tmpdir[64], rootfs[128], skip_reason[300];
static struct sb_probe probe;

#define NEED_NATIVE() NEED_NATIVE_OR_SKIP(skip_reason)

static int make_rootfs(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sbn-layer-XXXXXX");
	static const char *const dirs[] = {"/bin", "/proc", "/dev", "/tmp", "/root", NULL};
	static const char *const applets[] = {"sh", "true", "echo", "cat", "ls", "sync", NULL};
	return nt_make_rootfs(tmpdir, sizeof(tmpdir), rootfs, sizeof(rootfs), dirs, applets);
}

static int group_setup(void **state)
{
	if (geteuid() != 0) {
		snprintf(skip_reason, sizeof(skip_reason), "not root: the native driver's warm path needs root");
		return 0;
	}
	drv->probe(NULL, &probe);
	if (!probe.usable || !(probe.caps & SB_CAP_CLONE))
		snprintf(skip_reason, sizeof(skip_reason), "native driver unusable or without overlayfs here: %s",
			 probe.reason);
	else if (make_rootfs() < 0)
		snprintf(skip_reason, sizeof(skip_reason), "cannot build the test rootfs (no /bin/busybox?)");
	return 0;
}

static int group_teardown(void **state)
{
	sb_native_shutdown();
	if (tmpdir[0])
		sb_rm_rf(tmpdir);
	return 0;
}

static struct sb_box *mkbox_spec(const char *const *kv, struct sb_params *p, bool root_on_disk)
{
	memset(p, 0, sizeof(*p));
	struct sb_error e = {0};
	for (size_t i = 0; kv[i]; i++)
		assert_int_equal(sb_params_add_kv(p, kv[i], &e), 0);
	struct sb_box_spec spec = {.name = "layer", .rootfs = rootfs, .params = p, .root_on_disk = root_on_disk};
	struct sb_box *b = NULL;
	int rc = drv->box_create(&spec, &b, sb_deadline_after(20), &e);
	if (rc != 0)
		fprintf(stderr, "create: %s\n", e.msg);
	assert_int_equal(rc, 0);
	return b;
}

static struct sb_box *mkbox(const char *const *kv, struct sb_params *p)
{
	return mkbox_spec(kv, p, false);
}

/* What /var/tmp (the layers' base) lies on, as box_inspect names it. */
static void host_fs(char *out, size_t len)
{
	int fd = open("/var/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	sbn_fs_name(fd, out, len);
	if (fd >= 0)
		close(fd);
}

/* Entries of the box's layer directory (its generations); -1 when it does not exist. */
static int generations(const char *id, char *last, size_t len)
{
	char p[PATH_MAX];
	assert_int_equal(sbn_layer_dir(id, -1, p, sizeof(p)), 0);
	DIR *d = opendir(p);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			n++;
			if (last)
				snprintf(last, len, "%s", de->d_name);
		}
	closedir(d);
	return n;
}

static void test_cold(void **state)
{
	NEED_NATIVE();
	char want[32], id[40], p[PATH_MAX];
	host_fs(want, sizeof(want));
	const char *kv[] = {"layer=disk", NULL};
	struct sb_params prm;
	struct sb_box *b = mkbox(kv, &prm);
	snprintf(id, sizeof(id), "%s", b->id);
	struct sb_box_info info;
	struct sb_error e = {0};
	memset(&info, 0, sizeof(info));
	assert_int_equal(drv->box_inspect(b, &info, sb_deadline_after(5), &e), 0);
	fprintf(stderr, "layer on %s (/var/tmp: %s)\n", info.layer_fs, want);
	assert_string_equal(info.layer_fs, want);
	/* The file a command writes to the box's root is a file of the host's disk. */
	assert_int_equal(nt_run(b, NULL, NULL, "/bin/sh", "-c", "echo on-disk > /root/f && sync", NULL), 0);
	assert_int_equal(sbn_layer_dir(id, 0, p, sizeof(p)), 0);
	strcat(p, "/upper/root/f");
	char line[64] = "";
	assert_int_equal(sb_read_line(p, line, sizeof(line)), 0);
	assert_string_equal(line, "on-disk");
	nt_rmbox(b, &prm);
	sb_native_shutdown(); /* the deferred reap removes it: wait for that */
	assert_int_equal(generations(id, NULL, 0), -1);
	/* layer=auto (the default): a tmpfs, unless the scenario measures the box's filesystem. */
	const char *dflt[] = {"warm=0", NULL};
	for (int disk = 0; disk < 2; disk++) {
		b = mkbox_spec(dflt, &prm, disk);
		memset(&info, 0, sizeof(info));
		assert_int_equal(drv->box_inspect(b, &info, sb_deadline_after(5), &e), 0);
		assert_string_equal(info.layer_fs, disk ? want : "tmpfs");
		assert_int_equal(generations(b->id, NULL, 0), disk ? 1 : -1);
		nt_rmbox(b, &prm);
	}
}

static void test_warm_reset(void **state)
{
	NEED_NATIVE();
	sb_native_shutdown();
	const char *kv[] = {"layer=disk", "warm=1", "warm_pool=1", NULL};
	struct sb_params prm;
	struct sb_box *b = mkbox(kv, &prm);
	char id[40], gen[16] = "";
	snprintf(id, sizeof(id), "%s", b->id);
	assert_int_equal(nt_run(b, NULL, NULL, "/bin/sh", "-c", "echo x > /root/left", NULL), 0);
	nt_rmbox(b, &prm);
	/* The same box back (pool of one), reset: the file is gone, and so is the layer it was in. */
	bool reused = false;
	for (int i = 0; i < 6 && !reused; i++) {
		b = mkbox(kv, &prm);
		reused = strcmp(b->id, id) == 0;
		char *out = NULL;
		assert_int_equal(nt_run(b, &out, NULL, "/bin/sh", "-c", "ls /root", NULL), 0);
		assert_string_equal(out, "");
		free(out);
		if (reused) {
			assert_int_equal(generations(id, gen, sizeof(gen)), 1);
			assert_string_not_equal(gen, "0");
		}
		nt_rmbox(b, &prm);
	}
	assert_true(reused);
	sb_native_shutdown();
	assert_int_equal(generations(id, NULL, 0), -1);
}

/* A sandbench killed with SIGKILL leaves the layer directory and its marker; doctor --clean
 * removes both. */
static void test_doctor(void **state)
{
	NEED_NATIVE();
	int pp[2];
	assert_int_equal(pipe(pp), 0);
	pid_t child = fork();
	if (child == 0) {
		close(pp[0]);
		const char *kv[] = {"layer=disk", NULL};
		struct sb_params prm;
		struct sb_box *b = mkbox(kv, &prm);
		if (write(pp[1], b->id, strlen(b->id) + 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pp[1]);
	char id[40] = "";
	assert_true(read(pp[0], id, sizeof(id)) > 0);
	close(pp[0]);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_true(generations(id, NULL, 0) >= 1);
	struct sb_native_leftover lo[64];
	size_t n = 0;
	struct sb_error e = {0};
	bool listed = false;
	assert_int_equal(sb_native_leftovers(lo, 64, &n, &e), 0);
	for (size_t i = 0; i < n && i < 64; i++)
		if (lo[i].owner == child) {
			fprintf(stderr, "leftover %s: %s\n", lo[i].marker, lo[i].what);
			listed = strstr(lo[i].what, "layer ") != NULL;
		}
	assert_true(listed);
	size_t cleaned = 0;
	assert_int_equal(sb_native_clean_leftovers(&cleaned, &e), 0);
	assert_int_equal(generations(id, NULL, 0), -1);
	/* A directory whose marker is gone too (a reboot cleared /run): still found, still removed. */
	char p[PATH_MAX];
	assert_int_equal(sbn_layer_dir("0-0-dead", 0, p, sizeof(p)), 0);
	assert_int_equal(sb_mkdir_p(p, 0700), 0);
	assert_int_equal(sb_native_leftovers(lo, 64, &n, &e), 0);
	listed = false;
	for (size_t i = 0; i < n && i < 64; i++)
		listed |= strstr(lo[i].what, "0-0-dead (no marker)") != NULL;
	assert_true(listed);
	assert_int_equal(sb_native_clean_leftovers(&cleaned, &e), 0);
	assert_int_equal(generations("0-0-dead", NULL, 0), -1);
}

static void test_refused(void **state)
{
	NEED_NATIVE();
	struct sb_params prm;
	memset(&prm, 0, sizeof(prm));
	struct sb_error e = {0};
	assert_int_equal(sb_params_add_kv(&prm, "layer=disk", &e), 0);
	assert_int_equal(sb_params_add_kv(&prm, "rootfs_mode=tmpfs", &e), 0);
	assert_int_not_equal(sb_drv_check_params(drv, &prm, &e), 0);
	assert_non_null(strstr(e.msg, "layer=disk needs rootfs_mode=overlay"));
	sb_params_free(&prm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cold),
		cmocka_unit_test(test_warm_reset),
		cmocka_unit_test(test_doctor),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests_name("native-layer", tests, group_setup, group_teardown);
}
