/*
 * The screen child, capsem-hostd-screen: it keeps a model of the session's
 * screen from a copy of the terminal output, so that a client attaching
 * late is drawn the screen as it is, never a replay of bytes.  It parses
 * what the guest prints, so it runs sandboxed; what it sends back is typed
 * and checked here, and goes only to the client that asked for it.
 *
 * Off the relay's path: the relay hands output over and never waits.  At
 * most one output imsg is queued on the channel at a time; the rest waits
 * here (at most SCREEN_QUEUE_MAX bytes).  A child further behind than that
 * loses the queue and is told to start over (IMSG_SCREEN_RESET); one that
 * dies is restarted, a bounded number of times, from a blank screen.  In
 * both cases the next attach gets a note that the screen is incomplete.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "capsem_imsg.h"
#include "hostd.h"
#include "log.h"
#include "sandbox.h"

#define SCREEN_QUEUE_MAX	(1024 * 1024)
#define SCREEN_RESTARTS_MAX	5
#define SCREEN_RESTART_MS	200
#define SCREEN_STUCK_MAX	(1024 * 1024)	/* queued on the channel */

static struct proc	 sp;
static int		 sp_reaped = 1;	/* no child, or it was reaped */
static int		 sp_waitst;
static int		 sp_reported;
static int		 restarts;
static struct ev_timer	 restart_timer;
static uint8_t		*q;		/* output not yet on the channel */
static size_t		 qoff, qlen;
static uint64_t		 total;		/* output bytes of the session */
static uint16_t		 cur_cols = 80, cur_rows = 24;
static int		 lost;		/* the model missed output */
static uint64_t		 resets;

static void	 screen_start(void);
static void	 screen_prepare(void *);
static void	 screen_push(void);
static void	 screen_imsg(struct proc *, struct imsg *);
static void	 screen_data(struct imsg *);
static void	 screen_gone(struct proc *);
static void	 screen_report(void);
static void	 screen_restart(void *);

static void
screen_alloc(void)
{
	if (q == NULL && (q = malloc(SCREEN_QUEUE_MAX)) == NULL)
		fatal("malloc");
}

void
screen_init(void)
{
	screen_alloc();
	ev_timer_init(&restart_timer, screen_restart, NULL);
	ev_prepare(screen_prepare, NULL);
	screen_start();
}

static void
screen_start(void)
{
	struct imsg_screen_resize	 rs;
	char				 path[PATH_MAX];
	uint64_t			 off;
	int				 e;

	memset(&sp, 0, sizeof(sp));
	sp.role = "screen";
	sp.prog = "capsem-hostd-screen";
	sp.dispatch = screen_imsg;
	sp.gone = screen_gone;
	if (proc_start(&sp, conf.debug, conf.verbose) == -1) {
		e = errno;
		(void)proc_program(sp.prog, path, sizeof(path));
		log_warnx("cannot start %s: %s: attach draws a cleared "
		    "screen", path, strerror(e));
		return;
	}
	sp_reaped = 0;
	sp_reported = 0;
	/* The model starts at the first byte still queued (seeded output). */
	off = total - qlen;
	(void)proc_compose(&sp, IMSG_SCREEN_RESET, -1, &off, sizeof(off));
	memset(&rs, 0, sizeof(rs));
	rs.offset = off;
	rs.cols = cur_cols;
	rs.rows = cur_rows;
	(void)proc_compose(&sp, IMSG_SCREEN_RESIZE, -1, &rs, sizeof(rs));
}

/* Before every poll: the next output chunk once the last one went out. */
static void
screen_prepare(void *arg)
{
	screen_push();
}

/* At most one output imsg on the channel; pushed out without waiting. */
static void
screen_push(void)
{
	size_t	 n;

	while (sp.running && qlen > 0 && imsgbuf_queuelen(&sp.ibuf) == 0) {
		n = qlen > SCREEN_CHUNK ? SCREEN_CHUNK : qlen;
		if (proc_compose(&sp, IMSG_SCREEN_OUTPUT, -1, q + qoff, n) ==
		    -1)
			return;
		qoff += n;
		qlen -= n;
		if (qlen == 0)
			qoff = 0;
		if (proc_flush(&sp) == -1)
			return;		/* proc.c sees the error next */
	}
}

