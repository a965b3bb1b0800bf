/*
 * Attach clients: capsem-shell processes on the session's attach.sock,
 * speaking imsg (capsem_imsg.h, "the attach protocol").  A client is
 * accepted only if SO_PEERCRED names the session owner or root.  Every
 * terminal client sees all output and may type; the most recent client's
 * window size wins.  A client attaching is first drawn the current screen:
 * a snapshot of the screen child's model (screen.c), never a replay of
 * bytes, so no query the guest sent earlier reaches its terminal.  While
 * the snapshot is on its way the client's live output is held (at most
 * HOLD_MAX bytes, SNAPSHOT_MS) and sent right after it: nothing lost,
 * nothing twice.  Without a model (or past either bound) the client gets
 * a cleared screen and a note instead.
 *
 * Memory is bounded per client: while every terminal client has more than
 * CLIENT_HIGH bytes queued the terminal is not read (backpressure to the
 * guest), and a client with more than CLIENT_MAX queued is not reading at
 * all and is disconnected, so one stuck client can neither grow this
 * process nor stall the others.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "hostd.h"
#include "imsg.h"
#include "log.h"

#define CLIENTS_MAX		16
#define CLIENT_HIGH		(1024 * 1024)
#define CLIENT_MAX		(16 * 1024 * 1024)
#define HELLO_TIMEOUT_MS	10000
#define END_TIMEOUT_MS		2000
#define HOLD_MAX		(4 * 1024 * 1024)
#define SNAPSHOT_MS		3000
#define SNAPSHOT_MAX		(32 * 1024 * 1024)
#define SCREEN_PARTIAL		"the screen model restarted or fell behind: " \
				"this screen may be incomplete"
#define SCREEN_NONE		"the screen could not be drawn (no screen " \
				"model): it shows what comes from now on"
#define CLEARED_SCREEN		"\033[0m\033[r\033[H\033[2J"

struct client {
	TAILQ_ENTRY(client)	 entry;
	uint32_t		 id;
	uid_t			 uid;
	pid_t			 pid;
	struct imsgbuf		 ibuf;
	int			 mode;		/* 0 until HELLO */
	int			 dead;
	int			 ending;	/* close once flushed */
	int			 exec_sent;
	uint16_t		 cols, rows;	/* its window, 0: unknown */
	uint64_t		 active;	/* when it last typed or resized */
	struct ev		*ev;
	struct ev_timer		 deadline;	/* HELLO, or ending */
	int			 drawing;	/* snapshot awaited */
	int			 partial;	/* the model missed output */
	size_t			 drawn;		/* snapshot bytes so far */
	uint8_t			*hold;		/* live output meanwhile */
	size_t			 hold_len;
	struct ev_timer		 draw_timer;
};

static TAILQ_HEAD(, client)	 clients = TAILQ_HEAD_INITIALIZER(clients);
static int			 lfd = -1;
static struct ev		*lev;
static uint32_t			 next_id = 1;
static uint64_t			 activity;	/* a counter, for ->active */
static struct client		*sizer;	/* whose window the session has */
static size_t			 nclients;

static void	 clients_prepare(void *);
static void	 client_accept(int, short, void *);
static void	 client_event(int, short, void *);
static void	 client_deadline(void *);
static void	 client_ending(struct client *);
static void	 client_dispatch(struct client *, struct imsg *);
static void	 client_hello(struct client *, struct imsg *);
static void	 client_copy(struct client *, struct imsg *);
static void	 client_copy_done(struct client *, const char *);
static void	 client_execio(struct client *, struct imsg *);
static void	 client_send(struct client *, uint32_t, const void *, size_t);
static void	 client_drop(struct client *, const char *);
static void	 client_refuse(int, const char *);
static void	 client_draw(struct client *);
static void	 client_draw_due(void *);
static void	 client_drawn(struct client *, const char *);
static void	 client_hold(struct client *, const void *, size_t);
static void	 client_output(struct client *, const void *, size_t);
static struct client *client_find(uint32_t);
static size_t	 clients_attached(void);
static void	 client_active(struct client *);
static void	 client_resize_to_latest(void);
static void	 clients_unlisten(void);

