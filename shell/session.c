/*
 * shell-session: create and take down a temporary session for capsem-shell.
 *
 * It makes the session directory, forks the VM side (capsem-agent for
 * --local, "/bin/sh -c CMD" for --vm) held on a pipe, then capsem-hostd with
 * --ready-fd, waits until hostd listens and only then releases the VM side,
 * so the guest never dials a socket that is not there yet.  Both children
 * get sessions of their own (setsid) so that the user's terminal signals
 * never reach them, and their stderr goes to files in the directory.  It
 * touches only that directory and the processes it started: every error
 * path kills and reaps them and removes the directory.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ev.h"
#include "proc.h"
#include "session.h"

extern char	**environ;

#define READY_TIMEOUT_MS	15000	/* hostd up, sockets listening */
#define BOOT_SECS_LOCAL		10	/* the guest's first boot, local */
#define BOOT_SECS_VM		60	/* ... and with --vm */
#define KILL_GRACE_MS		1000	/* SIGTERM to SIGKILL */
#define LOG_TAIL		2048	/* hostd.log bytes shown on error */
#define MAX_ARGS		24

static void	find_program(const char *, char *, size_t);
static int	open_log(const struct session *, const char *);
static pid_t	start_vm(struct session *, const struct session_opts *,
		    char *, int, int);
static pid_t	start_hostd(struct session *, const struct session_opts *,
		    pid_t, int);
static int	wait_ready(struct session *, int);
static void	print_log_tail(const struct session *, const char *);
static int	reap_within(pid_t *, int, int *);
static void	child_setup(int);
static int	remove_entry(const char *, const struct stat *, int,
		    struct FTW *);
static void	stop_child(pid_t *);
static void	remove_dir(struct session *);

int
session_existing(struct session *s, const char *dir)
{
	memset(s, 0, sizeof(*s));
	s->hostd_pid = s->vm_pid = -1;
	if (strlcpy(s->dir, dir, sizeof(s->dir)) >= sizeof(s->dir))
		return (-1);
	return (0);
}

/*
 * Programs installed together are found together: first next to our own
 * binary (BINDIR/../sbin, also true of the build tree), then in PATH.
 * (capsem-agent and capsem-hostd find their own children the same way.)
 */
static void
find_program(const char *name, char *path, size_t len)
{
	static const char *const near[] = { "../sbin", NULL };

	if (proc_find_near_self(near, name, path, len) == 0)
		return;
	(void)strlcpy(path, name, len);
}

