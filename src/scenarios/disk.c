/* Disk throughput through the agent inside the sandbox: sequential write and read, 4 KiB random
 * reads and writes, a write to a host directory mounted in (the path that bypasses the
 * sandbox's root layer), and what mounting host directories costs a sandbox's start.
 *
 * By default the file lives on the sandbox's own root filesystem (its writable layer), not on a
 * tmpfs: sb_wl_pick_dir chooses it and the report tags the filesystem type seen inside
 * (disk_fs: "overlay") and, where the driver says, the one under the writable layer
 * (disk_fs_upper: "ext4"). The spec asks for that layer on a disk (root_on_disk). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/util.h"
#include "scenarios/wl.h"

static const char dir_help[] =
	"directory inside the sandbox; auto = its own root filesystem (its writable layer)";

/* One workload file per iteration, so a read never finds the previous write in a cache. */
static void file_path(struct sb_scn_ctx *ctx, const char *kind, char *buf, size_t len)
{
	snprintf(buf, len, "%s/sandbench-%s-%.8s-%u", sb_wl(ctx)->dir, kind, ctx->run_id, ctx->iteration);
}

static void rm_file(struct sb_scn_ctx *ctx, const char *path)
{
	const char *argv[] = {"rm", "-f", path, NULL};
	sb_wl_quiet(ctx, 0, argv);
}

static void tag_mode(struct sb_scn_ctx *ctx, json_t *j)
{
	sb_scn_tag(ctx, "disk_io_mode", "%s", json_string_value(json_object_get(j, "mode")) ?: "?");
}

static int disk_setup(struct sb_scn_ctx *ctx)
{
	/* What a program writing to its own files gets: a driver that could keep the writable layer
	 * in memory puts it on a disk for these (native's layer=auto). */
	ctx->spec.root_on_disk = true;
	int rc = sb_wl_setup(ctx, 1);
	return rc < 0 ? rc : sb_wl_pick_dir(ctx);
}

static int sizes(struct sb_scn_ctx *ctx, char *size_s, char *bs_s)
{
	uint64_t size = 0, bs = 0;
	int rc = sb_scn_param_size(ctx, "size", &size);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "bs", &bs);
	if (rc < 0)
		return rc;
	if (size == 0 || bs == 0)
		return sb_error_set(ctx->err, EINVAL, "parameters size and bs must be > 0");
	snprintf(size_s, 32, "%" PRIu64, size);
	snprintf(bs_s, 32, "%" PRIu64, bs);
	return 0;
}

static const struct sb_param_def seq_params[] = {
	{"size", "64M", "bytes written (or read) per iteration", "size"},
	{"bs", "1M", "block size (O_DIRECT when aligned and the filesystem allows)", "size"},
	{"dir", "auto", dir_help, NULL},
	{NULL, NULL, NULL, NULL},
};

static int seq_write_run_once(struct sb_scn_ctx *ctx)
{
	char size_s[32], bs_s[32], path[320];
	int rc = sizes(ctx, size_s, bs_s);
	if (rc < 0)
		return rc;
	file_path(ctx, "seq", path, sizeof(path));
	const char *argv[] = {ctx->agent, "disk-write", path, "--size", size_s, "--bs", bs_s, NULL};
	static const struct sb_wl_field rate[] = {{"mib_per_s", "disk_write_mib_per_s"}};
	json_t *j = NULL;
	rc = sb_wl_json(ctx, 0, argv, &j);
	if (rc == 0 && (rc = sb_wl_metrics(ctx, j, rate, 1)) == 0)
		tag_mode(ctx, j);
	json_decref(j);
	rm_file(ctx, path);
	return rc;
}

/* The file is written once, untimed; each iteration reads it back (O_DIRECT, or buffered after
 * dropping its clean pages where the filesystem allows). */
