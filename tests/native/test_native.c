/* The native driver, driven through its vtable as root: isolation (escape attempts from inside
 * with the static `escape` helper), limits, copies, clone, stats, veth, warm starts, the agent,
 * leak counts over many cycles, and doctor's leftovers after a SIGKILLed owner.
 * Not root, or no namespaces here: every test SKIPs with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "native/native.h"
#include "box_util.h"
#include "native/native_int.h"
#ifdef SBN_HAVE_AGENT_CLIENT
#include "agent/client.h"
#endif

extern const struct sb_driver sb_driver_native;
static const struct sb_driver *drv = &sb_driver_native;
static char tmpdir[64], rootfs[128];
static char skip_reason[300];
static struct sb_probe probe;

#define NEED_NATIVE() NEED_NATIVE_OR_SKIP(skip_reason)

/* A busybox rootfs with the escape helper and (when built) the agent. */
static int make_rootfs(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sbn-test-XXXXXX");
	static const char *const dirs[] = {"/bin", "/sbin", "/usr", "/usr/bin", "/proc", "/dev", "/tmp", "/etc", "/root", "/data", NULL};
	static const char *const applets[] = {"sh", "true", "false", "cat", "echo", "ls", "ps", "id", "hostname", "sleep", "ip", "ping", "nc", "wc", "head", "dd", "touch", "mkdir", "grep", "mount", "kill", "yes", NULL};
	if (nt_make_rootfs(tmpdir, sizeof(tmpdir), rootfs, sizeof(rootfs), dirs, applets) < 0)
		return -1;
	char p[512];
	const char *esc = getenv("SBN_ESCAPE");
	snprintf(p, sizeof(p), "%s/escape", rootfs);
	if (!esc || nt_copy_file(esc, p, 0755) < 0)
		return -1;
	const char *agent = getenv("SBN_AGENT");
	snprintf(p, sizeof(p), "%s/sandbench-agent", rootfs);
	if (agent)
		nt_copy_file(agent, p, 0755);
	snprintf(p, sizeof(p), "%s/etc/passwd", rootfs);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		const char *pw = "root:x:0:0:root:/root:/bin/sh\n";
		if (write(fd, pw, strlen(pw)) < 0)
			fd = fd; /* best effort */
		close(fd);
	}
	return 0;
}

