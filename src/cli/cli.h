/* Shared pieces of the command-line front end. Only the CLI prints. */
#pragma once
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include "drivers/driver.h"
#include "scenarios/scenario.h"

/* Print "sandbench: error: ..." on stderr (one line) and return 1 (the tool-error exit code). */
int sb_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* getopt_long with one-line errors: unknown option (with the closest valid one) or a missing
 * argument. Returns the option, or -2 after printing an error (caller returns 1), -1 at the end.
 * Options and operands mix freely, except for verbs that take a command (sb_cli_getopt_cmd):
 * those stop at the first operand so the command keeps its own flags. */
int sb_cli_getopt(int argc, char **argv, const char *verb, const struct option *opts);
int sb_cli_getopt_cmd(int argc, char **argv, const char *verb, const struct option *opts);
/* Look up a driver / scenario, printing "unknown driver 'x' (did you mean 'y'?)" when absent. */
const struct sb_driver *sb_cli_driver(const char *name);
const struct sb_scenario *sb_cli_scenario(const char *name);
/* Parse an unsigned integer option, printing an error naming the option on failure. */
bool sb_cli_uint(const char *opt, const char *value, unsigned *out);
bool sb_cli_double(const char *opt, const char *value, double *out);
/* The iteration options `run` and `matrix` share: --runs, --warmup, --timeout, --param. */
struct sb_cli_iter_opts {
	int runs, warmup; /* < 0: each scenario's default */
	double timeout_s;
	struct sb_params params;
	bool no_host_ref; /* --no-host-ref: skip the host reference before each iteration */
	double setup_timeout_s; /* --setup-timeout: template prepare + setup + prewarm (0: default) */
	bool keep_series;       /* --keep-series: time series recorded by scenarios go in the report */
};
#define SB_CLI_ITER_LONGOPTS                                                                        \
	{"runs", required_argument, NULL, 'n'}, {"warmup", required_argument, NULL, 'w'},           \
	{"timeout", required_argument, NULL, 't'}, {"param", required_argument, NULL, 'p'},         \
	{"no-host-ref", no_argument, NULL, 'R'}, {"setup-timeout", required_argument, NULL, 'U'},  \
	{"keep-series", no_argument, NULL, 'K'}
/* Handle option c if it is one of those (returns 1), not one (0), or bad (-1, error printed). */
int sb_cli_iter_opt(const char *verb, int c, const char *arg, struct sb_cli_iter_opts *o);
/* The next option that is not one of those (handled into *it on the way): its code, -1 at the end,
 * or -2 after a bad option (error printed). */
int sb_cli_next_opt(int argc, char **argv, const char *verb, const struct option *opts,
		    struct sb_cli_iter_opts *it);
/* Every --param must belong to some selected scenario or driver; else one error line, -1. */
int sb_cli_check_params(const char *verb, const struct sb_params *params,
			const struct sb_scenario *const *scn, size_t nscn,
			const struct sb_driver *const *drv, size_t ndrv);
/* The subset of params that scenario s and driver d declare, into *mine (caller frees). */
void sb_cli_params_for(const struct sb_params *params, const struct sb_scenario *s,
		       const struct sb_driver *d, struct sb_params *mine);

/* Columns to lay tables out in: the terminal's width when stdout is one (at least 60), else
 * $COLUMNS, else 120. */
size_t sb_cli_term_width(void);
/* The gate options that compare and baseline check share: 'O' (--on) and 'T' (--threshold) into
 * o->defaults. 0, or -1 after printing the error line. */
struct sb_compare_opts;
int sb_cli_compare_gate_opt(const char *verb, int c, const char *arg, struct sb_compare_opts *o);
/* Print a compare result (its warnings on stderr; JSON, Markdown or a table on stdout) and return
 * the exit code it carries. */
int sb_cli_compare_show(const json_t *res, bool json, bool markdown);
/* Print a JSON value to stdout, indented, with a trailing newline. */
void sb_cli_print_json(const json_t *v);
/* Find the agent and (for drivers that need one) build/reuse the standard rootfs. */
int sb_cli_prepare_assets(const struct sb_driver *drv, char *agent, size_t agent_len, char *rootfs,
			  size_t rootfs_len);

/* The results store (src/cli/cli_store.c): --store PATH|URL and --no-store on run, matrix and
 * paired; every finished result is recorded unless recording is off (docs/history.md). */
#define SB_CLI_OPT_STORE 0x100
#define SB_CLI_OPT_NO_STORE 0x101
#define SB_CLI_STORE_LONGOPTS                                                                       \
	{"store", required_argument, NULL, SB_CLI_OPT_STORE}, {"no-store", no_argument, NULL, SB_CLI_OPT_NO_STORE}
struct sb_cli_store_opts {
	const char *location; /* --store */
	bool off;             /* --no-store */
};
/* Handle option c if it is --store or --no-store (returns true). */
bool sb_cli_store_opt(int c, const char *arg, struct sb_cli_store_opts *o);
struct sb_store;
/* Open the store for a verb that reads or writes it (--store, $SANDBENCH_STORE, the default file).
 * read_only: a verb that only reads (history, compare --against-history) does not create a SQLite
 * file that is not there. Prints one error line and returns NULL on failure. */
struct sb_store *sb_cli_store_open(const char *verb, const char *location, bool read_only);
struct sb_session;
struct sb_sink;
/* Add the store sink to a session unless recording is off (*sink NULL then). A store that cannot be
 * opened is a tool error: one line printed, returns 1 (use --no-store to run without it). */
int sb_cli_store_sink(const char *verb, const struct sb_cli_store_opts *o, struct sb_session *session,
		      struct sb_sink **sink);
/* After the verb's results went to the session: a failed recording is a warning on stderr (the
 * run's own result stands); unless quiet, one line on stdout says where the results went. */
void sb_cli_store_done(const char *verb, const struct sb_sink *sink, bool quiet);
struct sb_compare_input;
/* Load every operand (a report, a directory of reports, a matrix summary) into one compare input
 * (free with sb_compare_input_free, also after a failure). Prints one error line and returns 1 on
 * failure, 0 on success. */
int sb_cli_load_reports(const char *verb, char *const *paths, int n, struct sb_compare_input *all);

int sb_cmd_list(int argc, char **argv);
int sb_cmd_drivers(int argc, char **argv);
int sb_cmd_run(int argc, char **argv);
int sb_cmd_show(int argc, char **argv);
int sb_cmd_exec(int argc, char **argv);
int sb_cmd_image(int argc, char **argv);
int sb_cmd_compare(int, char **);
int sb_cmd_paired(int, char **);
int sb_cmd_matrix(int argc, char **argv);
int sb_cmd_doctor(int argc, char **argv);
int sb_cmd_report(int argc, char **argv);
int sb_cmd_top(int argc, char **argv);
int sb_cmd_metrics(int argc, char **argv);

int sb_cmd_history(int argc, char **argv);
int sb_cmd_baseline(int argc, char **argv);
int sb_cmd_slo(int argc, char **argv);
