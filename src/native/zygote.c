/* Warm starts: a zygote process (forked from sandbench on the first warm create) keeps a pool of
 * boxes fully made ahead of time — namespaces, mounts, cgroups, network, lockdown — on the other
 * core, and lends one on request by passing its control socket, pidfd and writable layer.
 *
 * A warm create is one message already waiting: after each box it lends, sandbench asks for the
 * next one at once, so the answer is in the socket before the next create needs it. A warm
 * destroy is one message too: the box goes back to the zygote, which resets it (recycle.c: no
 * process but init, a new writable layer, /tmp and /dev, checked-empty IPC and network
 * namespaces) and lends it again; a box that cannot be reset is released and a new one made.
 * Resetting costs the zygote a fraction of making a box, which is what lets back-to-back warm
 * starts run at the speed of the exec alone.
 *
 * The zygote keeps its own copies of every box's descriptors, so it can reset or release any box
 * at any time. The pool is made for one configuration; a request for another one restarts the
 * zygote. When sandbench closes the socket (exit, crash, SIGKILL) the zygote releases every box
 * it made, lent or not, and exits. If the zygote itself is killed (sandbench's last-ditch reaper
 * SIGKILLs its children before exit), its boxes die with it (parent-death signal) and sandbench
 * releases what their markers record (both pids are recorded as owners). */
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/signals.h"
#include "native/native.h"
#include "native/native_int.h"

enum { ZMSG_TAKE = 100, ZMSG_BOX, ZMSG_RELEASE };

/* What travels with a lent box besides its fds. */
struct zbox {
	char id[40];
	pid_t init_pid;
	struct sbn_cfg cfg;
	struct sb_veth net;
	int has_upper;
	int marker;
	unsigned uses;
	uint64_t cpu_base_ns;
	struct sbn_cg cg; /* last, and sent only when the box has cgroups (it is 20 KiB of paths) */
};

static struct {
	pid_t pid;
	int pidfd;
	int sock;
	int asked; /* TAKEs sent and not answered yet */
	pid_t owner; /* the process that started it (forks of it must not stop it) */
	struct sbn_cfg cfg;
	bool atexit_done;
} zyg = {.pidfd = -1, .sock = -1};

pid_t sbn_owner_host; /* set in the zygote: sandbench's pid, recorded as a second owner */

/* Boxes are taken and given back from several threads at once (burst scenarios); the requests
 * and answers on the one socket must not interleave. Recursive: take stops a zygote of another
 * configuration. */
static pthread_mutex_t zlock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void sbn_sched_background(pid_t pid)
{
	struct sched_param sp = {0};
	sched_setscheduler(pid, SCHED_IDLE, &sp);
}

void sbn_sched_boost(pid_t pid)
{
	struct sched_param sp = {0};
	sched_setscheduler(pid, SCHED_OTHER, &sp);
}

/* ---- inside the zygote ---- */

enum zstate { Z_READY, Z_LENT, Z_DIRTY };

struct zslot {
	struct sb_box *b;
	enum zstate state;
	uint64_t setup_cpu_ns; /* init's CPU time when it was made: later uses start from there */
	struct sbn_reuse reuse; /* what tells what its commands left behind */
};

static struct zslot *slots;
static int nslots, capslots;

static int count(enum zstate s)
{
	int n = 0;
	for (int i = 0; i < nslots; i++)
		n += slots[i].state == s;
	return n;
}

static int find(enum zstate s)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].state == s)
			return i;
	return -1;
}

static void drop(int i)
{
	sbn_reuse_close(&slots[i].reuse);
	slots[i] = slots[--nslots];
}

static int z_hand_over(int sock, int i)
{
	struct sb_box *b = slots[i].b;
	struct zbox zb;
	memset(&zb, 0, sizeof(zb));
	snprintf(zb.id, sizeof(zb.id), "%s", b->id);
	zb.init_pid = b->init_pid;
	zb.cfg = b->cfg;
	zb.cg = b->cg;
	zb.net = b->net;
	zb.has_upper = b->upper_fd >= 0;
	zb.marker = b->marker;
	zb.uses = b->uses;
	zb.cpu_base_ns = b->cpu_base_ns;
	int fds[3] = {b->ctl, b->pidfd, b->upper_fd};
	bool cgroups = false;
	for (int c = 0; c < SBN_CTRL_N; c++)
		cgroups |= zb.cg.dir[c][0] != '\0';
	struct sbn_msg m = {.type = ZMSG_BOX};
	int rc = sbn_send(sock, &m, &zb, cgroups ? sizeof(zb) : offsetof(struct zbox, cg), fds, zb.has_upper ? 3 : 2);
	if (rc == 0)
		slots[i].state = Z_LENT;
	return rc;
}

