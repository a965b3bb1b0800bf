/*
 * capsem-shell cp: copies files and directories between this machine and
 * a session's guest, a guest path written :PATH (relative to the
 * workspace), as scp writes host:path.  One attach connection in copy mode
 * (capsem_imsg.h "A copy client") carries the requests one at a time; the
 * bytes go on the copy connection capsem-hostd hands over (the guest
 * announced "copy") or, for small files of an upstream agent, in COPYDATA
 * pieces.  Without -S a temporary session is made and ended, as for exec.
 *
 * It touches the local files named on the command line (and, with -r,
 * what is beneath them), the session's attach.sock and, for a temporary
 * session, what it made.  Input from capsem-hostd and the guest is checked
 * before use: sizes, and every name of a directory listing (one component,
 * not "." or "..") before it becomes a local path.  What it writes appears
 * atomically: an unnamed file (O_TMPFILE) or a temporary one beside the
 * destination, renamed into place once complete, so an interrupted copy
 * (signal, kill, a dropped connection) leaves nothing at the destination.
 * Memory is one COPY_BUF and, for -r, one directory listing at a time.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
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
#include <time.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "cp.h"
#include "ev.h"
#include "imsg.h"
#include "session.h"
#include "transport.h"
#include "wire.h"

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif

#define COPY_BUF	(256 * 1024)
#define PROGRESS_MS	1000	/* a copy shows progress after this long */
#define REDRAW_MS	200
#define WAIT_NOTE_MS	1000	/* "waiting for the guest" after this */
#define LIST_ENTRIES	65536

struct cpopt {
	int		 recursive;
	int		 preserve;
	int		 quiet;
	uint64_t	 limit;		/* bytes per second, 0: none */
	mode_t		 umask;
};

/* One copy's progress line. */
struct progress {
	const char	*name;
	uint64_t	 total;
	uint64_t	 done;
	int64_t		 start;
	int64_t		 drawn;		/* last drawn, 0: never */
};

static struct cpopt		 opt;
static struct session		 csess;
static struct imsgbuf		 ib;
static int			 afd = -1;
static int			 failures;
static int64_t			 note_at;	/* say "waiting" then, 0: not */
static volatile sig_atomic_t	 interrupted;
/* The local file being written, to remove when interrupted (named only). */
static int			 tmp_dfd = -1;
static char			 tmp_name[NAME_MAX + 1];

static __dead void	 cp_usage(void);
static __dead void	 cp_die(const char *, ...)
			    __attribute__((__format__(printf, 1, 2)));
static void		 cp_warn(const char *, const char *, ...)
			    __attribute__((__format__(printf, 2, 3)));
static void		 cp_signal(int);
static void		 cp_connect(void);
static void		 cp_send(uint32_t, int, const void *, size_t);
static int		 cp_next(struct imsg *, uint32_t);
static int		 cp_request(uint32_t, const char *, uint64_t,
			    uint32_t, const struct timespec *);
static void		 times_note(const struct attach_copystream *);
static int		 local_mtime(int, int64_t);
static int		 cp_result(const char *);
static int		 cp_done(struct imsg *, const char *);
static int		 cp_stream(struct attach_copystream *, int *,
			    const char *);
static void		 cp_check_interrupt(void);
static void		 cp_wait_note(void);
static void		 progress_draw(struct progress *, int);
static int		 is_guest(const char *);
static const char	*cp_reason(const char *);
static int		 copy_in(const char *, const char *, int);
static int		 copy_in_file(const char *, int, const struct stat *,
			    const char *);
static int		 copy_out(const char *, const char *, int);
static int		 copy_out_stream(const char *, const char *,
			    struct attach_copystream *, int);
static int		 copy_out_dir(const char *, const char *, int,
			    const struct attach_copystream *);
static int		 local_open(const char *, int *, char *, size_t);
static int		 local_commit(int, int, const char *, const char *,
			    const char *);
static void		 local_discard(int, int);
static void		 progress_start(struct progress *, const char *,
			    uint64_t);
static void		 progress_add(struct progress *, uint64_t);
static void		 progress_end(struct progress *);
static void		 pace(const struct progress *);
static const char	*base_name(const char *, char *, size_t);
static void		 join(char *, size_t, const char *, const char *);

