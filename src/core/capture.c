#include "core/capture.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sb_capture_read(int fd, struct sb_capture *c)
{
	char chunk[128 * 1024];
	ssize_t r = read(fd, chunk, sizeof(chunk));
	if (r <= 0)
		return r == 0 ? 0 : -errno;
	c->total += (uint64_t)r;
	if (!c->keep)
		return 1;
	size_t room = c->cap > c->len ? c->cap - c->len : 0;
	size_t take = (size_t)r < room ? (size_t)r : room;
	if (take < (size_t)r)
		c->truncated = true;
	if (!take)
		return 1;
	if (c->len + take + 1 > c->alloc) {
		size_t na = c->alloc ? c->alloc : 4096;
		while (na < c->len + take + 1)
			na *= 2;
		char *nb = realloc(c->buf, na);
		if (!nb)
			return -ENOMEM;
		c->buf = nb;
		c->alloc = na;
	}
	memcpy(c->buf + c->len, chunk, take);
	c->len += take;
	c->buf[c->len] = '\0';
	return 1;
}

void sb_close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}
