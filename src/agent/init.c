/* `sandbench-agent` as /init of a microVM (the kernel runs it as pid 1 from the initramfs).
 *
 * It mounts what commands expect, records when it started on the guest's clock, loads the
 * kernel modules the image lists, brings up loopback (and eth0 / the scratch disk when the
 * kernel command line asks for them), then runs one `serve` per virtio serial port named
 * "sb.*", each waiting for the host to open its end, and starts a fresh one whenever one ends
 * (the host closed that connection). Settings come from the kernel command line, which the
 * kernel hands to init as environment variables:
 *   sandbench_ports=N   how many "sb.*" ports to wait for at boot (required); ports the host
 *                       adds later (a uevent announces each) get a server too
 *   sandbench_net=1     configure eth0 for QEMU's user-mode network (10.0.2.15/24 via 10.0.2.2)
 *   sandbench_disk=1    mount /dev/vda (ext4) on /scratch
 * A module gets the command line's "module.key=value" entries as its parameters (the kernel
 * applies those only to built-in code).
 * Anything fatal is printed on the console and the guest is reset, so the VMM exits and the
 * host sees why instead of waiting for a deadline. */
#include "agent/agent.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PORTS 64
#define MODULES_LIST "/etc/sandbench/modules"

struct port {
	char name[64];
	int fd;
	pid_t server;
	int64_t started_ns;
	unsigned quick_exits; /* servers that ended right after starting, in a row */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)agent_write_all(2, line, (size_t)n);
}

_Noreturn void agent_reset_guest(void)
{
	sync();
	/* With QEMU's -no-reboot a reset ends the VMM; it needs no ACPI power-off support. */
	reboot(RB_AUTOBOOT);
	_exit(1);
}

static _Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void fatal(const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("sandbench-agent init: fatal: %s", msg);
	agent_reset_guest();
}

static void mount_one(const char *src, const char *dir, const char *type, unsigned long flags,
                      const char *data)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, flags, data) < 0 && errno != EBUSY)
		say("sandbench-agent init: mount %s on %s: %s", type, dir, strerror(errno));
}

static void console_fds(void)
{
	if (fcntl(0, F_GETFD) >= 0 && fcntl(1, F_GETFD) >= 0 && fcntl(2, F_GETFD) >= 0)
		return;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		fd = open("/dev/null", O_RDWR);
	for (int i = 0; i < 3 && fd >= 0; i++)
		if (fcntl(i, F_GETFD) < 0)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

/* The module's name as the kernel knows it: the file's base name without ".ko", '-' as '_'. */
static void module_name(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strcspn(base, ".");
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = base[i] == '-' ? '_' : base[i];
	out[n] = '\0';
}

/* The parameters the kernel command line gives a module ("name.key=value" entries, e.g. the
 * virtio_mmio.device= lines QEMU appends for each device), as "key=value key=value". The kernel
 * applies such entries itself only to built-in code; for a module, whoever loads it must pass
 * them, as modprobe does. Entries are split on spaces outside double quotes, quotes kept. */
static void module_params(const char *cmdline, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name), o = 0;
	out[0] = '\0';
	for (const char *p = cmdline; *p;) {
		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		const char *start = p;
		bool quoted = false;
		while (*p && (quoted || (*p != ' ' && *p != '\n' && *p != '\t'))) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		size_t tl = (size_t)(p - start);
		if (tl > nl + 1 && strncmp(start, name, nl) == 0 && start[nl] == '.' && o + tl - nl + 1 < len) {
			if (o)
				out[o++] = ' ';
			memcpy(out + o, start + nl + 1, tl - nl - 1);
			o += tl - nl - 1;
			out[o] = '\0';
		}
	}
}

static void load_modules(void)
{
	FILE *f = fopen(MODULES_LIST, "re");
	if (!f)
		return;
	char cmdline[4096] = "";
	int cfd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (cfd >= 0) {
		ssize_t n = read(cfd, cmdline, sizeof(cmdline) - 1);
		cmdline[n > 0 ? n : 0] = '\0';
		close(cfd);
	}
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		char name[64], params[2048];
		module_name(line, name, sizeof(name));
		module_params(cmdline, name, params, sizeof(params));
		int fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, params, 0) < 0 && errno != EEXIST))
			say("sandbench-agent init: module %s: %s", line, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
}

