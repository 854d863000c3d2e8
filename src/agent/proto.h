/* Wire protocol between sandbench (host) and sandbench-agent (inside the sandbox).
 *
 * Shared by the static agent and the host-side client, so it depends on libc only
 * (no sb_core, no jansson) and reports failures as -errno. The format is described
 * for humans in docs/agent-protocol.md; keep the two in step. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_AGENT_PROTO_VERSION 1
#define SB_AGENT_HDR_SIZE 20
/* The four bytes every frame starts with; also what a reader scans for to resync. */
#define SB_AGENT_MAGIC "SBAG"

/* Hard limit on any frame payload in either direction. */
#define SB_AGENT_MAX_PAYLOAD (16u << 20)
/* The agent refuses request payloads above this: room for a command plus a modest
 * stdin (copying a file in through `cat`), while bounding what a bad host can make
 * the agent buffer. */
#define SB_AGENT_MAX_REQUEST (4u << 20)
/* Per-stream capture limit for a command's stdout/stderr; the rest is counted only. */
#define SB_AGENT_MAX_CAPTURE (4u << 20)
/* Requests the agent runs at once on one connection. */
#define SB_AGENT_MAX_INFLIGHT 64
#define SB_AGENT_MAX_ARGS 1024

/* Frame types: requests have the high bit clear, responses set. */
enum sb_agent_type {
	SB_AGENT_T_RUN_ARGV = 0x01,
	SB_AGENT_T_RUN_SH = 0x02,
	SB_AGENT_T_PING = 0x03,
	SB_AGENT_T_SHUTDOWN = 0x04,
	SB_AGENT_T_RUN_SESSION = 0x05, /* script for the connection's persistent shell */
	SB_AGENT_T_FILE_PUT = 0x06,    /* write a chunk of a file inside the sandbox */
	SB_AGENT_T_FILE_GET = 0x07,    /* read a chunk of a file inside the sandbox */
	SB_AGENT_T_POWEROFF = 0x08,    /* agent running as a VM's init: power the guest off */
	SB_AGENT_T_INFO = 0x09,        /* the guest's memory, CPU and boot marks as text */
	SB_AGENT_T_RESULT = 0x81,
	SB_AGENT_T_PONG = 0x83,
	SB_AGENT_T_SHUTDOWN_ACK = 0x84,
	SB_AGENT_T_FILE_ACK = 0x86,
	SB_AGENT_T_FILE_DATA = 0x87,
	SB_AGENT_T_POWEROFF_ACK = 0x88,
	SB_AGENT_T_INFO_DATA = 0x89,
	SB_AGENT_T_ERROR = 0xff,
};

/* Codes carried by an ERROR frame. */
enum sb_agent_errcode {
	SB_AGENT_E_BAD_HEADER = 1,  /* magic or header check wrong; receiver scans for magic */
	SB_AGENT_E_BAD_VERSION = 2, /* header fine, version unknown; payload skipped */
	SB_AGENT_E_TOO_BIG = 3,     /* declared length over the limit; payload skipped */
	SB_AGENT_E_BAD_TYPE = 4,    /* unknown request type; payload skipped */
	SB_AGENT_E_BAD_PAYLOAD = 5, /* payload does not decode for its type */
	SB_AGENT_E_DUP_ID = 6,      /* id 0, or an id already in flight */
	SB_AGENT_E_BUSY = 7,        /* SB_AGENT_MAX_INFLIGHT requests already running */
	SB_AGENT_E_UNSUPPORTED = 8, /* well-formed, but not possible here (poweroff outside a VM) */
};

/* How a RUN request ended. */
enum sb_agent_status {
	SB_AGENT_EXITED = 0,       /* code = exit status */
	SB_AGENT_SIGNALED = 1,     /* code = signal number */
	SB_AGENT_SPAWN_FAILED = 2, /* code = errno from pipe/spawn/exec */
};

/* RESULT flags. */
#define SB_AGENT_RF_TIMED_OUT 0x1u
#define SB_AGENT_RF_STDOUT_TRUNC 0x2u
#define SB_AGENT_RF_STDERR_TRUNC 0x4u

struct sb_agent_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t flags; /* reserved: senders write 0, receivers ignore */
	uint32_t id;
	uint32_t len; /* payload bytes after the header */
};

/* Growable byte buffer used to build frames. A failed allocation sets `oom` and
 * later puts become no-ops, so encoders check once at the end. */
struct sb_agent_buf {
	uint8_t *data;
	size_t len, cap;
	bool oom;
};

/* Decoded RUN request. argv is one malloc'ed block (array + strings, NULL-terminated);
 * free it with free(req->argv). stdin_data points into the decoded payload. */
struct sb_agent_run_req {
	uint32_t flags;
	uint32_t timeout_ms; /* 0 = none; the agent SIGKILLs the process group after it */
	uint32_t argc;
	char **argv;
	const uint8_t *stdin_data;
	uint32_t stdin_len;
};