static int
open_log(const struct session *s, const char *name)
{
	char	 path[PATH_MAX];

	(void)snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	return (open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
}

/* In a child, before exec: own session, no terminal, stderr to a log. */
static void
child_setup(int logfd)
{
	int	 null;

	(void)setsid();
	if ((null = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(null, STDIN_FILENO);
		if (null > STDERR_FILENO)
			(void)close(null);
	}
	if (logfd != -1) {
		(void)dup2(logfd, STDOUT_FILENO);
		(void)dup2(logfd, STDERR_FILENO);
	}
}

/*
 * The VM side, forked first (hostd needs its pid) but held until hold_rd
 * delivers "1": on EOF (we failed) it exits without starting anything.
 */
static pid_t
start_vm(struct session *s, const struct session_opts *o,
    char *transport, int hold_rd, int hold_wr)
{
	char		 agent[PATH_MAX], cwd[PATH_MAX], audit[PATH_MAX];
	char		 timing[PATH_MAX], uds[PATH_MAX];
	char		*argv[MAX_ARGS];
	int		 logfd, i = 0;
	char		 c;
	pid_t		 pid;

	find_program("capsem-agent", agent, sizeof(agent));
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		fprintf(stderr, "capsem-shell: getcwd: %s\n", strerror(errno));
		return (-1);
	}
	(void)snprintf(timing, sizeof(timing), "%s/boot-timing.jsonl", s->dir);
	if (o->audit_log != NULL)
		(void)strlcpy(audit, o->audit_log, sizeof(audit));
	else
		(void)snprintf(audit, sizeof(audit), "%s/guest-audit.log",
		    s->dir);
	if (o->vm_cmd == NULL && (logfd = open(audit,
	    O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) != -1)
		(void)close(logfd);
	if ((logfd = open_log(s, "agent.log")) == -1) {
		fprintf(stderr, "capsem-shell: %s/agent.log: %s\n", s->dir,
		    strerror(errno));
		return (-1);
	}

	switch ((pid = fork())) {
	case -1:
		fprintf(stderr, "capsem-shell: fork: %s\n", strerror(errno));
		(void)close(logfd);
		return (-1);
	case 0:
		(void)close(hold_wr);
		child_setup(logfd);
		if (read(hold_rd, &c, 1) != 1 || c != '1')
			_exit(1);
		if (o->vm_cmd != NULL) {
			(void)setenv("CAPSEM_SESSION", s->dir, 1);
			(void)setenv("CAPSEM_TRANSPORT", transport, 1);
			if (o->transport == NULL) {
				(void)snprintf(uds, sizeof(uds), "%s/vsock",
				    s->dir);
				(void)setenv("CAPSEM_VSOCK_UDS", uds, 1);
			}
			execl("/bin/sh", "sh", "-c", o->vm_cmd, (char *)NULL);
			fprintf(stderr, "capsem-shell: /bin/sh: %s\n",
			    strerror(errno));
			_exit(127);
		}
		argv[i++] = agent;
		argv[i++] = (char *)"-d";
		if (o->verbose)
			argv[i++] = (char *)"-v";
		argv[i++] = (char *)"-t";
		argv[i++] = transport;
		argv[i++] = (char *)"-w";
		argv[i++] = cwd;
		argv[i++] = (char *)"-s";
		argv[i++] = o->shell != NULL ? o->shell :
		    (char *)"/bin/bash -i";
		argv[i++] = (char *)"-a";
		argv[i++] = audit;
		argv[i++] = (char *)"-b";
		argv[i++] = timing;
		argv[i] = NULL;
		execvp(agent, argv);
		fprintf(stderr, "capsem-shell: %s: %s\n", agent,
		    strerror(errno));
		_exit(127);
	}
	(void)close(logfd);
	return (pid);
}

/* TERM, LANG and LC_*: what a new session takes from our environment. */
static int
env_forwarded(const char *kv)
{
	return (strncmp(kv, "TERM=", 5) == 0 || strncmp(kv, "LANG=", 5) == 0 ||
	    (strncmp(kv, "LC_", 3) == 0 && strchr(kv, '=') != NULL));
}

static pid_t
start_hostd(struct session *s, const struct session_opts *o, pid_t vm_pid,
    int ready_wr)
{
	char		 hostd[PATH_MAX], pidbuf[16], fdbuf[16], bootbuf[16];
	char		 transport[PATH_MAX + 16];
	char		**argv;
	size_t		 i = 0, j, nfwd;
	int		 logfd;
	pid_t		 pid;

	find_program("capsem-hostd", hostd, sizeof(hostd));
	for (j = 0, nfwd = 0; environ[j] != NULL; j++)
		nfwd += !o->no_send_env && env_forwarded(environ[j]);
	if ((argv = calloc(MAX_ARGS + 2 * (o->nenv + nfwd),
	    sizeof(*argv))) == NULL) {
		fprintf(stderr, "capsem-shell: %s\n", strerror(errno));
		return (-1);
	}
	(void)snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)vm_pid);
	(void)snprintf(fdbuf, sizeof(fdbuf), "%d", ready_wr);
	argv[i++] = hostd;
	argv[i++] = (char *)"-d";
	if (o->verbose)
		argv[i++] = (char *)"-v";
	argv[i++] = (char *)"-S";
	argv[i++] = s->dir;
	if (!o->persistent)
		argv[i++] = (char *)"-T";
	(void)snprintf(bootbuf, sizeof(bootbuf), "%d", o->boot_secs >= 0 ?
	    o->boot_secs : o->vm_cmd != NULL ? BOOT_SECS_VM : BOOT_SECS_LOCAL);
	argv[i++] = (char *)"--boot-timeout";
	argv[i++] = bootbuf;
	argv[i++] = (char *)"--vm-pid";
	argv[i++] = pidbuf;
	argv[i++] = (char *)"--ready-fd";
	argv[i++] = fdbuf;
	/* A local agent shares this machine's clock: never send it ours. */
	if (o->vm_cmd == NULL)
		argv[i++] = (char *)"-C";
	/* The user's terminal and locale, as ssh's pty request and
	 * Debian's "SendEnv LANG LC_*" carry them; an -e of the same name,
	 * given after, wins. */
	for (j = 0; !o->no_send_env && environ[j] != NULL; j++) {
		if (!env_forwarded(environ[j]))
			continue;
		argv[i++] = (char *)"-e";
		argv[i++] = environ[j];
	}
	for (j = 0; j < o->nenv; j++) {
		argv[i++] = (char *)"-e";
		argv[i++] = o->env[j];
	}
	/* Our terminal's modes, as ssh's pty request carries them. */
	if (o->term_modes != NULL) {
		argv[i++] = (char *)"--term-modes";
		argv[i++] = o->term_modes;
	}
	if (o->transport != NULL || o->vm_cmd != NULL) {
		if (o->transport != NULL)
			(void)strlcpy(transport, o->transport,
			    sizeof(transport));
		else
			(void)snprintf(transport, sizeof(transport),
			    "hybrid:%s/vsock", s->dir);
		argv[i++] = (char *)"-t";
		argv[i++] = transport;
	}
	argv[i] = NULL;

	if ((logfd = open_log(s, "hostd.log")) == -1) {
		fprintf(stderr, "capsem-shell: %s/hostd.log: %s\n", s->dir,
		    strerror(errno));
		free(argv);
		return (-1);
	}
	switch ((pid = fork())) {
	case -1:
		fprintf(stderr, "capsem-shell: fork: %s\n", strerror(errno));
		break;
	case 0:
		child_setup(logfd);
		/* The one descriptor hostd inherits on purpose. */
		if (fcntl(ready_wr, F_SETFD, 0) == -1)
			_exit(127);
		execvp(hostd, argv);
		fprintf(stderr, "capsem-shell: %s: %s\n", hostd,
		    strerror(errno));
		_exit(127);
	}
	(void)close(logfd);
	free(argv);
	return (pid);
}

