/* The `crun` driver: the OCI runtime in C, driven through its CLI with a generated bundle (oci.c).
 *
 * Host quirk (docs/architecture.md, "Host quirks"): on a v1/v2 hybrid host whose unified hierarchy still carries a
 * controller (hugetlb here), crun refuses every container with "cgroups in hybrid mode not
 * supported". host_fix moves such controllers to v1 hierarchies of their own (opt-in, recorded in
 * /run/sandbench/hostfix/ so that restore undoes exactly what apply did). */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "drivers/driver.h"
#include "drivers/oci.h"
#include "drivers/runtime_util.h"

extern const struct sb_driver sb_driver_crun;

static const struct sb_oci_runtime crun_rt = {.name = "crun", .binary = "crun", .cgroup_relative = false};

#define HOSTFIX_DIR SB_RT_STATE_ROOT "/hostfix"
#define HOSTFIX_RECORD HOSTFIX_DIR "/crun-cgroup"

static void crun_probe(const struct sb_params *params, struct sb_probe *out)
{
	sb_oci_probe(&crun_rt, params, sb_driver_crun.caps, NULL, 0, out);
	if (!out->usable && strstr(out->reason, "hybrid"))
		snprintf(out->reason + strlen(out->reason), sizeof(out->reason) - strlen(out->reason),
			 " (sandbench doctor --prepare-host moves them to v1)");
}

static int crun_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
		       struct sb_error *err)
{
	return sb_oci_box_create(&crun_rt, spec, out, deadline_ns, err);
}

static int crun_list(const struct sb_box_spec *spec, sb_line_fn emit, void *arg, int64_t deadline_ns,
		     struct sb_error *err)
{
	return sb_oci_list(&crun_rt, spec, emit, arg, deadline_ns, err);
}

static int crun_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	return sb_oci_leftovers(&crun_rt, clean, emit, arg, err);
}

/* ---- host fix: controllers off the unified hierarchy ---- */

static void say(sb_line_fn emit, void *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(sb_line_fn emit, void *arg, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (emit)
		emit(arg, line);
}

/* On a hybrid host: the cgroup2 mount point and the controllers it holds. False elsewhere (pure
 * v1 or pure v2 hosts need nothing). */
static bool hybrid_unified(char *mnt, size_t mlen, char *controllers, size_t clen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	bool v1 = false, v2 = false;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		char mp[1024], fstype[64];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1 || sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup") == 0)
			v1 = true;
		else if (strcmp(fstype, "cgroup2") == 0 && !v2) {
			v2 = true;
			snprintf(mnt, mlen, "%s", mp);
		}
	}
	fclose(f);
	if (!v1 || !v2)
		return false;
	char path[1100];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", mnt);
	if (sb_read_line(path, controllers, clen) < 0)
		controllers[0] = '\0';
	return true;
}

