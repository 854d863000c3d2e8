#include "scenarios/census.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

const char *const sb_census_names[SB_CENSUS_N] = {"processes", "fds", "mounts", "cgroups", "netns", "veths"};

struct list {
	char **v;
	size_t n, cap;
	bool oom;
};

static void add(struct list *l, const char *s)
{
	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **g = realloc(l->v, cap * sizeof(*g));
		if (!g) {
			l->oom = true;
			return;
		}
		l->v = g;
		l->cap = cap;
	}
	char *d = strdup(s);
	if (!d) {
		l->oom = true;
		return;
	}
	l->v[l->n++] = d;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parent and state of pid from /proc/PID/stat (the comm may hold spaces and parens). */
static bool proc_stat(pid_t pid, pid_t *ppid, char *state)
{
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *rp = strrchr(buf, ')');
	int pp;
	if (!rp || sscanf(rp + 1, " %c %d", state, &pp) != 2)
		return false;
	*ppid = pp;
	return true;
}

/* Our descendants (live ones by pid, zombies counted apart) and their network namespaces. */
static void scan_procs(struct list *procs, struct list *netns, size_t *zombies)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	size_t cap = 4096, n = 0;
	pid_t *pid = malloc(cap * sizeof(*pid)), *ppid = malloc(cap * sizeof(*ppid));
	char *state = malloc(cap);
	struct dirent *de;
	while (pid && ppid && state && (de = readdir(d))) {
		char *end;
		long v = strtol(de->d_name, &end, 10);
		if (*end || v <= 0)
			continue;
		if (n == cap)
			continue; /* a host with more processes than this: descendants may be missed */
		if (proc_stat((pid_t)v, &ppid[n], &state[n]))
			pid[n++] = (pid_t)v;
	}
	closedir(d);
	/* Descendants of ours: walk up each chain (bounded: pid 1 ends every chain). */
	pid_t self = getpid();
	for (size_t i = 0; pid && ppid && state && i < n; i++) {
		pid_t p = ppid[i];
		bool ours = false;
		for (int depth = 0; depth < 64 && p > 1 && !ours; depth++) {
			if (p == self) {
				ours = true;
				break;
			}
			size_t j = 0;
			while (j < n && pid[j] != p)
				j++;
			if (j == n)
				break;
			p = ppid[j];
		}
		if (!ours)
			continue;
		if (state[i] == 'Z') {
			(*zombies)++;
			continue;
		}
		char s[24];
		snprintf(s, sizeof(s), "%d", (int)pid[i]);
		add(procs, s);
		/* A namespace a sandbox leaves behind is held by a process of ours that stayed, or by a
		 * bind mount (an nsfs mount, counted with the mounts, or /run/netns): other tenants'
		 * namespaces are none of these. */
		char link[64], target[64];
		snprintf(link, sizeof(link), "/proc/%d/ns/net", (int)pid[i]);
		ssize_t k = readlink(link, target, sizeof(target) - 1);
		if (k > 0) {
			target[k] = '\0';
			add(netns, target);
		}
	}
	free(pid);
	free(ppid);
	free(state);
}

static void scan_fds(struct list *l)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int dfd = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dfd)
			continue;
		char link[64], target[256];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		ssize_t k = readlink(link, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		/* A pidfd kept to reap a destroyed box later is teardown in progress. */
		if (strcmp(target, "anon_inode:[pidfd]") == 0)
			continue;
		char s[300];
		snprintf(s, sizeof(s), "%s->%s", de->d_name, target);
		add(l, s);
	}
	closedir(d);
}

static void scan_mounts(struct list *l)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		char point[2048];
		char *dash = strstr(line, " - ");
		char fstype[64] = "?";
		if (sscanf(line, "%*s %*s %*s %*s %2047s", point) != 1)
			continue;
		if (dash)
			sscanf(dash + 3, "%63s", fstype);
		char s[2200];
		snprintf(s, sizeof(s), "%s (%s)", point, fstype);
		add(l, s);
	}
	fclose(f);
}

static void walk_cgroups(struct list *l, const char *dir, const char *rel, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		char p[4096], r[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		snprintf(r, sizeof(r), "%s/%s", rel, de->d_name);
		add(l, r);
		if (depth < 8)
			walk_cgroups(l, p, r, depth + 1);
	}
	closedir(d);
}

static void scan_names(struct list *l, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			add(l, de->d_name);
	closedir(d);
}

/* Markers under /run/sandbench/<driver>/: what they name belongs to their owners. */
static void scan_markers(struct list *others)
{
	DIR *top = opendir("/run/sandbench");
	if (!top)
		return;
	struct dirent *de;
	while ((de = readdir(top))) {
		if (de->d_name[0] == '.')
			continue;
		char dir[512];
		snprintf(dir, sizeof(dir), "/run/sandbench/%s", de->d_name);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *m;
		while ((m = readdir(d))) {
			if (m->d_type != DT_REG)
				continue;
			char p[1024], line[4200];
			snprintf(p, sizeof(p), "%s/%s", dir, m->d_name);
			FILE *f = fopen(p, "re");
			if (!f)
				continue;
			bool mine = false, owned = false;
			struct list named = {0};
			while (fgets(line, sizeof(line), f)) {
				line[strcspn(line, "\n")] = '\0';
				if (strncmp(line, "owner=", 6) == 0) {
					owned = true;
					mine |= atoi(line + 6) == (int)getpid();
				} else if (strncmp(line, "veth=", 5) == 0) {
					add(&named, line + 5);
				} else if (strncmp(line, "cgroup=", 7) == 0) {
					const char *base = strrchr(line + 7, '/');
					add(&named, base ? base + 1 : line + 7);
				}
			}
			fclose(f);
			for (size_t i = 0; i < named.n; i++) {
				if (owned && !mine)
					add(others, named.v[i]);
				free(named.v[i]);
			}
			free(named.v);
		}
		closedir(d);
	}
	closedir(top);
}

