/* The `qemu` driver: each sandbox is a QEMU microVM (`-M microvm`) booting a small guest kernel
 * as an uncompressed vmlinux through PVH, with the standard rootfs as an uncompressed initramfs
 * and sandbench-agent as /init. The host talks to the agent over virtio serial ports bound to
 * unix sockets: `sb.ctl` carries exec, file copies, guest figures and poweroff for the driver;
 * `sb.a1`..`sb.aN` are handed out as agent connections (the shell pool). See docs/qemu.md.
 *
 * Accelerator: KVM when a test guest boots under it within a short deadline, else TCG (the
 * verdict is cached per QEMU binary and kernel under /run/sandbench/qemu). Every boot passes the
 * host's TSC frequency (tsc_early_khz, lpj) so the guest never calibrates against the emulated
 * PIT, where some TCG boots hang. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/util.h"
#include "drivers/driver.h"
#include "drivers/qemu_vm.h"
#include "drivers/runtime_util.h"
#include "image/image.h"
#include "image/initramfs.h"
#include "image/kernel.h"

extern const struct sb_driver sb_driver_qemu;

#define ACCEL_VERDICT QVM_STATE_ROOT "/accel-verdict"
#define KVM_TRIAL_S 3.0

static const struct sb_param_def qemu_params[] = {
	{"accel", "auto", "auto (KVM when a test guest boots under it, else TCG), kvm or tcg", "auto|kvm|tcg"},
	{"kernel", "minimal", "guest kernel: minimal or debian (sandbench image build --kernel K), or a vmlinux path", NULL},
	{"initrd", NULL, "an initramfs (uncompressed cpio) instead of the one built from the standard rootfs", NULL},
	{"mem", "128M", "guest memory", "size"},
	{"bin", NULL, "the QEMU binary: a path or a name in PATH (default: qemu-system-x86_64), e.g. another build", NULL},
	{"ports", "8", "most agent ports for connections (shell pool slots), 0 to 30; each is added when first wanted", "uint"},
	{"tb_size", "16", "TCG translation cache in MiB (0 = QEMU's default, 1 GiB reserved, ~18 MiB used by a boot)", "uint"},
	{"hugepages", "off", "on: let QEMU's memory use transparent huge pages (more resident memory per VM)", "on|off"},
	{"timer", "auto", "the guest's timer interrupts: pit (under TCG boots ~0.2 s of CPU faster), lapic (idles cheaper), auto (pit for the minimal kernel under TCG, else lapic)", "auto|pit|lapic"},
	{"append", "", "more kernel command line arguments (after the driver's own)", NULL},
	{"acpi", "auto", "auto (off for the minimal kernel, on for others), on or off: microvm's ACPI tables", "auto|on|off"},
	{"disk", "0", "size of an ext4 scratch disk (virtio-blk, raw file) mounted on /scratch; 0 = none", "size"},
	{"net", "none", "none, or user: QEMU user-mode network (restricted; forwards on 127.0.0.1 only)", "none|user"},
	{"fwd", "", "with net=user: HOSTPORT:GUESTPORT,... forwarded from 127.0.0.1 into the guest", NULL},
	{NULL, NULL, NULL, NULL},
};

struct sb_box {
	struct qvm vm;
	bool stopped;
};

/* ---- configuration ---- */

static int resolve_kernel(const struct sb_params *p, struct sb_kernel *k, struct sb_error *err)
{
	const char *kernel = sb_params_get_def(p, qemu_params, "kernel");
	if (strchr(kernel, '/')) {
		memset(k, 0, sizeof(*k));
		snprintf(k->kind, sizeof(k->kind), "path");
		snprintf(k->vmlinux, sizeof(k->vmlinux), "%s", kernel);
		snprintf(k->version, sizeof(k->version), "custom");
		struct stat st;
		if (stat(kernel, &st) < 0 || !S_ISREG(st.st_mode))
			return sb_error_set(err, ENOENT, "qemu: kernel=%s: not a file", kernel);
		return 0;
	}
	return sb_kernel_find(sb_image_default_cache_dir(), kernel, k, err);
}

