/* The requests of `serve` that exist for sandboxes without a shared filesystem or a host
 * view of their processes (microVMs): file transfer, the guest's own figures, poweroff,
 * and waiting for a host on a virtio serial port. */
#include "agent/serve.h"
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_path(const struct sb_agent_file_req *req, int flags, mode_t mode, int *fd)
{
	char path[4096];
	if (req->path_len >= sizeof(path))
		return ENAMETOOLONG;
	memcpy(path, req->path, req->path_len);
	path[req->path_len] = '\0';
	*fd = open(path, flags | O_CLOEXEC, mode);
	return *fd < 0 ? errno : 0;
}

void serve_file_put(struct server *s, uint32_t id, const struct sb_agent_file_req *req)
{
	int fd = -1, flags = O_WRONLY | O_CREAT;
	if (req->flags & SB_AGENT_FILE_CREATE)
		flags |= O_TRUNC;
	int e = open_path(req, flags, (mode_t)(req->mode & 07777), &fd);
	size_t off = 0;
	while (!e && off < req->data_len) {
		ssize_t w = pwrite(fd, req->data + off, req->data_len - off, (off_t)(req->offset + off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			e = errno;
		else
			off += (size_t)w;
	}
	struct stat st = { 0 };
	if (!e && fstat(fd, &st) < 0)
		e = errno;
	/* The mode of an existing file is set too, so a copy carries the host's bits. */
	if (!e && (req->flags & SB_AGENT_FILE_CREATE) && fchmod(fd, (mode_t)(req->mode & 07777)) < 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	(void)sb_agent_encode_file_ack(&s->outq, id, (uint32_t)e, (uint64_t)st.st_size);
}

void serve_file_get(struct server *s, uint32_t id, const struct sb_agent_file_req *req)
{
	int fd = -1;
	int e = open_path(req, O_RDONLY, 0, &fd);
	struct stat st = { 0 };
	if (!e && fstat(fd, &st) < 0)
		e = errno;
	if (!e && !S_ISREG(st.st_mode))
		e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	size_t want = req->max_len < SB_AGENT_FILE_CHUNK ? req->max_len : SB_AGENT_FILE_CHUNK;
	uint8_t *buf = NULL;
	size_t got = 0;
	if (!e && want && !(buf = malloc(want)))
		e = ENOMEM;
	while (!e && got < want) {
		ssize_t r = pread(fd, buf + got, want - got, (off_t)(req->offset + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			e = errno;
		else if (r == 0)
			break;
		else
			got += (size_t)r;
	}
	if (fd >= 0)
		close(fd);
	(void)sb_agent_encode_file_data(&s->outq, id, (uint32_t)e, (uint32_t)(st.st_mode & 07777),
	                                (uint64_t)st.st_size, buf, e ? 0 : got);
	free(buf);
}

/* Value of `key:` in /proc/meminfo, in bytes (0 when absent). */
static uint64_t meminfo(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	return p ? strtoull(p + strlen(key), NULL, 10) * 1024 : 0;
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, cap - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

void serve_info(struct server *s, uint32_t id)
{
	char mem[4096], stat[1024], text[1024];
	slurp("/proc/meminfo", mem, sizeof(mem));
	slurp("/proc/stat", stat, sizeof(stat));
	/* cpu  user nice system idle iowait irq softirq steal, in clock ticks */
	unsigned long long t[8] = { 0 };
	sscanf(stat, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &t[0], &t[1], &t[2], &t[3], &t[4],
	       &t[5], &t[6], &t[7]);
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t tick_ns = hz > 0 ? 1000000000ull / (uint64_t)hz : 10000000ull;
	uint64_t busy = (t[0] + t[1] + t[2] + t[5] + t[6] + t[7]) * tick_ns;
	const char *init_start = getenv("SANDBENCH_INIT_START_NS");
	const char *init_ready = getenv("SANDBENCH_INIT_READY_NS");
	int n = snprintf(text, sizeof(text),
	                 "mem_total_bytes %llu\nmem_available_bytes %llu\ncpu_busy_ns %llu\n"
	                 "cpu_idle_ns %llu\nboottime_ns %lld\ninit_start_ns %s\ninit_ready_ns %s\n",
	                 (unsigned long long)meminfo(mem, "MemTotal:"),
	                 (unsigned long long)meminfo(mem, "MemAvailable:"),
	                 (unsigned long long)busy, (unsigned long long)((t[3] + t[4]) * tick_ns),
	                 (long long)agent_now(CLOCK_BOOTTIME), init_start ? init_start : "0",
	                 init_ready ? init_ready : "0");
	(void)sb_agent_encode_info_data(&s->outq, id, text, (size_t)n);
}

void serve_poweroff(struct server *s, uint32_t id)
{
	/* Only the agent's own init sets this: a container's agent must not reboot its host. */
	if (!getenv("SANDBENCH_INIT_START_NS")) {
		(void)sb_agent_encode_error(&s->outq, id, SB_AGENT_E_UNSUPPORTED,
		                            "poweroff: the agent is not a VM's init here");
		return;
	}
	(void)sb_agent_encode_empty(&s->outq, SB_AGENT_T_POWEROFF_ACK, id);
	s->poweroff = true;
	s->stop = true;
}

int serve_wait_host(int fd)
{
	/* A virtio serial port reports POLLHUP while no host has it open, and the kernel sends
	 * SIGIO to the owner of an O_ASYNC port when a host connects. The signal stays blocked
	 * and is collected with sigtimedwait; the periodic re-check covers a lost one. */
	sigset_t io;
	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	sigprocmask(SIG_BLOCK, &io, NULL);
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETOWN, getpid());
	fcntl(fd, F_SETFL, fl | O_ASYNC);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 0) < 0 && errno != EINTR)
			return -errno;
		if (!(p.revents & (POLLHUP | POLLNVAL)))
			break;
		if (p.revents & POLLNVAL)
			return -EBADF;
		struct timespec ts = { 0, 200000000 };
		sigtimedwait(&io, NULL, &ts);
	}
	fcntl(fd, F_SETFL, fl);
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&io, NULL, &zero) > 0)
		;
	return 0;
}