/* Returns 0 once hostd wrote "1" on the ready pipe, -1 (reported) if not. */
static int
wait_ready(struct session *s, int ready_rd)
{
	struct pollfd	 pfd;
	long long	 deadline = now_ms() + READY_TIMEOUT_MS;
	int		 left, status = 0;
	ssize_t		 n;
	char		 c;

	pfd.fd = ready_rd;
	pfd.events = POLLIN;
	for (;;) {
		if ((left = deadline - now_ms()) <= 0) {
			fprintf(stderr, "capsem-shell: capsem-hostd not ready "
			    "after %d s\n", READY_TIMEOUT_MS / 1000);
			return (-1);
		}
		if (poll(&pfd, 1, left) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "capsem-shell: poll: %s\n",
			    strerror(errno));
			return (-1);
		}
		if (pfd.revents == 0)
			continue;
		if ((n = read(ready_rd, &c, 1)) == -1 && errno == EINTR)
			continue;
		if (n == 1 && c == '1')
			return (0);
		break;
	}
	/* Closed without a word: it most likely exited; say how. */
	if (!reap_within(&s->hostd_pid, 1000, &status))
		fprintf(stderr, "capsem-shell: capsem-hostd closed its ready "
		    "descriptor without being ready\n");
	else if (WIFSIGNALED(status))
		fprintf(stderr, "capsem-shell: capsem-hostd killed by signal "
		    "%d before it was ready\n", WTERMSIG(status));
	else
		fprintf(stderr, "capsem-shell: capsem-hostd exited with status "
		    "%d before it was ready\n", WEXITSTATUS(status));
	return (-1);
}

