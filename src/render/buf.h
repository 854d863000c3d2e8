/* A growing output buffer: every human-facing renderer (HTML, SVG, Markdown, terminal tables) writes
 * into one, and the caller decides where it goes (a file written atomically, stdout). */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct sb_buf {
	char *data; /* always NUL-terminated once anything was appended */
	size_t len, cap;
	bool oom;   /* an allocation failed: further appends are dropped, sb_buf_ok() says so */
};

void sb_buf_init(struct sb_buf *b);
void sb_buf_free(struct sb_buf *b);
/* false after an allocation failure: the content is incomplete and must not be written out. */
bool sb_buf_ok(const struct sb_buf *b);
void sb_buf_put(struct sb_buf *b, const char *s);
void sb_buf_putn(struct sb_buf *b, const char *s, size_t n);
void sb_buf_putc(struct sb_buf *b, char c);
void sb_buf_printf(struct sb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_buf_vprintf(struct sb_buf *b, const char *fmt, va_list ap);
/* Text escaped for HTML/SVG element content and attribute values (& < > " '). */
void sb_buf_put_html(struct sb_buf *b, const char *s);
/* Text for a Markdown table cell: | and newlines neutralised, HTML-significant < > & escaped. */
void sb_buf_put_md(struct sb_buf *b, const char *s);
/* A number with up to `sig` significant digits, no exponent for everyday magnitudes, no trailing
 * zeros ("12.5", "0.00341", "1234567"); "-" when not finite. */
void sb_buf_num(struct sb_buf *b, double v, int sig);
/* The same into a fixed buffer. */
void sb_fmt_num(char *out, size_t len, double v, int sig);
