#include "core/params.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int sb_params_set(struct sb_params *p, const char *key, const char *value)
{
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->items[i].key, key) == 0) {
			char *v = strdup(value);
			if (!v)
				return -ENOMEM;
			free(p->items[i].value);
			p->items[i].value = v;
			return 0;
		}
	}
	struct sb_param *items = realloc(p->items, (p->n + 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	p->items = items;
	items[p->n].key = strdup(key);
	items[p->n].value = strdup(value);
	if (!items[p->n].key || !items[p->n].value) {
		free(items[p->n].key);
		free(items[p->n].value);
		return -ENOMEM;
	}
	p->n++;
	return 0;
}

int sb_params_add_kv(struct sb_params *p, const char *kv, struct sb_error *err)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return sb_error_set(err, EINVAL, "parameter '%s' is not of the form key=value", kv);
	char key[128];
	size_t klen = (size_t)(eq - kv);
	if (klen >= sizeof(key))
		return sb_error_set(err, EINVAL, "parameter key too long in '%s'", kv);
	memcpy(key, kv, klen);
	key[klen] = '\0';
	if (sb_params_set(p, key, eq + 1) < 0)
		return sb_error_set(err, ENOMEM, "out of memory");
	return 0;
}

void sb_params_free(struct sb_params *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].key);
		free(p->items[i].value);
	}
	free(p->items);
	p->items = NULL;
	p->n = 0;
}

const char *sb_params_get(const struct sb_params *p, const char *key)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->items[i].key, key) == 0)
			return p->items[i].value;
	return NULL;
}

const char *sb_params_get_def(const struct sb_params *p, const struct sb_param_def *defs,
			      const char *key)
{
	const char *v = sb_params_get(p, key);
	if (v || !defs)
		return v;
	for (; defs->key; defs++)
		if (strcmp(defs->key, key) == 0)
			return defs->default_value;
	return NULL;
}

int sb_params_get_u64(const struct sb_params *p, const char *key, uint64_t fallback, uint64_t *out,
		      struct sb_error *err)
{
	const char *v = sb_params_get(p, key);
	if (!v) {
		*out = fallback;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-')
		return sb_error_set(err, EINVAL, "parameter %s=%s: expected a non-negative integer", key, v);
	*out = x;
	return 0;
}

int sb_params_get_double(const struct sb_params *p, const char *key, double fallback, double *out,
			 struct sb_error *err)
{
	const char *v = sb_params_get(p, key);
	if (!v) {
		*out = fallback;
		return 0;
	}
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(x))
		return sb_error_set(err, EINVAL, "parameter %s=%s: expected a number", key, v);
	*out = x;
	return 0;
}

int sb_parse_size(const char *s, uint64_t *out)
{
	if (!s || !*s || s[0] == '-')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	uint64_t mult = 1;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': mult = 1ULL << 10; end++; break;
	case 'M': mult = 1ULL << 20; end++; break;
	case 'G': mult = 1ULL << 30; end++; break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end)
		return -EINVAL;
	if (x > UINT64_MAX / mult)
		return -ERANGE;
	*out = x * mult;
	return 0;
}

int sb_params_get_size(const struct sb_params *p, const char *key, uint64_t fallback, uint64_t *out,
		       struct sb_error *err)
{
	const char *v = sb_params_get(p, key);
	if (!v) {
		*out = fallback;
		return 0;
	}
	if (sb_parse_size(v, out) < 0)
		return sb_error_set(err, EINVAL, "parameter %s=%s: expected a size like 4096, 64K, 16M, 1G",
				    key, v);
	return 0;
}

int sb_parse_uint_list(const char *s, unsigned *out, size_t cap, size_t *n)
{
	*n = 0;
	const char *q = s;
	while (*q) {
		char *end;
		errno = 0;
		unsigned long x = strtoul(q, &end, 10);
		if (errno || end == q || x == 0 || x > 1000000 || q[0] == '-')
			return -EINVAL;
		if (*n >= cap)
			return -E2BIG;
		out[(*n)++] = (unsigned)x;
		if (*end == ',')
			end++;
		else if (*end)
			return -EINVAL;
		q = end;
	}
	return *n ? 0 : -EINVAL;
}

