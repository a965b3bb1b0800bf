/*
 * exec requests from the host.  Each runs in a short-lived runner process
 * forked from the parent: the runner connects the exec port, announces
 * `execstarted`, starts `/bin/sh -c COMMAND` in a session and process
 * group of its own with stdin /dev/null and stdout+stderr on the
 * connection (raw bytes), waits for it, then shuts the connection down (so
 * it is closed before `execdone`, even if a background process still holds
 * it) and reports the exit status to the parent through a pipe.  The
 * parent then sends the ackable `execdone`.
 *
 * Nothing an exec started outlives the session.  The runner is the
 * subreaper of its command, so everything the command starts stays in its
 * tree, and it watches two things while any of it runs: the connection
 * (the host closing it cancels the command) and its status pipe (the
 * parent closes it when the session ends, and the kernel does when the
 * parent dies).  Either way the whole tree gets SIGHUP, SIGKILL after
 * EXEC_KILL_MS, and is reaped; the status says 128+N.  The runner exits
 * once its tree is empty, so after execdone it lingers only while a
 * background process of the command is still there.
 *
 * Requests are deduplicated by id: a replayed exec that finished gets its
 * cached execdone again, one still running is ignored.  The table is
 * bounded; the oldest finished entries are forgotten first.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

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
#include "log.h"

#define EXEC_KILL_MS	2000	/* SIGHUP to SIGKILL of a cancelled command */
#define EXEC_REAP_MS	1000	/* SIGKILL to the runner giving up on it */
#define EXEC_SINK	512	/* bytes read at once from the connection */
#define RUNNER_STATUS_FD 3	/* the runner's end of its status pipe */

enum exec_state { EXEC_FREE, EXEC_RUNNING, EXEC_DONE };

struct exec_ent {
	enum exec_state	 state;
	uint64_t	 id;
	uint64_t	 seq;
	pid_t		 runner;	/* 0 once reaped */
	int		 statusfd;	/* read end of the runner's pipe */
	struct ev	*ev;		/* statusfd in the loop; NULL once
					   the runner is gone */
	int32_t		 exit_code;
	int		 have_code;
};

static struct exec_ent	 tab[EXECTAB_MAX];
static uint64_t		 seq;
static int64_t		 hangup_at;	/* when exec_hangup() ran */

/* The runner's own state: one exec per runner process. */
static struct {
	uint64_t	 id;
	pid_t		 cmd;		/* the command, 0 once reaped */
	int		 sock;		/* the exec connection, -1 once ended */
	struct ev	*sockev;
	struct ev	*parentev;
	int		 cancelled;
	int		 killed;
	struct ev_timer	 t_kill;	/* SIGKILL what is left */
	struct ev_timer	 t_giveup;	/* stop waiting for it */
} run;

static struct exec_ent	*exec_find(uint64_t);
static int		 exec_older(const struct exec_ent *,
			    const struct exec_ent *);
static struct exec_ent	*exec_alloc(void);
static void		 exec_status(struct exec_ent *);
static void		 exec_done(struct exec_ent *, int32_t);
static void		 exec_release(struct exec_ent *);
static void		 exec_status_event(int, short, void *);
static __dead void	 exec_runner(uint64_t, char *, int);
static int		 runner_connect(void);
static __dead void	 runner_command(char *);
static void		 runner_signal(int, void *);
static void		 runner_command_done(int);
static void		 runner_sock_event(int, short, void *);
static void		 runner_parent_event(int, short, void *);
static void		 runner_cancel(const char *);
static void		 runner_kill(void *);
static void		 runner_giveup(void *);

static struct exec_ent *
exec_find(uint64_t id)
{
	size_t	 i;

	for (i = 0; i < EXECTAB_MAX; i++)
		if (tab[i].state != EXEC_FREE && tab[i].id == id)
			return (&tab[i]);
	return (NULL);
}

/* Forget first what has nothing left running, then the oldest. */
static int
exec_older(const struct exec_ent *a, const struct exec_ent *b)
{
	if ((a->ev == NULL) != (b->ev == NULL))
		return (a->ev == NULL);
	return (a->seq < b->seq);
}

