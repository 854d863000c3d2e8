/* The JSON file sink: every report (and matrix summary, paired document) as a file, written
 * atomically by sb_report_write. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/report.h"
#include "session/session.h"

struct json_sink {
	struct sb_sink base;
	enum sb_json_layout layout;
	char path[4096];
};

static const char *field(const json_t *r, const char *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(json_object_get(r, obj), key));
	return v ? v : "unknown";
}

static int json_on_report(struct sb_sink *sink, const json_t *report, char *where, size_t where_len,
			  struct sb_error *err)
{
	struct json_sink *j = (struct json_sink *)sink;
	char path[4096 + 512];
	const char *scn = field(report, "scenario", "name"), *drv = field(report, "driver", "name");
	int n;
	switch (j->layout) {
	case SB_JSON_FILE:
		n = snprintf(path, sizeof(path), "%s", j->path);
		break;
	case SB_JSON_MATRIX_DIR:
		n = snprintf(path, sizeof(path), "%s/%s--%s.json", j->path, scn, drv);
		break;
	default:
		n = snprintf(path, sizeof(path), "%s/%s--%s--%.8s.json", j->path, scn, drv, field(report, "run", "id"));
		break;
	}
	if (n < 0 || (size_t)n >= sizeof(path))
		return sb_error_set(err, ENAMETOOLONG, "report path under %s is too long", j->path);
	int rc = sb_report_write(report, path, err);
	if (rc == 0 && where && where_len && !where[0])
		snprintf(where, where_len, "%s", path);
	return rc;
}

static int json_on_matrix(struct sb_sink *sink, const json_t *summary, struct sb_error *err)
{
	struct json_sink *j = (struct json_sink *)sink;
	char path[4096 + 16];
	snprintf(path, sizeof(path), "%s/matrix.json", j->path);
	return sb_report_write(summary, path, err);
}

static int json_on_paired(struct sb_sink *sink, const json_t *paired, struct sb_error *err)
{
	struct json_sink *j = (struct json_sink *)sink;
	return j->layout == SB_JSON_FILE ? sb_report_write(paired, j->path, err) : 0;
}

static void json_close(struct sb_sink *sink)
{
	free(sink);
}

struct sb_sink *sb_sink_json_new(const char *path, enum sb_json_layout layout)
{
	struct json_sink *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->base = (struct sb_sink){.name = "json", .on_report = json_on_report, .on_matrix = json_on_matrix,
				   .on_paired = json_on_paired, .close = json_close};
	j->layout = layout;
	snprintf(j->path, sizeof(j->path), "%s", path);
	return &j->base;
}
