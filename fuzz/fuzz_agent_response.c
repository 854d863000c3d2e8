/* Fuzz target: the host's side of the protocol (src/agent/client.c), as sandbench reads what an
 * agent inside a sandbox sends — which a hostile sandbox controls entirely. The stream is written
 * into a pipe, its end closed, and the real client reads it: first waiting for one id (setting the
 * others aside), then every response in arrival order, until the end of the stream. Each response
 * must be self-consistent; nothing may hang past the deadline. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/client.h"
#include "agent_frames.h"
#include "core/clock.h"
#include "fuzz.h"

static void check(const struct sb_agent_response *r)
{
	if (r->stdout_len && !r->stdout_data)
		abort();
	if (r->stdout_data && r->stdout_data[r->stdout_len] != '\0')
		abort();
	if (r->stderr_data && r->stderr_data[r->stderr_len] != '\0')
		abort();
	if (strnlen(r->error_msg, sizeof(r->error_msg)) == sizeof(r->error_msg))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *stream;
	size_t len;
	if (size < 1 || fuzz_agent_stream(data + 1, size - 1, &stream, &len) < 0)
		return 0;
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		abort();
	/* The whole stream must fit in the pipe so one process can write it and then read it. */
	if (fcntl(in[1], F_SETPIPE_SZ, 1 << 20) < 0)
		abort();
	if (len > (1 << 20))
		len = 1 << 20;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(in[1], stream + off, len - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	close(in[1]);
	struct sb_agent *a;
	struct sb_error err = {0};
	if (sb_agent_open(out[1], in[0], &a, &err) < 0)
		abort();
	int64_t deadline = sb_deadline_after(5);
	struct sb_agent_response r;
	int rc = sb_agent_recv_id(a, data[0], &r, deadline, &err);
	if (rc == 0) {
		check(&r);
		sb_agent_response_clear(&r);
	}
	for (;;) {
		rc = sb_agent_recv(a, &r, deadline, &err);
		if (rc == 0) {
			check(&r);
			sb_agent_response_clear(&r);
		} else if (rc != -EPROTO) {
			break;
		}
	}
	/* End of stream is the only way out: a timeout would mean a hang on a closed pipe. */
	if (rc != -EPIPE && rc != -ENOMEM)
		abort();
	sb_agent_free(a);
	close(in[0]);
	close(out[0]);
	close(out[1]);
	free(stream);
	return 0;
}
