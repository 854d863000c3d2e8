/* cgroups for native boxes: v1, v2 and hybrid layouts. Each controller is looked up on its own
 * (a hybrid host has the controllers on v1 hierarchies and a v2 `unified` mount that may hold
 * some or none), the box's cgroups are made under the cgroup sandbench itself runs in (so a
 * delegated subtree is respected), and a controller counts as usable only when a child cgroup
 * could be made and a limit written in it — otherwise limits are reported unsupported. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/box.h"
#include "core/cgfs.h"
#include "native/native_int.h"

static const char *const v1_names[SBN_CTRL_N] = {"memory", "pids", "cpu", "cpuacct", "blkio"};
static const char *const v2_names[SBN_CTRL_N] = {"memory", "pids", "cpu", "cpu", "io"};
/* The file written to prove a controller is usable (v1, v2). */
static const char *const probe_files[SBN_CTRL_N][2] = {
	{"memory.limit_in_bytes", "memory.max"}, {"pids.max", "pids.max"},
	{"cpu.cfs_quota_us", "cpu.max"},         {"cpuacct.usage", "cpu.stat"},
	{"blkio.weight", "io.stat"},
};

static struct sbn_cg_layout layout;

static int write_str(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, val, strlen(val));
	int e = errno;
	close(fd);
	return w < 0 ? -e : 0;
}

static bool has_word(const char *list, const char *word, char sep)
{
	size_t wl = strlen(word);
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, sep);
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == wl && strncmp(p, word, wl) == 0)
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* Our cgroup path in the hierarchy whose /proc/self/cgroup line names ctrl (v1), or the v2 path
 * when ctrl is NULL. */
