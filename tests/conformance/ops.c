/* The driver conformance suite, op level: `conformance-ops DRIVER [k=v...]` drives one driver's
 * vtable directly and checks every op its capabilities promise: create+start, exec with exact
 * stdout and exit status, the agent, copy in/out, stats, pids, clone, snapshot+restore, stop,
 * destroy (its processes gone afterwards), volumes (a second box with host directories mounted:
 * visible, writable both ways, read-only where asked, nothing mounted anywhere after destroy). Prints "ok"/"FAIL" lines; exit 0, 1 on a failure,
 * 77 when the driver is not usable here (with the probe's reason). The CLI-level half (exec
 * passthrough, scenario reports, leftovers, doctor after SIGKILL) is conformance.sh. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/client.h"
#include "core/clock.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "image/image.h"

static int failures;
static const struct sb_driver *drv;

/* Box names carry the run id conformance.sh sets (SANDBENCH_RUN_ID), the way the runner names its
 * boxes, so that a test of another driver running at the same time on a busy host never counts
 * this one's boxes, cgroups or state as its leftovers. */
static const char *box_name(const char *what)
{
	static char names[8][96];
	static unsigned next;
	const char *id = getenv("SANDBENCH_RUN_ID");
	char *n = names[next++ % 8];
	if (id && *id)
		snprintf(n, sizeof(names[0]), "sb-%.8s-conformance-%s", id, what);
	else
		snprintf(n, sizeof(names[0]), "sb-conformance-%s", what);
	return n;
}

static void check(bool cond, const char *what, const char *detail)
{
	printf("%s: %s%s%s\n", cond ? "ok" : "FAIL", what, cond || !detail ? "" : ": ", cond || !detail ? "" : detail);
	failures += !cond;
}

/* exec argv, return its result (caller frees), failing the check when the op itself fails. */
static int run(struct sb_box *box, const char *const *argv, struct sb_proc_result *res, struct sb_error *err)
{
	struct sb_exec_req req = {.argv = argv, .deadline_ns = sb_deadline_after(30)};
	return sb_drv_exec(drv, box, &req, res, err);
}

static bool exec_prints(struct sb_box *box, const char *token)
{
	const char *argv[] = {"echo", token, NULL};
	struct sb_proc_result res;
	struct sb_error err = {0};
	char want[128];
	snprintf(want, sizeof(want), "%s\n", token);
	bool ok = run(box, argv, &res, &err) == 0 && res.exit_code == 0 && res.out && strcmp(res.out, want) == 0;
	if (!ok)
		fprintf(stderr, "  exec echo %s: rc/exit %d, out '%s', err '%s' %s\n", token, res.exit_code,
			res.out ? res.out : "", res.err ? res.err : "", err.msg);
	sb_proc_result_free(&res);
	return ok;
}

/* Alive, and not a zombie waiting for its parent (a driver's launcher may be our own child). */
static bool pid_alive(pid_t p)
{
	if (kill(p, 0) < 0 && errno != EPERM)
		return false;
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)p);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *close_paren = strrchr(buf, ')');
	return !close_paren || (close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X');
}

static void check_agent(struct sb_box *box)
{
	struct sb_agent_conn conn;
	struct sb_error err = {0};
	struct sb_agent *a = NULL;
	struct sb_agent_response resp = {0};
	int rc = sb_drv_agent_open(drv, box, &conn, sb_deadline_after(30), &err);
	if (rc == 0)
		rc = sb_agent_open(conn.to_agent, conn.from_agent, &a, &err);
	if (rc == 0)
		rc = sb_agent_run_sh(a, "printf agent-%s conformance", NULL, &resp, sb_deadline_after(30), &err);
	check(rc == 0 && sb_agent_response_ok(&resp) && resp.stdout_data &&
		      strcmp(resp.stdout_data, "agent-conformance") == 0,
	      "agent: a command through `serve` prints exactly what it was asked", err.msg);
	sb_agent_response_clear(&resp);
	sb_agent_free(a);
	if (conn.to_agent >= 0 || conn.from_agent >= 0)
		sb_agent_conn_close(&conn);
}

