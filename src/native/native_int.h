/* Internals shared by the files of the native sandbox (src/native/) and its driver glue
 * (src/drivers/native.c). Not a public interface: see native.h for what other modules may call. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "core/error.h"

#define SBN_RUN_DIR "/run/sandbench/native"
#define SBN_CG_PREFIX "sandbench-native-"
#define SBN_IF_PREFIX "sbn"
#define SBN_INIT_COMM "sb-native-init"
#define SBN_ZYGOTE_COMM "sb-native-zyg"

enum sbn_rootfs_mode { SBN_ROOTFS_OVERLAY = 0, SBN_ROOTFS_TMPFS = 1 };
enum sbn_net_mode { SBN_NET_NONE = 0, SBN_NET_VETH = 1 };

/* What one sandbox should look like; plain data so the zygote can receive it in one message. */
struct sbn_cfg {
	char rootfs[PATH_MAX];
	int rootfs_mode;
	int net;
	uint64_t mem_limit, pids_limit;
	double cpus;
	unsigned pool;  /* warm pool size (zygote) */
	bool io_stats;  /* join the blkio/io cgroup for io byte counters */
	bool cgroups;   /* make cgroups even without limits (accounting); limits always make them */
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

/* ---- lockdown (lockdown.c): seccomp deny-list, capabilities, no_new_privs ---- */
/* Compile the deny-list once in the host (libseccomp allocates; the box child must not). */
int sbn_seccomp_prepare(struct sb_error *err);
/* In the box: drop every capability (bounding, ambient, effective, permitted, inheritable), set
 * no_new_privs and load the prepared filter. Returns -errno. Async-signal-safe. */
int sbn_lockdown(void);
/* NULL-terminated names of the denied syscalls, for docs and tests. */
extern const char *const sbn_denied_syscalls[];

/* ---- mounts (mounts.c), all run inside the child's new mount namespace ---- */
/* Mount the scratch tmpfs on `scratch` and make upper/work/root in it; returns an fd of upper
 * (O_DIRECTORY) in *upper_fd, or -1 in tmpfs mode. */
int sbn_mount_scratch(const struct sbn_cfg *cfg, const char *scratch, int *upper_fd, char *why, size_t wlen);
/* Build the root (overlay or read-only bind + tmpfs /tmp), /proc, /dev, then pivot_root into it. */
int sbn_mount_root(const struct sbn_cfg *cfg, const char *scratch, char *why, size_t wlen);

/* ---- network (net.c) ---- */
struct sbn_net {
	int slot;            /* -1 = no veth */
	char host_if[16];
	uint32_t host_ip, box_ip; /* network byte order */
};
int sbn_net_lo_up(void);
/* Create the veth pair (peer "eth0" moved into pid's netns), address and bring up the host side. */
int sbn_net_veth_create(pid_t pid, struct sbn_net *net, struct sb_error *err);
/* Inside the box: address eth0 and bring it up. */
int sbn_net_box_setup(const struct sbn_net *net);
int sbn_net_veth_delete(const char *host_if);
void sbn_ip_str(uint32_t ip, char *buf, size_t len);

/* ---- markers (marker.c) ---- */
/* Record a box's resources under SBN_RUN_DIR/<id> before they are made (again after each new
 * one: rewriting is cheap and keeps the record complete). */
int sbn_marker_write(const char *id, const char *name, const pid_t *owners, size_t nowners,
		     const struct sbn_cg *cg, const char *host_if, struct sb_error *err);
void sbn_marker_remove(const char *name);

/* ---- the box ---- */
struct sb_box {
	char name[96];
	char id[40];          /* short unique id used in cgroup names */
	struct sbn_cfg cfg;
	pid_t init_pid;       /* host pid of the box's pid 1 */
	int pidfd;            /* of init */
	int ctl;              /* SEQPACKET control socket to init */
	int upper_fd;         /* the writable layer's upper dir (overlay mode), or -1 */
	bool our_child;       /* init is our child (cold); else the zygote's */
	bool stopped;
	bool marker;
	struct sbn_cg cg;
	struct sbn_net net;
};

/* Create a box (cold path): marker, cgroups, namespaces, mounts, network, lockdown. When
 * src_upper >= 0 the new writable layer starts as a copy of that directory (clone). */
int sbn_box_make(const struct sbn_cfg *cfg, const char *name, int src_upper, struct sb_box **out,
		 int64_t deadline_ns, struct sb_error *err);
/* Kill the box's processes and wait for them (bounded). */
int sbn_box_kill(struct sb_box *box, int64_t deadline_ns);
/* Release everything and free; reports the first failure in err. box may be NULL. */
int sbn_box_free(struct sb_box *box, int64_t deadline_ns, struct sb_error *err);
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
/* In the zygote: sandbench's pid, recorded as a second owner of each box; 0 elsewhere. */
extern pid_t sbn_owner_host;

/* ---- stats helpers (stats.c) ---- */
void sbn_proc_mem(pid_t pid, uint64_t *pss, uint64_t *rss);
/* CPU time of pid from /proc (clock-tick resolution), with its reaped children's when asked. */
uint64_t sbn_proc_cpu_ns(pid_t pid, bool with_children);
int sbn_box_pids(struct sb_box *box, pid_t *pids, size_t cap, size_t *n);
