/*
 * Everything that faces the guest.  The guest is the untrusted party here:
 * this process never parses what it sends.  The terminal stream (5001) is
 * raw bytes and stays here; every framed connection goes to a sandboxed
 * child that decodes it: control (5000) to capsem-hostd-control, exec,
 * audit and lifecycle (5005, 5006, 5004) to capsem-hostd-stream, one child
 * per connection.  What comes back over imsg is typed and checked for
 * exact sizes before use.
 *
 * Pairing: the guest connects the terminal, then control, on boot and on
 * every reconnect.  A terminal that arrives while none is active is used
 * at once; one that arrives while an old one is still open waits until its
 * control connection says `ready`, then replaces the old one.  The newest
 * control child to say `ready` is the current one; an older one is closed.
 *
 * Host messages are encoded here (encoding is not parsing) and written by
 * the control child.  exec requests are ackable: kept until acked and
 * replayed, in id order, after every boot.  exec ids are microsecond
 * timestamps, so a restarted hostd never reuses an id the agent remembers.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "frame.h"
#include "hostd.h"
#include "imsg.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"
#include "wire.h"

#define NPORTS			5
#define CHILDREN_MAX		64
#define EXECS_MAX		64
#define TERM_OUT_MAX		(1024 * 1024)
#define TERM_READ		65536
#define DRAIN_MS		2000
#define EXEC_TAIL_MS		2000
#define STREAM_HIGH		(1024 * 1024)

struct hchild {
	TAILQ_ENTRY(hchild)	 entry;
	struct proc		 p;
	uint32_t		 port;
	int			 reaped;
	int			 waitst;
	int			 reported;	/* CHILD_DONE seen */
	char			 why[128];
	uint64_t		 exec_id;	/* exec: from execstarted */
	int			 has_exec;
};

struct hexec {
	TAILQ_ENTRY(hexec)	 entry;
	uint64_t		 id;
	uint32_t		 client;	/* 0: the client left */
	struct wbuf		 frame;
	int			 acked;
	int			 started;	/* a stream child has it */
	int			 stream_done;
	int			 done;		/* execdone received */
	int			 code;
	int64_t			 deadline;	/* output tail after execdone */
};

static const uint32_t	 ports[NPORTS] = {
	PORT_CONTROL, PORT_TERMINAL, PORT_LIFECYCLE, PORT_EXEC, PORT_AUDIT
};
static int		 lfds[NPORTS] = { -1, -1, -1, -1, -1 };

static TAILQ_HEAD(, hchild) children = TAILQ_HEAD_INITIALIZER(children);
static size_t		 nchildren;
static struct hchild	*ctl;		/* the current control child */
static int		 booted;	/* bootready on ctl */

static int		 term_fd = -1;
static int		 term_pending = -1;
static int		 term_shut;	/* term_fd shut for writing */
static uint8_t		*term_out;	/* client input for the guest */
static size_t		 term_out_len;

static TAILQ_HEAD(, hexec) execs = TAILQ_HEAD_INITIALIZER(execs);
static size_t		 nexecs;
static uint64_t		 next_exec_id;

static uint16_t		 win_cols, win_rows;
static int		 shutdown_wanted;
static int64_t		 next_ping;
static int		 awaiting_pong;
static int		 missed;
static int64_t		 drain_deadline;

static void	 listener_event(short, void *);
static void	 term_event(short, void *);
static void	 term_close(const char *);
static void	 term_flush_old(void);
static void	 child_start(int, uint32_t);
static void	 child_event(short, void *);
static void	 child_dispatch(struct hchild *, struct imsg *);
static void	 ctl_dispatch(struct hchild *, struct imsg *);
static void	 stream_dispatch(struct hchild *, struct imsg *);
static void	 child_gone(struct hchild *);
static void	 child_free(struct hchild *);
static void	 child_report(struct hchild *);
static void	 guest_ready(struct hchild *, const char *);
static void	 guest_booted(void);
static void	 guest_lost(const char *);
static void	 drain_done(const char *);
static int	 send_msg(const struct msg *);
static struct hexec *exec_find(uint64_t);
static void	 exec_finish(struct hexec *);
static int	 imsg_exact(struct imsg *, void *, size_t);
static char	*imsg_string(struct imsg *, size_t);

