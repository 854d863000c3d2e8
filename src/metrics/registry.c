/* The live-metrics registry (registry.h): file handling, claims, the seqlock, liveness.
 * Needs only libc. Memory-model notes: every word another process may touch concurrently is
 * accessed atomically; the record itself is copied word by word with relaxed atomics between the
 * seqlock's fences (the pattern of Boehm, "Can seqlocks get along with programming language
 * memory models?", 2012), so a torn copy is possible but always detected and retried. */
#include "metrics/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if ATOMIC_LLONG_LOCK_FREE != 2
#error "the registry needs lock-free 64-bit atomics (it is shared between processes)"
#endif

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

struct sb_reg_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint32_t slot_size;
	uint32_t nslots;
	uint64_t pidns;      /* inode of the creator's pid namespace (0 = unknown) */
	int64_t created_ns;  /* CLOCK_REALTIME */
	uint8_t pad[24];
};

#define RECORD_WORDS (sizeof(struct sb_reg_record) / 8)
#define SAMPLE_WORDS (sizeof(struct sb_reg_sample) / 8)
#define SAMPLE_FIRST_WORD (offsetof(struct sb_reg_record, sample) / 8)

struct sb_reg_slot {
	_Atomic uint64_t claim; /* 0 free, else owner_key() of the owner */
	_Atomic uint64_t seq;   /* odd while copy 0 is written, even while copy 1 is (and at rest) */
	_Atomic uint64_t words[2][RECORD_WORDS]; /* two copies of the record: see write_record */
};

_Static_assert(sizeof(struct sb_reg_header) == SB_REG_HEADER_SIZE, "header size");
_Static_assert(sizeof(struct sb_reg_sample) % 8 == 0, "sample is whole words");
_Static_assert(sizeof(struct sb_reg_record) % 8 == 0, "record is whole words");
_Static_assert(offsetof(struct sb_reg_record, sample) % 8 == 0, "sample starts on a word");
_Static_assert(sizeof(struct sb_reg_slot) <= SB_REG_SLOT_SIZE, "slot fits its size");

/* A reader's verdict on one owner: a pidfd (readable once the process has exited, zombie or not)
 * opened after its start time matched, so later checks cost one poll() instead of a /proc read. */
struct owner {
	uint64_t key;
	int pidfd; /* -1: dead (or pidfds unavailable: then checked through /proc every time) */
	bool dead;
	uint64_t epoch; /* the read (snapshot) it was last checked in: once per snapshot is enough */
};
#define MAX_OWNERS 64

struct sb_reg {
	int fd;
	bool writable;
	void *map;
	size_t map_len;
	uint32_t nslots;
	pid_t self;
	uint64_t self_key;
	uint64_t self_start;
	struct owner owners[MAX_OWNERS];
	size_t nowners;
	uint64_t epoch; /* bumped per snapshot / single read */
	bool shrunk;    /* a map access faulted: the file was cut under us (see fault_arm) */
	char path[PATH_MAX];
};

/* A shared mapping faults with SIGBUS on its pages past the end of a file that someone shrank
 * (any process of the owner's user may ftruncate it). A reader (top, the endpoint) or the sampler
 * must then get an error, not die: every access to the map runs armed, and a SIGBUS while armed
 * jumps back to the public call, which fails with EIO and marks the handle. A SIGBUS anywhere else
 * goes to whatever handled it before (the default: the process dies as it would have). */
static _Thread_local sigjmp_buf *fault_jmp;
static struct sigaction fault_prev;
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	if (fault_jmp)
		siglongjmp(*fault_jmp, 1);
	/* Not ours: put the previous disposition back; the faulting access repeats and meets it. */
	(void)si;
	(void)uc;
	sigaction(sig, &fault_prev, NULL);
}

/* At every open (not per access: a sample write stays a few dozen stores), unless the handler is
 * already ours; what was there before is what a foreign SIGBUS goes to. */
static void fault_install(void)
{
	pthread_mutex_lock(&fault_lock);
	struct sigaction cur;
	if (sigaction(SIGBUS, NULL, &cur) == 0 && !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigbus;
		/* NODEFER: the jump (sigsetjmp without the mask: no syscall per call) leaves SIGBUS
		 * unblocked. */
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, &fault_prev);
	}
	pthread_mutex_unlock(&fault_lock);
}

