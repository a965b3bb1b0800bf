/*
 * capsem-agent-audit: tails the auditd log and streams one framed audit
 * record per execve to the host on the audit socket (port 5006, guest to
 * host only).  It owns three fds, all received from the parent after the
 * sandbox is in place: the audit socket, the log, which it only reads with
 * pread(2) at its own offset, and an inotify descriptor watching the log
 * and its directory, which says when to read (without one it looks on a
 * timer, 250 ms to 2 s); it cannot open anything, so following a rotated
 * log is the parent's job (IMSG_AUDIT_REOPEN -> a new IMSG_AUDIT_LOG).
 *
 * The log is written by root but holds strings any guest user chose: it is
 * parsed by auditlog.c, bounded everywhere.  The outgoing buffer is bounded
 * too: while the host reads slowly the log is simply not read.
 *
 * Restart without loss or resend: the parent keeps the last IMSG_AUDIT_POS,
 * which says where to resume after the last record the host has read, not
 * merely the last one written to the socket (records in the socket's
 * buffers when the connection drops are lost with it): every record's
 * position is kept as a mark at its end in the byte stream, and a mark is
 * confirmed once the socket's unread bytes (SIOCOUTQ, an upper bound on a
 * unix socket) no longer reach it.
 * Where the kernel cannot say (SIOCOUTQ unsupported), written counts as
 * read.  Confirmation lags by at most CONFIRM_MS while bytes are unread;
 * a restart in that lag sends those records again, never skips one.
 * The parent keeps the last IMSG_AUDIT_POS,
 * the offset of the last line boundary where no event was open
 * ("quiescent") and the id of the last record sent since.  The parser,
 * fed the same lines from a quiescent point, completes the same events in
 * the same order, so a new child resumes at that offset and skips the
 * records it completes up to and including that id; it stops skipping at
 * the first quiescent point in any case (the one sent completed before
 * it), so a log rewritten meanwhile costs at most those records.  Ids are
 * only compared for equality: the lines of concurrent execs interleave and
 * complete out of order, and an id's time is the syscall's entry, so no
 * order of ids says what was sent.
 *
 * `capsem-agent-audit -n FILE` parses FILE once and writes the frames to
 * stdout, for tests and debugging.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/sockios.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "auditlog.h"
#include "capsem_imsg.h"
#include "child.h"
#include "ev.h"
#include "log.h"
#include "sandbox.h"
#include "wire.h"

#define CHUNK		65536
#define OUT_MAX		(1024 * 1024)	/* stop reading the log beyond it */
#define POLL_MIN_MS	250		/* after data */
#define POLL_MAX_MS	2000		/* idle; also REOPEN */
#define NOTIFY_MIN_MS	50		/* inotify: looks at most this often */
#define IDLE_FLUSH_MS	2000		/* a log idle this long ends the
					   events still open */
#define MARKS_MAX	4096		/* records in flight, unconfirmed */
#define MARKS_ROOM	256		/* a log chunk's records, at most */
#define CONFIRM_MS	100		/* look at SIOCOUTQ while unread */

struct triple {
	uint64_t	 sec;
	uint32_t	 msec;
	uint32_t	 serial;
};

static struct child	 au;
static struct auditlog	*al;
static int		 sock = -1;
static struct ev	*sock_ev;
static int		 logfd = -1, nextfd = -1;	/* nextfd: rotated */
static struct imsg_audit_pos nextpos;
static struct imsg_audit_pos reported;		/* last IMSG_AUDIT_POS */
static int		 nolog;
static uint64_t		 dev, ino;
static uint64_t		 offset;	/* next pread; always a line start */
static uint64_t		 qoff;		/* quiescent offset */
static int		 partial;	/* parser holds part of a line */
static struct triple	 sent;		/* last sent since qoff; 0: none */
static struct triple	 skip_to;	/* resuming: sent by our predecessor */
static int		 skipping;
static int		 had_log;	/* skipping is for our first log only */
static struct wbuf	 out;		/* frames for the host */
static size_t		 out_off;
static struct ev_timer	 tick;		/* the next look at the log */

