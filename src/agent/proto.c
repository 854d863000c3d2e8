/* Encoding, decoding and stream reading for the agent protocol (see proto.h and
 * docs/agent-protocol.md). Integers are little-endian and written byte by byte so the
 * host and a guest of another endianness still agree. */
#include "agent/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* FNV-1a 32 over the first 16 header bytes: cheap, and enough to make a magic that
 * happens to occur inside garbage very unlikely to pass as a header. */
static uint32_t hdr_check(const uint8_t *p)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

void sb_agent_hdr_pack(uint8_t out[SB_AGENT_HDR_SIZE], const struct sb_agent_hdr *h)
{
	memcpy(out, SB_AGENT_MAGIC, 4);
	out[4] = h->version;
	out[5] = h->type;
	out[6] = (uint8_t)h->flags;
	out[7] = (uint8_t)(h->flags >> 8);
	put_le32(out + 8, h->id);
	put_le32(out + 12, h->len);
	put_le32(out + 16, hdr_check(out));
}

int sb_agent_hdr_unpack(const uint8_t in[SB_AGENT_HDR_SIZE], struct sb_agent_hdr *h)
{
	if (memcmp(in, SB_AGENT_MAGIC, 4) != 0 || get_le32(in + 16) != hdr_check(in))
		return -EBADMSG;
	h->version = in[4];
	h->type = in[5];
	h->flags = (uint16_t)(in[6] | in[7] << 8);
	h->id = get_le32(in + 8);
	h->len = get_le32(in + 12);
	return 0;
}

/* ---- buffer ---- */

void sb_agent_buf_free(struct sb_agent_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}

uint8_t *sb_agent_buf_reserve(struct sb_agent_buf *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return NULL;
	}
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d) {
			b->oom = true;
			return NULL;
		}
		b->data = d;
		b->cap = cap;
	}
	return b->data + b->len;
}

void sb_agent_buf_put_raw(struct sb_agent_buf *b, const void *p, size_t n)
{
	uint8_t *d = sb_agent_buf_reserve(b, n);
	if (!d)
		return;
	if (n)
		memcpy(d, p, n);
	b->len += n;
}

void sb_agent_buf_put_u32(struct sb_agent_buf *b, uint32_t v)
{
	uint8_t t[4];
	put_le32(t, v);
	sb_agent_buf_put_raw(b, t, 4);
}

void sb_agent_buf_put_u64(struct sb_agent_buf *b, uint64_t v)
{
	sb_agent_buf_put_u32(b, (uint32_t)v);
	sb_agent_buf_put_u32(b, (uint32_t)(v >> 32));
}

void sb_agent_buf_put_blob(struct sb_agent_buf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		b->oom = true;
		return;
	}
	sb_agent_buf_put_u32(b, (uint32_t)n);
	sb_agent_buf_put_raw(b, p, n);
}

