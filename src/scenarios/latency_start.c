/* Start latency: how long from nothing (or from a cached template) until a sandbox has run its
 * first command, in phases that add up to the whole:
 *   prepare_ms     the driver's template (image, bundle source, rootfs) made or found ready
 *   create_ms      the driver's create op
 *   start_ms       the driver's start op (0 when create leaves the sandbox running)
 *   first_exec_ms  the first successful `sandbench-agent true` inside (retried while it fails)
 *   total_ms       wall time over all four, measured on its own
 * The variants differ in what is cached and what is asked of the sandbox:
 *   latency-cold-start      nothing: a private copy of the standard rootfs (made inside prepare,
 *                           with a unique file so no engine has its image) and the driver's
 *                           template made from it, both removed after each iteration
 *   latency-warm-start      the template cached (prepared before, and one untimed start first)
 *   latency-start-net       warm, with a host<->sandbox link (SB_CAP_NET: native's veth)
 *   latency-start-no-net    warm, loopback only (the same drivers, for the pair)
 *   latency-start-jailed    warm, with memory, pids and CPU limits and the strictest isolation the
 *                           driver offers (spec.strict): the isolation tax beside the plain start
 *   latency-start-big-image warm, on the big image (`sandbench image build --big`, built once) */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/signals.h"
#include "core/util.h"
#include "image/image.h"
#include "scenarios/latency_common.h"

/* ---- shared with the other latency files ---- */