static int if_up(int sock, const char *name)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(sock, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static void set_addr(struct sockaddr *sa, const char *ip)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;
	memset(in, 0, sizeof(*in));
	in->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &in->sin_addr);
}

/* QEMU's user-mode network: the guest is 10.0.2.15, the host's side 10.0.2.2, both inside
 * the emulator's private stack (nothing reaches a real network from here). */
static void net_setup(bool eth)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	if (if_up(s, "lo") < 0)
		say("sandbench-agent init: lo: %s", strerror(errno));
	if (eth) {
		struct ifreq ifr = { 0 };
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
		set_addr(&ifr.ifr_addr, "10.0.2.15");
		int rc = ioctl(s, SIOCSIFADDR, &ifr);
		set_addr(&ifr.ifr_netmask, "255.255.255.0");
		if (rc == 0)
			rc = ioctl(s, SIOCSIFNETMASK, &ifr);
		if (rc == 0)
			rc = if_up(s, "eth0");
		struct rtentry rt = { 0 };
		set_addr(&rt.rt_dst, "0.0.0.0");
		set_addr(&rt.rt_genmask, "0.0.0.0");
		set_addr(&rt.rt_gateway, "10.0.2.2");
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		if (rc == 0 && ioctl(s, SIOCADDRT, &rt) < 0)
			rc = -1;
		if (rc < 0)
			say("sandbench-agent init: eth0: %s", strerror(errno));
	}
	close(s);
}

static void mount_scratch(void)
{
	struct stat st;
	int64_t until = agent_now(CLOCK_MONOTONIC) + 5000000000LL;
	while (stat("/dev/vda", &st) < 0 && agent_now(CLOCK_MONOTONIC) < until)
		usleep(1000);
	mkdir("/scratch", 0755);
	if (mount("/dev/vda", "/scratch", "ext4", 0, NULL) < 0)
		say("sandbench-agent init: mount /dev/vda on /scratch: %s", strerror(errno));
}

/* Descriptors only init uses: closed in every server it forks. */
static int signal_fd = -1, uevent_fd = -1;

/* Adds to ports[n..cap) the "sb.*" virtio serial ports present now that are not there yet,
 * each opened; returns the new count. A port whose name or device node has not appeared yet is
 * left for a later scan. */