/* RESULT payload. When decoding, the byte pointers point into the payload. */
struct sb_agent_result {
	uint32_t status; /* enum sb_agent_status */
	int32_t code;
	uint32_t flags;  /* SB_AGENT_RF_* */
	uint64_t start_ns, end_ns; /* agent CLOCK_MONOTONIC just before spawn / at reap */
	uint64_t stdout_total, stderr_total; /* bytes the command wrote, captured or not */
	const uint8_t *stdout_data;
	uint32_t stdout_len;
	const uint8_t *stderr_data;
	uint32_t stderr_len;
};

/* FILE_PUT flags. */
#define SB_AGENT_FILE_CREATE 0x1u /* create or truncate the file before writing this chunk */
/* Largest chunk a FILE_GET answers with (a FILE_PUT chunk is bounded by SB_AGENT_MAX_REQUEST). */
#define SB_AGENT_FILE_CHUNK (1u << 20)

/* Decoded FILE_PUT / FILE_GET request; pointers point into the payload (path is not
 * NUL-terminated: path_len bytes). */
struct sb_agent_file_req {
	uint32_t flags;  /* FILE_PUT: SB_AGENT_FILE_* */
	uint32_t mode;   /* FILE_PUT: permission bits for a created file */
	uint64_t offset;
	uint32_t max_len; /* FILE_GET: at most this many bytes back */
	const uint8_t *path;
	uint32_t path_len;
	const uint8_t *data; /* FILE_PUT */
	uint32_t data_len;
};

/* Serialise h (magic and check added) into out. */
void sb_agent_hdr_pack(uint8_t out[SB_AGENT_HDR_SIZE], const struct sb_agent_hdr *h);
/* Parse a header. Returns 0, or -EBADMSG when the magic or the check word is wrong.
 * Version and length are returned as-is for the caller to judge. */
int sb_agent_hdr_unpack(const uint8_t in[SB_AGENT_HDR_SIZE], struct sb_agent_hdr *h);

void sb_agent_buf_free(struct sb_agent_buf *b);
/* Make room for n more bytes; returns a pointer to them or NULL (and sets oom). */
uint8_t *sb_agent_buf_reserve(struct sb_agent_buf *b, size_t n);
void sb_agent_buf_put_raw(struct sb_agent_buf *b, const void *p, size_t n);
void sb_agent_buf_put_u32(struct sb_agent_buf *b, uint32_t v);
void sb_agent_buf_put_u64(struct sb_agent_buf *b, uint64_t v);
/* u32 length then the bytes. */
void sb_agent_buf_put_blob(struct sb_agent_buf *b, const void *p, size_t n);
/* Drop the first n bytes (after they were written out). */
void sb_agent_buf_consume(struct sb_agent_buf *b, size_t n);

/* Frame building: begin appends a placeholder header and returns its offset; end fills
 * it in. end returns 0, -ENOMEM after an allocation failure, or -E2BIG when the payload
 * exceeds SB_AGENT_MAX_PAYLOAD (the partial frame is removed in both cases). */
size_t sb_agent_frame_begin(struct sb_agent_buf *b, uint8_t type, uint32_t id);
int sb_agent_frame_end(struct sb_agent_buf *b, size_t start);

/* Whole-frame encoders; append one frame to b. Return 0 or -ENOMEM/-E2BIG/-EINVAL
 * (empty argv, NUL-free strings are not checked: a NUL truncates the argument). */
int sb_agent_encode_run_argv(struct sb_agent_buf *b, uint32_t id, const char *const *argv,
                             uint32_t timeout_ms, const void *stdin_data, size_t stdin_len);
int sb_agent_encode_run_sh(struct sb_agent_buf *b, uint32_t id, const char *script,
                           uint32_t timeout_ms, const void *stdin_data, size_t stdin_len);
int sb_agent_encode_ping(struct sb_agent_buf *b, uint32_t id, const void *data, size_t len);
int sb_agent_encode_shutdown(struct sb_agent_buf *b, uint32_t id);
int sb_agent_encode_result(struct sb_agent_buf *b, uint32_t id, const struct sb_agent_result *r);
int sb_agent_encode_pong(struct sb_agent_buf *b, uint32_t id, uint64_t now_ns, const void *data,
                         size_t len);
int sb_agent_encode_shutdown_ack(struct sb_agent_buf *b, uint32_t id);
int sb_agent_encode_error(struct sb_agent_buf *b, uint32_t id, uint32_t code, const char *msg);

/* Same payload as RUN_SH, for the persistent shell; stdin must be empty. */
int sb_agent_encode_run_session(struct sb_agent_buf *b, uint32_t id, const char *script,
                                uint32_t timeout_ms);