int sb_lat_first_ok(const struct sb_driver *drv, struct sb_box *box, const char *agent, int64_t deadline_ns,
		    struct sb_error *err)
{
	const char *argv[] = {agent, "true", NULL};
	for (;;) {
		struct sb_exec_req req = {.argv = argv, .deadline_ns = deadline_ns};
		struct sb_proc_result res;
		struct sb_error e = {0};
		int rc = sb_drv_exec(drv, box, &req, &res, &e);
		if (rc == 0 && res.exit_code != 0) {
			char first[160] = "";
			if (res.err)
				snprintf(first, sizeof(first), ": %s", res.err);
			first[strcspn(first, "\n")] = '\0';
			rc = sb_error_set(&e, EIO, "'%s true' exited %d inside the sandbox%s", agent, res.exit_code, first);
		}
		sb_proc_result_free(&res);
		if (rc == 0)
			return 0;
		if (rc == -ENOTSUP || sb_interrupted() || sb_deadline_passed(deadline_ns)) {
			*err = e;
			return rc;
		}
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
}

int sb_lat_ready_deadline(struct sb_scn_ctx *ctx, int64_t from_ns, int64_t *out)
{
	const char *v = sb_scn_param(ctx, "ready_timeout");
	char *end;
	double s = v ? strtod(v, &end) : 10;
	if (v && (end == v || *end || !(s > 0 && s <= 3600)))
		return sb_error_set(ctx->err, EINVAL, "parameter ready_timeout=%s: expected seconds in (0, 3600]", v);
	*out = sb_deadline_min(ctx->deadline_ns, from_ns + (int64_t)(s * 1e9));
	return 0;
}

void sb_lat_destroy_all(struct sb_scn_ctx *ctx, struct sb_box **boxes, unsigned n)
{
	struct sb_error *keep = ctx->err, ignored = {0};
	ctx->err = &ignored; /* the iteration's own error stays */
	sb_scn_boxes_destroy(ctx, boxes, n);
	ctx->err = keep;
}

/* ---- the start scenarios ---- */

enum start_kind { START_COLD, START_WARM, START_NET, START_NO_NET, START_JAILED, START_BIG };

struct start_state {
	enum start_kind kind;
	char big[PATH_MAX];   /* the big image (START_BIG) */
	char cold[PATH_MAX];  /* this iteration's private rootfs copy (START_COLD), "" when none */
	bool cold_prepared;   /* its template was (perhaps partly) made: drop it */
	const char *std_rootfs;
};

static const struct sb_metric_def start_metrics[] = {
	{"prepare_ms", "ms", SB_LOWER_IS_BETTER, "the template made (cold) or found ready (warm): image, bundle source or rootfs"},
	{"create_ms", "ms", SB_LOWER_IS_BETTER, "the driver's create op"},
	{"start_ms", "ms", SB_LOWER_IS_BETTER, "the driver's start op (0 when create leaves the sandbox running)"},
	{"first_exec_ms", "ms", SB_LOWER_IS_BETTER, "start to the first successful `sandbench-agent true` inside (retries included)"},
	{"total_ms", "ms", SB_LOWER_IS_BETTER, "prepare + create + start + first exec, wall time measured on its own"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

static const struct sb_param_def start_params[] = {
	SB_LAT_READY_PARAM,
	{NULL, NULL, NULL, NULL},
};

static const struct sb_param_def jailed_params[] = {
	SB_LAT_READY_PARAM,
	{"mem_limit", "256M", "memory limit of the jailed sandbox", "size"},
	{"pids_limit", "64", "maximum number of processes in it", "size"},
	{"cpu_limit", "0.5", "CPU quota in CPUs", "number"},
	{NULL, NULL, NULL, NULL},
};

static const struct sb_param_def big_params[] = {
	SB_LAT_READY_PARAM,
	{"files", "10000", "files in the big image's /data (sandbench image build --big --files)", "size"},
	{"size", "200M", "bytes in them all (--size)", "size"},
	{NULL, NULL, NULL, NULL},
};

/* Remove the cold iteration's template and private rootfs (untimed; also after a failure). */
static void cold_cleanup(struct sb_scn_ctx *ctx, struct start_state *st)
{
	struct sb_error e = {0};
	/* Only ever the private copy's template: the standard one is shared with every other run. */
	if (st->cold_prepared && (st->cold[0] || ctx->drv->image != SB_IMAGE_ROOTFS)) {
		struct sb_box_spec spec = ctx->spec;
		spec.rootfs = st->cold[0] ? st->cold : spec.rootfs;
		sb_drv_template_drop(ctx->drv, &spec, sb_deadline_after(60), &e);
		st->cold_prepared = false;
	}
	if (st->cold[0])
		sb_rm_rf(st->cold);
	st->cold[0] = '\0';
	ctx->spec.rootfs = st->std_rootfs;
}

/* The cold template: a private copy of the standard rootfs, named so that a crashed run's copy is
 * removed by the next image build (.tmp-rootfs-HASH-PID-...), holding a file no other copy has, so
 * no engine has an image of it yet. Then the driver's own template from it. */
static int cold_prepare(struct sb_scn_ctx *ctx, struct start_state *st)
{
	static unsigned seq;
	if (ctx->drv->image == SB_IMAGE_ROOTFS && st->std_rootfs) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", st->std_rootfs);
		char *slash = strrchr(dir, '/');
		if (!slash)
			return sb_error_set(ctx->err, EINVAL, "rootfs path %s is not absolute", st->std_rootfs);
		*slash = '\0';
		uint64_t h = sb_fnv1a64(ctx->run_id, strlen(ctx->run_id), 0);
		snprintf(st->cold, sizeof(st->cold), "%s/.tmp-rootfs-%016" PRIx64 "-%d-cold%u", dir, h, (int)getpid(),
			 seq++);
		int rc = sb_image_copy(st->std_rootfs, st->cold, ctx->deadline_ns, ctx->err);
		if (rc < 0) {
			st->cold[0] = '\0';
			return sb_error_prefix(ctx->err, "cold start: private rootfs copy");
		}
		/* A plain write: the copy is private and thrown away, nothing to fsync. */
		char path[PATH_MAX + 32], text[128];
		snprintf(path, sizeof(path), "%s/etc/sandbench-cold", st->cold);
		int n = snprintf(text, sizeof(text), "cold start %s %u\n", ctx->run_id, ctx->iteration);
		FILE *f = fopen(path, "wxe");
		bool written = f && fwrite(text, 1, (size_t)n, f) == (size_t)n;
		if (f && fclose(f) != 0)
			written = false;
		if (!written)
			return sb_error_set(ctx->err, errno ? errno : EIO, "writing %s: %s", path, strerror(errno));
		ctx->spec.rootfs = st->cold;
	}
	st->cold_prepared = true;
	return sb_drv_template_prepare(ctx->drv, &ctx->spec, ctx->deadline_ns, ctx->err);
}

/* One measured start: prepare (cold or cached), create, start, first successful command. The box
 * is destroyed (untimed) before returning, on every path. */
static int start_once(struct sb_scn_ctx *ctx, struct start_state *st, bool measure)
{
	int64_t t0 = sb_now_ns();
	int rc = st->kind == START_COLD ? cold_prepare(ctx, st)
					: sb_drv_template_prepare(ctx->drv, &ctx->spec, ctx->deadline_ns, ctx->err);
	int64_t t1 = sb_now_ns();
	struct sb_box *box = NULL;
	int64_t create_ns = 0, start_ns = 0;
	if (rc == 0)
		rc = sb_scn_box_new(ctx, &box, &create_ns, &start_ns);
	int64_t t2 = sb_now_ns(), ready_deadline = 0;
	if (rc == 0)
		rc = sb_lat_ready_deadline(ctx, t2, &ready_deadline);
	if (rc == 0)
		rc = sb_lat_first_ok(ctx->drv, box, ctx->agent, ready_deadline, ctx->err);
	int64_t t3 = sb_now_ns();
	sb_lat_destroy_all(ctx, &box, 1);
	if (st->kind == START_COLD)
		cold_cleanup(ctx, st);
	if (rc < 0 || !measure)
		return rc;
	sb_scn_metric(ctx, "prepare_ms", sb_ns_to_ms(t1 - t0));
	sb_scn_metric(ctx, "create_ms", sb_ns_to_ms(create_ns));
	sb_scn_metric(ctx, "start_ms", sb_ns_to_ms(start_ns));
	sb_scn_metric(ctx, "first_exec_ms", sb_ns_to_ms(t3 - t2));
	sb_scn_metric(ctx, "total_ms", sb_ns_to_ms(t3 - t0));
	return 0;
}

static int parse_limits(struct sb_scn_ctx *ctx)
{
	uint64_t mem, pids;
	int rc = sb_scn_param_size(ctx, "mem_limit", &mem);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "pids_limit", &pids);
	if (rc < 0)
		return rc;
	const char *c = sb_scn_param(ctx, "cpu_limit");
	char *end;
	double cpus = strtod(c, &end);
	if (end == c || *end || !(cpus > 0 && cpus <= 1024))
		return sb_error_set(ctx->err, EINVAL, "parameter cpu_limit=%s: expected CPUs like 0.5", c);
	if (mem < (16u << 20) || pids < 8)
		return sb_error_set(ctx->err, EINVAL, "mem_limit must be at least 16M and pids_limit at least 8 "
				    "(the sandbox must still run its command)");
	ctx->spec.mem_limit_bytes = mem;
	ctx->spec.pids_limit = pids;
	ctx->spec.cpu_limit = cpus;
	ctx->spec.strict = true;
	sb_scn_tag(ctx, "limits", "mem %" PRIu64 " B, pids %" PRIu64 ", cpus %g, strict isolation", mem, pids, cpus);
	return 0;
}

static int big_image(struct sb_scn_ctx *ctx, struct start_state *st)
{
	if (ctx->drv->image != SB_IMAGE_ROOTFS || !st->std_rootfs)
		return sb_error_set(ctx->err, ENOTSUP, "driver %s runs on %s, not on a rootfs image", ctx->drv->name,
				    ctx->drv->image == SB_IMAGE_NONE ? "the host's filesystem" : "a VM image");
	uint64_t files, size;
	int rc = sb_scn_param_size(ctx, "files", &files);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "size", &size);
	if (rc < 0)
		return rc;
	if (files == 0 || files > 1000000 || size == 0)
		return sb_error_set(ctx->err, EINVAL, "parameters files=%" PRIu64 " size=%" PRIu64 ": out of range",
				    files, size);
	/* Beside the standard image, in the same cache directory. */
	char cache[PATH_MAX];
	snprintf(cache, sizeof(cache), "%s", st->std_rootfs);
	char *slash = strrchr(cache, '/');
	if (slash)
		*slash = '\0';
	bool reused;
	int64_t t0 = sb_now_ns();
	rc = sb_image_build_big(cache, st->std_rootfs, (unsigned)files, size, st->big, sizeof(st->big), &reused,
				ctx->err);
	if (rc < 0)
		return rc;
	sb_scn_tag(ctx, "big_image", "%s", st->big);
	sb_scn_tag(ctx, "big_image_build_ms", "%.1f%s", sb_ns_to_ms(sb_now_ns() - t0), reused ? " (reused)" : "");
	ctx->spec.rootfs = st->big;
	/* The driver's template of it (an engine imports 200 MiB): timed into a tag, never a sample. */
	t0 = sb_now_ns();
	rc = sb_drv_template_prepare(ctx->drv, &ctx->spec, ctx->deadline_ns, ctx->err);
	if (rc == 0)
		sb_scn_tag(ctx, "big_template_prepare_ms", "%.1f", sb_ns_to_ms(sb_now_ns() - t0));
	return rc;
}

