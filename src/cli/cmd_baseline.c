/* `sandbench baseline save|check`: reports kept per host class (CPU model, cores, kernel major,
 * driver version) as the baseline `compare` judges later runs against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "compare/compare.h"
#include "store/baseline.h"

#define DEFAULT_DIR "bench/baselines"

static void baseline_usage(void)
{
	printf("usage: sandbench baseline save REPORT...|DIR... [--dir DIR]\n"
	       "       sandbench baseline check REPORT...|DIR... [--dir DIR] [--on p50|p90|p95|p99|mean]\n"
	       "                                [--threshold F] [--budgets FILE] [--fail-on-warn]\n"
	       "                                [--json | --markdown]\n\n"
	       "A baseline belongs to a host class (CPU model, core count, kernel major version) and a\n"
	       "driver version: DIR/<host class>/<driver>--<version>/<scenario>--<run>.json, DIR defaulting\n"
	       "to " DEFAULT_DIR " (commit it). save replaces the saved runs of each scenario it is given\n"
	       "(several runs of one scenario are kept as sessions); check compares the reports with the\n"
	       "baseline of their own class as `sandbench compare` does (docs/compare.md), and names the\n"
	       "missing baseline when there is none.\n"
	       "Exit (check): 0 pass, 1 tool error or no baseline, 2 regression, 3 warnings with --fail-on-warn.\n");
}

static int baseline_save(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'D'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	const char *dir = DEFAULT_DIR;
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "baseline save", opts)) != -1) {
		switch (c) {
		case -2: return 1;
		case 'D': dir = optarg; break;
		case 'h': baseline_usage(); return 0;
		}
	}
	if (optind >= argc)
		return sb_cli_fail("baseline save: give the reports to save (files or directories)");
	struct sb_compare_input in;
	int rc = sb_cli_load_reports("baseline save", argv + optind, argc - optind, &in);
	size_t saved = 0, skipped = 0;
	struct sb_error err = {0};
	if (rc == 0 && sb_baseline_save(dir, &in, &saved, &skipped, &err) < 0)
		rc = sb_cli_fail("baseline save: %s", err.msg);
	if (rc == 0 && saved == 0)
		rc = sb_cli_fail("baseline save: none of the %zu reports has status ok: nothing saved", in.n);
	if (rc == 0) {
		char where[4096];
		sb_baseline_dir(dir, in.reports[0], where, sizeof(where));
		printf("baseline save: %zu report%s saved under %s/ (e.g. %s)", saved, saved == 1 ? "" : "s", dir, where);
		if (skipped)
			printf(", %zu not ok and left out", skipped);
		printf("\n");
	}
	sb_compare_input_free(&in);
	return rc;
}

static int baseline_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'D'},	   {"on", required_argument, NULL, 'O'},
		{"threshold", required_argument, NULL, 'T'}, {"budgets", required_argument, NULL, 'b'},
		{"fail-on-warn", no_argument, NULL, 'W'},    {"json", no_argument, NULL, 'j'},
		{"markdown", no_argument, NULL, 'm'},	     {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sb_compare_opts o = {
		.defaults = {.statistic = SB_STAT_P50, .threshold = 0.10, .alpha = 0.05, .min_change = -1,
			     .drift = -1, .entry = -1},
	};
	const char *dir = DEFAULT_DIR, *budgets_path = NULL;
	bool json = false, markdown = false;
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "baseline check", opts)) != -1) {
		switch (c) {
		case -2: return 1;
		case 'D': dir = optarg; break;
		case 'O':
		case 'T':
			if (sb_cli_compare_gate_opt("baseline check", c, optarg, &o) < 0)
				return 1;
			break;
		case 'b': budgets_path = optarg; break;
		case 'W': o.fail_on_warn = true; break;
		case 'j': json = true; break;
		case 'm': markdown = true; break;
		case 'h': baseline_usage(); return 0;
		}
	}
	if (json && markdown)
		return sb_cli_fail("baseline check: --json and --markdown are exclusive");
	if (optind >= argc)
		return sb_cli_fail("baseline check: give the reports to check (files or directories)");
	struct sb_error err = {0};
	struct sb_budgets *budgets = NULL;
	if (budgets_path && sb_budgets_load(budgets_path, &budgets, &err) < 0)
		return sb_cli_fail("baseline check: %s", err.msg);
	o.budgets = budgets;
	struct sb_compare_input cur, base = {0};
	json_t *res = NULL;
	int rc = sb_cli_load_reports("baseline check", argv + optind, argc - optind, &cur);
	if (rc == 0 && sb_baseline_load(dir, &cur, &base, &err) < 0)
		rc = sb_cli_fail("baseline check: %s", err.msg);
	if (rc == 0 && sb_compare(&base, &cur, &o, &res, &err) < 0)
		rc = sb_cli_fail("baseline check: %s", err.msg);
	if (rc == 0)
		rc = sb_cli_compare_show(res, json, markdown);
	json_decref(res);
	sb_compare_input_free(&cur);
	sb_compare_input_free(&base);
	sb_budgets_free(budgets);
	return rc;
}

int sb_cmd_baseline(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "save"))
		return baseline_save(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return baseline_check(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		baseline_usage();
		return 0;
	}
	return sb_cli_fail("baseline: expected 'save' or 'check' (see sandbench baseline --help)");
}
