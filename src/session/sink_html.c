/* The HTML sink: the invocation's reports and paired documents, gathered as they finish and drawn
 * into one self-contained page at the end (src/render/, docs/report-html.md). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/util.h"
#include "render/render.h"
#include "session/session.h"
#include "version.h"

struct html_sink {
	struct sb_sink base;
	struct sb_rdoc doc;
	char path[4096];
	char title[256];
	bool have_title;
};

static int html_add(struct sb_sink *sink, const json_t *doc, const char *what, struct sb_error *err)
{
	struct html_sink *h = (struct html_sink *)sink;
	return sb_rdoc_add_json(&h->doc, (json_t *)doc, what, err);
}

static int html_on_report(struct sb_sink *sink, const json_t *report, char *where, size_t where_len,
			  struct sb_error *err)
{
	return html_add(sink, report, "this run", err);
}

static int html_on_paired(struct sb_sink *sink, const json_t *paired, struct sb_error *err)
{
	return html_add(sink, paired, "this paired run", err);
}

static int html_finish(struct sb_sink *sink, struct sb_error *err)
{
	struct html_sink *h = (struct html_sink *)sink;
	if (!json_array_size(h->doc.reports) && !json_array_size(h->doc.paireds))
		return sb_error_set(err, ENODATA, "--html %s: nothing finished to draw", h->path);
	char now[40], tool[128];
	sb_wallclock_rfc3339(now, sizeof(now));
	snprintf(tool, sizeof(tool), "sandbench %s (git %s)", SB_VERSION, SB_GIT_VERSION);
	struct sb_render_opts o = {.title = h->have_title ? h->title : NULL, .generated_at = now, .tool = tool};
	struct sb_buf b;
	sb_buf_init(&b);
	int rc = sb_render_html(&h->doc, &o, &b, err);
	if (rc == 0) {
		/* The rename is the page's birth: no signal may leave a temp file instead. */
		sigset_t block, old;
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		sigprocmask(SIG_BLOCK, &block, &old);
		rc = sb_write_file_atomic(h->path, b.data ? b.data : "", b.len, err);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	sb_buf_free(&b);
	return rc;
}

static void html_close(struct sb_sink *sink)
{
	struct html_sink *h = (struct html_sink *)sink;
	sb_rdoc_free(&h->doc);
	free(h);
}

struct sb_sink *sb_sink_html_new(const char *path, const char *title)
{
	struct html_sink *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->base = (struct sb_sink){.name = "html", .on_report = html_on_report, .on_paired = html_on_paired,
				   .finish = html_finish, .close = html_close};
	sb_rdoc_init(&h->doc);
	snprintf(h->path, sizeof(h->path), "%s", path);
	if (title) {
		snprintf(h->title, sizeof(h->title), "%s", title);
		h->have_title = true;
	}
	return &h->base;
}