void
clients_init(void)
{
	char	 path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", conf.dir,
	    ATTACH_SOCKET) >= sizeof(path))
		fatalx("%s/%s: path too long", conf.dir, ATTACH_SOCKET);
	/* Only a stale socket of a dead hostd can be here: we hold the lock. */
	if ((lfd = transport_listen_unix(path)) == -1)
		fatal("%s", path);
	lev = ev_add(lfd, POLLIN, client_accept, NULL);
	ev_prepare(clients_prepare, NULL);
	screen_init();
}

/* Before every poll: what each client waits for; free the dead. */
static void
clients_prepare(void *arg)
{
	struct client	*c, *t;
	short		 ev;

	TAILQ_FOREACH_SAFE(c, &clients, entry, t) {
		if (c->dead) {
			TAILQ_REMOVE(&clients, c, entry);
			free(c->hold);
			free(c);
			continue;
		}
		ev = POLLIN;
		if (imsgbuf_queuelen(&c->ibuf) > 0)
			ev |= POLLOUT;
		ev_set(c->ev, ev);
	}
}

static void
client_deadline(void *arg)
{
	struct client	*c = arg;

	client_drop(c, c->ending ? "did not read its exit status in time" :
	    "sent no hello in time");
}

/* The client is told how it ends; it is closed once that is flushed. */
static void
client_ending(struct client *c)
{
	c->ending = 1;
	ev_timer_in(&c->deadline, END_TIMEOUT_MS);
}

size_t
clients_count(void)
{
	return (nclients);
}

static void
client_accept(int fd_, short revents, void *arg)
{
	struct client	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("attach: accept");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("attach: SO_PEERCRED");
		close(fd);
		return;
	}
	if (cred.uid != 0 && cred.uid != conf.owner &&
	    cred.uid != geteuid()) {
		log_warnx("attach: client pid %d refused: uid %u is not the "
		    "session owner (uid %u)", (int)cred.pid, cred.uid,
		    conf.owner);
		client_refuse(fd, "permission denied: not the session owner");
		return;
	}
	if (nclients >= CLIENTS_MAX) {
		log_warnx("attach: client pid %d refused: %d clients already",
		    (int)cred.pid, CLIENTS_MAX);
		client_refuse(fd, "too many clients attached");
		return;
	}
	if (sess.state >= HS_ENDING) {
		client_refuse(fd, "the session has ended");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    imsgbuf_init(&c->ibuf, fd) == -1) {
		log_warn("attach: client");
		free(c);
		close(fd);
		return;
	}
	if (imsgbuf_set_maxsize(&c->ibuf, ATTACH_IMSG_MAX) == -1)
		fatal("imsgbuf_set_maxsize");
	c->id = next_id++;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->ev = ev_add(fd, POLLIN, client_event, c);
	ev_timer_init(&c->deadline, client_deadline, c);
	ev_timer_init(&c->draw_timer, client_draw_due, c);
	ev_timer_in(&c->deadline, HELLO_TIMEOUT_MS);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	nclients++;
	log_debug("attach: client %u (pid %d, uid %u) connected", c->id,
	    (int)c->pid, c->uid);
}

/* Best effort: one error message on a socket we will not serve. */
static void
client_refuse(int fd, const char *why)
{
	struct imsgbuf	 ib;

	if (imsgbuf_init(&ib, fd) == 0) {
		if (imsg_compose(&ib, IMSG_ATTACH_ERROR, 0, 0, -1, why,
		    strlen(why) + 1) == 1)
			(void)imsgbuf_write(&ib);
		imsgbuf_clear(&ib);
	}
	close(fd);
}

