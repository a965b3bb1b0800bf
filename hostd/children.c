/*
 * The decoder children: every framed connection from the guest is handed
 * to a sandboxed child that decodes it, so this process never parses what
 * the guest sends.  Control (5000) goes to capsem-hostd-control; exec,
 * audit and lifecycle (5005, 5006, 5004) to capsem-hostd-stream, one child
 * per connection.  What comes back over imsg is typed, and checked for its
 * exact size before use (proc.c); a malformed imsg stops that child.
 *
 * A child is freed once it has both exited (reaped) and closed its
 * channel, in either order; one that ended without saying why is reported
 * with how it died.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "hostd.h"
#include "log.h"
#include "sandbox.h"

#define CHILDREN_MAX		64
#define STOP_MS			1000
#define EARLY_DEATHS_MAX	3	/* in a row before READY: give up */

static TAILQ_HEAD(, hchild) children = TAILQ_HEAD_INITIALIZER(children);
static size_t		 nchildren;
static int		 early_deaths[2];	/* [0] control, [1] stream */

static void	 children_prepare(void *);
static void	 child_imsg(struct proc *, struct imsg *);
static void	 child_done(struct hchild *, struct imsg *);
static void	 child_gone(struct proc *);
static void	 child_report(struct hchild *);
static void	 child_free(struct hchild *);
static void	 stream_imsg(struct hchild *, struct imsg *);
static void	 children_new_auditlog(void);

void
children_init(void)
{
	ev_prepare(children_prepare, NULL);
}

/* Before every poll: free what is over; a slow exec client holds back. */
static void
children_prepare(void *arg)
{
	struct hchild	*c, *t;

	TAILQ_FOREACH_SAFE(c, &children, entry, t) {
		if (!c->p.running) {
			if (c->reaped)
				child_free(c);
			continue;
		}
		if (c->port == PORT_EXEC && c->has_exec)
			proc_pause(&c->p, exec_client_blocked(c->exec_id));
	}
}

/* Children still running: a channel open or not reaped yet. */
size_t
children_running(void)
{
	struct hchild	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &children, entry)
		if (c->p.running || !c->reaped)
			n++;
	return (n);
}

