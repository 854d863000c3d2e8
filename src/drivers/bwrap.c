/* The `bwrap` driver: bubblewrap on the standard rootfs (read-only bind as /, tmpfs /tmp, fresh
 * /proc and /dev, every namespace unshared including the network, --die-with-parent).
 *
 * Two modes (param mode):
 *   enter   (default) create starts one long-lived sandbox whose pid 1 is `/sandbench-agent idle`;
 *           every exec and agent connection enters it with nsenter, so state persists between
 *           commands like in every other driver. Its stdin is a pipe sandbench holds: if sandbench
 *           dies the agent sees EOF, and --die-with-parent does the rest.
 *   oneshot a fresh bwrap per command, which is how bwrap is mostly used by hand; nothing outlives
 *           the command, so /tmp does not persist between execs.
 * Every bwrap command line carries --setenv SANDBENCH_BOX/SANDBENCH_OWNER: the marker doctor uses
 * to find sandboxes whose owner is gone. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/signals.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "drivers/runtime_util.h"

extern const struct sb_driver sb_driver_bwrap;

#define OWNER_ENV "SANDBENCH_OWNER"

static const struct sb_param_def bwrap_params[] = {
	{"mode", "enter", "enter: one long-lived sandbox, commands enter it with nsenter; oneshot: a fresh bwrap per command", "enter|oneshot"},
	{"net", "none", "none: own network namespace with loopback only; host: share the host's (--share-net)", "none|host"},
	{"bin", NULL, "the bwrap binary: a path or a name in PATH (default: bwrap), e.g. another build", NULL},
	{NULL, NULL, NULL, NULL},
};

struct sb_box {
	char bin[1024];
	char nsenter[1024];
	char name[128];
	char rootfs[4096];
	char owner[64];         /* "PID:START" of this sandbench process */
	bool oneshot, net_host;
	pid_t bwrap_pid;        /* enter mode: the outer bwrap */
	pid_t child;            /* enter mode: the agent, pid 1 of the sandbox */
	unsigned long long child_start;
	int keep_fd;            /* enter mode: write end of the agent's stdin */
	struct sb_argv mounts;  /* the root and the volumes: bwrap's mount options, in order */
};

static void bwrap_probe(const struct sb_params *params, struct sb_probe *out)
{
	memset(out, 0, sizeof(*out));
	char bin[1024], ns[1024];
	struct sb_error be = {0};
	if (sb_params_get(params, "bin")) {
		if (sb_rt_binary(params, bwrap_params, "bwrap", bin, sizeof(bin), &be) < 0) {
			snprintf(out->reason, sizeof(out->reason), "%s", be.msg);
			return;
		}
	} else if (sb_rt_which("bwrap", bin, sizeof(bin)) < 0) {
		snprintf(out->reason, sizeof(out->reason), "bwrap not found in PATH (apt-get install bubblewrap)");
		return;
	}
	const char *vargv[] = {bin, "--version", NULL};
	sb_rt_version(vargv, 5, out->version, sizeof(out->version));
	if (sb_rt_which("nsenter", ns, sizeof(ns)) < 0) {
		snprintf(out->reason, sizeof(out->reason), "nsenter not found in PATH (util-linux)");
		return;
	}
	/* Trial start: the same namespaces as a real box, on the host's root read-only. */
	const char *argv[] = {bin, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-all",
			      "--die-with-parent", "--", "true", NULL};
	struct sb_error e = {0};
	if (sb_rt_run(argv, sb_deadline_after(10), NULL, &e) < 0) {
		snprintf(out->reason, sizeof(out->reason), "trial start failed: %s", e.msg);
		return;
	}
	out->usable = true;
	out->caps = sb_driver_bwrap.caps;
}

/* The bwrap options every sandbox of this box gets (without the command). --die-with-parent is a
 * parent-death signal, which follows the thread that spawned bwrap, not the process: a sandbox
 * started from another thread (a burst's launcher, which exits once its box is up) would be
 * killed with it. There the agent's stdin, a pipe sandbench holds, is the tie: it ends at
 * sandbench's death and the sandbox with it. */
