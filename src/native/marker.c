/* Leftover markers. Before a box makes anything that outlives its processes on the host (a
 * cgroup, a veth) it writes the file /run/sandbench/native/<id>: "owner=PID" lines (the processes
 * whose death orphans the box: sandbench, and the zygote for warm boxes), then name=, cgroup=DIR
 * and veth=IF lines; it is rewritten when the veth is made and removed once they are released.
 * A box whose writable layer is on a host disk (layer=disk) has a marker too: its layer directory,
 * sbn_layer_base()/<id>, is named by the marker's own id, so it needs no line of its own.
 * A box without cgroups, veth or layer directory has no marker: if sandbench dies, the box's
 * processes die with it (parent-death signal, and a closed control socket) and its mounts and
 * namespaces go with them, so nothing of it can be left behind to find.
 * One file, written with one write(): a marker costs a create and an unlink. Markers of older
 * sandbench versions (a directory with owner-pid and resources files) are still read. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "native/native.h"
#include "native/native_int.h"

int sbn_marker_write(const char *id, const char *name, const pid_t *owners, size_t nowners,
		     const struct sbn_cg *cg, const char *host_if, struct sb_error *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", sbn_run_dir(), id);
	char buf[SBN_CTRL_N * (PATH_MAX + 16) + 256];
	size_t l = 0;
	/* Owners first: a reader that sees any line sees them (one write, never a partial one). */
	for (size_t i = 0; i < nowners; i++)
		l += (size_t)snprintf(buf + l, sizeof(buf) - l, "owner=%d\n", (int)owners[i]);
	l += (size_t)snprintf(buf + l, sizeof(buf) - l, "name=%s\n", name ? name : "");
	for (int c = 0; cg && c < SBN_CTRL_N; c++)
		if (cg->dir[c][0])
			l += (size_t)snprintf(buf + l, sizeof(buf) - l, "cgroup=%s\n", cg->dir[c]);
	if (host_if && host_if[0])
		l += (size_t)snprintf(buf + l, sizeof(buf) - l, "veth=%s\n", host_if);
	/* Never truncated: a rewrite only adds lines, so it overwrites the old content from the start
	 * and a reader (or a crash) in between still sees every resource made so far. An empty file
	 * only exists between the first open and write, before anything was made. */
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && sbn_run_dir_make(NULL) == 0)
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return sb_error_set(err, errno, "writing marker %s: %s", path, strerror(errno));
	ssize_t w = pwrite(fd, buf, l, 0);
	int e = w < 0 ? errno : EIO;
	close(fd);
	if (w != (ssize_t)l)
		return sb_error_set(err, e, "writing marker %s: %s", path, strerror(e));
	return 0;
}

/* Remove a marker in either format. */
static int remove_path(const char *path)
{
	if (unlink(path) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	char p[PATH_MAX + 32];
	snprintf(p, sizeof(p), "%s/owner-pid", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s/resources", path);
	unlink(p);
	return rmdir(path) < 0 && errno != ENOENT ? -errno : 0;
}

void sbn_marker_remove(const char *id)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", sbn_run_dir(), id);
	remove_path(path);
}

static bool pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

struct marker {
	pid_t owners[8];
	int nowners;
	char name[96];
	char cgroups[SBN_CTRL_N][PATH_MAX];
	int ncg;
	char veth[16];
	bool layer; /* its layer directory is still there */
};

/* One line of either format; bare numbers are the old owner-pid file's. */
static void parse_line(char *line, struct marker *m)
{
	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "owner=", 6) == 0 || (line[0] >= '0' && line[0] <= '9')) {
		if (m->nowners < 8)
			m->owners[m->nowners++] = (pid_t)atoi(line[0] == 'o' ? line + 6 : line);
	} else if (strncmp(line, "name=", 5) == 0) {
		snprintf(m->name, sizeof(m->name), "%.95s", line + 5);
	} else if (strncmp(line, "cgroup=", 7) == 0 && m->ncg < SBN_CTRL_N) {
		/* Only our own names: a corrupted marker must not point us at other cgroups. */
		if (strstr(line + 7, "/" SBN_CG_PREFIX))
			snprintf(m->cgroups[m->ncg++], PATH_MAX, "%.4000s", line + 7);
	} else if (strncmp(line, "veth=", 5) == 0 && strncmp(line + 5, SBN_IF_PREFIX, 3) == 0) {
		snprintf(m->veth, sizeof(m->veth), "%.15s", line + 5);
	}
}

