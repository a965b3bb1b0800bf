/*
 * Starting and stopping children, for the privileged parents.  A child is a
 * separate program (fresh address space, as OpenBSD daemons do it): fork,
 * put our end of a socketpair on fd 3 of the child, close everything else,
 * restore default signal handling and exec.  The child sandboxes itself
 * before it reads anything (child.c).  Whether the exec worked is known
 * before proc_start() returns, so a parent can tell a broken install (no
 * retry helps) from a transient shortage (back off and retry).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "capsem_imsg.h"
#include "ev.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"

#define REAP_POLL_MS	10	/* without a pidfd: how often to look */

static __dead void proc_exec(const char *, char **, int, int);
static void	 proc_event(int, short, void *);
static void	 proc_update(struct proc *);
static void	 proc_lost(struct proc *);
static void	 proc_child_log(struct proc *, struct imsg *);

/*
 * The first of the directories dirs (relative to the directory of our own
 * binary, NULL-terminated) that holds prog executable.  Programs installed
 * or built together are found together, without configuration.
 */
int
proc_find_near_self(const char *const *dirs, const char *prog, char *path,
    size_t len)
{
	char	 self[PATH_MAX], *slash;
	ssize_t	 n;
	size_t	 i;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return (-1);
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL) {
		errno = ENOENT;
		return (-1);
	}
	*slash = '\0';
	for (i = 0; dirs[i] != NULL; i++) {
		if (strcmp(dirs[i], ".") == 0)
			n = snprintf(path, len, "%s/%s", self, prog);
		else
			n = snprintf(path, len, "%s/%s/%s", self, dirs[i],
			    prog);
		if (n >= 0 && (size_t)n < len && access(path, X_OK) == 0)
			return (0);
	}
	errno = ENOENT;
	return (-1);
}

/*
 * Where the child program prog is: beside our own binary, in
 * ../libexec/capsem from it (an installed tree: PREFIX/sbin next to
 * PREFIX/libexec/capsem), in ../libexec from it (the build tree: build/sbin
 * next to build/libexec); then in $CAPSEM_LIBEXECDIR, or when that is
 * unset in the compiled-in LIBEXECDIR.  On -1 the path is the one in that
 * last directory, and errno why it cannot be run.
 */
int
proc_program(const char *prog, char *path, size_t len)
{
	static const char *const near[] = { ".", "../libexec/capsem",
	    "../libexec", NULL };
	const char	*dir;

	if (proc_find_near_self(near, prog, path, len) == 0)
		return (0);
	if ((dir = getenv("CAPSEM_LIBEXECDIR")) == NULL || *dir == '\0')
		dir = LIBEXECDIR;
	if ((size_t)snprintf(path, len, "%s/%s", dir, prog) >= len) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (access(path, X_OK));
}

/* A fault of the program itself: no retry can repair it. */
int
proc_permanent(int error)
{
	switch (error) {
	case ENOENT:
	case EACCES:
	case ENOEXEC:
	case EPERM:
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
	case EISDIR:
	case ELIBBAD:
	case EINVAL:
		return (1);
	}
	return (0);
}

/* Restore what a new program expects: default dispositions, empty mask. */
void
proc_reset_signals(void)
{
	sigset_t	 set;
	int		 sig;

	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

int
proc_start(struct proc *p, int debug, int verbose)
{
	char		 path[PATH_MAX], name[64], *argv[5];
	int		 sp[2], ep[2], argc = 0, error;
	pid_t		 pid;
	ssize_t		 n;

	if (proc_program(p->prog, path, sizeof(path)) == -1)
		return (-1);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sp) == -1)
		return (-1);
	if (pipe2(ep, O_CLOEXEC) == -1) {
		error = errno;
		close(sp[0]);
		close(sp[1]);
		errno = error;
		return (-1);
	}
	switch ((pid = fork())) {
	case -1:
		error = errno;
		close(sp[0]);
		close(sp[1]);
		close(ep[0]);
		close(ep[1]);
		errno = error;
		return (-1);
	case 0:
		strlcpy(name, p->prog, sizeof(name));
		argv[argc++] = name;
		if (debug)
			argv[argc++] = "-d";
		if (verbose > 0)
			argv[argc++] = verbose > 1 ? "-vv" : "-v";
		argv[argc] = NULL;
		proc_exec(path, argv, sp[1], ep[1]);
	}
	close(sp[1]);
	close(ep[1]);
	/* EOF: the execv succeeded (close-on-exec); else the child's errno. */
	while ((n = read(ep[0], &error, sizeof(error))) == -1 && errno == EINTR)
		;
	close(ep[0]);
	if (n != 0) {
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		close(sp[0]);
		errno = n == sizeof(error) ? error : EIO;
		return (-1);
	}
	if (imsgbuf_init(&p->ibuf, sp[0]) == -1) {
		error = errno;
		close(sp[0]);
		kill(pid, SIGKILL);
		(void)proc_reap(pid, 0, NULL);
		errno = error;
		return (-1);
	}
	/*
	 * No fd passing on our end: descriptors go to a child, never come
	 * from one (one sent is closed on arrival, see proc_read).
	 */
	if (imsgbuf_set_maxsize(&p->ibuf, CAPSEM_IMSG_MAX) == -1)
		fatal("imsgbuf_set_maxsize");
	p->pid = pid;
	p->running = 1;
	p->ready = 0;
	p->done = 0;
	p->paused = 0;
	p->ev = ev_add(p->ibuf.fd, POLLIN, proc_event, p);
	log_debug("started %s (pid %d)", p->role, (int)pid);
	return (0);
}

