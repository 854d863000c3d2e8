/* Shared code of the engine and jail drivers (lxc, firejail, podman, docker, containerd); see
 * engine.h. The docker-compatible engine is in engine_dk.c. */
#include "drivers/engine.h"

#include "core/cgfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/util.h"
#include "drivers/runtime_util.h"
#include "image/image.h"

/* ---- owners ---- */

const char *sb_eng_owner(void)
{
	static char buf[48];
	static pid_t for_pid;
	/* recomputed after a fork: a child must not claim its parent's identity */
	if (for_pid != getpid()) {
		for_pid = getpid();
		snprintf(buf, sizeof(buf), "%d.%llu", (int)for_pid, sb_rt_proc_start(for_pid));
	}
	return buf;
}

bool sb_eng_owner_alive(const char *owner)
{
	int pid;
	unsigned long long start;
	if (!owner || sscanf(owner, "%d.%llu", &pid, &start) != 2 || pid <= 0)
		return false;
	return sb_rt_proc_alive(pid, start);
}

/* ---- rootfs identity, tars ---- */

static int hash_file(const char *path, uint64_t *h)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[65536];
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		*h = sb_fnv1a64(buf, (size_t)r, *h);
	int e = r < 0 ? -errno : 0;
	close(fd);
	return e;
}

static int hash_tree(const char *root, const char *rel, uint64_t *h, struct sb_error *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s%s%s", root, rel[0] ? "/" : "", rel);
	struct dirent **names;
	/* sorted, so the hash does not depend on directory order */
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return sb_error_set(err, errno, "cannot read %s: %s", dir, strerror(errno));
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		if (rc == 0 && strcmp(nm, ".") && strcmp(nm, "..")) {
			char r2[PATH_MAX], full[PATH_MAX];
			snprintf(r2, sizeof(r2), "%s%s%s", rel, rel[0] ? "/" : "", nm);
			snprintf(full, sizeof(full), "%s/%s", root, r2);
			struct stat st;
			if (lstat(full, &st) < 0) {
				rc = sb_error_set(err, errno, "cannot stat %s: %s", full, strerror(errno));
			} else {
				*h = sb_fnv1a64(r2, strlen(r2) + 1, *h);
				uint32_t mode = (uint32_t)st.st_mode;
				*h = sb_fnv1a64(&mode, sizeof(mode), *h);
				if (S_ISLNK(st.st_mode)) {
					char t[PATH_MAX];
					ssize_t k = readlink(full, t, sizeof(t));
					if (k > 0)
						*h = sb_fnv1a64(t, (size_t)k, *h);
				} else if (S_ISREG(st.st_mode) && hash_file(full, h) < 0) {
					rc = sb_error_set(err, errno, "cannot read %s: %s", full, strerror(errno));
				} else if (S_ISDIR(st.st_mode)) {
					rc = hash_tree(root, r2, h, err);
				}
			}
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int sb_eng_rootfs_hash(const char *rootfs, char out[17], struct sb_error *err)
{
	static char cached_for[PATH_MAX], cached[17];
	if (!rootfs || !rootfs[0])
		return sb_error_set(err, EINVAL, "no rootfs given (sandbench image build makes one)");
	if (cached[0] && strcmp(cached_for, rootfs) == 0) {
		memcpy(out, cached, 17);
		return 0;
	}
	const char *base = strrchr(rootfs, '/');
	base = base ? base + 1 : rootfs;
	char marker[PATH_MAX];
	snprintf(marker, sizeof(marker), "%s/%s", rootfs, SB_IMAGE_MARKER);
	if (strncmp(base, "rootfs-", 7) == 0 && strlen(base + 7) == 16 &&
	    strspn(base + 7, "0123456789abcdef") == 16 && access(marker, F_OK) == 0) {
		/* the image builder already named the tree by its inputs: no need to read 3 MB again */
		memcpy(out, base + 7, 17);
	} else {
		uint64_t h = 0xcbf29ce484222325ULL;
		int rc = hash_tree(rootfs, "", &h, err);
		if (rc < 0)
			return rc;
		snprintf(out, 17, "%016llx", (unsigned long long)h);
	}
	snprintf(cached_for, sizeof(cached_for), "%s", rootfs);
	memcpy(cached, out, 17);
	return 0;
}

int sb_eng_tar(const char *dir, const char *path, int64_t deadline_ns, struct sb_error *err)
{
	const char *argv[] = {"tar", "--numeric-owner", "-C", dir, "-cf", path, ".", NULL};
	return sb_rt_run(argv, deadline_ns, NULL, err);
}

int sb_eng_tmpdir(char *out, size_t len, struct sb_error *err)
{
	snprintf(out, len, "/var/tmp/sandbench-img-XXXXXX");
	if (!mkdtemp(out))
		return sb_error_set(err, errno, "mkdtemp %s: %s", out, strerror(errno));
	return 0;
}

/* Trial rootfses of earlier agent builds: removed once nobody can still be probing with them. */
static void prune_probe_roots(const char *keep)
{
	DIR *d = opendir("/run/sandbench/probe");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "/run/sandbench/probe/%s", de->d_name);
		if (strncmp(de->d_name, "rootfs-", 7) == 0 && strcmp(path, keep) != 0 &&
		    stat(path, &st) == 0 && time(NULL) - st.st_mtime > 600)
			sb_rm_rf(path);
	}
	closedir(d);
}