static __dead void
cp_usage(void)
{
	fprintf(stderr, "usage: capsem-shell cp [-pqrv] [-l limit] [-S dir] "
	    "source ... target\n"
	    "       (a guest path is :PATH, relative to the workspace)\n");
	exit(255);
}

static __dead void
cp_die(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "capsem-shell: cp: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (tmp_dfd != -1 && tmp_name[0] != '\0')
		(void)unlinkat(tmp_dfd, tmp_name, 0);
	session_abort(&csess);
	exit(255);
}

/* One failed path; the others go on, the status says it. */
static void
cp_warn(const char *path, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "capsem-shell: cp: %s: ", path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	failures++;
}

static void
cp_signal(int sig)
{
	interrupted = sig;
}

static void
cp_check_interrupt(void)
{
	if (interrupted)
		cp_die("interrupted (signal %d): the copy in progress was "
		    "abandoned", (int)interrupted);
}

/* The attach connection in copy mode, once the guest has booted. */
static void
cp_connect(void)
{
	struct attach_hello	 hello;
	struct attach_welcome	 w;
	struct imsg		 imsg;
	char			 path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", csess.dir,
	    ATTACH_SOCKET) >= sizeof(path))
		cp_die("%s: path too long", csess.dir);
	if ((afd = transport_connect_unix(path)) == -1)
		cp_die("%s: connect: %s", path, strerror(errno));
	if (imsgbuf_init(&ib, afd) == -1 ||
	    imsgbuf_set_maxsize(&ib, ATTACH_IMSG_MAX) == -1)
		cp_die("imsgbuf_init: %s", strerror(errno));
	imsgbuf_allow_fdpass(&ib);
	memset(&hello, 0, sizeof(hello));
	hello.version = ATTACH_VERSION;
	hello.mode = ATTACH_COPY;
	cp_send(IMSG_ATTACH_HELLO, -1, &hello, sizeof(hello));
	if (cp_next(&imsg, IMSG_ATTACH_WELCOME) == -1 ||
	    imsg_get_data(&imsg, &w, sizeof(w)) == -1 ||
	    w.version != ATTACH_VERSION)
		cp_die("%s: bad welcome", csess.dir);
	imsg_free(&imsg);
	if (!w.connected) {
		note_at = now_ms() + WAIT_NOTE_MS;
		if (cp_next(&imsg, IMSG_ATTACH_CONNECTED) == -1)
			cp_die("%s: the guest did not connect", csess.dir);
		imsg_free(&imsg);
		note_at = 0;
	}
}

static void
cp_send(uint32_t type, int fd, const void *data, size_t len)
{
	if (imsg_compose(&ib, type, 0, 0, fd, data, len) == -1 ||
	    imsgbuf_flush(&ib) == -1)
		cp_die("%s/%s: write: %s", csess.dir, ATTACH_SOCKET,
		    strerror(errno));
}

/*
 * The next message of one of the types we wait for (NOTICE lines are shown,
 * an ERROR ends us): 0 and imsg filled, or -1 for another type.
 */
static int
cp_next(struct imsg *imsg, uint32_t want)
{
	char	 line[1024];
	size_t	 len;
	ssize_t	 n;

	for (;;) {
		cp_check_interrupt();
		if ((n = imsg_get(&ib, imsg)) == -1)
			cp_die("%s: bad message from capsem-hostd", csess.dir);
		if (n == 0) {
			cp_wait_note();
			n = imsgbuf_read(&ib);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				cp_die("connection to %s lost: its capsem-hostd "
				    "is gone", csess.dir);
			continue;
		}
		if (imsg_get_type(imsg) == IMSG_ATTACH_ERROR ||
		    imsg_get_type(imsg) == IMSG_ATTACH_NOTICE) {
			len = imsg_get_len(imsg);
			if (len >= sizeof(line))
				len = sizeof(line) - 1;
			memcpy(line, imsg->data, len);
			line[len] = '\0';
			line[strcspn(line, "\n")] = '\0';
			if (imsg_get_type(imsg) == IMSG_ATTACH_ERROR)
				cp_die("%s: %s", csess.dir, line);
			fprintf(stderr, "capsem-shell: %s\n", line);
			imsg_free(imsg);
			continue;
		}
		if (imsg_get_type(imsg) == want)
			return (0);
		if (imsg_get_type(imsg) == IMSG_ATTACH_COPYDONE &&
		    want == IMSG_ATTACH_COPYSTREAM)
			return (-1);
		imsg_free(imsg);
	}
}

