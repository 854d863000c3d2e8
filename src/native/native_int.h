/* Internals shared by the files of the native sandbox (src/native/) and its driver glue
 * (src/drivers/native.c). Not a public interface: see native.h for what other modules may call. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/cgfs.h"
#include "core/error.h"
#include "core/veth.h"

#define SBN_RUN_DIR "/run/sandbench/native"
#define SBN_CG_PREFIX "sandbench-native-"
#define SBN_IF_PREFIX "sbn"
#define SBN_INIT_COMM "sb-native-init"
#define SBN_ZYGOTE_COMM "sb-native-zyg"
#define SBN_BIRTH_COMM "sb-native-birth"

/* prctl() straight to the kernel. A box's init, the zygote and the birth helper are cloned from a
 * process with many threads (a burst's launchers). Under AddressSanitizer, libc's prctl is an
 * interceptor that takes the sanitizer's thread-registry lock for PR_SET_NAME; had another thread
 * held it at the clone, the child waited forever (1 box in 200-1600 hung in CI's density check). */
static inline int sbn_prctl(int op, unsigned long a2)
{
	return (int)syscall(SYS_prctl, op, a2, 0UL, 0UL, 0UL);
}

enum sbn_rootfs_mode { SBN_ROOTFS_OVERLAY = 0, SBN_ROOTFS_TMPFS = 1 };
enum sbn_net_mode { SBN_NET_NONE = 0, SBN_NET_VETH = 1 };
/* What the overlay's upper and work dirs lie on: a tmpfs private to the box, or a directory of a
 * host disk filesystem (layer.c). */
enum sbn_layer { SBN_LAYER_TMPFS = 0, SBN_LAYER_DISK = 1 };

#define SBN_MAX_VOLUMES 8
/* A host directory bind-mounted into the box (resolved host path, absolute box path). */
struct sbn_vol {
	char host[1024];
	char box[256];
	bool ro;
};

/* What one sandbox should look like; plain data so the zygote can receive it in one message. */
struct sbn_cfg {
	char rootfs[PATH_MAX];
	int rootfs_mode;
	int net;
	int layer;      /* enum sbn_layer (overlay mode only) */
	uint64_t mem_limit, pids_limit;
	double cpus;
	unsigned pool;  /* warm pool size (zygote) */
	bool io_stats;  /* join the blkio/io cgroup for io byte counters */
	bool cgroups;   /* make cgroups even without limits (accounting); limits always make them */
	bool birth;     /* cold boxes from the birth helper (birth.c), started on first use */
	unsigned nvol;
	struct sbn_vol vol[SBN_MAX_VOLUMES];
};

/* ---- cgroups (cgroup.c) ---- */
enum sbn_ctrl { SBN_CTRL_MEMORY, SBN_CTRL_PIDS, SBN_CTRL_CPU, SBN_CTRL_CPUACCT, SBN_CTRL_BLKIO, SBN_CTRL_N };

/* Where each controller lives on this host, detected once. */
struct sbn_cg_layout {
	bool probed;
	int kind;                         /* 1 = v1 only, 2 = v2 only, 3 = hybrid */
	char base[SBN_CTRL_N][PATH_MAX];  /* parent directory for new cgroups ("" = unavailable) */
	bool v2[SBN_CTRL_N];              /* this controller is driven through cgroup v2 files */
	bool writable[SBN_CTRL_N];        /* a child cgroup could be made and its limit written */
	char note[256];
};

/* The cgroups of one box: one directory per distinct hierarchy. */
struct sbn_cg {
	char dir[SBN_CTRL_N][PATH_MAX]; /* "" when that controller is not used */
};

const struct sbn_cg_layout *sbn_cg_layout(void);
/* Decide the box's cgroup directories (named SBN_CG_PREFIX + id) without making them, so they can
 * be recorded in the marker first. A limit asked for on a controller that is not writable is an
 * error (-ENOTSUP): nothing silently runs unlimited. */
int sbn_cg_plan(const struct sbn_cfg *cfg, const char *id, struct sbn_cg *cg, struct sb_error *err);
/* Make the planned cgroups and write cfg's limits; on failure removes what it made. */
int sbn_cg_create(const struct sbn_cfg *cfg, struct sbn_cg *cg, struct sb_error *err);
/* Move pid into every cgroup of the box. */
int sbn_cg_attach(const struct sbn_cg *cg, pid_t pid, struct sb_error *err);
/* Remove the box's cgroups (retrying briefly while the last tasks leave). Returns -errno of the
 * first failure, after trying all. */
