/* sbn-bench: an in-process measurement of the native driver next to a bare spawn, used by
 * bench/native_startup.sh for the one number the CLI scenarios cannot give fairly: exec of the
 * same static binary (`sandbench-agent true`) in a running box versus a bare posix_spawn of it on
 * the host (latency-exec-output runs `echo`, which is busybox in the box but coreutils on the
 * host). It also times the cold and warm lifecycles with their phases, all interleaved per round
 * so that noise on a busy machine hits every variant alike.
 *
 *   sbn-bench ROOTFS HOST_AGENT [ROUNDS [all|exec [raw]]]
 *
 * "exec" measures only the two execs (nothing else of sandbench runs in between, as in the
 * latency-exec-output scenario); "all" (the default) interleaves every measurement. With "raw"
 * every sample is printed ("name ms" per line) instead of the summary.
 * Prints one line per measurement: name, p50, p90 and min in ms. Needs root. Not a test.
 *
 *   sbn-bench spawn N CMD [ARGS...]
 *
 * runs CMD N times, one after the other, each a posix_spawn and a wait with its stdout and stderr
 * on /dev/null (the same as a bare spawn), and prints each wall time in ms on its own line: the
 * timer for the other runtimes' command lines (unshare, bwrap). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "drivers/driver.h"
#include "native/native.h"

extern const struct sb_driver sb_driver_native;
extern const struct sb_driver sb_driver_process;

enum { M_BARE, M_COLD, M_COLD_CREATE, M_COLD_EXEC, M_COLD_DESTROY, M_WARM, M_WARM_CREATE, M_WARM_EXEC,
       M_WARM_DESTROY, M_EXEC_BARE, M_EXEC_BOX, M_N };
static const char *const names[M_N] = {
	"bare_lifecycle",  "cold_lifecycle", "cold_create", "cold_exec",      "cold_destroy",    "warm_lifecycle",
	"warm_create",     "warm_exec",      "warm_destroy", "exec_bare",     "exec_box",
};

static double *samples[M_N];
static size_t nsamples[M_N];

static void add(int m, int64_t ns)
{
	samples[m][nsamples[m]++] = (double)ns / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void die(const char *what, const struct sb_error *e)
{
	fprintf(stderr, "sbn-bench: %s: %s\n", what, e->msg);
	sb_native_shutdown();
	exit(1);
}

/* One exec of argv; returns its wall time (the driver's own start/end stamps). */
static int64_t exec1(const struct sb_driver *d, struct sb_box *b, const char *const *argv)
{
	struct sb_exec_req req = {.argv = argv, .deadline_ns = sb_deadline_after(10)};
	struct sb_proc_result r;
	struct sb_error e = {0};
	if (d->box_exec(b, &req, &r, &e) < 0 || r.exit_code != 0)
		die("exec", &e);
	int64_t t = r.end_ns - r.start_ns;
	sb_proc_result_free(&r);
	return t;
}

/* create -> exec -> destroy, timed as the latency-spawn scenario does. */
static void lifecycle(const struct sb_driver *d, const struct sb_box_spec *spec, const char *const *argv, int m_all,
		      int m_create, int m_exec, int m_destroy)
{
	struct sb_error e = {0};
	struct sb_box *b;
	int64_t t0 = sb_now_ns();
	if (d->box_create(spec, &b, sb_deadline_after(10), &e) < 0)
		die("create", &e);
	int64_t t1 = sb_now_ns();
	exec1(d, b, argv);
	int64_t t2 = sb_now_ns();
	if (d->box_destroy(b, sb_deadline_after(10), &e) < 0)
		die("destroy", &e);
	int64_t t3 = sb_now_ns();
	add(m_all, t3 - t0);
	if (m_create >= 0) {
		add(m_create, t1 - t0);
		add(m_exec, t2 - t1);
		add(m_destroy, t3 - t2);
	}
}

extern char **environ;

