/* `sandbench report`: one self-contained HTML page (and/or Markdown) from reports, matrix
 * summaries, compare results, paired A/B documents and history queries (docs/report-html.md). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/util.h"
#include "render/render.h"
#include "version.h"

static void report_usage(void)
{
	printf("usage: sandbench report [--html OUT.html] [--markdown OUT.md|-] [--title TEXT] INPUT...\n\n"
	       "Draws one self-contained page (inline SVG charts, sortable tables, no network) from INPUTs:\n"
	       "reports (sandbench.report/v1), matrix summaries or their directories (sandbench.matrix/v1),\n"
	       "compare results (sandbench.compare/v1), paired A/B documents (sandbench.paired/v1) and history\n"
	       "queries (sandbench.history/v1). --markdown writes the same content as Markdown for a PR\n"
	       "comment ('-': stdout). Files are written atomically.\n");
}

/* Write with SIGINT/SIGTERM held off, so an interrupt lands after the rename: the file is either
 * the old one or the complete new one, and no temp file is left behind. */
static int write_out(const char *path, const struct sb_buf *b, struct sb_error *err)
{
	if (!strcmp(path, "-"))
		return fwrite(b->data, 1, b->len, stdout) == b->len ? 0 : sb_error_set(err, EIO, "stdout: write failed");
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	int rc = sb_write_file_atomic(path, b->data ? b->data : "", b->len, err);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int sb_cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"html", required_argument, NULL, 'H'}, {"markdown", required_argument, NULL, 'M'},
		{"title", required_argument, NULL, 'T'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	const char *html = NULL, *md = NULL, *title = NULL;
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "report", opts)) != -1) {
		switch (c) {
		case -2: return 1;
		case 'H': html = optarg; break;
		case 'M': md = optarg; break;
		case 'T': title = optarg; break;
		case 'h': report_usage(); return 0;
		}
	}
	if (!html && !md)
		return sb_cli_fail("report: say where to write: --html OUT.html and/or --markdown OUT.md");
	if (optind >= argc)
		return sb_cli_fail("report: no input given (reports, matrix.json or its directory, compare/paired/history JSON)");
	if (html && !strcmp(html, "-"))
		return sb_cli_fail("report: --html needs a file name (the page is written atomically)");
	struct sb_rdoc doc;
	sb_rdoc_init(&doc);
	struct sb_error err = {0};
	int rc = 0;
	for (int i = optind; i < argc && !rc; i++)
		if (sb_rdoc_add_path(&doc, argv[i], &err) < 0)
			rc = sb_cli_fail("report: %s", err.msg);
	if (!rc && !json_array_size(doc.reports) && !json_array_size(doc.compares) && !json_array_size(doc.paireds) &&
	    !json_array_size(doc.histories))
		rc = sb_cli_fail("report: the inputs hold nothing to show");
	char now[40], tool[128];
	sb_wallclock_rfc3339(now, sizeof(now));
	snprintf(tool, sizeof(tool), "sandbench %s (git %s)", SB_VERSION, SB_GIT_VERSION);
	struct sb_render_opts o = {.title = title, .generated_at = now, .tool = tool};
	const char *paths[2] = {html, md};
	for (int k = 0; k < 2 && !rc; k++) {
		if (!paths[k])
			continue;
		struct sb_buf b;
		sb_buf_init(&b);
		int r = k == 0 ? sb_render_html(&doc, &o, &b, &err) : sb_render_markdown(&doc, &o, &b, &err);
		if (r < 0 || write_out(paths[k], &b, &err) < 0)
			rc = sb_cli_fail("report: %s", err.msg);
		sb_buf_free(&b);
	}
	sb_rdoc_free(&doc);
	return rc;
}
