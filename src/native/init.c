/* pid 1 of a box, and the wire format it speaks with the host.
 *
 * Init is already locked down (no capabilities, seccomp) when this loop starts, so everything it
 * spawns inherits the lockdown, and a command starts with one vfork-style clone from a process
 * that is already inside every namespace: that is why exec in a running box costs about as much
 * as a bare spawn on the host. The spawn is leaner than posix_spawn: init has no signal handlers
 * (child_main reset every disposition once), so the child only sets its signal mask, its session
 * and its stdio before execve, where glibc would query or reset all 64 dispositions per spawn.
 * The host sends EXEC on the control socket with the command's stdin, stdout and stderr and a
 * private reply socket; init answers EXITED (wait status and rusage) on that reply socket. A KILL
 * message or the host closing the reply socket kills the command's process group. RESET (from
 * the zygote, for a warm box being reused) kills every other process of the box. When the control
 * socket closes, init exits and the kernel kills the rest. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "native/native_int.h"

extern char **environ;

int sbn_send(int sock, const struct sbn_msg *m, const void *text, size_t len, const int *fds, int nfds)
{
	struct sbn_msg h = *m;
	h.len = (uint32_t)len;
	struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof(h)}, {.iov_base = (void *)text, .iov_len = len}};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	ssize_t w;
	do
		w = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}

ssize_t sbn_recv(int sock, void *buf, size_t cap, int *fds, int *nfds)
{
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	int want = nfds ? *nfds : 0;
	if (nfds)
		*nfds = 0;
	ssize_t r;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int *in = (int *)CMSG_DATA(c);
		for (int i = 0; i < n; i++) {
			if (nfds && *nfds < want)
				fds[(*nfds)++] = in[i];
			else
				close(in[i]); /* more than asked for: never leak them */
		}
	}
	if (r > 0 && (size_t)r < sizeof(struct sbn_msg) && nfds) {
		for (int i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EPROTO;
	}
	return r;
}

#define SBN_MAX_RUNNING 1024

struct running {
	pid_t pid;
	int reply; /* -1: detached or host went away */
};

static const char *const box_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TERM=xterm",
	"HOSTNAME=sandbench", NULL,
};

static struct running running[SBN_MAX_RUNNING];
static int nrunning;