static void
client_event(int fd, short revents, void *arg)
{
	struct client	*c = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (c->dead)
		return;
	if (revents & POLLOUT) {
		if (imsgbuf_write(&c->ibuf) == -1) {
			client_drop(c, NULL);
			return;
		}
		if (c->ending && imsgbuf_queuelen(&c->ibuf) == 0) {
			client_drop(c, NULL);
			return;
		}
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	if ((n = imsgbuf_read(&c->ibuf)) == -1) {
		if (errno == EAGAIN)
			return;
		client_drop(c, errno == EMSGSIZE ? "sent an oversized "
		    "message" : NULL);
		return;
	}
	if (n == 0) {
		client_drop(c, NULL);
		return;
	}
	for (;;) {
		if ((n = imsg_get(&c->ibuf, &imsg)) == -1) {
			client_drop(c, "sent a malformed message");
			return;
		}
		if (n == 0)
			break;
		client_dispatch(c, &imsg);
		imsg_free(&imsg);
		if (c->dead)
			return;
	}
}

static void
client_dispatch(struct client *c, struct imsg *imsg)
{
	struct imsg_resize	 rs;
	uint32_t		 type = imsg_get_type(imsg);
	size_t			 len = imsg_get_len(imsg);
	const char		*why;
	char			*cmd;
	int32_t			 sig;

	if (c->mode == 0 && type != IMSG_ATTACH_HELLO) {
		client_drop(c, "did not start with a hello");
		return;
	}
	if (c->ending)
		return;
	switch (type) {
	case IMSG_ATTACH_HELLO:
		if (c->mode != 0) {
			client_drop(c, "sent a second hello");
			return;
		}
		client_hello(c, imsg);
		break;
	case IMSG_ATTACH_INPUT:
		if (c->mode != ATTACH_TERMINAL || len == 0 ||
		    len > ATTACH_CHUNK) {
			client_drop(c, "sent input it may not send");
			return;
		}
		if (sess.exited)
			break;
		if ((cmd = malloc(len)) == NULL ||
		    imsg_get_data(imsg, cmd, len) == -1)
			fatal("attach: input");
		if (term_write(cmd, len) == -1)
			log_warnx("attach: client %u: %zu bytes of input "
			    "dropped: the guest is not reading", c->id, len);
		free(cmd);
		client_active(c);
		break;
	case IMSG_ATTACH_RESIZE:
		if ((c->mode != ATTACH_TERMINAL && c->mode != ATTACH_EXEC) ||
		    imsg_get_data(imsg, &rs, sizeof(rs)) == -1 ||
		    rs.cols == 0 || rs.rows == 0) {
			client_drop(c, "sent a bad resize");
			return;
		}
		if (c->mode == ATTACH_EXEC) {
			exec_client_resize(c->id, rs.cols, rs.rows);
			break;
		}
		c->cols = rs.cols;
		c->rows = rs.rows;
		sizer = NULL;		/* its new size goes out in any case */
		client_active(c);
		break;
	case IMSG_ATTACH_EXEC:
		if (c->mode != ATTACH_EXEC || c->exec_sent) {
			client_drop(c, "sent an exec it may not send");
			return;
		}
		if (len == 0 || len > EXEC_COMMAND_MAX) {
			client_drop(c, "sent an exec command that is empty or "
			    "over 65536 bytes");
			return;
		}
		if ((cmd = malloc(len)) == NULL ||
		    imsg_get_data(imsg, cmd, len) == -1)
			fatal("attach: exec");
		c->exec_sent = 1;
		if (exec_request(c->id, cmd, len, &why) == -1) {
			client_send(c, IMSG_ATTACH_ERROR, why,
			    strlen(why) + 1);
			client_ending(c);
		}
		free(cmd);
		break;
	case IMSG_ATTACH_COPY:
	case IMSG_ATTACH_COPYDATA:
	case IMSG_ATTACH_COPYEND:
		if (c->mode != ATTACH_COPY) {
			client_drop(c, "sent a copy it may not send");
			return;
		}
		client_copy(c, imsg);
		break;
	case IMSG_ATTACH_EXECIO:
		if (c->mode != ATTACH_EXEC || c->exec_sent) {
			client_drop(c, "sent an exec it may not send");
			return;
		}
		client_execio(c, imsg);
		break;
	case IMSG_ATTACH_STDIN:
		if (c->mode != ATTACH_EXEC || !c->exec_sent || len == 0 ||
		    len > ATTACH_CHUNK) {
			client_drop(c, "sent input it may not send");
			return;
		}
		if ((cmd = malloc(len)) == NULL ||
		    imsg_get_data(imsg, cmd, len) == -1)
			fatal("attach: stdin");
		if (exec_client_input(c->id, cmd, len, &why) == -1) {
			free(cmd);
			client_drop(c, why);
			return;
		}
		free(cmd);
		break;
	case IMSG_ATTACH_STDINEND:
		if (c->mode != ATTACH_EXEC || !c->exec_sent || len != 0) {
			client_drop(c, "sent an end of input it may not send");
			return;
		}
		exec_client_inputend(c->id);
		break;
	case IMSG_ATTACH_SIGNAL:
		if (c->mode != ATTACH_EXEC || !c->exec_sent ||
		    imsg_get_data(imsg, &sig, sizeof(sig)) == -1) {
			client_drop(c, "sent a signal it may not send");
			return;
		}
		exec_client_signal(c->id, sig);
		break;
	case IMSG_ATTACH_SHUTDOWN:
		log_info("attach: client %u (pid %d) asked for a shutdown",
		    c->id, (int)c->pid);
		hostd_shutdown(c->pid);
		break;
	case IMSG_ATTACH_DETACH:
		client_drop(c, NULL);
		break;
	default:
		client_drop(c, "sent an unknown message");
		break;
	}
}

/*
 * An exec with options: struct attach_execio, the command, the cwd, then
 * nenv KEY=VALUE entries, each NUL-ended.  Checked whole before use.
 */
static void
client_execio(struct client *c, struct imsg *imsg)
{
	struct attach_execio	 ax;
	size_t			 len = imsg_get_len(imsg), i, n;
	const char		*why, *p, *cmd, *cwd, *env;
	char			*buf;

	if (len < sizeof(ax) || (buf = malloc(len)) == NULL ||
	    imsg_get_data(imsg, buf, len) == -1) {
		client_drop(c, "sent a bad exec");
		return;
	}
	memcpy(&ax, buf, sizeof(ax));
	cmd = buf + sizeof(ax);
	if (ax.cmdlen == 0 || ax.cmdlen > EXEC_COMMAND_MAX ||
	    ax.cwdlen > PATH_MAX || ax.nenv > EXECIO_ENV_MAX ||
	    (uint64_t)sizeof(ax) + ax.cmdlen + ax.cwdlen + ax.envlen != len ||
	    ((ax.cols == 0) != (ax.rows == 0)) ||
	    memchr(cmd, '\0', ax.cmdlen) != NULL ||
	    memchr(cmd + ax.cmdlen, '\0', ax.cwdlen) != NULL)
		goto bad;
	cwd = cmd + ax.cmdlen;
	env = cwd + ax.cwdlen;
	/* Exactly nenv NUL-ended entries, each KEY=VALUE. */
	for (i = 0, p = env; i < ax.nenv; i++) {
		n = strnlen(p, env + ax.envlen - p);
		if (p + n >= env + ax.envlen || strchr(p, '=') == NULL ||
		    *p == '=')
			goto bad;
		p += n + 1;
	}
	if (p != env + ax.envlen)
		goto bad;
	c->exec_sent = 1;
	if (exec_request_io(c->id, &ax, cmd, cwd, env, &why) == -1) {
		client_send(c, IMSG_ATTACH_ERROR, why, strlen(why) + 1);
		client_ending(c);
	}
	free(buf);
	return;
 bad:
	free(buf);
	client_drop(c, "sent a malformed exec");
}

static void
client_hello(struct client *c, struct imsg *imsg)
{
	struct attach_hello	 h;
	struct attach_welcome	 w;

	if (imsg_get_data(imsg, &h, sizeof(h)) == -1) {
		client_drop(c, "sent a hello of the wrong size");
		return;
	}
	if (h.version != ATTACH_VERSION) {
		client_send(c, IMSG_ATTACH_ERROR, "unsupported attach "
		    "protocol version", 32);
		client_drop(c, "speaks another protocol version");
		return;
	}
	if (h.mode != ATTACH_TERMINAL && h.mode != ATTACH_EXEC &&
	    h.mode != ATTACH_CONTROL && h.mode != ATTACH_COPY) {
		client_drop(c, "asked for an unknown mode");
		return;
	}
	c->mode = h.mode;
	ev_timer_stop(&c->deadline);
	memset(&w, 0, sizeof(w));
	w.version = ATTACH_VERSION;
	w.client = c->id;
	w.connected = guest_booted_once();
	client_send(c, IMSG_ATTACH_WELCOME, &w, sizeof(w));
	log_info("attach: client %u (pid %d) attached (%s)", c->id,
	    (int)c->pid, c->mode == ATTACH_TERMINAL ? "terminal" :
	    c->mode == ATTACH_EXEC ? "exec" : c->mode == ATTACH_COPY ? "copy" :
	    "control");
	if (c->mode == ATTACH_TERMINAL) {
		c->cols = h.cols;
		c->rows = h.rows;
		client_active(c);
		/* After its size is the session's: drawn for its terminal. */
		if (h.flags & ATTACH_SCREEN)
			client_draw(c);
	}
	session_changed();
}

/*
 * A copy client's request or its bytes (capsem_imsg.h "A copy client"):
 * sizes checked here, the rest in copy.c.
 */
static void
client_copy(struct client *c, struct imsg *imsg)
{
	struct attach_copy	 ac;
	size_t			 len = imsg_get_len(imsg);
	const char		*why;
	char			*buf;

	if ((buf = malloc(len + 1)) == NULL ||
	    (len > 0 && imsg_get_data(imsg, buf, len) == -1))
		fatal("attach: copy");
	buf[len] = '\0';
	switch (imsg_get_type(imsg)) {
	case IMSG_ATTACH_COPY:
		if (len <= sizeof(ac) || len > sizeof(ac) +
		    ATTACH_COPY_PATH_MAX || strlen(buf + sizeof(ac)) !=
		    len - sizeof(ac)) {
			client_drop(c, "sent a bad copy request");
			break;
		}
		memcpy(&ac, buf, sizeof(ac));
		if ((ac.dir != ATTACH_COPY_IN && ac.dir != ATTACH_COPY_OUT) ||
		    ac.size > COPY_SIZE_MAX || (ac.flags & ~COPY_MTIME) != 0 ||
		    ac.pad != 0) {
			client_drop(c, "sent a bad copy request");
			break;
		}
		if (copy_request(c->id, &ac, buf + sizeof(ac), &why) == -1)
			client_copy_done(c, why);
		break;
	case IMSG_ATTACH_COPYDATA:
		if (len == 0 || len > ATTACH_CHUNK ||
		    copy_client_data(c->id, buf, len) == -1)
			client_drop(c, "sent copy data it may not send");
		break;
	default:
		if (copy_client_end(c->id) == -1)
			client_drop(c, "ended a copy it may not end");
		break;
	}
	free(buf);
}

static void
client_copy_done(struct client *c, const char *why)
{
	struct attach_copydone	 d;
	char			 b[sizeof(d) + 256];

	memset(&d, 0, sizeof(d));
	memcpy(b, &d, sizeof(d));
	strlcpy(b + sizeof(d), why, sizeof(b) - sizeof(d));
	client_send(c, IMSG_ATTACH_COPYDONE, b, sizeof(d) +
	    strlen(b + sizeof(d)) + 1);
}

/* To a copy client, maybe with a descriptor (closed here on failure). */
int
client_copy_send(uint32_t id, uint32_t type, int fd, const void *data,
    size_t len)
{
	struct client	*c;

	if ((c = client_find(id)) == NULL || c->ending ||
	    c->mode != ATTACH_COPY) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if (imsg_compose(&c->ibuf, type, 0, 0, fd, data, len) == -1) {
		if (fd != -1)
			close(fd);
		client_drop(c, "cannot queue a message");
		return (-1);
	}
	if (imsgbuf_write(&c->ibuf) == -1) {
		client_drop(c, NULL);
		return (-1);
	}
	return (0);
}

/*
 * The session's window is that of the most recently active terminal client
 * (the one that last attached, typed or resized), as in tmux's "latest"
 * window-size: the guest is told when that changes.
 */
static void
client_active(struct client *c)
{
	c->active = ++activity;
	if (c == sizer || c->cols == 0 || c->rows == 0)
		return;
	sizer = c;
	guest_resize(c->cols, c->rows);
	screen_resize(c->cols, c->rows);
}

/* The sizing client left: the size is the most recent remaining one's. */
static void
client_resize_to_latest(void)
{
	struct client	*c, *best = NULL;

	TAILQ_FOREACH(c, &clients, entry)
		if (!c->dead && !c->ending && c->mode == ATTACH_TERMINAL &&
		    c->cols != 0 && (best == NULL || c->active > best->active))
			best = c;
	sizer = NULL;
	if (best != NULL) {
		sizer = best;
		guest_resize(best->cols, best->rows);
		screen_resize(best->cols, best->rows);
	}
}

/*
 * Ask the screen child for the screen as the output so far left it; the
 * output from now on is held until it came.
 */
static void
client_draw(struct client *c)
{
	int	 partial;

	if (screen_snapshot(c->id, &partial) == -1) {
		client_send(c, IMSG_ATTACH_OUTPUT, CLEARED_SCREEN,
		    sizeof(CLEARED_SCREEN) - 1);
		client_send(c, IMSG_ATTACH_NOTICE, SCREEN_NONE,
		    sizeof(SCREEN_NONE));
		return;
	}
	c->drawing = 1;
	c->partial = partial;
	c->drawn = 0;
	ev_timer_in(&c->draw_timer, SNAPSHOT_MS);
}

static void
client_draw_due(void *arg)
{
	struct client	*c = arg;

	log_warnx("attach: client %u: no screen from the screen child in "
	    "%d ms: drawn cleared", c->id, SNAPSHOT_MS);
	client_drawn(c, "the screen model did not answer in time");
	screen_late();
}

/* Part of the snapshot for client id: untrusted bytes, bounded. */
void
client_snapshot_data(uint32_t id, const void *data, size_t len)
{
	struct client	*c;

	if ((c = client_find(id)) == NULL || !c->drawing)
		return;
	if (c->drawn + len > SNAPSHOT_MAX) {
		log_warnx("attach: client %u: screen snapshot over %d MiB: "
		    "drawn cleared", c->id, SNAPSHOT_MAX / (1024 * 1024));
		client_drawn(c, "the screen snapshot was too large");
		return;
	}
	c->drawn += len;
	client_output(c, data, len);
}

void
client_snapshot_done(uint32_t id)
{
	struct client	*c;

	if ((c = client_find(id)) == NULL || !c->drawing)
		return;
	log_debug("attach: client %u: screen drawn (%zu bytes, %zu held)",
	    c->id, c->drawn, c->hold_len);
	client_drawn(c, c->partial ? SCREEN_PARTIAL : NULL);
}

/* The screen child is gone: whoever waits for it is drawn cleared. */
void
clients_snapshot_failed(const char *why)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry)
		if (!c->dead && c->drawing)
			client_drawn(c, why);
}

