/* Error objects: library code fills one of these with context and returns -errno;
 * only the CLI prints. */
#pragma once
#include <stdarg.h>

struct sb_error {
	int code;       /* positive errno-style code, 0 = no error */
	char msg[512];  /* one line, no trailing newline */
};

/* Record an error (printf-style) and return -code, so callers can write
 * `return sb_error_set(err, EINVAL, "...")`. err may be NULL. */
int sb_error_set(struct sb_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message with more context ("while X: <old>"). Returns -err->code. */
int sb_error_prefix(struct sb_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void sb_error_clear(struct sb_error *err);
