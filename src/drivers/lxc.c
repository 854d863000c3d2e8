/* The `lxc` driver: one application container per box, started with lxc-execute on an overlay of
 * the standard rootfs (a private writable layer per box, the shared tree untouched), commands run
 * with lxc-attach. lxc-execute stays our child with its stdin on a pipe we hold: the agent's idle
 * loop ends on EOF, so a sandbench that dies for any reason takes its containers with it. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

extern const struct sb_driver sb_driver_lxc;

/* lxcpath of every box: sandbench's alone, so everything below it is ours */
#define LXC_ROOT SB_RT_STATE_ROOT "/lxc"

struct sb_box {
	char name[96];
	char dir[PATH_MAX];
	pid_t exec_pid;  /* lxc-execute, our child */
	int hold_fd;     /* write end of its stdin: closing it ends the container */
	pid_t init_pid;  /* the container's init on the host, 0 until looked up */
};

static const struct sb_param_def lxc_params[] = {
	{"net", "none", "network: none (a private namespace with loopback), host, or veth (that namespace with a "
			"veth pair to the host, 10.216.x.y/30; chosen when a scenario asks for a link)", "none|host|veth"},
	{NULL, NULL, NULL, NULL},
};

/* The boxes' host<->sandbox links (net=veth): sbl<slot>, 10.216.0.0/16, moved into the container's
 * own network namespace once it runs (rt_net.c); they go with it. */
static struct sb_veth_range lxc_veths = SB_VETH_RANGE("sbl", 216);

static const char *const lxc_env[] = {SB_RT_BOX_PATH, "HOME=/root", NULL};

static void lxc_probe(const struct sb_params *params, struct sb_probe *out)
{
	memset(out, 0, sizeof(*out));
	char bin[PATH_MAX];
	if (sb_rt_which("lxc-execute", bin, sizeof(bin)) < 0) {
		snprintf(out->reason, sizeof(out->reason), "lxc: not installed (no lxc-execute in PATH)");
		return;
	}
	const char *ver[] = {bin, "--version", NULL};
	sb_rt_version(ver, 5, out->version, sizeof(out->version));
	char dir[PATH_MAX], cfg[PATH_MAX + 64], text[512], name[64];
	if (sb_eng_probe_rootfs(dir, sizeof(dir), out->reason, sizeof(out->reason)) < 0)
		return;
	/* the trial rootfs is shared and read-only to the trial: run it on a plain dir rootfs */
	snprintf(name, sizeof(name), "sb-probe-%d", (int)getpid());
	snprintf(cfg, sizeof(cfg), "%s/%s.conf", LXC_ROOT, name);
	snprintf(text, sizeof(text),
		 "lxc.uts.name = probe\nlxc.rootfs.path = dir:%s\nlxc.net.0.type = empty\n"
		 "lxc.mount.auto = proc:mixed sys:ro\nlxc.autodev = 1\nlxc.tty.max = 0\n"
		 "lxc.console.path = none\n", dir);
	struct sb_error err = {0};
	if (sb_mkdir_p(LXC_ROOT, 0755) < 0 || sb_write_file_atomic(cfg, text, strlen(text), &err) < 0) {
		snprintf(out->reason, sizeof(out->reason), "lxc: cannot write %s", cfg);
		return;
	}
	const char *trial[] = {bin, "-n", name, "-P", LXC_ROOT, "-f", cfg, "--", "/sandbench-agent", "true",
			       NULL};
	int rc = sb_rt_run(trial, sb_deadline_after(30), NULL, &err);
	unlink(cfg);
	char leftover[PATH_MAX + 64];
	snprintf(leftover, sizeof(leftover), "%s/%s", LXC_ROOT, name);
	sb_rm_rf(leftover);
	if (rc < 0) {
		snprintf(out->reason, sizeof(out->reason), "lxc: trial container failed: %s", err.msg);
		return;
	}
	out->usable = true;
	out->caps = sb_driver_lxc.caps;
}

/* v1 key when the controller is on a v1 hierarchy here (hybrid hosts), else the cgroup2 key. */
static bool v1_has(const char *controller, const char *file)
{
	char path[256];
	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s", controller, file);
	return access(path, F_OK) == 0;
}

