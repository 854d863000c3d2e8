/* Fuzz target: one side of `compare` as src/compare/inputs.c loads it — a report, a matrix summary
 * (whose entries name reports beside it), or another sandbench document (compare/paired/budgets)
 * that must be refused with a clear error — then compared against a fixed baseline and rendered.
 * The input is written as a file next to two valid reports so matrix entries can resolve. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "compare/compare.h"
#include "compare/render.h"
#include "core/report.h"
#include "fuzz.h"

/* A small valid report; the baseline, and a file a fuzzed matrix summary may list. */
static const char base_report[] =
	"{\"schema\":\"sandbench.report/v1\",\"tool\":{\"name\":\"sandbench\",\"version\":\"0.1.0\"},"
	"\"run\":{\"id\":\"b\",\"started_at\":\"2026-01-01T00:00:00Z\",\"host\":{\"os\":\"x\",\"kernel\":\"k\","
	"\"arch\":\"x86_64\",\"cpu_model\":\"c\",\"cpu_count\":2,\"mem_total\":1}},"
	"\"scenario\":{\"name\":\"latency-spawn\",\"axis\":\"latency\",\"params\":{}},"
	"\"driver\":{\"name\":\"process\",\"version\":\"1\"},\"config\":{\"runs\":5,\"warmup\":0,\"timeout\":60},"
	"\"status\":\"ok\",\"samples\":["
	"{\"iteration\":0,\"warmup\":false,\"metrics\":{\"lifecycle_ms\":1.0,\"exec_ms\":0.5},\"host_ref_ms\":1.0},"
	"{\"iteration\":1,\"warmup\":false,\"metrics\":{\"lifecycle_ms\":1.1,\"exec_ms\":0.6},\"host_ref_ms\":1.1},"
	"{\"iteration\":2,\"warmup\":false,\"metrics\":{\"lifecycle_ms\":0.9,\"exec_ms\":0.4},\"host_ref_ms\":0.9},"
	"{\"iteration\":3,\"warmup\":false,\"metrics\":{\"lifecycle_ms\":1.2,\"exec_ms\":0.5},\"host_ref_ms\":1.0},"
	"{\"iteration\":4,\"warmup\":false,\"metrics\":{\"lifecycle_ms\":1.0,\"exec_ms\":0.7},\"host_ref_ms\":1.0}],"
	"\"aggregates\":["
	"{\"metric\":\"lifecycle_ms\",\"unit\":\"ms\",\"higher_is_better\":false,\"n\":5,\"p50\":1.0},"
	"{\"metric\":\"exec_ms\",\"unit\":\"ms\",\"higher_is_better\":false,\"n\":5,\"p50\":0.5},"
	"{\"metric\":\"host_reference\",\"unit\":\"ms\",\"higher_is_better\":false,\"n\":5,\"p50\":1.0}],"
	"\"tags\":{}}";

static struct sb_compare_input base;

static void setup(void)
{
	const char *dir = fuzz_tmpdir();
	fuzz_write(dir, "a.json", base_report, strlen(base_report));
	fuzz_write(dir, "b.json", base_report, strlen(base_report));
	char path[512];
	snprintf(path, sizeof(path), "%s/a.json", dir);
	struct sb_error err = {0};
	if (sb_compare_input_load(path, "baseline", &base, &err) < 0) {
		fprintf(stderr, "fuzz: the built-in baseline does not load: %s\n", err.msg);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base.n)
		setup();
	const char *dir = fuzz_tmpdir();
	const char *path = fuzz_write(dir, "in.json", data, size);
	struct sb_compare_input cur;
	struct sb_error err = {0};
	if (sb_compare_input_load(path, "current", &cur, &err) == 0) {
		struct sb_compare_opts o = {
			.defaults = {.statistic = SB_STAT_P90, .threshold = 0.05, .alpha = 0.05, .min_change = -1,
				     .drift = -1, .entry = -1},
			.allow_mismatch = true,
		};
		json_t *res = NULL;
		if (sb_compare(&base, &cur, &o, &res, &err) == 0) {
			sb_render_compare_table(fuzz_devnull(), res);
			sb_render_compare_markdown(fuzz_devnull(), res);
			json_decref(res);
		}
	}
	sb_compare_input_free(&cur);
	return 0;
}
