/* The birth helper: a small single-threaded process that makes cold boxes' init processes.
 *
 * A cold box's init used to be a clone3 of sandbench itself. In a burst sandbench holds a hundred
 * threads, and a fork copies the page tables of the whole process under its mmap_lock (every page
 * fault of every other thread waits meanwhile), then parent and child both take copy-on-write
 * faults on what they touch next; perf put that at a third of a burst's CPU time. A box asked
 * for while another one is being made (a burst, concurrent_create) is therefore cloned by the
 * helper, a fork of sandbench made once per process, at the first such overlap: early in a burst,
 * before its launcher threads have all started, so the helper is small and stays small (it only
 * receives requests and clones). A box made alone (one-shot `sandbench exec`, boxes one after
 * another) is still cloned by sandbench directly: its fork is cheap then, and a hop through the
 * helper would add a wakeup of another process to the box's start, which on a loaded machine
 * costs more than the fork saves. Per box from the helper:
 *
 *   sandbench thread                         helper                      child (new pid ns)
 *   socketpair (ctl), socketpair (reply)
 *   BIRTH: child args + [ctl end, reply] --> clone3(NEWPID|PIDFD) -----> sbn_child_main, as
 *   new network namespace meanwhile          BORN: pid + [pidfd] on        before (box.c)
 *   <-------------------------------------  the reply socket
 *   attach cgroups, veth, GO ... as before
 *
 * Every request carries its own reply socket, so threads never wait for each other's answers
 * and no lock is held across a birth. The helper ignores SIGCHLD, so the kernel reaps its boxes
 * the moment they die (sandbench waits for them through their pidfds); each box gets SIGKILL as
 * its parent-death signal, and the helper exits when sandbench's end of its socket closes (exit,
 * crash, SIGKILL), so boxes never outlive sandbench. A fork of sandbench (the zygote) forgets the
 * helper and clones its boxes itself. If the helper is gone, boxes are cloned directly again. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/signals.h"
#include "native/native_int.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

enum { BMSG_BIRTH = 200, BMSG_BORN };

static struct {
	pid_t pid;
	int pidfd;
	int sock;
	pid_t owner; /* the process that started it: its forks must not use it */
	bool atexit_done;
} birth = {.pidfd = -1, .sock = -1};

/* Whether this process may still start a helper (not in a fork of sandbench, nor after one
 * failed to start). */
static atomic_bool never;

static pthread_mutex_t block = PTHREAD_MUTEX_INITIALIZER;

/* ---- inside the helper ---- */

static _Noreturn void birth_main(int sock)
{
	sbn_prctl(PR_SET_NAME, (unsigned long)SBN_BIRTH_COMM);
	/* Its own group: a terminal ^C goes to sandbench, which then closes the socket. */
	setpgid(0, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < _NSIG; sig++)
		sigaction(sig, &sa, NULL);
	/* The kernel reaps the boxes: nothing waits here. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its boxes inherit an empty bounding set and need not drop it one capability at a time; the
	 * helper's own capabilities stay (the bounding set limits only what an exec may gain). */
	sbn_drop_bounding_set();
	/* Nothing of sandbench's but our socket: another copy of a box's control socket or of the
	 * zygote's would keep their peers from ever seeing sandbench go. */
	if (sock != 3) {
		dup2(sock, 3);
		sock = 3;
	}
	if (syscall(SYS_close_range, 4u, ~0u, 0u) < 0)
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
	pid_t self = getpid();
	static char buf[sizeof(struct sbn_msg) + sizeof(struct sbn_child_args) + 16];
	for (;;) {
		int fds[2] = {-1, -1}, nfds = 2;
		ssize_t r = sbn_recv(sock, buf, sizeof(buf), fds, &nfds);
		if (r == 0 || (r < 0 && r != -EPROTO && r != -EAGAIN))
			_exit(0); /* sandbench is gone */
		struct sbn_msg m;
		if (r < (ssize_t)(sizeof(m) + sizeof(struct sbn_child_args)) || nfds != 2) {
			for (int i = 0; i < nfds; i++)
				close(fds[i]);
			continue;
		}
		memcpy(&m, buf, sizeof(m));
		const struct sbn_child_args *a = (const void *)(buf + sizeof(m));
		int pidfd = -1;
		struct clone_args ca;
		memset(&ca, 0, sizeof(ca));
		ca.flags = CLONE_NEWPID | CLONE_PIDFD | (sbn_unpriv() ? CLONE_NEWUSER : 0);
		ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
		ca.exit_signal = SIGCHLD;
		pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid == 0) {
			close(sock);
			close(fds[1]);
			sbn_child_main(a, fds[0], self);
		}
		struct sbn_msg ans = {.type = BMSG_BORN, .pid = pid > 0 ? pid : 0, .err = pid < 0 ? errno : 0};
		sbn_send(fds[1], &ans, NULL, 0, &pidfd, pid > 0 ? 1 : 0);
		close(fds[0]);
		close(fds[1]);
		if (pidfd >= 0)
			close(pidfd);
	}
}

