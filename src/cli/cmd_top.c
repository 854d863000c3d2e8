/* `sandbench top`: every live sandbox of the metrics registry as a table, refreshed; sorted by CPU
 * or memory; q quits. --once prints one table and exits (for scripts). The registry is reopened
 * whenever its file was removed or made anew, so top can be left running across runs. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/signals.h"
#include "metrics/registry.h"
#include "metrics/top.h"

static void top_usage(void)
{
	printf("usage: sandbench top [--registry PATH] [--sort cpu|mem] [--interval SECONDS] [--once]\n\n"
	       "Shows every live sandbox in the metrics registry PATH (default $SANDBENCH_REGISTRY or\n"
	       "%s), as published by `sandbench run --live`: CPU %% and CPU seconds, memory and\n"
	       "its limit, host RSS, disk read/written, network received/sent, processes, and the age of\n"
	       "the last sample. Refreshes every SECONDS (default 1). Keys: q quits, c sorts by CPU, m by\n"
	       "memory. Without a terminal it prints a table every interval.\n"
	       "--once prints one table and exits (no registry yet: just the header).\n", SB_REG_DEFAULT_PATH);
}

enum sort_key { SORT_CPU, SORT_MEM };
static enum sort_key sort_by;

static void print_table(FILE *f, struct sb_reg_entry *e, size_t n)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	sb_top_table(f, e, n, sort_by == SORT_MEM, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
}

/* The registry at path, (re)opened when needed: 0 with *reg set, 0 with *reg NULL when there is
 * none, or 1 after printing why it cannot be read. */
static int reopen(const char *path, struct sb_reg **reg)
{
	if (*reg && !sb_reg_replaced(*reg))
		return 0;
	sb_reg_close(*reg);
	*reg = NULL;
	char msg[512];
	int rc = sb_reg_open(path, false, 0, reg, msg, sizeof(msg));
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return sb_cli_fail("top: %s", msg);
	return 0;
}

static int snapshot(const char *path, struct sb_reg **reg, struct sb_reg_entry **e, size_t *cap, size_t *n)
{
	*n = 0;
	if (reopen(path, reg) != 0)
		return 1;
	if (!*reg)
		return 0;
	if (*cap < sb_reg_nslots(*reg)) {
		free(*e);
		*cap = sb_reg_nslots(*reg);
		*e = calloc(*cap, sizeof(**e));
		if (!*e)
			return sb_cli_fail("top: out of memory");
	}
	if (sb_reg_snapshot(*reg, *e, *cap, n) < 0) {
		*n = 0; /* cut under us: reopening says what is wrong with the file now */
		return reopen(path, reg);
	}
	if (*n > *cap)
		*n = *cap;
	return 0;
}

int sb_cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{"registry", required_argument, NULL, 'G'}, {"sort", required_argument, NULL, 's'},
		{"interval", required_argument, NULL, 'i'}, {"once", no_argument, NULL, '1'},
		{"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	const char *path = sb_reg_default_path();
	double interval = 1;
	bool once = false;
	int c;
	sort_by = SORT_CPU;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "top", opts)) != -1) {
		switch (c) {
		case -2: return 1;
		case 'G': path = optarg; break;
		case 's':
			if (!strcmp(optarg, "cpu"))
				sort_by = SORT_CPU;
			else if (!strcmp(optarg, "mem"))
				sort_by = SORT_MEM;
			else
				return sb_cli_fail("top: --sort %s: expected cpu or mem", optarg);
			break;
		case 'i':
			if (!sb_cli_double("--interval", optarg, &interval))
				return 1;
			if (!(interval >= 0.1) || interval > 3600)
				return sb_cli_fail("top: --interval %s: expected seconds from 0.1 to 3600", optarg);
			break;
		case '1': once = true; break;
		case 'h': top_usage(); return 0;
		}
	}
	if (optind < argc)
		return sb_cli_fail("top: unexpected argument '%s'", argv[optind]);

	struct sb_reg *reg = NULL;
	struct sb_reg_entry *e = NULL;
	size_t cap = 0, n = 0;
	int rc = 0;
	if (once) {
		rc = snapshot(path, &reg, &e, &cap, &n);
		if (rc == 0)
			print_table(stdout, e, n);
		goto out;
	}
	sb_signals_install();
	bool tty = isatty(STDOUT_FILENO);
	bool keys = tty && isatty(STDIN_FILENO);
	struct termios saved, raw;
	if (keys && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		keys = false;
	}
	while (!sb_interrupted()) {
		if ((rc = snapshot(path, &reg, &e, &cap, &n)) != 0)
			break;
		if (tty) {
			printf("\033[H\033[2J"); /* home, clear */
			printf("sandbench top: %zu live in %s%s, sorted by %s; q quits, c/m sorts by cpu/mem\n\n", n,
			       path, reg ? "" : " (no registry yet)", sort_by == SORT_CPU ? "cpu" : "mem");
		}
		print_table(stdout, e, n);
		if (!tty)
			printf("\n");
		fflush(stdout);
		/* Wait for the interval or a key. */
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		bool quit = false, redraw = false;
		for (;;) {
			struct timespec t;
			clock_gettime(CLOCK_MONOTONIC, &t);
			double left = interval - ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9);
			if (left <= 0 || sb_interrupted())
				break;
			struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
			int pr = poll(&p, keys ? 1 : 0, (int)(left * 1000) + 1);
			if (pr <= 0 || !(p.revents & POLLIN))
				continue;
			char ch;
			if (read(STDIN_FILENO, &ch, 1) != 1)
				continue;
			if (ch == 'q' || ch == 'Q')
				quit = true;
			else if (ch == 'c')
				sort_by = SORT_CPU, redraw = true;
			else if (ch == 'm')
				sort_by = SORT_MEM, redraw = true;
			if (quit || redraw)
				break;
		}
		if (quit)
			break;
	}
	if (keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
out:
	free(e);
	sb_reg_close(reg);
	return rc;
}
