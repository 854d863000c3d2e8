/* Agent protocol: encode/decode round trips and the stream reader's error handling
 * and resynchronisation, without any process involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/proto.h"

/* Feed everything, expect exactly one frame, return it decoded header + payload copy. */
static void expect_frame(struct sb_agent_reader *r, struct sb_agent_rd_ev *ev, uint8_t type)
{
	assert_int_equal(sb_agent_reader_next(r, ev), SB_AGENT_RD_FRAME);
	assert_int_equal(ev->hdr.type, type);
	assert_int_equal(ev->hdr.version, SB_AGENT_PROTO_VERSION);
}

static void test_header_round_trip(void **state)
{
	(void)state;
	uint8_t raw[SB_AGENT_HDR_SIZE];
	struct sb_agent_hdr in = { .version = 1, .type = 0x81, .flags = 0xbeef, .id = 0xdeadbeef,
	                           .len = 123456 }, out;
	sb_agent_hdr_pack(raw, &in);
	assert_memory_equal(raw, SB_AGENT_MAGIC, 4);
	assert_int_equal(sb_agent_hdr_unpack(raw, &out), 0);
	assert_int_equal(out.type, in.type);
	assert_int_equal(out.flags, in.flags);
	assert_int_equal(out.id, in.id);
	assert_int_equal(out.len, in.len);
	/* Any single flipped bit in the first 16 bytes must fail the check. */
	for (int i = 0; i < 16 * 8; i++) {
		raw[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(sb_agent_hdr_unpack(raw, &out), -EBADMSG);
		raw[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
}

static void test_run_argv_round_trip(void **state)
{
	(void)state;
	struct sb_agent_buf b = { 0 };
	const char *argv[] = { "printf", "%s\\n", "", "with space", NULL };
	assert_int_equal(sb_agent_encode_run_argv(&b, 7, argv, 1500, "input", 5), 0);
	struct sb_agent_reader r;
	sb_agent_reader_init(&r, SB_AGENT_MAX_REQUEST);
	assert_int_equal(sb_agent_reader_feed(&r, b.data, b.len), 0);
	struct sb_agent_rd_ev ev;
	expect_frame(&r, &ev, SB_AGENT_T_RUN_ARGV);
	assert_int_equal(ev.hdr.id, 7);
	struct sb_agent_run_req req;
	assert_int_equal(sb_agent_decode_run(ev.hdr.type, ev.payload, ev.hdr.len, &req), 0);
	assert_int_equal(req.argc, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(req.argv[i], argv[i]);
	assert_null(req.argv[4]);
	assert_int_equal(req.timeout_ms, 1500);
	assert_int_equal(req.stdin_len, 5);
	assert_memory_equal(req.stdin_data, "input", 5);
	free(req.argv);
	assert_int_equal(sb_agent_reader_next(&r, &ev), SB_AGENT_RD_NEED);
	sb_agent_reader_free(&r);
	sb_agent_buf_free(&b);
}

static void test_run_sh_round_trip(void **state)
{
	(void)state;
	struct sb_agent_buf b = { 0 };
	assert_int_equal(sb_agent_encode_run_sh(&b, 9, "echo hi; exit 3", 0, NULL, 0), 0);
	struct sb_agent_hdr h;
	assert_int_equal(sb_agent_hdr_unpack(b.data, &h), 0);
	struct sb_agent_run_req req;
	assert_int_equal(sb_agent_decode_run(h.type, b.data + SB_AGENT_HDR_SIZE, h.len, &req), 0);
	assert_int_equal(req.argc, 3);
	assert_string_equal(req.argv[0], "/bin/sh");
	assert_string_equal(req.argv[1], "-c");
	assert_string_equal(req.argv[2], "echo hi; exit 3");
	assert_null(req.argv[3]);
	assert_int_equal(req.stdin_len, 0);
	free(req.argv);
	sb_agent_buf_free(&b);
}

static void test_result_round_trip(void **state)
{
	(void)state;
	struct sb_agent_buf b = { 0 };
	struct sb_agent_result in = {
		.status = SB_AGENT_SIGNALED, .code = 9, .flags = SB_AGENT_RF_TIMED_OUT,
		.start_ns = 1234567890123ull, .end_ns = 1234567999999ull,
		.stdout_total = 1ull << 33, .stderr_total = 3,
		.stdout_data = (const uint8_t *)"out\0put", .stdout_len = 7,
		.stderr_data = (const uint8_t *)"err", .stderr_len = 3,
	}, out;
	assert_int_equal(sb_agent_encode_result(&b, 42, &in), 0);
	struct sb_agent_hdr h;
	assert_int_equal(sb_agent_hdr_unpack(b.data, &h), 0);
	assert_int_equal(h.type, SB_AGENT_T_RESULT);
	assert_int_equal(h.id, 42);
	assert_int_equal(sb_agent_decode_result(b.data + SB_AGENT_HDR_SIZE, h.len, &out), 0);
	assert_int_equal(out.status, in.status);
	assert_int_equal(out.code, in.code);
	assert_int_equal(out.flags, in.flags);
	assert_true(out.start_ns == in.start_ns && out.end_ns == in.end_ns);
	assert_true(out.stdout_total == in.stdout_total && out.stderr_total == 3);
	assert_int_equal(out.stdout_len, 7);
	assert_memory_equal(out.stdout_data, "out\0put", 7);
	assert_memory_equal(out.stderr_data, "err", 3);

	/* Every truncation of the payload is rejected, never read past. */
	for (uint32_t n = 0; n < h.len; n++)
		assert_int_equal(sb_agent_decode_result(b.data + SB_AGENT_HDR_SIZE, n, &out), -EBADMSG);
	sb_agent_buf_free(&b);
}

static void test_pong_error_ack_round_trip(void **state)
{
	(void)state;
	struct sb_agent_buf b = { 0 };
	assert_int_equal(sb_agent_encode_pong(&b, 5, 987654321, "echo", 4), 0);
	assert_int_equal(sb_agent_encode_error(&b, 6, SB_AGENT_E_DUP_ID, "dup"), 0);
	assert_int_equal(sb_agent_encode_shutdown_ack(&b, 8), 0);
	struct sb_agent_reader r;
	sb_agent_reader_init(&r, SB_AGENT_MAX_PAYLOAD);
	assert_int_equal(sb_agent_reader_feed(&r, b.data, b.len), 0);
	struct sb_agent_rd_ev ev;

	expect_frame(&r, &ev, SB_AGENT_T_PONG);
	uint64_t now;
	const uint8_t *d;
	size_t n;
	assert_int_equal(sb_agent_decode_pong(ev.payload, ev.hdr.len, &now, &d, &n), 0);
	assert_true(now == 987654321);
	assert_int_equal(n, 4);
	assert_memory_equal(d, "echo", 4);

	expect_frame(&r, &ev, SB_AGENT_T_ERROR);
	uint32_t code;
	assert_int_equal(sb_agent_decode_error(ev.payload, ev.hdr.len, &code, &d, &n), 0);
	assert_int_equal(code, SB_AGENT_E_DUP_ID);
	assert_int_equal(n, 3);
	assert_string_equal(sb_agent_errcode_name(code), "dup-id");

	expect_frame(&r, &ev, SB_AGENT_T_SHUTDOWN_ACK);
	assert_int_equal(ev.hdr.id, 8);
	assert_int_equal(ev.hdr.len, 0);
	assert_int_equal(sb_agent_reader_next(&r, &ev), SB_AGENT_RD_NEED);
	sb_agent_reader_free(&r);
	sb_agent_buf_free(&b);
}

static void test_bad_run_payloads(void **state)
{
	(void)state;
	struct sb_agent_run_req req;
	struct sb_agent_buf b = { 0 };
	const char *argv[] = { "a", "b", NULL };
	assert_int_equal(sb_agent_encode_run_argv(&b, 1, argv, 0, "xy", 2), 0);
	const uint8_t *p = b.data + SB_AGENT_HDR_SIZE;
	size_t len = b.len - SB_AGENT_HDR_SIZE;
	for (size_t n = 0; n < len; n++)
		assert_int_equal(sb_agent_decode_run(SB_AGENT_T_RUN_ARGV, p, n, &req), -EBADMSG);
	/* Trailing junk. */
	uint8_t *big = malloc(len + 1);
	memcpy(big, p, len);
	big[len] = 0;
	assert_int_equal(sb_agent_decode_run(SB_AGENT_T_RUN_ARGV, big, len + 1, &req), -EBADMSG);
	/* A NUL inside an argument ("a" -> "\0"). */
	memcpy(big, p, len);
	big[16] = 0;
	assert_int_equal(sb_agent_decode_run(SB_AGENT_T_RUN_ARGV, big, len, &req), -EBADMSG);
	/* sh requests carry exactly one string. */
	assert_int_equal(sb_agent_decode_run(SB_AGENT_T_RUN_SH, p, len, &req), -EBADMSG);
	/* Zero arguments. */
	uint8_t zero[16] = { 0 };
	assert_int_equal(sb_agent_decode_run(SB_AGENT_T_RUN_ARGV, zero, sizeof(zero), &req),
	                 -EBADMSG);
	free(big);
	const char *empty[] = { NULL };
	assert_int_equal(sb_agent_encode_run_argv(&b, 1, empty, 0, NULL, 0), -EINVAL);
	sb_agent_buf_free(&b);
}

static void test_reader_byte_by_byte(void **state)
{
	(void)state;
	struct sb_agent_buf b = { 0 };
	for (uint32_t id = 1; id <= 3; id++)
		assert_int_equal(sb_agent_encode_ping(&b, id, "abc", id), 0);
	struct sb_agent_reader r;
	sb_agent_reader_init(&r, 64);
	struct sb_agent_rd_ev ev;
	uint32_t seen = 0;
	for (size_t i = 0; i < b.len; i++) {
		assert_int_equal(sb_agent_reader_feed(&r, b.data + i, 1), 0);
		enum sb_agent_rd_event e;
		while ((e = sb_agent_reader_next(&r, &ev)) != SB_AGENT_RD_NEED) {
			assert_int_equal(e, SB_AGENT_RD_FRAME);
			seen++;
			assert_int_equal(ev.hdr.id, seen);
			assert_int_equal(ev.hdr.len, seen);
			assert_memory_equal(ev.payload, "abc", seen);
		}
	}
	assert_int_equal(seen, 3);
	sb_agent_reader_free(&r);
	sb_agent_buf_free(&b);
}

static void test_reader_resync_after_garbage(void **state)
{
	(void)state;
	struct sb_agent_buf b = { 0 };
	/* Garbage that even contains the magic, with a header check that cannot match. */
	sb_agent_buf_put_raw(&b, "hello SBAG world SBAGxxxxxxxxxxxxxxxxxxxxxxxx", 45);
	assert_int_equal(sb_agent_encode_ping(&b, 77, "p", 1), 0);
	struct sb_agent_reader r;
	sb_agent_reader_init(&r, 1024);
	assert_int_equal(sb_agent_reader_feed(&r, b.data, b.len), 0);
	struct sb_agent_rd_ev ev;
	assert_int_equal(sb_agent_reader_next(&r, &ev), SB_AGENT_RD_ERROR);
	assert_int_equal(ev.error, SB_AGENT_E_BAD_HEADER);
	assert_int_equal(ev.hdr.id, 0);
	/* One error per stretch of garbage, then the real frame. */
	expect_frame(&r, &ev, SB_AGENT_T_PING);
	assert_int_equal(ev.hdr.id, 77);
	assert_int_equal(sb_agent_reader_next(&r, &ev), SB_AGENT_RD_NEED);
	sb_agent_reader_free(&r);
	sb_agent_buf_free(&b);
}

static void test_reader_oversized_and_bad_version(void **state)
{
	(void)state;
	struct sb_agent_buf b = { 0 };
	uint8_t hdr[SB_AGENT_HDR_SIZE];
	struct sb_agent_hdr h = { .version = 1, .type = SB_AGENT_T_PING, .id = 11, .len = 5000 };
	sb_agent_hdr_pack(hdr, &h);
	sb_agent_buf_put_raw(&b, hdr, sizeof(hdr));
	uint8_t *junk = calloc(1, 5000);
	memcpy(junk + 100, SB_AGENT_MAGIC, 4); /* a magic inside the skipped payload */
	sb_agent_buf_put_raw(&b, junk, 5000);
	free(junk);
	h = (struct sb_agent_hdr){ .version = 9, .type = SB_AGENT_T_PING, .id = 12, .len = 3 };
	sb_agent_hdr_pack(hdr, &h);
	sb_agent_buf_put_raw(&b, hdr, sizeof(hdr));
	sb_agent_buf_put_raw(&b, "abc", 3);
	assert_int_equal(sb_agent_encode_ping(&b, 13, NULL, 0), 0);

	struct sb_agent_reader r;
	sb_agent_reader_init(&r, 1024);
	struct sb_agent_rd_ev ev;
	/* Feed in uneven chunks so the skip spans several reads. */
	size_t off = 0;
	int errors = 0, frames = 0;
	while (off < b.len) {
		size_t n = b.len - off < 777 ? b.len - off : 777;
		assert_int_equal(sb_agent_reader_feed(&r, b.data + off, n), 0);
		off += n;
		enum sb_agent_rd_event e;
		while ((e = sb_agent_reader_next(&r, &ev)) != SB_AGENT_RD_NEED) {
			if (e == SB_AGENT_RD_ERROR) {
				errors++;
				if (errors == 1) {
					assert_int_equal(ev.error, SB_AGENT_E_TOO_BIG);
					assert_int_equal(ev.hdr.id, 11);
				} else {
					assert_int_equal(ev.error, SB_AGENT_E_BAD_VERSION);
					assert_int_equal(ev.hdr.id, 12);
				}
			} else {
				frames++;
				assert_int_equal(ev.hdr.id, 13);
			}
		}
	}
	assert_int_equal(errors, 2);
	assert_int_equal(frames, 1);
	sb_agent_reader_free(&r);
	sb_agent_buf_free(&b);
}

static void test_frame_too_big(void **state)
{
	(void)state;
	struct sb_agent_buf b = { 0 };
	size_t n = SB_AGENT_MAX_PAYLOAD + 1;
	char *big = malloc(n);
	memset(big, 'x', n);
	assert_int_equal(sb_agent_encode_ping(&b, 1, big, n), -E2BIG);
	assert_int_equal(b.len, 0); /* nothing half-queued */
	assert_int_equal(sb_agent_encode_ping(&b, 2, "ok", 2), 0);
	free(big);
	sb_agent_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_round_trip),
		cmocka_unit_test(test_run_argv_round_trip),
		cmocka_unit_test(test_run_sh_round_trip),
		cmocka_unit_test(test_result_round_trip),
		cmocka_unit_test(test_pong_error_ack_round_trip),
		cmocka_unit_test(test_bad_run_payloads),
		cmocka_unit_test(test_reader_byte_by_byte),
		cmocka_unit_test(test_reader_resync_after_garbage),
		cmocka_unit_test(test_reader_oversized_and_bad_version),
		cmocka_unit_test(test_frame_too_big),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
