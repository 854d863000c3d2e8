/* `sandbench history`: the results store from the command line — import existing documents, and
 * the series of a metric over time with its change points. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/host.h"
#include "report/table.h"
#include "store/hostclass.h"
#include "store/query.h"
#include "store/store.h"

static void history_usage(void)
{
	printf("usage: sandbench history [--scenario S] [--driver D] [--metric M] [--host H|this]\n"
	       "                         [--since T] [--limit N] [--stat p50|p90|p95|p99|mean|min|max]\n"
	       "                         [--alpha A] [--no-changes] [--store PATH|URL] [--json]\n"
	       "       sandbench history import PATH... [--store PATH|URL] [--json]\n\n"
	       "history: the series of a metric over time, one point per recorded run (the statistic of\n"
	       "its samples, default p50), as a table and a sparkline, per scenario, driver, parameters and\n"
	       "metric (default: each scenario's headline metric). Change points (E-Divisive with a\n"
	       "permutation test at --alpha, default 0.05) name the run where a shift began, its size and\n"
	       "its p-value. --host: a hostname hash, a host fingerprint, a host class (\"CPU|cores|kernel\")\n"
	       "or 'this'. --since: a date (2026-12-01), an RFC 3339 time, or an age (30d, 12h, 2w).\n"
	       "--limit: the newest N points of each series (default 50, 0 = all).\n"
	       "import: load reports, matrix summaries (with the reports they list) and paired documents\n"
	       "from files or directories (walked recursively for *.json) into the store. Importing the same\n"
	       "documents again changes nothing (a result is keyed by run id, scenario, driver and side).\n"
	       "The store: --store, else $SANDBENCH_STORE, else $XDG_DATA_HOME/sandbench/history.db\n"
	       "(~/.local/share/sandbench/history.db); a postgresql:// URI selects PostgreSQL.\n"
	       "Exit: 0 done, 1 bad input or a store error (what was imported before it stays).\n");
}

static int history_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	const char *store = NULL;
	bool json = false;
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "history import", opts)) != -1) {
		switch (c) {
		case -2: return 1;
		case 's': store = optarg; break;
		case 'j': json = true; break;
		case 'h': history_usage(); return 0;
		}
	}
	if (optind >= argc)
		return sb_cli_fail("history import: give a directory or file to import (see sandbench history --help)");
	struct sb_store *s = sb_cli_store_open("history import", store, false);
	if (!s)
		return 1;
	struct sb_store_import_stats st = {0};
	struct sb_error err = {0};
	int rc = 0;
	for (int i = optind; i < argc && rc == 0; i++)
		if (sb_store_import(s, argv[i], &st, &err) < 0)
			rc = sb_cli_fail("history import: %s", err.msg);
	if (rc == 0) {
		if (json) {
			json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i}", "store", sb_store_where(s), "files",
					      (int)st.files, "documents", (int)st.documents, "skipped", (int)st.skipped,
					      "results_added", (int)st.results.added, "results_present",
					      (int)st.results.present);
			sb_cli_print_json(o);
			json_decref(o);
		} else {
			printf("history import: %u document%s from %u file%s: %u result%s added, %u already present",
			       st.documents, st.documents == 1 ? "" : "s", st.files, st.files == 1 ? "" : "s",
			       st.results.added, st.results.added == 1 ? "" : "s", st.results.present);
			if (st.skipped)
				printf(", %u skipped (not sandbench results)", st.skipped);
			printf("\nstore: %s\n", sb_store_where(s));
		}
	}
	sb_store_close(s);
	return rc;
}

/* "2026-12-01", an RFC 3339 time, or an age: 30d, 12h, 90m, 2w, 45s. */
static bool parse_since(const char *arg, double *out)
{
	double t = sb_store_parse_time(arg);
	if (isfinite(t)) {
		*out = t;
		return true;
	}
	char *end;
	double n = strtod(arg, &end);
	if (end == arg || !(n >= 0) || strlen(end) != 1)
		return false;
	double unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400
		      : *end == 'w' ? 7 * 86400 : 0;
	if (unit == 0)
		return false;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	*out = (double)now.tv_sec - n * unit;
	return true;
}

