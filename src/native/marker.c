/* Leftover markers. Before a box makes anything on the host it writes
 * /run/sandbench/native/<id>/owner-pid (the pids whose death orphans the box, one per line) and
 * /run/sandbench/native/<id>/resources (name=, cgroup=DIR lines, veth=IF). The directory is also
 * the mount point of the box's scratch tmpfs inside its own mount namespace, which vanishes with
 * the namespace. Mounts and namespaces need no cleanup: the box's processes die with their owner
 * (PR_SET_PDEATHSIG) and take them along; cgroups, the host veth end and the marker stay. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "native/native.h"
#include "native/native_int.h"

static int write_whole(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, data, len);
	int e = errno;
	close(fd);
	return w == (ssize_t)len ? 0 : (w < 0 ? -e : -EIO);
}

int sbn_marker_write(const char *id, const char *name, const pid_t *owners, size_t nowners,
		     const struct sbn_cg *cg, const char *host_if, struct sb_error *err)
{
	char dir[PATH_MAX], p[PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/%s", SBN_RUN_DIR, id);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		if (errno != ENOENT || sb_mkdir_p(dir, 0700) < 0)
			return sb_error_set(err, errno, "mkdir %s: %s", dir, strerror(errno));
	}
	char buf[SBN_CTRL_N * (PATH_MAX + 16) + 256];
	size_t l = 0;
	for (size_t i = 0; i < nowners; i++)
		l += (size_t)snprintf(buf + l, sizeof(buf) - l, "%d\n", (int)owners[i]);
	/* owner-pid first: a doctor never treats a marker with a live owner as a leftover, even while
	 * the rest is being written. */
	snprintf(p, sizeof(p), "%s/owner-pid", dir);
	int rc = write_whole(p, buf, l);
	if (rc == 0) {
		l = 0;
		l += (size_t)snprintf(buf + l, sizeof(buf) - l, "name=%s\n", name ? name : "");
		for (int c = 0; cg && c < SBN_CTRL_N; c++)
			if (cg->dir[c][0])
				l += (size_t)snprintf(buf + l, sizeof(buf) - l, "cgroup=%s\n", cg->dir[c]);
		if (host_if && host_if[0])
			l += (size_t)snprintf(buf + l, sizeof(buf) - l, "veth=%s\n", host_if);
		snprintf(p, sizeof(p), "%s/resources", dir);
		rc = write_whole(p, buf, l);
	}
	if (rc < 0)
		return sb_error_set(err, -rc, "writing marker in %s: %s", dir, strerror(-rc));
	return 0;
}

void sbn_marker_remove(const char *id)
{
	char dir[PATH_MAX], p[PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/%s", SBN_RUN_DIR, id);
	snprintf(p, sizeof(p), "%s/owner-pid", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/resources", dir);
	unlink(p);
	rmdir(dir);
}

static bool pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* Reads a marker; true when it is a leftover (every owner dead). */
static bool read_marker(const char *dir, struct sb_native_leftover *lo, char cgroups[][PATH_MAX], int *ncg,
			char *veth, size_t vlen)
{
	char p[PATH_MAX + 32], line[PATH_MAX + 32];
	memset(lo, 0, sizeof(*lo));
	snprintf(lo->marker, sizeof(lo->marker), "%s", dir);
	*ncg = 0;
	veth[0] = '\0';
	snprintf(p, sizeof(p), "%s/owner-pid", dir);
	FILE *f = fopen(p, "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			pid_t pid = (pid_t)atoi(line);
			if (!lo->owner)
				lo->owner = pid;
			if (pid_alive(pid)) {
				fclose(f);
				return false;
			}
		}
		fclose(f);
	}
	snprintf(p, sizeof(p), "%s/resources", dir);
	f = fopen(p, "re");
	size_t wl = 0;
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "name=", 5) == 0) {
			snprintf(lo->name, sizeof(lo->name), "%.95s", line + 5);
		} else if (strncmp(line, "cgroup=", 7) == 0 && *ncg < SBN_CTRL_N) {
			/* Only our own names: a corrupted marker must not point us at other cgroups. */
			if (!strstr(line + 7, "/" SBN_CG_PREFIX))
				continue;
			snprintf(cgroups[*ncg], PATH_MAX, "%.4000s", line + 7);
			if (sb_is_dir(cgroups[*ncg])) {
				wl += (size_t)snprintf(lo->what + wl, wl < sizeof(lo->what) ? sizeof(lo->what) - wl : 0,
						       "%scgroup %s", wl ? ", " : "", line + 7);
				(*ncg)++;
			}
		} else if (strncmp(line, "veth=", 5) == 0 && strncmp(line + 5, SBN_IF_PREFIX, 3) == 0) {
			snprintf(veth, vlen, "%.15s", line + 5);
			char sys[64];
			snprintf(sys, sizeof(sys), "/sys/class/net/%s", veth);
			if (access(sys, F_OK) == 0)
				wl += (size_t)snprintf(lo->what + wl, wl < sizeof(lo->what) ? sizeof(lo->what) - wl : 0,
						       "%sveth %s", wl ? ", " : "", veth);
			else
				veth[0] = '\0';
		}
	}
	if (f)
		fclose(f);
	if (!wl)
		snprintf(lo->what, sizeof(lo->what), "marker only");
	return true;
}

