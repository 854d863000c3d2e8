/* The `nspawn` driver: systemd-nspawn, the container manager that ships with systemd, one
 * long-lived container per box on a writable overlay of the standard rootfs.
 *
 * Per box, under /run/sandbench/nspawn/<box>: a marker, the overlay (upper/ work/ on the shared
 * rootfs, mounted at root/; nspawn writes into its root, and --volatile=overlay cannot be used
 * here: it fails mounting the hybrid hierarchy's hugetlb controller), and cgroups
 * sandbench-<box> on every hierarchy made by the driver before nspawn starts, so the container's
 * accounting (stats, pids) and its removal are the driver's: with --keep-unit and no systemd as
 * PID 1 nspawn would otherwise split the caller's own cgroup into payload/ and supervisor/ and
 * leave them behind.
 *
 * The container runs `sandbench-agent idle` as its PID 1 with --console=pipe, its stdin a pipe
 * sandbench holds: closing it (destroy, or sandbench dying for any reason) ends the container.
 * --register=no: there is no machined to register with on a host without systemd as PID 1.
 *
 * Exec enters the running container with nsenter on the container's PID 1 (the payload nspawn
 * forks): every namespace of it (mount, UTS, IPC, network, PID, cgroup) and its root and working
 * directory, after joining the box's cgroups (a one-line sh in front, so the command is counted
 * in the box's stats). `machinectl shell` is what a systemd host would use, but it asks machined
 * for a registered machine and then the container's own systemd for a transient unit: neither
 * exists here (--register=no, a non-systemd PID 1), so it cannot work. A command entered with
 * nsenter keeps the caller's capability set rather than nspawn's reduced one, and no seccomp
 * filter: the namespaces and the root are the container's, the privileges are not narrowed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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
#include "core/util.h"
#include "drivers/driver.h"
#include "drivers/engine.h"
#include "drivers/runtime_util.h"

extern const struct sb_driver sb_driver_nspawn;

#define NSPAWN_ROOT SB_RT_STATE_ROOT "/nspawn"
#define NSPAWN_CG_PREFIX "sandbench-"

static const struct sb_param_def nspawn_params[] = {
	{"net", "none", "none: --private-network (loopback only); host: the host's network; veth: a namespace "
			"of the driver's own with a veth pair to the host (10.215.x.y/30; chosen when a scenario "
			"asks for a link)", "none|host|veth"},
	{"bin", NULL, "the systemd-nspawn binary: a path or a name in PATH (default: systemd-nspawn)", NULL},
	{NULL, NULL, NULL, NULL},
};

/* The boxes' host<->sandbox links (net=veth): sbs<slot>, 10.215.0.0/16, joined by
 * --network-namespace-path (rt_net.c). */
static struct sb_veth_range nspawn_veths = SB_VETH_RANGE("sbs", 215);

static const char *const nspawn_env[] = {SB_RT_BOX_PATH, "HOME=/root", "TERM=dumb", NULL};

/* Joins each cgroup.procs file given before "--", then runs the rest: what puts nspawn (and every
 * command entered into the box) into the box's cgroups before it starts anything. */
static const char join_sh[] =
	"while [ \"$1\" != -- ]; do { echo $$ > \"$1\"; } 2>/dev/null; shift; done; shift; exec \"$@\"";

struct sb_box {
	char name[96];
	char dir[PATH_MAX];
	char bin[PATH_MAX];
	char cgdirs[4096];   /* sandbench-<box> on every hierarchy */
	char joins[4096];    /* the cgroup.procs files an entered command joins, newline-separated */
	pid_t nspawn_pid;    /* systemd-nspawn, our child */
	int hold_fd;         /* write end of the container's stdin */
	pid_t leader;        /* the container's PID 1 on the host */
};

/* ---- launching ---- */

/* sh -c join_sh sh <each line of files + "/cgroup.procs" or as is> -- then the rest. */
static void add_join_prefix(struct sb_argv *a, const char *files, bool append_procs)
{
	sb_argv_add_all(a, (const char *const[]){"/bin/sh", "-c", join_sh, "sh", NULL});
	for (const char *line = files; line && *line;) {
		size_t n = strcspn(line, "\n");
		if (n)
			sb_argv_addf(a, "%.*s%s", (int)n, line, append_procs ? "/cgroup.procs" : "");
		line += n + (line[n] == '\n');
	}
	sb_argv_add(a, "--");
}

