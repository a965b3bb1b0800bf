/*
 * imsg: the OpenBSD imsg API (imsgbuf_init(3), OpenBSD 7.6/7.7), written
 * from the manual page.  Frames messages over a connected AF_UNIX stream
 * socket, with one optional descriptor per message.  See imsg.h for the
 * contract of every function.
 *
 * Trust boundary: everything read from the socket is the peer's and is
 * untrusted.  A header's length is checked against the header size and
 * maxsize before it sizes any allocation, descriptors are accepted only
 * when the owner asked for them, and memory is bounded: the read buffer
 * never exceeds max(IBUF_READ_SIZE, maxsize).
 *
 * Touches only the socket given to imsgbuf_init, heap memory, and the
 * descriptors that travel through the channel.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#define IMSG_ALLOW_FDPASS	0x01

/* Descriptors one recvmsg may bring: one per message, so one per call. */
#define IMSG_RECV_FDS		1
#define IMSG_CMSG_SIZE		CMSG_SPACE(IMSG_RECV_FDS * sizeof(int))

static int	imsg_peek_hdr(struct imsgbuf *, struct imsg_hdr *);
static int	imsg_rbuf_prepare(struct imsgbuf *);
static int	imsg_fd_room(int);
static int	imsg_recv_fds(struct imsgbuf *, struct msghdr *);
static int	imsg_pop_fd(struct imsgbuf *);

int
imsgbuf_init(struct imsgbuf *ib, int fd)
{
	memset(ib, 0, sizeof(*ib));
	msgbuf_init(&ib->w);
	TAILQ_INIT(&ib->fds);
	if ((ib->rbuf = malloc(IBUF_READ_SIZE)) == NULL)
		return (-1);
	ib->rsize = IBUF_READ_SIZE;
	ib->maxsize = MAX_IMSGSIZE;
	ib->fd = fd;
	ib->pid = getpid();
	return (0);
}

void
imsgbuf_allow_fdpass(struct imsgbuf *ib)
{
	ib->flags |= IMSG_ALLOW_FDPASS;
}

int
imsgbuf_set_maxsize(struct imsgbuf *ib, uint32_t max)
{
	if (max < IMSG_HEADER_SIZE || max > IMSG_MAXSIZE_LIMIT) {
		errno = ERANGE;
		return (-1);
	}
	ib->maxsize = max;
	return (0);
}

uint32_t
imsgbuf_queuelen(struct imsgbuf *ib)
{
	return (msgbuf_queuelen(&ib->w));
}

/* Not in OpenBSD: bytes queued for writing, to bound a slow peer. */
size_t
imsgbuf_queuebytes(struct imsgbuf *ib)
{
	return (msgbuf_queuebytes(&ib->w));
}

void
imsgbuf_clear(struct imsgbuf *ib)
{
	int	 fd;

	msgbuf_clear(&ib->w);
	while ((fd = imsg_pop_fd(ib)) != -1)
		close(fd);
	free(ib->rbuf);
	ib->rbuf = NULL;
	ib->rsize = ib->rpos = ib->rlen = 0;
}

int
imsgbuf_write(struct imsgbuf *ib)
{
	if (msgbuf_write(ib->fd, &ib->w) == -1)
		return (-1);
	return (0);
}

int
imsgbuf_flush(struct imsgbuf *ib)
{
	struct pollfd	 pfd;
	int		 r;

	while (msgbuf_queuelen(&ib->w) > 0) {
		if ((r = msgbuf_write(ib->fd, &ib->w)) == -1)
			return (-1);
		if (r == 1)
			continue;
		pfd.fd = ib->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return (-1);
	}
	return (0);
}

/*
 * Look at the header at the head of the read buffer.  Returns 1 with *hdr
 * filled, 0 if fewer than a header's bytes are buffered, -1 if the header is
 * corrupt (its length, mark bit removed, is checked here once for all).
 */
static int
imsg_peek_hdr(struct imsgbuf *ib, struct imsg_hdr *hdr)
{
	uint32_t	 len;

	if (ib->rlen - ib->rpos < IMSG_HEADER_SIZE)
		return (0);
	memcpy(hdr, ib->rbuf + ib->rpos, sizeof(*hdr));
	len = hdr->len & ~IMSG_FD_MARK;
	if (len < IMSG_HEADER_SIZE) {
		errno = EBADMSG;
		return (-1);
	}
	if (len > ib->maxsize) {
		errno = ERANGE;
		return (-1);
	}
	return (1);
}

/*
 * Move unconsumed input to the front and size the buffer for the message at
 * its head: IBUF_READ_SIZE normally, the message's length (at most maxsize)
 * while a bigger one is arriving, back down once it has been taken.
 */
