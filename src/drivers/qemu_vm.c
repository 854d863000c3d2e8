/* A QEMU microVM process; contract in qemu_vm.h. */
#include "drivers/qemu_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/signals.h"
#include "core/util.h"
#include "drivers/runtime_util.h"

/* ---- vm.conf ---- */

int qvm_conf_save(const struct qvm_conf *c, const char *path, struct sb_error *err)
{
	char text[16384];
	int n = snprintf(text, sizeof(text),
			 "bin=%s\naccel=%s\ntb_size_mb=%u\nhugepages=%d\nacpi=%d\nkernel=%s\nkernel_kind=%s\n"
			 "initrd=%s\nappend=%s\nmem_mb=%u\nports=%u\nports_live=%u\ndisk_bytes=%llu\n"
			 "disk_template=%s\nnet=%d\nfwd=%s\n",
			 c->bin, c->accel, c->tb_size_mb, c->hugepages ? 1 : 0, c->acpi ? 1 : 0, c->kernel,
			 c->kernel_kind, c->initrd, c->append, c->mem_mb, c->ports, c->ports_live,
			 (unsigned long long)c->disk_bytes, c->disk_template, c->net ? 1 : 0, c->fwd);
	if (n < 0 || n >= (int)sizeof(text))
		return sb_error_set(err, ENAMETOOLONG, "VM configuration too long");
	return sb_write_file_atomic(path, text, (size_t)n, err);
}

int qvm_conf_load(struct qvm_conf *c, const char *path, struct sb_error *err)
{
	char *text = NULL, v[64];
	memset(c, 0, sizeof(*c));
	int rc = sb_read_file(path, &text, NULL, err);
	if (rc < 0)
		return rc;
	bool ok = sb_rt_kv(text, "bin", c->bin, sizeof(c->bin)) &&
		  sb_rt_kv(text, "accel", c->accel, sizeof(c->accel)) &&
		  sb_rt_kv(text, "kernel", c->kernel, sizeof(c->kernel)) &&
		  sb_rt_kv(text, "initrd", c->initrd, sizeof(c->initrd)) &&
		  sb_rt_kv(text, "append", c->append, sizeof(c->append));
	sb_rt_kv(text, "kernel_kind", c->kernel_kind, sizeof(c->kernel_kind));
	sb_rt_kv(text, "disk_template", c->disk_template, sizeof(c->disk_template));
	sb_rt_kv(text, "fwd", c->fwd, sizeof(c->fwd));
	if (sb_rt_kv(text, "mem_mb", v, sizeof(v)))
		c->mem_mb = (unsigned)strtoul(v, NULL, 10);
	if (sb_rt_kv(text, "ports", v, sizeof(v)))
		c->ports = (unsigned)strtoul(v, NULL, 10);
	if (sb_rt_kv(text, "ports_live", v, sizeof(v)))
		c->ports_live = (unsigned)strtoul(v, NULL, 10);
	if (sb_rt_kv(text, "tb_size_mb", v, sizeof(v)))
		c->tb_size_mb = (unsigned)strtoul(v, NULL, 10);
	if (sb_rt_kv(text, "hugepages", v, sizeof(v)))
		c->hugepages = strcmp(v, "1") == 0;
	if (sb_rt_kv(text, "acpi", v, sizeof(v)))
		c->acpi = strcmp(v, "1") == 0;
	if (sb_rt_kv(text, "disk_bytes", v, sizeof(v)))
		c->disk_bytes = strtoull(v, NULL, 10);
	if (sb_rt_kv(text, "net", v, sizeof(v)))
		c->net = strcmp(v, "1") == 0;
	free(text);
	if (!ok || !c->mem_mb || c->ports > QVM_MAX_PORTS || c->ports_live > c->ports)
		return sb_error_set(err, EINVAL, "%s is not a complete VM configuration", path);
	return 0;
}

/* ---- host helpers ---- */

unsigned long qvm_host_tsc_khz(void)
{
	char *text = NULL;
	if (sb_read_file("/proc/cpuinfo", &text, NULL, NULL) < 0)
		return 0;
	const char *p = strstr(text, "cpu MHz");
	double mhz = 0;
	if (p && (p = strchr(p, ':')))
		mhz = strtod(p + 1, NULL);
	free(text);
	return mhz > 0 ? (unsigned long)(mhz * 1000.0) : 0;
}

