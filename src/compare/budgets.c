#include "compare/budgets.h"

#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const stat_names[] = {"p50", "p90", "p95", "p99", "mean"};

int sb_statistic_parse(const char *s, enum sb_statistic *out)
{
	for (size_t i = 0; i < sizeof(stat_names) / sizeof(stat_names[0]); i++)
		if (s && strcmp(s, stat_names[i]) == 0) {
			*out = (enum sb_statistic)i;
			return 0;
		}
	return -EINVAL;
}

const char *sb_statistic_name(enum sb_statistic s)
{
	return (unsigned)s < sizeof(stat_names) / sizeof(stat_names[0]) ? stat_names[s] : "?";
}

double sb_statistic_percentile(enum sb_statistic s)
{
	static const double pct[] = {50, 90, 95, 99, 0};
	return (unsigned)s < sizeof(pct) / sizeof(pct[0]) ? pct[s] : 0;
}

void sb_budgets_free(struct sb_budgets *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->entries[i].metric);
		free(b->entries[i].scenario);
		free(b->entries[i].driver);
	}
	free(b->entries);
	free(b->path);
	free(b);
}

/* The fields shared by "defaults" and entries. A threshold of 0 is allowed (any significant change
 * counts); alpha must be a real probability; drift is a relative spread per run. Returns 1 when key
 * is one of them, 0 when not, or a negative errno. */
static int parse_common(const char *path, const char *where, const char *key, json_t *v,
			struct sb_budget_common *c, struct sb_error *err)
{
	if (strcmp(key, "statistic") == 0) {
		if (sb_statistic_parse(json_string_value(v), &c->statistic) < 0)
			return sb_error_set(err, EINVAL, "%s: %s.statistic must be one of p50, p90, p95, p99, mean",
					    path, where);
		c->has_statistic = true;
		return 1;
	}
	double x = json_number_value(v);
	if (strcmp(key, "threshold") == 0) {
		if (!json_is_number(v) || !isfinite(x) || x < 0 || x >= 10)
			return sb_error_set(err, EINVAL,
					    "%s: %s.threshold must be a relative change in [0, 10) (0.10 = 10%%)",
					    path, where);
		c->threshold = x;
		c->has_threshold = true;
		return 1;
	}
	if (strcmp(key, "alpha") == 0) {
		if (!json_is_number(v) || !(x > 0 && x < 0.5))
			return sb_error_set(err, EINVAL, "%s: %s.alpha must be in (0, 0.5)", path, where);
		c->alpha = x;
		c->has_alpha = true;
		return 1;
	}
	if (strcmp(key, "drift") == 0) {
		if (!json_is_number(v) || !(x >= 0 && x < 1))
			return sb_error_set(err, EINVAL,
					    "%s: %s.drift must be a relative spread per run in [0, 1) (0.05 = 5%%)",
					    path, where);
		c->drift = x;
		c->has_drift = true;
		return 1;
	}
	return 0;
}

