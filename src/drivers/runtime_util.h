/* Helpers shared by the drivers that drive an external runtime's CLI (bwrap, crun, runc, cmd):
 * growing argv vectors, binary and version lookup, owner markers that tell a live run's state from
 * a crashed one's, spawning long-lived children, and cgroup accounting read from the host side. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "core/veth.h"
#include "drivers/driver.h"

/* Where drivers keep per-box state; everything below it carries an owner marker. */
#define SB_RT_STATE_ROOT "/run/sandbench"
/* The marker file inside a per-box state directory. */
#define SB_RT_MARKER "sandbench.marker"
/* A network namespace a driver made for a box, bind-mounted in its state directory (rt_net.c). */
#define SB_RT_NETNS_FILE "netns"
/* PATH inside the standard rootfs (busybox applets live in /bin). */
#define SB_RT_BOX_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* A NULL-terminated argv that grows; an allocation failure is remembered in oom and reported once
 * by sb_argv_ok(), so building code stays linear. */
struct sb_argv {
	char **v;
	size_t n, cap;
	bool oom;
};
void sb_argv_add(struct sb_argv *a, const char *s);
void sb_argv_addf(struct sb_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_argv_add_all(struct sb_argv *a, const char *const *argv);
/* 0, or -ENOMEM with err filled when any add failed. */
int sb_argv_ok(const struct sb_argv *a, struct sb_error *err);
void sb_argv_free(struct sb_argv *a);
static inline const char *const *sb_argv_get(const struct sb_argv *a)
{
	return (const char *const *)a->v;
}

/* Absolute path of an executable found in PATH (or name itself when it has a '/'): 0 or -ENOENT. */
int sb_rt_which(const char *name, char *buf, size_t len);
/* The runtime binary a box runs: the driver parameter "bin" (a path, or a name looked up in PATH:
 * another build of the runtime, e.g. to put two side by side with `paired`), else dflt from PATH.
 * Fills buf, or returns -ENOENT with err naming what was not found. */
int sb_rt_binary(const struct sb_params *params, const struct sb_param_def *defs, const char *dflt, char *buf,
		 size_t len, struct sb_error *err);
/* Run argv (e.g. `crun --version`) and put the first dotted version number found in its output
 * into out ("1.8.1"); "unknown" when there is none. Bounded by timeout_s. */
void sb_rt_version(const char *const *argv, double timeout_s, char *out, size_t len);

/* The first informative line of a runtime's stderr: logrus `msg="..."` is unwrapped, blank and
 * "time=..." noise skipped. Empty string when there is nothing. */
void sb_rt_first_error(const char *text, char *out, size_t len);
/* Run a short runtime command until deadline_ns; 0 only when it exited 0. Otherwise err names the
 * command (its first two words) and the runtime's own first error line. *out (malloc'd stdout) is
 * set when out != NULL and the command succeeded. */
int sb_rt_run(const char *const *argv, int64_t deadline_ns, char **out, struct sb_error *err);
/* The same for a command whose helpers stay in its process group after it exits (runsc's create
 * leaves the sandbox's gofer there): they are not killed with it. */
int sb_rt_run_leave(const char *const *argv, int64_t deadline_ns, char **out, struct sb_error *err);

/* Run prefix + req->argv through sb_proc_run with req's stdio choices and deadline. envp NULL
 * inherits. The result is filled whenever the command was spawned. */
int sb_rt_exec(const char *const *prefix, const struct sb_exec_req *req, const char *const *envp,
	       struct sb_proc_result *res, struct sb_error *err);

/* Spawn argv in its own process group with the given fds as 0/1/2 (-1: /dev/null) and, when
 * fd3 >= 0, that fd as 3. Does not wait. */
int sb_rt_spawn(const char *const *argv, const char *const *envp, int fd0, int fd1, int fd2, int fd3,
		pid_t *pid, struct sb_error *err);

/* Process start time (clock ticks since boot, field 22 of /proc/PID/stat), 0 when pid is gone.
 * pid + start time names a process without the risk of pid reuse. */
unsigned long long sb_rt_proc_start(pid_t pid);
/* Whether the process pid with that start time still runs (zombies count as dead). */
bool sb_rt_proc_alive(pid_t pid, unsigned long long start);

/* Write dir/SB_RT_MARKER: "driver=D\nbox=NAME\nowner_pid=P\nowner_start=T\n" + extra (key=value
 * lines, may be NULL), atomically. The owner is this process. */
int sb_rt_marker_write(const char *dir, const char *driver, const char *box, const char *extra,
		       struct sb_error *err);
/* Make a box's state directory dir with its marker already in it: made as "<parent>/.new-<box>-<pid>",
 * marked, then renamed to dir, so a SIGKILL at any moment leaves either nothing, a marked dir, or
 * an unfinished one sb_rt_unfinished_dirs recognises. -EEXIST when dir exists (a crashed run). */
int sb_rt_state_dir_make(const char *dir, const char *driver, const char *box, struct sb_error *err);
/* The unfinished state dirs under parent whose maker is gone: each emitted as a line, removed with
 * clean. Returns how many there were. */
int sb_rt_unfinished_dirs(const char *parent, bool clean, sb_line_fn emit, void *arg);
/* Read a marker into *text (malloc'd). */
int sb_rt_marker_read(const char *dir, char **text);
/* Value of `key=` in key=value text into out; false when absent. */
bool sb_rt_kv(const char *text, const char *key, char *out, size_t len);
/* The owner recorded in marker text is alive. */
bool sb_rt_marker_owner_alive(const char *text);

/* "pid:[INODE]" of pid's pid namespace into buf (empty when pid is gone). */
void sb_rt_pidns(pid_t pid, char *buf, size_t len);
/* Reap our exited children that live in pid namespace pidns (from sb_rt_pidns). Processes
 * orphaned inside a sandbox (an exec whose runtime CLI was killed) are re-parented to us, the
 * subreaper; the namespace's pid 1 cannot finish dying until they are reaped. */
void sb_rt_reap_ns_children(const char *pidns);
/* Wait for pid to die until deadline_ns: reaped when it is our child (we are a subreaper, so
 * container inits end up as our children), polled through /proc otherwise. 0 or -ETIMEDOUT. */
int sb_rt_wait_gone(pid_t pid, int64_t deadline_ns);
/* The same, reaping meanwhile our exited children in pidns (NULL/empty: none), see above: use it
 * when pid is (or waits for) the pid 1 of that namespace. */
int sb_rt_wait_gone_ns(pid_t pid, const char *pidns, int64_t deadline_ns);

/* The cgroup directories (absolute paths under the cgroup mounts) pid belongs to, one per
 * hierarchy, newline-separated, into out. Only directories whose last component contains
 * must_contain are listed, so a process that stayed in our own cgroup yields nothing. */
int sb_rt_cgroup_dirs(pid_t pid, const char *must_contain, char *out, size_t len);
/* rmdir each newline-separated cgroup directory (retrying briefly while tasks drain) until
 * deadline_ns. Returns how many could not be removed. */
int sb_rt_cgroup_remove(const char *dirs, int64_t deadline_ns);
/* Fill memory, CPU, pids and block-IO figures from newline-separated cgroup dirs (v1 or v2). */
int sb_rt_cgroup_stats(const char *dirs, struct sb_box_stats *out);
/* Host pids in the first cgroup of dirs that lists them (cgroup.procs). */
int sb_rt_cgroup_pids(const char *dirs, pid_t *pids, size_t cap, size_t *n);
/* Descendants of pid (not pid itself), found through /proc/PID/task/TID/children. */
size_t sb_rt_descendants(pid_t pid, pid_t *out, size_t cap);
/* Add a helper process to a box_host_pids answer (once per pid; counted even past cap). */
void sb_rt_host_proc_add(struct sb_host_proc *procs, size_t cap, size_t *n, pid_t pid, const char *role,
			 bool daemon, unsigned shared_by);
/* The parent of a sandbox's init as its dedicated helper (conmon, a containerd shim, a monitor),
 * unless that parent is this process or pid 1 (then nothing holds the sandbox but the kernel).
 * Returns the parent added, or 0. */
pid_t sb_rt_host_parent(pid_t init_pid, const char *role, struct sb_host_proc *procs, size_t cap, size_t *n);
/* Mount points strictly below dir, deepest first, newline-separated; lazily unmount them all.
 * Returns how many could not be unmounted. */
int sb_rt_umount_below(const char *dir);
/* Where a runtime may have put a cgroup leaf: <mount>/<leaf> and <mount>/<our cgroup>/<leaf> for
 * each hierarchy this process is in, newline-separated (existing or not). For cleaning up after a
 * runtime that failed before its container's init could be asked. */
int sb_rt_cgroup_guess_dirs(const char *leaf, char *out, size_t len);
/* Make <mount>/<leaf> on every hierarchy this process is in (the root of each, as crun's absolute
 * cgroupsPath does), newline-separated into out. 0, or -errno when one could not be made. */
int sb_rt_cgroup_make(const char *leaf, char *out, size_t len);
/* sb_rt_cgroup_remove for directories that may have children (a runtime's own sub-cgroups, e.g.
 * systemd-nspawn's payload/supervisor): deepest first. Returns how many could not be removed. */
int sb_rt_cgroup_remove_tree(const char *dirs, int64_t deadline_ns);

/* A launcher (`*pid`, our child) is starting a sandbox: poll ready(arg) every poll_us until it says
 * yes (0), the launcher exits first (-EIO: "WHAT exited N: <first error line of errfile>", *pid
 * reaped and set to 0), or the deadline/an interrupt ("WHAT: never became ready"). */
int sb_rt_wait_launch(pid_t *pid, bool (*ready)(void *arg), void *arg, const char *errfile,
		      unsigned poll_us, int64_t deadline_ns, const char *what, struct sb_error *err);

/* ---- host<->sandbox links (rt_net.c) ---- */
/* A network namespace pinned at dir/SB_RT_NETNS_FILE with a veth pair from range, its names and
 * addresses recorded in dir. On failure the caller's teardown releases what is there (the pin is
 * a mount below dir). */
int sb_rt_net_link(struct sb_veth_range *range, const char *dir, struct sb_error *err);
/* The same pair into the network namespace of a running box's process pid (a runtime that made the
 * namespace itself); it goes with that namespace. */
int sb_rt_net_attach(struct sb_veth_range *range, const char *dir, pid_t pid, struct sb_error *err);
/* The two addresses recorded in dir; -ENOTSUP when there is no link. */
int sb_rt_net_addr(const char *dir, struct sb_box_addr *out);
/* Delete the host end recorded in dir (a name of range's prefix only), before the pin is unmounted. */
void sb_rt_net_release(const struct sb_veth_range *range, const char *dir);

/* Volumes (spec->volumes, SB_CAP_VOLUMES) on a runtime: at most this many per sandbox. */
#define SB_RT_MAX_VOLUMES 16
/* Check spec's volumes before a runtime sees them: each host path an absolute path to an existing
 * directory, each box path absolute, not "/", without "..", and neither containing a character of
 * forbidden (what the runtime's option syntax cannot carry, e.g. ",:" for `--mount a=b,c=d`;
 * NULL: only newlines are refused). 0, or -errno with err naming the volume and the rule. */
int sb_rt_volumes_check(const char *driver, const struct sb_box_spec *spec, const char *forbidden,
			struct sb_error *err);
/* Where each volume's mount point comes from on a runtime whose root is a read-only bind of the
 * shared rootfs, which must never be written (a runtime makes a missing mount point in it): 0 when
 * every box path is a directory of rootfs (or below /tmp, the sandbox's own tmpfs); 1 when some
 * are new top-level directories (the driver must give its root room for them); -EROFS with err
 * when one would be new below a directory of the image. */
int sb_rt_volumes_mountpoints(const char *driver, const struct sb_box_spec *spec, const char *rootfs,
			      struct sb_error *err);
