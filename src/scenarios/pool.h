/* A shell pool: N persistent `sandbench-agent serve` slots inside one sandbox, each running one
 * command at a time. Built on the driver's agent_open op, so every driver that can start an agent
 * gets a pool for free. */
#pragma once
#include "agent/client.h"
#include "scenarios/scenario.h"

struct sb_pool_slot {
	struct sb_agent_conn conn;
	struct sb_agent *agent;
};

struct sb_pool {
	struct sb_pool_slot *slots;
	unsigned n;
};

/* Open n slots in box (each an agent connection), answering a ping each before returning. */
int sb_pool_open(struct sb_scn_ctx *ctx, struct sb_box *box, unsigned n, struct sb_pool *pool);
/* Shut every slot down (politely, then by kill) and free the pool. Safe on a zeroed pool. */
void sb_pool_close(struct sb_pool *pool);

/* Run one shell script on each of the first `c` slots at once, each in its slot's persistent shell
 * (the agent's session: builtins cost no process); wait for all; *slowest_ns = host time from the
 * first send to the last response. Each stdout must equal expected[i] (when expected != NULL).
 * A slot that dies or answers wrongly is an error naming the slot. */
int sb_pool_dispatch(struct sb_scn_ctx *ctx, struct sb_pool *pool, unsigned c,
		     const char *const *scripts, const char *const *expected, int64_t *slowest_ns);

/* Run argv through one slot and return the agent's response (caller clears it). A non-zero exit
 * status is an error naming the command and its first stderr line. */
int sb_pool_run_ok(struct sb_scn_ctx *ctx, struct sb_pool_slot *slot, const char *const *argv,
		   struct sb_agent_response *resp);

/* The shell-pool density breakpoint of a finished report whose iterations recorded
 * shell_pool_run_completion_c<L>_ms for each level L: the highest level whose p95 stays within 2x
 * of level 1's, added as the derived aggregate density_max_concurrency_before_p95_doubles (n and
 * confidence of the thinnest level), with its baseline, threshold and first crossing as tags, or
 * the reason it could not be found. */
/* One repeat of a concurrency ramp: at each level c (at most 128), `printf TOKEN` on c slots at
 * once (tokens start with tag), recording the slowest slot's completion as
 * shell_pool_run_completion_c<c>_ms. */
int sb_pool_run_levels(struct sb_scn_ctx *ctx, struct sb_pool *pool, const unsigned *levels, size_t nlevels,
		       const char *tag);
int sb_pool_breakpoint_finalize(json_t *report, const unsigned *levels, size_t nlevels);
