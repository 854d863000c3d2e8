/* OCI bundles from the standard rootfs and the box life cycle of the OCI runtimes (crun, runc,
 * runsc).
 *
 * One box = one bundle directory /run/sandbench/oci/<box name> (or the runtime's state_dir) holding a marker (owner pid and
 * start time, the container id, its init pid and cgroups) and config.json, plus one container whose
 * init is `/sandbench-agent idle --signal-only` (its stdin is not ours to keep open). Commands run
 * through `RUNTIME exec`, which is what a user of the runtime does. The marker is written before
 * the container exists and removed last, so a crash at any point leaves something doctor can find. */
#include "drivers/oci.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/util.h"
#include "drivers/runtime_util.h"

const struct sb_param_def sb_oci_params[] = {
	{"net", "none", "none: own network namespace with loopback only; host: share the host's; veth: a "
			"namespace of the driver's own with a veth pair to the host (10.214.x.y/30; chosen when a "
			"scenario asks for a link)", "none|host|veth"},
	{"bin", NULL, "the runtime binary: a path or a name in PATH (default: the runtime's own), e.g. another build", NULL},
	{NULL, NULL, NULL, NULL},
};

/* The OCI runtimes' host<->sandbox links (crun and runc net=veth, runsc hostinet|netstack). */
static struct sb_veth_range oci_veths = SB_VETH_RANGE("sbo", 214);

struct sb_box {
	const struct sb_oci_runtime *rt;
	char bin[1024];
	struct sb_argv cmd;  /* bin, then the global flags every call of this box takes */
	char name[128];
	char bundle[1200];
	char cgdirs[4096];   /* the container's cgroup directories, newline-separated */
	pid_t init_pid;
	unsigned long long init_start;
	bool created;
};

/* ---- config.json ---- */

static json_t *mount_entry(const char *dest, const char *type, const char *source, const char *opts)
{
	json_t *m = json_pack("{s:s, s:s, s:s}", "destination", dest, "type", type, "source", source);
	json_t *o = json_array();
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", opts);
	for (char *s, *t = strtok_r(copy, ",", &s); t; t = strtok_r(NULL, ",", &s))
		json_array_append_new(o, json_string(t));
	json_object_set_new(m, "options", o);
	return m;
}

static json_t *string_array(const char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* ---- a split root (volumes whose mount points the image lacks) ---- */

/* Top-level entries of an image that the config mounts itself, or that are not content. */
static bool root_entry_own(const char *name)
{
	static const char *const own[] = {".", "..", "proc", "dev", "sys", "tmp", NULL};
	for (size_t i = 0; own[i]; i++)
		if (strcmp(name, own[i]) == 0)
			return true;
	return false;
}

/* A read-only bind of each top-level directory and file of image (its symlinks are made in the
 * split root itself, by split_root_make, which has read the same directory just before). */
static void split_root_mounts(const char *image, json_t *mounts)
{
	DIR *d = opendir(image);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char src[4200], dest[300];
		struct stat st;
		snprintf(src, sizeof(src), "%s/%s", image, de->d_name);
		if (root_entry_own(de->d_name) || lstat(src, &st) < 0 || S_ISLNK(st.st_mode))
			continue;
		snprintf(dest, sizeof(dest), "/%s", de->d_name);
		json_array_append_new(mounts, mount_entry(dest, "bind", src, "rbind,ro"));
	}
	closedir(d);
}

/* The split root's directory: a mount point for each top-level entry of image (a directory or an
 * empty file, as the entry is), its symlinks, and the volumes' new mount points. */
static int split_root_make(const char *root, const char *image, const struct sb_box_spec *spec,
			   struct sb_error *err)
{
	if (mkdir(root, 0755) < 0)
		return sb_error_set(err, errno, "mkdir %s: %s", root, strerror(errno));
	DIR *d = opendir(image);
	if (!d)
		return sb_error_set(err, errno, "rootfs %s: %s", image, strerror(errno));
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char src[4200], dst[1500], target[4096];
		struct stat st;
		snprintf(src, sizeof(src), "%s/%s", image, de->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", root, de->d_name);
		if (lstat(src, &st) < 0)
			continue;
		ssize_t tl = S_ISLNK(st.st_mode) ? readlink(src, target, sizeof(target) - 1) : -1;
		if (tl > 0)
			target[tl] = '\0';
		int made;
		if (S_ISDIR(st.st_mode)) {
			made = mkdir(dst, st.st_mode & 07777);
		} else if (tl > 0) {
			made = symlink(target, dst);
		} else {
			made = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (made >= 0)
				made = close(made);
		}
		if (made < 0)
			rc = sb_error_set(err, errno, "split root %s: %s", dst, strerror(errno));
	}
	closedir(d);
	for (size_t i = 0; rc == 0 && i < spec->nvolumes; i++) {
		char p[1500];
		snprintf(p, sizeof(p), "%s%s", root, spec->volumes[i].box_path);
		if (strncmp(spec->volumes[i].box_path, "/tmp/", 5) != 0 && (rc = sb_mkdir_p(p, 0755)) < 0)
			rc = sb_error_set(err, -rc, "mkdir %s: %s", p, strerror(-rc));
	}
	return rc;
}

