/*
 * exec requests from the host.  Each runs in a short-lived runner process
 * forked from the parent: the runner connects the exec port, announces
 * `execstarted`, starts `/bin/sh -c COMMAND` in its own process group with
 * stdin /dev/null and stdout+stderr on the connection (raw bytes), waits for
 * it, then shuts the connection down (so it is closed before `execdone`, even
 * if a background process still holds it) and reports the exit status to
 * the parent through a pipe.  The parent then sends the ackable `execdone`.
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
#include <unistd.h>

#include "agent.h"
#include "log.h"

enum exec_state { EXEC_FREE, EXEC_RUNNING, EXEC_DONE };

struct exec_ent {
	enum exec_state	 state;
	uint64_t	 id;
	uint64_t	 seq;
	pid_t		 runner;
	int		 statusfd;	/* read end of the runner's pipe */
	struct ev	*ev;		/* statusfd in the loop */
	int32_t		 exit_code;
	int		 have_code;
};

static struct exec_ent	 tab[EXECTAB_MAX];
static uint64_t		 seq;

static struct exec_ent	*exec_find(uint64_t);
static struct exec_ent	*exec_alloc(void);
static __dead void	 exec_runner(uint64_t, const char *, int);
static void		 exec_finish(struct exec_ent *);
static void		 exec_status_event(int, short, void *);

static struct exec_ent *
exec_find(uint64_t id)
{
	size_t	 i;

	for (i = 0; i < EXECTAB_MAX; i++)
		if (tab[i].state != EXEC_FREE && tab[i].id == id)
			return (&tab[i]);
	return (NULL);
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
		else if (oldest == NULL || e->seq < oldest->seq)
			oldest = e;
	}
	if (running >= EXEC_RUNNING_MAX || oldest == NULL)
		return (NULL);
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

/*
 * The runner, a child of the parent.  It never returns.  Status written to
 * the pipe: the command's exit code (128+N for signal N), or -1 when the
 * command could not be started.
 */
static __dead void
exec_runner(uint64_t id, const char *cmd, int statusfd)
{
	struct msg	 m;
	struct wbuf	 frame;
	struct wire_err	 err;
	int32_t		 code = -1;
	pid_t		 cmdpid;
	int		 sock, st, devnull;
	size_t		 off = 0;
	ssize_t		 n;

	proc_reset_signals();
	/* Drop every parent fd: a held imsg socket would keep a child alive. */
	if (statusfd != 3) {
		if (dup2(statusfd, 3) == -1)
			_exit(1);
		statusfd = 3;
	}
	closefrom(4);
	if ((sock = transport_connect(&conf.transport, PORT_EXEC)) == -1) {
		log_warn("exec %llu: connect exec port",
		    (unsigned long long)id);
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECSTARTED;
	m.u.execstarted.id = id;
	wbuf_init(&frame);
	if (msg_encode(&m, &frame, &err) == -1)
		goto out;
	while (off < frame.len) {
		if ((n = write(sock, frame.data + off, frame.len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += n;
	}
	switch ((cmdpid = fork())) {
	case -1:
		goto out;
	case 0:
		setpgid(0, 0);
		if ((devnull = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(devnull, 0) == -1 || dup2(sock, 1) == -1 ||
		    dup2(sock, 2) == -1)
			_exit(127);
		closefrom(3);
		if (user_drop(conf.user) == -1)
			_exit(126);
		if (chdir(conf.workspace) == -1)
			(void)chdir("/");
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(cmdpid, &st, 0) == -1)
		if (errno != EINTR)
			goto out;
	if (WIFEXITED(st))
		code = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		code = 128 + WTERMSIG(st);
	/* Closed for everyone, background processes included. */
	(void)shutdown(sock, SHUT_RDWR);
	close(sock);
 out:
	(void)write(statusfd, &code, sizeof(code));
	_exit(0);
}

/* The runner's pipe is readable: it has written its status, or died. */
static void
exec_status_event(int fd, short revents, void *arg)
{
	exec_finish(arg);
}

/* SIGCHLD: returns 1 if pid was an exec runner. */
int
exec_reaped(pid_t pid, int status)
{
	size_t	 i;

	for (i = 0; i < EXECTAB_MAX; i++) {
		if (tab[i].state == EXEC_RUNNING && tab[i].runner == pid) {
			tab[i].runner = 0;
			if (tab[i].statusfd != -1)
				exec_finish(&tab[i]);
			return (1);
		}
	}
	return (0);
}

static void
exec_finish(struct exec_ent *e)
{
	struct msg	 m;
	int32_t		 code;
	ssize_t		 n;

	if (e->statusfd == -1)
		return;
	/* Non-blocking: nothing yet means the runner still runs. */
	if ((n = read(e->statusfd, &code, sizeof(code))) == -1 &&
	    errno == EAGAIN && e->runner != 0)
		return;
	ev_del(e->ev);
	e->ev = NULL;
	close(e->statusfd);
	e->statusfd = -1;
	e->state = EXEC_DONE;
	if (n != sizeof(code))
		code = -1;
	e->exit_code = code;
	e->have_code = 1;
	log_info("exec %llu: exit %d", (unsigned long long)e->id, code);
	memset(&m, 0, sizeof(m));
	m.type = MSG_EXECDONE;
	m.u.execdone.id = e->id;
	m.u.execdone.exit_code = code;
	(void)agent_send_ackable(&m, e->id);
}