static int group_setup(void **state)
{
	if (geteuid() != 0) {
		snprintf(skip_reason, sizeof(skip_reason), "not root: the native driver needs root");
		return 0;
	}
	drv->probe(NULL, &probe);
	if (!probe.usable) {
		snprintf(skip_reason, sizeof(skip_reason), "native driver unusable here: %s", probe.reason);
		return 0;
	}
	if (make_rootfs() < 0)
		snprintf(skip_reason, sizeof(skip_reason), "cannot build the test rootfs (SBN_ESCAPE=%s)",
			 getenv("SBN_ESCAPE") ? getenv("SBN_ESCAPE") : "unset");
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int group_teardown(void **state)
{
	sb_native_shutdown();
	if (tmpdir[0])
		sb_rm_rf(tmpdir);
	return 0;
}

struct box_opts {
	const char *params[6];
};

static struct sb_box *mkbox(const char *name, const char *const *kv, struct sb_params *p)
{
	memset(p, 0, sizeof(*p));
	struct sb_error e = {0};
	for (size_t i = 0; kv && kv[i]; i++)
		assert_int_equal(sb_params_add_kv(p, kv[i], &e), 0);
	struct sb_box_spec spec = {.name = name, .rootfs = rootfs, .params = p};
	struct sb_box *b = NULL;
	int rc = drv->box_create(&spec, &b, sb_deadline_after(20), &e);
	if (rc != 0)
		fprintf(stderr, "create %s: %s\n", name, e.msg);
	assert_int_equal(rc, 0);
	return b;
}

static void test_probe(void **state)
{
	NEED_NATIVE();
	assert_true(probe.caps & SB_CAP_EXEC);
	assert_true(probe.caps & SB_CAP_ISOLATION);
	char caps[256];
	sb_caps_format(probe.caps, caps, sizeof(caps));
	fprintf(stderr, "native caps: %s; %s\n", caps, probe.reason);
}

static void test_exec_basic(void **state)
{
	NEED_NATIVE();
	struct sb_params p;
	struct sb_box *b = mkbox("basic", NULL, &p);
	char *out;
	assert_int_equal(nt_run(b, &out, NULL, "/bin/sh", "-c", "echo hello; hostname; echo err >&2; exit 3", NULL), 3);
	assert_string_equal(out, "hello\nsandbench\n");
	free(out);
	assert_int_equal(nt_run(b, &out, "from stdin", "cat", NULL), 0);
	assert_string_equal(out, "from stdin");
	free(out);
	/* pid 1 is the box's init; the command sees itself as a small pid. */
	assert_int_equal(nt_run(b, &out, NULL, "/bin/sh", "-c", "echo $$; cat /proc/1/comm", NULL), 0);
	assert_true(atoi(out) < 100);
	assert_non_null(strstr(out, SBN_INIT_COMM));
	free(out);
	/* Not found: an error with 127, not a hang. */
	const char *nf[] = {"/no/such/binary", NULL};
	struct sb_exec_req req = {.argv = nf};
	struct sb_proc_result r;
	struct sb_error e = {0};
	assert_int_equal(drv->box_exec(b, &req, &r, &e), -ENOENT);
	assert_int_equal(r.exit_code, 127);
	sb_proc_result_free(&r);
	/* The same through the PATH search. */
	const char *nf2[] = {"no-such-command", NULL};
	req.argv = nf2;
	assert_int_equal(drv->box_exec(b, &req, &r, &e), -ENOENT);
	assert_int_equal(r.exit_code, 127);
	sb_proc_result_free(&r);
	/* A command inherits stdio and nothing else of init's (its control socket above all). */
	assert_int_equal(nt_run(b, &out, NULL, "ls", "/proc/self/fd", NULL), 0);
	assert_string_equal(out, "0\n1\n2\n3\n"); /* 3: the directory ls reads */
	free(out);
	/* Deadline: killed, reported, fast. */
	const char *sl[] = {"sleep", "30", NULL};
	struct sb_exec_req rs = {.argv = sl, .deadline_ns = sb_deadline_after(0.2)};
	int64_t t0 = sb_now_ns();
	assert_int_equal(drv->box_exec(b, &rs, &r, &e), -ETIMEDOUT);
	assert_true(r.timed_out);
	assert_int_equal(r.exit_code, 128 + SIGKILL);
	assert_true(sb_now_ns() - t0 < 3000000000LL);
	sb_proc_result_free(&r);
	nt_rmbox(b, &p);
}

static void test_escape_syscalls(void **state)
{
	NEED_NATIVE();
	struct sb_params p;
	struct sb_box *b = mkbox("esc-sys", NULL, &p);
	char *out;
	assert_int_equal(nt_run(b, &out, NULL, "/escape", "syscalls", NULL), 0);
	assert_null(strstr(out, "ESCAPED"));
	assert_non_null(strstr(out, "blocked init_module"));
	free(out);
	nt_rmbox(b, &p);
}

static void test_escape_host(void **state)
{
	NEED_NATIVE();
	struct sb_params p;
	struct sb_box *b = mkbox("esc-host", NULL, &p);
	char *out, pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	assert_int_equal(nt_run(b, &out, NULL, "/escape", "hostpid", pid, NULL), 0);
	free(out);
	assert_int_equal(nt_run(b, &out, NULL, "/escape", "fs", NULL), 0);
	free(out);
	assert_int_equal(access("/sbn-escape-marker", F_OK), -1);
	assert_int_equal(nt_run(b, &out, NULL, "/escape", "caps", NULL), 0);
	free(out);
	assert_int_equal(nt_run(b, &out, NULL, "/escape", "net", NULL), 0);
	free(out);
	/* The classic escapes (docs/escape.md): every one blocked. */
	int src = nt_run(b, &out, NULL, "/escape", "suite", pid, NULL);
	if (src != 0)
		fprintf(stderr, "%s", out);
	assert_int_equal(src, 0);
	assert_true(strncmp(out, "allowed ", 8) != 0 && strstr(out, "\nallowed ") == NULL);
	assert_non_null(strstr(out, "blocked open_by_handle_at"));
	free(out);
	/* Writes land in the box's own layer, never in the shared rootfs. */
	assert_int_equal(nt_run(b, NULL, NULL, "touch", "/bin/planted", NULL), 0);
	char p2[256];
	snprintf(p2, sizeof(p2), "%s/bin/planted", rootfs);
	assert_int_equal(access(p2, F_OK), -1);
	/* Only the box's processes are visible. */
	assert_int_equal(nt_run(b, &out, NULL, "/bin/sh", "-c", "ls /proc | grep -c '^[0-9]'", NULL), 0);
	assert_true(atoi(out) <= 4);
	free(out);
	nt_rmbox(b, &p);
}

static void test_tmpfs_mode(void **state)
{
	NEED_NATIVE();
	struct sb_params p;
	const char *kv[] = {"rootfs_mode=tmpfs", NULL};
	struct sb_box *b = mkbox("tmpfs", kv, &p);
	assert_int_not_equal(nt_run(b, NULL, NULL, "touch", "/bin/x", NULL), 0);
	assert_int_equal(nt_run(b, NULL, NULL, "touch", "/tmp/x", NULL), 0);
	nt_rmbox(b, &p);
}

static void test_pids_limit(void **state)
{
	NEED_NATIVE();
	if (!(probe.caps & SB_CAP_PIDLIMIT)) {
		fprintf(stderr, "SKIP: pids cgroup not writable here: %s\n", probe.reason);
		skip();
	}
	struct sb_params p;
	const char *kv[] = {"pids=32", NULL};
	struct sb_box *b = mkbox("forkbomb", kv, &p);
	char *out;
	nt_run(b, &out, NULL, "/escape", "forkbomb", "5000", NULL);
	fprintf(stderr, "%s", out);
	const char *m = strstr(out, "made ");
	assert_non_null(m);
	assert_true(atoi(m + 5) < 32);
	free(out);
	/* The box still works once the bomb is gone. */
	assert_int_equal(nt_run(b, NULL, NULL, "true", NULL), 0);
	nt_rmbox(b, &p);
}

static void test_mem_limit(void **state)
{
	NEED_NATIVE();
	if (!(probe.caps & SB_CAP_MEMLIMIT)) {
		fprintf(stderr, "SKIP: memory cgroup not writable here: %s\n", probe.reason);
		skip();
	}
	struct sb_params p;
	const char *kv[] = {"mem=48M", NULL};
	struct sb_box *b = mkbox("memhog", kv, &p);
	int code = nt_run(b, NULL, NULL, "/escape", "memhog", "400", NULL);
	assert_int_equal(code, 128 + SIGKILL);
	struct sb_box_stats st;
	struct sb_error e = {0};
	assert_int_equal(drv->box_stats(b, &st, &e), 0);
	assert_true(st.mem_limit_bytes > 0 && st.mem_limit_bytes <= 48u << 20);
	assert_true(st.mem_peak_bytes > 16u << 20);
	assert_int_equal(nt_run(b, NULL, NULL, "true", NULL), 0);
	nt_rmbox(b, &p);
}

static void test_copy_clone(void **state)
{
	NEED_NATIVE();
	struct sb_params p, p2;
	memset(&p2, 0, sizeof(p2));
	struct sb_box *a = mkbox("orig", NULL, &p);
	struct sb_error e = {0};
	char host[256], back[256];
	snprintf(host, sizeof(host), "%s/in.txt", tmpdir);
	assert_int_equal(sb_write_file_atomic(host, "payload\n", 8, &e), 0);
	assert_int_equal(drv->box_copy_in(a, host, "/data/in.txt", 0, &e), 0);
	assert_int_equal(nt_run(a, NULL, NULL, "/bin/sh", "-c", "echo made-inside > /root/out.txt; rm /bin/ls", NULL), 0);
	snprintf(back, sizeof(back), "%s/out.txt", tmpdir);
	assert_int_equal(drv->box_copy_out(a, "/root/out.txt", back, 0, &e), 0);
	char line[64];
	assert_int_equal(sb_read_line(back, line, sizeof(line)), 0);
	assert_string_equal(line, "made-inside");
	/* A symlink planted in the box resolves inside it, not on the host. */
	assert_int_equal(nt_run(a, NULL, NULL, "/bin/sh", "-c", "ln -s /etc/passwd /root/link", NULL), 0);
	snprintf(back, sizeof(back), "%s/link-out", tmpdir);
	assert_int_equal(drv->box_copy_out(a, "/root/link", back, 0, &e), 0);
	struct stat st;
	assert_int_equal(lstat(back, &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	struct sb_box_spec spec = {.name = "copy", .rootfs = rootfs};
	struct sb_box *c = NULL;
	int rc = drv->box_clone(a, &spec, &c, sb_deadline_after(20), &e);
	if (rc)
		fprintf(stderr, "clone: %s\n", e.msg);
	assert_int_equal(rc, 0);
	char *out;
	/* The copy has the source's files, its deletion (whiteout) too, and diverges afterwards. */
	assert_int_equal(nt_run(c, &out, NULL, "cat", "/data/in.txt", "/root/out.txt", NULL), 0);
	assert_string_equal(out, "payload\nmade-inside\n");
	free(out);
	assert_int_equal(nt_run(c, NULL, NULL, "/bin/sh", "-c", "test ! -e /bin/ls", NULL), 0);
	assert_int_equal(nt_run(a, NULL, NULL, "touch", "/root/after", NULL), 0);
	assert_int_not_equal(nt_run(c, NULL, NULL, "/bin/sh", "-c", "test -e /root/after", NULL), 0);
	nt_rmbox(c, &p2);
	nt_rmbox(a, &p);
}

/* Processes of the host whose pid namespace is init's (what box_pids must list). */
static int count_in_pidns(pid_t init)
{
	char p[64];
	struct stat want, st;
	snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)init);
	if (stat(p, &want) < 0)
		return -1;
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char *end;
		long v = strtol(de->d_name, &end, 10);
		if (*end || v <= 0)
			continue;
		snprintf(p, sizeof(p), "/proc/%ld/ns/pid", v);
		n += stat(p, &st) == 0 && st.st_ino == want.st_ino && st.st_dev == want.st_dev;
	}
	if (d)
		closedir(d);
	return n;
}

