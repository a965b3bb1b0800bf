/*
 * imsg: framed messages, with optional descriptor passing, between two local
 * processes over a connected AF_UNIX stream socket.  The API is the current
 * OpenBSD one (imsgbuf_init(3) in OpenBSD 7.6/7.7), implemented here from the
 * manual page because no Debian package ships it.  Both ends of a channel are
 * this implementation; the framing is not meant to interoperate with others.
 *
 * It touches only the socket it is given, the descriptors passed through it,
 * and heap memory bounded as described below.  Input from the peer is
 * untrusted: every header is checked before its length is believed.
 *
 * SETUP
 *	int imsgbuf_init(struct imsgbuf *ib, int fd)
 *		Prepare ib for the connected socket fd.  Returns 0, or -1
 *		with errno set (ENOMEM).  The socket stays the caller's: no
 *		function here closes it.  It may be blocking or not.
 *	void imsgbuf_allow_fdpass(struct imsgbuf *ib)
 *		Accept descriptors from the peer.  Without this call a
 *		descriptor that arrives is closed at once and imsgbuf_read
 *		fails with EBADMSG: a peer cannot make us hold descriptors.
 *	int imsgbuf_set_maxsize(struct imsgbuf *ib, uint32_t max)
 *		Largest message, header included, that may be composed or
 *		received (default MAX_IMSGSIZE, 16384).  Returns 0, or -1 with
 *		ERANGE if max is below IMSG_HEADER_SIZE or above
 *		IMSG_MAXSIZE_LIMIT (16 MiB).
 *	void imsgbuf_clear(struct imsgbuf *ib)
 *		Free everything ib holds: queued outgoing messages (closing
 *		their descriptors), buffered input, received descriptors not
 *		yet handed out.  ib must be initialised again before reuse.
 *
 * SENDING
 *	int imsg_compose(struct imsgbuf *ib, uint32_t type, uint32_t id,
 *	    pid_t pid, int fd, const void *data, size_t datalen)
 *	int imsg_composev(struct imsgbuf *ib, uint32_t type, uint32_t id,
 *	    pid_t pid, int fd, const struct iovec *iov, int iovcnt)
 *		Queue one message.  pid 0 means our own pid.  fd -1 sends no
 *		descriptor; otherwise fd is owned by ib from now on and is
 *		closed once it has been sent (or by imsgbuf_clear).  Return 1,
 *		or -1 with errno set: ERANGE if the message would exceed the
 *		maximum size, ENOMEM.  On failure fd still belongs to the
 *		caller.  Nothing is written until imsgbuf_write/flush.
 *	struct ibuf *imsg_create(struct imsgbuf *ib, uint32_t type,
 *	    uint32_t id, pid_t pid, size_t datalen)
 *	int imsg_add(struct ibuf *msg, const void *data, size_t len)
 *	void imsg_close(struct imsgbuf *ib, struct ibuf *msg)
 *		Build a message in pieces: datalen is a size hint, imsg_add
 *		appends (on failure it frees msg and returns -1, ERANGE past
 *		the maximum size), imsg_close queues it.  Use ibuf_fd_set(msg,
 *		fd) before imsg_close to attach a descriptor.
 *	int imsgbuf_write(struct imsgbuf *ib)
 *		Write as much of the queue as one sendmsg(2) takes.
 *		Returns 0 (also when the socket would block: the rest
 *		stays queued), or -1 with errno set (EPIPE when the peer
 *		is gone; SIGPIPE is never raised).
 *	int imsgbuf_flush(struct imsgbuf *ib)
 *		Write until the queue is empty, waiting in poll(2) whenever a
 *		non-blocking socket would block.  Returns 0 or -1.
 *	uint32_t imsgbuf_queuelen(struct imsgbuf *ib)
 *		Number of messages still queued (partly written ones count).
 *		The queue is unbounded in count: a sender that must not grow
 *		without limit watches this number and stops producing.
 *
 * RECEIVING
 *	int imsgbuf_read(struct imsgbuf *ib)
 *		One recvmsg(2) into the read buffer.  Returns 1 when
 *		something was read or the call would block or was
 *		interrupted, 0 when the peer closed the connection, -1
 *		with errno set on error: EBADMSG for a descriptor that was
 *		not allowed or got truncated, EBADMSG or ERANGE for a
 *		corrupt header, EMFILE when fd passing is allowed and the
 *		descriptor table has no room for one more (nothing is
 *		consumed then: the call may be retried after descriptors
 *		are closed).  The read buffer holds at most
 *		max(IBUF_READ_SIZE, maxsize) bytes.  Call imsg_get until
 *		it returns 0 after every successful read.
 *	ssize_t imsg_get(struct imsgbuf *ib, struct imsg *imsg)
 *		Take the next complete message out of the read buffer.
 *		Returns its size, header included (always > 0), 0 when no
 *		complete message is buffered, -1 on error: EBADMSG if the
 *		header claims less than a header or a descriptor that never
 *		came, ERANGE if it claims more than maxsize, ENOMEM.  After
 *		-1 the channel is unusable.  Every message returned must be
 *		passed to imsg_free.
 *	uint32_t imsg_get_type(struct imsg *)
 *	uint32_t imsg_get_id(struct imsg *)
 *	pid_t imsg_get_pid(struct imsg *)
 *	size_t imsg_get_len(struct imsg *)
 *		Header fields; imsg_get_len is the payload size (no header).
 *	int imsg_get_data(struct imsg *imsg, void *data, size_t len)
 *		Copy the payload into data if it is exactly len bytes: returns
 *		0, or -1 with EBADMSG on any other size (EINVAL if len is 0).
 *	int imsg_get_fd(struct imsg *imsg)
 *		The descriptor that came with the message, or -1.  It is
 *		handed out once: the caller owns it (close-on-exec is
 *		set), later calls return -1.
 *	void imsg_free(struct imsg *imsg)
 *		Release the payload and close a descriptor nobody claimed.
 *
 * Wire format: struct imsg_hdr in host byte order, len counting the header
 * and carrying IMSG_FD_MARK when a descriptor travels with the message,
 * then the payload.  One descriptor at most per message.
 */