int qvm_copy_sparse(const char *from, const char *to, struct sb_error *err)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return sb_error_set(err, errno, "open %s: %s", from, strerror(errno));
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct stat st;
	int rc = out < 0 || fstat(in, &st) < 0 ? -errno : 0;
	if (rc == 0 && ftruncate(out, st.st_size) < 0)
		rc = -errno;
	off_t pos = 0;
	while (rc == 0 && pos < st.st_size) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0)
			break; /* only a hole is left */
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		off_t o_in = data, o_out = data;
		while (rc == 0 && o_in < hole) {
			ssize_t n = copy_file_range(in, &o_in, out, &o_out, (size_t)(hole - o_in), 0);
			if (n <= 0)
				rc = n < 0 ? -errno : -EIO;
		}
		pos = hole;
	}
	close(in);
	if (out >= 0)
		close(out);
	if (rc < 0) {
		unlink(to);
		return sb_error_set(err, -rc, "copying %s to %s: %s", from, to, strerror(-rc));
	}
	return 0;
}

/* ---- console ---- */

void qvm_pump_console(struct qvm *vm)
{
	char buf[4096];
	while (vm->console_fd >= 0) {
		ssize_t n = read(vm->console_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0) { /* QEMU exited */
				close(vm->console_fd);
				vm->console_fd = -1;
			}
			return;
		}
		if (!vm->t_console)
			vm->t_console = sb_now_ns();
		size_t keep = sizeof(vm->tail);
		if ((size_t)n >= keep) {
			memcpy(vm->tail, buf + n - keep, keep);
			vm->tail_len = keep;
		} else {
			if (vm->tail_len + (size_t)n > keep) {
				size_t drop = vm->tail_len + (size_t)n - keep;
				memmove(vm->tail, vm->tail + drop, vm->tail_len - drop);
				vm->tail_len -= drop;
			}
			memcpy(vm->tail + vm->tail_len, buf, (size_t)n);
			vm->tail_len += (size_t)n;
		}
	}
}

void qvm_console_last(const struct qvm *vm, char *out, size_t len)
{
	size_t end = vm->tail_len;
	/* A panic or the agent's fatal line says more than whatever came last. */
	static const char *const keys[] = {"Kernel panic", "sandbench-agent init: fatal"};
	for (size_t k = 0; k < 2; k++) {
		const char *hit = memmem(vm->tail, vm->tail_len, keys[k], strlen(keys[k]));
		if (hit) {
			const char *nl = memchr(hit, '\n', vm->tail_len - (size_t)(hit - vm->tail));
			end = nl ? (size_t)(nl - vm->tail) : vm->tail_len;
			break;
		}
	}
	while (end > 0 && (vm->tail[end - 1] == '\n' || vm->tail[end - 1] == '\r' || vm->tail[end - 1] == ' '))
		end--;
	size_t start = end;
	while (start > 0 && vm->tail[start - 1] != '\n')
		start--;
	size_t o = 0;
	for (size_t i = start; i < end && o + 1 < len; i++)
		out[o++] = vm->tail[i] >= 32 && vm->tail[i] < 127 ? vm->tail[i] : '?';
	out[o] = '\0';
}

/* ---- sockets ---- */

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

bool qvm_alive(struct qvm *vm)
{
	if (vm->pid <= 0)
		return false;
	int st;
	if (waitpid(vm->pid, &st, WNOHANG) == vm->pid) {
		vm->pid = 0;
		return false;
	}
	return true;
}

/* QEMU exited or the deadline passed while starting: say why in one line. */
static int start_failure(struct qvm *vm, int code, const char *what, struct sb_error *err)
{
	char log[512] = "", path[300], con[300];
	snprintf(path, sizeof(path), "%s/qemu.log", vm->dir);
	char *text = NULL;
	/* QEMU's first line that is not a warning (CPUID warnings under TCG are harmless). */
	if (sb_read_file(path, &text, NULL, NULL) == 0 && text) {
		for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			if (!strstr(l, "warning:")) {
				snprintf(log, sizeof(log), "%s", l);
				break;
			}
		}
	}
	free(text);
	qvm_pump_console(vm);
	qvm_console_last(vm, con, sizeof(con));
	if (log[0])
		return sb_error_set(err, code, "qemu: %s: %s", what, log);
	return sb_error_set(err, code, "qemu: %s%s%s", what, con[0] ? "; console: " : " (console silent)", con);
}

