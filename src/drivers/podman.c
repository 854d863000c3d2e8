/* The `podman` and `podman-runc` drivers: rootful podman running the standard rootfs imported as
 * an image, with crun and with runc as the OCI runtime. Both go through the docker-compatible
 * engine code in engine.c; they differ only in --runtime. */
#include <errno.h>
#include <stdio.h>

#include "drivers/driver.h"
#include "drivers/engine.h"

extern const struct sb_driver sb_driver_podman, sb_driver_podman_runc;

/* Root on this kind of machine lacks CAP_SYS_RESOURCE, and podman's default spec raises
 * RLIMIT_NOFILE/NPROC above the current hard limits, which crun refuses ("setrlimit
 * RLIMIT_NOFILE: Operation not permitted"). Limits within the hard ones need no host change. */
static const char *const podman_run_flags[] = {
	"--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768", NULL,
};

static const struct sb_dk podman_crun = {
	.driver = "podman", .cli_name = "podman", .image_prefix = "localhost/sandbench",
	.runtime = "crun", .run_flags = podman_run_flags,
};
static const struct sb_dk podman_runc = {
	.driver = "podman-runc", .cli_name = "podman", .image_prefix = "localhost/sandbench",
	.runtime = "runc", .run_flags = podman_run_flags,
};

#define SB_PODMAN_CAPS                                                                             \
	(SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_COPY | SB_CAP_STATS | SB_CAP_MEMLIMIT | SB_CAP_CPULIMIT | \
	 SB_CAP_PIDLIMIT | SB_CAP_ISOLATION | SB_CAP_PIDS | SB_CAP_VOLUMES | SB_CAP_PORTS | SB_CAP_NET)

static void crun_probe(const struct sb_params *params, struct sb_probe *out)
{
	struct sb_dk dk = podman_crun; /* the probe fills in the CLI it found */
	sb_dk_probe(&dk, SB_PODMAN_CAPS, out);
}

static void runc_probe(const struct sb_params *params, struct sb_probe *out)
{
	struct sb_dk dk = podman_runc; /* the probe fills in the CLI it found */
	sb_dk_probe(&dk, SB_PODMAN_CAPS, out);
}

static int crun_open(const struct sb_params *params, void **state, struct sb_error *err)
{
	return sb_dk_open(&podman_crun, state, err);
}

static int crun_prepare(const struct sb_box_spec *spec, int64_t deadline_ns, struct sb_error *err)
{
	struct sb_dk *dk = sb_dk_instance(spec, err);
	return dk ? sb_dk_prepare(dk, spec, deadline_ns, err) : -EINVAL;
}

static int runc_open(const struct sb_params *params, void **state, struct sb_error *err)
{
	return sb_dk_open(&podman_runc, state, err);
}

static int runc_prepare(const struct sb_box_spec *spec, int64_t deadline_ns, struct sb_error *err)
{
	struct sb_dk *dk = sb_dk_instance(spec, err);
	return dk ? sb_dk_prepare(dk, spec, deadline_ns, err) : -EINVAL;
}

static int crun_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
		       struct sb_error *err)
{
	struct sb_dk *dk = sb_dk_instance(spec, err);
	return dk ? sb_dk_create(dk, spec, out, deadline_ns, err) : -EINVAL;
}

static int runc_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
		       struct sb_error *err)
{
	struct sb_dk *dk = sb_dk_instance(spec, err);
	return dk ? sb_dk_create(dk, spec, out, deadline_ns, err) : -EINVAL;
}

static int crun_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	struct sb_dk dk = podman_crun;
	return sb_dk_leftovers(&dk, clean, emit, arg, err);
}

static int runc_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	struct sb_dk dk = podman_runc;
	return sb_dk_leftovers(&dk, clean, emit, arg, err);
}

/* Nothing to change on the host: the limits above ride on every `podman run`. Say so, so doctor's
 * list of host fixes explains why podman works here without one. */
static int podman_host_fix(enum sb_host_fix_mode mode, sb_line_fn emit, void *arg,
			   struct sb_error *err)
{
	(void)err;
	if (mode == SB_HOST_EXPLAIN)
		emit(arg, "no host change needed: root lacks CAP_SYS_RESOURCE here, so every podman run "
			  "gets --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 (podman's default "
			  "limits exceed the hard ones and the OCI runtime's setrlimit fails)");
	else
		emit(arg, "nothing to do (the ulimit flags are passed on every run)");
	return 0;
}

const struct sb_driver sb_driver_podman = {
	.name = "podman",
	.summary = "rootful podman with crun, the standard rootfs imported as an image",
	.caps = SB_PODMAN_CAPS,
	SB_DK_COMMON_OPS,
	.probe = crun_probe,
	.open = crun_open,
	.template_prepare = crun_prepare,
	.box_create = crun_create,
	.leftovers = crun_leftovers,
	.host_fix = podman_host_fix,
};

const struct sb_driver sb_driver_podman_runc = {
	.name = "podman-runc",
	.summary = "rootful podman with runc, the standard rootfs imported as an image",
	.caps = SB_PODMAN_CAPS,
	SB_DK_COMMON_OPS,
	.probe = runc_probe,
	.open = runc_open,
	.template_prepare = runc_prepare,
	.box_create = runc_create,
	.leftovers = runc_leftovers,
	.host_fix = podman_host_fix,
};
