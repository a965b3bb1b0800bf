/*
 * The exec table.  An exec request from an attach client is encoded here
 * (encoding is not parsing) and written by the control child; it is
 * ackable, so it is kept until acked and sent again, in id order, after
 * every boot.  exec ids are microsecond timestamps, so a restarted hostd
 * never reuses an id the agent remembers.  The command's output arrives on
 * its own exec connection (a stream child); the exec is over once both
 * its execdone and the end of its output are in, or EXEC_TAIL_MS after
 * execdone at the latest.
 *
 * Nothing an exec started outlives its client: when the client goes, the
 * exec's connection is closed (the agent then hangs up the command's
 * process group, capsem-protocol(7)), and a request not yet started is
 * neither replayed nor given a connection.
 *
 * An exec with options (IMSG_ATTACH_EXECIO) is encoded when it is first
 * sent, once the guest is booted and its agentcaps known: as execio to an
 * agent that announced it, as a plain exec to another when nothing but a
 * command is asked, refused with the reason otherwise.  An execio's
 * connection is framed both ways: the client's input goes out within the
 * guest's grant (which the client holds: it is told each grant and sends
 * no more), and the guest's output is granted again once the client's
 * queue is short, so that neither this process nor the client holds more
 * than a grant of it.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "capsem_imsg.h"
#include "hostd.h"
#include "log.h"

#define EXECS_MAX		64
#define EXEC_TAIL_MS		2000
#define EXEC_CLIENT_LOW		(256 * 1024)	/* client queue: grant again */
#define EXEC_GRANT_MIN		(64 * 1024)	/* output owed before a grant */

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
	int			 cancelled;	/* the client left */
	struct hchild		*stream;	/* its exec connection */
	struct ev_timer		 tail;		/* output tail after execdone */
	/* IMSG_ATTACH_EXECIO only */
	int			 opts;		/* came with options */
	struct attach_execio	 ax;
	char			*cmd, *cwd, *env;	/* env: NUL-separated */
	int			 encoded;
	int			 io;		/* sent as execio */
	int			 framed;	/* its connection is framed */
	uint64_t		 in_credit;	/* input the guest takes */
	uint64_t		 out_owed;	/* output not granted again */
	int			 inend;		/* the client's input ended */
	int			 inend_sent;
	int32_t			 pending_sig;	/* before the connection */
};

static TAILQ_HEAD(, hexec) execs = TAILQ_HEAD_INITIALIZER(execs);
static size_t		 nexecs;
static uint64_t		 next_exec_id;

static struct hexec	*exec_find(uint64_t);
static struct hexec	*exec_of_client(uint32_t);
static void		 exec_finish(struct hexec *);
static void		 exec_free(struct hexec *);
static void		 exec_tail_due(void *);
static void		 exec_send(struct hexec *);
static int		 exec_encode(struct hexec *, const char **);
static void		 exec_io_send(struct hexec *, const struct msg *);
static void		 execs_prepare(void *);

void
execs_init(void)
{
	next_exec_id = (uint64_t)now_us_real();
	ev_prepare(execs_prepare, NULL);
}

/*
 * Before every poll: output the client has taken is granted again, in
 * pieces of EXEC_GRANT_MIN at least.
 */
static void
execs_prepare(void *arg)
{
	struct hexec	*x;
	struct msg	 m;

	TAILQ_FOREACH(x, &execs, entry) {
		if (!x->framed || x->stream == NULL || x->client == 0 ||
		    x->out_owed < EXEC_GRANT_MIN ||
		    client_exec_queued(x->client) >= EXEC_CLIENT_LOW)
			continue;
		memset(&m, 0, sizeof(m));
		m.type = MSG_EXECOUTWINDOW;
		m.u.execwindow.bytes = x->out_owed;
		x->out_owed = 0;
		exec_io_send(x, &m);
	}
}

/* A frame for the exec connection of an execio. */
static void
exec_io_send(struct hexec *x, const struct msg *m)
{
	struct wbuf	 wb;
	struct wire_err	 err;

	if (x->stream == NULL || !x->framed)
		return;
	wbuf_init(&wb);
	if (msg_encode(m, &wb, &err) == -1)
		log_warnx("exec %llu: cannot encode %s: %s",
		    (unsigned long long)x->id, msg_type_name(m->type), err.msg);
	else
		(void)proc_compose(&x->stream->p, IMSG_HOST_EXECSEND, -1,
		    wb.data, wb.len);
	wbuf_free(&wb);
}

/*
 * An exec with options: ax, its command, cwd and env (ax->envlen bytes of
 * NUL-ended KEY=VALUE, checked by the caller).  Sent at once to a booted
 * guest, at its boot otherwise.
 */
