/* The box's filesystem, built inside its fresh mount namespace (so nothing here is visible to the
 * host, and it all disappears with the namespace): a scratch tmpfs holding the writable layer (or,
 * with layer=disk, a bind of the box's layer directory on a host disk: layer.c), the
 * root (overlay of the read-only rootfs, or a read-only bind with a tmpfs /tmp), a read-only /proc
 * of the box's pid namespace, a minimal /dev, then pivot_root and the old root detached.
 *
 * /proc is mounted read-only because box processes keep uid 0: without capabilities uid 0 still
 * passes owner permission checks, and writable /proc/sys or /proc/sysrq-trigger would reach the
 * host kernel. One read-only mount is cheaper than masking each dangerous file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "native/native_int.h"

static int fail(char *why, size_t wlen, const char *what, const char *arg)
{
	int e = errno;
	snprintf(why, wlen, "%s %s: %s", what, arg ? arg : "", strerror(e));
	return -e;
}

int sbn_mount_layer(const struct sbn_cfg *cfg, const char *id, unsigned gen, const char *scratch, char *why,
		    size_t wlen)
{
	if (cfg->layer != SBN_LAYER_DISK || cfg->rootfs_mode != SBN_ROOTFS_OVERLAY) {
		if (mount("sbn-scratch", scratch, "tmpfs", MS_NOSUID, "mode=0700") < 0)
			return fail(why, wlen, "mount scratch tmpfs on", scratch);
		return 0;
	}
	/* The box's directory on the host disk, then this generation in it, bound on scratch: the
	 * paths the overlay gets stay those of the tmpfs case. The overlay itself is nosuid. */
	char p[PATH_MAX];
	if (sbn_layer_dir(id, -1, p, sizeof(p)) < 0 || (mkdir(p, 0700) < 0 && errno != EEXIST))
		return fail(why, wlen, "mkdir layer directory", p);
	if (sbn_layer_dir(id, (int)gen, p, sizeof(p)) < 0 || mkdir(p, 0700) < 0)
		return fail(why, wlen, "mkdir layer directory", p);
	if (mount(p, scratch, NULL, MS_BIND, NULL) < 0)
		return fail(why, wlen, "bind mount layer directory", p);
	return 0;
}