static int dup_glob(const char *path, const char *where, const char *key, json_t *v, char **out,
		    struct sb_error *err)
{
	const char *s = json_string_value(v);
	if (!s || !*s)
		return sb_error_set(err, EINVAL, "%s: %s.%s must be a non-empty glob string", path, where, key);
	if (!(*out = strdup(s)))
		return sb_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int parse_entry(const char *path, size_t idx, json_t *o, struct sb_budget_entry *e,
		       struct sb_error *err)
{
	char where[48];
	snprintf(where, sizeof(where), "budgets[%zu]", idx);
	if (!json_is_object(o))
		return sb_error_set(err, EINVAL, "%s: %s must be an object", path, where);
	const char *key;
	json_t *v;
	int rc;
	json_object_foreach(o, key, v) {
		rc = parse_common(path, where, key, v, &e->c, err);
		if (rc < 0)
			return rc;
		if (rc > 0)
			continue;
		if (strcmp(key, "metric") == 0)
			rc = dup_glob(path, where, key, v, &e->metric, err);
		else if (strcmp(key, "scenario") == 0)
			rc = dup_glob(path, where, key, v, &e->scenario, err);
		else if (strcmp(key, "driver") == 0)
			rc = dup_glob(path, where, key, v, &e->driver, err);
		else if (strcmp(key, "direction") == 0) {
			const char *d = json_string_value(v);
			if (d && strcmp(d, "lower_is_better") == 0)
				e->direction = SB_DIR_LOWER_IS_BETTER;
			else if (d && strcmp(d, "higher_is_better") == 0)
				e->direction = SB_DIR_HIGHER_IS_BETTER;
			else if (d && strcmp(d, "auto") == 0)
				e->direction = SB_DIR_AUTO;
			else
				rc = sb_error_set(err, EINVAL,
						  "%s: %s.direction must be lower_is_better, higher_is_better or auto",
						  path, where);
		} else if (strcmp(key, "min_change") == 0) {
			double x = json_number_value(v);
			if (!json_is_number(v) || !isfinite(x) || x < 0)
				rc = sb_error_set(err, EINVAL, "%s: %s.min_change must be a number >= 0 (in the metric's unit)",
						  path, where);
			e->min_change = x;
			e->has_min_change = true;
		} else if (strcmp(key, "normalize") == 0) {
			if (!json_is_boolean(v))
				rc = sb_error_set(err, EINVAL, "%s: %s.normalize must be true or false", path, where);
			e->normalize = json_is_true(v);
			e->has_normalize = true;
		} else if (strcmp(key, "ignore") == 0) {
			if (!json_is_boolean(v))
				rc = sb_error_set(err, EINVAL, "%s: %s.ignore must be true or false", path, where);
			e->ignore = json_is_true(v);
		} else {
			rc = sb_error_set(err, EINVAL,
					  "%s: %s: unknown key '%s' (metric, scenario, driver, statistic, "
					  "threshold, alpha, drift, min_change, normalize, direction, ignore)", path, where, key);
		}
		if (rc < 0)
			return rc;
	}
	if (!e->metric)
		return sb_error_set(err, EINVAL, "%s: %s has no 'metric' glob", path, where);
	return 0;
}

int sb_budgets_load(const char *path, struct sb_budgets **out, struct sb_error *err)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (strstr(je.text, "unable to open"))
			return sb_error_set(err, ENOENT, "budgets %s: cannot open: %s", path, je.text);
		return sb_error_set(err, EINVAL, "budgets %s: malformed JSON at line %d: %s", path, je.line,
				    je.text);
	}
	struct sb_budgets *b = calloc(1, sizeof(*b));
	int rc = 0;
	char label[4200];
	snprintf(label, sizeof(label), "budgets %s", path);
	if (!b || !(b->path = strdup(path))) {
		rc = sb_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (!json_is_object(root)) {
		rc = sb_error_set(err, EINVAL, "%s: not a JSON object", label);
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "schema") == 0) {
			if (!json_is_string(v) || strcmp(json_string_value(v), SB_BUDGETS_SCHEMA) != 0) {
				rc = sb_error_set(err, EINVAL, "%s: schema must be '%s'", label,
						  SB_BUDGETS_SCHEMA);
				goto out;
			}
		} else if (strcmp(key, "defaults") == 0) {
			if (!json_is_object(v)) {
				rc = sb_error_set(err, EINVAL, "%s: 'defaults' must be an object", label);
				goto out;
			}
			const char *k2;
			json_t *v2;
			json_object_foreach(v, k2, v2) {
				rc = parse_common(label, "defaults", k2, v2, &b->defaults, err);
				if (rc == 0)
					rc = sb_error_set(err, EINVAL,
							  "%s: defaults: unknown key '%s' (statistic, "
							  "threshold, alpha, drift)", label, k2);
				if (rc < 0)
					goto out;
				rc = 0;
			}
		} else if (strcmp(key, "budgets") == 0) {
			if (!json_is_array(v)) {
				rc = sb_error_set(err, EINVAL, "%s: 'budgets' must be an array", label);
				goto out;
			}
			b->n = json_array_size(v);
			b->entries = calloc(b->n ? b->n : 1, sizeof(*b->entries));
			if (!b->entries) {
				rc = sb_error_set(err, ENOMEM, "out of memory");
				goto out;
			}
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) {
				if ((rc = parse_entry(label, i, e, &b->entries[i], err)) < 0) {
					/* parse_entry's message already names the file. */
					goto out;
				}
			}
		} else {
			rc = sb_error_set(err, EINVAL, "%s: unknown key '%s' (schema, defaults, budgets)",
					  label, key);
			goto out;
		}
	}
out:
	json_decref(root);
	if (rc < 0) {
		sb_budgets_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

static bool glob_ok(const char *pattern, const char *name)
{
	return !pattern || fnmatch(pattern, name ? name : "", 0) == 0;
}

void sb_budgets_resolve(const struct sb_budgets *b, const struct sb_budget_rule *base, unsigned cli_set,
			const char *scenario, const char *driver, const char *metric,
			struct sb_budget_rule *out)
{
	*out = *base;
	out->entry = -1;
	if (!b)
		return;
	const struct sb_budget_common *d = &b->defaults;
	if (d->has_statistic && !(cli_set & SB_BUDGET_CLI_STATISTIC))
		out->statistic = d->statistic;
	if (d->has_threshold && !(cli_set & SB_BUDGET_CLI_THRESHOLD))
		out->threshold = d->threshold;
	if (d->has_alpha && !(cli_set & SB_BUDGET_CLI_ALPHA))
		out->alpha = d->alpha;
	if (d->has_drift && !(cli_set & SB_BUDGET_CLI_DRIFT))
		out->drift = d->drift;
	for (size_t i = 0; i < b->n; i++) {
		const struct sb_budget_entry *e = &b->entries[i];
		if (!glob_ok(e->metric, metric) || !glob_ok(e->scenario, scenario) || !glob_ok(e->driver, driver))
			continue;
		if (e->c.has_statistic)
			out->statistic = e->c.statistic;
		if (e->c.has_threshold)
			out->threshold = e->c.threshold;
		if (e->c.has_alpha)
			out->alpha = e->c.alpha;
		if (e->c.has_drift)
			out->drift = e->c.drift;
		if (e->has_normalize)
			out->no_normalize = !e->normalize;
		if (e->has_min_change)
			out->min_change = e->min_change;
		if (e->direction != SB_DIR_AUTO)
			out->direction = e->direction;
		out->ignore = e->ignore;
		out->entry = (int)i;
		return;
	}
}
