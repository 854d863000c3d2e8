/* Disk workloads: sequential write/read and 4 KiB random I/O.
 *
 * O_DIRECT is tried first so the numbers describe the storage path the sandbox was
 * given rather than the page cache; filesystems that refuse it (tmpfs on older
 * kernels, some overlay setups, 9p) fall back to buffered I/O, and the JSON says which
 * one was measured. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALIGN 4096u
#define RAND_BS 4096u

static void *aligned_buf(const char *cmd, size_t n)
{
	void *p = NULL;
	int rc = posix_memalign(&p, ALIGN, n ? n : ALIGN);
	if (rc)
		agent_fail(cmd, rc, "allocating %zu bytes", n);
	return p;
}

/* Open with O_DIRECT when wanted and accepted; *direct says what we got. */
static int open_maybe_direct(const char *cmd, const char *path, int flags, bool want, bool *direct)
{
	int fd = -1;
	*direct = false;
	if (want) {
		fd = open(path, flags | O_DIRECT | O_CLOEXEC, 0644);
		if (fd >= 0)
			*direct = true;
		else if (errno != EINVAL)
			agent_fail(cmd, errno, "open %s", path);
	}
	if (fd < 0)
		fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		agent_fail(cmd, errno, "open %s", path);
	return fd;
}

static void drop_direct(int fd, bool *direct)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_DIRECT);
	*direct = false;
}

static void print_rate(const char *workload, const char *path, uint64_t bytes, uint64_t bs,
                       double secs, bool direct)
{
	printf("{\"workload\":\"%s\",\"path\":", workload);
	agent_json_str(stdout, path);
	printf(",\"bytes\":%" PRIu64 ",\"bs\":%" PRIu64 ",\"seconds\":%.9f,\"mb_per_s\":%.6g,"
	       "\"mib_per_s\":%.6g,\"direct\":%s,\"mode\":\"%s\"}\n",
	       bytes, bs, secs, (double)bytes / secs / 1e6, (double)bytes / secs / 1048576.0,
	       direct ? "true" : "false", direct ? "direct" : "buffered");
}

int agent_cmd_disk_write(int argc, char **argv)
{
	const char *cmd = "disk-write", *size_s = NULL, *bs_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--size", true, &size_s, NULL },
		{ "--bs", true, &bs_s, NULL },
		{ 0 },
	};
	if (agent_getopt(cmd, argc, argv, opts, pos, 1) != 1)
		agent_usage(cmd, "PATH is required");
	uint64_t size = agent_size_arg(cmd, "--size", size_s, 1);
	uint64_t bs = bs_s ? agent_size_arg(cmd, "--bs", bs_s, 1) : (1u << 20);
	if (bs > (1u << 30))
		agent_usage(cmd, "--bs: '%s' is above the maximum of 1G", bs_s);
	if (bs > size)
		bs = size;

	bool direct;
	int fd = open_maybe_direct(cmd, pos[0], O_WRONLY | O_CREAT | O_TRUNC, bs % ALIGN == 0,
	                           &direct);
	uint8_t *buf = aligned_buf(cmd, bs);
	agent_fill_pattern(buf, bs, 0x5eedu);

	int64_t t0 = agent_now(CLOCK_MONOTONIC);
	uint64_t done = 0;
	while (done < size) {
		size_t n = (size_t)(size - done < bs ? size - done : bs);
		/* An unaligned tail cannot go through O_DIRECT. */
		if (direct && n % ALIGN)
			drop_direct(fd, &direct);
		ssize_t w = pwrite(fd, buf, n, (off_t)done);
		if (w < 0 && errno == EINVAL && direct && done == 0) {
			/* Accepted at open but refused at write (alignment rules differ). */
			drop_direct(fd, &direct);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			agent_fail(cmd, w < 0 ? errno : ENOSPC, "write %s", pos[0]);
		done += (uint64_t)w;
	}
	if (fsync(fd) < 0)
		agent_fail(cmd, errno, "fsync %s", pos[0]);
	int64_t t1 = agent_now(CLOCK_MONOTONIC);
	close(fd);
	free(buf);
	print_rate(cmd, pos[0], size, bs, agent_secs(t0, t1), direct);
	return 0;
}

