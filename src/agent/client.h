/* Host-side client of sandbench-agent `serve` (protocol: docs/agent-protocol.md).
 *
 * One struct sb_agent per connection, over a pair of fds (pipes to a spawned agent, or
 * one socket passed twice). Several requests may be in flight; responses come back in
 * completion order and are matched by id. Every blocking call takes an absolute
 * CLOCK_MONOTONIC deadline in ns (0 = none) and returns -ETIMEDOUT when it passes.
 * Errors are -errno with `err` filled; nothing here prints. Not thread-safe: one
 * thread drives a connection. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/proto.h"
#include "core/error.h"

struct sb_agent;

/* Options of one RUN request; a NULL pointer means all defaults. */
struct sb_agent_run_opts {
	uint32_t timeout_ms;    /* agent-side kill of the command's process group; 0 = none */
	const void *stdin_data; /* bytes fed to the command's stdin, then EOF */
	size_t stdin_len;
};

/* One response. Buffers are owned by the struct: release with sb_agent_response_clear. */
struct sb_agent_response {
	uint8_t type; /* SB_AGENT_T_RESULT, _PONG, _SHUTDOWN_ACK or _ERROR */
	uint32_t id;
	/* RESULT */
	uint32_t status; /* enum sb_agent_status */
	int code;        /* exit status, signal number or errno, per status */
	uint32_t flags;  /* SB_AGENT_RF_* */
	int64_t start_ns, end_ns; /* agent's CLOCK_MONOTONIC around the command */
	uint64_t stdout_total, stderr_total;
	char *stdout_data; /* NUL-terminated for convenience; may hold NULs itself */
	size_t stdout_len;
	char *stderr_data;
	size_t stderr_len;
	/* PONG: agent clock when it answered; the echoed bytes are in stdout_data. */
	int64_t agent_now_ns;
	/* ERROR: SB_AGENT_E_* and the agent's message (also for id 0 stream errors). */
	uint32_t error_code;
	char error_msg[256];
};

/* Wrap an open connection. The fds stay owned by the caller (closed by neither call
 * below) but are switched to O_NONBLOCK. to_agent and from_agent may be equal.
 * Returns 0 and *out, or -ENOMEM/-EBADF. */
int sb_agent_open(int to_agent, int from_agent, struct sb_agent **out, struct sb_error *err);
/* Free the connection state and any responses not yet collected. NULL is fine. */
void sb_agent_free(struct sb_agent *a);

/* A fresh non-zero request id, unique on this connection until it wraps at 2^32. */
uint32_t sb_agent_next_id(struct sb_agent *a);

/* Queue a request and write as much as the deadline allows. id must be non-zero and
 * not in flight. -ETIMEDOUT means the frame is still queued and is written by later
 * send/recv calls; -EPIPE means the agent is gone. */
int sb_agent_send_argv(struct sb_agent *a, uint32_t id, const char *const *argv,
                       const struct sb_agent_run_opts *opts, int64_t deadline_ns,
                       struct sb_error *err);
int sb_agent_send_sh(struct sb_agent *a, uint32_t id, const char *script,
                     const struct sb_agent_run_opts *opts, int64_t deadline_ns,
                     struct sb_error *err);
/* Run script in the connection's persistent shell (RUN_SESSION): no fork for builtins,
 * shell state kept between requests, one script at a time (others queue in the
 * agent). opts->stdin_data must be NULL. `exit` ends the shell (the result carries
 * its status; the next request starts a fresh one). */
int sb_agent_send_session(struct sb_agent *a, uint32_t id, const char *script,
                          const struct sb_agent_run_opts *opts, int64_t deadline_ns,
                          struct sb_error *err);
int sb_agent_send_ping(struct sb_agent *a, uint32_t id, const void *data, size_t len,
                       int64_t deadline_ns, struct sb_error *err);