static void common_args(const struct sb_box *b, struct sb_argv *a)
{
	sb_argv_add(a, b->bin);
	if (syscall(SYS_gettid) == getpid() || b->oneshot)
		sb_argv_add(a, "--die-with-parent");
	sb_argv_add_all(a, sb_argv_get(&b->mounts));
	const char *fixed[] = {"--unshare-all", "--hostname", "sandbench", "--clearenv",
			       "--setenv", "PATH", SB_RT_BOX_PATH + strlen("PATH="), "--setenv", "HOME", "/",
			       "--setenv", "SANDBENCH_BOX", b->name, "--setenv", OWNER_ENV, b->owner,
			       "--chdir", "/", NULL};
	sb_argv_add_all(a, fixed);
	if (b->net_host)
		sb_argv_add(a, "--share-net");
}

/* The root as one read-only bind of the rootfs, except where a volume's mount point is missing from
 * it: bwrap could only make that directory in the shared rootfs, which the read-only bind refuses.
 * Then the root is bwrap's own tmpfs, each top-level entry of the rootfs bound onto it read-only,
 * and the tmpfs made read-only once the volumes are mounted: the same tree, with room for mount
 * points. */
static int mount_args(struct sb_box *b, const struct sb_box_spec *spec, struct sb_error *err)
{
	struct sb_argv *a = &b->mounts;
	int split = sb_rt_volumes_mountpoints("bwrap", spec, b->rootfs, err);
	if (split < 0)
		return split;
	if (!split) {
		sb_argv_add_all(a, (const char *const[]){"--ro-bind", b->rootfs, "/", NULL});
	} else {
		DIR *d = opendir(b->rootfs);
		if (!d)
			return sb_error_set(err, errno, "bwrap: rootfs %s: %s", b->rootfs, strerror(errno));
		struct dirent *de;
		while ((de = readdir(d))) {
			const char *n = de->d_name;
			/* made by the options below: . and .. are not entries, /proc /dev /tmp are bwrap's own */
			if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, "proc") == 0 ||
			    strcmp(n, "dev") == 0 || strcmp(n, "tmp") == 0)
				continue;
			char src[4200], target[4096];
			snprintf(src, sizeof(src), "%s/%s", b->rootfs, n);
			ssize_t tl = readlink(src, target, sizeof(target) - 1);
			if (tl > 0) {
				target[tl] = '\0';
				sb_argv_add_all(a, (const char *const[]){"--symlink", target, NULL});
			} else {
				sb_argv_add_all(a, (const char *const[]){"--ro-bind", src, NULL});
			}
			sb_argv_addf(a, "/%s", n);
		}
		closedir(d);
	}
	sb_argv_add_all(a, (const char *const[]){"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", NULL});
	for (size_t i = 0; i < spec->nvolumes; i++) {
		const struct sb_volume *v = &spec->volumes[i];
		sb_argv_add_all(a, (const char *const[]){v->readonly ? "--ro-bind" : "--bind", v->host_path,
							 v->box_path, NULL});
	}
	if (split)
		sb_argv_add_all(a, (const char *const[]){"--remount-ro", "/", NULL});
	return sb_argv_ok(a, err);
}

/* Read bwrap's --info-fd JSON until it names the sandbox's pid. */
static int read_child_pid(int fd, int64_t deadline_ns, pid_t *child, struct sb_error *err)
{
	char buf[2048];
	size_t n = 0;
	for (;;) {
		const char *k = memmem(buf, n, "\"child-pid\"", 11);
		if (k) {
			const char *p = k + 11;
			while (p < buf + n && (*p == ' ' || *p == ':'))
				p++;
			const char *q = p;
			while (q < buf + n && *q >= '0' && *q <= '9')
				q++;
			if (q > p && q < buf + n) {
				*child = (pid_t)strtol(p, NULL, 10);
				return 0;
			}
		}
		int left = sb_deadline_left_ms(deadline_ns);
		struct pollfd pf = {fd, POLLIN, 0};
		int r = poll(&pf, 1, left < 0 || left > 100 ? 100 : left);
		if (sb_interrupted())
			return sb_error_set(err, EINTR, "bwrap: interrupted while starting");
		if (sb_deadline_passed(deadline_ns))
			return sb_error_set(err, ETIMEDOUT, "bwrap: timed out waiting for the sandbox to start");
		if (r <= 0)
			continue;
		ssize_t got = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (got <= 0)
			return sb_error_set(err, EIO, "bwrap exited before reporting its sandbox");
		n += (size_t)got;
		if (n >= sizeof(buf) - 1)
			return sb_error_set(err, EIO, "bwrap: unexpected --info-fd output");
	}
}

