/*
 * capsem-testhost: the host side of capsem-protocol(7) over the unix:DIR
 * transport, driven by a script, so that the integration tests can run the
 * real capsem-agent against something they control and inspect.
 *
 * It listens on DIR/{5000,5001,5004,5005,5006}.sock, runs the boot sequence
 * on every control connection, answers every ackable guest message with
 * ackreply (unless told not to), and records everything in OUTDIR:
 *   term.out      every terminal byte received, appended across reconnects
 *   events.jsonl  {"ms", "ev", "chan", ...} one object per event
 *   counts        connections accepted per channel and bootready count,
 *                 rewritten on every change (first written once listening)
 *   exec-ID.out   the raw output of exec ID
 *
 * The script runs as a state machine inside the poll loop, so connections
 * keep being served while a command waits.  One command per line, `#`
 * starts a comment.  TEXT and JSON are the rest of the line; SUBSTRING is
 * one word (C escapes \n \r \t \e \\ \xHH, \x20 for a space).  Timeouts
 * default to 10000 ms.
 *   wait-boot [N] [MS]      the Nth bootready (default: one more than seen)
 *   term TEXT               send TEXT (with escapes) on the terminal
 *   send JSON               encode an h2g message, send it on control
 *   raw-control HEX, raw-term HEX, random-control N, random-term N
 *   expect TAG [MS]         a g2h message TAG on control or lifecycle
 *   expect-json SUBSTRING [MS]  a g2h message whose JSON contains it
 *   expect-term SUBSTRING [MS]  terminal output after the previous match
 *   expect-term-eof [MS]    one more terminal EOF
 *   expect-exec ID [MS]     exec ID's output connection closed
 *   expect-audit SUBSTRING [MS]  an audit record whose JSON contains it
 *   wait-file PATH [MS]     PATH exists: the test's go-ahead, so that it can
 *                           look at the agent (/proc) at a known point
 *   term-pause on|off       stop (resume) reading the terminal connection,
 *                           as a host whose clients are all behind does
 *   audit-pause on|off      the same for audit connections (new ones too)
 *   audit-queued N [MS]     N bytes or more wait unread on audit connections
 *                           (then a "queued" event with the count)
 *   drop-audit              close the audit connections, unread bytes and
 *                           all, as a host whose reader died does
 *   drop, noack on|off, quiet MS, sleep MS, exit
 * Every expect consumes what it matched.  A failure prints
 * "testhost: line N: REASON" and exits 1; the end of the script exits 0.
 *
 * Input from the agent is untrusted as everywhere: bounded buffers, a bad
 * frame costs that frame, a lost framing that connection.  The program
 * touches only its sockets and the files in OUTDIR.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "frame.h"
#include "log.h"
#include "transport.h"
#include "wire.h"
#include "wirejson.h"

#define MAX_CONNS	256
#define MAX_ENV		256
#define MAX_RECS	8192
#define OUT_MAX		(32 * 1024 * 1024)	/* per connection, unsent */
#define TR_MAX		(8 * 1024 * 1024)	/* terminal bytes kept to search */
#define LINE_MAX_LEN	(8 * 1024 * 1024)	/* a filewrite JSON can be big */
#define NEEDLE_MAX	65536
#define RANDOM_MAX	(16 * 1024 * 1024)
#define READ_CHUNK	65536
#define DEFAULT_MS	10000
#define RANDOM_SEED	4242
#define FLUSH_MS	1000
#define WAIT_FILE_MS	10

enum chan { CH_CONTROL, CH_TERMINAL, CH_LIFECYCLE, CH_EXEC, CH_AUDIT, CH_N };

static const struct {
	uint32_t	 port;
	const char	*name;
} chans[CH_N] = {
	{ PORT_CONTROL, "control" },
	{ PORT_TERMINAL, "terminal" },
	{ PORT_LIFECYCLE, "lifecycle" },
	{ PORT_EXEC, "exec" },
	{ PORT_AUDIT, "audit" },
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	int			 fd;
	enum chan		 chan;
	struct frame_reader	 fr;
	struct wbuf		 out;
	size_t			 off;		/* bytes of out already sent */
	int			 booted;	/* control: boot sequence sent */
	int			 execstarted;
	int			 reported;	/* close events emitted */
	uint64_t		 execid;
	int			 execfd;
	uint64_t		 execbytes;
};

/* What the expect commands look for; each match is consumed once. */
enum rec_kind { REC_MSG, REC_AUDIT, REC_EXEC };

struct rec {
	enum rec_kind	 kind;
	enum msg_type	 type;
	uint64_t	 id;
	char		*json;
	int		 used;
};

struct host {
	char			 outdir[PATH_MAX];
	struct transport	 tr;
	int			 lfd[CH_N];
	TAILQ_HEAD(, conn)	 conns;
	size_t			 nconns;
	struct conn		*control;	/* the newest of each */
	struct conn		*term;
	unsigned int		 accepts[CH_N];
	unsigned int		 naccept;
	unsigned int		 nboot, bootseen;
	unsigned int		 ntermeof, termeofseen;
	int			 noack;
	int			 term_paused;
	int			 audit_paused;
	uint32_t		 caps;		/* CAPB_* to announce */
	uint64_t		 epoch;
	char			*envkey[MAX_ENV];
	char			*envval[MAX_ENV];
	size_t			 nenv;
	FILE			*events;
	int			 termfd;
	uint8_t			*trbuf;		/* terminal bytes not yet matched */
	size_t			 trlen;
	struct rec		 recs[MAX_RECS];
	size_t			 nrecs;
	int			 verbose;
	int64_t			 start;
};

enum { CMD_FAIL = -1, CMD_DONE, CMD_WAIT };

struct script;
struct command {
	const char	*name;
	int		(*fn)(struct host *, struct script *, char *);
};

struct script {
	int			 fd;		/* -1: no script */
	int			 eof;
	char			*buf;		/* script bytes not yet run */
	size_t			 len;
	char			*line;		/* the current command's line */
	int			 lineno;
	const struct command	*cmd;
	char			*args;
	int			 started;
	int64_t			 deadline;
	uint64_t		 timeout;
	int			 recheck_ms;	/* >0: poll no longer than this */
	uint64_t		 n;
	unsigned int		 count0;
	enum msg_type		 tag;
	char			*needle;
	size_t			 needlelen;
	char			*path;		/* wait-file */
	char			 err[512];
};

static struct host	 host;

