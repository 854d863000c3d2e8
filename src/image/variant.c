/* Variants of the standard rootfs: a private copy (what a cold start prepares, so nothing is
 * shared with a cached template) and the "big" image (the standard tree plus many data files: what
 * a start costs when the image is large). Contracts in image.h. */
#include "image/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/signals.h"
#include "core/util.h"

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st, struct sb_error *err)
{
	int in = openat(sdir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return sb_error_set(err, errno, "open %s: %s", name, strerror(errno));
	int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		int e = errno;
		close(in);
		return sb_error_set(err, e, "create %s: %s", name, strerror(e));
	}
	int rc = 0;
	for (off_t left = st->st_size; left > 0 && rc == 0;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (n > 0) {
			left -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* copy_file_range refused (another filesystem kind) or the file shrank: plain copy. */
		char buf[65536];
		ssize_t r = read(in, buf, sizeof(buf));
		if (r <= 0) {
			if (r < 0)
				rc = sb_error_set(err, errno, "read %s: %s", name, strerror(errno));
			break;
		}
		for (ssize_t off = 0; off < r && rc == 0;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0 && errno != EINTR)
				rc = sb_error_set(err, errno, "write %s: %s", name, strerror(errno));
			off += w > 0 ? w : 0;
		}
		left -= r;
	}
	if (rc == 0 && (fchmod(out, st->st_mode & 07777) < 0 ||
			(geteuid() == 0 && fchown(out, st->st_uid, st->st_gid) < 0)))
		rc = sb_error_set(err, errno, "chmod/chown %s: %s", name, strerror(errno));
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = sb_error_set(err, errno, "close %s: %s", name, strerror(errno));
	return rc;
}

