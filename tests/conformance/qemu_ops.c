/* The qemu driver through its vtable, on real VMs (TCG unless QEMU_ACCEL says otherwise):
 * boot + exec with output checks, stats and boot phases, agent connections (shell pool),
 * copy in/out, snapshot + restore + exec, stop and destroy leaving nothing, a scratch disk and
 * user-mode networking (forwards on loopback only, nothing reachable from the guest), a guest that never
 * answers killed at its deadline, a corrupt kernel and a corrupt initramfs each one clear error.
 * Exit 0 pass, 1 fail, 77 skip (no QEMU or no guest kernel, with the reason). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/client.h"
#include "core/clock.h"
#include "core/signals.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "image/image.h"
#include "image/initramfs.h"
#include "image/kernel.h"

static int fails;
#define CHECK(cond, ...)                                                                                   \
	do {                                                                                               \
		if (cond) {                                                                                \
			printf("ok: ");                                                                    \
		} else {                                                                                   \
			printf("FAIL: ");                                                                  \
			fails++;                                                                           \
		}                                                                                          \
		printf(__VA_ARGS__);                                                                       \
		printf("\n");                                                                              \
		fflush(stdout);                                                                            \
	} while (0)

static const struct sb_driver *drv;
static struct sb_params params;
static char rootfs[4096];

static int exec_out(struct sb_box *b, const char *const *argv, const char *in, char **out, int *code)
{
	struct sb_exec_req req = {.argv = argv, .stdin_data = in, .stdin_len = in ? strlen(in) : 0,
				  .deadline_ns = sb_deadline_after(30)};
	struct sb_proc_result res;
	struct sb_error e = {0};
	int rc = sb_drv_exec(drv, b, &req, &res, &e);
	if (rc < 0)
		printf("  exec %s: %s\n", argv[0], e.msg);
	*code = res.exit_code;
	*out = res.out ? strdup(res.out) : strdup("");
	sb_proc_result_free(&res);
	return rc;
}

static bool exec_is(struct sb_box *b, const char *const *argv, const char *in, const char *want, int want_code)
{
	char *out;
	int code;
	int rc = exec_out(b, argv, in, &out, &code);
	bool ok = rc == 0 && code == want_code && (!want || strcmp(out, want) == 0);
	if (!ok)
		printf("  %s: rc %d exit %d out '%s'\n", argv[0], rc, code, out);
	free(out);
	return ok;
}

/* State dirs of this test's VMs (named qt-*): other runs on a busy host have theirs beside them. */
static int count_dirs(void)
{
	int n = 0;
	char cmd[] = "ls /run/sandbench/qemu 2>/dev/null | grep -c '^qt-'";
	FILE *p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

/* doctor's lines about this test's VMs. */
static void count_mine(void *arg, const char *line)
{
	if (strstr(line, "/qt-"))
		++*(int *)arg;
}

static bool pid_gone(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		waitpid(pid, NULL, WNOHANG);
		usleep(10000);
	}
	return false;
}

static struct sb_box *boot(const char *name, struct sb_params *p, double secs, struct sb_error *e)
{
	struct sb_box_spec spec = {.name = name, .params = p, .rootfs = rootfs};
	struct sb_box *b = NULL;
	int64_t t0 = sb_now_ns();
	if (sb_drv_create(drv, &spec, &b, sb_deadline_after(secs), e) < 0)
		return NULL;
	printf("  %s booted in %.0f ms\n", name, sb_ns_to_ms(sb_now_ns() - t0));
	return b;
}

static void session_roundtrip(struct sb_box *b, const char *token)
{
	struct sb_agent_conn c;
	struct sb_error e = {0};
	struct sb_agent *a = NULL;
	int rc = sb_drv_agent_open(drv, b, &c, sb_deadline_after(20), &e);
	if (rc == 0)
		rc = sb_agent_open(c.to_agent, c.from_agent, &a, &e);
	struct sb_agent_response r = {0};
	if (rc == 0)
		rc = sb_agent_run_session(a, token, NULL, &r, sb_deadline_after(20), &e);
	CHECK(rc == 0 && sb_agent_response_ok(&r), "agent connection: session command (%s)", rc ? e.msg : "ok");
	sb_agent_response_clear(&r);
	sb_agent_free(a);
	if (c.to_agent >= 0)
		sb_agent_conn_close(&c);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror(path);
		close(fd);
	}
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double p50(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	return n ? v[n / 2] : 0;
}

