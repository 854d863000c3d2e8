/* Deferred teardown of boxes that leave nothing on the host but their marker (and, with
 * layer=disk, their layer directory, removed before the marker).
 *
 * Destroying such a box only needs its init to die: the kernel then kills the rest of its pid
 * namespace and drops its mount, network, IPC and UTS namespaces. That teardown costs ~0.3 ms
 * of the dying init's time (and an RCU grace period for the mounts), none of which the caller
 * has to wait for. So destroy sends SIGKILL through the pidfd and queues the box; the zombie is
 * reaped and the marker removed by the next create or destroy, by sb_native_shutdown, and at the
 * latest at exit (atexit), so nothing outlives sandbench. If sandbench itself is killed first,
 * the processes are already dead or die with it (parent-death signal) and the marker is what
 * `sandbench doctor` finds. No thread: everything runs in the caller's thread, and the queue is
 * fixed-size memory (no allocation here). Boxes are destroyed from several threads at once (burst
 * scenarios), so the queue has a lock, held across fork() so a forked zygote gets a whole queue. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "native/native_int.h"

#define SBN_REAP_MAX 256

struct dead {
	pid_t pid;
	int pidfd;
	pid_t owner;     /* the process that queued it: a fork must leave it alone */
	bool our_child;  /* reap with waitpid; otherwise the zygote does */
	bool marker;
	bool layer;      /* a layer directory on a host disk to remove (layer.c) */
	char id[40];
};

static struct dead queue[SBN_REAP_MAX];
static int nqueue;

static bool atexit_done;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t qonce = PTHREAD_ONCE_INIT;

static void q_take(void)
{
	pthread_mutex_lock(&qlock);
}

static void q_give(void)
{
	pthread_mutex_unlock(&qlock);
}

static void q_atfork(void)
{
	pthread_atfork(q_take, q_give, q_give);
}

static void q_lock(void)
{
	pthread_once(&qonce, q_atfork);
	q_take();
}

static void finish(struct dead *d)
{
	if (d->our_child) {
		int st;
		/* ECHILD: someone reaped it already (sandbench's last-ditch reaper at exit). */
		while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	close(d->pidfd);
	/* The directory before the marker that names it; a failure leaves both for doctor. */
	if (d->layer && sbn_layer_remove(d->id) < 0)
		return;
	if (d->marker)
		sbn_marker_remove(d->id);
}

static void at_exit_drain(void)
{
	sbn_reap_poll(sb_deadline_after(10));
}

static int poll_locked(int64_t deadline_ns);

int sbn_reap_defer(struct sb_box *box)
{
	q_lock();
	if (nqueue == SBN_REAP_MAX) {
		/* Full: make room by waiting for the oldest rather than growing without bound. */
		poll_locked(0);
		if (nqueue == SBN_REAP_MAX) {
			q_give();
			return -ENOSPC;
		}
	}
	if (!atexit_done) {
		atexit(at_exit_drain);
		atexit_done = true;
	}
	syscall(SYS_pidfd_send_signal, box->pidfd, SIGKILL, NULL, 0);
	struct dead *d = &queue[nqueue++];
	d->pid = box->init_pid;
	d->pidfd = box->pidfd;
	d->owner = getpid();
	d->our_child = box->our_child;
	d->marker = box->marker;
	d->layer = box->cfg.layer == SBN_LAYER_DISK;
	memcpy(d->id, box->id, sizeof(d->id));
	q_give();
	if (box->ctl >= 0)
		close(box->ctl);
	if (box->upper_fd >= 0)
		close(box->upper_fd);
	free(box);
	return 0;
}

int sbn_reap_poll(int64_t deadline_ns)
{
	q_lock();
	int left = poll_locked(deadline_ns);
	q_give();
	return left;
}

static int poll_locked(int64_t deadline_ns)
{
	int left = 0;
	for (int i = 0; i < nqueue;) {
		struct dead *d = &queue[i];
		if (d->owner != getpid()) {
			i++;
			continue;
		}
		struct pollfd pf = {.fd = d->pidfd, .events = POLLIN};
		int ms = 0;
		if (deadline_ns) {
			int dl = sb_deadline_left_ms(deadline_ns);
			ms = dl < 0 ? 0 : dl;
		}
		int n = poll(&pf, 1, ms);
		if (n == 0 && !deadline_ns) {
			i++;
			left++;
			continue;
		}
		if (n == 0) {
			/* Past the deadline: kill again and give up waiting (never block exit forever). */
			syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0);
			i++;
			left++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		finish(d);
		queue[i] = queue[--nqueue];
	}
	return left;
}

void sbn_reap_forget(void)
{
	q_lock();
	for (int i = 0; i < nqueue; i++)
		close(queue[i].pidfd);
	nqueue = 0;
	q_give();
}
