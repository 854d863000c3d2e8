/* The host-side readers behind the resource scenarios (core/cgfs.c), on this very process, and the
 * footprint arithmetic (scenarios/footprint.c): shares, CPU deltas, the description tag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/cgfs.h"
#include "scenarios/footprint.h"

static void test_mem_detail(void **state)
{
	(void)state;
	/* Touch some private memory so USS is clearly non-zero. */
	size_t n = 4 << 20;
	char *p = malloc(n);
	assert_non_null(p);
	memset(p, 1, n);
	struct sb_proc_memx m;
	assert_int_equal(sb_proc_mem_detail(getpid(), &m), 0);
	assert_true(m.rss >= n && m.pss >= n && m.uss >= n);
	assert_true(m.uss <= m.pss && m.pss <= m.rss);
	free(p);
	assert_true(sb_proc_mem_detail(0x7ffffff0, &m) < 0); /* no such process */
}

static void test_fd_count(void **state)
{
	(void)state;
	int before = sb_proc_fd_count(getpid());
	assert_true(before >= 3);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(sb_proc_fd_count(getpid()), before + 1);
	close(fd);
	assert_int_equal(sb_proc_fd_count(getpid()), before);
}

/* Scheduler precision: a 3 ms busy loop shows as about 3 ms, far below a 10 ms tick. */
static void test_cpu_exact(void **state)
{
	(void)state;
	uint64_t a = sb_proc_cpu_exact_ns(getpid(), false);
	struct timespec t0, t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 3000000L);
	uint64_t b = sb_proc_cpu_exact_ns(getpid(), false);
	assert_true(b - a >= 3000000);
	assert_true(b - a < 9000000);
	assert_true(sb_proc_cpu_exact_ns(getpid(), true) >= b);
	assert_int_equal(sb_proc_ppid(getpid()), getppid());
	char comm[32];
	sb_proc_comm(getpid(), comm, sizeof(comm));
	assert_string_equal(comm, "test_footprint");
}

static void test_unix_listener(void **state)
{
	(void)state;
	char path[108];
	snprintf(path, sizeof(path), "/tmp/sb-fp-test-%d.sock", (int)getpid());
	unlink(path);
	assert_int_equal(sb_proc_unix_listener(path), 0);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(sb_proc_unix_listener(path), 0); /* bound, not listening */
	assert_int_equal(listen(s, 1), 0);
	assert_int_equal(sb_proc_unix_listener(path), getpid());
	close(s);
	unlink(path);
}

static void test_meminfo(void **state)
{
	(void)state;
	uint64_t total = sb_meminfo_bytes("MemTotal"), avail = sb_meminfo_bytes("MemAvailable");
	assert_true(total > (64u << 20) && avail > 0 && avail <= total);
	assert_int_equal(sb_meminfo_bytes("MemTota"), 0); /* a prefix is not the key */
	double a = sb_host_mem_available(0);
	assert_true(a > 0 && a <= (double)total);
	assert_true(sb_host_kernel_mem() > 0);
}

static struct sb_fp_proc proc(pid_t pid, const char *comm, const char *role, bool daemon, unsigned shared_by,
			      uint64_t cpu)
{
	struct sb_fp_proc p = {.pid = pid, .daemon = daemon, .shared_by = shared_by, .cpu_ns = cpu};
	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	snprintf(p.role, sizeof(p.role), "%s", role);
	return p;
}

/* Shares weigh the CPU: a daemon serving 4 counts a quarter, an unknown share nothing; a process
 * that appeared counts from 0, one that left counts nothing more. */
static void test_cpu_delta_and_describe(void **state)
{
	(void)state;
	struct sb_fp_proc b[] = {
		proc(10, "agent", "box", false, 1, 1000), proc(20, "conmon", "conmon", false, 1, 500),
		proc(30, "dockerd", "dockerd", true, 4, 4000), proc(40, "sb-native-zyg", "zygote", true, 0, 0),
		proc(50, "gone", "box", false, 1, 100),
	};
	struct sb_fp_proc a[] = {
		proc(10, "agent", "box", false, 1, 3000), proc(20, "conmon", "conmon", false, 1, 600),
		proc(30, "dockerd", "dockerd", true, 4, 8000), proc(40, "sb-native-zyg", "zygote", true, 0, 9000),
		proc(60, "new", "box", false, 1, 700),
	};
	struct sb_footprint before = {.procs = b, .n = 5, .box_known = true, .helpers_known = true};
	struct sb_footprint after = {.procs = a, .n = 5, .box_known = true, .helpers_known = true};
	assert_true(sb_fp_cpu_delta(&before, &after) == 2000 + 100 + 1000 + 0 + 700);
	char desc[300];
	sb_fp_describe(&after, desc, sizeof(desc));
	assert_string_equal(desc, "box: 10 agent, 60 new; helpers: 20 conmon, 30 dockerd (daemon, 1/4), "
				  "40 sb-native-zyg [zygote] (shared, not counted)");
	struct sb_footprint empty = {.box_known = true, .helpers_known = true};
	sb_fp_describe(&empty, desc, sizeof(desc));
	assert_string_equal(desc, "box: none; helpers: none");
	empty.box_known = empty.helpers_known = false;
	sb_fp_describe(&empty, desc, sizeof(desc));
	assert_string_equal(desc, "box: not listed by the driver; helpers: not reported by the driver");
	sb_fp_describe(&after, desc, 20); /* truncated, still terminated */
	assert_int_equal(strlen(desc), 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_detail),   cmocka_unit_test(test_fd_count),
		cmocka_unit_test(test_cpu_exact),    cmocka_unit_test(test_unix_listener),
		cmocka_unit_test(test_meminfo),      cmocka_unit_test(test_cpu_delta_and_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