/* bench/qemu_boot.sh: `qemu_ops bench N HUNG`: N boots and N restores, each to a first exec, p50s,
 * with the boot phases and the QEMU process's CPU time by then; the idle host RSS of one VM; then
 * HUNG boots counting those that never answer (20 s each). */
static int bench(int n, int hung)
{
	struct sb_error e = {0};
	enum { TOTAL, CONSOLE, KERNEL, INIT, READY, FIRST, CPU, NFIG };
	static const char *const names[NFIG] = {"boot_to_first_exec", "to_console", "kernel_guest", "init_guest",
						"to_ready", "first_exec", "qemu_cpu_at_first_exec"};
	double *fig[NFIG];
	for (int f = 0; f < NFIG; f++)
		fig[f] = calloc((size_t)n, sizeof(double));
	double *rest_ms = calloc((size_t)n, sizeof(double));
	const char *echo[] = {"echo", "x", NULL};
	char snap[] = "/tmp/sb-qemu-bench-XXXXXX";
	if (!mkdtemp(snap) || !rest_ms || !fig[NFIG - 1])
		return 1;
	for (int i = 0; i < n; i++) {
		int64_t t0 = sb_now_ns();
		struct sb_box *b = boot("qb-boot", &params, 60, &e);
		if (!b || !exec_is(b, echo, NULL, "x\n", 0)) {
			printf("boot %d failed: %s\n", i, e.msg);
			return 1;
		}
		fig[TOTAL][i] = sb_ns_to_ms(sb_now_ns() - t0);
		struct sb_box_stats st;
		if (sb_drv_stats(drv, b, &st, &e) < 0) {
			printf("stats %d failed: %s\n", i, e.msg);
			return 1;
		}
		fig[CONSOLE][i] = st.boot_console_ns / 1e6;
		fig[KERNEL][i] = st.boot_kernel_ns / 1e6;
		fig[INIT][i] = st.boot_init_ns / 1e6;
		fig[READY][i] = st.boot_ready_ns / 1e6;
		fig[FIRST][i] = st.boot_first_exec_ns / 1e6;
		fig[CPU][i] = st.cpu_ns / 1e6;
		if (i == n - 1) {
			usleep(3000000); /* idle: let the guest settle */
			if (sb_drv_stats(drv, b, &st, &e) == 0)
				printf("idle_rss_mib %.1f\nidle_pss_mib %.1f\n", st.rss_bytes / 1048576.0, st.pss_bytes / 1048576.0);
			if (sb_drv_snapshot(drv, b, snap, sb_deadline_after(60), &e) < 0) {
				printf("snapshot failed: %s\n", e.msg);
				return 1;
			}
		}
		sb_drv_destroy(drv, b, sb_deadline_after(20), &e);
	}
	for (int i = 0; i < n; i++) {
		struct sb_box_spec spec = {.name = "qb-rest", .params = &params, .rootfs = rootfs};
		struct sb_box *r = NULL;
		int64_t t0 = sb_now_ns();
		if (sb_drv_restore(drv, &spec, snap, &r, sb_deadline_after(60), &e) < 0 || !exec_is(r, echo, NULL, "x\n", 0)) {
			printf("restore %d failed: %s\n", i, e.msg);
			return 1;
		}
		rest_ms[i] = sb_ns_to_ms(sb_now_ns() - t0);
		sb_drv_destroy(drv, r, sb_deadline_after(20), &e);
	}
	for (int f = 0; f < NFIG; f++)
		printf("%s_p50_ms %.1f\n", names[f], p50(fig[f], n));
	printf("restore_to_first_exec_p50_ms %.1f\n", p50(rest_ms, n));
	int hung_boots = 0, failed = 0, booted = 0;
	double *loop_ms = calloc((size_t)(hung > 0 ? hung : 1), sizeof(double));
	for (int i = 0; i < hung && loop_ms; i++) {
		struct sb_box_spec spec = {.name = "qb-hung", .params = &params, .rootfs = rootfs};
		struct sb_box *b = NULL;
		int64_t t0 = sb_now_ns();
		if (sb_drv_create(drv, &spec, &b, sb_deadline_after(20), &e) < 0) {
			if (e.code == ETIMEDOUT)
				hung_boots++;
			else
				failed++;
			printf("boot %d: %s\n", i, e.msg);
			continue;
		}
		if (exec_is(b, echo, NULL, "x\n", 0))
			loop_ms[booted++] = sb_ns_to_ms(sb_now_ns() - t0);
		else
			failed++;
		sb_drv_destroy(drv, b, sb_deadline_after(20), &e);
		if ((i + 1) % 20 == 0)
			printf("  %d boots, %d hung, %d failed\n", i + 1, hung_boots, failed);
	}
	if (hung && loop_ms) {
		printf("hung_boots %d of %d (other failures %d)\n", hung_boots, hung, failed);
		qsort(loop_ms, (size_t)booted, sizeof(double), cmp_d);
		if (booted)
			printf("loop_boot_to_first_exec_p50_ms %.1f\nloop_boot_to_first_exec_p90_ms %.1f\n",
			       loop_ms[booted / 2], loop_ms[booted * 9 / 10]);
	}
	free(loop_ms);
	sb_rm_rf(snap);
	for (int f = 0; f < NFIG; f++)
		free(fig[f]);
	free(rest_ms);
	return hung_boots || failed ? 1 : 0;
}

