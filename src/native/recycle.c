/* Reset of a used warm box so the zygote can lend it again instead of making a new one.
 *
 * Making a box costs ~1.5 ms of CPU (a network namespace alone ~0.6 ms) and tearing one down
 * ~0.3 ms more; back-to-back warm starts use boxes faster than one core can make them. A reset
 * keeps the namespaces and init and replaces everything a command can have changed:
 *  - processes: init kills every other process of its pid namespace and reaps them (RESET);
 *  - files: a new scratch tmpfs (layer=disk: a new generation of the box's layer directory, the
 *    old one removed after the swap) with a new overlay over the rootfs becomes the root. init is
 *    locked down and cannot switch roots, but pivot_root, done by the zygote from inside the
 *    box's mount namespace, moves the root and cwd of every process whose root was the old one:
 *    init's included. /proc moves over, /dev is made anew (box processes are uid 0 and own it),
 *    and the old tree is detached, its tmpfs freed;
 *  - what the namespaces keep after their processes are gone is checked, not cleaned: SysV IPC
 *    objects and POSIX message queues (IPC namespace), sockets still in use or in TIME_WAIT
 *    (network namespace). Any of them and the box is released and remade (-EBUSY). The views
 *    read for that (/proc/<init>/net/sockstat and sockstat6, the /proc/sysvipc files opened
 *    from inside the box's IPC namespace, its mqueue filesystem) are opened once per box and
 *    read again at each reset.
 * What a box cannot change needs nothing (hostname, addresses, routes, limits: no capability).
 * What it could have changed but did not is kept: a writable layer whose upper dir is still empty
 * and a /dev whose entries are the very inodes, modes and sizes it was made with are as good as
 * new, and keeping them costs a directory read and a few stats instead of new mounts and an
 * unmount (whose RCU grace period interrupts every CPU): a box that ran commands which wrote no
 * file is reset in a fraction of the time.
 * Boxes with cgroups or a veth are not reset (their counters would carry over), nor tmpfs-mode
 * ones, nor a box reset SBN_RECYCLE_MAX times: pids in a reset box go on from where they were.
 *
 * The new layer is made in the zygote's own private mount namespace, cloned into a detached
 * mount (open_tree), and attached inside the box on top of its /dev: a mount point box processes
 * cannot remove or replace, unlike any directory of the writable layer. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/clock.h"
#include "native/native_int.h"

#define SBN_RECYCLE_MAX 100

static int own_mnt = -1, own_ipc = -1;

static int why_errno(char *why, size_t wlen, int e, const char *what)
{
	snprintf(why, wlen, "%s: %s", what, strerror(e));
	return -e;
}

int sbn_recycle_init(void)
{
	/* Private: the scratch mounts of resets must never show on the host. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	own_mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	own_ipc = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	return own_mnt < 0 || own_ipc < 0 ? -errno : 0;
}

bool sbn_recycle_eligible(const struct sb_box *box)
{
	if (own_mnt < 0 || own_ipc < 0 || box->stopped || box->init_pid <= 0 || box->ctl < 0)
		return false;
	/* A volume is host state a reset cannot vouch for: such boxes are remade. */
	if (box->cfg.rootfs_mode != SBN_ROOTFS_OVERLAY || box->net.slot >= 0 || box->uses >= SBN_RECYCLE_MAX ||
	    box->cfg.nvol > 0)
		return false;
	for (int c = 0; c < SBN_CTRL_N; c++)
		if (box->cg.dir[c][0])
			return false;
	return true;
}

/* RESET round trip with init: afterwards init is the only process of the box. */
static int reset_processes(struct sb_box *box, char *why, size_t wlen)
{
	struct sbn_msg m = {.type = SBN_MSG_RESET};
	int rc = sbn_send(box->ctl, &m, NULL, 0, NULL, 0);
	if (rc < 0)
		return why_errno(why, wlen, -rc, "asking init to reset");
	int64_t deadline = sb_deadline_after(2);
	for (;;) {
		struct pollfd pf = {.fd = box->ctl, .events = POLLIN};
		int left = sb_deadline_left_ms(deadline);
		if (poll(&pf, 1, left) == 0)
			return why_errno(why, wlen, ETIMEDOUT, "waiting for init's reset");
		char buf[sizeof(struct sbn_msg) + 64];
		ssize_t n = sbn_recv(box->ctl, buf, sizeof(buf), NULL, NULL);
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n < (ssize_t)sizeof(struct sbn_msg))
			return why_errno(why, wlen, n < 0 ? (int)-n : ESRCH, "init's reset");
		memcpy(&m, buf, sizeof(m));
		if (m.type == SBN_MSG_RESET_DONE)
			return 0;
	}
}