/* The cgroups an entered command joins: nspawn's payload/ child where it made one (on the
 * hierarchies it manages), else the box's own directory. */
static void entry_cgroups(const char *cgdirs, char *out, size_t len)
{
	out[0] = '\0';
	for (const char *line = cgdirs; *line;) {
		size_t n = strcspn(line, "\n");
		char dir[2200], payload[2300];
		snprintf(dir, sizeof(dir), "%.*s", (int)n, line);
		snprintf(payload, sizeof(payload), "%s/payload", dir);
		const char *use = sb_is_dir(payload) ? payload : dir;
		if (n && strlen(out) + strlen(use) + 16 < len)
			snprintf(out + strlen(out), len - strlen(out), "%s/cgroup.procs\n", use);
		line += n + (line[n] == '\n');
	}
}

struct leader_arg {
	pid_t nspawn_pid;
	pid_t *leader;
};

/* Ready once nspawn's child (the container's PID 1) runs the agent. */
static bool leader_ready(void *arg)
{
	struct leader_arg *la = arg;
	pid_t kids[16];
	size_t n = sb_proc_children(la->nspawn_pid, kids, 16);
	for (size_t i = 0; i < n; i++) {
		char path[64], comm[64];
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)kids[i]);
		if (sb_read_line(path, comm, sizeof(comm)) == 0 && strcmp(comm, "sandbench-agent") == 0) {
			*la->leader = kids[i];
			return true;
		}
	}
	return false;
}

/* Overlay of rootfs at dir/root, cgroups, then systemd-nspawn running argv in it, inside them, with
 * the host directories vols bound in. */
