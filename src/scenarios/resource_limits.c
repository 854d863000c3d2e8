/* Resource scenarios about limits and leftovers on the host: does a memory limit hold, and what
 * does a sandbox leave on the host's disks (docs/resource.md). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/clock.h"
#include "scenarios/footprint.h"

#define MIB (1024.0 * 1024.0)

/* ---- resource-mem-pressure ---- */

static const struct sb_param_def pressure_params[] = {
	{"limit", "256M", "the sandbox's memory limit", "size"},
	{"under", "150M", "touched inside first: must succeed", "size"},
	{"over", "400M", "touched inside next: must be killed or refused", "size"},
	{NULL, NULL, NULL, NULL},
};

struct pressure_state {
	uint64_t limit, under, over;
};

static int pressure_setup(struct sb_scn_ctx *ctx)
{
	struct pressure_state *st = calloc(1, sizeof(*st));
	if (!st)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	ctx->state = st;
	int rc = sb_scn_param_size(ctx, "limit", &st->limit);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "under", &st->under);
	if (rc == 0)
		rc = sb_scn_param_size(ctx, "over", &st->over);
	if (rc < 0)
		return rc;
	if (!(st->under < st->limit && st->limit < st->over))
		return sb_error_set(ctx->err, EINVAL, "parameters: expected under < limit < over, got %s < %s < %s",
				    sb_scn_param(ctx, "under"), sb_scn_param(ctx, "limit"), sb_scn_param(ctx, "over"));
	ctx->spec.mem_limit_bytes = st->limit;
	return 0;
}

/* Exec `agent mem-touch SIZE`; its exit status as the runtime reports it (128+N: killed by N). */
static int touch(struct sb_scn_ctx *ctx, struct sb_box *box, uint64_t size, int *status)
{
	char size_s[32];
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	const char *argv[] = {ctx->agent, "mem-touch", size_s, NULL};
	struct sb_exec_req req = {.argv = argv, .deadline_ns = ctx->deadline_ns};
	struct sb_proc_result res;
	int rc = sb_drv_exec(ctx->drv, box, &req, &res, ctx->err);
	*status = res.exit_code;
	sb_proc_result_free(&res);
	return rc;
}

/* A fresh sandbox under the limit each iteration: the touch below the limit, the touch above it,
 * then whether the sandbox still runs a command. A limit that did not hold is a measured 0, not
 * an error: the report says what the runtime did. */
static int pressure_run_once(struct sb_scn_ctx *ctx)
{
	struct pressure_state *st = ctx->state;
	struct sb_box *box;
	int rc = sb_scn_box_new(ctx, &box, NULL, NULL);
	if (rc < 0)
		return rc;
	int under_status = -1, over_status = -1;
	if ((rc = touch(ctx, box, st->under, &under_status)) < 0) {
		sb_error_prefix(ctx->err, "touching %s under the limit", sb_scn_param(ctx, "under"));
		goto out;
	}
	if ((rc = touch(ctx, box, st->over, &over_status)) < 0) {
		sb_error_prefix(ctx->err, "touching %s over the limit", sb_scn_param(ctx, "over"));
		goto out;
	}
	struct sb_box_stats s;
	struct sb_error serr = {0};
	if (sb_drv_stats(ctx->drv, box, &s, &serr) == 0 && s.mem_peak_bytes > 0)
		sb_scn_metric(ctx, "mem_peak_mib", (double)s.mem_peak_bytes / MIB);
	const char *argv[] = {ctx->agent, "true", NULL};
	struct sb_exec_req req = {.argv = argv, .deadline_ns = ctx->deadline_ns};
	struct sb_proc_result res;
	struct sb_error uerr = {0};
	bool usable = sb_drv_exec(ctx->drv, box, &req, &res, &uerr) == 0 && res.exit_code == 0;
	sb_proc_result_free(&res);
	sb_scn_metric(ctx, "mem_under_limit_ok", under_status == 0);
	sb_scn_metric(ctx, "mem_limit_held", over_status != 0);
	sb_scn_metric(ctx, "mem_over_exit_status", over_status);
	sb_scn_metric(ctx, "mem_usable_after", usable);
	sb_scn_tag(ctx, "over_limit_outcome", "%s",
		   over_status == 0 ? "completed: the limit did not hold"
		   : over_status == 128 + 9 ? "killed by SIGKILL (the OOM killer)"
		   : over_status > 128 ? "killed by a signal"
				       : "refused: exited non-zero");
out:;
	int drc = sb_scn_box_destroy(ctx, box);
	return rc < 0 ? rc : drc;
}

