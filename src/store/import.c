/* `history import`: existing JSON documents into the store. Keys (run id + scenario + driver +
 * side) make a second import of the same files change nothing. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/report.h"
#include "store/store.h"

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool is_json_name(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".json") == 0 && name[0] != '.';
}

static int import_file(struct sb_store *s, const char *file, bool follow_matrix, struct sb_store_import_stats *st,
		       struct sb_error *err);

/* A matrix summary imported on its own: the reports it lists come along (relative to it). */
static int import_matrix_reports(struct sb_store *s, const json_t *summary, const char *file,
				 struct sb_store_import_stats *st, struct sb_error *err)
{
	char *copy = strdup(file);
	if (!copy)
		return sb_error_set(err, ENOMEM, "out of memory");
	const char *dir = dirname(copy);
	size_t i;
	json_t *e;
	int rc = 0;
	json_array_foreach(json_object_get(summary, "reports"), i, e) {
		const char *rel = json_is_string(e) ? json_string_value(e) : json_string_value(json_object_get(e, "path"));
		if (!rel)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s%s%s", rel[0] == '/' ? "" : dir, rel[0] == '/' ? "" : "/", rel);
		if ((rc = import_file(s, path, false, st, err)) < 0)
			break;
	}
	free(copy);
	return rc;
}

static int import_file(struct sb_store *s, const char *file, bool follow_matrix, struct sb_store_import_stats *st,
		       struct sb_error *err)
{
	json_error_t je;
	st->files++;
	json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		if (strstr(je.text, "unable to open"))
			return sb_error_set(err, ENOENT, "%s: cannot open: %s", file, je.text);
		return sb_error_set(err, EINVAL, "%s: malformed JSON at line %d: %s", file, je.line, je.text);
	}
	const char *schema = json_string_value(json_object_get(doc, "schema"));
	int rc = 0;
	if (!schema || !has_prefix(schema, "sandbench.")) {
		st->skipped++; /* not a sandbench document: not ours to judge */
	} else if (!strcmp(schema, SB_REPORT_SCHEMA)) {
		if ((rc = sb_store_record_report(s, doc, &st->results, err)) == 0)
			st->documents++;
	} else if (!strcmp(schema, "sandbench.matrix/v1")) {
		if ((rc = sb_store_record_matrix(s, doc, &st->results, err)) == 0) {
			st->documents++;
			if (follow_matrix)
				rc = import_matrix_reports(s, doc, file, st, err);
		}
	} else if (!strcmp(schema, "sandbench.paired/v1")) {
		if ((rc = sb_store_record_paired(s, doc, &st->results, err)) == 0)
			st->documents++;
	} else if (has_prefix(schema, "sandbench.report/") || has_prefix(schema, "sandbench.matrix/") ||
		   has_prefix(schema, "sandbench.paired/")) {
		rc = sb_error_set(err, EINVAL, "schema '%s' is not one this sandbench reads", schema);
	} else {
		st->skipped++; /* compare results, budgets, SLO files ... */
	}
	json_decref(doc);
	if (rc < 0 && !strstr(err->msg, file))
		sb_error_prefix(err, "%s", file);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files in name order, so an import is reproducible; subdirectories after the files. */
static int import_dir(struct sb_store *s, const char *dir, struct sb_store_import_stats *st, struct sb_error *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return sb_error_set(err, errno, "%s: cannot open directory: %s", dir, strerror(errno));
	char **files = NULL, **dirs = NULL;
	size_t nf = 0, nd = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[4096];
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		struct stat sb;
		if (stat(path, &sb) < 0)
			continue;
		char ***list = S_ISDIR(sb.st_mode) ? &dirs : S_ISREG(sb.st_mode) && is_json_name(e->d_name) ? &files : NULL;
		size_t *n = list == &dirs ? &nd : &nf;
		if (!list)
			continue;
		char **grown = realloc(*list, (*n + 1) * sizeof(char *));
		if (!grown || !(grown[*n] = strdup(path))) {
			if (grown)
				*list = grown;
			rc = sb_error_set(err, ENOMEM, "out of memory");
			break;
		}
		*list = grown;
		(*n)++;
	}
	closedir(d);
	if (files)
		qsort(files, nf, sizeof(char *), cmp_str);
	if (dirs)
		qsort(dirs, nd, sizeof(char *), cmp_str);
	for (size_t i = 0; i < nf && rc == 0; i++)
		rc = import_file(s, files[i], false, st, err);
	for (size_t i = 0; i < nd && rc == 0; i++)
		rc = import_dir(s, dirs[i], st, err);
	for (size_t i = 0; i < nf; i++)
		free(files[i]);
	for (size_t i = 0; i < nd; i++)
		free(dirs[i]);
	free(files);
	free(dirs);
	return rc;
}

int sb_store_import(struct sb_store *s, const char *path, struct sb_store_import_stats *st, struct sb_error *err)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return sb_error_set(err, errno, "%s: %s", path, strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return import_dir(s, path, st, err);
	return import_file(s, path, true, st, err);
}
