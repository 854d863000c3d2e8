/* `sandbench matrix`: every scenario on every usable driver, drivers taking turns iteration by
 * iteration (so drift on a noisy host hits all of them alike), one report per cell plus a summary
 * (schema sandbench.matrix/v1) and a side-by-side table. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/host.h"
#include "core/report.h"
#include "core/signals.h"
#include "core/util.h"
#include "render/render.h"
#include "scenarios/runner.h"
#include "session/session.h"
#include "version.h"

#define MAX_DRV 32
#define MAX_SCN 128

struct drv_entry {
	const struct sb_driver *drv;
	struct sb_probe probe;
	char agent[4096], rootfs[4096];
	bool assets_ok;
};

static void matrix_usage(void)
{
	printf("usage: sandbench matrix [--drivers all|D1,D2,...] [--scenarios quick|standard|full|AXIS|S1,S2,...]\n"
	       "                        [--runs N] [--warmup W] [--timeout S] [--param k=v]... [--out DIR] [--json]\n"
	       "                        [--no-host-ref] [--setup-timeout S] [--keep-series]\n"
	       "                        [--store PATH|URL | --no-store] [--html FILE]\n\n"
	       "Runs each scenario on each driver (default: all drivers, the quick profile). Drivers that\n"
	       "are not usable here, or lack a capability a scenario needs, get SKIP cells with the reason.\n"
	       "Iterations are interleaved: round i runs iteration i on every driver, the driver order\n"
	       "rotating each round. Writes every report and matrix.json (schema sandbench.matrix/v1) into\n"
	       "DIR (default ./sandbench-matrix) and prints one block per scenario: drivers as rows, the\n"
	       "scenario's headline metrics as columns (as many as fit the terminal, 120 columns when not a\n"
	       "terminal), cells p50 (p99), the best of each column marked '*'. Every metric is in the JSON;\n"
	       "`sandbench report --html` draws them all. Every report and the summary\n"
	       "are recorded in the history store (docs/history.md); --no-store: not.\n");
}

static int select_drivers(const char *spec, struct drv_entry *out, size_t *n)
{
	size_t nall;
	const struct sb_driver *const *all = sb_drivers_all(&nall);
	*n = 0;
	if (!strcmp(spec, "all")) {
		for (size_t i = 0; i < nall && *n < MAX_DRV; i++)
			out[(*n)++].drv = all[i];
		return 0;
	}
	char copy[1024];
	snprintf(copy, sizeof(copy), "%s", spec);
	for (char *save, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const struct sb_driver *d = sb_cli_driver(t);
		if (!d)
			return -1;
		if (*n < MAX_DRV)
			out[(*n)++].drv = d;
	}
	return *n ? 0 : (sb_cli_fail("matrix: --drivers is empty"), -1);
}

static int select_scenarios(const char *spec, const struct sb_scenario **out, size_t *n)
{
	size_t nall;
	const struct sb_scenario *const *all = sb_scenarios_all(&nall);
	unsigned profile = sb_profile_parse(spec);
	const char *axis = sb_axis_find(spec);
	*n = 0;
	if (profile || axis) {
		for (size_t i = 0; i < nall && *n < MAX_SCN; i++)
			if ((profile && (all[i]->profiles & profile)) || (axis && !strcmp(all[i]->axis, axis)))
				out[(*n)++] = all[i];
		return 0;
	}
	char copy[2048];
	snprintf(copy, sizeof(copy), "%s", spec);
	for (char *save, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const struct sb_scenario *s = sb_cli_scenario(t);
		if (!s)
			return -1;
		if (*n < MAX_SCN)
			out[(*n)++] = s;
	}
	return 0;
}

/* Build the cells: for every metric any report of a scenario has, each driver's p50/p99/n. */
static json_t *build_cells(const struct sb_scenario **scn, size_t nscn, json_t **reports, struct drv_entry *drv,
			   size_t ndrv)
{
	json_t *cells = json_array();
	for (size_t s = 0; s < nscn; s++) {
		json_t *metrics = json_object(); /* metric -> cell, in first-seen order */
		json_t *status = json_object();
		for (size_t d = 0; d < ndrv; d++) {
			json_t *r = reports[s * ndrv + d];
			const char *st = sb_report_status(r);
			if (strcmp(st, "ok") != 0)
				json_object_set_new(status, drv[d].drv->name, json_string(!strcmp(st, "skip") ? "skip" : "error"));
			size_t k;
			json_t *a;
			json_array_foreach(json_object_get(r, "aggregates"), k, a) {
				const char *m = json_string_value(json_object_get(a, "metric"));
				json_t *cell = json_object_get(metrics, m);
				if (!cell) {
					cell = json_pack("{s:s, s:s, s:O, s:O, s:{}}", "scenario", scn[s]->name, "metric", m,
							 "unit", json_object_get(a, "unit"), "higher_is_better",
							 json_object_get(a, "higher_is_better"), "values");
					json_object_set_new(metrics, m, cell);
				}
				json_object_set_new(json_object_get(cell, "values"), drv[d].drv->name,
						    json_pack("{s:O, s:O, s:O}", "p50", json_object_get(a, "p50"), "p99",
							      json_object_get(a, "p99"), "n", json_object_get(a, "n")));
			}
		}
		const char *m;
		json_t *cell;
		json_object_foreach(metrics, m, cell) {
			bool hib = json_is_true(json_object_get(cell, "higher_is_better"));
			const char *best = NULL;
			double bv = NAN;
			const char *dn;
			json_t *v;
			size_t nvals = json_object_size(json_object_get(cell, "values"));
			json_object_foreach(json_object_get(cell, "values"), dn, v) {
				double x = json_number_value(json_object_get(v, "p50"));
				if (!best || (hib ? x > bv : x < bv)) {
					best = dn;
					bv = x;
				}
			}
			if (best && nvals > 1)
				json_object_set_new(cell, "best", json_string(best));
			json_object_set(cell, "status", status);
			json_array_append(cells, cell);
		}
		json_decref(metrics);
		json_decref(status);
	}
	return cells;
}