static int seq_read_prewarm(struct sb_scn_ctx *ctx)
{
	char size_s[32], bs_s[32], path[320];
	int rc = sizes(ctx, size_s, bs_s);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/sandbench-seqr-%.8s", sb_wl(ctx)->dir, ctx->run_id);
	const char *argv[] = {ctx->agent, "disk-write", path, "--size", size_s, "--bs", bs_s, NULL};
	json_t *j = NULL;
	rc = sb_wl_json(ctx, 0, argv, &j);
	json_decref(j);
	return rc;
}

static int seq_read_run_once(struct sb_scn_ctx *ctx)
{
	char size_s[32], bs_s[32], path[320];
	int rc = sizes(ctx, size_s, bs_s);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/sandbench-seqr-%.8s", sb_wl(ctx)->dir, ctx->run_id);
	const char *argv[] = {ctx->agent, "disk-read", path, "--bs", bs_s, NULL};
	static const struct sb_wl_field rate[] = {{"mib_per_s", "disk_read_mib_per_s"}};
	json_t *j = NULL;
	rc = sb_wl_json(ctx, 0, argv, &j);
	if (rc == 0 && (rc = sb_wl_metrics(ctx, j, rate, 1)) == 0)
		tag_mode(ctx, j);
	json_decref(j);
	return rc;
}

static void seq_read_teardown(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	if (w && w->pool.n && w->dir[0] && !w->dir_made) {
		char path[320];
		snprintf(path, sizeof(path), "%s/sandbench-seqr-%.8s", w->dir, ctx->run_id);
		ctx->deadline_ns = sb_deadline_after(10);
		rm_file(ctx, path);
	}
	sb_wl_teardown(ctx);
}

static const struct sb_param_def rand_params[] = {
	{"size", "64M", "file size the offsets fall in", "size"},
	{"ops", "2000", "4 KiB operations per iteration", "size"},
	{"fsync", "0", "1: fdatasync after every write (rand-write only)", NULL},
	{"dir", "auto", dir_help, NULL},
	{NULL, NULL, NULL, NULL},
};

static void rand_path(struct sb_scn_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "%s/sandbench-rand-%.8s", sb_wl(ctx)->dir, ctx->run_id);
}

static int rand_run(struct sb_scn_ctx *ctx, bool write)
{
	uint64_t size = 0, ops = 0;
	int rc = sb_scn_param_size(ctx, "size", &size);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "ops", &ops);
	if (rc < 0)
		return rc;
	if (size < 4096 || ops == 0)
		return sb_error_set(ctx->err, EINVAL, "parameters: size must be >= 4096 and ops > 0");
	const char *fs = sb_scn_param(ctx, "fsync");
	if (strcmp(fs, "0") != 0 && strcmp(fs, "1") != 0)
		return sb_error_set(ctx->err, EINVAL, "parameter fsync=%s: expected 0 or 1", fs);
	bool fsync = write && strcmp(fs, "1") == 0;
	char path[320], size_s[32], ops_s[32];
	rand_path(ctx, path, sizeof(path));
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	snprintf(ops_s, sizeof(ops_s), "%" PRIu64, ops);
	const char *argv[] = {ctx->agent, "disk-rand", path, "--size", size_s, "--ops", ops_s,
			      write ? "--write" : NULL, fsync ? "--fsync" : NULL, NULL};
	static const struct sb_wl_field fields[2][4] = {
		{{"iops", "disk_rand_read_iops"},
		 {"lat_p50_us", "disk_rand_read_lat_p50_us"},
		 {"lat_p99_us", "disk_rand_read_lat_p99_us"},
		 {"lat_p999_us", "disk_rand_read_lat_p999_us"}},
		{{"iops", "disk_rand_write_iops"},
		 {"lat_p50_us", "disk_rand_write_lat_p50_us"},
		 {"lat_p99_us", "disk_rand_write_lat_p99_us"},
		 {"lat_p999_us", "disk_rand_write_lat_p999_us"}},
	};
	json_t *j = NULL;
	rc = sb_wl_json(ctx, 0, argv, &j);
	if (rc == 0)
		rc = sb_wl_metrics(ctx, j, fields[write ? 1 : 0], 4);
	if (rc == 0) {
		tag_mode(ctx, j);
		if (write)
			sb_scn_tag(ctx, "disk_rand_fsync", "%s", fsync ? "every write" : "none");
	}
	json_decref(j);
	return rc;
}

