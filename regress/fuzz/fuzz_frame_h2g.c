/*
 * libFuzzer target: frame reader + msg_decode(WIRE_H2G), the messages
 * the guest receives from the host.  The work is in
 * fuzz_frame.h, shared with the other direction.
 */
#include "fuzz_frame.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return (fuzz_frames(WIRE_H2G, data, size));
}
