/* Bytes in and out of a sandbox by the ways around its network: the driver's own copy path
 * (box_copy_in/out, what `docker cp` users feel), the sandbox's filesystem as a tar stream, and
 * what forwarding ports costs a sandbox's start.
 *
 * Export and import run busybox tar inside the sandbox through box_exec (stdout counted on the
 * host, stdin fed from the host) rather than through a new vtable op: every driver that can exec
 * gets them, the work inside is the same everywhere, and what differs is the runtime's stdio and
 * filesystem path. Engines' own `export` commands are a different path and are not measured. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/util.h"
#include "scenarios/wl.h"

static const struct sb_param_def copy_params[] = {
	{"size", "64M", "bytes copied per iteration", "size"},
	{NULL, NULL, NULL, NULL},
};

static int size_param(struct sb_scn_ctx *ctx, uint64_t *size)
{
	int rc = sb_scn_param_size(ctx, "size", size);
	if (rc == 0 && *size == 0)
		rc = sb_error_set(ctx->err, EINVAL, "parameter size must be > 0");
	return rc;
}

/* A host file of size bytes that no layer can compress or dedupe. */
static int host_file(struct sb_scn_ctx *ctx, const char *path, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return sb_error_set(ctx->err, errno, "create %s: %s", path, strerror(errno));
	static uint64_t buf[8192];
	uint64_t x = 0x9e3779b97f4a7c15ull ^ size;
	int rc = 0;
	for (uint64_t done = 0; done < size && rc == 0;) {
		for (size_t i = 0; i < sizeof(buf) / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		size_t n = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
		ssize_t w = write(fd, buf, n);
		if (w <= 0)
			rc = sb_error_set(ctx->err, w < 0 ? errno : ENOSPC, "write %s", path);
		else
			done += (uint64_t)w;
	}
	close(fd);
	return rc;
}

static int copy_setup(struct sb_scn_ctx *ctx)
{
	uint64_t size = 0;
	int rc = size_param(ctx, &size);
	if (rc == 0)
		rc = sb_wl_setup(ctx, 1);
	if (rc == 0)
		rc = sb_wl_host_tmp(ctx, "/var/tmp");
	return rc;
}

/* The size of path inside the box, by the agent (independent of the copy path). */
static int box_size(struct sb_scn_ctx *ctx, const char *path, uint64_t *out)
{
	const char *argv[] = {ctx->agent, "fs-info", path, NULL};
	json_t *j;
	int rc = sb_wl_json(ctx, 0, argv, &j);
	if (rc < 0)
		return rc;
	json_t *v = json_object_get(j, "size_bytes");
	*out = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
	json_decref(j);
	return 0;
}

static int copy_in_prewarm(struct sb_scn_ctx *ctx)
{
	uint64_t size = 0;
	char src[320];
	snprintf(src, sizeof(src), "%s/in", sb_wl(ctx)->host_tmp);
	int rc = size_param(ctx, &size);
	return rc < 0 ? rc : host_file(ctx, src, size);
}

static int copy_in_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	uint64_t size, got = 0;
	int rc = size_param(ctx, &size);
	if (rc < 0)
		return rc;
	char src[320], dst[96];
	snprintf(src, sizeof(src), "%s/in", w->host_tmp);
	snprintf(dst, sizeof(dst), "/sandbench-copy-in-%u", ctx->iteration);
	int64_t t0 = sb_now_ns();
	rc = sb_drv_copy_in(ctx->drv, w->box, src, dst, ctx->deadline_ns, ctx->err);
	double secs = (double)(sb_now_ns() - t0) / 1e9;
	if (rc == 0)
		rc = box_size(ctx, dst, &got);
	if (rc == 0 && got != size)
		rc = sb_error_set(ctx->err, EIO, "copied %" PRIu64 " bytes in, the sandbox sees %" PRIu64, size, got);
	if (rc == 0) {
		sb_scn_metric(ctx, "copy_in_mib_per_s", (double)size / 1048576.0 / secs);
		sb_scn_metric(ctx, "copy_in_ms", secs * 1e3);
	}
	const char *rm[] = {"rm", "-f", dst, NULL};
	sb_wl_quiet(ctx, 0, rm);
	return rc;
}

#define COPY_OUT_PATH "/sandbench-copy-out"