static void fault_arm(sigjmp_buf *jb)
{
	fault_jmp = jb;
}

static int fault_caught(struct sb_reg *reg)
{
	fault_jmp = NULL;
	reg->shrunk = true;
	return -EIO;
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -code;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *sb_reg_default_path(void)
{
	const char *p = getenv(SB_REG_ENV);
	return p && p[0] ? p : SB_REG_DEFAULT_PATH;
}

uint32_t sb_reg_nslots(const struct sb_reg *reg) { return reg->nslots; }
const char *sb_reg_path(const struct sb_reg *reg) { return reg->path; }

static struct sb_reg_slot *slot_at(const struct sb_reg *reg, uint32_t i)
{
	return (struct sb_reg_slot *)((char *)reg->map + SB_REG_HEADER_SIZE + (size_t)i * SB_REG_SLOT_SIZE);
}

int sb_reg_proc_start(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024];
	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: the fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	char state;
	unsigned long long st;
	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &state, &st) != 2)
		return -ESRCH;
	if (state == 'Z' || state == 'X') /* dead, only not reaped yet */
		return -ESRCH;
	*start = st;
	return 0;
}

/* The claim word: pid in the low half, the low 32 bits of the start time in the high half, so one
 * compare-and-swap takes a slot for exactly this process (a later process with the same pid has
 * another start time). */
static uint64_t owner_key(pid_t pid, uint64_t start)
{
	return (start & 0xffffffffu) << 32 | (uint32_t)pid;
}

static bool key_alive(uint64_t key)
{
	uint64_t start;
	pid_t pid = (pid_t)(uint32_t)key;
	return sb_reg_proc_start(pid, &start) == 0 && (start & 0xffffffffu) == key >> 32;
}

