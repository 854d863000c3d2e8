/* `sandbench-agent serve`: the shell-pool server.
 *
 * One poll loop multiplexes the request stream, the response queue, a signalfd and the
 * pipes of every running command, so several requests run at once and each is answered
 * as soon as it finishes. RUN_SESSION requests are handed to session.c (one persistent
 * shell). Nothing here needs /proc, /dev or a shell: the agent may be the only file in
 * the sandbox, or /init of a microVM. */
#include "agent/serve.h"
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Stop reading requests while this much response data waits for the host: a host
 * that never reads must not make the agent grow without bound. */
#define OUTQ_HIGH_WATER (64u << 20)

uint8_t serve_scratch[65536];

void serve_close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

void serve_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Queue a frame; an encoding failure (out of memory) can only be dropped, and the host
 * will see its deadline pass instead of a reply. */
static void send_error(struct server *s, uint32_t id, uint32_t code, const char *msg)
{
	(void)sb_agent_encode_error(&s->outq, id, code, msg);
}

static struct job *find_job(struct server *s, uint32_t id)
{
	for (unsigned i = 0; i < SB_AGENT_MAX_INFLIGHT; i++)
		if (s->jobs[i].used && s->jobs[i].id == id)
			return &s->jobs[i];
	return NULL;
}

static struct job *find_pid(struct server *s, pid_t pid)
{
	for (unsigned i = 0; i < SB_AGENT_MAX_INFLIGHT; i++)
		if (s->jobs[i].used && !s->jobs[i].session && !s->jobs[i].reaped &&
		    s->jobs[i].pid == pid)
			return &s->jobs[i];
	return NULL;
}

static void job_release(struct server *s, struct job *j)
{
	serve_close_fd(&j->out_fd);
	serve_close_fd(&j->err_fd);
	serve_close_fd(&j->in_fd);
	sb_agent_buf_free(&j->out);
	sb_agent_buf_free(&j->err);
	free(j->in_data);
	free(j->script);
	memset(j, 0, sizeof(*j));
	s->njobs--;
}

static void finish_spawn_failed(struct server *s, struct job *j, int errnum)
{
	serve_finish(s, j, SB_AGENT_SPAWN_FAILED, errnum);
}

/* Read what a pipe has now. Returns false at EOF or on error (the fd is closed). */
static bool pump_output(int *fd, struct sb_agent_buf *cap, uint64_t *total)
{
	for (;;) {
		ssize_t n = read(*fd, serve_scratch, sizeof(serve_scratch));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0) {
			serve_close_fd(fd);
			return false;
		}
		*total += (uint64_t)n;
		size_t room = cap->len < SB_AGENT_MAX_CAPTURE ? SB_AGENT_MAX_CAPTURE - cap->len : 0;
		sb_agent_buf_put_raw(cap, serve_scratch, (size_t)n < room ? (size_t)n : room);
		if ((size_t)n < sizeof(serve_scratch))
			return true;
	}
}

static void pump_input(struct job *j)
{
	while (j->in_fd >= 0 && j->in_off < j->in_len) {
		ssize_t n = write(j->in_fd, j->in_data + j->in_off, j->in_len - j->in_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* EPIPE: the command stopped reading; that is its business. */
			serve_close_fd(&j->in_fd);
			return;
		}
		j->in_off += (size_t)n;
	}
	serve_close_fd(&j->in_fd);
}

void serve_finish(struct server *s, struct job *j, uint32_t status, int code)
{
	struct sb_agent_result r = {
		.status = status,
		.code = code,
		.start_ns = (uint64_t)j->start_ns,
		.end_ns = (uint64_t)(j->end_ns ? j->end_ns : agent_now(CLOCK_MONOTONIC)),
		.stdout_total = j->out_total,
		.stderr_total = j->err_total,
		.stdout_data = j->out.data,
		.stdout_len = (uint32_t)j->out.len,
		.stderr_data = j->err.data,
		.stderr_len = (uint32_t)j->err.len,
	};
	if (j->timed_out)
		r.flags |= SB_AGENT_RF_TIMED_OUT;
	if (j->out_total > j->out.len)
		r.flags |= SB_AGENT_RF_STDOUT_TRUNC;
	if (j->err_total > j->err.len)
		r.flags |= SB_AGENT_RF_STDERR_TRUNC;
	if (sb_agent_encode_result(&s->outq, j->id, &r) < 0)
		send_error(s, j->id, SB_AGENT_E_BAD_PAYLOAD, "result could not be encoded");
	job_release(s, j);
}

