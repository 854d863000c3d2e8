#include "core/clock.h"

#include <stdio.h>
#include <time.h>

int64_t sb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t sb_deadline_after(double seconds)
{
	if (seconds <= 0)
		return 0;
	return sb_now_ns() + (int64_t)(seconds * 1e9);
}

int sb_deadline_left_ms(int64_t deadline_ns)
{
	if (deadline_ns == 0)
		return -1;
	int64_t left = deadline_ns - sb_now_ns();
	if (left <= 0)
		return 0;
	int64_t ms = (left + 999999) / 1000000;
	return ms > 1000000000 ? 1000000000 : (int)ms;
}

int sb_deadline_passed(int64_t deadline_ns)
{
	return deadline_ns != 0 && sb_now_ns() >= deadline_ns;
}

int64_t sb_deadline_min(int64_t a, int64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

void sb_wallclock_rfc3339(char *buf, unsigned len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}