/* ---- QMP ---- */

/* Read one line (up to \n) from fd into buf. */
static int read_line(struct qvm *vm, int fd, char *buf, size_t cap, int64_t deadline_ns,
		     struct sb_error *err)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = recv(fd, buf + n, 1, 0);
		if (r == 1) {
			if (buf[n] == '\n') {
				buf[n] = '\0';
				return 0;
			}
			if (++n >= cap - 1)
				return sb_error_set(err, E2BIG, "qmp: reply too long");
			continue;
		}
		if (r == 0)
			return sb_error_set(err, EPIPE, "qmp: QEMU closed its monitor");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return sb_error_set(err, errno, "qmp: %s", strerror(errno));
		if (sb_interrupted())
			return sb_error_set(err, EINTR, "qmp: interrupted");
		if (sb_deadline_passed(deadline_ns))
			return sb_error_set(err, ETIMEDOUT, "qmp: no reply before the deadline");
		qvm_pump_console(vm);
		struct pollfd p = { fd, POLLIN, 0 };
		int left = sb_deadline_left_ms(deadline_ns);
		poll(&p, 1, left < 0 || left > 50 ? 50 : left);
	}
}

static int qmp_connect(struct qvm *vm, int64_t deadline_ns, struct sb_error *err)
{
	char path[300], line[4096];
	snprintf(path, sizeof(path), "%s/qmp.sock", vm->dir);
	int fd;
	while ((fd = unix_connect(path)) < 0) {
		if (!qvm_alive(vm))
			return start_failure(vm, EIO, "exited before its monitor was up", err);
		if (sb_deadline_passed(deadline_ns) || sb_interrupted())
			return sb_error_set(err, ETIMEDOUT, "qmp: monitor socket never came up");
		usleep(1000);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	vm->qmp_fd = fd;
	int rc = read_line(vm, fd, line, sizeof(line), deadline_ns, err); /* greeting */
	if (rc == 0)
		rc = qvm_qmp(vm, "{\"execute\":\"qmp_capabilities\"}", NULL, deadline_ns, err);
	return rc;
}

int qvm_qmp(struct qvm *vm, const char *cmd, char **ret, int64_t deadline_ns, struct sb_error *err)
{
	if (ret)
		*ret = NULL;
	if (vm->qmp_fd < 0) {
		int rc = qmp_connect(vm, deadline_ns, err);
		if (rc < 0)
			return rc;
	}
	size_t len = strlen(cmd);
	if (send(vm->qmp_fd, cmd, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    send(vm->qmp_fd, "\n", 1, MSG_NOSIGNAL) != 1)
		return sb_error_set(err, errno ? errno : EIO, "qmp: send: %s", strerror(errno));
	/* Per call, not static: boxes of one run may be driven from several threads. */
	size_t cap = 1 << 16;
	char *line = malloc(cap);
	if (!line)
		return sb_error_set(err, ENOMEM, "out of memory");
	int rc;
	for (;;) {
		rc = read_line(vm, vm->qmp_fd, line, cap, deadline_ns, err);
		if (rc < 0)
			break;
		json_t *j = json_loads(line, 0, NULL);
		if (!j) {
			rc = sb_error_set(err, EPROTO, "qmp: unparsable reply");
			break;
		}
		json_t *r = json_object_get(j, "return"), *e = json_object_get(j, "error");
		if (e) {
			const char *desc = json_string_value(json_object_get(e, "desc"));
			rc = sb_error_set(err, EIO, "qmp: %s", desc ? desc : "error");
			json_decref(j);
			break;
		}
		if (r) {
			if (ret)
				*ret = json_dumps(r, JSON_COMPACT);
			json_decref(j);
			rc = 0;
			break;
		}
		json_decref(j); /* an event */
	}
	free(line);
	return rc;
}

/* ---- start ---- */

/* Port numbers are fixed (the control port 1, sb.aK K+1) so a restored VM's ports match the
 * saved ones whatever order they were added in. */
static void add_port(struct sb_argv *a, const char *dir, const char *id, const char *name, unsigned nr)
{
	sb_argv_add(a, "-chardev");
	sb_argv_addf(a, "socket,id=%s,path=%s/%s.sock,server=on,wait=off", id, dir, id);
	sb_argv_add(a, "-device");
	sb_argv_addf(a, "virtserialport,bus=vser.0,chardev=%s,name=%s,nr=%u,id=p%s", id, name, nr, id);
}

void qvm_build_argv(const struct qvm *vm, const char *restore_from, struct sb_argv *a)
{
	const struct qvm_conf *c = &vm->conf;
	sb_argv_add(a, c->bin);
	/* Without ACPI QEMU lists the virtio-mmio devices on the kernel command line (the minimal
	 * kernel has no ACPI); Debian's kernel finds them only in microvm's ACPI tables. */
	sb_argv_add(a, "-M");
	sb_argv_add(a, c->acpi ? "microvm,acpi=on" : "microvm,acpi=off");
	const char *fixed[] = {"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-smp", "1", NULL};
	sb_argv_add_all(a, fixed);
	sb_argv_add(a, "-accel");
	if (strcmp(c->accel, "tcg") == 0 && c->tb_size_mb)
		sb_argv_addf(a, "tcg,tb-size=%u", c->tb_size_mb);
	else
		sb_argv_add(a, c->accel);
	sb_argv_add(a, "-m");
	sb_argv_addf(a, "%uM", c->mem_mb);
	/* Names the process for doctor and ps. */
	sb_argv_add(a, "-name");
	sb_argv_addf(a, "sandbench-%s", vm->name);
	sb_argv_add(a, "-kernel");
	sb_argv_add(a, c->kernel);
	sb_argv_add(a, "-initrd");
	sb_argv_add(a, c->initrd);
	sb_argv_add(a, "-append");
	sb_argv_add(a, c->append);
	const char *con[] = {"-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con", NULL};
	sb_argv_add_all(a, con);
	sb_argv_add(a, "-qmp");
	sb_argv_addf(a, "unix:%s/qmp.sock,server=on,wait=off", vm->dir);
	/* Room for every agent port, but only the control port (and on a restore the ports the VM
	 * had) now: the guest gives each port 1024 receive buffers of 4 KiB (virtio-mmio offers
	 * QEMU's largest queue), so an unused port would cost 4 MiB of resident memory. The rest
	 * are added when first wanted (qvm_open_port). */
	sb_argv_add(a, "-device");
	sb_argv_addf(a, "virtio-serial-device,id=vser,max_ports=%u", c->ports + 2); /* port 0 is the console's */
	add_port(a, vm->dir, "ctl", "sb.ctl", 1);
	for (unsigned i = 1; i <= c->ports_live; i++) {
		char id[16], name[16];
		snprintf(id, sizeof(id), "a%u", i);
		snprintf(name, sizeof(name), "sb.a%u", i);
		add_port(a, vm->dir, id, name, i + 1);
	}
	if (c->disk_bytes) {
		sb_argv_add(a, "-drive");
		sb_argv_addf(a, "id=d0,file=%s/disk.img,format=raw,if=none", vm->dir);
		sb_argv_add(a, "-device");
		sb_argv_add(a, "virtio-blk-device,drive=d0");
	}
	if (c->net) {
		/* restrict=on: the guest reaches nothing beyond the emulator's own stack; forwards
		 * listen on the host's loopback only. */
		char fwd[1024] = "", spec[256];
		snprintf(spec, sizeof(spec), "%s", c->fwd);
		for (char *save = NULL, *f = strtok_r(spec, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
			unsigned hp, gp;
			if (sscanf(f, "%u:%u", &hp, &gp) == 2)
				snprintf(fwd + strlen(fwd), sizeof(fwd) - strlen(fwd),
					 ",hostfwd=tcp:127.0.0.1:%u-:%u", hp, gp);
		}
		sb_argv_add(a, "-netdev");
		sb_argv_addf(a, "user,id=n0,restrict=on%s", fwd);
		sb_argv_add(a, "-device");
		sb_argv_add(a, "virtio-net-device,netdev=n0");
	}
	if (restore_from) {
		/* QEMU 7.2 has no file: migration URI; exec: runs a shell command. */
		char q[4400] = "'";
		size_t o = 1;
		for (const char *p = restore_from; *p && o + 5 < sizeof(q); p++) {
			if (*p == '\'') {
				memcpy(q + o, "'\\''", 4);
				o += 4;
			} else {
				q[o++] = *p;
			}
		}
		q[o++] = '\'';
		q[o] = '\0';
		sb_argv_add(a, "-incoming");
		sb_argv_addf(a, "exec:cat %s", q);
	}
}

/* fork + exec rather than posix_spawn, so that the child can turn transparent huge pages off
 * for itself before exec (PR_SET_THP_DISABLE marks the address space and survives exec; a
 * vfork child shares sandbench's, so posix_spawn cannot). QEMU asks for huge pages on all guest
 * RAM and its translation cache, and each guest page touched then makes 2 MiB resident: ~12
 * MiB more for an idle 128 MiB guest here. The child only calls async-signal-safe functions. */
static int spawn_qemu(const char *const *argv, int out_fd, int err_fd, bool hugepages, pid_t *pid,
		      struct sb_error *err)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return sb_error_set(err, errno, "/dev/null: %s", strerror(errno));
	if (out_fd < 0)
		out_fd = devnull;
	if (err_fd < 0)
		err_fd = devnull;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t p = fork();
	if (p == 0) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &dfl, NULL);
		setpgid(0, 0);
		if (!hugepages)
			prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		if (dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(argv[0], (char *const *)argv, environ);
		_exit(127);
	}
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(devnull);
	if (p < 0)
		return sb_error_set(err, e, "cannot start %s: %s", argv[0], strerror(e));
	*pid = p;
	return 0;
}

/* Connect the control port and wait for the agent's first answer. */
static int wait_agent(struct qvm *vm, int64_t deadline_ns, struct sb_error *err)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/ctl.sock", vm->dir);
	int fd;
	for (;;) {
		qvm_pump_console(vm);
		fd = unix_connect(path);
		if (fd >= 0)
			break;
		if (!qvm_alive(vm))
			return start_failure(vm, EIO, "exited while starting", err);
		if (sb_interrupted())
			return sb_error_set(err, EINTR, "qemu: interrupted while starting");
		if (sb_deadline_passed(deadline_ns))
			return start_failure(vm, ETIMEDOUT, "control socket never came up", err);
		usleep(500);
	}
	vm->ctl_fd = fd;
	int rc = sb_agent_open(fd, fd, &vm->ctl, err);
	if (rc < 0)
		return rc;
	uint32_t id = sb_agent_next_id(vm->ctl);
	rc = sb_agent_send_ping(vm->ctl, id, NULL, 0, deadline_ns, err);
	struct sb_agent_response resp;
	while (rc == 0) {
		int64_t slice = sb_deadline_min(deadline_ns, sb_now_ns() + 10 * 1000000LL);
		struct sb_error e = {0};
		rc = sb_agent_recv_id(vm->ctl, id, &resp, slice, &e);
		if (rc == 0) {
			sb_agent_response_clear(&resp);
			break;
		}
		qvm_pump_console(vm);
		if (!qvm_alive(vm))
			return start_failure(vm, EIO, "guest stopped before its agent answered", err);
		if (rc != -ETIMEDOUT) {
			/* A broken channel usually means QEMU is exiting: report its reason. */
			for (int i = 0; i < 100 && qvm_alive(vm); i++)
				usleep(2000);
			if (!qvm_alive(vm))
				return start_failure(vm, EIO, "exited while starting", err);
			return sb_error_set(err, -rc, "qemu: agent control channel: %s", e.msg);
		}
		if (sb_interrupted())
			return sb_error_set(err, EINTR, "qemu: interrupted while the guest booted");
		if (sb_deadline_passed(deadline_ns))
			return start_failure(vm, ETIMEDOUT, "guest agent did not answer before the deadline", err);
		rc = 0;
	}
	return rc;
}