static int write_config(const struct sb_box_spec *spec, const char *dir, const char *net,
			struct sb_error *err)
{
	char text[4096 + SB_RT_MAX_VOLUMES * 2100], path[PATH_MAX + 16];
	size_t n = 0;
#define ADD(...) n += (size_t)snprintf(text + n, n < sizeof(text) ? sizeof(text) - n : 0, __VA_ARGS__)
	ADD("lxc.uts.name = %s\n", spec->name);
	/* overlay: every box writes into its own delta, the shared rootfs stays pristine */
	ADD("lxc.rootfs.path = overlay:%s:%s/delta\n", spec->rootfs, dir);
	ADD("lxc.net.0.type = %s\n", strcmp(net, "host") == 0 ? "none" : "empty");
	ADD("lxc.mount.auto = proc:mixed sys:ro cgroup:mixed\n");
	ADD("lxc.autodev = 1\nlxc.tty.max = 0\nlxc.pty.max = 16\nlxc.console.path = none\n");
	/* a relative target is below the container's root; create=dir makes the mount point in the
	 * box's own overlay layer */
	for (size_t i = 0; i < spec->nvolumes; i++)
		ADD("lxc.mount.entry = %s %s none rbind,create=dir%s 0 0\n", spec->volumes[i].host_path,
		    spec->volumes[i].box_path + 1, spec->volumes[i].readonly ? ",ro" : "");
	if (spec->mem_limit_bytes) {
		if (v1_has("memory", "memory.limit_in_bytes"))
			ADD("lxc.cgroup.memory.limit_in_bytes = %llu\n", (unsigned long long)spec->mem_limit_bytes);
		else
			ADD("lxc.cgroup2.memory.max = %llu\n", (unsigned long long)spec->mem_limit_bytes);
	}
	if (spec->pids_limit)
		ADD("lxc.cgroup%s.pids.max = %llu\n", v1_has("pids", "pids.max") ? "" : "2",
		    (unsigned long long)spec->pids_limit);
	if (spec->cpu_limit > 0) {
		long long quota = (long long)(spec->cpu_limit * 100000);
		if (v1_has("cpu", "cpu.cfs_quota_us"))
			ADD("lxc.cgroup.cpu.cfs_period_us = 100000\nlxc.cgroup.cpu.cfs_quota_us = %lld\n", quota);
		else
			ADD("lxc.cgroup2.cpu.max = %lld 100000\n", quota);
	}
#undef ADD
	if (n >= sizeof(text))
		return sb_error_set(err, ENAMETOOLONG, "lxc: config for %s too long", spec->name);
	snprintf(path, sizeof(path), "%s/config", dir);
	return sb_write_file_atomic(path, text, n, err);
}

/* Ready when lxc says RUNNING (polled: lxc-wait sleeps a whole second between looks). */
struct lxc_ready_arg {
	const char *name;
	int64_t deadline_ns;
};

static bool lxc_running(void *arg)
{
	const struct lxc_ready_arg *ra = arg;
	const char *info[] = {"lxc-info", "-n", ra->name, "-P", LXC_ROOT, "-s", "-H", NULL};
	char *state = NULL;
	bool running = sb_rt_run(info, ra->deadline_ns, &state, NULL) == 0 && strncmp(state, "RUNNING", 7) == 0;
	free(state);
	return running;
}

/* Close the pipe (the idle agent exits on EOF), wait for lxc-execute; kill the container when it
 * does not end in time, then remove the box's mounts and state. */
static int teardown(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	int rc = 0;
	if (b->hold_fd >= 0)
		close(b->hold_fd);
	b->hold_fd = -1;
	if (b->exec_pid > 0) {
		int64_t soft = sb_deadline_min(deadline_ns, sb_deadline_after(5));
		if (sb_eng_wait_child(b->exec_pid, soft) < 0) {
			const char *stop[] = {"lxc-stop", "-n", b->name, "-P", LXC_ROOT, "-k", NULL};
			sb_eng_run_teardown(stop, sb_deadline_after(10), NULL);
			if (sb_eng_wait_child(b->exec_pid, sb_deadline_after(5)) < 0) {
				sb_proc_kill_group(b->exec_pid);
				rc = sb_error_set(err, ETIMEDOUT, "lxc: container %s did not stop", b->name);
			}
		}
		b->exec_pid = 0;
	}
	if (b->dir[0]) {
		sb_rt_net_release(&lxc_veths, b->dir);
		if (sb_rt_umount_below(b->dir) > 0 && rc == 0)
			rc = sb_error_set(err, EBUSY, "lxc: mounts left below %s", b->dir);
		sb_rm_rf(b->dir);
	}
	return rc;
}

static int init_pid(struct sb_box *box, struct sb_error *err);

