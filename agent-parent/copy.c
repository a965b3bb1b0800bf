/*
 * Extension "copy" (capsem-protocol(7)): copyin and copyout, files of any
 * size on a connection of their own to the copy port.  The parent checks
 * the request and opens what it names, confined to the workspace as every
 * file operation is (fileops.c): the destination's directory and an
 * unnamed temporary file in it, or the source.  A short-lived runner forked
 * from the parent then connects the copy port, sends copystarted and moves
 * the bytes with a fixed buffer (COPY_BUF), the stream's own flow control
 * pacing it; it puts a finished copyin in place (ws_commit) and reports to
 * the parent through a pipe: a status and the error text.  The parent then
 * sends the ackable fileopdone or error.
 *
 * Input from the host: untrusted (the path, the size, the bytes).  A copy
 * belongs to the control connection that carried it: when that connection
 * goes (agent_down) or the session ends, every runner is killed, its
 * temporary file removed (an unnamed one vanishes with it) and the copy
 * answered "copy interrupted".  Nothing of a failed copy stays at the
 * destination, and nothing of it keeps running.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "agent.h"
#include "fileops.h"
#include "log.h"

#define COPIES_MAX	16		/* copies at once */
#define COPY_BUF	(256 * 1024)	/* bytes in flight in the runner */
#define COPY_ERR_MAX	512
#define LIST_MAX	65536		/* entries of a directory listing */
#define RUNNER_FD	3		/* the runner's end of its pipe */

/* What a runner reports: ok, then the error text (NUL-ended) if not. */
struct copy_report {
	int32_t		 ok;
	char		 err[COPY_ERR_MAX];
};

struct copy_ent {
	int		 used;
	uint64_t	 id;
	pid_t		 runner;	/* 0 once reaped */
	int		 pipefd;	/* read end of the runner's pipe */
	struct ev	*ev;
	struct ws_target t;		/* copyin: the destination */
	int		 answered;
	int		 has_mtime;	/* copytimes: in, the time to set;
					 * out, the time to send */
	struct timespec	 mtime;
	char		 path[128];	/* for log lines */
};

static struct copy_ent	 tab[COPIES_MAX];

static struct copy_ent	*copy_alloc(void);
static int		 copy_parse(struct proc *, struct imsg *,
			    struct imsg_copy *, char **);
static void		 copy_start(struct copy_ent *, int, int, uint64_t,
			    uint32_t, const char *);
static void		 copy_pipe_event(int, short, void *);
static void		 copy_answer(struct copy_ent *, int, const char *);
static void		 copy_free(struct copy_ent *);
static __dead void	 runner_main(struct copy_ent *, int, int, int,
			    uint64_t, uint32_t, const char *);
static int		 runner_connect(const struct copy_ent *, uint64_t,
			    uint32_t);
static int		 runner_in(struct ws_target *, int, uint64_t,
			    const struct timespec *, const char *, char *,
			    size_t);
static int		 runner_out(int, int, uint64_t, const char *, char *,
			    size_t);
static int		 runner_list(int, int, const char *, char *, size_t);

static struct copy_ent *
copy_alloc(void)
{
	size_t	 i;

	for (i = 0; i < COPIES_MAX; i++)
		if (!tab[i].used) {
			memset(&tab[i], 0, sizeof(tab[i]));
			tab[i].used = 1;
			tab[i].pipefd = -1;
			tab[i].t.dfd = tab[i].t.fd = -1;
			return (&tab[i]);
		}
	return (NULL);
}

/* struct imsg_copy + path; -1, and the child stopped, if malformed. */
static int
copy_parse(struct proc *p, struct imsg *imsg, struct imsg_copy *c,
    char **path)
{
	size_t	 len = imsg_get_len(imsg);
	char	*buf;

	*path = NULL;
	if (len < sizeof(*c) || len > sizeof(*c) + 65536 ||
	    (buf = malloc(len + 1)) == NULL) {
		proc_malformed(p, imsg, "copy request");
		return (-1);
	}
	(void)imsg_get_data(imsg, buf, len);
	memcpy(c, buf, sizeof(*c));
	if (c->pathlen != len - sizeof(*c)) {
		free(buf);
		proc_malformed(p, imsg, "copy request");
		return (-1);
	}
	buf[len] = '\0';
	if ((*path = strdup(buf + sizeof(*c))) == NULL)
		fatal("strdup");
	free(buf);
	return (0);
}

