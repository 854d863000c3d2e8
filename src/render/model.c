#include "render/model.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/report.h"
#include "core/util.h"

void sb_rdoc_init(struct sb_rdoc *d)
{
	d->reports = json_array();
	d->matrices = json_array();
	d->compares = json_array();
	d->paireds = json_array();
	d->histories = json_array();
	d->inputs = json_array();
}

void sb_rdoc_free(struct sb_rdoc *d)
{
	json_decref(d->reports);
	json_decref(d->matrices);
	json_decref(d->compares);
	json_decref(d->paireds);
	json_decref(d->histories);
	json_decref(d->inputs);
	memset(d, 0, sizeof(*d));
}

static int load_file(const char *path, json_t **out, struct sb_error *err)
{
	json_error_t je;
	*out = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (*out)
		return 0;
	if (strstr(je.text, "unable to open"))
		return sb_error_set(err, ENOENT, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
	return sb_error_set(err, EINVAL, "%s: malformed JSON at line %d: %s", path, je.line, je.text);
}

static bool is_type(const json_t *o, const char *key, json_type t)
{
	json_t *v = json_object_get(o, key);
	if (t == JSON_REAL)
		return json_is_number(v);
	if (t == JSON_TRUE)
		return json_is_boolean(v);
	return v && json_typeof(v) == t;
}

/* Check that every element of o[key] (an array) is an object with the listed members; names the
 * first that is not. */
static int check_items(const json_t *o, const char *key, const char *path, const char *const *members,
		       const json_type *types, struct sb_error *err)
{
	json_t *arr = json_object_get(o, key);
	if (!json_is_array(arr))
		return sb_error_set(err, EINVAL, "%s: '%s' is missing or not an array", path, key);
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x) {
		for (size_t k = 0; members[k]; k++)
			if (!json_is_object(x) || !is_type(x, members[k], types[k]))
				return sb_error_set(err, EINVAL, "%s: %s[%zu].%s is missing or of the wrong type", path, key,
						    i, members[k]);
	}
	return 0;
}

static void note_input(struct sb_rdoc *d, const char *path, const char *kind)
{
	json_array_append_new(d->inputs, json_pack("{s:s, s:s}", "path", path, "kind", kind));
}

static int add_report(struct sb_rdoc *d, json_t *r)
{
	/* The same run given twice (a matrix and its directory, a file named twice) counts once. */
	const json_t *run = json_object_get(r, "run");
	char key[512];
	snprintf(key, sizeof(key), "%s/%s/%s/%s", sb_r_str(run, "id"), sb_r_str(run, "started_at"),
		 sb_r_str(json_object_get(r, "scenario"), "name"), sb_r_str(json_object_get(r, "driver"), "name"));
	size_t i;
	json_t *x;
	json_array_foreach(d->reports, i, x) {
		const json_t *xr = json_object_get(x, "run");
		char k2[512];
		snprintf(k2, sizeof(k2), "%s/%s/%s/%s", sb_r_str(xr, "id"), sb_r_str(xr, "started_at"),
			 sb_r_str(json_object_get(x, "scenario"), "name"), sb_r_str(json_object_get(x, "driver"), "name"));
		if (!strcmp(key, k2))
			return 0;
	}
	return json_array_append(d->reports, r);
}

/* A report the summary lists but whose file is gone: rebuilt from the summary's cells (p50, p99, n). */
static json_t *report_from_cells(const json_t *m, const json_t *entry)
{
	const char *scn = sb_r_str(entry, "scenario"), *drv = sb_r_str(entry, "driver");
	const char *version = "";
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(m, "drivers"), i, x)
		if (!strcmp(sb_r_str(x, "name"), drv))
			version = sb_r_str(x, "version");
	json_t *aggs = json_array();
	json_array_foreach(json_object_get(m, "cells"), i, x) {
		json_t *v = json_object_get(json_object_get(x, "values"), drv);
		if (strcmp(sb_r_str(x, "scenario"), scn) || !json_is_object(v))
			continue;
		json_array_append_new(aggs, json_pack("{s:s, s:s, s:b, s:O, s:O, s:O}", "metric", sb_r_str(x, "metric"),
						      "unit", sb_r_str(x, "unit"), "higher_is_better",
						      json_is_true(json_object_get(x, "higher_is_better")), "n",
						      json_object_get(v, "n"), "p50", json_object_get(v, "p50"), "p99",
						      json_object_get(v, "p99")));
	}
	json_t *r = json_pack("{s:s, s:O, s:O, s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:[], s:o, s:b}", "schema",
			      SB_REPORT_SCHEMA, "tool", json_object_get(m, "tool"), "run", json_object_get(m, "run"),
			      "scenario", "name", scn, "axis", "", "driver", "name", drv, "version", version, "status",
			      sb_r_str(entry, "status"), "samples", "aggregates", aggs, "from_summary", 1);
	if (json_object_get(entry, "reason"))
		json_object_set(r, "reason", json_object_get(entry, "reason"));
	return r;
}