/* A listening TCP socket on 127.0.0.1 with a port the kernel picked (non-blocking). */
static int loopback_listener(unsigned *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Listeners on port per /proc/net/tcp: 1 when only on 127.0.0.1, 0 when none, -1 when also on
 * another address. */
static int listens_on_loopback_only(unsigned port)
{
	FILE *f = fopen("/proc/net/tcp", "re");
	char line[512];
	int found = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned addr, p, st;
		if (sscanf(line, " %*d: %8X:%4X %*X:%*X %X", &addr, &p, &st) != 3 || p != port || st != 0x0A)
			continue;
		if (addr != 0x0100007F)
			found = -1;
		else if (found == 0)
			found = 1;
	}
	if (f)
		fclose(f);
	return found;
}

/* exec with its own deadline: the exit code, or -1 when the deadline ended it. */
static int exec_within(struct sb_box *b, const char *const *argv, double secs)
{
	struct sb_exec_req req = {.argv = argv, .deadline_ns = sb_deadline_after(secs)};
	struct sb_proc_result res;
	struct sb_error e = {0};
	int rc = sb_drv_exec(drv, b, &req, &res, &e);
	int code = rc < 0 || res.timed_out ? -1 : res.exit_code;
	sb_proc_result_free(&res);
	return code;
}

/* disk= and net=user on one VM: an ext4 scratch disk on /scratch whose contents a snapshot
 * keeps; a forward that listens on 127.0.0.1 only and carries a host -> guest transfer; a
 * guest that cannot reach a service on the host's loopback (restrict=on). */
