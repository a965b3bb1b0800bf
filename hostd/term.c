/*
 * The terminal relay: the guest's terminal connection (port 5001) and the
 * attach clients.  Raw bytes, never parsed and never mixed with frames:
 * output goes to pty.log and to every terminal client, client input is
 * written to the guest (kept, bounded, while it reconnects).  The guest is
 * untrusted; nothing here interprets what it sends.
 *
 * Pairing: a terminal that arrives while none is active is used at once;
 * one that arrives while an old one is still open waits (term_pending)
 * until its control connection says `ready` (term_pair()), then replaces
 * the old one, whose last output is taken in first.  After shellexited the
 * active connection is read to its EOF, bounded by DRAIN_MS.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostd.h"
#include "log.h"

#define TERM_OUT_MAX		(1024 * 1024)
#define TERM_READ		65536
#define DRAIN_MS		2000
#define FLUSH_OLD_MAX		(4 * 1024 * 1024)

static int		 term_fd = -1;
static struct ev	*term_ev;
static int		 term_pending = -1;
static int		 term_shut;	/* term_fd shut for writing */
static uint8_t		*term_out;	/* client input for the guest */
static size_t		 term_out_len;
static struct ev_timer	 drain_timer;

static void	 term_prepare(void *);
static void	 term_event(int, short, void *);
static void	 term_set(int);
static void	 term_close(const char *);
static void	 term_flush_old(void);
static void	 drain_due(void *);

void
term_init(void)
{
	if ((term_out = malloc(TERM_OUT_MAX)) == NULL)
		fatal("malloc");
	ev_timer_init(&drain_timer, drain_due, NULL);
	ev_prepare(term_prepare, NULL);
}

/* Backpressure: read only while a client can take it, or when draining. */
static void
term_prepare(void *arg)
{
	short	 ev = 0;

	if (term_fd == -1)
		return;
	if (sess.state == HS_DRAINING || !clients_blocked())
		ev |= POLLIN;
	if (term_out_len > 0 && !term_shut)
		ev |= POLLOUT;
	ev_set(term_ev, ev);
}

/* The active connection is now fd (or none). */
static void
term_set(int fd)
{
	ev_del(term_ev);
	term_ev = NULL;
	term_fd = fd;
	term_shut = 0;
	if (fd != -1)
		term_ev = ev_add(fd, POLLIN, term_event, NULL);
}

/* A new terminal connection from the guest. */
void
term_accept(int fd)
{
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		fatal("fcntl");
	if (term_fd == -1) {
		term_set(fd);
		log_debug("terminal connected");
		return;
	}
	if (term_pending != -1) {
		log_info("terminal connection replaced by a newer one before "
		    "it was paired");
		close(term_pending);
	}
	term_pending = fd;
}

/* The guest said `ready` on a new control connection. */
void
term_pair(void)
{
	if (term_pending == -1)
		return;
	term_flush_old();
	term_set(term_pending);
	term_pending = -1;
}

/*
 * The guest's connections are gone.  The terminal is not closed: shut for
 * writing, so the guest's terminal side stops, and read on to its EOF, so
 * output it had already sent is still delivered.  A newer terminal takes
 * over at the next `ready`.
 */
void
term_unpaired(void)
{
	if (term_fd != -1 && term_pending == -1) {
		(void)shutdown(term_fd, SHUT_WR);
		term_shut = 1;
	} else if (term_pending != -1) {
		term_flush_old();
		term_set(term_pending);
		term_pending = -1;
	}
}

/* The shell exited: no new terminal; read the active one to its end. */
void
term_exited(void)
{
	if (term_pending != -1) {
		close(term_pending);
		term_pending = -1;
	}
	if (term_fd == -1)
		guest_drain_done(NULL);
	else
		ev_timer_in(&drain_timer, DRAIN_MS);
}

static void
drain_due(void *arg)
{
	guest_drain_done("the terminal did not end in time");
}

/* The terminal: raw bytes, never parsed, never mixed with frames. */
static void
term_event(int fd, short revents, void *arg)
{
	static uint8_t	 buf[TERM_READ];
	ssize_t		 n;

	if ((revents & POLLOUT) && term_out_len > 0) {
		n = write(term_fd, term_out, term_out_len);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			term_close(strerror(errno));
			return;
		}
		if (n > 0) {
			memmove(term_out, term_out + n, term_out_len - n);
			term_out_len -= n;
		}
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = read(term_fd, buf, sizeof(buf));
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		term_close(strerror(errno));
		return;
	}
	if (n == 0) {
		term_close("closed by the guest");
		return;
	}
	/* The clients first: the recording is not on the echo's path. */
	clients_output(buf, n);
	ptylog_write(0, buf, n);
}

/*
 * A terminal connection being replaced: whatever the guest had sent on it
 * is already in the socket (the agent closes it before reconnecting), so
 * take it in, without blocking, before closing.  Bounded: an old peer that
 * keeps writing cannot hold the loop.
 */
static void
term_flush_old(void)
{
	static uint8_t	 buf[TERM_READ];
	ssize_t		 n;
	size_t		 total = 0;

	if (term_fd == -1)
		return;
	while (total < FLUSH_OLD_MAX &&
	    (n = read(term_fd, buf, sizeof(buf))) > 0) {
		ptylog_write(0, buf, n);
		clients_output(buf, n);
		total += n;
	}
	if (total > 0)
		log_debug("old terminal connection: %zu bytes taken in before "
		    "closing it", total);
	close(term_fd);
	term_set(-1);
}

static void
term_close(const char *why)
{
	log_debug("terminal connection ended: %s", why);
	close(term_fd);
	term_set(-1);
	if (sess.state == HS_DRAINING) {
		ev_timer_stop(&drain_timer);
		guest_drain_done(NULL);
		return;
	}
	if (term_pending != -1) {
		term_set(term_pending);
		term_pending = -1;
	}
}

/* Client input for the guest; kept (bounded) while it reconnects. */
int
term_write(const void *data, size_t len)
{
	ssize_t	 n = 0;

	if (term_out_len + len > TERM_OUT_MAX)
		return (-1);
	if (term_out_len == 0 && term_fd != -1 && !term_shut) {
		n = write(term_fd, data, len);
		if (n == -1)
			n = 0;
	}
	memcpy(term_out + term_out_len, (const uint8_t *)data + n, len - n);
	term_out_len += len - n;
	ptylog_write(1, data, len);
	return (0);
}

/* The terminal's end (drained, or given up on): close both connections. */
void
term_close_all(void)
{
	ev_timer_stop(&drain_timer);
	if (term_fd != -1)
		close(term_fd);
	term_set(-1);
	if (term_pending != -1)
		close(term_pending);
	term_pending = -1;
	term_out_len = 0;
}