void
guest_init(void)
{
	char	 desc[160];
	int	 i;

	for (i = 0; i < NPORTS; i++) {
		if ((lfds[i] = transport_listen(&conf.transport, ports[i])) ==
		    -1)
			fatal("listen on %s", transport_describe(
			    &conf.transport, ports[i], desc, sizeof(desc)));
	}
	log_info("listening on %s (and the other ports)",
	    transport_describe(&conf.transport, PORT_CONTROL, desc,
	    sizeof(desc)));
	if ((term_out = malloc(TERM_OUT_MAX)) == NULL)
		fatal("malloc");
	next_exec_id = (uint64_t)now_us_real();
}

void
guest_close_listeners(void)
{
	char	 path[TRANSPORT_PATH_MAX + 32];
	int	 i;

	for (i = 0; i < NPORTS; i++) {
		if (lfds[i] == -1)
			continue;
		close(lfds[i]);
		lfds[i] = -1;
		/* A unix socket file left behind would look like a session. */
		if (conf.transport.kind == TRANSPORT_UNIX) {
			snprintf(path, sizeof(path), "%s/%u.sock",
			    conf.transport.path, ports[i] +
			    conf.transport.offset);
			(void)unlink(path);
		} else if (conf.transport.kind == TRANSPORT_HYBRID) {
			snprintf(path, sizeof(path), "%s_%u",
			    conf.transport.path, ports[i] +
			    conf.transport.offset);
			(void)unlink(path);
		}
	}
}

void
guest_poll(void)
{
	struct hchild	*c, *t;
	short		 ev;
	int		 i;

	for (i = 0; i < NPORTS; i++)
		if (lfds[i] != -1)
			poll_add(lfds[i], POLLIN, listener_event,
			    (void *)(uintptr_t)i);
	if (term_fd != -1) {
		ev = 0;
		if (st.state == HS_DRAINING || !clients_blocked())
			ev |= POLLIN;
		if (term_out_len > 0 && !term_shut)
			ev |= POLLOUT;
		poll_add(term_fd, ev, term_event, NULL);
	}
	TAILQ_FOREACH_SAFE(c, &children, entry, t) {
		if (!c->p.running) {
			if (c->reaped)
				child_free(c);
			continue;
		}
		ev = POLLIN;
		/* A slow exec client holds back its stream child. */
		if (c->port == PORT_EXEC && c->has_exec) {
			struct hexec *x = exec_find(c->exec_id);

			if (x != NULL && x->client != 0 &&
			    client_exec_blocked(x->client))
				ev = 0;
		}
		if (imsgbuf_queuelen(&c->p.ibuf) > 0)
			ev |= POLLOUT;
		poll_add(c->p.ibuf.fd, ev, child_event, c);
	}
}

int64_t
guest_timers(int64_t now)
{
	struct hexec	*x, *t;
	struct msg	 m;
	int64_t		 next = INT64_MAX;

	if (st.state == HS_DRAINING) {
		if (now >= drain_deadline) {
			drain_done("the terminal did not end in time");
			return (now);
		}
		next = drain_deadline;
	}
	if (ctl != NULL && booted && !st.exited) {
		if (now >= next_ping) {
			if (awaiting_pong && ++missed >= conf.max_missed) {
				log_warnx("guest missed %d pings in a row: "
				    "declared dead, dropping its connections",
				    missed);
				guest_lost("guest not answering");
				return (now);
			}
			memset(&m, 0, sizeof(m));
			m.type = MSG_PING;
			m.u.ping.epoch_secs = conf.no_clock ? 0 :
			    (uint64_t)time(NULL);
			(void)send_msg(&m);
			awaiting_pong = 1;
			next_ping = now + (int64_t)conf.ping_secs * 1000;
		}
		if (next_ping < next)
			next = next_ping;
	}
	TAILQ_FOREACH_SAFE(x, &execs, entry, t) {
		if (x->deadline == 0)
			continue;
		if (now >= x->deadline) {
			log_warnx("exec %llu: no end of output %d ms after "
			    "execdone", (unsigned long long)x->id,
			    EXEC_TAIL_MS);
			exec_finish(x);
		} else if (x->deadline < next)
			next = x->deadline;
	}
	return (next);
}

