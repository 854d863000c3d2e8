/* The registry (src/metrics/registry.c), built here from its source alone to show that another
 * program needs nothing but registry.h/registry.c and libc: round trip, the seqlock under a
 * concurrent writer (a checksum in every sample: no torn sample is ever returned), generation
 * changes, reclaim of a SIGKILLed writer's slots (also one killed in the middle of a write, whose
 * slot stays readable meanwhile),
 * refusal of bad files with one line, removal by the last writer, and a file cut shorter under its
 * readers and writers (an error, never a SIGBUS; a SIGBUS elsewhere still kills). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "metrics/registry.h"

static char dir[64], path[128];
static char err[512];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/dev/shm/sbm-test-XXXXXX");
	if (!mkdtemp(dir)) {
		snprintf(dir, sizeof(dir), "/tmp/sbm-test-XXXXXX");
		assert_non_null(mkdtemp(dir));
	}
	snprintf(path, sizeof(path), "%s/registry", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct sb_reg *w, *r;
	assert_int_equal(sb_reg_open(path, false, 0, &r, err, sizeof(err)), -ENOENT);
	assert_int_equal(sb_reg_open(path, true, 8, &w, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, SB_REG_HEADER_SIZE + 8 * SB_REG_SLOT_SIZE);
	assert_int_equal(st.st_mode & 0777, 0644);
	uint32_t slot;
	assert_int_equal(sb_reg_claim(w, "sb-abc-1", "latency-spawn", "native", &slot, err, sizeof(err)), 0);
	assert_int_equal(sb_reg_open(path, false, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(sb_reg_nslots(r), 8);
	struct sb_reg_entry e[8];
	size_t n;
	sb_reg_snapshot(r, e, 8, &n);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].slot, slot);
	assert_string_equal(e[0].rec.id, "sb-abc-1");
	assert_string_equal(e[0].rec.name, "latency-spawn");
	assert_string_equal(e[0].rec.driver, "native");
	assert_int_equal(e[0].rec.owner_pid, getpid());
	assert_int_equal(e[0].rec.sample.count, 0);
	assert_true(isnan(e[0].rec.sample.cpu_percent));
	struct sb_reg_sample s = {.t_ns = 5, .count = 1, .cpu_percent = 42.5, .cpu_ns = 7, .mem_bytes = 8,
				  .mem_limit_bytes = 9, .rss_bytes = 10, .disk_read_bytes = 11, .disk_write_bytes = 12,
				  .net_rx_bytes = 13, .net_tx_bytes = 14, .pids = 15};
	sb_reg_write(w, slot, &s);
	struct sb_reg_record rec;
	assert_int_equal(sb_reg_read(r, slot, &rec), 0);
	assert_memory_equal(&rec.sample, &s, sizeof(s));
	sb_reg_release(w, slot);
	assert_int_equal(sb_reg_read(r, slot, &rec), -ENOENT);
	sb_reg_snapshot(r, e, 8, &n);
	assert_int_equal(n, 0);
	/* Last writer, nothing live: the file goes (the reader's mapping stays usable). */
	sb_reg_close(w);
	assert_int_equal(access(path, F_OK), -1);
	sb_reg_snapshot(r, e, 8, &n);
	assert_int_equal(n, 0);
	sb_reg_close(r);
}

