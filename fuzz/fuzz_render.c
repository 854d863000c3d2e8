/* Fuzz target: `sandbench report` (src/render/): one input document — a report, a matrix summary
 * (whose entries may name the two valid reports beside it, or missing ones that the summary's
 * cells stand in for), a compare result, a paired A/B or a history query — loaded and checked as
 * the command loads it, next to a valid report so pages have more than one row, then drawn as the
 * HTML page and as Markdown; and as `show` draws a lone matrix summary in the terminal. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "render/render.h"

static char base_path[512];

static void setup(void)
{
	const char *dir = fuzz_tmpdir();
	static const char *const name[2] = {"a.json", "b.json"};
	static const char *const driver[2] = {"native", "crun"};
	for (int i = 0; i < 2; i++) {
		char *r = fuzz_report_json("r1", "latency-spawn", driver[i], "ok");
		fuzz_write(dir, name[i], r, strlen(r));
		free(r);
	}
	snprintf(base_path, sizeof(base_path), "%s/a.json", dir);
}

static void render(const struct sb_rdoc *d)
{
	struct sb_render_opts o = {.title = "fuzz", .generated_at = "2026-01-01T00:00:00Z", .tool = "sandbench"};
	struct sb_error err = {0};
	for (int k = 0; k < 2; k++) {
		struct sb_buf b;
		sb_buf_init(&b);
		int rc = k == 0 ? sb_render_html(d, &o, &b, &err) : sb_render_markdown(d, &o, &b, &err);
		if (rc == 0 && b.len && memchr(b.data, 0, b.len))
			abort(); /* a page with a NUL in it: something was cut or overrun */
		sb_buf_free(&b);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base_path[0])
		setup();
	const char *dir = fuzz_tmpdir();
	const char *path = fuzz_write(dir, "in.json", data, size);
	struct sb_rdoc d;
	sb_rdoc_init(&d);
	struct sb_error err = {0};
	if (sb_rdoc_add_path(&d, base_path, &err) < 0)
		abort();
	if (sb_rdoc_add_path(&d, path, &err) == 0)
		render(&d);
	else if (!err.msg[0])
		abort();
	sb_rdoc_free(&d);
	json_t *m = json_loadb((const char *)data, size, 0, NULL);
	if (!strcmp(json_string_value(json_object_get(m, "schema")) ?: "", SB_RENDER_MATRIX_SCHEMA)) {
		struct sb_buf b;
		sb_buf_init(&b);
		sb_render_matrix_term(m, 100, &b);
		sb_buf_free(&b);
	}
	json_decref(m);
	return 0;
}
