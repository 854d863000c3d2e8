#include "core/host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/util.h"

static void os_name(char *buf, size_t len)
{
	snprintf(buf, len, "Linux");
	FILE *f = fopen("/etc/os-release", "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		char *v = line + 12;
		v[strcspn(v, "\n")] = '\0';
		if (*v == '"') {
			v++;
			char *q = strrchr(v, '"');
			if (q)
				*q = '\0';
		}
		snprintf(buf, len, "%s", v);
		break;
	}
	fclose(f);
}

static void cpu_model(char *buf, size_t len)
{
	snprintf(buf, len, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) != 0)
			continue;
		char *c = strchr(line, ':');
		if (c) {
			c++;
			while (*c == ' ' || *c == '\t')
				c++;
			c[strcspn(c, "\n")] = '\0';
			snprintf(buf, len, "%s", c);
		}
		break;
	}
	fclose(f);
}

static long long mem_total_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return 0;
	long long kb = 0;
	char line[256];
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

json_t *sb_host_probe(void)
{
	struct utsname u;
	uname(&u);
	char os[256], model[256], gov[64] = "";
	os_name(os, sizeof(os));
	cpu_model(model, sizeof(model));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char hash[17];
	snprintf(hash, sizeof(hash), "%016llx",
		 (unsigned long long)sb_fnv1a64(u.nodename, strlen(u.nodename), 0));
	double load[3] = {0, 0, 0};
	getloadavg(load, 3);
	sb_read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", gov, sizeof(gov));

	json_t *hints = json_array();
	if (load[0] > (double)ncpu * 0.5)
		json_array_append_new(hints, json_sprintf("load average %.2f is above half the %ld CPUs",
							   load[0], ncpu));
	if (gov[0] && strcmp(gov, "performance") != 0)
		json_array_append_new(hints, json_sprintf("cpufreq governor is '%s', not 'performance'", gov));
	if (ncpu <= 2)
		json_array_append_new(hints, json_string("only 2 or fewer CPUs: parallel scenarios contend"));
	char virt[64] = "";
	if (sb_read_line("/sys/class/dmi/id/sys_vendor", virt, sizeof(virt)) == 0 &&
	    (strstr(virt, "QEMU") || strstr(virt, "KVM") || strstr(virt, "Amazon") || strstr(virt, "Google")))
		json_array_append_new(hints, json_sprintf("virtual machine (%s): steal time possible", virt));
	if (getenv("CI"))
		json_array_append_new(hints, json_string("running under CI (CI is set)"));

	json_t *h = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:[f,f,f]}", "os", os, "kernel",
			      u.release, "arch", u.machine, "cpu_model", model, "cpu_count", (int)ncpu,
			      "mem_total", (json_int_t)mem_total_bytes(), "hostname_hash", hash, "load_avg",
			      load[0], load[1], load[2]);
	if (!h) {
		json_decref(hints);
		return NULL;
	}
	if (gov[0])
		json_object_set_new(h, "governor", json_string(gov));
	json_object_set_new(h, "noise_hints", hints);
	return h;
}