int sb_cmd_matrix(int argc, char **argv)
{
	static const struct option opts[] = {
		{"drivers", required_argument, NULL, 'd'}, {"scenarios", required_argument, NULL, 's'},
		SB_CLI_ITER_LONGOPTS,
		{"out", required_argument, NULL, 'o'},     {"json", no_argument, NULL, 'j'},
		SB_CLI_STORE_LONGOPTS,
		{"html", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	const char *drivers_spec = "all", *scn_spec = "quick", *out = "sandbench-matrix", *html = NULL;
	int rc = 0, c;
	struct sb_cli_iter_opts it = {.runs = -1, .warmup = -1, .timeout_s = 60};
	bool json = false;
	struct sb_cli_store_opts store = {0};
	struct sb_error err = {0};
	optind = 1;
	while ((c = sb_cli_next_opt(argc, argv, "matrix", opts, &it)) != -1) {
		if (c == -2) {
			rc = 1;
			goto done;
		}
		switch (c) {
		case 'd': drivers_spec = optarg; break;
		case 's': scn_spec = optarg; break;
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 'H': html = optarg; break;
		case SB_CLI_OPT_STORE:
		case SB_CLI_OPT_NO_STORE: sb_cli_store_opt(c, optarg, &store); break;
		case 'h': matrix_usage(); goto done;
		}
	}
	if (optind < argc) {
		rc = sb_cli_fail("matrix: unexpected argument '%s'", argv[optind]);
		goto done;
	}
	static struct drv_entry drv[MAX_DRV];
	const struct sb_scenario *scn[MAX_SCN];
	size_t ndrv, nscn;
	if (select_drivers(drivers_spec, drv, &ndrv) < 0 || select_scenarios(scn_spec, scn, &nscn) < 0) {
		rc = 1;
		goto done;
	}
	const struct sb_driver *drv_list[MAX_DRV];
	for (size_t d = 0; d < ndrv; d++)
		drv_list[d] = drv[d].drv;
	if (sb_cli_check_params("matrix", &it.params, scn, nscn, drv_list, ndrv) < 0) {
		rc = 1;
		goto done;
	}
	if (sb_mkdir_p(out, 0755) < 0) {
		rc = sb_cli_fail("matrix: cannot create %s: %s", out, strerror(errno));
		goto done;
	}
	sb_signals_install();
	{
		struct sb_probe probes[MAX_DRV];
		const struct sb_params *pp[MAX_DRV];
		for (size_t d = 0; d < ndrv; d++)
			pp[d] = &it.params;
		sb_drivers_probe_all(drv_list, pp, ndrv, probes, 120);
		for (size_t d = 0; d < ndrv; d++)
			drv[d].probe = probes[d];
	}
	for (size_t d = 0; d < ndrv; d++) {
		if (drv[d].probe.usable &&
		    sb_cli_prepare_assets(drv[d].drv, drv[d].agent, sizeof(drv[d].agent), drv[d].rootfs,
					  sizeof(drv[d].rootfs)) != 0) {
			/* Asset trouble makes this driver's cells SKIP rather than ending the matrix. */
			drv[d].probe.usable = false;
			snprintf(drv[d].probe.reason, sizeof(drv[d].probe.reason), "its assets could not be prepared");
		}
	}
	char ended[40];
	struct sb_session *session = sb_session_new();
	if (!session || sb_session_add_sink(session, sb_sink_json_new(out, SB_JSON_MATRIX_DIR)) < 0) {
		sb_session_free(session);
		rc = sb_cli_fail("matrix: out of memory");
		goto done;
	}
	if (html && sb_session_add_sink(session, sb_sink_html_new(html, "sandbench matrix")) < 0) {
		sb_session_free(session);
		rc = sb_cli_fail("matrix: out of memory");
		goto done;
	}
	struct sb_sink *store_sink;
	if (sb_cli_store_sink("matrix", &store, session, &store_sink) != 0) {
		sb_session_free(session);
		rc = 1;
		goto done;
	}
	const char *run_id = session->run_id, *started = session->started_at;
	json_t *host = session->host;
	json_t **reports = calloc(nscn * ndrv, sizeof(json_t *));
	json_t *rep_list = json_array();
	for (size_t s = 0; s < nscn && !sb_interrupted(); s++) {
		struct sb_run *runs_of[MAX_DRV] = {0};
		struct sb_params mine[MAX_DRV];
		memset(mine, 0, sizeof(mine));
		for (size_t d = 0; d < ndrv; d++) {
			sb_cli_params_for(&it.params, scn[s], drv[d].drv, &mine[d]);
			struct sb_run_opts o = {
				.drv = drv[d].drv, .probe = &drv[d].probe, .params = &mine[d], .runs = it.runs,
				.warmup = it.warmup, .timeout_s = it.timeout_s, .host_ref = !it.no_host_ref, .setup_timeout_s = it.setup_timeout_s,
				.keep_series = it.keep_series, .agent_host_path = drv[d].agent,
				.rootfs = drv[d].rootfs[0] ? drv[d].rootfs : NULL,
				.progress = isatty(STDERR_FILENO) && !json, .profile = sb_profile_parse(scn_spec),
			};
			sb_session_fill(session, &o);
			if (sb_run_begin(scn[s], &o, &runs_of[d], &err) < 0) {
				rc = sb_cli_fail("matrix: %s on %s: %s", scn[s]->name, drv[d].drv->name, err.msg);
				break;
			}
		}
		/* Rounds: iteration i on every driver, the starting driver rotating each round. */
		for (size_t round = 0, active = 1; active && !rc; round++) {
			active = 0;
			for (size_t k = 0; k < ndrv; k++) {
				size_t d = (round + k) % ndrv;
				if (runs_of[d] && sb_run_step(runs_of[d]))
					active = 1;
			}
		}
		for (size_t d = 0; d < ndrv; d++) {
			if (!runs_of[d])
				continue;
			json_t *r = sb_run_end(runs_of[d]);
			sb_params_free(&mine[d]);
			char name[512];
			snprintf(name, sizeof(name), "%s--%s.json", scn[s]->name, drv[d].drv->name);
			if (sb_session_report(session, r, NULL, 0, &err) < 0) {
				rc = sb_cli_fail("matrix: %s", err.msg);
				json_decref(r);
				continue;
			}
			reports[s * ndrv + d] = r;
			json_t *entry = json_pack("{s:s, s:s, s:s, s:s}", "scenario", scn[s]->name, "driver",
						  drv[d].drv->name, "status", sb_report_status(r), "path", name);
			if (json_object_get(r, "reason"))
				json_object_set(entry, "reason", json_object_get(r, "reason"));
			json_array_append_new(rep_list, entry);
		}
		if (rc)
			break;
	}
	size_t nsc_done = json_array_size(rep_list) / (ndrv ? ndrv : 1);
	sb_wallclock_rfc3339(ended, sizeof(ended));
	json_t *drivers = json_array();
	for (size_t d = 0; d < ndrv; d++)
		json_array_append_new(drivers, json_pack("{s:s, s:b, s:s, s:s}", "name", drv[d].drv->name, "usable",
							 drv[d].probe.usable, "version", drv[d].probe.version, "reason",
							 drv[d].probe.reason));
	json_t *cells = build_cells(scn, nsc_done, reports, drv, ndrv);
	json_t *summary = json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:O}, s:O, s:O, s:O}",
				    "schema", "sandbench.matrix/v1", "tool", "name", "sandbench", "version", SB_VERSION,
				    "git", SB_GIT_VERSION, "run", "id", run_id, "started_at", started, "ended_at", ended,
				    "host", host, "drivers", drivers, "reports", rep_list, "cells", cells);
	if (sb_interrupted())
		json_object_set_new(summary, "interrupted", json_true());
	if (sb_session_matrix(session, summary, &err) < 0)
		rc = sb_cli_fail("matrix: %s", err.msg);
	if (sb_session_finish(session, &err) < 0)
		rc = sb_cli_fail("matrix: %s", err.msg);
	if (json) {
		sb_cli_print_json(summary);
	} else {
		struct sb_buf tb;
		sb_buf_init(&tb);
		sb_render_matrix_term(summary, sb_cli_term_width(), &tb);
		fwrite(tb.data ? tb.data : "", 1, tb.len, stdout);
		sb_buf_free(&tb);
		printf("\nreports and matrix.json: %s/\n", out);
		if (html)
			printf("the page with charts of them all: %s\n", html);
		else
			printf("charts of them all: sandbench report --html matrix.html %s (or --html FILE)\n", out);
	}
	sb_cli_store_done("matrix", store_sink, json);
	for (size_t i = 0; i < nscn * ndrv; i++)
		json_decref(reports[i]);
	free(reports);
	json_decref(summary);
	json_decref(drivers);
	json_decref(cells);
	json_decref(rep_list);
	sb_session_free(session);
	int sig = sb_interrupted();
	sb_reap_descendants();
	if (sig)
		rc = 128 + sig;
done:
	sb_params_free(&it.params);
	return rc;
}
