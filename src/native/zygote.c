/* Warm starts: a zygote process (forked from sandbench on the first warm create) keeps a pool of
 * boxes fully made ahead of time — namespaces, mounts, cgroups, network, lockdown — on the other
 * core, and hands one over on request by passing its control socket, pidfd and writable layer.
 * A warm create is then one round trip; exec and destroy work as for a cold box (destroy kills
 * through the pidfd and waits on it, since the zygote is the parent that reaps).
 *
 * The pool is made for one configuration; a request for another one restarts the zygote. When
 * sandbench exits or dies, the zygote sees its socket close and releases every box it made,
 * handed over or not, so a crash leaves nothing but what `doctor` finds by marker (both pids are
 * recorded as owners). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/signals.h"
#include "native/native.h"
#include "native/native_int.h"

enum { ZMSG_TAKE = 100, ZMSG_BOX };

/* What travels with a handed-over box besides its fds. */
struct zbox {
	char id[40];
	pid_t init_pid;
	struct sbn_cfg cfg;
	struct sbn_cg cg;
	struct sbn_net net;
	int has_upper;
};

static struct {
	pid_t pid;
	int sock;
	struct sbn_cfg cfg;
	bool atexit_done;
} zyg = {.sock = -1};

pid_t sbn_owner_host; /* set in the zygote: sandbench's pid, recorded as a second owner */

#define ZMAX 64

/* ---- inside the zygote ---- */

struct handed {
	char id[40];
	pid_t pid;
	struct sbn_cg cg;
	char host_if[16];
};

static struct sb_box *pool[ZMAX];
static int npool;
static struct handed handed[1024];
static int nhanded;

static void z_reap(void)
{
	pid_t p;
	while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
		for (int i = 0; i < nhanded; i++)
			if (handed[i].pid == p) {
				/* The host destroyed it (or is destroying it) and cleans up itself. */
				handed[i] = handed[--nhanded];
				break;
			}
}

static void z_cleanup(void)
{
	for (int i = 0; i < npool; i++)
		sbn_box_free(pool[i], sb_deadline_after(5), NULL);
	npool = 0;
	for (int i = 0; i < nhanded; i++) {
		kill(handed[i].pid, SIGKILL);
		sb_proc_wait_deadline(handed[i].pid, sb_deadline_after(5), &(int){0});
		sbn_cg_remove(&handed[i].cg);
		sbn_net_veth_delete(handed[i].host_if);
		sbn_marker_remove(handed[i].id);
	}
	nhanded = 0;
}

static int z_hand_over(int sock)
{
	struct sb_box *b = pool[--npool];
	struct zbox zb;
	memset(&zb, 0, sizeof(zb));
	snprintf(zb.id, sizeof(zb.id), "%s", b->id);
	zb.init_pid = b->init_pid;
	zb.cfg = b->cfg;
	zb.cg = b->cg;
	zb.net = b->net;
	zb.has_upper = b->upper_fd >= 0;
	int fds[3] = {b->ctl, b->pidfd, b->upper_fd};
	struct sbn_msg m = {.type = ZMSG_BOX};
	int rc = sbn_send(sock, &m, &zb, sizeof(zb), fds, zb.has_upper ? 3 : 2);
	if (rc < 0) {
		pool[npool++] = b;
		return rc;
	}
	if (nhanded < (int)(sizeof(handed) / sizeof(handed[0]))) {
		struct handed *h = &handed[nhanded++];
		snprintf(h->id, sizeof(h->id), "%s", b->id);
		h->pid = b->init_pid;
		h->cg = b->cg;
		snprintf(h->host_if, sizeof(h->host_if), "%s", b->net.host_if);
	}
	close(b->ctl);
	close(b->pidfd);
	if (b->upper_fd >= 0)
		close(b->upper_fd);
	free(b);
	return 0;
}

static int z_fill_one(const struct sbn_cfg *cfg, int sock)
{
	struct sb_box *b;
	struct sb_error e = {0};
	int rc = sbn_box_make(cfg, "warm", -1, &b, sb_deadline_after(30), &e);
	if (rc < 0) {
		/* Tell a waiting host why, instead of letting it time out. */
		struct sbn_msg m = {.type = SBN_MSG_ERR, .err = e.code ? e.code : -rc};
		sbn_send(sock, &m, e.msg, strlen(e.msg) + 1, NULL, 0);
		return rc;
	}
	pool[npool++] = b;
	return 0;
}

