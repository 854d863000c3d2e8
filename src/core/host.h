/* Host probe: what the report says about the machine a run was taken on. */
#pragma once
#include <jansson.h>

/* A new JSON object {os, kernel, arch, cpu_model, cpu_count, mem_total, hostname_hash, governor,
 * load_avg[3], noise_hints[]}. Never fails except on out-of-memory (NULL). */
json_t *sb_host_probe(void);