static int rand_read_run_once(struct sb_scn_ctx *ctx)
{
	return rand_run(ctx, false);
}

static int rand_write_run_once(struct sb_scn_ctx *ctx)
{
	return rand_run(ctx, true);
}

static void rand_teardown(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	if (w && w->pool.n && w->dir[0] && !w->dir_made) {
		char path[320];
		rand_path(ctx, path, sizeof(path));
		ctx->deadline_ns = sb_deadline_after(10);
		rm_file(ctx, path);
	}
	sb_wl_teardown(ctx);
}

/* ---- host directories mounted in ---- */

static const struct sb_param_def volume_params[] = {
	{"size", "64M", "bytes written per iteration", "size"},
	{"bs", "1M", "block size", "size"},
	{"host_dir", "/var/tmp", "host directory under which the mounted directory is made", NULL},
	{NULL, NULL, NULL, NULL},
};

#define VOLUME_BOX_PATH "/sandbench-volume"

static int volume_setup(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = calloc(1, sizeof(*w));
	if (!w)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = w;
	int rc = sb_wl_host_tmp(ctx, sb_scn_param(ctx, "host_dir"));
	if (rc < 0)
		return rc;
	static struct sb_volume vol; /* one scenario runs at a time; the spec only borrows it */
	vol = (struct sb_volume){.host_path = w->host_tmp, .box_path = VOLUME_BOX_PATH};
	ctx->spec.volumes = &vol;
	ctx->spec.nvolumes = 1;
	rc = sb_scn_box_new(ctx, &w->box, NULL, NULL);
	ctx->spec.volumes = NULL;
	ctx->spec.nvolumes = 0;
	if (rc == 0)
		rc = sb_pool_open(ctx, w->box, 1, &w->pool);
	char fs[64], src[256];
	bool writable;
	if (rc == 0 && (rc = sb_wl_fs_info(ctx, 0, VOLUME_BOX_PATH, false, fs, sizeof(fs), src, sizeof(src),
					   &writable)) == 0) {
		sb_scn_tag(ctx, "volume_fs", "%s", fs);
		sb_scn_tag(ctx, "volume_fs_source", "%s", src);
		sb_scn_tag(ctx, "volume_host_dir", "%s", w->host_tmp);
	}
	return rc;
}

static int volume_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	char size_s[32], bs_s[32], path[320], host[600];
	int rc = sizes(ctx, size_s, bs_s);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), VOLUME_BOX_PATH "/sandbench-vol-%u", ctx->iteration);
	snprintf(host, sizeof(host), "%s/sandbench-vol-%u", w->host_tmp, ctx->iteration);
	const char *argv[] = {ctx->agent, "disk-write", path, "--size", size_s, "--bs", bs_s, NULL};
	json_t *j = NULL;
	double v = 0;
	rc = sb_wl_json(ctx, 0, argv, &j);
	if (rc == 0)
		rc = sb_wl_num(ctx, j, "mib_per_s", &v);
	/* The bytes must really be on the host, or the sandbox wrote somewhere else. */
	struct stat st;
	if (rc == 0 && (stat(host, &st) < 0 || (uint64_t)st.st_size != strtoull(size_s, NULL, 10)))
		rc = sb_error_set(ctx->err, EIO, "the file written to %s did not reach the host as %s (%s bytes)", path,
				  host, size_s);
	if (rc == 0) {
		sb_scn_metric(ctx, "volume_write_mib_per_s", v);
		tag_mode(ctx, j);
	}
	json_decref(j);
	unlink(host);
	return rc;
}

