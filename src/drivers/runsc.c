/* The `runsc` driver: gVisor, a user-space kernel (the Sentry) between the sandbox and the host,
 * driven through its OCI CLI with the bundle oci.c generates from the standard rootfs, like crun
 * and runc. What differs:
 *
 *  - runsc keeps its container state in a root of sandbench's own (/run/sandbench/runsc/.root) and
 *    takes its network and platform as global flags; they must be the same on every call of a
 *    sandbox (`start` without --network=none fails "cannot run with network enabled in root
 *    network namespace"), so each box remembers its flags and its marker records them for doctor.
 *  - net=none (default): the Sentry's own stack with loopback only. net=hostinet and net=netstack
 *    put the sandbox in a network namespace this driver makes (a bind mount under the bundle,
 *    released with it) with a veth pair: "sbg<slot>" on the host, eth0 in the box, one /30 of
 *    10.214.0.0/16 per slot (host .1, box .2, no default route). hostinet runs the Sentry's
 *    sockets on the kernel's stack in that namespace (--network=host); netstack runs gVisor's own
 *    TCP/IP over the veth (--network=sandbox). This runsc (20221219) decides it is in the root
 *    namespace when /proc/sys/net/core/rmem_default exists, which newer kernels show in every
 *    namespace, so netstack fails on them with that message; hostinet does not need the check.
 *  - platform= picks how the Sentry traps system calls (ptrace, kvm: whatever the build knows;
 *    the probe lists them and runs a trial on the chosen one). kvm needs a /dev/kvm that runs
 *    ordinary guest code: under a software-nested hypervisor its trial hangs and is cut off.
 *  - snapshot: `runsc checkpoint --image-path` saves and ends the sandbox, which is brought back
 *    from the image under its own name (see sb_oci_box_snapshot); restore makes a new box with
 *    `runsc restore --detach`.
 *  - stats come from the sandbox's cgroups (the Sentry and the gofer are the host processes of
 *    the box), as for crun. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "drivers/oci.h"
#include "drivers/runtime_util.h"

extern const struct sb_driver sb_driver_runsc;

#define RUNSC_DIR SB_RT_STATE_ROOT "/runsc"
#define RUNSC_ROOT RUNSC_DIR "/.root"
#define RUNSC_NET_SLOTS 16384 /* /30s in 10.214.0.0/16 */

static const struct sb_param_def runsc_params[] = {
	{"net", "none", "none: loopback only; hostinet: a veth in a network namespace of its own, the "
			"kernel's stack (--network=host); netstack: the same veth, gVisor's own stack", "none|hostinet|netstack"},
	{"platform", NULL, "how the Sentry traps system calls: ptrace, kvm, ... (default: the build's; "
			   "`sandbench drivers` lists them)", NULL},
	{"bin", NULL, "the runsc binary: a path or a name in PATH (default: runsc), e.g. another build", NULL},
	{NULL, NULL, NULL, NULL},
};

static const char *const runsc_global[] = {"--root=" RUNSC_ROOT, NULL};

static int runsc_configure(const struct sb_box_spec *spec, const char *bundle, struct sb_argv *global,
			   struct sb_oci_config *c, struct sb_error *err);

static const struct sb_oci_runtime runsc_rt = {
	.name = "runsc", .binary = "runsc", .cgroup_relative = false, .state_dir = RUNSC_DIR,
	.global_args = runsc_global, .params = runsc_params, .configure = runsc_configure,
	.checkpoint = true, .helpers_in_group = true,
};

/* ---- platforms ---- */

/* What `runsc flags` says of -platform: the known names ("ptrace, kvm") and the default. */
static void platforms(const char *bin, char *known, size_t klen, char *dflt, size_t dlen)
{
	snprintf(known, klen, "ptrace");
	snprintf(dflt, dlen, "ptrace");
	/* Go's flag package prints this on stderr. */
	const char *argv[] = {bin, "flags", NULL};
	struct sb_proc_opts o = {.argv = argv, .extra_fd = -1, .deadline_ns = sb_deadline_after(10),
				 .out_cap = 256 << 10};
	struct sb_proc_result r = {0};
	if (sb_proc_run(&o, &r, NULL) < 0) {
		sb_proc_result_free(&r);
		return;
	}
	const char *text = r.err && strstr(r.err, "-platform string") ? r.err : r.out ? r.out : "";
	const char *p = strstr(text, "-platform string");
	const char *use = p ? strstr(p, "use: ") : NULL;
	if (use) {
		use += 5;
		size_t n = strcspn(use, ".\n");
		char list[256];
		snprintf(list, sizeof(list), "%.*s", (int)n, use);
		known[0] = '\0';
		/* "ptrace (default), kvm" -> "ptrace, kvm" */
		for (char *s, *t = strtok_r(list, ", ", &s); t; t = strtok_r(NULL, ", ", &s))
			if (t[0] != '(')
				snprintf(known + strlen(known), klen - strlen(known), "%s%s", known[0] ? ", " : "", t);
	}
	const char *d = p ? strstr(p, "(default \"") : NULL;
	if (d && d < p + 400) {
		d += 10;
		snprintf(dflt, dlen, "%.*s", (int)strcspn(d, "\""), d);
	}
	sb_proc_result_free(&r);
}

