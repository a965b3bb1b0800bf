/*
 * The parent side of the child contract (child.h): find a child program,
 * start it sandboxed with its imsg socket on fd 3, stop it, reap it.  Used
 * by the guest agent parent and by capsem-hostd.
 */
#ifndef CAPSEM_PROC_H
#define CAPSEM_PROC_H

#include <sys/types.h>

#include "ev.h"
#include "imsg.h"

struct proc;
typedef void	 (*proc_dispatch_cb)(struct proc *, struct imsg *);

/*
 * One child.  The parent fills in role, prog, dispatch (each imsg the
 * child sends) and, if it wants to know, gone (the channel closed: EOF, an
 * error, or a malformed imsg) before proc_start(); the channel then lives
 * in the event loop until proc_close().
 */
struct proc {
	const char	*role;		/* "term" */
	const char	*prog;		/* "capsem-agent-term" */
	proc_dispatch_cb dispatch;
	void		(*gone)(struct proc *);
	void		*arg;		/* the parent's, untouched here */
	pid_t		 pid;		/* 0 when not running */
	int		 running;	/* imsgbuf is live */
	int		 ready;		/* IMSG_CHILD_READY received */
	int		 done;		/* IMSG_CHILD_DONE received */
	int		 early_deaths;	/* in a row, before ready */
	int		 paused;	/* not read: backpressure */
	struct imsgbuf	 ibuf;
	struct ev	*ev;
};

/*
 * Finding programs: proc_find_near_self() looks in directories relative to
 * our own binary's (/proc/self/exe), proc_program() where a child program
 * is (see proc.c for the order).  Both return 0 and the path, or -1 with
 * errno (and, for proc_program, the path to name in the error).
 */
int		 proc_find_near_self(const char *const *, const char *, char *,
		    size_t);
int		 proc_program(const char *, char *, size_t);
void		 proc_reset_signals(void);

/*
 * proc_start() returns 0 once the child program runs (its execv
 * succeeded), or -1 with errno: why fork, socketpair or execv failed.
 * proc_permanent(errno) tells a fault that no retry can repair (the
 * program missing, not executable, not a program) from a transient one
 * (EAGAIN, EMFILE, ENFILE, ENOMEM: back off and retry).
 */
int		 proc_start(struct proc *, int, int);
int		 proc_permanent(int);
void		 proc_close(struct proc *);
int		 proc_reap(pid_t, int, int *);
int		 proc_compose(struct proc *, uint32_t, int, const void *,
		    size_t);
int		 proc_flush(struct proc *);
void		 proc_selftest(struct proc *, int);
void		 proc_seccomp_report(struct proc *, struct imsg *);

/*
 * Reading a child: the loop calls proc_read() when the channel is readable
 * (a parent may also call it to take in a dead child's last words); it
 * writes each log line the child sent (IMSG_CHILD_LOG: only parents write
 * to syslog or stderr), hands every other imsg to dispatch in the order
 * they came, and returns -1 once the channel is gone (EOF,
 * a read error, or a malformed imsg, after which the child is stopped).  Input
 * from a child is untrusted: the accessors check an imsg's exact size or
 * that it is one NUL-terminated string, and on a mismatch apply the one
 * policy for a malformed imsg: log the role and the type, stop the child.
 */
int		 proc_read(struct proc *);
void		 proc_pause(struct proc *, int);
int		 proc_imsg_exact(struct proc *, struct imsg *, void *, size_t);
char		*proc_imsg_string(struct proc *, struct imsg *, size_t);
void		 proc_malformed(struct proc *, struct imsg *, const char *);

#endif