static const struct sb_param_def volumes_setup_params[] = {
	{"volumes", "4", "host directories mounted in the measured sandbox (1-8)", "size"},
	{NULL, NULL, NULL, NULL},
};

static int volumes_setup_setup(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = calloc(1, sizeof(*w));
	if (!w)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = w;
	uint64_t n = 0;
	int rc = sb_scn_param_size(ctx, "volumes", &n);
	if (rc == 0 && (n < 1 || n > 8))
		rc = sb_error_set(ctx->err, EINVAL, "parameter volumes=%" PRIu64 ": expected 1..8", n);
	return rc < 0 ? rc : sb_wl_host_tmp(ctx, NULL);
}

/* Create and start one box, then destroy it; *ms = create+start. */
static int timed_box(struct sb_scn_ctx *ctx, double *ms)
{
	struct sb_box *box;
	int64_t c = 0, s = 0;
	int rc = sb_scn_box_new(ctx, &box, &c, &s);
	if (box)
		sb_scn_box_destroy(ctx, box);
	*ms = sb_ns_to_ms(c + s);
	return rc;
}

/* A box without volumes and one with `count`, alternating which goes first, so drift between the
 * two is shared; the cost is the difference. */
static int volumes_setup_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	uint64_t n = 0;
	int rc = sb_scn_param_size(ctx, "volumes", &n);
	if (rc < 0)
		return rc;
	struct sb_volume vols[8];
	char paths[8][40];
	for (unsigned i = 0; i < n; i++) {
		char host[320];
		snprintf(host, sizeof(host), "%s/v%u", w->host_tmp, i);
		if (mkdir(host, 0777) < 0 && errno != EEXIST)
			return sb_error_set(ctx->err, errno, "mkdir %s: %s", host, strerror(errno));
		snprintf(paths[i], sizeof(paths[i]), "/sandbench-vol%u", i);
		vols[i] = (struct sb_volume){.host_path = strdup(host), .box_path = paths[i]};
	}
	double none = 0, with = 0;
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		bool volumes = (pass == 0) == (ctx->iteration % 2 == 1);
		ctx->spec.volumes = volumes ? vols : NULL;
		ctx->spec.nvolumes = volumes ? n : 0;
		rc = timed_box(ctx, volumes ? &with : &none);
		ctx->spec.volumes = NULL;
		ctx->spec.nvolumes = 0;
	}
	for (unsigned i = 0; i < n; i++)
		free((char *)vols[i].host_path);
	if (rc < 0)
		return rc;
	sb_scn_metric(ctx, "box_ready_no_volumes_ms", none);
	sb_scn_metric(ctx, "box_ready_with_volumes_ms", with);
	sb_scn_metric(ctx, "volumes_setup_cost_ms", with - none);
	return 0;
}

