/* Accounting from the host side: which host pids belong to a box, and its stats read.
 *
 * With a cgroup, its cgroup.procs. Without one, the tree of init's descendants, read from
 * /proc/PID/task/TID/children: every process of the box's pid namespace descends from its init
 * (orphans are re-parented to it, and nothing joins the namespace from outside: setns is denied
 * in the box and sandbench never enters it), so the walk finds them all, reading one file per
 * box process and thread. Scanning the host's /proc for processes in the box's namespace instead
 * cost a stat per process of the host (~300 on a host running 100 boxes, 1.4 ms per stats read:
 * a live sampler of 100 boxes at 1 Hz spent 15 % of a core on it).
 *
 * A stats read keeps the box's accounting files open (struct sbn_stat_files) and re-reads each
 * with one pread from offset 0, which cgroupfs, /proc and sysfs answer with fresh contents: an
 * open of a cgroup file walks its whole path (~10 us apiece on a loaded host, seven of them per
 * read with cgroups=1), a pread of an open one does not. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/proc.h"
#include "native/native_int.h"

/* Append the children of every thread of pid to pids (counting past cap in *n). */
static int add_children(pid_t pid, pid_t *pids, size_t cap, size_t *n)
{
	char tdir[64];
	snprintf(tdir, sizeof(tdir), "/proc/%d/task", (int)pid);
	int dfd = open(tdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return -e;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[300], buf[4096];
		snprintf(path, sizeof(path), "%s/children", de->d_name);
		int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Space-separated pids; a long list takes more than one read. */
		size_t have = 0;
		for (;;) {
			ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
			if (r <= 0)
				break;
			have += (size_t)r;
			buf[have] = '\0';
			char *p = buf, *end;
			for (;;) {
				long v = strtol(p, &end, 10);
				if (end == p || (*end != ' ' && *end != '\n'))
					break; /* the last number may be cut: keep it for the next read */
				if (v > 0) {
					if (*n < cap)
						pids[*n] = (pid_t)v;
					(*n)++;
				}
				p = end + 1;
			}
			have = strlen(p);
			memmove(buf, p, have);
		}
		close(fd);
	}
	closedir(d);
	return 0;
}

int sbn_box_pids(struct sb_box *box, pid_t *pids, size_t cap, size_t *n)
{
	*n = 0;
	if (box->stopped || box->init_pid <= 0)
		return 0;
	if (sbn_cg_pids(&box->cg, pids, cap, n) == 0)
		return 0;
	/* No cgroup: init and its descendants, breadth first (pids[] is the queue). */
	if (cap == 0)
		return 0;
	pids[0] = box->init_pid;
	*n = 1;
	for (size_t i = 0; i < *n && i < cap; i++) {
		int rc = add_children(pids[i], pids, cap, n);
		/* init gone: the box is dead. A descendant gone: it exited while we looked. */
		if (rc < 0 && i == 0)
			return rc == -ENOENT ? -ESRCH : rc;
	}
	return 0;
}

/* ---- the stats read ---- */

enum stat_file {
	SF_MEM,       /* v1 memory.usage_in_bytes, v2 memory.current */
	SF_MEM_PEAK,  /* v1 memory.max_usage_in_bytes, v2 memory.peak */
	SF_CPU,       /* v1 cpuacct.usage, v2 cpu.stat */
	SF_PIDS,      /* pids.current */
	SF_IO,        /* v1 blkio.throttle.io_service_bytes(_recursive), v2 io.stat */
	SF_PROCS,     /* cgroup.procs */
	SF_INIT_STAT, /* /proc/INIT/stat */
	SF_HOST_RX,   /* the veth host end's rx_bytes: what the box sent */
	SF_HOST_TX,   /* the veth host end's tx_bytes: what the box received */
	SF_N
};

struct sbn_stat_files {
	int fd[SF_N];         /* -1: not kept (the box has no such file) */
	bool v2[SF_N];        /* SF_MEM, SF_CPU, SF_IO: the file is cgroup v2's */
	int ctrl[SF_N];       /* the controller whose directory holds it (path fallback) */
	uint64_t mem_limit;   /* written once at create: read once */
	unsigned nfds;
	bool starved;         /* an open failed for want of descriptors: keep none */
};

/* Kept descriptors of every box, and how many may be: a quarter of the soft RLIMIT_NOFILE (as it
 * is when a box's files are opened), so many boxes cannot run the process out of descriptors;
 * past it, boxes are read by path. */
static atomic_uint kept_fds;

