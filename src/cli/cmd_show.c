/* `sandbench show`: reports back as a table (or their aggregates as JSON). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/report.h"
#include "render/render.h"
#include "report/table.h"

int sb_cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	bool json = false;
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "show", opts)) != -1) {
		if (c == -2)
			return 1;
		if (c == 'j')
			json = true;
		else if (c == 'h') {
			printf("usage: sandbench show REPORT... [--json]\n"
			       "       sandbench show DIR/matrix.json\n"
			       "Prints reports as a table; --json prints each one's scenario, driver, status\n"
			       "and aggregates. A matrix summary prints as `sandbench matrix` does: a block per\n"
			       "scenario, drivers as rows.\n");
			return 0;
		}
	}
	if (optind >= argc)
		return sb_cli_fail("show: no report given");
	/* A matrix summary alone: its side-by-side blocks. */
	if (!json && argc - optind == 1) {
		json_t *m = json_load_file(argv[optind], 0, NULL);
		const char *schema = json_string_value(json_object_get(m, "schema"));
		if (schema && !strcmp(schema, SB_RENDER_MATRIX_SCHEMA)) {
			struct sb_buf b;
			sb_buf_init(&b);
			sb_render_matrix_term(m, sb_cli_term_width(), &b);
			fwrite(b.data ? b.data : "", 1, b.len, stdout);
			sb_buf_free(&b);
			json_decref(m);
			return 0;
		}
		json_decref(m);
	}
	size_t n = (size_t)(argc - optind);
	json_t **reports = calloc(n, sizeof(*reports));
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		struct sb_error err = {0};
		if (sb_report_load(argv[optind + (int)i], &reports[i], &err) < 0)
			rc = sb_cli_fail("show: %s", err.msg);
	}
	if (!rc && json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:O, s:O, s:O, s:O?, s:O}", "scenario",
							     json_object_get(json_object_get(reports[i], "scenario"), "name"),
							     "driver", json_object_get(json_object_get(reports[i], "driver"), "name"),
							     "status", json_object_get(reports[i], "status"),
							     "reason", json_object_get(reports[i], "reason"),
							     "aggregates", json_object_get(reports[i], "aggregates")));
		sb_cli_print_json(arr);
		json_decref(arr);
	} else if (!rc) {
		sb_render_reports_table(stdout, reports, n);
	}
	for (size_t i = 0; i < n; i++)
		json_decref(reports[i]);
	free(reports);
	return rc;
}
