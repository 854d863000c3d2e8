/* Host side of running commands in a box: one EXEC message to the box's init with the command's
 * stdio and a private reply socket, then the same capture loop as the process runner (deadline,
 * SIGINT/SIGTERM, output caps) until init reports the exit status and rusage. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/capture.h"
#include "core/clock.h"
#include "core/signals.h"
#include "core/box.h"
#include "native/native_int.h"

#define SBN_OUT_CAP_DEFAULT (16u << 20)

static size_t pack_argv(const char *const *argv, char *buf, size_t cap)
{
	size_t off = 0;
	for (size_t i = 0; argv[i]; i++) {
		size_t l = strlen(argv[i]) + 1;
		if (off + l > cap)
			return 0;
		memcpy(buf + off, argv[i], l);
		off += l;
	}
	return off;
}

/* /dev/null, opened once per process: one open and close less on every exec. */
static int dev_null(void)
{
	static _Atomic int null_fd = -1;
	int fd = atomic_load(&null_fd);
	if (fd >= 0)
		return fd;
	int mine = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (mine < 0 || atomic_compare_exchange_strong(&null_fd, &fd, mine))
		return mine;
	close(mine); /* another thread was first */
	return fd;
}

int sbn_exec(struct sb_box *box, const struct sb_exec_req *req, struct sb_proc_result *res, struct sb_error *err)
{
	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (!req->argv || !req->argv[0])
		return sb_error_set(err, EINVAL, "empty command");
	if (box->stopped || box->ctl < 0)
		return sb_error_set(err, ESRCH, "box %s is stopped", box->name);
	/* Commands run from several threads at once (one per box): the message is the caller's own. */
	char small[4096], *text = small;
	size_t tlen = pack_argv(req->argv, small, sizeof(small));
	if (!tlen) {
		text = malloc(SBN_MSG_MAX - sizeof(struct sbn_msg));
		if (!text)
			return sb_error_set(err, ENOMEM, "out of memory");
		tlen = pack_argv(req->argv, text, SBN_MSG_MAX - sizeof(struct sbn_msg));
	}
	if (!tlen) {
		free(text);
		return sb_error_set(err, E2BIG, "command line too long for box %s", box->name);
	}

	int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, rp[2] = {-1, -1};
	int rc = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rp) < 0) {
		rc = sb_error_set(err, errno, "socketpair: %s", strerror(errno));
		goto out;
	}
	int fds[4];
	if (req->passthrough) {
		fds[0] = 0;
		fds[1] = 1;
		fds[2] = 2;
	} else {
		if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
			rc = sb_error_set(err, errno, "pipe: %s", strerror(errno));
			goto out;
		}
		if (req->stdin_data) {
			if (pipe2(in_p, O_CLOEXEC) < 0) {
				rc = sb_error_set(err, errno, "pipe: %s", strerror(errno));
				goto out;
			}
		}
		fds[0] = req->stdin_data ? in_p[0] : dev_null();
		if (fds[0] < 0) {
			rc = sb_error_set(err, errno, "open /dev/null: %s", strerror(errno));
			goto out;
		}
		fds[1] = out_p[1];
		fds[2] = err_p[1];
	}
	fds[3] = rp[1];
	struct sbn_msg m = {.type = SBN_MSG_EXEC};
	res->start_ns = sb_now_ns();
	if ((rc = sbn_send(box->ctl, &m, text, tlen, fds, 4)) < 0) {
		rc = sb_error_set(err, -rc, "box %s: sending the command to its init: %s", box->name, strerror(-rc));
		goto out;
	}
	sb_close_fd(&in_p[0]);
	sb_close_fd(&out_p[1]);
	sb_close_fd(&err_p[1]);
	sb_close_fd(&rp[1]);

	/* Our ends of the pipes are read without blocking from here on. */
	struct sb_pump pump;
	sb_pump_init(&pump, in_p[1], out_p[0], err_p[0], req->stdin_data, req->stdin_len,
		     req->out_cap ? req->out_cap : SBN_OUT_CAP_DEFAULT, !req->discard_stdout);
	in_p[1] = out_p[0] = err_p[0] = -1; /* the pump's now */
	bool done = false, killed = false;
	int64_t kill_deadline = 0;
	struct sbn_msg ans;
	memset(&ans, 0, sizeof(ans));
	while (!done) {
		int64_t dl = killed ? kill_deadline : req->deadline_ns;
		int left = sb_deadline_left_ms(dl);
		bool replied;
		int n = sb_pump_step(&pump, rp[0], &replied, left < 0 || left > 100 ? 100 : left);
		if (n < 0) {
			rc = sb_error_set(err, -n, "poll: %s", strerror(-n));
			break;
		}
		if (!killed && (sb_interrupted() || sb_deadline_passed(req->deadline_ns))) {
			if (sb_interrupted())
				res->interrupted = true;
			else
				res->timed_out = true;
			struct sbn_msg k = {.type = SBN_MSG_KILL};
			sbn_send(rp[0], &k, NULL, 0, NULL, 0);
			killed = true;
			kill_deadline = sb_deadline_after(5);
			continue;
		}
		if (killed && sb_deadline_passed(kill_deadline))
			break;
		if (replied) {
			char buf[sizeof(struct sbn_msg) + 16];
			ssize_t r = sbn_recv(rp[0], buf, sizeof(buf), NULL, NULL);
			if (r >= (ssize_t)sizeof(ans)) {
				memcpy(&ans, buf, sizeof(ans));
				done = true;
			} else if (r == 0 || (r < 0 && r != -EAGAIN)) {
				rc = sb_error_set(err, ECONNRESET, "box %s: its init went away during the command", box->name);
				break;
			}
		}
	}
	res->end_ns = sb_now_ns();
	if (done) {
		/* The command has exited; whatever it wrote is in the pipes. */
		sb_pump_drain(&pump);
		if (ans.err) {
			rc = sb_error_set(err, ans.err, "box %s: cannot run %s: %s", box->name, req->argv[0], strerror(ans.err));
			res->exit_code = 127;
		} else if (WIFEXITED(ans.status)) {
			res->exit_code = WEXITSTATUS(ans.status);
		} else if (WIFSIGNALED(ans.status)) {
			res->term_signal = WTERMSIG(ans.status);
			res->exit_code = 128 + res->term_signal;
		}
		res->pid = ans.pid;
		res->user_ms = (double)ans.ru.ru_utime.tv_sec * 1e3 + (double)ans.ru.ru_utime.tv_usec / 1e3;
		res->sys_ms = (double)ans.ru.ru_stime.tv_sec * 1e3 + (double)ans.ru.ru_stime.tv_usec / 1e3;
		res->maxrss_kb = ans.ru.ru_maxrss;
	}
	sb_pump_finish(&pump, res);
	if (rc == 0 && res->timed_out)
		rc = sb_error_set(err, ETIMEDOUT, "%s timed out in box %s", req->argv[0], box->name);
	else if (rc == 0 && res->interrupted)
		rc = sb_error_set(err, EINTR, "%s interrupted in box %s", req->argv[0], box->name);
