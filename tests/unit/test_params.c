/* Unit tests: --param parsing, sizes, lists, closest-name hints. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/params.h"

static void test_sizes(void **state)
{
	uint64_t v;
	assert_int_equal(sb_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(sb_parse_size("64K", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(sb_parse_size("16M", &v), 0);
	assert_int_equal(v, 16u << 20);
	assert_int_equal(sb_parse_size("1G", &v), 0);
	assert_int_equal(v, 1u << 30);
	assert_int_equal(sb_parse_size("2MiB", &v), 0);
	assert_int_equal(v, 2u << 20);
	assert_int_equal(sb_parse_size("-1", &v), -EINVAL);
	assert_int_equal(sb_parse_size("12Q", &v), -EINVAL);
	assert_int_equal(sb_parse_size("", &v), -EINVAL);
	assert_int_equal(sb_parse_size("99999999999999G", &v), -ERANGE);
}

static void test_uint_list(void **state)
{
	unsigned out[8];
	size_t n;
	assert_int_equal(sb_parse_uint_list("1,2,4,8", out, 8, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(out[3], 8);
	assert_int_equal(sb_parse_uint_list("1,,2", out, 8, &n), -EINVAL);
	assert_int_equal(sb_parse_uint_list("0", out, 8, &n), -EINVAL);
	assert_int_equal(sb_parse_uint_list("1,2,3", out, 2, &n), -E2BIG);
}

static void test_kv_and_check(void **state)
{
	struct sb_params p = {0};
	struct sb_error err = {0};
	assert_int_equal(sb_params_add_kv(&p, "size=16M", &err), 0);
	assert_int_equal(sb_params_add_kv(&p, "size=32M", &err), 0); /* later wins */
	assert_int_equal(p.n, 1);
	assert_string_equal(sb_params_get(&p, "size"), "32M");
	assert_true(sb_params_add_kv(&p, "novalue", &err) < 0);
	assert_non_null(strstr(err.msg, "key=value"));
	assert_true(sb_params_add_kv(&p, "=x", &err) < 0);

	static const struct sb_param_def defs[] = {{"size", "64M", "bytes", "size"}, {"levels", "1,2,4,8", "c", "list"}, {0}};
	const struct sb_param_def *lists[] = {defs};
	assert_int_equal(sb_params_check(&p, lists, 1, &err), 0);
	assert_int_equal(sb_params_add_kv(&p, "sise=1", &err), 0);
	assert_true(sb_params_check(&p, lists, 1, &err) < 0);
	assert_non_null(strstr(err.msg, "unknown parameter 'sise'"));
	assert_non_null(strstr(err.msg, "did you mean 'size'"));
	assert_string_equal(sb_params_get_def(NULL, defs, "levels"), "1,2,4,8");

	uint64_t v;
	assert_int_equal(sb_params_get_size(&p, "size", 0, &v, &err), 0);
	assert_int_equal(v, 32u << 20);
	sb_params_set(&p, "size", "lots");
	assert_true(sb_params_get_size(&p, "size", 0, &v, &err) < 0);
	assert_non_null(strstr(err.msg, "size=lots"));
	sb_params_free(&p);
}

/* A declared parameter's value is checked against its form by sb_params_check itself. */
static void test_value_forms(void **state)
{
	(void)state;
	static const struct sb_param_def defs[] = {
		{"size", "64M", "", "size"}, {"levels", "1,2", "", "list"}, {"n", "1", "", "uint"},
		{"work", "0", "", "number"}, {"net", "none", "", "none|veth"}, {"dir", "/tmp", "", NULL}, {0}};
	const struct sb_param_def *lists[] = {defs};
	static const struct {
		const char *kv;
		bool ok;
		const char *why;
	} cases[] = {
		{"size=16K", true, NULL}, {"size=lots", false, "expected a size"}, {"levels=1,2,4", true, NULL},
		{"levels=0", false, "positive integers"}, {"levels=1,,2", false, "positive integers"},
		{"n=3", true, NULL}, {"n=-3", false, "non-negative integer"}, {"work=0.5", true, NULL},
		{"work=nan", false, "expected a number"}, {"net=veth", true, NULL}, {"net=none", true, NULL},
		{"net=non", false, "expected one of none|veth"}, {"net=", false, "expected one of"},
		{"net=none|veth", false, "expected one of"}, {"dir=anything at all", true, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sb_params p = {0};
		struct sb_error err = {0};
		assert_int_equal(sb_params_add_kv(&p, cases[i].kv, &err), 0);
		int rc = sb_params_check(&p, lists, 1, &err);
		if (cases[i].ok) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_non_null(strstr(err.msg, cases[i].why));
		}
		sb_params_free(&p);
	}
	assert_ptr_equal(sb_param_find(lists, 1, "net"), &defs[4]);
	assert_null(sb_param_find(lists, 1, "nett"));
}

static void test_closest(void **state)
{
	const char *names[] = {"latency-spawn", "latency-exec-output", "throughput-stdout"};
	assert_string_equal(sb_closest_name("latency-spwan", names, 3), "latency-spawn");
	assert_string_equal(sb_closest_name("throughput-stdot", names, 3), "throughput-stdout");
	assert_null(sb_closest_name("zzzzzzzzzzzz", names, 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_uint_list),
		cmocka_unit_test(test_kv_and_check), cmocka_unit_test(test_value_forms),
		cmocka_unit_test(test_closest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