int sb_eng_probe_rootfs(char *out, size_t len, char *reason, size_t rlen)
{
	char agent[PATH_MAX];
	struct sb_error err = {0};
	if (sb_find_agent(agent, sizeof(agent), &err) < 0) {
		snprintf(reason, rlen, "no trial possible: %s", err.msg);
		return -ENOENT;
	}
	uint64_t h = 0xcbf29ce484222325ULL;
	if (hash_file(agent, &h) < 0) {
		snprintf(reason, rlen, "cannot read %s", agent);
		return -EIO;
	}
	snprintf(out, len, "/run/sandbench/probe/rootfs-%016llx", (unsigned long long)h);
	char check[PATH_MAX + 32];
	snprintf(check, sizeof(check), "%s/sandbench-agent", out);
	if (access(check, X_OK) == 0)
		return 0;
	prune_probe_roots(out);
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", out, (int)getpid());
	/* jails insist on these mount points existing (firejail: /var/tmp, lxc: /proc /sys /dev) */
	static const char *const dirs[] = {"bin", "dev", "etc", "proc", "sys", "tmp", "run", "var/tmp",
					   "root", NULL};
	int rc = sb_mkdir_p(tmp, 0755);
	for (size_t i = 0; rc == 0 && dirs[i]; i++) {
		char d[PATH_MAX + 64];
		snprintf(d, sizeof(d), "%s/%s", tmp, dirs[i]);
		rc = sb_mkdir_p(d, 0755);
	}
	char dst[PATH_MAX + 64];
	snprintf(dst, sizeof(dst), "%s/sandbench-agent", tmp);
	const char *cp[] = {"cp", agent, dst, NULL};
	if (rc == 0 && sb_rt_run(cp, sb_deadline_after(30), NULL, &err) < 0)
		rc = -EIO;
	if (rc == 0 && rename(tmp, out) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		rc = -errno;
	sb_rm_rf(tmp); /* a concurrent probe won the rename: ours is surplus */
	if (rc < 0)
		snprintf(reason, rlen, "cannot make the trial rootfs %s: %s", out,
			 err.msg[0] ? err.msg : strerror(-rc));
	return rc;
}

int sb_eng_cgroup_stats(pid_t init_pid, const char *key, struct sb_box_stats *out,
			struct sb_error *err)
{
	char dirs[8192];
	if (init_pid <= 0 || sb_rt_cgroup_dirs(init_pid, key, dirs, sizeof(dirs)) < 0 || !dirs[0])
		return sb_error_set(err, ENOENT, "no cgroup found for %s (pid %d)", key, (int)init_pid);
	if (sb_rt_cgroup_stats(dirs, out) < 0)
		return sb_error_set(err, ENOENT, "no readable accounting in the cgroups of %s", key);
	return 0;
}

int sb_eng_cgroup_pids(pid_t init_pid, const char *key, pid_t *pids, size_t cap, size_t *n,
		       struct sb_error *err)
{
	char dirs[8192];
	if (init_pid <= 0 || sb_rt_cgroup_dirs(init_pid, key, dirs, sizeof(dirs)) < 0 || !dirs[0] ||
	    sb_rt_cgroup_pids(dirs, pids, cap, n) < 0)
		return sb_error_set(err, ENOENT, "no cgroup found for %s (pid %d)", key, (int)init_pid);
	return 0;
}

int sb_eng_run_teardown(const char *const *argv, int64_t deadline_ns, struct sb_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return sb_error_set(err, errno, "pipe: %s", strerror(errno));
	pid_t pid;
	int rc = sb_rt_spawn(argv, NULL, -1, -1, p[1], -1, &pid, err);
	close(p[1]);
	if (rc < 0) {
		close(p[0]);
		return rc;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	char text[2048];
	size_t len = 0;
	int status = 0;
	for (;;) {
		ssize_t r = read(p[0], text + len, sizeof(text) - 1 - len);
		if (r > 0)
			len += (size_t)r;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (sb_deadline_passed(deadline_ns)) {
			sb_proc_kill_group(pid);
			close(p[0]);
			return sb_error_set(err, ETIMEDOUT, "%s %s timed out", argv[0], argv[1] ? argv[1] : "");
		}
		usleep(1000);
	}
	ssize_t r;
	while (len < sizeof(text) - 1 && (r = read(p[0], text + len, sizeof(text) - 1 - len)) > 0)
		len += (size_t)r;
	close(p[0]);
	text[len] = '\0';
	kill(-pid, SIGKILL); /* whatever it left in its group */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	char first[300];
	sb_rt_first_error(text, first, sizeof(first));
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	return sb_error_set(err, EIO, "%s %s exited %d%s%s", base, argv[1] ? argv[1] : "",
			    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			    first[0] ? ": " : "", first);
}

void sb_eng_reap_ns_zombies(void)
{
	pid_t self = getpid();
	char tdir[64];
	snprintf(tdir, sizeof(tdir), "/proc/%d/task", (int)self);
	DIR *d = opendir(tdir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[128];
		snprintf(path, sizeof(path), "%s/%s/children", tdir, de->d_name);
		FILE *f = fopen(path, "re");
		long c;
		while (f && fscanf(f, "%ld", &c) == 1) {
			char st[64], line[256];
			snprintf(st, sizeof(st), "/proc/%ld/status", c);
			FILE *s = fopen(st, "re");
			bool zombie = false, nested = false;
			while (s && fgets(line, sizeof(line), s)) {
				if (strncmp(line, "State:", 6) == 0)
					zombie = strchr(line, 'Z') != NULL;
				/* "NSpid: host-pid ns-pid": a second number means a nested namespace */
				if (strncmp(line, "NSpid:", 6) == 0)
					nested = strchr(line + 7, '\t') || strchr(line + 7, ' ');
			}
			if (s)
				fclose(s);
			if (zombie && nested)
				waitpid((pid_t)c, NULL, WNOHANG);
		}
		if (f)
			fclose(f);
	}
	closedir(d);
}

int sb_eng_release_launcher(int *hold_fd, pid_t *pid, int64_t deadline_ns, const char *what,
			    struct sb_error *err)
{
	if (*hold_fd >= 0)
		close(*hold_fd);
	*hold_fd = -1;
	if (*pid > 0 && sb_eng_wait_child(*pid, deadline_ns) < 0)
		return sb_error_set(err, ETIMEDOUT, "%s did not stop", what);
	*pid = 0;
	return 0;
}

int sb_eng_wait_child(pid_t pid, int64_t deadline_ns)
{
	for (unsigned i = 0;; i++) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return 0;
		if (sb_deadline_passed(deadline_ns))
			return -ETIMEDOUT;
		if (i % 8 == 0)
			sb_eng_reap_ns_zombies();
		usleep(500);
	}
}

/* ---- daemons ---- */

static const char *const containerd_argv[] = {"containerd", NULL};
const struct sb_eng_daemon sb_eng_containerd_daemon = {
	.name = "containerd",
	.argv = containerd_argv,
	.socket = "/run/containerd/containerd.sock",
};

bool sb_eng_socket_up(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return up;
}

static void last_log_line(const char *log, char *out, size_t len)
{
	out[0] = '\0';
	char *text = NULL;
	size_t n = 0;
	if (sb_read_file(log, &text, &n, NULL) < 0)
		return;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	char *line = strrchr(text, '\n');
	sb_rt_first_error(line ? line + 1 : text, out, len);
	free(text);
}

/* Double fork into a new session so the daemon is nobody's child here: it must outlive doctor, and
 * sandbench's end-of-run reaper kills every descendant it can see. */
static int spawn_daemon(const char *exe, const char *const *argv, int logfd, pid_t *out)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	int was_reaper = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &was_reaper, 0, 0, 0);
	if (was_reaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0); /* else the orphan is re-parented to us */
	pid_t mid = fork();
	if (mid == 0) {
		setsid();
		pid_t g = fork();
		if (g == 0) {
			int nul = open("/dev/null", O_RDWR);
			dup2(nul, 0);
			dup2(logfd, 1);
			dup2(logfd, 2);
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			signal(SIGINT, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGPIPE, SIG_DFL);
			/* an inherited pipe (a test harness's) must not stay open for the daemon's life */
			close_range(3, ~0U, 0);
			execv(exe, (char *const *)argv);
			_exit(127);
		}
		ssize_t w = write(p[1], &g, sizeof(g));
		_exit(g > 0 && w == sizeof(g) ? 0 : 1);
	}
	int e = mid < 0 ? -errno : 0;
	close(p[1]);
	pid_t g = -1;
	if (mid > 0) {
		while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
			;
		if (read(p[0], &g, sizeof(g)) != sizeof(g) || g <= 0)
			e = -ECHILD;
	}
	close(p[0]);
	if (was_reaper)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	*out = g;
	return e;
}