static const struct sb_metric_def seq_write_metrics[] = {
	{"disk_write_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "sequential write of size, fsync included"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def seq_read_metrics[] = {
	{"disk_read_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "sequential read of a file of size"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def rand_read_metrics[] = {
	{"disk_rand_read_iops", "IOPS", SB_HIGHER_IS_BETTER, "4 KiB random reads per second"},
	{"disk_rand_read_lat_p50_us", "us", SB_LOWER_IS_BETTER, "median latency of one 4 KiB read"},
	{"disk_rand_read_lat_p99_us", "us", SB_LOWER_IS_BETTER, "99th percentile latency of one 4 KiB read"},
	{"disk_rand_read_lat_p999_us", "us", SB_LOWER_IS_BETTER, "99.9th percentile latency of one 4 KiB read"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def rand_write_metrics[] = {
	{"disk_rand_write_iops", "IOPS", SB_HIGHER_IS_BETTER, "4 KiB random writes per second (fsync=1: each synced)"},
	{"disk_rand_write_lat_p50_us", "us", SB_LOWER_IS_BETTER, "median latency of one 4 KiB write"},
	{"disk_rand_write_lat_p99_us", "us", SB_LOWER_IS_BETTER, "99th percentile latency of one 4 KiB write"},
	{"disk_rand_write_lat_p999_us", "us", SB_LOWER_IS_BETTER, "99.9th percentile latency of one 4 KiB write"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def volume_metrics[] = {
	{"volume_write_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "sequential write to a mounted host directory, fsync included"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def volumes_setup_metrics[] = {
	{"box_ready_no_volumes_ms", "ms", SB_LOWER_IS_BETTER, "create+start of a sandbox without host mounts"},
	{"box_ready_with_volumes_ms", "ms", SB_LOWER_IS_BETTER, "create+start of a sandbox with `volumes` host mounts"},
	{"volumes_setup_cost_ms", "ms", SB_LOWER_IS_BETTER, "what the mounts add (with - without)"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

#define DISK_SCENARIO(ident, nm, al, desc, prm, mets, su, pw, run, td)                                       \
	const struct sb_scenario sb_scn_##ident = {                                                          \
		.name = nm, .aliases = al, .axis = "throughput", .description = desc, .caps = SB_CAP_AGENT,                 \
		.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL, .params = prm, .metrics = mets,            \
		.default_runs = 5, .default_warmup = 1, .setup = su, .prewarm = pw, .run_once = run,          \
		.teardown = td,                                                                               \
	}

/* The scenarios these replace (issue 12) still resolve: throughput-disk wrote then read, its
 * write half is throughput-disk-write; throughput-disk-rand read by default. */
static const char *const disk_write_aliases[] = {"throughput-disk", NULL};
static const char *const disk_rand_read_aliases[] = {"throughput-disk-rand", NULL};

DISK_SCENARIO(throughput_disk_write, "throughput-disk-write", disk_write_aliases,
	      "sequential write (fsync at the end) to the sandbox's root filesystem, MiB/s", seq_params,
	      seq_write_metrics, disk_setup, NULL, seq_write_run_once, sb_wl_teardown);
DISK_SCENARIO(throughput_disk_read, "throughput-disk-read", NULL,
	      "sequential read of a file on the sandbox's root filesystem, MiB/s", seq_params, seq_read_metrics,
	      disk_setup, seq_read_prewarm, seq_read_run_once, seq_read_teardown);
DISK_SCENARIO(throughput_disk_rand_read, "throughput-disk-rand-read", disk_rand_read_aliases,
	      "4 KiB random reads on the sandbox's root filesystem: IOPS, latency p50/p99/p99.9", rand_params,
	      rand_read_metrics, disk_setup, NULL, rand_read_run_once, rand_teardown);
DISK_SCENARIO(throughput_disk_rand_write, "throughput-disk-rand-write", NULL,
	      "4 KiB random writes (fsync=1: each synced): IOPS, latency p50/p99/p99.9", rand_params,
	      rand_write_metrics, disk_setup, NULL, rand_write_run_once, rand_teardown);

const struct sb_scenario sb_scn_throughput_volume_write = {
	.name = "throughput-volume-write",
	.axis = "throughput",
	.description = "sequential write to a host directory mounted into the sandbox, MiB/s",
	.caps = SB_CAP_AGENT | SB_CAP_VOLUMES,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = volume_params,
	.metrics = volume_metrics,
	.default_runs = 5,
	.default_warmup = 1,
	.setup = volume_setup,
	.run_once = volume_run_once,
	.teardown = sb_wl_teardown,
};

const struct sb_scenario sb_scn_throughput_volumes_setup = {
	.name = "throughput-volumes-setup",
	.axis = "throughput",
	.description = "create+start with `volumes` host mounts vs none: what mounting host directories costs",
	.caps = SB_CAP_VOLUMES,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = volumes_setup_params,
	.metrics = volumes_setup_metrics,
	.default_runs = 10,
	.default_warmup = 1,
	.setup = volumes_setup_setup,
	.run_once = volumes_setup_run_once,
	.teardown = sb_wl_teardown,
};
