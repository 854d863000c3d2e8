/* sandbench-agent: the one static binary that runs inside every sandbox.
 * This file only dispatches subcommands; each lives in serve.c or workloads_*.c. */
#include "agent/agent.h"
#include "agent/proto.h"

#include <string.h>
#include <unistd.h>

static int cmd_true(int argc, char **argv)
{
	/* Deliberately does nothing, not even parse arguments: it is the cheapest
	 * possible exec for spawn benchmarks. */
	(void)argc;
	(void)argv;
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	const char *pos[1];
	agent_getopt("version", argc, argv, (const struct agent_opt[]){ { 0 } }, pos, 0);
	printf("{\"agent\":\"" AGENT_NAME "\",\"version\":");
	agent_json_str(stdout, SB_AGENT_VERSION);
	printf(",\"protocol\":%d,\"libc\":\"" SB_AGENT_LIBC "\"}\n", SB_AGENT_PROTO_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *usage;
} commands[] = {
	{ "serve", agent_cmd_serve, "[--fd N]   framed request server (docs/agent-protocol.md)" },
	{ "disk-write", agent_cmd_disk_write, "PATH --size S [--bs B]" },
	{ "disk-read", agent_cmd_disk_read, "PATH [--bs B]" },
	{ "disk-rand", agent_cmd_disk_rand,
	  "PATH --size S [--ops N] [--seconds T] [--write] [--fsync] [--seed N]" },
	{ "fs-info", agent_cmd_fs_info, "PATH [--mkdir]   (filesystem type, mount, writability)" },
	{ "tcp-sink", agent_cmd_tcp_sink,
	  "--port P|0 [--addr A] [--port-file F] [--streams N] [--max B] [--timeout T] [--mute]" },
	{ "tcp-source", agent_cmd_tcp_source,
	  "--addr A --port P --size S [--streams N] [--bs B] [--wait T] [--timeout T]" },
	{ "tcp-accept-loop", agent_cmd_tcp_accept_loop,
	  "--port P|0 [--addr A] [--port-file F] [--count N] [--timeout T]" },
	{ "tcp-connect-rate", agent_cmd_tcp_connect_rate,
	  "--addr A --port P --count N [--wait T] [--timeout T]" },
	{ "tcp-echo", agent_cmd_tcp_echo, "--port P|0 [--addr A] [--port-file F] [--timeout T]" },
	{ "tcp-rtt", agent_cmd_tcp_rtt, "--addr A --port P --count N [--size B] [--wait T] [--timeout T]" },
	{ "wait-file", agent_cmd_wait_file, "PATH [--timeout T]   (print it once it has content)" },
	{ "syscall-loop", agent_cmd_syscall_loop, "[--count N]   (ns per getppid / clock_gettime)" },
	{ "fork-rate", agent_cmd_fork_rate, "[--count N]" },
	{ "mem-bw", agent_cmd_mem_bw, "[--size S] [--passes N]" },
	{ "mem-touch", agent_cmd_mem_touch, "SIZE" },
	{ "cpu-burn", agent_cmd_cpu_burn, "SECONDS" },
	{ "stream", agent_cmd_stream, "SIZE [--bs B]   (data on stdout, JSON on stderr)" },
	{ "mark", agent_cmd_mark, "" },
	{ "idle", agent_cmd_idle, "[--signal-only]" },
	{ "true", cmd_true, "" },
	{ "version", cmd_version, "" },
	{ "help", cmd_help, "" },
};

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage: " AGENT_NAME " COMMAND [ARGS]\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-17s %s\n", commands[i].name, commands[i].usage);
	printf("\nSizes take K/M/G/T suffixes (powers of 1024). Workloads print one JSON line.\n"
	       "Bad arguments exit 2, runtime failures exit 1.\n");
	return 0;
}

int main(int argc, char **argv)
{
	/* The kernel runs /init (a link to the agent) as pid 1 with no command. */
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : argv[0];
	if (getpid() == 1 && (argc < 2 || (base && strcmp(base, "init") == 0)))
		return agent_cmd_init(argc, argv);
	if (argc < 2)
		agent_usage("main", "missing command (try '" AGENT_NAME " help')");
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		name = "help";
	else if (strcmp(name, "--version") == 0)
		name = "version";
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	agent_usage("main", "unknown command '%s' (try '" AGENT_NAME " help')", argv[1]);
}
