/* Helpers both native test programs use (root and unprivileged): copying files into a test rootfs,
 * destroying a box, running a command in one. cmocka assertions fail the calling test. */
#pragma once
#include <sys/types.h>

#include "core/params.h"
#include "drivers/driver.h"

/* Copy src to dst with mode; 0 or -1. */
int nt_copy_file(const char *src, const char *dst, mode_t mode);
/* Destroy b (asserting it worked) and free its parameters. */
void nt_rmbox(struct sb_box *b, struct sb_params *p);
/* Run argv (NULL-terminated after arg0) in b with optional stdin; returns the exit code, stdout in
 * *out (caller frees) when out != NULL. */
int nt_run(struct sb_box *b, char **out, const char *stdin_data, const char *arg0, ...);