static int lxc_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
		      struct sb_error *err)
{
	if (!spec->rootfs)
		return sb_error_set(err, EINVAL, "lxc: no rootfs given (sandbench image build makes one)");
	const char *net = sb_params_get(spec->params, "net");
	if (!net)
		net = spec->net == SB_BOX_NET_LINK && !spec->strict ? "veth" : "none";
	if (strcmp(net, "none") != 0 && strcmp(net, "host") != 0 && strcmp(net, "veth") != 0)
		return sb_error_set(err, EINVAL, "lxc: net=%s: expected none, host or veth", net);
	/* lxc.mount.entry is an fstab line: blanks separate its fields */
	int vrc = sb_rt_volumes_check("lxc", spec, " \t", err);
	if (vrc < 0)
		return vrc;
	struct sb_box *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	b->hold_fd = -1;
	snprintf(b->name, sizeof(b->name), "%s", spec->name);
	snprintf(b->dir, sizeof(b->dir), "%s/%s", LXC_ROOT, spec->name);
	char delta[PATH_MAX + 16], cfg[PATH_MAX + 16], errf[PATH_MAX + 16];
	snprintf(delta, sizeof(delta), "%s/delta", b->dir);
	snprintf(cfg, sizeof(cfg), "%s/config", b->dir);
	snprintf(errf, sizeof(errf), "%s/execute.err", b->dir);
	int rc = 0;
	/* the dir appears with its marker in it: a run killed at any moment leaves nothing unmarked */
	if ((rc = sb_rt_state_dir_make(b->dir, "lxc", spec->name, err)) < 0) {
		b->dir[0] = '\0'; /* not ours to remove if it could not be made */
		goto fail;
	}
	if (mkdir(delta, 0755) < 0) {
		rc = sb_error_set(err, errno, "lxc: cannot create %s: %s", delta, strerror(errno));
		goto fail;
	}
	if ((rc = write_config(spec, b->dir, net, err)) < 0)
		goto fail;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = sb_error_set(err, errno, "pipe: %s", strerror(errno));
		goto fail;
	}
	int efd = open(errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const char *argv[] = {"lxc-execute", "-n", spec->name, "-P", LXC_ROOT, "-f", cfg, "--",
			      "/sandbench-agent", "idle", NULL};
	rc = sb_rt_spawn(argv, lxc_env, p[0], -1, efd, -1, &b->exec_pid, err);
	close(p[0]);
	if (efd >= 0)
		close(efd);
	b->hold_fd = p[1];
	if (rc < 0)
		goto fail;
	/* ready when lxc says RUNNING (polled: lxc-wait sleeps a whole second between looks); a
	 * lxc-execute that exits first failed, and its stderr says why */
	struct lxc_ready_arg ra = {.name = spec->name, .deadline_ns = deadline_ns};
	char what[160];
	snprintf(what, sizeof(what), "lxc: lxc-execute (container %s)", spec->name);
	if ((rc = sb_rt_wait_launch(&b->exec_pid, lxc_running, &ra, errf, 1000, deadline_ns, what, err)) < 0)
		goto fail;
	if (strcmp(net, "veth") == 0 &&
	    ((rc = init_pid(b, err)) < 0 || (rc = sb_rt_net_attach(&lxc_veths, b->dir, b->init_pid, err)) < 0))
		goto fail;
	*out = b;
	return 0;
fail:;
	struct sb_error e2 = {0};
	teardown(b, sb_deadline_after(15), &e2);
	free(b);
	return rc;
}

static int lxc_exec(struct sb_box *box, const struct sb_exec_req *req, struct sb_proc_result *res,
		    struct sb_error *err)
{
	const char *prefix[] = {"lxc-attach", "-n", box->name, "-P", LXC_ROOT, "--clear-env", "--", NULL};
	return sb_rt_exec(prefix, req, lxc_env, res, err);
}

static int lxc_agent_open(struct sb_box *box, struct sb_agent_conn *conn, int64_t deadline_ns,
			  struct sb_error *err)
{
	const char *argv[] = {"lxc-attach", "-n", box->name, "-P", LXC_ROOT, "--clear-env", "--",
			      "/sandbench-agent", "serve", NULL};
	return sb_proc_spawn_piped(argv, &conn->pid, &conn->to_agent, &conn->from_agent, NULL, err);
}

static int lxc_stop(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	char what[160];
	snprintf(what, sizeof(what), "lxc: container %s", box->name);
	return sb_eng_release_launcher(&box->hold_fd, &box->exec_pid, deadline_ns, what, err);
}

static int lxc_addr(struct sb_box *box, struct sb_box_addr *out, struct sb_error *err)
{
	if (sb_rt_net_addr(box->dir, out) < 0)
		return sb_error_set(err, ENOTSUP, "lxc: box %s has no veth (net=veth makes one)", box->name);
	return 0;
}