static int copy_out_prewarm(struct sb_scn_ctx *ctx)
{
	uint64_t size = 0;
	int rc = size_param(ctx, &size);
	if (rc < 0)
		return rc;
	char size_s[32];
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	const char *argv[] = {ctx->agent, "disk-write", COPY_OUT_PATH, "--size", size_s, NULL};
	json_t *j = NULL;
	rc = sb_wl_json(ctx, 0, argv, &j);
	json_decref(j);
	return rc;
}

static int copy_out_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	uint64_t size = 0;
	int rc = size_param(ctx, &size);
	if (rc < 0)
		return rc;
	char dst[320];
	snprintf(dst, sizeof(dst), "%s/out-%u", w->host_tmp, ctx->iteration);
	int64_t t0 = sb_now_ns();
	rc = sb_drv_copy_out(ctx->drv, w->box, COPY_OUT_PATH, dst, ctx->deadline_ns, ctx->err);
	double secs = (double)(sb_now_ns() - t0) / 1e9;
	struct stat st;
	if (rc == 0 && (stat(dst, &st) < 0 || (uint64_t)st.st_size != size))
		rc = sb_error_set(ctx->err, EIO, "copied out %s, the host has %lld of %" PRIu64 " bytes", COPY_OUT_PATH,
				  (long long)(stat(dst, &st) == 0 ? st.st_size : -1), size);
	if (rc == 0) {
		sb_scn_metric(ctx, "copy_out_mib_per_s", (double)size / 1048576.0 / secs);
		sb_scn_metric(ctx, "copy_out_ms", secs * 1e3);
	}
	unlink(dst);
	return rc;
}

/* ---- export / import through tar ---- */

/* The data goes where the disk scenarios write: the sandbox's root when it is writable, else (a
 * read-only root such as bwrap's) its /tmp, which the export's tar of / takes in as well. */
static int export_prewarm(struct sb_scn_ctx *ctx)
{
	uint64_t size = 0;
	int rc = size_param(ctx, &size);
	if (rc == 0)
		rc = sb_wl_pick_dir(ctx);
	if (rc < 0)
		return rc;
	char size_s[32], dir[300], data[320];
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	snprintf(dir, sizeof(dir), "%s/export", sb_wl(ctx)->dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	const char *mk[] = {ctx->agent, "fs-info", dir, "--mkdir", NULL};
	const char *argv[] = {ctx->agent, "disk-write", data, "--size", size_s, NULL};
	json_t *j = NULL;
	rc = sb_wl_json(ctx, 0, mk, &j);
	json_decref(j);
	j = NULL;
	if (rc == 0)
		rc = sb_wl_json(ctx, 0, argv, &j);
	json_decref(j);
	return rc;
}

/* The whole root but the kernel's pseudo-filesystems, as one tar stream on stdout. */
static const char export_script[] =
	"cd / && exec tar -cf - $(ls -A | grep -v -x -e proc -e sys -e dev)";

static int export_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t size = 0;
	int rc = size_param(ctx, &size);
	if (rc < 0)
		return rc;
	const char *argv[] = {"sh", "-c", export_script, NULL};
	struct sb_exec_req req = {.argv = argv, .discard_stdout = true, .deadline_ns = ctx->deadline_ns};
	struct sb_proc_result res = {0};
	rc = sb_drv_exec(ctx->drv, sb_wl(ctx)->box, &req, &res, ctx->err);
	if (rc == 0 && res.exit_code != 0)
		rc = sb_error_set(ctx->err, EIO, "tar inside the sandbox exited %d: %.200s", res.exit_code,
				  res.err ? res.err : "");
	/* The stream must at least hold the data written for it. */
	if (rc == 0 && res.out_bytes < size)
		rc = sb_error_set(ctx->err, EBADMSG, "the tar stream has %" PRIu64 " bytes, less than the %" PRIu64
				  " written for it", res.out_bytes, size);
	if (rc == 0) {
		double secs = (double)(res.end_ns - res.start_ns) / 1e9;
		sb_scn_metric(ctx, "export_mib_per_s", (double)res.out_bytes / 1048576.0 / secs);
		sb_scn_metric(ctx, "export_ms", secs * 1e3);
		sb_scn_tag(ctx, "export_bytes", "%" PRIu64, res.out_bytes);
	}
	sb_proc_result_free(&res);
	return rc;
}

