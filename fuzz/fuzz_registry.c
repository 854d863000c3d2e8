/* Fuzz target: the live-metrics registry file (src/metrics/registry.c) as `sandbench top` and
 * `sandbench metrics serve` read it — open and check the header, map it, snapshot every slot and
 * read each one, then the scrape text in both formats and top's table — and, on a copy, what a
 * writer does with a file it finds in place: claim a slot, publish a sample, release, close.
 *
 * The first byte holds flags, the rest is the file. A slot only counts as live when its owner
 * process is alive, which random bytes never name, so flags let the harness stamp this process
 * into the input: OWN_CLAIMS turns every non-zero claim word into this process's key, OWN_RECORDS
 * writes its pid and start time into every record that has an owner, FIX_HEADER makes the header
 * valid for the bytes that follow (so mutations reach the slots), WRITER adds the writer's pass. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "metrics/expose.h"
#include "metrics/registry.h"
#include "metrics/top.h"

enum { OWN_CLAIMS = 1, OWN_RECORDS = 2, FIX_HEADER = 4, WRITER = 8 };

/* The layout docs/metrics.md gives: a 64-byte header, then slots of a claim word, a seqlock word
 * and two copies of the record. */
#define CLAIM_OFF 0
#define COPY_OFF(c) (16 + (c) * sizeof(struct sb_reg_record))
#define PID_OFF offsetof(struct sb_reg_record, owner_pid)
#define START_OFF offsetof(struct sb_reg_record, owner_start)

static uint64_t self_key;
static int32_t self_pid;
static uint64_t self_start;

static void stamp(uint8_t *file, size_t len, unsigned flags)
{
	for (size_t off = SB_REG_HEADER_SIZE; off + SB_REG_SLOT_SIZE <= len; off += SB_REG_SLOT_SIZE) {
		uint8_t *slot = file + off;
		uint64_t claim;
		memcpy(&claim, slot + CLAIM_OFF, 8);
		if ((flags & OWN_CLAIMS) && claim)
			memcpy(slot + CLAIM_OFF, &self_key, 8);
		for (int c = 0; c < 2 && (flags & OWN_RECORDS); c++) {
			int32_t pid;
			memcpy(&pid, slot + COPY_OFF(c) + PID_OFF, 4);
			if (pid) {
				memcpy(slot + COPY_OFF(c) + PID_OFF, &self_pid, 4);
				memcpy(slot + COPY_OFF(c) + START_OFF, &self_start, 8);
			}
		}
	}
}

static void fix_header(uint8_t *file, size_t *len)
{
	size_t nslots = (*len - SB_REG_HEADER_SIZE) / SB_REG_SLOT_SIZE;
	*len = SB_REG_HEADER_SIZE + nslots * SB_REG_SLOT_SIZE;
	uint32_t words[4] = {SB_REG_VERSION, SB_REG_HEADER_SIZE, SB_REG_SLOT_SIZE, (uint32_t)nslots};
	uint64_t pidns = 0;
	memcpy(file, SB_REG_MAGIC, 8);
	memcpy(file + 8, words, sizeof(words));
	memcpy(file + 24, &pidns, 8);
}

/* A record handed to a reader must be safe to print as it is. */
static void check_record(const struct sb_reg_record *r)
{
	if (!memchr(r->id, 0, sizeof(r->id)) || !memchr(r->name, 0, sizeof(r->name)) ||
	    !memchr(r->driver, 0, sizeof(r->driver)))
		abort();
}

static void read_side(const char *path)
{
	struct sb_reg *reg;
	char msg[512];
	if (sb_reg_open(path, false, 0, &reg, msg, sizeof(msg)) < 0)
		return;
	uint32_t nslots = sb_reg_nslots(reg);
	struct sb_reg_entry *e = calloc(nslots, sizeof(*e));
	if (!e)
		abort();
	size_t n;
	sb_reg_snapshot(reg, e, nslots, &n);
	if (n > nslots)
		abort();
	for (size_t i = 0; i < n; i++)
		check_record(&e[i].rec);
	for (uint32_t i = 0; i <= nslots; i++) {
		struct sb_reg_record r;
		if (sb_reg_read(reg, i, &r) == 0)
			check_record(&r);
	}
	for (int om = 0; om < 2; om++) {
		char *text;
		size_t len;
		if (sb_expose(e, n, nslots, om, &text, &len) == 0)
			free(text);
	}
	sb_top_table(fuzz_devnull(), e, n, false, 1700000000000000000);
	sb_top_table(fuzz_devnull(), e, n, true, 1700000000000000000);
	free(e);
	sb_reg_close(reg);
}

static void write_side(const uint8_t *file, size_t len)
{
	const char *dir = fuzz_tmpdir();
	fuzz_write(dir, "registry", file, len);
	char path[512];
	snprintf(path, sizeof(path), "%s/registry", dir);
	struct sb_reg *reg;
	char msg[512];
	if (sb_reg_open(path, true, 0, &reg, msg, sizeof(msg)) < 0)
		return;
	uint32_t slot;
	if (sb_reg_claim(reg, "fuzz-box", "fuzz", "native", &slot, msg, sizeof(msg)) == 0) {
		if (slot >= sb_reg_nslots(reg))
			abort();
		struct sb_reg_sample s = {.t_ns = 1, .count = 1, .cpu_percent = 50, .pids = 1};
		sb_reg_write(reg, slot, &s);
		struct sb_reg_record r;
		if (sb_reg_read(reg, slot, &r) != 0 || strcmp(r.id, "fuzz-box") || r.sample.count != 1)
			abort(); /* our own claim must read back */
		sb_reg_release(reg, slot);
	}
	sb_reg_close(reg);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!self_key) {
		self_pid = getpid();
		if (sb_reg_proc_start(self_pid, &self_start) < 0)
			abort();
		self_key = (self_start & 0xffffffffu) << 32 | (uint32_t)self_pid;
	}
	if (size < 1)
		return 0;
	unsigned flags = data[0];
	size_t len = size - 1;
	uint8_t *file = malloc(len ? len : 1);
	if (!file)
		abort();
	memcpy(file, data + 1, len);
	if ((flags & FIX_HEADER) && len >= SB_REG_HEADER_SIZE)
		fix_header(file, &len);
	stamp(file, len, flags);
	read_side(fuzz_input_file(file, len));
	if (flags & WRITER)
		write_side(file, len);
	free(file);
	return 0;
}
