/* The driver vtable (docs/architecture.md). One `const struct sb_driver` per runtime; a NULL op means
 * "unsupported", which the sb_drv_* dispatchers turn into -ENOTSUP with "unsupported by DRIVER: op"
 * (scenarios turn that into SKIP). A driver knows nothing of reports or scenarios. Every op that can
 * block takes an absolute CLOCK_MONOTONIC deadline (0 = none). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/box.h"
#include "core/params.h"

enum sb_cap {
	SB_CAP_EXEC = 1u << 0,       /* one-shot command in a sandbox, output captured */
	SB_CAP_AGENT = 1u << 1,      /* agent `serve` connections (shell pool, workloads) */
	SB_CAP_COPY = 1u << 2,       /* copy in / copy out */
	SB_CAP_CLONE = 1u << 3,      /* clone a sandbox's writable state into a new one */
	SB_CAP_SNAPSHOT = 1u << 4,   /* snapshot + restore */
	SB_CAP_STATS = 1u << 5,      /* cgroup / VMM accounting */
	SB_CAP_NET = 1u << 6,        /* a host<->sandbox network (veth or equivalent) */
	SB_CAP_MEMLIMIT = 1u << 7,
	SB_CAP_CPULIMIT = 1u << 8,
	SB_CAP_PIDLIMIT = 1u << 9,
	SB_CAP_ISOLATION = 1u << 10, /* a real sandbox (the process driver has none) */
	SB_CAP_WARM = 1u << 11,      /* a warm-start fast path (zygote, pre-created) */
	SB_CAP_PIDS = 1u << 12,      /* can list the sandbox's host pids */
	SB_CAP_VOLUMES = 1u << 13,   /* host directories mounted in (spec->volumes) */
	SB_CAP_PORTS = 1u << 14,     /* host ports forwarded into the sandbox (spec->ports) */
	SB_CAP_RESTART = 1u << 15,   /* box_start brings a stopped sandbox back, its filesystem kept */
};

/* Names of capability bits, for `list`, `drivers` and skip reasons. */
struct sb_cap_name {
	unsigned bit;
	const char *name;
};
extern const struct sb_cap_name sb_cap_names[];
/* "exec,agent,..." for the bits set, into buf. */
void sb_caps_format(unsigned caps, char *buf, size_t len);

struct sb_probe {
	bool usable;
	char version[64];
	char reason[256]; /* why not usable, one line */
	unsigned caps;    /* capabilities actually available here (subset of the driver's) */
	char tags[128];   /* "key=value ..." the runner adds to each report's tags (e.g. accel=tcg) */
};


/* Line sink for doctor output: drivers describe what they find or do, the CLI prints it. */
typedef void (*sb_line_fn)(void *arg, const char *line);

enum sb_host_fix_mode {
	SB_HOST_EXPLAIN, /* say what would be changed and why, change nothing */
	SB_HOST_APPLY,   /* apply the fixes this runtime needs here (opt-in: doctor --prepare-host) */
	SB_HOST_RESTORE, /* undo what APPLY did (doctor --restore-host) */
};

/* What a driver's sandboxes are made from; `sandbench image build` and the runner prepare it. */
enum sb_image_kind {
	SB_IMAGE_NONE,   /* runs on the host's filesystem (process, cmd without a rootfs) */
	SB_IMAGE_ROOTFS, /* the standard rootfs directory (busybox + agent): spec->rootfs */
	SB_IMAGE_VM,     /* a guest kernel + initramfs (+ disk), built by the driver's template_prepare */
};

struct sb_driver {
	const char *name;
	const char *summary;  /* one line for `sandbench drivers` */
	unsigned caps;        /* what the driver can do when its probe passes */
	const struct sb_param_def *params; /* NULL-key terminated, or NULL */
	enum sb_image_kind image;
	/* Path of sandbench-agent as seen by commands inside the sandbox; NULL = spec->agent_path
	 * (drivers that run on the host filesystem). */
	const char *agent_in_box;
	/* box_create/start/destroy may run from several threads at once (burst scenarios); without
	 * it the runner serialises them per driver. */
	bool concurrent_create;
	/* box_destroy alone may run from several threads at once (an engine's `rm`): the runner then
	 * removes a burst's boxes in parallel even when it makes them one at a time. */
	bool concurrent_destroy;

