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

#define SB_MAX_LIVE_BOXES 256

struct sb_scn_ctx {
	const struct sb_driver *drv;
	const struct sb_params *params; /* everything given with --param */
	const struct sb_param_def *defs; /* the scenario's parameter definitions (defaults) */
	struct sb_box_spec spec;        /* base spec; sb_scn_box_new names each box */
	const char *agent;              /* sandbench-agent path as seen inside a sandbox */
	const char *run_id;
	unsigned iteration;             /* 0-based, warmups first */
	bool warmup;
	int64_t deadline_ns;            /* current phase's deadline (setup or iteration) */
	void *state;                    /* the scenario's own */
	struct sb_error *err;
	/* Runner-owned; use the helpers below. */
	json_t *meta, *metrics, *tags;
	struct sb_box *live[SB_MAX_LIVE_BOXES];
	unsigned nlive;
};

/* Return codes from setup/run_once: 0 ok, -ENOTSUP skip (err says why), other negative error. */
struct sb_scenario {
	const char *name;
	const char *axis;        /* latency | resource | density | throughput | stability */
	const char *description; /* one line */
	unsigned caps;           /* driver capabilities needed */
	unsigned profiles;       /* enum sb_profile bits */
	const struct sb_param_def *params;
	unsigned default_runs, default_warmup;
	int (*setup)(struct sb_scn_ctx *ctx);
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

/* Record a metric for the current iteration (declares unit and direction on first use). */
int sb_scn_metric(struct sb_scn_ctx *ctx, const char *name, const char *unit, bool higher_is_better,
		  double value);
/* Set a report tag (string value). */
void sb_scn_tag(struct sb_scn_ctx *ctx, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Scenario parameter (or its declared default). */
const char *sb_scn_param(const struct sb_scn_ctx *ctx, const char *key);
/* Scenario parameter parsed as a size (K/M/G) or unsigned integer; malformed = error naming it. */
int sb_scn_param_size(struct sb_scn_ctx *ctx, const char *key, uint64_t *out);

/* Create (and start) a sandbox from ctx->spec with a unique name; tracked so the runner destroys
 * it on every path. Times are returned when the pointers are non-NULL. */
int sb_scn_box_new(struct sb_scn_ctx *ctx, struct sb_box **out, int64_t *create_ns, int64_t *start_ns);
/* Destroy a tracked sandbox and stop tracking it. */
int sb_scn_box_destroy(struct sb_scn_ctx *ctx, struct sb_box *box);
/* Track a box made another way (clone). */
int sb_scn_box_track(struct sb_scn_ctx *ctx, struct sb_box *box);
/* Exec with the current deadline; a non-zero exit status is an error naming the command. */
int sb_scn_exec_ok(struct sb_scn_ctx *ctx, struct sb_box *box, const char *const *argv,
		   struct sb_proc_result *res);
