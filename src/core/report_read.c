/* Loading reports back (show, compare): parse, check the schema version and the members every
 * consumer relies on, with one clear error naming the file and what is wrong. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/report.h"

static int need(const json_t *obj, const char *key, json_type type, const char *where,
		const char *what, struct sb_error *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return sb_error_set(err, EINVAL, "%s: missing '%s%s'", what, where, key);
	bool ok = json_typeof(v) == type || (type == JSON_REAL && json_is_number(v)) ||
		  (type == JSON_TRUE && json_is_boolean(v));
	if (!ok)
		return sb_error_set(err, EINVAL, "%s: '%s%s' has the wrong type", what, where, key);
	return 0;
}

int sb_report_check(const json_t *r, const char *what, struct sb_error *err)
{
	if (!json_is_object(r))
		return sb_error_set(err, EINVAL, "%s: not a JSON object", what);
	json_t *schema = json_object_get(r, "schema");
	if (!json_is_string(schema))
		return sb_error_set(err, EINVAL, "%s: no 'schema' member (not a sandbench report)", what);
	if (strcmp(json_string_value(schema), SB_REPORT_SCHEMA) != 0)
		return sb_error_set(err, EINVAL, "%s: schema '%s' is not supported (expected '%s')", what,
				    json_string_value(schema), SB_REPORT_SCHEMA);
	int rc;
	if ((rc = need(r, "scenario", JSON_OBJECT, "", what, err)) ||
	    (rc = need(r, "driver", JSON_OBJECT, "", what, err)) ||
	    (rc = need(r, "run", JSON_OBJECT, "", what, err)) ||
	    (rc = need(r, "status", JSON_STRING, "", what, err)) ||
	    (rc = need(r, "samples", JSON_ARRAY, "", what, err)) ||
	    (rc = need(r, "aggregates", JSON_ARRAY, "", what, err)) ||
	    (rc = need(json_object_get(r, "scenario"), "name", JSON_STRING, "scenario.", what, err)) ||
	    (rc = need(json_object_get(r, "driver"), "name", JSON_STRING, "driver.", what, err)))
		return rc;
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(r, "aggregates"), i, a) {
		char where[64];
		snprintf(where, sizeof(where), "aggregates[%zu].", i);
		if ((rc = need(a, "metric", JSON_STRING, where, what, err)) ||
		    (rc = need(a, "unit", JSON_STRING, where, what, err)) ||
		    (rc = need(a, "higher_is_better", JSON_TRUE, where, what, err)) ||
		    (rc = need(a, "n", JSON_INTEGER, where, what, err)) ||
		    (rc = need(a, "p50", JSON_REAL, where, what, err)))
			return rc;
	}
	json_t *s;
	json_array_foreach(json_object_get(r, "samples"), i, s) {
		char where[64];
		snprintf(where, sizeof(where), "samples[%zu].", i);
		if ((rc = need(s, "iteration", JSON_INTEGER, where, what, err)) ||
		    (rc = need(s, "metrics", JSON_OBJECT, where, what, err)))
			return rc;
	}
	return 0;
}

int sb_report_load(const char *path, json_t **out, struct sb_error *err)
{
	json_error_t je;
	json_t *r = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!r) {
		if (strstr(je.text, "unable to open"))
			return sb_error_set(err, ENOENT, "%s: cannot open: %s", path, je.text);
		return sb_error_set(err, EINVAL, "%s: malformed JSON at line %d: %s", path, je.line, je.text);
	}
	int rc = sb_report_check(r, path, err);
	if (rc < 0) {
		json_decref(r);
		return rc;
	}
	*out = r;
	return 0;
}
