/* Fuzz target: the agent's side of the protocol (src/agent/proto.c), as sandbench-agent serve reads
 * requests: the stream fed to the frame reader in input-chosen chunk sizes (frames split anywhere),
 * every request payload decoded as serve decodes it, and every decoded request re-encoded and
 * decoded again, which must give back the same command (a host must be able to send whatever the
 * agent accepts). */
#include <stdlib.h>
#include <string.h>

#include "agent/proto.h"
#include "agent_frames.h"
#include "fuzz.h"

static void check_run(uint8_t type, const uint8_t *p, size_t len)
{
	struct sb_agent_run_req req;
	if (sb_agent_decode_run(type, p, len, &req) != 0)
		return;
	if (!req.argv || req.argc == 0 || req.argv[req.argc] != NULL)
		abort();
	struct sb_agent_buf b = {0};
	int rc;
	if (type == SB_AGENT_T_RUN_ARGV)
		rc = sb_agent_encode_run_argv(&b, 1, (const char *const *)req.argv, req.timeout_ms,
					      req.stdin_data, req.stdin_len);
	else
		rc = sb_agent_encode_run_sh(&b, 1, req.argv[2], req.timeout_ms, req.stdin_data, req.stdin_len);
	struct sb_agent_hdr h;
	struct sb_agent_run_req again;
	/* Arguments may be empty strings or hold bytes that are not text: all must survive. */
	if (rc == 0) {
		if (b.len < SB_AGENT_HDR_SIZE || sb_agent_hdr_unpack(b.data, &h) != 0 ||
		    sb_agent_decode_run(type == SB_AGENT_T_RUN_ARGV ? type : SB_AGENT_T_RUN_SH,
					b.data + SB_AGENT_HDR_SIZE, h.len, &again) != 0)
			abort();
		if (again.argc != req.argc || again.timeout_ms != req.timeout_ms ||
		    again.stdin_len != req.stdin_len ||
		    (req.stdin_len && memcmp(again.stdin_data, req.stdin_data, req.stdin_len) != 0))
			abort();
		for (uint32_t i = 0; i < req.argc; i++)
			if (strcmp(again.argv[i], req.argv[i]) != 0)
				abort();
		free(again.argv);
	}
	sb_agent_buf_free(&b);
	free(req.argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *stream;
	size_t len;
	if (size < 1 || fuzz_agent_stream(data + 1, size - 1, &stream, &len) < 0)
		return 0;
	/* Chunk size from the first byte: 1..255 bytes per read, or all at once for 0. */
	size_t chunk = data[0] ? data[0] : (len ? len : 1);
	struct sb_agent_reader rd;
	sb_agent_reader_init(&rd, SB_AGENT_MAX_REQUEST);
	for (size_t off = 0; off < len || off == 0; off += chunk) {
		size_t k = len - off < chunk ? len - off : chunk;
		if (k && sb_agent_reader_feed(&rd, stream + off, k) < 0)
			break;
		struct sb_agent_rd_ev ev;
		enum sb_agent_rd_event e;
		while ((e = sb_agent_reader_next(&rd, &ev)) != SB_AGENT_RD_NEED) {
			if (e != SB_AGENT_RD_FRAME)
				continue;
			if (ev.hdr.len > SB_AGENT_MAX_REQUEST || ev.hdr.version != SB_AGENT_PROTO_VERSION)
				abort(); /* the reader must refuse these itself */
			switch (ev.hdr.type) {
			case SB_AGENT_T_RUN_ARGV:
			case SB_AGENT_T_RUN_SH:
			case SB_AGENT_T_RUN_SESSION:
				check_run(ev.hdr.type, ev.payload, ev.hdr.len);
				break;
			default: {
				/* The agent answers pings by echoing the payload. */
				struct sb_agent_buf b = {0};
				(void)sb_agent_encode_pong(&b, ev.hdr.id, 1, ev.payload, ev.hdr.len);
				sb_agent_buf_free(&b);
			}
			}
		}
		if (len == 0)
			break;
	}
	sb_agent_reader_free(&rd);
	free(stream);
	return 0;
}