/* IMSG_CTL_COPYIN, IMSG_CTL_COPYOUT from agent-control. */
void
copy_request(struct proc *p, struct imsg *imsg)
{
	struct imsg_copy c;
	struct copy_ent	*e;
	struct stat	 st;
	struct timespec	 ts;
	struct msg	 m;
	char		 err[COPY_ERR_MAX], *path;
	int		 in = imsg_get_type(imsg) == IMSG_CTL_COPYIN, fd = -1;

	if (copy_parse(p, imsg, &c, &path) == -1)
		return;
	log_info("copy %llu: %s %s (%llu bytes)", (unsigned long long)c.id,
	    in ? "in to" : "out of", path, (unsigned long long)c.size);
	if (strlen(path) != c.pathlen) {
		agent_send_error(c.id, in ? "FileWrite rejected: path contains "
		    "a NUL byte" : "FileRead rejected: path contains a NUL "
		    "byte");
		goto out;
	}
	if ((agent_host_caps() & CAPB_COPY) == 0) {
		agent_send_error(c.id, "copy rejected: the host did not "
		    "announce copy");
		goto out;
	}
	if (in && (c.mode & COPY_MODE_DIR)) {
		memset(&m, 0, sizeof(m));
		m.type = MSG_FILEOPDONE;
		m.u.fileopdone.id = c.id;
		ts = ns_timespec(c.mtime_ns);
		if (c.size != 0)
			agent_send_error(c.id, "FileWrite rejected: a directory "
			    "has no size");
		else if (ws_mkdir(hostreq_wsfd(), conf.workspace, path,
		    c.mode, err, sizeof(err)) == -1)
			agent_send_error(c.id, err);
		else if ((c.flags & COPY_MTIME) &&
		    (agent_caps() & CAPB_COPYTIMES) &&
		    ws_dirtime(hostreq_wsfd(), conf.workspace, path, &ts, err,
		    sizeof(err)) == -1)
			agent_send_error(c.id, err);
		else
			(void)agent_send_ackable(&m, c.id);
		goto out;
	}
	if (c.size > COPY_SIZE_MAX) {
		agent_send_error(c.id, "FileWrite rejected: size too large");
		goto out;
	}
	if ((e = copy_alloc()) == NULL) {
		agent_send_error(c.id, "copy rejected: too many copies at "
		    "once");
		goto out;
	}
	e->id = c.id;
	strlcpy(e->path, path, sizeof(e->path));
	if (in && (c.flags & COPY_MTIME) && (agent_caps() & CAPB_COPYTIMES)) {
		e->has_mtime = 1;
		e->mtime = ns_timespec(c.mtime_ns);
	}
	if (in) {
		if (ws_copy_target(hostreq_wsfd(), conf.workspace, path,
		    c.mode, &e->t, err, sizeof(err)) == -1) {
			agent_send_error(c.id, err);
			copy_free(e);
			goto out;
		}
		copy_start(e, 1, -1, c.size, c.mode & FILEOPS_MODEMASK, path);
	} else {
		if (ws_open_source(hostreq_wsfd(), conf.workspace, path, &fd,
		    &st, err, sizeof(err)) == -1) {
			agent_send_error(c.id, err);
			copy_free(e);
			goto out;
		}
		/* Its time, to a host that keeps it. */
		if (agent_caps() & agent_host_caps() & CAPB_COPYTIMES) {
			e->has_mtime = 1;
			e->mtime = st.st_mtim;
		}
		copy_start(e, 0, fd, S_ISDIR(st.st_mode) ? 0 : st.st_size,
		    (st.st_mode & FILEOPS_MODEMASK) |
		    (S_ISDIR(st.st_mode) ? COPY_MODE_DIR : 0), path);
		close(fd);
	}
 out:
	free(path);
}

