/* Shared code of the engine and jail drivers (lxc, firejail, podman, docker, containerd); see
 * engine.h. The docker-compatible engine at the end serves both podman variants and docker: their
 * CLIs agree on every verb sandbench uses. */
#include "drivers/engine.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* ---- docker-compatible engines ---- */

struct sb_box {
	struct sb_dk *dk;
	char name[96];
	char id[96];
	pid_t pid; /* the container's init on the host, 0 until looked up */
};

const struct sb_param_def sb_dk_params[] = {
	{"net", "default", "network: default (the engine's default network) or none (loopback only)"},
	{NULL, NULL, NULL},
};

static bool dk_is_podman(const struct sb_dk *dk)
{
	return strcmp(dk->cli_name, "podman") == 0;
}

/* $SANDBENCH_<CLI>, else the distribution's /usr/bin/<cli> (the client that matches the packaged
 * engine: a newer client elsewhere in PATH may speak an API the engine lacks), else PATH. */
static int dk_resolve(struct sb_dk *dk)
{
	if (dk->cli[0])
		return 0;
	char env[64], sys[64];
	snprintf(env, sizeof(env), "SANDBENCH_%s", dk->cli_name);
	for (char *p = env; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	const char *e = getenv(env);
	if (e && *e)
		return sb_rt_which(e, dk->cli, sizeof(dk->cli));
	snprintf(sys, sizeof(sys), "/usr/bin/%s", dk->cli_name);
	if (access(sys, X_OK) == 0) {
		snprintf(dk->cli, sizeof(dk->cli), "%s", sys);
		return 0;
	}
	return sb_rt_which(dk->cli_name, dk->cli, sizeof(dk->cli));
}

static void strip(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* The engine's own words for "not running" become one clear line. */
static int dk_fail(struct sb_dk *dk, struct sb_error *err)
{
	if (dk_is_podman(dk) || (!strstr(err->msg, "Cannot connect") && !strstr(err->msg, "docker.sock")))
		return -err->code;
	char path[PATH_MAX];
	bool have = sb_rt_which("dockerd", path, sizeof(path)) == 0 || access("/usr/sbin/dockerd", X_OK) == 0;
	return sb_error_set(err, ECONNREFUSED, "%s: engine not running (cannot connect to /var/run/docker.sock)%s",
			    dk->driver, have ? "; `sandbench doctor --prepare-host` starts dockerd"
					     : "; dockerd is not installed (scripts/deps.sh runtimes)");
}

/* A new agent or busybox means a new image; older ones of the same kind go once they are a day
 * old, so rebuilds do not pile up in the engine's store while another sandbench (a different build,
 * a paired A/B run) still using a recent one keeps it. One still used by a container is refused by
 * the engine and stays until a later prune. */
static void dk_prune(struct sb_dk *dk, const char *kind, const char *keep, int64_t deadline_ns)
{
	char filter[96];
	snprintf(filter, sizeof(filter), "label=%s=%s", SB_ENG_LABEL_IMAGE, kind);
	const char *ls[] = {dk->cli, "images", "--filter", filter, "--format",
			    "{{.Repository}}:{{.Tag}}|{{.CreatedAt}}", NULL};
	char *list = NULL;
	if (sb_rt_run(ls, deadline_ns, &list, NULL) < 0) {
		free(list);
		return;
	}
	for (char *save, *t = strtok_r(list, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		char *bar = strchr(t, '|');
		struct tm tm = {0};
		if (!bar || strstr(t, "<none>"))
			continue;
		*bar = '\0';
		if (strcmp(t, keep) == 0 || !strptime(bar + 1, "%Y-%m-%d %H:%M:%S", &tm) ||
		    time(NULL) - timegm(&tm) < SB_ENG_IMAGE_KEEP_S)
			continue;
		const char *rmi[] = {dk->cli, "rmi", t, NULL};
		sb_rt_run(rmi, deadline_ns, NULL, NULL);
	}
	free(list);
}

bool sb_eng_image_missing(const char *msg)
{
	return strstr(msg, "No such image") || strstr(msg, "image not known") ||
	       (strstr(msg, "image") && strstr(msg, "not found"));
}

/* Make PREFIX/KIND:HASH from dir unless the engine has it. */
static int dk_image(struct sb_dk *dk, const char *dir, const char *kind, const char *hash, char *tag,
		    size_t tlen, int64_t deadline_ns, struct sb_error *err)
{
	snprintf(tag, tlen, "%s/%s:%s", dk->image_prefix, kind, hash);
	const char *inspect[] = {dk->cli, "image", "inspect", "--format", "{{.Id}}", tag, NULL};
	struct sb_error ierr = {0};
	if (sb_rt_run(inspect, deadline_ns, NULL, &ierr) == 0)
		return 0;
	char tmp[PATH_MAX], tarf[PATH_MAX + 16], label[64];
	int rc = sb_eng_tmpdir(tmp, sizeof(tmp), err);
	if (rc < 0)
		return rc;
	snprintf(tarf, sizeof(tarf), "%s/rootfs.tar", tmp);
	snprintf(label, sizeof(label), "LABEL %s=%s", SB_ENG_LABEL_IMAGE, kind);
	rc = sb_eng_tar(dir, tarf, deadline_ns, err);
	if (rc == 0) {
		const char *imp[] = {dk->cli, "import", "--change", label, "--change",
				     "CMD [\"/sandbench-agent\", \"idle\"]", tarf, tag, NULL};
		rc = sb_rt_run(imp, deadline_ns, NULL, err);
		if (rc < 0)
			rc = dk_fail(dk, err);
	}
	sb_rm_rf(tmp);
	if (rc == 0)
		dk_prune(dk, kind, tag, deadline_ns);
	return rc;
}

/* rm -f, even while sandbench is being interrupted. podman's would first wait out the stop
 * timeout: -t 0; docker's kills at once. */
static int dk_rm(struct sb_dk *dk, const char *id, int64_t deadline_ns, struct sb_error *err)
{
	const char *pm[] = {dk->cli, "rm", "-f", "-t", "0", id, NULL};
	const char *dc[] = {dk->cli, "rm", "-f", id, NULL};
	return sb_eng_run_teardown(dk_is_podman(dk) ? pm : dc, deadline_ns, err);
}

void sb_dk_probe(struct sb_dk *dk, unsigned caps, struct sb_probe *out)
{
	memset(out, 0, sizeof(*out));
	if (dk_resolve(dk) < 0) {
		snprintf(out->reason, sizeof(out->reason), "%s: not installed (no %s in PATH)", dk->driver,
			 dk->cli_name);
		return;
	}
	const char *fmt = dk_is_podman(dk) ? "{{.Client.Version}}" : "{{.Server.Version}}";
	const char *ver[] = {dk->cli, "version", "--format", fmt, NULL};
	struct sb_error err = {0};
	char *v = NULL;
	if (sb_rt_run(ver, sb_deadline_after(20), &v, &err) < 0) {
		dk_fail(dk, &err);
		snprintf(out->reason, sizeof(out->reason), "%s", err.msg);
		return;
	}
	strip(v);
	snprintf(out->version, sizeof(out->version), "%s", v);
	free(v);
	if (dk->runtime) {
		char rt[PATH_MAX], rv[32];
		if (sb_rt_which(dk->runtime, rt, sizeof(rt)) < 0) {
			snprintf(out->reason, sizeof(out->reason), "%s: OCI runtime %s is not installed",
				 dk->driver, dk->runtime);
			return;
		}
		const char *rva[] = {rt, "--version", NULL};
		sb_rt_version(rva, 5, rv, sizeof(rv));
		size_t l = strlen(out->version);
		snprintf(out->version + l, sizeof(out->version) - l, " (%s %s)", dk->runtime, rv);
	}
	/* the trial: a real container from a tiny image, so a broken runtime shows its own words */
	char dir[PATH_MAX], hash[17], tag[160], label[80], olabel[96], dlabel[96];
	if (sb_eng_probe_rootfs(dir, sizeof(dir), out->reason, sizeof(out->reason)) < 0)
		return;
	snprintf(hash, sizeof(hash), "%s", strrchr(dir, '-') + 1);
	int64_t deadline = sb_deadline_after(60);
	if (dk_image(dk, dir, "probe", hash, tag, sizeof(tag), deadline, &err) < 0) {
		snprintf(out->reason, sizeof(out->reason), "%s: cannot import the trial image: %s",
			 dk->driver, err.msg);
		return;
	}
	snprintf(label, sizeof(label), "%s=probe", SB_ENG_LABEL_RUN);
	snprintf(olabel, sizeof(olabel), "%s=%s", SB_ENG_LABEL_OWNER, sb_eng_owner());
	snprintf(dlabel, sizeof(dlabel), "%s=%s", SB_ENG_LABEL_DRIVER, dk->driver);
	struct sb_argv a = {0};
	char name[64];
	snprintf(name, sizeof(name), "sb-probe-%d", (int)getpid());
	sb_argv_add_all(&a, (const char *const[]){dk->cli, "run", "--rm", "--pull=never", "--name", name,
						  "--network", "none", "--label", label, "--label", olabel,
						  "--label", dlabel, NULL});
	if (dk->runtime)
		sb_argv_addf(&a, "--runtime=%s", dk->runtime);
	sb_argv_add_all(&a, dk->run_flags);
	sb_argv_add_all(&a, (const char *const[]){tag, "/sandbench-agent", "true", NULL});
	int rc = sb_argv_ok(&a, &err);
	if (rc == 0 && (rc = sb_rt_run(sb_argv_get(&a), deadline, NULL, &err)) < 0 &&
	    sb_eng_image_missing(err.msg) &&
	    dk_image(dk, dir, "probe", hash, tag, sizeof(tag), deadline, &err) == 0)
		rc = sb_rt_run(sb_argv_get(&a), deadline, NULL, &err); /* pruned meanwhile: once more */
	if (rc < 0)
		snprintf(out->reason, sizeof(out->reason), "%s: trial container failed: %s", dk->driver,
			 err.msg);
	else {
		out->usable = true;
		out->caps = caps;
	}
	sb_argv_free(&a);
}

int sb_dk_prepare(struct sb_dk *dk, const struct sb_box_spec *spec, int64_t deadline_ns,
		  struct sb_error *err)
{
	if (dk_resolve(dk) < 0)
		return sb_error_set(err, ENOENT, "%s: %s is not installed", dk->driver, dk->cli_name);
	if (dk->image[0] && spec->rootfs && strcmp(dk->image_rootfs, spec->rootfs) == 0)
		return 0;
	char hash[17];
	int rc = sb_eng_rootfs_hash(spec->rootfs, hash, err);
	if (rc == 0)
		rc = dk_image(dk, spec->rootfs, "rootfs", hash, dk->image, sizeof(dk->image), deadline_ns,
			      err);
	if (rc < 0) {
		dk->image[0] = '\0';
		return rc;
	}
	snprintf(dk->image_rootfs, sizeof(dk->image_rootfs), "%s", spec->rootfs);
	return 0;
}

int sb_dk_create(struct sb_dk *dk, const struct sb_box_spec *spec, struct sb_box **out,
		 int64_t deadline_ns, struct sb_error *err)
{
	/* the runner may not have called template_prepare: do it (once per rootfs) here */
	int rc = sb_dk_prepare(dk, spec, deadline_ns, err);
	if (rc < 0)
		return rc;
	const char *net = sb_params_get_def(spec->params, sb_dk_params, "net");
	if (strcmp(net, "default") != 0 && strcmp(net, "none") != 0)
		return sb_error_set(err, EINVAL, "%s: net=%s: expected default or none", dk->driver, net);
	struct sb_box *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	b->dk = dk;
	snprintf(b->name, sizeof(b->name), "%s", spec->name);
	struct sb_argv a = {0};
	sb_argv_add_all(&a, (const char *const[]){dk->cli, "run", "-d", "--pull=never", "--name",
						  spec->name, NULL});
	sb_argv_addf(&a, "--label=%s=%s", SB_ENG_LABEL_RUN, spec->name);
	sb_argv_addf(&a, "--label=%s=%s", SB_ENG_LABEL_OWNER, sb_eng_owner());
	sb_argv_addf(&a, "--label=%s=%s", SB_ENG_LABEL_DRIVER, dk->driver);
	if (dk->runtime)
		sb_argv_addf(&a, "--runtime=%s", dk->runtime);
	sb_argv_add_all(&a, dk->run_flags);
	if (strcmp(net, "none") == 0)
		sb_argv_add(&a, "--network=none");
	if (spec->mem_limit_bytes)
		sb_argv_addf(&a, "--memory=%llu", (unsigned long long)spec->mem_limit_bytes);
	if (spec->pids_limit)
		sb_argv_addf(&a, "--pids-limit=%llu", (unsigned long long)spec->pids_limit);
	if (spec->cpu_limit > 0)
		sb_argv_addf(&a, "--cpus=%g", spec->cpu_limit);
	sb_argv_add_all(&a, (const char *const[]){dk->image, SB_ENG_IDLE_ARGV, NULL});
	char *id = NULL;
	rc = sb_argv_ok(&a, err);
	if (rc == 0 && (rc = sb_rt_run(sb_argv_get(&a), deadline_ns, &id, err)) < 0 &&
	    sb_eng_image_missing(err->msg)) {
		/* another sandbench pruned the image since we prepared it: import it again, once */
		dk->image[0] = '\0';
		if ((rc = sb_dk_prepare(dk, spec, deadline_ns, err)) == 0)
			rc = sb_rt_run(sb_argv_get(&a), deadline_ns, &id, err);
	}
	if (rc < 0)
		rc = dk_fail(dk, err);
	sb_argv_free(&a);
	if (rc < 0) {
		/* a timed-out or half-failed run may still have made the container: remove it by name */
		dk_rm(dk, spec->name, sb_deadline_after(30), NULL);
		free(b);
		return rc;
	}
	strip(id);
	const char *last = strrchr(id, '\n'); /* a pull or warning may precede the id */
	snprintf(b->id, sizeof(b->id), "%s", last ? last + 1 : id);
	free(id);
	*out = b;
	return 0;
}

int sb_dk_exec(struct sb_box *box, const struct sb_exec_req *req, struct sb_proc_result *res,
	       struct sb_error *err)
{
	/* -i only when there is input to forward: without it the CLI need not pump stdin at all */
	const char *with_in[] = {box->dk->cli, "exec", "-i", box->id, NULL};
	const char *without[] = {box->dk->cli, "exec", box->id, NULL};
	bool in = req->stdin_data || req->passthrough;
	return sb_rt_exec(in ? with_in : without, req, NULL, res, err);
}

int sb_dk_agent_open(struct sb_box *box, struct sb_agent_conn *conn, int64_t deadline_ns,
		     struct sb_error *err)
{
	const char *argv[] = {box->dk->cli, "exec", "-i", box->id, "/sandbench-agent", "serve", NULL};
	return sb_proc_spawn_piped(argv, &conn->pid, &conn->to_agent, &conn->from_agent, NULL, err);
}

static int dk_cp(struct sb_box *box, const char *from, const char *to, bool in, int64_t deadline_ns,
		 struct sb_error *err)
{
	char spec[PATH_MAX + 100];
	snprintf(spec, sizeof(spec), "%s:%s", box->id, in ? to : from);
	const char *argv[] = {box->dk->cli, "cp", in ? from : spec, in ? spec : to, NULL};
	return sb_rt_run(argv, deadline_ns, NULL, err);
}

int sb_dk_copy_in(struct sb_box *box, const char *host_path, const char *box_path,
		  int64_t deadline_ns, struct sb_error *err)
{
	return dk_cp(box, host_path, box_path, true, deadline_ns, err);
}

int sb_dk_copy_out(struct sb_box *box, const char *box_path, const char *host_path,
		   int64_t deadline_ns, struct sb_error *err)
{
	return dk_cp(box, box_path, host_path, false, deadline_ns, err);
}

int sb_dk_stop(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	/* the idle agent exits on SIGTERM at once; 2 s is only a bound */
	const char *argv[] = {box->dk->cli, "stop", "-t", "2", box->id, NULL};
	return sb_rt_run(argv, deadline_ns, NULL, err);
}

int sb_dk_destroy(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	int rc = dk_rm(box->dk, box->id, deadline_ns, err);
	if (rc < 0)
		sb_error_prefix(err, "removing container %s", box->name);
	free(box);
	return rc;
}

static int dk_pid(struct sb_box *box, struct sb_error *err)
{
	if (box->pid > 0)
		return 0;
	const char *argv[] = {box->dk->cli, "inspect", "--format", "{{.State.Pid}}", box->id, NULL};
	char *out = NULL;
	int rc = sb_rt_run(argv, sb_deadline_after(20), &out, err);
	if (rc == 0) {
		box->pid = (pid_t)atoi(out);
		if (box->pid <= 0)
			rc = sb_error_set(err, ESRCH, "container %s is not running", box->name);
	}
	free(out);
	return rc;
}

int sb_dk_stats(struct sb_box *box, struct sb_box_stats *out, struct sb_error *err)
{
	int rc = dk_pid(box, err);
	return rc < 0 ? rc : sb_eng_cgroup_stats(box->pid, box->id, out, err);
}

int sb_dk_pids(struct sb_box *box, pid_t *pids, size_t cap, size_t *n, struct sb_error *err)
{
	int rc = dk_pid(box, err);
	return rc < 0 ? rc : sb_eng_cgroup_pids(box->pid, box->id, pids, cap, n, err);
}

int sb_dk_leftovers(struct sb_dk *dk, bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	if (dk_resolve(dk) < 0)
		return 0; /* not installed: nothing can be left */
	char filter[128];
	snprintf(filter, sizeof(filter), "label=%s=%s", SB_ENG_LABEL_DRIVER, dk->driver);
	const char *ps[] = {dk->cli, "ps", "-a", "--no-trunc", "--filter", filter, "--format", "{{.ID}}",
			    NULL};
	char *ids = NULL;
	struct sb_error e = {0};
	if (sb_rt_run(ps, sb_deadline_after(30), &ids, &e) < 0) {
		dk_fail(dk, &e);
		char line[600];
		snprintf(line, sizeof(line), "containers not checked: %s", e.msg);
		emit(arg, line);
		return 0;
	}
	int found = 0, rc = 0;
	for (char *save, *id = strtok_r(ids, "\n", &save); id; id = strtok_r(NULL, "\n", &save)) {
		char fmt[128], *info = NULL;
		snprintf(fmt, sizeof(fmt), "{{index .Config.Labels \"%s\"}} {{.Name}}", SB_ENG_LABEL_OWNER);
		const char *insp[] = {dk->cli, "inspect", "--format", fmt, id, NULL};
		if (sb_rt_run(insp, sb_deadline_after(30), &info, NULL) < 0) {
			free(info);
			continue; /* removed meanwhile */
		}
		strip(info);
		char owner[64] = "", name[128] = "";
		sscanf(info, "%63s %127s", owner, name);
		free(info);
		if (sb_eng_owner_alive(owner))
			continue;
		found++;
		char line[400];
		snprintf(line, sizeof(line), "container %s (%.12s), its run %s is gone%s",
			 name[0] == '/' ? name + 1 : name, id, owner, clean ? ": removing" : "");
		emit(arg, line);
		if (clean && dk_rm(dk, id, sb_deadline_after(60), err) < 0)
			rc = -err->code;
	}
	free(ids);
	return rc < 0 ? rc : found;
}
