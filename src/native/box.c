/* Making and releasing a box (the cold path; the zygote runs the same code ahead of time).
 *
 * Host                                   Child (clone3: new pid namespace)
 *  marker (only with cgroups or veth),
 *  cgroup dirs
 *  clone3 ------------------------------> new mount, uts, ipc namespaces; scratch tmpfs, upper/work
 *  new netns + lo up (sb_netns_new)       [clone: <- SCRATCH (upper fd); host copies; sends GO]
 *  attach cgroups, veth                    overlay root, /proc, /dev, pivot_root, hostname,
 *                                          cgroup ns (no cgroups), close host fds, bounding set,
 *                                          no_new_privs, the main seccomp filter
 *                          --- GO ------>  (netns fd) setns net, cgroup ns (cgroups), eth0,
 *                                          drop capabilities, the setns/unshare filter
 *                          <- READY ----  (upper fd) init loop (init.c)
 * The two dearest steps, the network namespace (host) and the mounts (child), run side by side on
 * the two cores, and the child does everything that does not need the host before waiting for
 * GO, so little is left after it. A failure on either side is reported (ERR carries the child's
 * reason) and everything made so far is released before returning.
 * Unprivileged (userns.c), clone3 also makes a user namespace; the host writes its id maps and
 * sends MAPPED, and the child makes its network namespace itself (GO then carries no fd). */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
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
#include "core/util.h"
#include "native/native_int.h"

struct sb_veth_range sbn_veth_range = SB_VETH_RANGE(SBN_IF_PREFIX, 213);

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

void sbn_new_id(char out[40])
{
	static atomic_uint counter;
	unsigned r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (unsigned)sb_now_ns();
	snprintf(out, 40, "%d-%u-%04x", (int)getpid(), atomic_fetch_add(&counter, 1), r & 0xffff);
}

/* Child side: report and die. */
static _Noreturn void child_fail(int ctl, int e, const char *why)
{
	struct sbn_msg m = {.type = SBN_MSG_ERR, .err = e > 0 ? e : EIO};
	sbn_send(ctl, &m, why, strlen(why) + 1, NULL, 0);
	_exit(1);
}

/* Child: wait for GO (cgroups attached, network ready); returns the netns fd and fills net. */
static int child_wait_go(int ctl, struct sb_veth *net)
{
	char buf[1024];
	int fds[1] = {-1}, nfds = 1;
	ssize_t n = sbn_recv(ctl, buf, sizeof(buf), fds, &nfds);
	/* Unprivileged, the box made its network namespace itself: GO carries none. */
	if (n < (ssize_t)(sizeof(struct sbn_msg) + sizeof(struct sb_veth)) || nfds != (sbn_unpriv() ? 0 : 1))
		_exit(1); /* the host went away or gave up */
	memcpy(net, buf + sizeof(struct sbn_msg), sizeof(*net));
	return nfds ? fds[0] : -1;
}

static int why_errno(char *why, size_t wlen, const char *what)
{
	int e = errno;
	snprintf(why, wlen, "%s: %s", what, strerror(e));
	return -e;
}

/* Child: the steps that do not depend on the host. Everything here overlaps with the host making
 * the network namespace; what is left for after GO is short. */