int sb_census_take(struct sb_census *c)
{
	memset(c, 0, sizeof(*c));
	struct list l[SB_CENSUS_N];
	memset(l, 0, sizeof(l));
	scan_procs(&l[SB_CENSUS_PROCESSES], &l[SB_CENSUS_NETNS], &c->zombies);
	scan_fds(&l[SB_CENSUS_FDS]);
	scan_mounts(&l[SB_CENSUS_MOUNTS]);
	walk_cgroups(&l[SB_CENSUS_CGROUPS], "/sys/fs/cgroup", "", 0);
	/* Named network namespaces outlive their processes. */
	struct list named = {0};
	scan_names(&named, "/run/netns");
	for (size_t i = 0; i < named.n; i++) {
		char s[300];
		snprintf(s, sizeof(s), "/run/netns/%s", named.v[i]);
		add(&l[SB_CENSUS_NETNS], s);
		free(named.v[i]);
	}
	free(named.v);
	scan_names(&l[SB_CENSUS_VETHS], "/sys/class/net");
	struct list others = {0};
	scan_markers(&others);
	c->others = others.v;
	c->nothers = others.n;
	bool oom = others.oom;
	for (int k = 0; k < SB_CENSUS_N; k++) {
		oom |= l[k].oom;
		if (l[k].n)
			qsort(l[k].v, l[k].n, sizeof(char *), cmp_str);
		/* Many processes share one namespace: keep each once. */
		size_t w = 0;
		for (size_t i = 0; i < l[k].n; i++) {
			if (w && strcmp(l[k].v[w - 1], l[k].v[i]) == 0) {
				free(l[k].v[i]);
				continue;
			}
			l[k].v[w++] = l[k].v[i];
		}
		c->items[k] = l[k].v;
		c->n[k] = w;
	}
	if (oom) {
		sb_census_free(c);
		return -ENOMEM;
	}
	return 0;
}

void sb_census_free(struct sb_census *c)
{
	for (size_t i = 0; i < c->nothers; i++)
		free(c->others[i]);
	free(c->others);
	for (int k = 0; k < SB_CENSUS_N; k++) {
		for (size_t i = 0; i < c->n[k]; i++)
			free(c->items[k][i]);
		free(c->items[k]);
	}
	memset(c, 0, sizeof(*c));
}

/* Is this name provably another sandbench run's object? */
static bool others_object(const struct sb_census *before, const struct sb_census *after, const char *run_id,
			  const char *s)
{
	/* The runner names boxes sb-<first 8 of the run id>-<n>. */
	for (const char *p = strstr(s, "sb-"); p; p = strstr(p + 1, "sb-")) {
		size_t k = 0;
		while (k < 8 && ((p[3 + k] >= '0' && p[3 + k] <= '9') || (p[3 + k] >= 'a' && p[3 + k] <= 'f')))
			k++;
		if (k == 8 && p[11] == '-' && strncmp(p + 3, run_id, 8) != 0)
			return true;
	}
	const char *nat = strstr(s, "sandbench-native-");
	if (nat && atoi(nat + 17) != (int)getpid())
		return true;
	const struct sb_census *cs[2] = {before, after};
	for (int c = 0; c < 2; c++)
		for (size_t i = 0; i < cs[c]->nothers; i++) {
			const char *o = cs[c]->others[i], *hit = strstr(s, o);
			size_t n = strlen(o);
			/* The whole name, or a whole path component. */
			if (hit && (hit == s || hit[-1] == '/') && (hit[n] == '\0' || hit[n] == '/'))
				return true;
		}
	return false;
}

void sb_census_new(const struct sb_census *before, const struct sb_census *after, const char *run_id,
		   size_t out[SB_CENSUS_N], char *what, size_t wlen)
{
	if (wlen)
		what[0] = '\0';
	for (int k = 0; k < SB_CENSUS_N; k++) {
		out[k] = 0;
		size_t i = 0, j = 0, named = 0;
		while (j < after->n[k]) {
			int c = i < before->n[k] ? strcmp(before->items[k][i], after->items[k][j]) : 1;
			if (c < 0) {
				i++;
				continue;
			}
			if (c == 0) {
				i++;
				j++;
				continue;
			}
			if (k != SB_CENSUS_PROCESSES && k != SB_CENSUS_FDS &&
			    others_object(before, after, run_id, after->items[k][j])) {
				j++;
				continue;
			}
			out[k]++;
			if (named++ < 3 && wlen > strlen(what) + 1) {
				size_t used = strlen(what);
				snprintf(what + used, wlen - used, "%s%s %s", used ? "; " : "", sb_census_names[k],
					 after->items[k][j]);
			}
			j++;
		}
	}
}
