/*
 * capsem-shell: the client a person types.  It attaches the terminal to a
 * capsem-hostd session over the session's attach.sock (imsg, the attach
 * protocol of capsem_imsg.h), runs one command through exec, or asks a
 * session to shut down; without -S it first creates a temporary session
 * (shell-session.c) and tears it down when the shell ends.
 *
 * It touches the user's terminal (raw mode, always restored on the way
 * out), stdin, stdout, stderr, the session's attach.sock and, for a
 * temporary session, the processes and directory it made.  Input from
 * capsem-hostd is checked before use (exact sizes, bounded strings) and its
 * output is buffered up to OUT_MAX, after which the socket is not read until
 * stdout catches up.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
/* The OpenBSD strnvis(dst, dstlen, src, flag), not NetBSD's. */
#define LIBBSD_OPENBSD_VIS
#include <vis.h>

#include "capsem_imsg.h"
#include "cp.h"
#include "ev.h"
#include "imsg.h"
#include "session.h"
#include "termmodes.h"
#include "transport.h"
#include "version.h"
#include "wire.h"

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif

/* Pending stdout bytes past which hostd is not read. */
#define OUT_MAX		(4 * 1024 * 1024)
#define OUT_HARD	(OUT_MAX + 4 * ATTACH_IMSG_MAX)
#define INPUT_QUEUE	64	/* queued imsgs before stdin is not read */
#define EXIT_WAIT_MS	5000	/* for our hostd to exit after EXIT */
#define SHUTDOWN_WAIT_MS 30000	/* for the session to end on shutdown */
#define ESCAPE_CHAR	'~'
#define WAIT_NOTE_MS	1000	/* "waiting for the guest" after this */
#define CTRL_C		0x03

enum command {
	CMD_ATTACH,
	CMD_EXEC,
	CMD_SHUTDOWN,
	CMD_NEW,
	CMD_LS,
	CMD_PRUNE,
	CMD_LOG
};

/* A bounded queue of bytes for one of our outputs (stdout, stderr). */
struct obuf {
	int		 fd;
	unsigned char	*p;
	size_t		 off, len, size;
};

/* One connection to capsem-hostd and the state of the terminal around it. */
struct conn {
	struct imsgbuf	 ib;
	int		 fd;
	uint32_t	 mode;		/* enum attach_mode */
	const char	*exec_cmd;	/* ATTACH_EXEC: the command line */
	struct attach_execio ax;	/* its options (IMSG_ATTACH_EXECIO) */
	const char	*exec_cwd;	/* "" for none */
	char		**exec_env;	/* KEY=VALUE */
	size_t		 exec_nenv;
	int		 exec_tty;	/* -t: its own terminal, raw mode */
	uint64_t	 in_window;	/* stdin bytes hostd lets us send */
	int		 in_end_sent;
	int		 eof_on_end;	/* terminal, stdin not a tty: ^D at EOF */
	int		 welcomed;
	int		 connected;	/* the guest has booted */
	int64_t		 wait_note_at;	/* say "waiting" then (0: said) */
	int		 wdead;		/* socket refused writes */
	int		 stdin_open;
	int		 escapes;	/* stdin is a tty: ~ escapes */
	int		 line_start;	/* last byte typed ended line */
	int		 tilde;		/* an escape char is held */
	int		 paste;		/* inside a bracketed paste */
	int		 pmatch;	/* bytes of ESC [ 2 0 0|1 ~ matched */
	int		 pkind;		/* the 0 or 1 of it */
	struct obuf	 out;		/* pending stdout bytes */
	struct obuf	 err;		/* pending stderr bytes (exec) */
};

static struct termios		 saved_tio;
static volatile sig_atomic_t	 raw_on;
static volatile sig_atomic_t	 winched;
static volatile sig_atomic_t	 pending_sig;	/* exec: SIGINT, SIGQUIT */
static struct session		 sess;

static __dead void	usage(int);
static void		term_restore(void);
static void		term_raw(void);
static char		*term_modes(void);
static void		fatal_signal(int);
static void		winch_signal(int);
static void		set_signals(void);
static void		set_exec_signals(void);
static void		get_winsize(uint16_t *, uint16_t *);
static __dead void	die(const char *, ...)
			    __attribute__((__format__(printf, 1, 2)));
static __dead void	finish(struct conn *, int);
static int		attach_connect(const char *);
static void		conn_open(struct conn *, uint32_t, const char *);
static void		conn_send(struct conn *, uint32_t, const void *,
			    size_t);
static void		obuf_append(struct obuf *, const void *, size_t);
static int		obuf_write(struct obuf *);
static void		obuf_drain(struct obuf *);
static void		exec_signal(int);
static void		exec_send_request(struct conn *);
static char		*piped_shell(const char *);
static int		stdin_has_data(void);
static void		stdin_read(struct conn *);
static size_t		stdin_end(struct conn *, unsigned char *);
static void		input_send(struct conn *, const unsigned char *,
			    size_t);
static void		paste_track(struct conn *, unsigned char);
static size_t		escape_scan(struct conn *, const unsigned char *,
			    size_t, unsigned char *);
static __dead void	detach(struct conn *);
static void		socket_read(struct conn *);
static void		dispatch(struct conn *, struct imsg *);
static void		imsg_line(struct imsg *, char *, size_t);
static __dead void	conn_loop(struct conn *);
static char		*exec_command(int, char **);
static int		wait_hostd(const char *, pid_t);