static struct exec_ent *
exec_alloc(void)
{
	struct exec_ent	*e, *oldest = NULL;
	size_t		 i, running = 0;

	for (i = 0; i < EXECTAB_MAX; i++) {
		e = &tab[i];
		if (e->state == EXEC_FREE)
			return (e);
		if (e->state == EXEC_RUNNING)
			running++;
		else if (oldest == NULL || exec_older(e, oldest))
			oldest = e;
	}
	if (running >= EXEC_RUNNING_MAX || oldest == NULL)
		return (NULL);
	if (oldest->ev != NULL) {
		log_info("exec %llu: forgotten: hanging up what it left "
		    "running", (unsigned long long)oldest->id);
		exec_release(oldest);
	}
	memset(oldest, 0, sizeof(*oldest));
	return (oldest);
}

void
exec_request(uint64_t id, const char *cmd, size_t len)
{
	struct exec_ent	*e;
	struct msg	 m;
	char		*command;
	size_t		 i;
	int		 p[2], running = 0;

	if ((e = exec_find(id)) != NULL) {
		if (e->state == EXEC_DONE && e->have_code) {
			log_info("exec %llu: replayed, sending the cached "
			    "result", (unsigned long long)id);
			memset(&m, 0, sizeof(m));
			m.type = MSG_EXECDONE;
			m.u.execdone.id = id;
			m.u.execdone.exit_code = e->exit_code;
			(void)agent_send_ackable(&m, id);
		} else
			log_debug("exec %llu: already running, replay ignored",
			    (unsigned long long)id);
		return;
	}
	for (i = 0; i < EXECTAB_MAX; i++)
		if (tab[i].state == EXEC_RUNNING)
			running++;
	if (running >= EXEC_RUNNING_MAX || (e = exec_alloc()) == NULL) {
		agent_send_error(id, "exec rejected: too many commands "
		    "running");
		return;
	}
	if (memchr(cmd, '\0', len) != NULL) {
		agent_send_error(id, "exec rejected: command contains a NUL "
		    "byte");
		return;
	}
	if ((command = strndup(cmd, len)) == NULL ||
	    pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		free(command);
		agent_send_error(id, "exec failed: out of resources");
		return;
	}
	switch ((e->runner = fork())) {
	case -1:
		log_warn("exec %llu: fork", (unsigned long long)id);
		close(p[0]);
		close(p[1]);
		free(command);
		agent_send_error(id, "exec failed: fork failed");
		return;
	case 0:
		close(p[0]);
		exec_runner(id, command, p[1]);
	}
	close(p[1]);
	free(command);
	e->state = EXEC_RUNNING;
	e->id = id;
	e->seq = seq++;
	e->statusfd = p[0];
	e->ev = ev_add(p[0], POLLIN, exec_status_event, e);
	e->have_code = 0;
	log_info("exec %llu: started (runner pid %d)",
	    (unsigned long long)id, (int)e->runner);
}

/* The runner's pipe is readable: its status, or its end. */
static void
exec_status_event(int fd, short revents, void *arg)
{
	exec_status(arg);
}

/* SIGCHLD: returns 1 if pid was an exec runner. */
int
exec_reaped(pid_t pid, int status)
{
	size_t	 i;

	for (i = 0; i < EXECTAB_MAX; i++) {
		if (tab[i].state != EXEC_FREE && tab[i].runner == pid) {
			tab[i].runner = 0;
			exec_status(&tab[i]);
			return (1);
		}
	}
	return (0);
}

/* 1 if pid is the runner of an exec (reaped or not). */
int
exec_is_runner(pid_t pid)
{
	size_t	 i;

	for (i = 0; i < EXECTAB_MAX; i++)
		if (tab[i].state != EXEC_FREE && tab[i].runner == pid)
			return (1);
	return (0);
}

/*
 * Read the runner's pipe: one status when the command ends, then EOF when
 * the runner is gone (a runner that ends without a status: -1).
 */
static void
exec_status(struct exec_ent *e)
{
	int32_t	 code;
	ssize_t	 n;

	while (e->ev != NULL) {
		n = read(e->statusfd, &code, sizeof(code));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == sizeof(code) && e->state == EXEC_RUNNING) {
			exec_done(e, code);
			continue;
		}
		if (e->state == EXEC_RUNNING)
			exec_done(e, -1);
		exec_release(e);
	}
}

