#include "agent_frames.h"

#include <stdlib.h>
#include <string.h>

#include "agent/proto.h"

int fuzz_agent_stream(const uint8_t *in, size_t n, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (n == 0)
		return 0;
	/* Worst case per record: 5 input bytes become a 20-byte header plus a garbage byte. */
	size_t cap = n * 5 + SB_AGENT_HDR_SIZE + 1;
	uint8_t *s = malloc(cap);
	if (!s)
		return -1;
	if (in[0] & 1) {
		memcpy(s, in + 1, n - 1);
		*out = s;
		*len = n - 1;
		return 0;
	}
	size_t o = 0;
	for (size_t i = 1; i + 5 <= n;) {
		uint8_t type = in[i], tweak = in[i + 1];
		uint32_t id = in[i + 2];
		size_t plen = (size_t)in[i + 3] | (size_t)in[i + 4] << 8;
		i += 5;
		if (plen > n - i)
			plen = n - i;
		if (tweak & 8)
			s[o++] = 'S';
		struct sb_agent_hdr h = {
			.version = (tweak & 1) ? SB_AGENT_PROTO_VERSION + 1 : SB_AGENT_PROTO_VERSION,
			.type = type,
			.id = id,
			.len = (uint32_t)plen + ((tweak & 4) ? 1 : 0),
		};
		sb_agent_hdr_pack(s + o, &h);
		if (tweak & 2)
			s[o + 16] ^= 0x5a;
		o += SB_AGENT_HDR_SIZE;
		memcpy(s + o, in + i, plen);
		o += plen;
		i += plen;
	}
	*out = s;
	*len = o;
	return 0;
}
