/* What the sandbox costs the code inside it: the price of a cheap system call (seccomp
 * filters, user namespaces, a gVisor sentry or a VM exit show up here), of a fork, and
 * the memory bandwidth a process gets; plus fs-info, which says what filesystem a path
 * is really on (the disk workloads' results mean little without it). */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
	unsigned long magic;
	const char *name;
} fs_names[] = {
	{ 0xef53, "ext4" },         { 0x01021994, "tmpfs" },   { 0x794c7630, "overlay" },
	{ 0x01021997, "9p" },       { 0x58465342, "xfs" },     { 0x9123683e, "btrfs" },
	{ 0x65735546, "fuse" },     { 0x6969, "nfs" },         { 0x73717368, "squashfs" },
	{ 0x858458f6, "ramfs" },    { 0x9fa0, "proc" },        { 0x62656572, "sysfs" },
	{ 0x28cd3d45, "cramfs" },   { 0x2fc12fc1, "zfs" },     { 0xf2f52010, "f2fs" },
	{ 0x4d44, "vfat" },         { 0x5346544e, "ntfs" },    { 0x1021994, "tmpfs" },
	{ 0xde5e81e4, "efivarfs" }, { 0x6e736673, "nsfs" },    { 0x64626720, "debugfs" },
};

static const char *fs_name(unsigned long magic)
{
	for (size_t i = 0; i < sizeof(fs_names) / sizeof(fs_names[0]); i++)
		if (fs_names[i].magic == magic)
			return fs_names[i].name;
	return "unknown";
}

/* The mount that holds path (the longest mount point that prefixes it) from
 * /proc/self/mountinfo, when /proc is there: its source tells a virtio-blk disk
 * (/dev/vda) from an image file or a host share. Best effort. */
static void mount_of(const char *path, char *mp, size_t mplen, char *src, size_t srclen)
{
	snprintf(mp, mplen, "?");
	snprintf(src, srclen, "?");
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	char line[4096];
	size_t best = 0;
	while (fgets(line, sizeof(line), f)) {
		char point[1024], source[512];
		/* id parent maj:min root point opts ... - fstype source superopts */
		if (sscanf(line, "%*s %*s %*s %*s %1023s", point) != 1)
			continue;
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(dash + 3, "%*s %511s", source) != 1)
			continue;
		size_t n = strlen(point);
		bool under = strcmp(point, "/") == 0 ||
		             (strncmp(path, point, n) == 0 && (path[n] == '/' || path[n] == '\0'));
		if (under && n >= best) {
			best = n;
			snprintf(mp, mplen, "%s", point);
			snprintf(src, srclen, "%s", source);
		}
	}
	fclose(f);
}

int agent_cmd_fs_info(int argc, char **argv)
{
	const char *cmd = "fs-info", *pos[1];
	bool do_mkdir = false;
	const struct agent_opt opts[] = {
		{ "--mkdir", false, NULL, &do_mkdir },
		{ 0 },
	};
	if (agent_getopt(cmd, argc, argv, opts, pos, 1) != 1)
		agent_usage(cmd, "PATH is required");
	if (do_mkdir && mkdir(pos[0], 0755) < 0 && errno != EEXIST)
		agent_fail(cmd, errno, "mkdir %s", pos[0]);
	struct statfs sf;
	if (statfs(pos[0], &sf) < 0)
		agent_fail(cmd, errno, "statfs %s", pos[0]);
	struct stat st;
	if (stat(pos[0], &st) < 0)
		agent_fail(cmd, errno, "stat %s", pos[0]);
	bool writable = access(pos[0], W_OK) == 0 && !(sf.f_flags & ST_RDONLY);
	char mp[1024], src[512];
	char abs[4096];
	if (!realpath(pos[0], abs))
		snprintf(abs, sizeof(abs), "%s", pos[0]);
	mount_of(abs, mp, sizeof(mp), src, sizeof(src));
	printf("{\"workload\":\"fs-info\",\"path\":");
	agent_json_str(stdout, pos[0]);
	printf(",\"fs\":\"%s\",\"magic\":\"0x%lx\",\"mount_point\":", fs_name((unsigned long)sf.f_type),
	       (unsigned long)sf.f_type);
	agent_json_str(stdout, mp);
	printf(",\"source\":");
	agent_json_str(stdout, src);
	printf(",\"writable\":%s,\"block_size\":%lu", writable ? "true" : "false",
	       (unsigned long)(sf.f_bsize ? sf.f_bsize : 1));
	if (S_ISREG(st.st_mode))
		printf(",\"size_bytes\":%lld", (long long)(st.st_size ? st.st_size : 0));
	printf("}\n");
	return 0;
}

/* A syscall that does almost nothing, called directly (never through the vDSO or a libc
 * cache), so the number is the trip into the kernel and back as the sandbox makes it. */
static double ns_per_call(long nr, uint64_t count)
{
	struct timespec ts;
	int64_t t0 = agent_now(CLOCK_MONOTONIC);
	for (uint64_t i = 0; i < count; i++) {
		if (nr == SYS_clock_gettime)
			syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
		else
			syscall(nr);
	}
	return (double)(agent_now(CLOCK_MONOTONIC) - t0) / (double)count;
}