/* Each record's resume position, at its end in the stream (see above). */
static struct mark {
	uint64_t		 end;	/* bytes encoded up to its end */
	struct imsg_audit_pos	 pos;
}			 marks[MARKS_MAX];
static size_t		 mark_head, nmarks;
static int		 marks_full;	/* the log is not read until confirmed */
static uint64_t		 encoded;	/* bytes put in out, in all */
static uint64_t		 written;	/* bytes the socket took, in all */
static int		 outq_ok = 1;	/* SIOCOUTQ works on this socket */
static int		 peer_gone;	/* hangup seen: SIOCOUTQ means nothing */
static struct imsg_audit_pos confirmed;	/* read by the host */
static int		 confirmed_valid;
static struct ev_timer	 confirm_timer;
static int64_t		 t_data, t_reopen;
static int		 interval = POLL_MIN_MS;
static int		 junk_logged;	/* bytes from the host: said once */
static int		 ifd = -1;	/* inotify from the parent, or -1 */
static struct ev	*ifd_ev;
static int64_t		 t_look;	/* the last look at the log */
static int		 dirwd = -1;
static char		 logname[256];
static char		 chunk[CHUNK];

static void	 audit_imsgs(void);
static void	 audit_socket(int);
static void	 audit_events(void *);
static void	 audit_sock_ready(int, short, void *);
static void	 audit_take_log(int, const struct imsg_audit_pos *);
static void	 audit_tick(void *);
static void	 audit_take_notify(int, const struct imsg_audit_notify *);
static void	 audit_notified(int, short, void *);
static int	 audit_read(int *);
static void	 audit_feed_lines(const char *, size_t);
static void	 audit_quiet(void);
static void	 audit_feed(const char *, size_t);
static void	 audit_emit(const struct audit_record *, void *);
static int	 audit_flush_out(void);
static void	 audit_report(void);
static void	 audit_pos_now(struct imsg_audit_pos *);
static void	 mark_push(void);
static void	 audit_confirm(void);
static void	 confirm_fired(void *);
static __dead void audit_lost(int, int, const char *);
static int	 parse_id(const struct wire_str *, struct triple *);
static int	 triple_eq(const struct triple *, const struct triple *);
static void	 log_stats(void);
static int	 oneshot(const char *);

int
main(int argc, char *argv[])
{
	int		 ch;

	while ((ch = getopt(argc, argv, "dn:v")) != -1) {
		if (ch == 'n')
			return (oneshot(optarg));
		if (ch != 'd' && ch != 'v') {
			fprintf(stderr, "usage: %s [-dv] [-n file]\n",
			    getprogname());
			return (1);
		}
	}
	optind = 1;
	child_init(&au, argc, argv, "audit", SANDBOX_AUDIT);
	if ((al = auditlog_new()) == NULL)
		fatal("audit: auditlog_new");
	wbuf_init(&out);
	child_ev_init(&au, audit_imsgs);
	ev_timer_init(&tick, audit_tick, NULL);
	ev_timer_init(&confirm_timer, confirm_fired, NULL);
	ev_prepare(audit_events, NULL);
	ev_run();
}

