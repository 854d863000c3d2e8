/* `sandbench slo check --slo FILE REPORT...|DIR`: reports against service-level objectives, one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "compare/compare.h"
#include "store/slo.h"

static void slo_usage(void)
{
	printf("usage: sandbench slo check --slo FILE REPORT...|DIR... [--fail-on-warn] [--json]\n\n"
	       "Checks reports (files, directories of reports, matrix summaries; several runs of one\n"
	       "scenario and driver are pooled) against the objectives in FILE (schema sandbench.slo/v1:\n"
	       "per scenario, driver and metric a statistic and a bound, 'max' or 'min'; docs/history.md)\n"
	       "and prints one line, e.g.\n"
	       "  native lifecycle p50 1.90 ms (SLO 3 ms, -37 %%) | ... | all SLOs met\n"
	       "--json prints every SLO's value, bound, margin and verdict (schema sandbench.slo-check/v1).\n"
	       "Exit: 0 all met, 1 tool error (bad file, nothing measured), 2 an SLO violated,\n"
	       "3 an SLO not measured with --fail-on-warn.\n");
}

int sb_cmd_slo(int argc, char **argv)
{
	static const struct option opts[] = {
		{"slo", required_argument, NULL, 's'},	 {"fail-on-warn", no_argument, NULL, 'W'},
		{"json", no_argument, NULL, 'j'},	 {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		slo_usage();
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "check") != 0)
		return sb_cli_fail("slo: expected 'check' (see sandbench slo --help)");
	argc--;
	argv++;
	const char *file = NULL;
	bool json = false, fail_on_warn = false;
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "slo check", opts)) != -1) {
		switch (c) {
		case -2: return 1;
		case 's': file = optarg; break;
		case 'W': fail_on_warn = true; break;
		case 'j': json = true; break;
		case 'h': slo_usage(); return 0;
		}
	}
	if (!file)
		return sb_cli_fail("slo check: give the objectives with --slo FILE");
	if (optind >= argc)
		return sb_cli_fail("slo check: give the reports to check (files or directories)");
	struct sb_error err = {0};
	struct sb_slo_file *slos = NULL;
	if (sb_slo_load(file, &slos, &err) < 0)
		return sb_cli_fail("slo check: %s", err.msg);
	struct sb_compare_input all = {0};
	int rc = sb_cli_load_reports("slo check", argv + optind, argc - optind, &all);
	json_t *res = NULL;
	if (rc == 0 && sb_slo_check(slos, &all, fail_on_warn, &res, &err) < 0)
		rc = sb_cli_fail("slo check: %s", err.msg);
	if (rc == 0) {
		if (json)
			sb_cli_print_json(res);
		else
			printf("%s\n", json_string_value(json_object_get(res, "summary")));
		rc = (int)json_integer_value(json_object_get(res, "exit_code"));
	}
	json_decref(res);
	sb_compare_input_free(&all);
	sb_slo_free(slos);
	return rc;
}