static bool self_path(const char *ctrl, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1;
		if ((ctrl && has_word(ctrls, ctrl, ',')) || (!ctrl && !*ctrls && strncmp(line, "0", 1) == 0)) {
			snprintf(out, len, "%s", c2 + 1);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static bool probe_writable(int c)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%sprobe-%d", layout.base[c], SBN_CG_PREFIX, (int)getpid());
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return false;
	bool ok;
	if (c == SBN_CTRL_CPUACCT || c == SBN_CTRL_BLKIO) {
		char p[PATH_MAX + 64];
		snprintf(p, sizeof(p), "%s/%s", dir, probe_files[c][layout.v2[c]]);
		ok = access(p, R_OK) == 0;
	} else if (c == SBN_CTRL_MEMORY) {
		ok = write_str(dir, probe_files[c][layout.v2[c]], layout.v2[c] ? "max" : "-1") == 0;
	} else if (c == SBN_CTRL_CPU) {
		ok = write_str(dir, probe_files[c][layout.v2[c]], layout.v2[c] ? "max 100000" : "-1") == 0;
	} else {
		ok = write_str(dir, probe_files[c][layout.v2[c]], "max") == 0;
	}
	rmdir(dir);
	return ok;
}

static void detect_layout(void)
{
	layout.probed = true;
	char v1_mounts[SBN_CTRL_N][PATH_MAX] = {{0}};
	char v2_mount[PATH_MAX] = "";
	bool any_v1 = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	while (f && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		char mnt[PATH_MAX], fstype[64], src[256], opts[1024];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %255s %1023s", fstype, src, opts) != 3)
			continue;
		if (strcmp(fstype, "cgroup2") == 0 && !v2_mount[0]) {
			snprintf(v2_mount, sizeof(v2_mount), "%s", mnt);
		} else if (strcmp(fstype, "cgroup") == 0) {
			any_v1 = true;
			for (int c = 0; c < SBN_CTRL_N; c++)
				if (has_word(opts, v1_names[c], ',') && !v1_mounts[c][0])
					snprintf(v1_mounts[c], PATH_MAX, "%s", mnt);
		}
	}
	if (f)
		fclose(f);
	char v2_ctrls[512] = "";
	char v2_self[PATH_MAX] = "";
	if (v2_mount[0] && self_path(NULL, v2_self, sizeof(v2_self))) {
		char p[PATH_MAX * 2 + 32];
		snprintf(p, sizeof(p), "%s%s/cgroup.controllers", v2_mount, strcmp(v2_self, "/") ? v2_self : "");
		FILE *cf = fopen(p, "re");
		if (cf) {
			if (!fgets(v2_ctrls, sizeof(v2_ctrls), cf))
				v2_ctrls[0] = '\0';
			v2_ctrls[strcspn(v2_ctrls, "\n")] = '\0';
			fclose(cf);
		}
	}
	layout.kind = any_v1 && v2_mount[0] ? 3 : v2_mount[0] ? 2 : any_v1 ? 1 : 0;
	char used[128] = "";
	for (int c = 0; c < SBN_CTRL_N; c++) {
		char self[PATH_MAX];
		if (v1_mounts[c][0] && self_path(v1_names[c], self, sizeof(self))) {
			if (snprintf(layout.base[c], PATH_MAX, "%s%s", v1_mounts[c], strcmp(self, "/") ? self : "") >= PATH_MAX)
				continue;
		} else if (v2_mount[0] && has_word(v2_ctrls, v2_names[c], ' ')) {
			char base[PATH_MAX * 2];
			snprintf(base, sizeof(base), "%s%s", v2_mount, strcmp(v2_self, "/") ? v2_self : "");
			if (snprintf(layout.base[c], PATH_MAX, "%s", base) >= PATH_MAX)
				continue;
			layout.v2[c] = true;
			/* Children only get the controller when our cgroup delegates it. */
			char en[32];
			snprintf(en, sizeof(en), "+%s", v2_names[c]);
			write_str(base, "cgroup.subtree_control", en);
		} else {
			continue;
		}
		layout.writable[c] = probe_writable(c);
		if (layout.writable[c]) {
			size_t ul = strlen(used);
			snprintf(used + ul, sizeof(used) - ul, "%s%s%s", ul ? "," : "", v1_names[c],
				 layout.v2[c] ? "(v2)" : "(v1)");
		}
	}
	snprintf(layout.note, sizeof(layout.note), "cgroups %s; usable: %s",
		 layout.kind == 3 ? "hybrid" : layout.kind == 2 ? "v2" : layout.kind == 1 ? "v1" : "absent",
		 used[0] ? used : "none");
}

/* Detected on first use only: a box without limits needs no cgroup, and the probe (a mkdir in
 * each controller: ~10 ms for v1 memory here) would be most of a one-shot exec. Boxes are made
 * from several threads, so the first use may come from any of them. */
static pthread_once_t layout_once = PTHREAD_ONCE_INIT;

const struct sbn_cg_layout *sbn_cg_layout(void)
{
	pthread_once(&layout_once, detect_layout);
	return &layout;
}

static bool dup_dir(const struct sbn_cg *cg, int c)
{
	for (int i = 0; i < c; i++)
		if (cg->dir[i][0] && strcmp(cg->dir[i], cg->dir[c]) == 0)
			return true;
	return false;
}

int sbn_cg_plan(const struct sbn_cfg *cfg, const char *id, struct sbn_cg *cg, struct sb_error *err)
{
	memset(cg, 0, sizeof(*cg));
	/* Moving a task into a v1 cgroup waits for an RCU grace period (cgroup_threadgroup_rwsem taken
	 * for writing; ~10 ms here unless the hierarchy has favordynmods), which alone would cost more
	 * than the rest of a cold start: without limits, boxes only get cgroups when asked, and the
	 * layout is not even looked at. */
	if (!cfg->mem_limit && !cfg->pids_limit && !(cfg->cpus > 0) && !cfg->cgroups)
		return 0;
	const struct sbn_cg_layout *l = sbn_cg_layout();
	if (cfg->mem_limit && !l->writable[SBN_CTRL_MEMORY])
		return sb_error_set(err, ENOTSUP, "memory limit asked but the memory cgroup is not writable here (%s)", l->note);
	if (cfg->pids_limit && !l->writable[SBN_CTRL_PIDS])
		return sb_error_set(err, ENOTSUP, "pids limit asked but the pids cgroup is not writable here (%s)", l->note);
	if (cfg->cpus > 0 && !l->writable[SBN_CTRL_CPU])
		return sb_error_set(err, ENOTSUP, "CPU limit asked but the cpu cgroup is not writable here (%s)", l->note);
	for (int c = 0; c < SBN_CTRL_N; c++) {
		if (!l->writable[c])
			continue;
		/* The cpu controller only matters for a quota; accounting comes from cpuacct/cpu.stat. */
		if (c == SBN_CTRL_CPU && !(cfg->cpus > 0) && !l->v2[c])
			continue;
		/* blkio only feeds io byte counters; its cgroup costs a mkdir/rmdir per box. */
		if (c == SBN_CTRL_BLKIO && !cfg->io_stats)
			continue;
		snprintf(cg->dir[c], PATH_MAX, "%s/%s%s", l->base[c], SBN_CG_PREFIX, id);
	}
	return 0;
}

int sbn_cg_create(const struct sbn_cfg *cfg, struct sbn_cg *cg, struct sb_error *err)
{
	bool any = false;
	for (int c = 0; c < SBN_CTRL_N; c++)
		any |= cg->dir[c][0] != '\0';
	if (!any)
		return 0;
	const struct sbn_cg_layout *l = sbn_cg_layout();
	for (int c = 0; c < SBN_CTRL_N; c++) {
		if (!cg->dir[c][0] || dup_dir(cg, c))
			continue;
		if (mkdir(cg->dir[c], 0755) < 0) {
			int e = errno;
			char what[PATH_MAX];
			snprintf(what, sizeof(what), "%s", cg->dir[c]);
			sbn_cg_remove(cg);
			return sb_error_set(err, e, "mkdir cgroup %s: %s", what, strerror(e));
		}
	}
	char v[64];
	int rc = 0;
	const char *what = "";
	if (cfg->mem_limit) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)cfg->mem_limit);
		what = "memory limit";
		if (l->v2[SBN_CTRL_MEMORY]) {
			rc = write_str(cg->dir[SBN_CTRL_MEMORY], "memory.max", v);
			write_str(cg->dir[SBN_CTRL_MEMORY], "memory.swap.max", "0");
		} else {
			rc = write_str(cg->dir[SBN_CTRL_MEMORY], "memory.limit_in_bytes", v);
			/* With swap, memsw caps memory+swap so the limit cannot be dodged by swapping. */
			write_str(cg->dir[SBN_CTRL_MEMORY], "memory.memsw.limit_in_bytes", v);
		}
	}
	if (rc == 0 && cfg->pids_limit) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)cfg->pids_limit);
		what = "pids limit";
		rc = write_str(cg->dir[SBN_CTRL_PIDS], "pids.max", v);
	}
	if (rc == 0 && cfg->cpus > 0) {
		long quota = (long)(cfg->cpus * 100000.0);
		if (quota < 1000)
			quota = 1000;
		what = "cpu quota";
		if (l->v2[SBN_CTRL_CPU]) {
			snprintf(v, sizeof(v), "%ld 100000", quota);
			rc = write_str(cg->dir[SBN_CTRL_CPU], "cpu.max", v);
		} else {
			write_str(cg->dir[SBN_CTRL_CPU], "cpu.cfs_period_us", "100000");
			snprintf(v, sizeof(v), "%ld", quota);
			rc = write_str(cg->dir[SBN_CTRL_CPU], "cpu.cfs_quota_us", v);
		}
	}
	if (rc < 0) {
		sbn_cg_remove(cg);
		return sb_error_set(err, -rc, "writing the %s: %s", what, strerror(-rc));
	}
	return 0;
}

