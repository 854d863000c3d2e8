/* OCI bundles and the box life cycle shared by the OCI runtimes (crun, runc, runsc): a per-box
 * bundle under /run/sandbench/oci/<box name> (or the runtime's own state_dir) whose config.json is
 * generated from the standard rootfs, and create/start/exec/delete (and checkpoint/restore where the
 * runtime has them) through the runtime's CLI. The runtime drivers differ only in the struct
 * sb_oci_runtime they pass, their probe messages and host fixes. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "drivers/driver.h"
#include "drivers/runtime_util.h"

#define SB_OCI_DIR "/run/sandbench/oci"
/* Annotation carried by every container sandbench makes; its value is the box name. */
#define SB_OCI_ANNOTATION "sandbench.run"
/* A network namespace a runtime's configure made for a box, bind-mounted in its bundle. */
#define SB_OCI_NETNS_FILE SB_RT_NETNS_FILE
/* Prefix of each container's cgroup leaf, followed by the box name. */
#define SB_OCI_CGROUP_PREFIX "sandbench-"

struct sb_oci_config;
struct sb_argv;

struct sb_oci_runtime {
	const char *name;     /* driver name, also the marker's driver= */
	const char *binary;   /* looked up in PATH */
	/* The runtime resolves a relative cgroupsPath under the caller's own cgroups (runc); when
	 * false it is taken from the hierarchy root, so an absolute path is given (crun). */
	bool cgroup_relative;
	/* Where the per-box bundles (each with its marker) live; NULL = SB_OCI_DIR. */
	const char *state_dir;
	/* Flags given before the subcommand on every call (NULL-terminated, may be NULL), e.g. a
	 * state root of the runtime's own. */
	const char *const *global_args;
	/* The driver's parameters; NULL = sb_oci_params (net=none|host, bin). */
	const struct sb_param_def *params;
	/* Per-box setup instead of net=none|host: check the runtime's own parameters, append per-box
	 * global flags to global and adjust the config (e.g. a network namespace made under bundle,
	 * which must be released by unmounting below bundle). Called once the bundle and its marker
	 * exist. NULL: the default net=none|host. */
	int (*configure)(const struct sb_box_spec *spec, const char *bundle, struct sb_argv *global,
			 struct sb_oci_config *c, struct sb_error *err);
	/* `checkpoint --image-path` and `restore --detach --image-path --bundle` work. */
	bool checkpoint;
	/* create/start/restore leave helpers of the sandbox in the CLI's process group (runsc's
	 * gofer): they must not be killed when the CLI exits. */
	bool helpers_in_group;
};

/* What goes into config.json. */
struct sb_oci_config {
	const char *box_name;        /* annotation value and hostname source */
	const char *rootfs;          /* absolute path */
	bool readonly;               /* root.readonly (then /tmp is a tmpfs) */
	const char *const *args;     /* process.args */
	const char *cgroups_path;    /* linux.cgroupsPath, NULL = runtime default */
	uint64_t mem_limit_bytes;    /* 0 = none */
	uint64_t pids_limit;         /* 0 = none */
	double cpus;                 /* 0 = none */
	bool net_host;               /* share the host network namespace instead of a new one */
	const char *bind_agent;      /* host file bind-mounted read-only at /sandbench-agent, or NULL */
	const char *netns_path;      /* join this network namespace (a bind-mounted nsfs file), or NULL */
	bool netns_in_bundle;        /* set by a runtime's configure: join <bundle>/SB_OCI_NETNS_FILE */
	const struct sb_volume *volumes; /* host directories bound in, after every other mount */
	size_t nvolumes;
	/* A split root: rootfs is a directory of the bundle holding only mount points and symlinks,
	 * and each top-level directory or file of this image is bound onto it read-only (so the
	 * runtime can make the volumes' mount points without writing into the image). NULL: rootfs
	 * is the image itself. */
	const char *root_entries_from;
};


/* The runtime-spec document for c (a new reference), or NULL on allocation failure. */
json_t *sb_oci_config_new(const struct sb_oci_config *c);
/* Write bundle/config.json for c. */
int sb_oci_config_write(const char *bundle, const struct sb_oci_config *c, struct sb_error *err);

/* Driver parameters shared by the OCI drivers (net=none|host|veth). */
extern const struct sb_param_def sb_oci_params[];

/* The vtable entries crun and runc share: everything but the name, probe, create and cleanup. */
#define SB_OCI_CAPS                                                                            \
	(SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_STATS | SB_CAP_MEMLIMIT | SB_CAP_CPULIMIT | SB_CAP_PIDLIMIT | \
	 SB_CAP_ISOLATION | SB_CAP_PIDS | SB_CAP_VOLUMES)
