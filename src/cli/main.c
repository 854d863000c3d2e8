/* sandbench: benchmark sandbox runtimes. The front door dispatches to one file per verb. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "version.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} verbs[] = {
	{"list", sb_cmd_list, "the scenario catalog"},
	{"drivers", sb_cmd_drivers, "every known driver, usable here or not and why"},
	{"run", sb_cmd_run, "run scenarios on a driver, print a table, write reports"},
	{"show", sb_cmd_show, "print reports as a table"},
	{"exec", sb_cmd_exec, "run one command in a fresh sandbox, stdio passed through"},
	{"image", sb_cmd_image, "build the standard rootfs (busybox + agent)"},
	{"compare", sb_cmd_compare, "judge CURRENT reports against BASELINE: the regression gate"},
	{"paired", sb_cmd_paired, "A/B two commands or drivers in interleaved pairs, with significance"},
	{"matrix", sb_cmd_matrix, "every scenario on every usable driver, side by side"},
	{"report", sb_cmd_report, "one self-contained HTML page (or Markdown) from reports, matrices, compares"},
	{"doctor", sb_cmd_doctor, "leftovers of crashed runs; host fixes runtimes need"},
	{"top", sb_cmd_top, "live CPU, memory, disk, network of running sandboxes (run --live)"},
	{"metrics", sb_cmd_metrics, "serve the live sandboxes' metrics to Prometheus (metrics serve)"},

	{"history", sb_cmd_history, "the results store: import documents, a metric over time, change points"},
	{"baseline", sb_cmd_baseline, "save reports as this host class's baseline, or check against it"},
	{"slo", sb_cmd_slo, "check reports against service-level objectives, one line"},
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: sandbench [--version] [--help] VERB [ARGS]\n\nverbs:\n");
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(f, "  %-9s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nEach verb takes --help.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return sb_cli_fail("no verb given (see sandbench --help)");
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("sandbench %s (%s)\n", SB_VERSION, SB_GIT_VERSION);
		/* the compiler is part of what a benchmark container reports about itself */
#if defined(__clang__)
		printf("built with %s\n", __VERSION__);
#elif defined(__GNUC__)
		printf("built with gcc %s\n", __VERSION__);
#endif
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	const char *names[NVERBS];
	for (size_t i = 0; i < NVERBS; i++)
		names[i] = verbs[i].name;
	const char *close = sb_closest_name(argv[1], names, NVERBS);
	if (argv[1][0] == '-')
		return sb_cli_fail("unknown option '%s' (see sandbench --help)", argv[1]);
	if (close)
		return sb_cli_fail("unknown verb '%s' (did you mean '%s'?)", argv[1], close);
	return sb_cli_fail("unknown verb '%s' (see sandbench --help)", argv[1]);
}
