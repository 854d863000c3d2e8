/* TCP workloads. Addresses are numeric only (inet_pton): a static binary must not pull
 * in NSS, and a benchmark must never resolve or reach anything it was not told to.
 *
 * Every workload here is bounded: --timeout (default 60 s) arms an alarm that ends the
 * process with exit status 3 and one stderr line saying how far it got, so a peer that
 * never answers cannot keep it waiting; a sink stops with an error past --max bytes.
 * Listeners take --port 0 to let the kernel pick a free port and --port-file to publish
 * it (written atomically), so a driver's shared network namespace never sees a clash. */
#include "agent/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_STREAMS 64

static volatile sig_atomic_t got_stop;
/* What the deadline handler reports: the workload and the bytes moved so far. */
static const char *deadline_cmd = "tcp";
static volatile uint64_t progress_bytes;
static unsigned deadline_secs;

static void on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

/* Async-signal-safe: format by hand, write once, exit 3. */
static void on_deadline(int sig)
{
	(void)sig;
	char msg[200], num[24];
	size_t n = 0;
	uint64_t v = progress_bytes;
	int d = 0;
	do {
		num[d++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && d < (int)sizeof(num));
	const char *parts[] = { AGENT_NAME ": ", deadline_cmd, ": deadline passed, killed after ", NULL };
	for (int i = 0; parts[i]; i++)
		for (const char *p = parts[i]; *p && n < sizeof(msg) - 40; p++)
			msg[n++] = *p;
	while (d > 0)
		msg[n++] = num[--d];
	const char *tail = " bytes\n";
	for (const char *p = tail; *p; p++)
		msg[n++] = *p;
	ssize_t w = write(2, msg, n);
	(void)w;
	_exit(3);
}

/* Arm the workload's deadline (whole seconds, at least 1). */
static void arm_deadline(const char *cmd, const char *timeout_s)
{
	double t = timeout_s ? agent_seconds_arg(cmd, "--timeout", timeout_s) : 60.0;
	deadline_cmd = cmd;
	deadline_secs = t < 1 ? 1 : (unsigned)(t + 0.999);
	struct sigaction sa = { .sa_handler = on_deadline };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(deadline_secs);
}

static socklen_t parse_addr(const char *cmd, const char *addr, const char *port_s, bool allow_zero,
                            struct sockaddr_storage *ss)
{
	uint16_t port = (uint16_t)agent_uint_arg(cmd, "--port", port_s, allow_zero ? 0 : 1, 65535);
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

/* Write the bound port to path through a temp file + rename: a reader sees all or nothing. */
static void publish_port(const char *cmd, int lfd, const char *path)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(lfd, (struct sockaddr *)&ss, &len) < 0)
		agent_fail(cmd, errno, "getsockname");
	unsigned port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (!path)
		return;
	char tmp[4200], buf[16];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		agent_fail(cmd, errno, "open %s", tmp);
	int n = snprintf(buf, sizeof(buf), "%u\n", port);
	if (agent_write_all(fd, buf, (size_t)n) < 0 || close(fd) < 0 || rename(tmp, path) < 0)
		agent_fail(cmd, errno, "writing %s", path);
}

static int listen_on(const char *cmd, const struct sockaddr_storage *ss, socklen_t len, int backlog,
                     const char *port_file)
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
	publish_port(cmd, fd, port_file);
	return fd;
}

/* An address as text (for the JSON: which addresses the traffic used). */
static void addr_str(const struct sockaddr_storage *sp, char *buf, size_t len)
{
	const struct sockaddr_storage ss = *sp;
	snprintf(buf, len, "?");
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, (socklen_t)len);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, (socklen_t)len);
}

static char first_peer[64] = "?";

static int accept_one(const char *cmd, int lfd)
{
	int fd;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	while ((fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC)) < 0) {
		if (errno != EINTR && errno != ECONNABORTED)
			agent_fail(cmd, errno, "accept");
		sl = sizeof(ss);
	}
	if (strcmp(first_peer, "?") == 0)
		addr_str(&ss, first_peer, sizeof(first_peer));
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
	       "\"bytes_per_s\":%.6g,\"mb_per_s\":%.6g,\"mib_per_s\":%.6g",
	       workload, bytes, secs, (double)bytes / secs, (double)bytes / secs / 1e6,
	       (double)bytes / secs / 1048576.0);
}

struct stream {
	int fd;
	uint64_t bytes;
	int64_t t0, t1;
};

