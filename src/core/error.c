#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sb_error_set(struct sb_error *err, int code, const char *fmt, ...)
{
	if (code <= 0)
		code = EIO;
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return -code;
}

int sb_error_prefix(struct sb_error *err, const char *fmt, ...)
{
	if (!err)
		return -EIO;
	char prefix[256], old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	if (err->code <= 0)
		err->code = EIO;
	return -err->code;
}

void sb_error_clear(struct sb_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