static uint64_t pidns_inode(void)
{
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static int check_header(const char *path, const struct sb_reg_header *h, off_t size, char *err,
			size_t errlen)
{
	if (memcmp(h->magic, SB_REG_MAGIC, 8) != 0)
		return fail(err, errlen, EINVAL, "%s is not a sandbench metrics registry (wrong magic)", path);
	if (h->version != SB_REG_VERSION)
		return fail(err, errlen, EPROTO, "%s: registry version %u, this sandbench reads version %u", path,
			    h->version, SB_REG_VERSION);
	if (h->header_size != SB_REG_HEADER_SIZE || h->slot_size != SB_REG_SLOT_SIZE)
		return fail(err, errlen, EPROTO,
			    "%s: header of %u bytes and slots of %u bytes, this sandbench uses %u and %u", path,
			    h->header_size, h->slot_size, SB_REG_HEADER_SIZE, SB_REG_SLOT_SIZE);
	uint64_t want = SB_REG_HEADER_SIZE + (uint64_t)h->nslots * SB_REG_SLOT_SIZE;
	if (h->nslots == 0 || h->nslots > SB_REG_MAX_SLOTS || (uint64_t)size != want)
		return fail(err, errlen, EINVAL, "%s: %lld bytes, but its header says %u slots (%llu bytes)", path,
			    (long long)size, h->nslots, (unsigned long long)want);
	uint64_t ns = pidns_inode();
	if (h->pidns && ns && h->pidns != ns)
		return fail(err, errlen, EXDEV,
			    "%s was made in another pid namespace: its owners' pids cannot be checked from here",
			    path);
	return 0;
}

/* Make a registry under a temporary name in path's directory and link it into place; EEXIST when
 * another process got there first (its file is then used). */
static int create_file(const char *path, uint32_t nslots, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return fail(err, errlen, ENAMETOOLONG, "%s: path too long", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return fail(err, errlen, errno, "cannot create a registry next to %s: %s", path, strerror(errno));
	size_t len = SB_REG_HEADER_SIZE + (size_t)nslots * SB_REG_SLOT_SIZE;
	int rc = 0;
	/* Readable by everyone (top, the endpoint), writable by the creator. */
	if (fchmod(fd, 0644) < 0 || ftruncate(fd, (off_t)len) < 0)
		rc = -errno;
	struct sb_reg_header h = {.version = SB_REG_VERSION, .header_size = SB_REG_HEADER_SIZE,
				  .slot_size = SB_REG_SLOT_SIZE, .nslots = nslots, .pidns = pidns_inode(),
				  .created_ns = realtime_ns()};
	memcpy(h.magic, SB_REG_MAGIC, 8);
	if (rc == 0 && pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		rc = errno ? -errno : -EIO;
	close(fd);
	if (rc == 0 && link(tmp, path) < 0)
		rc = -errno;
	unlink(tmp);
	if (rc < 0 && rc != -EEXIST)
		return fail(err, errlen, -rc, "cannot create registry %s: %s", path, strerror(-rc));
	return rc;
}

static int map_fd(struct sb_reg *reg, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(reg->fd, &st) < 0)
		return fail(err, errlen, errno, "%s: %s", reg->path, strerror(errno));
	struct sb_reg_header h;
	if (st.st_size < (off_t)sizeof(h))
		return fail(err, errlen, EINVAL, "%s is not a sandbench metrics registry (%lld bytes, too short)",
			    reg->path, (long long)st.st_size);
	if (pread(reg->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return fail(err, errlen, EIO, "%s: cannot read the header", reg->path);
	int rc = check_header(reg->path, &h, st.st_size, err, errlen);
	if (rc < 0)
		return rc;
	reg->nslots = h.nslots;
	reg->map_len = (size_t)st.st_size;
	reg->map = mmap(NULL, reg->map_len, reg->writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
			reg->fd, 0);
	if (reg->map == MAP_FAILED) {
		reg->map = NULL;
		return fail(err, errlen, errno, "%s: cannot map: %s", reg->path, strerror(errno));
	}
	return 0;
}

/* A writer's open: a shared lock held while open; the path must still name the locked file (the
 * last writer may have removed it between our open and our lock: then start again). */
static int open_writer(struct sb_reg *reg, uint32_t nslots, char *err, size_t errlen)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		reg->fd = open(reg->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (reg->fd < 0 && errno == ENOENT) {
			int rc = create_file(reg->path, nslots ? nslots : SB_REG_DEFAULT_SLOTS, err, errlen);
			if (rc < 0 && rc != -EEXIST)
				return rc;
			continue;
		}
		if (reg->fd < 0)
			return fail(err, errlen, errno, "cannot open registry %s: %s", reg->path, strerror(errno));
		struct stat a, b;
		if (flock(reg->fd, LOCK_SH) < 0 || fstat(reg->fd, &a) < 0) {
			int e = errno;
			close(reg->fd);
			return fail(err, errlen, e, "cannot lock registry %s: %s", reg->path, strerror(e));
		}
		if (stat(reg->path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return 0;
		close(reg->fd); /* removed or replaced under us */
	}
	return fail(err, errlen, EAGAIN, "registry %s keeps being replaced", reg->path);
}

int sb_reg_open(const char *path, bool writable, uint32_t nslots, struct sb_reg **out, char *err,
		size_t errlen)
{
	if (nslots > SB_REG_MAX_SLOTS)
		return fail(err, errlen, EINVAL, "%u slots: at most %u", nslots, SB_REG_MAX_SLOTS);
	struct sb_reg *reg = calloc(1, sizeof(*reg));
	if (!reg)
		return fail(err, errlen, ENOMEM, "out of memory");
	if (snprintf(reg->path, sizeof(reg->path), "%s", path) >= (int)sizeof(reg->path)) {
		free(reg);
		return fail(err, errlen, ENAMETOOLONG, "registry path too long");
	}
	reg->writable = writable;
	reg->fd = -1;
	int rc;
	if (writable) {
		rc = open_writer(reg, nslots, err, errlen);
	} else {
		reg->fd = open(path, O_RDONLY | O_CLOEXEC);
		rc = reg->fd < 0 ? fail(err, errlen, errno, "cannot open registry %s: %s", path, strerror(errno)) : 0;
	}
	if (rc == 0) {
		fault_install();
		rc = map_fd(reg, err, errlen);
	}
	if (rc == 0) {
		reg->self = getpid();
		if (sb_reg_proc_start(reg->self, &reg->self_start) < 0)
			rc = fail(err, errlen, ESRCH, "cannot read this process's start time from /proc");
		reg->self_key = owner_key(reg->self, reg->self_start);
	}
	if (rc < 0) {
		sb_reg_close(reg);
		return rc;
	}
	*out = reg;
	return 0;
}

/* Has the slot a live owner? (A claim word whose owner is gone does not count.) */
static bool slot_held(struct sb_reg *reg, uint32_t i)
{
	uint64_t key = atomic_load_explicit(&slot_at(reg, i)->claim, memory_order_acquire);
	return key && (key == reg->self_key || key_alive(key));
}

/* 1 when a slot has a live owner, 0 when none, -EIO when the file was cut. */
static int any_held(struct sb_reg *reg)
{
	sigjmp_buf jb;
	if (reg->shrunk || sigsetjmp(jb, 0))
		return fault_caught(reg);
	fault_arm(&jb);
	bool live = false;
	for (uint32_t i = 0; i < reg->nslots && !live; i++)
		live = slot_held(reg, i);
	fault_jmp = NULL;
	return live;
}

void sb_reg_close(struct sb_reg *reg)
{
	if (!reg)
		return;
	if (reg->writable && reg->map && reg->fd >= 0 && flock(reg->fd, LOCK_EX | LOCK_NB) == 0) {
		/* No other writer has it open: remove it when nothing in it is live (a reader holding
		 * it open keeps its mapping; top and the endpoint reopen by path every refresh). */
		struct stat a, b;
		if (any_held(reg) == 0 && fstat(reg->fd, &a) == 0 && stat(reg->path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			unlink(reg->path);
	}
	for (size_t i = 0; i < reg->nowners; i++)
		if (reg->owners[i].pidfd >= 0)
			close(reg->owners[i].pidfd);
	if (reg->map)
		munmap(reg->map, reg->map_len);
	if (reg->fd >= 0)
		close(reg->fd); /* drops the lock */
	free(reg);
}

/* The seqlock, writer side, in its two-copy form (Linux calls it a latch): the counter goes odd,
 * copy 0 is written, the counter goes even, copy 1 is written. A reader reads the copy the
 * counter's parity says is not being written (odd: copy 1, even: copy 0) and retries only when
 * the counter moved meanwhile. So a reader never waits for a writer, even one descheduled or
 * killed in the middle of a write: the other copy is whole. A claimant of a slot whose writer died
 * while copy 0 was being written finds the counter odd, and starts at copy 0 without bumping it. */
static void write_words(struct sb_reg_slot *s, size_t first, const void *src, size_t nwords)
{
	uint64_t w[RECORD_WORDS];
	memcpy(w, src, nwords * 8);
	uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
	if (!(q & 1))
		atomic_store_explicit(&s->seq, ++q, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < nwords; i++)
		atomic_store_explicit(&s->words[0][first + i], w[i], memory_order_relaxed);
	atomic_store_explicit(&s->seq, ++q, memory_order_release);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < nwords; i++)
		atomic_store_explicit(&s->words[1][first + i], w[i], memory_order_relaxed);
}

static void copy_str(char *dst, size_t len, const char *src)
{
	memset(dst, 0, len);
	if (src)
		strncpy(dst, src, len - 1);
}

static int claim(struct sb_reg *reg, const char *id, const char *name, const char *driver, uint32_t *slot,
		 char *err, size_t errlen)
{
	/* Owners already found alive during this scan, so a registry full of one live process's
	 * slots costs one /proc read, not one per slot. */
	uint64_t alive[16];
	size_t nalive = 0;
	/* Start at a spot that depends on the pid: concurrent claimants rarely race for one slot. */
	uint32_t start = (uint32_t)reg->self * 7u % reg->nslots;
	for (uint32_t k = 0; k < reg->nslots; k++) {
		uint32_t i = (start + k) % reg->nslots;
		struct sb_reg_slot *s = slot_at(reg, i);
		uint64_t key = atomic_load_explicit(&s->claim, memory_order_acquire);
		if (key) {
			bool known = key == reg->self_key;
			for (size_t j = 0; j < nalive && !known; j++)
				known = alive[j] == key;
			if (known)
				continue;
			if (key_alive(key)) {
				if (nalive < 16)
					alive[nalive++] = key;
				continue;
			}
		}
		/* Free, or its owner died: whoever swaps the word first has it. */
		if (!atomic_compare_exchange_strong_explicit(&s->claim, &key, reg->self_key, memory_order_acq_rel,
							     memory_order_acquire))
			continue;
		struct sb_reg_record rec;
		memset(&rec, 0, sizeof(rec));
		/* Copy 1 is whole even when the previous owner died in the middle of a write. */
		rec.generation = atomic_load_explicit(&s->words[1][0], memory_order_relaxed) + 1;
		rec.owner_pid = reg->self;
		rec.owner_start = reg->self_start;
		rec.claimed_ns = realtime_ns();
		copy_str(rec.id, sizeof(rec.id), id);
		copy_str(rec.name, sizeof(rec.name), name);
		copy_str(rec.driver, sizeof(rec.driver), driver);
		rec.sample.cpu_percent = __builtin_nan("");
		write_words(s, 0, &rec, RECORD_WORDS);
		*slot = i;
		return 0;
	}
	return fail(err, errlen, ENOSPC, "registry %s: all %u slots are held by live sandboxes", reg->path,
		    reg->nslots);
}

static const char shrunk_msg[] = "%s was cut shorter while in use (by something other than sandbench)";

int sb_reg_claim(struct sb_reg *reg, const char *id, const char *name, const char *driver,
		 uint32_t *slot, char *err, size_t errlen)
{
	if (!reg->writable)
		return fail(err, errlen, EBADF, "%s is open read-only", reg->path);
	if (reg->shrunk)
		return fail(err, errlen, EIO, shrunk_msg, reg->path);
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0))
		return fault_caught(reg), fail(err, errlen, EIO, shrunk_msg, reg->path);
	fault_arm(&jb);
	int rc = claim(reg, id, name, driver, slot, err, errlen);
	fault_jmp = NULL;
	return rc;
}

void sb_reg_write(struct sb_reg *reg, uint32_t slot, const struct sb_reg_sample *sample)
{
	sigjmp_buf jb;
	if (reg->shrunk || sigsetjmp(jb, 0)) {
		fault_caught(reg);
		return;
	}
	fault_arm(&jb);
	write_words(slot_at(reg, slot), SAMPLE_FIRST_WORD, sample, SAMPLE_WORDS);
	fault_jmp = NULL;
}

void sb_reg_release(struct sb_reg *reg, uint32_t slot)
{
	sigjmp_buf jb;
	if (reg->shrunk || sigsetjmp(jb, 0)) {
		fault_caught(reg);
		return;
	}
	fault_arm(&jb);
	struct sb_reg_slot *s = slot_at(reg, slot);
	/* Unpublish first (owner_pid 0 in the record), then free the claim word. */
	const size_t pid_word = offsetof(struct sb_reg_record, owner_pid) / 8;
	uint64_t zero = 0;
	write_words(s, pid_word, &zero, 1);
	atomic_store_explicit(&s->claim, 0, memory_order_release);
	fault_jmp = NULL;
}

/* The seqlock, reader side: 0 with a consistent copy and the claim word seen with it, -EAGAIN
 * when the counter moved during every attempt (a writer rewriting the slot without pause). */
static int read_consistent(struct sb_reg_slot *s, struct sb_reg_record *out, uint64_t *key)
{
	for (int attempt = 0; attempt < 1000; attempt++) {
		uint64_t q1 = atomic_load_explicit(&s->seq, memory_order_acquire);
		const _Atomic uint64_t *src = s->words[(q1 & 1) ? 1 : 0];
		uint64_t k = atomic_load_explicit(&s->claim, memory_order_relaxed);
		/* Straight into out (a torn copy is overwritten by the next attempt). */
		char *dst = (char *)out;
		for (size_t i = 0; i < RECORD_WORDS; i++) {
			uint64_t v = atomic_load_explicit(&src[i], memory_order_relaxed);
			memcpy(dst + 8 * i, &v, 8);
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) == q1) {
			*key = k;
			return 0;
		}
		if (attempt >= 8)
			cpu_relax();
	}
	return -EAGAIN;
}

/* Published by the current claimant? (Between a claim's compare-and-swap and its first write the
 * record still shows the previous owner.) */
static bool published(const struct sb_reg_record *r, uint64_t key)
{
	return key && r->owner_pid && owner_key(r->owner_pid, r->owner_start) == key;
}

static bool pidfd_exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	return poll(&p, 1, 0) > 0;
}

/* Is the owner with this claim word alive? (Reader side, cached per handle.) */
static bool owner_alive(struct sb_reg *reg, uint64_t key)
{
	if (key == reg->self_key)
		return true;
	for (size_t i = 0; i < reg->nowners; i++) {
		struct owner *o = &reg->owners[i];
		if (o->key != key)
			continue;
		if (o->dead)
			return false;
		if (o->epoch == reg->epoch)
			return true; /* alive when checked earlier in this snapshot */
		if (o->pidfd < 0 ? key_alive(key) : !pidfd_exited(o->pidfd)) {
			o->epoch = reg->epoch;
			return true;
		}
		if (o->pidfd < 0) {
			o->dead = true;
			return false;
		}
		close(o->pidfd);
		o->pidfd = -1;
		o->dead = true;
		return false;
	}
	if (reg->nowners == MAX_OWNERS) {
		/* Forget the dead: a key never comes back to life, but it may never be seen again. */
		size_t k = 0;
		for (size_t i = 0; i < reg->nowners; i++)
			if (!reg->owners[i].dead)
				reg->owners[k++] = reg->owners[i];
		reg->nowners = k;
		if (k == MAX_OWNERS)
			return key_alive(key);
	}
	/* The pidfd first, then the start time: if the pid was reused in between, the start time
	 * differs and the owner counts as dead, which it is. */
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)(uint32_t)key, 0);
	bool alive = key_alive(key);
	if (pidfd >= 0 && !alive) {
		close(pidfd);
		pidfd = -1;
	}
	reg->owners[reg->nowners++] = (struct owner){.key = key, .pidfd = pidfd, .dead = !alive, .epoch = reg->epoch};
	return alive;
}

