/* The classic container escapes (docs/escape.md), each tried for real from inside a sandbox with
 * meaningful arguments, so the result means the same on every runtime: "blocked NAME (why)" when the
 * attempt failed, "allowed NAME (what)" when the sandbox let it through. Nothing here changes the
 * host even when allowed: host-wide knobs (core_pattern, sysrq-trigger, uevent_helper) are only
 * opened for writing, never written; a device node made is removed; a module load passes no image.
 * `escape suite [HOST_PID [HOST_PORT]]`: HOST_PID a process of the host (ptrace, its namespaces),
 * HOST_PORT a TCP listener on the host's 127.0.0.1. Exit 0 when everything was blocked. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "escape.h"

static int allowed_count;

static void verdict(const char *name, int blocked, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void verdict(const char *name, int blocked, const char *fmt, ...)
{
	char d[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d, sizeof(d), fmt, ap);
	va_end(ap);
	printf("%s %s (%s)\n", blocked ? "blocked" : "allowed", name, d);
	if (!blocked)
		allowed_count++;
}

static const char *en(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

/* Run fn in a child (for attempts that change the caller: chroot, namespaces) and return its exit
 * status: 0 blocked, 1 allowed; the child prints the verdict itself. */
static void in_child(void (*fn)(void))
{
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		fn();
		fflush(stdout);
		_exit(allowed_count ? 1 : 0);
	}
	int st = 0;
	if (p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 1)
		allowed_count++;
}

/* A directory to work in: dir made under /tmp or /dev when one is writable, else an existing one,
 * so that an attempt fails (or not) for the sandbox's reasons, not for want of a directory. */
static const char *scratch(const char *name, char *buf, size_t len)
{
	static const char *const parents[] = {"/tmp", "/dev", "/run"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(buf, len, "%s/%s", parents[i], name);
		if (mkdir(buf, 0700) == 0 || errno == EEXIST)
			return buf;
	}
	snprintf(buf, len, "/bin");
	return buf;
}

static void try_mounts(void)
{
	char dir[64];
	scratch("sbx-mnt", dir, sizeof(dir));
	errno = 0;
	int r = mount("none", dir, "tmpfs", 0, NULL);
	verdict("mount-tmpfs", r < 0, "%s", r < 0 ? en(errno) : "mounted");
	if (r == 0)
		umount2(dir, MNT_DETACH);
	errno = 0;
	r = mount("proc", dir, "proc", 0, NULL);
	verdict("mount-proc", r < 0, "%s", r < 0 ? en(errno) : "a second /proc mounted");
	if (r == 0)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
	errno = 0;
	r = mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL);
	verdict("remount-/proc/sys-rw", r < 0, "%s", r < 0 ? en(errno) : "remounted read-write");
}

static void try_open_write(const char *name, const char *path)
{
	errno = 0;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	verdict(name, fd < 0, "%s", fd < 0 ? en(errno) : "opened for writing (not written)");
	if (fd >= 0)
		close(fd);
}

static void try_devices(void)
{
	char dir[64], node[80];
	scratch("sbx-dev", dir, sizeof(dir));
	snprintf(node, sizeof(node), "%s/sda", dir);
	errno = 0;
	int r = mknod(node, S_IFBLK | 0600, makedev(8, 0));
	verdict("mknod-block-device", r < 0, "%s", r < 0 ? en(errno) : "created");
	if (r == 0) {
		int fd = open(node, O_RDONLY | O_CLOEXEC);
		verdict("open-made-block-device", fd < 0, "%s", fd < 0 ? en(errno) : "host disk readable");
		if (fd >= 0)
			close(fd);
		unlink(node);
	}
	rmdir(dir);
	static const char *const raw[] = {"/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/xvda", "/dev/mem",
					  "/dev/kmem", "/dev/port", "/proc/kcore", "/dev/kmsg"};
	char what[160] = "";
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		int fd = open(raw[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0) {
			snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s%s", *what ? " " : "", raw[i]);
			close(fd);
		}
	}
	verdict("open-raw-devices", !*what, "%s", *what ? what : "none of the host's disks, memory or kmsg");
}