static void test_file_kept_while_live_or_shared(void **state)
{
	(void)state;
	struct sb_reg *a, *b;
	assert_int_equal(sb_reg_open(path, true, 4, &a, err, sizeof(err)), 0);
	assert_int_equal(sb_reg_open(path, true, 4, &b, err, sizeof(err)), 0);
	uint32_t slot;
	assert_int_equal(sb_reg_claim(a, "x", "", "d", &slot, err, sizeof(err)), 0);
	sb_reg_close(b); /* a still has it open */
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(sb_reg_open(path, true, 4, &b, err, sizeof(err)), 0);
	sb_reg_close(b); /* only one writer now, but a slot is live */
	assert_int_equal(access(path, F_OK), 0);
	sb_reg_release(a, slot);
	sb_reg_close(a);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_full_registry(void **state)
{
	(void)state;
	struct sb_reg *w;
	assert_int_equal(sb_reg_open(path, true, 1024, &w, err, sizeof(err)), 0);
	uint32_t slot;
	for (int i = 0; i < 1024; i++) {
		char id[32];
		snprintf(id, sizeof(id), "box-%d", i);
		assert_int_equal(sb_reg_claim(w, id, "", "d", &slot, err, sizeof(err)), 0);
	}
	assert_int_equal(sb_reg_claim(w, "one-more", "", "d", &slot, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "all 1024 slots"));
	static struct sb_reg_entry e[1024];
	size_t n;
	sb_reg_snapshot(w, e, 1024, &n);
	assert_int_equal(n, 1024);
	for (uint32_t i = 0; i < 1024; i++)
		sb_reg_release(w, i);
	sb_reg_close(w);
}

/* --- seqlock stress: every field of sample k is a function of k, and pids holds a checksum of the
 * rest; a reader that ever returns a mix of two samples fails the checksum. --- */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static void make_sample(uint64_t k, struct sb_reg_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->t_ns = (int64_t)k;
	s->count = k;
	s->cpu_percent = (double)(k % 1000);
	s->cpu_ns = mix(k);
	s->mem_bytes = mix(k + 1);
	s->mem_limit_bytes = mix(k + 2);
	s->rss_bytes = mix(k + 3);
	s->disk_read_bytes = mix(k + 4);
	s->disk_write_bytes = mix(k + 5);
	s->net_rx_bytes = mix(k + 6);
	s->net_tx_bytes = mix(k + 7);
	s->pids = 0;
	s->pids = mix((uint64_t)s->t_ns ^ s->count ^ (uint64_t)s->cpu_percent ^ s->cpu_ns ^ s->mem_bytes ^
		      s->mem_limit_bytes ^ s->rss_bytes ^ s->disk_read_bytes ^ s->disk_write_bytes ^
		      s->net_rx_bytes ^ s->net_tx_bytes);
}

static bool sample_ok(const struct sb_reg_sample *got)
{
	if (got->count == 0)
		return true; /* not written yet */
	struct sb_reg_sample want;
	make_sample(got->count, &want);
	return memcmp(&want, got, sizeof(want)) == 0;
}

struct stress {
	struct sb_reg *reg;
	uint32_t slot;
	atomic_bool stop;
	uint64_t written;
	bool reuse; /* release and claim again between samples: generation changes */
};

static void *writer_main(void *arg)
{
	struct stress *st = arg;
	struct sb_reg_sample s;
	for (uint64_t k = 1; !atomic_load(&st->stop); k++) {
		if (st->reuse && k % 64 == 0) {
			/* The id names the generation it belongs to, so a reader can tell a record whose
			 * identity and sample come from two different claims. */
			sb_reg_release(st->reg, st->slot);
			char id[32];
			uint32_t slot;
			snprintf(id, sizeof(id), "k%llu", (unsigned long long)k);
			if (sb_reg_claim(st->reg, id, "", "d", &slot, NULL, 0) < 0 || slot != st->slot)
				abort();
		}
		make_sample(k, &s);
		sb_reg_write(st->reg, st->slot, &s);
		st->written = k;
	}
	return NULL;
}

/* Copy a slot's sample straight from the mapping, without the seqlock: the negative control. */
static void raw_sample(const void *map, uint32_t slot, struct sb_reg_sample *out)
{
	const char *rec = (const char *)map + SB_REG_HEADER_SIZE + (size_t)slot * SB_REG_SLOT_SIZE + 16;
	const volatile uint64_t *src = (const volatile uint64_t *)(rec + offsetof(struct sb_reg_record, sample));
	uint64_t w[sizeof(*out) / 8];
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		w[i] = src[i];
	memcpy(out, w, sizeof(*out));
}

static void run_stress(bool reuse)
{
	struct stress st = {.reuse = reuse};
	assert_int_equal(sb_reg_open(path, true, 4, &st.reg, err, sizeof(err)), 0);
	assert_int_equal(sb_reg_claim(st.reg, "k0", "", "d", &st.slot, err, sizeof(err)), 0);
	struct sb_reg *r;
	assert_int_equal(sb_reg_open(path, false, 0, &r, err, sizeof(err)), 0);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	size_t maplen = SB_REG_HEADER_SIZE + 4 * SB_REG_SLOT_SIZE;
	void *map = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	close(fd);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, writer_main, &st), 0);
	uint64_t reads = 0, torn = 0, raw_torn = 0, busy = 0, gone = 0, changes = 0, last = 0;
	uint64_t gen_seen = 0, gen_changes = 0;
	/* At least 0.3 s, and on until the two overlapped enough (a busy host time-slices them). */
	int64_t t0 = now_ns(), min_end = t0 + 300 * 1000000LL, max_end = t0 + 8000 * 1000000LL;
	for (int64_t t = t0; t < min_end || ((changes < 200 || (reuse && gen_changes < 20)) && t < max_end);
	     t = now_ns()) {
		for (int i = 0; i < 1000; i++) {
			struct sb_reg_record rec;
			int rc = sb_reg_read(r, st.slot, &rec);
			if (rc == -EAGAIN) {
				busy++;
				continue;
			}
			if (rc == -ENOENT) { /* between a release and the next claim */
				gone++;
				continue;
			}
			assert_int_equal(rc, 0);
			reads++;
			if (!sample_ok(&rec.sample))
				torn++;
			if (reuse) {
				/* The sample belongs to the claim named by the id: k in [id, id + 64). */
				unsigned long long base = strtoull(rec.id + 1, NULL, 10);
				if (rec.sample.count && (rec.sample.count < base || rec.sample.count >= base + 64))
					torn++;
				if (rec.generation != gen_seen) {
					gen_changes += gen_seen != 0;
					gen_seen = rec.generation;
				}
			}
			if (rec.sample.count != last) {
				changes++;
				last = rec.sample.count;
			}
			struct sb_reg_sample raw;
			raw_sample(map, st.slot, &raw);
			if (!sample_ok(&raw))
				raw_torn++;
		}
	}
	atomic_store(&st.stop, true);
	pthread_join(t, NULL);
	printf("# stress%s: %llu writes, %llu reads (%llu saw a new sample), %llu torn, %llu busy, %llu between "
	       "claims, %llu generation changes; without the seqlock %llu torn reads\n",
	       reuse ? " with reuse" : "", (unsigned long long)st.written, (unsigned long long)reads,
	       (unsigned long long)changes, (unsigned long long)torn, (unsigned long long)busy,
	       (unsigned long long)gone, (unsigned long long)gen_changes, (unsigned long long)raw_torn);
	assert_int_equal(torn, 0);
	/* The reader and the writer really overlapped. */
	assert_true(changes >= 200);
	if (reuse)
		assert_true(gen_changes >= 20);
	munmap(map, maplen);
	sb_reg_close(r);
	sb_reg_release(st.reg, st.slot);
	sb_reg_close(st.reg);
}

