/* Snapshot -> restore -> exec through a real driver's vtable (any driver with SB_CAP_SNAPSHOT):
 *
 *   snapshot_restore DRIVER ROUNDS [k=v ...]
 *
 * Each round: create+start box A, write a per-round token into its /tmp (a file only A's state
 * holds), snapshot A into a fresh directory, exec in A again (it must go on running), restore the
 * snapshot as box B, `cat` the token in B (it must match exactly), destroy both. Prints one JSON
 * line per round with the phase times in ms (cold_start, snapshot, restore, restore_to_exec), and
 * exits 0 only when every round gave the right output. Exit 77 when the driver is not usable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/params.h"
#include "core/signals.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "image/image.h"

static int fail(const char *what, const struct sb_error *e)
{
	fprintf(stderr, "snapshot_restore: %s: %s\n", what, e && e->msg[0] ? e->msg : "failed");
	return 1;
}

/* exec argv in box; stdout into out (exactly as printed), 0 when it exited 0. */
static int run_in(const struct sb_driver *d, struct sb_box *box, const char *const *argv, char *out, size_t len,
		  struct sb_error *err)
{
	struct sb_exec_req req = {.argv = argv, .deadline_ns = sb_deadline_after(60)};
	struct sb_proc_result res;
	int rc = sb_drv_exec(d, box, &req, &res, err);
	if (rc == 0 && res.exit_code != 0)
		rc = sb_error_set(err, EIO, "'%s' exited %d: %s", argv[0], res.exit_code, res.err ? res.err : "");
	if (out)
		snprintf(out, len, "%s", res.out ? res.out : "");
	sb_proc_result_free(&res);
	return rc;
}

static int round_trip(const struct sb_driver *d, const struct sb_box_spec *base, unsigned round)
{
	struct sb_error e = {0};
	struct sb_box *a = NULL, *b = NULL;
	char name_a[64], name_b[64], token[64], dir[] = "/tmp/sb-snapshot-XXXXXX", got[256];
	snprintf(name_a, sizeof(name_a), "sb-snap-%d-%ua", (int)getpid(), round);
	snprintf(name_b, sizeof(name_b), "sb-snap-%d-%ub", (int)getpid(), round);
	snprintf(token, sizeof(token), "state-%d-%u", (int)getpid(), round);
	struct sb_box_spec sa = *base, sb = *base;
	sa.name = name_a;
	sb.name = name_b;
	if (!mkdtemp(dir))
		return fail("mkdtemp", NULL);
	int rc = 1;
	int64_t t0 = sb_now_ns();
	if (sb_drv_create(d, &sa, &a, sb_deadline_after(60), &e) < 0 || sb_drv_start(d, a, sb_deadline_after(60), &e) < 0) {
		fail("create", &e);
		goto out;
	}
	int64_t t1 = sb_now_ns();
	char script[160];
	snprintf(script, sizeof(script), "printf %s > /tmp/token", token);
	if (run_in(d, a, (const char *const[]){"sh", "-c", script, NULL}, NULL, 0, &e) < 0) {
		fail("write the token", &e);
		goto out;
	}
	int64_t t2 = sb_now_ns();
	if (sb_drv_snapshot(d, a, dir, sb_deadline_after(60), &e) < 0) {
		fail("snapshot", &e);
		goto out;
	}
	int64_t t3 = sb_now_ns();
	if (run_in(d, a, (const char *const[]){"cat", "/tmp/token", NULL}, got, sizeof(got), &e) < 0 ||
	    strcmp(got, token) != 0) {
		fprintf(stderr, "snapshot_restore: the snapshotted box does not go on: got '%s' (%s)\n", got, e.msg);
		goto out;
	}
	int64_t t4 = sb_now_ns();
	if (sb_drv_restore(d, &sb, dir, &b, sb_deadline_after(60), &e) < 0) {
		fail("restore", &e);
		goto out;
	}
	int64_t t5 = sb_now_ns();
	if (run_in(d, b, (const char *const[]){"cat", "/tmp/token", NULL}, got, sizeof(got), &e) < 0) {
		fail("exec in the restored box", &e);
		goto out;
	}
	int64_t t6 = sb_now_ns();
	if (strcmp(got, token) != 0) {
		fprintf(stderr, "snapshot_restore: restored box printed '%s', expected '%s'\n", got, token);
		goto out;
	}
	printf("{\"round\":%u,\"cold_start_ms\":%.3f,\"snapshot_ms\":%.3f,\"restore_ms\":%.3f,"
	       "\"restore_to_exec_ms\":%.3f}\n",
	       round, sb_ns_to_ms(t1 - t0), sb_ns_to_ms(t3 - t2), sb_ns_to_ms(t5 - t4), sb_ns_to_ms(t6 - t4));
	fflush(stdout);
	rc = 0;
out:;
	struct sb_error de = {0};
	if (b && sb_drv_destroy(d, b, sb_deadline_after(30), &de) < 0 && rc == 0)
		rc = fail("destroy the restored box", &de);
	if (a && sb_drv_destroy(d, a, sb_deadline_after(30), &de) < 0 && rc == 0)
		rc = fail("destroy the snapshotted box", &de);
	sb_rm_rf(dir);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: snapshot_restore DRIVER ROUNDS [k=v ...]\n");
		return 2;
	}
	sb_signals_install();
	const struct sb_driver *d = sb_driver_find(argv[1]);
	if (!d) {
		printf("SKIP: driver %s not compiled in\n", argv[1]);
		return 77;
	}
	struct sb_params params = {0};
	struct sb_error e = {0};
	for (int i = 3; i < argc; i++)
		if (sb_params_add_kv(&params, argv[i], &e) < 0)
			return fail("parameter", &e);
	struct sb_probe probe = {0};
	d->probe(&params, &probe);
	if (!probe.usable) {
		printf("SKIP: %s is not usable here: %s\n", d->name, probe.reason);
		return 77;
	}
	if (!(probe.caps & SB_CAP_SNAPSHOT)) {
		printf("SKIP: %s has no snapshot capability\n", d->name);
		return 77;
	}
	char agent[4096], rootfs[4096] = "";
	bool reused;
	if (sb_find_agent(agent, sizeof(agent), &e) < 0 ||
	    (d->image == SB_IMAGE_ROOTFS &&
	     sb_image_build(sb_image_default_cache_dir(), agent, rootfs, sizeof(rootfs), &reused, &e) < 0))
		return fail("standard rootfs", &e);
	void *state = NULL;
	if (sb_drv_open(d, &params, &state, &e) < 0)
		return fail("open", &e);
	struct sb_box_spec spec = {.params = &params, .rootfs = rootfs[0] ? rootfs : NULL, .agent_path = agent,
				   .drv_state = state};
	unsigned rounds = (unsigned)atoi(argv[2]);
	int rc = 0;
	for (unsigned r = 0; r < rounds && rc == 0 && !sb_interrupted(); r++)
		rc = round_trip(d, &spec, r);
	sb_drv_close(d, state);
	sb_params_free(&params);
	sb_reap_descendants();
	return rc;
}