static void
copy_start(struct copy_ent *e, int in, int srcfd, uint64_t size,
    uint32_t mode, const char *path)
{
	int	 p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		agent_send_error(e->id, "copy failed: out of resources");
		ws_target_discard(&e->t);
		copy_free(e);
		return;
	}
	switch ((e->runner = fork())) {
	case -1:
		log_warn("copy %llu: fork", (unsigned long long)e->id);
		close(p[0]);
		close(p[1]);
		agent_send_error(e->id, "copy failed: fork failed");
		ws_target_discard(&e->t);
		copy_free(e);
		return;
	case 0:
		close(p[0]);
		runner_main(e, in, p[1], srcfd, size, mode, path);
	}
	close(p[1]);
	e->pipefd = p[0];
	e->ev = ev_add(p[0], POLLIN, copy_pipe_event, e);
	/* The runner owns the destination now; the parent keeps the names
	 * to clean up after a runner that is killed. */
	if (e->t.fd != -1) {
		close(e->t.fd);
		e->t.fd = -1;
	}
	log_debug("copy %llu: runner pid %d", (unsigned long long)e->id,
	    (int)e->runner);
}

static void
copy_pipe_event(int fd, short revents, void *arg)
{
	struct copy_ent		*e = arg;
	struct copy_report	 r;
	ssize_t			 n;

	n = read(fd, &r, sizeof(r));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n >= (ssize_t)sizeof(r.ok)) {
		r.err[sizeof(r.err) - 1] = '\0';
		if (n == (ssize_t)sizeof(r.ok))
			r.err[0] = '\0';
		copy_answer(e, r.ok, r.ok ? NULL : r.err);
	} else
		copy_answer(e, 0, "copy failed: the copy process ended "
		    "without a result");
	ev_del(e->ev);
	e->ev = NULL;
	close(e->pipefd);
	e->pipefd = -1;
	if (e->runner == 0)
		copy_free(e);
}

static void
copy_answer(struct copy_ent *e, int ok, const char *err)
{
	struct msg	 m;

	if (e->answered)
		return;
	e->answered = 1;
	if (ok) {
		log_info("copy %llu: done", (unsigned long long)e->id);
		memset(&m, 0, sizeof(m));
		m.type = MSG_FILEOPDONE;
		m.u.fileopdone.id = e->id;
		(void)agent_send_ackable(&m, e->id);
	} else {
		log_info("copy %llu: %s", (unsigned long long)e->id, err);
		/* A runner that failed has removed its temporary file; one
		 * killed has not: ours to do. */
		ws_target_discard(&e->t);
		agent_send_error(e->id, err);
	}
	ws_target_close(&e->t);
}

static void
copy_free(struct copy_ent *e)
{
	if (e->ev != NULL)
		ev_del(e->ev);
	if (e->pipefd != -1)
		close(e->pipefd);
	ws_target_close(&e->t);
	memset(e, 0, sizeof(*e));
}

/* SIGCHLD: 1 if pid was a copy runner. */
int
copy_reaped(pid_t pid, int status)
{
	size_t	 i;

	for (i = 0; i < COPIES_MAX; i++) {
		if (!tab[i].used || tab[i].runner != pid)
			continue;
		tab[i].runner = 0;
		if (tab[i].ev == NULL)
			copy_free(&tab[i]);
		return (1);
	}
	return (0);
}

/*
 * The control connection went, or the session ends: every copy of it is
 * over.  Its runner is killed and reaped, its temporary file removed, and
 * the answer goes to the pending table for the next connection.
 */
void
copy_cancel_all(const char *why)
{
	char	 err[COPY_ERR_MAX];
	size_t	 i;

	for (i = 0; i < COPIES_MAX; i++) {
		if (!tab[i].used)
			continue;
		if (tab[i].runner != 0) {
			(void)kill(tab[i].runner, SIGKILL);
			(void)proc_reap(tab[i].runner, 1000, NULL);
			tab[i].runner = 0;
		}
		snprintf(err, sizeof(err), "copy interrupted: %s: %s",
		    tab[i].path, why);
		copy_answer(&tab[i], 0, err);
		copy_free(&tab[i]);
	}
}

