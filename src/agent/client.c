/* Host-side client for sandbench-agent `serve`; see client.h for the contract. */
#include "agent/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"

struct stash {
	struct sb_agent_response r;
	struct stash *next;
};

struct sb_agent {
	int to_fd, from_fd;
	bool to_is_socket;
	bool eof;
	uint32_t next_id;
	struct sb_agent_reader rd;
	struct sb_agent_buf out; /* encoded frames not yet written */
	struct stash *head, *tail;
};

int sb_agent_open(int to_agent, int from_agent, struct sb_agent **out, struct sb_error *err)
{
	*out = NULL;
	int fl_to = fcntl(to_agent, F_GETFL), fl_from = fcntl(from_agent, F_GETFL);
	if (fl_to < 0 || fl_from < 0)
		return sb_error_set(err, EBADF, "agent connection: fd %d is not open",
		                    fl_to < 0 ? to_agent : from_agent);
	struct sb_agent *a = calloc(1, sizeof(*a));
	if (!a)
		return sb_error_set(err, ENOMEM, "agent connection: out of memory");
	a->to_fd = to_agent;
	a->from_fd = from_agent;
	a->next_id = 1;
	struct stat st;
	a->to_is_socket = fstat(to_agent, &st) == 0 && S_ISSOCK(st.st_mode);
	sb_agent_reader_init(&a->rd, SB_AGENT_MAX_PAYLOAD);
	/* Non-blocking so that every wait goes through poll() and honours a deadline. */
	fcntl(to_agent, F_SETFL, fl_to | O_NONBLOCK);
	if (from_agent != to_agent)
		fcntl(from_agent, F_SETFL, fl_from | O_NONBLOCK);
	*out = a;
	return 0;
}

void sb_agent_response_clear(struct sb_agent_response *resp)
{
	if (!resp)
		return;
	free(resp->stdout_data);
	free(resp->stderr_data);
	memset(resp, 0, sizeof(*resp));
}

void sb_agent_free(struct sb_agent *a)
{
	if (!a)
		return;
	while (a->head) {
		struct stash *s = a->head;
		a->head = s->next;
		sb_agent_response_clear(&s->r);
		free(s);
	}
	sb_agent_reader_free(&a->rd);
	sb_agent_buf_free(&a->out);
	free(a);
}

uint32_t sb_agent_next_id(struct sb_agent *a)
{
	uint32_t id = a->next_id++;
	if (a->next_id == 0)
		a->next_id = 1;
	return id;
}

/* write() that cannot raise SIGPIPE in the host process: sockets get MSG_NOSIGNAL;
 * for pipes the signal is blocked for the call and a SIGPIPE it caused is consumed. */