static void finish_job(struct server *s, struct job *j)
{
	/* The command has exited, so everything it wrote itself is already in the pipes;
	 * take what is there and stop, rather than wait for an EOF that a background
	 * grandchild holding the pipe open could delay forever. */
	if (j->out_fd >= 0)
		pump_output(&j->out_fd, &j->out, &j->out_total);
	if (j->err_fd >= 0)
		pump_output(&j->err_fd, &j->err, &j->err_total);
	if (WIFSIGNALED(j->wstatus))
		serve_finish(s, j, SB_AGENT_SIGNALED, WTERMSIG(j->wstatus));
	else
		serve_finish(s, j, SB_AGENT_EXITED, WEXITSTATUS(j->wstatus));
}

int serve_make_pipe(int fds[2], bool ours_is_read)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	/* Only the agent's end is non-blocking: the command gets an ordinary pipe. */
	serve_set_nonblock(fds[ours_is_read ? 0 : 1]);
	return 0;
}

int serve_spawn(pid_t *pid, char *const argv[], int in, int out, int err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -ENOMEM;
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -ENOMEM;
	}
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, err, 2);
	/* The agent blocks and ignores signals for itself; the command must start with a
	 * clean slate. Its own process group lets a timeout or shutdown kill everything
	 * it started in one kill(). */
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
	                                  POSIX_SPAWN_SETPGROUP);
	int rc = -posix_spawnp(pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return rc;
}

/* A free slot, initialised for request id (the caller checked njobs). */
static struct job *new_job(struct server *s, uint32_t id)
{
	struct job *j = NULL;
	for (unsigned i = 0; i < SB_AGENT_MAX_INFLIGHT && !j; i++)
		if (!s->jobs[i].used)
			j = &s->jobs[i];
	if (!j)
		return NULL;
	memset(j, 0, sizeof(*j));
	j->used = true;
	j->id = id;
	j->out_fd = j->err_fd = j->in_fd = -1;
	s->njobs++;
	return j;
}

static void start_job(struct server *s, struct job *j, const struct sb_agent_run_req *req)
{
	j->start_ns = agent_now(CLOCK_MONOTONIC);

	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int rc = serve_make_pipe(in, false);
	if (rc == 0)
		rc = serve_make_pipe(out, true);
	if (rc == 0)
		rc = serve_make_pipe(err, true);
	if (rc == 0 && req->stdin_len) {
		j->in_data = malloc(req->stdin_len);
		if (!j->in_data)
			rc = -ENOMEM;
		else
			memcpy(j->in_data, req->stdin_data, req->stdin_len);
		j->in_len = req->stdin_len;
	}

	if (rc == 0)
		rc = serve_spawn(&j->pid, req->argv, in[0], out[1], err[1]);
	serve_close_fd(&in[0]);
	serve_close_fd(&out[1]);
	serve_close_fd(&err[1]);
	j->in_fd = in[1];
	j->out_fd = out[0];
	j->err_fd = err[0];
	if (rc < 0) {
		j->pid = 0;
		finish_spawn_failed(s, j, -rc);
		return;
	}
	if (req->timeout_ms)
		j->deadline_ns = j->start_ns + (int64_t)req->timeout_ms * 1000000;
	pump_input(j);
}

