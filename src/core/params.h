/* `--param k=v` handling: a list of key/value strings checked against declared definitions
 * (a scenario's and a driver's). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct sb_param_def {
	const char *key;
	const char *default_value; /* NULL: no default (optional) */
	const char *help;
	/* What a value must look like, checked with the key before anything runs (so a bad value is
	 * one error line, never a failed run): NULL (any text), "size" (4096, 64K, 16M, 1G), "uint",
	 * "number" (finite), "list" (positive integers, "1,2,4"), or choices "a|b|c". */
	const char *form;
};

struct sb_param {
	char *key;
	char *value;
};

struct sb_params {
	struct sb_param *items;
	size_t n;
};

/* Parse "k=v" and append (a later value for the same key replaces the earlier). */
int sb_params_add_kv(struct sb_params *p, const char *kv, struct sb_error *err);
int sb_params_set(struct sb_params *p, const char *key, const char *value);
void sb_params_free(struct sb_params *p);
/* Value for key, or NULL. p may be NULL. */
const char *sb_params_get(const struct sb_params *p, const char *key);
/* Value for key, else the definition's default from defs (NULL-key terminated), else NULL. */
const char *sb_params_get_def(const struct sb_params *p, const struct sb_param_def *defs,
			      const char *key);
/* Typed getters: value of key or fallback; a malformed value is an error naming the key. */
int sb_params_get_u64(const struct sb_params *p, const char *key, uint64_t fallback, uint64_t *out,
		      struct sb_error *err);
int sb_params_get_double(const struct sb_params *p, const char *key, double fallback, double *out,
			 struct sb_error *err);
/* Size with optional K/M/G suffix (binary), e.g. "64M". */
int sb_params_get_size(const struct sb_params *p, const char *key, uint64_t fallback, uint64_t *out,
		       struct sb_error *err);
/* The definition of key in the first of nlists lists that declares it, or NULL. */
const struct sb_param_def *sb_param_find(const struct sb_param_def *const *def_lists, size_t nlists,
					 const char *key);
/* value against def->form: 0, or -EINVAL with err naming key, value and what was expected. */
int sb_param_check_value(const struct sb_param_def *def, const char *value, struct sb_error *err);
/* Every key in p must be defined in one of the NULL-terminated arrays of defs lists, and its value
 * match the definition's form. Unknown key: error naming it and the closest valid key. */
int sb_params_check(const struct sb_params *p, const struct sb_param_def *const *def_lists,
		    size_t nlists, struct sb_error *err);

/* Parse a size string ("4096", "64K", "16M", "1G"). */
int sb_parse_size(const char *s, uint64_t *out);
/* Parse a comma-separated list of positive integers ("1,2,4,8") into out (cap entries). */
int sb_parse_uint_list(const char *s, unsigned *out, size_t cap, size_t *n);

/* Levenshtein-closest candidate to `name` among NULL-terminated `candidates`, or NULL when nothing is
 * close (distance more than half the name). */
const char *sb_closest_name(const char *name, const char *const *candidates, size_t n);
