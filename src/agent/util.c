/* Shared helpers of the agent executable: argument parsing, JSON strings, timing. */
#include "agent/agent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Noreturn void agent_usage(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s: %s\n", AGENT_NAME, cmd, msg);
	exit(2);
}

_Noreturn void agent_fail(const char *cmd, int errnum, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (errnum)
		fprintf(stderr, "%s: %s: %s: %s\n", AGENT_NAME, cmd, msg, strerror(errnum));
	else
		fprintf(stderr, "%s: %s: %s\n", AGENT_NAME, cmd, msg);
	exit(1);
}

int agent_getopt(const char *cmd, int argc, char **argv, const struct agent_opt *opts,
                 const char **pos, int maxpos)
{
	int npos = 0;
	bool only_pos = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (npos >= maxpos)
				agent_usage(cmd, "unexpected argument '%s'", a);
			pos[npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		const char *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		const struct agent_opt *o = opts;
		while (o->name && !(strlen(o->name) == nlen && strncmp(o->name, a, nlen) == 0))
			o++;
		if (!o->name)
			agent_usage(cmd, "unknown option '%.*s'", (int)nlen, a);
		if (o->has_arg) {
			if (eq) {
				*o->val = eq + 1;
			} else {
				if (i + 1 >= argc)
					agent_usage(cmd, "option %s needs a value", o->name);
				*o->val = argv[++i];
			}
		} else {
			if (eq)
				agent_usage(cmd, "option %s takes no value", o->name);
			*o->flag = true;
		}
	}
	return npos;
}

int agent_parse_size(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift && (*end == 'i' || *end == 'I') && (end[1] == 'b' || end[1] == 'B'))
		end += 2;
	else if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

uint64_t agent_size_arg(const char *cmd, const char *what, const char *val, uint64_t min)
{
	uint64_t v;
	if (!val)
		agent_usage(cmd, "%s is required", what);
	if (agent_parse_size(val, &v) < 0)
		agent_usage(cmd, "%s: bad size '%s' (use a number with optional K/M/G suffix)",
		            what, val);
	if (v < min)
		agent_usage(cmd, "%s: '%s' is below the minimum of %" PRIu64 " bytes", what, val, min);
	return v;
}

uint64_t agent_uint_arg(const char *cmd, const char *what, const char *val, uint64_t min,
                        uint64_t max)
{
	if (!val)
		agent_usage(cmd, "%s is required", what);
	errno = 0;
	char *end;
	unsigned long long v = strtoull(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-' || v < min || v > max)
		agent_usage(cmd, "%s: bad value '%s' (want an integer %" PRIu64 "..%" PRIu64 ")",
		            what, val, min, max);
	return v;
}

double agent_seconds_arg(const char *cmd, const char *what, const char *val)
{
	if (!val)
		agent_usage(cmd, "%s is required", what);
	errno = 0;
	char *end;
	double v = strtod(val, &end);
	/* The negated comparison also rejects NaN. */
	if (errno || end == val || *end || !(v > 0) || v > 1e7)
		agent_usage(cmd, "%s: bad duration '%s' (want seconds > 0)", what, val);
	return v;
}

int64_t agent_now(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

double agent_secs(int64_t a, int64_t b)
{
	int64_t d = b - a;
	return d > 0 ? (double)d / 1e9 : 1e-9;
}

void agent_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

void agent_sort_i64(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
}

int64_t agent_percentile(const int64_t *sorted, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

uint64_t agent_rand_next(uint64_t *state)
{
	/* splitmix64: tiny, good enough for picking offsets and filling buffers. */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void agent_fill_pattern(void *buf, size_t n, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t st = seed;
	while (n >= 8) {
		uint64_t v = agent_rand_next(&st);
		memcpy(p, &v, 8);
		p += 8;
		n -= 8;
	}
	while (n--)
		*p++ = (uint8_t)agent_rand_next(&st);
}

int agent_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