/*
 * The snapshot is complete (why NULL) or will not come: then the screen
 * is cleared and the user told why.  The held output follows either way.
 */
static void
client_drawn(struct client *c, const char *why)
{
	char	 note[192];
	size_t	 off, n;

	if (!c->drawing)
		return;
	c->drawing = 0;
	ev_timer_stop(&c->draw_timer);
	if (why != NULL) {
		if (c->drawn == 0 || strcmp(why, SCREEN_PARTIAL) != 0)
			client_send(c, IMSG_ATTACH_OUTPUT, CLEARED_SCREEN,
			    sizeof(CLEARED_SCREEN) - 1);
		snprintf(note, sizeof(note), "%s", why);
		client_send(c, IMSG_ATTACH_NOTICE, note, strlen(note) + 1);
	}
	for (off = 0; off < c->hold_len; off += n) {
		n = c->hold_len - off > ATTACH_CHUNK ? ATTACH_CHUNK :
		    c->hold_len - off;
		client_output(c, c->hold + off, n);
	}
	free(c->hold);
	c->hold = NULL;
	c->hold_len = 0;
}

/* Live output while the snapshot is on its way: kept for after it. */
static void
client_hold(struct client *c, const void *data, size_t len)
{
	uint8_t	*p;

	if (c->hold_len + len > HOLD_MAX) {
		log_warnx("attach: client %u: over %d MiB of output while "
		    "its screen was drawn: drawn cleared", c->id,
		    HOLD_MAX / (1024 * 1024));
		client_drawn(c, "the screen could not be drawn in time");
		client_output(c, data, len);
		return;
	}
	if ((p = realloc(c->hold, c->hold_len + len)) == NULL)
		fatal("realloc");
	c->hold = p;
	memcpy(c->hold + c->hold_len, data, len);
	c->hold_len += len;
}

