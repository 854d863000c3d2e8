/* The `sandbench top` table (top.h). Every field comes from a shared file another process wrote,
 * so nothing here may trust a value: ages are computed in floating point (a hostile timestamp
 * must not overflow a subtraction) and every cell is printed into a bounded buffer. */
#include "metrics/top.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool sort_by_mem; /* qsort has no context argument */

static int cmp_entries(const void *a, const void *b)
{
	const struct sb_reg_sample *x = &((const struct sb_reg_entry *)a)->rec.sample;
	const struct sb_reg_sample *y = &((const struct sb_reg_entry *)b)->rec.sample;
	if (!sort_by_mem) {
		double cx = isfinite(x->cpu_percent) ? x->cpu_percent : -1;
		double cy = isfinite(y->cpu_percent) ? y->cpu_percent : -1;
		if (cx != cy)
			return cx < cy ? 1 : -1;
	}
	if (x->mem_bytes != y->mem_bytes)
		return x->mem_bytes < y->mem_bytes ? 1 : -1;
	return strcmp(((const struct sb_reg_entry *)a)->rec.id, ((const struct sb_reg_entry *)b)->rec.id);
}

static const char *size_str(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "BKMGTP";
	double d = (double)v;
	int u = 0;
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)v);
	else
		snprintf(buf, len, "%.1f%c", d, units[u]);
	return buf;
}

void sb_top_table(FILE *f, struct sb_reg_entry *e, size_t n, bool by_mem, int64_t now_ns)
{
	sort_by_mem = by_mem;
	if (n > 1)
		qsort(e, n, sizeof(*e), cmp_entries);
	fprintf(f, "%-22s %-20s %-10s %7s %6s %9s %8s %8s %8s %8s %8s %8s %8s %5s %5s\n", "SANDBOX", "NAME",
		"DRIVER", "PID", "CPU%", "CPU-S", "MEM", "LIMIT", "RSS", "DISK-R", "DISK-W", "NET-RX", "NET-TX",
		"PIDS", "AGE");
	for (size_t i = 0; i < n; i++) {
		const struct sb_reg_record *r = &e[i].rec;
		const struct sb_reg_sample *s = &r->sample;
		char cpu[16] = "-", cpus[24] = "-", mem[16] = "-", lim[16] = "-", rss[16] = "-", dr[16] = "-",
		     dw[16] = "-", rx[16] = "-", tx[16] = "-", pids[16] = "-", age[16] = "-";
		bool numbers = s->count && (s->error == 0 || s->cpu_ns || s->mem_bytes || s->rss_bytes);
		if (s->count && isfinite(s->cpu_percent))
			snprintf(cpu, sizeof(cpu), "%.1f", s->cpu_percent);
		if (numbers) {
			snprintf(cpus, sizeof(cpus), "%.2f", (double)s->cpu_ns / 1e9);
			size_str(s->mem_bytes, mem, sizeof(mem));
			if (s->mem_limit_bytes)
				size_str(s->mem_limit_bytes, lim, sizeof(lim));
			size_str(s->rss_bytes, rss, sizeof(rss));
			size_str(s->disk_read_bytes, dr, sizeof(dr));
			size_str(s->disk_write_bytes, dw, sizeof(dw));
			size_str(s->net_rx_bytes, rx, sizeof(rx));
			size_str(s->net_tx_bytes, tx, sizeof(tx));
			snprintf(pids, sizeof(pids), "%llu", (unsigned long long)s->pids);
		}
		if (s->count)
			snprintf(age, sizeof(age), "%.0fs", ((double)now_ns - (double)s->t_ns) / 1e9);
		if (s->error && !numbers) /* e.g. a driver without stats */
			snprintf(cpu, sizeof(cpu), "n/a");
		fprintf(f, "%-22s %-20s %-10s %7d %6s %9s %8s %8s %8s %8s %8s %8s %8s %5s %5s\n", r->id, r->name,
			r->driver, (int)r->owner_pid, cpu, cpus, mem, lim, rss, dr, dw, rx, tx, pids, age);
	}
}
