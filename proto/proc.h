/*
 * The parent side of the child contract (child.h): start a sandboxed child
 * program with its imsg socket on fd 3, stop it, reap it.  Used by the
 * guest agent parent and by capsem-hostd.
 */
#ifndef CAPSEM_PROC_H
#define CAPSEM_PROC_H

#include <sys/types.h>

#include "imsg.h"

struct proc {
	const char	*role;		/* "term" */
	const char	*prog;		/* "capsem-agent-term" */
	pid_t		 pid;		/* 0 when not running */
	int		 running;	/* imsgbuf is live */
	int		 done;		/* IMSG_CHILD_DONE received */
	struct imsgbuf	 ibuf;
};

const char	*proc_libexecdir(void);
void		 proc_reset_signals(void);
int		 proc_start(struct proc *, int, int);
void		 proc_close(struct proc *);
int		 proc_reap(pid_t, int, int *);
int		 proc_compose(struct proc *, uint32_t, int, const void *,
		    size_t);
void		 proc_selftest(struct proc *, int);
void		 proc_seccomp_report(struct proc *, struct imsg *);

#endif