static ssize_t write_nosig(struct sb_agent *a, const void *p, size_t n)
{
	if (a->to_is_socket)
		return send(a->to_fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	sigset_t pipe_set, old, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE);
	ssize_t w = write(a->to_fd, p, n);
	int e = errno;
	if (w < 0 && e == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

/* Write queued bytes without blocking. Returns 0 (maybe some left), or -errno. */
static int try_flush(struct sb_agent *a, struct sb_error *err)
{
	while (a->out.len) {
		ssize_t w = write_nosig(a, a->out.data, a->out.len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			int e = errno;
			return sb_error_set(err, e, "writing to agent: %s",
			                    e == EPIPE ? "agent closed its input" : strerror(e));
		}
		sb_agent_buf_consume(&a->out, (size_t)w);
	}
	return 0;
}

/* Pull available bytes from the agent into the reader. Returns how many arrived
 * (0 when none were ready or at EOF, which sets a->eof), or -errno. */
static long fill(struct sb_agent *a, struct sb_error *err)
{
	long got = 0;
	for (;;) {
		size_t room;
		uint8_t *p = sb_agent_reader_space(&a->rd, &room);
		if (!p)
			return sb_error_set(err, ENOMEM, "reading from agent: out of memory");
		ssize_t n = read(a->from_fd, p, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return got;
		if (n < 0)
			return sb_error_set(err, errno, "reading from agent: %s", strerror(errno));
		if (n == 0) {
			a->eof = true;
			return got;
		}
		sb_agent_reader_commit(&a->rd, (size_t)n);
		got += n;
		if ((size_t)n < room)
			return got;
	}
}

/* Wait until the fds are ready or the deadline passes. Reads into the reader while
 * waiting to write, so neither side can block the other on a full pipe. */
static int wait_io(struct sb_agent *a, int64_t deadline_ns, struct sb_error *err)
{
	struct pollfd p[2] = {
		{ .fd = a->from_fd, .events = POLLIN },
		{ .fd = a->out.len ? a->to_fd : -1, .events = POLLOUT },
	};
	if (a->eof)
		p[0].fd = -1;
	for (;;) {
		if (sb_deadline_passed(deadline_ns))
			return sb_error_set(err, ETIMEDOUT, "agent did not answer before the deadline");
		int r = poll(p, 2, sb_deadline_left_ms(deadline_ns));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return sb_error_set(err, errno, "waiting for agent: %s", strerror(errno));
		if (r == 0)
			return sb_error_set(err, ETIMEDOUT, "agent did not answer before the deadline");
		int rc = 0;
		if (p[1].revents)
			rc = try_flush(a, err);
		if (rc == 0 && p[0].revents) {
			long got = fill(a, err);
			rc = got < 0 ? (int)got : 0;
		}
		return rc;
	}
}

static int flush(struct sb_agent *a, int64_t deadline_ns, struct sb_error *err)
{
	int rc = try_flush(a, err);
	while (rc == 0 && a->out.len)
		rc = wait_io(a, deadline_ns, err);
	return rc;
}

/* Finish queuing the frame that starts at `start`: requests the agent would refuse
 * as too big are dropped here, before they cost a round trip. */
static int queued(struct sb_agent *a, size_t start, int rc, int64_t deadline_ns,
                  struct sb_error *err)
{
	if (rc == 0 && a->out.len - start - SB_AGENT_HDR_SIZE > SB_AGENT_MAX_REQUEST) {
		a->out.len = start;
		rc = -E2BIG;
	}
	if (rc < 0)
		return sb_error_set(err, -rc, "encoding agent request: %s",
		                    rc == -E2BIG ? "request over the agent's size limit"
		                                 : strerror(-rc));
	return flush(a, deadline_ns, err);
}

static const char *run_stdin(const struct sb_agent_run_opts *o, size_t *len)
{
	*len = o ? o->stdin_len : 0;
	return o ? o->stdin_data : NULL;
}

int sb_agent_send_argv(struct sb_agent *a, uint32_t id, const char *const *argv,
                       const struct sb_agent_run_opts *opts, int64_t deadline_ns,
                       struct sb_error *err)
{
	size_t in_len;
	const char *in = run_stdin(opts, &in_len);
	if (!argv || !argv[0])
		return sb_error_set(err, EINVAL, "agent run: empty argv");
	size_t start = a->out.len;
	int rc = sb_agent_encode_run_argv(&a->out, id, argv, opts ? opts->timeout_ms : 0, in, in_len);
	return queued(a, start, rc, deadline_ns, err);
}

int sb_agent_send_sh(struct sb_agent *a, uint32_t id, const char *script,
                     const struct sb_agent_run_opts *opts, int64_t deadline_ns,
                     struct sb_error *err)
{
	size_t in_len;
	const char *in = run_stdin(opts, &in_len);
	size_t start = a->out.len;
	int rc = sb_agent_encode_run_sh(&a->out, id, script, opts ? opts->timeout_ms : 0, in, in_len);
	return queued(a, start, rc, deadline_ns, err);
}

int sb_agent_send_session(struct sb_agent *a, uint32_t id, const char *script,
                          const struct sb_agent_run_opts *opts, int64_t deadline_ns,
                          struct sb_error *err)
{
	if (opts && opts->stdin_data)
		return sb_error_set(err, EINVAL, "agent session: scripts take no stdin");
	size_t start = a->out.len;
	int rc = sb_agent_encode_run_session(&a->out, id, script, opts ? opts->timeout_ms : 0);
	return queued(a, start, rc, deadline_ns, err);
}

int sb_agent_send_ping(struct sb_agent *a, uint32_t id, const void *data, size_t len,
                       int64_t deadline_ns, struct sb_error *err)
{
	size_t start = a->out.len;
	return queued(a, start, sb_agent_encode_ping(&a->out, id, data, len), deadline_ns, err);
}

int sb_agent_send_shutdown(struct sb_agent *a, uint32_t id, int64_t deadline_ns,
                           struct sb_error *err)
{
	size_t start = a->out.len;
	return queued(a, start, sb_agent_encode_shutdown(&a->out, id), deadline_ns, err);
}

int sb_agent_send_raw(struct sb_agent *a, const void *data, size_t len, int64_t deadline_ns,
                      struct sb_error *err)
{
	sb_agent_buf_put_raw(&a->out, data, len);
	if (a->out.oom) {
		a->out.oom = false;
		return sb_error_set(err, ENOMEM, "agent raw send: out of memory");
	}
	return flush(a, deadline_ns, err);
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		if (n)
			memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* Turn one frame into an owned response. */
static int decode(const struct sb_agent_hdr *h, const uint8_t *p, struct sb_agent_response *resp,
                  struct sb_error *err)
{
	memset(resp, 0, sizeof(*resp));
	resp->type = h->type;
	resp->id = h->id;
	int rc = 0;
	switch (h->type) {
	case SB_AGENT_T_RESULT: {
		struct sb_agent_result r;
		rc = sb_agent_decode_result(p, h->len, &r);
		if (rc < 0)
			break;
		resp->status = r.status;
		resp->code = r.code;
		resp->flags = r.flags;
		resp->start_ns = (int64_t)r.start_ns;
		resp->end_ns = (int64_t)r.end_ns;
		resp->stdout_total = r.stdout_total;
		resp->stderr_total = r.stderr_total;
		resp->stdout_data = dup_bytes(r.stdout_data, r.stdout_len);
		resp->stdout_len = r.stdout_len;
		resp->stderr_data = dup_bytes(r.stderr_data, r.stderr_len);
		resp->stderr_len = r.stderr_len;
		if (!resp->stdout_data || !resp->stderr_data)
			rc = -ENOMEM;
		break;
	}
	case SB_AGENT_T_PONG: {
		uint64_t now;
		const uint8_t *d;
		size_t n;
		rc = sb_agent_decode_pong(p, h->len, &now, &d, &n);
		if (rc < 0)
			break;
		resp->agent_now_ns = (int64_t)now;
		resp->stdout_data = dup_bytes(d, n);
		resp->stdout_len = n;
		if (!resp->stdout_data)
			rc = -ENOMEM;
		break;
	}
	case SB_AGENT_T_ERROR: {
		const uint8_t *m;
		size_t n;
		rc = sb_agent_decode_error(p, h->len, &resp->error_code, &m, &n);
		if (rc < 0)
			break;
		if (n >= sizeof(resp->error_msg))
			n = sizeof(resp->error_msg) - 1;
		memcpy(resp->error_msg, m, n);
		resp->error_msg[n] = '\0';
		break;
	}
	case SB_AGENT_T_FILE_ACK: {
		uint32_t e;
		rc = sb_agent_decode_file_ack(p, h->len, &e, &resp->stdout_total);
		resp->code = (int)e;
		break;
	}
	case SB_AGENT_T_FILE_DATA: {
		uint32_t e, n;
		const uint8_t *d;
		rc = sb_agent_decode_file_data(p, h->len, &e, &resp->flags, &resp->stdout_total, &d, &n);
		if (rc < 0)
			break;
		resp->code = (int)e;
		resp->stdout_data = dup_bytes(d, n);
		resp->stdout_len = n;
		if (!resp->stdout_data)
			rc = -ENOMEM;
		break;
	}
	case SB_AGENT_T_INFO_DATA: {
		uint32_t n;
		const uint8_t *d;
		rc = sb_agent_decode_info_data(p, h->len, &d, &n);
		if (rc < 0)
			break;
		resp->stdout_data = dup_bytes(d, n);
		resp->stdout_len = n;
		if (!resp->stdout_data)
			rc = -ENOMEM;
		break;
	}
	case SB_AGENT_T_SHUTDOWN_ACK:
	case SB_AGENT_T_POWEROFF_ACK:
		break;
	default:
		rc = -EBADMSG;
		break;
	}
	if (rc < 0) {
		uint8_t type = h->type;
		sb_agent_response_clear(resp);
		if (rc == -ENOMEM)
			return sb_error_set(err, ENOMEM, "agent response: out of memory");
		return sb_error_set(err, EPROTO, "agent sent a malformed frame (type 0x%02x, id %u)",
		                    type, h->id);
	}
	return 0;
}

/* Read the next frame off the wire (the stash is not consulted). */
static int recv_frame(struct sb_agent *a, struct sb_agent_response *resp, int64_t deadline_ns,
                      struct sb_error *err)
{
	for (;;) {
		struct sb_agent_rd_ev ev;
		enum sb_agent_rd_event e = sb_agent_reader_next(&a->rd, &ev);
		if (e == SB_AGENT_RD_FRAME)
			return decode(&ev.hdr, ev.payload, resp, err);
		if (e == SB_AGENT_RD_ERROR)
			return sb_error_set(err, EPROTO, "stream from agent corrupted (%s); resynchronising",
			                    sb_agent_errcode_name(ev.error));
		if (a->eof)
			return sb_error_set(err, EPIPE, "agent closed the connection");
		int rc = try_flush(a, err);
		if (rc < 0)
			return rc;
		long got = fill(a, err);
		if (got < 0)
			return (int)got;
		if (got > 0 || a->eof)
			continue;
		rc = wait_io(a, deadline_ns, err);
		if (rc < 0)
			return rc;
	}
}

int sb_agent_recv(struct sb_agent *a, struct sb_agent_response *resp, int64_t deadline_ns,
                  struct sb_error *err)
{
	if (a->head) {
		struct stash *s = a->head;
		a->head = s->next;
		if (!a->head)
			a->tail = NULL;
		*resp = s->r;
		free(s);
		return 0;
	}
	return recv_frame(a, resp, deadline_ns, err);
}

int sb_agent_recv_id(struct sb_agent *a, uint32_t id, struct sb_agent_response *resp,
                     int64_t deadline_ns, struct sb_error *err)
{
	for (struct stash **pp = &a->head; *pp; pp = &(*pp)->next) {
		struct stash *s = *pp;
		if (s->r.id != id)
			continue;
		*pp = s->next;
		if (a->tail == s) {
			a->tail = NULL;
			for (struct stash *t = a->head; t; t = t->next)
				a->tail = t;
		}
		*resp = s->r;
		free(s);
		return 0;
	}
	for (;;) {
		int rc = recv_frame(a, resp, deadline_ns, err);
		if (rc < 0)
			return rc;
		if (resp->id == id)
			return 0;
		if (resp->type == SB_AGENT_T_ERROR && resp->id == 0) {
			rc = sb_error_set(err, EPROTO, "agent rejected a frame: %s: %s",
			                  sb_agent_errcode_name(resp->error_code), resp->error_msg);
			sb_agent_response_clear(resp);
			return rc;
		}
		struct stash *s = malloc(sizeof(*s));
		if (!s) {
			sb_agent_response_clear(resp);
			return sb_error_set(err, ENOMEM, "agent response: out of memory");
		}
		s->r = *resp;
		s->next = NULL;
		if (a->tail)
			a->tail->next = s;
		else
			a->head = s;
		a->tail = s;
		memset(resp, 0, sizeof(*resp));
	}
}

/* Collect the reply to a request just sent and turn an ERROR reply into -errno. */
static int await(struct sb_agent *a, uint32_t id, uint8_t want, struct sb_agent_response *resp,
                 int64_t deadline_ns, struct sb_error *err)
{
	int rc = sb_agent_recv_id(a, id, resp, deadline_ns, err);
	if (rc < 0)
		return rc;
	if (resp->type == want)
		return 0;
	if (resp->type == SB_AGENT_T_ERROR)
		rc = sb_error_set(err, resp->error_code == SB_AGENT_E_BUSY ? EBUSY : EPROTO,
		                  "agent refused request %u: %s: %s", id,
		                  sb_agent_errcode_name(resp->error_code), resp->error_msg);
	else
		rc = sb_error_set(err, EPROTO, "agent answered request %u with frame type 0x%02x", id,
		                  resp->type);
	sb_agent_response_clear(resp);
	return rc;
}

int sb_agent_run_argv(struct sb_agent *a, const char *const *argv,
                      const struct sb_agent_run_opts *opts, struct sb_agent_response *resp,
                      int64_t deadline_ns, struct sb_error *err)
{
	memset(resp, 0, sizeof(*resp));
	uint32_t id = sb_agent_next_id(a);
	int rc = sb_agent_send_argv(a, id, argv, opts, deadline_ns, err);
	return rc < 0 ? rc : await(a, id, SB_AGENT_T_RESULT, resp, deadline_ns, err);
}

int sb_agent_run_sh(struct sb_agent *a, const char *script, const struct sb_agent_run_opts *opts,
                    struct sb_agent_response *resp, int64_t deadline_ns, struct sb_error *err)
{
	memset(resp, 0, sizeof(*resp));
	uint32_t id = sb_agent_next_id(a);
	int rc = sb_agent_send_sh(a, id, script, opts, deadline_ns, err);
	return rc < 0 ? rc : await(a, id, SB_AGENT_T_RESULT, resp, deadline_ns, err);
}

int sb_agent_run_session(struct sb_agent *a, const char *script,
                         const struct sb_agent_run_opts *opts, struct sb_agent_response *resp,
                         int64_t deadline_ns, struct sb_error *err)
{
	memset(resp, 0, sizeof(*resp));
	uint32_t id = sb_agent_next_id(a);
	int rc = sb_agent_send_session(a, id, script, opts, deadline_ns, err);
	return rc < 0 ? rc : await(a, id, SB_AGENT_T_RESULT, resp, deadline_ns, err);
}

int sb_agent_ping(struct sb_agent *a, int64_t *agent_now_ns, int64_t deadline_ns,
                  struct sb_error *err)
{
	struct sb_agent_response resp;
	uint32_t id = sb_agent_next_id(a);
	int rc = sb_agent_send_ping(a, id, NULL, 0, deadline_ns, err);
	if (rc == 0)
		rc = await(a, id, SB_AGENT_T_PONG, &resp, deadline_ns, err);
	if (rc < 0)
		return rc;
	if (agent_now_ns)
		*agent_now_ns = resp.agent_now_ns;
	sb_agent_response_clear(&resp);
	return 0;
}

int sb_agent_shutdown(struct sb_agent *a, int64_t deadline_ns, struct sb_error *err)
{
	struct sb_agent_response resp;
	uint32_t id = sb_agent_next_id(a);
	int rc = sb_agent_send_shutdown(a, id, deadline_ns, err);
	if (rc == 0)
		rc = await(a, id, SB_AGENT_T_SHUTDOWN_ACK, &resp, deadline_ns, err);
	if (rc == 0)
		sb_agent_response_clear(&resp);
	return rc;
}

bool sb_agent_response_ok(const struct sb_agent_response *resp)
{
	return resp->type == SB_AGENT_T_RESULT && resp->status == SB_AGENT_EXITED &&
	       resp->code == 0 && !(resp->flags & SB_AGENT_RF_TIMED_OUT);
}

static int request(struct sb_agent *a, size_t start, int enc_rc, uint32_t id, uint8_t want,
                   struct sb_agent_response *resp, int64_t deadline_ns, struct sb_error *err)
{
	memset(resp, 0, sizeof(*resp));
	int rc = queued(a, start, enc_rc, deadline_ns, err);
	return rc < 0 ? rc : await(a, id, want, resp, deadline_ns, err);
}

int sb_agent_file_put(struct sb_agent *a, const char *path, uint32_t flags, uint32_t mode,
                      uint64_t offset, const void *data, size_t len, int64_t deadline_ns,
                      struct sb_error *err)
{
	struct sb_agent_response resp;
	uint32_t id = sb_agent_next_id(a);
	size_t start = a->out.len;
	int rc = sb_agent_encode_file_put(&a->out, id, path, flags, mode, offset, data, len);
	rc = request(a, start, rc, id, SB_AGENT_T_FILE_ACK, &resp, deadline_ns, err);
	if (rc < 0)
		return rc;
	if (resp.code)
		rc = sb_error_set(err, resp.code, "writing %s inside the sandbox: %s", path,
		                  strerror(resp.code));
	sb_agent_response_clear(&resp);
	return rc;
}

int sb_agent_file_get(struct sb_agent *a, const char *path, uint64_t offset, uint32_t max_len,
                      struct sb_agent_response *resp, int64_t deadline_ns, struct sb_error *err)
{
	uint32_t id = sb_agent_next_id(a);
	size_t start = a->out.len;
	int rc = sb_agent_encode_file_get(&a->out, id, path, offset, max_len);
	rc = request(a, start, rc, id, SB_AGENT_T_FILE_DATA, resp, deadline_ns, err);
	if (rc == 0 && resp->code) {
		rc = sb_error_set(err, resp->code, "reading %s inside the sandbox: %s", path,
		                  strerror(resp->code));
		sb_agent_response_clear(resp);
	}
	return rc;
}

int sb_agent_poweroff(struct sb_agent *a, int64_t deadline_ns, struct sb_error *err)
{
	struct sb_agent_response resp;
	uint32_t id = sb_agent_next_id(a);
	size_t start = a->out.len;
	int rc = sb_agent_encode_empty(&a->out, SB_AGENT_T_POWEROFF, id);
	rc = request(a, start, rc, id, SB_AGENT_T_POWEROFF_ACK, &resp, deadline_ns, err);
	if (rc == 0)
		sb_agent_response_clear(&resp);
	return rc;
}

int sb_agent_info(struct sb_agent *a, char **text, int64_t deadline_ns, struct sb_error *err)
{
	struct sb_agent_response resp;
	uint32_t id = sb_agent_next_id(a);
	size_t start = a->out.len;
	*text = NULL;
	int rc = sb_agent_encode_empty(&a->out, SB_AGENT_T_INFO, id);
	rc = request(a, start, rc, id, SB_AGENT_T_INFO_DATA, &resp, deadline_ns, err);
	if (rc < 0)
		return rc;
	*text = resp.stdout_data; /* ownership moves to the caller */
	resp.stdout_data = NULL;
	sb_agent_response_clear(&resp);
	return 0;
}