static void
audit_imsgs(void)
{
	struct imsg		 imsg;
	struct imsg_audit_pos	 pos;
	struct imsg_audit_notify an;
	int			 fd;

	while (child_next_imsg(&au, &imsg)) {
		switch (imsg_get_type(&imsg)) {
		case IMSG_AUDIT_SOCKET:
			if ((fd = imsg_get_fd(&imsg)) == -1)
				fatalx("audit: socket message without an fd");
			audit_socket(fd);
			break;
		case IMSG_AUDIT_LOG:
			if ((fd = imsg_get_fd(&imsg)) == -1 ||
			    imsg_get_data(&imsg, &pos, sizeof(pos)) == -1) {
				log_warnx("audit: malformed log message");
				if (fd != -1)
					close(fd);
				break;
			}
			audit_take_log(fd, &pos);
			break;
		case IMSG_AUDIT_NOTIFY:
			if ((fd = imsg_get_fd(&imsg)) == -1 ||
			    imsg_get_data(&imsg, &an, sizeof(an)) == -1) {
				log_warnx("audit: malformed notify message");
				if (fd != -1)
					close(fd);
				break;
			}
			audit_take_notify(fd, &an);
			break;
		case IMSG_AUDIT_NOLOG:
			nolog = 1;
			/* With inotify, the directory says when it comes. */
			if (ifd == -1)
				ev_timer_in(&tick, POLL_MAX_MS);
			break;
		case IMSG_CHILD_STOP:
			imsg_free(&imsg);
			if (sock != -1)
				(void)audit_flush_out();
			audit_report();
			log_stats();
			child_done(&au, CHILD_STOPPED, 0, "audit stopped");
			exit(0);
		default:
			log_warnx("audit: unexpected imsg %u",
			    imsg_get_type(&imsg));
			break;
		}
		imsg_free(&imsg);
	}
}

/* A new audit socket replaces the old one; the log is looked at now. */
static void
audit_socket(int fd)
{
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		fatal("audit: fcntl");
	if (sock != -1) {
		ev_del(sock_ev);
		close(sock);
	}
	sock = fd;
	sock_ev = ev_add(sock, POLLIN, audit_sock_ready, NULL);
	ev_timer_in(&tick, 0);
}

/*
 * Before every poll: once everything encoded was written the parent learns
 * where to resume, and the socket is written to while frames wait.
 */
static void
audit_events(void *arg)
{
	audit_report();
	ev_set(sock_ev, POLLIN | (out.len > out_off ? POLLOUT : 0));
	/* Unread bytes: look again soon, whether or not anything happens. */
	if (nmarks > 0 && !peer_gone && !ev_timer_armed(&confirm_timer))
		ev_timer_in(&confirm_timer, CONFIRM_MS);
}

static void
confirm_fired(void *arg)
{
	/* audit_events, before the next poll, does the work. */
}

static void
audit_sock_ready(int fd, short revents, void *arg)
{
	char	 junk[4096];
	ssize_t	 n;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		/* Guest to host only: what the host sends is dropped. */
		n = read(sock, junk, sizeof(junk));
		if (n == 0)
			audit_lost(CHILD_EOF, 0,
			    "audit connection closed by the host");
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			audit_lost(CHILD_IOERR, errno, "audit socket read");
		if (n > 0 && !junk_logged++)
			log_warnx("audit: discarding bytes sent by "
			    "the host (logged once)");
	}
	if (out.len > out_off && (revents & POLLOUT) &&
	    audit_flush_out() == -1)
		audit_lost(CHILD_IOERR, errno, "audit socket write");
}

/* The parent's inotify: from now on the log is read when it changes. */
static void
audit_take_notify(int fd, const struct imsg_audit_notify *an)
{
	if (ifd != -1) {
		ev_del(ifd_ev);
		close(ifd);
	}
	ifd = fd;
	dirwd = an->dirwd;
	memcpy(logname, an->name, sizeof(logname));
	logname[sizeof(logname) - 1] = '\0';
	ifd_ev = ev_add(ifd, POLLIN, audit_notified, NULL);
	ev_timer_in(&tick, 0);
}

/*
 * inotify: the log was written (or truncated), or a new file of its name
 * appeared, or it went away.  Read it now; a new file is the parent's to
 * open (REOPEN), as after the timer's look.
 */