/* An ext4 image of the scratch disk's size, made once with mkfs.ext4 and copied per box. */
static int disk_template(uint64_t bytes, char *out, size_t len, struct sb_error *err)
{
	const char *cache = sb_image_default_cache_dir();
	snprintf(out, len, "%s/scratch-%llu.ext4", cache, (unsigned long long)bytes);
	if (access(out, R_OK) == 0)
		return 0;
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", out, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return sb_error_set(err, e, "qemu: scratch disk %s: %s", tmp, strerror(e));
	}
	close(fd);
	const char *mkfs[] = {"mkfs.ext4", "-q", "-F", "-m", "0", tmp, NULL};
	int rc = sb_proc_check(mkfs, 60, NULL, err);
	if (rc == 0 && rename(tmp, out) < 0)
		rc = sb_error_set(err, errno, "rename %s: %s", out, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static int accel_verdict(const struct qvm_conf *base, char *accel, size_t len, char *why, size_t wlen);

/* Everything a box of these parameters boots with. */
static int resolve_conf(const struct sb_box_spec *spec, struct qvm_conf *c, struct sb_error *err)
{
	const struct sb_params *p = spec->params;
	memset(c, 0, sizeof(*c));
	if (sb_rt_binary(p, qemu_params, "qemu-system-x86_64", c->bin, sizeof(c->bin), err) < 0)
		return -ENOENT;
	uint64_t mem, ports, disk, tb;
	if (sb_params_get_size(p, "mem", 128 << 20, &mem, err) < 0 ||
	    sb_params_get_u64(p, "ports", 8, &ports, err) < 0 || sb_params_get_size(p, "disk", 0, &disk, err) < 0 ||
	    sb_params_get_u64(p, "tb_size", 16, &tb, err) < 0)
		return -EINVAL;
	if (tb > 4096)
		return sb_error_set(err, EINVAL, "qemu: tb_size=%llu: expected MiB, 0 to 4096", (unsigned long long)tb);
	c->tb_size_mb = (unsigned)tb;
	const char *huge = sb_params_get_def(p, qemu_params, "hugepages");
	if (strcmp(huge, "on") != 0 && strcmp(huge, "off") != 0)
		return sb_error_set(err, EINVAL, "qemu: hugepages must be on or off, not '%s'", huge);
	c->hugepages = strcmp(huge, "on") == 0;
	if (mem < (32u << 20) || mem > (64ull << 30))
		return sb_error_set(err, EINVAL, "qemu: mem=%s: expected 32M to 64G", sb_params_get(p, "mem"));
	if (ports > QVM_MAX_PORTS)
		return sb_error_set(err, EINVAL, "qemu: ports=%llu: at most %d", (unsigned long long)ports, QVM_MAX_PORTS);
	if (disk && disk < (8u << 20))
		return sb_error_set(err, EINVAL, "qemu: disk: at least 8M (or 0 for none)");
	c->mem_mb = (unsigned)(mem >> 20);
	c->ports = (unsigned)ports;
	c->disk_bytes = disk;
	const char *net = sb_params_get_def(p, qemu_params, "net");
	if (strcmp(net, "none") != 0 && strcmp(net, "user") != 0)
		return sb_error_set(err, EINVAL, "qemu: net must be none or user, not '%s'", net);
	c->net = strcmp(net, "user") == 0;
	snprintf(c->fwd, sizeof(c->fwd), "%s", sb_params_get_def(p, qemu_params, "fwd"));
	for (const char *f = c->fwd; *f; f++)
		if (!strchr("0123456789:,", *f))
			return sb_error_set(err, EINVAL, "qemu: fwd=%s: expected HOSTPORT:GUESTPORT,...", c->fwd);

	struct sb_kernel k;
	int rc = resolve_kernel(p, &k, err);
	if (rc < 0)
		return rc;
	snprintf(c->kernel, sizeof(c->kernel), "%s", k.vmlinux);
	snprintf(c->kernel_kind, sizeof(c->kernel_kind), "%s", k.kind);
	/* The minimal kernel has no ACPI (QEMU then names the virtio-mmio devices on the command
	 * line); Debian's virtio_mmio module takes no such names and finds the devices in microvm's
	 * ACPI tables, without which that kernel also loses its timer. */
	const char *acpi = sb_params_get_def(p, qemu_params, "acpi");
	if (strcmp(acpi, "auto") == 0)
		c->acpi = strcmp(k.kind, "minimal") != 0;
	else if (strcmp(acpi, "on") == 0 || strcmp(acpi, "off") == 0)
		c->acpi = strcmp(acpi, "on") == 0;
	else
		return sb_error_set(err, EINVAL, "qemu: acpi must be auto, on or off, not '%s'", acpi);
	const char *initrd = sb_params_get(p, "initrd");
	if (initrd) {
		struct stat st;
		if (stat(initrd, &st) < 0 || !S_ISREG(st.st_mode))
			return sb_error_set(err, ENOENT, "qemu: initrd=%s: not a file", initrd);
		snprintf(c->initrd, sizeof(c->initrd), "%s", initrd);
	} else {
		if (!spec->rootfs || spec->rootfs[0] != '/')
			return sb_error_set(err, EINVAL, "qemu needs the standard rootfs (sandbench image build)");
		bool reused;
		rc = sb_initramfs_build(sb_image_default_cache_dir(), spec->rootfs, k.modules[0] ? k.modules : NULL,
					c->initrd, sizeof(c->initrd), &reused, err);
		if (rc < 0)
			return rc;
	}
	if (disk && (rc = disk_template(disk, c->disk_template, sizeof(c->disk_template), err)) < 0)
		return rc;

	const char *accel = sb_params_get_def(p, qemu_params, "accel");
	if (strcmp(accel, "auto") == 0) {
		char why[256];
		accel_verdict(c, c->accel, sizeof(c->accel), why, sizeof(why));
	} else if (strcmp(accel, "kvm") == 0 || strcmp(accel, "tcg") == 0) {
		snprintf(c->accel, sizeof(c->accel), "%s", accel);
	} else {
		return sb_error_set(err, EINVAL, "qemu: accel must be auto, kvm or tcg, not '%s'", accel);
	}
	/* The TSC frequency skips the PIT calibration (10-40 % of TCG boots hang in it) and lpj the
	 * delay-loop calibration; tsc=reliable keeps the clocksource watchdog from declaring the TSC
	 * unstable when a busy host delays the guest's timer ticks (the guest would fall back to
	 * 10 ms jiffies); no_timer_check skips waiting for timer ticks to prove the IO-APIC routing
	 * (40 ms at 100 Hz); io_delay=none drops the dummy port-0x80 write after each access to the
	 * PIT, PIC and CMOS (each one an exit into QEMU); noapictimer (timer=pit) skips calibrating the local APIC timer, a 0.1 s
	 * busy wait that cost ~0.2 s of CPU under TCG, and takes timer interrupts from the PIT
	 * instead (an idle guest then costs ~1 % of a core instead of ~0.4 %: TCG has no
	 * TSC-deadline timer, which would need no calibration; under KVM it has); loglevel=4 (what `quiet` sets)
	 * keeps the emulated UART quiet. reboot=t
	 * makes a reset immediate; panic=-1 turns a guest panic into an exit the driver reports.
	 * Only the control port exists at boot (sandbench_ports=1); agent ports come later. */
	const char *timer = sb_params_get_def(p, qemu_params, "timer");
	if (strcmp(timer, "auto") != 0 && strcmp(timer, "pit") != 0 && strcmp(timer, "lapic") != 0)
		return sb_error_set(err, EINVAL, "qemu: timer must be auto, pit or lapic, not '%s'", timer);
	/* Debian's kernel (its timer routed by ACPI) never reaches /init on the PIT alone. */
	bool pit = strcmp(timer, "pit") == 0 ||
		   (strcmp(timer, "auto") == 0 && strcmp(c->accel, "tcg") == 0 && strcmp(c->kernel_kind, "minimal") == 0);
	unsigned long khz = qvm_host_tsc_khz();
	char tsc[96] = "";
	if (khz)
		snprintf(tsc, sizeof(tsc), " tsc_early_khz=%lu lpj=%lu", khz, khz * 4);
	snprintf(c->append, sizeof(c->append),
		 "console=ttyS0 earlycon=uart8250,io,0x3f8 loglevel=4%s reboot=t panic=-1%s tsc=reliable no_timer_check "
		 "io_delay=none%s "
		 "sandbench_ports=1%s%s",
		 c->acpi ? "" : " acpi=off", tsc, pit ? " noapictimer" : "", c->net ? " sandbench_net=1" : "",
		 c->disk_bytes ? " sandbench_disk=1" : "");
	const char *more = sb_params_get_def(p, qemu_params, "append");
	size_t used = strlen(c->append);
	if (more[0] && snprintf(c->append + used, sizeof(c->append) - used, " %s", more) >= (int)(sizeof(c->append) - used))
		return sb_error_set(err, E2BIG, "qemu: append: the kernel command line would be too long");
	return 0;
}

/* ---- the accelerator ---- */

/* Boot a guest with accel and wait for its agent (bounded): the accelerator's real test. */
static int trial_boot(const struct qvm_conf *base, const char *accel, double secs, struct sb_error *err)
{
	struct qvm vm = {.conf = *base};
	snprintf(vm.conf.accel, sizeof(vm.conf.accel), "%s", accel);
	vm.conf.ports = 0;
	vm.conf.disk_bytes = 0;
	vm.conf.net = false;
	/* Neither disk nor network: the guest must not wait for them. */
	const char *const drop[] = {" sandbench_net=1", " sandbench_disk=1"};
	for (size_t i = 0; i < 2; i++) {
		char *at = strstr(vm.conf.append, drop[i]);
		if (at)
			memmove(at, at + strlen(drop[i]), strlen(at + strlen(drop[i])) + 1);
	}
	char name[64];
	snprintf(name, sizeof(name), "probe-%s-%d", accel, (int)getpid());
	int rc = qvm_start(&vm, name, NULL, sb_deadline_after(secs), err);
	qvm_kill(&vm);
	qvm_remove(&vm);
	return rc;
}

static int accel_verdict(const struct qvm_conf *base, char *accel, size_t len, char *why, size_t wlen)
{
	char key[8600], *text = NULL;
	snprintf(key, sizeof(key), "%s|%s", base->bin, base->kernel);
	snprintf(accel, len, "tcg");
	why[0] = '\0';
	if (sb_read_file(ACCEL_VERDICT, &text, NULL, NULL) == 0) {
		char k[8600] = "", a[8] = "";
		if (sb_rt_kv(text, "key", k, sizeof(k)) && strcmp(k, key) == 0 && sb_rt_kv(text, "accel", a, sizeof(a))) {
			snprintf(accel, len, "%s", a);
			sb_rt_kv(text, "why", why, wlen);
			free(text);
			return 0;
		}
	}
	free(text);
	struct sb_error e = {0};
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		snprintf(why, wlen, "no usable /dev/kvm: %s", strerror(errno));
	else if (trial_boot(base, "kvm", KVM_TRIAL_S, &e) == 0)
		snprintf(accel, len, "kvm");
	else
		snprintf(why, wlen, "a KVM guest did not boot within %.0f s (%s)", KVM_TRIAL_S, e.msg);
	char line[9000];
	int n = snprintf(line, sizeof(line), "key=%s\naccel=%s\nwhy=%s\n", key, accel, why);
	sb_mkdir_p(QVM_STATE_ROOT, 0755);
	sb_write_file_atomic(ACCEL_VERDICT, line, (size_t)n, &e);
	return 0;
}

/* The probe with the user's driver parameters (bin=, kernel=, accel=...). */
static void qemu_probe_params(const struct sb_params *params, struct sb_probe *out)
{
	memset(out, 0, sizeof(*out));
	struct sb_box_spec spec = {.name = "probe", .params = params};
	char agent[4096], rootfs[4096];
	struct sb_error e = {0};
	char bin[1024];
	if (sb_rt_binary(params, qemu_params, "qemu-system-x86_64", bin, sizeof(bin), &e) < 0) {
		snprintf(out->reason, sizeof(out->reason), "%s (apt-get install qemu-system-x86)", e.msg);
		return;
	}
	const char *vargv[] = {bin, "-version", NULL};
	sb_rt_version(vargv, 10, out->version, sizeof(out->version));
	bool reused;
	if (sb_find_agent(agent, sizeof(agent), &e) < 0 ||
	    sb_image_build(sb_image_default_cache_dir(), agent, rootfs, sizeof(rootfs), &reused, &e) < 0) {
		snprintf(out->reason, sizeof(out->reason), "no standard rootfs: %s", e.msg);
		return;
	}
	spec.rootfs = rootfs;
	struct qvm_conf c;
	if (resolve_conf(&spec, &c, &e) < 0) {
		snprintf(out->reason, sizeof(out->reason), "%s", e.msg);
		return;
	}
	if (trial_boot(&c, c.accel, 30, &e) < 0) {
		snprintf(out->reason, sizeof(out->reason), "test guest (%s) did not boot: %s", c.accel, e.msg);
		return;
	}
	char why[256] = "", acc[8];
	accel_verdict(&c, acc, sizeof(acc), why, sizeof(why));
	size_t vl = strlen(out->version);
	snprintf(out->version + vl, sizeof(out->version) - vl, " %s", c.accel);
	/* Usable: the reason line says why the accelerator is TCG, for `sandbench drivers`. */
	if (strcmp(c.accel, "tcg") == 0)
		snprintf(out->reason, sizeof(out->reason), "accel tcg: %s", why[0] ? why : "forced");
	snprintf(out->tags, sizeof(out->tags), "accel=%s kernel=%s", c.accel, c.kernel_kind);
	out->usable = true;
	out->caps = sb_driver_qemu.caps;
}

/* ---- boxes ---- */

static int qemu_template_prepare(const struct sb_box_spec *spec, int64_t deadline_ns, struct sb_error *err)
{
	struct qvm_conf c;
	return resolve_conf(spec, &c, err);
}

static int boot(struct sb_box *b, const char *name, const char *restore_from, int64_t deadline_ns,
		struct sb_error *err)
{
	int rc = qvm_start(&b->vm, name, restore_from, deadline_ns, err);
	if (rc < 0) {
		qvm_kill(&b->vm);
		qvm_remove(&b->vm);
	}
	return rc;
}

static int qemu_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
		       struct sb_error *err)
{
	*out = NULL;
	struct sb_box *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	int rc = resolve_conf(spec, &b->vm.conf, err);
	if (rc == 0)
		rc = boot(b, spec->name ? spec->name : "qemu", NULL, deadline_ns, err);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

static int need_running(struct sb_box *b, struct sb_error *err)
{
	qvm_pump_console(&b->vm);
	if (b->stopped || !b->vm.ctl)
		return sb_error_set(err, ESRCH, "qemu: VM %s is stopped", b->vm.name);
	if (!qvm_alive(&b->vm)) {
		char con[200];
		qvm_console_last(&b->vm, con, sizeof(con));
		return sb_error_set(err, ESRCH, "qemu: VM %s is gone (console: %s)", b->vm.name, con[0] ? con : "silent");
	}
	return 0;
}

static char *take(char **p)
{
	char *v = *p;
	*p = NULL;
	return v;
}

static int qemu_exec(struct sb_box *b, const struct sb_exec_req *req, struct sb_proc_result *res,
		     struct sb_error *err)
{
	int rc = need_running(b, err);
	if (rc < 0)
		return rc;
	struct sb_agent_run_opts o = {.stdin_data = req->stdin_data, .stdin_len = req->stdin_len};
	int left = sb_deadline_left_ms(req->deadline_ns);
	if (left > 0)
		o.timeout_ms = (uint32_t)left;
	/* sandbench exec: stdin is sent whole with the request (the agent has no streaming). */
	char *in_buf = NULL;
	if (req->passthrough && !isatty(0)) {
		size_t cap = 0, n = 0;
		for (;;) {
			if (n + 65536 > cap) {
				char *nb = realloc(in_buf, cap = cap ? cap * 2 : 131072);
				if (!nb)
					break;
				in_buf = nb;
			}
			ssize_t r = read(0, in_buf + n, cap - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			if (n > SB_AGENT_MAX_REQUEST / 2)
				break;
		}
		o.stdin_data = in_buf;
		o.stdin_len = n;
	}
	struct sb_agent_response r;
	res->start_ns = sb_now_ns();
	rc = sb_agent_run_argv(b->vm.ctl, (const char *const *)req->argv, &o, &r, req->deadline_ns, err);
	res->end_ns = sb_now_ns();
	free(in_buf);
	if (rc < 0) {
		if (rc == -ETIMEDOUT)
			res->timed_out = true;
		return rc;
	}
	if (!b->vm.first_exec_done) {
		b->vm.first_exec_done = true;
		b->vm.t_first_exec = res->end_ns;
	}
	if (r.status == SB_AGENT_SPAWN_FAILED) {
		rc = sb_error_set(err, r.code, "cannot run %s inside the VM: %s", req->argv[0], strerror(r.code));
		sb_agent_response_clear(&r);
		return rc;
	}
	res->exit_code = r.status == SB_AGENT_SIGNALED ? 128 + r.code : r.code;
	res->term_signal = r.status == SB_AGENT_SIGNALED ? r.code : 0;
	res->timed_out = (r.flags & SB_AGENT_RF_TIMED_OUT) != 0;
	res->out_bytes = r.stdout_total;
	size_t cap = req->out_cap ? req->out_cap : (16u << 20);
	if (req->passthrough) {
		if (r.stdout_len && write(1, r.stdout_data, r.stdout_len) < 0)
			rc = -errno;
		if (r.stderr_len && write(2, r.stderr_data, r.stderr_len) < 0)
			rc = -errno;
	} else {
		res->out_truncated = r.stdout_total > r.stdout_len || r.stdout_len > cap || req->discard_stdout;
		res->err_truncated = r.stderr_total > r.stderr_len || r.stderr_len > cap;
		if (!req->discard_stdout) {
			res->out_len = r.stdout_len > cap ? cap : r.stdout_len;
			res->out = take(&r.stdout_data);
			res->out[res->out_len] = '\0';
		}
		res->err_len = r.stderr_len > cap ? cap : r.stderr_len;
		res->err = take(&r.stderr_data);
		res->err[res->err_len] = '\0';
	}
	sb_agent_response_clear(&r);
	return rc < 0 ? sb_error_set(err, -rc, "writing the command's output: %s", strerror(-rc)) : 0;
}

static int qemu_agent_open(struct sb_box *b, struct sb_agent_conn *conn, int64_t deadline_ns,
			   struct sb_error *err)
{
	int rc = need_running(b, err);
	if (rc < 0)
		return rc;
	int fd = qvm_open_port(&b->vm, deadline_ns, err);
	if (fd < 0)
		return fd;
	int fd2 = dup(fd);
	if (fd2 < 0) {
		close(fd);
		return sb_error_set(err, errno, "dup: %s", strerror(errno));
	}
	conn->to_agent = fd;
	conn->from_agent = fd2;
	conn->pid = 0;
	return 0;
}

static int qemu_copy_in(struct sb_box *b, const char *host_path, const char *box_path, int64_t deadline_ns,
			struct sb_error *err)
{
	int rc = need_running(b, err);
	if (rc < 0)
		return rc;
	int fd = open(host_path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = sb_error_set(err, errno, "copy in: %s: %s", host_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return sb_error_set(err, EINVAL, "copy in: %s: only regular files can be copied", host_path);
	}
	char *buf = malloc(SB_AGENT_FILE_CHUNK);
	uint64_t off = 0;
	bool first = true;
	while (buf && rc == 0) {
		ssize_t n = read(fd, buf, SB_AGENT_FILE_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sb_error_set(err, errno, "copy in: reading %s: %s", host_path, strerror(errno));
			break;
		}
		if (n == 0 && !first)
			break;
		rc = sb_agent_file_put(b->vm.ctl, box_path, first ? SB_AGENT_FILE_CREATE : 0, st.st_mode & 07777, off,
				       buf, (size_t)n, deadline_ns, err);
		first = false;
		off += (uint64_t)n;
		if (n == 0)
			break;
	}
	if (!buf)
		rc = sb_error_set(err, ENOMEM, "out of memory");
	free(buf);
	close(fd);
	return rc;
}

static int qemu_copy_out(struct sb_box *b, const char *box_path, const char *host_path, int64_t deadline_ns,
			 struct sb_error *err)
{
	int rc = need_running(b, err);
	if (rc < 0)
		return rc;
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.sandbench-tmp-%d", host_path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return sb_error_set(err, errno, "copy out: %s: %s", tmp, strerror(errno));
	uint64_t off = 0, size = 0;
	uint32_t mode = 0644;
	do {
		struct sb_agent_response r;
		rc = sb_agent_file_get(b->vm.ctl, box_path, off, SB_AGENT_FILE_CHUNK, &r, deadline_ns, err);
		if (rc < 0)
			break;
		size = r.stdout_total;
		mode = r.flags;
		if (r.stdout_len && write(fd, r.stdout_data, r.stdout_len) != (ssize_t)r.stdout_len)
			rc = sb_error_set(err, errno ? errno : EIO, "copy out: writing %s: %s", tmp, strerror(errno));
		off += r.stdout_len;
		bool short_read = r.stdout_len == 0;
		sb_agent_response_clear(&r);
		if (short_read)
			break; /* the file shrank meanwhile: keep what there was */
	} while (rc == 0 && off < size);
	if (rc == 0 && (fchmod(fd, mode & 07777) < 0 || fsync(fd) < 0))
		rc = sb_error_set(err, errno, "copy out: %s: %s", tmp, strerror(errno));
	close(fd);
	if (rc == 0 && rename(tmp, host_path) < 0)
		rc = sb_error_set(err, errno, "copy out: rename to %s: %s", host_path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static int qemu_stop(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	if (b->stopped)
		return 0;
	b->stopped = true;
	int rc = qvm_stop(&b->vm, deadline_ns, err);
	/* A stopped VM keeps nothing: its sockets and disk go with it. */
	qvm_remove(&b->vm);
	return rc;
}

static int qemu_destroy(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	/* Nothing in the guest needs saving: kill it outright (stop is the graceful path). */
	qvm_kill(&b->vm);
	qvm_remove(&b->vm);
	free(b);
	return 0;
}

static uint64_t kv_u64(const char *text, const char *key)
{
	char v[32];
	const char *p = text;
	size_t kl = strlen(key);
	while (p && *p) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			snprintf(v, sizeof(v), "%.*s", (int)strcspn(p + kl + 1, "\n"), p + kl + 1);
			return strtoull(v, NULL, 10);
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

static int qemu_stats(struct sb_box *b, struct sb_box_stats *out, struct sb_error *err)
{
	int rc = need_running(b, err);
	if (rc < 0)
		return rc;
	char path[64], line[512], *text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)b->vm.pid);
	if (sb_read_file(path, &text, NULL, NULL) == 0) {
		const char *r = strstr(text, "\nRss:"), *p = strstr(text, "\nPss:");
		if (r)
			out->rss_bytes = strtoull(r + 5, NULL, 10) * 1024;
		if (p)
			out->pss_bytes = strtoull(p + 5, NULL, 10) * 1024;
		free(text);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)b->vm.pid);
	if (sb_read_line(path, line, sizeof(line)) == 0 && strrchr(line, ')')) {
		unsigned long long ut = 0, st = 0;
		sscanf(strrchr(line, ')') + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
		long hz = sysconf(_SC_CLK_TCK);
		out->cpu_ns = (ut + st) * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
	}
	out->mem_bytes = out->rss_bytes;
	out->mem_limit_bytes = (uint64_t)b->vm.conf.mem_mb << 20;
	out->pids = 1;
	char *info = NULL;
	rc = sb_agent_info(b->vm.ctl, &info, sb_deadline_after(5), err);
	if (rc < 0)
		return rc;
	uint64_t total = kv_u64(info, "mem_total_bytes"), avail = kv_u64(info, "mem_available_bytes");
	out->guest_mem_total_bytes = total;
	out->guest_mem_used_bytes = total > avail ? total - avail : 0;
	out->guest_cpu_ns = kv_u64(info, "cpu_busy_ns");
	uint64_t init_start = kv_u64(info, "init_start_ns"), init_ready = kv_u64(info, "init_ready_ns");
	free(info);
	/* Host phases on the host's clock, guest phases on the guest's (they share no clock). */
	const struct qvm *vm = &b->vm;
	if (vm->t_console > vm->t_spawn)
		out->boot_console_ns = (uint64_t)(vm->t_console - vm->t_spawn);
	out->boot_kernel_ns = init_start;
	out->boot_init_ns = init_ready > init_start ? init_ready - init_start : 0;
	if (vm->t_ready > vm->t_spawn)
		out->boot_ready_ns = (uint64_t)(vm->t_ready - vm->t_spawn);
	if (vm->t_first_exec > vm->t_ready)
		out->boot_first_exec_ns = (uint64_t)(vm->t_first_exec - vm->t_ready);
	return 0;
}

static int qemu_pids(struct sb_box *b, pid_t *pids, size_t cap, size_t *n, struct sb_error *err)
{
	if (b->vm.pid <= 0)
		return 0;
	if (cap > 0)
		pids[0] = b->vm.pid;
	*n = 1;
	return 0;
}

/* The QEMU process is the sandbox on the host (box_pids lists it): no helper beside it. */
static int qemu_host_pids(struct sb_box *b, struct sb_host_proc *procs, size_t cap, size_t *n, struct sb_error *err)
{
	return 0;
}

/* ---- snapshot / restore ---- */

static int qemu_snapshot(struct sb_box *b, const char *dir, int64_t deadline_ns, struct sb_error *err)
{
	int rc = need_running(b, err);
	if (rc < 0)
		return rc;
	if (sb_mkdir_p(dir, 0700) < 0)
		return sb_error_set(err, errno, "qemu: snapshot dir %s: %s", dir, strerror(errno));
	char state[4200], tmp[4300], cmd[9000], q[8800];
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(tmp, sizeof(tmp), "%s/state.tmp", dir);
	/* The migration stream goes through a shell (QEMU 7.2's exec: URI): quote for sh, then
	 * for JSON. */
	size_t o = 0;
	q[o++] = '\'';
	for (const char *p = tmp; *p && o + 8 < sizeof(q); p++) {
		if (*p == '\'') {
			memcpy(q + o, "'\\\\''", 6); /* '\'' with the backslash escaped for JSON */
			o += 6;
		} else if (*p == '"' || *p == '\\') {
			q[o++] = '\\';
			q[o++] = *p;
		} else {
			q[o++] = *p;
		}
	}
	q[o++] = '\'';
	q[o] = '\0';
	/* The default bandwidth cap (32 MiB/s) would make a save take seconds. */
	rc = qvm_qmp(&b->vm, "{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"max-bandwidth\":107374182400}}",
		     NULL, deadline_ns, err);
	snprintf(cmd, sizeof(cmd), "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:cat > %s\"}}", q);
	if (rc == 0)
		rc = qvm_qmp(&b->vm, cmd, NULL, deadline_ns, err);
	while (rc == 0) {
		char *ret = NULL;
		rc = qvm_qmp(&b->vm, "{\"execute\":\"query-migrate\"}", &ret, deadline_ns, err);
		if (rc < 0)
			break;
		bool done = strstr(ret, "\"completed\"") != NULL;
		bool failed = strstr(ret, "\"failed\"") || strstr(ret, "\"cancelled\"");
		free(ret);
		if (done)
			break;
		if (failed)
			rc = sb_error_set(err, EIO, "qemu: saving the VM state failed");
		else if (sb_deadline_passed(deadline_ns))
			rc = sb_error_set(err, ETIMEDOUT, "qemu: saving the VM state did not finish before the deadline");
		else
			usleep(1000);
	}
	/* The VM is paused now: its disk matches the saved memory. */
	char disk_from[300], disk_to[4200], conf[4200];
	snprintf(disk_from, sizeof(disk_from), "%s/disk.img", b->vm.dir);
	snprintf(disk_to, sizeof(disk_to), "%s/disk.img", dir);
	snprintf(conf, sizeof(conf), "%s/vm.conf", dir);
	if (rc == 0 && b->vm.conf.disk_bytes)
		rc = qvm_copy_sparse(disk_from, disk_to, err);
	/* The restored VM starts with the ports this one has now, as its memory expects. */
	struct qvm_conf saved = b->vm.conf;
	saved.ports_live = b->vm.ports_added;
	if (rc == 0)
		rc = qvm_conf_save(&saved, conf, err);
	if (rc == 0 && rename(tmp, state) < 0)
		rc = sb_error_set(err, errno, "qemu: rename %s: %s", state, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	/* The snapshotted box keeps running. */
	struct sb_error e = {0};
	if (qvm_qmp(&b->vm, "{\"execute\":\"cont\"}", NULL, sb_deadline_after(5), &e) < 0 && rc == 0)
		rc = sb_error_set(err, e.code, "qemu: resuming after the snapshot: %s", e.msg);
	return rc;
}

static int qemu_restore(const struct sb_box_spec *spec, const char *dir, struct sb_box **out, int64_t deadline_ns,
			struct sb_error *err)
{
	*out = NULL;
	struct sb_box *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	char conf[4200], state[4200], disk[4200];
	snprintf(conf, sizeof(conf), "%s/vm.conf", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(disk, sizeof(disk), "%s/disk.img", dir);
	int rc = qvm_conf_load(&b->vm.conf, conf, err);
	struct stat st;
	if (rc == 0 && stat(state, &st) < 0)
		rc = sb_error_set(err, ENOENT, "qemu: %s holds no saved VM state", dir);
	if (rc == 0 && (stat(b->vm.conf.kernel, &st) < 0 || stat(b->vm.conf.initrd, &st) < 0))
		rc = sb_error_set(err, ENOENT, "qemu: the snapshot's kernel or initramfs is gone (%s)", b->vm.conf.kernel);
	/* The restored VM's disk starts from the snapshot's copy. */
	if (rc == 0 && b->vm.conf.disk_bytes)
		snprintf(b->vm.conf.disk_template, sizeof(b->vm.conf.disk_template), "%s", disk);
	if (rc == 0)
		rc = boot(b, spec && spec->name ? spec->name : "qemu-restored", state, deadline_ns, err);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

/* ---- doctor ---- */

/* QEMU processes whose command line points into dir. */
static int kill_vm_processes(const char *dir, bool clean, sb_line_fn emit, void *arg)
{
	char pidfile[4200], line[64];
	snprintf(pidfile, sizeof(pidfile), "%s/qemu.pid", dir);
	int pid = 0;
	unsigned long long start = 0;
	if (sb_read_line(pidfile, line, sizeof(line)) < 0 || sscanf(line, "%d %llu", &pid, &start) != 2 ||
	    !sb_rt_proc_alive(pid, start))
		return 0;
	char msg[4400];
	snprintf(msg, sizeof(msg), "qemu process %d of %s", pid, dir);
	if (emit)
		emit(arg, msg);
	if (clean) {
		kill(pid, SIGKILL);
		for (int i = 0; i < 200 && sb_rt_proc_alive(pid, start); i++)
			usleep(5000);
	}
	return 1;
}

static int qemu_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	int found = 0;
	DIR *d = opendir(QVM_STATE_ROOT);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		char dir[4200], *text = NULL;
		snprintf(dir, sizeof(dir), "%s/%s", QVM_STATE_ROOT, de->d_name);
		bool owned = sb_rt_marker_read(dir, &text) == 0 && text;
		bool alive = owned && sb_rt_marker_owner_alive(text);
		free(text);
		if (alive)
			continue;
		/* No marker: a state dir whose creation was cut short; nobody else writes here. */
		found++;
		char msg[4400];
		snprintf(msg, sizeof(msg), "VM state %s (owner gone)", dir);
		if (emit)
			emit(arg, msg);
		found += kill_vm_processes(dir, clean, emit, arg);
		if (clean) {
			sb_rm_rf(dir);
			snprintf(msg, sizeof(msg), "removed %s", dir);
			if (emit)
				emit(arg, msg);
		}
	}
	if (d)
		closedir(d);
	return found;
}

const struct sb_driver sb_driver_qemu = {
	.name = "qemu",
	.summary = "QEMU microVM (-M microvm, PVH vmlinux + initramfs, agent as /init over virtio serial); KVM or TCG",
	.caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_COPY | SB_CAP_SNAPSHOT | SB_CAP_STATS | SB_CAP_ISOLATION |
		SB_CAP_PIDS | SB_CAP_MEMLIMIT,
	.params = qemu_params,
	.image = SB_IMAGE_VM,
	.agent_in_box = "/sandbench-agent",
	.probe = qemu_probe_params,
	.template_prepare = qemu_template_prepare,
	.box_create = qemu_create,
	.box_exec = qemu_exec,
	.box_agent_open = qemu_agent_open,
	.box_copy_in = qemu_copy_in,
	.box_copy_out = qemu_copy_out,
	.box_snapshot = qemu_snapshot,
	.box_restore = qemu_restore,
	.box_stop = qemu_stop,
	.box_destroy = qemu_destroy,
	.box_stats = qemu_stats,
	.box_pids = qemu_pids,
	.box_host_pids = qemu_host_pids,
	.leftovers = qemu_leftovers,
};