int sb_eng_daemon_start(const struct sb_eng_daemon *d, const char *by, const char *extra,
			double timeout_s, bool *started, struct sb_error *err)
{
	*started = false;
	if (sb_eng_socket_up(d->socket))
		return 0;
	char exe[PATH_MAX];
	if (sb_rt_which(d->argv[0], exe, sizeof(exe)) < 0)
		return sb_error_set(err, ENOENT, "%s is not installed", d->argv[0]);
	char log[PATH_MAX], rec[PATH_MAX], pidf[PATH_MAX];
	snprintf(log, sizeof(log), "%s/%s.log", SB_ENG_LOG_DIR, d->name);
	snprintf(rec, sizeof(rec), "%s/%s.record", SB_ENG_HOSTFIX_DIR, d->name);
	snprintf(pidf, sizeof(pidf), "%s/%s.pid", SB_ENG_HOSTFIX_DIR, d->name);
	if (sb_mkdir_p(SB_ENG_LOG_DIR, 0755) < 0 || sb_mkdir_p(SB_ENG_HOSTFIX_DIR, 0755) < 0)
		return sb_error_set(err, errno, "cannot create %s or %s: %s", SB_ENG_LOG_DIR,
				    SB_ENG_HOSTFIX_DIR, strerror(errno));
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (logfd < 0)
		return sb_error_set(err, errno, "cannot open %s: %s", log, strerror(errno));
	pid_t pid = -1;
	int rc = spawn_daemon(exe, d->argv, logfd, &pid);
	close(logfd);
	if (rc < 0)
		return sb_error_set(err, -rc, "cannot start %s: %s", d->name, strerror(-rc));
	*started = true;
	unsigned long long start = sb_rt_proc_start(pid);
	char text[2048];
	snprintf(text, sizeof(text), "name=%s\npid=%d\nstart=%llu\nby=%s\nlog=%s\n%s", d->name, (int)pid,
		 start, by, log, extra ? extra : "");
	char pidtext[32];
	int pl = snprintf(pidtext, sizeof(pidtext), "%d\n", (int)pid);
	/* recorded before waiting, so a daemon that hangs on the way up can still be stopped */
	if (sb_write_file_atomic(rec, text, strlen(text), err) < 0 ||
	    sb_write_file_atomic(pidf, pidtext, (size_t)pl, err) < 0) {
		kill(pid, SIGTERM);
		return -err->code;
	}
	int64_t deadline = sb_deadline_after(timeout_s);
	while (!sb_eng_socket_up(d->socket)) {
		if (!sb_rt_proc_alive(pid, start)) {
			char last[300];
			last_log_line(log, last, sizeof(last));
			unlink(rec);
			unlink(pidf);
			return sb_error_set(err, EIO, "%s exited while starting (%s): %s", d->name, log,
					    last[0] ? last : "no log output");
		}
		if (sb_deadline_passed(deadline))
			return sb_error_set(err, ETIMEDOUT, "%s did not answer on %s within %gs (log: %s)",
					    d->name, d->socket, timeout_s, log);
		usleep(20000);
	}
	return 0;
}

