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
 *
 * An execio (capsem-protocol(7) "execio") runs the same way, with the
 * connection framed both ways after execstarted: the command's stdin,
 * stdout and stderr are pipes (or one PTY of its own), which the runner
 * pumps to and from execinput/execoutput frames within the grants of the
 * other side.  Every buffer is bounded: output is read only while the host
 * has granted room and the frames queued for the socket are few, input is
 * accepted only up to what this side granted, and granted again only once
 * written to the command.  A timeout ends the command (SIGTERM, SIGKILL
 * after EXEC_KILL_MS) with status 124.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
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
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "frame.h"
#include "log.h"
#include "transport.h"
#include "outbuf.h"
#include "validate.h"

#define EXEC_KILL_MS	2000	/* SIGHUP to SIGKILL of a cancelled command */
#define EXEC_REAP_MS	1000	/* SIGKILL to the runner giving up on it */
#define EXEC_SINK	512	/* bytes read at once from the connection */
#define RUNNER_STATUS_FD 3	/* the runner's end of its status pipe */
#define IO_OUT_HIGH	(128 * 1024)	/* queued frames: stop reading output */
#define IO_OUTBUF_MAX	(4 * 1024 * 1024) /* frames queued at most */
#define IO_GRANT_MIN	(32 * 1024)	/* input written before granting it */
#define IO_READ		65536		/* socket bytes read at once */
#define IO_TIMEOUT_STATUS 124		/* as timeout(1) */
#define IO_LINGER_MS	2000		/* for the host's end of the connection */

/* What an execio asks for beyond the command (IMSG_CTL_EXECIO). */
struct exec_opts {
	int		 io;		/* framed connection */
	char		*cwd;		/* NULL: the workspace */
	char		**env;		/* KEY=VALUE added, NULL-ended */
	uint16_t	 cols, rows;	/* 0: no terminal */
	uint32_t	 timeout;	/* seconds, 0: none */
};

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
	/* execio only */
	struct exec_opts *o;
	int		 status;	/* the command's, once exited */
	int		 exited;
	int		 finished;	/* status reported */
	int		 timedout;
	int		 tree_empty;	/* nothing of the command is left */
	struct ev_timer	 t_timeout;
	int		 master;	/* the PTY, or -1 */
	int		 infd;		/* to the command's stdin, or -1 */
	int		 outfd[2];	/* stdout, stderr: from the command */
	struct ev	*inev, *outev[2];
	uint8_t		*in;		/* input not yet written */
	size_t		 inoff, inlen;
	int		 inend;		/* execinputend received */
	uint64_t	 in_allowed;	/* input the host may still send */
	uint64_t	 in_written;	/* written, not granted again yet */
	uint64_t	 out_credit;	/* output we may still send */
	struct outbuf	 out;
	struct frame_reader rd;
} run;

static struct exec_ent	*exec_find(uint64_t);
static int		 exec_older(const struct exec_ent *,
			    const struct exec_ent *);
static struct exec_ent	*exec_alloc(void);
static void		 exec_status(struct exec_ent *);
static void		 exec_done(struct exec_ent *, int32_t);
static void		 exec_release(struct exec_ent *);
static void		 exec_status_event(int, short, void *);
static __dead void	 exec_runner(uint64_t, char *, int,
			    struct exec_opts *);
static void		 exec_start(uint64_t, const char *, size_t,
			    struct exec_opts *);
static int		 runner_connect(void);
static __dead void	 runner_command(char *, int, int, int);
static int		 io_setup(int *, int *, int *);
static void		 io_prepare(void *);
static void		 io_sock_event(int, short, void *);
static int		 io_frame(const uint8_t *, size_t);
static void		 io_in_event(int, short, void *);
static void		 io_in_close(void);
static void		 io_out_event(int, short, void *);
static void		 io_out_close(int);
static int		 io_out_waiting(int);
static void		 io_send(const struct msg *);
static void		 io_lost(const char *);
static void		 io_finish(void);
static void		 io_linger(void);
static void		 io_timeout(void *);
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
	exec_start(id, cmd, len, NULL);
}

/*
 * IMSG_CTL_EXECIO from the control child: struct imsg_execio, the command,
 * the cwd, then nenv entries of a uint32_t length and that many bytes.
 * Checked here: the child is the untrusted side.
 */
