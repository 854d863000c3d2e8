/* Initramfs writer; contract in initramfs.h. The format is the kernel's "newc" cpio: a 110-byte
 * ASCII header per entry (magic 070701, then 13 eight-digit hex fields), the NUL-terminated name
 * and the data, each padded to 4 bytes, closed by an entry named TRAILER!!!. */
#include "image/initramfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/util.h"

#define GUEST_MODULE_DIR "lib/modules/sandbench"

struct cpio {
	FILE *f;
	unsigned ino;
	int err; /* first errno */
};

static void pad4(struct cpio *c, size_t n)
{
	static const char zero[4];
	if (n % 4 && fwrite(zero, 1, 4 - n % 4, c->f) != 4 - n % 4 && !c->err)
		c->err = EIO;
}

/* One entry: name is relative to / (no leading slash). */
static void put_entry(struct cpio *c, const char *name, unsigned mode, const void *data, size_t len,
                      unsigned rmajor, unsigned rminor)
{
	size_t nlen = strlen(name) + 1;
	char hdr[111];
	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
	         ++c->ino, mode, 0u, 0u, (mode & S_IFMT) == S_IFDIR ? 2u : 1u, 0u, (unsigned)len, 0u, 0u,
	         rmajor, rminor, (unsigned)nlen, 0u);
	if (fwrite(hdr, 1, 110, c->f) != 110 || fwrite(name, 1, nlen, c->f) != nlen) {
		if (!c->err)
			c->err = EIO;
		return;
	}
	pad4(c, 110 + nlen);
	if (len && fwrite(data, 1, len, c->f) != len && !c->err)
		c->err = EIO;
	pad4(c, len);
}

static int put_host_file(struct cpio *c, const char *name, const char *host, unsigned mode)
{
	char *data = NULL;
	size_t len = 0;
	struct sb_error e = { 0 };
	int rc = sb_read_file(host, &data, &len, &e);
	if (rc < 0)
		return rc;
	put_entry(c, name, S_IFREG | (mode & 07777), data, len, 0, 0);
	free(data);
	return 0;
}

/* Depth-first, parents before children, names sorted so the archive is reproducible. */
static int put_tree(struct cpio *c, const char *host_dir, const char *rel)
{
	struct dirent **list = NULL;
	int n = scandir(host_dir, &list, NULL, alphasort);
	if (n < 0)
		return -errno;
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *d = list[i]->d_name;
		if (rc < 0 || !strcmp(d, ".") || !strcmp(d, "..")) {
			free(list[i]);
			continue;
		}
		char host[4096], name[4096];
		snprintf(host, sizeof(host), "%s/%s", host_dir, d);
		snprintf(name, sizeof(name), "%s%s%s", rel, rel[0] ? "/" : "", d);
		free(list[i]);
		struct stat st;
		if (lstat(host, &st) < 0) {
			rc = -errno;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			put_entry(c, name, S_IFDIR | (st.st_mode & 07777), NULL, 0, 0, 0);
			rc = put_tree(c, host, name);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t t = readlink(host, target, sizeof(target));
			if (t < 0)
				rc = -errno;
			else
				put_entry(c, name, S_IFLNK | 0777, target, (size_t)t, 0, 0);
		} else if (S_ISREG(st.st_mode)) {
			rc = put_host_file(c, name, host, st.st_mode);
		} /* sockets, fifos, devices of a rootfs tree are not carried */
	}
	free(list);
	return rc;
}

static bool exists(const char *root, const char *rel)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return lstat(p, &st) == 0;
}

