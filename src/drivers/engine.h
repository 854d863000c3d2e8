/* Shared code of the drivers that run sandboxes through a container engine or a jail tool (lxc,
 * firejail, podman, docker, containerd): the standard rootfs as an engine image named by its
 * content hash, owner labels that tell a live run's containers from a crashed one's, a tiny trial
 * rootfs for probes, background daemons started (and stopped) by `doctor --prepare-host /
 * --restore-host`, and the docker-compatible CLI engine that podman and docker share. Built on
 * runtime_util.h; nothing here prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "drivers/driver.h"

/* Host-fix records (what --prepare-host changed, so --restore-host undoes exactly that) and logs. */
#define SB_ENG_HOSTFIX_DIR "/run/sandbench/hostfix"
#define SB_ENG_LOG_DIR "/var/log/sandbench"
/* Labels every engine object sandbench makes carries. */
#define SB_ENG_LABEL_RUN "sandbench.run"       /* the box name */
#define SB_ENG_LABEL_OWNER "sandbench.owner"   /* "PID.START" of the sandbench process */
#define SB_ENG_LABEL_DRIVER "sandbench.driver" /* the driver name */
#define SB_ENG_LABEL_IMAGE "sandbench.image"   /* on images: "rootfs" or "probe" */
/* The container's main process: waits for a signal, so it lives until stop/destroy. */
#define SB_ENG_IDLE_ARGV "/sandbench-agent", "idle", "--signal-only"

/* "PID.START" naming this process (start = clock ticks since boot), stable for its lifetime. */
const char *sb_eng_owner(void);
/* Whether the process an owner string names still runs. A malformed string counts as dead. */
bool sb_eng_owner_alive(const char *owner);

/* Images of an older rootfs or agent are pruned once they are this old (seconds). */
#define SB_ENG_IMAGE_KEEP_S (24 * 3600)
/* The engine's error says the image is gone (another sandbench pruned it): import again. */
bool sb_eng_image_missing(const char *msg);

/* 16 hex digits naming the rootfs's content: taken from the standard image's directory name
 * (rootfs-<hash>, which sb_image_build derives from its inputs) when that image is complete, else
 * computed from a sorted walk of names, modes, link targets and file bytes. Cached per path. */
int sb_eng_rootfs_hash(const char *rootfs, char out[17], struct sb_error *err);
/* Write an uncompressed tar of dir's contents (numeric owners) to path. */
int sb_eng_tar(const char *dir, const char *path, int64_t deadline_ns, struct sb_error *err);
/* A temporary directory for image tars on disk (not tmpfs), removed with sb_rm_rf by the caller. */
int sb_eng_tmpdir(char *out, size_t len, struct sb_error *err);

/* The probes' trial rootfs: the dirs jails insist on plus a copy of sandbench-agent, under
 * /run/sandbench/probe/rootfs-<agent hash>, made once. On failure reason says why (one line). */
int sb_eng_probe_rootfs(char *out, size_t len, char *reason, size_t rlen);

/* Host pids of box's processes and cgroup accounting, from the cgroups its init pid is in whose
 * last path component contains key (the container id or name). */
int sb_eng_cgroup_stats(pid_t init_pid, const char *key, struct sb_box_stats *out,
			struct sb_error *err);
int sb_eng_cgroup_pids(pid_t init_pid, const char *key, pid_t *pids, size_t cap, size_t *n,
		       struct sb_error *err);

/* box_host_pids of a containerd-shim driven container (containerd, docker): the shim holding
 * init_pid (the container's dedicated helper), the containerd it reports to (listening on the
 * shim's -address), shared by every shim of that address, and for a shim of docker's namespace
 * (moby) dockerd, shared by the shims of that namespace. Counted from the command lines of the
 * running shims, so other users' containers share the daemons too. */
void sb_eng_shim_host_pids(pid_t init_pid, struct sb_host_proc *procs, size_t cap, size_t *n);

/* Run a teardown command (rm -f, task rm, lxc-stop) to completion or deadline_ns, and unlike
 * sb_rt_run not cut short by a pending SIGINT/SIGTERM: an interrupted run must still remove what
 * it made. 0 when it exited 0, else err names the command and its first stderr line. */
int sb_eng_run_teardown(const char *const *argv, int64_t deadline_ns, struct sb_error *err);

/* Reap our zombie children that lived in a nested pid namespace. A jail's attach/join helper that
 * was killed leaves the process it started inside orphaned, and (sandbench being a subreaper) it
 * becomes our child; until its zombie is reaped the namespace's init cannot finish exiting, so the
 * jail never ends. */
void sb_eng_reap_ns_zombies(void);
/* Wait for our child pid to exit until deadline_ns, reaping such zombies meanwhile. 0 or -ETIMEDOUT. */
int sb_eng_wait_child(pid_t pid, int64_t deadline_ns);
/* Stop a launcher-held sandbox (lxc, firejail): close the pipe that keeps its idle pid 1 alive
 * (*hold_fd, set to -1), then wait for the launcher (*pid, set to 0 once gone).
 * -ETIMEDOUT: "WHAT did not stop". */
int sb_eng_release_launcher(int *hold_fd, pid_t *pid, int64_t deadline_ns, const char *what,
			    struct sb_error *err);

/* ---- daemons for doctor --prepare-host / --restore-host ---- */

struct sb_eng_daemon {
	const char *name;          /* "dockerd", "containerd": record and log file names */
	const char *const *argv;   /* argv[0] is looked up in PATH */
	const char *socket;        /* unix socket that accepts connections once it is up */
};

/* containerd with its default config, socket /run/containerd/containerd.sock: what the containerd
 * driver talks to and what the dockerd sandbench starts is pointed at. */
extern const struct sb_eng_daemon sb_eng_containerd_daemon;