/* Terminal output to one client, in chunks; a client not reading goes. */
static void
client_output(struct client *c, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 n, off;

	for (off = 0; off < len && !c->dead; off += n) {
		n = len - off > ATTACH_CHUNK ? ATTACH_CHUNK : len - off;
		client_send(c, IMSG_ATTACH_OUTPUT, p + off, n);
	}
	if (!c->dead && imsgbuf_queuebytes(&c->ibuf) > CLIENT_MAX)
		client_drop(c, "is not reading its output (16 MiB queued)");
}

/*
 * Guest output: every terminal client, then the screen model (a write
 * that wakes it, off the echo's path).
 */
void
clients_output(const void *data, size_t len)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->dead || c->ending || c->mode != ATTACH_TERMINAL)
			continue;
		if (c->drawing)
			client_hold(c, data, len);
		else
			client_output(c, data, len);
	}
	screen_output(data, len);
}

/*
 * Backpressure: 1 when the terminal should not be read now, that is when
 * terminal clients exist and every one of them is behind.
 */
int
clients_blocked(void)
{
	struct client	*c;
	int		 any = 0;

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->dead || c->ending || c->mode != ATTACH_TERMINAL)
			continue;
		if (imsgbuf_queuebytes(&c->ibuf) < CLIENT_HIGH)
			return (0);
		any = 1;
	}
	return (any);
}

