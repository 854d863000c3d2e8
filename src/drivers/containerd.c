/* The `containerd` driver: containerd driven through `ctr` in its own namespace "sandbench". The
 * standard rootfs becomes an image by importing a one-layer docker-archive made from it; each box
 * is `ctr run -d` of that image with the idle agent as its task, commands are `ctr task exec`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "drivers/engine.h"
#include "drivers/runtime_util.h"

extern const struct sb_driver sb_driver_containerd;

#define CTR_NS "sandbench"
#define CTR_IMAGE_PREFIX "localhost/sandbench"
#define CTR_DRIVER "containerd"
/* Per box: the fifo dir of its execs (see ctr_remove for why sandbench keeps it) */
#define CTR_STATE SB_RT_STATE_ROOT "/ctr"

struct sb_box {
	char name[96];
	pid_t pid;         /* the task's init on the host, 0 until looked up */
	unsigned exec_seq; /* exec ids must be unique within a task */
};

static char ctr_bin[PATH_MAX];
/* A driver instance: the image imported for one rootfs, so a matrix column or a paired side has its
 * own and none is shared through a file-level variable. */
struct ctr_inst {
	char image[160], rootfs[PATH_MAX];
};

static int ctr_open(const struct sb_params *params, void **state, struct sb_error *err)
{
	if (!(*state = calloc(1, sizeof(struct ctr_inst))))
		return sb_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static void ctr_close(void *state)
{
	free(state);
}

static const struct sb_param_def ctr_params[] = {
	{"net", "none", "network: none (a private namespace with loopback, ctr's default) or host", "none|host"},
	{NULL, NULL, NULL, NULL},
};

static int ctr_resolve(void)
{
	if (ctr_bin[0])
		return 0;
	return sb_rt_which("ctr", ctr_bin, sizeof(ctr_bin));
}

/* ctr -n sandbench ARGS... */
static void ctr_argv(struct sb_argv *a, const char *const *args)
{
	sb_argv_add_all(a, (const char *const[]){ctr_bin, "-n", CTR_NS, NULL});
	sb_argv_add_all(a, args);
}

static int ctr_run(const char *const *args, int64_t deadline_ns, char **out, struct sb_error *err)
{
	struct sb_argv a = {0};
	ctr_argv(&a, args);
	int rc = sb_argv_ok(&a, err);
	if (rc == 0)
		rc = sb_rt_run(sb_argv_get(&a), deadline_ns, out, err);
	sb_argv_free(&a);
	return rc;
}

static int not_running(struct sb_error *err)
{
	return sb_error_set(err, ECONNREFUSED,
			    "containerd: daemon not running (cannot connect to %s); `sandbench doctor "
			    "--prepare-host` starts it", sb_eng_containerd_daemon.socket);
}

static int write_text(const char *path, const char *text, struct sb_error *err)
{
	return sb_write_file_atomic(path, text, strlen(text), err);
}

/* A docker-archive (manifest.json + config + one layer tar) that `ctr images import` accepts. */
static int make_archive(const char *dir, const char *tmp, const char *ref, int64_t deadline_ns,
			struct sb_error *err)
{
	char layer[PATH_MAX + 32], path[PATH_MAX + 32], text[1024];
	snprintf(layer, sizeof(layer), "%s/layer.tar", tmp);
	int rc = sb_eng_tar(dir, layer, deadline_ns, err);
	char *sum = NULL;
	const char *sha[] = {"sha256sum", layer, NULL};
	if (rc == 0)
		rc = sb_rt_run(sha, deadline_ns, &sum, err);
	if (rc < 0)
		return rc;
	sum[strcspn(sum, " \n")] = '\0';
	/* the diff id must be the layer's real digest: containerd verifies it while unpacking */
	snprintf(text, sizeof(text),
		 "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/local/"
		 "sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"/sandbench-agent\","
		 "\"idle\"],\"Labels\":{\"%s\":\"rootfs\"}},\"rootfs\":{\"type\":\"layers\","
		 "\"diff_ids\":[\"sha256:%s\"]}}",
		 SB_ENG_LABEL_IMAGE, sum);
	free(sum);
	snprintf(path, sizeof(path), "%s/config.json", tmp);
	if ((rc = write_text(path, text, err)) < 0)
		return rc;
	snprintf(text, sizeof(text),
		 "[{\"Config\":\"config.json\",\"RepoTags\":[\"%s\"],\"Layers\":[\"layer.tar\"]}]", ref);
	snprintf(path, sizeof(path), "%s/manifest.json", tmp);
	if ((rc = write_text(path, text, err)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/image.tar", tmp);
	const char *tar[] = {"tar", "-C", tmp, "-cf", path, "manifest.json", "config.json", "layer.tar",
			     NULL};
	return sb_rt_run(tar, deadline_ns, NULL, err);
}

/* Older images of the same kind (an earlier agent or busybox) go once they are a day old (see
 * dk_prune in engine.c for why not at once); the import time is a label, as ctr shows no dates.
 * The namespace is sandbench's own, so the prefix alone says they are ours. */
static void ctr_prune(const char *kind, const char *keep, int64_t deadline_ns)
{
	char prefix[96], *list = NULL;
	snprintf(prefix, sizeof(prefix), "%s/%s:", CTR_IMAGE_PREFIX, kind);
	if (ctr_run((const char *const[]){"images", "ls", NULL}, deadline_ns, &list, NULL) == 0) {
		for (char *s, *l = strtok_r(list, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
			char ref[256];
			const char *at = strstr(l, "sandbench.imported=");
			if (sscanf(l, "%255s", ref) != 1 || strncmp(ref, prefix, strlen(prefix)) != 0 ||
			    strcmp(ref, keep) == 0 || !at ||
			    time(NULL) - atol(at + 19) < SB_ENG_IMAGE_KEEP_S)
				continue;
			ctr_run((const char *const[]){"images", "rm", ref, NULL}, deadline_ns, NULL, NULL);
		}
	}
	free(list);
}

static int ctr_image(const char *dir, const char *kind, const char *hash, char *ref, size_t rlen,
		     int64_t deadline_ns, struct sb_error *err)
{
	snprintf(ref, rlen, "%s/%s:%s", CTR_IMAGE_PREFIX, kind, hash);
	if (!sb_eng_socket_up(sb_eng_containerd_daemon.socket))
		return not_running(err); /* else ctr would spend 10 s dialing */
	char *list = NULL;
	int rc = ctr_run((const char *const[]){"images", "ls", "-q", NULL}, deadline_ns, &list, err);
	if (rc < 0)
		return rc;
	bool have = false;
	for (char *s, *l = strtok_r(list, "\n", &s); l && !have; l = strtok_r(NULL, "\n", &s))
		have = strcmp(l, ref) == 0;
	free(list);
	if (have)
		return 0;
	char tmp[PATH_MAX], archive[PATH_MAX + 32];
	if ((rc = sb_eng_tmpdir(tmp, sizeof(tmp), err)) < 0)
		return rc;
	snprintf(archive, sizeof(archive), "%s/image.tar", tmp);
	rc = make_archive(dir, tmp, ref, deadline_ns, err);
	if (rc == 0)
		rc = ctr_run((const char *const[]){"images", "import", archive, NULL}, deadline_ns, NULL, err);
	if (rc == 0) {
		char label[64], when[64];
		snprintf(label, sizeof(label), "%s=%s", SB_ENG_LABEL_IMAGE, kind);
		snprintf(when, sizeof(when), "sandbench.imported=%lld", (long long)time(NULL));
		ctr_run((const char *const[]){"images", "label", ref, label, when, NULL}, deadline_ns, NULL,
			NULL);
		ctr_prune(kind, ref, deadline_ns);
	}
	sb_rm_rf(tmp);
	return rc;
}

static void ctr_probe(const struct sb_params *params, struct sb_probe *out)
{
	memset(out, 0, sizeof(*out));
	if (ctr_resolve() < 0) {
		snprintf(out->reason, sizeof(out->reason), "containerd: not installed (no ctr in PATH)");
		return;
	}
	/* `ctr version` would wait 10 s to dial a daemon that is not there: the client's own */
	const char *ver[] = {ctr_bin, "--version", NULL};
	sb_rt_version(ver, 10, out->version, sizeof(out->version));
	struct sb_error err = {0};
	if (!sb_eng_socket_up(sb_eng_containerd_daemon.socket)) {
		not_running(&err);
		snprintf(out->reason, sizeof(out->reason), "%s", err.msg);
		return;
	}
	char dir[PATH_MAX], ref[160], name[64], owner[96], drv[64];
	if (sb_eng_probe_rootfs(dir, sizeof(dir), out->reason, sizeof(out->reason)) < 0)
		return;
	int64_t deadline = sb_deadline_after(60);
	if (ctr_image(dir, "probe", strrchr(dir, '-') + 1, ref, sizeof(ref), deadline, &err) < 0) {
		snprintf(out->reason, sizeof(out->reason), "containerd: cannot import the trial image: %s",
			 err.msg);
		return;
	}
	snprintf(name, sizeof(name), "sb-probe-%d", (int)getpid());
	snprintf(owner, sizeof(owner), "%s=%s", SB_ENG_LABEL_OWNER, sb_eng_owner());
	snprintf(drv, sizeof(drv), "%s=%s", SB_ENG_LABEL_DRIVER, CTR_DRIVER);
	const char *const trial[] = {"run", "--rm", "--null-io", "--label", owner, "--label", drv,
				     ref, name, "/sandbench-agent", "true", NULL};
	int rc = ctr_run(trial, deadline, NULL, &err);
	if (rc < 0 && sb_eng_image_missing(err.msg) &&
	    ctr_image(dir, "probe", strrchr(dir, '-') + 1, ref, sizeof(ref), deadline, &err) == 0)
		rc = ctr_run(trial, deadline, NULL, &err); /* pruned meanwhile: once more */
	if (rc < 0) {
		snprintf(out->reason, sizeof(out->reason), "containerd: trial container failed: %s", err.msg);
		return;
	}
	out->usable = true;
	out->caps = sb_driver_containerd.caps;
}

static int ctr_prepare(const struct sb_box_spec *spec, int64_t deadline_ns, struct sb_error *err)
{
	if (ctr_resolve() < 0)
		return sb_error_set(err, ENOENT, "containerd: ctr is not installed");
	struct ctr_inst *in = spec->drv_state;
	if (!in)
		return sb_error_set(err, EINVAL, "containerd: driver used without an instance (sb_drv_open)");
	if (in->image[0] && spec->rootfs && strcmp(in->rootfs, spec->rootfs) == 0)
		return 0;
	char hash[17];
	int rc = sb_eng_rootfs_hash(spec->rootfs, hash, err);
	if (rc == 0)
		rc = ctr_image(spec->rootfs, "rootfs", hash, in->image, sizeof(in->image),
			       deadline_ns, err);
	if (rc < 0) {
		in->image[0] = '\0';
		return rc;
	}
	snprintf(in->rootfs, sizeof(in->rootfs), "%s", spec->rootfs);
	return 0;
}

static int ctr_drop(const struct sb_box_spec *spec, int64_t deadline_ns, struct sb_error *err)
{
	if (ctr_resolve() < 0)
		return sb_error_set(err, ENOENT, "containerd: ctr is not installed");
	struct ctr_inst *in = spec->drv_state;
	if (!in)
		return sb_error_set(err, EINVAL, "containerd: driver used without an instance (sb_drv_open)");
	char hash[17], ref[160];
	int rc = sb_eng_rootfs_hash(spec->rootfs, hash, err);
	if (rc < 0)
		return rc;
	snprintf(ref, sizeof(ref), "%s/rootfs:%s", CTR_IMAGE_PREFIX, hash);
	if (strcmp(in->image, ref) == 0)
		in->image[0] = '\0';
	/* containerd's garbage collector then drops its content and snapshots; run to the end even
	 * while sandbench is being interrupted */
	const char *rm[] = {ctr_bin, "-n", CTR_NS, "images", "rm", "--sync", ref, NULL};
	struct sb_error e = {0};
	if (sb_eng_run_teardown(rm, deadline_ns, &e) < 0 && !strstr(e.msg, "not found")) {
		*err = e;
		return -e.code;
	}
	return 0;
}

/* `ctr containers ls` filtered by the owner label every box of this process carries. */
static int ctr_list(const struct sb_box_spec *spec, sb_line_fn emit, void *arg, int64_t deadline_ns,
		    struct sb_error *err)
{
	if (ctr_resolve() < 0)
		return sb_error_set(err, ENOENT, "containerd: ctr is not installed");
	char filter[160];
	snprintf(filter, sizeof(filter), "labels.\"%s\"==%s", SB_ENG_LABEL_OWNER, sb_eng_owner());
	char *ids = NULL;
	int rc = ctr_run((const char *const[]){"containers", "ls", "-q", filter, NULL}, deadline_ns, &ids, err), n = 0;
	for (char *save, *l = rc == 0 ? strtok_r(ids, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save), n++)
		emit(arg, l);
	free(ids);
	return rc < 0 ? rc : n;
}

/* `ctr containers info`: the container record (containerd keeps no state there; a task's status
 * is another request, so status stays empty). */
static int ctr_inspect(struct sb_box *box, struct sb_box_info *out, int64_t deadline_ns, struct sb_error *err)
{
	char *text = NULL;
	int rc = ctr_run((const char *const[]){"containers", "info", box->name, NULL}, deadline_ns, &text, err);
	json_t *j = rc == 0 ? json_loads(text, 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(j, "ID"));
	if (rc == 0 && !id)
		rc = sb_error_set(err, EPROTO, "containerd: containers info %s: no ID in its answer", box->name);
	if (id)
		snprintf(out->name, sizeof(out->name), "%s", id);
	json_decref(j);
	free(text);
	return rc;
}

static int ctr_remove_held(const char *name, int64_t deadline_ns, struct sb_error *err)
{
	struct sb_error e = {0};
	int rc = 0;
	const char *task[] = {ctr_bin, "-n", CTR_NS, "task", "rm", "-f", name, NULL};
	const char *cont[] = {ctr_bin, "-n", CTR_NS, "containers", "rm", name, NULL};
	/* "not found" is fine: the task may never have started or already be gone. So is "failed to
	 * load task": its shim died (an owner SIGKILLed during create takes the shim with it), and
	 * containerd has nothing left to stop; removing the container below is what counts. */
	if (sb_eng_run_teardown(task, deadline_ns, &e) < 0 && !strstr(e.msg, "not found") &&
	    !strstr(e.msg, "failed to load task")) {
		*err = e;
		rc = -e.code;
	}
	sb_error_clear(&e);
	if (sb_eng_run_teardown(cont, deadline_ns, &e) < 0 && !strstr(e.msg, "not found")) {
		*err = e;
		rc = -e.code;
	}
	return rc;
}

/* Open every fifo below dir (read-write, so no open blocks), into fds; returns the count. */
static size_t hold_fifos(const char *dir, int *fds, size_t cap)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)) && n < cap) {
		if (de->d_name[0] == '.')
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			n += hold_fifos(path, fds + n, cap - n);
		else if (de->d_type == DT_FIFO && (fds[n] = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) >= 0)
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* containerd puts a task's cgroups at /<namespace>/<id> and never removes the namespace level, so
 * the last box of a run would leave an empty "sandbench" cgroup in every hierarchy. rmdir only
 * removes an empty cgroup, so one still holding another run's containers stays. */
static void remove_ns_cgroups(void)
{
	DIR *d = opendir("/sys/fs/cgroup");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/" CTR_NS, de->d_name);
		rmdir(path);
	}
	closedir(d);
	rmdir("/sys/fs/cgroup/" CTR_NS); /* a pure cgroup v2 host */
}

/* Kill and delete the task, then the container (which takes its snapshot with it). Run even when
 * sandbench is being interrupted. An exec whose ctr client was killed while it started (what an
 * interrupt does) leaves the shim waiting 30 s for someone to open its fifos, and every task
 * operation waits behind it; holding the box's fifos open meanwhile lets it go on at once. */
static int ctr_remove(const char *name, int64_t deadline_ns, struct sb_error *err)
{
	char dir[PATH_MAX];
	int fds[64];
	snprintf(dir, sizeof(dir), "%s/%s", CTR_STATE, name);
	size_t nfd = hold_fifos(dir, fds, 64);
	int rc = ctr_remove_held(name, deadline_ns, err);
	for (size_t i = 0; i < nfd; i++)
		close(fds[i]);
	sb_rm_rf(dir);
	remove_ns_cgroups();
	return rc;
}

static int ctr_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
		      struct sb_error *err)
{
	int rc = ctr_prepare(spec, deadline_ns, err);
	if (rc < 0)
		return rc;
	const char *net = sb_params_get_def(spec->params, ctr_params, "net");
	if (strcmp(net, "none") != 0 && strcmp(net, "host") != 0)
		return sb_error_set(err, EINVAL, "containerd: net=%s: expected none or host", net);
	/* --mount type=bind,src=..,dst=..,options=a:b: commas and colons would split a path */
	if ((rc = sb_rt_volumes_check("containerd", spec, ",:", err)) < 0)
		return rc;
	struct sb_box *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	snprintf(b->name, sizeof(b->name), "%s", spec->name);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%s", CTR_STATE, spec->name);
	if (sb_mkdir_p(dir, 0700) < 0) {
		free(b);
		return sb_error_set(err, errno, "containerd: cannot create %s: %s", dir, strerror(errno));
	}
	struct sb_argv a = {0};
	/* --null-io: the idle task writes nothing we want, and no fifo outlives `ctr run -d` */
	ctr_argv(&a, (const char *const[]){"run", "-d", "--null-io", NULL});
	sb_argv_addf(&a, "--label=%s=%s", SB_ENG_LABEL_RUN, spec->name);
	sb_argv_addf(&a, "--label=%s=%s", SB_ENG_LABEL_OWNER, sb_eng_owner());
	sb_argv_addf(&a, "--label=%s=%s", SB_ENG_LABEL_DRIVER, CTR_DRIVER);
	if (strcmp(net, "host") == 0)
		sb_argv_add(&a, "--net-host");
	if (spec->mem_limit_bytes)
		sb_argv_addf(&a, "--memory-limit=%llu", (unsigned long long)spec->mem_limit_bytes);
	if (spec->cpu_limit > 0)
		sb_argv_addf(&a, "--cpus=%g", spec->cpu_limit);
	/* the mount point is made in the container's own snapshot */
	for (size_t i = 0; i < spec->nvolumes; i++)
		sb_argv_addf(&a, "--mount=type=bind,src=%s,dst=%s,options=rbind:%s", spec->volumes[i].host_path,
			     spec->volumes[i].box_path, spec->volumes[i].readonly ? "ro" : "rw");
	struct ctr_inst *in = spec->drv_state;
	sb_argv_add_all(&a, (const char *const[]){in->image, spec->name, SB_ENG_IDLE_ARGV, NULL});
	rc = sb_argv_ok(&a, err);
	if (rc == 0 && (rc = sb_rt_run(sb_argv_get(&a), deadline_ns, NULL, err)) < 0 &&
	    sb_eng_image_missing(err->msg)) {
		/* another sandbench pruned the image since we prepared it: import it again, once */
		in->image[0] = '\0';
		if ((rc = ctr_prepare(spec, deadline_ns, err)) == 0)
			rc = sb_rt_run(sb_argv_get(&a), deadline_ns, NULL, err);
	}
	sb_argv_free(&a);
	if (rc < 0) {
		struct sb_error e = {0};
		ctr_remove(spec->name, sb_deadline_after(30), &e);
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

static void exec_prefix(struct sb_box *box, struct sb_argv *a)
{
	ctr_argv(a, (const char *const[]){"task", "exec", NULL});
	sb_argv_addf(a, "--fifo-dir=%s/%s", CTR_STATE, box->name);
	sb_argv_addf(a, "--exec-id=x%d-%u", (int)getpid(), ++box->exec_seq);
	sb_argv_add(a, box->name);
}

static int ctr_exec(struct sb_box *box, const struct sb_exec_req *req, struct sb_proc_result *res,
		    struct sb_error *err)
{
	struct sb_argv a = {0};
	exec_prefix(box, &a);
	int rc = sb_argv_ok(&a, err);
	if (rc == 0)
		rc = sb_rt_exec(sb_argv_get(&a), req, NULL, res, err);
	sb_argv_free(&a);
	return rc;
}

static int ctr_agent_open(struct sb_box *box, struct sb_agent_conn *conn, int64_t deadline_ns,
			  struct sb_error *err)
{
	struct sb_argv a = {0};
	exec_prefix(box, &a);
	sb_argv_add_all(&a, (const char *const[]){"/sandbench-agent", "serve", NULL});
	int rc = sb_argv_ok(&a, err);
	if (rc == 0)
		rc = sb_proc_spawn_piped(sb_argv_get(&a), &conn->pid, &conn->to_agent, &conn->from_agent,
					 NULL, err);
	sb_argv_free(&a);
	return rc;
}

static int ctr_pid(struct sb_box *box, struct sb_error *err)
{
	if (box->pid > 0)
		return 0;
	char *list = NULL;
	int rc = ctr_run((const char *const[]){"task", "ls", NULL}, sb_deadline_after(20), &list, err);
	if (rc < 0)
		return rc;
	for (char *s, *l = strtok_r(list, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
		char name[128], status[32];
		int pid;
		if (sscanf(l, "%127s %d %31s", name, &pid, status) == 3 && strcmp(name, box->name) == 0 &&
		    strcmp(status, "RUNNING") == 0)
			box->pid = pid;
	}
	free(list);
	return box->pid > 0 ? 0 : sb_error_set(err, ESRCH, "task %s is not running", box->name);
}

static int ctr_stop(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	int rc = ctr_pid(box, err);
	if (rc < 0)
		return rc;
	if ((rc = ctr_run((const char *const[]){"task", "kill", box->name, NULL}, deadline_ns, NULL,
			  err)) < 0)
		return rc;
	if (sb_rt_wait_gone(box->pid, deadline_ns) < 0)
		return sb_error_set(err, ETIMEDOUT, "task %s did not stop", box->name);
	return 0;
}

static int ctr_destroy(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	int rc = ctr_remove(box->name, deadline_ns, err);
	if (rc < 0)
		sb_error_prefix(err, "removing container %s", box->name);
	free(box);
	return rc;
}

static int ctr_stats(struct sb_box *box, struct sb_box_stats *out, struct sb_error *err)
{
	int rc = ctr_pid(box, err);
	return rc < 0 ? rc : sb_eng_cgroup_stats(box->pid, box->name, out, err);
}

static int ctr_pids(struct sb_box *box, pid_t *pids, size_t cap, size_t *n, struct sb_error *err)
{
	int rc = ctr_pid(box, err);
	return rc < 0 ? rc : sb_eng_cgroup_pids(box->pid, box->name, pids, cap, n, err);
}

static int ctr_host_pids(struct sb_box *box, struct sb_host_proc *procs, size_t cap, size_t *n,
			 struct sb_error *err)
{
	int rc = ctr_pid(box, err);
	if (rc == 0)
		sb_eng_shim_host_pids(box->pid, procs, cap, n);
	return rc;
}

/* The owner label of container id when it is one of ours, "" when it is ours without an owner,
 * NULL when it is not ours (or gone). */
static char *container_owner(const char *id)
{
	char *info = NULL;
	if (ctr_run((const char *const[]){"containers", "info", id, NULL}, sb_deadline_after(30), &info,
		    NULL) < 0) {
		free(info);
		return NULL;
	}
	json_t *j = json_loads(info, 0, NULL);
	free(info);
	json_t *labels = json_object_get(j, "Labels");
	const char *drv = json_string_value(json_object_get(labels, SB_ENG_LABEL_DRIVER));
	const char *owner = json_string_value(json_object_get(labels, SB_ENG_LABEL_OWNER));
	char *r = drv && strcmp(drv, CTR_DRIVER) == 0 ? strdup(owner ? owner : "") : NULL;
	json_decref(j);
	return r;
}

static int ctr_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	if (ctr_resolve() < 0)
		return 0;
	if (!sb_eng_socket_up(sb_eng_containerd_daemon.socket)) {
		emit(arg, "containers not checked: containerd is not running");
		return 0;
	}
	char *ids = NULL;
	int rc = ctr_run((const char *const[]){"containers", "ls", "-q", NULL}, sb_deadline_after(30),
			 &ids, err);
	if (rc < 0)
		return rc;
	int found = 0;
	char line[400];
	for (char *s, *id = strtok_r(ids, "\n", &s); id; id = strtok_r(NULL, "\n", &s)) {
		char *owner = container_owner(id);
		if (!owner || sb_eng_owner_alive(owner)) {
			free(owner);
			continue;
		}
		found++;
		snprintf(line, sizeof(line), "container %s in namespace %s, its run %s is gone%s", id,
			 CTR_NS, owner[0] ? owner : "(unknown)", clean ? ": removing" : "");
		free(owner);
		emit(arg, line);
		if (clean && ctr_remove(id, sb_deadline_after(60), err) < 0)
			rc = -err->code;
	}
	free(ids);
	/* an active snapshot named like a box with no container left: a run died between the two */
	char *snaps = NULL;
	if (ctr_run((const char *const[]){"snapshots", "ls", NULL}, sb_deadline_after(30), &snaps,
		    NULL) == 0) {
		char *cs = NULL;
		ctr_run((const char *const[]){"containers", "ls", "-q", NULL}, sb_deadline_after(30), &cs,
			NULL);
		for (char *s, *l = strtok_r(snaps, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
			char key[256], parent[256], kind[32];
			if (sscanf(l, "%255s %255s %31s", key, parent, kind) != 3 || strcmp(kind, "Active") ||
			    strncmp(key, "sb-", 3) != 0)
				continue;
			bool has_container = false;
			for (char *p = cs; p && (p = strstr(p, key)); p += strlen(key))
				if ((p == cs || p[-1] == '\n') && (p[strlen(key)] == '\n' || !p[strlen(key)]))
					has_container = true;
			if (has_container)
				continue;
			found++;
			snprintf(line, sizeof(line), "snapshot %s without a container%s", key,
				 clean ? ": removing" : "");
			emit(arg, line);
			if (clean)
				ctr_run((const char *const[]){"snapshots", "rm", key, NULL}, sb_deadline_after(30),
					NULL, NULL);
		}
		free(cs);
	}
	free(snaps);
	/* fifo dirs of boxes whose container is gone (their run died after removing it) */
	DIR *d = opendir(CTR_STATE);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", CTR_STATE, de->d_name);
		struct stat st;
		if (de->d_name[0] == '.' || stat(dir, &st) < 0 || time(NULL) - st.st_mtime < 60)
			continue; /* a box being made right now has its dir before its container */
		char *owner = container_owner(de->d_name);
		bool exists = owner != NULL;
		free(owner);
		if (exists)
			continue;
		found++;
		snprintf(line, sizeof(line), "state dir %s without a container%s", dir, clean ? ": removing" : "");
		emit(arg, line);
		if (clean)
			sb_rm_rf(dir);
	}
	if (d)
		closedir(d);
	return rc < 0 ? rc : found;
}

static int ctr_host_fix(enum sb_host_fix_mode mode, sb_line_fn emit, void *arg, struct sb_error *err)
{
	const struct sb_eng_daemon *cd = &sb_eng_containerd_daemon;
	char *rec = sb_eng_daemon_record(cd->name), by[32] = "";
	if (rec)
		sb_rt_kv(rec, "by", by, sizeof(by));
	free(rec);
	char path[PATH_MAX], line[512];
	bool installed = sb_rt_which("containerd", path, sizeof(path)) == 0;
	bool up = sb_eng_socket_up(cd->socket);
	if (mode == SB_HOST_EXPLAIN) {
		if (!installed)
			emit(arg, "containerd is not installed (scripts/deps.sh runtimes): nothing to start");
		else if (up)
			emit(arg, by[0] ? "daemon running, started by --prepare-host (--restore-host stops it)"
					: "daemon running: no change needed");
		else
			emit(arg, "daemon not running and no systemd here: --prepare-host starts containerd in "
				  "the background, log in " SB_ENG_LOG_DIR "/containerd.log, pid file in "
				  SB_ENG_HOSTFIX_DIR "/");
		return 0;
	}
	if (mode == SB_HOST_APPLY) {
		if (up) {
			emit(arg, "daemon already running: nothing to do");
			return 0;
		}
		bool started;
		int rc = sb_eng_daemon_start(cd, CTR_DRIVER, NULL, 30, &started, err);
		if (rc < 0)
			return rc;
		snprintf(line, sizeof(line), "started containerd (log %s/containerd.log, pid file %s/containerd.pid)",
			 SB_ENG_LOG_DIR, SB_ENG_HOSTFIX_DIR);
		emit(arg, line);
		return 0;
	}
	if (strcmp(by, CTR_DRIVER) != 0) {
		emit(arg, strcmp(by, "docker") == 0
				  ? "containerd was started for dockerd: the docker restore stops it"
				  : "nothing to restore (sandbench started no containerd)");
		return 0;
	}
	int rc = sb_eng_daemon_stop(cd->name, 30, err);
	if (rc == 0)
		emit(arg, "stopped the containerd sandbench started");
	return rc;
}

const struct sb_driver sb_driver_containerd = {
	.name = "containerd",
	.summary = "containerd through ctr (namespace sandbench), the standard rootfs imported as an image",
	.caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_STATS | SB_CAP_MEMLIMIT | SB_CAP_CPULIMIT |
		SB_CAP_ISOLATION | SB_CAP_PIDS | SB_CAP_VOLUMES,
	.params = ctr_params,
	.image = SB_IMAGE_ROOTFS,
	.agent_in_box = "/sandbench-agent",
	.probe = ctr_probe,
	.open = ctr_open,
	.close = ctr_close,
	.template_prepare = ctr_prepare,
	.template_drop = ctr_drop,
	.list = ctr_list,
	.box_inspect = ctr_inspect,
	.box_create = ctr_create,
	.box_exec = ctr_exec,
	.box_agent_open = ctr_agent_open,
	.box_stop = ctr_stop,
	.box_destroy = ctr_destroy,
	.box_stats = ctr_stats,
	.box_pids = ctr_pids,
	.box_host_pids = ctr_host_pids,
	.leftovers = ctr_leftovers,
	.host_fix = ctr_host_fix,
};
