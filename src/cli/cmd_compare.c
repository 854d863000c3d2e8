/* `sandbench compare BASELINE CURRENT`: the regression gate over two sets of reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "compare/compare.h"
#include "compare/render.h"
#include "core/report.h"
#include "store/baseline.h"
#include "store/store.h"

static void compare_usage(void)
{
	printf("usage: sandbench compare BASELINE CURRENT [--on p50|p90|p95|p99|mean] [--threshold F]\n"
	       "                         [--alpha A] [--correction bonferroni|none] [--budgets FILE]\n"
	       "                         [--drift F] [--normalize host|none]\n"
	       "                         [--test mann-whitney|permutation]\n"
	       "                         [--allow-mismatch] [--strict]\n"
	       "                         [--host-mismatch warn|error] [--fail-on-warn]\n"
	       "                         [--json | --markdown] [--out FILE]\n"
	       "       sandbench compare --against-history N CURRENT [--store PATH|URL] [options]\n\n"
	       "BASELINE and CURRENT are each a report, a directory of reports (paired by scenario and\n"
	       "driver; several runs of one pair are pooled as sessions) or a matrix summary\n"
	       "(sandbench.matrix/v1). Per metric: the statistic (--on, default p50) of the raw samples,\n"
	       "a Mann-Whitney U test corrected for autocorrelation (alpha 0.05 over all metrics tested,\n"
	       "Bonferroni) and the relative threshold (default 0.10, i.e. 10%%), direction-aware.\n"
	       "--test permutation tests the difference of the median (or mean) itself instead.\n"
	       "Time metrics are scaled by the host reference timed beside them (--normalize none: not).\n"
	       "With fewer than three runs in all, a change must also clear an assumed drift between\n"
	       "runs (--drift, default 0.05 per run); with more, the measured one.\n"
	       "Verdicts: regression, warn, improvement, ~, n/a. --budgets sets them per metric\n"
	       "(docs/compare.md).\n"
	       "--json prints the result (schema sandbench.compare/v1), --markdown a PR comment; --out\n"
	       "also writes the JSON to FILE.\n"
	       "--against-history N: the baseline is the last N recorded runs of each current report's\n"
	       "scenario, driver, driver version and parameters on the same host class (docs/history.md).\n"
	       "Exit: 0 pass, 1 tool error or a failed guard, 2 regression, 3 warnings with --fail-on-warn.\n");
}

/* A whole-string number in [lo, hi). */
static bool number_in(const char *arg, double lo, double hi, double *out)
{
	char *end;
	double x = strtod(arg, &end);
	if (end == arg || *end || !(x >= lo && x < hi))
		return false;
	*out = x;
	return true;
}

int sb_cli_compare_gate_opt(const char *verb, int c, const char *arg, struct sb_compare_opts *o)
{
	if (c == 'O') {
		if (sb_statistic_parse(arg, &o->defaults.statistic) < 0) {
			sb_cli_fail("%s: --on '%s': expected p50, p90, p95, p99 or mean", verb, arg);
			return -1;
		}
		o->cli_set |= SB_BUDGET_CLI_STATISTIC;
		return 0;
	}
	if (!number_in(arg, 0, 10, &o->defaults.threshold)) {
		sb_cli_fail("%s: --threshold '%s': expected a relative change like 0.10 (10%%), in [0, 10)", verb, arg);
		return -1;
	}
	o->cli_set |= SB_BUDGET_CLI_THRESHOLD;
	return 0;
}

int sb_cli_compare_show(const json_t *res, bool json, bool markdown)
{
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(res, "warnings"), i, w)
		fprintf(stderr, "sandbench: warning: %s\n", json_string_value(w));
	if (json)
		sb_cli_print_json(res);
	else if (markdown)
		sb_render_compare_markdown(stdout, res);
	else
		sb_render_compare_table(stdout, res);
	fflush(stdout);
	return (int)json_integer_value(json_object_get(res, "exit_code"));
}

