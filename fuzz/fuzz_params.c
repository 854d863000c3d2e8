/* Fuzz target: `--param k=v` handling and the value parsers behind it (src/core/params.c): each
 * input line is one --param; then the typed getters, the size and list parsers on every value, the
 * check against declared parameters, and the closest-name hint. */
#include <stdlib.h>
#include <string.h>

#include "core/params.h"
#include "fuzz.h"

static const struct sb_param_def scenario_defs[] = {
	{"size", "64M", "bytes", "size"}, {"levels", "1,2,4,8", "concurrency levels", "list"},
	{"work", "0", "seconds", "number"}, {"slots", "4", "agent slots", "uint"},
	{"dir", "/tmp", "directory", NULL}, {NULL, NULL, NULL, NULL},
};
static const struct sb_param_def driver_defs[] = {
	{"bin", NULL, "runtime binary", NULL}, {"mode", "enter", "mode", "enter|oneshot"},
	{"net", "none", "network", "none|host"}, {NULL, NULL, NULL, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct sb_params p = {0};
	struct sb_error err = {0};
	for (char *save, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		(void)sb_params_add_kv(&p, line, &err);
	uint64_t u;
	double d;
	(void)sb_params_get_u64(&p, "slots", 4, &u, &err);
	(void)sb_params_get_double(&p, "work", 0, &d, &err);
	(void)sb_params_get_size(&p, "size", 1, &u, &err);
	(void)sb_params_get_def(&p, scenario_defs, "levels");
	const char *names[16];
	size_t nn = 0;
	for (size_t i = 0; i < p.n; i++) {
		(void)sb_parse_size(p.items[i].value, &u);
		unsigned list[64];
		size_t n;
		(void)sb_parse_uint_list(p.items[i].value, list, 64, &n);
		if (nn < 16)
			names[nn++] = p.items[i].value;
	}
	const struct sb_param_def *const lists[] = {scenario_defs, driver_defs};
	(void)sb_params_check(&p, lists, 2, &err);
	(void)sb_params_check(&p, lists, 0, &err);
	for (size_t i = 0; i < p.n; i++)
		(void)sb_closest_name(p.items[i].key, names, nn);
	sb_params_free(&p);
	free(text);
	return 0;
}