int
client_exec_output(uint32_t id, const void *data, size_t len)
{
	struct client	*c;

	if ((c = client_find(id)) == NULL || c->ending)
		return (-1);
	client_send(c, IMSG_ATTACH_OUTPUT, data, len);
	return (0);
}

int
client_exec_stderr(uint32_t id, const void *data, size_t len)
{
	struct client	*c;

	if ((c = client_find(id)) == NULL || c->ending)
		return (-1);
	client_send(c, IMSG_ATTACH_STDERR, data, len);
	return (0);
}

/* The exec's client may send bytes more of input. */
void
client_exec_window(uint32_t id, uint32_t bytes)
{
	struct client	*c;

	if ((c = client_find(id)) == NULL || c->ending)
		return;
	client_send(c, IMSG_ATTACH_STDINWINDOW, &bytes, sizeof(bytes));
}

/* Bytes queued for the client: an execio's output is granted below a mark. */
size_t
client_exec_queued(uint32_t id)
{
	struct client	*c;

	if ((c = client_find(id)) == NULL)
		return (SIZE_MAX);
	return (imsgbuf_queuebytes(&c->ibuf));
}

/* 1 while the exec's client is behind: stop reading its exec stream. */
int
client_exec_blocked(uint32_t id)
{
	struct client	*c;

	if ((c = client_find(id)) == NULL)
		return (0);
	return (imsgbuf_queuebytes(&c->ibuf) >= CLIENT_HIGH);
}

