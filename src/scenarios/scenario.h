/* Scenarios: one iteration of a measurement, declared with its axis, the driver capabilities it
 * needs and the profiles it belongs to. A scenario knows drivers only through capability bits and
 * the sb_drv_* dispatchers; the runner owns timing, deadlines, cleanup and the SKIP convention. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/error.h"
#include "core/params.h"
#include "drivers/driver.h"

enum sb_profile {
	SB_PROFILE_QUICK = 1u << 0,    /* under a minute per driver */
	SB_PROFILE_STANDARD = 1u << 1,
	SB_PROFILE_FULL = 1u << 2,
};

/* Which way a metric improves. */
enum sb_metric_dir {
	SB_LOWER_IS_BETTER = 0,
	SB_HIGHER_IS_BETTER = 1,
};

/* A metric a scenario may record, declared up front (`sandbench list --json` shows them; the runner
 * refuses any other). A name may hold one '*' for a family whose members depend on a parameter
 * (shell_pool_run_completion_c*_ms for every level). */
struct sb_metric_def {
	const char *name;
	const char *unit;
	enum sb_metric_dir dir;
	const char *meaning; /* one line */
};

/* A parameter default that differs in one profile (latency-tti: n=100 in the full profile). */
struct sb_profile_param {
	unsigned profiles; /* enum sb_profile bits it applies to */
	const char *key, *value;
};

/* Per-box outcome of sb_scn_boxes_new (many sandboxes at once). */
struct sb_box_launch {
	struct sb_box *box;   /* NULL when create or start failed (a failed follow-up leaves it) */
	int rc;               /* 0, or the negative errno of the failure */
	char error[256];      /* why it failed */
	int64_t queued_ns;    /* when it was asked for, from the batch's start */
	int64_t create_ns, start_ns;
	int64_t ready_ns;     /* create+start done, from the batch's start */
	int64_t done_ns;      /* the follow-up (sb_scn_boxes_new_then) done, from the batch's start */
};

/* A follow-up run in the launcher thread right after its box is ready (e.g. the first command of
 * a time-to-interactive); a failure fails that box (the box itself stays tracked). */
typedef int (*sb_box_then_fn)(void *arg, struct sb_box *box, struct sb_error *err);

/* Called (from the runner's thread or a launcher thread) when a box comes or goes: alive once it
 * is started, !alive before it is destroyed. The live metrics sampler watches boxes through it. */
typedef void (*sb_box_event_fn)(void *arg, const struct sb_driver *drv, struct sb_box *box,
				const char *name, bool alive);
/* Append what was sampled of box since the last call into an iteration's series object
 * ({name: {unit, points}}); arg is box_event_arg. 0 or a negative errno. */
typedef int (*sb_box_series_fn)(void *arg, struct sb_box *box, json_t *series);

struct sb_scn_ctx {
	const struct sb_driver *drv;
	const struct sb_params *params; /* everything given with --param */
	const struct sb_param_def *defs; /* the scenario's parameter definitions (defaults) */
	struct sb_box_spec spec;        /* base spec; sb_scn_box_new names each box */
	const char *agent;              /* sandbench-agent path as seen inside a sandbox */
	const char *run_id;
	unsigned profile;               /* the profile bit the run was picked by, 0 = none */
	unsigned iteration;             /* 0-based, warmups first */
	bool warmup;
	int64_t deadline_ns;            /* current phase's deadline (setup or iteration) */
	void *state;                    /* the scenario's own */
	struct sb_error *err;
	/* Runner-owned; use the helpers below. */
	const struct sb_scenario *scn;
	json_t *meta, *metrics, *tags, *series;
	struct sb_box **live;           /* every box not yet destroyed, grown on demand */
	unsigned nlive, cap_live;
	char undeclared[96];            /* first metric recorded without a declaration */
	sb_box_event_fn box_event;
	void *box_event_arg;
	sb_box_series_fn box_series;
	void *lock;                     /* serialises tracking when boxes are made from threads */
};

/* Return codes from setup/run_once: 0 ok, -ENOTSUP skip (err says why), other negative error. */
struct sb_scenario {
	const char *name;
	const char *const *aliases; /* older names that still resolve to it (NULL-terminated), or NULL */
	const char *axis;        /* latency | resource | density | throughput | stability */
	const char *description; /* one line */
	unsigned caps;           /* driver capabilities needed */
	unsigned profiles;       /* enum sb_profile bits */
	const struct sb_param_def *params;
	/* Defaults of params that differ when the scenario runs as part of a profile (a NULL key ends). */
	const struct sb_profile_param *profile_params;
	const struct sb_metric_def *metrics; /* ends with a NULL name */
	unsigned default_runs, default_warmup;
	int (*setup)(struct sb_scn_ctx *ctx);
	/* Untimed, after setup and under the setup deadline: make sure what the scenario calls warm
	 * is warm (caches filled, template ready) so no sample carries a cold cost. */
	int (*prewarm)(struct sb_scn_ctx *ctx);
	int (*run_once)(struct sb_scn_ctx *ctx);
	void (*teardown)(struct sb_scn_ctx *ctx);
	/* After aggregates exist: add derived aggregates/tags (e.g. a breakpoint). */
	int (*finalize)(struct sb_scn_ctx *ctx, json_t *report);
};