int agent_cmd_syscall_loop(int argc, char **argv)
{
	const char *cmd = "syscall-loop", *count_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--count", true, &count_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	uint64_t count = count_s ? agent_uint_arg(cmd, "--count", count_s, 1, 1000000000) : 200000;
	/* Best of three rounds: the floor is what the sandbox imposes, the rest is the host's
	 * other tenants. */
	double ppid = 1e18, clk = 1e18;
	for (int r = 0; r < 3; r++) {
		double a = ns_per_call(SYS_getppid, count), b = ns_per_call(SYS_clock_gettime, count);
		ppid = a < ppid ? a : ppid;
		clk = b < clk ? b : clk;
	}
	printf("{\"workload\":\"syscall-loop\",\"count\":%" PRIu64 ",\"getppid_ns\":%.3f,"
	       "\"clock_gettime_ns\":%.3f}\n",
	       count, ppid > 0 ? ppid : 0.001, clk > 0 ? clk : 0.001);
	return 0;
}

int agent_cmd_fork_rate(int argc, char **argv)
{
	const char *cmd = "fork-rate", *count_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--count", true, &count_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	uint64_t count = count_s ? agent_uint_arg(cmd, "--count", count_s, 1, 10000000) : 500;
	int64_t *lat = malloc(sizeof(int64_t) * count);
	if (!lat)
		agent_fail(cmd, ENOMEM, "latency array");
	int64_t t0 = agent_now(CLOCK_MONOTONIC);
	for (uint64_t i = 0; i < count; i++) {
		int64_t a = agent_now(CLOCK_MONOTONIC);
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0)
			agent_fail(cmd, errno, "fork number %" PRIu64, i + 1);
		int st;
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				agent_fail(cmd, errno, "waitpid");
		int64_t b = agent_now(CLOCK_MONOTONIC);
		lat[i] = b - a > 0 ? b - a : 1;
	}
	double secs = agent_secs(t0, agent_now(CLOCK_MONOTONIC));
	agent_sort_i64(lat, count);
	printf("{\"workload\":\"fork-rate\",\"count\":%" PRIu64 ",\"seconds\":%.9f,"
	       "\"forks_per_s\":%.6g,\"lat_p50_us\":%.3f,\"lat_p99_us\":%.3f}\n",
	       count, secs, (double)count / secs, (double)agent_percentile(lat, count, 50) / 1e3,
	       (double)agent_percentile(lat, count, 99) / 1e3);
	free(lat);
	return 0;
}

int agent_cmd_mem_bw(int argc, char **argv)
{
	const char *cmd = "mem-bw", *size_s = NULL, *passes_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--size", true, &size_s, NULL },
		{ "--passes", true, &passes_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	uint64_t size = size_s ? agent_size_arg(cmd, "--size", size_s, 4096) : (64u << 20);
	if (size > SIZE_MAX / 4)
		agent_usage(cmd, "--size: '%s' is too large for this machine", size_s);
	uint64_t passes = passes_s ? agent_uint_arg(cmd, "--passes", passes_s, 1, 1000) : 5;
	uint8_t *a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED)
		agent_fail(cmd, errno, "mmap 2 x %" PRIu64 " bytes", size);
	/* Touched before timing: the page-fault path is mem-touch's business, not this one's. */
	memset(a, 1, size);
	memset(b, 2, size);
	double best_copy = 0, best_write = 0, best_read = 0;
	volatile uint64_t sink = 0;
	for (uint64_t p = 0; p < passes; p++) {
		int64_t t0 = agent_now(CLOCK_MONOTONIC);
		memcpy(b, a, size);
		int64_t t1 = agent_now(CLOCK_MONOTONIC);
		memset(a, (int)(p & 0xff), size);
		int64_t t2 = agent_now(CLOCK_MONOTONIC);
		uint64_t sum = 0;
		const uint64_t *w = (const uint64_t *)b;
		for (size_t i = 0; i < size / 8; i++)
			sum += w[i];
		sink = sum;
		int64_t t3 = agent_now(CLOCK_MONOTONIC);
		double mib = (double)size / 1048576.0;
		double c = mib / agent_secs(t0, t1), wr = mib / agent_secs(t1, t2), rd = mib / agent_secs(t2, t3);
		best_copy = c > best_copy ? c : best_copy;
		best_write = wr > best_write ? wr : best_write;
		best_read = rd > best_read ? rd : best_read;
	}
	(void)sink;
	munmap(a, size);
	munmap(b, size);
	printf("{\"workload\":\"mem-bw\",\"bytes\":%" PRIu64 ",\"passes\":%" PRIu64
	       ",\"copy_mib_per_s\":%.6g,\"write_mib_per_s\":%.6g,\"read_mib_per_s\":%.6g}\n",
	       size, passes, best_copy, best_write, best_read);
	return 0;
}