int sbn_mount_scratch(const struct sbn_cfg *cfg, const char *id, const char *scratch, int *upper_fd, char *why,
		      size_t wlen)
{
	*upper_fd = -1;
	/* Private first: mounts made below must never propagate back to the host's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(why, wlen, "make / private", NULL);
	int rc = sbn_mount_layer(cfg, id, 0, scratch, why, wlen);
	if (rc < 0)
		return rc;
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/root", scratch);
	if (mkdir(p, 0755) < 0)
		return fail(why, wlen, "mkdir", p);
	if (cfg->rootfs_mode == SBN_ROOTFS_OVERLAY) {
		snprintf(p, sizeof(p), "%s/work", scratch);
		if (mkdir(p, 0755) < 0)
			return fail(why, wlen, "mkdir", p);
		snprintf(p, sizeof(p), "%s/upper", scratch);
		if (mkdir(p, 0755) < 0)
			return fail(why, wlen, "mkdir", p);
		*upper_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*upper_fd < 0)
			return fail(why, wlen, "open", p);
	}
	return 0;
}

/* dir/name into p (PATH_MAX); the box's paths are short, but never write a truncated one. */
static int join(char *p, const char *dir, const char *name)
{
	int n = snprintf(p, PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int sbn_mount_dev(const char *dev, char *why, size_t wlen)
{
	static const struct {
		const char *name;
		unsigned maj, min;
	} nodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
	if (mount("sbn-dev", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536") < 0)
		return fail(why, wlen, "mount tmpfs on", dev);
	char p[PATH_MAX];
	/* mknod honours the umask; the nodes must be 0666 for every user in the box. */
	mode_t old = umask(0);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		if (sbn_unpriv()) {
			/* No mknod in a user namespace (and its tmpfs is nodev): the host's own node is
			 * bind-mounted on an empty file instead; a bind keeps the host mount's flags. */
			char src[32];
			snprintf(src, sizeof(src), "/dev/%s", nodes[i].name);
			int fd = join(p, dev, nodes[i].name) < 0 ? -1 : open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
			if (fd < 0) {
				umask(old);
				return fail(why, wlen, "create", p);
			}
			close(fd);
			if (mount(src, p, NULL, MS_BIND, NULL) < 0) {
				umask(old);
				return fail(why, wlen, "bind mount host device", src);
			}
			continue;
		}
		if (join(p, dev, nodes[i].name) < 0 || mknod(p, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0) {
			umask(old);
			return fail(why, wlen, "mknod", p);
		}
	}
	if (join(p, dev, "shm") == 0)
		mkdir(p, 01777);
	umask(old);
	if (join(p, dev, "pts") < 0 || mkdir(p, 0755) < 0)
		return fail(why, wlen, "mkdir", p);
	if (mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
		return fail(why, wlen, "mount devpts on", p);
	static const char *const links[][2] = {{"pts/ptmx", "ptmx"},       {"/proc/self/fd", "fd"},
					       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
					       {"/proc/self/fd/2", "stderr"}};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (join(p, dev, links[i][1]) < 0 || symlink(links[i][0], p) < 0)
			return fail(why, wlen, "symlink", p);
	}
	return 0;
}

/* A mount point the read-only rootfs lacks can only be made in overlay mode. */
static int ensure_dir(const char *p, char *why, size_t wlen)
{
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return fail(why, wlen, "mkdir", p);
	return 0;
}

int sbn_mount_overlay(const struct sbn_cfg *cfg, const char *scratch, const char *root, char *why, size_t wlen)
{
	char opts[3 * PATH_MAX + 128], p[PATH_MAX + 64];
	/* No "volatile": with a tmpfs upper there is nothing to sync anyway, and the option costs the
	 * mount ~10 us of extra work-dir setup; with a disk upper the box's fsync must reach the disk,
	 * or the disk scenarios' fsync figures would measure nothing. */
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", cfg->rootfs, scratch, scratch);
	if (mount("sbn-root", root, "overlay", MS_NOSUID, opts) < 0)
		return fail(why, wlen, "mount overlay with lower", cfg->rootfs);
	int rc;
	snprintf(p, sizeof(p), "%s/proc", root);
	if ((rc = ensure_dir(p, why, wlen)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/dev", root);
	if ((rc = ensure_dir(p, why, wlen)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/tmp", root);
	if (mkdir(p, 01777) == 0)
		chmod(p, 01777);
	return 0;
}

/* mkdir -p of root/rel (rel absolute inside the box, without ".." components: checked by the
 * driver). Missing directories can only be made where the root is writable (overlay mode). */
static int mkdir_under(const char *root, const char *rel, char *why, size_t wlen)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s%s", root, rel);
	if (n < 0 || n >= (int)sizeof(p)) {
		errno = ENAMETOOLONG;
		return fail(why, wlen, "volume path", rel);
	}
	for (char *c = p + strlen(root) + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return fail(why, wlen, "mkdir", p);
		*c = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return fail(why, wlen, "mkdir", p);
	return 0;
}

/* The host directories the box asked for, bound under root before pivot_root (after it the host
 * tree is gone). A read-only one is remounted read-only: the bind alone keeps the source's
 * flags. */
static int mount_volumes(const struct sbn_cfg *cfg, const char *root, char *why, size_t wlen)
{
	for (unsigned i = 0; i < cfg->nvol && i < SBN_MAX_VOLUMES; i++) {
		const struct sbn_vol *v = &cfg->vol[i];
		int rc = mkdir_under(root, v->box, why, wlen);
		if (rc < 0)
			return rc;
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s%s", root, v->box);
		if (mount(v->host, p, NULL, MS_BIND | MS_REC, NULL) < 0)
			return fail(why, wlen, "bind mount volume", v->host);
		if (v->ro && mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
			return fail(why, wlen, "remount volume read-only", v->box);
	}
	return 0;
}

int sbn_mount_root(const struct sbn_cfg *cfg, const char *scratch, char *why, size_t wlen)
{

	char root[PATH_MAX + 16], p[PATH_MAX + 64];
	snprintf(root, sizeof(root), "%s/root", scratch);
	int rc;
	if (cfg->rootfs_mode == SBN_ROOTFS_OVERLAY) {
		if ((rc = sbn_mount_overlay(cfg, scratch, root, why, wlen)) < 0)
			return rc;
	} else {
		if (mount(cfg->rootfs, root, NULL, MS_BIND | MS_REC, NULL) < 0)
			return fail(why, wlen, "bind mount", cfg->rootfs);
		/* In a user namespace the rootfs mount's flags are locked: a remount must keep them. */
		unsigned long keep = 0;
		struct statvfs sv;
		if (sbn_unpriv() && statvfs(root, &sv) == 0)
			keep = sv.f_flag & (ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME);
		if (mount(NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | keep, NULL) < 0)
			return fail(why, wlen, "remount read-only", root);
		snprintf(p, sizeof(p), "%s/tmp", root);
		if (mount("sbn-tmp", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
			return fail(why, wlen, "mount tmpfs on", p);
	}
	if ((rc = mount_volumes(cfg, root, why, wlen)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s/proc", root);
	if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
		return fail(why, wlen, "mount proc on", p);
	snprintf(p, sizeof(p), "%s/dev", root);
	if ((rc = sbn_mount_dev(p, why, wlen)) < 0)
		return rc;
	/* pivot_root(".", ".") stacks the old root under the new one; detaching "." then drops the
	 * whole host tree from this namespace without needing a directory for it. */
	if (chdir(root) < 0)
		return fail(why, wlen, "chdir", root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(why, wlen, "pivot_root", root);
	if (umount2(".", MNT_DETACH) < 0)
		return fail(why, wlen, "detach old root", NULL);
	if (chdir("/") < 0)
		return fail(why, wlen, "chdir", "/");
	return 0;
}
