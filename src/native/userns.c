/* The unprivileged variant of the native sandbox: when sandbench does not run as root, a box gets
 * its own user namespace first (the caller's uid and gid mapped to 0 inside), then the other
 * namespaces as usual, owned by that user namespace. What differs from the root path lives here:
 * where the run directory is, writing the id maps from the parent, and the probe's real attempt.
 * See docs/native.md, "Unprivileged". */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "native/native_int.h"

bool sbn_unpriv(void)
{
	static int cached = -1;
	if (cached < 0)
		cached = geteuid() != 0;
	return cached == 1;
}

const char *sbn_run_dir(void)
{
	static char dir[PATH_MAX];
	if (!sbn_unpriv())
		return SBN_RUN_DIR;
	if (dir[0])
		return dir;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (access("/run/sandbench", W_OK | X_OK) == 0)
		snprintf(dir, sizeof(dir), "%s", SBN_RUN_DIR);
	else if (xdg && xdg[0] == '/' && strlen(xdg) < PATH_MAX - 32 && !strpbrk(xdg, ",:"))
		snprintf(dir, sizeof(dir), "%s/sandbench/native", xdg);
	else
		snprintf(dir, sizeof(dir), "/tmp/sandbench-%u/native", (unsigned)geteuid());
	return dir;
}

/* mkdir that accepts an existing directory only if it is ours and nobody else may write to it
 * (/tmp is shared: another user could have made the path first). */
static int own_dir(const char *p, mode_t mode)
{
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (lstat(p, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

int sbn_run_dir_make(struct sb_error *err)
{
	const char *dir = sbn_run_dir();
	if (!sbn_unpriv() || strcmp(dir, SBN_RUN_DIR) == 0) {
		if (sb_mkdir_p(dir, 0700) < 0)
			return sb_error_set(err, errno, "mkdir %s: %s", dir, strerror(errno));
		return 0;
	}
	/* <base>/sandbench, then <base>/sandbench/native, both checked. */
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (slash)
		*slash = '\0';
	int rc = own_dir(parent, 0700);
	if (rc == 0)
		rc = own_dir(dir, 0700);
	if (rc < 0)
		return sb_error_set(err, -rc, "run directory %s: %s%s", dir, strerror(-rc),
				    rc == -EPERM ? " (exists but is not a private directory of this user)" : "");
	return 0;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	if (w != (ssize_t)strlen(s))
		return w < 0 ? -e : -EIO;
	return 0;
}

int sbn_userns_map(pid_t pid, char *why, size_t wlen)
{
	/* An unprivileged writer must deny setgroups before it may write gid_map, and may map only
	 * its own ids, one line each. */
	char path[64], map[64];
	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
	int rc = write_str(path, "deny");
	if (rc == 0) {
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)geteuid());
		rc = write_str(path, map);
	}
	if (rc == 0) {
		snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)getegid());
		rc = write_str(path, map);
	}
	if (rc < 0)
		snprintf(why, wlen, "writing %s: %s", path, strerror(-rc));
	return rc;
}

/* Probe child: the steps a box takes that could be refused here, each named on failure. */
static _Noreturn void probe_child(int rd, int wr)
{
	char c, msg[200] = "";
	if (read(rd, &c, 1) != 1)
		_exit(1);
	const char *dir = sbn_run_dir();
	int step = 0;
	if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP) < 0)
		step = 1;
	else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		step = 2;
	else if (mount("sbn-probe", dir, "tmpfs", MS_NOSUID, "mode=0700") < 0)
		step = 3;
	if (step == 0) {
		char p[PATH_MAX + 8];
		snprintf(p, sizeof(p), "%s/p", dir);
		if (mkdir(p, 0755) < 0)
			step = 4;
		else if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
			step = 5;
	}
	/* overlayfs in a user namespace (kernel >= 5.11): not fatal, boxes fall back to tmpfs mode. */
	char ov = 'n';
	if (step == 0) {
		char p[4][PATH_MAX + 8], opts[3 * PATH_MAX + 64];
		static const char *const sub[] = {"l", "u", "w", "o"};
		bool ok = true;
		for (int i = 0; i < 4; i++) {
			snprintf(p[i], sizeof(p[i]), "%s/%s", dir, sub[i]);
			ok &= mkdir(p[i], 0755) == 0;
		}
		snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", p[0], p[1], p[2]);
		if (ok && mount("sbn-probe-ov", p[3], "overlay", MS_NOSUID, opts) == 0)
			ov = 'y';
	}
	static const char *const what[] = {"", "unshare mount, uts, ipc, net, cgroup namespaces in it",
					   "making / private in it", "mounting a tmpfs in it",
					   "mkdir on that tmpfs (id maps not applied?)", "mounting a fresh /proc in it"};
	/* One write: the overlay answer, then the reason (the parent reads once). */
	msg[0] = ov;
	if (step)
		snprintf(msg + 1, sizeof(msg) - 1, "user namespace made, but %s failed: %s", what[step], strerror(errno));
	if (write(wr, msg, strlen(msg) + 1) < 0)
		_exit(1);
	_exit(step ? 1 : 0);
}

static int probe_once(char *why, size_t len, bool *overlay)
{
	struct sb_error e = {0};
	if (sbn_run_dir_make(&e) < 0) {
		snprintf(why, len, "%s", e.msg);
		return -e.code;
	}
	int go[2], back[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(back, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	struct clone_args ca;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_NEWUSER | CLONE_NEWPID;
	ca.exit_signal = SIGCHLD;
	pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		close(go[1]);
		close(back[0]);
		probe_child(go[0], back[1]);
	}
	int rc = 0;
	close(go[0]);
	close(back[1]);
	if (pid < 0) {
		rc = -errno;
		FILE *f = fopen("/proc/sys/user/max_user_namespaces", "re");
		int max = -1;
		if (f) {
			if (fscanf(f, "%d", &max) != 1)
				max = -1;
			fclose(f);
		}
		snprintf(why, len, "cannot create a user namespace (clone3 CLONE_NEWUSER|CLONE_NEWPID): %s%s",
			 strerror(-rc), max == 0 ? " (user.max_user_namespaces is 0)" : "");
		close(go[1]);
		close(back[0]);
		return rc;
	}
	rc = sbn_userns_map(pid, why, len);
	char msg[256] = "";
	if (rc == 0 && write(go[1], "g", 1) == 1) {
		ssize_t n = read(back[0], msg, sizeof(msg) - 1);
		msg[n > 0 ? n : 0] = '\0';
		*overlay = n > 0 && msg[0] == 'y';
		if (n > 0)
			memmove(msg, msg + 1, (size_t)n);
	}
	close(go[1]);
	close(back[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (rc < 0)
		return rc;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(why, len, "%s", msg[0] ? msg : "the user-namespace probe child died");
		return -EPERM;
	}
	return 0;
}

int sbn_userns_probe(char *why, size_t len, bool *overlay)
{
	static int rc = 1;
	static bool ov;
	static char reason[256];
	if (rc > 0)
		rc = probe_once(reason, sizeof(reason), &ov);
	snprintf(why, len, "%s", reason);
	*overlay = ov;
	return rc;
}
