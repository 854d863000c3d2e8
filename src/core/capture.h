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
