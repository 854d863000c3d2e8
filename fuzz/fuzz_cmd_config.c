/* Fuzz target: the cmd driver's config file (src/drivers/cmd.c): `key = value` lines with
 * continuations, capability lists, and every template split into words and expanded. */
#include "drivers/cmd.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_error err = {0};
	(void)sb_cmd_config_check(fuzz_input_file(data, size), &err);
	return 0;
}
