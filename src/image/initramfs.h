/* The microVM's initramfs: the standard rootfs as an uncompressed "newc" cpio archive with the
 * agent as /init, a /dev/console node, the mount points the agent's init uses, and any kernel
 * modules the guest kernel needs (listed in /etc/sandbench/modules in load order). Uncompressed,
 * so the kernel unpacks it without a decompressor and boots sooner. Cached in the image cache. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Bump when the archive's fixed contents change (part of the cache key). */
#define SB_INITRAMFS_LAYOUT_VERSION 1

/* Make (or find) cache_dir/initramfs-<hash>.cpio from the rootfs directory (a complete standard
 * rootfs) and the kernel modules in modules_dir (NULL or a directory whose `load-order` file
 * names its .ko files one per line, dependencies first). The hash covers the rootfs's name (it
 * is content-addressed), the modules and the layout version. Written to a temp file and renamed.
 * Returns 0 with the path in out, or -errno with err filled. */
int sb_initramfs_build(const char *cache_dir, const char *rootfs, const char *modules_dir,
                       char *out, size_t len, bool *reused, struct sb_error *err);
