/*
 * shell-session: how capsem-shell creates a session of its own (--temp) and
 * takes it down again.  It starts the VM side (the local capsem-agent or a
 * --vm command) and capsem-hostd, both children of capsem-shell in sessions
 * of their own, and owns nothing else: the attach protocol is in shell.c.
 */
#ifndef CAPSEM_SHELL_SESSION_H
#define CAPSEM_SHELL_SESSION_H

#include <sys/types.h>

#include <limits.h>

/* Shorter than PATH_MAX so that every DIR/name fits one. */
#define SESSION_DIR_MAX	1024

/* What a new session is made of (the creation options of capsem-shell). */
struct session_opts {
	int		 verbose;
	char		*vm_cmd;	/* NULL: the local capsem-agent */
	char		*transport;	/* NULL: the mode's default */
	char		*shell;		/* NULL: "/bin/bash -i" */
	char		*audit_log;	/* NULL: DIR/guest-audit.log */
	char		**env;		/* -e KEY=VALUE, for hostd */
	size_t		 nenv;
	int		 persistent;	/* capsem-shell new: outlives clients */
	const char	*dir;		/* new -S DIR, or NULL: a new one */
	int		 boot_secs;	/* -1: the mode's default */
	int		 no_send_env;	/* do not pass TERM, LANG, LC_* on */
	char		*term_modes;	/* our terminal's, for hostd, or NULL */
};

struct session {
	char		 dir[SESSION_DIR_MAX];
	int		 temp;		/* ours to remove */
	pid_t		 hostd_pid;	/* -1: not our child */
	pid_t		 vm_pid;	/* -1: not our child */
};

/* Fill s for an existing session directory (attach only); -1: too long. */
int	session_existing(struct session *, const char *);

/*
 * Whether dir holds a session: 0 if one is served there; else -1 and why
 * in buf ("not a capsem session", "the session has ended", ...).
 */
int	session_check(const char *, char *, size_t);

/* The directory sessions are made in: $TMPDIR, or /tmp. */
const char *session_root(void);

/* capsem-shell ls and prune: the sessions under the root. */
int	session_list(int);

/* The last line of a log of the session (agent.log), for an error. */
void	session_log_hint(const struct session *, const char *);

/* capsem-shell log: the recording of a session dir or pty.log, asciicast. */
int	session_log(const char *, int);

/* 1 if the session ends with its last client. */
int	session_is_temporary(const struct session *);

/* The pid of the session's capsem-hostd from session.json, or -1. */
pid_t	session_hostd_pid(const char *);

/*
 * Make a session directory (temporary, or persistent for `new`), start
 * the VM side and capsem-hostd, wait until hostd listens.  A persistent
 * session's processes are not ours once it is made: they outlive us.  Returns 0, or -1 after printing why, with every
 * process it started killed and reaped and the directory removed.
 */
int	session_create(struct session *, const struct session_opts *);

/*
 * The session ended: wait at most timeout_ms for our capsem-hostd (and VM)
 * to exit on their own; whatever is left is killed and reaped, and a
 * temporary directory still there is removed.
 */
void	session_finish(struct session *, int);

/* Error path: kill and reap what we started, remove a temporary dir. */
void	session_abort(struct session *);

#endif
