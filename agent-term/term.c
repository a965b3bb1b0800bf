/*
 * capsem-agent-term: moves raw bytes between the PTY master and the terminal
 * socket, nothing else.  It owns exactly two fds, both received from the
 * parent over imsg after the sandbox is in place: the terminal socket and a
 * dup of the PTY master.  It never parses what it moves and never writes
 * anything but PTY output to the socket, so no control frame can ever reach
 * the terminal stream.
 *
 * Each direction has one bounded buffer; when a buffer is full its source is
 * not polled (backpressure), so a slow peer slows the other side instead of
 * growing memory.  When the socket ends the child reports CHILD_EOF and
 * exits: the parent decides whether to reconnect.  When the parent says the
 * shell exited (IMSG_TERM_DRAIN), it drains what is left on the PTY, ends
 * the stream with shutdown(SHUT_WR) and reports IMSG_TERM_DRAINED.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "child.h"
#include "log.h"

#define TERM_BUFSZ		65536
#define DRAIN_IDLE_MS		50	/* EAGAIN this long after reap: done */
#define DRAIN_DEADLINE_MS	2000	/* a drain never takes longer */

struct ringbuf {
	uint8_t		 data[TERM_BUFSZ];
	size_t		 off;		/* first unsent byte */
	size_t		 len;		/* bytes held */
};

static struct child	 term;
static int		 sock = -1;	/* the terminal socket */
static int		 ptyfd = -1;	/* PTY master */
static int		 pty_eof;	/* read gave EIO: no slave left */
static int		 draining;
static uint64_t		 drained;
static struct ringbuf	 to_sock;	/* PTY output, for the host */
static struct ringbuf	 to_pty;	/* host keystrokes, for the shell */

static void	 term_dispatch_imsg(void);
static int	 term_read_pty(void);
static int	 term_read_sock(void);
static int	 buf_flush(struct ringbuf *, int);
static void	 term_drain(void);
static void	 term_lost(int, int, const char *);
static int64_t	 now_ms(void);

int
main(int argc, char *argv[])
{
	struct pollfd	 pfd[3];
	int		 n;

	child_init(&term, argc, argv, "term", SANDBOX_TERM);

	for (;;) {
		memset(pfd, 0, sizeof(pfd));
		pfd[0].fd = term.ibuf.fd;
		pfd[0].events = POLLIN;
		if (imsgbuf_queuelen(&term.ibuf) > 0)
			pfd[0].events |= POLLOUT;
		pfd[1].fd = sock;
		if (sock != -1) {
			if (to_pty.len < sizeof(to_pty.data))
				pfd[1].events |= POLLIN;
			if (to_sock.len > 0)
				pfd[1].events |= POLLOUT;
		}
		pfd[2].fd = ptyfd;
		if (ptyfd != -1 && !pty_eof) {
			if (to_sock.len < sizeof(to_sock.data))
				pfd[2].events |= POLLIN;
			if (to_pty.len > 0)
				pfd[2].events |= POLLOUT;
		}
		if (pfd[1].events == 0)
			pfd[1].fd = -1;
		if (pfd[2].events == 0)
			pfd[2].fd = -1;

		if ((n = poll(pfd, 3, -1)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("term: poll");
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			term_dispatch_imsg();
		if ((pfd[0].revents & POLLOUT) &&
		    imsgbuf_write(&term.ibuf) == -1)
			exit(0);
		/*
		 * Read what is there (the PTY hands out a few KiB per read)
		 * and write it on at once: one poll round per burst, not two
		 * per chunk.
		 */
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			while (term_read_pty() > 0 &&
			    to_sock.len < sizeof(to_sock.data))
				;
			if (sock != -1 && to_sock.len > 0)
				pfd[1].revents |= POLLOUT;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (term_read_sock() == -1)
				continue;
			if (to_pty.len > 0)
				pfd[2].revents |= POLLOUT;
		}
		if (pfd[2].revents & POLLOUT && to_pty.len > 0 &&
		    buf_flush(&to_pty, ptyfd) == -1 && errno != EAGAIN) {
			/* The shell side is gone; keystrokes go nowhere. */
			to_pty.len = 0;
		}
		if (sock != -1 && pfd[1].revents & POLLOUT && to_sock.len > 0 &&
		    buf_flush(&to_sock, sock) == -1 && errno != EAGAIN)
			term_lost(CHILD_IOERR, errno, "write");
	}
}

static void
term_dispatch_imsg(void)
{
	struct imsg	 imsg;
	int		 fd;

	child_read(&term);
	while (child_next_imsg(&term, &imsg)) {
		switch (imsg_get_type(&imsg)) {
		case IMSG_TERM_SOCKET:
		case IMSG_TERM_PTY:
			if ((fd = imsg_get_fd(&imsg)) == -1)
				fatalx("term: fd message without an fd");
			if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) |
			    O_NONBLOCK) == -1)
				fatal("term: fcntl");
			if (imsg_get_type(&imsg) == IMSG_TERM_SOCKET)
				sock = fd;
			else
				ptyfd = fd;
			break;
		case IMSG_TERM_DRAIN:
			imsg_free(&imsg);
			term_drain();
			continue;
		case IMSG_CHILD_STOP:
			imsg_free(&imsg);
			if (sock != -1)
				(void)buf_flush(&to_sock, sock);
			child_done(&term, CHILD_STOPPED, 0, "stopped");
			exit(0);
		default:
			log_warnx("term: unexpected imsg %u",
			    imsg_get_type(&imsg));
			break;
		}
		imsg_free(&imsg);
	}
}