static int launch(struct sb_box *b, const char *rootfs, const char *net, const struct sb_volume *vols,
		  size_t nvols, const char *const *payload, int64_t deadline_ns, struct sb_error *err)
{
	char upper[PATH_MAX + 16], work[PATH_MAX + 16], root[PATH_MAX + 16], errf[PATH_MAX + 16];
	snprintf(upper, sizeof(upper), "%s/upper", b->dir);
	snprintf(work, sizeof(work), "%s/work", b->dir);
	snprintf(root, sizeof(root), "%s/root", b->dir);
	snprintf(errf, sizeof(errf), "%s/nspawn.err", b->dir);
	if (sb_mkdir_p(upper, 0755) < 0 || sb_mkdir_p(work, 0755) < 0 || sb_mkdir_p(root, 0755) < 0)
		return sb_error_set(err, errno, "nspawn: cannot create %s: %s", b->dir, strerror(errno));
	char opts[3 * PATH_MAX + 64];
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", rootfs, upper, work);
	if (mount("overlay", root, "overlay", 0, opts) < 0)
		return sb_error_set(err, errno, "nspawn: overlay of %s at %s: %s", rootfs, root, strerror(errno));
	/* nspawn wants an OS tree (it checks for /usr); the overlay keeps that out of the shared tree */
	char usr[PATH_MAX + 16];
	snprintf(usr, sizeof(usr), "%s/usr", root);
	mkdir(usr, 0755);
	/* The cgroups are in the marker before they exist, so doctor finds them whatever happens. */
	char leaf[160], extra[4300];
	snprintf(leaf, sizeof(leaf), NSPAWN_CG_PREFIX "%s", b->name);
	sb_rt_cgroup_guess_dirs(leaf, b->cgdirs, sizeof(b->cgdirs));
	int n = snprintf(extra, sizeof(extra), "bin=%s\n", b->bin);
	for (const char *line = b->cgdirs; *line && n < (int)sizeof(extra);) {
		size_t len = strcspn(line, "\n");
		n += snprintf(extra + n, sizeof(extra) - (size_t)n, "cgroup=%.*s\n", (int)len, line);
		line += len + (line[len] == '\n');
	}
	int rc = sb_rt_marker_write(b->dir, "nspawn", b->name, extra, err);
	if (rc < 0)
		return rc;
	if ((rc = sb_rt_cgroup_make(leaf, b->cgdirs, sizeof(b->cgdirs))) < 0)
		return sb_error_set(err, -rc, "nspawn: cannot make cgroups %s: %s", leaf, strerror(-rc));
	bool veth = strcmp(net, "veth") == 0;
	if (veth && (rc = sb_rt_net_link(&nspawn_veths, b->dir, err)) < 0)
		return rc;
	struct sb_argv a = {0};
	add_join_prefix(&a, b->cgdirs, true);
	sb_argv_add_all(&a, (const char *const[]){b->bin, "--quiet", "--register=no", "--keep-unit",
						  "--console=pipe", "-D", root, NULL});
	sb_argv_addf(&a, "--machine=%s", b->name);
	if (strcmp(net, "none") == 0)
		sb_argv_add(&a, "--private-network");
	else if (veth)
		sb_argv_addf(&a, "--network-namespace-path=%s/" SB_RT_NETNS_FILE, b->dir);
	/* recursive binds; nspawn makes the mount point in the box's overlay */
	for (size_t i = 0; i < nvols; i++)
		sb_argv_addf(&a, "--bind%s=%s:%s", vols[i].readonly ? "-ro" : "", vols[i].host_path, vols[i].box_path);
	sb_argv_add(&a, "--");
	sb_argv_add_all(&a, payload);
	if ((rc = sb_argv_ok(&a, err)) < 0) {
		sb_argv_free(&a);
		return rc;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		sb_argv_free(&a);
		return sb_error_set(err, errno, "pipe: %s", strerror(errno));
	}
	int efd = open(errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	rc = sb_rt_spawn(sb_argv_get(&a), nspawn_env, p[0], -1, efd, -1, &b->nspawn_pid, err);
	sb_argv_free(&a);
	close(p[0]);
	if (efd >= 0)
		close(efd);
	b->hold_fd = p[1];
	if (rc < 0)
		return rc;
	struct leader_arg la = {.nspawn_pid = b->nspawn_pid, .leader = &b->leader};
	char what[160];
	snprintf(what, sizeof(what), "nspawn: systemd-nspawn (container %s)", b->name);
	if ((rc = sb_rt_wait_launch(&b->nspawn_pid, leader_ready, &la, errf, 500, deadline_ns, what, err)) < 0)
		return rc;
	entry_cgroups(b->cgdirs, b->joins, sizeof(b->joins));
	return 0;
}

/* Kill what is left in the cgroups (a container whose nspawn was killed), reap our zombies. */
static void kill_cgroup_members(const char *cgdirs)
{
	for (int round = 0; round < 3; round++) {
		pid_t pids[256];
		size_t n = 0;
		char dirs[8192] = "";
		/* the members sit in the leaf or in nspawn's payload/supervisor below it */
		for (const char *line = cgdirs; *line;) {
			size_t len = strcspn(line, "\n");
			snprintf(dirs + strlen(dirs), sizeof(dirs) - strlen(dirs), "%.*s\n%.*s/payload\n%.*s/supervisor\n",
				 (int)len, line, (int)len, line, (int)len, line);
			line += len + (line[len] == '\n');
		}
		for (const char *line = dirs; *line;) {
			size_t len = strcspn(line, "\n"), k = 0;
			char one[2400];
			snprintf(one, sizeof(one), "%.*s", (int)len, line);
			if (sb_rt_cgroup_pids(one, pids + n, 256 - n, &k) == 0)
				n += k < 256 - n ? k : 256 - n;
			line += len + (line[len] == '\n');
		}
		if (n == 0)
			return;
		for (size_t i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		for (size_t i = 0; i < n; i++)
			sb_rt_wait_gone(pids[i], sb_deadline_after(2));
		sb_eng_reap_ns_zombies();
	}
}

/* What nspawn keeps under /run/systemd/nspawn for a machine name, when it was killed. */
static void remove_nspawn_state(const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/run/systemd/nspawn/propagate/%s", name);
	sb_rm_rf(path);
}

/* Everything a box holds, in reverse order of making; also what doctor runs for a dead owner. */
static int teardown(const char *name, const char *dir, const char *cgdirs, int *hold_fd, pid_t *nspawn_pid,
		    int64_t deadline_ns, struct sb_error *err)
{
	int rc = 0;
	if (hold_fd && *hold_fd >= 0) {
		close(*hold_fd);
		*hold_fd = -1;
	}
	if (nspawn_pid && *nspawn_pid > 0) {
		/* EOF ends the agent, the container, then nspawn; a stuck one is killed */
		if (sb_eng_wait_child(*nspawn_pid, sb_deadline_min(deadline_ns, sb_deadline_after(5))) < 0) {
			kill(*nspawn_pid, SIGTERM);
			if (sb_eng_wait_child(*nspawn_pid, sb_deadline_after(3)) < 0)
				sb_proc_kill_group(*nspawn_pid);
		}
		*nspawn_pid = 0;
	}
	kill_cgroup_members(cgdirs);
	if (sb_rt_cgroup_remove_tree(cgdirs, sb_deadline_min(deadline_ns, sb_deadline_after(3))) > 0)
		rc = sb_error_set(err, EBUSY, "nspawn: cgroups of %s could not be removed", name);
	if (dir[0]) {
		sb_rt_net_release(&nspawn_veths, dir);
		if (sb_rt_umount_below(dir) > 0 && rc == 0)
			rc = sb_error_set(err, EBUSY, "nspawn: mounts left below %s", dir);
		int r = sb_rm_rf(dir);
		if (r < 0 && rc == 0)
			rc = sb_error_set(err, -r, "nspawn: cannot remove %s: %s", dir, strerror(-r));
	}
	remove_nspawn_state(name);
	return rc;
}

static void box_free(struct sb_box *b, int64_t deadline_ns, struct sb_error *err, int *rc)
{
	int r = teardown(b->name, b->dir, b->cgdirs, &b->hold_fd, &b->nspawn_pid, deadline_ns, err);
	if (rc && *rc == 0)
		*rc = r;
	free(b);
}

/* ---- vtable ---- */

static int nspawn_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
			 struct sb_error *err)
{
	*out = NULL;
	if (!spec->rootfs)
		return sb_error_set(err, EINVAL, "nspawn: no rootfs given (sandbench image build makes one)");
	const char *net = sb_params_get(spec->params, "net");
	if (!net)
		net = spec->net == SB_BOX_NET_LINK && !spec->strict ? "veth" : "none";
	if (strcmp(net, "none") != 0 && strcmp(net, "host") != 0 && strcmp(net, "veth") != 0)
		return sb_error_set(err, EINVAL, "nspawn: net=%s: expected none, host or veth", net);
	/* --bind=SRC:DEST[:OPTIONS]: a colon would split a path */
	int vrc = sb_rt_volumes_check("nspawn", spec, ":", err);
	if (vrc < 0)
		return vrc;
	struct sb_box *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	b->hold_fd = -1;
	snprintf(b->name, sizeof(b->name), "%s", spec->name);
	int rc = sb_rt_binary(spec->params, nspawn_params, "systemd-nspawn", b->bin, sizeof(b->bin), err);
	if (rc < 0) {
		free(b);
		return rc;
	}
	snprintf(b->dir, sizeof(b->dir), "%s/%s", NSPAWN_ROOT, spec->name);
	/* the dir appears with its marker in it: a run killed at any moment leaves nothing unmarked
	 * (launch rewrites the marker with the cgroups before making them) */
	if ((rc = sb_rt_state_dir_make(b->dir, "nspawn", b->name, err)) < 0) {
		free(b);
		return rc;
	}
	const char *payload[] = {"/sandbench-agent", "idle", NULL};
	if ((rc = launch(b, spec->rootfs, net, spec->volumes, spec->nvolumes, payload, deadline_ns, err)) < 0) {
		struct sb_error e2 = {0};
		box_free(b, sb_deadline_after(15), &e2, NULL);
		return rc;
	}
	*out = b;
	return 0;
}

/* sh (join the box's cgroups) + nsenter into the leader, then argv. */
static int enter_argv(struct sb_box *b, const char *const *argv, struct sb_argv *a, struct sb_error *err)
{
	add_join_prefix(a, b->joins, false);
	sb_argv_add(a, "nsenter");
	sb_argv_addf(a, "--target=%d", (int)b->leader);
	sb_argv_add_all(a, (const char *const[]){"--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup",
						 "--root", "--wd", "--", NULL});
	sb_argv_add_all(a, argv);
	return sb_argv_ok(a, err);
}

static int nspawn_exec(struct sb_box *b, const struct sb_exec_req *req, struct sb_proc_result *res,
		       struct sb_error *err)
{
	struct sb_argv a = {0};
	int rc = enter_argv(b, (const char *const[]){NULL}, &a, err);
	if (rc == 0)
		rc = sb_rt_exec(sb_argv_get(&a), req, nspawn_env, res, err);
	sb_argv_free(&a);
	return rc;
}

static int nspawn_agent_open(struct sb_box *b, struct sb_agent_conn *conn, int64_t deadline_ns,
			     struct sb_error *err)
{
	struct sb_argv a = {0};
	int rc = enter_argv(b, (const char *const[]){"/sandbench-agent", "serve", NULL}, &a, err);
	if (rc == 0)
		rc = sb_proc_spawn_piped(sb_argv_get(&a), &conn->pid, &conn->to_agent, &conn->from_agent, NULL, err);
	sb_argv_free(&a);
	return rc;
}

static int nspawn_stop(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	char what[160];
	snprintf(what, sizeof(what), "nspawn: container %s", b->name);
	return sb_eng_release_launcher(&b->hold_fd, &b->nspawn_pid, deadline_ns, what, err);
}

static int nspawn_destroy(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	int rc = 0;
	box_free(b, deadline_ns, err, &rc);
	return rc;
}

static int nspawn_addr(struct sb_box *b, struct sb_box_addr *out, struct sb_error *err)
{
	if (sb_rt_net_addr(b->dir, out) < 0)
		return sb_error_set(err, ENOTSUP, "nspawn: box %s has no veth (net=veth makes one)", b->name);
	return 0;
}

static int nspawn_stats(struct sb_box *b, struct sb_box_stats *out, struct sb_error *err)
{
	if (sb_rt_cgroup_stats(b->cgdirs, out) < 0)
		return sb_error_set(err, ENOENT, "nspawn: no readable cgroup for %s", b->name);
	return 0;
}

static int nspawn_pids(struct sb_box *b, pid_t *pids, size_t cap, size_t *n, struct sb_error *err)
{
	/* a v1 controller's leaf holds every process (nspawn splits only the hierarchies it manages) */
	for (const char *line = b->cgdirs; *line;) {
		size_t len = strcspn(line, "\n");
		char dir[2400];
		snprintf(dir, sizeof(dir), "%.*s", (int)len, line);
		line += len + (line[len] == '\n');
		if (sb_rt_cgroup_pids(dir, pids, cap, n) == 0 && *n > 0)
			return 0;
	}
	return sb_error_set(err, ENOENT, "nspawn: no process listed in the cgroups of %s", b->name);
}

/* systemd-nspawn (our child) waits on the host for the container it set up; when it sits in the
 * container's own cgroup (it does here) nspawn_pids lists it already and it is no helper. */
static int nspawn_host_pids(struct sb_box *b, struct sb_host_proc *procs, size_t cap, size_t *n,
			    struct sb_error *err)
{
	if (b->nspawn_pid <= 0)
		return sb_error_set(err, ESRCH, "nspawn: container %s is not running", b->name);
	pid_t pids[256];
	size_t np = 0;
	struct sb_error perr = {0};
	bool listed = false;
	if (nspawn_pids(b, pids, 256, &np, &perr) == 0)
		for (size_t i = 0; i < np && i < 256 && !listed; i++)
			listed = pids[i] == b->nspawn_pid;
	if (!listed)
		sb_rt_host_proc_add(procs, cap, n, b->nspawn_pid, "systemd-nspawn", false, 1);
	return 0;
}

/* ---- probe ---- */

static void nspawn_probe(const struct sb_params *params, struct sb_probe *out)
{
	memset(out, 0, sizeof(*out));
	struct sb_box b = {.hold_fd = -1};
	struct sb_error e = {0};
	if (sb_rt_binary(params, nspawn_params, "systemd-nspawn", b.bin, sizeof(b.bin), &e) < 0) {
		snprintf(out->reason, sizeof(out->reason), "%s%s", e.msg,
			 sb_params_get(params, "bin") ? "" : " (apt-get install systemd-container)");
		return;
	}
	const char *ver[] = {b.bin, "--version", NULL};
	sb_rt_version(ver, 5, out->version, sizeof(out->version));
	/* The trial: the agent's `true` as the payload, on an overlay of the probes' tiny rootfs,
	 * through the same launch path as a box. */
	char rootfs[PATH_MAX];
	if (sb_eng_probe_rootfs(rootfs, sizeof(rootfs), out->reason, sizeof(out->reason)) < 0)
		return;
	snprintf(b.name, sizeof(b.name), "sb-probe-nspawn-%d", (int)getpid());
	snprintf(b.dir, sizeof(b.dir), "%s/%s", NSPAWN_ROOT, b.name);
	teardown(b.name, b.dir, "", NULL, NULL, sb_deadline_after(5), NULL); /* a stale one of our pid */
	if (sb_mkdir_p(b.dir, 0755) < 0) {
		snprintf(out->reason, sizeof(out->reason), "nspawn: cannot create %s", b.dir);
		return;
	}
	const char *payload[] = {"/sandbench-agent", "true", NULL};
	int rc = launch(&b, rootfs, "none", NULL, 0, payload, sb_deadline_after(20), &e);
	if (rc == -EIO && strstr(e.msg, "exited 0"))
		rc = 0; /* `true` may finish before it is seen running: that is success */
	if (rc == 0 && b.nspawn_pid > 0) {
		int st = 0;
		if (sb_proc_wait_deadline(b.nspawn_pid, sb_deadline_after(20), &st) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			rc = sb_error_set(&e, EIO, "systemd-nspawn exited %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		b.nspawn_pid = 0;
	}
	teardown(b.name, b.dir, b.cgdirs, &b.hold_fd, &b.nspawn_pid, sb_deadline_after(10), NULL);
	if (rc < 0) {
		snprintf(out->reason, sizeof(out->reason), "nspawn: trial container failed: %s", e.msg);
		return;
	}
	out->usable = true;
	out->caps = sb_driver_nspawn.caps;
}

/* ---- doctor ---- */

static int nspawn_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	int found = sb_rt_unfinished_dirs(NSPAWN_ROOT, clean, emit, arg);
	DIR *d = opendir(NSPAWN_ROOT);
	if (!d)
		return found;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char dir[PATH_MAX], *marker = NULL, line[PATH_MAX + 128];
		snprintf(dir, sizeof(dir), "%s/%s", NSPAWN_ROOT, de->d_name);
		struct stat st;
		if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		char cgdirs[4096] = "";
		if (sb_rt_marker_read(dir, &marker) == 0) {
			bool alive = sb_rt_marker_owner_alive(marker);
			for (const char *l = marker; !alive && *l;) {
				size_t n = strcspn(l, "\n");
				if (n > 7 && strncmp(l, "cgroup=", 7) == 0 && strlen(cgdirs) + n < sizeof(cgdirs))
					snprintf(cgdirs + strlen(cgdirs), sizeof(cgdirs) - strlen(cgdirs), "%.*s\n",
						 (int)(n - 7), l + 7);
				l += n + (l[n] == '\n');
			}
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
		struct sb_error e = {0};
		if (teardown(de->d_name, dir, cgdirs, NULL, NULL, sb_deadline_after(20), &e) < 0 && rc == 0)
			rc = sb_error_set(err, e.code, "%s", e.msg);
	}
	closedir(d);
	return rc < 0 ? rc : found;
}

static int nspawn_host_fix(enum sb_host_fix_mode mode, sb_line_fn emit, void *arg, struct sb_error *err)
{
	(void)err;
	if (mode == SB_HOST_EXPLAIN)
		emit(arg, "no host change needed: boxes use an overlay of their own instead of --volatile=overlay "
			  "(which fails on a hybrid host's hugetlb controller) and cgroups the driver makes");
	else
		emit(arg, "nothing to do (no host change is needed)");
	return 0;
}

const struct sb_driver sb_driver_nspawn = {
	.name = "nspawn",
	.summary = "systemd-nspawn on a per-box overlay of the standard rootfs, one container per box, nsenter per command",
	.caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_STATS | SB_CAP_ISOLATION | SB_CAP_PIDS | SB_CAP_NET | SB_CAP_VOLUMES,
	.params = nspawn_params,
	.image = SB_IMAGE_ROOTFS,
	.agent_in_box = "/sandbench-agent",
	.probe = nspawn_probe,
	.box_create = nspawn_create,
	.box_exec = nspawn_exec,
	.box_agent_open = nspawn_agent_open,
	.box_stop = nspawn_stop,
	.box_destroy = nspawn_destroy,
	.box_stats = nspawn_stats,
	.box_addr = nspawn_addr,
	.box_pids = nspawn_pids,
	.box_host_pids = nspawn_host_pids,
	.leftovers = nspawn_leftovers,
	.host_fix = nspawn_host_fix,
};