static __dead void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: capsem-shell [-Vv] [-S dir] [-T | --temp] "
	    "[--local | --vm cmd]\n"
	    "                    [-e key=value] [-t transport] "
	    "[--shell \"cmd args\"]\n"
	    "                    [--audit-log file] [--boot-timeout "
	    "seconds] [--no-send-env]\n"
	    "                    [--no-term-modes]\n"
	    "       capsem-shell new [-d] [-S dir] [options]\n"
	    "       capsem-shell exec [-nt] [-S dir] [-e key=value] "
	    "[--cwd dir] [--timeout seconds]\n"
	    "                    [options] [--] command [arg ...]\n"
	    "       capsem-shell cp [-pqrv] [-l limit] [-S dir] source ... "
	    "target\n"
	    "       capsem-shell shutdown -S dir\n"
	    "       capsem-shell log [-i] -S dir | file\n"
	    "       capsem-shell ls\n"
	    "       capsem-shell prune\n");
	exit(status);
}

/* Async-signal-safe: called from signal handlers too. */
static void
term_restore(void)
{
	if (raw_on) {
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
		raw_on = 0;
	}
}

static void
term_raw(void)
{
	struct termios	 tio;

	if (tcgetattr(STDIN_FILENO, &saved_tio) == -1)
		die("stdin: tcgetattr: %s", strerror(errno));
	tio = saved_tio;
	cfmakeraw(&tio);
	raw_on = 1;
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &tio) == -1) {
		raw_on = 0;
		die("stdin: tcsetattr: %s", strerror(errno));
	}
}

/*
 * The modes of our terminal (before term_raw), for a new session's PTY,
 * in capsem-hostd's --term-modes form; NULL when stdin is no terminal.
 */
static char *
term_modes(void)
{
	static char	 text[TERMMODES_TEXT_MAX];
	struct termmodes tm;
	struct termios	 tio;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &tio) == -1)
		return (NULL);
	termmodes_from_termios(&tio, &tm);
	if (termmodes_to_text(&tm, text, sizeof(text)) == -1)
		return (NULL);
	return (text);
}

/* Restore the terminal, then die of the signal as if never caught. */
static void
fatal_signal(int sig)
{
	term_restore();
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

static void
winch_signal(int sig)
{
	winched = 1;
}

/* exec without a terminal: Ctrl-C and Ctrl-\ go to the command. */
static void
exec_signal(int sig)
{
	pending_sig = sig;
}

static void
set_signals(void)
{
	static const int	 fatal[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT,
				    SIGPIPE };
	struct sigaction	 sa;
	sigset_t		 set;
	size_t			 i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = fatal_signal;
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		(void)sigaction(fatal[i], &sa, NULL);
	sa.sa_handler = winch_signal;
	sa.sa_flags = SA_RESTART;
	(void)sigaction(SIGWINCH, &sa, NULL);
	/* SIGWINCH is taken only inside ppoll, so no resize is missed. */
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	(void)sigprocmask(SIG_BLOCK, &set, NULL);
	(void)atexit(term_restore);
}

/*
 * exec without a terminal of its own: SIGINT and SIGQUIT are taken (only
 * inside ppoll, like SIGWINCH) and passed on to the command.
 */
static void
set_exec_signals(void)
{
	struct sigaction	 sa;
	sigset_t		 set;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = exec_signal;
	sa.sa_flags = SA_RESTART;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGQUIT, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	(void)sigprocmask(SIG_BLOCK, &set, NULL);
}

static void
get_winsize(uint16_t *cols, uint16_t *rows)
{
	struct winsize	 ws;

	*cols = *rows = 0;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}

/* Every error exit: terminal back, our processes gone, then the message. */
static __dead void
die(const char *fmt, ...)
{
	va_list	 ap;

	term_restore();
	fprintf(stderr, "capsem-shell: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	session_abort(&sess);
	exit(255);
}

/* The session ended: show all its output, restore, wait for our hostd. */
static __dead void
finish(struct conn *c, int code)
{
	obuf_drain(&c->out);
	obuf_drain(&c->err);
	term_restore();
	imsgbuf_clear(&c->ib);
	(void)close(c->fd);
	session_finish(&sess, EXIT_WAIT_MS);
	exit(code & 0xff);
}

static int
attach_connect(const char *dir)
{
	char	 path[PATH_MAX], why[256];
	int	 fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    ATTACH_SOCKET) >= sizeof(path))
		die("%s/%s: path too long", dir, ATTACH_SOCKET);
	if ((fd = transport_connect_unix(path)) == -1) {
		/* Say what the directory is rather than what connect saw. */
		if ((errno == ENOENT || errno == ECONNREFUSED) &&
		    session_check(dir, why, sizeof(why)) == -1)
			die("%s: %s", dir, why);
		die("%s: connect: %s", path, strerror(errno));
	}
	return (fd);
}

/* Connect and say hello; the answer is read by the loop. */
static void
conn_open(struct conn *c, uint32_t mode, const char *dir)
{
	struct attach_hello	 hello;

	c->fd = attach_connect(dir);
	if (imsgbuf_init(&c->ib, c->fd) == -1 ||
	    imsgbuf_set_maxsize(&c->ib, ATTACH_IMSG_MAX) == -1)
		die("imsgbuf_init: %s", strerror(errno));
	c->mode = mode;
	memset(&hello, 0, sizeof(hello));
	hello.version = ATTACH_VERSION;
	hello.mode = mode;
	if (mode == ATTACH_TERMINAL) {
		get_winsize(&hello.cols, &hello.rows);
		hello.flags = ATTACH_SCREEN;
	}
	conn_send(c, IMSG_ATTACH_HELLO, &hello, sizeof(hello));
	if (imsgbuf_flush(&c->ib) == -1) {
		/*
		 * A hostd that refuses us says why and closes at once, maybe
		 * before our hello arrived: its reason is still readable.
		 */
		int	 saved = errno;
		struct imsg imsg;

		if (imsgbuf_read(&c->ib) == 1 && imsg_get(&c->ib, &imsg) > 0) {
			if (imsg_get_type(&imsg) == IMSG_ATTACH_ERROR)
				dispatch(c, &imsg);
			imsg_free(&imsg);
		}
		die("%s/%s: write: %s", sess.dir, ATTACH_SOCKET,
		    strerror(saved));
	}
	if (fcntl(c->fd, F_SETFL, O_NONBLOCK) == -1)
		die("fcntl: %s", strerror(errno));
}