/*
 * The child, after fork: its imsg socket on fd 3, the error pipe on fd 4
 * (close-on-exec, so a successful execv closes it), nothing else open but
 * stdio.  Whatever fails is reported through the pipe, never printed: the
 * parent says it once.
 */
static __dead void
proc_exec(const char *path, char **argv, int imsgfd, int errfd)
{
	int	 fd, error;

	proc_reset_signals();
	if (errfd <= CHILD_IMSG_FD) {
		if ((fd = fcntl(errfd, F_DUPFD_CLOEXEC, CHILD_IMSG_FD + 1)) ==
		    -1)
			goto fail;
		errfd = fd;
	}
	if (imsgfd == CHILD_IMSG_FD) {
		if (fcntl(imsgfd, F_SETFD, 0) == -1)
			goto fail;
	} else if (dup2(imsgfd, CHILD_IMSG_FD) == -1)
		goto fail;
	/* The child's end blocks; imsgbuf_flush copes either way. */
	if (fcntl(CHILD_IMSG_FD, F_SETFL, 0) == -1)
		goto fail;
	if (errfd != CHILD_IMSG_FD + 1) {
		if (dup3(errfd, CHILD_IMSG_FD + 1, O_CLOEXEC) == -1)
			goto fail;
		errfd = CHILD_IMSG_FD + 1;
	}
	closefrom(CHILD_IMSG_FD + 2);
	execv(path, argv);
 fail:
	error = errno;
	(void)write(errfd, &error, sizeof(error));
	_exit(127);
}

/* Close the channel to a child: it sees EOF on fd 3 and exits. */
void
proc_close(struct proc *p)
{
	if (!p->running)
		return;
	ev_del(p->ev);
	p->ev = NULL;
	imsgbuf_clear(&p->ibuf);
	close(p->ibuf.fd);
	p->ibuf.fd = -1;
	p->running = 0;
}

/*
 * Wait for pid to exit, at most timeout_ms, then SIGKILL it and wait for
 * good.  Waits on a pidfd where the kernel has them, so no polling loop;
 * an older kernel (or valgrind) has none, and there nothing but a
 * short-interval poll of waitpid can wait with a bound.  Returns 0 and
 * the wait status, or -1 if pid is not our child.
 */