static void
audit_notified(int fd, short revents, void *arg)
{
	char			 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *e;
	ssize_t			 n, off;
	int			 reopen = 0;

	for (;;) {
		if ((n = read(ifd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			fatal("audit: inotify read");
		}
		if (n == 0)
			break;
		for (off = 0; off + (ssize_t)sizeof(*e) <= n;
		    off += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)(buf + off);
			if (off + (ssize_t)(sizeof(*e) + e->len) > n)
				break;
			if (e->mask & (IN_Q_OVERFLOW | IN_MOVE_SELF |
			    IN_DELETE_SELF))
				reopen = 1;
			else if (e->wd == dirwd && e->len > 0 &&
			    strncmp(e->name, logname, e->len) == 0)
				reopen = 1;
		}
	}
	if (reopen && nextfd == -1)
		(void)child_send(&au, IMSG_AUDIT_REOPEN, -1, NULL, 0);
	/*
	 * A log written in a storm (a build's execs) would wake us for every
	 * write: at most one look every NOTIFY_MIN_MS, inotify not polled
	 * meanwhile (what comes in the while is read with that look).
	 */
	if (now_ms() - t_look < NOTIFY_MIN_MS) {
		ev_set(ifd_ev, 0);
		ev_timer_at(&tick, t_look + NOTIFY_MIN_MS);
	} else
		ev_timer_in(&tick, 0);
}

/*
 * A log fd from the parent.  A second one means rotation: it waits in
 * nextfd until the current file has been read to its end.
 */
static void
audit_take_log(int fd, const struct imsg_audit_pos *pos)
{
	struct stat	 sb;

	if (sandbox_fstat(fd, &sb) == -1) {
		log_warn("audit: fstat log");
		close(fd);
		return;
	}
	if (logfd != -1 && (uint64_t)sb.st_dev == dev &&
	    (uint64_t)sb.st_ino == ino) {
		close(fd);	/* the file we already follow */
		return;
	}
	if (logfd != -1) {
		if (nextfd != -1)
			close(nextfd);
		nextfd = fd;
		nextpos = *pos;
		ev_timer_in(&tick, 0);
		return;
	}
	logfd = fd;
	nolog = 0;
	dev = sb.st_dev;
	ino = sb.st_ino;
	if (pos->from_end)
		offset = sb.st_size;
	else if (pos->offset > (uint64_t)sb.st_size) {
		log_info("audit: log shorter than the saved position: "
		    "truncated, reading from its start");
		offset = 0;
	} else
		offset = pos->offset;
	qoff = offset;
	partial = 0;
	memset(&sent, 0, sizeof(sent));
	skipping = 0;
	/*
	 * Our predecessor's position in this file: skip what it sent.  At
	 * offset 0 the file is one the parent found new (rotated, replaced),
	 * and the id it passes on belongs to the old one: nothing to skip.
	 * The price: records sent while events were open ever since a file's
	 * first line go out again after a restart.
	 */
	if (!had_log && !pos->from_end && offset > 0) {
		skip_to.sec = pos->last_sec;
		skip_to.msec = pos->last_msec;
		skip_to.serial = pos->last_serial;
		skipping = skip_to.sec != 0 || skip_to.msec != 0 ||
		    skip_to.serial != 0;	/* all 0: none sent */
	}
	had_log = 1;
	mark_push();
	interval = POLL_MIN_MS;
	t_data = now_ms();
	ev_timer_at(&tick, t_data);
	log_debug("audit: reading the log from offset %llu",
	    (unsigned long long)offset);
}

/* Read what the log has, then decide when to look again. */
static void
audit_tick(void *arg)
{
	int64_t	 now = now_ms();
	ssize_t	 n;
	int	 eof = 0, got;

	t_look = now;
	if (ifd != -1)
		ev_set(ifd_ev, POLLIN);
	if (sock == -1)
		return;
	if (logfd == -1) {
		if (nolog && ifd == -1) {
			(void)child_send(&au, IMSG_AUDIT_REOPEN, -1, NULL, 0);
			ev_timer_at(&tick, now + POLL_MAX_MS);
		}
		return;
	}
	got = audit_read(&eof);
	if (out.len - out_off > OUT_MAX)
		return;		/* resumed when the socket drains */
	if (got > 0) {
		interval = POLL_MIN_MS;
		t_data = now;
	} else if ((interval *= 2) > POLL_MAX_MS)
		interval = POLL_MAX_MS;
	if (eof && nextfd != -1) {
		/* Rotated: end the old file's events, go on with the new. */
		if ((n = pread(logfd, chunk, sizeof(chunk), offset)) > 0)
			audit_feed(chunk, n);	/* a torn line: counted */
		auditlog_flush(al, audit_emit, NULL);
		close(logfd);
		logfd = -1;
		audit_take_log(nextfd, &nextpos);
		nextfd = -1;
		return;
	}
	if (auditlog_stats(al)->open_events > 0 && !partial &&
	    now - t_data >= IDLE_FLUSH_MS) {
		/* A log without EOE never ends its last event by itself. */
		auditlog_flush(al, audit_emit, NULL);
		audit_quiet();
	}
	if (ifd != -1) {
		/* inotify wakes us; a timer only to end an open event. */
		if (auditlog_stats(al)->open_events > 0 && !partial)
			ev_timer_at(&tick, t_data + IDLE_FLUSH_MS);
		return;
	}
	if (interval == POLL_MAX_MS && got == 0 && nextfd == -1 &&
	    now - t_reopen >= POLL_MAX_MS) {
		t_reopen = now;
		(void)child_send(&au, IMSG_AUDIT_REOPEN, -1, NULL, 0);
	}
	ev_timer_at(&tick, now + interval);
}

/*
 * Feed whole lines from the log while the outgoing buffer has room; a torn
 * last line is read again next time.  Returns the bytes fed; *eof is set
 * when the end of the file was reached.
 */
static int
audit_read(int *eof)
{
	struct stat	 sb;
	char		*nl;
	ssize_t		 n;
	size_t		 len;
	int		 got = 0;

	if (sandbox_fstat(logfd, &sb) == -1)
		fatal("audit: fstat log");
	if ((uint64_t)sb.st_size < offset) {
		log_warnx("audit: log truncated to %lld bytes (we were at "
		    "%llu): reading from its start", (long long)sb.st_size,
		    (unsigned long long)offset);
		auditlog_free(al);
		if ((al = auditlog_new()) == NULL)
			fatal("audit: auditlog_new");
		offset = 0;
		partial = 0;
		audit_quiet();
	}
	while (out.len - out_off <= OUT_MAX &&
	    !(marks_full = nmarks + MARKS_ROOM > MARKS_MAX)) {
		if ((n = pread(logfd, chunk, sizeof(chunk), offset)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("audit: pread");
			break;
		}
		len = n;
		if ((nl = memrchr(chunk, '\n', len)) != NULL)
			len = nl - chunk + 1;
		else if (len < sizeof(chunk)) {
			*eof = 1;	/* nothing, or a line still written */
			break;
		}
		audit_feed_lines(chunk, len);
		partial = nl == NULL;
		got += len;
	}
	return (got);
}

/*
 * Feed line by line, advancing offset, so that every line boundary with no
 * event open is a quiescent point: a position to resume from is exact only
 * if there is none between it and what was sent after it.
 */
static void
audit_feed_lines(const char *p, size_t len)
{
	const char	*nl;
	size_t		 n;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) + 1 : len;
		audit_feed(p, n);
		offset += n;
		if (nl != NULL && auditlog_stats(al)->open_events == 0)
			audit_quiet();
		p += n;
		len -= n;
	}
}