static unsigned fd_budget(void)
{
	struct rlimit rl;
	rlim_t cur = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
	return cur == RLIM_INFINITY || cur / 4 > 65536 ? 65536 : (unsigned)(cur / 4);
}

/* A box's files are closed (and freed) only under the write lock, and used under the read
 * lock: a release waits for a read under way, reads run side by side. */
static pthread_rwlock_t files_lock = PTHREAD_RWLOCK_INITIALIZER;

static int open_at(struct sbn_stat_files *f, int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE))
		f->starved = true;
	return fd;
}

/* One pread of a kept single-record file from offset 0; its length, or -1 when unreadable or
 * when it filled buf (possibly cut: the caller reads it by path instead). */
static ssize_t pread_file(int fd, char *buf, size_t cap)
{
	ssize_t r;
	do
		r = pread(fd, buf, cap - 1, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0 || (size_t)r >= cap - 1)
		return -1;
	buf[r] = '\0';
	return r;
}

static void files_close(struct sbn_stat_files *f)
{
	if (!f)
		return;
	for (int i = 0; i < SF_N; i++)
		if (f->fd[i] >= 0)
			close(f->fd[i]);
	atomic_fetch_sub(&kept_fds, f->nfds);
	free(f);
}

/* The cgroup files of directory c (kinds as sbn_cg_stats reads them there), each kind from the
 * first directory that has it. */
static void open_cgroup_dir(const struct sb_box *box, int c, unsigned kinds, struct sbn_stat_files *f)
{
	int dfd = open(box->cg.dir[c], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && (errno == EMFILE || errno == ENFILE))
		f->starved = true;
	if (dfd < 0)
		return;
	bool v2 = kinds & SB_CG_V2;
	if ((kinds & SB_CG_MEM) && f->fd[SF_MEM] < 0 &&
	    (f->fd[SF_MEM] = open_at(f, dfd, v2 ? "memory.current" : "memory.usage_in_bytes")) >= 0) {
		f->v2[SF_MEM] = v2;
		f->ctrl[SF_MEM] = c;
		f->fd[SF_MEM_PEAK] = open_at(f, dfd, v2 ? "memory.peak" : "memory.max_usage_in_bytes");
		char buf[64];
		int lfd = open_at(f, dfd, v2 ? "memory.max" : "memory.limit_in_bytes");
		uint64_t v = lfd >= 0 && pread_file(lfd, buf, sizeof(buf)) > 0 ? sb_cg_parse_u64(buf) : 0;
		if (lfd >= 0)
			close(lfd);
		/* v1 reports "no limit" as a huge page-rounded number. */
		f->mem_limit = !v2 && v >= (1ULL << 62) ? 0 : v;
	}
	if ((kinds & SB_CG_CPU) && f->fd[SF_CPU] < 0 &&
	    (f->fd[SF_CPU] = open_at(f, dfd, v2 ? "cpu.stat" : "cpuacct.usage")) >= 0) {
		f->v2[SF_CPU] = v2;
		f->ctrl[SF_CPU] = c;
	}
	if ((kinds & SB_CG_PIDS) && f->fd[SF_PIDS] < 0)
		f->fd[SF_PIDS] = open_at(f, dfd, "pids.current");
	if ((kinds & SB_CG_IO) && f->fd[SF_IO] < 0) {
		f->fd[SF_IO] = open_at(f, dfd, v2 ? "io.stat" : "blkio.throttle.io_service_bytes_recursive");
		if (f->fd[SF_IO] < 0 && !v2)
			f->fd[SF_IO] = open_at(f, dfd, "blkio.throttle.io_service_bytes");
		f->v2[SF_IO] = v2;
		f->ctrl[SF_IO] = c;
	}
	if (f->fd[SF_PROCS] < 0 && (f->fd[SF_PROCS] = open_at(f, dfd, "cgroup.procs")) >= 0)
		f->ctrl[SF_PROCS] = c;
	close(dfd);
}