static void
listener_event(short revents, void *arg)
{
	int		 i = (int)(uintptr_t)arg, fd;
	uint32_t	 port = ports[i];

	if ((fd = accept4(lfds[i], NULL, NULL, SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("accept on port %u", port);
		return;
	}
	if (st.exited) {
		log_info("port %u: connection refused, the shell has exited",
		    port);
		close(fd);
		return;
	}
	if (port == PORT_TERMINAL) {
		if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
			fatal("fcntl");
		if (term_fd == -1) {
			term_fd = fd;
			log_debug("terminal connected");
		} else {
			if (term_pending != -1) {
				log_info("terminal connection replaced by a "
				    "newer one before it was paired");
				close(term_pending);
			}
			term_pending = fd;
		}
		return;
	}
	if (nchildren >= CHILDREN_MAX) {
		log_warnx("port %u: connection refused: %d connections "
		    "already being decoded", port, CHILDREN_MAX);
		close(fd);
		return;
	}
	child_start(fd, port);
}

/* The terminal: raw bytes, never parsed, never mixed with frames. */
static void
term_event(short revents, void *arg)
{
	static uint8_t	 buf[TERM_READ];
	ssize_t		 n;

	if (term_fd == -1)
		return;
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
	ptylog_write(0, buf, n);
	clients_output(buf, n);
}

/*
 * A terminal connection being replaced: whatever the guest had sent on it
 * is already in the socket (the agent closes it before reconnecting), so
 * take it in, without blocking, before closing.
 */
static void
term_flush_old(void)
{
	static uint8_t	 buf[TERM_READ];
	ssize_t		 n;
	size_t		 total = 0;

	if (term_fd == -1)
		return;
	while ((n = read(term_fd, buf, sizeof(buf))) > 0) {
		ptylog_write(0, buf, n);
		clients_output(buf, n);
		total += n;
	}
	if (total > 0)
		log_debug("old terminal connection: %zu bytes taken in before "
		    "closing it", total);
	close(term_fd);
	term_fd = -1;
	term_shut = 0;
}

static void
term_close(const char *why)
{
	log_debug("terminal connection ended: %s", why);
	close(term_fd);
	term_fd = -1;
	term_shut = 0;
	if (st.state == HS_DRAINING) {
		drain_done(NULL);
		return;
	}
	if (term_pending != -1) {
		term_fd = term_pending;
		term_pending = -1;
	}
}

/* Client input for the guest; kept (bounded) while it reconnects. */
int
guest_term_write(const void *data, size_t len)
{
	ssize_t	 n = 0;

	if (term_out_len + len > TERM_OUT_MAX)
		return (-1);
	ptylog_write(1, data, len);
	if (term_out_len == 0 && term_fd != -1 && !term_shut) {
		n = write(term_fd, data, len);
		if (n == -1)
			n = 0;
	}
	memcpy(term_out + term_out_len, (const uint8_t *)data + n, len - n);
	term_out_len += len - n;
	return (0);
}

void
guest_resize(uint16_t cols, uint16_t rows)
{
	struct msg	 m;

	win_cols = cols;
	win_rows = rows;
	if (ctl == NULL || !booted || st.exited)
		return;
	memset(&m, 0, sizeof(m));
	m.type = MSG_RESIZE;
	m.u.resize.cols = cols;
	m.u.resize.rows = rows;
	(void)send_msg(&m);
}

void
guest_shutdown(void)
{
	struct msg	 m;

	if (st.exited)
		return;
	shutdown_wanted = 1;
	if (ctl == NULL || !booted)
		return;		/* sent after the next boot */
	memset(&m, 0, sizeof(m));
	m.type = MSG_SHUTDOWN;
	(void)send_msg(&m);
}

int
guest_exec(uint32_t client, const char *cmd, size_t len, const char **why)
{
	struct hexec	*x;
	struct msg	 m;
	struct wire_err	 err;

	if (st.exited) {
		*why = "the session has ended";
		return (-1);
	}
	if (nexecs >= EXECS_MAX) {
		*why = "too many exec commands in progress";
		return (-1);
	}
	if ((x = calloc(1, sizeof(*x))) == NULL)
		fatal("calloc");
	wbuf_init(&x->frame);
	x->id = ++next_exec_id;
	x->client = client;
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXEC;
	m.u.exec.id = x->id;
	m.u.exec.command.s = (char *)(uintptr_t)cmd;
	m.u.exec.command.len = len;
	if (msg_encode(&m, &x->frame, &err) == -1) {
		log_warnx("exec from client %u: %s", client, err.msg);
		wbuf_free(&x->frame);
		free(x);
		*why = "the command cannot be sent (not UTF-8, or too long)";
		return (-1);
	}
	TAILQ_INSERT_TAIL(&execs, x, entry);
	nexecs++;
	log_info("exec %llu for client %u: %.*s", (unsigned long long)x->id,
	    client, (int)(len > 200 ? 200 : len), cmd);
	if (ctl != NULL && booted)
		(void)proc_compose(&ctl->p, IMSG_HOST_SEND, -1, x->frame.data,
		    x->frame.len);
	return (0);
}

/* The exec's client left: the command runs on, its output is dropped. */
void
guest_client_gone(uint32_t client)
{
	struct hexec	*x;

	TAILQ_FOREACH(x, &execs, entry)
		if (x->client == client)
			x->client = 0;
}

size_t
guest_children(void)
{
	return (nchildren);
}

/* A decoder child for one framed connection; it owns fd from now on. */
static void
child_start(int fd, uint32_t port)
{
	struct hchild	*c;
	int		 afd;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	c->port = port;
	if (port == PORT_CONTROL) {
		c->p.role = "control";
		c->p.prog = "capsem-hostd-control";
	} else {
		c->p.role = port == PORT_EXEC ? "exec" : port == PORT_AUDIT ?
		    "audit" : "lifecycle";
		c->p.prog = "capsem-hostd-stream";
	}
	if (proc_start(&c->p, conf.debug, conf.verbose) == -1) {
		log_warn("port %u: cannot start %s", port, c->p.prog);
		close(fd);
		free(c);
		return;
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
}

static void
child_event(short revents, void *arg)
{
	struct hchild	*c = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (!c->p.running)
		return;
	if ((revents & POLLOUT) && imsgbuf_write(&c->p.ibuf) == -1) {
		child_gone(c);
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	if ((n = imsgbuf_read(&c->p.ibuf)) == -1 || n == 0) {
		child_gone(c);
		return;
	}
	for (;;) {
		if ((n = imsg_get(&c->p.ibuf, &imsg)) == -1) {
			log_warnx("%s child (pid %d): malformed imsg: "
			    "stopped", c->p.role, (int)c->p.pid);
			kill(c->p.pid, SIGKILL);
			child_gone(c);
			return;
		}
		if (n == 0)
			break;
		child_dispatch(c, &imsg);
		imsg_free(&imsg);
		if (!c->p.running)
			return;
	}
}

static void
child_dispatch(struct hchild *c, struct imsg *imsg)
{
	struct imsg_child_done	 d;

	switch (imsg_get_type(imsg)) {
	case IMSG_CHILD_READY:
		proc_selftest(&c->p, conf.debug);
		return;
	case IMSG_CHILD_SECCOMP:
		proc_seccomp_report(&c->p, imsg);
		c->reported = 1;
		return;
	case IMSG_CHILD_DONE:
		if (imsg_exact(imsg, &d, sizeof(d)) == -1)
			return;
		d.detail[sizeof(d.detail) - 1] = '\0';
		c->reported = 1;
		strlcpy(c->why, d.detail, sizeof(c->why));
		if (d.reason == CHILD_PROTO || d.reason == CHILD_IOERR)
			log_warnx("%s connection ended: %s", c->p.role,
			    d.detail);
		else
			log_debug("%s connection ended: %s", c->p.role,
			    d.detail);
		return;
	}
	if (c->port == PORT_CONTROL)
		ctl_dispatch(c, imsg);
	else
		stream_dispatch(c, imsg);
}

static void
ctl_dispatch(struct hchild *c, struct imsg *imsg)
{
	struct imsg_host_execdone	 ed;
	struct imsg_host_shellexited	 se;
	struct imsg_host_error		 he;
	struct hexec			*x;
	uint64_t			 id;
	char				*s;

	switch (imsg_get_type(imsg)) {
	case IMSG_HOST_GUESTREADY:
		if ((s = imsg_string(imsg, 256)) == NULL)
			break;
		guest_ready(c, s);
		free(s);
		return;
	}
	if (c != ctl) {
		log_debug("message from a replaced control child dropped");
		return;
	}
	switch (imsg_get_type(imsg)) {
	case IMSG_HOST_BOOTREADY:
		guest_booted();
		break;
	case IMSG_HOST_BOOTTIMING:
		if ((s = imsg_string(imsg, 4096)) != NULL) {
			log_info("guest boot timing: %s", s);
			free(s);
		}
		break;
	case IMSG_HOST_PONG:
		awaiting_pong = 0;
		missed = 0;
		break;
	case IMSG_HOST_ACK:
		if (imsg_exact(imsg, &id, sizeof(id)) == -1)
			break;
		if ((x = exec_find(id)) != NULL)
			x->acked = 1;
		else
			log_debug("ack for unknown id %llu",
			    (unsigned long long)id);
		break;
	case IMSG_HOST_EXECDONE:
		if (imsg_exact(imsg, &ed, sizeof(ed)) == -1)
			break;
		if ((x = exec_find(ed.id)) == NULL) {
			log_debug("execdone for unknown exec %llu (a replay)",
			    (unsigned long long)ed.id);
			break;
		}
		if (x->done)
			break;
		x->done = 1;
		x->acked = 1;
		x->code = ed.exit_code;
		log_info("exec %llu exited %d", (unsigned long long)x->id,
		    x->code);
		if (x->stream_done)
			exec_finish(x);
		else
			x->deadline = now_ms() + EXEC_TAIL_MS;
		break;
	case IMSG_HOST_ERROR:
		if (imsg_get_len(imsg) < sizeof(he) + 1 ||
		    imsg_get_len(imsg) > sizeof(he) + 4097) {
			log_warnx("control child: bad IMSG_HOST_ERROR");
			break;
		}
		if ((s = calloc(1, imsg_get_len(imsg))) == NULL)
			fatal("calloc");
		(void)imsg_get_data(imsg, s, imsg_get_len(imsg));
		memcpy(&he, s, sizeof(he));
		s[imsg_get_len(imsg) - 1] = '\0';
		log_warnx("guest error for request %llu: %s",
		    (unsigned long long)he.id, s + sizeof(he));
		if ((x = exec_find(he.id)) != NULL) {
			if (x->client != 0)
				client_exec_error(x->client, s + sizeof(he));
			x->client = 0;
			x->done = 1;
			x->stream_done = 1;
			exec_finish(x);
		}
		free(s);
		break;
	case IMSG_HOST_FILECONTENT:
	case IMSG_HOST_FILEOPDONE:
		log_debug("file operation reply with no requester dropped");
		break;
	case IMSG_HOST_SNAPSHOTREADY:
		log_info("guest filesystems frozen for a snapshot");
		break;
	case IMSG_HOST_SHELLEXITED:
		if (imsg_exact(imsg, &se, sizeof(se)) == -1)
			break;
		if (st.exited) {
			log_debug("second shellexited ignored");
			break;
		}
		st.exited = 1;
		st.exit_code = se.exit_code;
		st.exit_signal = se.signal;
		if (se.signal)
			log_info("shell killed by signal %d (exit %d)",
			    se.signal, se.exit_code);
		else
			log_info("shell exited %d", se.exit_code);
		st.state = HS_DRAINING;
		guest_close_listeners();
		if (term_pending != -1) {
			close(term_pending);
			term_pending = -1;
		}
		if (term_fd == -1)
			drain_done(NULL);
		else
			drain_deadline = now_ms() + DRAIN_MS;
		break;
	default:
		log_warnx("control child: unexpected imsg %u",
		    imsg_get_type(imsg));
		break;
	}
}

static void
stream_dispatch(struct hchild *c, struct imsg *imsg)
{
	struct hexec	*x;
	uint64_t	 id, n;
	int32_t		 what;
	uint8_t		*buf;
	size_t		 len;

	switch (imsg_get_type(imsg)) {
	case IMSG_HOST_EXECSTARTED:
		if (c->port != PORT_EXEC || c->has_exec ||
		    imsg_exact(imsg, &id, sizeof(id)) == -1)
			break;
		c->exec_id = id;
		c->has_exec = 1;
		if ((x = exec_find(id)) == NULL || x->started) {
			log_warnx("exec connection for unknown exec %llu: "
			    "output dropped", (unsigned long long)id);
			break;
		}
		x->started = 1;
		break;
	case IMSG_HOST_EXECOUTPUT:
		len = imsg_get_len(imsg);
		if (c->port != PORT_EXEC || !c->has_exec || len == 0 ||
		    len > ATTACH_CHUNK)
			break;
		if ((x = exec_find(c->exec_id)) == NULL || x->client == 0)
			break;
		if ((buf = malloc(len)) == NULL)
			fatal("malloc");
		(void)imsg_get_data(imsg, buf, len);
		if (client_exec_output(x->client, buf, len) == -1)
			x->client = 0;
		free(buf);
		break;
	case IMSG_HOST_AUDITED:
		if (imsg_exact(imsg, &n, sizeof(n)) == 0)
			log_debug("audit: %llu records written",
			    (unsigned long long)n);
		break;
	case IMSG_HOST_LIFECYCLE:
		if (c->port != PORT_LIFECYCLE ||
		    imsg_exact(imsg, &what, sizeof(what)) == -1)
			break;
		if (what == MSG_SUSPENDREQUEST) {
			log_info("guest asked to be suspended (nothing to do "
			    "without a VMM)");
			break;
		}
		if (what != MSG_SHUTDOWNREQUEST || st.exited)
			break;
		/* An agent that did not see our caps: its shell is gone. */
		log_info("guest asked to end the session (shutdownrequest)");
		st.exited = 1;
		st.exit_code = 0;
		st.state = HS_DRAINING;
		guest_close_listeners();
		if (term_fd == -1)
			drain_done(NULL);
		else
			drain_deadline = now_ms() + DRAIN_MS;
		break;
	default:
		log_warnx("%s child: unexpected imsg %u", c->p.role,
		    imsg_get_type(imsg));
		break;
	}
}

/* The child's imsg socket closed: it exited or is about to. */
static void
child_gone(struct hchild *c)
{
	struct hexec	*x;

	proc_close(&c->p);
	if (c->port == PORT_EXEC && c->has_exec &&
	    (x = exec_find(c->exec_id)) != NULL) {
		x->stream_done = 1;
		if (x->done)
			exec_finish(x);
	}
	if (c == ctl) {
		ctl = NULL;
		if (!st.exited)
			guest_lost(c->reported ? c->why : "control child died");
	}
	child_report(c);
}

static void
child_free(struct hchild *c)
{
	TAILQ_REMOVE(&children, c, entry);
	nchildren--;
	free(c);
}

/* Reap what exited; report a child that died without saying why. */
void
guest_sigchld(void)
{
	struct hchild	*c;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(c, &children, entry)
			if (c->p.pid == pid && !c->reaped)
				break;
		if (c == NULL) {
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
}

static void
guest_ready(struct hchild *c, const char *version)
{
	struct msg	 m;
	struct wire_str	 cap;
	size_t		 i;
	char		*eq;

	if (st.exited) {
		proc_close(&c->p);
		return;
	}
	if (ctl != NULL && ctl != c) {
		log_info("guest reconnected: replacing the old control "
		    "connection");
		proc_close(&ctl->p);
	}
	ctl = c;
	booted = 0;
	if (term_pending != -1) {
		term_flush_old();
		term_fd = term_pending;
		term_pending = -1;
	}
	strlcpy(st.agent_version, version, sizeof(st.agent_version));
	log_info("guest ready (agent %s), booting connection %llu", version,
	    (unsigned long long)st.connections + 1);

	memset(&m, 0, sizeof(m));
	m.type = MSG_BOOTCONFIG;
	m.u.bootconfig.epoch_secs = conf.no_clock ? 0 :
	    (uint64_t)time(NULL);
	cap.s = CAP_SHELLEXITED;
	cap.len = strlen(CAP_SHELLEXITED);
	m.u.bootconfig.caps = &cap;
	m.u.bootconfig.ncaps = 1;
	m.u.bootconfig.has_caps = 1;
	(void)send_msg(&m);
	for (i = 0; i < conf.nenv; i++) {
		eq = strchr(conf.env[i], '=');
		memset(&m, 0, sizeof(m));
		m.type = MSG_SETENV;
		m.u.setenv.key.s = conf.env[i];
		m.u.setenv.key.len = eq - conf.env[i];
		m.u.setenv.value.s = eq + 1;
		m.u.setenv.value.len = strlen(eq + 1);
		(void)send_msg(&m);
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_BOOTCONFIGDONE;
	(void)send_msg(&m);
}

static void
guest_booted(void)
{
	struct hexec	*x;
	struct msg	 m;

	if (booted)
		return;
	booted = 1;
	st.connections++;
	if (st.state < HS_DRAINING)
		st.state = HS_CONNECTED;
	awaiting_pong = 0;
	missed = 0;
	next_ping = now_ms() + (int64_t)conf.ping_secs * 1000;
	log_info("guest booted: connection %llu",
	    (unsigned long long)st.connections);
	/* Unacked requests again, oldest (smallest id) first. */
	TAILQ_FOREACH(x, &execs, entry)
		if (!x->acked)
			(void)proc_compose(&ctl->p, IMSG_HOST_SEND, -1,
			    x->frame.data, x->frame.len);
	if (win_cols != 0)
		guest_resize(win_cols, win_rows);
	if (shutdown_wanted) {
		memset(&m, 0, sizeof(m));
		m.type = MSG_SHUTDOWN;
		(void)send_msg(&m);
	}
	session_json();
}

/* The guest's connections are gone (or we gave up on them). */
static void
guest_lost(const char *why)
{
	if (ctl != NULL) {
		proc_close(&ctl->p);
		ctl = NULL;
	}
	booted = 0;
	/*
	 * Not closed: shut for writing, so the guest's terminal side stops,
	 * and read on to its EOF: output it had already sent is still
	 * delivered.  A newer terminal takes over at the next `ready`.
	 */
	if (term_fd != -1 && term_pending == -1) {
		(void)shutdown(term_fd, SHUT_WR);
		term_shut = 1;
	}
	else if (term_pending != -1) {
		term_flush_old();
		term_fd = term_pending;
		term_pending = -1;
	}
	if (st.state < HS_DRAINING) {
		st.state = HS_DISCONNECTED;
		log_warnx("guest disconnected (%s): waiting for it to "
		    "reconnect", why);
		session_json();
	}
}

static void
drain_done(const char *why)
{
	if (st.state != HS_DRAINING)
		return;
	if (why != NULL)
		log_warnx("%s", why);
	if (term_fd != -1) {
		close(term_fd);
		term_fd = -1;
	}
	session_finish(NULL);
}

/* Stop every child (the session is over). */
void
guest_stop_all(void)
{
	struct hchild	*c;
	struct hexec	*x;

	TAILQ_FOREACH(c, &children, entry)
		if (c->p.running)
			proc_close(&c->p);
	ctl = NULL;
	TAILQ_FOREACH(c, &children, entry)
		if (!c->reaped && c->p.pid > 0 &&
		    proc_reap(c->p.pid, 1000, &c->waitst) == 0)
			c->reaped = 1;
	while ((c = TAILQ_FIRST(&children)) != NULL)
		child_free(c);
	while ((x = TAILQ_FIRST(&execs)) != NULL) {
		TAILQ_REMOVE(&execs, x, entry);
		wbuf_free(&x->frame);
		free(x);
	}
	if (term_fd != -1)
		close(term_fd);
	if (term_pending != -1)
		close(term_pending);
	term_fd = term_pending = -1;
	free(term_out);
	term_out = NULL;
}

/* Encode one host message and hand it to the control child. */
static int
send_msg(const struct msg *m)
{
	struct wbuf	 b;
	struct wire_err	 err;
	int		 rc;

	if (ctl == NULL)
		return (-1);
	wbuf_init(&b);
	if (msg_encode(m, &b, &err) == -1) {
		log_warnx("cannot encode %s: %s", msg_type_name(m->type),
		    err.msg);
		wbuf_free(&b);
		return (-1);
	}
	rc = proc_compose(&ctl->p, IMSG_HOST_SEND, -1, b.data, b.len);
	wbuf_free(&b);
	return (rc);
}

static struct hexec *
exec_find(uint64_t id)
{
	struct hexec	*x;

	TAILQ_FOREACH(x, &execs, entry)
		if (x->id == id)
			return (x);
	return (NULL);
}

static void
exec_finish(struct hexec *x)
{
	if (x->client != 0)
		client_exec_done(x->client, x->code);
	TAILQ_REMOVE(&execs, x, entry);
	nexecs--;
	wbuf_free(&x->frame);
	free(x);
}

/* A fixed-size imsg from a child: exactly that size or it is dropped. */
static int
imsg_exact(struct imsg *imsg, void *data, size_t len)
{
	if (imsg_get_data(imsg, data, len) == -1) {
		log_warnx("child sent imsg %u of %zu bytes, expected %zu: "
		    "dropped", imsg_get_type(imsg), imsg_get_len(imsg), len);
		return (-1);
	}
	return (0);
}

/* A NUL-terminated string of at most max bytes, or NULL (logged). */
static char *
imsg_string(struct imsg *imsg, size_t max)
{
	size_t	 len = imsg_get_len(imsg);
	char	*s;

	if (len == 0 || len > max) {
		log_warnx("child sent a string imsg %u of %zu bytes: dropped",
		    imsg_get_type(imsg), len);
		return (NULL);
	}
	if ((s = malloc(len)) == NULL)
		fatal("malloc");
	(void)imsg_get_data(imsg, s, len);
	if (s[len - 1] != '\0' || strlen(s) != len - 1) {
		log_warnx("child sent an unterminated string: dropped");
		free(s);
		return (NULL);
	}
	return (s);
}
