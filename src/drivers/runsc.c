/* The `runsc` driver: gVisor, a user-space kernel (the Sentry) between the sandbox and the host,
 * driven through its OCI CLI with the bundle oci.c generates from the standard rootfs, like crun
 * and runc. What differs:
 *
 *  - runsc keeps its container state in a root of sandbench's own (/run/sandbench/runsc/.root) and
 *    takes its network and platform as global flags; they must be the same on every call of a
 *    sandbox (`start` without --network=none fails "cannot run with network enabled in root
 *    network namespace"), so each box remembers its flags and its marker records them for doctor.
 *  - net=none (default, unless a scenario asks for a link: then hostinet): the Sentry's own stack
 *    with loopback only. net=hostinet and net=netstack put the sandbox in a network namespace of
 *    the OCI drivers' own (oci_net.c: pinned under the bundle, released with it) with a veth pair,
 *    "sbo<slot>" on the host and eth0 in the box, 10.214.x.y/30. hostinet runs the Sentry's
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* ---- per box ---- */

static int runsc_configure(const struct sb_box_spec *spec, const char *bundle, struct sb_argv *global,
			   struct sb_oci_config *c, struct sb_error *err)
{
	const char *net = sb_params_get(spec->params, "net");
	/* A scenario that asks for a link gets the mode that works on every kernel. */
	if (!net)
		net = spec->net == SB_BOX_NET_LINK && !spec->strict ? "hostinet" : "none";
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
	c->netns_in_bundle = true;
	return sb_oci_net_link(bundle, err);
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
	.leftovers = runsc_leftovers,
};