static int child_prepare(const struct sbn_child_args *a, int *ctl, int *upper, int *netns, struct sb_veth *net,
			 char *why, size_t wlen)
{
	/* Any directory will do as the scratch mount point: the mount is only in our namespace. */
	const char *scratch = sbn_run_dir();
	if (sbn_unpriv()) {
		/* In a new user namespace, ids unmapped until the host wrote the maps: wait for that,
		 * then make every other namespace here (owned by ours), network included. */
		char mb[sizeof(struct sbn_msg) + 64];
		if (sbn_recv(*ctl, mb, sizeof(mb), NULL, NULL) < (ssize_t)sizeof(struct sbn_msg))
			_exit(1);
		if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) < 0)
			return why_errno(why, wlen, "unshare mount, uts, ipc, net namespaces in the user namespace");
		int lrc = sb_net_lo_up();
		if (lrc < 0) {
			errno = -lrc;
			return why_errno(why, wlen, "bringing lo up");
		}
	}
	/* The pid namespace came with clone3; the rest is made here, so clone3 returns to the host
	 * (and its network namespace work) sooner. */
	else if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
		return why_errno(why, wlen, "unshare mount, uts, ipc namespaces");
	int rc = sbn_mount_scratch(&a->cfg, a->id, scratch, upper, why, wlen);
	if (rc < 0)
		return rc;
	/* A clone fills the upper layer before the overlay is mounted on it. */
	if (a->copy_first) {
		struct sbn_msg m = {.type = SBN_MSG_SCRATCH};
		if (sbn_send(*ctl, &m, NULL, 0, upper, *upper >= 0 ? 1 : 0) < 0)
			_exit(1);
		*netns = child_wait_go(*ctl, net);
	}
	if ((rc = sbn_mount_root(&a->cfg, scratch, why, wlen)) < 0)
		return rc;
	if (sethostname("sandbench", 9) < 0)
		return why_errno(why, wlen, "sethostname");
	/* The cgroup namespace must start at the box's own cgroup: after the host attached it (GO)
	 * when there is one, else now. */
	if (!a->cgroups && unshare(CLONE_NEWCGROUP) < 0)
		return why_errno(why, wlen, "unshare cgroup namespace");
	/* Nothing of the host may stay reachable through an inherited descriptor; close-on-exec so
	 * that no command in the box inherits the control socket. The upper dir's fd goes to the host
	 * with READY. */
	int hi[3] = {*ctl, *upper, *netns}; /* moved out of the way first: any may sit on 3-5 */
	for (int i = 0; i < 3; i++)
		if (hi[i] >= 0 && (hi[i] = fcntl(hi[i], F_DUPFD_CLOEXEC, 64)) < 0)
			return why_errno(why, wlen, "dup");
	unsigned first = 3;
	int *slot[3] = {ctl, upper, netns};
	for (int i = 0; i < 3; i++) {
		if (hi[i] < 0)
			continue;
		if (dup3(hi[i], (int)first, O_CLOEXEC) < 0)
			return why_errno(why, wlen, "dup");
		*slot[i] = (int)first++;
	}
	if (syscall(SYS_close_range, first, ~0u, 0u) < 0)
		for (unsigned fd = first; fd < 1024; fd++)
			close((int)fd);
	int dn = open("/dev/null", O_RDWR);
	if (dn >= 0) {
		dup2(dn, 0);
		dup2(dn, 1);
		dup2(dn, 2);
		if (dn > 2)
			close(dn);
	}
	/* Page faults init's first command would take, taken now instead. */
	sbn_init_prefault();
	if ((rc = sbn_lockdown_early()) < 0) {
		errno = -rc;
		return why_errno(why, wlen, "lockdown (bounding set, no_new_privs, seccomp)");
	}
	return 0;
}

