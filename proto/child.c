/*
 * Start-up, the parent's channel in the event loop, the reading of the
 * peer's frames and the reports shared by every sandboxed child.  A child is
 * started by its parent with the imsg socket on fd 3 and nothing else open
 * but stdio.  child_init() sandboxes the process before it reads a single
 * byte from its parent or from the network; every fd it will own arrives
 * later over imsg.  A child never exits on its peer's error without saying
 * why: child_done() reports the reason to the parent first.
 */
#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <signal.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "child.h"
#include "ev.h"
#include "frame.h"
#include "log.h"

_Static_assert(CHILD_LOG_LINE_MAX == LOG_MSG_MAX, "a log line fits an imsg");

static struct child *log_child;		/* where child_log sends */
static const char *log_child_name;

static void	 child_log(int, const char *);
static void	 child_imsg_events(void *);
static void	 child_imsg_ready(int, short, void *);
static void	 child_read(struct child *);

void
child_init(struct child *c, int argc, char **argv, const char *role,
    enum sandbox_profile profile)
{
	static char	 procname[64];
	int		 ch, verbose = 0;

	memset(c, 0, sizeof(*c));
	c->role = role;
	while ((ch = getopt(argc, argv, "dv")) != -1) {
		switch (ch) {
		case 'd':
			c->debug = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			fprintf(stderr, "usage: %s [-dv]\n", getprogname());
			exit(1);
		}
	}
	snprintf(procname, sizeof(procname), "capsem-agent: %s", role);
	c->peer = "host";
	if (strncmp(getprogname(), "capsem-hostd", 12) == 0) {
		snprintf(procname, sizeof(procname), "capsem-hostd: %s", role);
		c->peer = "guest";
	}
	/*
	 * Never syslog: stderr until the parent's channel exists, then
	 * every line goes to the parent (child_log).
	 */
	log_init(1, LOG_DAEMON);
	log_procinit(procname);
	log_setverbose(verbose);

	/* A peer that went away is an EPIPE to report, not a death. */
	(void)signal(SIGPIPE, SIG_IGN);
	if (imsgbuf_init(&c->ibuf, CHILD_IMSG_FD) == -1)
		fatal("%s: imsgbuf_init", role);
	imsgbuf_allow_fdpass(&c->ibuf);
	if (imsgbuf_set_maxsize(&c->ibuf, CAPSEM_IMSG_MAX) == -1)
		fatal("%s: imsgbuf_set_maxsize", role);
	log_child = c;
	log_child_name = procname;
	log_sethook(child_log);

	sandbox_init(role);
	sandbox_report_fd(CHILD_IMSG_FD);
	sandbox_apply(profile);
	if (child_send(c, IMSG_CHILD_READY, -1, NULL, 0) == -1)
		exit(0);
}

/*
 * The log hook: the line to the parent, pushed out at once, so that it
 * comes before whatever the child sends next (IMSG_CHILD_DONE) on the same
 * channel.  It must not log: a parent that is gone loses the line.
 */
static void
child_log(int pri, const char *line)
{
	struct imsg_child_log	 l;
	struct iovec		 iov[2];

	memset(&l, 0, sizeof(l));
	l.pri = pri;
	strlcpy(l.procname, log_child_name, sizeof(l.procname));
	iov[0].iov_base = &l;
	iov[0].iov_len = sizeof(l);
	iov[1].iov_base = (void *)(uintptr_t)line;
	iov[1].iov_len = strnlen(line, CHILD_LOG_LINE_MAX - 1) + 1;
	if (imsg_composev(&log_child->ibuf, IMSG_CHILD_LOG, 0, 0, -1, iov,
	    2) == 0)
		(void)imsgbuf_flush(&log_child->ibuf);
}

/*
 * Start the event loop with the parent's channel in it: dispatch runs after
 * each read from the parent (child_next_imsg gives it the messages), and
 * what is queued for the parent is written as the socket takes it.  The
 * child adds its own descriptors, timers and hooks after this.
 */
void
child_ev_init(struct child *c, void (*dispatch)(void))
{
	ev_init();
	c->dispatch = dispatch;
	c->ev = ev_add(c->ibuf.fd, POLLIN, child_imsg_ready, c);
	ev_prepare(child_imsg_events, c);
}

static void
child_imsg_events(void *arg)
{
	struct child	*c = arg;

	ev_set(c->ev, POLLIN |
	    (imsgbuf_queuelen(&c->ibuf) > 0 ? POLLOUT : 0));
}

static void
child_imsg_ready(int fd, short revents, void *arg)
{
	struct child	*c = arg;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		child_read(c);
		c->dispatch();
	}
	if ((revents & POLLOUT) && imsgbuf_write(&c->ibuf) == -1)
		exit(0);
}

/* Queue one message to the parent and push it out; -1 if the parent is gone. */
int
child_send(struct child *c, uint32_t type, int fd, const void *data,
    size_t len)
{
	if (imsg_compose(&c->ibuf, type, 0, 0, fd, data, len) == -1) {
		log_warn("%s: imsg_compose", c->role);
		return (-1);
	}
	if (imsgbuf_flush(&c->ibuf) == -1)
		return (-1);
	return (0);
}

