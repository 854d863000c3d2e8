/* Fuzz target: a budgets file (src/compare/budgets.c), then the rules it resolves to for a few
 * metric/scenario/driver names, as compare and paired use them. */
#include <stdlib.h>

#include "compare/budgets.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_budgets *b = NULL;
	struct sb_error err = {0};
	if (sb_budgets_load(fuzz_input_file(data, size), &b, &err) < 0)
		return 0;
	static const char *const metrics[] = {"lifecycle_ms", "exec_ms", "throughput_mib_s", "", "host_reference"};
	static const char *const scenarios[] = {"latency-spawn", "throughput-disk", NULL};
	static const char *const drivers[] = {"native", "crun", NULL};
	const struct sb_budget_rule base = {.statistic = SB_STAT_P50, .threshold = 0.10, .alpha = 0.05,
					    .min_change = -1, .drift = -1, .entry = -1};
	for (unsigned cli = 0; cli < 16; cli += 5)
		for (size_t m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++)
			for (size_t s = 0; s < 3; s++)
				for (size_t d = 0; d < 3; d++) {
					struct sb_budget_rule r;
					sb_budgets_resolve(b, &base, cli, scenarios[s], drivers[d], metrics[m], &r);
					if (r.entry >= (int)b->n || (r.statistic > SB_STAT_MEAN))
						abort();
				}
	sb_budgets_free(b);
	return 0;
}