static void pressure_teardown(struct sb_scn_ctx *ctx)
{
	free(ctx->state);
	ctx->state = NULL;
}

static const struct sb_metric_def pressure_metrics[] = {
	{"mem_limit_held", "bool", SB_HIGHER_IS_BETTER, "1 when touching `over` was killed or refused inside the sandbox"},
	{"mem_under_limit_ok", "bool", SB_HIGHER_IS_BETTER, "1 when touching `under` (below the limit) succeeded"},
	{"mem_over_exit_status", "status", SB_LOWER_IS_BETTER, "exit status the runtime reported for the over-limit touch (137: SIGKILL)"},
	{"mem_peak_mib", "MiB", SB_LOWER_IS_BETTER, "the sandbox's peak memory from its own accounting (cgroup max usage)"},
	{"mem_usable_after", "bool", SB_HIGHER_IS_BETTER, "1 when the sandbox still ran a command afterwards"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_resource_mem_pressure = {
	.name = "resource-mem-pressure",
	.metrics = pressure_metrics,
	.axis = "resource",
	.description = "a 256 MiB limit: touching 150 MiB succeeds, touching 400 MiB is killed or refused, the sandbox lives on",
	.caps = SB_CAP_EXEC | SB_CAP_MEMLIMIT,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = pressure_params,
	.default_runs = 3,
	.default_warmup = 0,
	.setup = pressure_setup,
	.run_once = pressure_run_once,
	.teardown = pressure_teardown,
};

/* ---- resource-disk-footprint ---- */

#define MAX_FS 64

/* One filesystem the host keeps data on: a block device's, or a tmpfs (memory, but where
 * runtimes keep state). */
struct fs_use {
	dev_t dev;
	char path[256];
	bool tmpfs;
	double used; /* bytes */
};

static bool is_disk_fs(const char *type)
{
	static const char *const disk[] = {"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "reiserfs", "zfs",
					   "vfat", NULL};
	for (size_t i = 0; disk[i]; i++)
		if (strcmp(type, disk[i]) == 0)
			return true;
	return false;
}

/* Every block-backed and tmpfs filesystem in our mount namespace, once per device. */
static size_t list_fs(struct fs_use *out, size_t cap)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	size_t n = 0;
	char line[4096];
	while (n < cap && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		char mnt[1024];
		char *sep = strstr(line, " - ");
		char type[64];
		if (!sep || sscanf(line, "%*d %*d %u:%u %*s %1023s", &maj, &min, mnt) != 3 ||
		    sscanf(sep + 3, "%63s", type) != 1)
			continue;
		bool tmpfs = strcmp(type, "tmpfs") == 0;
		if (!tmpfs && !is_disk_fs(type))
			continue;
		dev_t dev = makedev(maj, min);
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = out[i].dev == dev;
		/* A path with escaped characters (\040) or a private box mount: not ours to stat. */
		if (seen || strchr(mnt, '\\') || strlen(mnt) >= sizeof(out[n].path))
			continue;
		out[n].dev = dev;
		out[n].tmpfs = tmpfs;
		snprintf(out[n].path, sizeof(out[n].path), "%s", mnt);
		n++;
	}
	fclose(f);
	return n;
}

/* Flush each filesystem (delayed allocation shows only after writeback), then read its usage. */
static void read_use(struct fs_use *fs, size_t n, double *disk, double *tmpfs)
{
	*disk = *tmpfs = 0;
	for (size_t i = 0; i < n; i++) {
		int fd = open(fs[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct statvfs v;
		if (fd < 0)
			continue;
		syncfs(fd);
		if (fstatvfs(fd, &v) == 0) {
			fs[i].used = (double)(v.f_blocks - v.f_bfree) * (double)v.f_frsize;
			*(fs[i].tmpfs ? tmpfs : disk) += fs[i].used;
		}
		close(fd);
	}
}

static const struct sb_param_def disk_fp_params[] = {
	{"boxes", "5", "sandboxes started at once (the per-box figure is the change divided by them)", "uint"},
	{"idle_window", "1", "seconds of the idle window measured first: how much the host's disks move without us", "number"},
	{NULL, NULL, NULL, NULL},
};

/* The used space of every disk and tmpfs before and after starting `boxes` sandboxes, divided by
 * them; an idle window of the same host first shows the background drift. */
static int disk_fp_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t boxes;
	double idle;
	int rc = sb_scn_param_size(ctx, "boxes", &boxes);
	if (rc == 0)
		rc = sb_scn_param_seconds(ctx, "idle_window", 0, 600, &idle);
	if (rc < 0)
		return rc;
	if (boxes < 1 || boxes > 1000)
		return sb_error_set(ctx->err, EINVAL, "parameter boxes=%llu: expected 1..1000", (unsigned long long)boxes);
	struct fs_use fs[MAX_FS];
	size_t nfs = list_fs(fs, MAX_FS);
	if (nfs == 0)
		return sb_error_set(ctx->err, ENOENT, "no disk or tmpfs filesystem found in /proc/self/mountinfo");
	double d0, t0, d1, t1, d2 = 0, t2 = 0;
	read_use(fs, nfs, &d0, &t0);
	if ((rc = sb_scn_sleep(ctx, idle)) < 0)
		return rc;
	read_use(fs, nfs, &d1, &t1);
	struct sb_box_launch *l = calloc(boxes, sizeof(*l));
	if (!l)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	unsigned ok = sb_scn_boxes_new(ctx, (unsigned)boxes, 0, 0, l);
	if (ok == boxes)
		read_use(fs, nfs, &d2, &t2);
	else
		rc = sb_error_set(ctx->err, EIO, "%u of %llu sandboxes failed to start", (unsigned)boxes - ok,
				  (unsigned long long)boxes);
	for (unsigned i = 0; i < boxes; i++) {
		if (l[i].rc < 0 && rc == 0)
			rc = sb_error_set(ctx->err, EIO, "%s", l[i].error);
		if (l[i].box) {
			int drc = sb_scn_box_destroy(ctx, l[i].box);
			rc = rc < 0 ? rc : drc;
		}
	}
	free(l);
	if (rc < 0)
		return rc;
	sb_scn_metric(ctx, "disk_kib_per_box", (d2 - d1) / 1024.0 / (double)boxes);
	sb_scn_metric(ctx, "tmpfs_kib_per_box", (t2 - t1) / 1024.0 / (double)boxes);
	sb_scn_metric(ctx, "disk_idle_drift_kib", (d1 - d0) / 1024.0);
	char list[480] = "";
	for (size_t i = 0; i < nfs; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s%s", i ? " " : "", fs[i].path,
			 fs[i].tmpfs ? "(tmpfs)" : "");
	sb_scn_tag(ctx, "filesystems", "%s", list);
	return 0;
}

static const struct sb_metric_def disk_fp_metrics[] = {
	{"disk_kib_per_box", "KiB", SB_LOWER_IS_BETTER, "used space added on the host's block-backed filesystems per running sandbox"},
	{"tmpfs_kib_per_box", "KiB", SB_LOWER_IS_BETTER, "used space added on the host's tmpfs mounts (/run, /dev/shm ...) per sandbox"},
	{"disk_idle_drift_kib", "KiB", SB_LOWER_IS_BETTER, "the same disks' change over the idle window before: the background noise"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

const struct sb_scenario sb_scn_resource_disk_footprint = {
	.name = "resource-disk-footprint",
	.metrics = disk_fp_metrics,
	.axis = "resource",
	.description = "bytes a running sandbox adds on the host's disks and tmpfs (writable layer, state dirs, logs)",
	.caps = 0,
	.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL,
	.params = disk_fp_params,
	.default_runs = 5,
	.default_warmup = 1,
	.run_once = disk_fp_run_once,
};