static void parse_file(const char *path, struct marker *m)
{
	FILE *f = fopen(path, "re");
	char line[PATH_MAX + 32];
	while (f && fgets(line, sizeof(line), f))
		parse_line(line, m);
	if (f)
		fclose(f);
}

/* Reads a marker; true when it is a leftover: every owner dead or, when first_owner > 0, its
 * first owner is that (dead) process whatever the others. */
static bool read_marker(const char *path, pid_t first_owner, struct sb_native_leftover *lo, struct marker *m)
{
	memset(lo, 0, sizeof(*lo));
	memset(m, 0, sizeof(*m));
	snprintf(lo->marker, sizeof(lo->marker), "%s", path);
	struct stat st;
	if (lstat(path, &st) < 0)
		return false;
	if (S_ISDIR(st.st_mode)) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof(p), "%s/owner-pid", path);
		parse_file(p, m);
		snprintf(p, sizeof(p), "%s/resources", path);
		parse_file(p, m);
	} else if (S_ISREG(st.st_mode)) {
		parse_file(path, m);
	} else {
		return false;
	}
	if (m->nowners == 0) {
		/* Nothing recorded: being written right now, or its creator died in between. */
		if (first_owner > 0 || time(NULL) - st.st_mtime < 60)
			return false;
	} else if (first_owner > 0) {
		if (m->owners[0] != first_owner || pid_alive(first_owner))
			return false;
	} else {
		for (int i = 0; i < m->nowners; i++)
			if (pid_alive(m->owners[i]))
				return false;
	}
	lo->owner = m->nowners ? m->owners[0] : 0;
	snprintf(lo->name, sizeof(lo->name), "%s", m->name);
	size_t wl = 0;
	int kept = 0;
	for (int i = 0; i < m->ncg; i++) {
		if (!sb_is_dir(m->cgroups[i]))
			continue;
		wl += (size_t)snprintf(lo->what + wl, wl < sizeof(lo->what) ? sizeof(lo->what) - wl : 0, "%scgroup %s",
				       wl ? ", " : "", m->cgroups[i]);
		if (kept != i)
			memcpy(m->cgroups[kept], m->cgroups[i], PATH_MAX);
		kept++;
	}
	m->ncg = kept;
	if (m->veth[0]) {
		char sys[64];
		snprintf(sys, sizeof(sys), "/sys/class/net/%s", m->veth);
		if (access(sys, F_OK) == 0)
			wl += (size_t)snprintf(lo->what + wl, wl < sizeof(lo->what) ? sizeof(lo->what) - wl : 0, "%sveth %s",
					       wl ? ", " : "", m->veth);
		else
			m->veth[0] = '\0';
	}
	const char *id = strrchr(path, '/');
	char dir[PATH_MAX];
	id = id ? id + 1 : path;
	if (sbn_layer_dir(id, -1, dir, sizeof(dir)) == 0 && access(dir, F_OK) == 0) {
		m->layer = true;
		wl += (size_t)snprintf(lo->what + wl, wl < sizeof(lo->what) ? sizeof(lo->what) - wl : 0, "%slayer %s",
				       wl ? ", " : "", dir);
	}
	if (!wl)
		snprintf(lo->what, sizeof(lo->what), "marker only");
	return true;
}

/* Layer directories with no marker at all (the marker is written before the directory is made
 * and removed after it, so none of a live box): left by a crash whose run directory went away
 * (a reboot clears /run; $XDG_RUNTIME_DIR goes at logout). */
