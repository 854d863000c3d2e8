/* The static scenario catalog. */
#include <string.h>

#include "scenarios/scenario.h"

extern const struct sb_scenario sb_scn_latency_spawn, sb_scn_latency_exec_output,
	sb_scn_latency_shell_pool, sb_scn_throughput_stdout, sb_scn_throughput_exec_rate,
	sb_scn_throughput_disk, sb_scn_throughput_disk_rand, sb_scn_resource_mem_touch;

static const struct sb_scenario *const catalog[] = {
	&sb_scn_latency_spawn,
	&sb_scn_latency_exec_output,
	&sb_scn_latency_shell_pool,
	&sb_scn_throughput_stdout,
	&sb_scn_throughput_exec_rate,
	&sb_scn_throughput_disk,
	&sb_scn_throughput_disk_rand,
	&sb_scn_resource_mem_touch,
};

const struct sb_scenario *const *sb_scenarios_all(size_t *n)
{
	*n = sizeof(catalog) / sizeof(catalog[0]);
	return catalog;
}

const struct sb_scenario *sb_scenario_find(const char *name)
{
	for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++)
		if (strcmp(catalog[i]->name, name) == 0)
			return catalog[i];
	return NULL;
}

const char *sb_profile_name(unsigned bit)
{
	switch (bit) {
	case SB_PROFILE_QUICK: return "quick";
	case SB_PROFILE_STANDARD: return "standard";
	case SB_PROFILE_FULL: return "full";
	default: return "?";
	}
}