int qvm_start(struct qvm *vm, const char *name, const char *restore_from, int64_t deadline_ns,
	      struct sb_error *err)
{
	vm->console_fd = vm->qmp_fd = vm->ctl_fd = -1;
	vm->pid = 0;
	vm->ports_added = vm->conf.ports_live;
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	if (snprintf(vm->dir, sizeof(vm->dir), QVM_STATE_ROOT "/%s", name) >= 90)
		return sb_error_set(err, ENAMETOOLONG, "qemu: box name '%s' too long for socket paths", name);
	if (sb_mkdir_p(vm->dir, 0700) < 0)
		return sb_error_set(err, errno, "qemu: mkdir %s: %s", vm->dir, strerror(errno));
	int rc = sb_rt_marker_write(vm->dir, "qemu", name, NULL, err);
	if (rc < 0)
		return rc;
	char disk[300], log[300];
	snprintf(disk, sizeof(disk), "%s/disk.img", vm->dir);
	snprintf(log, sizeof(log), "%s/qemu.log", vm->dir);
	if (vm->conf.disk_bytes && vm->conf.disk_template[0] &&
	    (rc = qvm_copy_sparse(vm->conf.disk_template, disk, err)) < 0)
		return rc;
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return sb_error_set(err, errno, "pipe: %s", strerror(errno));
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	fcntl(pipefd[0], F_SETPIPE_SZ, 1 << 20);
	vm->console_fd = pipefd[0];
	int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct sb_argv a = {0};
	qvm_build_argv(vm, restore_from, &a);
	rc = sb_argv_ok(&a, err);
	vm->t_spawn = sb_now_ns();
	if (rc == 0)
		rc = spawn_qemu(sb_argv_get(&a), pipefd[1], logfd, vm->conf.hugepages, &vm->pid, err);
	sb_argv_free(&a);
	close(pipefd[1]);
	if (logfd >= 0)
		close(logfd);
	if (rc < 0)
		return rc;
	vm->pid_start = sb_rt_proc_start(vm->pid);
	char pidline[64];
	int n = snprintf(pidline, sizeof(pidline), "%d %llu\n", (int)vm->pid, vm->pid_start);
	char pidfile[300];
	snprintf(pidfile, sizeof(pidfile), "%s/qemu.pid", vm->dir);
	rc = sb_write_file_atomic(pidfile, pidline, (size_t)n, err);
	if (rc == 0)
		rc = wait_agent(vm, deadline_ns, err);
	if (rc == 0)
		vm->t_ready = sb_now_ns();
	return rc;
}

