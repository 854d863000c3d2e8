/* Public interface of the native sandbox beyond its driver vtable (sb_driver_native): leftovers of
 * crashed runs for `sandbench doctor [--clean]`, and shutting the warm-start zygote down. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

/* One box whose marker (/run/sandbench/native/<id>, or the user's run directory when not root:
 * sbn_run_dir()) names only dead owner processes. */
struct sb_native_leftover {
	char marker[PATH_MAX]; /* the marker directory */
	char name[96];         /* the box name recorded at create */
	pid_t owner;           /* first recorded owner pid (dead) */
	char what[512];        /* one line: the cgroups, veth and processes still present */
};

/* List leftovers: markers whose every owner pid is dead. Fills up to cap entries and sets *n to
 * the total found (may exceed cap). Boxes of live sandbench processes are never listed. Returns 0
 * or -errno (err filled) when the marker directory cannot be read; no marker directory is 0. */
int sb_native_leftovers(struct sb_native_leftover *out, size_t cap, size_t *n, struct sb_error *err);

/* Remove what sb_native_leftovers lists: kill processes still in the recorded cgroups, remove the
 * cgroups, delete the recorded host veth, remove the marker. *cleaned = markers fully removed.
 * Returns 0, or the first failure (-errno, err filled) after trying everything. */
int sb_native_clean_leftovers(size_t *cleaned, struct sb_error *err);

/* Stop the warm-start zygote, if one runs, and release its boxes, then finish the teardown of
 * destroyed boxes still in progress (waits for all of it, bounded). Safe to call any time; also
 * runs at exit. */
void sb_native_shutdown(void);

/* Seccomp-denied syscall names, NULL-terminated (documentation and tests). */
const char *const *sb_native_denied_syscalls(void);
