/*
 * Incremental reader of length-prefixed frames (4-byte big-endian length,
 * then the body; capsem-protocol(7) "Framing").  Bytes may arrive split anywhere,
 * one at a time if need be.  A length over the reader's maximum is refused
 * as soon as the 4 header bytes are known, before anything is allocated, and
 * the body buffer only grows as body bytes actually arrive (geometrically,
 * capped at the declared length), so a peer cannot make us allocate memory
 * it has not sent.
 *
 *	struct frame_reader fr;
 *	frame_reader_init(&fr, FRAME_MAX);
 *	while (len > 0) {
 *		rc = frame_reader_feed(&fr, buf, len, &used);
 *		buf += used; len -= used;
 *		if (rc == FRAME_READY)
 *			body = frame_reader_body(&fr, &blen); ... use it
 *		else if (rc != FRAME_MORE)
 *			drop the connection (FRAME_TOOBIG, FRAME_NOMEM)
 *	}
 *	frame_reader_free(&fr);
 *
 * feed consumes at most up to the end of the current frame, so a buffer
 * holding several frames takes several calls.  After FRAME_TOOBIG or
 * FRAME_NOMEM the stream is out of sync: every later feed returns the same
 * error until frame_reader_reset().
 */
#ifndef CAPSEM_FRAME_H
#define CAPSEM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum frame_status {
	FRAME_MORE = 0,		/* all input used, no whole frame yet */
	FRAME_READY,		/* a whole body is available */
	FRAME_TOOBIG,		/* declared length over the maximum */
	FRAME_NOMEM,
};

struct frame_reader {
	size_t		 max;		/* largest body accepted */
	uint8_t		 hdr[FRAME_HDRLEN];
	size_t		 hdrlen;	/* header bytes received */
	size_t		 want;		/* declared body length */
	uint8_t		*buf;
	size_t		 len;		/* body bytes received */
	size_t		 cap;
	int		 state;		/* result of the last feed */
};

/* max 0 or over FRAME_MAX means FRAME_MAX. */
void		 frame_reader_init(struct frame_reader *, size_t);
void		 frame_reader_reset(struct frame_reader *);
void		 frame_reader_free(struct frame_reader *);
int		 frame_reader_feed(struct frame_reader *, const uint8_t *,
		    size_t, size_t *);
/* The body after FRAME_READY, valid until the next feed, reset or free. */
const uint8_t	*frame_reader_body(const struct frame_reader *, size_t *);
/* The declared length after FRAME_TOOBIG, for the log line. */
size_t		 frame_reader_declared(const struct frame_reader *);
/*
 * At the end of a stream: 1 and a description ("frame cut short: 100
 * bytes declared, 1 received") if it ended inside a frame, else 0.
 */
int		 frame_reader_cut(const struct frame_reader *, char *, size_t);
void		 frame_write_header(uint8_t [FRAME_HDRLEN], size_t);

#endif
