/* `sandbench run`: scenarios on one driver -> a summary table and one report per scenario. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/host.h"
#include "core/report.h"
#include "core/signals.h"
#include "core/util.h"
#include "metrics/registry.h"
#include "metrics/sampler.h"
#include "report/table.h"
#include "scenarios/runner.h"
#include "session/session.h"

static void run_usage(void)
{
	printf("usage: sandbench run SCENARIO... [--driver D] [--runs N] [--warmup W]\n"
	       "                     [--timeout SECONDS] [--param k=v]... [--out FILE|DIR] [--json]\n"
	       "                     [--repeat K] [--no-host-ref] [--setup-timeout S] [--keep-series]\n"
	       "                     [--live [--sample-interval S] [--registry PATH]]\n"
	       "                     [--store PATH|URL | --no-store] [--html FILE]\n"
	       "       sandbench run --profile quick|standard|full [options]\n\n"
	       "Runs each scenario on driver D (default: process): W warmup iterations (kept in the\n"
	       "report, flagged, excluded from statistics), then N measured ones, each with a deadline\n"
	       "of SECONDS (default 60). Prints a summary table and writes one report per scenario\n"
	       "(schema sandbench.report/v1) into DIR (default ./sandbench-results), or into FILE when\n"
	       "one scenario runs. --json prints a JSON summary instead of the table.\n"
	       "--repeat K runs the list K times, each pass a run of its own with its own reports: several\n"
	       "runs per side let compare measure the drift between runs (docs/compare.md, Sessions).\n"
	       "Before every iteration a host reference (spawn and reap /bin/true) is timed and kept\n"
	       "in the report, so compare can tell a slower host from a slower sandbox; --no-host-ref\n"
	       "leaves it out.\n"
	       "Template prepare, setup and prewarm share their own deadline, --setup-timeout S\n"
	       "(default 600): an image build must not eat an iteration's. --keep-series keeps the time\n"
	       "series scenarios record (e.g. RSS during a soak) in the report's \"series\".\n"
	       "--live publishes every sandbox of the run, sampled every S seconds (default 1) through\n"
	       "its driver's stats, into the shared-memory registry PATH (default $SANDBENCH_REGISTRY or\n"
	       "/dev/shm/sandbench-metrics): watch with `sandbench top` or `sandbench metrics serve`;\n"
	       "with --keep-series, scenarios that ask for it keep the samples as live_* series.\n"
	       "Every report is also recorded in the history store (--store, $SANDBENCH_STORE, or\n"
	       "~/.local/share/sandbench/history.db; docs/history.md); --no-store: not.\n"
	       "Exit: 0 all ok or skipped, 1 an error, 130/143 interrupted (reports still written).\n");
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int sb_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"driver", required_argument, NULL, 'd'}, SB_CLI_ITER_LONGOPTS,
		{"out", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},         {"profile", required_argument, NULL, 'P'},
		{"repeat", required_argument, NULL, 'r'}, SB_CLI_STORE_LONGOPTS,
		{"live", no_argument, NULL, 'L'},         {"sample-interval", required_argument, NULL, 'I'},
		{"registry", required_argument, NULL, 'G'}, {"html", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *html = NULL;
	bool live = false;
	double interval = 1;
	const char *registry = NULL, *live_only = NULL;
	const char *driver_name = "process", *out = "sandbench-results", *profile = NULL;
	struct sb_cli_iter_opts it = {.runs = -1, .warmup = -1, .timeout_s = 60};
	bool json = false;
	unsigned repeat = 1;
	struct sb_cli_store_opts store = {0};
	struct sb_error err = {0};
	int c, rc = 0;
	optind = 1;
	while ((c = sb_cli_next_opt(argc, argv, "run", opts, &it)) != -1) {
		if (c == -2) {
			rc = 1;
			goto done;
		}
		switch (c) {
		case 'd': driver_name = optarg; break;
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 'P': profile = optarg; break;
		case 'H': html = optarg; break;
		case SB_CLI_OPT_STORE:
		case SB_CLI_OPT_NO_STORE: sb_cli_store_opt(c, optarg, &store); break;
		case 'r':
			if (!sb_cli_uint("--repeat", optarg, &repeat)) {
				rc = 1;
				goto done;
			}
			if (repeat < 1 || repeat > 100) {
				rc = sb_cli_fail("run: --repeat %u: expected 1 to 100 runs of each scenario", repeat);
				goto done;
			}
			break;
		case 'L': live = true; break;
		case 'I':
			live_only = "--sample-interval";
			if (!sb_cli_double("--sample-interval", optarg, &interval)) {
				rc = 1;
				goto done;
			}
			if (!(interval > 0) || interval > 3600) {
				rc = sb_cli_fail("run: --sample-interval %s: expected seconds, more than 0 and at most 3600",
						 optarg);
				goto done;
			}
			break;
		case 'G': live_only = "--registry"; registry = optarg; break;
		case 'h': run_usage(); goto done;
		}
	}
	if (live_only && !live) {
		rc = sb_cli_fail("run: %s is for --live", live_only);
		goto done;
	}

	const struct sb_driver *drv = sb_cli_driver(driver_name);
	if (!drv) {
		rc = 1;
		goto done;
	}
	const struct sb_scenario *list[256];
	size_t nscn = 0;
	if (profile) {
		unsigned bit = sb_profile_parse(profile);
		if (!bit) {
			rc = sb_cli_fail("run: unknown profile '%s' (quick, standard, full)", profile);
			goto done;
		}
		if (optind < argc) {
			rc = sb_cli_fail("run: give scenario names or --profile, not both");
			goto done;
		}
		size_t n;
		const struct sb_scenario *const *all = sb_scenarios_all(&n);
		for (size_t i = 0; i < n; i++)
			if (all[i]->profiles & bit)
				list[nscn++] = all[i];
	} else {
		for (int i = optind; i < argc && nscn < 256; i++) {
			const struct sb_scenario *s = sb_cli_scenario(argv[i]);
			if (!s) {
				rc = 1;
				goto done;
			}
			list[nscn++] = s;
		}
		if (nscn == 0) {
			rc = sb_cli_fail("run: no scenario given (see sandbench list, or use --profile quick)");
			goto done;
		}
	}
	/* Check parameters up front so a typo fails before anything runs. */
	if (sb_cli_check_params("run", &it.params, list, nscn, &drv, 1) < 0) {
		rc = 1;
		goto done;
	}
	bool out_is_file = ends_with(out, ".json");
	if (out_is_file && nscn * repeat > 1) {
		rc = sb_cli_fail("run: --out %s names one file but %zu reports will be written; give a directory", out,
				 nscn * repeat);
		goto done;
	}
	if (nscn * repeat > 256) {
		rc = sb_cli_fail("run: %zu scenarios x --repeat %u is more than 256 reports in one call", nscn, repeat);
		goto done;
	}

	sb_signals_install();
	struct sb_probe probe = {0};
	drv->probe(&it.params, &probe);
	char agent[4096] = "", rootfs[4096] = "";
	if (probe.usable && sb_cli_prepare_assets(drv, agent, sizeof(agent), rootfs, sizeof(rootfs)) != 0) {
		rc = 1;
		goto done;
	}
	/* Only now, when reports will follow: a failure above leaves nothing behind. */
	if (!out_is_file && sb_mkdir_p(out, 0755) < 0) {
		rc = sb_cli_fail("run: cannot create output directory %s: %s", out, strerror(errno));
		goto done;
	}
	struct sb_session *session = sb_session_new();
	if (!session || sb_session_add_sink(session, sb_sink_json_new(out, out_is_file ? SB_JSON_FILE
											: SB_JSON_RUN_DIR)) < 0) {
		sb_session_free(session);
		rc = sb_cli_fail("run: out of memory");
		goto done;
	}
	struct sb_sink *live_sink = NULL;
	if (live) {
		/* Every box of the run is watched from when it starts until it is destroyed. */
		struct sb_sampler_opts so = {.interval_s = interval,
					     .registry_path = registry ? registry : sb_reg_default_path(),
					     .keep_series = it.keep_series};
		if (!(live_sink = sb_sink_live_new(&so, &err)) || sb_session_add_sink(session, live_sink) < 0) {
			sb_session_free(session);
			rc = sb_cli_fail("run: --live: %s", err.msg[0] ? err.msg : "out of memory");
			goto done;
		}
	}
	if (html && sb_session_add_sink(session, sb_sink_html_new(html, NULL)) < 0) {
		sb_session_free(session);
		rc = sb_cli_fail("run: out of memory");
		goto done;
	}
	struct sb_sink *store_sink;
	if (sb_cli_store_sink("run", &store, session, &store_sink) != 0) {
		sb_session_free(session);
		rc = 1;
		goto done;
	}
	json_t *reports[256];
	size_t nrep = 0;
	json_t *summary = json_array();
	/* --repeat: the whole list again, each pass a run of its own (new id, one report per scenario),
	 * so compare sees the spread between runs (sessions). Scenarios alternate, which spreads each
	 * one's runs out in time. */
	for (size_t k = 0; k < (size_t)repeat * nscn && !sb_interrupted(); k++) {
		size_t i = k % nscn;
		if (i == 0 && k > 0)
			sb_session_next_run(session);
		struct sb_run_opts o = {
			.drv = drv, .probe = &probe, .runs = it.runs, .warmup = it.warmup,
			.timeout_s = it.timeout_s, .host_ref = !it.no_host_ref, .setup_timeout_s = it.setup_timeout_s,
			.keep_series = it.keep_series, .agent_host_path = agent, .rootfs = rootfs[0] ? rootfs : NULL,
			.progress = isatty(STDERR_FILENO) && !json, .profile = profile ? sb_profile_parse(profile) : 0,
		};
		sb_session_fill(session, &o);
		if (live_sink)
			sb_sink_live_label(live_sink, list[i]->name);
		/* Each scenario sees only its own and the driver's parameters. */
		struct sb_params mine;
		sb_cli_params_for(&it.params, list[i], drv, &mine);
		o.params = &mine;
		json_t *r = NULL;
		int r_rc = sb_run_scenario(list[i], &o, &r, &err);
		sb_params_free(&mine);
		if (r_rc < 0) {
			rc = sb_cli_fail("run: %s: %s", list[i]->name, err.msg);
			break;
		}
		char path[4096];
		if (sb_session_report(session, r, path, sizeof(path), &err) < 0) {
			rc = sb_cli_fail("run: cannot write report: %s", err.msg);
			json_decref(r);
			break;
		}
		const char *status = sb_report_status(r);
		if (strcmp(status, "error") == 0) {
			rc = 1;
			if (!sb_interrupted())
				fprintf(stderr, "sandbench: error: %s on %s: %s\n", list[i]->name, drv->name,
					json_string_value(json_object_get(r, "reason")));
		}
		json_array_append_new(summary, json_pack("{s:s, s:s, s:s, s:O?, s:s, s:O}", "scenario",
							 list[i]->name, "driver", drv->name, "status", status,
							 "reason", json_object_get(r, "reason"), "report", path,
							 "aggregates", json_object_get(r, "aggregates")));
		reports[nrep++] = r;
	}
	if (json)
		sb_cli_print_json(summary);
	else if (nrep)
		sb_render_reports_table(stdout, reports, nrep);
	if (sb_session_finish(session, &err) < 0)
		rc = sb_cli_fail("run: %s", err.msg);
	if (!json && nrep)
		printf("\nreports: %s%s%s%s\n", out, out_is_file ? "" : "/", html ? "; page: " : "", html ? html : "");
	sb_cli_store_done("run", store_sink, json);
	fflush(stdout);
	for (size_t i = 0; i < nrep; i++)
		json_decref(reports[i]);
	json_decref(summary);
	if (live_sink && sb_sink_live_error(live_sink)[0])
		fprintf(stderr, "sandbench: warning: --live: %s\n", sb_sink_live_error(live_sink));
	sb_session_free(session);
	int sig = sb_interrupted();
	sb_reap_descendants();
	if (sig)
		rc = 128 + sig;
done:
	sb_params_free(&it.params);
	return rc;
}