/* Nothing open at offset: a point to resume from, with nothing to skip. */
static void
audit_quiet(void)
{
	qoff = offset;
	memset(&sent, 0, sizeof(sent));
	skipping = 0;
	if (logfd != -1)
		mark_push();
}

static void
audit_feed(const char *p, size_t len)
{
	if (auditlog_feed(al, p, len, audit_emit, NULL) == -1)
		log_warnx("audit: out of memory: an event was lost");
}

/* Parser callback: the record is borrowed; encode it at once. */
static void
audit_emit(const struct audit_record *r, void *arg)
{
	struct wire_err	 werr;
	struct triple	 t;
	size_t		 before;
	int		 has_id;

	has_id = parse_id(&r->audit_id, &t) == 0;
	if (skipping) {
		/* Sent by our predecessor (see audit_take_log). */
		if (has_id && triple_eq(&t, &skip_to))
			skipping = 0;
		return;
	}
	before = out.len;
	if (audit_record_encode(r, &out, &werr) == -1) {
		log_warnx("audit: record %.*s not sent: %s",
		    (int)r->audit_id.len, r->audit_id.s, werr.msg);
		return;
	}
	encoded += out.len - before;
	if (has_id)
		sent = t;
	mark_push();
}

/* Write what the socket takes; -1 with errno on a real error. */
static int
audit_flush_out(void)
{
	ssize_t	 n;

	while (out.len > out_off) {
		n = send(sock, out.data + out_off, out.len - out_off,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return (-1);
		}
		out_off += n;
		written += n;
	}
	if (out_off == out.len) {
		wbuf_reset(&out);
		out_off = 0;
		if (!ev_timer_armed(&tick) && logfd != -1)
			ev_timer_in(&tick, 0);	/* backpressure lifted */
	} else if (out_off > OUT_MAX) {
		memmove(out.data, out.data + out_off, out.len - out_off);
		out.len -= out_off;
		out_off = 0;
	}
	return (0);
}

