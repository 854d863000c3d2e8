/* `sandbench paired`: A/B of two commands, or of one scenario on two drivers (or two builds of a
 * runtime through a driver parameter), interleaved ABBA and analysed pair by pair. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "compare/paired.h"
#include "compare/render.h"
#include "core/clock.h"
#include "core/host.h"
#include "session/session.h"
#include "core/report.h"
#include "core/signals.h"
#include "core/util.h"
#include "scenarios/runner.h"

static void paired_usage(void)
{
	printf("usage: sandbench paired --baseline-cmd CMD --current-cmd CMD [options]\n"
	       "       sandbench paired SCENARIO --baseline-driver D --current-driver D [--driver D]\n"
	       "                        [--param k=v]... [--baseline-param k=v]... [--current-param k=v]...\n"
	       "options: [--pairs N] [--warmup W] [--timeout SECONDS] [--alpha A] [--threshold F]\n"
	       "         [--metric GLOB]... [--require-significance [--max-retries K]]\n"
	       "         [--fail-on-regression PCT] [--fail-on-warn] [--allow-nonzero]\n"
	       "         [--output-cap BYTES] [--json | --markdown] [--out FILE]\n"
	       "         [--store PATH|URL | --no-store]\n\n"
	       "Runs W warmup pairs (default 2, excluded) then N pairs (default 20), alternating which side\n"
	       "goes first (A B | B A | ...). Commands without shell syntax run directly, others under\n"
	       "/bin/sh -c; each run records wall, cpu (user+sys), user and sys ms and max RSS (wait4).\n"
	       "Scenario sides run one measured iteration per run through the library (setup and\n"
	       "teardown untimed). Per metric: per-pair log ratios, Wilcoxon signed-rank (decides) and\n"
	       "paired t (reported), Hodges-Lehmann\n"
	       "change with a (1-alpha) CI. The gated metrics (--metric, default the first: wall_ms or the\n"
	       "scenario's headline) decide: regression when significant and worse by >= F (default 0.10);\n"
	       "with --fail-on-regression PCT, only when the whole CI is worse by >= PCT%%.\n"
	       "--require-significance adds pairs in growing batches, up to K more looks (default 3), each at\n"
	       "alpha/(K+1).\n"
	       "The document is recorded in the history store (docs/history.md); --no-store: not.\n"
	       "Exit: 0 pass, 1 tool error or a failed run, 2 regression, 3 warn with --fail-on-warn.\n");
}

/* A scenario side: one driver, its parameters, and the assets the runner needs. */
struct scn_side {
	const struct sb_scenario *scn;
	const struct sb_driver *drv;
	struct sb_probe probe;
	struct sb_params params;
	char agent[4096], rootfs[4096];
	struct sb_session *session;
	double timeout_s;
};

/* One measured iteration per call (runs=1, warmup=0): the scenario's setup and teardown stay
 * outside the timed iteration, and the pair's ABBA order is preserved at the iteration level. */
static int scn_measure(void *ctx, unsigned pair, bool warmup, json_t *meta, json_t **run,
		       struct sb_error *err)
{
	struct scn_side *s = ctx;
	struct sb_run_opts ro = {
		.drv = s->drv, .probe = &s->probe, .params = &s->params, .runs = 1, .warmup = 0,
		.timeout_s = s->timeout_s, .agent_host_path = s->agent, .rootfs = s->rootfs[0] ? s->rootfs : NULL,
	};
	sb_session_fill(s->session, &ro);
	json_t *rep = NULL;
	int rc = sb_run_scenario(s->scn, &ro, &rep, err);
	if (rc < 0)
		return rc;
	if (sb_interrupted()) {
		json_decref(rep);
		return -EINTR;
	}
	const char *status = sb_report_status(rep);
	json_t *metrics = json_object();
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(rep, "samples"), i, x)
		if (!json_is_true(json_object_get(x, "warmup")) && !json_object_get(x, "error"))
			json_object_update(metrics, json_object_get(x, "metrics"));
	json_array_foreach(json_object_get(rep, "aggregates"), i, x) {
		const char *name = json_string_value(json_object_get(x, "metric"));
		if (json_object_get(metrics, name))
			sb_metric_declare(meta, name, json_string_value(json_object_get(x, "unit")),
					  json_is_true(json_object_get(x, "higher_is_better")));
	}
	json_t *r = json_pack("{s:o, s:s}", "metrics", metrics, "status", status);
	if (strcmp(status, "ok") != 0 || json_object_size(metrics) == 0) {
		const char *why = json_string_value(json_object_get(rep, "reason"));
		json_object_set_new(r, "error", json_sprintf("%s on %s: %s%s%s", s->scn->name, s->drv->name,
							     strcmp(status, "ok") ? status : "no metrics",
							     why ? ": " : "", why ? why : ""));
	}
	json_decref(rep);
	(void)pair;
	(void)warmup;
	*run = r;
	return 0;
}

