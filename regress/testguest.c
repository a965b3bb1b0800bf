/*
 * capsem-testguest: an adversarial guest for capsem-hostd over the unix:DIR
 * transport, driven by a script, so that the integration tests can feed
 * the host bad input on control, audit and exec and check what survives.
 *
 * It boots like an agent (terminal 5001, then control 5000, ready{version},
 * with -a NAMES an agentcaps{NAMES} after a bootconfig announcing
 * "agentcaps", bootready once bootconfigdone arrives) and then runs the script, one
 * command per line, `#` starts a comment.  CHAN is control, terminal,
 * lifecycle, exec, audit or copy; a channel other than control and terminal is
 * connected on first use and stays open until `close`.
 *   send CHAN JSON        encode a g2h message (an audit record on audit)
 *   raw CHAN HEX          these bytes, as they are
 *   random CHAN N         N pseudo-random bytes (fixed seed)
 *   nested CHAN N         one frame: N fixmaps nested {"t": {"t": ... nil}}
 *   close CHAN            close our end
 *   expect-closed CHAN    wait for the host to close that connection
 *   expect SUBSTRING      a received control message whose JSON has it
 *                         (the rest of the line; consumed once matched)
 *   reconnect             close terminal and control, boot again
 *   wait-file PATH        wait for PATH to exist (the test's go-ahead)
 *   timeout MS            for the waits that follow (default 10000)
 *   sleep MS, exit
 * While it waits or sleeps it keeps serving control: ping is answered with
 * pong, bootconfigdone with bootready.  Every message received on control
 * is appended to OUTFILE (-o) as one JSON line (msg_to_json), and an EOF
 * there as {"closed":"control"}.  A failure prints
 * "testguest: line N: REASON" and exits 1; the end of the script exits 0.
 *
 * It touches only its sockets, the script and OUTFILE.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "frame.h"
#include "log.h"
#include "transport.h"
#include "wire.h"
#include "wirejson.h"

#define LINE_MAX_LEN	(4 * 1024 * 1024)
#define RANDOM_MAX	(16 * 1024 * 1024)
#define NESTED_MAX	1000000
#define MAX_RECS	65536
#define DEFAULT_MS	10000
#define RANDOM_SEED	4243
#define VERSION		"capsem-testguest"

enum chan { CH_CONTROL, CH_TERMINAL, CH_LIFECYCLE, CH_EXEC, CH_AUDIT, CH_COPY,
    CH_N };

static const struct {
	const char	*name;
	uint32_t	 port;
} chans[CH_N] = {
	{ "control", PORT_CONTROL },
	{ "terminal", PORT_TERMINAL },
	{ "lifecycle", PORT_LIFECYCLE },
	{ "exec", PORT_EXEC },
	{ "audit", PORT_AUDIT },
	{ "copy", PORT_COPY },
};

static struct transport	 tr;
static int		 fds[CH_N];
static int		 closed[CH_N];	/* the host closed it */
static struct frame_reader rd;		/* control */
static FILE		*out;
static char		*recs[MAX_RECS];	/* received, not yet matched */
static size_t		 nrecs;
static int		 booted;
/* -a: the agentcaps to send to a host that announces "agentcaps". */
#define AGENTCAPS_MAX	16
static struct wire_str	 acaps[AGENTCAPS_MAX];
static size_t		 nacaps;
static int		 send_acaps;
static int		 timeout_ms = DEFAULT_MS;
static int		 lineno;

static __dead void	 usage(void);
static __dead void	 die(const char *, ...)
			    __attribute__((__format__(printf, 1, 2)));
static void		 record(const char *);
static int		 chan_fd(enum chan);
static void		 chan_close(enum chan);
static void		 put(enum chan, const void *, size_t);
static void		 send_msg(enum chan, const struct msg *);
static void		 host_frame(const uint8_t *, size_t);
static void		 chan_read(enum chan);
static void		 pump(int);
static void		 boot(void);
static int		 parse_chan(const char *);
static long long	 parse_num(const char *, long long, long long);
static void		 run(char *);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: capsem-testguest [-a caps] -D dir -o outfile "
	    "-s script\n");
	exit(2);
}

static __dead void
die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "testguest: line %d: ", lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}


/* One line in OUTFILE, and one record for `expect`. */
static void
record(const char *line)
{
	fprintf(out, "%s\n", line);
	fflush(out);
	if (nrecs == MAX_RECS)
		die("more than %d unmatched control messages", MAX_RECS);
	if ((recs[nrecs++] = strdup(line)) == NULL)
		die("strdup: %s", strerror(errno));
}