__dead static void	usage(void);
static int	outpath(struct host *, char *, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static void	write_all(int, const void *, size_t, const char *);
static json_t	*ev_new(struct host *, const char *, int);
static void	ev_emit(struct host *, json_t *);
static void	counts_write(struct host *);
static void	rec_add(struct host *, enum rec_kind, enum msg_type, uint64_t,
		    json_t *);
static void	host_listen(struct host *, const char *);
__dead static void host_exit(struct host *, int);
static int	conn_flush(struct host *, struct conn *, int64_t);
static void	host_flush(struct host *);
static void	conn_accept(struct host *, int);
static void	conn_close(struct host *, struct conn *, const char *);
static void	conn_report(struct host *, struct conn *, const char *);
static void	exec_settle(struct host *);
static void	conn_settle(struct host *, enum chan);
static int	conn_queue(struct conn *, const void *, size_t);
static int	conn_send_msg(struct host *, struct conn *, struct msg *);
static int	conn_write(struct host *, struct conn *);
static int	conn_read(struct host *, struct conn *);
static int	conn_frames(struct host *, struct conn *, const uint8_t *,
		    size_t);
static int	frame_exec(struct host *, struct conn *, const uint8_t *,
		    size_t);
static void	frame_msg(struct host *, struct conn *, const uint8_t *,
		    size_t);
static void	frame_audit(struct host *, struct conn *, const uint8_t *,
		    size_t);
static void	ev_badframe(struct host *, struct conn *,
		    const struct wire_err *);
static void	ctl_boot(struct host *, struct conn *);
static uint32_t	caps_arg(const char *);
static void	ctl_ackreply(struct host *, struct conn *, const struct msg *);
static void	term_input(struct host *, const uint8_t *, size_t);
static void	exec_output(struct host *, struct conn *, const uint8_t *,
		    size_t);
static char	*token(char **);
static int	unescape(const char *, char *, size_t *);
static int	fail(struct script *, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));
static int	noextra(struct script *, char *);
static int	parse_num(struct script *, const char *, long long, long long,
		    uint64_t *);
static int	parse_timeout(struct script *, char *);
static int	parse_needle(struct script *, char **);
static int	script_wait(struct script *, int, const char *);
static int	send_bytes(struct script *, struct conn *, const void *,
		    size_t);
static struct rec *rec_find(struct host *, struct script *, enum rec_kind);
static int	cmd_wait_boot(struct host *, struct script *, char *);
static int	cmd_term(struct host *, struct script *, char *);
static int	cmd_send(struct host *, struct script *, char *);
static int	cmd_raw(struct script *, struct conn *, char *);
static int	cmd_raw_control(struct host *, struct script *, char *);
static int	cmd_raw_term(struct host *, struct script *, char *);
static int	cmd_random(struct script *, struct conn *, char *);
static int	cmd_random_control(struct host *, struct script *, char *);
static int	cmd_random_term(struct host *, struct script *, char *);
static int	cmd_expect(struct host *, struct script *, char *);
static int	cmd_expect_json(struct host *, struct script *, char *);
static int	cmd_expect_term(struct host *, struct script *, char *);
static int	cmd_expect_term_eof(struct host *, struct script *, char *);
static int	cmd_expect_exec(struct host *, struct script *, char *);
static int	cmd_expect_audit(struct host *, struct script *, char *);
static int	cmd_wait_file(struct host *, struct script *, char *);
static int	cmd_drop(struct host *, struct script *, char *);
static int	cmd_noack(struct host *, struct script *, char *);
static int	cmd_term_pause(struct host *, struct script *, char *);
static int	cmd_audit_pause(struct host *, struct script *, char *);
static int	cmd_audit_queued(struct host *, struct script *, char *);
static int	cmd_drop_audit(struct host *, struct script *, char *);
static int	cmd_quiet(struct host *, struct script *, char *);
static int	cmd_sleep(struct host *, struct script *, char *);
static int	cmd_exit(struct host *, struct script *, char *);
static int	script_next(struct script *);
static void	script_done(struct script *);
static void	script_run(struct host *, struct script *);
static void	script_input(struct script *);
__dead static void host_loop(struct host *, struct script *);

static const struct command commands[] = {
	{ "wait-boot",		cmd_wait_boot },
	{ "term",		cmd_term },
	{ "send",		cmd_send },
	{ "raw-control",	cmd_raw_control },
	{ "raw-term",		cmd_raw_term },
	{ "random-control",	cmd_random_control },
	{ "random-term",	cmd_random_term },
	{ "expect",		cmd_expect },
	{ "expect-json",	cmd_expect_json },
	{ "expect-term",	cmd_expect_term },
	{ "expect-term-eof",	cmd_expect_term_eof },
	{ "expect-exec",	cmd_expect_exec },
	{ "expect-audit",	cmd_expect_audit },
	{ "wait-file",		cmd_wait_file },
	{ "drop",		cmd_drop },
	{ "noack",		cmd_noack },
	{ "term-pause",		cmd_term_pause },
	{ "audit-pause",	cmd_audit_pause },
	{ "audit-queued",	cmd_audit_queued },
	{ "drop-audit",		cmd_drop_audit },
	{ "quiet",		cmd_quiet },
	{ "sleep",		cmd_sleep },
	{ "exit",		cmd_exit },
};

__dead static void
usage(void)
{
	fprintf(stderr, "usage: capsem-testhost -D dir [-cCv] [-A caps] "
	    "[-E epoch] [-e key=value] [-o outdir] [-s script]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct host	*h = &host;
	struct script	 sc;
	const char	*dir = NULL, *script = NULL, *errstr;
	char		 path[PATH_MAX], *eq;
	int		 ch;

	log_init(1, LOG_USER);
	log_procinit("testhost");
	memset(&sc, 0, sizeof(sc));
	sc.fd = -1;
	h->caps = CAPB_SHELLEXITED;
	while ((ch = getopt(argc, argv, "A:cCD:E:e:o:s:v")) != -1) {
		switch (ch) {
		case 'A':
			h->caps = caps_arg(optarg);
			break;
		case 'c':
			h->caps = CAPB_SHELLEXITED;
			break;
		case 'C':
			h->caps = 0;
			break;
		case 'D':
			dir = optarg;
			break;
		case 'E':
			h->epoch = strtonum(optarg, 0, LLONG_MAX, &errstr);
			if (errstr != NULL)
				fatalx("epoch %s: %s", optarg, errstr);
			break;
		case 'e':
			if ((eq = strchr(optarg, '=')) == NULL ||
			    h->nenv == MAX_ENV)
				fatalx("-e %s: want KEY=VALUE (at most %d)",
				    optarg, MAX_ENV);
			if ((h->envkey[h->nenv] = strndup(optarg,
			    eq - optarg)) == NULL ||
			    (h->envval[h->nenv] = strdup(eq + 1)) == NULL)
				fatal("strdup");
			h->nenv++;
			break;
		case 'o':
			if (strlcpy(h->outdir, optarg, sizeof(h->outdir)) >=
			    sizeof(h->outdir))
				fatalx("-o: path too long");
			break;
		case 's':
			script = optarg;
			break;
		case 'v':
			h->verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (dir == NULL || optind != argc)
		usage();
	if (h->outdir[0] == '\0' &&
	    strlcpy(h->outdir, dir, sizeof(h->outdir)) >= sizeof(h->outdir))
		fatalx("-D: path too long");

	signal(SIGPIPE, SIG_IGN);
	srandom(RANDOM_SEED);
	h->start = now_ms();
	TAILQ_INIT(&h->conns);
	if (outpath(h, path, "events.jsonl") == -1 ||
	    (h->events = fopen(path, "ae")) == NULL)
		fatal("%s/events.jsonl", h->outdir);
	if (outpath(h, path, "term.out") == -1 || (h->termfd = open(path,
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) == -1)
		fatal("%s/term.out", h->outdir);
	if (script != NULL && strcmp(script, "-") == 0)
		sc.fd = STDIN_FILENO;
	else if (script != NULL &&
	    (sc.fd = open(script, O_RDONLY | O_CLOEXEC)) == -1)
		fatal("%s", script);
	host_listen(h, dir);
	counts_write(h);
	host_loop(h, &sc);
}


static int
outpath(struct host *h, char *buf, const char *fmt, ...)
{
	char	name[NAME_MAX];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(name))
		return (-1);
	n = snprintf(buf, PATH_MAX, "%s/%s", h->outdir, name);
	return (n < 0 || n >= PATH_MAX ? -1 : 0);
}

/* Output files are ours: failing to write one makes every result void. */
static void
write_all(int fd, const void *p, size_t len, const char *what)
{
	const uint8_t	*b = p;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, b, len)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("write %s", what);
		}
		b += n;
		len -= n;
	}
}