static bool side_params(struct scn_side *s, const struct sb_params *common, const struct sb_params *own,
			const char *label)
{
	const struct sb_params *lists[] = {common, own};
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			sb_params_set(&s->params, lists[l]->items[i].key, lists[l]->items[i].value);
	const struct sb_param_def *defs[] = {s->scn->params, s->drv->params};
	struct sb_error err = {0};
	if (sb_params_check(&s->params, defs, 2, &err) < 0 || sb_drv_check_params(s->drv, &s->params, &err) < 0) {
		sb_cli_fail("paired: %s side: %s", label, err.msg);
		return false;
	}
	return true;
}

static void progress(void *ctx, unsigned done, unsigned target, bool warmup)
{
	(void)ctx;
	fprintf(stderr, "\rpaired: pair %u/%u%s   ", done, target, warmup ? " (warmup)" : "");
	fflush(stderr);
}

static bool parse_unsigned(const char *opt, const char *v, unsigned *out, unsigned min)
{
	if (!sb_cli_uint(opt, v, out))
		return false;
	if (*out < min) {
		sb_cli_fail("%s must be at least %u", opt, min);
		return false;
	}
	return true;
}

int sb_cmd_paired(int argc, char **argv)
{
	static const struct option opts[] = {
		{"baseline-cmd", required_argument, NULL, 'B'},	   {"current-cmd", required_argument, NULL, 'C'},
		{"baseline-driver", required_argument, NULL, 'D'}, {"current-driver", required_argument, NULL, 'E'},
		{"driver", required_argument, NULL, 'd'},	   {"param", required_argument, NULL, 'p'},
		{"baseline-param", required_argument, NULL, 'P'},  {"current-param", required_argument, NULL, 'Q'},
		{"pairs", required_argument, NULL, 'n'},	   {"warmup", required_argument, NULL, 'w'},
		{"timeout", required_argument, NULL, 't'},	   {"alpha", required_argument, NULL, 'a'},
		{"threshold", required_argument, NULL, 'T'},	   {"metric", required_argument, NULL, 'm'},
		{"require-significance", no_argument, NULL, 'R'},  {"max-retries", required_argument, NULL, 'K'},
		{"fail-on-regression", required_argument, NULL, 'F'}, {"fail-on-warn", no_argument, NULL, 'W'},
		{"allow-nonzero", no_argument, NULL, 'Z'},	   {"output-cap", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},		   {"markdown", no_argument, NULL, 'M'},
		{"out", required_argument, NULL, 'o'},		   {"help", no_argument, NULL, 'h'},
		SB_CLI_STORE_LONGOPTS,				   {NULL, 0, NULL, 0},
	};
	const char *bcmd = NULL, *ccmd = NULL, *bdrv = NULL, *cdrv = NULL, *drv_both = NULL, *out = NULL;
	struct sb_params common = {0}, bparams = {0}, cparams = {0};
	struct sb_paired_opts o = {.pairs = 20, .warmup = 2, .alpha = 0.05, .threshold = 0.10, .max_retries = 3};
	const char *gates[32];
	double timeout_s = 60, fail_pct = -1;
	unsigned cap = 1024;
	bool json = false, markdown = false, allow_nonzero = false, fail_on_warn = false, retries_set = false;
	struct sb_paired_cmd cmds[2] = {0};
	struct scn_side sides[2];
	memset(sides, 0, sizeof(sides));
	json_t *doc = NULL;
	struct sb_session *session = NULL;
	struct sb_cli_store_opts store = {0};
	struct sb_error err = {0};
	int c, rc = 1;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "paired", opts)) != -1) {
		switch (c) {
		case -2: goto done;
		case 'B': bcmd = optarg; break;
		case 'C': ccmd = optarg; break;
		case 'D': bdrv = optarg; break;
		case 'E': cdrv = optarg; break;
		case 'd': drv_both = optarg; break;
		case 'p':
		case 'P':
		case 'Q':
			if (sb_params_add_kv(c == 'p' ? &common : c == 'P' ? &bparams : &cparams, optarg, &err) < 0) {
				sb_cli_fail("paired: %s", err.msg);
				goto done;
			}
			break;
		case 'n':
			if (!parse_unsigned("--pairs", optarg, &o.pairs, 1))
				goto done;
			break;
		case 'w':
			if (!parse_unsigned("--warmup", optarg, &o.warmup, 0))
				goto done;
			break;
		case 't':
			if (!sb_cli_double("--timeout", optarg, &timeout_s))
				goto done;
			break;
		case 'a':
			if (!sb_cli_double("--alpha", optarg, &o.alpha))
				goto done;
			if (o.alpha >= 0.5) {
				sb_cli_fail("paired: --alpha '%s': expected a level in (0, 0.5), e.g. 0.05", optarg);
				goto done;
			}
			break;
		case 'T': {
			char *end;
			o.threshold = strtod(optarg, &end);
			if (end == optarg || *end || !(o.threshold >= 0 && o.threshold < 10)) {
				sb_cli_fail("paired: --threshold '%s': expected a relative change like 0.10 (10%%)", optarg);
				goto done;
			}
			break;
		}
		case 'm':
			if (o.ngate >= 32) {
				sb_cli_fail("paired: at most 32 --metric patterns");
				goto done;
			}
			gates[o.ngate++] = optarg;
			break;
		case 'R': o.require_significance = true; break;
		case 'K':
			if (!parse_unsigned("--max-retries", optarg, &o.max_retries, 0))
				goto done;
			retries_set = true;
			break;
		case 'F': {
			char *end;
			fail_pct = strtod(optarg, &end);
			if (end == optarg || *end || !(fail_pct >= 0 && fail_pct < 1000)) {
				sb_cli_fail("paired: --fail-on-regression '%s': expected a percentage like 5", optarg);
				goto done;
			}
			break;
		}
		case 'W': fail_on_warn = true; break;
		case 'Z': allow_nonzero = true; break;
		case 'c':
			if (!parse_unsigned("--output-cap", optarg, &cap, 0))
				goto done;
			break;
		case 'j': json = true; break;
		case 'M': markdown = true; break;
		case 'o': out = optarg; break;
		case SB_CLI_OPT_STORE:
		case SB_CLI_OPT_NO_STORE: sb_cli_store_opt(c, optarg, &store); break;
		case 'h': paired_usage(); rc = 0; goto done;
		}
	}
	o.gate = gates;
	if (fail_pct >= 0) {
		o.ci_rule = true;
		o.threshold = fail_pct / 100;
	}
	if (retries_set && !o.require_significance) {
		sb_cli_fail("paired: --max-retries needs --require-significance");
		goto done;
	}
	if (json && markdown) {
		sb_cli_fail("paired: --json and --markdown are exclusive (use --out FILE for the JSON)");
		goto done;
	}
	bool cmd_mode = bcmd || ccmd;
	if (cmd_mode) {
		if (!bcmd || !ccmd) {
			sb_cli_fail("paired: give both --baseline-cmd and --current-cmd");
			goto done;
		}
		if (optind < argc || bdrv || cdrv || drv_both || common.n || bparams.n || cparams.n) {
			sb_cli_fail("paired: commands and a scenario are exclusive: drop %s",
				    optind < argc ? argv[optind] : "the driver/param options");
			goto done;
		}
		const char *texts[2] = {bcmd, ccmd};
		for (int k = 0; k < 2; k++) {
			if (sb_paired_cmd_parse(texts[k], &cmds[k], &err) < 0) {
				sb_cli_fail("paired: --%s-cmd: %s", k ? "current" : "baseline", err.msg);
				goto done;
			}
			cmds[k].timeout_s = timeout_s;
			cmds[k].output_cap = cap;
			cmds[k].allow_nonzero = allow_nonzero;
		}
	} else {
		if (argc - optind != 1) {
			sb_cli_fail(argc - optind == 0
					    ? "paired: give --baseline-cmd/--current-cmd, or a SCENARIO with --baseline-driver/--current-driver"
					    : "paired: one scenario at a time");
			goto done;
		}
		if (allow_nonzero) {
			sb_cli_fail("paired: --allow-nonzero applies to commands only");
			goto done;
		}
		const char *names[2] = {bdrv ? bdrv : drv_both, cdrv ? cdrv : drv_both};
		if (!names[0] || !names[1]) {
			sb_cli_fail("paired: give --baseline-driver and --current-driver (or --driver for both)");
			goto done;
		}
		const struct sb_scenario *scn = sb_cli_scenario(argv[optind]);
		if (!scn)
			goto done;
		for (int k = 0; k < 2; k++) {
			struct scn_side *s = &sides[k];
			s->scn = scn;
			if (!(s->drv = sb_cli_driver(names[k])))
				goto done;
			if (!side_params(s, &common, k ? &cparams : &bparams, k ? "current" : "baseline"))
				goto done;
			s->drv->probe(&s->params, &s->probe);
			if (!s->probe.usable) {
				sb_cli_fail("paired: driver %s is not usable here: %s", s->drv->name, s->probe.reason);
				goto done;
			}
			if (sb_cli_prepare_assets(s->drv, s->agent, sizeof(s->agent), s->rootfs, sizeof(s->rootfs)) != 0)
				goto done;
			s->timeout_s = timeout_s;
		}
	}

	sb_signals_install();
	session = sb_session_new();
	if (!session || (out && sb_session_add_sink(session, sb_sink_json_new(out, SB_JSON_FILE)) < 0)) {
		sb_cli_fail("paired: out of memory");
		goto done;
	}
	struct sb_sink *store_sink;
	if (sb_cli_store_sink("paired", &store, session, &store_sink) != 0)
		goto done;
	json_t *host = session->host;
	json_t *bdesc, *cdesc;
	if (cmd_mode) {
		bdesc = sb_paired_cmd_describe(&cmds[0]);
		cdesc = sb_paired_cmd_describe(&cmds[1]);
	} else {
		json_t *d[2];
		for (int k = 0; k < 2; k++) {
			json_t *params = json_object();
			for (size_t i = 0; i < sides[k].params.n; i++)
				json_object_set_new(params, sides[k].params.items[i].key,
						    json_string(sides[k].params.items[i].value));
			d[k] = json_pack("{s:s, s:s, s:s, s:o}", "scenario", sides[k].scn->name, "driver",
					 sides[k].drv->name, "driver_version", sides[k].probe.version, "params", params);
			/* Two builds of a runtime (bin=PATH): the probe saw that build, so its version
			 * is the one this side ran. */
			if (json_object_get(params, "bin"))
				json_object_set_new(d[k], "bin_version", json_string(sides[k].probe.version));
		}
		bdesc = d[0];
		cdesc = d[1];
	}
	doc = sb_paired_doc_new(cmd_mode ? "command" : "driver", bdesc, cdesc, host);
	/* Every measured iteration carries the paired document's run id. */
	snprintf(session->run_id, sizeof(session->run_id), "%s",
		 json_string_value(json_object_get(json_object_get(doc, "run"), "id")));
	snprintf(session->started_at, sizeof(session->started_at), "%s",
		 json_string_value(json_object_get(json_object_get(doc, "run"), "started_at")));
	for (int k = 0; k < 2; k++)
		sides[k].session = session;
	struct sb_paired_side ps[2];
	for (int k = 0; k < 2; k++) {
		ps[k].measure = cmd_mode ? sb_paired_cmd_measure : scn_measure;
		ps[k].ctx = cmd_mode ? (void *)&cmds[k] : (void *)&sides[k];
	}
	if (isatty(STDERR_FILENO) && !json)
		o.progress = progress;
	int xrc = sb_paired_execute(&ps[0], &ps[1], &o, doc, &err);
	if (o.progress)
		fprintf(stderr, "\r%60s\r", "");
	struct sb_error werr = {0};
	if (sb_session_paired(session, doc, &werr) < 0) {
		sb_cli_fail("paired: cannot write %s: %s", out, werr.msg);
		goto done;
	}
	int sig = sb_interrupted();
	if (xrc < 0 && xrc != -EINTR) {
		sb_cli_fail("paired: %s", err.msg);
		goto done;
	}
	if (sig || xrc == -EINTR) {
		sb_reap_descendants();
		rc = 128 + (sig ? sig : SIGINT);
		goto done;
	}
	if (json)
		sb_cli_print_json(doc);
	else if (markdown)
		sb_render_paired_markdown(stdout, doc);
	else
		sb_render_paired_table(stdout, doc);
	sb_cli_store_done("paired", store_sink, json || markdown);
	fflush(stdout);
	rc = sb_paired_exit_code(doc, fail_on_warn);
done:
	json_decref(doc);
	sb_session_free(session);
	for (int k = 0; k < 2; k++) {
		sb_paired_cmd_free(&cmds[k]);
		sb_params_free(&sides[k].params);
	}
	sb_params_free(&common);
	sb_params_free(&bparams);
	sb_params_free(&cparams);
	return rc;
}