static bool platform_known(const char *known, const char *name)
{
	char list[256];
	snprintf(list, sizeof(list), "%s", known);
	for (char *s, *t = strtok_r(list, ", ", &s); t; t = strtok_r(NULL, ", ", &s))
		if (strcmp(t, name) == 0)
			return true;
	return false;
}

/* ---- network namespace + veth ---- */

/* A new network namespace kept alive by a bind mount on path (an empty file made here). */
static int make_netns(const char *path, struct sb_error *err)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return sb_error_set(err, errno, "cannot create %s: %s", path, strerror(errno));
	close(fd);
	pid_t pid = fork();
	if (pid < 0)
		return sb_error_set(err, errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		_exit(mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0 ? 2 : 0);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return sb_error_set(err, EPERM, "runsc: cannot make a network namespace at %s (%s failed)", path,
				    WIFEXITED(st) && WEXITSTATUS(st) == 2 ? "bind mount" : "unshare");
	return 0;
}

/* eth0 in the namespace at netns, its peer sbg<slot> on the host, both addressed and up. Slots
 * are claimed by the kernel: a name that exists fails, and the next slot is tried. */
static int make_veth(const char *bundle, const char *netns, int64_t deadline_ns, struct sb_error *err)
{
	char nsarg[1300], inner[1300], outer[1300];
	snprintf(nsarg, sizeof(nsarg), "--net=%s", netns);
	snprintf(inner, sizeof(inner), "%s/net-inner.batch", bundle);
	snprintf(outer, sizeof(outer), "%s/net-host.batch", bundle);
	unsigned start = (unsigned)getpid() * 97u + (unsigned)(sb_now_ns() / 1000) % RUNSC_NET_SLOTS;
	struct sb_error e = {0};
	for (unsigned k = 0; k < 64; k++) {
		unsigned slot = (start + k) % RUNSC_NET_SLOTS;
		unsigned a = slot >> 6, b = (slot & 63u) << 2;
		char text[512];
		int n = snprintf(text, sizeof(text),
				 "link add eth0 type veth peer name sbg%u netns %d\n"
				 "addr add 10.214.%u.%u/30 dev eth0\nlink set lo up\nlink set eth0 up\n",
				 slot, (int)getpid(), a, b + 2);
		int rc = sb_write_file_atomic(inner, text, (size_t)n, err);
		if (rc < 0)
			return rc;
		const char *in_ns[] = {"nsenter", nsarg, "ip", "-b", inner, NULL};
		sb_error_clear(&e);
		if (sb_rt_run(in_ns, deadline_ns, NULL, &e) < 0) {
			if (strstr(e.msg, "exists"))
				continue; /* another box holds this slot */
			return sb_error_set(err, e.code, "runsc: veth for %s: %s (needs iproute2)", bundle, e.msg);
		}
		n = snprintf(text, sizeof(text), "addr add 10.214.%u.%u/30 dev sbg%u\nlink set sbg%u up\n", a, b + 1,
			     slot, slot);
		if ((rc = sb_write_file_atomic(outer, text, (size_t)n, err)) < 0)
			return rc;
		const char *host[] = {"ip", "-b", outer, NULL};
		return sb_rt_run(host, deadline_ns, NULL, err);
	}
	return sb_error_set(err, EBUSY, "runsc: no free veth slot (sbg*) after 64 tries");
}

/* ---- per box ---- */

static int runsc_configure(const struct sb_box_spec *spec, const char *bundle, struct sb_argv *global,
			   struct sb_oci_config *c, struct sb_error *err)
{
	const char *net = sb_params_get_def(spec->params, runsc_params, "net");
	const char *platform = sb_params_get(spec->params, "platform");
	bool veth = strcmp(net, "hostinet") == 0 || strcmp(net, "netstack") == 0;
	if (!veth && strcmp(net, "none") != 0)
		return sb_error_set(err, EINVAL, "runsc: net must be none, hostinet or netstack, not '%s'", net);
	/* (the probe checked the name against the build's list: no `runsc flags` inside a timed create) */
	if (platform)
		sb_argv_addf(global, "--platform=%s", platform);
	int rc = sb_mkdir_p(RUNSC_ROOT, 0700);
	if (rc < 0)
		return sb_error_set(err, -rc, "cannot create %s: %s", RUNSC_ROOT, strerror(-rc));
	if (!veth) {
		sb_argv_add(global, "--network=none");
		return 0;
	}
	sb_argv_addf(global, "--network=%s", strcmp(net, "hostinet") == 0 ? "host" : "sandbox");
	char netns[1300];
	snprintf(netns, sizeof(netns), "%s/" SB_OCI_NETNS_FILE, bundle);
	if ((rc = make_netns(netns, err)) < 0 ||
	    (rc = make_veth(bundle, netns, sb_deadline_after(10), err)) < 0)
		return rc;
	c->netns_in_bundle = true;
	return 0;
}

