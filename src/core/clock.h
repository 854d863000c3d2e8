/* Monotonic time and deadlines. A deadline is an absolute CLOCK_MONOTONIC time in ns;
 * 0 means "no deadline". */
#pragma once
#include <stdint.h>

int64_t sb_now_ns(void);
/* Deadline `seconds` from now; seconds <= 0 gives 0 (none). */
int64_t sb_deadline_after(double seconds);
/* Milliseconds left until deadline (>= 0), or -1 when there is no deadline. */
int sb_deadline_left_ms(int64_t deadline_ns);
int sb_deadline_passed(int64_t deadline_ns);
/* Earlier of two deadlines, treating 0 as "none". */
int64_t sb_deadline_min(int64_t a, int64_t b);
/* RFC 3339 UTC time with milliseconds of the current wall clock into buf (>= 32 bytes). */
void sb_wallclock_rfc3339(char *buf, unsigned len);
static inline double sb_ns_to_ms(int64_t ns) { return (double)ns / 1e6; }
