/* Per-process accounting from the host side: which host pids belong to a box, and their PSS/RSS. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "native/native_int.h"

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