static _Noreturn void zygote_main(int sock, const struct sbn_cfg *cfg)
{
	prctl(PR_SET_NAME, SBN_ZYGOTE_COMM);
	/* Our own group: a terminal ^C goes to sandbench, which then closes our socket. */
	setpgid(0, 0);
	sbn_owner_host = getppid();
	unsigned target = cfg->pool < 1 ? 1 : cfg->pool > ZMAX ? ZMAX : cfg->pool;
	int pending = 0;
	for (;;) {
		z_reap();
		struct pollfd pf = {.fd = sock, .events = POLLIN};
		bool idle = pending == 0 && (unsigned)npool >= target;
		int n = poll(&pf, 1, idle ? 100 : 0);
		if (n > 0) {
			char buf[256];
			ssize_t r = sbn_recv(sock, buf, sizeof(buf), NULL, NULL);
			if (r <= 0 && r != -EAGAIN)
				break; /* sandbench closed or died */
			if (r >= (ssize_t)sizeof(struct sbn_msg))
				pending++;
		}
		if (pending && npool > 0) {
			if (z_hand_over(sock) < 0)
				break;
			pending--;
			continue;
		}
		if ((unsigned)npool < target || pending) {
			if (z_fill_one(cfg, sock) < 0 && pending) {
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
}

void sbn_zygote_stop(void)
{
	if (zyg.pid <= 0)
		return;
	close(zyg.sock);
	zyg.sock = -1;
	int st;
	/* The zygote releases its boxes before it exits; give it time, then force. */
	sb_proc_wait_deadline(zyg.pid, sb_deadline_after(15), &st);
	zyg.pid = 0;
}

static void at_exit_stop(void)
{
	/* Only in the process that started the zygote, not in its forks. */
	if (zyg.pid > 0 && getpid() != zyg.pid)
		sbn_zygote_stop();
}

static int zygote_start(const struct sbn_cfg *cfg, struct sb_error *err)
{
	int rc = sbn_seccomp_prepare(err);
	if (rc < 0)
		return rc;
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
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		zygote_main(sp[1], cfg);
	}
	close(sp[1]);
	zyg.pid = pid;
	zyg.sock = sp[0];
	zyg.cfg = *cfg;
	if (!zyg.atexit_done) {
		atexit(at_exit_stop);
		zyg.atexit_done = true;
	}
	return 0;
}

int sbn_zygote_take(const struct sbn_cfg *cfg, const char *name, struct sb_box **out, int64_t deadline_ns,
		    struct sb_error *err)
{
	*out = NULL;
	if (zyg.pid > 0 && memcmp(&zyg.cfg, cfg, sizeof(*cfg)) != 0)
		sbn_zygote_stop();
	int rc;
	if (zyg.pid <= 0 && (rc = zygote_start(cfg, err)) < 0)
		return rc;
	struct sbn_msg m = {.type = ZMSG_TAKE};
	if ((rc = sbn_send(zyg.sock, &m, NULL, 0, NULL, 0)) < 0) {
		sbn_zygote_stop();
		return sb_error_set(err, -rc, "native: the zygote is gone: %s", strerror(-rc));
	}
	static char buf[sizeof(struct sbn_msg) + sizeof(struct zbox) + 16];
	int fds[3] = {-1, -1, -1}, nfds = 3;
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
	memcpy(&m, buf, sizeof(m));
	if (m.type == SBN_MSG_ERR) {
		buf[r - 1] = '\0';
		return sb_error_set(err, m.err ? m.err : EIO, "native: warm box: %s", buf + sizeof(m));
	}
	struct zbox zb;
	if (m.type != ZMSG_BOX || (size_t)r < sizeof(m) + sizeof(zb) || nfds < 2) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return sb_error_set(err, EPROTO, "native: bad answer from the zygote");
	}
	memcpy(&zb, buf + sizeof(m), sizeof(zb));
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
	box->marker = true;
	box->cg = zb.cg;
	box->net = zb.net;
	*out = box;
	return 0;
}
