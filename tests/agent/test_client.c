/* The client library against a live `sandbench-agent serve`: runs, concurrency,
 * timeouts, error frames with the connection staying usable, no zombies, cleanup on
 * EOF and shutdown, and (as root) the agent alone in an empty chroot.
 * Usage: test_agent_client PATH-TO-AGENT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/client.h"
#include "core/clock.h"

static const char *agent_path;

struct conn {
	pid_t pid;
	int to, from;
	struct sb_agent *a;
	char root[256]; /* chroot dir, "" when none */
};

/* Start the agent on pipes, optionally chrooted into root (copying the agent in). */
static void conn_start(struct conn *c, const char *root)
{
	int in[2], out[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (root) {
			if (chroot(root) < 0 || chdir("/") < 0)
				_exit(126);
			execl("/sandbench-agent", "sandbench-agent", "serve", (char *)NULL);
		} else {
			execl(agent_path, "sandbench-agent", "serve", (char *)NULL);
		}
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->to = in[1];
	c->from = out[0];
	struct sb_error err = { 0 };
	assert_int_equal(sb_agent_open(c->to, c->from, &c->a, &err), 0);
}

/* Wait for the agent to exit within ms; returns its wait status or -1. */
static int wait_exit(pid_t pid, int ms)
{
	int st;
	for (int i = 0; i < ms; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		usleep(1000);
	}
	return -1;
}

static void conn_stop(struct conn *c)
{
	sb_agent_free(c->a);
	close(c->to);
	close(c->from);
	int st = wait_exit(c->pid, 5000);
	if (st < 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		fail_msg("agent did not exit after its stdin closed");
	}
}

static int64_t in_secs(double s)
{
	return sb_deadline_after(s);
}

static void test_ping(void **state)
{
	(void)state;
	struct conn c;
	conn_start(&c, NULL);
	struct sb_error err = { 0 };
	int64_t now = 0;
	assert_int_equal(sb_agent_ping(c.a, &now, in_secs(5), &err), 0);
	assert_true(now > 0);
	/* Ping with a payload is echoed back. */
	uint32_t id = sb_agent_next_id(c.a);
	assert_int_equal(sb_agent_send_ping(c.a, id, "hello", 5, in_secs(5), &err), 0);
	struct sb_agent_response r;
	assert_int_equal(sb_agent_recv_id(c.a, id, &r, in_secs(5), &err), 0);
	assert_int_equal(r.type, SB_AGENT_T_PONG);
	assert_int_equal(r.stdout_len, 5);
	assert_string_equal(r.stdout_data, "hello");
	sb_agent_response_clear(&r);
	conn_stop(&c);
}

static void test_run_basic(void **state)
{
	(void)state;
	struct conn c;
	conn_start(&c, NULL);
	struct sb_error err = { 0 };
	struct sb_agent_response r;

	const char *argv[] = { "printf", "%s-%s", "a", "b", NULL };
	int64_t before = sb_now_ns();
	assert_int_equal(sb_agent_run_argv(c.a, argv, NULL, &r, in_secs(5), &err), 0);
	assert_true(sb_agent_response_ok(&r));
	assert_string_equal(r.stdout_data, "a-b");
	/* Same machine, same CLOCK_MONOTONIC: the agent's stamps fall inside ours. */
	assert_true(r.start_ns >= before && r.end_ns >= r.start_ns && r.end_ns <= sb_now_ns());
	sb_agent_response_clear(&r);

	assert_int_equal(sb_agent_run_sh(c.a, "echo out; echo err >&2; exit 3", NULL, &r,
	                                 in_secs(5), &err), 0);
	assert_int_equal(r.status, SB_AGENT_EXITED);
	assert_int_equal(r.code, 3);
	assert_false(sb_agent_response_ok(&r));
	assert_string_equal(r.stdout_data, "out\n");
	assert_string_equal(r.stderr_data, "err\n");
	sb_agent_response_clear(&r);

	assert_int_equal(sb_agent_run_sh(c.a, "kill -9 $$", NULL, &r, in_secs(5), &err), 0);
	assert_int_equal(r.status, SB_AGENT_SIGNALED);
	assert_int_equal(r.code, SIGKILL);
	sb_agent_response_clear(&r);

	const char *missing[] = { "/nonexistent/program", NULL };
	assert_int_equal(sb_agent_run_argv(c.a, missing, NULL, &r, in_secs(5), &err), 0);
	assert_int_equal(r.status, SB_AGENT_SPAWN_FAILED);
	assert_int_equal(r.code, ENOENT);
	sb_agent_response_clear(&r);

	struct sb_agent_run_opts o = { .stdin_data = "fed via stdin", .stdin_len = 13 };
	const char *cat[] = { "cat", NULL };
	assert_int_equal(sb_agent_run_argv(c.a, cat, &o, &r, in_secs(5), &err), 0);
	assert_string_equal(r.stdout_data, "fed via stdin");
	sb_agent_response_clear(&r);

	/* A big stdin (several pipe buffers) while the command echoes it back. */
	size_t big = 1 << 20;
	char *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	o = (struct sb_agent_run_opts){ .stdin_data = data, .stdin_len = big };
	assert_int_equal(sb_agent_run_argv(c.a, cat, &o, &r, in_secs(10), &err), 0);
	assert_int_equal(r.stdout_len, big);
	assert_memory_equal(r.stdout_data, data, big);
	sb_agent_response_clear(&r);
	free(data);

	/* Over the agent's request limit: refused locally, nothing sent. */
	data = calloc(1, SB_AGENT_MAX_REQUEST + 1);
	o = (struct sb_agent_run_opts){ .stdin_data = data, .stdin_len = SB_AGENT_MAX_REQUEST + 1 };
	assert_int_equal(sb_agent_run_argv(c.a, cat, &o, &r, in_secs(10), &err), -E2BIG);
	free(data);
	assert_int_equal(sb_agent_ping(c.a, NULL, in_secs(5), &err), 0);
	conn_stop(&c);
}

static void test_concurrent(void **state)
{
	(void)state;
	struct conn c;
	conn_start(&c, NULL);
	struct sb_error err = { 0 };
	struct sb_agent_response r;
	assert_int_equal(sb_agent_send_sh(c.a, 1, "sleep 0.3; echo a", NULL, in_secs(5), &err), 0);
	assert_int_equal(sb_agent_send_sh(c.a, 2, "echo b", NULL, in_secs(5), &err), 0);
	assert_int_equal(sb_agent_recv(c.a, &r, in_secs(5), &err), 0);
	assert_int_equal(r.id, 2);
	assert_string_equal(r.stdout_data, "b\n");
	sb_agent_response_clear(&r);
	assert_int_equal(sb_agent_recv(c.a, &r, in_secs(5), &err), 0);
	assert_int_equal(r.id, 1);
	assert_string_equal(r.stdout_data, "a\n");
	sb_agent_response_clear(&r);

	/* Eight at once, collected by id in reverse order: recv_id sets others aside. */
	char script[64];
	for (uint32_t id = 10; id < 18; id++) {
		snprintf(script, sizeof(script), "sleep 0.0%u; echo %u", id % 10, id);
		assert_int_equal(sb_agent_send_sh(c.a, id, script, NULL, in_secs(5), &err), 0);
	}
	int64_t t0 = sb_now_ns();
	for (uint32_t id = 17; id >= 10; id--) {
		assert_int_equal(sb_agent_recv_id(c.a, id, &r, in_secs(5), &err), 0);
		char want[16];
		snprintf(want, sizeof(want), "%u\n", id);
		assert_string_equal(r.stdout_data, want);
		sb_agent_response_clear(&r);
	}
	/* They ran concurrently: far less than the 0.28 s sum of their sleeps... roughly. */
	assert_true(sb_now_ns() - t0 < 2000000000LL);

	/* An id already in flight is refused, the first one still completes. */
	assert_int_equal(sb_agent_send_sh(c.a, 30, "sleep 0.2", NULL, in_secs(5), &err), 0);
	assert_int_equal(sb_agent_send_sh(c.a, 30, "true", NULL, in_secs(5), &err), 0);
	assert_int_equal(sb_agent_recv(c.a, &r, in_secs(5), &err), 0);
	assert_int_equal(r.type, SB_AGENT_T_ERROR);
	assert_int_equal(r.error_code, SB_AGENT_E_DUP_ID);
	sb_agent_response_clear(&r);
	assert_int_equal(sb_agent_recv_id(c.a, 30, &r, in_secs(5), &err), 0);
	assert_int_equal(r.type, SB_AGENT_T_RESULT);
	sb_agent_response_clear(&r);

	/* One more than the in-flight limit: the extra one is refused with BUSY, the
	 * rest all finish. */
	const char *sl[] = { "sleep", "0.3", NULL };
	for (uint32_t id = 100; id < 100 + SB_AGENT_MAX_INFLIGHT; id++)
		assert_int_equal(sb_agent_send_argv(c.a, id, sl, NULL, in_secs(5), &err), 0);
	const char *tr[] = { "true", NULL };
	assert_int_equal(sb_agent_run_argv(c.a, tr, NULL, &r, in_secs(5), &err), -EBUSY);
	for (uint32_t id = 100; id < 100 + SB_AGENT_MAX_INFLIGHT; id++) {
		assert_int_equal(sb_agent_recv_id(c.a, id, &r, in_secs(10), &err), 0);
		assert_true(sb_agent_response_ok(&r));
		sb_agent_response_clear(&r);
	}
	assert_int_equal(sb_agent_run_argv(c.a, tr, NULL, &r, in_secs(5), &err), 0);
	sb_agent_response_clear(&r);
	conn_stop(&c);
}

static void test_deadline_and_timeout(void **state)
{
	(void)state;
	struct conn c;
	conn_start(&c, NULL);
	struct sb_error err = { 0 };
	struct sb_agent_response r;
	assert_int_equal(sb_agent_send_sh(c.a, 5, "sleep 0.5; echo late", NULL, in_secs(5), &err), 0);
	int64_t t0 = sb_now_ns();
	assert_int_equal(sb_agent_recv_id(c.a, 5, &r, sb_now_ns() + 50000000, &err), -ETIMEDOUT);
	assert_int_equal(err.code, ETIMEDOUT);
	assert_true(sb_now_ns() - t0 < 400000000);
	/* The connection is still fine: the answer comes later. */
	assert_int_equal(sb_agent_recv_id(c.a, 5, &r, in_secs(5), &err), 0);
	assert_string_equal(r.stdout_data, "late\n");
	sb_agent_response_clear(&r);

	/* Agent-side timeout kills the whole process group. */
	struct sb_agent_run_opts o = { .timeout_ms = 100 };
	t0 = sb_now_ns();
	assert_int_equal(sb_agent_run_sh(c.a, "sleep 5 & sleep 5; echo never", &o, &r, in_secs(5),
	                                 &err), 0);
	assert_int_equal(r.status, SB_AGENT_SIGNALED);
	assert_int_equal(r.code, SIGKILL);
	assert_true(r.flags & SB_AGENT_RF_TIMED_OUT);
	assert_true(sb_now_ns() - t0 < 2000000000LL);
	sb_agent_response_clear(&r);
	conn_stop(&c);
}

static void session_expect(struct conn *c, const char *script, int code, const char *out,
                           const char *errout)
{
	struct sb_error err = { 0 };
	struct sb_agent_response r;
	int rc = sb_agent_run_session(c->a, script, NULL, &r, in_secs(5), &err);
	if (rc < 0)
		fail_msg("session '%s': %s", script, err.msg);
	assert_int_equal(r.type, SB_AGENT_T_RESULT);
	assert_int_equal(r.status, SB_AGENT_EXITED);
	assert_int_equal(r.code, code);
	if (out)
		assert_string_equal(r.stdout_data, out);
	if (errout)
		assert_string_equal(r.stderr_data, errout);
	assert_true(r.end_ns >= r.start_ns && r.start_ns > 0);
	sb_agent_response_clear(&r);
}

static void test_session(void **state)
{
	(void)state;
	struct conn c;
	conn_start(&c, NULL);
	struct sb_error err = { 0 };
	struct sb_agent_response r;

	session_expect(&c, "printf tok", 0, "tok", "");
	/* State persists between requests. */
	session_expect(&c, "cd /tmp; SB_X=5; f() { echo \"f:$1\"; }", 0, "", "");
	session_expect(&c, "echo \"$SB_X $(pwd)\"; f arg", 0, "5 /tmp\nf:arg\n", "");
	session_expect(&c, "false", 1, "", "");
	session_expect(&c, "(exit 7)", 7, "", "");
	session_expect(&c, "echo 'single quoted' \"it's\"; echo err >&2", 0,
	               "single quoted it's\n", "err\n");
	/* Output that looks like the start of a marker, and a record separator. */
	session_expect(&c, "printf '\\036SBEND-x\\n\\036'", 0, "\036SBEND-x\n\036", "");
	/* Commands get a closed stdin, never the shell's command stream. */
	session_expect(&c, "cat; echo after", 0, "after\n", NULL);
	/* Lots of output in one go. */
	assert_int_equal(sb_agent_run_session(c.a, "i=0; while [ $i -lt 20000 ]; do "
	                                           "echo line$i; i=$((i+1)); done",
	                                      NULL, &r, in_secs(20), &err), 0);
	assert_int_equal(r.code, 0);
	assert_true(r.stdout_len > 20000 * 5);
	assert_non_null(strstr(r.stdout_data, "line19999\n"));
	sb_agent_response_clear(&r);

	/* `exit` and a syntax error end the shell; the next request gets a fresh one. */
	session_expect(&c, "exit 4", 4, "", NULL);
	session_expect(&c, "echo ${SB_X:-unset}", 0, "unset\n", "");
	assert_int_equal(sb_agent_run_session(c.a, "echo \"unbalanced", NULL, &r, in_secs(5),
	                                      &err), 0);
	assert_int_equal(r.status, SB_AGENT_EXITED);
	assert_int_not_equal(r.code, 0);
	assert_true(r.stderr_len > 0);
	sb_agent_response_clear(&r);
	session_expect(&c, "echo recovered", 0, "recovered\n", "");

	/* Queued requests run in order, one at a time. */
	assert_int_equal(sb_agent_send_session(c.a, 501, "sleep 0.2; echo first", NULL,
	                                       in_secs(5), &err), 0);
	assert_int_equal(sb_agent_send_session(c.a, 502, "echo second", NULL, in_secs(5), &err), 0);
	assert_int_equal(sb_agent_recv(c.a, &r, in_secs(5), &err), 0);
	assert_int_equal(r.id, 501);
	assert_string_equal(r.stdout_data, "first\n");
	sb_agent_response_clear(&r);
	assert_int_equal(sb_agent_recv(c.a, &r, in_secs(5), &err), 0);
	assert_int_equal(r.id, 502);
	assert_string_equal(r.stdout_data, "second\n");
	sb_agent_response_clear(&r);

	/* Timeout kills the shell (and what it started); the session recovers. */
	struct sb_agent_run_opts o = { .timeout_ms = 100 };
	assert_int_equal(sb_agent_run_session(c.a, "sleep 5 & sleep 5", &o, &r, in_secs(5), &err), 0);
	assert_int_equal(r.status, SB_AGENT_SIGNALED);
	assert_true(r.flags & SB_AGENT_RF_TIMED_OUT);
	sb_agent_response_clear(&r);
	session_expect(&c, "echo back", 0, "back\n", "");

	/* A script that closes the shell's stdout cannot hang the agent. */
	assert_int_equal(sb_agent_run_session(c.a, "exec >&-; sleep 5", NULL, &r, in_secs(5),
	                                      &err), 0);
	assert_int_equal(r.status, SB_AGENT_SIGNALED);
	sb_agent_response_clear(&r);
	session_expect(&c, "echo again", 0, "again\n", "");

	/* stdin is refused locally. */
	o = (struct sb_agent_run_opts){ .stdin_data = "x", .stdin_len = 1 };
	assert_int_equal(sb_agent_run_session(c.a, "cat", &o, &r, in_secs(5), &err), -EINVAL);
	conn_stop(&c);
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			usleep(1000);
			continue;
		}
		assert_true(w > 0);
		b += w;
		n -= (size_t)w;
	}
}

