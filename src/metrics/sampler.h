/* The sampler: one thread of the running sandbench that reads every watched sandbox's stats
 * through its driver (sb_drv_stats) at an interval, turns them into samples (CPU % from the
 * CPU-time delta over the wall delta) and publishes each into the registry (registry.h), and
 * optionally keeps every sample as a series.
 *
 * Thread-safety of the stats op (docs/metrics.md, "Concurrency"): the sampler thread calls a
 * driver's box_stats while the runner's thread uses the same box (exec, agent, copies), which is
 * safe because a stats op only reads what box_create/box_start fixed. Two things keep it so:
 *   - the first stats read of a box happens at watch time, on the caller's thread (serialised with
 *     the caller's own ops): drivers that find their container's pid lazily (docker, podman, lxc,
 *     containerd) do it there, and a box whose first read fails is never read from the thread;
 *   - each watched box has a lock the sampler holds while it reads that box, and unwatch takes it,
 *     so after unwatch returns no stats call on the box is under way and none will start: callers
 *     unwatch before they stop or destroy a box. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "drivers/driver.h"

struct sb_sampler_opts {
	double interval_s;         /* > 0; the CLI's --sample-interval (default 1 s) */
	const char *registry_path; /* publish here (NULL = do not publish) */
	uint32_t registry_slots;   /* when the registry is created (0 = SB_REG_DEFAULT_SLOTS) */
	bool keep_series;          /* keep every sample of every box (sb_sampler_series) */
};

struct sb_sampler;

/* Open the registry (a bad one is refused with one line in err) and start the thread. */
int sb_sampler_start(const struct sb_sampler_opts *o, struct sb_sampler **out, struct sb_error *err);
/* Unwatch everything, stop the thread, close the registry (removed when nobody else uses it). */
void sb_sampler_stop(struct sb_sampler *s);

/* What boxes watched from now on belong to (the registry's name field, e.g. the scenario). */
void sb_sampler_set_label(struct sb_sampler *s, const char *label);
/* Watch a started box: its first stats read happens now, on this thread; it is published under
 * name (NULL: "box-N"). A driver without stats is still published, with error ENOTSUP. */
int sb_sampler_watch(struct sb_sampler *s, const struct sb_driver *drv, struct sb_box *box,
		     const char *name, struct sb_error *err);
/* Stop watching box (no-op when not watched); waits for a stats call on it under way. */
void sb_sampler_unwatch(struct sb_sampler *s, struct sb_box *box);

/* The runner's box_event hook (struct sb_run_opts): alive -> watch, !alive -> unwatch; arg is the
 * sampler. A failed watch is remembered (sb_sampler_error) rather than failing the run. */
void sb_sampler_box_event(void *arg, const struct sb_driver *drv, struct sb_box *box, const char *name,
			  bool alive);
/* The first watch error since start ("" when none). */
const char *sb_sampler_error(struct sb_sampler *s);

/* The series of the box named name (watched now or earlier, with keep_series), as
 * {"box", "interval_s", "t_s": [seconds since its first sample], "cpu_percent": [null for none],
 *  "cpu_ns", "mem_bytes", "mem_limit_bytes", "rss_bytes", "disk_read_bytes", "disk_write_bytes",
 *  "net_rx_bytes", "net_tx_bytes", "pids": [...]}; NULL when there is none. For scenarios that
 * record what their sandboxes did over time (the report's series field). */
json_t *sb_sampler_series(struct sb_sampler *s, const char *name);

/* The runner's box_series hook (struct sb_run_opts, sb_scn_box_series): append the samples of
 * box taken since the last call into an iteration's series object as live_cpu_percent (%),
 * live_mem_bytes, live_rss_bytes, live_disk_read_bytes, live_disk_write_bytes, live_net_rx_bytes,
 * live_net_tx_bytes (bytes) and live_pids, t in seconds from the box's first sample (a second box
 * in one iteration gets NAME@BOX). Needs keep_series; arg is the sampler. */
int sb_sampler_box_series(void *arg, struct sb_box *box, json_t *series);

/* For benchmarks and tests. */
struct sb_sampler_counts {
	uint64_t sweeps;      /* interval ticks handled */
	uint64_t samples;     /* stats reads that worked */
	uint64_t errors;      /* stats reads that failed */
	int64_t thread_cpu_ns; /* CPU time of the sampler thread so far */
};
void sb_sampler_counts(struct sb_sampler *s, struct sb_sampler_counts *out);