/* The box's files, opened now; NULL when none could be, or past the budget. */
static struct sbn_stat_files *files_open(const struct sb_box *box)
{
	if (atomic_load(&kept_fds) + SF_N > fd_budget())
		return NULL;
	struct sbn_stat_files *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	for (int i = 0; i < SF_N; i++)
		f->fd[i] = f->ctrl[i] = -1;
	for (int c = 0; c < SBN_CTRL_N; c++) {
		unsigned kinds = sbn_cg_dir_kinds(&box->cg, c);
		if (kinds)
			open_cgroup_dir(box, c, kinds, f);
	}
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)box->init_pid);
	f->fd[SF_INIT_STAT] = open_at(f, AT_FDCWD, path);
	if (box->net.slot >= 0) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/rx_bytes", box->net.host_if);
		f->fd[SF_HOST_RX] = open_at(f, AT_FDCWD, path);
		snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_bytes", box->net.host_if);
		f->fd[SF_HOST_TX] = open_at(f, AT_FDCWD, path);
	}
	bool cgroups = false, cgroup_files = false;
	for (int c = 0; c < SBN_CTRL_N; c++)
		cgroups |= box->cg.dir[c][0] != '\0';
	for (int i = SF_MEM; i <= SF_PROCS; i++)
		cgroup_files |= f->fd[i] >= 0;
	for (int i = 0; i < SF_N; i++)
		f->nfds += f->fd[i] >= 0;
	atomic_fetch_add(&kept_fds, f->nfds);
	/* Kept files must read what the paths would: none rather than a set short of some. */
	if (f->nfds == 0 || f->starved || (cgroups && !cgroup_files)) {
		files_close(f);
		return NULL;
	}
	return f;
}

/* A single-number file: kept (one pread) or by path when f is NULL or lacks it. */
static uint64_t read_u64(const struct sbn_stat_files *f, int which, bool *ok)
{
	char buf[64];
	*ok = f && f->fd[which] >= 0 && pread_file(f->fd[which], buf, sizeof(buf)) > 0;
	return *ok ? sb_cg_parse_u64(buf) : 0;
}

/* The cgroup counters, as sbn_cg_stats reads them by path. */
static void read_cgroups(const struct sb_box *box, const struct sbn_stat_files *f, struct sb_box_stats *st)
{
	bool ok;
	uint64_t v;
	if ((v = read_u64(f, SF_MEM, &ok), ok)) {
		st->mem_bytes = v;
		st->mem_peak_bytes = read_u64(f, SF_MEM_PEAK, &ok);
		st->mem_limit_bytes = f->mem_limit;
	}
	if (f->fd[SF_CPU] >= 0) {
		char buf[1024];
		if (!f->v2[SF_CPU])
			st->cpu_ns = read_u64(f, SF_CPU, &ok);
		else if (pread_file(f->fd[SF_CPU], buf, sizeof(buf)) > 0)
			st->cpu_ns = sb_cg_sum_keyed_buf(buf, "usage_usec") * 1000;
		else
			sb_cg_stats_dir_kinds(box->cg.dir[f->ctrl[SF_CPU]], SB_CG_CPU | SB_CG_V2, st);
	}
	if ((v = read_u64(f, SF_PIDS, &ok), ok))
		st->pids = v;
	if (f->fd[SF_IO] >= 0) {
		char buf[4096];
		bool v2 = f->v2[SF_IO];
		if (pread_file(f->fd[SF_IO], buf, sizeof(buf)) < 0) {
			sb_cg_stats_dir_kinds(box->cg.dir[f->ctrl[SF_IO]], SB_CG_IO | (v2 ? SB_CG_V2 : SB_CG_V1), st);
		} else if (v2) {
			st->io_read_bytes += sb_cg_sum_keyed_buf(buf, "rbytes");
			st->io_write_bytes += sb_cg_sum_keyed_buf(buf, "wbytes");
		} else {
			sb_cg_blkio_v1_buf(buf, &st->io_read_bytes, &st->io_write_bytes);
		}
	}
}

/* The pids of the kept cgroup.procs (pread on from offset 0 until its end); -EIO when it cannot
 * be read whole. */
