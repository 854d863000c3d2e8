/* Helpers the latency scenario files share (latency_start.c, latency_ops.c, latency_tti.c). */
#pragma once
#include <stdint.h>

#include "scenarios/scenario.h"

/* Run the agent's static `true` in box until it succeeds: a runtime whose start returns before
 * the sandbox can run anything is retried (every millisecond) until deadline_ns. Thread-safe (its
 * own error and result), so launcher threads call it too. 0, or the last failure with why. */
int sb_lat_first_ok(const struct sb_driver *drv, struct sb_box *box, const char *agent, int64_t deadline_ns,
		    struct sb_error *err);

/* The deadline for sb_lat_first_ok: the iteration's, or sooner by the scenario's ready_timeout
 * parameter (seconds). Malformed: an error naming it. */
int sb_lat_ready_deadline(struct sb_scn_ctx *ctx, int64_t from_ns, int64_t *out);

/* The parameter definition every scenario using sb_lat_ready_deadline declares. */
#define SB_LAT_READY_PARAM                                                                           \
	{"ready_timeout", "10", "seconds the first command may keep failing (retried every ms) before the " \
				"sandbox counts as failed", "number"}

/* Destroy every box in boxes[0..n) that is set, ignoring errors (cleanup of a failed iteration). */
void sb_lat_destroy_all(struct sb_scn_ctx *ctx, struct sb_box **boxes, unsigned n);
