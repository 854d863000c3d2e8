/* The persistent shell behind RUN_SESSION requests.
 *
 * Spawning a process per command costs an exec (about a millisecond on some hosts);
 * a shell that stays up runs builtins such as printf without any fork at all. Each
 * connection gets at most one /bin/sh, started on first use, fed one script at a time
 * (later requests queue). Each script is wrapped so the shell echoes a marker with a
 * random nonce on stdout (followed by the exit status) and on stderr when it is done;
 * everything before the markers is the command's output. Shell state (cwd, variables,
 * functions) carries over between requests, like an interactive session. */
#include "agent/serve.h"
#include "agent/agent.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#define MARK_LEAD '\036' /* ASCII RS: occurs once per marker, so matching needs no KMP */

void session_init(struct session *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->in_fd = ss->out_fd = ss->err_fd = -1;
	if (getrandom(&ss->nonce_seed, sizeof(ss->nonce_seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(ss->nonce_seed))
		ss->nonce_seed = (uint64_t)agent_now(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32);
}

static struct job *next_queued(struct server *s)
{
	struct job *best = NULL;
	for (unsigned i = 0; i < SB_AGENT_MAX_INFLIGHT; i++) {
		struct job *j = &s->jobs[i];
		if (j->used && j->session && !j->started && (!best || j->seq < best->seq))
			best = j;
	}
	return best;
}

static int spawn_shell(struct session *ss)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int rc = serve_make_pipe(in, false);
	if (rc == 0)
		rc = serve_make_pipe(out, true);
	if (rc == 0)
		rc = serve_make_pipe(err, true);
	char path[] = "/bin/sh";
	char *argv[] = { path, NULL };
	if (rc == 0)
		rc = serve_spawn(&ss->pid, argv, in[0], out[1], err[1]);
	serve_close_fd(&in[0]);
	serve_close_fd(&out[1]);
	serve_close_fd(&err[1]);
	ss->in_fd = in[1];
	ss->out_fd = out[0];
	ss->err_fd = err[0];
	if (rc < 0) {
		ss->pid = 0;
		serve_close_fd(&ss->in_fd);
		serve_close_fd(&ss->out_fd);
		serve_close_fd(&ss->err_fd);
	}
	return rc;
}

/* Queue the wrapped script. eval of a single-quoted string: the script cannot
 * unbalance our wrapper (a stray quote is eval's syntax error, not a shell waiting
 * for more input), and `<&-` keeps it from reading the shell's own command stream. */
static void queue_script(struct session *ss, const char *script, uint64_t nonce)
{
	struct sb_agent_buf *b = &ss->inq;
	sb_agent_buf_put_raw(b, "{ eval '", 8);
	for (const char *p = script; *p; p++) {
		const char *q = strchr(p, '\'');
		size_t run = q ? (size_t)(q - p) : strlen(p);
		sb_agent_buf_put_raw(b, p, run);
		p += run;
		if (!*p)
			break;
		sb_agent_buf_put_raw(b, "'\\''", 4);
	}
	char tail[160];
	int n = snprintf(tail, sizeof(tail),
	                 "'\n} <&-\necho \"%cSBEND-%016llx:$?\"\necho \"%cSBEND-%016llx\" >&2\n",
	                 MARK_LEAD, (unsigned long long)nonce, MARK_LEAD,
	                 (unsigned long long)nonce);
	sb_agent_buf_put_raw(b, tail, (size_t)n);
}

static void kill_shell(struct session *ss)
{
	if (ss->pid > 0) {
		kill(-ss->pid, SIGKILL);
		kill(ss->pid, SIGKILL);
	}
}

static void pump_in(struct session *ss)
{
	while (ss->in_fd >= 0 && ss->inq.len) {
		ssize_t n = write(ss->in_fd, ss->inq.data, ss->inq.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* The shell stopped reading commands: it is no use any more. */
			serve_close_fd(&ss->in_fd);
			kill_shell(ss);
			return;
		}
		sb_agent_buf_consume(&ss->inq, (size_t)n);
	}
}

static void start_next(struct server *s)
{
	struct session *ss = &s->sess;
	while (!ss->cur) {
		struct job *j = next_queued(s);
		if (!j)
			return;
		j->started = true;
		j->start_ns = agent_now(CLOCK_MONOTONIC);
		if (!ss->pid) {
			int rc = spawn_shell(ss);
			if (rc < 0) {
				serve_finish(s, j, SB_AGENT_SPAWN_FAILED, -rc);
				continue;
			}
		}
		uint64_t st = ss->nonce_seed ^ (j->seq * 0x9e3779b97f4a7c15ull);
		uint64_t nonce = agent_rand_next(&st);
		snprintf(ss->out_marker, sizeof(ss->out_marker), "%cSBEND-%016llx:", MARK_LEAD,
		         (unsigned long long)nonce);
		snprintf(ss->err_marker, sizeof(ss->err_marker), "%cSBEND-%016llx\n", MARK_LEAD,
		         (unsigned long long)nonce);
		ss->out_match = ss->err_match = 0;
		ss->out_rc_digits = ss->out_done = ss->err_done = false;
		ss->rc = 0;
		if (j->timeout_ms)
			j->deadline_ns = j->start_ns + (int64_t)j->timeout_ms * 1000000;
		ss->cur = j;
		queue_script(ss, j->script, nonce);
		if (ss->inq.oom) {
			ss->inq.oom = false;
			ss->inq.len = 0;
			ss->cur = NULL;
			serve_finish(s, j, SB_AGENT_SPAWN_FAILED, ENOMEM);
			continue;
		}
		pump_in(ss);
	}
}

void session_submit(struct server *s, struct job *j)
{
	j->seq = s->sess.next_seq++;
	start_next(s);
}

static void capture(struct job *j, bool is_err, const void *p, size_t n)
{
	struct sb_agent_buf *cap = is_err ? &j->err : &j->out;
	uint64_t *total = is_err ? &j->err_total : &j->out_total;
	*total += n;
	size_t room = cap->len < SB_AGENT_MAX_CAPTURE ? SB_AGENT_MAX_CAPTURE - cap->len : 0;
	sb_agent_buf_put_raw(cap, p, n < room ? n : room);
}

/* Pass output bytes through to the capture until the marker is complete. Bytes that
 * might begin the marker are held back (they are exactly marker[0..*match)) and
 * released if the match fails. Returns how many bytes were used, and sets *found. */
static size_t scan(struct job *j, bool is_err, const char *marker, size_t *match,
                   const uint8_t *p, size_t n, bool *found)
{
	size_t mlen = strlen(marker), i = 0;
	*found = false;
	while (i < n) {
		if (*match == 0) {
			const uint8_t *q = memchr(p + i, MARK_LEAD, n - i);
			size_t run = q ? (size_t)(q - (p + i)) : n - i;
			capture(j, is_err, p + i, run);
			i += run;
			if (!q)
				break;
		}
		if (p[i] == (uint8_t)marker[*match]) {
			i++;
			if (++*match == mlen) {
				*match = 0;
				*found = true;
				return i;
			}
		} else {
			/* Re-examine p[i] from scratch: it may start a new marker. */
			capture(j, is_err, marker, *match);
			*match = 0;
			if (p[i] != MARK_LEAD) {
				capture(j, is_err, p + i, 1);
				i++;
			}
		}
	}
	return n;
}

static void feed(struct session *ss, bool is_err, const uint8_t *p, size_t n)
{
	struct job *j = ss->cur;
	if (!j)
		return; /* late output of a background job: nobody to give it to */
	if (is_err) {
		bool found;
		if (!ss->err_done) {
			scan(j, true, ss->err_marker, &ss->err_match, p, n, &found);
			ss->err_done = found;
		}
		return;
	}
	size_t i = 0;
	while (i < n && !ss->out_done) {
		if (!ss->out_rc_digits) {
			bool found;
			i += scan(j, false, ss->out_marker, &ss->out_match, p + i, n - i, &found);
			ss->out_rc_digits = found;
			continue;
		}
		uint8_t c = p[i++];
		if (c >= '0' && c <= '9')
			ss->rc = ss->rc * 10 + (c - '0');
		else if (c == '\n')
			ss->out_done = true;
	}
}

/* Returns false at EOF or error. */
static bool read_stream(struct session *ss, bool is_err)
{
	int *fd = is_err ? &ss->err_fd : &ss->out_fd;
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
		feed(ss, is_err, serve_scratch, (size_t)n);
		if ((size_t)n < sizeof(serve_scratch))
			return true;
	}
}

