/* The results store from the command line: where it is, and recording what a verb finished. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "store/store.h"

bool sb_cli_store_opt(int c, const char *arg, struct sb_cli_store_opts *o)
{
	if (c == SB_CLI_OPT_STORE)
		o->location = arg;
	else if (c == SB_CLI_OPT_NO_STORE)
		o->off = true;
	else
		return false;
	return true;
}

struct sb_store *sb_cli_store_open(const char *verb, const char *location)
{
	char where[4096];
	struct sb_error err = {0};
	int rc = sb_store_location(location, false, where, sizeof(where), &err);
	if (rc == 0) {
		sb_cli_fail("%s: SANDBENCH_STORE is '%s': no store to read (give --store PATH)", verb,
			    getenv("SANDBENCH_STORE"));
		return NULL;
	}
	struct sb_store *s = NULL;
	if (rc < 0 || sb_store_open(where, &s, &err) < 0) {
		sb_cli_fail("%s: %s", verb, err.msg);
		return NULL;
	}
	return s;
}

void sb_cli_store_record(const char *verb, const struct sb_cli_store_opts *o, json_t *const *reports, size_t n,
			 const json_t *matrix, const json_t *paired, bool quiet)
{
	char where[4096];
	struct sb_error err = {0};
	int rc = sb_store_location(o->location, o->off, where, sizeof(where), &err);
	if (rc == 0)
		return;
	struct sb_store *s = NULL;
	struct sb_store_outcome out = {0};
	if (rc > 0)
		rc = sb_store_open(where, &s, &err);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		if (reports[i])
			rc = sb_store_record_report(s, reports[i], &out, &err);
	if (rc >= 0 && matrix)
		rc = sb_store_record_matrix(s, matrix, &out, &err);
	if (rc >= 0 && paired)
		rc = sb_store_record_paired(s, paired, &out, &err);
	if (rc < 0)
		fprintf(stderr, "sandbench: warning: %s: results not recorded in the history store: %s\n", verb, err.msg);
	else if (!quiet)
		printf("history: %u result%s recorded in %s\n", out.added, out.added == 1 ? "" : "s", sb_store_where(s));
	sb_store_close(s);
}
