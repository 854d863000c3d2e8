#include "scenarios/wl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/util.h"

int sb_wl_setup(struct sb_scn_ctx *ctx, unsigned slots)
{
	struct sb_wl *w = calloc(1, sizeof(*w));
	if (!w)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = w;
	int rc = sb_scn_box_new(ctx, &w->box, NULL, NULL);
	if (rc == 0 && slots)
		rc = sb_pool_open(ctx, w->box, slots, &w->pool);
	return rc;
}

void sb_wl_teardown(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = ctx->state;
	if (!w)
		return;
	struct sb_error keep = *ctx->err;
	ctx->deadline_ns = sb_deadline_after(10);
	if (w->dir_made && w->pool.n) {
		const char *argv[] = {"rm", "-rf", w->dir, NULL};
		sb_wl_quiet(ctx, 0, argv);
	}
	if (w->host_tmp[0])
		sb_rm_rf(w->host_tmp);
	sb_pool_close(&w->pool);
	*ctx->err = keep;
	free(w);
	ctx->state = NULL;
}

static const char *slot_stderr(const struct sb_agent_response *r)
{
	return r->stderr_data ? r->stderr_data : "";
}

int sb_wl_json(struct sb_scn_ctx *ctx, unsigned slot, const char *const *argv, json_t **out)
{
	struct sb_wl *w = ctx->state;
	struct sb_agent_response r;
	*out = NULL;
	int rc = sb_pool_run_ok(ctx, &w->pool.slots[slot], argv, &r);
	if (rc == 0) {
		json_error_t je;
		*out = json_loadb(r.stdout_data ? r.stdout_data : "", r.stdout_len, 0, &je);
		if (!*out || !json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			rc = sb_error_set(ctx->err, EBADMSG, "agent %s printed no JSON line: %.120s %.80s", argv[1],
					  r.stdout_data ? r.stdout_data : "", slot_stderr(&r));
		}
	}
	sb_agent_response_clear(&r);
	return rc;
}

int sb_wl_num(struct sb_scn_ctx *ctx, json_t *obj, const char *key, double *out)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_number(v) || !(json_number_value(v) > 0))
		return sb_error_set(ctx->err, EBADMSG, "agent JSON lacks a positive '%s'", key);
	*out = json_number_value(v);
	return 0;
}

int sb_wl_metrics(struct sb_scn_ctx *ctx, json_t *obj, const struct sb_wl_field *fields, size_t n)
{
	double v;
	for (size_t i = 0; i < n; i++)
		if (sb_wl_num(ctx, obj, fields[i].key, &v) < 0)
			return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		sb_wl_num(ctx, obj, fields[i].key, &v);
		sb_scn_metric(ctx, fields[i].metric, v);
	}
	return 0;
}

void sb_wl_quiet(struct sb_scn_ctx *ctx, unsigned slot, const char *const *argv)
{
	struct sb_wl *w = ctx->state;
	if (!w || slot >= w->pool.n)
		return;
	struct sb_error keep = *ctx->err;
	struct sb_agent_response r;
	sb_pool_run_ok(ctx, &w->pool.slots[slot], argv, &r);
	sb_agent_response_clear(&r);
	*ctx->err = keep;
}

int sb_wl_fs_info(struct sb_scn_ctx *ctx, unsigned slot, const char *path, bool mkdir_it, char *fs, size_t fslen,
		  char *source, size_t srclen, bool *writable)
{
	const char *argv[] = {ctx->agent, "fs-info", path, mkdir_it ? "--mkdir" : NULL, NULL};
	json_t *j;
	int rc = sb_wl_json(ctx, slot, argv, &j);
	if (rc < 0)
		return rc;
	snprintf(fs, fslen, "%s", json_string_value(json_object_get(j, "fs")) ?: "?");
	if (source)
		snprintf(source, srclen, "%s", json_string_value(json_object_get(j, "source")) ?: "?");
	if (writable)
		*writable = json_is_true(json_object_get(j, "writable"));
	json_decref(j);
	return 0;
}

int sb_wl_pick_dir(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = ctx->state;
	const char *dir = sb_scn_param(ctx, "dir");
	char fs[64], src[256];
	bool writable = false;
	int rc;
	if (dir && strcmp(dir, "auto") != 0) {
		snprintf(w->dir, sizeof(w->dir), "%s", dir);
		if ((rc = sb_wl_fs_info(ctx, 0, w->dir, false, fs, sizeof(fs), src, sizeof(src), &writable)) < 0)
			return sb_error_prefix(ctx->err, "dir=%s", dir);
	} else if (ctx->drv->caps & SB_CAP_ISOLATION) {
		/* The sandbox's own root: what a program writing to its filesystem gets. */
		snprintf(w->dir, sizeof(w->dir), "/sandbench-io");
		rc = sb_wl_fs_info(ctx, 0, w->dir, true, fs, sizeof(fs), src, sizeof(src), &writable);
		if (rc == 0 && writable) {
			w->dir_made = true;
			/* Inside, an overlay says "overlay"; what lies under its upper dir (a disk or
			 * memory) is the runtime's to say, where it can. */
			struct sb_box_info info;
			memset(&info, 0, sizeof(info));
			if (sb_drv_inspect(ctx->drv, w->box, &info, ctx->deadline_ns, ctx->err) == 0 && info.layer_fs[0])
				sb_scn_tag(ctx, "disk_fs_upper", "%s", info.layer_fs);
			sb_error_clear(ctx->err);
		} else {
			sb_error_clear(ctx->err);
			sb_scn_tag(ctx, "disk_dir_note", "the sandbox's root filesystem is read-only here: /tmp used");
			snprintf(w->dir, sizeof(w->dir), "/tmp");
			if ((rc = sb_wl_fs_info(ctx, 0, w->dir, false, fs, sizeof(fs), src, sizeof(src), &writable)) < 0)
				return rc;
		}
	} else {
		/* No sandbox: the host's own disk, in a directory of this run. */
		snprintf(w->dir, sizeof(w->dir), "/var/tmp/sandbench-io-%.8s", ctx->run_id);
		if ((rc = sb_wl_fs_info(ctx, 0, w->dir, true, fs, sizeof(fs), src, sizeof(src), &writable)) < 0)
			return rc;
		w->dir_made = true;
	}
	if (!writable)
		return sb_error_set(ctx->err, EROFS, "%s is not writable inside the sandbox", w->dir);
	sb_scn_tag(ctx, "disk_dir", "%s", w->dir);
	sb_scn_tag(ctx, "disk_fs", "%s", fs);
	sb_scn_tag(ctx, "disk_fs_source", "%s", src);
	return 0;
}