static void handle_frame(struct server *s, const struct sb_agent_hdr *h, const uint8_t *payload)
{
	switch (h->type) {
	case SB_AGENT_T_PING:
		(void)sb_agent_encode_pong(&s->outq, h->id, (uint64_t)agent_now(CLOCK_MONOTONIC),
		                           payload, h->len);
		return;
	case SB_AGENT_T_SHUTDOWN:
		(void)sb_agent_encode_shutdown_ack(&s->outq, h->id);
		s->stop = true;
		return;
	case SB_AGENT_T_FILE_PUT:
	case SB_AGENT_T_FILE_GET: {
		struct sb_agent_file_req fr;
		if (h->id == 0 || sb_agent_decode_file_req(h->type, payload, h->len, &fr) < 0)
			send_error(s, h->id, SB_AGENT_E_BAD_PAYLOAD, "malformed file request");
		else if (h->type == SB_AGENT_T_FILE_PUT)
			serve_file_put(s, h->id, &fr);
		else
			serve_file_get(s, h->id, &fr);
		return;
	}
	case SB_AGENT_T_INFO:
		serve_info(s, h->id);
		return;
	case SB_AGENT_T_POWEROFF:
		serve_poweroff(s, h->id);
		return;
	case SB_AGENT_T_RUN_ARGV:
	case SB_AGENT_T_RUN_SH:
	case SB_AGENT_T_RUN_SESSION:
		break;
	default:
		send_error(s, h->id, SB_AGENT_E_BAD_TYPE, "unknown request type");
		return;
	}
	if (h->id == 0 || find_job(s, h->id)) {
		send_error(s, h->id, SB_AGENT_E_DUP_ID,
		           h->id == 0 ? "request id 0 is reserved" : "request id already in flight");
		return;
	}
	if (s->njobs >= SB_AGENT_MAX_INFLIGHT) {
		send_error(s, h->id, SB_AGENT_E_BUSY, "too many requests in flight");
		return;
	}
	struct sb_agent_run_req req;
	int rc = sb_agent_decode_run(h->type, payload, h->len, &req);
	if (rc == 0 && h->type == SB_AGENT_T_RUN_SESSION && req.stdin_len) {
		free(req.argv);
		rc = -EINVAL;
	}
	if (rc < 0) {
		send_error(s, h->id, SB_AGENT_E_BAD_PAYLOAD,
		           rc == -ENOMEM ? "out of memory decoding request"
		           : rc == -EINVAL ? "session requests take no stdin"
		                           : "malformed run request");
		return;
	}
	struct job *j = new_job(s, h->id);
	if (j && h->type == SB_AGENT_T_RUN_SESSION) {
		j->session = true;
		j->timeout_ms = req.timeout_ms;
		j->script = strdup(req.argv[2]);
		if (j->script)
			session_submit(s, j);
		else
			finish_spawn_failed(s, j, ENOMEM);
	} else if (j) {
		start_job(s, j, &req);
	}
	free(req.argv);
}

static void drain_frames(struct server *s)
{
	struct sb_agent_rd_ev ev;
	enum sb_agent_rd_event e;
	while (!s->stop && (e = sb_agent_reader_next(&s->rd, &ev)) != SB_AGENT_RD_NEED) {
		if (e == SB_AGENT_RD_FRAME) {
			handle_frame(s, &ev.hdr, ev.payload);
			continue;
		}
		char msg[160];
		if (ev.error == SB_AGENT_E_TOO_BIG)
			snprintf(msg, sizeof(msg), "payload of %u bytes exceeds %u; skipped", ev.hdr.len,
			         SB_AGENT_MAX_REQUEST);
		else if (ev.error == SB_AGENT_E_BAD_VERSION)
			snprintf(msg, sizeof(msg), "protocol version %u not supported (want %u); skipped",
			         ev.hdr.version, SB_AGENT_PROTO_VERSION);
		else
			snprintf(msg, sizeof(msg), "bad frame header; scanning for the next magic");
		send_error(s, ev.hdr.id, ev.error, msg);
	}
}

/* Returns false when the request stream is finished (EOF or a hard error). */
static bool read_requests(struct server *s)
{
	size_t room;
	uint8_t *p = sb_agent_reader_space(&s->rd, &room);
	if (!p)
		return true; /* retry later; memory may come back once responses drain */
	ssize_t n = read(s->in_fd, p, room);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	sb_agent_reader_commit(&s->rd, (size_t)n);
	drain_frames(s);
	return true;
}

/* Returns false when the host side is gone. */
static bool write_responses(struct server *s)
{
	while (s->outq.len) {
		ssize_t n = write(s->out_fd, s->outq.data, s->outq.len);
		if (n < 0)
			return errno == EINTR || errno == EAGAIN;
		sb_agent_buf_consume(&s->outq, (size_t)n);
	}
	return true;
}

static void reap(struct server *s)
{
	int st;
	pid_t pid;
	/* waitpid(-1) also collects orphans re-parented to us (we are a subreaper, or
	 * PID 1 in a microVM), so nothing is left as a zombie. */
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (session_reaped(s, pid, st))
			continue;
		struct job *j = find_pid(s, pid);
		if (j) {
			j->reaped = true;
			j->wstatus = st;
			j->end_ns = agent_now(CLOCK_MONOTONIC);
		}
	}
}