	/* Installed? version? usable? Never fails: fills reason instead. params are the user's driver
	 * parameters (may be NULL), so e.g. bin=PATH reports that build's version. */
	void (*probe)(const struct sb_params *params, struct sb_probe *out);
	/* Optional driver instance: private state for one run's use of the driver (a column of a
	 * matrix, a side of a paired run), reaching template_prepare and box_create as
	 * spec->drv_state. close gets what open returned, also after a failed run. */
	int (*open)(const struct sb_params *params, void **state, struct sb_error *err);
	void (*close)(void *state);
	/* Get an image/bundle/rootfs ready for spec (timed by the runner as "image prepare"). */
	int (*template_prepare)(const struct sb_box_spec *spec, int64_t deadline_ns,
				struct sb_error *err);
	/* Remove what template_prepare made for spec (an imported image, ...), so that the next
	 * template_prepare starts from nothing (a cold start). NULL where the template is the rootfs
	 * directory itself; a driver with template_prepare but no template_drop cannot start cold. */
	int (*template_drop)(const struct sb_box_spec *spec, int64_t deadline_ns, struct sb_error *err);
	/* Through the runtime's own listing (crun list, podman ps, ctr c ls, lxc-ls, a registry):
	 * the name of every sandbox it knows of that sandbench made (spec: the instance and driver
	 * parameters), each passed to emit. Returns how many, or -errno. */
	int (*list)(const struct sb_box_spec *spec, sb_line_fn emit, void *arg, int64_t deadline_ns,
		    struct sb_error *err);
	/* Make the sandbox. box_start may be NULL when create already leaves it running. */
	int (*box_create)(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
			  struct sb_error *err);
	int (*box_start)(struct sb_box *box, int64_t deadline_ns, struct sb_error *err);
	int (*box_exec)(struct sb_box *box, const struct sb_exec_req *req, struct sb_proc_result *res,
			struct sb_error *err);
	/* Start one agent `serve` inside the sandbox and return its pipes. */
	int (*box_agent_open)(struct sb_box *box, struct sb_agent_conn *conn, int64_t deadline_ns,
			      struct sb_error *err);
	int (*box_copy_in)(struct sb_box *box, const char *host_path, const char *box_path,
			   int64_t deadline_ns, struct sb_error *err);
	int (*box_copy_out)(struct sb_box *box, const char *box_path, const char *host_path,
			    int64_t deadline_ns, struct sb_error *err);
	int (*box_clone)(struct sb_box *box, const struct sb_box_spec *spec, struct sb_box **out,
			 int64_t deadline_ns, struct sb_error *err);
	/* Save a running sandbox's state under dir (an empty directory the caller owns) so that
	 * box_restore can bring up a working copy; the sandbox keeps running (a runtime that ends a
	 * sandbox to save it brings it back before returning, and that time is part of the snapshot).
	 * SB_CAP_SNAPSHOT. */
	int (*box_snapshot)(struct sb_box *box, const char *dir, int64_t deadline_ns, struct sb_error *err);
	/* A new running sandbox (named spec->name) from a snapshot directory. */
	int (*box_restore)(const struct sb_box_spec *spec, const char *dir, struct sb_box **out,
			   int64_t deadline_ns, struct sb_error *err);
	int (*box_stop)(struct sb_box *box, int64_t deadline_ns, struct sb_error *err);
	/* The addresses of the host<->sandbox network (SB_CAP_NET; made when spec->net asks for a link). */
	int (*box_addr)(struct sb_box *box, struct sb_box_addr *out, struct sb_error *err);
	/* Release everything the box holds and free it, even when something fails (reported in err). */
	int (*box_destroy)(struct sb_box *box, int64_t deadline_ns, struct sb_error *err);
	int (*box_stats)(struct sb_box *box, struct sb_box_stats *out, struct sb_error *err);
	/* Through the runtime's own inspect path (crun state, podman inspect, lxc-info, ...). */
	int (*box_inspect)(struct sb_box *box, struct sb_box_info *out, int64_t deadline_ns,
			   struct sb_error *err);
	/* Host pids of the sandbox's processes; *n set to the count (may exceed cap). */
	int (*box_pids)(struct sb_box *box, pid_t *pids, size_t cap, size_t *n, struct sb_error *err);
	/* The runtime's processes on the host that keep this sandbox alive from outside it (shims,
	 * conmon, monitors, VMMs) and the daemons it shares with other sandboxes, each with its
	 * role and how many sandboxes share it; never a process box_pids lists. *n is the count (may
	 * exceed cap); none at all is an answer (crun and runc leave nothing running). NULL: the
	 * driver does not say (resource scenarios then count the sandbox's own processes only). */
	int (*box_host_pids)(struct sb_box *box, struct sb_host_proc *procs, size_t cap, size_t *n,
			     struct sb_error *err);
	/* doctor: report (and with clean, remove) what crashed runs of this driver left behind, found
	 * only by the driver's own marker/label, never by a broad name. Returns the count found. */
	int (*leftovers)(bool clean, sb_line_fn emit, void *arg, struct sb_error *err);
	/* doctor --prepare-host / --restore-host: host fixes this runtime needs on this machine. */
	int (*host_fix)(enum sb_host_fix_mode mode, sb_line_fn emit, void *arg, struct sb_error *err);
	/* Deeper checks of the user's parameters than their declared forms (e.g. a config file one
	 * names), run by the CLI before anything starts, so bad input is one error line and never a
	 * failed run with a report. May be NULL. */
	int (*check_params)(const struct sb_params *params, struct sb_error *err);
};

