/* Turning fuzz input into an agent protocol byte stream. Each frame header carries a check word,
 * which random mutation almost never gets right, so most inputs describe frames instead of being
 * them: the first byte picks raw mode (the rest is the stream as is) or frame mode, where each record
 * is [type u8][tweak u8][id u8][len u16le][payload...] and becomes a header packed by the real
 * sb_agent_hdr_pack (tweak bit 0: wrong version, bit 1: broken check word, bit 2: declared length
 * one more than the payload, bit 3: garbage byte before the frame) followed by its payload. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Returns the stream in a malloc'd buffer (*out, *len) or -1 when out of memory. */
int fuzz_agent_stream(const uint8_t *in, size_t n, uint8_t **out, size_t *len);
