/*
 * Shared helpers of the libFuzzer targets in regress/fuzz/ (see fuzz.mk).
 * Header only: every target is its own program, linked with the production
 * objects built with -fsanitize=fuzzer,address,undefined under build-fuzz/.
 *
 * Streams are cut into pieces whose sizes come from the first input byte,
 * so the fuzzer can explore how a reader copes with bytes split anywhere
 * while every run stays reproducible from the input file alone.  Nothing
 * here touches anything but memory.
 */
#ifndef CAPSEM_FUZZ_H
#define CAPSEM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Piece sizes: seed 0 means one piece, else 1..2^(seed%8+1) bytes. */
struct fuzz_chunker {
	uint32_t	state;
	unsigned int	shift;
	int		whole;
};

static inline void
fuzz_chunker_init(struct fuzz_chunker *c, uint8_t seed)
{
	c->whole = (seed == 0);
	c->shift = (seed % 8) + 1;
	c->state = (uint32_t)seed * 2654435761U | 1;
}

static inline size_t
fuzz_chunk(struct fuzz_chunker *c, size_t left)
{
	size_t	 n;

	if (c->whole)
		return (left);
	/* xorshift32: cheap, and the same seed gives the same cuts. */
	c->state ^= c->state << 13;
	c->state ^= c->state >> 17;
	c->state ^= c->state << 5;
	n = 1 + (c->state & ((1U << c->shift) - 1));
	return (n < left ? n : left);
}

/* A failed property: abort so libFuzzer keeps the input as a crash. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		abort();						\
} while (0)

#endif