int sbn_cg_remove(const struct sbn_cg *cg);
/* Host pids in the box's cgroup (the first hierarchy that has one). */
int sbn_cg_pids(const struct sbn_cg *cg, pid_t *pids, size_t cap, size_t *n);
struct sb_box_stats;
void sbn_cg_stats(const struct sbn_cg *cg, struct sb_box_stats *st);
/* What sbn_cg_stats reads in directory c (SB_CG_* kinds and version), 0 when it is unused or
 * the same directory as an earlier controller's. */
unsigned sbn_cg_dir_kinds(const struct sbn_cg *cg, int c);

/* ---- lockdown (lockdown.c): seccomp deny-list, capabilities, no_new_privs ---- */
/* Compile the deny-list once in the host (libseccomp allocates; the box child must not). */
int sbn_seccomp_prepare(struct sb_error *err);
/* Empties the calling process's capability bounding set (its current capabilities stay). */
int sbn_drop_bounding_set(void);
/* In the box, in two steps (async-signal-safe, -errno): early, while it still needs its
 * capabilities for setns/unshare/eth0: empty the bounding set, set no_new_privs and load the
 * deny-list but for setns and unshare; late: drop every capability (ambient, effective,
 * permitted, inheritable) and deny setns and unshare too. */
int sbn_lockdown_early(void);
int sbn_lockdown_late(void);
/* NULL-terminated names of the denied syscalls, for docs and tests. */
extern const char *const sbn_denied_syscalls[];

/* ---- mounts (mounts.c), all run inside the child's new mount namespace ---- */
/* Mount the scratch filesystem on `scratch` — a tmpfs, or with layer=disk a bind of the box's
 * first layer directory (sbn_layer_dir(id, 0), made here) — and make upper/work/root in it;
 * returns an fd of upper (O_DIRECTORY) in *upper_fd, or -1 in tmpfs mode. */
int sbn_mount_scratch(const struct sbn_cfg *cfg, const char *id, const char *scratch, int *upper_fd, char *why,
		      size_t wlen);
/* Mount what holds a writable layer on `scratch`: a fresh tmpfs, or (layer=disk) a bind of the
 * new directory sbn_layer_dir(id, gen). */
int sbn_mount_layer(const struct sbn_cfg *cfg, const char *id, unsigned gen, const char *scratch, char *why,
		    size_t wlen);
/* Build the root (overlay or read-only bind + tmpfs /tmp), /proc, /dev, then pivot_root into it
 * and detach the old root. */
int sbn_mount_root(const struct sbn_cfg *cfg, const char *scratch, char *why, size_t wlen);
/* The overlay of cfg->rootfs with scratch/upper and scratch/work on root, and the mount points
 * the box needs in it (proc, dev, tmp). */
int sbn_mount_overlay(const struct sbn_cfg *cfg, const char *scratch, const char *root, char *why, size_t wlen);
/* The box's minimal /dev on directory dev: tmpfs, the device nodes, a new devpts, the links. */
int sbn_mount_dev(const char *dev, char *why, size_t wlen);

/* ---- network (core/veth.c) ---- */
/* The native boxes' veths: sbn<slot>, 10.213.0.0/16. */
extern struct sb_veth_range sbn_veth_range;

/* ---- markers (marker.c) ---- */
/* Record a box's resources under SBN_RUN_DIR/<id> before they are made (again after each new
 * one: rewriting is cheap and keeps the record complete). */
int sbn_marker_write(const char *id, const char *name, const pid_t *owners, size_t nowners,
		     const struct sbn_cg *cg, const char *host_if, struct sb_error *err);
void sbn_marker_remove(const char *name);
/* Release what the boxes of a dead zygote left (their markers name it as first owner and this
 * process as the second): kill, remove cgroups, veth and marker. Returns how many. */
int sbn_marker_release_owner(pid_t zygote);

/* ---- writable layers on a host disk (layer.c) ---- */
/* With layer=disk a box's upper and work dirs live in sbn_layer_base()/<id>/<gen>/ (gen 0 at
 * birth, one more per warm reset that replaced the layer). The box's marker names its id, so
 * the directory of a crashed run is found (and removed) by `doctor` like its cgroups. */
