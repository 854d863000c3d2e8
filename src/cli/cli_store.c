/* The results store from the command line: where it is, and recording what a verb finished. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "compare/compare.h"
#include "session/session.h"
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

struct sb_store *sb_cli_store_open(const char *verb, const char *location, bool read_only)
{
	char where[4096];
	struct sb_error err = {0};
	int rc = sb_store_location(location, false, where, sizeof(where), &err);
	if (rc == 0) {
		sb_cli_fail("%s: SANDBENCH_STORE is '%s': no store to read (give --store PATH)", verb,
			    getenv("SANDBENCH_STORE"));
		return NULL;
	}
	if (rc > 0 && read_only && !strstr(where, "://") && access(where, F_OK) != 0) {
		sb_cli_fail("%s: no store at %s: nothing recorded yet (sandbench history import DIR loads reports)", verb,
			    where);
		return NULL;
	}
	struct sb_store *s = NULL;
	if (rc < 0 || sb_store_open(where, &s, &err) < 0) {
		sb_cli_fail("%s: %s", verb, err.msg);
		return NULL;
	}
	return s;
}

int sb_cli_store_sink(const char *verb, const struct sb_cli_store_opts *o, struct sb_session *session,
		      struct sb_sink **sink)
{
	char where[4096];
	struct sb_error err = {0};
	*sink = NULL;
	int rc = sb_store_location(o->location, o->off, where, sizeof(where), &err);
	if (rc == 0)
		return 0;
	if (rc < 0 || sb_store_sink_new(where, sink, &err) < 0)
		return sb_cli_fail("%s: history store: %s (--no-store runs without it)", verb, err.msg);
	if (sb_session_add_sink(session, *sink) < 0) {
		*sink = NULL;
		return sb_cli_fail("%s: too many result sinks", verb);
	}
	return 0;
}

void sb_cli_store_done(const char *verb, const struct sb_sink *sink, bool quiet)
{
	if (!sink)
		return;
	struct sb_store_outcome out;
	const char *where;
	struct sb_error err = {0};
	if (sb_store_sink_status(sink, &out, &where, &err) < 0)
		fprintf(stderr, "sandbench: warning: %s: not every result was recorded in the history store: %s\n", verb,
			err.msg);
	if (!quiet && out.added + out.present)
		printf("history: %u result%s recorded in %s\n", out.added, out.added == 1 ? "" : "s", where);
}

int sb_cli_load_reports(const char *verb, char *const *paths, int n, struct sb_compare_input *all)
{
	struct sb_error err = {0};
	struct sb_compare_input one;
	memset(all, 0, sizeof(*all));
	for (int i = 0; i < n; i++) {
		if (sb_compare_input_load(paths[i], "report", &one, &err) < 0) {
			sb_compare_input_free(&one);
			return sb_cli_fail("%s: %s", verb, err.msg);
		}
		json_t **r = realloc(all->reports, (all->n + one.n) * sizeof(json_t *));
		if (r)
			all->reports = r;
		char **f = realloc(all->files, (all->n + one.n) * sizeof(char *));
		if (f)
			all->files = f;
		if (!r || !f) {
			sb_compare_input_free(&one);
			return sb_cli_fail("%s: out of memory", verb);
		}
		for (size_t k = 0; k < one.n; k++) {
			all->reports[all->n] = one.reports[k];
			all->files[all->n++] = one.files[k];
		}
		one.n = 0; /* moved */
		sb_compare_input_free(&one);
	}
	if (!all->path)
		all->path = strdup(n == 1 ? paths[0] : "the reports given");
	all->kind = SB_INPUT_DIR;
	return 0;
}