static void expect_error_then_pong(struct conn *c, uint32_t code, uint32_t err_id)
{
	struct sb_error err = { 0 };
	struct sb_agent_response r;
	uint32_t ping_id = sb_agent_next_id(c->a) + 1000;
	assert_int_equal(sb_agent_send_ping(c->a, ping_id, NULL, 0, in_secs(5), &err), 0);
	assert_int_equal(sb_agent_recv(c->a, &r, in_secs(5), &err), 0);
	assert_int_equal(r.type, SB_AGENT_T_ERROR);
	assert_int_equal(r.error_code, code);
	assert_int_equal(r.id, err_id);
	assert_true(r.error_msg[0] != '\0');
	sb_agent_response_clear(&r);
	assert_int_equal(sb_agent_recv(c->a, &r, in_secs(5), &err), 0);
	assert_int_equal(r.type, SB_AGENT_T_PONG);
	assert_int_equal(r.id, ping_id);
	sb_agent_response_clear(&r);
}

static void test_error_frames(void **state)
{
	(void)state;
	struct conn c;
	conn_start(&c, NULL);
	struct sb_error err = { 0 };

	/* Garbage: one bad-header error, then the ping behind it is answered. */
	const char junk[] = "this is not a frame SBAG neither is this";
	assert_int_equal(sb_agent_send_raw(c.a, junk, sizeof(junk) - 1, in_secs(5), &err), 0);
	expect_error_then_pong(&c, SB_AGENT_E_BAD_HEADER, 0);

	/* Oversized: declared over the request limit and actually sent; the agent skips
	 * exactly that much. */
	uint8_t hdr[SB_AGENT_HDR_SIZE];
	size_t big = SB_AGENT_MAX_REQUEST + (1u << 20);
	struct sb_agent_hdr h = { .version = 1, .type = SB_AGENT_T_RUN_SH, .id = 77,
	                          .len = (uint32_t)big };
	sb_agent_hdr_pack(hdr, &h);
	assert_int_equal(sb_agent_send_raw(c.a, hdr, sizeof(hdr), in_secs(5), &err), 0);
	char *payload = calloc(1, big);
	memcpy(payload + 5000, SB_AGENT_MAGIC, 4);
	write_all(c.to, payload, big);
	free(payload);
	expect_error_then_pong(&c, SB_AGENT_E_TOO_BIG, 77);

	/* Well-framed but malformed payload. */
	h = (struct sb_agent_hdr){ .version = 1, .type = SB_AGENT_T_RUN_ARGV, .id = 78, .len = 3 };
	sb_agent_hdr_pack(hdr, &h);
	assert_int_equal(sb_agent_send_raw(c.a, hdr, sizeof(hdr), in_secs(5), &err), 0);
	assert_int_equal(sb_agent_send_raw(c.a, "abc", 3, in_secs(5), &err), 0);
	expect_error_then_pong(&c, SB_AGENT_E_BAD_PAYLOAD, 78);

	/* Unknown type, wrong version, id 0. */
	h = (struct sb_agent_hdr){ .version = 1, .type = 0x42, .id = 79, .len = 0 };
	sb_agent_hdr_pack(hdr, &h);
	assert_int_equal(sb_agent_send_raw(c.a, hdr, sizeof(hdr), in_secs(5), &err), 0);
	expect_error_then_pong(&c, SB_AGENT_E_BAD_TYPE, 79);
	h = (struct sb_agent_hdr){ .version = 2, .type = SB_AGENT_T_PING, .id = 80, .len = 4 };
	sb_agent_hdr_pack(hdr, &h);
	assert_int_equal(sb_agent_send_raw(c.a, hdr, sizeof(hdr), in_secs(5), &err), 0);
	assert_int_equal(sb_agent_send_raw(c.a, "SBAG", 4, in_secs(5), &err), 0);
	expect_error_then_pong(&c, SB_AGENT_E_BAD_VERSION, 80);
	assert_int_equal(sb_agent_send_sh(c.a, 0, "true", NULL, in_secs(5), &err), 0);
	expect_error_then_pong(&c, SB_AGENT_E_DUP_ID, 0);

	/* And real work still runs afterwards. */
	struct sb_agent_response r;
	assert_int_equal(sb_agent_run_sh(c.a, "echo still-alive", NULL, &r, in_secs(5), &err), 0);
	assert_string_equal(r.stdout_data, "still-alive\n");
	sb_agent_response_clear(&r);
	conn_stop(&c);
}