static unsigned scan_ports(struct port *ports, unsigned n, unsigned cap)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *de;
	while (d && (de = readdir(d)) && n < cap) {
		if (de->d_name[0] == '.')
			continue;
		char path[300], name[64] = "", dev[64];
		snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
		bool known = false;
		for (unsigned i = 0; i < n && !known; i++)
			known = strcmp(ports[i].name, dev) == 0;
		if (known)
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t r = fd >= 0 ? read(fd, name, sizeof(name) - 1) : -1;
		if (fd >= 0)
			close(fd);
		name[r > 0 ? r : 0] = '\0';
		name[strcspn(name, "\n")] = '\0';
		if (strncmp(name, "sb.", 3) != 0)
			continue;
		int pfd = open(dev, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (pfd < 0) {
			if (errno != ENOENT)
				say("sandbench-agent init: open %s: %s", dev, strerror(errno));
			continue;
		}
		memset(&ports[n], 0, sizeof(ports[n]));
		snprintf(ports[n].name, sizeof(ports[n].name), "%s", dev);
		ports[n].fd = pfd;
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* Kernel uevents: the host adds agent ports to a running VM, and each new port announces
 * itself (its name arrives in a "change" event). -1 when the kernel offers none. */
static int uevent_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Drains the uevent socket: whether a virtio port came or changed. */
static bool ports_changed(int fd)
{
	bool changed = false;
	char buf[4096];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && memmem(buf, (size_t)n, "virtio-ports", 12))
			changed = true;
	return changed;
}

static void start_server(struct port *p)
{
	pid_t pid = fork();
	if (pid < 0) {
		say("sandbench-agent init: fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		if (signal_fd >= 0)
			close(signal_fd);
		if (uevent_fd >= 0)
			close(uevent_fd);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", p->fd);
		char *argv[] = { "serve", "--fd", fd, "--wait-host", NULL };
		_exit(agent_cmd_serve(4, argv));
	}
	p->server = pid;
	p->started_ns = agent_now(CLOCK_MONOTONIC);
}

static void setenv_ns(const char *key, int64_t ns)
{
	char v[32];
	snprintf(v, sizeof(v), "%lld", (long long)ns);
	setenv(key, v, 1);
}

int agent_cmd_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int64_t start = agent_now(CLOCK_BOOTTIME);
	mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mount_one("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	console_fds();
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("HOME", "/", 1);
	sethostname("sandbench", 9);
	load_modules();

	const char *nports_s = getenv("sandbench_ports");
	const char *net = getenv("sandbench_net");
	const char *disk = getenv("sandbench_disk");
	unsigned want = nports_s ? (unsigned)strtoul(nports_s, NULL, 10) : 0;
	if (want == 0 || want > MAX_PORTS)
		fatal("sandbench_ports=N (1..%d) missing from the kernel command line", MAX_PORTS);
	net_setup(net && strcmp(net, "1") == 0);
	if (disk && strcmp(disk, "1") == 0)
		mount_scratch();

	/* Ports appear when the host's port-add messages are processed, which may be after
	 * init starts; later ones when the host adds them to the running VM. */
	uevent_fd = uevent_socket();
	struct port ports[MAX_PORTS];
	memset(ports, 0, sizeof(ports));
	unsigned n = 0;
	int64_t until = agent_now(CLOCK_MONOTONIC) + 10000000000LL;
	while ((n = scan_ports(ports, n, MAX_PORTS)) < want) {
		if (agent_now(CLOCK_MONOTONIC) > until)
			fatal("%u of %u sb.* virtio serial ports appeared", n, want);
		usleep(500);
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (signal_fd < 0)
		fatal("signalfd: %s", strerror(errno));
	setenv_ns("SANDBENCH_INIT_START_NS", start);
	setenv_ns("SANDBENCH_INIT_READY_NS", agent_now(CLOCK_BOOTTIME));
	for (unsigned i = 0; i < n; i++)
		start_server(&ports[i]);
	say("sandbench-agent init: %u ports served, %.1f ms after kernel start", n,
	    (double)start / 1e6);

	for (;;) {
		/* Without uevents, look for new ports once a second instead. */
		struct pollfd pf[2] = { { signal_fd, POLLIN, 0 }, { uevent_fd, POLLIN, 0 } };
		int r = poll(pf, uevent_fd >= 0 ? 2 : 1, uevent_fd >= 0 ? -1 : 1000);
		if (r < 0 && errno != EINTR)
			fatal("poll: %s", strerror(errno));
		if ((uevent_fd >= 0 && (pf[1].revents & POLLIN) && ports_changed(uevent_fd)) ||
		    (uevent_fd < 0 && r == 0)) {
			unsigned before = n;
			n = scan_ports(ports, n, MAX_PORTS);
			for (unsigned i = before; i < n; i++)
				start_server(&ports[i]);
		}
		if (!(pf[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		while (read(signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				agent_reset_guest();
		int st;
		pid_t pid;
		/* pid 1 reaps every orphan in the guest, not only its servers. */
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				if (ports[i].server != pid)
					continue;
				ports[i].server = 0;
				bool quick = agent_now(CLOCK_MONOTONIC) - ports[i].started_ns < 50000000;
				ports[i].quick_exits = quick ? ports[i].quick_exits + 1 : 0;
				/* A server that keeps failing at once must not spin the guest's CPU. */
				if (ports[i].quick_exits > 5)
					usleep(100000);
				start_server(&ports[i]);
			}
		}
	}
}