int
proc_reap(pid_t pid, int timeout_ms, int *status)
{
	struct pollfd	 pfd;
	int64_t		 deadline = now_ms() + timeout_ms;
	int		 st, pidfd;
	pid_t		 r;

	r = waitpid(pid, &st, WNOHANG);
	if (r == 0 && timeout_ms > 0) {
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd != -1) {
			pfd.fd = pidfd;
			pfd.events = POLLIN;
			(void)poll(&pfd, 1, timeout_ms);
			close(pidfd);
			r = waitpid(pid, &st, WNOHANG);
		}
		while (r == 0 && now_ms() < deadline) {
			(void)poll(NULL, 0, REAP_POLL_MS);
			r = waitpid(pid, &st, WNOHANG);
		}
	}
	if (r == 0) {
		log_warnx("pid %d did not exit in %d ms: killed", (int)pid,
		    timeout_ms);
		kill(pid, SIGKILL);
		while ((r = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
			;
	}
	if (r == -1)
		return (-1);
	if (status != NULL)
		*status = st;
	return (0);
}

/* Queue one message to a child; it goes out when the loop can write. */
int
proc_compose(struct proc *p, uint32_t type, int fd, const void *data,
    size_t len)
{
	if (!p->running) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if (imsg_compose(&p->ibuf, type, 0, 0, fd, data, len) == -1) {
		log_warn("%s: imsg_compose", p->role);
		if (fd != -1)
			close(fd);
		return (-1);
	}
	proc_update(p);
	return (0);
}

/*
 * Write what is queued at once, without a round of the loop; the channel
 * then waits for output only if some is left.  -1: the write failed (the
 * loop's next round finds the error and the channel is lost there).
 */
int
proc_flush(struct proc *p)
{
	if (!p->running || imsgbuf_write(&p->ibuf) == -1)
		return (-1);
	proc_update(p);
	return (0);
}

/*
 * Sandbox proof, debug mode only (-d): CAPSEM_SANDBOX_SELFTEST="role:what
 * [,role:what...]" makes the first child of each role named there attempt
 * a forbidden system call (one of sandbox_selftest's, e.g. "open" or
 * "fcntl_async") as soon as it is ready.  The seccomp filter must kill it
 * with SIGSYS; its restart is not asked again, so the session carries on.
 * Never honoured without -d.
 */
void
proc_selftest(struct proc *p, int debug)
{
	static char	 done[8][64];
	static size_t	 ndone;
	const char	*env, *e, *colon;
	char		 item[64];
	size_t		 len, i;

	if (!debug || (env = getenv("CAPSEM_SANDBOX_SELFTEST")) == NULL)
		return;
	for (e = env; *e != '\0'; e += len + (e[len] == ',')) {
		len = strcspn(e, ",");
		if (len == 0 || len >= sizeof(item))
			continue;
		memcpy(item, e, len);
		item[len] = '\0';
		if ((colon = strchr(item, ':')) == NULL ||
		    (size_t)(colon - item) != strlen(p->role) ||
		    strncmp(item, p->role, colon - item) != 0)
			continue;
		for (i = 0; i < ndone; i++)
			if (strcmp(done[i], item) == 0)
				break;
		if (i < ndone || ndone == sizeof(done) / sizeof(done[0]))
			continue;
		strlcpy(done[ndone++], item, sizeof(done[0]));
		log_warnx("%s child (pid %d): sandbox self-test: asking it to "
		    "attempt %s", p->role, (int)p->pid, colon + 1);
		(void)proc_compose(p, IMSG_CHILD_SELFTEST, -1, colon + 1,
		    strlen(colon + 1));
	}
}

/* The child's last words before SIGSYS: which call the filter refused. */
void
proc_seccomp_report(struct proc *p, struct imsg *imsg)
{
	char	 name[64];
	int32_t	 nr;

	if (imsg_get_data(imsg, &nr, sizeof(nr)) == -1)
		return;
	log_warnx("%s child (pid %d): sandbox violation: system call %s "
	    "refused, the child is killed", p->role, (int)p->pid,
	    sandbox_syscall_name(nr, name, sizeof(name)));
}

/* The loop's callback for a child's channel. */
static void
proc_event(int fd, short revents, void *arg)
{
	struct proc	*p = arg;

	if ((revents & POLLOUT) && imsgbuf_write(&p->ibuf) == -1) {
		if (errno != EPIPE)
			log_warn("%s child (pid %d): imsg write", p->role,
			    (int)p->pid);
		proc_lost(p);
		return;
	}
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && proc_read(p) == -1)
		return;
	proc_update(p);
}

/* What the channel waits for: input unless paused, output if queued. */
static void
proc_update(struct proc *p)
{
	short	 ev = 0;

	if (!p->running)
		return;
	if (!p->paused)
		ev |= POLLIN;
	if (imsgbuf_queuelen(&p->ibuf) > 0)
		ev |= POLLOUT;
	ev_set(p->ev, ev);
}

/* Backpressure: stop (or resume) reading what the child sends. */
void
proc_pause(struct proc *p, int paused)
{
	p->paused = paused;
	proc_update(p);
}

static void
proc_lost(struct proc *p)
{
	proc_close(p);
	if (p->gone != NULL)
		p->gone(p);
}

/*
 * Take in what the child sent and dispatch each imsg.  -1: the channel is
 * gone: lost (closed here, and gone() called) or closed by the parent
 * while dispatching; how the child ended comes from waitpid.  A child
 * that sends a descriptor (imsg closed it on arrival: EBADMSG) is
 * malformed: a parent never needs one from a child.
 */
