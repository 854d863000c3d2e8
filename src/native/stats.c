/* Per-process accounting from the host side: which host pids belong to a box, and their PSS/RSS. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "native/native_int.h"

void sbn_proc_mem(pid_t pid, uint64_t *pss, uint64_t *rss)
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

uint64_t sbn_proc_cpu_ns(pid_t pid, bool with_children)
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
	unsigned long long v[17] = {0};
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			 &v[3]) != 4)
		return 0;
	unsigned long long ticks = v[0] + v[1] + (with_children ? v[2] + v[3] : 0);
	long hz = sysconf(_SC_CLK_TCK);
	return (uint64_t)ticks * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
}

static int ns_inode(pid_t pid, ino_t *ino)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)pid);
	struct stat st;
	if (stat(p, &st) < 0)
		return -errno;
	*ino = st.st_ino;
	return 0;
}

int sbn_box_pids(struct sb_box *box, pid_t *pids, size_t cap, size_t *n)
{
	*n = 0;
	if (box->stopped || box->init_pid <= 0)
		return 0;
	if (sbn_cg_pids(&box->cg, pids, cap, n) == 0)
		return 0;
	/* No cgroup: every process whose pid namespace is the box's (init's children use
	 * pid_for_children, which equals init's own namespace). */
	ino_t want;
	int rc = ns_inode(box->init_pid, &want);
	if (rc < 0)
		return rc;
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long v = strtol(de->d_name, &end, 10);
		if (*end || v <= 0)
			continue;
		ino_t ino;
		if (ns_inode((pid_t)v, &ino) == 0 && ino == want) {
			if (*n < cap)
				pids[*n] = (pid_t)v;
			(*n)++;
		}
	}
	closedir(d);
	return 0;
}
