/* OCI bundles and the box life cycle shared by the OCI runtimes (crun, runc): a per-box bundle
 * under /run/sandbench/oci/<box name> whose config.json is generated from the standard rootfs, and
 * create/start/exec/delete through the runtime's CLI. The runtime drivers differ only in the
 * struct sb_oci_runtime they pass, their probe messages and host fixes. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "drivers/driver.h"

#define SB_OCI_DIR "/run/sandbench/oci"
/* Annotation carried by every container sandbench makes; its value is the box name. */
#define SB_OCI_ANNOTATION "sandbench.run"
/* Prefix of each container's cgroup leaf, followed by the box name. */
#define SB_OCI_CGROUP_PREFIX "sandbench-"

struct sb_oci_runtime {
	const char *name;     /* driver name, also the marker's driver= */
	const char *binary;   /* looked up in PATH */
	/* The runtime resolves a relative cgroupsPath under the caller's own cgroups (runc); when
	 * false it is taken from the hierarchy root, so an absolute path is given (crun). */
	bool cgroup_relative;
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
};

/* The runtime-spec document for c (a new reference), or NULL on allocation failure. */
json_t *sb_oci_config_new(const struct sb_oci_config *c);
/* Write bundle/config.json for c. */
int sb_oci_config_write(const char *bundle, const struct sb_oci_config *c, struct sb_error *err);

/* Driver parameters shared by the OCI drivers (net=none|host). */
extern const struct sb_param_def sb_oci_params[];

/* The vtable entries crun and runc share: everything but the name, probe, create and cleanup. */
#define SB_OCI_CAPS                                                                            \
	(SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_STATS | SB_CAP_MEMLIMIT | SB_CAP_CPULIMIT | SB_CAP_PIDLIMIT | \
	 SB_CAP_ISOLATION | SB_CAP_PIDS)
/* (The capabilities are not part of it: each runtime states its own .caps.) */
#define SB_OCI_COMMON_OPS                                                                              \
	.params = sb_oci_params, .image = SB_IMAGE_ROOTFS, .agent_in_box = "/sandbench-agent",               \
	.box_start = sb_oci_box_start, .box_exec = sb_oci_box_exec, .box_agent_open = sb_oci_box_agent_open, \
	.box_stop = sb_oci_box_stop, .box_destroy = sb_oci_box_destroy, .box_stats = sb_oci_box_stats,   \
	.box_pids = sb_oci_box_pids, .box_inspect = sb_oci_box_inspect

/* The vtable ops, parameterised by the runtime. */
int sb_oci_box_create(const struct sb_oci_runtime *rt, const struct sb_box_spec *spec,
		      struct sb_box **out, int64_t deadline_ns, struct sb_error *err);
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
/* Bundles of rt whose owner is dead, and rt's containers whose bundle under SB_OCI_DIR is gone. */
int sb_oci_leftovers(const struct sb_oci_runtime *rt, bool clean, sb_line_fn emit, void *arg,
		     struct sb_error *err);

/* Probe: binary, version, and a real trial start of a throw-away container (the agent's `true`
 * bind-mounted into an empty rootfs). On failure out->reason carries the runtime's own message. */
void sb_oci_probe(const struct sb_oci_runtime *rt, const struct sb_params *params, unsigned caps,
		  struct sb_probe *out);
