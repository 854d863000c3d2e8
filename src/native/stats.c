/* Per-process accounting from the host side: which host pids belong to a box, and their PSS/RSS. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/proc.h"
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
	/* No cgroup: init and its descendants. Everything in a box descends from init (commands and
	 * agents are forked by it, orphans are re-parented to it), so this walks the box alone, not
	 * every process on the host: O(box) matters with a thousand boxes. */
	char children[64];
	snprintf(children, sizeof(children), "/proc/%d/task/%d/children", (int)box->init_pid, (int)box->init_pid);
	if (access(children, R_OK) == 0) {
		size_t walk_cap = cap > 64 ? cap : 64, have = 1, next = 0;
		pid_t *walk = malloc(walk_cap * sizeof(pid_t));
		if (!walk)
			return -ENOMEM;
		walk[0] = box->init_pid;
		while (next < have) {
			pid_t p = walk[next++];
			if (have == walk_cap) {
				pid_t *grown = realloc(walk, 2 * walk_cap * sizeof(pid_t));
				if (!grown)
					break;
				walk = grown;
				walk_cap *= 2;
			}
			have += sb_proc_children(p, walk + have, walk_cap - have);
		}
		for (size_t i = 0; i < have; i++)
			if (i < cap)
				pids[i] = walk[i];
		*n = have;
		free(walk);
		return 0;
	}
	/* Without /proc/PID/task/TID/children: every process whose pid namespace is the box's
	 * (init's children use pid_for_children, which equals init's own namespace). */
	ino_t want = 0;
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
		ino_t ino = 0;
		if (ns_inode((pid_t)v, &ino) == 0 && ino == want) {
			if (*n < cap)
				pids[*n] = (pid_t)v;
			(*n)++;
		}
	}
	closedir(d);
	return 0;
}
