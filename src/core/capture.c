#include "core/capture.h"

#include "core/clock.h"
#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

void sb_pump_init(struct sb_pump *p, int in_fd, int out_fd, int err_fd, const char *in_data, size_t in_len,
		  size_t cap, bool keep_out)
{
	memset(p, 0, sizeof(*p));
	p->in_fd = in_fd;
	p->out_fd = out_fd;
	p->err_fd = err_fd;
	p->in_data = in_data;
	p->in_len = in_len;
	p->out = (struct sb_capture){.cap = cap, .keep = keep_out};
	p->err = (struct sb_capture){.cap = cap, .keep = true};
	int fds[3] = {in_fd, out_fd, err_fd};
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
}

static void pump_read(int *fd, struct sb_capture *c, int64_t *first_byte_ns)
{
	uint64_t before = c->total;
	int r = sb_capture_read(*fd, c);
	if (first_byte_ns && before == 0 && c->total > 0)
		*first_byte_ns = sb_now_ns();
	if (r == 0 || (r < 0 && r != -EAGAIN && r != -EINTR))
		sb_close_fd(fd);
}

int sb_pump_step(struct sb_pump *p, int end_fd, bool *end_ready, int slice_ms)
{
	struct pollfd pf[4];
	int np = 0, i_out = -1, i_err = -1, i_in = -1, i_end = -1;
	if (p->out_fd >= 0) { i_out = np; pf[np++] = (struct pollfd){p->out_fd, POLLIN, 0}; }
	if (p->err_fd >= 0) { i_err = np; pf[np++] = (struct pollfd){p->err_fd, POLLIN, 0}; }
	if (p->in_fd >= 0) { i_in = np; pf[np++] = (struct pollfd){p->in_fd, POLLOUT, 0}; }
	if (end_fd >= 0) { i_end = np; pf[np++] = (struct pollfd){end_fd, POLLIN, 0}; }
	*end_ready = false;
	int n = poll(pf, (nfds_t)np, slice_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 0;
	if (i_out >= 0 && pf[i_out].revents)
		pump_read(&p->out_fd, &p->out, &p->first_byte_ns);
	if (i_err >= 0 && pf[i_err].revents)
		pump_read(&p->err_fd, &p->err, NULL);
	if (i_in >= 0 && pf[i_in].revents) {
		ssize_t w = write(p->in_fd, p->in_data + p->in_off, p->in_len - p->in_off);
		if (w > 0)
			p->in_off += (size_t)w;
		if ((w < 0 && errno != EAGAIN) || p->in_off >= p->in_len)
			sb_close_fd(&p->in_fd);
	}
	*end_ready = i_end >= 0 && pf[i_end].revents;
	return n;
}

void sb_pump_drain(struct sb_pump *p)
{
	while (p->out_fd >= 0 && sb_capture_read(p->out_fd, &p->out) == 1)
		if (!p->first_byte_ns)
			p->first_byte_ns = sb_now_ns();
	while (p->err_fd >= 0 && sb_capture_read(p->err_fd, &p->err) == 1)
		;
}

void sb_pump_finish(struct sb_pump *p, struct sb_proc_result *res)
{
	res->out = p->out.buf;
	res->out_len = p->out.len;
	res->out_bytes = p->out.total;
	res->out_truncated = p->out.truncated;
	res->err = p->err.buf;
	res->err_len = p->err.len;
	res->err_truncated = p->err.truncated;
	if (p->first_byte_ns)
		res->first_byte_ns = p->first_byte_ns;
	sb_close_fd(&p->in_fd);
	sb_close_fd(&p->out_fd);
	sb_close_fd(&p->err_fd);
}
