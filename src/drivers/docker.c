/* The `docker` driver: the standard rootfs imported as an image into a running Docker engine. The
 * driver never starts the engine itself; `sandbench doctor --prepare-host` does, on request, on
 * hosts without systemd (and --restore-host stops exactly what it started). */
#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <unistd.h>

#include "core/util.h"
#include "drivers/driver.h"
#include "drivers/engine.h"
#include "drivers/runtime_util.h"
#include "core/clock.h"

extern const struct sb_driver sb_driver_docker;

static const struct sb_dk docker_engine = {
	.driver = "docker", .cli_name = "docker", .image_prefix = "sandbench",
};

#define SB_DOCKER_CAPS                                                                             \
	(SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_COPY | SB_CAP_STATS | SB_CAP_MEMLIMIT | SB_CAP_CPULIMIT | \
	 SB_CAP_PIDLIMIT | SB_CAP_ISOLATION | SB_CAP_PIDS | SB_CAP_VOLUMES | SB_CAP_PORTS | SB_CAP_NET)

/* --iptables=false: the engine then adds no firewall chains that a restore would have to unpick;
 * host<->container traffic over docker0 works without them (only NAT to the outside is lost). */
static const char *const dockerd_argv[] = {
	"dockerd", "--containerd=/run/containerd/containerd.sock", "--iptables=false", NULL,
};
static const struct sb_eng_daemon dockerd_daemon = {
	.name = "dockerd", .argv = dockerd_argv, .socket = "/var/run/docker.sock",
};

/* gVisor as a docker runtime (runtime=runsc): registered with the dockerd that --prepare-host
 * starts, as a wrapper that gives runsc --network=host. runsc's own stack refuses the engine's
 * network namespace on newer kernels (its root-namespace check looks for rmem_default, which
 * every namespace has now); with host it runs on the kernel's stack inside that namespace. */
#define RUNSC_WRAPPER SB_ENG_HOSTFIX_DIR "/runsc-docker"

static int write_runsc_wrapper(const char *runsc, struct sb_error *err)
{
	char text[PATH_MAX + 64];
	int n = snprintf(text, sizeof(text), "#!/bin/sh\nexec %s --network=host \"$@\"\n", runsc);
	int rc = sb_write_file_atomic(RUNSC_WRAPPER, text, (size_t)n, err);
	if (rc == 0 && chmod(RUNSC_WRAPPER, 0755) < 0)
		rc = sb_error_set(err, errno, "chmod %s: %s", RUNSC_WRAPPER, strerror(errno));
	return rc;
}

static void docker_probe(const struct sb_params *params, struct sb_probe *out)
{
	struct sb_dk dk = docker_engine; /* the probe fills in the CLI it found */
	sb_dk_probe(&dk, SB_DOCKER_CAPS, out);
}

static int docker_open(const struct sb_params *params, void **state, struct sb_error *err)
{
	return sb_dk_open(&docker_engine, state, err);
}

static int docker_prepare(const struct sb_box_spec *spec, int64_t deadline_ns, struct sb_error *err)
{
	struct sb_dk *dk = sb_dk_instance(spec, err);
	return dk ? sb_dk_prepare(dk, spec, deadline_ns, err) : -EINVAL;
}

static int docker_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
			 struct sb_error *err)
{
	struct sb_dk *dk = sb_dk_instance(spec, err);
	return dk ? sb_dk_create(dk, spec, out, deadline_ns, err) : -EINVAL;
}

static int docker_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	struct sb_dk dk = docker_engine;
	return sb_dk_leftovers(&dk, clean, emit, arg, err);
}

static void emitf(sb_line_fn emit, void *arg, const char *fmt, const char *a, const char *b)
{
	char line[600];
	snprintf(line, sizeof(line), fmt, a, b);
	emit(arg, line);
}

static bool by_docker(const char *name)
{
	char *rec = sb_eng_daemon_record(name), by[32] = "";
	if (rec)
		sb_rt_kv(rec, "by", by, sizeof(by));
	free(rec);
	return strcmp(by, "docker") == 0;
}