/* ---- in sandbench ---- */

static void at_exit_stop(void)
{
	/* Exit: closing the socket is enough (the helper exits when it sees that); waiting for it
	 * would cost a one-shot `sandbench exec` a wakeup of the helper for nothing. */
	pthread_mutex_lock(&block);
	if (birth.pid > 0 && birth.owner == getpid() && birth.sock >= 0) {
		close(birth.sock);
		birth.sock = -1;
	}
	pthread_mutex_unlock(&block);
}

void sbn_birth_forget(void)
{
	/* Called in a fresh fork, which has one thread: the lock cannot be held by anyone alive. */
	atomic_store(&never, true);
	if (birth.pid > 0 && birth.owner != getpid()) {
		if (birth.sock >= 0)
			close(birth.sock);
		if (birth.pidfd >= 0)
			close(birth.pidfd);
		birth.pid = 0;
		birth.sock = birth.pidfd = -1;
	}
}

int sbn_birth_start(struct sb_error *err)
{
	/* What the box code reads must be settled before the fork: the helper never learns more. */
	int rc = sbn_seccomp_prepare(err);
	if (rc < 0)
		return rc;
	(void)sbn_unpriv();
	(void)sbn_run_dir();
	pthread_mutex_lock(&block);
	if (birth.pid > 0 && birth.owner != getpid())
		sbn_birth_forget();
	if (birth.pid > 0) {
		pthread_mutex_unlock(&block);
		return 0;
	}
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		pthread_mutex_unlock(&block);
		return sb_error_set(err, errno, "native: birth helper: socketpair: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(sp[0]);
		birth_main(sp[1]);
	}
	int e = errno;
	close(sp[1]);
	if (pid < 0) {
		close(sp[0]);
		atomic_store(&never, true);
		pthread_mutex_unlock(&block);
		return sb_error_set(err, e, "native: fork of the birth helper: %s", strerror(e));
	}
	birth.pid = pid;
	birth.owner = getpid();
	birth.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	birth.sock = sp[0];
	if (!birth.atexit_done) {
		atexit(at_exit_stop);
		birth.atexit_done = true;
	}
	pthread_mutex_unlock(&block);
	return 0;
}

pid_t sbn_birth_pid(void)
{
	pthread_mutex_lock(&block);
	pid_t pid = birth.owner == getpid() ? birth.pid : 0;
	pthread_mutex_unlock(&block);
	return pid;
}