static int record_append(const char *line, struct sb_error *err)
{
	char *old = NULL;
	sb_read_file(HOSTFIX_RECORD, &old, NULL, NULL);
	size_t n = (old ? strlen(old) : 0) + strlen(line) + 2;
	char *text = malloc(n);
	if (!text) {
		free(old);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	snprintf(text, n, "%s%s\n", old ? old : "", line);
	free(old);
	int rc = sb_write_file_atomic(HOSTFIX_RECORD, text, strlen(text), err);
	free(text);
	return rc;
}

static int hostfix_apply(const char *base, const char *controllers, sb_line_fn emit, void *arg,
			 struct sb_error *err)
{
	if (access(HOSTFIX_RECORD, F_OK) == 0) {
		say(emit, arg, "host fix already applied (record %s); --restore-host undoes it", HOSTFIX_RECORD);
		return 0;
	}
	int rc = sb_mkdir_p(HOSTFIX_DIR, 0700);
	if (rc < 0)
		return sb_error_set(err, -rc, "cannot create %s: %s", HOSTFIX_DIR, strerror(-rc));
	char list[256];
	snprintf(list, sizeof(list), "%s", controllers);
	for (char *s, *c = strtok_r(list, " ", &s); c; c = strtok_r(NULL, " ", &s)) {
		char dir[1200], line[1300];
		snprintf(dir, sizeof(dir), "%s/%s", base, c);
		/* Record each step before the next one, so a failure midway is still undone exactly. */
		if (mkdir(dir, 0755) == 0) {
			snprintf(line, sizeof(line), "mkdir=%s", dir);
			if ((rc = record_append(line, err)) < 0)
				return rc;
			say(emit, arg, "created %s", dir);
		} else if (errno != EEXIST) {
			return sb_error_set(err, errno, "cannot create %s: %s", dir, strerror(errno));
		}
		if (mount("cgroup", dir, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, c) < 0) {
			int e = errno;
			return sb_error_set(err, e, "mount -t cgroup -o %s cgroup %s: %s%s", c, dir, strerror(e),
					    e == EBUSY ? " (a cgroup v2 group has it enabled in subtree_control)" : "");
		}
		snprintf(line, sizeof(line), "mount=%s", dir);
		if ((rc = record_append(line, err)) < 0)
			return rc;
		say(emit, arg, "mounted the %s controller as a v1 hierarchy at %s", c, dir);
	}
	return 0;
}

static int hostfix_restore(sb_line_fn emit, void *arg, struct sb_error *err)
{
	char *text = NULL;
	if (sb_read_file(HOSTFIX_RECORD, &text, NULL, NULL) < 0) {
		say(emit, arg, "nothing to restore (no record at %s)", HOSTFIX_RECORD);
		return 0;
	}
	int rc = 0;
	/* Undo in reverse order: unmount before removing the directory it was mounted on. */
	char *lines[64];
	size_t n = 0;
	for (char *s, *l = strtok_r(text, "\n", &s); l && n < 64; l = strtok_r(NULL, "\n", &s))
		lines[n++] = l;
	for (size_t i = n; i-- > 0 && rc == 0;) {
		if (strncmp(lines[i], "mount=", 6) == 0) {
			const char *dir = lines[i] + 6;
			/* A child cgroup keeps the v1 hierarchy alive after umount: refuse rather than
			 * leave the controller stranded. */
			DIR *d = opendir(dir);
			struct dirent *de;
			char busy[300] = "";
			while (d && (de = readdir(d)))
				if (de->d_type == DT_DIR && de->d_name[0] != '.')
					snprintf(busy, sizeof(busy), "%s", de->d_name);
			if (d)
				closedir(d);
			if (busy[0]) {
				rc = sb_error_set(err, EBUSY, "%s still has cgroup %s/%s; remove it (sandbench doctor --clean) and retry",
						  dir, dir, busy);
				break;
			}
			if (umount2(dir, 0) < 0 && errno != EINVAL) {
				rc = sb_error_set(err, errno, "umount %s: %s", dir, strerror(errno));
				break;
			}
			say(emit, arg, "unmounted %s (its controller returns to the unified hierarchy)", dir);
		} else if (strncmp(lines[i], "mkdir=", 6) == 0) {
			if (rmdir(lines[i] + 6) < 0 && errno != ENOENT) {
				rc = sb_error_set(err, errno, "rmdir %s: %s", lines[i] + 6, strerror(errno));
				break;
			}
			say(emit, arg, "removed %s", lines[i] + 6);
		}
	}
	free(text);
	if (rc == 0)
		unlink(HOSTFIX_RECORD);
	return rc;
}

static int crun_host_fix(enum sb_host_fix_mode mode, sb_line_fn emit, void *arg, struct sb_error *err)
{
	if (mode == SB_HOST_RESTORE)
		return hostfix_restore(emit, arg, err);
	char mnt[1024], controllers[256];
	if (!hybrid_unified(mnt, sizeof(mnt), controllers, sizeof(controllers)) || !controllers[0]) {
		say(emit, arg, "no host fix needed (no controller on a hybrid host's unified hierarchy)");
		return 0;
	}
	char base[1024];
	snprintf(base, sizeof(base), "%s", mnt);
	char *slash = strrchr(base, '/');
	if (slash && slash != base)
		*slash = '\0';
	if (mode == SB_HOST_EXPLAIN) {
		say(emit, arg, "cgroups are a v1/v2 hybrid and %s still holds: %s; crun refuses to start "
			       "containers until they move to v1", mnt, controllers);
		char list[256];
		snprintf(list, sizeof(list), "%s", controllers);
		for (char *s, *c = strtok_r(list, " ", &s); c; c = strtok_r(NULL, " ", &s))
			say(emit, arg, "would run: mkdir %s/%s && mount -t cgroup -o %s cgroup %s/%s", base, c, c,
			    base, c);
		say(emit, arg, "undone by --restore-host (record kept in %s)", HOSTFIX_RECORD);
		return 0;
	}
	return hostfix_apply(base, controllers, emit, arg, err);
}

const struct sb_driver sb_driver_crun = {
	.name = "crun",
	.summary = "crun (OCI runtime in C): bundle from the standard rootfs, create+start, exec per command",
	SB_OCI_COMMON_OPS,
	.list = crun_list,
	.caps = SB_OCI_CAPS | SB_CAP_NET,
	.probe = crun_probe,
	.box_create = crun_create,
	.leftovers = crun_leftovers,
	.host_fix = crun_host_fix,
};
