/* Memory, CPU, stdout streaming, time markers and idling. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Resident set in bytes: /proc/self/statm when /proc is mounted (current RSS), else
 * the peak from getrusage, which is the same number right after touching. */
static uint64_t rss_bytes(const char **source)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char buf[128];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		unsigned long long size, resident;
		if (n > 0) {
			buf[n] = '\0';
			if (sscanf(buf, "%llu %llu", &size, &resident) == 2 && resident > 0) {
				*source = "statm";
				return (uint64_t)resident * (uint64_t)page;
			}
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*source = "rusage";
	return (uint64_t)ru.ru_maxrss * 1024u;
}

int agent_cmd_mem_touch(int argc, char **argv)
{
	const char *cmd = "mem-touch", *pos[1];
	if (agent_getopt(cmd, argc, argv, (const struct agent_opt[]){ { 0 } }, pos, 1) != 1)
		agent_usage(cmd, "SIZE is required");
	uint64_t size = agent_size_arg(cmd, "SIZE", pos[0], 1);
	if (size > SIZE_MAX / 2)
		agent_usage(cmd, "SIZE: '%s' is too large for this machine", pos[0]);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	int64_t t0 = agent_now(CLOCK_MONOTONIC);
	/* mmap rather than malloc: every page starts untouched, so the timing is the
	 * page-fault path the sandbox imposes (cgroup charging, EPT faults in a VM). */
	uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		agent_fail(cmd, errno, "mmap %" PRIu64 " bytes", size);
	uint64_t pages = 0;
	for (size_t off = 0; off < size; off += page, pages++)
		((volatile uint8_t *)p)[off] = (uint8_t)pages | 1;
	int64_t t1 = agent_now(CLOCK_MONOTONIC);
	const char *src;
	uint64_t rss = rss_bytes(&src);
	munmap(p, size);

	double ms = agent_secs(t0, t1) * 1e3;
	printf("{\"workload\":\"mem-touch\",\"bytes\":%" PRIu64 ",\"pages\":%" PRIu64
	       ",\"page_size\":%zu,\"ms\":%.6f,\"ns_per_page\":%.6g,\"rss_bytes\":%" PRIu64
	       ",\"rss_source\":\"%s\"}\n",
	       size, pages, page, ms, ms * 1e6 / (double)pages, rss, src);
	return 0;
}

int agent_cmd_cpu_burn(int argc, char **argv)
{
	const char *cmd = "cpu-burn", *pos[1];
	if (agent_getopt(cmd, argc, argv, (const struct agent_opt[]){ { 0 } }, pos, 1) != 1)
		agent_usage(cmd, "SECONDS is required");
	double want = agent_seconds_arg(cmd, "SECONDS", pos[0]);

	int64_t t0 = agent_now(CLOCK_MONOTONIC), end = t0 + (int64_t)(want * 1e9), now;
	uint64_t iters = 0, st = 0x12345678u, x = 0;
	volatile uint64_t sink;
	do {
		/* A fixed chunk of integer work between clock reads keeps the clock out of the
		 * measurement; short targets (a busy-wait of some microseconds added to a sandbox
		 * start) read the clock more often so they stop within a microsecond or two. */
		int chunk = want < 0.01 ? 500 : 20000;
		for (int i = 0; i < chunk; i++)
			x ^= agent_rand_next(&st) + (x >> 7);
		sink = x;
		iters += (uint64_t)chunk;
		now = agent_now(CLOCK_MONOTONIC);
	} while (now < end);
	(void)sink;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	double secs = agent_secs(t0, now);
	if (cpu <= 0)
		cpu = 1e-6; /* accounting granularity; keep the number meaningful and > 0 */
	printf("{\"workload\":\"cpu-burn\",\"seconds\":%.9f,\"iterations\":%" PRIu64
	       ",\"iterations_per_s\":%.6g,\"cpu_seconds\":%.6f,\"cpu_share\":%.4f}\n",
	       secs, iters, (double)iters / secs, cpu, cpu / secs);
	return 0;
}

int agent_cmd_stream(int argc, char **argv)
{
	const char *cmd = "stream", *bs_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--bs", true, &bs_s, NULL },
		{ 0 },
	};
	if (agent_getopt(cmd, argc, argv, opts, pos, 1) != 1)
		agent_usage(cmd, "SIZE is required");
	uint64_t size = agent_size_arg(cmd, "SIZE", pos[0], 1);
	uint64_t bs = bs_s ? agent_size_arg(cmd, "--bs", bs_s, 1) : (256u << 10);
	if (bs > (64u << 20))
		agent_usage(cmd, "--bs: '%s' is above the maximum of 64M", bs_s);
	/* A reader that goes away is a failure to report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	char *buf = malloc(bs);
	if (!buf)
		agent_fail(cmd, ENOMEM, "buffer");
	agent_fill_pattern(buf, bs, 0x57);

	int64_t t0 = agent_now(CLOCK_MONOTONIC);
	for (uint64_t done = 0; done < size;) {
		size_t n = (size_t)(size - done < bs ? size - done : bs);
		int rc = agent_write_all(1, buf, n);
		if (rc < 0)
			agent_fail(cmd, -rc, "write stdout");
		done += n;
	}
	int64_t t1 = agent_now(CLOCK_MONOTONIC);
	free(buf);
	double secs = agent_secs(t0, t1);
	fprintf(stderr,
	        "{\"workload\":\"stream\",\"bytes\":%" PRIu64 ",\"seconds\":%.9f,"
	        "\"bytes_per_s\":%.6g,\"mb_per_s\":%.6g}\n",
	        size, secs, (double)size / secs, (double)size / secs / 1e6);
	return 0;
}

int agent_cmd_mark(int argc, char **argv)
{
	const char *pos[1];
	agent_getopt("mark", argc, argv, (const struct agent_opt[]){ { 0 } }, pos, 0);
	int64_t mono = agent_now(CLOCK_MONOTONIC);
	int64_t real = agent_now(CLOCK_REALTIME);
	int64_t boot = agent_now(CLOCK_BOOTTIME);
	printf("{\"workload\":\"mark\",\"monotonic_ns\":%" PRId64 ",\"realtime_ns\":%" PRId64
	       ",\"boottime_ns\":%" PRId64 "}\n",
	       mono, real, boot);
	return 0;
}

int agent_cmd_idle(int argc, char **argv)
{
	const char *cmd = "idle", *pos[1];
	bool signal_only = false;
	const struct agent_opt opts[] = {
		{ "--signal-only", false, NULL, &signal_only },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		agent_fail(cmd, errno, "signalfd");

	int64_t t0 = agent_now(CLOCK_MONOTONIC);
	const char *reason = NULL;
	/* A closed fd 0 cannot deliver EOF, so it means "signals only" as well. */
	bool watch_stdin = !signal_only && fcntl(0, F_GETFD) >= 0;
	char buf[4096];
	while (!reason) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
		                       { .fd = watch_stdin ? 0 : -1, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			agent_fail(cmd, errno, "poll");
		}
		if (p[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				reason = "signal";
		}
		if (!reason && p[1].revents) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
				reason = "eof";
		}
	}
	printf("{\"workload\":\"idle\",\"seconds\":%.9f,\"reason\":\"%s\"}\n",
	       agent_secs(t0, agent_now(CLOCK_MONOTONIC)), reason);
	return 0;
}