static void check_disk_and_net(const char *kernel, const char *accel, const char *tmpdir)
{
	struct sb_error e = {0};
	unsigned fwd_port = 0, trap_port = 0;
	int probe = loopback_listener(&fwd_port);
	if (probe >= 0)
		close(probe); /* free again for QEMU's forward */
	int trap = loopback_listener(&trap_port);
	if (probe < 0 || trap < 0) {
		CHECK(false, "loopback listeners for the network checks");
		return;
	}
	char fwd[32], tport[16];
	snprintf(fwd, sizeof(fwd), "%u:5000", fwd_port);
	snprintf(tport, sizeof(tport), "%u", trap_port);
	struct sb_params dp = {0};
	sb_params_set(&dp, "kernel", kernel);
	sb_params_set(&dp, "accel", accel);
	sb_params_set(&dp, "ports", "1");
	sb_params_set(&dp, "disk", "16M");
	sb_params_set(&dp, "net", "user");
	sb_params_set(&dp, "fwd", fwd);
	struct sb_box *d = boot("qt-dn", &dp, 60, &e);
	CHECK(d, "boot with disk=16M net=user fwd=%s (%s)", fwd, d ? "ok" : e.msg);
	if (!d) {
		close(trap);
		sb_params_free(&dp);
		return;
	}
	char *out = NULL;
	int code;
	exec_out(d, (const char *const[]){"sh", "-c", "grep ' /scratch ' /proc/mounts | cut -d' ' -f3; df -k /scratch | tail -1", NULL},
		 NULL, &out, &code);
	unsigned long kb = 0;
	const char *df = strchr(out, '\n');
	if (df)
		sscanf(df + 1, "%*s %lu", &kb);
	CHECK(strncmp(out, "ext4\n", 5) == 0 && kb > 12000 && kb <= 16384, "disk: ext4 on /scratch, %lu KiB", kb);
	free(out);
	CHECK(exec_is(d, (const char *const[]){"sh", "-c", "echo kept > /scratch/mark && sync", NULL}, NULL, "", 0),
	      "disk: a file written on /scratch");

	CHECK(listens_on_loopback_only(fwd_port) == 1, "net: the forward listens on 127.0.0.1:%u and nowhere else", fwd_port);
	CHECK(exec_is(d, (const char *const[]){"sh", "-c", "/sandbench-agent tcp-sink --addr 10.0.2.15 --port 5000 > /tmp/sink.out 2>&1 &", NULL},
		      NULL, "", 0) &&
		      exec_is(d, (const char *const[]){"sh", "-c", "for i in $(seq 200); do netstat -ltn | grep -q ':5000 ' && exit 0; sleep 0.05; done; exit 1", NULL},
			      NULL, "", 0),
	      "net: a listener on the guest's 10.0.2.15:5000");
	size_t want = 1u << 20, sent = 0;
	char *buf = calloc(1, 65536);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fwd_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (c >= 0 && buf && connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		while (sent < want) {
			ssize_t w = send(c, buf, 65536, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			sent += (size_t)w;
		}
	}
	if (c >= 0)
		close(c);
	free(buf);
	exec_out(d, (const char *const[]){"sh", "-c", "for i in $(seq 200); do [ -s /tmp/sink.out ] && break; sleep 0.05; done; cat /tmp/sink.out", NULL},
		 NULL, &out, &code);
	CHECK(sent == want && strstr(out, "\"bytes\":1048576,"), "net: 1 MiB from the host through the forward reached the guest (%s)",
	      out[0] ? strtok(out, "\n") : "nothing");
	free(out);
	int rc = exec_within(d, (const char *const[]){"/sandbench-agent", "tcp-source", "--addr", "10.0.2.2", "--port", tport,
						       "--size", "1", NULL}, 6);
	int got = accept4(trap, NULL, NULL, SOCK_CLOEXEC);
	CHECK(rc != 0 && got < 0, "net: the guest cannot reach a host service on 127.0.0.1:%u (exit %d)", trap_port, rc);
	if (got >= 0)
		close(got);
	close(trap);

	/* The snapshot carries the disk; the restored VM needs the forward's port, so the source goes first. */
	char snap[4200];
	snprintf(snap, sizeof(snap), "%s/snap-disk", tmpdir);
	rc = sb_drv_snapshot(drv, d, snap, sb_deadline_after(60), &e);
	CHECK(rc == 0, "snapshot with a disk (%s)", rc ? e.msg : "ok");
	sb_drv_destroy(drv, d, sb_deadline_after(20), &e);
	struct sb_box *r = NULL;
	struct sb_box_spec rspec = {.name = "qt-dnr", .params = &dp, .rootfs = rootfs};
	if (rc == 0) {
		rc = sb_drv_restore(drv, &rspec, snap, &r, sb_deadline_after(60), &e);
		CHECK(rc == 0 && exec_is(r, (const char *const[]){"cat", "/scratch/mark", NULL}, NULL, "kept\n", 0),
		      "restored VM has the disk's file (%s)", rc ? e.msg : "ok");
	}
	if (r)
		sb_drv_destroy(drv, r, sb_deadline_after(20), &e);
	sb_params_free(&dp);
}

int main(int argc, char **argv)
{
	sb_signals_install();
	setvbuf(stdout, NULL, _IOLBF, 0);
	drv = sb_driver_find("qemu");
	if (!drv) {
		printf("SKIP: the qemu driver is not compiled in\n");
		return 77;
	}
	const char *kernel = getenv("QEMU_KERNEL") ? getenv("QEMU_KERNEL") : "minimal";
	const char *accel = getenv("QEMU_ACCEL") ? getenv("QEMU_ACCEL") : "tcg";
	sb_params_set(&params, "kernel", kernel);
	sb_params_set(&params, "accel", accel);
	sb_params_set(&params, "ports", "2");
	/* QEMU_PARAMS="k=v;k=v": more driver parameters (bench/qemu_boot.sh compares settings). */
	struct sb_error perr = {0};
	char *extra = getenv("QEMU_PARAMS") ? strdup(getenv("QEMU_PARAMS")) : NULL;
	for (char *save = NULL, *kv = extra ? strtok_r(extra, ";", &save) : NULL; kv; kv = strtok_r(NULL, ";", &save))
		if (sb_params_add_kv(&params, kv, &perr) < 0) {
			printf("FAIL: QEMU_PARAMS: %s\n", perr.msg);
			return 1;
		}
	free(extra);
	char agent[4096];
	struct sb_error e = {0};
	struct sb_kernel k;
	bool reused;
	if (access("/usr/bin/qemu-system-x86_64", X_OK) != 0) {
		printf("SKIP: qemu-system-x86_64 is not installed\n");
		return 77;
	}
	if (sb_kernel_find(sb_image_default_cache_dir(), kernel, &k, &e) < 0) {
		printf("SKIP: %s\n", e.msg);
		return 77;
	}
	if (sb_find_agent(agent, sizeof(agent), &e) < 0 ||
	    sb_image_build(sb_image_default_cache_dir(), agent, rootfs, sizeof(rootfs), &reused, &e) < 0) {
		printf("FAIL: rootfs: %s\n", e.msg);
		return 1;
	}
	printf("kernel %s %s, accel %s\n", kernel, k.version, accel);
	if (argc >= 3 && strcmp(argv[1], "bench") == 0)
		return bench(atoi(argv[2]), argc >= 4 ? atoi(argv[3]) : 0);
	int dirs0 = count_dirs();

	/* boot, exec */
	struct sb_box *a = boot("qt-a", &params, 60, &e);
	CHECK(a, "boot (%s)", a ? "ok" : e.msg);
	if (!a)
		return 1;
	CHECK(exec_is(a, (const char *const[]){"echo", "hello", NULL}, NULL, "hello\n", 0), "exec echo hello");
	CHECK(exec_is(a, (const char *const[]){"sh", "-c", "exit 7", NULL}, NULL, NULL, 7), "exec exit status 7");
	CHECK(exec_is(a, (const char *const[]){"cat", NULL}, "piped", "piped", 0), "exec stdin");
	CHECK(exec_is(a, (const char *const[]){"/sandbench-agent", "true", NULL}, NULL, "", 0), "the agent's true");
	CHECK(exec_is(a, (const char *const[]){"sh", "-c", "test -f /proc/meminfo && test -d /dev && test -w /tmp",
				NULL}, NULL, NULL, 0), "proc, dev and tmp mounted");

	/* stats and boot phases */
	struct sb_box_stats st;
	int rc = sb_drv_stats(drv, a, &st, &e);
	CHECK(rc == 0 && st.rss_bytes > (1u << 20) && st.pss_bytes > 0 && st.cpu_ns > 0,
	      "host stats: rss %.1f MiB pss %.1f MiB cpu %.0f ms", st.rss_bytes / 1048576.0, st.pss_bytes / 1048576.0,
	      st.cpu_ns / 1e6);
	CHECK(rc == 0 && st.guest_mem_total_bytes > (32u << 20) && st.guest_mem_used_bytes > 0,
	      "guest memory: %.1f of %.1f MiB used", st.guest_mem_used_bytes / 1048576.0,
	      st.guest_mem_total_bytes / 1048576.0);
	CHECK(rc == 0 && st.boot_console_ns && st.boot_kernel_ns && st.boot_ready_ns && st.boot_first_exec_ns &&
		      st.boot_console_ns < st.boot_ready_ns,
	      "boot phases: console %.1f ms, kernel %.1f ms (guest), init %.1f ms (guest), ready %.1f ms, first exec %.1f ms",
	      st.boot_console_ns / 1e6, st.boot_kernel_ns / 1e6, st.boot_init_ns / 1e6, st.boot_ready_ns / 1e6,
	      st.boot_first_exec_ns / 1e6);

	/* agent connections: two at once, then a port is reused after a close */
	session_roundtrip(a, "printf one");
	session_roundtrip(a, "printf two");
	session_roundtrip(a, "printf three");

	/* copy in and out: 3 MiB (several chunks) */
	char tmpdir[] = "/tmp/sb-qemu-XXXXXX";
	if (!mkdtemp(tmpdir))
		return 1;
	char in[4200], outp[4200], snap[4200];
	snprintf(in, sizeof(in), "%s/in", tmpdir);
	snprintf(outp, sizeof(outp), "%s/out", tmpdir);
	snprintf(snap, sizeof(snap), "%s/snap", tmpdir);
	size_t big = 3u << 20;
	char *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 2654435761u >> 13);
	int fd = open(in, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || write(fd, data, big) != (ssize_t)big)
		return 1;
	close(fd);
	rc = sb_drv_copy_in(drv, a, in, "/tmp/big", sb_deadline_after(60), &e);
	CHECK(rc == 0, "copy in 3 MiB (%s)", rc ? e.msg : "ok");
	CHECK(exec_is(a, (const char *const[]){"sh", "-c", "wc -c < /tmp/big", NULL}, NULL, "3145728\n", 0),
	      "the guest sees 3145728 bytes");
	rc = sb_drv_copy_out(drv, a, "/tmp/big", outp, sb_deadline_after(60), &e);
	char *back = NULL;
	size_t blen = 0;
	struct stat ost;
	bool same = rc == 0 && sb_read_file(outp, &back, &blen, &e) == 0 && blen == big && !memcmp(back, data, big);
	CHECK(same && stat(outp, &ost) == 0 && (ost.st_mode & 0777) == 0640, "copy out: same bytes and mode (%s)",
	      rc ? e.msg : "ok");
	free(back);
	rc = sb_drv_copy_out(drv, a, "/no/such/file", outp, sb_deadline_after(10), &e);
	CHECK(rc == -ENOENT && strstr(e.msg, "/no/such/file"), "copy out of a missing file: %s", e.msg);

	/* snapshot + restore */
	CHECK(exec_is(a, (const char *const[]){"sh", "-c", "echo before-snapshot > /tmp/mark", NULL}, NULL, "", 0),
	      "state written before the snapshot");
	int64_t t0 = sb_now_ns();
	rc = sb_drv_snapshot(drv, a, snap, sb_deadline_after(60), &e);
	CHECK(rc == 0, "snapshot in %.0f ms (%s)", sb_ns_to_ms(sb_now_ns() - t0), rc ? e.msg : "ok");
	CHECK(exec_is(a, (const char *const[]){"echo", "still", NULL}, NULL, "still\n", 0), "source runs on after it");
	struct sb_box *r = NULL;
	struct sb_box_spec rspec = {.name = "qt-r", .params = &params, .rootfs = rootfs};
	t0 = sb_now_ns();
	rc = sb_drv_restore(drv, &rspec, snap, &r, sb_deadline_after(60), &e);
	int64_t t_restored = sb_now_ns();
	CHECK(rc == 0, "restore in %.0f ms (%s)", sb_ns_to_ms(t_restored - t0), rc ? e.msg : "ok");
	if (r) {
		CHECK(exec_is(r, (const char *const[]){"cat", "/tmp/mark", NULL}, NULL, "before-snapshot\n", 0),
		      "restored VM has the snapshot's state (restore to first exec %.0f ms)",
		      sb_ns_to_ms(sb_now_ns() - t0));
		session_roundtrip(r, "printf restored");
	}

	/* stop and destroy leave nothing */
	struct sb_box_stats sa;
	size_t np = 0;
	pid_t pa = 0;
	sb_drv_pids(drv, a, &pa, 1, &np, &e);
	(void)sa;
	t0 = sb_now_ns();
	rc = sb_drv_stop(drv, a, sb_deadline_after(20), &e);
	CHECK(rc == 0 && pid_gone(pa), "stop: agent poweroff, QEMU gone in %.0f ms", sb_ns_to_ms(sb_now_ns() - t0));
	sb_drv_destroy(drv, a, sb_deadline_after(20), &e);
	pid_t pr = 0;
	if (r) {
		sb_drv_pids(drv, r, &pr, 1, &np, &e);
		sb_drv_destroy(drv, r, sb_deadline_after(20), &e);
		CHECK(pid_gone(pr), "destroy: restored QEMU gone");
	}
	CHECK(count_dirs() == dirs0, "no state dir, socket or disk left (%d before, %d after)", dirs0, count_dirs());

	check_disk_and_net(kernel, accel, tmpdir);
	CHECK(count_dirs() == dirs0, "nothing left of the disk and network VMs");

	/* a guest that never answers: /init sleeps */
	char hung_root[4200], hung_cpio[4200], p[4400];
	snprintf(hung_root, sizeof(hung_root), "%s/hung", tmpdir);
	snprintf(p, sizeof(p), "%s/bin", hung_root);
	sb_mkdir_p(p, 0755);
	snprintf(p, sizeof(p), "cp %s/bin/busybox %s/bin/ && ln -s busybox %s/bin/sh && ln -s busybox %s/bin/sleep && cp %s %s/sandbench-agent",
		 rootfs, hung_root, hung_root, hung_root, agent, hung_root);
	if (system(p) != 0)
		return 1;
	snprintf(p, sizeof(p), "%s/init", hung_root);
	write_file(p, "#!/bin/sh\nexec sleep 100000\n", 0755);
	rc = sb_initramfs_build(tmpdir, hung_root, NULL, hung_cpio, sizeof(hung_cpio), &reused, &e);
	struct sb_params hp = {0};
	sb_params_set(&hp, "kernel", kernel);
	sb_params_set(&hp, "accel", accel);
	sb_params_set(&hp, "initrd", hung_cpio);
	t0 = sb_now_ns();
	struct sb_box *h = boot("qt-hung", &hp, 8, &e);
	double took = (sb_now_ns() - t0) / 1e9;
	CHECK(!h && e.code == ETIMEDOUT && took < 12 && strstr(e.msg, "did not answer"),
	      "a silent guest is killed at its deadline after %.1f s: %s", took, e.msg);
	CHECK(count_dirs() == dirs0, "nothing left of the silent guest");

	/* corrupt kernel, corrupt initramfs: one clear line each, quickly */
	char junk[4200];
	snprintf(junk, sizeof(junk), "%s/junk", tmpdir);
	write_file(junk, "this is not a kernel image, just text repeated\n", 0644);
	struct sb_params cp = {0};
	sb_params_set(&cp, "kernel", junk);
	sb_params_set(&cp, "accel", accel);
	t0 = sb_now_ns();
	h = boot("qt-badk", &cp, 30, &e);
	CHECK(!h && !strchr(e.msg, '\n') && strstr(e.msg, "qemu") && sb_now_ns() - t0 < 10000000000LL,
	      "corrupt kernel: %s", e.msg);
	struct sb_params ci = {0};
	sb_params_set(&ci, "kernel", kernel);
	sb_params_set(&ci, "accel", accel);
	sb_params_set(&ci, "initrd", junk);
	t0 = sb_now_ns();
	h = boot("qt-badi", &ci, 30, &e);
	CHECK(!h && !strchr(e.msg, '\n') && e.code != ETIMEDOUT && sb_now_ns() - t0 < 20000000000LL,
	      "corrupt initramfs (%.1f s): %s", (sb_now_ns() - t0) / 1e9, e.msg);
	CHECK(count_dirs() == dirs0, "nothing left of the failed boots");
	int found = 0;
	drv->leftovers(false, count_mine, &found, &e);
	CHECK(found == 0, "doctor finds no leftovers of this test (%d)", found);

	free(data);
	sb_rm_rf(tmpdir);
	sb_params_free(&params);
	sb_params_free(&hp);
	sb_params_free(&cp);
	sb_params_free(&ci);
	if (fails)
		printf("%d check(s) failed\n", fails);
	return fails ? 1 : 0;
}