int sb_wl_host_tmp(struct sb_scn_ctx *ctx, const char *base)
{
	struct sb_wl *w = ctx->state;
	snprintf(w->host_tmp, sizeof(w->host_tmp), "%s/sandbench-%.8s-XXXXXX", base ? base : "/tmp", ctx->run_id);
	if (!mkdtemp(w->host_tmp)) {
		int e = errno;
		w->host_tmp[0] = '\0';
		return sb_error_set(ctx->err, e, "making a scratch directory under %s: %s", base ? base : "/tmp",
				    strerror(e));
	}
	/* Readable for a sandbox whose root user is mapped to another uid. */
	chmod(w->host_tmp, 0777);
	return 0;
}

int sb_wl_host_start(struct sb_scn_ctx *ctx, const char *const *args, int64_t deadline_ns,
		     struct sb_wl_host_proc *hp)
{
	struct sb_wl *w = ctx->state;
	memset(hp, 0, sizeof(*hp));
	if (!w->host_tmp[0]) {
		int rc = sb_wl_host_tmp(ctx, NULL);
		if (rc < 0)
			return rc;
	}
	if (!ctx->spec.agent_path || !ctx->spec.agent_path[0])
		return sb_error_set(ctx->err, ENOENT, "sandbench-agent was not found on the host (the host's end)");
	unsigned n = w->seq++;
	snprintf(hp->out_path, sizeof(hp->out_path), "%s/host-%u.out", w->host_tmp, n);
	snprintf(hp->err_path, sizeof(hp->err_path), "%s/host-%u.err", w->host_tmp, n);
	const char *argv[32];
	size_t k = 0;
	argv[k++] = ctx->spec.agent_path;
	for (size_t i = 0; args[i] && k < 31; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	int out = open(hp->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int err = open(hp->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = out < 0 || err < 0 ? -errno : 0;
	if (rc == 0) {
		struct sb_spawn sp = {.argv = argv, .fd = {-1, out, err, -1}, .null_missing = true};
		rc = sb_spawn(&sp, &hp->pid);
	}
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	if (rc < 0) {
		hp->pid = 0;
		return sb_error_set(ctx->err, -rc, "starting the host's end (%s %s): %s", argv[0], args[0], strerror(-rc));
	}
	hp->deadline_ns = deadline_ns;
	return 0;
}

void sb_wl_host_kill(struct sb_wl_host_proc *hp)
{
	if (hp->pid > 0)
		sb_proc_kill_group(hp->pid);
	hp->pid = 0;
}

int sb_wl_host_wait(struct sb_scn_ctx *ctx, struct sb_wl_host_proc *hp, const char *what, json_t **out)
{
	*out = NULL;
	if (hp->pid <= 0)
		return sb_error_set(ctx->err, ESRCH, "%s: the host's end is not running", what);
	int status = 0;
	int rc = sb_proc_wait_deadline(hp->pid, hp->deadline_ns, &status);
	hp->pid = 0;
	char first[200] = "";
	sb_read_line(hp->err_path, first, sizeof(first));
	if (rc == -ETIMEDOUT)
		return sb_error_set(ctx->err, ETIME, "%s: the host's end was killed at its deadline%s%s", what,
				    first[0] ? ": " : "", first);
	if (rc < 0)
		return sb_error_set(ctx->err, -rc, "%s: waiting for the host's end: %s", what, strerror(-rc));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* Exit 3 is the agent's own deadline (docs/agent-protocol.md). */
		bool deadline = WIFEXITED(status) && WEXITSTATUS(status) == 3;
		return sb_error_set(ctx->err, deadline ? ETIME : EIO, "%s: the host's end %s%s%s", what,
				    deadline ? "passed its deadline and was stopped" : "failed",
				    first[0] ? ": " : "", first);
	}
	json_error_t je;
	*out = json_load_file(hp->out_path, 0, &je);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return sb_error_set(ctx->err, EBADMSG, "%s: the host's end printed no JSON line", what);
	}
	return 0;
}

int sb_wl_host_run(struct sb_scn_ctx *ctx, const char *const *args, int64_t deadline_ns, const char *what,
		   json_t **out)
{
	struct sb_wl_host_proc hp;
	*out = NULL;
	int rc = sb_wl_host_start(ctx, args, deadline_ns, &hp);
	return rc < 0 ? rc : sb_wl_host_wait(ctx, &hp, what, out);
}

double sb_wl_slope(const double *x, const double *y, size_t n)
{
	if (n < 2)
		return 0;
	double mx = 0, my = 0;
	for (size_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		num += (x[i] - mx) * (y[i] - my);
		den += (x[i] - mx) * (x[i] - mx);
	}
	return den > 0 ? num / den : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double sb_wl_percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}