static void orphan_layers(bool clean, struct sb_native_leftover *out, size_t cap, size_t *n, size_t *cleaned,
			  int *first, struct sb_error *err)
{
	DIR *d = opendir(sbn_layer_base());
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char marker[PATH_MAX], dir[PATH_MAX];
		if (de->d_name[0] == '.' || sbn_layer_dir(de->d_name, -1, dir, sizeof(dir)) < 0)
			continue;
		snprintf(marker, sizeof(marker), "%s/%s", sbn_run_dir(), de->d_name);
		if (access(marker, F_OK) == 0 || errno != ENOENT)
			continue;
		if (out && *n < cap) {
			struct sb_native_leftover *lo = &out[*n];
			memset(lo, 0, sizeof(*lo));
			snprintf(lo->marker, sizeof(lo->marker), "%s", dir);
			snprintf(lo->name, sizeof(lo->name), "?");
			snprintf(lo->what, sizeof(lo->what), "layer %s (no marker)", dir);
		}
		(*n)++;
		if (!clean)
			continue;
		int rc = sbn_layer_remove(de->d_name);
		if (rc < 0 && !*first)
			*first = sb_error_set(err, -rc, "removing %s: %s", dir, strerror(-rc));
		else if (rc == 0 && cleaned)
			(*cleaned)++;
	}
	if (d)
		closedir(d);
}

static int for_each_leftover(bool clean, pid_t first_owner, struct sb_native_leftover *out, size_t cap, size_t *n,
			     size_t *cleaned, struct sb_error *err)
{
	*n = 0;
	if (cleaned)
		*cleaned = 0;
	DIR *d = opendir(sbn_run_dir());
	if (!d) {
		int e = errno, first = 0;
		if (e == ENOENT && first_owner <= 0)
			orphan_layers(clean, out, cap, n, cleaned, &first, err);
		if (e == ENOENT)
			return first;
		return sb_error_set(err, e, "opendir %s: %s", sbn_run_dir(), strerror(e));
	}
	int first = 0;
	struct dirent *de;
	/* A marker is big (one path per cgroup): keep it off the stack. */
	struct marker *m = malloc(sizeof(*m));
	if (!m) {
		closedir(d);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", sbn_run_dir(), de->d_name);
		struct sb_native_leftover lo;
		if (!read_marker(path, first_owner, &lo, m))
			continue;
		if (out && *n < cap)
			out[*n] = lo;
		(*n)++;
		if (!clean)
			continue;
		/* Processes first: a cgroup with tasks cannot be removed. */
		struct sbn_cg *cg = calloc(1, sizeof(*cg));
		if (!cg) {
			first = first ? first : sb_error_set(err, ENOMEM, "out of memory");
			break;
		}
		for (int i = 0; i < m->ncg; i++) {
			snprintf(cg->dir[i], PATH_MAX, "%s", m->cgroups[i]);
			char procs[PATH_MAX + 32];
			snprintf(procs, sizeof(procs), "%s/cgroup.procs", m->cgroups[i]);
			FILE *f = fopen(procs, "re");
			long pid;
			while (f && fscanf(f, "%ld", &pid) == 1)
				kill((pid_t)pid, SIGKILL);
			if (f)
				fclose(f);
		}
		int rc = sbn_cg_remove(cg);
		free(cg);
		int rv = sb_veth_delete(m->veth);
		if (rc == 0)
			rc = rv;
		const char *id = strrchr(path, '/') + 1;
		if (m->layer && (rv = sbn_layer_remove(id)) < 0 && rc == 0)
			rc = rv;
		if (rc == 0)
			rc = remove_path(path);
		if (rc < 0 && !first)
			first = sb_error_set(err, -rc, "cleaning %s: %s", path, strerror(-rc));
		else if (rc == 0 && cleaned)
			(*cleaned)++;
	}
	free(m);
	closedir(d);
	if (first_owner <= 0)
		orphan_layers(clean, out, cap, n, cleaned, &first, err);
	return first;
}

int sb_native_leftovers(struct sb_native_leftover *out, size_t cap, size_t *n, struct sb_error *err)
{
	return for_each_leftover(false, 0, out, cap, n, NULL, err);
}

int sb_native_clean_leftovers(size_t *cleaned, struct sb_error *err)
{
	size_t n, c = 0;
	int rc = for_each_leftover(true, 0, NULL, 0, &n, &c, err);
	if (cleaned)
		*cleaned = c;
	return rc;
}

int sbn_marker_release_owner(pid_t zygote)
{
	size_t n = 0, c = 0;
	if (zygote <= 0 || pid_alive(zygote))
		return 0;
	for_each_leftover(true, zygote, NULL, 0, &n, &c, NULL);
	return (int)c;
}

const char *const *sb_native_denied_syscalls(void)
{
	return sbn_denied_syscalls;
}