/*
 * The runner, a child of the parent; it never returns.  It dies with the
 * parent, and is killed by it when the copy's connection goes.
 */
static __dead void
runner_main(struct copy_ent *e, int in, int pipefd, int srcfd, uint64_t size,
    uint32_t mode, const char *path)
{
	struct copy_report	 r;
	int			 sock, ok, fds[3], i;

	proc_reset_signals();
	signal(SIGPIPE, SIG_IGN);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The parent's syslog socket and imsg channels are not ours to hold:
	 * keep the pipe (3), the file (4) and its directory (5) only. */
	closelog();
	fds[0] = pipefd;
	fds[1] = in ? e->t.fd : srcfd;
	fds[2] = in ? e->t.dfd : -1;
	for (i = 0; i < 3; i++)
		if (fds[i] != -1 &&
		    (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64)) == -1)
			_exit(1);
	for (i = 0; i < 3; i++)
		if (fds[i] != -1 && dup2(fds[i], RUNNER_FD + i) == -1)
			_exit(1);
	closefrom(RUNNER_FD + 3);
	if (in) {
		e->t.fd = RUNNER_FD + 1;
		e->t.dfd = RUNNER_FD + 2;
	} else
		srcfd = RUNNER_FD + 1;
	log_procinit("capsem-agent: copy");
	log_init(conf.debug, LOG_DAEMON);
	memset(&r, 0, sizeof(r));
	if ((sock = runner_connect(e, size, mode)) == -1) {
		snprintf(r.err, sizeof(r.err), "copy failed: %s: cannot "
		    "connect the copy port: %s", path, strerror(errno));
		ok = 0;
	} else if (in)
		ok = runner_in(&e->t, sock, size, e->has_mtime ? &e->mtime :
		    NULL, path, r.err, sizeof(r.err)) == 0;
	else if (mode & COPY_MODE_DIR)
		ok = runner_list(srcfd, sock, path, r.err, sizeof(r.err)) == 0;
	else
		ok = runner_out(srcfd, sock, size, path, r.err,
		    sizeof(r.err)) == 0;
	if (!ok && in)
		ws_target_discard(&e->t);
	if (sock != -1) {
		(void)shutdown(sock, SHUT_RDWR);
		close(sock);
	}
	r.ok = ok;
	(void)write(RUNNER_FD, &r, sizeof(r.ok) + (ok ? 0 :
	    strlen(r.err) + 1));
	_exit(0);
}

/*
 * The copy port, with copystarted sent: the connection, or -1 (errno).
 * copytimes: the time the file copied in gets, or the time of the file
 * copied out.
 */
static int
runner_connect(const struct copy_ent *e, uint64_t size, uint32_t mode)
{
	struct msg	 m;
	struct wbuf	 frame;
	struct wire_err	 err;
	size_t		 off = 0;
	ssize_t		 n = 0;
	int		 sock, saved;

	if ((sock = transport_connect(&conf.transport, PORT_COPY)) == -1)
		return (-1);
	(void)fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) & ~O_NONBLOCK);
	memset(&m, 0, sizeof(m));
	m.type = MSG_COPYSTARTED;
	m.u.copystarted.id = e->id;
	m.u.copystarted.size = size;
	m.u.copystarted.mode = mode;
	if (e->has_mtime) {
		m.u.copystarted.has_mtime = 1;
		m.u.copystarted.mtime_ns = timespec_ns(&e->mtime);
	}
	wbuf_init(&frame);
	if (msg_encode(&m, &frame, &err) == -1) {
		n = -1;
		errno = EINVAL;
	}
	while (n != -1 && off < frame.len) {
		if ((n = write(sock, frame.data + off, frame.len - off)) > 0)
			off += n;
		else if (n == -1 && errno == EINTR)
			n = 0;
	}
	saved = errno;
	wbuf_free(&frame);
	if (n == -1) {
		close(sock);
		errno = saved;
		return (-1);
	}
	return (sock);
}