static json_t *
ev_new(struct host *h, const char *ev, int chan)
{
	json_t	*o;

	if ((o = json_object()) == NULL)
		fatalx("json_object");
	json_object_set_new(o, "ms", json_integer(now_ms() - h->start));
	json_object_set_new(o, "ev", json_string(ev));
	if (chan >= 0)
		json_object_set_new(o, "chan", json_string(chans[chan].name));
	return (o);
}

static void
ev_emit(struct host *h, json_t *o)
{
	char	*s;

	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("json_dumps");
	fprintf(h->events, "%s\n", s);
	if (fflush(h->events) == EOF)
		fatal("events.jsonl");
	if (h->verbose)
		fprintf(stderr, "testhost: %s\n", s);
	free(s);
	json_decref(o);
}

/* Written to a temporary name and renamed: a reader never sees half. */
static void
counts_write(struct host *h)
{
	char	 path[PATH_MAX], tmp[PATH_MAX];
	FILE	*f;
	int	 i;

	if (outpath(h, path, "counts") == -1 ||
	    outpath(h, tmp, "counts.tmp") == -1)
		fatalx("counts: path too long");
	if ((f = fopen(tmp, "we")) == NULL)
		fatal("%s", tmp);
	for (i = 0; i < CH_N; i++)
		fprintf(f, "%s %u\n", chans[i].name, h->accepts[i]);
	fprintf(f, "bootready %u\n", h->nboot);
	if (fclose(f) == EOF || rename(tmp, path) == -1)
		fatal("%s", path);
}

/* Takes the reference to j.  The oldest record goes when the table is full. */
static void
rec_add(struct host *h, enum rec_kind kind, enum msg_type type, uint64_t id,
    json_t *j)
{
	struct rec	*r;

	if (h->nrecs == MAX_RECS) {
		free(h->recs[0].json);
		memmove(&h->recs[0], &h->recs[1],
		    (MAX_RECS - 1) * sizeof(h->recs[0]));
		h->nrecs--;
	}
	r = &h->recs[h->nrecs++];
	r->kind = kind;
	r->type = type;
	r->id = id;
	r->used = 0;
	r->json = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
}

static void
host_listen(struct host *h, const char *dir)
{
	char	spec[PATH_MAX + 8], err[256];
	int	i;

	snprintf(spec, sizeof(spec), "unix:%s", dir);
	if (transport_parse(spec, &h->tr, err, sizeof(err)) == -1)
		fatalx("%s", err);
	for (i = 0; i < CH_N; i++)
		if ((h->lfd[i] = transport_listen(&h->tr, chans[i].port)) ==
		    -1)
			fatal("listen %s/%u.sock", dir, chans[i].port);
}

__dead static void
host_exit(struct host *h, int status)
{
	struct conn	*c;
	char		 path[PATH_MAX];
	int		 i;

	host_flush(h);
	while ((c = TAILQ_FIRST(&h->conns)) != NULL)
		conn_close(h, c, "exit");
	for (i = 0; i < CH_N; i++) {
		close(h->lfd[i]);
		if (snprintf(path, sizeof(path), "%s/%u.sock", h->tr.path,
		    chans[i].port) < (int)sizeof(path))
			unlink(path);
	}
	ev_emit(h, ev_new(h, "exit", -1));
	fclose(h->events);
	exit(status);
}

/*
 * What the script queued should reach the agent before we close (drop,
 * exit).  Returns -1 when the connection was closed (and freed).
 */
static int
conn_flush(struct host *h, struct conn *c, int64_t end)
{
	struct pollfd	pfd;

	while (c->out.len > c->off && now_ms() < end) {
		pfd.fd = c->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, end - now_ms()) > 0 &&
		    conn_write(h, c) == -1)
			return (-1);
	}
	return (0);
}

static void
host_flush(struct host *h)
{
	struct conn	*c, *tc;
	int64_t	 end = now_ms() + FLUSH_MS;

	TAILQ_FOREACH_SAFE(c, &h->conns, entry, tc)
		conn_flush(h, c, end);
}