const struct sb_scenario *const *sb_scenarios_all(size_t *n);
const struct sb_scenario *sb_scenario_find(const char *name);
const char *sb_profile_name(unsigned bit);
/* The axes and profiles, NULL-terminated, for option checks and help (the registry owns the names). */
extern const char *const sb_axis_names[];
extern const char *const sb_profile_names[];
#define SB_AXIS_COUNT 5
#define SB_PROFILE_COUNT 3
/* The profile bit for a name, 0 when unknown. */
unsigned sb_profile_parse(const char *name);
/* The registry's own copy of an axis name, NULL when unknown. */
const char *sb_axis_find(const char *name);

/* Record a declared metric for the current iteration. An undeclared name is refused (-EINVAL)
 * and fails the iteration. */
int sb_scn_metric(struct sb_scn_ctx *ctx, const char *name, double value);
/* The declaration a metric name matches in s (exact, or a '*' family), or NULL. */
const struct sb_metric_def *sb_scenario_metric(const struct sb_scenario *s, const char *name);
/* Append one point (t seconds from the series' own origin, value) to a named time series of the
 * current iteration; kept in the report with --keep-series. */
int sb_scn_series(struct sb_scn_ctx *ctx, const char *name, const char *unit, double t_s, double value);
/* Record what the live sampler (run --live) measured of box since the last call (CPU %, memory,
 * host RSS, disk, network, pids) into the current iteration's series, kept with --keep-series.
 * Call it before destroying the box; without --live it does nothing. */
int sb_scn_box_series(struct sb_scn_ctx *ctx, struct sb_box *box);
/* Set a report tag (string value). */
void sb_scn_tag(struct sb_scn_ctx *ctx, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A parameter's default: the profile's (profile_params) when run by that profile, else declared. */
const char *sb_scenario_profile_default(const struct sb_scenario *s, unsigned profile, const char *key);
/* Scenario parameter (or its default: the profile's, else the declared one). */
const char *sb_scn_param(const struct sb_scn_ctx *ctx, const char *key);
/* Scenario parameter parsed as a size (K/M/G) or unsigned integer; malformed = error naming it. */
int sb_scn_param_size(struct sb_scn_ctx *ctx, const char *key, uint64_t *out);

/* Create (and start) a sandbox from ctx->spec with a unique name; tracked so the runner destroys
 * it on every path. Times are returned when the pointers are non-NULL. */
int sb_scn_box_new(struct sb_scn_ctx *ctx, struct sb_box **out, int64_t *create_ns, int64_t *start_ns);
/* Destroy a tracked sandbox and stop tracking it. */
int sb_scn_box_destroy(struct sb_scn_ctx *ctx, struct sb_box *box);
/* Make n sandboxes at once (up to `parallel` in flight; 0 = all n): each gets its own thread and
 * timings in out[i]. Drivers without concurrent_create are serialised per driver. Failed boxes are
 * counted in out[i].rc/error, never dropped; succeeded ones are tracked. Returns how many
 * succeeded. `stagger_ns` > 0 starts box i at i*stagger_ns after the batch began. */
unsigned sb_scn_boxes_new(struct sb_scn_ctx *ctx, unsigned n, unsigned parallel, int64_t stagger_ns,
			  struct sb_box_launch *out);
/* The same, with then(then_arg, box) run in each box's launcher thread once it is ready; its
 * end is out[i].done_ns. Counts boxes whose create, start and follow-up all succeeded. */
unsigned sb_scn_boxes_new_then(struct sb_scn_ctx *ctx, unsigned n, unsigned parallel, int64_t stagger_ns,
			       sb_box_then_fn then, void *then_arg, struct sb_box_launch *out);
/* Destroy every non-NULL box of boxes (each set to NULL), several at a time where the driver allows
 * it (concurrent_create or concurrent_destroy): untimed teardown of a burst. 0, or the first
 * failure's negative errno with ctx->err set to it; every box is destroyed either way. */
int sb_scn_boxes_destroy(struct sb_scn_ctx *ctx, struct sb_box **boxes, unsigned n);
/* Track a box made another way (clone). */
int sb_scn_box_track(struct sb_scn_ctx *ctx, struct sb_box *box);
/* Exec with the current deadline; a non-zero exit status is an error naming the command. */
int sb_scn_exec_ok(struct sb_scn_ctx *ctx, struct sb_box *box, const char *const *argv,
		   struct sb_proc_result *res);