/* File transfer and VM control. FILE_PUT: u32 flags, u32 mode, u64 offset, blob path,
 * blob data -> FILE_ACK: u32 errno, u64 file size after the write. FILE_GET: u64 offset,
 * u32 max_len, blob path -> FILE_DATA: u32 errno, u32 mode, u64 file size, blob data.
 * POWEROFF: empty -> POWEROFF_ACK (empty). INFO: empty -> INFO_DATA: blob text. */
int sb_agent_encode_file_put(struct sb_agent_buf *b, uint32_t id, const char *path, uint32_t flags,
                             uint32_t mode, uint64_t offset, const void *data, size_t len);
int sb_agent_encode_file_get(struct sb_agent_buf *b, uint32_t id, const char *path,
                             uint64_t offset, uint32_t max_len);
int sb_agent_encode_file_ack(struct sb_agent_buf *b, uint32_t id, uint32_t errnum, uint64_t size);
int sb_agent_encode_file_data(struct sb_agent_buf *b, uint32_t id, uint32_t errnum, uint32_t mode,
                              uint64_t size, const void *data, size_t len);
/* An empty request or answer of the given type (POWEROFF, POWEROFF_ACK, INFO). */
int sb_agent_encode_empty(struct sb_agent_buf *b, uint8_t type, uint32_t id);
int sb_agent_encode_info_data(struct sb_agent_buf *b, uint32_t id, const char *text, size_t len);
int sb_agent_decode_file_req(uint8_t type, const uint8_t *p, size_t len,
                             struct sb_agent_file_req *req);
int sb_agent_decode_file_ack(const uint8_t *p, size_t len, uint32_t *errnum, uint64_t *size);
int sb_agent_decode_file_data(const uint8_t *p, size_t len, uint32_t *errnum, uint32_t *mode,
                              uint64_t *size, const uint8_t **data, uint32_t *data_len);
int sb_agent_decode_info_data(const uint8_t *p, size_t len, const uint8_t **text, uint32_t *n);

/* Payload decoders. Return 0, -EBADMSG when the payload is malformed (short, trailing
 * bytes, bad counts, NUL inside a string), or -ENOMEM. RUN_SH and RUN_SESSION decode
 * to argv {"/bin/sh", "-c", script}. */
int sb_agent_decode_run(uint8_t type, const uint8_t *p, size_t len, struct sb_agent_run_req *req);
int sb_agent_decode_result(const uint8_t *p, size_t len, struct sb_agent_result *r);
int sb_agent_decode_pong(const uint8_t *p, size_t len, uint64_t *now_ns, const uint8_t **data,
                         size_t *data_len);
int sb_agent_decode_error(const uint8_t *p, size_t len, uint32_t *code, const uint8_t **msg,
                          size_t *msg_len);

/* Short stable name for an error code ("bad-header", ...), "unknown" otherwise. */
const char *sb_agent_errcode_name(uint32_t code);

/* Incremental frame reader with resynchronisation, used on both sides.
 * Feed it bytes (space/commit), then call next until it returns NEED. */
enum sb_agent_rd_event {
	SB_AGENT_RD_NEED = 0,  /* no complete frame buffered */
	SB_AGENT_RD_FRAME = 1, /* ev->hdr and ev->payload valid until the next call to
	                          sb_agent_reader_next or sb_agent_reader_space */
	SB_AGENT_RD_ERROR = 2, /* ev->error (SB_AGENT_E_*) and ev->hdr.id (0 if unknown);
	                          the reader already skips/rescans, just report it */
};

struct sb_agent_reader {
	uint8_t *buf;
	size_t start, len, cap; /* unread bytes are buf[start, len) */
	size_t max_payload;
	size_t consume;   /* bytes of the frame handed out last, dropped on the next call */
	uint64_t skip;    /* payload bytes still to discard after a refused header */
	bool resyncing;   /* scanning for magic after a bad header was reported */
};

struct sb_agent_rd_ev {
	struct sb_agent_hdr hdr;
	const uint8_t *payload;
	uint32_t error;
};

/* max_payload: frames declaring more are refused with TOO_BIG and skipped. */
void sb_agent_reader_init(struct sb_agent_reader *r, size_t max_payload);
void sb_agent_reader_free(struct sb_agent_reader *r);
/* Space to read into: returns a pointer with at least *n (>= 4096) writable bytes,
 * or NULL on allocation failure. */
uint8_t *sb_agent_reader_space(struct sb_agent_reader *r, size_t *n);
void sb_agent_reader_commit(struct sb_agent_reader *r, size_t n);
/* Convenience for tests and small feeds: copy bytes in. Returns 0 or -ENOMEM. */
int sb_agent_reader_feed(struct sb_agent_reader *r, const void *p, size_t n);
enum sb_agent_rd_event sb_agent_reader_next(struct sb_agent_reader *r, struct sb_agent_rd_ev *ev);
