/* sbm-bench: the live-metrics costs bench/metrics_registry.sh prints. Not a test.
 *
 *   sbm-bench write DIR               ns per sb_reg_write (one slot, many samples)
 *   sbm-bench snapshot DIR            us per snapshot of a 1,024-slot registry whose slots are all
 *                                     held by another process: idle, and with that process
 *                                     rewriting every slot as fast as it can
 *   sbm-bench sampler ROOTFS N SECS [k=v...]
 *                                     the sampler thread's CPU with N native sandboxes (driver
 *                                     parameters k=v, e.g. cgroups=1) at 1 Hz for SECS seconds,
 *                                     publishing into a registry in DIR=$SBM_BENCH_DIR (needs root)
 *   sbm-bench sampler-fake N SECS     the same with a driver whose stats op returns constants: what
 *                                     the sampler and the registry cost by themselves
 *
 * Each prints "name value unit" lines; timed loops are repeated in batches and the median batch
 * is printed. The cost of a write or a snapshot is the CPU time of the thread doing it
 * (CLOCK_THREAD_CPUTIME_ID): on a shared host the wall time also holds the time other processes
 * had the core (printed too, as *_wall). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/params.h"
#include "metrics/registry.h"
#include "metrics/sampler.h"
#include "native/native.h"

extern const struct sb_driver sb_driver_native;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct sb_reg *open_or_die(const char *path, bool writable, uint32_t nslots)
{
	char msg[400];
	struct sb_reg *r;
	if (sb_reg_open(path, writable, nslots, &r, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "sbm-bench: %s\n", msg);
		exit(1);
	}
	return r;
}

static int bench_write(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/write-registry", dir);
	struct sb_reg *w = open_or_die(path, true, 16);
	uint32_t slot;
	if (sb_reg_claim(w, "bench", "bench", "none", &slot, NULL, 0) < 0)
		return 1;
	struct sb_reg_sample s = {.cpu_percent = 1};
	enum { BATCHES = 31, PER = 200000 };
	double ns[BATCHES], wall[BATCHES];
	for (int b = 0; b < BATCHES; b++) {
		int64_t c0 = thread_cpu_ns(), t0 = sb_now_ns();
		for (int i = 0; i < PER; i++) {
			s.count++;
			s.cpu_ns += 1000;
			sb_reg_write(w, slot, &s);
		}
		ns[b] = (double)(thread_cpu_ns() - c0) / PER;
		wall[b] = (double)(sb_now_ns() - t0) / PER;
	}
	printf("write_ns_per_sample %.1f ns\n", median(ns, BATCHES));
	printf("write_ns_per_sample_wall %.1f ns\n", median(wall, BATCHES));
	sb_reg_release(w, slot);
	sb_reg_close(w);
	return 0;
}

/* A child that holds every slot of the registry and, when busy, rewrites them all in a loop. */
static pid_t holder(const char *path, bool busy, int ready_fd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	struct sb_reg *w = open_or_die(path, true, 1024);
	uint32_t slots[1024];
	for (int i = 0; i < 1024; i++) {
		char id[32];
		snprintf(id, sizeof(id), "sb-bench-%d", i);
		if (sb_reg_claim(w, id, "bench", "native", &slots[i], NULL, 0) < 0)
			_exit(1);
		struct sb_reg_sample s = {.count = 1, .cpu_percent = 12.5, .mem_bytes = 1 << 20};
		sb_reg_write(w, slots[i], &s);
	}
	if (write(ready_fd, "x", 1) != 1)
		_exit(1);
	struct sb_reg_sample s = {.cpu_percent = 12.5};
	for (uint64_t k = 0; busy; k++) {
		s.count = k;
		sb_reg_write(w, slots[k % 1024], &s);
	}
	pause();
	_exit(0);
}

static int snapshot_case(const char *path, bool busy)
{
	int p[2];
	if (pipe(p) < 0)
		return 1;
	pid_t pid = holder(path, busy, p[1]);
	char c;
	if (read(p[0], &c, 1) != 1) {
		fprintf(stderr, "sbm-bench: the holder did not start\n");
		return 1;
	}
	close(p[0]);
	close(p[1]);
	struct sb_reg *r = open_or_die(path, false, 0);
	static struct sb_reg_entry e[1024];
	size_t n;
	int64_t t0 = sb_now_ns();
	sb_reg_snapshot(r, e, 1024, &n); /* the first: reads the owner's start time from /proc */
	double first_us = (double)(sb_now_ns() - t0) / 1e3;
	enum { BATCHES = 31, PER = 200 };
	double us[BATCHES], wall[BATCHES];
	size_t short_reads = 0;
	for (int b = 0; b < BATCHES; b++) {
		int64_t c0 = thread_cpu_ns();
		t0 = sb_now_ns();
		for (int i = 0; i < PER; i++) {
			sb_reg_snapshot(r, e, 1024, &n);
			short_reads += n != 1024;
		}
		us[b] = (double)(thread_cpu_ns() - c0) / 1e3 / PER;
		wall[b] = (double)(sb_now_ns() - t0) / 1e3 / PER;
	}
	const char *tag = busy ? "busy_writer" : "idle";
	printf("snapshot_1024_us_%s %.1f us\n", tag, median(us, BATCHES));
	printf("snapshot_1024_us_wall_%s %.1f us\n", tag, median(wall, BATCHES));
	printf("snapshot_1024_first_us_%s %.1f us\n", tag, first_us);
	printf("snapshot_1024_incomplete_%s %zu of %d\n", tag, short_reads, BATCHES * PER);
	sb_reg_close(r);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(path);
	return 0;
}

