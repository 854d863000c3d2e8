#include "core/cgfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t sb_cg_parse_u64(const char *buf)
{
	if (strncmp(buf, "max", 3) == 0)
		return 0;
	return strtoull(buf, NULL, 10);
}

uint64_t sb_cg_read_u64(const char *dir, const char *file, bool *ok)
{
	char p[PATH_MAX + 64], buf[64];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (ok)
		*ok = r > 0;
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	return sb_cg_parse_u64(buf);
}

/* The whole of DIR/FILE, NUL-terminated, in a buffer to free; NULL when unreadable. */
static char *read_whole(const char *dir, const char *file)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t have = 0, cap = 4096;
	char *buf = malloc(cap);
	while (buf) {
		ssize_t r = read(fd, buf + have, cap - 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0) {
				free(buf);
				buf = NULL;
			}
			break;
		}
		have += (size_t)r;
		if (have + 1 == cap) {
			char *grown = realloc(buf, cap * 2);
			if (!grown)
				free(buf);
			buf = grown;
			cap *= 2;
		}
	}
	close(fd);
	if (buf)
		buf[have] = '\0';
	return buf;
}

uint64_t sb_cg_sum_keyed_buf(const char *buf, const char *key)
{
	uint64_t total = 0;
	size_t kl = strlen(key);
	const char *p = buf;
	for (;;) {
		p += strspn(p, " \t\n");
		if (!*p)
			break;
		size_t tl = strcspn(p, " \t\n");
		if (tl > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			total += strtoull(p + kl + 1, NULL, 10);
		} else if (tl == kl && strncmp(p, key, kl) == 0) {
			/* "key value": the value is the next token */
			p += tl;
			p += strspn(p, " \t\n");
			if (!*p)
				break;
			total += strtoull(p, NULL, 10);
			tl = strcspn(p, " \t\n");
		}
		p += tl;
	}
	return total;
}

uint64_t sb_cg_sum_keyed(const char *dir, const char *file, const char *key)
{
	char *buf = read_whole(dir, file);
	if (!buf)
		return 0;
	uint64_t total = sb_cg_sum_keyed_buf(buf, key);
	free(buf);
	return total;
}

