/* Standard rootfs builder; contract in image.h. */
#include "image/image.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/proc.h"
#include "core/util.h"

/* Fixed contents. Part of the layout: change them and bump SB_IMAGE_LAYOUT_VERSION. */
static const char etc_passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                                 "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char etc_group[] = "root:x:0:\nnogroup:x:65534:\n";
static const char etc_hostname[] = "sandbench\n";
static const char etc_hosts[] = "127.0.0.1\tlocalhost\n::1\tlocalhost\n";

static const struct {
	const char *path;
	mode_t mode;
} layout_dirs[] = {
	{ "bin", 0755 },  { "sbin", 0755 },    { "usr", 0755 },     { "usr/bin", 0755 },
	{ "usr/sbin", 0755 }, { "etc", 0755 }, { "proc", 0555 },    { "sys", 0555 },
	{ "dev", 0755 },  { "tmp", 01777 },    { "run", 0755 },     { "mnt", 0755 },
	{ "root", 0700 },
};

/* Applets linked when `busybox --list-full` cannot be run (e.g. a foreign-arch
 * busybox): the ones sandbench's own scenarios and tests rely on. */
static const char *const fallback_applets[] = {
	"bin/sh", "bin/ls", "bin/cat", "bin/echo", "bin/true", "bin/false", "bin/sleep",
	"bin/mount", "bin/umount", "bin/mkdir", "bin/rm", "bin/cp", "bin/mv", "bin/ln",
	"bin/ps", "bin/kill", "bin/dd", "bin/sync", "bin/hostname", "usr/bin/printf",
	"usr/bin/env", "usr/bin/id", "usr/bin/head", "usr/bin/tail", "usr/bin/wc",
	"usr/bin/seq", "usr/bin/test", "usr/bin/[", NULL,
};

const char *sb_image_default_cache_dir(void)
{
	static char buf[4096];
	const char *env = getenv("SANDBENCH_CACHE");
	const char *home = getenv("HOME");
	int n = -1;
	if (env && *env)
		n = snprintf(buf, sizeof(buf), "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, sizeof(buf), "/var/cache/sandbench");
	else if ((env = getenv("XDG_CACHE_HOME")) && env[0] == '/')
		n = snprintf(buf, sizeof(buf), "%s/sandbench", env);
	else {
		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(getuid());
			home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
		}
		if (home)
			n = snprintf(buf, sizeof(buf), "%s/.cache/sandbench", home);
	}
	if (n < 0 || (size_t)n >= sizeof(buf))
		snprintf(buf, sizeof(buf), ".sandbench-cache");
	return buf;
}

/* Is this an ELF executable without PT_INTERP (i.e. runnable with no dynamic loader)?
 * Returns 0 when static, -ENOEXEC when not ELF, -ELIBBAD when dynamically linked. */
static int elf_check_static(const unsigned char *p, size_t n)
{
	if (n < EI_NIDENT || memcmp(p, ELFMAG, SELFMAG) != 0)
		return -ENOEXEC;
	uint64_t phoff;
	unsigned phnum, phentsize;
	if (p[EI_CLASS] == ELFCLASS64 && n >= sizeof(Elf64_Ehdr)) {
		Elf64_Ehdr eh;
		memcpy(&eh, p, sizeof(eh));
		phoff = eh.e_phoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		if (phentsize < sizeof(Elf64_Phdr))
			return -ENOEXEC;
	} else if (p[EI_CLASS] == ELFCLASS32 && n >= sizeof(Elf32_Ehdr)) {
		Elf32_Ehdr eh;
		memcpy(&eh, p, sizeof(eh));
		phoff = eh.e_phoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		if (phentsize < sizeof(Elf32_Phdr))
			return -ENOEXEC;
	} else {
		return -ENOEXEC;
	}
	for (unsigned i = 0; i < phnum; i++) {
		uint64_t off = phoff + (uint64_t)i * phentsize;
		if (off > n || n - off < 4)
			return -ENOEXEC;
		uint32_t type; /* p_type is the first 4 bytes in both classes */
		memcpy(&type, p + off, 4);
		if (type == PT_INTERP)
			return -ELIBBAD;
	}
	return 0;
}

