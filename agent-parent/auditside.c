/*
 * The parent's side of the audit child.  agent-audit follows the audit log
 * and sends records on the audit port; the parent opens the log for it
 * (the child cannot open anything), connects the port, keeps the read
 * position the child reports so that a restarted child neither resends nor
 * skips a record, and passes down the new file after a rotation.  It holds
 * the files it passed down (at most two: the one being read and the one
 * that replaced it), so that a log rotated while no child runs (transport
 * down, child restarted) still has its unread tail sent, before the new
 * file, instead of being lost with its name.
 *
 * The audit channel is not part of the session: it is started once the
 * session runs, retried with its own backoff while the port refuses, and
 * restarted when its child ends; it never takes the terminal or control
 * down with it.  The retries have a budget: after the reconnect deadline
 * (-r) without an audit child that got ready, audit is off until the next
 * connection.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

#define AUDIT_BACKOFF_MIN_MS	1000
#define AUDIT_BACKOFF_MAX_MS	5000
#define AUDIT_STOP_MS		1000

static void	 audit_start(void);
static void	 audit_failed(int64_t);
static void	 audit_imsg(struct proc *, struct imsg *);
static void	 audit_timer_fired(void *);
static void	 audit_position(struct proc *, struct imsg *);
static void	 audit_reopen(void);

static struct proc	 audit = {
	.role = "audit", .prog = "capsem-agent-audit", .dispatch = audit_imsg
};
static struct ev_timer	 audit_timer;
static int		 audit_backoff_ms = AUDIT_BACKOFF_MIN_MS;
static int64_t		 audit_down_since;	/* 0: not failing */
static struct imsg_audit_pos audit_pos;
static int		 audit_pos_valid;

/* The files passed down, held open: [0] at audit_pos, [1] its successor. */
#define AUDIT_HELD	2
static struct {
	int		 fd;		/* -1: none */
	uint64_t	 dev, ino;
} held[AUDIT_HELD] = { { -1, 0, 0 }, { -1, 0, 0 } };

static int	 held_find(uint64_t, uint64_t);
static void	 held_keep(int, const struct stat *);
static void	 held_trim(void);
static int	 audit_pass(int, const struct imsg_audit_pos *);

void
audit_init(void)
{
	ev_timer_init(&audit_timer, audit_timer_fired, NULL);
}

void
audit_check_program(void)
{
	agent_check_program(&audit);
}

static void
audit_timer_fired(void *arg)
{
	audit_start();
}

/*
 * The audit channel failed: start it again in ms (0: the backoff), within
 * the budget.
 */
static void
audit_failed(int64_t ms)
{
	int64_t	 now = now_ms();

	if (audit_down_since == 0)
		audit_down_since = now;
	if (now - audit_down_since > (int64_t)conf.reconnect_secs * 1000) {
		log_warnx("audit: no audit channel for %d s: audit records "
		    "are not sent until the next connection",
		    conf.reconnect_secs);
		return;
	}
	ev_timer_in(&audit_timer, ms > 0 ? ms : audit_backoff_ms);
}

/* A new connection: the audit channel starts over, with a new budget. */
void
audit_begin(void)
{
	audit_down_since = 0;
	audit_backoff_ms = AUDIT_BACKOFF_MIN_MS;
	audit_start();
}

void
audit_cancel(void)
{
	ev_timer_stop(&audit_timer);
}