struct import_state {
	char *tar;
	size_t len;
};

/* The tar stream is made on the host once (host tar of a directory holding one file of size). It
 * is unpacked where the disk scenarios write (the root, or /tmp under a read-only root). */
static int import_prewarm(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	uint64_t size = 0;
	int rc = size_param(ctx, &size);
	if (rc == 0)
		rc = sb_wl_pick_dir(ctx);
	if (rc < 0)
		return rc;
	char dir[320], file[340];
	snprintf(dir, sizeof(dir), "%s/src", w->host_tmp);
	snprintf(file, sizeof(file), "%s/data", dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return sb_error_set(ctx->err, errno, "mkdir %s: %s", dir, strerror(errno));
	if ((rc = host_file(ctx, file, size)) < 0)
		return rc;
	struct import_state *is = calloc(1, sizeof(*is));
	if (!is)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	w->own = is;
	const char *argv[] = {"tar", "-cf", "-", "-C", dir, ".", NULL};
	struct sb_proc_opts po = {.argv = argv, .out_cap = (size_t)size + (16u << 20), .deadline_ns = ctx->deadline_ns,
				  .extra_fd = -1};
	struct sb_proc_result res = {0};
	rc = sb_proc_run(&po, &res, ctx->err);
	if (rc == 0 && (res.exit_code != 0 || res.out_truncated || !res.out))
		rc = sb_error_set(ctx->err, EIO, "host tar exited %d", res.exit_code);
	if (rc == 0) {
		is->tar = res.out;
		is->len = res.out_len;
		res.out = NULL;
	}
	sb_proc_result_free(&res);
	return rc;
}

static int import_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	struct import_state *is = w->own;
	uint64_t size, got = 0;
	int rc = size_param(ctx, &size);
	if (rc < 0)
		return rc;
	char dst[300], file[320];
	snprintf(dst, sizeof(dst), "%s/import-%u", w->dir, ctx->iteration);
	snprintf(file, sizeof(file), "%s/data", dst);
	const char *argv[] = {"sh", "-c", "mkdir -p \"$1\" && exec tar -xf - -C \"$1\"", "sh", dst, NULL};
	struct sb_exec_req req = {.argv = argv, .stdin_data = is->tar, .stdin_len = is->len,
				  .deadline_ns = ctx->deadline_ns};
	struct sb_proc_result res = {0};
	rc = sb_drv_exec(ctx->drv, w->box, &req, &res, ctx->err);
	if (rc == 0 && res.exit_code != 0)
		rc = sb_error_set(ctx->err, EIO, "tar -x inside the sandbox exited %d: %.200s", res.exit_code,
				  res.err ? res.err : "");
	double secs = (double)(res.end_ns - res.start_ns) / 1e9;
	if (rc == 0)
		rc = box_size(ctx, file, &got);
	if (rc == 0 && got != size)
		rc = sb_error_set(ctx->err, EIO, "imported %" PRIu64 " bytes, the sandbox sees %" PRIu64, size, got);
	if (rc == 0) {
		sb_scn_metric(ctx, "import_mib_per_s", (double)is->len / 1048576.0 / secs);
		sb_scn_metric(ctx, "import_ms", secs * 1e3);
	}
	sb_proc_result_free(&res);
	const char *rm[] = {"rm", "-rf", dst, NULL};
	sb_wl_quiet(ctx, 0, rm);
	return rc;
}

static void import_teardown(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	if (w && w->own) {
		free(((struct import_state *)w->own)->tar);
		free(w->own);
		w->own = NULL;
	}
	sb_wl_teardown(ctx);
}

/* ---- forwarded ports ---- */

static const struct sb_param_def ports_params[] = {
	{"ports", "16", "ports forwarded to the measured sandbox (1-64)", "size"},
	{NULL, NULL, NULL, NULL},
};

