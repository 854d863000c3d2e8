/* Helpers shared by the throughput and stability scenarios (disk.c, net.c, copy.c, inbox.c,
 * stability.c): one box with a few agent slots, agent workloads that print one JSON line, the
 * directory a disk workload writes to, the host-side agent for the other end of a transfer, and
 * a host scratch directory. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "scenarios/pool.h"

struct sb_wl {
	struct sb_box *box;
	struct sb_pool pool;
	char dir[256];        /* the directory disk workloads use inside the box ("" until picked) */
	bool dir_made;        /* the scenario made dir (removed at teardown) */
	char host_tmp[256];   /* host scratch directory ("" until made) */
	unsigned seq;         /* for unique names inside the box */
	void *own;            /* the scenario's own extra state (freed by it) */
};

/* Make the box (spec taken from ctx->spec as adjusted by the caller) and open `slots` agent
 * slots; ctx->state becomes the struct sb_wl. */
int sb_wl_setup(struct sb_scn_ctx *ctx, unsigned slots);
/* Remove what the scenario made (dir, host scratch) and close the slots; the box itself is the
 * runner's to destroy. Safe when setup failed half-way. */
void sb_wl_teardown(struct sb_scn_ctx *ctx);
static inline struct sb_wl *sb_wl(struct sb_scn_ctx *ctx)
{
	return ctx->state;
}

/* Run argv in slot and parse the one JSON object it prints. */
int sb_wl_json(struct sb_scn_ctx *ctx, unsigned slot, const char *const *argv, json_t **out);
/* A positive number from an agent's JSON (else an error naming the key). */
int sb_wl_num(struct sb_scn_ctx *ctx, json_t *obj, const char *key, double *out);
/* A number of the agent's JSON and the metric it is recorded as. */
struct sb_wl_field {
	const char *key;
	const char *metric;
};
/* Record the n fields of obj as their metrics: all of them, or none and an error naming the first
 * that is not a positive number. */
int sb_wl_metrics(struct sb_scn_ctx *ctx, json_t *obj, const struct sb_wl_field *fields, size_t n);
/* Run argv in slot, ignoring its outcome (cleanup); ctx->err is left as it was. */
void sb_wl_quiet(struct sb_scn_ctx *ctx, unsigned slot, const char *const *argv);

/* Resolve the `dir` parameter: "auto" is the sandbox's own root filesystem (its writable layer:
 * /sandbench-io made inside; /tmp when the root is read-only, said in the tag disk_dir_note), and
 * for a driver without isolation (the host itself) a fresh /var/tmp/sandbench-io-RUN. Tags
 * disk_dir, disk_fs (statfs type seen inside), disk_fs_source, and disk_fs_upper (the host
 * filesystem under the writable layer, where the driver's inspect says: ext4, tmpfs, ...). */
int sb_wl_pick_dir(struct sb_scn_ctx *ctx);
/* What fs-info says of path inside the box: fs type and source into the buffers. */
int sb_wl_fs_info(struct sb_scn_ctx *ctx, unsigned slot, const char *path, bool mkdir_it, char *fs, size_t fslen,
		  char *source, size_t srclen, bool *writable);

/* A host scratch directory for the scenario (under /tmp, or under base when given). */
int sb_wl_host_tmp(struct sb_scn_ctx *ctx, const char *base);

/* The host's end of a transfer: sandbench-agent on the host (ctx->spec.agent_path), started
 * without waiting, stdout and stderr into files of the host scratch directory. */
struct sb_wl_host_proc {
	pid_t pid;
	char out_path[300], err_path[300];
	int64_t deadline_ns;
};
int sb_wl_host_start(struct sb_scn_ctx *ctx, const char *const *args, int64_t deadline_ns,
		     struct sb_wl_host_proc *hp);
/* Wait for it (killed at its deadline): 0 and its JSON in *out when it exited 0; otherwise an
 * error naming what happened (killed at its deadline, exit status, first stderr line). */
int sb_wl_host_wait(struct sb_scn_ctx *ctx, struct sb_wl_host_proc *hp, const char *what, json_t **out);
/* Kill it (group) and reap; a no-op when already waited for. */
void sb_wl_host_kill(struct sb_wl_host_proc *hp);
/* Run the host agent to completion (bounded by deadline_ns) and parse its JSON. */
int sb_wl_host_run(struct sb_scn_ctx *ctx, const char *const *args, int64_t deadline_ns, const char *what,
		   json_t **out);

/* Least-squares slope of y over x (0 when fewer than two points). */
double sb_wl_slope(const double *x, const double *y, size_t n);
/* Nearest-rank percentile of v (sorted in place). */
double sb_wl_percentile(double *v, size_t n, double p);