json_t *sb_oci_config_new(const struct sb_oci_config *c)
{
	/* Docker's default capability set: what a container user gets without asking for more. */
	static const char *const caps[] = {
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL,
	};
	static const char *const masked[] = {
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
		"/proc/scsi", NULL,
	};
	static const char *const ro_paths[] = {
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
	};
	const char *env[] = {SB_RT_BOX_PATH, "HOME=/", "TERM=xterm", NULL};
	char hostname[64];
	snprintf(hostname, sizeof(hostname), "sandbench");

	json_t *process = json_pack("{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:{s:o, s:o, s:o}, s:b}",
				    "terminal", 0, "user", "uid", 0, "gid", 0, "args", string_array(c->args),
				    "env", string_array(env), "cwd", "/", "capabilities",
				    "bounding", string_array(caps), "effective", string_array(caps),
				    "permitted", string_array(caps), "noNewPrivileges", 1);
	json_t *mounts = json_array();
	json_array_append_new(mounts, mount_entry("/proc", "proc", "proc", "nosuid,noexec,nodev"));
	json_array_append_new(mounts, mount_entry("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
	json_array_append_new(mounts, mount_entry("/dev/pts", "devpts", "devpts",
						  "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620"));
	json_array_append_new(mounts, mount_entry("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"));
	json_array_append_new(mounts, mount_entry("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
	/* sysfs belongs to a network namespace: with the host's network only a read-only bind works */
	if (c->net_host)
		json_array_append_new(mounts, mount_entry("/sys", "bind", "/sys", "rbind,nosuid,noexec,nodev,ro"));
	else
		json_array_append_new(mounts, mount_entry("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
	json_array_append_new(mounts, mount_entry("/tmp", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777"));
	if (c->bind_agent)
		json_array_append_new(mounts, mount_entry("/sandbench-agent", "bind", c->bind_agent, "bind,ro"));
	if (c->root_entries_from)
		split_root_mounts(c->root_entries_from, mounts);
	for (size_t i = 0; i < c->nvolumes; i++)
		json_array_append_new(mounts, mount_entry(c->volumes[i].box_path, "bind", c->volumes[i].host_path,
							  c->volumes[i].readonly ? "rbind,ro" : "rbind,rw"));

	json_t *ns = json_array();
	const char *ns_types[] = {"pid", "ipc", "uts", "mount", c->net_host ? NULL : "network"};
	for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++)
		if (ns_types[i])
			json_array_append_new(ns, json_pack("{s:s}", "type", ns_types[i]));
	if (c->netns_path) {
		json_t *net = json_array_get(ns, json_array_size(ns) - 1);
		json_object_set_new(net, "path", json_string(c->netns_path));
	}

	json_t *res = json_object();
	if (c->mem_limit_bytes)
		json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)c->mem_limit_bytes));
	if (c->pids_limit)
		json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)c->pids_limit));
	if (c->cpus > 0) {
		const json_int_t period = 100000;
		json_object_set_new(res, "cpu", json_pack("{s:I, s:I}", "quota", (json_int_t)(c->cpus * (double)period),
							  "period", period));
	}
	json_t *linux = json_pack("{s:o, s:o, s:o, s:o}", "namespaces", ns, "resources", res, "maskedPaths",
				  string_array(masked), "readonlyPaths", string_array(ro_paths));
	if (c->cgroups_path)
		json_object_set_new(linux, "cgroupsPath", json_string(c->cgroups_path));

	json_t *doc = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o, s:{s:s}}", "ociVersion", "1.0.2",
				"process", process, "root", "path", c->rootfs, "readonly", c->readonly,
				"hostname", hostname, "mounts", mounts, "linux", linux, "annotations",
				SB_OCI_ANNOTATION, c->box_name);
	return doc;
}

int sb_oci_config_write(const char *bundle, const struct sb_oci_config *c, struct sb_error *err)
{
	json_t *doc = sb_oci_config_new(c);
	char *text = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
	json_decref(doc);
	if (!text)
		return sb_error_set(err, ENOMEM, "out of memory generating config.json");
	char path[1300];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	int rc = sb_write_file_atomic(path, text, strlen(text), err);
	free(text);
	return rc;
}

/* ---- markers ---- */

/* The marker's extra lines: what doctor needs to undo this box without its owner. */
static int box_marker(const struct sb_box *b, struct sb_error *err)
{
	char extra[6000];
	int n = snprintf(extra, sizeof(extra), "runtime=%s\nid=%s\ninit_pid=%d\ninit_start=%llu\n", b->bin,
			 b->name, (int)b->init_pid, b->init_start);
	for (size_t i = 1; i < b->cmd.n && n < (int)sizeof(extra); i++)
		n += snprintf(extra + n, sizeof(extra) - (size_t)n, "global=%s\n", b->cmd.v[i]);
	for (const char *line = b->cgdirs; *line && n < (int)sizeof(extra);) {
		const char *end = strchr(line, '\n');
		int len = end ? (int)(end - line) : (int)strlen(line);
		n += snprintf(extra + n, sizeof(extra) - (size_t)n, "cgroup=%.*s\n", len, line);
		line = end ? end + 1 : "";
	}
	return sb_rt_marker_write(b->bundle, b->rt->name, b->name, extra, err);
}

/* ---- life cycle ---- */

static const char *state_dir(const struct sb_oci_runtime *rt)
{
	return rt->state_dir ? rt->state_dir : SB_OCI_DIR;
}

static const struct sb_param_def *rt_params(const struct sb_oci_runtime *rt)
{
	return rt->params ? rt->params : sb_oci_params;
}

/* prefix (the binary and its global flags) followed by sub, through sb_rt_run (sb_rt_run_leave
 * when leave: a command that starts the sandbox's helpers). */
static int run_sub(const char *const *prefix, const char *const *sub, int64_t deadline_ns, char **out,
		   bool leave, struct sb_error *err)
{
	struct sb_argv a = {0};
	sb_argv_add_all(&a, prefix);
	sb_argv_add_all(&a, sub);
	int rc = sb_argv_ok(&a, err);
	if (rc == 0)
		rc = (leave ? sb_rt_run_leave : sb_rt_run)(sb_argv_get(&a), deadline_ns, out, err);
	sb_argv_free(&a);
	return rc;
}

