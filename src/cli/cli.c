#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/util.h"

int sb_cli_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("sandbench: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int getopt_common(int argc, char **argv, const char *verb, const struct option *opts,
			 bool stop_at_operand)
{
	char shortopts[64];
	snprintf(shortopts, sizeof(shortopts), "%s", stop_at_operand ? "+:" : ":");
	for (const struct option *o = opts; o->name; o++) {
		if (o->val > 0 && o->val < 128 && !o->flag) {
			size_t l = strlen(shortopts);
			shortopts[l] = (char)o->val;
			shortopts[l + 1] = '\0';
			if (o->has_arg == required_argument)
				strcat(shortopts, ":");
		}
	}
	opterr = 0;
	int c = getopt_long(argc, argv, shortopts, opts, NULL);
	if (c == '?' || c == ':') {
		const char *bad = argv[optind - 1];
		if (c == ':')
			return sb_cli_fail("%s: option '%s' needs a value", verb, bad), -2;
		const char *names[64];
		size_t n = 0;
		char buf[64][40];
		for (const struct option *o = opts; o->name && n < 64; o++, n++) {
			snprintf(buf[n], sizeof(buf[n]), "--%s", o->name);
			names[n] = buf[n];
		}
		char flag[64];
		snprintf(flag, sizeof(flag), "%.*s", (int)strcspn(bad, "="), bad);
		if (flag[0] == '-' && flag[1] != '-' && optopt)
			snprintf(flag, sizeof(flag), "-%c", optopt);
		const char *close = sb_closest_name(flag, names, n);
		if (close)
			sb_cli_fail("%s: unknown option '%s' (did you mean '%s'?)", verb, flag, close);
		else
			sb_cli_fail("%s: unknown option '%s' (see sandbench %s --help)", verb, flag, verb);
		return -2;
	}
	return c;
}

int sb_cli_getopt(int argc, char **argv, const char *verb, const struct option *opts)
{
	return getopt_common(argc, argv, verb, opts, false);
}

int sb_cli_getopt_cmd(int argc, char **argv, const char *verb, const struct option *opts)
{
	return getopt_common(argc, argv, verb, opts, true);
}

const struct sb_driver *sb_cli_driver(const char *name)
{
	const struct sb_driver *d = sb_driver_find(name);
	if (d)
		return d;
	size_t n;
	const struct sb_driver *const *all = sb_drivers_all(&n);
	const char *names[32];
	for (size_t i = 0; i < n && i < 32; i++)
		names[i] = all[i]->name;
	const char *close = sb_closest_name(name, names, n);
	if (close)
		sb_cli_fail("unknown driver '%s' (did you mean '%s'?)", name, close);
	else
		sb_cli_fail("unknown driver '%s' (see sandbench drivers)", name);
	return NULL;
}

const struct sb_scenario *sb_cli_scenario(const char *name)
{
	const struct sb_scenario *s = sb_scenario_find(name);
	if (s)
		return s;
	size_t n;
	const struct sb_scenario *const *all = sb_scenarios_all(&n);
	const char *names[256];
	for (size_t i = 0; i < n && i < 256; i++)
		names[i] = all[i]->name;
	const char *close = sb_closest_name(name, names, n);
	if (close)
		sb_cli_fail("unknown scenario '%s' (did you mean '%s'?)", name, close);
	else
		sb_cli_fail("unknown scenario '%s' (see sandbench list)", name);
	return NULL;
}

bool sb_cli_uint(const char *opt, const char *value, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' || x > 10000000) {
		sb_cli_fail("%s: '%s' is not a non-negative integer", opt, value);
		return false;
	}
	*out = (unsigned)x;
	return true;
}

bool sb_cli_double(const char *opt, const char *value, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(value, &end);
	if (errno || end == value || *end || !isfinite(x) || x <= 0) {
		sb_cli_fail("%s: '%s' is not a positive number", opt, value);
		return false;
	}
	*out = x;
	return true;
}