static size_t levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return (size_t)-1;
	size_t prev[65], cur[65];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(size_t) * (lb + 1));
	}
	return prev[lb];
}

const char *sb_closest_name(const char *name, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		if (!candidates[i])
			continue;
		size_t d = levenshtein(name, candidates[i]);
		/* A prefix match ("latency" for "latency-spawn") is a good hint too. */
		if (strncmp(candidates[i], name, strlen(name)) == 0 && strlen(name) >= 3)
			d = d < 2 ? d : 2;
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	size_t len = strlen(name);
	if (best && best_d > (len < 4 ? 2 : len / 2))
		return NULL;
	return best;
}

const struct sb_param_def *sb_param_find(const struct sb_param_def *const *def_lists, size_t nlists,
					 const char *key)
{
	for (size_t l = 0; l < nlists; l++)
		for (const struct sb_param_def *d = def_lists[l]; d && d->key; d++)
			if (strcmp(d->key, key) == 0)
				return d;
	return NULL;
}

static bool is_choice(const char *form, const char *value)
{
	size_t n = strlen(value);
	for (const char *p = form; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, value, n) == 0)
			return true;
		p += len + (bar ? 1 : 0);
	}
	return false;
}

int sb_param_check_value(const struct sb_param_def *def, const char *value, struct sb_error *err)
{
	const char *form = def->form;
	if (!form)
		return 0;
	struct sb_param item = {(char *)def->key, (char *)value};
	struct sb_params one = {.items = &item, .n = 1};
	uint64_t u;
	double d;
	if (strcmp(form, "size") == 0)
		return sb_params_get_size(&one, def->key, 0, &u, err);
	if (strcmp(form, "uint") == 0)
		return sb_params_get_u64(&one, def->key, 0, &u, err);
	if (strcmp(form, "number") == 0)
		return sb_params_get_double(&one, def->key, 0, &d, err);
	if (strcmp(form, "list") == 0) {
		unsigned v[64];
		size_t n;
		if (sb_parse_uint_list(value, v, 64, &n) < 0)
			return sb_error_set(err, EINVAL,
					    "parameter %s=%s: expected positive integers separated by commas, like 1,2,4",
					    def->key, value);
		return 0;
	}
	if (!is_choice(form, value))
		return sb_error_set(err, EINVAL, "parameter %s=%s: expected one of %s", def->key, value, form);
	return 0;
}

int sb_params_check(const struct sb_params *p, const struct sb_param_def *const *def_lists,
		    size_t nlists, struct sb_error *err)
{
	const char *names[256];
	size_t nn = 0;
	for (size_t l = 0; l < nlists; l++)
		for (const struct sb_param_def *d = def_lists[l]; d && d->key; d++)
			if (nn < 256)
				names[nn++] = d->key;
	for (size_t i = 0; p && i < p->n; i++) {
		bool known = false;
		for (size_t k = 0; k < nn; k++)
			if (strcmp(names[k], p->items[i].key) == 0)
				known = true;
		if (known) {
			int rc = sb_param_check_value(sb_param_find(def_lists, nlists, p->items[i].key),
						      p->items[i].value, err);
			if (rc < 0)
				return rc;
			continue;
		}
		const char *close = sb_closest_name(p->items[i].key, names, nn);
		if (close)
			return sb_error_set(err, EINVAL, "unknown parameter '%s' (did you mean '%s'?)",
					    p->items[i].key, close);
		if (nn == 0)
			return sb_error_set(err, EINVAL, "unknown parameter '%s' (this run takes none)",
					    p->items[i].key);
		char list[512] = "";
		for (size_t k = 0; k < nn; k++) {
			strncat(list, k ? ", " : "", sizeof(list) - strlen(list) - 1);
			strncat(list, names[k], sizeof(list) - strlen(list) - 1);
		}
		return sb_error_set(err, EINVAL, "unknown parameter '%s' (valid: %s)", p->items[i].key, list);
	}
	return 0;
}