static int read_slot(struct sb_reg *reg, uint32_t slot, struct sb_reg_record *out)
{
	struct sb_reg_slot *s = slot_at(reg, slot);
	/* Cheap pre-check: most slots of a registry are free. */
	if (!atomic_load_explicit(&s->claim, memory_order_relaxed))
		return -ENOENT;
	uint64_t key;
	int rc = read_consistent(s, out, &key);
	if (rc < 0)
		return rc;
	if (!published(out, key) || !owner_alive(reg, key))
		return -ENOENT;
	/* Any writer can scribble on the file: the strings a reader hands out end inside their fields. */
	out->id[sizeof(out->id) - 1] = '\0';
	out->name[sizeof(out->name) - 1] = '\0';
	out->driver[sizeof(out->driver) - 1] = '\0';
	return 0;
}

int sb_reg_read(struct sb_reg *reg, uint32_t slot, struct sb_reg_record *out)
{
	if (slot >= reg->nslots)
		return -EINVAL;
	sigjmp_buf jb;
	if (reg->shrunk || sigsetjmp(jb, 0))
		return fault_caught(reg);
	fault_arm(&jb);
	reg->epoch++;
	int rc = read_slot(reg, slot, out);
	fault_jmp = NULL;
	return rc;
}

static void snapshot(struct sb_reg *reg, struct sb_reg_entry *out, size_t cap, size_t *n)
{
	struct sb_reg_record spare; /* where slots go once out is full (they are still counted) */
	reg->epoch++;
	for (uint32_t i = 0; i < reg->nslots; i++) {
		struct sb_reg_record *dst = *n < cap ? &out[*n].rec : &spare;
		if (read_slot(reg, i, dst) < 0)
			continue;
		if (*n < cap)
			out[*n].slot = i;
		(*n)++;
	}
}

int sb_reg_snapshot(struct sb_reg *reg, struct sb_reg_entry *out, size_t cap, size_t *n)
{
	*n = 0;
	sigjmp_buf jb;
	if (reg->shrunk || sigsetjmp(jb, 0)) {
		*n = 0;
		return fault_caught(reg);
	}
	fault_arm(&jb);
	snapshot(reg, out, cap, n);
	fault_jmp = NULL;
	return 0;
}

bool sb_reg_replaced(const struct sb_reg *reg)
{
	struct stat a, b;
	return reg->shrunk || fstat(reg->fd, &a) < 0 || stat(reg->path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}