#ifndef CAPSEM_IMSG_LIB_H
#define CAPSEM_IMSG_LIB_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#define IMSG_HEADER_SIZE	sizeof(struct imsg_hdr)
#define MAX_IMSGSIZE		16384
#define IMSG_MAXSIZE_LIMIT	(16U * 1024 * 1024)
#define IMSG_FD_MARK		0x80000000U
#define IBUF_READ_SIZE		65536

/* A byte buffer: a queued outgoing message, or a received payload. */
struct ibuf {
	TAILQ_ENTRY(ibuf)	 entry;
	unsigned char		*buf;
	size_t			 size;	/* allocated */
	size_t			 max;	/* growth limit */
	size_t			 wpos;	/* bytes filled */
	size_t			 rpos;	/* bytes consumed */
	int			 fd;	/* descriptor to pass, or -1 */
};

struct msgbuf {
	TAILQ_HEAD(, ibuf)	 bufs;
	uint32_t		 queued;
	size_t			 bytes;		/* not in OpenBSD */
};

struct imsg_hdr {
	uint32_t	 type;
	uint32_t	 len;
	uint32_t	 peerid;
	uint32_t	 pid;
};

struct imsg_fd {
	TAILQ_ENTRY(imsg_fd)	 entry;
	int			 fd;
};

struct imsgbuf {
	struct msgbuf		 w;
	TAILQ_HEAD(, imsg_fd)	 fds;	/* received, not handed out */
	unsigned char		*rbuf;
	size_t			 rsize;	/* allocated */
	size_t			 rpos;	/* start of unread input */
	size_t			 rlen;	/* end of buffered input */
	uint32_t		 maxsize;
	int			 flags;
	int			 fd;
	pid_t			 pid;
};

struct imsg {
	struct imsg_hdr		 hdr;
	int			 fd;
	void			*data;
	struct ibuf		*buf;
};

/* imsg-buffer.c */
struct ibuf	*ibuf_open(size_t);
struct ibuf	*ibuf_dynamic(size_t, size_t);
int		 ibuf_add(struct ibuf *, const void *, size_t);
void		*ibuf_reserve(struct ibuf *, size_t);
void		*ibuf_seek(struct ibuf *, size_t, size_t);
void		*ibuf_data(const struct ibuf *);
size_t		 ibuf_size(const struct ibuf *);
size_t		 ibuf_left(const struct ibuf *);
void		 ibuf_fd_set(struct ibuf *, int);
int		 ibuf_fd_get(struct ibuf *);
void		 ibuf_free(struct ibuf *);
void		 msgbuf_init(struct msgbuf *);
void		 msgbuf_enqueue(struct msgbuf *, struct ibuf *);
void		 msgbuf_clear(struct msgbuf *);
uint32_t	 msgbuf_queuelen(const struct msgbuf *);
size_t		 msgbuf_queuebytes(const struct msgbuf *);
int		 msgbuf_write(int, struct msgbuf *);

/* imsg.c */
int		 imsgbuf_init(struct imsgbuf *, int);
void		 imsgbuf_allow_fdpass(struct imsgbuf *);
int		 imsgbuf_set_maxsize(struct imsgbuf *, uint32_t);
int		 imsgbuf_read(struct imsgbuf *);
int		 imsgbuf_write(struct imsgbuf *);
int		 imsgbuf_flush(struct imsgbuf *);
void		 imsgbuf_clear(struct imsgbuf *);
uint32_t	 imsgbuf_queuelen(struct imsgbuf *);
size_t		 imsgbuf_queuebytes(struct imsgbuf *);
ssize_t		 imsg_get(struct imsgbuf *, struct imsg *);
int		 imsg_get_data(struct imsg *, void *, size_t);
int		 imsg_get_fd(struct imsg *);
uint32_t	 imsg_get_id(struct imsg *);
size_t		 imsg_get_len(struct imsg *);
pid_t		 imsg_get_pid(struct imsg *);
uint32_t	 imsg_get_type(struct imsg *);
int		 imsg_compose(struct imsgbuf *, uint32_t, uint32_t, pid_t,
		    int, const void *, size_t);
int		 imsg_composev(struct imsgbuf *, uint32_t, uint32_t, pid_t,
		    int, const struct iovec *, int);
struct ibuf	*imsg_create(struct imsgbuf *, uint32_t, uint32_t, pid_t,
		    size_t);
int		 imsg_add(struct ibuf *, const void *, size_t);
void		 imsg_close(struct imsgbuf *, struct ibuf *);
void		 imsg_free(struct imsg *);

#endif /* CAPSEM_IMSG_LIB_H */