static void test_stats_pids(void **state)
{
	NEED_NATIVE();
	for (int with_cg = 0; with_cg < 2; with_cg++) {
		if (with_cg && !(probe.caps & SB_CAP_MEMLIMIT))
			continue;
		struct sb_params p;
		const char *kv[] = {with_cg ? "cgroups=1" : "cgroups=auto", NULL};
		struct sb_box *b = mkbox("stats", kv, &p);
		assert_int_equal(nt_run(b, NULL, NULL, "/bin/sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; dd if=/dev/zero of=/tmp/f bs=1M count=8 2>/dev/null", NULL), 0);
		struct sb_box_stats st;
		struct sb_error e = {0};
		assert_int_equal(drv->box_stats(b, &st, &e), 0);
		fprintf(stderr, "stats cgroups=%d: cpu_ns=%llu mem=%llu peak=%llu pss=%llu rss=%llu pids=%llu\n", with_cg,
			(unsigned long long)st.cpu_ns, (unsigned long long)st.mem_bytes,
			(unsigned long long)st.mem_peak_bytes, (unsigned long long)st.pss_bytes,
			(unsigned long long)st.rss_bytes, (unsigned long long)st.pids);
		assert_true(st.pss_bytes > 0);
		assert_true(st.pids >= 1);
		if (with_cg) {
			assert_true(st.cpu_ns > 0);
			assert_true(st.mem_bytes > 0);
		}
		pid_t pids[16];
		size_t n = 0;
		assert_int_equal(drv->box_pids(b, pids, 16, &n, &e), 0);
		assert_true(n >= 1);
		assert_int_equal(pids[0], b->init_pid);
		/* A box with processes besides init (an orphan re-parented to init, and its child):
		 * the list (cgroup.procs, or the walk of init's descendants) must hold exactly the
		 * processes of the box's pid namespace, and the sampler's cheap read (no PSS) must agree
		 * with the full one. */
		assert_int_equal(nt_run(b, NULL, NULL, "/bin/sh", "-c",
					"setsid sh -c 'sleep 30 & wait' </dev/null >/dev/null 2>&1 & sleep 0.3", NULL), 0);
		usleep(100000);
		n = 0;
		assert_int_equal(drv->box_pids(b, pids, 16, &n, &e), 0);
		assert_int_equal(n, (size_t)count_in_pidns(b->init_pid));
		assert_true(n >= 3);
		struct sb_box_stats full, cheap;
		assert_int_equal(sb_drv_stats(drv, b, &full, &e), 0);
		assert_int_equal(sb_drv_stats_ex(drv, b, SB_STATS_NO_PSS, &cheap, &e), 0);
		fprintf(stderr, "stats cgroups=%d, 3 processes: full pss=%llu rss=%llu pids=%llu; no-pss rss=%llu pids=%llu\n",
			with_cg, (unsigned long long)full.pss_bytes, (unsigned long long)full.rss_bytes,
			(unsigned long long)full.pids, (unsigned long long)cheap.rss_bytes, (unsigned long long)cheap.pids);
		assert_true(full.pss_bytes > 0);
		assert_int_equal(cheap.pss_bytes, 0);
		assert_true(cheap.rss_bytes > full.rss_bytes / 2 && cheap.rss_bytes < full.rss_bytes * 2);
		assert_int_equal(cheap.pids, full.pids);
		assert_true(cheap.cpu_ns >= full.cpu_ns / 2);
		nt_rmbox(b, &p);
	}
}