static int copy_dir(int sdir, int ddir, int64_t deadline_ns, int depth, struct sb_error *err)
{
	if (depth > 64)
		return sb_error_set(err, ELOOP, "rootfs tree too deep");
	int dup_fd = dup(sdir);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return sb_error_set(err, errno, "opendir: %s", strerror(errno));
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strcmp(name, SB_IMAGE_MARKER) == 0)
			continue;
		if (sb_interrupted())
			rc = sb_error_set(err, EINTR, "interrupted");
		else if (sb_deadline_passed(deadline_ns))
			rc = sb_error_set(err, ETIMEDOUT, "copying the rootfs timed out");
		struct stat st;
		if (rc == 0 && fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			rc = sb_error_set(err, errno, "stat %s: %s", name, strerror(errno));
		if (rc < 0)
			break;
		if (S_ISDIR(st.st_mode)) {
			int s2 = -1, d2 = -1;
			if (mkdirat(ddir, name, 0700) < 0 ||
			    (s2 = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
			    (d2 = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
				rc = sb_error_set(err, errno, "directory %s: %s", name, strerror(errno));
			if (rc == 0)
				rc = copy_dir(s2, d2, deadline_ns, depth + 1, err);
			/* Mode last: a read-only directory must still take its contents. */
			if (rc == 0 && (fchmod(d2, st.st_mode & 07777) < 0 ||
					(geteuid() == 0 && fchown(d2, st.st_uid, st.st_gid) < 0)))
				rc = sb_error_set(err, errno, "chmod %s: %s", name, strerror(errno));
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
			if (n < 0)
				rc = sb_error_set(err, errno, "readlink %s: %s", name, strerror(errno));
			else {
				target[n] = '\0';
				if (symlinkat(target, ddir, name) < 0)
					rc = sb_error_set(err, errno, "symlink %s: %s", name, strerror(errno));
			}
		} else if (S_ISREG(st.st_mode)) {
			rc = copy_file(sdir, ddir, name, &st, err);
		}
		/* Nothing else belongs in a rootfs tree (its /dev is made by each runtime). */
	}
	closedir(d);
	return rc;
}

int sb_image_copy(const char *src, const char *dst, int64_t deadline_ns, struct sb_error *err)
{
	int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return sb_error_set(err, errno, "rootfs %s: %s", src, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(sfd, &st) < 0 || mkdir(dst, 0700) < 0)
		rc = sb_error_set(err, errno, "creating %s: %s", dst, strerror(errno));
	int dfd = rc == 0 ? open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (rc == 0 && dfd < 0)
		rc = sb_error_set(err, errno, "open %s: %s", dst, strerror(errno));
	if (rc == 0)
		rc = copy_dir(sfd, dfd, deadline_ns, 0, err);
	if (rc == 0 && fchmod(dfd, st.st_mode & 07777) < 0)
		rc = sb_error_set(err, errno, "chmod %s: %s", dst, strerror(errno));
	close(sfd);
	if (dfd >= 0)
		close(dfd);
	if (rc < 0 && rc != -EEXIST)
		sb_rm_rf(dst);
	return rc;
}

/* Incompressible bytes from a seed (xorshift64*): the data of the big image must cost what real
 * file contents cost to store, copy and hash. */
static void fill_random(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (size_t i = 0; i < len; i += 8) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t v = x * 0x2545f4914f6cdd1dULL;
		memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
	}
}

/* files files of bytes/files each under root/data/dNN/ (100 per directory). */
static int add_data(const char *root, unsigned files, uint64_t bytes, int64_t deadline_ns, struct sb_error *err)
{
	size_t each = (size_t)(bytes / files);
	unsigned char *buf = malloc(each ? each : 1);
	if (!buf)
		return sb_error_set(err, ENOMEM, "out of memory");
	char path[4200];
	snprintf(path, sizeof(path), "%s/data", root);
	int rc = mkdir(path, 0755) < 0 ? sb_error_set(err, errno, "mkdir %s: %s", path, strerror(errno)) : 0;
	for (unsigned i = 0; i < files && rc == 0; i++) {
		if (i % 100 == 0) {
			snprintf(path, sizeof(path), "%s/data/d%03u", root, i / 100);
			if (mkdir(path, 0755) < 0) {
				rc = sb_error_set(err, errno, "mkdir %s: %s", path, strerror(errno));
				break;
			}
			if (sb_interrupted() || sb_deadline_passed(deadline_ns)) {
				rc = sb_error_set(err, sb_interrupted() ? EINTR : ETIMEDOUT, "building the big image: %s",
						  sb_interrupted() ? "interrupted" : "timed out");
				break;
			}
		}
		snprintf(path, sizeof(path), "%s/data/d%03u/f%05u", root, i / 100, i);
		fill_random(buf, each, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			rc = sb_error_set(err, errno, "create %s: %s", path, strerror(errno));
			break;
		}
		for (size_t off = 0; off < each && rc == 0;) {
			ssize_t w = write(fd, buf + off, each - off);
			if (w < 0 && errno != EINTR)
				rc = sb_error_set(err, errno, "write %s: %s", path, strerror(errno));
			off += w > 0 ? (size_t)w : 0;
		}
		if (close(fd) < 0 && rc == 0)
			rc = sb_error_set(err, errno, "close %s: %s", path, strerror(errno));
	}
	free(buf);
	return rc;
}

int sb_image_build_big(const char *cache_dir, const char *base_rootfs, unsigned files, uint64_t bytes,
		       char *out, size_t len, bool *reused, struct sb_error *err)
{
	*reused = false;
	if (files == 0 || files > 1000000 || bytes / files > (256u << 20))
		return sb_error_set(err, EINVAL, "big image: %u files of %" PRIu64 " bytes in all is out of range",
				    files, bytes);
	/* Named by the base image (its own name carries the hash of its inputs) and the data's shape. */
	const char *base = strrchr(base_rootfs, '/');
	base = base ? base + 1 : base_rootfs;
	uint64_t h = strncmp(base, "rootfs-", 7) == 0 && strlen(base) == 23
			     ? strtoull(base + 7, NULL, 16)
			     : sb_fnv1a64(base_rootfs, strlen(base_rootfs), 0);
	char final[4096], tmp[4096], marker[4200];
	int n = snprintf(final, sizeof(final), "%s/rootfs-big-%016" PRIx64 "-%u-%" PRIu64, cache_dir, h, files, bytes);
	if (n < 0 || (size_t)n >= sizeof(final) || (size_t)n >= len)
		return sb_error_set(err, ENAMETOOLONG, "image path too long under %s", cache_dir);
	snprintf(marker, sizeof(marker), "%s/%s", final, SB_IMAGE_MARKER);
	if (access(marker, F_OK) == 0) {
		*reused = true;
		snprintf(out, len, "%s", final);
		return 0;
	}
	int rc = sb_mkdir_p(cache_dir, 0755);
	if (rc < 0)
		return sb_error_set(err, -rc, "creating cache directory %s: %s", cache_dir, strerror(-rc));
	sb_image_clean_stale_temps(cache_dir);
	int64_t deadline = sb_deadline_after(1800);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-rootfs-%016" PRIx64 "-%d-big", cache_dir, h, (int)getpid());
	sb_rm_rf(tmp);
	rc = sb_image_copy(base_rootfs, tmp, deadline, err);
	if (rc == 0)
		rc = add_data(tmp, files, bytes, deadline, err);
	if (rc == 0) {
		char text[160];
		int tl = snprintf(text, sizeof(text), "sandbench big rootfs\nfiles %u\nbytes %" PRIu64 "\n", files, bytes);
		char tmarker[4200];
		snprintf(tmarker, sizeof(tmarker), "%s/%s", tmp, SB_IMAGE_MARKER);
		int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			syncfs(dfd);
			close(dfd);
		}
		rc = sb_write_file_atomic(tmarker, text, (size_t)tl, err);
	}
	if (rc == 0 && rename(tmp, final) < 0) {
		int e = errno;
		if ((e == EEXIST || e == ENOTEMPTY) && access(marker, F_OK) == 0)
			*reused = true; /* a concurrent build won with the same content */
		else
			rc = sb_error_set(err, e, "publishing %s: %s", final, strerror(e));
	}
	if (rc < 0 || *reused)
		sb_rm_rf(tmp);
	if (rc < 0)
		return sb_error_prefix(err, "building the big image");
	snprintf(out, len, "%s", final);
	return 0;
}