static void
conn_send(struct conn *c, uint32_t type, const void *data, size_t len)
{
	if (c->wdead)
		return;
	if (imsg_compose(&c->ib, type, 0, 0, -1, data, len) == -1)
		die("imsg_compose: %s", strerror(errno));
}

/*
 * Pending output, stdout or the command's stderr: bounded (the loop stops
 * reading at OUT_MAX, so OUT_HARD cannot be passed).
 */
static void
obuf_append(struct obuf *b, const void *data, size_t len)
{
	size_t	 need;

	if (b->off > 0 && b->off + b->len + len > b->size) {
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
	}
	need = b->len + len;
	if (need > b->size) {
		if (need > OUT_HARD)
			die("output buffer overflow");
		if (need < 2 * b->size)
			need = 2 * b->size;
		if (need < 2 * ATTACH_IMSG_MAX)
			need = 2 * ATTACH_IMSG_MAX;
		if (need > OUT_HARD)
			need = OUT_HARD;
		if ((b->p = realloc(b->p, need)) == NULL)
			die("output buffer: %s", strerror(errno));
		b->size = need;
	}
	memcpy(b->p + b->off + b->len, data, len);
	b->len += len;
}

static int
obuf_write(struct obuf *b)
{
	ssize_t	 n;

	while (b->len > 0) {
		n = write(b->fd, b->p + b->off, b->len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (0);
			return (-1);
		}
		b->off += n;
		b->len -= n;
	}
	b->off = 0;
	return (0);
}

static void
obuf_drain(struct obuf *b)
{
	struct pollfd	 pfd;

	pfd.fd = b->fd;
	pfd.events = POLLOUT;
	while (b->len > 0) {
		if (obuf_write(b) == -1) {
			b->len = 0;
			break;
		}
		if (b->len > 0)
			(void)poll(&pfd, 1, -1);
	}
}

/*
 * Escapes as in ssh(1): ESCAPE_CHAR first on a line is held and the next
 * byte decides.  Writes the bytes to send to dst (room for len + 1: a held
 * escape character may be released with the first byte) and returns their
 * count; ~. does not return.
 */
static size_t
escape_scan(struct conn *c, const unsigned char *src, size_t len,
    unsigned char *dst)
{
	static const char	 help[] = "Supported escape sequences:\r\n"
	    " ~.   - disconnect (the session goes on)\r\n"
	    " ~?   - this message\r\n"
	    " ~~   - send the escape character by typing it twice\r\n"
	    "(Note that escapes are only recognized immediately after "
	    "newline.)\r\n";
	size_t			 i, n = 0;
	unsigned char		 ch;

	for (i = 0; i < len; i++) {
		ch = src[i];
		paste_track(c, ch);
		/* A paste is text, never an escape (issue 14). */
		if (c->paste && !c->tilde) {
			dst[n++] = ch;
			c->line_start = (ch == '\r' || ch == '\n');
			continue;
		}
		if (c->tilde) {
			c->tilde = 0;
			if (ch == '.') {
				/* Send what was typed before it first. */
				input_send(c, dst, n);
				detach(c);
			}
			if (ch == '?') {
				(void)write(STDERR_FILENO, help,
				    sizeof(help) - 1);
				continue;
			}
			if (ch != ESCAPE_CHAR)
				dst[n++] = ESCAPE_CHAR;
		} else if (c->line_start && ch == ESCAPE_CHAR) {
			c->tilde = 1;
			continue;
		}
		dst[n++] = ch;
		c->line_start = (ch == '\r' || ch == '\n');
	}
	return (n);
}

/*
 * Follow the terminal's bracketed paste markers, ESC [ 2 0 0 ~ and
 * ESC [ 2 0 1 ~, across reads: c->paste is set between them.
 */
static void
paste_track(struct conn *c, unsigned char ch)
{
	static const char	 head[] = "\033[20";

	if (c->pmatch < 4) {
		if (ch == (unsigned char)head[c->pmatch])
			c->pmatch++;
		else
			c->pmatch = ch == '\033';
	} else if (c->pmatch == 4) {
		if (ch == '0' || ch == '1') {
			c->pkind = ch;
			c->pmatch = 5;
		} else
			c->pmatch = ch == '\033';
	} else {
		if (ch == '~')
			c->paste = c->pkind == '0';
		c->pmatch = ch == '\033';
	}
}

static void
input_send(struct conn *c, const unsigned char *buf, size_t len)
{
	size_t	 n;

	while (len > 0) {
		n = len > ATTACH_CHUNK ? ATTACH_CHUNK : len;
		if (c->mode == ATTACH_EXEC) {
			/* Within the window: stdin_read read no more. */
			conn_send(c, IMSG_ATTACH_STDIN, buf, n);
			c->in_window -= n > c->in_window ? c->in_window : n;
		} else
			conn_send(c, IMSG_ATTACH_INPUT, buf, n);
		buf += n;
		len -= n;
	}
}

/*
 * Piped input into a session, just read: when its end is there already,
 * the end-of-file goes in the same message as the last bytes (at p), so
 * that the session's line discipline takes both in one mode.  Sent apart,
 * it may come while bash runs the last line with the terminal cooked,
 * and readline, making the terminal raw again, reads it as a NUL.  Never
 * waits; the bytes added at p: 1, the end-of-file or one more byte, or 0.
 */
static size_t
stdin_end(struct conn *c, unsigned char *p)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	pfd.fd = STDIN_FILENO;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 1 || (n = read(STDIN_FILENO, p, 1)) == -1)
		return (0);
	if (n == 1)
		return (1);
	c->stdin_open = 0;
	c->eof_on_end = 0;
	*p = '\004';
	return (1);
}