/* A decoder child for one framed connection; it owns fd from now on. */
struct hchild *
child_start(int fd, uint32_t port)
{
	struct hchild	*c;
	char		 path[PATH_MAX];
	int		 afd, e;

	if (nchildren >= CHILDREN_MAX) {
		log_warnx("port %u: connection refused: %d connections "
		    "already being decoded", port, CHILDREN_MAX);
		close(fd);
		return (NULL);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	c->port = port;
	c->copy_fd = -1;
	c->p.arg = c;
	c->p.dispatch = child_imsg;
	c->p.gone = child_gone;
	if (port == PORT_CONTROL) {
		c->p.role = "control";
		c->p.prog = "capsem-hostd-control";
	} else {
		c->p.role = port == PORT_EXEC ? "exec" : port == PORT_AUDIT ?
		    "audit" : port == PORT_COPY ? "copy" : "lifecycle";
		c->p.prog = "capsem-hostd-stream";
	}
	if (proc_start(&c->p, conf.debug, conf.verbose) == -1) {
		e = errno;
		close(fd);
		/* A program that cannot be run is not retried. */
		if (proc_permanent(e)) {
			(void)proc_program(c->p.prog, path, sizeof(path));
			hostd_fault("cannot run %s: %s", path, strerror(e));
		} else
			log_warnx("port %u: cannot start %s: %s", port,
			    c->p.prog, strerror(e));
		free(c);
		return (NULL);
	}
	TAILQ_INSERT_TAIL(&children, c, entry);
	nchildren++;
	if (port == PORT_AUDIT) {
		if ((afd = fcntl(session_auditfd(), F_DUPFD_CLOEXEC, 0)) == -1)
			log_warn("audit.jsonl: dup");
		else
			(void)proc_compose(&c->p, IMSG_HOST_AUDITLOG, afd,
			    NULL, 0);
	}
	(void)proc_compose(&c->p, IMSG_HOST_SOCKET, fd, &port, sizeof(port));
	return (c);
}

/*
 * Close a child's channel on purpose: it exits, and the guest connection
 * it owns closes with it (an exec connection closed so ends its command).
 */
void
child_stop(struct hchild *c)
{
	if (!c->p.running)
		return;
	c->stopped = 1;
	c->reported = 1;
	proc_close(&c->p);
	child_gone(&c->p);
}

/* Input from a decoder child: typed, but the child read the guest. */
static void
child_imsg(struct proc *p, struct imsg *imsg)
{
	struct hchild	*c = p->arg;

	switch (imsg_get_type(imsg)) {
	case IMSG_CHILD_READY:
		early_deaths[c->port != PORT_CONTROL] = 0;
		proc_selftest(p, conf.debug);
		return;
	case IMSG_CHILD_SECCOMP:
		proc_seccomp_report(p, imsg);
		c->reported = 1;
		return;
	case IMSG_CHILD_DONE:
		child_done(c, imsg);
		return;
	}
	if (c->port == PORT_CONTROL)
		guest_ctl_imsg(c, imsg);
	else
		stream_imsg(c, imsg);
}

static void
child_done(struct hchild *c, struct imsg *imsg)
{
	struct imsg_child_done	 d;

	if (proc_imsg_exact(&c->p, imsg, &d, sizeof(d)) == -1)
		return;
	d.detail[sizeof(d.detail) - 1] = '\0';
	c->reported = 1;
	strlcpy(c->why, d.detail, sizeof(c->why));
	if (d.reason == CHILD_PROTO || d.reason == CHILD_IOERR)
		log_warnx("%s connection ended: %s", c->p.role, d.detail);
	else
		log_debug("%s connection ended: %s", c->p.role, d.detail);
}

/* Exec, audit and lifecycle streams. */
static void
stream_imsg(struct hchild *c, struct imsg *imsg)
{
	struct imsg_copy ic;
	uint64_t	 id, n;
	uint32_t	 win;
	int32_t		 what;
	uint8_t		*buf;
	size_t		 len;

	switch (imsg_get_type(imsg)) {
	case IMSG_HOST_COPYSTARTED:
		if (c->port != PORT_COPY ||
		    proc_imsg_exact(&c->p, imsg, &ic, sizeof(ic)) == -1)
			break;
		copy_stream_started(c, &ic);
		return;
	case IMSG_HOST_EXECSTARTED:
		if (c->port != PORT_EXEC || c->has_exec)
			break;
		if (proc_imsg_exact(&c->p, imsg, &id, sizeof(id)) == -1)
			return;
		exec_stream_started(c, id);
		return;
	case IMSG_HOST_EXECOUTPUT:
	case IMSG_HOST_EXECSTDERR:
		len = imsg_get_len(imsg);
		if (c->port != PORT_EXEC || !c->has_exec || len == 0 ||
		    len > ATTACH_CHUNK)
			break;
		if ((buf = malloc(len)) == NULL)
			fatal("malloc");
		(void)imsg_get_data(imsg, buf, len);
		if (imsg_get_type(imsg) == IMSG_HOST_EXECOUTPUT)
			exec_stream_output(c, buf, len);
		else
			exec_stream_stderr(c, buf, len);
		free(buf);
		return;
	case IMSG_HOST_EXECINWINDOW:
		if (c->port != PORT_EXEC || !c->has_exec ||
		    proc_imsg_exact(&c->p, imsg, &win, sizeof(win)) == -1)
			break;
		exec_stream_inwindow(c, win);
		return;
	case IMSG_HOST_AUDITED:
		if (c->port != PORT_AUDIT ||
		    proc_imsg_exact(&c->p, imsg, &n, sizeof(n)) == -1)
			break;
		log_debug("audit: %llu records written",
		    (unsigned long long)n);
		if (session_audit_rotate())
			children_new_auditlog();
		return;
	case IMSG_HOST_LIFECYCLE:
		if (c->port != PORT_LIFECYCLE ||
		    proc_imsg_exact(&c->p, imsg, &what, sizeof(what)) == -1)
			break;
		if (what == MSG_SUSPENDREQUEST)
			log_info("guest asked to be suspended (nothing to do "
			    "without a VMM)");
		else if (what == MSG_SHUTDOWNREQUEST && !sess.exited) {
			/* An agent that did not see our caps: its shell is gone. */
			log_info("guest asked to end the session "
			    "(shutdownrequest)");
			guest_exited(0, 0);
		}
		return;
	}
	if (c->p.running)
		proc_malformed(&c->p, imsg, "unexpected for this stream");
}

/* The child's channel is gone: it exited or is about to. */
static void
child_gone(struct proc *p)
{
	struct hchild	*c = p->arg;

	if (c->port == PORT_EXEC && c->has_exec)
		exec_stream_done(c);
	if (c->port == PORT_CONTROL)
		guest_ctl_gone(c);
	child_report(c);
}

static void
child_free(struct hchild *c)
{
	TAILQ_REMOVE(&children, c, entry);
	nchildren--;
	if (c->copy_fd != -1)
		close(c->copy_fd);
	free(c);
}

/* Reap what exited; report a child that died without saying why. */
void
children_sigchld(void)
{
	struct hchild	*c;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(c, &children, entry)
			if (c->p.pid == pid && !c->reaped)
				break;
		if (c == NULL) {
			if (!screen_reaped(pid, status))
				log_debug("reaped pid %d", (int)pid);
			continue;
		}
		c->reaped = 1;
		c->waitst = status;
		child_report(c);
	}
}