/* The registry of built-in drivers. */
const struct sb_driver *const *sb_drivers_all(size_t *n);
const struct sb_driver *sb_driver_find(const char *name);

/* Probe several drivers at once, each in a forked child (probes start real sandboxes and some take
 * seconds; in parallel, `drivers` and `matrix` wait for the slowest, not the sum). A probe that
 * crashes or passes the deadline reports the driver unusable with that reason. */
void sb_drivers_probe_all(const struct sb_driver *const *drivers, const struct sb_params *const *params,
			  size_t n, struct sb_probe *out, double timeout_s);

/* Open/close a driver instance: *state is NULL for drivers without instance state. */
int sb_drv_open(const struct sb_driver *d, const struct sb_params *params, void **state,
		struct sb_error *err);
void sb_drv_close(const struct sb_driver *d, void *state);

/* Dispatchers: check the op exists (else -ENOTSUP, "unsupported by DRIVER: OP"), then call it. */
int sb_drv_template_prepare(const struct sb_driver *d, const struct sb_box_spec *spec,
			    int64_t deadline_ns, struct sb_error *err);
/* 0 when the driver keeps no template beyond the rootfs (nothing to drop); -ENOTSUP when it has
 * a template_prepare but cannot drop what it made. */
int sb_drv_template_drop(const struct sb_driver *d, const struct sb_box_spec *spec, int64_t deadline_ns,
			 struct sb_error *err);
/* Whether a cold start is possible (the template is the rootfs, or it can be dropped), without
 * dropping anything: 0, or -ENOTSUP with the reason. */
int sb_drv_template_droppable(const struct sb_driver *d, struct sb_error *err);
int sb_drv_list(const struct sb_driver *d, const struct sb_box_spec *spec, sb_line_fn emit, void *arg,
		int64_t deadline_ns, struct sb_error *err);
int sb_drv_inspect(const struct sb_driver *d, struct sb_box *box, struct sb_box_info *out, int64_t deadline_ns,
		   struct sb_error *err);
int sb_drv_create(const struct sb_driver *d, const struct sb_box_spec *spec, struct sb_box **out,
		  int64_t deadline_ns, struct sb_error *err);
int sb_drv_start(const struct sb_driver *d, struct sb_box *box, int64_t deadline_ns,
		 struct sb_error *err);
int sb_drv_exec(const struct sb_driver *d, struct sb_box *box, const struct sb_exec_req *req,
		struct sb_proc_result *res, struct sb_error *err);
int sb_drv_agent_open(const struct sb_driver *d, struct sb_box *box, struct sb_agent_conn *conn,
		      int64_t deadline_ns, struct sb_error *err);
int sb_drv_copy_in(const struct sb_driver *d, struct sb_box *box, const char *host_path,
		   const char *box_path, int64_t deadline_ns, struct sb_error *err);
int sb_drv_copy_out(const struct sb_driver *d, struct sb_box *box, const char *box_path,
		    const char *host_path, int64_t deadline_ns, struct sb_error *err);
int sb_drv_clone(const struct sb_driver *d, struct sb_box *box, const struct sb_box_spec *spec,
		 struct sb_box **out, int64_t deadline_ns, struct sb_error *err);
int sb_drv_snapshot(const struct sb_driver *d, struct sb_box *box, const char *dir, int64_t deadline_ns,
		    struct sb_error *err);
int sb_drv_restore(const struct sb_driver *d, const struct sb_box_spec *spec, const char *dir,
		   struct sb_box **out, int64_t deadline_ns, struct sb_error *err);
int sb_drv_stop(const struct sb_driver *d, struct sb_box *box, int64_t deadline_ns,
		struct sb_error *err);
int sb_drv_addr(const struct sb_driver *d, struct sb_box *box, struct sb_box_addr *out, struct sb_error *err);
int sb_drv_destroy(const struct sb_driver *d, struct sb_box *box, int64_t deadline_ns,
		   struct sb_error *err);
int sb_drv_stats(const struct sb_driver *d, struct sb_box *box, struct sb_box_stats *out,
		 struct sb_error *err);
/* The same, telling the driver which figures it may skip (SB_STATS_* in core/box.h). */
int sb_drv_stats_ex(const struct sb_driver *d, struct sb_box *box, uint32_t skip, struct sb_box_stats *out,
		    struct sb_error *err);
int sb_drv_pids(const struct sb_driver *d, struct sb_box *box, pid_t *pids, size_t cap, size_t *n,
		struct sb_error *err);
/* d->check_params when the driver has one, else 0. */
int sb_drv_check_params(const struct sb_driver *d, const struct sb_params *params, struct sb_error *err);
int sb_drv_host_pids(const struct sb_driver *d, struct sb_box *box, struct sb_host_proc *procs, size_t cap,
		     size_t *n, struct sb_error *err);
/* Close an agent connection: close both fds, kill and reap conn->pid's group. */
void sb_agent_conn_close(struct sb_agent_conn *conn);