const char *sbn_layer_base(void);
/* Make the base directory (once per process; unprivileged: a private directory of this user). */
int sbn_layer_base_make(struct sb_error *err);
/* sbn_layer_base()/<id>, or .../<id>/<gen> when gen >= 0; -ENAMETOOLONG when it does not fit. */
int sbn_layer_dir(const char *id, int gen, char *out, size_t len);
/* Remove a box's whole layer directory (every generation); 0 when there is none. */
int sbn_layer_remove(const char *id);
/* Remove one generation (the one a reset replaced). */
int sbn_layer_remove_gen(const char *id, unsigned gen);
/* The type of the filesystem fd lies on ("ext4", "tmpfs", "xfs", ... or "0x<magic>"). */
void sbn_fs_name(int fd, char *out, size_t len);

/* ---- unprivileged mode (userns.c) ---- */
/* sandbench runs as non-root: boxes get a user namespace (caller mapped to 0), no cgroups, no
 * veth, no warm zygote. Fixed for the process. */
bool sbn_unpriv(void);
/* Where markers go and where a box mounts its scratch tmpfs: SBN_RUN_DIR as root (or when
 * /run/sandbench is writable), else $XDG_RUNTIME_DIR/sandbench/native or /tmp/sandbench-UID/native. */
const char *sbn_run_dir(void);
/* Make sbn_run_dir() (unprivileged: refusing one that is not a private directory of this user). */
int sbn_run_dir_make(struct sb_error *err);
/* From the parent: setgroups "deny", then map the caller's euid/egid to 0 in pid's user namespace. */
int sbn_userns_map(pid_t pid, char *why, size_t wlen);
/* Really try what an unprivileged box needs (once per process, then the cached answer); 0 or
 * -errno with the exact reason in why. *overlay: overlayfs can be mounted in the user namespace. */
int sbn_userns_probe(char *why, size_t len, bool *overlay);

/* ---- the box ---- */
struct sb_box {
	char name[96];
	char id[40];          /* short unique id used in cgroup names */
	struct sbn_cfg cfg;
	pid_t init_pid;       /* host pid of the box's pid 1 */
	int pidfd;            /* of init */
	int ctl;              /* SEQPACKET control socket to init */
	int upper_fd;         /* the writable layer's upper dir (overlay mode), or -1 */
	unsigned layer_gen;   /* layer=disk: the generation of the layer in use (resets count up) */
	bool our_child;       /* init is our child (cold, cloned directly); else the birth helper's or the zygote's */
	bool stopped;
	bool marker;
	pid_t zygote;         /* warm: the zygote that lent the box (it takes it back on destroy) */
	unsigned uses;        /* warm: how many times the box was lent before (reset in between) */
	uint64_t cpu_base_ns; /* CPU time of earlier uses, left out of stats */
	struct sbn_cg cg;
	struct sb_veth net;
	struct sbn_stat_files *_Atomic stat_files; /* stats.c: opened by the first stats read, or NULL */
};

/* Create a box (cold path): marker, cgroups, namespaces, mounts, network, lockdown. When
 * src_upper >= 0 the new writable layer starts as a copy of that directory (clone). */
int sbn_box_make(const struct sbn_cfg *cfg, const char *name, int src_upper, struct sb_box **out,
		 int64_t deadline_ns, struct sb_error *err);
/* Kill the box's processes and wait for them (bounded). */
int sbn_box_kill(struct sb_box *box, int64_t deadline_ns);
/* Release everything and free; reports the first failure in err. box may be NULL. A box whose
 * only host-side trace is its marker (no cgroup, no veth) is handed to the deferred reaper: it is
 * killed now, and reaped and unmarked later (reap.c). */
int sbn_box_free(struct sb_box *box, int64_t deadline_ns, struct sb_error *err);
/* Release everything now and wait for it; the synchronous half of sbn_box_free. */
int sbn_box_free_now(struct sb_box *box, int64_t deadline_ns, struct sb_error *err);

/* What a box's first process needs to know to make the box (plain data: the birth helper gets
 * it in one message). */
struct sbn_child_args {
	struct sbn_cfg cfg;
	char id[40];     /* the box's id (names its layer directory with layer=disk) */
	bool cgroups;    /* the host attaches cgroups before GO: the cgroup namespace waits for that */
	bool copy_first; /* a clone: hand the host the upper dir and wait before the overlay */
};
/* The box's first process, on the control socket ctl. parent > 0: the process that cloned it,
 * single-threaded (the birth helper, or sandbench's main thread): die with it. */
