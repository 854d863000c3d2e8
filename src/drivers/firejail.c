/* The `firejail` driver: `firejail --chroot` into a per-box overlay of the standard rootfs (firejail
 * chroots into a plain directory and writes into it: its own /run/firejail tree, and whatever the
 * box writes; the overlay keeps boxes apart and the shared rootfs pristine, and adds the /var/tmp
 * firejail insists on). Commands are joined with `firejail --join=PID`. The sandbox's first process
 * is the agent's idle loop reading a pipe we hold: when sandbench dies, the sandbox ends with it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/signals.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "drivers/engine.h"
#include "drivers/runtime_util.h"

extern const struct sb_driver sb_driver_firejail;

#define FJ_STATE SB_RT_STATE_ROOT "/firejail"
#define FJ_CONFIG "/etc/firejail/firejail.config"
#define FJ_MARK "# added by sandbench doctor --prepare-host (sandbench doctor --restore-host removes it)"

struct sb_box {
	char name[96];
	char dir[PATH_MAX]; /* FJ_STATE/NAME: the owner marker */
	pid_t pid;          /* the outer firejail process, our child */
	int hold_fd;        /* write end of the sandbox's stdin */
};

static const struct sb_param_def fj_params[] = {
	{"net", "host", "network: host (firejail's default, shared) or none (--net=none)", "host|none"},
	{NULL, NULL, NULL, NULL},
};

/* firejail passes the caller's environment into the sandbox; give it the box's own instead */
static const char *const fj_env[] = {SB_RT_BOX_PATH, "HOME=/root", NULL};

static void fj_probe(const struct sb_params *params, struct sb_probe *out)
{
	memset(out, 0, sizeof(*out));
	char bin[PATH_MAX];
	if (sb_rt_which("firejail", bin, sizeof(bin)) < 0) {
		snprintf(out->reason, sizeof(out->reason), "firejail: not installed (no firejail in PATH)");
		return;
	}
	const char *ver[] = {bin, "--version", NULL};
	sb_rt_version(ver, 5, out->version, sizeof(out->version));
	char dir[PATH_MAX], opt[PATH_MAX + 16];
	if (sb_eng_probe_rootfs(dir, sizeof(dir), out->reason, sizeof(out->reason)) < 0)
		return;
	snprintf(opt, sizeof(opt), "--chroot=%s", dir);
	const char *trial[] = {bin, "--quiet", "--noprofile", opt, "/sandbench-agent", "true", NULL};
	struct sb_error err = {0};
	if (sb_rt_run(trial, sb_deadline_after(30), NULL, &err) < 0) {
		const char *msg = strstr(err.msg, "Error: ") ? strstr(err.msg, "Error: ") + 7 : err.msg;
		snprintf(out->reason, sizeof(out->reason), "firejail: %s%s", msg,
			 strstr(err.msg, "chroot feature is disabled")
				 ? " (`sandbench doctor --prepare-host` sets chroot yes)" : "");
		return;
	}
	out->usable = true;
	out->caps = sb_driver_firejail.caps;
}

/* DIR/root: an overlay of rootfs with its upper layer in DIR, /var/tmp added. */
static int mount_overlay(const char *rootfs, const char *dir, struct sb_error *err)
{
	char up[PATH_MAX + 16], work[PATH_MAX + 16], root[PATH_MAX + 16], vt[PATH_MAX + 32];
	char opts[3 * PATH_MAX + 64];
	snprintf(up, sizeof(up), "%s/upper", dir);
	snprintf(work, sizeof(work), "%s/work", dir);
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(vt, sizeof(vt), "%s/var/tmp", up);
	if (sb_mkdir_p(vt, 0755) < 0 || chmod(vt, 01777) < 0 || sb_mkdir_p(work, 0755) < 0 ||
	    sb_mkdir_p(root, 0755) < 0)
		return sb_error_set(err, errno, "firejail: cannot create %s: %s", dir, strerror(errno));
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", rootfs, up, work);
	if (mount("overlay", root, "overlay", 0, opts) < 0)
		return sb_error_set(err, errno, "firejail: overlay on %s: %s", root, strerror(errno));
	return 0;
}