static int
chan_fd(enum chan c)
{
	char	what[TRANSPORT_PATH_MAX + 32];

	if (fds[c] != -1)
		return (fds[c]);
	if ((fds[c] = transport_connect(&tr, chans[c].port)) == -1)
		die("connect %s: %s", transport_describe(&tr, chans[c].port,
		    what, sizeof(what)), strerror(errno));
	closed[c] = 0;
	if (c == CH_CONTROL)
		frame_reader_reset(&rd);
	return (fds[c]);
}

static void
chan_close(enum chan c)
{
	if (fds[c] != -1)
		close(fds[c]);
	fds[c] = -1;
}

/*
 * Write it all.  The host may drop the connection half way (that is what
 * some of the bad input is for): a write error only closes our end.
 */
static void
put(enum chan c, const void *p, size_t len)
{
	const uint8_t	*b = p;
	ssize_t		 n;
	int		 fd;

	fd = chan_fd(c);
	while (len > 0) {
		n = send(fd, b, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "testguest: line %d: write on %s: "
			    "%s\n", lineno, chans[c].name, strerror(errno));
			closed[c] = 1;
			chan_close(c);
			return;
		}
		b += n;
		len -= n;
	}
}

static void
send_msg(enum chan c, const struct msg *m)
{
	struct wbuf	wb;
	struct wire_err	err;

	wbuf_init(&wb);
	if (msg_encode(m, &wb, &err) == -1)
		die("encode %s: %s", msg_type_name(m->type), err.msg);
	put(c, wb.data, wb.len);
	wbuf_free(&wb);
}

