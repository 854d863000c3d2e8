/* Writable layers on a host disk (layer=disk).
 *
 * By default a box's overlay upper and work dirs are on a tmpfs private to the box: nothing to
 * clean up, nothing to sync, and files written in the box measure memory. With layer=disk they
 * are directories of a host disk filesystem instead, sbn_layer_base()/<id>/<gen>/, so what a
 * box writes goes where a container engine's writable layer goes (docker's and podman's are
 * under /var/lib on the host's disk). Such a directory outlives the box's processes, so a box
 * that has one writes a marker first (marker.c; the directory is named by the marker's id),
 * removes the directory when it is destroyed (now, or with its deferred reap), and `doctor`
 * removes those of crashed runs. Generations: a warm reset (recycle.c) makes the next one beside
 * the one in use, swaps the box's root onto it and removes the old one. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/util.h"
#include "native/native_int.h"

const char *sbn_layer_base(void)
{
	static char dir[64];
	if (!dir[0]) {
		/* Unprivileged, a directory of this user: /var/tmp is shared, and sticky. */
		if (sbn_unpriv())
			snprintf(dir, sizeof(dir), "/var/tmp/sandbench-%u-native", (unsigned)geteuid());
		else
			snprintf(dir, sizeof(dir), "/var/tmp/sandbench-native");
	}
	return dir;
}

int sbn_layer_base_make(struct sb_error *err)
{
	static atomic_bool made;
	if (atomic_load(&made))
		return 0;
	const char *dir = sbn_layer_base();
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return sb_error_set(err, errno, "native: layer=disk: mkdir %s: %s", dir, strerror(errno));
	/* Only a private directory of ours: another user could have made the path first. */
	struct stat st;
	if (lstat(dir, &st) < 0)
		return sb_error_set(err, errno, "native: layer=disk: %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return sb_error_set(err, EPERM, "native: layer=disk: %s exists but is not a private directory of uid %u",
				    dir, (unsigned)geteuid());
	atomic_store(&made, true);
	return 0;
}

int sbn_layer_dir(const char *id, int gen, char *out, size_t len)
{
	int n = gen >= 0 ? snprintf(out, len, "%s/%s/%d", sbn_layer_base(), id, gen)
			 : snprintf(out, len, "%s/%s", sbn_layer_base(), id);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int sbn_layer_remove(const char *id)
{
	char p[PATH_MAX];
	/* Ids are ours ("pid-n-hex"); a name with a slash or a dot-dot would reach elsewhere. */
	if (!id[0] || strchr(id, '/') || strstr(id, ".."))
		return -EINVAL;
	int rc = sbn_layer_dir(id, -1, p, sizeof(p));
	return rc < 0 ? rc : sb_rm_rf(p);
}

int sbn_layer_remove_gen(const char *id, unsigned gen)
{
	char p[PATH_MAX];
	int rc = sbn_layer_dir(id, (int)gen, p, sizeof(p));
	return rc < 0 ? rc : sb_rm_rf(p);
}

void sbn_fs_name(int fd, char *out, size_t len)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} names[] = {
		{0xef53, "ext4"},       {0x58465342, "xfs"},  {0x9123683e, "btrfs"}, {0x01021994, "tmpfs"},
		{0xf2f52010, "f2fs"},   {0x2fc12fc1, "zfs"},  {0x6969, "nfs"},       {0x01021997, "9p"},
		{0x794c7630, "overlay"}, {0x65735546, "fuse"}, {0x858458f6, "ramfs"},
	};
	struct statfs sf;
	if (fd < 0 || fstatfs(fd, &sf) < 0) {
		snprintf(out, len, "?");
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((unsigned long)sf.f_type == names[i].magic) {
			snprintf(out, len, "%s", names[i].name);
			return;
		}
	}
	snprintf(out, len, "0x%lx", (unsigned long)sf.f_type);
}
