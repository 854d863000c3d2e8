/* TCP workloads. Addresses are numeric only (inet_pton): a static binary must not pull
 * in NSS, and a benchmark must never resolve or reach anything it was not told to. */
#include "agent/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t got_stop;

static void on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

static socklen_t parse_addr(const char *cmd, const char *addr, const char *port_s,
                            struct sockaddr_storage *ss)
{
	uint16_t port = (uint16_t)agent_uint_arg(cmd, "--port", port_s, 1, 65535);
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (!addr)
		agent_usage(cmd, "--addr is required");
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		return sizeof(*in4);
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		return sizeof(*in6);
	}
	agent_usage(cmd, "--addr: '%s' is not a numeric IPv4 or IPv6 address", addr);
}

static int listen_on(const char *cmd, const struct sockaddr_storage *ss, socklen_t len,
                     int backlog)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		agent_fail(cmd, errno, "socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0)
		agent_fail(cmd, errno, "bind");
	if (listen(fd, backlog) < 0)
		agent_fail(cmd, errno, "listen");
	return fd;
}

/* Connect, retrying ECONNREFUSED until wait_ns after the first try, so a workload can
 * be started together with its listener. *t_start is the start of the attempt that
 * succeeded. */
static int connect_to(const char *cmd, const struct sockaddr_storage *ss, socklen_t len,
                      int64_t wait_ns, int64_t *t_start)
{
	int64_t give_up = agent_now(CLOCK_MONOTONIC) + wait_ns;
	for (;;) {
		int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			agent_fail(cmd, errno, "socket");
		*t_start = agent_now(CLOCK_MONOTONIC);
		if (connect(fd, (const struct sockaddr *)ss, len) == 0)
			return fd;
		int e = errno;
		close(fd);
		if (e == EINTR)
			continue;
		if (e != ECONNREFUSED || agent_now(CLOCK_MONOTONIC) >= give_up)
			agent_fail(cmd, e, "connect");
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static void print_throughput(const char *workload, uint64_t bytes, double secs)
{
	printf("{\"workload\":\"%s\",\"bytes\":%" PRIu64 ",\"seconds\":%.9f,"
	       "\"bytes_per_s\":%.6g,\"mb_per_s\":%.6g}\n",
	       workload, bytes, secs, (double)bytes / secs, (double)bytes / secs / 1e6);
}

int agent_cmd_tcp_sink(int argc, char **argv)
{
	const char *cmd = "tcp-sink", *port_s = NULL, *addr = "127.0.0.1", *bs_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--port", true, &port_s, NULL },
		{ "--addr", true, &addr, NULL },
		{ "--bs", true, &bs_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(cmd, addr, port_s, &ss);
	uint64_t bs = bs_s ? agent_size_arg(cmd, "--bs", bs_s, 1) : (256u << 10);
	if (bs > (64u << 20))
		agent_usage(cmd, "--bs: '%s' is above the maximum of 64M", bs_s);

	int lfd = listen_on(cmd, &ss, len, 1);
	int fd;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		if (errno != EINTR)
			agent_fail(cmd, errno, "accept");
	close(lfd);
	char *buf = malloc(bs);
	if (!buf)
		agent_fail(cmd, ENOMEM, "buffer");
	int64_t t0 = agent_now(CLOCK_MONOTONIC);
	uint64_t total = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, bs, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			agent_fail(cmd, errno, "recv");
		if (n == 0)
			break;
		total += (uint64_t)n;
	}
	int64_t t1 = agent_now(CLOCK_MONOTONIC);
	close(fd);
	free(buf);
	print_throughput(cmd, total, agent_secs(t0, t1));
	return 0;
}

int agent_cmd_tcp_source(int argc, char **argv)
{
	const char *cmd = "tcp-source", *port_s = NULL, *addr = NULL, *size_s = NULL;
	const char *bs_s = NULL, *wait_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--port", true, &port_s, NULL },
		{ "--addr", true, &addr, NULL },
		{ "--size", true, &size_s, NULL },
		{ "--bs", true, &bs_s, NULL },
		{ "--wait", true, &wait_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(cmd, addr, port_s, &ss);
	uint64_t size = agent_size_arg(cmd, "--size", size_s, 1);
	uint64_t bs = bs_s ? agent_size_arg(cmd, "--bs", bs_s, 1) : (256u << 10);
	if (bs > (64u << 20))
		agent_usage(cmd, "--bs: '%s' is above the maximum of 64M", bs_s);
	double wait = wait_s ? agent_seconds_arg(cmd, "--wait", wait_s) : 5.0;

	char *buf = malloc(bs);
	if (!buf)
		agent_fail(cmd, ENOMEM, "buffer");
	agent_fill_pattern(buf, bs, 0x7cb);
	int64_t t0;
	int fd = connect_to(cmd, &ss, len, (int64_t)(wait * 1e9), &t0);
	for (uint64_t done = 0; done < size;) {
		size_t n = (size_t)(size - done < bs ? size - done : bs);
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			agent_fail(cmd, errno, "send");
		done += (uint64_t)w;
	}
	/* Half-close and wait for the sink to close: the clock stops when the bytes have
	 * arrived, not when they left our socket buffer. */
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t r = recv(fd, buf, bs, 0);
		if (r > 0 || (r < 0 && errno == EINTR))
			continue;
		break;
	}
	int64_t t1 = agent_now(CLOCK_MONOTONIC);
	close(fd);
	free(buf);
	print_throughput(cmd, size, agent_secs(t0, t1));
	return 0;
}

int agent_cmd_tcp_accept_loop(int argc, char **argv)
{
	const char *cmd = "tcp-accept-loop", *port_s = NULL, *addr = "127.0.0.1", *count_s = NULL;
	const char *pos[1];
	const struct agent_opt opts[] = {
		{ "--port", true, &port_s, NULL },
		{ "--addr", true, &addr, NULL },
		{ "--count", true, &count_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(cmd, addr, port_s, &ss);
	uint64_t count = count_s ? agent_uint_arg(cmd, "--count", count_s, 1, UINT64_MAX) : 0;

	/* No SA_RESTART: SIGTERM must interrupt accept() so the summary gets printed. */
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int lfd = listen_on(cmd, &ss, len, 4096);
	uint64_t accepted = 0;
	int64_t t0 = 0, t1 = 0;
	while (!got_stop && (count == 0 || accepted < count)) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			agent_fail(cmd, errno, "accept");
		}
		t1 = agent_now(CLOCK_MONOTONIC);
		if (accepted++ == 0)
			t0 = t1;
		close(fd);
	}
	close(lfd);
	double secs = accepted > 1 ? agent_secs(t0, t1) : 1e-9;
	printf("{\"workload\":\"%s\",\"accepted\":%" PRIu64 ",\"seconds\":%.9f,"
	       "\"accepts_per_s\":%.6g}\n",
	       cmd, accepted, secs, accepted > 1 ? (double)(accepted - 1) / secs : (double)accepted);
	return 0;
}

int agent_cmd_tcp_connect_rate(int argc, char **argv)
{
	const char *cmd = "tcp-connect-rate", *port_s = NULL, *addr = NULL, *count_s = NULL;
	const char *wait_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--port", true, &port_s, NULL },
		{ "--addr", true, &addr, NULL },
		{ "--count", true, &count_s, NULL },
		{ "--wait", true, &wait_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(cmd, addr, port_s, &ss);
	uint64_t count = agent_uint_arg(cmd, "--count", count_s, 1, 10000000);
	double wait = wait_s ? agent_seconds_arg(cmd, "--wait", wait_s) : 5.0;

	int64_t *lat = malloc(sizeof(int64_t) * count);
	if (!lat)
		agent_fail(cmd, ENOMEM, "latency array");
	int64_t t0 = 0;
	for (uint64_t i = 0; i < count; i++) {
		int64_t a;
		/* Only the first connection may wait for the listener to appear. */
		int fd = connect_to(cmd, &ss, len, i == 0 ? (int64_t)(wait * 1e9) : 0, &a);
		int64_t b = agent_now(CLOCK_MONOTONIC);
		if (i == 0)
			t0 = a;
		lat[i] = b - a > 0 ? b - a : 1;
		close(fd);
	}
	double secs = agent_secs(t0, agent_now(CLOCK_MONOTONIC));
	agent_sort_i64(lat, count);
	printf("{\"workload\":\"%s\",\"count\":%" PRIu64 ",\"seconds\":%.9f,"
	       "\"connects_per_s\":%.6g,\"lat_p50_us\":%.3f,\"lat_p99_us\":%.3f}\n",
	       cmd, count, secs, (double)count / secs,
	       (double)agent_percentile(lat, count, 50) / 1e3,
	       (double)agent_percentile(lat, count, 99) / 1e3);
	free(lat);
	return 0;
}