static int run_cmd(const char *const *prefix, const char *const *sub, int64_t deadline_ns, char **out,
		   struct sb_error *err)
{
	return run_sub(prefix, sub, deadline_ns, out, false, err);
}

/* A command of box b that starts (part of) its sandbox. */
static int run_start(const struct sb_box *b, const char *const *sub, int64_t deadline_ns, struct sb_error *err);

static const char *const *box_cmd(const struct sb_box *b)
{
	return sb_argv_get(&b->cmd);
}

static int run_start(const struct sb_box *b, const char *const *sub, int64_t deadline_ns, struct sb_error *err)
{
	return run_sub(box_cmd(b), sub, deadline_ns, NULL, b->rt->helpers_in_group, err);
}

static bool safe_name(const char *s)
{
	if (!s || !*s || strlen(s) > 100)
		return false;
	for (; *s; s++)
		if (!(*s == '-' || *s == '_' || *s == '.' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

static int check_rootfs(const char *rootfs, struct sb_error *err)
{
	if (!rootfs || rootfs[0] != '/')
		return sb_error_set(err, EINVAL, "needs the standard rootfs as an absolute path (sandbench image build)");
	/* A read-only root cannot grow mount points, so they must exist in the image. */
	const char *need[] = {"sandbench-agent", "proc", "dev", "sys", "tmp", "bin/sh"};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		char p[4200];
		snprintf(p, sizeof(p), "%s/%s", rootfs, need[i]);
		if (access(p, F_OK) < 0)
			return sb_error_set(err, ENOENT, "rootfs %s lacks /%s", rootfs, need[i]);
	}
	return 0;
}

int sb_oci_net_link(const char *bundle, struct sb_error *err)
{
	return sb_rt_net_link(&oci_veths, bundle, err);
}

int sb_oci_box_addr(struct sb_box *b, struct sb_box_addr *out, struct sb_error *err)
{
	if (sb_rt_net_addr(b->bundle, out) < 0)
		return sb_error_set(err, ENOTSUP, "%s: box %s has no veth (%s)", b->rt->name, b->name,
				    b->rt->configure ? "net=hostinet or net=netstack make one" : "net=veth makes one");
	return 0;
}

/* net=none|host|veth; unset, a scenario's link asks for veth (and strict for none). */
static int default_net(const struct sb_oci_runtime *rt, const struct sb_box_spec *spec, const char *bundle,
		       struct sb_oci_config *c, struct sb_error *err)
{
	const char *net = sb_params_get(spec->params, "net");
	if (!net)
		net = spec->net == SB_BOX_NET_LINK && !spec->strict ? "veth" : sb_params_get_def(spec->params, rt_params(rt), "net");
	c->net_host = strcmp(net, "host") == 0;
	if (strcmp(net, "veth") != 0)
		return 0;
	c->netns_in_bundle = true;
	return sb_oci_net_link(bundle, err);
}

/* The pid file the runtime wrote: the box's init, its start time and cgroups, into the marker. */
static int adopt_init(struct sb_box *b, const char *pidfile, const char *cgpath, struct sb_error *err)
{
	char pid_s[32];
	if (sb_read_line(pidfile, pid_s, sizeof(pid_s)) < 0 || atoi(pid_s) <= 0)
		return sb_error_set(err, EIO, "%s wrote no pid file", b->rt->name);
	b->init_pid = (pid_t)atoi(pid_s);
	b->init_start = sb_rt_proc_start(b->init_pid);
	sb_rt_cgroup_dirs(b->init_pid, SB_OCI_CGROUP_PREFIX, b->cgdirs, sizeof(b->cgdirs));
	if (!b->cgdirs[0]) /* the init died already: fall back to where the runtime would put them */
		sb_rt_cgroup_guess_dirs(cgpath + (cgpath[0] == '/'), b->cgdirs, sizeof(b->cgdirs));
	return box_marker(b, err);
}

/* A new box: `create` (left for box_start), or with restore_dir `restore --detach` (running). */
static int box_create(const struct sb_oci_runtime *rt, const struct sb_box_spec *spec, const char *restore_dir,
		      struct sb_box **out, int64_t deadline_ns, struct sb_error *err)
{
	if (!safe_name(spec->name))
		return sb_error_set(err, EINVAL, "%s: box name '%s' is not a valid container id", rt->name,
				    spec->name ? spec->name : "");
	int rc = check_rootfs(spec->rootfs, err);
	if (rc == 0)
		rc = sb_rt_volumes_check(rt->name, spec, NULL, err);
	if (rc < 0)
		return rc;
	if (!rt->configure) {
		const char *net = sb_params_get_def(spec->params, rt_params(rt), "net");
		if (strcmp(net, "none") != 0 && strcmp(net, "host") != 0 && strcmp(net, "veth") != 0)
			return sb_error_set(err, EINVAL, "%s: net must be none, host or veth, not '%s'", rt->name, net);
	}
	const char *dir = state_dir(rt);
	struct sb_box *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	b->rt = rt;
	snprintf(b->name, sizeof(b->name), "%s", spec->name);
	snprintf(b->bundle, sizeof(b->bundle), "%s/%s", dir, spec->name);
	if ((rc = sb_rt_binary(spec->params, rt_params(rt), rt->binary, b->bin, sizeof(b->bin), err)) < 0) {
		free(b);
		return rc;
	}
	sb_argv_add(&b->cmd, b->bin);
	sb_argv_add_all(&b->cmd, rt->global_args);
	if ((rc = sb_argv_ok(&b->cmd, err)) < 0) {
		sb_argv_free(&b->cmd);
		free(b);
		return rc;
	}
	if ((rc = sb_mkdir_p(dir, 0700)) < 0) {
		sb_argv_free(&b->cmd);
		free(b);
		return sb_error_set(err, -rc, "cannot create %s: %s", dir, strerror(-rc));
	}
	/* The bundle appears with its marker already in it (sb_rt_state_dir_make), then the marker is
	 * rewritten with the runtime's details: a run killed at any moment leaves no unmarked bundle. */
	if ((rc = sb_rt_state_dir_make(b->bundle, rt->name, spec->name, err)) < 0 || (rc = box_marker(b, err)) < 0) {
		if (rc != -EEXIST)
			sb_rm_rf(b->bundle);
		sb_argv_free(&b->cmd);
		free(b);
		return rc;
	}
	/* From here on the box owns the bundle: every failure goes through destroy. */
	*out = b;
	char cgpath[200];
	snprintf(cgpath, sizeof(cgpath), "%s%s%s", rt->cgroup_relative ? "" : "/", SB_OCI_CGROUP_PREFIX, b->name);
	const char *args[] = {"/sandbench-agent", "idle", "--signal-only", NULL};
	struct sb_oci_config c = {
		.box_name = b->name, .rootfs = spec->rootfs, .readonly = true, .args = args,
		.cgroups_path = cgpath, .mem_limit_bytes = spec->mem_limit_bytes,
		.pids_limit = spec->pids_limit, .cpus = spec->cpu_limit,
		.volumes = spec->volumes, .nvolumes = spec->nvolumes,
	};
	/* The runtimes make a missing mount point in the root, which is the shared image. */
	char split[1300];
	snprintf(split, sizeof(split), "%s/root", b->bundle);
	if ((rc = sb_rt_volumes_mountpoints(rt->name, spec, spec->rootfs, err)) < 0)
		return rc;
	if (rc == 1) {
		if ((rc = split_root_make(split, spec->rootfs, spec, err)) < 0)
			return rc;
		c.rootfs = split;
		c.root_entries_from = spec->rootfs;
	}
	if (rt->configure) {
		rc = rt->configure(spec, b->bundle, &b->cmd, &c, err);
		if (rc == 0 && (rc = sb_argv_ok(&b->cmd, err)) == 0)
			rc = box_marker(b, err); /* the per-box flags, for doctor */
		if (rc < 0)
			return rc;
	} else if ((rc = default_net(rt, spec, b->bundle, &c, err)) < 0) {
		return rc;
	}
	char netns[1300];
	snprintf(netns, sizeof(netns), "%s/" SB_OCI_NETNS_FILE, b->bundle);
	if (c.netns_in_bundle)
		c.netns_path = netns;
	if ((rc = sb_oci_config_write(b->bundle, &c, err)) < 0)
		return rc;
	char pidfile[1300];
	snprintf(pidfile, sizeof(pidfile), "%s/init.pid", b->bundle);
	b->created = true; /* even a failed create may leave state: destroy deletes it */
	sb_rt_cgroup_guess_dirs(cgpath + (cgpath[0] == '/'), b->cgdirs, sizeof(b->cgdirs));
	if (restore_dir) {
		const char *sub[] = {"restore", "--detach", "--image-path", restore_dir, "--bundle", b->bundle,
				     "--pid-file", pidfile, b->name, NULL};
		rc = run_start(b, sub, deadline_ns, err);
	} else {
		const char *sub[] = {"create", "--bundle", b->bundle, "--pid-file", pidfile, b->name, NULL};
		rc = run_start(b, sub, deadline_ns, err);
	}
	return rc < 0 ? rc : adopt_init(b, pidfile, cgpath, err);
}

static int create_or_restore(const struct sb_oci_runtime *rt, const struct sb_box_spec *spec,
			     const char *restore_dir, struct sb_box **out, int64_t deadline_ns,
			     struct sb_error *err)
{
	*out = NULL;
	int rc = box_create(rt, spec, restore_dir, out, deadline_ns, err);
	if (rc < 0 && *out) {
		/* Callers get nothing to destroy on failure: undo here, with a budget of its own. */
		struct sb_error e = {0};
		sb_oci_box_destroy(*out, sb_deadline_after(30), &e);
		*out = NULL;
	}
	return rc;
}

int sb_oci_box_create(const struct sb_oci_runtime *rt, const struct sb_box_spec *spec,
		      struct sb_box **out, int64_t deadline_ns, struct sb_error *err)
{
	return create_or_restore(rt, spec, NULL, out, deadline_ns, err);
}

int sb_oci_box_restore(const struct sb_oci_runtime *rt, const struct sb_box_spec *spec, const char *dir,
		       struct sb_box **out, int64_t deadline_ns, struct sb_error *err)
{
	*out = NULL;
	if (!rt->checkpoint)
		return sb_error_set(err, ENOTSUP, "unsupported by %s: box_restore", rt->name);
	char img[4200];
	snprintf(img, sizeof(img), "%s/checkpoint.img", dir ? dir : "");
	if (!dir || access(img, R_OK) < 0)
		return sb_error_set(err, ENOENT, "%s: no snapshot in %s (no checkpoint.img)", rt->name, dir ? dir : "(null)");
	return create_or_restore(rt, spec, dir, out, deadline_ns, err);
}

const char *sb_oci_box_bundle(const struct sb_box *b)
{
	return b->bundle;
}

int sb_oci_box_start(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	const char *sub[] = {"start", b->name, NULL};
	return run_start(b, sub, deadline_ns, err);
}

int sb_oci_box_exec(struct sb_box *b, const struct sb_exec_req *req, struct sb_proc_result *res,
		    struct sb_error *err)
{
	struct sb_argv a = {0};
	sb_argv_add_all(&a, box_cmd(b));
	sb_argv_add_all(&a, (const char *const[]){"exec", b->name, NULL});
	int rc = sb_argv_ok(&a, err);
	if (rc == 0)
		rc = sb_rt_exec(sb_argv_get(&a), req, NULL, res, err);
	sb_argv_free(&a);
	/* The runtimes turn a command killed by signal N into exit status 128+N: the runtime itself
	 * dying of a signal is a crash of the runtime, which must not pass for the command's status. */
	if (rc == 0 && res->term_signal && !res->timed_out && !res->interrupted)
		return sb_error_set(err, EIO, "%s exec died of signal %d (%s): the runtime crashed", b->bin,
				    res->term_signal, strsignal(res->term_signal));
	return rc;
}

int sb_oci_box_agent_open(struct sb_box *b, struct sb_agent_conn *conn, int64_t deadline_ns,
			  struct sb_error *err)
{
	struct sb_argv a = {0};
	sb_argv_add_all(&a, box_cmd(b));
	sb_argv_add_all(&a, (const char *const[]){"exec", b->name, "/sandbench-agent", "serve", NULL});
	int rc = sb_argv_ok(&a, err);
	if (rc == 0)
		rc = sb_proc_spawn_piped(sb_argv_get(&a), &conn->pid, &conn->to_agent, &conn->from_agent, NULL, err);
	sb_argv_free(&a);
	return rc;
}

/* SIGKILL the init ourselves and reap it: sandbench is a subreaper, so the init is our child once
 * the runtime's create has exited, and a zombie we did not reap would look alive to the runtime:
 * `delete --force` on a live container would wait on it while we wait on the runtime. */
static int kill_init(pid_t pid, unsigned long long start, int64_t deadline_ns)
{
	if (pid <= 0 || !sb_rt_proc_alive(pid, start))
		return 0;
	char ns[64];
	sb_rt_pidns(pid, ns, sizeof(ns));
	kill(pid, SIGKILL);
	return sb_rt_wait_gone_ns(pid, ns, deadline_ns);
}

/* Processes of the box outside its sandbox's pid namespace (runsc's gofer) die with the sandbox
 * but become our zombies (we are a subreaper): until reaped, the runtime's delete waits on them.
 * Wait for (kill first, when kill_them) and reap each of pids. */
static void reap_helpers(const pid_t *pids, size_t n, bool kill_them, int64_t deadline_ns)
{
	for (size_t i = 0; i < n; i++) {
		if (kill_them)
			kill(pids[i], SIGKILL);
		sb_rt_wait_gone(pids[i], sb_deadline_min(deadline_ns, sb_deadline_after(5)));
	}
}

/* The host pids in the box's cgroups, except its init (at most cap). */
static size_t helpers_of(const char *cgdirs, pid_t init_pid, pid_t *out, size_t cap)
{
	pid_t all[64];
	size_t n = 0, k = 0;
	if (!cgdirs || !cgdirs[0] || sb_rt_cgroup_pids(cgdirs, all, 64, &n) < 0)
		return 0;
	for (size_t i = 0; i < n && i < 64 && k < cap; i++)
		if (all[i] != init_pid)
			out[k++] = all[i];
	return k;
}

int sb_oci_box_stop(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	/* What a user runs; the init is then ours to reap (or to kill, if the runtime could not). */
	const char *sub[] = {"kill", b->name, "KILL", NULL};
	pid_t helpers[64];
	size_t nh = helpers_of(b->cgdirs, b->init_pid, helpers, 64);
	if (b->init_pid > 0 && sb_rt_proc_alive(b->init_pid, b->init_start)) {
		char ns[64];
		sb_rt_pidns(b->init_pid, ns, sizeof(ns));
		if (run_cmd(box_cmd(b), sub, deadline_ns, NULL, NULL) == 0)
			sb_rt_wait_gone_ns(b->init_pid, ns, deadline_ns);
	}
	int rc = kill_init(b->init_pid, b->init_start, deadline_ns);
	reap_helpers(helpers, nh, true, deadline_ns);
	if (rc < 0)
		return sb_error_set(err, ETIMEDOUT, "%s: init %d of %s did not die", b->rt->name, (int)b->init_pid,
				    b->name);
	return 0;
}

/* Delete the container (tolerating "does not exist"), its cgroups, any mount and the bundle. */
static int remove_all(const char *const *prefix, const char *rtname, const char *id, const char *bundle,
		      const char *cgdirs, pid_t init_pid, unsigned long long init_start, bool created,
		      int64_t deadline_ns, struct sb_error *err)
{
	int rc = 0;
	pid_t helpers[64];
	size_t nh = helpers_of(cgdirs, init_pid, helpers, 64);
	if (kill_init(init_pid, init_start, deadline_ns) < 0)
		rc = sb_error_set(err, ETIMEDOUT, "%s: init %d of %s did not die", rtname, (int)init_pid, id);
	reap_helpers(helpers, nh, true, deadline_ns);
	if (created) {
		const char *del[] = {"delete", "--force", id, NULL};
		struct sb_error e = {0};
		if (run_cmd(prefix, del, deadline_ns, NULL, &e) < 0) {
			const char *st[] = {"state", id, NULL};
			struct sb_error e2 = {0};
			/* Only a container that still exists makes this a failure. */
			if (run_cmd(prefix, st, sb_deadline_min(deadline_ns, sb_deadline_after(5)), NULL, &e2) == 0 && rc == 0)
				rc = sb_error_set(err, e.code, "%s", e.msg);
		}
	}
	if (cgdirs && sb_rt_cgroup_remove(cgdirs, sb_deadline_min(deadline_ns, sb_deadline_after(2))) > 0 && rc == 0)
		rc = sb_error_set(err, EBUSY, "%s: cgroups of %s could not be removed", rtname, id);
	sb_rt_net_release(&oci_veths, bundle);
	if (sb_rt_umount_below(bundle) > 0 && rc == 0)
		rc = sb_error_set(err, EBUSY, "%s: mounts below %s could not be removed", rtname, bundle);
	int r = sb_rm_rf(bundle);
	if (r < 0 && rc == 0)
		rc = sb_error_set(err, -r, "cannot remove %s: %s", bundle, strerror(-r));
	return rc;
}

int sb_oci_box_destroy(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	if (!b)
		return 0;
	int rc = remove_all(box_cmd(b), b->rt->name, b->name, b->bundle, b->cgdirs, b->init_pid, b->init_start,
			    b->created, deadline_ns, err);
	sb_argv_free(&b->cmd);
	free(b);
	return rc;
}

int sb_oci_box_snapshot(struct sb_box *b, const char *dir, int64_t deadline_ns, struct sb_error *err)
{
	if (!b->rt->checkpoint)
		return sb_error_set(err, ENOTSUP, "unsupported by %s: box_snapshot", b->rt->name);
	char ns[64];
	sb_rt_pidns(b->init_pid, ns, sizeof(ns));
	pid_t helpers[64];
	size_t nh = helpers_of(b->cgdirs, b->init_pid, helpers, 64);
	const char *ckpt[] = {"checkpoint", "--image-path", dir, b->name, NULL};
	int rc = run_cmd(box_cmd(b), ckpt, deadline_ns, NULL, err);
	if (rc < 0)
		return rc;
	reap_helpers(helpers, nh, false, deadline_ns);
	/* The saved sandbox exits. It is our child (a subreaper's): reap it, or the runtime's delete
	 * would wait on its zombie. `checkpoint --leave-running` would spare the delete and restore
	 * below, but its CLI stays attached to the sandbox it restarts and never returns. */
	if (sb_rt_wait_gone_ns(b->init_pid, ns, deadline_ns) < 0)
		return sb_error_set(err, ETIMEDOUT, "%s: sandbox %d of %s did not exit after checkpoint", b->rt->name,
				    (int)b->init_pid, b->name);
	const char *del[] = {"delete", b->name, NULL};
	if ((rc = run_cmd(box_cmd(b), del, deadline_ns, NULL, err)) < 0)
		return rc;
	char pidfile[1300], cgpath[200];
	snprintf(pidfile, sizeof(pidfile), "%s/init.pid", b->bundle);
	snprintf(cgpath, sizeof(cgpath), "%s%s%s", b->rt->cgroup_relative ? "" : "/", SB_OCI_CGROUP_PREFIX, b->name);
	unlink(pidfile);
	const char *restore[] = {"restore", "--detach", "--image-path", dir, "--bundle", b->bundle,
				 "--pid-file", pidfile, b->name, NULL};
	if ((rc = run_start(b, restore, deadline_ns, err)) < 0)
		return rc;
	return adopt_init(b, pidfile, cgpath, err);
}

int sb_oci_box_stats(struct sb_box *b, struct sb_box_stats *out, struct sb_error *err)
{
	if (sb_rt_cgroup_stats(b->cgdirs, out) < 0)
		return sb_error_set(err, ENOENT, "%s: no readable cgroup for %s", b->rt->name, b->name);
	return 0;
}

int sb_oci_box_pids(struct sb_box *b, pid_t *pids, size_t cap, size_t *n, struct sb_error *err)
{
	if (sb_rt_cgroup_pids(b->cgdirs, pids, cap, n) < 0)
		return sb_error_set(err, ENOENT, "%s: no readable cgroup for %s", b->rt->name, b->name);
	return 0;
}

/* ---- the runtime's own list and state ---- */

int sb_oci_list(const struct sb_oci_runtime *rt, const struct sb_box_spec *spec, sb_line_fn emit, void *arg,
		int64_t deadline_ns, struct sb_error *err)
{
	char bin[1024];
	int rc = sb_rt_binary(spec->params, sb_oci_params, rt->binary, bin, sizeof(bin), err);
	if (rc < 0)
		return rc;
	const char *argv[] = {bin, "list", "--format", "json", NULL};
	char *out = NULL;
	if ((rc = sb_rt_run(argv, deadline_ns, &out, err)) < 0) {
		free(out);
		return rc;
	}
	json_error_t jerr;
	json_t *list = json_loads(out, 0, &jerr);
	free(out);
	/* runc prints "null" for no containers */
	if (!list || (!json_is_array(list) && !json_is_null(list))) {
		json_decref(list);
		return sb_error_set(err, EPROTO, "%s list: not a JSON array (%s)", rt->name, jerr.text);
	}
	/* Ours are the containers whose bundle lies under SB_OCI_DIR. */
	size_t i, pl = strlen(SB_OCI_DIR);
	int n = 0;
	json_t *c;
	json_array_foreach(list, i, c) {
		const char *id = json_string_value(json_object_get(c, "id"));
		const char *bundle = json_string_value(json_object_get(c, "bundle"));
		if (id && bundle && strncmp(bundle, SB_OCI_DIR, pl) == 0 && bundle[pl] == '/') {
			emit(arg, id);
			n++;
		}
	}
	json_decref(list);
	return n;
}

int sb_oci_box_inspect(struct sb_box *b, struct sb_box_info *out, int64_t deadline_ns, struct sb_error *err)
{
	const char *argv[] = {b->bin, "state", b->name, NULL};
	char *text = NULL;
	int rc = sb_rt_run(argv, deadline_ns, &text, err);
	json_t *j = rc == 0 ? json_loads(text, 0, NULL) : NULL;
	free(text);
	const char *id = json_string_value(json_object_get(j, "id"));
	const char *status = json_string_value(json_object_get(j, "status"));
	if (rc == 0 && (!id || !status))
		rc = sb_error_set(err, EPROTO, "%s state %s: no id or status in its answer", b->rt->name, b->name);
	if (rc == 0) {
		snprintf(out->name, sizeof(out->name), "%s", id);
		snprintf(out->status, sizeof(out->status), "%s", status);
		out->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	}
	json_decref(j);
	return rc;
}

int sb_oci_box_host_pids(struct sb_box *b, struct sb_host_proc *procs, size_t cap, size_t *n,
			 struct sb_error *err)
{
	/* After start the runtime has exited and the container's init is re-parented to us (a
	 * subreaper): nothing on the host holds it. Whatever does (a wrapper given as bin=) is named. */
	sb_rt_host_parent(b->init_pid, b->rt->name, procs, cap, n);
	return 0;
}

/* ---- doctor ---- */

static void emitf(sb_line_fn emit, void *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void emitf(sb_line_fn emit, void *arg, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (emit)
		emit(arg, line);
}

/* Every cgroup=DIR line of a marker, newline-separated. */
static void marker_cgroups(const char *text, char *out, size_t len)
{
	out[0] = '\0';
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		if (n > 7 && strncmp(line, "cgroup=", 7) == 0 && strlen(out) + n < len)
			snprintf(out + strlen(out), len - strlen(out), "%.*s\n", (int)(n - 7), line + 7);
		line = end ? end + 1 : NULL;
	}
}

/* The binary and global flags a crashed box was driven with: its marker's global= lines, else
 * the runtime's fixed ones (markers of older builds). */
static void marker_prefix(const struct sb_oci_runtime *rt, const char *text, const char *runtime,
			  struct sb_argv *out)
{
	sb_argv_add(out, runtime);
	bool any = false;
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		if (n > 7 && strncmp(line, "global=", 7) == 0) {
			char arg[1024];
			snprintf(arg, sizeof(arg), "%.*s", (int)(n - 7), line + 7);
			sb_argv_add(out, arg);
			any = true;
		}
		line = end ? end + 1 : NULL;
	}
	if (!any)
		sb_argv_add_all(out, rt->global_args);
}

int sb_oci_leftovers(const struct sb_oci_runtime *rt, bool clean, sb_line_fn emit, void *arg,
		     struct sb_error *err)
{
	int found = sb_rt_unfinished_dirs(state_dir(rt), clean, emit, arg), rc = 0;
	char bin[1024];
	bool have_bin = sb_rt_which(rt->binary, bin, sizeof(bin)) == 0;
	const char *sdir = state_dir(rt);
	DIR *d = opendir(sdir);
	while (d) {
		struct dirent *de = readdir(d);
		if (!de)
			break;
		if (de->d_name[0] == '.')
			continue;
		char dir[1200], *text = NULL, drv[64], id[128], runtime[1024], v[64], pid_s[32], start_s[32];
		snprintf(dir, sizeof(dir), "%s/%s", sdir, de->d_name);
		if (sb_rt_marker_read(dir, &text) < 0)
			continue; /* no marker: not ours to judge */
		sb_rt_kv(text, "driver", drv, sizeof(drv));
		if (strcmp(drv, rt->name) != 0 || sb_rt_marker_owner_alive(text)) {
			free(text);
			continue;
		}
		found++;
		sb_rt_kv(text, "id", id, sizeof(id));
		sb_rt_kv(text, "owner_pid", v, sizeof(v));
		if (!sb_rt_kv(text, "runtime", runtime, sizeof(runtime)) || !runtime[0])
			snprintf(runtime, sizeof(runtime), "%s", have_bin ? bin : rt->binary);
		sb_rt_kv(text, "init_pid", pid_s, sizeof(pid_s));
		sb_rt_kv(text, "init_start", start_s, sizeof(start_s));
		emitf(emit, arg, "container %s, bundle %s (owner pid %s is gone)", id, dir, v);
		if (clean) {
			char cg[4096];
			marker_cgroups(text, cg, sizeof(cg));
			struct sb_error e = {0};
			struct sb_argv prefix = {0};
			marker_prefix(rt, text, runtime, &prefix);
			int r = sb_argv_ok(&prefix, &e);
			if (r == 0)
				r = remove_all(sb_argv_get(&prefix), rt->name, id[0] ? id : de->d_name, dir, cg,
					       (pid_t)atoi(pid_s), strtoull(start_s, NULL, 10), id[0] != 0,
					       sb_deadline_after(30), &e);
			sb_argv_free(&prefix);
			if (r < 0 && rc == 0)
				rc = sb_error_set(err, e.code, "%s", e.msg);
			emitf(emit, arg, "%s %s", r < 0 ? "could not remove" : "removed", id);
		}
		free(text);
	}
	if (d)
		closedir(d);
	/* Containers the runtime still lists with a bundle of ours that no longer exists. */
	struct sb_argv prefix = {0};
	sb_argv_add(&prefix, bin);
	sb_argv_add_all(&prefix, rt->global_args);
	if (have_bin && sb_argv_ok(&prefix, NULL) == 0) {
		const char *sub[] = {"list", "--format", "json", NULL};
		char *out = NULL;
		json_t *list = NULL;
		if (run_cmd(sb_argv_get(&prefix), sub, sb_deadline_after(10), &out, NULL) == 0)
			list = json_loads(out, 0, NULL);
		free(out);
		size_t i;
		json_t *c;
		json_array_foreach(list, i, c) {
			const char *id = json_string_value(json_object_get(c, "id"));
			const char *bundle = json_string_value(json_object_get(c, "bundle"));
			size_t pl = strlen(sdir);
			if (!id || !bundle || strncmp(bundle, sdir, pl) != 0 || bundle[pl] != '/' ||
			    sb_is_dir(bundle))
				continue;
			found++;
			emitf(emit, arg, "container %s of a removed bundle %s", id, bundle);
			if (clean) {
				const char *del[] = {"delete", "--force", id, NULL};
				struct sb_error e = {0};
				int r = run_cmd(sb_argv_get(&prefix), del, sb_deadline_after(30), NULL, &e);
				if (r < 0 && rc == 0)
					rc = sb_error_set(err, e.code, "%s", e.msg);
				emitf(emit, arg, "%s %s", r < 0 ? "could not remove" : "removed", id);
			}
		}
		json_decref(list);
	}
	sb_argv_free(&prefix);
	return rc < 0 ? rc : found;
}

/* ---- probe ---- */

void sb_oci_probe(const struct sb_oci_runtime *rt, const struct sb_params *params, unsigned caps,
		  const char *const *trial_args, double trial_s, struct sb_probe *out)
{
	memset(out, 0, sizeof(*out));
	char bin[1024];
	struct sb_error be = {0};
	if (sb_params_get(params, "bin")) {
		/* Another build (bin=PATH): its version and its trial start, not the packaged one's. */
		if (sb_rt_binary(params, rt_params(rt), rt->binary, bin, sizeof(bin), &be) < 0) {
			snprintf(out->reason, sizeof(out->reason), "%s", be.msg);
			return;
		}
	} else if (sb_rt_which(rt->binary, bin, sizeof(bin)) < 0) {
		snprintf(out->reason, sizeof(out->reason), "%s not found in PATH (apt-get install %s)", rt->binary,
			 rt->binary);
		return;
	}
	const char *vargv[] = {bin, "--version", NULL};
	sb_rt_version(vargv, 5, out->version, sizeof(out->version));

	/* The trial start: a throw-away bundle with an empty writable rootfs and one static binary
	 * bind-mounted in, run to completion. Its failure message is the runtime's own. */
	char agent[4096];
	struct sb_error e = {0};
	if (sb_find_agent(agent, sizeof(agent), NULL) < 0) {
		if (access("/bin/busybox", X_OK) < 0) {
			snprintf(out->reason, sizeof(out->reason),
				 "no sandbench-agent (or /bin/busybox) for the trial start");
			return;
		}
		snprintf(agent, sizeof(agent), "/bin/busybox");
	}
	char name[64], bundle[256], rootfs[300], cgpath[128];
	snprintf(name, sizeof(name), "probe-%s-%d", rt->name, (int)getpid());
	snprintf(bundle, sizeof(bundle), "%s/%s", state_dir(rt), name);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	snprintf(cgpath, sizeof(cgpath), "%s%s%s", rt->cgroup_relative ? "" : "/", SB_OCI_CGROUP_PREFIX, name);
	sb_rm_rf(bundle); /* a stale one of a previous process with our pid */
	int rc = sb_mkdir_p(rootfs, 0700);
	if (rc < 0) {
		snprintf(out->reason, sizeof(out->reason), "cannot create %s: %s", rootfs, strerror(-rc));
		return;
	}
	struct sb_argv cmd = {0};
	sb_argv_add(&cmd, bin);
	sb_argv_add_all(&cmd, rt->global_args);
	sb_argv_add_all(&cmd, trial_args);
	char extra[2048];
	int n = snprintf(extra, sizeof(extra), "runtime=%s\nid=%s\n", bin, name);
	for (size_t i = 1; i < cmd.n && n < (int)sizeof(extra); i++)
		n += snprintf(extra + n, sizeof(extra) - (size_t)n, "global=%s\n", cmd.v[i]);
	rc = sb_argv_ok(&cmd, &e);
	if (rc == 0)
		rc = sb_rt_marker_write(bundle, rt->name, name, extra, &e);
	const char *subdirs[] = {"proc", "dev", "sys", "tmp"};
	for (size_t i = 0; rc == 0 && i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		char p[400];
		snprintf(p, sizeof(p), "%s/%s", rootfs, subdirs[i]);
		mkdir(p, 0755);
	}
	const char *args[] = {"/sandbench-agent", "true", NULL};
	struct sb_oci_config c = {.box_name = name, .rootfs = rootfs, .readonly = false, .args = args,
				  .cgroups_path = cgpath, .bind_agent = agent};
	if (rc == 0)
		rc = sb_oci_config_write(bundle, &c, &e);
	if (rc == 0) {
		const char *sub[] = {"run", "--bundle", bundle, name, NULL};
		rc = run_cmd(sb_argv_get(&cmd), sub, sb_deadline_after(trial_s > 0 ? trial_s : 20), NULL, &e);
	}
	const char *del[] = {"delete", "--force", name, NULL};
	if (sb_argv_ok(&cmd, NULL) == 0)
		run_cmd(sb_argv_get(&cmd), del, sb_deadline_after(10), NULL, NULL);
	sb_argv_free(&cmd);
	char cgleaf[160], cgdirs[4096];
	snprintf(cgleaf, sizeof(cgleaf), "%s%s", SB_OCI_CGROUP_PREFIX, name);
	sb_rt_cgroup_guess_dirs(cgleaf, cgdirs, sizeof(cgdirs));
	sb_rt_cgroup_remove(cgdirs, sb_deadline_after(2));
	sb_rt_umount_below(bundle);
	sb_rm_rf(bundle);
	if (rc < 0) {
		snprintf(out->reason, sizeof(out->reason), "trial start failed: %s", e.msg);
		return;
	}
	out->usable = true;
	out->caps = caps;
}