static int add_matrix(struct sb_rdoc *d, json_t *m, const char *path, struct sb_error *err)
{
	static const char *const rep_members[] = {"scenario", "driver", "status", "path", NULL};
	static const json_type rep_types[] = {JSON_STRING, JSON_STRING, JSON_STRING, JSON_STRING};
	static const char *const drv_members[] = {"name", NULL};
	static const json_type drv_types[] = {JSON_STRING};
	static const char *const cell_members[] = {"scenario", "metric", "unit", "values", NULL};
	static const json_type cell_types[] = {JSON_STRING, JSON_STRING, JSON_STRING, JSON_OBJECT};
	int rc;
	if ((rc = check_items(m, "reports", path, rep_members, rep_types, err)) < 0 ||
	    (rc = check_items(m, "drivers", path, drv_members, drv_types, err)) < 0 ||
	    (rc = check_items(m, "cells", path, cell_members, cell_types, err)) < 0)
		return rc;
	if (!is_type(m, "run", JSON_OBJECT))
		return sb_error_set(err, EINVAL, "%s: 'run' is missing or not an object", path);
	json_array_append(d->matrices, m);
	/* Report paths are relative to the summary's directory. */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(m, "reports"), i, e) {
		char rp[8192];
		const char *p = sb_r_str(e, "path");
		snprintf(rp, sizeof(rp), "%s%s", p[0] == '/' ? "" : dir, p);
		struct stat st;
		json_t *r;
		if (stat(rp, &st) < 0) {
			r = report_from_cells(m, e);
		} else {
			if ((rc = sb_report_load(rp, &r, err)) < 0)
				return rc;
		}
		rc = add_report(d, r);
		json_decref(r);
		if (rc < 0)
			return sb_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int sb_rdoc_add_json(struct sb_rdoc *d, json_t *doc, const char *path, struct sb_error *err)
{
	const char *schema = json_string_value(json_object_get(doc, "schema"));
	if (!json_is_object(doc) || !schema)
		return sb_error_set(err, EINVAL, "%s: no 'schema' member (not a sandbench document)", path);
	int rc;
	if (!strcmp(schema, SB_REPORT_SCHEMA)) {
		if ((rc = sb_report_check(doc, path, err)) < 0)
			return rc;
		note_input(d, path, "report");
		return add_report(d, doc) < 0 ? sb_error_set(err, ENOMEM, "out of memory") : 0;
	}
	if (!strcmp(schema, SB_RENDER_MATRIX_SCHEMA)) {
		note_input(d, path, "matrix");
		return add_matrix(d, doc, path, err);
	}
	if (!strcmp(schema, SB_RENDER_COMPARE_SCHEMA)) {
		static const char *const mem[] = {"scenario", "driver", "metrics", NULL};
		static const json_type ty[] = {JSON_STRING, JSON_STRING, JSON_ARRAY};
		if ((rc = check_items(doc, "comparisons", path, mem, ty, err)) < 0)
			return rc;
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(doc, "comparisons"), i, c) {
			static const char *const mm[] = {"metric", "verdict", "baseline", "current", NULL};
			static const json_type mt[] = {JSON_STRING, JSON_STRING, JSON_OBJECT, JSON_OBJECT};
			char what[4200];
			snprintf(what, sizeof(what), "%s: comparisons[%zu]", path, i);
			if ((rc = check_items(c, "metrics", what, mm, mt, err)) < 0)
				return rc;
		}
		note_input(d, path, "compare");
		return json_array_append(d->compares, doc) < 0 ? -ENOMEM : 0;
	}
	if (!strcmp(schema, SB_RENDER_PAIRED_SCHEMA)) {
		static const char *const mem[] = {"metric", "verdict", "n", NULL};
		static const json_type ty[] = {JSON_STRING, JSON_STRING, JSON_INTEGER};
		static const char *const pm[] = {"index", "warmup", NULL};
		static const json_type pt[] = {JSON_INTEGER, JSON_TRUE};
		if ((rc = check_items(doc, "analysis", path, mem, ty, err)) < 0 ||
		    (rc = check_items(doc, "pairs", path, pm, pt, err)) < 0)
			return rc;
		if (!is_type(doc, "metrics", JSON_OBJECT) || !is_type(doc, "baseline", JSON_OBJECT) ||
		    !is_type(doc, "current", JSON_OBJECT))
			return sb_error_set(err, EINVAL, "%s: 'metrics', 'baseline' or 'current' is missing or not an object",
					    path);
		note_input(d, path, "paired");
		return json_array_append(d->paireds, doc) < 0 ? -ENOMEM : 0;
	}
	if (!strcmp(schema, SB_RENDER_HISTORY_SCHEMA)) {
		static const char *const mem[] = {"scenario", "driver", "metric", "points", NULL};
		static const json_type ty[] = {JSON_STRING, JSON_STRING, JSON_STRING, JSON_ARRAY};
		if ((rc = check_items(doc, "series", path, mem, ty, err)) < 0)
			return rc;
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(doc, "series"), i, s) {
			static const char *const pm[] = {"value", NULL};
			static const json_type pt[] = {JSON_REAL};
			char what[4200];
			snprintf(what, sizeof(what), "%s: series[%zu]", path, i);
			if ((rc = check_items(s, "points", what, pm, pt, err)) < 0)
				return rc;
			if (json_object_get(s, "change_points")) {
				static const char *const cm[] = {"index", NULL};
				static const json_type ct[] = {JSON_INTEGER};
				if ((rc = check_items(s, "change_points", what, cm, ct, err)) < 0)
					return rc;
			}
		}
		note_input(d, path, "history");
		return json_array_append(d->histories, doc) < 0 ? -ENOMEM : 0;
	}
	return sb_error_set(err, EINVAL,
			    "%s: schema '%s' is not one report reads (%s, %s, %s, %s, %s)", path, schema,
			    SB_REPORT_SCHEMA, SB_RENDER_MATRIX_SCHEMA, SB_RENDER_COMPARE_SCHEMA, SB_RENDER_PAIRED_SCHEMA,
			    SB_RENDER_HISTORY_SCHEMA);
}