/*
 * A copy of the terminal output.  Never blocks: too far behind, the queue
 * is dropped and the model starts over at the next byte.
 */
void
screen_output(const void *data, size_t len)
{
	total += len;
	if (!sp.running)
		return;
	if (qlen + len > SCREEN_QUEUE_MAX) {
		qoff = qlen = 0;
		lost = 1;
		if (resets++ == 0 || resets % 100 == 0)
			log_info("screen child behind by more than %d MiB: "
			    "its model starts over (%llu times)",
			    SCREEN_QUEUE_MAX / (1024 * 1024),
			    (unsigned long long)resets);
		if (imsgbuf_queuebytes(&sp.ibuf) > SCREEN_STUCK_MAX) {
			screen_stuck("does not read its channel");
			return;
		}
		(void)proc_compose(&sp, IMSG_SCREEN_RESET, -1, &total,
		    sizeof(total));
		return;
	}
	/* Nothing waiting: straight onto the channel, one copy less. */
	if (qlen == 0 && len <= SCREEN_CHUNK &&
	    imsgbuf_queuelen(&sp.ibuf) == 0) {
		if (proc_compose(&sp, IMSG_SCREEN_OUTPUT, -1, data, len) == 0)
			(void)proc_flush(&sp);
		return;
	}
	if (qoff + qlen + len > SCREEN_QUEUE_MAX) {
		memmove(q, q + qoff, qlen);
		qoff = 0;
	}
	memcpy(q + qoff + qlen, data, len);
	qlen += len;
	screen_push();
}

/*
 * Output recorded before this hostd started (pty.log of the session it
 * takes over), for the model to read first: the last SCREEN_QUEUE_MAX
 * bytes of it.
 */
void
screen_seed(const void *data, size_t len)
{
	const uint8_t	*p = data;

	screen_alloc();
	total += len;
	if (len >= SCREEN_QUEUE_MAX) {
		p += len - SCREEN_QUEUE_MAX;
		len = SCREEN_QUEUE_MAX;
		qoff = qlen = 0;
		lost = 1;
	} else if (qlen + len > SCREEN_QUEUE_MAX) {
		qoff += qlen + len - SCREEN_QUEUE_MAX;
		qlen -= qlen + len - SCREEN_QUEUE_MAX;
		lost = 1;
	}
	if (qoff + qlen + len > SCREEN_QUEUE_MAX) {
		memmove(q, q + qoff, qlen);
		qoff = 0;
	}
	memcpy(q + qoff + qlen, p, len);
	qlen += len;
}

/* The session's window size, from now on in the output stream. */
void
screen_resize(uint16_t cols, uint16_t rows)
{
	struct imsg_screen_resize	 rs;

	cur_cols = cols;
	cur_rows = rows;
	if (!sp.running)
		return;
	memset(&rs, 0, sizeof(rs));
	rs.offset = total;
	rs.cols = cols;
	rs.rows = rows;
	(void)proc_compose(&sp, IMSG_SCREEN_RESIZE, -1, &rs, sizeof(rs));
}

/*
 * Ask for the screen as the output so far left it, for client id.  -1:
 * no model to ask.  *partial: it missed output since the last ask.
 */
int
screen_snapshot(uint32_t id, int *partial)
{
	struct imsg_screen_snapshot	 sn;

	*partial = lost;
	/* One not ready yet reads its channel once it is: it is asked too. */
	if (!sp.running)
		return (-1);
	memset(&sn, 0, sizeof(sn));
	sn.offset = total;
	sn.id = id;
	if (proc_compose(&sp, IMSG_SCREEN_SNAPSHOT, -1, &sn, sizeof(sn)) ==
	    -1)
		return (-1);
	lost = 0;
	return (0);
}

/*
 * The child stopped reading (a parser that loops on hostile input): it is
 * killed, and restarted like one that died.
 */
void
screen_stuck(const char *why)
{
	if (!sp.running)
		return;
	log_warnx("screen child (pid %d) %s: killed", (int)sp.pid, why);
	sp_reported = 1;
	proc_malformed(&sp, NULL, "stuck");
}