void sb_agent_buf_consume(struct sb_agent_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

size_t sb_agent_frame_begin(struct sb_agent_buf *b, uint8_t type, uint32_t id)
{
	size_t start = b->len;
	uint8_t *d = sb_agent_buf_reserve(b, SB_AGENT_HDR_SIZE);
	if (d) {
		/* Type and id are stashed now; frame_end writes the real header. */
		d[0] = type;
		put_le32(d + 4, id);
		b->len += SB_AGENT_HDR_SIZE;
	}
	return start;
}

int sb_agent_frame_end(struct sb_agent_buf *b, size_t start)
{
	if (b->oom) {
		if (b->len > start)
			b->len = start;
		b->oom = false;
		return -ENOMEM;
	}
	size_t plen = b->len - start - SB_AGENT_HDR_SIZE;
	if (plen > SB_AGENT_MAX_PAYLOAD) {
		b->len = start;
		return -E2BIG;
	}
	uint8_t *d = b->data + start;
	struct sb_agent_hdr h = {
		.version = SB_AGENT_PROTO_VERSION,
		.type = d[0],
		.id = get_le32(d + 4),
		.len = (uint32_t)plen,
	};
	sb_agent_hdr_pack(d, &h);
	return 0;
}

/* ---- encoders ---- */

static void put_run_common(struct sb_agent_buf *b, uint32_t timeout_ms, uint32_t count)
{
	sb_agent_buf_put_u32(b, 0); /* flags */
	sb_agent_buf_put_u32(b, timeout_ms);
	sb_agent_buf_put_u32(b, count);
}

int sb_agent_encode_run_argv(struct sb_agent_buf *b, uint32_t id, const char *const *argv,
                             uint32_t timeout_ms, const void *stdin_data, size_t stdin_len)
{
	uint32_t argc = 0;
	if (!argv || !argv[0])
		return -EINVAL;
	while (argv[argc])
		if (++argc > SB_AGENT_MAX_ARGS)
			return -E2BIG;
	size_t start = sb_agent_frame_begin(b, SB_AGENT_T_RUN_ARGV, id);
	put_run_common(b, timeout_ms, argc);
	for (uint32_t i = 0; i < argc; i++)
		sb_agent_buf_put_blob(b, argv[i], strlen(argv[i]));
	sb_agent_buf_put_blob(b, stdin_data, stdin_data ? stdin_len : 0);
	return sb_agent_frame_end(b, start);
}

static int encode_script(struct sb_agent_buf *b, uint8_t type, uint32_t id, const char *script,
                         uint32_t timeout_ms, const void *stdin_data, size_t stdin_len)
{
	if (!script)
		return -EINVAL;
	size_t start = sb_agent_frame_begin(b, type, id);
	put_run_common(b, timeout_ms, 1);
	sb_agent_buf_put_blob(b, script, strlen(script));
	sb_agent_buf_put_blob(b, stdin_data, stdin_data ? stdin_len : 0);
	return sb_agent_frame_end(b, start);
}

int sb_agent_encode_run_sh(struct sb_agent_buf *b, uint32_t id, const char *script,
                           uint32_t timeout_ms, const void *stdin_data, size_t stdin_len)
{
	return encode_script(b, SB_AGENT_T_RUN_SH, id, script, timeout_ms, stdin_data, stdin_len);
}

int sb_agent_encode_run_session(struct sb_agent_buf *b, uint32_t id, const char *script,
                                uint32_t timeout_ms)
{
	return encode_script(b, SB_AGENT_T_RUN_SESSION, id, script, timeout_ms, NULL, 0);
}

int sb_agent_encode_ping(struct sb_agent_buf *b, uint32_t id, const void *data, size_t len)
{
	size_t start = sb_agent_frame_begin(b, SB_AGENT_T_PING, id);
	sb_agent_buf_put_raw(b, data, data ? len : 0);
	return sb_agent_frame_end(b, start);
}

int sb_agent_encode_shutdown(struct sb_agent_buf *b, uint32_t id)
{
	return sb_agent_frame_end(b, sb_agent_frame_begin(b, SB_AGENT_T_SHUTDOWN, id));
}

int sb_agent_encode_shutdown_ack(struct sb_agent_buf *b, uint32_t id)
{
	return sb_agent_frame_end(b, sb_agent_frame_begin(b, SB_AGENT_T_SHUTDOWN_ACK, id));
}

int sb_agent_encode_result(struct sb_agent_buf *b, uint32_t id, const struct sb_agent_result *r)
{
	size_t start = sb_agent_frame_begin(b, SB_AGENT_T_RESULT, id);
	sb_agent_buf_put_u32(b, r->status);
	sb_agent_buf_put_u32(b, (uint32_t)r->code);
	sb_agent_buf_put_u32(b, r->flags);
	sb_agent_buf_put_u64(b, r->start_ns);
	sb_agent_buf_put_u64(b, r->end_ns);
	sb_agent_buf_put_u64(b, r->stdout_total);
	sb_agent_buf_put_u64(b, r->stderr_total);
	sb_agent_buf_put_blob(b, r->stdout_data, r->stdout_len);
	sb_agent_buf_put_blob(b, r->stderr_data, r->stderr_len);
	return sb_agent_frame_end(b, start);
}

int sb_agent_encode_pong(struct sb_agent_buf *b, uint32_t id, uint64_t now_ns, const void *data,
                         size_t len)
{
	size_t start = sb_agent_frame_begin(b, SB_AGENT_T_PONG, id);
	sb_agent_buf_put_u64(b, now_ns);
	sb_agent_buf_put_raw(b, data, data ? len : 0);
	return sb_agent_frame_end(b, start);
}

int sb_agent_encode_error(struct sb_agent_buf *b, uint32_t id, uint32_t code, const char *msg)
{
	size_t start = sb_agent_frame_begin(b, SB_AGENT_T_ERROR, id);
	sb_agent_buf_put_u32(b, code);
	sb_agent_buf_put_blob(b, msg, msg ? strlen(msg) : 0);
	return sb_agent_frame_end(b, start);
}

int sb_agent_encode_file_put(struct sb_agent_buf *b, uint32_t id, const char *path, uint32_t flags,
                             uint32_t mode, uint64_t offset, const void *data, size_t len)
{
	if (!path || !*path)
		return -EINVAL;
	size_t start = sb_agent_frame_begin(b, SB_AGENT_T_FILE_PUT, id);
	sb_agent_buf_put_u32(b, flags);
	sb_agent_buf_put_u32(b, mode);
	sb_agent_buf_put_u64(b, offset);
	sb_agent_buf_put_blob(b, path, strlen(path));
	sb_agent_buf_put_blob(b, data, data ? len : 0);
	return sb_agent_frame_end(b, start);
}

int sb_agent_encode_file_get(struct sb_agent_buf *b, uint32_t id, const char *path,
                             uint64_t offset, uint32_t max_len)
{
	if (!path || !*path)
		return -EINVAL;
	size_t start = sb_agent_frame_begin(b, SB_AGENT_T_FILE_GET, id);
	sb_agent_buf_put_u64(b, offset);
	sb_agent_buf_put_u32(b, max_len);
	sb_agent_buf_put_blob(b, path, strlen(path));
	return sb_agent_frame_end(b, start);
}

int sb_agent_encode_file_ack(struct sb_agent_buf *b, uint32_t id, uint32_t errnum, uint64_t size)
{
	size_t start = sb_agent_frame_begin(b, SB_AGENT_T_FILE_ACK, id);
	sb_agent_buf_put_u32(b, errnum);
	sb_agent_buf_put_u64(b, size);
	return sb_agent_frame_end(b, start);
}

int sb_agent_encode_file_data(struct sb_agent_buf *b, uint32_t id, uint32_t errnum, uint32_t mode,
                              uint64_t size, const void *data, size_t len)
{
	size_t start = sb_agent_frame_begin(b, SB_AGENT_T_FILE_DATA, id);
	sb_agent_buf_put_u32(b, errnum);
	sb_agent_buf_put_u32(b, mode);
	sb_agent_buf_put_u64(b, size);
	sb_agent_buf_put_blob(b, data, data ? len : 0);
	return sb_agent_frame_end(b, start);
}

int sb_agent_encode_empty(struct sb_agent_buf *b, uint8_t type, uint32_t id)
{
	return sb_agent_frame_end(b, sb_agent_frame_begin(b, type, id));
}

int sb_agent_encode_info_data(struct sb_agent_buf *b, uint32_t id, const char *text, size_t len)
{
	size_t start = sb_agent_frame_begin(b, SB_AGENT_T_INFO_DATA, id);
	sb_agent_buf_put_blob(b, text, text ? len : 0);
	return sb_agent_frame_end(b, start);
}

/* ---- decoders ---- */

/* Bounds-checked cursor: any overrun sets bad, and every getter then returns zeros. */
struct cursor {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static uint32_t cur_u32(struct cursor *c)
{
	if (c->bad || c->len - c->off < 4) {
		c->bad = true;
		return 0;
	}
	uint32_t v = get_le32(c->p + c->off);
	c->off += 4;
	return v;
}

static uint64_t cur_u64(struct cursor *c)
{
	uint64_t lo = cur_u32(c);
	return lo | (uint64_t)cur_u32(c) << 32;
}

static const uint8_t *cur_blob(struct cursor *c, uint32_t *n)
{
	*n = cur_u32(c);
	if (c->bad || c->len - c->off < *n) {
		c->bad = true;
		*n = 0;
		return NULL;
	}
	const uint8_t *p = c->p + c->off;
	c->off += *n;
	return p;
}

static bool cur_done(const struct cursor *c)
{
	return !c->bad && c->off == c->len;
}

int sb_agent_decode_run(uint8_t type, const uint8_t *p, size_t len, struct sb_agent_run_req *req)
{
	struct cursor c = { .p = p, .len = len };
	memset(req, 0, sizeof(*req));
	bool script = type == SB_AGENT_T_RUN_SH || type == SB_AGENT_T_RUN_SESSION;
	if (type != SB_AGENT_T_RUN_ARGV && !script)
		return -EBADMSG;
	req->flags = cur_u32(&c);
	req->timeout_ms = cur_u32(&c);
	uint32_t count = cur_u32(&c);
	if (c.bad || count == 0 || count > SB_AGENT_MAX_ARGS || (script && count != 1))
		return -EBADMSG;

	/* First pass validates and sizes; second copies into one block. */
	size_t strbytes = 0;
	size_t args_off = c.off;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t n;
		const uint8_t *s = cur_blob(&c, &n);
		if (c.bad || (n && memchr(s, 0, n)))
			return -EBADMSG;
		strbytes += (size_t)n + 1;
	}
	uint32_t in_len;
	const uint8_t *in = cur_blob(&c, &in_len);
	if (!cur_done(&c))
		return -EBADMSG;

	static const char *const sh_prefix[] = { "/bin/sh", "-c" };
	uint32_t argc = script ? 3 : count;
	if (script)
		strbytes += sizeof("/bin/sh") + sizeof("-c");
	char **argv = malloc(sizeof(char *) * (argc + 1) + strbytes);
	if (!argv)
		return -ENOMEM;
	char *dst = (char *)(argv + argc + 1);
	uint32_t ai = 0;
	if (script) {
		for (int i = 0; i < 2; i++) {
			size_t n = strlen(sh_prefix[i]) + 1;
			memcpy(dst, sh_prefix[i], n);
			argv[ai++] = dst;
			dst += n;
		}
	}
	struct cursor c2 = { .p = p, .len = len, .off = args_off };
	for (uint32_t i = 0; i < count; i++) {
		uint32_t n;
		const uint8_t *s = cur_blob(&c2, &n);
		if (n)
			memcpy(dst, s, n);
		dst[n] = '\0';
		argv[ai++] = dst;
		dst += n + 1;
	}
	argv[ai] = NULL;
	req->argc = argc;
	req->argv = argv;
	req->stdin_data = in;
	req->stdin_len = in_len;
	return 0;
}

int sb_agent_decode_result(const uint8_t *p, size_t len, struct sb_agent_result *r)
{
	struct cursor c = { .p = p, .len = len };
	memset(r, 0, sizeof(*r));
	r->status = cur_u32(&c);
	r->code = (int32_t)cur_u32(&c);
	r->flags = cur_u32(&c);
	r->start_ns = cur_u64(&c);
	r->end_ns = cur_u64(&c);
	r->stdout_total = cur_u64(&c);
	r->stderr_total = cur_u64(&c);
	r->stdout_data = cur_blob(&c, &r->stdout_len);
	r->stderr_data = cur_blob(&c, &r->stderr_len);
	if (!cur_done(&c) || r->status > SB_AGENT_SPAWN_FAILED)
		return -EBADMSG;
	return 0;
}

int sb_agent_decode_pong(const uint8_t *p, size_t len, uint64_t *now_ns, const uint8_t **data,
                         size_t *data_len)
{
	struct cursor c = { .p = p, .len = len };
	*now_ns = cur_u64(&c);
	if (c.bad)
		return -EBADMSG;
	*data = p + c.off;
	*data_len = len - c.off;
	return 0;
}

int sb_agent_decode_error(const uint8_t *p, size_t len, uint32_t *code, const uint8_t **msg,
                          size_t *msg_len)
{
	struct cursor c = { .p = p, .len = len };
	uint32_t n;
	*code = cur_u32(&c);
	*msg = cur_blob(&c, &n);
	*msg_len = n;
	return cur_done(&c) ? 0 : -EBADMSG;
}

int sb_agent_decode_file_req(uint8_t type, const uint8_t *p, size_t len,
                             struct sb_agent_file_req *req)
{
	struct cursor c = { .p = p, .len = len };
	memset(req, 0, sizeof(*req));
	if (type == SB_AGENT_T_FILE_PUT) {
		req->flags = cur_u32(&c);
		req->mode = cur_u32(&c);
		req->offset = cur_u64(&c);
		req->path = cur_blob(&c, &req->path_len);
		req->data = cur_blob(&c, &req->data_len);
	} else if (type == SB_AGENT_T_FILE_GET) {
		req->offset = cur_u64(&c);
		req->max_len = cur_u32(&c);
		req->path = cur_blob(&c, &req->path_len);
	} else {
		return -EBADMSG;
	}
	if (!cur_done(&c) || req->path_len == 0 || memchr(req->path, 0, req->path_len))
		return -EBADMSG;
	return 0;
}

int sb_agent_decode_file_ack(const uint8_t *p, size_t len, uint32_t *errnum, uint64_t *size)
{
	struct cursor c = { .p = p, .len = len };
	*errnum = cur_u32(&c);
	*size = cur_u64(&c);
	return cur_done(&c) ? 0 : -EBADMSG;
}

int sb_agent_decode_file_data(const uint8_t *p, size_t len, uint32_t *errnum, uint32_t *mode,
                              uint64_t *size, const uint8_t **data, uint32_t *data_len)
{
	struct cursor c = { .p = p, .len = len };
	*errnum = cur_u32(&c);
	*mode = cur_u32(&c);
	*size = cur_u64(&c);
	*data = cur_blob(&c, data_len);
	return cur_done(&c) ? 0 : -EBADMSG;
}

int sb_agent_decode_info_data(const uint8_t *p, size_t len, const uint8_t **text, uint32_t *n)
{
	struct cursor c = { .p = p, .len = len };
	*text = cur_blob(&c, n);
	return cur_done(&c) ? 0 : -EBADMSG;
}

const char *sb_agent_errcode_name(uint32_t code)
{
	switch (code) {
	case SB_AGENT_E_BAD_HEADER: return "bad-header";
	case SB_AGENT_E_BAD_VERSION: return "bad-version";
	case SB_AGENT_E_TOO_BIG: return "too-big";
	case SB_AGENT_E_BAD_TYPE: return "bad-type";
	case SB_AGENT_E_BAD_PAYLOAD: return "bad-payload";
	case SB_AGENT_E_DUP_ID: return "dup-id";
	case SB_AGENT_E_BUSY: return "busy";
	case SB_AGENT_E_UNSUPPORTED: return "unsupported";
	default: return "unknown";
	}
}

/* ---- stream reader ---- */

void sb_agent_reader_init(struct sb_agent_reader *r, size_t max_payload)
{
	memset(r, 0, sizeof(*r));
	r->max_payload = max_payload;
}

void sb_agent_reader_free(struct sb_agent_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

static bool reader_grow(struct sb_agent_reader *r, size_t want_free)
{
	/* Compact first: unread bytes move to the front so the buffer stays bounded by
	 * the largest frame rather than by the stream length. */
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
	}
	if (r->cap - r->len >= want_free)
		return true;
	size_t cap = r->cap ? r->cap : 16384;
	while (cap - r->len < want_free)
		cap *= 2;
	uint8_t *b = realloc(r->buf, cap);
	if (!b)
		return false;
	r->buf = b;
	r->cap = cap;
	return true;
}

uint8_t *sb_agent_reader_space(struct sb_agent_reader *r, size_t *n)
{
	size_t want = 4096;
	/* When a header is buffered, make room for its whole frame in one go. */
	size_t avail = r->len - r->start;
	if (!r->skip && !r->resyncing && avail >= SB_AGENT_HDR_SIZE) {
		struct sb_agent_hdr h;
		if (sb_agent_hdr_unpack(r->buf + r->start, &h) == 0 && h.len <= r->max_payload &&
		    (size_t)h.len + SB_AGENT_HDR_SIZE > avail)
			want = (size_t)h.len + SB_AGENT_HDR_SIZE - avail;
		if (want < 4096)
			want = 4096;
	}
	if (r->cap - r->len < want && !reader_grow(r, want))
		return NULL;
	*n = r->cap - r->len;
	return r->buf + r->len;
}

void sb_agent_reader_commit(struct sb_agent_reader *r, size_t n)
{
	r->len += n;
}

int sb_agent_reader_feed(struct sb_agent_reader *r, const void *p, size_t n)
{
	while (n > 0) {
		size_t room;
		uint8_t *d = sb_agent_reader_space(r, &room);
		if (!d)
			return -ENOMEM;
		size_t k = n < room ? n : room;
		memcpy(d, p, k);
		sb_agent_reader_commit(r, k);
		p = (const uint8_t *)p + k;
		n -= k;
	}
	return 0;
}

static void drop(struct sb_agent_reader *r, size_t n)
{
	r->start += n;
	if (r->start == r->len)
		r->start = r->len = 0;
}

enum sb_agent_rd_event sb_agent_reader_next(struct sb_agent_reader *r, struct sb_agent_rd_ev *ev)
{
	memset(ev, 0, sizeof(*ev));
	if (r->consume) {
		drop(r, r->consume);
		r->consume = 0;
	}
	for (;;) {
		size_t avail = r->len - r->start;
		if (r->skip) {
			size_t k = avail < r->skip ? avail : (size_t)r->skip;
			drop(r, k);
			r->skip -= k;
			if (r->skip)
				return SB_AGENT_RD_NEED;
			continue;
		}
		if (avail == 0)
			return SB_AGENT_RD_NEED;
		/* Only now: before the first read buf is NULL, and NULL + 0 is undefined. */
		const uint8_t *d = r->buf + r->start;
		size_t m = avail < 4 ? avail : 4;
		bool magic_ok = memcmp(d, SB_AGENT_MAGIC, m) == 0;
		if (r->resyncing) {
			/* Silent scan: one error was already reported for this stretch. */
			if (!magic_ok) {
				const uint8_t *q = memchr(d + 1, SB_AGENT_MAGIC[0], avail - 1);
				drop(r, q ? (size_t)(q - d) : avail);
				continue;
			}
			if (avail < SB_AGENT_HDR_SIZE)
				return SB_AGENT_RD_NEED;
			if (sb_agent_hdr_unpack(d, &ev->hdr) != 0) {
				drop(r, 1);
				continue;
			}
			r->resyncing = false;
		}
		if (!magic_ok) {
			r->resyncing = true;
			drop(r, 1);
			ev->error = SB_AGENT_E_BAD_HEADER;
			return SB_AGENT_RD_ERROR;
		}
		if (avail < SB_AGENT_HDR_SIZE)
			return SB_AGENT_RD_NEED;
		if (sb_agent_hdr_unpack(d, &ev->hdr) != 0) {
			memset(&ev->hdr, 0, sizeof(ev->hdr));
			r->resyncing = true;
			drop(r, 1);
			ev->error = SB_AGENT_E_BAD_HEADER;
			return SB_AGENT_RD_ERROR;
		}
		if (ev->hdr.version != SB_AGENT_PROTO_VERSION || ev->hdr.len > r->max_payload) {
			/* The header itself is trustworthy (check passed), so skipping exactly
			 * the declared payload lands on the next frame boundary. */
			ev->error = ev->hdr.version != SB_AGENT_PROTO_VERSION ? SB_AGENT_E_BAD_VERSION
			                                                      : SB_AGENT_E_TOO_BIG;
			drop(r, SB_AGENT_HDR_SIZE);
			r->skip = ev->hdr.len;
			return SB_AGENT_RD_ERROR;
		}
		if (avail - SB_AGENT_HDR_SIZE < ev->hdr.len)
			return SB_AGENT_RD_NEED;
		ev->payload = d + SB_AGENT_HDR_SIZE;
		r->consume = SB_AGENT_HDR_SIZE + ev->hdr.len;
		return SB_AGENT_RD_FRAME;
	}
}