static int ports_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t n = 0;
	int rc = sb_scn_param_size(ctx, "ports", &n);
	if (rc == 0 && (n < 1 || n > 64))
		rc = sb_error_set(ctx->err, EINVAL, "parameter ports=%" PRIu64 ": expected 1..64", n);
	if (rc < 0)
		return rc;
	struct sb_port ports[64];
	for (unsigned i = 0; i < n; i++)
		ports[i] = (struct sb_port){.host_port = 0, .box_port = (uint16_t)(8000 + i)};
	double none = 0, with = 0;
	/* Alternate which goes first, so drift between the two is shared. */
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		bool fwd = (pass == 0) == (ctx->iteration % 2 == 1);
		ctx->spec.ports = fwd ? ports : NULL;
		ctx->spec.nports = fwd ? n : 0;
		struct sb_box *box = NULL;
		int64_t c = 0, s = 0;
		rc = sb_scn_box_new(ctx, &box, &c, &s);
		ctx->spec.ports = NULL;
		ctx->spec.nports = 0;
		if (box)
			sb_scn_box_destroy(ctx, box);
		*(fwd ? &with : &none) = sb_ns_to_ms(c + s);
	}
	if (rc < 0)
		return rc;
	sb_scn_metric(ctx, "box_ready_no_ports_ms", none);
	sb_scn_metric(ctx, "box_ready_with_ports_ms", with);
	sb_scn_metric(ctx, "ports_setup_cost_ms", with - none);
	return 0;
}

static const struct sb_metric_def copy_in_metrics[] = {
	{"copy_in_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "host file into the sandbox by the driver's copy"},
	{"copy_in_ms", "ms", SB_LOWER_IS_BETTER, "the whole copy-in call"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def copy_out_metrics[] = {
	{"copy_out_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "sandbox file out to the host by the driver's copy"},
	{"copy_out_ms", "ms", SB_LOWER_IS_BETTER, "the whole copy-out call"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def export_metrics[] = {
	{"export_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "the sandbox's filesystem as a tar stream, counted on the host"},
	{"export_ms", "ms", SB_LOWER_IS_BETTER, "the whole export"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def import_metrics[] = {
	{"import_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "a tar stream from the host unpacked inside the sandbox"},
	{"import_ms", "ms", SB_LOWER_IS_BETTER, "the whole import"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def ports_metrics[] = {
	{"box_ready_no_ports_ms", "ms", SB_LOWER_IS_BETTER, "create+start without forwarded ports"},
	{"box_ready_with_ports_ms", "ms", SB_LOWER_IS_BETTER, "create+start with `ports` forwarded ports"},
	{"ports_setup_cost_ms", "ms", SB_LOWER_IS_BETTER, "what forwarding adds (with - without)"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

#define COPY_SCENARIO(ident, nm, desc, cp, mets, pw, run, td)                                                \
	const struct sb_scenario sb_scn_##ident = {                                                          \
		.name = nm, .axis = "throughput", .description = desc, .caps = cp,                            \
		.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL, .params = copy_params, .metrics = mets,    \
		.default_runs = 5, .default_warmup = 1, .setup = copy_setup, .prewarm = pw, .run_once = run,  \
		.teardown = td,                                                                               \
	}

COPY_SCENARIO(throughput_copy_in, "throughput-copy-in", "a host file into the sandbox by the driver's copy path, MiB/s",
	      SB_CAP_COPY | SB_CAP_AGENT, copy_in_metrics, copy_in_prewarm, copy_in_run_once, sb_wl_teardown);
COPY_SCENARIO(throughput_copy_out, "throughput-copy-out", "a sandbox file out to the host by the driver's copy path, MiB/s",
	      SB_CAP_COPY | SB_CAP_AGENT, copy_out_metrics, copy_out_prewarm, copy_out_run_once, sb_wl_teardown);
COPY_SCENARIO(throughput_export, "throughput-export",
	      "the sandbox's filesystem (with size bytes of data) as a tar stream out through exec, MiB/s",
	      SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_ISOLATION, export_metrics, export_prewarm, export_run_once,
	      sb_wl_teardown);
COPY_SCENARIO(throughput_import, "throughput-import", "a tar stream of size bytes unpacked inside the sandbox through exec, MiB/s",
	      SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_ISOLATION, import_metrics, import_prewarm, import_run_once,
	      import_teardown);

const struct sb_scenario sb_scn_throughput_ports_setup = {
	.name = "throughput-ports-setup",
	.axis = "throughput",
	.description = "create+start with `ports` forwarded ports vs none: what port forwarding costs",
	.caps = SB_CAP_PORTS,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = ports_params,
	.metrics = ports_metrics,
	.default_runs = 10,
	.default_warmup = 1,
	.run_once = ports_run_once,
};
