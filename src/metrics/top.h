/* The table `sandbench top` prints: one line per live sandbox of a registry snapshot. Apart from
 * the command so the fuzz target draws what top draws from a hostile registry. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics/registry.h"

/* Sort e[0..n) (by CPU % then memory, or by memory; then by sandbox id) and print the header and
 * a line per entry. now_ns: CLOCK_REALTIME, for the age of each sample. */
void sb_top_table(FILE *f, struct sb_reg_entry *e, size_t n, bool by_mem, int64_t now_ns);
