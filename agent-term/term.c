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
#include <unistd.h>

#include "capsem_imsg.h"
#include "child.h"
#include "ev.h"
#include "log.h"

#define TERM_BUFSZ		65536
#define TRICKLE			512	/* a read this short: the PTY is empty */
#define DRAIN_IDLE_MS		50	/* EAGAIN this long after reap: done */
#define DRAIN_DEADLINE_MS	2000	/* a drain's time while the host reads */
#define DRAIN_CAP_MS		30000	/* ... and in all, host stalled or not */

struct ringbuf {
	uint8_t		 data[TERM_BUFSZ];
	size_t		 off;		/* first unsent byte */
	size_t		 len;		/* bytes held */
};

static struct child	 term;
static int		 sock = -1;	/* the terminal socket */
static int		 ptyfd = -1;	/* PTY master */
static struct ev	*sock_ev, *pty_ev;
static int		 pty_eof;	/* read gave EIO: no slave left */
static int		 draining;	/* a drain is under way */
static uint64_t		 drained;
static int64_t		 drain_cap, drain_idle_since;
static int64_t		 drain_used;	/* ms of DRAIN_DEADLINE_MS spent */
static int64_t		 drain_last;	/* when drain_used was counted */
static int		 drain_stalled;	/* the host took nothing last time */
static struct ev_timer	 drain_timer;
static struct ringbuf	 to_sock;	/* PTY output, for the host */
static struct ringbuf	 to_pty;	/* host keystrokes, for the shell */

static void	 term_imsgs(void);
static void	 term_take_fd(struct imsg *);
static void	 term_events(void *);
static void	 term_sock_ready(int, short, void *);
static void	 term_pty_ready(int, short, void *);
static int	 term_read_pty(void);
static void	 term_read_sock(void);
static void	 term_write_sock(void);
static void	 term_write_pty(void);
static int	 buf_flush(struct ringbuf *, int);
static void	 term_drain_start(void);
static int	 drain_expired(void);
static void	 term_drain_wake(void *);
static void	 term_drain_step(void);
static void	 term_drain_end(int);

int
main(int argc, char *argv[])
{
	child_init(&term, argc, argv, "term", SANDBOX_TERM);
	child_ev_init(&term, term_imsgs);
	ev_timer_init(&drain_timer, term_drain_wake, NULL);
	ev_prepare(term_events, NULL);
	ev_run();
}

/*
 * The parent's messages, in order.  A drain stops the loop until it is
 * over: what the parent sent after IMSG_TERM_DRAIN waits for its end.
 */
static void
term_imsgs(void)
{
	struct imsg	 imsg;

	while (!draining && child_next_imsg(&term, &imsg)) {
		switch (imsg_get_type(&imsg)) {
		case IMSG_TERM_SOCKET:
		case IMSG_TERM_PTY:
			term_take_fd(&imsg);
			break;
		case IMSG_TERM_DRAIN:
			imsg_free(&imsg);
			term_drain_start();
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

static void
term_take_fd(struct imsg *imsg)
{
	int	 fd;

	if ((fd = imsg_get_fd(imsg)) == -1)
		fatalx("term: fd message without an fd");
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		fatal("term: fcntl");
	if (imsg_get_type(imsg) == IMSG_TERM_SOCKET) {
		ev_del(sock_ev);
		sock = fd;
		sock_ev = ev_add(fd, 0, term_sock_ready, NULL);
	} else {
		ev_del(pty_ev);
		ptyfd = fd;
		pty_ev = ev_add(fd, 0, term_pty_ready, NULL);
	}
}

/*
 * Before every poll: a full buffer stops its source from being polled
 * (backpressure).  During a drain only the drain runs: it waits for the
 * socket to take what is held, else for the PTY; the parent's channel is
 * not read (this hook runs after child_ev_init's, so it has the last word).
 */
static void
term_events(void *arg)
{
	short	 sev = 0, pev = 0;

	if (draining) {
		ev_set(term.ev, 0);
		if (to_sock.len > 0)
			sev = POLLOUT;
		else
			pev = POLLIN;
	} else {
		if (to_pty.len < sizeof(to_pty.data))
			sev |= POLLIN;
		if (to_sock.len > 0)
			sev |= POLLOUT;
		if (!pty_eof && to_sock.len < sizeof(to_sock.data))
			pev |= POLLIN;
		if (!pty_eof && to_pty.len > 0)
			pev |= POLLOUT;
	}
	ev_set(sock_ev, sev);
	ev_set(pty_ev, pev);
}

static void
term_sock_ready(int fd, short revents, void *arg)
{
	if (draining) {
		term_drain_wake(NULL);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		term_read_sock();
		term_write_pty();
	}
	if (revents & POLLOUT)
		term_write_sock();
}

static void
term_pty_ready(int fd, short revents, void *arg)
{
	if (draining) {
		term_drain_wake(NULL);
		return;
	}
	/*
	 * Read what is there (the PTY hands out a few KiB per read) and
	 * write it on at once: one poll round per burst, not two per chunk.
	 */
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		while (term_read_pty() == 1 &&
		    to_sock.len < sizeof(to_sock.data))
			;
		term_write_sock();
	}
	if (revents & POLLOUT)
		term_write_pty();
}

/*
 * PTY -> buffer for the socket.  Returns 1 after a read of bulk output
 * (there is likely more: read on), 2 after a trickle below TRICKLE bytes
 * (a keystroke's echo: one read, not a second one for EAGAIN; poll says
 * when there is more), 0 on EAGAIN or EOF.
 */
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
	return (n >= TRICKLE ? 1 : 2);
}

/* Socket -> buffer for the PTY; the socket's end ends the child. */
static void
term_read_sock(void)
{
	size_t	 tail, room;
	ssize_t	 n;

	tail = (to_pty.off + to_pty.len) % sizeof(to_pty.data);
	room = sizeof(to_pty.data) - to_pty.len;
	if (room > sizeof(to_pty.data) - tail)
		room = sizeof(to_pty.data) - tail;
	if (room == 0)
		return;
	n = read(sock, to_pty.data + tail, room);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		child_lost(&term, CHILD_IOERR, errno, "terminal socket read");
	}
	if (n == 0) {
		/*
		 * The host may have shut only its own side (it reads on to
		 * our EOF): what we still hold for it goes out first.
		 */
		(void)buf_flush(&to_sock, sock);
		child_lost(&term, CHILD_EOF, 0,
		    "terminal connection closed by the host");
	}
	to_pty.len += n;
}