static int lxc_destroy(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	int rc = teardown(box, deadline_ns, err);
	free(box);
	return rc;
}

static int init_pid(struct sb_box *box, struct sb_error *err)
{
	if (box->init_pid > 0)
		return 0;
	const char *argv[] = {"lxc-info", "-n", box->name, "-P", LXC_ROOT, "-p", "-H", NULL};
	char *out = NULL;
	int rc = sb_rt_run(argv, sb_deadline_after(10), &out, err);
	if (rc == 0 && (box->init_pid = (pid_t)atoi(out)) <= 0)
		rc = sb_error_set(err, ESRCH, "lxc: container %s is not running", box->name);
	free(out);
	return rc;
}

/* lxc-ls of sandbench's own lxcpath: every box there is one of ours. */
static int lxc_list(const struct sb_box_spec *spec, sb_line_fn emit, void *arg, int64_t deadline_ns,
		    struct sb_error *err)
{
	const char *argv[] = {"lxc-ls", "-P", LXC_ROOT, "-1", NULL};
	char *out = NULL;
	int rc = sb_rt_run(argv, deadline_ns, &out, err), n = 0;
	for (char *save, *l = rc == 0 ? strtok_r(out, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save), n++)
		emit(arg, l);
	free(out);
	return rc < 0 ? rc : n;
}

static int lxc_inspect(struct sb_box *box, struct sb_box_info *out, int64_t deadline_ns, struct sb_error *err)
{
	const char *argv[] = {"lxc-info", "-n", box->name, "-P", LXC_ROOT, "-s", "-p", NULL};
	char *text = NULL;
	int rc = sb_rt_run(argv, deadline_ns, &text, err);
	for (char *save, *l = rc == 0 ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		char word[32];
		int pid;
		if (sscanf(l, "State: %31s", word) == 1) {
			for (char *c = word; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
			snprintf(out->status, sizeof(out->status), "%s", word);
		} else if (sscanf(l, "PID: %d", &pid) == 1) {
			out->pid = pid;
		}
	}
	free(text);
	if (rc == 0 && !out->status[0])
		rc = sb_error_set(err, EPROTO, "lxc: lxc-info %s said no state", box->name);
	/* lxc-info names no container but the one asked for: it answered for this name */
	snprintf(out->name, sizeof(out->name), "%s", box->name);
	return rc;
}

static int lxc_stats(struct sb_box *box, struct sb_box_stats *out, struct sb_error *err)
{
	int rc = init_pid(box, err);
	return rc < 0 ? rc : sb_eng_cgroup_stats(box->init_pid, box->name, out, err);
}

static int lxc_pids(struct sb_box *box, pid_t *pids, size_t cap, size_t *n, struct sb_error *err)
{
	int rc = init_pid(box, err);
	return rc < 0 ? rc : sb_eng_cgroup_pids(box->init_pid, box->name, pids, cap, n, err);
}

/* lxc-execute (our child) stays on the host as the container's monitor, in its own cgroup. */
static int lxc_host_pids(struct sb_box *box, struct sb_host_proc *procs, size_t cap, size_t *n,
			 struct sb_error *err)
{
	if (box->exec_pid <= 0)
		return sb_error_set(err, ESRCH, "lxc: container %s is not running", box->name);
	sb_rt_host_proc_add(procs, cap, n, box->exec_pid, "lxc-monitor", false, 1);
	return 0;
}

/* Children first: lxc-attach puts attached processes into a hidden ".lxc" child on cgroup2. */
static void rmdir_cgroup(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char sub[PATH_MAX];
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		rmdir_cgroup(sub);
	}
	if (d)
		closedir(d);
	sb_rt_cgroup_remove(path, sb_deadline_after(2));
}

/* The per-box cgroups lxc makes (lxc.payload.NAME, lxc.monitor.NAME) on every hierarchy: left
 * behind only when lxc-execute itself was killed before it could clean up. */
static int remove_cgroups(const char *name, bool clean, sb_line_fn emit, void *arg)
{
	int found = 0;
	const char *pats[] = {"/sys/fs/cgroup/*/lxc.payload.%s", "/sys/fs/cgroup/*/lxc.monitor.%s",
			      "/sys/fs/cgroup/lxc.payload.%s", "/sys/fs/cgroup/lxc.monitor.%s"};
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		char pat[PATH_MAX];
		snprintf(pat, sizeof(pat), pats[i], name);
		glob_t g;
		if (glob(pat, GLOB_ONLYDIR, NULL, &g) != 0)
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++) {
			found++;
			if (clean)
				rmdir_cgroup(g.gl_pathv[k]);
		}
		globfree(&g);
	}
	if (found) {
		char line[300];
		snprintf(line, sizeof(line), "%d cgroup(s) of %s%s", found, name, clean ? ": removed" : "");
		emit(arg, line);
	}
	return found ? 1 : 0;
}