static int spawn_loop(int n, char **argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (int i = 0; i < n; i++) {
		pid_t pid;
		int st;
		int64_t t0 = sb_now_ns();
		int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
		if (rc != 0) {
			fprintf(stderr, "sbn-bench: %s: %s\n", argv[0], strerror(rc));
			return 1;
		}
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		int64_t t1 = sb_now_ns();
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "sbn-bench: %s failed (status %d)\n", argv[0], st);
			return 1;
		}
		printf("%.4f\n", (double)(t1 - t0) / 1e6);
	}
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 3 && strcmp(argv[1], "spawn") == 0)
		return spawn_loop(atoi(argv[2]), argv + 3);
	if (argc < 3) {
		fprintf(stderr, "usage: sbn-bench ROOTFS HOST_AGENT [ROUNDS]\n");
		return 2;
	}
	const char *rootfs = argv[1], *agent = argv[2];
	int rounds = argc > 3 ? atoi(argv[3]) : 200;
	bool only_exec = argc > 4 && strcmp(argv[4], "exec") == 0;
	bool raw = argc > 5 && strcmp(argv[5], "raw") == 0;
	if (rounds < 1)
		rounds = 1;
	signal(SIGPIPE, SIG_IGN);
	struct sb_probe pr;
	sb_driver_native.probe(NULL, &pr);
	if (!pr.usable) {
		fprintf(stderr, "sbn-bench: native driver unusable: %s\n", pr.reason);
		return 1;
	}
	for (int i = 0; i < M_N; i++)
		samples[i] = calloc((size_t)rounds, sizeof(double));
	struct sb_params warm_p = {0};
	struct sb_error e = {0};
	sb_params_add_kv(&warm_p, "warm=1", &e);
	struct sb_box_spec bare = {.name = "bench-bare", .agent_path = agent};
	struct sb_box_spec cold = {.name = "bench-cold", .rootfs = rootfs};
	struct sb_box_spec warm = {.name = "bench-warm", .rootfs = rootfs, .params = &warm_p};
	const char *host_argv[] = {agent, "true", NULL};
	const char *box_argv[] = {"/sandbench-agent", "true", NULL};

	/* The long-running boxes for exec, and one unmeasured round so first-touch costs (page cache,
	 * the zygote's pool) are out of the way as the scenarios' warmup iterations do. */
	struct sb_box *pb, *nb;
	if (sb_driver_process.box_create(&bare, &pb, 0, &e) < 0 || sb_driver_native.box_create(&cold, &nb, 0, &e) < 0)
		die("create", &e);
	exec1(&sb_driver_native, nb, box_argv);
	lifecycle(&sb_driver_process, &bare, host_argv, M_BARE, -1, -1, -1);
	lifecycle(&sb_driver_native, &cold, box_argv, M_COLD, -1, -1, -1);
	lifecycle(&sb_driver_native, &warm, box_argv, M_WARM, -1, -1, -1);
	for (int i = 0; i < M_N; i++)
		nsamples[i] = 0;
	for (int r = 0; r < rounds; r++) {
		/* Rotate the order so no variant always runs right after another. */
		for (int k = 0; k < 5; k++) {
			int what = (k + r) % 5;
			if (only_exec && what < 3)
				continue;
			switch (what) {
			case 0:
				lifecycle(&sb_driver_process, &bare, host_argv, M_BARE, -1, -1, -1);
				break;
			case 1:
				lifecycle(&sb_driver_native, &cold, box_argv, M_COLD, M_COLD_CREATE, M_COLD_EXEC, M_COLD_DESTROY);
				break;
			case 2:
				lifecycle(&sb_driver_native, &warm, box_argv, M_WARM, M_WARM_CREATE, M_WARM_EXEC, M_WARM_DESTROY);
				break;
			case 3:
				add(M_EXEC_BARE, exec1(&sb_driver_process, pb, host_argv));
				break;
			case 4:
				add(M_EXEC_BOX, exec1(&sb_driver_native, nb, box_argv));
				break;
			}
		}
	}
	sb_driver_process.box_destroy(pb, 0, &e);
	sb_driver_native.box_destroy(nb, sb_deadline_after(10), &e);
	sb_native_shutdown();
	sb_params_free(&warm_p);
	for (int i = 0; i < M_N; i++) {
		size_t n = nsamples[i];
		if (!n)
			continue;
		if (raw) {
			for (size_t k = 0; k < n; k++)
				printf("%s %.4f\n", names[i], samples[i][k]);
			free(samples[i]);
			continue;
		}
		qsort(samples[i], n, sizeof(double), cmp);
		/* Nearest-rank percentiles, as sandbench's statistics use. */
		size_t i50 = (n * 50 + 99) / 100, i90 = (n * 90 + 99) / 100;
		printf("%-16s p50 %.3f p90 %.3f min %.3f n %zu\n", names[i], samples[i][i50 ? i50 - 1 : 0],
		       samples[i][i90 ? i90 - 1 : 0], samples[i][0], n);
		free(samples[i]);
	}
	return 0;
}