static void test_stop(void **state)
{
	NEED_NATIVE();
	struct sb_params p;
	struct sb_box *b = mkbox("stop", NULL, &p);
	pid_t init = b->init_pid;
	struct sb_error e = {0};
	assert_int_equal(drv->box_stop(b, 0, &e), 0);
	assert_int_equal(kill(init, 0), -1);
	const char *tr[] = {"true", NULL};
	struct sb_exec_req req = {.argv = tr};
	struct sb_proc_result r;
	assert_int_equal(drv->box_exec(b, &req, &r, &e), -ESRCH);
	sb_proc_result_free(&r);
	nt_rmbox(b, &p);
}

static void test_veth(void **state)
{
	NEED_NATIVE();
	struct sb_params p;
	const char *kv[] = {"net=veth", NULL};
	struct sb_box *b = mkbox("veth", kv, &p);
	char hip[32], bip[32];
	sb_ip_str(b->net.host_ip, hip, sizeof(hip));
	sb_ip_str(b->net.box_ip, bip, sizeof(bip));
	/* Host -> box: a listener in the box (run from a forked helper, as exec blocks). */
	pid_t lst = fork();
	if (lst == 0) {
		char *o = NULL;
		nt_run(b, &o, NULL, "/bin/sh", "-c", "echo from-box | nc -l -p 7111", NULL);
		_exit(0);
	}
	int got = 0;
	for (int i = 0; i < 200 && !got; i++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in ba = {.sin_family = AF_INET, .sin_port = htons(7111)};
		ba.sin_addr.s_addr = b->net.box_ip;
		if (connect(s, (struct sockaddr *)&ba, sizeof(ba)) == 0) {
			char buf[32] = "";
			ssize_t n = read(s, buf, sizeof(buf) - 1);
			got = n > 0 && strncmp(buf, "from-box", 8) == 0;
		} else {
			usleep(10000);
		}
		close(s);
	}
	assert_true(got);
	waitpid(lst, NULL, 0);
	/* Box -> host: TCP to a listener on the host end only. */
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = b->net.host_ip;
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	listen(ls, 1);
	pid_t srv = fork();
	if (srv == 0) {
		int c = accept(ls, NULL, NULL);
		if (c >= 0 && write(c, "pong", 4) == 4)
			close(c);
		_exit(0);
	}
	char port[16];
	snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));
	char *out;
	assert_int_equal(nt_run(b, &out, NULL, "/escape", "tcp", hip, port, NULL), 0);
	assert_string_equal(out, "got:pong\n");
	free(out);
	waitpid(srv, NULL, 0);
	close(ls);
	/* Anything else is unreachable from the box. */
	assert_int_equal(nt_run(b, &out, NULL, "/escape", "net", NULL), 0);
	free(out);
	struct sb_box_stats st;
	struct sb_error e = {0};
	assert_int_equal(drv->box_stats(b, &st, &e), 0);
	assert_true(st.net_rx_bytes > 0 && st.net_tx_bytes > 0);
	char host_if[16];
	snprintf(host_if, sizeof(host_if), "%s", b->net.host_if);
	nt_rmbox(b, &p);
	char sys[64];
	snprintf(sys, sizeof(sys), "/sys/class/net/%s", host_if);
	assert_int_equal(access(sys, F_OK), -1);
}

