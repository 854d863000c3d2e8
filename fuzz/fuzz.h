/* Shared by the fuzz targets (fuzz/fuzz_NAME.c). Each target defines LLVMFuzzerTestOneInput; it is linked
 * either with libFuzzer (fuzz/run.sh, clang) or with fuzz/replay.c (the meson tests, gcc, which feed
 * it every file of fuzz/corpus/NAME and fuzz/crashes/NAME). Targets must not print, leak or keep
 * state between inputs beyond caches built once. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parsers under test read files by path: this writes the input into one file per process
 * (a memfd, or under dir when the target needs a real directory around it) and returns its path.
 * Aborts when the file cannot be written (the harness is broken, not the parser). */
const char *fuzz_input_file(const uint8_t *data, size_t size);
/* A private directory for this process (created once, removed at exit). */
const char *fuzz_tmpdir(void);
/* Write data to dir/name (replacing it) and return that path (valid until the next call). Aborts on
 * failure. */
const char *fuzz_write(const char *dir, const char *name, const void *data, size_t size);
/* A FILE that discards what renderers print. */
FILE *fuzz_devnull(void);
/* A small valid report (three samples, three aggregates), malloc'd: a fixed side for the targets
 * whose input is checked against reports. */
char *fuzz_report_json(const char *run_id, const char *scenario, const char *driver, const char *status);