/* The host directories, bound onto DIR/root before firejail starts: its --bind takes both paths in
 * the chroot's view, where no host directory is, so the sandbox's mount namespace inherits these
 * instead (teardown unmounts everything below DIR). Mount points are made in the box's overlay. */
static int mount_volumes(const struct sb_box_spec *spec, const char *dir, struct sb_error *err)
{
	char root[PATH_MAX + 16], real_root[PATH_MAX];
	snprintf(root, sizeof(root), "%s/root", dir);
	if (!realpath(root, real_root))
		return sb_error_set(err, errno, "firejail: %s: %s", root, strerror(errno));
	for (size_t i = 0; i < spec->nvolumes; i++) {
		const struct sb_volume *v = &spec->volumes[i];
		char at[2 * PATH_MAX], real_at[PATH_MAX];
		snprintf(at, sizeof(at), "%s%s", real_root, v->box_path);
		int rc = sb_mkdir_p(at, 0755);
		if (rc < 0)
			return sb_error_set(err, -rc, "firejail: mount point %s: %s", at, strerror(-rc));
		/* a symlink in the image must not lead the bind out of the box's root */
		size_t rl = strlen(real_root);
		if (!realpath(at, real_at) || strncmp(real_at, real_root, rl) != 0 || real_at[rl] != '/')
			return sb_error_set(err, EINVAL, "firejail: volume box path %s leaves the sandbox's root", v->box_path);
		if (mount(v->host_path, real_at, NULL, MS_BIND | MS_REC, NULL) < 0)
			return sb_error_set(err, errno, "firejail: bind %s on %s: %s", v->host_path, real_at, strerror(errno));
		if (v->readonly &&
		    mount(NULL, real_at, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
			return sb_error_set(err, errno, "firejail: read-only %s: %s", real_at, strerror(errno));
	}
	return 0;
}

/* firejail's sandbox child writes "1" to /run/firejail/mnt/join inside the sandbox once it is set
 * up; until then --join has nothing to enter. */
static bool sandbox_ready(pid_t fj)
{
	pid_t kids[8];
	size_t n = sb_rt_descendants(fj, kids, 8);
	for (size_t i = 0; i < n && i < 8; i++) {
		char path[128], buf[8];
		snprintf(path, sizeof(path), "/proc/%d/root/run/firejail/mnt/join", (int)kids[i]);
		if (sb_read_line(path, buf, sizeof(buf)) >= 0 && buf[0] == '1')
			return true;
	}
	return false;
}

static bool fj_ready(void *arg)
{
	return sandbox_ready(*(pid_t *)arg);
}

static int teardown(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	int rc = 0;
	if (b->hold_fd >= 0)
		close(b->hold_fd);
	b->hold_fd = -1;
	if (b->pid > 0) {
		/* EOF ends the idle loop and firejail with it; a wedged sandbox is killed */
		if (sb_eng_wait_child(b->pid, sb_deadline_min(deadline_ns, sb_deadline_after(5))) < 0) {
			pid_t kids[64];
			size_t n = sb_rt_descendants(b->pid, kids, 64);
			sb_proc_kill_group(b->pid);
			for (size_t i = 0; i < n && i < 64; i++)
				kill(kids[i], SIGKILL);
			if (sb_eng_wait_child(b->pid, sb_deadline_after(5)) < 0)
				rc = sb_error_set(err, ETIMEDOUT, "firejail: sandbox %s did not end", b->name);
		}
		b->pid = 0;
	}
	if (b->dir[0]) {
		if (sb_rt_umount_below(b->dir) > 0 && rc == 0)
			rc = sb_error_set(err, EBUSY, "firejail: mounts left below %s", b->dir);
		sb_rm_rf(b->dir);
	}
	return rc;
}

static int fj_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
		     struct sb_error *err)
{
	int rc;
	if (!spec->rootfs)
		return sb_error_set(err, EINVAL, "firejail: no rootfs given (sandbench image build makes one)");
	const char *net = sb_params_get_def(spec->params, fj_params, "net");
	if (strcmp(net, "host") != 0 && strcmp(net, "none") != 0)
		return sb_error_set(err, EINVAL, "firejail: net=%s: expected host or none", net);
	if ((rc = sb_rt_volumes_check("firejail", spec, NULL, err)) < 0)
		return rc;
	struct sb_box *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	b->hold_fd = -1;
	snprintf(b->name, sizeof(b->name), "%s", spec->name);
	snprintf(b->dir, sizeof(b->dir), "%s/%s", FJ_STATE, spec->name);
	/* the dir appears with its marker in it, so doctor can clean up a box whose run died at any
	 * later step */
	if ((rc = sb_rt_state_dir_make(b->dir, "firejail", spec->name, err)) < 0) {
		b->dir[0] = '\0';
		goto fail;
	}
	char nameopt[128], chopt[PATH_MAX + 16], errf[PATH_MAX + 16], pidkv[64];
	snprintf(nameopt, sizeof(nameopt), "--name=%s", spec->name);
	snprintf(chopt, sizeof(chopt), "--chroot=%s/root", b->dir);
	if ((rc = mount_overlay(spec->rootfs, b->dir, err)) < 0 || (rc = mount_volumes(spec, b->dir, err)) < 0)
		goto fail;
	snprintf(errf, sizeof(errf), "%s/firejail.err", b->dir);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = sb_error_set(err, errno, "pipe: %s", strerror(errno));
		goto fail;
	}
	int efd = open(errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct sb_argv a = {0};
	sb_argv_add_all(&a, (const char *const[]){"firejail", "--quiet", "--noprofile", nameopt, chopt,
						  NULL});
	if (strcmp(net, "none") == 0)
		sb_argv_add(&a, "--net=none");
	sb_argv_add_all(&a, (const char *const[]){"/sandbench-agent", "idle", NULL});
	rc = sb_argv_ok(&a, err);
	if (rc == 0)
		rc = sb_rt_spawn(sb_argv_get(&a), fj_env, p[0], -1, efd, -1, &b->pid, err);
	sb_argv_free(&a);
	close(p[0]);
	if (efd >= 0)
		close(efd);
	b->hold_fd = p[1];
	if (rc < 0)
		goto fail;
	/* the marker names the firejail pid too, so doctor can end a sandbox whose run died */
	snprintf(pidkv, sizeof(pidkv), "pid=%d\nstart=%llu\n", (int)b->pid, sb_rt_proc_start(b->pid));
	if ((rc = sb_rt_marker_write(b->dir, "firejail", spec->name, pidkv, err)) < 0)
		goto fail;
	char what[160];
	snprintf(what, sizeof(what), "firejail (sandbox %s)", spec->name);
	if ((rc = sb_rt_wait_launch(&b->pid, fj_ready, &b->pid, errf, 500, deadline_ns, what, err)) < 0)
		goto fail;
	*out = b;
	return 0;
fail:;
	struct sb_error e2 = {0};
	teardown(b, sb_deadline_after(10), &e2);
	free(b);
	return rc;
}

static void join_opt(struct sb_box *box, char *buf, size_t len)
{
	snprintf(buf, len, "--join=%d", (int)box->pid);
}

static int fj_exec(struct sb_box *box, const struct sb_exec_req *req, struct sb_proc_result *res,
		   struct sb_error *err)
{
	char join[48];
	join_opt(box, join, sizeof(join));
	const char *prefix[] = {"firejail", "--quiet", join, NULL};
	return sb_rt_exec(prefix, req, fj_env, res, err);
}

static int fj_agent_open(struct sb_box *box, struct sb_agent_conn *conn, int64_t deadline_ns,
			 struct sb_error *err)
{
	char join[48];
	join_opt(box, join, sizeof(join));
	const char *argv[] = {"firejail", "--quiet", join, "/sandbench-agent", "serve", NULL};
	return sb_proc_spawn_piped(argv, &conn->pid, &conn->to_agent, &conn->from_agent, NULL, err);
}

static int fj_stop(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	char what[160];
	snprintf(what, sizeof(what), "firejail: sandbox %s", box->name);
	return sb_eng_release_launcher(&box->hold_fd, &box->pid, deadline_ns, what, err);
}

static int fj_destroy(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	int rc = teardown(box, deadline_ns, err);
	free(box);
	return rc;
}

/* firejail makes no cgroup of its own: account the sandbox's processes through /proc. */
static int fj_pids(struct sb_box *box, pid_t *pids, size_t cap, size_t *n, struct sb_error *err)
{
	if (box->pid <= 0)
		return sb_error_set(err, ESRCH, "firejail: sandbox %s is not running", box->name);
	*n = sb_rt_descendants(box->pid, pids, cap);
	return 0;
}

/* The outer firejail (our child) waits on the host for the sandbox it set up; fj_pids lists its
 * descendants, never itself. */
static int fj_host_pids(struct sb_box *box, struct sb_host_proc *procs, size_t cap, size_t *n,
			struct sb_error *err)
{
	if (box->pid <= 0)
		return sb_error_set(err, ESRCH, "firejail: sandbox %s is not running", box->name);
	sb_rt_host_proc_add(procs, cap, n, box->pid, "firejail", false, 1);
	return 0;
}

static int fj_stats(struct sb_box *box, struct sb_box_stats *out, struct sb_error *err)
{
	pid_t pids[512];
	size_t n = 0;
	int rc = fj_pids(box, pids, 512, &n, err);
	if (rc < 0)
		return rc;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < n && i < 512; i++) {
		char path[64], buf[1024];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pids[i]);
		if (sb_read_line(path, buf, sizeof(buf)) < 0)
			continue;
		char *p = strrchr(buf, ')');
		unsigned long long ut = 0, st = 0;
		long long rss = 0;
		/* after "pid (comm)": state is field 3, utime 14, stime 15, rss 24 */
		if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
				 "%*d %*d %*u %*u %lld", &ut, &st, &rss) != 3)
			continue;
		out->cpu_ns += (ut + st) * (1000000000ULL / (unsigned long long)tick);
		out->rss_bytes += (uint64_t)rss * (uint64_t)page;
		out->pids++;
	}
	out->mem_bytes = out->rss_bytes;
	return 0;
}