static void test_warm(void **state)
{
	NEED_NATIVE();
	const char *kv[] = {"warm=1", NULL};
	for (int i = 0; i < 5; i++) {
		struct sb_params p;
		struct sb_box *b = mkbox("warm", kv, &p);
		char *out;
		assert_int_equal(nt_run(b, &out, NULL, "/bin/sh", "-c", "echo warm; cat /proc/1/comm", NULL), 0);
		assert_non_null(strstr(out, "warm\n"));
		free(out);
		nt_rmbox(b, &p);
	}
	sb_native_shutdown();
}

/* Whether any of n warm boxes taken now has init pid `pid` (the zygote lent that box again). */
static bool warm_reuses(pid_t pid, int n, bool check_clean)
{
	const char *kv[] = {"warm=1", "warm_pool=1", NULL};
	bool seen = false;
	for (int i = 0; i < n; i++) {
		struct sb_params p;
		struct sb_box *b = mkbox("next", kv, &p);
		seen |= b->init_pid == pid;
		if (check_clean) {
			char *out;
			int code = nt_run(b, &out, NULL, "/bin/sh", "-c",
				       "for f in /root/left /tmp/left /dev/shm/left /dev/shm/d /data/left; do test -e $f && echo $f; done;"
				       "test -c /dev/null || echo no-null; ls -ln /dev/null | grep -q '^crw-rw-rw-' || echo null-mode;"
				       "test -e /bin/ls || echo no-ls;"
				       "ps | grep '[s]leep 1000'; true",
				       NULL);
			if (code != 0 || out[0])
				fprintf(stderr, "box %d after a reset: %s", (int)b->init_pid, out);
			assert_int_equal(code, 0);
			assert_string_equal(out, "");
			free(out);
		}
		nt_rmbox(b, &p);
	}
	return seen;
}

static void test_warm_reset(void **state)
{
	NEED_NATIVE();
	/* Each way a command can leave its mark, alone (a reset keeps what was not touched, so each
	 * must be noticed on its own), then all together. */
	static const char *const dirty[] = {
		"echo x > /root/left",
		"echo x > /tmp/left",
		"echo x > /dev/shm/left",
		"mkdir /dev/shm/d && echo x > /dev/shm/d/f",
		"chmod 600 /dev/null",
		"rm /dev/null && echo x > /dev/null",
		"rm /bin/ls",
		"sleep 1000 & true",
		"true",
		"echo x > /root/left; echo x > /tmp/left; echo x > /dev/shm/left; echo x > /data/left;"
		"rm /dev/null && echo x > /dev/null; rm /bin/ls; sleep 1000 & true",
	};
	for (size_t k = 0; k < sizeof(dirty) / sizeof(dirty[0]); k++) {
		sb_native_shutdown();
		const char *kv[] = {"warm=1", "warm_pool=1", NULL};
		struct sb_params p;
		struct sb_box *b = mkbox("dirty", kv, &p);
		pid_t first = b->init_pid;
		assert_int_equal(nt_run(b, NULL, NULL, "/bin/sh", "-c", dirty[k], NULL), 0);
		nt_rmbox(b, &p);
		/* It comes back (reset), and whichever box comes is clean. */
		if (!warm_reuses(first, 6, true))
			fprintf(stderr, "not reused after: %s\n", dirty[k]);
		assert_true(warm_reuses(first, 6, true));
	}
	sb_native_shutdown();
}

static void test_warm_residue(void **state)
{
	NEED_NATIVE();
	static const char *const kinds[] = {"sysv", "mq", "timewait"};
	for (size_t k = 0; k < 3; k++) {
		sb_native_shutdown();
		const char *kv[] = {"warm=1", "warm_pool=1", NULL};
		struct sb_params p;
		struct sb_box *b = mkbox("residue", kv, &p);
		pid_t pid = b->init_pid;
		char *out;
		assert_int_equal(nt_run(b, &out, NULL, "/escape", "leave", kinds[k], NULL), 0);
		free(out);
		nt_rmbox(b, &p);
		/* What the namespaces kept cannot be reset away: that box is never lent again. */
		assert_false(warm_reuses(pid, 5, false));
	}
	sb_native_shutdown();
}