static void try_kernel_ifaces(void)
{
	errno = 0;
	/* add_key: the kernel keyring is not namespaced; keys land beside the host's. */
	long k = syscall(SYS_add_key, "user", "sb-escape", "x", 1, KEY_SPEC_PROCESS_KEYRING);
	verdict("keyctl-add_key", k < 0, "%s", k < 0 ? en(errno) : "key added");
	if (k >= 0)
		syscall(SYS_keyctl, KEYCTL_INVALIDATE, k);
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	errno = 0;
	long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	verdict("bpf-map-create", fd < 0, "%s", fd < 0 ? en(errno) : "map created");
	if (fd >= 0)
		close((int)fd);
	struct perf_event_attr pe;
	memset(&pe, 0, sizeof(pe));
	pe.size = sizeof(pe);
	pe.type = PERF_TYPE_SOFTWARE;
	pe.config = PERF_COUNT_SW_CPU_CLOCK;
	pe.disabled = 1;
	errno = 0;
	/* pid -1, cpu 0: every process on the CPU, the host's included. */
	fd = syscall(SYS_perf_event_open, &pe, -1, 0, -1, 0);
	verdict("perf_event_open-system-wide", fd < 0, "%s", fd < 0 ? en(errno) : "opened");
	if (fd >= 0)
		close((int)fd);
	errno = 0;
	fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	verdict("userfaultfd", fd < 0, "%s", fd < 0 ? en(errno) : "created");
	if (fd >= 0)
		close((int)fd);
	struct io_uring_params up;
	memset(&up, 0, sizeof(up));
	errno = 0;
	fd = syscall(SYS_io_uring_setup, 1, &up);
	verdict("io_uring_setup", fd < 0, "%s", fd < 0 ? en(errno) : "ring created");
	if (fd >= 0)
		close((int)fd);
	/* Without CAP_SYS_MODULE the kernel answers EPERM before it looks at the (bad) fd. */
	errno = 0;
	long r = syscall(SYS_finit_module, -1, "", 0);
	verdict("kernel-module-load", r < 0 && (errno == EPERM || errno == ENOSYS), "%s", en(errno));
	errno = 0;
	r = syscall(SYS_kexec_file_load, -1, -1, 0, "", 0);
	verdict("kexec", r < 0 && (errno == EPERM || errno == ENOSYS), "%s", en(errno));
}

static void try_handles(void)
{
	/* "shocker": a file handle opened by number bypasses the mount namespace's root. */
	struct {
		struct file_handle fh;
		unsigned char bytes[128];
	} h;
	h.fh.handle_bytes = sizeof(h.bytes);
	int mnt;
	errno = 0;
	int r = name_to_handle_at(AT_FDCWD, "/", &h.fh, &mnt, 0);
	if (r < 0) {
		verdict("open_by_handle_at", 1, "name_to_handle_at: %s", en(errno));
		return;
	}
	int dirfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	errno = 0;
	int fd = open_by_handle_at(dirfd, &h.fh, O_RDONLY | O_CLOEXEC);
	verdict("open_by_handle_at", fd < 0, "%s", fd < 0 ? en(errno) : "opened by handle");
	if (fd >= 0)
		close(fd);
	close(dirfd);
}

static void chroot_breakout(void)
{
	struct stat before, after;
	stat("/", &before);
	char dir[64];
	scratch("sbx-chroot", dir, sizeof(dir));
	errno = 0;
	if (chroot(dir) < 0) {
		verdict("chroot-breakout", 1, "chroot: %s", en(errno));
		return;
	}
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			break;
	int r = chroot(".");
	stat("/", &after);
	int out = r == 0 && (after.st_dev != before.st_dev || after.st_ino != before.st_ino);
	verdict("chroot-breakout", !out, "%s", out ? "reached a root above the sandbox's" : "back at the sandbox's own root");
}

static void unshare_user(void)
{
	errno = 0;
	int r = unshare(CLONE_NEWUSER);
	verdict("unshare-user-namespace", r < 0, "%s", r < 0 ? en(errno) : "new user namespace (full caps in it)");
}

static void unshare_mount(void)
{
	errno = 0;
	int r = unshare(CLONE_NEWNS);
	verdict("unshare-mount-namespace", r < 0, "%s", r < 0 ? en(errno) : "new mount namespace");
}

static const char *setns_pid = "1";

/* setns into a namespace of a process that is not ours: pid 1 (the host's init when the pid
 * namespace is shared) or a host pid. Only counts when the target namespace differs from ours. */