_Noreturn void sbn_child_main(const struct sbn_child_args *a, int ctl, pid_t parent)
{
	char why[512];
	/* The parent-death signal follows the thread that made us, not the process: from another
	 * thread (a burst's launcher, which exits once its box is up) it would kill a live box. There
	 * the control socket is the tie: init exits when sandbench's end closes (init.c). The birth
	 * helper (birth.c) is single-threaded: its boxes always get it. (A parent that died before
	 * this cannot be told apart: getppid() is 0 in a new pid namespace; the socket still ties.) */
	if (parent > 0)
		sbn_prctl(PR_SET_PDEATHSIG, SIGKILL);
	sbn_prctl(PR_SET_NAME, (unsigned long)SBN_INIT_COMM);
	/* No handler and nothing ignored: init's spawns then need no per-signal work (init.c), and as
	 * the namespace's init it ignores what it does not handle anyway. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < _NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	int upper = -1, netns = -1;
	struct sb_veth net;
	int rc = child_prepare(a, &ctl, &upper, &netns, &net, why, sizeof(why));
	if (rc < 0)
		child_fail(ctl, -rc, why);
	if (!a->copy_first) /* a clone's child had GO before its overlay */
		netns = child_wait_go(ctl, &net);
	if (netns >= 0) {
		if (setns(netns, CLONE_NEWNET) < 0)
			child_fail(ctl, errno, "joining the box's network namespace");
		close(netns);
	}
	if (a->cgroups && unshare(CLONE_NEWCGROUP) < 0)
		child_fail(ctl, errno, "unshare cgroup namespace");
	if (net.slot >= 0 && (rc = sb_veth_box_setup(&net)) < 0)
		child_fail(ctl, -rc, "configuring eth0");
	/* A zygote's box leaves the zygote's background scheduling behind (it needs CAP_SYS_NICE to
	 * leave SCHED_IDLE: now, before the capabilities go). */
	if (sbn_owner_host > 0)
		sbn_sched_boost(0);
	if ((rc = sbn_lockdown_late()) < 0)
		child_fail(ctl, -rc, "lockdown (capabilities, seccomp)");
	struct sbn_msg m = {.type = SBN_MSG_READY};
	if (sbn_send(ctl, &m, NULL, 0, &upper, upper >= 0 ? 1 : 0) < 0)
		_exit(1);
	if (upper >= 0)
		close(upper);
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

/* Boxes being made right now in this process (from several threads in a burst). */
static atomic_int creating;

static int box_make(const struct sbn_cfg *cfg, const char *name, int src_upper, struct sb_box **out,
		    int64_t deadline_ns, struct sb_error *err);

int sbn_box_make(const struct sbn_cfg *cfg, const char *name, int src_upper, struct sb_box **out,
		 int64_t deadline_ns, struct sb_error *err)
{
	atomic_fetch_add(&creating, 1);
	int rc = box_make(cfg, name, src_upper, out, deadline_ns, err);
	atomic_fetch_sub(&creating, 1);
	return rc;
}

static int box_make(const struct sbn_cfg *cfg, const char *name, int src_upper, struct sb_box **out,
		    int64_t deadline_ns, struct sb_error *err)
{
	*out = NULL;
	int rc = sbn_seccomp_prepare(err);
	if (rc < 0)
		return rc;
	/* Boxes destroyed earlier whose init is gone by now: reap them and drop their markers. */
	sbn_reap_poll(0);
	if (src_upper >= 0 && cfg->rootfs_mode != SBN_ROOTFS_OVERLAY)
		return sb_error_set(err, ENOTSUP, "clone needs rootfs_mode=overlay");
	struct sb_box *box = calloc(1, sizeof(*box));
	if (!box)
		return sb_error_set(err, ENOMEM, "out of memory");
	box->cfg = *cfg;
	box->ctl = box->pidfd = box->upper_fd = -1;
	box->net.slot = -1;
	box->our_child = true;
	snprintf(box->name, sizeof(box->name), "%s", name ? name : "box");
	sbn_new_id(box->id);
	int netns = -1;
	/* In the zygote, sandbench is an owner too: the box is a leftover only when both are dead. */
	pid_t owners[2] = {getpid(), sbn_owner_host};
	size_t nown = sbn_owner_host > 0 ? 2 : 1;
	if ((rc = sbn_cg_plan(cfg, box->id, &box->cg, err)) < 0)
		goto fail;
	/* Only what outlives the box's processes on the host needs a marker (marker.c): a layer
	 * directory on a host disk (layer.c) too. */
	bool host_objects = cfg->net == SBN_NET_VETH || cfg->layer == SBN_LAYER_DISK;
	for (int c = 0; c < SBN_CTRL_N; c++)
		host_objects |= box->cg.dir[c][0] != '\0';
	static atomic_bool run_dir;
	if (!atomic_load(&run_dir) && (rc = sbn_run_dir_make(err)) < 0)
		goto fail;
	atomic_store(&run_dir, true);
	if (host_objects) {
		box->marker = true; /* removed on failure too, whatever of it was written */
		if ((rc = sbn_marker_write(box->id, box->name, owners, nown, &box->cg, NULL, err)) < 0)
			goto fail;
	}
	if ((rc = sbn_cg_create(cfg, &box->cg, err)) < 0) {
		memset(&box->cg, 0, sizeof(box->cg));
		goto fail;
	}
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		rc = sb_error_set(err, errno, "socketpair: %s", strerror(errno));
		goto fail;
	}
	struct sbn_child_args *args = malloc(sizeof(*args));
	if (!args) {
		close(sp[0]);
		close(sp[1]);
		rc = sb_error_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	args->cfg = *cfg;
	snprintf(args->id, sizeof(args->id), "%s", box->id);
	args->copy_first = src_upper >= 0;
	args->cgroups = false;
	for (int c = 0; c < SBN_CTRL_N; c++)
		args->cgroups |= box->cg.dir[c][0] != '\0';
	box->ctl = sp[0];
	/* While other boxes are being made (a burst), from the birth helper (birth.c): a fork of
	 * that small single-threaded process instead of one of sandbench, whose threads would wait
	 * on its mmap_lock and take copy-on-write faults. The helper clones while we make the
	 * network namespace; its answer (pid and pidfd) is collected after that. */
	int reply = -1;
	pid_t pid = -1;
	int pidfd = -1;
	if (cfg->birth && sbn_birth_ask(args, sp[1], atomic_load(&creating) > 1, &reply) == 0) {
		box->our_child = false;
		close(sp[1]);
	} else {
		struct clone_args ca;
		memset(&ca, 0, sizeof(ca));
		ca.flags = CLONE_NEWPID | CLONE_PIDFD | (sbn_unpriv() ? CLONE_NEWUSER : 0);
		ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
		ca.exit_signal = SIGCHLD;
		pid_t self = getpid();
		bool main_thread = syscall(SYS_gettid) == self;
		/* Fork-like (no new stack): the child runs on a copy of this stack, as after fork(). */
		pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid == 0) {
			close(sp[0]);
			sbn_child_main(args, sp[1], main_thread ? self : 0);
		}
		close(sp[1]);
		free(args);
		args = NULL;
		if (pid < 0) {
			rc = sb_error_set(err, errno, "clone3 with new namespaces: %s", strerror(errno));
			goto fail;
		}
	}
	if (reply >= 0) {
		free(args);
		args = NULL;
		/* While the helper clones: the network namespace (unprivileged, the box makes its own,
		 * after its id maps, which need its pid first). */
		if (!sbn_unpriv() && (rc = sb_netns_new(&netns)) < 0) {
			close(reply);
			rc = sb_error_set(err, -rc, "creating the network namespace: %s", strerror(-rc));
			goto fail;
		}
		if ((rc = sbn_birth_answer(reply, &pid, &pidfd, deadline_ns, err)) < 0)
			goto fail;
	}
	box->init_pid = pid;
	box->pidfd = pidfd;
	if (sbn_unpriv()) {
		char why[256];
		struct sbn_msg mm = {.type = SBN_MSG_MAPPED};
		if ((rc = sbn_userns_map(pid, why, sizeof(why))) < 0) {
			rc = sb_error_set(err, -rc, "box %s: user namespace id maps: %s", box->name, why);
			goto fail;
		}
		if ((rc = sbn_send(box->ctl, &mm, NULL, 0, NULL, 0)) < 0) {
			rc = sb_error_set(err, -rc, "box %s: the box's init died during setup", box->name);
			goto fail;
		}
	}
	/* While the child mounts (unprivileged, it makes its own; from the helper, made already). */
	else if (netns < 0 && (rc = sb_netns_new(&netns)) < 0) {
		rc = sb_error_set(err, -rc, "creating the network namespace: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = sbn_cg_attach(&box->cg, pid, err)) < 0)
		goto fail;
	if (cfg->net == SBN_NET_VETH) {
		if ((rc = sb_veth_create(&sbn_veth_range, netns, &box->net, err)) < 0)
			goto fail;
		if ((rc = sbn_marker_write(box->id, box->name, owners, nown, &box->cg, box->net.host_if, err)) < 0)
			goto fail;
	}
	int fds[1] = {-1}, nfds = 1;
	if (src_upper >= 0) {
		if ((rc = expect(box, SBN_MSG_SCRATCH, fds, &nfds, deadline_ns, "preparing the writable layer", err)) < 0)
			goto fail;
		box->upper_fd = nfds ? fds[0] : -1;
		if (box->upper_fd < 0) {
			rc = sb_error_set(err, EPROTO, "box %s: no writable layer to copy into", box->name);
			goto fail;
		}
		if ((rc = sbn_copy_tree(src_upper, box->upper_fd, deadline_ns, err)) < 0) {
			sb_error_prefix(err, "copying the writable layer");
			goto fail;
		}
	}
	struct sbn_msg go = {.type = SBN_MSG_GO};
	if ((rc = sbn_send(box->ctl, &go, &box->net, sizeof(box->net), &netns, netns >= 0 ? 1 : 0)) < 0) {
		rc = sb_error_set(err, -rc, "box %s: the box's init died during setup", box->name);
		goto fail;
	}
	if (netns >= 0)
		close(netns);
	netns = -1;
	fds[0] = -1;
	nfds = 1;
	if ((rc = expect(box, SBN_MSG_READY, fds, &nfds, deadline_ns, "setting up", err)) < 0)
		goto fail;
	if (nfds && box->upper_fd < 0)
		box->upper_fd = fds[0];
	else if (nfds)
		close(fds[0]);
	*out = box;
	return 0;
fail:
	if (netns >= 0)
		close(netns);
	sbn_box_free_now(box, sb_deadline_after(5), NULL);
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

int sbn_box_free_now(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
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
	rc = sb_veth_delete(box->net.host_if);
	if (rc < 0 && !first)
		first = sb_error_set(err, -rc, "box %s: deleting veth %s: %s", box->name, box->net.host_if, strerror(-rc));
	if (box->cfg.layer == SBN_LAYER_DISK && (rc = sbn_layer_remove(box->id)) < 0 && !first)
		first = sb_error_set(err, -rc, "box %s: removing its layer directory: %s", box->name, strerror(-rc));
	if (box->marker && first == 0)
		sbn_marker_remove(box->id);
	free(box);
	return first;
}

int sbn_box_free(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	if (!box)
		return 0;
	/* A warm box goes back to its zygote, which resets or releases it. */
	if (box->zygote > 0 && sbn_zygote_release(box) == 0)
		return 0;
	/* Cgroups and a veth are host objects a caller may look for right after destroy: those go
	 * now. Otherwise what is left once init is dead is a zombie and a marker, and waiting for the
	 * kernel to tear the namespaces down (~0.3 ms and an RCU grace period) buys the caller
	 * nothing: kill now, finish later. */
	bool host_objects = box->net.slot >= 0 || box->net.host_if[0];
	for (int c = 0; c < SBN_CTRL_N && !host_objects; c++)
		host_objects = box->cg.dir[c][0] != '\0';
	if (!host_objects && box->pidfd >= 0 && !box->stopped && sbn_reap_defer(box) == 0)
		return 0;
	return sbn_box_free_now(box, deadline_ns, err);
}
