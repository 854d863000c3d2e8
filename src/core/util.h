/* Small file and string helpers shared across the project. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Write data to path atomically: a temp file in the same directory, fsync, rename, fsync the
 * directory. On failure nothing at path changes and the temp file is removed. */
int sb_write_file_atomic(const char *path, const char *data, size_t len, struct sb_error *err);
/* Read a whole file (NUL-terminated) into *out. */
int sb_read_file(const char *path, char **out, size_t *len, struct sb_error *err);
/* Read a small file's first line (trailing newline stripped) into buf; -errno on failure. */
int sb_read_line(const char *path, char *buf, size_t len);
/* mkdir -p with mode. */
int sb_mkdir_p(const char *path, unsigned mode);
/* rm -rf (does not cross mount points). */
int sb_rm_rf(const char *path);
bool sb_is_dir(const char *path);
/* 32 random hex characters (a run id). */
void sb_random_id(char out[33]);
/* FNV-1a 64 of bytes. */
uint64_t sb_fnv1a64(const void *data, size_t len, uint64_t seed);
/* Cut s before a UTF-8 sequence that a bounded snprintf left incomplete at its end (jansson refuses
 * such a string, and json_pack then returns NULL). */
void sb_utf8_trim(char *s);
/* Directory of the running executable (for finding sandbench-agent beside sandbench). */
int sb_self_dir(char *buf, size_t len);
/* Path of sandbench-agent: $SANDBENCH_AGENT, else beside this executable (or ../src/agent in the
 * build tree, or ../libexec/sandbench when installed), else the configured install path
 * (<prefix>/<libexecdir>/sandbench), else in PATH. */
int sb_find_agent(char *buf, size_t len, struct sb_error *err);
