/* The last step of a box's setup: no capabilities, no_new_privs, and a seccomp deny-list.
 *
 * The deny-list (sbn_denied_syscalls) blocks, with EPERM, what a process with no capabilities
 * should never reach anyway, as a second wall in case a capability check has a hole:
 *  - changing the filesystem view: mount, umount2, pivot_root, chroot, the new mount API (fsopen,
 *    fsconfig, fsmount, fspick, move_mount, open_tree, mount_setattr), open_by_handle_at and
 *    name_to_handle_at (file handles bypass path-based confinement);
 *  - new or other namespaces: unshare, setns, and clone with any CLONE_NEW* flag; clone3 gets ENOSYS
 *    because its flags live in memory a filter cannot read, and libc falls back to clone;
 *  - the kernel itself: init_module, finit_module, delete_module, kexec_load, kexec_file_load,
 *    reboot, swapon, swapoff, syslog, acct, quotactl, iopl, ioperm, the clocks (settimeofday,
 *    clock_settime, clock_adjtime, adjtimex);
 *  - large attack surfaces a benchmark workload does not need: bpf, perf_event_open, userfaultfd,
 *    keyctl/add_key/request_key (the keyring is not namespaced), io_uring_*, fanotify_init,
 *    lookup_dcookie, kcmp, uselib, vhangup;
 *  - other processes' memory: ptrace, process_vm_readv/writev, pidfd_getfd;
 *  - terminal input injection: ioctl(TIOCSTI) and ioctl(TIOCLINUX).
 * Syscalls of other ABIs (i386, x32) hit libseccomp's bad-arch action and kill the process. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "native/native_int.h"

const char *const sbn_denied_syscalls[] = {
	"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
	"move_mount", "open_tree", "mount_setattr", "open_by_handle_at", "name_to_handle_at",
	"unshare", "setns",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
	"swapon", "swapoff", "syslog", "acct", "quotactl", "quotactl_fd", "iopl", "ioperm",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init", "lookup_dcookie",
	"kcmp", "uselib", "vhangup",
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	NULL,
};

static struct sock_filter *filter;
static unsigned short filter_len;
static int cap_last = -1;

static int add_rules(scmp_filter_ctx ctx)
{
	for (size_t i = 0; sbn_denied_syscalls[i]; i++) {
		int nr = seccomp_syscall_resolve_name(sbn_denied_syscalls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this kernel/arch: nothing to deny */
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (rc < 0)
			return rc;
	}
	static const unsigned long ns_flags[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
						  CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, 0x00000080 /* CLONE_NEWTIME */};
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
					  SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
		if (rc < 0)
			return rc;
	}
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc < 0)
		return rc;
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
			      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
	if (rc < 0)
		return rc;
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
}

int sbn_seccomp_prepare(struct sb_error *err)
{
	if (filter)
		return 0;
	if (cap_last < 0) {
		FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
		if (!f || fscanf(f, "%d", &cap_last) != 1)
			cap_last = 40;
		if (f)
			fclose(f);
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return sb_error_set(err, ENOMEM, "seccomp_init failed");
	/* We set no_new_privs ourselves, right before loading. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	int rc = add_rules(ctx);
	int fd = -1;
	if (rc == 0) {
		fd = memfd_create("sbn-seccomp", MFD_CLOEXEC);
		if (fd < 0)
			rc = -errno;
	}
	if (rc == 0)
		rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return sb_error_set(err, -rc, "building the seccomp filter: %s", strerror(-rc));
	}
	off_t size = lseek(fd, 0, SEEK_END);
	struct sock_filter *buf = size > 0 ? malloc((size_t)size) : NULL;
	if (!buf || pread(fd, buf, (size_t)size, 0) != size) {
		free(buf);
		close(fd);
		return sb_error_set(err, EIO, "reading the exported seccomp filter back");
	}
	close(fd);
	filter = buf;
	filter_len = (unsigned short)((size_t)size / sizeof(struct sock_filter));
	return 0;
}

int sbn_lockdown(void)
{
	/* Bounding set first: it needs CAP_SETPCAP, which the capset below takes away. Without a
	 * bounding set, exec of anything (even setuid root) can never give capabilities back. */
	for (int c = 0; c <= cap_last; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (!filter)
		return -EINVAL;
	struct sock_fprog prog = {.len = filter_len, .filter = filter};
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
	return 0;
}
