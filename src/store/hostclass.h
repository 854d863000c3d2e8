/* Host identity for the store and baselines: the fingerprint of one machine, and the host class
 * (CPU model, core count, kernel major version) that makes numbers from two machines comparable. */
#pragma once
#include <jansson.h>
#include <stddef.h>

/* 32 hex digits from the host's stable members (os, kernel, arch, cpu_model, cpu_count, mem_total,
 * hostname_hash); load and noise hints are left out. */
void sb_host_fingerprint(const json_t *host, char out[33]);
/* "CPU MODEL|CPUS|KERNEL-MAJOR", e.g. "AMD EPYC|2|6": equal for machines whose numbers compare. */
void sb_host_class(const json_t *host, char *buf, size_t len);
/* The class as a directory name: "amd-epyc-2cpu-linux6". */
void sb_host_class_slug(const json_t *host, char *buf, size_t len);
/* Lower-case letters and digits, other runs of characters as one '-', trimmed: "AMD EPYC 7B13" ->
 * "amd-epyc-7b13". */
void sb_slugify(const char *in, char *buf, size_t len);