_Noreturn void sbn_child_main(const struct sbn_child_args *a, int ctl, pid_t parent);

/* ---- the birth helper (birth.c): cold boxes are cloned from it, not from sandbench ---- */
/* Fork the helper now (once per process; sbn_birth_ask does it when first needed). */
int sbn_birth_start(struct sb_error *err);
/* In a fork of sandbench: drop the parent's helper (the fork clones its boxes itself). */
void sbn_birth_forget(void);
/* The helper's pid, 0 when this process has none. */
pid_t sbn_birth_pid(void);
/* Ask for a box child on child_ctl (the helper gets its own copy; the caller still closes
 * its). *reply is where the answer comes. concurrent: other boxes are being made meanwhile.
 * -ENOENT: clone directly (a box made alone, a fork of sandbench, no helper could start). */
int sbn_birth_ask(const struct sbn_child_args *a, int child_ctl, bool concurrent, int *reply);
/* Wait for that answer: the child's host pid and a pidfd. Closes reply. */
int sbn_birth_answer(int reply, pid_t *pid, int *pidfd, int64_t deadline_ns, struct sb_error *err);

/* ---- deferred teardown (reap.c) ---- */
/* Kill the box (SIGKILL through its pidfd), keep what is needed to reap it and remove its marker,
 * and free the rest. Returns -ENOSPC (nothing done) when the queue is full. */
int sbn_reap_defer(struct sb_box *box);
/* Finish the queued boxes of this process that have died; with a deadline, wait for all of them
 * until then (0 = only those already dead). Returns how many are still queued. */
int sbn_reap_poll(int64_t deadline_ns);
/* In a freshly forked process: forget the parent's queue (its entries are not ours). */
void sbn_reap_forget(void);
/* Fresh unique id for names. */
void sbn_new_id(char out[40]);

/* ---- protocol between host and init (init.c, client.c) ---- */
enum {
	SBN_MSG_SCRATCH = 1, /* child -> host: upper dir fd (may carry none) */
	SBN_MSG_GO,          /* host -> child: cgroups/network ready, continue */
	SBN_MSG_READY,       /* child -> host: the box runs */
	SBN_MSG_ERR,         /* child -> host: setup failed (err, text) */
	SBN_MSG_EXEC,        /* host -> init: argv in text, fds [stdin, stdout, stderr, reply] */
	SBN_MSG_STARTED,     /* init -> reply: pid (in box) or err */
	SBN_MSG_EXITED,      /* init -> reply: wait status + rusage */
	SBN_MSG_KILL,        /* host -> reply: kill that command's group */
	SBN_MSG_RESET,       /* zygote -> init: kill every other process of the box, then answer */
	SBN_MSG_RESET_DONE,  /* init -> zygote: the box has no process but init */
	SBN_MSG_MAPPED,      /* host -> child (unprivileged): its uid/gid maps are written */
};
#define SBN_EXEC_DETACHED 1u /* no reply socket: lives until it exits or the box dies */
#define SBN_MSG_MAX 65536

struct sbn_msg {
	uint32_t type;
	int32_t err;    /* positive errno */
	int32_t status; /* wait status */
	uint32_t flags;
	int32_t pid;
	uint32_t len;   /* bytes of text that follow */
	struct rusage ru;
};

/* Send header + text with up to 4 fds. */
int sbn_send(int sock, const struct sbn_msg *m, const void *text, size_t len, const int *fds, int nfds);
/* Receive into buf (SBN_MSG_MAX); fds into fds[*nfds] (cap in, count out). Returns bytes or
 * -errno, 0 on EOF. */
ssize_t sbn_recv(int sock, void *buf, size_t cap, int *fds, int *nfds);

/* The init loop inside the box (never returns). */
_Noreturn void sbn_init_main(int ctl);
/* Fault in the memory init's first command will touch (while the box is being made). */
void sbn_init_prefault(void);

/* ---- host side of commands (client.c) ---- */
struct sb_exec_req;
struct sb_proc_result;
struct sb_agent_conn;
int sbn_exec(struct sb_box *box, const struct sb_exec_req *req, struct sb_proc_result *res,
	     struct sb_error *err);
int sbn_agent_open(struct sb_box *box, const char *agent, struct sb_agent_conn *conn,
		   int64_t deadline_ns, struct sb_error *err);