int agent_cmd_disk_read(int argc, char **argv)
{
	const char *cmd = "disk-read", *bs_s = NULL, *pos[1];
	const struct agent_opt opts[] = {
		{ "--bs", true, &bs_s, NULL },
		{ 0 },
	};
	if (agent_getopt(cmd, argc, argv, opts, pos, 1) != 1)
		agent_usage(cmd, "PATH is required");
	uint64_t bs = bs_s ? agent_size_arg(cmd, "--bs", bs_s, 1) : (1u << 20);
	if (bs > (1u << 30))
		agent_usage(cmd, "--bs: '%s' is above the maximum of 1G", bs_s);

	bool direct;
	int fd = open_maybe_direct(cmd, pos[0], O_RDONLY, bs % ALIGN == 0, &direct);
	uint8_t *buf = aligned_buf(cmd, bs);
	if (!direct) {
		/* Without O_DIRECT, at least drop clean cached pages so a read right after
		 * disk-write measures more than memcpy. Best effort by design. */
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	}

	int64_t t0 = agent_now(CLOCK_MONOTONIC);
	uint64_t done = 0;
	for (;;) {
		ssize_t r = pread(fd, buf, bs, (off_t)done);
		if (r < 0 && errno == EINVAL && direct && done == 0) {
			drop_direct(fd, &direct);
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			t0 = agent_now(CLOCK_MONOTONIC);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			agent_fail(cmd, errno, "read %s", pos[0]);
		if (r == 0)
			break;
		done += (uint64_t)r;
	}
	int64_t t1 = agent_now(CLOCK_MONOTONIC);
	close(fd);
	free(buf);
	if (done == 0)
		agent_fail(cmd, 0, "%s is empty", pos[0]);
	print_rate(cmd, pos[0], done, bs, agent_secs(t0, t1), direct);
	return 0;
}

/* Make sure the first `size` bytes of the file hold real data: random reads of a
 * sparse hole would never touch the device. Not timed. */
static void prepare_rand_file(const char *cmd, const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		agent_fail(cmd, errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		agent_fail(cmd, errno, "stat %s", path);
	if ((uint64_t)st.st_size < size) {
		size_t chunk = 1u << 20;
		uint8_t *buf = aligned_buf(cmd, chunk);
		agent_fill_pattern(buf, chunk, 0xd15c);
		for (uint64_t off = 0; off < size;) {
			size_t n = (size_t)(size - off < chunk ? size - off : chunk);
			ssize_t w = pwrite(fd, buf, n, (off_t)off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				agent_fail(cmd, w < 0 ? errno : ENOSPC, "filling %s", path);
			off += (uint64_t)w;
		}
		free(buf);
		if (fsync(fd) < 0)
			agent_fail(cmd, errno, "fsync %s", path);
	}
	close(fd);
}

int agent_cmd_disk_rand(int argc, char **argv)
{
	const char *cmd = "disk-rand", *size_s = NULL, *ops_s = NULL, *seed_s = NULL, *secs_s = NULL;
	const char *pos[1];
	bool do_write = false, do_fsync = false;
	const struct agent_opt opts[] = {
		{ "--size", true, &size_s, NULL },
		{ "--ops", true, &ops_s, NULL },
		{ "--seed", true, &seed_s, NULL },
		{ "--seconds", true, &secs_s, NULL },
		{ "--write", false, NULL, &do_write },
		{ "--fsync", false, NULL, &do_fsync },
		{ 0 },
	};
	if (agent_getopt(cmd, argc, argv, opts, pos, 1) != 1)
		agent_usage(cmd, "PATH is required");
	uint64_t size = agent_size_arg(cmd, "--size", size_s, RAND_BS);
	/* --seconds: keep going that long (a load, not a count); --ops then caps it. */
	double for_secs = secs_s ? agent_seconds_arg(cmd, "--seconds", secs_s) : 0;
	uint64_t ops = ops_s || !secs_s ? agent_uint_arg(cmd, "--ops", ops_s, 1, 100000000) : 100000000;
	uint64_t seed = seed_s ? agent_uint_arg(cmd, "--seed", seed_s, 0, UINT64_MAX)
	                       : (uint64_t)agent_now(CLOCK_MONOTONIC);
	if (do_fsync && !do_write)
		agent_usage(cmd, "--fsync only applies with --write");
	uint64_t blocks = size / RAND_BS;

	prepare_rand_file(cmd, pos[0], blocks * RAND_BS);
	bool direct;
	int fd = open_maybe_direct(cmd, pos[0], do_write ? O_RDWR : O_RDONLY, true, &direct);
	if (!direct)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	uint8_t *buf = aligned_buf(cmd, RAND_BS);
	agent_fill_pattern(buf, RAND_BS, seed);
	size_t lat_cap = ops < 65536 ? (size_t)ops : 65536;
	int64_t *lat = malloc(sizeof(int64_t) * lat_cap);
	if (!lat)
		agent_fail(cmd, ENOMEM, "latency array for %" PRIu64 " ops", ops);

	uint64_t rng = seed;
	int64_t t0 = agent_now(CLOCK_MONOTONIC);
	int64_t stop_at = for_secs > 0 ? t0 + (int64_t)(for_secs * 1e9) : INT64_MAX;
	uint64_t i = 0;
	while (i < ops) {
		off_t off = (off_t)((agent_rand_next(&rng) % blocks) * RAND_BS);
		int64_t a = agent_now(CLOCK_MONOTONIC);
		ssize_t r = do_write ? pwrite(fd, buf, RAND_BS, off) : pread(fd, buf, RAND_BS, off);
		if (r < 0 && errno == EINVAL && direct && i == 0) {
			drop_direct(fd, &direct);
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			t0 = agent_now(CLOCK_MONOTONIC);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r != (ssize_t)RAND_BS)
			agent_fail(cmd, r < 0 ? errno : EIO, "%s at offset %lld",
			           do_write ? "write" : "read", (long long)off);
		if (do_fsync && fdatasync(fd) < 0)
			agent_fail(cmd, errno, "fdatasync %s", pos[0]);
		int64_t b = agent_now(CLOCK_MONOTONIC);
		int64_t d = b - a > 0 ? b - a : 1;
		if (i < lat_cap) {
			lat[i] = d;
		} else if (for_secs > 0) {
			/* A timed load keeps a fixed-size uniform sample of its latencies (reservoir):
			 * its own memory must not grow while a soak watches the sandbox's. */
			uint64_t j = agent_rand_next(&rng) % (i + 1);
			if (j < lat_cap)
				lat[j] = d;
		} else {
			lat_cap *= 2;
			int64_t *grown = realloc(lat, sizeof(int64_t) * lat_cap);
			if (!grown)
				agent_fail(cmd, ENOMEM, "latency array for %zu ops", lat_cap);
			lat = grown;
			lat[i] = d;
		}
		i++;
		if (b >= stop_at)
			break;
	}
	ops = i;
	size_t nlat = ops < lat_cap ? (size_t)ops : lat_cap;
	double secs = agent_secs(t0, agent_now(CLOCK_MONOTONIC));
	close(fd);
	free(buf);
	agent_sort_i64(lat, nlat);

	printf("{\"workload\":\"disk-rand\",\"path\":");
	agent_json_str(stdout, pos[0]);
	printf(",\"file_bytes\":%" PRIu64 ",\"bs\":%u,\"ops\":%" PRIu64 ",\"seconds\":%.9f,"
	       "\"iops\":%.6g,\"lat_p50_us\":%.3f,\"lat_p95_us\":%.3f,\"lat_p99_us\":%.3f,"
	       "\"lat_p999_us\":%.3f,"
	       "\"lat_max_us\":%.3f,\"write\":%s,\"fsync\":%s,\"direct\":%s,\"mode\":\"%s\"}\n",
	       blocks * RAND_BS, RAND_BS, ops, secs, (double)ops / secs,
	       (double)agent_percentile(lat, nlat, 50) / 1e3,
	       (double)agent_percentile(lat, nlat, 95) / 1e3,
	       (double)agent_percentile(lat, nlat, 99) / 1e3,
	       (double)agent_percentile(lat, nlat, 99.9) / 1e3, (double)lat[nlat - 1] / 1e3,
	       do_write ? "true" : "false", do_fsync ? "true" : "false", direct ? "true" : "false",
	       direct ? "direct" : "buffered");
	free(lat);
	return 0;
}