static void
stdin_read(struct conn *c)
{
	static unsigned char	 in[ATTACH_CHUNK];
	static unsigned char	 sendbuf[ATTACH_CHUNK + 1];
	size_t			 want = sizeof(in);
	ssize_t			 n;

	if (c->mode == ATTACH_EXEC) {
		/* A held escape character may come out with the next byte. */
		if (c->in_window < want + (c->escapes ? 1 : 0))
			want = c->in_window - (c->escapes ? 1 : 0);
		if (want == 0)
			return;
	}
	if (c->eof_on_end)
		want--;		/* room for the end-of-file */
	if ((n = read(STDIN_FILENO, in, want)) == -1) {
		if (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK)
			return;
		/* A terminal that went away: stop typing, keep showing. */
		c->stdin_open = 0;
		n = 0;
	}
	if (n > 0 && c->eof_on_end && (size_t)n < want)
		n += stdin_end(c, in + n);
	if (n == 0) {
		c->stdin_open = 0;
		/* exec: the command's input ends. */
		if (c->mode == ATTACH_EXEC && !c->in_end_sent) {
			c->in_end_sent = 1;
			conn_send(c, IMSG_ATTACH_STDINEND, NULL, 0);
		}
		/*
		 * A session attached to with piped input: its end is one
		 * end-of-file on the session's terminal (issue 15).
		 */
		if (c->eof_on_end) {
			c->eof_on_end = 0;
			conn_send(c, IMSG_ATTACH_INPUT, "\004", 1);
		}
		return;
	}
	/* Ctrl-C before the guest ever came cancels the start. */
	if (c->escapes && !c->connected && memchr(in, CTRL_C, n) != NULL) {
		term_restore();
		fprintf(stderr, "capsem-shell: cancelled before the guest "
		    "connected\n");
		session_abort(&sess);
		exit(130);
	}
	if (c->escapes)
		input_send(c, sendbuf, escape_scan(c, in, n, sendbuf));
	else
		input_send(c, in, n);
}

static __dead void
detach(struct conn *c)
{
	conn_send(c, IMSG_ATTACH_DETACH, NULL, 0);
	(void)imsgbuf_flush(&c->ib);
	obuf_drain(&c->out);
	obuf_drain(&c->err);
	term_restore();
	if (c->mode == ATTACH_EXEC)
		fprintf(stderr, "capsem-shell: disconnected; the command is "
		    "ended\n");
	else if (session_is_temporary(&sess))
		fprintf(stderr, "capsem-shell: disconnected; the temporary "
		    "session ends (capsem-shell new makes one that goes "
		    "on)\n");
	else
		fprintf(stderr, "capsem-shell: disconnected; the session goes "
		    "on: capsem-shell -S %s\n", sess.dir);
	exit(255);
}

static void
socket_read(struct conn *c)
{
	struct imsg	 imsg;
	ssize_t		 n;
	int		 r;

	if ((r = imsgbuf_read(&c->ib)) == -1 || r == 0) {
		obuf_drain(&c->out);
		term_restore();
		if (r == -1)
			fprintf(stderr, "capsem-shell: %s/%s: read: %s\n",
			    sess.dir, ATTACH_SOCKET, strerror(errno));
		/* hostd is gone: nothing will end the session for us. */
		fprintf(stderr, "capsem-shell: connection to %s lost: its "
		    "capsem-hostd is gone\n", sess.dir);
		session_abort(&sess);
		exit(255);
	}
	for (;;) {
		if ((n = imsg_get(&c->ib, &imsg)) == -1)
			die("%s/%s: bad message: %s", sess.dir, ATTACH_SOCKET,
			    strerror(errno));
		if (n == 0)
			break;
		dispatch(c, &imsg);
		imsg_free(&imsg);
	}
}

/*
 * A line from capsem-hostd (ERROR, NOTICE), untrusted: its first line at
 * most, bounded, with anything unprintable made visible.
 */
static void
imsg_line(struct imsg *imsg, char *vis, size_t vislen)
{
	char	 msg[1024];
	size_t	 len = imsg_get_len(imsg);

	if (len >= sizeof(msg))
		len = sizeof(msg) - 1;
	memcpy(msg, imsg->data, len);
	msg[len] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	(void)strnvis(vis, msg, vislen, VIS_SAFE | VIS_NL);
}

/* One message from capsem-hostd: checked before it is believed. */
static void
dispatch(struct conn *c, struct imsg *imsg)
{
	struct attach_welcome	 welcome;
	struct attach_exit	 ex;
	char			 vis[4 * 1024 + 1];
	size_t			 len = imsg_get_len(imsg);
	uint32_t		 win;
	int32_t			 code;

	switch (imsg_get_type(imsg)) {
	case IMSG_ATTACH_WELCOME:
		if (imsg_get_data(imsg, &welcome, sizeof(welcome)) == -1 ||
		    welcome.version != ATTACH_VERSION)
			die("%s: bad welcome (version or size)", sess.dir);
		c->welcomed = 1;
		c->connected = welcome.connected != 0;
		if (!c->connected)
			c->wait_note_at = now_ms() + WAIT_NOTE_MS;
		if (c->mode == ATTACH_EXEC)
			exec_send_request(c);
		break;
	case IMSG_ATTACH_STDERR:
		if (len > 0)
			obuf_append(&c->err, imsg->data, len);
		break;
	case IMSG_ATTACH_STDINWINDOW:
		if (imsg_get_data(imsg, &win, sizeof(win)) == -1 ||
		    c->in_window + win > EXECIO_WINDOW_MAX)
			die("%s: bad input window", sess.dir);
		c->in_window += win;
		break;
	case IMSG_ATTACH_ERROR:
		imsg_line(imsg, vis, sizeof(vis));
		/* A session we made: the agent's last words say more. */
		if (sess.hostd_pid != -1) {
			term_restore();
			session_log_hint(&sess, "agent.log");
		}
		die("%s: %s", sess.dir, vis);
	case IMSG_ATTACH_NOTICE:
		imsg_line(imsg, vis, sizeof(vis));
		obuf_drain(&c->out);
		fprintf(stderr, "capsem-shell: %s\r\n", vis);
		break;
	case IMSG_ATTACH_CONNECTED:
		c->connected = 1;
		c->wait_note_at = 0;
		break;
	case IMSG_ATTACH_OUTPUT:
		if (len > 0)
			obuf_append(&c->out, imsg->data, len);
		break;
	case IMSG_ATTACH_EXIT:
		if (imsg_get_data(imsg, &ex, sizeof(ex)) == -1)
			die("%s: bad exit message", sess.dir);
		finish(c, c->mode == ATTACH_CONTROL ? 0 : ex.exit_code);
	case IMSG_ATTACH_EXECDONE:
		if (imsg_get_data(imsg, &code, sizeof(code)) == -1)
			die("%s: bad execdone message", sess.dir);
		obuf_drain(&c->out);
		obuf_drain(&c->err);
		term_restore();
		if (sess.temp) {
			imsgbuf_clear(&c->ib);
			(void)close(c->fd);
			if (control_shutdown(sess.dir) == -1)
				session_abort(&sess);
			session_finish(&sess, EXIT_WAIT_MS);
			exit(code & 0xff);
		}
		finish(c, code);
	default:
		/* Newer hostd: ignore what we do not know. */
		break;
	}
}