static void test_output_capture_limit(void **state)
{
	(void)state;
	struct conn c;
	conn_start(&c, NULL);
	struct sb_error err = { 0 };
	struct sb_agent_response r;
	char script[512];
	snprintf(script, sizeof(script), "'%s' stream 6M", agent_path);
	assert_int_equal(sb_agent_run_sh(c.a, script, NULL, &r, in_secs(20), &err), 0);
	assert_true(sb_agent_response_ok(&r));
	assert_true(r.stdout_total == 6u << 20);
	assert_int_equal(r.stdout_len, SB_AGENT_MAX_CAPTURE);
	assert_true(r.flags & SB_AGENT_RF_STDOUT_TRUNC);
	assert_non_null(strstr(r.stderr_data, "\"workload\":\"stream\""));
	sb_agent_response_clear(&r);
	conn_stop(&c);
}

/* Count zombie children of pid by scanning /proc (the test host has /proc). */
static int zombies_of(pid_t parent)
{
	DIR *d = opendir("/proc");
	assert_non_null(d);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t k = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[k] = '\0';
		char *rp = strrchr(buf, ')');
		char st;
		int ppid;
		if (rp && sscanf(rp + 2, "%c %d", &st, &ppid) == 2 && ppid == parent && st == 'Z')
			n++;
	}
	closedir(d);
	return n;
}

