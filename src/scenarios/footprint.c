#include "scenarios/footprint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cgfs.h"
#include "core/clock.h"
#include "core/proc.h"
#include "core/signals.h"

#define MAX_BOX_PIDS 4096
#define MAX_HELPERS 64

static double share(const struct sb_fp_proc *p)
{
	return p->shared_by ? 1.0 / p->shared_by : 0.0;
}

static struct sb_fp_proc *find(const struct sb_footprint *fp, pid_t pid)
{
	for (size_t i = 0; i < fp->n; i++)
		if (fp->procs[i].pid == pid)
			return &fp->procs[i];
	return NULL;
}

static int add(struct sb_footprint *fp, pid_t pid, const char *role, bool daemon, unsigned shared_by)
{
	if (pid <= 0 || find(fp, pid))
		return 0;
	if (fp->n == fp->cap) {
		size_t cap = fp->cap ? fp->cap * 2 : 16;
		struct sb_fp_proc *grown = realloc(fp->procs, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		fp->procs = grown;
		fp->cap = cap;
	}
	struct sb_fp_proc *p = &fp->procs[fp->n++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(p->role, sizeof(p->role), "%s", role);
	p->daemon = daemon;
	p->shared_by = shared_by;
	sb_proc_comm(pid, p->comm, sizeof(p->comm));
	return 0;
}

int sb_fp_collect(struct sb_scn_ctx *ctx, struct sb_box *box, const pid_t *extra_pids, size_t nextra,
		  struct sb_footprint *fp)
{
	pid_t *pids = malloc(MAX_BOX_PIDS * sizeof(pid_t));
	if (!pids)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	size_t n = 0;
	struct sb_error perr = {0};
	int rc = sb_drv_pids(ctx->drv, box, pids, MAX_BOX_PIDS, &n, &perr);
	fp->box_known = rc == 0;
	if (rc == -ENOTSUP) /* the process driver: nothing of the sandbox's own lives on */
		rc = 0;
	else if (rc < 0)
		sb_error_set(ctx->err, perr.code, "%s", perr.msg);
	for (size_t i = 0; rc == 0 && i < n && i < MAX_BOX_PIDS; i++)
		rc = add(fp, pids[i], "box", false, 1);
	free(pids);
	if (rc < 0)
		return rc == -ENOMEM ? sb_error_set(ctx->err, ENOMEM, "out of memory") : rc;
	struct sb_host_proc helpers[MAX_HELPERS];
	struct sb_error herr = {0};
	size_t nh = 0;
	rc = sb_drv_host_pids(ctx->drv, box, helpers, MAX_HELPERS, &nh, &herr);
	fp->helpers_known = rc == 0;
	if (rc < 0)
		snprintf(fp->helpers_note, sizeof(fp->helpers_note), "%s", herr.msg);
	for (size_t i = 0; rc == 0 && i < nh && i < MAX_HELPERS; i++)
		if (add(fp, helpers[i].pid, helpers[i].role, helpers[i].daemon, helpers[i].shared_by) < 0)
			return sb_error_set(ctx->err, ENOMEM, "out of memory");
	/* An exec client and what it started: an agent that joined the sandbox through it (firejail
	 * --join, nsenter) may be its child rather than one of the sandbox's listed processes. */
	size_t first = fp->n;
	for (size_t i = 0; i < nextra; i++)
		if (add(fp, extra_pids[i], "exec-client", false, 1) < 0)
			return sb_error_set(ctx->err, ENOMEM, "out of memory");
	for (size_t i = first; i < fp->n && fp->n < MAX_BOX_PIDS; i++) {
		pid_t kids[64];
		size_t nk = sb_proc_children(fp->procs[i].pid, kids, 64);
		for (size_t k = 0; k < nk; k++)
			if (add(fp, kids[k], "exec-client", false, 1) < 0)
				return sb_error_set(ctx->err, ENOMEM, "out of memory");
	}
	return 0;
}

void sb_fp_reset(struct sb_footprint *fp)
{
	fp->n = 0;
	fp->box_known = fp->helpers_known = false;
	fp->helpers_note[0] = '\0';
}

void sb_fp_free(struct sb_footprint *fp)
{
	free(fp->procs);
	memset(fp, 0, sizeof(*fp));
}

void sb_fp_measure(const struct sb_footprint *fp, struct sb_fp_mem *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < fp->n; i++) {
		const struct sb_fp_proc *p = &fp->procs[i];
		double w = share(p);
		struct sb_proc_memx m;
		if (w == 0 || sb_proc_mem_detail(p->pid, &m) < 0)
			continue;
		int fds = sb_proc_fd_count(p->pid);
		out->rss += w * (double)m.rss;
		out->pss += w * (double)m.pss;
		out->uss += w * (double)m.uss;
		*(strcmp(p->role, "box") == 0 ? &out->box_pss
		  : p->daemon		      ? &out->daemon_pss
					      : &out->helper_pss) += w * (double)m.pss;
		out->fds += w * (fds > 0 ? fds : 0);
		out->procs++;
	}
}

void sb_fp_cpu(struct sb_footprint *fp)
{
	for (size_t i = 0; i < fp->n; i++)
		fp->procs[i].cpu_ns = sb_proc_cpu_exact_ns(fp->procs[i].pid, true);
}

double sb_fp_cpu_delta(const struct sb_footprint *before, const struct sb_footprint *after)
{
	double total = 0;
	for (size_t i = 0; i < after->n; i++) {
		const struct sb_fp_proc *a = &after->procs[i];
		const struct sb_fp_proc *b = find(before, a->pid);
		uint64_t from = b ? b->cpu_ns : 0;
		if (a->cpu_ns > from)
			total += share(a) * (double)(a->cpu_ns - from);
	}
	return total;
}

void sb_fp_describe(const struct sb_footprint *fp, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		bool first = true;
		for (size_t i = 0; i < fp->n && used + 1 < len; i++) {
			const struct sb_fp_proc *p = &fp->procs[i];
			bool is_box = strcmp(p->role, "box") == 0;
			if (is_box != (pass == 0))
				continue;
			char how[48] = "";
			if (!is_box && strcmp(p->role, p->comm) != 0)
				snprintf(how, sizeof(how), " [%s]", p->role);
			if (p->shared_by == 0)
				snprintf(how + strlen(how), sizeof(how) - strlen(how), " (shared, not counted)");
			else if (p->daemon)
				snprintf(how + strlen(how), sizeof(how) - strlen(how), " (daemon, 1/%u)", p->shared_by);
			used += (size_t)snprintf(buf + used, len - used, "%s%d %s%s",
						  first ? (pass == 0 ? "box: " : "; helpers: ") : ", ", (int)p->pid,
						  p->comm, how);
			first = false;
			if (used >= len)
				used = len - 1;
		}
		if (pass == 0 && first && used + 1 < len)
			used += (size_t)snprintf(buf + used, len - used, "box: %s",
						  fp->box_known ? "none" : "not listed by the driver");
		if (pass == 1 && first && used + 1 < len)
			used += (size_t)snprintf(buf + used, len - used, "; helpers: %s",
						  fp->helpers_known ? "none" : "not reported by the driver");
	}
}