/* (The capabilities are not part of it: each runtime states its own .caps.) */
#define SB_OCI_COMMON_OPS                                                                              \
	.params = sb_oci_params, .image = SB_IMAGE_ROOTFS, .agent_in_box = "/sandbench-agent",               \
	SB_OCI_BOX_OPS
/* Only the box ops, for a runtime with parameters of its own (runsc). */
#define SB_OCI_BOX_OPS                                                                                 \
	.box_start = sb_oci_box_start, .box_exec = sb_oci_box_exec, .box_agent_open = sb_oci_box_agent_open, \
	.box_stop = sb_oci_box_stop, .box_destroy = sb_oci_box_destroy, .box_stats = sb_oci_box_stats,   \
	.box_pids = sb_oci_box_pids, .box_inspect = sb_oci_box_inspect, .box_host_pids = sb_oci_box_host_pids, \
	.box_addr = sb_oci_box_addr

/* The vtable ops, parameterised by the runtime. */
int sb_oci_box_create(const struct sb_oci_runtime *rt, const struct sb_box_spec *spec,
		      struct sb_box **out, int64_t deadline_ns, struct sb_error *err);
/* The bundle directory of a box (where a driver keeps its per-box files). */
const char *sb_oci_box_bundle(const struct sb_box *b);
int sb_oci_box_start(struct sb_box *box, int64_t deadline_ns, struct sb_error *err);
int sb_oci_box_exec(struct sb_box *box, const struct sb_exec_req *req, struct sb_proc_result *res,
		    struct sb_error *err);
int sb_oci_box_agent_open(struct sb_box *box, struct sb_agent_conn *conn, int64_t deadline_ns,
			  struct sb_error *err);
int sb_oci_box_stop(struct sb_box *box, int64_t deadline_ns, struct sb_error *err);
int sb_oci_box_destroy(struct sb_box *box, int64_t deadline_ns, struct sb_error *err);
int sb_oci_box_stats(struct sb_box *box, struct sb_box_stats *out, struct sb_error *err);
int sb_oci_box_pids(struct sb_box *box, pid_t *pids, size_t cap, size_t *n, struct sb_error *err);
/* `RUNTIME state`; and `RUNTIME list`, keeping the containers whose bundle is under SB_OCI_DIR. */
int sb_oci_box_inspect(struct sb_box *box, struct sb_box_info *out, int64_t deadline_ns, struct sb_error *err);
int sb_oci_list(const struct sb_oci_runtime *rt, const struct sb_box_spec *spec, sb_line_fn emit, void *arg,
		int64_t deadline_ns, struct sb_error *err);
/* Snapshot: `checkpoint --image-path DIR` (which ends the sandbox), then the box is brought back
 * from DIR under its own name and bundle, so it goes on running. -ENOTSUP unless rt->checkpoint. */
int sb_oci_box_snapshot(struct sb_box *box, const char *dir, int64_t deadline_ns, struct sb_error *err);
/* A new running box for spec from a snapshot directory (`restore --detach`), in a bundle of its own. */
int sb_oci_box_restore(const struct sb_oci_runtime *rt, const struct sb_box_spec *spec, const char *dir,
		       struct sb_box **out, int64_t deadline_ns, struct sb_error *err);
int sb_oci_box_host_pids(struct sb_box *box, struct sb_host_proc *procs, size_t cap, size_t *n,
			 struct sb_error *err);
/* Bundles of rt whose owner is dead, and rt's containers whose bundle under SB_OCI_DIR is gone. */
int sb_oci_leftovers(const struct sb_oci_runtime *rt, bool clean, sb_line_fn emit, void *arg,
		     struct sb_error *err);

/* The link of the OCI runtimes (rt_net.c in their range: "sbo<slot>", 10.214.0.0/16): a network
 * namespace pinned at <bundle>/SB_OCI_NETNS_FILE with a veth pair; set netns_in_bundle in the
 * config to join it. */
int sb_oci_net_link(const char *bundle, struct sb_error *err);
/* Its two addresses; -ENOTSUP when the box has none. */
int sb_oci_box_addr(struct sb_box *box, struct sb_box_addr *out, struct sb_error *err);

/* Probe: binary, version, and a real trial start of a throw-away container (the agent's `true`
 * bind-mounted into an empty rootfs). On failure out->reason carries the runtime's own message.
 * trial_args (NULL-terminated, may be NULL) are extra global flags for the trial, and the trial
 * is given trial_s seconds (0 = 20). */
void sb_oci_probe(const struct sb_oci_runtime *rt, const struct sb_params *params, unsigned caps,
		  const char *const *trial_args, double trial_s, struct sb_probe *out);