static bool gone_or_zombie(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t k = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[k] = '\0';
	char *rp = strrchr(buf, ')');
	return rp && rp[2] == 'Z';
}

static void test_no_zombies_and_eof_cleanup(void **state)
{
	(void)state;
	struct conn c;
	conn_start(&c, NULL);
	struct sb_error err = { 0 };
	struct sb_agent_response r;
	/* Orphan a background grandchild: it comes back to the agent (subreaper). */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(sb_agent_run_sh(c.a, "(sleep 0.05 &) ; true", NULL, &r, in_secs(5),
		                                 &err), 0);
		sb_agent_response_clear(&r);
	}
	usleep(300000);
	assert_int_equal(sb_agent_ping(c.a, NULL, in_secs(5), &err), 0);
	assert_int_equal(zombies_of(c.pid), 0);

	/* A long command, then the host hangs up: the agent kills it and exits. */
	char pidfile[] = "/tmp/sb-agent-test-XXXXXX";
	int fd = mkstemp(pidfile);
	assert_true(fd >= 0);
	close(fd);
	char script[256];
	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; wait", pidfile);
	assert_int_equal(sb_agent_send_sh(c.a, 99, script, NULL, in_secs(5), &err), 0);
	pid_t sleeper = 0;
	for (int i = 0; i < 2000 && sleeper <= 0; i++) {
		FILE *f = fopen(pidfile, "r");
		int v = 0;
		if (f && fscanf(f, "%d", &v) == 1)
			sleeper = v;
		if (f)
			fclose(f);
		usleep(1000);
	}
	unlink(pidfile);
	assert_true(sleeper > 0);
	assert_false(gone_or_zombie(sleeper));
	int64_t t0 = sb_now_ns();
	conn_stop(&c); /* closes the pipes and waits for the agent */
	assert_true(sb_now_ns() - t0 < 3000000000LL);
	bool gone = false;
	for (int i = 0; i < 2000 && !gone; i++) {
		gone = gone_or_zombie(sleeper);
		usleep(1000);
	}
	assert_true(gone);
}