/* Ready = the sandbox's pid 1 is the agent binary itself (exec'd after every mount is in place). */
/* bwrap closed its info fd without naming a sandbox: say how it ended (its first error line, or the
 * signal that killed it: a crash of the runtime is not a refusal). Reaps it. Returns -EIO. */
static int why_bwrap_ended(struct sb_box *b, int err_fd, int64_t deadline_ns, struct sb_error *err)
{
	int st = 0;
	pid_t w = 0;
	for (int i = 0; i < 2000 && w == 0 && !sb_deadline_passed(deadline_ns); i++) {
		w = waitpid(b->bwrap_pid, &st, WNOHANG);
		if (w == 0)
			usleep(500);
	}
	if (w != b->bwrap_pid)
		return sb_error_set(err, EIO, "bwrap exited before reporting its sandbox");
	b->bwrap_pid = 0;
	char msg[512] = "", first[300] = "";
	ssize_t n = read(err_fd, msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	sb_rt_first_error(msg, first, sizeof(first));
	if (WIFSIGNALED(st))
		return sb_error_set(err, EIO, "%s killed by signal %d (%s) before reporting its sandbox%s%s", b->bin,
				    WTERMSIG(st), strsignal(WTERMSIG(st)), first[0] ? ": " : "", first);
	return sb_error_set(err, EIO, "bwrap exited %d before reporting its sandbox: %s", WEXITSTATUS(st),
			    first[0] ? first : "no message");
}

static int wait_exec(struct sb_box *b, int err_fd, int64_t deadline_ns, struct sb_error *err)
{
	char agent[4200], exe[64];
	snprintf(agent, sizeof(agent), "%s/sandbench-agent", b->rootfs);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)b->child);
	struct stat want, st;
	if (stat(agent, &want) < 0)
		return sb_error_set(err, errno, "rootfs %s lacks /sandbench-agent", b->rootfs);
	for (;;) {
		if (stat(exe, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino)
			return 0;
		if (waitpid(b->bwrap_pid, NULL, WNOHANG) == b->bwrap_pid) {
			b->bwrap_pid = 0;
			char msg[512] = "";
			ssize_t n = read(err_fd, msg, sizeof(msg) - 1);
			msg[n > 0 ? n : 0] = '\0';
			char first[300];
			sb_rt_first_error(msg, first, sizeof(first));
			return sb_error_set(err, EIO, "bwrap exited while starting: %s", first[0] ? first : "no message");
		}
		if (sb_interrupted())
			return sb_error_set(err, EINTR, "bwrap: interrupted while starting");
		if (sb_deadline_passed(deadline_ns))
			return sb_error_set(err, ETIMEDOUT, "bwrap: sandbox not ready before the deadline");
		usleep(100);
	}
}