/* Receive until every one of n streams has closed; per-stream times from accept to EOF. */
static uint64_t sink_streams(const char *cmd, int lfd, struct stream *st, unsigned n, uint64_t max,
                             size_t bs)
{
	char *buf = malloc(bs);
	if (!buf)
		agent_fail(cmd, ENOMEM, "buffer");
	unsigned accepted = 0, open_n = 0;
	uint64_t total = 0;
	while (accepted < n || open_n > 0) {
		struct pollfd p[MAX_STREAMS + 1];
		unsigned map[MAX_STREAMS + 1], np = 0;
		if (accepted < n) {
			p[np] = (struct pollfd){ .fd = lfd, .events = POLLIN };
			map[np++] = n;
		}
		for (unsigned i = 0; i < accepted; i++)
			if (st[i].fd >= 0) {
				p[np] = (struct pollfd){ .fd = st[i].fd, .events = POLLIN };
				map[np++] = i;
			}
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			agent_fail(cmd, errno, "poll");
		}
		for (unsigned k = 0; k < np; k++) {
			if (!p[k].revents)
				continue;
			if (map[k] == n) {
				st[accepted].fd = accept_one(cmd, lfd);
				st[accepted].t0 = agent_now(CLOCK_MONOTONIC);
				accepted++;
				open_n++;
				continue;
			}
			struct stream *s = &st[map[k]];
			ssize_t r = recv(s->fd, buf, bs, 0);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r < 0)
				agent_fail(cmd, errno, "recv");
			if (r == 0) {
				s->t1 = agent_now(CLOCK_MONOTONIC);
				close(s->fd);
				s->fd = -1;
				open_n--;
				continue;
			}
			s->bytes += (uint64_t)r;
			total += (uint64_t)r;
			progress_bytes = total;
			if (max && total > max)
				agent_fail(cmd, 0, "more than --max %" PRIu64 " bytes arrived", max);
		}
	}
	free(buf);
	return total;
}