/* A guest slow to come: say so (once) rather than show nothing. */
static void
cp_wait_note(void)
{
	struct pollfd	 pfd;
	int64_t		 left;

	if (note_at == 0)
		return;
	pfd.fd = afd;
	pfd.events = POLLIN;
	if ((left = note_at - now_ms()) < 0)
		left = 0;
	if (poll(&pfd, 1, (int)left) == 0)
		fprintf(stderr, "capsem-shell: cp: waiting for the guest to "
		    "connect (Ctrl-C cancels)\n");
	note_at = 0;
}

/* mtime: the time a file copied in is to get (-p), or NULL. */
static int
cp_request(uint32_t dir, const char *gpath, uint64_t size, uint32_t mode,
    const struct timespec *mtime)
{
	struct attach_copy	 ac;
	uint8_t			 buf[sizeof(ac) + ATTACH_COPY_PATH_MAX];
	size_t			 plen = strlen(gpath);

	if (plen == 0 || plen > ATTACH_COPY_PATH_MAX) {
		cp_warn(gpath, "guest path empty or too long");
		return (-1);
	}
	memset(&ac, 0, sizeof(ac));
	ac.dir = dir;
	ac.size = size;
	ac.mode = mode;
	if (mtime != NULL) {
		ac.flags = COPY_MTIME;
		ac.mtime_ns = timespec_ns(mtime);
	}
	memcpy(buf, &ac, sizeof(ac));
	memcpy(buf + sizeof(ac), gpath, plen);
	cp_send(IMSG_ATTACH_COPY, -1, buf, sizeof(ac) + plen);
	return (0);
}

/*
 * -p and a file whose time does not come (or go) with it: an agent
 * without copytimes.  Said once.
 */
static void
times_note(const struct attach_copystream *cs)
{
	static int	 said;

	if (!opt.preserve || (cs->flags & COPY_MTIME) || said)
		return;
	said = 1;
	fprintf(stderr, "capsem-shell: cp -p: the guest agent does not keep "
	    "modification times; only the permission bits are kept\n");
}