out:
	sb_close_fd(&in_p[0]);
	sb_close_fd(&in_p[1]);
	sb_close_fd(&out_p[0]);
	sb_close_fd(&out_p[1]);
	sb_close_fd(&err_p[0]);
	sb_close_fd(&err_p[1]);
	sb_close_fd(&rp[0]);
	sb_close_fd(&rp[1]);
	if (text != small)
		free(text);
	return rc;
}

int sbn_agent_open(struct sb_box *box, const char *agent, struct sb_agent_conn *conn, int64_t deadline_ns,
		   struct sb_error *err)
{
	conn->to_agent = conn->from_agent = -1;
	conn->pid = 0;
	if (box->stopped || box->ctl < 0)
		return sb_error_set(err, ESRCH, "box %s is stopped", box->name);
	int in_p[2], out_p[2];
	if (pipe2(in_p, O_CLOEXEC) < 0)
		return sb_error_set(err, errno, "pipe: %s", strerror(errno));
	if (pipe2(out_p, O_CLOEXEC) < 0) {
		int e = errno;
		close(in_p[0]);
		close(in_p[1]);
		return sb_error_set(err, e, "pipe: %s", strerror(e));
	}
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char text[PATH_MAX + 16];
	const char *argv[] = {agent, "serve", NULL};
	size_t tlen = pack_argv(argv, text, sizeof(text));
	/* Detached: the agent lives until its stdin closes (sb_agent_conn_close) or the box dies. */
	struct sbn_msg m = {.type = SBN_MSG_EXEC, .flags = SBN_EXEC_DETACHED};
	int fds[3] = {in_p[0], out_p[1], devnull};
	int rc = sbn_send(box->ctl, &m, text, tlen, fds, 3);
	close(in_p[0]);
	close(out_p[1]);
	if (devnull >= 0)
		close(devnull);
	if (rc < 0) {
		close(in_p[1]);
		close(out_p[0]);
		return sb_error_set(err, -rc, "box %s: sending the agent command: %s", box->name, strerror(-rc));
	}
	conn->to_agent = in_p[1];
	conn->from_agent = out_p[0];
	return 0;
}
