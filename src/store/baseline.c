/* Baselines from the store's history or from files saved per host class. */
#include "store/baseline.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/report.h"
#include "core/util.h"
#include "store/hostclass.h"
#include "store/query.h"

static const char *field(const json_t *r, const char *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(json_object_get(r, obj), key));
	return v ? v : "";
}

static bool already(const struct sb_compare_input *in, const json_t *r)
{
	for (size_t i = 0; i < in->n; i++)
		if (!strcmp(field(in->reports[i], "run", "id"), field(r, "run", "id")) &&
		    !strcmp(field(in->reports[i], "scenario", "name"), field(r, "scenario", "name")) &&
		    !strcmp(field(in->reports[i], "driver", "name"), field(r, "driver", "name")))
			return true;
	return false;
}

int sb_store_history_input(struct sb_store *s, const struct sb_compare_input *cur, size_t n,
			   struct sb_compare_input *base, struct sb_error *err)
{
	memset(base, 0, sizeof(*base));
	char label[64];
	snprintf(label, sizeof(label), "history (last %zu runs)", n);
	if (!(base->path = strdup(label)))
		return sb_error_set(err, ENOMEM, "out of memory");
	base->kind = SB_INPUT_DIR;
	const json_t *first_missing = NULL;
	int rc = 0;
	for (size_t i = 0; i < cur->n && rc == 0; i++) {
		const json_t *r = cur->reports[i];
		if (strcmp(json_string_value(json_object_get(r, "status")) ?: "", "ok") != 0)
			continue;
		json_t **list;
		size_t k;
		if ((rc = sb_store_recent_reports(s, r, n, &list, &k, err)) < 0)
			break;
		if (k == 0 && !first_missing)
			first_missing = r;
		for (size_t j = 0; j < k; j++) {
			if (rc == 0 && !already(base, list[j])) {
				char name[128];
				snprintf(name, sizeof(name), "store:%s--%s--%.8s", field(list[j], "scenario", "name"),
					 field(list[j], "driver", "name"), field(list[j], "run", "id"));
				rc = sb_compare_input_push(base, list[j], name, err);
			} else {
				json_decref(list[j]);
			}
		}
		free(list);
	}
	if (rc == 0 && base->n == 0) {
		char cls[512];
		const json_t *r = first_missing ? first_missing : (cur->n ? cur->reports[0] : NULL);
		sb_host_class(r ? json_object_get(json_object_get(r, "run"), "host") : NULL, cls, sizeof(cls));
		rc = sb_error_set(err, ENOENT,
				  "no history for %s on %s (driver %s, host class '%s', same parameters) in %s",
				  r ? field(r, "scenario", "name") : "?", r ? field(r, "driver", "name") : "?",
				  r ? field(r, "driver", "version") : "?", cls, sb_store_where(s));
	}
	return rc;
}