/* The guest's words, without the prefix that names the operation. */
static const char *
cp_reason(const char *msg)
{
	static const char *const pfx[] = { "FileWrite rejected: ",
	    "FileRead rejected: " };
	const char	*p;
	size_t		 i;

	for (i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (strncmp(msg, pfx[i], strlen(pfx[i])) == 0)
			msg += strlen(pfx[i]);
	if (strcmp(msg, "path escapes the workspace") == 0)
		return ("outside the workspace");
	if ((strncmp(msg, "failed to ", 10) == 0) &&
	    (p = strstr(msg, ": ")) != NULL)
		msg = p + 2;
	if (strcmp(msg, "No space left on device") == 0)
		return ("disk full (No space left on device)");
	return (msg);
}

/* A COPYDONE: 0 done, -1 failed (said, naming name). */
static int
cp_done(struct imsg *imsg, const char *name)
{
	struct attach_copydone	 d;
	char			 msg[4097];
	size_t			 len;

	len = imsg_get_len(imsg);
	if (len < sizeof(d) || len > sizeof(d) + sizeof(msg))
		cp_die("%s: bad copy result", csess.dir);
	memcpy(&d, imsg->data, sizeof(d));
	memset(msg, 0, sizeof(msg));
	memcpy(msg, (uint8_t *)imsg->data + sizeof(d), len - sizeof(d));
	msg[sizeof(msg) - 1] = '\0';
	imsg_free(imsg);
	if (d.ok)
		return (0);
	cp_warn(name, "%s", cp_reason(msg));
	return (-1);
}

static int
cp_result(const char *name)
{
	struct imsg	 imsg;

	(void)cp_next(&imsg, IMSG_ATTACH_COPYDONE);
	return (cp_done(&imsg, name));
}

/*
 * The copy's start: 1 and *fd the copy connection, 0 without one (the
 * bytes come in COPYDATA), -1 refused before any byte (said).
 */
static int
cp_stream(struct attach_copystream *cs, int *fd, const char *name)
{
	struct imsg	 imsg;

	*fd = -1;
	if (cp_next(&imsg, IMSG_ATTACH_COPYSTREAM) == -1)
		return (cp_done(&imsg, name) == 0 ? -1 : -1);
	if (imsg_get_data(&imsg, cs, sizeof(*cs)) == -1)
		cp_die("%s: bad copy stream message", csess.dir);
	if (cs->stream && (*fd = imsg_get_fd(&imsg)) == -1)
		cp_die("%s: copy stream without its connection", csess.dir);
	imsg_free(&imsg);
	if (*fd != -1)
		(void)fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
	return (cs->stream ? 1 : 0);
}

static const char *
base_name(const char *path, char *buf, size_t len)
{
	const char	*s;
	size_t		 n;

	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	for (s = path + n; s > path && s[-1] != '/'; s--)
		;
	n -= s - path;
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return (buf);
}

/* dir + "/" + name; an empty dir (the workspace root) is no prefix. */
static void
join(char *dst, size_t len, const char *dir, const char *name)
{
	size_t	 n = strlen(dir);

	if (n == 0)
		strlcpy(dst, name, len);
	else if (dir[n - 1] == '/')
		snprintf(dst, len, "%s%s", dir, name);
	else
		snprintf(dst, len, "%s/%s", dir, name);
}

/* ---- progress ---- */

static void
progress_start(struct progress *p, const char *name, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->total = total;
	p->start = now_ms();
}

static void
progress_draw(struct progress *p, int last)
{
	struct winsize	 ws;
	double		 secs, rate;
	int64_t		 t = now_ms(), left;
	int		 pct, width = 80;
	char		 line[256], eta[32];

	secs = (t - p->start) / 1000.0;
	rate = secs > 0 ? p->done / secs : 0;
	pct = p->total > 0 ? (int)(p->done * 100 / p->total) : 100;
	if (last)
		snprintf(eta, sizeof(eta), "%02d:%02d", (int)secs / 60,
		    (int)secs % 60);
	else if (rate > 0) {
		left = (int64_t)((p->total - p->done) / rate);
		snprintf(eta, sizeof(eta), "%02lld:%02lld ETA",
		    (long long)left / 60, (long long)left % 60);
	} else
		strlcpy(eta, "--:-- ETA", sizeof(eta));
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		width = ws.ws_col;
	snprintf(line, sizeof(line), " %3d%% %8.1fMiB %7.1fMiB/s %s", pct,
	    p->done / 1048576.0, rate / 1048576.0, eta);
	width -= strlen(line) + 1;
	if (width < 1)
		width = 1;
	fprintf(stderr, "\r%-*.*s%s", width, width, p->name, line);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
	p->drawn = t;
}

/* Only on a terminal, and only for a copy that takes a while. */
static void
progress_add(struct progress *p, uint64_t n)
{
	int64_t	 t;

	p->done += n;
	if (opt.quiet || !isatty(STDERR_FILENO))
		return;
	t = now_ms();
	if (t - p->start < PROGRESS_MS || t - p->drawn < REDRAW_MS)
		return;
	progress_draw(p, 0);
}

static void
progress_end(struct progress *p)
{
	if (p->drawn != 0)
		progress_draw(p, 1);
}

/* -l: never faster than the limit, averaged from the start. */
static void
pace(const struct progress *p)
{
	struct timespec	 ts;
	int64_t		 due, now;

	if (opt.limit == 0)
		return;
	due = p->start + (int64_t)(p->done * 1000 / opt.limit);
	if ((now = now_ms()) >= due)
		return;
	ts.tv_sec = (due - now) / 1000;
	ts.tv_nsec = ((due - now) % 1000) * 1000000;
	(void)nanosleep(&ts, NULL);
}

/* ---- local files ---- */

/*
 * A new local file beside path: unnamed where the file system can, else
 * a temporary name (kept in tmp_name for a signal).  The fd, -1 (said).
 */
static int
local_open(const char *path, int *dfdp, char *dname, size_t dlen)
{
	char		 dir[PATH_MAX], name[NAME_MAX + 1];
	const char	*slash;
	int		 dfd, fd, tries;

	if ((slash = strrchr(path, '/')) == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == path)
		strlcpy(dir, "/", sizeof(dir));
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	base_name(path, name, sizeof(name));
	strlcpy(dname, name, dlen);
	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		cp_warn(path, "%s", strerror(errno));
		return (-1);
	}
	tmp_name[0] = '\0';
	fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	for (tries = 0; fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EEXIST) && tries < 16; tries++) {
		snprintf(tmp_name, sizeof(tmp_name), ".%.200s.capsem-%08x",
		    name, arc4random());
		tmp_dfd = dfd;
		fd = openat(dfd, tmp_name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd == -1) {
		cp_warn(path, "%s", strerror(errno));
		tmp_name[0] = '\0';
		close(dfd);
		return (-1);
	}
	tmp_dfd = dfd;
	*dfdp = dfd;
	return (fd);
}

