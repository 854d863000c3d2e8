/* One QEMU microVM process for the qemu driver: its command line, start, the console pipe
 * (first byte and the last lines, for error messages), the agent's control channel, the
 * extra agent ports, QMP, and teardown. Everything a VM owns lives in its state directory
 * /run/sandbench/qemu/<box> (sockets, the QEMU log, the scratch disk), marked for doctor. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/client.h"
#include "core/error.h"

#define QVM_STATE_ROOT "/run/sandbench/qemu"
#define QVM_MAX_PORTS 30 /* agent ports besides the control port (virtio-serial allows 31) */

/* Everything that must be identical between a VM and one restored from its snapshot, saved
 * as key=value lines (vm.conf). */
struct qvm_conf {
	char bin[1024];      /* qemu-system-x86_64 */
	char accel[8];       /* kvm | tcg */
	unsigned tb_size_mb; /* TCG translation cache, 0 = QEMU's default */
	bool hugepages;      /* let QEMU's memory use transparent huge pages */
	bool acpi;           /* microvm's ACPI tables (else virtio-mmio devices on the command line) */
	char kernel[4200];   /* vmlinux */
	char kernel_kind[16];
	char initrd[4200];
	char append[1024];   /* kernel command line */
	unsigned mem_mb;
	unsigned ports;      /* most agent ports besides the control port (added when first wanted) */
	unsigned ports_live; /* agent ports on the command line (a restore: those the VM had) */
	uint64_t disk_bytes; /* scratch disk size, 0 = none */
	char disk_template[4200]; /* ext4 image copied per box ("" = none) */
	bool net;            /* user-mode network */
	char fwd[256];       /* hostfwd list "HOSTPORT:GUESTPORT,..." on 127.0.0.1 */
};

struct qvm {
	struct qvm_conf conf;
	char name[96];
	char dir[256];
	pid_t pid;
	unsigned long long pid_start;
	int console_fd;           /* QEMU's stdout: the guest's serial console */
	char tail[2048];          /* last console bytes */
	size_t tail_len;
	int qmp_fd;
	int ctl_fd;               /* the agent's control port */
	struct sb_agent *ctl;
	unsigned ports_added;     /* agent ports sb.a1.. the VM has now */
	int64_t t_spawn, t_console, t_ready, t_first_exec; /* host CLOCK_MONOTONIC, 0 = not yet */
	bool first_exec_done;
};

int qvm_conf_save(const struct qvm_conf *c, const char *path, struct sb_error *err);
int qvm_conf_load(struct qvm_conf *c, const char *path, struct sb_error *err);
/* QEMU's command line for vm (its conf, name and state dir), restoring from the migration stream
 * restore_from when not NULL. */
struct sb_argv;
void qvm_build_argv(const struct qvm *vm, const char *restore_from, struct sb_argv *a);

/* Make the state dir, start QEMU (restore_from: a snapshot's migration stream, or NULL), wait
 * until the agent answers on the control port. On failure everything is torn down and err
 * says why, with the console's last line or QEMU's own error. */
int qvm_start(struct qvm *vm, const char *name, const char *restore_from, int64_t deadline_ns,
              struct sb_error *err);
/* Drain the console pipe without blocking (call now and then: a full pipe stalls the guest). */
void qvm_pump_console(struct qvm *vm);
/* The last console line (for error messages). */
void qvm_console_last(const struct qvm *vm, char *out, size_t len);
/* Connect to one free agent port (a port whose socket has no client, per QMP), adding a port
 * to the running VM when all it has are taken and it may have more: the fd. */
int qvm_open_port(struct qvm *vm, int64_t deadline_ns, struct sb_error *err);
/* One QMP command (JSON text); *ret (may be NULL) gets the "return" member's JSON text. */
int qvm_qmp(struct qvm *vm, const char *cmd, char **ret, int64_t deadline_ns, struct sb_error *err);
/* Graceful: agent poweroff, then QMP quit, then SIGKILL, each bounded. */
int qvm_stop(struct qvm *vm, int64_t deadline_ns, struct sb_error *err);
/* SIGKILL and reap QEMU, close every fd. Idempotent. */
void qvm_kill(struct qvm *vm);
/* Remove the state dir (after qvm_kill). */
void qvm_remove(struct qvm *vm);
bool qvm_alive(struct qvm *vm);

/* Host kHz of the TSC for tsc_early_khz (0 when unknown). */
unsigned long qvm_host_tsc_khz(void);
/* Copy a file keeping holes (scratch disks are mostly empty). */
int qvm_copy_sparse(const char *from, const char *to, struct sb_error *err);