static void test_seqlock_stress(void **state)
{
	(void)state;
	run_stress(false);
}

static void test_seqlock_stress_reuse(void **state)
{
	(void)state;
	run_stress(true);
}

static void test_generation_change(void **state)
{
	(void)state;
	struct sb_reg *w;
	assert_int_equal(sb_reg_open(path, true, 4, &w, err, sizeof(err)), 0);
	uint32_t a, b;
	assert_int_equal(sb_reg_claim(w, "first", "", "d", &a, err, sizeof(err)), 0);
	struct sb_reg_record r1, r2;
	assert_int_equal(sb_reg_read(w, a, &r1), 0);
	sb_reg_release(w, a);
	assert_int_equal(sb_reg_claim(w, "second", "", "d", &b, err, sizeof(err)), 0);
	assert_int_equal(a, b); /* the same slot, reused */
	assert_int_equal(sb_reg_read(w, b, &r2), 0);
	/* A reader holding (slot, generation) from before tells the new sandbox apart. */
	assert_int_equal(r2.generation, r1.generation + 1);
	assert_string_equal(r2.id, "second");
	assert_int_equal(r2.sample.count, 0); /* the old sample did not carry over */
	sb_reg_release(w, b);
	sb_reg_close(w);
}

/* A child claims every slot (and, with mid_write, leaves one in the middle of a write), then is
 * SIGKILLed: its slots are not live even before it is reaped, and a claimant gets them. */
