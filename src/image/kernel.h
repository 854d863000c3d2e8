/* Guest kernels for the microVM driver, cached in the image cache:
 *   minimal  built from Debian's linux-source with the fragment images/kernel/minimal.config
 *            merged over tinyconfig (every driver the agent needs built in), kept as the
 *            uncompressed vmlinux that QEMU boots through its PVH entry point;
 *   debian   the vmlinux inside Debian's linux-image-cloud-amd64 package (downloaded with
 *            apt-get and unpacked in a temp dir, never installed), plus the virtio/ext4
 *            modules it lacks built in, decompressed, with their load order.
 * A kernel directory holds `vmlinux`, `version`, optionally `modules/` (with `load-order`), and
 * the marker SB_IMAGE_MARKER written last. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Bump when how a kernel is built changes: old builds are then not found any more. */
#define SB_KERNEL_BUILDER_VERSION 2 /* 2: init memory kept (keep_initmem in kernel.c) */

struct sb_kernel {
	char kind[16];       /* "minimal" or "debian" */
	char dir[4096];
	char vmlinux[4200];
	char modules[4200];  /* directory with load-order, or "" when the kernel needs none */
	char version[96];    /* kernel release, e.g. 6.1.158 */
};

/* A built kernel of that kind in cache_dir (the newest when several): 0, or -ENOENT with err
 * saying how to build it. */
int sb_kernel_find(const char *cache_dir, const char *kind, struct sb_kernel *out,
                   struct sb_error *err);

/* Build (or find) a kernel of that kind. jobs: make -j for minimal. Long: minutes for minimal.
 * Interruptible (SIGINT/SIGTERM kill the build and remove its temp dir). */
int sb_kernel_build(const char *cache_dir, const char *kind, unsigned jobs, struct sb_kernel *out,
                    bool *reused, struct sb_error *err);

/* The Debian kernel (kernel_debian.c): called by sb_kernel_build for kind "debian". */
int sb_kernel_build_debian(const char *cache_dir, struct sb_kernel *out, bool *reused,
                           struct sb_error *err);

/* Shared by both builders: fill out from a complete kernel directory. */
int sb_kernel_load(const char *dir, const char *kind, struct sb_kernel *out, struct sb_error *err);
/* Run argv (cwd may be NULL) to completion, output discarded, no deadline but interruptible;
 * on failure err names what and the last line of its stderr. */
int sb_kernel_run(const char *what, const char *const *argv, const char *cwd, struct sb_error *err);
/* Publish a finished temp directory as final (atomic rename; a concurrent identical build
 * that won the race is fine). Writes the marker first. */
int sb_kernel_publish(const char *tmp, const char *final, struct sb_error *err);