/* ---- copies (copy.c) ---- */
/* Open path inside the box's root (resolved as if chrooted there; symlinks cannot leave it). */
int sbn_box_open(struct sb_box *box, const char *path, int flags, mode_t mode);
int sbn_copy_in(struct sb_box *box, const char *host_path, const char *box_path, int64_t deadline_ns,
		struct sb_error *err);
int sbn_copy_out(struct sb_box *box, const char *box_path, const char *host_path, int64_t deadline_ns,
		 struct sb_error *err);
/* Copy the contents of directory src_fd into dst_fd, keeping device nodes and xattrs (overlay
 * whiteouts and opaque markers) so a writable layer copies faithfully. */
int sbn_copy_tree(int src_fd, int dst_fd, int64_t deadline_ns, struct sb_error *err);

/* ---- zygote (zygote.c) ---- */
/* A box from the warm pool for cfg (the pool is made or re-made for cfg as needed). */
int sbn_zygote_take(const struct sbn_cfg *cfg, const char *name, struct sb_box **out, int64_t deadline_ns,
		    struct sb_error *err);
void sbn_zygote_stop(void);
/* Give a warm box back to its zygote, which resets and reuses it or releases it; does not wait.
 * Frees box. Returns -ESRCH (box untouched) when that zygote is gone. */
int sbn_zygote_release(struct sb_box *box);

/* ---- reset of a used warm box (recycle.c), in the zygote ---- */
/* Once, in the zygote: remember its own mount and IPC namespaces. */
int sbn_recycle_init(void);
/* Whether a box of this configuration can be reset rather than remade. */
bool sbn_recycle_eligible(const struct sb_box *box);
/* What the zygote keeps of each box to tell, when it comes back, what its commands left behind:
 * files open on the proc views of its network and IPC namespaces and on its mqueue filesystem
 * (read again at each reset, no namespace switch or mount needed), and what its /dev looked like
 * (a box process is uid 0 and owns /dev, so it may change it). */
#define SBN_DEVPRINT_N 15
enum { SBN_W_SOCKSTAT, SBN_W_SOCKSTAT6, SBN_W_SHM, SBN_W_SEM, SBN_W_MSG, SBN_W_MQUEUE, SBN_W_N };
struct sbn_reuse {
	bool valid;
	int fd[SBN_W_N];
	struct {
		uint64_t ino, size, nlink, rdev;
		uint32_t mode, uid, gid;
	} dev[SBN_DEVPRINT_N];
};
/* Open r for a box just made (r->valid false when it cannot be: the box is then never reset).
 * init: r with no descriptors; close: release them. */
void sbn_reuse_open(const struct sb_box *box, struct sbn_reuse *r);
void sbn_reuse_init(struct sbn_reuse *r);
void sbn_reuse_close(struct sbn_reuse *r);
/* Make a used box as good as new: no process but init, a fresh writable layer, /tmp and /dev,
 * and nothing left in its IPC and network namespaces (else -EBUSY: remake it). A layer nothing
 * was written to and a /dev that still matches r are kept (they are as good as new already).
 * why gets the reason of a failure; r is updated. */
int sbn_box_reset(struct sb_box *box, struct sbn_reuse *r, char *why, size_t wlen);
/* In the zygote: sandbench's pid, recorded as a second owner of each box; 0 elsewhere. */
extern pid_t sbn_owner_host;
/* The zygote's scheduling: SCHED_IDLE for its work ahead (it then never delays a wakeup of the
 * commands running in boxes, where a low nice value still can for a whole time slice), normal
 * otherwise and whenever sandbench waits for it. pid 0 is the caller. */
void sbn_sched_background(pid_t pid);
void sbn_sched_boost(pid_t pid);

/* ---- accounting from the host side (stats.c) ---- */
/* Host pids of the box's processes: its cgroup's cgroup.procs, or init and its descendants. */
int sbn_box_pids(struct sb_box *box, pid_t *pids, size_t cap, size_t *n);
/* One stats read of a running box into out (zeroed by the caller but for out->skip): cgroup
 * counters, RSS (and PSS unless SB_STATS_NO_PSS) of its processes, CPU time, veth bytes. The
 * files it reads are kept open from the box's first read (within a budget of descriptors) and
 * re-read from offset 0; safe from several threads at once. */
void sbn_box_stats(struct sb_box *box, struct sb_box_stats *out);
/* Close the files kept for the box's stats: before the box is freed or made again (restart).
 * Waits for a stats read of it under way. */
void sbn_box_stats_release(struct sb_box *box);