/* All of it arrived: in place under path, atomically. */
static int
local_commit(int dfd, int fd, const char *name, const char *path,
    const char *src)
{
	char	 proc[64];
	int	 tries;

	if (tmp_name[0] == '\0') {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		for (tries = 0; tries < 16; tries++) {
			snprintf(tmp_name, sizeof(tmp_name),
			    ".%.200s.capsem-%08x", name, arc4random());
			if (linkat(AT_FDCWD, proc, dfd, tmp_name,
			    AT_SYMLINK_FOLLOW) == 0)
				break;
			if (errno != EEXIST) {
				tmp_name[0] = '\0';
				cp_warn(path, "%s", strerror(errno));
				local_discard(dfd, fd);
				return (-1);
			}
		}
	}
	if (close(fd) == -1 || renameat(dfd, tmp_name, dfd, name) == -1) {
		cp_warn(path, "%s", errno == EISDIR ? "is a directory" :
		    strerror(errno));
		(void)unlinkat(dfd, tmp_name, 0);
		tmp_name[0] = '\0';
		close(dfd);
		tmp_dfd = -1;
		return (-1);
	}
	tmp_name[0] = '\0';
	close(dfd);
	tmp_dfd = -1;
	(void)src;
	return (0);
}

static void
local_discard(int dfd, int fd)
{
	if (fd != -1)
		close(fd);
	if (tmp_name[0] != '\0')
		(void)unlinkat(dfd, tmp_name, 0);
	tmp_name[0] = '\0';
	close(dfd);
	tmp_dfd = -1;
}

/* ---- copy in: local to guest ---- */

