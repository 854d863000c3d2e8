/* State of `sandbench-agent serve`, shared by serve.c (the loop and one-shot commands)
 * and session.c (the persistent shell). Internal to the agent executable. */
#pragma once
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/proto.h"

struct job {
	bool used;
	bool reaped;
	bool timed_out;
	bool session;    /* RUN_SESSION: runs in the connection's persistent shell */
	bool started;    /* session jobs wait in a queue until the shell is free */
	uint32_t id;
	pid_t pid;
	int wstatus;
	int out_fd, err_fd, in_fd; /* our ends; -1 once closed (unused by session jobs) */
	struct sb_agent_buf out, err;
	uint64_t out_total, err_total;
	uint8_t *in_data;
	size_t in_len, in_off;
	char *script;    /* session jobs */
	uint64_t seq;    /* session jobs: queue order */
	int64_t start_ns, end_ns;
	int64_t deadline_ns; /* 0 = none */
	uint32_t timeout_ms;
};

/* One long-lived /bin/sh per connection, fed one script at a time; output of a script
 * ends at a per-request random marker the shell echoes after it. */
struct session {
	pid_t pid; /* 0 = no shell running */
	int in_fd, out_fd, err_fd;
	struct sb_agent_buf inq; /* script text not yet written to the shell */
	struct job *cur;
	uint64_t next_seq;
	uint64_t nonce_seed;
	char out_marker[40], err_marker[40];
	size_t out_match, err_match; /* marker bytes matched (and held back) so far */
	bool out_rc_digits;          /* marker seen on stdout, reading the exit code */
	int rc;
	bool out_done, err_done;
};

struct server {
	int in_fd, out_fd;
	int sig_fd;
	bool stop;
	bool poweroff; /* a POWEROFF request was acknowledged: reset the guest once flushed */
	struct sb_agent_reader rd;
	struct sb_agent_buf outq;
	struct job jobs[SB_AGENT_MAX_INFLIGHT];
	unsigned njobs;
	struct session sess;
};

void serve_close_fd(int *fd);
void serve_set_nonblock(int fd);
/* Pipe whose agent-side end (read end when ours_is_read) is non-blocking; CLOEXEC. */
int serve_make_pipe(int fds[2], bool ours_is_read);
/* posix_spawnp argv with in/out/err as its fds 0/1/2, in a new process group, with
 * default signal dispositions and an empty mask. Returns 0 or -errno. */
int serve_spawn(pid_t *pid, char *const argv[], int in, int out, int err);
/* Queue a RESULT for j from its captures and the given outcome, then free the slot. */
void serve_finish(struct server *s, struct job *j, uint32_t status, int code);
/* Shared 64 KiB read buffer (the agent is single-threaded). */
extern uint8_t serve_scratch[65536];

/* serve_vm.c: file transfer, guest figures, poweroff, and the virtio port's host. */
void serve_file_put(struct server *s, uint32_t id, const struct sb_agent_file_req *req);
void serve_file_get(struct server *s, uint32_t id, const struct sb_agent_file_req *req);
void serve_info(struct server *s, uint32_t id);
void serve_poweroff(struct server *s, uint32_t id);
/* Block until a host has the virtio serial port fd open (0), or -errno. */
int serve_wait_host(int fd);

void session_init(struct session *ss);
/* j is allocated with session = true and script set: queue it, start it if idle. */
void session_submit(struct server *s, struct job *j);
/* Add the shell's fds to a poll set; returns how many were added (at most 3). */
unsigned session_pollfds(struct server *s, struct pollfd *pfd);
/* Handle poll results for the entries session_pollfds added. */
void session_io(struct server *s, const struct pollfd *pfd, unsigned n);
/* A child was reaped: returns true when it was the shell (the current job, if any, is
 * finished with that status and the next queued one started). */
bool session_reaped(struct server *s, pid_t pid, int status);
/* Nearest deadline of the running session job, 0 if none. */
int64_t session_deadline(const struct server *s);
void session_check_timeout(struct server *s, int64_t now);
/* Kill the shell and its group, reap it, drop queued jobs (on shutdown). */
void session_kill(struct server *s);