/* Symlink races in copy in/out: while a script in the box keeps swapping /root/race between a file
 * and a symlink to the host's /etc/shadow, and /root/d between a directory and a symlink to /etc,
 * copies out never bring the host's file and copies in never land in the host's /etc. */
static void test_copy_symlink_race(void **state)
{
	NEED_NATIVE();
#ifndef SBN_HAVE_AGENT_CLIENT
	skip();
#else
	char ag_path[256];
	snprintf(ag_path, sizeof(ag_path), "%s/sandbench-agent", rootfs);
	if (access(ag_path, X_OK) != 0) {
		fprintf(stderr, "SKIP: sandbench-agent not built (SBN_AGENT unset)\n");
		skip();
	}
	struct sb_params p;
	struct sb_box *b = mkbox("race", NULL, &p);
	struct sb_agent_conn conn;
	struct sb_error e = {0};
	assert_int_equal(drv->box_agent_open(b, &conn, sb_deadline_after(5), &e), 0);
	struct sb_agent *ag;
	assert_int_equal(sb_agent_open(conn.to_agent, conn.from_agent, &ag, &e), 0);
	const char *flip = "mkdir -p /root/dd; i=0; while [ $i -lt 3000 ]; do "
			   "echo box > /root/f; mv -f /root/f /root/race; ln -sfn /etc/shadow /root/race; "
			   "rm -rf /root/d; mkdir /root/d; rm -rf /root/d; ln -sfn /etc /root/d; i=$((i+1)); done";
	uint32_t id = sb_agent_next_id(ag);
	assert_int_equal(sb_agent_send_sh(ag, id, flip, NULL, sb_deadline_after(5), &e), 0);
	char host_in[256], back[256], marker[128];
	snprintf(host_in, sizeof(host_in), "%s/race-in.txt", tmpdir);
	assert_int_equal(sb_write_file_atomic(host_in, "in\n", 3, &e), 0);
	snprintf(marker, sizeof(marker), "/etc/sbn-race-%d", (int)getpid());
	/* Until the script has made /root/race at least once. */
	snprintf(back, sizeof(back), "%s/race-first", tmpdir);
	int64_t until = sb_deadline_after(10);
	while (drv->box_copy_out(b, "/root/race", back, sb_deadline_after(5), &e) != 0 && !sb_deadline_passed(until))
		usleep(10000);
	unlink(back);
	int outs = 0, ins = 0;
	for (int i = 0; i < 300; i++) {
		snprintf(back, sizeof(back), "%s/race-out-%d", tmpdir, i);
		if (drv->box_copy_out(b, "/root/race", back, sb_deadline_after(5), &e) == 0) {
			struct stat st;
			assert_int_equal(lstat(back, &st), 0);
			if (S_ISREG(st.st_mode)) {
				char line[64] = "";
				sb_read_line(back, line, sizeof(line));
				assert_string_equal(line, "box"); /* never the host's /etc/shadow */
			}
			outs++;
			unlink(back);
		} else if (i == 299) {
			fprintf(stderr, "race: last copy out: %s\n", e.msg);
		}
		char dst[64];
		snprintf(dst, sizeof(dst), "/root/d/sbn-race-%d", (int)getpid());
		if (drv->box_copy_in(b, host_in, dst, sb_deadline_after(5), &e) == 0)
			ins++;
		assert_int_equal(access(marker, F_OK), -1); /* never in the host's /etc */
	}
	fprintf(stderr, "race: %d copies out, %d copies in succeeded while the box swapped symlinks\n", outs, ins);
	assert_true(outs > 0);
	struct sb_agent_response resp;
	memset(&resp, 0, sizeof(resp));
	assert_int_equal(sb_agent_recv_id(ag, id, &resp, sb_deadline_after(60), &e), 0);
	sb_agent_response_clear(&resp);
	sb_agent_free(ag);
	sb_agent_conn_close(&conn);
	nt_rmbox(b, &p);
#endif
}

static void test_agent(void **state)
{
	NEED_NATIVE();
	char p2[256];
	snprintf(p2, sizeof(p2), "%s/sandbench-agent", rootfs);
	if (access(p2, X_OK) != 0) {
		fprintf(stderr, "SKIP: sandbench-agent not built (SBN_AGENT unset)\n");
		skip();
	}
	struct sb_params p;
	struct sb_box *b = mkbox("agent", NULL, &p);
	struct sb_agent_conn conn;
	struct sb_error e = {0};
	assert_int_equal(drv->box_agent_open(b, &conn, sb_deadline_after(5), &e), 0);
#ifdef SBN_HAVE_AGENT_CLIENT
	struct sb_agent *ag;
	assert_int_equal(sb_agent_open(conn.to_agent, conn.from_agent, &ag, &e), 0);
	const char *argv[] = {"hostname", NULL};
	uint32_t id = sb_agent_next_id(ag);
	assert_int_equal(sb_agent_send_argv(ag, id, argv, NULL, sb_deadline_after(5), &e), 0);
	struct sb_agent_response resp;
	memset(&resp, 0, sizeof(resp));
	int rc = sb_agent_recv(ag, &resp, sb_deadline_after(10), &e);
	if (rc)
		fprintf(stderr, "agent: %s\n", e.msg);
	assert_int_equal(rc, 0);
	assert_non_null(resp.stdout_data);
	assert_string_equal(resp.stdout_data, "sandbench\n");
	sb_agent_response_clear(&resp);
	sb_agent_free(ag);
#endif
	sb_agent_conn_close(&conn);
	nt_rmbox(b, &p);
}