void
client_exec_done(uint32_t id, int code)
{
	struct client	*c;
	int32_t		 v = code;

	if ((c = client_find(id)) == NULL || c->ending)
		return;
	client_send(c, IMSG_ATTACH_EXECDONE, &v, sizeof(v));
	client_ending(c);
}

void
client_exec_error(uint32_t id, const char *why)
{
	struct client	*c;

	if ((c = client_find(id)) == NULL || c->ending)
		return;
	client_send(c, IMSG_ATTACH_ERROR, why, strlen(why) + 1);
	client_ending(c);
}

/* The shell exited: every client gets its status, then goes. */
void
clients_exit(void)
{
	struct attach_exit	 x;
	struct client		*c;

	memset(&x, 0, sizeof(x));
	x.exit_code = sess.exit_code;
	x.signal = sess.exit_signal;
	TAILQ_FOREACH(c, &clients, entry) {
		if (c->dead || c->ending)
			continue;
		client_drawn(c, NULL);	/* what it holds comes first */
		if (c->mode == ATTACH_EXEC || c->mode == ATTACH_COPY)
			client_send(c, IMSG_ATTACH_ERROR, "the session ended",
			    18);
		else
			client_send(c, IMSG_ATTACH_EXIT, &x, sizeof(x));
		client_ending(c);
	}
	clients_unlisten();
}

/* The session ends without an exit status (VM gone, signal). */
void
clients_error(const char *why)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->dead || c->ending)
			continue;
		client_drawn(c, NULL);	/* what it holds comes first */
		client_send(c, IMSG_ATTACH_ERROR, why, strlen(why) + 1);
		client_ending(c);
	}
	clients_unlisten();
}

