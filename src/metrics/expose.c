/* Prometheus text / OpenMetrics rendering of a registry snapshot (expose.h). The two formats
 * differ in the names of counter families (OpenMetrics drops the _total of the family, keeps it on
 * the sample), UNIT lines and the closing "# EOF". */
#include "metrics/expose.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { GAUGE, COUNTER };
enum field {
	F_CPU_SECONDS, F_CPU_RATIO, F_MEM, F_MEM_LIMIT, F_RSS, F_DISK_R, F_DISK_W, F_NET_RX, F_NET_TX,
	F_PIDS, F_TIMESTAMP, F_STATS_OK,
};

static const struct family {
	const char *name; /* the family name as OpenMetrics has it (without _total) */
	enum kind kind;
	const char *unit; /* NULL = none */
	enum field field;
	const char *help;
} families[] = {
	{"sandbench_sandbox_cpu_seconds", COUNTER, "seconds", F_CPU_SECONDS, "CPU time used by the sandbox."},
	{"sandbench_sandbox_cpu_usage_ratio", GAUGE, "ratio", F_CPU_RATIO,
	 "CPU time over wall time between the last two samples (1 = one core busy)."},
	{"sandbench_sandbox_memory_bytes", GAUGE, "bytes", F_MEM, "Memory charged to the sandbox."},
	{"sandbench_sandbox_memory_limit_bytes", GAUGE, "bytes", F_MEM_LIMIT,
	 "Memory limit of the sandbox (absent when it has none)."},
	{"sandbench_sandbox_rss_bytes", GAUGE, "bytes", F_RSS, "Host RSS of the sandbox's runtime processes."},
	{"sandbench_sandbox_disk_read_bytes", COUNTER, "bytes", F_DISK_R, "Bytes the sandbox read from disk."},
	{"sandbench_sandbox_disk_written_bytes", COUNTER, "bytes", F_DISK_W, "Bytes the sandbox wrote to disk."},
	{"sandbench_sandbox_network_receive_bytes", COUNTER, "bytes", F_NET_RX,
	 "Bytes the sandbox received over its network."},
	{"sandbench_sandbox_network_transmit_bytes", COUNTER, "bytes", F_NET_TX,
	 "Bytes the sandbox sent over its network."},
	{"sandbench_sandbox_pids", GAUGE, NULL, F_PIDS, "Processes in the sandbox."},
	{"sandbench_sandbox_sample_timestamp_seconds", GAUGE, "seconds", F_TIMESTAMP,
	 "Unix time of the sandbox's last sample."},
	{"sandbench_sandbox_stats_ok", GAUGE, NULL, F_STATS_OK,
	 "1 when the last stats read of the sandbox worked, 0 when it failed."},
};

/* The value of field f in a sample; false when it has none (no sample yet, no CPU % yet, no
 * limit). Counters come from the last good read even when the latest one failed. */
static bool value(const struct sb_reg_sample *s, enum field f, double *v)
{
	if (s->count == 0)
		return false;
	/* A box whose reads all failed so far (a driver without stats) has only the last two. */
	bool numbers = s->error == 0 || s->cpu_ns || s->mem_bytes || s->rss_bytes || s->pids;
	if (!numbers && f != F_TIMESTAMP && f != F_STATS_OK)
		return false;
	switch (f) {
	case F_CPU_SECONDS: *v = (double)s->cpu_ns / 1e9; return true;
	case F_CPU_RATIO: *v = s->cpu_percent / 100.0; return isfinite(*v);
	case F_MEM: *v = (double)s->mem_bytes; return true;
	case F_MEM_LIMIT: *v = (double)s->mem_limit_bytes; return s->mem_limit_bytes != 0;
	case F_RSS: *v = (double)s->rss_bytes; return true;
	case F_DISK_R: *v = (double)s->disk_read_bytes; return true;
	case F_DISK_W: *v = (double)s->disk_write_bytes; return true;
	case F_NET_RX: *v = (double)s->net_rx_bytes; return true;
	case F_NET_TX: *v = (double)s->net_tx_bytes; return true;
	case F_PIDS: *v = (double)s->pids; return true;
	case F_TIMESTAMP: *v = (double)s->t_ns / 1e9; return true;
	case F_STATS_OK: *v = s->error == 0; return true;
	}
	return false;
}

/* A label value: backslash, double quote and newline escaped (both formats). */
static void put_label(FILE *f, const char *key, const char *v, bool last)
{
	fprintf(f, "%s=\"", key);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputs(last ? "\"" : "\",", f);
}

static void put_number(FILE *f, double v)
{
	if (v == floor(v) && fabs(v) < 9e15)
		fprintf(f, "%.0f\n", v);
	else if (fabs(v) >= 1e6) /* a Unix time: to the millisecond */
		fprintf(f, "%.3f\n", v);
	else
		fprintf(f, "%.9g\n", v);
}

static void family_head(FILE *f, const char *name, const char *type, const char *unit, const char *help,
			bool om)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	if (om && unit)
		fprintf(f, "# UNIT %s %s\n", name, unit);
}

int sb_expose(const struct sb_reg_entry *e, size_t n, uint32_t nslots, bool om, char **out, size_t *len)
{
	*out = NULL;
	FILE *f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	for (size_t k = 0; k < sizeof(families) / sizeof(families[0]); k++) {
		const struct family *fa = &families[k];
		bool counter = fa->kind == COUNTER;
		/* Prometheus text names the counter family by its sample name, OpenMetrics without _total. */
		char name[128];
		snprintf(name, sizeof(name), "%s%s", fa->name, counter && !om ? "_total" : "");
		family_head(f, name, counter ? "counter" : "gauge", fa->unit, fa->help, om);
		for (size_t i = 0; i < n; i++) {
			double v;
			if (!value(&e[i].rec.sample, fa->field, &v))
				continue;
			fprintf(f, "%s%s{", fa->name, counter ? "_total" : "");
			put_label(f, "sandbox", e[i].rec.id, false);
			put_label(f, "name", e[i].rec.name, false);
			put_label(f, "driver", e[i].rec.driver, true);
			fputs("} ", f);
			put_number(f, v);
		}
	}
	family_head(f, "sandbench_registry_sandboxes", "gauge", NULL, "Live sandboxes in the registry.", om);
	fprintf(f, "sandbench_registry_sandboxes %zu\n", n);
	family_head(f, "sandbench_registry_slots", "gauge", NULL, "Slots in the registry (0: there is none).", om);
	fprintf(f, "sandbench_registry_slots %u\n", nslots);
	if (om)
		fputs("# EOF\n", f);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

bool sb_expose_wants_openmetrics(const char *accept)
{
	return accept && strstr(accept, "application/openmetrics-text") != NULL;
}
