/* Making and releasing a box (the cold path; the zygote runs the same code ahead of time).
 *
 * Host                                   Child (clone3: new mount, pid, uts, ipc, net namespaces)
 *  marker, cgroup dirs
 *  clone3 ------------------------------> scratch tmpfs on the marker dir, upper/work
 *                          <- SCRATCH --  (fd of upper, so the host can fill it for a clone)
 *  attach cgroups, veth, copy upper
 *                          --- GO ------>  overlay root, /proc, /dev, pivot_root, cgroup ns,
 *                                          hostname, lo (+eth0), close host fds, lockdown
 *                          <- READY ----  init loop (init.c)
 * A failure on either side is reported (ERR carries the child's reason) and everything made so far
 * is released before returning. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/signals.h"
#include "native/native_int.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

void sbn_new_id(char out[40])
{
	static unsigned counter;
	unsigned r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (unsigned)sb_now_ns();
	snprintf(out, 40, "%d-%u-%04x", (int)getpid(), counter++, r & 0xffff);
}

/* Child side: report and die. */
static _Noreturn void child_fail(int ctl, int e, const char *why)
{
	struct sbn_msg m = {.type = SBN_MSG_ERR, .err = e > 0 ? e : EIO};
	sbn_send(ctl, &m, why, strlen(why) + 1, NULL, 0);
	_exit(1);
}

static _Noreturn void child_main(const struct sb_box *box, int ctl)
{
	char why[512];
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, SBN_INIT_COMM);
	char scratch[PATH_MAX];
	snprintf(scratch, sizeof(scratch), "%s/%s", SBN_RUN_DIR, box->id);
	int upper = -1;
	int rc = sbn_mount_scratch(&box->cfg, scratch, &upper, why, sizeof(why));
	if (rc < 0)
		child_fail(ctl, -rc, why);
	struct sbn_msg m = {.type = SBN_MSG_SCRATCH};
	if (sbn_send(ctl, &m, NULL, 0, &upper, upper >= 0 ? 1 : 0) < 0)
		_exit(1);
	if (upper >= 0)
		close(upper);
	char buf[1024];
	ssize_t n = sbn_recv(ctl, buf, sizeof(buf), NULL, NULL);
	if (n < (ssize_t)(sizeof(struct sbn_msg) + sizeof(struct sbn_net)))
		_exit(1); /* the host went away or gave up */
	struct sbn_net net;
	memcpy(&net, buf + sizeof(struct sbn_msg), sizeof(net));
	if ((rc = sbn_mount_root(&box->cfg, scratch, why, sizeof(why))) < 0)
		child_fail(ctl, -rc, why);
	/* After the host put us in our cgroups: the namespace root is then the box's own cgroup. */
	if (unshare(CLONE_NEWCGROUP) < 0)
		child_fail(ctl, errno, "unshare cgroup namespace");
	if (sethostname("sandbench", 9) < 0)
		child_fail(ctl, errno, "sethostname");
	if ((rc = sbn_net_lo_up()) < 0)
		child_fail(ctl, -rc, "bringing lo up");
	if (net.slot >= 0 && (rc = sbn_net_box_setup(&net)) < 0)
		child_fail(ctl, -rc, "configuring eth0");
	/* Nothing of the host may stay reachable through an inherited descriptor. */
	if (dup2(ctl, 3) < 0)
		child_fail(ctl, errno, "dup2");
	ctl = 3;
	if (syscall(SYS_close_range, 4u, ~0u, 0u) < 0)
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
	int dn = open("/dev/null", O_RDWR);
	if (dn >= 0) {
		dup2(dn, 0);
		dup2(dn, 1);
		dup2(dn, 2);
		if (dn > 3)
			close(dn);
	}
	if ((rc = sbn_lockdown()) < 0)
		child_fail(ctl, -rc, "lockdown (capabilities, no_new_privs, seccomp)");
	m = (struct sbn_msg){.type = SBN_MSG_READY};
	if (sbn_send(ctl, &m, NULL, 0, NULL, 0) < 0)
		_exit(1);
	sbn_init_main(ctl);
}