/* ---- ports ---- */

/* Whether the chardev `label` has a client, from a query-chardev reply. */
static int port_state(json_t *list, const char *label)
{
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c) {
		const char *l = json_string_value(json_object_get(c, "label"));
		const char *f = json_string_value(json_object_get(c, "filename"));
		if (l && f && strcmp(l, label) == 0)
			return strncmp(f, "disconnected:", 13) == 0 ? 0 : 1;
	}
	return -1;
}

static int query_ports(struct qvm *vm, json_t **list, int64_t deadline_ns, struct sb_error *err)
{
	char *ret = NULL;
	int rc = qvm_qmp(vm, "{\"execute\":\"query-chardev\"}", &ret, deadline_ns, err);
	if (rc < 0)
		return rc;
	*list = json_loads(ret, 0, NULL);
	free(ret);
	return *list ? 0 : sb_error_set(err, EPROTO, "qmp: bad query-chardev reply");
}

/* Add port sb.aN (N = ports_added + 1) to the running VM: its socket chardev, then the port.
 * The guest's init sees the port appear (a uevent) and starts a server on it. */
static int hot_add_port(struct qvm *vm, int64_t deadline_ns, struct sb_error *err)
{
	unsigned k = vm->ports_added + 1;
	char id[16], name[16], dev[16], path[300];
	snprintf(id, sizeof(id), "a%u", k);
	snprintf(name, sizeof(name), "sb.a%u", k);
	snprintf(dev, sizeof(dev), "pa%u", k);
	snprintf(path, sizeof(path), "%s/%s.sock", vm->dir, id);
	json_t *chardev = json_pack("{s:s, s:{s:s, s:{s:s, s:{s:{s:s, s:{s:s}}, s:b, s:b}}}}", "execute", "chardev-add",
				    "arguments", "id", id, "backend", "type", "socket", "data", "addr", "type", "unix",
				    "data", "path", path, "server", 1, "wait", 0);
	json_t *device = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:i, s:s}}", "execute", "device_add", "arguments",
				   "driver", "virtserialport", "bus", "vser.0", "chardev", id, "name", name, "nr",
				   (int)k + 1, "id", dev);
	char *c1 = chardev ? json_dumps(chardev, JSON_COMPACT) : NULL, *c2 = device ? json_dumps(device, JSON_COMPACT) : NULL;
	json_decref(chardev);
	json_decref(device);
	int rc = c1 && c2 ? 0 : sb_error_set(err, ENOMEM, "out of memory");
	if (rc == 0 && (rc = qvm_qmp(vm, c1, NULL, deadline_ns, err)) == 0 &&
	    (rc = qvm_qmp(vm, c2, NULL, deadline_ns, err)) < 0) {
		/* The port did not come: the chardev goes again, so a later try can reuse its id. */
		struct sb_error e = {0};
		char rm[128];
		snprintf(rm, sizeof(rm), "{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"%s\"}}", id);
		qvm_qmp(vm, rm, NULL, sb_deadline_after(2), &e);
	}
	free(c1);
	free(c2);
	if (rc < 0)
		return sb_error_prefix(err, "qemu: adding agent port %u", k);
	vm->ports_added = k;
	return 0;
}