int sbn_cg_attach(const struct sbn_cg *cg, pid_t pid, struct sb_error *err)
{
	char v[24];
	snprintf(v, sizeof(v), "%d", (int)pid);
	for (int c = 0; c < SBN_CTRL_N; c++) {
		if (!cg->dir[c][0] || dup_dir(cg, c))
			continue;
		int rc = write_str(cg->dir[c], "cgroup.procs", v);
		if (rc < 0)
			return sb_error_set(err, -rc, "attaching to cgroup %s: %s", cg->dir[c], strerror(-rc));
	}
	return 0;
}

int sbn_cg_remove(const struct sbn_cg *cg)
{
	int first = 0;
	for (int c = 0; c < SBN_CTRL_N; c++) {
		if (!cg->dir[c][0] || dup_dir(cg, c))
			continue;
		int rc = 0;
		/* Tasks leave a cgroup a moment after they die; EBUSY then is transient. */
		for (int i = 0; i < 200; i++) {
			rc = rmdir(cg->dir[c]) < 0 ? -errno : 0;
			if (rc != -EBUSY)
				break;
			usleep(i < 20 ? 200 : 5000);
		}
		if (rc == -ENOENT)
			rc = 0;
		if (rc < 0 && !first)
			first = rc;
	}
	return first;
}

int sbn_cg_pids(const struct sbn_cg *cg, pid_t *pids, size_t cap, size_t *n)
{
	*n = 0;
	for (int c = 0; c < SBN_CTRL_N; c++)
		if (cg->dir[c][0] && sb_cg_procs(cg->dir[c], pids, cap, n) == 0)
			return 0;
	return -ENOENT;
}

unsigned sbn_cg_dir_kinds(const struct sbn_cg *cg, int c)
{
	if (!cg->dir[c][0] || dup_dir(cg, c))
		return 0;
	/* Only the files this directory can hold: on v1 each controller has its own. */
	static const unsigned kinds[SBN_CTRL_N] = {SB_CG_MEM, SB_CG_PIDS, SB_CG_CPU, SB_CG_CPU, SB_CG_IO};
	unsigned want = 0;
	bool v2 = false;
	for (int k = c; k < SBN_CTRL_N; k++)
		if (strcmp(cg->dir[k], cg->dir[c]) == 0) {
			want |= kinds[k];
			v2 |= sbn_cg_layout()->v2[k];
		}
	return want | (v2 ? SB_CG_V2 : SB_CG_V1);
}

void sbn_cg_stats(const struct sbn_cg *cg, struct sb_box_stats *st)
{
	/* Each controller's directory holds only its own files on v1, all of them on v2: read each
	 * distinct directory once. */
	for (int c = 0; c < SBN_CTRL_N; c++) {
		unsigned kinds = sbn_cg_dir_kinds(cg, c);
		if (kinds)
			sb_cg_stats_dir_kinds(cg->dir[c], kinds, st);
	}
}