static int fj_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	int found = sb_rt_unfinished_dirs(FJ_STATE, clean, emit, arg);
	DIR *d = opendir(FJ_STATE);
	if (!d)
		return found;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char dir[PATH_MAX], *marker = NULL, line[600], pid_s[32] = "", start_s[32] = "";
		snprintf(dir, sizeof(dir), "%s/%s", FJ_STATE, de->d_name);
		struct stat st;
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (sb_rt_marker_read(dir, &marker) == 0) {
			bool alive = sb_rt_marker_owner_alive(marker);
			sb_rt_kv(marker, "pid", pid_s, sizeof(pid_s));
			sb_rt_kv(marker, "start", start_s, sizeof(start_s));
			free(marker);
			if (alive)
				continue;
		} else if (time(NULL) - st.st_mtime < 60) {
			continue; /* being made right now */
		}
		pid_t pid = (pid_t)atoi(pid_s);
		bool running = pid > 0 && sb_rt_proc_alive(pid, strtoull(start_s, NULL, 10));
		found++;
		snprintf(line, sizeof(line), "sandbox %s%s, its run is gone%s", de->d_name,
			 running ? " (still running)" : "", clean ? ": removing" : "");
		emit(arg, line);
		if (!clean)
			continue;
		if (running) {
			pid_t kids[64];
			size_t n = sb_rt_descendants(pid, kids, 64);
			kill(pid, SIGKILL);
			for (size_t i = 0; i < n && i < 64; i++)
				kill(kids[i], SIGKILL);
		}
		sb_rt_umount_below(dir);
		sb_rm_rf(dir);
	}
	closedir(d);
	(void)err;
	return found;
}