int sb_baseline_dir(const char *root, const json_t *report, char *buf, size_t len)
{
	char cls[256], ver[128], drv[128];
	sb_host_class_slug(json_object_get(json_object_get(report, "run"), "host"), cls, sizeof(cls));
	sb_slugify(field(report, "driver", "version"), ver, sizeof(ver));
	sb_slugify(field(report, "driver", "name"), drv, sizeof(drv));
	int n = snprintf(buf, len, "%s/%s/%s--%s", root, cls, drv, ver[0] ? ver : "unknown");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* A saved run's file name: "<scenario>--<run id, 8 characters>.json", both slugged, as a report's
 * names are free text and must neither leave the directory nor hide its run. A slug never holds
 * "--", so the separator is unambiguous. */
static void run_file_name(const json_t *r, char *buf, size_t len)
{
	char scn[128], id[128];
	sb_slugify(field(r, "scenario", "name"), scn, sizeof(scn));
	sb_slugify(field(r, "run", "id"), id, sizeof(id));
	snprintf(buf, len, "%s--%.8s.json", scn[0] ? scn : "unnamed", id[0] ? id : "run");
}

/* The saved runs of one scenario (slugged) in a baseline directory. */
static bool is_run_of(const char *name, const char *scenario)
{
	size_t l = strlen(scenario), n = strlen(name);
	if (!has_prefix(name, scenario) || name[l] != '-' || name[l + 1] != '-' || n < l + 2 + 1 + 5 ||
	    n > l + 2 + 8 + 5 || strcmp(name + n - 5, ".json") != 0)
		return false;
	for (size_t i = l + 2; i < n - 5; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return false;
	return true;
}

static void scenario_slug(const json_t *r, char *buf, size_t len)
{
	sb_slugify(field(r, "scenario", "name"), buf, len);
	if (!buf[0])
		snprintf(buf, len, "unnamed");
}

int sb_baseline_save(const char *root, const struct sb_compare_input *in, size_t *saved, size_t *skipped,
		     struct sb_error *err)
{
	*saved = *skipped = 0;
	/* First clear what was saved before for each (directory, scenario) this save replaces, then
	 * write: several runs of one scenario in the input are all kept. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < in->n; i++) {
			const json_t *r = in->reports[i];
			if (strcmp(json_string_value(json_object_get(r, "status")) ?: "", "ok") != 0) {
				*skipped += pass;
				continue;
			}
			char dir[4096], path[4200];
			if (sb_baseline_dir(root, r, dir, sizeof(dir)) < 0)
				return sb_error_set(err, ENAMETOOLONG, "baseline path under %s too long", root);
			char scn[128];
			scenario_slug(r, scn, sizeof(scn));
			if (pass == 0) {
				DIR *d = opendir(dir);
				struct dirent *e;
				while (d && (e = readdir(d)))
					if (is_run_of(e->d_name, scn)) {
						snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
						if (unlink(path) < 0 && errno != ENOENT) {
							int e2 = errno;
							closedir(d);
							return sb_error_set(err, e2, "cannot replace %s: %s", path, strerror(e2));
						}
					}
				if (d)
					closedir(d);
				continue;
			}
			if (sb_mkdir_p(dir, 0755) < 0)
				return sb_error_set(err, errno, "cannot create %s: %s", dir, strerror(errno));
			char name[160];
			run_file_name(r, name, sizeof(name));
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			int rc = sb_report_write(r, path, err);
			if (rc < 0)
				return rc;
			(*saved)++;
		}
	}
	return 0;
}

int sb_baseline_load(const char *root, const struct sb_compare_input *cur, struct sb_compare_input *base,
		     struct sb_error *err)
{
	memset(base, 0, sizeof(*base));
	if (!(base->path = strdup(root)))
		return sb_error_set(err, ENOMEM, "out of memory");
	base->kind = SB_INPUT_DIR;
	char missing[4096] = "";
	int rc = 0;
	for (size_t i = 0; i < cur->n && rc == 0; i++) {
		const json_t *r = cur->reports[i];
		char dir[4096];
		if (sb_baseline_dir(root, r, dir, sizeof(dir)) < 0)
			return sb_error_set(err, ENAMETOOLONG, "baseline path under %s too long", root);
		char scn[128];
		scenario_slug(r, scn, sizeof(scn));
		DIR *d = opendir(dir);
		size_t before = base->n;
		struct dirent *e;
		char **names = NULL;
		size_t nn = 0;
		while (d && (e = readdir(d))) {
			if (!is_run_of(e->d_name, scn))
				continue;
			char **g = realloc(names, (nn + 1) * sizeof(char *));
			if (!g)
				break;
			names = g;
			if ((names[nn] = strdup(e->d_name)))
				nn++;
		}
		if (d)
			closedir(d);
		for (size_t k = 0; k < nn; k++) {
			char path[4200];
			snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
			json_t *b;
			if (rc == 0 && (rc = sb_report_load(path, &b, err)) == 0 && !already(base, b))
				rc = sb_compare_input_push(base, b, path, err);
			else if (rc == 0)
				json_decref(b);
			free(names[k]);
		}
		free(names);
		if (base->n == before && !missing[0] && !already(base, r))
			snprintf(missing, sizeof(missing), "%s on %s: no baseline in %s", field(r, "scenario", "name"),
				 field(r, "driver", "name"), dir);
	}
	if (rc == 0 && base->n == 0)
		rc = sb_error_set(err, ENOENT, "%s (save one with: sandbench baseline save REPORT...)",
				  missing[0] ? missing : "no reports to check");
	return rc;
}
