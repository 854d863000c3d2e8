/* Readers of cgroup (v1 and v2) and /proc accounting files: the one copy every driver and the
 * native sandbox use, so a figure means the same whichever driver reported it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/box.h"

/* A single-number file (DIR/FILE); "max" reads as 0 (no limit). *ok (may be NULL) says whether
 * the file could be read. */
uint64_t sb_cg_read_u64(const char *dir, const char *file, bool *ok);
/* The same for the text of such a file already read (NUL-terminated). */
uint64_t sb_cg_parse_u64(const char *buf);
/* Sum of the values of `key` in a flat-keyed file: "key value" lines (v2 cpu.stat) or "key=value"
 * tokens (v2 io.stat, summed over devices). */
uint64_t sb_cg_sum_keyed(const char *dir, const char *file, const char *key);
uint64_t sb_cg_sum_keyed_buf(const char *buf, const char *key);
/* Add the Read and Write bytes of a v1 blkio.throttle.io_service_bytes text to *rd and *wr. */
void sb_cg_blkio_v1_buf(const char *buf, uint64_t *rd, uint64_t *wr);
/* Add every accounting file found in one cgroup directory (either version, any controller) to
 * out: CPU, memory current/peak/limit, pids, block I/O. Returns how many groups of figures were
 * found (0: none readable). */
int sb_cg_stats_dir(const char *dir, struct sb_box_stats *out);
/* The same for a directory whose controllers the caller knows: only those kinds' files, of
 * those versions, are tried (no failed opens of files a v1 controller's directory cannot hold). */
enum {
	SB_CG_MEM = 1u << 0, SB_CG_CPU = 1u << 1, SB_CG_PIDS = 1u << 2, SB_CG_IO = 1u << 3,
	SB_CG_V1 = 1u << 4, SB_CG_V2 = 1u << 5, SB_CG_ALL = 0x3fu,
};
int sb_cg_stats_dir_kinds(const char *dir, unsigned kinds, struct sb_box_stats *out);
/* The pids in DIR/cgroup.procs; *n may exceed cap. -ENOENT when unreadable. */
int sb_cg_procs(const char *dir, pid_t *pids, size_t cap, size_t *n);

/* PSS and RSS of one process from /proc/PID/smaps_rollup, added to *pss and *rss (bytes). */
void sb_proc_mem(pid_t pid, uint64_t *pss, uint64_t *rss);
/* CPU time of one process (and its waited-for children) from /proc/PID/stat, in ns (tick
 * resolution). */
uint64_t sb_proc_cpu_ns(pid_t pid, bool with_children);
/* One read of /proc/PID/stat: adds its CPU time (ns, tick resolution; with its waited-for
 * children's when asked) to *cpu_ns and its resident set (bytes) to *rss_bytes. -errno when
 * the process is gone. The cheap way to a process's RSS: smaps_rollup walks its page tables. */
int sb_proc_stat_brief(pid_t pid, bool with_children, uint64_t *cpu_ns, uint64_t *rss_bytes);
/* The same from the text of a /proc/PID/stat already read (NUL-terminated); -EIO when malformed. */
int sb_proc_stat_parse(const char *buf, bool with_children, uint64_t *cpu_ns, uint64_t *rss_bytes);

/* Memory of one process from /proc/PID/smaps_rollup, in bytes: RSS (every resident page), PSS
 * (each page divided by the number of processes mapping it), USS (pages no other process maps:
 * Private_Clean + Private_Dirty + Private_Hugetlb) and swap. */
struct sb_proc_memx {
	uint64_t rss, pss, uss, swap;
};
/* 0, or -errno when the process is gone or its smaps_rollup is unreadable. */
int sb_proc_mem_detail(pid_t pid, struct sb_proc_memx *out);
/* Open file descriptors of pid (entries of /proc/PID/fd), or -errno. */
int sb_proc_fd_count(pid_t pid);
/* CPU time of pid in ns at scheduler precision: the run time of its live threads from
 * /proc/PID/task/TID/schedstat (ns), or utime+stime of /proc/PID/stat when that is larger (threads
 * that exited) or unreadable; with_children adds what the children it waited for used (cutime +
 * cstime: clock-tick resolution). 0 when pid is gone. */
uint64_t sb_proc_cpu_exact_ns(pid_t pid, bool with_children);
/* Parent of pid (0 when gone) and its comm ("" when gone). */
pid_t sb_proc_ppid(pid_t pid);
void sb_proc_comm(pid_t pid, char *buf, size_t len);
/* The process listening on the unix socket bound to path (its inode in /proc/net/unix, then the
 * process whose fds hold it), or 0 when none is found. Scans every process's fds: not for hot paths. */
pid_t sb_proc_unix_listener(const char *path);
/* A /proc/meminfo field ("MemAvailable", "MemTotal") in bytes; 0 when absent. */
uint64_t sb_meminfo_bytes(const char *key);