int sb_agent_send_shutdown(struct sb_agent *a, uint32_t id, int64_t deadline_ns,
                           struct sb_error *err);
/* Queue raw bytes as they are, for tests of the agent's error handling. */
int sb_agent_send_raw(struct sb_agent *a, const void *data, size_t len, int64_t deadline_ns,
                      struct sb_error *err);

/* Next response in arrival order (those set aside by sb_agent_recv_id first).
 * Returns 0 with *resp filled, -ETIMEDOUT, -EPIPE (agent closed the stream),
 * -EPROTO (a frame from the agent failed to decode; the stream resynchronises and
 * later calls may succeed) or another -errno. */
int sb_agent_recv(struct sb_agent *a, struct sb_agent_response *resp, int64_t deadline_ns,
                  struct sb_error *err);
/* The response for one id; responses for other ids that arrive meanwhile are kept for
 * later recv calls. An ERROR frame with id 0 (the agent could not parse something we
 * sent) gives -EPROTO with the agent's message. */
int sb_agent_recv_id(struct sb_agent *a, uint32_t id, struct sb_agent_response *resp,
                     int64_t deadline_ns, struct sb_error *err);
void sb_agent_response_clear(struct sb_agent_response *resp);

/* Send and wait in one call. An ERROR reply becomes -EPROTO (-EBUSY for BUSY) with
 * the agent's message; a command that ran and failed is still 0 (check resp). */
int sb_agent_run_argv(struct sb_agent *a, const char *const *argv,
                      const struct sb_agent_run_opts *opts, struct sb_agent_response *resp,
                      int64_t deadline_ns, struct sb_error *err);
int sb_agent_run_sh(struct sb_agent *a, const char *script, const struct sb_agent_run_opts *opts,
                    struct sb_agent_response *resp, int64_t deadline_ns, struct sb_error *err);
int sb_agent_run_session(struct sb_agent *a, const char *script,
                         const struct sb_agent_run_opts *opts, struct sb_agent_response *resp,
                         int64_t deadline_ns, struct sb_error *err);
/* Round trip with no payload; *agent_now_ns (may be NULL) gets the agent's clock. */
int sb_agent_ping(struct sb_agent *a, int64_t *agent_now_ns, int64_t deadline_ns,
                  struct sb_error *err);
/* Ask the agent to kill its commands and exit; waits for the acknowledgement. */
int sb_agent_shutdown(struct sb_agent *a, int64_t deadline_ns, struct sb_error *err);

/* Write len bytes at offset of path inside the sandbox (flags SB_AGENT_FILE_CREATE: create
 * or truncate first, with mode). At most SB_AGENT_MAX_REQUEST bytes minus the framing per
 * call: copy big files in chunks. The guest's errno becomes the return value. */
int sb_agent_file_put(struct sb_agent *a, const char *path, uint32_t flags, uint32_t mode,
                      uint64_t offset, const void *data, size_t len, int64_t deadline_ns,
                      struct sb_error *err);
/* Read up to max_len (<= SB_AGENT_FILE_CHUNK) bytes at offset of path: resp->stdout_data /
 * stdout_len hold them, resp->stdout_total the file's size, resp->flags its mode bits. */
int sb_agent_file_get(struct sb_agent *a, const char *path, uint64_t offset, uint32_t max_len,
                      struct sb_agent_response *resp, int64_t deadline_ns, struct sb_error *err);
/* The agent is a VM's init: it acknowledges, syncs and resets the guest (the VMM exits). */
int sb_agent_poweroff(struct sb_agent *a, int64_t deadline_ns, struct sb_error *err);
/* "key value" lines about the guest (docs/agent-protocol.md); *text is malloc'd. */
int sb_agent_info(struct sb_agent *a, char **text, int64_t deadline_ns, struct sb_error *err);

/* True for a RESULT that exited with status 0 and was not killed by its timeout. */
bool sb_agent_response_ok(const struct sb_agent_response *resp);