static int z_add(struct sb_box *b)
{
	if (nslots == capslots) {
		int nc = capslots ? capslots * 2 : 16;
		struct zslot *ns = realloc(slots, (size_t)nc * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		slots = ns;
		capslots = nc;
	}
	struct zslot *z = &slots[nslots++];
	*z = (struct zslot){.b = b, .state = Z_READY, .setup_cpu_ns = sb_proc_cpu_ns(b->init_pid, true)};
	if (sbn_recycle_eligible(b))
		sbn_reuse_open(b, &z->reuse);
	else
		sbn_reuse_init(&z->reuse);
	return 0;
}

static int z_fill_one(const struct sbn_cfg *cfg, int sock, bool answer)
{
	struct sb_box *b;
	struct sb_error e = {0};
	/* Unless sandbench waits for this one, make it (and its child) in the background. */
	if (!answer)
		sbn_sched_background(0);
	int rc = sbn_box_make(cfg, "warm", -1, &b, sb_deadline_after(30), &e);
	sbn_sched_boost(0);
	if (rc == 0 && (rc = z_add(b)) < 0)
		sbn_box_free(b, sb_deadline_after(5), NULL);
	if (rc < 0 && answer) {
		/* Tell a waiting host why, instead of letting it time out. */
		struct sbn_msg m = {.type = SBN_MSG_ERR, .err = e.code ? e.code : -rc};
		sbn_send(sock, &m, e.msg, strlen(e.msg) + 1, NULL, 0);
	}
	return rc;
}

/* A box came back: reset it for the next loan, or release it. */
static void z_recycle(int i)
{
	struct sb_box *b = slots[i].b;
	char why[256];
	if (sbn_recycle_eligible(b) && sbn_box_reset(b, &slots[i].reuse, why, sizeof(why)) == 0) {
		uint64_t now = sb_proc_cpu_ns(b->init_pid, true);
		b->cpu_base_ns = now > slots[i].setup_cpu_ns ? now - slots[i].setup_cpu_ns : 0;
		slots[i].state = Z_READY;
		return;
	}
	drop(i);
	sbn_box_free(b, sb_deadline_after(5), NULL);
}

static void z_release_id(const char *id)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].state == Z_LENT && strcmp(slots[i].b->id, id) == 0) {
			slots[i].state = Z_DIRTY;
			return;
		}
}

static void z_cleanup(void)
{
	/* Kill them all first so they die in parallel, then release each. */
	for (int i = 0; i < nslots; i++)
		syscall(SYS_pidfd_send_signal, slots[i].b->pidfd, SIGKILL, NULL, 0);
	for (int i = 0; i < nslots; i++) {
		sbn_reuse_close(&slots[i].reuse);
		sbn_box_free_now(slots[i].b, sb_deadline_after(5), NULL);
	}
	nslots = 0;
	sbn_reap_poll(sb_deadline_after(10));
}

/* Read every message waiting; false when sandbench is gone. */
static bool z_read(int sock, int *pending)
{
	for (;;) {
		char buf[sizeof(struct sbn_msg) + 64];
		ssize_t r;
		do
			r = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return errno == EAGAIN;
		if (r == 0)
			return false;
		if (r < (ssize_t)sizeof(struct sbn_msg))
			continue;
		struct sbn_msg m;
		memcpy(&m, buf, sizeof(m));
		if (m.type == ZMSG_TAKE) {
			(*pending)++;
		} else if (m.type == ZMSG_RELEASE && (size_t)r > sizeof(m)) {
			buf[r - 1] = '\0';
			z_release_id(buf + sizeof(m));
		}
	}
}