/* Whether the last "chroot yes|no" line of firejail.config says yes (firejail's default is no). */
static bool chroot_enabled(const char *text)
{
	bool yes = false;
	for (const char *l = text; l && *l;) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (strncmp(l, "chroot", 6) == 0 && (l[6] == ' ' || l[6] == '\t')) {
			const char *v = l + 6;
			while (*v == ' ' || *v == '\t')
				v++;
			yes = strncmp(v, "yes", 3) == 0;
		}
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	return yes;
}

static int fj_host_fix(enum sb_host_fix_mode mode, sb_line_fn emit, void *arg, struct sb_error *err)
{
	char *text = NULL, rec[PATH_MAX];
	size_t len = 0;
	snprintf(rec, sizeof(rec), "%s/firejail.record", SB_ENG_HOSTFIX_DIR);
	if (sb_read_file(FJ_CONFIG, &text, &len, NULL) < 0) {
		emit(arg, "firejail is not installed (no " FJ_CONFIG "): nothing to change");
		return 0;
	}
	bool yes = chroot_enabled(text);
	char *mark = strstr(text, FJ_MARK);
	int rc = 0;
	if (mode == SB_HOST_EXPLAIN) {
		emit(arg, yes ? (mark ? "chroot enabled in " FJ_CONFIG " by --prepare-host (--restore-host "
				      "undoes it)" : "chroot already enabled in " FJ_CONFIG ": no change needed")
			      : "firejail refuses --chroot until " FJ_CONFIG " says 'chroot yes': "
				"--prepare-host appends that line (marked), --restore-host removes it");
	} else if (mode == SB_HOST_APPLY) {
		if (yes) {
			emit(arg, "chroot already enabled: nothing to do");
		} else {
			char *n = NULL;
			if (asprintf(&n, "%s%s%s\nchroot yes\n", text,
				     len && text[len - 1] != '\n' ? "\n" : "", FJ_MARK) < 0)
				n = NULL;
			rc = n ? sb_write_file_atomic(FJ_CONFIG, n, strlen(n), err)
			       : sb_error_set(err, ENOMEM, "out of memory");
			free(n);
			static const char r[] = "file=" FJ_CONFIG "\nadded=" FJ_MARK "\\nchroot yes\n";
			if (rc == 0 && sb_mkdir_p(SB_ENG_HOSTFIX_DIR, 0755) == 0)
				sb_write_file_atomic(rec, r, sizeof(r) - 1, NULL);
			if (rc == 0)
				emit(arg, "appended 'chroot yes' to " FJ_CONFIG " (recorded in " SB_ENG_HOSTFIX_DIR
					  "/firejail.record)");
		}
	} else if (mark) {
		/* remove exactly the two lines --prepare-host added, wherever they are now */
		char *after = mark + strlen(FJ_MARK);
		if (*after == '\n')
			after++;
		if (strncmp(after, "chroot yes\n", 11) == 0)
			after += 11;
		memmove(mark, after, strlen(after) + 1);
		rc = sb_write_file_atomic(FJ_CONFIG, text, strlen(text), err);
		if (rc == 0) {
			unlink(rec);
			emit(arg, "removed the 'chroot yes' --prepare-host added to " FJ_CONFIG);
		}
	} else {
		unlink(rec);
		emit(arg, "nothing to restore (sandbench did not change " FJ_CONFIG ")");
	}
	free(text);
	return rc;
}

const struct sb_driver sb_driver_firejail = {
	.name = "firejail",
	.summary = "firejail --chroot into a per-box overlay of the standard rootfs, --join per command",
	.caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_STATS | SB_CAP_ISOLATION | SB_CAP_PIDS | SB_CAP_VOLUMES,
	.params = fj_params,
	.image = SB_IMAGE_ROOTFS,
	.agent_in_box = "/sandbench-agent",
	.probe = fj_probe,
	.box_create = fj_create,
	.box_exec = fj_exec,
	.box_agent_open = fj_agent_open,
	.box_stop = fj_stop,
	.box_destroy = fj_destroy,
	.box_stats = fj_stats,
	.box_pids = fj_pids,
	.box_host_pids = fj_host_pids,
	.leftovers = fj_leftovers,
	.host_fix = fj_host_fix,
};
