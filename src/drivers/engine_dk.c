/* The docker-compatible engine shared by both podman variants and docker (see engine.h): their
 * CLIs agree on every verb sandbench uses. Split from engine.c, which keeps what every engine and
 * jail driver shares. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/util.h"
#include "drivers/runtime_util.h"
#include "image/image.h"

/* ---- docker-compatible engines ---- */

struct sb_box {
	struct sb_dk *dk;
	char name[96];
	char id[96];
	pid_t pid; /* the container's init on the host, 0 until looked up */
};

const struct sb_param_def sb_dk_params[] = {
	{"net", "default", "network: default (the engine's default network) or none (loopback only)", "default|none"},
	{"runtime", NULL, "the container's OCI runtime (default: the driver's): podman takes a name or a path, "
			  "e.g. another build of crun; docker a name registered with dockerd", NULL},
	{NULL, NULL, NULL, NULL},
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
	if (!dk_is_podman(dk) && strstr(err->msg, "Unknown runtime specified runsc"))
		return sb_error_set(err, ENOENT, "%s: this dockerd has no runsc runtime (the dockerd that "
				    "`sandbench doctor --prepare-host --drivers docker` starts registers it)", dk->driver);
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

int sb_dk_open(const struct sb_dk *tmpl, void **state, struct sb_error *err)
{
	struct sb_dk *dk = malloc(sizeof(*dk));
	if (!dk)
		return sb_error_set(err, ENOMEM, "out of memory");
	*dk = *tmpl;
	*state = dk;
	return 0;
}

void sb_dk_close(void *state)
{
	free(state);
}

struct sb_dk *sb_dk_instance(const struct sb_box_spec *spec, struct sb_error *err)
{
	if (!spec->drv_state)
		sb_error_set(err, EINVAL, "engine driver used without an instance (sb_drv_open)");
	return spec->drv_state;
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

int sb_dk_template_drop(const struct sb_box_spec *spec, int64_t deadline_ns, struct sb_error *err)
{
	struct sb_dk *dk = sb_dk_instance(spec, err);
	if (!dk)
		return -EINVAL;
	if (dk_resolve(dk) < 0)
		return sb_error_set(err, ENOENT, "%s: %s is not installed", dk->driver, dk->cli_name);
	char hash[17], tag[160];
	int rc = sb_eng_rootfs_hash(spec->rootfs, hash, err);
	if (rc < 0)
		return rc;
	snprintf(tag, sizeof(tag), "%s/rootfs:%s", dk->image_prefix, hash);
	if (strcmp(dk->image, tag) == 0)
		dk->image[0] = '\0';
	/* Run to the end even while sandbench is being interrupted: a cold start's image must go. */
	const char *rmi[] = {dk->cli, "rmi", tag, NULL};
	struct sb_error e = {0};
	if (sb_eng_run_teardown(rmi, deadline_ns, &e) < 0 && !sb_eng_image_missing(e.msg)) {
		*err = e;
		return dk_fail(dk, err);
	}
	return 0;
}

/* This process's containers of this driver, by the labels every one carries. */
int sb_dk_list(const struct sb_box_spec *spec, sb_line_fn emit, void *arg, int64_t deadline_ns,
	       struct sb_error *err)
{
	struct sb_dk *dk = sb_dk_instance(spec, err);
	if (!dk)
		return -EINVAL;
	if (dk_resolve(dk) < 0)
		return sb_error_set(err, ENOENT, "%s: %s is not installed", dk->driver, dk->cli_name);
	char fdrv[128], fown[128];
	snprintf(fdrv, sizeof(fdrv), "label=%s=%s", SB_ENG_LABEL_DRIVER, dk->driver);
	snprintf(fown, sizeof(fown), "label=%s=%s", SB_ENG_LABEL_OWNER, sb_eng_owner());
	const char *ps[] = {dk->cli, "ps", "-a", "--filter", fdrv, "--filter", fown, "--format", "{{.Names}}", NULL};
	char *names = NULL;
	int rc = sb_rt_run(ps, deadline_ns, &names, err), n = 0;
	if (rc < 0) {
		free(names);
		return dk_fail(dk, err);
	}
	for (char *save, *l = strtok_r(names, "\n", &save); l; l = strtok_r(NULL, "\n", &save), n++)
		emit(arg, l);
	free(names);
	return n;
}

int sb_dk_inspect(struct sb_box *box, struct sb_box_info *out, int64_t deadline_ns, struct sb_error *err)
{
	const char *argv[] = {box->dk->cli, "inspect", "--format", "{{.Name}} {{.State.Status}} {{.State.Pid}}",
			      box->id, NULL};
	char *text = NULL;
	int rc = sb_rt_run(argv, deadline_ns, &text, err);
	if (rc < 0) {
		free(text);
		return dk_fail(box->dk, err);
	}
	char name[128] = "";
	int pid = 0;
	if (sscanf(text, "%127s %31s %d", name, out->status, &pid) != 3)
		rc = sb_error_set(err, EPROTO, "%s inspect %s: unexpected output '%.80s'", box->dk->cli_name, box->name,
				  text);
	free(text);
	/* docker says "/name" */
	snprintf(out->name, sizeof(out->name), "%s", name[0] == '/' ? name + 1 : name);
	out->pid = pid;
	return rc;
}

/* The container's end of the engine's bridge and the bridge's own address on the host (the
 * gateway the engine gives the container): the two ends of the network net=default made. Neither
 * is routed anywhere else by sandbench. */
int sb_dk_addr(struct sb_box *box, struct sb_box_addr *out, struct sb_error *err)
{
	const char *argv[] = {box->dk->cli, "inspect", "--format",
			      "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.Gateway}}\n{{end}}", box->id, NULL};
	char *text = NULL;
	int rc = sb_rt_run(argv, sb_deadline_after(20), &text, err);
	if (rc < 0) {
		free(text);
		return dk_fail(box->dk, err);
	}
	char ip[48] = "", gw[48] = "";
	for (char *save, *l = strtok_r(text, "\n", &save); l && !(ip[0] && gw[0]); l = strtok_r(NULL, "\n", &save))
		if (sscanf(l, "%47s %47s", ip, gw) != 2)
			ip[0] = gw[0] = '\0';
	free(text);
	if (!ip[0] || !gw[0])
		return sb_error_set(err, ENOTSUP, "%s: container %s has no bridge address (net=none; net=default has one)",
				    box->dk->driver, box->name);
	snprintf(out->box_ip, sizeof(out->box_ip), "%s", ip);
	snprintf(out->host_ip, sizeof(out->host_ip), "%s", gw);
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
	const char *oci = sb_params_get_def(spec->params, sb_dk_params, "runtime");
	char oci_path[PATH_MAX];
	if (oci && *oci && strchr(oci, '/') && sb_rt_which(oci, oci_path, sizeof(oci_path)) < 0) {
		free(b);
		return sb_error_set(err, ENOENT, "%s: runtime=%s: not an executable file", dk->driver, oci);
	}
	if (!oci || !*oci)
		oci = dk->runtime;
	struct sb_argv a = {0};
	sb_argv_add(&a, dk->cli);
	const char *oci_base = oci && strrchr(oci, '/') ? strrchr(oci, '/') + 1 : oci;
	if (dk_is_podman(dk) && oci_base && strcmp(oci_base, "runsc") == 0)
		/* gVisor's own stack refuses the namespace podman made on newer kernels (its root-namespace
		 * check looks for rmem_default, which every namespace has now): run its sockets on the
		 * kernel's stack inside that namespace instead */
		sb_argv_add(&a, "--runtime-flag=network=host");
	sb_argv_add_all(&a, (const char *const[]){"run", "-d", "--pull=never", "--name", spec->name, NULL});
	sb_argv_addf(&a, "--label=%s=%s", SB_ENG_LABEL_RUN, spec->name);
	sb_argv_addf(&a, "--label=%s=%s", SB_ENG_LABEL_OWNER, sb_eng_owner());
	sb_argv_addf(&a, "--label=%s=%s", SB_ENG_LABEL_DRIVER, dk->driver);
	if (oci)
		sb_argv_addf(&a, "--runtime=%s", oci);
	sb_argv_add_all(&a, dk->run_flags);
	/* Without an explicit net=, what the scenario asks for: loopback only for a strict box or one
	 * that wants no network (latency-start-no-net), the engine's bridge otherwise. */
	bool net_given = sb_params_get(spec->params, "net") != NULL;
	if (strcmp(net, "none") == 0 || (!net_given && (spec->strict || spec->net == SB_BOX_NET_NONE)))
		sb_argv_add(&a, "--network=none");
	/* The strictest the engine offers without a policy file: read-only root, no capabilities,
	 * no privilege gain. */
	if (spec->strict)
		sb_argv_add_all(&a, (const char *const[]){"--read-only", "--cap-drop=ALL",
							  "--security-opt=no-new-privileges", NULL});
	if (spec->mem_limit_bytes)
		sb_argv_addf(&a, "--memory=%llu", (unsigned long long)spec->mem_limit_bytes);
	if (spec->pids_limit)
		sb_argv_addf(&a, "--pids-limit=%llu", (unsigned long long)spec->pids_limit);
	if (spec->cpu_limit > 0)
		sb_argv_addf(&a, "--cpus=%g", spec->cpu_limit);
	/* Host directories and forwarded ports, as the engine's own -v and -p give them. */
	for (size_t i = 0; i < spec->nvolumes; i++)
		sb_argv_addf(&a, "--volume=%s:%s%s", spec->volumes[i].host_path, spec->volumes[i].box_path,
			     spec->volumes[i].readonly ? ":ro" : "");
	if (spec->nports && strcmp(net, "none") == 0) {
		free(b);
		sb_argv_free(&a);
		return sb_error_set(err, EINVAL, "%s: forwarded ports need a network (net=default)", dk->driver);
	}
	for (size_t i = 0; i < spec->nports; i++) {
		if (spec->ports[i].host_port)
			sb_argv_addf(&a, "--publish=127.0.0.1:%u:%u", spec->ports[i].host_port, spec->ports[i].box_port);
		else
			sb_argv_addf(&a, "--publish=127.0.0.1::%u", spec->ports[i].box_port);
	}
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

int sb_dk_host_pids(struct sb_box *box, struct sb_host_proc *procs, size_t cap, size_t *n,
		    struct sb_error *err)
{
	int rc = dk_pid(box, err);
	if (rc < 0)
		return rc;
	/* podman: conmon holds the container (no daemon); docker: a containerd shim, plus dockerd and
	 * containerd shared with every other container. */
	if (dk_is_podman(box->dk))
		sb_rt_host_parent(box->pid, "conmon", procs, cap, n);
	else
		sb_eng_shim_host_pids(box->pid, procs, cap, n);
	return 0;
}

/* Whether the engine still lists container `id` (so a failed inspect was not a race with its removal). */
static bool dk_still_listed(struct sb_dk *dk, const char *id)
{
	char filter[160], *out = NULL;
	snprintf(filter, sizeof(filter), "id=%s", id);
	const char *ps[] = {dk->cli, "ps", "-a", "-q", "--no-trunc", "--filter", filter, NULL};
	bool listed = sb_rt_run(ps, sb_deadline_after(30), &out, NULL) == 0 && out && strstr(out, id);
	free(out);
	return listed;
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
		struct sb_error ie = {0};
		if (sb_rt_run(insp, sb_deadline_after(30), &info, &ie) < 0) {
			free(info);
			if (!dk_still_listed(dk, id))
				continue; /* removed meanwhile */
			/* Ours by its label, but the engine cannot load it (a run killed while the engine
			 * was writing its config): no run can use it, so it is a leftover whatever its owner. */
			found++;
			char line[800];
			snprintf(line, sizeof(line), "container %.12s cannot be inspected (%s)%s", id, ie.msg,
				 clean ? ": removing" : "");
			emit(arg, line);
			if (clean && dk_rm(dk, id, sb_deadline_after(60), err) < 0)
				rc = -err->code;
			continue;
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