char *sb_eng_daemon_record(const char *name)
{
	char rec[PATH_MAX];
	snprintf(rec, sizeof(rec), "%s/%s.record", SB_ENG_HOSTFIX_DIR, name);
	char *text = NULL;
	if (sb_read_file(rec, &text, NULL, NULL) < 0)
		return NULL;
	return text;
}

int sb_eng_daemon_stop(const char *name, double timeout_s, struct sb_error *err)
{
	char *text = sb_eng_daemon_record(name);
	if (!text)
		return 0;
	char pid_s[32] = "", start_s[32] = "";
	sb_rt_kv(text, "pid", pid_s, sizeof(pid_s));
	sb_rt_kv(text, "start", start_s, sizeof(start_s));
	free(text);
	pid_t pid = (pid_t)atoi(pid_s);
	unsigned long long start = strtoull(start_s, NULL, 10);
	/* pid + start time: never signal a process that merely inherited a recycled pid */
	if (pid > 0 && sb_rt_proc_alive(pid, start)) {
		kill(pid, SIGTERM);
		int64_t deadline = sb_deadline_after(timeout_s);
		while (sb_rt_proc_alive(pid, start) && !sb_deadline_passed(deadline))
			usleep(20000);
		if (sb_rt_proc_alive(pid, start)) {
			kill(pid, SIGKILL);
			deadline = sb_deadline_after(5);
			while (sb_rt_proc_alive(pid, start) && !sb_deadline_passed(deadline))
				usleep(20000);
			if (sb_rt_proc_alive(pid, start))
				return sb_error_set(err, EBUSY, "%s (pid %d) does not die", name, (int)pid);
		}
	}
	char rec[PATH_MAX], pidf[PATH_MAX];
	snprintf(rec, sizeof(rec), "%s/%s.record", SB_ENG_HOSTFIX_DIR, name);
	snprintf(pidf, sizeof(pidf), "%s/%s.pid", SB_ENG_HOSTFIX_DIR, name);
	unlink(rec);
	unlink(pidf);
	return 0;
}