/* Wait for one message from the child until the deadline. */
static int host_recv(struct sb_box *box, void *buf, size_t cap, int *fds, int *nfds, int64_t deadline_ns)
{
	for (;;) {
		int left = sb_deadline_left_ms(deadline_ns);
		struct pollfd pf = {.fd = box->ctl, .events = POLLIN};
		int n = poll(&pf, 1, left < 0 || left > 100 ? 100 : left);
		if (sb_interrupted())
			return -EINTR;
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (sb_deadline_passed(deadline_ns))
			return -ETIMEDOUT;
	}
	ssize_t r = sbn_recv(box->ctl, buf, cap, fds, nfds);
	if (r == 0)
		return -ECONNRESET;
	return r < 0 ? (int)r : (int)r;
}

static int expect(struct sb_box *box, uint32_t type, int *fds, int *nfds, int64_t deadline_ns,
		  const char *phase, struct sb_error *err)
{
	char buf[1024];
	int r = host_recv(box, buf, sizeof(buf) - 1, fds, nfds, deadline_ns);
	if (r < 0)
		return sb_error_set(err, -r, "box %s: %s: %s", box->name, phase,
				    r == -ECONNRESET ? "the box's init died" : strerror(-r));
	struct sbn_msg m;
	memcpy(&m, buf, sizeof(m));
	buf[r] = '\0';
	if (m.type == SBN_MSG_ERR)
		return sb_error_set(err, m.err ? m.err : EIO, "box %s: %s: %s: %s", box->name, phase,
				    buf + sizeof(m), strerror(m.err));
	if (m.type != type)
		return sb_error_set(err, EPROTO, "box %s: %s: unexpected message %u", box->name, phase, m.type);
	return 0;
}

int sbn_box_make(const struct sbn_cfg *cfg, const char *name, int src_upper, struct sb_box **out,
		 int64_t deadline_ns, struct sb_error *err)
{
	*out = NULL;
	int rc = sbn_seccomp_prepare(err);
	if (rc < 0)
		return rc;
	struct sb_box *box = calloc(1, sizeof(*box));
	if (!box)
		return sb_error_set(err, ENOMEM, "out of memory");
	box->cfg = *cfg;
	box->ctl = box->pidfd = box->upper_fd = -1;
	box->net.slot = -1;
	box->our_child = true;
	snprintf(box->name, sizeof(box->name), "%s", name ? name : "box");
	sbn_new_id(box->id);
	/* In the zygote, sandbench is an owner too: the box is a leftover only when both are dead. */
	pid_t owners[2] = {getpid(), sbn_owner_host};
	size_t nown = sbn_owner_host > 0 ? 2 : 1;
	if ((rc = sbn_cg_plan(cfg, box->id, &box->cg, err)) < 0)
		goto fail;
	if ((rc = sbn_marker_write(box->id, box->name, owners, nown, &box->cg, NULL, err)) < 0)
		goto fail;
	box->marker = true;
	if ((rc = sbn_cg_create(cfg, &box->cg, err)) < 0) {
		memset(&box->cg, 0, sizeof(box->cg));
		goto fail;
	}
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		rc = sb_error_set(err, errno, "socketpair: %s", strerror(errno));
		goto fail;
	}
	int pidfd = -1;
	struct clone_args ca;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_PIDFD;
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	ca.exit_signal = SIGCHLD;
	/* Fork-like (no new stack): the child runs on a copy of this stack, as after fork(). */
	pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		close(sp[0]);
		child_main(box, sp[1]);
	}
	close(sp[1]);
	box->ctl = sp[0];
	if (pid < 0) {
		rc = sb_error_set(err, errno, "clone3 with new namespaces: %s", strerror(errno));
		goto fail;
	}
	box->init_pid = pid;
	box->pidfd = pidfd;
	int fds[1] = {-1}, nfds = 1;
	if ((rc = expect(box, SBN_MSG_SCRATCH, fds, &nfds, deadline_ns, "preparing the writable layer", err)) < 0)
		goto fail;
	box->upper_fd = nfds ? fds[0] : -1;
	if ((rc = sbn_cg_attach(&box->cg, pid, err)) < 0)
		goto fail;
	if (cfg->net == SBN_NET_VETH) {
		if ((rc = sbn_net_veth_create(pid, &box->net, err)) < 0)
			goto fail;
		if ((rc = sbn_marker_write(box->id, box->name, owners, nown, &box->cg, box->net.host_if, err)) < 0)
			goto fail;
	}
	if (src_upper >= 0) {
		if (box->upper_fd < 0) {
			rc = sb_error_set(err, ENOTSUP, "clone needs rootfs_mode=overlay");
			goto fail;
		}
		if ((rc = sbn_copy_tree(src_upper, box->upper_fd, deadline_ns, err)) < 0) {
			sb_error_prefix(err, "copying the writable layer");
			goto fail;
		}
	}
	struct sbn_msg go = {.type = SBN_MSG_GO};
	if ((rc = sbn_send(box->ctl, &go, &box->net, sizeof(box->net), NULL, 0)) < 0) {
		rc = sb_error_set(err, -rc, "box %s: the box's init died during setup", box->name);
		goto fail;
	}
	if ((rc = expect(box, SBN_MSG_READY, NULL, NULL, deadline_ns, "setting up", err)) < 0)
		goto fail;
	*out = box;
	return 0;