static int start_setup_kind(struct sb_scn_ctx *ctx, enum start_kind kind)
{
	struct start_state *st = calloc(1, sizeof(*st));
	if (!st)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	st->kind = kind;
	st->std_rootfs = ctx->spec.rootfs;
	ctx->state = st;
	sb_scn_tag(ctx, "measurement_boundary", "first successful `sandbench-agent true` in the new sandbox");
	switch (kind) {
	case START_COLD: {
		/* A driver that keeps a template it cannot drop cannot start cold: say so now. */
		int rc = sb_drv_template_droppable(ctx->drv, ctx->err);
		if (rc < 0)
			return rc;
		sb_scn_tag(ctx, "template", "%s", ctx->drv->image == SB_IMAGE_ROOTFS
						    ? "a private copy of the standard rootfs, and the driver's template of it"
						    : ctx->drv->image == SB_IMAGE_NONE ? "none: the driver runs on the host's filesystem"
										       : "the driver's template");
		return 0;
	}
	case START_NET:
		ctx->spec.net = SB_BOX_NET_LINK;
		return 0;
	case START_NO_NET:
		ctx->spec.net = SB_BOX_NET_NONE;
		return 0;
	case START_JAILED:
		return parse_limits(ctx);
	case START_BIG:
		return big_image(ctx, st);
	case START_WARM:
		return 0;
	}
	return 0;
}