static void
exec_done(struct exec_ent *e, int32_t code)
{
	struct msg	 m;

	e->state = EXEC_DONE;
	e->exit_code = code;
	e->have_code = 1;
	log_info("exec %llu: exit %d", (unsigned long long)e->id, code);
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECDONE;
	m.u.execdone.id = e->id;
	m.u.execdone.exit_code = code;
	(void)agent_send_ackable(&m, e->id);
}

/* Close the pipe: a runner still there hangs up what is left of it. */
static void
exec_release(struct exec_ent *e)
{
	if (e->ev == NULL)
		return;
	ev_del(e->ev);
	e->ev = NULL;
	close(e->statusfd);
	e->statusfd = -1;
}

/*
 * The session ends: every runner's pipe closes, which makes each hang up
 * its command and everything it started.  exec_wait() then reaps them.
 */
void
exec_hangup(void)
{
	size_t	 i;

	hangup_at = now_ms();
	for (i = 0; i < EXECTAB_MAX; i++)
		if (tab[i].state != EXEC_FREE)
			exec_release(&tab[i]);
}

/*
 * Reap every runner, within the runner's own bound (EXEC_KILL_MS, then
 * EXEC_REAP_MS) and as long again for it to exit; one still there then is
 * killed (proc_reap).
 */
void
exec_wait(void)
{
	int64_t	 deadline = hangup_at + EXEC_KILL_MS + 2 * EXEC_REAP_MS, left;
	size_t	 i;

	for (i = 0; i < EXECTAB_MAX; i++) {
		if (tab[i].state == EXEC_FREE || tab[i].runner == 0)
			continue;
		left = deadline - now_ms();
		(void)proc_reap(tab[i].runner, left > 0 ? (int)left : 0, NULL);
		tab[i].runner = 0;
	}
}

/*
 * The runner, a child of the parent.  It never returns.  Status written to
 * the pipe: the command's exit code (128+N for signal N), or -1 when the
 * command could not be started.
 */
static __dead void
exec_runner(uint64_t id, char *cmd, int statusfd)
{
	static const int sigs[] = { SIGCHLD };
	int32_t		 code = -1;

	proc_reset_signals();
	/* A closed connection or a gone parent fails a write, never kills. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * The parent's syslog socket is about to be replaced or closed: a
	 * log line must not go to whatever takes its number (our pipe).
	 */
	closelog();
	/* Drop every parent fd: a held imsg socket would keep a child alive. */
	if (statusfd != RUNNER_STATUS_FD) {
		if (dup2(statusfd, RUNNER_STATUS_FD) == -1)
			_exit(1);
		statusfd = RUNNER_STATUS_FD;
	}
	closefrom(RUNNER_STATUS_FD + 1);
	log_procinit("capsem-agent: exec");
	log_init(conf.debug, LOG_DAEMON);
	run.id = id;
	run.sock = -1;
	/* SIGCHLD is blocked from here on, so no exit can be missed. */
	ev_init();
	if (ev_signals(sigs, 1, runner_signal, NULL) == -1 ||
	    ptree_subreaper() == -1) {
		log_warn("exec %llu: runner", (unsigned long long)id);
		goto fail;
	}
	if ((run.sock = runner_connect()) == -1)
		goto fail;
	switch ((run.cmd = fork())) {
	case -1:
		log_warn("exec %llu: fork", (unsigned long long)id);
		goto fail;
	case 0:
		runner_command(cmd);
	}
	run.sockev = ev_add(run.sock, POLLIN | POLLRDHUP, runner_sock_event,
	    NULL);
	/* A pipe's write end reports POLLERR once its reader is gone. */
	run.parentev = ev_add(statusfd, POLLERR, runner_parent_event, NULL);
	ev_timer_init(&run.t_kill, runner_kill, NULL);
	ev_timer_init(&run.t_giveup, runner_giveup, NULL);
	ev_run();
 fail:
	(void)write(statusfd, &code, sizeof(code));
	_exit(0);
}