static int start_sandbox(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	struct sb_argv a = {0};
	common_args(b, &a);
	const char *tail[] = {"--as-pid-1", "--new-session", "--info-fd", "3", "--", "/sandbench-agent", "idle", NULL};
	sb_argv_add_all(&a, tail);
	int rc = sb_argv_ok(&a, err);
	int in_p[2] = {-1, -1}, info_p[2] = {-1, -1}, err_p[2] = {-1, -1};
	if (rc == 0 && (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(info_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0))
		rc = sb_error_set(err, errno, "pipe: %s", strerror(errno));
	if (rc == 0)
		rc = sb_rt_spawn(sb_argv_get(&a), NULL, in_p[0], -1, err_p[1], info_p[1], &b->bwrap_pid, err);
	sb_argv_free(&a);
	/* Our copies of the child's ends: only bwrap may hold them, so EOFs mean what they say. */
	const int theirs[] = {in_p[0], info_p[1], err_p[1]};
	for (size_t i = 0; i < 3; i++)
		if (theirs[i] >= 0)
			close(theirs[i]);
	b->keep_fd = in_p[1];
	if (rc == 0) {
		fcntl(err_p[0], F_SETFL, O_NONBLOCK);
		rc = read_child_pid(info_p[0], deadline_ns, &b->child, err);
		if (rc == -EIO)
			rc = why_bwrap_ended(b, err_p[0], deadline_ns, err);
	}
	if (rc == 0) {
		b->child_start = sb_rt_proc_start(b->child);
		rc = wait_exec(b, err_p[0], deadline_ns, err);
	}
	if (info_p[0] >= 0)
		close(info_p[0]);
	if (err_p[0] >= 0)
		close(err_p[0]);
	return rc;
}

static int bwrap_destroy(struct sb_box *b, int64_t deadline_ns, struct sb_error *err);

static int bwrap_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
			struct sb_error *err)
{
	*out = NULL;
	if (!spec->rootfs || spec->rootfs[0] != '/')
		return sb_error_set(err, EINVAL, "bwrap needs the standard rootfs (sandbench image build)");
	const char *mode = sb_params_get_def(spec->params, bwrap_params, "mode");
	const char *net = sb_params_get_def(spec->params, bwrap_params, "net");
	if (strcmp(mode, "enter") != 0 && strcmp(mode, "oneshot") != 0)
		return sb_error_set(err, EINVAL, "bwrap: mode must be enter or oneshot, not '%s'", mode);
	if (strcmp(net, "none") != 0 && strcmp(net, "host") != 0)
		return sb_error_set(err, EINVAL, "bwrap: net must be none or host, not '%s'", net);
	struct sb_box *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	b->keep_fd = -1;
	b->oneshot = strcmp(mode, "oneshot") == 0;
	b->net_host = strcmp(net, "host") == 0;
	snprintf(b->name, sizeof(b->name), "%s", spec->name ? spec->name : "bwrap");
	snprintf(b->rootfs, sizeof(b->rootfs), "%s", spec->rootfs);
	snprintf(b->owner, sizeof(b->owner), "%d:%llu", (int)getpid(), sb_rt_proc_start(getpid()));
	*out = b;
	int rc = 0;
	if (sb_rt_binary(spec->params, bwrap_params, "bwrap", b->bin, sizeof(b->bin), err) < 0)
		rc = -ENOENT;
	else if (sb_rt_which("nsenter", b->nsenter, sizeof(b->nsenter)) < 0)
		rc = sb_error_set(err, ENOENT, "nsenter not found in PATH");
	if (rc == 0 && (rc = sb_rt_volumes_check("bwrap", spec, NULL, err)) == 0)
		rc = mount_args(b, spec, err);
	if (rc == 0 && !b->oneshot)
		rc = start_sandbox(b, deadline_ns, err);
	if (rc < 0) {
		/* Callers get nothing to destroy on failure: undo here, with a budget of its own. */
		struct sb_error e = {0};
		bwrap_destroy(b, sb_deadline_after(30), &e);
		*out = NULL;
	}
	return rc;
}

/* nsenter into every namespace of the sandbox's pid 1, with its root and working directory. */
static void enter_args(const struct sb_box *b, struct sb_argv *a)
{
	sb_argv_add(a, b->nsenter);
	sb_argv_addf(a, "--target=%d", (int)b->child);
	const char *rest[] = {"--all", "--root", "--wd", "--", NULL};
	sb_argv_add_all(a, rest);
}

static int bwrap_exec(struct sb_box *b, const struct sb_exec_req *req, struct sb_proc_result *res,
		      struct sb_error *err)
{
	struct sb_argv a = {0};
	if (b->oneshot) {
		common_args(b, &a);
		sb_argv_add(&a, "--");
	} else {
		enter_args(b, &a);
	}
	int rc = sb_argv_ok(&a, err);
	char box_env[200];
	snprintf(box_env, sizeof(box_env), "SANDBENCH_BOX=%s", b->name);
	const char *envp[] = {SB_RT_BOX_PATH, "HOME=/", box_env, NULL};
	if (rc == 0)
		rc = sb_rt_exec(sb_argv_get(&a), req, b->oneshot ? NULL : envp, res, err);
	sb_argv_free(&a);
	return rc;
}