/* No new client: the socket file goes too, so nobody mistakes it. */
static void
clients_unlisten(void)
{
	char	 path[PATH_MAX];

	if (lfd == -1)
		return;
	ev_del(lev);
	lev = NULL;
	close(lfd);
	lfd = -1;
	snprintf(path, sizeof(path), "%s/%s", conf.dir, ATTACH_SOCKET);
	(void)unlink(path);
}

int
clients_flushed(void)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry)
		if (!c->dead)
			return (0);
	return (1);
}

void
clients_close(void)
{
	struct client	*c;

	while ((c = TAILQ_FIRST(&clients)) != NULL) {
		if (!c->dead)
			client_drop(c, NULL);
		TAILQ_REMOVE(&clients, c, entry);
		free(c->hold);
		free(c);
	}
	clients_unlisten();
}

static void
client_send(struct client *c, uint32_t type, const void *data, size_t len)
{
	if (c->dead)
		return;
	if (imsg_compose(&c->ibuf, type, 0, 0, -1, data, len) == -1) {
		client_drop(c, "cannot queue a message");
		return;
	}
	/* Try at once: most clients keep up, and this saves a poll round. */
	if (imsgbuf_write(&c->ibuf) == -1)
		client_drop(c, NULL);
}

/*
 * why NULL: the client left (or its socket failed), nothing to report;
 * otherwise it is told why before it is disconnected (best effort).
 */
static void
client_drop(struct client *c, const char *why)
{
	char	 msg[160];

	if (c->dead)
		return;
	if (why != NULL) {
		log_warnx("attach: client %u (pid %d) %s: disconnected", c->id,
		    (int)c->pid, why);
		snprintf(msg, sizeof(msg), "disconnected: the client %s", why);
		if (imsg_compose(&c->ibuf, IMSG_ATTACH_ERROR, 0, 0, -1, msg,
		    strlen(msg) + 1) != -1)
			(void)imsgbuf_write(&c->ibuf);
	} else
		log_debug("attach: client %u (pid %d) left", c->id,
		    (int)c->pid);
	if (c->mode == ATTACH_EXEC)
		exec_client_gone(c->id);
	if (c->mode == ATTACH_COPY)
		copy_client_gone(c->id);
	ev_del(c->ev);
	c->ev = NULL;
	ev_timer_stop(&c->deadline);
	ev_timer_stop(&c->draw_timer);
	c->drawing = 0;
	imsgbuf_clear(&c->ibuf);
	close(c->ibuf.fd);
	c->ibuf.fd = -1;
	c->dead = 1;
	if (c == sizer)
		client_resize_to_latest();
	nclients--;
	if (sess.state < HS_ENDING)
		session_changed();
	if ((c->mode == ATTACH_TERMINAL || c->mode == ATTACH_EXEC ||
	    c->mode == ATTACH_COPY) && clients_attached() == 0)
		hostd_orphaned();
}

/* Terminal and exec clients: the ones a temporary session belongs to. */
static size_t
clients_attached(void)
{
	struct client	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &clients, entry)
		if (!c->dead && !c->ending && (c->mode == ATTACH_TERMINAL ||
		    c->mode == ATTACH_EXEC || c->mode == ATTACH_COPY))
			n++;
	return (n);
}

/* A line for the user of every terminal and exec client. */
void
clients_notice(const char *line)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry)
		if (!c->dead && !c->ending && c->mode != ATTACH_CONTROL)
			client_send(c, IMSG_ATTACH_NOTICE, line,
			    strlen(line) + 1);
}

/*
 * The guest booted for the first time: clients stop saying "waiting", and
 * an exec client's Ctrl-C now goes to its command.
 */
void
clients_connected(void)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry)
		if (!c->dead && !c->ending && (c->mode == ATTACH_TERMINAL ||
		    c->mode == ATTACH_EXEC || c->mode == ATTACH_COPY))
			client_send(c, IMSG_ATTACH_CONNECTED, NULL, 0);
}

static struct client *
client_find(uint32_t id)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry)
		if (c->id == id && !c->dead)
			return (c);
	return (NULL);
}