static void closefds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The box's PATH, searched as execvp does: go on past missing entries, remember EACCES. */
static const char *const box_path[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"};

struct spawn_args {
	char *const *argv;
	const int *fds;
	int err; /* set by the child when execve failed (it shares our memory until then) */
};

/* The child of a CLONE_VM|CLONE_VFORK clone: it runs on spawn_stack in init's memory while init
 * waits, so it only makes system calls and writes nothing but a->err. */
__attribute__((no_sanitize("address", "undefined"))) static int spawn_child(void *p)
{
	struct spawn_args *a = p;
	sigset_t none;
	sigemptyset(&none);
	if (setsid() < 0 || dup2(a->fds[0], 0) < 0 || dup2(a->fds[1], 1) < 0 || dup2(a->fds[2], 2) < 0 ||
	    sigprocmask(SIG_SETMASK, &none, NULL) < 0) {
		a->err = errno;
		_exit(127);
	}
	const char *file = a->argv[0];
	if (strchr(file, '/')) {
		execve(file, a->argv, (char *const *)box_env);
		a->err = errno;
		_exit(127);
	}
	size_t fl = strlen(file);
	int err = ENOENT;
	char path[PATH_MAX];
	for (size_t i = 0; fl && fl < 200 && i < sizeof(box_path) / sizeof(box_path[0]); i++) {
		size_t dl = strlen(box_path[i]);
		memcpy(path, box_path[i], dl);
		path[dl] = '/';
		memcpy(path + dl + 1, file, fl + 1);
		execve(path, a->argv, (char *const *)box_env);
		if (errno == EACCES)
			err = EACCES;
		else if (errno != ENOENT && errno != ENOTDIR) {
			err = errno;
			break;
		}
	}
	a->err = err;
	_exit(127);
}

static char spawn_stack[65536] __attribute__((aligned(64)));
static char buf[SBN_MSG_MAX + 1];
static struct pollfd pf[SBN_MAX_RUNNING + 2];

void sbn_init_prefault(void)
{
	/* The pages init's first command touches (the spawn child's stack top, the first pages of
	 * the message buffer, the poll set and the running table) are faulted in now, while the box
	 * is being made, rather than on that command's clock. */
	for (size_t off = sizeof(spawn_stack) - 16384; off < sizeof(spawn_stack); off += 4096)
		((volatile char *)spawn_stack)[off] = 0;
	((volatile char *)buf)[0] = 0;
	((volatile char *)pf)[0] = 0;
	((volatile char *)running)[0] = 0;
}

static void do_exec(const struct sbn_msg *m, char *text, size_t tlen, int *fds, int nfds)
{
	char *argv[256];
	int argc = 0;
	for (size_t off = 0; off < tlen && argc < 255;) {
		argv[argc++] = text + off;
		off += strnlen(text + off, tlen - off) + 1;
	}
	argv[argc] = NULL;
	bool detached = m->flags & SBN_EXEC_DETACHED;
	int reply = (!detached && nfds >= 4) ? fds[3] : -1;
	struct sbn_msg ans = {.type = SBN_MSG_EXITED};
	/* Received descriptors are never 0-2 (init keeps /dev/null there), so the dup2s cannot clash. */
	if (argc == 0 || nfds < 3 || fds[0] < 3 || fds[1] < 3 || fds[2] < 3 || (!detached && reply < 0) ||
	    (!detached && nrunning >= SBN_MAX_RUNNING)) {
		ans.err = nrunning >= SBN_MAX_RUNNING ? EAGAIN : EINVAL;
		goto fail;
	}
	struct spawn_args a = {.argv = argv, .fds = fds, .err = 0};
	pid_t pid = clone(spawn_child, spawn_stack + sizeof(spawn_stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	int e = errno;
	closefds(fds, 3);
	if (pid > 0 && a.err) {
		/* It never ran the command: reap it here, the SIGCHLD finds nothing to match. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		e = a.err;
		pid = -1;
	}
	if (pid < 0) {
		ans.err = e;
		ans.status = 127 << 8;
		goto fail_reply_only;
	}
	if (!detached)
		running[nrunning++] = (struct running){.pid = pid, .reply = reply};
	return;
fail:
	closefds(fds, nfds < 3 ? nfds : 3);
fail_reply_only:
	if (reply >= 0) {
		sbn_send(reply, &ans, NULL, 0, NULL, 0);
		close(reply);
	}
}

/* RESET: pid 1 of a pid namespace can signal every other process in it with kill(-1); they are
 * all its descendants, so once wait says ECHILD none is left. */
static void do_reset(int ctl, int sfd)
{
	kill(-1, SIGKILL);
	for (;;) {
		pid_t p = waitpid(-1, NULL, __WALL);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;
	}
	for (int i = 0; i < nrunning; i++)
		if (running[i].reply >= 0)
			close(running[i].reply);
	nrunning = 0;
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof(si)) > 0)
		;
	struct sbn_msg ans = {.type = SBN_MSG_RESET_DONE};
	sbn_send(ctl, &ans, NULL, 0, NULL, 0);
}

static void reap(void)
{
	for (;;) {
		int status;
		struct rusage ru;
		pid_t p = wait4(-1, &status, WNOHANG, &ru);
		if (p <= 0)
			return;
		for (int i = 0; i < nrunning; i++) {
			if (running[i].pid != p)
				continue;
			/* The answer first: it is what the host waits for. */
			if (running[i].reply >= 0) {
				struct sbn_msg ans = {.type = SBN_MSG_EXITED, .status = status, .pid = p, .ru = ru};
				sbn_send(running[i].reply, &ans, NULL, 0, NULL, 0);
				close(running[i].reply);
			}
			/* The command's descendants die with it: they would otherwise hold its pipes. */
			kill(-p, SIGKILL);
			running[i] = running[--nrunning];
			break;
		}
	}
}

_Noreturn void sbn_init_main(int ctl)
{
	environ = (char **)box_env;
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	for (;;) {
		pf[0] = (struct pollfd){.fd = ctl, .events = POLLIN};
		pf[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
		int np = 2;
		for (int i = 0; i < nrunning; i++)
			pf[np++] = (struct pollfd){.fd = running[i].reply, .events = running[i].reply >= 0 ? POLLIN : 0};
		if (poll(pf, (nfds_t)np, -1) < 0)
			continue;
		if (pf[1].revents) {
			/* Reap (and answer) before draining the signalfd, then once more for a child that
			 * exited in between and whose SIGCHLD the drain took. */
			reap();
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) > 0)
				;
			reap();
			continue; /* the running table changed under the pf indexes */
		}
		for (int i = 2; i < np; i++) {
			if (!pf[i].revents)
				continue;
			struct running *r = &running[i - 2];
			char small[sizeof(struct sbn_msg)];
			ssize_t n = recv(r->reply, small, sizeof(small), MSG_DONTWAIT);
			if (n > 0 || n == 0 || (n < 0 && errno != EAGAIN)) {
				kill(-r->pid, SIGKILL);
				kill(r->pid, SIGKILL);
			}
			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				close(r->reply);
				r->reply = -1;
			}
		}
		if (pf[0].revents) {
			int fds[4] = {-1, -1, -1, -1}, nfds = 4;
			ssize_t n = sbn_recv(ctl, buf, SBN_MSG_MAX, fds, &nfds);
			if (n == 0 || (n < 0 && n != -EAGAIN && n != -EPROTO))
				_exit(0);
			if (n < (ssize_t)sizeof(struct sbn_msg)) {
				closefds(fds, nfds);
				continue;
			}
			struct sbn_msg m;
			memcpy(&m, buf, sizeof(m));
			size_t tlen = (size_t)n - sizeof(m);
			buf[n] = '\0';
			if (m.type == SBN_MSG_EXEC) {
				do_exec(&m, buf + sizeof(m), tlen, fds, nfds);
			} else {
				closefds(fds, nfds);
				if (m.type == SBN_MSG_RESET)
					do_reset(ctl, sfd);
			}
		}
	}
}
