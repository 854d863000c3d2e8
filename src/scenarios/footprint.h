/* What sandboxes cost the host, measured from the host side: every process a sandbox and its
 * runtime keep alive (the sandbox's own from box_pids, the runtime's shims, monitors and daemons
 * from box_host_pids), their memory (RSS, PSS, USS from smaps_rollup), open fds and CPU time. A
 * daemon shared by N sandboxes counts 1/N; one whose share is unknown is listed, never counted.
 * And host-wide memory for the MemAvailable method: dropping caches, KSM. docs/resource.md. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "scenarios/scenario.h"

struct sb_fp_proc {
	pid_t pid;
	char comm[16];
	char role[32];      /* "box" for the sandbox's own processes, else the helper's role */
	bool daemon;        /* serves every sandbox of the runtime */
	unsigned shared_by; /* 1: counted whole; N: counted 1/N; 0: listed, not counted */
	uint64_t cpu_ns;    /* CPU time (with waited-for children) at the last sb_fp_cpu */
};

struct sb_footprint {
	struct sb_fp_proc *procs;
	size_t n, cap;
	bool box_known;        /* the driver listed the sandbox's processes (box_pids) */
	bool helpers_known;    /* the driver said which helpers it has (box_host_pids) */
	char helpers_note[200]; /* why not, when it did not */
};

/* What the counted processes hold, each figure weighted by its process's share. */
struct sb_fp_mem {
	double rss, pss, uss;      /* bytes */
	double box_pss;            /* the sandbox's own processes */
	double helper_pss;         /* the runtime's processes dedicated to it (shims, conmon, monitors) */
	double daemon_pss;         /* its share of daemons serving several sandboxes */
	double fds;
	unsigned procs;            /* processes with a non-zero share */
};

/* Add box's processes (box_pids) and the runtime's helpers (box_host_pids) to fp; a helper the
 * box also lists counts as the box's. extra_pids (host processes carrying agent connections, or
 * NULL) are added as role "exec-client", with their descendants not listed already. A driver
 * without box_host_pids is noted, not an error. */
int sb_fp_collect(struct sb_scn_ctx *ctx, struct sb_box *box, const pid_t *extra_pids, size_t nextra,
		  struct sb_footprint *fp);
void sb_fp_reset(struct sb_footprint *fp);
void sb_fp_free(struct sb_footprint *fp);
void sb_fp_measure(const struct sb_footprint *fp, struct sb_fp_mem *out);
/* Read every counted process's CPU time into it (sb_proc_cpu_exact_ns with children). */
void sb_fp_cpu(struct sb_footprint *fp);
/* CPU used between two samples of the same sandbox, in ns, each process weighted by its share: a
 * process in `after` only counts from zero (it started in between); one gone by then counts
 * nothing more (what it used went to whoever waited for it). */
double sb_fp_cpu_delta(const struct sb_footprint *before, const struct sb_footprint *after);
/* "box: 812 sandbench-agent; helpers: 790 conmon, 13301 dockerd (1/4)" into buf. */
void sb_fp_describe(const struct sb_footprint *fp, char *buf, size_t len);

/* Host memory for the MemAvailable method. */
/* sync, then drop the page cache, dentries and inodes (root only). 0, or -errno with why. */
int sb_host_drop_caches(char *why, size_t len);
/* KSM merging is on (/sys/kernel/mm/ksm/run is 1). */
bool sb_host_ksm_on(void);
/* MemAvailable in bytes: the median of reads 50 ms apart over window_s seconds (at least five; one
 * read moves with whatever else runs on the host at that instant). */
double sb_host_mem_available(double window_s);
/* Host memory no process's PSS shows: unreclaimable slab (namespaces, mounts, sockets), page
 * tables, kernel stacks and shmem (tmpfs files, e.g. writable layers), summed from /proc/meminfo. */
double sb_host_kernel_mem(void);
/* Sleep seconds (in slices), stopping early on an interrupt or the deadline; -EINTR / -ETIMEDOUT. */
int sb_scn_sleep(struct sb_scn_ctx *ctx, double seconds);
/* Waits (at most max_s) until the host's kernel memory (sb_host_kernel_mem) stops changing;
 * the time waited in *waited_s. 0, or -EINTR / -ETIMEDOUT as sb_scn_sleep. */
int sb_host_kernel_mem_quiesce(struct sb_scn_ctx *ctx, double max_s, double *waited_s);
/* A parameter as seconds in [lo, hi]; malformed = error naming it. */
int sb_scn_param_seconds(struct sb_scn_ctx *ctx, const char *key, double lo, double hi, double *out);
