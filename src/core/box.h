/* The value types that describe a sandbox and what is asked of it: shared by the driver vtable
 * (src/drivers/driver.h), the built-in sandbox (src/native/) and the scenarios, so none of them
 * has to include another's headers. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/params.h"
#include "core/proc.h"

/* The network a scenario asks for; a driver parameter that sets the network wins over it. */
enum sb_box_net {
	SB_BOX_NET_DEFAULT = 0, /* whatever the driver's parameters say */
	SB_BOX_NET_NONE,        /* loopback only */
	SB_BOX_NET_LINK,        /* a host<->sandbox link (SB_CAP_NET: native's veth) */
};

/* A host directory mounted into the sandbox (SB_CAP_VOLUMES): writes to box_path reach host_path
 * without passing through the sandbox's own root layer. */
struct sb_volume {
	const char *host_path; /* an existing directory on the host */
	const char *box_path;  /* absolute path inside the sandbox (made when missing) */
	bool readonly;
};

/* A host port forwarded to a port of the sandbox (SB_CAP_PORTS). */
struct sb_port {
	uint16_t host_port; /* 0: the driver picks a free one */
	uint16_t box_port;
};

/* The two ends of the host<->sandbox network a driver made (SB_CAP_NET), numeric addresses. */
struct sb_box_addr {
	char host_ip[48]; /* the host's end, reachable from inside the sandbox */
	char box_ip[48];  /* the sandbox's end, reachable from the host */
};

/* What a sandbox should be. Everything but name is optional. */
struct sb_box_spec {
	const char *name;               /* unique per run; drivers embed it in their markers */
	const struct sb_params *params; /* driver parameters (e.g. net=veth) */
	const char *rootfs;             /* the standard rootfs directory (agent at /sandbench-agent) */
	const char *agent_path;         /* host path of sandbench-agent (drivers without a rootfs) */
	bool warm;                      /* use the warm path where the driver has one */
	uint64_t mem_limit_bytes;       /* 0 = none */
	uint64_t pids_limit;            /* 0 = none */
	double cpu_limit;               /* CPUs, 0 = none */
	enum sb_box_net net;
	/* The strictest isolation the driver offers (read-only root, no network, no capabilities
	 * left), on top of its defaults: what a jailed start costs. */
	bool strict;
	/* The scenario measures the sandbox's own root filesystem (the disk scenarios): where a driver
	 * can keep the writable layer in memory or on a disk, on a disk (native: layer=auto). */
	bool root_on_disk;
	const struct sb_volume *volumes; /* host directories to mount (SB_CAP_VOLUMES) */
	size_t nvolumes;
	const struct sb_port *ports;    /* ports to forward (SB_CAP_PORTS) */
	size_t nports;
	void *drv_state;                /* the driver instance's state (its open op), or NULL */
};

struct sb_exec_req {
	const char *const *argv;
	const char *stdin_data;
	size_t stdin_len;
	bool passthrough;    /* inherit the caller's stdio (sandbench exec) */
	bool discard_stdout; /* count stdout bytes only */
	size_t out_cap;      /* 0 = 16 MiB */
	int64_t deadline_ns;
};

/* Same shape as the process runner's result: exit code/signal, captures, timing, rusage. */
#define sb_exec_result sb_proc_result

/* A connection to one `sandbench-agent serve` running inside a sandbox. */
struct sb_agent_conn {
	int to_agent;   /* write requests here */
	int from_agent; /* read responses here */
	pid_t pid;      /* host pid of the process that carries the connection (for kill/reap), or 0 */
};

struct sb_box_stats {
	uint64_t cpu_ns;       /* CPU time used by the sandbox */
	uint64_t mem_bytes;    /* memory currently charged */
	uint64_t mem_peak_bytes;
	uint64_t mem_limit_bytes; /* 0 = none */
	uint64_t pss_bytes;    /* host PSS of the sandbox's processes (0 = unknown) */
	uint64_t rss_bytes;
	uint64_t pids;
	uint64_t io_read_bytes, io_write_bytes;
	uint64_t net_rx_bytes, net_tx_bytes;
	/* microVMs: the guest's own view, from its agent (0 = unknown) */
	uint64_t guest_mem_total_bytes, guest_mem_used_bytes, guest_cpu_ns;
	/* Boot phases of a sandbox that boots a kernel (0 = not applicable). Host-clock phases are
	 * measured by the driver; guest-clock phases by the guest (the clocks are not comparable). */
	uint64_t boot_console_ns;    /* host: VMM started -> first byte on the serial console */
	uint64_t boot_kernel_ns;     /* guest: kernel clock start -> the agent's /init runs */
	uint64_t boot_init_ns;       /* guest: /init start -> agent serving its channels */
	uint64_t boot_ready_ns;      /* host: VMM started -> agent answered on the channel */
	uint64_t boot_first_exec_ns; /* host: agent answered -> first exec completed */
	/* In, not out: what the caller can do without (SB_STATS_*, set through sb_drv_stats_ex). A
	 * driver may skip the dear part of a figure so marked and leave it 0 (unknown); drivers
	 * that ignore it fill everything as before. */
	uint32_t skip;
};
/* pss_bytes is not needed (a live sampler polling often): PSS means walking every process's
 * page tables (smaps_rollup), RSS is a counter. */
#define SB_STATS_NO_PSS 1u

/* What a runtime's own inspect path says about one sandbox. */
struct sb_box_info {
	char name[128];   /* the name the runtime knows it by (what its list shows) */
	char status[32];  /* the runtime's word: running, created, stopped, ... */
	pid_t pid;        /* its init on the host, 0 when the runtime does not say */
	/* The host filesystem under the sandbox's writable root layer (an overlay's upper dir):
	 * "ext4", "tmpfs", ...; "" when the runtime does not say. What a sandbox writes to its root
	 * really lands on, which its own view (statfs: "overlay") cannot tell. */
	char layer_fs[32];
};

/* A host process a runtime keeps alive for a sandbox without it being inside the sandbox (a shim,
 * conmon, a monitor, a VMM), or a daemon it shares with other sandboxes. */
struct sb_host_proc {
	pid_t pid;
	char role[32];      /* what it is: "conmon", "containerd-shim", "lxc-monitor", "dockerd", ... */
	bool daemon;        /* serves every sandbox of the runtime, not this one alone */
	unsigned shared_by; /* how many sandboxes it serves: this one's share is 1/shared_by (1: this
			     * sandbox's alone); 0: an unknown number (listed, not attributed) */
};

struct sb_box; /* opaque, owned by the driver */