static int
copy_in(const char *src, const char *gdst, int top)
{
	struct stat	 st;
	char		 child[PATH_MAX], gchild[PATH_MAX];
	struct dirent	*de;
	DIR		*d;
	int		 fd, rc = 0;

	fd = open(src, O_RDONLY | O_CLOEXEC | (top ? 0 : O_NOFOLLOW) |
	    O_NONBLOCK);
	if (fd == -1) {
		if (errno == ELOOP && !top)
			return (0);	/* a symlink beneath: skipped */
		cp_warn(src, "%s", strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		cp_warn(src, "%s", strerror(errno));
		close(fd);
		return (-1);
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (S_ISREG(st.st_mode)) {
		rc = copy_in_file(src, fd, &st, gdst);
		close(fd);
		return (rc);
	}
	if (!S_ISDIR(st.st_mode)) {
		close(fd);
		cp_warn(src, "not a regular file or directory");
		return (-1);
	}
	if (!opt.recursive) {
		close(fd);
		cp_warn(src, "is a directory (use -r)");
		return (-1);
	}
	if (cp_request(ATTACH_COPY_IN, gdst, 0, COPY_MODE_DIR |
	    (opt.preserve ? (st.st_mode & 01777) : 0), NULL) == -1 ||
	    cp_result(gdst[0] == '\0' ? ":" : gdst) == -1) {
		close(fd);
		return (-1);
	}
	if ((d = fdopendir(fd)) == NULL) {
		cp_warn(src, "%s", strerror(errno));
		close(fd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		join(child, sizeof(child), src, de->d_name);
		join(gchild, sizeof(gchild), gdst, de->d_name);
		if (copy_in(child, gchild, 0) == -1)
			rc = -1;
	}
	closedir(d);
	/*
	 * -p: the directory's time, once what went into it no longer
	 * changes it (an agent without copytimes gets none from hostd).
	 */
	if (opt.preserve && (cp_request(ATTACH_COPY_IN, gdst, 0,
	    COPY_MODE_DIR | (st.st_mode & 01777), &st.st_mtim) == -1 ||
	    cp_result(gdst[0] == '\0' ? ":" : gdst) == -1))
		rc = -1;
	return (rc);
}

static int
copy_in_file(const char *src, int fd, const struct stat *st,
    const char *gdst)
{
	static uint8_t		 buf[COPY_BUF];
	struct attach_copystream cs;
	struct progress		 pr;
	uint64_t		 size = st->st_size, sent = 0;
	ssize_t			 n, w, off;
	char			 gname[PATH_MAX + 1];
	int			 sock, r;

	snprintf(gname, sizeof(gname), ":%s", gdst);
	if (cp_request(ATTACH_COPY_IN, gdst, size, opt.preserve ?
	    (st->st_mode & 01777) : 0, opt.preserve ? &st->st_mtim : NULL) ==
	    -1)
		return (-1);
	/* Without a connection (upstream agent) the bytes go to hostd. */
	if (cp_stream(&cs, &sock, gname) == -1)
		return (-1);
	times_note(&cs);
	progress_start(&pr, src, size);
	while (sent < size) {
		n = read(fd, buf, size - sent < sizeof(buf) ?
		    (size_t)(size - sent) : sizeof(buf));
		if (n == -1 && errno == EINTR) {
			cp_check_interrupt();
			continue;
		}
		if (n <= 0) {
			cp_warn(src, "%s", n == 0 ? "the file shrank while it "
			    "was copied" : strerror(errno));
			if (sock != -1)
				close(sock);
			else
				cp_die("cannot go on after a failed read");
			(void)cp_result(gname);
			return (-1);
		}
		for (off = 0; off < n; off += w) {
			cp_check_interrupt();
			if (sock == -1) {
				w = n - off > ATTACH_CHUNK ? ATTACH_CHUNK :
				    n - off;
				cp_send(IMSG_ATTACH_COPYDATA, -1, buf + off, w);
				continue;
			}
			if ((w = write(sock, buf + off, n - off)) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				/* The guest stopped reading: it says why. */
				close(sock);
				progress_end(&pr);
				return (cp_result(gname));
			}
		}
		sent += n;
		progress_add(&pr, n);
		pace(&pr);
	}
	if (sock != -1) {
		(void)shutdown(sock, SHUT_WR);
	} else
		cp_send(IMSG_ATTACH_COPYEND, -1, NULL, 0);
	r = cp_result(gname);
	if (sock != -1)
		close(sock);
	progress_end(&pr);
	return (r);
}

/* ---- copy out: guest to local ---- */

/* The guest file's modification time on the local copy; its atime stays. */
static int
local_mtime(int fd, int64_t ns)
{
	struct timespec	 ts[2];

	mtime_only(ts, ns_timespec(ns));
	return (futimens(fd, ts));
}

static int
copy_out(const char *gsrc, const char *dst, int top)
{
	struct attach_copystream cs;
	char			 gname[PATH_MAX + 1];
	int			 sock, r;

	snprintf(gname, sizeof(gname), ":%s", gsrc);
	if (cp_request(ATTACH_COPY_OUT, gsrc[0] == '\0' ? "." : gsrc, 0,
	    0, NULL) == -1)
		return (-1);
	if ((r = cp_stream(&cs, &sock, gname)) == -1)
		return (-1);
	if (cs.mode & COPY_MODE_DIR) {
		if (!opt.recursive) {
			close(sock);
			(void)cp_result(gname);
			cp_warn(gname, "is a directory (use -r)");
			return (-1);
		}
		return (copy_out_dir(gname, dst, sock, &cs) == -1 ? -1 : 0);
	}
	return (copy_out_stream(gname, dst, &cs, sock));
}

static int
copy_out_stream(const char *gname, const char *dst,
    struct attach_copystream *cs, int sock)
{
	static uint8_t	 buf[COPY_BUF];
	struct progress	 pr;
	struct imsg	 imsg;
	uint64_t	 got = 0;
	ssize_t		 n, w, off;
	char		 name[NAME_MAX + 1];
	mode_t		 mode;
	int		 fd, dfd, r;

	if ((fd = local_open(dst, &dfd, name, sizeof(name))) == -1) {
		if (sock != -1)
			close(sock);
		(void)cp_result(gname);
		return (-1);
	}
	mode = opt.preserve ? (cs->mode & 01777) : (0666 & ~opt.umask);
	(void)fchmod(fd, mode);
	times_note(cs);
	progress_start(&pr, gname, cs->size);
	while (got < cs->size) {
		cp_check_interrupt();
		if (sock != -1) {
			n = read(sock, buf, cs->size - got < sizeof(buf) ?
			    (size_t)(cs->size - got) : sizeof(buf));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(sock);
				local_discard(dfd, fd);
				progress_end(&pr);
				if (cp_result(gname) == 0)
					cp_warn(gname, "copy interrupted: "
					    "%llu of %llu bytes arrived",
					    (unsigned long long)got,
					    (unsigned long long)cs->size);
				return (-1);
			}
		} else {
			if (cp_next(&imsg, IMSG_ATTACH_COPYDATA) == -1 ||
			    (n = imsg_get_len(&imsg)) == 0 ||
			    (uint64_t)n > cs->size - got)
				cp_die("%s: bad copy data", csess.dir);
			memcpy(buf, imsg.data, n);
			imsg_free(&imsg);
		}
		for (off = 0; off < n; off += w) {
			if ((w = write(fd, buf + off, n - off)) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				cp_warn(dst, "%s", errno == ENOSPC ?
				    "disk full (No space left on device)" :
				    strerror(errno));
				if (sock != -1)
					close(sock);
				local_discard(dfd, fd);
				(void)cp_result(gname);
				return (-1);
			}
		}
		got += n;
		progress_add(&pr, n);
		pace(&pr);
	}
	r = cp_result(gname);
	if (sock != -1)
		close(sock);
	progress_end(&pr);
	if (r == 0 && opt.preserve && (cs->flags & COPY_MTIME) &&
	    local_mtime(fd, cs->mtime_ns) == -1) {
		cp_warn(dst, "cannot set the modification time: %s",
		    strerror(errno));
		r = -1;
	}
	if (r == -1) {
		local_discard(dfd, fd);
		return (-1);
	}
	return (local_commit(dfd, fd, name, dst, gname));
}

/* A listing: made locally, then each entry copied (-r). */
static int
copy_out_dir(const char *gname, const char *dst, int sock,
    const struct attach_copystream *cs)
{
	mode_t		 mode = cs->mode & 01777;
	struct timespec	 ts[2];
	char		*list, *p, *end, child[PATH_MAX], gchild[PATH_MAX];
	size_t		 len = 0, cap = 65536, entries = 0;
	ssize_t		 n;
	int		 rc = 0;

	if ((list = malloc(cap)) == NULL)
		cp_die("%s", strerror(errno));
	for (;;) {
		if (len == cap) {
			if (cap >= (size_t)LIST_ENTRIES * 258)
				cp_die("%s: listing too long", gname);
			if ((p = realloc(list, cap * 2)) == NULL)
				cp_die("%s", strerror(errno));
			list = p;
			cap *= 2;
		}
		if ((n = read(sock, list + len, cap - len)) == -1 &&
		    errno == EINTR) {
			cp_check_interrupt();
			continue;
		}
		if (n <= 0)
			break;
		len += n;
	}
	close(sock);
	if (cp_result(gname) == -1) {
		free(list);
		return (-1);
	}
	if (mkdir(dst, opt.preserve ? 0700 : 0777) == -1 && errno != EEXIST) {
		cp_warn(dst, "%s", strerror(errno));
		free(list);
		return (-1);
	}
	/* -p: the guest's bits, and always ours to fill (u+rwx). */
	if (opt.preserve && chmod(dst, mode | 0700) == -1)
		cp_warn(dst, "%s", strerror(errno));
	/* Input from the guest: untrusted.  Each name is one component. */
	for (p = list; p < list + len; p = end + 1) {
		if ((end = memchr(p, '\0', list + len - p)) == NULL ||
		    end - p < 2 || end - p > NAME_MAX + 1 ||
		    (p[0] != 'f' && p[0] != 'd') ||
		    memchr(p + 1, '/', end - p - 1) != NULL ||
		    strcmp(p + 1, ".") == 0 || strcmp(p + 1, "..") == 0 ||
		    ++entries > LIST_ENTRIES) {
			cp_warn(gname, "bad directory listing from the guest");
			free(list);
			return (-1);
		}
		join(child, sizeof(child), dst, p + 1);
		join(gchild, sizeof(gchild), gname + 1, p + 1);
		if (copy_out(gchild, child, 0) == -1)
			rc = -1;
	}
	free(list);
	/* -p: the guest directory's time, now that nothing goes in. */
	times_note(cs);
	if (opt.preserve && (cs->flags & COPY_MTIME)) {
		mtime_only(ts, ns_timespec(cs->mtime_ns));
		if (utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW) == -1) {
			cp_warn(dst, "cannot set the modification time: %s",
			    strerror(errno));
			rc = -1;
		}
	}
	return (rc);
}

/* ---- main ---- */

static int
is_guest(const char *arg)
{
	return (arg[0] == ':');
}

int
cp_main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL,	'h' },
		{ NULL,		0,		NULL,	0 }
	};
	struct session_opts	 so;
	struct sigaction	 sa;
	struct stat		 st;
	const char		*dir = NULL, *errstr, *dst, *src;
	char			 path[PATH_MAX], name[NAME_MAX + 1];
	int			 ch, i, in, dstdir, nsrc;

	memset(&so, 0, sizeof(so));
	so.boot_secs = -1;
	(void)session_existing(&csess, "");
	while ((ch = getopt_long(argc, argv, "hl:pqrS:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			opt.limit = strtonum(optarg, 1, 1000000000, &errstr);
			if (errstr != NULL)
				cp_die("-l %s: Kbit/s is %s", optarg, errstr);
			opt.limit = opt.limit * 1000 / 8;
			break;
		case 'p':
			opt.preserve = 1;
			break;
		case 'q':
			opt.quiet = 1;
			break;
		case 'r':
			opt.recursive = 1;
			break;
		case 'S':
			dir = optarg;
			break;
		case 'v':
			so.verbose++;
			break;
		default:
			cp_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		cp_usage();
	nsrc = argc - 1;
	dst = argv[nsrc];
	in = is_guest(dst);
	for (i = 0; i < nsrc; i++)
		if (is_guest(argv[i]) == in)
			cp_die("%s: copy between this machine and the guest: "
			    "either every source or the target is :PATH",
			    argv[i]);
	opt.umask = umask(0);
	umask(opt.umask);
	/* Local files first: a missing one needs no session. */
	if (in)
		for (i = 0; i < nsrc; i++)
			if (stat(argv[i], &st) == -1)
				cp_die("%s: %s", argv[i], strerror(errno));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cp_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (dir != NULL) {
		if (session_existing(&csess, dir) == -1)
			cp_die("%s: path too long", dir);
	} else if (session_create(&csess, &so) == -1)
		exit(255);
	cp_connect();

	if (in) {
		dst++;
		dstdir = dst[0] == '\0' || dst[strlen(dst) - 1] == '/' ||
		    nsrc > 1;
		for (i = 0; i < nsrc; i++) {
			src = argv[i];
			if (stat(src, &st) == 0 && S_ISDIR(st.st_mode) &&
			    opt.recursive)
				dstdir = 1;
			if (dstdir)
				join(path, sizeof(path), dst, base_name(src,
				    name, sizeof(name)));
			else
				strlcpy(path, dst, sizeof(path));
			(void)copy_in(src, path, 1);
		}
	} else {
		dstdir = stat(dst, &st) == 0 && S_ISDIR(st.st_mode);
		if (!dstdir && (nsrc > 1 || dst[strlen(dst) - 1] == '/'))
			cp_die("%s: not a directory", dst);
		for (i = 0; i < nsrc; i++) {
			src = argv[i] + 1;
			if (dstdir)
				join(path, sizeof(path), dst, base_name(
				    src[0] == '\0' ? "workspace" : src, name,
				    sizeof(name)));
			else
				strlcpy(path, dst, sizeof(path));
			(void)copy_out(src, path, 1);
		}
	}
	imsgbuf_clear(&ib);
	close(afd);
	if (csess.temp) {
		if (control_shutdown(csess.dir) == -1)
			session_abort(&csess);
		session_finish(&csess, 5000);
	}
	return (failures > 0 ? 1 : 0);
}