static _Noreturn void zygote_main(int sock, const struct sbn_cfg *cfg)
{
	sbn_prctl(PR_SET_NAME, (unsigned long)SBN_ZYGOTE_COMM);
	/* Our own group: a terminal ^C goes to sandbench, which then closes our socket. */
	setpgid(0, 0);
	sbn_owner_host = getppid();
	sbn_reap_forget();
	sbn_birth_forget();
	/* Without a private mount namespace boxes are still made, just never reset. */
	sbn_recycle_init();
	int target = cfg->pool < 1 ? 1 : cfg->pool > 64 ? 64 : (int)cfg->pool;
	int pending = 0;
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sbn_reap_poll(0);
		int ready = count(Z_READY), dirty = count(Z_DIRTY);
		bool idle = !pending && !dirty && ready >= target;
		struct pollfd pf = {.fd = sock, .events = POLLIN};
		if (poll(&pf, 1, idle ? 100 : 0) > 0 && !z_read(sock, &pending))
			break; /* sandbench closed or died */
		ready = count(Z_READY);
		int i;
		if (pending && (i = find(Z_READY)) >= 0) {
			if (z_hand_over(sock, i) < 0)
				break;
			pending--;
			continue;
		}
		/* Work ahead (resets, making boxes nobody waits for) must not take the CPU from the
		 * commands running in boxes: on two cores, a reset running at normal priority right
		 * when a command starts in another box slows that exec by half. It runs SCHED_IDLE
		 * (a high nice value would still keep the CPU for a time slice when a command's
		 * process wakes up; an idle task never does); answering sandbench does not. */
		if ((i = find(Z_DIRTY)) >= 0) {
			if (!pending)
				sbn_sched_background(0);
			z_recycle(i);
			sbn_sched_boost(0);
			continue;
		}
		if (ready < target || pending) {
			if (z_fill_one(cfg, sock, pending > 0) < 0 && pending) {
				pending--; /* answered with the error */
				usleep(10000);
			}
		}
	}
	z_cleanup();
	_exit(0);
}

/* ---- in sandbench ---- */

void sb_native_shutdown(void)
{
	sbn_zygote_stop();
	sbn_reap_poll(sb_deadline_after(10));
}

static void zygote_stop_locked(void);

void sbn_zygote_stop(void)
{
	pthread_mutex_lock(&zlock);
	zygote_stop_locked();
	pthread_mutex_unlock(&zlock);
}

static void zygote_stop_locked(void)
{
	if (zyg.pid <= 0 || zyg.owner != getpid())
		return;
	/* Its cleanup is waited for: at normal priority. */
	sbn_sched_boost(zyg.pid);
	close(zyg.sock);
	zyg.sock = -1;
	zyg.asked = 0;
	/* The zygote releases its boxes before it exits; give it time, then force. */
	struct pollfd pf = {.fd = zyg.pidfd, .events = POLLIN};
	if (zyg.pidfd < 0 || poll(&pf, 1, 15000) <= 0)
		kill(zyg.pid, SIGKILL);
	int st;
	while (waitpid(zyg.pid, &st, 0) < 0 && errno == EINTR)
		;
	if (zyg.pidfd >= 0)
		close(zyg.pidfd);
	zyg.pidfd = -1;
	/* Killed before it could clean (or by sandbench's own reaper): clean after it. */
	sbn_marker_release_owner(zyg.pid);
	zyg.pid = 0;
}

static void at_exit_stop(void)
{
	sbn_zygote_stop();
}

static int zygote_start(const struct sbn_cfg *cfg, struct sb_error *err)
{
	int rc = sbn_seccomp_prepare(err);
	if (rc < 0)
		return rc;
	/* Detected here, before the fork, so the zygote does not probe again (only when used). */
	if (cfg->mem_limit || cfg->pids_limit || cfg->cpus > 0 || cfg->cgroups)
		sbn_cg_layout();
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return sb_error_set(err, errno, "socketpair: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sp[0]);
		close(sp[1]);
		return sb_error_set(err, e, "fork zygote: %s", strerror(e));
	}
	if (pid == 0) {
		close(sp[0]);
		/* No parent-death signal: when sandbench dies the socket closes and the zygote cleans up. */
		zygote_main(sp[1], cfg);
	}
	close(sp[1]);
	zyg.pid = pid;
	zyg.owner = getpid();
	zyg.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	zyg.sock = sp[0];
	zyg.cfg = *cfg;
	zyg.asked = 0;
	if (!zyg.atexit_done) {
		atexit(at_exit_stop);
		zyg.atexit_done = true;
	}
	return 0;
}

static int ask(void)
{
	struct sbn_msg m = {.type = ZMSG_TAKE};
	int rc = sbn_send(zyg.sock, &m, NULL, 0, NULL, 0);
	if (rc == 0)
		zyg.asked++;
	return rc;
}

static int take_locked(const struct sbn_cfg *cfg, const char *name, struct sb_box **out, int64_t deadline_ns,
		       struct sb_error *err);

int sbn_zygote_take(const struct sbn_cfg *cfg, const char *name, struct sb_box **out, int64_t deadline_ns,
		    struct sb_error *err)
{
	pthread_mutex_lock(&zlock);
	int rc = take_locked(cfg, name, out, deadline_ns, err);
	pthread_mutex_unlock(&zlock);
	return rc;
}