int sbn_birth_ask(const struct sbn_child_args *a, int child_ctl, bool concurrent, int *reply)
{
	*reply = -1;
	/* Unprivileged boxes keep the direct clone: sandbench writes their id maps, which is only
	 * known to work for its own children. A box made alone goes through the helper too once it
	 * exists: it was started by a burst, whose threads (and their stacks) make sandbench's fork
	 * dear, also for the burst's last box, made when no other one is. */
	bool running = sbn_birth_pid() > 0;
	if ((!concurrent && !running) || atomic_load(&never) || sbn_unpriv())
		return -ENOENT;
	if (!running) {
		struct sb_error e = {0};
		if (sbn_birth_start(&e) < 0)
			return -ENOENT;
	}
	pthread_mutex_lock(&block);
	int sock = birth.pid > 0 && birth.owner == getpid() ? birth.sock : -1;
	pthread_mutex_unlock(&block);
	if (sock < 0)
		return -ENOENT;
	int rp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rp) < 0)
		return -errno;
	/* One message, sent whole: requests of several threads never interleave. A stop meanwhile
	 * closes sock under us at worst: the send fails and the box is cloned directly. */
	struct sbn_msg m = {.type = BMSG_BIRTH};
	int fds[2] = {child_ctl, rp[1]};
	int rc = sbn_send(sock, &m, a, sizeof(*a), fds, 2);
	close(rp[1]);
	if (rc < 0) {
		close(rp[0]);
		return rc;
	}
	*reply = rp[0];
	return 0;
}

int sbn_birth_answer(int reply, pid_t *pid, int *pidfd, int64_t deadline_ns, struct sb_error *err)
{
	*pid = -1;
	*pidfd = -1;
	int rc = 0;
	for (;;) {
		int left = sb_deadline_left_ms(deadline_ns);
		struct pollfd pf = {.fd = reply, .events = POLLIN};
		int n = poll(&pf, 1, left < 0 || left > 100 ? 100 : left);
		if (n > 0)
			break;
		if (sb_interrupted()) {
			rc = sb_error_set(err, EINTR, "native: interrupted waiting for the birth helper");
			break;
		}
		if (n < 0 && errno != EINTR) {
			rc = sb_error_set(err, errno, "native: birth helper: poll: %s", strerror(errno));
			break;
		}
		if (sb_deadline_passed(deadline_ns)) {
			rc = sb_error_set(err, ETIMEDOUT, "native: timed out waiting for the birth helper");
			break;
		}
	}
	if (rc == 0) {
		char buf[sizeof(struct sbn_msg) + 16];
		int fds[1] = {-1}, nfds = 1;
		ssize_t r = sbn_recv(reply, buf, sizeof(buf), fds, &nfds);
		struct sbn_msg m;
		memset(&m, 0, sizeof(m));
		if (r >= (ssize_t)sizeof(m))
			memcpy(&m, buf, sizeof(m));
		if (r < (ssize_t)sizeof(m) || m.type != BMSG_BORN) {
			rc = sb_error_set(err, ECONNRESET, "native: the birth helper died");
		} else if (m.err || m.pid <= 0 || nfds != 1) {
			rc = sb_error_set(err, m.err ? m.err : EPROTO, "clone3 with new namespaces (birth helper): %s",
					  strerror(m.err ? m.err : EPROTO));
		} else {
			*pid = m.pid;
			*pidfd = fds[0];
			fds[0] = -1;
		}
		if (fds[0] >= 0)
			close(fds[0]);
	}
	close(reply);
	if (rc == -ECONNRESET) {
		/* Dead helper: the next boxes are cloned directly. Its socket stays open: another thread
		 * may be sending on it right now, and a closed number could be reused under that send. */
		pthread_mutex_lock(&block);
		if (birth.pid > 0 && birth.owner == getpid() && birth.pidfd >= 0 &&
		    poll(&(struct pollfd){.fd = birth.pidfd, .events = POLLIN}, 1, 0) > 0) {
			atomic_store(&never, true);
			waitpid(birth.pid, NULL, WNOHANG);
			birth.pid = 0;
		}
		pthread_mutex_unlock(&block);
	}
	return rc;
}