/* Warm: one whole untimed start, so what the samples call warm (page cache, the runtime's own
 * caches, a zygote) is warm. */
static int start_prewarm(struct sb_scn_ctx *ctx)
{
	struct start_state *st = ctx->state;
	return st->kind == START_COLD ? 0 : start_once(ctx, st, false);
}

static int start_run_once(struct sb_scn_ctx *ctx)
{
	return start_once(ctx, ctx->state, true);
}

static void start_teardown(struct sb_scn_ctx *ctx)
{
	struct start_state *st = ctx->state;
	if (!st)
		return;
	if (st->kind == START_COLD)
		cold_cleanup(ctx, st);
	ctx->spec.rootfs = st->std_rootfs;
	free(st);
	ctx->state = NULL;
}

#define START_SETUP(fn, kind)                       \
	static int fn(struct sb_scn_ctx *ctx)       \
	{                                           \
		return start_setup_kind(ctx, kind); \
	}
START_SETUP(cold_setup, START_COLD)
START_SETUP(warm_setup, START_WARM)
START_SETUP(net_setup, START_NET)
START_SETUP(no_net_setup, START_NO_NET)
START_SETUP(jailed_setup, START_JAILED)
START_SETUP(big_setup, START_BIG)

#define START_COMMON                                                                            \
	.axis = "latency", .metrics = start_metrics, .prewarm = start_prewarm, .run_once = start_run_once, \
	.teardown = start_teardown, .default_warmup = 1

const struct sb_scenario sb_scn_latency_cold_start = {
	START_COMMON,
	.name = "latency-cold-start",
	.description = "nothing cached: private rootfs copy + the driver's template, create, start, first command",
	.caps = SB_CAP_EXEC,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = start_params,
	.default_runs = 10,
	.setup = cold_setup,
};

const struct sb_scenario sb_scn_latency_warm_start = {
	START_COMMON,
	.name = "latency-warm-start",
	.description = "template cached: create, start, first command (phases add up to total_ms)",
	.caps = SB_CAP_EXEC,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = start_params,
	.default_runs = 20,
	.setup = warm_setup,
};

const struct sb_scenario sb_scn_latency_start_net = {
	START_COMMON,
	.name = "latency-start-net",
	.description = "warm start with a host<->sandbox network link",
	.caps = SB_CAP_EXEC | SB_CAP_NET,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = start_params,
	.default_runs = 20,
	.setup = net_setup,
};

const struct sb_scenario sb_scn_latency_start_no_net = {
	START_COMMON,
	.name = "latency-start-no-net",
	.description = "warm start with loopback only, on the drivers that have a network (the pair of start-net)",
	.caps = SB_CAP_EXEC | SB_CAP_NET,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = start_params,
	.default_runs = 20,
	.setup = no_net_setup,
};

const struct sb_scenario sb_scn_latency_start_jailed = {
	START_COMMON,
	.name = "latency-start-jailed",
	.description = "warm start with memory, pids and CPU limits and the driver's strictest isolation",
	.caps = SB_CAP_EXEC | SB_CAP_ISOLATION | SB_CAP_MEMLIMIT | SB_CAP_PIDLIMIT | SB_CAP_CPULIMIT,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = jailed_params,
	.default_runs = 20,
	.setup = jailed_setup,
};

const struct sb_scenario sb_scn_latency_start_big_image = {
	START_COMMON,
	.name = "latency-start-big-image",
	.description = "warm start on a 200 MiB / 10,000-file rootfs (sandbench image build --big, built once)",
	.caps = SB_CAP_EXEC,
	.profiles = SB_PROFILE_FULL,
	.params = big_params,
	.default_runs = 10,
	.setup = big_setup,
};
