/* The live-metrics registry: a file (by default /dev/shm/sandbench-metrics) that sandbench
 * processes publish their sandboxes' last samples into and any program can read without talking
 * to them. This header and registry.c need only libc, so another program can include and build
 * them as they are. Layout, concurrency rules and names: docs/metrics.md.
 *
 * Layout: a 64-byte header (magic, version, header size, slot size, slot count, the creator's pid
 * namespace), then nslots fixed-size slots, no pointers anywhere. A slot is a claim word (0 free,
 * else the owner's pid and the low 32 bits of its start time), a seqlock counter and two copies of
 * a record: generation (bumped on every claim), owner pid and start time, sandbox id, name,
 * driver, and the last sample. The counter is odd while a writer updates copy 0 and even while it
 * updates copy 1; a reader reads the other copy and retries when the counter moved meanwhile.
 *
 * Writers never block readers (not even one descheduled or killed in the middle of a write: the
 * other copy is whole); a reader retries a torn read and never returns one; a slot whose
 * owner died (pid gone, a zombie, or reused by a process with another start time) is never read
 * as live and is reclaimed by the next claimant. One writer per slot at a time: the owner of a
 * claim serialises its own write/release calls for that slot. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SB_REG_MAGIC "SBMETREG" /* 8 bytes, no terminator in the file */
#define SB_REG_VERSION 1u
#define SB_REG_HEADER_SIZE 64u
#define SB_REG_SLOT_SIZE 640u
#define SB_REG_DEFAULT_SLOTS 1024u
#define SB_REG_MAX_SLOTS 65536u
#define SB_REG_DEFAULT_PATH "/dev/shm/sandbench-metrics"
#define SB_REG_ENV "SANDBENCH_REGISTRY"

#define SB_REG_ID_LEN 48
#define SB_REG_NAME_LEN 64
#define SB_REG_DRIVER_LEN 24

/* One sample of one sandbox. Counters are totals since the sandbox started. */
struct sb_reg_sample {
	int64_t t_ns;             /* CLOCK_REALTIME when taken; 0 = no sample yet */
	uint64_t count;           /* samples written since the claim */
	double cpu_percent;       /* CPU-time delta over wall delta, 100 = one core busy; NaN = none
				   * (first sample, or the counter went backwards) */
	uint64_t cpu_ns;          /* CPU time used */
	uint64_t mem_bytes;       /* memory charged now */
	uint64_t mem_limit_bytes; /* 0 = no limit */
	uint64_t rss_bytes;       /* host RSS of the sandbox's runtime processes */
	uint64_t disk_read_bytes, disk_write_bytes;
	uint64_t net_rx_bytes, net_tx_bytes;
	uint64_t pids;
	int32_t error;            /* errno of the last failed stats read (0 = this sample is good) */
	uint32_t reserved;
};

/* What a slot holds; a reader gets a consistent copy of all of it. */
struct sb_reg_record {
	uint64_t generation;  /* bumped on every claim: same slot + same generation = same sandbox */
	int32_t owner_pid;    /* 0 in a free slot */
	uint32_t reserved;
	uint64_t owner_start; /* the owner's start time, clock ticks after boot (/proc/PID/stat field 22) */
	int64_t claimed_ns;   /* CLOCK_REALTIME of the claim */
	char id[SB_REG_ID_LEN];         /* the sandbox's unique name (NUL-terminated) */
	char name[SB_REG_NAME_LEN];     /* what it belongs to, e.g. the scenario */
	char driver[SB_REG_DRIVER_LEN]; /* the driver that made it */
	struct sb_reg_sample sample;    /* the last sample */
};

/* A live slot in a snapshot. */
struct sb_reg_entry {
	uint32_t slot;
	struct sb_reg_record rec;
};

struct sb_reg; /* an open registry (mapping + descriptor) */

/* $SANDBENCH_REGISTRY when set and non-empty, else SB_REG_DEFAULT_PATH. */
const char *sb_reg_default_path(void);

/* Open the registry at path. Readers (writable=false) open an existing file read-only: -ENOENT
 * when there is none. Writers open it, or create it with nslots slots (0 = the default) when
 * absent: the file is made under a temporary name and linked into place, so nobody ever sees a
 * half-made one. A file with a wrong magic, version, slot size or length, or one made in another
 * pid namespace (owner pids could not be checked), is refused: -EINVAL / -EPROTO / -EXDEV with one
 * line in err (err may be NULL). */
int sb_reg_open(const char *path, bool writable, uint32_t nslots, struct sb_reg **out, char *err,
		size_t errlen);
/* Unmap and close. The last writer to close a registry without live slots removes the file, so a
 * finished run leaves nothing in /dev/shm. */
void sb_reg_close(struct sb_reg *reg);
uint32_t sb_reg_nslots(const struct sb_reg *reg);
/* Does the path no longer name the file this handle maps (removed by its last writer, or made
 * anew), or was the file cut shorter under the map? Long-lived readers check it before a snapshot
 * and reopen. */
bool sb_reg_replaced(const struct sb_reg *reg);
const char *sb_reg_path(const struct sb_reg *reg);

/* Writer: take a free slot (or one whose owner died) for a sandbox; the record starts without a
 * sample. -ENOSPC when every slot is held by a live owner. */
int sb_reg_claim(struct sb_reg *reg, const char *id, const char *name, const char *driver,
		 uint32_t *slot, char *err, size_t errlen);
/* A file cut shorter under the map (by anything but sandbench) is caught, never a crash: claim,
 * read and snapshot fail with -EIO from then on; write and release do nothing. */
/* Writer: publish the slot's last sample (wait-free: a few dozen stores). */
void sb_reg_write(struct sb_reg *reg, uint32_t slot, const struct sb_reg_sample *sample);
/* Writer: give the slot back. */
void sb_reg_release(struct sb_reg *reg, uint32_t slot);

/* Readers: a handle's reads are for one thread at a time (it caches a pidfd per owner, so checking
 * an owner's liveness costs one poll(); the first check of an owner reads /proc once).
 *
 * Reader: a consistent copy of one slot. 0 and *out filled when the slot is live; -ENOENT when it
 * is free or its owner is dead; -EAGAIN when a writer kept it busy through every retry. */
int sb_reg_read(struct sb_reg *reg, uint32_t slot, struct sb_reg_record *out);
/* Reader: every live slot, in slot order, into out (up to cap); *n = how many are live (may exceed
 * cap). */
int sb_reg_snapshot(struct sb_reg *reg, struct sb_reg_entry *out, size_t cap, size_t *n);

/* The start time of pid (field 22 of /proc/PID/stat, clock ticks after boot): 0 and *start set
 * when it is alive, -ESRCH when it is gone or a zombie. */
int sb_reg_proc_start(pid_t pid, uint64_t *start);