static int load_static_exe(const char *what, const char *path, char **data, size_t *len,
                           struct sb_error *err)
{
	int rc = sb_read_file(path, data, len, err);
	if (rc < 0)
		return sb_error_prefix(err, "reading %s", what);
	rc = elf_check_static((const unsigned char *)*data, *len);
	if (rc == -ENOEXEC)
		rc = sb_error_set(err, ENOEXEC, "%s %s is not an ELF executable", what, path);
	else if (rc == -ELIBBAD)
		rc = sb_error_set(err, ELIBBAD,
		                  "%s %s is dynamically linked; the rootfs has no loader or libc%s",
		                  what, path,
		                  strcmp(what, "busybox") == 0 ? " (install busybox-static)" : "");
	if (rc < 0) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

static uint64_t input_hash(const char *bb, size_t bb_len, const char *agent, size_t agent_len)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "sandbench-rootfs layout %d", SB_IMAGE_LAYOUT_VERSION);
	/* Lengths go in too, so moving bytes from one input to the other changes the hash. */
	uint64_t lens[2] = { bb_len, agent_len };
	uint64_t h = sb_fnv1a64(head, (size_t)n, 0);
	h = sb_fnv1a64(lens, sizeof(lens), h);
	h = sb_fnv1a64(bb, bb_len, h);
	return sb_fnv1a64(agent, agent_len, h);
}

static bool is_complete(const char *dir)
{
	char marker[4096];
	struct stat st;
	if (snprintf(marker, sizeof(marker), "%s/%s", dir, SB_IMAGE_MARKER) >= (int)sizeof(marker))
		return false;
	return lstat(marker, &st) == 0 && S_ISREG(st.st_mode);
}

/* Write a file under root with an exact mode (not subject to the umask). */
static int put_file(const char *root, const char *rel, const void *data, size_t len, mode_t mode,
                    struct sb_error *err)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
		return sb_error_set(err, ENAMETOOLONG, "image path too long: %s/%s", root, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return sb_error_set(err, errno, "creating %s: %s", path, strerror(errno));
	const char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			return sb_error_set(err, e, "writing %s: %s", path, strerror(e));
		}
		p += w;
		left -= (size_t)w;
	}
	if (fchmod(fd, mode) < 0 || close(fd) < 0)
		return sb_error_set(err, errno, "finishing %s: %s", path, strerror(errno));
	return 0;
}

/* Keep only paths in the four standard bin directories with a plain applet name, so a
 * surprising --list-full line can never write outside the tree. */
static bool applet_path_ok(const char *rel)
{
	static const char *const prefixes[] = { "bin/", "sbin/", "usr/bin/", "usr/sbin/" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);
		if (strncmp(rel, prefixes[i], pl) != 0)
			continue;
		const char *name = rel + pl;
		if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			return false;
		return strchr(name, '/') == NULL;
	}
	return false;
}

static int link_applets(const char *root, const char *busybox_path, struct sb_error *err)
{
	char *list = NULL;
	struct sb_error ignored = { 0 };
	const char *argv[] = { busybox_path, "--list-full", NULL };
	bool have_list = sb_proc_check(argv, 10.0, &list, &ignored) == 0 && list && *list;
	char *save = NULL;
	size_t fi = 0;
	char *line = have_list ? strtok_r(list, "\n", &save) : NULL;
	int rc = 0;
	for (;;) {
		const char *rel = have_list ? line : fallback_applets[fi++];
		if (!rel)
			break;
		if (applet_path_ok(rel)) {
			char path[4096];
			if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path)) {
				rc = sb_error_set(err, ENAMETOOLONG, "image path too long: %s", rel);
				break;
			}
			/* Absolute target: resolves to the image's own busybox once chrooted. */
			if (symlink("/bin/busybox", path) < 0 && errno != EEXIST) {
				rc = sb_error_set(err, errno, "linking applet %s: %s", rel, strerror(errno));
				break;
			}
		}
		if (have_list)
			line = strtok_r(NULL, "\n", &save);
	}
	free(list);
	return rc;
}