/* One block per series: a header, the sparkline with the change points marked under it, a row per
 * point, then the change points in words. */
static void print_series(const json_t *series)
{
	const char *unit = json_string_value(json_object_get(series, "unit"));
	json_t *points = json_object_get(series, "points"), *cps = json_object_get(series, "change_points");
	size_t n = json_array_size(points), i;
	char params[512] = "";
	const char *k;
	json_t *v;
	size_t o = 0;
	json_object_foreach(json_object_get(series, "params"), k, v)
		o += (size_t)snprintf(params + o, o < sizeof(params) ? sizeof(params) - o : 0, " %s=%s", k,
				      json_string_value(v) ? json_string_value(v) : "?");
	printf("%s on %s: %s %s%s%s (%zu run%s)\n", json_string_value(json_object_get(series, "scenario")),
	       json_string_value(json_object_get(series, "driver")), json_string_value(json_object_get(series, "metric")),
	       json_string_value(json_object_get(series, "statistic")), params[0] ? "," : "", params, n,
	       n == 1 ? "" : "s");
	double lo = INFINITY, hi = -INFINITY;
	json_t *p;
	json_array_foreach(points, i, p) {
		double x = json_number_value(json_object_get(p, "value"));
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
	}
	static const char *const bars[] = {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
	printf("  ");
	json_array_foreach(points, i, p) {
		double x = json_number_value(json_object_get(p, "value"));
		int level = hi > lo ? (int)((x - lo) / (hi - lo) * 7.999) : 3;
		fputs(bars[level < 0 ? 0 : level > 7 ? 7 : level], stdout);
	}
	char a[32], b[32];
	sb_format_value(lo, unit ? unit : "", a, sizeof(a));
	sb_format_value(hi, unit ? unit : "", b, sizeof(b));
	printf("  %s .. %s\n", a, b);
	bool *is_cp = calloc(n ? n : 1, sizeof(bool));
	json_t *c;
	json_array_foreach(cps, i, c) {
		size_t at = (size_t)json_integer_value(json_object_get(c, "index"));
		if (is_cp && at < n)
			is_cp[at] = true;
	}
	if (json_array_size(cps) && is_cp) {
		printf("  ");
		for (size_t j = 0; j < n; j++)
			fputs(is_cp[j] ? "^" : " ", stdout);
		printf("  (^ change point)\n");
	}
	printf("  %-23s %-8s %-8s %-24s %-18s %5s %12s\n", "started", "run", "kind", "host class", "driver version", "n",
	       json_string_value(json_object_get(series, "statistic")));
	json_array_foreach(points, i, p) {
		char val[32], started[24];
		sb_format_value(json_number_value(json_object_get(p, "value")), unit ? unit : "", val, sizeof(val));
		const char *st = json_string_value(json_object_get(p, "started_at"));
		snprintf(started, sizeof(started), "%.19s", st ? st : "?");
		if (started[10] == 'T')
			started[10] = ' ';
		const char *side = json_string_value(json_object_get(p, "side"));
		char kind[16];
		snprintf(kind, sizeof(kind), "%s%s", json_string_value(json_object_get(p, "kind")) ?: "?",
			 side && !strcmp(side, "baseline") ? "/A" : side && !strcmp(side, "current") ? "/B" : "");
		printf("  %-23s %-8.8s %-8s %-24.24s %-18.18s %5lld %12s%s\n", started,
		       json_string_value(json_object_get(p, "run_id")) ?: "?", kind,
		       json_string_value(json_object_get(p, "host_class")) ?: "?",
		       json_string_value(json_object_get(p, "driver_version")) ?: "-",
		       (long long)json_integer_value(json_object_get(p, "n")), val, is_cp && is_cp[i] ? "  <- shift" : "");
	}
	free(is_cp);
	if (!cps) {
		printf("\n");
		return;
	}
	if (json_array_size(cps) == 0)
		printf("  no change point\n");
	json_array_foreach(cps, i, c) {
		char before[32], after[32], started[24];
		sb_format_value(json_number_value(json_object_get(c, "before")), unit ? unit : "", before, sizeof(before));
		sb_format_value(json_number_value(json_object_get(c, "after")), unit ? unit : "", after, sizeof(after));
		const char *st = json_string_value(json_object_get(c, "started_at"));
		snprintf(started, sizeof(started), "%.19s", st ? st : "?");
		if (started[10] == 'T')
			started[10] = ' ';
		json_t *ch = json_object_get(c, "change");
		printf("  change point: from run %.8s (%s): %s -> %s", json_string_value(json_object_get(c, "run_id")),
		       started, before, after);
		if (json_is_number(ch))
			printf(" (%+.1f %%)", 100 * json_number_value(ch));
		printf(", p = %.3f\n", json_number_value(json_object_get(c, "p")));
	}
	printf("\n");
}

static int history_query(int argc, char **argv)
{
	static const struct option opts[] = {
		{"scenario", required_argument, NULL, 'S'}, {"driver", required_argument, NULL, 'd'},
		{"metric", required_argument, NULL, 'm'},   {"host", required_argument, NULL, 'H'},
		{"since", required_argument, NULL, 's'},    {"limit", required_argument, NULL, 'n'},
		{"stat", required_argument, NULL, 'x'},     {"alpha", required_argument, NULL, 'a'},
		{"no-changes", no_argument, NULL, 'C'},     {"store", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},	    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sb_history_query q = {.since = NAN, .limit = 50, .changes = true, .cp = SB_CP_DEFAULTS};
	const char *store = NULL;
	bool json = false;
	unsigned limit;
	char this_host[33];
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "history", opts)) != -1) {
		switch (c) {
		case -2: return 1;
		case 'S': q.scenario = optarg; break;
		case 'd': q.driver = optarg; break;
		case 'm': q.metric = optarg; break;
		case 'H':
			q.host = optarg;
			if (!strcmp(optarg, "this")) {
				json_t *h = sb_host_probe();
				sb_host_fingerprint(h, this_host);
				json_decref(h);
				q.host = this_host;
			}
			break;
		case 's':
			if (!parse_since(optarg, &q.since))
				return sb_cli_fail("history: --since '%s': expected a date (2026-12-01), an RFC 3339 time "
						   "or an age (30d, 12h, 2w)", optarg);
			break;
		case 'n':
			if (!sb_cli_uint("--limit", optarg, &limit))
				return 1;
			q.limit = limit;
			break;
		case 'x': q.statistic = optarg; break;
		case 'a':
			if (!sb_cli_double("--alpha", optarg, &q.cp.alpha))
				return 1;
			if (!(q.cp.alpha > 0 && q.cp.alpha < 0.5))
				return sb_cli_fail("history: --alpha '%s': expected a level in (0, 0.5), e.g. 0.05", optarg);
			break;
		case 'C': q.changes = false; break;
		case 'o': store = optarg; break;
		case 'j': json = true; break;
		case 'h': history_usage(); return 0;
		}
	}
	if (optind < argc)
		return sb_cli_fail("history: unexpected argument '%s' (see sandbench history --help)", argv[optind]);
	struct sb_store *s = sb_cli_store_open("history", store, true);
	if (!s)
		return 1;
	json_t *res = NULL;
	struct sb_error err = {0};
	int rc = 0;
	if (sb_store_history(s, &q, &res, &err) < 0) {
		rc = sb_cli_fail("history: %s", err.msg);
	} else if (json) {
		sb_cli_print_json(res);
	} else {
		size_t i;
		json_t *series;
		json_array_foreach(json_object_get(res, "series"), i, series)
			print_series(series);
		if (json_array_size(json_object_get(res, "series")) == 0)
			printf("history: nothing recorded matches (store %s)\n", sb_store_where(s));
	}
	json_decref(res);
	sb_store_close(s);
	return rc;
}

int sb_cmd_history(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "import"))
		return history_import(argc - 1, argv + 1);
	return history_query(argc, argv);
}
