/* Fuzz target: `history import` of one file (src/store/import.c) into a fresh in-memory SQLite
 * store — a report, a matrix summary (whose entries name reports beside it: two valid ones wait
 * there), a paired document, or anything else, which must be skipped or refused — then what the
 * store gives back from it: the history series with change points, every stored result rebuilt as
 * a report, and the recent runs of the same configuration. A second import of the same file must
 * add nothing (the import is keyed). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"
#include "fuzz.h"
#include "store/query.h"
#include "store/store.h"

/* A small valid report, twice under other run ids: what a fuzzed matrix summary may list. */
static const char report_fmt[] =
	"{\"schema\":\"sandbench.report/v1\",\"tool\":{\"name\":\"sandbench\",\"version\":\"0.1.0\"},"
	"\"run\":{\"id\":\"%s\",\"started_at\":\"2026-01-0%dT00:00:00Z\",\"host\":{\"os\":\"x\",\"kernel\":\"k\","
	"\"arch\":\"x86_64\",\"cpu_model\":\"c\",\"cpu_count\":2,\"mem_total\":1}},"
	"\"scenario\":{\"name\":\"latency-spawn\",\"axis\":\"latency\",\"params\":{}},"
	"\"driver\":{\"name\":\"process\",\"version\":\"1\"},\"config\":{\"runs\":3,\"warmup\":0,\"timeout\":60},"
	"\"status\":\"ok\",\"samples\":["
	"{\"iteration\":0,\"warmup\":false,\"metrics\":{\"lifecycle_ms\":1.0},\"host_ref_ms\":1.0},"
	"{\"iteration\":1,\"warmup\":false,\"metrics\":{\"lifecycle_ms\":1.1},\"host_ref_ms\":1.1},"
	"{\"iteration\":2,\"warmup\":false,\"metrics\":{\"lifecycle_ms\":0.9},\"host_ref_ms\":0.9}],"
	"\"aggregates\":[{\"metric\":\"lifecycle_ms\",\"unit\":\"ms\",\"higher_is_better\":false,\"n\":3,\"p50\":1.0}],"
	"\"tags\":{}}";

static void setup(void)
{
	const char *dir = fuzz_tmpdir();
	char doc[2048];
	int n = snprintf(doc, sizeof(doc), report_fmt, "a1", 1);
	fuzz_write(dir, "a.json", doc, (size_t)n);
	n = snprintf(doc, sizeof(doc), report_fmt, "b2", 2);
	fuzz_write(dir, "b.json", doc, (size_t)n);
}

static void read_back(struct sb_store *s)
{
	struct sb_error err = {0};
	struct sb_history_query q = {.since = NAN, .changes = true, .cp = SB_CP_DEFAULTS};
	q.cp.permutations = 19; /* the same code paths, ten times cheaper */
	q.cp.min_size = 2;
	json_t *h = NULL;
	if (sb_store_history(s, &q, &h, &err) == 0)
		json_decref(h);
	for (long long id = 1; id <= 4; id++) {
		json_t *r = NULL;
		if (sb_store_rebuild_report(s, id, &r, &err) < 0)
			continue;
		json_t **recent = NULL;
		size_t n = 0;
		if (sb_store_recent_reports(s, r, 5, &recent, &n, &err) == 0) {
			for (size_t i = 0; i < n; i++)
				json_decref(recent[i]);
			free(recent);
		}
		json_decref(r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	const char *dir = fuzz_tmpdir();
	const char *path = fuzz_write(dir, "in.json", data, size);
	struct sb_store *s;
	struct sb_error err = {0};
	if (sb_store_open(":memory:", &s, &err) < 0) {
		fprintf(stderr, "fuzz: cannot open an in-memory store: %s\n", err.msg);
		abort();
	}
	struct sb_store_import_stats st = {0};
	if (sb_store_import(s, path, &st, &err) == 0) {
		struct sb_store_import_stats again = {0};
		if (sb_store_import(s, path, &again, &err) < 0 || again.results.added != 0)
			abort(); /* a second import changes nothing */
		read_back(s);
	} else if (!err.msg[0]) {
		abort(); /* a refusal says why */
	}
	sb_store_close(s);
	return 0;
}