static __dead void
conn_loop(struct conn *c)
{
	struct pollfd	 pfd[4];
	struct imsg_resize rs;
	int32_t		 sig;
	struct timespec	 ts, *tsp;
	sigset_t	 mask;
	int64_t		 left;
	int		 r;

	(void)sigprocmask(SIG_SETMASK, NULL, &mask);
	sigdelset(&mask, SIGWINCH);
	sigdelset(&mask, SIGINT);
	sigdelset(&mask, SIGQUIT);
	for (;;) {
		/* A change before WELCOME waits for it. */
		if (winched && c->welcomed) {
			winched = 0;
			get_winsize(&rs.cols, &rs.rows);
			if (c->mode == ATTACH_TERMINAL || (c->exec_tty &&
			    rs.cols != 0 && rs.rows != 0))
				conn_send(c, IMSG_ATTACH_RESIZE, &rs,
				    sizeof(rs));
		}
		if (pending_sig != 0) {
			sig = pending_sig;
			pending_sig = 0;
			/* Before the guest ever came: cancel the start. */
			if (!c->connected) {
				term_restore();
				fprintf(stderr, "capsem-shell: cancelled "
				    "before the guest connected\n");
				session_abort(&sess);
				exit(128 + sig);
			}
			if (c->welcomed)
				conn_send(c, IMSG_ATTACH_SIGNAL, &sig,
				    sizeof(sig));
		}
		/* Backpressure: full stdout buffer, stop reading hostd. */
		pfd[0].fd = c->fd;
		pfd[0].events = 0;
		if (c->out.len < OUT_MAX && c->err.len < OUT_MAX)
			pfd[0].events |= POLLIN;
		if (!c->wdead && imsgbuf_queuelen(&c->ib) > 0)
			pfd[0].events |= POLLOUT;
		if (pfd[0].events == 0)
			pfd[0].fd = -1;
		pfd[1].fd = -1;
		pfd[1].events = POLLIN;
		if (c->stdin_open && c->welcomed && !c->wdead &&
		    (c->mode == ATTACH_TERMINAL || (c->mode == ATTACH_EXEC &&
		    c->in_window > (c->escapes ? 1U : 0U))) &&
		    imsgbuf_queuelen(&c->ib) < INPUT_QUEUE)
			pfd[1].fd = STDIN_FILENO;
		pfd[2].fd = c->out.len > 0 ? STDOUT_FILENO : -1;
		pfd[2].events = POLLOUT;
		pfd[3].fd = c->err.len > 0 ? c->err.fd : -1;
		pfd[3].events = POLLOUT;

		/* A guest slow to come: say so rather than show nothing. */
		tsp = NULL;
		if (c->wait_note_at != 0 && !c->connected) {
			if ((left = c->wait_note_at - now_ms()) <= 0) {
				c->wait_note_at = 0;
				fprintf(stderr, "capsem-shell: waiting for the "
				    "guest to connect (Ctrl-C cancels)\r\n");
				continue;
			}
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (left % 1000) * 1000000;
			tsp = &ts;
		}
		if ((r = ppoll(pfd, 4, tsp, &mask)) == -1) {
			if (errno == EINTR)
				continue;
			die("ppoll: %s", strerror(errno));
		}
		if (pfd[2].revents & (POLLOUT | POLLERR | POLLHUP) &&
		    obuf_write(&c->out) == -1)
			die("stdout: write: %s", strerror(errno));
		if (pfd[3].revents & (POLLOUT | POLLERR | POLLHUP) &&
		    obuf_write(&c->err) == -1)
			c->err.len = 0;		/* stderr gone: dropped */
		if (pfd[0].revents & POLLOUT) {
			if (imsgbuf_write(&c->ib) == -1) {
				/* Read on: hostd may still say why. */
				c->wdead = 1;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			socket_read(c);
			if (c->out.len > 0 && obuf_write(&c->out) == -1)
				die("stdout: write: %s", strerror(errno));
			if (c->err.len > 0 && obuf_write(&c->err) == -1)
				c->err.len = 0;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			stdin_read(c);
			/* Sent at once: a key waits for no other poll. */
			if (!c->wdead && imsgbuf_queuelen(&c->ib) > 0 &&
			    imsgbuf_write(&c->ib) == -1)
				c->wdead = 1;
		}
	}
}

/*
 * The exec request with its options (IMSG_ATTACH_EXECIO): the fixed part,
 * the command, the cwd, then each KEY=VALUE with its NUL.
 */
static void
exec_send_request(struct conn *c)
{
	struct ibuf	*b;
	size_t		 i, total, envlen = 0;

	c->ax.cmdlen = strlen(c->exec_cmd);
	c->ax.cwdlen = strlen(c->exec_cwd);
	for (i = 0; i < c->exec_nenv; i++)
		envlen += strlen(c->exec_env[i]) + 1;
	c->ax.envlen = envlen;
	c->ax.nenv = c->exec_nenv;
	total = sizeof(c->ax) + c->ax.cmdlen + c->ax.cwdlen + envlen;
	if (total + IMSG_HEADER_SIZE > ATTACH_IMSG_MAX)
		die("exec: the command, --cwd and -e take %zu bytes, at most "
		    "%zu are allowed", total - sizeof(c->ax),
		    ATTACH_IMSG_MAX - IMSG_HEADER_SIZE - sizeof(c->ax));
	if ((b = imsg_create(&c->ib, IMSG_ATTACH_EXECIO, 0, 0, total)) ==
	    NULL || imsg_add(b, &c->ax, sizeof(c->ax)) == -1 ||
	    imsg_add(b, c->exec_cmd, c->ax.cmdlen) == -1 ||
	    imsg_add(b, c->exec_cwd, c->ax.cwdlen) == -1)
		die("imsg_create: %s", strerror(errno));
	for (i = 0; i < c->exec_nenv; i++)
		if (imsg_add(b, c->exec_env[i], strlen(c->exec_env[i]) + 1) ==
		    -1)
			die("imsg_add: %s", strerror(errno));
	imsg_close(&c->ib, b);
}

/*
 * Input that would be lost if the guest could not take it: stdin is a
 * pipe, a file or a socket (a terminal is not, nor /dev/null).
 */
static int
stdin_has_data(void)
{
	struct stat	 st;

	if (fstat(STDIN_FILENO, &st) == -1)
		return (0);
	return (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) ||
	    S_ISSOCK(st.st_mode));
}

