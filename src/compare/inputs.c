/* Loading one side of a comparison: a report, a directory of reports or a matrix summary. */
#include "compare/compare.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"

/* ---------------------------------------------------------------- inputs */

void sb_compare_input_free(struct sb_compare_input *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->n; i++) {
		json_decref(in->reports[i]);
		free(in->files[i]);
	}
	free(in->reports);
	free(in->files);
	free(in->path);
	memset(in, 0, sizeof(*in));
}

int sb_compare_input_push(struct sb_compare_input *in, json_t *r, const char *file, struct sb_error *err)
{
	json_t **nr = realloc(in->reports, (in->n + 1) * sizeof(*nr));
	if (nr)
		in->reports = nr;
	char **nf = realloc(in->files, (in->n + 1) * sizeof(*nf));
	if (nf)
		in->files = nf;
	char *f = strdup(file);
	if (!nr || !nf || !f) {
		free(f);
		json_decref(r);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	in->reports[in->n] = r;
	in->files[in->n++] = f;
	return 0;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Parse a file and tell what it is by its "schema". *root is set for every kind; the caller owns
 * it. Returns 'r' (a report/v1), 'm' (a matrix/v1), 'o' (another sandbench document that a
 * directory may legitimately hold), or a negative errno. */
static int load_any(const char *file, const char *label, json_t **root, struct sb_error *err)
{
	json_error_t je;
	*root = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!*root) {
		if (strstr(je.text, "unable to open"))
			return sb_error_set(err, ENOENT, "%s %s: cannot open: %s", label, file, je.text);
		return sb_error_set(err, EINVAL, "%s %s: malformed JSON at line %d: %s", label, file, je.line,
				    je.text);
	}
	const char *schema = json_string_value(json_object_get(*root, "schema"));
	if (!json_is_object(*root) || !schema)
		return sb_error_set(err, EINVAL, "%s %s: no 'schema' member (not a sandbench report)", label, file);
	if (strcmp(schema, SB_REPORT_SCHEMA) == 0)
		return 'r';
	if (strcmp(schema, SB_MATRIX_SCHEMA) == 0)
		return 'm';
	if (has_prefix(schema, "sandbench.report/") || has_prefix(schema, "sandbench.matrix/"))
		return sb_error_set(err, EINVAL,
				    "%s %s: schema mismatch: '%s' (compare reads %s and %s)", label, file,
				    schema, SB_REPORT_SCHEMA, SB_MATRIX_SCHEMA);
	if (has_prefix(schema, "sandbench."))
		return 'o';
	return sb_error_set(err, EINVAL, "%s %s: schema '%s' is not a sandbench report", label, file, schema);
}

static int add_report_root(struct sb_compare_input *in, json_t *root, const char *file, const char *label,
			   struct sb_error *err)
{
	char what[4200];
	snprintf(what, sizeof(what), "%s %s", label, file);
	int rc = sb_report_check(root, what, err);
	if (rc < 0) {
		json_decref(root);
		return rc;
	}
	return sb_compare_input_push(in, root, file, err);
}

static int load_matrix(struct sb_compare_input *in, json_t *root, const char *file, const char *label,
		       struct sb_error *err)
{
	json_t *list = json_object_get(root, "reports");
	if (!json_is_array(list))
		return sb_error_set(err, EINVAL, "%s %s: matrix summary has no 'reports' array", label, file);
	char *copy = strdup(file);
	if (!copy)
		return sb_error_set(err, ENOMEM, "out of memory");
	const char *dir = dirname(copy);
	size_t i;
	json_t *e;
	int rc = 0;
	json_array_foreach(list, i, e) {
		/* Entries are paths, or objects carrying the path under "report"/"path"; null entries
		 * stand for cells that produced no report. */
		const char *rel = json_string_value(e);
		if (!rel && json_is_object(e)) {
			rel = json_string_value(json_object_get(e, "report"));
			if (!rel)
				rel = json_string_value(json_object_get(e, "path"));
		}
		if (json_is_null(e))
			continue;
		if (!rel || !*rel) {
			rc = sb_error_set(err, EINVAL, "%s %s: reports[%zu] is not a path", label, file, i);
			break;
		}
		char path[4096];
		if (rel[0] == '/')
			snprintf(path, sizeof(path), "%s", rel);
		else
			snprintf(path, sizeof(path), "%s/%s", dir, rel);
		json_t *r;
		rc = load_any(path, label, &r, err);
		if (rc >= 0 && rc != 'r') {
			json_decref(r);
			r = NULL; /* released: the error path below must not release it again */
			rc = sb_error_set(err, EINVAL, "%s %s: reports[%zu] (%s) is not a report", label, file, i, path);
		}
		if (rc < 0) {
			json_decref(r);
			break;
		}
		if ((rc = add_report_root(in, r, path, label, err)) < 0)
			break;
	}
	free(copy);
	if (rc < 0)
		return rc;
	if (in->n == 0)
		return sb_error_set(err, EINVAL, "%s %s: matrix summary lists no reports", label, file);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct sb_compare_input *in, const char *path, const char *label, struct sb_error *err)
{
	DIR *d = opendir(path);
	if (!d)
		return sb_error_set(err, errno, "%s %s: cannot open directory: %s", label, path, strerror(errno));
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			names = nn ? nn : names;
			rc = sb_error_set(err, ENOMEM, "out of memory");
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (rc == 0 && n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char file[4096];
		snprintf(file, sizeof(file), "%s/%s", path, names[i]);
		json_t *root;
		rc = load_any(file, label, &root, err);
		if (rc == 'r') {
			rc = add_report_root(in, root, file, label, err);
		} else if (rc >= 0) {
			/* A summary or a compare/paired result saved next to the reports: the reports it
			 * points at are in the directory themselves. */
			in->skipped++;
			json_decref(root);
			rc = 0;
		} else {
			json_decref(root);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc < 0)
		return rc;
	if (in->n == 0)
		return sb_error_set(err, ENOENT, "%s %s: no sandbench reports in this directory", label, path);
	return 0;
}

int sb_compare_input_load(const char *path, const char *label, struct sb_compare_input *in,
			  struct sb_error *err)
{
	memset(in, 0, sizeof(*in));
	if (!(in->path = strdup(path)))
		return sb_error_set(err, ENOMEM, "out of memory");
	DIR *d = opendir(path);
	if (d) {
		closedir(d);
		in->kind = SB_INPUT_DIR;
		return load_dir(in, path, label, err);
	}
	json_t *root;
	int rc = load_any(path, label, &root, err);
	if (rc == 'r') {
		in->kind = SB_INPUT_REPORT;
		return add_report_root(in, root, path, label, err);
	}
	if (rc == 'm') {
		in->kind = SB_INPUT_MATRIX;
		rc = load_matrix(in, root, path, label, err);
		json_decref(root);
		return rc;
	}
	if (rc >= 0) {
		const char *schema = json_string_value(json_object_get(root, "schema"));
		rc = sb_error_set(err, EINVAL, "%s %s: a '%s' document, not a report or matrix summary", label,
				  path, schema);
	}
	json_decref(root);
	return rc;
}