fail:
	sbn_box_free(box, sb_deadline_after(5), NULL);
	return rc;
}

int sbn_box_kill(struct sb_box *box, int64_t deadline_ns)
{
	if (!box || box->init_pid <= 0)
		return 0;
	int rc = 0;
	/* SIGKILL to pid 1 of the box: the kernel kills every process of its pid namespace and init's
	 * exit completes only when they are all gone. */
	if (box->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, box->pidfd, SIGKILL, NULL, 0);
	else
		kill(box->init_pid, SIGKILL);
	/* The pidfd turns readable the moment init is gone: no sleep-and-poll granularity here. */
	if (deadline_ns == 0)
		deadline_ns = sb_deadline_after(10);
	if (box->pidfd >= 0) {
		for (;;) {
			struct pollfd pf = {.fd = box->pidfd, .events = POLLIN};
			int left = sb_deadline_left_ms(deadline_ns);
			int n = poll(&pf, 1, left < 0 || left > 100 ? 100 : left);
			if (n > 0)
				break;
			if (sb_deadline_passed(deadline_ns)) {
				rc = -ETIMEDOUT;
				break;
			}
		}
	}
	if (box->our_child) {
		int st;
		if (rc == 0) {
			while (waitpid(box->init_pid, &st, 0) < 0 && errno == EINTR)
				;
		} else {
			rc = sb_proc_wait_deadline(box->init_pid, sb_deadline_after(1), &st);
		}
		if (rc == -ECHILD)
			rc = 0; /* already reaped (the zygote reaps all its children) */
	}
	box->init_pid = 0;
	box->stopped = true;
	return rc;
}

int sbn_box_free(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	if (!box)
		return 0;
	int first = 0;
	int rc = sbn_box_kill(box, deadline_ns);
	if (rc < 0)
		first = sb_error_set(err, -rc, "box %s: init did not die", box->name);
	if (box->ctl >= 0)
		close(box->ctl);
	if (box->pidfd >= 0)
		close(box->pidfd);
	if (box->upper_fd >= 0)
		close(box->upper_fd);
	rc = sbn_cg_remove(&box->cg);
	if (rc < 0 && !first)
		first = sb_error_set(err, -rc, "box %s: removing its cgroups: %s", box->name, strerror(-rc));
	/* The host end dies with the box's netns too, but asynchronously; delete it now so the slot and
	 * the name are free when destroy returns. */
	rc = sbn_net_veth_delete(box->net.host_if);
	if (rc < 0 && !first)
		first = sb_error_set(err, -rc, "box %s: deleting veth %s: %s", box->name, box->net.host_if, strerror(-rc));
	if (box->marker && first == 0)
		sbn_marker_remove(box->id);
	free(box);
	return first;
}