static int bwrap_agent_open(struct sb_box *b, struct sb_agent_conn *conn, int64_t deadline_ns,
			    struct sb_error *err)
{
	struct sb_argv a = {0};
	if (b->oneshot) {
		common_args(b, &a);
		sb_argv_add(&a, "--");
	} else {
		enter_args(b, &a);
	}
	sb_argv_add(&a, "/sandbench-agent");
	sb_argv_add(&a, "serve");
	int rc = sb_argv_ok(&a, err);
	if (rc == 0)
		rc = sb_proc_spawn_piped(sb_argv_get(&a), &conn->pid, &conn->to_agent, &conn->from_agent, NULL, err);
	sb_argv_free(&a);
	return rc;
}

/* Kill the sandbox: its pid 1 takes every process of the pid namespace with it. */
static int stop_sandbox(struct sb_box *b, int64_t deadline_ns)
{
	int rc = 0;
	char ns[64] = "";
	if (b->child > 0 && sb_rt_proc_alive(b->child, b->child_start)) {
		sb_rt_pidns(b->child, ns, sizeof(ns));
		kill(b->child, SIGKILL);
	}
	/* bwrap exits once its child is reaped, and that child (pid 1 of the sandbox) only finishes
	 * dying when the namespace's orphans, re-parented to us, are reaped too. */
	if (b->bwrap_pid > 0) {
		if (sb_rt_wait_gone_ns(b->bwrap_pid, ns, deadline_ns) < 0) {
			sb_proc_kill_group(b->bwrap_pid);
			rc = -ETIMEDOUT;
		}
		b->bwrap_pid = 0;
	}
	/* Reaped by bwrap normally; ours (subreaper) if bwrap went first. */
	if (b->child > 0 && sb_rt_wait_gone_ns(b->child, ns, deadline_ns) < 0)
		rc = -ETIMEDOUT;
	b->child = 0;
	if (b->keep_fd >= 0)
		close(b->keep_fd);
	b->keep_fd = -1;
	return rc;
}

static int bwrap_stop(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	if (stop_sandbox(b, deadline_ns) < 0)
		return sb_error_set(err, ETIMEDOUT, "bwrap: sandbox %s did not stop before the deadline", b->name);
	return 0;
}

static int bwrap_destroy(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	int rc = 0;
	if (stop_sandbox(b, deadline_ns) < 0)
		rc = sb_error_set(err, ETIMEDOUT, "bwrap: sandbox %s did not stop before the deadline", b->name);
	sb_argv_free(&b->mounts);
	free(b);
	return rc;
}

static bool same_link(const char *a, const char *b)
{
	char x[128], y[128];
	ssize_t n = readlink(a, x, sizeof(x) - 1), m = readlink(b, y, sizeof(y) - 1);
	return n > 0 && n == m && memcmp(x, y, (size_t)n) == 0;
}

/* Every host process in the sandbox's pid namespace (nsenter'd commands are not descendants of
 * pid 1, so walking children would miss them). */
static int bwrap_pids(struct sb_box *b, pid_t *pids, size_t cap, size_t *n, struct sb_error *err)
{
	if (b->oneshot || b->child <= 0)
		return sb_error_set(err, ENOTSUP, "bwrap: no long-lived sandbox in oneshot mode");
	char want[64];
	snprintf(want, sizeof(want), "/proc/%d/ns/pid", (int)b->child);
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/proc/%s/ns/pid", de->d_name);
		if (!same_link(path, want))
			continue;
		if (*n < cap)
			pids[*n] = (pid_t)atoi(de->d_name);
		(*n)++;
	}
	if (d)
		closedir(d);
	return 0;
}

