/* The `native` driver: sandbench's own Linux sandbox (src/native/). A box is a pid-1 init in new
 * mount, pid, uts, ipc, net and cgroup namespaces on an overlay of the standard rootfs, locked
 * down (no capabilities, no_new_privs, seccomp deny-list) and limited through cgroups; commands
 * are forked by that init on request, so exec costs about one spawn. With warm=1 boxes come
 * ready-made from a zygote process, and go back to it to be reset and lent again. See
 * docs/native.md. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "native/native.h"
#include "native/native_int.h"

extern const struct sb_driver sb_driver_native;

static const struct sb_param_def native_params[] = {
	{"net", "none", "none (loopback only) | veth (a host<->box pair, 10.213.x.y/30)", "none|veth"},
	{"mem", NULL, "memory limit, e.g. 256M (overrides the scenario's)", "size"},
	{"cpus", NULL, "CPU quota in CPUs, e.g. 0.5", "number"},
	{"pids", NULL, "maximum number of processes", "uint"},
	{"warm", "0", "1: take boxes from a pre-forked zygote's pool (warm start); destroyed boxes go back to it, reset", "uint"},
	{"warm_pool", "2", "boxes the zygote keeps ready (1-16)", "uint"},
	{"rootfs_mode", "overlay", "overlay (a writable layer over the rootfs) | tmpfs (read-only rootfs, tmpfs /tmp)", "overlay|tmpfs"},
	{"layer", "auto", "where the overlay's writable layer lies: tmpfs (memory, private to the box) | disk (a directory under /var/tmp on the host's disk) | auto (disk for the scenarios that measure the box's filesystem, else tmpfs: docs/native.md)", "auto|tmpfs|disk"},
	{"cgroups", "auto", "auto (only with a limit: joining a v1 cgroup costs ~10 ms) | 1 (always, for cgroup accounting)", "auto|0|1|always"},
	{"birth", "1", "1: a cold box made while others are being made (a burst) is cloned from a small single-threaded helper, not from sandbench and its threads; 0: always from sandbench", "0|1"},
	{"io_stats", "1", "1: join the blkio/io cgroup so stats report io bytes (one more cgroup per box)", NULL},
	{NULL, NULL, NULL, NULL},
};

static bool overlay_available(void)
{
	FILE *f = fopen("/proc/filesystems", "re");
	if (!f)
		return false;
	char line[128];
	bool ok = false;
	while (!ok && fgets(line, sizeof(line), f))
		ok = strstr(line, "\toverlay\n") != NULL;
	fclose(f);
	return ok;
}

/* Can we really make the namespaces here (seccomp'd containers, missing CONFIG_*, no root)? */
static int try_namespaces(char *why, size_t len)
{
	struct clone_args ca;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;
	ca.exit_signal = SIGCHLD;
	pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(0);
	if (pid < 0) {
		snprintf(why, len, "cannot create namespaces (clone3): %s", strerror(errno));
		return -errno;
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/* Not root: a user namespace per box, no cgroups (limits unsupported), no veth, no zygote. */
static void probe_unpriv(struct sb_probe *out)
{
	char why[256];
	bool overlay = false;
	if (sbn_userns_probe(why, sizeof(why), &overlay) < 0) {
		snprintf(out->reason, sizeof(out->reason), "unprivileged: %.230s", why);
		return;
	}
	struct sb_error e = {0};
	if (sbn_seccomp_prepare(&e) < 0) {
		snprintf(out->reason, sizeof(out->reason), "seccomp: %.200s", e.msg);
		return;
	}
	out->usable = true;
	out->caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_COPY | SB_CAP_ISOLATION | SB_CAP_PIDS | SB_CAP_VOLUMES |
		    SB_CAP_RESTART;
	if (overlay)
		out->caps |= SB_CAP_CLONE;
	snprintf(out->reason, sizeof(out->reason),
		 "unprivileged (user namespace, uid %u mapped to 0); no cgroups: memory, cpu and pids limits "
		 "unsupported; net=veth and warm=1 need root%s",
		 (unsigned)geteuid(), overlay ? "" : "; overlayfs refused in a user namespace: rootfs_mode=tmpfs only");
}

static void native_probe(const struct sb_params *params, struct sb_probe *out)
{
	memset(out, 0, sizeof(*out));
	struct utsname u;
	uname(&u);
	snprintf(out->version, sizeof(out->version), "%.16s (kernel %.40s)", SB_VERSION, u.release);
	if (sbn_unpriv()) {
		probe_unpriv(out);
		return;
	}
	if (try_namespaces(out->reason, sizeof(out->reason)) < 0)
		return;
	struct sb_error e = {0};
	if (sbn_seccomp_prepare(&e) < 0) {
		snprintf(out->reason, sizeof(out->reason), "seccomp: %.200s", e.msg);
		return;
	}
	const struct sbn_cg_layout *l = sbn_cg_layout();
	out->usable = true;
	out->caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_COPY | SB_CAP_NET | SB_CAP_ISOLATION | SB_CAP_WARM |
		    SB_CAP_PIDS | SB_CAP_VOLUMES | SB_CAP_RESTART;
	if (overlay_available())
		out->caps |= SB_CAP_CLONE | SB_CAP_SNAPSHOT;
	if (l->writable[SBN_CTRL_MEMORY] || l->writable[SBN_CTRL_CPUACCT])
		out->caps |= SB_CAP_STATS;
	if (l->writable[SBN_CTRL_MEMORY])
		out->caps |= SB_CAP_MEMLIMIT;
	if (l->writable[SBN_CTRL_CPU])
		out->caps |= SB_CAP_CPULIMIT;
	if (l->writable[SBN_CTRL_PIDS])
		out->caps |= SB_CAP_PIDLIMIT;
	/* Usable: the reason line carries what limits are (not) available and why. */
	snprintf(out->reason, sizeof(out->reason), "%.190s%s", l->note,
		 overlay_available() ? "" : "; no overlayfs: rootfs_mode=tmpfs only, no clone or snapshot");
}

/* What an unprivileged box cannot do is an error naming why, never silently dropped. */
static int check_unpriv(const struct sbn_cfg *cfg, bool warm, struct sb_error *err)
{
	static const char why[] = "sandbench runs unprivileged (uid %u): %s needs root (%s)";
	unsigned uid = (unsigned)geteuid();
	if (cfg->mem_limit)
		return sb_error_set(err, ENOTSUP, why, uid, "a memory limit", "cgroups are not delegated to this user");
	if (cfg->cpus > 0)
		return sb_error_set(err, ENOTSUP, why, uid, "a CPU limit", "cgroups are not delegated to this user");
	if (cfg->pids_limit)
		return sb_error_set(err, ENOTSUP, why, uid, "a pids limit", "cgroups are not delegated to this user");
	if (cfg->cgroups)
		return sb_error_set(err, ENOTSUP, why, uid, "cgroups=1", "cgroups are not delegated to this user");
	if (cfg->net == SBN_NET_VETH)
		return sb_error_set(err, ENOTSUP, why, uid, "net=veth",
				    "the host end of the pair is made in the host's network namespace");
	if (warm)
		return sb_error_set(err, ENOTSUP, why, uid, "warm=1",
				    "the zygote's background scheduling and box reset are root-only; use cold boxes");
	return 0;
}

/* The spec's volumes as plain data for the box: host paths resolved (a directory that exists),
 * box paths absolute and free of ".." so a bind can only land inside the box's root. */
static int volumes_cfg(const struct sb_box_spec *spec, struct sbn_cfg *cfg, struct sb_error *err)
{
	if (spec->nvolumes > SBN_MAX_VOLUMES)
		return sb_error_set(err, E2BIG, "native: %zu volumes asked, at most %d", spec->nvolumes, SBN_MAX_VOLUMES);
	for (size_t i = 0; i < spec->nvolumes; i++) {
		const struct sb_volume *v = &spec->volumes[i];
		struct sbn_vol *o = &cfg->vol[i];
		char real[PATH_MAX];
		struct stat st;
		if (!v->host_path || !realpath(v->host_path, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
			return sb_error_set(err, ENOTDIR, "native: volume host path %s is not a directory",
					    v->host_path ? v->host_path : "(null)");
		if (!v->box_path || v->box_path[0] != '/' || strstr(v->box_path, "/..") || strcmp(v->box_path, "/") == 0)
			return sb_error_set(err, EINVAL, "native: volume box path %s must be absolute, not /, without '..'",
					    v->box_path ? v->box_path : "(null)");
		if (strlen(real) >= sizeof(o->host) || strlen(v->box_path) >= sizeof(o->box))
			return sb_error_set(err, ENAMETOOLONG, "native: volume path too long: %s", v->host_path);
		snprintf(o->host, sizeof(o->host), "%s", real);
		snprintf(o->box, sizeof(o->box), "%s", v->box_path);
		o->ro = v->readonly;
	}
	cfg->nvol = (unsigned)spec->nvolumes;
	return 0;
}

static int build_cfg(const struct sb_box_spec *spec, struct sbn_cfg *cfg, bool *warm, struct sb_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	const struct sb_params *p = spec->params;
	if (!spec->rootfs)
		return sb_error_set(err, EINVAL, "native: a rootfs is needed (sandbench image build)");
	if (!realpath(spec->rootfs, cfg->rootfs))
		return sb_error_set(err, errno, "native: rootfs %s: %s", spec->rootfs, strerror(errno));
	/* overlayfs takes ',' and ':' as separators in its options. */
	if (strpbrk(cfg->rootfs, ",:"))
		return sb_error_set(err, EINVAL, "native: rootfs path %s must not contain ',' or ':'", cfg->rootfs);
	/* A scenario's wish (spec->net, spec->strict) applies where the user set no parameter. */
	const char *net = sb_params_get(p, "net");
	if (!net)
		net = spec->net == SB_BOX_NET_LINK ? "veth" : spec->net == SB_BOX_NET_NONE || spec->strict ? "none"
		      : sb_params_get_def(p, native_params, "net");
	if (strcmp(net, "none") == 0)
		cfg->net = SBN_NET_NONE;
	else if (strcmp(net, "veth") == 0)
		cfg->net = SBN_NET_VETH;
	else
		return sb_error_set(err, EINVAL, "native: net=%s: expected none or veth", net);
	/* Strict: nothing of the box's root is writable (tmpfs mode: a read-only bind, tmpfs /tmp). */
	const char *mode = sb_params_get(p, "rootfs_mode");
	if (!mode)
		mode = spec->strict ? "tmpfs" : sb_params_get_def(p, native_params, "rootfs_mode");
	bool unpriv_overlay = true;
	if (sbn_unpriv()) {
		char why[256];
		if (sbn_userns_probe(why, sizeof(why), &unpriv_overlay) < 0)
			return sb_error_set(err, EPERM, "native: unprivileged: %s", why);
	}
	if (strcmp(mode, "overlay") == 0 && !unpriv_overlay && !sb_params_get(p, "rootfs_mode"))
		cfg->rootfs_mode = SBN_ROOTFS_TMPFS; /* the default, where overlayfs is refused */
	else if (strcmp(mode, "overlay") == 0)
		cfg->rootfs_mode = SBN_ROOTFS_OVERLAY;
	else if (strcmp(mode, "tmpfs") == 0)
		cfg->rootfs_mode = SBN_ROOTFS_TMPFS;
	else
		return sb_error_set(err, EINVAL, "native: rootfs_mode=%s: expected overlay or tmpfs", mode);
	int rc;
	/* auto: a tmpfs keeps starts fast (an overlay over a disk syncs that whole filesystem when it
	 * is unmounted, and the next box's mkdirs there wait for the journal: docs/native.md), so
	 * only a scenario that measures the box's own filesystem gets a disk. */
	const char *layer = sb_params_get_def(p, native_params, "layer");
	if (strcmp(layer, "auto") == 0)
		layer = spec->root_on_disk ? "disk" : "tmpfs";
	if (strcmp(layer, "disk") == 0 && cfg->rootfs_mode == SBN_ROOTFS_OVERLAY)
		cfg->layer = SBN_LAYER_DISK;
	else if (strcmp(layer, "disk") == 0 && sb_params_get(p, "rootfs_mode") && sb_params_get(p, "layer"))
		return sb_error_set(err, EINVAL, "native: layer=disk needs rootfs_mode=overlay (tmpfs mode has no writable layer)");
	else if (strcmp(layer, "disk") != 0 && strcmp(layer, "tmpfs") != 0)
		return sb_error_set(err, EINVAL, "native: layer=%s: expected auto, tmpfs or disk", layer);
	if (cfg->layer == SBN_LAYER_DISK && (rc = sbn_layer_base_make(err)) < 0)
		return rc;
	uint64_t v;
	if ((rc = sb_params_get_size(p, "mem", spec->mem_limit_bytes, &cfg->mem_limit, err)) < 0 ||
	    (rc = sb_params_get_u64(p, "pids", spec->pids_limit, &cfg->pids_limit, err)) < 0 ||
	    (rc = sb_params_get_double(p, "cpus", spec->cpu_limit, &cfg->cpus, err)) < 0)
		return rc;
	if ((rc = sb_params_get_u64(p, "warm", spec->warm ? 1 : 0, &v, err)) < 0)
		return rc;
	*warm = v != 0;
	if ((rc = sb_params_get_u64(p, "warm_pool", 2, &v, err)) < 0)
		return rc;
	cfg->pool = v < 1 ? 1 : v > 16 ? 16 : (unsigned)v;
	if ((rc = sb_params_get_u64(p, "io_stats", 1, &v, err)) < 0)
		return rc;
	cfg->io_stats = v != 0;
	if ((rc = sb_params_get_u64(p, "birth", 1, &v, err)) < 0)
		return rc;
	cfg->birth = v != 0;
	const char *cgs = sb_params_get_def(p, native_params, "cgroups");
	if (strcmp(cgs, "1") == 0 || strcmp(cgs, "always") == 0 || (spec->strict && !sb_params_get(p, "cgroups")))
		cfg->cgroups = true;
	else if (strcmp(cgs, "auto") != 0 && strcmp(cgs, "0") != 0)
		return sb_error_set(err, EINVAL, "native: cgroups=%s: expected auto or 1", cgs);
	if ((rc = volumes_cfg(spec, cfg, err)) < 0)
		return rc;
	if (sbn_unpriv())
		return check_unpriv(cfg, *warm, err);
	return 0;
}

/* Boxes are made from several threads at once (concurrent_create): what the box path caches
 * (who we are, where the run directory is, the compiled seccomp filters) is settled once, before
 * the first box, and only read afterwards. The cgroup layout settles itself on first use
 * (cgroup.c): a box without limits never needs it. */
static pthread_once_t settle_once = PTHREAD_ONCE_INIT;

static void settle(void)
{
	struct sb_error e = {0};
	char why[256];
	bool overlay;
	if (sbn_unpriv())
		sbn_userns_probe(why, sizeof(why), &overlay);
	(void)sbn_run_dir();
	sbn_seccomp_prepare(&e);
}

/* The native runtime's own registry of the boxes it holds: what `list` and `box_inspect` read. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sb_box **registry;
static size_t nregistry, capregistry;

static int registry_add(struct sb_box *box, struct sb_error *err)
{
	pthread_mutex_lock(&registry_lock);
	if (nregistry == capregistry) {
		size_t cap = capregistry ? capregistry * 2 : 32;
		struct sb_box **grown = realloc(registry, cap * sizeof(*grown));
		if (!grown) {
			pthread_mutex_unlock(&registry_lock);
			sbn_box_free(box, sb_deadline_after(10), NULL);
			return sb_error_set(err, ENOMEM, "out of memory");
		}
		registry = grown;
		capregistry = cap;
	}
	registry[nregistry++] = box;
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

static void registry_remove(struct sb_box *box)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < nregistry; i++) {
		if (registry[i] == box) {
			registry[i] = registry[--nregistry];
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

static int native_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
			 struct sb_error *err)
{
	pthread_once(&settle_once, settle);
	struct sbn_cfg cfg;
	bool warm = false;
	int rc = build_cfg(spec, &cfg, &warm, err);
	if (rc < 0)
		return rc;
	if (warm)
		rc = sbn_zygote_take(&cfg, spec->name, out, deadline_ns, err);
	else
		rc = sbn_box_make(&cfg, spec->name, -1, out, deadline_ns, err);
	return rc < 0 ? rc : registry_add(*out, err);
}

static int native_list(const struct sb_box_spec *spec, sb_line_fn emit, void *arg, int64_t deadline_ns,
		       struct sb_error *err)
{
	pthread_mutex_lock(&registry_lock);
	size_t n = nregistry;
	for (size_t i = 0; i < n; i++)
		emit(arg, registry[i]->name);
	pthread_mutex_unlock(&registry_lock);
	return (int)n;
}

static int native_inspect(struct sb_box *box, struct sb_box_info *out, int64_t deadline_ns, struct sb_error *err)
{
	snprintf(out->name, sizeof(out->name), "%s", box->name);
	/* The pidfd turns readable when init is gone. */
	struct pollfd pf = {.fd = box->pidfd, .events = POLLIN};
	bool gone = box->stopped || box->pidfd < 0 || poll(&pf, 1, 0) > 0;
	snprintf(out->status, sizeof(out->status), "%s", box->stopped ? "stopped" : gone ? "exited" : "running");
	out->pid = gone ? 0 : box->init_pid;
	if (box->upper_fd >= 0)
		sbn_fs_name(box->upper_fd, out->layer_fs, sizeof(out->layer_fs));
	return 0;
}

static int native_exec(struct sb_box *box, const struct sb_exec_req *req, struct sb_proc_result *res,
		       struct sb_error *err)
{
	return sbn_exec(box, req, res, err);
}

static int native_agent_open(struct sb_box *box, struct sb_agent_conn *conn, int64_t deadline_ns,
			     struct sb_error *err)
{
	return sbn_agent_open(box, sb_driver_native.agent_in_box, conn, deadline_ns, err);
}

static int native_copy_in(struct sb_box *box, const char *host_path, const char *box_path, int64_t deadline_ns,
			  struct sb_error *err)
{
	return sbn_copy_in(box, host_path, box_path, deadline_ns, err);
}

static int native_copy_out(struct sb_box *box, const char *box_path, const char *host_path, int64_t deadline_ns,
			   struct sb_error *err)
{
	return sbn_copy_out(box, box_path, host_path, deadline_ns, err);
}

static int native_clone(struct sb_box *box, const struct sb_box_spec *spec, struct sb_box **out,
			int64_t deadline_ns, struct sb_error *err)
{
	if (box->upper_fd < 0)
		return sb_error_set(err, ENOTSUP, "native: clone needs rootfs_mode=overlay");
	if (box->stopped)
		return sb_error_set(err, ESRCH, "native: box %s is stopped", box->name);
	/* Same rootfs and settings as the source; the spec only names the copy. */
	pthread_once(&settle_once, settle);
	int rc = sbn_box_make(&box->cfg, spec && spec->name ? spec->name : box->name, box->upper_fd, out, deadline_ns,
			      err);
	return rc < 0 ? rc : registry_add(*out, err);
}

/* A snapshot is the box's writable layer and the rootfs it lies on: what makes a native box what
 * it is. Its processes are not saved (no checkpoint of process memory: CRIU fails on this kernel,
 * docs/native.md); a restore boots a new init on a copy of the saved layer. */
#define SNAPSHOT_UPPER "upper"
#define SNAPSHOT_INFO "native-snapshot"

static int native_snapshot(struct sb_box *box, const char *dir, int64_t deadline_ns, struct sb_error *err)
{
	if (box->upper_fd < 0)
		return sb_error_set(err, ENOTSUP, "native: snapshot needs rootfs_mode=overlay (the writable layer is what is saved)");
	if (box->stopped)
		return sb_error_set(err, ESRCH, "native: box %s is stopped", box->name);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/" SNAPSHOT_UPPER, dir);
	if (mkdir(path, 0755) < 0)
		return sb_error_set(err, errno, "native: snapshot: mkdir %s: %s", path, strerror(errno));
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return sb_error_set(err, errno, "native: snapshot: open %s: %s", path, strerror(errno));
	int rc = sbn_copy_tree(box->upper_fd, dfd, deadline_ns, err);
	close(dfd);
	if (rc < 0)
		return sb_error_prefix(err, "native: snapshot of box %s", box->name);
	/* Written last: a snapshot without it is incomplete and refused. */
	char info[PATH_MAX + 32];
	int n = snprintf(info, sizeof(info), "rootfs=%s\n", box->cfg.rootfs);
	snprintf(path, sizeof(path), "%s/" SNAPSHOT_INFO, dir);
	return sb_write_file_atomic(path, info, (size_t)n, err);
}

static int native_restore(const struct sb_box_spec *spec, const char *dir, struct sb_box **out,
			  int64_t deadline_ns, struct sb_error *err)
{
	pthread_once(&settle_once, settle);
	struct sbn_cfg cfg;
	bool warm = false;
	int rc = build_cfg(spec, &cfg, &warm, err);
	if (rc < 0)
		return rc;
	if (cfg.rootfs_mode != SBN_ROOTFS_OVERLAY)
		return sb_error_set(err, ENOTSUP, "native: restore needs rootfs_mode=overlay");
	char path[PATH_MAX + 32], line[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/" SNAPSHOT_INFO, dir);
	if (sb_read_line(path, line, sizeof(line)) < 0 || strncmp(line, "rootfs=", 7) != 0)
		return sb_error_set(err, ENOENT, "native: %s is not a complete native snapshot", dir);
	if (strcmp(line + 7, cfg.rootfs) != 0)
		return sb_error_set(err, EINVAL, "native: the snapshot in %s lies on rootfs %s, not %s", dir, line + 7,
				    cfg.rootfs);
	snprintf(path, sizeof(path), "%s/" SNAPSHOT_UPPER, dir);
	int ufd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ufd < 0)
		return sb_error_set(err, errno, "native: restore: open %s: %s", path, strerror(errno));
	rc = sbn_box_make(&cfg, spec->name, ufd, out, deadline_ns, err);
	close(ufd);
	return rc < 0 ? rc : registry_add(*out, err);
}

/* Start: a no-op for a running box (create leaves it running); a stopped one is made again with
 * the same configuration and name, its writable layer copied from the stopped box's (whose
 * scratch filesystem outlives its processes through upper_fd), so files written before the stop
 * are still there. The box keeps its handle; what it held before is released. */
static int native_start(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	if (!box->stopped)
		return 0;
	struct sb_box *fresh = NULL;
	int rc = sbn_box_make(&box->cfg, box->name, box->upper_fd, &fresh, deadline_ns, err);
	if (rc < 0)
		return sb_error_prefix(err, "native: restarting box %s", box->name);
	/* The files kept for stats are the old cgroup's and init's. */
	sbn_box_stats_release(box);
	struct sb_box old = *box;
	*box = *fresh;
	*fresh = old;
	struct sb_error e = {0};
	if (sbn_box_free_now(fresh, sb_deadline_after(5), &e) < 0)
		return sb_error_set(err, EIO, "native: releasing what box %s held before its restart: %s", box->name, e.msg);
	return 0;
}

static int native_stop(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	int rc = sbn_box_kill(box, deadline_ns);
	if (rc < 0)
		return sb_error_set(err, -rc, "native: stopping box %s: %s", box->name, strerror(-rc));
	return 0;
}

static int native_addr(struct sb_box *box, struct sb_box_addr *out, struct sb_error *err)
{
	if (box->net.slot < 0)
		return sb_error_set(err, ENOTSUP, "native: box %s has no veth (net=none)", box->name);
	sb_ip_str(box->net.host_ip, out->host_ip, sizeof(out->host_ip));
	sb_ip_str(box->net.box_ip, out->box_ip, sizeof(out->box_ip));
	return 0;
}

static int native_destroy(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	registry_remove(box);
	sbn_box_stats_release(box);
	return sbn_box_free(box, deadline_ns, err);
}

static int native_stats(struct sb_box *box, struct sb_box_stats *out, struct sb_error *err)
{
	uint32_t skip = out->skip;
	memset(out, 0, sizeof(*out));
	out->skip = skip;
	if (box->stopped)
		return sb_error_set(err, ESRCH, "native: box %s is stopped", box->name);
	sbn_box_stats(box, out);
	return 0;
}

static int native_pids(struct sb_box *box, pid_t *pids, size_t cap, size_t *n, struct sb_error *err)
{
	int rc = sbn_box_pids(box, pids, cap, n);
	if (rc < 0)
		return sb_error_set(err, -rc, "native: listing the processes of box %s: %s", box->name, strerror(-rc));
	return 0;
}

/* A cold box's init is our own child or the birth helper's, which is shared by every cold box
 * of the process. A warm box was lent by the zygote, which keeps its pool for every box it lends
 * (how many is its own business). */
static int native_host_pids(struct sb_box *box, struct sb_host_proc *procs, size_t cap, size_t *n,
			    struct sb_error *err)
{
	if (box->our_child)
		return 0;
	pid_t birth = box->zygote <= 0 ? sbn_birth_pid() : 0;
	if (box->zygote <= 0 && birth <= 0)
		return 0;
	if (birth > 0) {
		if (cap > 0) {
			procs[0].pid = birth;
			snprintf(procs[0].role, sizeof(procs[0].role), "birth-helper");
			procs[0].daemon = true;
			procs[0].shared_by = 0;
		}
		*n = 1;
		return 0;
	}
	if (cap > 0) {
		procs[0].pid = box->zygote;
		snprintf(procs[0].role, sizeof(procs[0].role), "zygote");
		procs[0].daemon = true;
		procs[0].shared_by = 0;
	}
	*n = 1;
	return 0;
}

/* Combinations the forms alone cannot refuse, refused before anything starts. */
static int native_check_params(const struct sb_params *params, struct sb_error *err)
{
	const char *mode = sb_params_get(params, "rootfs_mode"), *layer = sb_params_get(params, "layer");
	if (mode && layer && strcmp(mode, "tmpfs") == 0 && strcmp(layer, "disk") == 0)
		return sb_error_set(err, EINVAL, "layer=disk needs rootfs_mode=overlay (tmpfs mode has no writable layer)");
	return 0;
}

/* doctor: markers under /run/sandbench/native whose owners are all dead, and layer directories
 * under /var/tmp/sandbench-native without a marker. */
static int native_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	struct sb_native_leftover found[64];
	size_t n = 0;
	int rc = sb_native_leftovers(found, 64, &n, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && i < 64; i++) {
		char line[1024];
		if (found[i].owner)
			snprintf(line, sizeof(line), "box %s (owner pid %d gone): %s [%s]", found[i].name,
				 (int)found[i].owner, found[i].what, found[i].marker);
		else
			snprintf(line, sizeof(line), "box %s: %s [%s]", found[i].name, found[i].what, found[i].marker);
		emit(arg, line);
	}
	if (clean && n) {
		size_t cleaned = 0;
		rc = sb_native_clean_leftovers(&cleaned, err);
		if (rc < 0)
			return rc;
	}
	return (int)n;
}

const struct sb_driver sb_driver_native = {
	.name = "native",
	.summary = "sandbench's own sandbox: namespaces, overlay rootfs, cgroups, seccomp, no caps; warm zygote",
	.caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_COPY | SB_CAP_CLONE | SB_CAP_SNAPSHOT | SB_CAP_STATS | SB_CAP_NET |
		SB_CAP_MEMLIMIT | SB_CAP_CPULIMIT | SB_CAP_PIDLIMIT | SB_CAP_ISOLATION | SB_CAP_WARM | SB_CAP_PIDS |
		SB_CAP_VOLUMES | SB_CAP_RESTART,
	.params = native_params,
	.image = SB_IMAGE_ROOTFS,
	.agent_in_box = "/sandbench-agent",
	/* Thread-safe create/start/exec/destroy: see settle(), reap.c, zygote.c, client.c. */
	.concurrent_create = true,
	.probe = native_probe,
	.list = native_list,
	.box_create = native_create,
	.box_start = native_start,
	.box_exec = native_exec,
	.box_agent_open = native_agent_open,
	.box_copy_in = native_copy_in,
	.box_copy_out = native_copy_out,
	.box_clone = native_clone,
	.box_snapshot = native_snapshot,
	.box_restore = native_restore,
	.box_inspect = native_inspect,
	.box_stop = native_stop,
	.box_addr = native_addr,
	.box_destroy = native_destroy,
	.box_stats = native_stats,
	.box_pids = native_pids,
	.box_host_pids = native_host_pids,
	.leftovers = native_leftovers,
	.check_params = native_check_params,
};
