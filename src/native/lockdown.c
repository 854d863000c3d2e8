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
#include <stdbool.h>
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

/* The deny-list goes in as two filters (seccomp stacks them; a syscall must pass both): the
 * main one, loaded before the box waits for the host's GO, holds everything but setns and
 * unshare, which the box still needs right after GO; the second one holds those two. Loading a
 * filter is dear (~80 us here: the kernel translates and JIT-compiles it and precomputes, for
 * every syscall number, whether the filter always allows it), and the main filter's cost then
 * overlaps with the host making the network namespace instead of adding to the box's start. */
struct prog {
	struct sock_filter *insns;
	unsigned short len;
};
static struct prog main_filter, ns_filter;
static int cap_last = -1;

static bool is_late(const char *name)
{
	return strcmp(name, "setns") == 0 || strcmp(name, "unshare") == 0;
}

static int add_rules(scmp_filter_ctx ctx, bool late)
{
	for (size_t i = 0; sbn_denied_syscalls[i]; i++) {
		if (is_late(sbn_denied_syscalls[i]) != late)
			continue;
		int nr = seccomp_syscall_resolve_name(sbn_denied_syscalls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this kernel/arch: nothing to deny */
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (rc < 0)
			return rc;
	}
	if (late)
		return 0;
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

/* Build one filter with libseccomp and keep its BPF (the box child must not allocate). */
static int build(bool late, struct prog *out)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* We set no_new_privs ourselves, before loading. A binary tree of syscall numbers rather
	 * than a list: fewer instructions run per syscall, and the kernel's per-syscall precompute
	 * at load time (see above) walks a few branches instead of the whole list (~40 us less). */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	int rc = add_rules(ctx, late);
	int fd = -1;
	if (rc == 0 && (fd = memfd_create("sbn-seccomp", MFD_CLOEXEC)) < 0)
		rc = -errno;
	if (rc == 0)
		rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	struct sock_filter *buf = size > 0 ? malloc((size_t)size) : NULL;
	if (!buf || pread(fd, buf, (size_t)size, 0) != size) {
		free(buf);
		close(fd);
		return -EIO;
	}
	close(fd);
	out->insns = buf;
	out->len = (unsigned short)((size_t)size / sizeof(struct sock_filter));
	return 0;
}

int sbn_seccomp_prepare(struct sb_error *err)
{
	if (main_filter.insns && ns_filter.insns)
		return 0;
	if (cap_last < 0) {
		FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
		if (!f || fscanf(f, "%d", &cap_last) != 1)
			cap_last = 40;
		if (f)
			fclose(f);
	}
	int rc = main_filter.insns ? 0 : build(false, &main_filter);
	if (rc == 0 && !ns_filter.insns)
		rc = build(true, &ns_filter);
	if (rc < 0)
		return sb_error_set(err, -rc, "building the seccomp filter: %s", strerror(-rc));
	return 0;
}

static int load(const struct prog *p)
{
	if (!p->insns)
		return -EINVAL;
	struct sock_fprog prog = {.len = p->len, .filter = p->insns};
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0 ? -errno : 0;
}

int sbn_drop_bounding_set(void)
{
	/* Each drop is a new set of credentials (allocated, committed, the old one freed after an RCU
	 * grace period): only what is still there is dropped, so a box cloned by the birth helper,
	 * which emptied its own bounding set once, pays for 41 reads instead of 41 drops. */
	int last = cap_last >= 0 ? cap_last : 63;
	for (int c = 0; c <= last; c++) {
		int have = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
		if (have < 0 && errno == EINVAL)
			break; /* past the kernel's last capability */
		if (have != 0 && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}

int sbn_lockdown_early(void)
{
	/* Bounding set first: it needs CAP_SETPCAP, which the capset in sbn_lockdown_late takes away.
	 * Without a bounding set, exec of anything (even setuid root) can never give capabilities
	 * back; no_new_privs makes sure of it a second time. */
	int rc = sbn_drop_bounding_set();
	if (rc < 0)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return load(&main_filter);
}

int sbn_lockdown_late(void)
{
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return load(&ns_filter);
}