/* Connect the audit port and start a child on it (the session runs). */
static void
audit_start(void)
{
	struct imsg_audit_pos	 pos;
	struct stat		 sb;
	char			 desc[160];
	int			 sock, fd, k;

	if (!agent_running() || audit.running || audit.pid)
		return;
	if ((sock = transport_connect(&conf.transport, PORT_AUDIT)) == -1) {
		log_debug("audit: connect %s: %s",
		    transport_describe(&conf.transport, PORT_AUDIT, desc,
		    sizeof(desc)), strerror(errno));
		audit_failed(0);
		if (audit_backoff_ms < AUDIT_BACKOFF_MAX_MS)
			audit_backoff_ms *= 2;
		return;
	}
	audit_backoff_ms = AUDIT_BACKOFF_MIN_MS;
	if (agent_child_start(&audit) == -1) {
		close(sock);
		audit_failed(0);
		return;
	}
	proc_compose(&audit, IMSG_AUDIT_SOCKET, sock, NULL, 0);
	if (audit_pos_valid && (k = held_find(audit_pos.dev,
	    audit_pos.ino)) != -1 && (stat(conf.auditlog, &sb) == -1 ||
	    (uint64_t)sb.st_dev != audit_pos.dev ||
	    (uint64_t)sb.st_ino != audit_pos.ino)) {
		/*
		 * Rotated (or removed) while no child ran: the rest of the
		 * file we were reading first, then what replaced it.
		 */
		log_info("audit: %s was rotated while we were away: sending "
		    "the rest of the old file first", conf.auditlog);
		pos = audit_pos;
		pos.from_end = 0;
		if ((fd = fcntl(held[k].fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
		    audit_pass(fd, &pos) == -1) {
			log_warn("audit: passing the old log");
			proc_compose(&audit, IMSG_AUDIT_NOLOG, -1, NULL, 0);
			return;
		}
		/*
		 * Then its successor: the one already held (passed to a
		 * child that did not get to it), else the file at the path.
		 */
		if (k == 0 && held[1].fd != -1) {
			memset(&pos, 0, sizeof(pos));
			pos.dev = held[1].dev;
			pos.ino = held[1].ino;
			if ((fd = fcntl(held[1].fd, F_DUPFD_CLOEXEC, 0)) != -1)
				(void)audit_pass(fd, &pos);
		} else
			audit_reopen();
		return;
	}
	if ((fd = open(conf.auditlog, O_RDONLY | O_CLOEXEC)) == -1) {
		log_debug("audit: %s: %s", conf.auditlog, strerror(errno));
		proc_compose(&audit, IMSG_AUDIT_NOLOG, -1, NULL, 0);
		return;
	}
	memset(&pos, 0, sizeof(pos));
	if (fstat(fd, &sb) == 0) {
		pos.dev = sb.st_dev;
		pos.ino = sb.st_ino;
	}
	if (!audit_pos_valid)
		pos.from_end = 1;	/* first start: tail from the end */
	else if (audit_pos.dev == pos.dev && audit_pos.ino == pos.ino) {
		pos.offset = audit_pos.offset;
		pos.last_sec = audit_pos.last_sec;
		pos.last_msec = audit_pos.last_msec;
		pos.last_serial = audit_pos.last_serial;
	} else
		/* Another file, and the old one is gone: its ids mean
		 * nothing here (last_* stay 0). */
		log_info("audit: %s was replaced while we were away: "
		    "reading the new file from its start",
		    conf.auditlog);
	/* audit_pos moves when the child reports a position in this file:
	 * until then a restart reads the old file's rest again. */
	(void)audit_pass(fd, &pos);
}

/*
 * Hand the child a log file (the fd is consumed) and hold a copy of it.
 * -1 when it could not be passed.
 */
static int
audit_pass(int fd, const struct imsg_audit_pos *pos)
{
	struct stat	 sb;
	int		 keep;

	if (fstat(fd, &sb) == 0 && held_find(sb.st_dev, sb.st_ino) == -1 &&
	    (keep = fcntl(fd, F_DUPFD_CLOEXEC, 0)) != -1)
		held_keep(keep, &sb);
	if (proc_compose(&audit, IMSG_AUDIT_LOG, fd, pos, sizeof(*pos)) ==
	    -1)
		return (-1);
	return (0);
}

static int
held_find(uint64_t dev, uint64_t ino)
{
	int	 k;

	for (k = 0; k < AUDIT_HELD; k++)
		if (held[k].fd != -1 && held[k].dev == dev &&
		    held[k].ino == ino)
			return (k);
	return (-1);
}

/*
 * A new file to hold; the oldest goes when both places are taken (only
 * before the child reported any position: audit_reopen never asks then).
 */
static void
held_keep(int fd, const struct stat *sb)
{
	held_trim();
	if (held[0].fd != -1 && held[1].fd != -1) {
		close(held[0].fd);
		held[0] = held[1];
		held[1].fd = -1;
	}
	held[held[0].fd == -1 ? 0 : 1].fd = fd;
	held[held[0].fd == fd ? 0 : 1].dev = sb->st_dev;
	held[held[0].fd == fd ? 0 : 1].ino = sb->st_ino;
}

/*
 * Let go of what the child has finished: every held file before the one
 * at audit_pos (the child reads them in order).
 */
static void
held_trim(void)
{
	int	 k;

	if (!audit_pos_valid || (k = held_find(audit_pos.dev,
	    audit_pos.ino)) <= 0)
		return;
	close(held[0].fd);
	held[0] = held[1];
	held[1].fd = -1;
}

/* Input from agent-audit: typed, but from an untrusted process. */
static void
audit_imsg(struct proc *p, struct imsg *imsg)
{
	char	 detail[128];

	if (imsg_get_type(imsg) == IMSG_CHILD_READY)
		audit_down_since = 0;
	if (agent_common_imsg(p, imsg))
		return;
	switch (imsg_get_type(imsg)) {
	case IMSG_CHILD_DONE:
		if (agent_child_done(p, imsg, detail, sizeof(detail)) == -1)
			return;
		proc_close(p);
		if (agent_running())
			audit_failed(0);
		break;
	case IMSG_AUDIT_POS:
		audit_position(p, imsg);
		break;
	case IMSG_AUDIT_REOPEN:
		audit_reopen();
		break;
	default:
		proc_malformed(p, imsg, "unexpected type");
		break;
	}
}

static void
audit_position(struct proc *p, struct imsg *imsg)
{
	struct imsg_audit_pos	 pos;

	if (proc_imsg_exact(p, imsg, &pos, sizeof(pos)) == -1)
		return;
	audit_pos = pos;
	audit_pos_valid = 1;
	held_trim();
}

/*
 * Rotated?  Only a new file (dev/ino) is passed down, from its start; the
 * child finishes the one it reads first.  audit_pos stays at the old file
 * until the child reports a position in the new one.
 */
static void
audit_reopen(void)
{
	struct imsg_audit_pos	 pos;
	struct stat		 sb;
	int			 fd;

	if (stat(conf.auditlog, &sb) == -1)
		return;
	if (held_find(sb.st_dev, sb.st_ino) != -1 || (audit_pos_valid &&
	    (uint64_t)sb.st_dev == audit_pos.dev &&
	    (uint64_t)sb.st_ino == audit_pos.ino))
		return;
	/*
	 * Two files held and the child not past the first: a third would
	 * push out one whose rest is unsent (the child queues one only).
	 * It asks again when it has moved on.
	 */
	held_trim();
	if (held[0].fd != -1 && held[1].fd != -1)
		return;
	if ((fd = open(conf.auditlog, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return;
	}
	/* A new file: offset 0, and no ids, which belong to the old one. */
	memset(&pos, 0, sizeof(pos));
	pos.dev = sb.st_dev;
	pos.ino = sb.st_ino;
	log_info("audit: following %s to its new file", conf.auditlog);
	(void)audit_pass(fd, &pos);
}

/* SIGCHLD: 1 if pid was the audit child (then handled here). */
int
audit_reaped(pid_t pid, int status)
{
	if (pid == 0 || pid != audit.pid)
		return (0);
	if (agent_child_reaped(&audit, pid, status))
		audit_failed(agent_deaths_exceeded() ? AUDIT_BACKOFF_MAX_MS :
		    0);
	return (1);
}

/*
 * Stop the audit child in order: it reports its last read position before
 * it exits, so the next one neither resends nor skips a record.  Bounded;
 * then it is reaped like the others.
 */
void
audit_stop(void)
{
	struct pollfd	 pfd;
	struct imsg	 imsg;
	int64_t		 deadline = now_ms() + AUDIT_STOP_MS;
	ssize_t		 n;

	audit_cancel();
	if (audit.running && proc_compose(&audit, IMSG_CHILD_STOP, -1, NULL,
	    0) == 0 && imsgbuf_flush(&audit.ibuf) == 0) {
		while (!audit.done && now_ms() < deadline) {
			pfd.fd = audit.ibuf.fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
				break;
			if ((n = imsgbuf_read(&audit.ibuf)) == 0 ||
			    (n == -1 && errno != EAGAIN))
				break;
			while ((n = imsg_get(&audit.ibuf, &imsg)) > 0) {
				if (imsg_get_type(&imsg) == IMSG_AUDIT_POS)
					audit_position(&audit, &imsg);
				else if (imsg_get_type(&imsg) ==
				    IMSG_CHILD_DONE)
					audit.done = 1;
				imsg_free(&imsg);
			}
			if (n == -1)
				break;
		}
	}
	agent_child_stop(&audit);
}
