/* The runner: drives one scenario on one driver for warmup + runs iterations, with deadlines,
 * SKIP decisions, teardown on every path (including SIGINT/SIGTERM) and the report. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "scenarios/scenario.h"

#define SB_SETUP_TIMEOUT_DEFAULT_S 600.0

struct sb_run_opts {
	const struct sb_driver *drv;
	const struct sb_probe *probe;   /* the driver's probe result (taken once by the caller) */
	const struct sb_params *params;
	int runs, warmup;               /* < 0: the scenario's defaults */
	double timeout_s;               /* per iteration */
	double setup_timeout_s;         /* template prepare, setup and prewarm together (0: 600 s) */
	bool keep_series;               /* keep the scenarios' time series in the report */
	sb_box_event_fn box_event;      /* told of every box that comes or goes, or NULL */
	void *box_event_arg;
	sb_box_series_fn box_series;    /* sb_scn_box_series's source (arg: box_event_arg), or NULL */
	const char *run_id, *started_at;
	json_t *host;                   /* sb_host_probe(), borrowed */
	const char *agent_host_path;    /* sandbench-agent on the host */
	const char *rootfs;             /* standard rootfs (drivers whose image is SB_IMAGE_ROOTFS) */
	bool progress;                  /* progress line on stderr */
	bool host_ref;                  /* time the host reference before every iteration (core/report.h) */
	unsigned profile;               /* the profile bit the scenarios were picked by (their profile_params
					 * apply), 0 = named one by one */
};

/* Run. Returns 0 with *report set (status ok, skip or error), or a negative errno for bad input
 * found before anything ran (unknown parameter ...), with err filled. */
int sb_run_scenario(const struct sb_scenario *s, const struct sb_run_opts *o, json_t **report,
		    struct sb_error *err);

/* The same in steps, so several drivers can take turns iteration by iteration (matrix):
 * begin (parameter check, SKIP decisions, setup), step (one iteration; false when none is left),
 * end (teardown, aggregates, finalize; returns the report and frees the run). */
struct sb_run;
int sb_run_begin(const struct sb_scenario *s, const struct sb_run_opts *o, struct sb_run **out,
		 struct sb_error *err);
bool sb_run_step(struct sb_run *run);
json_t *sb_run_end(struct sb_run *run);

/* Skip report without running (e.g. driver unusable). */
json_t *sb_run_skip_report(const struct sb_scenario *s, const struct sb_run_opts *o, const char *reason);