static int
imsg_rbuf_prepare(struct imsgbuf *ib)
{
	struct imsg_hdr	 hdr;
	unsigned char	*p;
	size_t		 need = IBUF_READ_SIZE;
	int		 r;

	if ((r = imsg_peek_hdr(ib, &hdr)) == -1)
		return (-1);
	if (r == 1 && (hdr.len & ~IMSG_FD_MARK) > need)
		need = hdr.len & ~IMSG_FD_MARK;
	if (ib->rpos > 0) {
		memmove(ib->rbuf, ib->rbuf + ib->rpos, ib->rlen - ib->rpos);
		ib->rlen -= ib->rpos;
		ib->rpos = 0;
	}
	if (ib->rsize < need || (ib->rsize > need && ib->rlen <= need)) {
		if ((p = realloc(ib->rbuf, need)) == NULL)
			return (-1);
		ib->rbuf = p;
		ib->rsize = need;
	}
	return (0);
}

/*
 * Is there room in the descriptor table for what one recvmsg may install?
 * Linux closes descriptors it cannot install and reports MSG_CTRUNC, which
 * would lose them; probing with a dup keeps them queued in the socket.
 * Works without /proc (the children run chrooted).
 */
static int
imsg_fd_room(int sock)
{
	int	 fds[IMSG_RECV_FDS];
	int	 i, n, ok = 1;

	for (n = 0; n < IMSG_RECV_FDS; n++) {
		if ((fds[n] = fcntl(sock, F_DUPFD_CLOEXEC, 0)) == -1) {
			ok = 0;
			break;
		}
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	return (ok);
}

/* Queue the descriptors of one recvmsg; any we may not keep are closed. */
static int
imsg_recv_fds(struct imsgbuf *ib, struct msghdr *msg)
{
	struct cmsghdr	*cmsg;
	struct imsg_fd	*ifd;
	int		 i, nfds, fd, bad, allowed;

	/* Truncated: some descriptor was dropped, the stream is unusable. */
	bad = (msg->msg_flags & MSG_CTRUNC) != 0;
	allowed = (ib->flags & IMSG_ALLOW_FDPASS) != 0;
	for (cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			if (bad || !allowed ||
			    (ifd = malloc(sizeof(*ifd))) == NULL) {
				close(fd);
				bad = 1;
				continue;
			}
			ifd->fd = fd;
			TAILQ_INSERT_TAIL(&ib->fds, ifd, entry);
		}
	}
	if (bad) {
		errno = EBADMSG;
		return (-1);
	}
	return (0);
}

static int
imsg_pop_fd(struct imsgbuf *ib)
{
	struct imsg_fd	*ifd;
	int		 fd;

	if ((ifd = TAILQ_FIRST(&ib->fds)) == NULL)
		return (-1);
	TAILQ_REMOVE(&ib->fds, ifd, entry);
	fd = ifd->fd;
	free(ifd);
	return (fd);
}

