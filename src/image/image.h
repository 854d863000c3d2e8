/* The standard sandbench rootfs: busybox-static + sandbench-agent + a minimal /etc,
 * built once into a content-addressed cache directory and reused while its inputs are
 * unchanged. Every driver that needs a filesystem (native, OCI bundles, podman/docker
 * import, microVM initramfs) starts from this tree. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Bump when the tree's layout or fixed contents change: it is part of the hash, so
 * old images are simply not found any more. */
#define SB_IMAGE_LAYOUT_VERSION 1
/* Marker written last inside a complete image; its presence means "complete". */
#define SB_IMAGE_MARKER ".sandbench-image"
#define SB_IMAGE_BUSYBOX "/bin/busybox"

/* Where images live by default: $SANDBENCH_CACHE if set, /var/cache/sandbench for
 * root, else $XDG_CACHE_HOME/sandbench, else ~/.cache/sandbench, else (no home at all)
 * ./.sandbench-cache. Never NULL; the string lives in a static buffer that the next
 * call overwrites (not thread-safe). */
const char *sb_image_default_cache_dir(void);

/* Make (or find) the standard rootfs under cache_dir (created if missing) from
 * SB_IMAGE_BUSYBOX and the agent at agent_path; both must be static ELF executables.
 * The directory is cache_dir/rootfs-<FNV-1a 64 of busybox, agent and layout version>.
 * An existing complete image is reused (*reused = true). A new one is assembled in a
 * temporary sibling directory and renamed into place, so readers never see a partial
 * tree and a crash leaves only a temp dir, removed by a later build once its owner
 * process is gone. Writes the rootfs path to out_rootfs. Returns 0 or -errno. */
int sb_image_build(const char *cache_dir, const char *agent_path, char *out_rootfs, size_t len,
                   bool *reused, struct sb_error *err);

/* As sb_image_build with another busybox binary (tests, distributions that install it
 * elsewhere). */
int sb_image_build_from(const char *cache_dir, const char *busybox_path, const char *agent_path,
                        char *out_rootfs, size_t len, bool *reused, struct sb_error *err);

/* Remove temp dirs (.tmp-rootfs-HASH-PID-...) of builds whose process is gone. */
void sb_image_clean_stale_temps(const char *cache_dir);

/* Copy a rootfs tree (directories, regular files, symlinks; modes and, as root, owners; not the
 * completeness marker) to dst, which must not exist. On failure a dst this call made is removed. */
int sb_image_copy(const char *src, const char *dst, int64_t deadline_ns, struct sb_error *err);

/* The big image (`sandbench image build --big`): base_rootfs plus `files` files of bytes/files
 * incompressible bytes each under /data/dNNN/ (100 per directory), built once into
 * cache_dir/rootfs-big-<base hash>-<files>-<bytes> (temp dir + rename, like the standard one) and
 * reused while complete. The defaults are what a large real image weighs. */
#define SB_IMAGE_BIG_FILES 10000u
#define SB_IMAGE_BIG_BYTES (200ull << 20)
int sb_image_build_big(const char *cache_dir, const char *base_rootfs, unsigned files, uint64_t bytes,
		       char *out, size_t len, bool *reused, struct sb_error *err);