/*
 * A new session fed a script on stdin runs its shell on that input, as
 * `ssh -T host <script` does: the --shell command (bash by default)
 * without its -i, so that it neither prompts nor echoes.
 */
static char *
piped_shell(const char *shell)
{
	char	*cmd;
	size_t	 n;

	if (shell == NULL)
		shell = "/bin/bash";
	if (asprintf(&cmd, "exec %s", shell) == -1)
		die("%s", strerror(errno));
	n = strlen(cmd);
	if (n > 3 && strcmp(cmd + n - 3, " -i") == 0)
		cmd[n - 3] = '\0';
	return (cmd);
}

/*
 * The exec command line: one argument is taken as it is (a shell command);
 * several are quoted for sh where needed and joined with spaces.
 */
static char *
exec_command(int argc, char **argv)
{
	static const char	 safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_./=:,+@%-";
	size_t			 len = 1, n;
	char			*cmd, *p, *q;
	int			 i;

	if (argc == 1)
		return (argv[0]);
	for (i = 0; i < argc; i++)
		len += 4 * strlen(argv[i]) + 3;
	if ((cmd = p = malloc(len)) == NULL)
		die("%s", strerror(errno));
	for (i = 0; i < argc; i++) {
		if (i > 0)
			*p++ = ' ';
		n = strlen(argv[i]);
		if (n > 0 && strspn(argv[i], safe) == n) {
			memcpy(p, argv[i], n);
			p += n;
			continue;
		}
		*p++ = '\'';
		for (q = argv[i]; *q != '\0'; q++) {
			if (*q == '\'') {
				memcpy(p, "'\\''", 4);
				p += 4;
			} else
				*p++ = *q;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return (cmd);
}

/*
 * After EXIT: the session is over once its capsem-hostd has exited (and
 * with it removed a temporary directory).  Bounded.
 */
static int
wait_hostd(const char *dir, pid_t pid)
{
	struct pollfd	 pfd;
	int		 fd;

	if (pid <= 0 || (fd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		return (0);	/* gone already */
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, SHUTDOWN_WAIT_MS) == -1 && errno == EINTR)
		;
	(void)close(fd);
	if (pfd.revents == 0) {
		fprintf(stderr, "capsem-shell: %s: capsem-hostd (pid %d) did "
		    "not exit within %d s of the session's end\n", dir,
		    (int)pid, SHUTDOWN_WAIT_MS / 1000);
		return (-1);
	}
	return (0);
}

/*
 * Ask the session in dir to shut down and wait for its end.  Returns 0 once
 * EXIT came, -1 (reported) if the connection was lost first.
 */
int
control_shutdown(const char *dir)
{
	struct conn	 c;
	struct imsg	 imsg;
	struct pollfd	 pfd;
	ssize_t		 n;
	uint32_t	 type;
	pid_t		 hostd;
	int		 r;

	memset(&c, 0, sizeof(c));
	c.out.fd = STDOUT_FILENO;
	c.err.fd = STDERR_FILENO;
	hostd = session_hostd_pid(dir);
	conn_open(&c, ATTACH_CONTROL, dir);
	conn_send(&c, IMSG_ATTACH_SHUTDOWN, NULL, 0);
	if (imsgbuf_flush(&c.ib) == -1)
		die("%s/%s: write: %s", dir, ATTACH_SOCKET, strerror(errno));
	pfd.fd = c.fd;
	pfd.events = POLLIN;
	/* Bounded: a guest that is gone cannot end its session. */
	for (;;) {
		if ((r = poll(&pfd, 1, SHUTDOWN_WAIT_MS)) == -1) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (r == 0) {
			imsgbuf_clear(&c.ib);
			(void)close(c.fd);
			fprintf(stderr, "capsem-shell: %s: the session did not "
			    "end within %d s of the shutdown request (is the "
			    "guest connected?)\n", dir,
			    SHUTDOWN_WAIT_MS / 1000);
			return (-1);
		}
		if ((r = imsgbuf_read(&c.ib)) <= 0)
			break;
		while ((n = imsg_get(&c.ib, &imsg)) > 0) {
			type = imsg_get_type(&imsg);
			if (type == IMSG_ATTACH_ERROR)
				dispatch(&c, &imsg);
			imsg_free(&imsg);
			if (type == IMSG_ATTACH_EXIT) {
				imsgbuf_clear(&c.ib);
				(void)close(c.fd);
				return (wait_hostd(dir, hostd));
			}
		}
		if (n == -1)
			break;
	}
	imsgbuf_clear(&c.ib);
	(void)close(c.fd);
	fprintf(stderr, "capsem-shell: connection to %s lost\n", dir);
	return (-1);
}

int
main(int argc, char *argv[])
{
	enum { OPT_LOCAL = 256, OPT_VM, OPT_SHELL, OPT_AUDITLOG, OPT_BOOT,
	    OPT_NOENV, OPT_NOMODES, OPT_CWD, OPT_TIMEOUT, OPT_TRANSPORT };
	static const struct option longopts[] = {
		{ "temp",	no_argument,	NULL,	'T' },
		{ "boot-timeout", required_argument, NULL, OPT_BOOT },
		{ "no-send-env", no_argument,	NULL,	OPT_NOENV },
		{ "no-term-modes", no_argument,	NULL,	OPT_NOMODES },
		{ "version",	no_argument,	NULL,	'V' },
		{ "local",	no_argument,	NULL,	OPT_LOCAL },
		{ "vm",		required_argument, NULL, OPT_VM },
		{ "shell",	required_argument, NULL, OPT_SHELL },
		{ "audit-log",	required_argument, NULL, OPT_AUDITLOG },
		{ "help",	no_argument,	NULL,	'h' },
		{ "cwd",	required_argument, NULL, OPT_CWD },
		{ "timeout",	required_argument, NULL, OPT_TIMEOUT },
		{ "transport",	required_argument, NULL, OPT_TRANSPORT },
		{ NULL,		0,		NULL,	0 }
	};
	struct session_opts	 so;
	struct conn		 c;
	static const struct {
		const char	*name;
		enum command	 cmd;
	} commands[] = {
		{ "exec", CMD_EXEC }, { "shutdown", CMD_SHUTDOWN },
		{ "new", CMD_NEW }, { "ls", CMD_LS }, { "prune", CMD_PRUNE },
		{ "log", CMD_LOG },
	};
	enum command		 cmd = CMD_ATTACH;
	const char		*dir = NULL, *errstr;
	size_t			 k;
	int			 ch, temp = 0, create = 0, local = 0;
	int			 detached = 0, input = 0, no_modes = 0;
	int			 tty = 0, nostdin = 0;
	long long		 timeout = 0;

	memset(&so, 0, sizeof(so));
	memset(&c, 0, sizeof(c));
	c.out.fd = STDOUT_FILENO;
	c.err.fd = STDERR_FILENO;
	so.boot_secs = -1;
	(void)session_existing(&sess, "");
	if (argc > 1 && strcmp(argv[1], "cp") == 0)
		exit(cp_main(argc - 1, argv + 1));
	for (k = 0; argc > 1 && k < sizeof(commands) / sizeof(commands[0]);
	    k++)
		if (strcmp(argv[1], commands[k].name) == 0)
			cmd = commands[k].cmd;
	if (cmd != CMD_ATTACH) {
		argc--;
		argv++;
	}
	if ((so.env = calloc(argc, sizeof(*so.env))) == NULL)
		die("%s", strerror(errno));

	/*
	 * "+": exec's command starts at the first non-option.  For exec, -t
	 * asks for a terminal (as in ssh); the transport is --transport.
	 */
	while ((ch = getopt_long(argc, argv, cmd == CMD_EXEC ?
	    "+de:hinS:TtVv" : "+de:hiS:Tt:Vv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			nostdin = 1;
			break;
		case OPT_CWD:
			if (cmd != CMD_EXEC)
				usage(255);
			c.exec_cwd = optarg;
			break;
		case OPT_TIMEOUT:
			if (cmd != CMD_EXEC)
				usage(255);
			timeout = strtonum(optarg, 1, UINT32_MAX, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "capsem-shell: --timeout %s: "
				    "seconds is %s\n", optarg, errstr);
				usage(255);
			}
			break;
		case OPT_TRANSPORT:
			so.transport = optarg;
			create = 1;
			break;
		case 'i':
			if (cmd != CMD_LOG)
				usage(255);
			input = 1;
			break;
		case 'd':
			if (cmd != CMD_NEW)
				usage(255);
			detached = 1;
			break;
		case 'V':
			printf("capsem-shell %s\n", CAPSEM_VERSION);
			exit(0);
		case OPT_NOENV:
			so.no_send_env = 1;
			create = 1;
			break;
		case OPT_NOMODES:
			no_modes = create = 1;
			break;
		case OPT_BOOT:
			so.boot_secs = strtonum(optarg, 0, 86400, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "capsem-shell: --boot-timeout "
				    "%s: seconds is %s\n", optarg, errstr);
				usage(255);
			}
			create = 1;
			break;
		case 'e':
			if (strchr(optarg, '=') == NULL ||
			    optarg[0] == '=') {
				fprintf(stderr, "capsem-shell: -e %s: not "
				    "KEY=VALUE\n", optarg);
				usage(255);
			}
			so.env[so.nenv++] = optarg;
			/* exec -S: the command's, not a new session's. */
			if (cmd != CMD_EXEC)
				create = 1;
			break;
		case 'S':
			dir = optarg;
			break;
		case 'T':
			temp = 1;
			break;
		case 't':
			if (cmd == CMD_EXEC) {
				tty++;
				break;
			}
			so.transport = optarg;
			create = 1;
			break;
		case 'v':
			so.verbose++;
			break;
		case OPT_LOCAL:
			local = create = 1;
			break;
		case OPT_VM:
			so.vm_cmd = optarg;
			create = 1;
			break;
		case OPT_SHELL:
			so.shell = optarg;
			create = 1;
			break;
		case OPT_AUDITLOG:
			so.audit_log = optarg;
			create = 1;
			break;
		case 'h':
			usage(0);
		default:
			usage(255);
		}
	}
	argc -= optind;
	argv += optind;

	if (local && so.vm_cmd != NULL)
		usage(255);
	if ((cmd == CMD_LS || cmd == CMD_PRUNE) && (argc != 0 || dir != NULL ||
	    temp || create))
		usage(255);
	if (cmd == CMD_LS || cmd == CMD_PRUNE)
		exit(session_list(cmd == CMD_PRUNE) == 0 ? 0 : 255);
	if (cmd == CMD_LOG) {
		if (temp || create || (dir != NULL) == (argc == 1) || argc > 1)
			usage(255);
		exit(session_log(dir != NULL ? dir : argv[0], input) == 0 ?
		    0 : 255);
	}
	if (cmd == CMD_NEW) {
		if (argc != 0 || temp)
			usage(255);
		so.persistent = 1;
		so.dir = dir;
		dir = NULL;
	}
	if (dir != NULL && (temp || create)) {
		fprintf(stderr, "capsem-shell: -S attaches to a session; "
		    "the session options only apply to a new one\n");
		usage(255);
	}
	if (cmd == CMD_SHUTDOWN && (dir == NULL || argc != 0))
		usage(255);
	if (cmd == CMD_ATTACH && argc != 0)
		usage(255);
	/*
	 * A new session fed from a pipe or a file (not a terminal) runs its
	 * shell on that input, as `ssh -T host <script` does; attached to an
	 * existing one, the input is typed and its end is one end-of-file.
	 */
	if (cmd == CMD_ATTACH && !isatty(STDIN_FILENO)) {
		if (dir == NULL) {
			cmd = CMD_EXEC;
			c.exec_cmd = piped_shell(so.shell);
			c.ax.flags = EXECIO_STDIN | EXECIO_STDIN_DATA;
		} else
			c.eof_on_end = 1;
	}
	if (cmd == CMD_EXEC && c.exec_cmd == NULL) {
		if (argc == 0)
			usage(255);
		if (tty > 0 && !isatty(STDIN_FILENO) && tty < 2)
			die("exec -t: stdin is not a terminal (-tt forces "
			    "one)");
		if (nostdin && freopen("/dev/null", "r", stdin) == NULL)
			die("/dev/null: %s", strerror(errno));
		c.exec_cmd = exec_command(argc, argv);
		if (strlen(c.exec_cmd) > EXEC_COMMAND_MAX)
			die("exec: the command is %zu bytes long, at most %d "
			    "are allowed", strlen(c.exec_cmd),
			    EXEC_COMMAND_MAX);
		if (*c.exec_cmd == '\0')
			die("exec: the command is empty");
	}

	if (cmd == CMD_EXEC) {
		if (c.exec_cwd == NULL)
			c.exec_cwd = "";
		c.ax.flags |= EXECIO_STDIN;
		if (stdin_has_data())
			c.ax.flags |= EXECIO_STDIN_DATA;
		c.ax.timeout = timeout;
		/* A new session has them already: its shell's and ours. */
		if (dir != NULL) {
			if (so.nenv >= EXECIO_ENV_MAX)
				die("exec: at most %d -e are allowed",
				    EXECIO_ENV_MAX - 1);
			c.exec_env = so.env;
			c.exec_nenv = so.nenv;
		}
		if (tty > 0) {
			c.exec_tty = 1;
			if (tty > 1)
				c.ax.flags |= EXECIO_FORCE_TTY;
			get_winsize(&c.ax.cols, &c.ax.rows);
			if (c.ax.cols == 0 || c.ax.rows == 0) {
				c.ax.cols = 80;
				c.ax.rows = 24;
			}
			/* Our terminal's type, as ssh's pty request has it. */
			if (dir != NULL && getenv("TERM") != NULL) {
				for (k = 0; k < so.nenv; k++)
					if (strncmp(so.env[k], "TERM=", 5) == 0)
						break;
				if (k == so.nenv && asprintf(&so.env[so.nenv],
				    "TERM=%s", getenv("TERM")) != -1)
					c.exec_nenv = ++so.nenv;
			}
		}
	}

	set_signals();
	if (dir != NULL && session_existing(&sess, dir) == -1)
		die("%s: path too long", dir);
	if (cmd == CMD_SHUTDOWN) {
		free(so.env);
		exit(control_shutdown(dir) == 0 ? 0 : 255);
	}
	if (dir == NULL && !no_modes)
		so.term_modes = term_modes();
	if (dir == NULL && session_create(&sess, &so) == -1)
		exit(255);
	if (cmd == CMD_NEW) {
		fprintf(stderr, "capsem-shell: new session %s\n", sess.dir);
		if (detached)
			exit(0);
	}

	if (cmd == CMD_EXEC) {
		c.stdin_open = 1;
		c.line_start = 1;
		conn_open(&c, ATTACH_EXEC, sess.dir);
		if (c.exec_tty) {
			if (isatty(STDIN_FILENO)) {
				c.escapes = 1;
				term_raw();
			}
		} else
			set_exec_signals();
	} else {
		c.stdin_open = 1;
		c.line_start = 1;
		conn_open(&c, ATTACH_TERMINAL, sess.dir);
		if (isatty(STDIN_FILENO)) {
			c.escapes = 1;
			term_raw();
		}
	}
	conn_loop(&c);
}
