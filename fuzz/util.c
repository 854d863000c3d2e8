/* Helpers for the fuzz targets: input files, a private directory, /dev/null. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

static char tmpdir[64];

static void rm_tmpdir(void)
{
	/* Only files this harness wrote live there, one level deep. */
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: cannot remove %s\n", tmpdir);
}

const char *fuzz_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/sb-fuzz-XXXXXX");
		if (!mkdtemp(tmpdir))
			abort();
		atexit(rm_tmpdir);
	}
	return tmpdir;
}

static void write_all(int fd, const void *data, size_t size)
{
	const char *p = data;
	while (size) {
		ssize_t n = write(fd, p, size);
		if (n <= 0)
			abort();
		p += n;
		size -= (size_t)n;
	}
}

const char *fuzz_write(const char *dir, const char *name, const void *data, size_t size)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	write_all(fd, data, size);
	close(fd);
	return path;
}

const char *fuzz_input_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("sb-fuzz-input", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	write_all(fd, data, size);
	return path;
}

FILE *fuzz_devnull(void)
{
	static FILE *f;
	if (!f && !(f = fopen("/dev/null", "we")))
		abort();
	return f;
}

char *fuzz_report_json(const char *run_id, const char *scenario, const char *driver, const char *status)
{
	static const char fmt[] =
		"{\"schema\":\"sandbench.report/v1\",\"tool\":{\"name\":\"sandbench\",\"version\":\"0.1.0\"},"
		"\"run\":{\"id\":\"%s\",\"started_at\":\"2026-01-01T00:00:00Z\",\"host\":{\"os\":\"x\",\"kernel\":\"6.1\","
		"\"arch\":\"x86_64\",\"cpu_model\":\"AMD EPYC\",\"cpu_count\":2,\"mem_total\":1}},"
		"\"scenario\":{\"name\":\"%s\",\"axis\":\"latency\",\"params\":{}},"
		"\"driver\":{\"name\":\"%s\",\"version\":\"1.0\"},\"config\":{\"runs\":3,\"warmup\":0,\"timeout\":60},"
		"\"status\":\"%s\",\"samples\":["
		"{\"iteration\":0,\"warmup\":false,\"metrics\":{\"lifecycle_ms\":1.0,\"exec_ms\":0.5},\"host_ref_ms\":1.0},"
		"{\"iteration\":1,\"warmup\":false,\"metrics\":{\"lifecycle_ms\":1.1,\"exec_ms\":0.6},\"host_ref_ms\":1.1},"
		"{\"iteration\":2,\"warmup\":false,\"metrics\":{\"lifecycle_ms\":0.9,\"exec_ms\":0.4},\"host_ref_ms\":0.9}],"
		"\"aggregates\":["
		"{\"metric\":\"lifecycle_ms\",\"unit\":\"ms\",\"higher_is_better\":false,\"n\":3,\"p50\":1.0,\"p99\":1.1},"
		"{\"metric\":\"exec_ms\",\"unit\":\"ms\",\"higher_is_better\":false,\"n\":3,\"p50\":0.5,\"p99\":0.6},"
		"{\"metric\":\"rate_ops_s\",\"unit\":\"ops/s\",\"higher_is_better\":true,\"n\":1,\"p50\":100}],"
		"\"tags\":{}}";
	char *s = NULL;
	if (asprintf(&s, fmt, run_id, scenario, driver, status) < 0)
		abort();
	return s;
}