/* Read what is in a proc/seq file now (from its start). */
static ssize_t reread(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* 0 when the "inuse" and "tw" counts of every protocol line of a sockstat file are 0 ("alloc",
 * "mem" and "orphan" are host-wide). */
static int net_quiet(int fd, char *why, size_t wlen)
{
	char buf[1024];
	if (reread(fd, buf, sizeof(buf)) < 0)
		return why_errno(why, wlen, errno, "reading the box's sockstat");
	char *save = NULL, *prev = NULL;
	for (char *tok = strtok_r(buf, " \n", &save); tok; prev = tok, tok = strtok_r(NULL, " \n", &save)) {
		if (prev && (strcmp(prev, "inuse") == 0 || strcmp(prev, "tw") == 0) && strcmp(tok, "0") != 0) {
			snprintf(why, wlen, "sockets left in the network namespace (%s %s)", prev, tok);
			return -EBUSY;
		}
	}
	return 0;
}

/* Entries of a directory but . and ..; -1 on error. */
static int dir_entries(int dir)
{
	char buf[512];
	if (lseek(dir, 0, SEEK_SET) < 0)
		return -1;
	long n = syscall(SYS_getdents64, dir, buf, sizeof(buf));
	int count = 0;
	for (long off = 0; off < n;) {
		struct {
			uint64_t ino;
			int64_t off;
			unsigned short reclen;
			unsigned char type;
			char name[];
		} *d = (void *)(buf + off);
		if (strcmp(d->name, ".") && strcmp(d->name, ".."))
			count++;
		off += d->reclen;
	}
	return n < 0 ? -1 : count;
}

/* Anything in the box's IPC namespace: a SysV object is a line after the header of its
 * /proc/sysvipc file, a POSIX message queue an entry of its mqueue filesystem. */
static int ipc_quiet(const struct sbn_reuse *r, char *why, size_t wlen)
{
	int objects = 0;
	for (int w = SBN_W_SHM; w <= SBN_W_MSG; w++) {
		char buf[512];
		if (r->fd[w] < 0 || reread(r->fd[w], buf, sizeof(buf)) < 0)
			return why_errno(why, wlen, errno ? errno : EBADF, "reading the box's SysV IPC list");
		char *nl = strchr(buf, '\n');
		objects += nl && nl[1] != '\0';
	}
	int mq = dir_entries(r->fd[SBN_W_MQUEUE]);
	if (objects || mq != 0) {
		snprintf(why, wlen, "IPC objects left in the box (SysV: %s, message queues: %d)", objects ? "yes" : "no", mq);
		return -EBUSY;
	}
	return 0;
}

static const char *const dev_entries[SBN_DEVPRINT_N] = {
	"dev",        "dev/shm",     "dev/pts",  "dev/pts/ptmx", "dev/null",  "dev/zero",   "dev/full", "dev/random",
	"dev/urandom", "dev/tty",    "dev/ptmx", "dev/fd",       "dev/stdin", "dev/stdout", "dev/stderr",
};

/* Fills dev with what the box's /dev is now; false when some entry is missing. */
static bool devprint(pid_t pid, struct sbn_reuse *out)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/root", (int)pid);
	int root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return false;
	bool ok = true;
	for (int i = 0; i < SBN_DEVPRINT_N && ok; i++) {
		struct stat st;
		if (fstatat(root, dev_entries[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ok = false;
			break;
		}
		/* Directory sizes on tmpfs count their entries: any added or removed shows. */
		out->dev[i].ino = st.st_ino;
		out->dev[i].size = (uint64_t)st.st_size;
		out->dev[i].nlink = st.st_nlink;
		out->dev[i].rdev = st.st_rdev;
		out->dev[i].mode = st.st_mode;
		out->dev[i].uid = st.st_uid;
		out->dev[i].gid = st.st_gid;
	}
	close(root);
	return ok;
}

void sbn_reuse_init(struct sbn_reuse *r)
{
	memset(r, 0, sizeof(*r));
	for (int w = 0; w < SBN_W_N; w++)
		r->fd[w] = -1;
}

void sbn_reuse_close(struct sbn_reuse *r)
{
	for (int w = 0; w < SBN_W_N; w++)
		if (r->fd[w] >= 0)
			close(r->fd[w]);
	sbn_reuse_init(r);
}

void sbn_reuse_open(const struct sb_box *box, struct sbn_reuse *r)
{
	sbn_reuse_init(r);
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/net/sockstat", (int)box->init_pid);
	r->fd[SBN_W_SOCKSTAT] = open(p, O_RDONLY | O_CLOEXEC);
	snprintf(p, sizeof(p), "/proc/%d/net/sockstat6", (int)box->init_pid);
	r->fd[SBN_W_SOCKSTAT6] = open(p, O_RDONLY | O_CLOEXEC);
	/* /proc/sysvipc and a new mqueue mount show the IPC namespace of whoever opens them: open
	 * them once from inside the box's, keep them. */
	snprintf(p, sizeof(p), "/proc/%d/ns/ipc", (int)box->init_pid);
	int ns = open(p, O_RDONLY | O_CLOEXEC);
	if (ns >= 0 && setns(ns, CLONE_NEWIPC) == 0) {
		static const char *const sysv[] = {"/proc/sysvipc/shm", "/proc/sysvipc/sem", "/proc/sysvipc/msg"};
		for (int i = 0; i < 3; i++)
			r->fd[SBN_W_SHM + i] = open(sysv[i], O_RDONLY | O_CLOEXEC);
		int fs = fsopen("mqueue", FSOPEN_CLOEXEC), mnt = -1;
		if (fs >= 0 && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0 &&
		    (mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0)) >= 0)
			r->fd[SBN_W_MQUEUE] = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mnt >= 0)
			close(mnt);
		if (fs >= 0)
			close(fs);
		/* Stuck in the box's IPC namespace would be wrong for every box made after: give up. */
		if (setns(own_ipc, CLONE_NEWIPC) < 0)
			_exit(1);
	}
	if (ns >= 0)
		close(ns);
	r->valid = devprint(box->init_pid, r);
	for (int w = 0; w < SBN_W_N; w++)
		r->valid &= r->fd[w] >= 0;
}