/*
 * Once a child has both exited and closed its socket (in either order),
 * say so if it did not end the way children end: a report, then exit 0.
 */
static void
child_report(struct hchild *c)
{
	char	 why[96];

	if (!c->reaped || c->p.running)
		return;
	if (c->reported && WIFEXITED(c->waitst) && WEXITSTATUS(c->waitst) == 0)
		return;
	log_warnx("%s child (pid %d) %s%s", c->p.role, (int)c->p.pid,
	    sandbox_describe_exit(c->waitst, why, sizeof(why)),
	    c->reported ? "" : " without saying why");
	/* One that never gets as far as READY, again and again, never will. */
	if (!c->p.ready && !c->stopped &&
	    ++early_deaths[c->port != PORT_CONTROL] >= EARLY_DEATHS_MAX)
		hostd_fault("%s died %d times in a row before it was ready "
		    "(last: %s)", c->p.prog, EARLY_DEATHS_MAX, why);
}

/* audit.jsonl was rotated: every audit child writes to the new file. */
static void
children_new_auditlog(void)
{
	struct hchild	*c;
	int		 fd;

	TAILQ_FOREACH(c, &children, entry) {
		if (c->port != PORT_AUDIT || !c->p.running)
			continue;
		if ((fd = fcntl(session_auditfd(), F_DUPFD_CLOEXEC, 0)) == -1) {
			log_warn("audit.jsonl: dup");
			return;
		}
		(void)proc_compose(&c->p, IMSG_HOST_AUDITLOG, fd, NULL, 0);
	}
}

/* The session is over: close every channel, reap every child (bounded). */
void
children_stop_all(void)
{
	struct hchild	*c;

	TAILQ_FOREACH(c, &children, entry)
		if (c->p.running)
			proc_close(&c->p);
	TAILQ_FOREACH(c, &children, entry)
		if (!c->reaped && c->p.pid > 0 &&
		    proc_reap(c->p.pid, STOP_MS, &c->waitst) == 0)
			c->reaped = 1;
	while ((c = TAILQ_FIRST(&children)) != NULL)
		child_free(c);
	screen_stop();
}