int qvm_open_port(struct qvm *vm, int64_t deadline_ns, struct sb_error *err)
{
	if (vm->conf.ports == 0)
		return sb_error_set(err, ENOTSUP, "qemu: this VM has no agent ports (ports=0)");
	for (;;) {
		json_t *list;
		int rc = query_ports(vm, &list, deadline_ns, err);
		if (rc < 0)
			return rc;
		unsigned free_port = 0;
		for (unsigned k = 1; k <= vm->ports_added && !free_port; k++) {
			char label[16];
			snprintf(label, sizeof(label), "a%u", k);
			if (port_state(list, label) == 0)
				free_port = k;
		}
		json_decref(list);
		if (!free_port && vm->ports_added < vm->conf.ports) {
			if ((rc = hot_add_port(vm, deadline_ns, err)) < 0)
				return rc;
			free_port = vm->ports_added;
		}
		if (free_port) {
			char label[16], path[300];
			snprintf(label, sizeof(label), "a%u", free_port);
			snprintf(path, sizeof(path), "%s/%s.sock", vm->dir, label);
			int fd = unix_connect(path);
			if (fd >= 0) {
				/* Return once QEMU has accepted us: until then the port still looks free,
				 * and a second open must not queue behind this one. */
				while ((rc = query_ports(vm, &list, deadline_ns, err)) == 0) {
					int st = port_state(list, label);
					json_decref(list);
					if (st == 1)
						return fd;
					if (sb_deadline_passed(deadline_ns)) {
						rc = sb_error_set(err, ETIMEDOUT, "qemu: port %s not accepted", label);
						break;
					}
					usleep(200);
				}
				close(fd);
				return rc;
			}
		}
		if (sb_interrupted())
			return sb_error_set(err, EINTR, "qemu: interrupted");
		if (sb_deadline_passed(deadline_ns))
			return sb_error_set(err, EBUSY, "qemu: all %u agent ports are in use (param ports=)",
					    vm->conf.ports);
		usleep(2000);
	}
}