/* The outer bwrap stays in the host's pid namespace, waiting for the sandbox's pid 1. */
static int bwrap_host_pids(struct sb_box *b, struct sb_host_proc *procs, size_t cap, size_t *n,
			   struct sb_error *err)
{
	if (b->oneshot || b->bwrap_pid <= 0)
		return sb_error_set(err, ENOTSUP, "bwrap: no long-lived sandbox in oneshot mode");
	sb_rt_host_proc_add(procs, cap, n, b->bwrap_pid, "bwrap", false, 1);
	return 0;
}

/* ---- doctor ---- */

/* The value following `--setenv NAME` in a NUL-separated cmdline. */
static const char *cmdline_env(const char *buf, size_t len, const char *name)
{
	for (const char *p = buf; p < buf + len; p += strlen(p) + 1) {
		const char *n1 = p + strlen(p) + 1;
		if (strcmp(p, "--setenv") == 0 && n1 < buf + len && strcmp(n1, name) == 0) {
			const char *v = n1 + strlen(n1) + 1;
			return v < buf + len ? v : NULL;
		}
	}
	return NULL;
}

static int bwrap_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	int found = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[300], buf[8192];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		const char *base = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
		const char *owner = strcmp(base, "bwrap") == 0 ? cmdline_env(buf, (size_t)len, OWNER_ENV) : NULL;
		if (!owner)
			continue;
		unsigned long long start = 0;
		int opid = 0;
		if (sscanf(owner, "%d:%llu", &opid, &start) != 2 || sb_rt_proc_alive(opid, start))
			continue;
		/* The inner bwrap of a sandbox shares the marker: count the outer one only. */
		pid_t pid = (pid_t)atoi(de->d_name);
		char ppath[64], pbuf[8192];
		snprintf(ppath, sizeof(ppath), "/proc/%d/stat", (int)pid);
		int ppid = 0;
		if (sb_read_line(ppath, pbuf, sizeof(pbuf)) == 0 && strrchr(pbuf, ')'))
			sscanf(strrchr(pbuf, ')') + 2, "%*c %d", &ppid);
		snprintf(ppath, sizeof(ppath), "/proc/%d/cmdline", ppid);
		fd = open(ppath, O_RDONLY | O_CLOEXEC);
		ssize_t plen = fd >= 0 ? read(fd, pbuf, sizeof(pbuf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (plen > 0) {
			pbuf[plen] = '\0';
			const char *po = cmdline_env(pbuf, (size_t)plen, OWNER_ENV);
			if (po && strcmp(po, owner) == 0)
				continue;
		}
		const char *box = cmdline_env(buf, (size_t)len, "SANDBENCH_BOX");
		found++;
		char line[512];
		snprintf(line, sizeof(line), "sandbox %s (pid %d, owner pid %d is gone)", box ? box : "?",
			 (int)pid, opid);
		if (emit)
			emit(arg, line);
		if (clean) {
			pid_t kids[256];
			size_t nk = sb_rt_descendants(pid, kids, 256);
			kill(pid, SIGKILL);
			for (size_t i = 0; i < nk; i++)
				kill(kids[i], SIGKILL);
			snprintf(line, sizeof(line), "killed sandbox %s (pid %d)", box ? box : "?", (int)pid);
			if (emit)
				emit(arg, line);
		}
	}
	if (d)
		closedir(d);
	return found;
}

const struct sb_driver sb_driver_bwrap = {
	.name = "bwrap",
	.summary = "bubblewrap on the standard rootfs, all namespaces unshared; commands nsenter one long-lived sandbox (mode=oneshot: bwrap per command)",
	.caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_ISOLATION | SB_CAP_PIDS | SB_CAP_VOLUMES,
	.params = bwrap_params,
	.image = SB_IMAGE_ROOTFS,
	.agent_in_box = "/sandbench-agent",
	.probe = bwrap_probe,
	.box_create = bwrap_create,
	.box_exec = bwrap_exec,
	.box_agent_open = bwrap_agent_open,
	.box_stop = bwrap_stop,
	.box_destroy = bwrap_destroy,
	.box_pids = bwrap_pids,
	.box_host_pids = bwrap_host_pids,
	.leftovers = bwrap_leftovers,
};