/* Where a successor would resume now: the reading state as it is. */
static void
audit_pos_now(struct imsg_audit_pos *pos)
{
	memset(pos, 0, sizeof(*pos));
	pos->dev = dev;
	pos->ino = ino;
	pos->offset = qoff;
	/* Still skipping: what our predecessor sent is the last sent. */
	pos->last_sec = skipping ? skip_to.sec : sent.sec;
	pos->last_msec = skipping ? skip_to.msec : sent.msec;
	pos->last_serial = skipping ? skip_to.serial : sent.serial;
}

/*
 * The position after everything encoded so far, as a mark at the stream's
 * end.  A mark at the same end is replaced (a quiescent point after a
 * record); with no room left the last one is moved forward, which only
 * confirms later, never too early.
 */
static void
mark_push(void)
{
	struct mark	*m;

	if (nmarks > 0 && (m = &marks[(mark_head + nmarks - 1) % MARKS_MAX])
	    ->end == encoded) {
		audit_pos_now(&m->pos);
		return;
	}
	if (nmarks == MARKS_MAX)
		m = &marks[(mark_head + nmarks - 1) % MARKS_MAX];
	else
		m = &marks[(mark_head + nmarks++) % MARKS_MAX];
	m->end = encoded;
	audit_pos_now(&m->pos);
}

/*
 * The host has read every byte but the socket's unread ones: each mark
 * that ends before them is confirmed.  The count is taken before looking
 * for a hangup, so a count taken after the host's end closed (which frees
 * the unread bytes as if read) is never used.
 */
static void
audit_confirm(void)
{
	struct pollfd	 pfd;
	uint64_t	 delivered;
	int		 unread = 0;

	if (sock == -1 || peer_gone)
		return;
	if (outq_ok && ioctl(sock, SIOCOUTQ, &unread) == -1) {
		log_debug("audit: SIOCOUTQ: %s: counting written as read",
		    strerror(errno));
		outq_ok = 0;
		unread = 0;
	}
	pfd.fd = sock;
	pfd.events = POLLRDHUP;
	if (poll(&pfd, 1, 0) == -1 ||
	    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) {
		peer_gone = 1;
		return;
	}
	/*
	 * A unix socket counts its buffers' full size (skb truesize), more
	 * than the bytes in them: an estimate from above, so a mark is
	 * confirmed late (and maybe sent again after a restart), never
	 * early.
	 */
	if (unread < 0)
		unread = 0;
	delivered = (uint64_t)unread >= written ? 0 :
	    written - (uint64_t)unread;
	while (nmarks > 0 && marks[mark_head].end <= delivered) {
		confirmed = marks[mark_head].pos;
		confirmed_valid = 1;
		mark_head = (mark_head + 1) % MARKS_MAX;
		nmarks--;
	}
	/* Reading stopped for want of marks: there is room again. */
	if (marks_full && nmarks + MARKS_ROOM <= MARKS_MAX) {
		marks_full = 0;
		if (logfd != -1 && !ev_timer_armed(&tick))
			ev_timer_in(&tick, 0);
	}
}