/* ---- probe ---- */

static void probe_with(const struct sb_params *params, struct sb_probe *out)
{
	const char *platform = sb_params_get(params, "platform");
	char bin[1024], known[256] = "", dflt[64] = "";
	struct sb_error e = {0};
	if (sb_rt_binary(params, runsc_params, "runsc", bin, sizeof(bin), &e) == 0)
		platforms(bin, known, sizeof(known), dflt, sizeof(dflt));
	if (platform && known[0] && !platform_known(known, platform)) {
		memset(out, 0, sizeof(*out));
		snprintf(out->reason, sizeof(out->reason), "platform=%s: this runsc knows %s", platform, known);
		return;
	}
	const char *use = platform ? platform : dflt;
	char pflag[96];
	snprintf(pflag, sizeof(pflag), "--platform=%s", use);
	/* The trial always runs without a network: the netns modes are checked when a box starts. */
	const char *trial[] = {"--network=none", pflag, NULL};
	sb_mkdir_p(RUNSC_ROOT, 0700);
	/* A platform that cannot run here (kvm under a nested hypervisor) hangs rather than fails. */
	sb_oci_probe(&runsc_rt, params, sb_driver_runsc.caps, trial, strcmp(use, "ptrace") == 0 ? 20 : 8, out);
	if (!out->usable && strstr(out->reason, "timed out"))
		snprintf(out->reason + strlen(out->reason), sizeof(out->reason) - strlen(out->reason),
			 " (platform %s does not run here; known: %s)", use, known);
	/* The platform rides as a tag on every report, so runs on two read apart ("ptrace, kvm" ->
	 * "ptrace,kvm": tags are space-separated). */
	char list[256] = "";
	for (const char *k = known; *k; k++)
		if (*k != ' ')
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%c", *k);
	snprintf(out->tags, sizeof(out->tags), "platform=%s platforms=%s", use, list);
}

static void runsc_probe(const struct sb_params *params, struct sb_probe *out)
{
	probe_with(params, out);
}

static int runsc_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
			struct sb_error *err)
{
	return sb_oci_box_create(&runsc_rt, spec, out, deadline_ns, err);
}

static int runsc_restore(const struct sb_box_spec *spec, const char *dir, struct sb_box **out,
			 int64_t deadline_ns, struct sb_error *err)
{
	return sb_oci_box_restore(&runsc_rt, spec, dir, out, deadline_ns, err);
}

/* The veth's two ends, as make_veth wrote them for the host side (net=hostinet or netstack). */
static int runsc_addr(struct sb_box *box, struct sb_box_addr *out, struct sb_error *err)
{
	char path[1300], line[256];
	snprintf(path, sizeof(path), "%s/net-host.batch", sb_oci_box_bundle(box));
	unsigned a, b;
	if (sb_read_line(path, line, sizeof(line)) < 0 || sscanf(line, "addr add 10.214.%u.%u/30", &a, &b) != 2 ||
	    a > 255 || b > 254)
		return sb_error_set(err, ENOTSUP, "runsc: this sandbox has no veth (net=none; hostinet or netstack make one)");
	snprintf(out->host_ip, sizeof(out->host_ip), "10.214.%u.%u", a, b);
	snprintf(out->box_ip, sizeof(out->box_ip), "10.214.%u.%u", a, b + 1);
	return 0;
}

static int runsc_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	return sb_oci_leftovers(&runsc_rt, clean, emit, arg, err);
}

const struct sb_driver sb_driver_runsc = {
	.name = "runsc",
	.summary = "gVisor (user-space kernel): OCI bundle from the standard rootfs, create+start, exec per "
		   "command, checkpoint/restore",
	SB_OCI_BOX_OPS,
	.caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_STATS | SB_CAP_MEMLIMIT | SB_CAP_CPULIMIT |
		SB_CAP_ISOLATION | SB_CAP_PIDS | SB_CAP_SNAPSHOT | SB_CAP_NET | SB_CAP_VOLUMES,
	.params = runsc_params,
	.image = SB_IMAGE_ROOTFS,
	.agent_in_box = "/sandbench-agent",
	.probe = runsc_probe,
	.box_create = runsc_create,
	.box_snapshot = sb_oci_box_snapshot,
	.box_restore = runsc_restore,
	.box_addr = runsc_addr,
	.leftovers = runsc_leftovers,
};