static int take_locked(const struct sbn_cfg *cfg, const char *name, struct sb_box **out, int64_t deadline_ns,
		       struct sb_error *err)
{
	*out = NULL;
	if (zyg.pid > 0 && zyg.owner != getpid()) {
		/* A fork of the zygote's owner: that zygote is not ours to use. */
		close(zyg.sock);
		if (zyg.pidfd >= 0)
			close(zyg.pidfd);
		zyg.pid = 0;
		zyg.pidfd = zyg.sock = -1;
	}
	if (zyg.pid > 0 && memcmp(&zyg.cfg, cfg, sizeof(*cfg)) != 0)
		sbn_zygote_stop();
	int rc;
	if (zyg.pid <= 0 && (rc = zygote_start(cfg, err)) < 0)
		return rc;
	if (zyg.asked == 0 && (rc = ask()) < 0) {
		sbn_zygote_stop();
		return sb_error_set(err, -rc, "native: the zygote is gone: %s", strerror(-rc));
	}
	static char buf[sizeof(struct sbn_msg) + sizeof(struct zbox) + 16]; /* under zlock */
	int fds[3] = {-1, -1, -1}, nfds = 3;
	/* No box waiting in the socket: whatever the zygote is doing in the background is ours to
	 * wait for now, at normal priority (it goes back to the background by itself). */
	struct pollfd pf0 = {.fd = zyg.sock, .events = POLLIN};
	if (poll(&pf0, 1, 0) == 0)
		sbn_sched_boost(zyg.pid);
	for (;;) {
		struct pollfd pf = {.fd = zyg.sock, .events = POLLIN};
		int left = sb_deadline_left_ms(deadline_ns);
		int n = poll(&pf, 1, left < 0 || left > 100 ? 100 : left);
		if (n > 0)
			break;
		if (sb_interrupted())
			return sb_error_set(err, EINTR, "native: interrupted waiting for a warm box");
		if (sb_deadline_passed(deadline_ns)) {
			/* The answer may still come: restart rather than mismatch the next request. */
			sbn_zygote_stop();
			return sb_error_set(err, ETIMEDOUT, "native: timed out waiting for a warm box");
		}
	}
	ssize_t r = sbn_recv(zyg.sock, buf, sizeof(buf), fds, &nfds);
	if (r < (ssize_t)sizeof(struct sbn_msg)) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		sbn_zygote_stop();
		return sb_error_set(err, ECONNRESET, "native: the zygote died");
	}
	zyg.asked--;
	struct sbn_msg m;
	memcpy(&m, buf, sizeof(m));
	if (m.type == SBN_MSG_ERR) {
		buf[r - 1] = '\0';
		return sb_error_set(err, m.err ? m.err : EIO, "native: warm box: %s", buf + sizeof(m));
	}
	struct zbox zb;
	if (m.type != ZMSG_BOX || (size_t)r < sizeof(m) + offsetof(struct zbox, cg) || nfds < 2) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return sb_error_set(err, EPROTO, "native: bad answer from the zygote");
	}
	memset(&zb, 0, sizeof(zb));
	memcpy(&zb, buf + sizeof(m), (size_t)r - sizeof(m) < sizeof(zb) ? (size_t)r - sizeof(m) : sizeof(zb));
	struct sb_box *box = calloc(1, sizeof(*box));
	if (!box) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	snprintf(box->name, sizeof(box->name), "%s", name ? name : "box");
	snprintf(box->id, sizeof(box->id), "%s", zb.id);
	box->cfg = zb.cfg;
	box->init_pid = zb.init_pid;
	box->ctl = fds[0];
	box->pidfd = fds[1];
	box->upper_fd = nfds > 2 ? fds[2] : -1;
	box->our_child = false;
	box->marker = zb.marker != 0;
	box->zygote = zyg.pid;
	box->uses = zb.uses;
	box->cpu_base_ns = zb.cpu_base_ns;
	box->cg = zb.cg;
	box->net = zb.net;
	/* The next warm create then finds its box already waiting in the socket. */
	ask();
	*out = box;
	return 0;
}

int sbn_zygote_release(struct sb_box *box)
{
	pthread_mutex_lock(&zlock);
	struct sbn_msg m = {.type = ZMSG_RELEASE};
	bool ours = box->zygote > 0 && box->zygote == zyg.pid && zyg.sock >= 0;
	bool sent = ours && sbn_send(zyg.sock, &m, box->id, strlen(box->id) + 1, NULL, 0) == 0;
	pthread_mutex_unlock(&zlock);
	if (!sent)
		return -ESRCH;
	if (box->ctl >= 0)
		close(box->ctl);
	if (box->pidfd >= 0)
		close(box->pidfd);
	if (box->upper_fd >= 0)
		close(box->upper_fd);
	free(box);
	return 0;
}