/* ---- leaks ---- */

struct counts {
	int procs, mounts, cgroups, netns, markers, veths;
};

/* Other sandbench runs and runtimes share this host: count only what can be ours. Our mounts
 * never show in this namespace unless leaked: their sources and places are sbn-* and the run dir. */
static int count_our_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int n = 0;
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, " sbn-") != NULL || strstr(line, SBN_RUN_DIR) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* Box cgroups are named SBN_CG_PREFIX<creator pid>-...: skip those of other live processes than
 * us and our children (another sandbench run's), count ours and the dead's. */
static int count_our_cgroups(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	size_t pl = strlen(SBN_CG_PREFIX);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, SBN_CG_PREFIX, pl) != 0)
			continue;
		pid_t pid = (pid_t)atoi(de->d_name + pl);
		char p[64], line[256];
		bool ours = pid == getpid() || kill(pid, 0) < 0;
		snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
		FILE *f = ours ? NULL : fopen(p, "re");
		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "PPid:", 5) == 0)
				ours = atoi(line + 5) == getpid();
		if (f)
			fclose(f);
		n += ours;
	}
	if (d)
		closedir(d);
	return n;
}

/* Markers naming this process as an owner (warm boxes name the zygote first, then us). */
static int count_our_markers(void)
{
	DIR *d = opendir(SBN_RUN_DIR);
	struct dirent *de;
	int n = 0;
	char me[32];
	snprintf(me, sizeof(me), "owner=%d\n", (int)getpid());
	while (d && (de = readdir(d))) {
		char p[512], buf[512];
		snprintf(p, sizeof(p), "%s/%s", SBN_RUN_DIR, de->d_name);
		FILE *f = fopen(p, "re");
		size_t r = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		buf[r] = '\0';
		n += strstr(buf, me) != NULL;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

/* Our descendants, and the distinct net namespaces among them and us. */
static void walk_tree(pid_t pid, int *procs, unsigned long *ns, int *nns)
{
	char p[96];
	snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
	struct stat st;
	if (stat(p, &st) == 0) {
		int seen = 0;
		for (int i = 0; i < *nns; i++)
			seen |= ns[i] == st.st_ino;
		if (!seen && *nns < 4096)
			ns[(*nns)++] = st.st_ino;
	}
	snprintf(p, sizeof(p), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	FILE *f = fopen(p, "re");
	long c;
	while (f && fscanf(f, "%ld", &c) == 1) {
		(*procs)++;
		walk_tree((pid_t)c, procs, ns, nns);
	}
	if (f)
		fclose(f);
}

static void count(struct counts *c)
{
	memset(c, 0, sizeof(*c));
	static unsigned long ns[4096];
	walk_tree(getpid(), &c->procs, ns, &c->netns);
	c->mounts = count_our_mounts();
	const struct sbn_cg_layout *l = sbn_cg_layout();
	for (int i = 0; i < SBN_CTRL_N; i++)
		if (l->base[i][0])
			c->cgroups += count_our_cgroups(l->base[i]);
	c->markers = count_our_markers();
	c->veths = count_prefixed("/sys/class/net", SBN_IF_PREFIX);
}

static void test_leaks(void **state)
{
	NEED_NATIVE();
	int cycles = getenv("SANDBENCH_LONG") && atoi(getenv("SANDBENCH_LONG")) ? 200 : 50;
	if (getenv("SBN_LEAK_CYCLES"))
		cycles = atoi(getenv("SBN_LEAK_CYCLES"));
	sb_native_shutdown();
	struct counts before, after;
	count(&before);
	for (int i = 0; i < cycles; i++) {
		const char *kv[3] = {NULL, NULL, NULL};
		if (i % 10 == 1 && (probe.caps & SB_CAP_MEMLIMIT))
			kv[0] = "cgroups=1";
		if (i % 10 == 2)
			kv[0] = "net=veth";
		if (i % 10 == 3)
			kv[0] = "warm=1";
		struct sb_params p;
		struct sb_box *b = mkbox("leak", kv, &p);
		assert_int_equal(nt_run(b, NULL, NULL, "/bin/sh", "-c", "sleep 100 & true", NULL), 0);
		nt_rmbox(b, &p);
	}
	sb_native_shutdown();
	count(&after);
	fprintf(stderr, "%d cycles: procs %d->%d mounts %d->%d cgroups %d->%d netns %d->%d markers %d->%d veths %d->%d\n",
		cycles, before.procs, after.procs, before.mounts, after.mounts, before.cgroups, after.cgroups,
		before.netns, after.netns, before.markers, after.markers, before.veths, after.veths);
	assert_int_equal(before.procs, after.procs);
	assert_int_equal(before.mounts, after.mounts);
	assert_int_equal(before.cgroups, after.cgroups);
	assert_int_equal(before.netns, after.netns);
	assert_int_equal(before.markers, after.markers);
	assert_int_equal(before.veths, after.veths);
}

/* A sandbench killed with SIGKILL mid-run leaves cgroups and a marker; doctor --clean removes
 * them and only them. */
static void test_doctor(void **state)
{
	NEED_NATIVE();
	struct counts before, after;
	count(&before);
	int pp[2];
	assert_int_equal(pipe(pp), 0);
	pid_t child = fork();
	if (child == 0) {
		close(pp[0]);
		struct sb_params p;
		const char *kv[] = {(probe.caps & SB_CAP_PIDLIMIT) ? "pids=50" : "net=veth", "net=veth", NULL};
		struct sb_box *b = mkbox("crash", kv, &p);
		(void)b;
		if (write(pp[1], "k", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pp[1]);
	char k;
	assert_int_equal(read(pp[0], &k, 1), 1);
	close(pp[0]);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* Its init dies with it (parent-death signal); wait for that before counting. */
	for (int i = 0; i < 200; i++) {
		struct counts mid;
		count(&mid);
		if (mid.procs == before.procs)
			break;
		usleep(10000);
	}
	struct sb_native_leftover lo[64];
	size_t n = 0;
	struct sb_error e = {0};
	assert_int_equal(sb_native_leftovers(lo, 64, &n, &e), 0);
	bool found = false;
	char marker[PATH_MAX] = "";
	for (size_t i = 0; i < n && i < 64; i++)
		if (lo[i].owner == child) {
			found = true;
			snprintf(marker, sizeof(marker), "%.4000s", lo[i].marker);
			fprintf(stderr, "leftover %s (%s): %s\n", lo[i].marker, lo[i].name, lo[i].what);
		}
	assert_true(found);
	size_t cleaned = 0;
	int rc = sb_native_clean_leftovers(&cleaned, &e);
	if (rc)
		fprintf(stderr, "clean: %s\n", e.msg);
	assert_int_equal(rc, 0);
	assert_true(cleaned >= 1);
	assert_int_equal(sb_native_leftovers(lo, 64, &n, &e), 0);
	for (size_t i = 0; i < n && i < 64; i++)
		assert_int_not_equal(lo[i].owner, child);
	assert_false(sb_is_dir(marker));
	/* Dead runs' leftovers from before this test are cleaned too, hence <=. */
	count(&after);
	assert_true(after.cgroups <= before.cgroups);
	assert_true(after.veths <= before.veths);
	assert_true(after.markers <= before.markers);
}

/* The zygote SIGKILLed (as sandbench's last-ditch reaper does at exit) leaves nothing either. */
static void test_zygote_killed(void **state)
{
	NEED_NATIVE();
	sb_native_shutdown();
	struct counts before, after;
	count(&before);
	const char *kv[] = {"warm=1", "warm_pool=3", (probe.caps & SB_CAP_MEMLIMIT) ? "cgroups=1" : "net=veth", NULL};
	struct sb_params p;
	struct sb_box *b = mkbox("orphan", kv, &p);
	/* Let it fill its pool (boxes with markers), then kill it. */
	struct counts mid;
	for (int i = 0; i < 100; i++) {
		usleep(20000);
		count(&mid);
		if (mid.markers >= before.markers + 3)
			break;
	}
	assert_true(mid.markers > before.markers);
	kill(b->zygote, SIGKILL);
	struct sb_error e = {0};
	drv->box_destroy(b, sb_deadline_after(10), &e);
	sb_params_free(&p);
	sb_native_shutdown();
	count(&after);
	fprintf(stderr, "zygote killed: procs %d->%d cgroups %d->%d markers %d->%d veths %d->%d\n", before.procs,
		after.procs, before.cgroups, after.cgroups, before.markers, after.markers, before.veths, after.veths);
	assert_int_equal(before.procs, after.procs);
	assert_int_equal(before.cgroups, after.cgroups);
	assert_int_equal(before.markers, after.markers);
	assert_int_equal(before.veths, after.veths);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),       cmocka_unit_test(test_exec_basic),
		cmocka_unit_test(test_escape_syscalls), cmocka_unit_test(test_escape_host),
		cmocka_unit_test(test_tmpfs_mode),  cmocka_unit_test(test_pids_limit),
		cmocka_unit_test(test_mem_limit),   cmocka_unit_test(test_copy_clone), cmocka_unit_test(test_copy_symlink_race),
		cmocka_unit_test(test_stats_pids),  cmocka_unit_test(test_stop),
		cmocka_unit_test(test_veth),        cmocka_unit_test(test_warm),
		cmocka_unit_test(test_warm_reset),  cmocka_unit_test(test_warm_residue),
		cmocka_unit_test(test_agent),       cmocka_unit_test(test_doctor),
		cmocka_unit_test(test_zygote_killed), cmocka_unit_test(test_leaks),
	};
	return cmocka_run_group_tests_name("native", tests, group_setup, group_teardown);
}