/* Box cgroups whose state directory is gone: a lxc-execute killed outright cannot remove them.
 * Only empty ones count, so a live container is never touched. */
static int orphan_cgroups(bool clean, sb_line_fn emit, void *arg)
{
	glob_t g;
	int found = 0;
	if (glob("/sys/fs/cgroup/*/lxc.payload.sb-*", GLOB_ONLYDIR, NULL, &g) != 0 &&
	    glob("/sys/fs/cgroup/lxc.payload.sb-*", GLOB_ONLYDIR, NULL, &g) != 0)
		return 0;
	char seen[4096] = "";
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *name = strstr(g.gl_pathv[i], "lxc.payload.") + 12;
		char dir[PATH_MAX], procs[PATH_MAX + 16], key[128], buf[32];
		snprintf(dir, sizeof(dir), "%s/%s", LXC_ROOT, name);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", g.gl_pathv[i]);
		snprintf(key, sizeof(key), " %s ", name);
		if (sb_is_dir(dir) || strstr(seen, key) || sb_read_line(procs, buf, sizeof(buf)) >= 0)
			continue; /* a live box, already counted, or not empty */
		if (strlen(seen) + strlen(key) < sizeof(seen))
			strcat(seen, key);
		found += remove_cgroups(name, clean, emit, arg);
	}
	globfree(&g);
	return found;
}

static int lxc_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	int found = sb_rt_unfinished_dirs(LXC_ROOT, clean, emit, arg);
	DIR *d = opendir(LXC_ROOT);
	if (!d)
		return found + orphan_cgroups(clean, emit, arg);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char dir[PATH_MAX], *marker = NULL, line[600];
		snprintf(dir, sizeof(dir), "%s/%s", LXC_ROOT, de->d_name);
		struct stat st;
		if (lstat(dir, &st) < 0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			/* a probe's config, left when its run was killed mid-probe */
			if (time(NULL) - st.st_mtime > 60 && strncmp(de->d_name, "sb-probe-", 9) == 0) {
				found++;
				if (clean)
					unlink(dir);
			}
			continue;
		}
		if (sb_rt_marker_read(dir, &marker) == 0) {
			bool alive = sb_rt_marker_owner_alive(marker);
			free(marker);
			if (alive)
				continue;
		} else if (time(NULL) - st.st_mtime < 60) {
			continue; /* a box being made right now has no marker for a moment */
		}
		found++;
		snprintf(line, sizeof(line), "container %s (%s), its run is gone%s", de->d_name, dir,
			 clean ? ": removing" : "");
		emit(arg, line);
		if (!clean)
			continue;
		const char *stop[] = {"lxc-stop", "-n", de->d_name, "-P", LXC_ROOT, "-k", NULL};
		sb_rt_run(stop, sb_deadline_after(20), NULL, NULL);
		sb_rt_net_release(&lxc_veths, dir);
		sb_rt_umount_below(dir);
		if (sb_rm_rf(dir) < 0)
			sb_error_set(err, EBUSY, "lxc: cannot remove %s", dir);
		remove_cgroups(de->d_name, clean, emit, arg);
	}
	closedir(d);
	found += orphan_cgroups(clean, emit, arg);
	return err && err->code ? -err->code : found;
}

const struct sb_driver sb_driver_lxc = {
	.name = "lxc",
	.summary = "LXC application container (lxc-execute on an overlay of the standard rootfs, lxc-attach per command)",
	.caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_STATS | SB_CAP_MEMLIMIT | SB_CAP_CPULIMIT |
		SB_CAP_PIDLIMIT | SB_CAP_ISOLATION | SB_CAP_PIDS | SB_CAP_NET | SB_CAP_VOLUMES,
	.params = lxc_params,
	.image = SB_IMAGE_ROOTFS,
	.list = lxc_list,
	.box_inspect = lxc_inspect,
	.agent_in_box = "/sandbench-agent",
	.probe = lxc_probe,
	.box_create = lxc_create,
	.box_exec = lxc_exec,
	.box_agent_open = lxc_agent_open,
	.box_stop = lxc_stop,
	.box_destroy = lxc_destroy,
	.box_stats = lxc_stats,
	.box_addr = lxc_addr,
	.box_pids = lxc_pids,
	.box_host_pids = lxc_host_pids,
	.leftovers = lxc_leftovers,
};
