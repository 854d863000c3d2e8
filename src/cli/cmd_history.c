/* `sandbench history`: the results store from the command line — import existing documents, and
 * the series of a metric over time with its change points. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"

static void history_usage(void)
{
	printf("usage: sandbench history import PATH... [--store PATH|URL] [--json]\n\n"
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
	struct sb_store *s = sb_cli_store_open("history import", store);
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

int sb_cmd_history(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "import"))
		return history_import(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		history_usage();
		return 0;
	}
	return sb_cli_fail("history: expected 'import' (see sandbench history --help)");
}