static int add_file(struct sb_rdoc *d, const char *path, struct sb_error *err)
{
	json_t *doc;
	int rc = load_file(path, &doc, err);
	if (rc < 0)
		return rc;
	rc = sb_rdoc_add_json(d, doc, path, err);
	json_decref(doc);
	return rc;
}

static int json_name(const struct dirent *e)
{
	size_t l = strlen(e->d_name);
	return e->d_name[0] != '.' && l > 5 && !strcmp(e->d_name + l - 5, ".json");
}

int sb_rdoc_add_path(struct sb_rdoc *d, const char *path, struct sb_error *err)
{
	if (!sb_is_dir(path))
		return add_file(d, path, err);
	char p[8192];
	snprintf(p, sizeof(p), "%s/matrix.json", path);
	struct stat st;
	if (stat(p, &st) == 0)
		return add_file(d, p, err);
	struct dirent **list;
	int n = scandir(path, &list, json_name, alphasort);
	if (n < 0)
		return sb_error_set(err, errno, "%s: cannot read the directory: %s", path, strerror(errno));
	int rc = n ? 0 : sb_error_set(err, ENOENT, "%s: no *.json in the directory", path);
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s", path, list[i]->d_name);
		if (!rc)
			rc = add_file(d, p, err);
		free(list[i]);
	}
	free(list);
	return rc;
}

/* ---------------------------------------------------------------- accessors */