static int read_procs(int fd, pid_t *pids, size_t cap, size_t *n)
{
	char buf[8192];
	size_t have = 0;
	for (;;) {
		ssize_t r = pread(fd, buf + have, sizeof(buf) - 1 - have, (off_t)have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -EIO;
		if (r == 0)
			break;
		have += (size_t)r;
		if (have == sizeof(buf) - 1)
			return -EIO; /* longer than the buffer: read by path */
	}
	buf[have] = '\0';
	*n = 0;
	for (char *p = buf, *end;; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (v > 0) {
			if (*n < cap)
				pids[*n] = (pid_t)v;
			(*n)++;
		}
	}
	return 0;
}

/* The box's processes for the per-process figures: init alone when pids.current says the box
 * holds one task (init is in its cgroup and the only one; no cgroup.procs read), else the kept
 * cgroup.procs, else by path (sbn_box_pids). */
static int box_pids_read(struct sb_box *box, const struct sbn_stat_files *f, const struct sb_box_stats *st,
			 bool pids_counted, pid_t *pids, size_t cap, size_t *n)
{
	if (f && pids_counted && st->pids == 1 && box->init_pid > 0 && cap > 0) {
		pids[0] = box->init_pid;
		*n = 1;
		return 0;
	}
	if (f && f->fd[SF_PROCS] >= 0 && read_procs(f->fd[SF_PROCS], pids, cap, n) == 0)
		return 0;
	return sbn_box_pids(box, pids, cap, n);
}

/* CPU time and RSS of one process from its stat: init's kept file, others by path. */
static int proc_stat(const struct sb_box *box, const struct sbn_stat_files *f, pid_t pid, bool with_children,
		     uint64_t *cpu, uint64_t *rss)
{
	char buf[1024];
	if (pid == box->init_pid && f && f->fd[SF_INIT_STAT] >= 0) {
		if (pread_file(f->fd[SF_INIT_STAT], buf, sizeof(buf)) < 0)
			return -ESRCH;
		return sb_proc_stat_parse(buf, with_children, cpu, rss);
	}
	return sb_proc_stat_brief(pid, with_children, cpu, rss);
}

static struct sbn_stat_files *files_of(struct sb_box *box)
{
	struct sbn_stat_files *f = atomic_load(&box->stat_files);
	if (f || box->init_pid <= 0)
		return f;
	f = files_open(box);
	struct sbn_stat_files *none = NULL;
	/* Two first reads at once: one set is kept. */
	if (f && !atomic_compare_exchange_strong(&box->stat_files, &none, f)) {
		files_close(f);
		f = none;
	}
	return f;
}

void sbn_box_stats(struct sb_box *box, struct sb_box_stats *out)
{
	uint32_t skip = out->skip;
	pthread_rwlock_rdlock(&files_lock);
	const struct sbn_stat_files *f = files_of(box);
	bool cgroups = false;
	for (int c = 0; c < SBN_CTRL_N; c++)
		cgroups |= box->cg.dir[c][0] != '\0';
	if (f)
		read_cgroups(box, f, out);
	else if (cgroups)
		sbn_cg_stats(&box->cg, out);
	bool pids_counted = f && f->fd[SF_PIDS] >= 0 && out->pids > 0;
	pid_t pids[512];
	size_t n = 0;
	if (box_pids_read(box, f, out, pids_counted, pids, 512, &n) == 0) {
		bool no_cg_cpu = out->cpu_ns == 0 && !box->cg.dir[SBN_CTRL_CPUACCT][0];
		for (size_t i = 0; i < n && i < 512; i++) {
			/* Without a cgroup: live processes plus everything init reaped (commands). */
			uint64_t cpu = 0, rss = 0;
			bool with_children = pids[i] == box->init_pid;
			if (skip & SB_STATS_NO_PSS) {
				/* RSS and CPU time in one read of /proc/PID/stat. */
				if (proc_stat(box, f, pids[i], with_children, &cpu, &rss) == 0) {
					out->rss_bytes += rss;
					if (no_cg_cpu)
						out->cpu_ns += cpu;
				}
				continue;
			}
			sb_proc_mem(pids[i], &out->pss_bytes, &out->rss_bytes);
			if (no_cg_cpu && proc_stat(box, f, pids[i], with_children, &cpu, &rss) == 0)
				out->cpu_ns += cpu;
		}
		/* A reset warm box: its earlier uses are not this one's. */
		if (no_cg_cpu)
			out->cpu_ns = out->cpu_ns > box->cpu_base_ns ? out->cpu_ns - box->cpu_base_ns : 0;
		if (!out->pids)
			out->pids = n;
	}
	if (box->net.slot >= 0) {
		bool ok;
		char dir[64];
		/* The host end's receive is the box's transmit. */
		snprintf(dir, sizeof(dir), "/sys/class/net/%s/statistics", box->net.host_if);
		out->net_rx_bytes = read_u64(f, SF_HOST_TX, &ok);
		if (!ok)
			out->net_rx_bytes = sb_cg_read_u64(dir, "tx_bytes", NULL);
		out->net_tx_bytes = read_u64(f, SF_HOST_RX, &ok);
		if (!ok)
			out->net_tx_bytes = sb_cg_read_u64(dir, "rx_bytes", NULL);
	}
	pthread_rwlock_unlock(&files_lock);
}

void sbn_box_stats_release(struct sb_box *box)
{
	if (!box)
		return;
	pthread_rwlock_wrlock(&files_lock);
	struct sbn_stat_files *f = atomic_exchange(&box->stat_files, NULL);
	pthread_rwlock_unlock(&files_lock);
	files_close(f);
}