static void setns_target(void)
{
	char p[64], mine[64] = "", theirs[64] = "";
	snprintf(p, sizeof(p), "/proc/%s/ns/mnt", setns_pid);
	ssize_t n1 = readlink("/proc/self/ns/mnt", mine, sizeof(mine) - 1);
	ssize_t n2 = readlink(p, theirs, sizeof(theirs) - 1);
	char name[48];
	snprintf(name, sizeof(name), "setns-mnt-of-pid-%s", strcmp(setns_pid, "1") ? "host" : "1");
	if (n2 < 0) {
		verdict(name, 1, "%s: %s", p, en(errno));
		return;
	}
	if (n1 > 0 && strcmp(mine, theirs) == 0) {
		verdict(name, 1, "pid %s shares our own mount namespace", setns_pid);
		return;
	}
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	errno = 0;
	int r = fd < 0 ? -1 : setns(fd, CLONE_NEWNS);
	verdict(name, r < 0, "%s", r < 0 ? en(errno) : "entered another mount namespace");
}

static void try_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	syscall(SYS_capget, &h, d);
	static const struct {
		int cap;
		const char *name;
	} bad[] = {
		{CAP_SYS_ADMIN, "SYS_ADMIN"}, {CAP_SYS_MODULE, "SYS_MODULE"}, {CAP_SYS_PTRACE, "SYS_PTRACE"},
		{CAP_SYS_RAWIO, "SYS_RAWIO"}, {CAP_DAC_READ_SEARCH, "DAC_READ_SEARCH"}, {CAP_NET_ADMIN, "NET_ADMIN"},
		{CAP_SYS_TIME, "SYS_TIME"}, {CAP_SYS_BOOT, "SYS_BOOT"}, {CAP_MKNOD, "MKNOD"}, {CAP_NET_RAW, "NET_RAW"},
		{CAP_SYS_CHROOT, "SYS_CHROOT"}, {CAP_BPF, "BPF"}, {CAP_PERFMON, "PERFMON"},
	};
	char held[200] = "";
	int n = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (d[bad[i].cap / 32].effective & (1u << (bad[i].cap % 32))) {
			snprintf(held + strlen(held), sizeof(held) - strlen(held), "%s%s", n++ ? "," : "", bad[i].name);
		}
	int any = d[0].effective || d[1].effective;
	verdict("capabilities", !any, "%s", !any ? "none" : *held ? held : "some, none of the dangerous ones");
}

static void try_host_process(const char *host_pid)
{
	pid_t pid = (pid_t)atoi(host_pid);
	errno = 0;
	long r = ptrace(PTRACE_ATTACH, pid, 0, 0);
	verdict("ptrace-host-process", r < 0, "%s", r < 0 ? en(errno) : "attached");
	if (r == 0)
		ptrace(PTRACE_DETACH, pid, 0, 0);
	errno = 0;
	r = kill(pid, 0);
	verdict("signal-host-process", r < 0, "%s", r < 0 ? en(errno) : "pid exists here and takes signals");
}

static void try_network(const char *port)
{
	errno = 0;
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	verdict("packet-socket", s < 0, "%s", s < 0 ? en(errno) : "opened");
	if (s >= 0)
		close(s);
	if (!port)
		return;
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	errno = 0;
	int c = connect(s, (struct sockaddr *)&sa, sizeof(sa));
	verdict("reach-host-loopback", c < 0, "%s", c < 0 ? en(errno) : "connected to a host-only listener");
	close(s);
}

int escape_suite(int argc, char **argv)
{
	const char *host_pid = argc > 0 ? argv[0] : NULL;
	const char *port = argc > 1 ? argv[1] : NULL;
	try_mounts();
	try_open_write("write-/proc/sys/kernel/core_pattern", "/proc/sys/kernel/core_pattern");
	try_open_write("write-/proc/sysrq-trigger", "/proc/sysrq-trigger");
	try_open_write("write-/sys/kernel/uevent_helper", "/sys/kernel/uevent_helper");
	try_open_write("write-/sys/fs/cgroup", "/sys/fs/cgroup/cgroup.procs");
	try_devices();
	try_kernel_ifaces();
	try_handles();
	try_caps();
	in_child(chroot_breakout);
	in_child(unshare_user);
	in_child(unshare_mount);
	in_child(setns_target);
	if (host_pid) {
		try_host_process(host_pid);
		setns_pid = host_pid;
		in_child(setns_target);
	}
	try_network(port);
	printf("%d allowed\n", allowed_count);
	return allowed_count ? 1 : 0;
}