int
proc_read(struct proc *p)
{
	struct imsg	 imsg;
	ssize_t		 n;

	if (!p->running)
		return (-1);
	if ((n = imsgbuf_read(&p->ibuf)) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return (0);
		if (errno == EBADMSG) {
			proc_malformed(p, NULL, "sent a file descriptor");
			return (-1);
		}
		log_warn("%s child (pid %d): imsg read", p->role, (int)p->pid);
		n = 0;
	}
	if (n == 0) {
		proc_lost(p);
		return (-1);
	}
	for (;;) {
		if ((n = imsg_get(&p->ibuf, &imsg)) == -1) {
			proc_malformed(p, NULL, "unreadable imsg");
			return (-1);
		}
		if (n == 0)
			return (0);
		if (imsg_get_type(&imsg) == IMSG_CHILD_READY)
			p->ready = 1;
		if (imsg_get_type(&imsg) == IMSG_CHILD_LOG)
			proc_child_log(p, &imsg);
		else
			p->dispatch(p, &imsg);
		imsg_free(&imsg);
		if (!p->running)
			return (-1);
	}
}

/*
 * A log line of the child (IMSG_CHILD_LOG), written here for every child
 * before any dispatch sees it.  Input from a child: untrusted, so a known
 * priority, a NUL-ended name and one NUL-ended line of bounded length, and
 * the pid is ours, not the child's word.
 */
static void
proc_child_log(struct proc *p, struct imsg *imsg)
{
	struct imsg_child_log	 l;
	char			 buf[sizeof(l) + CHILD_LOG_LINE_MAX];
	const char		*line = buf + sizeof(l);
	size_t			 len = imsg_get_len(imsg);

	if (len <= sizeof(l) || len > sizeof(buf) ||
	    imsg_get_data(imsg, buf, len) == -1) {
		proc_malformed(p, imsg, "log line of a bad length");
		return;
	}
	memcpy(&l, buf, sizeof(l));
	if (l.pri < LOG_EMERG || l.pri > LOG_DEBUG ||
	    memchr(l.procname, '\0', sizeof(l.procname)) == NULL ||
	    buf[len - 1] != '\0' || strlen(line) != len - sizeof(l) - 1) {
		proc_malformed(p, imsg, "not one log line");
		return;
	}
	log_relay(l.pri, l.procname, (int)p->pid, line);
}

/*
 * A malformed imsg from a child: the child is broken or subverted.  One
 * log line with its role and the imsg type, then it is stopped (killed and
 * its channel closed); the parent's usual handling of a child that died
 * without saying why follows from waitpid.
 */
void
proc_malformed(struct proc *p, struct imsg *imsg, const char *what)
{
	if (imsg != NULL)
		log_warnx("%s child (pid %d): malformed imsg %u (%s, %zu "
		    "bytes): stopped", p->role, (int)p->pid,
		    imsg_get_type(imsg), what, imsg_get_len(imsg));
	else
		log_warnx("%s child (pid %d): %s: stopped", p->role,
		    (int)p->pid, what);
	if (p->pid > 0)
		(void)kill(p->pid, SIGKILL);
	proc_lost(p);
}

/* A fixed-size imsg: exactly len bytes, or the child is stopped. */
int
proc_imsg_exact(struct proc *p, struct imsg *imsg, void *data, size_t len)
{
	char	 what[48];

	if (imsg_get_len(imsg) == len && imsg_get_data(imsg, data, len) == 0)
		return (0);
	snprintf(what, sizeof(what), "expected %zu bytes", len);
	proc_malformed(p, imsg, what);
	return (-1);
}

/*
 * One NUL-terminated string of at most max bytes (NUL included), or NULL
 * and the child is stopped.  The caller frees it.
 */
char *
proc_imsg_string(struct proc *p, struct imsg *imsg, size_t max)
{
	size_t	 len = imsg_get_len(imsg);
	char	*s;

	if (len == 0 || len > max) {
		proc_malformed(p, imsg, "string of a bad length");
		return (NULL);
	}
	if ((s = malloc(len)) == NULL)
		fatal("malloc");
	if (imsg_get_data(imsg, s, len) == -1 || s[len - 1] != '\0' ||
	    strlen(s) != len - 1) {
		free(s);
		proc_malformed(p, imsg, "not one NUL-terminated string");
		return (NULL);
	}
	return (s);
}
