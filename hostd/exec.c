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
};

static TAILQ_HEAD(, hexec) execs = TAILQ_HEAD_INITIALIZER(execs);
static size_t		 nexecs;
static uint64_t		 next_exec_id;

static struct hexec	*exec_find(uint64_t);
static void		 exec_finish(struct hexec *);
static void		 exec_tail_due(void *);

void
execs_init(void)
{
	next_exec_id = (uint64_t)now_us_real();
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
	struct hexec	*x;

	TAILQ_FOREACH(x, &execs, entry)
		if (!x->acked)
			(void)guest_send_frame(x->frame.data, x->frame.len);
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

/* 1 while the exec's client is behind: its stream child is not read. */
int
exec_client_blocked(uint64_t id)
{
	struct hexec	*x;

	return ((x = exec_find(id)) != NULL && x->client != 0 &&
	    client_exec_blocked(x->client));
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

	c->exec_id = id;
	c->has_exec = 1;
	if ((x = exec_find(id)) == NULL || x->started) {
		log_warnx("exec connection for unknown exec %llu: output "
		    "dropped", (unsigned long long)id);
		return;
	}
	x->started = 1;
	x->stream = c;
	if (x->cancelled)
		child_stop(c);
}

void
exec_stream_output(struct hchild *c, const void *data, size_t len)
{
	struct hexec	*x;

	if ((x = exec_find(c->exec_id)) == NULL || x->client == 0)
		return;
	if (client_exec_output(x->client, data, len) == -1)
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
	wbuf_free(&x->frame);
	free(x);
}

void
execs_free(void)
{
	struct hexec	*x;

	while ((x = TAILQ_FIRST(&execs)) != NULL) {
		ev_timer_stop(&x->tail);
		TAILQ_REMOVE(&execs, x, entry);
		wbuf_free(&x->frame);
		free(x);
	}
	nexecs = 0;
}