static void killed_writer(bool mid_write)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sb_reg *w;
		uint32_t s;
		if (sb_reg_open(path, true, 2, &w, NULL, 0) < 0 || sb_reg_claim(w, "c1", "", "d", &s, NULL, 0) < 0 ||
		    sb_reg_claim(w, "c2", "", "d", &s, NULL, 0) < 0)
			_exit(1);
		if (mid_write) {
			/* What a writer killed in the middle of a write leaves: an odd counter and a
			 * half-written copy 0 (here: garbage). */
			int fd = open(path, O_RDWR);
			char *m = mmap(NULL, SB_REG_HEADER_SIZE + 2 * SB_REG_SLOT_SIZE, PROT_READ | PROT_WRITE,
				       MAP_SHARED, fd, 0);
			_Atomic uint64_t *seq = (_Atomic uint64_t *)(m + SB_REG_HEADER_SIZE + 8);
			atomic_fetch_add(seq, 1);
			memset(m + SB_REG_HEADER_SIZE + 16, 0x5a, sizeof(struct sb_reg_record));
		}
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	char c;
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	struct sb_reg *w;
	assert_int_equal(sb_reg_open(path, true, 2, &w, err, sizeof(err)), 0);
	struct sb_reg_entry e[2];
	size_t n;
	uint32_t slot;
	sb_reg_snapshot(w, e, 2, &n);
	/* Half a write does not hide a slot: the reader takes the whole copy. */
	assert_int_equal(n, 2);
	assert_true(!strcmp(e[0].rec.id, "c1") || !strcmp(e[0].rec.id, "c2"));
	assert_true(!strcmp(e[1].rec.id, "c1") || !strcmp(e[1].rec.id, "c2"));
	assert_int_equal(sb_reg_claim(w, "mine", "", "d", &slot, err, sizeof(err)), -ENOSPC);
	kill(pid, SIGKILL);
	/* Dead but not reaped (a zombie): no longer live. */
	for (int i = 0; i < 200; i++) {
		sb_reg_snapshot(w, e, 2, &n);
		if (n == 0)
			break;
		usleep(5000);
	}
	assert_int_equal(n, 0);
	struct sb_reg_record before;
	assert_int_equal(sb_reg_read(w, 0, &before), -ENOENT);
	uint32_t s1, s2;
	assert_int_equal(sb_reg_claim(w, "mine", "", "d", &s1, err, sizeof(err)), 0);
	assert_int_equal(sb_reg_claim(w, "mine2", "", "d", &s2, err, sizeof(err)), 0);
	assert_int_not_equal(s1, s2);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	sb_reg_snapshot(w, e, 2, &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(e[i].rec.owner_pid, getpid());
		assert_int_equal(e[i].rec.generation, 2); /* claimed by the child, then by us */
		assert_true(!strcmp(e[i].rec.id, "mine") || !strcmp(e[i].rec.id, "mine2"));
	}
	sb_reg_release(w, s1);
	sb_reg_release(w, s2);
	sb_reg_close(w);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_killed_writer_reclaimed(void **state)
{
	(void)state;
	killed_writer(false);
}

static void test_killed_mid_write_reclaimed(void **state)
{
	(void)state;
	killed_writer(true);
}

/* --- bad files --- */
static void write_file(const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Both a reader and a writer refuse it with one line containing want, and leave it as it was. */
static void refused(int code, const char *want)
{
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	for (int writable = 0; writable < 2; writable++) {
		struct sb_reg *r = NULL;
		err[0] = '\0';
		assert_int_equal(sb_reg_open(path, writable, 0, &r, err, sizeof(err)), -code);
		assert_null(strchr(err, '\n'));
		if (!strstr(err, want) || !strstr(err, path))
			fail_msg("'%s' lacks '%s' or the path", err, want);
	}
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_size, after.st_size);
	unlink(path);
}

static void good_file(unsigned char *buf, size_t len)
{
	struct sb_reg *w;
	assert_int_equal(sb_reg_open(path, true, 2, &w, err, sizeof(err)), 0);
	uint32_t s;
	assert_int_equal(sb_reg_claim(w, "keep", "", "d", &s, err, sizeof(err)), 0); /* so close keeps it */
	int fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, buf, len), (ssize_t)len);
	close(fd);
	sb_reg_close(w);
	unlink(path);
}

