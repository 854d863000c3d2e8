/* `sandbench doctor`: what crashed runs left behind (each driver finds its own by marker), and the
 * opt-in host fixes some runtimes need on this machine. Never changes the host unless asked. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void print_line(void *arg, const char *line)
{
	printf("  %s: %s\n", (const char *)arg, line);
}

static bool in_list(const char *list, const char *name)
{
	if (!list)
		return true;
	size_t len = strlen(name);
	for (const char *p = list; (p = strstr(p, name)); p += len)
		if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

int sb_cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{"clean", no_argument, NULL, 'c'},        {"prepare-host", no_argument, NULL, 'P'},
		{"restore-host", no_argument, NULL, 'R'}, {"drivers", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	bool clean = false, prepare = false, restore = false;
	const char *only = NULL;
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "doctor", opts)) != -1) {
		switch (c) {
		case -2: return 1;
		case 'c': clean = true; break;
		case 'P': prepare = true; break;
		case 'R': restore = true; break;
		case 'd': only = optarg; break;
		case 'h':
			printf("usage: sandbench doctor [--clean] [--prepare-host | --restore-host] [--drivers D1,D2]\n\n"
			       "Without options: lists what crashed runs left behind (processes, mounts, cgroups,\n"
			       "network namespaces, containers, images, bundles; each driver finds only what carries\n"
			       "its sandbench marker and whose owning run is gone), and explains the host fixes each\n"
			       "runtime needs here. --clean removes those leftovers. --prepare-host applies the host\n"
			       "fixes (recorded under /run/sandbench/hostfix/); --restore-host undoes exactly them.\n"
			       "Exit 0 when done, 1 when something could not be checked or fixed.\n");
			return 0;
		}
	}
	if (optind < argc)
		return sb_cli_fail("doctor: unexpected argument '%s'", argv[optind]);
	if (prepare && restore)
		return sb_cli_fail("doctor: --prepare-host and --restore-host exclude each other");
	size_t n;
	const struct sb_driver *const *all = sb_drivers_all(&n);
	if (only) {
		char copy[512];
		snprintf(copy, sizeof(copy), "%s", only);
		for (char *save, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (!sb_cli_driver(t))
				return 1;
	}
	int rc = 0, found = 0;
	printf("leftovers%s:\n", clean ? " (cleaning)" : "");
	for (size_t i = 0; i < n; i++) {
		const struct sb_driver *d = all[i];
		if (!in_list(only, d->name) || !d->leftovers)
			continue;
		struct sb_error err = {0};
		int k = d->leftovers(clean, print_line, (void *)d->name, &err);
		if (k < 0) {
			fprintf(stderr, "sandbench: error: doctor: %s: %s\n", d->name, err.msg);
			rc = 1;
		} else {
			found += k;
		}
	}
	printf("  %d found%s\n", found, clean && found ? ", removed" : "");
	enum sb_host_fix_mode mode = prepare ? SB_HOST_APPLY : restore ? SB_HOST_RESTORE : SB_HOST_EXPLAIN;
	printf("\nhost fixes%s:\n", prepare ? " (applying)" : restore ? " (restoring)" : " (explain only; --prepare-host applies)");
	for (size_t i = 0; i < n; i++) {
		const struct sb_driver *d = all[i];
		if (!in_list(only, d->name) || !d->host_fix)
			continue;
		struct sb_error err = {0};
		if (d->host_fix(mode, print_line, (void *)d->name, &err) < 0) {
			fprintf(stderr, "sandbench: error: doctor: %s: %s\n", d->name, err.msg);
			rc = 1;
		}
	}
	return rc;
}