static void maybe_done(struct server *s)
{
	struct session *ss = &s->sess;
	if (ss->cur && ss->out_done && ss->err_done) {
		struct job *j = ss->cur;
		ss->cur = NULL;
		j->end_ns = agent_now(CLOCK_MONOTONIC);
		serve_finish(s, j, SB_AGENT_EXITED, ss->rc);
		start_next(s);
	}
}

unsigned session_pollfds(struct server *s, struct pollfd *pfd)
{
	struct session *ss = &s->sess;
	unsigned n = 0;
	if (!ss->pid)
		return 0;
	if (ss->out_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = ss->out_fd, .events = POLLIN };
	if (ss->err_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = ss->err_fd, .events = POLLIN };
	if (ss->in_fd >= 0 && ss->inq.len)
		pfd[n++] = (struct pollfd){ .fd = ss->in_fd, .events = POLLOUT };
	return n;
}

void session_io(struct server *s, const struct pollfd *pfd, unsigned n)
{
	struct session *ss = &s->sess;
	for (unsigned i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		bool ok = true;
		if (pfd[i].fd == ss->out_fd)
			ok = read_stream(ss, false);
		else if (pfd[i].fd == ss->err_fd)
			ok = read_stream(ss, true);
		else if (pfd[i].fd == ss->in_fd)
			pump_in(ss);
		/* A shell that closed its stdout or stderr can never print a marker again
		 * (e.g. the script ran `exec >&-`): end it rather than wait forever. */
		if (!ok)
			kill_shell(ss);
	}
	maybe_done(s);
}