static void
conn_accept(struct host *h, int chan)
{
	struct conn	*c;
	int		 fd;

	while ((fd = accept4(h->lfd[chan], NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		if (h->nconns == MAX_CONNS) {
			close(fd);
			ev_emit(h, ev_new(h, "refused", chan));
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL)
			fatal("calloc");
		c->fd = fd;
		c->chan = chan;
		c->execfd = -1;
		frame_reader_init(&c->fr, FRAME_MAX);
		wbuf_init(&c->out);
		TAILQ_INSERT_TAIL(&h->conns, c, entry);
		h->nconns++;
		h->accepts[chan]++;
		h->naccept++;
		if (chan == CH_CONTROL)
			h->control = c;
		else if (chan == CH_TERMINAL)
			h->term = c;
		ev_emit(h, ev_new(h, "accept", chan));
		counts_write(h);
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
	    errno != ECONNABORTED)
		log_warn("accept %s", chans[chan].name);
}

/* reason: "eof" (the guest closed), "drop" or "exit" (we did), an error. */
static void
conn_close(struct host *h, struct conn *c, const char *reason)
{
	conn_report(h, c, reason);
	if (c->execfd != -1)
		close(c->execfd);
	if (h->control == c)
		h->control = NULL;
	if (h->term == c)
		h->term = NULL;
	TAILQ_REMOVE(&h->conns, c, entry);
	h->nconns--;
	close(c->fd);
	frame_reader_free(&c->fr);
	wbuf_free(&c->out);
	free(c);
}

/* The events of a connection's end, once, when it is first seen. */
static void
conn_report(struct host *h, struct conn *c, const char *reason)
{
	json_t	*o;

	if (c->reported)
		return;
	c->reported = 1;
	o = ev_new(h, "close", c->chan);
	json_object_set_new(o, "reason", json_string(reason));
	if (c->chan == CH_EXEC && c->execstarted) {
		json_object_set_new(o, "id", json_integer(c->execid));
		json_object_set_new(o, "bytes", json_integer(c->execbytes));
	}
	ev_emit(h, o);
	if (c->chan == CH_TERMINAL && strcmp(reason, "eof") == 0)
		h->ntermeof++;
	if (c->chan == CH_EXEC && c->execstarted) {
		o = ev_new(h, "exec-output", CH_EXEC);
		json_object_set_new(o, "id", json_integer(c->execid));
		json_object_set_new(o, "bytes", json_integer(c->execbytes));
		ev_emit(h, o);
		rec_add(h, REC_EXEC, MSG_NONE, c->execid, NULL);
	}
}

/*
 * The agent closes an exec connection before it sends its execdone, but
 * this host may see the control frame first (both readable in one poll
 * round, or the exec connection not even accepted yet).  Before an
 * execdone is recorded, take in every exec connection's pending bytes and
 * EOF, so the events keep the order in which the agent produced them.
 * Connections are only reported here; the loop frees them as usual.
 */
static void
exec_settle(struct host *h)
{
	conn_settle(h, CH_EXEC);
}

/* The same for the terminal, whose end the agent sends before shellexited. */
static void
conn_settle(struct host *h, enum chan chan)
{
	struct conn	*c;
	uint8_t		 buf[READ_CHUNK];
	ssize_t		 n;

	conn_accept(h, chan);
	TAILQ_FOREACH(c, &h->conns, entry) {
		if (c->chan != chan || c->reported)
			continue;
		while ((n = read(c->fd, buf, sizeof(buf))) > 0) {
			if (chan == CH_TERMINAL)
				term_input(h, buf, n);
			else if (c->execstarted)
				exec_output(h, c, buf, n);
			else if (conn_frames(h, c, buf, n) == -1)
				break;
		}
		if (n == 0)
			conn_report(h, c, "eof");
	}
}

static int
conn_queue(struct conn *c, const void *p, size_t len)
{
	uint8_t	*n;
	size_t	 cap;

	if (c->out.len - c->off + len > OUT_MAX)
		return (-1);
	if (c->out.cap - c->out.len < len) {
		cap = c->out.cap < 4096 ? 4096 : c->out.cap;
		while (cap - c->out.len < len)
			cap *= 2;
		if ((n = realloc(c->out.data, cap)) == NULL)
			fatal("realloc");
		c->out.data = n;
		c->out.cap = cap;
	}
	memcpy(c->out.data + c->out.len, p, len);
	c->out.len += len;
	return (0);
}

static int
conn_send_msg(struct host *h, struct conn *c, struct msg *m)
{
	struct wire_err	 werr;
	json_t		*o;

	if (c->out.len - c->off > OUT_MAX) {
		log_warnx("%s: output buffer full", chans[c->chan].name);
		return (-1);
	}
	if (msg_encode(m, &c->out, &werr) == -1) {
		log_warnx("encode %s: %s", msg_type_name(m->type), werr.msg);
		return (-1);
	}
	o = ev_new(h, "send", c->chan);
	json_object_set_new(o, "msg", msg_to_json(m));
	ev_emit(h, o);
	return (0);
}

/* Returns -1 when the connection was closed (and freed). */
static int
conn_write(struct host *h, struct conn *c)
{
	ssize_t	n;

	n = send(c->fd, c->out.data + c->off, c->out.len - c->off,
	    MSG_NOSIGNAL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (0);
		conn_close(h, c, strerror(errno));
		return (-1);
	}
	c->off += n;
	if (c->off == c->out.len) {
		c->off = 0;
		wbuf_reset(&c->out);
	}
	return (0);
}

/* Returns -1 when the connection was closed (and freed). */
static int
conn_read(struct host *h, struct conn *c)
{
	uint8_t	buf[READ_CHUNK];
	ssize_t	n;

	if ((n = read(c->fd, buf, sizeof(buf))) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (0);
		conn_close(h, c, strerror(errno));
		return (-1);
	}
	if (n == 0) {
		conn_close(h, c, "eof");
		return (-1);
	}
	if (c->chan == CH_TERMINAL)
		term_input(h, buf, n);
	else if (c->chan == CH_EXEC && c->execstarted)
		exec_output(h, c, buf, n);
	else if (conn_frames(h, c, buf, n) == -1) {
		conn_close(h, c, "framing lost");
		return (-1);
	}
	return (0);
}

static int
conn_frames(struct host *h, struct conn *c, const uint8_t *p, size_t len)
{
	const uint8_t	*body;
	json_t		*o;
	char		 buf[128];
	size_t		 used, blen;
	int		 rc;

	while (len > 0) {
		rc = frame_reader_feed(&c->fr, p, len, &used);
		p += used;
		len -= used;
		if (rc == FRAME_MORE)
			continue;
		if (rc != FRAME_READY) {
			snprintf(buf, sizeof(buf), "frame length %zu over "
			    "FRAME_MAX: framing lost",
			    frame_reader_declared(&c->fr));
			o = ev_new(h, "badframe", c->chan);
			json_object_set_new(o, "error", json_string(buf));
			ev_emit(h, o);
			return (-1);
		}
		body = frame_reader_body(&c->fr, &blen);
		if (c->chan == CH_EXEC) {
			if (frame_exec(h, c, body, blen) == -1)
				return (-1);
			if (len > 0)
				exec_output(h, c, p, len);
			return (0);
		}
		if (c->chan == CH_AUDIT)
			frame_audit(h, c, body, blen);
		else
			frame_msg(h, c, body, blen);
	}
	return (0);
}

static void
ev_badframe(struct host *h, struct conn *c, const struct wire_err *werr)
{
	json_t	*o;
	char	 buf[256];

	snprintf(buf, sizeof(buf), "%s at offset %zu: %s",
	    wire_errstr(werr->code), werr->offset, werr->msg);
	o = ev_new(h, "badframe", c->chan);
	json_object_set_new(o, "error", json_string(buf));
	ev_emit(h, o);
}

static int
frame_exec(struct host *h, struct conn *c, const uint8_t *p, size_t len)
{
	struct msg	 m;
	struct wire_err	 werr;
	json_t		*o;
	char		 path[PATH_MAX];

	if (msg_decode(WIRE_G2H, p, len, &m, &werr) == -1) {
		ev_badframe(h, c, &werr);
		return (-1);
	}
	o = ev_new(h, "frame", c->chan);
	json_object_set_new(o, "msg", msg_to_json(&m));
	ev_emit(h, o);
	if (m.type != MSG_EXECSTARTED) {
		msg_free(&m);
		return (-1);
	}
	c->execstarted = 1;
	c->execid = m.u.execstarted.id;
	msg_free(&m);
	if (outpath(h, path, "exec-%llu.out",
	    (unsigned long long)c->execid) == -1 || (c->execfd = open(path,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1)
		fatal("exec-%llu.out", (unsigned long long)c->execid);
	return (0);
}

/* Control and lifecycle: record, then the host's part of the protocol. */
static void
frame_msg(struct host *h, struct conn *c, const uint8_t *p, size_t len)
{
	struct msg	 m;
	struct wire_err	 werr;
	json_t		*o, *j;

	if (msg_decode(WIRE_G2H, p, len, &m, &werr) == -1) {
		ev_badframe(h, c, &werr);
		return;
	}
	if (m.type == MSG_EXECDONE)
		exec_settle(h);
	else if (m.type == MSG_SHELLEXITED)
		conn_settle(h, CH_TERMINAL);
	j = msg_to_json(&m);
	o = ev_new(h, "frame", c->chan);
	json_object_set(o, "msg", j != NULL ? j : json_null());
	ev_emit(h, o);
	rec_add(h, REC_MSG, m.type, 0, j);
	if (c->chan == CH_CONTROL) {
		if (m.type == MSG_READY && !c->booted)
			ctl_boot(h, c);
		else if (m.type == MSG_BOOTREADY) {
			h->nboot++;
			counts_write(h);
		} else if (msg_is_ackable(m.type) && !h->noack)
			ctl_ackreply(h, c, &m);
	}
	msg_free(&m);
}

static void
frame_audit(struct host *h, struct conn *c, const uint8_t *p, size_t len)
{
	struct audit_record	 ar;
	struct wire_err		 werr;
	json_t			*o, *j;

	if (audit_record_decode(p, len, &ar, &werr) == -1) {
		ev_badframe(h, c, &werr);
		return;
	}
	j = audit_record_to_json(&ar);
	o = ev_new(h, "audit", c->chan);
	json_object_set(o, "msg", j != NULL ? j : json_null());
	ev_emit(h, o);
	rec_add(h, REC_AUDIT, MSG_NONE, 0, j);
	audit_record_free(&ar);
}

/* -A "shellexited,agentcaps": the names, each one known. */
static uint32_t
caps_arg(const char *arg)
{
	struct wire_str	 one;
	char		*copy, *p, *name;
	uint32_t	 mask = 0, bit;

	if ((copy = strdup(arg)) == NULL)
		fatal("strdup");
	for (p = copy; (name = strsep(&p, ",")) != NULL;) {
		if (*name == '\0')
			continue;
		one.s = name;
		one.len = strlen(name);
		if ((bit = cap_mask(&one, 1)) == 0)
			fatalx("-A: unknown capability \"%s\"", name);
		mask |= bit;
	}
	free(copy);
	return (mask);
}

static void
ctl_boot(struct host *h, struct conn *c)
{
	struct wire_str	 caps[CAPB_NAMES_MAX];
	struct msg	 m;
	size_t		 i;

	c->booted = 1;
	memset(&m, 0, sizeof(m));
	m.type = MSG_BOOTCONFIG;
	m.u.bootconfig.epoch_secs = h->epoch;
	if (h->caps) {
		m.u.bootconfig.caps = caps;
		m.u.bootconfig.ncaps = cap_names(h->caps, caps);
		m.u.bootconfig.has_caps = 1;
	}
	conn_send_msg(h, c, &m);
	for (i = 0; i < h->nenv; i++) {
		memset(&m, 0, sizeof(m));
		m.type = MSG_SETENV;
		m.u.setenv.key.s = h->envkey[i];
		m.u.setenv.key.len = strlen(h->envkey[i]);
		m.u.setenv.value.s = h->envval[i];
		m.u.setenv.value.len = strlen(h->envval[i]);
		conn_send_msg(h, c, &m);
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_BOOTCONFIGDONE;
	conn_send_msg(h, c, &m);
}

static void
ctl_ackreply(struct host *h, struct conn *c, const struct msg *in)
{
	struct msg	m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_ACKREPLY;
	m.u.ackreply.id = msg_ack_id(in);
	conn_send_msg(h, c, &m);
}

/* Never parsed: a frame inside the terminal stream is just bytes here. */
static void
term_input(struct host *h, const uint8_t *p, size_t len)
{
	size_t	drop;

	write_all(h->termfd, p, len, "term.out");
	if (h->trbuf == NULL && (h->trbuf = malloc(TR_MAX)) == NULL)
		fatal("malloc");
	if (h->trlen + len > TR_MAX) {
		drop = h->trlen + len - TR_MAX / 2;
		memmove(h->trbuf, h->trbuf + drop, h->trlen - drop);
		h->trlen -= drop;
	}
	memcpy(h->trbuf + h->trlen, p, len);
	h->trlen += len;
}

static void
exec_output(struct host *h, struct conn *c, const uint8_t *p, size_t len)
{
	write_all(c->execfd, p, len, "exec output");
	c->execbytes += len;
}

/* Script parsing helpers. */

static char *
token(char **p)
{
	char	*s, *e;

	s = *p + strspn(*p, " \t");
	if (*s == '\0') {
		*p = s;
		return (NULL);
	}
	e = s + strcspn(s, " \t");
	if (*e != '\0')
		*e++ = '\0';
	*p = e;
	return (s);
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

/* out must hold strlen(s) bytes: the result is never longer. */
static int
unescape(const char *s, char *out, size_t *outlen)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			out[n++] = *s;
			continue;
		}
		switch (*++s) {
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'e':
			out[n++] = 0x1b;
			break;
		case '\\':
			out[n++] = '\\';
			break;
		case 'x':
			if (hexval(s[1]) == -1 || hexval(s[2]) == -1)
				return (-1);
			out[n++] = hexval(s[1]) << 4 | hexval(s[2]);
			s += 2;
			break;
		default:
			return (-1);
		}
	}
	*outlen = n;
	return (0);
}

static int
fail(struct script *sc, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(sc->err, sizeof(sc->err), fmt, ap);
	va_end(ap);
	return (CMD_FAIL);
}

static int
noextra(struct script *sc, char *args)
{
	char	*t;

	if ((t = token(&args)) != NULL)
		return (fail(sc, "%s: unexpected argument \"%s\"",
		    sc->cmd->name, t));
	return (0);
}

static int
parse_num(struct script *sc, const char *s, long long min, long long max,
    uint64_t *out)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		return (fail(sc, "%s: number %s is %s", sc->cmd->name, s,
		    errstr));
	*out = v;
	return (0);
}

/* tok may be NULL (the default); the rest of args must be empty. */
static int
parse_timeout(struct script *sc, char *args)
{
	char	*tok;

	sc->timeout = DEFAULT_MS;
	if ((tok = token(&args)) != NULL &&
	    parse_num(sc, tok, 0, INT_MAX, &sc->timeout) == -1)
		return (-1);
	if (noextra(sc, args) == -1)
		return (-1);
	sc->deadline = now_ms() + sc->timeout;
	return (0);
}

static int
parse_needle(struct script *sc, char **args)
{
	char	*tok;

	if ((tok = token(args)) == NULL)
		return (fail(sc, "%s: missing argument", sc->cmd->name));
	if (strlen(tok) > NEEDLE_MAX)
		return (fail(sc, "%s: argument too long", sc->cmd->name));
	if ((sc->needle = malloc(strlen(tok) + 1)) == NULL)
		fatal("malloc");
	if (unescape(tok, sc->needle, &sc->needlelen) == -1)
		return (fail(sc, "%s: bad escape in \"%s\"", sc->cmd->name,
		    tok));
	return (parse_timeout(sc, *args));
}

static int
script_wait(struct script *sc, int done, const char *what)
{
	if (done)
		return (CMD_DONE);
	if (now_ms() >= sc->deadline)
		return (fail(sc, "%s: timeout after %llu ms", what,
		    (unsigned long long)sc->timeout));
	return (CMD_WAIT);
}

static int
send_bytes(struct script *sc, struct conn *c, const void *p, size_t len)
{
	if (c == NULL)
		return (fail(sc, "%s: no %s connection", sc->cmd->name,
		    strstr(sc->cmd->name, "term") ? "terminal" : "control"));
	if (conn_queue(c, p, len) == -1)
		return (fail(sc, "%s: output buffer full", sc->cmd->name));
	return (CMD_DONE);
}

/* The oldest unused record of kind that matches the current command. */
static struct rec *
rec_find(struct host *h, struct script *sc, enum rec_kind kind)
{
	struct rec	*r;
	size_t		 i;

	for (i = 0; i < h->nrecs; i++) {
		r = &h->recs[i];
		if (r->used || r->kind != kind)
			continue;
		if ((kind == REC_MSG && sc->needle == NULL &&
		    r->type == sc->tag) ||
		    (kind == REC_EXEC && r->id == sc->n) ||
		    (sc->needle != NULL && r->json != NULL &&
		    memmem(r->json, strlen(r->json), sc->needle,
		    sc->needlelen) != NULL)) {
			r->used = 1;
			return (r);
		}
	}
	return (NULL);
}

/* Script commands: called until they return CMD_DONE or CMD_FAIL. */

static int
cmd_wait_boot(struct host *h, struct script *sc, char *args)
{
	char	*tok, *rest;

	if (!sc->started) {
		sc->n = h->bootseen + 1;
		rest = args;
		if ((tok = token(&rest)) != NULL &&
		    parse_num(sc, tok, 1, INT_MAX, &sc->n) == -1)
			return (CMD_FAIL);
		if (parse_timeout(sc, rest) == -1)
			return (CMD_FAIL);
	}
	if (h->nboot >= sc->n)
		h->bootseen = h->nboot;
	return (script_wait(sc, h->nboot >= sc->n, "wait-boot"));
}

static int
cmd_term(struct host *h, struct script *sc, char *args)
{
	char	*buf;
	size_t	 len;
	int	 rc;

	if ((buf = malloc(strlen(args) + 1)) == NULL)
		fatal("malloc");
	if (unescape(args, buf, &len) == -1)
		rc = fail(sc, "term: bad escape");
	else
		rc = send_bytes(sc, h->term, buf, len);
	free(buf);
	return (rc);
}

static int
cmd_send(struct host *h, struct script *sc, char *args)
{
	struct msg	 m;
	json_error_t	 jerr;
	json_t		*j;
	char		 err[256];
	int		 rc;

	if (h->control == NULL)
		return (fail(sc, "send: no control connection"));
	if ((j = json_loads(args, 0, &jerr)) == NULL)
		return (fail(sc, "send: bad JSON: %s", jerr.text));
	rc = msg_from_json(WIRE_H2G, j, &m, err, sizeof(err));
	json_decref(j);
	if (rc == -1)
		return (fail(sc, "send: %s", err));
	rc = conn_send_msg(h, h->control, &m);
	msg_free(&m);
	if (rc == -1)
		return (fail(sc, "send: cannot encode or queue"));
	return (CMD_DONE);
}

static int
cmd_raw(struct script *sc, struct conn *c, char *args)
{
	uint8_t	*buf;
	size_t	 n = 0;
	char	*s;
	int	 rc;

	if ((buf = malloc(strlen(args) / 2 + 1)) == NULL)
		fatal("malloc");
	for (s = args; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t')
			continue;
		if (hexval(s[0]) == -1 || hexval(s[1]) == -1) {
			free(buf);
			return (fail(sc, "%s: bad hex", sc->cmd->name));
		}
		buf[n++] = hexval(s[0]) << 4 | hexval(s[1]);
		s++;
	}
	rc = send_bytes(sc, c, buf, n);
	free(buf);
	return (rc);
}

static int
cmd_raw_control(struct host *h, struct script *sc, char *args)
{
	return (cmd_raw(sc, h->control, args));
}

static int
cmd_raw_term(struct host *h, struct script *sc, char *args)
{
	return (cmd_raw(sc, h->term, args));
}

/* srandom(RANDOM_SEED) at start: the same script sends the same bytes. */
static int
cmd_random(struct script *sc, struct conn *c, char *args)
{
	uint8_t	*buf;
	uint64_t n = 0, i;
	char	*tok;
	int	 rc;

	if ((tok = token(&args)) == NULL)
		return (fail(sc, "%s: missing count", sc->cmd->name));
	if (parse_num(sc, tok, 1, RANDOM_MAX, &n) == -1 ||
	    noextra(sc, args) == -1)
		return (CMD_FAIL);
	if ((buf = malloc(n)) == NULL)
		fatal("malloc");
	for (i = 0; i < n; i++)
		buf[i] = random() & 0xff;
	rc = send_bytes(sc, c, buf, n);
	free(buf);
	return (rc);
}

static int
cmd_random_control(struct host *h, struct script *sc, char *args)
{
	return (cmd_random(sc, h->control, args));
}

static int
cmd_random_term(struct host *h, struct script *sc, char *args)
{
	return (cmd_random(sc, h->term, args));
}

static int
cmd_expect(struct host *h, struct script *sc, char *args)
{
	char	*tok;

	if (!sc->started) {
		if ((tok = token(&args)) == NULL)
			return (fail(sc, "expect: missing tag"));
		sc->tag = msg_type_from_name(WIRE_G2H, tok, strlen(tok));
		if (sc->tag == MSG_NONE)
			return (fail(sc, "expect: unknown tag %s", tok));
		if (parse_timeout(sc, args) == -1)
			return (CMD_FAIL);
	}
	return (script_wait(sc, rec_find(h, sc, REC_MSG) != NULL,
	    msg_type_name(sc->tag)));
}

static int
cmd_expect_json(struct host *h, struct script *sc, char *args)
{
	if (!sc->started && parse_needle(sc, &args) == -1)
		return (CMD_FAIL);
	return (script_wait(sc, rec_find(h, sc, REC_MSG) != NULL,
	    "expect-json"));
}

/* Matched output is consumed: the next expect-term looks after it. */
static int
cmd_expect_term(struct host *h, struct script *sc, char *args)
{
	uint8_t	*p;
	size_t	 end;

	if (!sc->started && parse_needle(sc, &args) == -1)
		return (CMD_FAIL);
	p = h->trlen > 0 ? memmem(h->trbuf, h->trlen, sc->needle,
	    sc->needlelen) : NULL;
	if (p != NULL) {
		end = p - h->trbuf + sc->needlelen;
		memmove(h->trbuf, h->trbuf + end, h->trlen - end);
		h->trlen -= end;
	}
	return (script_wait(sc, p != NULL, "expect-term"));
}

static int
cmd_expect_term_eof(struct host *h, struct script *sc, char *args)
{
	if (!sc->started && parse_timeout(sc, args) == -1)
		return (CMD_FAIL);
	if (h->ntermeof > h->termeofseen) {
		h->termeofseen++;
		return (CMD_DONE);
	}
	return (script_wait(sc, 0, "expect-term-eof"));
}

static int
cmd_expect_exec(struct host *h, struct script *sc, char *args)
{
	char	*tok;

	if (!sc->started) {
		if ((tok = token(&args)) == NULL)
			return (fail(sc, "expect-exec: missing id"));
		if (parse_num(sc, tok, 0, LLONG_MAX, &sc->n) == -1 ||
		    parse_timeout(sc, args) == -1)
			return (CMD_FAIL);
	}
	return (script_wait(sc, rec_find(h, sc, REC_EXEC) != NULL,
	    "expect-exec"));
}

static int
cmd_expect_audit(struct host *h, struct script *sc, char *args)
{
	if (!sc->started && parse_needle(sc, &args) == -1)
		return (CMD_FAIL);
	return (script_wait(sc, rec_find(h, sc, REC_AUDIT) != NULL,
	    "expect-audit"));
}

/* Nothing tells us when the file appears: look again every WAIT_FILE_MS. */
static int
cmd_wait_file(struct host *h, struct script *sc, char *args)
{
	char	*tok;

	if (!sc->started) {
		if ((tok = token(&args)) == NULL)
			return (fail(sc, "wait-file: missing path"));
		if ((sc->path = strdup(tok)) == NULL)
			fatal("strdup");
		if (parse_timeout(sc, args) == -1)
			return (CMD_FAIL);
		sc->recheck_ms = WAIT_FILE_MS;
	}
	return (script_wait(sc, access(sc->path, F_OK) == 0,
	    "wait-file"));
}

static int
cmd_drop(struct host *h, struct script *sc, char *args)
{
	int64_t		end;

	if (noextra(sc, args) == -1)
		return (CMD_FAIL);
	ev_emit(h, ev_new(h, "drop", -1));
	end = now_ms() + FLUSH_MS;
	if (h->term != NULL && conn_flush(h, h->term, end) == 0)
		conn_close(h, h->term, "drop");
	if (h->control != NULL && conn_flush(h, h->control, end) == 0)
		conn_close(h, h->control, "drop");
	return (CMD_DONE);
}

static int
cmd_noack(struct host *h, struct script *sc, char *args)
{
	char	*tok;

	if ((tok = token(&args)) == NULL || noextra(sc, args) == -1 ||
	    (strcmp(tok, "on") != 0 && strcmp(tok, "off") != 0))
		return (fail(sc, "noack: want on or off"));
	h->noack = strcmp(tok, "on") == 0;
	return (CMD_DONE);
}

static int
cmd_term_pause(struct host *h, struct script *sc, char *args)
{
	char	*tok;

	if ((tok = token(&args)) == NULL || noextra(sc, args) == -1 ||
	    (strcmp(tok, "on") != 0 && strcmp(tok, "off") != 0))
		return (fail(sc, "term-pause: want on or off"));
	h->term_paused = strcmp(tok, "on") == 0;
	return (CMD_DONE);
}

/* Unread bytes of the audit connections (FIONREAD), looked at every 10 ms. */
static int
cmd_audit_queued(struct host *h, struct script *sc, char *args)
{
	struct conn	*c;
	json_t		*o;
	uint64_t	 total = 0;
	char		*tok;
	int		 n;

	if (!sc->started) {
		if ((tok = token(&args)) == NULL ||
		    parse_num(sc, tok, 1, INT_MAX, &sc->n) == -1)
			return (fail(sc, "audit-queued: want a byte count"));
		if (parse_timeout(sc, args) == -1)
			return (CMD_FAIL);
		sc->recheck_ms = WAIT_FILE_MS;
	}
	TAILQ_FOREACH(c, &h->conns, entry)
		if (c->chan == CH_AUDIT && ioctl(c->fd, FIONREAD, &n) == 0 &&
		    n > 0)
			total += n;
	if (total < sc->n)
		return (script_wait(sc, 0, "audit-queued"));
	o = ev_new(h, "queued", CH_AUDIT);
	json_object_set_new(o, "bytes", json_integer(total));
	ev_emit(h, o);
	return (CMD_DONE);
}

static int
cmd_drop_audit(struct host *h, struct script *sc, char *args)
{
	struct conn	*c, *next;

	if (noextra(sc, args) == -1)
		return (CMD_FAIL);
	ev_emit(h, ev_new(h, "drop-audit", -1));
	TAILQ_FOREACH_SAFE(c, &h->conns, entry, next)
		if (c->chan == CH_AUDIT)
			conn_close(h, c, "drop");
	return (CMD_DONE);
}

static int
cmd_audit_pause(struct host *h, struct script *sc, char *args)
{
	char	*tok;

	if ((tok = token(&args)) == NULL || noextra(sc, args) == -1 ||
	    (strcmp(tok, "on") != 0 && strcmp(tok, "off") != 0))
		return (fail(sc, "audit-pause: want on or off"));
	h->audit_paused = strcmp(tok, "on") == 0;
	return (CMD_DONE);
}

static int
cmd_quiet(struct host *h, struct script *sc, char *args)
{
	if (!sc->started) {
		if (args[strspn(args, " \t")] == '\0')
			return (fail(sc, "quiet: missing time"));
		if (parse_timeout(sc, args) == -1)
			return (CMD_FAIL);
		sc->count0 = h->naccept;
	}
	if (h->naccept != sc->count0)
		return (fail(sc, "quiet: a connection was accepted after "
		    "%llu ms", (unsigned long long)(now_ms() + sc->timeout -
		    sc->deadline)));
	return (now_ms() >= sc->deadline ? CMD_DONE : CMD_WAIT);
}

static int
cmd_sleep(struct host *h, struct script *sc, char *args)
{
	if (!sc->started) {
		if (args[strspn(args, " \t")] == '\0')
			return (fail(sc, "sleep: missing time"));
		if (parse_timeout(sc, args) == -1)
			return (CMD_FAIL);
	}
	return (now_ms() >= sc->deadline ? CMD_DONE : CMD_WAIT);
}

static int
cmd_exit(struct host *h, struct script *sc, char *args)
{
	if (noextra(sc, args) == -1)
		return (CMD_FAIL);
	host_exit(h, 0);
}

/*
 * Take the next command line out of sc->buf.  Returns 1 with sc->cmd set,
 * 0 when more input is needed, -1 at the end of the script or on an
 * unknown command (sc->err set then).
 */
static int
script_next(struct script *sc)
{
	char	*nl, *name, *rest;
	size_t	 len, i;

	for (;;) {
		if (sc->len > 0 &&
		    (nl = memchr(sc->buf, '\n', sc->len)) != NULL)
			len = nl - sc->buf + 1;
		else if (sc->eof && sc->len > 0)
			len = sc->len;
		else
			return (sc->eof ? -1 : 0);
		sc->lineno++;
		if ((sc->line = strndup(sc->buf, len)) == NULL)
			fatal("strndup");
		memmove(sc->buf, sc->buf + len, sc->len - len);
		sc->len -= len;
		sc->line[strcspn(sc->line, "\n")] = '\0';
		rest = sc->line;
		if ((name = token(&rest)) == NULL || name[0] == '#') {
			script_done(sc);
			continue;
		}
		sc->args = rest;
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(name, commands[i].name) == 0)
				sc->cmd = &commands[i];
		if (sc->cmd == NULL) {
			fail(sc, "unknown command %s", name);
			return (-1);
		}
		return (1);
	}
}

static void
script_done(struct script *sc)
{
	free(sc->line);
	free(sc->needle);
	free(sc->path);
	sc->line = sc->args = sc->needle = sc->path = NULL;
	sc->needlelen = 0;
	sc->cmd = NULL;
	sc->started = 0;
	sc->deadline = 0;
	sc->recheck_ms = 0;
}

static void
script_run(struct host *h, struct script *sc)
{
	int	rc;

	if (sc->fd == -1)
		return;
	for (;;) {
		if (sc->cmd == NULL) {
			if ((rc = script_next(sc)) == 0)
				return;
			if (rc == -1 && sc->err[0] == '\0')
				host_exit(h, 0);
			if (rc == -1)
				break;
		}
		if ((rc = sc->cmd->fn(h, sc, sc->args)) == CMD_WAIT) {
			sc->started = 1;
			return;
		}
		if (rc == CMD_FAIL)
			break;
		script_done(sc);
	}
	fprintf(stderr, "testhost: line %d: %s\n", sc->lineno, sc->err);
	ev_emit(h, ev_new(h, "script-failed", -1));
	host_exit(h, 1);
}

/* Read script input only when no whole line is left: bounded by a line. */
static void
script_input(struct script *sc)
{
	ssize_t	n;

	if (sc->buf == NULL && (sc->buf = malloc(LINE_MAX_LEN)) == NULL)
		fatal("malloc");
	if (sc->len == LINE_MAX_LEN)
		fatalx("script line %d: longer than %d bytes",
		    sc->lineno + 1, LINE_MAX_LEN);
	n = read(sc->fd, sc->buf + sc->len, LINE_MAX_LEN - sc->len);
	if (n == -1 && errno != EINTR && errno != EAGAIN)
		fatal("read script");
	if (n == 0)
		sc->eof = 1;
	if (n > 0)
		sc->len += n;
}

__dead static void
host_loop(struct host *h, struct script *sc)
{
	struct pollfd	 pfd[CH_N + MAX_CONNS + 1];
	struct conn	*cs[MAX_CONNS], *c;
	int64_t		 now;
	size_t		 nc, i;
	int		 npfd, timeout, scriptpfd;

	for (;;) {
		script_run(h, sc);
		for (i = 0; i < CH_N; i++) {
			pfd[i].fd = h->lfd[i];
			pfd[i].events = POLLIN;
		}
		npfd = CH_N;
		nc = 0;
		TAILQ_FOREACH(c, &h->conns, entry) {
			cs[nc++] = c;
			pfd[npfd].fd = c->fd;
			pfd[npfd++].events = ((c->chan == CH_TERMINAL &&
			    h->term_paused) || (c->chan == CH_AUDIT &&
			    h->audit_paused) ? 0 : POLLIN) |
			    (c->out.len > c->off ? POLLOUT : 0);
		}
		scriptpfd = -1;
		if (sc->fd != -1 && sc->cmd == NULL && !sc->eof) {
			scriptpfd = npfd;
			pfd[npfd].fd = sc->fd;
			pfd[npfd++].events = POLLIN;
		}
		timeout = -1;
		if (sc->cmd != NULL) {
			now = now_ms();
			timeout = sc->deadline > now ?
			    (int)(sc->deadline - now) : 0;
			if (sc->recheck_ms > 0 && timeout > sc->recheck_ms)
				timeout = sc->recheck_ms;
		}
		if (poll(pfd, npfd, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		for (i = 0; i < CH_N; i++)
			if (pfd[i].revents & POLLIN)
				conn_accept(h, i);
		for (i = 0; i < nc; i++) {
			if ((pfd[CH_N + i].revents & (POLLIN | POLLHUP |
			    POLLERR)) && conn_read(h, cs[i]) == -1)
				continue;
			if (pfd[CH_N + i].revents & POLLOUT)
				conn_write(h, cs[i]);
		}
		if (scriptpfd != -1 && pfd[scriptpfd].revents)
			script_input(sc);
	}
}