int agent_cmd_tcp_sink(int argc, char **argv)
{
	const char *cmd = "tcp-sink", *port_s = NULL, *addr = "127.0.0.1", *bs_s = NULL;
	const char *port_file = NULL, *timeout_s = NULL, *max_s = NULL, *streams_s = NULL, *pos[1];
	bool mute = false;
	const struct agent_opt opts[] = {
		{ "--port", true, &port_s, NULL },
		{ "--addr", true, &addr, NULL },
		{ "--bs", true, &bs_s, NULL },
		{ "--port-file", true, &port_file, NULL },
		{ "--timeout", true, &timeout_s, NULL },
		{ "--max", true, &max_s, NULL },
		{ "--streams", true, &streams_s, NULL },
		{ "--mute", false, NULL, &mute },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(cmd, addr, port_s, true, &ss);
	uint64_t bs = bs_s ? agent_size_arg(cmd, "--bs", bs_s, 1) : (256u << 10);
	if (bs > (64u << 20))
		agent_usage(cmd, "--bs: '%s' is above the maximum of 64M", bs_s);
	uint64_t max = max_s ? agent_size_arg(cmd, "--max", max_s, 1) : 0;
	unsigned n = streams_s ? (unsigned)agent_uint_arg(cmd, "--streams", streams_s, 1, MAX_STREAMS) : 1;
	arm_deadline(cmd, timeout_s);

	int lfd = listen_on(cmd, &ss, len, (int)n, port_file);
	if (mute) {
		/* A peer that accepts and never reads: for testing the other end's deadline. */
		int fd = accept_one(cmd, lfd);
		for (;;)
			pause();
		close(fd);
	}
	struct stream st[MAX_STREAMS];
	memset(st, 0, sizeof(st));
	uint64_t total = sink_streams(cmd, lfd, st, n, max, (size_t)bs);
	close(lfd);
	int64_t first = st[0].t0, last = st[0].t1;
	double rmin = 0, rmax = 0, rsum = 0;
	for (unsigned i = 0; i < n; i++) {
		first = st[i].t0 < first ? st[i].t0 : first;
		last = st[i].t1 > last ? st[i].t1 : last;
		double r = (double)st[i].bytes / agent_secs(st[i].t0, st[i].t1) / 1048576.0;
		rmin = i == 0 || r < rmin ? r : rmin;
		rmax = r > rmax ? r : rmax;
		rsum += r;
	}
	print_throughput(cmd, total, agent_secs(first, last));
	printf(",\"peer\":\"%s\",\"streams\":%u", first_peer, n);
	if (n > 1) {
		printf(",\"stream_mib_per_s\":[");
		for (unsigned i = 0; i < n; i++)
			printf("%s%.6g", i ? "," : "",
			       (double)st[i].bytes / agent_secs(st[i].t0, st[i].t1) / 1048576.0);
		/* The spread of per-stream rates over their mean, in percent (+1e-9: a perfect
		 * split stays a positive number, as every workload number is). */
		printf("],\"stream_spread_pct\":%.6g", (rmax - rmin) / (rsum / n) * 100.0 + 1e-9);
	}
	printf("}\n");
	return 0;
}

/* Send size bytes spread over n connections at once; each half-closes when done, and the
 * clock stops when every sink has closed (the bytes arrived, not just left our buffers). */
static void source_streams(const char *cmd, int *fds, unsigned n, uint64_t size, char *buf, size_t bs)
{
	uint64_t left[MAX_STREAMS];
	bool sent_all[MAX_STREAMS], closed[MAX_STREAMS];
	unsigned open_n = n;
	for (unsigned i = 0; i < n; i++) {
		left[i] = size / n + (i < size % n ? 1 : 0);
		sent_all[i] = closed[i] = false;
		if (n > 1)
			fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	}
	uint64_t moved = 0;
	while (open_n > 0) {
		struct pollfd p[MAX_STREAMS];
		for (unsigned i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = closed[i] ? -1 : fds[i],
			                        .events = sent_all[i] ? POLLIN : POLLOUT };
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			agent_fail(cmd, errno, "poll");
		}
		for (unsigned i = 0; i < n; i++) {
			if (!p[i].revents || closed[i])
				continue;
			if (!sent_all[i]) {
				size_t len = (size_t)(left[i] < bs ? left[i] : bs);
				ssize_t w = len ? send(fds[i], buf, len, MSG_NOSIGNAL) : 0;
				if (w < 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				if (w < 0)
					agent_fail(cmd, errno, "send");
				left[i] -= (uint64_t)w;
				moved += (uint64_t)w;
				progress_bytes = moved;
				if (left[i] == 0) {
					shutdown(fds[i], SHUT_WR);
					sent_all[i] = true;
				}
				continue;
			}
			ssize_t r = recv(fds[i], buf, bs, 0);
			if (r > 0 || (r < 0 && (errno == EINTR || errno == EAGAIN)))
				continue;
			closed[i] = true;
			open_n--;
		}
	}
}

int agent_cmd_tcp_source(int argc, char **argv)
{
	const char *cmd = "tcp-source", *port_s = NULL, *addr = NULL, *size_s = NULL;
	const char *bs_s = NULL, *wait_s = NULL, *timeout_s = NULL, *streams_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--port", true, &port_s, NULL },
		{ "--addr", true, &addr, NULL },
		{ "--size", true, &size_s, NULL },
		{ "--bs", true, &bs_s, NULL },
		{ "--wait", true, &wait_s, NULL },
		{ "--timeout", true, &timeout_s, NULL },
		{ "--streams", true, &streams_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(cmd, addr, port_s, false, &ss);
	uint64_t size = agent_size_arg(cmd, "--size", size_s, 1);
	uint64_t bs = bs_s ? agent_size_arg(cmd, "--bs", bs_s, 1) : (256u << 10);
	if (bs > (64u << 20))
		agent_usage(cmd, "--bs: '%s' is above the maximum of 64M", bs_s);
	double wait = wait_s ? agent_seconds_arg(cmd, "--wait", wait_s) : 5.0;
	unsigned n = streams_s ? (unsigned)agent_uint_arg(cmd, "--streams", streams_s, 1, MAX_STREAMS) : 1;
	if (size < n)
		agent_usage(cmd, "--size must be at least --streams bytes");
	arm_deadline(cmd, timeout_s);

	char *buf = malloc(bs);
	if (!buf)
		agent_fail(cmd, ENOMEM, "buffer");
	agent_fill_pattern(buf, bs, 0x7cb);
	int fds[MAX_STREAMS];
	int64_t t0 = 0;
	for (unsigned i = 0; i < n; i++) {
		int64_t a;
		fds[i] = connect_to(cmd, &ss, len, (int64_t)(wait * 1e9), &a);
		if (i == 0)
			t0 = a;
	}
	source_streams(cmd, fds, n, size, buf, (size_t)bs);
	int64_t t1 = agent_now(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	free(buf);
	print_throughput(cmd, size, agent_secs(t0, t1));
	printf(",\"streams\":%u}\n", n);
	return 0;
}

int agent_cmd_tcp_accept_loop(int argc, char **argv)
{
	const char *cmd = "tcp-accept-loop", *port_s = NULL, *addr = "127.0.0.1", *count_s = NULL;
	const char *port_file = NULL, *timeout_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--port", true, &port_s, NULL },
		{ "--addr", true, &addr, NULL },
		{ "--count", true, &count_s, NULL },
		{ "--port-file", true, &port_file, NULL },
		{ "--timeout", true, &timeout_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(cmd, addr, port_s, true, &ss);
	uint64_t count = count_s ? agent_uint_arg(cmd, "--count", count_s, 1, UINT64_MAX) : 0;
	if (timeout_s)
		arm_deadline(cmd, timeout_s);

	/* No SA_RESTART: SIGTERM must interrupt accept() so the summary gets printed. */
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int lfd = listen_on(cmd, &ss, len, 4096, port_file);
	uint64_t accepted = 0;
	int64_t t0 = 0, t1 = 0;
	while (!got_stop && (count == 0 || accepted < count)) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			agent_fail(cmd, errno, "accept");
		}
		t1 = agent_now(CLOCK_MONOTONIC);
		if (accepted++ == 0) {
			t0 = t1;
			addr_str(&ss, first_peer, sizeof(first_peer));
		}
		progress_bytes = accepted;
		close(fd);
	}
	close(lfd);
	double secs = accepted > 1 ? agent_secs(t0, t1) : 1e-9;
	printf("{\"workload\":\"%s\",\"accepted\":%" PRIu64 ",\"seconds\":%.9f,"
	       "\"accepts_per_s\":%.6g,\"peer\":\"%s\"}\n",
	       cmd, accepted, secs, accepted > 1 ? (double)(accepted - 1) / secs : (double)accepted,
	       first_peer);
	return 0;
}

int agent_cmd_tcp_connect_rate(int argc, char **argv)
{
	const char *cmd = "tcp-connect-rate", *port_s = NULL, *addr = NULL, *count_s = NULL;
	const char *wait_s = NULL, *timeout_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--port", true, &port_s, NULL },
		{ "--addr", true, &addr, NULL },
		{ "--count", true, &count_s, NULL },
		{ "--wait", true, &wait_s, NULL },
		{ "--timeout", true, &timeout_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(cmd, addr, port_s, false, &ss);
	uint64_t count = agent_uint_arg(cmd, "--count", count_s, 1, 10000000);
	double wait = wait_s ? agent_seconds_arg(cmd, "--wait", wait_s) : 5.0;
	arm_deadline(cmd, timeout_s);

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
		/* An RST instead of a FIN: no TIME_WAIT per connection piling up on either side. */
		struct linger lg = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		progress_bytes = i + 1;
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

static void read_full(const char *cmd, int fd, char *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = recv(fd, buf + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			agent_fail(cmd, r < 0 ? errno : ECONNRESET, "recv");
		got += (size_t)r;
	}
}

int agent_cmd_tcp_echo(int argc, char **argv)
{
	const char *cmd = "tcp-echo", *port_s = NULL, *addr = "127.0.0.1", *port_file = NULL;
	const char *timeout_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--port", true, &port_s, NULL },
		{ "--addr", true, &addr, NULL },
		{ "--port-file", true, &port_file, NULL },
		{ "--timeout", true, &timeout_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(cmd, addr, port_s, true, &ss);
	arm_deadline(cmd, timeout_s);
	int lfd = listen_on(cmd, &ss, len, 1, port_file);
	int fd = accept_one(cmd, lfd);
	close(lfd);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	char buf[65536];
	uint64_t echoed = 0, msgs = 0;
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			agent_fail(cmd, errno, "recv");
		if (r == 0)
			break;
		int rc = agent_write_all(fd, buf, (size_t)r);
		if (rc < 0)
			agent_fail(cmd, -rc, "send");
		echoed += (uint64_t)r;
		msgs++;
		progress_bytes = echoed;
	}
	close(fd);
	printf("{\"workload\":\"%s\",\"bytes\":%" PRIu64 ",\"reads\":%" PRIu64 ",\"peer\":\"%s\"}\n",
	       cmd, echoed ? echoed : 1, msgs ? msgs : 1, first_peer);
	return 0;
}

int agent_cmd_tcp_rtt(int argc, char **argv)
{
	const char *cmd = "tcp-rtt", *port_s = NULL, *addr = NULL, *count_s = NULL, *size_s = NULL;
	const char *wait_s = NULL, *timeout_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--port", true, &port_s, NULL },
		{ "--addr", true, &addr, NULL },
		{ "--count", true, &count_s, NULL },
		{ "--size", true, &size_s, NULL },
		{ "--wait", true, &wait_s, NULL },
		{ "--timeout", true, &timeout_s, NULL },
		{ 0 },
	};
	agent_getopt(cmd, argc, argv, opts, pos, 0);
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(cmd, addr, port_s, false, &ss);
	uint64_t count = agent_uint_arg(cmd, "--count", count_s, 1, 10000000);
	uint64_t size = size_s ? agent_size_arg(cmd, "--size", size_s, 1) : 64;
	if (size > 65536)
		agent_usage(cmd, "--size: '%s' is above the maximum of 64K", size_s);
	double wait = wait_s ? agent_seconds_arg(cmd, "--wait", wait_s) : 5.0;
	arm_deadline(cmd, timeout_s);
	int64_t t0;
	int fd = connect_to(cmd, &ss, len, (int64_t)(wait * 1e9), &t0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	char out[65536], in[65536];
	agent_fill_pattern(out, (size_t)size, 0x177);
	int64_t *lat = malloc(sizeof(int64_t) * count);
	if (!lat)
		agent_fail(cmd, ENOMEM, "latency array");
	int64_t start = agent_now(CLOCK_MONOTONIC);
	for (uint64_t i = 0; i < count; i++) {
		int64_t a = agent_now(CLOCK_MONOTONIC);
		int rc = agent_write_all(fd, out, (size_t)size);
		if (rc < 0)
			agent_fail(cmd, -rc, "send");
		read_full(cmd, fd, in, (size_t)size);
		int64_t b = agent_now(CLOCK_MONOTONIC);
		if (memcmp(in, out, (size_t)size) != 0)
			agent_fail(cmd, 0, "the echo differs from what was sent (round trip %" PRIu64 ")", i);
		lat[i] = b - a > 0 ? b - a : 1;
		progress_bytes = (i + 1) * size;
	}
	double secs = agent_secs(start, agent_now(CLOCK_MONOTONIC));
	shutdown(fd, SHUT_WR);
	close(fd);
	agent_sort_i64(lat, count);
	double sum = 0;
	for (uint64_t i = 0; i < count; i++)
		sum += (double)lat[i];
	printf("{\"workload\":\"%s\",\"count\":%" PRIu64 ",\"size\":%" PRIu64 ",\"seconds\":%.9f,"
	       "\"rtt_mean_us\":%.3f,\"rtt_p50_us\":%.3f,\"rtt_p99_us\":%.3f,\"rtt_max_us\":%.3f}\n",
	       cmd, count, size, secs, sum / (double)count / 1e3,
	       (double)agent_percentile(lat, count, 50) / 1e3,
	       (double)agent_percentile(lat, count, 99) / 1e3, (double)lat[count - 1] / 1e3);
	free(lat);
	return 0;
}

int agent_cmd_wait_file(int argc, char **argv)
{
	const char *cmd = "wait-file", *timeout_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--timeout", true, &timeout_s, NULL },
		{ 0 },
	};
	if (agent_getopt(cmd, argc, argv, opts, pos, 1) != 1)
		agent_usage(cmd, "PATH is required");
	double t = timeout_s ? agent_seconds_arg(cmd, "--timeout", timeout_s) : 10.0;
	int64_t give_up = agent_now(CLOCK_MONOTONIC) + (int64_t)(t * 1e9);
	for (;;) {
		int fd = open(pos[0], O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			char buf[4096];
			ssize_t n = read(fd, buf, sizeof(buf));
			close(fd);
			if (n > 0) {
				int rc = agent_write_all(1, buf, (size_t)n);
				return rc < 0 ? 1 : 0;
			}
		} else if (errno != ENOENT) {
			agent_fail(cmd, errno, "open %s", pos[0]);
		}
		if (agent_now(CLOCK_MONOTONIC) >= give_up)
			agent_fail(cmd, ETIMEDOUT, "%s did not appear within %gs", pos[0], t);
		struct timespec ts = { 0, 2 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}