/* Something accepts connections on the unix socket. */
bool sb_eng_socket_up(const char *path);
/* Start d in the background (own session, not our child, log in SB_ENG_LOG_DIR/<name>.log) unless
 * its socket already answers, wait until it does, and record pid, start time, `by` (the driver
 * that asked) and extra key=value lines in SB_ENG_HOSTFIX_DIR/<name>.record plus <name>.pid.
 * *started tells whether anything was started. */
int sb_eng_daemon_start(const struct sb_eng_daemon *d, const char *by, const char *extra,
			double timeout_s, bool *started, struct sb_error *err);
/* The record of a daemon sandbench started, as key=value text (malloc'd), or NULL. */
char *sb_eng_daemon_record(const char *name);
/* Stop the daemon recorded under name (TERM, then KILL after timeout_s) and drop its record.
 * 0 when it was stopped or was already gone. */
int sb_eng_daemon_stop(const char *name, double timeout_s, struct sb_error *err);

/* ---- the docker-compatible engines: podman (crun / runc) and docker ---- */

struct sb_dk {
	const char *driver;          /* driver name: markers, messages */
	const char *cli_name;        /* "podman" or "docker" */
	const char *image_prefix;    /* images are PREFIX/rootfs:HASH and PREFIX/probe:HASH */
	const char *runtime;         /* podman --runtime, or NULL */
	const char *const *run_flags; /* flags passed to every `run` (NULL-terminated), or NULL */
	/* Filled at run time. */
	char cli[4096];              /* the CLI in use */
	char image[160];             /* image tag prepared for image_rootfs */
	char image_rootfs[4096];
};

/* Driver instance: a private copy of the engine template (the image prepared for it, the CLI in
 * use), so two columns of a matrix or two sides of a paired run never share it. */
int sb_dk_open(const struct sb_dk *tmpl, void **state, struct sb_error *err);
void sb_dk_close(void *state);
/* The instance behind spec->drv_state; an error when the driver was not opened. */
struct sb_dk *sb_dk_instance(const struct sb_box_spec *spec, struct sb_error *err);

/* Probe: the CLI answers, the engine is up, and a trial container runs /sandbench-agent true. */
void sb_dk_probe(struct sb_dk *dk, unsigned caps, struct sb_probe *out);
int sb_dk_prepare(struct sb_dk *dk, const struct sb_box_spec *spec, int64_t deadline_ns,
		  struct sb_error *err);
int sb_dk_create(struct sb_dk *dk, const struct sb_box_spec *spec, struct sb_box **out,
		 int64_t deadline_ns, struct sb_error *err);
/* Remove the image prepared from spec->rootfs (cold starts). */
int sb_dk_template_drop(const struct sb_box_spec *spec, int64_t deadline_ns, struct sb_error *err);
/* `ps` of this process's containers of the driver; `inspect` of one. */
int sb_dk_list(const struct sb_box_spec *spec, sb_line_fn emit, void *arg, int64_t deadline_ns,
	       struct sb_error *err);
int sb_dk_inspect(struct sb_box *box, struct sb_box_info *out, int64_t deadline_ns, struct sb_error *err);
/* The container's bridge address and the bridge's gateway on the host (net=default). */
int sb_dk_addr(struct sb_box *box, struct sb_box_addr *out, struct sb_error *err);
int sb_dk_exec(struct sb_box *box, const struct sb_exec_req *req, struct sb_proc_result *res,
	       struct sb_error *err);
int sb_dk_agent_open(struct sb_box *box, struct sb_agent_conn *conn, int64_t deadline_ns,
		     struct sb_error *err);
int sb_dk_copy_in(struct sb_box *box, const char *host_path, const char *box_path,
		  int64_t deadline_ns, struct sb_error *err);
int sb_dk_copy_out(struct sb_box *box, const char *box_path, const char *host_path,
		   int64_t deadline_ns, struct sb_error *err);
int sb_dk_stop(struct sb_box *box, int64_t deadline_ns, struct sb_error *err);
int sb_dk_destroy(struct sb_box *box, int64_t deadline_ns, struct sb_error *err);
int sb_dk_stats(struct sb_box *box, struct sb_box_stats *out, struct sb_error *err);
int sb_dk_pids(struct sb_box *box, pid_t *pids, size_t cap, size_t *n, struct sb_error *err);
int sb_dk_host_pids(struct sb_box *box, struct sb_host_proc *procs, size_t cap, size_t *n,
		    struct sb_error *err);
/* Containers labelled with this driver whose owner is gone; removed when clean. */
int sb_dk_leftovers(struct sb_dk *dk, bool clean, sb_line_fn emit, void *arg, struct sb_error *err);
/* The engine's parameters (net=default|none). */
extern const struct sb_param_def sb_dk_params[];

/* The vtable entries every docker-compatible driver shares (docker, podman, podman-runc): they
 * differ only in probe, prepare, create, leftovers and host fixes. */
#define SB_DK_COMMON_OPS                                                                  \
	.close = sb_dk_close, .params = sb_dk_params, .image = SB_IMAGE_ROOTFS, .agent_in_box = "/sandbench-agent",   \
	.box_exec = sb_dk_exec, .box_agent_open = sb_dk_agent_open,                         \
	.box_copy_in = sb_dk_copy_in, .box_copy_out = sb_dk_copy_out, .box_stop = sb_dk_stop, \
	.box_destroy = sb_dk_destroy, .box_stats = sb_dk_stats, .box_pids = sb_dk_pids,        \
	.template_drop = sb_dk_template_drop, .list = sb_dk_list, .box_inspect = sb_dk_inspect, \
	.box_host_pids = sb_dk_host_pids, .box_addr = sb_dk_addr, .concurrent_destroy = true
