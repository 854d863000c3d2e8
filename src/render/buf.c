#include "render/buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sb_buf_init(struct sb_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void sb_buf_free(struct sb_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

bool sb_buf_ok(const struct sb_buf *b)
{
	return !b->oom;
}

static bool reserve(struct sb_buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void sb_buf_putn(struct sb_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void sb_buf_put(struct sb_buf *b, const char *s)
{
	sb_buf_putn(b, s, strlen(s));
}

void sb_buf_putc(struct sb_buf *b, char c)
{
	sb_buf_putn(b, &c, 1);
}

void sb_buf_vprintf(struct sb_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	if (n > 0 && reserve(b, (size_t)n)) {
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
		b->len += (size_t)n;
	}
	va_end(again);
}

void sb_buf_printf(struct sb_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void sb_buf_put_html(struct sb_buf *b, const char *s)
{
	if (!s)
		return;
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '&': sb_buf_put(b, "&amp;"); break;
		case '<': sb_buf_put(b, "&lt;"); break;
		case '>': sb_buf_put(b, "&gt;"); break;
		case '"': sb_buf_put(b, "&quot;"); break;
		case '\'': sb_buf_put(b, "&#39;"); break;
		default: sb_buf_putc(b, *p);
		}
	}
}

void sb_buf_put_md(struct sb_buf *b, const char *s)
{
	if (!s)
		return;
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '|': sb_buf_put(b, "\\|"); break;
		case '\n': case '\r': sb_buf_putc(b, ' '); break;
		case '<': sb_buf_put(b, "&lt;"); break;
		case '>': sb_buf_put(b, "&gt;"); break;
		case '&': sb_buf_put(b, "&amp;"); break;
		default: sb_buf_putc(b, *p);
		}
	}
}

void sb_fmt_num(char *out, size_t len, double v, int sig)
{
	if (!isfinite(v)) {
		snprintf(out, len, "-");
		return;
	}
	double a = fabs(v);
	/* Digits after the point so that `sig` significant digits show, never negative: large values
	 * print whole ("1234567"), small ones keep their leading zeros ("0.00341"). */
	int mag = a > 0 ? (int)floor(log10(a)) : 0;
	int dec = sig - 1 - mag;
	if (dec < 0)
		dec = 0;
	if (dec > 9)
		dec = 9;
	snprintf(out, len, "%.*f", dec, v);
	if (dec > 0) {
		char *e = out + strlen(out) - 1;
		while (e > out && *e == '0')
			*e-- = '\0';
		if (*e == '.')
			*e = '\0';
	}
	if (!strcmp(out, "-0"))
		snprintf(out, len, "0");
}

void sb_buf_num(struct sb_buf *b, double v, int sig)
{
	char tmp[64];
	sb_fmt_num(tmp, sizeof(tmp), v, sig);
	sb_buf_put(b, tmp);
}