int sb_host_drop_caches(char *why, size_t len)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "3\n", 2) != 2) {
		int e = errno;
		snprintf(why, len, "/proc/sys/vm/drop_caches: %s", strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

bool sb_host_ksm_on(void)
{
	bool ok;
	return sb_cg_read_u64("/sys/kernel/mm/ksm", "run", &ok) == 1 && ok;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double sb_host_mem_available(double window_s)
{
	enum { MAX_READS = 201 };
	double v[MAX_READS];
	int n = (int)(window_s / 0.05) + 1;
	n = n < 5 ? 5 : n > MAX_READS ? MAX_READS : n;
	for (int i = 0; i < n; i++) {
		if (i)
			nanosleep(&(struct timespec){0, (n > 5 ? 50 : 20) * 1000 * 1000}, NULL);
		v[i] = (double)sb_meminfo_bytes("MemAvailable");
	}
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return v[n / 2];
}

double sb_host_kernel_mem(void)
{
	return (double)(sb_meminfo_bytes("SUnreclaim") + sb_meminfo_bytes("PageTables") +
			sb_meminfo_bytes("KernelStack") + sb_meminfo_bytes("Shmem"));
}

int sb_host_kernel_mem_quiesce(struct sb_scn_ctx *ctx, double max_s, double *waited_s)
{
	/* Quiet: five reads 100 ms apart, each within 256 KiB of the one before. The kernel frees a
	 * destroyed sandbox's namespaces from a worker, seconds after it is gone (200 native boxes
	 * are ~80 MiB of slab), so a baseline taken earlier drifts up under the next measurement. */
	int64_t t0 = sb_now_ns();
	double prev = sb_host_kernel_mem();
	int quiet = 0, rc = 0;
	while (quiet < 5 && (double)(sb_now_ns() - t0) / 1e9 < max_s) {
		if ((rc = sb_scn_sleep(ctx, 0.1)) < 0)
			break;
		double now = sb_host_kernel_mem();
		quiet = now - prev < 262144.0 && prev - now < 262144.0 ? quiet + 1 : 0;
		prev = now;
	}
	*waited_s = (double)(sb_now_ns() - t0) / 1e9;
	return rc;
}

int sb_scn_sleep(struct sb_scn_ctx *ctx, double seconds)
{
	int64_t end = sb_now_ns() + (int64_t)(seconds * 1e9);
	for (int64_t now = sb_now_ns(); now < end; now = sb_now_ns()) {
		if (sb_interrupted())
			return sb_error_set(ctx->err, EINTR, "interrupted");
		if (sb_deadline_passed(ctx->deadline_ns))
			return sb_error_set(ctx->err, ETIMEDOUT, "the deadline passed while waiting");
		int64_t step = end - now < 50000000 ? end - now : 50000000;
		nanosleep(&(struct timespec){0, step}, NULL);
	}
	return 0;
}

int sb_scn_param_seconds(struct sb_scn_ctx *ctx, const char *key, double lo, double hi, double *out)
{
	const char *v = sb_scn_param(ctx, key);
	char *end;
	double d = v ? strtod(v, &end) : -1;
	if (!v || end == v || *end || !(d >= lo && d <= hi))
		return sb_error_set(ctx->err, EINVAL, "parameter %s=%s: expected seconds in [%g, %g]", key,
				    v ? v : "", lo, hi);
	*out = d;
	return 0;
}