static int docker_apply(sb_line_fn emit, void *arg, struct sb_error *err)
{
	const struct sb_eng_daemon *cd = &sb_eng_containerd_daemon;
	bool started;
	if (sb_eng_socket_up(dockerd_daemon.socket)) {
		emit(arg, "engine already running: nothing to do");
		return 0;
	}
	int rc = sb_eng_daemon_start(cd, "docker", NULL, 30, &started, err);
	if (rc < 0)
		return rc;
	if (started)
		emitf(emit, arg, "started containerd for dockerd (log %s/%s.log)", SB_ENG_LOG_DIR, cd->name);
	/* dockerd makes the docker0 bridge; restore deletes it only if it was not there before */
	char extra[PATH_MAX + 64], runsc[PATH_MAX], add_runtime[PATH_MAX + 32];
	int n = snprintf(extra, sizeof(extra), "docker0_existed=%d\n", if_nametoindex("docker0") ? 1 : 0);
	const char *argv[8];
	size_t k = 0;
	for (; dockerd_argv[k]; k++)
		argv[k] = dockerd_argv[k];
	if (sb_rt_which("runsc", runsc, sizeof(runsc)) == 0) {
		if ((rc = sb_mkdir_p(SB_ENG_HOSTFIX_DIR, 0700)) < 0)
			return sb_error_set(err, -rc, "cannot create %s: %s", SB_ENG_HOSTFIX_DIR, strerror(-rc));
		if ((rc = write_runsc_wrapper(runsc, err)) < 0)
			return rc;
		snprintf(add_runtime, sizeof(add_runtime), "--add-runtime=runsc=%s", RUNSC_WRAPPER);
		argv[k++] = add_runtime;
		snprintf(extra + n, sizeof(extra) - (size_t)n, "runsc_wrapper=%s\n", RUNSC_WRAPPER);
	}
	argv[k] = NULL;
	struct sb_eng_daemon dockerd = dockerd_daemon;
	dockerd.argv = argv;
	rc = sb_eng_daemon_start(&dockerd, "docker", extra, 60, &started, err);
	if (rc < 0)
		return rc;
	if (k > 3)
		emit(arg, "registered runsc as a docker runtime (runtime=runsc): " RUNSC_WRAPPER " runs it with --network=host");
	emitf(emit, arg, "started dockerd --iptables=false (log %s/%s.log, pid file "
		  SB_ENG_HOSTFIX_DIR "/dockerd.pid)", SB_ENG_LOG_DIR, dockerd_daemon.name);
	return 0;
}

static int docker_restore(sb_line_fn emit, void *arg, struct sb_error *err)
{
	char *rec = sb_eng_daemon_record(dockerd_daemon.name);
	if (rec) {
		char existed[8] = "1", wrapper[PATH_MAX] = "";
		sb_rt_kv(rec, "docker0_existed", existed, sizeof(existed));
		sb_rt_kv(rec, "runsc_wrapper", wrapper, sizeof(wrapper));
		free(rec);
		int rc = sb_eng_daemon_stop(dockerd_daemon.name, 30, err);
		if (rc < 0)
			return rc;
		emit(arg, "stopped the dockerd sandbench started");
		if (wrapper[0] && unlink(wrapper) == 0)
			emit(arg, "removed the runsc wrapper it had as a runtime");
		if (strcmp(existed, "0") == 0 && if_nametoindex("docker0")) {
			const char *del[] = {"ip", "link", "delete", "docker0", NULL};
			if (sb_rt_run(del, sb_deadline_after(10), NULL, err) < 0)
				return -err->code;
			emit(arg, "deleted the docker0 bridge dockerd created");
		}
	}
	if (by_docker(sb_eng_containerd_daemon.name)) {
		int rc = sb_eng_daemon_stop(sb_eng_containerd_daemon.name, 30, err);
		if (rc < 0)
			return rc;
		emit(arg, "stopped the containerd started for dockerd");
	} else if (!rec) {
		emit(arg, "nothing to restore (sandbench started no docker engine)");
	}
	return 0;
}

static int docker_host_fix(enum sb_host_fix_mode mode, sb_line_fn emit, void *arg,
			   struct sb_error *err)
{
	if (mode == SB_HOST_APPLY)
		return docker_apply(emit, arg, err);
	if (mode == SB_HOST_RESTORE)
		return docker_restore(emit, arg, err);
	char path[4096];
	if (sb_rt_which("dockerd", path, sizeof(path)) < 0)
		emit(arg, "dockerd is not installed (scripts/deps.sh runtimes): nothing to start");
	else if (sb_eng_socket_up(dockerd_daemon.socket))
		emit(arg, by_docker(dockerd_daemon.name)
				  ? "engine running, started by --prepare-host (--restore-host stops it)"
				  : "engine running: no change needed");
	else
		emit(arg, "engine not running and no systemd here: --prepare-host starts containerd (unless "
			  "it answers already) and dockerd --iptables=false in the background (with runsc "
			  "registered as runtime=runsc when it is installed), logs in "
			  SB_ENG_LOG_DIR "/, pid files in " SB_ENG_HOSTFIX_DIR "/");
	return 0;
}

const struct sb_driver sb_driver_docker = {
	.name = "docker",
	.summary = "Docker engine (must be running), the standard rootfs imported as an image",
	.caps = SB_DOCKER_CAPS,
	SB_DK_COMMON_OPS,
	.probe = docker_probe,
	.open = docker_open,
	.template_prepare = docker_prepare,
	.box_create = docker_create,
	.leftovers = docker_leftovers,
	.host_fix = docker_host_fix,
};
