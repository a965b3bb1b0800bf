/*
 * A bounded output queue for a non-blocking socket: bytes are appended at
 * the end (whole frames, or encoded straight into it), written from the
 * front as the socket takes them.  Used by both control children, which
 * must never grow without bound when their peer stops reading.
 */
#ifndef CAPSEM_OUTBUF_H
#define CAPSEM_OUTBUF_H

#include <stddef.h>

#include "wire.h"

struct outbuf {
	struct wbuf	 b;
	size_t		 off;		/* first unsent byte */
	size_t		 max;		/* most bytes ever pending */
};

void		 outbuf_init(struct outbuf *, size_t);
size_t		 outbuf_pending(const struct outbuf *);
void		*outbuf_reserve(struct outbuf *, size_t);
void		 outbuf_commit(struct outbuf *, size_t);
struct wbuf	*outbuf_wbuf(struct outbuf *);
int		 outbuf_flush(struct outbuf *, int);

#endif
