/* The registries: scenario and driver names unique, every scenario with a valid axis, profiles,
 * declared metrics (units, meanings, no duplicates) and parameter definitions; every driver with a
 * probe and a summary. A new scenario or driver that forgets one of these fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scenarios/scenario.h"

static void test_scenarios(void **state)
{
	size_t n;
	const struct sb_scenario *const *all = sb_scenarios_all(&n);
	assert_true(n >= 8);
	for (size_t i = 0; i < n; i++) {
		const struct sb_scenario *s = all[i];
		print_message("%s\n", s->name);
		assert_non_null(s->name);
		assert_ptr_equal(sb_scenario_find(s->name), s);
		for (size_t k = i + 1; k < n; k++)
			assert_string_not_equal(s->name, all[k]->name);
		assert_non_null(sb_axis_find(s->axis));
		/* the axis is the name's first word, so `list` reads in axis order */
		assert_int_equal(strncmp(s->name, s->axis, strlen(s->axis)), 0);
		assert_non_null(s->description);
		assert_non_null(s->run_once);
		assert_true(s->profiles != 0 && (s->profiles & ~(SB_PROFILE_QUICK | SB_PROFILE_STANDARD | SB_PROFILE_FULL)) == 0);
		assert_true(s->default_runs >= 1);
		assert_non_null(s->metrics);
		assert_non_null(s->metrics[0].name);
		for (const struct sb_metric_def *m = s->metrics; m->name; m++) {
			assert_non_null(m->unit);
			assert_true(m->meaning && strlen(m->meaning) > 5);
			const char *star = strchr(m->name, '*');
			assert_true(!star || !strchr(star + 1, '*')); /* one wildcard at most */
			for (const struct sb_metric_def *o = m + 1; o->name; o++)
				assert_string_not_equal(m->name, o->name);
		}
		for (const struct sb_param_def *p = s->params; p && p->key; p++)
			assert_true(p->help && p->help[0]);
	}
}

static void test_names(void **state)
{
	for (unsigned i = 0; i < SB_PROFILE_COUNT; i++)
		assert_int_equal(sb_profile_parse(sb_profile_names[i]), 1u << i);
	assert_int_equal(sb_profile_parse("fast"), 0);
	assert_null(sb_axis_find("latencyy"));
	assert_null(sb_axis_names[SB_AXIS_COUNT]);
	assert_null(sb_profile_names[SB_PROFILE_COUNT]);
}

static void test_drivers(void **state)
{
	size_t n;
	const struct sb_driver *const *all = sb_drivers_all(&n);
	assert_true(n >= 12);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(all[i]->name);
		assert_non_null(all[i]->summary);
		assert_non_null(all[i]->probe);
		assert_ptr_equal(sb_driver_find(all[i]->name), all[i]);
		for (size_t k = i + 1; k < n; k++)
			assert_string_not_equal(all[i]->name, all[k]->name);
		/* a declared capability must have its op */
		const struct sb_driver *d = all[i];
		if (d->caps & SB_CAP_EXEC)
			assert_non_null(d->box_exec);
		if (d->caps & SB_CAP_AGENT)
			assert_non_null(d->box_agent_open);
		if (d->caps & SB_CAP_COPY)
			assert_true(d->box_copy_in && d->box_copy_out);
		if (d->caps & SB_CAP_CLONE)
			assert_non_null(d->box_clone);
		if (d->caps & SB_CAP_SNAPSHOT)
			assert_true(d->box_snapshot && d->box_restore);
		if (d->caps & SB_CAP_STATS)
			assert_non_null(d->box_stats);
		if (d->caps & SB_CAP_PIDS)
			assert_non_null(d->box_pids);
		if (d->caps & SB_CAP_NET)
			assert_non_null(d->box_addr);
		if (d->caps & SB_CAP_RESTART)
			assert_true(d->box_stop && d->box_start);
		assert_true(!d->open == !d->close || d->close);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_drivers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
