/* Helpers both native test programs use (root and unprivileged): copying files into a test rootfs,
 * destroying a box, running a command in one. cmocka assertions fail the calling test. */
#pragma once
#include <sys/types.h>

#include "core/params.h"
#include "drivers/driver.h"

/* Skip the calling test (cmocka) with reason when it is not empty. */
#define NEED_NATIVE_OR_SKIP(reason)                                  \
	do {                                                         \
		if ((reason)[0]) {                                   \
			fprintf(stderr, "SKIP: %s\n", (reason));     \
			skip();                                      \
		}                                                    \
	} while (0)

/* A busybox rootfs for tests: mkdtemp(tmpdir, a "/tmp/...-XXXXXX" template of tmpdir_len bytes)
 * with rootfs = tmpdir/rootfs holding dirs (each "/x", NULL-terminated; /tmp made 01777 when
 * listed), /bin/busybox and a link to it for each of applets (NULL-terminated). 0 or -1. */
int nt_make_rootfs(char *tmpdir, size_t tmpdir_len, char *rootfs, size_t rootfs_len, const char *const *dirs,
		   const char *const *applets);
/* Copy src to dst with mode; 0 or -1. */
int nt_copy_file(const char *src, const char *dst, mode_t mode);
/* Destroy b (asserting it worked) and free its parameters. */
void nt_rmbox(struct sb_box *b, struct sb_params *p);
/* Run argv (NULL-terminated after arg0) in b with optional stdin; returns the exit code, stdout in
 * *out (caller frees) when out != NULL. */
int nt_run(struct sb_box *b, char **out, const char *stdin_data, const char *arg0, ...);