static int put_modules(struct cpio *c, const char *modules_dir)
{
	char order[4096], *text = NULL;
	size_t len;
	struct sb_error e = { 0 };
	snprintf(order, sizeof(order), "%s/load-order", modules_dir);
	int rc = sb_read_file(order, &text, &len, &e);
	if (rc < 0)
		return rc;
	put_entry(c, "lib", S_IFDIR | 0755, NULL, 0, 0, 0);
	put_entry(c, "lib/modules", S_IFDIR | 0755, NULL, 0, 0, 0);
	put_entry(c, GUEST_MODULE_DIR, S_IFDIR | 0755, NULL, 0, 0, 0);
	char *list = calloc(1, len * 2 + 64 * 32 + 1), *lp = list;
	if (!list) {
		free(text);
		return -ENOMEM;
	}
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char host[4096], name[512];
		snprintf(host, sizeof(host), "%s/%s", modules_dir, line);
		snprintf(name, sizeof(name), GUEST_MODULE_DIR "/%s", line);
		rc = put_host_file(c, name, host, 0644);
		lp += sprintf(lp, "/%s\n", name);
	}
	if (rc == 0)
		put_entry(c, "etc/sandbench/modules", S_IFREG | 0644, list, strlen(list), 0, 0);
	free(list);
	free(text);
	return rc;
}

static uint64_t modules_hash(const char *modules_dir)
{
	if (!modules_dir)
		return 0;
	char order[4096], *text = NULL;
	size_t len = 0;
	struct sb_error e = { 0 };
	snprintf(order, sizeof(order), "%s/load-order", modules_dir);
	uint64_t h = sb_fnv1a64(modules_dir, strlen(modules_dir), 0);
	if (sb_read_file(order, &text, &len, &e) == 0)
		h = sb_fnv1a64(text, len, h);
	free(text);
	return h;
}

int sb_initramfs_build(const char *cache_dir, const char *rootfs, const char *modules_dir,
                       char *out, size_t len, bool *reused, struct sb_error *err)
{
	*reused = false;
	if (!exists(rootfs, "sandbench-agent") || !exists(rootfs, "bin/busybox"))
		return sb_error_set(err, ENOENT, "%s is not a standard rootfs (no sandbench-agent or busybox)",
		                    rootfs);
	const char *base = strrchr(rootfs, '/') ? strrchr(rootfs, '/') + 1 : rootfs;
	uint64_t h = sb_fnv1a64(base, strlen(base), SB_INITRAMFS_LAYOUT_VERSION);
	h ^= modules_hash(modules_dir);
	if (snprintf(out, len, "%s/initramfs-%016llx.cpio", cache_dir, (unsigned long long)h) >= (int)len)
		return sb_error_set(err, ENAMETOOLONG, "cache path too long");
	struct stat st;
	if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
		*reused = true;
		return 0;
	}
	if (sb_mkdir_p(cache_dir, 0755) < 0)
		return sb_error_set(err, errno, "mkdir %s: %s", cache_dir, strerror(errno));
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", out, (int)getpid());
	struct cpio c = { .f = fopen(tmp, "we") };
	if (!c.f)
		return sb_error_set(err, errno, "create %s: %s", tmp, strerror(errno));
	int rc = put_tree(&c, rootfs, "");
	/* What the agent's init needs beyond the rootfs. */
	static const char *const dirs[] = { "proc", "sys", "dev", "tmp", "run", "scratch", "etc",
	                                    "etc/sandbench" };
	for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!exists(rootfs, dirs[i]))
			put_entry(&c, dirs[i], S_IFDIR | (strcmp(dirs[i], "tmp") ? 0755 : 01777), NULL, 0, 0, 0);
	/* The kernel opens /dev/console for init before anything is mounted. */
	if (rc == 0)
		put_entry(&c, "dev/console", S_IFCHR | 0600, NULL, 0, 5, 1);
	if (rc == 0 && !exists(rootfs, "init"))
		put_entry(&c, "init", S_IFLNK | 0777, "/sandbench-agent", strlen("/sandbench-agent"), 0, 0);
	if (rc == 0 && modules_dir)
		rc = put_modules(&c, modules_dir);
	if (rc == 0)
		put_entry(&c, "TRAILER!!!", 0, NULL, 0, 0, 0);
	if (rc == 0 && c.err)
		rc = -c.err;
	if (rc == 0 && (fflush(c.f) != 0 || fsync(fileno(c.f)) != 0))
		rc = -errno;
	if (fclose(c.f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, out) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return sb_error_set(err, -rc, "writing the initramfs %s: %s", out, strerror(-rc));
	}
	return 0;
}