/* Tell the parent why this child is stopping; the caller then exits. */
void
child_done(struct child *c, int reason, int error, const char *fmt, ...)
{
	struct imsg_child_done	 d;
	va_list			 ap;

	memset(&d, 0, sizeof(d));
	d.reason = reason;
	d.error = error;
	va_start(ap, fmt);
	vsnprintf(d.detail, sizeof(d.detail), fmt, ap);
	va_end(ap);
	(void)child_send(c, IMSG_CHILD_DONE, -1, &d, sizeof(d));
}

/*
 * Messages every child understands.  Returns 1 if handled, 0 if the caller
 * should dispatch it.
 */
int
child_common_imsg(struct child *c, struct imsg *imsg)
{
	char	 what[32];
	int	 v;

	switch (imsg_get_type(imsg)) {
	case IMSG_CHILD_VERBOSE:
		if (imsg_get_data(imsg, &v, sizeof(v)) == 0)
			log_setverbose(v);
		return (1);
	case IMSG_CHILD_SELFTEST:
		/* Debug only: prove the sandbox by breaking it. */
		memset(what, 0, sizeof(what));
		if (imsg_get_len(imsg) >= sizeof(what) ||
		    imsg_get_data(imsg, what, imsg_get_len(imsg)) == -1)
			return (1);
		log_warnx("%s: self-test: attempting forbidden %s", c->role,
		    what);
		sandbox_selftest(what);
		return (1);
	}
	return (0);
}

/* Read what the parent sent; a parent that is gone ends the child quietly. */
static void
child_read(struct child *c)
{
	int	 n;

	if ((n = imsgbuf_read(&c->ibuf)) == -1)
		fatal("%s: imsgbuf_read", c->role);
	if (n == 0)
		exit(0);
}

/*
 * The next message for the caller to dispatch: 1 and imsg filled (the
 * caller frees it), or 0 when none is left.  The messages every child
 * understands are handled here.
 */
int
child_next_imsg(struct child *c, struct imsg *imsg)
{
	ssize_t	 n;

	for (;;) {
		if ((n = imsg_get(&c->ibuf, imsg)) == -1)
			fatal("%s: imsg_get", c->role);
		if (n == 0)
			return (0);
		if (!child_common_imsg(c, imsg))
			return (1);
		imsg_free(imsg);
	}
}

/*
 * The peer's connection is over (EOF, an I/O error, a protocol error):
 * one log line, the reason to the parent, exit.  The parent decides what
 * the end means.
 */
__attribute__((__noreturn__)) void
child_lost(struct child *c, int reason, int error, const char *what)
{
	if (reason == CHILD_EOF)
		log_info("%s: %s", c->role, what);
	else if (error != 0)
		log_warnx("%s: %s: %s", c->role, what, strerror(error));
	else
		log_warnx("%s: %s", c->role, what);
	child_done(c, reason, error, "%s", what);
	exit(0);
}

/* read(2) from the peer: bytes read, 0 for EOF, -1 for "nothing now". */
ssize_t
child_sock_read(struct child *c, int fd, void *buf, size_t len)
{
	ssize_t	 n;

	if ((n = read(fd, buf, len)) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return (-1);
		child_lost(c, CHILD_IOERR, errno, "read");
	}
	return (n);
}

/*
 * Input from the peer: untrusted.  Feed len bytes to the frame reader and
 * hand each whole frame to fn; a length that breaks the framing ends the
 * child.  Returns how many bytes were used: all of them, unless fn asked
 * to stop after a frame (the rest is then not framed, as on an exec
 * connection after execstarted).
 */
size_t
child_frames(struct child *c, struct frame_reader *rd, const uint8_t *buf,
    size_t len, child_frame_cb fn, void *arg)
{
	const uint8_t	*body;
	size_t		 off, used, blen;
	int		 r;

	for (off = 0; off < len; off += used) {
		r = frame_reader_feed(rd, buf + off, len - off, &used);
		if (r == FRAME_TOOBIG) {
			log_warnx("%s: %s frame of %zu bytes", c->role,
			    c->peer, frame_reader_declared(rd));
			child_lost(c, CHILD_PROTO, 0,
			    "frame length over 2 MiB, framing lost");
		}
		if (r != FRAME_READY && r != FRAME_MORE)
			child_lost(c, CHILD_PROTO, 0, "frame reader failed");
		if (r == FRAME_READY) {
			body = frame_reader_body(rd, &blen);
			if (fn(body, blen, arg) != 0)
				return (off + used);
		}
	}
	return (off);
}

/* The stream ended: inside a frame, that is a protocol error. */
void
child_frames_eof(struct child *c, struct frame_reader *rd)
{
	char	 cut[96];

	if (frame_reader_cut(rd, cut, sizeof(cut)))
		child_lost(c, CHILD_PROTO, 0, cut);
}

/*
 * A connection that is frames and nothing else: read what the peer sent on
 * fd and hand each whole frame to fn.  Its end is a frame cut short, or
 * CHILD_EOF with eof as the reason.
 */
void
child_frames_read(struct child *c, int fd, struct frame_reader *rd,
    child_frame_cb fn, void *arg, const char *eof)
{
	uint8_t	 buf[65536];
	ssize_t	 n;

	if ((n = child_sock_read(c, fd, buf, sizeof(buf))) == -1)
		return;
	if (n == 0) {
		child_frames_eof(c, rd);
		child_lost(c, CHILD_EOF, 0, eof);
	}
	(void)child_frames(c, rd, buf, n, fn, arg);
}