int sb_cli_iter_opt(const char *verb, int c, const char *arg, struct sb_cli_iter_opts *o)
{
	unsigned u;
	struct sb_error err = {0};
	switch (c) {
	case 'n':
		if (!sb_cli_uint("--runs", arg, &u))
			return -1;
		if (u == 0)
			return sb_cli_fail("%s: --runs must be at least 1", verb), -1;
		o->runs = (int)u;
		return 1;
	case 'w':
		if (!sb_cli_uint("--warmup", arg, &u))
			return -1;
		o->warmup = (int)u;
		return 1;
	case 't':
		return sb_cli_double("--timeout", arg, &o->timeout_s) ? 1 : -1;
	case 'p':
		if (sb_params_add_kv(&o->params, arg, &err) < 0)
			return sb_cli_fail("%s: %s", verb, err.msg), -1;
		return 1;
	case 'R':
		o->no_host_ref = true;
		return 1;
	case 'U':
		if (!sb_cli_double("--setup-timeout", arg, &o->setup_timeout_s))
			return -1;
		if (!(o->setup_timeout_s > 0))
			return sb_cli_fail("%s: --setup-timeout must be more than 0 seconds", verb), -1;
		return 1;
	case 'K':
		o->keep_series = true;
		return 1;
	default:
		return 0;
	}
}

int sb_cli_next_opt(int argc, char **argv, const char *verb, const struct option *opts,
		    struct sb_cli_iter_opts *it)
{
	int c;
	while ((c = sb_cli_getopt(argc, argv, verb, opts)) != -1) {
		int handled = c == -2 ? -1 : sb_cli_iter_opt(verb, c, optarg, it);
		if (handled < 0)
			return -2;
		if (!handled)
			return c;
	}
	return -1;
}

/* Whether s or d declares the one parameter in `one` (its value is not looked at). */
static bool param_declared(const struct sb_params *one, const struct sb_scenario *s, const struct sb_driver *d,
			   struct sb_error *err)
{
	const struct sb_param_def *lists[] = {s ? s->params : NULL, d ? d->params : NULL};
	if (sb_param_find(lists, 2, one->items[0].key))
		return true;
	sb_params_check(one, lists, 2, err); /* the unknown-key message, with the closest name */
	return false;
}

int sb_cli_check_params(const char *verb, const struct sb_params *params,
			const struct sb_scenario *const *scn, size_t nscn,
			const struct sb_driver *const *drv, size_t ndrv)
{
	for (size_t i = 0; i < params->n; i++) {
		struct sb_params one = {.items = &params->items[i], .n = 1};
		struct sb_error err = {0};
		bool known = false;
		for (size_t s = 0; s < nscn && !known; s++)
			for (size_t d = 0; d < ndrv && !known; d++)
				known = param_declared(&one, scn[s], drv[d], &err);
		if (!known)
			return sb_cli_fail("%s: %s", verb, err.msg), -1;
		/* Every scenario and driver that takes it must accept the value: a bad one is caught
		 * here, before anything starts or any report is written. */
		for (size_t s = 0; s < nscn; s++)
			for (size_t d = 0; d < ndrv; d++) {
				const struct sb_param_def *lists[] = {scn[s]->params, drv[d]->params};
				const struct sb_param_def *def = sb_param_find(lists, 2, one.items[0].key);
				if (def && sb_param_check_value(def, one.items[0].value, &err) < 0)
					return sb_cli_fail("%s: %s", verb, err.msg), -1;
			}
	}
	for (size_t d = 0; d < ndrv; d++) {
		struct sb_error err = {0};
		if (sb_drv_check_params(drv[d], params, &err) < 0)
			return sb_cli_fail("%s: %s", verb, err.msg), -1;
	}
	return 0;
}

void sb_cli_params_for(const struct sb_params *params, const struct sb_scenario *s,
		       const struct sb_driver *d, struct sb_params *mine)
{
	memset(mine, 0, sizeof(*mine));
	for (size_t k = 0; k < params->n; k++) {
		struct sb_params one = {.items = &params->items[k], .n = 1};
		if (param_declared(&one, s, d, NULL))
			sb_params_set(mine, params->items[k].key, params->items[k].value);
	}
}

size_t sb_cli_term_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col < 60 ? 60 : ws.ws_col;
	const char *c = getenv("COLUMNS");
	long n = c ? strtol(c, NULL, 10) : 0;
	return n >= 60 && n <= 1000 ? (size_t)n : 120;
}

void sb_cli_print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
}
