/* Fuzz target: a report as `show` and `compare` read it (src/core/report_read.c), then what they do
 * with one that passes the checks: the terminal table, and a comparison of the report with itself
 * rendered as a table and as Markdown. */
#include <jansson.h>

#include "compare/compare.h"
#include "compare/render.h"
#include "core/report.h"
#include "fuzz.h"
#include "report/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *r = NULL;
	struct sb_error err = {0};
	if (sb_report_load(fuzz_input_file(data, size), &r, &err) < 0)
		return 0;
	FILE *out = fuzz_devnull();
	sb_render_reports_table(out, &r, 1);
	json_t *reports[1] = {r};
	char *files[1] = {"fuzz.json"};
	struct sb_compare_input side = {.path = "fuzz.json", .kind = SB_INPUT_REPORT, .reports = reports,
					.files = files, .n = 1};
	struct sb_compare_opts o = {
		.defaults = {.statistic = SB_STAT_P50, .threshold = 0.10, .alpha = 0.05, .min_change = -1,
			     .drift = -1, .entry = -1},
	};
	json_t *res = NULL;
	if (sb_compare(&side, &side, &o, &res, &err) == 0) {
		sb_render_compare_table(out, res);
		sb_render_compare_markdown(out, res);
		(void)sb_compare_exit_code(res, true);
		json_decref(res);
	}
	json_decref(r);
	return 0;
}
