/* Fuzz target: an SLO file (src/store/slo.c) as `slo check` loads it, then checked against a fixed
 * set of reports (two drivers of one scenario, another scenario, a second run of one of them, a
 * report that was skipped), the whole file and each SLO alone. A check that succeeds must hand
 * back a whole result with its summary line and a verdict per SLO; an SLO that names a metric an
 * ok report has must not come back as measuring nothing. */
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "compare/compare.h"
#include "fuzz.h"
#include "store/slo.h"

static json_t *reports[5];
static char *files[5] = {"a.json", "b.json", "c.json", "d.json", "e.json"};

static void setup(void)
{
	static const char *const spec[5][4] = {
		{"r1", "latency-spawn", "native", "ok"},  {"r1", "latency-spawn", "crun", "ok"},
		{"r1", "latency-exec", "native", "ok"},   {"r2", "latency-spawn", "native", "ok"},
		{"r1", "latency-exec", "crun", "skip"},
	};
	for (size_t i = 0; i < 5; i++) {
		char *text = fuzz_report_json(spec[i][0], spec[i][1], spec[i][2], spec[i][3]);
		reports[i] = json_loads(text, 0, NULL);
		free(text);
		if (!reports[i])
			abort();
		if (!strcmp(spec[i][3], "skip"))
			json_object_set_new(reports[i], "reason", json_string("unsupported by crun: exec"));
	}
}

/* Does an ok report of the fixture have an aggregate this SLO names? */
static bool measurable(const struct sb_slo *slo)
{
	for (size_t i = 0; i < 5; i++) {
		const json_t *r = reports[i];
		const char *scn = json_string_value(json_object_get(json_object_get(r, "scenario"), "name"));
		const char *drv = json_string_value(json_object_get(json_object_get(r, "driver"), "name"));
		if (strcmp(json_string_value(json_object_get(r, "status")), "ok") || fnmatch(slo->scenario, scn, 0) ||
		    fnmatch(slo->driver, drv, 0))
			continue;
		size_t k;
		json_t *a;
		json_array_foreach(json_object_get(r, "aggregates"), k, a)
			if (!fnmatch(slo->metric, json_string_value(json_object_get(a, "metric")), 0))
				return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!reports[0])
		setup();
	struct sb_slo_file *f = NULL;
	struct sb_error err = {0};
	if (sb_slo_load(fuzz_input_file(data, size), &f, &err) < 0) {
		if (!err.msg[0] || f)
			abort();
		return 0;
	}
	struct sb_compare_input in = {.path = "reports", .kind = SB_INPUT_DIR, .reports = reports, .files = files, .n = 5};
	for (int warn = 0; warn < 2; warn++) {
		json_t *res = NULL;
		if (sb_slo_check(f, &in, warn, &res, &err) < 0)
			continue;
		const char *summary = json_string_value(json_object_get(res, "summary"));
		json_t *results = json_object_get(res, "results");
		if (!summary || json_array_size(results) < f->n)
			abort(); /* a check that passes must say what it found, one result per SLO at least */
		json_decref(res);
	}
	for (size_t k = 0; k < f->n; k++) {
		struct sb_slo_file one = {.path = f->path, .slos = &f->slos[k], .n = 1};
		json_t *res = NULL;
		int rc = sb_slo_check(&one, &in, false, &res, &err);
		if (rc == -ENOENT && measurable(&f->slos[k]))
			abort(); /* the SLO was dropped on the way */
		json_decref(res);
	}
	sb_slo_free(f);
	return 0;
}