void sb_cg_blkio_v1_buf(const char *buf, uint64_t *rd, uint64_t *wr)
{
	/* "MAJ:MIN Op bytes" lines and a "Total bytes" one: sum the Read and Write lines. */
	for (const char *line = buf; line && *line;) {
		char dev[64], op[32];
		unsigned long long v;
		if (sscanf(line, "%63s %31s %llu", dev, op, &v) == 3 && strcmp(dev, "Total") != 0) {
			if (strcmp(op, "Read") == 0)
				*rd += v;
			else if (strcmp(op, "Write") == 0)
				*wr += v;
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
}

static bool blkio_v1(const char *dir, const char *file, uint64_t *rd, uint64_t *wr)
{
	char *buf = read_whole(dir, file);
	if (!buf)
		return false;
	sb_cg_blkio_v1_buf(buf, rd, wr);
	free(buf);
	return true;
}

static bool readable(const char *dir, const char *file)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	return access(p, R_OK) == 0;
}

int sb_cg_stats_dir(const char *dir, struct sb_box_stats *out)
{
	return sb_cg_stats_dir_kinds(dir, SB_CG_ALL, out);
}

int sb_cg_stats_dir_kinds(const char *dir, unsigned kinds, struct sb_box_stats *out)
{
	int found = 0;
	bool ok;
	uint64_t v;
	bool v1 = kinds & SB_CG_V1, v2 = kinds & SB_CG_V2;
	bool mem = kinds & SB_CG_MEM, cpu = kinds & SB_CG_CPU, pids = kinds & SB_CG_PIDS, io = kinds & SB_CG_IO;
	/* v1 files */
	if (v1 && mem && (v = sb_cg_read_u64(dir, "memory.usage_in_bytes", &ok), ok)) {
		out->mem_bytes = v;
		out->mem_peak_bytes = sb_cg_read_u64(dir, "memory.max_usage_in_bytes", NULL);
		v = sb_cg_read_u64(dir, "memory.limit_in_bytes", NULL);
		/* v1 reports "no limit" as a huge page-rounded number. */
		out->mem_limit_bytes = v >= (1ULL << 62) ? 0 : v;
		found++;
	}
	if (v1 && cpu && (v = sb_cg_read_u64(dir, "cpuacct.usage", &ok), ok)) {
		out->cpu_ns = v;
		found++;
	}
	/* pids.current has one name on both versions. */
	if (pids && (v = sb_cg_read_u64(dir, "pids.current", &ok), ok)) {
		out->pids = v;
		found++;
	}
	if (v1 && io &&
	    (blkio_v1(dir, "blkio.throttle.io_service_bytes_recursive", &out->io_read_bytes, &out->io_write_bytes) ||
	     blkio_v1(dir, "blkio.throttle.io_service_bytes", &out->io_read_bytes, &out->io_write_bytes)))
		found++;
	/* v2 files (a pure cgroup2 host, or controllers left on the unified hierarchy) */
	if (v2 && mem && (v = sb_cg_read_u64(dir, "memory.current", &ok), ok)) {
		out->mem_bytes = v;
		out->mem_peak_bytes = sb_cg_read_u64(dir, "memory.peak", NULL);
		out->mem_limit_bytes = sb_cg_read_u64(dir, "memory.max", NULL);
		found++;
	}
	if (v2 && cpu && !out->cpu_ns && readable(dir, "cpu.stat")) {
		out->cpu_ns = sb_cg_sum_keyed(dir, "cpu.stat", "usage_usec") * 1000;
		found += out->cpu_ns > 0;
	}
	if (v2 && io && readable(dir, "io.stat")) {
		out->io_read_bytes += sb_cg_sum_keyed(dir, "io.stat", "rbytes");
		out->io_write_bytes += sb_cg_sum_keyed(dir, "io.stat", "wbytes");
	}
	return found;
}

int sb_cg_procs(const char *dir, pid_t *pids, size_t cap, size_t *n)
{
	char p[PATH_MAX + 32];
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	FILE *f = fopen(p, "re");
	if (!f)
		return -ENOENT;
	long v;
	while (fscanf(f, "%ld", &v) == 1) {
		if (*n < cap)
			pids[*n] = (pid_t)v;
		(*n)++;
	}
	fclose(f);
	return 0;
}

int sb_proc_stat_parse(const char *buf, bool with_children, uint64_t *cpu_ns, uint64_t *rss_bytes)
{
	/* After the ")" of comm: state is field 3, utime 14, stime 15, cutime 16, cstime 17, rss 24
	 * (pages; the same counter statm's resident and smaps' Rss add up). */
	const char *s = strrchr(buf, ')');
	unsigned long long v[4] = {0};
	long long pages = 0;
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu %*d %*d %*d %*d %*u %*u %lld",
			 &v[0], &v[1], &v[2], &v[3], &pages) != 5)
		return -EIO;
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE); /* no syscall: constants */
	hz = hz > 0 ? hz : 100;
	page = page > 0 ? page : 4096;
	unsigned long long ticks = v[0] + v[1] + (with_children ? v[2] + v[3] : 0);
	*cpu_ns += (uint64_t)ticks * (1000000000ull / (uint64_t)hz);
	*rss_bytes += pages > 0 ? (uint64_t)pages * (uint64_t)page : 0;
	return 0;
}

int sb_proc_stat_brief(pid_t pid, bool with_children, uint64_t *cpu_ns, uint64_t *rss_bytes)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return sb_proc_stat_parse(buf, with_children, cpu_ns, rss_bytes);
}

void sb_proc_mem(pid_t pid, uint64_t *pss, uint64_t *rss)
{
	char p[64], line[256];
	snprintf(p, sizeof(p), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return;
	unsigned long long kb;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Pss: %llu kB", &kb) == 1)
			*pss += kb * 1024;
		else if (sscanf(line, "Rss: %llu kB", &kb) == 1)
			*rss += kb * 1024;
	}
	fclose(f);
}

uint64_t sb_proc_cpu_ns(pid_t pid, bool with_children)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the ")" of comm: state is field 3, utime 14, stime 15, cutime 16, cstime 17. */
	char *s = strrchr(buf, ')');
	unsigned long long v[4] = {0};
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			 &v[3]) != 4)
		return 0;
	unsigned long long ticks = v[0] + v[1] + (with_children ? v[2] + v[3] : 0);
	long hz = sysconf(_SC_CLK_TCK);
	return (uint64_t)ticks * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
}