/*
 * The last LOG_TAIL bytes of a log in the session directory, from the
 * start of a whole line, NUL-terminated in buf; its length, or -1.
 */
static ssize_t
log_tail(const struct session *s, const char *name, char *buf, size_t len)
{
	char		 path[PATH_MAX], *p;
	struct stat	 st;
	ssize_t		 n;
	off_t		 off = 0;
	int		 fd;

	(void)snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(fd, &st) == 0 && st.st_size > (off_t)len - 1)
		off = st.st_size - (len - 1);
	n = pread(fd, buf, len - 1, off);
	(void)close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	/* Start at a whole line when the head was cut. */
	if (off > 0 && (p = memchr(buf, '\n', n)) != NULL) {
		n -= p + 1 - buf;
		memmove(buf, p + 1, n + 1);
	}
	return (n);
}

static void
print_log_tail(const struct session *s, const char *name)
{
	char	 buf[LOG_TAIL];
	ssize_t	 n;

	if ((n = log_tail(s, name, buf, sizeof(buf))) <= 0)
		return;
	fprintf(stderr, "capsem-shell: %s/%s:\n", s->dir, name);
	(void)fwrite(buf, 1, n, stderr);
}

int
session_create(struct session *s, const struct session_opts *o)
{
	const char	*tmp;
	char		 transport[PATH_MAX + 16];
	int		 hold[2] = { -1, -1 }, ready[2] = { -1, -1 };

	memset(s, 0, sizeof(*s));
	s->hostd_pid = s->vm_pid = -1;
	tmp = session_root();
	if (o->dir != NULL) {
		if (strlcpy(s->dir, o->dir, sizeof(s->dir)) >= sizeof(s->dir)) {
			fprintf(stderr, "capsem-shell: %s: path too long\n",
			    o->dir);
			return (-1);
		}
		if (mkdir(s->dir, 0700) == -1) {
			fprintf(stderr, "capsem-shell: %s: %s\n", s->dir,
			    errno == EEXIST ? "exists already (a new session "
			    "needs a new directory)" : strerror(errno));
			return (-1);
		}
	} else if ((size_t)snprintf(s->dir, sizeof(s->dir),
	    "%s/capsem.XXXXXXXX", tmp) >= sizeof(s->dir) ||
	    mkdtemp(s->dir) == NULL) {
		fprintf(stderr, "capsem-shell: %s: mkdtemp: %s\n", s->dir,
		    strerror(errno));
		return (-1);
	}
	/* Ours to remove until it is made, a temporary one for good. */
	s->temp = 1;

	if (o->transport != NULL)
		(void)strlcpy(transport, o->transport, sizeof(transport));
	else if (o->vm_cmd != NULL)
		(void)snprintf(transport, sizeof(transport), "hybrid:%s/vsock",
		    s->dir);
	else
		(void)snprintf(transport, sizeof(transport), "unix:%s",
		    s->dir);

	if (pipe2(hold, O_CLOEXEC) == -1) {
		fprintf(stderr, "capsem-shell: pipe: %s\n", strerror(errno));
		goto fail;
	}
	if ((s->vm_pid = start_vm(s, o, transport, hold[0], hold[1])) == -1)
		goto fail;
	(void)close(hold[0]);
	hold[0] = -1;
	/* Made after the VM side forked: only hostd may hold its write end. */
	if (pipe2(ready, O_CLOEXEC) == -1) {
		fprintf(stderr, "capsem-shell: pipe: %s\n", strerror(errno));
		goto fail;
	}
	if ((s->hostd_pid = start_hostd(s, o, s->vm_pid, ready[1])) == -1)
		goto fail;
	(void)close(ready[1]);
	ready[1] = -1;
	if (wait_ready(s, ready[0]) == -1) {
		print_log_tail(s, "hostd.log");
		goto fail;
	}
	(void)close(ready[0]);
	if (write(hold[1], "1", 1) != 1) {
		fprintf(stderr, "capsem-shell: releasing the VM side: %s\n",
		    strerror(errno));
		ready[0] = -1;
		goto fail;
	}
	(void)close(hold[1]);
	if (o->persistent) {
		/* Made: from now on it outlives us, as a tmux session does. */
		s->temp = 0;
		s->hostd_pid = s->vm_pid = -1;
	}
	return (0);

 fail:
	if (hold[0] != -1)
		(void)close(hold[0]);
	if (hold[1] != -1)
		(void)close(hold[1]);
	if (ready[0] != -1)
		(void)close(ready[0]);
	if (ready[1] != -1)
		(void)close(ready[1]);
	session_abort(s);
	return (-1);
}

