/* A census of host objects a sandbox can leave behind, taken before and after a stability
 * scenario: sandbench's own live descendant processes and open fds, and, host-wide, mounts,
 * cgroups, network namespaces and network interfaces (veths). Objects are compared as sets of
 * names, so what appeared and stayed is a leak and what others removed meanwhile cannot hide it.
 *
 * Teardown still in progress is not a leak: a zombie descendant, and the pidfd kept to reap it,
 * are left out (a driver may reap destroyed boxes later; the zombie count is kept apart).
 *
 * The host is shared, so objects that are provably another sandbench run's are left out too:
 * a name holding another run's box name ("sb-<run>-", the runner's naming), a native box of
 * another process ("sandbench-native-<pid>-"), and what a marker under /run/sandbench names
 * (owner=, veth=, cgroup= lines) when none of its owners is this process. */
#pragma once
#include <stddef.h>

enum sb_census_kind {
	SB_CENSUS_PROCESSES,
	SB_CENSUS_FDS,
	SB_CENSUS_MOUNTS,
	SB_CENSUS_CGROUPS,
	SB_CENSUS_NETNS,
	SB_CENSUS_VETHS,
	SB_CENSUS_N,
};

/* Metric-style names: "processes", "fds", "mounts", "cgroups", "netns", "veths". */
extern const char *const sb_census_names[SB_CENSUS_N];

struct sb_census {
	char **items[SB_CENSUS_N]; /* sorted names */
	size_t n[SB_CENSUS_N];
	size_t zombies;            /* descendants that died and wait to be reaped */
	char **others;             /* names marked as other processes' (veths, cgroup dirs) */
	size_t nothers;
};

/* Take a census; 0 or -errno (out of memory). Unreadable sources count as empty. */
int sb_census_take(struct sb_census *c);
void sb_census_free(struct sb_census *c);
/* How many objects of each kind are in after but not in before (those of other runs left out;
 * run_id is this run's id); the first few new names into what (one line, "" when nothing new). */
void sb_census_new(const struct sb_census *before, const struct sb_census *after, const char *run_id,
		   size_t out[SB_CENSUS_N], char *what, size_t wlen);
