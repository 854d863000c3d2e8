/* `sandbench list` and `sandbench drivers`: what can be run, and on what. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/params.h"

static void profiles_str(unsigned p, char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned bit = 1; bit <= SB_PROFILE_FULL; bit <<= 1) {
		if (!(p & bit))
			continue;
		if (buf[0])
			strncat(buf, ",", len - strlen(buf) - 1);
		strncat(buf, sb_profile_name(bit), len - strlen(buf) - 1);
	}
}

int sb_cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"axis", required_argument, NULL, 'a'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	const char *axis = NULL;
	bool json = false;
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "list", opts)) != -1) {
		if (c == -2)
			return 1;
		if (c == 'a')
			axis = optarg;
		else if (c == 'j')
			json = true;
		else if (c == 'h') {
			printf("usage: sandbench list [--axis AXIS] [--json]\n"
			       "The scenario catalog: name, axis, driver capabilities needed, profiles,\n"
			       "description. AXIS is one of latency, resource, density, throughput, stability.\n");
			return 0;
		}
	}
	if (optind < argc)
		return sb_cli_fail("list: unexpected argument '%s'", argv[optind]);
	if (axis) {
		if (!sb_axis_find(axis)) {
			const char *close = sb_closest_name(axis, sb_axis_names, SB_AXIS_COUNT);
			return sb_cli_fail("list: unknown axis '%s'%s%s%s", axis, close ? " (did you mean '" : "",
					   close ? close : "", close ? "'?)" : " (latency, resource, density, throughput, stability)");
		}
	}
	size_t n;
	const struct sb_scenario *const *all = sb_scenarios_all(&n);
	json_t *arr = json_array();
	if (!json)
		printf("%-34s %-11s %-22s %-22s %s\n", "scenario", "axis", "needs", "profiles", "description");
	for (size_t i = 0; i < n; i++) {
		const struct sb_scenario *s = all[i];
		if (axis && strcmp(axis, s->axis))
			continue;
		char caps[128], prof[64];
		sb_caps_format(s->caps, caps, sizeof(caps));
		profiles_str(s->profiles, prof, sizeof(prof));
		if (!json) {
			printf("%-34s %-11s %-22s %-22s %s\n", s->name, s->axis, caps, prof, s->description);
			continue;
		}
		json_t *params = json_array();
		for (const struct sb_param_def *d = s->params; d && d->key; d++)
			json_array_append_new(params, json_pack("{s:s, s:s?, s:s}", "key", d->key, "default",
								d->default_value, "help", d->help));
		json_t *metrics = json_array();
		for (const struct sb_metric_def *m = s->metrics; m && m->name; m++)
			json_array_append_new(metrics, json_pack("{s:s, s:s, s:b, s:s}", "name", m->name, "unit", m->unit,
								 "higher_is_better", m->dir == SB_HIGHER_IS_BETTER,
								 "meaning", m->meaning));
		json_t *aliases = json_array();
		for (const char *const *a = s->aliases; a && *a; a++)
			json_array_append_new(aliases, json_string(*a));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "name", s->name, "axis",
						      s->axis, "needs", caps, "profiles", prof, "description",
						      s->description, "params", params, "metrics", metrics, "aliases", aliases));
	}
	if (json)
		sb_cli_print_json(arr);
	json_decref(arr);
	return 0;
}

int sb_cmd_drivers(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	bool json = false;
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "drivers", opts)) != -1) {
		if (c == -2)
			return 1;
		if (c == 'j')
			json = true;
		else if (c == 'h') {
			printf("usage: sandbench drivers [--json]\n"
			       "Every known driver: usable here or not (and in one line why not), version,\n"
			       "capabilities. Usability comes from a real probe, not from finding a binary.\n");
			return 0;
		}
	}
	if (optind < argc)
		return sb_cli_fail("drivers: unexpected argument '%s'", argv[optind]);
	size_t n;
	const struct sb_driver *const *all = sb_drivers_all(&n);
	json_t *arr = json_array();
	if (!json)
		printf("%-11s %-7s %-22s %-40s %s\n", "driver", "usable", "version", "capabilities", "why not / summary");
	struct sb_probe *probes = calloc(n, sizeof(*probes));
	if (!probes)
		return sb_cli_fail("drivers: out of memory");
	sb_drivers_probe_all(all, NULL, n, probes, 120);
	for (size_t i = 0; i < n; i++) {
		struct sb_probe p = probes[i];
		char caps[160];
		sb_caps_format(p.usable ? p.caps : all[i]->caps, caps, sizeof(caps));
		/* The probe's tags (e.g. runsc's platform): an object in JSON, "[k=v ...]" in the table. */
		json_t *tags = json_object();
		char tagline[200] = "";
		for (const char *t = p.tags; *t;) {
			size_t len = strcspn(t, " ");
			const char *eq = memchr(t, '=', len);
			if (eq) {
				char key[64];
				snprintf(key, sizeof(key), "%.*s", (int)(eq - t), t);
				json_object_set_new(tags, key, json_stringn(eq + 1, len - (size_t)(eq - t) - 1));
				snprintf(tagline + strlen(tagline), sizeof(tagline) - strlen(tagline), "%s%.*s",
					 tagline[0] ? " " : " [", (int)len, t);
			}
			t += len + (t[len] == ' ');
		}
		if (tagline[0])
			snprintf(tagline + strlen(tagline), sizeof(tagline) - strlen(tagline), "]");
		if (json) {
			json_array_append_new(arr, json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:o}", "name", all[i]->name,
							      "usable", p.usable, "version", p.version, "caps", caps,
							      "reason", p.reason, "summary", all[i]->summary, "tags", tags));
		} else {
			json_decref(tags);
			printf("%-11s %-7s %-22s %-40s %s%s\n", all[i]->name, p.usable ? "yes" : "no",
			       p.version[0] ? p.version : "-", caps, p.usable ? all[i]->summary : p.reason, tagline);
		}
	}
	free(probes);
	if (json)
		sb_cli_print_json(arr);
	json_decref(arr);
	return 0;
}