/* serve --fd N over one socket in both directions. */
static void test_socket_fd(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(sv[1], 3);
		execl(agent_path, "sandbench-agent", "serve", "--fd", "3", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	struct sb_agent *a;
	struct sb_error err = { 0 };
	struct sb_agent_response r;
	assert_int_equal(sb_agent_open(sv[0], sv[0], &a, &err), 0);
	assert_int_equal(sb_agent_ping(a, NULL, in_secs(5), &err), 0);
	assert_int_equal(sb_agent_run_sh(a, "echo over-socket", NULL, &r, in_secs(5), &err), 0);
	assert_string_equal(r.stdout_data, "over-socket\n");
	sb_agent_response_clear(&r);
	assert_int_equal(sb_agent_shutdown(a, in_secs(5), &err), 0);
	int st = wait_exit(pid, 3000);
	assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The agent is gone: sending must fail cleanly, with no SIGPIPE killing us. */
	int rc = sb_agent_run_sh(a, "true", NULL, &r, in_secs(2), &err);
	assert_true(rc == -EPIPE || rc == -ECONNRESET);
	sb_agent_free(a);
	close(sv[0]);
}

static void test_shutdown(void **state)
{
	(void)state;
	struct conn c;
	conn_start(&c, NULL);
	struct sb_error err = { 0 };
	assert_int_equal(sb_agent_send_sh(c.a, 1, "sleep 30", NULL, in_secs(5), &err), 0);
	assert_int_equal(sb_agent_shutdown(c.a, in_secs(5), &err), 0);
	int st = wait_exit(c.pid, 3000);
	assert_true(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct sb_agent_response r;
	assert_int_equal(sb_agent_recv(c.a, &r, in_secs(2), &err), -EPIPE);
	/* Writing into the dead agent's pipe: -EPIPE, and SIGPIPE (default action here)
	 * must not kill the test process. */
	assert_int_equal(sb_agent_run_sh(c.a, "true", NULL, &r, in_secs(2), &err), -EPIPE);
	sb_agent_free(c.a);
	close(c.to);
	close(c.from);
}

/* ---- the agent alone in an empty directory (root only) ---- */

static int chroot_setup(void **state)
{
	if (geteuid() != 0)
		return 0;
	static char dir[] = "/tmp/sb-agent-chroot-XXXXXX";
	if (!mkdtemp(dir))
		return -1;
	char dst[300];
	snprintf(dst, sizeof(dst), "%s/sandbench-agent", dir);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", agent_path, dst);
	if (system(cmd) != 0)
		return -1;
	*state = dir;
	return 0;
}

static int chroot_teardown(void **state)
{
	if (*state) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static void test_chroot_serve(void **state)
{
	if (!*state)
		skip(); /* not root */
	struct conn c;
	conn_start(&c, *state);
	struct sb_error err = { 0 };
	struct sb_agent_response r;
	assert_int_equal(sb_agent_ping(c.a, NULL, in_secs(5), &err), 0);
	/* No /proc, /dev, /bin/sh or libc in there: only the agent running itself. */
	const char *mark[] = { "/sandbench-agent", "mark", NULL };
	assert_int_equal(sb_agent_run_argv(c.a, mark, NULL, &r, in_secs(5), &err), 0);
	assert_true(sb_agent_response_ok(&r));
	assert_non_null(strstr(r.stdout_data, "\"monotonic_ns\":"));
	sb_agent_response_clear(&r);
	const char *mem[] = { "/sandbench-agent", "mem-touch", "8M", NULL };
	assert_int_equal(sb_agent_run_argv(c.a, mem, NULL, &r, in_secs(5), &err), 0);
	assert_true(sb_agent_response_ok(&r));
	assert_non_null(strstr(r.stdout_data, "\"rss_source\":\"rusage\""));
	sb_agent_response_clear(&r);
	assert_int_equal(sb_agent_run_sh(c.a, "echo hi", NULL, &r, in_secs(5), &err), 0);
	assert_int_equal(r.status, SB_AGENT_SPAWN_FAILED);
	assert_int_equal(r.code, ENOENT);
	sb_agent_response_clear(&r);
	assert_int_equal(sb_agent_shutdown(c.a, in_secs(5), &err), 0);
	conn_stop(&c);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-SANDBENCH-AGENT\n", argv[0]);
		return 2;
	}
	agent_path = argv[1];
	signal(SIGPIPE, SIG_DFL); /* the client must cope without the host ignoring it */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_run_basic),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_deadline_and_timeout),
		cmocka_unit_test(test_error_frames),
		cmocka_unit_test(test_output_capture_limit),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_no_zombies_and_eof_cleanup),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_socket_fd),
	};
	const struct CMUnitTest chroot_tests[] = {
		cmocka_unit_test(test_chroot_serve),
	};
	int failed = cmocka_run_group_tests_name("agent-client", tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("agent-chroot", chroot_tests, chroot_setup,
	                                      chroot_teardown);
	return failed ? 1 : 0;
}