static int populate(const char *root, const char *busybox_path, const char *bb, size_t bb_len,
                    const char *agent, size_t agent_len, uint64_t hash, struct sb_error *err)
{
	char path[4096];
	if (chmod(root, 0755) < 0)
		return sb_error_set(err, errno, "chmod %s: %s", root, strerror(errno));
	for (size_t i = 0; i < sizeof(layout_dirs) / sizeof(layout_dirs[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", root, layout_dirs[i].path) >=
		    (int)sizeof(path))
			return sb_error_set(err, ENAMETOOLONG, "image path too long under %s", root);
		/* chmod after mkdir: the umask must not strip the sticky /tmp bits. */
		if (mkdir(path, 0700) < 0 || chmod(path, layout_dirs[i].mode) < 0)
			return sb_error_set(err, errno, "creating %s: %s", path, strerror(errno));
	}
	int rc = put_file(root, "bin/busybox", bb, bb_len, 0755, err);
	if (rc == 0)
		rc = put_file(root, "sandbench-agent", agent, agent_len, 0755, err);
	if (rc == 0)
		rc = put_file(root, "bin/sandbench-agent", agent, agent_len, 0755, err);
	if (rc == 0)
		rc = put_file(root, "etc/passwd", etc_passwd, sizeof(etc_passwd) - 1, 0644, err);
	if (rc == 0)
		rc = put_file(root, "etc/group", etc_group, sizeof(etc_group) - 1, 0644, err);
	if (rc == 0)
		rc = put_file(root, "etc/hostname", etc_hostname, sizeof(etc_hostname) - 1, 0644, err);
	if (rc == 0)
		rc = put_file(root, "etc/hosts", etc_hosts, sizeof(etc_hosts) - 1, 0644, err);
	if (rc == 0)
		rc = link_applets(root, busybox_path, err);
	if (rc < 0)
		return rc;

	/* Data reaches the disk before the marker and the rename publish it. */
	int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		syncfs(dfd);
		close(dfd);
	}
	char marker[128];
	int n = snprintf(marker, sizeof(marker), "sandbench rootfs\nlayout %d\nhash %016" PRIx64 "\n",
	                 SB_IMAGE_LAYOUT_VERSION, hash);
	return put_file(root, SB_IMAGE_MARKER, marker, (size_t)n, 0644, err);
}

/* Remove temp dirs of builds whose process no longer exists (a crash or kill -9). */
void sb_image_clean_stale_temps(const char *cache_dir)
{
	DIR *d = opendir(cache_dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char hash[17];
		int pid;
		if (sscanf(de->d_name, ".tmp-rootfs-%16[0-9a-f]-%d-", hash, &pid) != 2 || pid <= 0)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		char path[4096];
		if (snprintf(path, sizeof(path), "%s/%s", cache_dir, de->d_name) < (int)sizeof(path))
			sb_rm_rf(path);
	}
	closedir(d);
}

/* A key of the inputs' identity and change times (device, inode, size, mtime, ctime): the same
 * key means the same bytes, so the rootfs it led to last time is reused without reading and
 * hashing both binaries again (that read is most of a one-shot `sandbench exec`). ctime moves on
 * every write, so a binary rewritten in place with its old mtime still misses. */
static bool stat_key(const char *bb_path, const char *agent_path, uint64_t *key)
{
	struct stat st[2];
	if (stat(bb_path, &st[0]) < 0 || stat(agent_path, &st[1]) < 0)
		return false;
	uint64_t h = sb_fnv1a64(bb_path, strlen(bb_path) + 1, SB_IMAGE_LAYOUT_VERSION);
	h = sb_fnv1a64(agent_path, strlen(agent_path) + 1, h);
	for (int i = 0; i < 2; i++) {
		uint64_t f[7] = {st[i].st_dev, st[i].st_ino, (uint64_t)st[i].st_size,
				 (uint64_t)st[i].st_mtim.tv_sec, (uint64_t)st[i].st_mtim.tv_nsec,
				 (uint64_t)st[i].st_ctim.tv_sec, (uint64_t)st[i].st_ctim.tv_nsec};
		h = sb_fnv1a64(f, sizeof(f), h);
	}
	*key = h;
	return true;
}

/* The rootfs a stat key led to, when it is still complete. */
static bool stat_index_lookup(const char *cache_dir, uint64_t key, char *out, size_t len)
{
	char link[4096], target[256];
	snprintf(link, sizeof(link), "%s/.by-stat-%016" PRIx64, cache_dir, key);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	if (strchr(target, '/') || snprintf(out, len, "%s/%s", cache_dir, target) >= (int)len)
		return false;
	return is_complete(out);
}

