/* Fuzz target: a report as `baseline save` and `baseline check` handle it (src/store/baseline.c):
 * loaded like any compare side, saved under a baselines directory named after its host class,
 * driver and version, loaded back as the baseline of itself and compared with it. Everything saved
 * must stay under the baselines directory, and a report that was saved must be found again. */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compare/compare.h"
#include "core/util.h"
#include "fuzz.h"
#include "store/baseline.h"

/* Files under dir, at any depth. */
static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			n += count_files(path);
		else
			n++;
	}
	closedir(d);
	return n;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *dir = fuzz_tmpdir();
	char box[PATH_MAX], root[PATH_MAX];
	/* The baselines live two levels down, so a name that climbs out lands inside box, where it is
	 * seen. */
	snprintf(box, sizeof(box), "%s/box", dir);
	snprintf(root, sizeof(root), "%s/box/in/baselines", dir);
	if (sb_mkdir_p(root, 0755) < 0)
		abort();
	const char *path = fuzz_write(dir, "in.json", data, size);
	struct sb_compare_input cur;
	struct sb_error err = {0};
	if (sb_compare_input_load(path, "current", &cur, &err) == 0) {
		size_t saved = 0, skipped = 0;
		int rc = sb_baseline_save(root, &cur, &saved, &skipped, &err);
		size_t inside = count_files(root), all = count_files(box);
		if (all != inside)
			abort(); /* a file was written outside the baselines directory */
		if (rc == 0 && inside < saved)
			abort();
		struct sb_compare_input base;
		int lrc = sb_baseline_load(root, &cur, &base, &err);
		if (rc == 0 && saved > 0 && lrc < 0)
			abort(); /* saved, but not found again */
		if (lrc == 0) {
			struct sb_compare_opts o = {
				.defaults = {.statistic = SB_STAT_P50, .threshold = 0.10, .alpha = 0.05, .min_change = -1,
					     .drift = -1, .entry = -1},
			};
			json_t *res = NULL;
			if (sb_compare(&base, &cur, &o, &res, &err) == 0)
				json_decref(res);
		}
		sb_compare_input_free(&base);
	}
	sb_compare_input_free(&cur);
	remove_tree(box);
	return 0;
}