/* The fresh layer in our own namespace, as a detached clone; *upper gets its upper dir. With
 * layer=disk it is generation gen of the box's layer directory (removed again on failure). */
static int new_layer(struct sb_box *box, unsigned gen, int *tree, int *upper, char *why, size_t wlen)
{
	const char *scratch = SBN_RUN_DIR; /* in our own mount namespace: hides nothing elsewhere */
	char p[PATH_MAX + 16];
	*tree = *upper = -1;
	int rc = sbn_mount_layer(&box->cfg, box->id, gen, scratch, why, wlen);
	static const char *const dirs[] = {"root", "work", "upper"};
	bool mounted = rc == 0;
	for (size_t i = 0; i < 3 && rc == 0; i++) {
		snprintf(p, sizeof(p), "%s/%s", scratch, dirs[i]);
		if (mkdir(p, 0755) < 0)
			rc = why_errno(why, wlen, errno, "mkdir in the new scratch layer");
	}
	if (rc == 0 && (*upper = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = why_errno(why, wlen, errno, "opening the new upper dir");
	snprintf(p, sizeof(p), "%s/root", scratch);
	if (rc == 0)
		rc = sbn_mount_overlay(&box->cfg, scratch, p, why, wlen);
	if (rc == 0 && (*tree = open_tree(AT_FDCWD, p, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)) < 0)
		rc = why_errno(why, wlen, errno, "cloning the new root");
	/* The clone and the overlay hold what they use; nothing needs to stay mounted here. */
	if (mounted)
		umount2(scratch, MNT_DETACH);
	if (rc < 0) {
		if (*upper >= 0)
			close(*upper);
		*upper = -1;
		if (box->cfg.layer == SBN_LAYER_DISK)
			sbn_layer_remove_gen(box->id, gen);
	}
	return rc;
}

/* Nothing written to the layer since it was made: its upper dir is still empty. */
static bool upper_empty(int upper)
{
	return upper >= 0 && dir_entries(upper) == 0;
}

/* Inside the box's mount namespace: put tree on /dev, give it /proc and a new /dev, pivot. */
static int swap_root(int tree, char *why, size_t wlen)
{
	if (move_mount(tree, "", AT_FDCWD, "/dev", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return why_errno(why, wlen, errno, "attaching the new root");
	int rc = sbn_mount_dev("/dev/dev", why, wlen);
	if (rc < 0)
		return rc;
	if (mount("/proc", "/dev/proc", NULL, MS_MOVE, NULL) < 0)
		return why_errno(why, wlen, errno, "moving /proc to the new root");
	if (chdir("/dev") < 0)
		return why_errno(why, wlen, errno, "chdir to the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return why_errno(why, wlen, errno, "pivot_root to the new root");
	if (umount2(".", MNT_DETACH) < 0)
		return why_errno(why, wlen, errno, "detaching the old root");
	return 0;
}

int sbn_box_reset(struct sb_box *box, struct sbn_reuse *r, char *why, size_t wlen)
{
	if (!r->valid) {
		snprintf(why, wlen, "no view of the box's namespaces to check");
		return -ENOTSUP;
	}
	int rc = reset_processes(box, why, wlen);
	if (rc == 0)
		rc = net_quiet(r->fd[SBN_W_SOCKSTAT], why, wlen);
	if (rc == 0)
		rc = net_quiet(r->fd[SBN_W_SOCKSTAT6], why, wlen);
	if (rc == 0)
		rc = ipc_quiet(r, why, wlen);
	if (rc < 0)
		return rc;
	if (upper_empty(box->upper_fd)) {
		/* Zeroed: the fingerprint is compared with memcmp, padding included (r's was zeroed
		 * by sbn_reuse_init). Garbage there made every box look touched. */
		struct sbn_reuse now;
		memset(&now, 0, sizeof(now));
		if (devprint(box->init_pid, &now) && memcmp(now.dev, r->dev, sizeof(now.dev)) == 0) {
			box->uses++;
			return 0;
		}
	}
	int tree, upper;
	unsigned gen = box->layer_gen + 1;
	if ((rc = new_layer(box, gen, &tree, &upper, why, wlen)) < 0)
		return rc;
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)box->init_pid);
	int mnt = open(p, O_RDONLY | O_CLOEXEC);
	if (mnt < 0 || setns(mnt, CLONE_NEWNS) < 0) {
		rc = why_errno(why, wlen, errno, "entering the box's mount namespace");
	} else {
		rc = swap_root(tree, why, wlen);
		/* Home again whatever happened; a box left half-reset is released by the caller. */
		if (setns(own_mnt, CLONE_NEWNS) < 0 && rc == 0)
			rc = why_errno(why, wlen, errno, "leaving the box's mount namespace");
		if (chdir("/") < 0 && rc == 0)
			rc = why_errno(why, wlen, errno, "chdir /");
	}
	if (mnt >= 0)
		close(mnt);
	close(tree);
	if (rc < 0) {
		close(upper);
		/* The box may be on either layer now: released by the caller, which removes both. */
		return rc;
	}
	if (box->upper_fd >= 0)
		close(box->upper_fd);
	box->upper_fd = upper;
	/* The old layer is detached from every namespace now; what it held on the disk goes. */
	if (box->cfg.layer == SBN_LAYER_DISK)
		sbn_layer_remove_gen(box->id, box->layer_gen);
	box->layer_gen = gen;
	box->uses++;
	if (!devprint(box->init_pid, r))
		r->valid = false;
	return 0;
}
