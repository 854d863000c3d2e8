/* Internal interface of the sandbench-agent executable: subcommand entry points and the
 * small helpers they share. Nothing here is linked into the host side. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#ifndef SB_AGENT_VERSION
#define SB_AGENT_VERSION "unknown"
#endif

#define AGENT_NAME "sandbench-agent"

/* Bad usage: print "sandbench-agent: CMD: message" as the only stderr line, exit 2. */
_Noreturn void agent_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Runtime failure: one stderr line, with ": strerror(errnum)" when errnum != 0; exit 1. */
_Noreturn void agent_fail(const char *cmd, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One option of a subcommand. has_arg options store their value in *val (last one
 * wins); flags set *flag. */
struct agent_opt {
	const char *name; /* "--size" */
	bool has_arg;
	const char **val;
	bool *flag;
};

/* Parse argv[1..argc) against opts (terminated by a zero entry); "--opt=v" and
 * "--opt v" both work. Positionals go to pos[] (at most maxpos, else usage error).
 * Returns the number of positionals; exits 2 on anything unknown. */
int agent_getopt(const char *cmd, int argc, char **argv, const struct agent_opt *opts,
                 const char **pos, int maxpos);

/* Size with optional K/M/G/T suffix (powers of 1024, case-insensitive, optional
 * trailing "B" or "iB"). Returns 0 or -EINVAL. */
int agent_parse_size(const char *s, uint64_t *out);
/* Argument helpers that exit 2 naming `what` on bad input. */
uint64_t agent_size_arg(const char *cmd, const char *what, const char *val, uint64_t min);
uint64_t agent_uint_arg(const char *cmd, const char *what, const char *val, uint64_t min,
                        uint64_t max);
double agent_seconds_arg(const char *cmd, const char *what, const char *val);

int64_t agent_now(clockid_t clk);
/* Elapsed seconds from a to b (ns), never 0 so rates stay finite. */
double agent_secs(int64_t a, int64_t b);
/* Write s as a JSON string literal (quotes included). */
void agent_json_str(FILE *f, const char *s);
/* Nearest-rank percentile (0 < p <= 100) of an ascending array. */
int64_t agent_percentile(const int64_t *sorted, size_t n, double p);
void agent_sort_i64(int64_t *v, size_t n);
uint64_t agent_rand_next(uint64_t *state);
/* Fill with a non-repeating pattern so nothing downstream can compress or dedupe it. */
void agent_fill_pattern(void *buf, size_t n, uint64_t seed);
/* Write all of buf, retrying on EINTR and short writes. Returns 0 or -errno. */
int agent_write_all(int fd, const void *buf, size_t n);

int agent_cmd_serve(int argc, char **argv);
/* pid 1 of a microVM (init.c); argv as the kernel passed it. */
int agent_cmd_init(int argc, char **argv);
/* sync and reset the guest (its VMM runs with -no-reboot, so it exits); never returns. */
_Noreturn void agent_reset_guest(void);
int agent_cmd_disk_write(int argc, char **argv);
int agent_cmd_disk_read(int argc, char **argv);
int agent_cmd_disk_rand(int argc, char **argv);
int agent_cmd_tcp_sink(int argc, char **argv);
int agent_cmd_tcp_source(int argc, char **argv);
int agent_cmd_tcp_accept_loop(int argc, char **argv);
int agent_cmd_tcp_connect_rate(int argc, char **argv);
int agent_cmd_tcp_echo(int argc, char **argv);
int agent_cmd_tcp_rtt(int argc, char **argv);
int agent_cmd_wait_file(int argc, char **argv);
int agent_cmd_fs_info(int argc, char **argv);
int agent_cmd_syscall_loop(int argc, char **argv);
int agent_cmd_fork_rate(int argc, char **argv);
int agent_cmd_mem_bw(int argc, char **argv);
int agent_cmd_mem_touch(int argc, char **argv);
int agent_cmd_cpu_burn(int argc, char **argv);
int agent_cmd_stream(int argc, char **argv);
int agent_cmd_mark(int argc, char **argv);
int agent_cmd_idle(int argc, char **argv);