/*
 * Reap *pid if it exits within ms; *pid becomes -1 once reaped and its
 * wait status goes to *status if not NULL.  Waits on a pidfd, so the
 * caller resumes the moment the child exits (no polling tick).
 */
static int
reap_within(pid_t *pid, int ms, int *status)
{
	struct pollfd	 pfd;
	long long	 deadline = now_ms() + ms, left;
	pid_t		 r;
	int		 fd;

	if (*pid == -1)
		return (1);
	fd = (int)syscall(SYS_pidfd_open, *pid, 0);
	for (;;) {
		r = waitpid(*pid, status, WNOHANG);
		if (r == *pid || (r == -1 && errno == ECHILD)) {
			*pid = -1;
			break;
		}
		if (r == -1 && errno != EINTR)
			break;
		if ((left = deadline - now_ms()) <= 0)
			break;
		if (fd == -1) {
			/* No pidfd (old kernel): a short sleep instead. */
			(void)poll(NULL, 0, left < 10 ? (int)left : 10);
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, (int)left);
	}
	if (fd != -1)
		close(fd);
	return (*pid == -1);
}

/* SIGTERM to the child's process group and itself, then SIGKILL. */
static void
stop_child(pid_t *pid)
{
	if (*pid == -1)
		return;
	(void)kill(-*pid, SIGTERM);
	(void)kill(*pid, SIGTERM);
	if (reap_within(pid, KILL_GRACE_MS, NULL))
		return;
	(void)kill(-*pid, SIGKILL);
	(void)kill(*pid, SIGKILL);
	(void)reap_within(pid, KILL_GRACE_MS, NULL);
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)remove(path);
	return (0);
}

static void
remove_dir(struct session *s)
{
	struct stat	 st;

	if (!s->temp || lstat(s->dir, &st) == -1)
		return;
	(void)nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	s->temp = 0;
}

void
session_finish(struct session *s, int timeout_ms)
{
	long long	 deadline = now_ms() + timeout_ms;
	int		 left;

	(void)reap_within(&s->hostd_pid, timeout_ms, NULL);
	if ((left = deadline - now_ms()) < 0)
		left = 0;
	(void)reap_within(&s->vm_pid, left, NULL);
	session_abort(s);
}

void
session_abort(struct session *s)
{
	stop_child(&s->hostd_pid);
	stop_child(&s->vm_pid);
	remove_dir(s);
}

const char *
session_root(void)
{
	const char	*tmp;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	return (tmp);
}

/*
 * A session is served while its capsem-hostd holds the lock on the
 * directory (flock, dropped by the kernel when hostd dies): 1 if so, 0 if
 * not, -1 if the directory cannot be opened.
 */
static int
session_alive(const char *dir)
{
	int	 fd, r;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	r = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	(void)close(fd);
	return (r);
}

static json_t *
session_json_load(const char *dir)
{
	char	 path[PATH_MAX + 16];

	(void)snprintf(path, sizeof(path), "%s/session.json", dir);
	return (json_load_file(path, 0, NULL));
}