static void check_copy(struct sb_box *box, const char *tmp)
{
	char in[512], back[512];
	snprintf(in, sizeof(in), "%s/in.bin", tmp);
	snprintf(back, sizeof(back), "%s/back.bin", tmp);
	unsigned char data[70000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	FILE *f = fopen(in, "we");
	if (!f || fwrite(data, 1, sizeof(data), f) != sizeof(data)) {
		check(false, "copy: write the host file", strerror(errno));
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	struct sb_error err = {0};
	int rc = sb_drv_copy_in(drv, box, in, "/tmp/conformance.bin", sb_deadline_after(30), &err);
	check(rc == 0, "copy in", err.msg);
	rc = rc ? rc : sb_drv_copy_out(drv, box, "/tmp/conformance.bin", back, sb_deadline_after(30), &err);
	check(rc == 0, "copy out", err.msg);
	char *got = NULL;
	size_t len = 0;
	f = fopen(back, "re");
	if (f) {
		got = malloc(sizeof(data) + 1);
		len = fread(got, 1, sizeof(data) + 1, f);
		fclose(f);
	}
	check(got && len == sizeof(data) && memcmp(got, data, len) == 0, "copy: the bytes came back unchanged", NULL);
	free(got);
}

/* exec `sh -c script` in box: its exit status (-1 when the op failed), stdout into out. */
static int sh(struct sb_box *box, const char *script, char *out, size_t len)
{
	struct sb_proc_result res;
	struct sb_error err = {0};
	int rc = run(box, (const char *const[]){"sh", "-c", script, NULL}, &res, &err);
	int status = rc == 0 ? res.exit_code : -1;
	snprintf(out, len, "%s", rc == 0 ? (res.out ? res.out : "") : err.msg);
	sb_proc_result_free(&res);
	return status;
}

static bool file_is(const char *path, const char *want)
{
	char got[256] = "";
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(got, 1, sizeof(got) - 1, f) : 0;
	if (f)
		fclose(f);
	got[n] = '\0';
	return f && strcmp(got, want) == 0;
}

/* The mount namespace of every process on the host (each once): where any of them still has
 * something mounted from or onto a path containing needle, its pid and the line. */
static bool mounted_anywhere(const char *needle, char *where, size_t len)
{
	char seen[512][40];
	size_t nseen = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;
	while (!found && d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[300], ns[40] = "";
		snprintf(path, sizeof(path), "/proc/%s/ns/mnt", de->d_name);
		ssize_t n = readlink(path, ns, sizeof(ns) - 1);
		if (n <= 0)
			continue;
		ns[n] = '\0';
		bool known = false;
		for (size_t i = 0; i < nseen && !known; i++)
			known = strcmp(seen[i], ns) == 0;
		if (known)
			continue;
		if (nseen < 512)
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", ns);
		snprintf(path, sizeof(path), "/proc/%s/mountinfo", de->d_name);
		FILE *f = fopen(path, "re");
		char line[4096];
		while (f && !found && fgets(line, sizeof(line), f))
			if (strstr(line, needle)) {
				found = true;
				snprintf(where, len, "pid %s: %s", de->d_name, line);
			}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

/* A box of its own with two host directories: one writable at a new top-level path, one
 * read-only below another new one (drivers must make mount points without writing into the
 * shared rootfs). */
static void check_volumes(const struct sb_box_spec *base, const char *tmp)
{
	char rw[600], ro[600], seed[700], p[700], out[512];
	snprintf(rw, sizeof(rw), "%s/vol-rw", tmp);
	snprintf(ro, sizeof(ro), "%s/vol-ro", tmp);
	snprintf(seed, sizeof(seed), "%s/seed", ro);
	FILE *f = NULL;
	if (mkdir(rw, 0777) < 0 || mkdir(ro, 0777) < 0 || !(f = fopen(seed, "we")) || fputs("seed", f) < 0) {
		check(false, "volumes: make the host directories", strerror(errno));
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	struct sb_volume vols[] = {
		{.host_path = rw, .box_path = "/sb-conformance-rw"},
		{.host_path = ro, .box_path = "/sb-conformance-ro/inner", .readonly = true},
	};
	struct sb_box_spec vspec = *base;
	vspec.name = box_name("vol");
	vspec.volumes = vols;
	vspec.nvolumes = 2;
	struct sb_error err = {0};
	struct sb_box *box = NULL;
	int rc = sb_drv_create(drv, &vspec, &box, sb_deadline_after(60), &err);
	if (rc == 0)
		rc = sb_drv_start(drv, box, sb_deadline_after(60), &err);
	check(rc == 0, "volumes: create+start with a writable and a read-only host directory", err.msg);
	if (rc == 0) {
		int st = sh(box, "cat /sb-conformance-ro/inner/seed", out, sizeof(out));
		check(st == 0 && strcmp(out, "seed") == 0, "volumes: a host file is visible inside", out);
		st = sh(box, "printf inside > /sb-conformance-rw/from-box && cat /sb-conformance-rw/from-box", out, sizeof(out));
		check(st == 0 && strcmp(out, "inside") == 0, "volumes: writable inside", out);
		snprintf(p, sizeof(p), "%s/from-box", rw);
		check(file_is(p, "inside"), "volumes: a file written inside is on the host", p);
		snprintf(p, sizeof(p), "%s/from-host", rw);
		f = fopen(p, "we");
		if (f) {
			fputs("later", f);
			fclose(f);
		}
		st = sh(box, "cat /sb-conformance-rw/from-host", out, sizeof(out));
		check(st == 0 && strcmp(out, "later") == 0, "volumes: a host file written after start is seen inside (a mount, not a copy)", out);
		st = sh(box, "echo x > /sb-conformance-ro/inner/nope", out, sizeof(out));
		snprintf(p, sizeof(p), "%s/nope", ro);
		check(st > 0 && access(p, F_OK) < 0, "volumes: read-only where asked", out);
	}
	if (box)
		check(sb_drv_destroy(drv, box, sb_deadline_after(60), &err) == 0, "volumes: destroy", err.msg);
	if (base->rootfs) {
		snprintf(p, sizeof(p), "%s/sb-conformance-rw", base->rootfs);
		check(access(p, F_OK) < 0, "volumes: the shared rootfs got no mount point", p);
	}
	/* Mounts go away with their namespace, which may take the runtime a moment after destroy. */
	char where[4200] = "";
	bool left = true;
	for (int t = 0; t < 100 && left; t++) {
		left = mounted_anywhere(tmp, where, sizeof(where));
		if (left)
			usleep(50000);
	}
	check(!left, "volumes: nothing mounted from the host directories after destroy", where);
	snprintf(p, sizeof(p), "%s/from-box", rw);
	unlink(p);
	snprintf(p, sizeof(p), "%s/from-host", rw);
	unlink(p);
	check(rmdir(rw) == 0, "volumes: the host directory can be removed", strerror(errno));
	/* A box path the driver must refuse before anything starts: one error, no box. */
	struct sb_volume bad = {.host_path = ro, .box_path = "relative/path"};
	vspec.name = box_name("vol-bad");
	vspec.volumes = &bad;
	vspec.nvolumes = 1;
	box = NULL;
	err = (struct sb_error){0};
	rc = sb_drv_create(drv, &vspec, &box, sb_deadline_after(60), &err);
	check(rc < 0 && !box && err.msg[0], "volumes: a relative box path is refused", rc < 0 ? NULL : "created");
	if (box)
		sb_drv_destroy(drv, box, sb_deadline_after(60), &err);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: conformance-ops DRIVER [k=v...]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	drv = sb_driver_find(argv[1]);
	if (!drv) {
		fprintf(stderr, "unknown driver %s\n", argv[1]);
		return 1;
	}
	struct sb_params params = {0};
	struct sb_error err = {0};
	for (int i = 2; i < argc; i++)
		if (sb_params_add_kv(&params, argv[i], &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
	struct sb_probe probe;
	drv->probe(&params, &probe);
	if (!probe.usable) {
		printf("SKIP: %s is not usable here: %s\n", drv->name, probe.reason);
		return 77;
	}
	char caps[256];
	sb_caps_format(probe.caps, caps, sizeof(caps));
	printf("# %s %s: %s\n", drv->name, probe.version, caps);
	char agent[4096] = "", rootfs[4096] = "";
	if (sb_find_agent(agent, sizeof(agent), &err) < 0) {
		printf("SKIP: %s\n", err.msg);
		return 77;
	}
	bool reused;
	if (drv->image != SB_IMAGE_NONE &&
	    sb_image_build(sb_image_default_cache_dir(), agent, rootfs, sizeof(rootfs), &reused, &err) < 0) {
		check(false, "standard rootfs", err.msg);
		return 1;
	}
	char tmp[] = "/tmp/sb-conformance-XXXXXX";
	if (!mkdtemp(tmp))
		return 1;
	void *state = NULL;
	check(sb_drv_open(drv, &params, &state, &err) == 0, "open", err.msg);
	struct sb_box_spec spec = {.name = box_name("a"), .params = &params, .rootfs = rootfs[0] ? rootfs : NULL,
				   .agent_path = agent, .drv_state = state};
	check(sb_drv_template_prepare(drv, &spec, sb_deadline_after(600), &err) == 0, "template prepare", err.msg);
	struct sb_box *box = NULL;
	int rc = sb_drv_create(drv, &spec, &box, sb_deadline_after(60), &err);
	check(rc == 0, "create", err.msg);
	if (rc == 0) {
		rc = sb_drv_start(drv, box, sb_deadline_after(60), &err);
		check(rc == 0, "start", err.msg);
	}
	if (rc < 0)
		goto out;
	unsigned caps_have = probe.caps;
	if (caps_have & SB_CAP_EXEC) {
		check(exec_prints(box, "conformance-1"), "exec: stdout is exactly what was echoed", NULL);
		const char *ex[] = {"sh", "-c", "exit 3", NULL};
		struct sb_proc_result res;
		rc = run(box, ex, &res, &err);
		check(rc == 0 && res.exit_code == 3, "exec: exit status passed through", err.msg);
		sb_proc_result_free(&res);
	}
	if (caps_have & SB_CAP_AGENT)
		check_agent(box);
	if (caps_have & SB_CAP_COPY)
		check_copy(box, tmp);
	if (caps_have & SB_CAP_STATS) {
		struct sb_box_stats st;
		rc = sb_drv_stats(drv, box, &st, &err);
		check(rc == 0 && (st.mem_bytes > 0 || st.cpu_ns > 0 || st.rss_bytes > 0), "stats: memory or CPU accounted",
		      err.msg);
	}
	pid_t pids[256];
	size_t npids = 0;
	if (caps_have & SB_CAP_PIDS) {
		rc = sb_drv_pids(drv, box, pids, 256, &npids, &err);
		check(rc == 0 && npids >= 1 && pid_alive(pids[0]), "pids: the sandbox's host processes", err.msg);
		if (npids > 256)
			npids = 256;
	}
	/* The runtime's helpers: alive, outside the sandbox's own list, and the dedicated ones (not the
	 * daemons) gone with it. */
	struct sb_host_proc helpers[32];
	size_t nhelpers = 0;
	if (drv->box_host_pids) {
		rc = sb_drv_host_pids(drv, box, helpers, 32, &nhelpers, &err);
		bool fine = rc == 0 && nhelpers <= 32;
		for (size_t i = 0; fine && i < nhelpers; i++) {
			fine = pid_alive(helpers[i].pid) && helpers[i].role[0];
			for (size_t j = 0; fine && j < npids; j++)
				fine = helpers[i].pid != pids[j];
		}
		check(fine, "host pids: the runtime's helpers are alive and not the sandbox's own", err.msg);
		if (nhelpers > 32)
			nhelpers = 32;
	}
	if (caps_have & SB_CAP_CLONE) {
		struct sb_box_spec cspec = spec;
		cspec.name = box_name("clone");
		struct sb_box *clone = NULL;
		rc = sb_drv_clone(drv, box, &cspec, &clone, sb_deadline_after(60), &err);
		check(rc == 0, "clone", err.msg);
		if (rc == 0)
			check(exec_prints(clone, "conformance-clone"), "clone: runs commands", NULL);
		if (clone)
			check(sb_drv_destroy(drv, clone, sb_deadline_after(60), &err) == 0, "clone: destroy", err.msg);
	}
	if (caps_have & SB_CAP_SNAPSHOT) {
		char snap[600];
		snprintf(snap, sizeof(snap), "%s/snapshot", tmp);
		mkdir(snap, 0700);
		/* A file only this sandbox's state holds: the restored copy must print it back. */
		struct sb_proc_result wres;
		rc = run(box, (const char *const[]){"sh", "-c", "printf conformance-state > /tmp/sb-state", NULL}, &wres, &err);
		check(rc == 0 && wres.exit_code == 0, "snapshot: write state into the sandbox", err.msg);
		sb_proc_result_free(&wres);
		rc = sb_drv_snapshot(drv, box, snap, sb_deadline_after(120), &err);
		check(rc == 0, "snapshot", err.msg);
		struct sb_box_spec rspec = spec;
		rspec.name = box_name("restored");
		struct sb_box *restored = NULL;
		if (rc == 0) {
			rc = sb_drv_restore(drv, &rspec, snap, &restored, sb_deadline_after(120), &err);
			check(rc == 0, "restore", err.msg);
		}
		if (restored) {
			check(exec_prints(restored, "conformance-restored"), "restore: the restored sandbox runs commands", NULL);
			struct sb_proc_result sres;
			rc = run(restored, (const char *const[]){"cat", "/tmp/sb-state", NULL}, &sres, &err);
			check(rc == 0 && sres.exit_code == 0 && sres.out && strcmp(sres.out, "conformance-state") == 0,
			      "restore: the restored sandbox has the snapshotted state", sres.out ? sres.out : err.msg);
			sb_proc_result_free(&sres);
			check(sb_drv_destroy(drv, restored, sb_deadline_after(60), &err) == 0, "restore: destroy", err.msg);
		}
		check(exec_prints(box, "conformance-after-snapshot"), "snapshot: the original keeps running", NULL);
	}
	if (caps_have & SB_CAP_VOLUMES)
		check_volumes(&spec, tmp);
	if (drv->box_stop) {
		rc = sb_drv_stop(drv, box, sb_deadline_after(60), &err);
		check(rc == 0, "stop", err.msg);
	}
	rc = sb_drv_destroy(drv, box, sb_deadline_after(60), &err);
	check(rc == 0, "destroy", err.msg);
	box = NULL;
	bool gone = true;
	for (int t = 0; t < 100; t++) {
		gone = true;
		for (size_t i = 0; i < npids; i++)
			gone &= !pid_alive(pids[i]);
		for (size_t i = 0; i < nhelpers; i++)
			gone &= helpers[i].daemon || !pid_alive(helpers[i].pid);
		if (gone)
			break;
		usleep(20000);
	}
	if (npids || nhelpers)
		check(gone, "destroy: the sandbox's processes and its dedicated helpers are gone", NULL);
out:
	if (box)
		sb_drv_destroy(drv, box, sb_deadline_after(60), &err);
	sb_drv_close(drv, state);
	sb_rm_rf(tmp);
	sb_params_free(&params);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