int
exec_request_io(uint32_t client, const struct attach_execio *ax,
    const char *cmd, const char *cwd, const char *env, const char **why)
{
	struct hexec	*x;

	if (sess.exited) {
		*why = "the session has ended";
		return (-1);
	}
	if (nexecs >= EXECS_MAX) {
		*why = "too many exec commands in progress";
		return (-1);
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->cmd = malloc(ax->cmdlen + 1)) == NULL ||
	    (x->cwd = malloc(ax->cwdlen + 1)) == NULL ||
	    (x->env = malloc(ax->envlen + 1)) == NULL)
		fatal("calloc");
	memcpy(x->cmd, cmd, ax->cmdlen);
	x->cmd[ax->cmdlen] = '\0';
	memcpy(x->cwd, cwd, ax->cwdlen);
	x->cwd[ax->cwdlen] = '\0';
	memcpy(x->env, env, ax->envlen);
	x->env[ax->envlen] = '\0';
	x->ax = *ax;
	x->opts = 1;
	wbuf_init(&x->frame);
	ev_timer_init(&x->tail, exec_tail_due, x);
	x->id = ++next_exec_id;
	x->client = client;
	TAILQ_INSERT_TAIL(&execs, x, entry);
	nexecs++;
	log_info("exec %llu for client %u (with options%s%s): %.*s",
	    (unsigned long long)x->id, client, ax->cols != 0 ? ", terminal" :
	    "", ax->timeout != 0 ? ", timeout" : "",
	    (int)(ax->cmdlen > 200 ? 200 : ax->cmdlen), cmd);
	if (guest_is_booted())
		exec_send(x);
	return (0);
}

/*
 * The request for the guest we have now: execio if it announced it, exec
 * if nothing else is asked; -1 and why if it cannot be done.
 */
static int
exec_encode(struct hexec *x, const char **why)
{
	struct wire_str	 env[EXECIO_ENV_MAX];
	struct msg	 m;
	struct wire_err	 err;
	const char	*p;
	size_t		 i;

	memset(&m, 0, sizeof(m));
	if (!(sess.agent_caps & CAPB_EXECIO)) {
		if (x->ax.flags & EXECIO_STDIN_DATA)
			*why = "this guest agent cannot pass stdin to exec "
			    "(give it </dev/null)";
		else if (x->ax.cols != 0)
			*why = "this guest agent cannot give exec a terminal "
			    "(-t)";
		else if (x->ax.nenv > 0)
			*why = "this guest agent cannot pass -e to exec";
		else if (x->ax.cwdlen > 0)
			*why = "this guest agent cannot run exec in another "
			    "directory (--cwd)";
		else if (x->ax.timeout != 0)
			*why = "this guest agent cannot time exec out "
			    "(--timeout)";
		else
			*why = NULL;
		if (*why != NULL)
			return (-1);
		m.type = MSG_EXEC;
		m.u.exec.id = x->id;
		m.u.exec.command.s = x->cmd;
		m.u.exec.command.len = x->ax.cmdlen;
	} else {
		for (i = 0, p = x->env; i < x->ax.nenv; i++, p += strlen(p) + 1) {
			env[i].s = (char *)(uintptr_t)p;
			env[i].len = strlen(p);
		}
		m.type = MSG_EXECIO;
		m.u.execio.id = x->id;
		m.u.execio.command.s = x->cmd;
		m.u.execio.command.len = x->ax.cmdlen;
		m.u.execio.env = env;
		m.u.execio.nenv = x->ax.nenv;
		m.u.execio.cwd.s = x->cwd;
		m.u.execio.cwd.len = x->ax.cwdlen;
		m.u.execio.cols = x->ax.cols;
		m.u.execio.rows = x->ax.rows;
		m.u.execio.timeout = x->ax.timeout;
		x->io = 1;
	}
	if (msg_encode(&m, &x->frame, &err) == -1) {
		log_warnx("exec %llu: %s", (unsigned long long)x->id, err.msg);
		*why = "the command cannot be sent (not UTF-8, or too long)";
		return (-1);
	}
	x->encoded = 1;
	return (0);
}

/* Send (or send again) the request to the booted guest. */
static void
exec_send(struct hexec *x)
{
	const char	*why;

	if (x->acked)
		return;
	if (x->encoded && x->io && !(sess.agent_caps & CAPB_EXECIO)) {
		/* Another agent took the place of the one that had it. */
		log_warnx("exec %llu: the guest agent no longer supports "
		    "execio", (unsigned long long)x->id);
		exec_failed(x->id, "the guest agent changed and cannot run "
		    "this exec any more");
		return;
	}
	if (!x->encoded && exec_encode(x, &why) == -1) {
		log_info("exec %llu refused: %s", (unsigned long long)x->id,
		    why);
		exec_failed(x->id, why);
		return;
	}
	(void)guest_send_frame(x->frame.data, x->frame.len);
}