/* PTY output to the host; the transport is gone if the socket fails. */
static void
term_write_sock(void)
{
	if (sock != -1 && to_sock.len > 0 && buf_flush(&to_sock, sock) == -1 &&
	    errno != EAGAIN)
		child_lost(&term, CHILD_IOERR, errno, "terminal socket write");
}

static void
term_write_pty(void)
{
	if (to_pty.len > 0 && buf_flush(&to_pty, ptyfd) == -1 &&
	    errno != EAGAIN) {
		/* The shell side is gone; keystrokes go nowhere. */
		to_pty.len = 0;
	}
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

/*
 * The shell was reaped: move what is left on the PTY to the socket, then
 * end the stream.  Ends on EIO (no slave fd left), or when the PTY has been
 * quiet for DRAIN_IDLE_MS (a background job still holds the slave: we do not
 * wait for it), and after DRAIN_DEADLINE_MS of time in which the host was
 * reading: while the host takes nothing (every client behind) the clock
 * stops, so a slow client does not cut the last output, up to DRAIN_CAP_MS
 * in all.
 */
static void
term_drain_start(void)
{
	draining = 1;
	drain_cap = now_ms() + DRAIN_CAP_MS;
	drain_idle_since = drain_last = now_ms();
	drain_used = 0;
	drain_stalled = 0;
	term_drain_step();
}

/* Count the time since the last step, unless the host was not reading. */
static int
drain_expired(void)
{
	int64_t	 now = now_ms();

	if (!drain_stalled)
		drain_used += now - drain_last;
	drain_last = now;
	return (drain_used >= DRAIN_DEADLINE_MS || now >= drain_cap);
}

/* The socket, the PTY or the time: the drain goes on, then the messages. */
static void
term_drain_wake(void *arg)
{
	term_drain_step();
	if (!draining)
		term_imsgs();
}

/* Move what can be moved now; wait (term_events) or end the drain. */
static void
term_drain_step(void)
{
	int64_t	 when;
	size_t	 held;
	int	 timedout = 0;

	while (sock != -1) {
		if (drain_expired()) {
			timedout = 1;
			break;
		}
		held = to_sock.len;
		if (to_sock.len > 0 && buf_flush(&to_sock, sock) == -1 &&
		    errno != EAGAIN) {
			child_lost(&term, CHILD_IOERR, errno,
			    "terminal socket write");
		}
		/* Bytes waiting and none taken: the host is not reading. */
		drain_stalled = held > 0 && to_sock.len == held;
		if (ptyfd == -1 || pty_eof) {
			if (to_sock.len == 0)
				break;
		} else if (to_sock.len < sizeof(to_sock.data) &&
		    term_read_pty() > 0) {
			drain_idle_since = now_ms();
			continue;
		}
		if (!pty_eof && to_sock.len == 0 &&
		    now_ms() - drain_idle_since >= DRAIN_IDLE_MS)
			break;
		/* Stalled, the socket wakes us; the cap bounds the wait. */
		when = drain_stalled ? drain_cap : drain_last +
		    (DRAIN_DEADLINE_MS - drain_used);
		if (when > drain_cap)
			when = drain_cap;
		if (to_sock.len == 0 &&
		    when > drain_idle_since + DRAIN_IDLE_MS)
			when = drain_idle_since + DRAIN_IDLE_MS;
		ev_timer_at(&drain_timer, when);
		return;
	}
	term_drain_end(timedout);
}

static void
term_drain_end(int timedout)
{
	struct imsg_term_drained d;

	ev_timer_stop(&drain_timer);
	draining = 0;
	memset(&d, 0, sizeof(d));
	d.timedout = timedout;
	d.bytes = drained;
	d.eio = pty_eof;
	if (sock != -1 && shutdown(sock, SHUT_WR) == -1)
		log_warn("term: shutdown");
	log_debug("term: drained %llu bytes (%s)",
	    (unsigned long long)drained,
	    d.timedout ? "deadline" : pty_eof ? "eio" : "idle");
	/* Nothing more goes to the host; keystrokes are dropped from now on. */
	if (ptyfd != -1) {
		ev_del(pty_ev);
		pty_ev = NULL;
		close(ptyfd);
	}
	ptyfd = -1;
	pty_eof = 1;
	to_pty.len = 0;
	(void)child_send(&term, IMSG_TERM_DRAINED, -1, &d, sizeof(d));
}