/* Tell the parent where to resume: after what the host has read. */
static void
audit_report(void)
{
	if (logfd == -1 && nmarks == 0)
		return;
	audit_confirm();
	if (!confirmed_valid || memcmp(&confirmed, &reported,
	    sizeof(confirmed)) == 0)
		return;
	if (child_send(&au, IMSG_AUDIT_POS, -1, &confirmed,
	    sizeof(confirmed)) == -1)
		exit(0);
	reported = confirmed;
}

/* The audit connection is over: the parser's figures, then why. */
static __dead void
audit_lost(int reason, int error, const char *what)
{
	log_stats();
	child_lost(&au, reason, error, what);
}

/* "SECONDS.MILLIS:SERIAL" -> triple; -1 if it is not that. */
static int
parse_id(const struct wire_str *id, struct triple *t)
{
	uint64_t	 v[3] = { 0, 0, 0 };
	size_t		 i, k = 0, digits = 0;
	char		 c;

	for (i = 0; i < id->len; i++) {
		c = id->s[i];
		if (c >= '0' && c <= '9') {
			if (v[k] > (UINT64_MAX - 9) / 10)
				return (-1);
			v[k] = v[k] * 10 + (c - '0');
			digits++;
		} else if (digits > 0 && ((k == 0 && c == '.') ||
		    (k == 1 && c == ':'))) {
			k++;
			digits = 0;
		} else
			return (-1);
	}
	if (k != 2 || digits == 0 || v[1] > UINT32_MAX || v[2] > UINT32_MAX)
		return (-1);
	t->sec = v[0];
	t->msec = v[1];
	t->serial = v[2];
	return (0);
}

static int
triple_eq(const struct triple *a, const struct triple *b)
{
	return (a->sec == b->sec && a->msec == b->msec &&
	    a->serial == b->serial);
}

static void
log_stats(void)
{
	const struct auditlog_stats *st = auditlog_stats(al);

	log_info("audit: %llu records, %llu dropped incomplete, %llu dropped "
	    "oversize, %llu bad lines, %llu truncated",
	    (unsigned long long)st->records,
	    (unsigned long long)st->dropped_incomplete,
	    (unsigned long long)st->dropped_oversize,
	    (unsigned long long)st->bad_lines,
	    (unsigned long long)st->truncated);
}

/* -n FILE: the whole file once, frames to stdout, stats to stderr. */
static int
oneshot(const char *path)
{
	size_t	 off;
	ssize_t	 n, w;
	int	 fd;

	log_init(1, LOG_DAEMON);
	log_procinit("capsem-agent-audit");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "%s", path);
	sandbox_init("audit");
	sandbox_apply(SANDBOX_AUDIT);
	if ((al = auditlog_new()) == NULL)
		fatal("auditlog_new");
	wbuf_init(&out);
	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			fatal("%s", path);
		}
		if (n > 0)
			audit_feed(chunk, n);
		else
			auditlog_flush(al, audit_emit, NULL);
		for (off = 0; off < out.len; off += w)
			if ((w = write(STDOUT_FILENO, out.data + off,
			    out.len - off)) == -1)
				fatal("stdout");
		wbuf_reset(&out);
		if (n == 0)
			break;
	}
	close(fd);
	log_stats();
	auditlog_free(al);
	wbuf_free(&out);
	return (0);
}
