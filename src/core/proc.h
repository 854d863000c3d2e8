/* Running a child process with a deadline: pipes, a process group of its own, wait4() rusage of
 * that one child, and kill-the-group on timeout or interrupt. Used by the process driver and by every
 * driver that drives a runtime's CLI. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

/* The one spawn policy every child of sandbench gets: its own process group (or session), an
 * empty signal mask, the signals sandbench catches or ignores back to their defaults, and fds
 * 0..3 from fd[] (-1: inherited, or /dev/null for 0..2 with null_missing). */
struct sb_spawn {
	const char *const *argv; /* argv[0] is searched in PATH when it has no '/' */
	const char *const *envp; /* NULL: inherit */
	const char *cwd;         /* NULL: inherit */
	int fd[4];
	bool new_session;
	bool null_missing;
};
/* 0, or -errno when it could not be started. */
int sb_spawn(const struct sb_spawn *sp, pid_t *pid);

struct sb_proc_opts {
	const char *const *argv;  /* argv[0] is searched in PATH when it has no '/' */
	const char *const *envp;  /* NULL: inherit */
	const char *cwd;          /* NULL: inherit */
	const char *stdin_data;   /* NULL: /dev/null (unless passthrough) */
	size_t stdin_len;
	bool passthrough;         /* inherit stdin/stdout/stderr instead of pipes */
	bool discard_stdout;      /* read and count stdout, keep none of it */
	size_t out_cap;           /* keep at most this many bytes of stdout and of stderr; 0 = 16 MiB */
	int64_t deadline_ns;      /* absolute CLOCK_MONOTONIC, 0 = none */
	bool new_session;         /* setsid() instead of setpgid(0,0) */
	int extra_fd;             /* >= 0: passed to the child as fd 3 */
	/* What the child leaves in its process group outlives it on purpose (a runtime's create
	 * whose sandbox helpers stay in its group): only a deadline or an interrupt kills the group. */
	bool leave_group;
};

struct sb_proc_result {
	int exit_code;       /* exit status, or 128+signal when killed */
	int term_signal;     /* 0 unless killed by a signal */
	bool timed_out;      /* the deadline passed and the group was killed */
	bool interrupted;    /* sandbench got SIGINT/SIGTERM meanwhile and killed the group */
	char *out, *err;     /* NUL-terminated captures (may be NULL when nothing was read) */
	size_t out_len, err_len;
	uint64_t out_bytes;  /* every stdout byte read, captured or not */
	bool out_truncated, err_truncated;
	int64_t start_ns, end_ns, first_byte_ns; /* CLOCK_MONOTONIC: before spawn, after reap, first stdout byte (0 if none) */
	double user_ms, sys_ms; /* rusage of this child (and its waited-for descendants) */
	long maxrss_kb;
	pid_t pid;
};

/* Run to completion. Returns 0 when the child ran (whatever its exit code: see result), or a
 * negative errno with err filled when it could not be spawned, or -ETIMEDOUT / -EINTR after the
 * group was killed (result still filled). */
int sb_proc_run(const struct sb_proc_opts *opts, struct sb_proc_result *res, struct sb_error *err);
void sb_proc_result_free(struct sb_proc_result *res);

/* Start without waiting: the child's stdin/stdout are returned as pipes (*to_child, *from_child),
 * stderr goes to *err_fd if non-NULL else /dev/null. The child gets its own process group. */
int sb_proc_spawn_piped(const char *const *argv, pid_t *pid, int *to_child, int *from_child,
			int *err_fd, struct sb_error *err);

/* Direct children of pid (every thread's), from /proc/PID/task/TID/children, appended to out
 * (at most cap). Returns how many were stored. */
size_t sb_proc_children(pid_t pid, pid_t *out, size_t cap);

/* Kill a process group with SIGKILL and reap the leader (bounded wait). pid <= 0 is a no-op. */
void sb_proc_kill_group(pid_t pid);

/* Wait for pid until the deadline; on deadline SIGKILL its group and reap. Returns the wait status
 * via *status, 0 on exit, -ETIMEDOUT on kill. */
int sb_proc_wait_deadline(pid_t pid, int64_t deadline_ns, int *status);

/* Convenience: run argv, capture output, return 0 only if it exited 0; otherwise fill err with the
 * command and its first stderr line. Output in *out (malloc'd) if out != NULL. */
int sb_proc_check(const char *const *argv, double timeout_s, char **out, struct sb_error *err);
