#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

int sb_write_file_atomic(const char *path, const char *data, size_t len, struct sb_error *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return sb_error_set(err, ENAMETOOLONG, "path too long: %s", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return sb_error_set(err, errno, "cannot create %s: %s", tmp, strerror(errno));
	fchmod(fd, 0644);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return sb_error_set(err, e, "cannot write %s: %s", path, strerror(e));
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		int e = errno;
		unlink(tmp);
		return sb_error_set(err, e, "cannot flush %s: %s", path, strerror(e));
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return sb_error_set(err, e, "cannot rename into %s: %s", path, strerror(e));
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int sb_read_file(const char *path, char **out, size_t *len, struct sb_error *err)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return sb_error_set(err, errno, "cannot open %s: %s", path, strerror(errno));
	size_t alloc = 8192, n = 0;
	char *buf = malloc(alloc);
	while (buf) {
		if (n + 4096 + 1 > alloc) {
			char *nb = realloc(buf, alloc *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, alloc - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	int ferr = ferror(f);
	fclose(f);
	if (!buf)
		return sb_error_set(err, ENOMEM, "out of memory reading %s", path);
	if (ferr) {
		free(buf);
		return sb_error_set(err, EIO, "cannot read %s", path);
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int sb_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int sb_mkdir_p(const char *path, unsigned mode)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int rm_rf_at(int dfd, const char *name, dev_t dev)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev)
		return -EBUSY; /* a mount point: never delete into another filesystem */
	/* A directory of ours we may not list or empty (overlayfs makes its work/work mode 000; a box
	 * can chmod what it made): root would not care, an unprivileged user must give itself rwx. */
	if (st.st_uid == geteuid() && (st.st_mode & 0700) != 0700)
		fchmodat(dfd, name, (st.st_mode & 07777) | 0700, 0);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = rm_rf_at(fd, de->d_name, dev);
		if (r < 0 && rc == 0)
			rc = r;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && rc == 0)
		rc = -errno;
	return rc;
}

int sb_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return rm_rf_at(AT_FDCWD, path, st.st_dev);
}

bool sb_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void sb_random_id(char out[33])
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		uint64_t x = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL);
		memcpy(b, &x, 8);
		memcpy(b + 8, &x, 8);
	}
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

uint64_t sb_fnv1a64(const void *data, size_t len, uint64_t seed)
{
	uint64_t h = seed ? seed : 0xcbf29ce484222325ULL;
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int sb_self_dir(char *buf, size_t len)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	if (snprintf(buf, len, "%s", dirname(exe)) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int sb_find_agent(char *buf, size_t len, struct sb_error *err)
{
	const char *env = getenv("SANDBENCH_AGENT");
	if (env && *env) {
		if (access(env, X_OK) < 0)
			return sb_error_set(err, ENOENT, "SANDBENCH_AGENT=%s is not executable", env);
		snprintf(buf, len, "%s", env);
		return 0;
	}
	char dir[4096];
	if (sb_self_dir(dir, sizeof(dir)) == 0) {
		/* beside us, the build tree, then an installed layout (bin/ next to libexec/) */
		const char *rel[] = {"sandbench-agent", "../agent/sandbench-agent", "../src/agent/sandbench-agent",
				     "../libexec/sandbench/sandbench-agent", "../lib/sandbench/sandbench-agent"};
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(buf, len, "%s/%s", dir, rel[i]);
			if (access(buf, X_OK) == 0) {
				char real[4096];
				if (realpath(buf, real))
					snprintf(buf, len, "%s", real);
				return 0;
			}
		}
	}
#ifdef SB_AGENT_INSTALL_PATH
	/* where `meson install` put it, for a sandbench copied or linked elsewhere */
	if (access(SB_AGENT_INSTALL_PATH, X_OK) == 0) {
		snprintf(buf, len, "%s", SB_AGENT_INSTALL_PATH);
		return 0;
	}
#endif
	const char *path = getenv("PATH");
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s", path ? path : "/usr/bin:/bin");
	for (char *save, *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/sandbench-agent", p);
		if (access(buf, X_OK) == 0)
			return 0;
	}
	buf[0] = '\0';
	return sb_error_set(err, ENOENT, "sandbench-agent not found (build it, or set SANDBENCH_AGENT)");
}

void sb_utf8_trim(char *s)
{
	size_t n = strlen(s), lead = n;
	/* Back over at most three continuation bytes to the last lead byte. */
	while (lead > 0 && n - lead < 4 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return;
	unsigned char c = (unsigned char)s[lead - 1];
	size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (n - (lead - 1) < want)
		s[lead - 1] = '\0';
}