bool session_reaped(struct server *s, pid_t pid, int status)
{
	struct session *ss = &s->sess;
	if (pid != ss->pid || pid <= 0)
		return false;
	/* Whatever the shell wrote before dying belongs to the current job. */
	if (ss->out_fd >= 0)
		read_stream(ss, false);
	if (ss->err_fd >= 0)
		read_stream(ss, true);
	serve_close_fd(&ss->in_fd);
	serve_close_fd(&ss->out_fd);
	serve_close_fd(&ss->err_fd);
	ss->pid = 0;
	ss->inq.len = 0;
	struct job *j = ss->cur;
	if (j && ss->out_done && ss->err_done) {
		maybe_done(s); /* finished just before the shell went away */
	} else if (j) {
		ss->cur = NULL;
		j->end_ns = agent_now(CLOCK_MONOTONIC);
		/* Held-back marker prefix bytes were real output after all. */
		capture(j, false, ss->out_marker, ss->out_match);
		capture(j, true, ss->err_marker, ss->err_match);
		if (WIFSIGNALED(status))
			serve_finish(s, j, SB_AGENT_SIGNALED, WTERMSIG(status));
		else
			serve_finish(s, j, SB_AGENT_EXITED, WEXITSTATUS(status));
	}
	start_next(s);
	return true;
}

int64_t session_deadline(const struct server *s)
{
	return s->sess.cur ? s->sess.cur->deadline_ns : 0;
}

void session_check_timeout(struct server *s, int64_t now)
{
	struct job *j = s->sess.cur;
	if (j && j->deadline_ns && now >= j->deadline_ns) {
		j->timed_out = true;
		j->deadline_ns = 0;
		kill_shell(&s->sess);
	}
}

void session_kill(struct server *s)
{
	struct session *ss = &s->sess;
	if (ss->pid > 0) {
		kill_shell(ss);
		while (waitpid(ss->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	serve_close_fd(&ss->in_fd);
	serve_close_fd(&ss->out_fd);
	serve_close_fd(&ss->err_fd);
	ss->pid = 0;
	ss->cur = NULL;
	sb_agent_buf_free(&ss->inq);
}