int
exec_request(uint32_t client, const char *cmd, size_t len, const char **why)
{
	struct hexec	*x;
	struct msg	 m;
	struct wire_err	 err;

	if (sess.exited) {
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
	ev_timer_init(&x->tail, exec_tail_due, x);
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
	x->encoded = 1;
	TAILQ_INSERT_TAIL(&execs, x, entry);
	nexecs++;
	log_info("exec %llu for client %u: %.*s", (unsigned long long)x->id,
	    client, (int)(len > 200 ? 200 : len), cmd);
	(void)guest_send_frame(x->frame.data, x->frame.len);
	return (0);
}

/* After a boot: unacked requests again, oldest (smallest id) first. */
void
exec_replay(void)
{
	struct hexec	*x, *t;

	TAILQ_FOREACH_SAFE(x, &execs, entry, t)
		if (!x->acked)
			exec_send(x);
}

/* The exec's client left: the command goes too. */
void
exec_client_gone(uint32_t client)
{
	struct hexec	*x;

	TAILQ_FOREACH(x, &execs, entry) {
		if (x->client != client)
			continue;
		x->client = 0;
		if (x->done)
			continue;
		log_info("exec %llu: its client left: ending the command",
		    (unsigned long long)x->id);
		x->cancelled = 1;
		x->acked = 1;		/* never sent again */
		if (x->stream != NULL)
			child_stop(x->stream);
	}
}

/*
 * 1 while the exec's client is behind: its stream child is not read.  Only
 * for a plain exec: an execio's output is bounded by its grant, and its
 * child must stay read for the grants of input.
 */
int
exec_client_blocked(uint64_t id)
{
	struct hexec	*x;

	return ((x = exec_find(id)) != NULL && x->client != 0 && !x->framed &&
	    client_exec_blocked(x->client));
}

static struct hexec *
exec_of_client(uint32_t client)
{
	struct hexec	*x;

	TAILQ_FOREACH(x, &execs, entry)
		if (x->client == client && client != 0)
			return (x);
	return (NULL);
}

/*
 * Input from the client, within the grant it was given: -1 and why (the
 * client is then dropped) if it sends more, or input it may not send.
 */
int
exec_client_input(uint32_t client, const void *data, size_t len,
    const char **why)
{
	struct hexec	*x;
	struct msg	 m;

	/* Over, or its connection ended while this was on its way: dropped. */
	if ((x = exec_of_client(client)) == NULL || x->done ||
	    x->stream_done || x->cancelled)
		return (0);
	if (!x->framed || x->inend || len > x->in_credit) {
		*why = "sent input beyond its window";
		return (-1);
	}
	x->in_credit -= len;
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECINPUT;
	m.u.execinput.data.p = (uint8_t *)(uintptr_t)data;
	m.u.execinput.data.len = len;
	exec_io_send(x, &m);
	return (0);
}

void
exec_client_inputend(uint32_t client)
{
	struct hexec	*x;
	struct msg	 m;

	if ((x = exec_of_client(client)) == NULL || x->inend)
		return;
	x->inend = 1;
	if (!x->framed)
		return;		/* sent when the connection comes */
	x->inend_sent = 1;
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECINPUTEND;
	exec_io_send(x, &m);
}

/*
 * A signal the client took (Ctrl-C, Ctrl-\): the command's process group
 * gets it.  A plain exec cannot: its connection is closed instead, which
 * hangs the command up.
 */
void
exec_client_signal(uint32_t client, int32_t sig)
{
	struct hexec	*x;
	struct msg	 m;

	if ((x = exec_of_client(client)) == NULL || x->done)
		return;
	if (sig < 1 || sig > 31)
		return;
	if (x->stream == NULL || (!x->framed && !x->io)) {
		if (x->stream != NULL) {
			log_info("exec %llu: signal %d from the client: "
			    "closing its connection (a plain exec)",
			    (unsigned long long)x->id, sig);
			child_stop(x->stream);
		} else
			x->pending_sig = sig;
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECSIGNAL;
	m.u.execsignal.signal = sig;
	exec_io_send(x, &m);
}

void
exec_client_resize(uint32_t client, uint16_t cols, uint16_t rows)
{
	struct hexec	*x;
	struct msg	 m;

	if ((x = exec_of_client(client)) == NULL || x->ax.cols == 0)
		return;
	if (!x->encoded) {
		x->ax.cols = cols;
		x->ax.rows = rows;
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECRESIZE;
	m.u.resize.cols = cols;
	m.u.resize.rows = rows;
	exec_io_send(x, &m);
}

void
exec_acked(uint64_t id)
{
	struct hexec	*x;

	if ((x = exec_find(id)) != NULL)
		x->acked = 1;
	else
		log_debug("ack for unknown id %llu", (unsigned long long)id);
}

void
exec_done(uint64_t id, int code)
{
	struct hexec	*x;

	if ((x = exec_find(id)) == NULL) {
		log_debug("execdone for unknown exec %llu (a replay)",
		    (unsigned long long)id);
		return;
	}
	if (x->done)
		return;
	x->done = 1;
	x->acked = 1;
	x->code = code;
	log_info("exec %llu exited %d", (unsigned long long)x->id, x->code);
	if (x->stream_done)
		exec_finish(x);
	else
		ev_timer_in(&x->tail, EXEC_TAIL_MS);
}

/* The guest answered the request with an error: it did not run. */
void
exec_failed(uint64_t id, const char *why)
{
	struct hexec	*x;

	if ((x = exec_find(id)) == NULL)
		return;
	if (x->client != 0)
		client_exec_error(x->client, why);
	x->client = 0;
	x->done = 1;
	x->stream_done = 1;
	exec_finish(x);
}

void
exec_stream_started(struct hchild *c, uint64_t id)
{
	struct hexec	*x;
	int32_t		 mode = 0;

	c->exec_id = id;
	c->has_exec = 1;
	if ((x = exec_find(id)) == NULL || x->started) {
		log_warnx("exec connection for unknown exec %llu: output "
		    "dropped", (unsigned long long)id);
		(void)proc_compose(&c->p, IMSG_HOST_EXECFRAMED, -1, &mode,
		    sizeof(mode));
		return;
	}
	x->started = 1;
	x->stream = c;
	mode = x->io;
	(void)proc_compose(&c->p, IMSG_HOST_EXECFRAMED, -1, &mode,
	    sizeof(mode));
	if (x->cancelled) {
		child_stop(c);
		return;
	}
	if (!x->io) {
		if (x->pending_sig != 0)
			exec_client_signal(x->client, x->pending_sig);
		return;
	}
	x->framed = 1;
	x->in_credit = EXECIO_IN_WINDOW;
	if (x->client != 0 && (x->ax.flags & EXECIO_STDIN) && !x->inend)
		client_exec_window(x->client, EXECIO_IN_WINDOW);
	if (x->inend && !x->inend_sent) {
		x->inend = 0;
		exec_client_inputend(x->client);
	}
	if (x->pending_sig != 0)
		exec_client_signal(x->client, x->pending_sig);
}

void
exec_stream_stderr(struct hchild *c, const void *data, size_t len)
{
	struct hexec	*x;

	if ((x = exec_find(c->exec_id)) == NULL || !x->framed)
		return;
	x->out_owed += len;
	if (x->client != 0 && client_exec_stderr(x->client, data, len) == -1)
		x->client = 0;
}

/* The guest takes more input: the client may send it. */
void
exec_stream_inwindow(struct hchild *c, uint32_t bytes)
{
	struct hexec	*x;

	if ((x = exec_find(c->exec_id)) == NULL || !x->framed)
		return;
	if (x->in_credit + bytes > EXECIO_WINDOW_MAX) {
		log_warnx("exec %llu: the guest granted more than %d bytes of "
		    "input: connection closed", (unsigned long long)x->id,
		    EXECIO_WINDOW_MAX);
		child_stop(c);
		return;
	}
	x->in_credit += bytes;
	if (x->client != 0 && !x->inend)
		client_exec_window(x->client, bytes);
}

void
exec_stream_output(struct hchild *c, const void *data, size_t len)
{
	struct hexec	*x;

	if ((x = exec_find(c->exec_id)) == NULL || x->stream != c)
		return;
	if (x->framed)
		x->out_owed += len;
	if (x->client != 0 && client_exec_output(x->client, data, len) == -1)
		x->client = 0;
}

void
exec_stream_done(struct hchild *c)
{
	struct hexec	*x;

	if ((x = exec_find(c->exec_id)) == NULL || x->stream != c)
		return;
	x->stream = NULL;
	x->stream_done = 1;
	x->framed = 0;
	if (x->done)
		exec_finish(x);
}

static void
exec_tail_due(void *arg)
{
	struct hexec	*x = arg;

	log_warnx("exec %llu: no end of output %d ms after execdone",
	    (unsigned long long)x->id, EXEC_TAIL_MS);
	exec_finish(x);
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
	ev_timer_stop(&x->tail);
	TAILQ_REMOVE(&execs, x, entry);
	nexecs--;
	exec_free(x);
}

static void
exec_free(struct hexec *x)
{
	wbuf_free(&x->frame);
	free(x->cmd);
	free(x->cwd);
	free(x->env);
	free(x);
}

void
execs_free(void)
{
	struct hexec	*x;

	while ((x = TAILQ_FIRST(&execs)) != NULL) {
		ev_timer_stop(&x->tail);
		TAILQ_REMOVE(&execs, x, entry);
		exec_free(x);
	}
	nexecs = 0;
}