/* The value following `flag` in a NUL-separated command line, "" when absent. */
static void cmdline_arg(const char *buf, size_t len, const char *flag, char *out, size_t olen)
{
	out[0] = '\0';
	for (const char *p = buf; p < buf + len; p += strlen(p) + 1) {
		const char *next = p + strlen(p) + 1;
		if (strcmp(p, flag) == 0 && next < buf + len) {
			snprintf(out, olen, "%s", next);
			return;
		}
	}
}

/* The -address and -namespace of a containerd shim, false when pid is not one. */
static bool shim_args(pid_t pid, char *addr, size_t alen, char *ns, size_t nlen)
{
	char comm[32];
	sb_proc_comm(pid, comm, sizeof(comm));
	if (strncmp(comm, "containerd-shim", 15) != 0)
		return false;
	char p[64], buf[4096];
	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (r <= 0)
		return false;
	buf[r] = '\0';
	cmdline_arg(buf, (size_t)r, "-address", addr, alen);
	cmdline_arg(buf, (size_t)r, "-namespace", ns, nlen);
	return addr[0] != '\0';
}

/* The process listening on a daemon's socket, remembered while it lives: finding it scans every
 * process's fds, and a thousand sandboxes ask about the same two daemons. */
static pid_t daemon_pid(const char *sock)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct {
		char sock[PATH_MAX];
		pid_t pid;
		unsigned long long start;
	} known[4];
	pthread_mutex_lock(&lock);
	pid_t pid = 0;
	size_t slot = 0;
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(known[i].sock, sock) == 0) {
			slot = i;
			if (sb_rt_proc_alive(known[i].pid, known[i].start))
				pid = known[i].pid;
			break;
		}
		if (!known[i].sock[0] || !sb_rt_proc_alive(known[i].pid, known[i].start))
			slot = i;
	}
	if (!pid && (pid = sb_proc_unix_listener(sock)) > 0) {
		snprintf(known[slot].sock, sizeof(known[slot].sock), "%s", sock);
		known[slot].pid = pid;
		known[slot].start = sb_rt_proc_start(pid);
	}
	pthread_mutex_unlock(&lock);
	return pid;
}

void sb_eng_shim_host_pids(pid_t init_pid, struct sb_host_proc *procs, size_t cap, size_t *n)
{
	pid_t shim = sb_rt_host_parent(init_pid, "containerd-shim", procs, cap, n);
	char addr[PATH_MAX], ns[128];
	if (!shim || !shim_args(shim, addr, sizeof(addr), ns, sizeof(ns)))
		return;
	bool docker = strcmp(ns, "moby") == 0;
	unsigned same_addr = 0, same_ns = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char a[PATH_MAX], s[128];
		if (!shim_args((pid_t)atoi(de->d_name), a, sizeof(a), s, sizeof(s)) || strcmp(a, addr) != 0)
			continue;
		same_addr++;
		same_ns += strcmp(s, ns) == 0;
	}
	if (d)
		closedir(d);
	sb_rt_host_proc_add(procs, cap, n, daemon_pid(addr), "containerd", true, same_addr);
	if (docker) {
		pid_t dockerd = daemon_pid("/run/docker.sock");
		if (!dockerd)
			dockerd = daemon_pid("/var/run/docker.sock");
		sb_rt_host_proc_add(procs, cap, n, dockerd, "dockerd", true, same_ns);
	}
}