/* Remember (atomically: symlink beside, then rename) which rootfs a stat key led to. */
static void stat_index_store(const char *cache_dir, uint64_t key, const char *rootfs)
{
	char link[4096], tmp[4200];
	const char *base = strrchr(rootfs, '/');
	snprintf(link, sizeof(link), "%s/.by-stat-%016" PRIx64, cache_dir, key);
	snprintf(tmp, sizeof(tmp), "%s.%d", link, (int)getpid());
	unlink(tmp);
	if (symlink(base ? base + 1 : rootfs, tmp) == 0 && rename(tmp, link) < 0)
		unlink(tmp);
}

int sb_image_build_from(const char *cache_dir, const char *busybox_path, const char *agent_path,
                        char *out_rootfs, size_t len, bool *reused, struct sb_error *err)
{
	*reused = false;
	uint64_t key = 0;
	bool keyed = stat_key(busybox_path, agent_path, &key);
	if (keyed && stat_index_lookup(cache_dir, key, out_rootfs, len)) {
		*reused = true;
		return 0;
	}
	char *bb = NULL, *agent = NULL;
	size_t bb_len = 0, agent_len = 0;
	int rc = load_static_exe("busybox", busybox_path, &bb, &bb_len, err);
	if (rc == 0)
		rc = load_static_exe("agent", agent_path, &agent, &agent_len, err);
	if (rc < 0)
		goto out;

	uint64_t hash = input_hash(bb, bb_len, agent, agent_len);
	char final[4096], tmp[4096];
	int n = snprintf(final, sizeof(final), "%s/rootfs-%016" PRIx64, cache_dir, hash);
	if (n < 0 || (size_t)n >= sizeof(final) || (size_t)n >= len) {
		rc = sb_error_set(err, ENAMETOOLONG, "image path too long under %s", cache_dir);
		goto out;
	}
	if (is_complete(final)) {
		*reused = true;
		snprintf(out_rootfs, len, "%s", final);
		goto out;
	}

	rc = sb_mkdir_p(cache_dir, 0755);
	if (rc < 0) {
		rc = sb_error_set(err, -rc, "creating cache directory %s: %s", cache_dir, strerror(-rc));
		goto out;
	}
	sb_image_clean_stale_temps(cache_dir);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-rootfs-%016" PRIx64 "-%d-XXXXXX", cache_dir, hash,
	         (int)getpid());
	if (!mkdtemp(tmp)) {
		rc = sb_error_set(err, errno, "creating temp dir in %s: %s", cache_dir, strerror(errno));
		goto out;
	}
	rc = populate(tmp, busybox_path, bb, bb_len, agent, agent_len, hash, err);
	if (rc < 0) {
		sb_error_prefix(err, "building rootfs");
		sb_rm_rf(tmp);
		goto out;
	}
	/* Retry once: the first failure may be a leftover partial dir (no marker) from a
	 * tool that did not build atomically, which is removed and replaced. */
	for (int attempt = 0;; attempt++) {
		if (rename(tmp, final) == 0)
			break;
		int e = errno;
		if ((e == EEXIST || e == ENOTEMPTY) && is_complete(final)) {
			/* A concurrent build won the race with identical content: use it. */
			sb_rm_rf(tmp);
			*reused = true;
			break;
		}
		if ((e == EEXIST || e == ENOTEMPTY) && attempt == 0 && sb_rm_rf(final) == 0)
			continue;
		sb_rm_rf(tmp);
		rc = sb_error_set(err, e, "publishing rootfs %s: %s", final, strerror(e));
		goto out;
	}
	snprintf(out_rootfs, len, "%s", final);
out:
	if (rc == 0 && keyed)
		stat_index_store(cache_dir, key, out_rootfs);
	free(bb);
	free(agent);
	return rc;
}

int sb_image_build(const char *cache_dir, const char *agent_path, char *out_rootfs, size_t len,
                   bool *reused, struct sb_error *err)
{
	return sb_image_build_from(cache_dir, SB_IMAGE_BUSYBOX, agent_path, out_rootfs, len, reused,
	                           err);
}
