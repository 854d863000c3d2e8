/* Static helper copied into a native box by the tests: every subcommand attempts one way out and
 * prints "blocked NAME (why)" or "ESCAPED NAME (what)". Exit 0 when everything was blocked. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mqueue.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "escape.h"

static int escaped;

static void report(const char *name, int ok_blocked, const char *detail)
{
	printf("%s %s (%s)\n", ok_blocked ? "blocked" : "ESCAPED", name, detail);
	if (!ok_blocked)
		escaped = 1;
}

/* Syscall numbers that must fail with EPERM (or ENOSYS for clone3); argument values are harmless
 * garbage: the filter must answer before the kernel looks at them. */
static void try_syscalls(void)
{
	static const struct {
		const char *name;
		long nr;
	} calls[] = {
		{"mount", SYS_mount}, {"umount2", SYS_umount2}, {"pivot_root", SYS_pivot_root},
		{"chroot", SYS_chroot}, {"fsopen", SYS_fsopen}, {"fsmount", SYS_fsmount},
		{"move_mount", SYS_move_mount}, {"open_tree", SYS_open_tree},
		{"open_by_handle_at", SYS_open_by_handle_at}, {"name_to_handle_at", SYS_name_to_handle_at},
		{"unshare", SYS_unshare}, {"setns", SYS_setns}, {"init_module", SYS_init_module},
		{"finit_module", SYS_finit_module}, {"delete_module", SYS_delete_module},
		{"kexec_load", SYS_kexec_load}, {"kexec_file_load", SYS_kexec_file_load},
		{"reboot", SYS_reboot}, {"swapon", SYS_swapon}, {"swapoff", SYS_swapoff},
		{"syslog", SYS_syslog}, {"acct", SYS_acct}, {"iopl", SYS_iopl}, {"ioperm", SYS_ioperm},
		{"settimeofday", SYS_settimeofday}, {"clock_settime", SYS_clock_settime},
		{"bpf", SYS_bpf}, {"perf_event_open", SYS_perf_event_open}, {"userfaultfd", SYS_userfaultfd},
		{"keyctl", SYS_keyctl}, {"add_key", SYS_add_key}, {"request_key", SYS_request_key},
		{"io_uring_setup", SYS_io_uring_setup}, {"ptrace", SYS_ptrace},
		{"process_vm_readv", SYS_process_vm_readv}, {"process_vm_writev", SYS_process_vm_writev},
		{"kcmp", SYS_kcmp}, {"pidfd_getfd", SYS_pidfd_getfd}, {"fanotify_init", SYS_fanotify_init},
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		errno = 0;
		long r = syscall(calls[i].nr, 0, 0, 0, 0, 0, 0);
		char d[64];
		snprintf(d, sizeof(d), "r=%ld errno=%s", r, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
		report(calls[i].name, r == -1 && errno == EPERM, d);
	}
	/* clone with a namespace flag: EPERM; clone3: ENOSYS so libc falls back to clone. */
	errno = 0;
	long r = syscall(SYS_clone, (long)(CLONE_NEWNET | SIGCHLD), 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	report("clone(CLONE_NEWNET)", r == -1 && errno == EPERM, strerror(errno));
	errno = 0;
	r = syscall(SYS_clone3, 0, 0);
	report("clone3", r == -1 && errno == ENOSYS, strerror(errno));
}

static void try_host_pid(const char *arg)
{
	pid_t host = (pid_t)atoi(arg);
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)host);
	/* The box has its own pid numbering: the host pid either does not exist here or is a box
	 * process (only pid 1 = init and our own commands exist). */
	int fd = open(p, O_RDONLY);
	char buf[256] = "";
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	int blocked = fd < 0 || strstr(buf, "sandbench") == NULL;
	report("see-host-pid", blocked, fd < 0 ? "no such pid here" : buf);
	errno = 0;
	int k = kill(host, 0);
	report("signal-host-pid", k < 0 || host <= 2, k < 0 ? strerror(errno) : "pid exists here");
	long pr = ptrace(PTRACE_ATTACH, host, 0, 0);
	report("ptrace-host-pid", pr < 0, strerror(errno));
}

static void try_fs(void)
{
	/* Absolute paths of the host: the box root is its own tree. */
	int fd = open("/etc/shadow", O_RDONLY);
	char buf[64] = "";
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	report("read-host-/etc/shadow", fd < 0 || strstr(buf, "root:") == NULL, fd < 0 ? strerror(errno) : "opened");
	/* Write far up: ".." of / is / itself after pivot_root. */
	fd = open("/../../../../../sbn-escape-marker", O_WRONLY | O_CREAT, 0644);
	if (fd >= 0)
		close(fd);
	/* Creating it inside the box's own writable root is fine; the host check is done by the
	 * test, which looks for the file on the host. */
	report("write-outside-rootfs", 1, fd >= 0 ? "created inside the box root only" : strerror(errno));
	errno = 0;
	int m = mount("none", "/tmp", "tmpfs", 0, NULL);
	report("mount-tmpfs", m < 0, strerror(errno));
	errno = 0;
	int s = mknod("/tmp/sda", S_IFBLK | 0600, makedev(8, 0));
	report("mknod-block-device", s < 0, strerror(errno));
	errno = 0;
	fd = open("/proc/sys/kernel/core_pattern", O_WRONLY);
	report("write-/proc/sys", fd < 0, fd < 0 ? strerror(errno) : "opened for writing");
	if (fd >= 0)
		close(fd);
	fd = open("/proc/sysrq-trigger", O_WRONLY);
	report("write-/proc/sysrq-trigger", fd < 0, fd < 0 ? strerror(errno) : "opened for writing");
	if (fd >= 0)
		close(fd);
	fd = open("/sys/kernel/uevent_helper", O_WRONLY);
	report("write-/sys", fd < 0, fd < 0 ? strerror(errno) : "opened for writing");
	if (fd >= 0)
		close(fd);
}