void
exec_request_io(const void *data, size_t len)
{
	struct imsg_execio	 x;
	struct exec_opts	 o;
	const uint8_t		*p = data, *end = p + len;
	const char		*why, *eq;
	uint32_t		 elen;
	size_t			 i, n = 0;

	if (len < sizeof(x))
		return;
	memcpy(&x, p, sizeof(x));
	p += sizeof(x);
	if (x.cmdlen > (size_t)(end - p) ||
	    x.cwdlen > (size_t)(end - p) - x.cmdlen ||
	    x.nenv > EXECIO_ENV_MAX) {
		log_warnx("exec %llu: malformed execio from control dropped",
		    (unsigned long long)x.id);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.io = 1;
	o.cols = x.cols;
	o.rows = x.rows;
	o.timeout = x.timeout;
	if ((o.cwd = strndup((const char *)p + x.cmdlen, x.cwdlen)) == NULL ||
	    (o.env = calloc(x.nenv + 1, sizeof(*o.env))) == NULL)
		goto fail;
	if (memchr(p + x.cmdlen, '\0', x.cwdlen) != NULL) {
		agent_send_error(x.id, "exec rejected: cwd contains a NUL "
		    "byte");
		goto out;
	}
	for (i = 0, end = p + len - sizeof(x), p += x.cmdlen + x.cwdlen;
	    i < x.nenv; i++) {
		if ((size_t)(end - p) < sizeof(elen))
			goto fail;
		memcpy(&elen, p, sizeof(elen));
		p += sizeof(elen);
		if (elen > (size_t)(end - p))
			goto fail;
		eq = memchr(p, '=', elen);
		if (eq == NULL || memchr(p, '\0', elen) != NULL ||
		    valid_env_key((const char *)p, eq - (const char *)p,
		    &why) == -1 || valid_env_value(eq + 1,
		    elen - (eq + 1 - (const char *)p), &why) == -1) {
			log_warnx("exec %llu: env entry %zu skipped: %s",
			    (unsigned long long)x.id, i, eq == NULL ?
			    "not KEY=VALUE" : why != NULL ? why : "NUL byte");
			p += elen;
			continue;
		}
		if ((o.env[n++] = strndup((const char *)p, elen)) == NULL)
			goto fail;
		p += elen;
	}
	p = (const uint8_t *)data + sizeof(x);
	exec_start(x.id, (const char *)p, x.cmdlen, &o);
	goto out;
 fail:
	log_warnx("exec %llu: malformed execio from control dropped",
	    (unsigned long long)x.id);
 out:
	free(o.cwd);
	for (i = 0; o.env != NULL && o.env[i] != NULL; i++)
		free(o.env[i]);
	free(o.env);
}

static void
exec_start(uint64_t id, const char *cmd, size_t len, struct exec_opts *o)
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
		exec_runner(id, command, p[1], o);
	}
	close(p[1]);
	free(command);
	e->state = EXEC_RUNNING;
	e->id = id;
	e->seq = seq++;
	e->statusfd = p[0];
	e->ev = ev_add(p[0], POLLIN, exec_status_event, e);
	e->have_code = 0;
	log_info("exec %llu: started (runner pid %d)%s",
	    (unsigned long long)id, (int)e->runner, o == NULL ? "" :
	    o->cols != 0 ? ", execio on a terminal" : ", execio");
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
exec_runner(uint64_t id, char *cmd, int statusfd, struct exec_opts *o)
{
	static const int sigs[] = { SIGCHLD };
	int32_t		 code = -1;
	int		 cin = -1, cout = -1, cerr = -1;

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
	run.o = o;
	run.master = run.infd = run.outfd[0] = run.outfd[1] = -1;
	/* SIGCHLD is blocked from here on, so no exit can be missed. */
	ev_init();
	if (ev_signals(sigs, 1, runner_signal, NULL) == -1 ||
	    ptree_subreaper() == -1) {
		log_warn("exec %llu: runner", (unsigned long long)id);
		goto fail;
	}
	if ((run.sock = runner_connect()) == -1)
		goto fail;
	if (o != NULL && io_setup(&cin, &cout, &cerr) == -1) {
		log_warn("exec %llu: pipes", (unsigned long long)id);
		goto fail;
	}
	switch ((run.cmd = fork())) {
	case -1:
		log_warn("exec %llu: fork", (unsigned long long)id);
		goto fail;
	case 0:
		runner_command(cmd, cin, cout, cerr);
	}
	if (o != NULL) {
		/* The command's ends are its own now. */
		if (cin != -1 && cin != cout)
			close(cin);
		if (cout != -1)
			close(cout);
		if (cerr != -1 && cerr != cout)
			close(cerr);
		if (fcntl(run.sock, F_SETFL, fcntl(run.sock, F_GETFL) |
		    O_NONBLOCK) == -1)
			goto fail;
		run.sockev = ev_add(run.sock, POLLIN | POLLRDHUP,
		    io_sock_event, NULL);
		run.inev = ev_add(run.infd, 0, io_in_event, NULL);
		run.outev[0] = ev_add(run.outfd[0], 0, io_out_event,
		    (void *)0);
		if (run.outfd[1] != -1)
			run.outev[1] = ev_add(run.outfd[1], 0, io_out_event,
			    (void *)1);
		ev_timer_init(&run.t_timeout, io_timeout, NULL);
		if (o->timeout > 0)
			ev_timer_in(&run.t_timeout, (int64_t)o->timeout * 1000);
		ev_prepare(io_prepare, NULL);
	} else
		run.sockev = ev_add(run.sock, POLLIN | POLLRDHUP,
		    runner_sock_event, NULL);
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
runner_command(char *cmd, int cin, int cout, int cerr)
{
	char	*argv[] = { "sh", "-c", cmd, NULL }, **envp, **base;
	char	*name;
	size_t	 i, k, n, klen;
	int	 devnull, slave;

	/* The shell's, looked up before the user changes. */
	envp = base = shell_env();
	if (run.o != NULL && run.o->env[0] != NULL) {
		/* The request's variables over the shell's. */
		for (n = 0; base[n] != NULL; n++)
			;
		for (k = 0; run.o->env[k] != NULL; k++)
			;
		if ((envp = calloc(n + k + 1, sizeof(*envp))) == NULL)
			_exit(127);
		for (i = 0, n = 0; base[i] != NULL; i++) {
			for (k = 0; run.o->env[k] != NULL; k++) {
				klen = strcspn(run.o->env[k], "=") + 1;
				if (strncmp(base[i], run.o->env[k], klen) == 0)
					break;
			}
			if (run.o->env[k] == NULL)
				envp[n++] = base[i];
		}
		for (k = 0; run.o->env[k] != NULL; k++)
			envp[n++] = run.o->env[k];
		envp[n] = NULL;
	}
	proc_reset_signals();
	if (setsid() == -1)
		_exit(127);
	if (run.o == NULL) {
		if ((devnull = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(devnull, 0) == -1 || dup2(run.sock, 1) == -1 ||
		    dup2(run.sock, 2) == -1)
			_exit(127);
	} else if (run.master != -1) {
		/* Its own terminal, as the shell has. */
		if ((name = ptsname(run.master)) == NULL ||
		    (slave = open(name, O_RDWR)) == -1 ||
		    ioctl(slave, TIOCSCTTY, 0) == -1 || dup2(slave, 0) == -1 ||
		    dup2(slave, 1) == -1 || dup2(slave, 2) == -1)
			_exit(127);
	} else if (dup2(cin, 0) == -1 || dup2(cout, 1) == -1 ||
	    dup2(cerr, 2) == -1)
		_exit(127);
	closefrom(3);
	if (user_drop(conf.user) == -1)
		_exit(126);
	if (chdir(conf.workspace) == -1)
		(void)chdir("/");
	if (run.o != NULL && run.o->cwd[0] != '\0' &&
	    chdir(run.o->cwd) == -1) {
		dprintf(2, "capsem-agent: cd %s: %s%s\n", run.o->cwd,
		    strerror(errno), run.master != -1 ? "\r" : "");
		_exit(1);
	}
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
	/* An execio still sending its output ends in io_finish. */
	if (pid == -1 && errno == ECHILD) {
		if (run.o == NULL || run.finished)
			_exit(0);
		run.tree_empty = 1;
	}
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
	if (run.o != NULL) {
		/* The rest of its output first (io_prepare). */
		run.exited = 1;
		run.status = run.timedout ? IO_TIMEOUT_STATUS : code;
		ev_timer_stop(&run.t_timeout);
		return;
	}
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

/*
 * execio: the command's ends.  With a terminal, one PTY (its master here,
 * stdin and stdout both); otherwise three pipes.  The runner's ends are
 * non-blocking and close-on-exec.
 */
static int
io_setup(int *cin, int *cout, int *cerr)
{
	struct winsize	 ws;
	int		 p[2];

	outbuf_init(&run.out, IO_OUTBUF_MAX);
	frame_reader_init(&run.rd, FRAME_MAX);
	if ((run.in = malloc(EXECIO_IN_WINDOW)) == NULL)
		return (-1);
	run.in_allowed = EXECIO_IN_WINDOW;
	run.out_credit = EXECIO_OUT_WINDOW;
	if (run.o->cols != 0 && run.o->rows != 0) {
		if ((run.master = posix_openpt(O_RDWR | O_NOCTTY |
		    O_CLOEXEC)) == -1 || grantpt(run.master) == -1 ||
		    unlockpt(run.master) == -1)
			return (-1);
		memset(&ws, 0, sizeof(ws));
		ws.ws_col = run.o->cols;
		ws.ws_row = run.o->rows;
		(void)ioctl(run.master, TIOCSWINSZ, &ws);
		if (fcntl(run.master, F_SETFL, O_NONBLOCK) == -1)
			return (-1);
		run.infd = run.outfd[0] = run.master;
		return (0);
	}
	if (pipe2(p, O_CLOEXEC) == -1)
		return (-1);
	*cin = p[0];
	run.infd = p[1];
	if (pipe2(p, O_CLOEXEC) == -1)
		return (-1);
	run.outfd[0] = p[0];
	*cout = p[1];
	if (pipe2(p, O_CLOEXEC) == -1)
		return (-1);
	run.outfd[1] = p[0];
	*cerr = p[1];
	if (fcntl(run.infd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(run.outfd[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(run.outfd[1], F_SETFL, O_NONBLOCK) == -1)
		return (-1);
	return (0);
}

/* Before every poll: what each end waits for, within the grants. */
static void
io_prepare(void *arg)
{
	int	 i, more;

	if (run.finished)
		return;
	if (run.sock != -1)
		ev_set(run.sockev, POLLIN | POLLRDHUP |
		    (outbuf_pending(&run.out) > 0 ? POLLOUT : 0));
	if (run.inev != NULL)
		ev_set(run.inev, run.inlen > 0 ? POLLOUT : 0);
	more = run.sock != -1 && run.out_credit > 0 &&
	    outbuf_pending(&run.out) < IO_OUT_HIGH;
	for (i = 0; i < 2; i++)
		if (run.outev[i] != NULL)
			ev_set(run.outev[i], more ? POLLIN : 0);
	if (!run.exited)
		return;
	/*
	 * The command is gone: what it wrote is in the pipes (or the PTY)
	 * already.  Once they hold nothing (a background process may keep
	 * them open) and the frames are out, the exec is over.
	 */
	if (run.sock != -1 && (io_out_waiting(0) || io_out_waiting(1) ||
	    outbuf_pending(&run.out) > 0))
		return;
	io_finish();
}

/* 1 while output of stream i is waiting to be sent. */
static int
io_out_waiting(int i)
{
	int	 n = 0;

	if (run.outfd[i] == -1)
		return (0);
	if (ioctl(run.outfd[i], FIONREAD, &n) == -1)
		return (0);
	return (n > 0);
}

/*
 * Our side of the connection ends; the host reads what is in flight and
 * closes its side.  Closing at once could throw away output still queued
 * (a transport may reset a connection closed with unread input), so wait
 * for the host's end, IO_LINGER_MS at most, discarding what it still sends.
 */
static void
io_linger(void)
{
	transport_linger(run.sock, IO_LINGER_MS);
}

/* The end: the connection closes, then the parent gets the status. */
static void
io_finish(void)
{
	int32_t	 code = run.status;
	int	 i;

	run.finished = 1;
	if (run.sock != -1) {
		ev_del(run.sockev);
		run.sockev = NULL;
		io_linger();
		close(run.sock);
		run.sock = -1;
	}
	io_in_close();
	for (i = 0; i < 2; i++)
		io_out_close(i);
	(void)write(RUNNER_STATUS_FD, &code, sizeof(code));
	if (run.tree_empty)
		_exit(0);
}

static void
io_timeout(void *arg)
{
	if (run.exited)
		return;
	run.timedout = 1;
	log_info("exec %llu: timed out after %u s: SIGTERM",
	    (unsigned long long)run.id, run.o->timeout);
	(void)ptree_signal_descendants(getpid(), SIGTERM);
	(void)ptree_signal_descendants(getpid(), SIGCONT);
	ev_timer_in(&run.t_kill, EXEC_KILL_MS);
}

/* The connection is gone or broke the protocol: the command goes too. */
static void
io_lost(const char *why)
{
	if (run.sock != -1) {
		ev_del(run.sockev);
		run.sockev = NULL;
		close(run.sock);
		run.sock = -1;
	}
	runner_cancel(why);
	if (run.exited)
		io_finish();
}

static void
io_send(const struct msg *m)
{
	struct wire_err	 err;

	if (run.sock == -1)
		return;
	if (msg_encode(m, outbuf_wbuf(&run.out), &err) == -1) {
		log_warnx("exec %llu: cannot encode %s: %s",
		    (unsigned long long)run.id, msg_type_name(m->type),
		    err.msg);
		return;
	}
	if (outbuf_flush(&run.out, run.sock) == -1)
		io_lost("the exec connection failed");
}

/* Input from the host: untrusted.  Frames, each checked. */
static void
io_sock_event(int fd, short revents, void *arg)
{
	static uint8_t	 buf[IO_READ];
	const uint8_t	*body;
	size_t		 off = 0, used, blen;
	ssize_t		 n;
	int		 st;

	if ((revents & POLLOUT) && outbuf_flush(&run.out, run.sock) == -1) {
		io_lost("the exec connection failed");
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR | POLLRDHUP)))
		return;
	n = read(fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		io_lost("the host closed the exec connection");
		return;
	}
	while (off < (size_t)n && run.sock != -1) {
		st = frame_reader_feed(&run.rd, buf + off, n - off, &used);
		off += used;
		if (st == FRAME_MORE)
			break;
		if (st != FRAME_READY) {
			log_warnx("exec %llu: frame of %zu bytes from the "
			    "host: over the limit", (unsigned long long)run.id,
			    frame_reader_declared(&run.rd));
			io_lost("bad frame on the exec connection");
			return;
		}
		body = frame_reader_body(&run.rd, &blen);
		if (io_frame(body, blen) == -1) {
			io_lost("bad frame on the exec connection");
			return;
		}
	}
}

static int
io_frame(const uint8_t *body, size_t len)
{
	struct msg	 m;
	struct wire_err	 err;
	struct winsize	 ws;
	size_t		 n;
	int		 rc = 0;

	if (msg_decode(WIRE_H2G, body, len, &m, &err) == -1) {
		log_warnx("exec %llu: host frame dropped: %s at byte %zu: %s",
		    (unsigned long long)run.id, wire_errstr(err.code),
		    err.offset, err.msg);
		return (-1);
	}
	switch (m.type) {
	case MSG_EXECINPUT:
		n = m.u.execinput.data.len;
		if (run.inend || n == 0 || n > EXECIO_DATA_MAX ||
		    n > run.in_allowed) {
			log_warnx("exec %llu: %zu bytes of input %s",
			    (unsigned long long)run.id, n, run.inend ?
			    "after its end" : n > run.in_allowed ?
			    "beyond the window" : "of a bad size");
			rc = -1;
			break;
		}
		run.in_allowed -= n;
		if (run.infd == -1) {
			/* The command closed its input: dropped, granted. */
			run.in_written += n;
			break;
		}
		if (run.inoff + run.inlen + n > EXECIO_IN_WINDOW) {
			memmove(run.in, run.in + run.inoff, run.inlen);
			run.inoff = 0;
		}
		memcpy(run.in + run.inoff + run.inlen, m.u.execinput.data.p, n);
		run.inlen += n;
		break;
	case MSG_EXECINPUTEND:
		run.inend = 1;
		if (run.inlen == 0)
			io_in_close();
		break;
	case MSG_EXECSIGNAL:
		if (m.u.execsignal.signal < 1 || m.u.execsignal.signal > 31) {
			log_warnx("exec %llu: signal %d ignored",
			    (unsigned long long)run.id, m.u.execsignal.signal);
			break;
		}
		log_info("exec %llu: signal %d from the host",
		    (unsigned long long)run.id, m.u.execsignal.signal);
		if (run.cmd != 0)
			(void)kill(-run.cmd, m.u.execsignal.signal);
		break;
	case MSG_EXECRESIZE:
		if (run.master == -1)
			break;
		memset(&ws, 0, sizeof(ws));
		ws.ws_col = m.u.resize.cols;
		ws.ws_row = m.u.resize.rows;
		(void)ioctl(run.master, TIOCSWINSZ, &ws);
		break;
	case MSG_EXECOUTWINDOW:
		if (run.out_credit + m.u.execwindow.bytes > EXECIO_WINDOW_MAX) {
			log_warnx("exec %llu: output window over %d bytes",
			    (unsigned long long)run.id, EXECIO_WINDOW_MAX);
			rc = -1;
			break;
		}
		run.out_credit += m.u.execwindow.bytes;
		break;
	default:
		log_warnx("exec %llu: %s is not valid on an exec connection",
		    (unsigned long long)run.id, msg_type_name(m.type));
		rc = -1;
		break;
	}
	msg_free(&m);
	return (rc);
}

/* Grant again what the command took (or what was dropped for it). */
static void
io_grant(int force)
{
	struct msg	 m;

	if (run.in_written == 0 || (!force && run.in_written < IO_GRANT_MIN))
		return;
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECINWINDOW;
	m.u.execwindow.bytes = run.in_written;
	run.in_allowed += run.in_written;
	run.in_written = 0;
	io_send(&m);
}

/* The command's stdin takes more. */
static void
io_in_event(int fd, short revents, void *arg)
{
	ssize_t	 n;

	while (run.inlen > 0) {
		n = write(fd, run.in + run.inoff, run.inlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* It closed its input: the rest is dropped. */
			run.in_written += run.inlen;
			run.inlen = run.inoff = 0;
			if (run.master == -1)
				io_in_close();
			break;
		}
		run.inoff += n;
		run.inlen -= n;
		run.in_written += n;
	}
	if (run.inlen == 0) {
		run.inoff = 0;
		if (run.inend)
			io_in_close();
	}
	io_grant(run.inlen == 0);
}

/*
 * The end of the input: the pipe closes; a terminal gets its end-of-file
 * character instead (it stays open for output).
 */
static void
io_in_close(void)
{
	struct termios	 tio;
	char		 eof;

	if (run.infd == -1)
		return;
	if (run.master != -1) {
		if (run.inev != NULL && run.inend && !run.finished) {
			eof = tcgetattr(run.master, &tio) == 0 &&
			    tio.c_cc[VEOF] != _POSIX_VDISABLE ?
			    tio.c_cc[VEOF] : 4;
			(void)write(run.master, &eof, 1);
		}
		if (run.inev != NULL) {
			ev_del(run.inev);
			run.inev = NULL;
		}
		if (!run.finished)
			return;
		run.infd = -1;		/* closed as outfd[0] */
		return;
	}
	ev_del(run.inev);
	run.inev = NULL;
	close(run.infd);
	run.infd = -1;
}

/* Output of the command, within the host's grant. */
static void
io_out_event(int fd, short revents, void *arg)
{
	static uint8_t	 buf[EXECIO_DATA_MAX];
	struct msg	 m;
	size_t		 want;
	ssize_t		 n;
	int		 i = (int)(intptr_t)arg;

	if (run.out_credit == 0 || run.sock == -1)
		return;
	want = run.out_credit < sizeof(buf) ? run.out_credit : sizeof(buf);
	n = read(fd, buf, want);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF, or EIO: a PTY whose last writer is gone. */
		io_out_close(i);
		return;
	}
	run.out_credit -= n;
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECOUTPUT;
	m.u.execoutput.stream = i == 0 ? EXECIO_STDOUT : EXECIO_STDERR;
	m.u.execoutput.data.p = buf;
	m.u.execoutput.data.len = n;
	io_send(&m);
}

static void
io_out_close(int i)
{
	if (run.outfd[i] == -1)
		return;
	if (run.outev[i] != NULL) {
		ev_del(run.outev[i]);
		run.outev[i] = NULL;
	}
	if (i == 0 && run.master != -1) {
		if (run.inev != NULL) {
			ev_del(run.inev);
			run.inev = NULL;
		}
		run.infd = -1;
		run.master = -1;
	}
	close(run.outfd[i]);
	run.outfd[i] = -1;
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
