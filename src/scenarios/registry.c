/* The static scenario catalog. */
#include <string.h>

#include "scenarios/scenario.h"

#define SB_SCENARIO(x) extern const struct sb_scenario sb_scn_##x;
#include "scenarios/list.h"
#undef SB_SCENARIO

static const struct sb_scenario *const catalog[] = {
#define SB_SCENARIO(x) &sb_scn_##x,
#include "scenarios/list.h"
#undef SB_SCENARIO
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
	/* A renamed scenario keeps its old name as an alias: scripts and budgets written for it run on. */
	for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++)
		for (const char *const *a = catalog[i]->aliases; a && *a; a++)
			if (strcmp(*a, name) == 0)
				return catalog[i];
	return NULL;
}

const char *const sb_axis_names[] = {"latency", "resource", "density", "throughput", "stability", NULL};
const char *const sb_profile_names[] = {"quick", "standard", "full", NULL};

const char *sb_profile_name(unsigned bit)
{
	for (unsigned i = 0; i < SB_PROFILE_COUNT; i++)
		if (bit == 1u << i)
			return sb_profile_names[i];
	return "?";
}

unsigned sb_profile_parse(const char *name)
{
	for (unsigned i = 0; i < SB_PROFILE_COUNT; i++)
		if (strcmp(name, sb_profile_names[i]) == 0)
			return 1u << i;
	return 0;
}

const char *sb_axis_find(const char *name)
{
	for (unsigned i = 0; i < SB_AXIS_COUNT; i++)
		if (strcmp(name, sb_axis_names[i]) == 0)
			return sb_axis_names[i];
	return NULL;
}