static void kill_all(struct server *s)
{
	session_kill(s);
	for (unsigned i = 0; i < SB_AGENT_MAX_INFLIGHT; i++) {
		struct job *j = &s->jobs[i];
		if (j->used && !j->reaped && j->pid > 0) {
			kill(-j->pid, SIGKILL);
			kill(j->pid, SIGKILL);
		}
	}
	for (unsigned i = 0; i < SB_AGENT_MAX_INFLIGHT; i++) {
		struct job *j = &s->jobs[i];
		if (j->used && !j->reaped && j->pid > 0)
			while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
				;
		if (j->used)
			job_release(s, j);
	}
	reap(s);
}

static void handle_signals(struct server *s)
{
	struct signalfd_siginfo si;
	while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(s);
		else
			s->stop = true;
	}
}

static int poll_timeout(struct server *s)
{
	int64_t now = agent_now(CLOCK_MONOTONIC), best = -1;
	for (unsigned i = 0; i < SB_AGENT_MAX_INFLIGHT; i++) {
		struct job *j = &s->jobs[i];
		if (!j->used || !j->deadline_ns || j->reaped || j->session)
			continue;
		int64_t left = j->deadline_ns - now;
		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	int64_t sd = session_deadline(s);
	if (sd) {
		int64_t left = sd > now ? sd - now : 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best < 0 ? -1 : (int)((best + 999999) / 1000000);
}

static void check_timeouts(struct server *s)
{
	int64_t now = agent_now(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < SB_AGENT_MAX_INFLIGHT; i++) {
		struct job *j = &s->jobs[i];
		if (j->used && !j->session && !j->reaped && j->deadline_ns && now >= j->deadline_ns) {
			kill(-j->pid, SIGKILL);
			kill(j->pid, SIGKILL);
			j->timed_out = true;
			j->deadline_ns = 0;
		}
	}
	session_check_timeout(s, now);
}

/* Best effort: give queued responses (e.g. the shutdown ack) up to two seconds. */
static void flush_out(struct server *s)
{
	int64_t until = agent_now(CLOCK_MONOTONIC) + 2000000000LL;
	while (s->outq.len) {
		int64_t left = until - agent_now(CLOCK_MONOTONIC);
		if (left <= 0)
			return;
		struct pollfd p = { .fd = s->out_fd, .events = POLLOUT };
		int r = poll(&p, 1, (int)(left / 1000000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)))
			return;
		ssize_t n = write(s->out_fd, s->outq.data, s->outq.len);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return;
		if (n > 0)
			sb_agent_buf_consume(&s->outq, (size_t)n);
	}
}

static int serve_loop(struct server *s)
{
	struct pollfd pfd[6 + 3 * SB_AGENT_MAX_INFLIGHT];
	struct job *owner[6 + 3 * SB_AGENT_MAX_INFLIGHT];
	bool in_open = true;

	while (!s->stop) {
		unsigned n = 0;
		int in_slot = -1, out_slot = -1;
		pfd[n] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
		owner[n++] = NULL;
		if (in_open && s->outq.len < OUTQ_HIGH_WATER) {
			in_slot = (int)n;
			pfd[n] = (struct pollfd){ .fd = s->in_fd, .events = POLLIN };
			owner[n++] = NULL;
		}
		if (s->outq.len) {
			/* in_fd and out_fd may be one socket: separate entries are fine for poll. */
			out_slot = (int)n;
			pfd[n] = (struct pollfd){ .fd = s->out_fd, .events = POLLOUT };
			owner[n++] = NULL;
		}
		unsigned sess_slot = n, sess_n = session_pollfds(s, pfd + n);
		for (unsigned i = 0; i < sess_n; i++)
			owner[n++] = NULL;
		for (unsigned i = 0; i < SB_AGENT_MAX_INFLIGHT; i++) {
			struct job *j = &s->jobs[i];
			if (!j->used)
				continue;
			if (j->out_fd >= 0) {
				pfd[n] = (struct pollfd){ .fd = j->out_fd, .events = POLLIN };
				owner[n++] = j;
			}
			if (j->err_fd >= 0) {
				pfd[n] = (struct pollfd){ .fd = j->err_fd, .events = POLLIN };
				owner[n++] = j;
			}
			if (j->in_fd >= 0) {
				pfd[n] = (struct pollfd){ .fd = j->in_fd, .events = POLLOUT };
				owner[n++] = j;
			}
		}
		int r = poll(pfd, n, poll_timeout(s));
		if (r < 0 && errno != EINTR)
			return 1;
		if (r > 0) {
			for (unsigned i = 0; i < n; i++) {
				struct job *j = owner[i];
				if (!j || !pfd[i].revents)
					continue;
				if (pfd[i].fd == j->out_fd)
					pump_output(&j->out_fd, &j->out, &j->out_total);
				else if (pfd[i].fd == j->err_fd)
					pump_output(&j->err_fd, &j->err, &j->err_total);
				else if (pfd[i].fd == j->in_fd)
					pump_input(j);
			}
			if (sess_n)
				session_io(s, pfd + sess_slot, sess_n);
			if (pfd[0].revents)
				handle_signals(s);
			if (in_slot >= 0 && pfd[in_slot].revents && !read_requests(s))
				in_open = false;
			if (out_slot >= 0 && pfd[out_slot].revents && !write_responses(s))
				return 1;
		}
		check_timeouts(s);
		for (unsigned i = 0; i < SB_AGENT_MAX_INFLIGHT; i++)
			if (s->jobs[i].used && s->jobs[i].reaped)
				finish_job(s, &s->jobs[i]);
		/* Frames may wait in the reader while new requests were paused. */
		if (!s->stop && s->outq.len < OUTQ_HIGH_WATER)
			drain_frames(s);
		if (!in_open) {
			/* The host hung up: running commands have no one to report to. */
			s->stop = true;
		}
		if (s->outq.len && !write_responses(s))
			return 1;
	}
	return 0;
}

int agent_cmd_serve(int argc, char **argv)
{
	const char *fd_arg = NULL;
	bool wait_host = false;
	const struct agent_opt opts[] = {
		{ "--fd", true, &fd_arg, NULL },
		{ "--wait-host", false, NULL, &wait_host },
		{ 0 },
	};
	const char *pos[1];
	agent_getopt("serve", argc, argv, opts, pos, 0);

	struct server s = { .in_fd = 0, .out_fd = 1, .sig_fd = -1 };
	if (fd_arg) {
		int fd = (int)agent_uint_arg("serve", "--fd", fd_arg, 0, 1 << 20);
		if (fcntl(fd, F_GETFD) < 0)
			agent_usage("serve", "--fd: %d is not an open file descriptor", fd);
		s.in_fd = s.out_fd = fd;
	}
	if (wait_host) {
		/* A virtio serial port: ours alone, so it may be non-blocking like a pipe. */
		if (!fd_arg)
			agent_usage("serve", "--wait-host needs --fd (a virtio serial port)");
		int rc = serve_wait_host(s.in_fd);
		if (rc < 0)
			agent_fail("serve", -rc, "waiting for the host on fd %d", s.in_fd);
		serve_set_nonblock(s.in_fd);
	}
	/* Keep the protocol fds out of commands; they get fresh pipes on 0/1/2. */
	fcntl(s.in_fd, F_SETFD, FD_CLOEXEC);
	fcntl(s.out_fd, F_SETFD, FD_CLOEXEC);
	/* Non-blocking only for pipes and sockets: flipping a shared tty would surprise
	 * whoever else uses it, and blocking writes there are harmless. */
	struct stat st;
	if (fstat(s.out_fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		serve_set_nonblock(s.out_fd);
	if (fstat(s.in_fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		serve_set_nonblock(s.in_fd);

	if (!getenv("PATH"))
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s.sig_fd < 0)
		agent_fail("serve", errno, "signalfd");
	/* Grandchildren orphaned by a finished command come back to us to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	sb_agent_reader_init(&s.rd, SB_AGENT_MAX_REQUEST);
	session_init(&s.sess);
	int rc = serve_loop(&s);
	kill_all(&s);
	flush_out(&s);
	sb_agent_reader_free(&s.rd);
	sb_agent_buf_free(&s.outq);
	close(s.sig_fd);
	if (s.poweroff)
		agent_reset_guest();
	return rc;
}
