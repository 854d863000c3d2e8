/* The `cmd` driver's config file (docs/cmd-driver.md), exposed beyond the driver for checking. */
#pragma once
#include "core/error.h"

/* Load the config at path and split every template into words with placeholders filled from a
 * stand-in box, running nothing. Returns 0, or -errno with err naming the file, line or template
 * (what `--param config=PATH` would otherwise report at the first run). */
int sb_cmd_config_check(const char *path, struct sb_error *err);