/* ---- teardown ---- */

static bool wait_exit(struct qvm *vm, int64_t deadline_ns)
{
	while (qvm_alive(vm)) {
		qvm_pump_console(vm);
		if (sb_deadline_passed(deadline_ns))
			return false;
		usleep(1000);
	}
	return true;
}

void qvm_kill(struct qvm *vm)
{
	if (vm->pid > 0 && qvm_alive(vm)) {
		kill(vm->pid, SIGKILL);
		while (waitpid(vm->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	vm->pid = 0;
	sb_agent_free(vm->ctl);
	vm->ctl = NULL;
	int *fds[] = {&vm->ctl_fd, &vm->qmp_fd, &vm->console_fd};
	for (size_t i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int qvm_stop(struct qvm *vm, int64_t deadline_ns, struct sb_error *err)
{
	if (vm->ctl && qvm_alive(vm)) {
		struct sb_error e = {0};
		if (sb_agent_poweroff(vm->ctl, sb_deadline_min(deadline_ns, sb_deadline_after(3)), &e) == 0)
			wait_exit(vm, sb_deadline_min(deadline_ns, sb_deadline_after(3)));
	}
	if (qvm_alive(vm)) {
		struct sb_error e = {0};
		if (qvm_qmp(vm, "{\"execute\":\"quit\"}", NULL, sb_deadline_min(deadline_ns, sb_deadline_after(2)), &e) == 0 ||
		    e.code == EPIPE)
			wait_exit(vm, sb_deadline_min(deadline_ns, sb_deadline_after(2)));
	}
	bool forced = qvm_alive(vm);
	qvm_kill(vm);
	if (forced && sb_deadline_passed(deadline_ns))
		return sb_error_set(err, ETIMEDOUT, "qemu: VM %s did not stop before the deadline (killed)", vm->name);
	return 0;
}

void qvm_remove(struct qvm *vm)
{
	if (vm->dir[0])
		sb_rm_rf(vm->dir);
}
