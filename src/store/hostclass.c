#include "store/hostclass.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static const char *str(const json_t *host, const char *key)
{
	const char *s = json_string_value(json_object_get(host, key));
	return s ? s : "";
}

void sb_host_fingerprint(const json_t *host, char out[33])
{
	static const char *const keys[] = {"os", "kernel", "arch", "cpu_model", "cpu_count", "mem_total",
					   "hostname_hash"};
	json_t *id = json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(host, keys[i]);
		if (v)
			json_object_set(id, keys[i], v);
	}
	char *text = json_dumps(id, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(id);
	const char *t = text ? text : "";
	/* Two FNV-1a passes with different seeds: 128 bits, plenty for telling machines apart. */
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)sb_fnv1a64(t, strlen(t), 0),
		 (unsigned long long)sb_fnv1a64(t, strlen(t), 0x9e3779b97f4a7c15ull));
	free(text);
}

static long kernel_major(const char *kernel)
{
	char *end;
	long m = strtol(kernel, &end, 10);
	return end == kernel ? -1 : m;
}

void sb_host_class(const json_t *host, char *buf, size_t len)
{
	long major = kernel_major(str(host, "kernel"));
	char k[24] = "?";
	if (major >= 0)
		snprintf(k, sizeof(k), "%ld", major);
	snprintf(buf, len, "%s|%lld|%s", str(host, "cpu_model"),
		 (long long)json_integer_value(json_object_get(host, "cpu_count")), k);
	/* A long CPU model is cut; never inside a character (history would drop the point). */
	sb_utf8_trim(buf);
}

void sb_slugify(const char *in, char *buf, size_t len)
{
	size_t o = 0;
	bool dash = false;
	for (const char *s = in; *s && o + 2 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c)) {
			if (dash && o > 0)
				buf[o++] = '-';
			buf[o++] = (char)tolower(c);
			dash = false;
		} else {
			dash = true;
		}
	}
	if (len)
		buf[o < len ? o : len - 1] = '\0';
}

void sb_host_class_slug(const json_t *host, char *buf, size_t len)
{
	char model[128];
	sb_slugify(str(host, "cpu_model"), model, sizeof(model));
	long major = kernel_major(str(host, "kernel"));
	snprintf(buf, len, "%s-%lldcpu-linux%ld", model[0] ? model : "unknown-cpu",
		 (long long)json_integer_value(json_object_get(host, "cpu_count")), major < 0 ? 0 : major);
}