/*
 * A snapshot request not answered in time: with output still queued here
 * the child is busy catching up (it runs at the lowest priority); with
 * none, it sits on its last input and is stuck.
 */
void
screen_late(void)
{
	if (qlen == 0)
		screen_stuck("did not answer a snapshot request in time");
}

/* Input from the screen child: typed, but it read the guest's output. */
static void
screen_imsg(struct proc *p, struct imsg *imsg)
{
	uint32_t	 id;

	switch (imsg_get_type(imsg)) {
	case IMSG_CHILD_READY:
		proc_selftest(p, conf.debug);
		break;
	case IMSG_CHILD_SECCOMP:
		proc_seccomp_report(p, imsg);
		sp_reported = 1;
		break;
	case IMSG_CHILD_DONE:
		sp_reported = 1;
		break;
	case IMSG_SCREEN_SNAPDATA:
		screen_data(imsg);
		break;
	case IMSG_SCREEN_SNAPDONE:
		if (proc_imsg_exact(p, imsg, &id, sizeof(id)) == -1)
			return;
		client_snapshot_done(id);
		break;
	default:
		proc_malformed(p, imsg, "unexpected from the screen child");
		break;
	}
}

static void
screen_data(struct imsg *imsg)
{
	uint8_t		*buf;
	size_t		 len = imsg_get_len(imsg);
	uint32_t	 id;

	if (len <= sizeof(id) || len > sizeof(id) + SCREEN_CHUNK) {
		proc_malformed(&sp, imsg, "snapshot data of a bad length");
		return;
	}
	if ((buf = malloc(len)) == NULL)
		fatal("malloc");
	(void)imsg_get_data(imsg, buf, len);
	memcpy(&id, buf, sizeof(id));
	client_snapshot_data(id, buf + sizeof(id), len - sizeof(id));
	free(buf);
}

/* The channel is gone: the clients waiting get a cleared screen. */
static void
screen_gone(struct proc *p)
{
	qoff = qlen = 0;
	lost = 1;
	clients_snapshot_failed("the screen model is gone");
	screen_report();
	if (sess.state >= HS_ENDING)
		return;
	if (restarts < SCREEN_RESTARTS_MAX) {
		restarts++;
		ev_timer_in(&restart_timer, SCREEN_RESTART_MS);
	} else
		log_warnx("screen child not restarted again (%d restarts): "
		    "attach draws a cleared screen", SCREEN_RESTARTS_MAX);
}

static void
screen_restart(void *arg)
{
	if (sp.running || sess.state >= HS_ENDING)
		return;
	if (!sp_reaped) {
		/* Its pid is still ours to reap and report. */
		ev_timer_in(&restart_timer, SCREEN_RESTART_MS);
		return;
	}
	log_info("screen child restarted (%d of %d): its model starts from "
	    "a blank screen", restarts, SCREEN_RESTARTS_MAX);
	screen_start();
}

/* From children_sigchld: 1 if pid was the screen child. */
int
screen_reaped(pid_t pid, int status)
{
	if (sp_reaped || pid != sp.pid)
		return (0);
	sp_reaped = 1;
	sp_waitst = status;
	screen_report();
	return (1);
}

/* Once exited and closed: one line unless it ended the way children do. */
static void
screen_report(void)
{
	char	 why[96];

	if (!sp_reaped || sp.running)
		return;
	if (sp_reported && WIFEXITED(sp_waitst) && WEXITSTATUS(sp_waitst) == 0)
		return;
	log_warnx("%s child (pid %d) %s%s; the session goes on", sp.role,
	    (int)sp.pid, sandbox_describe_exit(sp_waitst, why, sizeof(why)),
	    sp_reported ? "" : " without saying why");
	sp_reported = 1;
}

/* The session is over: close the channel, reap the child (bounded). */
void
screen_stop(void)
{
	ev_timer_stop(&restart_timer);
	if (sp.running)
		proc_close(&sp);
	if (!sp_reaped && sp.pid > 0 &&
	    proc_reap(sp.pid, 1000, &sp_waitst) == 0)
		sp_reaped = 1;
}

/* Still running: a channel open or not reaped. */
int
screen_running(void)
{
	return (sp.running || !sp_reaped);
}