int sb_proc_mem_detail(pid_t pid, struct sb_proc_memx *out)
{
	char p[64], line[256];
	memset(out, 0, sizeof(*out));
	snprintf(p, sizeof(p), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return -errno;
	unsigned long long kb;
	bool any = false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Rss: %llu kB", &kb) == 1)
			out->rss += kb * 1024, any = true;
		else if (sscanf(line, "Pss: %llu kB", &kb) == 1)
			out->pss += kb * 1024;
		else if (sscanf(line, "Private_Clean: %llu kB", &kb) == 1 ||
			 sscanf(line, "Private_Dirty: %llu kB", &kb) == 1 ||
			 sscanf(line, "Private_Hugetlb: %llu kB", &kb) == 1)
			out->uss += kb * 1024;
		else if (sscanf(line, "Swap: %llu kB", &kb) == 1)
			out->swap += kb * 1024;
	}
	fclose(f);
	/* A kernel thread or a zombie has an empty rollup: nothing of it is resident. */
	(void)any;
	return 0;
}

int sb_proc_fd_count(pid_t pid)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(p);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* utime+stime (self) and cutime+cstime (children) of /proc/PID/stat, in clock ticks. */
static bool stat_ticks(pid_t pid, unsigned long long *self, unsigned long long *children)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *s = strrchr(buf, ')');
	unsigned long long v[4];
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			 &v[3]) != 4)
		return false;
	*self = v[0] + v[1];
	*children = v[2] + v[3];
	return true;
}

uint64_t sb_proc_cpu_exact_ns(pid_t pid, bool with_children)
{
	unsigned long long self_t, child_t;
	if (!stat_ticks(pid, &self_t, &child_t))
		return 0;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t tick = 1000000000ull / (uint64_t)(hz > 0 ? hz : 100);
	uint64_t sched = 0;
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/task", (int)pid);
	DIR *d = opendir(p);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char tp[300], buf[128];
		snprintf(tp, sizeof(tp), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		int fd = open(tp, O_RDONLY | O_CLOEXEC);
		ssize_t r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (r > 0) {
			buf[r] = '\0';
			sched += strtoull(buf, NULL, 10);
		}
	}
	if (d)
		closedir(d);
	uint64_t self = (uint64_t)self_t * tick;
	return (sched > self ? sched : self) + (with_children ? (uint64_t)child_t * tick : 0);
}

pid_t sb_proc_ppid(pid_t pid)
{
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *s = strrchr(buf, ')');
	int ppid = 0;
	if (!s || sscanf(s + 2, "%*c %d", &ppid) != 1)
		return 0;
	return (pid_t)ppid;
}

void sb_proc_comm(pid_t pid, char *buf, size_t len)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/comm", (int)pid);
	buf[0] = '\0';
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t r = read(fd, buf, len - 1);
	close(fd);
	buf[r > 0 ? r : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* The inode of the listening unix socket bound to path, 0 when there is none. */
static unsigned long unix_listen_inode(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "re");
	if (!f)
		return 0;
	char line[PATH_MAX + 128];
	unsigned long inode = 0;
	while (!inode && fgets(line, sizeof(line), f)) {
		unsigned long flags, ino;
		char sock_path[PATH_MAX];
		/* Num RefCount Protocol Flags Type St Inode Path; listening sockets carry
		 * __SO_ACCEPTCON (0x10000) in Flags. */
		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %lu %4095s", &flags, &ino, sock_path) == 3 &&
		    (flags & 0x10000) && strcmp(sock_path, path) == 0)
			inode = ino;
	}
	fclose(f);
	return inode;
}

pid_t sb_proc_unix_listener(const char *path)
{
	unsigned long inode = unix_listen_inode(path);
	if (!inode)
		return 0;
	char want[64];
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	DIR *procs = opendir("/proc");
	pid_t found = 0;
	struct dirent *pe;
	while (!found && procs && (pe = readdir(procs))) {
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		char fdp[300];
		snprintf(fdp, sizeof(fdp), "/proc/%s/fd", pe->d_name);
		DIR *fds = opendir(fdp);
		struct dirent *fe;
		while (!found && fds && (fe = readdir(fds))) {
			char lp[600], target[64];
			snprintf(lp, sizeof(lp), "%s/%s", fdp, fe->d_name);
			ssize_t r = readlink(lp, target, sizeof(target) - 1);
			if (r > 0) {
				target[r] = '\0';
				if (strcmp(target, want) == 0)
					found = (pid_t)atoi(pe->d_name);
			}
		}
		if (fds)
			closedir(fds);
	}
	if (procs)
		closedir(procs);
	return found;
}

uint64_t sb_meminfo_bytes(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return 0;
	char line[256];
	size_t kl = strlen(key);
	uint64_t v = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtoull(line + kl + 1, NULL, 10) * 1024;
			break;
		}
	}
	fclose(f);
	return v;
}