static void try_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	syscall(SYS_capget, &h, d);
	report("have-capabilities", d[0].effective == 0 && d[1].effective == 0 && d[0].permitted == 0, "capget");
	int left = 0;
	for (int c = 0; c < 64; c++)
		left += prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1;
	report("bounding-set", left == 0, "PR_CAPBSET_READ");
	d[0].effective = d[0].permitted = 1u << CAP_SYS_ADMIN;
	errno = 0;
	long r = syscall(SYS_capset, &h, d);
	report("capset-raise", r < 0, strerror(errno));
	errno = 0;
	r = syscall(SYS_init_module, 0, 0, "");
	report("load-module", r < 0, strerror(errno));
}

static void try_net(void)
{
	errno = 0;
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	report("raw-socket", s < 0, strerror(errno));
	if (s >= 0)
		close(s);
	errno = 0;
	s = socket(AF_PACKET, SOCK_RAW, 0);
	report("packet-socket", s < 0, strerror(errno));
	if (s >= 0)
		close(s);
	/* No route anywhere but the box's own link. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
	inet_pton(AF_INET, "8.8.8.8", &sa.sin_addr);
	errno = 0;
	int c = connect(s, (struct sockaddr *)&sa, sizeof(sa));
	report("connect-outside", c < 0, strerror(errno));
	close(s);
}

static int tcp_connect(const char *ip, int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	inet_pton(AF_INET, ip, &sa.sin_addr);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("connect: %s\n", strerror(errno));
		return 1;
	}
	char buf[64];
	ssize_t n = read(s, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	printf("got:%s\n", buf);
	return 0;
}

static int fork_bomb(int n)
{
	/* Count how many children we manage to hold at once; the pids limit must stop us. */
	int made = 0;
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			printf("fork failed after %d: %s\n", made, strerror(errno));
			break;
		}
		made++;
	}
	printf("made %d\n", made);
	kill(0, SIGKILL);
	return 0;
}

static int mem_hog(long mib)
{
	for (long i = 0; i < mib; i++) {
		char *p = malloc(1 << 20);
		if (!p) {
			printf("malloc failed at %ld MiB\n", i);
			return 3;
		}
		memset(p, 1, 1 << 20);
	}
	printf("touched %ld MiB\n", mib);
	return 0;
}

/* Leave something behind in the box's IPC or network namespace, which a reset must notice. */
static int leave(const char *what)
{
	if (strcmp(what, "sysv") == 0) {
		int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
		printf("shm %d\n", id);
		return id < 0;
	}
	if (strcmp(what, "mq") == 0) {
		mqd_t q = mq_open("/sbn-left", O_CREAT | O_RDWR, 0600, NULL);
		printf("mq %d\n", (int)q);
		return q == (mqd_t)-1;
	}
	if (strcmp(what, "timewait") == 0) {
		/* The side that closes first keeps the connection in TIME_WAIT after we exit. */
		int l = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t sl = sizeof(sa);
		if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0 ||
		    getsockname(l, (struct sockaddr *)&sa, &sl) < 0)
			return 1;
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return 1;
		int a = accept(l, NULL, NULL);
		close(a);
		char b;
		if (read(c, &b, 1) != 0)
			return 1;
		close(c);
		printf("timewait\n");
		return 0;
	}
	return 2;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *cmd = argc > 1 ? argv[1] : "all";
	if (strcmp(cmd, "syscalls") == 0)
		try_syscalls();
	else if (strcmp(cmd, "hostpid") == 0 && argc > 2)
		try_host_pid(argv[2]);
	else if (strcmp(cmd, "fs") == 0)
		try_fs();
	else if (strcmp(cmd, "caps") == 0)
		try_caps();
	else if (strcmp(cmd, "net") == 0)
		try_net();
	else if (strcmp(cmd, "tcp") == 0 && argc > 3)
		return tcp_connect(argv[2], atoi(argv[3]));
	else if (strcmp(cmd, "forkbomb") == 0)
		return fork_bomb(argc > 2 ? atoi(argv[2]) : 10000);
	else if (strcmp(cmd, "memhog") == 0)
		return mem_hog(argc > 2 ? atol(argv[2]) : 512);
	else if (strcmp(cmd, "leave") == 0 && argc > 2)
		return leave(argv[2]);
	else if (strcmp(cmd, "suite") == 0)
		return escape_suite(argc - 2, argv + 2);
	else {
		fprintf(stderr, "usage: escape syscalls|hostpid PID|fs|caps|net|tcp IP PORT|forkbomb N|memhog MIB|leave sysv|mq|timewait|suite [HOST_PID [PORT]]\n");
		return 2;
	}
	return escaped;
}