int
imsgbuf_read(struct imsgbuf *ib)
{
	union {
		struct cmsghdr	hdr;
		char		buf[IMSG_CMSG_SIZE];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	ssize_t		 n;

	if (imsg_rbuf_prepare(ib) == -1)
		return (-1);
	/* Full of complete messages: the caller must imsg_get them first. */
	if (ib->rlen == ib->rsize)
		return (1);
	if ((ib->flags & IMSG_ALLOW_FDPASS) && !imsg_fd_room(ib->fd)) {
		errno = EMFILE;
		return (-1);
	}

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = ib->rbuf + ib->rlen;
	iov.iov_len = ib->rsize - ib->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = &cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	if ((n = recvmsg(ib->fd, &msg, MSG_CMSG_CLOEXEC)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (1);
		return (-1);
	}
	if (imsg_recv_fds(ib, &msg) == -1)
		return (-1);
	if (n == 0)
		return (0);
	ib->rlen += n;
	return (1);
}

ssize_t
imsg_get(struct imsgbuf *ib, struct imsg *imsg)
{
	struct imsg_hdr	 hdr;
	size_t		 len, datalen;
	int		 r, fd = -1;

	if ((r = imsg_peek_hdr(ib, &hdr)) <= 0)
		return (r);
	len = hdr.len & ~IMSG_FD_MARK;
	if (ib->rlen - ib->rpos < len)
		return (0);
	/* The descriptor arrives with the message's first byte, or never. */
	if ((hdr.len & IMSG_FD_MARK) && (fd = imsg_pop_fd(ib)) == -1) {
		errno = EBADMSG;
		return (-1);
	}
	datalen = len - IMSG_HEADER_SIZE;

	memset(imsg, 0, sizeof(*imsg));
	if ((imsg->buf = ibuf_open(datalen)) == NULL ||
	    ibuf_add(imsg->buf, ib->rbuf + ib->rpos + IMSG_HEADER_SIZE,
	    datalen) == -1) {
		ibuf_free(imsg->buf);
		imsg->buf = NULL;
		if (fd != -1)
			close(fd);
		return (-1);
	}
	imsg->hdr = hdr;
	imsg->hdr.len = len;
	imsg->fd = fd;
	imsg->data = datalen > 0 ? ibuf_data(imsg->buf) : NULL;
	ib->rpos += len;
	return (len);
}

uint32_t
imsg_get_type(struct imsg *imsg)
{
	return (imsg->hdr.type);
}

uint32_t
imsg_get_id(struct imsg *imsg)
{
	return (imsg->hdr.peerid);
}

pid_t
imsg_get_pid(struct imsg *imsg)
{
	return (imsg->hdr.pid);
}

size_t
imsg_get_len(struct imsg *imsg)
{
	if (imsg->buf == NULL)
		return (0);
	return (ibuf_size(imsg->buf));
}

int
imsg_get_data(struct imsg *imsg, void *data, size_t len)
{
	if (len == 0) {
		errno = EINVAL;
		return (-1);
	}
	if (imsg_get_len(imsg) != len) {
		errno = EBADMSG;
		return (-1);
	}
	memcpy(data, ibuf_data(imsg->buf), len);
	return (0);
}

int
imsg_get_fd(struct imsg *imsg)
{
	int	 fd;

	fd = imsg->fd;
	imsg->fd = -1;
	return (fd);
}

void
imsg_free(struct imsg *imsg)
{
	ibuf_free(imsg->buf);
	imsg->buf = NULL;
	imsg->data = NULL;
	if (imsg->fd != -1)
		close(imsg->fd);
	imsg->fd = -1;
}

struct ibuf *
imsg_create(struct imsgbuf *ib, uint32_t type, uint32_t id, pid_t pid,
    size_t datalen)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*msg;

	if (datalen > ib->maxsize - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return (NULL);
	}
	hdr.type = type;
	hdr.len = 0;	/* set by imsg_close, when the size is known */
	hdr.peerid = id;
	hdr.pid = pid == 0 ? ib->pid : pid;
	if ((msg = ibuf_dynamic(IMSG_HEADER_SIZE + datalen,
	    ib->maxsize)) == NULL)
		return (NULL);
	if (ibuf_add(msg, &hdr, sizeof(hdr)) == -1) {
		ibuf_free(msg);
		return (NULL);
	}
	return (msg);
}

int
imsg_add(struct ibuf *msg, const void *data, size_t len)
{
	if (msg == NULL)
		return (-1);
	if (ibuf_add(msg, data, len) == -1) {
		ibuf_free(msg);
		return (-1);
	}
	return ((int)len);
}

void
imsg_close(struct imsgbuf *ib, struct ibuf *msg)
{
	struct imsg_hdr	 hdr;

	if (msg == NULL)
		return;
	memcpy(&hdr, msg->buf, sizeof(hdr));
	hdr.len = ibuf_size(msg);
	if (msg->fd != -1)
		hdr.len |= IMSG_FD_MARK;
	memcpy(msg->buf, &hdr, sizeof(hdr));
	msgbuf_enqueue(&ib->w, msg);
}

int
imsg_composev(struct imsgbuf *ib, uint32_t type, uint32_t id, pid_t pid,
    int fd, const struct iovec *iov, int iovcnt)
{
	struct ibuf	*msg;
	size_t		 datalen = 0;
	int		 i;

	if (iovcnt < 0) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > ib->maxsize - datalen) {
			errno = ERANGE;
			return (-1);
		}
		datalen += iov[i].iov_len;
	}
	if ((msg = imsg_create(ib, type, id, pid, datalen)) == NULL)
		return (-1);
	for (i = 0; i < iovcnt; i++)
		if (imsg_add(msg, iov[i].iov_base, iov[i].iov_len) == -1)
			return (-1);
	/* Only now: a failure above must leave fd with the caller. */
	ibuf_fd_set(msg, fd);
	imsg_close(ib, msg);
	return (1);
}

int
imsg_compose(struct imsgbuf *ib, uint32_t type, uint32_t id, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	struct iovec	 iov;

	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = datalen;
	return (imsg_composev(ib, type, id, pid, fd, &iov, 1));
}
