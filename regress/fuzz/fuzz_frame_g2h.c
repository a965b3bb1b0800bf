/*
 * libFuzzer target: frame reader + msg_decode(WIRE_G2H), the messages
 * the host receives from the guest.  The work is in
 * fuzz_frame.h, shared with the other direction.
 */
#include "fuzz_frame.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return (fuzz_frames(WIRE_G2H, data, size));
}
