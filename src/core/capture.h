/* Reading a child's output pipe into a capped buffer: shared by every path that runs commands
 * (the process runner, the native sandbox's client) so caps, truncation and counting agree. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sb_capture {
	char *buf;          /* NUL-terminated when non-NULL; the caller frees it */
	size_t len, alloc;
	size_t cap;         /* keep at most this many bytes */
	bool keep;          /* false: count bytes, keep none */
	bool truncated;     /* more than cap bytes arrived */
	uint64_t total;     /* every byte read */
};

/* One read(2) of fd into c. Returns 1 (data), 0 (EOF), -EAGAIN (nothing now) or another -errno. */
int sb_capture_read(int fd, struct sb_capture *c);
/* close(*fd) if open, then mark it closed (-1). */
void sb_close_fd(int *fd);

struct sb_proc_result;

/* The pipe pump: moves bytes between a running command's stdio pipes and the caller (stdin data
 * in, stdout/stderr captured) while the caller waits for the command's end on an event fd of its
 * own (a pidfd for a spawned process, a reply socket for a command run by a sandbox's init).
 * The one copy of this loop: every exec path uses it, so caps, first-byte times and draining
 * agree. */
struct sb_pump {
	int in_fd, out_fd, err_fd; /* our ends, non-blocking, -1 when absent */
	const char *in_data;
	size_t in_len, in_off;
	struct sb_capture out, err;
	int64_t first_byte_ns;     /* when the first stdout byte was read, 0 before */
};
/* Take ownership of the fds (any may be -1) and make them non-blocking. */
void sb_pump_init(struct sb_pump *p, int in_fd, int out_fd, int err_fd, const char *in_data, size_t in_len,
		  size_t cap, bool keep_out);
/* Wait up to slice_ms for the pipes or end_fd (may be -1), move what is ready. Returns poll()'s
 * result (0 on a quiet slice, -errno on failure other than EINTR); *end_ready tells whether end_fd
 * became readable. */
int sb_pump_step(struct sb_pump *p, int end_fd, bool *end_ready, int slice_ms);
/* After the command ended: take what the pipes already hold, without waiting for descendants
 * that may keep their write ends. */
void sb_pump_drain(struct sb_pump *p);
/* Hand the captures to res (out/err buffers, counts, truncation, first byte), close the fds. */
void sb_pump_finish(struct sb_pump *p, struct sb_proc_result *res);