static int bench_snapshot(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/snapshot-registry", dir);
	return snapshot_case(path, false) || snapshot_case(path, true);
}

static int fake_stats(struct sb_box *box, struct sb_box_stats *out, struct sb_error *err)
{
	(void)box;
	(void)err;
	memset(out, 0, sizeof(*out));
	out->cpu_ns = (uint64_t)sb_now_ns() / 4;
	out->mem_bytes = 1 << 20;
	out->rss_bytes = 2 << 20;
	out->pids = 1;
	return 0;
}

static const struct sb_driver fake_driver = {.name = "fake", .caps = SB_CAP_STATS, .box_stats = fake_stats};

/* Watch n boxes of drv at 1 Hz for secs seconds, publishing, and print what the thread used. */
static int measure(const struct sb_driver *drv, struct sb_box **boxes, int n, int secs, const char *tag)
{
	char path[512];
	const char *dir = getenv("SBM_BENCH_DIR");
	snprintf(path, sizeof(path), "%s/sampler-registry", dir ? dir : "/dev/shm");
	struct sb_sampler_opts o = {.interval_s = 1, .registry_path = path};
	struct sb_sampler *s;
	struct sb_error e = {0};
	if (sb_sampler_start(&o, &s, &e) < 0) {
		fprintf(stderr, "sbm-bench: %s\n", e.msg);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "box-%d", i);
		if (sb_sampler_watch(s, drv, boxes[i], name, &e) < 0)
			fprintf(stderr, "sbm-bench: watch: %s\n", e.msg);
	}
	/* From just after a tick, so the window holds exactly secs sweeps. */
	struct sb_sampler_counts a, b;
	sb_sampler_counts(s, &a);
	while (sb_sampler_counts(s, &b), b.sweeps == a.sweeps)
		usleep(20000);
	int64_t t0 = sb_now_ns();
	usleep((useconds_t)secs * 1000000u + 500000u);
	sb_sampler_counts(s, &a);
	double wall = (double)(sb_now_ns() - t0);
	double cpu = (double)(a.thread_cpu_ns - b.thread_cpu_ns);
	uint64_t reads = a.samples - b.samples;
	printf("sampler_%s_boxes %d boxes\n", tag, n);
	printf("sampler_%s_sweeps %llu sweeps\n", tag, (unsigned long long)(a.sweeps - b.sweeps));
	printf("sampler_%s_reads %llu reads (%llu failed)\n", tag, (unsigned long long)reads,
	       (unsigned long long)(a.errors - b.errors));
	printf("sampler_%s_us_per_read %.1f us\n", tag, reads ? cpu / 1e3 / (double)reads : 0);
	printf("sampler_%s_cpu_percent_of_core %.3f %%\n", tag, cpu / wall * 100);
	sb_sampler_stop(s);
	return 0;
}

static int bench_sampler_fake(int n, int secs)
{
	struct sb_box **boxes = calloc((size_t)n, sizeof(*boxes));
	for (int i = 0; i < n; i++)
		boxes[i] = (struct sb_box *)(uintptr_t)(i + 1); /* the fake op never looks at it */
	int rc = measure(&fake_driver, boxes, n, secs, "fake");
	free(boxes);
	return rc;
}

static int bench_sampler(const char *rootfs, int n, int secs, char **kv, int nkv)
{
	struct sb_probe pr;
	sb_driver_native.probe(NULL, &pr);
	if (!pr.usable) {
		fprintf(stderr, "sbm-bench: native driver unusable: %s\n", pr.reason);
		return 77;
	}
	struct sb_box **boxes = calloc((size_t)n, sizeof(*boxes));
	struct sb_error e = {0};
	struct sb_params params = {0};
	for (int i = 0; i < nkv; i++)
		if (sb_params_add_kv(&params, kv[i], &e) < 0) {
			fprintf(stderr, "sbm-bench: %s\n", e.msg);
			return 2;
		}
	int made = 0, rc = 0;
	for (; made < n; made++) {
		char name[64];
		snprintf(name, sizeof(name), "sbm-bench-%d-%d", (int)getpid(), made);
		struct sb_box_spec spec = {.name = name, .rootfs = rootfs, .params = &params};
		if (sb_driver_native.box_create(&spec, &boxes[made], sb_deadline_after(30), &e) < 0) {
			fprintf(stderr, "sbm-bench: box %d: %s\n", made, e.msg);
			rc = 1;
			break;
		}
	}
	if (rc == 0)
		rc = measure(&sb_driver_native, boxes, n, secs, nkv ? "native_cgroups" : "native");
	for (int i = 0; i < made; i++)
		sb_driver_native.box_destroy(boxes[i], sb_deadline_after(30), &e);
	sb_native_shutdown();
	sb_params_free(&params);
	free(boxes);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "write"))
		return bench_write(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "snapshot"))
		return bench_snapshot(argv[2]);
	if (argc >= 5 && !strcmp(argv[1], "sampler"))
		return bench_sampler(argv[2], atoi(argv[3]), atoi(argv[4]), argv + 5, argc - 5);
	if (argc == 4 && !strcmp(argv[1], "sampler-fake"))
		return bench_sampler_fake(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: sbm-bench write DIR | snapshot DIR | sampler ROOTFS N SECONDS [k=v...] | "
		"sampler-fake N SECONDS\n");
	return 2;
}