/* Connect the exec port and announce the exec: the connection, or -1. */
static int
runner_connect(void)
{
	struct msg	 m;
	struct wbuf	 frame;
	struct wire_err	 err;
	size_t		 off = 0;
	ssize_t		 n = 0;
	int		 sock;

	if ((sock = transport_connect(&conf.transport, PORT_EXEC)) == -1) {
		log_warn("exec %llu: connect exec port",
		    (unsigned long long)run.id);
		return (-1);
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECSTARTED;
	m.u.execstarted.id = run.id;
	wbuf_init(&frame);
	if (msg_encode(&m, &frame, &err) == -1)
		n = -1;
	while (n != -1 && off < frame.len) {
		if ((n = write(sock, frame.data + off, frame.len - off)) > 0)
			off += n;
		else if (n == -1 && errno == EINTR)
			n = 0;
	}
	wbuf_free(&frame);
	if (n == -1) {
		close(sock);
		return (-1);
	}
	return (sock);
}

/* The command: a session of its own, so that a hangup reaches all of it. */
static __dead void
runner_command(char *cmd)
{
	char	*argv[] = { "sh", "-c", cmd, NULL }, **envp;
	int	 devnull;

	/* The shell's, looked up before the user changes. */
	envp = shell_env();
	proc_reset_signals();
	if (setsid() == -1)
		_exit(127);
	if ((devnull = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(devnull, 0) == -1 || dup2(run.sock, 1) == -1 ||
	    dup2(run.sock, 2) == -1)
		_exit(127);
	closefrom(3);
	if (user_drop(conf.user) == -1)
		_exit(126);
	if (chdir(conf.workspace) == -1)
		(void)chdir("/");
	execve("/bin/sh", argv, envp);
	_exit(127);
}

/*
 * SIGCHLD: reap the command and whatever of its tree came back to us.  An
 * empty tree is the runner's end.
 */
static void
runner_signal(int signo, void *arg)
{
	pid_t	 pid;
	int	 st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (pid == run.cmd)
			runner_command_done(st);
	if (pid == -1 && errno == ECHILD)
		_exit(0);
	/* What a killed process forked at the last moment comes back here. */
	if (run.killed)
		(void)ptree_signal_descendants(getpid(), SIGKILL);
}

/* The command ended: end the stream for everyone, then tell the parent. */
static void
runner_command_done(int st)
{
	int32_t	 code;

	run.cmd = 0;
	code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	if (run.sock != -1) {
		ev_del(run.sockev);
		run.sockev = NULL;
		(void)shutdown(run.sock, SHUT_RDWR);
		close(run.sock);
		run.sock = -1;
	}
	(void)write(RUNNER_STATUS_FD, &code, sizeof(code));
}

/*
 * Input from the host: untrusted, and by the protocol nothing at all; only
 * its end matters, which cancels the command.
 */
static void
runner_sock_event(int fd, short revents, void *arg)
{
	char	 sink[EXEC_SINK];
	ssize_t	 n;

	if ((revents & POLLIN) && !(revents & (POLLRDHUP | POLLHUP))) {
		n = read(fd, sink, sizeof(sink));
		if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR)))
			return;
	}
	runner_cancel("the host closed the exec connection");
}

static void
runner_parent_event(int fd, short revents, void *arg)
{
	ev_del(run.parentev);
	run.parentev = NULL;
	runner_cancel("the session ended");
}

/* SIGHUP (and SIGCONT, so a stopped job sees it) to the whole tree. */
static void
runner_cancel(const char *why)
{
	if (run.cancelled)
		return;
	run.cancelled = 1;
	if (run.sockev != NULL) {
		ev_del(run.sockev);
		run.sockev = NULL;
	}
	log_info("exec %llu: %s: hanging up %s", (unsigned long long)run.id,
	    why, run.cmd != 0 ? "the command" : "what it left running");
	(void)ptree_signal_descendants(getpid(), SIGHUP);
	(void)ptree_signal_descendants(getpid(), SIGCONT);
	ev_timer_in(&run.t_kill, EXEC_KILL_MS);
}

static void
runner_kill(void *arg)
{
	run.killed = 1;
	if (ptree_signal_descendants(getpid(), SIGKILL) > 0)
		log_info("exec %llu: still running after %d ms: SIGKILL",
		    (unsigned long long)run.id, EXEC_KILL_MS);
	ev_timer_in(&run.t_giveup, EXEC_REAP_MS);
}

/* Only a process stuck in the kernel survives SIGKILL this long. */
static void
runner_giveup(void *arg)
{
	log_warnx("exec %llu: processes survive SIGKILL: leaving them",
	    (unsigned long long)run.id);
	_exit(0);
}