static void test_bad_files(void **state)
{
	(void)state;
	size_t len = SB_REG_HEADER_SIZE + 2 * SB_REG_SLOT_SIZE;
	unsigned char *good = malloc(len), *b = malloc(len);
	good_file(good, len);

	memcpy(b, good, len);
	memcpy(b, "NOTAREG!", 8);
	write_file(b, len);
	refused(EINVAL, "not a sandbench metrics registry (wrong magic)");

	memcpy(b, good, len);
	b[8] = 9; /* version */
	write_file(b, len);
	refused(EPROTO, "registry version 9, this sandbench reads version 1");

	memcpy(b, good, len);
	b[16] = 0; /* slot size 384 -> 256 */
	b[17] = 1;
	write_file(b, len);
	refused(EPROTO, "slots of 256 bytes");

	write_file(good, len - 100); /* truncated */
	refused(EINVAL, "but its header says 2 slots");

	write_file(good, 10);
	refused(EINVAL, "too short");

	memcpy(b, good, len);
	b[24] ^= 0x5a; /* the creator's pid namespace */
	write_file(b, len);
	refused(EXDEV, "another pid namespace");

	/* And the good one opens. */
	write_file(good, len);
	struct sb_reg *r;
	assert_int_equal(sb_reg_open(path, false, 0, &r, err, sizeof(err)), 0);
	sb_reg_close(r);
	unlink(path);
	free(good);
	free(b);
}

/* Someone cuts the file under a writer and a reader: every call fails or does nothing, none dies. */
static void test_file_cut_under_the_map(void **state)
{
	(void)state;
	struct sb_reg *w, *r;
	uint32_t slot;
	assert_int_equal(sb_reg_open(path, true, 4, &w, err, sizeof(err)), 0);
	assert_int_equal(sb_reg_claim(w, "cut", "", "d", &slot, err, sizeof(err)), 0);
	struct sb_reg_sample s = {.cpu_ns = 1};
	sb_reg_write(w, slot, &s);
	assert_int_equal(sb_reg_open(path, false, 0, &r, err, sizeof(err)), 0);
	struct sb_reg_entry e[4];
	size_t n;
	assert_int_equal(sb_reg_snapshot(r, e, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_false(sb_reg_replaced(r));

	/* To nothing: the tail of the last page would still read (as zeros) without a fault. */
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(sb_reg_snapshot(r, e, 4, &n), -EIO);
	assert_int_equal(n, 0);
	struct sb_reg_record rec;
	assert_int_equal(sb_reg_read(r, slot, &rec), -EIO);
	assert_true(sb_reg_replaced(r)); /* so a long-lived reader reopens */
	sb_reg_write(w, slot, &s);
	sb_reg_release(w, slot);
	assert_int_equal(sb_reg_claim(w, "again", "", "d", &slot, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "cut shorter"));
	struct sb_reg *again;
	assert_int_equal(sb_reg_open(path, false, 0, &again, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too short"));
	sb_reg_close(r);
	sb_reg_close(w);

	/* The handler only catches the registry's own accesses: a process's other SIGBUS kills it. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL); /* what the registry chains to in this child (cmocka has its own) */
		struct sb_reg *mine;
		unlink(path); /* the cut one */
		if (sb_reg_open(path, true, 4, &mine, err, sizeof(err)) < 0)
			_exit(2);
		char other[160];
		snprintf(other, sizeof(other), "%s.other", path);
		int fd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, 8192) < 0)
			_exit(3);
		volatile char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		unlink(other);
		if (m == MAP_FAILED || ftruncate(fd, 0) < 0)
			_exit(3);
		m[4096] = 1; /* past the end now */
		_exit(4);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGBUS);
}

static void test_proc_start(void **state)
{
	(void)state;
	uint64_t a, b;
	assert_int_equal(sb_reg_proc_start(getpid(), &a), 0);
	assert_int_equal(sb_reg_proc_start(getpid(), &b), 0);
	assert_true(a > 0 && a == b);
	assert_int_equal(sb_reg_proc_start(0, &a), -ESRCH);
	assert_int_equal(sb_reg_proc_start(0x3fffffff, &a), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_kept_while_live_or_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seqlock_stress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seqlock_stress_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generation_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_writer_reclaimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_mid_write_reclaimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_cut_under_the_map, setup, teardown),
		cmocka_unit_test(test_proc_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