json_t *sb_r_aggregate(const json_t *report, const char *metric)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(report, "aggregates"), i, a)
		if (!strcmp(sb_r_str(a, "metric"), metric))
			return a;
	return NULL;
}

double sb_r_num(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *sb_r_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

size_t sb_r_samples(const json_t *report, const char *metric, double **out)
{
	json_t *samples = json_object_get(report, "samples");
	*out = malloc((json_array_size(samples) + 1) * sizeof(double));
	if (!*out)
		return 0;
	size_t i, n = 0;
	json_t *s;
	json_array_foreach(samples, i, s) {
		if (json_is_true(json_object_get(s, "warmup")) || json_object_get(s, "error"))
			continue;
		json_t *v = json_object_get(json_object_get(s, "metrics"), metric);
		if (json_is_number(v))
			(*out)[n++] = json_number_value(v);
	}
	return n;
}

int sb_r_best_row(const struct sb_rscn *s, const struct sb_rmetric *m)
{
	int best = -1, have = 0;
	double bv = NAN;
	for (size_t i = 0; i < s->nrows; i++) {
		double v = sb_r_num(sb_r_aggregate(s->rows[i].report, m->name), "p50");
		if (!isfinite(v))
			continue;
		have++;
		if (best < 0 || (m->higher_is_better ? v > bv : v < bv)) {
			best = (int)i;
			bv = v;
		}
	}
	return have >= 2 ? best : -1;
}

bool sb_r_family(const char *metric, char *prefix, size_t plen, char *kind, long *number)
{
	/* The last "_c<digits>_" or "_box<digits>_" in the name. */
	const char *hit = NULL, *digits = NULL;
	char k = 0;
	for (const char *p = strchr(metric, '_'); p; p = strchr(p + 1, '_')) {
		const char *q = NULL;
		char kk = 0;
		if (p[1] == 'c' && p[2] >= '0' && p[2] <= '9')
			q = p + 2, kk = 'c';
		else if (!strncmp(p + 1, "box", 3) && p[4] >= '0' && p[4] <= '9')
			q = p + 4, kk = 'b';
		if (!q)
			continue;
		const char *e = q;
		while (*e >= '0' && *e <= '9')
			e++;
		if (*e == '_') {
			hit = p;
			digits = q;
			k = kk;
		}
	}
	if (!hit || hit == metric)
		return false;
	if (prefix)
		snprintf(prefix, plen, "%.*s", (int)(hit - metric), metric);
	if (kind)
		*kind = k;
	if (number)
		*number = strtol(digits, NULL, 10);
	return true;
}

size_t sb_r_headlines(const struct sb_rscn *s, size_t max, size_t *out)
{
	size_t nonfam = 0;
	for (size_t i = 0; i < s->nmetrics; i++)
		nonfam += !sb_r_family(s->metrics[i].name, NULL, 0, NULL, NULL);
	bool skip_fam = nonfam > 0;
	/* Pick greedily by coverage, then print in declared order. */
	bool *taken = calloc(s->nmetrics + 1, 1);
	size_t n = 0;
	while (taken && n < max) {
		size_t pick = s->nmetrics;
		for (size_t i = 0; i < s->nmetrics; i++) {
			if (taken[i] || (skip_fam && sb_r_family(s->metrics[i].name, NULL, 0, NULL, NULL)))
				continue;
			if (pick == s->nmetrics || s->metrics[i].have > s->metrics[pick].have)
				pick = i;
		}
		if (pick == s->nmetrics)
			break;
		taken[pick] = true;
		n++;
	}
	size_t k = 0;
	for (size_t i = 0; taken && i < s->nmetrics; i++)
		if (taken[i])
			out[k++] = i;
	free(taken);
	return k;
}

/* ---------------------------------------------------------------- the view */

static int driver_index(struct sb_rview *v, const char *name, bool add)
{
	for (size_t i = 0; i < v->ndrivers; i++)
		if (!strcmp(v->drivers[i], name))
			return (int)i;
	if (!add)
		return -1;
	const char **nd = realloc(v->drivers, (v->ndrivers + 1) * sizeof(*nd));
	if (!nd)
		return -1;
	v->drivers = nd;
	v->drivers[v->ndrivers] = name;
	return (int)v->ndrivers++;
}

int sb_rview_color(const struct sb_rview *v, const char *driver)
{
	int i = driver_index((struct sb_rview *)v, driver, false);
	return i < 0 ? 0 : i;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct sb_rrow *x = a, *y = b;
	return x->color != y->color ? x->color - y->color : strcmp(x->label, y->label);
}

int sb_rview_build(const struct sb_rdoc *d, struct sb_rview *v)
{
	memset(v, 0, sizeof(*v));
	size_t i, k;
	json_t *x, *y;
	/* Driver order: the matrices' driver lists first (the order the user asked for), then reports. */
	json_array_foreach(d->matrices, i, x)
		json_array_foreach(json_object_get(x, "drivers"), k, y)
			driver_index(v, sb_r_str(y, "name"), true);
	json_array_foreach(d->reports, i, x)
		driver_index(v, sb_r_str(json_object_get(x, "driver"), "name"), true);
	v->scn = calloc(json_array_size(d->reports) + 1, sizeof(*v->scn));
	if (!v->scn)
		return -ENOMEM;
	json_array_foreach(d->reports, i, x) {
		const char *name = sb_r_str(json_object_get(x, "scenario"), "name");
		struct sb_rscn *s = NULL;
		for (size_t j = 0; j < v->nscn; j++)
			if (!strcmp(v->scn[j].name, name))
				s = &v->scn[j];
		if (!s) {
			s = &v->scn[v->nscn++];
			s->name = name;
			s->axis = sb_r_str(json_object_get(x, "scenario"), "axis");
		}
		if (!*s->axis)
			s->axis = sb_r_str(json_object_get(x, "scenario"), "axis");
		struct sb_rrow *nr = realloc(s->rows, (s->nrows + 1) * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		s->rows = nr;
		struct sb_rrow *row = &s->rows[s->nrows++];
		row->report = x;
		row->driver = sb_r_str(json_object_get(x, "driver"), "name");
		row->color = sb_rview_color(v, row->driver);
		row->label = strdup(row->driver);
		if (!row->label)
			return -ENOMEM;
	}
	for (size_t j = 0; j < v->nscn; j++) {
		struct sb_rscn *s = &v->scn[j];
		/* A driver twice in one scenario (two runs): each row names its run. */
		for (size_t r = 0; r < s->nrows; r++) {
			size_t same = 0;
			for (size_t q = 0; q < s->nrows; q++)
				same += !strcmp(s->rows[q].driver, s->rows[r].driver);
			if (same > 1) {
				char lab[160];
				snprintf(lab, sizeof(lab), "%s (run %.8s)", s->rows[r].driver,
					 sb_r_str(json_object_get(s->rows[r].report, "run"), "id"));
				free(s->rows[r].label);
				s->rows[r].label = strdup(lab);
				if (!s->rows[r].label)
					return -ENOMEM;
			}
		}
		qsort(s->rows, s->nrows, sizeof(*s->rows), cmp_rows);
		for (size_t r = 0; r < s->nrows; r++) {
			json_array_foreach(json_object_get(s->rows[r].report, "aggregates"), k, y) {
				const char *m = sb_r_str(y, "metric");
				size_t q;
				for (q = 0; q < s->nmetrics && strcmp(s->metrics[q].name, m); q++)
					;
				if (q == s->nmetrics) {
					struct sb_rmetric *nm = realloc(s->metrics, (s->nmetrics + 1) * sizeof(*nm));
					if (!nm)
						return -ENOMEM;
					s->metrics = nm;
					s->metrics[q] = (struct sb_rmetric){.name = m, .unit = sb_r_str(y, "unit"),
									    .higher_is_better = json_is_true(json_object_get(y, "higher_is_better"))};
					s->nmetrics++;
				}
				s->metrics[q].have += isfinite(sb_r_num(y, "p50"));
			}
		}
	}
	return 0;
}

void sb_rview_free(struct sb_rview *v)
{
	for (size_t j = 0; j < v->nscn; j++) {
		for (size_t r = 0; r < v->scn[j].nrows; r++)
			free(v->scn[j].rows[r].label);
		free(v->scn[j].rows);
		free(v->scn[j].metrics);
	}
	free(v->scn);
	free(v->drivers);
	memset(v, 0, sizeof(*v));
}