int sb_cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{"on", required_argument, NULL, 'O'},		{"threshold", required_argument, NULL, 'T'},
		{"alpha", required_argument, NULL, 'a'},	{"budgets", required_argument, NULL, 'b'},
		{"allow-mismatch", no_argument, NULL, 'M'},	{"strict", no_argument, NULL, 'S'},
		{"host-mismatch", required_argument, NULL, 'H'}, {"fail-on-warn", no_argument, NULL, 'W'},
		{"json", no_argument, NULL, 'j'},		{"markdown", no_argument, NULL, 'm'},
		{"out", required_argument, NULL, 'o'},		{"help", no_argument, NULL, 'h'},
		{"correction", required_argument, NULL, 'c'},	{"drift", required_argument, NULL, 'D'},
		{"normalize", required_argument, NULL, 'N'},	{"test", required_argument, NULL, 'X'},
		{"against-history", required_argument, NULL, 'A'}, {"store", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	struct sb_compare_opts o = {
		.defaults = {.statistic = SB_STAT_P50, .threshold = 0.10, .alpha = 0.05, .min_change = -1,
			     .drift = -1, .entry = -1},
	};
	const char *budgets_path = NULL, *out = NULL, *store = NULL;
	unsigned against = 0;
	bool json = false, markdown = false;
	struct sb_budgets *budgets = NULL;
	struct sb_compare_input in[2] = {0};
	json_t *res = NULL;
	struct sb_error err = {0};
	int c, rc = 0;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "compare", opts)) != -1) {
		switch (c) {
		case -2: return 1;
		case 'O':
		case 'T':
			if (sb_cli_compare_gate_opt("compare", c, optarg, &o) < 0)
				return 1;
			break;
		case 'a':
			if (!number_in(optarg, 0, 0.5, &o.defaults.alpha) || o.defaults.alpha == 0)
				return sb_cli_fail("compare: --alpha '%s': expected a level in (0, 0.5), e.g. 0.05", optarg);
			o.cli_set |= SB_BUDGET_CLI_ALPHA;
			break;
		case 'D':
			if (!number_in(optarg, 0, 1, &o.defaults.drift))
				return sb_cli_fail("compare: --drift '%s': expected a relative spread per run in [0, 1), "
						   "e.g. 0.05 (5%%)", optarg);
			o.cli_set |= SB_BUDGET_CLI_DRIFT;
			break;
		case 'X':
			if (strcmp(optarg, "permutation") == 0)
				o.defaults.permutation = true;
			else if (strcmp(optarg, "mann-whitney") != 0)
				return sb_cli_fail("compare: --test '%s': expected mann-whitney or permutation", optarg);
			break;
		case 'N':
			if (strcmp(optarg, "none") == 0)
				o.no_normalize = true;
			else if (strcmp(optarg, "host") != 0)
				return sb_cli_fail("compare: --normalize '%s': expected host or none", optarg);
			break;
		case 'b': budgets_path = optarg; break;
		case 'M': o.allow_mismatch = true; break;
		case 'S': o.strict = true; break;
		case 'H':
			if (strcmp(optarg, "error") == 0)
				o.host_mismatch_error = true;
			else if (strcmp(optarg, "warn") != 0)
				return sb_cli_fail("compare: --host-mismatch '%s': expected warn or error", optarg);
			break;
		case 'W': o.fail_on_warn = true; break;
		case 'c':
			if (strcmp(optarg, "none") == 0)
				o.no_correction = true;
			else if (strcmp(optarg, "bonferroni") != 0)
				return sb_cli_fail("compare: --correction '%s': expected bonferroni or none", optarg);
			break;
		case 'j': json = true; break;
		case 'm': markdown = true; break;
		case 'o': out = optarg; break;
		case 'A':
			if (!sb_cli_uint("--against-history", optarg, &against))
				return 1;
			if (against < 1)
				return sb_cli_fail("compare: --against-history 0: expected the number of recorded runs to compare with");
			break;
		case 's': store = optarg; break;
		case 'h': compare_usage(); return 0;
		}
	}
	if (json && markdown)
		return sb_cli_fail("compare: --json and --markdown are exclusive (use --out FILE for the JSON)");
	if (against && argc - optind != 1)
		return sb_cli_fail("compare: --against-history takes CURRENT only, got %d operands", argc - optind);
	if (!against && argc - optind != 2)
		return sb_cli_fail("compare: expected BASELINE and CURRENT, got %d operand%s (see sandbench compare --help)",
				   argc - optind, argc - optind == 1 ? "" : "s");
	if (store && !against)
		return sb_cli_fail("compare: --store goes with --against-history");
	if (budgets_path && sb_budgets_load(budgets_path, &budgets, &err) < 0)
		return sb_cli_fail("compare: %s", err.msg);
	o.budgets = budgets;
	if (against) {
		/* The baseline from the store: the last runs of the same configuration. */
		struct sb_store *st = NULL;
		if (sb_compare_input_load(argv[optind], "current", &in[1], &err) < 0) {
			rc = sb_cli_fail("compare: %s", err.msg);
			goto done;
		}
		if (!(st = sb_cli_store_open("compare", store, true))) {
			rc = 1;
			goto done;
		}
		int hrc = sb_store_history_input(st, &in[1], against, &in[0], &err);
		sb_store_close(st);
		if (hrc < 0) {
			rc = sb_cli_fail("compare: %s", err.msg);
			goto done;
		}
	} else if (sb_compare_input_load(argv[optind], "baseline", &in[0], &err) < 0 ||
		   sb_compare_input_load(argv[optind + 1], "current", &in[1], &err) < 0) {
		rc = sb_cli_fail("compare: %s", err.msg);
		goto done;
	}
	if (sb_compare(&in[0], &in[1], &o, &res, &err) < 0) {
		rc = sb_cli_fail("compare: %s", err.msg);
		goto done;
	}
	if (out && sb_report_write(res, out, &err) < 0) {
		rc = sb_cli_fail("compare: cannot write %s: %s", out, err.msg);
		goto done;
	}
	rc = sb_cli_compare_show(res, json, markdown);
done:
	json_decref(res);
	sb_compare_input_free(&in[0]);
	sb_compare_input_free(&in[1]);
	sb_budgets_free(budgets);
	return rc;
}
