/*
 * The body of the two frame targets (fuzz_frame_h2g.c, fuzz_frame_g2h.c):
 * the input, after its first byte (the piece-size seed), is a byte stream
 * from the peer.  It goes through frame_reader_feed in pieces of random
 * size; every frame must come out exactly as a plain one-pass parse of the
 * same bytes finds it, and is decoded with msg_decode for one direction.
 * A message that decodes must encode, and its encoding must decode and
 * encode again to the same bytes.  Touches only memory.
 */
#ifndef CAPSEM_FUZZ_FRAME_H
#define CAPSEM_FUZZ_FRAME_H

#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "wire.h"
#include "fuzz.h"

static void
fuzz_decode_body(enum wire_dir dir, const uint8_t *body, size_t len)
{
	struct msg	 m, m2;
	struct wire_err	 err;
	struct wbuf	 w1, w2;

	if (msg_decode(dir, body, len, &m, &err) == -1) {
		FUZZ_CHECK(err.code > WERR_OK && err.code < WERR_NCODES);
		FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		return;
	}
	FUZZ_CHECK(msg_type_dir(m.type) == dir);
	wbuf_init(&w1);
	wbuf_init(&w2);
	/* What we accepted we must be able to send back unchanged. */
	FUZZ_CHECK(msg_encode(&m, &w1, &err) == 0);
	FUZZ_CHECK(w1.len >= FRAME_HDRLEN);
	FUZZ_CHECK(msg_decode(dir, w1.data + FRAME_HDRLEN,
	    w1.len - FRAME_HDRLEN, &m2, &err) == 0);
	FUZZ_CHECK(m2.type == m.type);
	FUZZ_CHECK(msg_encode(&m2, &w2, &err) == 0);
	FUZZ_CHECK(w1.len == w2.len && memcmp(w1.data, w2.data, w1.len) == 0);
	msg_free(&m2);
	msg_free(&m);
	wbuf_free(&w1);
	wbuf_free(&w2);
}

static int
fuzz_frames(enum wire_dir dir, const uint8_t *data, size_t size)
{
	struct fuzz_chunker	 ck;
	struct frame_reader	 fr;
	const uint8_t		*p, *body;
	size_t			 left, n, used, blen, off, want;
	int			 rc, toobig = 0;

	if (size < 1)
		return (0);
	fuzz_chunker_init(&ck, data[0]);
	p = data + 1;
	left = size - 1;
	off = 0;		/* reference parser position in p */
	frame_reader_init(&fr, FRAME_MAX);
	while (left > 0 && !toobig) {
		n = fuzz_chunk(&ck, left);
		while (n > 0) {
			rc = frame_reader_feed(&fr, p, n, &used);
			FUZZ_CHECK(used <= n);
			p += used;
			left -= used;
			n -= used;
			if (rc == FRAME_READY) {
				body = frame_reader_body(&fr, &blen);
				/* Same frame as a one-pass parse finds. */
				FUZZ_CHECK(size - 1 - off >= FRAME_HDRLEN);
				want = (size_t)data[1 + off] << 24 |
				    (size_t)data[2 + off] << 16 |
				    (size_t)data[3 + off] << 8 |
				    (size_t)data[4 + off];
				FUZZ_CHECK(want == blen);
				FUZZ_CHECK(size - 1 - off - FRAME_HDRLEN >=
				    blen);
				FUZZ_CHECK(blen == 0 || memcmp(body,
				    data + 1 + off + FRAME_HDRLEN, blen) == 0);
				off += FRAME_HDRLEN + blen;
				FUZZ_CHECK((size_t)(p - data - 1) == off);
				fuzz_decode_body(dir, body, blen);
			} else if (rc == FRAME_TOOBIG) {
				FUZZ_CHECK(frame_reader_declared(&fr) >
				    FRAME_MAX);
				toobig = 1;
				break;
			} else {
				FUZZ_CHECK(rc == FRAME_MORE);
				FUZZ_CHECK(n == 0);
			}
		}
	}
	frame_reader_free(&fr);
	return (0);
}

#endif
