/*
 * Bounded output queue (outbuf.h).  The sent prefix is dropped before the
 * buffer grows, so memory is bounded by max plus one frame being added.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outbuf.h"

void
outbuf_init(struct outbuf *o, size_t max)
{
	wbuf_init(&o->b);
	o->off = 0;
	o->max = max;
}

size_t
outbuf_pending(const struct outbuf *o)
{
	return (o->b.len - o->off);
}

/* Drop what was sent, so appends reuse the space. */
static void
outbuf_compact(struct outbuf *o)
{
	if (o->off == 0)
		return;
	memmove(o->b.data, o->b.data + o->off, o->b.len - o->off);
	o->b.len -= o->off;
	o->off = 0;
}

/*
 * Room for len more bytes at the end: a pointer to it, to be filled and
 * then outbuf_commit()ed; NULL with errno ENOBUFS when that would put more
 * than max bytes in the queue (the peer is not reading), ENOMEM if out of
 * memory.
 */
void *
outbuf_reserve(struct outbuf *o, size_t len)
{
	size_t	 ncap;
	void	*p;

	if (outbuf_pending(o) + len > o->max) {
		errno = ENOBUFS;
		return (NULL);
	}
	outbuf_compact(o);
	if (o->b.len + len > o->b.cap) {
		ncap = o->b.cap ? o->b.cap : 4096;
		while (ncap < o->b.len + len)
			ncap *= 2;
		if ((p = realloc(o->b.data, ncap)) == NULL)
			return (NULL);
		o->b.data = p;
		o->b.cap = ncap;
	}
	return (o->b.data + o->b.len);
}

void
outbuf_commit(struct outbuf *o, size_t len)
{
	o->b.len += len;
}

/* The queue as a wbuf, for encoders that append (msg_encode). */
struct wbuf *
outbuf_wbuf(struct outbuf *o)
{
	outbuf_compact(o);
	return (&o->b);
}

/*
 * Write what fd takes now.  Returns 0 when the queue is empty, 1 when the
 * socket would block with bytes left, -1 on a write error (errno).
 */
int
outbuf_flush(struct outbuf *o, int fd)
{
	ssize_t	 n;

	while (o->b.len > o->off) {
		n = write(fd, o->b.data + o->off, o->b.len - o->off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return (1);
			return (-1);
		}
		o->off += n;
	}
	wbuf_reset(&o->b);
	o->off = 0;
	return (0);
}
