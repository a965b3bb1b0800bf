/*
 * Incremental frame reader (see frame.h).  Input is a byte stream from the
 * peer, untrusted: the declared length is checked against the maximum before
 * any allocation, and memory is only committed for bytes that arrived.
 * Touches only its own struct and the heap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define FRAME_MINALLOC	4096

void
frame_reader_init(struct frame_reader *fr, size_t max)
{
	memset(fr, 0, sizeof(*fr));
	fr->max = max == 0 || max > FRAME_MAX ? FRAME_MAX : max;
	fr->state = FRAME_MORE;
}

/* Back to the start of a frame; the buffer is kept for the next one. */
void
frame_reader_reset(struct frame_reader *fr)
{
	fr->hdrlen = 0;
	fr->want = 0;
	fr->len = 0;
	fr->state = FRAME_MORE;
}

void
frame_reader_free(struct frame_reader *fr)
{
	free(fr->buf);
	frame_reader_init(fr, fr->max);
}

/* Room for n more body bytes, growing geometrically up to the frame. */
static int
frame_grow(struct frame_reader *fr, size_t n)
{
	uint8_t	*p;
	size_t	 ncap;

	if (fr->cap - fr->len >= n)
		return (0);
	ncap = fr->cap < FRAME_MINALLOC ? FRAME_MINALLOC : fr->cap;
	while (ncap - fr->len < n)
		ncap *= 2;
	if (ncap > fr->want)
		ncap = fr->want;
	if ((p = realloc(fr->buf, ncap)) == NULL)
		return (-1);
	fr->buf = p;
	fr->cap = ncap;
	return (0);
}

int
frame_reader_feed(struct frame_reader *fr, const uint8_t *buf, size_t len,
    size_t *used)
{
	size_t	n;

	*used = 0;
	if (fr->state == FRAME_TOOBIG || fr->state == FRAME_NOMEM)
		return (fr->state);
	if (fr->state == FRAME_READY)
		frame_reader_reset(fr);
	if (fr->hdrlen < FRAME_HDRLEN) {
		n = FRAME_HDRLEN - fr->hdrlen;
		if (n > len)
			n = len;
		memcpy(fr->hdr + fr->hdrlen, buf, n);
		fr->hdrlen += n;
		*used += n;
		if (fr->hdrlen < FRAME_HDRLEN)
			return (FRAME_MORE);
		fr->want = (size_t)fr->hdr[0] << 24 | (size_t)fr->hdr[1] << 16 |
		    (size_t)fr->hdr[2] << 8 | fr->hdr[3];
		if (fr->want > fr->max)
			return (fr->state = FRAME_TOOBIG);
	}
	n = fr->want - fr->len;
	if (n > len - *used)
		n = len - *used;
	if (n > 0) {
		if (frame_grow(fr, n) == -1)
			return (fr->state = FRAME_NOMEM);
		memcpy(fr->buf + fr->len, buf + *used, n);
		fr->len += n;
		*used += n;
	}
	if (fr->len < fr->want)
		return (FRAME_MORE);
	return (fr->state = FRAME_READY);
}

const uint8_t *
frame_reader_body(const struct frame_reader *fr, size_t *len)
{
	static const uint8_t	empty[1];

	if (fr->state != FRAME_READY) {
		*len = 0;
		return (NULL);
	}
	*len = fr->len;
	return (fr->len == 0 ? empty : fr->buf);
}

size_t
frame_reader_declared(const struct frame_reader *fr)
{
	return (fr->want);
}

void
frame_write_header(uint8_t hdr[FRAME_HDRLEN], size_t len)
{
	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
}

int
frame_reader_cut(const struct frame_reader *r, char *buf, size_t len)
{
	if (r->state != FRAME_MORE || r->hdrlen == 0)
		return (0);
	if (r->hdrlen < FRAME_HDRLEN)
		snprintf(buf, len, "frame cut short: %zu of %d header bytes",
		    r->hdrlen, FRAME_HDRLEN);
	else
		snprintf(buf, len, "frame cut short: %zu bytes declared, %zu "
		    "received", r->want, r->len);
	return (1);
}
