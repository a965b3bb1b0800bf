/*
 * Byte buffers (struct ibuf) and the outgoing message queue (struct msgbuf)
 * under imsg.c.  An ibuf grows on demand up to a fixed maximum, so a message
 * can never outgrow the size its imsgbuf allows.  msgbuf_write sends the
 * queue with sendmsg(2), attaching at most one descriptor per call, always to
 * the first byte of the message that owns it, and closes the descriptor once
 * the kernel has taken it.
 *
 * Touches only heap memory, the socket given to msgbuf_write and the
 * descriptors attached to queued buffers.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

/* Enough to send a few hundred queued messages per system call. */
#define MSGBUF_IOV_MAX	256

struct ibuf *
ibuf_dynamic(size_t len, size_t max)
{
	struct ibuf	*buf;

	if (max < len) {
		errno = EINVAL;
		return (NULL);
	}
	if ((buf = calloc(1, sizeof(*buf))) == NULL)
		return (NULL);
	if (len > 0 && (buf->buf = malloc(len)) == NULL) {
		free(buf);
		return (NULL);
	}
	buf->size = len;
	buf->max = max;
	buf->fd = -1;
	return (buf);
}

struct ibuf *
ibuf_open(size_t len)
{
	return (ibuf_dynamic(len, len));
}

void *
ibuf_reserve(struct ibuf *buf, size_t len)
{
	unsigned char	*p;
	size_t		 need, nsize;

	if (len > buf->max - buf->wpos) {
		errno = ERANGE;
		return (NULL);
	}
	need = buf->wpos + len;
	if (need > buf->size) {
		/* Doubling keeps repeated imsg_add linear; never past max. */
		nsize = buf->size > buf->max / 2 ? buf->max : buf->size * 2;
		if (nsize < need)
			nsize = need;
		if ((p = recallocarray(buf->buf, buf->size, nsize, 1)) == NULL)
			return (NULL);
		buf->buf = p;
		buf->size = nsize;
	}
	p = buf->buf + buf->wpos;
	buf->wpos = need;
	return (p);
}

int
ibuf_add(struct ibuf *buf, const void *data, size_t len)
{
	void	*p;

	if (len == 0)
		return (0);
	if ((p = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	memcpy(p, data, len);
	return (0);
}

void *
ibuf_seek(struct ibuf *buf, size_t pos, size_t len)
{
	if (pos > buf->wpos || len > buf->wpos - pos) {
		errno = ERANGE;
		return (NULL);
	}
	return (buf->buf + pos);
}

void *
ibuf_data(const struct ibuf *buf)
{
	if (buf->buf == NULL)
		return (NULL);
	return (buf->buf + buf->rpos);
}

size_t
ibuf_size(const struct ibuf *buf)
{
	return (buf->wpos - buf->rpos);
}

size_t
ibuf_left(const struct ibuf *buf)
{
	return (buf->max - buf->wpos);
}

/* The buffer owns fd from now on: ibuf_free or a completed send closes it. */
void
ibuf_fd_set(struct ibuf *buf, int fd)
{
	if (buf->fd != -1)
		close(buf->fd);
	buf->fd = fd;
}

int
ibuf_fd_get(struct ibuf *buf)
{
	int	 fd;

	fd = buf->fd;
	buf->fd = -1;
	return (fd);
}

void
ibuf_free(struct ibuf *buf)
{
	if (buf == NULL)
		return;
	if (buf->fd != -1)
		close(buf->fd);
	free(buf->buf);
	free(buf);
}

void
msgbuf_init(struct msgbuf *msgbuf)
{
	TAILQ_INIT(&msgbuf->bufs);
	msgbuf->queued = 0;
	msgbuf->bytes = 0;
}

void
msgbuf_enqueue(struct msgbuf *msgbuf, struct ibuf *buf)
{
	TAILQ_INSERT_TAIL(&msgbuf->bufs, buf, entry);
	msgbuf->queued++;
	msgbuf->bytes += ibuf_size(buf);
}

static void
msgbuf_dequeue(struct msgbuf *msgbuf, struct ibuf *buf)
{
	TAILQ_REMOVE(&msgbuf->bufs, buf, entry);
	msgbuf->queued--;
	msgbuf->bytes -= ibuf_size(buf);
	ibuf_free(buf);
}

void
msgbuf_clear(struct msgbuf *msgbuf)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&msgbuf->bufs)) != NULL)
		msgbuf_dequeue(msgbuf, buf);
}

uint32_t
msgbuf_queuelen(const struct msgbuf *msgbuf)
{
	return (msgbuf->queued);
}

/* Not in OpenBSD: bytes still queued, for callers that bound memory. */
size_t
msgbuf_queuebytes(const struct msgbuf *msgbuf)
{
	return (msgbuf->bytes);
}

/* Forget the first n bytes of the queue: the kernel has them. */
static void
msgbuf_drain(struct msgbuf *msgbuf, size_t n)
{
	struct ibuf	*buf;
	size_t		 left;

	while ((buf = TAILQ_FIRST(&msgbuf->bufs)) != NULL && n > 0) {
		left = ibuf_size(buf);
		if (n < left) {
			buf->rpos += n;
			msgbuf->bytes -= n;
			return;
		}
		n -= left;
		msgbuf_dequeue(msgbuf, buf);
	}
}

/*
 * One sendmsg(2) of as much of the queue as fits.  Returns 1 when bytes were
 * sent (or nothing was queued), 0 when the socket would block or the call was
 * interrupted, -1 on error.
 */
int
msgbuf_write(int fd, struct msgbuf *msgbuf)
{
	struct iovec	 iov[MSGBUF_IOV_MAX];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ibuf	*buf, *first;
	ssize_t		 n;
	int		 i = 0;

	if ((first = TAILQ_FIRST(&msgbuf->bufs)) == NULL)
		return (1);
	memset(&msg, 0, sizeof(msg));
	TAILQ_FOREACH(buf, &msgbuf->bufs, entry) {
		if (i >= MSGBUF_IOV_MAX)
			break;
		/*
		 * A descriptor rides on the first byte of a sendmsg: stop
		 * before another message's descriptor so it goes out with
		 * its own header in a later call.
		 */
		if (i > 0 && buf->fd != -1)
			break;
		iov[i].iov_base = ibuf_data(buf);
		iov[i].iov_len = ibuf_size(buf);
		i++;
	}
	msg.msg_iov = iov;
	msg.msg_iovlen = i;

	if (first->fd != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = &cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &first->fd, sizeof(int));
	}

	if ((n = sendmsg(fd, &msg, MSG_NOSIGNAL)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR || errno == ENOBUFS)
			return (0);
		return (-1);
	}

	/* The kernel holds its own reference now; ours must not be resent. */
	if (first->fd != -1 && n > 0) {
		close(first->fd);
		first->fd = -1;
	}
	msgbuf_drain(msgbuf, n);
	return (1);
}
