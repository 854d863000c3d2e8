/* Copies between the host and a box, and of a box's writable layer (clone).
 *
 * Paths inside a box are resolved with openat2(RESOLVE_IN_ROOT) from the box's root as seen
 * through /proc/<init>/root: a symlink planted in the box ("/out -> /etc/shadow") then resolves
 * inside the box, never on the host. Below that first lookup only single names read from
 * directories are opened, with O_NOFOLLOW. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/signals.h"
#include "native/native_int.h"

static int box_root(struct sb_box *box)
{
	if (box->stopped || box->init_pid <= 0)
		return -ESRCH;
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/root", (int)box->init_pid);
	int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int sbn_box_open(struct sb_box *box, const char *path, int flags, mode_t mode)
{
	int root = box_root(box);
	if (root < 0)
		return root;
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .mode = mode,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	int e = errno;
	close(root);
	return fd < 0 ? -e : fd;
}

static void copy_xattrs(int src, int dst)
{
	char names[4096];
	ssize_t n = flistxattr(src, names, sizeof(names));
	for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
		char val[4096];
		ssize_t vl = fgetxattr(src, names + off, val, sizeof(val));
		if (vl >= 0)
			fsetxattr(dst, names + off, val, (size_t)vl, 0);
	}
}

static int copy_data(int src, int dst)
{
	for (;;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		break; /* filesystems that cannot: plain read/write */
	}
	char buf[65536];
	for (;;) {
		ssize_t r = read(src, buf, sizeof(buf));
		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(dst, buf + off, (size_t)(r - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			off += w;
		}
	}
}

/* Copy one entry `name` of src_dir to dst_dir (recursing into directories). */
static int copy_entry(int src_dir, int dst_dir, const char *name, const char *dst_name, int64_t deadline_ns,
		      int depth, struct sb_error *err);

int sbn_copy_tree(int src_fd, int dst_fd, int64_t deadline_ns, struct sb_error *err)
{
	return copy_entry(src_fd, dst_fd, NULL, NULL, deadline_ns, 0, err);
}

static int copy_dir_contents(int src, int dst, int64_t deadline_ns, int depth, struct sb_error *err)
{
	int dup_fd = dup(src);
	if (dup_fd < 0)
		return sb_error_set(err, errno, "dup: %s", strerror(errno));
	DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return sb_error_set(err, errno, "fdopendir: %s", strerror(errno));
	}
	rewinddir(d);
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = copy_entry(src, dst, de->d_name, de->d_name, deadline_ns, depth + 1, err);
	}
	closedir(d);
	return rc;
}

static int copy_entry(int src_dir, int dst_dir, const char *name, const char *dst_name, int64_t deadline_ns,
		      int depth, struct sb_error *err)
{
	if (sb_interrupted())
		return sb_error_set(err, EINTR, "interrupted");
	if (sb_deadline_passed(deadline_ns))
		return sb_error_set(err, ETIMEDOUT, "copy timed out");
	if (depth > 256)
		return sb_error_set(err, ELOOP, "directory tree too deep");
	if (!name) /* the roots themselves: both already open directories */
		return copy_dir_contents(src_dir, dst_dir, deadline_ns, depth, err);
	struct stat st;
	if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return sb_error_set(err, errno, "stat %s: %s", name, strerror(errno));
	int rc = 0;
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dst_dir, dst_name, st.st_mode & 07777) < 0 && errno != EEXIST)
			return sb_error_set(err, errno, "mkdir %s: %s", dst_name, strerror(errno));
		int s = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int d = openat(dst_dir, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0) {
			rc = sb_error_set(err, errno, "open directory %s: %s", name, strerror(errno));
		} else {
			rc = copy_dir_contents(s, d, deadline_ns, depth, err);
			copy_xattrs(s, d);
			fchown(d, st.st_uid, st.st_gid);
			fchmod(d, st.st_mode & 07777);
		}
		if (s >= 0)
			close(s);
		if (d >= 0)
			close(d);
	} else if (S_ISREG(st.st_mode)) {
		int s = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0)
			return sb_error_set(err, errno, "open %s: %s", name, strerror(errno));
		int d = openat(dst_dir, dst_name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777);
		if (d < 0 && errno == ELOOP && unlinkat(dst_dir, dst_name, 0) == 0)
			d = openat(dst_dir, dst_name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777);
		if (d < 0) {
			rc = sb_error_set(err, errno, "create %s: %s", dst_name, strerror(errno));
		} else {
			int r = copy_data(s, d);
			if (r < 0)
				rc = sb_error_set(err, -r, "copy %s: %s", name, strerror(-r));
			copy_xattrs(s, d);
			fchown(d, st.st_uid, st.st_gid);
			fchmod(d, st.st_mode & 07777);
			close(d);
		}
		close(s);
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t l = readlinkat(src_dir, name, target, sizeof(target) - 1);
		if (l < 0)
			return sb_error_set(err, errno, "readlink %s: %s", name, strerror(errno));
		target[l] = '\0';
		unlinkat(dst_dir, dst_name, 0);
		if (symlinkat(target, dst_dir, dst_name) < 0)
			return sb_error_set(err, errno, "symlink %s: %s", dst_name, strerror(errno));
		fchownat(dst_dir, dst_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
	} else {
		/* Device nodes, fifos, sockets; in a writable layer char 0:0 is an overlay whiteout. */
		unlinkat(dst_dir, dst_name, 0);
		if (mknodat(dst_dir, dst_name, st.st_mode, st.st_rdev) < 0)
			return sb_error_set(err, errno, "mknod %s: %s", dst_name, strerror(errno));
		fchownat(dst_dir, dst_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
	}
	return rc;
}

/* Split "a/b/c" into the directory (opened in the box or on the host) and the last name. */
static int open_parent(struct sb_box *box, const char *path, char *last, size_t llen)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	size_t l = strlen(dir);
	while (l > 1 && dir[l - 1] == '/')
		dir[--l] = '\0';
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : dir;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EINVAL;
	snprintf(last, llen, "%s", base);
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (box)
		return sbn_box_open(box, dir, O_RDONLY | O_DIRECTORY, 0);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int copy_between(struct sb_box *src_box, const char *src, struct sb_box *dst_box, const char *dst,
			int64_t deadline_ns, struct sb_error *err)
{
	char sname[NAME_MAX + 1], dname[NAME_MAX + 1];
	int sdir = open_parent(src_box, src, sname, sizeof(sname));
	if (sdir < 0)
		return sb_error_set(err, -sdir, "%s%s: %s", src_box ? "in the box: " : "", src, strerror(-sdir));
	int ddir = open_parent(dst_box, dst, dname, sizeof(dname));
	if (ddir < 0) {
		close(sdir);
		return sb_error_set(err, -ddir, "%s%s: parent directory: %s", dst_box ? "in the box: " : "", dst,
				    strerror(-ddir));
	}
	int rc = copy_entry(sdir, ddir, sname, dname, deadline_ns, 1, err);
	close(sdir);
	close(ddir);
	return rc;
}

int sbn_copy_in(struct sb_box *box, const char *host_path, const char *box_path, int64_t deadline_ns,
		struct sb_error *err)
{
	return copy_between(NULL, host_path, box, box_path, deadline_ns, err);
}

int sbn_copy_out(struct sb_box *box, const char *box_path, const char *host_path, int64_t deadline_ns,
		 struct sb_error *err)
{
	return copy_between(box, box_path, NULL, host_path, deadline_ns, err);
}