static int for_each_leftover(bool clean, struct sb_native_leftover *out, size_t cap, size_t *n,
			     size_t *cleaned, struct sb_error *err)
{
	*n = 0;
	if (cleaned)
		*cleaned = 0;
	DIR *d = opendir(SBN_RUN_DIR);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return sb_error_set(err, errno, "opendir %s: %s", SBN_RUN_DIR, strerror(errno));
	}
	int first = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", SBN_RUN_DIR, de->d_name);
		if (!sb_is_dir(dir))
			continue;
		struct sb_native_leftover lo;
		char cgroups[SBN_CTRL_N][PATH_MAX];
		int ncg;
		char veth[16];
		if (!read_marker(dir, &lo, cgroups, &ncg, veth, sizeof(veth)))
			continue;
		if (out && *n < cap)
			out[*n] = lo;
		(*n)++;
		if (!clean)
			continue;
		/* Processes first: a cgroup with tasks cannot be removed. */
		struct sbn_cg cg;
		memset(&cg, 0, sizeof(cg));
		for (int i = 0; i < ncg; i++) {
			snprintf(cg.dir[i], PATH_MAX, "%s", cgroups[i]);
			pid_t pids[1024];
			size_t np = 0;
			struct sbn_cg one;
			memset(&one, 0, sizeof(one));
			snprintf(one.dir[0], PATH_MAX, "%s", cgroups[i]);
			if (sbn_cg_pids(&one, pids, 1024, &np) == 0)
				for (size_t k = 0; k < np && k < 1024; k++)
					kill(pids[k], SIGKILL);
		}
		int rc = sbn_cg_remove(&cg);
		int rv = sbn_net_veth_delete(veth);
		if (rc == 0)
			rc = rv;
		char p[PATH_MAX + 32];
		snprintf(p, sizeof(p), "%s/owner-pid", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/resources", dir);
		unlink(p);
		if (rc == 0 && rmdir(dir) < 0)
			rc = -errno;
		if (rc < 0 && !first)
			first = sb_error_set(err, -rc, "cleaning %s: %s", dir, strerror(-rc));
		else if (rc == 0 && cleaned)
			(*cleaned)++;
	}
	closedir(d);
	return first;
}

int sb_native_leftovers(struct sb_native_leftover *out, size_t cap, size_t *n, struct sb_error *err)
{
	return for_each_leftover(false, out, cap, n, NULL, err);
}

int sb_native_clean_leftovers(size_t *cleaned, struct sb_error *err)
{
	size_t n, c = 0;
	int rc = for_each_leftover(true, NULL, 0, &n, &c, err);
	if (cleaned)
		*cleaned = c;
	return rc;
}

const char *const *sb_native_denied_syscalls(void)
{
	return sbn_denied_syscalls;
}