/* A host frame on control: recorded, and the boot and ping answered. */
static void
host_frame(const uint8_t *body, size_t len)
{
	struct msg	 m, r;
	struct wire_err	 err;
	json_t		*j;
	char		*s;

	if (msg_decode(WIRE_H2G, body, len, &m, &err) == -1) {
		fprintf(stderr, "testguest: host frame dropped: %s\n",
		    err.msg);
		return;
	}
	if ((j = msg_to_json(&m)) == NULL ||
	    (s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		die("msg_to_json failed");
	json_decref(j);
	record(s);
	free(s);
	memset(&r, 0, sizeof(r));
	if (m.type == MSG_BOOTCONFIG && send_acaps &&
	    (cap_mask(m.u.bootconfig.caps, m.u.bootconfig.ncaps) &
	    CAPB_AGENTCAPS)) {
		/* As an agent does: after bootconfig, before bootready. */
		r.type = MSG_AGENTCAPS;
		r.u.agentcaps.caps = acaps;
		r.u.agentcaps.ncaps = nacaps;
		r.u.agentcaps.has_caps = 1;
		send_msg(CH_CONTROL, &r);
	} else if (m.type == MSG_BOOTCONFIGDONE) {
		r.type = MSG_BOOTREADY;
		send_msg(CH_CONTROL, &r);
		booted = 1;
	} else if (m.type == MSG_PING) {
		r.type = MSG_PONG;
		send_msg(CH_CONTROL, &r);
	}
	msg_free(&m);
}

static void
chan_read(enum chan c)
{
	uint8_t		 buf[65536];
	const uint8_t	*body;
	size_t		 off, used, blen;
	ssize_t		 n;
	int		 r;

	n = read(fds[c], buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (c == CH_CONTROL)
			record("{\"closed\":\"control\"}");
		closed[c] = 1;
		chan_close(c);
		return;
	}
	if (c != CH_CONTROL)
		return;		/* terminal input, exec/audit: ignored */
	for (off = 0; off < (size_t)n; off += used) {
		r = frame_reader_feed(&rd, buf + off, n - off, &used);
		if (r == FRAME_READY) {
			body = frame_reader_body(&rd, &blen);
			host_frame(body, blen);
		} else if (r != FRAME_MORE)
			die("host control framing lost");
	}
}

/* Serve every open connection for up to ms (0: what is there now). */
static void
pump(int ms)
{
	struct pollfd	pfd[CH_N];
	int		i, n;

	for (i = 0; i < CH_N; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	if ((n = poll(pfd, CH_N, ms)) == -1) {
		if (errno == EINTR)
			return;
		die("poll: %s", strerror(errno));
	}
	for (i = 0; i < CH_N && n > 0; i++)
		if (pfd[i].revents != 0 && fds[i] != -1)
			chan_read(i);
}

static void
boot(void)
{
	struct msg	m;
	long long	end;

	chan_close(CH_TERMINAL);
	chan_close(CH_CONTROL);
	(void)chan_fd(CH_TERMINAL);
	(void)chan_fd(CH_CONTROL);
	memset(&m, 0, sizeof(m));
	m.type = MSG_READY;
	m.u.ready.version.s = VERSION;
	m.u.ready.version.len = strlen(VERSION);
	send_msg(CH_CONTROL, &m);
	booted = 0;
	end = now_ms() + timeout_ms;
	while (!booted) {
		if (fds[CH_CONTROL] == -1)
			die("control closed during the boot");
		if (now_ms() >= end)
			die("no bootconfigdone in %d ms", timeout_ms);
		pump(end - now_ms());
	}
}

static int
parse_chan(const char *s)
{
	int	i;

	for (i = 0; i < CH_N; i++)
		if (s != NULL && strcmp(s, chans[i].name) == 0)
			return (i);
	die("bad channel \"%s\"", s == NULL ? "" : s);
}

static long long
parse_num(const char *s, long long min, long long max)
{
	const char	*errstr;
	long long	 v;

	if (s == NULL)
		die("missing number");
	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		die("number %s is %s", s, errstr);
	return (v);
}

static void
cmd_send(enum chan c, char *arg)
{
	struct msg		 m;
	struct audit_record	 ar;
	struct wbuf		 wb;
	struct wire_err		 err;
	json_error_t		 jerr;
	json_t			*j;
	char			 why[256];

	if ((j = json_loads(arg, 0, &jerr)) == NULL)
		die("bad JSON: %s", jerr.text);
	if (c == CH_AUDIT) {
		if (audit_record_from_json(j, &ar, why, sizeof(why)) == -1)
			die("audit record: %s", why);
		wbuf_init(&wb);
		if (audit_record_encode(&ar, &wb, &err) == -1)
			die("encode audit record: %s", err.msg);
		put(c, wb.data, wb.len);
		wbuf_free(&wb);
		audit_record_free(&ar);
	} else {
		if (msg_from_json(WIRE_G2H, j, &m, why, sizeof(why)) == -1)
			die("message: %s", why);
		send_msg(c, &m);
		msg_free(&m);
	}
	json_decref(j);
}

static void
cmd_raw(enum chan c, const char *hex)
{
	uint8_t		*buf;
	size_t		 n = 0, len;
	unsigned int	 b;

	if (hex == NULL || (len = strlen(hex)) % 2 != 0 || len == 0)
		die("raw: bad hex");
	if ((buf = malloc(len / 2)) == NULL)
		die("malloc: %s", strerror(errno));
	for (; *hex != '\0'; hex += 2) {
		if (sscanf(hex, "%2x", &b) != 1)
			die("raw: bad hex");
		buf[n++] = b;
	}
	put(c, buf, n);
	free(buf);
}

static void
cmd_random(enum chan c, size_t n)
{
	uint8_t	*buf;
	size_t	 i;

	if ((buf = malloc(n)) == NULL)
		die("malloc: %s", strerror(errno));
	for (i = 0; i < n; i++)
		buf[i] = random() & 0xff;
	put(c, buf, n);
	free(buf);
}

/* A body of n maps of one entry, each the value of "t" in the one around. */
static void
cmd_nested(enum chan c, size_t n)
{
	uint8_t	*buf;
	size_t	 i, len;

	len = n * 3 + 1;
	if ((buf = malloc(FRAME_HDRLEN + len)) == NULL)
		die("malloc: %s", strerror(errno));
	frame_write_header(buf, len);
	for (i = 0; i < n; i++)
		memcpy(buf + FRAME_HDRLEN + i * 3, "\x81\xa1t", 3);
	buf[FRAME_HDRLEN + len - 1] = 0xc0;
	put(c, buf, FRAME_HDRLEN + len);
	free(buf);
}

static void
cmd_expect(const char *needle)
{
	long long	end;
	size_t		i;

	if (needle == NULL || *needle == '\0')
		die("expect: nothing to look for");
	end = now_ms() + timeout_ms;
	for (;;) {
		for (i = 0; i < nrecs; i++) {
			if (strstr(recs[i], needle) == NULL)
				continue;
			free(recs[i]);
			memmove(recs + i, recs + i + 1,
			    (nrecs - i - 1) * sizeof(recs[0]));
			nrecs--;
			return;
		}
		if (now_ms() >= end)
			die("expect %s: not received in %d ms", needle,
			    timeout_ms);
		pump(end - now_ms());
	}
}

static void
cmd_expect_closed(enum chan c)
{
	long long	end;

	end = now_ms() + timeout_ms;
	while (!closed[c]) {
		if (fds[c] == -1)
			die("expect-closed %s: not connected", chans[c].name);
		if (now_ms() >= end)
			die("expect-closed %s: still open after %d ms",
			    chans[c].name, timeout_ms);
		pump(end - now_ms());
	}
}

static void
cmd_wait_file(const char *path)
{
	long long	end;

	if (path == NULL || *path == '\0')
		die("wait-file: no path");
	end = now_ms() + timeout_ms;
	while (access(path, F_OK) == -1) {
		if (now_ms() >= end)
			die("wait-file %s: not there after %d ms", path,
			    timeout_ms);
		pump(20);
	}
}

static void
cmd_sleep(int ms)
{
	long long	end;

	end = now_ms() + ms;
	while (now_ms() < end)
		pump(end - now_ms());
}

/* One script line. */
static void
run(char *line)
{
	char	*cmd, *a, *rest;

	line[strcspn(line, "\r\n")] = '\0';
	cmd = line + strspn(line, " \t");
	if (*cmd == '\0' || *cmd == '#')
		return;
	rest = cmd + strcspn(cmd, " \t");
	if (*rest != '\0')
		*rest++ = '\0';
	rest += strspn(rest, " \t");
	if (strcmp(cmd, "expect") == 0) {
		cmd_expect(rest);
		return;
	}
	if (strcmp(cmd, "reconnect") == 0) {
		boot();
		return;
	}
	if (strcmp(cmd, "exit") == 0)
		exit(0);
	a = strsep(&rest, " \t");
	if (strcmp(cmd, "timeout") == 0)
		timeout_ms = parse_num(a, 1, 3600000);
	else if (strcmp(cmd, "sleep") == 0)
		cmd_sleep(parse_num(a, 0, 3600000));
	else if (strcmp(cmd, "wait-file") == 0)
		cmd_wait_file(a);
	else if (strcmp(cmd, "close") == 0)
		chan_close(parse_chan(a));
	else if (strcmp(cmd, "expect-closed") == 0)
		cmd_expect_closed(parse_chan(a));
	else if (strcmp(cmd, "send") == 0)
		cmd_send(parse_chan(a), rest == NULL ? "" : rest);
	else if (strcmp(cmd, "raw") == 0)
		cmd_raw(parse_chan(a), rest);
	else if (strcmp(cmd, "random") == 0)
		cmd_random(parse_chan(a), parse_num(rest, 1, RANDOM_MAX));
	else if (strcmp(cmd, "nested") == 0)
		cmd_nested(parse_chan(a), parse_num(rest, 1, NESTED_MAX));
	else
		die("unknown command %s", cmd);
	pump(0);
}

int
main(int argc, char *argv[])
{
	const char	*dir = NULL, *outfile = NULL, *script = NULL;
	char		 spec[TRANSPORT_PATH_MAX + 8], err[256];
	char		*line = NULL, *p, *name;
	size_t		 cap = 0;
	FILE		*sf;
	int		 ch, i;

	while ((ch = getopt(argc, argv, "a:D:o:s:")) != -1) {
		switch (ch) {
		case 'a':
			/* "name,name" (any names), "" for none. */
			send_acaps = 1;
			for (p = optarg; (name = strsep(&p, ",")) != NULL;) {
				if (*name == '\0')
					continue;
				if (nacaps == AGENTCAPS_MAX)
					die("-a: at most %d names",
					    AGENTCAPS_MAX);
				acaps[nacaps].s = name;
				acaps[nacaps++].len = strlen(name);
			}
			break;
		case 'D':
			dir = optarg;
			break;
		case 'o':
			outfile = optarg;
			break;
		case 's':
			script = optarg;
			break;
		default:
			usage();
		}
	}
	if (dir == NULL || outfile == NULL || script == NULL ||
	    optind != argc)
		usage();
	snprintf(spec, sizeof(spec), "unix:%s", dir);
	if (transport_parse(spec, &tr, err, sizeof(err)) == -1)
		die("%s", err);
	if ((out = fopen(outfile, "a")) == NULL)
		die("%s: %s", outfile, strerror(errno));
	if ((sf = fopen(script, "r")) == NULL)
		die("%s: %s", script, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	srandom(RANDOM_SEED);
	for (i = 0; i < CH_N; i++)
		fds[i] = -1;
	frame_reader_init(&rd, FRAME_MAX);
	boot();
	while (getline(&line, &cap, sf) != -1) {
		lineno++;
		if (strlen(line) >= LINE_MAX_LEN)
			die("line too long");
		run(line);
	}
	free(line);
	fclose(sf);
	return (0);
}