int
session_check(const char *dir, char *why, size_t len)
{
	json_t		*j;
	const char	*state;
	int		 alive;

	if ((alive = session_alive(dir)) == -1) {
		(void)snprintf(why, len, "%s", errno == ENOENT ?
		    "not a capsem session (no such directory)" :
		    strerror(errno));
		return (-1);
	}
	if (alive == 1)
		return (0);
	if ((j = session_json_load(dir)) == NULL) {
		(void)snprintf(why, len, "not a capsem session");
		return (-1);
	}
	state = json_string_value(json_object_get(j, "state"));
	if (state != NULL && strcmp(state, "exited") == 0)
		(void)snprintf(why, len, "the session has ended");
	else
		(void)snprintf(why, len, "the session's capsem-hostd is gone "
		    "(capsem-shell prune removes what is left)");
	json_decref(j);
	return (-1);
}

pid_t
session_hostd_pid(const char *dir)
{
	json_t	*j;
	pid_t	 pid = -1;

	if ((j = session_json_load(dir)) == NULL)
		return (-1);
	if (json_is_integer(json_object_get(j, "hostd_pid")))
		pid = (pid_t)json_integer_value(json_object_get(j,
		    "hostd_pid"));
	json_decref(j);
	return (pid);
}

static void
session_list_one(const char *dir, int prune)
{
	json_t		*j;
	const char	*state, *started;
	long long	 clients;
	int		 alive;

	if ((alive = session_alive(dir)) == -1)
		return;
	j = session_json_load(dir);
	if (j == NULL && alive == 0)
		return;		/* a directory of ours, not a session */
	state = json_string_value(json_object_get(j, "state"));
	started = json_string_value(json_object_get(j, "started"));
	clients = json_integer_value(json_object_get(j, "clients"));
	if (!alive && prune) {
		(void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		printf("removed %s\n", dir);
	} else if (!prune)
		printf("%-36s %-12s %-20s %7lld  %s\n", dir,
		    state ? state : "?", started ? started : "?",
		    alive ? clients : 0, alive ? "running" :
		    "gone (stale: capsem-shell prune)");
	json_decref(j);
}

/*
 * The sessions under the root: directories named capsem.* of ours with
 * a session.json or a live capsem-hostd.  prune: remove the stale ones.
 */
int
session_list(int prune)
{
	char		 path[PATH_MAX];
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;

	if ((d = opendir(session_root())) == NULL) {
		fprintf(stderr, "capsem-shell: %s: %s\n", session_root(),
		    strerror(errno));
		return (-1);
	}
	if (!prune)
		printf("%-36s %-12s %-20s %7s  %s\n", "SESSION", "STATE",
		    "STARTED", "CLIENTS", "CAPSEM-HOSTD");
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "capsem.", 7) != 0)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", session_root(),
		    de->d_name);
		if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode) ||
		    st.st_uid != getuid())
			continue;
		session_list_one(path, prune);
	}
	(void)closedir(d);
	return (0);
}

/* The last line of a log in the session directory, on stderr. */
void
session_log_hint(const struct session *s, const char *name)
{
	char	 buf[LOG_TAIL], *p, *end;
	ssize_t	 n;

	if ((n = log_tail(s, name, buf, sizeof(buf))) <= 0)
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	p = (end = strrchr(buf, '\n')) != NULL ? end + 1 : buf;
	if (*p != '\0')
		fprintf(stderr, "capsem-shell: %s: %s\r\n", name, p);
}

/* 1 if the session ends with its last client (ours, or session.json). */
int
session_is_temporary(const struct session *s)
{
	json_t	*j;
	int	 temp;

	if (s->temp)
		return (1);
	if ((j = session_json_load(s->dir)) == NULL)
		return (0);
	temp = json_is_true(json_object_get(j, "temporary"));
	json_decref(j);
	return (temp);
}