/* PTY -> buffer for the socket.  Returns bytes read, 0 on EAGAIN/EOF. */
static int
term_read_pty(void)
{
	size_t	 tail, room;
	ssize_t	 n;

	if (to_sock.len == sizeof(to_sock.data))
		return (0);
	tail = (to_sock.off + to_sock.len) % sizeof(to_sock.data);
	room = sizeof(to_sock.data) - to_sock.len;
	if (room > sizeof(to_sock.data) - tail)
		room = sizeof(to_sock.data) - tail;
	n = read(ptyfd, to_sock.data + tail, room);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return (0);
		/* EIO: every slave fd is closed; the parent will tell us. */
		pty_eof = 1;
		return (0);
	}
	if (n == 0) {
		pty_eof = 1;
		return (0);
	}
	to_sock.len += n;
	if (draining)
		drained += n;
	return (n);
}

/* Socket -> buffer for the PTY.  Returns -1 when the socket ended. */
static int
term_read_sock(void)
{
	size_t	 tail, room;
	ssize_t	 n;

	tail = (to_pty.off + to_pty.len) % sizeof(to_pty.data);
	room = sizeof(to_pty.data) - to_pty.len;
	if (room > sizeof(to_pty.data) - tail)
		room = sizeof(to_pty.data) - tail;
	if (room == 0)
		return (0);
	n = read(sock, to_pty.data + tail, room);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return (0);
		term_lost(CHILD_IOERR, errno, "read");
		return (-1);
	}
	if (n == 0) {
		/*
		 * The host may have shut only its own side (it reads on to
		 * our EOF): what we still hold for it goes out first.
		 */
		(void)buf_flush(&to_sock, sock);
		term_lost(CHILD_EOF, 0, "peer closed the terminal");
		return (-1);
	}
	to_pty.len += n;
	return (0);
}

/* Write what the buffer holds; -1 with errno on error (EAGAIN included). */
static int
buf_flush(struct ringbuf *b, int fd)
{
	size_t	 chunk;
	ssize_t	 n;

	while (b->len > 0) {
		chunk = sizeof(b->data) - b->off;
		if (chunk > b->len)
			chunk = b->len;
		n = write(fd, b->data + b->off, chunk);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		b->off = (b->off + n) % sizeof(b->data);
		b->len -= n;
	}
	b->off = 0;
	return (0);
}

/* The transport is gone: report it and stop; the parent reconnects. */
static void
term_lost(int reason, int error, const char *what)
{
	if (reason == CHILD_EOF)
		log_info("term: terminal connection closed by the host");
	else
		log_warnx("term: terminal socket %s: %s", what,
		    strerror(error));
	child_done(&term, reason, error, "terminal %s: %s", what,
	    reason == CHILD_EOF ? "eof" : strerror(error));
	exit(0);
}

/*
 * The shell was reaped: move what is left on the PTY to the socket, then
 * end the stream.  Ends on EIO (no slave fd left), or when the PTY has been
 * quiet for DRAIN_IDLE_MS (a background job still holds the slave: we do not
 * wait for it), and never later than DRAIN_DEADLINE_MS.
 */
static void
term_drain(void)
{
	struct imsg_term_drained d;
	struct pollfd		 pfd;
	int64_t			 deadline, idle_since;
	int			 timeout;

	draining = 1;
	memset(&d, 0, sizeof(d));
	deadline = now_ms() + DRAIN_DEADLINE_MS;
	idle_since = now_ms();
	while (sock != -1) {
		if (now_ms() >= deadline) {
			d.timedout = 1;
			break;
		}
		if (to_sock.len > 0 && buf_flush(&to_sock, sock) == -1 &&
		    errno != EAGAIN) {
			term_lost(CHILD_IOERR, errno, "write");
		}
		if (ptyfd == -1 || pty_eof) {
			if (to_sock.len == 0)
				break;
		} else if (to_sock.len < sizeof(to_sock.data) &&
		    term_read_pty() > 0) {
			idle_since = now_ms();
			continue;
		}
		if (!pty_eof && to_sock.len == 0 &&
		    now_ms() - idle_since >= DRAIN_IDLE_MS)
			break;
		memset(&pfd, 0, sizeof(pfd));
		if (to_sock.len > 0) {
			pfd.fd = sock;
			pfd.events = POLLOUT;
		} else {
			pfd.fd = ptyfd;
			pfd.events = POLLIN;
		}
		timeout = (int)(deadline - now_ms());
		if (to_sock.len == 0 &&
		    timeout > DRAIN_IDLE_MS - (now_ms() - idle_since))
			timeout = DRAIN_IDLE_MS - (now_ms() - idle_since);
		if (timeout < 0)
			timeout = 0;
		if (poll(&pfd, 1, timeout) == -1 && errno != EINTR)
			fatal("term: poll");
	}
	d.bytes = drained;
	d.eio = pty_eof;
	if (sock != -1 && shutdown(sock, SHUT_WR) == -1)
		log_warn("term: shutdown");
	log_debug("term: drained %llu bytes (%s)",
	    (unsigned long long)drained,
	    d.timedout ? "deadline" : pty_eof ? "eio" : "idle");
	/* Nothing more goes to the host; keystrokes are dropped from now on. */
	if (ptyfd != -1)
		close(ptyfd);
	ptyfd = -1;
	pty_eof = 1;
	to_pty.len = 0;
	(void)child_send(&term, IMSG_TERM_DRAINED, -1, &d, sizeof(d));
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