/* copyin: exactly size bytes from the host, the time, then in place. */
static int
runner_in(struct ws_target *t, int sock, uint64_t size,
    const struct timespec *mtime, const char *path, char *err, size_t errlen)
{
	struct timespec	 ts[2];
	static uint8_t	 buf[COPY_BUF];
	uint64_t	 got = 0;
	ssize_t		 n, w, off;

	while (got < size) {
		n = read(sock, buf, size - got < sizeof(buf) ?
		    (size_t)(size - got) : sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "copy interrupted: %s: the host "
			    "sent %llu of %llu bytes", path,
			    (unsigned long long)got, (unsigned long long)size);
			return (-1);
		}
		for (off = 0; off < n; off += w) {
			if ((w = write(t->fd, buf + off, n - off)) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				snprintf(err, errlen, "failed to write %s: %s",
				    path, strerror(errno));
				return (-1);
			}
		}
		got += n;
	}
	if (mtime != NULL) {
		mtime_only(ts, *mtime);
		if (futimens(t->fd, ts) == -1) {
			snprintf(err, errlen, "failed to set the modification "
			    "time of %s: %s", path, strerror(errno));
			return (-1);
		}
	}
	/* The name is linked from the open file: commit, then close. */
	return (ws_commit(t, path, err, errlen));
}

/* copyout of a file: size bytes as they were when it was opened. */
static int
runner_out(int fd, int sock, uint64_t size, const char *path, char *err,
    size_t errlen)
{
	uint64_t	 sent = 0;
	ssize_t		 n;

	while (sent < size) {
		n = sendfile(sock, fd, NULL, size - sent < COPY_BUF ?
		    (size_t)(size - sent) : COPY_BUF);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET)) {
			snprintf(err, errlen, "copy interrupted: %s: the host "
			    "closed the connection after %llu of %llu bytes",
			    path, (unsigned long long)sent,
			    (unsigned long long)size);
			return (-1);
		}
		if (n == -1) {
			snprintf(err, errlen, "failed to read %s: %s", path,
			    strerror(errno));
			return (-1);
		}
		if (n == 0) {
			snprintf(err, errlen, "failed to read %s: the file "
			    "shrank while it was copied", path);
			return (-1);
		}
		sent += n;
	}
	return (0);
}

/* copyout of a directory: 'f' or 'd', the name, NUL; nothing else. */
static int
runner_list(int fd, int sock, const char *path, char *err, size_t errlen)
{
	static uint8_t	 buf[COPY_BUF];
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	size_t		 len = 0, nlen, entries = 0;
	ssize_t		 w;
	char		 type;
	int		 rc = 0;

	if ((d = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "failed to read %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	while (rc == 0) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				snprintf(err, errlen, "failed to read %s: %s",
				    path, strerror(errno));
				rc = -1;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (S_ISREG(st.st_mode))
			type = 'f';
		else if (S_ISDIR(st.st_mode))
			type = 'd';
		else
			continue;
		if (++entries > LIST_MAX) {
			snprintf(err, errlen, "FileRead rejected: the directory "
			    "%s has more than %d entries", path, LIST_MAX);
			rc = -1;
			break;
		}
		nlen = strlen(de->d_name);
		if (len + nlen + 2 > sizeof(buf)) {
			if ((w = write(sock, buf, len)) != (ssize_t)len)
				rc = -1;
			len = 0;
		}
		buf[len++] = type;
		memcpy(buf + len, de->d_name, nlen + 1);
		len += nlen + 1;
	}
	if (rc == 0 && len > 0 && write(sock, buf, len) != (ssize_t)len)
		rc = -1;
	if (rc == -1 && err[0] == '\0')
		snprintf(err, errlen, "copy interrupted: %s: the host closed "
		    "the connection", path);
	closedir(d);
	return (rc);
}
